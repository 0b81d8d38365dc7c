//! Model-based property test of the library.
//!
//! Random sequences of `add` (with labels), `set_label`, `promote`,
//! `rollback` (undo and `--to`), `split` and `split --clear`, `release` and
//! `rollback --release` over a small universe run against a real [`Store`]
//! in a temp dir and against an in-memory model written from FORMAT.md
//! (§5.1 splits, §6 records, §8 resolution, §8.1 undo, §16 releases). A
//! label's value is one version or a split, and the model keeps each whole.
//! After every operation both must agree on the outcome (the value returned,
//! or which error), on every label's value, on `NAME@LABEL~k` (one version,
//! or the whole value: a split), `NAME~k` and `NAME@<id prefix>`, on
//! `list()` and on each prompt's versions. At the end `fsck` must be clean,
//! the merged changelog (`log`) must be exactly the model's events (with
//! `split`, `from_split` and each member record's release), and the release
//! log exactly the model's release records, ids included.
//!
//! `PROPTEST_CASES=N` runs more cases than the default 64.

use std::collections::BTreeMap;
use std::path::PathBuf;

use promptrel::release::{ReleaseAction, ReleaseMove, ReleaseOptions, ReleaseRecord, Selection};
use promptrel::{
    Action, Error, Label, LabelValue, LogFilter, PromoteOptions, PromptName, Rev, Share, Signature,
    Split, Store, VersionId,
};
use proptest::prelude::*;

const NAMES: [&str; 3] = ["alpha", "team", "team/beta"];
/// `prod` is protected by the default config. `648b` is a label and also the
/// start of the id of `CONTENTS[2]`: where the label exists it wins, elsewhere
/// `NAME@648b` is that version (§8).
const LABELS: [&str; 3] = ["staging", "648b", "prod"];
const PROTECTED: &str = "prod";
const CONTENTS: [&[u8]; 5] = [
    b"Be brief.\n",
    b"Be thorough.\n",
    b"You are a checkout assistant.\n",
    b"no newline at the end",
    b"\xff\xfe not UTF-8\r\n",
];
const AUTHOR: &str = "Model <model@example.com>";
/// Deepest `~k` compared after each operation.
const MAX_BACK: usize = 3;

/// A revision within the operated prompt, as a user would type it.
#[derive(Debug, Clone)]
enum Target {
    /// `LABEL` or `LABEL~k`.
    Label(usize, usize),
    /// The id of `CONTENTS[c]`: 8 digits or all 64, optionally upper case.
    Version {
        content: usize,
        full: bool,
        upper: bool,
    },
    /// `NAME@LABEL~k` with the operated prompt's own name.
    Qualified(usize, usize),
    /// `OTHER@LABEL`: another prompt's revision (refused).
    OtherPrompt(usize),
    /// Not a revision at all (refused).
    Garbage,
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        name: usize,
        content: usize,
        labels: Vec<usize>,
    },
    SetLabel {
        name: usize,
        label: usize,
        target: Target,
        expect: Option<Target>,
    },
    Promote {
        name: usize,
        from: Target,
        to: usize,
        expect: Option<Target>,
    },
    Rollback {
        name: usize,
        label: usize,
        to: Option<Target>,
        expect: Option<Target>,
    },
    /// `split NAME LABEL REV=W…`; the weights may break a rule of §5.1.
    Split {
        name: usize,
        label: usize,
        shares: Vec<(Target, u8)>,
        expect: Option<Target>,
    },
    /// `split --clear NAME LABEL [KEEP]`.
    ClearSplit {
        name: usize,
        label: usize,
        keep: Option<Target>,
        expect: Option<Target>,
    },
    /// `release FROM TO NAME…`, or `--all` (`names: None`).
    Release {
        from: usize,
        to: usize,
        names: Option<Vec<usize>>,
    },
    /// `rollback --release ID`: the `pick`-th newest release of the model
    /// (modulo their number), or an id no release has (`None`, or no
    /// release yet).
    RollbackRelease { pick: Option<usize> },
}

impl Op {
    /// The prompts whose state the operation may change.
    fn names(&self) -> Vec<usize> {
        match self {
            Op::Add { name, .. }
            | Op::SetLabel { name, .. }
            | Op::Promote { name, .. }
            | Op::Rollback { name, .. }
            | Op::Split { name, .. }
            | Op::ClearSplit { name, .. } => vec![*name],
            Op::Release { .. } | Op::RollbackRelease { .. } => (0..NAMES.len()).collect(),
        }
    }
}

/// An id prefix that names no release (12 hex digits).
const NO_RELEASE: &str = "0123456789ab";

fn id_of(content: usize) -> VersionId {
    VersionId::of(CONTENTS[content])
}

impl Target {
    fn text(&self, name: &str) -> String {
        match *self {
            Target::Label(l, 0) => LABELS[l].to_string(),
            Target::Label(l, k) => format!("{}~{k}", LABELS[l]),
            Target::Version {
                content,
                full,
                upper,
            } => {
                let id = id_of(content);
                let digits = if full { id.as_str() } else { &id.as_str()[..8] };
                if upper {
                    digits.to_ascii_uppercase()
                } else {
                    digits.to_string()
                }
            }
            Target::Qualified(l, k) => format!("{name}@{}~{k}", LABELS[l]),
            Target::OtherPrompt(l) => {
                let other = NAMES.iter().find(|n| **n != name).unwrap();
                format!("{other}@{}", LABELS[l])
            }
            Target::Garbage => "Staging!".to_string(),
        }
    }
}

// ----- the model -----------------------------------------------------------

/// A split's shares as the model keeps them: sorted by id (§5.1 ref order).
type Shares = Vec<(VersionId, u8)>;

/// A label's value (§5, §5.1): one version, or a split.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    One(VersionId),
    Split(Shares),
}

impl Value {
    /// The value of `shares` in any order: sorted by id (bytewise).
    fn split(mut shares: Shares) -> Value {
        shares.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Value::Split(shares)
    }

