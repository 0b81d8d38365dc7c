//! Label refs: `refs/<name>/@<label>`, one small file holding a full version
//! id, or a split's line (`<id>=<weight> <id>=<weight>…`).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::{Error, Result};
use crate::fsutil;
use crate::id::VersionId;
use crate::name::Label;
use crate::split::{LabelValue, Split};

/// What a ref file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefValue {
    /// No ref file: the label does not exist.
    Missing,
    /// One version id.
    Id(VersionId),
    /// A split between several versions.
    Split(Split),
    /// Git merge-conflict markers around two (or more) values: the label was
    /// moved differently on two branches and a person must choose. The
    /// values are in the order of the file (ours, then the base if any, then theirs).
    Conflict(Vec<LabelValue>),
}

impl RefValue {
    /// The id, if the ref holds exactly one.
    pub fn id(&self) -> Option<&VersionId> {
        match self {
            RefValue::Id(id) => Some(id),
            _ => None,
        }
    }

    /// The label's value: one id or a split (`None`: missing or conflicted).
    pub fn value(&self) -> Option<LabelValue> {
        match self {
            RefValue::Id(id) => Some(LabelValue::One(id.clone())),
            RefValue::Split(split) => Some(LabelValue::Split(split.clone())),
            RefValue::Missing | RefValue::Conflict(_) => None,
        }
    }
}

impl From<LabelValue> for RefValue {
    fn from(value: LabelValue) -> RefValue {
        match value {
            LabelValue::One(id) => RefValue::Id(id),
            LabelValue::Split(split) => RefValue::Split(split),
        }
    }
}

const CONFLICT: &str = "this label has an unresolved git merge conflict: keep one of the two values \
     (the label's log, `promptrel log NAME --label LABEL`, shows both moves)";

/// Read the ref at `path`, telling a merge conflict apart from damage.
pub fn read_value(path: &Path) -> Result<RefValue> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(Error::corrupt(
                path,
                "a label file must be a regular file, not a symbolic link",
            ));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(Error::corrupt(path, "a label file must be a regular file"));
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(RefValue::Missing),
        Err(e) => return Err(Error::io("reading", path)(e)),
    }
    let Some(bytes) = fsutil::read_optional(path)? else {
        return Ok(RefValue::Missing);
    };
    if let Some(sides) = conflict_sides(&bytes) {
        return Ok(RefValue::Conflict(sides));
    }
    parse(path, &bytes).map(RefValue::from)
}

/// The values between git's conflict markers (`<<<<<<<`, `|||||||`,
/// `=======`, `>>>>>>>`), when the file is exactly one such conflict of
/// valid values (ids or split lines); `None` for anything else.
fn conflict_sides(bytes: &[u8]) -> Option<Vec<LabelValue>> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.starts_with("<<<<<<<") {
        return None;
    }
    let mut sides = Vec::new();
    let mut closed = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if closed {
            return None;
        }
        if line.starts_with("<<<<<<<") || line.starts_with("|||||||") || line == "=======" {
            continue;
        }
        if line.starts_with(">>>>>>>") {
            closed = true;
            continue;
        }
        let value = LabelValue::parse_ref(line)?;
        if !sides.contains(&value) {
            sides.push(value);
        }
    }
    (closed && sides.len() >= 2).then_some(sides)
}

/// Parse a ref's content: the 64-digit id or a split's line, then `\n` (a
/// missing newline or `\r\n` from a hand edit is tolerated; anything else
/// is refused).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<LabelValue> {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    if text.contains("<<<<<<<") {
        return Err(Error::corrupt(path, CONFLICT));
    }
    LabelValue::parse_ref(text.trim_end_matches(['\n', '\r'])).ok_or_else(|| {
        Error::corrupt(
            path,
            "a label file must hold one 64-digit version id, or a split \
             (`<id>=<weight>` pairs sorted by id, the weights adding up to 100)",
        )
    })
}

/// Point the ref at `path` to `value`, atomically.
pub fn write(path: &Path, value: &LabelValue) -> Result<()> {
    fsutil::write_atomic(path, &value.ref_bytes())
}

/// The labels whose refs are in `dir` (the prompt's folder under `refs/`), sorted.
pub fn labels_in(dir: &Path) -> Result<Vec<Label>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", dir)(e)),
    };
    let mut labels = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io("listing", dir))?;
        let file_name = entry.file_name();
        let Some(label) = file_name.to_str().and_then(|n| n.strip_prefix('@')) else {
            continue;
        };
        let label = Label::new(label)
            .map_err(|_| Error::corrupt(entry.path(), "not a valid label file name"))?;
        labels.push(label);
    }
    labels.sort();
    Ok(labels)
}
