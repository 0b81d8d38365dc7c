use std::io::Write;

use anyhow::{Result, bail};
use promptrel::release::{Release, ReleaseOptions, Released, Selection};
use promptrel::{Label, PromptName};

use crate::cli::commands::arrow;
use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, warn};

/// Move TO to FROM's version for several prompts at once, as one release.
///
/// Every named prompt (or, with --all, every prompt that has FROM) gets TO
/// pointed at what its FROM holds, as promote would, and the whole set is one
/// changelog event with a release id: either every label moves or none does,
/// even if the process dies half-way (readers never see part of a release).
/// Prompts whose TO already holds FROM's version are left out. The promotion
/// variable guard applies to each prompt (--allow-new-vars overrides).
/// `promptrel rollback --release ID` undoes the whole release.
///
/// Example: promptrel release staging prod --all -m "spring release"
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The label whose versions are released (usually staging).
    from: String,
    /// The label to move (usually prod).
    to: String,
    /// The prompts to release.
    #[arg(value_name = "NAME", required_unless_present = "all")]
    names: Vec<String>,
    /// Every prompt that has FROM.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Why (required: it goes into the changelog).
    #[arg(short, long, required = true)]
    message: String,
    /// Release even if a version needs variables TO's current version did not.
    #[arg(long)]
    allow_new_vars: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let from = Label::new(&args.from)?;
    let to = Label::new(&args.to)?;
    let names = args
        .names
        .iter()
        .map(|n| PromptName::new(n))
        .collect::<promptrel::Result<Vec<_>>>()?;
    if args.message.trim().is_empty() {
        bail!("a release needs a message saying why (-m MSG); it goes into the changelog");
    }
    let store = ctx.store()?;
    let selection = if args.all {
        Selection::All
    } else {
        Selection::Names(&names)
    };
    let options = ReleaseOptions {
        allow_new_vars: args.allow_new_vars,
    };
    let released = store.release(
        &from,
        &to,
        selection,
        options,
        &args.message,
        &ctx.signature(&store),
    )?;
    report(ctx, &released, &format!("{to} already matches {from}"))
}

/// Print a release (or rollback of one): its id, then one line per move.
pub fn report(ctx: &Context, released: &Released, nothing: &str) -> Result<u8> {
    let Some(release) = &released.release else {
        writeln!(stdout(ctx.color), "{nothing} everywhere; nothing changed")?;
        return Ok(exit::OK);
    };
    let mut out = stdout(ctx.color);
    writeln!(out, "{}", headline(release))?;
    for m in &release.record.moves {
        writeln!(
            out,
            "  {}@{}: {}",
            m.prompt,
            release.record.label,
            arrow(m.from_value().as_ref(), &m.value())
        )?;
    }
    drop(out);
    for (prompt, vars) in &released.removed_vars {
        warn(
            ctx.color,
            &format!(
                "{prompt}@{} no longer uses variables: {}; callers passing them get a warning from render (an error with --strict)",
                release.record.label,
                vars.join(", ")
            ),
        )?;
    }
    Ok(exit::OK)
}

fn headline(release: &Release) -> String {
    let r = &release.record;
    let n = r.moves.len();
    let prompts = if n == 1 { "prompt" } else { "prompts" };
    match &r.undoes {
        Some(undone) => format!(
            "rolled back release {} as release {} ({n} {prompts})",
            &undone[..12],
            release.short_id()
        ),
        None => format!(
            "released {} to {} as release {} ({n} {prompts})",
            r.source.as_deref().unwrap_or("?"),
            r.label,
            release.short_id()
        ),
    }
}
