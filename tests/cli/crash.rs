//! promptrel never loses a release: crashes and I/O errors at every write
//! step of every command that writes, and a lock that dies with its holder.
//!
//! - Crashes: `PROMPTREL_CRASH_AT=N` aborts the process at the N-th durable
//!   write step, as a power cut would. For N = 1, 2, … until the command runs
//!   to completion, the store left behind must keep everything acknowledged
//!   before, show readers the old or the new state of each label (never an
//!   error), show `fsck` only crash leftovers, and become exactly "before" or
//!   "after", file by file, through `fsck --repair` or through the next
//!   writer.
//! - Faults: `PROMPTREL_FAIL_AT=N` makes the N-th step fail with an I/O error
//!   instead (disk full; `N:eio` for EIO). The command must exit 2 with one
//!   `error:` line naming the file, and leave the store byte-for-byte as it
//!   was. A real kernel write limit (`ulimit -f`) checks the same without
//!   injection.
//!
//! `cargo test --test cli crash -- --nocapture` prints the crash points
//! exercised per command.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Run, TestEnv, finish};

type Snapshot = BTreeMap<PathBuf, Vec<u8>>;

/// How `support::snapshot_dir` records a folder.
const DIR: &[u8] = b"<dir>";

const V1: &str = "You are a checkout assistant.\nExplain every option in detail.\n";
const V2: &str = "You are a checkout assistant.\nAnswer in two sentences.\n";
const V3: &str = "You are a checkout assistant.\nAnswer in one sentence.\n";
const V4: &str = "You are a checkout assistant.\nAnswer in one word.\n";
const REFUND: &str = "Refund politely.\n";
const GREETER: &str = "Say hello.\n";

/// The time every command under test records, so that a crashed run, an
/// uninterrupted run and a re-run write the same bytes.
const WHEN: &str = "2026-03-01T12:00:00Z";

/// What `fsck` may find after a crash: nothing else.
const CRASH_LEFTOVERS: [&str; 3] = ["temp-file", "ref-behind-log", "pending-release"];

fn id_of(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// checkout-bot: v1, v2, v3 added with `--label staging`, v1 then v2
/// promoted to prod; support/refund-bot: one version on staging.
fn released_store() -> TestEnv {
    let env = TestEnv::init();
    env.add("checkout-bot", V1, &["-m", "first", "--label", "staging"]);
    env.promote("checkout-bot", "staging", "prod", "first release");
    env.add("checkout-bot", V2, &["-m", "second", "--label", "staging"]);
    env.promote("checkout-bot", "staging", "prod", "second release");
    env.add("checkout-bot", V3, &["-m", "third", "--label", "staging"]);
    env.add("support/refund-bot", REFUND, &["--label", "staging"]);
    env
}

/// What earlier crashes leave, for `fsck --repair` to clean up: temp
/// files (a record's and a ref's), and prod one move behind its log.
fn crash_leftovers(env: &TestEnv) {
    let store = env.store();
    std::fs::write(
        store.join("logs/support/refund-bot@staging/.tmp-Lw8p2Q"),
        r#"{"time":"2026-02-01T09:00:00Z","action":"label","prompt":"support/ref"#,
    )
    .unwrap();
    std::fs::write(
        store.join("refs/checkout-bot/.tmp-Xq3v9A"),
        format!("{}\n", id_of(V3)),
    )
    .unwrap();
    let record = format!(
        r#"{{"time":"2026-02-01T09:00:00Z","action":"promote","prompt":"checkout-bot","label":"prod","seq":3,"from":"{}","to":"{}","author":"Ada Lovelace <ada@example.com>","message":"third release","source":"staging"}}"#,
        id_of(V2),
        id_of(V3)
    );
    env.write_record("checkout-bot", "@prod", &record);
}

/// Setup, not damage: staging split between v2 (90%) and v3 (10%), for
/// `split --clear` to end.
fn split_staging(env: &TestEnv) {
    let args = words("split checkout-bot staging {v2}=90 {v3}=10 -m ab", env);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&args).ok();
}

