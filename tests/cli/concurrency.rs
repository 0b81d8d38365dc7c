//! promptrel never loses a release (issue 3): many writers at once, and
//! writers killed with `SIGKILL` at random moments.
//!
//! - [`concurrent_writers_lose_nothing`]: PROCS real `promptrel` processes at a
//!   time (one thread each, released together), each running OPS mixed
//!   commands on one shared prompt and on three namespaced ones: `add
//!   --label staging`, `promote` (also with `--expect`, and to `prod`),
//!   `rollback`, `label`, a refused `label` of protected `prod`, and `show`.
//!   Afterwards every command that exited 0 is in the changelog exactly once
//!   (matched by its unique message) with the ids it printed, no failed
//!   command left a trace, failures have documented exit codes only, every
//!   log chains, every undo went where the undo walk says, every ref equals
//!   the last `to` of its log, and `fsck` exits 0.
//! - [`sigkilled_writers_lose_nothing`] (Unix): one writer at a time, killed
//!   at a random moment; after each kill `fsck` may find only crash leftovers
//!   (a temp file, a ref one move behind its log), no
//!   acknowledged command may be missing, and every other kill leaves the
//!   leftovers to the next writer instead of `fsck --repair`.
//!
//! Sizes: `PROMPTREL_STRESS_PROCS` (default 6), `PROMPTREL_STRESS_OPS`
//! (default 25), `PROMPTREL_KILLS` (default 20). `PROMPTREL_STRESS_SEED`
//! replays a run's choice of prompts and commands (each run prints its
//! seed). `scripts/stress.sh` runs 16 x 500 with the release build, and
//! `scripts/killtest.sh` 1000 kills; `--nocapture` prints the figures. No
//! assertion depends on timing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Barrier;
#[cfg(unix)]
use std::time::Duration;
use std::time::Instant;

use serde_json::Value;

use crate::support::TestEnv;

/// The prompt every writer fights over, and three that share a namespace.
const PROMPTS: [&str; 4] = ["shared", "team/a", "team/b", "team/c"];

/// What `fsck` may find after a crash: nothing else.
#[cfg(unix)]
const CRASH_LEFTOVERS: [&str; 2] = ["temp-file", "ref-behind-log"];

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// SplitMix64: small, seedable, good enough to pick commands.
struct Rng(u64);

