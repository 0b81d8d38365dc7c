//! `promptrel completions SHELL` and `promptrel man [DIR]`.

use std::process::Command;

use crate::support::TestEnv;

const SUBCOMMANDS: [&str; 6] = [
    "add",
    "promote",
    "rollback",
    "export",
    "verify-export",
    "man",
];

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = env.run(&["completions", shell]).ok();
        assert_eq!(run.stderr, "", "{shell}");
        assert!(run.stdout.len() > 500, "{shell}: {}", run.stdout);
        for sub in SUBCOMMANDS {
            assert!(run.stdout.contains(sub), "{shell} script lacks {sub}");
        }
        // Options of subcommands too.
        assert!(run.stdout.contains("expect"), "{shell}");
    }
    let run = env.run(&["completions", "tcsh"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
}

#[test]
fn bash_completion_script_parses() {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("note: bash is not installed; skipping the `bash -n` check");
        return;
    }
    let env = TestEnv::new();
    let script = env.outside().join("promptrel.bash");
    std::fs::write(&script, env.run(&["completions", "bash"]).ok().stdout_bytes).unwrap();
    let out = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Sourcing it registers the completion function.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p promptrel",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("promptrel"),
        "{out:?}"
    );
}

#[test]
fn man_prints_the_main_page() {
    let env = TestEnv::new();
    let run = env.run(&["man"]).ok();
    // roff escapes hyphens as `\-`.
    let text = run.stdout.replace("\\-", "-");
    assert!(text.contains(".TH PROMPTREL 1"), "{text}");
    for sub in SUBCOMMANDS {
        assert!(
            text.contains(&format!("promptrel-{sub}(1)")),
            "promptrel.1 lacks {sub}"
        );
    }
    assert!(text.contains("PROMPTREL_DIR"), "the environment section");
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let env = TestEnv::new();
    let run = env.run(&["man", "pages"]).ok();
    let dir = env.root.join("pages");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    for page in [
        "promptrel.1",
        "promptrel-add.1",
        "promptrel-export.1",
        "promptrel-verify-export.1",
    ] {
        assert!(
            files.iter().any(|f| f == page),
            "{page} missing from {files:?}"
        );
    }
    assert!(!files.iter().any(|f| f == "promptrel-help.1"), "{files:?}");
    assert_eq!(run.stdout.lines().count(), files.len(), "{}", run.stdout);
    let export = std::fs::read_to_string(dir.join("promptrel-export.1")).unwrap();
    assert!(export.contains(".TH PROMPTREL-EXPORT 1"), "{export}");
    assert!(export.contains("Example: promptrel export"), "{export}");

    // Render every page with man(1) when it is installed.
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("note: man is not installed; checked the roff source only");
        return;
    }
    for file in &files {
        let out = Command::new("man")
            .arg("-l")
            .arg(dir.join(file))
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "man -l {file}: {out:?}");
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{file}:\n{text}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("warning"), "man -l {file}: {stderr}");
    }
}
