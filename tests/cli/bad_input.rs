//! The failure catalogue: every bad name, revision, command and damaged store
//! a user can hit, and what they see. Each case checks the whole contract:
//! the exit code, exactly one `error:` line (plus optional `hint:` lines), an
//! empty stdout, no panic, and a store that is byte-for-byte unchanged.
//!
//! The expected `error:`/`hint:` lines are inline snapshots; refresh them with
//! `SNAPSHOTS=overwrite cargo test --test cli bad_input` and read every one.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Stdio;

use snapbox::data::Data;
use snapbox::str;

use crate::support::{Run, TestEnv};

/// Exit codes (see `promptrel --help`).
const ERROR: i32 = 2;
const MOVED: i32 = 3;
const LOCKED: i32 = 4;
const CORRUPT: i32 = 5;

const V1: &str = "You are a checkout assistant.\nExplain every option in detail.\n";
const V2: &str = "You are a checkout assistant.\nAnswer in two sentences.\n";
const REFUND: &str = "Refund politely.\n";

/// Values a setup makes available to a case's arguments as `{key}`.
type Vars = BTreeMap<&'static str, String>;

/// One refused command.
struct Case {
    what: &'static str,
    setup: fn(&TestEnv) -> Vars,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    stdin: Option<&'static [u8]>,
    hold_lock: bool,
    code: i32,
    /// What the user reads on stderr (up to clap's usage block), paths redacted.
    expected: Data,
}

fn case(
    what: &'static str,
    setup: fn(&TestEnv) -> Vars,
    args: &'static [&'static str],
    code: i32,
    expected: impl Into<Data>,
) -> Case {
    Case {
        what,
        setup,
        args,
        env: &[],
        stdin: None,
        hold_lock: false,
        code,
        expected: expected.into(),
    }
}

impl Case {
    fn env(mut self, env: &'static [(&'static str, &'static str)]) -> Case {
        self.env = env;
        self
    }

    fn stdin(mut self, bytes: &'static [u8]) -> Case {
        self.stdin = Some(bytes);
        self
    }

    fn hold_lock(mut self) -> Case {
        self.hold_lock = true;
        self
    }
}

// ----- setups ------------------------------------------------------------

/// No store at all.
fn bare(_env: &TestEnv) -> Vars {
    Vars::new()
}

/// checkout-bot: v1 on prod (promoted once, from nothing), v2 on staging;
/// support/refund-bot: one version on staging.
fn store(env: &TestEnv) -> Vars {
    env.run(&["init"]).ok();
    let v1 = env.add("checkout-bot", V1, &["-m", "first", "--label", "staging"]);
    env.promote("checkout-bot", "staging", "prod", "first release");
    let v2 = env.add("checkout-bot", V2, &["-m", "brief", "--label", "staging"]);
    env.add("support/refund-bot", REFUND, &["--label", "staging"]);
    env.write("prompts/empty.md", "");
    std::fs::create_dir_all(env.root.join("prompts/folder")).unwrap();
    Vars::from([
        ("v1", v1),
        ("v2", v2),
        // 256 bytes in parts of at most 127.
        ("long", format!("{}/{}/c", "a".repeat(126), "b".repeat(127))),
        ("long_part", "a".repeat(128)),
        // A log's folder is `<last part>@<label>`: at most 255 bytes.
        ("long_label", "a".repeat(128)),
        ("root", env.root.display().to_string()),
    ])
}

fn object_path(env: &TestEnv, id: &str) -> std::path::PathBuf {
    env.store().join("objects").join(&id[..2]).join(&id[2..])
}

