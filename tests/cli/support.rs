//! `TestEnv`: a temp dir, a cleared environment, a fixed author and clock.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A hermetic place to run promptrel.
pub struct TestEnv {
    tmp: tempfile::TempDir,
    /// Where commands run (contains `.promptrel` after `init`).
    pub root: PathBuf,
    clock: std::cell::Cell<u32>,
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

impl Run {
    /// Assert success and return self.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Assert failure with `code`, nothing on stdout, and exactly one `error:` line.
    #[track_caller]
    pub fn fails(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "wrong exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "stdout must be clean on failure, got {:?}",
            self.stdout
        );
        let errors = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count();
        assert_eq!(
            errors, 1,
            "expected exactly one error line, got {:?}",
            self.stderr
        );
        assert!(
            self.stderr.starts_with("error: "),
            "stderr must start with the error: {:?}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        self
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        TestEnv {
            tmp,
            root,
            clock: std::cell::Cell::new(0),
        }
    }

    /// A new env with an initialised store.
    pub fn init() -> TestEnv {
        let env = TestEnv::new();
        env.run(&["init"]).ok();
        env
    }

    /// The `.promptrel` folder.
    pub fn store(&self) -> PathBuf {
        self.root.join(".promptrel")
    }

    /// A scratch folder outside the store's workdir.
    pub fn outside(&self) -> PathBuf {
        self.tmp.path().to_path_buf()
    }

    /// A `Command` for the binary with a cleared environment; each call
    /// advances the fixed clock by one minute so logs order deterministically.
    pub fn command(&self, args: &[&str]) -> Command {
        let minute = self.clock.get();
        self.clock.set(minute + 1);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_promptrel"));
        cmd.args(args)
            .current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.tmp.path())
            .env("PROMPTREL_AUTHOR", "Ada Lovelace <ada@example.com>")
            .env(
                "PROMPTREL_DATE",
                format!("2026-01-02T{:02}:{:02}:00Z", 10 + minute / 60, minute % 60),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        // Windows processes cannot start (or find a temp folder) without these.
        if cfg!(windows) {
            for var in ["SYSTEMROOT", "TEMP", "TMP", "USERPROFILE"] {
                if let Some(value) = std::env::var_os(var) {
                    cmd.env(var, value);
                }
            }
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        finish(self.command(args).output().unwrap())
    }

    /// Run with `input` on standard input.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        finish(child.wait_with_output().unwrap())
    }

    /// Write a file under the root and return its relative path.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> String {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        rel.to_string()
    }

    /// Add `bytes` as a version of `name` (extra args appended) and return the id.
    pub fn add(&self, name: &str, bytes: &str, extra: &[&str]) -> String {
        let mut args = vec!["add", name, "-"];
        args.extend_from_slice(extra);
        let run = self.run_stdin(&args, bytes.as_bytes()).ok();
        run.stdout.trim().to_string()
    }

    /// Every file under `.promptrel` with its bytes: compare before and after
    /// a refused command to prove nothing changed.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        snapshot_dir(&self.store())
    }
}

pub fn snapshot_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return files;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(dir).unwrap().to_path_buf();
        if entry.file_type().is_file() {
            files.insert(rel, std::fs::read(entry.path()).unwrap());
        } else {
            files.insert(rel, b"<dir>".to_vec());
        }
    }
    files
}

/// Run a prepared command (from [`TestEnv::command`] plus extra settings).
pub fn run_cmd(cmd: &mut Command) -> Run {
    finish(cmd.output().unwrap())
}

/// Collect a finished process's exit code and output.
pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
