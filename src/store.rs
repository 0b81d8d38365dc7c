//! The store: a `.promptrel/` folder and every operation on it.
//!
//! Write order, so that a crash at any instant leaves a store that opens and
//! answers correctly: object, then changelog record, then ref. The changelog
//! may be one record ahead of a ref after a crash, never behind; the next
//! writer of that label settles it by completing the move (the record is the
//! truth: it was about to be acknowledged). Only that case is completed: a
//! ref a person edited is never overwritten behind their back.
//!
//! A command that fails with an error (disk full, EIO) instead of crashing
//! undoes what it wrote before returning it ([`UndoGuard`]), so a refused or
//! failed command leaves the store byte-for-byte as it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use crate::changelog::{self, Action, Record, Reverse};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::{MIN_PREFIX, VersionId};
use crate::lock::{self, StoreLock};
use crate::name::{Label, PromptName};
use crate::objects::Objects;
use crate::refs;
use crate::rev::{Rev, Spec};

/// Name of the store folder.
pub const DIR_NAME: &str = ".promptrel";
/// Name of the per-prompt log of added versions (under `logs/<name>/`).
pub const VERSIONS_LOG: &str = "+versions";

const GITATTRIBUTES: &str = "\
# Written by `promptrel init`. Git must never rewrite these bytes: objects are
# named by the hash of their exact content, and refs and logs are parsed.
* -text
objects/** -diff
";

const GITIGNORE: &str = "\
# Written by `promptrel init`: the lock and crash leftovers are never shared.
/lock
.tmp-*
";

/// Who made a change and when; the library never reads the clock or the
/// environment itself.
#[derive(Debug, Clone)]
pub struct Signature {
    /// `Name <email>` or a login name.
    pub author: String,
    /// When the change happens.
    pub time: Timestamp,
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    objects: Objects,
    lock_timeout: Duration,
}

/// What [`Store::add`] did.
#[derive(Debug, Clone)]
pub struct Added {
    /// The version's id.
    pub id: VersionId,
    /// The bytes were not in the object store before.
    pub new_object: bool,
    /// A changelog record was written: the id was not already NAME's newest version.
    pub new_version: bool,
    /// Labels moved by `--label`, each with its previous value.
    pub labels: Vec<Moved>,
}

/// A label move (or a no-op when `changed` is false).
#[derive(Debug, Clone)]
pub struct Moved {
    /// The prompt.
    pub name: PromptName,
    /// The label.
    pub label: Label,
    /// Where it pointed before.
    pub from: Option<VersionId>,
    /// Where it points now.
    pub to: VersionId,
    /// False when the label already pointed there (nothing was written).
    pub changed: bool,
}

/// A prompt and its labels, for [`Store::list`].
#[derive(Debug, Clone)]
pub struct PromptInfo {
    /// The prompt.
    pub name: PromptName,
    /// Its labels and the versions they point to, sorted by label.
    pub labels: Vec<(Label, VersionId)>,
}

/// Which records [`Store::log`] returns.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only this prompt.
    pub name: Option<PromptName>,
    /// Only moves of this label.
    pub label: Option<Label>,
}

impl Store {
    /// Create a store in `workdir/.promptrel`. Returns the store and whether
    /// it was created (false: one already existed and nothing was changed).
    pub fn init(workdir: &Path) -> Result<(Store, bool)> {
        let dir = workdir.join(DIR_NAME);
        if dir.exists() {
            return Store::open(&dir).map(|s| (s, false));
        }
        // Build the store in a temp folder beside it and rename it into place,
        // so a crash never leaves a half-made store that later commands trust.
        let tmp = tempfile::Builder::new()
            .prefix(".promptrel-init-")
            .tempdir_in(workdir)
            .map_err(Error::io("creating temp folder in", workdir))?;
        let t = tmp.path();
        fsutil::write_atomic(
            &t.join("config.yaml"),
            Config::default().to_yaml().as_bytes(),
        )?;
        fsutil::write_atomic(&t.join(".gitattributes"), GITATTRIBUTES.as_bytes())?;
        fsutil::write_atomic(&t.join(".gitignore"), GITIGNORE.as_bytes())?;
        // Created now so that no later command, even a refused one, adds a file.
        fsutil::write_atomic(&t.join("lock"), b"")?;
        for sub in ["objects", "refs", "logs"] {
            fsutil::create_dir_all(&t.join(sub))?;
            // Git does not track empty folders; a clone must still open.
            fsutil::write_atomic(&t.join(sub).join(".keep"), b"")?;
        }
        let tmp = tmp.keep();
        fs::rename(&tmp, &dir).map_err(|e| {
            let _ = fs::remove_dir_all(&tmp);
            Error::io("creating", &dir)(e)
        })?;
        fsutil::sync_dir(workdir)?;
        Store::open(&dir).map(|s| (s, true))
    }

    /// Find the store for `start`: its `.promptrel`, or its nearest parent's.
    pub fn discover(start: &Path) -> Result<Store> {
        for dir in start.ancestors() {
            let candidate = dir.join(DIR_NAME);
            if candidate.is_dir() {
                return Store::open(&candidate);
            }
        }
        Err(Error::NotFound {
            start: start.to_path_buf(),
        })
    }

    /// Open the store folder `dir` (the `.promptrel` folder itself).
    pub fn open(dir: &Path) -> Result<Store> {
        if !dir.is_dir() {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
                reason: "no such folder".into(),
            });
        }
        Config::load(&dir.join("config.yaml"))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            objects: Objects::new(dir.join("objects")),
            lock_timeout: lock::DEFAULT_TIMEOUT,
        })
    }

    /// Wait at most `timeout` for another writer's lock (default 10 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Store {
        self.lock_timeout = timeout;
        self
    }

    /// The `.promptrel` folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder holding `.promptrel` (usually the repository's root).
    pub fn workdir(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// The store's settings.
    pub fn config(&self) -> Result<Config> {
        Config::load(&self.dir.join("config.yaml"))
    }

    /// The object store.
    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    pub(crate) fn lock(&self) -> Result<StoreLock> {
        StoreLock::acquire(&self.dir.join("lock"), self.lock_timeout)
    }

    /// The lock for a command that writes. A store missing one of its
    /// folders is refused rather than silently recreated.
    fn write_lock(&self) -> Result<StoreLock> {
        let lock = self.lock()?;
        for sub in ["objects", "refs", "logs"] {
            let dir = self.dir.join(sub);
            if !dir.is_dir() {
                return Err(Error::corrupt(dir, format!("the {sub} folder is missing")));
            }
        }
        Ok(lock)
    }

    /// The prompt's folder in `tree` (`refs` or `logs`).
    pub(crate) fn prompt_path(&self, tree: &str, name: &PromptName) -> PathBuf {
        let mut path = self.dir.join(tree);
        path.extend(name.parts());
        path
    }

    /// `refs/<name>/@<label>`.
    pub fn ref_path(&self, name: &PromptName, label: &Label) -> PathBuf {
        self.prompt_path("refs", name).join(label.file_name())
    }

    /// `logs/<name>/@<label>`.
    pub fn label_log_path(&self, name: &PromptName, label: &Label) -> PathBuf {
        self.prompt_path("logs", name).join(label.file_name())
    }

    /// `logs/<name>/+versions`.
    pub fn versions_log_path(&self, name: &PromptName) -> PathBuf {
        self.prompt_path("logs", name).join(VERSIONS_LOG)
    }

    /// Whether NAME has any version.
    pub fn has_prompt(&self, name: &PromptName) -> bool {
        self.versions_log_path(name).is_file()
    }

    /// The path of `file` relative to the store's workdir, with `/`
    /// separators, when it lies inside it (recorded by `add`).
    pub fn relative_source(&self, file: &Path) -> Option<String> {
        let file = fs::canonicalize(file).ok()?;
        let workdir = fs::canonicalize(self.workdir()).ok()?;
        let rel = file.strip_prefix(workdir).ok()?;
        let parts: Option<Vec<&str>> = rel.iter().map(|p| p.to_str()).collect();
        Some(parts?.join("/"))
    }

    // ----- reading -------------------------------------------------------

    /// The verified bytes of a version.
    pub fn read(&self, id: &VersionId) -> Result<Vec<u8>> {
        self.objects.read(id)
    }

    /// What `label` of `name` points to now (`None`: no such label).
    pub fn label(&self, name: &PromptName, label: &Label) -> Result<Option<VersionId>> {
        refs::read(&self.ref_path(name, label))
    }

    /// Every label of `name`, sorted, with its version.
    pub fn labels(&self, name: &PromptName) -> Result<Vec<(Label, VersionId)>> {
        let mut out = Vec::new();
        for label in refs::labels_in(&self.prompt_path("refs", name))? {
            if let Some(id) = self.label(name, &label)? {
                out.push((label, id));
            }
        }
        Ok(out)
    }

    /// Resolve a revision to a version id (the object is not read).
    pub fn resolve(&self, rev: &Rev) -> Result<VersionId> {
        let name = &rev.name;
        match &rev.spec {
            Spec::Newest => {
                self.require_prompt(name)?;
                // The newest version is the last `add`; N back is N records earlier.
                let adds = Reverse::open(&self.versions_log_path(name))?;
                nth_back(adds, rev, rev.back, |r| Some(r.to))
            }
            Spec::LabelOrPrefix(text) => {
                let label = Label::new(text)?;
                if let Some(current) = self.label(name, &label)? {
                    if rev.back == 0 {
                        return Ok(current);
                    }
                    // The value N changes ago is what the N-th newest move came from.
                    let moves = Reverse::open(&self.label_log_path(name, &label))?;
                    return nth_back(moves, rev, rev.back - 1, |r| r.from);
                }
                if text.len() >= MIN_PREFIX && crate::id::is_lower_hex(text) && rev.back == 0 {
                    return self.resolve_prefix(name, text);
                }
                self.require_prompt(name)?;
                let labels: Vec<String> = self
                    .labels(name)?
                    .into_iter()
                    .map(|(l, _)| l.as_str().to_string())
                    .collect();
                Err(Error::UnknownLabel {
                    name: name.to_string(),
                    label: text.clone(),
                    suggestions: similar_to(text, labels),
                })
            }
            Spec::Prefix(prefix) => self.resolve_prefix(name, prefix),
        }
    }

    fn require_prompt(&self, name: &PromptName) -> Result<()> {
        if self.has_prompt(name) {
            return Ok(());
        }
        let names = self.prompts()?.into_iter().map(|n| n.to_string()).collect();
        Err(Error::UnknownPrompt {
            name: name.to_string(),
            suggestions: similar_to(name.as_str(), names),
        })
    }

    fn resolve_prefix(&self, name: &PromptName, prefix: &str) -> Result<VersionId> {
        self.require_prompt(name)?;
        let mut candidates: Vec<VersionId> = self
            .versions(name)?
            .into_iter()
            .map(|r| r.to)
            .filter(|id| id.as_str().starts_with(prefix))
            .collect();
        candidates.sort();
        candidates.dedup();
        match candidates.len() {
            0 => Err(Error::UnknownVersion {
                name: name.to_string(),
                prefix: prefix.to_string(),
            }),
            1 => Ok(candidates.remove(0)),
            _ => Err(Error::AmbiguousVersion {
                name: name.to_string(),
                prefix: prefix.to_string(),
                candidates,
            }),
        }
    }

    /// The `add` records of `name`, oldest first.
    pub fn versions(&self, name: &PromptName) -> Result<Vec<Record>> {
        changelog::read_all(&self.versions_log_path(name))
    }

    /// Every prompt in the store, sorted by name.
    pub fn prompts(&self) -> Result<Vec<PromptName>> {
        let logs = self.dir.join("logs");
        let mut names = Vec::new();
        for entry in walkdir::WalkDir::new(&logs).min_depth(2) {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&logs).to_path_buf();
                Error::io("listing", path)(e.into())
            })?;
            if entry.file_name() != VERSIONS_LOG || !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .parent()
                .and_then(|p| p.strip_prefix(&logs).ok())
                .expect("walkdir stays under its root");
            let text: Option<Vec<&str>> = rel.iter().map(|p| p.to_str()).collect();
            let name = text
                .map(|parts| parts.join("/"))
                .and_then(|n| PromptName::new(&n).ok())
                .ok_or_else(|| Error::corrupt(entry.path(), "folder is not a valid prompt name"))?;
            names.push(name);
        }
        names.sort();
        Ok(names)
    }

    /// Every prompt with its labels.
    pub fn list(&self) -> Result<Vec<PromptInfo>> {
        self.prompts()?
            .into_iter()
            .map(|name| {
                let labels = self.labels(&name)?;
                Ok(PromptInfo { name, labels })
            })
            .collect()
    }

    /// Changelog records, newest first, streamed from the ends of the logs.
    pub fn log(&self, filter: &LogFilter) -> Result<LogIter> {
        let names = match &filter.name {
            Some(name) => {
                self.require_prompt(name)?;
                if let Some(label) = &filter.label
                    && !self.label_log_path(name, label).exists()
                    && self.label(name, label)?.is_none()
                {
                    return Err(self.unknown_label(name, label)?);
                }
                vec![name.clone()]
            }
            None => self.prompts()?,
        };
        let mut sources = Vec::new();
        for name in &names {
            let labels = match &filter.label {
                Some(label) => vec![label.clone()],
                None => {
                    sources.push(Reverse::open(&self.versions_log_path(name))?);
                    let dir = self.prompt_path("logs", name);
                    let mut labels = refs::labels_in(&dir)?;
                    labels.retain(|l| self.label_log_path(name, l).is_file());
                    labels
                }
            };
            for label in labels {
                sources.push(Reverse::open(&self.label_log_path(name, &label))?);
            }
        }
        LogIter::new(sources)
    }

    // ----- writing -------------------------------------------------------

    /// Store `bytes` as a version of `name`, then point `labels` at it.
    ///
    /// Identical content is stored once: when it is already NAME's newest
    /// version no record is written. Protected labels are refused before
    /// anything is written.
    pub fn add(
        &self,
        name: &PromptName,
        bytes: &[u8],
        message: &str,
        labels: &[Label],
        file: Option<String>,
        sig: &Signature,
    ) -> Result<Added> {
        let config = self.config()?;
        refuse_protected(&config, labels)?;
        let _lock = self.write_lock()?;
        // Read everything that can refuse the command before the first write,
        // so that a refused add leaves the store unchanged.
        let versions_log = self.versions_log_path(name);
        let newest = Reverse::open(&versions_log)?.next_record()?.map(|r| r.to);
        for label in labels {
            // Also finishes a move a crashed writer logged but did not apply,
            // so this add's record chains from the label's true value.
            self.settle(name, label)?;
        }
        let mut guard = UndoGuard::default();
        guard.creating(&self.objects.path(&VersionId::of(bytes)));
        let (id, new_object) = self.objects.write(bytes)?;
        let new_version = newest.as_ref() != Some(&id);
        if new_version {
            let record = Record {
                time: sig.time,
                action: Action::Add,
                prompt: name.to_string(),
                label: None,
                from: newest,
                to: id.clone(),
                author: sig.author.clone(),
                message: message.to_string(),
                source: None,
                file,
                undo: false,
            };
            guard.appending(&versions_log)?;
            changelog::append(&versions_log, &record)?;
        }
        let mut moved = Vec::new();
        for label in labels {
            moved.push(self.move_label(
                name,
                label,
                &id,
                Action::Label,
                message,
                None,
                false,
                sig,
                &mut guard,
            )?);
        }
        guard.commit();
        Ok(Added {
            id,
            new_object,
            new_version,
            labels: moved,
        })
    }

    /// Point `label` of `name` at `target` (a revision within NAME).
    pub fn set_label(
        &self,
        name: &PromptName,
        label: &Label,
        target: &str,
        message: &str,
        sig: &Signature,
    ) -> Result<Moved> {
        refuse_protected(&self.config()?, std::slice::from_ref(label))?;
        let target = Rev::parse_in(name, target)?;
        let _lock = self.write_lock()?;
        self.settle(name, label)?;
        let id = self.resolve(&target)?;
        let mut guard = UndoGuard::default();
        let moved = self.move_label(
            name,
            label,
            &id,
            Action::Label,
            message,
            None,
            false,
            sig,
            &mut guard,
        )?;
        guard.commit();
        Ok(moved)
    }

    /// Point `to` at what `from` (a revision within NAME, usually a label)
    /// points to. With `expect`, fail with [`Error::ExpectMismatch`] unless
    /// `to` still points at that version.
    pub fn promote(
        &self,
        name: &PromptName,
        from: &str,
        to: &Label,
        expect: Option<&str>,
        message: &str,
        sig: &Signature,
    ) -> Result<Moved> {
        let from_rev = Rev::parse_in(name, from)?;
        let expect_rev = expect.map(|e| Rev::parse_in(name, e)).transpose()?;
        let _lock = self.write_lock()?;
        self.settle(name, to)?;
        let id = self.resolve(&from_rev)?;
        self.check_expect(name, to, expect_rev.as_ref())?;
        let mut guard = UndoGuard::default();
        let moved = self.move_label(
            name,
            to,
            &id,
            Action::Promote,
            message,
            Some(from_rev.spec_text()),
            false,
            sig,
            &mut guard,
        )?;
        guard.commit();
        Ok(moved)
    }

    /// Move `label` back: to `to` when given, else to what it held before its
    /// most recent change that has not itself been rolled back.
    pub fn rollback(
        &self,
        name: &PromptName,
        label: &Label,
        to: Option<&str>,
        expect: Option<&str>,
        message: &str,
        sig: &Signature,
    ) -> Result<Moved> {
        let to_rev = to.map(|t| Rev::parse_in(name, t)).transpose()?;
        let expect_rev = expect.map(|e| Rev::parse_in(name, e)).transpose()?;
        let _lock = self.write_lock()?;
        self.settle(name, label)?;
        if self.label(name, label)?.is_none() {
            self.require_prompt(name)?;
            return Err(self.unknown_label(name, label)?);
        }
        self.check_expect(name, label, expect_rev.as_ref())?;
        let (target, undo) = match &to_rev {
            Some(rev) => (self.resolve(rev)?, false),
            None => (self.undo_target(name, label)?, true),
        };
        let mut guard = UndoGuard::default();
        let moved = self.move_label(
            name,
            label,
            &target,
            Action::Rollback,
            message,
            None,
            undo,
            sig,
            &mut guard,
        )?;
        guard.commit();
        Ok(moved)
    }

    fn unknown_label(&self, name: &PromptName, label: &Label) -> Result<Error> {
        let labels = self
            .labels(name)?
            .into_iter()
            .map(|(l, _)| l.to_string())
            .collect();
        Ok(Error::UnknownLabel {
            name: name.to_string(),
            label: label.to_string(),
            suggestions: similar_to(label.as_str(), labels),
        })
    }

    /// Walk the label's log from the newest record: every undo hides the
    /// newest change not yet hidden, so repeated rollbacks walk further back.
    fn undo_target(&self, name: &PromptName, label: &Label) -> Result<VersionId> {
        let mut pending_undos = 0usize;
        for record in Reverse::open(&self.label_log_path(name, label))? {
            let record = record?;
            if record.undo {
                pending_undos += 1;
            } else if pending_undos > 0 {
                pending_undos -= 1;
            } else {
                return record.from.ok_or_else(|| Error::NothingToRollBack {
                    name: name.to_string(),
                    label: label.to_string(),
                });
            }
        }
        Err(Error::NothingToRollBack {
            name: name.to_string(),
            label: label.to_string(),
        })
    }

    fn check_expect(&self, name: &PromptName, label: &Label, expect: Option<&Rev>) -> Result<()> {
        let Some(expect) = expect else { return Ok(()) };
        let expected = self.resolve(expect)?;
        let found = self.label(name, label)?;
        if found.as_ref() != Some(&expected) {
            return Err(Error::ExpectMismatch {
                name: name.to_string(),
                label: label.to_string(),
                expected,
                found,
            });
        }
        Ok(())
    }

    /// Finish a move a crashed writer logged but did not apply to the ref.
    fn settle(&self, name: &PromptName, label: &Label) -> Result<()> {
        let log = self.label_log_path(name, label);
        if let Some(len) = changelog::torn_tail(&log)? {
            fsutil::truncate_durable(&log, len)?;
        }
        let Some(last) = Reverse::open(&log)?.next_record()? else {
            return Ok(());
        };
        let path = self.ref_path(name, label);
        // Only the crash case (the ref still holds the logged move's `from`)
        // is completed. A ref that disagrees otherwise was set by a person (a
        // hand edit, a merge resolution): it is left as they chose, and
        // `fsck` reports the disagreement.
        let current = refs::read(&path)?;
        if current != last.from || current.as_ref() == Some(&last.to) {
            return Ok(());
        }
        refs::write(&path, &last.to)?;
        Ok(())
    }

    /// Log, then move the ref. Caller holds the lock; `guard` learns what
    /// to put back should this or a later step of the command fail.
    #[allow(clippy::too_many_arguments)]
    fn move_label(
        &self,
        name: &PromptName,
        label: &Label,
        to: &VersionId,
        action: Action,
        message: &str,
        source: Option<String>,
        undo: bool,
        sig: &Signature,
        guard: &mut UndoGuard,
    ) -> Result<Moved> {
        let ref_path = self.ref_path(name, label);
        let from = refs::read(&ref_path)?;
        // Never point a label at bytes that would be refused when read.
        self.objects.read(to)?;
        let changed = from.as_ref() != Some(to);
        if changed {
            let record = Record {
                time: sig.time,
                action,
                prompt: name.to_string(),
                label: Some(label.to_string()),
                from: from.clone(),
                to: to.clone(),
                author: sig.author.clone(),
                message: message.to_string(),
                source,
                file: None,
                undo,
            };
            let log = self.label_log_path(name, label);
            guard.appending(&log)?;
            changelog::append(&log, &record)?;
            guard.replacing(&ref_path)?;
            refs::write(&ref_path, to)?;
        }
        Ok(Moved {
            name: name.clone(),
            label: label.clone(),
            from,
            to: to.clone(),
            changed,
        })
    }
}

/// What a writing command has changed so far, put back if it fails.
///
/// Before each write the command notes how to undo it. Dropped without
/// [`UndoGuard::commit`] (an error returned with `?`, or a panic), the guard
/// undoes the notes newest first: every state on the way back is one a crash
/// could have left (a record without its ref move, an object without its
/// record), so if an undo step itself fails it stops there and the store is
/// still consistent. A crash, by contrast, runs no undo at all: that case
/// relies on the format's recovery (torn tails are not written, temp files
/// are ignored, a ref one move behind its log is settled forward).
///
/// Repairs made before the first write (settle, cutting a torn tail) are not
/// undone: they complete or drop what a crashed writer left, losing nothing.
#[derive(Debug, Default)]
struct UndoGuard {
    notes: Vec<UndoNote>,
}

#[derive(Debug)]
enum UndoNote {
    /// A log this command appended to: cut it back to this length.
    CutBack(PathBuf, u64),
    /// A file (object, log or ref) this command created.
    RemoveFile(PathBuf),
    /// A folder this command created.
    RemoveDir(PathBuf),
    /// A file this command replaced, with its previous bytes.
    Restore(PathBuf, Vec<u8>),
}

impl UndoGuard {
    /// Before creating `path` (nothing to note when it already exists):
    /// remove it, and every folder above it that does not exist yet.
    fn creating(&mut self, path: &Path) {
        if fs::symlink_metadata(path).is_ok() {
            return;
        }
        let missing: Vec<PathBuf> = path
            .ancestors()
            .skip(1)
            .take_while(|dir| fs::symlink_metadata(dir).is_err())
            .map(Path::to_path_buf)
            .collect();
        self.notes
            .extend(missing.into_iter().rev().map(UndoNote::RemoveDir));
        self.notes.push(UndoNote::RemoveFile(path.to_path_buf()));
    }

    /// Before appending to the log at `path`: cut it back to its complete
    /// records (a torn tail, if any, is cut before the append anyway).
    fn appending(&mut self, path: &Path) -> Result<()> {
        let len = match fs::metadata(path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.creating(path);
                return Ok(());
            }
            Err(e) => return Err(Error::io("reading", path)(e)),
        };
        let len = changelog::torn_tail(path)?.unwrap_or(len);
        self.notes.push(UndoNote::CutBack(path.to_path_buf(), len));
        Ok(())
    }

    /// Before replacing the whole file at `path` (a ref): its bytes now.
    fn replacing(&mut self, path: &Path) -> Result<()> {
        match fsutil::read_optional(path)? {
            Some(bytes) => self
                .notes
                .push(UndoNote::Restore(path.to_path_buf(), bytes)),
            None => self.creating(path),
        }
        Ok(())
    }

    /// The command succeeded: keep everything.
    fn commit(mut self) {
        self.notes.clear();
    }
}

impl Drop for UndoGuard {
    fn drop(&mut self) {
        while let Some(note) = self.notes.pop() {
            let undone = match &note {
                UndoNote::CutBack(path, len) => fsutil::cut_back(path, *len),
                UndoNote::RemoveFile(path) => fsutil::remove_file(path),
                UndoNote::RemoveDir(dir) => fsutil::remove_dir(dir),
                UndoNote::Restore(path, bytes) => fsutil::write_atomic(path, bytes),
            };
            if undone.is_err() {
                // Stop in a consistent state; the error the command returns
                // is the one that made it fail.
                break;
            }
        }
    }
}

fn refuse_protected(config: &Config, labels: &[Label]) -> Result<()> {
    match labels.iter().find(|l| config.is_protected(l.as_str())) {
        Some(label) => Err(Error::ProtectedLabel {
            label: label.to_string(),
        }),
        None => Ok(()),
    }
}

/// Skip `skip` records of a newest-first log and return `pick` of the next;
/// an error saying how far back the history goes when it is too short.
fn nth_back(
    records: Reverse,
    rev: &Rev,
    skip: usize,
    pick: impl Fn(Record) -> Option<VersionId>,
) -> Result<VersionId> {
    let mut usable = 0usize;
    for (i, record) in records.enumerate() {
        match (i == skip, pick(record?)) {
            (true, Some(id)) => return Ok(id),
            (true, None) => break,
            (false, Some(_)) => usable += 1,
            (false, None) => {}
        }
    }
    // For `NAME~N` the newest version itself is step 0, not a step back.
    let available = match rev.spec {
        Spec::Newest => usable.saturating_sub(1),
        _ => usable,
    };
    Err(Error::HistoryTooShort {
        rev: rev.to_string(),
        steps: rev.back,
        available,
    })
}

/// Names close to `wanted`, closest first.
fn similar_to(wanted: &str, candidates: Vec<String>) -> Vec<String> {
    let mut scored: Vec<(f64, String)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wanted, &c), c))
        .filter(|(score, _)| *score > 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, c)| c).collect()
}

/// Records from several newest-first logs, merged newest first.
pub struct LogIter {
    sources: Vec<Reverse>,
    heads: Vec<Option<Record>>,
}

impl LogIter {
    fn new(mut sources: Vec<Reverse>) -> Result<LogIter> {
        let heads = sources
            .iter_mut()
            .map(|s| s.next_record())
            .collect::<Result<_>>()?;
        Ok(LogIter { sources, heads })
    }

    fn next_record(&mut self) -> Result<Option<Record>> {
        // Ties (one command moving a label as it adds) go to the later
        // source, so a label move lists above the add that caused it.
        let best = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|r| (r.time, i)))
            .max();
        let Some((_, i)) = best else { return Ok(None) };
        let next = self.sources[i].next_record()?;
        Ok(std::mem::replace(&mut self.heads[i], next))
    }
}

impl Iterator for LogIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        self.next_record().transpose()
    }
}
