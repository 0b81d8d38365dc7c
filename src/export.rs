//! Export bundles: one label of every prompt, materialised for a deploy.
//!
//! [`Store::export`] collects the version each prompt's label points to
//! (verified against its hash). The result is written as plain files with a
//! manifest ([`Export::write_to`], checked later by [`verify`]) or turned into
//! one JSON document ([`Export::bundle`]). `FORMAT.md`, section "Export
//! bundles", specifies both.
//!
//! This module uses only the store's public API: it reads, never writes, the
//! store.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::{Label, LabelValue, PromptName, Store, VersionId};

/// The manifest's file name, at the top of an export folder.
pub const MANIFEST: &str = "promptrel-export.json";

/// The export format version written in manifests and JSON bundles.
pub const EXPORT_FORMAT: u32 = 1;

/// What went wrong writing or verifying an export folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// An operating-system error on a specific path.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("writing", "reading", …).
        op: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The export folder already has entries and overwriting was not allowed.
    #[error("{} is not empty", dir.display())]
    NotEmpty {
        /// The export folder.
        dir: PathBuf,
    },
    /// The target path exists and is not a folder.
    #[error("{} exists and is not a folder", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// One exported prompt's file would have to be another's namespace folder.
    #[error(
        "cannot export both {file:?} and {nested:?} as files: {file:?} would have to be a file and a folder"
    )]
    PathConflict {
        /// The prompt whose file is in the way.
        file: String,
        /// A prompt inside that name's namespace.
        nested: String,
    },
    /// A path inside the export folder is a symbolic link; it is not followed.
    #[error("{} is a symbolic link; refusing to write through it", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// The folder has no manifest.
    #[error("{} has no {MANIFEST}; it is not a promptrel export", dir.display())]
    NoManifest {
        /// The folder given.
        dir: PathBuf,
    },
    /// The manifest cannot be used.
    #[error("invalid export manifest {}: {detail}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The manifest has a format version this build does not know.
    #[error("{} has export format {found}, this promptrel understands format {EXPORT_FORMAT}", path.display())]
    UnsupportedFormat {
        /// The manifest file.
        path: PathBuf,
        /// The `format` found.
        found: serde_json::Value,
    },
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExportError {
    let path = path.to_path_buf();
    move |source| ExportError::Io { op, path, source }
}

/// One prompt's version in an export.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The prompt.
    pub name: PromptName,
    /// The version the label points to.
    pub id: VersionId,
    /// Its exact bytes, verified against `id`.
    pub bytes: Vec<u8>,
}

impl Exported {
    /// The file's path inside the export folder, `/`-separated: the name.
    pub fn path(&self) -> &str {
        self.name.as_str()
    }
}

/// One label of every prompt that has it.
#[derive(Debug, Clone)]
pub struct Export {
    /// The label exported.
    pub label: Label,
    /// The prompts that have the label, sorted by name.
    pub prompts: Vec<Exported>,
    /// The prompts without the label, sorted by name.
    pub skipped: Vec<PromptName>,
}

/// `promptrel-export.json`: what an export folder must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`EXPORT_FORMAT`].
    pub format: u32,
    /// The label exported.
    pub label: String,
    /// One entry per file, sorted by name.
    pub prompts: Vec<ManifestEntry>,
}

/// One file of an export folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The prompt name.
    pub name: String,
    /// The version id: the BLAKE3 hash of the file's bytes.
    pub id: VersionId,
    /// The file, relative to the export folder, `/`-separated.
    pub path: String,
    /// The file's size in bytes.
    pub size: u64,
}

/// The single-document form of an export (`promptrel export --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    /// [`EXPORT_FORMAT`].
    pub format: u32,
    /// The label exported.
    pub label: String,
    /// One entry per prompt, sorted by name.
    pub prompts: Vec<BundleEntry>,
}

/// One prompt of a [`Bundle`].
#[derive(Debug, Clone, Serialize)]
pub struct BundleEntry {
    /// The prompt name.
    pub name: String,
    /// The version id.
    pub id: VersionId,
    /// The bytes, when they are valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The bytes in standard base64 (RFC 4648, padded), when they are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
}

