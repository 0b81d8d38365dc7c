//! Model-based property test of the library.
//!
//! Random sequences of `add` (with labels), `set_label`, `promote` and
//! `rollback` (undo and `--to`) over a small universe run against a real
//! [`Store`] in a temp dir and against an in-memory model written from
//! FORMAT.md (§6 records, §8 resolution, §8.1 undo). After every operation
//! both must agree on the outcome (the value returned, or which error), on
//! every label's value, on `NAME@LABEL~k`, `NAME~k` and `NAME@<id prefix>`,
//! on `list()` and on each prompt's versions. At the end `fsck` must be clean
//! and the merged changelog (`log`) must be exactly the model's events.
//!
//! `PROPTEST_CASES=N` runs more cases than the default 64.

use std::collections::BTreeMap;
use std::path::PathBuf;

use promptrel::{
    Action, Error, Label, LabelValue, LogFilter, PromoteOptions, PromptName, Rev, Signature, Store,
    VersionId,
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
}

impl Op {
    fn name(&self) -> usize {
        match self {
            Op::Add { name, .. }
            | Op::SetLabel { name, .. }
            | Op::Promote { name, .. }
            | Op::Rollback { name, .. } => *name,
        }
    }
}

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

/// One label move, as in a label log.
#[derive(Debug, Clone)]
struct Move {
    from: Option<VersionId>,
    to: VersionId,
    undo: bool,
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
    to: VersionId,
    undo: bool,
}

#[derive(Debug, Default)]
struct Model {
    prompts: BTreeMap<&'static str, Prompt>,
    events: Vec<Event>,
}

/// What an operation returned: the library's answer reduced to what the
/// model predicts, or the error variant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Added {
        id: VersionId,
        new_version: bool,
        /// Per `--label`: (from, changed).
        labels: Vec<(Option<VersionId>, bool)>,
    },
    Moved {
        from: Option<VersionId>,
        to: VersionId,
        changed: bool,
    },
    Err(String),
}

type ModelResult<T> = Result<T, String>;

fn err<T>(kind: &str) -> ModelResult<T> {
    Err(kind.to_string())
}

impl Model {
    fn value(&self, name: &str, label: &str) -> Option<VersionId> {
        let log = self.prompts.get(name)?.labels.get(label)?;
        log.last().map(|m| m.to.clone())
    }

    fn prompt(&self, name: &str) -> ModelResult<&Prompt> {
        self.prompts
            .get(name)
            .map_or_else(|| err("UnknownPrompt"), Ok)
    }

    /// §8: `NAME@LABEL~k`: the ref; k back: the `from` of the k-th newest
    /// move. No such label: a hex LABEL (k = 0) is an id prefix.
    fn resolve_label(&self, name: &str, label: &str, k: usize) -> ModelResult<VersionId> {
        let prompt = self.prompt(name)?;
        let Some(log) = prompt.labels.get(label) else {
            if k == 0 && label.len() >= 4 && label.bytes().all(|b| b.is_ascii_hexdigit()) {
                return self.resolve_prefix(name, label);
            }
            return err("UnknownLabel");
        };
        if k == 0 {
            return Ok(log.last().unwrap().to.clone());
        }
        match log.iter().rev().nth(k - 1).map(|m| m.from.clone()) {
            Some(Some(id)) => Ok(id),
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

    fn resolve(&self, name: &str, target: &Target) -> ModelResult<VersionId> {
        self.parse(target)?;
        match *target {
            Target::Label(l, k) | Target::Qualified(l, k) => self.resolve_label(name, LABELS[l], k),
            Target::Version { .. } => self.resolve_prefix(name, &target.text(name)),
            Target::OtherPrompt(_) | Target::Garbage => unreachable!(),
        }
    }

    /// §8.1: walk the label log from the newest record; each undo hides the
    /// newest change not yet hidden.
    fn undo_target(&self, name: &str, label: &str) -> ModelResult<VersionId> {
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

    fn check_expect(&self, name: &str, label: &str, expect: &Option<Target>) -> ModelResult<()> {
        if let Some(expect) = expect {
            let expected = self.resolve(name, expect)?;
            if self.value(name, label) != Some(expected) {
                return err("ExpectMismatch");
            }
        }
        Ok(())
    }

    /// A label move: nothing is written when the label already holds `to`.
    fn move_label(
        &mut self,
        time: jiff::Timestamp,
        name: &'static str,
        label: &'static str,
        to: VersionId,
        action: Action,
        undo: bool,
    ) -> (Option<VersionId>, bool) {
        let from = self.value(name, label);
        let changed = from.as_ref() != Some(&to);
        if changed {
            let m = Move {
                from: from.clone(),
                to: to.clone(),
                undo,
            };
            self.events.push(Event {
                time,
                action,
                prompt: name.to_string(),
                label: Some(label.to_string()),
                from: m.from.clone(),
                to: m.to.clone(),
                undo,
            });
            let prompt = self.prompts.get_mut(name).unwrap();
            prompt.labels.entry(label).or_default().push(m);
        }
        (from, changed)
    }

    fn apply(&mut self, op: &Op, time: jiff::Timestamp) -> Outcome {
        match self.try_apply(op, time) {
            Ok(outcome) => outcome,
            Err(kind) => Outcome::Err(kind),
        }
    }

    fn try_apply(&mut self, op: &Op, time: jiff::Timestamp) -> ModelResult<Outcome> {
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
                        to: id.clone(),
                        undo: false,
                    });
                }
                let labels = labels
                    .iter()
                    .map(|l| {
                        self.move_label(time, name, LABELS[*l], id.clone(), Action::Label, false)
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
                let to = self.resolve(name, target)?;
                Ok(self.moved(time, name, label, to, Action::Label, false))
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
                let id = self.resolve(name, from)?;
                Ok(self.moved(time, name, label, id, Action::Promote, false))
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
                let (id, undo) = match to {
                    Some(t) => (self.resolve(name, t)?, false),
                    None => (self.undo_target(name, label)?, true),
                };
                Ok(self.moved(time, name, label, id, Action::Rollback, undo))
            }
        }
    }

