//! Finding the prompts of a store, and the shard folders of their logs,
//! without listing a prompt's folder in `logs/` when that can be avoided.
//!
//! A prompt's folder holds a shard folder per 256 records of each of its
//! logs (1 173 of them at 100 000 versions with two labels), so listing it
//! costs more than everything else `log -n 20` does. Every other entry of a
//! prompt's folder is a namespace folder of another prompt (`support` and
//! `support/refund-bot`), and those are rare. So for a folder that holds a
//! `+versions~000000` shard folder (a prompt), the logs are probed by name —
//! `+versions`, and a label log for each ref in the small `refs/<name>/`
//! folder — and the folder is listed only when its link count says it
//! holds folders the probes did not find. On Unix a folder's link count is
//! 2 plus its number of sub-folders (ext4, xfs, tmpfs, apfs…); where it is
//! not (btrfs, or a platform without it), the counts never match and the
//! folder is listed, as `find` does without its leaf optimization.

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

impl Store {
    /// Every prompt (sorted by name) with the shards of its logs.
    pub(crate) fn find_prompts(&self) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        self.discover_in(&self.dir().join("logs"), &mut Vec::new(), &mut found)?;
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
    fn discover_in(&self, dir: &Path, parts: &mut Vec<String>, out: &mut Vec<Found>) -> Result<()> {
        if !parts.is_empty() {
            let probe = Log::new(dir.to_path_buf(), VERSIONS_LOG.to_string());
            if probe.shard(0).dir.is_dir() {
                let name = PromptName::new(&parts.join("/"))
                    .map_err(|_| Error::corrupt(dir, "folder is not a valid prompt name"))?;
                let prompt = self.probe_logs(name)?;
                let known_folders = prompt.logs.iter().map(|(_, shards)| shards).sum();
                out.push(prompt);
                if only_these_folders(dir, known_folders) {
                    return Ok(());
                }
            }
        }
        for sub in subfolders(dir)? {
            parts.push(sub);
            self.discover_in(&dir.join(parts.last().expect("just pushed")), parts, out)?;
            parts.pop();
        }
        Ok(())
    }

    /// The logs of `name`, found by probing: `+versions`, and one per label
    /// with a ref. Labels' logs usually have about as many shards as each
    /// other, so each probe starts where the previous log ended.
    fn probe_logs(&self, name: PromptName) -> Result<Found> {
        let labels = refs::labels_in(&self.prompt_path("refs", &name))?;
        let mut logs = Vec::with_capacity(1 + labels.len());
        let versions = self.versions_log(&name);
        let shards = versions.shard_count()?;
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

/// Whether `dir` holds exactly `known` folders (and maybe files), by its
/// link count; `false` when that cannot be told.
fn only_these_folders(dir: &Path, known: u64) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(dir).is_ok_and(|m| m.nlink() == known + 2)
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, known);
        false
    }
}

/// The folders in `dir` that may hold prompts: not shard folders, not
/// hidden. A missing folder has none.
fn subfolders(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io("listing", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || changelog::parse_shard_name(name).is_some() {
            continue;
        }
        if entry
            .file_type()
            .map_err(Error::io("listing", dir))?
            .is_dir()
        {
            out.push(name.to_string());
        }
    }
    Ok(out)
}
