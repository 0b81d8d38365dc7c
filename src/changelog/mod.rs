//! The changelog: one record per event, in files that are created whole and
//! never changed.
//!
//! - The log `+versions` of a prompt: one `add` record per new version.
//! - The log `@<label>`: every move of that label (`label`, `promote`,
//!   `rollback`, `split`), like a git reflog.
//!
//! Each record carries a `seq`, its place in its log; a log is read newest
//! first, in order of `seq` (then time, then bytes, for records two git
//! branches wrote with the same `seq`). Every record is its own file, in
//! shard folders of 256, never changed or removed; a full shard also gets
//! a pack of its records ([`pack`]) that readers use instead. So reading
//! "the last N changes" costs the same however long the history is, and
//! two git branches that write to the same log never change (or delete)
//! the same file.

mod ahead;
mod compact;
mod files;
mod reader;
mod record;

pub use ahead::Ahead;
pub use compact::{PACK_WINDOW, pack, pack_before};
pub(crate) use files::parse_record;
pub use files::{
    Head, Log, RecordName, SHARD_SIZE, Shard, ShardFiles, parse_log_name, parse_record_name,
    parse_shard_name, read_pack, read_record, shard_of,
};
pub use reader::Reverse;
pub(crate) use record::record_pair;
pub use record::{Action, Entry, LogLine, Meta, Record, parse, to_line};
