//! Where a log's records live: one file per record ("loose"), or many
//! records in one sorted, immutable pack.
//!
//! All the logs of a prompt share its folder `logs/<name>/`; a file belongs
//! to the log named before its `~`:
//!
//! ```text
//! +versions~000000000007-3b8f0c1d2e4a5f69          loose: seq, hash of the line
//! @prod~000000000012-9f86d081884c7d65
//! @prod~pack-000000000001-000000000011-0c2b4e6f8a1d3c5e   pack: first and last seq, hash of the file
//! ```
//!
//! Every file is created whole (temp file, rename) and never changed, so two
//! git branches that add records to the same log add different files and
//! merge without a conflict.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::record::{Entry, LogLine, Record};

/// Loose records a log may gather before a writer packs them (see
/// [`super::compact`]).
pub const LOOSE_LIMIT: usize = 32;

/// The digits of a `seq` in a file name (zero-padded so that `ls` sorts).
const SEQ_DIGITS: usize = 12;
/// Hex digits of the BLAKE3 hash in a file name.
const HASH_DIGITS: usize = 16;

/// One file of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFile {
    /// One record.
    Loose {
        /// The file.
        path: PathBuf,
        /// The record's `seq`.
        seq: u64,
    },
    /// Records `first..=last` (by `seq`; a merged history may hold several
    /// records with one `seq`), sorted in log order.
    Pack {
        /// The file.
        path: PathBuf,
        /// The smallest `seq` in it.
        first: u64,
        /// The greatest `seq` in it.
        last: u64,
    },
}

impl LogFile {
    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            LogFile::Loose { path, .. } | LogFile::Pack { path, .. } => path,
        }
    }

    /// The greatest `seq` the file holds.
    pub fn max_seq(&self) -> u64 {
        match self {
            LogFile::Loose { seq, .. } => *seq,
            LogFile::Pack { last, .. } => *last,
        }
    }

    /// About how many records it holds (exact unless merged histories gave
    /// several records one `seq`).
    pub fn weight(&self) -> u64 {
        match self {
            LogFile::Loose { .. } => 1,
            LogFile::Pack { first, last, .. } => last - first + 1,
        }
    }

    /// Read and check the whole file: every line a record, in log order,
    /// matching the name (`seq`s, hash). Errors are [`Error::Corrupt`].
    pub fn read_checked<T: LogLine>(&self) -> Result<Vec<Entry<T>>> {
        let path = self.path();
        let bytes = fs::read(path).map_err(Error::io("reading", path))?;
        let entries = parse_lines::<T>(path, &bytes)?;
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let (_, hash) = file_name.rsplit_once('-').unwrap_or(("", ""));
        match self {
            LogFile::Loose { seq, .. } => {
                let [entry] = entries.as_slice() else {
                    return Err(Error::corrupt(
                        path,
                        format!(
                            "a loose record file must hold exactly one record, not {}",
                            entries.len()
                        ),
                    ));
                };
                if entry.record.seq() != *seq || short_hash(&entry.line) != hash {
                    return Err(Error::corrupt(
                        path,
                        format!(
                            "the file name does not match its record (expected {})",
                            loose_name_of(entry.record.seq(), &entry.line, "…")
                        ),
                    ));
                }
            }
            LogFile::Pack { first, last, .. } => {
                if short_hash(&bytes) != hash {
                    return Err(Error::corrupt(
                        path,
                        "the pack's bytes do not match the hash in its name",
                    ));
                }
                if let Some(i) =
                    (1..entries.len()).find(|&i| entries[i - 1].log_order(&entries[i]).is_ge())
                {
                    return Err(Error::corrupt(
                        path,
                        format!("line {}: records out of order", i + 1),
                    ));
                }
                let seqs = entries.first().zip(entries.last());
                if seqs.map(|(a, b)| (a.record.seq(), b.record.seq())) != Some((*first, *last)) {
                    return Err(Error::corrupt(
                        path,
                        "the pack's records do not span the seq range in its name",
                    ));
                }
            }
        }
        Ok(entries)
    }
}

