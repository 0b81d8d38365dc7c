//! Writing to the terminal: colour, broken pipes, and `error:`/`hint:` lines
//! with the exit code a script can branch on.

use std::io::{self, Write};

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use promptrel::Error;
use promptrel::export::ExportError;

use super::ColorWhen;

/// Exit codes, documented in README and `--help`.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Differences found (`diff --exit-code`).
    pub const DIFFERENT: u8 = 1;
    /// Any error: usage, bad input, missing things, I/O.
    pub const ERROR: u8 = 2;
    /// `--expect` failed: the label moved since it was read.
    pub const MOVED: u8 = 3;
    /// Another process held the store lock too long.
    pub const LOCKED: u8 = 4;
    /// Stored bytes or records are damaged.
    pub const CORRUPT: u8 = 5;
}

/// Standard output, coloured per `--color`.
pub type Out = AutoStream<io::StdoutLock<'static>>;

/// Standard output for a command.
pub fn stdout(color: ColorWhen) -> Out {
    AutoStream::new(io::stdout().lock(), choice(color))
}

/// Standard error for notes, coloured per `--color`.
pub fn stderr(color: ColorWhen) -> AutoStream<io::StderrLock<'static>> {
    AutoStream::new(io::stderr().lock(), choice(color))
}

/// Print a `warning:` line on standard error: the command goes on.
pub fn warn(color: ColorWhen, message: &str) -> io::Result<()> {
    let w = style::WARNING;
    writeln!(stderr(color), "{w}warning:{w:#} {message}")
}

fn choice(color: ColorWhen) -> ColorChoice {
    match color {
        ColorWhen::Auto => ColorChoice::Auto,
        ColorWhen::Always => ColorChoice::Always,
        ColorWhen::Never => ColorChoice::Never,
    }
}

/// Styles used across commands.
pub mod style {
    use super::*;
    /// Version ids.
    pub const ID: Style = AnsiColor::Yellow.on_default();
    /// Added lines.
    pub const ADDED: Style = AnsiColor::Green.on_default();
    /// Removed lines.
    pub const REMOVED: Style = AnsiColor::Red.on_default();
    /// Hunk headers.
    pub const HUNK: Style = AnsiColor::Cyan.on_default();
    /// File headers and names.
    pub const BOLD: Style = Style::new().bold();
    /// Errors.
    pub const ERROR: Style = AnsiColor::Red.on_default().bold();
    /// Hints.
    pub const HINT: Style = AnsiColor::Cyan.on_default();
    /// Warnings.
    pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
}

