use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout};

/// Check a folder written by `promptrel export` against its manifest.
///
/// Re-hashes (BLAKE3) every file listed in DIR/promptrel-export.json and
/// prints one line per problem: `missing: PATH`, `changed: PATH: …`, or
/// `extra: PATH` for a file the manifest does not list; then a summary. Exits
/// 0 when the folder holds exactly what was exported, 1 when problems were
/// found. Needs no store.
///
/// Example: promptrel verify-export build/prompts
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The export folder.
    dir: PathBuf,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let result = promptrel::export::verify(&ctx.path(&args.dir))?;
    let mut out = stdout(ctx.color);
    for p in &result.problems {
        if p.detail.is_empty() {
            writeln!(out, "{}: {}", p.kind.as_str(), p.path)?;
        } else {
            writeln!(out, "{}: {}: {}", p.kind.as_str(), p.path, p.detail)?;
        }
    }
    let files = result.manifest.prompts.len();
    writeln!(
        out,
        "checked {files} file{} of label {}: {}",
        if files == 1 { "" } else { "s" },
        result.manifest.label,
        match result.problems.len() {
            0 => "ok".to_string(),
            1 => "1 problem".to_string(),
            n => format!("{n} problems"),
        }
    )?;
    Ok(if result.is_clean() {
        exit::OK
    } else {
        exit::DIFFERENT
    })
}
