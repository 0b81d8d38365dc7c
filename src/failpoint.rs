//! Fault injection, for tests: crash, or fail with an I/O error, at the N-th
//! write step.
//!
//! Every durable step in `fsutil` (temp file written, renamed, folder
//! created…) and in the bulk import (each sync) counts as one step. Two modes, armed by the CLI
//! from the environment (nothing else arms them):
//!
//! - [`crash_at`] (`PROMPTREL_CRASH_AT=N`): the N-th step aborts the process
//!   with `SIGABRT`: no destructor runs and no temp file is tidied, exactly as
//!   if the machine had lost power there. Recovery relies on the format: temp
//!   files are ignored, copies of packed records count once, and a ref one
//!   move behind its log is settled forward.
//! - [`fail_at`] (`PROMPTREL_FAIL_AT=N`): the N-th step returns an
//!   [`std::io::Error`] instead (disk full by default, or EIO), as a real
//!   `write`/`fsync` would. The step's work is done first, as far as a real
//!   failure could have done it, so the error path must undo it: the store's
//!   undo guard puts everything back.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

static CRASH_AT: AtomicUsize = AtomicUsize::new(0);
static FAIL_AT: AtomicUsize = AtomicUsize::new(0);
static FAULT: AtomicU8 = AtomicU8::new(0);
static STEPS: AtomicUsize = AtomicUsize::new(0);
static NAMED_TEMPS: AtomicBool = AtomicBool::new(false);

/// The I/O error [`fail_at`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `ENOSPC`: "No space left on device".
    StorageFull,
    /// `EIO`: "Input/output error".
    Io,
}

/// Abort at the `n`-th write step of this process (0 disarms).
pub fn crash_at(n: usize) {
    CRASH_AT.store(n, Ordering::SeqCst);
}

/// Make the `n`-th write step of this process fail with `fault` (0 disarms).
pub fn fail_at(n: usize, fault: Fault) {
    FAULT.store(fault as u8, Ordering::SeqCst);
    FAIL_AT.store(n, Ordering::SeqCst);
}

/// Write new files as named temp files only, as on a system without
/// anonymous files (Linux `O_TMPFILE`, used by the bulk import), so that
/// tests cover that path too.
pub fn named_temps_only() {
    NAMED_TEMPS.store(true, Ordering::SeqCst);
}

/// Anonymous files may be used (see [`named_temps_only`]).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn anonymous_files() -> bool {
    !NAMED_TEMPS.load(Ordering::Relaxed)
}

/// What an armed failpoint decided for one step.
pub(crate) enum Hit {
    /// Carry on.
    Pass,
    /// Do the partial work, then call [`crash`].
    Crash,
    /// Do the partial work, then return this error.
    Fail(io::Error),
}

/// Count a step and say what must happen there.
pub(crate) fn hit(what: &str) -> Hit {
    let crash = CRASH_AT.load(Ordering::Relaxed);
    let fail = FAIL_AT.load(Ordering::Relaxed);
    if crash == 0 && fail == 0 {
        return Hit::Pass;
    }
    let n = STEPS.fetch_add(1, Ordering::SeqCst) + 1;
    if n == crash {
        Hit::Crash
    } else if n == fail {
        let (kind, text) = if FAULT.load(Ordering::Relaxed) == Fault::Io as u8 {
            (io::ErrorKind::Other, "Input/output error")
        } else {
            (io::ErrorKind::StorageFull, "No space left on device")
        };
        Hit::Fail(io::Error::new(
            kind,
            format!("{text} (injected at write step {n}: {what})"),
        ))
    } else {
        Hit::Pass
    }
}

/// Count a step that has been done: crash, or fail, if it is the armed one.
pub(crate) fn step(what: &str) -> io::Result<()> {
    match hit(what) {
        Hit::Pass => Ok(()),
        Hit::Crash => crash(what),
        Hit::Fail(e) => Err(e),
    }
}

/// Die now, as a power cut would.
pub(crate) fn crash(what: &str) -> ! {
    eprintln!(
        "promptrel: injected crash at step {} ({what})",
        STEPS.load(Ordering::SeqCst)
    );
    std::process::abort()
}
