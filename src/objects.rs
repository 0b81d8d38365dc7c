//! The object store: `objects/<2 hex>/<62 hex>`, the exact bytes of each
//! version, named by their BLAKE3 hash. Written once, verified on every read.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::VersionId;

/// The `objects/` folder of a store.
#[derive(Debug, Clone)]
pub struct Objects {
    dir: PathBuf,
}

impl Objects {
    pub(crate) fn new(dir: PathBuf) -> Objects {
        Objects { dir }
    }

    /// Where the object with `id` lives.
    pub fn path(&self, id: &VersionId) -> PathBuf {
        let (folder, file) = id.object_path_parts();
        self.dir.join(folder).join(file)
    }

    /// Store `bytes`; returns its id and whether it was new.
    ///
    /// An existing object is never rewritten: its name is its content.
    pub fn write(&self, bytes: &[u8]) -> Result<(VersionId, bool)> {
        let id = VersionId::of(bytes);
        let path = self.path(&id);
        if path.exists() {
            return Ok((id, false));
        }
        fsutil::write_atomic(&path, bytes)?;
        Ok((id, true))
    }

    /// Read the object, refusing bytes whose hash does not match the id.
    pub fn read(&self, id: &VersionId) -> Result<Vec<u8>> {
        let path = self.path(id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::corrupt(
                    &path,
                    format!("object {} is missing", id.short()),
                ));
            }
            Err(e) => return Err(Error::io("reading", &path)(e)),
        };
        verify(&path, id, &bytes)?;
        Ok(bytes)
    }

    /// The names of the fan-out folders (`<id[0:2]>`) there are now.
    pub(crate) fn folders(&self) -> Result<HashSet<String>> {
        let mut names = HashSet::new();
        fsutil::each_name(&self.dir, |name| {
            if let Ok(name) = std::str::from_utf8(name) {
                names.insert(name.to_string());
            }
        })
        .map_err(Error::io("reading", &self.dir))?;
        Ok(names)
    }

    /// Whether the object file exists (not verified).
    pub fn contains(&self, id: &VersionId) -> bool {
        self.path(id).is_file()
    }
}

/// Check that `bytes` hash to `id`.
pub(crate) fn verify(path: &Path, id: &VersionId, bytes: &[u8]) -> Result<()> {
    let actual = VersionId::of(bytes);
    if &actual != id {
        return Err(Error::corrupt(
            path,
            format!(
                "object {} does not match its content (hashes to {}); refusing to serve it",
                id.short(),
                actual.short()
            ),
        ));
    }
    Ok(())
}
