//! The store: a `.promptrel/` folder, where everything in it lives, and the
//! plain reads. Resolving revisions is in `resolve.rs`, changing labels and
//! adding versions in `update.rs`, the changelog view in `history.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use crate::changelog::{Log, Record};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::VersionId;
use crate::lock::{self, StoreLock};
use crate::name::{Label, PromptName};
use crate::objects::Objects;
use crate::refs::{self, RefValue};
use crate::split::LabelValue;

/// Name of the store folder.
pub const DIR_NAME: &str = ".promptrel";
/// Name of the per-prompt log of added versions (folder `logs/<name>+versions/`).
pub const VERSIONS_LOG: &str = "+versions";

const GITATTRIBUTES: &str = "\
# Written by `promptrel init`. Git must never rewrite these bytes: objects are
# named by the hash of their exact content, and refs and logs are parsed.
* -text -ident -filter
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

/// A prompt and its labels, for [`Store::list`].
#[derive(Debug, Clone)]
pub struct PromptInfo {
    /// The prompt.
    pub name: PromptName,
    /// Its labels and their values (one version or a split), sorted by label.
    pub labels: Vec<(Label, LabelValue)>,
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
        Store::open(&Store::find_dir(start)?)
    }

    /// The `.promptrel` folder [`Store::discover`] would open, not opened
    /// (`upgrade` converts a store that cannot be opened yet).
    pub fn find_dir(start: &Path) -> Result<PathBuf> {
        start
            .ancestors()
            .map(|dir| dir.join(DIR_NAME))
            .find(|candidate| candidate.is_dir())
            .ok_or_else(|| Error::NotFound {
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
    pub(crate) fn write_lock(&self) -> Result<StoreLock> {
        let lock = self.lock()?;
        for sub in ["objects", "refs", "logs"] {
            let dir = self.dir.join(sub);
            if !dir.is_dir() {
                return Err(Error::corrupt(dir, format!("the {sub} folder is missing")));
            }
        }
        // A release a crashed writer committed is completed before anything
        // else is written.
        self.settle_release()?;
        Ok(lock)
    }

    /// `refs/<name>/`: the prompt's label files.
    pub(crate) fn refs_dir(&self, name: &PromptName) -> PathBuf {
        let mut path = self.dir.join("refs");
        path.extend(name.parts());
        path
    }

    /// `refs/<name>/@<label>`.
    pub fn ref_path(&self, name: &PromptName, label: &Label) -> PathBuf {
        self.refs_dir(name).join(label.file_name())
    }

    /// The moves of `label` of `name` (folder `logs/<name>@<label>/`).
    pub fn label_log(&self, name: &PromptName, label: &Label) -> Log {
        self.prompt_log(name, label.file_name())
    }

    /// The versions of `name` (folder `logs/<name>+versions/`).
    pub fn versions_log(&self, name: &PromptName) -> Log {
        self.prompt_log(name, VERSIONS_LOG.to_string())
    }

    /// The log `stem` of `name`: its folder is `logs/<name><stem>/` (in
    /// the folder of NAME's namespace, if any).
    pub(crate) fn prompt_log(&self, name: &PromptName, stem: String) -> Log {
        let mut dir = self.dir.join("logs");
        let mut parts = name.parts().peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_some() {
                dir.push(part);
            } else {
                dir.push(format!("{part}{stem}"));
            }
        }
        Log::new(dir, stem)
    }

    /// Whether NAME has any version.
    pub fn has_prompt(&self, name: &PromptName) -> bool {
        self.versions_log(name).exists().unwrap_or(false)
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

    /// The verified bytes of a version.
    pub fn read(&self, id: &VersionId) -> Result<Vec<u8>> {
        self.objects.read(id)
    }

    /// What `label` of `name` holds now, one version or a split (`None`:
    /// no such label).
    pub fn label(&self, name: &PromptName, label: &Label) -> Result<Option<LabelValue>> {
        // A release committed but not complete: its values, for all of its
        // labels or none (release.rs).
        if let Some(to) = self.pending_value(name, label)? {
            return Ok(Some(to));
        }
        match self.label_value(name, label)? {
            RefValue::Missing => Ok(None),
            RefValue::Id(id) => Ok(Some(LabelValue::One(id))),
            RefValue::Split(split) => Ok(Some(LabelValue::Split(split))),
            RefValue::Conflict(sides) => Err(Error::MergeConflict {
                path: self.ref_path(name, label),
                name: name.to_string(),
                label: label.to_string(),
                sides,
            }),
        }
    }

    /// What the ref of `label` holds, a merge conflict included.
    pub fn label_value(&self, name: &PromptName, label: &Label) -> Result<RefValue> {
        refs::read_value(&self.ref_path(name, label))
    }

    /// Every label of `name`, sorted, with its value.
    pub fn labels(&self, name: &PromptName) -> Result<Vec<(Label, LabelValue)>> {
        let mut out = Vec::new();
        for label in refs::labels_in(&self.refs_dir(name))? {
            if let Some(value) = self.label(name, &label)? {
                out.push((label, value));
            }
        }
        Ok(out)
    }

    /// The `add` records of `name`, oldest first.
    pub fn versions(&self, name: &PromptName) -> Result<Vec<Record>> {
        self.versions_log(name).read_all()
    }

    /// Every prompt in the store, sorted by name (found as
    /// `discover.rs` describes).
    pub fn prompts(&self) -> Result<Vec<PromptName>> {
        Ok(self
            .find_prompts(false)?
            .into_iter()
            .map(|p| p.name)
            .collect())
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
}
