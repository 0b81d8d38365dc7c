//! How an import writes: new files not yet under their names (anonymous
//! files on Linux, temp files elsewhere), folders, links and renames into
//! place, one sync per step, the undo of a failed import, and the threads
//! that share the work. The order of the steps is [`super`]'s.

use std::collections::HashSet;
use std::fs;
#[cfg(target_os = "linux")]
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempPath;

use crate::error::{Error, Result};
use crate::failpoint;
use crate::fsutil;

/// How many threads share `n` files: one for a few hundred, else two per
/// core (at most 16): the threads spend much of their time waiting inside
/// the file system (its journal, a folder's lock, the disk), and on two
/// cores four threads import 10 000 files in 0.88× the time two take.
pub(super) fn threads_for(n: usize) -> usize {
    match n {
        0..256 => 1,
        _ => std::thread::available_parallelism().map_or(2, |t| (2 * t.get()).min(16)),
    }
}

/// `items` cut into one contiguous run per thread ([`threads_for`]).
pub(super) fn runs<T>(items: Vec<T>) -> Vec<Vec<T>> {
    let threads = threads_for(items.len());
    let chunk = items.len().div_ceil(threads).max(1);
    let mut items = items.into_iter().peekable();
    let mut runs = Vec::with_capacity(threads);
    while items.peek().is_some() {
        runs.push(items.by_ref().take(chunk).collect());
    }
    runs
}

/// `first(runs[0])` on this thread and `job` on each other run on a thread
/// of its own; the results in the order of `runs`.
pub(super) fn on_threads<C: Send, R: Send>(
    runs: Vec<C>,
    first: impl FnOnce(C) -> R,
    job: impl Fn(C) -> R + Sync,
) -> Vec<R> {
    std::thread::scope(|scope| {
        let mut runs = runs.into_iter();
        let Some(head) = runs.next() else {
            return Vec::new();
        };
        let job = &job;
        let others: Vec<_> = runs.map(|c| scope.spawn(move || job(c))).collect();
        let mut out = vec![first(head)];
        out.extend(
            others
                .into_iter()
                .map(|h| h.join().expect("import threads do not panic")),
        );
        out
    })
}

/// A new file's bytes, and where they go.
pub(super) type NewFile = (Pending, PathBuf);

/// A new file's bytes, written (not yet durable) but not under its name.
pub(super) enum Pending {
    /// Linux: an anonymous file (`O_TMPFILE`), linked in by name once
    /// durable. It has no folder entry of its own, so a new file costs one
    /// folder change (the link) where a temp file costs two (create,
    /// rename), and a crash leaves nothing behind. A record's is made in
    /// `logs/`, and its folders ([`make_folders`]) while step 1's sync
    /// waits for the disk. The number says how many of the target's
    /// folders are probably missing (made before the link, rather than
    /// after it fails).
    #[cfg(target_os = "linux")]
    Anonymous(File, usize),
    /// A temp file (`.tmp-*`) in the target's folder, renamed onto it.
    Named(TempPath),
}

/// Put `file` in place at `path`; with `replace`, `path` may exist (its
/// bytes are kept for undo). Returns how to undo it.
pub(super) fn publish(
    file: Pending,
    path: &Path,
    replace: bool,
    folders: &mut Folders,
) -> Result<Undo> {
    #[cfg(not(target_os = "linux"))]
    let _ = folders;
    let note = match replace.then(|| fsutil::read_optional(path)).transpose()? {
        Some(Some(old)) => Undo::Restore(path.to_path_buf(), old),
        _ => Undo::RemoveFile(path.to_path_buf()),
    };
    match file {
        #[cfg(target_os = "linux")]
        Pending::Anonymous(file, missing) => {
            debug_assert!(!replace, "a link cannot replace a file");
            let link = || folders.root.link(&file, path);
            // Its folders were made by `make_folders` (or in step 1).
            debug_assert_eq!(missing, 0);
            let dir = path.parent().expect("store paths always have a parent");
            let mut linked = link();
            if linked == Err(rustix::io::Errno::NOENT) {
                folders.create_dirs(dir)?;
                linked = link();
            }
            linked.map_err(|e| Error::io("linking a new file as", path)(e.into()))?;
        }
        Pending::Named(tmp) => {
            tmp.persist(path)
                .map_err(|e| Error::io("renaming temp file onto", path)(e.error))?;
        }
    }
    Ok(note)
}

