use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use promptrel::{Label, PromptName};

use crate::cli::commands::arrow;
use crate::cli::context::Context;
use crate::cli::output::{exit, stderr, stdout};

/// The largest version accepted, so a wrong file (a database dump, a video)
/// is refused rather than copied into the repository.
const MAX_SIZE: u64 = 32 * 1024 * 1024;

/// Store a new version of a prompt and print its id.
///
/// The bytes are stored exactly (no newline added or removed). Identical
/// content is stored once: adding the newest version again changes nothing.
///
/// Example: promptrel add checkout-bot prompts/checkout.md -m "shorter answers" --label staging
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt name, such as checkout-bot or support/refund-bot.
    name: String,
    /// File to read; standard input when omitted or "-".
    file: Option<PathBuf>,
    /// Why this version exists.
    #[arg(short, long, default_value = "")]
    message: String,
    /// Point this label at the new version (repeatable; not protected labels).
    #[arg(long = "label", value_name = "LABEL")]
    labels: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let name = PromptName::new(&args.name)?;
    let labels = args
        .labels
        .iter()
        .map(|l| Label::new(l))
        .collect::<Result<Vec<_>, _>>()?;
    let store = ctx.store()?;
    let (bytes, file) = match args.file.as_deref() {
        None => (
            read_limited(std::io::stdin().lock(), "standard input")?,
            None,
        ),
        Some(p) if p.as_os_str() == "-" => (
            read_limited(std::io::stdin().lock(), "standard input")?,
            None,
        ),
        Some(p) => {
            let path = ctx.path(p);
            if path.is_dir() {
                bail!("{} is a folder, not a prompt file", p.display());
            }
            let f = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let bytes = read_limited(f, &p.display().to_string())?;
            (bytes, store.relative_source(&path))
        }
    };
    if bytes.is_empty() {
        bail!(
            "refusing to add an empty version of {name} (an empty prompt is almost always a wrong file or an empty pipe)"
        );
    }
    let added = store.add(
        &name,
        &bytes,
        &args.message,
        &labels,
        file,
        &ctx.signature(&store),
    )?;
    writeln!(stdout(ctx.color), "{}", added.id)?;
    let mut err = stderr(ctx.color);
    let short = added.id.short();
    if added.new_version && added.new_object {
        writeln!(err, "{name}: new version {short}")?;
    } else if added.new_version {
        writeln!(
            err,
            "{name}: {short} has the same content as an existing version; it is the newest again"
        )?;
    } else {
        writeln!(
            err,
            "{name}: unchanged, {short} is already the newest version"
        )?;
    }
    for moved in &added.labels {
        if moved.changed {
            writeln!(
                err,
                "{name}@{}: {}",
                moved.label,
                arrow(moved.from.as_ref(), &moved.to)
            )?;
        }
    }
    Ok(exit::OK)
}

fn read_limited(reader: impl Read, what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what}"))?;
    if bytes.len() as u64 > MAX_SIZE {
        bail!(
            "{what} is larger than {} MiB; promptrel stores prompts, not data files",
            MAX_SIZE >> 20
        );
    }
    Ok(bytes)
}
