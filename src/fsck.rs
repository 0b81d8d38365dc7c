//! `fsck`: check every byte of a store, and repair what is safe to repair.
//!
//! Checked: every object re-hashed (in parallel on all cores); every ref
//! holds a valid id (or a valid split, every share an existing object) and
//! agrees with its label's log;
//! every log file is named after its content; every changelog record parses,
//! sits in the right log, names existing objects, and chains (each move's
//! `from` is a value its log reached before); no seq is missing; no temp
//! files left by a killed writer. After a git merge: a ref with conflict
//! markers, or a label both branches moved, is explained with the command
//! that settles it.
//!
//! Repaired with `repair = true`, because each is what the next writer would
//! do anyway and loses nothing acknowledged: stale temp files (removed), a
//! ref one move behind its log (moved forward).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::changelog::{self, Action, Entry, LogLine, Record, Shard};
use crate::error::{Error, Result};
use crate::fsutil::TEMP_PREFIX;
use crate::id::VersionId;
use crate::name::{Label, PromptName};
use crate::refs::{self, RefValue};
use crate::release::ReleaseRecord;
use crate::split::LabelValue;
use crate::store::{Store, VERSIONS_LOG};

/// One thing wrong with the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file or folder concerned, relative to the `.promptrel` folder.
    pub path: String,
    /// A stable identifier for the kind of problem.
    pub kind: &'static str,
    /// What is wrong, for a person.
    pub message: String,
    /// Whether `--repair` fixed it.
    pub repaired: bool,
}

/// What [`Store::fsck_with_progress`] is doing, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Re-hashing objects.
    Objects,
    /// Checking each prompt's logs and refs.
    Prompts,
    /// Resolving the includes of each prompt's labelled and newest versions.
    Includes,
}

/// The result of a check.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Objects hashed.
    pub objects: usize,
    /// Refs read.
    pub refs: usize,
    /// Changelog records parsed.
    pub records: usize,
    /// Everything found, in path order.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when nothing is left unrepaired.
    pub fn is_clean(&self) -> bool {
        self.problems.iter().all(|p| p.repaired)
    }
}

struct Checker<'a> {
    store: &'a Store,
    repair: bool,
    report: Report,
    /// Object files found by the walk, so that each record's `to` is a set
    /// lookup rather than one `stat` per record (300 000 for 100 000 moves).
    found: HashSet<VersionId>,
}

impl Store {
    /// Check the whole store; with `repair`, fix what is safe (under the lock).
    pub fn fsck(&self, repair: bool) -> Result<Report> {
        self.fsck_with_progress(repair, &mut |_, _, _| {})
    }

    /// [`Store::fsck`], calling `progress(step, done, total)` on this thread
    /// as the check goes: each [`Step`] in order, ending with `done == total`.
    pub fn fsck_with_progress(
        &self,
        repair: bool,
        progress: &mut dyn FnMut(Step, usize, usize),
    ) -> Result<Report> {
        let _lock = if repair { Some(self.lock()?) } else { None };
        let mut checker = Checker {
            store: self,
            repair,
            report: Report::default(),
            found: HashSet::new(),
        };
        checker.objects(&mut |done, total| progress(Step::Objects, done, total))?;
        checker.logs_and_refs(&mut |done, total| progress(Step::Prompts, done, total))?;
        checker.releases()?;
        checker.temp_files()?;
        checker.includes(&mut |done, total| progress(Step::Includes, done, total))?;
        let mut report = checker.report;
        report.problems.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(report)
    }
}