/// A release of staging to prod of both prompts (both had prod), to roll back.
fn released_once(env: &TestEnv) {
    env.promote("support/refund-bot", "staging", "prod", "first");
    env.add(
        "support/refund-bot",
        "Refund politely, today.\n",
        &["--label", "staging"],
    );
    let run = env
        .run(&["release", "staging", "prod", "--all", "-m", "spring"])
        .ok();
    assert!(
        run.stdout.starts_with("released staging to prod"),
        "{}",
        run.stdout
    );
}

/// staging split (see [`split_staging`]), then released to prod as in
/// [`released_once`]: prod holds the split, for a rollback of the release.
fn split_released_once(env: &TestEnv) {
    split_staging(env);
    released_once(env);
}

/// The id of the newest release, from the release log's file names.
fn newest_release(env: &TestEnv) -> String {
    let newest = release_files(env).into_iter().max().expect("a release");
    newest
        .file_name()
        .unwrap()
        .to_string_lossy()
        .rsplit('-')
        .next()
        .unwrap()[..12]
        .to_string()
}

/// The release record files (`releases/+releases~NNNNNN/<seq>-<hash>`).
fn release_files(env: &TestEnv) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for shard in std::fs::read_dir(env.store().join("releases")).unwrap() {
        let shard = shard.unwrap().path();
        if shard.is_dir() {
            for f in std::fs::read_dir(&shard).unwrap() {
                let f = f.unwrap().path();
                if !f
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("pack-")
                {
                    files.push(f);
                }
            }
        }
    }
    files
}

/// prod moved 254 more times (256 records: a full shard, unpacked): the
/// next move starts a shard and packs the full one. The records are
/// written as promptrel writes them (a rollback back and forth each).
fn long_prod_history(env: &TestEnv) {
    let (v1, v2) = (id_of(V1), id_of(V2));
    for seq in 3..=256u64 {
        let (from, to) = if seq % 2 == 1 { (&v2, &v1) } else { (&v1, &v2) };
        let line = format!(
            r#"{{"time":"2026-02-01T09:00:00Z","action":"rollback","prompt":"checkout-bot","label":"prod","seq":{seq},"from":"{from}","to":"{to}","author":"Ada Lovelace <ada@example.com>","message":"again {seq}"}}"#
        );
        env.write_record("checkout-bot", "@prod", &line);
    }
    std::fs::write(
        env.store().join("refs/checkout-bot/@prod"),
        format!("{v2}\n"),
    )
    .unwrap();
    assert_eq!(env.log_files("checkout-bot", "@prod").len(), 256);
    assert!(run_args(env, &["fsck"]).ok().stdout.ends_with(": ok\n"));
}

// ----- the commands that write ----------------------------------------------

/// One command that writes, run on the released store.
struct Mutation {
    what: &'static str,
    /// Split on spaces; `{v1}`, `{v2}` and `{v3}` are replaced by a prefix
    /// of that version's id.
    args: &'static str,
    stdin: Option<&'static str>,
    /// Damage added to the released store first.
    damage: Option<fn(&TestEnv)>,
    /// The next writer after a crash, when it is not the same command again.
    /// The same command again must end in exactly the uncrashed end state.
    next: Option<&'static str>,
    /// Its write steps: the crash points exercised.
    steps: usize,
    /// All or nothing: after a crash, readers see every label as it was
    /// before, or every label as it is after (a release).
    atomic: bool,
}

