//! Changelog records and log files from arbitrary bytes.
//!
//! Invariants:
//! - `Record::parse` never panics; a record that parses serializes (`to_line`)
//!   to one line ending in its only `\n`, which parses back to an equal record
//!   and re-serializes to the same bytes;
//! - the same bytes as a pack file: `read_pack` never panics; when it accepts
//!   them, the records written as record files (in their shard folders) read
//!   back as the same records, newest first through `Reverse` and oldest
//!   first through `read_all`, before and after `pack` writes the packs of
//!   full shards (which readers then use instead).
//!
//! When the first input byte is 0xff, the rest of the input is repeated to
//! just over 16 KiB, so that a line straddles the pack reader's 16 KiB chunk
//! boundary (or, without a `\n`, one line outgrows a chunk). Other inputs stay
//! small, which keeps the target fast.
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use promptrel::Record;
use promptrel::changelog::{self, Log};

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
    let pack = dir.path().join("pack");
    std::fs::write(&pack, bytes).unwrap();
    let Ok(entries) = changelog::read_pack::<Record>(&pack) else {
        return;
    };
    // The same records as record files; records that serialize alike are
    // one file.
    let log = Log::new(dir.path().join("bot@prod"), "@prod".into());
    let mut want: Vec<Record> = Vec::new();
    for e in &entries {
        let path = log.record_path(&e.record);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if !path.exists() {
            std::fs::write(&path, e.record.to_line()).unwrap();
            want.push(e.record.clone());
        }
    }
    let order = |a: &Record, b: &Record| {
        (a.seq, a.time, a.to_line()).cmp(&(b.seq, b.time, b.to_line()))
    };
    want.sort_by(order);
    let check = || {
        assert_eq!(log.read_all().unwrap(), want);
        let newest: Vec<Record> = log.reverse().unwrap().map(|r| r.unwrap()).collect();
        let mut expected = want.clone();
        expected.reverse();
        assert_eq!(newest, expected);
    };
    check();
    for shard in log.shards().unwrap() {
        changelog::pack(&shard).unwrap();
        assert!(shard.list().unwrap().valid_pack().is_some());
    }
    check();
}
