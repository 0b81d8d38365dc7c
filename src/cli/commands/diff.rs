use std::io::Write;

use anyhow::Result;
use promptrel::diff::{self, Side};
use promptrel::{Rev, Store, VersionId};

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style};

/// Show what changed between two versions, as a unified diff.
///
/// The diff applies with `patch -p1` and `git apply` to a file named after
/// the prompt. Headers name both revisions and their ids.
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
