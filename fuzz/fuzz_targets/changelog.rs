//! Changelog records and log files from arbitrary bytes.
//!
//! Invariants:
//! - `Record::parse` never panics; a record that parses serializes (`to_line`)
//!   to one line ending in its only `\n`, which parses back to an equal record
//!   and re-serializes to the same bytes;
//! - the same bytes written as a pack file of a log (named with the hash of
//!   the bytes and the seq range of its records): `Reverse` (newest first,
//!   16 KiB chunks) and `LogFile::read_checked` never panic; when
//!   `read_checked` accepts the file, `Reverse` yields exactly its records,
//!   newest first;
//! - the records of an accepted pack, written as loose files instead, read
//!   back the same, and `compact` packs them into a file `read_checked`
//!   accepts, with the same records.
//!
//! When the first input byte is 0xff, the rest of the input is repeated to
//! just over 16 KiB, so that a line straddles the reader's 16 KiB chunk
//! boundary (or, without a `\n`, one line outgrows a chunk). Other inputs stay
//! small, which keeps the target fast.
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use promptrel::Record;
use promptrel::changelog::{self, Log, LogFile};

/// tmpfs when there is one: `compact` syncs, which is slow on a disk.
fn temp_base() -> PathBuf {
    if let Some(dir) = std::env::var_os("PROMPTREL_FUZZ_TMP") {
        return dir.into();
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fuzz_target!(|data: &[u8]| {
    check_line(data);
    let bytes = match data.split_first() {
        Some((0xff, rest)) if !rest.is_empty() => {
            let mut out = Vec::with_capacity(18 * 1024);
            while out.len() < 17 * 1024 {
                out.extend_from_slice(rest);
            }
            out
        }
        _ => data.to_vec(),
    };
    check_file(&bytes);
});

fn check_line(line: &[u8]) {
    let Ok(record) = Record::parse(line) else {
        return;
    };
    let out = record.to_line();
    assert_eq!(out.last(), Some(&b'\n'));
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "{out:?}");
    let again = Record::parse(&out[..out.len() - 1])
        .unwrap_or_else(|e| panic!("{record:?} serialized to {out:?}, which fails: {e}"));
    assert_eq!(again, record);
    assert_eq!(again.to_line(), out);
}

fn check_file(bytes: &[u8]) {
    let dir = tempfile::TempDir::new_in(temp_base()).expect("temp dir");
    let log = Log::new(dir.path().to_path_buf(), "@prod".into());
    let seqs: Vec<u64> = bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| Record::parse(line).ok().map(|r| r.seq))
        .collect();
    let first = seqs.first().copied().unwrap_or(1).max(1);
    let last = seqs.last().copied().unwrap_or(1).max(first);
    let path = log.pack_path(first, last, bytes);
    std::fs::write(&path, bytes).unwrap();
    let file = LogFile::Pack { path, first, last };

    let checked = file.read_checked();
    let mut reverse = log.reverse().unwrap();
    let Ok(entries) = checked else {
        // Damaged: reading must not panic; it may stop at the damage.
        for _ in 0..4 {
            if !matches!(reverse.next(), Some(Ok(_))) {
                break;
            }
        }
        return;
    };
    let want: Vec<Record> = entries.iter().rev().map(|e| e.record.clone()).collect();
    let got: Vec<Record> = reverse.map(|r| r.unwrap()).collect();
    assert_eq!(got, want);

    // The same records as loose files: the same log; packed again: the same.
    let loose = tempfile::TempDir::new_in(temp_base()).expect("temp dir");
    let other = Log::new(loose.path().to_path_buf(), "@prod".into());
    for e in &entries {
        std::fs::write(other.loose_path(&e.record), e.record.to_line()).unwrap();
    }
    let loose_records: Vec<Record> = other.reverse().unwrap().map(|r| r.unwrap()).collect();
    // Loose files hold re-serialized lines: equal records, maybe other bytes
    // (so two lines of the pack may become one file, and order among records
    // of one seq and time may differ).
    let lines = |records: &[Record]| {
        let mut lines: Vec<Vec<u8>> = records.iter().map(Record::to_line).collect();
        lines.sort();
        lines.dedup();
        lines
    };
    assert_eq!(lines(&loose_records), lines(&want));
    if entries.len() >= changelog::LOOSE_LIMIT {
        assert!(changelog::compact(&other).unwrap());
        let packed = other.files().unwrap();
        assert_eq!(packed.len(), 1, "{packed:?}");
        let again: Vec<Record> = packed[0]
            .read_checked()
            .unwrap()
            .into_iter()
            .rev()
            .map(|e| e.record)
            .collect();
        assert_eq!(again, loose_records);
    }
}