    fn moved(
        &mut self,
        time: jiff::Timestamp,
        name: &'static str,
        label: &'static str,
        to: VersionId,
        action: Action,
        undo: bool,
    ) -> Outcome {
        let (from, changed) = self.move_label(time, name, label, to.clone(), action, undo);
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
        // I/O, integrity, lock: never expected; the full text shows in the diff.
        other => return format!("unexpected: {other}"),
    }
    .to_string()
}

fn run(store: &Store, op: &Op, sig: &Signature) -> Outcome {
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
                        .map(|m| (m.from.map(one), m.changed))
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
    };
    result.unwrap_or_else(|e| Outcome::Err(kind(&e)))
}

/// The one version of a label's value (the model makes no splits).
fn one(value: LabelValue) -> VersionId {
    value.id().cloned().expect("the model makes no splits")
}

fn moved(m: promptrel::Moved) -> Outcome {
    Outcome::Moved {
        from: m.from.map(one),
        to: one(m.to),
        changed: m.changed,
    }
}

fn resolve(store: &Store, rev: &str) -> ModelResult<VersionId> {
    store
        .resolve(&Rev::parse(rev).unwrap())
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
                value.map(|v| v.map(one)).map_err(|e| kind(&e)),
                Ok(model.value(name, label)),
                "{}@{} after {}",
                name,
                label,
                after
            );
            for k in 0..=MAX_BACK {
                prop_assert_eq!(
                    resolve(store, &format!("{name}@{label}~{k}")),
                    model.resolve_label(name, label, k),
                    "{}@{}~{} after {}",
                    name,
                    label,
                    k,
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
    let listed: Vec<(String, Vec<(String, VersionId)>)> = store
        .list()
        .unwrap()
        .into_iter()
        .map(|p| {
            let labels = p.labels.into_iter().map(|(l, v)| (l.to_string(), one(v)));
            (p.name.to_string(), labels.collect())
        })
        .collect();
    let expected: Vec<(String, Vec<(String, VersionId)>)> = model
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
            author: "Model <model@example.com>".into(),
            time,
        };
        let after = format!("op {i}: {op:?}");
        let expected = model.apply(op, time);
        let got = run(&store, op, &sig);
        prop_assert_eq!(got, expected, "{}", after);
        // The prompt operated on in depth (the others are unchanged, which
        // `list()` checks now and the full comparison below at the end).
        compare_state(&store, &model, &[NAMES[op.name()]], &after)?;
    }
    compare_state(&store, &model, &NAMES, "the last operation")?;

    let report = store.fsck(false).unwrap();
    prop_assert!(report.problems.is_empty(), "fsck: {:?}", report.problems);
    prop_assert_eq!(
        report.records,
        model.events.len(),
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
                to: r.to,
                undo: r.undo,
            }
        })
        .collect();
    prop_assert_eq!(logged, model.merged_log(), "merged log");
    Ok(())
}

// ----- generators ----------------------------------------------------------

fn back() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0usize), 2 => 1..=MAX_BACK]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        10 => (label([4, 2, 2]), back()).prop_map(|(l, k)| Target::Label(l, k)),
        4 => (0..CONTENTS.len(), any::<bool>(), any::<bool>())
            .prop_map(|(content, full, upper)| Target::Version { content, full, upper }),
        1 => (0..LABELS.len(), back()).prop_map(|(l, k)| Target::Qualified(l, k)),
        1 => (0..LABELS.len()).prop_map(Target::OtherPrompt),
        1 => Just(Target::Garbage),
    ]
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

fn add() -> impl Strategy<Value = Op> {
    let labels = prop::collection::vec(label([6, 3, 1]), 0..=2);
    (name(), 0..CONTENTS.len(), labels).prop_map(|(name, content, labels)| Op::Add {
        name,
        content,
        labels,
    })
}

fn op() -> impl Strategy<Value = Op> {
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
    ]
}

/// The usual release flow as two operations: add to `staging`, promote to `prod`.
fn release() -> impl Strategy<Value = Vec<Op>> {
    (name(), 0..CONTENTS.len()).prop_map(|(name, content)| {
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
}

/// A few releases of one prompt, then several undos in a row of `staging`
/// or `prod` (§8.1: each undo walks further back).
fn history() -> impl Strategy<Value = Vec<Op>> {
    let contents = prop::collection::vec(0..CONTENTS.len(), 2..=4);
    let label = prop_oneof![Just(0usize), Just(2usize)];
    (name(), contents, label, 1..=4usize).prop_map(|(name, contents, label, undos)| {
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
}

/// Up to 40 operations, the first an `add` so that there is something to
/// move; release flows and histories with runs of undos are mixed in so that labels have
/// histories to walk back through.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    let group = prop_oneof![
        8 => op().prop_map(|op| vec![op]),
        2 => release(),
        1 => history(),
    ];
    (add(), prop::collection::vec(group, 0..30)).prop_map(|(first, groups)| {
        let mut ops = vec![first];
        ops.extend(groups.into_iter().flatten());
        ops.truncate(40);
        ops
    })
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
