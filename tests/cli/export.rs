//! `promptrel export` and `promptrel verify-export`.

use std::fs;

use base64::Engine as _;
use serde_json::Value;

use crate::support::{TestEnv, snapshot_dir};

/// Bytes that are not UTF-8 (a lone continuation byte and an invalid lead).
const BINARY: &[u8] = b"\xff\xfe tone: \x80terse\r\n";

/// A store with a plain prompt, a namespaced prompt with non-UTF-8 bytes, and
/// a prompt without the `prod` label.
fn store() -> (TestEnv, String, String) {
    let env = TestEnv::init();
    let checkout = env.add("checkout-bot", "Be brief.\n", &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "ship"])
        .ok();
    let path = env.write("refund.bin", BINARY);
    let refund = env
        .run(&[
            "add",
            "support/refund-bot",
            &path,
            "-m",
            "binary",
            "--label",
            "staging",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    env.promote("support/refund-bot", "staging", "prod", "ship");
    env.add("draft", "Not released.\n", &["--label", "staging"]);
    (env, checkout, refund)
}

#[test]
fn export_writes_exact_bytes_and_a_manifest() {
    let (env, checkout, refund) = store();
    let before = env.snapshot();
    let run = env.run(&["export", "--label", "prod", "out"]).ok();
    assert_eq!(
        run.stdout,
        format!(
            "checkout-bot@prod  {}  out/checkout-bot\n\
             support/refund-bot@prod  {}  {}\n\
             wrote out/promptrel-export.json (2 prompts at label prod)\n",
            &checkout[..12],
            &refund[..12],
            std::path::Path::new("out")
                .join("support")
                .join("refund-bot")
                .display(),
        )
    );
    assert_eq!(run.stderr, "skipped draft: it has no label prod\n");
    assert_eq!(env.snapshot(), before, "export never writes to the store");

    let out = env.root.join("out");
    assert_eq!(fs::read(out.join("checkout-bot")).unwrap(), b"Be brief.\n");
    assert_eq!(
        fs::read(out.join("support").join("refund-bot")).unwrap(),
        BINARY
    );
    assert!(!out.join("draft").exists());
    let files: Vec<_> = snapshot_dir(&out).into_keys().collect();
    assert_eq!(
        files,
        [
            "",
            "checkout-bot",
            "promptrel-export.json",
            "support",
            "support/refund-bot"
        ]
        .map(std::path::PathBuf::from),
        "no temp files are left behind"
    );

    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("promptrel-export.json")).unwrap()).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({
            "format": 1,
            "label": "prod",
            "prompts": [
                {"name": "checkout-bot", "id": checkout, "path": "checkout-bot", "size": 10},
                {"name": "support/refund-bot", "id": refund, "path": "support/refund-bot",
                 "size": BINARY.len()},
            ]
        })
    );
    // The manifest's ids are the b3sum of the files.
    for entry in manifest["prompts"].as_array().unwrap() {
        let bytes = fs::read(out.join(entry["path"].as_str().unwrap())).unwrap();
        assert_eq!(
            blake3::hash(&bytes).to_hex().as_str(),
            entry["id"].as_str().unwrap()
        );
    }

    let verify = env.run(&["verify-export", "out"]).ok();
    assert_eq!(verify.stdout, "checked 2 files of label prod: ok\n");
    assert_eq!(verify.stderr, "");
}

