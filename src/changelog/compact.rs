//! Packing: the records of a full shard gathered into one file, which
//! readers use instead of the shard's record files.
//!
//! A record is written as its own file so that git branches never change
//! the same file, and it is never removed, so that git never sees a deleted
//! file (which its rename detection could pair with another branch's new
//! record, and call a conflict). A log of 100 000 moves is therefore
//! 100 000 files, in shards of 256; reading all of it file by file would be
//! slow, so the writer that starts a shard packs the one before: one more
//! file, `pack-<digest>`, holding every record of the shard in log order.
//! The digest (of the record files' names) says exactly which records it
//! holds: a shard that later gains a record (another branch's, merged) no
//! longer matches its pack, and is read file by file until a writer packs
//! it again (the old pack stays, unused).

use crate::error::Result;
use crate::fsutil;

use super::files::{Log, SHARD_SIZE, Shard, read_record, shard_of};
use super::record::{Entry, Meta};

/// Pack the shard before the one holding record `seq`, unless it is
/// already packed (or there is none). Call while holding the lock. Returns
/// whether it wrote a pack.
///
/// Only the first [`PACK_WINDOW`] records of a shard check the one before:
/// the check lists a full shard, and after those writes the pack is there.
/// (A merge can make an older shard's pack stale later; readers then read
/// that shard's record files, which is correct, only slower. Nothing packs
/// it again yet.)
pub fn pack_before(log: &Log, seq: u64) -> Result<bool> {
    let shard = shard_of(seq);
    if shard == 0 || (seq - 1) % SHARD_SIZE >= PACK_WINDOW {
        return Ok(false);
    }
    pack(&log.shard(shard - 1))
}

/// How many writes at the start of a shard make sure the shard before is
/// packed.
pub const PACK_WINDOW: u64 = 16;

/// Pack `shard` unless a pack of exactly its records exists.
pub fn pack(shard: &Shard) -> Result<bool> {
    let files = shard.list()?;
    if files.records.is_empty() || files.valid_pack().is_some() {
        return Ok(false);
    }
    let mut entries: Vec<Entry<Meta>> = files
        .records
        .iter()
        .map(|(_, path)| read_record::<Meta>(path, shard.number))
        .collect::<Result<_>>()?;
    entries.sort_by(Entry::log_order);
    let mut bytes = Vec::with_capacity(entries.iter().map(|e| e.line.len() + 1).sum());
    for entry in &entries {
        bytes.extend_from_slice(&entry.line);
        bytes.push(b'\n');
    }
    let path = shard.dir.join(format!("pack-{}", files.digest()));
    fsutil::write_atomic(&path, &bytes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::changelog::Record;

    use crate::changelog::record::sample as record;

    /// What a writer does: a record file, then the pack when due.
    fn write(log: &Log, n: u64) -> Record {
        let r = record(log.head().unwrap().next_seq, n);
        fsutil::write_atomic(&log.record_path(&r), &r.to_line()).unwrap();
        pack_before(log, r.seq).unwrap();
        r
    }

    fn packs(log: &Log) -> Vec<(u64, usize, bool)> {
        log.shards()
            .unwrap()
            .iter()
            .map(|s| {
                let files = s.list().unwrap();
                (s.number, files.records.len(), files.valid_pack().is_some())
            })
            .collect()
    }

    #[test]
    fn full_shards_are_packed_and_every_record_stays() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().to_path_buf(), "@prod".into());
        let written: Vec<Record> = (1..=600).map(|n| write(&log, n)).collect();
        assert_eq!(
            packs(&log),
            [(0, 256, true), (1, 256, true), (2, 88, false)]
        );
        assert_eq!(log.read_all().unwrap(), written);
        let newest: Vec<u64> = log
            .reverse()
            .unwrap()
            .take(3)
            .map(|r| r.unwrap().seq)
            .collect();
        assert_eq!(newest, [600, 599, 598]);
    }

    #[test]
    fn a_shard_that_gains_a_record_is_read_file_by_file_until_packed_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().to_path_buf(), "@prod".into());
        let mut written: Vec<Record> = (1..=300).map(|n| write(&log, n)).collect();
        // Another branch's record 200, merged in: the pack no longer matches.
        let theirs = record(200, 9999);
        fsutil::write_atomic(&log.record_path(&theirs), &theirs.to_line()).unwrap();
        assert_eq!(packs(&log)[0], (0, 257, false));
        let at = written.iter().position(|r| r.seq == 200).unwrap();
        written.insert(at + 1, theirs);
        assert_eq!(log.read_all().unwrap(), written);
        assert!(pack(&log.shard(0)).unwrap());
        assert_eq!(packs(&log)[0], (0, 257, true));
        assert_eq!(log.read_all().unwrap(), written);
    }

    #[test]
    fn records_two_branches_gave_one_seq_are_ordered_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().to_path_buf(), "@prod".into());
        write(&log, 1);
        let (ours, theirs) = (record(2, 20), record(2, 10));
        for r in [&ours, &theirs] {
            fsutil::write_atomic(&log.record_path(r), &r.to_line()).unwrap();
        }
        let seqs: Vec<(u64, Timestamp)> = log
            .reverse()
            .unwrap()
            .map(|r| r.map(|r| (r.seq, r.time)).unwrap())
            .collect();
        assert_eq!(
            seqs,
            [(2, ours.time), (2, theirs.time), (1, record(1, 1).time)]
        );
        assert_eq!(log.head().unwrap().next_seq, 3);
        assert!(log.head().unwrap().forked);
    }
}
