//! The one integration test binary: runs the real `promptrel` in temp dirs.

mod support;

mod bad_input;
mod commands;
mod crash;
mod diff;
mod fsck;
mod model;
mod story;
