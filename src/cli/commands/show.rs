use std::io::Write;

use anyhow::Result;
use promptrel::Rev;

use crate::cli::context::Context;
use crate::cli::output::exit;

/// Write a version's exact bytes to standard output.
///
/// Nothing is added (no trailing newline) and nothing is converted; the bytes
/// are verified against their hash first and never printed when damaged.
///
/// Example: promptrel show checkout-bot@prod
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version: NAME, NAME@LABEL, NAME@LABEL~N or NAME@ID_PREFIX.
    rev: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let rev = Rev::parse(&args.rev)?;
    let store = ctx.store()?;
    let id = store.resolve(&rev)?;
    let bytes = store.read(&id)?;
    // Raw stdout: the exact bytes, never touched by colour handling.
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(exit::OK)
}
