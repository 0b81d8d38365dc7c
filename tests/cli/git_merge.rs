//! Git is how teams share a store (issue 5). Each test commits a store that
//! promptrel wrote to a real git repository, merges branches with the real
//! `git`, and checks what the team sees: the merge's exit code and conflict
//! lines, the files on disk, and `promptrel fsck`/`show`/`list`/`log` after it.
//!
//! Two merges are checked wherever a merge happens: `git merge` as a person
//! runs it, and a hosting site's merge button, emulated with
//! `git merge-tree --write-tree` (git 2.38+): it merges two commits without
//! a working tree, so nothing from a local checkout (attributes, merge
//! drivers such as `merge=union`) can help it. The store relies on neither.
//!
//! Git runs with no user or system configuration and a fixed author. Where
//! `git` is not installed the tests print a note and pass; where it is older
//! than 2.38 only the server-side merge is skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use snapbox::{assert_data_eq, str};

use crate::support::{Run, TestEnv, finish, run_cmd, shard_dir, snapshot_dir};

// ----- git ----------------------------------------------------------------------

/// `git --version` as (major, minor); `None` when git is not installed.
fn git_version() -> Option<(u32, u32)> {
    static VERSION: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = Command::new("git").arg("--version").output().ok()?;
        // "git version 2.47.3", "git version 2.39.2.windows.1"
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut numbers = text.split_whitespace().nth(2)?.split('.');
        Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
    })
}

/// `git args` in `dir`, hermetic: no global or system configuration, a
/// fixed author and date, English messages.
fn git_command(env: &TestEnv, dir: &Path, args: &[&str]) -> Command {
    // An empty file rather than /dev/null, which Windows does not have.
    let global = env.outside().join("empty-gitconfig");
    if !global.exists() {
        std::fs::write(&global, "").unwrap();
    }
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.outside())
        .env("GIT_CONFIG_GLOBAL", &global)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-02T10:00:00Z")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_DATE", "2026-01-02T10:00:00Z")
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    if cfg!(windows) {
        for var in ["SYSTEMROOT", "TEMP", "TMP", "USERPROFILE"] {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
    }
    cmd
}

/// `git args` in the repository (`env.root`).
fn git(env: &TestEnv, args: &[&str]) -> Run {
    git_in(env, &env.root, args)
}

fn git_in(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    finish(git_command(env, dir, args).output().unwrap())
}

/// `git args`, which must succeed; its stdout.
#[track_caller]
fn git_ok(env: &TestEnv, args: &[&str]) -> String {
    let run = git(env, args);
    assert_eq!(run.code, 0, "git {args:?}\n{}{}", run.stdout, run.stderr);
    run.stdout
}