/// prod's object has one flipped byte.
fn flipped_object(env: &TestEnv) -> Vars {
    let vars = store(env);
    let path = object_path(env, &vars["v1"]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[5] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    vars
}

fn staging_ref(env: &TestEnv) -> std::path::PathBuf {
    env.store().join("refs/checkout-bot/@staging")
}

/// The staging ref was edited by hand into garbage.
fn garbage_ref(env: &TestEnv) -> Vars {
    let vars = store(env);
    std::fs::write(staging_ref(env), "the new one\n").unwrap();
    vars
}

/// Two branches moved staging; git left conflict markers in the ref.
fn conflicted_ref(env: &TestEnv) -> Vars {
    let vars = store(env);
    let text = format!(
        "<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> feature\n",
        vars["v1"], vars["v2"]
    );
    std::fs::write(staging_ref(env), text).unwrap();
    vars
}

/// Line 2 of checkout-bot's version log is damaged.
fn damaged_log(env: &TestEnv) -> Vars {
    let vars = store(env);
    env.add("checkout-bot", "third\n", &["-m", "third"]);
    let path = env.log_file("checkout-bot", "+versions", 2);
    std::fs::write(
        &path,
        "{\"time\":\"2026-01-02T10:03:00Z\",\"action\":\"add\",\"prom\n",
    )
    .unwrap();
    vars
}

/// The newest (last) record of checkout-bot's version log is damaged.
fn damaged_last_version(env: &TestEnv) -> Vars {
    let vars = store(env);
    std::fs::write(env.log_file("checkout-bot", "+versions", 2), "garbage\n").unwrap();
    vars
}

/// The newest record of prod's log is damaged.
fn damaged_prod_log(env: &TestEnv) -> Vars {
    let vars = store(env);
    std::fs::write(env.log_file("checkout-bot", "@prod", 1), "{not json}\n").unwrap();
    vars
}

fn config(env: &TestEnv, text: &str) -> Vars {
    let vars = store(env);
    std::fs::write(env.store().join("config.yaml"), text).unwrap();
    vars
}

fn future_format(env: &TestEnv) -> Vars {
    config(env, "format: 99\nprotected_labels: [prod]\n")
}

fn earlier_format(env: &TestEnv) -> Vars {
    config(env, "format: 2\nprotected_labels: [prod]\n")
}

fn unknown_config_key(env: &TestEnv) -> Vars {
    config(env, "format: 3\nprotected_label: [prod]\n")
}

fn not_yaml_config(env: &TestEnv) -> Vars {
    config(env, "format: [1\n")
}

/// `path` (under `.promptrel`) replaced by an empty folder: an I/O error
/// that even root gets.
fn folder_instead_of(env: &TestEnv, path: &str) -> Vars {
    let vars = store(env);
    let path = env.store().join(path);
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    vars
}

fn config_is_a_folder(env: &TestEnv) -> Vars {
    folder_instead_of(env, "config.yaml")
}

fn lock_is_a_folder(env: &TestEnv) -> Vars {
    folder_instead_of(env, "lock")
}

fn no_objects_folder(env: &TestEnv) -> Vars {
    let vars = store(env);
    std::fs::remove_dir_all(env.store().join("objects")).unwrap();
    vars
}

/// staging is a symlink to a file outside the store holding a valid id.
fn symlinked_ref(env: &TestEnv) -> Vars {
    let vars = store(env);
    let outside = env.outside().join("elsewhere");
    std::fs::write(&outside, format!("{}\n", vars["v1"])).unwrap();
    std::fs::remove_file(staging_ref(env)).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, staging_ref(env)).unwrap();
    vars
}

/// A folder that is not a store, for PROMPTREL_DIR.
fn not_a_store(env: &TestEnv) -> Vars {
    std::fs::create_dir_all(env.root.join("elsewhere")).unwrap();
    Vars::new()
}

/// Two versions of `clash` whose ids share their first 4 hex digits.
fn ambiguous(env: &TestEnv) -> Vars {
    let mut vars = store(env);
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let (a, b, prefix) = (0u32..)
        .find_map(|i| {
            let text = format!("Variant {i}\n");
            let prefix = blake3::hash(text.as_bytes()).to_hex()[..4].to_string();
            seen.insert(prefix.clone(), text.clone())
                .map(|earlier| (earlier, text, prefix))
        })
        .unwrap();
    env.add("clash", &a, &[]);
    env.add("clash", &b, &[]);
    vars.insert("prefix", prefix);
    vars
}

// ----- the catalogue -----------------------------------------------------