    /// What a record names as `to`/`from` (§6.1): the version itself, or
    /// the split's greatest share, the first in ref order on a tie.
    fn headline(&self) -> VersionId {
        match self {
            Value::One(id) => id.clone(),
            Value::Split(shares) => {
                let mut best = &shares[0];
                for share in shares {
                    if share.1 > best.1 {
                        best = share;
                    }
                }
                best.0.clone()
            }
        }
    }

    /// What a record carries in `split`/`from_split`.
    fn shares(&self) -> Option<Shares> {
        match self {
            Value::One(_) => None,
            Value::Split(shares) => Some(shares.clone()),
        }
    }

    fn of(value: LabelValue) -> Value {
        match value {
            LabelValue::One(id) => Value::One(id),
            LabelValue::Split(split) => Value::Split(shares_of(&split)),
        }
    }

    /// As the library's `Split` (for building the release records).
    fn lib_split(&self) -> Option<Split> {
        self.shares().map(|shares| {
            let shares = shares
                .into_iter()
                .map(|(version, weight)| Share { version, weight })
                .collect();
            Split::new(shares).expect("the model keeps valid splits")
        })
    }
}

fn shares_of(split: &Split) -> Shares {
    (split.shares().iter())
        .map(|s| (s.version.clone(), s.weight))
        .collect()
}

/// One label move, as in a label log.
#[derive(Debug, Clone)]
struct Move {
    from: Option<Value>,
    to: Value,
    undo: bool,
    /// The release (§16) the move is part of.
    release: Option<String>,
}

#[derive(Debug, Default, Clone)]
struct Prompt {
    /// `to` of each `add` record, oldest first.
    versions: Vec<VersionId>,
    /// Each label's log, oldest first; its value is the last `to`.
    labels: BTreeMap<&'static str, Vec<Move>>,
}

/// A changelog record, as compared with the store's merged log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    time: jiff::Timestamp,
    action: Action,
    prompt: String,
    label: Option<String>,
    from: Option<VersionId>,
    from_split: Option<Shares>,
    to: VersionId,
    split: Option<Shares>,
    undo: bool,
    release: Option<String>,
    /// `source`, compared for the members of a release only (a promotion's
    /// source is the revision as typed, which the model does not respell).
    release_source: Option<String>,
}

#[derive(Debug, Default)]
struct Model {
    prompts: BTreeMap<&'static str, Prompt>,
    events: Vec<Event>,
    /// The release log (§16), oldest first: (id, record).
    releases: Vec<(String, ReleaseRecord)>,
}

/// What an operation returned: the library's answer reduced to what the
/// model predicts, or the error variant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Added {
        id: VersionId,
        new_version: bool,
        /// Per `--label`: (from, changed).
        labels: Vec<(Option<Value>, bool)>,
    },
    Moved {
        from: Option<Value>,
        to: Value,
        changed: bool,
    },
    /// The release written (its id and record), or `None`: nothing moved.
    Released(Option<(String, ReleaseRecord)>),
    Err(String),
}

type ModelResult<T> = Result<T, String>;

fn err<T>(kind: &str) -> ModelResult<T> {
    Err(kind.to_string())
}

/// §8: where one version is needed, a split is refused.
fn one(value: Value) -> ModelResult<VersionId> {
    match value {
        Value::One(id) => Ok(id),
        Value::Split(_) => err("SplitLabel"),
    }
}

impl Model {
    fn value(&self, name: &str, label: &str) -> Option<Value> {
        let log = self.prompts.get(name)?.labels.get(label)?;
        log.last().map(|m| m.to.clone())
    }

    fn prompt(&self, name: &str) -> ModelResult<&Prompt> {
        self.prompts
            .get(name)
            .map_or_else(|| err("UnknownPrompt"), Ok)
    }

    /// §8: `NAME@LABEL~k`: the ref; k back: the previous value of the k-th
    /// newest move (a split is a split). No such label: a hex LABEL (k = 0)
    /// is an id prefix.
    fn resolve_label(&self, name: &str, label: &str, k: usize) -> ModelResult<Value> {
        let prompt = self.prompt(name)?;
        let Some(log) = prompt.labels.get(label) else {
            if k == 0 && label.len() >= 4 && label.bytes().all(|b| b.is_ascii_hexdigit()) {
                return self.resolve_prefix(name, label).map(Value::One);
            }
            return err("UnknownLabel");
        };
        if k == 0 {
            return Ok(log.last().unwrap().to.clone());
        }
        match log.iter().rev().nth(k - 1).map(|m| m.from.clone()) {
            Some(Some(value)) => Ok(value),
            _ => err("HistoryTooShort"),
        }
    }

    /// §8: `NAME~k`: the `to` of the record k before the last in `+versions`.
    fn resolve_newest(&self, name: &str, k: usize) -> ModelResult<VersionId> {
        let prompt = self.prompt(name)?;
        match prompt.versions.iter().rev().nth(k) {
            Some(id) => Ok(id.clone()),
            None => err("HistoryTooShort"),
        }
    }

    /// §8: `NAME@PREFIX`: the one distinct version of NAME starting with PREFIX.
    fn resolve_prefix(&self, name: &str, prefix: &str) -> ModelResult<VersionId> {
        let prefix = prefix.to_ascii_lowercase();
        let mut found: Vec<&VersionId> = (self.prompt(name)?.versions.iter())
            .filter(|id| id.as_str().starts_with(&prefix))
            .collect();
        found.sort();
        found.dedup();
        match found.as_slice() {
            [] => err("UnknownVersion"),
            [id] => Ok((*id).clone()),
            _ => err("AmbiguousVersion"),
        }
    }

    /// Parsing only: which targets `Rev::parse_in` refuses.
    fn parse(&self, target: &Target) -> ModelResult<()> {
        match target {
            Target::OtherPrompt(_) | Target::Garbage => err("InvalidRev"),
            _ => Ok(()),
        }
    }