/// A store committed to a fresh git repository on branch `main`; `None`,
/// with a note, when git is not installed.
fn repo(test: &str) -> Option<TestEnv> {
    if git_version().is_none() {
        eprintln!("note: git is not installed; skipping {test}");
        return None;
    }
    let env = TestEnv::init();
    git_ok(&env, &["init", "-q"]);
    // `init -b main` needs git 2.28; this works with any.
    git_ok(&env, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    commit_all(&env, "promptrel init");
    Some(env)
}

/// Commit everything; afterwards nothing is left untracked or modified
/// (only the lock, which `.promptrel/.gitignore` keeps out).
#[track_caller]
fn commit_all(env: &TestEnv, message: &str) {
    git_ok(env, &["add", "-A"]);
    git_ok(env, &["commit", "-q", "--allow-empty", "-m", message]);
    assert_eq!(git_ok(env, &["status", "--porcelain"]), "", "all committed");
}

/// Start branch `name` from `from`.
fn branch(env: &TestEnv, name: &str, from: &str) {
    git_ok(env, &["checkout", "-q", "-b", name, from]);
}

fn checkout(env: &TestEnv, name: &str) {
    git_ok(env, &["checkout", "-q", name]);
}

/// `git merge` of `branch` into the current branch, as a person runs it.
fn merge(env: &TestEnv, branch: &str) -> Run {
    git(env, &["merge", "--no-edit", "--no-ff", branch])
}

/// The paths `git merge` left conflicted.
fn conflicted(env: &TestEnv) -> Vec<String> {
    git_ok(env, &["diff", "--name-only", "--diff-filter=U"])
        .lines()
        .map(String::from)
        .collect()
}

/// What a hosting site's merge of `theirs` into `ours` gives.
struct ServerMerge {
    /// 0: clean, 1: conflicts.
    code: i32,
    /// The merged tree (with conflict markers in conflicted files).
    tree: String,
    /// The conflicted paths.
    conflicts: Vec<String>,
}

/// `git merge-tree --write-tree`: a merge of two commits with no working
/// tree, as a hosting site does it. `None`, with a note, before git 2.38.
fn server_merge(env: &TestEnv, ours: &str, theirs: &str) -> Option<ServerMerge> {
    let version = git_version()?;
    if version < (2, 38) {
        eprintln!(
            "note: git {}.{} has no `merge-tree --write-tree` (2.38+); skipping the server-side merge",
            version.0, version.1
        );
        return None;
    }
    let args = [
        "merge-tree",
        "--write-tree",
        "--name-only",
        "--no-messages",
        ours,
        theirs,
    ];
    let run = git(env, &args);
    assert!(run.code == 0 || run.code == 1, "git {args:?}: {run:?}");
    let mut lines = run.stdout.lines();
    let tree = lines.next().expect("the tree id").to_string();
    let mut conflicts: Vec<String> = lines.map(String::from).collect();
    conflicts.dedup();
    Some(ServerMerge {
        code: run.code,
        tree,
        conflicts,
    })
}

/// Merge `theirs` into `ours` on the server and with `git merge` (leaving
/// `ours` checked out with the merge committed): both are clean, and give
/// the same tree.
#[track_caller]
fn assert_merges_cleanly(env: &TestEnv, ours: &str, theirs: &str) {
    let server = server_merge(env, ours, theirs);
    checkout(env, ours);
    let run = merge(env, theirs);
    assert_eq!(
        run.code, 0,
        "git merge failed:\n{}{}",
        run.stdout, run.stderr
    );
    assert!(
        !run.stdout.contains("CONFLICT") && !run.stderr.contains("CONFLICT"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(conflicted(env), Vec::<String>::new());
    assert_eq!(
        git_ok(env, &["status", "--porcelain"]),
        "",
        "merge committed"
    );
    if let Some(server) = server {
        assert_eq!(server.code, 0, "server-side merge: {:?}", server.conflicts);
        assert!(server.conflicts.is_empty(), "{:?}", server.conflicts);
        assert_eq!(
            server.tree,
            git_ok(env, &["rev-parse", "HEAD^{tree}"]).trim(),
            "the server-side merge gives the same files as `git merge`"
        );
    }
}

// ----- promptrel ----------------------------------------------------------------------

fn id_of(bytes: impl AsRef<[u8]>) -> String {
    blake3::hash(bytes.as_ref()).to_hex().to_string()
}

fn short(id: &str) -> &str {
    &id[..12]
}

/// Add `text` as a version of `name` on `label`; its id.
fn stage(env: &TestEnv, name: &str, label: &str, text: &str, message: &str) -> String {
    env.add(name, text, &["-m", message, "--label", label])
}

/// `promptrel promote NAME FROM TO -m MESSAGE`.
fn promote(env: &TestEnv, name: &str, from: &str, to: &str, message: &str) {
    env.run(&["promote", name, from, to, "-m", message]).ok();
}

/// promptrel run in `dir` (a clone) rather than `env.root`.
fn promptrel_in(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    run_cmd(env.command(args).current_dir(dir))
}

/// `promptrel fsck` found nothing.
#[track_caller]
fn assert_fsck_clean(run: Run) {
    assert_eq!(run.code, 0, "fsck: {}{}", run.stdout, run.stderr);
    assert!(run.stdout.ends_with(": ok\n"), "{}", run.stdout);
    assert!(!run.stdout.contains("problem"), "{}", run.stdout);
}

/// The problems `promptrel fsck --json` reports (it exits 1 with some).
fn problems(env: &TestEnv) -> Vec<Value> {
    let run = env.run(&["fsck", "--json"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let problems = report["problems"].as_array().unwrap().clone();
    assert_eq!(run.code, i32::from(!problems.is_empty()), "{}", run.stdout);
    problems
}

/// The commands a message suggests in backticks, split into arguments
/// (double quotes group words), without the leading `promptrel`.
fn suggested_commands(message: &str) -> Vec<Vec<String>> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|cmd| cmd.strip_prefix("promptrel "))
        .map(|cmd| {
            let mut args = vec![String::new()];
            let mut quoted = false;
            for c in cmd.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ' ' if !quoted => args.push(String::new()),
                    c => args.last_mut().unwrap().push(c),
                }
            }
            args
        })
        .collect()
}

/// Every label of every prompt (from `promptrel list`) with the bytes
/// `promptrel show NAME@LABEL` gives.
fn labels(env: &TestEnv) -> BTreeMap<String, Vec<u8>> {
    let list = env.run(&["list"]).ok().stdout;
    let mut labels = BTreeMap::new();
    let mut prompt = "";
    for line in list.lines() {
        match line.trim_start().strip_prefix('@') {
            Some(rest) if line.starts_with(' ') => {
                let label = rest.split_whitespace().next().unwrap();
                let rev = format!("{prompt}@{label}");
                let shown = env.run(&["show", &rev]).ok().stdout_bytes;
                labels.insert(rev, shown);
            }
            _ => prompt = line.trim(),
        }
    }
    labels
}

/// The lines of `promptrel log ARGS`.
fn log_lines(env: &TestEnv, args: &[&str]) -> Vec<String> {
    let mut all = vec!["log"];
    all.extend_from_slice(args);
    let run = env.run(&all).ok();
    run.stdout.lines().map(String::from).collect()
}

/// The records of `promptrel log ARGS --json`, newest first.
fn log_records(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["log", "--json"];
    all.extend_from_slice(args);
    let run = env.run(&all).ok();
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The lines in either list, as a set.
fn union(a: &[String], b: &[String]) -> BTreeSet<String> {
    a.iter().chain(b).cloned().collect()
}

/// Record files as `SHARD/FILE` (`bot+versions/000000000005-…`).
fn shard_paths(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| {
            let shard = p.parent().unwrap().file_name().unwrap().to_string_lossy();
            format!("{shard}/{}", p.file_name().unwrap().to_string_lossy())
        })
        .collect()
}

// ----- 1. different prompts -----------------------------------------------------------

/// Two branches that change different prompts (adds, promotions, rollbacks;
/// one creates `support/refund-bot`, the other `support`) touch disjoint
/// files: both merges are clean and the result holds both branches' work.
#[test]
fn different_prompts_merge_without_conflict() {
    let Some(env) = repo("different_prompts_merge_without_conflict") else {
        return;
    };
    stage(&env, "checkout-bot", "staging", "Checkout v1.\n", "v1");
    promote(&env, "checkout-bot", "staging", "prod", "v1");
    stage(&env, "faq-bot", "staging", "FAQ v1.\n", "v1");
    promote(&env, "faq-bot", "staging", "prod", "v1");
    commit_all(&env, "release v1 of both bots");
    let base = labels(&env);

    branch(&env, "a", "main");
    stage(&env, "checkout-bot", "staging", "Checkout v2.\n", "v2");
    promote(&env, "checkout-bot", "staging", "prod", "ship v2");
    stage(&env, "checkout-bot", "staging", "Checkout v3.\n", "v3");
    env.run(&["rollback", "checkout-bot", "staging", "-m", "v3 not ready"])
        .ok();
    stage(
        &env,
        "support/refund-bot",
        "staging",
        "Refund politely.\n",
        "",
    );
    promote(&env, "support/refund-bot", "staging", "prod", "ship");
    commit_all(&env, "a: checkout-bot v2, refund-bot");
    let (a_labels, a_log) = (labels(&env), log_lines(&env, &[]));

    branch(&env, "b", "main");
    stage(&env, "faq-bot", "staging", "FAQ v2.\n", "v2");
    promote(&env, "faq-bot", "staging", "prod", "ship v2");
    env.run(&["rollback", "faq-bot", "prod", "-m", "v2 confuses people"])
        .ok();
    // `support` is a prompt and, on the other branch, the namespace of
    // `support/refund-bot`: one folder serves both (label files start with `@`).
    stage(&env, "support", "staging", "Route to a team.\n", "");
    promote(&env, "support", "staging", "prod", "ship");
    commit_all(&env, "b: faq-bot v2 and back, support");
    let (b_labels, b_log) = (labels(&env), log_lines(&env, &[]));

    assert_merges_cleanly(&env, "a", "b");
    assert_fsck_clean(env.run(&["fsck"]));

    // Every label as the branch that moved it left it; the two branches
    // changed different labels.
    let changed = |side: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        side.iter()
            .filter(|(rev, bytes)| base.get(*rev) != Some(bytes))
            .map(|(rev, bytes)| (rev.clone(), bytes.clone()))
            .collect()
    };
    let (from_a, from_b) = (changed(&a_labels), changed(&b_labels));
    assert!(from_a.keys().all(|rev| !from_b.contains_key(rev)));
    let mut expected = base.clone();
    expected.extend(from_a);
    expected.extend(from_b);
    assert_eq!(labels(&env), expected);
    assert_eq!(expected.len(), 8, "{:?}", expected.keys());
    // Spot checks against the commands above.
    let show = |rev: &str| env.run(&["show", rev]).ok().stdout;
    assert_eq!(show("checkout-bot@prod"), "Checkout v2.\n");
    assert_eq!(show("checkout-bot@staging"), "Checkout v2.\n");
    assert_eq!(show("checkout-bot"), "Checkout v3.\n");
    assert_eq!(show("faq-bot@prod"), "FAQ v1.\n");
    assert_eq!(show("faq-bot@staging"), "FAQ v2.\n");
    assert_eq!(show("support@prod"), "Route to a team.\n");
    assert_eq!(show("support/refund-bot@prod"), "Refund politely.\n");

    // `list` names all four prompts; `log` holds every record of both
    // branches, once.
    let list = env.run(&["list"]).ok().stdout;
    let prompts: Vec<&str> = list.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        prompts,
        ["checkout-bot", "faq-bot", "support", "support/refund-bot"]
    );
    let merged = log_lines(&env, &[]);
    assert_eq!(
        merged.iter().cloned().collect::<BTreeSet<_>>(),
        union(&a_log, &b_log)
    );
    assert_eq!(merged.len(), union(&a_log, &b_log).len(), "no record twice");
    assert!(a_log.iter().any(|l| !b_log.contains(l)), "a wrote records");
    assert!(b_log.iter().any(|l| !a_log.contains(l)), "b wrote records");
    // The merge commit needs nothing more.
    assert_eq!(git_ok(&env, &["status", "--porcelain"]), "");
}

