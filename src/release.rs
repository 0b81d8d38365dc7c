//! Releases: one label moved for several prompts as one atomic event, and
//! undone as one.
//!
//! A release is a record in the store's release log (`releases/`), naming
//! every move (prompt, from, to) of one label. Its id is the BLAKE3 hash of
//! its line. Writing one, under the lock:
//!
//! 1. `releases/+pending` is written with the release record: the commit
//!    point. From here on, readers resolving a label see the release's value
//!    for every label it moves ([`Store::label`] consults the pending
//!    release), so they see all of the release or none of it;
//! 2. each label's record (carrying `release`: the id) and ref, as any move;
//! 3. the release record in the release log;
//! 4. `releases/+pending` is removed.
//!
//! A crash after 1 leaves a pending release, which the next writer completes
//! before anything else (`Store::settle_release`, run as every writer takes
//! the lock), and `fsck --repair` too. An I/O error undoes every step, newest
//! first, so the release did not happen.

use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Action;
use crate::changelog::{self, Entry, Log, LogLine, record_pair};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::{MIN_PREFIX, VersionId};
use crate::name::{Label, PromptName};
use crate::refs::{self, RefValue};
use crate::split::{LabelValue, Split};
use crate::store::{Signature, Store};
use crate::template::VarChanges;
use crate::update::{Move, UndoGuard};

/// The release log's name, in `releases/`.
pub const RELEASES_LOG: &str = "+releases";
/// The pending release, in `releases/`.
pub const PENDING: &str = "+pending";

/// What a release record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseAction {
    /// `promptrel release FROM TO …`.
    Release,
    /// `promptrel rollback --release ID`.
    Rollback,
}

impl ReleaseAction {
    /// The word used in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseAction::Release => "release",
            ReleaseAction::Rollback => "rollback",
        }
    }
}

/// One label move of a release. As in a changelog record, a split value
/// is carried whole in `from_split`/`split`, with its greatest share in
/// `from`/`to` (FORMAT.md §6.1, §16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseMove {
    /// The prompt.
    pub prompt: String,
    /// The label's value before (`null`: the label did not exist); for a
    /// split, its greatest share.
    pub from: Option<VersionId>,
    /// The label's value before, when it was a split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_split: Option<Split>,
    /// Its value after; for a split, its greatest share.
    pub to: VersionId,
    /// Its value after, when it is a split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
}

impl ReleaseMove {
    /// The move of `prompt`'s label from `from` to `to`.
    pub fn new(prompt: String, from: Option<LabelValue>, to: &LabelValue) -> ReleaseMove {
        let (from, from_split) = match from.as_ref().map(record_pair) {
            Some((id, split)) => (Some(id), split),
            None => (None, None),
        };
        let (to, split) = record_pair(to);
        ReleaseMove {
            prompt,
            from,
            from_split,
            to,
            split,
        }
    }

    /// The label's value after the move: `split`, else `to`.
    pub fn value(&self) -> LabelValue {
        match &self.split {
            Some(split) => LabelValue::Split(split.clone()),
            None => LabelValue::One(self.to.clone()),
        }
    }

    /// The label's value before the move: `from_split`, else `from`.
    pub fn from_value(&self) -> Option<LabelValue> {
        match &self.from_split {
            Some(split) => Some(LabelValue::Split(split.clone())),
            None => self.from.clone().map(LabelValue::One),
        }
    }
}

/// A release record (one line of the release log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    /// When, in UTC.
    pub time: Timestamp,
    /// A release, or the rollback of one.
    pub action: ReleaseAction,
    /// Its place in the release log.
    pub seq: u64,
    /// The label moved (TO).
    pub label: String,
    /// `release`: the label whose values were released (FROM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `rollback`: the id of the release it undoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// Every label moved, sorted by prompt.
    pub moves: Vec<ReleaseMove>,
    /// Who.
    pub author: String,
    /// Why.
    #[serde(default)]
    pub message: String,
}

impl LogLine for ReleaseRecord {
    fn seq(&self) -> u64 {
        self.seq
    }

    fn time(&self) -> Timestamp {
        self.time
    }

    fn check(&self) -> std::result::Result<(), String> {
        for m in &self.moves {
            if m.split
                .as_ref()
                .is_some_and(|s| s.headline().version != m.to)
            {
                return Err(format!(
                    "{}: `to` must be the greatest share of `split`",
                    m.prompt
                ));
            }
            if let Some(split) = &m.from_split
                && m.from.as_ref() != Some(&split.headline().version)
            {
                return Err(format!(
                    "{}: `from` must be the greatest share of `from_split`",
                    m.prompt
                ));
            }
        }
        Ok(())
    }
}