fn catalogue() -> Vec<Case> {
    vec![
        // --- prompt names ---
        case("empty name", store, &["add", "", "-"], ERROR, str![[r#"
error: invalid prompt name "": it is empty

"#]]),
        case("name ..", store, &["add", "..", "-"], ERROR, str![[r#"
error: invalid prompt name "..": '..' is not allowed as a part (no path traversal)

"#]]),
        case("name with ..", store, &["add", "a/../b", "-"], ERROR, str![[r#"
error: invalid prompt name "a/../b": '..' is not allowed as a part (no path traversal)

"#]]),
        case("absolute name", store, &["add", "/etc/passwd", "-"], ERROR, str![[r#"
error: invalid prompt name "/etc/passwd": it may not start with '/' (absolute paths are not names)

"#]]),
        case("backslash in name", store, &["add", "a\\b", "-"], ERROR, str![[r#"
error: invalid prompt name "a\\b": '\' is not allowed (it is a path separator on Windows)

"#]]),
        case("@ in name", store, &["show", "a@b@prod"], ERROR, str![[r#"
error: invalid revision "a@b@prod": "b@prod" is neither a label nor a version id: '@' is not allowed (it separates a name from a label or version)

"#]]),
        case("@ in added name", store, &["add", "a@b", "-"], ERROR, str![[r#"
error: invalid prompt name "a@b": '@' is not allowed (it separates a name from a label or version)

"#]]),
        case("tab in name", store, &["add", "a\tb", "-"], ERROR, str![[r#"
error: invalid prompt name "a\tb": control character '\t' is not allowed

"#]]),
        case("newline in name", store, &["add", "a\nb", "-"], ERROR, str![[r#"
error: invalid prompt name "a\nb": control character '\n' is not allowed

"#]]),
        // Without `--`, clap reads a leading `-` as options: that is what the user sees.
        case("leading - parsed as a flag", store, &["add", "-rf", "-"], ERROR, str![[r#"
error: unexpected argument '-r' found
  tip: to pass '-r' as a value, use '-- -r'

"#]]),
        case("leading - after --", store, &["add", "--", "-rf", "-"], ERROR, str![[r#"
error: invalid prompt name "-rf": a part may not start with '-' (it would look like an option)

"#]]),
        case("leading .", store, &["add", ".hidden", "-"], ERROR, str![[r#"
error: invalid prompt name ".hidden": a part may not start with '.'

"#]]),
        case(".lock suffix", store, &["add", "x.lock", "-"], ERROR, str![[r#"
error: invalid prompt name "x.lock": a part may not end with '.lock'

"#]]),
        case("trailing .", store, &["add", "x.", "-"], ERROR, str![[r#"
error: invalid prompt name "x.": a part may not end with '.'

"#]]),
        case("empty part", store, &["add", "a//b", "-"], ERROR, str![[r#"
error: invalid prompt name "a//b": it has an empty part ('//' or a trailing '/')

"#]]),
        case("trailing /", store, &["add", "a/", "-"], ERROR, str![[r#"
error: invalid prompt name "a/": it has an empty part ('//' or a trailing '/')

"#]]),
        case("uppercase name", store, &["add", "Checkout-Bot", "-"], ERROR, str![[r#"
error: invalid prompt name "Checkout-Bot": uppercase letters are not allowed (names must stay distinct on case-insensitive file systems)

"#]]),
        case("non-ASCII name", store, &["add", "café", "-"], ERROR, str![[r#"
error: invalid prompt name "café": 'é' is not allowed (use a-z, 0-9, '.', '_' and '-')

"#]]),
        case("space in name", store, &["add", "checkout bot", "-"], ERROR, str![[r#"
error: invalid prompt name "checkout bot": spaces are not allowed

"#]]),
        case("name part over 127 bytes", store, &["add", "{long_part}", "-"], ERROR, str![[r#"
error: invalid prompt name "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": a part is 128 bytes long; the limit for a part is 127

"#]]),
        case("name over 255 bytes", store, &["add", "{long}", "-"], ERROR, str![[r#"
error: invalid prompt name "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/c": it is 256 bytes long; the limit is 255

"#]]),
        case("Windows device name", store, &["add", "con", "-"], ERROR, str![[r#"
error: invalid prompt name "con": 'con' is a reserved device name on Windows

"#]]),
        case("device name in a namespace", store, &["show", "support/nul.txt"], ERROR, str![[r#"
error: invalid prompt name "support/nul.txt": 'nul.txt' is a reserved device name on Windows

"#]]),
        // --- labels ---
        case("empty label", store, &["label", "checkout-bot", "", "staging"], ERROR, str![[r#"
error: invalid label "": it is empty

"#]]),
        case("label ..", store, &["label", "checkout-bot", "..", "staging"], ERROR, str![[r#"
error: invalid label "..": '..' is not allowed as a part (no path traversal)

"#]]),
        case("/ in label", store, &["label", "checkout-bot", "a/b", "staging"], ERROR, str![[r#"
error: invalid label "a/b": '/' is not allowed in a label

"#]]),
        case("absolute label", store, &["label", "checkout-bot", "/etc/passwd", "staging"], ERROR, str![[r#"
error: invalid label "/etc/passwd": it may not start with '/' (absolute paths are not names)

"#]]),
        case("backslash in label", store, &["label", "checkout-bot", "a\\b", "staging"], ERROR, str![[r#"
error: invalid label "a\\b": '\' is not allowed (it is a path separator on Windows)

"#]]),
        case("@ in label", store, &["label", "checkout-bot", "a@b", "staging"], ERROR, str![[r#"
error: invalid label "a@b": '@' is not allowed (it separates a name from a label or version)

"#]]),
        case("tab in label", store, &["label", "checkout-bot", "a\tb", "staging"], ERROR, str![[r#"
error: invalid label "a\tb": control character '\t' is not allowed

"#]]),
        case("newline in label", store, &["label", "checkout-bot", "a\nb", "staging"], ERROR, str![[r#"
error: invalid label "a\nb": control character '\n' is not allowed

"#]]),
        case("label leading - parsed as a flag", store, &["label", "checkout-bot", "-x", "staging"], ERROR, str![[r#"
error: unexpected argument '-x' found
  tip: to pass '-x' as a value, use '-- -x'

"#]]),
        case("label leading - after --", store, &["label", "--", "checkout-bot", "-x", "staging"], ERROR, str![[r#"
error: invalid label "-x": a part may not start with '-' (it would look like an option)

"#]]),
        case("label leading .", store, &["label", "checkout-bot", ".hidden", "staging"], ERROR, str![[r#"
error: invalid label ".hidden": a part may not start with '.'

"#]]),
        case("label .lock suffix", store, &["label", "checkout-bot", "prod.lock", "staging"], ERROR, str![[r#"
error: invalid label "prod.lock": a part may not end with '.lock'

"#]]),
        case("uppercase label", store, &["label", "checkout-bot", "Canary", "staging"], ERROR, str![[r#"
error: invalid label "Canary": uppercase letters are not allowed (names must stay distinct on case-insensitive file systems)

"#]]),
        case("non-ASCII label", store, &["label", "checkout-bot", "prød", "staging"], ERROR, str![[r#"
error: invalid label "prød": 'ø' is not allowed (use a-z, 0-9, '.', '_' and '-')

"#]]),
        case("label over 127 bytes", store, &["label", "checkout-bot", "{long_label}", "staging"], ERROR, str![[r#"
error: invalid label "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": it is 128 bytes long; the limit is 127

"#]]),
        case("device name label", store, &["label", "checkout-bot", "nul", "staging"], ERROR, str![[r#"
error: invalid label "nul": 'nul' is a reserved device name on Windows

"#]]),
        case("bad label in add --label", store, &["add", "checkout-bot", "-", "--label", "Staging"], ERROR, str![[r#"
error: invalid label "Staging": uppercase letters are not allowed (names must stay distinct on case-insensitive file systems)

"#]])
            .stdin(b"new\n"),
        case("bad label in log --label", store, &["log", "--label", "a/b"], ERROR, str![[r#"
error: invalid label "a/b": '/' is not allowed in a label

"#]]),
        // --- revisions ---
        case("nothing after @", store, &["show", "checkout-bot@"], ERROR, str![[r#"
error: invalid revision "checkout-bot@": nothing after '@' (expected a label or a version id)

"#]]),
        case("~ without a number", store, &["show", "checkout-bot@prod~x"], ERROR, str![[r#"
error: invalid revision "checkout-bot@prod~x": '~' must be followed by a number of steps back

"#]]),
        case("two @", store, &["show", "checkout-bot@a@b"], ERROR, str![[r#"
error: invalid revision "checkout-bot@a@b": "a@b" is neither a label nor a version id: '@' is not allowed (it separates a name from a label or version)

"#]]),
        case("uppercase label in a revision", store, &["show", "checkout-bot@Prod"], ERROR, str![[r#"
error: invalid revision "checkout-bot@Prod": "Prod" is neither a label nor a version id: uppercase letters are not allowed (names must stay distinct on case-insensitive file systems)

"#]]),
        case("~N after a version id", store, &["show", "checkout-bot@ABCD~1"], ERROR, str![[r#"
error: invalid revision "checkout-bot@ABCD~1": '~N' follows a label or a bare name, not a version id

"#]]),
        case("unknown prompt, near miss", store, &["show", "chekout-bot@prod"], ERROR, str![[r#"
error: no prompt named "chekout-bot"
hint: did you mean checkout-bot?

"#]]),
        case("unknown prompt", store, &["show", "billing@prod"], ERROR, str![[r#"
error: no prompt named "billing"
hint: `promptrel list` shows every prompt; `promptrel add NAME FILE` creates one

"#]]),
        case("unknown label, near miss", store, &["show", "checkout-bot@prd"], ERROR, str![[r#"
error: checkout-bot has no label "prd"
hint: did you mean checkout-bot@prod?

"#]]),
        case("unknown label", store, &["show", "checkout-bot@qa"], ERROR, str![[r#"
error: checkout-bot has no label "qa"
hint: `promptrel list` shows the labels of checkout-bot

"#]]),
        case("id prefix too short", store, &["show", "checkout-bot@a03"], ERROR, str![[r#"
error: checkout-bot has no label "a03"
hint: `promptrel list` shows the labels of checkout-bot
hint: a version id prefix needs at least 4 hex digits

"#]]),
        case("id prefix matches nothing", store, &["show", "checkout-bot@0000"], ERROR, str![[r#"
error: checkout-bot has no version matching "0000"
hint: `promptrel log checkout-bot` lists its versions

"#]]),
        case("full id of another prompt", store, &["show", "support/refund-bot@{v1}"], ERROR, str![[r#"
error: support/refund-bot has no version matching "e7ce8629474464fa5896ea1640b40506f9e4f12cd7c22b685077eda501039362"
hint: `promptrel log support/refund-bot` lists its versions

"#]]),
        case("ambiguous id prefix", ambiguous, &["show", "clash@{prefix}"], ERROR, str![[r#"
error: version prefix "9a56" of clash is ambiguous: it matches 9a561ed6103a, 9a56db152ee9
hint: give more digits of the id

"#]]),
        case("label too far back", store, &["show", "checkout-bot@prod~99"], ERROR, str![[r#"
error: checkout-bot@prod~99 reaches back 99 changes, but the history holds only 0
hint: use a smaller number after '~'

"#]]),
        case("version too far back", store, &["show", "checkout-bot~5"], ERROR, str![[r#"
error: checkout-bot~5 reaches back 5 changes, but the history holds only 1
hint: use a smaller number after '~'

"#]]),
        case("bad revision in diff", store, &["diff", "checkout-bot@prod", "checkout-bot@nope"], ERROR, str![[r#"
error: checkout-bot has no label "nope"
hint: `promptrel list` shows the labels of checkout-bot

"#]]),
        case("revision of another prompt", store, &["label", "checkout-bot", "qa", "support/refund-bot@staging"], ERROR, str![[r#"
error: invalid revision "support/refund-bot@staging": it names prompt support/refund-bot rather than checkout-bot

"#]]),
        // --- commands ---
        case("label on protected prod", store, &["label", "checkout-bot", "prod", "staging"], ERROR, str![[r#"
error: label "prod" is protected: it moves only through promote and rollback
hint: move it with `promptrel promote NAME FROM prod -m MSG` (or `promptrel rollback`)

"#]]),
        case("add --label prod", store, &["add", "checkout-bot", "-", "--label", "prod"], ERROR, str![[r#"
error: label "prod" is protected: it moves only through promote and rollback
hint: move it with `promptrel promote NAME FROM prod -m MSG` (or `promptrel rollback`)

"#]])
            .stdin(b"straight to prod\n"),
        case("promote without -m", store, &["promote", "checkout-bot", "staging", "prod"], ERROR, str![[r#"
error: the following required arguments were not provided:
  --message <MESSAGE>

"#]]),
        case("promote with an empty message", store, &["promote", "checkout-bot", "staging", "prod", "-m", ""], ERROR, str![[r#"
error: a promotion needs a message saying why (-m MSG); it goes into the changelog

"#]]),
        case("promote with a blank message", store, &["promote", "checkout-bot", "staging", "prod", "-m", "  "], ERROR, str![[r#"
error: a promotion needs a message saying why (-m MSG); it goes into the changelog

"#]]),
        case("promote from a near-miss label", store, &["promote", "checkout-bot", "stagin", "prod", "-m", "ship"], ERROR, str![[r#"
error: checkout-bot has no label "stagin"
hint: did you mean checkout-bot@staging?

"#]]),
        case("promote --expect a stale version", store, &["promote", "checkout-bot", "staging", "prod", "-m", "ship", "--expect", "{v2}"], MOVED, str![[r#"
error: checkout-bot@prod has moved: expected afab22d28124, found e7ce86294744
hint: see who moved it with `promptrel log checkout-bot --label prod`, then review again

"#]]),
        case("rollback with nothing to roll back", store, &["rollback", "checkout-bot", "prod", "-m", "undo"], ERROR, str![[r#"
error: checkout-bot@prod has no earlier value to roll back to
hint: choose where it goes with --to VERSION

"#]]),
        case("rollback of a missing label", store, &["rollback", "checkout-bot", "canary"], ERROR, str![[r#"
error: checkout-bot has no label "canary"
hint: `promptrel list` shows the labels of checkout-bot

"#]]),
        case("rollback of a near-miss label", store, &["rollback", "checkout-bot", "stagng"], ERROR, str![[r#"
error: checkout-bot has no label "stagng"
hint: did you mean checkout-bot@staging?

"#]]),
        case("rollback of an unknown prompt", store, &["rollback", "billing", "prod"], ERROR, str![[r#"
error: no prompt named "billing"
hint: `promptrel list` shows every prompt; `promptrel add NAME FILE` creates one

"#]]),
        case("label to an unknown version", store, &["label", "checkout-bot", "qa", "ffff"], ERROR, str![[r#"
error: checkout-bot has no version matching "ffff"
hint: `promptrel log checkout-bot` lists its versions

"#]]),
        case("label to an unknown full id", store, &["label", "checkout-bot", "qa", "0000000000000000000000000000000000000000000000000000000000000000"], ERROR, str![[r#"
error: checkout-bot has no version matching "0000000000000000000000000000000000000000000000000000000000000000"
hint: `promptrel log checkout-bot` lists its versions

"#]]),
        case("add from a missing file", store, &["add", "checkout-bot", "prompts/missing.md"], ERROR, str![[r#"
error: cannot read prompts/missing.md: No such file or directory (os error 2)

"#]]),
        case("add of a folder", store, &["add", "checkout-bot", "prompts/folder"], ERROR, str![[r#"
error: prompts/folder is a folder, not a prompt file

"#]]),
        case("add of empty stdin", store, &["add", "checkout-bot", "-"], ERROR, str![[r#"
error: refusing to add an empty version of checkout-bot (an empty prompt is almost always a wrong file or an empty pipe)

"#]]).stdin(b""),
        case("add of an empty file", store, &["add", "checkout-bot", "prompts/empty.md"], ERROR, str![[r#"
error: refusing to add an empty version of checkout-bot (an empty prompt is almost always a wrong file or an empty pipe)

"#]]),
        case("unknown subcommand", store, &["frobnicate"], ERROR, str![[r#"
error: unrecognized subcommand 'frobnicate'

"#]]),
        case("unknown flag", store, &["show", "--bogus", "checkout-bot"], ERROR, str![[r#"
error: unexpected argument '--bogus' found
  tip: to pass '--bogus' as a value, use '-- --bogus'

"#]]),
        case("non-number for -n", store, &["log", "-n", "ten"], ERROR, str![[r#"
error: invalid value 'ten' for '--max-count <N>': invalid digit found in string

"#]]),
        case("bad --color", store, &["--color", "sometimes", "list"], ERROR, str![[r#"
error: invalid value 'sometimes' for '--color <WHEN>'
  [possible values: auto, always, never]

"#]]),
        case("show with no store", bare, &["show", "checkout-bot"], ERROR, str![[r#"
error: not in a promptrel store (no .promptrel in [ROOT] or any parent folder)
hint: run `promptrel init` to create a store here, or use -C DIR / PROMPTREL_DIR

"#]]),
        case("PROMPTREL_DIR is not a store", not_a_store, &["show", "checkout-bot"], ERROR, str![[r#"
error: PROMPTREL_DIR: [ROOT]/elsewhere is not a promptrel store (config.yaml is missing)

"#]])
            .env(&[("PROMPTREL_DIR", "elsewhere")]),
        case("PROMPTREL_DIR is missing", store, &["show", "checkout-bot"], ERROR, str![[r#"
error: PROMPTREL_DIR: [ROOT]/nowhere/.promptrel is not a promptrel store (no such folder)

"#]])
            .env(&[("PROMPTREL_DIR", "nowhere/.promptrel")]),
        case("-C to a missing folder", store, &["-C", "nowhere", "show", "checkout-bot"], ERROR, str![[r#"
error: cannot change to nowhere: no such folder

"#]]),
        case("bad PROMPTREL_LOCK_TIMEOUT", store, &["label", "checkout-bot", "qa", "staging"], ERROR, str![[r#"
error: PROMPTREL_LOCK_TIMEOUT="soon" is not a number of seconds

"#]])
            .env(&[("PROMPTREL_LOCK_TIMEOUT", "soon")]),
        case("bad PROMPTREL_DATE", store, &["label", "checkout-bot", "qa", "staging"], ERROR, str![[r#"
error: PROMPTREL_DATE="yesterday" is not an RFC 3339 time: failed to parse four digit integer as year: invalid digit, expected 0-9 but got y

"#]])
            .env(&[("PROMPTREL_DATE", "yesterday")]),
        // --- damaged stores ---
        case("show of a corrupted object", flipped_object, &["show", "checkout-bot@prod"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/objects/e7/ce8629474464fa5896ea1640b40506f9e4f12cd7c22b685077eda501039362: object e7ce86294744 does not match its content (hashes to 154d5825acfe); refusing to serve it
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("diff of a corrupted object", flipped_object, &["diff", "checkout-bot@prod", "checkout-bot@staging"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/objects/e7/ce8629474464fa5896ea1640b40506f9e4f12cd7c22b685077eda501039362: object e7ce86294744 does not match its content (hashes to 154d5825acfe); refusing to serve it
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("promote of a corrupted object", flipped_object, &["promote", "checkout-bot", "prod", "staging", "-m", "back"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/objects/e7/ce8629474464fa5896ea1640b40506f9e4f12cd7c22b685077eda501039362: object e7ce86294744 does not match its content (hashes to 154d5825acfe); refusing to serve it
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("ref edited to garbage", garbage_ref, &["show", "checkout-bot@staging"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/refs/checkout-bot/@staging: a label file must hold one 64-digit version id, or a split (`<id>=<weight>` pairs sorted by id, the weights adding up to 100)
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("list with a garbage ref", garbage_ref, &["list"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/refs/checkout-bot/@staging: a label file must hold one 64-digit version id, or a split (`<id>=<weight>` pairs sorted by id, the weights adding up to 100)
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("moving a garbage ref", garbage_ref, &["label", "checkout-bot", "staging", "prod"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/refs/checkout-bot/@staging: a label file must hold one 64-digit version id, or a split (`<id>=<weight>` pairs sorted by id, the weights adding up to 100)
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("add --label onto a garbage ref", garbage_ref, &["add", "checkout-bot", "-", "--label", "staging"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/refs/checkout-bot/@staging: a label file must hold one 64-digit version id, or a split (`<id>=<weight>` pairs sorted by id, the weights adding up to 100)
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]])
            .stdin(b"a third version\n"),
        case("ref with git conflict markers", conflicted_ref, &["show", "checkout-bot@staging"], CORRUPT, str![[r#"
error: checkout-bot@staging has an unresolved git merge conflict in [ROOT]/.promptrel/refs/checkout-bot/@staging: two branches moved it, to e7ce86294744 and afab22d28124
hint: keep one with `promptrel label checkout-bot staging e7ce86294744 -m MSG` (a protected label: `promptrel rollback checkout-bot staging --to ID -m MSG`)
hint: `promptrel fsck` shows who moved it where on each branch

"#]]),
        case("damaged changelog line", damaged_log, &["log", "checkout-bot"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/logs/checkout-bot+versions/000000000002-735671677fe540b3: line 1: damaged record: EOF while parsing a string at column 51
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("damaged newest version record", damaged_last_version, &["show", "checkout-bot"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/logs/checkout-bot+versions/000000000002-735671677fe540b3: line 1: damaged record: expected value at column 1
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("add after a damaged newest version record", damaged_last_version, &["add", "checkout-bot", "-"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/logs/checkout-bot+versions/000000000002-735671677fe540b3: line 1: damaged record: expected value at column 1
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]])
            .stdin(b"a third version\n"),
        case("rollback with a damaged label log", damaged_prod_log, &["rollback", "checkout-bot", "prod", "-m", "undo"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/logs/checkout-bot@prod/000000000001-6b4dfaa1151af195: line 1: damaged record: key must be a string at column 2
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("config from a newer promptrel", future_format, &["show", "checkout-bot@prod"], ERROR, str![[r#"
error: [ROOT]/.promptrel/config.yaml has store format 99, this promptrel understands format 3
hint: upgrade promptrel to read this store

"#]]),
        case("config from an earlier promptrel", earlier_format, &["show", "checkout-bot@prod"], ERROR, str![[r#"
error: [ROOT]/.promptrel/config.yaml has store format 2, this promptrel understands format 3
hint: the store was written by an earlier promptrel: `promptrel upgrade` converts it to format 3 in place

"#]]),
        case("config with an unknown key", unknown_config_key, &["show", "checkout-bot@prod"], CORRUPT, str![[r#"
error: invalid store settings in [ROOT]/.promptrel/config.yaml: unknown field `protected_label`, expected `format` or `protected_labels` at line 2 column 1
hint: it holds `format` and `protected_labels`; fix it, or restore it from git (`git checkout -- PATH`)

"#]]),
        case("config that is not YAML", not_yaml_config, &["list"], CORRUPT, str![[r#"
error: invalid store settings in [ROOT]/.promptrel/config.yaml: format: invalid type: sequence, expected u32 at line 1 column 9
hint: it holds `format` and `protected_labels`; fix it, or restore it from git (`git checkout -- PATH`)

"#]]),
        case("show with the objects folder missing", no_objects_folder, &["show", "checkout-bot@prod"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/objects/e7/ce8629474464fa5896ea1640b40506f9e4f12cd7c22b685077eda501039362: object e7ce86294744 is missing
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("add with the objects folder missing", no_objects_folder, &["add", "checkout-bot", "-"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/objects: the objects folder is missing
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]])
            .stdin(b"a third version\n"),
        case("config.yaml is a folder", config_is_a_folder, &["list"], ERROR, str![[r#"
error: reading [ROOT]/.promptrel/config.yaml: Is a directory (os error 21)

"#]]),
        case("lock file is a folder", lock_is_a_folder, &["label", "checkout-bot", "qa", "staging"], ERROR, str![[r#"
error: opening lock file [ROOT]/.promptrel/lock: Is a directory (os error 21)

"#]]),
        case("store locked by another process", store, &["label", "checkout-bot", "qa", "staging"], LOCKED, str![[r#"
error: the store is locked by another promptrel process ([ROOT]/.promptrel/lock held for more than 200 ms)
hint: another promptrel command is writing; retry, or wait longer with PROMPTREL_LOCK_TIMEOUT=SECONDS

"#]])
            .env(&[("PROMPTREL_LOCK_TIMEOUT", "0.2")])
            .hold_lock(),
        // A ref that is a symlink could make promptrel serve (or, on a move,
        // clobber) a file outside the store: refs must be regular files.
        case("symlinked ref pointing outside the store", symlinked_ref, &["show", "checkout-bot@staging"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/refs/checkout-bot/@staging: a label file must be a regular file, not a symbolic link
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
        case("moving a symlinked ref", symlinked_ref, &["label", "checkout-bot", "staging", "prod"], CORRUPT, str![[r#"
error: integrity error in [ROOT]/.promptrel/refs/checkout-bot/@staging: a label file must be a regular file, not a symbolic link
hint: `promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)

"#]]),
    ]
}

// ----- running -------------------------------------------------------------

fn substitute(text: &str, vars: &Vars) -> String {
    vars.iter().fold(text.to_string(), |t, (k, v)| {
        t.replace(&format!("{{{k}}}"), v)
    })
}

/// Run a command with extra environment and optional stdin.
fn run(env: &TestEnv, args: &[String], vars_env: &[(&str, String)], stdin: Option<&[u8]>) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = env.command(&args);
    for (k, v) in vars_env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = stdin {
        // The command may refuse before reading: a closed pipe is fine here.
        let _ = child.stdin.take().unwrap().write_all(bytes);
    }
    crate::support::finish(child.wait_with_output().unwrap())
}

/// What the user reads: stderr up to clap's usage block, without blank
/// lines, temp paths replaced.
fn diagnostics(env: &TestEnv, stderr: &str) -> String {
    let mut text = String::new();
    let usage = |l: &&str| l.starts_with("Usage:") || l.starts_with("For more information");
    for line in stderr.lines().take_while(|l| !usage(l)) {
        if !line.trim().is_empty() {
            text.push_str(line);
            text.push('\n');
        }
    }
    redact(env, &text)
}

fn redact(env: &TestEnv, text: &str) -> String {
    let mut text = text.to_string();
    for (path, name) in [(env.root.clone(), "[ROOT]"), (env.outside(), "[TMP]")] {
        if let Ok(canonical) = path.canonicalize() {
            text = text.replace(canonical.to_str().unwrap(), name);
        }
        text = text.replace(path.to_str().unwrap(), name);
    }
    text
}

fn check(case: Case) {
    let env = TestEnv::new();
    let vars = (case.setup)(&env);
    let args: Vec<String> = case.args.iter().map(|a| substitute(a, &vars)).collect();
    let extra_env: Vec<(&str, String)> = case
        .env
        .iter()
        .map(|(k, v)| (*k, substitute(v, &vars)))
        .collect();
    let _lock = case.hold_lock.then(|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(env.store().join("lock"))
            .unwrap();
        file.lock().unwrap();
        file
    });
    let before = env.snapshot();
    let run = run(&env, &args, &extra_env, case.stdin);
    let after = env.snapshot();
    let run = run.fails(case.code);
    // Paths are not normalised: a backslash in a refused name must show as typed.
    snapbox::Assert::new()
        .action_env(snapbox::assert::DEFAULT_ACTION_ENV)
        .normalize_paths(false)
        .eq(diagnostics(&env, &run.stderr), case.expected);
    let changed: BTreeSet<_> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "the store changed: {changed:?}");
}

#[test]
fn catalogue_of_refusals() {
    let cases = catalogue();
    assert!(cases.len() >= 40);
    let mut failed = Vec::new();
    for case in cases {
        let what = case.what;
        if catch_unwind(AssertUnwindSafe(|| check(case))).is_err() {
            failed.push(what);
        }
    }
    assert!(
        failed.is_empty(),
        "failing cases (details above): {failed:#?}"
    );
}

#[test]
fn corrupted_object_prints_none_of_its_content() {
    let env = TestEnv::new();
    let vars = flipped_object(&env);
    let run = env.run(&["show", "checkout-bot@prod"]).fails(CORRUPT);
    let short = &vars["v1"][..12];
    assert!(
        run.stderr.contains(short),
        "the error names the object: {}",
        run.stderr
    );
    assert!(run.stdout_bytes.is_empty());
    for line in V1.lines() {
        assert!(
            !run.stderr.contains(line),
            "content leaked to stderr: {}",
            run.stderr
        );
    }
}

/// Restores write permission on drop, so the temp dir can be removed.
#[cfg(unix)]
struct Writable(std::path::PathBuf);

#[cfg(unix)]
impl Drop for Writable {
    fn drop(&mut self) {
        set_readonly(&self.0, false);
    }
}

#[cfg(unix)]
fn set_readonly(dir: &std::path::Path, readonly: bool) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        let mode = match (entry.file_type().is_dir(), readonly) {
            (true, true) => 0o555,
            (true, false) => 0o755,
            (false, true) => 0o444,
            (false, false) => 0o644,
        };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn read_only_store_refuses_writes_cleanly() {
    let env = TestEnv::new();
    store(&env);
    let _restore = Writable(env.store());
    set_readonly(&env.store(), true);
    // Root ignores permissions: then there is nothing to test.
    let probe = env.store().join("probe");
    if std::fs::write(&probe, b"").is_ok() {
        std::fs::remove_file(&probe).unwrap();
        eprintln!("skipped: running as root, a read-only store is still writable");
        return;
    }
    let before = env.snapshot();
    let run = env
        .run(&["label", "checkout-bot", "qa", "staging"])
        .fails(ERROR);
    let text = redact(&env, &run.stderr);
    assert!(
        text.starts_with("error: opening lock file [ROOT]/.promptrel/lock: "),
        "{text}"
    );
    assert!(text.contains("ermission denied"), "{text}");
    assert_eq!(before, env.snapshot());
    // Reading needs no lock and still works.
    assert_eq!(env.run(&["show", "checkout-bot@prod"]).ok().stdout, V1);
}

/// `promptrel log | head -1`: the reader goes away while promptrel still has
/// lines to write. That is not an error and never a panic.
#[test]
fn closed_pipe_is_not_an_error() {
    let env = TestEnv::init();
    let store = promptrel::Store::discover(&env.root).unwrap();
    let name = promptrel::PromptName::new("checkout-bot").unwrap();
    let padding = "x".repeat(400);
    for i in 0..400 {
        let sig = promptrel::Signature {
            author: "Ada".into(),
            time: jiff::Timestamp::from_second(1_767_350_000 + i).unwrap(),
        };
        let text = format!("version {i}\n");
        store
            .add(
                &name,
                text.as_bytes(),
                &format!("change {i} {padding}"),
                &[],
                None,
                &sig,
            )
            .unwrap();
    }
    let mut child = env
        .command(&["log"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.contains("change 399"), "{first}");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // The log really was larger than a pipe's buffer.
    assert!(env.run(&["log"]).ok().stdout.len() > 128 * 1024);
}

#[test]
fn closed_pipe_on_json_output_is_not_an_error() {
    // serde_json wraps the writer's io::Error; `list --json | head -1` must
    // still exit 0 quietly.
    let env = TestEnv::init();
    let store = promptrel::Store::discover(&env.root).unwrap();
    let sig = promptrel::Signature {
        author: "Ada".into(),
        time: jiff::Timestamp::from_second(1_767_350_000).unwrap(),
    };
    for i in 0..1000 {
        let name = promptrel::PromptName::new(&format!("p{i}")).unwrap();
        let label = promptrel::Label::new("staging").unwrap();
        store
            .add(
                &name,
                format!("v{i}\n").as_bytes(),
                "",
                &[label],
                None,
                &sig,
            )
            .unwrap();
    }
    let mut child = env
        .command(&["list", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert_eq!(first, "{\n");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn huge_prompt_is_refused_and_nothing_is_written() {
    let env = TestEnv::init();
    env.add("checkout-bot", "small\n", &[]);
    let before = env.snapshot();
    // One byte over the 32 MiB limit.
    env.write("big.md", vec![b'x'; 32 * 1024 * 1024 + 1]);
    let run = env.run(&["add", "checkout-bot", "big.md"]).fails(2);
    assert!(
        run.stderr.starts_with(
            "error: big.md is larger than 32 MiB; promptrel stores prompts, not data files"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(env.snapshot(), before);
}

#[cfg(unix)]
#[test]
fn non_utf8_name_is_refused_and_nothing_is_written() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let env = TestEnv::init();
    env.add("checkout-bot", "v1\n", &["--label", "staging"]);
    let before = env.snapshot();
    for args in [
        vec![
            OsString::from("add"),
            OsString::from_vec(b"bot\xff".to_vec()),
            OsString::from("-"),
        ],
        vec![
            OsString::from("show"),
            OsString::from_vec(b"checkout-bot@st\xffging".to_vec()),
        ],
        vec![
            OsString::from("label"),
            OsString::from("checkout-bot"),
            OsString::from_vec(b"q\xfea".to_vec()),
            OsString::from("staging"),
        ],
    ] {
        let out = env.command(&[]).args(&args).output().unwrap();
        let run = crate::support::finish(out).fails(2);
        assert!(
            run.stderr.contains("invalid UTF-8"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(env.snapshot(), before);
}
