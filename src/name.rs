//! Prompt names and labels: the only way text from a user becomes a path
//! inside the store. Once you hold a [`PromptName`] or a [`Label`], it is valid.
//!
//! The rules are an allow-list, so nothing can escape `.promptrel/` or mean
//! something else to git, a shell or another operating system:
//! - each part uses only `a-z 0-9 . _ -` (lowercase, so `Bot` and `bot` cannot
//!   become one folder on macOS or Windows);
//! - a part does not start with `.` or `-`, does not end with `.` or `.lock`,
//!   and is not a Windows device name (`con`, `nul`, `com1`, …);
//! - a name is parts joined by `/` (namespaces); a label is a single part;
//! - a name at most 255 bytes, each of its parts and a label at most 127
//!   (a log's folder is named `<last part>@<label>`, within the 255-byte
//!   file-name limit of common file systems).
//!
//! `@`, `~` and `/` are therefore free for the revision syntax and the on-disk
//! layout: a file named `@prod` can never collide with a namespace folder.

use std::fmt;

use crate::error::{Error, Result};

/// Longest name, in bytes.
pub const MAX_LEN: usize = 255;

/// Longest part of a name, and longest label, in bytes: a log's folder is
/// named `<last part>@<label>` (FORMAT.md §2), at most 255 bytes.
pub const MAX_PART: usize = 127;

/// A valid prompt name such as `checkout-bot` or `support/refund-bot`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PromptName(String);

/// A valid label such as `prod` or `staging`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Label(String);

impl PromptName {
    /// Check `text` against the naming rules.
    pub fn new(text: &str) -> Result<PromptName> {
        check(text, true).map_err(|rule| Error::InvalidName {
            value: text.to_string(),
            rule,
        })?;
        Ok(PromptName(text.to_string()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name's parts, namespaces first.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl Label {
    /// Check `text` against the naming rules.
    pub fn new(text: &str) -> Result<Label> {
        check(text, false).map_err(|rule| Error::InvalidLabel {
            value: text.to_string(),
            rule,
        })?;
        Ok(Label(text.to_string()))
    }

    /// The label as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file name used for this label under `refs/` and `logs/`.
    pub(crate) fn file_name(&self) -> String {
        format!("@{}", self.0)
    }
}

impl fmt::Display for PromptName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const WINDOWS_DEVICES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Returns the broken rule, worded for the user.
fn check(text: &str, namespaces: bool) -> Result<(), String> {
    if text.is_empty() {
        return Err("it is empty".into());
    }
    // A label is part of a folder's name, `<last part>@<label>`, which
    // must fit in the 255-byte file-name limit of common file systems.
    let limit = if namespaces { MAX_LEN } else { MAX_PART };
    if text.len() > limit {
        return Err(format!(
            "it is {} bytes long; the limit is {limit}",
            text.len()
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!("control character {:?} is not allowed", c));
    }
    if text.starts_with('/') {
        return Err("it may not start with '/' (absolute paths are not names)".into());
    }
    for (forbidden, why) in [
        (
            '\\',
            "'\\' is not allowed (it is a path separator on Windows)",
        ),
        (
            '@',
            "'@' is not allowed (it separates a name from a label or version)",
        ),
        (
            '~',
            "'~' is not allowed (it means \"changes ago\" in a revision)",
        ),
        (':', "':' is not allowed"),
        (' ', "spaces are not allowed"),
    ] {
        if text.contains(forbidden) {
            return Err(why.into());
        }
    }
    if !namespaces && text.contains('/') {
        return Err("'/' is not allowed in a label".into());
    }
    for part in text.split('/') {
        check_part(part)?;
    }
    Ok(())
}

fn check_part(part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err("it has an empty part ('//' or a trailing '/')".into());
    }
    if part.len() > MAX_PART {
        return Err(format!(
            "a part is {} bytes long; the limit for a part is {MAX_PART}",
            part.len()
        ));
    }
    if part == "." || part == ".." {
        return Err(format!(
            "'{part}' is not allowed as a part (no path traversal)"
        ));
    }
    if part.starts_with('.') {
        return Err("a part may not start with '.'".into());
    }
    if part.starts_with('-') {
        return Err("a part may not start with '-' (it would look like an option)".into());
    }
    if part.ends_with(".lock") {
        return Err("a part may not end with '.lock'".into());
    }
    if part.ends_with('.') {
        return Err("a part may not end with '.'".into());
    }
    if part.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(
            "uppercase letters are not allowed (names must stay distinct on case-insensitive file systems)"
                .into(),
        );
    }
    if let Some(c) = part
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'))
    {
        return Err(format!(
            "{c:?} is not allowed (use a-z, 0-9, '.', '_' and '-')"
        ));
    }
    let stem = part.split('.').next().unwrap_or(part);
    if WINDOWS_DEVICES.contains(&stem) {
        return Err(format!("'{part}' is a reserved device name on Windows"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for ok in [
            "checkout-bot",
            "support/refund-bot",
            "a",
            "v1.2_x",
            "deep/name/space/p",
            "0",
            &"a".repeat(127),
            &format!("{}/{}", "a".repeat(127), "b".repeat(127)),
        ] {
            assert!(PromptName::new(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn invalid_names_name_the_rule() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("..", "path traversal"),
            ("a/../b", "path traversal"),
            ("/etc/passwd", "absolute"),
            ("a\\b", "'\\'"),
            ("a@b", "'@'"),
            ("a~1", "'~'"),
            ("a\tb", "control"),
            ("a\nb", "control"),
            ("-rf", "'-'"),
            (".hidden", "'.'"),
            ("x.lock", ".lock"),
            ("a//b", "empty part"),
            ("a/", "empty part"),
            ("Checkout", "uppercase"),
            ("caf\u{e9}", "not allowed"),
            ("a b", "spaces"),
            ("a:b", "':'"),
            ("con", "device"),
            ("x/nul.txt", "device"),
            ("trailing.", "end with '.'"),
        ];
        for (bad, rule) in cases {
            let err = PromptName::new(bad).unwrap_err().to_string();
            assert!(err.contains(rule), "{bad:?}: {err} should mention {rule}");
        }
        let long = vec!["a".repeat(127); 3].join("/");
        assert!(
            PromptName::new(&long)
                .unwrap_err()
                .to_string()
                .contains("limit is 255")
        );
        let err = PromptName::new(&"a".repeat(128)).unwrap_err().to_string();
        assert!(err.contains("the limit for a part is 127"), "{err}");
    }

    #[test]
    fn labels_are_single_parts() {
        assert!(Label::new("prod").is_ok());
        assert!(Label::new("canary-2").is_ok());
        let err = Label::new("a/b").unwrap_err().to_string();
        assert!(err.contains("'/' is not allowed in a label"), "{err}");
        assert_eq!(Label::new("prod").unwrap().file_name(), "@prod");
        assert!(Label::new(&"a".repeat(127)).is_ok());
        let err = Label::new(&"a".repeat(128)).unwrap_err().to_string();
        assert!(err.contains("the limit is 127"), "{err}");
    }
}
