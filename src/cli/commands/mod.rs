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
mod status;
mod vars;
mod verify_export;

use anyhow::Result;
use clap::Subcommand;

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
    Diff(diff::Args),
    Log(log::Args),
    Fsck(fsck::Args),
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
        Command::Diff(args) => diff::run(args, ctx),
        Command::Log(args) => log::run(args, ctx),
        Command::Fsck(args) => fsck::run(args, ctx),
        Command::Status(args) => status::run(args, ctx),
        Command::List(args) => list::run(args, ctx),
        Command::Export(args) => export::run(args, ctx),
        Command::VerifyExport(args) => verify_export::run(args, ctx),
        Command::Completions(args) => completions::run(args, ctx),
        Command::Man(args) => man::run(args, ctx),
    }
}

/// `from -> to` with short ids, `-` for a label that did not exist.
pub fn arrow(from: Option<&promptrel::VersionId>, to: &promptrel::VersionId) -> String {
    let s = super::output::style::ID;
    let from = from.map_or("-".to_string(), |f| format!("{s}{}{s:#}", f.short()));
    format!("{from} -> {s}{}{s:#}", to.short())
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
        let s = super::output::style::ID;
        writeln!(
            out,
            "{target} already points at {s}{}{s:#}; nothing changed",
            moved.to.short()
        )?;
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