#[rustfmt::skip]
fn mutations() -> Vec<Mutation> {
    let m = |what, args, stdin, steps| Mutation { what, args, stdin, damage: None, next: None, steps, atomic: false };
    vec![
        // New object folder, object (temp, rename), the new +versions
        // folder, the first record (temp, rename).
        m("add (new prompt)", "add greeter - -m hello", Some(GREETER), 6),
        // The same (6), then staging's first record in a new log folder
        // (folder, temp, rename) and its ref in a new refs folder (folder,
        // temp, rename).
        m("add (new prompt) --label", "add greeter - -m hello --label staging", Some(GREETER), 12),
        // New object folder and object (3), +versions record (temp, rename),
        // staging's record and ref (4), qa's first record in a new log
        // folder and its new ref (5).
        m("add --label", "add checkout-bot - -m fourth --label staging --label qa", Some(V4), 14),
        // The object exists: only the +versions record.
        m("add (existing content)", "add checkout-bot - -m back-to-the-first", Some(V1), 2),
        m("label", "label checkout-bot staging prod -m pin", None, 4),
        m("promote", "promote checkout-bot staging prod -m third-release", None, 4),
        Mutation {
            // Re-running an undo that went through would undo one more
            // change (here: refused, nothing is left to undo); `--to prod`
            // is a writer of prod that keeps it where it is.
            next: Some("rollback checkout-bot prod --to prod -m settle"),
            ..m("rollback", "rollback checkout-bot prod -m too-terse", None, 4)
        },
        m("rollback --to", "rollback checkout-bot staging --to {v1} -m back", None, 4),
        // The record (temp, rename) and the ref's split line (temp, rename).
        m("split", "split checkout-bot staging {v3}=90 {v1}=10 -m ab", None, 4),
        Mutation {
            damage: Some(split_staging),
            // `--clear VERSION`: a re-run finds it done and changes nothing.
            ..m("split --clear", "split checkout-bot staging --clear {v2} -m v2-won", None, 4)
        },
        Mutation {
            damage: Some(split_staging),
            // prod takes the whole split.
            ..m("promote (a split)", "promote checkout-bot staging prod -m ab-on-prod", None, 4)
        },
        Mutation {
            damage: Some(split_staging),
            // Undoing the split restores one version.
            next: Some("label checkout-bot staging {v3} -m settle"),
            ..m("rollback (of a split)", "rollback checkout-bot staging -m no-ab", None, 4)
        },
        Mutation {
            damage: Some(long_prod_history),
            // The record in a new shard folder (folder, temp, rename), the
            // ref (temp, rename), then the pack of the full shard (temp,
            // rename). Nothing is removed.
            ..m("promote (packs the log)", "promote checkout-bot staging prod -m packed", None, 7)
        },
        Mutation {
            // The pending release in a new folder (folder, temp, rename),
            // then per prompt its record and ref (temp, rename each; refund-
            // bot's first prod record in a new shard folder: 9), the release
            // record in a new shard folder (3); removing the pending release
            // is not a durable step.
            atomic: true,
            ..m("release", "release staging prod --all -m spring", None, 15)
        },
        Mutation {
            damage: Some(released_once),
            // The same, in the existing folder (2 + 8 + 2).
            atomic: true,
            next: Some("rollback checkout-bot prod --to prod -m settle"),
            ..m("rollback --release", "rollback --release {release} -m undo-spring", None, 12)
        },
        Mutation {
            damage: Some(split_staging),
            // As `release`; checkout-bot's prod takes staging's whole split.
            atomic: true,
            ..m("release (a split)", "release staging prod --all -m ab-everywhere", None, 15)
        },
        Mutation {
            damage: Some(split_released_once),
            // As `rollback --release`; prod goes back from the split to v2.
            // The next writer moves another label: before the commit point
            // prod is still split, which `--to prod` cannot name.
            atomic: true,
            next: Some("label checkout-bot staging {v3} -m settle"),
            ..m("rollback --release (of a split)", "rollback --release {release} -m no-ab", None, 12)
        },
        Mutation {
            damage: Some(crash_leftovers),
            // Moves prod forward (temp, rename); removing temp files is not
            // a durable step.
            ..m("fsck --repair", "fsck --repair", None, 2)
        },
    ]
}

/// `args` split on spaces, with `{v1}`, `{v2}` and `{v3}` (a prefix of
/// that version's id) and `{release}` (the newest release of the store in
/// `env`) filled in.
fn words(args: &str, env: &TestEnv) -> Vec<String> {
    let [v1, v2, v3] = [V1, V2, V3].map(|v| id_of(v)[..8].to_string());
    args.split(' ')
        .map(|a| match a {
            "{release}" => newest_release(env),
            a => a
                .replace("{v1}", &v1)
                .replace("{v2}", &v2)
                .replace("{v3}", &v3),
        })
        .collect()
}

