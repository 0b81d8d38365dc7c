//! Resolving a revision (`NAME`, `NAME~N`, `NAME@LABEL`, `NAME@LABEL~N`,
//! `NAME@PREFIX`) to a version id, reading only what that form needs; and,
//! for a label that is split, choosing one of its versions for a key.

use crate::changelog::{Record, Reverse};
use crate::error::{Error, Result};
use crate::id::{MIN_PREFIX, VersionId};
use crate::name::{Label, PromptName};
use crate::rev::{Rev, Spec};
use crate::split::{LabelValue, Served, Split};
use crate::store::Store;

impl Store {
    /// Resolve a revision to one version id (the object is not read).
    ///
    /// A label that is split between several versions (now, or at `~N`) is
    /// [`Error::SplitLabel`]: use [`Store::resolve_keyed`] to pick one of
    /// them, or [`Store::resolve_value`] to see the split.
    pub fn resolve(&self, rev: &Rev) -> Result<VersionId> {
        match self.resolve_value(rev)? {
            LabelValue::One(id) => Ok(id),
            LabelValue::Split(split) => Err(Error::SplitLabel {
                rev: rev.to_string(),
                name: rev.name.to_string(),
                split,
            }),
        }
    }

    /// Resolve a revision to the version it serves to `key`: for a split
    /// label, the share chosen by the key's bucket (FORMAT.md §5.1), so
    /// the same key always gets the same version; without a key, a share
    /// drawn at random by weight. Any other revision serves its one
    /// version, whatever the key.
    pub fn resolve_keyed(&self, rev: &Rev, key: Option<&str>) -> Result<Served> {
        match self.resolve_value(rev)? {
            LabelValue::One(id) => Ok(Served {
                id,
                split: None,
                bucket: None,
            }),
            LabelValue::Split(split) => {
                let Spec::LabelOrPrefix(text) = &rev.spec else {
                    unreachable!("only labels hold splits")
                };
                let label = Label::new(text)?;
                let bucket = match key {
                    Some(key) => Split::bucket(&rev.name, &label, key),
                    None => Split::random_bucket(),
                };
                Ok(Served {
                    id: split.pick(bucket).version.clone(),
                    split: Some(split),
                    bucket: Some(bucket),
                })
            }
        }
    }

    /// Resolve a revision to what it names: one version, or (for a label,
    /// now or `~N` changes ago) possibly a split.
    pub fn resolve_value(&self, rev: &Rev) -> Result<LabelValue> {
        let name = &rev.name;
        match &rev.spec {
            Spec::Newest => {
                self.require_prompt(name)?;
                // The newest version is the last `add`; N back is N records earlier.
                let adds = self.versions_log(name).reverse()?;
                nth_back(adds, rev, rev.back, |r| Some(LabelValue::One(r.to)))
            }
            Spec::LabelOrPrefix(text) => {
                let label = Label::new(text)?;
                if let Some(current) = self.label(name, &label)? {
                    if rev.back == 0 {
                        return Ok(current);
                    }
                    // The value N changes ago is what the N-th newest move came from.
                    let moves = self.label_log(name, &label).reverse()?;
                    return nth_back(moves, rev, rev.back - 1, |r| r.from_value());
                }
                if text.len() >= MIN_PREFIX && crate::id::is_lower_hex(text) && rev.back == 0 {
                    return self.resolve_prefix(name, text).map(LabelValue::One);
                }
                self.require_prompt(name)?;
                let labels: Vec<String> = self
                    .labels(name)?
                    .into_iter()
                    .map(|(l, _)| l.as_str().to_string())
                    .collect();
                Err(Error::UnknownLabel {
                    name: name.to_string(),
                    label: text.clone(),
                    suggestions: similar_to(text, labels),
                })
            }
            Spec::Prefix(prefix) => self.resolve_prefix(name, prefix).map(LabelValue::One),
        }
    }