/// Make the folders the anonymous `files` will be linked into (their
/// `missing` deepest ones, and any parent missing too) on every core.
/// Empty folders are what a crash of any command may leave: readers skip
/// them, so they may be made at any time before the link.
pub(super) fn make_folders<'a>(
    root: &'a Root,
    files: Vec<&mut NewFile>,
) -> (Vec<Folders<'a>>, Result<()>) {
    let job = |files: Vec<&mut NewFile>| {
        let mut folders = Folders::new(root);
        for file in files {
            if let Err(e) = folders.make_missing(file) {
                return (folders, Err(e));
            }
        }
        (folders, Ok(()))
    };
    let (folders, results): (Vec<_>, Vec<_>) =
        on_threads(runs(files), job, job).into_iter().unzip();
    (folders, results.into_iter().collect())
}

/// How many anonymous files ([`Pending::Anonymous`]) the import may still
/// open: each stays open until it is linked in, so the budget is the soft
/// limit of open files less those open and a reserve; past it, new files
/// are written as temp files. (The library never changes the limit: the
/// `promptrel` binary raises its soft limit to the hard one for `add --dir`.)
pub(super) struct Anonymous {
    left: AtomicUsize,
}

impl Anonymous {
    /// Open files kept for everything else (input files, folders, temp files).
    #[cfg(target_os = "linux")]
    const RESERVE: u64 = 256;

    #[cfg(target_os = "linux")]
    pub(super) fn new() -> Anonymous {
        use rustix::process::{Resource, getrlimit};
        let none = Anonymous {
            left: AtomicUsize::new(0),
        };
        if !failpoint::anonymous_files() {
            return none;
        }
        // Links are made through /proc/self/fd (AT_EMPTY_PATH needs a
        // capability); counting its entries also tells how many are open.
        let Ok(open) = fs::read_dir("/proc/self/fd").map(|d| d.count() as u64) else {
            return none;
        };
        let left = match getrlimit(Resource::Nofile).current {
            None => usize::MAX,
            Some(limit) => limit.saturating_sub(open + Self::RESERVE) as usize,
        };
        Anonymous {
            left: AtomicUsize::new(left),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn new() -> Anonymous {
        Anonymous {
            left: AtomicUsize::new(0),
        }
    }

    /// Take one from the budget.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(super) fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Give back one that was not used.
    #[cfg(target_os = "linux")]
    pub(super) fn give_back(&self) {
        self.left.fetch_add(1, Ordering::Relaxed);
    }
}

/// The store's folder, open: on Linux new files, folders and links are
/// made relative to it (and to `/proc/self/fd`), which spares the kernel
/// walking the store's absolute path for each of some 60 000 calls.
pub(super) struct Root {
    path: PathBuf,
    #[cfg(target_os = "linux")]
    dir: std::os::fd::OwnedFd,
    /// `/proc/self/fd`, where an anonymous file has a name to link from.
    #[cfg(target_os = "linux")]
    fds: Option<std::os::fd::OwnedFd>,
}

impl Root {
    pub(super) fn open(path: &Path) -> Result<Root> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
            let dir = rustix::fs::open(path, flags, Mode::empty())
                .map_err(|e| Error::io("opening", path)(e.into()))?;
            Ok(Root {
                path: path.to_path_buf(),
                dir,
                fds: rustix::fs::open("/proc/self/fd", flags, Mode::empty()).ok(),
            })
        }
        #[cfg(not(target_os = "linux"))]
        Ok(Root {
            path: path.to_path_buf(),
        })
    }