    /// The whole value a target names (`promote` copies it, splits too).
    fn resolve_value(&self, name: &str, target: &Target) -> ModelResult<Value> {
        self.parse(target)?;
        match *target {
            Target::Label(l, k) | Target::Qualified(l, k) => self.resolve_label(name, LABELS[l], k),
            Target::Version { .. } => self
                .resolve_prefix(name, &target.text(name))
                .map(Value::One),
            Target::OtherPrompt(_) | Target::Garbage => unreachable!(),
        }
    }

    /// One version (§8: a split is refused where one is needed).
    fn resolve(&self, name: &str, target: &Target) -> ModelResult<VersionId> {
        one(self.resolve_value(name, target)?)
    }

    /// §8.1: walk the label log from the newest record; each undo hides the
    /// newest change not yet hidden. The target is the whole previous value.
    fn undo_target(&self, name: &str, label: &str) -> ModelResult<Value> {
        let mut pending = 0usize;
        for m in self.prompts[name].labels[label].iter().rev() {
            if m.undo {
                pending += 1;
            } else if pending > 0 {
                pending -= 1;
            } else {
                return m.from.clone().map_or_else(|| err("NothingToRollBack"), Ok);
            }
        }
        err("NothingToRollBack")
    }

    /// `--expect`: one version, which the label must hold alone.
    fn check_expect(&self, name: &str, label: &str, expect: &Option<Target>) -> ModelResult<()> {
        if let Some(expect) = expect {
            let expected = self.resolve(name, expect)?;
            if self.value(name, label) != Some(Value::One(expected)) {
                return err("ExpectMismatch");
            }
        }
        Ok(())
    }

    /// A label move: nothing is written when the label already holds `to`
    /// (a split equals only the same split).
    fn move_label(
        &mut self,
        time: jiff::Timestamp,
        name: &'static str,
        label: &'static str,
        to: Value,
        how: How,
    ) -> (Option<Value>, bool) {
        let from = self.value(name, label);
        let changed = from.as_ref() != Some(&to);
        if changed {
            self.events.push(Event {
                time,
                action: how.action,
                prompt: name.to_string(),
                label: Some(label.to_string()),
                from: from.as_ref().map(Value::headline),
                from_split: from.as_ref().and_then(Value::shares),
                to: to.headline(),
                split: to.shares(),
                undo: how.undo,
                release: how.release.clone(),
                release_source: how.release.as_ref().and(how.source),
            });
            let prompt = self.prompts.get_mut(name).unwrap();
            prompt.labels.entry(label).or_default().push(Move {
                from: from.clone(),
                to,
                undo: how.undo,
                release: how.release,
            });
        }
        (from, changed)
    }

    fn apply(&mut self, op: &Op, time: jiff::Timestamp, author: &str) -> Outcome {
        match self.try_apply(op, time, author) {
            Ok(outcome) => outcome,
            Err(kind) => Outcome::Err(kind),
        }
    }

    /// The id text `rollback --release` is given for `pick`.
    fn release_arg(&self, pick: Option<usize>) -> String {
        match pick {
            Some(p) if !self.releases.is_empty() => {
                let newest_first = self.releases.len() - 1 - p % self.releases.len();
                self.releases[newest_first].0[..12].to_string()
            }
            _ => NO_RELEASE.to_string(),
        }
    }

