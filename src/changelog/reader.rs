//! Reading a log newest first, shard by shard from the newest.
//!
//! Shards hold disjoint ranges of `seq`, so the log is its shards in
//! order. In a shard with a pack of exactly its record files (the digest in
//! the pack's name says which), the pack is read backwards in chunks from
//! its end; otherwise the record files are read newest first, a few at a
//! time. So "the newest three" reads a few small files however long the
//! history is.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::files::{Log, read_record};
use super::record::{Entry, LogLine, Record};

/// A log's records, newest first (see the module documentation).
pub struct Reverse<T = Record> {
    log: Log,
    /// Shards not read yet: `0..left` (the next is `left - 1`).
    left: u64,
    /// The shard being read.
    current: Option<Current<T>>,
}

enum Current<T> {
    Pack(PackReader),
    /// Record files not read yet, sorted by seq (read from the end), and
    /// the records of the newest seq group already read, newest last.
    Records {
        shard: u64,
        files: Vec<(u64, PathBuf)>,
        ready: Vec<Entry<T>>,
    },
}

impl<T: LogLine> Reverse<T> {
    /// Read the first `shards` shards of `log` (all it has:
    /// [`Log::shard_count`]), newest first.
    pub fn of_log(log: Log, shards: u64) -> Reverse<T> {
        Reverse {
            log,
            left: shards,
            current: None,
        }
    }

    /// The next older record.
    pub fn next_record(&mut self) -> Result<Option<T>> {
        Ok(self.next(false)?.map(|e| e.record))
    }

    /// The next older record with its line.
    pub fn next_entry(&mut self) -> Result<Option<Entry<T>>> {
        self.next(true)
    }

    /// The next older record, with its line only when `line` is true (a
    /// full log parses hundreds of thousands of pack lines without them).
    fn next(&mut self, line: bool) -> Result<Option<Entry<T>>> {
        loop {
            match &mut self.current {
                None => {
                    let Some(number) = self.left.checked_sub(1) else {
                        return Ok(None);
                    };
                    self.left = number;
                    let shard = self.log.shard(number);
                    let files = shard.list()?;
                    self.current = Some(match files.valid_pack() {
                        Some(pack) => Current::Pack(PackReader::open(pack)?),
                        None => Current::Records {
                            shard: shard.number,
                            files: files.records,
                            ready: Vec::new(),
                        },
                    });
                }
                Some(Current::Pack(pack)) => match pack.next_entry(line)? {
                    Some(entry) => return Ok(Some(entry)),
                    None => self.current = None,
                },
                Some(Current::Records {
                    shard,
                    files,
                    ready,
                }) => {
                    if let Some(entry) = ready.pop() {
                        return Ok(Some(entry));
                    }
                    let Some(&(seq, _)) = files.last() else {
                        self.current = None;
                        continue;
                    };
                    // Every record of the newest seq left (two branches may
                    // each have written one), in log order.
                    while files.last().is_some_and(|(s, _)| *s == seq) {
                        let (_, path) = files.pop().expect("checked");
                        ready.push(read_record::<T>(&path, *shard)?);
                    }
                    ready.sort_by(Entry::log_order);
                }
            }
        }
    }
}

impl<T: LogLine> Iterator for Reverse<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        self.next_record().transpose()
    }
}

/// Reads a pack's records from the newest to the oldest.
///
/// No file stays open between reads: `log` merges every log of the store
/// at once, far more than a process may hold open. The newest chunk is read
/// on `open`; older chunks reopen the file (packs never change).
struct PackReader {
    path: PathBuf,
    /// File offset where `buf` starts; everything before it is unread.
    pos: u64,
    /// Unreturned complete lines, each with its `\n`.
    buf: Vec<u8>,
}

const CHUNK: u64 = 16 * 1024;

impl PackReader {
    fn open(path: &Path) -> Result<PackReader> {
        let mut file = File::open(path).map_err(Error::io("opening", path))?;
        let len = file.metadata().map_err(Error::io("reading", path))?.len();
        let mut reader = PackReader {
            path: path.to_path_buf(),
            pos: len,
            buf: Vec::new(),
        };
        reader.fill_from(&mut file)?;
        if !reader.buf.is_empty() && !reader.buf.ends_with(b"\n") {
            return Err(Error::corrupt(
                path,
                "the file does not end with a newline (truncated?)",
            ));
        }
        Ok(reader)
    }

    /// Read the chunk before `pos` into the front of `buf`.
    fn fill(&mut self) -> Result<bool> {
        if self.pos == 0 {
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

    fn next_entry<T: LogLine>(&mut self, keep_line: bool) -> Result<Option<Entry<T>>> {
        loop {
            if self.buf.is_empty() && !self.fill()? {
                return Ok(None);
            }
            let body_end = self.buf.len() - 1; // the last line's `\n`
            // memrchr: a full log scans every byte of every record here.
            match memchr::memrchr(b'\n', &self.buf[..body_end]) {
                Some(i) => return self.take(i + 1, body_end, keep_line).map(Some),
                None if self.pos == 0 || !self.fill()? => {
                    return self.take(0, body_end, keep_line).map(Some);
                }
                None => continue,
            }
        }
    }

    fn take<T: LogLine>(&mut self, start: usize, end: usize, keep_line: bool) -> Result<Entry<T>> {
        let parsed = super::record::parse::<T>(&self.buf[start..end]);
        let line = match keep_line {
            true => self.buf[start..end].to_vec(),
            false => Vec::new(),
        };
        let offset = self.pos + start as u64;
        self.buf.truncate(start);
        match parsed {
            Ok(record) => Ok(Entry { record, line }),
            Err(e) => Err(Error::corrupt(
                &self.path,
                format!("line {}: damaged record: {e}", self.line_number(offset)),
            )),
        }
    }
}
