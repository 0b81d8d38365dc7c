//! The changelog as one stream: records from a prompt's (or every prompt's)
//! logs, merged newest first and read from the ends of the files, so `-n 20`
//! costs the same however long the history is.

use crate::changelog::{Record, Reverse};
use crate::error::Result;
use crate::name::{Label, PromptName};
use crate::refs;
use crate::store::Store;

impl Store {
    /// Changelog records, newest first, streamed from the ends of the logs.
    pub fn log(&self, filter: &LogFilter) -> Result<LogIter> {
        let names = match &filter.name {
            Some(name) => {
                self.require_prompt(name)?;
                if let Some(label) = &filter.label
                    && !self.label_log_path(name, label).exists()
                    && self.label(name, label)?.is_none()
                {
                    return Err(self.unknown_label(name, label)?);
                }
                vec![name.clone()]
            }
            None => self.prompts()?,
        };
        let mut sources = Vec::new();
        for name in &names {
            let labels = match &filter.label {
                Some(label) => vec![label.clone()],
                None => {
                    sources.push(Reverse::open(&self.versions_log_path(name))?);
                    let dir = self.prompt_path("logs", name);
                    let mut labels = refs::labels_in(&dir)?;
                    labels.retain(|l| self.label_log_path(name, l).is_file());
                    labels
                }
            };
            for label in labels {
                sources.push(Reverse::open(&self.label_log_path(name, &label))?);
            }
        }
        LogIter::new(sources)
    }
}

/// Which records [`Store::log`] returns.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only this prompt.
    pub name: Option<PromptName>,
    /// Only moves of this label.
    pub label: Option<Label>,
}

/// Records from several newest-first logs, merged newest first.
pub struct LogIter {
    sources: Vec<Reverse>,
    heads: Vec<Option<Record>>,
}

impl LogIter {
    fn new(mut sources: Vec<Reverse>) -> Result<LogIter> {
        let heads = sources
            .iter_mut()
            .map(|s| s.next_record())
            .collect::<Result<_>>()?;
        Ok(LogIter { sources, heads })
    }

    fn next_record(&mut self) -> Result<Option<Record>> {
        // Ties (one command moving a label as it adds) go to the later
        // source, so a label move lists above the add that caused it.
        let best = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|r| (r.time, i)))
            .max();
        let Some((_, i)) = best else { return Ok(None) };
        let next = self.sources[i].next_record()?;
        Ok(std::mem::replace(&mut self.heads[i], next))
    }
}

impl Iterator for LogIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        self.next_record().transpose()
    }
}