// ----- 2. versions of the same prompt -----------------------------------------------------

/// Both branches add versions of one prompt (and one of them moves
/// `staging`): the records are separate files, so both merges are clean,
/// and the merged history holds every version in log order (FORMAT.md
/// §6.2: seq, then time).
#[test]
fn both_branches_add_versions_of_one_prompt() {
    let Some(env) = repo("both_branches_add_versions_of_one_prompt") else {
        return;
    };
    let v1 = env.add("bot", "v1\n", &["-m", "v1", "--label", "staging"]);
    commit_all(&env, "v1");

    branch(&env, "a", "main");
    let a2 = env.add("bot", "a2\n", &["-m", "a2"]);
    let a3 = env.add("bot", "a3\n", &["-m", "a3", "--label", "staging"]);
    commit_all(&env, "a");
    let a_adds = log_lines(&env, &["bot"]);

    branch(&env, "b", "main");
    let b2 = env.add("bot", "b2\n", &["-m", "b2"]);
    let b3 = env.add("bot", "b3\n", &["-m", "b3"]);
    let b4 = env.add("bot", "b4\n", &["-m", "b4"]);
    commit_all(&env, "b");
    let b_adds = log_lines(&env, &["bot"]);

    assert_merges_cleanly(&env, "a", "b");
    assert_fsck_clean(env.run(&["fsck"]));

    // Every add from both branches, once.
    let merged = log_lines(&env, &["bot"]);
    assert_eq!(
        merged.iter().cloned().collect::<BTreeSet<_>>(),
        union(&a_adds, &b_adds)
    );
    let adds = merged.iter().filter(|l| l.contains("  add  ")).count();
    assert_eq!((adds, merged.len()), (6, 8), "{merged:#?}");
    // Both branches wrote seq 2 and 3; branch a worked first, so its record
    // of each seq is the older one. `NAME~k` walks that order.
    let newest_first = [&b4, &b3, &a3, &b2, &a2, &v1];
    for (k, id) in newest_first.iter().enumerate() {
        let rev = format!("bot~{k}");
        let run = env.run(&["show", &rev]).ok();
        assert_eq!(id_of(&run.stdout_bytes), **id, "{rev}");
    }
    let run = env.run(&["show", "bot~6"]).fails(2);
    assert!(run.stderr.contains("bot~6"), "{}", run.stderr);
    assert_eq!(env.run(&["show", "bot@staging"]).ok().stdout, "a3\n");

    // The next add continues after the greatest seq of both branches.
    let before: BTreeSet<String> = shard_paths(&env.log_files("bot", "+versions"))
        .into_iter()
        .collect();
    let v5 = env.add("bot", "after the merge\n", &["-m", "v5"]);
    let after: BTreeSet<String> = shard_paths(&env.log_files("bot", "+versions"))
        .into_iter()
        .collect();
    assert!(before.is_subset(&after), "no record file is removed");
    let new: Vec<&String> = after.difference(&before).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(
        new[0].starts_with("bot+versions/000000000005-"),
        "{}",
        new[0]
    );
    let newest = &log_records(&env, &["bot", "-n", "1"])[0];
    assert_eq!(newest["seq"], 5);
    assert_eq!(
        newest["from"],
        b4.as_str(),
        "from the merged newest version"
    );
    assert_eq!(newest["to"], v5.as_str());
    assert_fsck_clean(env.run(&["fsck"]));
}

// ----- 3. the same label moved differently -------------------------------------------------

/// The ids of the diverged history of [`diverged_prod`].
struct Diverged {
    env: TestEnv,
    /// prod on main.
    v1: String,
    /// prod on branch a.
    a2: String,
    /// prod on branch b.
    b2: String,
}

/// main: bot v1 on staging and prod. Branch a promotes a new staging
/// version to prod; branch b, later, promotes another new version to prod
/// through its own label `canary`. (Had b moved `staging` too, `@staging`
/// would be a second, equally real conflict; one label keeps the case to
/// one file.)
fn diverged_prod(test: &str) -> Option<Diverged> {
    let env = repo(test)?;
    let v1 = stage(&env, "bot", "staging", "v1\n", "v1");
    promote(&env, "bot", "staging", "prod", "release v1");
    commit_all(&env, "v1 in prod");

    branch(&env, "a", "main");
    let a2 = stage(&env, "bot", "staging", "a2\n", "a2");
    promote(&env, "bot", "staging", "prod", "ship a2");
    commit_all(&env, "a: ship a2");

    branch(&env, "b", "main");
    let b2 = stage(&env, "bot", "canary", "b2\n", "b2");
    promote(&env, "bot", "canary", "prod", "ship b2");
    commit_all(&env, "b: ship b2");
    checkout(&env, "a");
    Some(Diverged { env, v1, a2, b2 })
}

const PROD_REF: &str = ".promptrel/refs/bot/@prod";

/// Merge b into a: one conflict, in the prod ref, on the server and locally.
#[track_caller]
fn merge_with_prod_conflict(d: &Diverged) {
    let env = &d.env;
    if let Some(server) = server_merge(env, "a", "b") {
        assert_eq!(server.code, 1, "a conflict");
        assert_eq!(server.conflicts, [PROD_REF]);
    }
    let run = merge(env, "b");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let conflict_lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("CONFLICT"))
        .collect();
    assert_eq!(
        conflict_lines,
        [format!("CONFLICT (content): Merge conflict in {PROD_REF}")]
    );
    assert_eq!(conflicted(env), [PROD_REF]);
    // A small, obvious file: both ids between git's markers.
    let text = std::fs::read_to_string(env.root.join(PROD_REF)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("<<<<<<< "), "{text}");
    assert_eq!(
        (lines[1], lines[2], lines[3]),
        (d.a2.as_str(), "=======", d.b2.as_str())
    );
    assert!(lines[4].starts_with(">>>>>>> b"), "{text}");
}

