//! Where a log's records live: one file per record, in shard folders of
//! [`SHARD_SIZE`] consecutive `seq`s, and, for a full shard, a pack of all
//! of its records that readers use instead of the record files.
//!
//! Each log has a folder of its own, named after the prompt's last name
//! part and the log (`logs/support/refund-bot@prod/`, read like the
//! revision `support/refund-bot@prod`). The folder is the log's first
//! shard; each later shard is a folder inside it:
//!
//! ```text
//! checkout-bot@prod/                             seq 1 to 256 of prod's log
//!     000000000001-9f86d081884c7d65              one record: its seq, hash of its line
//!     …
//!     000000000256-0c2b4e6f8a1d3c5e
//!     pack-7d3e0b1f9a2c4e68                      all of the above, in log order
//!     ~000001/                                   seq 257 to 512
//!         000000000257-5e2b7a0c14d9f386
//! ```
//!
//! So a new prompt costs one new folder, and a listing of a namespace
//! folder holds one entry per log, however long the logs are.
//!
//! Nothing here is ever changed or removed once written: two git branches
//! that add records to the same log add different files, and git never
//! sees a file deleted (whose rename detection could pair it with another
//! branch's new record).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::record::{Entry, LogLine, Record};

/// Records per shard folder: record `seq` is in shard `(seq - 1) / 256`.
pub const SHARD_SIZE: u64 = 256;

/// The digits of a `seq` in a file name (zero-padded so that `ls` sorts).
const SEQ_DIGITS: usize = 12;
/// The digits of a shard number in a folder name.
const SHARD_DIGITS: usize = 6;
/// Hex digits of the BLAKE3 hash in a file name.
const HASH_DIGITS: usize = 16;

/// The shard of record `seq`.
pub fn shard_of(seq: u64) -> u64 {
    (seq.max(1) - 1) / SHARD_SIZE
}

/// One shard folder of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Its number: it holds `seq` `number * 256 + 1 ..= (number + 1) * 256`.
    pub number: u64,
    /// The folder.
    pub dir: PathBuf,
}

/// What a shard folder holds.
#[derive(Debug, Clone, Default)]
pub struct ShardFiles {
    /// Record files: (seq, path), sorted by file name.
    pub records: Vec<(u64, PathBuf)>,
    /// Packs: (the digest in the name, path).
    pub packs: Vec<(String, PathBuf)>,
    /// Anything else (not temp files or hidden files).
    pub other: Vec<PathBuf>,
}

impl ShardFiles {
    /// The digest a pack of exactly these record files is named by: the
    /// first 16 hex digits of the BLAKE3 hash of their file names, sorted,
    /// each followed by `\n`.
    pub fn digest(&self) -> String {
        // Record names are ASCII, of one length: hashed in one call.
        let mut names = Vec::with_capacity(self.records.len() * (SEQ_DIGITS + HASH_DIGITS + 2));
        for (_, path) in &self.records {
            if let Some(name) = path.file_name() {
                names.extend_from_slice(name.to_string_lossy().as_bytes());
                names.push(b'\n');
            }
        }
        let mut hex = blake3::hash(&names).to_hex().to_string();
        hex.truncate(HASH_DIGITS);
        hex
    }

    /// The pack that holds exactly these records, if one was written.
    pub fn valid_pack(&self) -> Option<&Path> {
        if self.packs.is_empty() {
            return None;
        }
        let digest = self.digest();
        self.packs
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, p)| p.as_path())
    }

    /// The greatest `seq` of its records.
    pub fn max_seq(&self) -> Option<u64> {
        self.records.iter().map(|(seq, _)| *seq).max()
    }
}

impl Shard {
    /// List the folder (a missing folder holds nothing).
    pub fn list(&self) -> Result<ShardFiles> {
        let mut files = ShardFiles::default();
        let dir_len = self.dir.as_os_str().len();
        crate::fsutil::each_name(&self.dir, |name| {
            // Not UTF-8: no record or pack name, so "anything else".
            let name = std::str::from_utf8(name).unwrap_or_default();
            // Hidden and temp files; in the log's folder (shard 0), the
            // other shards' folders.
            if name.starts_with('.') || self.number == 0 && parse_shard_name(name).is_some() {
                return;
            }
            // `Path::join` would copy the folder's path and then grow it.
            let mut path = PathBuf::with_capacity(dir_len + 1 + name.len());
            path.push(&self.dir);
            path.push(name);
            match parse_record_name(name) {
                Some(RecordName::Record(seq)) => files.records.push((seq, path)),
                Some(RecordName::Pack(digest)) => files.packs.push((digest.to_string(), path)),
                None => files.other.push(path),
            }
        })
        .map_err(Error::io("listing", &self.dir))?;
        files.records.sort_unstable();
        Ok(files)
    }
}

