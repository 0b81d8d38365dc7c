use std::io::Write;

use anyhow::Result;
use promptrel::{Action, Label, LogFilter, PromptName, Record};

use crate::cli::commands::arrow;
use crate::cli::context::Context;
use crate::cli::output::{Out, exit, stdout, style};

/// Show the changelog, newest first: every version added and every label move.
///
/// Each line: time (UTC), action, prompt@label, from -> to (short ids),
/// author and message. --json prints the stored records as JSON Lines.
///
/// Example: promptrel log checkout-bot --label prod -n 10
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this prompt.
    name: Option<String>,
    /// Only moves of this label.
    #[arg(long, value_name = "LABEL")]
    label: Option<String>,
    /// Show at most N entries.
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    max_count: Option<usize>,
    /// One JSON object per line (the record format of FORMAT.md).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let filter = LogFilter {
        name: args.name.as_deref().map(PromptName::new).transpose()?,
        label: args.label.as_deref().map(Label::new).transpose()?,
    };
    let store = ctx.store()?;
    let records = store.log(&filter)?;
    let mut out = stdout(ctx.color);
    for record in records.take(args.max_count.unwrap_or(usize::MAX)) {
        let record = record?;
        if args.json {
            out.write_all(&record.to_line())?;
        } else {
            write_line(&mut out, &record)?;
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

fn write_line(out: &mut Out, r: &Record) -> Result<()> {
    let time = r.time.strftime("%Y-%m-%dT%H:%M:%SZ");
    let target = match &r.label {
        Some(label) => format!("{}@{label}", r.prompt),
        None => r.prompt.clone(),
    };
    let b = style::BOLD;
    write!(
        out,
        "{time}  {:<8}  {b}{target}{b:#}  {}",
        r.action.as_str(),
        arrow(r.from.as_ref(), &r.to)
    )?;
    match (&r.action, &r.source, r.undo) {
        (Action::Promote, Some(source), _) => write!(out, " (from {source})")?,
        (Action::Rollback, _, true) => write!(out, " (undo)")?,
        _ => {}
    }
    write!(out, "  {}", r.author)?;
    if !r.message.is_empty() {
        write!(out, ": {}", r.message.replace('\n', " "))?;
    }
    writeln!(out)?;
    Ok(())
}
