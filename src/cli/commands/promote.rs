use anyhow::Result;
use promptrel::{Label, PromoteOptions, PromptName};

use crate::cli::commands::{report_move, warn_new_label_typo};
use crate::cli::context::Context;
use crate::cli::output::warn;

/// Point label TO at what FROM points to, and record who, when and why.
///
/// With --expect, the promotion happens only if TO still points at that
/// version (exit code 3 otherwise), so an approved state cannot be silently
/// overtaken by someone else's promotion.
///
/// The variable guard: when TO already points at a version and both versions
/// parse, promote refuses a version that requires a variable (used by its
/// body, without a default) that TO's current version did not, since callers
/// do not pass it yet; --allow-new-vars overrides. Variables the new version
/// no longer uses are a warning.
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
    /// Promote even if the version needs variables TO's current version did not.
    ///
    /// Example: promptrel promote checkout-bot staging prod -m "asks for order id" --allow-new-vars
    #[arg(long)]
    allow_new_vars: bool,
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
    let options = PromoteOptions {
        expect: args.expect.as_deref(),
        allow_new_vars: args.allow_new_vars,
    };
    let moved = store.promote(
        &name,
        &args.from,
        &to,
        options,
        &args.message,
        &ctx.signature(&store),
    )?;
    let code = report_move(ctx, "promoted", &moved)?;
    warn_new_label_typo(ctx, &store, &moved)?;
    let target = format!("{}@{}", moved.name, moved.label);
    if !moved.new_required_vars.is_empty() {
        let vars = moved.new_required_vars.join(", ");
        warn(
            ctx.color,
            &format!("{target} now requires variables: {vars} (allowed by --allow-new-vars)"),
        )?;
    }
    if !moved.removed_vars.is_empty() {
        let vars = moved.removed_vars.join(", ");
        warn(
            ctx.color,
            &format!(
                "{target} no longer uses variables: {vars}; callers passing them get a warning from render (an error with --strict)"
            ),
        )?;
    }
    Ok(code)
}
