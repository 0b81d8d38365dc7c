//! Reading a log on a thread of its own, ahead of whoever consumes it.
//!
//! A full `log` of a long history spends most of its time reading packs and
//! parsing records, and the rest formatting lines. With a few logs in the
//! merge, each is read by its own thread, in batches sent through a
//! bounded channel, so parsing runs on the other cores while the caller
//! formats; memory stays bounded by the channel, whatever the history's
//! length. Records arrive in exactly the order [`Reverse`] yields them, an
//! error included (after the records before it), and a reader whose
//! consumer goes away (`promptrel log | head`) stops at its next send.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::error::Result;

use super::reader::Reverse;
use super::record::Record;

/// Records per batch sent from the reading thread.
const BATCH: usize = 128;
/// Batches a reading thread may be ahead by.
const BATCHES_AHEAD: usize = 1;

/// A log's records, newest first, read by another thread.
pub struct Ahead {
    batches: Receiver<Result<Vec<Record>>>,
    /// What is left of the current batch.
    current: std::vec::IntoIter<Record>,
    thread: Option<JoinHandle<()>>,
}

impl Ahead {
    /// Start reading `log` on a new thread.
    pub fn start(log: Reverse) -> Ahead {
        let (send, batches) = sync_channel(BATCHES_AHEAD);
        let thread = std::thread::Builder::new()
            .name("promptrel-log".into())
            .spawn(move || read_into(log, &send))
            .expect("the system starts a thread");
        Ahead {
            batches,
            current: Vec::new().into_iter(),
            thread: Some(thread),
        }
    }

    /// The next older record.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if let Some(record) = self.current.next() {
            return Ok(Some(record));
        }
        match self.batches.recv() {
            Ok(batch) => {
                self.current = batch?.into_iter();
                Ok(self.current.next())
            }
            // The thread is done: it sent everything, or it panicked.
            Err(_) => {
                if let Some(thread) = self.thread.take()
                    && let Err(panic) = thread.join()
                {
                    std::panic::resume_unwind(panic);
                }
                Ok(None)
            }
        }
    }
}

/// Send `log`'s records in batches until it ends, fails, or nobody listens.
fn read_into(mut log: Reverse, send: &SyncSender<Result<Vec<Record>>>) {
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let end = loop {
            match log.next_record() {
                Ok(Some(record)) => {
                    batch.push(record);
                    if batch.len() == BATCH {
                        break false;
                    }
                }
                Ok(None) => break true,
                Err(e) => {
                    if !batch.is_empty() && send.send(Ok(batch)).is_err() {
                        return;
                    }
                    let _ = send.send(Err(e));
                    return;
                }
            }
        };
        if (!batch.is_empty() && send.send(Ok(batch)).is_err()) || end {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changelog::{Log, pack_before};

    fn record(seq: u64) -> Record {
        crate::changelog::record::sample(seq, seq)
    }

    /// A log of `n` records: full shards packed, the newest one loose.
    fn log_of(dir: &std::path::Path, n: u64) -> Log {
        let log = Log::new(dir.to_path_buf(), "@prod".into());
        for seq in 1..=n {
            let r = record(seq);
            crate::fsutil::write_atomic(&log.record_path(&r), &r.to_line()).unwrap();
            pack_before(&log, seq).unwrap();
        }
        log
    }

    #[test]
    fn yields_what_the_log_yields_in_the_same_order() {
        let tmp = tempfile::tempdir().unwrap();
        // More than two batches, over packed and loose shards.
        let log = log_of(tmp.path(), 2 * BATCH as u64 + 300);
        let here: Vec<Record> = log.reverse().unwrap().map(Result::unwrap).collect();
        let mut ahead = Ahead::start(log.reverse().unwrap());
        let mut read = Vec::new();
        while let Some(r) = ahead.next_record().unwrap() {
            read.push(r);
        }
        assert_eq!(read.len(), here.len());
        assert!(
            read.iter()
                .zip(&here)
                .all(|(a, b)| a.to_line() == b.to_line())
        );
        assert_eq!(ahead.next_record().unwrap().map(|r| r.seq), None);
    }

    #[test]
    fn an_error_arrives_after_the_records_before_it() {
        let tmp = tempfile::tempdir().unwrap();
        let log = log_of(tmp.path(), 40);
        // Damage record 10: the log reads 40..=11, then fails.
        let damaged = log.record_path(&record(10));
        std::fs::write(&damaged, b"{not json}\n").unwrap();
        let mut ahead = Ahead::start(log.reverse().unwrap());
        for seq in (11..=40).rev() {
            assert_eq!(ahead.next_record().unwrap().map(|r| r.seq), Some(seq));
        }
        assert!(ahead.next_record().is_err());
    }

    #[test]
    fn a_reader_nobody_listens_to_stops() {
        let tmp = tempfile::tempdir().unwrap();
        let log = log_of(tmp.path(), 3 * BATCH as u64);
        let mut ahead = Ahead::start(log.reverse().unwrap());
        assert!(ahead.next_record().unwrap().is_some());
        let thread = ahead.thread.take().unwrap();
        drop(ahead);
        // The thread's next send fails and it returns (join would hang
        // otherwise, failing the test by timeout rather than passing).
        thread.join().unwrap();
    }
}
