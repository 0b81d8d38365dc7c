//! Store-wide commands find every prompt (src/discover.rs): each log
//! folder in a namespace folder of `logs/`, with any number of shards and
//! labels, and prompts inside namespaces that are prompts themselves.

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

/// `--label l00 --label l01 …`: many label logs (a folder each) beside
/// other prompts' logs in one namespace folder.
fn many_labels() -> Vec<String> {
    (0..40)
        .flat_map(|i| ["--label".to_string(), format!("l{i:02}")])
        .collect()
}

#[test]
fn store_wide_log_and_list_find_every_prompt_however_its_folder_looks() {
    let env = TestEnv::init();
    let labels = many_labels();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    // Many log folders, and a namespaced prompt inside the prompt's name.
    env.add("support", "General.\n", &labels);
    env.add("support/refund-bot", "Refunds.\n", &["--label", "l00"]);
    // A label log without a ref (a move interrupted before its first ref)
    // beside the others.
    let mut canary: Value = serde_json::from_str(&env.log_lines("support", "@l00")[0]).unwrap();
    canary["label"] = "canary".into();
    env.write_record("support", "@canary", &canary.to_string());
    // A long history: 300 versions (two shard folders), labels with one.
    env.add("billing", "Billing.\n", &labels);
    let first: Value = serde_json::from_str(&env.log_lines("billing", "+versions")[0]).unwrap();
    for seq in 2..=300 {
        let mut record = first.clone();
        record["seq"] = seq.into();
        env.write_record("billing", "+versions", &record.to_string());
    }
    // Short logs: a prompt with a nested prompt, and one without.
    env.add("faq", "FAQ.\n", &["--label", "l00"]);
    env.add("faq/short", "Short FAQ.\n", &[]);
    // What a crash before a prompt's first record leaves: not a prompt.
    std::fs::create_dir_all(env.store().join("logs/ghost+versions")).unwrap();

    let list = env.run(&["list"]).ok().stdout;
    let names: Vec<&str> = list.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        names,
        [
            "billing",
            "faq",
            "faq/short",
            "support",
            "support/refund-bot"
        ],
        "{list}"
    );

    let log = env.run(&["log"]).ok().stdout;
    assert_eq!(lines_about(&log, "billing"), 340, "{log}");
    assert_eq!(lines_about(&log, "support"), 41, "{log}");
    assert_eq!(lines_about(&log, "support/refund-bot"), 2, "{log}");
    assert_eq!(lines_about(&log, "faq"), 2, "{log}");
    assert_eq!(lines_about(&log, "faq/short"), 1, "{log}");
    assert_eq!(lines_about(&log, "ghost"), 0, "{log}");

    // The label log without a ref is still history of that label.
    let canary_log = env.run(&["log", "--label", "canary"]).ok().stdout;
    assert_eq!(lines_about(&canary_log, "support"), 1, "{canary_log}");
    let l39 = env.run(&["log", "--label", "l39"]).ok().stdout;
    for name in ["billing", "support"] {
        assert_eq!(lines_about(&l39, name), 1, "{name}: {l39}");
    }

    // `-n` takes the newest across every prompt.
    let newest = env.run(&["log", "-n", "3"]).ok().stdout;
    assert_eq!(newest.lines().count(), 3, "{newest}");
}
