//! `status`: what a reviewer should know about a store before a commit or a
//! merge, in the time it takes to read a few small files per prompt.
//!
//! Per prompt it reads the newest `add` record and hashes the source file that
//! record names; per label it reads the ref, the newest record of the label's
//! log (a little further back after a rollback) and checks that the object
//! exists. It never hashes the objects themselves: `fsck` does that.
//!
//! Each [`Finding`] has a stable [`FindingKind`]; a kind either needs
//! attention (the store or the working tree is not what the changelog says,
//! and `status --check` fails) or is information (a normal state of a
//! release flow, such as `staging` holding a version `prod` does not yet have).

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::changelog::{Action, Record};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fsck::settle_command;
use crate::history::LogFilter;
use crate::id::VersionId;
use crate::name::{Label, PromptName};
use crate::refs;
use crate::split::LabelValue;
use crate::store::Store;

/// What `status` found, see [`Store::status`].
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Prompts looked at.
    pub prompts: usize,
    /// Labels looked at (readable or not).
    pub labels: usize,
    /// Everything found, by prompt (sorted), source first, then labels (sorted).
    pub findings: Vec<Finding>,
}

impl Status {
    /// True when some finding needs attention (`status --check` fails).
    pub fn needs_attention(&self) -> bool {
        self.findings.iter().any(|f| f.kind.needs_attention())
    }

    /// The findings that need attention.
    pub fn attention(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.kind.needs_attention())
    }

    /// The findings that are only information.
    pub fn info(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.kind.needs_attention())
    }
}

/// One thing a reviewer should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of thing; decides whether it needs attention.
    pub kind: FindingKind,
    /// The prompt concerned.
    pub prompt: PromptName,
    /// The label concerned, for label findings.
    pub label: Option<Label>,
    /// The file concerned, relative to the store's workdir (the folder
    /// holding `.promptrel`), `/`-separated: a prompt's source file, or a
    /// file inside `.promptrel/`.
    pub path: Option<String>,
    /// What was found, for a person; names the prompt (and label).
    pub message: String,
    /// What to do about it, usually a command to run from the workdir.
    pub next: String,
}

/// The kinds of finding. The strings of [`FindingKind::as_str`] are stable
/// (they are in `status --json`); new kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// The source file no longer holds the prompt's newest version: it was
    /// edited without `promptrel add`. Attention.
    SourceChanged,
    /// The source file differs from the newest version only in line endings
    /// (`\r\n` against `\n`), as git's `core.autocrlf` does to checkouts.
    /// Information: the text is the same, and failing every Windows checkout
    /// would teach people to ignore the check.
    SourceLineEndings,
    /// The source file is gone (moved, renamed or deleted). Information:
    /// every version is still in the store, and a source that is gone for
    /// good would otherwise fail every later check.
    SourceMissing,
    /// A label's ref cannot be read: git conflict markers, not one id, a
    /// symbolic link. Attention: every reader refuses it.
    BadRef,
    /// A changelog file cannot be read (a damaged or conflicted record).
    /// Attention.
    DamagedLog,
    /// A ref with no changelog: it was not set by promptrel. Attention.
    UnloggedLabel,
    /// A ref one move behind its changelog (a writer was interrupted); the
    /// next write, or `fsck --repair`, completes the move. Attention.
    RefBehindLog,
    /// A ref that disagrees with the newest record of its changelog (edited
    /// by hand, or a merge kept one side of the ref and another of the log).
    /// Attention.
    RefDisagrees,
    /// A label points to a version whose object is not in the store (not
    /// committed to git?). Attention: resolving it fails.
    MissingObject,
    /// A label that was last promoted from another label of the prompt no
    /// longer agrees with it: the source moved since (`staging` holds a
    /// version that is not on `prod` yet). Information.
    Unpromoted,
    /// A label was rolled back away from what it was promoted from, and the
    /// source still holds a different version. Information.
    RolledBack,
    /// Reserved: a version includes a prompt that does not exist. Reported
    /// once includes exist (see [`Store::status`]); attention.
    DanglingInclude,
}