    fn try_apply(&mut self, op: &Op, time: jiff::Timestamp, author: &str) -> ModelResult<Outcome> {
        match op {
            Op::Add {
                name,
                content,
                labels,
            } => {
                let name = NAMES[*name];
                if labels.iter().any(|l| LABELS[*l] == PROTECTED) {
                    return err("ProtectedLabel");
                }
                let id = id_of(*content);
                let prompt = self.prompts.entry(name).or_default();
                let newest = prompt.versions.last().cloned();
                let new_version = newest.as_ref() != Some(&id);
                if new_version {
                    prompt.versions.push(id.clone());
                    self.events.push(Event {
                        time,
                        action: Action::Add,
                        prompt: name.to_string(),
                        label: None,
                        from: newest,
                        from_split: None,
                        to: id.clone(),
                        split: None,
                        undo: false,
                        release: None,
                        release_source: None,
                    });
                }
                let labels = labels
                    .iter()
                    .map(|l| {
                        let to = Value::One(id.clone());
                        self.move_label(time, name, LABELS[*l], to, How::new(Action::Label))
                    })
                    .collect();
                Ok(Outcome::Added {
                    id,
                    new_version,
                    labels,
                })
            }
            Op::SetLabel {
                name,
                label,
                target,
                expect,
            } => {
                let (name, label) = (NAMES[*name], LABELS[*label]);
                if label == PROTECTED {
                    return err("ProtectedLabel");
                }
                self.parse(target)?;
                expect.as_ref().map_or(Ok(()), |e| self.parse(e))?;
                // --expect is checked first: if the label moved, nothing else matters.
                self.check_expect(name, label, expect)?;
                let to = Value::One(self.resolve(name, target)?);
                Ok(self.moved(time, name, label, to, How::new(Action::Label)))
            }
            Op::Promote {
                name,
                from,
                to,
                expect,
            } => {
                let (name, label) = (NAMES[*name], LABELS[*to]);
                self.parse(from)?;
                expect.as_ref().map_or(Ok(()), |e| self.parse(e))?;
                // --expect is checked first: if the label moved, nothing else matters.
                self.check_expect(name, label, expect)?;
                // The whole value: promoting a split label copies the split.
                let value = self.resolve_value(name, from)?;
                Ok(self.moved(time, name, label, value, How::new(Action::Promote)))
            }
            Op::Rollback {
                name,
                label,
                to,
                expect,
            } => {
                let (name, label) = (NAMES[*name], LABELS[*label]);
                to.as_ref().map_or(Ok(()), |t| self.parse(t))?;
                expect.as_ref().map_or(Ok(()), |e| self.parse(e))?;
                self.check_expect(name, label, expect)?;
                if self.value(name, label).is_none() {
                    self.prompt(name)?;
                    return err("UnknownLabel");
                }
                let mut how = How::new(Action::Rollback);
                let value = match to {
                    Some(t) => Value::One(self.resolve(name, t)?),
                    None => {
                        how.undo = true;
                        self.undo_target(name, label)?
                    }
                };
                Ok(self.moved(time, name, label, value, how))
            }
            Op::Split {
                name,
                label,
                shares,
                expect,
            } => {
                let (name, label) = (NAMES[*name], LABELS[*label]);
                if label == PROTECTED {
                    return err("ProtectedLabel");
                }
                // §5.1: at least two shares, each 1 to 99, adding up to 100;
                // checked before any version is looked up.
                let weights: Vec<u8> = shares.iter().map(|s| s.1).collect();
                let total: u32 = weights.iter().map(|w| u32::from(*w)).sum();
                if weights.len() < 2
                    || weights.iter().any(|w| !(1..=99).contains(w))
                    || total != 100
                {
                    return err("InvalidSplit");
                }
                for (target, _) in shares {
                    self.parse(target)?;
                }
                expect.as_ref().map_or(Ok(()), |e| self.parse(e))?;
                self.check_expect(name, label, expect)?;
                let mut resolved = Vec::new();
                for (target, weight) in shares {
                    resolved.push((self.resolve(name, target)?, *weight));
                }
                let value = Value::split(resolved);
                let Value::Split(sorted) = &value else {
                    unreachable!()
                };
                if sorted.windows(2).any(|p| p[0].0 == p[1].0) {
                    return err("InvalidSplit");
                }
                Ok(self.moved(time, name, label, value, How::new(Action::Split)))
            }
            Op::ClearSplit {
                name,
                label,
                keep,
                expect,
            } => {
                let (name, label) = (NAMES[*name], LABELS[*label]);
                if label == PROTECTED {
                    return err("ProtectedLabel");
                }
                keep.as_ref().map_or(Ok(()), |k| self.parse(k))?;
                expect.as_ref().map_or(Ok(()), |e| self.parse(e))?;
                self.check_expect(name, label, expect)?;
                let how = How::new(Action::Split);
                let shares = match self.value(name, label) {
                    Some(Value::Split(shares)) => shares,
                    // Already one version, the one asked to keep: nothing to do.
                    Some(Value::One(id))
                        if keep
                            .as_ref()
                            .is_some_and(|k| self.resolve(name, k).ok() == Some(id.clone())) =>
                    {
                        return Ok(self.moved(time, name, label, Value::One(id), how));
                    }
                    Some(Value::One(_)) => return err("NotSplit"),
                    None => {
                        self.prompt(name)?;
                        return err("UnknownLabel");
                    }
                };
                let current = Value::Split(shares.clone());
                let kept = match keep {
                    Some(k) => {
                        let id = self.resolve(name, k)?;
                        if !shares.iter().any(|s| s.0 == id) {
                            return err("NotAShare");
                        }
                        id
                    }
                    None => current.headline(),
                };
                Ok(self.moved(time, name, label, Value::One(kept), how))
            }
            Op::Release { from, to, names } => {
                let (from, to) = (LABELS[*from], LABELS[*to]);
                if from == to {
                    return err("InvalidRelease");
                }
                let all = names.is_none();
                let mut selected: Vec<&'static str> = match names {
                    Some(names) => names.iter().map(|n| NAMES[*n]).collect(),
                    None => self.prompts.keys().copied().collect(),
                };
                selected.sort();
                selected.dedup();
                for name in &selected {
                    self.prompt(name)?;
                }
                let mut moves = Vec::new();
                let mut any_from = false;
                for name in selected {
                    let Some(value) = self.value(name, from) else {
                        if all {
                            continue;
                        }
                        return err("UnknownLabel");
                    };
                    any_from = true;
                    let now = self.value(name, to);
                    if now.as_ref() != Some(&value) {
                        moves.push((name, now, value));
                    }
                }
                if all && !any_from {
                    return err("NoPromptHasLabel");
                }
                if moves.is_empty() {
                    return Ok(Outcome::Released(None));
                }
                let record = ReleaseRecord {
                    time,
                    action: ReleaseAction::Release,
                    seq: self.releases.len() as u64 + 1,
                    label: to.to_string(),
                    source: Some(from.to_string()),
                    undoes: None,
                    moves: moves
                        .iter()
                        .map(|(name, now, value)| release_move(name, now, value))
                        .collect(),
                    author: author.to_string(),
                    message: "m".to_string(),
                };
                Ok(self.write_release(time, to, record, &moves))
            }
            Op::RollbackRelease { pick } => {
                let arg = self.release_arg(*pick);
                let Some((id, target)) = (self.releases.iter())
                    .find(|(id, _)| id.starts_with(&arg))
                    .cloned()
                else {
                    return err("InvalidRelease");
                };
                if (self.releases.iter()).any(|(_, r)| r.undoes.as_deref() == Some(&id)) {
                    return err("InvalidRelease");
                }
                let label = LABELS.into_iter().find(|l| *l == target.label).unwrap();
                let mut moves = Vec::new();
                let mut moved_since = false;
                for m in &target.moves {
                    let name = NAMES.into_iter().find(|n| *n == m.prompt).unwrap();
                    // A label that did not exist before: labels are never removed.
                    let Some(back) = move_from(m) else {
                        return err("InvalidRelease");
                    };
                    let released = move_to(m);
                    if self.value(name, label).as_ref() != Some(&released) {
                        moved_since = true;
                        continue;
                    }
                    moves.push((name, Some(released), back));
                }
                if moved_since {
                    return err("InvalidRelease");
                }
                let record = ReleaseRecord {
                    time,
                    action: ReleaseAction::Rollback,
                    seq: self.releases.len() as u64 + 1,
                    label: label.to_string(),
                    source: None,
                    undoes: Some(id),
                    moves: moves
                        .iter()
                        .map(|(name, now, value)| release_move(name, now, value))
                        .collect(),
                    author: author.to_string(),
                    message: "m".to_string(),
                };
                Ok(self.write_release(time, label, record, &moves))
            }
        }
    }

    /// §16: the release record (its id: the hash of its line), and one
    /// member record per move, `promote` for a release, `rollback` for the
    /// undoing of one (`undo: true` when the undone release's record is
    /// still the label's newest and is not an undo itself).
    fn write_release(
        &mut self,
        time: jiff::Timestamp,
        label: &'static str,
        record: ReleaseRecord,
        moves: &[(&'static str, Option<Value>, Value)],
    ) -> Outcome {
        let line = record.to_line();
        let id = ReleaseRecord::id_of_line(&line[..line.len() - 1]);
        for (name, _, value) in moves {
            let mut how = match record.action {
                ReleaseAction::Release => How::new(Action::Promote),
                ReleaseAction::Rollback => How::new(Action::Rollback),
            };
            how.source = record.source.clone();
            how.release = Some(id.clone());
            let newest = self.prompts[name]
                .labels
                .get(label)
                .and_then(|log| log.last());
            how.undo = record.undoes.is_some()
                && newest.is_some_and(|m| !m.undo && m.release == record.undoes);
            self.move_label(time, name, label, value.clone(), how);
        }
        self.releases.push((id.clone(), record.clone()));
        Outcome::Released(Some((id, record)))
    }

    fn moved(
        &mut self,
        time: jiff::Timestamp,
        name: &'static str,
        label: &'static str,
        to: Value,
        how: How,
    ) -> Outcome {
        let (from, changed) = self.move_label(time, name, label, to.clone(), how);
        Outcome::Moved { from, to, changed }
    }

    /// §6.4: newest first; equal times go to the later file (prompts by name,
    /// `+versions` before its label logs, labels sorted).
    fn merged_log(&self) -> Vec<Event> {
        let mut events = self.events.clone();
        events.sort_by(|a, b| {
            let key = |e: &Event| (e.time, e.prompt.clone(), e.label.clone());
            key(b).cmp(&key(a))
        });
        events
    }
}

/// How a label moves: the record's action and optional fields.
struct How {
    action: Action,
    undo: bool,
    source: Option<String>,
    release: Option<String>,
}

impl How {
    fn new(action: Action) -> How {
        How {
            action,
            undo: false,
            source: None,
            release: None,
        }
    }
}

/// A move of a release record (§16): values as a record carries them (§6.1).
fn release_move(name: &str, from: &Option<Value>, to: &Value) -> ReleaseMove {
    ReleaseMove {
        prompt: name.to_string(),
        from: from.as_ref().map(Value::headline),
        from_split: from.as_ref().and_then(Value::lib_split),
        to: to.headline(),
        split: to.lib_split(),
    }
}

/// A release move's previous value: `from_split`, else `from`.
fn move_from(m: &ReleaseMove) -> Option<Value> {
    match &m.from_split {
        Some(split) => Some(Value::Split(shares_of(split))),
        None => m.from.clone().map(Value::One),
    }
}

/// A release move's new value: `split`, else `to`.
fn move_to(m: &ReleaseMove) -> Value {
    match &m.split {
        Some(split) => Value::Split(shares_of(split)),
        None => Value::One(m.to.clone()),
    }
}

// ----- the library ---------------------------------------------------------

fn kind(e: &Error) -> String {
    match e {
        Error::InvalidName { .. } => "InvalidName",
        Error::InvalidLabel { .. } => "InvalidLabel",
        Error::InvalidRev { .. } => "InvalidRev",
        Error::UnknownPrompt { .. } => "UnknownPrompt",
        Error::UnknownLabel { .. } => "UnknownLabel",
        Error::UnknownVersion { .. } => "UnknownVersion",
        Error::AmbiguousVersion { .. } => "AmbiguousVersion",
        Error::HistoryTooShort { .. } => "HistoryTooShort",
        Error::NothingToRollBack { .. } => "NothingToRollBack",
        Error::ProtectedLabel { .. } => "ProtectedLabel",
        Error::ExpectMismatch { .. } => "ExpectMismatch",
        Error::InvalidSplit { .. } => "InvalidSplit",
        Error::SplitLabel { .. } => "SplitLabel",
        Error::NotSplit { .. } => "NotSplit",
        Error::NotAShare { .. } => "NotAShare",
        Error::InvalidRelease { .. } => "InvalidRelease",
        Error::NoPromptHasLabel { .. } => "NoPromptHasLabel",
        // I/O, integrity, lock: never expected; the full text shows in the diff.
        other => return format!("unexpected: {other}"),
    }
    .to_string()
}

/// `release_arg`: the id text for `rollback --release` ([`Model::release_arg`]).
fn run(store: &Store, op: &Op, release_arg: &str, sig: &Signature) -> Outcome {
    let name = |i: usize| PromptName::new(NAMES[i]).unwrap();
    let label = |i: usize| Label::new(LABELS[i]).unwrap();
    let text = |t: &Target, n: usize| t.text(NAMES[n]);
    let result = match op {
        Op::Add {
            name: n,
            content,
            labels,
        } => {
            let labels: Vec<Label> = labels.iter().map(|l| label(*l)).collect();
            store
                .add(&name(*n), CONTENTS[*content], "m", &labels, None, sig)
                .map(|a| Outcome::Added {
                    id: a.id,
                    new_version: a.new_version,
                    labels: a
                        .labels
                        .into_iter()
                        .map(|m| (m.from.map(Value::of), m.changed))
                        .collect(),
                })
        }
        Op::SetLabel {
            name: n,
            label: l,
            target,
            expect,
        } => store
            .set_label(
                &name(*n),
                &label(*l),
                &text(target, *n),
                expect.as_ref().map(|e| text(e, *n)).as_deref(),
                "m",
                sig,
            )
            .map(moved),
        Op::Promote {
            name: n,
            from,
            to,
            expect,
        } => {
            let expect = expect.as_ref().map(|e| text(e, *n));
            // The contents use no template variables, so the variable guard
            // never applies; the default options leave it on.
            let options = PromoteOptions {
                expect: expect.as_deref(),
                ..PromoteOptions::default()
            };
            store
                .promote(&name(*n), &text(from, *n), &label(*to), options, "m", sig)
                .map(moved)
        }
        Op::Rollback {
            name: n,
            label: l,
            to,
            expect,
        } => store
            .rollback(
                &name(*n),
                &label(*l),
                to.as_ref().map(|t| text(t, *n)).as_deref(),
                expect.as_ref().map(|e| text(e, *n)).as_deref(),
                "m",
                sig,
            )
            .map(moved),
        Op::Split {
            name: n,
            label: l,
            shares,
            expect,
        } => {
            let texts: Vec<(String, u8)> = shares.iter().map(|(t, w)| (text(t, *n), *w)).collect();
            let shares: Vec<(&str, u8)> = texts.iter().map(|(t, w)| (t.as_str(), *w)).collect();
            store
                .split(
                    &name(*n),
                    &label(*l),
                    &shares,
                    expect.as_ref().map(|e| text(e, *n)).as_deref(),
                    "m",
                    sig,
                )
                .map(moved)
        }
        Op::ClearSplit {
            name: n,
            label: l,
            keep,
            expect,
        } => store
            .clear_split(
                &name(*n),
                &label(*l),
                keep.as_ref().map(|k| text(k, *n)).as_deref(),
                expect.as_ref().map(|e| text(e, *n)).as_deref(),
                "m",
                sig,
            )
            .map(moved),
        Op::Release { from, to, names } => {
            let names: Option<Vec<PromptName>> = names
                .as_ref()
                .map(|ns| ns.iter().map(|n| name(*n)).collect());
            let selection = match &names {
                Some(names) => Selection::Names(names),
                None => Selection::All,
            };
            store
                .release(
                    &label(*from),
                    &label(*to),
                    selection,
                    ReleaseOptions::default(),
                    "m",
                    sig,
                )
                .map(released)
        }
        Op::RollbackRelease { .. } => store.rollback_release(release_arg, "m", sig).map(released),
    };
    result.unwrap_or_else(|e| Outcome::Err(kind(&e)))
}

fn released(r: promptrel::release::Released) -> Outcome {
    Outcome::Released(r.release.map(|r| (r.id, r.record)))
}

fn moved(m: promptrel::Moved) -> Outcome {
    Outcome::Moved {
        from: m.from.map(Value::of),
        to: Value::of(m.to),
        changed: m.changed,
    }
}

fn resolve(store: &Store, rev: &str) -> ModelResult<VersionId> {
    store
        .resolve(&Rev::parse(rev).unwrap())
        .map_err(|e| kind(&e))
}

fn resolve_value(store: &Store, rev: &str) -> ModelResult<Value> {
    store
        .resolve_value(&Rev::parse(rev).unwrap())
        .map(Value::of)
        .map_err(|e| kind(&e))
}

/// Everything observable about `names` through resolution, and `list()` of
/// the whole store, compared with the model.
fn compare_state(
    store: &Store,
    model: &Model,
    names: &[&str],
    after: &str,
) -> Result<(), TestCaseError> {
    for &name in names {
        let pname = PromptName::new(name).unwrap();
        for label in LABELS {
            let value = store.label(&pname, &Label::new(label).unwrap());
            prop_assert_eq!(
                value.map(|v| v.map(Value::of)).map_err(|e| kind(&e)),
                Ok(model.value(name, label)),
                "{}@{} after {}",
                name,
                label,
                after
            );
            for k in 0..=MAX_BACK {
                let rev = format!("{name}@{label}~{k}");
                let expected = model.resolve_label(name, label, k);
                prop_assert_eq!(
                    resolve(store, &rev),
                    expected.clone().and_then(one),
                    "{} after {}",
                    rev,
                    after
                );
                prop_assert_eq!(
                    resolve_value(store, &rev),
                    expected,
                    "value of {} after {}",
                    rev,
                    after
                );
            }
        }
        for k in 0..=MAX_BACK {
            prop_assert_eq!(
                resolve(store, &format!("{name}~{k}")),
                model.resolve_newest(name, k),
                "{}~{} after {}",
                name,
                k,
                after
            );
        }
        for content in 0..CONTENTS.len() {
            let id = id_of(content);
            let prefix = &id.as_str()[..8];
            prop_assert_eq!(
                resolve(store, &format!("{name}@{prefix}")),
                model.resolve_prefix(name, prefix),
                "{}@{} after {}",
                name,
                prefix,
                after
            );
        }
        if let Some(prompt) = model.prompts.get(name) {
            let versions: Vec<VersionId> = store
                .versions(&pname)
                .unwrap()
                .into_iter()
                .map(|r| r.to)
                .collect();
            prop_assert_eq!(
                &versions,
                &prompt.versions,
                "{} versions after {}",
                name,
                after
            );
        }
    }
    let listed: Vec<(String, Vec<(String, Value)>)> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|p| {
            let labels = (p.labels.into_iter()).map(|(l, v)| (l.to_string(), Value::of(v)));
            (p.name.to_string(), labels.collect())
        })
        .collect();
    let expected: Vec<(String, Vec<(String, Value)>)> = model
        .prompts
        .iter()
        .map(|(name, p)| {
            let labels = p.labels.iter().map(|(l, log)| {
                let value = log.last().unwrap().to.clone();
                (l.to_string(), value)
            });
            (name.to_string(), labels.collect())
        })
        .collect();
    prop_assert_eq!(listed, expected, "list() after {}", after);
    Ok(())
}

