//! The library's error type: every variant is something a user can act on,
//! and every I/O failure carries the path it happened on.

use std::path::PathBuf;

use crate::id::VersionId;
use crate::split::{LabelValue, Split};

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a store operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error on a specific path.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("reading", "writing", …).
        op: &'static str,
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No `.promptrel` folder was found.
    #[error("not in a promptrel store (no .promptrel in {} or any parent folder)", start.display())]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// `PROMPTREL_DIR` or an explicit path names something that is not a store.
    #[error("{} is not a promptrel store ({reason})", path.display())]
    NotAStore {
        /// The path given.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// The store was written by a newer promptrel.
    #[error("{} has store format {found}, this promptrel understands format {supported}", path.display())]
    UnsupportedFormat {
        /// The config file.
        path: PathBuf,
        /// Format found on disk.
        found: u32,
        /// Format this build writes.
        supported: u32,
    },
    /// `config.yaml` could not be parsed.
    #[error("invalid store settings in {}: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A prompt name breaks a naming rule.
    #[error("invalid prompt name {value:?}: {rule}")]
    InvalidName {
        /// The rejected text.
        value: String,
        /// The rule that was broken.
        rule: String,
    },
    /// A label breaks a naming rule.
    #[error("invalid label {value:?}: {rule}")]
    InvalidLabel {
        /// The rejected text.
        value: String,
        /// The rule that was broken.
        rule: String,
    },
    /// A revision could not be parsed.
    #[error("invalid revision {value:?}: {reason}")]
    InvalidRev {
        /// The rejected text.
        value: String,
        /// Why.
        reason: String,
    },
    /// The prompt has no versions in this store.
    #[error("no prompt named {name:?}")]
    UnknownPrompt {
        /// The prompt name.
        name: String,
        /// Existing prompts with a similar name.
        suggestions: Vec<String>,
    },
    /// The label does not exist on this prompt.
    #[error("{name} has no label {label:?}")]
    UnknownLabel {
        /// The prompt name.
        name: String,
        /// The label asked for.
        label: String,
        /// Existing labels with a similar name.
        suggestions: Vec<String>,
    },
    /// No prompt has the label (a command working on one label of every prompt).
    #[error("no prompt has a label {label:?}")]
    NoPromptHasLabel {
        /// The label asked for.
        label: String,
        /// Labels of other prompts with a similar name.
        suggestions: Vec<String>,
    },
    /// No version of the prompt matches the id or prefix.
    #[error("{name} has no version matching {prefix:?}")]
    UnknownVersion {
        /// The prompt name.
        name: String,
        /// The id or prefix asked for.
        prefix: String,
    },
    /// A version prefix matches several versions.
    #[error("version prefix {prefix:?} of {name} is ambiguous: it matches {}", candidates.iter().map(|c| c.short()).collect::<Vec<_>>().join(", "))]
    AmbiguousVersion {
        /// The prompt name.
        name: String,
        /// The prefix asked for.
        prefix: String,
        /// Every matching version.
        candidates: Vec<VersionId>,
    },
    /// `LABEL~N` or `NAME~N` reaches further back than the history goes.
    #[error("{rev} reaches back {steps} changes, but the history holds only {available}")]
    HistoryTooShort {
        /// The revision text.
        rev: String,
        /// Steps asked for.
        steps: usize,
        /// Steps available.
        available: usize,
    },
    /// Rollback has nothing to go back to.
    #[error("{name}@{label} has no earlier value to roll back to")]
    NothingToRollBack {
        /// The prompt name.
        name: String,
        /// The label.
        label: String,
    },
    /// A protected label was about to be moved by `label` or `add --label`.
    #[error("label {label:?} is protected: it moves only through promote and rollback")]
    ProtectedLabel {
        /// The label.
        label: String,
    },
    /// A split was asked for that is not one: fewer than two versions, a
    /// version twice, a weight outside 1..=99, weights not adding up to 100.
    #[error("invalid split: {reason}")]
    InvalidSplit {
        /// What is wrong.
        reason: String,
    },
    /// A revision that names a split label (or a split in its history) was
    /// used where one version is needed.
    #[error("{rev} is split between {} versions ({split}); one version is needed here", split.shares().len())]
    SplitLabel {
        /// The revision text.
        rev: String,
        /// The prompt name.
        name: String,
        /// The split it names.
        split: Split,
    },
    /// `split --clear` on a label that holds one version.
    #[error("{name}@{label} is not split; it points to {value}")]
    NotSplit {
        /// The prompt name.
        name: String,
        /// The label.
        label: String,
        /// What it holds (one version, or nothing).
        value: String,
    },
    /// `split --clear VERSION` with a version the split does not serve.
    #[error("{} is not one of the versions of {name}@{label} ({split})", version.short())]
    NotAShare {
        /// The prompt name.
        name: String,
        /// The label.
        label: String,
        /// The version asked for.
        version: VersionId,
        /// The label's split.
        split: Split,
    },
    /// An export of a label that is split for some prompts: an export holds
    /// one version per prompt.
    #[error(
        "cannot export label {label}: an export holds one version per prompt, and {} split ({})",
        if splits.len() == 1 { "this one is" } else { "these are" },
        splits.iter().map(|(name, split)| format!("{name}@{label}: {split}")).collect::<Vec<_>>().join("; ")
    )]
    SplitExport {
        /// The label.
        label: String,
        /// Every prompt whose label is a split, with its split.
        splits: Vec<(String, Split)>,
    },
    /// `--expect` did not match the label's current value.
    #[error("{name}@{label} has moved: expected {}, found {}", expected.short(), found.as_ref().map_or("nothing".to_string(), |f| f.to_string()))]
    ExpectMismatch {
        /// The prompt name.
        name: String,
        /// The label.
        label: String,
        /// What the caller expected.
        expected: VersionId,
        /// What the label holds now.
        found: Option<LabelValue>,
    },
    /// A prompt's front matter is not valid YAML, or a key has the wrong shape.
    #[error("invalid front matter at line {line}, column {column}: {message}")]
    FrontMatter {
        /// Line of the file (1-based).
        line: usize,
        /// Column (1-based, in characters).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A prompt's body is not a valid template, or rendering it failed.
    #[error("template error{}: {message}", match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    })]
    Template {
        /// Line of the file, when known.
        line: Option<usize>,
        /// Column, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Rendering needs variables that were not given.
    #[error("missing variables: {}", missing.iter().map(|m| match via.get(m) {
        Some(include) => format!("{m} (used by include {include:?})"),
        None => m.clone(),
    }).collect::<Vec<_>>().join(", "))]
    MissingVariables {
        /// Every missing variable, sorted.
        missing: Vec<String>,
        /// The include that needs it, for those that only an included
        /// version uses (the include as written).
        via: std::collections::BTreeMap<String, String>,
    },
    /// An include does not resolve, or the version it names cannot be read
    /// or parsed.
    #[error("cannot include {include:?} in {parent}")]
    Include {
        /// The include as written (`support/tone@prod`).
        include: String,
        /// The including version: its revision and short id.
        parent: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// Rendering failed inside an included version.
    #[error("in {include} ({})", id.short())]
    InInclude {
        /// The include as written.
        include: String,
        /// The version it resolved to.
        id: VersionId,
        /// What went wrong there.
        #[source]
        source: Box<Error>,
    },
    /// Includes lead back to a version that is already being included.
    #[error("include loop: {} (version {} includes itself)", chain.join(" -> "), id.short())]
    IncludeLoop {
        /// The revision rendered, then each include as written, the last
        /// naming a version already on the chain.
        chain: Vec<String>,
        /// That version.
        id: VersionId,
    },
    /// Includes nested deeper than the limit.
    #[error("includes nested more than {limit} deep: {}", chain.join(" -> "))]
    IncludeDepth {
        /// The revision rendered, then each include as written.
        chain: Vec<String>,
        /// The limit ([`MAX_DEPTH`](crate::compose::MAX_DEPTH)).
        limit: usize,
    },
    /// Strict rendering was given variables the version neither declares nor uses.
    #[error("unknown variables: {} (the version knows {})", unknown.join(", "), if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    UnknownVariables {
        /// The unknown variables, sorted.
        unknown: Vec<String>,
        /// The variables the version knows.
        known: Vec<String>,
    },
    /// A promotion would make TO need variables its current version did not.
    #[error(
        "promoting {to} to {name}@{label} would require new variables: {} ({})",
        vars.join(", "),
        match from.as_ref() {
            LabelValue::One(id) => format!("its current version {} does not", id.short()),
            LabelValue::Split(split) => format!("none of its current versions {split} does"),
        }
    )]
    NewVariables {
        /// The prompt name.
        name: String,
        /// The label being moved.
        label: String,
        /// The value leaving the label (boxed: it may be a whole split).
        from: Box<LabelValue>,
        /// The value arriving.
        to: Box<LabelValue>,
        /// The newly required variables.
        vars: Vec<String>,
    },
    /// Another process holds the store lock for too long.
    #[error("the store is locked by another promptrel process ({} held for more than {waited_ms} ms)", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited_ms: u64,
    },
    /// `add --dir`: some files cannot become prompts; nothing was written.
    #[error(
        "cannot import {}: {} of its files cannot become prompts, so nothing was imported:\n  {}",
        dir.display(),
        problems.len(),
        problems.join("\n  ")
    )]
    ImportRefused {
        /// The folder given.
        dir: PathBuf,
        /// One line per file: its path relative to `dir` and what is wrong.
        problems: Vec<String>,
    },
    /// A ref holds git merge-conflict markers: the label was moved
    /// differently on two branches, and a person must choose.
    #[error(
        "{name}@{label} has an unresolved git merge conflict in {}: two branches moved it, to {}",
        path.display(),
        sides.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(" and ")
    )]
    MergeConflict {
        /// The ref file.
        path: PathBuf,
        /// The prompt.
        name: String,
        /// The label.
        label: String,
        /// The values in the conflict, in file order.
        sides: Vec<LabelValue>,
    },
    /// A release, or the rollback of one, that cannot be made.
    #[error("{reason}")]
    InvalidRelease {
        /// Why.
        reason: String,
    },
    /// Stored bytes do not match their hash, or a record is damaged.
    #[error("integrity error in {}: {detail}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    /// Build an [`Error::Io`] from an operation name and a path.
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }

    /// Build an [`Error::Corrupt`].
    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            path: path.into(),
            detail: detail.into(),
        }
    }
}
