//! Reading a log newest first: a lazy merge of its files.
//!
//! Loose records and packs may interleave (two branches merged, or a pack
//! written while loose records were added elsewhere), so the reader merges
//! them in log order. It opens a file only when that file could hold the
//! next record (its greatest `seq` is at least the best one seen), so in a
//! history of 100 000 records "the newest three" reads a few small files,
//! and a pack is read backwards in chunks from its end.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::files::{Log, LogFile};
use super::record::{Entry, LogLine, Record};

/// A log's records, newest first (see the module documentation).
pub struct Reverse<T = Record> {
    log: Log,
    /// Files not opened yet, by greatest `seq`, ascending.
    pending: Vec<LogFile>,
    /// Opened files with their next record.
    open: Vec<(Entry<T>, Option<PackReader>)>,
    /// The line of the record returned last, to drop its copies.
    last: Option<Vec<u8>>,
    /// Nothing returned yet: a file that vanished (a concurrent writer
    /// packed it) can still be handled by listing the log again.
    fresh: bool,
}

impl<T: LogLine> Reverse<T> {
    /// Start reading `log` from its newest record.
    pub fn open(log: &Log) -> Result<Reverse<T>> {
        let files = log.files()?;
        Ok(Reverse::of_log_files(log.clone(), files))
    }

    /// Start reading `log`, whose files the caller has just listed.
    pub fn of_log_files(log: Log, mut files: Vec<LogFile>) -> Reverse<T> {
        files.sort_by_key(LogFile::max_seq);
        Reverse {
            log,
            pending: files,
            open: Vec::new(),
            last: None,
            fresh: true,
        }
    }

    /// List the log again and start over (nothing was returned yet).
    fn restart(&mut self) -> Result<()> {
        self.pending = self.log.files()?;
        self.pending.sort_by_key(LogFile::max_seq);
        self.open.clear();
        Ok(())
    }

    fn best(&self) -> Option<usize> {
        (0..self.open.len()).max_by(|&a, &b| self.open[a].0.log_order(&self.open[b].0))
    }

    /// Open every pending file that could hold a record at least as new
    /// as the best one open.
    fn open_candidates(&mut self) -> Result<()> {
        while let Some(next) = self.pending.last() {
            let best_seq = self.best().map(|i| self.open[i].0.record.seq());
            if best_seq.is_some_and(|seq| next.max_seq() < seq) {
                break;
            }
            let file = self.pending.pop().expect("checked above");
            match file {
                LogFile::Loose { path, .. } => {
                    let bytes = read_vanishing(&path)?;
                    let mut entries = super::files::parse_lines::<T>(&path, &bytes)?;
                    if entries.len() != 1 {
                        return Err(Error::corrupt(
                            &path,
                            "a loose record file must hold exactly one record",
                        ));
                    }
                    self.open.push((entries.remove(0), None));
                }
                LogFile::Pack { path, .. } => {
                    let mut pack = PackReader::open(&path)?;
                    if let Some(entry) = pack.next_entry()? {
                        self.open.push((entry, Some(pack)));
                    }
                }
            }
        }
        Ok(())
    }

    /// The next older record.
    pub fn next_record(&mut self) -> Result<Option<T>> {
        Ok(self.next_entry()?.map(|e| e.record))
    }

    /// The next older record with its line.
    pub fn next_entry(&mut self) -> Result<Option<Entry<T>>> {
        loop {
            match self.open_candidates() {
                Err(Error::Io { source, .. })
                    if source.kind() == ErrorKind::NotFound && self.fresh =>
                {
                    // Packed by a concurrent writer after the listing.
                    self.fresh = false;
                    self.restart()?;
                    continue;
                }
                other => other?,
            }
            let Some(i) = self.best() else {
                return Ok(None);
            };
            let (entry, mut pack) = self.open.swap_remove(i);
            if let Some(reader) = &mut pack
                && let Some(next) = reader.next_entry()?
            {
                self.open.push((next, pack));
            }
            if self.last.as_deref() == Some(&entry.line[..]) {
                continue; // the same record in two files
            }
            self.fresh = false;
            self.last = Some(entry.line.clone());
            return Ok(Some(entry));
        }
    }
}

impl<T: LogLine> Iterator for Reverse<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        self.next_record().transpose()
    }
}

/// Read a log file that a concurrent writer may have packed and removed.
fn read_vanishing(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Error::io(
                "reading (it was packed by a concurrent writer: run the command again)",
                path,
            )(e)
        } else {
            Error::io("reading", path)(e)
        }
    })
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
        let mut file = File::open(path).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::io(
                    "reading (it was packed by a concurrent writer: run the command again)",
                    path,
                )(e)
            } else {
                Error::io("opening", path)(e)
            }
        })?;
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
        let mut file = File::open(&self.path).map_err(|e| {
            Error::io(
                "reading (it was repacked by a concurrent writer: run the command again)",
                &self.path,
            )(e)
        })?;
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

    fn next_entry<T: LogLine>(&mut self) -> Result<Option<Entry<T>>> {
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

    fn take<T: LogLine>(&mut self, start: usize, end: usize) -> Result<Entry<T>> {
        let line = self.buf[start..end].to_vec();
        let parsed = super::record::parse::<T>(&line);
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
