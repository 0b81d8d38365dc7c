//! Finding the prompts of a store, and the shard folders of their logs.
//!
//! Every log has a folder of its own in the folder of its prompt's
//! namespace (`logs/support/refund-bot@prod/`, FORMAT.md §2), so one
//! listing of a namespace folder names every prompt in it and each of their
//! logs, however long their histories are; its other folders are
//! namespaces. A log's shards are folders inside its folder, numbered with
//! no gap, so their count is found by probing (two `stat`s when the guess
//! is right), guessed from the folder's link count (2 + its sub-folders on
//! the usual Unix file systems: ext4, xfs, tmpfs…; where it means something
//! else, btrfs counts 1, the probes just take longer).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::changelog::{self, Log};
use crate::error::{Error, Result};
use crate::name::PromptName;
use crate::refs;
use crate::store::{Store, VERSIONS_LOG};

/// A prompt found in `logs/`, with the shard folders of its logs.
#[derive(Debug)]
pub(crate) struct Found {
    pub name: PromptName,
    /// `+versions`, then a log per label that has a ref, sorted by label.
    pub logs: Vec<(Log, u64)>,
}

impl Found {
    /// Whether it has a record (a crash before the first record leaves an
    /// empty `+versions` folder: not a prompt). A second shard exists only
    /// once the first is full, so only a first shard alone is listed.
    fn has_record(&self) -> Result<bool> {
        match self.logs.first() {
            Some((log, 1)) => Ok(!log.shard(0).list()?.records.is_empty()),
            Some((_, shards)) => Ok(*shards > 1),
            None => Ok(false),
        }
    }
}

impl Store {
    /// Every prompt (sorted by name) with the shards of its logs; with
    /// `labels` false, only of its `+versions` (when only names are wanted).
    pub(crate) fn find_prompts(&self, labels: bool) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        self.discover_in(
            &self.dir().join("logs"),
            &mut Vec::new(),
            labels,
            &mut found,
        )?;
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(found.len());
        for prompt in found {
            if prompt.has_record()? {
                out.push(prompt);
            }
        }
        Ok(out)
    }

    /// The prompts in `dir` (`logs/` followed by the namespace `parts`) and below.
    fn discover_in(
        &self,
        dir: &Path,
        parts: &mut Vec<String>,
        labels: bool,
        out: &mut Vec<Found>,
    ) -> Result<()> {
        let listing = Listing::of(dir)?;
        for part in listing.prompts {
            parts.push(part);
            let name = PromptName::new(&parts.join("/")).map_err(|_| {
                Error::corrupt(
                    dir.join(format!("{}{VERSIONS_LOG}", parts[parts.len() - 1])),
                    "folder is not a valid prompt's log",
                )
            });
            parts.pop();
            out.push(self.probe_logs(name?, labels)?);
        }
        for sub in listing.namespaces {
            let dir = dir.join(&sub);
            parts.push(sub);
            self.discover_in(&dir, parts, labels, out)?;
            parts.pop();
        }
        Ok(())
    }

    /// The logs of `name`, found by probing: `+versions`, and (with
    /// `labels`) one per label with a ref. The first probe starts from the
    /// `+versions` folder's link count; a prompt's logs usually have about
    /// as many shards as each other, so each next one starts where the
    /// previous log ended.
    pub(crate) fn probe_logs(&self, name: PromptName, labels: bool) -> Result<Found> {
        let labels = match labels {
            true => refs::labels_in(&self.refs_dir(&name))?,
            false => Vec::new(),
        };
        let mut logs = Vec::with_capacity(1 + labels.len());
        let versions = self.versions_log(&name);
        let links = folder_links(versions.dir());
        let shards = versions.shard_count_near(links.map_or(1, |l| l.saturating_sub(1)))?;
        let mut hint = shards;
        logs.push((versions, shards));
        for label in &labels {
            let log = self.label_log(&name, label);
            let shards = log.shard_count_near(hint)?;
            hint = shards;
            logs.push((log, shards));
        }
        Ok(Found { name, logs })
    }
}

/// The link count of folder `dir`: 2 + its sub-folders where the file
/// system keeps that (`None` where it cannot be read).
fn folder_links(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(dir).ok().map(|m| m.nlink())
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// What one listing of a folder of `logs/` says.
struct Listing {
    /// The last name part of each prompt with a `+versions` folder here.
    prompts: Vec<String>,
    /// Folders that may hold prompts: not log folders, not hidden.
    namespaces: Vec<String>,
}

impl Listing {
    /// List `dir` (a missing folder holds nothing).
    fn of(dir: &Path) -> Result<Listing> {
        let mut listing = Listing {
            prompts: Vec::new(),
            namespaces: Vec::new(),
        };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(Error::io("listing", dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(Error::io("listing", dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') {
                continue;
            }
            match changelog::parse_log_name(name) {
                Some((part, VERSIONS_LOG)) => listing.prompts.push(part.to_string()),
                Some(_) => {}
                None if entry
                    .file_type()
                    .map_err(Error::io("listing", dir))?
                    .is_dir() =>
                {
                    listing.namespaces.push(name.to_string());
                }
                None => {}
            }
        }
        Ok(listing)
    }
}
