use std::io::Write;

use anyhow::Result;
use promptrel::Store;

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout};

/// Create a store (.promptrel/) in the current folder.
///
/// On an existing store it says so and changes nothing.
///
/// Example: promptrel init
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> Result<u8> {
    let (store, created) = Store::init(&ctx.cwd)?;
    let mut out = stdout(ctx.color);
    if created {
        writeln!(
            out,
            "Initialized empty promptrel store in {}",
            store.dir().display()
        )?;
    } else {
        writeln!(
            out,
            "A promptrel store already exists in {}; nothing changed",
            store.dir().display()
        )?;
    }
    Ok(exit::OK)
}
