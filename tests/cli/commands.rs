//! Every subcommand, as a user sees it (stdout, stderr, exit code) and as it
//! lands on disk (objects, refs, changelog records).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use snapbox::{assert_data_eq, str};

use crate::support::{self, TestEnv, run_cmd};

// ----- helpers ---------------------------------------------------------------

/// The id promptrel must give `bytes`: `b3sum`.
fn id_of(bytes: impl AsRef<[u8]>) -> String {
    blake3::hash(bytes.as_ref()).to_hex().to_string()
}

/// `objects/<2 hex>/<62 hex>`.
fn object_path(env: &TestEnv, id: &str) -> PathBuf {
    env.store().join("objects").join(&id[..2]).join(&id[2..])
}

fn versions_log(env: &TestEnv, name: &str) -> Vec<Value> {
    parsed(env.log_lines(name, "+versions"))
}

fn label_log(env: &TestEnv, name: &str, label: &str) -> Vec<Value> {
    parsed(env.log_lines(name, &format!("@{label}")))
}

fn parsed(lines: Vec<String>) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The id in `refs/<name>/@<label>`, checking the file is exactly `<id>\n`.
fn ref_value(env: &TestEnv, name: &str, label: &str) -> String {
    let path = env
        .store()
        .join("refs")
        .join(name)
        .join(format!("@{label}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let id = text
        .strip_suffix('\n')
        .expect("a ref ends with one newline");
    assert_eq!(id.len(), 64, "{text:?}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{text:?}"
    );
    id.to_string()
}

/// The sorted keys of a JSON object.
fn keys(record: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = record
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

/// `git` with no user or system configuration, run in `dir`.
fn git(env: &TestEnv, dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.outside())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn root_redacted(env: &TestEnv, text: &str) -> String {
    text.replace(env.root.to_str().unwrap(), "[ROOT]")
}

// ----- init ------------------------------------------------------------------

#[test]
fn init_creates_the_documented_layout() {
    let env = TestEnv::new();
    let run = env.run(&["init"]).ok();
    assert_data_eq!(
        root_redacted(&env, &run.stdout),
        str![[r#"
Initialized empty promptrel store in [ROOT]/.promptrel

"#]]
    );
    assert_eq!(run.stderr, "");

    let files = env.snapshot();
    let listing: Vec<String> = files
        .keys()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listing,
        [
            "", // the store folder itself
            ".gitattributes",
            ".gitignore",
            "config.yaml",
            "lock",
            "logs",
            "logs/.keep",
            "objects",
            "objects/.keep",
            "refs",
            "refs/.keep",
        ]
    );
    for dir in ["", "logs", "objects", "refs"] {
        assert_eq!(files[Path::new(dir)], b"<dir>", "{dir} is a folder");
    }
    assert_eq!(files[Path::new("lock")], b"", "the lock file is empty");

    let config = String::from_utf8(files[Path::new("config.yaml")].clone()).unwrap();
    assert_data_eq!(
        &config,
        str![[r#"
# promptrel store settings; the format is described in promptrel's FORMAT.md.
# Store format version. Do not edit: promptrel refuses formats it does not know.
format: 3
# Labels that move only through `promptrel promote` and `promptrel rollback`,
# never through `promptrel label` or `promptrel add --label`.
protected_labels: [prod]

"#]]
    );
    assert!(config.lines().any(|l| l == "format: 3"), "{config}");
    assert!(
        config.lines().any(|l| l == "protected_labels: [prod]"),
        "{config}"
    );
    let parsed = promptrel::Config::load(&env.store().join("config.yaml")).unwrap();
    assert_eq!(parsed.format, 3);
    assert_eq!(parsed.protected_labels, ["prod"]);

    assert_data_eq!(
        String::from_utf8(files[Path::new(".gitattributes")].clone()).unwrap(),
        str![[r#"
# Written by `promptrel init`. Git must never rewrite these bytes: objects are
# named by the hash of their exact content, and refs and logs are parsed.
* -text -ident -filter
objects/** -diff

"#]]
    );
    assert_data_eq!(
        String::from_utf8(files[Path::new(".gitignore")].clone()).unwrap(),
        str![[r#"
# Written by `promptrel init`: the lock and crash leftovers are never shared.
/lock
.tmp-*

"#]]
    );
    // Nothing else was left in the working folder (no temp folder from the rename).
    let entries: Vec<_> = std::fs::read_dir(&env.root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, [".promptrel"]);
}

#[test]
fn init_on_an_existing_store_says_so_and_changes_nothing() {
    let env = TestEnv::init();
    env.add("checkout-bot", "Be brief.\n", &["--label", "staging"]);
    let before = env.snapshot();
    let run = env.run(&["init"]).ok();
    assert_data_eq!(
        root_redacted(&env, &run.stdout),
        str![[r#"
A promptrel store already exists in [ROOT]/.promptrel; nothing changed

"#]]
    );
    assert_eq!(
        env.snapshot(),
        before,
        "a second init must leave the store byte-identical"
    );
}

// ----- add -------------------------------------------------------------------

#[test]
fn add_from_a_file_prints_the_id_and_stores_the_exact_bytes() {
    let env = TestEnv::init();
    let cases: &[(&str, &[u8])] = &[
        ("plain", b"Be brief.\n"),
        ("no-final-newline", b"Be brief."),
        ("crlf", b"Line one.\r\nLine two.\r\n"),
        ("latin1", b"caf\xe9 \xff\xfe not UTF-8\n"),
    ];
    for (name, bytes) in cases {
        let file = env.write(&format!("prompts/{name}.txt"), bytes);
        let run = env.run(&["add", name, &file, "-m", "first"]).ok();
        let id = id_of(bytes);
        assert_eq!(
            run.stdout,
            format!("{id}\n"),
            "{name}: stdout is exactly the id"
        );
        assert_eq!(run.stderr, format!("{name}: new version {}\n", &id[..12]));
        assert_eq!(
            std::fs::read(object_path(&env, &id)).unwrap(),
            *bytes,
            "{name}: bytes kept"
        );
        assert_eq!(env.run(&["show", name]).ok().stdout_bytes, *bytes);
        let log = versions_log(&env, name);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["action"], "add");
        assert_eq!(log[0]["prompt"], *name);
        assert_eq!(log[0]["from"], Value::Null);
        assert_eq!(log[0]["to"], id);
        assert_eq!(log[0]["message"], "first");
        assert_eq!(log[0]["author"], "Ada Lovelace <ada@example.com>");
        assert_eq!(log[0]["file"], format!("prompts/{name}.txt"));
    }
}

#[test]
fn add_reads_standard_input_without_file_or_with_dash() {
    let env = TestEnv::init();
    let one = b"From a pipe, no newline";
    let run = env.run_stdin(&["add", "piped"], one).ok();
    assert_eq!(run.stdout, format!("{}\n", id_of(one)));
    let two = b"Second, via dash\r\n\xff";
    let run = env
        .run_stdin(&["add", "piped", "-", "-m", "dash"], two)
        .ok();
    assert_eq!(run.stdout, format!("{}\n", id_of(two)));
    assert_eq!(std::fs::read(object_path(&env, &id_of(one))).unwrap(), one);
    assert_eq!(std::fs::read(object_path(&env, &id_of(two))).unwrap(), two);

    let log = versions_log(&env, "piped");
    assert_eq!(log.len(), 2);
    for record in &log {
        assert!(
            record.get("file").is_none(),
            "no file is recorded for stdin: {record}"
        );
    }
    assert_eq!(log[1]["from"], id_of(one));
    assert_eq!(log[1]["to"], id_of(two));
    assert_eq!(log[1]["message"], "dash");
}

#[test]
fn adding_identical_content_again_changes_nothing() {
    let env = TestEnv::init();
    env.write("p.md", "Same.\n");
    let id = env.run(&["add", "p", "p.md"]).ok().stdout;
    #[cfg(unix)]
    let object = object_path(&env, id.trim());
    let before = env.snapshot();
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&object).unwrap());

    let run = env.run(&["add", "p", "p.md", "-m", "again"]).ok();
    assert_eq!(run.stdout, id, "the id is printed again");
    assert_data_eq!(
        run.stderr,
        str![[r#"
p: unchanged, 88f98c8aafcf is already the newest version

"#]]
    );
    // From stdin too.
    env.run_stdin(&["add", "p"], b"Same.\n").ok();

    assert_eq!(env.snapshot(), before, "no record, no object rewrite");
    assert_eq!(versions_log(&env, "p").len(), 1);
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&object).unwrap()),
        inode,
        "the object file was not replaced"
    );
}

#[test]
fn re_adding_an_older_version_makes_it_the_newest_without_a_new_object() {
    let env = TestEnv::init();
    let a = env.add("p", "Version A\n", &[]);
    let b = env.add("p", "Version B\n", &[]);
    let objects_before: Vec<_> = env
        .snapshot()
        .into_keys()
        .filter(|p| p.starts_with("objects"))
        .collect();

    let run = env
        .run_stdin(&["add", "p", "-m", "back to A"], b"Version A\n")
        .ok();
    assert_eq!(run.stdout, format!("{a}\n"));
    assert_eq!(
        run.stderr,
        format!(
            "p: {} has the same content as an existing version; it is the newest again\n",
            &a[..12]
        )
    );
    let objects_after: Vec<_> = env
        .snapshot()
        .into_keys()
        .filter(|p| p.starts_with("objects"))
        .collect();
    assert_eq!(objects_after, objects_before, "no new object");

    let log = versions_log(&env, "p");
    assert_eq!(log.len(), 3, "a new add record");
    assert_eq!(
        (&log[2]["from"], &log[2]["to"]),
        (&Value::from(b.clone()), &Value::from(a.clone()))
    );
    assert_eq!(log[2]["message"], "back to A");
    assert_eq!(env.run(&["show", "p"]).ok().stdout, "Version A\n");
    assert_eq!(env.run(&["show", "p~1"]).ok().stdout, "Version B\n");
    assert_eq!(env.run(&["show", "p~2"]).ok().stdout, "Version A\n");
}

#[test]
fn add_with_repeated_label_moves_each_label() {
    let env = TestEnv::init();
    let run = env
        .run_stdin(
            &[
                "add", "p", "--label", "staging", "--label", "canary", "-m", "try",
            ],
            b"Hi.\n",
        )
        .ok();
    let id = run.stdout.trim().to_string();
    assert_data_eq!(
        run.stderr,
        str![[r#"
p: new version 111ed8282f4e
p@staging: - -> 111ed8282f4e
p@canary: - -> 111ed8282f4e

"#]]
    );
    for label in ["staging", "canary"] {
        assert_eq!(ref_value(&env, "p", label), id);
        let log = label_log(&env, "p", label);
        assert_eq!(log.len(), 1);
        assert_eq!(log[0]["action"], "label");
        assert_eq!(log[0]["label"], label);
        assert_eq!(log[0]["from"], Value::Null);
        assert_eq!(log[0]["to"], id);
        assert_eq!(log[0]["message"], "try");
    }
}

#[test]
fn add_records_the_source_file_relative_to_the_repository() {
    let env = TestEnv::init();
    env.write("prompts/deep/bot.md", "Deep.\n");
    // Run from a subfolder with a path relative to it.
    run_cmd(
        env.command(&["add", "bot", "deep/bot.md"])
            .current_dir(env.root.join("prompts")),
    )
    .ok();
    // And with -C.
    env.write("prompts/deep/bot.md", "Deeper.\n");
    env.run(&["-C", "prompts/deep", "add", "bot", "bot.md"])
        .ok();
    // A file outside the repository is stored but its path is not recorded.
    let outside = env.outside().join("elsewhere.md");
    std::fs::write(&outside, "Outside.\n").unwrap();
    env.run(&["add", "bot", outside.to_str().unwrap()]).ok();

    let files: Vec<Option<&str>> = Vec::new();
    let log = versions_log(&env, "bot");
    let files = log.iter().fold(files, |mut acc, r| {
        acc.push(r.get("file").and_then(Value::as_str));
        acc
    });
    assert_eq!(
        files,
        [
            Some("prompts/deep/bot.md"),
            Some("prompts/deep/bot.md"),
            None
        ]
    );
}

#[test]
fn namespaced_prompts_live_in_folders_next_to_a_prompt_of_the_same_name() {
    let env = TestEnv::init();
    let parent = env.add("support", "General support.\n", &["--label", "staging"]);
    let child = env.add(
        "support/refund-bot",
        "Refunds only.\n",
        &["--label", "staging"],
    );

    assert_eq!(ref_value(&env, "support", "staging"), parent);
    assert_eq!(ref_value(&env, "support/refund-bot", "staging"), child);
    assert!(
        env.store()
            .join("refs/support/refund-bot/@staging")
            .is_file()
    );
    assert_eq!(env.log_files("support/refund-bot", "+versions").len(), 1);
    assert_eq!(env.log_files("support/refund-bot", "@staging").len(), 1);
    assert_eq!(env.log_files("support", "+versions").len(), 1);

    // Adding more to each keeps them apart.
    env.add(
        "support/refund-bot",
        "Refunds, politely.\n",
        &["--label", "staging"],
    );
    assert_eq!(
        env.run(&["show", "support@staging"]).ok().stdout,
        "General support.\n"
    );
    assert_eq!(
        env.run(&["show", "support/refund-bot@staging"]).ok().stdout,
        "Refunds, politely.\n"
    );
    assert_eq!(
        env.run(&["show", "support/refund-bot@staging~1"])
            .ok()
            .stdout,
        "Refunds only.\n"
    );
    assert_eq!(versions_log(&env, "support").len(), 1);
    assert_eq!(versions_log(&env, "support/refund-bot").len(), 2);

    assert_data_eq!(
        env.run(&["list"]).ok().stdout,
        str![[r#"
support
  @staging  372ebcf3d9ba
support/refund-bot
  @staging  bbc67fea0dbd

"#]]
    );
    assert_data_eq!(
        env.run(&["log", "support"]).ok().stdout,
        str![[r#"
2026-01-02T10:01:00Z  label     support@staging  - -> 372ebcf3d9ba  Ada Lovelace <ada@example.com>
2026-01-02T10:01:00Z  add       support  - -> 372ebcf3d9ba  Ada Lovelace <ada@example.com>

"#]]
    );
}

// ----- show ------------------------------------------------------------------

#[test]
fn show_writes_the_exact_bytes() {
    let env = TestEnv::init();
    for bytes in [
        &b"no trailing newline"[..],
        b"two\n\n",
        b"\xff\xfe\x00bin\r\n",
        b"\r\n",
    ] {
        env.run_stdin(&["add", "p"], bytes).ok();
        let run = env.run(&["show", "p"]).ok();
        assert_eq!(run.stdout_bytes, bytes);
        assert_eq!(run.stderr, "");
    }
}

#[test]
fn show_resolves_every_revision_form() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &["--label", "staging"]);
    let b = env.add("p", "B\n", &["--label", "staging"]);
    let c = env.add("p", "C\n", &[]);
    let show = |rev: &str| env.run(&["show", rev]).ok().stdout;

    assert_eq!(show("p"), "C\n", "NAME is the newest");
    assert_eq!(show("p~1"), "B\n");
    assert_eq!(show("p~"), "B\n", "a bare ~ is one step");
    assert_eq!(show("p~2"), "A\n");
    assert_eq!(show("p@staging"), "B\n");
    assert_eq!(show("p@staging~1"), "A\n");
    for id in [&a, &b, &c] {
        let bytes = std::fs::read(object_path(&env, id)).unwrap();
        let bytes = String::from_utf8(bytes).unwrap();
        assert_eq!(show(&format!("p@{id}")), bytes, "full id");
        assert_eq!(show(&format!("p@{}", &id[..12])), bytes, "short id");
    }
    // A 4-digit prefix, in lower and upper case, for a version whose prefix is unique.
    let ids = [&a, &b, &c];
    let unique = ids
        .iter()
        .find(|id| ids.iter().filter(|o| o[..4] == id[..4]).count() == 1)
        .expect("some 4-digit prefix is unique");
    let expected = String::from_utf8(std::fs::read(object_path(&env, unique)).unwrap()).unwrap();
    assert_eq!(show(&format!("p@{}", &unique[..4])), expected);
    assert_eq!(show(&format!("p@{}", unique[..4].to_uppercase())), expected);
    assert_eq!(show(&format!("p@{}", unique.to_uppercase())), expected);

    // Too far back is an error, and says how far the history goes.
    let run = env.run(&["show", "p@staging~2"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: p@staging~2 reaches back 2 changes, but the history holds only 1
hint: use a smaller number after '~'

"#]]
    );
}

// ----- label -----------------------------------------------------------------

#[test]
fn label_points_at_ids_prefixes_labels_and_label_history() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &["--label", "staging"]);
    let b = env.add("p", "B\n", &["--label", "staging"]);

    let run = env.run(&["label", "p", "dev", &a, "-m", "by id"]).ok();
    assert_eq!(run.stdout, format!("labelled p@dev: - -> {}\n", &a[..12]));
    assert_eq!(ref_value(&env, "p", "dev"), a);

    let run = env.run(&["label", "p", "dev", &b[..8]]).ok();
    assert_eq!(
        run.stdout,
        format!("labelled p@dev: {} -> {}\n", &a[..12], &b[..12])
    );
    assert_eq!(ref_value(&env, "p", "dev"), b);

    env.run(&["label", "p", "qa", "staging"]).ok();
    assert_eq!(ref_value(&env, "p", "qa"), b, "by another label");

    env.run(&["label", "p", "qa", "staging~1", "-m", "previous staging"])
        .ok();
    assert_eq!(ref_value(&env, "p", "qa"), a, "by LABEL~1");

    env.run(&["label", "p", "qa", "p@staging"]).ok();
    assert_eq!(
        ref_value(&env, "p", "qa"),
        b,
        "a full NAME@SPEC of the same prompt"
    );

    let dev = label_log(&env, "p", "dev");
    assert_eq!(dev.len(), 2);
    assert_eq!(
        keys(&dev[0]),
        [
            "action", "author", "from", "label", "message", "prompt", "seq", "time", "to"
        ]
    );
    assert_eq!(dev[0]["action"], "label");
    assert_eq!(dev[0]["prompt"], "p");
    assert_eq!(dev[0]["label"], "dev");
    assert_eq!(dev[0]["from"], Value::Null);
    assert_eq!(dev[0]["to"], a);
    assert_eq!(dev[0]["message"], "by id");
    assert_eq!(dev[1]["from"], a);
    assert_eq!(dev[1]["to"], b);
    assert_eq!(dev[1]["message"], "");
    let qa = label_log(&env, "p", "qa");
    assert_eq!(qa.len(), 3);
    assert_eq!(qa[1]["message"], "previous staging");
}

#[test]
fn label_to_its_current_value_writes_nothing() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &["--label", "staging"]);
    let before = env.snapshot();
    for target in [a.as_str(), &a[..6], "staging"] {
        let run = env
            .run(&["label", "p", "staging", target, "-m", "again"])
            .ok();
        assert_eq!(
            run.stdout,
            format!(
                "p@staging already points at {}; nothing changed\n",
                &a[..12]
            )
        );
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn label_refuses_protected_labels_and_unknown_versions() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &[]);
    let before = env.snapshot();
    let run = env.run(&["label", "p", "prod", &a]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: label "prod" is protected: it moves only through promote and rollback
hint: move it with `promptrel promote NAME FROM prod -m MSG` (or `promptrel rollback`)

"#]]
    );
    let run = env.run(&["label", "p", "dev", "0000"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: p has no version matching "0000"
hint: `promptrel log p` lists its versions

"#]]
    );
    assert_eq!(env.snapshot(), before);
}

// ----- promote ---------------------------------------------------------------

#[test]
fn promote_moves_the_label_and_records_where_from() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &["--label", "staging"]);
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "first release"])
        .ok();
    assert_eq!(
        run.stdout,
        format!("promoted p@prod: - -> {}\n", &a[..12]),
        "a new label: from nothing"
    );
    let b = env.add("p", "B\n", &["--label", "staging"]);
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "second"])
        .ok();
    assert_eq!(
        run.stdout,
        format!("promoted p@prod: {} -> {}\n", &a[..12], &b[..12])
    );
    assert_eq!(ref_value(&env, "p", "prod"), b);

    let log = label_log(&env, "p", "prod");
    assert_eq!(log.len(), 2);
    assert_eq!(
        keys(&log[0]),
        [
            "action", "author", "from", "label", "message", "prompt", "seq", "source", "time", "to"
        ]
    );
    assert_eq!(log[0]["action"], "promote");
    assert_eq!(log[0]["label"], "prod");
    assert_eq!(log[0]["source"], "staging");
    assert_eq!(log[0]["from"], Value::Null);
    assert_eq!(log[0]["to"], a);
    assert_eq!(log[0]["message"], "first release");
    assert_eq!(log[1]["from"], a);
    assert_eq!(log[1]["to"], b);
    assert_eq!(log[1]["source"], "staging");
    assert_eq!(
        log[1]["time"], "2026-01-02T10:04:00Z",
        "init is minute 0, then one minute per command"
    );
}

#[test]
fn promote_to_a_label_already_there_writes_nothing() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &["--label", "staging"]);
    env.run(&["promote", "p", "staging", "prod", "-m", "ship"])
        .ok();
    let before = env.snapshot();
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "ship again"])
        .ok();
    assert_eq!(
        run.stdout,
        format!("p@prod already points at {}; nothing changed\n", &a[..12])
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn label_with_expect_is_a_compare_and_swap() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &["--label", "qa"]);
    let b = env.add("p", "B\n", &[]);
    let before = env.snapshot();
    // Someone expects qa to still be at B: it is not, so nothing moves.
    let run = env.run(&["label", "p", "qa", &a, "--expect", &b]).fails(3);
    assert!(
        run.stderr.starts_with("error: p@qa has moved: expected "),
        "{}",
        run.stderr
    );
    assert_eq!(env.snapshot(), before);
    // The right expectation moves it; the record says so.
    env.run(&["label", "p", "qa", &b, "--expect", &a[..8]]).ok();
    assert_eq!(ref_value(&env, "p", "qa"), b);
    // Expecting a label that does not exist yet fails too (found nothing).
    env.run(&["label", "p", "new", &a, "--expect", &a]).fails(3);
}

#[test]
fn promote_with_expect_checks_the_current_value() {
    let env = TestEnv::init();
    let a = env.add("p", "A\n", &["--label", "staging"]);
    env.run(&["promote", "p", "staging", "prod", "-m", "ship"])
        .ok();
    let b = env.add("p", "B\n", &["--label", "staging"]);

    // Wrong expectation: exit 3, nothing written.
    let before = env.snapshot();
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "x", "--expect", &b])
        .fails(3);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: p@prod has moved: expected c8bad8a23966, found 753dcb144663
hint: see who moved it with `promptrel log p --label prod`, then review again

"#]]
    );
    assert_eq!(env.snapshot(), before);

    // Right expectation, by full id, by prefix, by label.
    let run = env
        .run(&[
            "promote", "p", "staging", "prod", "-m", "reviewed", "--expect", &a,
        ])
        .ok();
    assert_eq!(
        run.stdout,
        format!("promoted p@prod: {} -> {}\n", &a[..12], &b[..12])
    );
    env.run(&["rollback", "p", "prod", "--expect", &b[..6]])
        .ok();
    assert_eq!(ref_value(&env, "p", "prod"), a);
    env.run(&[
        "promote", "p", "staging", "prod", "-m", "again", "--expect", "prod",
    ])
    .ok();
    assert_eq!(ref_value(&env, "p", "prod"), b);
}

#[test]
fn promote_needs_a_message() {
    let env = TestEnv::init();
    env.add("p", "A\n", &["--label", "staging"]);
    let before = env.snapshot();
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "  "])
        .fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: a promotion needs a message saying why (-m MSG); it goes into the changelog

"#]]
    );
    let run = env.run(&["promote", "p", "staging", "prod"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--message <MESSAGE>"), "{}", run.stderr);
    assert_eq!(env.snapshot(), before);
}

// ----- rollback --------------------------------------------------------------

/// prod moved through A, B, C by promotions; returns their ids.
fn prod_through_three(env: &TestEnv) -> [String; 3] {
    ["A\n", "B\n", "C\n"].map(|text| {
        let id = env.add("p", text, &["--label", "staging"]);
        env.run(&[
            "promote",
            "p",
            "staging",
            "prod",
            "-m",
            &format!("ship {}", &text[..1]),
        ])
        .ok();
        id
    })
}

#[test]
fn rollback_walks_back_like_undo() {
    let env = TestEnv::init();
    let [a, b, c] = prod_through_three(&env);
    assert_eq!(ref_value(&env, "p", "prod"), c);

    let run = env.run(&["rollback", "p", "prod", "-m", "C is bad"]).ok();
    assert_eq!(
        run.stdout,
        format!("rolled back p@prod: {} -> {}\n", &c[..12], &b[..12])
    );
    assert_eq!(ref_value(&env, "p", "prod"), b);

    let run = env.run(&["rollback", "p", "prod", "-m", "B too"]).ok();
    assert_eq!(
        run.stdout,
        format!("rolled back p@prod: {} -> {}\n", &b[..12], &a[..12])
    );
    assert_eq!(ref_value(&env, "p", "prod"), a);

    let before = env.snapshot();
    let run = env.run(&["rollback", "p", "prod", "-m", "more"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: p@prod has no earlier value to roll back to
hint: choose where it goes with --to VERSION

"#]]
    );
    assert_eq!(env.snapshot(), before);

    let log = label_log(&env, "p", "prod");
    assert_eq!(log.len(), 5);
    for (record, (from, to)) in log[3..].iter().zip([(&c, &b), (&b, &a)]) {
        assert_eq!(
            keys(record),
            [
                "action", "author", "from", "label", "message", "prompt", "seq", "time", "to",
                "undo"
            ]
        );
        assert_eq!(record["action"], "rollback");
        assert_eq!(record["undo"], true);
        assert_eq!(&record["from"], from.as_str());
        assert_eq!(&record["to"], to.as_str());
    }
}

#[test]
fn rollback_after_a_new_promotion_undoes_that_promotion() {
    let env = TestEnv::init();
    let [_a, b, c] = prod_through_three(&env);
    env.run(&["rollback", "p", "prod", "-m", "C is bad"]).ok();
    assert_eq!(ref_value(&env, "p", "prod"), b);

    let d = env.add("p", "D\n", &["--label", "staging"]);
    env.run(&["promote", "p", "staging", "prod", "-m", "ship D"])
        .ok();
    assert_eq!(ref_value(&env, "p", "prod"), d);

    let run = env.run(&["rollback", "p", "prod", "-m", "D is bad"]).ok();
    assert_eq!(
        run.stdout,
        format!("rolled back p@prod: {} -> {}\n", &d[..12], &b[..12])
    );
    assert_eq!(
        ref_value(&env, "p", "prod"),
        b,
        "back to the value before that promote, not to C"
    );
    assert_ne!(ref_value(&env, "p", "prod"), c);
}

#[test]
fn rollback_to_a_version_is_itself_undoable() {
    let env = TestEnv::init();
    let [a, _b, c] = prod_through_three(&env);

    let run = env
        .run(&[
            "rollback",
            "p",
            "prod",
            "--to",
            &a[..8],
            "-m",
            "straight to A",
        ])
        .ok();
    assert_eq!(
        run.stdout,
        format!("rolled back p@prod: {} -> {}\n", &c[..12], &a[..12])
    );
    assert_eq!(ref_value(&env, "p", "prod"), a);
    let last = label_log(&env, "p", "prod").pop().unwrap();
    assert_eq!(last["action"], "rollback");
    assert!(last.get("undo").is_none(), "--to is not an undo: {last}");

    let run = env.run(&["rollback", "p", "prod"]).ok();
    assert_eq!(
        run.stdout,
        format!("rolled back p@prod: {} -> {}\n", &a[..12], &c[..12])
    );
    assert_eq!(ref_value(&env, "p", "prod"), c);

    // --to accepts LABEL~N too.
    env.run(&["rollback", "p", "prod", "--to", "prod~1"]).ok();
    assert_eq!(ref_value(&env, "p", "prod"), a);
}

#[test]
fn rollback_without_a_message_records_an_empty_one() {
    let env = TestEnv::init();
    let [_a, b, _c] = prod_through_three(&env);
    env.run(&["rollback", "p", "prod"]).ok();
    assert_eq!(ref_value(&env, "p", "prod"), b);
    let last = label_log(&env, "p", "prod").pop().unwrap();
    assert_eq!(last["message"], "");
    let line = env.run(&["log", "p", "-n", "1"]).ok().stdout;
    assert!(
        line.ends_with("(undo)  Ada Lovelace <ada@example.com>\n"),
        "{line:?}"
    );
}

#[test]
fn rollback_of_an_unknown_label_is_an_error() {
    let env = TestEnv::init();
    env.add("p", "A\n", &["--label", "staging"]);
    let run = env.run(&["rollback", "p", "prod"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: p has no label "prod"
hint: `promptrel list` shows the labels of p

"#]]
    );
    // The only move of staging created it: nothing to go back to.
    env.run(&["rollback", "p", "staging"]).fails(2);
}

// ----- log -------------------------------------------------------------------

#[test]
fn log_is_newest_first_and_filters() {
    let env = TestEnv::init();
    prod_through_three(&env);
    env.run(&["rollback", "p", "prod", "-m", "oops"]).ok();

    assert_data_eq!(
        env.run(&["log", "p"]).ok().stdout,
        str![[r#"
2026-01-02T10:07:00Z  rollback  p@prod  478b4b1142c9 -> c8bad8a23966 (undo)  Ada Lovelace <ada@example.com>: oops
2026-01-02T10:06:00Z  promote   p@prod  c8bad8a23966 -> 478b4b1142c9 (from staging)  Ada Lovelace <ada@example.com>: ship C
2026-01-02T10:05:00Z  label     p@staging  c8bad8a23966 -> 478b4b1142c9  Ada Lovelace <ada@example.com>
2026-01-02T10:05:00Z  add       p  c8bad8a23966 -> 478b4b1142c9  Ada Lovelace <ada@example.com>
2026-01-02T10:04:00Z  promote   p@prod  753dcb144663 -> c8bad8a23966 (from staging)  Ada Lovelace <ada@example.com>: ship B
2026-01-02T10:03:00Z  label     p@staging  753dcb144663 -> c8bad8a23966  Ada Lovelace <ada@example.com>
2026-01-02T10:03:00Z  add       p  753dcb144663 -> c8bad8a23966  Ada Lovelace <ada@example.com>
2026-01-02T10:02:00Z  promote   p@prod  - -> 753dcb144663 (from staging)  Ada Lovelace <ada@example.com>: ship A
2026-01-02T10:01:00Z  label     p@staging  - -> 753dcb144663  Ada Lovelace <ada@example.com>
2026-01-02T10:01:00Z  add       p  - -> 753dcb144663  Ada Lovelace <ada@example.com>

"#]]
    );
    assert_data_eq!(
        env.run(&["log", "p", "-n", "2"]).ok().stdout,
        str![[r#"
2026-01-02T10:07:00Z  rollback  p@prod  478b4b1142c9 -> c8bad8a23966 (undo)  Ada Lovelace <ada@example.com>: oops
2026-01-02T10:06:00Z  promote   p@prod  c8bad8a23966 -> 478b4b1142c9 (from staging)  Ada Lovelace <ada@example.com>: ship C

"#]]
    );
    assert_data_eq!(
        env.run(&["log", "p", "--label", "prod"]).ok().stdout,
        str![[r#"
2026-01-02T10:07:00Z  rollback  p@prod  478b4b1142c9 -> c8bad8a23966 (undo)  Ada Lovelace <ada@example.com>: oops
2026-01-02T10:06:00Z  promote   p@prod  c8bad8a23966 -> 478b4b1142c9 (from staging)  Ada Lovelace <ada@example.com>: ship C
2026-01-02T10:04:00Z  promote   p@prod  753dcb144663 -> c8bad8a23966 (from staging)  Ada Lovelace <ada@example.com>: ship B
2026-01-02T10:02:00Z  promote   p@prod  - -> 753dcb144663 (from staging)  Ada Lovelace <ada@example.com>: ship A

"#]]
    );
    assert_data_eq!(
        env.run(&["log", "p", "--label", "prod", "--max-count", "1"])
            .ok()
            .stdout,
        str![[r#"
2026-01-02T10:07:00Z  rollback  p@prod  478b4b1142c9 -> c8bad8a23966 (undo)  Ada Lovelace <ada@example.com>: oops

"#]]
    );
}

#[test]
fn log_without_a_name_interleaves_every_prompt_by_time() {
    let env = TestEnv::init();
    env.add("alpha", "a1\n", &["-m", "alpha one"]);
    env.add("beta", "b1\n", &["-m", "beta one", "--label", "staging"]);
    env.add("alpha", "a2\n", &["-m", "alpha two"]);
    env.run(&["promote", "beta", "staging", "prod", "-m", "beta live"])
        .ok();
    env.add("support/refund-bot", "r1\n", &["-m", "refunds"]);

    assert_data_eq!(
        env.run(&["log"]).ok().stdout,
        str![[r#"
2026-01-02T10:05:00Z  add       support/refund-bot  - -> be477ce1e3c4  Ada Lovelace <ada@example.com>: refunds
2026-01-02T10:04:00Z  promote   beta@prod  - -> 53797e8db495 (from staging)  Ada Lovelace <ada@example.com>: beta live
2026-01-02T10:03:00Z  add       alpha  92719755f8d6 -> ff3e86a12355  Ada Lovelace <ada@example.com>: alpha two
2026-01-02T10:02:00Z  label     beta@staging  - -> 53797e8db495  Ada Lovelace <ada@example.com>: beta one
2026-01-02T10:02:00Z  add       beta  - -> 53797e8db495  Ada Lovelace <ada@example.com>: beta one
2026-01-02T10:01:00Z  add       alpha  - -> 92719755f8d6  Ada Lovelace <ada@example.com>: alpha one

"#]]
    );
    // A full log reads its logs ahead on threads of their own; a short
    // one in this thread: the same lines either way.
    assert_eq!(
        env.run(&["log", "-n", "10000"]).ok().stdout,
        env.run(&["log"]).ok().stdout
    );
    assert_data_eq!(
        env.run(&["log", "--label", "prod"]).ok().stdout,
        str![[r#"
2026-01-02T10:04:00Z  promote   beta@prod  - -> 53797e8db495 (from staging)  Ada Lovelace <ada@example.com>: beta live

"#]]
    );
    let times: Vec<String> = env
        .run(&["log", "-n", "3"])
        .ok()
        .stdout
        .lines()
        .map(|l| l[..20].to_string())
        .collect();
    assert_eq!(
        times,
        [
            "2026-01-02T10:05:00Z",
            "2026-01-02T10:04:00Z",
            "2026-01-02T10:03:00Z"
        ]
    );
}

#[test]
fn log_json_prints_the_stored_records() {
    let env = TestEnv::init();
    env.write("prompts/p.md", "A\n");
    env.run(&[
        "add",
        "p",
        "prompts/p.md",
        "-m",
        "from file",
        "--label",
        "staging",
    ])
    .ok();
    env.run(&["promote", "p", "staging", "prod", "-m", "ship"])
        .ok();
    env.add("p", "B\n", &["--label", "staging"]);
    env.run(&["promote", "p", "staging", "prod", "-m", "ship B"])
        .ok();
    env.run(&["rollback", "p", "prod", "-m", "undo"]).ok();

    let run = env.run(&["log", "--json"]).ok();
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 7);
    const DOCUMENTED: [&str; 12] = [
        "action", "author", "file", "from", "label", "message", "prompt", "seq", "source", "time",
        "to", "undo",
    ];
    for record in &lines {
        for key in keys(record) {
            assert!(
                DOCUMENTED.contains(&key),
                "undocumented field {key}: {record}"
            );
        }
        for key in [
            "time", "action", "prompt", "seq", "from", "to", "author", "message",
        ] {
            assert!(record.get(key).is_some(), "missing {key}: {record}");
        }
        let time = record["time"].as_str().unwrap();
        assert!(
            time.parse::<jiff::Timestamp>().is_ok() && time.ends_with('Z'),
            "{time}"
        );
    }
    let actions: Vec<&str> = lines
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "rollback", "promote", "label", "add", "promote", "label", "add"
        ]
    );
    assert_eq!(lines[0]["undo"], true);
    assert_eq!(lines[1]["source"], "staging");
    assert_eq!(lines[6]["file"], "prompts/p.md");
    assert!(lines[3].get("file").is_none());
    assert_eq!(
        keys(&lines[6]),
        [
            "action", "author", "file", "from", "message", "prompt", "seq", "time", "to"
        ]
    );

    // The JSON lines are the stored lines, byte for byte.
    let stored = env.log_lines("p", "@prod").join("\n") + "\n";
    let json_prod: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(r#""label":"prod""#))
        .collect();
    let mut stored_prod: Vec<&str> = stored.lines().collect();
    stored_prod.reverse();
    assert_eq!(json_prod, stored_prod);

    // -n applies to --json too.
    assert_eq!(
        env.run(&["log", "p", "--json", "-n", "2"])
            .ok()
            .stdout
            .lines()
            .count(),
        2
    );
}

#[test]
fn log_of_an_unknown_label_is_an_error_but_a_label_without_moves_elsewhere_is_not() {
    let env = TestEnv::init();
    env.add("checkout-bot", "A\n", &["--label", "staging"]);
    let run = env
        .run(&["log", "checkout-bot", "--label", "stagin"])
        .fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: checkout-bot has no label "stagin"
hint: did you mean checkout-bot@staging?

"#]]
    );
    // Across all prompts, a label nobody has yet simply has no history.
    assert_eq!(env.run(&["log", "--label", "canary"]).ok().stdout, "");
}

#[test]
fn log_of_an_unknown_prompt_is_an_error() {
    let env = TestEnv::init();
    env.add("checkout-bot", "A\n", &[]);
    let run = env.run(&["log", "checkout-bat"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: no prompt named "checkout-bat"
hint: did you mean checkout-bot?

"#]]
    );
    let run = env.run(&["log", "nothing-like-it"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: no prompt named "nothing-like-it"
hint: `promptrel list` shows every prompt; `promptrel add NAME FILE` creates one

"#]]
    );
    // An empty store logs nothing, successfully.
    assert_eq!(TestEnv::init().run(&["log"]).ok().stdout, "");
}

// ----- list ------------------------------------------------------------------

#[test]
fn list_shows_prompts_sorted_with_their_labels() {
    let env = TestEnv::init();
    assert_eq!(
        env.run(&["list"]).ok().stdout,
        "",
        "an empty store lists nothing"
    );
    assert_data_eq!(
        env.run(&["list", "--json"]).ok().stdout,
        str![[r#"
{
  "prompts": []
}

"#]]
    );

    env.add("zeta", "z\n", &[]);
    let a = env.add("checkout-bot", "A\n", &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "ship"])
        .ok();
    let b = env.add(
        "checkout-bot",
        "B\n",
        &["--label", "staging", "--label", "canary-2"],
    );
    let r = env.add("support/refund-bot", "R\n", &["--label", "staging"]);

    assert_data_eq!(
        env.run(&["list"]).ok().stdout,
        str![[r#"
checkout-bot
  @canary-2  c8bad8a23966
  @prod      753dcb144663
  @staging   c8bad8a23966
support/refund-bot
  @staging  920afe167e91
zeta
  (no labels)

"#]]
    );

    let run = env.run(&["list", "--json"]).ok();
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "prompts": [
                {"name": "checkout-bot", "labels": {"canary-2": b, "prod": a, "staging": b}, "splits": {}},
                {"name": "support/refund-bot", "labels": {"staging": r}, "splits": {}},
                {"name": "zeta", "labels": {}, "splits": {}},
            ]
        })
    );
}

// ----- discovery and environment ---------------------------------------------

#[test]
fn commands_find_the_store_from_a_subfolder() {
    let env = TestEnv::init();
    let deep = env.root.join("src/prompts/deep");
    std::fs::create_dir_all(&deep).unwrap();
    // stdin is /dev/null: empty input is refused, but only after the store was found.
    let run = run_cmd(env.command(&["add", "p", "-"]).current_dir(&deep)).fails(2);
    assert!(
        run.stderr.contains("refusing to add an empty version of p"),
        "{}",
        run.stderr
    );
    std::fs::write(deep.join("p.md"), "Deep\n").unwrap();
    let run = run_cmd(env.command(&["add", "p", "p.md"]).current_dir(&deep)).ok();
    assert_eq!(run.stdout, format!("{}\n", id_of("Deep\n")));
    assert!(object_path(&env, &id_of("Deep\n")).is_file());
    assert_eq!(
        run_cmd(env.command(&["show", "p"]).current_dir(&deep))
            .ok()
            .stdout,
        "Deep\n"
    );
    assert!(!deep.join(".promptrel").exists());
}

#[test]
fn outside_a_store_commands_say_how_to_make_one() {
    let env = TestEnv::new();
    let run = env.run(&["list"]).fails(2);
    assert_data_eq!(
        root_redacted(&env, &run.stderr),
        str![[r#"
error: not in a promptrel store (no .promptrel in [ROOT] or any parent folder)
hint: run `promptrel init` to create a store here, or use -C DIR / PROMPTREL_DIR

"#]]
    );
}

#[test]
fn promptrel_dir_overrides_discovery() {
    let env = TestEnv::init();
    // A second store elsewhere, chosen by PROMPTREL_DIR although the cwd has its own.
    let other = env.outside().join("other");
    std::fs::create_dir(&other).unwrap();
    run_cmd(env.command(&["init"]).current_dir(&other)).ok();
    let other_store = other.join(".promptrel");

    let run = run_cmd(
        env.command(&["add", "p", "prompt.md"])
            .env("PROMPTREL_DIR", &other_store),
    );
    assert_eq!(
        run.code, 2,
        "the file is read relative to the cwd: {}",
        run.stderr
    );
    env.write("prompt.md", "Elsewhere\n");
    run_cmd(
        env.command(&["add", "p", "prompt.md"])
            .env("PROMPTREL_DIR", &other_store),
    )
    .ok();
    assert_eq!(support::log_lines(&other_store, "p", "+versions").len(), 1);
    assert!(
        !env.store().join("logs/p+versions").exists(),
        "the local store is untouched"
    );
    assert_eq!(env.run(&["list"]).ok().stdout, "");

    // A relative PROMPTREL_DIR is relative to the working directory.
    let run = run_cmd(
        env.command(&["show", "p"])
            .env("PROMPTREL_DIR", "../other/.promptrel"),
    )
    .ok();
    assert_eq!(run.stdout, "Elsewhere\n");

    // A folder that is not a store is refused.
    let run = run_cmd(
        env.command(&["list"])
            .env("PROMPTREL_DIR", env.outside().join("nope")),
    );
    let run = run.fails(2);
    assert!(
        run.stderr
            .contains("is not a promptrel store (no such folder)"),
        "{}",
        run.stderr
    );
}

#[test]
fn dash_c_runs_as_if_started_in_dir() {
    let env = TestEnv::new();
    std::fs::create_dir(env.root.join("app")).unwrap();
    let run = env.run(&["-C", "app", "init"]).ok();
    assert!(
        root_redacted(&env, &run.stdout).contains("[ROOT]/app/.promptrel"),
        "{}",
        run.stdout
    );
    assert!(env.root.join("app/.promptrel/config.yaml").is_file());
    assert!(!env.store().exists());

    env.write("app/p.md", "In app\n");
    env.run(&["-C", "app", "add", "p", "p.md", "--label", "staging"])
        .ok();
    assert_eq!(
        env.run(&["show", "p", "-C", "app"]).ok().stdout,
        "In app\n",
        "-C is global"
    );
    assert_eq!(
        env.run(&["-C", "app", "show", "p@staging"]).ok().stdout,
        "In app\n"
    );
    // The recorded file is relative to app/, the store's folder.
    let log = parsed(support::log_lines(
        &env.root.join("app/.promptrel"),
        "p",
        "+versions",
    ));
    assert_eq!(log[0]["file"], "p.md");

    let run = env.run(&["-C", "missing", "list"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: cannot change to missing: no such folder

"#]]
    );
}

#[test]
fn author_defaults_to_git_user_name_and_email() {
    let env = TestEnv::init();
    git(&env, &env.root, &["init", "-q"]);
    git(&env, &env.root, &["config", "user.name", "Grace Hopper"]);
    git(
        &env,
        &env.root,
        &["config", "user.email", "grace@example.com"],
    );
    env.write("p.md", "A\n");
    run_cmd(
        env.command(&["add", "p", "p.md", "--label", "staging"])
            .env_remove("PROMPTREL_AUTHOR")
            .env("GIT_CONFIG_NOSYSTEM", "1"),
    )
    .ok();
    // From a subfolder too: git is asked about the store's repository.
    std::fs::create_dir(env.root.join("sub")).unwrap();
    run_cmd(
        env.command(&["promote", "p", "staging", "prod", "-m", "ship"])
            .current_dir(env.root.join("sub"))
            .env_remove("PROMPTREL_AUTHOR")
            .env("GIT_CONFIG_NOSYSTEM", "1"),
    )
    .ok();
    assert_eq!(
        versions_log(&env, "p")[0]["author"],
        "Grace Hopper <grace@example.com>"
    );
    assert_eq!(
        label_log(&env, "p", "staging")[0]["author"],
        "Grace Hopper <grace@example.com>"
    );
    assert_eq!(
        label_log(&env, "p", "prod")[0]["author"],
        "Grace Hopper <grace@example.com>"
    );

    // PROMPTREL_AUTHOR wins over git.
    run_cmd(
        env.command(&["rollback", "p", "prod", "--to", "staging"])
            .env("GIT_CONFIG_NOSYSTEM", "1"),
    )
    .ok();
    env.run(&["label", "p", "dev", "staging"]).ok();
    assert_eq!(
        label_log(&env, "p", "dev")[0]["author"],
        "Ada Lovelace <ada@example.com>"
    );
}

#[test]
fn author_falls_back_to_the_login_name() {
    let env = TestEnv::init();
    env.write("p.md", "A\n");
    run_cmd(
        env.command(&["add", "p", "p.md"])
            .env_remove("PROMPTREL_AUTHOR")
            .env("USER", "dana")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CEILING_DIRECTORIES", env.outside()),
    )
    .ok();
    assert_eq!(versions_log(&env, "p")[0]["author"], "dana");
}

#[test]
fn promptrel_date_sets_the_record_time_in_utc() {
    let env = TestEnv::init();
    env.write("p.md", "A\n");
    run_cmd(
        env.command(&["add", "p", "p.md", "--label", "staging"])
            .env("PROMPTREL_DATE", "2030-05-06T07:08:09+02:00"),
    )
    .ok();
    assert_eq!(versions_log(&env, "p")[0]["time"], "2030-05-06T05:08:09Z");
    assert_eq!(
        label_log(&env, "p", "staging")[0]["time"],
        "2030-05-06T05:08:09Z"
    );
    let raw = env.log_lines("p", "+versions").join("\n");
    assert!(
        raw.starts_with(r#"{"time":"2030-05-06T05:08:09Z","#),
        "{raw}"
    );
    assert_data_eq!(
        env.run(&["log"]).ok().stdout,
        str![[r#"
2030-05-06T05:08:09Z  label     p@staging  - -> 753dcb144663  Ada Lovelace <ada@example.com>
2030-05-06T05:08:09Z  add       p  - -> 753dcb144663  Ada Lovelace <ada@example.com>

"#]]
    );

    let before = env.snapshot();
    let run = run_cmd(
        env.command(&["label", "p", "dev", "staging"])
            .env("PROMPTREL_DATE", "yesterday"),
    )
    .fails(2);
    assert!(
        run.stderr
            .contains(r#"PROMPTREL_DATE="yesterday" is not an RFC 3339 time"#),
        "{}",
        run.stderr
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn error_lines_follow_the_color_option() {
    let env = TestEnv::init();
    // NO_COLOR is set by TestEnv: auto gives plain text, always paints.
    let run = env.run(&["show", "nope"]).fails(2);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
    let run = env.run(&["--color", "always", "show", "nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("\x1b[1m\x1b[31merror:\x1b[0m no prompt named"),
        "{:?}",
        run.stderr
    );
    // never wins over CLICOLOR_FORCE.
    let run = run_cmd(
        env.command(&["--color", "never", "show", "nope"])
            .env_remove("NO_COLOR")
            .env("CLICOLOR_FORCE", "1"),
    )
    .fails(2);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
}

// ----- help and version ------------------------------------------------------

#[test]
fn top_level_help() {
    let env = TestEnv::new();
    let run = env.run(&["--help"]).ok();
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("Example: promptrel ")),
        "{}",
        run.stdout
    );
    assert_data_eq!(
        run.stdout,
        str![[r#"
Release discipline for LLM prompts: immutable versions, labels, promotion with a changelog,
rollback, diffs — local and git-native.

Usage: promptrel [OPTIONS] <COMMAND>

Commands:
  init           Create a store (.promptrel/) in the current folder
  add            Store a new version of a prompt and print its id
  show           Write a version's exact bytes to standard output
  render         Render a version's body with variables, strictly, and print it
  vars           List the variables a version uses and declares, and which have defaults
  label          Point a label at a version
  promote        Point label TO at what FROM points to, and record who, when and why
  release        Move TO to FROM's version for several prompts at once, as one release
  rollback       Move a label back to where it was before its last change
  split          Serve several versions from one label, by weight (an A/B split)
  diff           Show what changed between two versions, as a unified diff
  log            Show the changelog, newest first: every version added and every label move
  fsck           Check the whole store: every object re-hashed, every ref and changelog record
  upgrade        Convert a store written by an earlier promptrel (format 2) to this one's format
  status         Show prompt files changed since `add`, and labels at odds with their changelog
  list           List every prompt with its labels and the versions they point to
  export         Write one label of every prompt as plain files, for a deploy
  verify-export  Check a folder written by `promptrel export` against its manifest
  completions    Print a shell completion script to standard output
  man            Write the manual pages (roff), or print promptrel.1 to standard output
  help           Print this message or the help of the given subcommand(s)

Options:
  -C <DIR>
          Run as if promptrel was started in DIR

      --color <WHEN>
          When to colour output

          Possible values:
          - auto:   Colour when writing to a terminal, unless NO_COLOR is set
          - always: Always colour
          - never:  Never colour
          
          [default: auto]

  -h, --help
          Print help (see a summary with '-h')

  -V, --version
          Print version

Revisions (REV):
  NAME             the newest version of NAME
  NAME~N           the version added N versions before the newest
  NAME@LABEL       what LABEL points to (e.g. checkout-bot@prod)
  NAME@LABEL~N     what LABEL pointed to N changes ago
  NAME@PREFIX      the version whose id starts with PREFIX (at least 4 hex digits)

Environment:
  PROMPTREL_DIR           the .promptrel folder to use (skips discovery)
  PROMPTREL_AUTHOR        author recorded in the changelog (default: git's user.name <user.email>)
  PROMPTREL_DATE          RFC 3339 time recorded instead of now (reproducible scripts and tests)
  PROMPTREL_LOCK_TIMEOUT  seconds to wait for another writer (default 10)
  NO_COLOR, CLICOLOR_FORCE  colour control for --color auto

Exit codes:
  0  ok
  1  differences found (diff --exit-code), problems found (fsck, verify-export),
     or something needs attention (status --check)
  2  error: bad usage or input, not found, I/O
  3  the label moved since you read it (--expect)
  4  the store is locked by another writer
  5  integrity error: damaged or corrupted store

Example: promptrel promote checkout-bot staging prod -m "shorter answers"

"#]]
    );
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let env = TestEnv::new();
    // Every command the top-level help lists, so a new command is covered too.
    let help = env.run(&["--help"]).ok().stdout;
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    for expected in [
        "init", "add", "show", "label", "promote", "rollback", "diff", "log", "list",
    ] {
        assert!(
            commands.contains(&expected),
            "{expected} missing from {commands:?}"
        );
    }
    for command in commands {
        let run = env.run(&[command, "--help"]).ok();
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with(&format!("Example: promptrel {command}"))),
            "{command} --help has no example:\n{}",
            run.stdout
        );
        let via_help = env.run(&["help", command]).ok();
        assert_eq!(
            via_help.stdout, run.stdout,
            "`help {command}` is `{command} --help`"
        );
    }
}

#[test]
fn version_prints_the_crate_version() {
    let env = TestEnv::new();
    let run = env.run(&["--version"]).ok();
    assert_eq!(
        run.stdout,
        format!("promptrel {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(env.run(&["-V"]).ok().stdout, run.stdout);
}
