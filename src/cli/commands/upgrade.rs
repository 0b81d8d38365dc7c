use std::io::Write;

use anyhow::{Context as _, Result};
use promptrel::Store;
use promptrel::upgrade::{Upgraded, upgrade};

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout};

/// Convert a store written by an earlier promptrel (format 2) to this one's format.
///
/// Format 3 keeps each changelog log in one folder of its own, named like
/// the revision (logs/support/refund-bot@prod/); format 2 kept a folder per
/// prompt with a folder per 256 records of each log. upgrade renames those
/// folders under the store lock (record files and packs keep their names
/// and bytes) and writes `format: 3` last, so an interrupted upgrade is
/// finished by running it again. On a store of the current format it moves
/// into place the format-2 folders a git merge of a format-2 branch brought
/// in (merging a shard both layouts hold: a file both have is the same
/// record), and otherwise says so and changes nothing (FORMAT.md §1).
///
/// Example: promptrel upgrade && promptrel fsck
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> Result<u8> {
    let (dir, done) = match &ctx.store_dir {
        // Name the variable: it may have been set long ago and forgotten.
        Some(dir) => (
            dir.clone(),
            upgrade(dir, ctx.lock_timeout).context("PROMPTREL_DIR")?,
        ),
        None => {
            let dir = Store::find_dir(&ctx.cwd)?;
            let done = upgrade(&dir, ctx.lock_timeout)?;
            (dir, done)
        }
    };
    let mut out = stdout(ctx.color);
    match done {
        Upgraded::AlreadyCurrent => writeln!(
            out,
            "{} is format {} already; nothing changed",
            dir.display(),
            promptrel::FORMAT_VERSION
        )?,
        Upgraded::Merged { shards } => writeln!(
            out,
            "{} is format {}; moved {shards} format-2 log folders (from a merged branch) into place",
            dir.display(),
            promptrel::FORMAT_VERSION
        )?,
        Upgraded::Converted { from, shards } => writeln!(
            out,
            "upgraded {} from format {from} to format {} ({shards} log folders moved)",
            dir.display(),
            promptrel::FORMAT_VERSION
        )?,
    }
    Ok(exit::OK)
}
