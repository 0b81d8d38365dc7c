//! The changelog: one record per event, in files that are created whole and
//! never changed.
//!
//! - The log `+versions` of a prompt: one `add` record per new version.
//! - The log `@<label>`: every move of that label (`label`, `promote`,
//!   `rollback`, `split`), like a git reflog.
//!
//! Each record carries a `seq`, its place in its log; a log is read newest
//! first, in order of `seq` (then time, then bytes, for records two git
//! branches wrote with the same `seq`). Records start as one file each and
//! are packed together as a log grows ([`compact`]), so that reading "the
//! last N changes" costs the same however long the history is, and two git
//! branches that write to the same log never change the same file.

mod compact;
mod files;
mod reader;
mod record;

pub use compact::compact;
pub use files::{FileName, Head, LOOSE_LIMIT, Log, LogFile, next_seq, parse_file_name, scan};
pub use reader::Reverse;
pub(crate) use record::record_pair;
pub use record::{Action, Entry, Record};