/// The same label moved differently on both branches is one conflict in
/// one small file; readers refuse it, `fsck` explains it, and the command
/// `fsck` suggests settles it.
#[test]
fn one_label_moved_differently_is_one_conflict_to_settle() {
    let Some(d) = diverged_prod("one_label_moved_differently_is_one_conflict_to_settle") else {
        return;
    };
    let env = &d.env;
    merge_with_prod_conflict(&d);

    // Readers refuse to pick a side, and say how to settle.
    let before = env.snapshot();
    let run = env.run(&["show", "bot@prod"]).fails(5);
    assert!(
        run.stderr.contains("unresolved git merge conflict"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(short(&d.a2)) && run.stderr.contains(short(&d.b2)),
        "{}",
        run.stderr
    );
    let hints: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("hint: "))
        .collect();
    assert!(
        hints
            .iter()
            .any(|h| h.contains("`promptrel rollback bot prod --to ID -m MSG`")),
        "{hints:?}"
    );
    assert_eq!(env.snapshot(), before, "a refused read changes nothing");
    // Other labels of the prompt still read.
    assert_eq!(env.run(&["show", "bot@staging"]).ok().stdout, "a2\n");
    assert_eq!(env.run(&["show", "bot@canary"]).ok().stdout, "b2\n");

    // fsck names the file, both moves and the commands that settle it.
    let run = env.run(&["fsck"]);
    assert_eq!(run.code, 1);
    assert_data_eq!(
        run.stdout,
        str![[r#"
problem: .promptrel/refs/bot/@prod: bot@prod was moved differently on two git branches and the merge left both values in the file:
  ff3e86a12355: promote 2026-01-02T10:04:00Z, Ada Lovelace <ada@example.com>: ship a2
  d3e0a34e31a0: promote 2026-01-02T10:06:00Z, Ada Lovelace <ada@example.com>: ship b2
settle it by choosing one: `promptrel rollback bot prod --to ff3e86a12355 -m "settle merge"` or `promptrel rollback bot prod --to d3e0a34e31a0 -m "settle merge"` [merge-conflict]
checked 3 objects, 3 refs, 9 records: 1 problem

"#]]
    );
    let problems = problems(env);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["kind"], "merge-conflict");
    assert_eq!(problems[0]["path"], "refs/bot/@prod");
    let message = problems[0]["message"].as_str().unwrap();
    let commands = suggested_commands(message);
    // prod is protected, so the suggested move is a rollback --to.
    let settle_b2: Vec<String> = [
        "rollback",
        "bot",
        "prod",
        "--to",
        short(&d.b2),
        "-m",
        "settle merge",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(commands.len(), 2, "{message}");
    assert!(commands.contains(&settle_b2), "{commands:?}");

    // Run what fsck suggests: prod is b2 again, the store is clean, and git
    // takes the merge.
    let args: Vec<&str> = settle_b2.iter().map(String::as_str).collect();
    env.run(&args).ok();
    assert_fsck_clean(env.run(&["fsck"]));
    assert_eq!(env.run(&["show", "bot@prod"]).ok().stdout, "b2\n");
    assert_eq!(
        std::fs::read_to_string(env.root.join(PROD_REF)).unwrap(),
        format!("{}\n", d.b2)
    );
    git_ok(env, &["add", "-A"]);
    git_ok(env, &["commit", "-q", "--no-edit"]);
    assert_eq!(git_ok(env, &["status", "--porcelain"]), "");

    // prod's log: both branches' moves and the settle record.
    let records = log_records(env, &["bot", "--label", "prod"]);
    let moves: Vec<(&str, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["to"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("rollback", d.b2.as_str(), "settle merge"),
            ("promote", d.b2.as_str(), "ship b2"),
            ("promote", d.a2.as_str(), "ship a2"),
            ("promote", d.v1.as_str(), "release v1"),
        ]
    );
}

/// A person resolves the conflicted ref with git alone (taking one side, or
/// writing one id) and commits: `fsck` still reports that the choice is not
/// recorded, and the command it suggests records it.
#[test]
fn a_conflict_resolved_with_git_alone_is_reported_until_settled() {
    for take_theirs in [true, false] {
        let Some(d) = diverged_prod("a_conflict_resolved_with_git_alone_is_reported_until_settled")
        else {
            return;
        };
        let env = &d.env;
        merge_with_prod_conflict(&d);
        // Taking theirs keeps b2, which is also what the newest record says
        // (b moved prod last): recording that choice must still write one.
        let (chosen, other) = if take_theirs {
            git_ok(env, &["checkout", "--theirs", "--", PROD_REF]);
            (&d.b2, &d.a2)
        } else {
            std::fs::write(env.root.join(PROD_REF), format!("{}\n", d.a2)).unwrap();
            (&d.a2, &d.b2)
        };
        git_ok(env, &["add", "-A"]);
        git_ok(env, &["commit", "-q", "--no-edit"]);
        // Readers follow the ref, as the person chose.
        let chosen_bytes = if take_theirs { "b2\n" } else { "a2\n" };
        assert_eq!(env.run(&["show", "bot@prod"]).ok().stdout, chosen_bytes);

        let problems = problems(env);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0]["kind"], "unsettled-merge", "{problems:#?}");
        assert_eq!(problems[0]["path"], "refs/bot/@prod");
        let message = problems[0]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("the label now points to {}", short(chosen))),
            "{message}"
        );
        assert!(message.contains(short(other)), "{message}");
        let commands = suggested_commands(message);
        let settle = commands
            .iter()
            .find(|c| c.iter().any(|a| a == short(chosen)))
            .unwrap_or_else(|| panic!("no command for {}: {message}", short(chosen)));
        assert_eq!(&settle[..4], ["rollback", "bot", "prod", "--to"]);

        let args: Vec<&str> = settle.iter().map(String::as_str).collect();
        let run = env.run(&args).ok();
        assert!(!run.stdout.contains("nothing changed"), "{}", run.stdout);
        assert_fsck_clean(env.run(&["fsck"]));
        assert_eq!(env.run(&["show", "bot@prod"]).ok().stdout, chosen_bytes);
        commit_all(env, "settle prod");

        let prod = log_lines(env, &["bot", "--label", "prod"]);
        assert_eq!(prod.len(), 4, "{prod:#?}");
        assert!(
            prod[0].contains(&format!("-> {}", short(chosen)))
                && prod[0].ends_with(": settle merge"),
            "{prod:#?}"
        );
        assert!(
            prod[1..].iter().any(|l| l.ends_with(": ship a2")),
            "{prod:#?}"
        );
        assert!(
            prod[1..].iter().any(|l| l.ends_with(": ship b2")),
            "{prod:#?}"
        );
    }
}

// ----- 4. the same label moved to the same version -----------------------------------------

/// Both branches add the same bytes and promote them: the object is one
/// file with one content, the refs agree, so there is no conflict and
/// nothing to settle; both promotions stay in the log.
#[test]
fn one_label_moved_to_the_same_version_on_both_branches() {
    let Some(env) = repo("one_label_moved_to_the_same_version_on_both_branches") else {
        return;
    };
    stage(&env, "bot", "staging", "v1\n", "v1");
    promote(&env, "bot", "staging", "prod", "release v1");
    commit_all(&env, "v1");
    branch(&env, "a", "main");
    let v2 = stage(&env, "bot", "staging", "v2\n", "v2 from a");
    promote(&env, "bot", "staging", "prod", "a ships v2");
    commit_all(&env, "a");
    branch(&env, "b", "main");
    assert_eq!(stage(&env, "bot", "staging", "v2\n", "v2 from b"), v2);
    promote(&env, "bot", "staging", "prod", "b ships v2");
    commit_all(&env, "b");

    assert_merges_cleanly(&env, "a", "b");
    assert_fsck_clean(env.run(&["fsck"]));
    assert_eq!(env.run(&["show", "bot@prod"]).ok().stdout, "v2\n");
    let prod = log_lines(&env, &["bot", "--label", "prod"]);
    assert_eq!(prod.len(), 3, "{prod:#?}");
    assert!(
        prod[0].ends_with(": b ships v2") && prod[1].ends_with(": a ships v2"),
        "{prod:#?}"
    );
    // The next move chains on as usual.
    env.run(&["rollback", "bot", "prod", "-m", "back"]).ok();
    assert_eq!(env.run(&["show", "bot@prod"]).ok().stdout, "v1\n");
    assert_fsck_clean(env.run(&["fsck"]));
}