impl Rng {
    fn seeded() -> (Rng, u64) {
        let seed = env_number(
            "PROMPTREL_STRESS_SEED",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64),
        );
        (Rng(seed), seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// In [0, 1).
    #[cfg(unix)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ----- the commands ---------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `add P - -m M --label staging`, new content every time.
    Add,
    /// `promote P staging canary -m M`, sometimes with `--expect`.
    Promote,
    /// `promote P canary prod -m M`.
    Release,
    /// `rollback P canary|prod -m M`.
    Rollback,
    /// `label P qa staging|canary|PREFIX|ID -m M`.
    Label,
    /// `label P prod staging -m M`: always refused, prod is protected.
    Protected,
    /// `show P@canary`: a reader among the writers.
    Show,
}

/// One command, with its unique message (`p3-op17`: writer 3, 17th command).
#[derive(Debug, Clone)]
struct Op {
    msg: String,
    kind: Kind,
    prompt: &'static str,
    /// The label the command moves (`staging` for an add).
    label: &'static str,
    args: Vec<String>,
    stdin: Option<String>,
    /// `--expect`: the id prefix the label must hold.
    expect: Option<String>,
}

#[derive(Debug, Clone)]
enum Outcome {
    /// Exit 0.
    Ok { stdout: String, stderr: String },
    /// Exit 1..: the code and what the `error:` line says, as a reason.
    Failed { code: i32, reason: String },
    /// Killed by a signal (only `SIGKILL` from the kill test is expected).
    Killed { signal: Option<i32> },
}

/// What one writer has seen so far: ids for `label` and `--expect`.
#[derive(Default)]
struct Seen {
    added: HashMap<&'static str, String>,
    canary: HashMap<&'static str, String>,
}

impl Seen {
    fn observe(&mut self, op: &Op, outcome: &Outcome) {
        let Outcome::Ok { stdout, .. } = outcome else {
            return;
        };
        match op.kind {
            Kind::Add => {
                self.added.insert(op.prompt, stdout.trim().to_string());
            }
            Kind::Promote | Kind::Rollback if op.label == "canary" => {
                if let Some(mv) = parse_move(stdout) {
                    self.canary.insert(op.prompt, mv.to);
                } else if let Some(id) = already_at(stdout) {
                    self.canary.insert(op.prompt, id);
                }
            }
            _ => {}
        }
    }
}

fn pick_op(rng: &mut Rng, actor: &str, seq: usize, seen: &Seen, readers: bool) -> Op {
    // The same draws every time, whatever the writer has seen, so that a
    // seed always gives the same sequence of prompts and command kinds.
    let (which, roll, variant) = (rng.below(6), rng.below(100), rng.below(4));
    let prompt = PROMPTS[which.saturating_sub(2) as usize];
    let msg = format!("{actor}-op{seq}");
    let roll = if readers { roll } else { roll * 93 / 100 };
    let (kind, label) = match roll {
        0..30 => (Kind::Add, "staging"),
        30..50 => (Kind::Promote, "canary"),
        50..58 => (Kind::Release, "prod"),
        58..67 => (Kind::Rollback, "canary"),
        67..72 => (Kind::Rollback, "prod"),
        72..88 => (Kind::Label, "qa"),
        88..93 => (Kind::Protected, "prod"),
        _ => (Kind::Show, "canary"),
    };
    let mut op = Op {
        msg: msg.clone(),
        kind,
        prompt,
        label,
        args: Vec::new(),
        stdin: None,
        expect: None,
    };
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    op.args = match kind {
        Kind::Add => {
            op.stdin = Some(format!(
                "prompt {msg}\nYou are assistant {seq} of {actor}; answer briefly.\n"
            ));
            s(&["add", prompt, "-", "-m", &msg, "--label", "staging"])
        }
        Kind::Promote => {
            let mut args = s(&["promote", prompt, "staging", "canary", "-m", &msg]);
            if let Some(expect) = seen.canary.get(prompt).filter(|_| variant < 2) {
                args.extend(s(&["--expect", expect]));
                op.expect = Some(expect.clone());
            }
            args
        }
        Kind::Release => s(&["promote", prompt, "canary", "prod", "-m", &msg]),
        Kind::Rollback => s(&["rollback", prompt, label, "-m", &msg]),
        Kind::Label => {
            let target = match (variant, seen.added.get(prompt)) {
                (0, Some(id)) => id.clone(),
                (1, Some(id)) => id[..8].to_string(),
                (2, _) => "canary".to_string(),
                _ => "staging".to_string(),
            };
            s(&["label", prompt, "qa", &target, "-m", &msg])
        }
        Kind::Protected => s(&["label", prompt, "prod", "staging", "-m", &msg]),
        Kind::Show => s(&["show", &format!("{prompt}@canary")]),
    };
    op
}

/// The command for `op`, from the hermetic base `cmd` (`TestEnv::command(&[])`).
fn prepare(mut cmd: Command, op: &Op, index: u64) -> Command {
    // The harness's clock gives every command its own minute, which runs out
    // of hours at a few thousand commands: one second each instead.
    let when = jiff::Timestamp::from_second(1_767_312_000 + index as i64).unwrap();
    cmd.args(&op.args)
        .env("PROMPTREL_DATE", when.to_string())
        // Generous: a timeout is a documented failure, but not the point here.
        .env("PROMPTREL_LOCK_TIMEOUT", "60")
        .stdin(if op.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn feed(child: &mut std::process::Child, op: &Op) {
    if let Some(input) = &op.stdin {
        // Tiny, so it fits the pipe; a child killed first makes this EPIPE.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
}

fn outcome(out: &Output) -> Outcome {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => Outcome::Ok { stdout, stderr },
        Some(code) => {
            let errors = stderr.lines().filter(|l| l.starts_with("error:")).count();
            let reason = if !stdout.is_empty() || errors != 1 || !stderr.starts_with("error: ") {
                format!("malformed failure: stdout {stdout:?}, stderr {stderr:?}")
            } else {
                reason(&stderr)
            };
            Outcome::Failed { code, reason }
        }
        None => {
            #[cfg(unix)]
            let signal = std::os::unix::process::ExitStatusExt::signal(&out.status);
            #[cfg(not(unix))]
            let signal = None;
            Outcome::Killed { signal }
        }
    }
}

/// The failures a command may have in this test, by what its error says.
fn reason(stderr: &str) -> String {
    const KNOWN: [(&str, &str); 6] = [
        (
            "has no earlier value to roll back to",
            "nothing to roll back",
        ),
        (" has no label ", "unknown label"),
        ("error: no prompt named ", "unknown prompt"),
        ("is protected: it moves only through", "protected label"),
        (" has moved: expected ", "--expect mismatch"),
        ("locked by another promptrel process", "lock timeout"),
    ];
    KNOWN
        .iter()
        .find(|(text, _)| stderr.contains(text))
        .map_or_else(
            || format!("unexpected error: {}", stderr.trim()),
            |(_, r)| r.to_string(),
        )
}

/// The documented exit code of each expected failure.
fn allowed_failure(code: i32, reason: &str) -> bool {
    matches!(
        (code, reason),
        (
            2,
            "nothing to roll back" | "unknown label" | "unknown prompt" | "protected label"
        ) | (3, "--expect mismatch")
            | (4, "lock timeout")
    )
}

/// A printed label move: `promoted P@L: FROM -> TO` (`-` when it did not exist).
struct Move {
    target: String,
    from: Option<String>,
    to: String,
}

fn parse_move(line: &str) -> Option<Move> {
    let line = line.trim_end();
    let (head, arrow) = line.split_once(": ")?;
    let (from, to) = arrow.split_once(" -> ")?;
    Some(Move {
        target: head.rsplit(' ').next()?.to_string(),
        from: (from != "-").then(|| from.to_string()),
        to: to.to_string(),
    })
}

/// `P@L already points at ID; nothing changed`: the ID.
fn already_at(stdout: &str) -> Option<String> {
    let rest = stdout.split_once(" already points at ")?.1;
    Some(rest.split_once(';')?.0.to_string())
}

// ----- what the store must hold ---------------------------------------------------

/// A record a command must have written (ids are prefixes, as printed).
#[derive(Debug)]
struct Want {
    /// The log's folder under `logs/`, e.g. `team/a@canary`.
    file: String,
    action: &'static str,
    from: Option<String>,
    to: String,
    undo: bool,
    source: Option<&'static str>,
}

fn action_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Add => "add",
        Kind::Promote | Kind::Release => "promote",
        Kind::Rollback => "rollback",
        Kind::Label | Kind::Protected => "label",
        Kind::Show => "none",
    }
}

/// The log files (and actions) `op` may write to.
fn files_of(op: &Op) -> Vec<(String, &'static str)> {
    let label_log = format!("{}@{}", op.prompt, op.label);
    match op.kind {
        Kind::Add => vec![
            (format!("{}+versions", op.prompt), "add"),
            (label_log, "label"),
        ],
        Kind::Show | Kind::Protected => Vec::new(),
        kind => vec![(label_log, action_of(kind))],
    }
}

/// What a command that exited 0 must have written, from what it printed.
fn wanted(op: &Op, stdout: &str, stderr: &str) -> Result<Vec<Want>, String> {
    let label_log = format!("{}@{}", op.prompt, op.label);
    match op.kind {
        Kind::Show => Ok(Vec::new()),
        Kind::Protected => Err("a move of protected prod through `label` succeeded".into()),
        Kind::Add => {
            let id = stdout.trim().to_string();
            let staging = stderr
                .lines()
                .filter_map(parse_move)
                .find(|m| m.target == format!("{}@staging", op.prompt))
                .ok_or_else(|| format!("add did not report moving staging: {stderr:?}"))?;
            if !id.starts_with(&staging.to) {
                return Err(format!(
                    "add printed {id} but moved staging to {}",
                    staging.to
                ));
            }
            Ok(vec![
                Want {
                    file: format!("{}+versions", op.prompt),
                    action: "add",
                    from: None,
                    to: id.clone(),
                    undo: false,
                    source: None,
                },
                Want {
                    file: label_log,
                    action: "label",
                    from: staging.from,
                    to: id,
                    undo: false,
                    source: None,
                },
            ])
        }
        kind => {
            if already_at(stdout).is_some() {
                return Ok(Vec::new());
            }
            let mv = parse_move(stdout).ok_or_else(|| format!("unexpected output {stdout:?}"))?;
            if mv.target != format!("{}@{}", op.prompt, op.label) {
                return Err(format!("moved {} instead", mv.target));
            }
            if let Some(expect) = &op.expect
                && mv
                    .from
                    .as_deref()
                    .is_none_or(|f| !f.starts_with(expect.as_str()))
            {
                return Err(format!(
                    "--expect {expect} held, yet it moved from {:?}",
                    mv.from
                ));
            }
            Ok(vec![Want {
                file: label_log,
                action: action_of(kind),
                from: mv.from,
                to: mv.to,
                undo: kind == Kind::Rollback,
                source: match kind {
                    Kind::Promote => Some("staging"),
                    Kind::Release => Some("canary"),
                    _ => None,
                },
            }])
        }
    }
}

fn matches(want: &Want, file: &str, r: &Value) -> bool {
    let id_starts = |v: &Value, prefix: &str| v.as_str().is_some_and(|s| s.starts_with(prefix));
    file == want.file
        && r["action"] == want.action
        && match &want.from {
            None => r["from"].is_null() || (want.action == "add" && r["from"].is_string()),
            Some(f) => id_starts(&r["from"], f),
        }
        && id_starts(&r["to"], &want.to)
        && r["undo"].as_bool().unwrap_or(false) == want.undo
        && want.source.is_none_or(|s| r["source"] == s)
}

/// Every regular file below `dir` whose name does not start with `.`
/// (readers skip `.keep` and `.tmp-*`), by `/`-joined relative path.
fn files_below(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || name.starts_with('.') {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap();
        let rel: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into()).collect();
        files.insert(rel.join("/"), std::fs::read(entry.path()).unwrap());
    }
    files
}

