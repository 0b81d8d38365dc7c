use std::io::{self, Write};

use anyhow::Result;
use promptrel::{Finding, Status, Store};

use crate::cli::context::Context;
use crate::cli::output::{exit, stderr, stdout, style};

/// Show prompt files changed since `add`, and labels at odds with their changelog.
///
/// Needs attention (fails --check): a prompt's source file (the file its
/// newest version was added from) changed since; a label that cannot be read
/// (e.g. git conflict markers), disagrees with its changelog, has none, or
/// points to a missing object; a damaged changelog. Information only: a label
/// that moved since its last promotion onwards (staging ahead of prod), a
/// rollback, a source file that is gone or differs only in line endings.
/// Reads only, and quickly: `fsck` is the check of every byte.
///
/// Example: promptrel status --check
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit 1 when something needs attention (for pre-commit hooks and CI).
    #[arg(long)]
    check: bool,
    /// Print {"format": 1, "prompts", "labels", "attention", "findings": [{kind, severity, prompt, label, path, message, next}]}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let store = ctx.store()?;
    let status = store.status()?;
    let mut out = stdout(ctx.color);
    let printed = if args.json {
        serde_json::to_writer_pretty(&mut out, &json(&status))
            .map_err(io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        report(&mut out, &store, &status, ctx)
    };
    match printed.and_then(|()| out.flush()) {
        Ok(()) => {}
        // `status --check | head -1` must still fail the check: a closed
        // pipe ends the report, not the verdict.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e.into()),
    }
    if !(args.check && status.needs_attention()) {
        return Ok(exit::OK);
    }
    let count = status.attention().count();
    let (e, h) = (style::ERROR, style::HINT);
    let mut err = stderr(ctx.color);
    let verb = if count == 1 { "needs" } else { "need" };
    let findings = self::count(count, "finding");
    writeln!(err, "{e}error:{e:#} {findings} {verb} attention")?;
    writeln!(
        err,
        "{h}hint:{h:#} do what each `next:` says, then run `promptrel status --check` again"
    )?;
    Ok(exit::DIFFERENT)
}

/// The report for a person: what needs attention, then notes, then a summary.
fn report(out: &mut impl Write, store: &Store, status: &Status, ctx: &Context) -> io::Result<()> {
    // Suggested commands name files relative to the store's workdir.
    let here = std::fs::canonicalize(&ctx.cwd).ok();
    if status.findings.iter().any(|f| f.path.is_some())
        && here.is_some()
        && here != std::fs::canonicalize(store.workdir()).ok()
    {
        writeln!(
            out,
            "(paths are relative to {}, the folder holding .promptrel)",
            store.workdir().display()
        )?;
    }
    let (a, i) = (status.attention().count(), status.info().count());
    section(out, "needs attention:", style::ERROR, status.attention())?;
    if a > 0 && i > 0 {
        writeln!(out)?;
    }
    section(out, "for your information:", style::HINT, status.info())?;
    if a + i > 0 {
        writeln!(out)?;
    }
    let summary = match (a, i) {
        (0, 0) => "nothing to report".to_string(),
        (0, i) => notes(i),
        (a, 0) => needs(a),
        (a, i) => format!("{}, {}", needs(a), notes(i)),
    };
    writeln!(
        out,
        "checked {}, {}: {summary}",
        count(status.prompts, "prompt"),
        count(status.labels, "label")
    )
}

/// `1 prompt`, `2 prompts`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn needs(n: usize) -> String {
    if n == 1 {
        "1 needs attention".into()
    } else {
        format!("{n} need attention")
    }
}

fn notes(n: usize) -> String {
    count(n, "note")
}

fn section<'a>(
    out: &mut impl Write,
    title: &str,
    color: anstyle::Style,
    findings: impl Iterator<Item = &'a Finding>,
) -> io::Result<()> {
    let (b, k) = (style::BOLD, anstyle::Style::new().dimmed());
    let mut findings = findings.peekable();
    if findings.peek().is_none() {
        return Ok(());
    }
    writeln!(out, "{color}{title}{color:#}")?;
    for f in findings {
        writeln!(out, "  {} {k}[{}]{k:#}", f.message, f.kind.as_str())?;
        writeln!(out, "    next: {b}{}{b:#}", f.next)?;
    }
    Ok(())
}

/// The `--json` document (FORMAT.md §12), format 1; fields in this order.
#[derive(serde::Serialize)]
struct Json<'a> {
    format: u32,
    prompts: usize,
    labels: usize,
    attention: usize,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(serde::Serialize)]
struct JsonFinding<'a> {
    kind: &'static str,
    severity: &'static str,
    prompt: &'a str,
    label: Option<&'a str>,
    path: Option<&'a str>,
    message: &'a str,
    next: &'a str,
}

fn json(status: &Status) -> Json<'_> {
    Json {
        format: 1,
        prompts: status.prompts,
        labels: status.labels,
        attention: status.attention().count(),
        findings: status
            .findings
            .iter()
            .map(|f| JsonFinding {
                kind: f.kind.as_str(),
                severity: if f.kind.needs_attention() {
                    "attention"
                } else {
                    "info"
                },
                prompt: f.prompt.as_str(),
                label: f.label.as_ref().map(|l| l.as_str()),
                path: f.path.as_deref(),
                message: &f.message,
                next: &f.next,
            })
            .collect(),
    }
}
