//! Crash injection, for tests: abort the process at the N-th write step.
//!
//! Every durable step in `fsutil` (temp file written, renamed, record
//! appended, folder created…) counts as one step. When armed with
//! [`crash_at`], the N-th step aborts the process with `SIGABRT`: no
//! destructor runs and no temp file is tidied, exactly as if the machine had
//! lost power there. A torn append writes half the record first. The CLI arms
//! it from `PROMPTREL_CRASH_AT`; nothing else does.

use std::sync::atomic::{AtomicUsize, Ordering};

static CRASH_AT: AtomicUsize = AtomicUsize::new(0);
static STEPS: AtomicUsize = AtomicUsize::new(0);

/// Abort at the `n`-th write step of this process (0 disarms).
pub fn crash_at(n: usize) {
    CRASH_AT.store(n, Ordering::SeqCst);
}

/// Count a step; true when the process must crash here (the caller may do
/// partial work first, then call [`crash`]).
pub(crate) fn hit(_what: &str) -> bool {
    let target = CRASH_AT.load(Ordering::Relaxed);
    target != 0 && STEPS.fetch_add(1, Ordering::SeqCst) + 1 == target
}

/// Count a step and crash if it is the armed one.
pub(crate) fn step(what: &str) {
    if hit(what) {
        crash(what);
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
