use std::io::Write;

use anyhow::{Context as _, Result};
use promptrel::{Rev, meta};

use crate::cli::commands::{report_served, served_json};
use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style};

/// Write a version's exact bytes to standard output.
///
/// Nothing is added (no trailing newline) and nothing is converted; the bytes
/// are verified against their hash first and never printed when damaged.
///
/// With --meta, describe the version instead: id, the labels pointing at it,
/// size, when and by whom it was first added and why, and its parsed front
/// matter. With --body, write the version without its front matter (the
/// exact bytes after the closing `---` line).
///
/// A label split between several versions (`promptrel split`) serves one of
/// them: with --key, the one the key chooses (the same key always gets the
/// same version); without, one drawn by weight at random, named on standard
/// error.
///
/// Example: promptrel show checkout-bot@prod
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version: NAME, NAME@LABEL, NAME@LABEL~N or NAME@ID_PREFIX.
    rev: String,
    /// For a split label: the key (a user id, a session id) that chooses the
    /// version; ignored for a label that holds one version.
    ///
    /// Example: promptrel show checkout-bot@prod --key user-4821
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Describe the version: id, labels, size, who added it, front matter.
    ///
    /// Example: promptrel show checkout-bot@prod --meta --json
    #[arg(long, conflicts_with = "body")]
    meta: bool,
    /// Write the body only: the exact bytes after the front matter.
    ///
    /// Example: promptrel show checkout-bot@prod --body
    #[arg(long)]
    body: bool,
    /// With --meta: print one JSON document.
    ///
    /// Example: promptrel show checkout-bot@prod --meta --json
    #[arg(long, requires = "meta")]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let rev = Rev::parse(&args.rev)?;
    let store = ctx.store()?;
    let served = store.resolve_keyed(&rev, args.key.as_deref())?;
    let id = &served.id;
    let bytes = store.read(id)?;
    if args.key.is_none() && !args.json {
        report_served(ctx, &rev, &served)?;
    }
    if args.meta {
        return describe(&args, ctx, &store, &rev, &served, &bytes);
    }
    let bytes = if args.body {
        meta::split(&bytes)
            .with_context(|| format!("cannot find the body of {rev}"))?
            .body
    } else {
        &bytes
    };
    // Raw stdout: the exact bytes, never touched by colour handling.
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(exit::OK)
}

fn describe(
    args: &Args,
    ctx: &Context,
    store: &promptrel::Store,
    rev: &Rev,
    served: &promptrel::Served,
    bytes: &[u8],
) -> Result<u8> {
    let id = &served.id;
    let doc = meta::parse(bytes).with_context(|| format!("cannot read the metadata of {rev}"))?;
    // Labels serving this version, a split's share among them.
    let labels: Vec<(String, Option<u8>)> = store
        .labels(&rev.name)?
        .into_iter()
        .filter(|(_, at)| at.serves(id))
        .map(|(label, at)| (label.to_string(), at.split().and_then(|s| s.weight_of(id))))
        .collect();
    // The first `add` of these bytes (the same bytes may be added again later).
    let added = store.versions(&rev.name)?.into_iter().find(|r| &r.to == id);
    let front = doc
        .front_matter
        .as_ref()
        .map(|fm| serde_json::Value::Object(fm.fields.clone()));
    let mut out = stdout(ctx.color);
    if args.json {
        let added = added.map(|r| {
            serde_json::json!({
                "time": r.time.to_string(),
                "author": r.author,
                "message": r.message,
                "file": r.file,
            })
        });
        let labels: Vec<&str> = labels.iter().map(|(l, _)| l.as_str()).collect();
        let doc = serde_json::json!({
            "rev": rev.to_string(),
            "name": rev.name.as_str(),
            "id": id.as_str(),
            "split": served_json(served, args.key.as_deref()),
            "labels": labels,
            "size": bytes.len(),
            "added": added,
            "front_matter": front,
        });
        // As an io::Error, so that a closed pipe is not reported.
        serde_json::to_writer_pretty(&mut out, &doc).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    let (s, b) = (style::ID, style::BOLD);
    writeln!(out, "{b}id:{b:#}       {s}{id}{s:#}")?;
    let labels = if labels.is_empty() {
        "(none)".to_string()
    } else {
        let labels: Vec<String> = labels
            .iter()
            .map(|(label, weight)| match weight {
                Some(w) => format!("{label} ({w}%)"),
                None => label.clone(),
            })
            .collect();
        labels.join(", ")
    };
    writeln!(out, "{b}labels:{b:#}   {labels}")?;
    let plural = if bytes.len() == 1 { "" } else { "s" };
    writeln!(out, "{b}size:{b:#}     {} byte{plural}", bytes.len())?;
    match &added {
        Some(r) => {
            writeln!(out, "{b}added:{b:#}    {} by {}", r.time, r.author)?;
            let message = if r.message.is_empty() {
                "(none)"
            } else {
                &r.message
            };
            writeln!(out, "{b}message:{b:#}  {message}")?;
            if let Some(file) = &r.file {
                writeln!(out, "{b}file:{b:#}     {file}")?;
            }
        }
        None => writeln!(out, "{b}added:{b:#}    (no record)")?,
    }
    match &front {
        None => writeln!(out, "{b}front matter:{b:#} (none)")?,
        Some(value) if value.as_object().is_some_and(|m| m.is_empty()) => {
            writeln!(out, "{b}front matter:{b:#} (empty)")?
        }
        Some(value) => {
            writeln!(out, "{b}front matter:{b:#}")?;
            for line in serde_yaml::to_string(value)?.lines() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(exit::OK)
}
