//! What a process start costs: on Linux with glibc, build.rs links the
//! unwinder statically and src/cli/pow.rs defines `pow`, so that a cold
//! `promptrel show` loads neither `libgcc_s.so.1` nor `libm.so.6`
//! (PERFORMANCE.md, "Changes made for this").

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

/// The executable does not name `libm.so.6` either: a library it needs is
/// named in its dynamic section, and a new call to a libm function (from
/// any crate) would bring it back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_binary_does_not_load_libm() {
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_promptrel")).unwrap();
    let needle = b"libm.so";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the promptrel executable refers to libm.so: it calls a libm function other than pow"
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

/// With standard output closed, no file promptrel opens takes descriptor 1
/// (where its output would land): src/cli/startup.rs opens `/dev/null` on
/// closed descriptors 0-2, as the standard library does before a Rust
/// `main`. Seen while `add` waits for the lock this test holds: without
/// that, the lock file it opened would be its descriptor 1.
#[cfg(target_os = "linux")]
#[test]
fn a_closed_standard_output_never_becomes_a_store_file() {
    use std::time::{Duration, Instant};

    use crate::support::TestEnv;
    let env = TestEnv::init();
    let file = env.write("p.md", "Prompt.\n");
    let lock = std::fs::File::options()
        .write(true)
        .open(env.store().join("lock"))
        .unwrap();
    lock.lock().unwrap();
    let cmd = env.command(&[]);
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" >&-"#)
        .arg(cmd.get_program())
        .args(["add", "p", &file, "-m", "closed stdout"])
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("PROMPTREL_LOCK_TIMEOUT", "60")
        .current_dir(&env.root)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it holds the lock file open (waiting for the lock).
    let fd_dir = format!("/proc/{}/fd", child.id());
    let lock_path = std::fs::canonicalize(env.store().join("lock")).unwrap();
    let started = Instant::now();
    let fd1 = loop {
        let holds_lock = std::fs::read_dir(&fd_dir)
            .map(|fds| {
                fds.flatten()
                    .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == lock_path))
            })
            .unwrap_or(false);
        if holds_lock {
            break std::fs::read_link(format!("{fd_dir}/1")).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never waited for the lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert_eq!(fd1, std::path::Path::new("/dev/null"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.run(&["show", "p"]).ok().stdout, "Prompt.\n");
}
