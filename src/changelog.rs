//! The changelog: append-only JSON Lines files, one record per event.
//!
//! - `logs/<name>/+versions`: one `add` record per new version of the prompt.
//! - `logs/<name>/@<label>`: every move of that label (`label`, `promote`,
//!   `rollback`), like a git reflog.
//!
//! A record is one line ending in `\n`, written with one `write_all`. A last
//! line without its `\n` is a torn write: readers treat it as not written and
//! the next writer cuts it off (under the lock) before appending. Damage
//! anywhere else is an integrity error naming the file and line.
//!
//! Files are read backwards from the end, so "the last N changes" costs the
//! same however long the history is.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::VersionId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new version of a prompt was stored.
    Add,
    /// A label was pointed at a version directly (`label`, `add --label`).
    Label,
    /// A label was pointed at what another label holds.
    Promote,
    /// A label was moved back.
    Rollback,
}

impl Action {
    /// The word used in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Label => "label",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
        }
    }
}

/// One changelog record, as stored (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When, in UTC (RFC 3339).
    pub time: Timestamp,
    /// What happened.
    pub action: Action,
    /// The prompt.
    pub prompt: String,
    /// The label moved; absent for `add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The label's previous version; `null` when it did not exist (and for `add`).
    pub from: Option<VersionId>,
    /// The version the label (or, for `add`, the prompt) now points to.
    pub to: VersionId,
    /// Who did it: `Name <email>` or a login name.
    pub author: String,
    /// Why (may be empty).
    #[serde(default)]
    pub message: String,
    /// `promote`: the revision promoted from (usually a label such as `staging`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `add`: the file the version was read from, relative to the store's parent folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `rollback`: true when it undid the previous change (no `--to`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undo: bool,
}

impl Record {
    /// The record as one line of JSON, with its `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("records always serialize");
        line.push(b'\n');
        line
    }

    /// Parse one line (without its `\n`).
    pub fn parse(line: &[u8]) -> std::result::Result<Record, String> {
        serde_json::from_slice(line).map_err(|e| {
            // A record is one line, so the parser's "line 1" would only be
            // confused with the line number of the file; keep the column.
            let text = e.to_string();
            match text.rsplit_once(" at line ") {
                Some((what, _)) => format!("{what} at column {}", e.column()),
                None => text,
            }
        })
    }
}

/// Append `record` to the log at `path`, first cutting off a torn last
/// record if a crashed writer left one. Call only while holding the lock.
pub fn append(path: &Path, record: &Record) -> Result<()> {
    if let Some(len) = torn_tail(path)? {
        fsutil::truncate_durable(path, len)?;
    }
    fsutil::append_durable(path, &record.to_line())
}

/// If the file ends in a torn record, the length to cut it back to.
pub fn torn_tail(path: &Path) -> Result<Option<u64>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("opening", path)(e)),
    };
    let len = file.metadata().map_err(Error::io("reading", path))?.len();
    let complete = complete_len(&mut file, len).map_err(Error::io("reading", path))?;
    Ok((complete != len).then_some(complete))
}

/// Length of the file up to and including its last `\n`.
fn complete_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut chunk = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Reads a log's complete records from the newest to the oldest.
///
/// No file stays open between reads: `log` merges every log file of the
/// store at once, and a store of 10 000 prompts has 30 000 of them, far more
/// than a process may hold open. The newest chunk is read on `open`; older
/// chunks reopen the file (logs are append-only, so the bytes before `pos`
/// never change).
pub struct Reverse {
    path: PathBuf,
    /// The file existed when opened.
    exists: bool,
    /// File offset where `buf` starts; everything before it is unread.
    pos: u64,
    /// Unreturned complete lines, each with its `\n`.
    buf: Vec<u8>,
}

const CHUNK: u64 = 16 * 1024;