impl ReleaseRecord {
    /// The record as one line of JSON, with its `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        changelog::to_line(self)
    }

    /// The release id: the BLAKE3 hash of its line (without `\n`).
    pub fn id_of_line(line: &[u8]) -> String {
        blake3::hash(line).to_hex().to_string()
    }
}

/// A release record with its id, as the release log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The release id (64 hex digits).
    pub id: String,
    /// The record.
    pub record: ReleaseRecord,
}

impl Release {
    pub(crate) fn from_entry(entry: Entry<ReleaseRecord>) -> Release {
        Release {
            id: ReleaseRecord::id_of_line(&entry.line),
            record: entry.record,
        }
    }

    /// The first 12 digits of the id.
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
}

/// Which prompts [`Store::release`] moves.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// These prompts: each must have FROM.
    Names(&'a [PromptName]),
    /// Every prompt that has FROM (when none has it, the error is
    /// [`Error::NoPromptHasLabel`]).
    All,
}

/// Options of [`Store::release`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReleaseOptions {
    /// Release even when an arriving version requires variables the leaving
    /// one did not (the promotion guard, per prompt).
    pub allow_new_vars: bool,
}

/// What [`Store::release`] or [`Store::rollback_release`] did.
#[derive(Debug, Clone)]
pub struct Released {
    /// The release written; `None` when no label had to move.
    pub release: Option<Release>,
    /// Per prompt whose variables change: (prompt, removed variables), for
    /// a warning.
    pub removed_vars: Vec<(String, Vec<String>)>,
}

impl Store {
    /// `releases/`.
    pub(crate) fn releases_dir(&self) -> PathBuf {
        self.dir().join("releases")
    }

    /// The release log.
    pub fn releases_log(&self) -> Log {
        Log::new(
            self.releases_dir().join(RELEASES_LOG),
            RELEASES_LOG.to_string(),
        )
    }

    /// Every release, newest first.
    pub fn releases(&self) -> Result<Vec<Release>> {
        let mut reader = self.releases_log().reverse_as::<ReleaseRecord>()?;
        let mut out = Vec::new();
        while let Some(entry) = reader.next_entry()? {
            out.push(Release::from_entry(entry));
        }
        Ok(out)
    }