/// Parse a file of records, one per line, each ending in `\n`.
pub(crate) fn parse_lines<T: LogLine>(path: &Path, bytes: &[u8]) -> Result<Vec<Entry<T>>> {
    if !bytes.ends_with(b"\n") {
        return Err(Error::corrupt(
            path,
            "the file does not end with a newline (truncated?)",
        ));
    }
    bytes[..bytes.len() - 1]
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let record = super::record::parse::<T>(line).map_err(|e| {
                Error::corrupt(path, format!("line {}: damaged record: {e}", i + 1))
            })?;
            Ok(Entry {
                record,
                line: line.to_vec(),
            })
        })
        .collect()
}

/// The first [`HASH_DIGITS`] hex digits of the BLAKE3 hash of `bytes`.
pub(crate) fn short_hash(bytes: &[u8]) -> String {
    let mut hex = blake3::hash(bytes).to_hex().to_string();
    hex.truncate(HASH_DIGITS);
    hex
}

fn loose_name_of(seq: u64, line: &[u8], stem: &str) -> String {
    format!(
        "{stem}~{seq:0width$}-{}",
        short_hash(line),
        width = SEQ_DIGITS
    )
}

/// What a file name in `logs/<name>/` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileName<'a> {
    /// A file of the log `stem` (`+versions` or `@<label>`).
    Log {
        /// The log's name: `+versions` or `@<label>`.
        stem: &'a str,
        /// Loose (`Some(seq)`, `None`) or pack (`Some(first)`, `Some(last)`).
        first: u64,
        /// For a pack, its last `seq`.
        last: Option<u64>,
    },
    /// Anything else (the caller decides: a namespace folder, `.keep`, stray).
    Other,
}

