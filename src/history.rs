//! The changelog as one stream: records from a prompt's (or every prompt's)
//! logs, merged newest first and read from the ends of the files, so `-n 20`
//! costs the same however long the history is.

use crate::changelog::{Ahead, Record, Reverse};
use crate::error::Result;
use crate::name::{Label, PromptName};
use crate::refs;
use crate::release::{Release, ReleaseRecord};
use crate::store::Store;

impl Store {
    /// Changelog records, newest first, streamed from the ends of the logs.
    pub fn log(&self, filter: &LogFilter) -> Result<LogIter> {
        let mut sources = Vec::new();
        match &filter.name {
            Some(name) => {
                self.require_prompt(name)?;
                if let Some(label) = &filter.label {
                    let log = self.label_log(name, label);
                    if !log.exists()? && self.label_value(name, label)? == refs::RefValue::Missing {
                        return Err(self.unknown_label(name, label)?);
                    }
                    let shards = log.shard_count()?;
                    sources.push(Reverse::of_log(log, shards));
                    return LogIter::new(sources);
                }
                // `+versions`, then label logs sorted by label (FORMAT.md
                // §6.4), found as store-wide discovery finds them (a label
                // log without a ref is a move interrupted before its first
                // ref: fsck reports it).
                let found = self.probe_logs(name.clone(), true)?;
                sources.extend(
                    found
                        .logs
                        .into_iter()
                        .map(|(log, s)| Reverse::of_log(log, s)),
                );
            }
            // Every prompt, with the shards its discovery found.
            None => {
                for prompt in self.find_prompts(true)? {
                    match &filter.label {
                        None => sources.extend(
                            prompt
                                .logs
                                .into_iter()
                                .map(|(log, s)| Reverse::of_log(log, s)),
                        ),
                        Some(label) => {
                            let stem = label.file_name();
                            let log = match prompt.logs.into_iter().find(|(l, _)| l.stem() == stem)
                            {
                                Some(found) => found,
                                // No ref: a move interrupted before its first ref.
                                None => {
                                    let log = self.label_log(&prompt.name, label);
                                    let shards = log.shard_count()?;
                                    (log, shards)
                                }
                            };
                            sources.push(Reverse::of_log(log.0, log.1));
                        }
                    }
                }
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
    sources: Vec<Source>,
    /// Each source's next record, once the first is asked for.
    heads: Option<Vec<Option<Record>>>,
}

/// One log of the merge, read here or on a thread of its own.
enum Source {
    Here(Reverse),
    Ahead(Ahead),
}

impl Source {
    fn next_record(&mut self) -> Result<Option<Record>> {
        match self {
            Source::Here(log) => log.next_record(),
            Source::Ahead(log) => log.next_record(),
        }
    }
}

/// At most this many logs are read ahead, each on its own thread.
const MAX_AHEAD: usize = 8;

impl LogIter {
    fn new(sources: Vec<Reverse>) -> Result<LogIter> {
        Ok(LogIter {
            sources: sources.into_iter().map(Source::Here).collect(),
            heads: None,
        })
    }

    /// Read each log on a thread of its own (when there are few), ahead of
    /// the caller: for reading all or most of a long history, where parsing
    /// records on the other cores pays for the threads. Call it before the
    /// first record is taken.
    pub fn read_ahead(mut self) -> LogIter {
        if self.heads.is_none() && self.sources.len() <= MAX_AHEAD {
            self.sources = self
                .sources
                .into_iter()
                .map(|source| match source {
                    Source::Here(log) => Source::Ahead(Ahead::start(log)),
                    ahead => ahead,
                })
                .collect();
        }
        self
    }

    fn next_record(&mut self) -> Result<Option<Record>> {
        let heads = match &mut self.heads {
            Some(heads) => heads,
            None => {
                let heads = self
                    .sources
                    .iter_mut()
                    .map(|s| s.next_record())
                    .collect::<Result<_>>()?;
                self.heads.insert(heads)
            }
        };
        // Ties (one command moving a label as it adds) go to the later
        // source, so a label move lists above the add that caused it.
        let best = heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|r| (r.time, i)))
            .max();
        let Some((_, i)) = best else { return Ok(None) };
        let next = self.sources[i].next_record()?;
        Ok(std::mem::replace(&mut heads[i], next))
    }
}

impl Iterator for LogIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        self.next_record().transpose()
    }
}

/// One entry of [`Store::timeline`].
#[derive(Debug, Clone)]
pub enum Event {
    /// A version added or a label moved.
    Record(Record),
    /// A release (or the rollback of one), with its moves.
    Release(Release),
}

impl Store {
    /// The changelog as `promptrel log` shows it, newest first: with no
    /// prompt or label filter, each release is one entry and its label
    /// records are left out (the release lists its moves); with a filter,
    /// the label records are shown (each names its release).
    pub fn timeline(&self, filter: &LogFilter) -> Result<Timeline> {
        let global = filter.name.is_none() && filter.label.is_none();
        let mut releases = if global {
            Some(self.releases_log().reverse_as::<ReleaseRecord>()?)
        } else {
            None
        };
        let next_release = match &mut releases {
            Some(r) => r.next_entry()?.map(Release::from_entry),
            None => None,
        };
        Ok(Timeline {
            records: self.log(filter)?,
            releases,
            global,
            next_record: None,
            next_release,
        })
    }
}

/// Iterator of [`Store::timeline`].
pub struct Timeline {
    records: LogIter,
    releases: Option<Reverse<ReleaseRecord>>,
    global: bool,
    next_record: Option<Record>,
    next_release: Option<Release>,
}

impl Timeline {
    /// [`LogIter::read_ahead`] for the records of the timeline.
    pub fn read_ahead(mut self) -> Timeline {
        self.records = self.records.read_ahead();
        self
    }

    fn next_event(&mut self) -> Result<Option<Event>> {
        while self.next_record.is_none() {
            match self.records.next_record()? {
                Some(r) if self.global && r.release.is_some() => continue,
                other => {
                    self.next_record = other;
                    break;
                }
            }
        }
        let release_first = match (&self.next_record, &self.next_release) {
            (_, None) => false,
            (None, Some(_)) => true,
            // Ties: the release lists above records of the same instant.
            (Some(r), Some(rel)) => rel.record.time >= r.time,
        };
        if release_first {
            let next = match &mut self.releases {
                Some(r) => r.next_entry()?.map(Release::from_entry),
                None => None,
            };
            return Ok(std::mem::replace(&mut self.next_release, next).map(Event::Release));
        }
        Ok(self.next_record.take().map(Event::Record))
    }
}

impl Iterator for Timeline {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        self.next_event().transpose()
    }
}
