//! Bulk import (`promptrel add --dir DIR`): every prompt file of a folder
//! becomes a version, under one lock, made durable in a handful of syncs.
//!
//! **Names** come from the path relative to DIR, `/`-separated, without the
//! file's last extension: `support/refund-bot.md` is `support/refund-bot`,
//! `notes.v2.txt` is `notes.v2`. Hidden files and folders (a name starting
//! with `.`, such as `.git` or `.promptrel`) are skipped. Every file that
//! cannot become a prompt (its name breaks a rule, two files give one name,
//! it is empty or too large, it is not a regular file) is listed by
//! [`Store::plan_import`], and [`Store::import`] refuses a plan with any
//! such file before writing anything.
//!
//! **Writes** follow the order every command follows (FORMAT.md §7.2):
//! objects, then `+versions` records, then label records, then refs, each
//! step durable before the next starts. What changes is how: instead of two
//! or three fsyncs per file (a millisecond or more each on a real disk),
//! each step writes all of its files and then syncs once:
//!
//! 1. every new whole file (object, first record of a new log, ref) is
//!    written as a temp file (`.tmp-*`, which readers ignore) in its own
//!    folder; sync;
//! 2. objects are renamed into place; sync;
//! 3. `+versions` records: new logs renamed into place, existing logs
//!    appended to; sync;
//! 4. label records, the same way; sync;
//! 5. refs renamed over the old ones; sync.
//!
//! On Linux a sync is one `syncfs(2)` of the store's file system; elsewhere
//! it is an fsync of every file when written and of every folder changed
//! since the last sync. A crash therefore leaves only what a crash of
//! single commands can leave (temp files, logs ahead of refs), which
//! readers ignore and `fsck --repair` or the next writer clears. A failure
//! (disk full) undoes what the import wrote, newest first, like every
//! other command.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::changelog::{self, Action, Record, Reverse};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::fsutil::{self, TEMP_PREFIX};
use crate::id::VersionId;
use crate::name::{Label, PromptName};
use crate::store::{Signature, Store};

/// One file to import.
#[derive(Debug, Clone)]
pub struct ImportFile {
    /// The prompt it becomes.
    pub name: PromptName,
    /// Where its bytes are.
    pub path: PathBuf,
    /// The path recorded in the `add` record (relative to the store's
    /// workdir, `/`-separated), when the file lies inside that folder.
    pub file: Option<String>,
}

/// What [`Store::plan_import`] found in a folder.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// The folder.
    pub dir: PathBuf,
    /// The files to import, sorted by path.
    pub files: Vec<ImportFile>,
    /// Files that cannot be imported: `path: reason`, paths relative to `dir`.
    pub problems: Vec<String>,
    /// The size limit the files were checked against.
    pub max_size: u64,
}

/// What [`Store::import`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Files imported.
    pub files: usize,
    /// `add` records written (files that were not already their prompt's newest version).
    pub new_versions: usize,
    /// Of those, prompts that did not exist before.
    pub new_prompts: usize,
    /// Files whose content already was their prompt's newest version.
    pub unchanged: usize,
    /// Objects written (identical contents are stored once).
    pub new_objects: usize,
    /// Label moves written (`--label`).
    pub labels_moved: usize,
}

/// The prompt name for a file at `rel` (relative, `/`-separated): the path
/// without the last extension of its file name.
pub fn name_for_path(rel: &str) -> &str {
    let file_start = rel.rfind('/').map_or(0, |i| i + 1);
    match rel[file_start..].rfind('.') {
        Some(dot) if dot > 0 => &rel[..file_start + dot],
        _ => rel,
    }
}

