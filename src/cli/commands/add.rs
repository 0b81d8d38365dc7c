use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use promptrel::{Label, PromptName};

use crate::cli::commands::{arrow, warn_new_label_typo};
use crate::cli::context::Context;
use crate::cli::output::{exit, stderr, stdout, warn};
use crate::cli::progress::Progress;

/// The largest version accepted, so a wrong file (a database dump, a video)
/// is refused rather than copied into the repository.
const MAX_SIZE: u64 = 32 * 1024 * 1024;

/// Store a new version of a prompt and print its id.
///
/// The bytes are stored exactly (no newline added or removed). Identical
/// content is stored once: adding the newest version again changes nothing.
///
/// With --dir DIR, every file under DIR becomes a version of the prompt named
/// after its path without the extension (support/refund-bot.md becomes
/// support/refund-bot), under one lock; hidden files and folders are skipped.
/// Files that cannot become prompts are all listed, and nothing is written.
///
/// Example: promptrel add checkout-bot prompts/checkout.md -m "shorter answers" --label staging
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "promptrel add [OPTIONS] <NAME> [FILE]\n       promptrel add [OPTIONS] --dir <DIR>"
)]
pub struct Args {
    /// Prompt name, such as checkout-bot or support/refund-bot.
    #[arg(required_unless_present = "dir")]
    name: Option<String>,
    /// File to read; standard input when omitted or "-".
    file: Option<PathBuf>,
    /// Import every file under DIR (names from paths; one summary line).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["name", "file"])]
    dir: Option<PathBuf>,
    /// Why this version exists.
    #[arg(short, long, default_value = "")]
    message: String,
    /// Point this label at the new version (repeatable; not protected labels).
    #[arg(long = "label", value_name = "LABEL")]
    labels: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let labels = args
        .labels
        .iter()
        .map(|l| Label::new(l))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dir) = &args.dir {
        return import(dir, &args.message, &labels, ctx);
    }
    let name = PromptName::new(
        args.name
            .as_deref()
            .expect("clap requires NAME without --dir"),
    )?;
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
    drop(err);
    for moved in &added.labels {
        warn_new_label_typo(ctx, &store, moved)?;
    }
    super::render::warn_invalid_front_matter(ctx, &name, &bytes)?;
    Ok(exit::OK)
}

/// `add --dir`: plan (refusing every bad file at once), import, summarise.
fn import(dir: &Path, message: &str, labels: &[Label], ctx: &Context) -> Result<u8> {
    let store = ctx.store()?;
    let mut plan = store.plan_import(&ctx.path(dir), MAX_SIZE)?;
    // The import keeps each new file open until it links it in (Linux),
    // up to the soft limit of open files: let it use the hard one.
    raise_open_file_limit();
    plan.dir = dir.to_path_buf(); // errors name the folder as the user wrote it
    let sig = ctx.signature(&store);
    let total = plan.files.len();
    let mut bar = Progress::new(ctx, false, "importing", "files");
    let imported = store.import(&plan, message, labels, &sig, &mut |done| {
        bar.update(done, total)
    });
    drop(bar);
    let done = imported?;
    let root = ctx.path(dir);
    for invalid in &done.invalid_front_matter {
        // The file as the user would name it: under DIR as they wrote it.
        let file = dir.join(invalid.path.strip_prefix(&root).unwrap_or(&invalid.path));
        warn(
            ctx.color,
            &format!(
                "{} ({}): {}; the version is stored as is, but render will refuse it",
                file.display(),
                invalid.name,
                invalid.problem
            ),
        )?;
    }
    let mut summary = format!(
        "imported {} files from {}: {} new versions ({} new prompts), {} unchanged",
        done.files,
        dir.display(),
        done.new_versions,
        done.new_prompts,
        done.unchanged
    );
    if !labels.is_empty() {
        let names: Vec<&str> = labels.iter().map(Label::as_str).collect();
        summary.push_str(&format!(
            "; {} label moves ({})",
            done.labels_moved,
            names.join(", ")
        ));
    }
    writeln!(stdout(ctx.color), "{summary}")?;
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

/// Raise this process's soft limit of open files to its hard limit (what
/// Go programs do at start-up); a failure only means fewer files are
/// written anonymously (src/import/write.rs).
fn raise_open_file_limit() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            let _ = setrlimit(Resource::Nofile, raised);
        }
    }
}
