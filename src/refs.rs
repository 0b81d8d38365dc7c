//! Label refs: `refs/<name>/@<label>`, one small file holding a full version id.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::VersionId;
use crate::name::Label;

/// Read the ref at `path`; `Ok(None)` when the label does not exist.
///
/// A ref must be a regular file: a symbolic link (or a folder) in its place is
/// refused, so a label can never serve, or on a move clobber, a file outside
/// the store.
pub fn read(path: &Path) -> Result<Option<VersionId>> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(Error::corrupt(
                path,
                "a label file must be a regular file, not a symbolic link",
            ));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(Error::corrupt(path, "a label file must be a regular file"));
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", path)(e)),
    }
    let Some(bytes) = fsutil::read_optional(path)? else {
        return Ok(None);
    };
    parse(path, &bytes).map(Some)
}

/// Parse a ref's content: the 64-digit id, then `\n` (a missing newline or
/// `\r\n` from a hand edit is tolerated; anything else is refused).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<VersionId> {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    if text.contains("<<<<<<<") {
        return Err(Error::corrupt(
            path,
            "this label has an unresolved git merge conflict: keep one of the two ids \
             (the label's log, `promptrel log NAME --label LABEL`, shows both moves)",
        ));
    }
    VersionId::parse(text.trim_end_matches(['\n', '\r']))
        .ok_or_else(|| Error::corrupt(path, "a label file must hold one 64-digit version id"))
}

/// Point the ref at `path` to `id`, atomically.
pub fn write(path: &Path, id: &VersionId) -> Result<()> {
    fsutil::write_atomic(path, format!("{id}\n").as_bytes())
}

/// The labels whose refs are in `dir` (the prompt's folder under `refs/`), sorted.
pub fn labels_in(dir: &Path) -> Result<Vec<Label>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", dir)(e)),
    };
    let mut labels = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io("listing", dir))?;
        let file_name = entry.file_name();
        let Some(label) = file_name.to_str().and_then(|n| n.strip_prefix('@')) else {
            continue;
        };
        let label = Label::new(label)
            .map_err(|_| Error::corrupt(entry.path(), "not a valid label file name"))?;
        labels.push(label);
    }
    labels.sort();
    Ok(labels)
}