impl Store {
    /// List the files of `dir` to import and every file that cannot be
    /// (see the module documentation for the naming rule). Reads no file
    /// content; writes nothing.
    pub fn plan_import(&self, dir: &Path, max_size: u64) -> Result<ImportPlan> {
        let meta = fs::metadata(dir).map_err(Error::io("reading", dir))?;
        if !meta.is_dir() {
            return Err(Error::io("reading", dir)(std::io::Error::new(
                ErrorKind::NotADirectory,
                "not a folder",
            )));
        }
        // Where `dir` lies inside the workdir, for the records' `file` field.
        let inside = match (fs::canonicalize(dir), fs::canonicalize(self.workdir())) {
            (Ok(d), Ok(w)) => d.strip_prefix(&w).ok().and_then(|rel| {
                let parts: Option<Vec<&str>> = rel.iter().map(|p| p.to_str()).collect();
                parts.map(|p| p.join("/"))
            }),
            _ => None,
        };
        let mut plan = ImportPlan {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            problems: Vec::new(),
            max_size,
        };
        let mut seen: HashMap<String, String> = HashMap::new();
        let walk = walkdir::WalkDir::new(dir)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walk {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(dir).to_path_buf();
                Error::io("listing", path)(e.into())
            })?;
            if entry.file_type().is_dir() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(dir)
                .expect("walkdir stays under its root");
            let parts: Option<Vec<&str>> = rel.iter().map(|p| p.to_str()).collect();
            let Some(rel) = parts.map(|p| p.join("/")) else {
                let shown = rel.to_string_lossy();
                plan.problems
                    .push(format!("{shown}: the path is not valid UTF-8"));
                continue;
            };
            // Symbolic links to files are read through; nothing else is.
            let meta = match fs::metadata(entry.path()) {
                Ok(meta) if meta.is_file() => meta,
                Ok(_) if entry.file_type().is_symlink() => {
                    plan.problems.push(format!(
                        "{rel}: a symbolic link to a folder is not followed"
                    ));
                    continue;
                }
                Ok(_) => {
                    plan.problems.push(format!("{rel}: not a regular file"));
                    continue;
                }
                Err(e) => {
                    plan.problems.push(format!("{rel}: cannot read it: {e}"));
                    continue;
                }
            };
            if meta.len() == 0 {
                plan.problems.push(format!("{rel}: the file is empty"));
                continue;
            }
            if meta.len() > max_size {
                plan.problems.push(format!(
                    "{rel}: larger than {} MiB; promptrel stores prompts, not data files",
                    max_size >> 20
                ));
                continue;
            }
            let name = name_for_path(&rel);
            let name = match PromptName::new(name) {
                Ok(name) => name,
                Err(Error::InvalidName { value, rule }) => {
                    plan.problems
                        .push(format!("{rel}: invalid prompt name {value:?}: {rule}"));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(other) = seen.get(name.as_str()) {
                plan.problems.push(format!(
                    "{rel}: {other} is also prompt {name}; keep one of them"
                ));
                continue;
            }
            seen.insert(name.to_string(), rel.clone());
            let file = inside.as_ref().map(|prefix| match prefix.as_str() {
                "" => rel.clone(),
                prefix => format!("{prefix}/{rel}"),
            });
            plan.files.push(ImportFile {
                name,
                path: entry.path().to_path_buf(),
                file,
            });
        }
        Ok(plan)
    }

    /// Store every file of `plan` as the newest version of its prompt, and
    /// point `labels` at it: one lock, one `add` record per new version (a
    /// file whose content already is its prompt's newest version writes
    /// none), one record per label move. `progress` is called with the
    /// number of files stored so far.
    ///
    /// A plan with problems, a protected label, or a damaged log or ref of
    /// any prompt involved is refused before anything is written.
    pub fn import(
        &self,
        plan: &ImportPlan,
        message: &str,
        labels: &[Label],
        sig: &Signature,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Imported> {
        if !plan.problems.is_empty() {
            return Err(Error::ImportRefused {
                dir: plan.dir.clone(),
                problems: plan.problems.clone(),
            });
        }
        let config = self.config()?;
        if let Some(label) = labels.iter().find(|l| config.is_protected(l.as_str())) {
            return Err(Error::ProtectedLabel {
                label: label.to_string(),
            });
        }
        let _lock = self.write_lock()?;

        // Everything that can refuse the import is read before the first write.
        let mut state = Vec::with_capacity(plan.files.len());
        for f in &plan.files {
            let log = self.versions_log_path(&f.name);
            if let Some(len) = changelog::torn_tail(&log)? {
                fsutil::truncate_durable(&log, len)?;
            }
            let newest = Reverse::open(&log)?.next_record()?.map(|r| r.to);
            let mut current = Vec::with_capacity(labels.len());
            for label in labels {
                // Also finishes a move a crashed writer logged but did not apply.
                self.settle(&f.name, label)?;
                current.push(self.label(&f.name, label)?);
            }
            state.push((newest, current));
        }

        // Declared before the pending temp files: on an early return those
        // are dropped (deleted) first, then the batch undoes the rest.
        let mut batch = Batch::new(self.dir())?;
        let mut done = Imported {
            files: plan.files.len(),
            ..Imported::default()
        };

        // Step 1: temp files for every new object…
        let mut objects: Vec<(TempPath, PathBuf)> = Vec::new();
        let mut stored: HashSet<VersionId> = HashSet::new();
        let mut ids = Vec::with_capacity(plan.files.len());
        for (i, f) in plan.files.iter().enumerate() {
            let bytes = read_prompt(&f.path, plan.max_size)?;
            let id = VersionId::of(&bytes);
            if stored.insert(id.clone()) {
                let path = self.objects().path(&id);
                match fs::symlink_metadata(&path) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        objects.push((batch.temp(&path, &bytes)?, path));
                    }
                    Err(e) => return Err(Error::io("reading", &path)(e)),
                }
            }
            ids.push(id);
            progress(i + 1);
        }
        done.new_objects = objects.len();

