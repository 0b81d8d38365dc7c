//! Durable, atomic file writes. Every change to the store goes through here.
//!
//! - Whole files (objects, refs, config) are written to a temp file in the
//!   target's own folder, synced, renamed over the target, and the folder is
//!   synced so the new name survives a crash.
//! - Changelog records are whole files too (one per record, or a pack), so
//!   nothing in the store is ever appended to or changed in place.

use std::fs::{self, File};
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
    failpoint::step("folder created").map_err(Error::io("creating folder", dir))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// A new temp file (`.tmp-*`, which readers ignore) in folder `dir`.
pub fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    // Store files are shared data, like the files git checks out: readable
    // by everyone the umask allows (tempfile's default is owner-only 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder
        .tempfile_in(dir)
        .map_err(Error::io("creating temp file in", dir))
}

/// Atomically replace (or create) `path` with `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("store paths always have a parent");
    create_dir_all(dir)?;
    let mut tmp = temp_file_in(dir)?;
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

// ----- undo: putting back what a failed command wrote ----------------------
//
// Used by the store's undo guard after an error (a replaced ref is restored
// with `write_atomic`). These two are not failpoint steps: an injected
// fault fires once, at the step that fails, and never in its own undo.

/// Remove a file this command created, durably (already gone is fine).
pub fn remove_file(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if remove_file_unsynced(path)? => sync_dir(dir),
        Some(_) => Ok(()),
        None => remove_file_unsynced(path).map(drop),
    }
}

/// Remove a file this command created, not durably: the caller syncs
/// ([`remove_file`] does both). Returns whether it was there.
pub fn remove_file_unsynced(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("removing", path)(e)),
    }
}

/// Remove a folder this command created, not durably: the caller syncs
/// ([`remove_dir`] does both). Returns whether it was there.
pub fn remove_dir_unsynced(dir: &Path) -> Result<bool> {
    match fs::remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("removing folder", dir)(e)),
    }
}

/// Remove a folder this command created, durably; it must be empty again.
pub fn remove_dir(dir: &Path) -> Result<()> {
    match dir.parent() {
        Some(parent) if remove_dir_unsynced(dir)? => sync_dir(parent),
        Some(_) => Ok(()),
        None => remove_dir_unsynced(dir).map(drop),
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

/// Read a small file whole (a record, a ref): [`read_into`] a buffer
/// sized for one.
pub(crate) fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; 4 * 1024];
    let len = read_into(&mut File::open(path)?, &mut bytes)?;
    bytes.truncate(len);
    Ok(bytes)
}

/// Read `file` whole into `buf` (grown as needed, never shrunk: one buffer
/// can serve many files); returns how many bytes it has. Without
/// [`fs::read`]'s `stat` for the size and its read that finds the end: on
/// Linux a read that returns less than asked, ending in `\n` (as every
/// store file does), is taken as the end of the file. Local file systems
/// only return short reads of a regular file at its end; should a network
/// or FUSE one return one elsewhere, what follows looks missing, which the
/// hash checks of objects, records and packs report as damage.
pub(crate) fn read_into(file: &mut File, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::io::Read;
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize((2 * len).max(4 * 1024), 0);
        }
        let asked = buf.len() - len;
        match file.read(&mut buf[len..]) {
            Ok(0) => return Ok(len),
            Ok(n) => {
                len += n;
                if cfg!(target_os = "linux") && n < asked && buf[len - 1] == b'\n' {
                    return Ok(len);
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Call `each` with the name of every entry of folder `dir` (not `.` and
/// `..`), in the file system's order; a missing folder has none. On Linux
/// the names are read straight from `getdents64`'s buffer: `read_dir`
/// makes two copies of each name, which is most of the cost of listing a
/// shard of 256 records.
pub fn each_name(dir: &Path, mut each: impl FnMut(&[u8])) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{Mode, OFlags, RawDir};
        use std::mem::MaybeUninit;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(dir, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let mut buf = [MaybeUninit::<u8>::uninit(); 16 * 1024];
        let mut entries = RawDir::new(&fd, &mut buf);
        while let Some(entry) = entries.next() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                each(name);
            }
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let name = entry?.file_name();
            // Not UTF-8 (Windows): no name of the store's, passed on lossily.
            each(name.to_string_lossy().as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_whole_at_every_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut shared = Vec::new();
        for len in [0, 1, 2, 300, 4095, 4096, 4097, 8191, 8192, 8193, 20_000] {
            for last in [b'\n', b'x'] {
                let mut bytes: Vec<u8> = (0..len).map(|i| b"ab\n"[i % 3]).collect();
                if let Some(end) = bytes.last_mut() {
                    *end = last;
                }
                let path = dir.path().join(format!("{len}-{last}"));
                fs::write(&path, &bytes).unwrap();
                assert_eq!(read_small(&path).unwrap(), bytes, "{len} bytes");
                let n = read_into(&mut File::open(&path).unwrap(), &mut shared).unwrap();
                assert_eq!(&shared[..n], &bytes[..], "{len} bytes, shared buffer");
            }
        }
    }
}
