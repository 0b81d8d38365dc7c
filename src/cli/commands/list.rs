use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style};

/// List every prompt with its labels and the versions they point to.
///
/// Example: promptrel list --json
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print {"prompts": [{"name", "labels": {LABEL: ID}}]} as JSON.
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
                    .map(|(l, id)| (l.as_str(), id.as_str()))
                    .collect();
                serde_json::json!({ "name": p.name.as_str(), "labels": labels })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "prompts": prompts }))?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    let (b, s) = (style::BOLD, style::ID);
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
        for (label, id) in &prompt.labels {
            writeln!(out, "  @{:<width$}  {s}{}{s:#}", label.as_str(), id.short())?;
        }
    }
    Ok(exit::OK)
}
