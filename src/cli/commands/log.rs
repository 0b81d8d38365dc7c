use std::io::{BufWriter, Write};

use anstream::ColorChoice;
use anstyle::Style;
use anyhow::Result;
use promptrel::{Action, Label, LabelValue, LogFilter, PromptName, Record};

use crate::cli::commands::value;
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
    let mut line = String::with_capacity(512);
    for record in records {
        let record = record?;
        if json {
            out.write_all(&record.to_line())?;
        } else {
            format_line(&mut line, &record, color);
            out.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// One line of the human log into `line` (cleared first). A full log is
/// mostly this, so it is built by hand, not with `strftime` and `format!`.
fn format_line(line: &mut String, r: &Record, color: bool) {
    use std::fmt::Write as _;
    line.clear();
    let t = jiff::tz::Offset::UTC.to_datetime(r.time);
    let _ = write!(
        line,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z  ",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let action = r.action.as_str();
    line.push_str(action);
    line.extend(std::iter::repeat_n(
        ' ',
        8usize.saturating_sub(action.len()),
    ));
    line.push_str("  ");
    let (b, id) = if color {
        (style::BOLD, style::ID)
    } else {
        (Style::new(), Style::new())
    };
    let _ = write!(line, "{b}");
    line.push_str(&r.prompt);
    if let Some(label) = &r.label {
        line.push('@');
        line.push_str(label);
    }
    let _ = write!(line, "{b:#}  ");
    // A split shows every share: `a314563b311a 90% + 77839f17c603 10%`.
    match (&r.from_split, &r.from) {
        (Some(split), _) => line.push_str(&value(&LabelValue::Split(split.clone()), color)),
        (None, Some(from)) => {
            let _ = write!(line, "{id}{}{id:#}", from.short());
        }
        (None, None) => line.push('-'),
    }
    match &r.split {
        Some(split) => {
            line.push_str(" -> ");
            line.push_str(&value(&LabelValue::Split(split.clone()), color));
        }
        None => {
            let _ = write!(line, " -> {id}{}{id:#}", r.to.short());
        }
    }
    match (&r.action, &r.source, r.undo) {
        (Action::Promote, Some(source), _) => {
            line.push_str(" (from ");
            line.push_str(source);
            line.push(')');
        }
        (Action::Rollback, _, true) => line.push_str(" (undo)"),
        _ => {}
    }
    line.push_str("  ");
    line.push_str(&r.author);
    if !r.message.is_empty() {
        line.push_str(": ");
        line.extend(r.message.chars().map(|c| if c == '\n' { ' ' } else { c }));
    }
    line.push('\n');
}