/// What the undo walk of FORMAT.md §8.1 gives after `prior` records.
fn undo_target(prior: &[Value]) -> Option<&Value> {
    let mut pending = 0usize;
    for r in prior.iter().rev() {
        if r["undo"] == true {
            pending += 1;
        } else if pending > 0 {
            pending -= 1;
        } else {
            return Some(&r["from"]);
        }
    }
    None
}

#[derive(Default, Debug)]
struct Checked {
    records: usize,
    logs: usize,
    refs: usize,
    /// Acknowledged (exit 0) commands whose records are missing.
    lost: Vec<String>,
    /// Anything else that is wrong.
    wrong: Vec<String>,
}

/// Compare the changelog with what every command reported. `settled`: the
/// store has no crash leftovers (every ref at its log's end).
fn check_store(env: &TestEnv, ops: &[(Op, Outcome)], settled: bool) -> Checked {
    let mut c = Checked::default();
    // Each log's records from all its files (loose records and packs),
    // copies dropped, in log order: seq, then time, then bytes.
    let mut lines: BTreeMap<String, BTreeSet<(u64, String, Vec<u8>)>> = BTreeMap::new();
    for (file, bytes) in files_below(&env.store().join("logs")) {
        if !bytes.ends_with(b"\n") {
            c.wrong
                .push(format!("logs/{file}: does not end with a newline"));
        }
        // The path up to the log's folder: the first part with `+` or `@`.
        let end = file
            .find(['+', '@'])
            .and_then(|at| file[at..].find('/').map(|slash| at + slash))
            .unwrap_or_else(|| panic!("logs/{file}: not a record file"));
        let log = &file[..end];
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let r: Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                panic!(
                    "logs/{file}: damaged record {e}: {}",
                    String::from_utf8_lossy(line)
                )
            });
            let seq = r["seq"]
                .as_u64()
                .unwrap_or_else(|| panic!("logs/{file}: no seq"));
            let time = r["time"].as_str().unwrap_or_default().to_string();
            lines
                .entry(log.to_string())
                .or_default()
                .insert((seq, time, line.to_vec()));
        }
    }
    let logs: BTreeMap<String, Vec<Value>> = lines
        .into_iter()
        .map(|(log, lines)| {
            let records: Vec<Value> = lines
                .into_iter()
                .map(|(_, _, line)| serde_json::from_slice(&line).unwrap())
                .collect();
            c.records += records.len();
            (log, records)
        })
        .collect();
    c.logs = logs.len();

    // Chains, undo walks, and each writer's records in the order it ran them.
    let mut by_msg: HashMap<&str, Vec<(&str, &Value)>> = HashMap::new();
    for (file, records) in &logs {
        let mut previous = &Value::Null;
        let mut last_seq: HashMap<&str, u64> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if r["from"] != *previous {
                c.wrong
                    .push(format!("logs/{file} line {}: breaks the chain", i + 1));
            }
            previous = &r["to"];
            if r["undo"] == true && undo_target(&records[..i]) != Some(&r["to"]) {
                c.wrong.push(format!(
                    "logs/{file} line {}: an undo that did not go to the undo walk's target",
                    i + 1
                ));
            }
            let msg = r["message"].as_str().unwrap_or_default();
            by_msg.entry(msg).or_default().push((file, r));
            if let Some((actor, seq)) = msg.split_once("-op")
                && let Ok(seq) = seq.parse::<u64>()
                && last_seq
                    .insert(actor, seq)
                    .is_some_and(|before| before >= seq)
            {
                c.wrong.push(format!(
                    "logs/{file} line {}: {msg} is out of its writer's order",
                    i + 1
                ));
            }
        }
    }

    let added: BTreeSet<&str> = ops
        .iter()
        .filter(|(op, _)| op.kind == Kind::Add)
        .map(|(op, _)| op.msg.as_str())
        .collect();
    let mut known = BTreeSet::new();
    for (op, outcome) in ops {
        known.insert(op.msg.as_str());
        let found = by_msg.get(op.msg.as_str()).cloned().unwrap_or_default();
        match outcome {
            Outcome::Ok { stdout, stderr } => {
                let wants = match wanted(op, stdout, stderr) {
                    Ok(w) => w,
                    Err(e) => {
                        c.wrong.push(format!("{}: {e}", op.msg));
                        continue;
                    }
                };
                for want in &wants {
                    match found.iter().filter(|(f, r)| matches(want, f, r)).count() {
                        1 => {}
                        0 => c
                            .lost
                            .push(format!("{} ({:?}): no record {want:?}", op.msg, op.args)),
                        n => c.wrong.push(format!("{}: recorded {n} times", op.msg)),
                    }
                }
                if found.len() != wants.len() {
                    c.wrong.push(format!(
                        "{}: {} records for {} changes: {found:?}",
                        op.msg,
                        found.len(),
                        wants.len()
                    ));
                }
                if op.kind == Kind::Show {
                    // A reader only ever sees a version whose add is logged.
                    let shown = stdout
                        .lines()
                        .next()
                        .and_then(|l| l.strip_prefix("prompt "));
                    let logged = shown.is_some_and(|m| {
                        added.contains(m)
                            && by_msg
                                .get(m)
                                .is_some_and(|rs| rs.iter().any(|(_, r)| r["action"] == "add"))
                    });
                    if !logged {
                        c.wrong
                            .push(format!("{}: showed unlogged bytes {stdout:?}", op.msg));
                    }
                }
            }
            Outcome::Failed { code, reason } => {
                if !found.is_empty() {
                    c.wrong.push(format!(
                        "{} failed ({code}, {reason}) but left {found:?}",
                        op.msg
                    ));
                }
            }
            Outcome::Killed { .. } => {
                // It may have got as far as any of its records, each once.
                let files = files_of(op);
                for (file, action) in &files {
                    let n = found
                        .iter()
                        .filter(|(f, r)| f == file && r["action"] == *action)
                        .count();
                    if n > 1 {
                        c.wrong
                            .push(format!("{}: recorded {n} times in {file}", op.msg));
                    }
                }
                if found
                    .iter()
                    .any(|(f, r)| !files.iter().any(|(file, a)| f == file && r["action"] == *a))
                {
                    c.wrong
                        .push(format!("{}: records in the wrong place: {found:?}", op.msg));
                }
            }
        }
    }
    for msg in by_msg.keys() {
        if !known.contains(msg) {
            c.wrong.push(format!("a record no command wrote: {msg:?}"));
        }
    }

    // Refs: each equals its log's last `to` (after a crash it may be one move behind).
    // Keyed like logs: `team/a/@canary` is the log `team/a@canary`.
    let refs: BTreeMap<String, Vec<u8>> = files_below(&env.store().join("refs"))
        .into_iter()
        .map(|(file, bytes)| (file.replace("/@", "@"), bytes))
        .collect();
    c.refs = refs.len();
    for (file, bytes) in &refs {
        let Some(records) = logs.get(file) else {
            c.wrong.push(format!("the ref of {file} has no log"));
            continue;
        };
        let last = records
            .last()
            .map(|r| format!("{}\n", r["to"].as_str().unwrap_or("")));
        let behind = records
            .last()
            .map(|r| format!("{}\n", r["from"].as_str().unwrap_or("")));
        let id = String::from_utf8_lossy(bytes).into_owned();
        if Some(&id) != last.as_ref() && (settled || Some(&id) != behind.as_ref()) {
            c.wrong.push(format!(
                "the ref of {file} holds {id:?}, its log ends at {last:?}"
            ));
        }
    }
    for (file, records) in &logs {
        let is_label = file.rsplit('/').next().is_some_and(|f| f.contains('@'));
        let behind_new = !settled && records.len() == 1 && records[0]["from"].is_null();
        if is_label && !refs.contains_key(file) && !behind_new {
            c.wrong.push(format!("logs/{file} has no ref"));
        }
    }
    c
}

