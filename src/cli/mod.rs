//! Argument parsing, dispatch, the environment, and how errors reach the user.

mod commands;
mod context;
mod output;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod pow;
mod progress;
#[cfg(all(target_os = "linux", not(test)))]
pub mod startup;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use self::context::Context;
pub use self::output::exit;

/// Release discipline for LLM prompts: immutable versions, labels, promotion
/// with a changelog, rollback and diffs — from local files, shared through git.
#[derive(Debug, Parser)]
#[command(name = "promptrel", version, about, long_about = None)]
#[command(after_help = "\
Revisions (REV):
  NAME             the newest version of NAME
  NAME~N           the version added N versions before the newest
  NAME@LABEL       what LABEL points to (e.g. checkout-bot@prod)
  NAME@LABEL~N     what LABEL pointed to N changes ago
  NAME@PREFIX      the version whose id starts with PREFIX (at least 4 hex digits)

Environment:
  PROMPTREL_DIR           the .promptrel folder to use (skips discovery)
  PROMPTREL_AUTHOR        author recorded in the changelog (default: git's user.name <user.email>)
  PROMPTREL_DATE          RFC 3339 time recorded instead of now (reproducible scripts and tests)
  PROMPTREL_LOCK_TIMEOUT  seconds to wait for another writer (default 10)
  NO_COLOR, CLICOLOR_FORCE  colour control for --color auto

Exit codes:
  0  ok
  1  differences found (diff --exit-code), problems found (fsck, verify-export),
     or something needs attention (status --check)
  2  error: bad usage or input, not found, I/O
  3  the label moved since you read it (--expect)
  4  the store is locked by another writer
  5  integrity error: damaged or corrupted store

Example: promptrel promote checkout-bot staging prod -m \"shorter answers\"")]
pub struct Cli {
    /// Run as if promptrel was started in DIR.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub chdir: Option<PathBuf>,

    /// When to colour output.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true, value_name = "WHEN")]
    pub color: ColorWhen,

    #[command(subcommand)]
    pub command: commands::Command,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when writing to a terminal, unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Parse the process arguments, run, and turn the outcome into an exit code.
#[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))]
pub fn main() -> ExitCode {
    ExitCode::from(exit_code())
}

/// [`main`]'s exit code as a number.
pub fn exit_code() -> u8 {
    run(std::env::args_os())
}

fn run(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    let parsed = match fast_show(&args) {
        Some(cli) => Ok(cli),
        None => Cli::try_parse_from(args),
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    let color = cli.color;
    let ctx = match Context::from_env(&cli) {
        Ok(ctx) => ctx,
        Err(e) => return output::report(&e, color),
    };
    match commands::run(cli.command, &ctx) {
        Ok(code) => code,
        Err(e) => output::report(&e, color),
    }
}

/// The hot path: `promptrel [-C DIR] show REV`, exactly, parsed without
/// building the whole command line (what an application shelling out for a
/// prompt runs). Anything else, options and `--help` included, goes to clap.
fn fast_show(args: &[OsString]) -> Option<Cli> {
    let args: Vec<&str> = args.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    let (chdir, rev) = match args.as_slice() {
        [_, "show", rev] => (None, *rev),
        [_, "-C", dir, "show", rev] if !dir.starts_with('-') => (Some(PathBuf::from(dir)), *rev),
        _ => return None,
    };
    if rev.starts_with('-') {
        return None;
    }
    Some(Cli {
        chdir,
        color: ColorWhen::Auto,
        command: commands::parse_show(rev)?,
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::{CommandFactory, Parser};

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn the_show_fast_path_parses_exactly_as_clap_does() {
        let cases: &[&[&str]] = &[
            &["promptrel", "show", "checkout-bot@prod"],
            &[
                "promptrel",
                "-C",
                "some/dir",
                "show",
                "support/refund-bot@prod~3",
            ],
            &["promptrel", "show", "x"],
            &["promptrel", "show", ""],
        ];
        for args in cases {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            let fast = super::fast_show(&args).expect("takes the fast path");
            let clap = super::Cli::try_parse_from(&args).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{args:?}");
        }
        // Everything else is left to clap: options, help, other commands.
        let others: &[&[&str]] = &[
            &["promptrel", "show", "--help"],
            &["promptrel", "show", "-h"],
            &["promptrel", "show", "bot", "--meta"],
            &["promptrel", "--color", "never", "show", "bot"],
            &["promptrel", "-C", "-x", "show", "bot"],
            &["promptrel", "show"],
            &["promptrel", "log"],
        ];
        for args in others {
            let args: Vec<OsString> = args.iter().map(OsString::from).collect();
            assert!(super::fast_show(&args).is_none(), "{args:?}");
        }
    }
}
