//! `promptrel fsck`: each kind of damage found and named by its file, what
//! `--repair` fixes (exactly the crash leftovers, nothing else), the JSON
//! report, and reads that never serve damaged bytes.
//!
//! The expected reports are inline snapshots; refresh them with
//! `SNAPSHOTS=overwrite cargo test --test cli fsck` and read every one.

use std::collections::BTreeSet;

use serde_json::Value;
use snapbox::data::Data;
use snapbox::{assert_data_eq, str};

use crate::support::{Run, TestEnv};

const V1: &str = "You are a checkout assistant.\nExplain every option in detail.\n";
const V2: &str = "You are a checkout assistant.\nAnswer in two sentences.\n";
const V3: &str = "You are a checkout assistant.\nAnswer in one sentence.\n";
const REFUND: &str = "Refund politely.\n";

/// What `--repair` fixes; every other kind it leaves alone.
const REPAIRABLE: [&str; 2] = ["temp-file", "ref-behind-log"];

fn id_of(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

/// checkout-bot: v1 promoted from staging to prod, v2 on staging, v3 added
/// without a label; support/refund-bot: one version on staging.
fn store() -> TestEnv {
    let env = TestEnv::init();
    env.add("checkout-bot", V1, &["-m", "first", "--label", "staging"]);
    env.promote("checkout-bot", "staging", "prod", "release");
    env.add("checkout-bot", V2, &["-m", "second", "--label", "staging"]);
    env.add("checkout-bot", V3, &["-m", "third"]);
    env.add("support/refund-bot", REFUND, &["--label", "staging"]);
    env
}

fn path(env: &TestEnv, rel: &str) -> std::path::PathBuf {
    env.store().join(rel)
}

fn object(env: &TestEnv, text: &str) -> std::path::PathBuf {
    let id = id_of(text);
    env.store().join("objects").join(&id[..2]).join(&id[2..])
}

/// A label record, as promptrel writes it (one line, without `\n`).
fn move_record(name: &str, label: &str, seq: u64, from: Option<&str>, to: &str) -> String {
    let from = from.map_or("null".to_string(), |f| format!("\"{}\"", id_of(f)));
    format!(
        r#"{{"time":"2026-02-01T09:00:00Z","action":"label","prompt":"{name}","label":"{label}","seq":{seq},"from":{from},"to":"{}","author":"Ada Lovelace <ada@example.com>","message":""}}"#,
        id_of(to)
    )
}

/// A conflicted ref, as `git merge` leaves it.
fn conflict(ours: &str, theirs: &str) -> String {
    format!(
        "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> other-branch\n",
        id_of(ours),
        id_of(theirs)
    )
}

fn fsck(env: &TestEnv, args: &[&str]) -> Run {
    let mut all = vec!["fsck"];
    all.extend_from_slice(args);
    let run = env.run(&all);
    assert!(
        run.stderr.is_empty(),
        "fsck wrote to stderr: {}",
        run.stderr
    );
    run
}

fn kinds(env: &TestEnv) -> BTreeSet<(String, String, bool)> {
    let run = fsck(env, &["--json"]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["path"].as_str().unwrap().to_string(),
                p["repaired"].as_bool().unwrap(),
            )
        })
        .collect()
}

// ----- a clean store ------------------------------------------------------------

