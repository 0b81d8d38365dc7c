//! What a process start costs: build.rs links the unwinder statically on
//! Linux with glibc, so that a cold `promptrel show` does not load
//! `libgcc_s.so.1` (PERFORMANCE.md, "Changes made for this").

/// The executable names no `libgcc_s`: a library the binary needed would be
/// named in its dynamic section.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_does_not_load_libgcc_s() {
    if option_env!("PROMPTREL_DYNAMIC_UNWIND").is_some() {
        return; // the documented opt-out was used for this build
    }
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_promptrel")).unwrap();
    let needle = b"libgcc_s.so";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the promptrel executable still refers to libgcc_s.so"
    );
}

/// Panics still unwind with the static unwinder: this test binary is linked
/// the same way as `promptrel`.
#[test]
fn panics_unwind_and_are_caught() {
    let caught = std::panic::catch_unwind(|| {
        let depth = std::hint::black_box(3);
        nested(depth)
    });
    assert!(caught.is_err());
    let thread = std::thread::spawn(|| nested(std::hint::black_box(2)));
    assert!(thread.join().is_err());
}

fn nested(depth: u32) -> u32 {
    if depth == 0 {
        panic!("expected panic");
    }
    nested(depth - 1) + 1
}
