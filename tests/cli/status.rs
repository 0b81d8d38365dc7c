//! `promptrel status [--check] [--json]`: prompt files changed since `add`,
//! labels at odds with their changelog, and what is waiting for promotion.
//! Every run also proves that status changed nothing in the store.
//!
//! The expected reports are inline snapshots; refresh them with
//! `SNAPSHOTS=overwrite cargo test --test cli status` and read every one.

use serde_json::Value;
use snapbox::{assert_data_eq, str};

use crate::support::{Run, TestEnv};

const V1: &str = "You are a checkout assistant.\nExplain every option in detail.\n";
const V2: &str = "You are a checkout assistant.\nAnswer in two sentences.\n";
const V3: &str = "You are a checkout assistant.\nAnswer in one sentence.\n";
const REFUND: &str = "Refund politely.\n";

const HINT: &str = "hint: do what each `next:` says, then run `promptrel status --check` again\n";

fn id_of(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// checkout-bot added from prompts/checkout.md and released (staging and
/// prod on V1); support/refund-bot added from standard input, on staging.
fn store() -> TestEnv {
    let env = TestEnv::init();
    env.write("prompts/checkout.md", V1);
    add_file(
        &env,
        "checkout-bot",
        "prompts/checkout.md",
        &["--label", "staging"],
    );
    env.promote("checkout-bot", "staging", "prod", "release");
    env.add("support/refund-bot", REFUND, &["--label", "staging"]);
    env
}

fn add_file(env: &TestEnv, name: &str, file: &str, extra: &[&str]) {
    let mut args = vec!["add", name, file, "-m", "edit"];
    args.extend_from_slice(extra);
    env.run(&args).ok();
}

/// Run status; it must never panic or change a byte of the store.
fn status(env: &TestEnv, args: &[&str]) -> Run {
    let before = env.snapshot();
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    let run = env.run(&all);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before, "status changed the store");
    run
}