        // …and for every new log and ref, with the records to append to
        // existing logs.
        let mut versions = Pending::default();
        let mut label_logs = Pending::default();
        let mut refs: Vec<(TempPath, PathBuf)> = Vec::new();
        for ((f, id), (newest, current)) in plan.files.iter().zip(&ids).zip(&state) {
            if newest.as_ref() == Some(id) {
                done.unchanged += 1;
            } else {
                done.new_versions += 1;
                done.new_prompts += usize::from(newest.is_none());
                let record = Record {
                    time: sig.time,
                    action: Action::Add,
                    prompt: f.name.to_string(),
                    label: None,
                    from: newest.clone(),
                    to: id.clone(),
                    author: sig.author.clone(),
                    message: message.to_string(),
                    source: None,
                    file: f.file.clone(),
                    undo: false,
                };
                versions.add(
                    &mut batch,
                    self.versions_log_path(&f.name),
                    record.to_line(),
                )?;
            }
            for (label, from) in labels.iter().zip(current) {
                if from.as_ref() == Some(id) {
                    continue;
                }
                done.labels_moved += 1;
                let record = Record {
                    time: sig.time,
                    action: Action::Label,
                    prompt: f.name.to_string(),
                    label: Some(label.to_string()),
                    from: from.clone(),
                    to: id.clone(),
                    author: sig.author.clone(),
                    message: message.to_string(),
                    source: None,
                    file: None,
                    undo: false,
                };
                label_logs.add(
                    &mut batch,
                    self.label_log_path(&f.name, label),
                    record.to_line(),
                )?;
                let path = self.ref_path(&f.name, label);
                refs.push((batch.temp(&path, format!("{id}\n").as_bytes())?, path));
            }
        }
        batch.sync("import: temp files written")?;

        // Step 2: objects.
        for (tmp, path) in objects {
            batch.rename(tmp, &path, false)?;
        }
        batch.sync("import: objects in place")?;
        // Steps 3 and 4: records, `+versions` before label logs.
        versions.apply(&mut batch)?;
        batch.sync("import: versions recorded")?;
        label_logs.apply(&mut batch)?;
        batch.sync("import: label moves recorded")?;
        // Step 5: refs.
        for (tmp, path) in refs {
            batch.rename(tmp, &path, true)?;
        }
        batch.sync("import: labels moved")?;
        batch.commit();
        Ok(done)
    }
}

/// Read a prompt file, refusing an empty or oversized one (it may have
/// changed since the plan was made).
fn read_prompt(path: &Path, max_size: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(max_size + 1).read_to_end(&mut bytes))
        .map_err(Error::io("reading", path))?;
    if bytes.is_empty() || bytes.len() as u64 > max_size {
        return Err(Error::io("reading", path)(std::io::Error::new(
            ErrorKind::InvalidData,
            "the file changed during the import (it is now empty or too large)",
        )));
    }
    Ok(bytes)
}

/// Records for one kind of log: whole new files, or appends to existing ones.
#[derive(Default)]
struct Pending {
    new_logs: Vec<(TempPath, PathBuf)>,
    appends: Vec<(PathBuf, Vec<u8>)>,
}

impl Pending {
    fn add(&mut self, batch: &mut Batch, path: PathBuf, line: Vec<u8>) -> Result<()> {
        // A log is created whole with its first record (never empty, as in
        // `fsutil::append_durable`); an existing one is appended to.
        match fs::metadata(&path) {
            Ok(meta) if meta.len() > 0 => self.appends.push((path, line)),
            Ok(_) => self.new_logs.push((batch.temp(&path, &line)?, path)),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.new_logs.push((batch.temp(&path, &line)?, path))
            }
            Err(e) => return Err(Error::io("reading", &path)(e)),
        }
        Ok(())
    }

    fn apply(self, batch: &mut Batch) -> Result<()> {
        for (tmp, path) in self.new_logs {
            batch.rename(tmp, &path, true)?;
        }
        for (path, line) in self.appends {
            batch.append(&path, &line)?;
        }
        Ok(())
    }
}

/// Writes made durable together, and how to undo them should the import fail.
struct Batch {
    root: File,
    root_path: PathBuf,
    /// Folders known to exist.
    dirs: HashSet<PathBuf>,
    /// Folders whose entries changed since the last sync (fsynced one by
    /// one where there is no `syncfs`).
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    changed: HashSet<PathBuf>,
    undo: Vec<Undo>,
}

enum Undo {
    RemoveFile(PathBuf),
    RemoveDir(PathBuf),
    CutBack(PathBuf, u64),
    Restore(PathBuf, Vec<u8>),
}