impl FindingKind {
    /// The stable identifier used in `status` output and `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::SourceChanged => "source-changed",
            FindingKind::SourceLineEndings => "source-line-endings",
            FindingKind::SourceMissing => "source-missing",
            FindingKind::BadRef => "bad-ref",
            FindingKind::DamagedLog => "damaged-log",
            FindingKind::UnloggedLabel => "unlogged-label",
            FindingKind::RefBehindLog => "ref-behind-log",
            FindingKind::RefDisagrees => "ref-disagrees",
            FindingKind::MissingObject => "missing-object",
            FindingKind::Unpromoted => "unpromoted",
            FindingKind::RolledBack => "rolled-back",
            FindingKind::DanglingInclude => "dangling-include",
        }
    }

    /// Whether findings of this kind fail `status --check`.
    pub fn needs_attention(self) -> bool {
        !matches!(
            self,
            FindingKind::SourceLineEndings
                | FindingKind::SourceMissing
                | FindingKind::Unpromoted
                | FindingKind::RolledBack
        )
    }
}

/// A label whose ref agrees with its changelog, for comparing labels.
struct Head {
    label: Label,
    value: LabelValue,
    /// The newest record of its log (its value is `value`).
    newest: Record,
    /// When the newest record that is not a rollback is a promotion from
    /// another label of this prompt: that label.
    promoted_from: Option<Label>,
}

impl Store {
    /// What a reviewer should know about the store and the prompt files it
    /// was added from: source files edited without `add`, labels that
    /// disagree with their changelog or cannot be read, labels that have not
    /// been promoted onwards. Reads only: the store is never changed.
    ///
    /// Damage to one file is a finding, not an error; errors are I/O failures
    /// and a store that cannot be listed.
    pub fn status(&self) -> Result<Status> {
        let config = self.config()?;
        let mut status = Status::default();
        for name in self.prompts()? {
            status.prompts += 1;
            let mut found = Vec::new();
            self.source_status(&name, &mut found)?;
            status.labels += self.labels_status(&name, &config, &mut found)?;
            // A damaged label log also stops the source check, which reads the
            // prompt's logs merged: report it once, as the label's.
            let of_labels: HashSet<Option<String>> = found
                .iter()
                .filter(|f| f.kind == FindingKind::DamagedLog && f.label.is_some())
                .map(|f| f.path.clone())
                .collect();
            found.retain(|f| {
                f.kind != FindingKind::DamagedLog
                    || f.label.is_some()
                    || !of_labels.contains(&f.path)
            });
            status.findings.append(&mut found);
        }
        self.include_status(&mut status.findings)?;
        Ok(status)
    }

    /// Includes that name no version ([`Store::dangling_includes`]), in each
    /// label's version and the newest: a render of them would fail.
    fn include_status(&self, findings: &mut Vec<Finding>) -> Result<()> {
        for d in self.dangling_includes()? {
            findings.push(Finding {
                kind: FindingKind::DanglingInclude,
                label: d.labels.first().cloned(),
                path: None,
                message: format!(
                    "{} includes \"{}\" (line {}), which names no version: {}",
                    d.holders(),
                    d.include.rev,
                    d.include.line,
                    d.reason
                ),
                next: format!(
                    "add or label the included prompt, or fix the include and `promptrel add {}` again",
                    d.prompt
                ),
                prompt: d.prompt,
            });
        }
        Ok(())
    }

