//! Changelog records and log files from arbitrary bytes.
//!
//! Invariants:
//! - `Record::parse` never panics; a record that parses serializes (`to_line`)
//!   to one line ending in its only `\n`, which parses back to an equal record
//!   and re-serializes to the same bytes;
//! - the same bytes written as a log file: `Reverse` (newest first, 16 KiB
//!   chunks) and `read_all` (oldest first) never panic; `Reverse` yields one
//!   item per complete line (checked up to the third damaged one), each
//!   exactly what `Record::parse` makes of that line (a damaged line names its
//!   1-based line number); `read_all` succeeds
//!   exactly when every line parses, with the same records, and otherwise
//!   reports the first damaged line; a torn tail is ignored by both and
//!   reported by `torn_tail`;
//! - `append` after those bytes cuts the torn tail and adds a record that both
//!   readers then see as the newest.
//!
//! When the first input byte is 0xff, the rest of the input is repeated to
//! just over 16 KiB, so that a line straddles the reader's 16 KiB chunk
//! boundary (or, without a `\n`, one line outgrows a chunk). Other inputs stay
//! small, which keeps the target fast.
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use promptrel::Record;
use promptrel::changelog::{self, Reverse};

const KNOWN: &[u8] = br#"{"time":"2026-01-02T10:01:00Z","action":"add","prompt":"p","from":null,"to":"77839f17c603a7e3acc5b68015c94f42c8a2489e2dd34dd8b19e36c0c1625970","author":"Dana <dana@example.com>","message":"fuzz"}"#;

/// tmpfs when there is one: `append` syncs, which is slow on a disk.
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
    let path = dir.path().join("@prod");
    std::fs::write(&path, bytes).unwrap();

    // What each complete line is, oldest first.
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let expected: Vec<Result<Record, String>> = bytes[..complete]
        .split_inclusive(|&b| b == b'\n')
        .map(|line| Record::parse(&line[..line.len() - 1]))
        .collect();
    let message = |i: usize, e: &str| format!("line {}: damaged record: {e}", i + 1);

    assert_eq!(
        changelog::torn_tail(&path).unwrap(),
        (complete != bytes.len()).then_some(complete as u64)
    );

    // Newest first, compared line by line. Reverse keeps going after a damaged
    // line, but each error re-reads the file up to that line to number it, so
    // stop after a few errors to keep the target fast on all-garbage input.
    let mut reverse = Reverse::open(&path).unwrap();
    let mut errors = 0;
    for (i, want) in expected.iter().enumerate().rev() {
        let got = reverse
            .next()
            .unwrap_or_else(|| panic!("line {} missing", i + 1));
        match (&got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "line {}", i + 1),
            (Err(got), Err(want)) => {
                let got = got.to_string();
                assert!(got.ends_with(&message(i, want)), "{got} vs {want}");
                errors += 1;
            }
            _ => panic!(
                "line {}: Reverse gave {got:?}, the line parses to {want:?}",
                i + 1
            ),
        }
        if errors == 3 {
            break;
        }
    }
    if errors < 3 {
        assert!(reverse.next().is_none(), "more items than lines");
    }

    let first_bad = expected.iter().position(|r| r.is_err());
    match (changelog::read_all(&path), first_bad) {
        (Ok(records), None) => {
            let want: Vec<Record> = expected.iter().map(|r| r.clone().unwrap()).collect();
            assert_eq!(records, want);
        }
        (Err(e), Some(i)) => {
            let want = message(i, expected[i].as_ref().unwrap_err());
            assert!(e.to_string().ends_with(&want), "{e} vs {want}");
        }
        (got, first_bad) => panic!("read_all gave {got:?}, first bad line {first_bad:?}"),
    }

    // A writer appends after whatever is there.
    let known = Record::parse(KNOWN).unwrap();
    changelog::append(&path, &known).unwrap();
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[..complete], &bytes[..complete], "history rewritten");
    assert_eq!(&after[complete..], known.to_line().as_slice());
    let newest = Reverse::open(&path).unwrap().next().unwrap().unwrap();
    assert_eq!(newest, known);
    if first_bad.is_none() {
        let all = changelog::read_all(&path).unwrap();
        assert_eq!(all.len(), expected.len() + 1);
        assert_eq!(all.last(), Some(&known));
    }
}
