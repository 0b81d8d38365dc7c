//! `examples/python/resolve.py`, the reader of FORMAT.md §9, against stores
//! written by the binary. Skipped (with a note) without python3 and blake3.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Run, TestEnv, finish};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python/resolve.py")
}

/// Whether `python3` with the `blake3` module can run; prints why not.
fn python_ready() -> bool {
    match Command::new("python3")
        .args(["-c", "import blake3"])
        .output()
    {
        Ok(out) if out.status.success() => true,
        Ok(_) => {
            eprintln!(
                "note: the python3 `blake3` module is missing (pip install blake3); skipping"
            );
            false
        }
        Err(_) => {
            eprintln!("note: python3 is not installed; skipping");
            false
        }
    }
}

fn resolve(env: &TestEnv, rev: &str) -> Run {
    finish(
        Command::new("python3")
            .arg(script())
            .arg(rev)
            .arg(env.store())
            .output()
            .unwrap(),
    )
}

#[test]
fn python_reader_matches_format_md() {
    // Everything from `import json` to the `__main__` block is FORMAT.md §9's code.
    let format =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("FORMAT.md")).unwrap();
    let section = &format[format.find("## 9. A complete reader in Python").unwrap()..];
    let code = &section[section.find("```python\n").unwrap() + 10..];
    let code = &code[..code.find("```").unwrap()];
    let example = std::fs::read_to_string(script()).unwrap();
    let body = |text: &str| -> String {
        let start = text.find("import json\n").unwrap();
        let end = text.find("if __name__ == \"__main__\":").unwrap();
        text[start..end].to_string()
    };
    assert_eq!(
        body(&example),
        body(code),
        "resolve.py and FORMAT.md §9 differ"
    );
}

#[test]
fn python_reader_resolves_labels_byte_for_byte() {
    if !python_ready() {
        return;
    }
    let env = TestEnv::init();
    env.add("checkout-bot", "Be brief.\n", &["--label", "staging"]);
    let binary: &[u8] = b"\xff\xfe\x00 not utf-8 \x80\r\n";
    let file = env.write("refund.bin", binary);
    env.run(&["add", "support/refund-bot", &file, "--label", "staging"])
        .ok();
    env.promote("support/refund-bot", "staging", "prod", "ship");

    for rev in ["checkout-bot@staging", "support/refund-bot@prod"] {
        let py = resolve(&env, rev);
        assert_eq!(py.code, 0, "{rev}: {py:?}");
        assert_eq!(py.stderr, "");
        let cli = env.run(&["show", rev]).ok();
        assert_eq!(py.stdout_bytes, cli.stdout_bytes, "{rev}");
    }
    assert_eq!(
        resolve(&env, "support/refund-bot@prod").stdout_bytes,
        binary
    );

    // The default store path is ./.promptrel.
    let out = Command::new("python3")
        .arg(script())
        .arg("checkout-bot@staging")
        .current_dir(&env.root)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"Be brief.\n");
}

#[test]
fn python_reader_refuses_what_promptrel_refuses() {
    if !python_ready() {
        return;
    }
    let env = TestEnv::init();
    let id = env.add(
        "support/refund-bot",
        "Refund politely.\n",
        &["--label", "staging"],
    );
    let fails = |rev: &str, message: &str| {
        let run = resolve(&env, rev);
        assert_ne!(run.code, 0, "{rev}: {run:?}");
        assert!(run.stdout.is_empty(), "{rev}: {run:?}");
        assert!(
            run.stderr.starts_with("error: ") && run.stderr.contains(message),
            "{rev}: expected {message:?} in {:?}",
            run.stderr
        );
    };
    fails(
        "support/refund-bot@prod",
        "support/refund-bot has no label prod",
    );
    fails("../etc@prod", "invalid name or label");
    fails("support/refund-bot", "invalid name or label");

    // A flipped byte in the object.
    let object = env.store().join("objects").join(&id[..2]).join(&id[2..]);
    let good = std::fs::read(&object).unwrap();
    let mut bad = good.clone();
    bad[0] ^= 1;
    std::fs::write(&object, &bad).unwrap();
    fails(
        "support/refund-bot@staging",
        &format!("object {} does not match its id", &id[..12]),
    );
    std::fs::write(&object, &good).unwrap();
    assert_eq!(resolve(&env, "support/refund-bot@staging").code, 0);

    // A ref with merge-conflict markers.
    let reference = env.store().join("refs/support/refund-bot/@staging");
    let ref_bytes = std::fs::read(&reference).unwrap();
    std::fs::write(
        &reference,
        format!("<<<<<<< HEAD\n{id}\n=======\n{id}\n>>>>>>> b\n"),
    )
    .unwrap();
    fails(
        "support/refund-bot@staging",
        "does not hold one version id or a split",
    );
    std::fs::write(&reference, &ref_bytes).unwrap();

    // A symlinked ref.
    #[cfg(unix)]
    {
        let elsewhere = env.outside().join("ref");
        std::fs::write(&elsewhere, &ref_bytes).unwrap();
        std::fs::remove_file(&reference).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &reference).unwrap();
        fails("support/refund-bot@staging", "not a symbolic link");
        std::fs::remove_file(&reference).unwrap();
        std::fs::write(&reference, &ref_bytes).unwrap();
    }

    // Another store format (here, the one before).
    let config = env.store().join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("format: 3", "format: 2")).unwrap();
    fails(
        "support/refund-bot@staging",
        "not a promptrel store of format 3",
    );

    // No arguments: a usage message, not a traceback.
    let out = Command::new("python3").arg(script()).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("usage: "), "{stderr}");
}

