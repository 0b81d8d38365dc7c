//! The release story, played with the real `promptrel` binary in a temp dir.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! A support chatbot's prompt gives overly long answers. The team keeps the
//! current prompt on `prod`, tries a shorter one on `staging`, promotes it,
//! and rolls back when answers get worse. Every `$ promptrel ...` line it
//! prints is run for real, and what follows is the binary's own output.

use std::error::Error;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = (), E = Box<dyn Error>> = std::result::Result<T, E>;

const LONG: &str = "\
You are a helpful checkout assistant.
Explain every option in detail.
Always list all shipping methods.
";

const SHORT: &str = "\
You are a helpful checkout assistant.
Answer in two sentences.
";

const AUTHOR: &str = "Dana (support team) <dana@example.com>";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result {
    let bin = build_promptrel()?;
    let tmp = tempfile::tempdir()?;
    let mut demo = Demo {
        bin,
        dir: tmp.path().to_path_buf(),
        minute: 0,
    };

    say("A support chatbot's prompt gives overly long answers. Let's ship a shorter one.");
    say("(This runs in a temp dir. The clock is pinned with PROMPTREL_DATE,");
    say("one minute per change, so the output is the same on every run.)");
    println!("$ export PROMPTREL_AUTHOR=\"{AUTHOR}\"");
    println!();

    say("Create a store: a .promptrel/ folder that lives in the repository.");
    demo.run("init")?;

    say("The current, long prompt:");
    demo.write_prompt(LONG)?;
    say("Store it as a version, label it staging, and release it to prod.");
    demo.run(r#"add checkout-bot prompts/checkout.md -m "current prompt" --label staging"#)?;
    demo.run(r#"promote checkout-bot staging prod -m "first release""#)?;

    say("Someone edits prompts/checkout.md to ask for shorter answers:");
    demo.write_prompt(SHORT)?;
    say("The new version goes to staging only; prod does not move.");
    demo.run(r#"add checkout-bot prompts/checkout.md -m "shorter answers" --label staging"#)?;

    say("A reviewer reads exactly what would change in production:");
    demo.run("diff checkout-bot@prod checkout-bot@staging")?;

    say("Approved: promote staging to prod, saying why.");
    demo.run(r#"promote checkout-bot staging prod -m "shorter answers""#)?;

    say("The application resolves checkout-bot@prod and now gets the short prompt");
    say("(in Rust through the library: see examples/runtime.rs):");
    demo.run("show checkout-bot@prod")?;

    say("Answers get worse. Roll prod back in one command:");
    demo.run(r#"rollback checkout-bot prod -m "too terse""#)?;
    say("prod serves the long prompt again:");
    demo.run("show checkout-bot@prod")?;

    say("Every move is in the changelog, newest first: who, when, from, to and why.");
    demo.run("log checkout-bot")?;

    say("Done. The temp dir is removed.");
    tmp.close()?;
    Ok(())
}

/// A narrating comment, printed like one in a shell session.
fn say(text: &str) {
    println!("# {text}");
}

struct Demo {
    /// The real `promptrel` binary.
    bin: PathBuf,
    /// The demo repository (a temp dir).
    dir: PathBuf,
    /// Minutes past 10:00 on the pinned clock.
    minute: u32,
}

impl Demo {
    /// Print `$ promptrel COMMAND`, run the binary, and let its output
    /// through untouched (standard output and standard error, colours and all).
    fn run(&mut self, command: &str) -> Result {
        println!("$ promptrel {command}");
        let args = split_words(command);
        // Commands that write record the time: one minute later each.
        if ["add", "label", "promote", "rollback"].contains(&args[0].as_str()) {
            self.minute += 1;
        }
        let date = format!("2026-01-02T10:{:02}:00Z", self.minute);
        let status = Command::new(&self.bin)
            .args(&args)
            .current_dir(&self.dir)
            // Keep the demo away from any store the caller has configured.
            .env_remove("PROMPTREL_DIR")
            .env_remove("PROMPTREL_LOCK_TIMEOUT")
            .env_remove("PROMPTREL_CRASH_AT")
            .env("PROMPTREL_AUTHOR", AUTHOR)
            .env("PROMPTREL_DATE", date)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if !status.success() {
            return Err(format!("`promptrel {command}` failed ({status})").into());
        }
        println!();
        Ok(())
    }

    /// Write prompts/checkout.md and show it, indented.
    fn write_prompt(&self, text: &str) -> Result {
        let path = self.dir.join("prompts").join("checkout.md");
        std::fs::create_dir_all(path.parent().expect("has a parent"))?;
        std::fs::write(&path, text)?;
        for line in text.lines() {
            println!("    {line}");
        }
        println!();
        Ok(())
    }
}

/// Split a command line into words; "double quotes" group words.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            ' ' if !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// Build the `promptrel` binary (`cargo run --example` builds only the
/// example and the library) and return its path.
///
/// Examples are built into `<target-dir>/[<triple>/]<profile>/examples/`; the
/// binary lands in `<target-dir>/[<triple>/]<profile>/`. The build is asked
/// for that exact place and profile, so it works with `--release`,
/// `--target-dir`, `CARGO_TARGET_DIR` and `--target`.
fn build_promptrel() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target folder from the example's path")?;
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into()));
    cargo
        .args(["build", "--quiet", "--bin", "promptrel", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") => {}
        Some("release") => {
            cargo.arg("--release");
        }
        Some(profile) => {
            cargo.args(["--profile", profile]);
        }
        None => return Err("cannot tell the build profile from the example's path".into()),
    }
    let parent = profile_dir
        .parent()
        .ok_or("cannot locate the target folder")?;
    // With `--target`, a triple folder sits between the target folder and the
    // profile folder. Cargo tags both with CACHEDIR.TAG, but keeps its rustc
    // cache only in the target folder itself.
    let grandparent = parent.parent();
    let is_triple = !parent.join(".rustc_info.json").exists()
        && grandparent.is_some_and(|g| g.join("CACHEDIR.TAG").is_file());
    let target_dir = match grandparent {
        Some(target_dir) if is_triple => {
            cargo
                .arg("--target")
                .arg(parent.file_name().unwrap_or_default());
            target_dir
        }
        _ => parent,
    };
    cargo.arg("--target-dir").arg(target_dir);
    let status = cargo
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("`cargo build --bin promptrel` failed ({status})").into());
    }
    let bin = profile_dir.join(format!("promptrel{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        return Err(format!("the build did not produce {}", bin.display()).into());
    }
    Ok(bin)
}