    pub(crate) fn require_prompt(&self, name: &PromptName) -> Result<()> {
        if self.has_prompt(name) {
            return Ok(());
        }
        let names = self.prompts()?.into_iter().map(|n| n.to_string()).collect();
        Err(Error::UnknownPrompt {
            name: name.to_string(),
            suggestions: similar_to(name.as_str(), names),
        })
    }

    fn resolve_prefix(&self, name: &PromptName, prefix: &str) -> Result<VersionId> {
        self.require_prompt(name)?;
        let mut candidates: Vec<VersionId> = self
            .versions(name)?
            .into_iter()
            .map(|r| r.to)
            .filter(|id| id.as_str().starts_with(prefix))
            .collect();
        candidates.sort();
        candidates.dedup();
        match candidates.len() {
            0 => Err(Error::UnknownVersion {
                name: name.to_string(),
                prefix: prefix.to_string(),
            }),
            1 => Ok(candidates.remove(0)),
            _ => Err(Error::AmbiguousVersion {
                name: name.to_string(),
                prefix: prefix.to_string(),
                candidates,
            }),
        }
    }

    pub(crate) fn unknown_label(&self, name: &PromptName, label: &Label) -> Result<Error> {
        let labels = self
            .labels(name)?
            .into_iter()
            .map(|(l, _)| l.to_string())
            .collect();
        Ok(Error::UnknownLabel {
            name: name.to_string(),
            label: label.to_string(),
            suggestions: similar_to(label.as_str(), labels),
        })
    }
}

impl Store {
    /// The labels of any prompt whose names are close to `label` (a
    /// misspelling of one, most likely), closest first; `label` itself is
    /// left out.
    pub fn labels_like(&self, label: &str) -> Result<Vec<String>> {
        let mut labels = std::collections::BTreeSet::new();
        for name in self.prompts()? {
            labels.extend(
                crate::refs::labels_in(&self.refs_dir(&name))?
                    .into_iter()
                    .map(|l| l.to_string())
                    .filter(|l| l != label),
            );
        }
        Ok(similar_to(label, labels.into_iter().collect()))
    }

    /// The error for a label that no prompt has, suggesting labels close to it.
    pub(crate) fn label_nowhere(&self, label: &Label) -> Result<Error> {
        Ok(Error::NoPromptHasLabel {
            label: label.to_string(),
            suggestions: self.labels_like(label.as_str())?,
        })
    }
}

/// Skip `skip` records of a newest-first log and return `pick` of the next;
/// an error saying how far back the history goes when it is too short.
fn nth_back(
    records: Reverse,
    rev: &Rev,
    skip: usize,
    pick: impl Fn(Record) -> Option<LabelValue>,
) -> Result<LabelValue> {
    let mut usable = 0usize;
    for (i, record) in records.enumerate() {
        match (i == skip, pick(record?)) {
            (true, Some(id)) => return Ok(id),
            (true, None) => break,
            (false, Some(_)) => usable += 1,
            (false, None) => {}
        }
    }
    // For `NAME~N` the newest version itself is step 0, not a step back.
    let available = match rev.spec {
        Spec::Newest => usable.saturating_sub(1),
        _ => usable,
    };
    Err(Error::HistoryTooShort {
        rev: rev.to_string(),
        steps: rev.back,
        available,
    })
}

/// Names close to `wanted`, closest first (ties in `candidates`' order). A
/// name without a namespace is also compared with the last part of each
/// candidate: `refund-bot` finds `support/refund-bot`.
fn similar_to(wanted: &str, candidates: Vec<String>) -> Vec<String> {
    let score = |c: &str| {
        let whole = strsim::jaro_winkler(wanted, c);
        match c.rsplit_once('/') {
            Some((_, last)) if !wanted.contains('/') => {
                whole.max(strsim::jaro_winkler(wanted, last))
            }
            _ => whole,
        }
    };
    let mut scored: Vec<(f64, String)> = candidates
        .into_iter()
        .map(|c| (score(&c), c))
        .filter(|(score, _)| *score > 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, c)| c).collect()
}