// ----- 5. checkouts that convert bytes ------------------------------------------------------

/// Prompts whose bytes a text conversion would change: `\n` and `\r\n` line
/// ends, Latin-1 (not UTF-8), and git's `$Id$` keyword.
const AWKWARD: [(&str, &[u8]); 4] = [
    ("lf", b"Line one.\nLine two.\n"),
    ("crlf", b"Line one.\r\nLine two.\r\n"),
    ("latin1", b"R\xe9ponds poliment.\nMerci.\n"),
    ("keyword", b"Version $Id$ of the prompt.\n"),
];

/// A repository holding a store with [`AWKWARD`] prompts (each on `prod`)
/// and `notes.txt`, a plain text file outside the store that shows what
/// git does to files the store's `.gitattributes` does not cover.
fn awkward_repo(test: &str) -> Option<TestEnv> {
    let env = repo(test)?;
    for (name, bytes) in AWKWARD {
        let args = ["add", name, "-", "--label", "staging", "-m", "awkward"];
        env.run_stdin(&args, bytes).ok();
        promote(&env, name, "staging", "prod", "ship");
    }
    env.write("notes.txt", "Release notes $Id$\nmore\n");
    commit_all(&env, "awkward prompts");
    Some(env)
}

/// Clone `env`'s repository into a new folder with `config` (`key=value`
/// settings kept in the clone).
fn clone(env: &TestEnv, folder: &str, config: &[&str]) -> PathBuf {
    let dest = env.outside().join(folder);
    let mut args = vec!["clone", "-q"];
    for setting in config {
        args.extend(["--config", setting]);
    }
    let (src, dst) = (env.root.to_str().unwrap(), dest.to_str().unwrap());
    args.extend([src, dst]);
    let run = git_in(env, &env.outside(), &args);
    assert_eq!(run.code, 0, "git {args:?}: {}", run.stderr);
    dest
}

/// The store in a clone is the committed store, byte for byte (the lock is
/// not shared), `fsck` is clean there, `show` gives the exact bytes, and
/// git sees no change to any store file.
#[track_caller]
fn assert_store_intact(env: &TestEnv, clone: &Path) {
    let mut original = env.snapshot();
    original.remove(Path::new("lock"));
    assert_eq!(
        snapshot_dir(&clone.join(".promptrel")),
        original,
        "the checkout changed store bytes"
    );
    assert_fsck_clean(promptrel_in(env, clone, &["fsck"]));
    for (name, bytes) in AWKWARD {
        let rev = format!("{name}@prod");
        let run = promptrel_in(env, clone, &["show", &rev]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout_bytes, bytes, "{rev}");
    }
    let status = git_in(env, clone, &["status", "--porcelain", "--", ".promptrel"]);
    assert_eq!(status.stdout, "", "git sees the store as modified");
}