impl Checker<'_> {
    fn rel(&self, path: &Path) -> String {
        let rel = path.strip_prefix(self.store.dir()).unwrap_or(path);
        rel.iter()
            .map(|p| p.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    fn problem(
        &mut self,
        path: &Path,
        kind: &'static str,
        message: impl Into<String>,
        repaired: bool,
    ) {
        let path = self.rel(path);
        self.report.problems.push(Problem {
            path,
            kind,
            message: message.into(),
            repaired,
        });
    }

    fn objects(&mut self, progress: &mut dyn FnMut(usize, usize)) -> Result<()> {
        let dir = self.store.dir().join("objects");
        if !dir.is_dir() {
            self.problem(
                &dir,
                "missing-folder",
                "the objects folder is missing",
                false,
            );
            return Ok(());
        }
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&dir).min_depth(1) {
            let entry = entry.map_err(|e| Error::io("listing", &dir)(e.into()))?;
            let name = entry.file_name().to_string_lossy();
            if name == ".keep" || name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let depth_ok = entry.depth() == if entry.file_type().is_dir() { 1 } else { 2 };
            let id = entry
                .path()
                .parent()
                .and_then(|p| p.file_name())
                .map(|folder| format!("{}{}", folder.to_string_lossy(), name));
            match (
                entry.file_type().is_file(),
                depth_ok,
                id.as_deref().and_then(VersionId::parse),
            ) {
                (false, true, _) if name.len() == 2 && crate::id::is_lower_hex(&name) => {}
                (true, true, Some(id)) => files.push((id, entry.path().to_path_buf())),
                _ => self.problem(
                    entry.path(),
                    "stray-file",
                    "not an object (objects are objects/<2 hex>/<62 hex>)",
                    false,
                ),
            }
        }
        self.report.objects = files.len();
        self.found = files.iter().map(|(id, _)| id.clone()).collect();
        for (path, message) in hash_all(files, progress) {
            self.problem(&path, "corrupt-object", message, false);
        }
        Ok(())
    }

    fn logs_and_refs(&mut self, progress: &mut dyn FnMut(usize, usize)) -> Result<()> {
        for tree in ["logs", "refs"] {
            let dir = self.store.dir().join(tree);
            if !dir.is_dir() {
                self.problem(
                    &dir,
                    "missing-folder",
                    format!("the {tree} folder is missing"),
                    false,
                );
            }
        }
        let logs = self.store.dir().join("logs");
        let refs_dir = self.store.dir().join("refs");
        // Every prompt folder seen in either tree, with the file names in it.
        let mut prompts = std::collections::BTreeMap::<String, PathBuf>::new();
        for (root, tree) in [(&logs, "logs"), (&refs_dir, "refs")] {
            if !root.is_dir() {
                continue;
            }
            // Shard folders are checked with their prompt, and not even
            // listed here (walkdir would read each whole, to sort it).
            walk_sorted(root, &mut |path, file_type| {
                let name = path
                    .file_name()
                    .expect("below root")
                    .to_string_lossy()
                    .into_owned();
                // In logs/, a prompt's folder holds its logs' shard folders
                // (checked with the prompt), and namespace folders.
                let shard = (tree == "logs")
                    .then(|| changelog::parse_shard_name(&name))
                    .flatten()
                    .filter(|_| file_type.is_dir());
                if shard.is_none() && file_type.is_dir()
                    || name == ".keep"
                    || name.starts_with(TEMP_PREFIX)
                {
                    return shard.is_none();
                }
                let folder = path.parent().expect("below root");
                let prompt = folder.strip_prefix(root).expect("below root");
                let prompt: Vec<String> = prompt
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                let prompt = prompt.join("/");
                let valid_stem = |stem: &str| {
                    stem.strip_prefix('@')
                        .is_some_and(|l| Label::new(l).is_ok())
                };
                let valid_file = match shard {
                    Some((stem, _)) => stem == VERSIONS_LOG || valid_stem(stem),
                    None => tree == "refs" && valid_stem(&name),
                };
                if shard.is_none() && !file_type.is_file() {
                    self.problem(
                        path,
                        "not-a-file",
                        "expected a regular file (symlinks are not followed)",
                        false,
                    );
                } else if !valid_file || PromptName::new(&prompt).is_err() {
                    self.problem(
                        path,
                        "stray-file",
                        "not a promptrel file (see FORMAT.md for the layout)",
                        false,
                    );
                } else {
                    prompts
                        .entry(prompt)
                        .or_insert_with(|| folder.to_path_buf());
                }
                shard.is_none()
            })
            .map_err(Error::io("listing", root))?;
        }
        let names: Vec<PromptName> = prompts
            .keys()
            .map(|prompt| PromptName::new(prompt).expect("checked above"))
            .collect();
        // Listing each prompt's folders, and reading and checking each log's
        // files, is most of the work and needs nothing else: it is done on
        // all cores, ahead of the checks across logs, which take the results
        // in order (so the report does not depend on thread timing).
        let mut plans = par_map(&names, |name| PromptPlan::of(self.store, name));
        let mut queue = LogQueue {
            pending: Default::default(),
            ready: Default::default(),
        };
        for plan in plans.iter_mut().flatten() {
            queue.pending.push_back(std::mem::take(&mut plan.versions));
            for (_, shards) in plan.labels.iter_mut().flatten() {
                queue.pending.push_back(std::mem::take(shards));
            }
        }
        for (i, (name, plan)) in names.iter().zip(plans).enumerate() {
            progress(i, names.len());
            self.prompt(name, plan?, &mut queue)?;
        }
        progress(names.len(), names.len());
        Ok(())
    }

    fn prompt(&mut self, name: &PromptName, plan: PromptPlan, queue: &mut LogQueue) -> Result<()> {
        let dir = self.store.prompt_path("logs", name);
        let versions = dir.join(format!("{VERSIONS_LOG}~…"));
        let adds = self.log(&versions, queue.next()?, name, None);
        let labels = plan.labels?;
        // An empty shard folder alone is what a crash before the first
        // record leaves (git does not even keep it): not a prompt, no
        // problem. (`missing-log` is reported after the label logs are
        // taken, which tell whether they hold records.)
        let mut has_labels = plan.has_refs || plan.other_label_records?;
        let no_versions = adds.as_ref().is_some_and(|adds| adds.is_empty());
        // Without a readable versions log, "is this a version of NAME?" has no answer.
        let known: Option<HashSet<VersionId>> =
            adds.map(|adds| adds.into_iter().map(|r| r.to).collect());
        // A label may have a ref, a log, or (when damaged) only one of them.
        for (label, _) in labels {
            let files = queue.next()?;
            has_labels |= files.record_files > 0;
            let log = dir.join(format!("{}~…", label.file_name()));
            let Some(records) = self.log(&log, files, name, Some(&label)) else {
                // The damage is reported; only the ref itself can still be checked.
                self.label_ref(name, &label, None)?;
                continue;
            };
            for r in &records {
                let value = r.value();
                for id in value.versions() {
                    if known.as_ref().is_some_and(|k| !k.contains(id)) {
                        self.problem(
                            &log,
                            "unknown-version",
                            format!(
                                "{name}@{label} moved to {}, which is not a version of {name}",
                                id.short()
                            ),
                            false,
                        );
                    }
                }
            }
            self.label_ref(name, &label, Some(&records))?;
        }
        if has_labels && no_versions {
            self.problem(
                &versions,
                "missing-log",
                format!("{name} has labels but no versions log"),
                false,
            );
        }
        Ok(())
    }

    /// Check one log (its files, then its records in log order); returns
    /// its records oldest first, or `None` when a file is damaged (reported
    /// here, so checks that need the records are skipped).
    fn log(
        &mut self,
        path: &Path,
        files: LogFiles<Record>,
        name: &PromptName,
        label: Option<&Label>,
    ) -> Option<Vec<Record>> {
        let records = self.log_entries(files)?;
        self.report.records += records.len();
        // The value after every record, for the chain: a record moves from
        // a value its log reached before it.
        let mut reached: HashSet<LabelValue> = HashSet::new();
        let mut seqs = records.iter().map(|r| r.seq).peekable();
        let mut expected_seq = 1;
        while let Some(seq) = seqs.next() {
            if seq > expected_seq {
                self.problem(
                    path,
                    "missing-record",
                    format!(
                        "no record with seq {expected_seq}{}: a record file was deleted?",
                        if seq > expected_seq + 1 {
                            format!(" to {}", seq - 1)
                        } else {
                            String::new()
                        }
                    ),
                    false,
                );
            }
            expected_seq = seq + 1;
            while seqs.next_if_eq(&seq).is_some() {}
        }
        let mut i = 0;
        while i < records.len() {
            // Records with one seq were written on different branches: each
            // chains from what came before, not from the other.
            let seq = records[i].seq;
            let end = i + records[i..].iter().take_while(|r| r.seq == seq).count();
            for r in &records[i..end] {
                self.record(path, r, name, label, &reached);
            }
            reached.extend(records[i..end].iter().map(Record::value));
            i = end;
        }
        Some(records)
    }

    /// Report what [`check_log`] found in a log's files; its entries in
    /// log order, or `None` when something is damaged.
    fn log_entries<T>(&mut self, checked: LogFiles<T>) -> Option<Vec<T>> {
        for (path, kind, message) in checked.problems {
            self.problem(&path, kind, message, false);
        }
        checked.entries
    }

    fn record(
        &mut self,
        path: &Path,
        r: &Record,
        name: &PromptName,
        label: Option<&Label>,
        reached: &HashSet<LabelValue>,
    ) {
        let seq = r.seq;
        let expected_action = match label {
            None => r.action == Action::Add,
            Some(_) => r.action != Action::Add,
        };
        if r.prompt != name.as_str()
            || r.label.as_deref() != label.map(|l| l.as_str())
            || !expected_action
        {
            self.problem(
                path,
                "misplaced-record",
                format!(
                    "seq {seq}: {} {} record for {}{} does not belong in this log",
                    if r.action == Action::Add { "an" } else { "a" },
                    r.action.as_str(),
                    r.prompt,
                    r.label
                        .as_ref()
                        .map(|l| format!("@{l}"))
                        .unwrap_or_default()
                ),
                false,
            );
        }
        for id in r.value().versions() {
            if !self.found.contains(id) && !self.store.objects().contains(id) {
                self.problem(
                    path,
                    "missing-object",
                    format!("seq {seq}: version {} is not in objects/", id.short()),
                    false,
                );
            }
        }
        let chained = match r.from_value() {
            None => reached.is_empty() || label.is_some() && seq == 1,
            Some(from) => reached.contains(&from) || reached.is_empty(),
        };
        if !chained {
            self.problem(path, "broken-chain", format!(
                "seq {seq}: moves from {}, a value this log never reached before (edited by hand?)",
                r.from_value().map_or("nothing".to_string(), |f| f.to_string()),
            ), false);
        }
    }

    /// Check a label's ref, and (when its log could be read) that it agrees
    /// with the log's newest record.
    fn label_ref(
        &mut self,
        name: &PromptName,
        label: &Label,
        records: Option<&[Record]>,
    ) -> Result<()> {
        let path = self.store.ref_path(name, label);
        let current = match refs::read_value(&path) {
            Ok(RefValue::Conflict(sides)) => {
                self.report.refs += 1;
                let message = format!(
                    "{name}@{label} was moved differently on two git branches and the merge left both values in the file:\n{}{}",
                    self.describe_sides(&sides, records.unwrap_or_default()),
                    self.settle_hint(name, label, &sides)
                );
                self.problem(&path, "merge-conflict", message, false);
                return Ok(());
            }
            Ok(RefValue::Missing) => None,
            Ok(value) => value.value(),
            Err(Error::Corrupt { detail, .. }) => {
                self.report.refs += 1;
                self.problem(&path, "bad-ref", detail, false);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if current.is_some() {
            self.report.refs += 1;
        }
        for id in current.iter().flat_map(LabelValue::versions) {
            if !self.store.objects().contains(id) {
                self.problem(
                    &path,
                    "missing-object",
                    format!(
                        "{name}@{label} points to {}, which is not in objects/",
                        id.short()
                    ),
                    false,
                );
            }
        }
        let Some(records) = records else {
            return Ok(());
        };
        let last = records.last();
        let head_seq = last.map_or(0, |r| r.seq);
        let head: Vec<&Record> = records
            .iter()
            .rev()
            .take_while(|r| r.seq == head_seq)
            .collect();
        let mut head_values: Vec<LabelValue> = head.iter().map(|r| r.value()).collect();
        head_values.sort();
        head_values.dedup();
        match (last, &current) {
            (None, Some(_)) => self.problem(
                &path,
                "unlogged-label",
                format!("{name}@{label} has no changelog; it was not set by promptrel"),
                false,
            ),
            (Some(_), _) if head_values.len() > 1 => {
                let message = format!(
                    "{name}@{label} was moved differently on two git branches (merged); the label now points to {}:\n{}{}",
                    current
                        .as_ref()
                        .map_or("nothing".to_string(), |c| c.to_string()),
                    self.describe_sides(&head_values, records),
                    self.settle_hint(name, label, &head_values)
                );
                self.problem(&path, "unsettled-merge", message, false);
            }
            (Some(last), _) if current.as_ref() == Some(&last.value()) => {}
            (Some(last), _) if current == last.from_value() => {
                // A crash between the record and the ref write.
                if self.repair {
                    refs::write(&path, &last.value())?;
                }
                self.problem(&path, "ref-behind-log", format!("{name}@{label} is one move behind its changelog (interrupted write); the move to {} completes it", last.value()), self.repair);
            }
            (Some(last), _) => {
                let keep = current.clone().into_iter().collect::<Vec<_>>();
                self.problem(
                    &path,
                    "ref-disagrees",
                    format!(
                        "{name}@{label} points to {} but its changelog ends at {}.{}",
                        current
                            .as_ref()
                            .map_or("nothing".to_string(), |c| c.to_string()),
                        last.value(),
                        if keep.is_empty() {
                            String::new()
                        } else {
                            format!("\n{}", self.settle_hint(name, label, &keep))
                        }
                    ),
                    false,
                )
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// One line per candidate value: which newest record moved the label there.
    fn describe_sides(&self, sides: &[LabelValue], records: &[Record]) -> String {
        let mut out = String::new();
        for side in sides {
            match records.iter().rev().find(|r| &r.value() == side) {
                Some(r) => out.push_str(&format!(
                    "  {side}: {} {}, {}: {}\n",
                    r.action.as_str(),
                    r.time,
                    r.author,
                    r.message
                )),
                None => out.push_str(&format!("  {side}\n")),
            }
        }
        out
    }

    /// How to record the choice, for each candidate.
    fn settle_hint(&self, name: &PromptName, label: &Label, sides: &[LabelValue]) -> String {
        let protected = self
            .store
            .config()
            .is_ok_and(|c| c.is_protected(label.as_str()));
        let choices: Vec<String> = sides
            .iter()
            .map(|side| settle_command(name, label, side, protected))
            .collect();
        match choices.as_slice() {
            [one] => format!("if that is the value you want, record it: `{one}`"),
            _ => format!("settle it by choosing one: `{}`", choices.join("` or `")),
        }
    }

    /// The release log: every file readable, every release's moves
    /// recorded in its labels' logs; a pending release (a crashed writer's)
    /// is completed by `--repair`, as the next writer would.
    fn releases(&mut self) -> Result<()> {
        let dir = self.store.releases_dir();
        let pending = dir.join(crate::release::PENDING);
        if pending.exists() {
            let repaired = self.repair && self.store.settle_release()?;
            self.problem(
                &pending,
                "pending-release",
                "a release was committed but not completed (interrupted write); completing it moves the rest of its labels",
                repaired,
            );
        }
        let mut logs = changelog::scan(&dir)?;
        let shards = logs
            .remove(crate::release::RELEASES_LOG)
            .unwrap_or_default();
        for (stem, shards) in logs {
            for shard in shards {
                self.problem(
                    &shard.dir,
                    "stray-file",
                    format!("not a release folder (log {stem})"),
                    false,
                );
            }
        }
        let files = check_logs::<ReleaseRecord, _>(vec![shards], |entry| entry)
            .pop()
            .expect("one log checked")?;
        let entries = self.log_entries(files).unwrap_or_default();
        self.report.records += entries.len();
        // Each label log is read once, however many releases moved it (a
        // read per move made fsck O(releases × log length)): the (release,
        // to) of its records, or None when it is damaged (reported on its
        // own).
        let mut recorded_moves: HashMap<PathBuf, Option<HashSet<(String, VersionId)>>> =
            HashMap::new();
        for entry in entries {
            let release = crate::release::Release::from_entry(entry);
            let Ok(label) = Label::new(&release.record.label) else {
                self.problem(
                    &dir,
                    "damaged-record",
                    format!(
                        "release {}: invalid label {:?}",
                        release.short_id(),
                        release.record.label
                    ),
                    false,
                );
                continue;
            };
            for m in &release.record.moves {
                let Ok(name) = PromptName::new(&m.prompt) else {
                    self.problem(
                        &dir,
                        "damaged-record",
                        format!(
                            "release {}: invalid prompt name {:?}",
                            release.short_id(),
                            m.prompt
                        ),
                        false,
                    );
                    continue;
                };
                let log = self.store.label_log(&name, &label);
                let recorded = recorded_moves
                    .entry(log.dir().join(label.file_name()))
                    .or_insert_with(|| {
                        log.read_all().ok().map(|records| {
                            records
                                .into_iter()
                                .filter_map(|r| Some((r.release?, r.to)))
                                .collect()
                        })
                    })
                    .as_ref()
                    // A damaged log is reported on its own.
                    .is_none_or(|moves| moves.contains(&(release.id.clone(), m.to.clone())));
                if !recorded {
                    self.problem(
                        &self.store.label_log(&name, &label).dir().join(format!("{}~…", label.file_name())),
                        "incomplete-release",
                        format!("release {} moved {name}@{label} to {}, but that label's log has no record of it", release.short_id(), m.to.short()),
                        false,
                    );
                }
            }
        }
        Ok(())
    }

    /// Includes that name no version, in the versions that matter (each
    /// label's and the newest): a render of them would fail.
    fn includes(&mut self, progress: &mut dyn FnMut(usize, usize)) -> Result<()> {
        for d in self.store.dangling_includes_with_progress(progress)? {
            let path = self.store.objects().path(&d.id);
            self.problem(
                &path,
                "dangling-include",
                format!(
                    "{} ({}) includes \"{}\" (line {}), which names no version: {}",
                    d.holders(),
                    d.id.short(),
                    d.include.rev,
                    d.include.line,
                    d.reason
                ),
                false,
            );
        }
        Ok(())
    }

    fn temp_files(&mut self) -> Result<()> {
        let dir = self.store.dir().to_path_buf();
        for entry in walkdir::WalkDir::new(&dir).min_depth(1) {
            let entry = entry.map_err(|e| Error::io("listing", &dir)(e.into()))?;
            if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            if self.repair && entry.file_type().is_file() {
                fs::remove_file(entry.path()).map_err(Error::io("removing", entry.path()))?;
            }
            let repaired = self.repair && entry.file_type().is_file();
            self.problem(
                entry.path(),
                "temp-file",
                "left by an interrupted write; nothing refers to it",
                repaired,
            );
        }
        Ok(())
    }
}

/// Hash every object on all cores; returns the damaged ones with a message.
/// This thread hashes a share too, and reports the count of all threads.
/// Threads take the files a block at a time (a thread that gets less of
/// a shared machine's time does less of the work).
fn hash_all(
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
                let read = fs::File::open(path).and_then(|mut file| read_into(&mut file, &mut buf));
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
fn walk_sorted(
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

/// What [`Checker::prompt`] checks of one prompt, found by listing its
/// folders (on any thread).
struct PromptPlan {
    /// The shards of its versions log.
    versions: Vec<Shard>,
    /// Its labels, from its refs and its logs, sorted, each with its log's
    /// shards.
    labels: Result<Vec<(Label, Vec<Shard>)>>,
    /// Whether it has a label ref.
    has_refs: bool,
    /// Whether a `@` log whose name is no label holds record files.
    other_label_records: Result<bool>,
}

impl PromptPlan {
    fn of(store: &Store, name: &PromptName) -> Result<PromptPlan> {
        let mut logs = changelog::scan(&store.prompt_path("logs", name))?;
        let versions = logs.remove(VERSIONS_LOG).unwrap_or_default();
        let refs = refs::labels_in(&store.prompt_path("refs", name));
        let has_refs = refs.as_ref().is_ok_and(|r| !r.is_empty());
        let labels = refs.map(|mut labels| {
            for stem in logs.keys() {
                if let Some(label) = stem.strip_prefix('@').and_then(|l| Label::new(l).ok())
                    && !labels.contains(&label)
                {
                    labels.push(label);
                }
            }
            labels.sort();
            labels
                .into_iter()
                .map(|label| {
                    let shards = logs.remove(&label.file_name()).unwrap_or_default();
                    (label, shards)
                })
                .collect()
        });
        let mut other_label_records = Ok(false);
        for shard in logs
            .iter()
            .filter(|(stem, _)| stem.starts_with('@'))
            .flat_map(|(_, shards)| shards)
        {
            other_label_records = shard.list().map(|files| !files.records.is_empty());
            if !matches!(other_label_records, Ok(false)) {
                break;
            }
        }
        Ok(PromptPlan {
            versions,
            labels,
            has_refs,
            other_label_records,
        })
    }
}

/// Reads the files of one folder, one after the other, into one buffer.
/// On Linux each is opened relative to the folder, not by its whole path
/// (which the kernel would walk again, folder by folder, for every file).
struct FolderReader {
    #[cfg(target_os = "linux")]
    dir: Option<std::os::fd::OwnedFd>,
    buf: Vec<u8>,
}

impl FolderReader {
    fn open(dir: &Path) -> FolderReader {
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
    fn read(&mut self, path: &Path) -> std::io::Result<&[u8]> {
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
        let len = read_into(&mut file, &mut self.buf)?;
        Ok(&self.buf[..len])
    }
}

/// Read `file` whole into `buf` (grown as needed, never shrunk: one buffer
/// serves many files); how many bytes it has. Without [`fs::read`]'s
/// `stat` for the size, one system call in five for a small file.
fn read_into(file: &mut fs::File, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::io::Read;
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize((2 * len).max(8 * 1024), 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => return Ok(len),
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A log's files, read and checked on their own (each record file's name,
/// content and shard; each pack readers would use against its shard's
/// records): what needs nothing else of the store, so any thread can do it.
struct LogFiles<T> {
    /// Damage found, as (file, kind, message).
    problems: Vec<(PathBuf, &'static str, String)>,
    /// Its entries in log order; `None` when a file is damaged.
    entries: Option<Vec<T>>,
    /// Record files found, damaged or not.
    record_files: usize,
}

/// One shard folder, read and checked on its own.
struct ShardFiles<T> {
    /// Stray files, then damaged records (file-name order).
    problems: Vec<(PathBuf, &'static str, String)>,
    /// Its records that could be read, in log order.
    entries: Vec<T>,
    /// Whether a record file is damaged.
    damaged: bool,
    /// The pack readers would use instead of the record files, and whether
    /// it holds exactly them (checked only when they are all readable).
    pack: Option<(PathBuf, bool)>,
    /// Record files found, damaged or not.
    record_files: usize,
}

/// Check one shard folder; of each entry, what `keep` keeps (the lines
/// are needed only here, and memory holds a whole log).
fn check_shard<T: LogLine, U>(shard: &Shard, keep: fn(Entry<T>) -> U) -> Result<ShardFiles<U>> {
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
fn check_log<T>(shards: Vec<ShardFiles<T>>) -> LogFiles<T> {
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
fn check_logs<T: LogLine, U: Send>(
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
const BATCH_SHARDS: usize = 64;

/// The logs of every prompt, in the order [`Checker::prompt`] takes them,
/// read and checked ahead in batches on all cores.
struct LogQueue {
    /// Logs not checked yet, by their shards.
    pending: std::collections::VecDeque<Vec<Shard>>,
    /// Logs checked, not yet taken.
    ready: std::collections::VecDeque<Result<LogFiles<Record>>>,
}

impl LogQueue {
    fn next(&mut self) -> Result<LogFiles<Record>> {
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
fn par_map<I: Sync, R: Send>(items: &[I], f: impl Fn(&I) -> R + Sync) -> Vec<R> {
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

/// The command that records `value` as the value of `label`, as a logged
/// move (to be shown between backticks). A protected label cannot be split
/// directly: the split is made on another label, then promoted.
pub(crate) fn settle_command(
    name: &PromptName,
    label: &Label,
    value: &LabelValue,
    protected: bool,
) -> String {
    match value {
        LabelValue::One(id) if protected => format!(
            "promptrel rollback {name} {label} --to {} -m \"settle merge\"",
            id.short()
        ),
        LabelValue::One(id) => format!(
            "promptrel label {name} {label} {} -m \"settle merge\"",
            id.short()
        ),
        LabelValue::Split(split) => {
            let shares: Vec<String> = split
                .shares()
                .iter()
                .map(|s| format!("{}={}", s.version.short(), s.weight))
                .collect();
            let target = if protected { "OTHER" } else { label.as_str() };
            let split = format!(
                "promptrel split {name} {target} {} -m \"settle merge\"",
                shares.join(" ")
            );
            if protected {
                format!("{split}` then `promptrel promote {name} OTHER {label} -m \"settle merge\"")
            } else {
                split
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Step;
    use crate::{Label, PromptName, Signature, Store};

    #[test]
    fn progress_goes_through_each_step_in_order_and_ends_at_its_total() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = Store::init(tmp.path()).unwrap();
        let sig = Signature {
            author: "Ada".into(),
            time: jiff::Timestamp::UNIX_EPOCH,
        };
        let staging = Label::new("staging").unwrap();
        // More objects than threads, so that every thread hashes some.
        for i in 0..40 {
            let name = PromptName::new(&format!("p{i}")).unwrap();
            store
                .add(
                    &name,
                    format!("v{i}").as_bytes(),
                    "",
                    std::slice::from_ref(&staging),
                    None,
                    &sig,
                )
                .unwrap();
        }
        let mut calls: Vec<(Step, usize, usize)> = Vec::new();
        let report = store
            .fsck_with_progress(false, &mut |step, done, total| {
                calls.push((step, done, total))
            })
            .unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        let steps = [Step::Objects, Step::Prompts, Step::Includes];
        let mut at = 0;
        for (i, &(step, done, total)) in calls.iter().enumerate() {
            let index = steps.iter().position(|s| *s == step).unwrap();
            assert!(index >= at, "{step:?} after {:?}", steps[at]);
            at = index;
            assert!(done <= total, "{calls:?}");
            let last_of_step = calls.get(i + 1).is_none_or(|next| next.0 != step);
            if last_of_step {
                assert_eq!(done, total, "{step:?} ends at its total");
                assert_eq!(
                    total,
                    if step == Step::Objects {
                        report.objects
                    } else {
                        40
                    }
                );
            } else {
                assert!(calls[i + 1].1 >= done, "{step:?} never goes back");
            }
        }
        assert_eq!(at, 2, "every step reported: {calls:?}");
    }
}
