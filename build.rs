//! Build script: link the unwinder statically on Linux with glibc.
//!
//! Rust's standard library links the unwinder (`_Unwind_*`, used by panics and
//! backtraces) from `libgcc_s.so.1`. Loading that library costs a cold
//! `promptrel show` about 0.3 ms of its ~1.1 ms on the benchmark machine
//! (PERFORMANCE.md, "What bounds the rest"): the dynamic loader maps and binds
//! one more library, and its constructor (`__cpu_indicator_init`) executes a run
//! of `CPUID` instructions, each a VM exit on a virtual machine. The same
//! unwinder exists as a static archive, `libgcc_eh.a`, which is what a
//! statically linked Rust program uses; linking it into the executable removes
//! the library from the start-up path and changes nothing else.
//!
//! rustc passes `-lgcc_s` itself, so the script puts a linker script named
//! `libgcc_s.so` in `OUT_DIR`, ahead of the system folders on the search path,
//! whose one line sends the linker to `libgcc_eh.a`. It does so only when
//! building for the machine it runs on (so that the host compiler's archive is
//! the right one), only for Linux with glibc, only when the archive exists, and
//! never when `PROMPTREL_DYNAMIC_UNWIND` is set; in every other case the build
//! is exactly Rust's default.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PROMPTREL_DYNAMIC_UNWIND");
    println!("cargo:rerun-if-env-changed=CC");
    if let Some(archive) = static_unwinder() {
        let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        let script = format!("INPUT(\"{}\")\n", archive.display());
        std::fs::write(out.join("libgcc_s.so"), script).expect("OUT_DIR is writable");
        println!("cargo:rustc-link-search=native={}", out.display());
    }
}

/// The path of `libgcc_eh.a` when the script should use it.
fn static_unwinder() -> Option<PathBuf> {
    let var = |name: &str| env::var(name).unwrap_or_default();
    let wanted = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("TARGET") == var("HOST")
        && !var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|f| f == "crt-static")
        && env::var_os("PROMPTREL_DYNAMIC_UNWIND").is_none();
    if !wanted {
        return None;
    }
    let cc = env::var_os("CC").unwrap_or_else(|| "cc".into());
    let output = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    // Without the archive, the compiler prints the bare name back.
    let usable = output.status.success()
        && path.is_absolute()
        && Path::new(&path).is_file()
        && !path.to_string_lossy().contains(['"', '\n']);
    usable.then_some(path)
}