/// A temp dir on tmpfs when there is one: every write is synced to disk.
fn temp_dir() -> tempfile::TempDir {
    let shm = PathBuf::from("/dev/shm");
    let base = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("promptrel-model-")
        .tempdir_in(base)
        .unwrap()
}

fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    let tmp = temp_dir();
    let (store, _) = Store::init(tmp.path()).unwrap();
    let mut model = Model::default();
    let start = jiff::Timestamp::from_second(1_767_348_000).unwrap(); // 2026-01-02T10:00:00Z
    for (i, op) in ops.iter().enumerate() {
        // One second per operation, so the merged log has a defined order.
        let time = start + jiff::SignedDuration::from_secs(i as i64);
        let sig = Signature {
            author: AUTHOR.into(),
            time,
        };
        let after = format!("op {i}: {op:?}");
        let release_arg = match op {
            Op::RollbackRelease { pick } => model.release_arg(*pick),
            _ => String::new(),
        };
        let expected = model.apply(op, time, AUTHOR);
        let got = run(&store, op, &release_arg, &sig);
        prop_assert_eq!(got, expected, "{}", after);
        // The prompts operated on in depth (the others are unchanged, which
        // `list()` checks now and the full comparison below at the end).
        let names: Vec<&str> = op.names().into_iter().map(|n| NAMES[n]).collect();
        compare_state(&store, &model, &names, &after)?;
    }
    compare_state(&store, &model, &NAMES, "the last operation")?;

    let report = store.fsck(false).unwrap();
    prop_assert!(report.problems.is_empty(), "fsck: {:?}", report.problems);
    prop_assert_eq!(
        report.records,
        model.events.len() + model.releases.len(),
        "records counted by fsck"
    );
    let logged: Vec<Event> = store
        .log(&LogFilter::default())
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            Event {
                time: r.time,
                action: r.action,
                prompt: r.prompt,
                label: r.label,
                from: r.from,
                from_split: r.from_split.as_ref().map(shares_of),
                to: r.to,
                split: r.split.as_ref().map(shares_of),
                undo: r.undo,
                release_source: r.release.as_ref().and(r.source),
                release: r.release,
            }
        })
        .collect();
    prop_assert_eq!(logged, model.merged_log(), "merged log");
    let releases: Vec<(String, ReleaseRecord)> = (store.releases().unwrap().into_iter().rev())
        .map(|r| (r.id, r.record))
        .collect();
    prop_assert_eq!(&releases, &model.releases, "release log");
    prop_assert_eq!(store.pending_release().unwrap(), None, "pending release");
    Ok(())
}