/// Parse a file name of `logs/<name>/` (the stem is not validated here).
pub fn parse_file_name(name: &str) -> FileName<'_> {
    let Some((stem, rest)) = name.split_once('~') else {
        return FileName::Other;
    };
    if !(stem.starts_with('+') || stem.starts_with('@')) || stem.len() < 2 {
        return FileName::Other;
    }
    let seq = |s: &str| {
        (s.len() == SEQ_DIGITS && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let hash_ok = |h: &str| h.len() == HASH_DIGITS && crate::id::is_lower_hex(h);
    let parts: Vec<&str> = rest.split('-').collect();
    match parts.as_slice() {
        [s, h] if hash_ok(h) => match seq(s) {
            Some(first) if first > 0 => FileName::Log {
                stem,
                first,
                last: None,
            },
            _ => FileName::Other,
        },
        ["pack", a, b, h] if hash_ok(h) => match (seq(a), seq(b)) {
            (Some(first), Some(last)) if first > 0 && first <= last => FileName::Log {
                stem,
                first,
                last: Some(last),
            },
            _ => FileName::Other,
        },
        _ => FileName::Other,
    }
}

/// The files of every log in one prompt folder, by stem. A missing folder
/// has none. Entries that are not log files are left out (`fsck` looks at
/// them separately).
pub fn scan(dir: &Path) -> Result<BTreeMap<String, Vec<LogFile>>> {
    let mut logs: BTreeMap<String, Vec<LogFile>> = BTreeMap::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(logs),
        Err(e) => return Err(Error::io("listing", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(Error::io("listing", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let FileName::Log { stem, first, last } = parse_file_name(name) {
            let path = entry.path();
            let file = match last {
                None => LogFile::Loose { path, seq: first },
                Some(last) => LogFile::Pack { path, first, last },
            };
            logs.entry(stem.to_string()).or_default().push(file);
        }
    }
    Ok(logs)
}

/// One log: the prompt's versions (`+versions`) or one label's moves
/// (`@<label>`), stored as files in the prompt's folder of `logs/`.
#[derive(Debug, Clone)]
pub struct Log {
    dir: PathBuf,
    stem: String,
}

impl Log {
    /// The log `stem` (`+versions` or `@<label>`) in the prompt folder `dir`.
    pub fn new(dir: PathBuf, stem: String) -> Log {
        Log { dir, stem }
    }

    /// The prompt's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `+versions` or `@<label>`.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The log's files (unordered). A missing log has none.
    pub fn files(&self) -> Result<Vec<LogFile>> {
        Ok(scan(&self.dir)?.remove(&self.stem).unwrap_or_default())
    }

    /// Whether the log has any record.
    pub fn exists(&self) -> Result<bool> {
        Ok(!self.files()?.is_empty())
    }

    /// Its records, newest first, reading only as far as the caller goes.
    pub fn reverse(&self) -> Result<super::Reverse> {
        self.reverse_as()
    }

    /// [`Log::reverse`] of a log whose lines are `T`s.
    pub fn reverse_as<T: LogLine>(&self) -> Result<super::Reverse<T>> {
        super::Reverse::open(self)
    }

    /// The newest record, if any.
    pub fn newest(&self) -> Result<Option<Record>> {
        self.reverse()?.next_record()
    }

    /// What a writer needs to know before adding a record, from one
    /// listing of the folder.
    pub fn head(&self) -> Result<Head> {
        let mut head = self.head_as::<Record>()?;
        // Forked: more than one newest record, with different values.
        if let Some(newest) = &head.newest {
            let mut records = self.reverse()?;
            records.next_record()?;
            while let Some(r) = records.next_record()?
                && r.seq == newest.seq
            {
                head.forked |= r.to != newest.to;
            }
        }
        Ok(head)
    }

    /// [`Log::head`] of a log whose lines are `T`s.
    pub fn head_as<T: LogLine>(&self) -> Result<Head<T>> {
        let files = self.files()?;
        let next_seq = next_seq(&files);
        let loose = files
            .iter()
            .filter(|f| matches!(f, LogFile::Loose { .. }))
            .count();
        let newest = super::Reverse::<T>::of_log_files(self.clone(), files).next_record()?;
        Ok(Head {
            newest,
            next_seq,
            loose,
            forked: false,
        })
    }

    /// Every record, oldest first.
    pub fn read_all(&self) -> Result<Vec<Record>> {
        self.read_all_as()
    }

    /// [`Log::read_all`] of a log whose lines are `T`s.
    pub fn read_all_as<T: LogLine>(&self) -> Result<Vec<T>> {
        let mut all = self.reverse_as::<T>()?.collect::<Result<Vec<_>>>()?;
        all.reverse();
        Ok(all)
    }

    /// The file a record (with its `seq` set) is written to.
    pub fn loose_path<T: LogLine>(&self, record: &T) -> PathBuf {
        let line = super::record::to_line(record);
        self.dir.join(loose_name_of(
            record.seq(),
            &line[..line.len() - 1],
            &self.stem,
        ))
    }

    /// The file a pack of `bytes` holding `first..=last` is written to.
    pub fn pack_path(&self, first: u64, last: u64, bytes: &[u8]) -> PathBuf {
        self.dir.join(format!(
            "{}~pack-{first:0w$}-{last:0w$}-{}",
            self.stem,
            short_hash(bytes),
            w = SEQ_DIGITS
        ))
    }
}

/// The end of a log, as [`Log::head`] finds it.
#[derive(Debug, Clone)]
pub struct Head<T = Record> {
    /// The newest record.
    pub newest: Option<T>,
    /// The `seq` the next record gets.
    pub next_seq: u64,
    /// How many loose records the log has.
    pub loose: usize,
    /// The newest `seq` is held by records with different `to`: in a
    /// label's log, two git branches moved the label differently and no
    /// move since has recorded which one the team kept.
    pub forked: bool,
}

impl<T> Head<T> {
    /// Whether the log should be packed once one more record (`adding`)
    /// is written.
    pub fn needs_packing(&self, adding: bool) -> bool {
        self.loose + usize::from(adding) >= LOOSE_LIMIT
    }
}

/// The `seq` of the next record of a log with these files.
pub fn next_seq(files: &[LogFile]) -> u64 {
    files.iter().map(LogFile::max_seq).max().unwrap_or(0) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("@prod~000000000012-9f86d081884c7d65"),
            FileName::Log {
                stem: "@prod",
                first: 12,
                last: None
            }
        );
        assert_eq!(
            parse_file_name("+versions~pack-000000000001-000000000011-0c2b4e6f8a1d3c5e"),
            FileName::Log {
                stem: "+versions",
                first: 1,
                last: Some(11)
            }
        );
        for other in [
            "+versions",
            "@prod",
            ".keep",
            "namespace",
            "@prod~12-9f86d081884c7d65",
            "@prod~000000000000-9f86d081884c7d65",
            "@prod~000000000012-9F86D081884C7D65",
            "@prod~pack-000000000005-000000000004-0c2b4e6f8a1d3c5e",
            "prod~000000000012-9f86d081884c7d65",
            "~000000000012-9f86d081884c7d65",
        ] {
            assert_eq!(parse_file_name(other), FileName::Other, "{other}");
        }
    }
}
