//! Data generator for `bench/run.sh`: not a benchmark (it times nothing).
//!
//! Building a store of 100 000 events through the CLI would take minutes,
//! almost all of it in `fsync`: every command makes its writes durable. This
//! program writes the same files directly, without syncing, using the
//! library's own types and paths (`Store::init`, `VersionId::of`,
//! `Record::to_line`, `Log::record_path`, `changelog::pack`…), so the result is byte-for-byte
//! what promptrel would have written. `bench/run.sh` checks every generated
//! store with `promptrel fsck` before timing anything.
//!
//! ```text
//! cargo bench --bench gen -- history N OUT   N versions of one prompt, each added
//!                                            with --label staging and promoted to prod
//! cargo bench --bench gen -- prompts N OUT   N distinct prompts (staging and prod each)
//! cargo bench --bench gen -- reflog MARKS GITDIR N
//!                                            reflogs for the git twin of a history store
//! cargo bench --bench gen -- diff OUT        two 100 KB prompts, about 5 % of lines changed
//! ```
//!
//! Each store command also writes OUT/git.fi, a `git fast-import` stream of
//! the same data (one commit per version on `main`; branches `staging` and
//! `prod`), and OUT/prod-object, the path of the object `NAME@prod` holds.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use promptrel::changelog::{self, Log};
use promptrel::{Action, Label, PromptName, Record, Store, VersionId};

const AUTHOR: &str = "Bench <bench@example.com>";
/// 2026-01-01T00:00:00Z.
const EPOCH: i64 = 1_767_225_600;
/// The prompt of a history store.
const HISTORY_NAME: &str = "support/refund-bot";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    // `cargo bench` runs every bench target with `--bench`: nothing to do.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["history", n, out] => history(n.parse()?, Path::new(out)),
        ["prompts", n, out] => prompts(n.parse()?, Path::new(out)),
        ["reflog", marks, git_dir, n] => reflog(Path::new(marks), Path::new(git_dir), n.parse()?),
        ["diff", out] => diff(Path::new(out)),
        [] => {
            eprintln!("gen: a data generator for bench/run.sh; see benches/gen.rs");
            Ok(())
        }
        _ => Err(format!("usage: see benches/gen.rs (got {args:?})").into()),
    }
}

/// Deterministic words (xorshift), so every run builds the same bytes.
struct Words(u64);

impl Words {
    const VOCAB: &'static [&'static str] = &[
        "the", "customer", "refund", "order", "answer", "politely", "never", "promise", "a",
        "date", "always", "check", "policy", "before", "replying", "escalate", "to", "human",
        "agent", "when", "unsure", "keep", "answers", "short", "cite", "the", "help", "centre",
        "article", "and", "ask", "for", "order", "number", "if", "missing", "tone", "friendly",
    ];

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// One line of 6 to 14 words.
    fn line(&mut self) -> String {
        let n = 6 + (self.next() % 9) as usize;
        let words: Vec<&str> = (0..n)
            .map(|_| Self::VOCAB[(self.next() % Self::VOCAB.len() as u64) as usize])
            .collect();
        let mut line = words.join(" ");
        line.push_str(".\n");
        line
    }
}