#[test]
fn a_clean_store_is_ok() {
    let env = store();
    let run = fsck(&env, &[]);
    assert_eq!(run.code, 0);
    assert_data_eq!(
        run.stdout,
        str![[r#"
checked 4 objects, 3 refs, 8 records: ok

"#]]
    );
    // --repair on a clean store changes nothing and says the same.
    let before = env.snapshot();
    let run = fsck(&env, &["--repair"]);
    assert_eq!(run.code, 0);
    assert_data_eq!(
        run.stdout,
        str![[r#"
checked 4 objects, 3 refs, 8 records: ok

"#]]
    );
    assert_eq!(env.snapshot(), before);
    // An empty store too.
    let env = TestEnv::init();
    assert_data_eq!(
        fsck(&env, &[]).ok().stdout,
        str![[r#"
checked 0 objects, 0 refs, 0 records: ok

"#]]
    );
}

// ----- each kind of problem ---------------------------------------------------------

/// One kind of damage, what `fsck` reports, and the file it must name.
struct Damage {
    kind: &'static str,
    /// The file named (relative to `.promptrel`).
    path: &'static str,
    damage: fn(&TestEnv),
    report: Data,
}

fn damage(
    kind: &'static str,
    path: &'static str,
    damage: fn(&TestEnv),
    report: impl Into<Data>,
) -> Damage {
    Damage {
        kind,
        path,
        damage,
        report: report.into(),
    }
}

#[rustfmt::skip]
fn damages() -> Vec<Damage> {
    vec![
        damage("corrupt-object", "objects/{v1}", |env| {
            let path = object(env, V1);
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[0] ^= 0x20;
            std::fs::write(path, bytes).unwrap();
        }, str![[r#"
problem: .promptrel/objects/e7/ce8629474464fa5896ea1640b40506f9e4f12cd7c22b685077eda501039362: object e7ce86294744 does not match its content (hashes to 887fbbe40dc7); refusing to serve it [corrupt-object]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("stray-file", "objects/notes.txt", |env| {
            std::fs::write(path(env, "objects/notes.txt"), "hello").unwrap();
        }, str![[r#"
problem: .promptrel/objects/notes.txt: not an object (objects are objects/<2 hex>/<62 hex>) [stray-file]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("bad-ref", "refs/checkout-bot/@prod", |env| {
            std::fs::write(path(env, "refs/checkout-bot/@prod"), "v1\n").unwrap();
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/@prod: a label file must hold one 64-digit version id, or a split (`<id>=<weight>` pairs sorted by id, the weights adding up to 100) [bad-ref]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("missing-object", "refs/support/refund-bot/@staging", |env| {
            std::fs::remove_file(object(env, REFUND)).unwrap();
        }, str![[r#"
problem: .promptrel/logs/support/refund-bot+versions: seq 1: version 8b47274d8a27 is not in objects/ [missing-object]
problem: .promptrel/logs/support/refund-bot@staging: seq 1: version 8b47274d8a27 is not in objects/ [missing-object]
problem: .promptrel/refs/support/refund-bot/@staging: support/refund-bot@staging points to 8b47274d8a27, which is not in objects/ [missing-object]
checked 3 objects, 3 refs, 8 records: 3 problems

"#]]),
        damage("ref-behind-log", "refs/checkout-bot/@prod", |env| {
            // The move was recorded; the ref was not renamed (a crash).
            env.write_record("checkout-bot", "@prod", &move_record("checkout-bot", "prod", 2, Some(V1), V2));
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/@prod: checkout-bot@prod is one move behind its changelog (interrupted write); the move to afab22d28124 completes it [ref-behind-log]
checked 4 objects, 3 refs, 9 records: 1 problem

"#]]),
        damage("ref-disagrees", "refs/checkout-bot/@staging", |env| {
            // A hand edit: neither the log's last value nor the one before.
            std::fs::write(path(env, "refs/checkout-bot/@staging"), format!("{}\n", id_of(V3))).unwrap();
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/@staging: checkout-bot@staging points to b82ac6c739f5 but its changelog ends at afab22d28124.
if that is the value you want, record it: `promptrel label checkout-bot staging b82ac6c739f5 -m "settle merge"` [ref-disagrees]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("merge-conflict", "refs/checkout-bot/@staging", |env| {
            std::fs::write(path(env, "refs/checkout-bot/@staging"), conflict(V2, V3)).unwrap();
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/@staging: checkout-bot@staging was moved differently on two git branches and the merge left both values in the file:
  afab22d28124: label 2026-01-02T10:03:00Z, Ada Lovelace <ada@example.com>: second
  b82ac6c739f5
settle it by choosing one: `promptrel label checkout-bot staging afab22d28124 -m "settle merge"` or `promptrel label checkout-bot staging b82ac6c739f5 -m "settle merge"` [merge-conflict]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("unsettled-merge", "refs/checkout-bot/@staging", |env| {
            // Another branch moved staging to v3 while this one moved it to
            // v2; the merge kept v2 in the ref.
            let mut line = move_record("checkout-bot", "staging", 2, Some(V1), V3);
            line = line.replace("\"message\":\"\"", "\"message\":\"try three\"");
            env.write_record("checkout-bot", "@staging", &line);
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/@staging: checkout-bot@staging was moved differently on two git branches (merged); the label now points to afab22d28124:
  afab22d28124: label 2026-01-02T10:03:00Z, Ada Lovelace <ada@example.com>: second
  b82ac6c739f5: label 2026-02-01T09:00:00Z, Ada Lovelace <ada@example.com>: try three
settle it by choosing one: `promptrel label checkout-bot staging afab22d28124 -m "settle merge"` or `promptrel label checkout-bot staging b82ac6c739f5 -m "settle merge"` [unsettled-merge]
checked 4 objects, 3 refs, 9 records: 1 problem

"#]]),
        damage("damaged-record", "logs/checkout-bot@staging/000000000002-…", |env| {
            std::fs::write(env.log_file("checkout-bot", "@staging", 2), "garbage\n").unwrap();
        }, str![[r#"
problem: .promptrel/logs/checkout-bot@staging/000000000002-4d6a9f8e7e5623d5: line 1: damaged record: expected value at column 1 [damaged-record]
checked 4 objects, 3 refs, 6 records: 1 problem

"#]]),
        damage("misplaced-record", "logs/checkout-bot+versions", |env| {
            let file = env.log_file("checkout-bot", "+versions", 1);
            let line = std::fs::read_to_string(&file).unwrap();
            std::fs::remove_file(file).unwrap();
            let line = line.trim_end().replace(r#""prompt":"checkout-bot""#, r#""prompt":"support""#);
            env.write_record("checkout-bot", "+versions", &line);
        }, str![[r#"
problem: .promptrel/logs/checkout-bot+versions: seq 1: an add record for support does not belong in this log [misplaced-record]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("missing-record", "logs/checkout-bot@staging", |env| {
            std::fs::remove_file(env.log_file("checkout-bot", "@staging", 1)).unwrap();
        }, str![[r#"
problem: .promptrel/logs/checkout-bot@staging: no record with seq 1: a record file was deleted? [missing-record]
checked 4 objects, 3 refs, 7 records: 1 problem

"#]]),
        damage("broken-chain", "logs/checkout-bot@staging", |env| {
            // staging "moved from" v3, where it never was.
            env.write_record("checkout-bot", "@staging", &move_record("checkout-bot", "staging", 3, Some(V3), V2));
        }, str![[r#"
problem: .promptrel/logs/checkout-bot@staging: seq 3: moves from b82ac6c739f5, a value this log never reached before (edited by hand?) [broken-chain]
checked 4 objects, 3 refs, 9 records: 1 problem

"#]]),
        damage("unknown-version", "logs/checkout-bot@qa", |env| {
            // Pointed at another prompt's version by hand.
            env.write_record("checkout-bot", "@qa", &move_record("checkout-bot", "qa", 1, None, REFUND));
            std::fs::write(path(env, "refs/checkout-bot/@qa"), format!("{}\n", id_of(REFUND))).unwrap();
        }, str![[r#"
problem: .promptrel/logs/checkout-bot@qa: checkout-bot@qa moved to 8b47274d8a27, which is not a version of checkout-bot [unknown-version]
checked 4 objects, 4 refs, 9 records: 1 problem

"#]]),
        damage("stray-file", "logs/checkout-bot/+versions~000000/000000000001-…", |env| {
            // A log folder of format 2, or anything else that is not a record.
            let old = path(env, "logs/checkout-bot/+versions~000000");
            std::fs::create_dir_all(&old).unwrap();
            std::fs::write(old.join("000000000001-0123456789abcdef"), "{}\n").unwrap();
        }, str![[r#"
problem: .promptrel/logs/checkout-bot/+versions~000000/000000000001-0123456789abcdef: not a promptrel file (see FORMAT.md for the layout) [stray-file]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("temp-file", "refs/checkout-bot/.tmp-a1B2c3", |env| {
            std::fs::write(path(env, "refs/checkout-bot/.tmp-a1B2c3"), format!("{}\n", id_of(V3))).unwrap();
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/.tmp-a1B2c3: left by an interrupted write; nothing refers to it [temp-file]
checked 4 objects, 3 refs, 8 records: 1 problem

"#]]),
        damage("missing-log", "logs/support/refund-bot+versions", |env| {
            std::fs::remove_file(env.log_file("support/refund-bot", "+versions", 1)).unwrap();
        }, str![[r#"
problem: .promptrel/logs/support/refund-bot+versions: support/refund-bot has labels but no versions log [missing-log]
problem: .promptrel/logs/support/refund-bot@staging: support/refund-bot@staging moved to 8b47274d8a27, which is not a version of support/refund-bot [unknown-version]
checked 4 objects, 3 refs, 7 records: 2 problems

"#]]),
        damage("unlogged-label", "refs/checkout-bot/@qa", |env| {
            std::fs::write(path(env, "refs/checkout-bot/@qa"), format!("{}\n", id_of(V1))).unwrap();
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/@qa: checkout-bot@qa has no changelog; it was not set by promptrel [unlogged-label]
checked 4 objects, 4 refs, 8 records: 1 problem

"#]]),
        #[cfg(unix)]
        damage("not-a-file", "refs/checkout-bot/@prod", |env| {
            let target = env.outside().join("elsewhere");
            std::fs::write(&target, format!("{}\n", id_of(V1))).unwrap();
            let link = path(env, "refs/checkout-bot/@prod");
            std::fs::remove_file(&link).unwrap();
            std::os::unix::fs::symlink(target, link).unwrap();
        }, str![[r#"
problem: .promptrel/refs/checkout-bot/@prod: expected a regular file (symlinks are not followed) [not-a-file]
problem: .promptrel/refs/checkout-bot/@prod: a label file must be a regular file, not a symbolic link [bad-ref]
checked 4 objects, 3 refs, 8 records: 2 problems

"#]]),
    ]
}

fn check_damage(d: Damage) {
    let env = store();
    (d.damage)(&env);
    let file = d.path.replace("{v1}", &{
        let id = id_of(V1);
        format!("{}/{}", &id[..2], &id[2..])
    });
    let run = fsck(&env, &[]);
    assert_eq!(run.code, 1, "{}: {}", d.kind, run.stdout);
    assert_data_eq!(run.stdout.clone(), d.report);
    // A path ending in `-…` names a record file by its seq (its hash is
    // left out); a log is named by its folder.
    let named = |path: &str| match file.strip_suffix("-…") {
        Some(prefix) => path.starts_with(prefix),
        None => path == file,
    };
    assert!(
        run.stdout.lines().any(|l| l
            .strip_prefix("problem: .promptrel/")
            .and_then(|l| l.split_once(": "))
            .is_some_and(|(path, _)| named(path))),
        "{}: names {file}",
        d.kind
    );
    assert!(
        kinds(&env)
            .iter()
            .any(|(kind, path, repaired)| kind == d.kind && named(path) && !repaired),
        "{}",
        d.kind
    );

    let before = env.snapshot();
    let repair = fsck(&env, &["--repair"]);
    if REPAIRABLE.contains(&d.kind) {
        assert_eq!(repair.code, 0, "{}: {}", d.kind, repair.stdout);
        assert!(
            repair
                .stdout
                .contains(&format!("repaired: .promptrel/{file}: ")),
            "{}: {}",
            d.kind,
            repair.stdout
        );
        assert!(repair.stdout.ends_with(": ok\n"), "{}", repair.stdout);
        let after = fsck(&env, &[]);
        assert_eq!(after.code, 0, "{}: {}", d.kind, after.stdout);
        assert!(!after.stdout.contains("problem"), "{}", after.stdout);
    } else {
        // Left alone: the same report, and not a byte changed.
        assert_eq!(repair.code, 1, "{}", d.kind);
        assert_eq!(repair.stdout, run.stdout, "{}", d.kind);
        assert_eq!(
            env.snapshot(),
            before,
            "{}: --repair changed the store",
            d.kind
        );
    }
}

#[test]
fn each_problem_is_found_and_names_its_file() {
    let damages = damages();
    let mut seen = BTreeSet::new();
    for d in damages {
        seen.insert(d.kind);
        check_damage(d);
    }
    let expected = if cfg!(unix) { 17 } else { 16 };
    assert_eq!(seen.len(), expected, "{seen:?}");
}

#[test]
fn a_missing_folder_is_found() {
    let env = TestEnv::init();
    std::fs::remove_dir_all(env.store().join("objects")).unwrap();
    let run = fsck(&env, &[]);
    assert_eq!(run.code, 1);
    assert_data_eq!(
        run.stdout,
        str![[r#"
problem: .promptrel/objects: the objects folder is missing [missing-folder]
checked 0 objects, 0 refs, 0 records: 1 problem

"#]]
    );
    let before = env.snapshot();
    assert_eq!(fsck(&env, &["--repair"]).code, 1);
    assert_eq!(env.snapshot(), before, "not recreated by --repair");
}

// ----- a store with several problems ------------------------------------------------

/// Crash leftovers mixed with damage that needs a person.
fn several_problems(env: &TestEnv) {
    std::fs::write(path(env, "objects/.tmp-Aa1Bb2"), "partial").unwrap();
    std::fs::write(
        path(env, "logs/checkout-bot+versions/.tmp-Zz9Yy8"),
        "partial",
    )
    .unwrap();
    env.write_record(
        "checkout-bot",
        "@prod",
        &move_record("checkout-bot", "prod", 2, Some(V1), V2),
    );
    let v3 = object(env, V3);
    let mut bytes = std::fs::read(&v3).unwrap();
    bytes.push(b'!');
    std::fs::write(v3, bytes).unwrap();
    std::fs::write(path(env, "refs/checkout-bot/@staging"), conflict(V2, V3)).unwrap();
}

#[test]
fn repair_fixes_exactly_the_crash_leftovers() {
    let env = store();
    several_problems(&env);
    let run = fsck(&env, &[]);
    assert_eq!(run.code, 1);
    assert_data_eq!(
        run.stdout,
        str![[r#"
problem: .promptrel/logs/checkout-bot+versions/.tmp-Zz9Yy8: left by an interrupted write; nothing refers to it [temp-file]
problem: .promptrel/objects/.tmp-Aa1Bb2: left by an interrupted write; nothing refers to it [temp-file]
problem: .promptrel/objects/b8/2ac6c739f5444c4b26513580c57f6e1dbe54f2f9716a3681b9c394a217349d: object b82ac6c739f5 does not match its content (hashes to 86421a46997e); refusing to serve it [corrupt-object]
problem: .promptrel/refs/checkout-bot/@prod: checkout-bot@prod is one move behind its changelog (interrupted write); the move to afab22d28124 completes it [ref-behind-log]
problem: .promptrel/refs/checkout-bot/@staging: checkout-bot@staging was moved differently on two git branches and the merge left both values in the file:
  afab22d28124: label 2026-01-02T10:03:00Z, Ada Lovelace <ada@example.com>: second
  b82ac6c739f5
settle it by choosing one: `promptrel label checkout-bot staging afab22d28124 -m "settle merge"` or `promptrel label checkout-bot staging b82ac6c739f5 -m "settle merge"` [merge-conflict]
checked 4 objects, 3 refs, 9 records: 5 problems

"#]]
    );

    let before = env.snapshot();
    let repair = fsck(&env, &["--repair"]);
    let now = env.snapshot();
    assert_eq!(repair.code, 1, "problems remain");
    assert_data_eq!(
        repair.stdout,
        str![[r#"
repaired: .promptrel/logs/checkout-bot+versions/.tmp-Zz9Yy8: left by an interrupted write; nothing refers to it [temp-file]
repaired: .promptrel/objects/.tmp-Aa1Bb2: left by an interrupted write; nothing refers to it [temp-file]
problem: .promptrel/objects/b8/2ac6c739f5444c4b26513580c57f6e1dbe54f2f9716a3681b9c394a217349d: object b82ac6c739f5 does not match its content (hashes to 86421a46997e); refusing to serve it [corrupt-object]
repaired: .promptrel/refs/checkout-bot/@prod: checkout-bot@prod is one move behind its changelog (interrupted write); the move to afab22d28124 completes it [ref-behind-log]
problem: .promptrel/refs/checkout-bot/@staging: checkout-bot@staging was moved differently on two git branches and the merge left both values in the file:
  afab22d28124: label 2026-01-02T10:03:00Z, Ada Lovelace <ada@example.com>: second
  b82ac6c739f5
settle it by choosing one: `promptrel label checkout-bot staging afab22d28124 -m "settle merge"` or `promptrel label checkout-bot staging b82ac6c739f5 -m "settle merge"` [merge-conflict]
checked 4 objects, 3 refs, 9 records: 2 problems

"#]]
    );

    let after = kinds(&env);
    let left: BTreeSet<&str> = after.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(left, BTreeSet::from(["merge-conflict", "corrupt-object"]));
    assert!(
        !env.store()
            .join("logs/checkout-bot+versions/.tmp-Zz9Yy8")
            .exists()
    );
    assert_eq!(
        std::fs::read_to_string(path(&env, "refs/checkout-bot/@prod")).unwrap(),
        format!("{}\n", id_of(V2))
    );
    // Nothing else was touched.
    let changed: BTreeSet<String> = before
        .keys()
        .chain(now.keys())
        .filter(|k| before.get(*k) != now.get(*k))
        .map(|k| k.to_string_lossy().replace('\\', "/"))
        .collect();
    assert_eq!(
        changed,
        BTreeSet::from([
            "logs/checkout-bot+versions/.tmp-Zz9Yy8".to_string(),
            "objects/.tmp-Aa1Bb2".to_string(),
            "refs/checkout-bot/@prod".to_string(),
        ])
    );
}

#[test]
fn json_report_shape() {
    let env = store();
    let clean: Value = serde_json::from_str(&fsck(&env, &["--json"]).ok().stdout).unwrap();
    assert_eq!(
        clean,
        serde_json::json!({"objects": 4, "refs": 3, "records": 8, "problems": []})
    );

    several_problems(&env);
    let run = fsck(&env, &["--json"]);
    assert_eq!(run.code, 1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let keys: BTreeSet<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["objects", "refs", "records", "problems"])
    );
    for key in ["objects", "refs", "records"] {
        assert!(report[key].is_u64(), "{key}: {}", report[key]);
    }
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 5, "{problems:#?}");
    for p in problems {
        let keys: BTreeSet<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["path", "kind", "message", "repaired"])
        );
        let path = p["path"].as_str().unwrap();
        assert!(
            env.store().join(path).exists(),
            "relative to .promptrel: {path}"
        );
        assert!(p["kind"].is_string() && p["message"].is_string());
        assert_eq!(p["repaired"], Value::Bool(false));
    }
    let repaired: Value =
        serde_json::from_str(&fsck(&env, &["--repair", "--json"]).stdout).unwrap();
    let flags: Vec<(&str, bool)> = repaired["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap(),
                p["repaired"].as_bool().unwrap(),
            )
        })
        .collect();
    for (kind, repaired) in &flags {
        assert_eq!(*repaired, REPAIRABLE.contains(kind), "{kind}");
    }
    assert_eq!(flags.len(), 5);
}

// ----- reads refuse damage --------------------------------------------------------

#[test]
fn reads_never_serve_corrupted_bytes() {
    let env = store();
    let path = object(&env, V1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    let before = env.snapshot();
    for rev in [
        "checkout-bot@prod",
        "checkout-bot@staging~1",
        "checkout-bot~2",
    ] {
        let run = env.run(&["show", rev]).fails(5);
        assert!(run.stdout_bytes.is_empty(), "{rev}");
        assert!(
            run.stderr.contains("does not match its content"),
            "{}",
            run.stderr
        );
    }
    // Nor does a writer point a label at them.
    env.run(&["label", "checkout-bot", "qa", "prod"]).fails(5);
    assert_eq!(env.snapshot(), before);
    // Undamaged versions still read.
    assert_eq!(env.run(&["show", "checkout-bot@staging"]).ok().stdout, V2);
}

// ----- packs ------------------------------------------------------------------------

/// `bot` with 300 versions (`v1\n` …) written directly, as 300 runs of
/// `add` leave them, and shard 0 of its `+versions` packed: the pack's
/// path, and the lines it holds (log order, without `\n`).
fn packed_store() -> (TestEnv, std::path::PathBuf, Vec<String>) {
    let env = TestEnv::init();
    let mut from: Option<String> = None;
    let mut lines = Vec::new();
    let mut names = Vec::new();
    for seq in 1..=300u64 {
        let text = format!("v{seq}\n");
        let id = id_of(&text);
        env.write(
            &format!(".promptrel/objects/{}/{}", &id[..2], &id[2..]),
            &text,
        );
        let line = format!(
            r#"{{"time":"2026-01-01T{:02}:{:02}:00Z","action":"add","prompt":"bot","seq":{seq},"from":{},"to":"{id}","author":"Ada Lovelace <ada@example.com>","message":"nightly"}}"#,
            seq / 60,
            seq % 60,
            from.as_ref()
                .map_or("null".to_string(), |f| format!("\"{f}\"")),
        );
        let file = env.write_record("bot", "+versions", &line);
        if seq <= 256 {
            names.push(file.file_name().unwrap().to_string_lossy().into_owned());
            lines.push(line);
        }
        from = Some(id);
    }
    names.sort();
    let listing: String = names.iter().map(|n| format!("{n}\n")).collect();
    let pack = env
        .store()
        .join("logs/bot+versions")
        .join(format!("pack-{}", &id_of(&listing)[..16]));
    let bytes: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&pack, bytes).unwrap();
    (env, pack, lines)
}

#[test]
fn a_pack_must_hold_exactly_its_shards_records_in_log_order() {
    let (env, pack, lines) = packed_store();
    assert_data_eq!(
        fsck(&env, &[]).ok().stdout,
        str![[r#"
checked 300 objects, 0 refs, 300 records: ok

"#]]
    );
    let problem = str![[r#"
problem: .promptrel/logs/bot+versions/pack-[..]: the pack does not hold exactly the records of its shard, which readers would read instead [damaged-pack]
checked 300 objects, 0 refs, 0 records: 1 problem

"#]];
    let joined = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let mut swapped = lines.clone();
    swapped.swap(3, 4);
    let mut edited = lines.clone();
    edited[7] = edited[7].replace("nightly", "nightlY");
    let damaged_packs: Vec<(&str, String)> = vec![
        ("out of order", joined(&swapped)),
        ("a line changed", joined(&edited)),
        ("a line missing", joined(&lines[1..])),
        ("a line twice", joined(&lines) + &lines[9] + "\n"),
        ("a blank line", joined(&lines) + "\n"),
        ("cut short", joined(&lines).trim_end().to_string()),
        ("garbage", "garbage\n".to_string()),
        ("empty", String::new()),
    ];
    for (what, bytes) in damaged_packs {
        std::fs::write(&pack, bytes).unwrap();
        let run = fsck(&env, &[]);
        assert_eq!(run.code, 1, "{what}");
        assert_data_eq!(run.stdout, problem.clone());
    }
    // A pack of another state of the shard is not used, and not checked.
    std::fs::write(&pack, joined(&lines)).unwrap();
    std::fs::write(pack.with_file_name("pack-0123456789abcdef"), "garbage\n").unwrap();
    assert_eq!(fsck(&env, &[]).code, 0);
    // A damaged record file is reported as such, not its pack as well.
    std::fs::write(env.log_file("bot", "+versions", 5), "garbage\n").unwrap();
    assert_data_eq!(
        fsck(&env, &[]).stdout,
        str![[r#"
problem: .promptrel/logs/bot+versions/000000000005-[..]: line 1: damaged record: expected value at column 1 [damaged-record]
checked 300 objects, 0 refs, 0 records: 1 problem

"#]]
    );
}
