//! Changing the store: adding versions and moving labels.
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

use crate::changelog::{self, Action, Head, Log, Record, record_pair};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::VersionId;
use crate::name::{Label, PromptName};
use crate::refs::{self, RefValue};
use crate::rev::{Rev, Spec};
use crate::split::{LabelValue, Share, Split};
use crate::store::{Signature, Store};
use crate::template::{self, VarChanges};

impl Store {
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
        let versions_log = self.versions_log(name);
        let head = versions_log.head()?;
        let newest = head.newest.as_ref().map(|r| r.to.clone());
        for label in labels {
            // Also finishes a move a crashed writer logged but did not apply,
            // so this add's record chains from the label's true value.
            self.settle(name, label)?;
        }
        let mut guard = UndoGuard::default();
        guard.creating(&self.objects().path(&VersionId::of(bytes)));
        let (id, new_object) = self.objects().write(bytes)?;
        let new_version = newest.as_ref() != Some(&id);
        if new_version {
            let record = Record {
                time: sig.time,
                action: Action::Add,
                prompt: name.to_string(),
                label: None,
                seq: head.next_seq,
                from: newest,
                from_split: None,
                to: id.clone(),
                split: None,
                author: sig.author.clone(),
                message: message.to_string(),
                source: None,
                file,
                undo: false,
                release: None,
            };
            guard.record(&versions_log, record)?;
        }
        // The shard before the newest record is packed once it is full
        // (also when this add wrote nothing: a crashed writer may not have).
        guard.pack_later(versions_log, head.next_seq - u64::from(!new_version));
        let mut moved = Vec::new();
        for label in labels {
            let how = Move::new(Action::Label, message);
            let to = LabelValue::One(id.clone());
            moved.push(self.move_label(name, label, &to, how, sig, &mut guard)?);
        }
        guard.commit();
        Ok(Added {
            id,
            new_object,
            new_version,
            labels: moved,
        })
    }

    /// Point `label` of `name` at `target` (a revision within NAME). With
    /// `expect`, fail with [`Error::ExpectMismatch`] unless the label still
    /// points at that version.
    pub fn set_label(
        &self,
        name: &PromptName,
        label: &Label,
        target: &str,
        expect: Option<&str>,
        message: &str,
        sig: &Signature,
    ) -> Result<Moved> {
        refuse_protected(&self.config()?, std::slice::from_ref(label))?;
        let target = Rev::parse_in(name, target)?;
        let how = Move::new(Action::Label, message);
        self.guarded_move(name, label, expect, sig, |store| {
            Ok((LabelValue::One(store.resolve(&target)?), how))
        })
    }

    /// Split `label` of `name` between several versions: each `(version,
    /// weight)` names a version of NAME (an id, a prefix, or a label holding
    /// one version) and the percent of keys it serves; at least two
    /// versions, each once, weights 1 to 99 adding up to 100. Protected
    /// labels are refused: split another label and promote it. With
    /// `expect`, fail with [`Error::ExpectMismatch`] unless the label still
    /// points at that version.
    pub fn split(
        &self,
        name: &PromptName,
        label: &Label,
        shares: &[(&str, u8)],
        expect: Option<&str>,
        message: &str,
        sig: &Signature,
    ) -> Result<Moved> {
        refuse_protected(&self.config()?, std::slice::from_ref(label))?;
        let weights: Vec<u8> = shares.iter().map(|(_, w)| *w).collect();
        Split::check_weights(&weights)?;
        let shares = shares
            .iter()
            .map(|(version, weight)| Ok((Rev::parse_in(name, version)?, *weight)))
            .collect::<Result<Vec<_>>>()?;
        let how = Move::new(Action::Split, message);
        self.guarded_move(name, label, expect, sig, |store| {
            let shares = shares
                .iter()
                .map(|(rev, weight)| {
                    Ok(Share {
                        version: store.resolve(rev)?,
                        weight: *weight,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok((LabelValue::Split(Split::new(shares)?), how))
        })
    }

    /// End the split of `label`: point it at `keep` (one of the split's
    /// versions), or by default at the split's greatest share (on a tie, the
    /// first in ref order). Recorded as a `split` action; protected labels
    /// are refused, as for [`Store::split`]. A label that is not split is
    /// [`Error::NotSplit`], unless it already holds `keep` (nothing changes).
    pub fn clear_split(
        &self,
        name: &PromptName,
        label: &Label,
        keep: Option<&str>,
        expect: Option<&str>,
        message: &str,
        sig: &Signature,
    ) -> Result<Moved> {
        refuse_protected(&self.config()?, std::slice::from_ref(label))?;
        let keep = keep.map(|k| Rev::parse_in(name, k)).transpose()?;
        let how = Move::new(Action::Split, message);
        self.guarded_move(name, label, expect, sig, |store| {
            let split = match store.label(name, label)? {
                Some(LabelValue::Split(split)) => split,
                // Already cleared to the version asked for (a re-run, say
                // after a crash): nothing to do, as for any move.
                Some(LabelValue::One(id))
                    if keep
                        .as_ref()
                        .is_some_and(|k| store.resolve(k).ok() == Some(id.clone())) =>
                {
                    return Ok((LabelValue::One(id), how));
                }
                Some(LabelValue::One(id)) => {
                    return Err(Error::NotSplit {
                        name: name.to_string(),
                        label: label.to_string(),
                        value: id.short().to_string(),
                    });
                }
                None => {
                    store.require_prompt(name)?;
                    return Err(store.unknown_label(name, label)?);
                }
            };
            let kept = match &keep {
                Some(rev) => {
                    let id = store.resolve(rev)?;
                    if split.weight_of(&id).is_none() {
                        return Err(Error::NotAShare {
                            name: name.to_string(),
                            label: label.to_string(),
                            version: id,
                            split,
                        });
                    }
                    id
                }
                None => split.headline().version.clone(),
            };
            Ok((LabelValue::One(kept), how))
        })
    }

    /// Point `to` at what `from` (a revision within NAME, usually a label)
    /// points to. With `options.expect`, fail with [`Error::ExpectMismatch`]
    /// unless `to` still points at that version.
    ///
    /// `from` may be a split label: `to` then gets the whole split (this is
    /// how a protected label such as `prod` comes to be split).
    ///
    /// The variable guard: when `to` already points at another value and
    /// every version involved parses ([`template::compare_all`]), fail with
    /// [`Error::NewVariables`] if an arriving version requires a variable
    /// (used by its body, without a default, not optional) that no leaving
    /// one did, unless `options.allow_new_vars`. The returned [`Moved`]
    /// lists the variables the leaving versions knew and the arriving ones
    /// do not, for a warning. The check runs under the lock, on the values
    /// moved.
    pub fn promote(
        &self,
        name: &PromptName,
        from: &str,
        to: &Label,
        options: PromoteOptions<'_>,
        message: &str,
        sig: &Signature,
    ) -> Result<Moved> {
        let from = Rev::parse_in(name, from)?;
        let mut how = Move::new(Action::Promote, message);
        how.source = Some(from.spec_text());
        let mut vars = VarChanges::default();
        let mut moved = self.guarded_move(name, to, options.expect, sig, |store| {
            // Promote what the source label really holds, even if a crashed
            // writer left its ref one move behind its log.
            if let Spec::LabelOrPrefix(text) = &from.spec
                && let Ok(source) = Label::new(text)
                && store.ref_path(name, &source).exists()
            {
                store.settle(name, &source)?;
            }
            let target = store.resolve_value(&from)?;
            vars = store.variable_guard(name, to, &target, options.allow_new_vars)?;
            Ok((target, how))
        })?;
        moved.new_required_vars = vars.new_required;
        moved.removed_vars = vars.removed;
        Ok(moved)
    }

    /// The variable guard of [`Store::promote`] for moving `label` of
    /// `name` to `target`: the variables that change, or
    /// [`Error::NewVariables`]. When either value is a split, the required
    /// variables of all its versions count ([`template::compare_all`]).
    pub(crate) fn variable_guard(
        &self,
        name: &PromptName,
        label: &Label,
        target: &LabelValue,
        allow_new_vars: bool,
    ) -> Result<VarChanges> {
        if let Some(current) = self.label_value(name, label)?.value()
            && &current != target
            // A damaged version is not compared: the move reports a
            // damaged target, and a damaged current one may be left.
            && let (Ok(leaving), Ok(arriving)) = (self.read_versions(&current), self.read_versions(target))
            && let Some(changes) = template::compare_all(
                &leaving.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                &arriving.iter().map(Vec::as_slice).collect::<Vec<_>>(),
            )
        {
            if !changes.new_required.is_empty() && !allow_new_vars {
                return Err(Error::NewVariables {
                    name: name.to_string(),
                    label: label.to_string(),
                    from: Box::new(current),
                    to: Box::new(target.clone()),
                    vars: changes.new_required,
                });
            }
            return Ok(changes);
        }
        Ok(VarChanges::default())
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
        let to = to.map(|t| Rev::parse_in(name, t)).transpose()?;
        let mut how = Move::new(Action::Rollback, message);
        self.guarded_move(name, label, expect, sig, |store| {
            if store.label_value(name, label)? == RefValue::Missing {
                store.require_prompt(name)?;
                return Err(store.unknown_label(name, label)?);
            }
            let target = match &to {
                Some(rev) => LabelValue::One(store.resolve(rev)?),
                None => {
                    how.undo = true;
                    store.undo_target(name, label)?
                }
            };
            Ok((target, how))
        })
    }

    /// The one path every label move takes: under the lock, settle the
    /// label, check `expect` against the value read under that lock
    /// (compare-and-swap), pick the target (`target` runs while the lock is
    /// held, so it reads current values), then write, undoing on error.
    fn guarded_move<'m>(
        &self,
        name: &PromptName,
        label: &Label,
        expect: Option<&str>,
        sig: &Signature,
        target: impl FnOnce(&Store) -> Result<(LabelValue, Move<'m>)>,
    ) -> Result<Moved> {
        let expect = expect.map(|e| Rev::parse_in(name, e)).transpose()?;
        let _lock = self.write_lock()?;
        self.settle(name, label)?;
        // First: if the label moved since the caller looked, nothing else
        // about this move matters.
        self.check_expect(name, label, expect.as_ref())?;
        let (to, how) = target(self)?;
        let mut guard = UndoGuard::default();
        let moved = self.move_label(name, label, &to, how, sig, &mut guard)?;
        guard.commit();
        Ok(moved)
    }

    /// Walk the label's log from the newest record: every undo hides the
    /// newest change not yet hidden, so repeated rollbacks walk further back.
    fn undo_target(&self, name: &PromptName, label: &Label) -> Result<LabelValue> {
        let mut pending_undos = 0usize;
        for record in self.label_log(name, label).reverse()? {
            let record = record?;
            if record.undo {
                pending_undos += 1;
            } else if pending_undos > 0 {
                pending_undos -= 1;
            } else {
                return record.from_value().ok_or_else(|| Error::NothingToRollBack {
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

    /// The verified bytes of every version `value` serves, in ref order.
    fn read_versions(&self, value: &LabelValue) -> Result<Vec<Vec<u8>>> {
        value
            .versions()
            .into_iter()
            .map(|id| self.read(id))
            .collect()
    }

    fn check_expect(&self, name: &PromptName, label: &Label, expect: Option<&Rev>) -> Result<()> {
        let Some(expect) = expect else { return Ok(()) };
        let expected = self.resolve(expect)?;
        let found = self.label_value(name, label)?.value();
        if found.as_ref().and_then(LabelValue::id) != Some(&expected) {
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
    pub(crate) fn settle(&self, name: &PromptName, label: &Label) -> Result<()> {
        let mut records = self.label_log(name, label).reverse()?;
        let Some(last) = records.next_record()? else {
            return Ok(());
        };
        if records.next_record()?.is_some_and(|r| r.seq == last.seq) {
            // Two branches moved the label and were merged: a person
            // chooses (`fsck` explains), never this writer.
            return Ok(());
        }
        let path = self.ref_path(name, label);
        // Only the crash case (the ref still holds the logged move's `from`)
        // is completed. A ref that disagrees otherwise was set by a person (a
        // hand edit, a merge resolution): it is left as they chose, and
        // `fsck` reports the disagreement.
        let current = match refs::read_value(&path)? {
            RefValue::Conflict(_) => return Ok(()),
            value => value.value(),
        };
        let logged = last.value();
        if current != last.from_value() || current.as_ref() == Some(&logged) {
            return Ok(());
        }
        refs::write(&path, &logged)?;
        Ok(())
    }

    /// Log, then move the ref. Caller holds the lock; `guard` learns what
    /// to put back should this or a later step of the command fail.
    ///
    /// The record's `from` is where the label's log says it is, so that the
    /// log stays a chain; that is also the ref's value except after a hand
    /// edit or a git merge, and then this move is what brings the two back
    /// together (a record is written even when the ref already holds `to`).
    pub(crate) fn move_label(
        &self,
        name: &PromptName,
        label: &Label,
        to: &LabelValue,
        how: Move<'_>,
        sig: &Signature,
        guard: &mut UndoGuard,
    ) -> Result<Moved> {
        let ref_path = self.ref_path(name, label);
        let state = self.label_state(name, label)?;
        // Never point a label at bytes that would be refused when read.
        for id in to.versions() {
            self.objects().read(id)?;
        }
        let from = state.from();
        let changed = state.moves(to);
        if changed {
            let (from_id, from_split) = match from.as_ref().map(record_pair) {
                Some((id, split)) => (Some(id), split),
                None => (None, None),
            };
            let (to_id, split) = record_pair(to);
            let record = Record {
                time: sig.time,
                action: how.action,
                prompt: name.to_string(),
                label: Some(label.to_string()),
                seq: state.head.next_seq,
                from: from_id,
                from_split,
                to: to_id,
                split,
                author: sig.author.clone(),
                message: how.message.to_string(),
                source: how.source,
                file: None,
                undo: how.undo,
                release: how.release.clone(),
            };
            guard.record(&self.label_log(name, label), record)?;
            if state.current.value().as_ref() != Some(to) {
                guard.replacing(&ref_path)?;
                refs::write(&ref_path, to)?;
            }
        }
        guard.pack_later(
            self.label_log(name, label),
            state.head.next_seq - u64::from(!changed),
        );
        Ok(Moved {
            name: name.clone(),
            label: label.clone(),
            from,
            to: to.clone(),
            changed,
            new_required_vars: Vec::new(),
            removed_vars: Vec::new(),
        })
    }
}

/// Where a label is, for a writer about to move it (under the lock).
#[derive(Debug, Clone)]
pub(crate) struct LabelState {
    /// What its ref holds.
    pub current: RefValue,
    /// The value after the newest record of its log.
    pub logged: Option<LabelValue>,
    /// The end of its log.
    pub head: Head,
}

impl LabelState {
    /// The `from` of the next record: where the log says the label is
    /// (where the ref says, for a label with no log yet).
    pub fn from(&self) -> Option<LabelValue> {
        self.logged.clone().or_else(|| self.current.value())
    }

    /// Whether pointing the label at `to` writes anything: the ref or its
    /// log (after a hand edit or a merge) is somewhere else, or the log
    /// forked in a git merge and this move records the choice (even when
    /// the ref and the newest record already hold `to`). Values are
    /// compared whole: a split equals only a split with the same shares.
    pub fn moves(&self, to: &LabelValue) -> bool {
        self.current.value().as_ref() != Some(to)
            || self.logged.as_ref().is_some_and(|l| l != to)
            || self.head.forked
    }
}

impl Store {
    pub(crate) fn label_state(&self, name: &PromptName, label: &Label) -> Result<LabelState> {
        let current = self.label_value(name, label)?;
        let head = self.label_log(name, label).head()?;
        Ok(LabelState {
            current,
            logged: head.newest.as_ref().map(Record::value),
            head,
        })
    }
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
    /// What it held before (`None`: the label did not exist).
    pub from: Option<LabelValue>,
    /// What it holds now: one version, or a split.
    pub to: LabelValue,
    /// False when the label already pointed there (nothing was written).
    pub changed: bool,
    /// `promote`: variables the arriving version requires and the leaving
    /// one did not (only with [`PromoteOptions::allow_new_vars`]).
    pub new_required_vars: Vec<String>,
    /// `promote`: variables the leaving version declared or used and the
    /// arriving one does not (callers may still pass them).
    pub removed_vars: Vec<String>,
}

/// Options of [`Store::promote`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PromoteOptions<'a> {
    /// Fail with [`Error::ExpectMismatch`] unless the label still points at
    /// this version (an id, a prefix or a label of NAME).
    pub expect: Option<&'a str>,
    /// Promote even when the arriving version requires variables the leaving
    /// one did not (see [`Store::promote`]).
    pub allow_new_vars: bool,
}

/// How a label moves: what the record will say besides from and to.
#[derive(Debug)]
pub(crate) struct Move<'a> {
    pub action: Action,
    pub message: &'a str,
    /// `promote`: the revision promoted from.
    pub source: Option<String>,
    /// `rollback` without `--to`.
    pub undo: bool,
    /// The release this move is part of.
    pub release: Option<String>,
}

impl<'a> Move<'a> {
    pub fn new(action: Action, message: &'a str) -> Move<'a> {
        Move {
            action,
            message,
            source: None,
            undo: false,
            release: None,
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

/// What a writing command has changed so far, put back if it fails.
///
/// Before each write the command notes how to undo it. Dropped without
/// [`UndoGuard::commit`] (an error returned with `?`, or a panic), the guard
/// undoes the notes newest first: every state on the way back is one a crash
/// could have left (a record without its ref move, an object without its
/// record), so if an undo step itself fails it stops there and the store is
/// still consistent. A crash, by contrast, runs no undo at all: that case
/// relies on the format's recovery (temp files are ignored, a ref one move
/// behind its log is settled forward).
///
/// Repairs made before the first write (settle) are not undone: they
/// complete what a crashed writer left, losing nothing.
#[derive(Debug, Default)]
pub(crate) struct UndoGuard {
    notes: Vec<UndoNote>,
    /// Logs to pack once the command succeeds, with the seq written.
    pack: Vec<(Log, u64)>,
}

#[derive(Debug)]
enum UndoNote {
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
    pub fn creating(&mut self, path: &Path) {
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

    /// Write `record` (its `seq` set) to `log` as a new file; undone by
    /// removing the file. The log is packed when the command succeeds
    /// ([`UndoGuard::commit`]).
    pub fn record(&mut self, log: &Log, record: Record) -> Result<()> {
        let path = log.record_path(&record);
        self.creating(&path);
        fsutil::write_atomic(&path, &record.to_line())
    }

    /// Once the command has succeeded, pack the shard of `log` before the
    /// one record `seq` went to (when it is full and not packed yet).
    pub fn pack_later(&mut self, log: Log, seq: u64) {
        self.pack.push((log, seq));
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

    /// The command succeeded: keep everything, and pack the logs that
    /// have gathered enough loose records. Packing changes no record, so
    /// it may fail (a full disk) without failing the command: the next
    /// writer packs instead.
    pub fn commit(mut self) {
        self.notes.clear();
        for (log, seq) in std::mem::take(&mut self.pack) {
            let _ = changelog::pack_before(&log, seq);
        }
    }
}

impl Drop for UndoGuard {
    fn drop(&mut self) {
        while let Some(note) = self.notes.pop() {
            let undone = match &note {
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