/// A file name inside a shard folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordName<'a> {
    /// `<seq>-<hash>`: one record.
    Record(u64),
    /// `pack-<digest>`: the records of the shard.
    Pack(&'a str),
}

/// Parse a file name inside a shard folder.
pub fn parse_record_name(name: &str) -> Option<RecordName<'_>> {
    let hash_ok = |h: &str| h.len() == HASH_DIGITS && crate::id::is_lower_hex(h);
    if let Some(digest) = name.strip_prefix("pack-") {
        return hash_ok(digest).then_some(RecordName::Pack(digest));
    }
    // `<12 digits>-<16 hex>`: checked by position (an ASCII `-` at byte
    // 12 makes both slices char boundaries).
    if name.len() != SEQ_DIGITS + 1 + HASH_DIGITS || name.as_bytes()[SEQ_DIGITS] != b'-' {
        return None;
    }
    let (seq, hash) = (&name[..SEQ_DIGITS], &name[SEQ_DIGITS + 1..]);
    let digits_ok = seq.bytes().all(|b| b.is_ascii_digit());
    let seq: u64 = seq.parse().ok().filter(|&s| digits_ok && s > 0)?;
    hash_ok(hash).then_some(RecordName::Record(seq))
}

/// Parse the name of a shard folder inside a log's folder: `~NNNNNN`
/// (6 digits), shard NNNNNN (at least 1: shard 0 is the log's folder).
pub fn parse_shard_name(name: &str) -> Option<u64> {
    let number = name.strip_prefix('~')?;
    let ok = number.len() == SHARD_DIGITS && number.bytes().all(|b| b.is_ascii_digit());
    number.parse().ok().filter(|&n| ok && n > 0)
}

/// Parse an entry name of a folder of `logs/`: `PART+versions` or
/// `PART@LABEL`, the folder of that log of the prompt whose last name part
/// is PART: `(PART, STEM)`. Neither part is validated here beyond its
/// characters: a name part or label never holds `+`, `@` or `~`.
pub fn parse_log_name(name: &str) -> Option<(&str, &str)> {
    let at = name.find(['+', '@'])?;
    let (part, stem) = name.split_at(at);
    let ok = !part.is_empty() && stem.len() >= 2 && !stem[1..].contains(['+', '@', '~']);
    ok.then_some((part, stem))
}

/// Read and check a record file: one record, named after its `seq` and
/// the hash of its line, in the right shard.
pub fn read_record<T: LogLine>(path: &Path, shard: u64) -> Result<Entry<T>> {
    let bytes = crate::fsutil::read_small(path).map_err(Error::io("reading", path))?;
    parse_record(path, &bytes, shard)
}

/// [`read_record`] of the bytes read from `path`.
pub(crate) fn parse_record<T: LogLine>(path: &Path, bytes: &[u8], shard: u64) -> Result<Entry<T>> {
    let mut entries = parse_lines::<T>(path, bytes)?;
    if entries.len() != 1 {
        return Err(Error::corrupt(
            path,
            format!(
                "a record file must hold exactly one record, not {}",
                entries.len()
            ),
        ));
    }
    let entry = entries.remove(0);
    let expected = record_file_name(entry.record.seq(), &entry.line);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if name.as_deref() != Some(expected.as_str()) || shard_of(entry.record.seq()) != shard {
        return Err(Error::corrupt(
            path,
            format!(
                "the file name does not match its record (expected {expected} in shard {})",
                shard_of(entry.record.seq())
            ),
        ));
    }
    Ok(entry)
}