/// `fsck --json` (or `fsck --repair --json`): exit code and (kind, path, repaired).
fn fsck(env: &TestEnv, repair: bool) -> (i32, Vec<(String, String, bool)>) {
    let args: &[&str] = if repair {
        &["fsck", "--repair", "--json"]
    } else {
        &["fsck", "--json"]
    };
    let mut cmd = env.command(args);
    cmd.env("PROMPTREL_DATE", "2026-01-02T00:00:00Z");
    let out = cmd.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fsck exited {code} without a JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let problems = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["path"].as_str().unwrap().to_string(),
                p["repaired"] == true,
            )
        })
        .collect();
    (code, problems)
}

fn tally(ops: &[(Op, Outcome)]) -> (usize, usize, BTreeMap<String, usize>) {
    let (mut ok, mut wrote) = (0, 0);
    let mut failed = BTreeMap::new();
    for (op, outcome) in ops {
        match outcome {
            Outcome::Ok { stdout, stderr } => {
                ok += 1;
                if wanted(op, stdout, stderr).is_ok_and(|w| !w.is_empty()) {
                    wrote += 1;
                }
            }
            Outcome::Failed { code, reason } => {
                *failed.entry(format!("{reason} (exit {code})")).or_insert(0) += 1;
            }
            Outcome::Killed { signal } => {
                *failed
                    .entry(format!("killed by signal {signal:?}"))
                    .or_insert(0) += 1;
            }
        }
    }
    (ok, wrote, failed)
}

