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
//! 1. every new whole file (object, record, ref) is written, not yet under
//!    its name: on Linux as an anonymous file (`O_TMPFILE`), elsewhere (and
//!    for refs, which replace a file) as a temp file (`.tmp-*`, which
//!    readers ignore) in its own folder; sync, and while the disk takes
//!    these bytes, make the folders the new records go in;
//! 2. objects are put in place (linked, or renamed); sync;
//! 3. `+versions` records (each a new file), the same way; sync;
//! 4. label records, the same way; sync;
//! 5. refs renamed over the old ones; sync.
//!
//! On Linux a sync is one `syncfs(2)` of the store's file system (none for
//! a step that wrote nothing); elsewhere it is an fsync of every file when
//! written and of every folder changed since the last sync. A crash
//! therefore leaves only what a crash of single commands can leave (temp
//! files, empty folders, logs ahead of refs), which readers ignore and
//! `fsck --repair` or the next writer clears. A failure (disk full) undoes
//! what the import wrote, newest first, like every other command (on
//! Linux a step's undo is synced once, like the step). Each step's files
//! are written by two threads per core: the time goes to the file system
//! creating folders and entries, and much of it is spent waiting there.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::changelog::{Action, Record, SHARD_SIZE};
use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::name::{Label, PromptName};
use crate::split::LabelValue;
use crate::store::{Signature, Store};
use crate::update::LabelState;

mod write;

use write::{Anonymous, Batch, NewFile, Pending, Root, Temps, make_folders, on_threads, runs};

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
    /// Files whose front matter is invalid, in path order: imported all
    /// the same (exact bytes), but `render` will refuse them.
    pub invalid_front_matter: Vec<InvalidFrontMatter>,
}

/// A file imported with front matter that does not parse
/// ([`crate::meta::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFrontMatter {
    /// The prompt it became.
    pub name: PromptName,
    /// The file ([`ImportFile::path`]).
    pub path: PathBuf,
    /// Why, as [`Error::FrontMatter`] says it (line and column of the file).
    pub problem: String,
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
        let mut state: Vec<State> = Vec::with_capacity(plan.files.len());
        for f in &plan.files {
            let head = self.versions_log(&f.name).head()?;
            let mut current = Vec::with_capacity(labels.len());
            for label in labels {
                // Also finishes a move a crashed writer logged but did not apply.
                self.settle(&f.name, label)?;
                current.push(self.label_state(&f.name, label)?);
            }
            state.push((head.newest.map(|r| r.to), head.next_seq, current));
        }

        // Declared before the pending temp files: on an early return those
        // are dropped (deleted) first, then the batch undoes the rest.
        let root = Root::open(self.dir())?;
        let mut batch = Batch::new(&root);
        // Puts back the open-file limit it may raise when the import ends.
        let anonymous = Anonymous::new();
        let mut done = Imported {
            files: plan.files.len(),
            ..Imported::default()
        };

        // Step 1: temp files for every new object, new log and ref.
        let step1 = Step1 {
            store: self,
            max_size: plan.max_size,
            message,
            labels,
            sig,
            anonymous: &anonymous,
            root: &root,
            fanouts: self.objects().folders()?,
        };
        let prepared = step1.prepare_all(&plan.files, &state, &mut batch, progress)?;
        let mut objects: Vec<NewFile> = Vec::new();
        let mut stored: HashSet<VersionId> = HashSet::new();
        let mut versions: Vec<NewFile> = Vec::new();
        let mut label_logs: Vec<NewFile> = Vec::new();
        let mut refs: Vec<NewFile> = Vec::new();
        for file in prepared {
            if let Some(object) = file.object {
                // Two threads may both have found the same new content.
                if stored.insert(file.id.clone()) {
                    objects.push(object);
                }
            }
            if let Some(problem) = file.front_matter {
                done.invalid_front_matter.push(problem);
            }
            match file.version {
                Some(log) => {
                    done.new_versions += 1;
                    done.new_prompts += usize::from(file.new_prompt);
                    versions.push(log);
                }
                None => done.unchanged += 1,
            }
            for (log, new_ref) in file.labels {
                done.labels_moved += 1;
                label_logs.push(log);
                refs.push(new_ref);
            }
        }
        done.new_objects = objects.len();
        // The new records' folders are made while the disk takes step 1's
        // bytes: that sync is mostly waiting, folders are mostly CPU.
        batch.sync_during("import: temp files written", || {
            make_folders(&root, versions.iter_mut().chain(&mut label_logs).collect())
        })?;

        // Step 2: objects.
        batch.publish_all(objects, false)?;
        batch.sync("import: objects in place")?;
        // Steps 3 and 4: records, `+versions` before label logs.
        batch.publish_all(versions, false)?;
        batch.sync("import: versions recorded")?;
        batch.publish_all(label_logs, false)?;
        batch.sync("import: label moves recorded")?;
        // Step 5: refs.
        batch.publish_all(refs, true)?;
        batch.sync("import: labels moved")?;
        batch.commit();
        Ok(done)
    }
}

