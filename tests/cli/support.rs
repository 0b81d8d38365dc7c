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

    /// `promptrel promote NAME FROM TO -m MESSAGE`, which must succeed.
    pub fn promote(&self, name: &str, from: &str, to: &str, message: &str) -> Run {
        self.run(&["promote", name, from, to, "-m", message]).ok()
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

/// The folder of one log of prompt `name` (`stem` is `+versions` or
/// `@LABEL`): `logs/<name><stem>`, its first shard (FORMAT.md §6.2).
pub fn log_dir(store: &Path, name: &str, stem: &str) -> PathBuf {
    store.join("logs").join(format!("{name}{stem}"))
}

/// Shard `n` of one log: the log's folder, or its folder `~NNNNNN`.
pub fn shard_dir(store: &Path, name: &str, stem: &str, n: u64) -> PathBuf {
    match n {
        0 => log_dir(store, name, stem),
        _ => log_dir(store, name, stem).join(format!("~{n:06}")),
    }
}

/// The record files of one log of prompt `name`: every `<seq>-<hash>` of
/// its folder and of the shard folders in it, sorted by name (packs left
/// out).
pub fn record_files(store: &Path, name: &str, stem: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![log_dir(store, name, stem)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                if file_name.starts_with('~') {
                    dirs.push(entry.path());
                }
            } else if !file_name.starts_with("pack-") && !file_name.starts_with('.') {
                files.push(entry.path());
            }
        }
    }
    files.sort_by_key(|p| p.file_name().unwrap().to_os_string());
    files
}

/// The records of one log, oldest first, one JSON line each (without
/// `\n`), in log order (FORMAT.md §6.2: seq, then time, then bytes).
pub fn log_lines(store: &Path, name: &str, stem: &str) -> Vec<String> {
    let mut lines: Vec<(u64, String, String)> = Vec::new();
    for path in record_files(store, name, stem) {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with('\n'),
            "{}: lacks its final newline",
            path.display()
        );
        let line = text.trim_end_matches('\n');
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display()));
        let seq = value["seq"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no seq", path.display()));
        let time = value["time"].as_str().unwrap_or_default().to_string();
        lines.push((seq, time, line.to_string()));
    }
    lines.sort();
    lines.into_iter().map(|(_, _, line)| line).collect()
}

impl TestEnv {
    /// [`log_lines`] of this env's store.
    pub fn log_lines(&self, name: &str, stem: &str) -> Vec<String> {
        log_lines(&self.store(), name, stem)
    }

    /// Write `line` (a record without `\n`) as a record file of log `stem`
    /// of `name`, where promptrel would (its shard folder, named by its seq
    /// and the hash of the line); returns its path.
    pub fn write_record(&self, name: &str, stem: &str, line: &str) -> PathBuf {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let seq = value["seq"].as_u64().unwrap();
        let hash = &blake3::hash(line.as_bytes()).to_hex()[..16];
        let dir = shard_dir(&self.store(), name, stem, (seq - 1) / 256);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{seq:012}-{hash}"));
        std::fs::write(&file, format!("{line}\n")).unwrap();
        file
    }

    /// The file of record `seq` of one log.
    pub fn log_file(&self, name: &str, stem: &str, seq: u64) -> PathBuf {
        let wanted = format!("{seq:012}-");
        self.log_files(name, stem)
            .into_iter()
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&wanted)
            })
            .unwrap_or_else(|| panic!("no record {seq} in {name} {stem}"))
    }

    /// The record files of one log, sorted by name.
    pub fn log_files(&self, name: &str, stem: &str) -> Vec<PathBuf> {
        record_files(&self.store(), name, stem)
    }
}

/// One row of FORMAT.md §5.1's test vectors: a split of `name@label`
/// (ids and weights, in ref order), a key, and what it must choose.
#[derive(Debug, Clone)]
pub struct SplitVector {
    pub name: String,
    pub label: String,
    pub shares: Vec<(String, u8)>,
    pub key: String,
    pub bucket: u8,
    pub served: String,
}

/// The contents of the versions the vectors name (`L`, `S`, `O`).
pub const VECTOR_VERSIONS: [(&str, &str); 3] = [
    (
        "L",
        "You are a helpful checkout assistant.\nExplain every option in detail.\nAlways list all shipping methods.\n",
    ),
    (
        "S",
        "You are a helpful checkout assistant.\nAnswer in two sentences.\n",
    ),
    (
        "O",
        "You are a helpful checkout assistant.\nAnswer in one sentence.\n",
    ),
];

/// The test vectors of FORMAT.md §5.1, read from the document itself, so
/// that the specification and the tests cannot drift apart.
pub fn split_vectors() -> Vec<SplitVector> {
    let format =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("FORMAT.md")).unwrap();
    let section = &format[format
        .find("**Test vectors.**")
        .expect("FORMAT.md has test vectors")..];
    let id = |letter: &str| -> String {
        let (_, text) = VECTOR_VERSIONS
            .iter()
            .find(|(l, _)| *l == letter)
            .unwrap_or_else(|| panic!("unknown version {letter}"));
        let id = blake3::hash(text.as_bytes()).to_hex().to_string();
        // The document names each version's full id; it must be this one.
        assert!(
            section.contains(&format!("| `{letter}` | `{id}` |")),
            "{letter}"
        );
        id
    };
    let cell = |c: &str| c.trim().trim_matches('`').to_string();
    let mut vectors = Vec::new();
    for line in section
        .lines()
        .skip_while(|l| !l.starts_with("| prompt |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
        assert_eq!(cells.len(), 6, "{line}");
        let shares = cell(cells[2])
            .split(' ')
            .map(|pair| {
                let (letter, weight) = pair.split_once('=').unwrap();
                (id(letter), weight.parse().unwrap())
            })
            .collect();
        vectors.push(SplitVector {
            name: cell(cells[0]),
            label: cell(cells[1]),
            shares,
            key: serde_json::from_str(&cell(cells[3])).unwrap(),
            bucket: cell(cells[4]).parse().unwrap(),
            served: id(&cell(cells[5])),
        });
    }
    assert!(
        vectors.len() >= 5,
        "FORMAT.md lists {} vectors",
        vectors.len()
    );
    vectors
}
