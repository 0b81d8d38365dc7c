//! The `promptrel` command line. Everything lives in `cli/`; the library
//! (`promptrel`) knows nothing about it.
//!
//! On Linux the binary has no Rust `main`: `main` below is the C entry
//! point, so the standard library's start-up does not run. That start-up
//! costs a cold `promptrel show` about 0.09 ms of its ~1 ms (PERFORMANCE.md),
//! most of it finding the main thread's stack guard, which glibc does by
//! reading and parsing `/proc/self/maps`; the guard only serves the "has
//! overflowed its stack" message. What else it does is done here: standard
//! descriptors 0-2 are made valid (else a store file opened as fd 1 would
//! receive `println!`'s output), `SIGPIPE` is ignored (writes to a closed
//! pipe fail with an error that `cli` reports quietly), a panic exits with
//! 101, and `process::exit` flushes standard output on the way out.

#![cfg_attr(all(target_os = "linux", not(test)), no_main)]

mod cli;

// (The unit tests of this binary keep the test harness's `main`.)
#[cfg(any(not(target_os = "linux"), test))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(all(target_os = "linux", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    cli::startup::prepare();
    // `process::exit` flushes standard output first (as returning from a
    // Rust `main` does).
    match std::panic::catch_unwind(cli::exit_code) {
        Ok(code) => std::process::exit(code.into()),
        Err(_) => std::process::exit(101),
    }
}