/// `resolve.py REV STORE --key KEY`.
fn resolve_keyed(env: &TestEnv, rev: &str, key: &str) -> Run {
    finish(
        Command::new("python3")
            .arg(script())
            .arg(rev)
            .arg(env.store())
            .args(["--key", key])
            .output()
            .unwrap(),
    )
}

#[test]
fn python_reader_chooses_split_versions_as_format_md_says() {
    if !python_ready() {
        return;
    }
    let env = TestEnv::init();
    for (_, text) in crate::support::VECTOR_VERSIONS {
        env.add("checkout-bot", text, &[]);
    }
    for v in crate::support::split_vectors() {
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
        let py = resolve_keyed(&env, &rev, &v.key);
        assert_eq!(py.code, 0, "{v:?}: {py:?}");
        let served = blake3::hash(&py.stdout_bytes).to_hex().to_string();
        assert_eq!(served, v.served, "{v:?}");
        let cli = env.run(&["show", &rev, "--key", &v.key]).ok();
        assert_eq!(py.stdout_bytes, cli.stdout_bytes, "{v:?}");
    }
    // Without a key: one of the split's versions, verified.
    let py = resolve(&env, "checkout-bot@canary");
    assert_eq!(py.code, 0, "{py:?}");
    let served = blake3::hash(&py.stdout_bytes).to_hex().to_string();
    assert!(
        crate::support::VECTOR_VERSIONS[..2]
            .iter()
            .any(|(_, text)| blake3::hash(text.as_bytes()).to_hex().as_str() == served)
    );

    // A split that breaks a rule of FORMAT.md §5.1 is refused, as promptrel refuses it.
    let path = env.store().join("refs/checkout-bot/@canary");
    let line = std::fs::read_to_string(&path).unwrap();
    let (a, b) = line.trim_end().split_once(' ').unwrap();
    for bad in [
        format!("{b} {a}\n"),                         // not sorted
        format!("{a} {}\n", b.replace("=90", "=80")), // 90 in all
        format!("{a}  {b}\n"),                        // two spaces
        format!("{}\n", a.replace("=10", "=010")),
    ] {
        std::fs::write(&path, &bad).unwrap();
        let py = resolve_keyed(&env, "checkout-bot@canary", "k");
        assert_ne!(py.code, 0, "{bad:?}: {py:?}");
        assert!(
            py.stdout.is_empty() && py.stderr.starts_with("error: "),
            "{py:?}"
        );
        env.run(&["show", "checkout-bot@canary", "--key", "k"])
            .fails(5);
    }
}

#[test]
fn python_reader_serves_a_pending_release_whole_a_split_included() {
    if !python_ready() {
        return;
    }
    let [(_, l), (_, s), _] = crate::support::VECTOR_VERSIONS;
    let env = TestEnv::init();
    env.add("checkout-bot", l, &["--label", "staging"]);
    env.run(&["promote", "checkout-bot", "staging", "prod", "-m", "first"])
        .ok();
    env.add("checkout-bot", s, &["--label", "canary"]);
    let id = |text: &str| blake3::hash(text.as_bytes()).to_hex()[..8].to_string();
    env.run(&[
        "split",
        "checkout-bot",
        "staging",
        &format!("{}=10", id(l)),
        &format!("{}=90", id(s)),
        "-m",
        "ab",
    ])
    .ok();
    env.add(
        "support/refund-bot",
        "Refund politely.\n",
        &["--label", "staging"],
    );
    // Crash right after the commit point: no ref has moved yet.
    let mut cmd = env.command(&["release", "staging", "prod", "--all", "-m", "spring"]);
    cmd.env("PROMPTREL_CRASH_AT", "3");
    let run = crate::support::run_cmd(&mut cmd);
    assert!(
        run.stderr.contains("injected crash at step 3"),
        "{}",
        run.stderr
    );
    assert!(env.store().join("releases/+pending").exists());
    // FORMAT.md §5.1 vectors for checkout-bot@prod: user-11 gets L, user-1 S.
    for (key, text) in [("user-11", l), ("user-1", s)] {
        let py = resolve_keyed(&env, "checkout-bot@prod", key);
        assert_eq!(py.code, 0, "{py:?}");
        assert_eq!(py.stdout, text, "{key}");
        let cli = env.run(&["show", "checkout-bot@prod", "--key", key]).ok();
        assert_eq!(py.stdout_bytes, cli.stdout_bytes, "{key}");
    }
    let py = resolve(&env, "support/refund-bot@prod");
    assert_eq!(py.stdout, "Refund politely.\n", "{py:?}");
}
