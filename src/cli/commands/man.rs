use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::Cli;
use crate::cli::context::Context;
use crate::cli::output::{exit, stdout};

/// Write the manual pages (roff), or print promptrel.1 to standard output.
///
/// With DIR, writes promptrel.1 and one page per subcommand
/// (promptrel-add.1, …) into DIR, creating it when missing, and prints the
/// path of each file written. Without DIR, prints promptrel.1.
///
/// Example: promptrel man ~/.local/share/man/man1
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the pages into (a man1 folder on your MANPATH).
    dir: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = args.dir else {
        let mut page = Vec::new();
        page_of(cmd).render(&mut page)?;
        let mut out = std::io::stdout().lock();
        out.write_all(&page)?;
        out.flush()?;
        return Ok(exit::OK);
    };
    let full = ctx.path(&dir);
    std::fs::create_dir_all(&full).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut pages: Vec<_> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .map(page_of)
        .collect();
    pages.insert(0, page_of(cmd));
    let mut out = stdout(ctx.color);
    for page in pages {
        let name = page.get_filename();
        page.generate_to(&full)
            .with_context(|| format!("cannot write {}", dir.join(&name).display()))?;
        writeln!(out, "{}", dir.join(&name).display())?;
    }
    Ok(exit::OK)
}

/// A page titled the conventional way: `PROMPTREL`, `PROMPTREL-ADD`, ….
fn page_of(cmd: clap::Command) -> Man {
    let title = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_uppercase();
    Man::new(cmd)
        .title(title)
        .source(concat!("promptrel ", env!("CARGO_PKG_VERSION")))
}