    /// The release that is written but not complete (a writer is at it, or
    /// crashed), if any.
    pub fn pending_release(&self) -> Result<Option<Release>> {
        let path = self.releases_dir().join(PENDING);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading", &path)(e)),
        };
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let record = changelog::parse::<ReleaseRecord>(line)
            .map_err(|e| Error::corrupt(&path, format!("damaged release record: {e}")))?;
        Ok(Some(Release {
            id: ReleaseRecord::id_of_line(line),
            record,
        }))
    }

    /// What a pending release says `label` of `name` now is.
    pub(crate) fn pending_value(
        &self,
        name: &PromptName,
        label: &Label,
    ) -> Result<Option<LabelValue>> {
        Ok(self.pending_release()?.and_then(|p| {
            (p.record.label == label.as_str())
                .then(|| {
                    p.record
                        .moves
                        .into_iter()
                        .find(|m| m.prompt == name.as_str())
                        .map(|m| m.value())
                })
                .flatten()
        }))
    }

    /// Complete a release a crashed writer committed but did not finish.
    /// Call while holding the lock.
    pub(crate) fn settle_release(&self) -> Result<bool> {
        let Some(pending) = self.pending_release()? else {
            return Ok(false);
        };
        let label = Label::new(&pending.record.label)?;
        for m in &pending.record.moves {
            let name = PromptName::new(&m.prompt)?;
            let log = self.label_log(&name, &label);
            let head = log.head()?;
            let newest_release = head.newest.as_ref().and_then(|r| r.release.clone());
            if newest_release.as_deref() != Some(&pending.id) {
                let undo = undoes_newest(head.newest.as_ref(), &pending.record);
                let record = member_record(&pending, &name, &label, m, head.next_seq, undo);
                fsutil::write_atomic(&log.record_path(&record), &record.to_line())?;
            }
            let path = self.ref_path(&name, &label);
            let to = m.value();
            if refs::read_value(&path)?.value().as_ref() != Some(&to) {
                refs::write(&path, &to)?;
            }
        }
        let line = pending.record.to_line();
        let log = self.releases_log();
        fsutil::write_atomic(&log.record_path(&pending.record), &line)?;
        fsutil::remove_file(&self.releases_dir().join(PENDING))?;
        Ok(true)
    }

    /// Move `to` of every selected prompt to what its `from` label holds,
    /// as one release (see the module documentation). Prompts whose `to`
    /// already holds that value are left out; when none is left, nothing is
    /// written.
    pub fn release(
        &self,
        from: &Label,
        to: &Label,
        selection: Selection<'_>,
        options: ReleaseOptions,
        message: &str,
        sig: &Signature,
    ) -> Result<Released> {
        if from == to {
            return Err(Error::InvalidRelease {
                reason: format!("FROM and TO are the same label ({from})"),
            });
        }
        let _lock = self.write_lock()?;
        let names = match selection {
            Selection::Names(names) => {
                let mut names = names.to_vec();
                names.sort();
                names.dedup();
                for name in &names {
                    self.require_prompt(name)?;
                }
                names
            }
            Selection::All => self.prompts()?,
        };
        let mut moves = Vec::new();
        let mut removed_vars = Vec::new();
        let mut any_from = false;
        for name in &names {
            self.settle(name, from)?;
            let Some(target) = self.label(name, from)? else {
                if matches!(selection, Selection::All) {
                    continue;
                }
                return Err(self.unknown_label(name, from)?);
            };
            any_from = true;
            self.settle(name, to)?;
            let state = self.label_state(name, to)?;
            if !state.moves(&target) {
                continue;
            }
            let VarChanges { removed, .. } =
                self.variable_guard(name, to, &target, options.allow_new_vars)?;
            if !removed.is_empty() {
                removed_vars.push((name.to_string(), removed));
            }
            moves.push(ReleaseMove::new(name.to_string(), state.from(), &target));
        }
        if !any_from && matches!(selection, Selection::All) {
            return Err(self.label_nowhere(from)?);
        }
        if moves.is_empty() {
            return Ok(Released {
                release: None,
                removed_vars,
            });
        }
        let record = ReleaseRecord {
            time: sig.time,
            action: ReleaseAction::Release,
            seq: self.releases_log().head_as::<ReleaseRecord>()?.next_seq,
            label: to.to_string(),
            source: Some(from.to_string()),
            undoes: None,
            moves,
            author: sig.author.clone(),
            message: message.to_string(),
        };
        let release = self.write_release(record, sig)?;
        Ok(Released {
            release: Some(release),
            removed_vars,
        })
    }

    /// Undo a whole release, as one release: every label it moved goes back
    /// to where it was, or nothing moves. Refused when one of those labels
    /// has moved since (say which), when the release is already undone, or
    /// when a label did not exist before it (labels are never removed).
    pub fn rollback_release(&self, id: &str, message: &str, sig: &Signature) -> Result<Released> {
        let _lock = self.write_lock()?;
        let releases = self.releases()?;
        let target = find_release(&releases, id)?;
        if let Some(undone) = releases
            .iter()
            .find(|r| r.record.undoes.as_deref() == Some(&target.id))
        {
            return Err(Error::InvalidRelease {
                reason: format!(
                    "release {} was already rolled back by {} ({})",
                    target.short_id(),
                    undone.short_id(),
                    undone.record.time
                ),
            });
        }
        let label = Label::new(&target.record.label)?;
        let mut moves = Vec::new();
        let mut moved_since = Vec::new();
        for m in &target.record.moves {
            let name = PromptName::new(&m.prompt)?;
            self.settle(&name, &label)?;
            let Some(back) = m.from_value() else {
                return Err(Error::InvalidRelease {
                    reason: format!(
                        "{name}@{label} did not exist before release {}, and labels are never removed; move it with `promptrel rollback {name} {label} --to VERSION`",
                        target.short_id()
                    ),
                });
            };
            let now = self.label_value(&name, &label)?;
            let released = m.value();
            if now.value().as_ref() != Some(&released) {
                moved_since.push(format!(
                    "{name}@{label} is now {}",
                    match &now {
                        RefValue::Id(id) => id.short().to_string(),
                        RefValue::Split(split) => format!("split {split}"),
                        RefValue::Missing => "missing".to_string(),
                        RefValue::Conflict(_) => "in a merge conflict".to_string(),
                    }
                ));
                continue;
            }
            moves.push(ReleaseMove::new(name.to_string(), Some(released), &back));
        }
        if !moved_since.is_empty() {
            return Err(Error::InvalidRelease {
                reason: format!(
                    "labels of release {} moved since, so it cannot be undone as a whole: {}",
                    target.short_id(),
                    moved_since.join("; ")
                ),
            });
        }
        let record = ReleaseRecord {
            time: sig.time,
            action: ReleaseAction::Rollback,
            seq: self.releases_log().head_as::<ReleaseRecord>()?.next_seq,
            label: label.to_string(),
            source: None,
            undoes: Some(target.id.clone()),
            moves,
            author: sig.author.clone(),
            message: message.to_string(),
        };
        let release = self.write_release(record, sig)?;
        Ok(Released {
            release: Some(release),
            removed_vars: Vec::new(),
        })
    }

    /// Steps 1 to 4 of the module documentation. Caller holds the lock and
    /// has checked everything that can refuse the release.
    fn write_release(&self, record: ReleaseRecord, sig: &Signature) -> Result<Release> {
        let line = record.to_line();
        let release = Release {
            id: ReleaseRecord::id_of_line(&line[..line.len() - 1]),
            record,
        };
        let label = Label::new(&release.record.label)?;
        let pending = self.releases_dir().join(PENDING);
        let mut guard = UndoGuard::default();
        guard.creating(&pending);
        fsutil::write_atomic(&pending, &line)?;
        for m in &release.record.moves {
            let name = PromptName::new(&m.prompt)?;
            let mut how = Move::new(
                match release.record.action {
                    ReleaseAction::Release => Action::Promote,
                    ReleaseAction::Rollback => Action::Rollback,
                },
                &release.record.message,
            );
            how.source = release.record.source.clone();
            how.release = Some(release.id.clone());
            how.undo = undoes_newest(
                self.label_log(&name, &label).newest()?.as_ref(),
                &release.record,
            );
            self.move_label(&name, &label, &m.value(), how, sig, &mut guard)?;
        }
        let log = self.releases_log();
        let path = log.record_path(&release.record);
        guard.creating(&path);
        fsutil::write_atomic(&path, &line)?;
        guard.pack_later(log, release.record.seq);
        fsutil::remove_file(&pending)?;
        guard.commit();
        Ok(release)
    }
}