    /// The source file of the newest version: still holding it?
    fn source_status(&self, name: &PromptName, out: &mut Vec<Finding>) -> Result<()> {
        let newest = match self.newest_add(name) {
            Ok(newest) => newest,
            Err(Error::Corrupt { path, detail }) => {
                out.push(self.damaged_log(name, None, &path, &detail));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        // A version added from standard input has no source file: the prompt
        // is not tied to a file until it is added from one again.
        let Some(newest) = newest else { return Ok(()) };
        let Some(file) = newest.file.as_deref().filter(|f| is_plain_relative(f)) else {
            return Ok(());
        };
        let path: PathBuf = file
            .split('/')
            .fold(self.workdir().to_path_buf(), |p, part| p.join(part));
        let short = newest.to.short();
        let finding = |kind, message: String, next: String| Finding {
            kind,
            prompt: name.clone(),
            label: None,
            path: Some(file.to_string()),
            message,
            next,
        };
        let add = format!("promptrel add {name} {} -m \"…\"", shell_quote(file));
        let Some(id) = hash_file(&path)? else {
            out.push(finding(
                FindingKind::SourceMissing,
                format!("{file} is gone; {name}'s newest version {short} was added from it"),
                format!(
                    "restore it with `promptrel show {name} > {}`, or add {name} from where it is now",
                    shell_quote(file)
                ),
            ));
            return Ok(());
        };
        if id == newest.to {
            return Ok(());
        }
        if self.only_line_endings_differ(&path, &newest.to) {
            out.push(finding(
                FindingKind::SourceLineEndings,
                format!(
                    "{file} differs from {name}'s newest version {short} only in line endings (git's core.autocrlf?)"
                ),
                format!("mark prompt files `-text` in .gitattributes, or store these bytes: `{add}`"),
            ));
            return Ok(());
        }
        out.push(finding(
            FindingKind::SourceChanged,
            format!("{file} has changed since {name}'s newest version {short}"),
            add,
        ));
        Ok(())
    }

    /// The newest `add` record of `name`.
    fn newest_add(&self, name: &PromptName) -> Result<Option<Record>> {
        let filter = LogFilter {
            name: Some(name.clone()),
            label: None,
        };
        // Newest first, so this stops at the first add: it reads only the
        // label moves made since, not the whole history.
        for record in self.log(&filter)? {
            let record = record?;
            if record.action == Action::Add {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// Whether the file at `path` holds version `id` but for `\r\n` against `\n`.
    fn only_line_endings_differ(&self, path: &Path, id: &VersionId) -> bool {
        // A damaged or missing object is fsck's to report; here it only
        // means the question has no answer.
        let Ok(stored) = self.read(id) else {
            return false;
        };
        // `\r\n` at most doubles a file; never read a much larger one whole.
        let fits = fs::metadata(path).is_ok_and(|m| m.len() <= 2 * stored.len() as u64);
        let Some(file) = fits.then(|| fs::read(path).ok()).flatten() else {
            return false;
        };
        let lf = |bytes: &[u8]| -> Vec<u8> {
            let mut out = Vec::with_capacity(bytes.len());
            for (i, &b) in bytes.iter().enumerate() {
                if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
                    out.push(b);
                }
            }
            out
        };
        stored != file && lf(&stored) == lf(&file)
    }

    /// Check every label of `name`; returns how many there are.
    fn labels_status(
        &self,
        name: &PromptName,
        config: &Config,
        out: &mut Vec<Finding>,
    ) -> Result<usize> {
        let labels = self.label_names(name)?;
        let mut heads = Vec::new();
        for label in &labels {
            heads.extend(self.label_status(name, label, config, out)?);
        }
        promotion_status(name, &heads, out);
        // Label findings in label order, whichever pass found them.
        out.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(labels.len())
    }

    /// Check one label's ref against its changelog; returns it for comparing
    /// with other labels when the two agree.
    fn label_status(
        &self,
        name: &PromptName,
        label: &Label,
        config: &Config,
        out: &mut Vec<Finding>,
    ) -> Result<Option<Head>> {
        let finding = |kind, path: &Path, message: String, next: String| Finding {
            kind,
            prompt: name.clone(),
            label: Some(label.clone()),
            path: Some(self.display_path(path)),
            message,
            next,
        };
        let ref_path = self.ref_path(name, label);
        let shown = self.display_path(&ref_path);
        let value = match self.label(name, label) {
            Ok(Some(value)) => value,
            // Removed since the listing (a concurrent writer or checkout).
            Ok(None) => return Ok(None),
            Err(Error::Corrupt { path, detail }) => {
                out.push(finding(
                    FindingKind::BadRef,
                    &path,
                    format!("{name}@{label}: {detail}"),
                    format!(
                        "make {} hold the value the label should have (`promptrel log {name} --label {label}` shows its moves), then `promptrel fsck`",
                        self.display_path(&path)
                    ),
                ));
                return Ok(None);
            }
            Err(Error::MergeConflict { path, sides, .. }) => {
                let shown: Vec<String> = sides.iter().map(ToString::to_string).collect();
                let protected = config.is_protected(label.as_str());
                let next = if sides.iter().all(|s| s.id().is_some()) {
                    let settle = if protected {
                        format!("promptrel rollback {name} {label} --to ID -m \"…\"")
                    } else {
                        format!("promptrel label {name} {label} ID -m \"…\"")
                    };
                    format!(
                        "choose one with `{settle}` (ID: {}); `promptrel fsck` shows who moved it where",
                        shown.join(" or ")
                    )
                } else {
                    // A side is a split: each side has its own command.
                    let commands: Vec<String> = sides
                        .iter()
                        .map(|side| settle_command(name, label, side, protected))
                        .collect();
                    format!(
                        "choose one with `{}`; `promptrel fsck` shows who moved it where",
                        commands.join("` or `")
                    )
                };
                out.push(finding(
                    FindingKind::BadRef,
                    &path,
                    format!(
                        "{name}@{label} has an unresolved git merge conflict: two branches moved it, to {}",
                        shown.join(" and ")
                    ),
                    next,
                ));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let missing: Vec<&str> = value
            .versions()
            .into_iter()
            .filter(|id| !self.objects().contains(id))
            .map(VersionId::short)
            .collect();
        if !missing.is_empty() {
            out.push(finding(
                FindingKind::MissingObject,
                &ref_path,
                format!(
                    "{name}@{label} points to {}, whose object is not in .promptrel/objects (not committed to git?)",
                    missing.join(" and ")
                ),
                "commit .promptrel/objects where the version was added; `promptrel fsck` lists every missing object".into(),
            ));
        }
        let filter = LogFilter {
            name: Some(name.clone()),
            label: Some(label.clone()),
        };
        let mut records = match self.log(&filter) {
            Ok(records) => records,
            Err(Error::Corrupt { path, detail }) => {
                out.push(self.damaged_log(name, Some(label), &path, &detail));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut next_record = || match records.next().transpose() {
            Ok(record) => Ok(Ok(record)),
            Err(Error::Corrupt { path, detail }) => Ok(Err((path, detail))),
            Err(e) => Err(e),
        };
        let newest = match next_record()? {
            Ok(Some(newest)) => newest,
            Ok(None) => {
                out.push(finding(
                    FindingKind::UnloggedLabel,
                    &ref_path,
                    format!(
                        "{name}@{label} points to {value} but has no changelog: it was not set by promptrel",
                    ),
                    format!(
                        "remove {shown} and set the label with `promptrel label` or `promptrel promote`, so the move is logged"
                    ),
                ));
                return Ok(None);
            }
            Err((path, detail)) => {
                out.push(self.damaged_log(name, Some(label), &path, &detail));
                return Ok(None);
            }
        };
        let logged = newest.value();
        if logged != value {
            let (kind, message, next) = if newest.from_value().as_ref() == Some(&value) {
                (
                    FindingKind::RefBehindLog,
                    format!(
                        "{name}@{label} is one move behind its changelog (an interrupted write): it holds {value}, the changelog moved it to {logged}"
                    ),
                    "promptrel fsck --repair".to_string(),
                )
            } else {
                let settle =
                    settle_command(name, label, &logged, config.is_protected(label.as_str()))
                        .replace("settle merge", "…");
                (
                    FindingKind::RefDisagrees,
                    format!(
                        "{name}@{label} points to {value} but its changelog ends at {logged} (edited by hand, or a merge kept one side of the ref and the other of the log)"
                    ),
                    format!(
                        "`{settle}` returns it to what the changelog says, as a logged move; move it on from there"
                    ),
                )
            };
            out.push(finding(kind, &ref_path, message, next));
            return Ok(None);
        }
        // After a rollback, the move that set the label is further back.
        let mut setter = Some(newest.clone());
        while setter
            .as_ref()
            .is_some_and(|r| r.action == Action::Rollback)
        {
            // Damage further back is fsck's to report: the label is as logged.
            setter = next_record()?.unwrap_or_default();
        }
        let promoted_from = setter
            .filter(|r| r.action == Action::Promote)
            .and_then(|r| r.source)
            .and_then(|s| Label::new(&s).ok())
            .filter(|s| s != label);
        Ok(Some(Head {
            label: label.clone(),
            value,
            newest,
            promoted_from,
        }))
    }

    /// Every label of `name`, including those whose ref cannot be read
    /// ([`Store::labels`] stops at the first such ref).
    fn label_names(&self, name: &PromptName) -> Result<Vec<Label>> {
        refs::labels_in(&self.refs_dir(name))
    }

    fn damaged_log(
        &self,
        name: &PromptName,
        label: Option<&Label>,
        path: &Path,
        detail: &str,
    ) -> Finding {
        Finding {
            kind: FindingKind::DamagedLog,
            prompt: name.clone(),
            label: label.cloned(),
            path: Some(self.display_path(path)),
            message: format!("{name}: {}: {detail}", self.display_path(path)),
            next: "`promptrel fsck` lists the damage; restore the file from git, or after a merge conflict keep the records of both sides and remove the markers".into(),
        }
    }

    /// `path` relative to the workdir, `/`-separated.
    fn display_path(&self, path: &Path) -> String {
        let rel = path.strip_prefix(self.workdir()).unwrap_or(path);
        rel.iter()
            .map(|p| p.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Labels last promoted from another label that no longer agree with it.
fn promotion_status(name: &PromptName, heads: &[Head], out: &mut Vec<Finding>) {
    for to in heads {
        let Some(from) = to
            .promoted_from
            .as_ref()
            .and_then(|l| heads.iter().find(|h| &h.label == l))
        else {
            continue;
        };
        if from.value == to.value {
            continue;
        }
        let (f, t) = (&from.label, &to.label);
        let (fs, ts) = (&from.value, &to.value);
        // Rolled back, and the source has not moved since: it still holds
        // what was taken back (or what was promoted before).
        let finding = if to.newest.action == Action::Rollback && from.newest.time <= to.newest.time
        {
            Finding {
                kind: FindingKind::RolledBack,
                prompt: name.clone(),
                label: Some(t.clone()),
                path: None,
                message: format!(
                    "{name}@{t} was rolled back to {ts}; {f}, which it was promoted from, still holds {fs}"
                ),
                next: format!("promptrel log {name} --label {t}"),
            }
        } else {
            Finding {
                kind: FindingKind::Unpromoted,
                prompt: name.clone(),
                label: Some(f.clone()),
                path: None,
                message: format!(
                    "{name}@{f} has moved since its last promotion to {t} ({f} {fs}, {t} {ts})"
                ),
                next: format!(
                    "`promptrel diff {name}@{t} {name}@{f}`, then `promptrel promote {name} {f} {t} -m \"…\"`"
                ),
            }
        };
        out.push(finding);
    }
}

/// The id of the file at `path`; `None` when there is no regular file there
/// (a symbolic link to one counts as the file).
fn hash_file(path: &Path) -> Result<Option<VersionId>> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", path)(e)),
    }
    let file = File::open(path).map_err(Error::io("reading", path))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file)
        .map_err(Error::io("reading", path))?;
    Ok(VersionId::parse(hasher.finalize().to_hex().as_str()))
}

/// Whether a recorded source path stays inside the workdir. Records are data:
/// a hand-edited or merged log must not make `status` read elsewhere.
fn is_plain_relative(file: &str) -> bool {
    file.split('/').all(|part| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && !(cfg!(windows) && part.contains(['\\', ':']))
    })
}

/// `text` as one shell word: unchanged when it is plain, else single-quoted.
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:=@%".contains(&b));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_paths_outside_the_workdir_are_ignored() {
        for (file, ok) in [
            ("prompts/checkout.md", true),
            ("checkout.md", true),
            ("a/.hidden/b.md", true),
            ("", false),
            ("/etc/passwd", false),
            ("../outside.md", false),
            ("prompts/../../outside.md", false),
            ("prompts//x.md", false),
            ("./x.md", false),
        ] {
            assert_eq!(is_plain_relative(file), ok, "{file:?}");
        }
    }

    #[test]
    fn paths_in_suggested_commands_are_one_shell_word() {
        for (text, quoted) in [
            ("prompts/checkout.md", "prompts/checkout.md"),
            ("my prompts/a.md", "'my prompts/a.md'"),
            ("it's.md", r"'it'\''s.md'"),
            ("$HOME.md", "'$HOME.md'"),
        ] {
            assert_eq!(shell_quote(text), quoted, "{text:?}");
        }
    }

    #[test]
    fn attention_is_a_property_of_the_kind() {
        let info = [
            FindingKind::SourceLineEndings,
            FindingKind::SourceMissing,
            FindingKind::Unpromoted,
            FindingKind::RolledBack,
        ];
        for kind in info {
            assert!(!kind.needs_attention(), "{}", kind.as_str());
        }
        assert!(FindingKind::SourceChanged.needs_attention());
        assert!(FindingKind::DanglingInclude.needs_attention());
    }
}