#[test]
fn verify_export_reports_changed_extra_and_missing_files() {
    let (env, _, refund) = store();
    env.run(&["export", "--label", "prod", "out"]).ok();
    let out = env.root.join("out");
    // One flipped byte, a file the manifest does not list (also inside a
    // namespace folder), a missing file.
    let mut bytes = fs::read(out.join("checkout-bot")).unwrap();
    bytes[0] ^= 0x20;
    fs::write(out.join("checkout-bot"), &bytes).unwrap();
    fs::write(out.join("notes.txt"), "hi").unwrap();
    fs::write(out.join("support").join("extra-bot"), "hi").unwrap();
    fs::remove_file(out.join("support").join("refund-bot")).unwrap();

    let run = env.run(&["verify-export", "out"]);
    assert_eq!(run.code, 1, "{run:?}");
    let changed_id = blake3::hash(&bytes).to_hex();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "changed: checkout-bot: content hashes to {}, the manifest says {}",
                &changed_id[..12],
                &blake3::hash(b"Be brief.\n").to_hex()[..12]
            )
            .as_str(),
            "extra: notes.txt",
            "extra: support/extra-bot",
            "missing: support/refund-bot",
            "checked 2 files of label prod: 4 problems",
        ]
    );
    assert_eq!(run.stderr, "");

    // Restoring the bytes and removing the extras makes it clean again.
    fs::write(out.join("checkout-bot"), "Be brief.\n").unwrap();
    fs::write(out.join("support").join("refund-bot"), BINARY).unwrap();
    fs::remove_file(out.join("notes.txt")).unwrap();
    fs::remove_file(out.join("support").join("extra-bot")).unwrap();
    env.run(&["verify-export", "out"]).ok();
    assert_eq!(blake3::hash(BINARY).to_hex().as_str(), refund);
}

