//! Store-wide commands find every prompt (src/discover.rs): a prompt's
//! folder in `logs/` is listed only when its link count says it holds
//! folders the probes for its logs did not find.

use serde_json::Value;

use crate::support::TestEnv;

/// Lines of `log` output that mention `name` as a prompt or prompt@label.
fn lines_about(log: &str, name: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(2)
                .is_some_and(|w| w == name || w.starts_with(&format!("{name}@")))
        })
        .count()
}

#[test]
fn store_wide_log_and_list_find_every_prompt_however_its_folder_looks() {
    let env = TestEnv::init();
    // A prompt with a namespaced prompt inside its folder.
    env.add("support", "General.\n", &["--label", "staging"]);
    env.add("support/refund-bot", "Refunds.\n", &["--label", "staging"]);
    // A label log without a ref (a move interrupted before its first ref)
    // in the same folder: more folders than the probes find.
    let mut canary: Value = serde_json::from_str(&env.log_lines("support", "@staging")[0]).unwrap();
    canary["label"] = "canary".into();
    env.write_record("support", "@canary", &canary.to_string());
    // A long history: 300 versions (two shard folders), one label (one).
    env.add("billing", "Billing.\n", &["--label", "staging"]);
    let first: Value = serde_json::from_str(&env.log_lines("billing", "+versions")[0]).unwrap();
    for seq in 2..=300 {
        let mut record = first.clone();
        record["seq"] = seq.into();
        env.write_record("billing", "+versions", &record.to_string());
    }
    // What a crash before a prompt's first record leaves: not a prompt.
    std::fs::create_dir_all(env.store().join("logs/ghost/+versions~000000")).unwrap();

    let list = env.run(&["list"]).ok().stdout;
    let names: Vec<&str> = list.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        names,
        ["billing", "support", "support/refund-bot"],
        "{list}"
    );

    let log = env.run(&["log"]).ok().stdout;
    assert_eq!(lines_about(&log, "billing"), 301, "{log}");
    assert_eq!(lines_about(&log, "support"), 2, "{log}");
    assert_eq!(lines_about(&log, "support/refund-bot"), 2, "{log}");
    assert_eq!(lines_about(&log, "ghost"), 0, "{log}");

    // The label log without a ref is still history of that label.
    let canary_log = env.run(&["log", "--label", "canary"]).ok().stdout;
    assert_eq!(lines_about(&canary_log, "support"), 1, "{canary_log}");
    let staging_log = env.run(&["log", "--label", "staging"]).ok().stdout;
    for name in ["billing", "support", "support/refund-bot"] {
        assert_eq!(lines_about(&staging_log, name), 1, "{name}: {staging_log}");
    }

    // `-n` takes the newest across every prompt.
    let newest = env.run(&["log", "-n", "3"]).ok().stdout;
    assert_eq!(newest.lines().count(), 3, "{newest}");
}