/// A prompt of about `size` bytes: `seed` picks the text, `version` makes
/// one line (and the header) unique, as an edit would.
fn prompt(seed: u64, version: usize, size: usize) -> Vec<u8> {
    let mut words = Words(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut lines = vec![format!("# Prompt {seed}, version {version}\n")];
    let mut len = lines[0].len();
    while len < size {
        let line = words.line();
        len += line.len();
        lines.push(line);
    }
    let edited = 1 + version % (lines.len() - 1);
    lines[edited] = format!("Edit {version}: {}", words.line());
    lines.concat().into_bytes()
}

fn time(seconds: i64) -> Timestamp {
    Timestamp::from_second(EPOCH + seconds).expect("in range")
}

#[allow(clippy::too_many_arguments)]
fn record(
    seq: u64,
    t: Timestamp,
    action: Action,
    name: &PromptName,
    label: Option<&str>,
    from: Option<&VersionId>,
    to: &VersionId,
    message: String,
    source: Option<&str>,
    file: Option<String>,
) -> Record {
    Record {
        time: t,
        action,
        prompt: name.to_string(),
        label: label.map(str::to_string),
        seq,
        from: from.cloned(),
        from_split: None,
        to: to.clone(),
        split: None,
        author: AUTHOR.to_string(),
        message,
        source: source.map(str::to_string),
        file,
        undo: false,
        release: None,
    }
}

/// A fresh store at `out/promptrel/.promptrel`.
fn fresh_store(out: &Path) -> Result<Store> {
    if out.exists() {
        fs::remove_dir_all(out)?;
    }
    let work = out.join("promptrel");
    fs::create_dir_all(&work)?;
    Ok(Store::init(&work)?.0)
}

fn write_object(store: &Store, bytes: &[u8]) -> Result<VersionId> {
    let id = VersionId::of(bytes);
    let path = store.objects().path(&id);
    if !path.exists() {
        fs::create_dir_all(path.parent().expect("objects/xx"))?;
        fs::write(&path, bytes)?;
    }
    Ok(id)
}

/// A log's records, written at the end as promptrel leaves them after one
/// command per record: every record its own file in its shard folder, and
/// a pack of every full shard (the library's own `changelog::pack`).
struct LogBuf {
    log: Log,
    records: Vec<Record>,
}

impl LogBuf {
    fn new(log: Log) -> LogBuf {
        LogBuf {
            log,
            records: Vec::new(),
        }
    }

    fn finish(self) -> Result<()> {
        let mut made = std::collections::HashSet::new();
        for r in &self.records {
            let path = self.log.record_path(r);
            let dir = path.parent().expect("a shard folder");
            if made.insert(dir.to_path_buf()) {
                fs::create_dir_all(dir)?;
            }
            fs::write(path, r.to_line())?;
        }
        if let Some(last) = self.records.last() {
            for shard in 0..changelog::shard_of(last.seq) {
                changelog::pack(&self.log.shard(shard))?;
            }
        }
        Ok(())
    }
}

fn write_ref(path: &Path, id: &VersionId) -> Result<()> {
    fs::create_dir_all(path.parent().expect("refs/<name>"))?;
    fs::write(path, format!("{id}\n"))?;
    Ok(())
}

/// `git fast-import` commands for one commit.
fn commit(
    fi: &mut impl Write,
    mark: usize,
    parent: Option<usize>,
    t: i64,
    msg: &str,
    files: &[(String, &[u8])],
) -> Result<()> {
    let when = EPOCH + t;
    write!(
        fi,
        "commit refs/heads/main\nmark :{mark}\nauthor {AUTHOR} {when} +0000\ncommitter {AUTHOR} {when} +0000\ndata {}\n{msg}\n",
        msg.len()
    )?;
    if let Some(p) = parent {
        writeln!(fi, "from :{p}")?;
    }
    for (path, bytes) in files {
        write!(fi, "M 100644 inline {path}\ndata {}\n", bytes.len())?;
        fi.write_all(bytes)?;
        fi.write_all(b"\n")?;
    }
    fi.write_all(b"\n")?;
    Ok(())
}

/// N versions of one prompt. Version i is added with `--label staging` and
/// promoted to prod, so the store holds 3N records (N in each of
/// `+versions`, `@staging`, `@prod`) and N objects.
fn history(n: usize, out: &Path) -> Result<()> {
    let store = fresh_store(out)?;
    let name = PromptName::new(HISTORY_NAME)?;
    let (staging, prod) = (Label::new("staging")?, Label::new("prod")?);
    let file = format!("prompts/{HISTORY_NAME}.md");
    let mut versions = LogBuf::new(store.versions_log(&name));
    let mut staging_log = LogBuf::new(store.label_log(&name, &staging));
    let mut prod_log = LogBuf::new(store.label_log(&name, &prod));
    let mut fi = BufWriter::with_capacity(1 << 20, fs::File::create(out.join("git.fi"))?);
    let mut previous: Option<VersionId> = None;
    for i in 1..=n {
        let bytes = prompt(1, i, 3500);
        let id = write_object(&store, &bytes)?;
        let t = 60 * i as i64;
        let msg = format!("version {i}");
        let seq = i as u64;
        versions.records.push(record(
            seq,
            time(t),
            Action::Add,
            &name,
            None,
            previous.as_ref(),
            &id,
            msg.clone(),
            None,
            Some(file.clone()),
        ));
        staging_log.records.push(record(
            seq,
            time(t),
            Action::Label,
            &name,
            Some("staging"),
            previous.as_ref(),
            &id,
            msg.clone(),
            None,
            None,
        ));
        prod_log.records.push(record(
            seq,
            time(t + 30),
            Action::Promote,
            &name,
            Some("prod"),
            previous.as_ref(),
            &id,
            format!("release {i}"),
            Some("staging"),
            None,
        ));
        commit(
            &mut fi,
            i,
            (i > 1).then(|| i - 1),
            t,
            &msg,
            &[(file.clone(), &bytes)],
        )?;
        previous = Some(id);
    }
    let last = previous.ok_or("N must be at least 1")?;
    for log in [versions, staging_log, prod_log] {
        log.finish()?;
    }
    write_ref(&store.ref_path(&name, &staging), &last)?;
    write_ref(&store.ref_path(&name, &prod), &last)?;
    write!(
        fi,
        "reset refs/heads/staging\nfrom :{n}\n\nreset refs/heads/prod\nfrom :{n}\n\n"
    )?;
    fi.flush()?;
    fs::write(
        out.join("prod-object"),
        store.objects().path(&last).to_string_lossy().as_bytes(),
    )?;
    Ok(())
}

/// N distinct prompts `team-XX/prompt-NNNNN`, one version each, on staging
/// and prod. Also OUT/files/: the same prompts as `.md` files, the input of
/// the bulk-import benchmark.
fn prompts(n: usize, out: &Path) -> Result<()> {
    let store = fresh_store(out)?;
    let files_dir = out.join("files");
    let mut fi = BufWriter::with_capacity(1 << 20, fs::File::create(out.join("git.fi"))?);
    let mut tree: Vec<(String, Vec<u8>)> = Vec::with_capacity(n);
    let mut first = None;
    for i in 0..n {
        let rel = format!("team-{:02}/prompt-{i:05}", i % 100);
        let name = PromptName::new(&rel)?;
        let bytes = prompt(1000 + i as u64, 0, 1500);
        let id = write_object(&store, &bytes)?;
        let t = i as i64;
        let file = format!("{rel}.md");
        let lines = [
            (
                store.versions_log(&name),
                record(
                    1,
                    time(t),
                    Action::Add,
                    &name,
                    None,
                    None,
                    &id,
                    "import".into(),
                    None,
                    Some(file.clone()),
                ),
            ),
            (
                store.label_log(&name, &Label::new("staging")?),
                record(
                    1,
                    time(t),
                    Action::Label,
                    &name,
                    Some("staging"),
                    None,
                    &id,
                    "import".into(),
                    None,
                    None,
                ),
            ),
            (
                store.label_log(&name, &Label::new("prod")?),
                record(
                    1,
                    time(t + 1),
                    Action::Promote,
                    &name,
                    Some("prod"),
                    None,
                    &id,
                    "first release".into(),
                    Some("staging"),
                    None,
                ),
            ),
        ];
        for (log, record) in lines {
            let path = log.record_path(&record);
            fs::create_dir_all(path.parent().expect("a shard folder"))?;
            fs::write(path, record.to_line())?;
        }
        for label in ["staging", "prod"] {
            write_ref(&store.ref_path(&name, &Label::new(label)?), &id)?;
        }
        let path = files_dir.join(&file);
        fs::create_dir_all(path.parent().expect("files/team-XX"))?;
        fs::write(&path, &bytes)?;
        first.get_or_insert_with(|| store.objects().path(&id));
        tree.push((format!("prompts/{file}"), bytes));
    }
    let files: Vec<(String, &[u8])> = tree
        .iter()
        .map(|(p, b)| (p.clone(), b.as_slice()))
        .collect();
    commit(&mut fi, 1, None, 0, "import", &files)?;
    write!(
        fi,
        "reset refs/heads/staging\nfrom :1\n\nreset refs/heads/prod\nfrom :1\n\n"
    )?;
    fi.flush()?;
    let first = first.ok_or("N must be at least 1")?;
    fs::write(out.join("prod-object"), first.to_string_lossy().as_bytes())?;
    Ok(())
}

/// Reflogs for the git twin of a history store, from `git fast-import
/// --export-marks` (`:MARK SHA` lines): `main`, `staging` and `prod` each
/// moved once per version, as the promptrel store's logs record.
fn reflog(marks: &Path, git_dir: &Path, n: usize) -> Result<()> {
    let mut shas = vec![String::new(); n + 1];
    for line in fs::read_to_string(marks)?.lines() {
        let (mark, sha) = line.split_once(' ').ok_or("bad marks line")?;
        let mark: usize = mark.trim_start_matches(':').parse()?;
        if mark <= n {
            shas[mark] = sha.to_string();
        }
    }
    let zero = "0".repeat(40);
    for (branch, offset, verb) in [
        ("main", 0, "commit"),
        ("staging", 0, "label"),
        ("prod", 30, "promote"),
    ] {
        let mut text = String::with_capacity(n * 160);
        for i in 1..=n {
            let old = if i == 1 { &zero } else { &shas[i - 1] };
            let when = EPOCH + 60 * i as i64 + offset;
            writeln!(
                text,
                "{old} {} {AUTHOR} {when} +0000\t{verb}: version {i}",
                shas[i]
            )?;
        }
        let path: PathBuf = git_dir.join("logs/refs/heads").join(branch);
        fs::create_dir_all(path.parent().expect("logs/refs/heads"))?;
        fs::write(path, text)?;
    }
    Ok(())
}

/// Two prompts of about 100 KB; b changes about 5 % of a's lines.
fn diff(out: &Path) -> Result<()> {
    fs::create_dir_all(out)?;
    let a = prompt(7, 0, 100_000);
    let mut words = Words(99);
    let mut b = String::new();
    for line in String::from_utf8(a.clone())?.split_inclusive('\n') {
        match words.next() % 40 {
            0 => b.push_str(&words.line()),
            1 => {}
            2 => {
                b.push_str(line);
                b.push_str(&words.line());
            }
            _ => b.push_str(line),
        }
    }
    fs::write(out.join("a.md"), a)?;
    fs::write(out.join("b.md"), b)?;
    Ok(())
}
