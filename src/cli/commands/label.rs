use anyhow::Result;
use promptrel::{Label, PromptName};

use crate::cli::commands::{report_move, warn_new_label_typo};
use crate::cli::context::Context;

/// Point a label at a version.
///
/// VERSION is an id, a unique id prefix, or another label of NAME.
/// Protected labels (prod by default) move only through promote and rollback.
///
/// Example: promptrel label checkout-bot staging 3f2a1b0c
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt name.
    name: String,
    /// Label to move.
    label: String,
    /// Version to point it at: id, id prefix, or a label of NAME.
    version: String,
    /// Why.
    #[arg(short, long, default_value = "")]
    message: String,
    /// Fail (exit 3) unless LABEL currently points at this version.
    #[arg(long, value_name = "VERSION")]
    expect: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let name = PromptName::new(&args.name)?;
    let label = Label::new(&args.label)?;
    let store = ctx.store()?;
    let moved = store.set_label(
        &name,
        &label,
        &args.version,
        args.expect.as_deref(),
        &args.message,
        &ctx.signature(&store),
    )?;
    let code = report_move(ctx, "labelled", &moved)?;
    warn_new_label_typo(ctx, &store, &moved)?;
    Ok(code)
}