/// `core.autocrlf=true` and `core.eol=crlf` in a fresh clone rewrite text
/// files, but no file of the store: its `.gitattributes` says `-text`.
#[test]
fn autocrlf_never_changes_store_bytes() {
    let Some(env) = awkward_repo("autocrlf_never_changes_store_bytes") else {
        return;
    };
    let clone = clone(&env, "crlf-clone", &["core.autocrlf=true", "core.eol=crlf"]);
    // The conversion is on: a text file outside the store got CRLF.
    assert_eq!(
        std::fs::read(clone.join("notes.txt")).unwrap(),
        b"Release notes $Id$\r\nmore\r\n"
    );
    assert_store_intact(&env, &clone);
    // Work in the clone goes on as usual: a new version, a release, and
    // the new files are all git sees.
    std::fs::write(clone.join("lf-v2.txt"), b"Line one.\nLine 2.\n").unwrap();
    let run = promptrel_in(
        &env,
        &clone,
        &["add", "lf", "lf-v2.txt", "--label", "staging"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = promptrel_in(
        &env,
        &clone,
        &["promote", "lf", "staging", "prod", "-m", "ship"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_fsck_clean(promptrel_in(&env, &clone, &["fsck"]));
    let status = git_in(&env, &clone, &["status", "--porcelain", "--", ".promptrel"]);
    assert!(
        status
            .stdout
            .lines()
            .all(|l| l.starts_with("?? ") || l.starts_with(" M .promptrel/refs/lf/")),
        "{}",
        status.stdout
    );
}

/// A team's repository-wide `.gitattributes` that asks git to rewrite every
/// file on checkout (`text eol=crlf`, the `$Id$` keyword, a smudge filter)
/// does not reach the store: the store's own `.gitattributes` is nearer.
#[test]
fn repository_wide_attributes_never_change_store_bytes() {
    let Some(env) = awkward_repo("repository_wide_attributes_never_change_store_bytes") else {
        return;
    };
    // A filter driver is a shell command; `tr` is found on Unix only.
    let rule = if cfg!(unix) {
        "* text eol=crlf ident filter=shout\n"
    } else {
        "* text eol=crlf ident\n"
    };
    env.write(".gitattributes", rule);
    commit_all(&env, "team-wide attributes");
    let clone = clone(
        &env,
        "filtered-clone",
        &["filter.shout.smudge=tr a-z A-Z", "filter.shout.clean=cat"],
    );
    // The rules are in force outside the store.
    let notes = String::from_utf8(std::fs::read(clone.join("notes.txt")).unwrap()).unwrap();
    assert!(notes.ends_with("\r\n"), "{notes:?}");
    assert!(!notes.contains("$Id$"), "keyword expanded: {notes:?}");
    if cfg!(unix) {
        assert!(notes.starts_with("RELEASE NOTES"), "{notes:?}");
    }
    assert_store_intact(&env, &clone);
}
// ----- 6. packs written on both branches ---------------------------------------------------

/// One record of `bot` as promptrel writes it: `add` in `+versions`,
/// `label` (with `label`) in `@LABEL`, by the env's author.
fn record_line(
    seq: u64,
    time: &str,
    label: Option<&str>,
    from: Option<&str>,
    to: &str,
    message: &str,
) -> String {
    let (action, label) = match label {
        Some(label) => ("label", format!(r#""label":"{label}","#)),
        None => ("add", String::new()),
    };
    let from = from.map_or("null".to_string(), |f| format!(r#""{f}""#));
    format!(
        r#"{{"time":"{time}","action":"{action}","prompt":"bot",{label}"seq":{seq},"from":{from},"to":"{to}","author":"Ada Lovelace <ada@example.com>","message":"{message}"}}"#
    )
}

/// Log `stem` of `bot` (`+versions` or `@LABEL`, empty so far) with one
/// record per id of `tos`, seq 1 onwards, each moving on from the one
/// before, and for a label its ref at the last id: what as many runs of
/// `add bot - -m MESSAGE` or `label bot LABEL ID -m MESSAGE` leave, written
/// in milliseconds. The records are a minute apart on the day before the
/// env's clock (2026-01-02T10:00), so every command of a test comes after.
fn write_log(env: &TestEnv, stem: &str, tos: &[String], message: &str) {
    let label = stem.strip_prefix('@');
    let mut from: Option<&str> = None;
    for (seq, to) in (1u64..).zip(tos) {
        assert!(seq < 24 * 60);
        let time = format!("2026-01-01T{:02}:{:02}:00Z", seq / 60, seq % 60);
        let line = record_line(seq, &time, label, from, to, message);
        env.write_record("bot", stem, &line);
        from = Some(to);
    }
    if let (Some(label), Some(last)) = (label, tos.last()) {
        env.write(
            &format!(".promptrel/refs/bot/@{label}"),
            format!("{last}\n"),
        );
    }
}

/// `count` versions of `bot` (`v1\n`, `v2\n`, …), each put on `canary` as
/// it is added, as `count` runs of `add bot - --label canary -m nightly`
/// leave them (objects, both logs, the ref), written directly. Their ids.
fn write_nightlies(env: &TestEnv, count: usize) -> Vec<String> {
    let ids: Vec<String> = (1..=count)
        .map(|i| {
            let text = format!("v{i}\n");
            let id = id_of(&text);
            env.write(
                &format!(".promptrel/objects/{}/{}", &id[..2], &id[2..]),
                &text,
            );
            id
        })
        .collect();
    write_log(env, "+versions", &ids, "nightly");
    write_log(env, "@canary", &ids, "nightly");
    ids
}

/// The names in a folder, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Each shard folder of log `stem` of `bot`, by number: how many record
/// files it holds, and its packs (file names, sorted).
fn shards(env: &TestEnv, stem: &str) -> Vec<(usize, Vec<String>)> {
    let store = env.store();
    // Shard 0 is the log's folder, the others are folders inside it.
    let folders: Vec<String> = names_in(&shard_dir(&store, "bot", stem, 0))
        .into_iter()
        .filter(|n| n.starts_with('~'))
        .collect();
    (0u64..=folders.len() as u64)
        .map(|k| {
            if k > 0 {
                assert_eq!(
                    folders[k as usize - 1],
                    format!("~{k:06}"),
                    "shards from 0, no gap"
                );
            }
            let (packs, records): (Vec<String>, Vec<String>) =
                names_in(&shard_dir(&store, "bot", stem, k))
                    .into_iter()
                    .filter(|n| !n.starts_with('~'))
                    .partition(|n| n.starts_with("pack-"));
            (records.len(), packs)
        })
        .collect()
}

/// The name of a pack of exactly the record files shard `k` of log `stem`
/// holds now, which readers use instead of them: `pack-` and the first 16
/// hex digits of the BLAKE3 hash of the files' names, sorted, each
/// followed by `\n`.
fn current_pack(env: &TestEnv, stem: &str, k: u64) -> String {
    let listing: String = names_in(&shard_dir(&env.store(), "bot", stem, k))
        .into_iter()
        .filter(|n| !n.starts_with("pack-") && !n.starts_with('~'))
        .map(|n| n + "\n")
        .collect();
    format!("pack-{}", &id_of(listing)[..16])
}

/// Shard `k` of log `stem` has the pack readers use, holding exactly the
/// shard's records in log order (seq, then time); its name.
#[track_caller]
fn assert_packed(env: &TestEnv, stem: &str, k: u64) -> String {
    let name = current_pack(env, stem, k);
    let path = shard_dir(&env.store(), "bot", stem, k).join(&name);
    let packed =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{stem}~{k:06}/{name}: {e}"));
    let seqs = k * 256 + 1..=(k + 1) * 256;
    let expected: String = env
        .log_lines("bot", stem)
        .into_iter()
        .filter(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            seqs.contains(&record["seq"].as_u64().unwrap())
        })
        .map(|line| line + "\n")
        .collect();
    assert!(
        packed == expected,
        "{stem}~{k:06}/{name}: not the shard's records"
    );
    name
}

/// From commit `from` to `to`, git sees files added to the store's logs,
/// and none changed or deleted: nothing its rename detection could pair.
#[track_caller]
fn assert_logs_only_grow(env: &TestEnv, from: &str, to: &str) {
    let args = [
        "diff",
        "--no-renames",
        "--name-status",
        from,
        to,
        "--",
        ".promptrel/logs",
    ];
    let diff = git_ok(env, &args);
    assert!(!diff.is_empty(), "{from}..{to}: no new records");
    let other: Vec<&str> = diff.lines().filter(|l| !l.starts_with("A\t")).collect();
    assert!(other.is_empty(), "{from}..{to}: {other:#?}");
}

/// (seq, to) of `promptrel log --json ARGS` records of `action` (all when
/// `None`), newest first.
fn seq_to(env: &TestEnv, args: &[&str], action: Option<&str>) -> Vec<(u64, String)> {
    log_records(env, args)
        .iter()
        .filter(|r| action.is_none_or(|a| r["action"] == a))
        .map(|r| {
            let to = r["to"].as_str().unwrap().to_string();
            (r["seq"].as_u64().unwrap(), to)
        })
        .collect()
}

/// The logs of `bot` have just filled their first shard (256 records) on
/// main, and both branches write into the second: each then packs the
/// first, from the same records, so both write the same file (same name,
/// same bytes), which git merges as one. Each branch's new records are
/// their own files in the second shard. Both branches end with `canary`
/// back on the shared version, so its ref merges cleanly and, as the
/// newest record is branch a's alone, nothing is left to settle. (Ending
/// on different versions is the conflict of the tests above; packing
/// changes nothing about it.)
#[test]
fn packs_written_on_both_branches_merge() {
    let Some(env) = repo("packs_written_on_both_branches_merge") else {
        return;
    };
    // 256 versions, each put on canary as it is added: 250 written
    // directly, 6 by promptrel, which fill the first shard of `+versions`
    // and of `@canary` and pack nothing yet.
    let mut ids = write_nightlies(&env, 250);
    for i in 251..=256 {
        ids.push(stage(&env, "bot", "canary", &format!("v{i}\n"), "nightly"));
    }
    let v256 = ids[255].clone();
    for stem in ["+versions", "@canary"] {
        assert_eq!(shards(&env, stem), [(256, vec![])], "{stem}");
        // The records written directly are as promptrel writes them.
        let real = &env.log_lines("bot", stem)[250];
        let time: Value = serde_json::from_str::<Value>(real).unwrap()["time"].clone();
        let label = stem.strip_prefix('@');
        let written = record_line(
            251,
            time.as_str().unwrap(),
            label,
            Some(&ids[249]),
            &ids[250],
            "nightly",
        );
        assert_eq!(*real, written);
    }
    assert_fsck_clean(env.run(&["fsck"]));
    commit_all(&env, "256 versions");

    // Branch a: 4 versions on canary, then canary back to v256 (5 moves).
    branch(&env, "a", "main");
    for i in 1..=4 {
        stage(&env, "bot", "canary", &format!("a{i}\n"), "try a");
    }
    env.run(&["rollback", "bot", "canary", "--to", &v256, "-m", "back"])
        .ok();
    let a_packs = [
        assert_packed(&env, "+versions", 0),
        assert_packed(&env, "@canary", 0),
    ];
    assert_eq!(
        shards(&env, "+versions"),
        [(256, vec![a_packs[0].clone()]), (4, vec![])]
    );
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![a_packs[1].clone()]), (5, vec![])]
    );
    commit_all(&env, "a: 4 versions tried");
    let (a_log, a_canary) = (
        log_lines(&env, &["bot"]),
        log_lines(&env, &["bot", "--label", "canary"]),
    );

    // Branch b: 2 versions, then back to v256 (3 moves). The same packs.
    branch(&env, "b", "main");
    for i in 1..=2 {
        stage(&env, "bot", "canary", &format!("b{i}\n"), "try b");
    }
    env.run(&["rollback", "bot", "canary", "--to", &v256, "-m", "back"])
        .ok();
    let b_packs = [
        assert_packed(&env, "+versions", 0),
        assert_packed(&env, "@canary", 0),
    ];
    assert_eq!(b_packs, a_packs, "both branches name the pack alike");
    assert_eq!(
        shards(&env, "+versions"),
        [(256, vec![a_packs[0].clone()]), (2, vec![])]
    );
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![a_packs[1].clone()]), (3, vec![])]
    );
    commit_all(&env, "b: 2 versions tried");
    let (b_log, b_canary) = (
        log_lines(&env, &["bot"]),
        log_lines(&env, &["bot", "--label", "canary"]),
    );
    for (stem, pack) in ["+versions", "@canary"].iter().zip(&a_packs) {
        let blob = |branch: &str| {
            let spec = format!("{branch}:.promptrel/logs/bot{stem}/{pack}");
            git_ok(&env, &["rev-parse", &spec])
        };
        assert_eq!(blob("a"), blob("b"), "{stem}: the same bytes");
    }
    assert_logs_only_grow(&env, "main", "a");
    assert_logs_only_grow(&env, "main", "b");

    assert_merges_cleanly(&env, "a", "b");
    // Each log: the one pack, still of exactly the first shard's records,
    // and both branches' records in the second shard.
    assert_eq!(
        shards(&env, "+versions"),
        [(256, vec![a_packs[0].clone()]), (6, vec![])]
    );
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![a_packs[1].clone()]), (8, vec![])]
    );
    assert_eq!(assert_packed(&env, "+versions", 0), a_packs[0]);
    assert_eq!(assert_packed(&env, "@canary", 0), a_packs[1]);
    assert_fsck_clean(env.run(&["fsck"]));
    assert_eq!(env.run(&["show", "bot@canary"]).ok().stdout, "v256\n");

    // Every record of both branches, once: 256 + 4 + 2 versions, and 256 +
    // 5 + 3 moves of canary.
    let merged = log_lines(&env, &["bot"]);
    assert_eq!(merged.len(), 262 + 264, "no record twice");
    assert_eq!(
        merged.iter().cloned().collect::<BTreeSet<_>>(),
        union(&a_log, &b_log)
    );
    let canary = log_lines(&env, &["bot", "--label", "canary"]);
    assert_eq!(
        canary.iter().cloned().collect::<BTreeSet<_>>(),
        union(&a_canary, &b_canary)
    );
    let seqs: Vec<u64> = seq_to(&env, &["bot", "--label", "canary"], None)
        .into_iter()
        .map(|(seq, _)| seq)
        .collect();
    let mut expected: Vec<u64> = (1..=261).chain(257..=259).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        seqs, expected,
        "256 shared, 257..=261 from a, 257..=259 from b"
    );

    // The next move goes to the second shard; the first is packed already.
    env.run(&["label", "bot", "canary", &ids[0], "-m", "v1 again"])
        .ok();
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![a_packs[1].clone()]), (9, vec![])]
    );
    assert_eq!(env.run(&["show", "bot@canary~1"]).ok().stdout, "v256\n");
    // 265 moves: the oldest but one (in the pack) came from v1.
    assert_eq!(env.run(&["show", "bot@canary~264"]).ok().stdout, "v1\n");
    assert_fsck_clean(env.run(&["fsck"]));
    commit_all(&env, "canary on v1");
    assert_logs_only_grow(&env, "HEAD~1", "HEAD");
}