/// Print `error:` and `hint:` lines and pick the exit code. A closed pipe on
/// stdout (`promptrel log | head -1`) is not an error.
pub fn report(err: &anyhow::Error, color: ColorWhen) -> u8 {
    // serde_json wraps the io::Error of a JSON writer, so look inside it too.
    let broken_pipe = err.chain().any(|e| {
        e.downcast_ref::<io::Error>().map(io::Error::kind) == Some(io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return exit::OK;
    }
    // The innermost library error decides: an include that cannot be read
    // because its object is damaged is an integrity error.
    // (A wrapped library error is its source as a `Box<Error>`.)
    let lib = err
        .chain()
        .filter_map(|e| {
            e.downcast_ref::<Error>()
                .or_else(|| e.downcast_ref::<Box<Error>>().map(|b| &**b))
        })
        .last();
    let code = match lib {
        Some(Error::ExpectMismatch { .. }) => exit::MOVED,
        Some(Error::Locked { .. }) => exit::LOCKED,
        Some(Error::Corrupt { .. } | Error::Config { .. } | Error::MergeConflict { .. }) => {
            exit::CORRUPT
        }
        _ => exit::ERROR,
    };
    let mut stderr = stderr(color);
    let e = style::ERROR;
    let _ = writeln!(stderr, "{e}error:{e:#} {}", message(err));
    let export = err.chain().find_map(|e| e.downcast_ref::<ExportError>());
    let hints = match (lib, export) {
        (Some(lib), _) => hints(lib),
        (None, Some(export)) => export_hints(export),
        (None, None) => Vec::new(),
    };
    for hint in hints {
        let h = style::HINT;
        let _ = writeln!(stderr, "{h}hint:{h:#} {hint}");
    }
    code
}

/// The error and its causes joined with ": ". A cause that the text before it
/// already ends with is skipped: library I/O errors print their source
/// themselves, and it must not appear twice.
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// What the user can do next.
fn hints(err: &Error) -> Vec<String> {
    match err {
        Error::NotFound { .. } => vec![
            "run `promptrel init` to create a store here, or use -C DIR / PROMPTREL_DIR".into(),
        ],
        Error::UnknownPrompt { suggestions, .. } => match suggestions.first() {
            Some(s) => vec![format!("did you mean {s}?")],
            None => vec!["`promptrel list` shows every prompt; `promptrel add NAME FILE` creates one".into()],
        },
        Error::UnknownLabel { name, label, suggestions } => {
            let mut hints = match suggestions.first() {
                Some(s) => vec![format!("did you mean {name}@{s}?")],
                None => vec![format!("`promptrel list` shows the labels of {name}")],
            };
            if label.len() < promptrel::MIN_PREFIX && label.bytes().all(|b| b.is_ascii_hexdigit()) {
                hints.push(format!("a version id prefix needs at least {} hex digits", promptrel::MIN_PREFIX));
            }
            hints
        }
        Error::NoPromptHasLabel { suggestions, .. } => match suggestions.first() {
            Some(s) => vec![format!("did you mean {s}?")],
            None => vec!["`promptrel list` shows every prompt's labels".into()],
        },
        Error::UnknownVersion { name, .. } => {
            vec![format!("`promptrel log {name}` lists its versions")]
        }
        Error::AmbiguousVersion { .. } => vec!["give more digits of the id".into()],
        Error::HistoryTooShort { .. } => vec!["use a smaller number after '~'".into()],
        Error::ProtectedLabel { label } => vec![format!(
            "move it with `promptrel promote NAME FROM {label} -m MSG` (or `promptrel rollback`)"
        )],
        Error::InvalidSplit { .. } => vec![
            "give each version as VERSION=PERCENT, such as `a314563b=90 77839f17=10`".into(),
        ],
        Error::SplitLabel { rev, name, split } => {
            let versions: Vec<String> = split
                .shares()
                .iter()
                .map(|s| format!("{name}@{}", s.version.short()))
                .collect();
            vec![
                format!("name one of its versions instead: {}", versions.join(" or ")),
                format!(
                    "show and render choose one per user: `promptrel show {rev} --key USER_ID`"
                ),
            ]
        }
        Error::NotSplit { name, label, .. } => vec![format!(
            "nothing to clear; `promptrel log {name} --label {label}` shows its moves"
        )],
        Error::NotAShare { .. } => vec![
            "keep one of its versions, or leave out VERSION to keep the greatest share".into(),
        ],
        Error::SplitExport { .. } => vec![
            "export a label that holds one version per prompt (`promptrel list` shows the splits), or end the split first (`promptrel split NAME LABEL --clear`, or promote one version onto it)"
                .into(),
        ],
        Error::ExpectMismatch { name, label, .. } => vec![format!(
            "see who moved it with `promptrel log {name} --label {label}`, then review again"
        )],
        Error::NothingToRollBack { .. } => {
            vec!["choose where it goes with --to VERSION".into()]
        }
        Error::Locked { .. } => vec![
            "another promptrel command is writing; retry, or wait longer with PROMPTREL_LOCK_TIMEOUT=SECONDS"
                .into(),
        ],
        Error::Corrupt { .. } => vec![
            "`promptrel fsck` checks the whole store; restore a damaged file from git (`git checkout -- PATH`)"
                .into(),
        ],
        Error::Config { .. } => vec![
            "it holds `format` and `protected_labels`; fix it, or restore it from git (`git checkout -- PATH`)"
                .into(),
        ],
        Error::UnsupportedFormat {
            found, supported, ..
        } if *found == promptrel::upgrade::UPGRADES_FROM => vec![format!(
            "the store was written by an earlier promptrel: `promptrel upgrade` converts it to format {supported} in place"
        )],
        Error::UnsupportedFormat {
            found, supported, ..
        } if found < supported => vec![format!(
            "format {found} is older than `promptrel upgrade` converts (format {})",
            promptrel::upgrade::UPGRADES_FROM
        )],
        Error::UnsupportedFormat { .. } => vec!["upgrade promptrel to read this store".into()],
        Error::MergeConflict { name, label, sides, .. } => vec![
            format!(
                "keep one with `promptrel label {name} {label} {} -m MSG` (a protected label: `promptrel rollback {name} {label} --to ID -m MSG`)",
                sides.first().and_then(|s| s.id()).map_or("ID", |s| s.short())
            ),
            "`promptrel fsck` shows who moved it where on each branch".into(),
        ],
        Error::FrontMatter { .. } => vec![
            "fix the YAML between the `---` lines and add the file again (stored versions never change)"
                .into(),
        ],
        Error::Template { .. } => vec![
            "the body is a Jinja2 template: write {% raw %}…{% endraw %} around text that only looks like one"
                .into(),
        ],
        Error::MissingVariables { .. } => vec![
            "give each with --var NAME=VALUE or --vars FILE, or a default in the front matter (input.default)"
                .into(),
        ],
        Error::UnknownVariables { .. } => vec![
            "`promptrel vars REV` lists the variables it uses; without --strict they are only a warning"
                .into(),
        ],
        Error::IncludeLoop { .. } => vec![
            "a prompt cannot include itself, directly or through others; move the shared text into a prompt of its own"
                .into(),
        ],
        Error::IncludeDepth { limit, .. } => vec![format!(
            "includes may nest at most {limit} deep; include the innermost prompts directly"
        )],
        Error::NewVariables { .. } => vec![
            "give them defaults in the front matter (input.default), or pass --allow-new-vars once every caller supplies them"
                .into(),
        ],
        _ => Vec::new(),
    }
}

/// What the user can do next about an export folder.
fn export_hints(err: &ExportError) -> Vec<String> {
    match err {
        ExportError::NotEmpty { .. } => {
            vec!["choose an empty or new folder, or pass --force to write into this one".into()]
        }
        ExportError::PathConflict { .. } => vec![
            "`promptrel export --json` writes one document instead, where any names can coexist"
                .into(),
        ],
        ExportError::NoManifest { .. } => {
            vec!["`promptrel export --label LABEL DIR` writes a folder with a manifest".into()]
        }
        ExportError::UnsupportedFormat { .. } => {
            vec!["upgrade promptrel to verify this export".into()]
        }
        _ => Vec::new(),
    }
}