impl Mutation {
    fn args(&self, env: &TestEnv) -> Vec<String> {
        words(self.args, env)
    }
}

// ----- running ----------------------------------------------------------------

/// Run `args` at [`WHEN`] with extra environment and optional stdin.
fn exec(env: &TestEnv, args: &[String], vars: &[(&str, String)], stdin: Option<&str>) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = env.command(&args);
    cmd.env("PROMPTREL_DATE", WHEN);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    spawn(&mut cmd, stdin)
}

fn spawn(cmd: &mut Command, stdin: Option<&str>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        // Tiny: fits the pipe buffer whether or not the child reads it.
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    finish(child.wait_with_output().unwrap())
}

fn run_args(env: &TestEnv, args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    exec(env, &args, &[], None)
}

/// A new env holding a copy of `store` (a snapshot of a `.promptrel` folder).
fn env_with(store: &Snapshot) -> TestEnv {
    let env = TestEnv::new();
    let dir = env.store();
    // Sorted: every folder comes before what it holds.
    for (rel, bytes) in store {
        let path = dir.join(rel);
        if bytes == DIR {
            std::fs::create_dir_all(path).unwrap();
        } else {
            std::fs::write(path, bytes).unwrap();
        }
    }
    env
}

fn is_temp(rel: &Path) -> bool {
    rel.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
}

/// A release committed but not completed: a crash leftover that `fsck`
/// reports (`pending-release`) and the next writer completes.
fn is_pending(rel: &Path) -> bool {
    rel == Path::new("releases/+pending")
}

fn without_temps(snapshot: &Snapshot) -> Snapshot {
    snapshot
        .iter()
        .filter(|(rel, _)| !is_temp(rel))
        .map(|(rel, bytes)| (rel.clone(), bytes.clone()))
        .collect()
}