/// Both branches fork inside the first shard (at seq 250) and write past
/// its end: each packs the first shard with its own six records, so the
/// packs differ, in name and bytes, and git merges them as two new files.
/// After the merge the shard holds both branches' records, which neither
/// pack matches: readers read its record files instead and see every
/// record once, in log order. The next writer past it packs it again: a
/// third pack, which matches (the two others stay, unused).
#[test]
fn packs_of_different_records_on_both_branches_merge() {
    let Some(env) = repo("packs_of_different_records_on_both_branches_merge") else {
        return;
    };
    let ids = write_nightlies(&env, 250);
    let v250 = ids[249].clone();
    let mut texts: BTreeMap<String, String> = (1..)
        .zip(&ids)
        .map(|(i, id)| (id.clone(), format!("v{i}\n")))
        .collect();
    assert_fsck_clean(env.run(&["fsck"]));
    commit_all(&env, "250 versions");

    // Branch a: 10 versions on canary (seq 251..=260 in both logs), then
    // canary back to v250 (seq 261).
    branch(&env, "a", "main");
    let a_ids: Vec<String> = (1..=10)
        .map(|i| stage(&env, "bot", "canary", &format!("a{i}\n"), "try a"))
        .collect();
    env.run(&["rollback", "bot", "canary", "--to", &v250, "-m", "back"])
        .ok();
    let a_packs = [
        assert_packed(&env, "+versions", 0),
        assert_packed(&env, "@canary", 0),
    ];
    assert_eq!(
        shards(&env, "+versions"),
        [(256, vec![a_packs[0].clone()]), (4, vec![])]
    );
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![a_packs[1].clone()]), (5, vec![])]
    );
    commit_all(&env, "a: 10 versions tried");
    let a_log = log_lines(&env, &["bot"]);

    // Branch b: 8 versions (seq 251..=258), then back to v250 (seq 259).
    branch(&env, "b", "main");
    let b_ids: Vec<String> = (1..=8)
        .map(|i| stage(&env, "bot", "canary", &format!("b{i}\n"), "try b"))
        .collect();
    env.run(&["rollback", "bot", "canary", "--to", &v250, "-m", "back"])
        .ok();
    let b_packs = [
        assert_packed(&env, "+versions", 0),
        assert_packed(&env, "@canary", 0),
    ];
    assert_eq!(
        shards(&env, "+versions"),
        [(256, vec![b_packs[0].clone()]), (2, vec![])]
    );
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![b_packs[1].clone()]), (3, vec![])]
    );
    commit_all(&env, "b: 8 versions tried");
    let b_log = log_lines(&env, &["bot"]);
    for (a, b) in a_packs.iter().zip(&b_packs) {
        assert_ne!(a, b, "different records, different packs");
    }
    assert_logs_only_grow(&env, "main", "a");
    assert_logs_only_grow(&env, "main", "b");
    for (i, id) in (1..).zip(&a_ids) {
        texts.insert(id.clone(), format!("a{i}\n"));
    }
    for (i, id) in (1..).zip(&b_ids) {
        texts.insert(id.clone(), format!("b{i}\n"));
    }

    assert_merges_cleanly(&env, "a", "b");
    // Each first shard: 250 + 6 + 6 records and both packs, neither of
    // which holds them all.
    for (i, (stem, second)) in [("+versions", 6), ("@canary", 8)].into_iter().enumerate() {
        let mut packs = vec![a_packs[i].clone(), b_packs[i].clone()];
        packs.sort();
        assert_eq!(shards(&env, stem), [(262, packs.clone()), (second, vec![])]);
        assert!(!packs.contains(&current_pack(&env, stem, 0)), "{stem}");
    }
    assert_fsck_clean(env.run(&["fsck"]));
    assert_eq!(env.run(&["show", "bot@canary"]).ok().stdout, "v250\n");

    // Every record once, in log order: by seq, then by time (branch a's
    // record of a seq is the older).
    let merged = log_lines(&env, &["bot"]);
    assert_eq!(merged.len(), 268 + 270, "no record twice");
    assert_eq!(
        merged.iter().cloned().collect::<BTreeSet<_>>(),
        union(&a_log, &b_log)
    );
    let mut versions: Vec<(u64, String)> = (1..).zip(ids.iter().cloned()).collect();
    let mut moves = versions.clone();
    for (seq, i) in (251..).zip(0..10) {
        versions.push((seq, a_ids[i].clone()));
        moves.push((seq, a_ids[i].clone()));
        if i < 8 {
            versions.push((seq, b_ids[i].clone()));
            moves.push((seq, b_ids[i].clone()));
        }
        if i == 8 {
            moves.push((259, v250.clone()));
        }
    }
    moves.push((261, v250.clone()));
    versions.reverse();
    moves.reverse();
    let adds = seq_to(&env, &["bot"], Some("add"));
    assert_eq!(adds, versions);
    let canary = seq_to(&env, &["bot", "--label", "canary"], None);
    assert_eq!(canary, moves);
    // `NAME~N` and `NAME@LABEL~N` walk that order, through both shards.
    let show = |rev: &str| env.run(&["show", rev]).ok().stdout;
    for k in (0..16).chain([100, 267]) {
        assert_eq!(show(&format!("bot~{k}")), texts[&versions[k].1], "bot~{k}");
    }
    // N changes ago: where the N-th newest move came from (on a forked
    // stretch, not what the move after it went to: a9 for bot@canary~2).
    let from: Vec<Value> = log_records(&env, &["bot", "--label", "canary"])
        .iter()
        .map(|r| r["from"].clone())
        .collect();
    assert_eq!(from[1], a_ids[8].as_str());
    for k in (1..16).chain([100, 269]) {
        let moved_from = from[k - 1].as_str().unwrap();
        assert_eq!(
            show(&format!("bot@canary~{k}")),
            texts[moved_from],
            "bot@canary~{k}"
        );
    }
    env.run(&["show", "bot~268"]).fails(2);

    // The next writer past the first shard packs it again, for both logs.
    let after = stage(&env, "bot", "canary", "after\n", "after the merge");
    texts.insert(after.clone(), "after\n".into());
    for (i, (stem, second)) in [("+versions", 7), ("@canary", 9)].into_iter().enumerate() {
        let packed = assert_packed(&env, stem, 0);
        let mut packs = vec![a_packs[i].clone(), b_packs[i].clone(), packed];
        packs.sort();
        assert_eq!(
            shards(&env, stem),
            [(262, packs), (second, vec![])],
            "{stem}"
        );
    }
    // Read from the new pack, the history is the same.
    versions.insert(0, (261, after.clone()));
    moves.insert(0, (262, after.clone()));
    assert_eq!(seq_to(&env, &["bot"], Some("add")), versions);
    assert_eq!(seq_to(&env, &["bot", "--label", "canary"], None), moves);
    assert_eq!(show("bot~268"), "v1\n");
    assert_eq!(show("bot@canary~270"), "v1\n");
    assert_fsck_clean(env.run(&["fsck"]));
    commit_all(&env, "after the merge");
    assert_logs_only_grow(&env, "HEAD~1", "HEAD");
}