/// Read a pack: its records, in log order.
pub fn read_pack<T: LogLine>(path: &Path) -> Result<Vec<Entry<T>>> {
    let bytes = fs::read(path).map_err(Error::io("reading", path))?;
    let entries = parse_lines::<T>(path, &bytes)?;
    if let Some(i) = (1..entries.len()).find(|&i| entries[i - 1].log_order(&entries[i]).is_ge()) {
        return Err(Error::corrupt(
            path,
            format!("line {}: records out of order", i + 1),
        ));
    }
    Ok(entries)
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

/// `<seq>-<hash of the line>`.
fn record_file_name(seq: u64, line: &[u8]) -> String {
    format!("{seq:0SEQ_DIGITS$}-{}", short_hash(line))
}

/// One log: a prompt's versions (`+versions`), one label's moves
/// (`@<label>`), or the store's releases (`+releases`), in its folder.
#[derive(Debug, Clone)]
pub struct Log {
    dir: PathBuf,
    stem: String,
}

impl Log {
    /// The log `stem` (`+versions`, `@<label>`, `+releases`) whose folder
    /// is `dir`.
    pub fn new(dir: PathBuf, stem: String) -> Log {
        Log { dir, stem }
    }

    /// The log's folder (its first shard).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `+versions` or `@<label>`.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Its shard folders, by number (a missing log has none).
    ///
    /// Shard folders are numbered from 0 with no gap (`seq` has none), so
    /// the last one is found by probing (about 2 log2(shards) `stat`s)
    /// rather than by listing the log's folder, which holds the records of
    /// its first shard besides the other shards (400 and more for long
    /// histories). A folder missing in the middle reads as empty; `fsck`
    /// reports the records missing.
    pub fn shards(&self) -> Result<Vec<Shard>> {
        Ok((0..self.shard_count()?).map(|n| self.shard(n)).collect())
    }

    /// The shard folders there are, found by listing the log's folder (a
    /// missing log has none), by number; for `fsck`, which also wants to
    /// know of a shard after a missing one.
    pub fn scan(&self) -> Result<Vec<Shard>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("listing", &self.dir)(e)),
        };
        let mut shards = vec![self.shard(0)];
        for entry in entries {
            let entry = entry.map_err(Error::io("listing", &self.dir))?;
            let name = entry.file_name();
            if let Some(number) = name.to_str().and_then(parse_shard_name) {
                shards.push(Shard {
                    number,
                    dir: entry.path(),
                });
            }
        }
        shards.sort_by_key(|s| s.number);
        Ok(shards)
    }

    /// How many shard folders the log has (see [`Log::shards`]): about
    /// 2 log2(shards) probes.
    pub fn shard_count(&self) -> Result<u64> {
        self.shard_count_near(1)
    }

    /// [`Log::shard_count`], searching outwards from `hint`: two probes
    /// when the log has exactly `hint` shards, about 2 log2(distance) when
    /// it is off, instead of about 2 log2(shards).
    pub fn shard_count_near(&self, hint: u64) -> Result<u64> {
        let exists = |n: u64| self.shard(n).dir.is_dir();
        let hint = hint.max(1);
        // Shard `found` exists and shard `missing` does not: the count is
        // between them. Gallop away from the hint until both are known.
        let (mut found, mut missing);
        let mut step = 1u64;
        if exists(hint - 1) {
            (found, missing) = (hint - 1, hint);
            while exists(missing) {
                found = missing;
                missing = missing.saturating_add(step);
                step = step.saturating_mul(2);
            }
        } else {
            missing = hint - 1;
            loop {
                if missing == 0 {
                    return Ok(0);
                }
                let probe = missing.saturating_sub(step);
                if exists(probe) {
                    found = probe;
                    break;
                }
                missing = probe;
                step = step.saturating_mul(2);
            }
        }
        while missing - found > 1 {
            let mid = found + (missing - found) / 2;
            if exists(mid) {
                found = mid;
            } else {
                missing = mid;
            }
        }
        Ok(found + 1)
    }

    /// Shard `number` of this log (whether or not it exists).
    pub fn shard(&self, number: u64) -> Shard {
        Shard {
            number,
            dir: match number {
                0 => self.dir.clone(),
                _ => self.dir.join(format!("~{number:0SHARD_DIGITS$}")),
            },
        }
    }

    /// Whether the log has any record.
    pub fn exists(&self) -> Result<bool> {
        for number in (0..self.shard_count()?).rev() {
            if !self.shard(number).list()?.records.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Its records, newest first, reading only as far as the caller goes.
    pub fn reverse(&self) -> Result<super::Reverse> {
        self.reverse_as()
    }

    /// [`Log::reverse`] of a log whose lines are `T`s.
    pub fn reverse_as<T: LogLine>(&self) -> Result<super::Reverse<T>> {
        Ok(super::Reverse::of_log(self.clone(), self.shard_count()?))
    }

    /// The newest record, if any.
    pub fn newest(&self) -> Result<Option<Record>> {
        self.reverse()?.next_record()
    }

    /// What a writer needs to know before adding a record: the newest
    /// record (one probe for the newest shard, one listing of it).
    pub fn head(&self) -> Result<Head> {
        let mut records = self.reverse()?;
        let mut head = Head::of(records.next_record()?);
        // Forked: more than one newest record, with different values.
        if let Some(newest) = &head.newest {
            while let Some(r) = records.next_record()?
                && r.seq == newest.seq
            {
                head.forked |= r.to != newest.to;
            }
        }
        Ok(head)
    }

    /// [`Log::head`] of a log whose lines are `T`s (without the fork check).
    pub fn head_as<T: LogLine>(&self) -> Result<Head<T>> {
        Ok(Head::of(self.reverse_as::<T>()?.next_record()?))
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
    pub fn record_path<T: LogLine>(&self, record: &T) -> PathBuf {
        let line = super::record::to_line(record);
        self.shard(shard_of(record.seq()))
            .dir
            .join(record_file_name(record.seq(), &line[..line.len() - 1]))
    }
}

/// The end of a log, as [`Log::head`] finds it.
#[derive(Debug, Clone)]
pub struct Head<T = Record> {
    /// The newest record.
    pub newest: Option<T>,
    /// The `seq` the next record gets.
    pub next_seq: u64,
    /// The newest `seq` is held by records with different `to`: in a
    /// label's log, two git branches moved the label differently and no
    /// move since has recorded which one the team kept.
    pub forked: bool,
}

impl<T: LogLine> Head<T> {
    /// The head of a log whose newest record is `newest`: records are in
    /// order of `seq` first, so the newest has the greatest.
    fn of(newest: Option<T>) -> Head<T> {
        Head {
            next_seq: newest.as_ref().map_or(1, |r| r.seq() + 1),
            newest,
            forked: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_counts_are_found_from_any_hint() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().join("bot@prod"), "@prod".to_string());
        for count in 0..=40u64 {
            if count > 0 {
                fs::create_dir(log.shard(count - 1).dir).unwrap();
            }
            assert_eq!(log.shard_count().unwrap(), count);
            for hint in 0..=70 {
                assert_eq!(
                    log.shard_count_near(hint).unwrap(),
                    count,
                    "{count} shards, hint {hint}"
                );
            }
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            parse_record_name("000000000012-9f86d081884c7d65"),
            Some(RecordName::Record(12))
        );
        assert_eq!(
            parse_record_name("pack-0c2b4e6f8a1d3c5e"),
            Some(RecordName::Pack("0c2b4e6f8a1d3c5e"))
        );
        for other in [
            "12-9f86d081884c7d65",
            "000000000000-9f86d081884c7d65",
            "000000000012-9F86D081884C7D65",
            "pack-0c2b",
            "notes.txt",
        ] {
            assert_eq!(parse_record_name(other), None, "{other}");
        }
        assert_eq!(parse_shard_name("~000003"), Some(3));
        for other in [
            "~000000",
            "~1",
            "~00000a",
            "000001",
            "@prod~000001",
            "~0000001",
        ] {
            assert_eq!(parse_shard_name(other), None, "{other}");
        }
        assert_eq!(parse_log_name("bot@prod"), Some(("bot", "@prod")));
        assert_eq!(parse_log_name("v1.2+versions"), Some(("v1.2", "+versions")));
        for other in [
            "@prod",
            "+versions",
            "bot",
            "bot@",
            "bot@prod~000001",
            "bot@a@b",
        ] {
            assert_eq!(parse_log_name(other), None, "{other}");
        }
        assert_eq!((shard_of(1), shard_of(256), shard_of(257)), (0, 0, 1));
    }
}
