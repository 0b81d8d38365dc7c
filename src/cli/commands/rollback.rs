use anyhow::Result;
use promptrel::{Label, PromptName};

use crate::cli::commands::report_move;
use crate::cli::context::Context;

/// Move a label back to where it was before its last change.
///
/// Repeated rollbacks walk further back, like undo. With --to, the label goes
/// to that version instead. History is never rewritten: the rollback is a new
/// changelog entry.
///
/// Example: promptrel rollback checkout-bot prod -m "too terse"
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt name.
    name: String,
    /// The label to move back.
    label: String,
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
    let name = PromptName::new(&args.name)?;
    let label = Label::new(&args.label)?;
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