impl Store {
    /// The version `label` points to for every prompt that has it, read and
    /// verified. Prompts without the label are listed in
    /// [`Export::skipped`]; when no prompt has it, the error is
    /// [`Error::NoPromptHasLabel`](crate::Error::NoPromptHasLabel) (a
    /// misspelt label, most likely). Nothing is written.
    ///
    /// An export holds one version per prompt, so a label that is split for
    /// some prompt is refused ([`crate::Error::SplitExport`], naming every
    /// such prompt) rather than exported as one of its versions.
    pub fn export(&self, label: &Label) -> crate::Result<Export> {
        let mut prompts = Vec::new();
        let mut skipped = Vec::new();
        let mut splits = Vec::new();
        for name in self.prompts()? {
            match self.label(&name, label)? {
                Some(LabelValue::One(id)) => {
                    let bytes = self.read(&id)?;
                    prompts.push(Exported { name, id, bytes });
                }
                Some(LabelValue::Split(split)) => splits.push((name.to_string(), split)),
                None => skipped.push(name),
            }
        }
        if !splits.is_empty() {
            return Err(crate::Error::SplitExport {
                label: label.to_string(),
                splits,
            });
        }
        if prompts.is_empty() {
            return Err(self.label_nowhere(label)?);
        }
        Ok(Export {
            label: label.clone(),
            prompts,
            skipped,
        })
    }
}

impl Export {
    /// The manifest describing this export's files.
    pub fn manifest(&self) -> Manifest {
        Manifest {
            format: EXPORT_FORMAT,
            label: self.label.as_str().to_string(),
            prompts: self
                .prompts
                .iter()
                .map(|p| ManifestEntry {
                    name: p.name.as_str().to_string(),
                    id: p.id.clone(),
                    path: p.path().to_string(),
                    size: p.bytes.len() as u64,
                })
                .collect(),
        }
    }

    /// The single JSON document: UTF-8 content as a string, other bytes in base64.
    pub fn bundle(&self) -> Bundle {
        Bundle {
            format: EXPORT_FORMAT,
            label: self.label.as_str().to_string(),
            prompts: self
                .prompts
                .iter()
                .map(|p| {
                    let (content, content_base64) = match std::str::from_utf8(&p.bytes) {
                        Ok(text) => (Some(text.to_string()), None),
                        Err(_) => (
                            None,
                            Some(base64::engine::general_purpose::STANDARD.encode(&p.bytes)),
                        ),
                    };
                    BundleEntry {
                        name: p.name.as_str().to_string(),
                        id: p.id.clone(),
                        content,
                        content_base64,
                    }
                })
                .collect(),
        }
    }