impl Batch {
    fn new(root: &Path) -> Result<Batch> {
        Ok(Batch {
            root: File::open(root).map_err(Error::io("opening", root))?,
            root_path: root.to_path_buf(),
            dirs: HashSet::new(),
            changed: HashSet::new(),
            undo: Vec::new(),
        })
    }

    /// Create `dir` and its missing parents (noted for undo, not synced).
    fn create_dirs(&mut self, dir: &Path) -> Result<()> {
        if self.dirs.contains(dir) {
            return Ok(());
        }
        if !dir.is_dir() {
            if let Some(parent) = dir.parent() {
                self.create_dirs(parent)?;
            }
            match fs::create_dir(dir) {
                Ok(()) => {
                    self.undo.push(Undo::RemoveDir(dir.to_path_buf()));
                    if let Some(parent) = dir.parent() {
                        self.changed.insert(parent.to_path_buf());
                    }
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(e) => return Err(Error::io("creating folder", dir)(e)),
            }
        }
        self.dirs.insert(dir.to_path_buf());
        Ok(())
    }

    /// A temp file with `bytes` in `target`'s folder, not yet visible.
    fn temp(&mut self, target: &Path, bytes: &[u8]) -> Result<TempPath> {
        let dir = target.parent().expect("store paths always have a parent");
        self.create_dirs(dir)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(TEMP_PREFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder
            .tempfile_in(dir)
            .map_err(Error::io("creating temp file in", dir))?;
        tmp.write_all(bytes).map_err(Error::io("writing", target))?;
        // Without syncfs, each file is synced as it is written.
        #[cfg(not(target_os = "linux"))]
        tmp.as_file()
            .sync_all()
            .map_err(Error::io("writing", target))?;
        self.changed.insert(dir.to_path_buf());
        Ok(tmp.into_temp_path())
    }

    /// Rename a temp file onto `path`; with `replace`, `path` may exist
    /// (its bytes are kept for undo).
    fn rename(&mut self, tmp: TempPath, path: &Path, replace: bool) -> Result<()> {
        let note = match replace.then(|| fsutil::read_optional(path)).transpose()? {
            Some(Some(old)) => Undo::Restore(path.to_path_buf(), old),
            _ => Undo::RemoveFile(path.to_path_buf()),
        };
        tmp.persist(path)
            .map_err(|e| Error::io("renaming temp file onto", path)(e.error))?;
        self.undo.push(note);
        if let Some(dir) = path.parent() {
            self.changed.insert(dir.to_path_buf());
        }
        Ok(())
    }

    /// Append one record to an existing log (a torn tail was cut before).
    fn append(&mut self, path: &Path, line: &[u8]) -> Result<()> {
        let mut file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(Error::io("opening", path))?;
        let len = file.metadata().map_err(Error::io("reading", path))?.len();
        self.undo.push(Undo::CutBack(path.to_path_buf(), len));
        file.write_all(line)
            .map_err(Error::io("appending to", path))?;
        #[cfg(not(target_os = "linux"))]
        file.sync_data().map_err(Error::io("appending to", path))?;
        Ok(())
    }

    /// Make everything written so far durable; one failpoint step.
    fn sync(&mut self, step: &'static str) -> Result<()> {
        #[cfg(target_os = "linux")]
        rustix::fs::syncfs(&self.root)
            .map_err(|e| Error::io("syncing the file system of", &self.root_path)(e.into()))?;
        #[cfg(not(target_os = "linux"))]
        for dir in std::mem::take(&mut self.changed) {
            fsutil::sync_dir(&dir)?;
        }
        self.changed.clear();
        failpoint::step(step).map_err(Error::io("syncing", &self.root_path))?;
        Ok(())
    }

    /// The import succeeded: keep everything.
    fn commit(mut self) {
        self.undo.clear();
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        while let Some(note) = self.undo.pop() {
            let undone = match &note {
                Undo::CutBack(path, len) => fsutil::cut_back(path, *len),
                Undo::RemoveFile(path) => fsutil::remove_file(path),
                Undo::RemoveDir(dir) => fsutil::remove_dir(dir),
                Undo::Restore(path, bytes) => fsutil::write_atomic(path, bytes),
            };
            if undone.is_err() {
                // Stop in a consistent state, as the single-command undo does.
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::name_for_path;

    #[test]
    fn names_drop_one_extension_of_the_file_name() {
        for (rel, name) in [
            ("support/refund-bot.md", "support/refund-bot"),
            ("bot", "bot"),
            ("notes.v2.txt", "notes.v2"),
            ("v1.2/bot", "v1.2/bot"),
            ("a.b/c.d", "a.b/c"),
        ] {
            assert_eq!(name_for_path(rel), name, "{rel}");
        }
    }
}