// ----- generators ----------------------------------------------------------

fn back() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0usize), 2 => 1..=MAX_BACK]
}

fn target() -> BoxedStrategy<Target> {
    prop_oneof![
        10 => (label([4, 2, 2]), back()).prop_map(|(l, k)| Target::Label(l, k)),
        4 => (0..CONTENTS.len(), any::<bool>(), any::<bool>())
            .prop_map(|(content, full, upper)| Target::Version { content, full, upper }),
        1 => (0..LABELS.len(), back()).prop_map(|(l, k)| Target::Qualified(l, k)),
        1 => (0..LABELS.len()).prop_map(Target::OtherPrompt),
        1 => Just(Target::Garbage),
    ]
    .boxed()
}

/// Weighted towards `alpha` (3:1:1), so that operations meet an existing prompt.
fn name() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)]
}

/// A label index, with weights for `staging`, `648b` and `prod`.
fn label(weights: [u32; 3]) -> impl Strategy<Value = usize> {
    prop_oneof![
        weights[0] => Just(0usize),
        weights[1] => Just(1usize),
        weights[2] => Just(2usize),
    ]
}

fn add() -> BoxedStrategy<Op> {
    let labels = prop::collection::vec(label([6, 3, 1]), 0..=2);
    (name(), 0..CONTENTS.len(), labels)
        .prop_map(|(name, content, labels)| Op::Add {
            name,
            content,
            labels,
        })
        .boxed()
}

