//! Multi-prompt releases: `release FROM TO (NAME… | --all)` and
//! `rollback --release ID`, one atomic event each (the crash test in
//! crash.rs interrupts both at every write step).

use serde_json::Value;

use crate::support::{Run, TestEnv};

fn id_of(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

fn short(text: &str) -> String {
    id_of(text)[..12].to_string()
}

/// Three prompts, each on staging; checkout-bot and refund-bot also on
/// prod with an older version.
fn store() -> TestEnv {
    let env = TestEnv::init();
    env.add("checkout-bot", "checkout v1\n", &["--label", "staging"]);
    env.add("support/refund-bot", "refund v1\n", &["--label", "staging"]);
    for name in ["checkout-bot", "support/refund-bot"] {
        env.run(&["promote", name, "staging", "prod", "-m", "first"])
            .ok();
    }
    env.add("checkout-bot", "checkout v2\n", &["--label", "staging"]);
    env.add("support/refund-bot", "refund v2\n", &["--label", "staging"]);
    env.add("greeter", "hello v1\n", &["--label", "staging"]);
    env
}

fn show(env: &TestEnv, rev: &str) -> String {
    env.run(&["show", rev]).ok().stdout
}

/// The release ids in `log --json`, newest first.
fn release_ids(env: &TestEnv) -> Vec<String> {
    env.run(&["log", "--json"])
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r.get("moves").is_some())
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
/// Release checkout-bot and refund-bot from staging to prod, with `message`.
fn release_both(env: &TestEnv, message: &str) -> Run {
    env.run(&[
        "release",
        "staging",
        "prod",
        "checkout-bot",
        "support/refund-bot",
        "-m",
        message,
    ])
    .ok()
}

/// [`release_both`] ("spring"); returns the release's id.
fn release_spring(env: &TestEnv) -> String {
    release_both(env, "spring");
    release_ids(env).remove(0)
}

fn refused(env: &TestEnv, args: &[&str], code: i32) -> Run {
    let before = env.snapshot();
    let run = env.run(args).fails(code);
    assert_eq!(
        env.snapshot(),
        before,
        "a refused command changed the store"
    );
    run
}

#[test]
fn release_moves_every_named_prompt_as_one_event() {
    let env = store();
    let run = release_both(&env, "spring release");
    let ids = release_ids(&env);
    assert_eq!(ids.len(), 1);
    let id = &ids[0];
    assert_eq!(
        run.stdout,
        format!(
            "released staging to prod as release {} (2 prompts)\n  checkout-bot@prod: {} -> {}\n  support/refund-bot@prod: {} -> {}\n",
            &id[..12],
            short("checkout v1\n"),
            short("checkout v2\n"),
            short("refund v1\n"),
            short("refund v2\n"),
        )
    );
    assert_eq!(show(&env, "checkout-bot@prod"), "checkout v2\n");
    assert_eq!(show(&env, "support/refund-bot@prod"), "refund v2\n");
    // greeter was not named: no prod.
    env.run(&["show", "greeter@prod"]).fails(2);

    // On disk: the release record, named by its seq and the start of its id;
    // each label's record carries the release id.
    let shard = env.store().join("releases/+releases");
    let files: Vec<String> = std::fs::read_dir(&shard)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, [format!("000000000001-{}", &id[..16])]);
    let line = std::fs::read(shard.join(&files[0])).unwrap();
    assert_eq!(blake3::hash(&line[..line.len() - 1]).to_hex().as_str(), id);
    let record: Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(record["action"], "release");
    assert_eq!(record["label"], "prod");
    assert_eq!(record["source"], "staging");
    assert_eq!(record["message"], "spring release");
    assert_eq!(record["moves"].as_array().unwrap().len(), 2);
    let prod = env.log_lines("checkout-bot", "@prod");
    let last: Value = serde_json::from_str(prod.last().unwrap()).unwrap();
    assert_eq!(last["release"], id.as_str());
    assert_eq!(last["action"], "promote");
    assert!(!env.store().join("releases/+pending").exists());
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

#[test]
fn log_shows_a_release_as_one_entry_with_its_prompts() {
    let env = store();
    env.run(&["release", "staging", "prod", "--all", "-m", "spring"])
        .ok();
    let id = release_ids(&env).remove(0);
    let log = env.run(&["log", "-n", "1"]).ok().stdout;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(
        lines[0].ends_with(&format!(
            "release   prod (from staging)  release {}  Ada Lovelace <ada@example.com>: spring",
            &id[..12]
        )),
        "{log}"
    );
    assert_eq!(
        &lines[1..],
        [
            format!(
                "    checkout-bot@prod  {} -> {}",
                short("checkout v1\n"),
                short("checkout v2\n")
            ),
            format!("    greeter@prod  - -> {}", short("hello v1\n")),
            format!(
                "    support/refund-bot@prod  {} -> {}",
                short("refund v1\n"),
                short("refund v2\n")
            ),
        ]
    );
    // The member moves are not listed again in the store-wide log...
    let all = env.run(&["log"]).ok().stdout;
    assert!(!all.contains("[release"), "{all}");
    // ...but one prompt's log shows its move, naming the release.
    let one = env
        .run(&["log", "checkout-bot", "--label", "prod", "-n", "1"])
        .ok()
        .stdout;
    assert!(
        one.contains(&format!("(from staging) [release {}]", &id[..12])),
        "{one}"
    );
}

#[test]
fn release_all_skips_prompts_without_from_and_those_already_released() {
    let env = store();
    env.add("no-staging", "only on dev\n", &["--label", "dev"]);
    let run = env
        .run(&["release", "staging", "prod", "--all", "-m", "all"])
        .ok();
    assert!(run.stdout.contains("(3 prompts)"), "{}", run.stdout);
    assert!(!run.stdout.contains("no-staging"), "{}", run.stdout);
    let before = env.snapshot();
    let run = env
        .run(&["release", "staging", "prod", "--all", "-m", "again"])
        .ok();
    assert_eq!(
        run.stdout,
        "prod already matches staging everywhere; nothing changed\n"
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn rollback_release_undoes_every_move_at_once() {
    let env = store();
    let id = release_spring(&env);
    let run = env
        .run(&["rollback", "--release", &id[..8], "-m", "refunds broke"])
        .ok();
    let ids = release_ids(&env);
    assert_eq!(ids.len(), 2);
    assert_eq!(
        run.stdout,
        format!(
            "rolled back release {} as release {} (2 prompts)\n  checkout-bot@prod: {} -> {}\n  support/refund-bot@prod: {} -> {}\n",
            &id[..12],
            &ids[0][..12],
            short("checkout v2\n"),
            short("checkout v1\n"),
            short("refund v2\n"),
            short("refund v1\n"),
        )
    );
    assert_eq!(show(&env, "checkout-bot@prod"), "checkout v1\n");
    assert_eq!(show(&env, "support/refund-bot@prod"), "refund v1\n");
    // Each label's move back is an undo of the release's move.
    let prod = env.log_lines("support/refund-bot", "@prod");
    let last: Value = serde_json::from_str(prod.last().unwrap()).unwrap();
    assert_eq!(last["action"], "rollback");
    assert_eq!(last["undo"], true);
    assert_eq!(last["release"], ids[0].as_str());
    let log = env.run(&["log", "-n", "1"]).ok().stdout;
    assert!(
        log.contains(&format!("rollback  prod (undoes release {})", &id[..12])),
        "{log}"
    );
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));

    // Not twice.
    let run = refused(&env, &["rollback", "--release", &id[..8], "-m", "again"], 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: release {} was already rolled back by {} (2026-01-02T10:10:00Z)\n",
            &id[..12],
            &ids[0][..12]
        )
    );
}

