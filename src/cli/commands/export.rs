use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use promptrel::Label;

use crate::cli::context::Context;
use crate::cli::output::{exit, stderr, stdout, style};
use crate::cli::progress::Progress;

/// Write one label of every prompt as plain files, for a deploy.
///
/// Writes the version LABEL points to of every prompt as DIR/NAME (namespaces
/// become folders; the exact bytes), then DIR/promptrel-export.json listing
/// each file's name, id, path and size (check it later with `promptrel
/// verify-export DIR`). Prompts without LABEL are skipped and named on
/// standard error. DIR is created when missing and must be empty unless
/// --force. With --json, prints one JSON document instead of writing files.
///
/// Example: promptrel export --label prod build/prompts
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The label to export, such as prod.
    #[arg(long, value_name = "LABEL")]
    label: String,
    /// Folder to write into.
    #[arg(required_unless_present = "json", conflicts_with = "json")]
    dir: Option<PathBuf>,
    /// Write into a non-empty DIR: replace files of the same name, remove the
    /// files of an earlier export that this one no longer has; leave others.
    #[arg(long, conflicts_with = "json")]
    force: bool,
    /// Print {"format": 1, "label", "prompts": [{"name", "id", "content"}]} to
    /// standard output instead ("content_base64" for bytes that are not UTF-8).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let label = Label::new(&args.label)?;
    let store = ctx.store()?;
    let export = store.export(&label)?;
    if args.json {
        let mut out = stdout(ctx.color);
        serde_json::to_writer_pretty(&mut out, &export.bundle())?;
        writeln!(out)?;
    } else {
        let dir = args.dir.expect("clap requires DIR without --json");
        let total = export.prompts.len();
        let mut bar = Progress::new(ctx, false, "exporting", "prompts");
        let written = export.write_to_with_progress(&ctx.path(&dir), args.force, &mut |done| {
            bar.update(done, total)
        });
        drop(bar);
        written?;
        let mut out = stdout(ctx.color);
        let s = style::ID;
        for p in &export.prompts {
            let mut path = dir.clone();
            path.extend(p.name.parts());
            writeln!(
                out,
                "{}@{label}  {s}{}{s:#}  {}",
                p.name,
                p.id.short(),
                path.display()
            )?;
        }
        writeln!(
            out,
            "wrote {} ({} prompts at label {label})",
            dir.join(promptrel::export::MANIFEST).display(),
            export.prompts.len()
        )?;
    }
    let mut err = stderr(ctx.color);
    for name in &export.skipped {
        writeln!(err, "skipped {name}: it has no label {label}")?;
    }
    Ok(exit::OK)
}
