//! `promptrel upgrade`: convert a store of format 2 to format 3 in place
//! (FORMAT.md §1).
//!
//! Format 3 moved only the changelog's folders. Format 2 kept a folder per
//! prompt in `logs/`, holding a folder per shard of each of its logs
//! (`logs/support/@prod~000000/`, `logs/support/@prod~000001/`); format 3
//! gives each log one folder, named like the revision, which is its first
//! shard and holds the others (`logs/support@prod/`,
//! `logs/support@prod/~000001/`). The release log likewise
//! (`releases/+releases~000000/` becomes `releases/+releases/`). Record
//! files and packs keep their names and bytes.
//!
//! The conversion renames folders, under the lock, each rename durable
//! before the next folder, and writes `format: 3` last. A crash leaves a
//! store that still says format 2 (refused by every other command) with
//! some folders moved; running `upgrade` again moves the rest, since a
//! moved folder no longer has a format-2 name.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, FORMAT_VERSION};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::fsutil;
use crate::lock::{self, StoreLock};

/// The format `upgrade` converts from.
pub const UPGRADES_FROM: u32 = 2;

/// What [`upgrade`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upgraded {
    /// The store already had this build's format: nothing changed.
    AlreadyCurrent,
    /// The store was converted.
    Converted {
        /// Its format before.
        from: u32,
        /// Shard folders moved.
        shards: usize,
    },
    /// The store had this build's format, and format-2 shard folders (a
    /// git branch of format 2 merged into it): they were moved into place.
    Merged {
        /// Shard folders moved or merged.
        shards: usize,
    },
}

/// Convert the store folder `dir` (the `.promptrel` folder) from format 2
/// to this build's format, waiting up to `lock_timeout` (default 10 s) for
/// the lock; on a store of this format, move in the format-2 folders a git
/// merge brought ([`Upgraded::Merged`]).
pub fn upgrade(dir: &Path, lock_timeout: Option<Duration>) -> Result<Upgraded> {
    let config = dir.join("config.yaml");
    if !dir.is_dir() || !config.is_file() {
        return Err(Error::NotAStore {
            path: dir.to_path_buf(),
            reason: "no config.yaml".into(),
        });
    }
    let known = |from: u32| match from {
        FORMAT_VERSION | UPGRADES_FROM => Ok(from),
        _ => Err(Error::UnsupportedFormat {
            path: config.clone(),
            found: from,
            supported: FORMAT_VERSION,
        }),
    };
    known(format_of(&config)?)?;
    let timeout = lock_timeout.unwrap_or(lock::DEFAULT_TIMEOUT);
    let _lock = StoreLock::acquire(&dir.join("lock"), timeout)?;
    // Read again under the lock: another `upgrade` may have finished.
    // A store of this format may still hold format-2 folders, which a git
    // merge of a branch of format 2 brought in: they are moved all the same.
    let from = known(format_of(&config)?)?;
    let mut shards = 0;
    let logs = dir.join("logs");
    if logs.is_dir() {
        shards += convert_tree(&logs, true)?;
    }
    let releases = dir.join("releases");
    if releases.is_dir() {
        shards += convert_folder(&releases, &|stem| releases.join(stem))?;
    }
    if from == FORMAT_VERSION {
        return Ok(match shards {
            0 => Upgraded::AlreadyCurrent,
            shards => Upgraded::Merged { shards },
        });
    }
    // Last: the store says format 3 only once every folder is in place.
    let text = fs::read_to_string(&config).map_err(Error::io("reading", &config))?;
    fsutil::write_atomic(&config, with_format(&text, FORMAT_VERSION).as_bytes())?;
    Config::load(&config)?;
    Ok(Upgraded::Converted { from, shards })
}

/// The `format` of a config file, whatever else it says.
fn format_of(config: &Path) -> Result<u32> {
    match Config::load(config) {
        Ok(c) => Ok(c.format),
        Err(Error::UnsupportedFormat { found, .. }) => Ok(found),
        Err(e) => Err(e),
    }
}

/// `text` with its top-level `format:` line saying `format` (comments and
/// every other line kept).
fn with_format(text: &str, format: u32) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let end = &line[line.trim_end().len()..];
        match line.strip_prefix("format:") {
            Some(_) => out.push_str(&format!("format: {format}{end}")),
            None => out.push_str(line),
        }
    }
    out
}

/// A format-2 shard folder's name: `<stem>~NNNNNN`, stem `+…` or `@…`.
fn old_shard_name(name: &str) -> Option<(&str, u64)> {
    let (stem, number) = name.rsplit_once('~')?;
    let ok = stem.len() >= 2
        && stem.starts_with(['+', '@'])
        && !stem[1..].contains(['+', '@', '~'])
        && number.len() == 6
        && number.bytes().all(|b| b.is_ascii_digit());
    Some((stem, number.parse().ok().filter(|_| ok)?))
}

