//! `promptrel upgrade` (src/upgrade.rs): a store of format 2 becomes, file
//! for file, the store format 3 would have written, also when the upgrade
//! is interrupted at any step and run again.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{TestEnv, snapshot_dir};

/// A format-3 store with namespaces, labels, a release and a log of two
/// shards (300 versions).
fn store() -> TestEnv {
    let env = TestEnv::init();
    env.add("checkout-bot", "Be brief.\n", &["--label", "staging"]);
    env.promote("checkout-bot", "staging", "prod", "first release");
    env.add("support", "General.\n", &["--label", "staging"]);
    env.add("support/refund-bot", "Refunds.\n", &["--label", "staging"]);
    env.run(&[
        "release",
        "staging",
        "prod",
        "support",
        "support/refund-bot",
        "-m",
        "together",
    ])
    .ok();
    let first: Value =
        serde_json::from_str(&env.log_lines("checkout-bot", "+versions")[0]).unwrap();
    for seq in 2..=300 {
        let mut record = first.clone();
        record["seq"] = seq.into();
        record["from"] = first["to"].clone();
        env.write_record("checkout-bot", "+versions", &record.to_string());
    }
    env
}

/// Move `dir`'s log folders back to format 2's places (the reverse of
/// FORMAT.md §1's conversion), below `logs/` (`root` false for a
/// namespace folder) or in `releases/`.
fn to_format_2(dir: &Path, releases: bool) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && dir.join(n).is_dir())
        .collect();
    names.sort();
    for name in names {
        let Some(at) = name.find(['+', '@']) else {
            to_format_2(&dir.join(&name), releases);
            continue;
        };
        let (part, stem) = name.split_at(at);
        let prompt: PathBuf = if releases {
            dir.to_path_buf()
        } else {
            dir.join(part)
        };
        std::fs::create_dir_all(&prompt).unwrap();
        let log = dir.join(&name);
        let mut shards: Vec<String> = std::fs::read_dir(&log)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('~'))
            .collect();
        shards.sort();
        for shard in &shards {
            std::fs::rename(log.join(shard), prompt.join(format!("{stem}{shard}"))).unwrap();
        }
        std::fs::rename(&log, prompt.join(format!("{stem}~000000"))).unwrap();
    }
}

fn downgrade(env: &TestEnv) {
    let store = env.store();
    to_format_2(&store.join("logs"), false);
    to_format_2(&store.join("releases"), true);
    let config = store.join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("format: 3\n", "format: 2\n")).unwrap();
}

/// Run `upgrade`, which must succeed; its output, the store's path as `STORE`.
fn upgrade(env: &TestEnv) -> String {
    let out = env.run(&["upgrade"]).ok().stdout;
    out.replace(&env.store().display().to_string(), "STORE")
}

