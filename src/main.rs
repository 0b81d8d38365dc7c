//! The `promptrel` command line. Everything lives in `cli/`; the library
//! (`promptrel`) knows nothing about it.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
