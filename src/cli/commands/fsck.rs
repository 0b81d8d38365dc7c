use std::io::Write;

use anyhow::Result;
use promptrel::fsck::Step;

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout};
use crate::cli::progress::Progress;

/// Check the whole store: every object re-hashed, every ref and changelog record.
///
/// Prints one line per problem, naming the file; exits 0 only when the store
/// is clean and 1 when problems remain. --repair fixes only what is safe
/// (temp files left by a crash, a ref one move behind its changelog) and says
/// what it did. After a git merge, a label moved on both branches is
/// explained, with the command that settles it.
///
/// Example: promptrel fsck --repair
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fix what is safe to fix, under the store lock.
    #[arg(long)]
    repair: bool,
    /// Print the report as JSON: {objects, refs, records, problems: [{path, kind, message, repaired}]}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let store = ctx.store()?;
    let mut bar = Progress::new(ctx, args.json, "hashing", "objects");
    let report = store.fsck_with_progress(args.repair, &mut |step, done, total| {
        match step {
            Step::Objects => bar.stage("hashing", "objects"),
            Step::Prompts => bar.stage("checking logs and refs", "prompts"),
            _ => bar.stage("checking includes", "prompts"),
        }
        bar.update(done, total)
    });
    drop(bar);
    let report = report?;
    let mut out = stdout(ctx.color);
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for p in &report.problems {
            let status = if p.repaired { "repaired" } else { "problem" };
            writeln!(
                out,
                "{status}: .promptrel/{}: {} [{}]",
                p.path, p.message, p.kind
            )?;
        }
        let left = report.problems.iter().filter(|p| !p.repaired).count();
        writeln!(
            out,
            "checked {} objects, {} refs, {} records: {}",
            report.objects,
            report.refs,
            report.records,
            match left {
                0 => "ok".to_string(),
                1 => "1 problem".to_string(),
                n => format!("{n} problems"),
            }
        )?;
    }
    Ok(if report.is_clean() {
        exit::OK
    } else {
        exit::DIFFERENT
    })
}