fn show_failures(failed: &BTreeMap<String, usize>) -> String {
    if failed.is_empty() {
        return "none".into();
    }
    failed
        .iter()
        .map(|(r, n)| format!("{r}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ----- many writers at once -------------------------------------------------------

#[test]
fn concurrent_writers_lose_nothing() {
    let procs = env_number("PROMPTREL_STRESS_PROCS", 6) as usize;
    let per_proc = env_number("PROMPTREL_STRESS_OPS", 25) as usize;
    let (mut rng, seed) = Rng::seeded();
    let env = TestEnv::init();
    // Hermetic base commands, made here (TestEnv is not shared between threads).
    let bases: Vec<Vec<Command>> = (0..procs)
        .map(|_| (0..per_proc).map(|_| env.command(&[])).collect())
        .collect();
    let seeds: Vec<u64> = (0..procs).map(|_| rng.next()).collect();
    let start = Barrier::new(procs);
    let began = Instant::now();
    let results: Vec<Vec<(Op, Outcome)>> = std::thread::scope(|scope| {
        let start = &start;
        let handles: Vec<_> = bases
            .into_iter()
            .zip(seeds)
            .enumerate()
            .map(|(p, (bases, seed))| {
                scope.spawn(move || {
                    let mut rng = Rng(seed);
                    let mut seen = Seen::default();
                    let mut done = Vec::new();
                    start.wait();
                    for (k, base) in bases.into_iter().enumerate() {
                        let op = pick_op(&mut rng, &format!("p{p}"), k, &seen, true);
                        let mut cmd = prepare(base, &op, (p * per_proc + k) as u64);
                        let mut child = cmd.spawn().unwrap();
                        feed(&mut child, &op);
                        let result = outcome(&child.wait_with_output().unwrap());
                        seen.observe(&op, &result);
                        done.push((op, result));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = began.elapsed();
    let ops: Vec<(Op, Outcome)> = results.into_iter().flatten().collect();

    let (ok, wrote, failed) = tally(&ops);
    let checked = check_store(&env, &ops, true);
    let (fsck_code, problems) = fsck(&env, false);
    eprintln!(
        "concurrency: {procs} processes x {per_proc} ops (seed {seed}): {} attempted in {:.2} s, \
         {ok} succeeded ({wrote} wrote records, {} unchanged or reads), {} failed: {}; \
         {} records in {} logs and {} refs checked; lost {}; fsck exit {fsck_code}",
        ops.len(),
        wall.as_secs_f64(),
        ok - wrote,
        ops.len() - ok,
        show_failures(&failed),
        checked.records,
        checked.logs,
        checked.refs,
        checked.lost.len(),
    );
    for (op, outcome) in &ops {
        if let Outcome::Failed { code, reason } = outcome {
            assert!(
                allowed_failure(*code, reason),
                "{} {:?}: undocumented failure, exit {code}: {reason}",
                op.msg,
                op.args
            );
        }
        assert!(
            !matches!(outcome, Outcome::Killed { .. }),
            "{} {:?} died: {outcome:?}",
            op.msg,
            op.args
        );
    }
    assert!(checked.lost.is_empty(), "lost: {:#?}", checked.lost);
    assert!(checked.wrong.is_empty(), "{:#?}", checked.wrong);
    assert_eq!(fsck_code, 0, "fsck: {problems:?}");
    assert!(problems.is_empty(), "fsck: {problems:?}");
}

// ----- writers killed at random moments ----------------------------------------------

#[cfg(unix)]
#[test]
fn sigkilled_writers_lose_nothing() {
    let kills_wanted = env_number("PROMPTREL_KILLS", 20) as usize;
    let (mut rng, seed) = Rng::seeded();
    let env = TestEnv::init();
    let mut seen = Seen::default();
    let mut ops: Vec<(Op, Outcome)> = Vec::new();
    // Every prompt starts with a version on staging and canary, so that most
    // killed commands are moves rather than refusals.
    for (i, prompt) in PROMPTS.into_iter().enumerate() {
        let args = |v: &[&str]| v.iter().map(|a| a.to_string()).collect();
        let (m1, m2) = (format!("seed-op{}", 2 * i), format!("seed-op{}", 2 * i + 1));
        let add = Op {
            args: args(&["add", prompt, "-", "-m", &m1, "--label", "staging"]),
            stdin: Some(format!("prompt {m1}\nThe first {prompt}.\n")),
            msg: m1,
            kind: Kind::Add,
            prompt,
            label: "staging",
            expect: None,
        };
        let promote = Op {
            args: args(&["promote", prompt, "staging", "canary", "-m", &m2]),
            msg: m2,
            kind: Kind::Promote,
            prompt,
            label: "canary",
            stdin: None,
            expect: None,
        };
        for op in [add, promote] {
            let mut child = prepare(env.command(&[]), &op, 0).spawn().unwrap();
            feed(&mut child, &op);
            let result = outcome(&child.wait_with_output().unwrap());
            assert!(matches!(result, Outcome::Ok { .. }), "{result:?}");
            seen.observe(&op, &result);
            ops.push((op, result));
        }
    }
    // How long an uninterrupted command takes (moving average): a writer is
    // killed at a moment uniformly within four of those after it starts.
    let mut typical = Duration::from_millis(5);
    let (mut kills, mut mid_write) = (0usize, 0usize);
    let mut leftovers: BTreeMap<String, usize> = BTreeMap::new();
    let mut repaired: BTreeMap<String, usize> = BTreeMap::new();
    let mut settled: BTreeMap<String, usize> = BTreeMap::new();
    // Leftovers still in the store from earlier kills (left to the next writer).
    let mut known: BTreeSet<(String, String)> = BTreeSet::new();
    let began = Instant::now();
    let mut seq = 0;
    while kills < kills_wanted {
        assert!(seq < 100 + kills_wanted * 100, "the kills never land");
        // One writer: commands one after another until a random moment,
        // when the one running (if any) is killed.
        let deadline = Instant::now() + typical.mul_f64(4.0 * rng.unit());
        let mut killed = false;
        while !killed && seq < 100 + kills_wanted * 100 {
            let op = pick_op(&mut rng, "k", seq, &seen, false);
            let mut cmd = prepare(env.command(&[]), &op, seq as u64);
            seq += 1;
            let started = Instant::now();
            let mut child = cmd.spawn().unwrap();
            feed(&mut child, &op);
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_micros(100));
            }
            // SIGKILL; a child that already exited is not affected.
            child.kill().unwrap();
            let result = outcome(&child.wait_with_output().unwrap());
            killed = matches!(result, Outcome::Killed { .. });
            if !killed {
                typical = (typical * 7 + started.elapsed()) / 8;
            }
            seen.observe(&op, &result);
            ops.push((op, result));
        }
        if !killed {
            continue;
        }
        kills += 1;

        let (code, problems) = fsck(&env, false);
        let unexpected: Vec<_> = problems
            .iter()
            .filter(|(kind, _, _)| !CRASH_LEFTOVERS.contains(&kind.as_str()))
            .collect();
        assert!(
            unexpected.is_empty(),
            "kill {kills} (seed {seed}) left more than crash leftovers: {problems:?}"
        );
        assert_eq!(code, i32::from(!problems.is_empty()), "{problems:?}");
        let now: BTreeSet<(String, String)> =
            problems.into_iter().map(|(k, p, _)| (k, p)).collect();
        let new: Vec<_> = now.difference(&known).collect();
        if !new.is_empty() {
            mid_write += 1;
        }
        for (kind, _) in new {
            *leftovers.entry(kind.clone()).or_insert(0) += 1;
        }
        // Leftovers of an earlier kill that a writer has since cleaned up.
        for (kind, _) in known.difference(&now) {
            *settled.entry(kind.clone()).or_insert(0) += 1;
        }
        let checked = check_store(&env, &ops, false);
        assert!(
            checked.lost.is_empty(),
            "seed {seed}: lost {:#?}",
            checked.lost
        );
        assert!(
            checked.wrong.is_empty(),
            "seed {seed}: {:#?}",
            checked.wrong
        );
        // Every other kill, leave the leftovers to the next writer.
        if kills % 2 == 0 || kills == kills_wanted {
            repair(&env, &mut repaired, seed);
            known.clear();
            let checked = check_store(&env, &ops, true);
            assert!(
                checked.lost.is_empty(),
                "seed {seed}: lost {:#?}",
                checked.lost
            );
            assert!(
                checked.wrong.is_empty(),
                "seed {seed}: {:#?}",
                checked.wrong
            );
        } else {
            known = now;
        }
    }
    let acked = ops
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Ok { .. }))
        .count();
    let (_, _, failed) = tally(&ops);
    let checked = check_store(&env, &ops, true);
    eprintln!(
        "killtest: {kills} kills (seed {seed}) in {:.2} s, {mid_write} left crash leftovers \
         (new: {leftovers:?}); repaired by fsck --repair: {repaired:?}; settled by the next \
         writer: {settled:?}; {} commands, {acked} acknowledged, other outcomes: {}; {} records checked; lost {}",
        began.elapsed().as_secs_f64(),
        ops.len(),
        show_failures(&failed),
        checked.records,
        checked.lost.len(),
    );
    for (op, outcome) in &ops {
        if let Outcome::Failed { code, reason } = outcome {
            assert!(
                allowed_failure(*code, reason),
                "{} {:?}: undocumented failure, exit {code}: {reason}",
                op.msg,
                op.args
            );
        }
        if let Outcome::Killed { signal } = outcome {
            assert_eq!(*signal, Some(9), "{} {:?} died on its own", op.msg, op.args);
        }
    }
    assert!(checked.lost.is_empty() && checked.wrong.is_empty());
}

/// `fsck --repair` must fix everything; then `fsck` is clean.
#[cfg(unix)]
fn repair(env: &TestEnv, repaired: &mut BTreeMap<String, usize>, seed: u64) {
    let (code, problems) = fsck(env, true);
    assert_eq!(code, 0, "seed {seed}: fsck --repair left {problems:?}");
    for (kind, _, fixed) in problems {
        assert!(fixed, "seed {seed}: {kind} not repaired");
        *repaired.entry(kind).or_insert(0) += 1;
    }
    let (code, problems) = fsck(env, false);
    assert_eq!((code, problems), (0, Vec::new()), "seed {seed}");
}
