//! promptrel: release discipline for LLM prompts, from local files.
//!
//! Every version of a prompt is an immutable object named by the BLAKE3 hash
//! of its bytes; labels such as `staging` and `prod` are small ref files; every
//! move of a label is appended to a changelog. The store is a `.promptrel/`
//! folder that lives in your repository and travels with git.
//!
//! An application resolves a label at start-up (or per request) like this:
//!
//! ```
//! use promptrel::{Rev, Signature, Store, PromptName, Label};
//! # let tmp = tempfile::tempdir()?;
//! # let (store, _) = Store::init(tmp.path())?;
//! # let sig = Signature { author: "Ada".into(), time: jiff::Timestamp::UNIX_EPOCH };
//! # let name = PromptName::new("checkout-bot")?;
//! # store.add(&name, b"Be brief.\n", "first", &[Label::new("staging")?], None, &sig)?;
//! # store.promote(&name, "staging", &Label::new("prod")?, Default::default(), "ship it", &sig)?;
//! let store = Store::discover(tmp.path())?;
//! let id = store.resolve(&Rev::parse("checkout-bot@prod")?)?;
//! let prompt = store.read(&id)?; // verified against its hash
//! assert_eq!(prompt, b"Be brief.\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The on-disk format is specified in `FORMAT.md`, so programs in other
//! languages can resolve labels by reading files.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod changelog;
pub mod compose;
pub mod config;
pub mod diff;
mod discover;
mod error;
pub mod export;
pub mod failpoint;
pub mod fsck;
mod fsutil;
mod history;
mod id;
pub mod import;
pub mod include;
mod lock;
pub mod meta;
mod name;
pub mod objects;
mod refs;
pub mod release;
mod resolve;
mod rev;
mod split;
mod status;
mod store;
pub mod template;
mod update;
pub mod upgrade;

pub use changelog::{Action, Record};
pub use config::{Config, FORMAT_VERSION};
pub use error::{Error, Result};
pub use history::{Event, LogFilter, LogIter, Timeline};
pub use id::{MIN_PREFIX, SHORT_LEN, VersionId};
pub use import::{ImportFile, ImportPlan, Imported, InvalidFrontMatter};
pub use name::{Label, PromptName};
pub use refs::RefValue;
pub use rev::{Rev, Spec};
pub use split::{LabelValue, Served, Share, Split};
pub use status::{Finding, FindingKind, Status};
pub use store::{DIR_NAME, PromptInfo, Signature, Store};
pub use update::{Added, Moved, PromoteOptions};
