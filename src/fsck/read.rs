//! Reading the store's files for `fsck` on all cores: objects hashed a
//! block at a time, and every shard of every log read, parsed and checked
//! by worker threads ahead of the checker, which takes the results in a
//! fixed order so that the report never depends on thread timing.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::changelog::{self, Entry, LogLine, Record, Shard};
use crate::error::{Error, Result};
use crate::id::VersionId;

/// Hash every object on all cores; returns the damaged ones with a message.
/// This thread hashes a share too, and reports the count of all threads.
/// Threads take the files a block at a time (a thread that gets less of
/// a shared machine's time does less of the work).
pub(super) fn hash_all(
    files: Vec<(VersionId, PathBuf)>,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<(PathBuf, String)> {
    const BLOCK: usize = 64;
    let total = files.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let hashed = AtomicUsize::new(0);
    let check = |tick: &mut dyn FnMut(usize)| {
        let mut buf = Vec::new();
        let mut damaged = Vec::new();
        loop {
            let start = next.fetch_add(BLOCK, Ordering::Relaxed);
            if start >= total {
                return damaged;
            }
            let part = &files[start..(start + BLOCK).min(total)];
            for (id, path) in part {
                let read = fs::File::open(path)
                    .and_then(|mut file| crate::fsutil::read_into(&mut file, &mut buf));
                let damage =
                    match read {
                        Ok(len) => crate::objects::verify(path, id, &buf[..len])
                            .err()
                            .map(|e| match e {
                                Error::Corrupt { detail, .. } => (path.clone(), detail),
                                other => (path.clone(), other.to_string()),
                            }),
                        Err(e) => Some((path.clone(), format!("cannot read: {e}"))),
                    };
                damaged.extend(damage);
            }
            tick(part.len());
        }
    };
    progress(0, total);
    let mut damaged = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads.min(total.div_ceil(BLOCK)))
            .map(|_| {
                let (check, hashed) = (&check, &hashed);
                scope.spawn(move || {
                    check(&mut |n| {
                        hashed.fetch_add(n, Ordering::Relaxed);
                    })
                })
            })
            .collect();
        let mut damaged =
            check(&mut |n| progress(hashed.fetch_add(n, Ordering::Relaxed) + n, total));
        for h in others {
            damaged.extend(h.join().expect("hashing threads do not panic"));
        }
        damaged
    });
    // In file order, whichever thread found them.
    damaged.sort();
    progress(total, total);
    damaged
}

