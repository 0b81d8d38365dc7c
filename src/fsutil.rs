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
use crate::failpoint::{self, Hit};

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
    failpoint::step("folder created").map_err(Error::io("creating folder", dir))?;
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
    // On error the temp file is removed when `tmp` drops; only a crash
    // leaves one behind.
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .and_then(|()| failpoint::step("temp file written"))
        .map_err(Error::io("writing", path))?;
    tmp.persist(path)
        .map_err(|e| Error::io("renaming temp file onto", path)(e.error))?;
    failpoint::step("temp file renamed").map_err(Error::io("renaming temp file onto", path))?;
    sync_dir(dir)
}

/// Append one record to `path` (created if missing) and make it durable.
///
/// The record must end with `\n`; a reader that finds a last line without one
/// knows the write was torn and ignores it.
///
/// A missing (or empty) log is created with its first record in one atomic
/// rename, never appended to: a crash must not leave a `+versions` file with
/// no record in it, which readers would take for a prompt with no versions.
pub fn append_durable(path: &Path, record: &[u8]) -> Result<()> {
    debug_assert!(record.ends_with(b"\n"));
    match fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {}
        Ok(_) => return write_atomic(path, record),
        Err(e) if e.kind() == ErrorKind::NotFound => return write_atomic(path, record),
        Err(e) => return Err(Error::io("reading", path)(e)),
    }
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(Error::io("opening", path))?;
    // A short write, then the crash or the error (`ENOSPC` mid-record).
    let torn = match failpoint::hit("record appended halfway") {
        Hit::Pass => None,
        Hit::Crash => Some(None),
        Hit::Fail(e) => Some(Some(e)),
    };
    if let Some(fault) = torn {
        let _ = file
            .write_all(&record[..record.len() / 2])
            .and_then(|()| file.sync_data());
        match fault {
            None => failpoint::crash("record appended halfway"),
            Some(e) => return Err(Error::io("appending to", path)(e)),
        }
    }
    file.write_all(record)
        .and_then(|()| file.sync_data())
        .and_then(|()| failpoint::step("record appended"))
        .map_err(Error::io("appending to", path))?;
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
        .and_then(|()| failpoint::step("torn record cut off"))
        .map_err(Error::io("truncating", path))?;
    Ok(())
}

// ----- undo: putting back what a failed command wrote ----------------------
//
// Used by the store's undo guard after an error (a replaced ref is restored
// with `write_atomic`). These three are not failpoint steps: an injected
// fault fires once, at the step that fails, and never in its own undo.

/// Cut a log this command appended to back to its previous `len`, durably.
pub fn cut_back(path: &Path, len: u64) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(len).and_then(|()| file.sync_all()))
        .map_err(Error::io("truncating", path))
}

/// Remove a file this command created, durably (already gone is fine).
pub fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("removing", path)(e)),
    }
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Remove a folder this command created, durably; it must be empty again.
pub fn remove_dir(dir: &Path) -> Result<()> {
    match fs::remove_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("removing folder", dir)(e)),
    }
    match dir.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
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
