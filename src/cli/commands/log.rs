use std::io::{BufWriter, Write};

use anstream::ColorChoice;
use anstyle::Style;
use anyhow::Result;
use promptrel::release::{Release, ReleaseAction};
use promptrel::{Action, Event, Label, LabelValue, LogFilter, PromptName, Record};

use crate::cli::commands::value;
use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style, warn};

/// Show the changelog, newest first: every version added and every label move.
///
/// Each line: time (UTC), action, prompt@label, from -> to (short ids),
/// author and message. A release (`promptrel release`) is one entry, with
/// its id and one indented line per prompt; with NAME or --label, its moves
/// show one by one, each naming its release. --json prints the stored
/// records as JSON Lines (a release: its record with its "id").
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

/// `-n` above this reads the logs ahead on other threads.
const READ_AHEAD_FROM: usize = 10_000;

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let filter = LogFilter {
        name: args.name.as_deref().map(PromptName::new).transpose()?,
        label: args.label.as_deref().map(Label::new).transpose()?,
    };
    let store = ctx.store()?;
    let mut timeline = store.timeline(&filter)?;
    // All or most of a history: parse records on other cores while this
    // one formats (a few lines are faster read here).
    if args.max_count.is_none_or(|n| n > READ_AHEAD_FROM) {
        timeline = timeline.read_ahead();
    }
    let records = timeline.take(args.max_count.unwrap_or(usize::MAX));
    // A full log can be millions of lines: without colour, write plain
    // bytes through one large buffer (no escape-code stripping, no flush
    // per line); a terminal with colour gets the styled, line-buffered stream.
    let styled = stdout(ctx.color);
    let written;
    if args.json || styled.current_choice() == ColorChoice::Never {
        drop(styled);
        let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        written = write_all(&mut out, records, args.json, false)?;
        out.flush()?;
    } else {
        let mut out = styled;
        written = write_all(&mut out, records, args.json, true)?;
        out.flush()?;
    }
    // A label no prompt has yet has no history, which is no error; but one
    // a letter away from a label in use was most likely meant as that one.
    if let (0, None, Some(label)) = (written, &filter.name, &filter.label)
        && args.max_count != Some(0)
        && let Some(near) = store.labels_like(label.as_str())?.first()
    {
        warn(
            ctx.color,
            &format!(
                "no prompt has a label {:?}; did you mean {near}?",
                label.as_str()
            ),
        )?;
    }
    Ok(exit::OK)
}

/// Write every event; returns how many.
fn write_all(
    out: &mut impl Write,
    events: impl Iterator<Item = promptrel::Result<Event>>,
    json: bool,
    color: bool,
) -> Result<usize> {
    let mut line = String::with_capacity(512);
    let mut written = 0;
    for event in events {
        written += 1;
        match (event?, json) {
            (Event::Record(record), true) => out.write_all(&record.to_line())?,
            (Event::Record(record), false) => {
                format_line(&mut line, &record, color);
                out.write_all(line.as_bytes())?;
            }
            (Event::Release(release), true) => {
                /// The release record with its id first.
                #[derive(serde::Serialize)]
                struct WithId<'a> {
                    id: &'a str,
                    #[serde(flatten)]
                    record: &'a promptrel::release::ReleaseRecord,
                }
                let with_id = WithId {
                    id: &release.id,
                    record: &release.record,
                };
                serde_json::to_writer(&mut *out, &with_id)?;
                out.write_all(b"\n")?;
            }
            (Event::Release(release), false) => {
                format_release(&mut line, &release, color);
                out.write_all(line.as_bytes())?;
            }
        }
    }
    Ok(written)
}

/// The time column: RFC 3339 in UTC, whole seconds, and two spaces.
fn push_time(line: &mut String, time: jiff::Timestamp) {
    // By hand: a full log formats hundreds of thousands of these, and
    // `write!` with padding costs more than the rest of the line.
    fn digits(line: &mut String, n: i64, width: u32) {
        let n = n.unsigned_abs();
        for place in (0..width).rev() {
            line.push(char::from(b'0' + (n / 10u64.pow(place) % 10) as u8));
        }
    }
    let t = jiff::tz::Offset::UTC.to_datetime(time);
    if !(0..=9999).contains(&t.year()) {
        use std::fmt::Write as _;
        let _ = write!(line, "{:04}", t.year());
    } else {
        digits(line, t.year().into(), 4);
    }
    for (sep, n) in [
        ('-', t.month()),
        ('-', t.day()),
        ('T', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        line.push(sep);
        digits(line, n.into(), 2);
    }
    line.push_str("Z  ");
}

/// A release as one entry: a headline, then one indented line per move.
fn format_release(line: &mut String, release: &Release, color: bool) {
    use std::fmt::Write as _;
    line.clear();
    let r = &release.record;
    push_time(line, r.time);
    let (b, id) = if color {
        (style::BOLD, style::ID)
    } else {
        (Style::new(), Style::new())
    };
    let action = r.action.as_str();
    let _ = write!(line, "{action:<8}  {b}{}{b:#}", r.label);
    match (&r.action, &r.source, &r.undoes) {
        (ReleaseAction::Release, Some(source), _) => {
            let _ = write!(line, " (from {source})");
        }
        (ReleaseAction::Rollback, _, Some(undone)) => {
            let _ = write!(line, " (undoes release {id}{}{id:#})", &undone[..12]);
        }
        _ => {}
    }
    let _ = write!(
        line,
        "  release {id}{}{id:#}  {}",
        release.short_id(),
        r.author
    );
    if !r.message.is_empty() {
        line.push_str(": ");
        line.extend(r.message.chars().map(|c| if c == '\n' { ' ' } else { c }));
    }
    line.push('\n');
    for m in &r.moves {
        // A split shows every share, as in a label's own log.
        let from = m.from_value().map_or("-".to_string(), |f| value(&f, color));
        let _ = writeln!(
            line,
            "    {b}{}@{}{b:#}  {from} -> {}",
            m.prompt,
            r.label,
            value(&m.value(), color)
        );
    }
}

/// One line of the human log into `line` (cleared first). A full log is
/// mostly this, so it is built by hand, not with `strftime` and `format!`.
fn format_line(line: &mut String, r: &Record, color: bool) {
    use std::fmt::Write as _;
    line.clear();
    push_time(line, r.time);
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
    if color {
        let _ = write!(line, "{b}");
    }
    line.push_str(&r.prompt);
    if let Some(label) = &r.label {
        line.push('@');
        line.push_str(label);
    }
    if color {
        let _ = write!(line, "{b:#}");
    }
    line.push_str("  ");
    // A split shows every share: `a314563b311a 90% + 77839f17c603 10%`.
    match (&r.from_split, &r.from) {
        (Some(split), _) => line.push_str(&value(&LabelValue::Split(split.clone()), color)),
        (None, Some(from)) if !color => line.push_str(from.short()),
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
        None if !color => {
            line.push_str(" -> ");
            line.push_str(r.to.short());
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
    if let Some(release) = &r.release {
        let _ = write!(
            line,
            " [release {id}{}{id:#}]",
            &release[..12.min(release.len())]
        );
    }
    line.push_str("  ");
    line.push_str(&r.author);
    if !r.message.is_empty() {
        line.push_str(": ");
        line.extend(r.message.chars().map(|c| if c == '\n' { ' ' } else { c }));
    }
    line.push('\n');
}