/// 2 or 3 weights adding up to 100; one in ten breaks a rule of §5.1
/// (one weight more: 101 in all, or a weight of 100).
fn weights() -> BoxedStrategy<Vec<u8>> {
    let two = (1..=99u8).prop_map(|a| vec![a, 100 - a]);
    let three = (1..=98u8)
        .prop_flat_map(|a| (Just(a), 1..=99 - a))
        .prop_map(|(a, b)| vec![a, b, 100 - a - b]);
    (prop_oneof![2 => two, 1 => three], prop::bool::weighted(0.1))
        .prop_map(|(mut w, bad)| {
            if bad {
                w[0] += 1;
            }
            w
        })
        .boxed()
}

/// A share's version: mostly a short id, sometimes any revision (a label
/// that may be split, `~k`, a refused one).
fn share_target() -> BoxedStrategy<Target> {
    let version = (0..CONTENTS.len()).prop_map(|content| Target::Version {
        content,
        full: false,
        upper: false,
    });
    prop_oneof![4 => version, 1 => target()].boxed()
}

fn split() -> BoxedStrategy<Op> {
    (
        name(),
        label([4, 2, 1]),
        weights().prop_flat_map(|w| {
            let n = w.len();
            (Just(w), prop::collection::vec(share_target(), n))
        }),
        prop::option::weighted(0.1, target()),
    )
        .prop_map(|(name, label, (weights, targets), expect)| Op::Split {
            name,
            label,
            shares: targets.into_iter().zip(weights).collect(),
            expect,
        })
        .boxed()
}

fn clear_split() -> BoxedStrategy<Op> {
    (
        name(),
        label([4, 2, 1]),
        prop::option::weighted(0.4, share_target()),
        prop::option::weighted(0.1, target()),
    )
        .prop_map(|(name, label, keep, expect)| Op::ClearSplit {
            name,
            label,
            keep,
            expect,
        })
        .boxed()
}

/// `release FROM TO`, mostly `staging` to `prod`, for some prompts or all.
fn release_op() -> BoxedStrategy<Op> {
    let names = prop::collection::vec(name(), 1..=3);
    (
        label([5, 1, 1]),
        label([1, 1, 5]),
        prop::option::weighted(0.7, names),
    )
        .prop_map(|(from, to, names)| Op::Release { from, to, names })
        .boxed()
}

fn rollback_release() -> BoxedStrategy<Op> {
    let pick = prop_oneof![3 => Just(0usize), 1 => 1..4usize];
    prop::option::weighted(0.9, pick)
        .prop_map(|pick| Op::RollbackRelease { pick })
        .boxed()
}