#[test]
fn rolling_back_the_rollback_of_a_release_is_not_an_undo() {
    // Found by scripts/killtest.sh: the re-done move was written with
    // `undo: true`, so the undo walk hid one change too many and the next
    // plain rollback skipped a value (here: "nothing to roll back").
    let env = store();
    env.run(&["release", "staging", "prod", "checkout-bot", "-m", "spring"])
        .ok();
    let spring = release_ids(&env).remove(0);
    env.run(&["rollback", "--release", &spring, "-m", "broke"])
        .ok();
    let undo = release_ids(&env).remove(0);
    env.run(&["rollback", "--release", &undo, "-m", "fine after all"])
        .ok();
    assert_eq!(show(&env, "checkout-bot@prod"), "checkout v2\n");
    let prod = env.log_lines("checkout-bot", "@prod");
    let undone: Value = serde_json::from_str(&prod[prod.len() - 2]).unwrap();
    let redone: Value = serde_json::from_str(prod.last().unwrap()).unwrap();
    assert_eq!(undone["undo"], true);
    assert_eq!(redone["action"], "rollback");
    assert_eq!(redone.get("undo"), None, "{redone}");
    // A plain rollback now undoes the most recent change: the re-done move.
    let run = env
        .run(&["rollback", "checkout-bot", "prod", "-m", "no"])
        .ok();
    assert_eq!(
        run.stdout,
        format!(
            "rolled back checkout-bot@prod: {} -> {}\n",
            short("checkout v2\n"),
            short("checkout v1\n")
        )
    );
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}

