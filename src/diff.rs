//! Unified diffs of two versions: a pure function over two byte strings.
//!
//! The output applies with `patch -p1` and `git apply`: `--- a/NAME` and
//! `+++ b/NAME` headers (the revision and short id follow a tab, where
//! `diff -u` puts a timestamp, so both tools ignore them), three lines of
//! context, and `\ No newline at end of file` where a side lacks one.

use similar::{ChangeTag, TextDiff};

/// One side of a diff: the prompt name used as the file name, and a label
/// saying which revision it is.
#[derive(Debug, Clone)]
pub struct Side<'a> {
    /// File name in the headers (the prompt name).
    pub path: &'a str,
    /// Shown after the tab: the revision and short id.
    pub label: String,
    /// The version's bytes.
    pub bytes: &'a [u8],
}

/// Line counts for `--stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    /// Lines added.
    pub insertions: usize,
    /// Lines removed.
    pub deletions: usize,
    /// Either side is not UTF-8 text.
    pub binary: bool,
}

/// The unified diff of `old` and `new`; empty when the bytes are equal.
pub fn unified(old: &Side<'_>, new: &Side<'_>) -> String {
    if old.bytes == new.bytes {
        return String::new();
    }
    let (Ok(a), Ok(b)) = (
        std::str::from_utf8(old.bytes),
        std::str::from_utf8(new.bytes),
    ) else {
        return format!("Binary files a/{} and b/{} differ\n", old.path, new.path);
    };
    let diff = TextDiff::from_lines(a, b);
    let mut out = format!(
        "--- a/{}\t{}\n+++ b/{}\t{}\n",
        old.path, old.label, new.path, new.label
    );
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
    }
    out
}

/// Insertions and deletions between `old` and `new`.
pub fn stat(old: &[u8], new: &[u8]) -> Stat {
    let (Ok(a), Ok(b)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
        return Stat {
            binary: old != new,
            ..Stat::default()
        };
    };
    let mut stat = Stat::default();
    for change in TextDiff::from_lines(a, b).iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => stat.insertions += 1,
            ChangeTag::Delete => stat.deletions += 1,
            ChangeTag::Equal => {}
        }
    }
    stat
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(path: &'a str, label: &str, bytes: &'a [u8]) -> Side<'a> {
        Side {
            path,
            label: label.to_string(),
            bytes,
        }
    }

    #[test]
    fn unified_has_git_style_headers_and_no_newline_marker() {
        let out = unified(
            &side("bot", "bot@prod 111111111111", b"a\nb\nc"),
            &side("bot", "bot@staging 222222222222", b"a\nB\nc\n"),
        );
        assert_eq!(
            out,
            "--- a/bot\tbot@prod 111111111111\n+++ b/bot\tbot@staging 222222222222\n\
             @@ -1,3 +1,3 @@\n a\n-b\n-c\n\\ No newline at end of file\n+B\n+c\n"
        );
    }

    #[test]
    fn equal_bytes_give_no_diff_and_binary_is_named() {
        assert_eq!(
            unified(&side("p", "x", b"same"), &side("p", "y", b"same")),
            ""
        );
        assert_eq!(
            unified(&side("p", "x", b"\xff\x00"), &side("p", "y", b"text")),
            "Binary files a/p and b/p differ\n"
        );
    }

    #[test]
    fn stat_counts_lines() {
        assert_eq!(
            stat(b"a\nb\nc\n", b"a\nB\nc\nd\n"),
            Stat {
                insertions: 2,
                deletions: 1,
                binary: false
            }
        );
        assert!(stat(b"\xff", b"x").binary);
    }
}