    /// `path` as a folder to start from and a path from there.
    #[cfg(target_os = "linux")]
    pub(super) fn at<'p>(&self, path: &'p Path) -> (std::os::fd::BorrowedFd<'_>, &'p Path) {
        use std::os::fd::AsFd;
        match path.strip_prefix(&self.path) {
            Ok(rel) if !rel.as_os_str().is_empty() => (self.dir.as_fd(), rel),
            _ => (rustix::fs::CWD, path),
        }
    }

    pub(super) fn mkdir(&self, dir: &Path) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            let (at, rel) = self.at(dir);
            rustix::fs::mkdirat(at, rel, rustix::fs::Mode::from_raw_mode(0o777)).map_err(Into::into)
        }
        #[cfg(not(target_os = "linux"))]
        fs::create_dir(dir)
    }

    /// A new anonymous file in `dir` (`O_TMPFILE`).
    #[cfg(target_os = "linux")]
    pub(super) fn anonymous(&self, dir: &Path) -> rustix::io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        let (at, rel) = self.at(dir);
        let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
        rustix::fs::openat(at, rel, flags, Mode::from_raw_mode(0o666)).map(File::from)
    }

    /// Give the anonymous `file` the name `path`.
    #[cfg(target_os = "linux")]
    pub(super) fn link(&self, file: &File, path: &Path) -> rustix::io::Result<()> {
        use std::os::fd::AsRawFd;
        let (at, rel) = self.at(path);
        let follow = rustix::fs::AtFlags::SYMLINK_FOLLOW;
        match &self.fds {
            Some(fds) => {
                let fd = file.as_raw_fd().to_string();
                rustix::fs::linkat(fds, fd.as_str(), at, rel, follow)
            }
            None => {
                let fd = format!("/proc/self/fd/{}", file.as_raw_fd());
                rustix::fs::linkat(rustix::fs::CWD, fd.as_str(), at, rel, follow)
            }
        }
    }
}

/// One thread's folders: those it created (for undo), and those whose
/// entries changed.
pub(super) struct Folders<'a> {
    root: &'a Root,
    known: HashSet<PathBuf>,
    created: Vec<PathBuf>,
    changed: Changed,
}

/// Folders whose entries changed since the last sync: fsynced one by one
/// where there is no `syncfs` (on Linux, `syncfs` covers them: not kept).
#[derive(Default)]
pub(super) struct Changed {
    #[cfg(not(target_os = "linux"))]
    dirs: HashSet<PathBuf>,
}

impl Changed {
    pub(super) fn note(&mut self, dir: &Path) {
        #[cfg(not(target_os = "linux"))]
        self.dirs.insert(dir.to_path_buf());
        #[cfg(target_os = "linux")]
        let _ = dir;
    }

    pub(super) fn extend(&mut self, other: Changed) {
        #[cfg(not(target_os = "linux"))]
        self.dirs.extend(other.dirs);
        #[cfg(target_os = "linux")]
        let _ = other;
    }

    /// Fsync every folder noted, and forget them.
    #[cfg(not(target_os = "linux"))]
    pub(super) fn sync(&mut self) -> Result<()> {
        std::mem::take(&mut self.dirs)
            .iter()
            .try_for_each(|dir| fsutil::sync_dir(dir))
    }
}

/// One thread's new files, and the folders made for them.
pub(super) struct Temps<'a> {
    /// Only Linux has anonymous files.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    anonymous: &'a Anonymous,
    folders: Folders<'a>,
    /// Anything was written.
    wrote: bool,
}

impl Temps<'_> {
    pub(super) fn new<'a>(anonymous: &'a Anonymous, root: &'a Root) -> Temps<'a> {
        Temps {
            anonymous,
            folders: Folders::new(root),
            wrote: false,
        }
    }
}

impl Folders<'_> {
    pub(super) fn new(root: &Root) -> Folders<'_> {
        Folders {
            root,
            known: HashSet::new(),
            created: Vec::new(),
            changed: Changed::default(),
        }
    }

    /// Make the folders `file` will be linked into, if it is anonymous:
    /// its `missing` deepest ones, and any parent missing too.
    pub(super) fn make_missing(&mut self, file: &mut NewFile) -> Result<()> {
        #[cfg(target_os = "linux")]
        if let (Pending::Anonymous(_, missing), path) = file {
            let dir = path.parent().expect("store paths always have a parent");
            let dirs: Vec<&Path> = dir.ancestors().take(*missing).collect();
            for dir in dirs.into_iter().rev() {
                self.create_dirs(dir)?;
            }
            *missing = 0;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = file;
        Ok(())
    }

    /// Create `dir` and its missing parents (not synced: each step ends with a sync).
    pub(super) fn create_dirs(&mut self, dir: &Path) -> Result<()> {
        if self.known.contains(dir) {
            return Ok(());
        }
        let mut result = self.root.mkdir(dir);
        if matches!(&result, Err(e) if e.kind() == ErrorKind::NotFound) {
            let parent = dir.parent().expect("store folders have a parent");
            self.create_dirs(parent)?;
            result = self.root.mkdir(dir);
        }
        match result {
            Ok(()) => {
                self.created.push(dir.to_path_buf());
                if let Some(parent) = dir.parent() {
                    self.changed.note(parent);
                }
            }
            // Another thread may have made it; anything else is in the way.
            Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(Error::io("creating folder", dir)(e)),
        }
        self.known.insert(dir.to_path_buf());
        Ok(())
    }
}