/// Convert every prompt folder in `dir` (a folder of `logs/`) and below,
/// deepest first; `root` for `logs/` itself, which holds no shards.
fn convert_tree(dir: &Path, root: bool) -> Result<usize> {
    let mut shards = 0;
    for name in sorted_folders(dir)? {
        if old_shard_name(&name).is_none() && !name.contains(['+', '@']) {
            shards += convert_tree(&dir.join(&name), false)?;
        }
    }
    if !root {
        let parent = dir.parent().expect("below logs/");
        let part = dir
            .file_name()
            .expect("below logs/")
            .to_string_lossy()
            .into_owned();
        let moved = convert_folder(dir, &|stem| parent.join(format!("{part}{stem}")))?;
        if moved > 0 {
            fsutil::sync_dir(parent)?;
        }
        // A prompt's folder is left empty unless it is also a namespace
        // (or an interrupted upgrade emptied it).
        if fs::read_dir(dir)
            .map_err(Error::io("listing", dir))?
            .next()
            .is_none()
        {
            fsutil::remove_dir(dir)?;
        }
        shards += moved;
    }
    Ok(shards)
}

/// Move the format-2 shard folders of `dir` to their log's folder,
/// `log_dir(stem)`: shard 0 becomes that folder, shard k its `~NNNNNN`.
/// Where the target exists already (a git merge brought both layouts), the
/// shard's files are moved into it instead.
fn convert_folder(dir: &Path, log_dir: &dyn Fn(&str) -> PathBuf) -> Result<usize> {
    let mut moved = 0;
    // Sorted: a log's shard 0 comes before its others.
    for name in sorted_folders(dir)? {
        let Some((stem, number)) = old_shard_name(&name) else {
            continue;
        };
        let from = dir.join(&name);
        let log = log_dir(stem);
        let to = match number {
            0 => log.clone(),
            _ => {
                // A log whose shard 0 was missing still gets its folder.
                fsutil::create_dir_all(&log)?;
                log.join(format!("~{number:06}"))
            }
        };
        match fs::symlink_metadata(&to) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::rename(&from, &to).map_err(Error::io("moving", &from))?;
                fsutil::sync_dir(to.parent().expect("inside the store"))?;
            }
            Ok(meta) if meta.is_dir() => merge_into(&from, &to)?,
            Ok(_) => {
                return Err(Error::corrupt(
                    &to,
                    "not a folder: a log's folder was expected here",
                ));
            }
            Err(e) => return Err(Error::io("reading", &to)(e)),
        }
        failpoint::step("upgrade: shard folder moved").map_err(Error::io("moving", &from))?;
        moved += 1;
    }
    if moved > 0 {
        fsutil::sync_dir(dir)?;
    }
    Ok(moved)
}

/// Move the record files and packs of the format-2 shard folder `from`
/// into the format-3 one `to`, which exists. A file both hold is the same
/// record (its name is its `seq` and the hash of its line; a pack's, the
/// hash of its records' names), so `from`'s copy is dropped once its bytes
/// are checked. Other entries (temp files of a crash) stay, and so does
/// `from` then.
fn merge_into(from: &Path, to: &Path) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    for entry in fs::read_dir(from).map_err(Error::io("listing", from))? {
        let entry = entry.map_err(Error::io("listing", from))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if crate::changelog::parse_record_name(&name).is_some() {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let (old, new) = (from.join(&name), to.join(&name));
        match fs::read(&new) {
            Ok(there) => {
                let here = fs::read(&old).map_err(Error::io("reading", &old))?;
                if here != there {
                    return Err(Error::corrupt(
                        &old,
                        format!("differs from {}, which has its name", new.display()),
                    ));
                }
                fs::remove_file(&old).map_err(Error::io("removing", &old))?;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::rename(&old, &new).map_err(Error::io("moving", &old))?;
            }
            Err(e) => return Err(Error::io("reading", &new)(e)),
        }
    }
    fsutil::sync_dir(to)?;
    fsutil::sync_dir(from)?;
    match fs::remove_dir(from) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::DirectoryNotEmpty => Ok(()),
        Err(e) => Err(Error::io("removing folder", from)(e)),
    }
}

/// The names of the folders in `dir`, sorted (hidden ones left out).
fn sorted_folders(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io("listing", dir))? {
        let entry = entry.map_err(Error::io("listing", dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.')
            && entry
                .file_type()
                .map_err(Error::io("listing", dir))?
                .is_dir()
        {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_lines_are_rewritten_and_nothing_else() {
        let text = "# comment\nformat: 2\nprotected_labels: [prod]\n";
        assert_eq!(
            with_format(text, 3),
            "# comment\nformat: 3\nprotected_labels: [prod]\n"
        );
        assert_eq!(with_format("format: 2", 3), "format: 3");
        assert_eq!(with_format("format: 2\r\n", 3), "format: 3\r\n");
    }

    #[test]
    fn old_shard_names() {
        assert_eq!(old_shard_name("@prod~000001"), Some(("@prod", 1)));
        assert_eq!(old_shard_name("+versions~000000"), Some(("+versions", 0)));
        for other in [
            "prod~000001",
            "@prod",
            "~000001",
            "bot@prod",
            "@prod~1",
            "+~000000",
        ] {
            assert_eq!(old_shard_name(other), None, "{other}");
        }
    }
}
