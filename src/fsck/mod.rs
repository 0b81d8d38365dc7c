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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::changelog::{self, Action, Record, Shard};
use crate::error::{Error, Result};
use crate::fsutil::TEMP_PREFIX;
use crate::id::VersionId;
use crate::name::{Label, PromptName};
use crate::refs::{self, RefValue};
use crate::release::ReleaseRecord;
use crate::split::LabelValue;
use crate::store::{Store, VERSIONS_LOG};

mod read;
use read::{LogFiles, LogQueue, check_logs, hash_all, par_map, walk_sorted};

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
        // Every prompt seen in either tree: a log folder in logs/, a label
        // file in refs/.
        let mut prompts = std::collections::BTreeMap::<String, Vec<String>>::new();
        for (root, tree) in [(&logs, "logs"), (&refs_dir, "refs")] {
            if !root.is_dir() {
                continue;
            }
            // Log folders are checked with their prompt, and not even
            // listed here (walkdir would read each whole, to sort it).
            walk_sorted(root, &mut |path, file_type| {
                let name = path
                    .file_name()
                    .expect("below root")
                    .to_string_lossy()
                    .into_owned();
                // In logs/, a folder is a log's (checked with the prompt)
                // or a namespace's.
                let log = (tree == "logs")
                    .then(|| changelog::parse_log_name(&name))
                    .flatten()
                    .filter(|_| file_type.is_dir());
                if log.is_none() && file_type.is_dir()
                    || name == ".keep"
                    || name.starts_with(TEMP_PREFIX)
                {
                    return log.is_none();
                }
                let folder = path.parent().expect("below root");
                let mut prompt: Vec<String> = folder
                    .strip_prefix(root)
                    .expect("below root")
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                let valid_stem = |stem: &str| {
                    stem.strip_prefix('@')
                        .is_some_and(|l| Label::new(l).is_ok())
                };
                let valid_file = match log {
                    Some((part, stem)) => {
                        prompt.push(part.to_string());
                        stem == VERSIONS_LOG || valid_stem(stem)
                    }
                    None => tree == "refs" && valid_stem(&name),
                };
                let stem = log.map(|(_, stem)| stem.to_string());
                let prompt = prompt.join("/");
                if log.is_none() && !file_type.is_file() {
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
                    prompts.entry(prompt).or_default().extend(stem);
                }
                log.is_none()
            })
            .map_err(Error::io("listing", root))?;
        }
        let (names, stems): (Vec<PromptName>, Vec<Vec<String>>) = prompts
            .into_iter()
            .map(|(prompt, stems)| (PromptName::new(&prompt).expect("checked above"), stems))
            .unzip();
        // Listing each log's folder, and reading and checking its
        // files, is most of the work and needs nothing else: it is done on
        // all cores, ahead of the checks across logs, which take the results
        // in order (so the report does not depend on thread timing).
        let prompts: Vec<_> = names.iter().zip(&stems).collect();
        let mut plans = par_map(&prompts, |(name, stems)| {
            PromptPlan::of(self.store, name, stems)
        });
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
        let versions = self.store.versions_log(name).dir().to_path_buf();
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
            let log = self.store.label_log(name, &label).dir().to_path_buf();
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
        let shards = self.store.releases_log().scan()?;
        // Another log here is no release log.
        let others = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .filter_map(|n| n.into_string().ok())
                .filter(|n| {
                    n.starts_with(['+', '@'])
                        && n != crate::release::RELEASES_LOG
                        && n != crate::release::PENDING
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        for name in others {
            self.problem(
                &dir.join(&name),
                "stray-file",
                format!("not a release folder ({name})"),
                false,
            );
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
                        self.store.label_log(&name, &label).dir(),
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
    /// The plan for `name`, whose log folders in `logs/` are `stems`.
    fn of(store: &Store, name: &PromptName, stems: &[String]) -> Result<PromptPlan> {
        let mut logs = BTreeMap::new();
        for stem in stems {
            logs.insert(stem.clone(), store.prompt_log(name, stem.clone()).scan()?);
        }
        let versions = logs.remove(VERSIONS_LOG).unwrap_or_default();
        let refs = refs::labels_in(&store.refs_dir(name));
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
