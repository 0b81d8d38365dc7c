//! One changelog record: what happened, to which prompt or label, by whom.

use std::cmp::Ordering;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::id::VersionId;
use crate::split::{LabelValue, Split};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new version of a prompt was stored.
    Add,
    /// A label was pointed at a version directly (`label`, `add --label`).
    Label,
    /// A label was pointed at what another label holds.
    Promote,
    /// A label was moved back.
    Rollback,
    /// A label was split between several versions, or its split ended
    /// (`split --clear`).
    Split,
}

impl Action {
    /// The word used in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Label => "label",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::Split => "split",
        }
    }
}

/// One changelog record, as stored (one JSON object on one line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When, in UTC (RFC 3339).
    pub time: Timestamp,
    /// What happened.
    pub action: Action,
    /// The prompt.
    pub prompt: String,
    /// The label moved; absent for `add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The record's place in its log: 1 for the first, then one more than
    /// the greatest `seq` the writer saw in that log. Two branches that each
    /// wrote a record give two records the same `seq`; both are kept.
    pub seq: u64,
    /// The label's previous version; `null` when it did not exist. For
    /// `add`, the previous newest version. When the label was split: the
    /// split's greatest share.
    pub from: Option<VersionId>,
    /// The label's previous value when it was a split (`from` is then its
    /// greatest share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_split: Option<Split>,
    /// The version the label (or, for `add`, the prompt) now points to.
    /// When the label is now split: the split's greatest share.
    pub to: VersionId,
    /// The label's new value when it is a split (`to` is then its greatest
    /// share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// Who did it: `Name <email>` or a login name.
    pub author: String,
    /// Why (may be empty).
    #[serde(default)]
    pub message: String,
    /// `promote`: the revision promoted from (usually a label such as `staging`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `add`: the file the version was read from, relative to the store's parent folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `rollback`: true when it undid the previous change (no `--to`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undo: bool,
    /// The release this move is part of (its id, 64 hex digits), when it
    /// was made by `release` or `rollback --release`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

impl Record {
    /// The record as one line of JSON, with its `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        to_line(self)
    }

    /// Parse one line (without its `\n`).
    pub fn parse(line: &[u8]) -> std::result::Result<Record, String> {
        parse(line)
    }

    /// The label's value after this record: `split`, else `to`.
    pub fn value(&self) -> LabelValue {
        match &self.split {
            Some(split) => LabelValue::Split(split.clone()),
            None => LabelValue::One(self.to.clone()),
        }
    }

    /// The label's value before this record: `from_split`, else `from`.
    pub fn from_value(&self) -> Option<LabelValue> {
        match &self.from_split {
            Some(split) => Some(LabelValue::Split(split.clone())),
            None => self.from.clone().map(LabelValue::One),
        }
    }
}

/// The `from`/`from_split` or `to`/`split` pair of a record for `value`.
pub(crate) fn record_pair(value: &LabelValue) -> (VersionId, Option<Split>) {
    (value.headline().clone(), value.split().cloned())
}

impl LogLine for Record {
    fn seq(&self) -> u64 {
        self.seq
    }

    fn time(&self) -> Timestamp {
        self.time
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self
            .split
            .as_ref()
            .is_some_and(|s| s.headline().version != self.to)
        {
            return Err("`to` must be the greatest share of `split`".into());
        }
        if let Some(split) = &self.from_split
            && self.from.as_ref() != Some(&split.headline().version)
        {
            return Err("`from` must be the greatest share of `from_split`".into());
        }
        if self.action == Action::Add && (self.split.is_some() || self.from_split.is_some()) {
            return Err("an add record has no split".into());
        }
        Ok(())
    }
}

/// What every kind of log line is: one JSON object with a `seq` and a
/// `time`, which order it in its log.
pub trait LogLine: Serialize + serde::de::DeserializeOwned {
    /// Its place in its log.
    fn seq(&self) -> u64;
    /// When it was written.
    fn time(&self) -> Timestamp;
    /// The rules a line must follow beyond its JSON shape (a damaged
    /// record otherwise).
    fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// Any log line as one line of JSON, with its `\n`.
pub fn to_line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).expect("log lines always serialize");
    line.push(b'\n');
    line
}

/// Parse one log line (without its `\n`).
pub fn parse<T: LogLine>(line: &[u8]) -> std::result::Result<T, String> {
    let value: T = serde_json::from_slice(line).map_err(|e| {
        // A record is one line, so the parser's "line 1" would only be
        // confused with the line number of a pack; keep the column.
        let text = e.to_string();
        match text.rsplit_once(" at line ") {
            Some((what, _)) => format!("{what} at column {}", e.column()),
            None => text,
        }
    })?;
    if value.seq() == 0 {
        return Err("seq must be 1 or more".into());
    }
    value.check()?;
    Ok(value)
}

/// Just what orders a line in its log: enough to pack any log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// Its place in its log.
    pub seq: u64,
    /// When it was written.
    pub time: Timestamp,
}

impl LogLine for Meta {
    fn seq(&self) -> u64 {
        self.seq
    }

    fn time(&self) -> Timestamp {
        self.time
    }
}

/// A log line, parsed, with its exact bytes (without `\n`): the bytes are
/// the line's identity, so the same record found in two files (a loose file
/// and a pack, after a merge or an interrupted repack) is one record.
#[derive(Debug, Clone)]
pub struct Entry<T = Record> {
    /// The parsed line.
    pub record: T,
    /// Its bytes, without the `\n`.
    pub line: Vec<u8>,
}

impl<T: LogLine> Entry<T> {
    /// The order of lines in a log (FORMAT.md §6.2): by `seq`, then
    /// `time` (as instants), then the bytes of the line.
    pub fn log_order(&self, other: &Entry<T>) -> Ordering {
        (self.record.seq(), self.record.time())
            .cmp(&(other.record.seq(), other.record.time()))
            .then_with(|| self.line.cmp(&other.line))
    }
}

/// A label record for tests: `seq`, and `n` for its time, target and
/// message.
#[cfg(test)]
pub(crate) fn sample(seq: u64, n: u64) -> Record {
    Record {
        time: Timestamp::from_second(1_700_000_000 + n as i64).unwrap(),
        action: Action::Label,
        prompt: "p".into(),
        label: Some("prod".into()),
        seq,
        from: None,
        from_split: None,
        to: crate::id::VersionId::of(n.to_string().as_bytes()),
        split: None,
        author: "a".into(),
        message: format!("message {n}"),
        source: None,
        file: None,
        undo: false,
        release: None,
    }
}