/// `status --check` that finds nothing needing attention.
#[track_caller]
fn check_passes(env: &TestEnv) -> Run {
    let run = status(env, &["--check"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stderr, "");
    run
}

/// `status --check` that fails: the report on stdout, exit 1, and the short
/// message on stderr; plain `status` prints the same report and exits 0.
#[track_caller]
fn check_fails(env: &TestEnv, attention: usize) -> Run {
    let run = status(env, &["--check"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let error = if attention == 1 {
        "error: 1 finding needs attention\n".to_string()
    } else {
        format!("error: {attention} findings need attention\n")
    };
    assert_eq!(run.stderr, error + HINT);
    let plain = status(env, &[]);
    assert_eq!(plain.code, 0);
    assert_eq!(plain.stderr, "");
    assert_eq!(plain.stdout, run.stdout);
    run
}

fn json(env: &TestEnv) -> Value {
    let run = status(env, &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// Each finding as `kind prompt[@label]`, for tests that need no wording.
fn kinds(env: &TestEnv) -> Vec<String> {
    json(env)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match f["label"].as_str() {
            Some(label) => format!(
                "{} {}@{label}",
                f["kind"].as_str().unwrap(),
                f["prompt"].as_str().unwrap()
            ),
            None => format!(
                "{} {}",
                f["kind"].as_str().unwrap(),
                f["prompt"].as_str().unwrap()
            ),
        })
        .collect()
}

fn write_ref(env: &TestEnv, name: &str, label: &str, text: &str) {
    std::fs::write(env.store().join(format!("refs/{name}/@{label}")), text).unwrap();
}

// ----- nothing to report --------------------------------------------------------

#[test]
fn a_clean_store_has_nothing_to_report() {
    let env = TestEnv::init();
    assert_data_eq!(
        check_passes(&env).stdout,
        str![[r#"
checked 0 prompts, 0 labels: nothing to report

"#]]
    );
    let env = store();
    assert_data_eq!(
        check_passes(&env).stdout,
        str![[r#"
checked 2 prompts, 3 labels: nothing to report

"#]]
    );
    assert_eq!(status(&env, &[]).ok().stdout, check_passes(&env).stdout);
}

#[test]
fn outside_a_store_is_one_error() {
    let env = TestEnv::new();
    let run = env.run(&["status", "--check"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: not in a promptrel store (no .promptrel in [..] or any parent folder)
hint: run `promptrel init` to create a store here, or use -C DIR / PROMPTREL_DIR

"#]]
    );
    let env = store();
    env.run(&["status", "--bogus"]).fails(2);
    std::fs::write(env.store().join("config.yaml"), "format: 99\n").unwrap();
    status(&env, &["--check"]).fails(2);
}

// ----- source files -------------------------------------------------------------

#[test]
fn an_edited_source_file_needs_attention_until_it_is_added() {
    let env = store();
    env.write("prompts/checkout.md", V2);
    let run = check_fails(&env, 1);
    assert_data_eq!(
        run.stdout,
        str![[r#"
needs attention:
  prompts/checkout.md has changed since checkout-bot's newest version e7ce86294744 [source-changed]
    next: promptrel add checkout-bot prompts/checkout.md -m "…"

checked 2 prompts, 3 labels: 1 needs attention

"#]]
    );
    // Doing what `next:` says settles it; what is left is information.
    add_file(
        &env,
        "checkout-bot",
        "prompts/checkout.md",
        &["--label", "staging"],
    );
    assert_data_eq!(
        check_passes(&env).stdout,
        str![[r#"
for your information:
  checkout-bot@staging has moved since its last promotion to prod (staging afab22d28124, prod e7ce86294744) [unpromoted]
    next: `promptrel diff checkout-bot@prod checkout-bot@staging`, then `promptrel promote checkout-bot staging prod -m "…"`

checked 2 prompts, 3 labels: 1 note

"#]]
    );
    // Back to an older version's content is still a change from the newest.
    env.write("prompts/checkout.md", V1);
    assert_eq!(
        kinds(&env),
        [
            "source-changed checkout-bot",
            "unpromoted checkout-bot@staging"
        ]
    );
}

#[test]
fn a_deleted_source_file_is_information() {
    let env = store();
    std::fs::remove_file(env.root.join("prompts/checkout.md")).unwrap();
    assert_data_eq!(
        check_passes(&env).stdout,
        str![[r#"
for your information:
  prompts/checkout.md is gone; checkout-bot's newest version e7ce86294744 was added from it [source-missing]
    next: restore it with `promptrel show checkout-bot > prompts/checkout.md`, or add checkout-bot from where it is now

checked 2 prompts, 3 labels: 1 note

"#]]
    );
    // A folder in its place is no source file either.
    std::fs::create_dir(env.root.join("prompts/checkout.md")).unwrap();
    assert_eq!(kinds(&env), ["source-missing checkout-bot"]);
}

#[test]
fn versions_added_from_standard_input_are_never_reported() {
    let env = store();
    // A file that happens to share the prompt's name is not its source.
    env.write("support/refund-bot", "something else\n");
    check_passes(&env);
    // Once the newest version comes from standard input, the file it was
    // added from before no longer speaks for the prompt.
    env.add("checkout-bot", V2, &["-m", "from a pipe"]);
    env.write("prompts/checkout.md", V3);
    assert_data_eq!(
        check_passes(&env).stdout,
        str![[r#"
checked 2 prompts, 3 labels: nothing to report

"#]]
    );
    // Added from the file again, it is tracked again.
    add_file(&env, "checkout-bot", "prompts/checkout.md", &[]);
    env.write("prompts/checkout.md", V1);
    assert_eq!(kinds(&env), ["source-changed checkout-bot"]);
}

#[test]
fn line_endings_alone_are_information() {
    let env = store();
    // What git's core.autocrlf does to a checkout on Windows.
    env.write("prompts/checkout.md", V1.replace('\n', "\r\n"));
    assert_data_eq!(
        check_passes(&env).stdout,
        str![[r#"
for your information:
  prompts/checkout.md differs from checkout-bot's newest version e7ce86294744 only in line endings (git's core.autocrlf?) [source-line-endings]
    next: mark prompt files `-text` in .gitattributes, or store these bytes: `promptrel add checkout-bot prompts/checkout.md -m "…"`

checked 2 prompts, 3 labels: 1 note

"#]]
    );
    // Any other change with it is a change.
    env.write("prompts/checkout.md", V2.replace('\n', "\r\n"));
    assert_eq!(kinds(&env), ["source-changed checkout-bot"]);
}

#[test]
fn suggested_commands_quote_paths_and_name_the_workdir() {
    let env = TestEnv::init();
    env.write("my prompts/it's.md", V1);
    add_file(&env, "bot", "my prompts/it's.md", &[]);
    env.write("my prompts/it's.md", V2);
    let findings = json(&env)["findings"].clone();
    assert_eq!(findings[0]["path"], "my prompts/it's.md");
    assert_eq!(
        findings[0]["next"],
        r#"promptrel add bot 'my prompts/it'\''s.md' -m "…""#
    );
    // From a subfolder, the report says what paths are relative to.
    std::fs::create_dir(env.root.join("sub")).unwrap();
    let run = env.run(&["-C", "sub", "status"]).ok();
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("(paths are relative to ")
            && first.ends_with(", the folder holding .promptrel)"),
        "{}",
        run.stdout
    );
}

// ----- labels -------------------------------------------------------------------

#[test]
fn a_ref_with_git_conflict_markers_needs_attention() {
    let env = store();
    env.write("prompts/checkout.md", V2);
    add_file(
        &env,
        "checkout-bot",
        "prompts/checkout.md",
        &["--label", "staging"],
    );
    // What `git merge` leaves when both branches moved staging.
    write_ref(
        &env,
        "checkout-bot",
        "staging",
        &format!(
            "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> feature\n",
            id_of(V2),
            id_of(V3)
        ),
    );
    // The other labels and prompts are still checked.
    env.write("prompts/checkout.md", V3);
    let run = check_fails(&env, 2);
    assert_data_eq!(
        run.stdout,
        str![[r#"
needs attention:
  prompts/checkout.md has changed since checkout-bot's newest version afab22d28124 [source-changed]
    next: promptrel add checkout-bot prompts/checkout.md -m "…"
  checkout-bot@staging has an unresolved git merge conflict: two branches moved it, to afab22d28124 and b82ac6c739f5 [bad-ref]
    next: choose one with `promptrel label checkout-bot staging ID -m "…"` (ID: afab22d28124 or b82ac6c739f5); `promptrel fsck` shows who moved it where

checked 2 prompts, 3 labels: 2 need attention

"#]]
    );
    let bad = &json(&env)["findings"][1];
    assert_eq!(bad["kind"], "bad-ref");
    assert_eq!(bad["path"], ".promptrel/refs/checkout-bot/@staging");
    // A symbolic link in a ref's place is refused the same way.
    #[cfg(unix)]
    {
        let reference = env.store().join("refs/support/refund-bot/@staging");
        let elsewhere = env.outside().join("ref");
        std::fs::copy(&reference, &elsewhere).unwrap();
        std::fs::remove_file(&reference).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &reference).unwrap();
        assert!(kinds(&env).contains(&"bad-ref support/refund-bot@staging".to_string()));
    }
}

#[test]
fn a_hand_edited_ref_that_disagrees_with_its_log_needs_attention() {
    let env = store();
    env.add("checkout-bot", V2, &["-m", "second"]);
    env.add("checkout-bot", V3, &["-m", "third"]);
    // Neither the log's last value nor the one before it.
    write_ref(&env, "checkout-bot", "staging", &format!("{}\n", id_of(V3)));
    write_ref(&env, "checkout-bot", "prod", &format!("{}\n", id_of(V2)));
    let run = check_fails(&env, 2);
    assert_data_eq!(
        run.stdout,
        str![[r#"
needs attention:
  checkout-bot@prod points to afab22d28124 but its changelog ends at e7ce86294744 (edited by hand, or a merge kept one side of the ref and the other of the log) [ref-disagrees]
    next: `promptrel rollback checkout-bot prod --to e7ce86294744 -m "…"` returns it to what the changelog says, as a logged move; move it on from there
  checkout-bot@staging points to b82ac6c739f5 but its changelog ends at e7ce86294744 (edited by hand, or a merge kept one side of the ref and the other of the log) [ref-disagrees]
    next: `promptrel label checkout-bot staging e7ce86294744 -m "…"` returns it to what the changelog says, as a logged move; move it on from there

checked 2 prompts, 3 labels: 2 need attention

"#]]
    );
    // The suggested commands settle both (prod is protected: rollback --to).
    let short = &id_of(V1)[..12];
    env.run(&[
        "rollback",
        "checkout-bot",
        "prod",
        "--to",
        short,
        "-m",
        "settle",
    ])
    .ok();
    env.run(&["label", "checkout-bot", "staging", short, "-m", "settle"])
        .ok();
    check_passes(&env);
    // Each settling move records its value after the changelog's, so the
    // label's log is a chain again and fsck is clean too.
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

#[test]
fn a_ref_one_move_behind_its_log_suggests_fsck_repair() {
    let env = store();
    env.add("checkout-bot", V2, &["-m", "second", "--label", "staging"]);
    // A crash between the log append and the ref rename.
    write_ref(&env, "checkout-bot", "staging", &format!("{}\n", id_of(V1)));
    let run = check_fails(&env, 1);
    assert_data_eq!(
        run.stdout,
        str![[r#"
needs attention:
  checkout-bot@staging is one move behind its changelog (an interrupted write): it holds e7ce86294744, the changelog moved it to afab22d28124 [ref-behind-log]
    next: promptrel fsck --repair

checked 2 prompts, 3 labels: 1 needs attention

"#]]
    );
    env.run(&["fsck", "--repair"]).ok();
    assert_eq!(kinds(&env), ["unpromoted checkout-bot@staging"]);
}

#[test]
fn unlogged_labels_missing_objects_and_damaged_logs_need_attention() {
    let env = store();
    // A ref written by hand, with no changelog.
    write_ref(&env, "checkout-bot", "canary", &format!("{}\n", id_of(V1)));
    // An object that was never committed.
    let refund = id_of(REFUND);
    std::fs::remove_file(
        env.store()
            .join("objects")
            .join(&refund[..2])
            .join(&refund[2..]),
    )
    .unwrap();
    assert_eq!(
        kinds(&env),
        [
            "unlogged-label checkout-bot@canary",
            "missing-object support/refund-bot@staging",
        ]
    );
    // A damaged record of a label's log is reported once, by its label,
    // though it also stops the prompt's source check.
    let record = env.log_file("checkout-bot", "@prod", 1);
    std::fs::write(&record, "garbage\n").unwrap();
    let findings = json(&env)["findings"].clone();
    let damaged: Vec<&Value> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "damaged-log")
        .collect();
    assert_eq!(damaged.len(), 1, "{findings:#}");
    assert_eq!(damaged[0]["label"], "prod");
    let shown = format!(
        ".promptrel/logs/checkout-bot@prod/{}",
        record.file_name().unwrap().to_string_lossy()
    );
    assert_eq!(damaged[0]["path"], shown.as_str());
    check_fails(&env, 3);
    // A damaged record of a prompt's versions.
    let record = env.log_file("support/refund-bot", "+versions", 1);
    std::fs::write(&record, "garbage\n").unwrap();
    let findings = json(&env)["findings"].clone();
    // The prompt's own findings come before its labels'.
    let versions = &findings[2];
    assert_eq!(versions["kind"], "damaged-log", "{findings:#}");
    assert_eq!(versions["prompt"], "support/refund-bot");
    assert_eq!(versions["label"], Value::Null);
    let shown = format!(
        ".promptrel/logs/support/refund-bot+versions/{}",
        record.file_name().unwrap().to_string_lossy()
    );
    assert_eq!(versions["path"], shown.as_str());
    check_fails(&env, 4);
}

// ----- information: promotion ---------------------------------------------------

#[test]
fn unpromoted_and_rolled_back_labels_are_information() {
    let env = store();
    env.add("checkout-bot", V2, &["-m", "second", "--label", "staging"]);
    assert_eq!(kinds(&env), ["unpromoted checkout-bot@staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "ship"])
        .ok();
    assert_eq!(kinds(&env), Vec::<String>::new());
    env.run(&["rollback", "checkout-bot", "prod", "-m", "too terse"])
        .ok();
    assert_data_eq!(
        check_passes(&env).stdout,
        str![[r#"
for your information:
  checkout-bot@prod was rolled back to e7ce86294744; staging, which it was promoted from, still holds afab22d28124 [rolled-back]
    next: promptrel log checkout-bot --label prod

checked 2 prompts, 3 labels: 1 note

"#]]
    );
    // Once staging moves on, it is ahead again.
    env.add("checkout-bot", V3, &["-m", "third", "--label", "staging"]);
    assert_eq!(kinds(&env), ["unpromoted checkout-bot@staging"]);
    // A label set directly (not promoted) is compared with nothing.
    env.run(&["label", "checkout-bot", "canary", "prod"]).ok();
    assert_eq!(kinds(&env), ["unpromoted checkout-bot@staging"]);
}

// ----- JSON ---------------------------------------------------------------------

#[test]
fn json_has_a_versioned_documented_shape() {
    let env = store();
    env.write("prompts/checkout.md", V2);
    env.add(
        "support/refund-bot",
        "Refund at once.\n",
        &["--label", "staging"],
    );
    env.promote("support/refund-bot", "staging", "prod", "ship");
    env.add(
        "support/refund-bot",
        "Refund gladly.\n",
        &["--label", "staging"],
    );
    let doc = json(&env);
    assert_eq!(
        doc,
        serde_json::json!({
            "format": 1,
            "prompts": 2,
            "labels": 4,
            "attention": 1,
            "findings": [
                {
                    "kind": "source-changed",
                    "severity": "attention",
                    "prompt": "checkout-bot",
                    "label": null,
                    "path": "prompts/checkout.md",
                    "message": format!("prompts/checkout.md has changed since checkout-bot's newest version {}", &id_of(V1)[..12]),
                    "next": "promptrel add checkout-bot prompts/checkout.md -m \"…\"",
                },
                {
                    "kind": "unpromoted",
                    "severity": "info",
                    "prompt": "support/refund-bot",
                    "label": "staging",
                    "path": null,
                    "message": format!(
                        "support/refund-bot@staging has moved since its last promotion to prod (staging {}, prod {})",
                        &id_of("Refund gladly.\n")[..12],
                        &id_of("Refund at once.\n")[..12]
                    ),
                    "next": "`promptrel diff support/refund-bot@prod support/refund-bot@staging`, then `promptrel promote support/refund-bot staging prod -m \"…\"`",
                },
            ],
        })
    );
    // --check with --json: the same document, exit 1, the message on stderr.
    let run = status(&env, &["--json", "--check"]);
    assert_eq!(run.code, 1);
    assert_eq!(serde_json::from_str::<Value>(&run.stdout).unwrap(), doc);
    assert_eq!(
        run.stderr,
        format!("error: 1 finding needs attention\n{HINT}")
    );
}

/// `status --check | head -1`: the reader goes away mid-report. The check
/// still fails (a closed pipe ends the report, not the verdict), quietly.
#[test]
fn a_closed_pipe_does_not_turn_a_failed_check_into_a_pass() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let env = TestEnv::init();
    // Long paths make a long report from few prompts (each add costs syncs).
    let dir = format!("prompts/{}", "long-folder-name-".repeat(5));
    for i in 0..300 {
        env.write(&format!("{dir}/bot-{i}.md"), V1);
    }
    env.run(&["add", "--dir", "prompts"]).ok();
    for i in 0..300 {
        env.write(&format!("{dir}/bot-{i}.md"), V2);
    }
    let mut child = env
        .command(&["status", "--check"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first, "needs attention:\n");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!("error: 300 findings need attention\n{HINT}")
    );
    // The report really was larger than a pipe's buffer.
    assert!(status(&env, &[]).stdout.len() > 128 * 1024);
}
