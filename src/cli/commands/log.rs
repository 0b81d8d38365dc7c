use std::io::{BufWriter, Write};

use anstream::ColorChoice;
use anstyle::Style;
use anyhow::Result;
use promptrel::{Action, Label, LogFilter, PromptName, Record};

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style};

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
    let records = store
        .log(&filter)?
        .take(args.max_count.unwrap_or(usize::MAX));
    // A full log can be millions of lines: without colour, write plain
    // bytes through one large buffer (no escape-code stripping, no flush
    // per line); a terminal with colour gets the styled, line-buffered stream.
    let styled = stdout(ctx.color);
    if args.json || styled.current_choice() == ColorChoice::Never {
        drop(styled);
        let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        write_all(&mut out, records, args.json, false)?;
        out.flush()?;
    } else {
        let mut out = styled;
        write_all(&mut out, records, args.json, true)?;
        out.flush()?;
    }
    Ok(exit::OK)
}

fn write_all(
    out: &mut impl Write,
    records: impl Iterator<Item = promptrel::Result<Record>>,
    json: bool,
    color: bool,
) -> Result<()> {
    for record in records {
        let record = record?;
        if json {
            out.write_all(&record.to_line())?;
        } else {
            write_line(out, &record, color)?;
        }
    }
    Ok(())
}

fn write_line(out: &mut impl Write, r: &Record, color: bool) -> Result<()> {
    let time = r.time.strftime("%Y-%m-%dT%H:%M:%SZ");
    let target = match &r.label {
        Some(label) => format!("{}@{label}", r.prompt),
        None => r.prompt.clone(),
    };
    let (b, id) = if color {
        (style::BOLD, style::ID)
    } else {
        (Style::new(), Style::new())
    };
    let from = r.from.as_ref().map_or("-", |f| f.short());
    let from_style = if r.from.is_some() { id } else { Style::new() };
    write!(
        out,
        "{time}  {:<8}  {b}{target}{b:#}  {from_style}{from}{from_style:#} -> {id}{}{id:#}",
        r.action.as_str(),
        r.to.short()
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