/// What step 1 of an import needs besides the files.
struct Step1<'a> {
    store: &'a Store,
    max_size: u64,
    message: &'a str,
    labels: &'a [Label],
    sig: &'a Signature,
    anonymous: &'a Anonymous,
    root: &'a Root,
    /// The object fan-out folders there were before the import: under the
    /// lock, an object in any other folder is one this import writes.
    fanouts: HashSet<String>,
}

impl Step1<'_> {
    /// Step 1 on every core: the files are independent, and most of the
    /// time goes to the file system creating entries. Each thread takes a
    /// contiguous run of the (sorted) files; this thread takes the first
    /// and reports progress.
    fn prepare_all(
        &self,
        files: &[ImportFile],
        state: &[State],
        batch: &mut Batch,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Prepared>> {
        let n = files.len();
        let done = AtomicUsize::new(0);
        let job = |run: Vec<(&ImportFile, &State)>, tick: &mut dyn FnMut()| {
            let mut temps = Temps::new(self.anonymous, self.root);
            let prepared = self.prepare(&run, &mut temps, tick);
            (temps, prepared)
        };
        let parts = on_threads(
            runs(files.iter().zip(state).collect()),
            |run| {
                job(run, &mut || {
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                })
            },
            |run| {
                job(run, &mut || {
                    done.fetch_add(1, Ordering::Relaxed);
                })
            },
        );
        progress(done.load(Ordering::Relaxed));
        let mut temps = Vec::with_capacity(parts.len());
        let mut out = Vec::with_capacity(n);
        let mut result = Ok(());
        for (part, prepared) in parts {
            temps.push(part);
            match prepared {
                Ok(prepared) => out.extend(prepared),
                Err(e) => result = result.and(Err(e)),
            }
        }
        batch.absorb_temps(temps);
        result.map(|()| out)
    }

    /// Step 1 for a run of files: read, hash, and write the temp files.
    fn prepare(
        &self,
        files: &[(&ImportFile, &State)],
        temps: &mut Temps<'_>,
        tick: &mut dyn FnMut(),
    ) -> Result<Vec<Prepared>> {
        let Step1 {
            store,
            max_size,
            message,
            labels,
            sig,
            ..
        } = *self;
        let mut seen: HashSet<VersionId> = HashSet::new();
        let mut out = Vec::with_capacity(files.len());
        // Anonymous records are made here; their folders (one new one for
        // a new prompt) are made during step 1's sync.
        let logs = store.dir().join("logs");
        for &(f, (newest, seq, current)) in files {
            let bytes = read_prompt(&f.path, max_size)?;
            let front_matter = crate::meta::parse(&bytes)
                .err()
                .map(|e| InvalidFrontMatter {
                    name: f.name.clone(),
                    path: f.path.clone(),
                    problem: e.to_string(),
                });
            let id = VersionId::of(&bytes);
            let mut object = None;
            if seen.insert(id.clone()) {
                let path = store.objects().path(&id);
                let fanout = id.object_path_parts().0;
                let exists = self.fanouts.contains(fanout)
                    && match fs::symlink_metadata(&path) {
                        Ok(_) => true,
                        Err(e) if e.kind() == ErrorKind::NotFound => false,
                        Err(e) => return Err(Error::io("reading", &path)(e)),
                    };
                if !exists {
                    object = Some((temps.temp(&path, &bytes, None, 0)?, path));
                }
            }
            let record = |action, label: Option<&Label>, seq, from: Option<LabelValue>| Record {
                time: sig.time,
                action,
                prompt: f.name.to_string(),
                label: label.map(Label::to_string),
                seq,
                from: from.as_ref().map(|f| f.headline().clone()),
                from_split: from.as_ref().and_then(|f| f.split().cloned()),
                to: id.clone(),
                split: None,
                author: sig.author.clone(),
                message: message.to_string(),
                source: None,
                file: if label.is_none() {
                    f.file.clone()
                } else {
                    None
                },
                undo: false,
                release: None,
            };
            let version = match newest {
                Some(newest) if *newest == id => None,
                _ => {
                    let from = newest.clone().map(LabelValue::One);
                    let record = record(Action::Add, None, *seq, from);
                    let path = store.versions_log(&f.name).record_path(&record);
                    // A shard's first record: its folder is new (for a new
                    // prompt, the log's folder).
                    let missing = usize::from(*seq % SHARD_SIZE == 1);
                    Some((
                        temps.temp(&path, &record.to_line(), Some(&logs), missing)?,
                        path,
                    ))
                }
            };
            let mut moves = Vec::new();
            for (label, state) in labels.iter().zip(current) {
                if !state.moves(&LabelValue::One(id.clone())) {
                    continue;
                }
                let record = record(
                    Action::Label,
                    Some(label),
                    state.head.next_seq,
                    state.from(),
                );
                let path = store.label_log(&f.name, label).record_path(&record);
                let missing = usize::from(state.head.next_seq % SHARD_SIZE == 1);
                let log = (
                    temps.temp(&path, &record.to_line(), Some(&logs), missing)?,
                    path,
                );
                let ref_path = store.ref_path(&f.name, label);
                // Replaced by rename: only a named file can be.
                let new_ref = (
                    Pending::Named(temps.named(&ref_path, format!("{id}\n").as_bytes())?),
                    ref_path,
                );
                moves.push((log, new_ref));
            }
            out.push(Prepared {
                id,
                front_matter,
                object,
                new_prompt: newest.is_none(),
                version,
                labels: moves,
            });
            tick();
        }
        Ok(out)
    }
}