impl Reverse {
    /// Open the log at `path`; a missing file reads as empty.
    pub fn open(path: &Path) -> Result<Reverse> {
        let mut reverse = Reverse {
            path: path.to_path_buf(),
            exists: false,
            pos: 0,
            buf: Vec::new(),
        };
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(reverse),
            Err(e) => return Err(Error::io("opening", path)(e)),
        };
        let len = file.metadata().map_err(Error::io("reading", path))?.len();
        reverse.pos = complete_len(&mut file, len).map_err(Error::io("reading", path))?;
        reverse.exists = true;
        reverse.fill_from(&mut file)?;
        Ok(reverse)
    }

    /// Read the chunk before `pos` into the front of `buf`.
    fn fill(&mut self) -> Result<bool> {
        if !self.exists || self.pos == 0 {
            return Ok(false);
        }
        let mut file = File::open(&self.path).map_err(Error::io("opening", &self.path))?;
        self.fill_from(&mut file)
    }

    fn fill_from(&mut self, file: &mut File) -> Result<bool> {
        if self.pos == 0 {
            return Ok(false);
        }
        let start = self.pos.saturating_sub(CHUNK.max(self.buf.len() as u64));
        let mut chunk = vec![0u8; (self.pos - start) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut chunk))
            .map_err(Error::io("reading", &self.path))?;
        chunk.extend_from_slice(&self.buf);
        self.buf = chunk;
        self.pos = start;
        Ok(true)
    }

    /// The line number (1-based) of the line starting at byte `offset`,
    /// computed only when an error needs it.
    fn line_number(&self, offset: u64) -> usize {
        let mut count = 1;
        if let Ok(mut file) = File::open(&self.path) {
            let mut bytes = vec![0u8; offset as usize];
            if file.read_exact(&mut bytes).is_ok() {
                count += bytes.iter().filter(|&&b| b == b'\n').count();
            }
        }
        count
    }

    /// The next older record.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            if self.buf.is_empty() && !self.fill()? {
                return Ok(None);
            }
            let body_end = self.buf.len() - 1; // the last line's `\n`
            // memrchr: a full log scans every byte of every record here.
            match memchr::memrchr(b'\n', &self.buf[..body_end]) {
                Some(i) => return self.take(i + 1, body_end).map(Some),
                None if self.pos == 0 || !self.fill()? => return self.take(0, body_end).map(Some),
                None => continue,
            }
        }
    }

    fn take(&mut self, start: usize, end: usize) -> Result<Record> {
        let parsed = Record::parse(&self.buf[start..end]);
        let offset = self.pos + start as u64;
        self.buf.truncate(start);
        parsed.map_err(|e| {
            Error::corrupt(
                &self.path,
                format!("line {}: damaged record: {e}", self.line_number(offset)),
            )
        })
    }
}

impl Iterator for Reverse {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        self.next_record().transpose()
    }
}

/// Read every complete record of a log, oldest first (a torn tail is skipped).
pub fn read_all(path: &Path) -> Result<Vec<Record>> {
    let bytes = match fsutil::read_optional(path)? {
        Some(b) => b,
        None => return Ok(Vec::new()),
    };
    // Everything after the last `\n` is a torn record: not written.
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes[..complete]
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            Record::parse(&line[..line.len() - 1])
                .map_err(|e| Error::corrupt(path, format!("line {}: damaged record: {e}", i + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: usize) -> Record {
        Record {
            time: Timestamp::from_second(1_700_000_000 + n as i64).unwrap(),
            action: Action::Label,
            prompt: "p".into(),
            label: Some("prod".into()),
            from: None,
            to: VersionId::of(n.to_string().as_bytes()),
            author: "a".into(),
            message: format!("message {n} {}", "x".repeat(n % 97)),
            source: None,
            file: None,
            undo: false,
        }
    }

    #[test]
    fn reverse_reads_newest_first_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let records: Vec<Record> = (0..2000).map(record).collect();
        for r in &records {
            append(&path, r).unwrap();
        }
        let back: Vec<Record> = Reverse::open(&path).unwrap().map(|r| r.unwrap()).collect();
        let mut expected = records.clone();
        expected.reverse();
        assert_eq!(back, expected);
        assert_eq!(read_all(&path).unwrap(), records);
    }

    #[test]
    fn torn_tail_is_not_a_record_and_is_cut_by_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        append(&path, &record(1)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let good_len = bytes.len() as u64;
        bytes.extend_from_slice(br#"{"time":"2026-"#);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(torn_tail(&path).unwrap(), Some(good_len));
        assert_eq!(Reverse::open(&path).unwrap().count(), 1);
        assert_eq!(read_all(&path).unwrap().len(), 1);
        append(&path, &record(2)).unwrap();
        assert_eq!(read_all(&path).unwrap(), vec![record(1), record(2)]);
    }

    #[test]
    fn damage_in_the_middle_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        for n in 0..3 {
            append(&path, &record(n)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[1] = "garbage";
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let err = Reverse::open(&path)
            .unwrap()
            .find_map(|r| r.err())
            .unwrap()
            .to_string();
        assert!(err.contains("line 2: damaged record"), "{err}");
        let err = read_all(&path).unwrap_err().to_string();
        assert!(err.contains("line 2: damaged record"), "{err}");
    }

    #[test]
    fn missing_log_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Reverse::open(&dir.path().join("nope")).unwrap().count(), 0);
        assert!(read_all(&dir.path().join("nope")).unwrap().is_empty());
    }
}