/// Call `visit` on every entry below `dir`, each before its contents and
/// sorted by name (as walkdir's `sort_by_file_name`, without following
/// symlinks); a folder's contents are visited only when `visit` returns
/// true for it.
pub(super) fn walk_sorted(
    dir: &Path,
    visit: &mut dyn FnMut(&Path, fs::FileType) -> bool,
) -> std::io::Result<()> {
    let mut entries = fs::read_dir(dir)?
        .map(|entry| {
            let entry = entry?;
            Ok((entry.file_name(), entry.file_type()?))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, file_type) in entries {
        let path = dir.join(name);
        if visit(&path, file_type) && file_type.is_dir() {
            walk_sorted(&path, visit)?;
        }
    }
    Ok(())
}

/// Reads the files of one folder, one after the other, into one buffer.
/// On Linux each is opened relative to the folder, not by its whole path
/// (which the kernel would walk again, folder by folder, for every file).
pub(super) struct FolderReader {
    #[cfg(target_os = "linux")]
    pub(super) dir: Option<std::os::fd::OwnedFd>,
    pub(super) buf: Vec<u8>,
}

impl FolderReader {
    pub(super) fn open(dir: &Path) -> FolderReader {
        #[cfg(target_os = "linux")]
        let dir = {
            use rustix::fs::{Mode, OFlags};
            // Without it, files are opened by path.
            rustix::fs::open(
                dir,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        #[cfg(not(target_os = "linux"))]
        let _ = dir;
        FolderReader {
            #[cfg(target_os = "linux")]
            dir,
            buf: Vec::new(),
        }
    }

    /// The bytes of `path`, a file in the folder.
    pub(super) fn read(&mut self, path: &Path) -> std::io::Result<&[u8]> {
        #[cfg(target_os = "linux")]
        let mut file = match (&self.dir, path.file_name()) {
            (Some(dir), Some(name)) => {
                use rustix::fs::{Mode, OFlags};
                fs::File::from(rustix::fs::openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?)
            }
            _ => fs::File::open(path)?,
        };
        #[cfg(not(target_os = "linux"))]
        let mut file = fs::File::open(path)?;
        let len = crate::fsutil::read_into(&mut file, &mut self.buf)?;
        Ok(&self.buf[..len])
    }
}

/// A log's files, read and checked on their own (each record file's name,
/// content and shard; each pack readers would use against its shard's
/// records): what needs nothing else of the store, so any thread can do it.
pub(super) struct LogFiles<T> {
    /// Damage found, as (file, kind, message).
    pub(super) problems: Vec<(PathBuf, &'static str, String)>,
    /// Its entries in log order; `None` when a file is damaged.
    pub(super) entries: Option<Vec<T>>,
    /// Record files found, damaged or not.
    pub(super) record_files: usize,
}

/// One shard folder, read and checked on its own.
pub(super) struct ShardFiles<T> {
    /// Stray files, then damaged records (file-name order).
    pub(super) problems: Vec<(PathBuf, &'static str, String)>,
    /// Its records that could be read, in log order.
    pub(super) entries: Vec<T>,
    /// Whether a record file is damaged.
    pub(super) damaged: bool,
    /// The pack readers would use instead of the record files, and whether
    /// it holds exactly them (checked only when they are all readable).
    pub(super) pack: Option<(PathBuf, bool)>,
    /// Record files found, damaged or not.
    pub(super) record_files: usize,
}

/// Check one shard folder; of each entry, what `keep` keeps (the lines
/// are needed only here, and memory holds a whole log).
pub(super) fn check_shard<T: LogLine, U>(
    shard: &Shard,
    keep: fn(Entry<T>) -> U,
) -> Result<ShardFiles<U>> {
    let files = shard.list()?;
    let mut problems = Vec::new();
    for path in &files.other {
        problems.push((
            path.clone(),
            "stray-file",
            "not a record or a pack (see FORMAT.md §6.2)".to_string(),
        ));
    }
    let mut entries = Vec::with_capacity(files.records.len());
    let mut damaged = false;
    let mut folder = FolderReader::open(&shard.dir);
    for (_, path) in &files.records {
        let read = folder
            .read(path)
            .map_err(Error::io("reading", path))
            .and_then(|bytes| changelog::parse_record::<T>(path, bytes, shard.number));
        match read {
            Ok(entry) => entries.push(entry),
            Err(Error::Corrupt { detail, path }) => {
                problems.push((path, "damaged-record", detail));
                damaged = true;
            }
            Err(e) => return Err(e),
        }
    }
    // Every record is in its shard's `seq` range (or damaged), so the
    // shards in order, each in log order, are the log in log order.
    entries.sort_by(Entry::log_order);
    // A pack readers use must hold exactly these records, in log order,
    // each line once. The lines just parsed are that standard: a pack is
    // compared with them byte for byte rather than parsed again. (A line
    // equal to a record's parses as it did; record lines are distinct, as
    // a file's name is its line's hash, so "in log order, each once" is
    // "equal to the sorted lines".) Packs of an earlier state of the
    // shard are unused, and harmless.
    let pack = files.valid_pack().filter(|_| !damaged).map(|pack| {
        let holds = fs::read(pack).is_ok_and(|bytes| {
            bytes.strip_suffix(b"\n").is_some_and(|body| {
                body.split(|&b| b == b'\n')
                    .eq(entries.iter().map(|e| e.line.as_slice()))
            })
        });
        (pack.to_path_buf(), holds)
    });
    Ok(ShardFiles {
        problems,
        entries: entries.into_iter().map(keep).collect(),
        damaged,
        pack,
        record_files: files.records.len(),
    })
}

/// A log from its shards' checks (in shard order).
pub(super) fn check_log<T>(shards: Vec<ShardFiles<T>>) -> LogFiles<T> {
    let mut log = LogFiles {
        problems: Vec::new(),
        entries: Some(Vec::new()),
        record_files: 0,
    };
    let mut damaged = false;
    for shard in shards {
        log.problems.extend(shard.problems);
        log.record_files += shard.record_files;
        damaged |= shard.damaged;
        if let Some((pack, false)) = shard.pack
            && !damaged
        {
            log.problems.push((
                pack,
                "damaged-pack",
                "the pack does not hold exactly the records of its shard, which readers would read instead".to_string(),
            ));
            damaged = true;
        }
        if damaged {
            log.entries = None;
        }
        if let Some(entries) = &mut log.entries {
            entries.extend(shard.entries);
        }
    }
    log
}

/// Check several logs (each given by its shards), the shards of all of
/// them on all cores; the logs in the given order.
pub(super) fn check_logs<T: LogLine, U: Send>(
    logs: Vec<Vec<Shard>>,
    keep: fn(Entry<T>) -> U,
) -> Vec<Result<LogFiles<U>>> {
    let lengths: Vec<usize> = logs.iter().map(Vec::len).collect();
    let shards: Vec<Shard> = logs.into_iter().flatten().collect();
    let mut checked = par_map(&shards, |shard| check_shard(shard, keep)).into_iter();
    lengths
        .into_iter()
        .map(|n| {
            let shards = checked.by_ref().take(n).collect::<Result<Vec<_>>>()?;
            Ok(check_log(shards))
        })
        .collect()
}

/// The shards checked together: enough to keep every core busy on a store
/// of many short logs, few enough that memory holds about one long log.
pub(super) const BATCH_SHARDS: usize = 64;

/// The logs of every prompt, in the order [`Checker::prompt`] takes them,
/// read and checked ahead in batches on all cores.
pub(super) struct LogQueue {
    /// Logs not checked yet, by their shards.
    pub(super) pending: std::collections::VecDeque<Vec<Shard>>,
    /// Logs checked, not yet taken.
    pub(super) ready: std::collections::VecDeque<Result<LogFiles<Record>>>,
}

impl LogQueue {
    pub(super) fn next(&mut self) -> Result<LogFiles<Record>> {
        if self.ready.is_empty() {
            let mut batch = Vec::new();
            let mut shards = 0;
            while let Some(log) = self.pending.front()
                && (batch.is_empty() || shards + log.len() <= BATCH_SHARDS)
            {
                shards += log.len();
                batch.extend(self.pending.pop_front());
            }
            self.ready.extend(check_logs(batch, |entry| entry.record));
        }
        self.ready
            .pop_front()
            .expect("each log is queued before it is taken")
    }
}

/// `f` of every item, on all cores, in the items' order. Each thread takes
/// the next item when done with one (items differ in cost).
pub(super) fn par_map<I: Sync, R: Send>(items: &[I], f: impl Fn(&I) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut done = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut done = work();
        for h in others {
            done.extend(h.join().expect("checking threads do not panic"));
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