/// A label moved back and forth between two versions on both branches,
/// past the end of the first shard on each, so that each branch packs it.
/// Most records of the log then share most of their bytes (the same `from`
/// and `to`): when packing deleted the packed record files, git's rename
/// detection paired the files a branch deleted with the other branch's new
/// records and reported rename/rename and rename/delete conflicts. Nothing
/// is deleted now, so git has nothing to pair.
#[test]
fn a_label_toggled_past_a_pack_on_both_branches_merges() {
    let Some(env) = repo("a_label_toggled_past_a_pack_on_both_branches_merges") else {
        return;
    };
    let ids = [env.add("bot", "one\n", &[]), env.add("bot", "two\n", &[])];
    let toggle = |times: usize| {
        for i in 0..times {
            env.run(&["label", "bot", "canary", &ids[i % 2]]).ok();
        }
    };
    // 250 moves (one, two, one, …), written directly: canary is on two.
    let moves: Vec<String> = (0..250).map(|i| ids[i % 2].clone()).collect();
    write_log(&env, "@canary", &moves, "");
    assert_fsck_clean(env.run(&["fsck"]));
    commit_all(&env, "250 moves of canary");

    branch(&env, "a", "main");
    toggle(11);
    let a_pack = assert_packed(&env, "@canary", 0);
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![a_pack.clone()]), (5, vec![])]
    );
    commit_all(&env, "a: 11 moves");
    let a_canary = log_lines(&env, &["bot", "--label", "canary"]);
    branch(&env, "b", "main");
    // Ends on `one`, as branch a does: the ref merges cleanly.
    toggle(9);
    let b_pack = assert_packed(&env, "@canary", 0);
    assert_eq!(
        shards(&env, "@canary"),
        [(256, vec![b_pack.clone()]), (3, vec![])]
    );
    commit_all(&env, "b: 9 moves");
    let b_canary = log_lines(&env, &["bot", "--label", "canary"]);
    assert_logs_only_grow(&env, "main", "a");
    assert_logs_only_grow(&env, "main", "b");

    assert_merges_cleanly(&env, "a", "b");
    assert_fsck_clean(env.run(&["fsck"]));
    let mut packs = vec![a_pack, b_pack];
    packs.sort();
    assert_eq!(shards(&env, "@canary"), [(262, packs), (8, vec![])]);
    let canary = log_lines(&env, &["bot", "--label", "canary"]);
    assert_eq!(canary.len(), 270, "no record twice");
    assert_eq!(
        canary.iter().cloned().collect::<BTreeSet<_>>(),
        union(&a_canary, &b_canary)
    );
    assert_eq!(env.run(&["show", "bot@canary"]).ok().stdout, "one\n");
}
