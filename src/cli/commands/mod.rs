//! One file per subcommand: its arguments (the doc comments are the help
//! text) and one `run` function that parses, calls the library, and prints.

mod add;
mod completions;
mod diff;
mod export;
mod fsck;
mod init;
mod label;
mod list;
mod log;
mod man;
mod promote;
mod release;
mod render;
mod rollback;
mod show;
mod split;
mod status;
mod upgrade;
mod vars;
mod verify_export;

use anyhow::Result;
use clap::Subcommand;
use promptrel::LabelValue;

use super::context::Context;

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::Args),
    Add(add::Args),
    Show(show::Args),
    Render(render::Args),
    Vars(vars::Args),
    Label(label::Args),
    Promote(promote::Args),
    Release(release::Args),
    Rollback(rollback::Args),
    Split(split::Args),
    Diff(diff::Args),
    Log(log::Args),
    Fsck(fsck::Args),
    Upgrade(upgrade::Args),
    Status(status::Args),
    List(list::Args),
    Export(export::Args),
    VerifyExport(verify_export::Args),
    Completions(completions::Args),
    Man(man::Args),
}

/// `show REV` parsed by the `show` parser alone, without building the
/// parser of every subcommand: half of a cold `show` was clap setting up
/// commands it did not run (PERFORMANCE.md). `None` if clap refuses it.
pub fn parse_show(rev: &str) -> Option<Command> {
    use clap::{Args as _, FromArgMatches as _};
    let matches = show::Args::augment_args(clap::Command::new("show"))
        .try_get_matches_from(["show", rev])
        .ok()?;
    show::Args::from_arg_matches(&matches)
        .ok()
        .map(Command::Show)
}

/// Run a command; the `u8` is the exit code on success paths.
pub fn run(command: Command, ctx: &Context) -> Result<u8> {
    match command {
        Command::Init(args) => init::run(args, ctx),
        Command::Add(args) => add::run(args, ctx),
        Command::Show(args) => show::run(args, ctx),
        Command::Render(args) => render::run(args, ctx),
        Command::Vars(args) => vars::run(args, ctx),
        Command::Label(args) => label::run(args, ctx),
        Command::Promote(args) => promote::run(args, ctx),
        Command::Release(args) => release::run(args, ctx),
        Command::Rollback(args) => rollback::run(args, ctx),
        Command::Split(args) => split::run(args, ctx),
        Command::Diff(args) => diff::run(args, ctx),
        Command::Log(args) => log::run(args, ctx),
        Command::Fsck(args) => fsck::run(args, ctx),
        Command::Upgrade(args) => upgrade::run(args, ctx),
        Command::Status(args) => status::run(args, ctx),
        Command::List(args) => list::run(args, ctx),
        Command::Export(args) => export::run(args, ctx),
        Command::VerifyExport(args) => verify_export::run(args, ctx),
        Command::Completions(args) => completions::run(args, ctx),
        Command::Man(args) => man::run(args, ctx),
    }
}

/// `from -> to` with short ids, `-` for a label that did not exist.
pub fn arrow(from: Option<&LabelValue>, to: &LabelValue) -> String {
    let from = from.map_or("-".to_string(), |f| value(f, true));
    format!("{from} -> {}", value(to, true))
}

/// A label's value for people: a short id, or a split as
/// `a314563b311a 90% + 77839f17c603 10%` (greatest share first), the ids
/// styled when `styled`.
pub fn value(value: &LabelValue, styled: bool) -> String {
    let s = if styled {
        super::output::style::ID
    } else {
        anstyle::Style::new()
    };
    match value {
        LabelValue::One(id) => format!("{s}{}{s:#}", id.short()),
        LabelValue::Split(split) => {
            let shares: Vec<String> = split
                .by_weight()
                .iter()
                .map(|share| format!("{s}{}{s:#} {}%", share.version.short(), share.weight))
                .collect();
            shares.join(" + ")
        }
    }
}

/// On standard error, which version of a split a request without a key
/// was served: `served a314563b311a (90% of checkout-bot@canary)`.
pub fn report_served(
    ctx: &Context,
    rev: &promptrel::Rev,
    served: &promptrel::Served,
) -> Result<()> {
    use std::io::Write;
    if let Some(weight) = served.weight() {
        let s = super::output::style::ID;
        writeln!(
            super::output::stderr(ctx.color),
            "served {s}{}{s:#} ({weight}% of {rev}; pass --key KEY to choose by key)",
            served.id.short()
        )?;
    }
    Ok(())
}

/// `show --json`/`render --json`: how a split was resolved, or `null`.
pub fn served_json(served: &promptrel::Served, key: Option<&str>) -> serde_json::Value {
    match (&served.split, served.weight()) {
        (Some(split), Some(weight)) => serde_json::json!({
            "key": key,
            "bucket": served.bucket,
            "weight": weight,
            "shares": split.shares(),
        }),
        _ => serde_json::Value::Null,
    }
}

/// Print what a label move did (or that it was already there).
pub fn report_move(ctx: &Context, verb: &str, moved: &promptrel::Moved) -> Result<u8> {
    use std::io::Write;
    let mut out = super::output::stdout(ctx.color);
    let target = format!("{}@{}", moved.name, moved.label);
    if moved.changed {
        writeln!(
            out,
            "{verb} {target}: {}",
            arrow(moved.from.as_ref(), &moved.to)
        )?;
    } else {
        let to = value(&moved.to, true);
        let what = if moved.to.split().is_some() {
            "already serves"
        } else {
            "already points at"
        };
        writeln!(out, "{target} {what} {to}; nothing changed")?;
    }
    Ok(super::output::exit::OK)
}

/// A warning when a command created a label one typo away (one letter
/// added, dropped, changed or two swapped) from another label of the same
/// prompt: `promote checkout-bot staging prd` most likely meant `prod`, and
/// labels are never deleted, so say so at once.
pub fn warn_new_label_typo(
    ctx: &Context,
    store: &promptrel::Store,
    moved: &promptrel::Moved,
) -> Result<()> {
    if !moved.changed || moved.from.is_some() {
        return Ok(());
    }
    let new = moved.label.as_str();
    let near = store
        .labels(&moved.name)?
        .into_iter()
        .find(|(other, _)| other.as_str() != new && strsim::osa_distance(other.as_str(), new) == 1);
    if let Some((other, _)) = near {
        let name = &moved.name;
        super::output::warn(
            ctx.color,
            &format!("{name}@{new} is a new label; did you mean {name}@{other}?"),
        )?;
    }
    Ok(())
}