    /// Check that every prompt can become a file: no exported name may be a
    /// namespace of another (`support` and `support/refund-bot`).
    pub fn check_paths(&self) -> Result<(), ExportError> {
        let names: BTreeSet<&str> = self.prompts.iter().map(|p| p.path()).collect();
        for nested in &names {
            for (i, _) in nested.match_indices('/') {
                let file = &nested[..i];
                if names.contains(file) {
                    return Err(ExportError::PathConflict {
                        file: file.to_string(),
                        nested: nested.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Write every prompt as `dir/<name>` and then the manifest, and return it.
    ///
    /// `dir` is created when missing. A folder with entries is refused unless
    /// `force`; with `force`, files of the same name are replaced, files
    /// listed by an earlier manifest that this export no longer has are
    /// removed, and other files are left alone. The old manifest is removed
    /// first and the new one written last, each file through a temp file and
    /// a rename, so an interrupted export never leaves a manifest that
    /// describes files it did not finish.
    pub fn write_to(&self, dir: &Path, force: bool) -> Result<Manifest, ExportError> {
        self.write_to_with_progress(dir, force, &mut |_| {})
    }

    /// [`Export::write_to`], calling `progress(written)` after each prompt's
    /// file is written (`written` of [`Export::prompts`]).
    pub fn write_to_with_progress(
        &self,
        dir: &Path,
        force: bool,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Manifest, ExportError> {
        self.check_paths()?;
        let manifest = self.manifest();
        let mut old = Vec::new();
        // DIR itself may be a symbolic link to a folder; links inside it are refused.
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                let mut entries = fs::read_dir(dir).map_err(io("reading", dir))?;
                if entries.next().is_some() {
                    if !force {
                        return Err(ExportError::NotEmpty {
                            dir: dir.to_path_buf(),
                        });
                    }
                    let manifest_path = dir.join(MANIFEST);
                    if let Ok(previous) = read_manifest(dir) {
                        old = previous.prompts;
                    }
                    remove_if_present(&manifest_path)?;
                }
            }
            Ok(_) => {
                return Err(ExportError::NotADirectory {
                    path: dir.to_path_buf(),
                });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(io("creating", dir))?;
            }
            Err(e) => return Err(io("reading", dir)(e)),
        }
        for (i, prompt) in self.prompts.iter().enumerate() {
            let path = prepare_parent(dir, prompt.path())?;
            write_atomic(&path, &prompt.bytes)?;
            progress(i + 1);
        }
        let written: BTreeSet<&str> = self.prompts.iter().map(|p| p.path()).collect();
        for entry in &old {
            if written.contains(entry.path.as_str()) || PromptName::new(&entry.path).is_err() {
                continue;
            }
            let path = join(dir, &entry.path);
            // Never through a link: only a file really inside DIR is removed.
            if inside_without_links(dir, &entry.path)
                && fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir())
            {
                remove_if_present(&path)?;
                // Drop namespace folders the removal left empty; never `dir` itself.
                let mut parent = path.parent();
                while let Some(p) = parent.filter(|p| *p != dir) {
                    if fs::remove_dir(p).is_err() {
                        break;
                    }
                    parent = p.parent();
                }
            }
        }
        let mut json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
        json.push(b'\n');
        write_atomic(&dir.join(MANIFEST), &json)?;
        sync_dir(dir);
        Ok(manifest)
    }
}

/// `dir` joined with a `/`-separated relative path.
fn join(dir: &Path, rel: &str) -> PathBuf {
    let mut path = dir.to_path_buf();
    path.extend(rel.split('/'));
    path
}

/// Whether every folder between `dir` and `rel` is a real folder (no link).
fn inside_without_links(dir: &Path, rel: &str) -> bool {
    let mut path = dir.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    parts[..parts.len() - 1].iter().all(|part| {
        path.push(part);
        fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
    })
}

/// Create the folders above `rel` (refusing symbolic links on the way) and
/// return the file's full path.
fn prepare_parent(dir: &Path, rel: &str) -> Result<PathBuf, ExportError> {
    let mut path = dir.to_path_buf();
    let mut parts = rel.split('/').peekable();
    while let Some(part) = parts.next() {
        path.push(part);
        let last = parts.peek().is_none();
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(ExportError::Symlink { path });
            }
            Ok(meta) if last && meta.is_dir() => {
                return Err(ExportError::Io {
                    op: "writing",
                    path,
                    source: std::io::Error::other("a folder is in the way"),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if !last {
                    fs::create_dir(&path).map_err(io("creating", &path))?;
                }
            }
            Err(e) => return Err(io("reading", &path)(e)),
        }
    }
    Ok(path)
}

/// Write through a temp file in the same folder, then rename over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let parent = path.parent().expect("export paths have a parent");
    let mut tmp = tempfile::Builder::new()
        .prefix(".promptrel-export-")
        .tempfile_in(parent)
        .map_err(io("creating a temp file in", parent))?;
    tmp.write_all(bytes).map_err(io("writing", tmp.path()))?;
    tmp.as_file()
        .sync_all()
        .map_err(io("writing", tmp.path()))?;
    tmp.persist(path)
        .map_err(|e| io("writing", path)(e.error))?;
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), ExportError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io("removing", path)(e)),
        _ => Ok(()),
    }
}

/// Make the renames in `dir` durable where the platform allows it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Read and check the manifest of the export folder `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, ExportError> {
    let path = dir.join(MANIFEST);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(ExportError::NoManifest {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(io("reading", &path)(e)),
    };
    let bad = |detail: String| ExportError::Manifest {
        path: path.clone(),
        detail,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    match value.get("format") {
        Some(f) if f.as_u64() == Some(u64::from(EXPORT_FORMAT)) => {}
        Some(f) => {
            return Err(ExportError::UnsupportedFormat {
                path,
                found: f.clone(),
            });
        }
        None => return Err(bad("no \"format\" field".into())),
    }
    let manifest: Manifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    let mut seen = BTreeSet::new();
    for entry in &manifest.prompts {
        // Paths are prompt names: relative, no `..`, nothing hidden.
        if PromptName::new(&entry.path).is_err() || entry.path == MANIFEST {
            return Err(bad(format!("{:?} is not a valid file path", entry.path)));
        }
        if !seen.insert(entry.path.as_str()) {
            return Err(bad(format!("{:?} is listed twice", entry.path)));
        }
    }
    Ok(manifest)
}

/// What is wrong with one file of an export folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// Listed in the manifest, not in the folder.
    Missing,
    /// Its bytes (or type) differ from the manifest.
    Changed,
    /// In the folder, not in the manifest.
    Extra,
}

impl ProblemKind {
    /// `missing`, `changed` or `extra`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Changed => "changed",
            ProblemKind::Extra => "extra",
        }
    }
}

/// One problem found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, relative to the export folder, `/`-separated.
    pub path: String,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Details for a person (empty when the kind says it all).
    pub detail: String,
}

