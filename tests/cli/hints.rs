//! Near misses: every command that takes a NAME, a LABEL or NAME@LABEL
//! answers a misspelt one with `hint: did you mean …?`, exit 2, nothing on
//! standard output, and the store untouched.

use crate::support::TestEnv;

/// Three prompts on prod (and staging), one on staging only; `prd` and
/// `stagng` are nobody's labels, `checkout-bott` nobody's name.
fn store() -> (TestEnv, String) {
    let env = TestEnv::init();
    let v1 = env.add("checkout-bot", "checkout v1\n", &["--label", "staging"]);
    for name in ["support/refund-bot", "greeter"] {
        env.add(name, &format!("{name} v1\n"), &["--label", "staging"]);
    }
    for name in ["checkout-bot", "support/refund-bot", "greeter"] {
        env.run(&["promote", name, "staging", "prod", "-m", "first"])
            .ok();
    }
    env.add("drafts/tone", "tone v1\n", &["--label", "staging"]);
    (env, v1[..8].to_string())
}

#[test]
fn every_command_suggests_the_name_or_label_meant() {
    let (env, v1) = store();
    let name = "hint: did you mean checkout-bot?";
    let label = "hint: did you mean checkout-bot@prod?";
    let staging = "hint: did you mean checkout-bot@staging?";
    let cases: &[(&[&str], &str)] = &[
        (&["show", "checkout-bott"], name),
        (&["show", "checkout-bot@prd"], label),
        (&["show", "checkout-bott@prod"], name),
        (&["show", "checkout-bot@prd~1"], label),
        (&["show", "checkout-bot@prd", "--meta"], label),
        (&["render", "checkout-bott"], name),
        (&["render", "checkout-bot@prd"], label),
        (&["vars", "checkout-bott@prod"], name),
        (&["vars", "checkout-bot@prd"], label),
        (
            &["diff", "checkout-bott@prod", "checkout-bot@staging"],
            name,
        ),
        (
            &["diff", "checkout-bot@prod", "checkout-bot@stagng"],
            staging,
        ),
        (&["label", "checkout-bott", "staging", &v1], name),
        (&["label", "checkout-bot", "staging", "prd"], label),
        (&["label", "checkout-bot", "staging", "prd~1"], label),
        (
            &[
                "label",
                "checkout-bot",
                "staging",
                &v1,
                "--expect",
                "stagng",
            ],
            staging,
        ),
        (
            &["promote", "checkout-bott", "staging", "prod", "-m", "x"],
            name,
        ),
        (
            &["promote", "checkout-bot", "stagng", "prod", "-m", "x"],
            staging,
        ),
        (
            &[
                "promote",
                "checkout-bot",
                "staging",
                "prod",
                "-m",
                "x",
                "--expect",
                "prd",
            ],
            label,
        ),
        (&["rollback", "checkout-bott", "prod", "-m", "x"], name),
        (&["rollback", "checkout-bot", "prd", "-m", "x"], label),
        (
            &[
                "rollback",
                "checkout-bot",
                "prod",
                "--to",
                "stagng",
                "-m",
                "x",
            ],
            staging,
        ),
        (&["log", "checkout-bott"], name),
        (&["log", "checkout-bot", "--label", "prd"], label),
        (
            &["export", "--label", "prd", "out"],
            "hint: did you mean prod?",
        ),
        (
            &["export", "--label", "prd", "--json"],
            "hint: did you mean prod?",
        ),
        (
            &["release", "staging", "prod", "checkout-bott", "-m", "x"],
            name,
        ),
        (
            &["release", "stagng", "prod", "checkout-bot", "-m", "x"],
            staging,
        ),
        (
            &["release", "stagng", "prod", "--all", "-m", "x"],
            "hint: did you mean staging?",
        ),
        // A forgotten namespace, and a misspelt one.
        (
            &["show", "refund-bot@prod"],
            "hint: did you mean support/refund-bot?",
        ),
        (
            &["show", "suport/refund-bot@prod"],
            "hint: did you mean support/refund-bot?",
        ),
    ];
    let before = env.snapshot();
    for (args, hint) in cases {
        let run = env.run(args).fails(2);
        let hints: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("hint:"))
            .collect();
        assert_eq!(hints, [*hint], "{args:?}\n{}", run.stderr);
        assert_eq!(env.snapshot(), before, "{args:?} changed the store");
    }
    assert!(!env.root.join("out").exists(), "export wrote nothing");
}

#[test]
fn nothing_close_gets_a_pointer_to_list_instead() {
    let (env, _) = store();
    let before = env.snapshot();
    for (args, hint) in [
        (
            &["show", "zzz"][..],
            "hint: `promptrel list` shows every prompt; `promptrel add NAME FILE` creates one",
        ),
        (
            &["show", "checkout-bot@canary"],
            "hint: `promptrel list` shows the labels of checkout-bot",
        ),
        (
            &["export", "--label", "canary", "--json"],
            "hint: `promptrel list` shows every prompt's labels",
        ),
    ] {
        let run = env.run(args).fails(2);
        let hints: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("hint:"))
            .collect();
        assert_eq!(hints, [hint], "{args:?}\n{}", run.stderr);
    }
    assert_eq!(env.snapshot(), before);
}

/// Across all prompts, a label nobody has yet has no history (an empty log,
/// as before), but a near miss of a label in use is named.
#[test]
fn log_of_a_label_nobody_has_names_the_near_miss() {
    let (env, _) = store();
    let run = env.run(&["log", "--label", "prd"]).ok();
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "warning: no prompt has a label \"prd\"; did you mean prod?\n"
    );
    let run = env.run(&["log", "--label", "prd", "--json"]).ok();
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("did you mean prod?"));
    let run = env.run(&["log", "--label", "canary"]).ok();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    let run = env.run(&["log", "--label", "prod", "-n", "0"]).ok();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

/// Commands that create labels do so (a new label is how prod begins), but
/// one that is a typo away from another label of the prompt is named.
#[test]
fn a_new_label_one_typo_from_another_gets_a_warning() {
    let (env, v1) = store();
    let run = env
        .run(&["promote", "checkout-bot", "staging", "prd", "-m", "x"])
        .ok();
    assert!(run.stdout.starts_with("promoted checkout-bot@prd: - -> "));
    assert_eq!(
        run.stderr,
        "warning: checkout-bot@prd is a new label; did you mean checkout-bot@prod?\n"
    );
    let run = env.run(&["label", "checkout-bot", "stagin", &v1]).ok();
    assert_eq!(
        run.stderr,
        "warning: checkout-bot@stagin is a new label; did you mean checkout-bot@staging?\n"
    );
    let run = env.run_stdin(&["add", "greeter", "-", "--label", "stagign"], b"v2\n");
    assert!(
        run.ok()
            .stderr
            .ends_with("warning: greeter@stagign is a new label; did you mean greeter@staging?\n")
    );
    // A new label further away, or an existing one: no warning.
    for args in [
        &["promote", "checkout-bot", "staging", "prod-eu", "-m", "x"][..],
        &["promote", "checkout-bot", "staging", "prd", "-m", "again"],
        &["label", "greeter", "qa", "staging"],
    ] {
        let run = env.run(args).ok();
        assert!(!run.stderr.contains("warning"), "{args:?}: {}", run.stderr);
    }
}