/// What the import found before writing, per file: NAME's newest version
/// and the `seq` of its next record, and where each `--label` is.
type State = (Option<VersionId>, u64, Vec<LabelState>);

/// Step 1's result for one file.
struct Prepared {
    id: VersionId,
    /// The file's front matter does not parse.
    front_matter: Option<InvalidFrontMatter>,
    /// The new object's bytes, and where they go.
    object: Option<NewFile>,
    /// NAME had no version before.
    new_prompt: bool,
    /// The `add` record, unless the file is NAME's newest version already.
    version: Option<NewFile>,
    /// Per label that moves: its record, and the temp file of its new ref.
    labels: Vec<(NewFile, NewFile)>,
}

/// Read a prompt file, refusing an empty or oversized one (it may have
/// changed since the plan was made).
fn read_prompt(path: &Path, max_size: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| {
            // Sized to the file, so that it is read in one call (and one
            // more that finds the end), not in a dozen growing ones.
            let len = f.metadata()?.len().min(max_size + 1);
            bytes.reserve_exact(len as usize);
            f.take(max_size + 1).read_to_end(&mut bytes)
        })
        .map_err(Error::io("reading", path))?;
    if bytes.is_empty() || bytes.len() as u64 > max_size {
        return Err(Error::io("reading", path)(std::io::Error::new(
            ErrorKind::InvalidData,
            "the file changed during the import (it is now empty or too large)",
        )));
    }
    Ok(bytes)
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
