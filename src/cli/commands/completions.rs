use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::cli::context::Context;
use crate::cli::output::exit;

/// Print a shell completion script to standard output.
///
/// Completes subcommands and options. Load it from your shell's start-up
/// file or save it where your shell looks for completions (README: "Shell
/// completions and man page").
///
/// Example: promptrel completions bash > ~/.local/share/bash-completion/completions/promptrel
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to complete for.
    shell: Shell,
}

pub fn run(args: Args, _ctx: &Context) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "promptrel", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(exit::OK)
}