fn op() -> BoxedStrategy<Op> {
    prop_oneof![
        4 => add(),
        2 => (name(), label([3, 3, 1]), target(), prop::option::weighted(0.15, target()))
            .prop_map(|(name, label, target, expect)| Op::SetLabel { name, label, target, expect }),
        4 => (name(), target(), label([1, 1, 2]), prop::option::weighted(0.15, target()))
            .prop_map(|(name, from, to, expect)| Op::Promote { name, from, to, expect }),
        6 => (
            name(),
            label([2, 1, 3]),
            prop::option::weighted(0.2, target()),
            prop::option::weighted(0.1, target()),
        )
            .prop_map(|(name, label, to, expect)| Op::Rollback { name, label, to, expect }),
        3 => split(),
        1 => clear_split(),
        2 => release_op(),
        1 => rollback_release(),
    ]
    .boxed()
}

/// The usual release flow as two operations: add to `staging`, promote to `prod`.
fn release() -> BoxedStrategy<Vec<Op>> {
    (name(), 0..CONTENTS.len())
        .prop_map(|(name, content)| {
            vec![
                Op::Add {
                    name,
                    content,
                    labels: vec![0],
                },
                Op::Promote {
                    name,
                    from: Target::Label(0, 0),
                    to: 2,
                    expect: None,
                },
            ]
        })
        .boxed()
}

/// A few releases of one prompt, then several undos in a row of `staging`
/// or `prod` (§8.1: each undo walks further back).
fn history() -> BoxedStrategy<Vec<Op>> {
    let contents = prop::collection::vec(0..CONTENTS.len(), 2..=4);
    let label = prop_oneof![Just(0usize), Just(2usize)];
    (name(), contents, label, 1..=4usize)
        .prop_map(|(name, contents, label, undos)| {
            let mut ops = Vec::new();
            for content in contents {
                ops.push(Op::Add {
                    name,
                    content,
                    labels: vec![0],
                });
                ops.push(Op::Promote {
                    name,
                    from: Target::Label(0, 0),
                    to: 2,
                    expect: None,
                });
            }
            let undo = Op::Rollback {
                name,
                label,
                to: None,
                expect: None,
            };
            ops.extend(std::iter::repeat_n(undo, undos));
            ops
        })
        .boxed()
}

/// A canary: split `staging` between two versions, promote the split to
/// `prod` (or release it), then clear it or undo steps; splits enter the
/// histories that `~k` and undo walk through.
fn canary() -> BoxedStrategy<Vec<Op>> {
    (
        name(),
        (0..CONTENTS.len(), 0..CONTENTS.len(), 1..=99u8),
        any::<bool>(),
        prop::option::of(0..CONTENTS.len()),
        0..=3usize,
    )
        .prop_map(|(name, (a, b, w), by_release, keep, undos)| {
            let version = |content| Target::Version {
                content,
                full: false,
                upper: false,
            };
            let mut ops = vec![
                Op::Add {
                    name,
                    content: a,
                    labels: vec![0],
                },
                Op::Add {
                    name,
                    content: b,
                    labels: vec![],
                },
                Op::Split {
                    name,
                    label: 0,
                    shares: vec![(version(a), w), (version(b), 100 - w)],
                    expect: None,
                },
            ];
            ops.push(if by_release {
                Op::Release {
                    from: 0,
                    to: 2,
                    names: Some(vec![name]),
                }
            } else {
                Op::Promote {
                    name,
                    from: Target::Label(0, 0),
                    to: 2,
                    expect: None,
                }
            });
            ops.push(Op::ClearSplit {
                name,
                label: 0,
                keep: keep.map(version),
                expect: None,
            });
            for i in 0..undos {
                ops.push(Op::Rollback {
                    name,
                    label: if i % 2 == 0 { 0 } else { 2 },
                    to: None,
                    expect: None,
                });
            }
            ops
        })
        .boxed()
}

/// Several prompts released together, then the release undone, and
/// sometimes the undoing undone (a re-do) or the undo repeated (refused).
fn release_flow() -> BoxedStrategy<Vec<Op>> {
    let adds = prop::collection::vec((name(), 0..CONTENTS.len()), 1..=3);
    (adds, any::<bool>(), 0..=2usize, prop::bool::weighted(0.3))
        .prop_map(|(adds, all, rollbacks, undo)| {
            let mut ops: Vec<Op> = adds
                .iter()
                .map(|(name, content)| Op::Add {
                    name: *name,
                    content: *content,
                    labels: vec![0],
                })
                .collect();
            ops.push(Op::Release {
                from: 0,
                to: 2,
                names: (!all).then(|| adds.iter().map(|(n, _)| *n).collect()),
            });
            ops.extend((0..rollbacks).map(|_| Op::RollbackRelease { pick: Some(0) }));
            if undo {
                ops.push(Op::Rollback {
                    name: adds[0].0,
                    label: 2,
                    to: None,
                    expect: None,
                });
            }
            ops
        })
        .boxed()
}

/// Up to 40 operations, the first an `add` so that there is something to
/// move; release flows, canaries and histories with runs of undos are mixed
/// in so that labels have histories to walk back through.
fn ops() -> BoxedStrategy<Vec<Op>> {
    let group = prop_oneof![
        8 => op().prop_map(|op| vec![op]),
        2 => release(),
        1 => history(),
        1 => canary(),
        1 => release_flow(),
    ];
    (add(), prop::collection::vec(group, 0..30))
        .prop_map(|(first, groups)| {
            let mut ops = vec![first];
            ops.extend(groups.into_iter().flatten());
            ops.truncate(40);
            ops
        })
        .boxed()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn library_matches_the_model(ops in ops()) {
        check(&ops)?;
    }
}

#[test]
fn model_universe_ids_are_as_assumed() {
    // The hex label is a prefix of exactly one content's id.
    let hex_label: Vec<usize> = (0..CONTENTS.len())
        .filter(|c| id_of(*c).as_str().starts_with(LABELS[1]))
        .collect();
    assert_eq!(hex_label, [2]);
    // The 8-digit prefixes used as targets are unambiguous.
    let mut prefixes: Vec<String> = (0..CONTENTS.len())
        .map(|c| id_of(c).as_str()[..8].to_string())
        .collect();
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(prefixes.len(), CONTENTS.len());
}
