use std::io::Write;

use anyhow::{Context as _, Result};
use promptrel::diff::{self, Side};
use promptrel::meta::{self, Change, Input};
use promptrel::{Rev, Store, VersionId};

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style};

/// Show what changed between two versions, as a unified diff.
///
/// The diff applies with `patch -p1` and `git apply` to a file named after
/// the prompt. Headers name both revisions and their ids.
///
/// With --meta, a summary of what changed in the front matter (model,
/// description, parameters, declared variables and their defaults, other
/// keys) is printed first.
///
/// Example: promptrel diff checkout-bot@prod checkout-bot@staging
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old version (e.g. checkout-bot@prod).
    old: String,
    /// The new version (e.g. checkout-bot@staging).
    new: String,
    /// Show a summary of changed lines instead of the diff.
    #[arg(long)]
    stat: bool,
    /// Exit with 1 when the versions differ, 0 when they are the same.
    #[arg(long)]
    exit_code: bool,
    /// First summarise front matter changes: parameters and variables
    /// added, removed or changed.
    ///
    /// Example: promptrel diff checkout-bot@prod checkout-bot@staging --meta
    #[arg(long)]
    meta: bool,
}

struct Version {
    rev: Rev,
    id: VersionId,
    bytes: Vec<u8>,
}

fn load(store: &Store, rev: Rev) -> Result<Version> {
    let id = store.resolve(&rev)?;
    let bytes = store.read(&id)?;
    Ok(Version { rev, id, bytes })
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let old_rev = Rev::parse(&args.old)?;
    let new_rev = Rev::parse(&args.new)?;
    let store = ctx.store()?;
    let old = load(&store, old_rev)?;
    let new = load(&store, new_rev)?;
    let mut out = stdout(ctx.color);
    if args.meta {
        write_meta(&mut out, &old, &new)?;
    }
    if args.stat {
        write_stat(&mut out, &old, &new)?;
    } else {
        let text = diff::unified(&side(&old), &side(&new));
        for line in text.split_inclusive('\n') {
            let s = match line.as_bytes().first() {
                _ if line.starts_with("--- ") || line.starts_with("+++ ") => style::BOLD,
                Some(b'@') => style::HUNK,
                Some(b'+') => style::ADDED,
                Some(b'-') => style::REMOVED,
                _ => anstyle::Style::new(),
            };
            let body = line.strip_suffix('\n').unwrap_or(line);
            writeln!(out, "{s}{body}{s:#}")?;
        }
    }
    out.flush()?;
    Ok(if args.exit_code && old.bytes != new.bytes {
        exit::DIFFERENT
    } else {
        exit::OK
    })
}

/// `--meta`: one line per front matter change, then a blank line.
fn write_meta(out: &mut impl Write, old: &Version, new: &Version) -> Result<()> {
    let parse = |v: &Version| {
        meta::parse(&v.bytes)
            .map(|doc| doc.front_matter)
            .with_context(|| format!("cannot read the front matter of {}", v.rev))
    };
    let (before, after) = (parse(old)?, parse(new)?);
    let changes = meta::changes(before.as_ref(), after.as_ref());
    let b = style::BOLD;
    if changes.is_empty() {
        writeln!(out, "{b}front matter: unchanged{b:#}")?;
        writeln!(out)?;
        return Ok(());
    }
    let plural = if changes.len() == 1 { "" } else { "s" };
    writeln!(
        out,
        "{b}front matter: {} change{plural}{b:#}",
        changes.len()
    )?;
    let value = |v: &serde_json::Value| v.to_string();
    let input = |i: &Input| match &i.default {
        Some(d) => format!("default {d}"),
        None if i.optional => "optional".to_string(),
        None => "required".to_string(),
    };
    for change in &changes {
        let (what, old, new) = match change {
            Change::Field { key, old, new } => (
                key.clone(),
                old.as_ref().map(value),
                new.as_ref().map(value),
            ),
            Change::Parameter { name, old, new } => (
                format!("parameter {name}"),
                old.as_ref().map(value),
                new.as_ref().map(value),
            ),
            Change::Variable { name, old, new } => (
                format!("variable {name}"),
                old.as_ref().map(input),
                new.as_ref().map(input),
            ),
        };
        let (a, r) = (style::ADDED, style::REMOVED);
        match (old, new) {
            (None, Some(n)) => writeln!(out, "  {a}{what}: added ({n}){a:#}")?,
            (Some(o), None) => writeln!(out, "  {r}{what}: removed (was {o}){r:#}")?,
            (Some(o), Some(n)) => writeln!(out, "  {what}: {o} -> {n}")?,
            (None, None) => {}
        }
    }
    writeln!(out)?;
    Ok(())
}

fn side(v: &Version) -> Side<'_> {
    Side {
        path: v.rev.name.as_str(),
        label: format!("{} {}", v.rev, v.id.short()),
        bytes: &v.bytes,
    }
}

fn write_stat(out: &mut impl Write, old: &Version, new: &Version) -> Result<()> {
    let stat = diff::stat(&old.bytes, &new.bytes);
    if old.bytes == new.bytes {
        return Ok(());
    }
    let path = if old.rev.name == new.rev.name {
        old.rev.name.to_string()
    } else {
        format!("{} => {}", old.rev.name, new.rev.name)
    };
    if stat.binary {
        writeln!(
            out,
            " {path} | Bin {} -> {} bytes",
            old.bytes.len(),
            new.bytes.len()
        )?;
        writeln!(out, " 1 file changed")?;
        return Ok(());
    }
    let (a, r) = (style::ADDED, style::REMOVED);
    writeln!(
        out,
        " {path} | {} {a}{}{a:#}{r}{}{r:#}",
        stat.insertions + stat.deletions,
        "+".repeat(stat.insertions),
        "-".repeat(stat.deletions)
    )?;
    // Like git: a zero count is left out.
    let mut summary = " 1 file changed".to_string();
    for (n, word, sign) in [
        (stat.insertions, "insertion", '+'),
        (stat.deletions, "deletion", '-'),
    ] {
        if n > 0 {
            let plural = if n == 1 { "" } else { "s" };
            summary.push_str(&format!(", {n} {word}{plural}({sign})"));
        }
    }
    writeln!(out, "{summary}")?;
    Ok(())
}