#[test]
fn verify_export_needs_no_store_and_checks_a_folder_or_a_symlink() {
    let (env, _, _) = store();
    env.run(&["export", "--label", "prod", "out"]).ok();
    let outside = env.outside();
    let moved = outside.join("bundle");
    fs::rename(env.root.join("out"), &moved).unwrap();
    let run = env.run(&["-C", outside.to_str().unwrap(), "verify-export", "bundle"]);
    assert_eq!(run.code, 0, "{run:?}");

    // A folder in place of a listed file is a change, and its contents extra.
    let file = moved.join("checkout-bot");
    fs::remove_file(&file).unwrap();
    fs::create_dir(&file).unwrap();
    fs::write(file.join("inner"), "x").unwrap();
    let run = env.run(&["verify-export", moved.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "changed: checkout-bot: is not a regular file\nextra: checkout-bot/inner\n"
        ),
        "{}",
        run.stdout
    );

    #[cfg(unix)]
    {
        // A symbolic link to the right bytes is still not the exported file.
        fs::remove_dir_all(&file).unwrap();
        let target = outside.join("elsewhere");
        fs::write(&target, "Be brief.\n").unwrap();
        std::os::unix::fs::symlink(&target, &file).unwrap();
        let run = env.run(&["verify-export", moved.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stdout
                .starts_with("changed: checkout-bot: is a symbolic link\n"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn export_refuses_a_non_empty_folder_unless_forced() {
    let (env, _, _) = store();
    env.write("out/keep.txt", "mine");
    let before = snapshot_dir(&env.root.join("out"));
    let run = env.run(&["export", "--label", "prod", "out"]).fails(2);
    assert!(run.stderr.contains("out is not empty"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: ") && run.stderr.contains("--force"));
    assert_eq!(snapshot_dir(&env.root.join("out")), before);

    env.run(&["export", "--label", "prod", "out", "--force"])
        .ok();
    assert_eq!(fs::read(env.root.join("out/keep.txt")).unwrap(), b"mine");
    let run = env.run(&["verify-export", "out"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "extra: keep.txt\nchecked 2 files of label prod: 1 problem\n"
    );

    // A forced export of another label replaces the files of the same name;
    // a later one removes the files the earlier manifest listed and it lacks
    // (and the folders that leaves empty), and leaves unlisted files alone.
    env.add("tools/scratch", "Scratch.\n", &["--label", "staging"]);
    let run = env
        .run(&["export", "--label", "staging", "out", "--force"])
        .ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let run = env.run(&["verify-export", "out"]);
    assert_eq!(
        run.stdout,
        "extra: keep.txt\nchecked 4 files of label staging: 1 problem\n"
    );
    assert!(env.root.join("out/tools/scratch").is_file());
    let run = env
        .run(&["export", "--label", "prod", "out", "--force"])
        .ok();
    assert_eq!(
        run.stderr,
        "skipped draft: it has no label prod\nskipped tools/scratch: it has no label prod\n"
    );
    assert!(!env.root.join("out/draft").exists());
    assert!(!env.root.join("out/tools").exists());
    assert!(env.root.join("out/keep.txt").exists());
    fs::remove_file(env.root.join("out/keep.txt")).unwrap();
    let run = env.run(&["verify-export", "out"]).ok();
    assert_eq!(run.stdout, "checked 2 files of label prod: ok\n");

    // A file in place of the export folder is refused.
    env.write("file", "x");
    let run = env
        .run(&["export", "--label", "prod", "file", "--force"])
        .fails(2);
    assert!(run.stderr.contains("is not a folder"), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn export_never_writes_through_a_symbolic_link() {
    let (env, _, _) = store();
    env.run(&["export", "--label", "prod", "out"]).ok();
    let victim = env.outside().join("victim");
    fs::create_dir(&victim).unwrap();
    let support = env.root.join("out/support");
    fs::remove_dir_all(&support).unwrap();
    std::os::unix::fs::symlink(&victim, &support).unwrap();
    let run = env
        .run(&["export", "--label", "prod", "out", "--force"])
        .fails(2);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(fs::read_dir(&victim).unwrap().count(), 0);

    // A stale file of an earlier export is not removed through a link.
    env.add("tools/scratch", "Scratch.\n", &["--label", "staging"]);
    fs::remove_file(&support).unwrap();
    env.run(&["export", "--label", "staging", "out", "--force"])
        .ok();
    fs::remove_dir_all(env.root.join("out/tools")).unwrap();
    fs::write(victim.join("scratch"), "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, env.root.join("out/tools")).unwrap();
    env.run(&["export", "--label", "prod", "out", "--force"])
        .ok();
    assert_eq!(fs::read(victim.join("scratch")).unwrap(), b"keep me");

    // The export folder itself may be a link to a folder.
    let real = env.outside().join("real");
    fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, env.root.join("linked")).unwrap();
    env.run(&["export", "--label", "prod", "linked"]).ok();
    assert_eq!(fs::read(real.join("checkout-bot")).unwrap(), b"Be brief.\n");
    env.run(&["verify-export", "linked"]).ok();
}

#[test]
fn export_json_prints_one_bundle() {
    let (env, checkout, refund) = store();
    let before = env.snapshot();
    let run = env.run(&["export", "--label", "prod", "--json"]).ok();
    assert_eq!(run.stderr, "skipped draft: it has no label prod\n");
    let bundle: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        bundle,
        serde_json::json!({
            "format": 1,
            "label": "prod",
            "prompts": [
                {"name": "checkout-bot", "id": checkout, "content": "Be brief.\n"},
                {"name": "support/refund-bot", "id": refund,
                 "content_base64": base64::engine::general_purpose::STANDARD.encode(BINARY)},
            ]
        })
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bundle["prompts"][1]["content_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, BINARY);
    assert_eq!(env.snapshot(), before);
    assert!(!env.root.join("out").exists());
}

#[test]
fn export_errors_follow_the_house_style() {
    let (env, _, _) = store();
    // A label no prompt has: nothing is written, not even the folder.
    let run = env.run(&["export", "--label", "prodd", "out"]).fails(2);
    assert!(run.stderr.contains("no prompt has a label \"prodd\""));
    assert!(!env.root.join("out").exists());
    env.run(&["export", "--label", "Prod", "out"]).fails(2);
    // DIR or --json, not both, not neither (clap's usage errors, exit 2).
    let run = env.run(&["export", "--label", "prod"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    let run = env.run(&["export", "--label", "prod", "--json", "out"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    // Outside a store.
    let outside = env.outside();
    env.run(&[
        "-C",
        outside.to_str().unwrap(),
        "export",
        "--label",
        "prod",
        "--json",
    ])
    .fails(2);

    // `support` and `support/refund-bot` cannot both be files: refused
    // before anything is written, with a way out.
    env.add("support", "Hello.\n", &["--label", "staging"]);
    let run = env.run(&["export", "--label", "staging", "out"]).fails(2);
    assert!(
        run.stderr
            .contains("cannot export both \"support\" and \"support/refund-bot\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: `promptrel export --json`"));
    assert!(!env.root.join("out").exists());
    env.run(&["export", "--label", "staging", "--json"]).ok();

    // verify-export: no manifest, a bad manifest, an unknown format.
    fs::create_dir(env.root.join("empty")).unwrap();
    let run = env.run(&["verify-export", "empty"]).fails(2);
    assert!(run.stderr.contains("has no promptrel-export.json"));
    env.run(&["verify-export", "nowhere"]).fails(2);
    env.write("bad/promptrel-export.json", "{not json");
    env.run(&["verify-export", "bad"]).fails(2);
    env.write("future/promptrel-export.json", r#"{"format": 2}"#);
    let run = env.run(&["verify-export", "future"]).fails(2);
    assert!(run.stderr.contains("export format 2"), "{}", run.stderr);
    // A manifest path that leaves the folder is refused, not followed.
    env.write(
        "escape/promptrel-export.json",
        r#"{"format": 1, "label": "prod", "prompts": [{"name": "x", "id":
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        "path": "../x", "size": 0}]}"#,
    );
    let run = env.run(&["verify-export", "escape"]).fails(2);
    assert!(
        run.stderr.contains("not a valid file path"),
        "{}",
        run.stderr
    );
}

#[test]
fn export_of_a_corrupt_object_writes_nothing() {
    let (env, checkout, _) = store();
    let object = env
        .store()
        .join("objects")
        .join(&checkout[..2])
        .join(&checkout[2..]);
    let mut bytes = fs::read(&object).unwrap();
    bytes[0] ^= 1;
    fs::write(&object, bytes).unwrap();
    env.run(&["export", "--label", "prod", "out"]).fails(5);
    assert!(!env.root.join("out").exists());
    env.run(&["export", "--label", "prod", "--json"]).fails(5);
}

/// The text of the first fenced block with `lang` after `heading` in FORMAT.md.
fn format_md_block(heading: &str, lang: &str) -> String {
    let format =
        fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("FORMAT.md"))
            .unwrap();
    let section = &format[format.find(heading).expect(heading)..];
    let fence = format!("```{lang}\n");
    let block = &section[section.find(&fence).unwrap() + fence.len()..];
    block[..block.find("```").unwrap()].to_string()
}

#[test]
fn format_md_export_examples_are_real() {
    let env = TestEnv::init();
    let checkout = "You are a helpful checkout assistant.\nExplain every option in detail.\nAlways list all shipping methods.\n";
    env.add("checkout-bot", checkout, &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "ship"])
        .ok();
    env.add("support", "Hello.\n", &["--label", "staging"]);
    let refund = env.write("refund.txt", b"R\xe9ponds poliment.\n");
    env.run(&["add", "support/refund-bot", &refund, "--label", "staging"])
        .ok();
    env.promote("support/refund-bot", "staging", "prod", "ship");

    env.run(&["export", "--label", "prod", "DIR"]).ok();
    let manifest: Value =
        serde_json::from_slice(&fs::read(env.root.join("DIR/promptrel-export.json")).unwrap())
            .unwrap();
    let documented: Value =
        serde_json::from_str(&format_md_block("### 14.1 Export folder", "json")).unwrap();
    assert_eq!(manifest, documented, "FORMAT.md §14.1 manifest");

    let bundle: Value = serde_json::from_str(
        &env.run(&["export", "--label", "prod", "--json"])
            .ok()
            .stdout,
    )
    .unwrap();
    let documented: Value =
        serde_json::from_str(&format_md_block("### 14.2 JSON bundle", "json")).unwrap();
    assert_eq!(bundle, documented, "FORMAT.md §14.2 bundle");

    // The verify-export example: one changed byte, an extra file, a missing one.
    env.write("DIR/checkout-bot", format!("y{}", &checkout[1..]));
    env.write("DIR/notes.txt", "x");
    fs::remove_file(env.root.join("DIR/support/refund-bot")).unwrap();
    let run = env.run(&["verify-export", "DIR"]);
    let console = format_md_block("**Verification**", "console");
    assert_eq!(
        console,
        format!("$ promptrel verify-export DIR\n{}", run.stdout),
        "FORMAT.md §14.1 verify-export example"
    );
}
