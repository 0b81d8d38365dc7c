//! The one integration test binary: runs the real `promptrel` in temp dirs.

mod support;

mod bad_input;
mod commands;
mod completions;
mod concurrency;
mod crash;
mod diff;
mod discover;
mod export;
mod fsck;
mod git_merge;
mod hints;
mod import;
mod include;
mod meta;
mod model;
mod progress;
mod python_reader;
mod release;
mod split;
mod startup;
mod status;
mod story;
mod upgrade;
