use std::io::Write;

use anyhow::{Result, bail};
use promptrel::{Label, PromptName};

use crate::cli::commands::{report_move, value};
use crate::cli::context::Context;
use crate::cli::output::stderr;

/// Serve several versions from one label, by weight (an A/B split).
///
/// Each VERSION=PERCENT names a version of NAME (an id, a unique prefix, or a
/// label holding one version) and the percent of keys it serves: at least two
/// versions, each once, whole percents from 1 to 99 adding up to 100.
/// Applications pick one per user: `promptrel show NAME@LABEL --key USER_ID`
/// always gives the same user the same version (`Store::resolve_keyed` in the
/// library); without a key, a version is drawn by weight at random.
///
/// --clear ends the split: the label points at VERSION (one of the split's
/// versions), by default at the greatest share. Both are changelog entries
/// that `promptrel rollback` undoes like any move. Protected labels (prod)
/// cannot be split directly: split another label and promote it.
///
/// Example: promptrel split checkout-bot canary a314563b=90 77839f17=10 -m "try shorter answers on 10%"
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt name.
    name: String,
    /// Label to split.
    label: String,
    /// A version and the percent of keys it serves (at least two).
    #[arg(value_name = "VERSION=PERCENT", required_unless_present = "clear")]
    shares: Vec<String>,
    /// End the split: keep VERSION (default: the greatest share).
    ///
    /// Example: promptrel split checkout-bot canary --clear a314563b -m "shorter answers won"
    #[arg(long, value_name = "VERSION", num_args = 0..=1, conflicts_with = "shares")]
    clear: Option<Option<String>>,
    /// Why (required: it goes into the changelog).
    #[arg(short, long, required = true)]
    message: String,
    /// Fail (exit 3) unless LABEL currently points at this version.
    #[arg(long, value_name = "VERSION")]
    expect: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let name = PromptName::new(&args.name)?;
    let label = Label::new(&args.label)?;
    if args.message.trim().is_empty() {
        bail!("a split needs a message saying why (-m MSG); it goes into the changelog");
    }
    let shares = args
        .shares
        .iter()
        .map(|share| parse_share(share))
        .collect::<Result<Vec<_>>>()?;
    let store = ctx.store()?;
    let sig = ctx.signature(&store);
    let expect = args.expect.as_deref();
    let Some(keep) = args.clear else {
        let moved = store.split(&name, &label, &shares, expect, &args.message, &sig)?;
        return report_move(ctx, "split", &moved);
    };
    let moved = store.clear_split(&name, &label, keep.as_deref(), expect, &args.message, &sig)?;
    let code = report_move(ctx, "cleared the split of", &moved)?;
    if keep.is_none()
        && let Some(from) = moved.from.as_ref().and_then(|f| f.split())
    {
        let kept = from.headline();
        writeln!(
            stderr(ctx.color),
            "kept {}, the greatest share ({}%); `--clear VERSION` keeps another",
            value(&moved.to, true),
            kept.weight
        )?;
    }
    Ok(code)
}

/// `VERSION=PERCENT`, split at the last `=`.
fn parse_share(share: &str) -> Result<(&str, u8)> {
    let Some((version, percent)) = share.rsplit_once('=') else {
        bail!("invalid share {share:?}: expected VERSION=PERCENT, such as a314563b=90");
    };
    if version.is_empty() {
        bail!("invalid share {share:?}: VERSION is missing before '='");
    }
    // Digits only: `+5` and ` 5` are not percents.
    match percent.parse::<u8>() {
        Ok(weight) if percent.bytes().all(|b| b.is_ascii_digit()) => Ok((version, weight)),
        _ => bail!("invalid share {share:?}: PERCENT must be a whole number from 1 to 99"),
    }
}
