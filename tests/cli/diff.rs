//! `promptrel diff`: the unified diff a reviewer reads, and that `patch -p1`
//! and `git apply` apply byte for byte; `--stat`, `--exit-code` and colour.

use std::path::Path;
use std::process::{Command, Stdio};

use snapbox::{assert_data_eq, str};

use crate::support::{TestEnv, run_cmd};

// ----- helpers ---------------------------------------------------------------

fn short(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..12].to_string()
}

/// Add `bytes` as a new version of `name` (from standard input).
fn add(env: &TestEnv, name: &str, bytes: &[u8]) {
    env.run_stdin(&["add", name, "-"], bytes).ok();
}

/// Whether the `patch` program can be run.
fn have_patch() -> bool {
    Command::new("patch")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Run `program args` in `dir` with `input` on standard input, hermetically.
fn run_tool(program: &str, args: &[&str], dir: &Path, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        // Never let git find a repository above the scratch folder.
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Write `old` to a file named `name` in a fresh git-less folder, apply
/// `patch` with `program`, and check the file became `new`, byte for byte.
fn check_applies(program: &str, args: &[&str], name: &str, old: &[u8], new: &[u8], patch: &[u8]) {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("work");
    let file = dir.join(name);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, old).unwrap();
    let out = run_tool(program, args, &dir, patch);
    assert!(
        out.status.success(),
        "{program} {args:?} failed on {name}:\nstdout: {}\nstderr: {}\npatch:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(patch),
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        new,
        "{program}: {name} is not the new version after applying:\n{}",
        String::from_utf8_lossy(patch)
    );
    // No backup, reject or stray files: only the patched file is there.
    let files: Vec<_> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(&dir).unwrap().to_path_buf())
        .collect();
    assert_eq!(files, [Path::new(name)], "{program} left other files");
}

/// Store `old` then `new` as versions of `name`, diff them, and apply the
/// diff with `patch -p1` (when installed) and `git apply`.
fn roundtrip(name: &str, old: &[u8], new: &[u8]) -> String {
    let env = TestEnv::init();
    add(&env, name, old);
    add(&env, name, new);
    let old_rev = format!("{name}~1");
    let run = env.run(&["diff", &old_rev, name]).ok();
    let diff = run.stdout_bytes;
    let first_lines: Vec<&[u8]> = diff.split(|b| *b == b'\n').take(2).collect();
    assert_eq!(
        first_lines[0],
        format!("--- a/{name}\t{name}~1 {}", short(old)).as_bytes()
    );
    assert_eq!(
        first_lines[1],
        format!("+++ b/{name}\t{name} {}", short(new)).as_bytes()
    );

    if have_patch() {
        check_applies(
            "patch",
            &["-p1", "--batch", "--silent"],
            name,
            old,
            new,
            &diff,
        );
    } else {
        eprintln!(
            "note: `patch` is not installed (apt-get install -y patch); skipping the patch -p1 check for {name}"
        );
    }
    check_applies("git", &["apply", "-"], name, old, new, &diff);
    String::from_utf8(diff).unwrap()
}

fn has_ansi(text: &str) -> bool {
    text.contains('\x1b')
}

/// Remove `ESC [ ... m` sequences.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

const OLD: &str = "You are a helpful checkout assistant.\nExplain every option in detail.\nAlways list all shipping methods.\n";
const NEW: &str = "You are a helpful checkout assistant.\nAnswer in two sentences.\n";

/// A store with checkout-bot@prod = OLD and checkout-bot@staging = NEW.
fn prod_and_staging() -> TestEnv {
    let env = TestEnv::init();
    env.add("checkout-bot", OLD, &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "ship"])
        .ok();
    env.add("checkout-bot", NEW, &["--label", "staging"]);
    env
}

// ----- the unified diff --------------------------------------------------------

