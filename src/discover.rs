//! Finding the prompts of a store, and the shard folders of their logs,
//! without listing a prompt's folder in `logs/` when that can be avoided.
//!
//! A prompt's folder holds a shard folder per 256 records of each of its
//! logs (1 173 of them at 100 000 versions with two labels), so listing it
//! costs more than everything else `log -n 20` does. Every other entry of a
//! prompt's folder is a namespace folder of another prompt (`support` and
//! `support/refund-bot`), and those are rare. A folder's link count is 2
//! plus its number of sub-folders on the usual Unix file systems (ext4, xfs,
//! tmpfs…), so one `stat` tells a small folder, which is listed (the listing
//! gives every log's shards at once), from a large one. A large folder that
//! holds a `+versions~000000` shard folder is a prompt: its logs are probed
//! by name (`+versions`, and a label log per file in the small
//! `refs/<name>/` folder), and the folder is listed only when its link count
//! says it holds folders the probes did not find. Where the link count means
//! something else (btrfs counts 1) or cannot be read, folders are listed, as
//! `find` does without its leaf optimization.

use std::collections::HashMap;
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
    /// empty `+versions~000000`: not a prompt). A second shard exists only
    /// once the first is full, so only a first shard alone is listed.
    fn has_record(&self) -> Result<bool> {
        match self.logs.first() {
            Some((log, 1)) => Ok(!log.shard(0).list()?.records.is_empty()),
            Some((_, shards)) => Ok(*shards > 1),
            None => Ok(false),
        }
    }
}

/// A walk of `logs/` in progress.
struct Walk<'a> {
    /// Whether label logs are wanted.
    labels: bool,
    /// The folders from `logs/` to the current one.
    parts: Vec<String>,
    out: &'a mut Vec<Found>,
}

impl Store {
    /// Every prompt (sorted by name) with the shards of its logs; with
    /// `labels` false, only of its `+versions` (when only names are wanted).
    pub(crate) fn find_prompts(&self, labels: bool) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        let mut walk = Walk {
            labels,
            parts: Vec::new(),
            out: &mut found,
        };
        self.discover_in(&self.dir().join("logs"), &mut walk)?;
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(found.len());
        for prompt in found {
            if prompt.has_record()? {
                out.push(prompt);
            }
        }
        Ok(out)
    }

    /// The prompts in `dir` (`logs/` followed by `parts`) and below.
    fn discover_in(&self, dir: &Path, walk: &mut Walk) -> Result<()> {
        let name = |parts: &[String]| {
            PromptName::new(&parts.join("/"))
                .map_err(|_| Error::corrupt(dir, "folder is not a valid prompt name"))
        };
        let mut listed_prompt = false;
        if !walk.parts.is_empty()
            && let Some(links) = folder_links(dir)
            && links > 2 + LIST_AT_MOST
            && Log::new(dir.to_path_buf(), VERSIONS_LOG.to_string())
                .shard(0)
                .dir
                .is_dir()
        {
            let prompt = self.probe_logs(name(&walk.parts)?, Some(links))?;
            let known: u64 = prompt.logs.iter().map(|(_, shards)| shards).sum();
            walk.out.push(prompt);
            if links == known + 2 {
                return Ok(());
            }
            listed_prompt = true;
        }
        let listing = Listing::of(dir)?;
        if !walk.parts.is_empty()
            && !listed_prompt
            && let Some(&versions) = listing.shards.get(VERSIONS_LOG)
        {
            let name = name(&walk.parts)?;
            let mut logs = vec![(self.versions_log(&name), versions)];
            if walk.labels {
                for label in refs::labels_in(&self.prompt_path("refs", &name))? {
                    let shards = listing.shards.get(&label.file_name()).copied();
                    logs.push((self.label_log(&name, &label), shards.unwrap_or(0)));
                }
            }
            walk.out.push(Found { name, logs });
        }
        for sub in listing.subfolders {
            walk.parts.push(sub);
            let dir = dir.join(walk.parts.last().expect("just pushed"));
            self.discover_in(&dir, walk)?;
            walk.parts.pop();
        }
        Ok(())
    }

    /// The logs of `name`, found by probing: `+versions`, and one per label
    /// with a ref. A prompt's logs usually have about as many shards as
    /// each other, so the first probe starts from the prompt folder's link
    /// count (`links`: 2 + its sub-folders, when known) shared among them,
    /// and each next one where the previous log ended.
    pub(crate) fn probe_logs(&self, name: PromptName, links: Option<u64>) -> Result<Found> {
        let labels = refs::labels_in(&self.prompt_path("refs", &name))?;
        let mut logs = Vec::with_capacity(1 + labels.len());
        let versions = self.versions_log(&name);
        let links = links.or_else(|| folder_links(&self.prompt_path("logs", &name)));
        let share = links.map_or(0, |l| l.saturating_sub(2) / (1 + labels.len() as u64));
        let shards = versions.shard_count_near(share)?;
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

/// A prompt's folder with more sub-folders than this is probed rather than
/// listed (each log's shards are about 2 log2(shards) `stat`s; a listing
/// costs about one `stat` per ten entries, and more once ext4 indexes the
/// folder).
const LIST_AT_MOST: u64 = 32;

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
    /// Shard folders: per log stem, the highest number + 1.
    shards: HashMap<String, u64>,
    /// Folders that may hold prompts: not shard folders, not hidden.
    subfolders: Vec<String>,
}

impl Listing {
    /// List `dir` (a missing folder holds nothing).
    fn of(dir: &Path) -> Result<Listing> {
        let mut listing = Listing {
            shards: HashMap::new(),
            subfolders: Vec::new(),
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
            if let Some((stem, number)) = changelog::parse_shard_name(name) {
                let count = listing.shards.entry(stem.to_string()).or_default();
                *count = (*count).max(number + 1);
            } else if entry
                .file_type()
                .map_err(Error::io("listing", dir))?
                .is_dir()
            {
                listing.subfolders.push(name.to_string());
            }
        }
        Ok(listing)
    }
}