#[test]
fn fsck_finds_a_release_move_missing_from_its_label_log() {
    let env = store();
    release_spring(&env);
    env.add("checkout-bot", "checkout v3\n", &["--label", "staging"]);
    env.run(&["release", "staging", "prod", "--all", "-m", "summer"])
        .ok();
    // Two releases moved checkout-bot@prod (fsck reads that log once) and
    // both are found; refund-bot's record of spring loses its release id.
    let old = env.log_file("support/refund-bot", "@prod", 2);
    let mut record: Value = serde_json::from_str(&std::fs::read_to_string(&old).unwrap()).unwrap();
    record.as_object_mut().unwrap().remove("release");
    std::fs::remove_file(old).unwrap();
    env.write_record("support/refund-bot", "@prod", &record.to_string());
    let run = env.run(&["fsck", "--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let problems: Vec<(&str, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [("incomplete-release", "logs/support/refund-bot@prod")],
        "{report}"
    );
}

#[test]
fn rollback_release_refuses_when_a_label_moved_since() {
    let env = store();
    let id = release_spring(&env);
    env.run(&["rollback", "checkout-bot", "prod", "-m", "just this one"])
        .ok();
    let run = refused(&env, &["rollback", "--release", &id, "-m", "undo"], 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: labels of release {} moved since, so it cannot be undone as a whole: checkout-bot@prod is now {}\n",
            &id[..12],
            short("checkout v1\n")
        )
    );
}

#[test]
fn release_refusals_leave_the_store_unchanged() {
    let env = store();
    // A named prompt without FROM.
    env.add("no-staging", "only on dev\n", &["--label", "dev"]);
    let run = refused(
        &env,
        &[
            "release",
            "staging",
            "prod",
            "checkout-bot",
            "no-staging",
            "-m",
            "x",
        ],
        2,
    );
    assert!(
        run.stderr
            .starts_with("error: no-staging has no label \"staging\""),
        "{}",
        run.stderr
    );
    // An unknown prompt, with a suggestion.
    let run = refused(
        &env,
        &["release", "staging", "prod", "checkout-bt", "-m", "x"],
        2,
    );
    assert!(
        run.stderr.contains("hint: did you mean checkout-bot?"),
        "{}",
        run.stderr
    );
    // FROM = TO, no message, no prompts.
    let run = refused(&env, &["release", "prod", "prod", "--all", "-m", "x"], 2);
    assert_eq!(run.stderr, "error: FROM and TO are the same label (prod)\n");
    let run = refused(&env, &["release", "staging", "prod", "--all", "-m", " "], 2);
    assert!(
        run.stderr.starts_with("error: a release needs a message"),
        "{}",
        run.stderr
    );
    refused(&env, &["release", "staging", "prod", "-m", "x"], 2);
    refused(
        &env,
        &[
            "release",
            "staging",
            "prod",
            "--all",
            "checkout-bot",
            "-m",
            "x",
        ],
        2,
    );
    // Release ids.
    for bad in ["xyz", "12", "0000"] {
        let run = refused(&env, &["rollback", "--release", bad, "-m", "x"], 2);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    refused(
        &env,
        &[
            "rollback",
            "--release",
            "abcd",
            "checkout-bot",
            "prod",
            "-m",
            "x",
        ],
        2,
    );
}

#[test]
fn release_applies_the_variable_guard_to_every_prompt() {
    let env = store();
    env.add(
        "checkout-bot",
        "Hello {{ customer }}\n",
        &["--label", "staging"],
    );
    let run = refused(&env, &["release", "staging", "prod", "--all", "-m", "x"], 2);
    assert!(run.stderr.contains("customer"), "{}", run.stderr);
    env.run(&[
        "release",
        "staging",
        "prod",
        "--all",
        "-m",
        "x",
        "--allow-new-vars",
    ])
    .ok();
    assert_eq!(show(&env, "checkout-bot@prod"), "Hello {{ customer }}\n");
}

#[test]
fn a_pending_release_is_served_whole_and_completed_by_the_next_writer() {
    let env = store();
    // Crash right after the commit point: the pending release is written,
    // no label has moved yet.
    let mut cmd = env.command(&["release", "staging", "prod", "--all", "-m", "spring"]);
    cmd.env("PROMPTREL_CRASH_AT", "3");
    let run = crate::support::run_cmd(&mut cmd);
    assert!(
        run.stderr.contains("injected crash at step 3"),
        "{}",
        run.stderr
    );
    assert!(env.store().join("releases/+pending").exists());
    assert_eq!(
        std::fs::read_to_string(env.store().join("refs/checkout-bot/@prod")).unwrap(),
        format!("{}\n", id_of("checkout v1\n")),
        "no ref moved yet"
    );
    // Readers see the whole release already.
    assert_eq!(show(&env, "checkout-bot@prod"), "checkout v2\n");
    assert_eq!(show(&env, "support/refund-bot@prod"), "refund v2\n");
    assert_eq!(show(&env, "greeter@prod"), "hello v1\n");
    let fsck = env.run(&["fsck"]);
    assert_eq!(fsck.code, 1);
    assert!(fsck.stdout.contains("[pending-release]"), "{}", fsck.stdout);
    // Any writer completes it first.
    env.add("unrelated", "x\n", &[]);
    assert!(!env.store().join("releases/+pending").exists());
    assert_eq!(
        std::fs::read_to_string(env.store().join("refs/checkout-bot/@prod")).unwrap(),
        format!("{}\n", id_of("checkout v2\n"))
    );
    assert_eq!(release_ids(&env).len(), 1);
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}