impl Temps<'_> {
    /// A new file with `bytes` for `target`, not yet visible: anonymous
    /// where the file system and the budget allow, else a temp file. An
    /// anonymous file is made in `home` if given (a folder that exists, on
    /// the same file system), and `target`'s folder is created only when
    /// it is linked in (its `missing` deepest folders first: see
    /// [`Pending::Anonymous`]).
    pub(super) fn temp(
        &mut self,
        target: &Path,
        bytes: &[u8],
        home: Option<&Path>,
        missing: usize,
    ) -> Result<Pending> {
        #[cfg(not(target_os = "linux"))]
        let _ = (home, missing);
        #[cfg(target_os = "linux")]
        if self.anonymous.take() {
            let dir = match home {
                Some(home) => home,
                None => {
                    let dir = target.parent().expect("store paths always have a parent");
                    self.folders.create_dirs(dir)?;
                    dir
                }
            };
            match self.folders.root.anonymous(dir) {
                Ok(mut file) => {
                    file.write_all(bytes)
                        .map_err(Error::io("writing", target))?;
                    self.wrote = true;
                    return Ok(Pending::Anonymous(file, missing));
                }
                // Not supported here (an old kernel, or a file system
                // without it: EOPNOTSUPP, EISDIR, EINVAL…): a temp file
                // says why, should it fail too.
                Err(_) => self.anonymous.give_back(),
            }
        }
        self.named(target, bytes).map(Pending::Named)
    }

    /// A temp file with `bytes` in `target`'s folder, not yet visible.
    pub(super) fn named(&mut self, target: &Path, bytes: &[u8]) -> Result<TempPath> {
        let dir = target.parent().expect("store paths always have a parent");
        self.folders.create_dirs(dir)?;
        let mut tmp = fsutil::temp_file_in(dir)?;
        tmp.write_all(bytes).map_err(Error::io("writing", target))?;
        // Without syncfs, each file is synced as it is written.
        #[cfg(not(target_os = "linux"))]
        tmp.as_file()
            .sync_all()
            .map_err(Error::io("writing", target))?;
        self.folders.changed.note(dir);
        self.wrote = true;
        Ok(tmp.into_temp_path())
    }
}

/// Writes made durable together, and how to undo them should the import fail.
pub(super) struct Batch<'a> {
    root: &'a Root,
    changed: Changed,
    /// Anything was written since the last sync.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    dirty: bool,
    undo: Vec<Undo>,
    /// How many undo notes there were at each sync.
    steps: Vec<usize>,
}

pub(super) enum Undo {
    RemoveFile(PathBuf),
    RemoveDir(PathBuf),
    Restore(PathBuf, Vec<u8>),
}