#[test]
fn diff_headers_name_both_revisions_and_their_short_ids() {
    let env = prod_and_staging();
    let run = env
        .run(&["diff", "checkout-bot@prod", "checkout-bot@staging"])
        .ok();
    assert_eq!(run.stderr, "");
    assert_data_eq!(
        &run.stdout,
        str![[r#"
--- a/checkout-bot	checkout-bot@prod 77839f17c603
+++ b/checkout-bot	checkout-bot@staging a314563b311a
@@ -1,3 +1,2 @@
 You are a helpful checkout assistant.
-Explain every option in detail.
-Always list all shipping methods.
+Answer in two sentences.

"#]]
    );
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "--- a/checkout-bot\tcheckout-bot@prod {}",
            short(OLD.as_bytes())
        )
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "+++ b/checkout-bot\tcheckout-bot@staging {}",
            short(NEW.as_bytes())
        )
    );

    // Any revision form names itself in the header; a prefix is shown lowercased.
    let prefix = short(OLD.as_bytes())[..6].to_uppercase();
    let run = env
        .run(&["diff", &format!("checkout-bot@{prefix}"), "checkout-bot"])
        .ok();
    assert!(
        run.stdout.starts_with(&format!(
            "--- a/checkout-bot\tcheckout-bot@{} {}\n+++ b/checkout-bot\tcheckout-bot {}\n",
            prefix.to_lowercase(),
            short(OLD.as_bytes()),
            short(NEW.as_bytes())
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn a_simple_change_applies() {
    let diff = roundtrip("checkout-bot", OLD.as_bytes(), NEW.as_bytes());
    assert!(
        diff.contains("\n-Explain every option in detail.\n"),
        "{diff}"
    );
}

#[test]
fn a_missing_final_newline_on_the_old_side_applies() {
    let (old, new) = (b"one\ntwo\nthree", b"one\ntwo\nthree\n");
    let diff = roundtrip("p", old, new);
    // Exact bytes (snapbox would normalise the backslash as a path separator).
    assert_eq!(
        diff,
        format!(
            "--- a/p\tp~1 {}\n+++ b/p\tp {}\n@@ -1,3 +1,3 @@\n one\n two\n-three\n\\ No newline at end of file\n+three\n",
            short(old),
            short(new)
        )
    );
}

#[test]
fn a_missing_final_newline_on_the_new_side_applies() {
    let (old, new) = (b"one\ntwo\nthree\n", b"one\nTWO\nthree");
    let diff = roundtrip("p", old, new);
    assert_eq!(
        diff,
        format!(
            "--- a/p\tp~1 {}\n+++ b/p\tp {}\n@@ -1,3 +1,3 @@\n one\n-two\n-three\n+TWO\n+three\n\\ No newline at end of file\n",
            short(old),
            short(new)
        )
    );
}

#[test]
fn a_missing_final_newline_on_both_sides_applies() {
    roundtrip("p", b"one\ntwo\nthree", b"one\nTWO\nthree");
    let diff = roundtrip("p", b"first\nsame last", b"changed first\nsame last");
    assert!(
        diff.ends_with(" same last\n\\ No newline at end of file\n"),
        "{diff}"
    );
    // A one-line prompt without any newline.
    roundtrip("p", b"just one line", b"just another line");
}

#[test]
fn a_namespaced_prompt_applies_to_its_path() {
    let diff = roundtrip(
        "support/refund-bot",
        b"Refunds only.\nBe kind.\n",
        b"Refunds only.\nBe very kind.\n",
    );
    assert!(diff.starts_with("--- a/support/refund-bot\t"), "{diff}");
    assert!(diff.contains("\n+++ b/support/refund-bot\t"), "{diff}");
    roundtrip("a/b/c/deep.bot", b"x\n", b"y\n");
}

#[test]
fn crlf_lines_apply() {
    roundtrip("p", b"one\r\ntwo\r\nthree\r\n", b"one\r\nTWO\r\nthree\r\n");
}

#[test]
fn a_large_multi_hunk_change_applies() {
    let old: String = (1..=300)
        .map(|i| format!("line {i}: keep the answer short and friendly\n"))
        .collect();
    let mut new_lines: Vec<String> = old.lines().map(|l| format!("{l}\n")).collect();
    new_lines[4] = "line 5: CHANGED\n".into();
    new_lines.insert(60, "an inserted line\n".into());
    new_lines.insert(61, "and another\n".into());
    new_lines.remove(150);
    new_lines.remove(150);
    new_lines[220] = "line 220-ish: CHANGED\n".into();
    new_lines.truncate(new_lines.len() - 3);
    new_lines.push("a new ending\n".into());
    let new: String = new_lines.concat();

    let diff = roundtrip("big", old.as_bytes(), new.as_bytes());
    let hunks = diff.lines().filter(|l| l.starts_with("@@ ")).count();
    assert_eq!(hunks, 5, "{diff}");
    assert!(diff.lines().any(|l| l == "@@ -2,7 +2,7 @@"), "{diff}");
}

// ----- identical and different -------------------------------------------------

#[test]
fn identical_versions_print_nothing_and_exit_0() {
    let env = TestEnv::init();
    env.add("p", "Same.\n", &["--label", "staging"]);
    env.run(&["label", "p", "dev", "staging"]).ok();
    for args in [
        &["diff", "p@staging", "p@dev"][..],
        &["diff", "p@staging", "p@dev", "--exit-code"],
        &["diff", "p", "p@dev", "--stat", "--exit-code"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr, "", "{args:?}");
    }
}

#[test]
fn different_versions_exit_1_with_exit_code_and_still_print() {
    let env = prod_and_staging();
    let plain = env
        .run(&["diff", "checkout-bot@prod", "checkout-bot@staging"])
        .ok();
    let run = env.run(&[
        "diff",
        "checkout-bot@prod",
        "checkout-bot@staging",
        "--exit-code",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stdout, plain.stdout,
        "the diff is printed as without --exit-code"
    );
    assert_eq!(run.stderr, "");
    let run = env.run(&[
        "diff",
        "checkout-bot@prod",
        "checkout-bot@staging",
        "--stat",
        "--exit-code",
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("1 file changed"), "{}", run.stdout);
}

#[test]
fn diff_of_an_unknown_revision_is_an_error() {
    let env = prod_and_staging();
    let run = env
        .run(&[
            "diff",
            "checkout-bot@prod",
            "checkout-bot@qa",
            "--exit-code",
        ])
        .fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: checkout-bot has no label "qa"
hint: `promptrel list` shows the labels of checkout-bot

"#]]
    );
}

// ----- --stat ------------------------------------------------------------------

#[test]
fn stat_summarises_changed_lines() {
    let env = prod_and_staging();
    assert_data_eq!(
        env.run(&[
            "diff",
            "checkout-bot@prod",
            "checkout-bot@staging",
            "--stat"
        ])
        .ok()
        .stdout,
        str![[r#"
 checkout-bot | 3 +--
 1 file changed, 1 insertion(+), 2 deletions(-)

"#]]
    );
    // Singular words for one line each way.
    add(&env, "p", b"a\nb\nc\n");
    add(&env, "p", b"a\nB\nc\n");
    assert_data_eq!(
        env.run(&["diff", "p~1", "p", "--stat"]).ok().stdout,
        str![[r#"
 p | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

"#]]
    );
    // Only insertions: like git, the zero deletions are left out.
    add(&env, "p", b"a\nB\nc\nd\ne\n");
    assert_data_eq!(
        env.run(&["diff", "p~1", "p", "--stat"]).ok().stdout,
        str![[r#"
 p | 2 ++
 1 file changed, 2 insertions(+)

"#]]
    );
    // Two different prompts.
    assert_data_eq!(
        env.run(&["diff", "checkout-bot", "p", "--stat"])
            .ok()
            .stdout,
        str![[r#"
 checkout-bot => p | 7 +++++--
 1 file changed, 5 insertions(+), 2 deletions(-)

"#]]
    );
}

// ----- colour ------------------------------------------------------------------

#[test]
fn color_always_paints_removed_lines_red_and_added_lines_green() {
    let env = prod_and_staging();
    let plain = env
        .run(&["diff", "checkout-bot@prod", "checkout-bot@staging"])
        .ok()
        .stdout;
    // TestEnv sets NO_COLOR=1; --color always wins over it.
    let run = env
        .run(&[
            "diff",
            "checkout-bot@prod",
            "checkout-bot@staging",
            "--color",
            "always",
        ])
        .ok();
    let red = "\x1b[31m";
    let green = "\x1b[32m";
    assert!(
        run.stdout
            .contains(&format!("{red}-Explain every option in detail.")),
        "{:?}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("{green}+Answer in two sentences.")),
        "{:?}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\x1b[1m--- a/checkout-bot"),
        "headers are bold: {:?}",
        run.stdout
    );
    assert_eq!(strip_ansi(&run.stdout), plain, "colour only adds escapes");

    let stat = env
        .run(&[
            "diff",
            "checkout-bot@prod",
            "checkout-bot@staging",
            "--stat",
            "--color=always",
        ])
        .ok();
    assert!(
        stat.stdout.contains(&format!("{green}+")),
        "{:?}",
        stat.stdout
    );
    assert!(
        stat.stdout.contains(&format!("{red}--")),
        "{:?}",
        stat.stdout
    );
}

#[test]
fn no_colour_with_never_or_no_color_and_a_pipe() {
    let env = prod_and_staging();
    let args = ["diff", "checkout-bot@prod", "checkout-bot@staging"];
    // The TestEnv default: --color auto, NO_COLOR=1, stdout a pipe.
    assert!(!has_ansi(&env.run(&args).ok().stdout));
    // --color never, even when forced by the environment.
    let run = run_cmd(
        env.command(&[&args[..], &["--color", "never"]].concat())
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1"),
    )
    .ok();
    assert!(!has_ansi(&run.stdout), "{:?}", run.stdout);
    // auto on a pipe, with no colour variables at all.
    let run = run_cmd(env.command(&args).env_remove("NO_COLOR")).ok();
    assert!(!has_ansi(&run.stdout), "{:?}", run.stdout);
}

#[test]
fn clicolor_force_colours_a_pipe_under_color_auto() {
    let env = prod_and_staging();
    let args = [
        "diff",
        "checkout-bot@prod",
        "checkout-bot@staging",
        "--color",
        "auto",
    ];
    let run = run_cmd(
        env.command(&args)
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1"),
    )
    .ok();
    assert!(run.stdout.contains("\x1b[31m-Explain"), "{:?}", run.stdout);
    assert!(run.stdout.contains("\x1b[32m+Answer"), "{:?}", run.stdout);
    // anstream gives NO_COLOR precedence over CLICOLOR_FORCE.
    let run = run_cmd(env.command(&args).env("CLICOLOR_FORCE", "1")).ok();
    assert!(!has_ansi(&run.stdout), "{:?}", run.stdout);
}

// ----- binary and cross-prompt ---------------------------------------------------

#[test]
fn non_utf8_versions_are_binary() {
    let env = TestEnv::init();
    add(&env, "p", b"caf\xe9\n");
    add(&env, "p", b"caf\xc3\xa9\n");
    let run = env.run(&["diff", "p~1", "p"]).ok();
    assert_eq!(run.stdout, "Binary files a/p and b/p differ\n");
    let run = env.run(&["diff", "p", "p~1", "--exit-code"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "Binary files a/p and b/p differ\n");
    assert_data_eq!(
        env.run(&["diff", "p~1", "p", "--stat"]).ok().stdout,
        str![[r#"
 p | Bin 5 -> 6 bytes
 1 file changed

"#]]
    );
    // Identical binary versions: nothing.
    let run = env.run(&["diff", "p~1", "p~1", "--exit-code"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
}

#[test]
fn diff_across_two_prompts() {
    let env = TestEnv::init();
    env.add("checkout-bot", OLD, &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "ship"])
        .ok();
    env.add("support/refund-bot", NEW, &[]);
    let run = env
        .run(&["diff", "checkout-bot@prod", "support/refund-bot"])
        .ok();
    assert_data_eq!(
        &run.stdout,
        str![[r#"
--- a/checkout-bot	checkout-bot@prod 77839f17c603
+++ b/support/refund-bot	support/refund-bot a314563b311a
@@ -1,3 +1,2 @@
 You are a helpful checkout assistant.
-Explain every option in detail.
-Always list all shipping methods.
+Answer in two sentences.

"#]]
    );
    // git apply takes the file name from `+++` when the names differ, so the
    // diff applies to a file named like the new prompt.
    check_applies(
        "git",
        &["apply", "-"],
        "support/refund-bot",
        OLD.as_bytes(),
        NEW.as_bytes(),
        run.stdout.as_bytes(),
    );
}
