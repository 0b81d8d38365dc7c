use anyhow::Result;
use promptrel::{Label, PromptName};

use crate::cli::commands::{release, report_move};
use crate::cli::context::Context;

/// Move a label back to where it was before its last change.
///
/// Repeated rollbacks walk further back, like undo. With --to, the label goes
/// to that version instead. History is never rewritten: the rollback is a new
/// changelog entry. With --release ID (and no NAME or LABEL), every label a
/// release moved goes back, as one new release: all of them or none.
///
/// Example: promptrel rollback checkout-bot prod -m "too terse"
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt name.
    #[arg(required_unless_present = "release")]
    name: Option<String>,
    /// The label to move back.
    #[arg(required_unless_present = "release")]
    label: Option<String>,
    /// Undo a whole release (its id or a prefix of 4+ digits, from `promptrel log`).
    ///
    /// Example: promptrel rollback --release 3f9a0c1d -m "spring release broke refunds"
    #[arg(long, value_name = "ID", conflicts_with_all = ["name", "label", "to", "expect"])]
    release: Option<String>,
    /// Go to this version instead (id, prefix, label, or LABEL~N).
    #[arg(long, value_name = "VERSION")]
    to: Option<String>,
    /// Why.
    #[arg(short, long, default_value = "")]
    message: String,
    /// Fail unless LABEL currently points at this version.
    #[arg(long, value_name = "VERSION")]
    expect: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    if let Some(id) = &args.release {
        let store = ctx.store()?;
        let released = store.rollback_release(id, &args.message, &ctx.signature(&store))?;
        return release::report(ctx, &released, "nothing to roll back");
    }
    let (Some(name), Some(label)) = (&args.name, &args.label) else {
        unreachable!("clap requires NAME and LABEL without --release");
    };
    let name = PromptName::new(name)?;
    let label = Label::new(label)?;
    let store = ctx.store()?;
    let moved = store.rollback(
        &name,
        &label,
        args.to.as_deref(),
        args.expect.as_deref(),
        &args.message,
        &ctx.signature(&store),
    )?;
    report_move(ctx, "rolled back", &moved)
}