impl<'a> Batch<'a> {
    pub(super) fn new(root: &'a Root) -> Batch<'a> {
        Batch {
            root,
            changed: Changed::default(),
            dirty: false,
            undo: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Put every file in place ([`publish`]), on every core: the files
    /// are independent, and the time goes to the file system's folders.
    pub(super) fn publish_all(&mut self, files: Vec<NewFile>, replace: bool) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        for (_, path) in &files {
            if let Some(dir) = path.parent() {
                self.changed.note(dir);
            }
        }
        let job = |files: Vec<NewFile>| {
            let mut folders = Folders::new(self.root);
            let mut notes = Vec::with_capacity(files.len());
            for (file, path) in files {
                match publish(file, &path, replace, &mut folders) {
                    Ok(note) => notes.push(note),
                    Err(e) => return (folders, notes, Err(e)),
                }
            }
            (folders, notes, Ok(()))
        };
        let parts = on_threads(runs(files), job, job);
        // Every file put in place is noted for undo, even when another
        // failed; the first error is reported.
        let mut result = Ok(());
        let mut all = Vec::with_capacity(parts.len());
        let mut notes = Vec::new();
        for (folders, part_notes, part) in parts {
            all.push(folders);
            notes.extend(part_notes);
            result = result.and(part);
        }
        // Folders before the files in them: undo goes newest first.
        self.absorb(all);
        self.undo.extend(notes);
        result
    }

    /// Take over what step 1's threads wrote ([`Batch::absorb`]).
    pub(super) fn absorb_temps(&mut self, temps: Vec<Temps<'_>>) {
        let mut folders = Vec::with_capacity(temps.len());
        for part in temps {
            self.dirty |= part.wrote;
            folders.push(part.folders);
        }
        self.absorb(folders);
    }

    /// Take over what threads did to folders: those they created are
    /// noted for undo, shallowest first so that undo (newest note first)
    /// removes a folder after those inside it, whichever thread made them.
    pub(super) fn absorb(&mut self, parts: Vec<Folders>) {
        let mut created = Vec::new();
        for folders in parts {
            self.dirty |= !folders.created.is_empty();
            created.extend(folders.created);
            self.changed.extend(folders.changed);
        }
        created.sort_by_key(|dir| dir.components().count());
        self.undo.extend(created.into_iter().map(Undo::RemoveDir));
    }

    /// Make everything written so far durable; one failpoint step.
    pub(super) fn sync(&mut self, step: &'static str) -> Result<()> {
        self.sync_during(step, || (Vec::new(), Ok(())))
    }

    /// [`Batch::sync`] while `work` runs on this thread (on Linux; elsewhere
    /// one after the other). What `work` writes is made durable by the
    /// next sync, not necessarily by this one; it returns the folders it
    /// created (for undo) and changed, even when it fails.
    pub(super) fn sync_during(
        &mut self,
        step: &'static str,
        work: impl FnOnce() -> (Vec<Folders<'a>>, Result<()>),
    ) -> Result<()> {
        #[cfg(target_os = "linux")]
        let (folders, worked, synced) = {
            // A step that wrote nothing (no labels to move) has nothing to sync.
            let dirty = std::mem::take(&mut self.dirty);
            let root = self.root;
            std::thread::scope(|scope| {
                let sync = dirty.then(|| {
                    scope.spawn(move || {
                        rustix::fs::syncfs(&root.dir).map_err(|e| {
                            Error::io("syncing the file system of", &root.path)(e.into())
                        })
                    })
                });
                let (folders, worked) = work();
                let synced = sync.map_or(Ok(()), |h| h.join().expect("syncfs does not panic"));
                (folders, worked, synced)
            })
        };
        #[cfg(not(target_os = "linux"))]
        let (folders, worked, synced) = {
            let (folders, worked) = work();
            (folders, worked, self.changed.sync())
        };
        #[cfg(target_os = "linux")]
        let _ = std::mem::take(&mut self.changed);
        self.absorb(folders);
        synced?;
        worked?;
        self.steps.push(self.undo.len());
        failpoint::step(step).map_err(Error::io("syncing", &self.root.path))?;
        Ok(())
    }

    /// The import succeeded: keep everything.
    pub(super) fn commit(mut self) {
        self.undo.clear();
    }
}

impl Drop for Batch<'_> {
    /// Undo, newest step first. On Linux a step's removals are made
    /// durable together (one `syncfs`, as the step was written): any
    /// subset of them is a state a crash during that step could have left.
    /// Elsewhere each removal is synced as it is made.
    fn drop(&mut self) {
        while !self.undo.is_empty() {
            let step = self.steps.pop().unwrap_or(0).min(self.undo.len());
            let notes: Vec<Undo> = self.undo.drain(step..).collect();
            for note in notes.into_iter().rev() {
                let undone = match &note {
                    #[cfg(target_os = "linux")]
                    Undo::RemoveFile(path) => fsutil::remove_file_unsynced(path).map(drop),
                    #[cfg(target_os = "linux")]
                    Undo::RemoveDir(dir) => fsutil::remove_dir_unsynced(dir).map(drop),
                    #[cfg(not(target_os = "linux"))]
                    Undo::RemoveFile(path) => fsutil::remove_file(path),
                    #[cfg(not(target_os = "linux"))]
                    Undo::RemoveDir(dir) => fsutil::remove_dir(dir),
                    Undo::Restore(path, bytes) => fsutil::write_atomic(path, bytes),
                };
                if undone.is_err() {
                    // Stop in a consistent state, as the single-command undo does.
                    self.undo.clear();
                    break;
                }
            }
            #[cfg(target_os = "linux")]
            if rustix::fs::syncfs(&self.root.dir).is_err() {
                break;
            }
        }
    }
}