/// Whether the move of `release` in a label whose newest record is `newest`
/// is an undo (`undo: true`, FORMAT.md §8.1 and §16): `release` is the
/// rollback of a release, `newest` is that release's move, and `newest` is
/// not an undo itself. Rolling back the rollback of a release re-does a move
/// that the undo walk already counts as undone; marked as an undo, it would
/// hide one more change, and the next `rollback` would skip a value.
fn undoes_newest(newest: Option<&crate::Record>, release: &ReleaseRecord) -> bool {
    release.action == ReleaseAction::Rollback
        && release.undoes.is_some()
        && newest.is_some_and(|r| !r.undo && r.release == release.undoes)
}

/// The record of one member move of a pending release, as
/// [`Store::write_release`] writes it (for [`Store::settle_release`]).
fn member_record(
    release: &Release,
    name: &PromptName,
    label: &Label,
    m: &ReleaseMove,
    seq: u64,
    undo: bool,
) -> crate::Record {
    crate::Record {
        time: release.record.time,
        action: match release.record.action {
            ReleaseAction::Release => Action::Promote,
            ReleaseAction::Rollback => Action::Rollback,
        },
        prompt: name.to_string(),
        label: Some(label.to_string()),
        seq,
        from: m.from.clone(),
        from_split: m.from_split.clone(),
        to: m.to.clone(),
        split: m.split.clone(),
        author: release.record.author.clone(),
        message: release.record.message.clone(),
        source: release.record.source.clone(),
        file: None,
        undo,
        release: Some(release.id.clone()),
    }
}

/// The release whose id starts with `prefix` (at least [`MIN_PREFIX`] hex
/// digits).
fn find_release<'a>(releases: &'a [Release], prefix: &str) -> Result<&'a Release> {
    let prefix = prefix.to_ascii_lowercase();
    if prefix.len() < MIN_PREFIX || !crate::id::is_lower_hex(&prefix) || prefix.len() > 64 {
        return Err(Error::InvalidRelease {
            reason: format!(
                "{prefix:?} is not a release id (at least {MIN_PREFIX} hex digits; `promptrel log` shows them)"
            ),
        });
    }
    let found: Vec<&Release> = releases
        .iter()
        .filter(|r| r.id.starts_with(&prefix))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::InvalidRelease {
            reason: format!("no release {prefix} (`promptrel log` shows the releases)"),
        }),
        many => Err(Error::InvalidRelease {
            reason: format!(
                "release id {prefix} is ambiguous: {}",
                many.iter()
                    .map(|r| r.short_id())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