/// The paths where two snapshots differ.
fn differences(a: &Snapshot, b: &Snapshot) -> Vec<PathBuf> {
    a.keys()
        .chain(b.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Problems `fsck --json` finds: (kind, path).
fn fsck(env: &TestEnv) -> Vec<(String, String)> {
    let run = run_args(env, &["fsck", "--json"]);
    assert!(
        run.code == 0 || run.code == 1,
        "fsck failed: {}{}",
        run.stdout,
        run.stderr
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Each prompt's labels, from `list --json`.
fn labels(env: &TestEnv) -> BTreeMap<String, BTreeMap<String, String>> {
    let run = run_args(env, &["list", "--json"]).ok();
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    list["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let labels = p["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(l, id)| (l.clone(), id.as_str().unwrap().to_string()))
                .collect();
            (p["name"].as_str().unwrap().to_string(), labels)
        })
        .collect()
}

fn log_len(env: &TestEnv) -> usize {
    run_args(env, &["log", "--json"])
        .ok()
        .stdout
        .lines()
        .count()
}

/// What a reader gets for `show REV`: exit code, stdout, stderr.
type Answer = (i32, Vec<u8>, String);

fn answers(env: &TestEnv, revs: &[String]) -> Vec<Answer> {
    let root = env.root.display().to_string();
    revs.iter()
        .map(|rev| {
            // With a key: a split label's answer must not change from run to run.
            let run = run_args(env, &["show", rev, "--key", "crash-test"]);
            (
                run.code,
                run.stdout_bytes,
                run.stderr.replace(&root, "[ROOT]"),
            )
        })
        .collect()
}

/// "No such prompt" or "no such label": what `show` says of what does not exist.
fn absent((code, stdout, stderr): &Answer) -> bool {
    *code == 2
        && stdout.is_empty()
        && (stderr.starts_with("error: no prompt named ") || stderr.contains(" has no label "))
}

/// The store before and after an uninterrupted run, and what readers see.
struct Expected {
    before: Snapshot,
    after: Snapshot,
    /// Every prompt and every `NAME@LABEL` of either state.
    revs: Vec<String>,
    answers_before: Vec<Answer>,
    answers_after: Vec<Answer>,
    log_before: usize,
    log_after: usize,
    labels_before: BTreeMap<String, BTreeMap<String, String>>,
    labels_after: BTreeMap<String, BTreeMap<String, String>>,
}

fn expected(m: &Mutation) -> Expected {
    let start = released_store();
    if let Some(damage) = m.damage {
        damage(&start);
    }
    let before = start.snapshot();
    let end = env_with(&before);
    exec(&end, &m.args(&end), &[], m.stdin).ok();
    let after = end.snapshot();
    let (labels_before, labels_after) = (labels(&start), labels(&end));
    let mut revs = BTreeSet::new();
    for (name, labels) in labels_before.iter().chain(&labels_after) {
        revs.insert(name.clone());
        revs.extend(labels.keys().map(|l| format!("{name}@{l}")));
    }
    let revs: Vec<String> = revs.into_iter().collect();
    Expected {
        answers_before: answers(&start, &revs),
        answers_after: answers(&end, &revs),
        log_before: log_len(&start),
        log_after: log_len(&end),
        before,
        after,
        revs,
        labels_before,
        labels_after,
    }
}

/// Every file of `now` must be its version from before or after the
/// command (every store file is written whole, records included). Nothing
/// that existed before may be gone. Temp files aside.
fn check_between(exp: &Expected, now: &Snapshot) -> Vec<String> {
    let mut wrong = Vec::new();
    for (rel, bytes) in now
        .iter()
        .filter(|(rel, _)| !is_temp(rel) && !is_pending(rel))
    {
        let before = exp.before.get(rel);
        let after = exp.after.get(rel);
        if before == Some(bytes) || after == Some(bytes) {
            continue;
        }
        wrong.push(format!(
            "{}: neither its state before nor after the command ({:?})",
            rel.display(),
            String::from_utf8_lossy(bytes)
        ));
    }
    for rel in exp.before.keys().filter(|rel| !is_temp(rel)) {
        if !now.contains_key(rel) {
            wrong.push(format!("{}: existed before, now gone", rel.display()));
        }
    }
    wrong
}

/// The store as readers see it: every file but temp files and packs (a
/// pack is a copy of its shard's records, FORMAT.md §6.5).
fn logical(snapshot: &Snapshot) -> Snapshot {
    snapshot
        .iter()
        .filter(|(rel, _)| {
            !is_temp(rel)
                && !rel
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("pack-"))
        })
        .map(|(rel, bytes)| (rel.clone(), bytes.clone()))
        .collect()
}

/// Crash `m` at step `n` and check what is left; false when the command
/// ran to completion instead (`n` is past its last step).
fn crash_at(m: &Mutation, exp: &Expected, n: usize) -> bool {
    let ctx = format!("{} crashed at step {n}", m.what);
    let env = env_with(&exp.before);
    let run = exec(
        &env,
        &m.args(&env),
        &[("PROMPTREL_CRASH_AT", n.to_string())],
        m.stdin,
    );
    if run.code == 0 {
        let diff = differences(&env.snapshot(), &exp.after);
        assert!(
            diff.is_empty(),
            "{}: differs from the uncrashed run: {diff:?}",
            m.what
        );
        return false;
    }
    assert!(
        run.stderr.contains(&format!("injected crash at step {n} ")),
        "{ctx}: expected a crash, got exit {}: {}",
        run.code,
        run.stderr
    );
    let crashed = env.snapshot();

    // (b) Everything acknowledged before is intact; only crash leftovers.
    let wrong = check_between(exp, &crashed);
    assert!(wrong.is_empty(), "{ctx}:\n{}", wrong.join("\n"));
    let problems = fsck(&env);
    for (kind, path) in &problems {
        assert!(
            CRASH_LEFTOVERS.contains(&kind.as_str()),
            "{ctx}: fsck found {kind} in {path}: {problems:?}"
        );
    }
    for rel in crashed.keys().filter(|rel| is_temp(rel)) {
        let rel = rel.to_string_lossy().replace('\\', "/");
        assert!(
            problems.contains(&("temp-file".to_string(), rel.clone())),
            "{ctx}: fsck missed {rel}"
        );
    }

    // (c) Readers, without any repair, see the old or the new state of each
    // label and prompt, never an error the store did not give before. (A
    // label that did not exist may still not exist in a prompt that now
    // does: `add --label` adds, then moves labels.)
    let now = answers(&env, &exp.revs);
    for (i, rev) in exp.revs.iter().enumerate() {
        assert!(
            now[i] == exp.answers_before[i]
                || now[i] == exp.answers_after[i]
                || absent(&exp.answers_before[i]) && absent(&now[i]),
            "{ctx}: show {rev} gave exit {} {:?} {:?}, neither the old nor the new answer",
            now[i].0,
            String::from_utf8_lossy(&now[i].1),
            now[i].2
        );
    }
    if m.atomic {
        assert!(
            now == exp.answers_before || now == exp.answers_after,
            "{ctx}: readers see part of the release: {:?}",
            exp.revs
                .iter()
                .zip(&now)
                .map(|(rev, a)| (rev, a.0, String::from_utf8_lossy(&a.1).into_owned()))
                .collect::<Vec<_>>()
        );
    }
    for (name, labels) in labels(&env) {
        for (label, id) in labels {
            let was = exp.labels_before.get(&name).and_then(|l| l.get(&label));
            let will = exp.labels_after.get(&name).and_then(|l| l.get(&label));
            assert!(
                was == Some(&id) || will == Some(&id),
                "{ctx}: list shows {name}@{label} = {id}"
            );
        }
    }
    let logged = log_len(&env);
    assert!(
        (exp.log_before..=exp.log_after).contains(&logged),
        "{ctx}: log shows {logged} records, expected {}..={}",
        exp.log_before,
        exp.log_after
    );

    // `fsck --repair` makes it clean, each file exactly as before or after.
    let repaired = env_with(&crashed);
    run_args(&repaired, &["fsck", "--repair"]).ok();
    let run = run_args(&repaired, &["fsck"]).ok();
    assert!(run.stdout.ends_with(": ok\n"), "{ctx}: {}", run.stdout);
    let snapshot = repaired.snapshot();
    assert!(
        !snapshot.keys().any(|k| is_temp(k)),
        "{ctx}: temp files left"
    );
    let wrong = check_between(exp, &snapshot);
    assert!(wrong.is_empty(), "{ctx}, repaired:\n{}", wrong.join("\n"));

    // The next writer succeeds, without any repair, and leaves a clean store.
    let next = m
        .next
        .map_or_else(|| m.args(&env), |next| words(next, &env));
    let run = exec(&env, &next, &[], m.stdin);
    assert_eq!(run.code, 0, "{ctx}: the next writer failed: {}", run.stderr);
    let problems = fsck(&env);
    assert!(
        problems.iter().all(|(kind, _)| kind == "temp-file"),
        "{ctx}: after the next writer: {problems:?}"
    );
    if m.next.is_none() {
        let diff = differences(&without_temps(&env.snapshot()), &exp.after);
        assert!(
            diff.is_empty(),
            "{ctx}: the re-run did not finish the job: {diff:?}"
        );
    }
    true
}

/// Run `check` on every mutation, in parallel; returns its results in table order.
fn each_mutation<T: Send>(check: impl Fn(&Mutation) -> T + Sync) -> Vec<(&'static str, T)> {
    let table = mutations();
    std::thread::scope(|scope| {
        let handles: Vec<_> = table
            .iter()
            .map(|m| scope.spawn(|| (m.what, check(m))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn a_crash_at_any_write_step_loses_nothing() {
    let counts = each_mutation(|m| {
        let exp = expected(m);
        let mut n = 1;
        while crash_at(m, &exp, n) {
            n += 1;
        }
        n - 1
    });
    let mut total = 0;
    println!("crash points exercised per command:");
    for (what, count) in &counts {
        println!("  {count:>3}  {what}");
        total += count;
    }
    println!("  {total:>3}  in all");
    for (m, (_, count)) in mutations().iter().zip(&counts) {
        assert_eq!(*count, m.steps, "{}: write steps changed", m.what);
    }
}

// ----- I/O errors ---------------------------------------------------------------

/// The `error:` line of a failed command; checks the failure contract.
fn io_error(ctx: &str, env: &TestEnv, run: Run, injected: &str) -> String {
    let run = run.fails(2);
    let line = run.stderr.lines().next().unwrap().to_string();
    assert!(line.contains(injected), "{ctx}: {line}");
    let store = env.store().display().to_string();
    assert!(
        line.contains(&store),
        "{ctx}: the error names no store file: {line}"
    );
    line
}

/// Faults at every step of `m`; returns how many there were.
fn faults(m: &Mutation, spec: fn(usize) -> String, injected: &str) -> usize {
    let exp = expected(m);
    let mut n = 1;
    loop {
        let ctx = format!("{} failing at step {n}", m.what);
        let env = env_with(&exp.before);
        let run = exec(
            &env,
            &m.args(&env),
            &[("PROMPTREL_FAIL_AT", spec(n))],
            m.stdin,
        );
        if run.code == 0 {
            let now = env.snapshot();
            assert!(
                logical(&now) == logical(&exp.after),
                "{ctx}: differs from a run without faults: {:?}",
                differences(&now, &exp.after)
            );
            if differences(&now, &exp.after).is_empty() {
                return n - 1;
            }
            // The command succeeded and the fault hit the packing after it,
            // which is left to the next writer: the records are all there.
            n += 1;
            continue;
        }
        io_error(
            &ctx,
            &env,
            run,
            &format!("{injected} (injected at write step {n}: "),
        );
        let now = env.snapshot();
        if m.damage.is_none() {
            let diff = differences(&now, &exp.before);
            assert!(diff.is_empty(), "{ctx}: the store changed: {diff:?}");
        } else {
            // fsck --repair: each repair is made whole or not at all; the
            // ones made before the error stay made (they lose nothing).
            let wrong = check_between(&exp, &now);
            assert!(wrong.is_empty(), "{ctx}:\n{}", wrong.join("\n"));
            for (kind, path) in fsck(&env) {
                assert!(
                    CRASH_LEFTOVERS.contains(&kind.as_str()),
                    "{ctx}: {kind} {path}"
                );
            }
        }
        n += 1;
    }
}

#[test]
fn a_disk_full_error_at_any_write_step_leaves_the_store_unchanged() {
    let counts = each_mutation(|m| faults(m, |n| n.to_string(), "No space left on device"));
    println!("disk-full faults per command:");
    for (m, (what, count)) in mutations().iter().zip(&counts) {
        println!("  {count:>3}  {what}");
        // A fault at the last step of packing (its rename, done before the
        // fault fires) leaves the pack in place: the run is then exactly
        // the faultless one, so that step is not counted.
        let expected = m.steps - usize::from(what.contains("packs"));
        assert_eq!(*count, expected, "{what}: a fault point per crash point");
    }
}

#[test]
fn an_eio_error_at_any_write_step_leaves_the_store_unchanged() {
    let table = mutations();
    let m = &table[2];
    assert_eq!(m.what, "add --label");
    let count = faults(m, |n| format!("{n}:eio"), "Input/output error");
    assert_eq!(count, m.steps);
}

/// A real, kernel-made write error, no injection: `ulimit -f 0`
/// (RLIMIT_FSIZE) refuses to grow any file with EFBIG once SIGXFSZ is
/// ignored. The content exists already, so the first file the command
/// writes is its record.
#[cfg(unix)]
#[test]
fn a_real_write_error_leaves_the_store_unchanged() {
    if Command::new("bash").arg("-c").arg("true").output().is_err() {
        eprintln!("skipped: no bash");
        return;
    }
    let env = released_store();
    let args = [
        "add",
        "checkout-bot",
        "-",
        "-m",
        "back",
        "--label",
        "staging",
    ];
    let before = env.snapshot();
    let script = "trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"";
    let mut cmd = Command::new("bash");
    cmd.args(["-c", script, env!("CARGO_BIN_EXE_promptrel")])
        .args(args)
        .current_dir(&env.root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PROMPTREL_AUTHOR", "Ada Lovelace <ada@example.com>")
        .env("PROMPTREL_DATE", WHEN)
        .env("NO_COLOR", "1");
    let run = spawn(&mut cmd, Some(V1)).fails(2);
    let versions = env.store().join("logs/checkout-bot+versions/000000000004-");
    assert!(
        run.stderr
            .starts_with(&format!("error: writing {}", versions.display())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(os error 27)"),
        "EFBIG: {}",
        run.stderr
    );
    let diff = differences(&env.snapshot(), &before);
    assert!(diff.is_empty(), "the store changed: {diff:?}");
    // Without the limit the same command goes through.
    env.run_stdin(&args, V1.as_bytes()).ok();
    assert!(run_args(&env, &["fsck"]).ok().stdout.ends_with(": ok\n"));
}

// ----- the lock -------------------------------------------------------------------

#[test]
fn a_writer_that_dies_holding_the_lock_blocks_no_one() {
    let env = released_store();
    // Dies after logging the move, before the ref is renamed: the lock was held.
    let args: Vec<String> = ["label", "checkout-bot", "staging", "prod", "-m", "pin"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let run = exec(&env, &args, &[("PROMPTREL_CRASH_AT", "3".into())], None);
    assert!(
        run.stderr.contains("injected crash at step 3"),
        "{}",
        run.stderr
    );
    // The OS dropped the lock with the process: the next writer does not
    // wait (a timeout of 0 tries the lock once).
    let start = Instant::now();
    let mut cmd = env.command(&["label", "checkout-bot", "staging", "prod", "-m", "pin"]);
    cmd.env("PROMPTREL_LOCK_TIMEOUT", "0");
    let run = spawn(&mut cmd, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(start.elapsed() < Duration::from_secs(5));
    // It settled the logged move rather than logging it twice.
    assert_eq!(
        run_args(&env, &["show", "checkout-bot@staging"])
            .ok()
            .stdout,
        V2
    );
    assert_eq!(env.log_lines("checkout-bot", "@staging").len(), 4);
    let problems = fsck(&env);
    assert!(
        problems.iter().all(|(k, _)| k == "temp-file"),
        "{problems:?}"
    );
}

#[test]
fn a_live_lock_holder_makes_writers_give_up_with_exit_4() {
    let env = released_store();
    let before = env.snapshot();
    let lock_path = env.store().join("lock");
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    let start = Instant::now();
    let mut cmd = env.command(&["label", "checkout-bot", "qa", "staging"]);
    cmd.env("PROMPTREL_LOCK_TIMEOUT", "0.3");
    let run = spawn(&mut cmd, None).fails(4);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "gave up after {waited:?}"
    );
    assert!(
        run.stderr.contains(&format!(
            "{} held for more than 300 ms",
            lock_path.display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\nhint: another promptrel command is writing"),
        "{}",
        run.stderr
    );
    // Readers never take the lock.
    assert_eq!(
        run_args(&env, &["show", "checkout-bot@prod"]).ok().stdout,
        V2
    );
    // (Snapshot after unlocking: Windows locks forbid reading the file.)
    drop(lock);
    assert!(differences(&env.snapshot(), &before).is_empty());
    run_args(&env, &["label", "checkout-bot", "qa", "staging"]).ok();
}

#[test]
fn a_malformed_failpoint_is_refused() {
    let env = released_store();
    for spec in ["x", "3:full", "-1"] {
        let mut cmd = env.command(&["label", "checkout-bot", "qa", "staging"]);
        cmd.env("PROMPTREL_FAIL_AT", spec);
        let run = spawn(&mut cmd, None).fails(2);
        assert_eq!(
            run.stderr,
            format!("error: PROMPTREL_FAIL_AT=\"{spec}\" is not STEP, STEP:enospc or STEP:eio\n")
        );
    }
}
