//! `pow`, the only libm function the binary calls (indicatif's rate
//! estimate raises 0.1 to a power: `f64::powf`), defined here from the
//! `libm` crate, so that the linker resolves it in the executable and,
//! with no other reference left, drops `libm.so.6` (rustc links with
//! `--as-needed`). One library fewer for the dynamic loader to open, map
//! and search at every start: a cold `promptrel show` took 0.85 ms with
//! it and 0.78 ms without (`hyperfine -N`, medians of three rounds of 800
//! runs; `cat` of the object: 0.78 ms). tests/cli/startup.rs checks that
//! the executable does not name the library. Only on Linux with glibc,
//! where the C library keeps these functions in a library of their own.

/// `x` raised to the power `y` (C's `pow`), as musl computes it.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
