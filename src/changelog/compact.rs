//! Packing: a log's loose records gathered into one sorted, immutable file.
//!
//! A record is first written as its own file so that git branches never
//! change the same file. Left alone, a log of 100 000 moves would be 100 000
//! files; so once a log has [`LOOSE_LIMIT`] loose records, the writer that
//! added the last one packs them, and with them every pack smaller than
//! twice what it is packing so far (git's "geometric repacking"): packs then
//! grow geometrically, a log of N records has about log2(N / 32) of them,
//! and each record is rewritten about that many times in its life.
//!
//! Packing adds no record and drops none. The new pack is durable before the
//! files it replaces are removed, so a crash in between leaves the same
//! records in two files, which readers count once. On two git branches that
//! packed different sets, the merge keeps both packs (different names) and
//! drops the loose files both removed: again copies, counted once, until the
//! next pack merges them.

use crate::error::Result;
use crate::fsutil;

use super::files::{LOOSE_LIMIT, Log, LogFile};
use super::record::Entry;

/// Pack `log` when it has [`LOOSE_LIMIT`] loose records or more. Call
/// while holding the lock. Returns whether it packed.
pub fn compact(log: &Log) -> Result<bool> {
    let files = log.files()?;
    let (mut chosen, mut packs): (Vec<LogFile>, Vec<LogFile>) = files
        .into_iter()
        .partition(|f| matches!(f, LogFile::Loose { .. }));
    if chosen.len() < LOOSE_LIMIT {
        return Ok(false);
    }
    packs.sort_by_key(LogFile::weight);
    let mut size = chosen.len() as u64;
    for pack in packs {
        if pack.weight() >= 2 * size {
            break;
        }
        size += pack.weight();
        chosen.push(pack);
    }
    let mut entries: Vec<Entry> = Vec::new();
    for file in &chosen {
        entries.extend(file.read_checked()?);
    }
    entries.sort_by(Entry::log_order);
    entries.dedup_by(|a, b| a.line == b.line);
    let mut bytes = Vec::with_capacity(entries.iter().map(|e| e.line.len() + 1).sum());
    for entry in &entries {
        bytes.extend_from_slice(&entry.line);
        bytes.push(b'\n');
    }
    let (first, last) = match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => (a.record.seq, b.record.seq),
        _ => return Ok(false),
    };
    let path = log.pack_path(first, last, &bytes);
    fsutil::write_atomic(&path, &bytes)?;
    for file in &chosen {
        if file.path() != path {
            fsutil::remove_file(file.path())?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::changelog::{Action, Record, next_seq};
    use crate::id::VersionId;

    fn record(seq: u64, n: u64) -> Record {
        Record {
            time: Timestamp::from_second(1_700_000_000 + n as i64).unwrap(),
            action: Action::Label,
            prompt: "p".into(),
            label: Some("prod".into()),
            seq,
            from: None,
            from_split: None,
            to: VersionId::of(n.to_string().as_bytes()),
            split: None,
            author: "a".into(),
            message: format!("message {n}"),
            source: None,
            file: None,
            undo: false,
        }
    }

    /// What a writer does: a loose record, then a pack when due.
    fn write(log: &Log, n: u64) -> Record {
        let r = record(next_seq(&log.files().unwrap()), n);
        fsutil::write_atomic(&log.loose_path(&r), &r.to_line()).unwrap();
        compact(log).unwrap();
        r
    }

    fn kinds(log: &Log) -> (Vec<(u64, u64)>, usize) {
        let mut packs = Vec::new();
        let mut loose = 0;
        for f in log.files().unwrap() {
            match f {
                LogFile::Pack { first, last, .. } => packs.push((first, last)),
                LogFile::Loose { .. } => loose += 1,
            }
        }
        packs.sort();
        (packs, loose)
    }

    #[test]
    fn packs_grow_geometrically_and_keep_every_record_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().to_path_buf(), "@prod".into());
        let written: Vec<Record> = (1..=1000).map(|n| write(&log, n)).collect();
        let (packs, loose) = kinds(&log);
        assert_eq!(
            packs,
            [(1, 512), (513, 768), (769, 896), (897, 960), (961, 992)]
        );
        assert_eq!(loose, 8);
        assert_eq!(log.read_all().unwrap(), written);
        // Newest first, and only as far as asked.
        let newest: Vec<u64> = log
            .reverse()
            .unwrap()
            .take(3)
            .map(|r| r.unwrap().seq)
            .collect();
        assert_eq!(newest, [1000, 999, 998]);
    }

    #[test]
    fn copies_in_two_files_are_one_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().to_path_buf(), "@prod".into());
        let written: Vec<Record> = (1..=40).map(|n| write(&log, n)).collect();
        // A crash between the pack and the removal of what it packed, or a
        // git merge of two branches that packed: the same records twice.
        for r in &written[..5] {
            fsutil::write_atomic(&log.loose_path(r), &r.to_line()).unwrap();
        }
        let mut other = Vec::new();
        for r in &written[..20] {
            other.extend_from_slice(&r.to_line());
        }
        fsutil::write_atomic(&log.pack_path(1, 20, &other), &other).unwrap();
        assert_eq!(log.read_all().unwrap(), written);
        // The next pack merges the copies away.
        let more: Vec<Record> = (41..=80).map(|n| write(&log, n)).collect();
        let all: Vec<Record> = written.into_iter().chain(more).collect();
        assert_eq!(log.read_all().unwrap(), all);
        let (packs, loose) = kinds(&log);
        assert!(packs.len() <= 2 && loose < LOOSE_LIMIT, "{packs:?} {loose}");
    }

    #[test]
    fn records_two_branches_gave_one_seq_are_ordered_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().to_path_buf(), "@prod".into());
        write(&log, 1);
        let (ours, theirs) = (record(2, 20), record(2, 10));
        for r in [&ours, &theirs] {
            fsutil::write_atomic(&log.loose_path(r), &r.to_line()).unwrap();
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
        assert_eq!(next_seq(&log.files().unwrap()), 3);
    }
}
