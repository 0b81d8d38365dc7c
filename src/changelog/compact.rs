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