/// The result of [`verify`].
#[derive(Debug, Clone)]
pub struct Verification {
    /// The folder's manifest.
    pub manifest: Manifest,
    /// Every problem, sorted by path.
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Whether the folder holds exactly the manifest's files with their bytes.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Re-hash every file of the export folder `dir` against its manifest and
/// find files missing from it or not listed in it. Symbolic links are never
/// followed: a link in place of a listed file counts as changed.
pub fn verify(dir: &Path) -> Result<Verification, ExportError> {
    let manifest = read_manifest(dir)?;
    let mut problems = Vec::new();
    let listed: BTreeMap<&str, &ManifestEntry> = manifest
        .prompts
        .iter()
        .map(|e| (e.path.as_str(), e))
        .collect();
    for entry in &manifest.prompts {
        let path = join(dir, &entry.path);
        let problem = |kind, detail: String| Problem {
            path: entry.path.clone(),
            kind,
            detail,
        };
        match fs::symlink_metadata(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                problems.push(problem(ProblemKind::Missing, String::new()));
            }
            Err(e) if e.kind() == ErrorKind::NotADirectory => {
                problems.push(problem(ProblemKind::Missing, "a file is in the way".into()));
            }
            Err(e) => return Err(io("reading", &path)(e)),
            Ok(meta) if !meta.is_file() => {
                let what = if meta.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "not a regular file"
                };
                problems.push(problem(ProblemKind::Changed, format!("is {what}")));
            }
            Ok(_) => {
                let bytes = fs::read(&path).map_err(io("reading", &path))?;
                let found = VersionId::of(&bytes);
                if found != entry.id {
                    problems.push(problem(
                        ProblemKind::Changed,
                        format!(
                            "content hashes to {}, the manifest says {}",
                            found.short(),
                            entry.id.short()
                        ),
                    ));
                } else if bytes.len() as u64 != entry.size {
                    problems.push(problem(
                        ProblemKind::Changed,
                        format!("{} bytes, the manifest says {}", bytes.len(), entry.size),
                    ));
                }
            }
        }
    }
    for entry in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            io("listing", &path)(e.into())
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir stays under its root");
        let rel: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let rel = rel.join("/");
        if rel == MANIFEST || listed.contains_key(rel.as_str()) {
            continue;
        }
        problems.push(Problem {
            path: rel,
            kind: ProblemKind::Extra,
            detail: String::new(),
        });
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.kind.cmp(&b.kind)));
    Ok(Verification { manifest, problems })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signature;

    fn export_of(names: &[&str]) -> Export {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = Store::init(tmp.path()).unwrap();
        let sig = Signature {
            author: "Ada".into(),
            time: jiff::Timestamp::UNIX_EPOCH,
        };
        let staging = Label::new("staging").unwrap();
        for name in names {
            let name = PromptName::new(name).unwrap();
            store
                .add(
                    &name,
                    name.as_str().as_bytes(),
                    "",
                    std::slice::from_ref(&staging),
                    None,
                    &sig,
                )
                .unwrap();
        }
        store.export(&staging).unwrap()
    }

    #[test]
    fn a_name_that_is_another_names_namespace_cannot_be_a_file() {
        // `a-b` and `a.x` sort between `a` and `a/c`: the check is not by neighbours.
        let export = export_of(&["a", "a-b", "a.x", "a/c/d"]);
        match export.check_paths() {
            Err(ExportError::PathConflict { file, nested }) => {
                assert_eq!((file.as_str(), nested.as_str()), ("a", "a/c/d"));
            }
            other => panic!("{other:?}"),
        }
        let export = export_of(&["a-b", "a.x", "a/c/d", "a/c-d"]);
        export.check_paths().unwrap();
    }

    #[test]
    fn progress_counts_each_prompt_written() {
        let export = export_of(&["a", "b", "c/d"]);
        let out = tempfile::tempdir().unwrap();
        let mut calls = Vec::new();
        export
            .write_to_with_progress(&out.path().join("x"), false, &mut |n| calls.push(n))
            .unwrap();
        assert_eq!(calls, [1, 2, 3]);
    }

    #[test]
    fn bundle_uses_base64_only_for_bytes_that_are_not_utf8() {
        let mut export = export_of(&["text"]);
        let mut binary = export.prompts[0].clone();
        binary.bytes = vec![0xff, 0x00, b'a'];
        export.prompts.push(binary);
        let bundle = serde_json::to_value(export.bundle()).unwrap();
        assert_eq!(bundle["prompts"][0]["content"], "text");
        assert!(bundle["prompts"][0].get("content_base64").is_none());
        assert_eq!(bundle["prompts"][1]["content_base64"], "/wBh");
        assert!(bundle["prompts"][1].get("content").is_none());
    }
}
