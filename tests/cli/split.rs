//! `promptrel split`: a label that serves several versions by weight, as
//! users see it and as it lands on disk; choosing a version per key
//! (determinism, weights, FORMAT.md's test vectors); and every command that
//! reads a label doing something sensible with a split.

use promptrel::{Label, PromptName, Rev, Share, Signature, Split, Store};
use serde_json::Value;
use snapbox::{assert_data_eq, str};

use crate::support::{self, TestEnv};

const L: &str = support::VECTOR_VERSIONS[0].1;
const S: &str = support::VECTOR_VERSIONS[1].1;
const O: &str = support::VECTOR_VERSIONS[2].1;

fn id_of(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

fn ref_bytes(env: &TestEnv, label: &str) -> String {
    std::fs::read_to_string(env.store().join(format!("refs/checkout-bot/@{label}"))).unwrap()
}

/// The newest record of a label's log, as stored.
fn newest(env: &TestEnv, label: &str) -> String {
    env.log_lines("checkout-bot", &format!("@{label}"))
        .pop()
        .unwrap()
}

/// checkout-bot: L on prod, S on staging, canary at L.
fn ab_store() -> TestEnv {
    let env = TestEnv::init();
    env.add("checkout-bot", L, &["-m", "long", "--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "first"])
        .ok();
    env.add("checkout-bot", S, &["-m", "short", "--label", "staging"]);
    env.run(&["label", "checkout-bot", "canary", "prod"]).ok();
    env
}

/// `split checkout-bot LABEL S=90 L=10` (8-digit prefixes, not in ref order).
fn split_canary(env: &TestEnv, label: &str) -> support::Run {
    let (s, l) = (id_of(S), id_of(L));
    env.run(&[
        "split",
        "checkout-bot",
        label,
        &format!("{}=90", &s[..8]),
        &format!("{}=10", &l[..8]),
        "-m",
        "try shorter answers on 10%",
    ])
}

#[test]
fn split_clear_and_rollback_round_trip_exactly() {
    let env = ab_store();
    let (s, l) = (id_of(S), id_of(L));
    let split_line = format!("{l}=10 {s}=90\n");

    let run = split_canary(&env, "canary").ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
split checkout-bot@canary: 77839f17c603 -> a314563b311a 90% + 77839f17c603 10%

"#]]
    );
    assert_eq!(run.stderr, "");
    // One line, sorted by id whatever the order given.
    assert_eq!(ref_bytes(&env, "canary"), split_line);
    let shares = format!(r#"[{{"version":"{l}","weight":10}},{{"version":"{s}","weight":90}}]"#);
    assert_eq!(
        newest(&env, "canary"),
        format!(
            r#"{{"time":"2026-01-02T10:05:00Z","action":"split","prompt":"checkout-bot","label":"canary","seq":2,"from":"{l}","to":"{s}","split":{shares},"author":"Ada Lovelace <ada@example.com>","message":"try shorter answers on 10%"}}"#
        )
    );
    // The same split again writes nothing.
    let before = env.snapshot();
    let run = split_canary(&env, "canary").ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
checkout-bot@canary already serves a314563b311a 90% + 77839f17c603 10%; nothing changed

"#]]
    );
    assert_eq!(env.snapshot(), before);

    let run = env
        .run(&[
            "split",
            "checkout-bot",
            "canary",
            "--clear",
            "-m",
            "shorter won",
        ])
        .ok();
    assert_data_eq!(
        run.stdout + &run.stderr,
        str![[r#"
cleared the split of checkout-bot@canary: a314563b311a 90% + 77839f17c603 10% -> a314563b311a
kept a314563b311a, the greatest share (90%); `--clear VERSION` keeps another

"#]]
    );
    assert_eq!(ref_bytes(&env, "canary"), format!("{s}\n"));
    assert_eq!(
        newest(&env, "canary"),
        format!(
            r#"{{"time":"2026-01-02T10:07:00Z","action":"split","prompt":"checkout-bot","label":"canary","seq":3,"from":"{s}","from_split":{shares},"to":"{s}","author":"Ada Lovelace <ada@example.com>","message":"shorter won"}}"#
        )
    );

    // Rollback undoes the clear exactly: the split comes back.
    let run = env
        .run(&["rollback", "checkout-bot", "canary", "-m", "not yet"])
        .ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
rolled back checkout-bot@canary: a314563b311a -> a314563b311a 90% + 77839f17c603 10%

"#]]
    );
    assert_eq!(ref_bytes(&env, "canary"), split_line);
    assert_eq!(
        newest(&env, "canary"),
        format!(
            r#"{{"time":"2026-01-02T10:08:00Z","action":"rollback","prompt":"checkout-bot","label":"canary","seq":4,"from":"{s}","to":"{s}","split":{shares},"author":"Ada Lovelace <ada@example.com>","message":"not yet","undo":true}}"#
        )
    );
    // And again: the split itself is undone, back to one version.
    env.run(&["rollback", "checkout-bot", "canary", "-m", "stop"])
        .ok();
    assert_eq!(ref_bytes(&env, "canary"), format!("{l}\n"));

    // `--clear VERSION` keeps another share; it must be one of them.
    split_canary(&env, "canary").ok();
    env.run(&[
        "split",
        "checkout-bot",
        "canary",
        "--clear",
        &l[..8],
        "-m",
        "long won",
    ])
    .ok();
    assert_eq!(ref_bytes(&env, "canary"), format!("{l}\n"));
    // Run again (say after a crash that left the move done): nothing to do.
    let again = env
        .run(&[
            "split",
            "checkout-bot",
            "canary",
            "--clear",
            &l[..8],
            "-m",
            "long won",
        ])
        .ok();
    assert_eq!(
        again.stdout,
        "checkout-bot@canary already points at 77839f17c603; nothing changed\n"
    );

    assert_data_eq!(
        env.run(&["log", "checkout-bot", "--label", "canary"])
            .ok()
            .stdout,
        str![[r#"
2026-01-02T10:11:00Z  split     checkout-bot@canary  a314563b311a 90% + 77839f17c603 10% -> 77839f17c603  Ada Lovelace <ada@example.com>: long won
2026-01-02T10:10:00Z  split     checkout-bot@canary  77839f17c603 -> a314563b311a 90% + 77839f17c603 10%  Ada Lovelace <ada@example.com>: try shorter answers on 10%
2026-01-02T10:09:00Z  rollback  checkout-bot@canary  a314563b311a 90% + 77839f17c603 10% -> 77839f17c603 (undo)  Ada Lovelace <ada@example.com>: stop
2026-01-02T10:08:00Z  rollback  checkout-bot@canary  a314563b311a -> a314563b311a 90% + 77839f17c603 10% (undo)  Ada Lovelace <ada@example.com>: not yet
2026-01-02T10:07:00Z  split     checkout-bot@canary  a314563b311a 90% + 77839f17c603 10% -> a314563b311a  Ada Lovelace <ada@example.com>: shorter won
2026-01-02T10:05:00Z  split     checkout-bot@canary  77839f17c603 -> a314563b311a 90% + 77839f17c603 10%  Ada Lovelace <ada@example.com>: try shorter answers on 10%
2026-01-02T10:04:00Z  label     checkout-bot@canary  - -> 77839f17c603  Ada Lovelace <ada@example.com>

"#]]
    );
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

#[test]
fn protected_labels_are_split_by_promoting_a_split_label() {
    let env = ab_store();
    let before = env.snapshot();
    let run = split_canary(&env, "prod").fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: label "prod" is protected: it moves only through promote and rollback
hint: move it with `promptrel promote NAME FROM prod -m MSG` (or `promptrel rollback`)

"#]]
    );
    env.run(&["split", "checkout-bot", "prod", "--clear", "-m", "x"])
        .fails(2);
    assert_eq!(env.snapshot(), before, "a refused split changes nothing");

    split_canary(&env, "canary").ok();
    let run = env
        .run(&[
            "promote",
            "checkout-bot",
            "canary",
            "prod",
            "-m",
            "A/B on prod",
        ])
        .ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
promoted checkout-bot@prod: 77839f17c603 -> a314563b311a 90% + 77839f17c603 10%

"#]]
    );
    assert_eq!(ref_bytes(&env, "prod"), ref_bytes(&env, "canary"));
    let record: Value = serde_json::from_str(&newest(&env, "prod")).unwrap();
    assert_eq!(record["action"], "promote");
    assert_eq!(record["source"], "canary");
    assert_eq!(record["to"], id_of(S));
    assert_eq!(record["split"][0]["weight"], 10);

    assert_data_eq!(
        env.run(&["list"]).ok().stdout,
        str![[r#"
checkout-bot
  @canary   a314563b311a 90% + 77839f17c603 10%
  @prod     a314563b311a 90% + 77839f17c603 10%
  @staging  a314563b311a

"#]]
    );
    let list: Value = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    let prompt = &list["prompts"][0];
    assert_eq!(prompt["labels"]["prod"], id_of(S), "the greatest share");
    assert_eq!(prompt["splits"]["prod"][1]["version"], id_of(S));
    assert_eq!(prompt["splits"]["prod"][1]["weight"], 90);
    assert!(prompt["splits"].get("staging").is_none());

    // Promoting one version onto a split label replaces the split; rollback restores it.
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "all in"])
        .ok();
    assert_eq!(ref_bytes(&env, "prod"), format!("{}\n", id_of(S)));
    let record: Value = serde_json::from_str(&newest(&env, "prod")).unwrap();
    assert_eq!(record["from"], id_of(S));
    assert_eq!(record["from_split"][0]["version"], id_of(L));
    env.run(&["rollback", "checkout-bot", "prod", "-m", "back to A/B"])
        .ok();
    assert_eq!(ref_bytes(&env, "prod"), ref_bytes(&env, "canary"));
    env.run(&["rollback", "checkout-bot", "prod", "-m", "no A/B"])
        .ok();
    assert_eq!(ref_bytes(&env, "prod"), format!("{}\n", id_of(L)));
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

/// The release records of the store, oldest first (`releases/+releases`).
fn release_records(env: &TestEnv) -> Vec<Value> {
    let shard = env.store().join("releases/+releases");
    let mut files: Vec<_> = std::fs::read_dir(&shard)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect()
}

#[test]
fn release_copies_whole_splits_and_rollback_release_restores_them() {
    let env = ab_store();
    let (s, l) = (id_of(S), id_of(L));
    // greeter: canary and prod hold one version each; it travels alongside.
    env.add("greeter", "hello v1\n", &["--label", "canary"]);
    env.run(&["promote", "greeter", "canary", "prod", "-m", "first"])
        .ok();
    env.add("greeter", "hello v2\n", &["--label", "canary"]);
    split_canary(&env, "canary").ok();

    let run = env
        .run(&["release", "canary", "prod", "--all", "-m", "A/B on prod"])
        .ok();
    assert_eq!(release_records(&env).len(), 1);
    let (v1, v2) = (id_of("hello v1\n"), id_of("hello v2\n"));
    let lines: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "  checkout-bot@prod: 77839f17c603 -> a314563b311a 90% + 77839f17c603 10%".to_string(),
            format!("  greeter@prod: {} -> {}", &v1[..12], &v2[..12]),
        ]
    );
    assert_eq!(ref_bytes(&env, "prod"), ref_bytes(&env, "canary"));
    // The release record carries the split as a record does: whole in
    // `split`, its greatest share in `to`.
    let release = &release_records(&env)[0];
    let moved = &release["moves"][0];
    assert_eq!(moved["prompt"], "checkout-bot");
    assert_eq!(moved["from"], l.as_str());
    assert!(moved.get("from_split").is_none());
    assert_eq!(moved["to"], s.as_str());
    assert_eq!(moved["split"][0]["version"], l.as_str());
    assert_eq!(moved["split"][1]["weight"], 90);
    assert!(release["moves"][1].get("split").is_none());
    let record: Value = serde_json::from_str(&newest(&env, "prod")).unwrap();
    assert_eq!(record["action"], "promote");
    assert_eq!(record["source"], "canary");
    assert_eq!(record["split"], moved["split"]);
    assert!(record["release"].is_string());
    let log = env.run(&["log", "-n", "1"]).ok().stdout;
    assert!(
        log.contains(
            "    checkout-bot@prod  77839f17c603 -> a314563b311a 90% + 77839f17c603 10%\n"
        ),
        "{log}"
    );
    // Served by key, as the split says (FORMAT.md §5.1 vectors: user-1 gets S).
    let user_1 = env
        .run(&["show", "checkout-bot@prod", "--key", "user-1"])
        .ok();
    assert_eq!(user_1.stdout, S);
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));

    // A second release, split to split: the previous split is in `from_split`.
    env.run(&[
        "split",
        "checkout-bot",
        "canary",
        &format!("{}=50", &s[..8]),
        &format!("{}=50", &l[..8]),
        "-m",
        "half",
    ])
    .ok();
    let ninety_ten = ref_bytes(&env, "prod");
    env.run(&["release", "canary", "prod", "--all", "-m", "half on prod"])
        .ok();
    assert_eq!(ref_bytes(&env, "prod"), format!("{l}=50 {s}=50\n"));
    let second = &release_records(&env)[1];
    assert_eq!(
        second["moves"].as_array().unwrap().len(),
        1,
        "greeter is there"
    );
    assert_eq!(second["moves"][0]["from_split"][1]["weight"], 90);
    assert_eq!(second["moves"][0]["from"], s.as_str());
    assert_eq!(
        second["moves"][0]["to"],
        l.as_str(),
        "a tie: the first in ref order"
    );

    // Rolling the releases back restores each whole value, newest first.
    let id_of_line = |r: &Value| {
        let shard = env.store().join("releases/+releases");
        let seq = r["seq"].as_u64().unwrap();
        let file = std::fs::read_dir(&shard)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(&format!("{seq:012}-")))
            .unwrap();
        file.rsplit('-').next().unwrap().to_string()
    };
    // Not the first while prod holds the second's split: refused, naming it.
    let run = env
        .run(&[
            "rollback",
            "--release",
            &id_of_line(release),
            "-m",
            "no A/B",
        ])
        .fails(2);
    assert!(
        run.stderr
            .contains("checkout-bot@prod is now split 77839f17c603 50% + a314563b311a 50%"),
        "{}",
        run.stderr
    );
    let run = env
        .run(&[
            "rollback",
            "--release",
            &id_of_line(second),
            "-m",
            "not half",
        ])
        .ok();
    assert!(
        run.stdout.ends_with(
            "  checkout-bot@prod: 77839f17c603 50% + a314563b311a 50% -> a314563b311a 90% + 77839f17c603 10%\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(ref_bytes(&env, "prod"), ninety_ten);
    let record: Value = serde_json::from_str(&newest(&env, "prod")).unwrap();
    assert_eq!(record["action"], "rollback");
    assert_eq!(record["undo"], true);
    assert_eq!(record["from_split"][0]["weight"], 50);
    assert_eq!(record["split"][0]["weight"], 10);
    // Now the first: prod back to one version, greeter too.
    let run = env
        .run(&[
            "rollback",
            "--release",
            &id_of_line(release),
            "-m",
            "no A/B",
        ])
        .ok();
    assert!(
        run.stdout
            .contains("  checkout-bot@prod: a314563b311a 90% + 77839f17c603 10% -> 77839f17c603\n"),
        "{}",
        run.stdout
    );
    assert_eq!(ref_bytes(&env, "prod"), format!("{l}\n"));
    assert_eq!(env.run(&["show", "greeter@prod"]).ok().stdout, "hello v1\n");
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

#[test]
fn a_pending_release_of_a_split_is_served_whole_and_completed() {
    let env = ab_store();
    split_canary(&env, "canary").ok();
    // Crash right after the commit point: the pending release is written,
    // no label has moved yet.
    let mut cmd = env.command(&["release", "canary", "prod", "--all", "-m", "A/B"]);
    cmd.env("PROMPTREL_CRASH_AT", "3");
    let run = support::run_cmd(&mut cmd);
    assert!(
        run.stderr.contains("injected crash at step 3"),
        "{}",
        run.stderr
    );
    assert!(env.store().join("releases/+pending").exists());
    assert_eq!(ref_bytes(&env, "prod"), format!("{}\n", id_of(L)));
    // Readers see the split already: user-11 gets L, user-1 gets S
    // (FORMAT.md §5.1 vectors for checkout-bot@prod).
    for (key, text) in [("user-11", L), ("user-1", S)] {
        let run = env.run(&["show", "checkout-bot@prod", "--key", key]).ok();
        assert_eq!(run.stdout, text, "{key}");
    }
    env.run(&["label", "checkout-bot", "qa", "prod"]).fails(2);
    // The next writer completes it.
    env.run(&["label", "checkout-bot", "qa", "staging"]).ok();
    assert!(!env.store().join("releases/+pending").exists());
    assert_eq!(ref_bytes(&env, "prod"), ref_bytes(&env, "canary"));
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

/// `checkout-bot` with L, S and O, and the library handle.
fn library_store() -> (tempfile::TempDir, Store, PromptName) {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _) = Store::init(tmp.path()).unwrap();
    let sig = Signature {
        author: "Ada".into(),
        time: jiff::Timestamp::UNIX_EPOCH,
    };
    let name = PromptName::new("checkout-bot").unwrap();
    for text in [L, S, O] {
        store
            .add(&name, text.as_bytes(), "v", &[], None, &sig)
            .unwrap();
    }
    let (o, l, s) = (id_of(O), id_of(L), id_of(S));
    let shares: [(&str, u8); 3] = [(&o, 20), (&l, 30), (&s, 50)];
    store
        .split(
            &name,
            &Label::new("canary").unwrap(),
            &shares,
            None,
            "ab",
            &sig,
        )
        .unwrap();
    (tmp, store, name)
}

/// `n` draws with `count(i)` hits for a share of weight `w`%: the count must
/// lie within `sigmas` standard deviations of n·p (binomial: √(n·p·(1−p))).
fn within(counts: &[(String, u8, usize)], n: usize, sigmas: f64, what: &str) {
    for (id, weight, count) in counts {
        let p = f64::from(*weight) / 100.0;
        let expected = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        let off = (*count as f64 - expected) / sd;
        println!(
            "{what}: {} weight {weight}%: {count} of {n} (expected {expected}, σ = {sd:.1}, {off:+.2}σ; tolerance ±{:.0})",
            &id[..12],
            sigmas * sd
        );
        assert!(
            off.abs() <= sigmas,
            "{what}: {} got {count} of {n}, {off:+.2}σ from {expected}",
            &id[..12]
        );
    }
}

#[test]
fn a_key_always_gets_the_same_version_and_weights_hold_over_ten_thousand_keys() {
    const N: usize = 10_000;
    let (_tmp, store, _) = library_store();
    let rev = Rev::parse("checkout-bot@canary").unwrap();
    let split = store.resolve_value(&rev).unwrap();
    let split = split.split().unwrap().clone();
    let mut counts: Vec<(String, u8, usize)> = split
        .shares()
        .iter()
        .map(|s| (s.version.to_string(), s.weight, 0))
        .collect();
    for i in 0..N {
        let key = format!("user-{i}");
        let served = store.resolve_keyed(&rev, Some(&key)).unwrap();
        // Deterministic: the same key, the same version.
        assert_eq!(store.resolve_keyed(&rev, Some(&key)).unwrap(), served);
        assert_eq!(served.weight(), split.weight_of(&served.id));
        let slot = counts
            .iter_mut()
            .find(|(id, _, _)| *id == served.id.as_str())
            .unwrap();
        slot.2 += 1;
    }
    // The keys are fixed, so this is deterministic: 3σ is a tolerance, not a gamble.
    within(&counts, N, 3.0, "keys user-0..user-9999");

    // Without a key, a random bucket: 5σ (a false alarm once in ~1.7 million runs).
    for c in &mut counts {
        c.2 = 0;
    }
    for _ in 0..N {
        let served = store.resolve_keyed(&rev, None).unwrap();
        assert!(served.bucket.is_some_and(|b| b < 100));
        let slot = counts
            .iter_mut()
            .find(|(id, _, _)| *id == served.id.as_str())
            .unwrap();
        slot.2 += 1;
    }
    within(&counts, N, 5.0, "no key");

    // The binary agrees with the library, run after run.
    let env = TestEnv::new();
    let mut cmd = env.command(&["show", "checkout-bot@canary", "--key", "user-42"]);
    cmd.env("PROMPTREL_DIR", store.dir());
    let first = support::run_cmd(&mut cmd).ok();
    let expected = store
        .resolve_keyed(&rev, Some("user-42"))
        .unwrap()
        .id
        .to_string();
    assert_eq!(id_of(&first.stdout), expected);
    assert_eq!(first.stderr, "", "a keyed show says nothing more");
    for _ in 0..3 {
        let again = support::run_cmd(&mut cmd).ok();
        assert_eq!(again.stdout_bytes, first.stdout_bytes);
    }
}

#[test]
fn format_md_test_vectors_hold_for_the_library_and_the_binary() {
    let vectors = support::split_vectors();
    let env = TestEnv::init();
    for (_, text) in support::VECTOR_VERSIONS {
        env.add("checkout-bot", text, &[]);
    }
    for v in &vectors {
        let name = PromptName::new(&v.name).unwrap();
        let label = Label::new(&v.label).unwrap();
        assert_eq!(Split::bucket(&name, &label, &v.key), v.bucket, "{v:?}");
        let split = Split::new(
            v.shares
                .iter()
                .map(|(id, weight)| Share {
                    version: promptrel::VersionId::parse(id).unwrap(),
                    weight: *weight,
                })
                .collect(),
        )
        .unwrap();
        assert_eq!(split.pick(v.bucket).version.as_str(), v.served, "{v:?}");

        // The label gets the split (a protected one through another label).
        let pairs: Vec<String> = v.shares.iter().map(|(id, w)| format!("{id}={w}")).collect();
        let staging = if v.label == "prod" { "ab" } else { &v.label };
        let mut args = vec!["split", &v.name, staging];
        args.extend(pairs.iter().map(String::as_str));
        args.extend(["-m", "vector"]);
        env.run(&args).ok();
        if staging != v.label {
            env.run(&["promote", &v.name, staging, &v.label, "-m", "vector"])
                .ok();
        }
        let rev = format!("{}@{}", v.name, v.label);
        let run = env.run(&["show", &rev, "--key", &v.key]).ok();
        assert_eq!(id_of(&run.stdout), v.served, "{v:?}");
    }
}

#[test]
fn show_and_render_without_a_key_name_the_version_served() {
    let env = ab_store();
    let (s, l) = (id_of(S), id_of(L));
    env.run(&[
        "split",
        "checkout-bot",
        "canary",
        &format!("{s}=50"),
        &format!("{l}=50"),
        "-m",
        "half",
    ])
    .ok();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let run = env.run(&["show", "checkout-bot@canary"]).ok();
        let served = id_of(&run.stdout);
        assert_eq!(
            run.stderr,
            format!(
                "served {} (50% of checkout-bot@canary; pass --key KEY to choose by key)\n",
                &served[..12]
            )
        );
        seen.insert(served);
    }
    // 40 fair draws all alike: 2 in 10^12.
    assert_eq!(seen.len(), 2, "both versions are served");

    let meta: Value = serde_json::from_str(
        &env.run(&[
            "show",
            "checkout-bot@canary",
            "--key",
            "user-1",
            "--meta",
            "--json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    assert_eq!(meta["split"]["key"], "user-1");
    assert_eq!(meta["split"]["weight"], 50);
    assert_eq!(meta["split"]["shares"].as_array().unwrap().len(), 2);
    assert_eq!(meta["labels"].as_array().unwrap().len(), 2, "{meta}");
    let meta: Value = serde_json::from_str(
        &env.run(&["show", "checkout-bot@prod", "--meta", "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(meta["split"], Value::Null);

    // render: the same choice; --json says how.
    let shown = env
        .run(&["show", "checkout-bot@canary", "--key", "user-7"])
        .ok()
        .stdout;
    let rendered = env
        .run(&["render", "checkout-bot@canary", "--key", "user-7"])
        .ok();
    assert_eq!(rendered.stdout, shown);
    assert_eq!(rendered.stderr, "");
    let run = env.run(&["render", "checkout-bot@canary", "--json"]).ok();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["split"]["key"], Value::Null);
    assert!(doc["split"]["bucket"].as_u64().unwrap() < 100);
    assert_eq!(run.stderr, "", "--json carries the choice");
}

#[test]
fn commands_that_need_one_version_refuse_a_split_and_say_how() {
    let env = ab_store();
    split_canary(&env, "canary").ok();
    let before = env.snapshot();
    let redact = |text: String| text.replace(env.root.to_str().unwrap(), "[ROOT]");
    let refused = |args: &[&str]| redact(env.run(args).fails(2).stderr);
    assert_data_eq!(
        refused(&["label", "checkout-bot", "qa", "canary"]),
        str![[r#"
error: checkout-bot@canary is split between 2 versions (a314563b311a 90% + 77839f17c603 10%); one version is needed here
hint: name one of its versions instead: checkout-bot@77839f17c603 or checkout-bot@a314563b311a
hint: show and render choose one per user: `promptrel show checkout-bot@canary --key USER_ID`

"#]]
    );
    for args in [
        &["diff", "checkout-bot@prod", "checkout-bot@canary"][..],
        &["vars", "checkout-bot@canary"],
        &["rollback", "checkout-bot", "staging", "--to", "canary"],
        &[
            "label",
            "checkout-bot",
            "qa",
            "staging",
            "--expect",
            "canary",
        ],
    ] {
        let stderr = refused(args);
        assert!(
            stderr.contains("is split between 2 versions"),
            "{args:?}: {stderr}"
        );
    }
    assert_data_eq!(
        refused(&["export", "--label", "canary", "--json"]),
        str![[r#"
error: cannot export label canary: an export holds one version per prompt, and this one is split (checkout-bot@canary: a314563b311a 90% + 77839f17c603 10%)
hint: export a label that holds one version per prompt (`promptrel list` shows the splits), or end the split first (`promptrel split NAME LABEL --clear`, or promote one version onto it)

"#]]
    );
    assert_eq!(env.snapshot(), before);

    // `~N` reaches a split in the history: chosen by key like the label itself.
    env.run(&["split", "checkout-bot", "canary", "--clear", "-m", "done"])
        .ok();
    let back = env
        .run(&["show", "checkout-bot@canary~1", "--key", "user-9"])
        .ok();
    let now = env
        .run(&["show", "checkout-bot@canary", "--key", "user-9"])
        .ok();
    // FORMAT.md's vectors: user-9 is in bucket 4 of checkout-bot@canary.
    assert_eq!(id_of(&back.stdout), id_of(L));
    assert_eq!(now.stdout, S);
}

#[test]
fn bad_split_input_is_refused_with_one_error_and_no_change() {
    let env = ab_store();
    let (s, l) = (&id_of(S)[..8], &id_of(L)[..8]);
    let before = env.snapshot();
    let mut out = String::new();
    let cases: Vec<Vec<String>> = vec![
        vec![format!("{s}=90"), format!("{l}=5")],
        vec![format!("{s}=100")],
        vec![format!("{s}=50"), format!("{}=50", &id_of(S)[..12])],
        vec![format!("{s}=50"), "beef=50".into()],
        vec![format!("{s}=0"), format!("{l}=100")],
        vec![format!("{s}=abc"), format!("{l}=10")],
        vec![format!("{s}=+90"), format!("{l}=10")],
        vec![format!("{s}=300"), format!("{l}=10")],
        vec![format!("{s}"), format!("{l}=10")],
        vec![format!("{s}=50"), "staging=50".into()],
        vec![format!("{s}=50"), format!("{l}=50"), "--clear".into()],
    ];
    for shares in &cases {
        let mut args = vec!["split", "checkout-bot", "canary"];
        args.extend(shares.iter().map(String::as_str));
        args.extend(["-m", "bad"]);
        let run = env.run(&args).fails(2);
        out.push_str(&format!("$ {}\n{}", args[3..].join(" "), run.stderr));
    }
    for args in [
        &["split", "checkout-bot", "canary", "--clear", "-m", "bad"][..],
        &["split", "checkout-bot", "nope", "--clear", "-m", "bad"],
        &["split", "checkout-bot", "canary", "-m", "bad"],
    ] {
        let run = env.run(args).fails(2);
        let first = run.stderr.lines().take(2).collect::<Vec<_>>().join("\n");
        out.push_str(&format!("$ {}\n{first}\n", args[2..].join(" ")));
    }
    assert_eq!(
        env.snapshot(),
        before,
        "every refusal left the store as it was"
    );
    split_canary(&env, "canary").ok();
    env.add("checkout-bot", O, &[]);
    let split = env.snapshot();
    let o = &id_of(O)[..8];
    let run = env
        .run(&["split", "checkout-bot", "canary", "--clear", o, "-m", "bad"])
        .fails(2);
    out.push_str(&format!("$ --clear {o}\n{}", run.stderr));
    assert_eq!(env.snapshot(), split);
    assert_data_eq!(
        out,
        str![[r#"
$ a314563b=90 77839f17=5 -m bad
error: invalid split: the weights add up to 95, not 100
hint: give each version as VERSION=PERCENT, such as `a314563b=90 77839f17=10`
$ a314563b=100 -m bad
error: invalid split: a split needs at least two versions (`promptrel label` points a label at one)
hint: give each version as VERSION=PERCENT, such as `a314563b=90 77839f17=10`
$ a314563b=50 a314563b311a=50 -m bad
error: invalid split: a314563b311a is given twice; each version appears once
hint: give each version as VERSION=PERCENT, such as `a314563b=90 77839f17=10`
$ a314563b=50 beef=50 -m bad
error: checkout-bot has no version matching "beef"
hint: `promptrel log checkout-bot` lists its versions
$ a314563b=0 77839f17=100 -m bad
error: invalid split: a weight of 0; each weight is a whole percent from 1 to 99
hint: give each version as VERSION=PERCENT, such as `a314563b=90 77839f17=10`
$ a314563b=abc 77839f17=10 -m bad
error: invalid share "a314563b=abc": PERCENT must be a whole number from 1 to 99
$ a314563b=+90 77839f17=10 -m bad
error: invalid share "a314563b=+90": PERCENT must be a whole number from 1 to 99
$ a314563b=300 77839f17=10 -m bad
error: invalid share "a314563b=300": PERCENT must be a whole number from 1 to 99
$ a314563b 77839f17=10 -m bad
error: invalid share "a314563b": expected VERSION=PERCENT, such as a314563b=90
$ a314563b=50 staging=50 -m bad
error: invalid split: a314563b311a is given twice; each version appears once
hint: give each version as VERSION=PERCENT, such as `a314563b=90 77839f17=10`
$ a314563b=50 77839f17=50 --clear -m bad
error: the argument '[VERSION=PERCENT]...' cannot be used with '--clear [<VERSION>]'

Usage: promptrel split --message <MESSAGE> <NAME> <LABEL> <VERSION=PERCENT>...

For more information, try '--help'.
$ canary --clear -m bad
error: checkout-bot@canary is not split; it points to 77839f17c603
hint: nothing to clear; `promptrel log checkout-bot --label canary` shows its moves
$ nope --clear -m bad
error: checkout-bot has no label "nope"
hint: `promptrel list` shows the labels of checkout-bot
$ canary -m bad
error: the following required arguments were not provided:
  <VERSION=PERCENT>...
$ --clear 29157241
error: 2915724163e2 is not one of the versions of checkout-bot@canary (a314563b311a 90% + 77839f17c603 10%)
hint: keep one of its versions, or leave out VERSION to keep the greatest share

"#]]
    );
}

#[test]
fn damaged_splits_are_integrity_errors_and_merged_splits_conflict_whole() {
    let env = ab_store();
    split_canary(&env, "canary").ok();
    let (s, l) = (id_of(S), id_of(L));
    let path = env.store().join("refs/checkout-bot/@canary");
    let good = std::fs::read(&path).unwrap();
    for bad in [
        format!("{s}=90 {l}=10\n"),  // not sorted
        format!("{l}=10 {s}=80\n"),  // 90 in all
        format!("{l}=10  {s}=90\n"), // two spaces
        format!("{l}=010 {s}=90\n"), // leading zero
    ] {
        std::fs::write(&path, &bad).unwrap();
        let run = env
            .run(&["show", "checkout-bot@canary", "--key", "k"])
            .fails(5);
        assert!(run.stderr.contains("or a split"), "{bad:?}: {}", run.stderr);
        let fsck = env.run(&["fsck"]);
        assert_eq!(fsck.code, 1, "{bad:?}");
        assert!(fsck.stdout.contains("[bad-ref]"), "{}", fsck.stdout);
    }
    // Tolerated like a single id: no final newline, or \r\n.
    for ok in [format!("{l}=10 {s}=90"), format!("{l}=10 {s}=90\r\n")] {
        std::fs::write(&path, &ok).unwrap();
        env.run(&["show", "checkout-bot@canary", "--key", "k"]).ok();
    }

    // Two branches split canary differently: git leaves both whole lines.
    let ours = String::from_utf8(good.clone()).unwrap();
    let theirs = format!("{l}=50 {s}=50\n");
    std::fs::write(
        &path,
        format!("<<<<<<< HEAD\n{ours}=======\n{theirs}>>>>>>> other\n"),
    )
    .unwrap();
    let run = env
        .run(&["show", "checkout-bot@canary", "--key", "k"])
        .fails(5);
    assert!(
        run.stderr.contains(
            "two branches moved it, to a314563b311a 90% + 77839f17c603 10% and 77839f17c603 50% + a314563b311a 50%"
        ),
        "{}",
        run.stderr
    );
    let fsck = env.run(&["fsck"]);
    assert!(
        fsck.stdout.contains(&format!(
            "`promptrel split checkout-bot canary {}=50 {}=50 -m \"settle merge\"`",
            &l[..12],
            &s[..12]
        )),
        "{}",
        fsck.stdout
    );
    // Settling with a split records the choice; fsck is clean again.
    env.run(&[
        "split",
        "checkout-bot",
        "canary",
        &format!("{l}=50"),
        &format!("{s}=50"),
        "-m",
        "settle merge",
    ])
    .ok();
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

/// Words of a README command line; "double quotes" group words.
fn shell_words(line: &str) -> Vec<String> {
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

#[test]
fn readme_ab_split_examples_are_real_output() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let section = &readme[readme.find("## A/B splits").unwrap()..];
    let section = &section[..section.find("\n## ").unwrap()];
    // The quickstart's end: prod back on the long version, staging on the short one.
    let env = TestEnv::init();
    env.add("checkout-bot", L, &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "first"])
        .ok();
    env.add("checkout-bot", S, &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "short"])
        .ok();
    env.run(&["rollback", "checkout-bot", "prod", "-m", "too terse"])
        .ok();
    let mut checked = 0;
    for block in section.split("```console\n").skip(1) {
        let block = &block[..block.find("```").unwrap()];
        let mut lines = block.lines().peekable();
        while let Some(line) = lines.next() {
            let command = line.strip_prefix("$ promptrel ").expect(line);
            let mut expected = String::new();
            while let Some(out) = lines.next_if(|l| !l.starts_with("$ ")) {
                expected.push_str(out);
                expected.push('\n');
            }
            let words = shell_words(command);
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let run = env.run(&args);
            if args[0] == "show" && !args.contains(&"--key") {
                // Drawn at random: only its shape is fixed.
                assert!(run.stderr.starts_with("served "), "{command}: {run:?}");
                continue;
            }
            assert!(
                expected == run.stdout.clone() + &run.stderr
                    || expected == run.stderr.clone() + &run.stdout,
                "README: $ promptrel {command}\nexpected:\n{expected}\ngot:\n{}{}",
                run.stdout,
                run.stderr
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} README commands checked");
}