/// Copy folder `from` to `to` (files and folders only).
fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_format_2_store_becomes_exactly_the_format_3_store() {
    let env = store();
    let before = env.snapshot();
    let log = env.run(&["log", "--json"]).ok().stdout;
    assert!(
        env.store()
            .join("logs/checkout-bot+versions/~000001")
            .is_dir(),
        "the fixture has a second shard"
    );
    downgrade(&env);
    assert!(
        env.store()
            .join("logs/checkout-bot/+versions~000001")
            .is_dir()
    );
    assert!(
        env.store()
            .join("logs/support/refund-bot/@prod~000000")
            .is_dir()
    );
    assert!(env.store().join("releases/+releases~000000").is_dir());

    // Every other command refuses it, and says what to run.
    let refused = env.run(&["show", "checkout-bot@prod"]).fails(2);
    assert!(
        refused.stderr.contains("has store format 2")
            && refused.stderr.contains("hint: the store was written by an earlier promptrel: `promptrel upgrade` converts it to format 3 in place"),
        "{}",
        refused.stderr
    );

    assert_eq!(
        upgrade(&env),
        "upgraded STORE from format 2 to format 3 (11 log folders moved)\n"
    );
    assert_eq!(env.snapshot(), before, "byte for byte the format-3 store");
    assert_eq!(env.run(&["log", "--json"]).ok().stdout, log);
    env.run(&["fsck"]).ok();

    // Again: nothing to do.
    assert_eq!(
        upgrade(&env),
        "STORE is format 3 already; nothing changed\n"
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn an_upgrade_interrupted_at_any_step_is_finished_by_the_next() {
    let env = store();
    let want = env.snapshot();
    downgrade(&env);
    let old = env.outside().join("format-2");
    copy_dir(&env.store(), &old);
    let mut crashes = 0;
    for n in 1.. {
        std::fs::remove_dir_all(env.store()).unwrap();
        copy_dir(&old, &env.store());
        let mut cmd = env.command(&["upgrade"]);
        cmd.env("PROMPTREL_CRASH_AT", n.to_string());
        let run = crate::support::run_cmd(&mut cmd);
        if run.code == 0 {
            break;
        }
        crashes += 1;
        assert!(
            run.stderr.contains(&format!("injected crash at step {n}")),
            "{}",
            run.stderr
        );
        // Still format 2 until the last step: refused, not misread.
        if env.snapshot() != want {
            env.run(&["show", "checkout-bot@prod"]).fails(2);
        }
        upgrade(&env);
        let got = env.snapshot();
        // A temp file (of config.yaml's rewrite) is what any crash may
        // leave: readers skip it, `fsck --repair` removes it.
        let temp = |k: &PathBuf| {
            k.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        };
        let differ: Vec<_> = got
            .keys()
            .chain(want.keys())
            .filter(|k| !temp(k) && got.get(*k) != want.get(*k))
            .collect();
        assert!(
            differ.is_empty(),
            "after a crash at step {n} and a re-run: {differ:?}"
        );
    }
    assert!(
        crashes >= 11,
        "one step per moved folder at least: {crashes}"
    );
    assert_eq!(snapshot_dir(&env.store()), want);
}

#[test]
fn other_formats_are_refused_and_left_alone() {
    let env = TestEnv::init();
    env.add("bot", "Hi.\n", &[]);
    let config = env.store().join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    for (format, words) in [
        (
            "1",
            "format 1 is older than `promptrel upgrade` converts (format 2)",
        ),
        ("99", "upgrade promptrel to read this store"),
    ] {
        std::fs::write(
            &config,
            text.replace("format: 3", &format!("format: {format}")),
        )
        .unwrap();
        let before = env.snapshot();
        let run = env.run(&["upgrade"]).fails(2);
        assert!(
            run.stderr.contains(&format!(
                "has store format {format}, this promptrel understands format 3"
            )) && run.stderr.contains(words),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
        assert_eq!(env.snapshot(), before);
    }
    let outside = env.outside();
    let run = crate::support::run_cmd(env.command(&["upgrade"]).current_dir(&outside));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

/// After a git merge of a branch still on format 2 into a store of format
/// 3, the branch's records sit in format 2's folders, which readers do not
/// read; `upgrade` moves them into place, merging the shard both hold.
#[test]
fn format_2_folders_merged_into_a_format_3_store_are_moved_into_place() {
    let env = store();
    let v2 = env.add("checkout-bot", "Be very brief.\n", &[]);
    // What the branch wrote: staging's log (its first record, which main
    // has too, and a second moving staging to v2), and staging's ref.
    let first = env.log_lines("checkout-bot", "@staging")[0].clone();
    let mut second: Value = serde_json::from_str(&first).unwrap();
    second["seq"] = 2.into();
    second["from"] = second["to"].clone();
    second["to"] = v2.clone().into();
    second["message"] = "on the old branch".into();
    let second = second.to_string();
    let old = env.store().join("logs/checkout-bot/@staging~000000");
    std::fs::create_dir_all(&old).unwrap();
    let first_file = env.log_file("checkout-bot", "@staging", 1);
    std::fs::copy(&first_file, old.join(first_file.file_name().unwrap())).unwrap();
    let hash = &blake3::hash(second.as_bytes()).to_hex()[..16];
    std::fs::write(
        old.join(format!("000000000002-{hash}")),
        format!("{second}\n"),
    )
    .unwrap();
    std::fs::write(
        env.store().join("refs/checkout-bot/@staging"),
        format!("{v2}\n"),
    )
    .unwrap();
    let stray = env.run(&["fsck"]);
    assert_eq!(stray.code, 1);
    assert!(stray.stdout.contains("[stray-file]"), "{}", stray.stdout);

    assert_eq!(
        upgrade(&env),
        "STORE is format 3; moved 1 format-2 log folders (from a merged branch) into place\n"
    );
    assert!(!env.store().join("logs/checkout-bot").exists());
    assert_eq!(env.log_files("checkout-bot", "@staging").len(), 2);
    env.run(&["fsck"]).ok();
    assert_eq!(
        env.run(&["show", "checkout-bot@staging~1"]).ok().stdout,
        "Be brief.\n"
    );
    assert_eq!(
        env.run(&["show", "checkout-bot@staging"]).ok().stdout,
        "Be very brief.\n"
    );
}
