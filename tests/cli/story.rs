//! The release story from the issue, end to end, as a user sees it.

use snapbox::{assert_data_eq, str};

use crate::support::{self, TestEnv};

const LONG: &str = "You are a helpful checkout assistant.\nExplain every option in detail.\nAlways list all shipping methods.\n";
const SHORT: &str = "You are a helpful checkout assistant.\nAnswer in two sentences.\n";

#[test]
fn release_story_promote_then_roll_back() {
    let env = TestEnv::new();
    assert_data_eq!(
        env.run(&["init"])
            .ok()
            .stdout
            .replace(env.root.to_str().unwrap(), "[ROOT]"),
        str![[r#"
Initialized empty promptrel store in [ROOT]/.promptrel

"#]]
    );

    // The current long prompt is on prod.
    env.write("prompts/checkout.md", LONG);
    let long = env
        .run(&[
            "add",
            "checkout-bot",
            "prompts/checkout.md",
            "-m",
            "current prompt",
            "--label",
            "staging",
        ])
        .ok();
    let long_id = long.stdout.trim().to_string();
    assert_eq!(
        long_id,
        blake3::hash(LONG.as_bytes()).to_hex().as_str(),
        "the id is b3sum of the bytes"
    );
    env.promote("checkout-bot", "staging", "prod", "first release");

    // A shorter version goes to staging.
    env.write("prompts/checkout.md", SHORT);
    let short = env
        .run(&[
            "add",
            "checkout-bot",
            "prompts/checkout.md",
            "-m",
            "shorter answers",
            "--label",
            "staging",
        ])
        .ok();
    assert_data_eq!(
        short.stderr,
        str![[r#"
checkout-bot: new version a314563b311a
checkout-bot@staging: 77839f17c603 -> a314563b311a

"#]]
    );

    // The reviewer reads the diff.
    assert_data_eq!(
        env.run(&["diff", "checkout-bot@prod", "checkout-bot@staging"])
            .ok()
            .stdout,
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

    // Promote; the application now resolves the short prompt.
    assert_data_eq!(
        env.run(&[
            "promote",
            "checkout-bot",
            "staging",
            "prod",
            "-m",
            "shorter answers"
        ])
        .ok()
        .stdout,
        str![[r#"
promoted checkout-bot@prod: 77839f17c603 -> a314563b311a

"#]]
    );
    assert_eq!(env.run(&["show", "checkout-bot@prod"]).ok().stdout, SHORT);

    // Answers get worse: roll back at once.
    assert_data_eq!(
        env.run(&["rollback", "checkout-bot", "prod", "-m", "too terse"])
            .ok()
            .stdout,
        str![[r#"
rolled back checkout-bot@prod: a314563b311a -> 77839f17c603

"#]]
    );
    assert_eq!(env.run(&["show", "checkout-bot@prod"]).ok().stdout, LONG);
    assert_eq!(env.run(&["show", "checkout-bot@prod~1"]).ok().stdout, SHORT);

    // The log tells who, when and why, newest first.
    assert_data_eq!(
        env.run(&["log", "checkout-bot"]).ok().stdout,
        str![[r#"
2026-01-02T10:07:00Z  rollback  checkout-bot@prod  a314563b311a -> 77839f17c603 (undo)  Ada Lovelace <ada@example.com>: too terse
2026-01-02T10:05:00Z  promote   checkout-bot@prod  77839f17c603 -> a314563b311a (from staging)  Ada Lovelace <ada@example.com>: shorter answers
2026-01-02T10:03:00Z  label     checkout-bot@staging  77839f17c603 -> a314563b311a  Ada Lovelace <ada@example.com>: shorter answers
2026-01-02T10:03:00Z  add       checkout-bot  77839f17c603 -> a314563b311a  Ada Lovelace <ada@example.com>: shorter answers
2026-01-02T10:02:00Z  promote   checkout-bot@prod  - -> 77839f17c603 (from staging)  Ada Lovelace <ada@example.com>: first release
2026-01-02T10:01:00Z  label     checkout-bot@staging  - -> 77839f17c603  Ada Lovelace <ada@example.com>: current prompt
2026-01-02T10:01:00Z  add       checkout-bot  - -> 77839f17c603  Ada Lovelace <ada@example.com>: current prompt

"#]]
    );

    // The bytes on disk are what FORMAT.md promises.
    let store = env.store();
    assert_eq!(
        std::fs::read(store.join("refs/checkout-bot/@prod")).unwrap(),
        format!("{long_id}\n").into_bytes()
    );
    assert_eq!(
        std::fs::read(
            store
                .join("objects")
                .join(&long_id[..2])
                .join(&long_id[2..])
        )
        .unwrap(),
        LONG.as_bytes()
    );
    let prod_log = support::log_lines(&store, "checkout-bot", "@prod");
    assert_eq!(prod_log.len(), 3);
    let versions = support::log_lines(&store, "checkout-bot", "+versions").join("\n");
    assert!(
        versions.contains(r#""file":"prompts/checkout.md""#),
        "{versions}"
    );
}
