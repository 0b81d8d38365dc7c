use anyhow::Result;
use promptrel::{Label, PromptName};

use crate::cli::commands::report_move;
use crate::cli::context::Context;

/// Point label TO at what FROM points to, and record who, when and why.
///
/// With --expect, the promotion happens only if TO still points at that
/// version (exit code 3 otherwise), so an approved state cannot be silently
/// overtaken by someone else's promotion.
///
/// Example: promptrel promote checkout-bot staging prod -m "shorter answers"
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt name.
    name: String,
    /// Where the version comes from: a label (or any revision of NAME).
    from: String,
    /// The label to move.
    to: String,
    /// Why (required: it goes into the changelog).
    #[arg(short, long, required = true)]
    message: String,
    /// Fail unless TO currently points at this version (id, prefix or label).
    #[arg(long, value_name = "VERSION")]
    expect: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let name = PromptName::new(&args.name)?;
    let to = Label::new(&args.to)?;
    if args.message.trim().is_empty() {
        anyhow::bail!(
            "a promotion needs a message saying why (-m MSG); it goes into the changelog"
        );
    }
    let store = ctx.store()?;
    let moved = store.promote(
        &name,
        &args.from,
        &to,
        args.expect.as_deref(),
        &args.message,
        &ctx.signature(&store),
    )?;
    report_move(ctx, "promoted", &moved)
}
