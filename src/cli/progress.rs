//! Progress bars for long commands (`add --dir`, `fsck`, `export`).
//!
//! A bar is drawn on standard error, only when standard error is a terminal
//! and the command's output is not `--json`, and only once the work has run
//! for [`DELAY`]: a bar that flashes for a moment is noise, and most stores
//! are done long before (git waits before showing progress too). Never on a
//! pipe or in a file, so logs and scripts see no escape codes. indicatif does
//! the drawing: redraw, rate limiting (20 a second), clearing the line.

use std::time::{Duration, Instant};

use anstream::{AutoStream, ColorChoice};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ColorWhen;
use super::context::Context;

/// How long work runs before a bar appears.
pub const DELAY: Duration = Duration::from_millis(500);

/// A progress bar that may never be drawn. Cleared when dropped, so an
/// error or a summary printed afterwards starts on a clean line.
pub struct Progress {
    /// `None` when this run never draws (not a terminal, `--json`).
    bar: Option<Bar>,
}

struct Bar {
    bar: ProgressBar,
    started: Instant,
    delay: Duration,
    shown: bool,
    colored: bool,
    /// What is being done ("importing") and what is counted ("files").
    what: (&'static str, &'static str),
}

impl Progress {
    /// A bar for work counted in `unit`s ("importing", "files").
    /// `quiet`: the command was asked for machine output (`--json`).
    pub fn new(ctx: &Context, quiet: bool, what: &'static str, unit: &'static str) -> Progress {
        if !enabled(ctx.stderr_terminal, quiet) {
            return Progress { bar: None };
        }
        Progress {
            bar: Some(Bar {
                // Hidden until `delay` has passed: the draw target is set then.
                bar: ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()),
                started: Instant::now(),
                delay: ctx.progress_delay,
                shown: false,
                colored: colored(ctx.color),
                what: (what, unit),
            }),
        }
    }

    /// The work moves on to another stage, counted in other units.
    pub fn stage(&mut self, what: &'static str, unit: &'static str) {
        let Some(b) = &mut self.bar else { return };
        if b.what != (what, unit) {
            b.what = (what, unit);
            if b.shown {
                b.restyle();
            }
        }
    }

    /// `done` of `total` units are done.
    pub fn update(&mut self, done: usize, total: usize) {
        let Some(b) = &mut self.bar else { return };
        let (done, total) = (done as u64, total as u64);
        if !b.shown && draw_now(done, total, b.started.elapsed(), b.delay) {
            b.bar.set_draw_target(ProgressDrawTarget::stderr());
            b.shown = true;
            b.restyle();
        }
        // One redraw (rate-limited by indicatif) for both numbers.
        b.bar.update(|state| {
            state.set_len(total);
            state.set_pos(done);
        });
    }
}

impl Bar {
    /// `importing [=========>          ] 1234/5000 files`, as wide as the
    /// terminal. The words are part of the template, so that a new stage is
    /// one redraw, never a frame of one stage's words with another's numbers.
    fn restyle(&self) {
        let (what, unit) = self.what;
        let bar = if self.colored {
            "{wide_bar:.cyan}"
        } else {
            "{wide_bar}"
        };
        let template = format!("{what} [{bar}] {{pos}}/{{len}} {unit}");
        let style = ProgressStyle::with_template(&template)
            .expect("a valid template")
            .progress_chars("=> ");
        self.bar.set_style(style);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.bar.finish_and_clear();
        }
    }
}

/// Whether a run may draw at all: on a terminal, without `--json`.
fn enabled(stderr_terminal: bool, quiet: bool) -> bool {
    stderr_terminal && !quiet
}

/// Whether to start drawing: the work has run for `delay` and is not done.
fn draw_now(done: u64, total: u64, elapsed: Duration, delay: Duration) -> bool {
    done < total && elapsed >= delay
}

/// Whether the bar is coloured: per `--color`, and for `auto` by NO_COLOR,
/// CLICOLOR_FORCE and the terminal, as every other line on standard error.
fn colored(color: ColorWhen) -> bool {
    match color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => AutoStream::choice(&std::io::stderr()) != ColorChoice::Never,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{DELAY, draw_now, enabled};

    #[test]
    fn only_a_terminal_without_json_ever_gets_a_bar() {
        for (terminal, json, expected) in [
            (true, false, true),
            (true, true, false),
            (false, false, false),
            (false, true, false),
        ] {
            assert_eq!(enabled(terminal, json), expected, "{terminal} {json}");
        }
    }

    #[test]
    fn a_bar_appears_only_for_work_still_running_after_the_delay() {
        let ms = Duration::from_millis;
        for (done, total, elapsed, expected) in [
            (0, 5000, ms(0), false),      // just started
            (4000, 5000, ms(499), false), // fast work never shows a bar
            (10, 5000, ms(500), true),
            (2, 3, ms(2000), true),        // few but slow items (a slow disk)
            (5000, 5000, ms(2000), false), // done: nothing left to show
            (0, 0, ms(2000), false),
        ] {
            assert_eq!(
                draw_now(done, total, elapsed, DELAY),
                expected,
                "{done}/{total} after {elapsed:?}"
            );
        }
    }
}
