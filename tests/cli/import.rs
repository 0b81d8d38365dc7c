//! `promptrel add --dir DIR`: bulk import under one lock.

use serde_json::Value;
use snapbox::{assert_data_eq, str};

use crate::support::{Run, TestEnv};

const BOT: &str = "You are a checkout assistant.\n";
const REFUND: &str = "Refund politely.\n";
const NOTES: &str = "Notes, second draft.\n";

/// prompts/ with three prompt files and hidden things that must be skipped.
fn folder(env: &TestEnv) {
    env.write("prompts/bot.md", BOT);
    env.write("prompts/support/refund-bot.md", REFUND);
    env.write("prompts/notes.v2.txt", NOTES);
    env.write("prompts/.draft.md", "hidden file\n");
    env.write("prompts/.git/config", "hidden folder\n");
}

fn records(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["log", "--json"];
    all.extend_from_slice(args);
    env.run(&all)
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn id_of(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

#[test]
fn import_names_prompts_after_paths_and_records_each_version() {
    let env = TestEnv::init();
    folder(&env);
    let run = env
        .run(&[
            "add", "--dir", "prompts", "-m", "import", "--label", "staging",
        ])
        .ok();
    assert_eq!(
        run.stdout,
        "imported 3 files from prompts: 3 new versions (3 new prompts), 0 unchanged; 3 label moves (staging)\n"
    );
    assert_eq!(run.stderr, "", "no progress when stderr is not a terminal");
    for (name, text) in [
        ("bot", BOT),
        ("support/refund-bot", REFUND),
        ("notes.v2", NOTES),
    ] {
        assert_eq!(
            env.run(&["show", &format!("{name}@staging")]).ok().stdout,
            text
        );
        let adds = records(&env, &[name, "--label", "staging"]);
        assert_eq!(adds.len(), 1, "{name}: one label move");
    }
    // One `add` record per version, naming its file relative to the workdir.
    let adds: Vec<Value> = records(&env, &[])
        .into_iter()
        .filter(|r| r["action"] == "add")
        .collect();
    assert_eq!(adds.len(), 3);
    let bot = adds.iter().find(|r| r["prompt"] == "bot").unwrap();
    assert_eq!(bot["file"], "prompts/bot.md");
    assert_eq!(bot["to"], id_of(BOT).as_str());
    assert_eq!(bot["from"], Value::Null);
    assert_eq!(bot["message"], "import");
    // Hidden files and folders are not prompts.
    let list = env.run(&["list"]).ok().stdout;
    assert!(
        !list.contains("draft") && !list.contains("config"),
        "{list}"
    );
    assert!(
        env.run(&["fsck"]).ok().stdout.contains("ok"),
        "the import leaves a clean store"
    );
    // No temp file left anywhere.
    for (path, _) in env.snapshot() {
        assert!(!path.to_string_lossy().contains(".tmp-"), "{path:?}");
    }
}

#[test]
fn reimport_records_only_what_changed() {
    let env = TestEnv::init();
    folder(&env);
    env.run(&["add", "--dir", "prompts", "--label", "staging"])
        .ok();
    env.write("prompts/bot.md", "You are a terse checkout assistant.\n");
    let run = env
        .run(&[
            "add", "--dir", "prompts", "-m", "terse", "--label", "staging",
        ])
        .ok();
    assert_eq!(
        run.stdout,
        "imported 3 files from prompts: 1 new versions (0 new prompts), 2 unchanged; 1 label moves (staging)\n"
    );
    let versions = records(&env, &["bot"]);
    let adds: Vec<&Value> = versions.iter().filter(|r| r["action"] == "add").collect();
    assert_eq!(adds.len(), 2);
    assert_eq!(adds[0]["from"], id_of(BOT).as_str(), "the chain continues");
    assert_eq!(
        env.run(&["show", "bot@staging~1"]).ok().stdout,
        BOT,
        "staging moved once more"
    );
    env.run(&["fsck"]).ok();
    // Nothing changed: nothing written at all.
    let before = env.snapshot();
    let run = env
        .run(&["add", "--dir", "prompts", "--label", "staging"])
        .ok();
    assert!(
        run.stdout
            .contains("0 new versions (0 new prompts), 3 unchanged; 0 label moves")
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn files_that_cannot_become_prompts_are_all_listed_and_nothing_is_written() {
    let env = TestEnv::init();
    folder(&env);
    env.write("prompts/Checkout.md", "uppercase\n");
    env.write("prompts/bot.txt", "same name as bot.md\n");
    env.write("prompts/empty.md", "");
    let before = env.snapshot();
    let run = env.run(&["add", "--dir", "prompts"]).fails(2);
    assert!(
        run.stderr.starts_with(
            "error: cannot import prompts: 3 of its files cannot become prompts, so nothing was imported:\n"
        ),
        "{}",
        run.stderr
    );
    for expected in [
        "  Checkout.md: invalid prompt name \"Checkout\": ",
        "  bot.txt: bot.md is also prompt bot; keep one of them",
        "  empty.md: the file is empty",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
    assert_eq!(env.snapshot(), before);

    // A protected label is refused before anything is written, too.
    std::fs::remove_file(env.root.join("prompts/Checkout.md")).unwrap();
    std::fs::remove_file(env.root.join("prompts/bot.txt")).unwrap();
    std::fs::remove_file(env.root.join("prompts/empty.md")).unwrap();
    env.run(&["add", "--dir", "prompts", "--label", "prod"])
        .fails(2);
    assert_eq!(env.snapshot(), before);

    // --dir takes neither NAME nor FILE, and must be a folder.
    env.run(&["add", "bot", "--dir", "prompts"]).fails(2);
    env.run(&["add", "--dir", "prompts/bot.md"]).fails(2);
    assert_eq!(env.snapshot(), before);
}

/// The import of `folder` with `--label staging` into a store that already
/// has `bot` (another version, on staging): every kind of write happens.
fn import_over_existing(env: &TestEnv, vars: &[(&str, &str)]) -> Run {
    let mut cmd = env.command(&[
        "add", "--dir", "prompts", "-m", "bulk", "--label", "staging",
    ]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    crate::support::run_cmd(&mut cmd)
}

fn existing_store() -> TestEnv {
    let env = TestEnv::init();
    env.add("bot", "An older bot.\n", &["--label", "staging"]);
    folder(&env);
    env
}

/// Where the OS has anonymous files (Linux `O_TMPFILE`) the import uses
/// them; `PROMPTREL_NAMED_TEMPS=1` makes it write temp files, as elsewhere.
const WRITE_MODES: [&[(&str, &str)]; 2] = [&[], &[("PROMPTREL_NAMED_TEMPS", "1")]];

#[test]
fn a_failure_at_any_step_leaves_the_store_as_it_was() {
    for (mode, step) in WRITE_MODES
        .iter()
        .flat_map(|m| (1..=5).map(move |s| (m, s)))
    {
        let env = existing_store();
        let before = env.snapshot();
        let fail_at = step.to_string();
        let mut vars = vec![("PROMPTREL_FAIL_AT", fail_at.as_str())];
        vars.extend_from_slice(mode);
        let run = import_over_existing(&env, &vars);
        let run = run.fails(2);
        assert!(
            run.stderr.contains("No space left"),
            "step {step} {mode:?}: {}",
            run.stderr
        );
        assert_eq!(
            env.snapshot(),
            before,
            "step {step} {mode:?}: store changed"
        );
    }
}

#[test]
fn a_crash_at_any_step_is_repaired_or_completed() {
    for (mode, step) in WRITE_MODES
        .iter()
        .flat_map(|m| (1..=5).map(move |s| (m, s)))
    {
        let env = existing_store();
        let crash_at = step.to_string();
        let mut vars = vec![("PROMPTREL_CRASH_AT", crash_at.as_str())];
        vars.extend_from_slice(mode);
        let run = import_over_existing(&env, &vars);
        assert_ne!(run.code, 0, "step {step}: the crash happened");
        // Readers see a consistent store: the old or the new bot@staging.
        let shown = env.run(&["show", "bot@staging"]).ok().stdout;
        assert!(
            shown == BOT || shown == "An older bot.\n",
            "step {step}: {shown:?}"
        );
        // fsck finds only crash leftovers, and --repair clears them.
        let fsck = env.run(&["fsck", "--json"]);
        let report: Value = serde_json::from_str(&fsck.stdout).unwrap();
        for problem in report["problems"].as_array().unwrap() {
            let kind = problem["kind"].as_str().unwrap();
            assert!(
                ["temp-file", "ref-behind-log"].contains(&kind),
                "step {step} {mode:?}: {problem}"
            );
        }
        env.run(&["fsck", "--repair"]).ok();
        env.run(&["fsck"]).ok();
        // Running the import again completes it.
        import_over_existing(&env, &[]).ok();
        assert_eq!(env.run(&["show", "bot@staging"]).ok().stdout, BOT);
        assert_eq!(
            env.run(&["show", "bot@staging~1"]).ok().stdout,
            "An older bot.\n"
        );
        assert_eq!(
            env.run(&["show", "support/refund-bot@staging"]).ok().stdout,
            REFUND
        );
        env.run(&["fsck"]).ok();
    }
}

/// Hundreds of prompts: one import, and `log` still merges all their logs
/// when the process may hold far fewer files open than there are logs.
#[cfg(unix)]
#[test]
fn many_prompts_import_and_log_within_a_small_open_file_limit() {
    let env = TestEnv::init();
    for i in 0..300 {
        env.write(
            &format!("many/team-{}/p{i:03}.md", i % 7),
            format!("prompt {i}\n"),
        );
    }
    // Enough files for the import to use every core: a failure at any step
    // still puts everything back, whichever thread created what.
    let before = env.snapshot();
    for step in [1, 3, 5] {
        let mut cmd = env.command(&["add", "--dir", "many", "--label", "staging"]);
        cmd.env("PROMPTREL_FAIL_AT", step.to_string());
        crate::support::run_cmd(&mut cmd).fails(2);
        assert_eq!(env.snapshot(), before, "step {step}: store changed");
    }
    let run = env
        .run(&["add", "--dir", "many", "--label", "staging"])
        .ok();
    assert!(
        run.stdout.contains("300 new versions (300 new prompts)"),
        "{}",
        run.stdout
    );
    // A shell lowers the limit, then becomes promptrel.
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" log -n 3")
        .arg(env!("CARGO_BIN_EXE_promptrel"))
        .current_dir(&env.root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    let run = crate::support::run_cmd(&mut sh).ok();
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
    env.run(&["fsck"]).ok();
}

/// `env.command(args)`, run by a shell that first sets the limit of open
/// files (soft and hard) to `limit`.
#[cfg(unix)]
fn with_file_limit(env: &TestEnv, limit: u32, args: &[&str]) -> std::process::Command {
    let inner = env.command(args);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(&env.root)
        .env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    sh
}

/// Where anonymous files run out (each stays open until it is linked in,
/// and the hard limit of open files is low), the rest of the files are
/// written as temp files: the import, its failure and its crash behave
/// the same.
#[cfg(unix)]
#[test]
fn an_import_past_the_open_file_limit_writes_the_rest_as_temp_files() {
    let env = TestEnv::init();
    for i in 0..300 {
        env.write(&format!("many/p{i:03}.md"), format!("prompt {i}\n"));
    }
    let args = ["add", "--dir", "many", "--label", "staging"];
    let before = env.snapshot();
    for step in 1..=5 {
        let mut cmd = with_file_limit(&env, 400, &args);
        cmd.env("PROMPTREL_FAIL_AT", step.to_string());
        crate::support::run_cmd(&mut cmd).fails(2);
        assert_eq!(env.snapshot(), before, "step {step}: store changed");
    }
    let mut cmd = with_file_limit(&env, 400, &args);
    cmd.env("PROMPTREL_CRASH_AT", "4");
    assert_ne!(crate::support::run_cmd(&mut cmd).code, 0);
    env.run(&["fsck", "--repair"]).ok();
    let run = crate::support::run_cmd(&mut with_file_limit(&env, 400, &args)).ok();
    assert!(
        run.stdout.contains("0 new versions") && run.stdout.contains("300 unchanged"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.run(&["show", "p299@staging"]).ok().stdout,
        "prompt 299\n"
    );
    env.run(&["fsck"]).ok();
}

/// Each file whose front matter does not parse is named in one warning with
/// its line and column, as a single `add` does; every file is still
/// stored exactly.
#[test]
fn invalid_front_matter_is_a_warning_per_file_and_stored_exactly() {
    let env = TestEnv::init();
    folder(&env);
    let flow = "---\nmodel: x\nconfig: {temperature: 0.2\n---\nHi {{ name }}\n";
    let shape = "---\ninput:\n  default: [a]\n---\nHello\n";
    let open = "---\nmodel: x\nHello\n";
    let fine = "---\nmodel: x\n---\nHello\n";
    env.write("prompts/support/bad.md", flow);
    env.write("prompts/shape.md", shape);
    env.write("prompts/open.txt", open);
    env.write("prompts/fine.md", fine);
    let run = env.run(&["add", "--dir", "prompts"]).ok();
    assert_eq!(
        run.stdout,
        "imported 7 files from prompts: 7 new versions (7 new prompts), 0 unchanged\n"
    );
    assert_data_eq!(
        run.stderr,
        str![[r#"
warning: prompts/open.txt (open): invalid front matter at line 1, column 1: the `---` line opens front matter that no later `---` line closes; the version is stored as is, but render will refuse it
warning: prompts/shape.md (shape): invalid front matter at line 3, column 12: input.default: invalid type: sequence, expected a map; the version is stored as is, but render will refuse it
warning: prompts/support/bad.md (support/bad): invalid front matter at line 4, column 1: did not find expected ',' or '}', while parsing a flow mapping at line 3, column 9; the version is stored as is, but render will refuse it

"#]]
    );
    for (name, text) in [
        ("support/bad", flow),
        ("shape", shape),
        ("open", open),
        ("fine", fine),
    ] {
        let shown = env.run(&["show", name]).ok().stdout;
        assert_eq!(shown, text, "{name}: stored exactly");
        assert_eq!(
            records(&env, &[name])[0]["to"],
            id_of(text).as_str(),
            "{name}"
        );
    }
    env.run(&["render", "shape"]).fails(2);

    // A folder given by another path names its files that way; a refused
    // import warns about nothing.
    env.write("prompts/support/bad.md", format!("{flow}v2\n"));
    let run = env.run(&["-C", "prompts", "add", "--dir", "."]).ok();
    assert!(
        run.stderr
            .contains("warning: ./support/bad.md (support/bad): invalid front matter at line 4"),
        "{}",
        run.stderr
    );
    env.write("prompts/Upper.md", "x\n");
    let run = env.run(&["add", "--dir", "prompts"]).fails(2);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}
