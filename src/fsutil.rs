//! Durable, atomic file writes. Every change to the store goes through here.
//!
//! - Whole files (objects, refs, config) are written to a temp file in the
//!   target's own folder, synced, renamed over the target, and the folder is
//!   synced so the new name survives a crash.
//! - Log records are appended with one `write_all` each and synced before the
//!   command that wrote them reports success.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::failpoint;

/// Prefix of temp files, so `fsck` and `.gitignore` can recognise leftovers.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Create `dir` and any missing parents, syncing each parent whose entries changed.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(Error::io("creating folder", dir)(e)),
    }
    failpoint::step("folder created");
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Atomically replace (or create) `path` with `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("store paths always have a parent");
    create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    // Store files are shared data, like the files git checks out: readable
    // by everyone the umask allows (tempfile's default is owner-only 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(Error::io("creating temp file in", dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(Error::io("writing", tmp.path()))?;
    failpoint::step("temp file written");
    tmp.persist(path)
        .map_err(|e| Error::io("renaming temp file onto", path)(e.error))?;
    failpoint::step("temp file renamed");
    sync_dir(dir)
}

/// Append one record to `path` (created if missing) and make it durable.
///
/// The record must end with `\n`; a reader that finds a last line without one
/// knows the write was torn and ignores it.
pub fn append_durable(path: &Path, record: &[u8]) -> Result<()> {
    debug_assert!(record.ends_with(b"\n"));
    let dir = path.parent().expect("store paths always have a parent");
    create_dir_all(dir)?;
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(Error::io("opening", path))?;
    if failpoint::hit("record appended halfway") {
        let _ = file
            .write_all(&record[..record.len() / 2])
            .and_then(|()| file.sync_data());
        failpoint::crash("record appended halfway");
    }
    file.write_all(record)
        .and_then(|()| file.sync_data())
        .map_err(Error::io("appending to", path))?;
    failpoint::step("record appended");
    if !existed {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Cut `path` back to `len` bytes (used to drop a torn last record) durably.
pub fn truncate_durable(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(Error::io("opening", path))?;
    file.set_len(len)
        .and_then(|()| file.sync_all())
        .map_err(Error::io("truncating", path))?;
    failpoint::step("torn record cut off");
    Ok(())
}

/// Sync a folder so that renames and new entries in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    // Windows cannot open a folder as a file; its renames are durable through
    // the file system's own journal, so there is nothing to do there.
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(Error::io("syncing folder", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Read a whole file; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("reading", path)(e)),
    }
}
