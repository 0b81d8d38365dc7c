use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style};

/// List every prompt with its labels and the versions they point to.
///
/// A split label shows each version with its weight, greatest first.
///
/// Example: promptrel list --json
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print {"prompts": [{"name", "labels": {LABEL: ID}, "splits": {LABEL:
    /// [{"version", "weight"}]}}]} as JSON; a split label's ID is its
    /// greatest share.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let store = ctx.store()?;
    let prompts = store.list()?;
    let mut out = stdout(ctx.color);
    if args.json {
        let prompts: Vec<_> = prompts
            .iter()
            .map(|p| {
                let labels: BTreeMap<_, _> = p
                    .labels
                    .iter()
                    .map(|(l, value)| (l.as_str(), value.headline().as_str()))
                    .collect();
                let splits: BTreeMap<_, _> = p
                    .labels
                    .iter()
                    .filter_map(|(l, value)| Some((l.as_str(), value.split()?.shares())))
                    .collect();
                serde_json::json!({ "name": p.name.as_str(), "labels": labels, "splits": splits })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "prompts": prompts }))?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    let b = style::BOLD;
    for prompt in &prompts {
        writeln!(out, "{b}{}{b:#}", prompt.name)?;
        if prompt.labels.is_empty() {
            writeln!(out, "  (no labels)")?;
        }
        let width = prompt
            .labels
            .iter()
            .map(|(l, _)| l.as_str().len())
            .max()
            .unwrap_or(0);
        for (label, value) in &prompt.labels {
            let value = super::value(value, true);
            writeln!(out, "  @{:<width$}  {value}", label.as_str())?;
        }
    }
    Ok(exit::OK)
}
