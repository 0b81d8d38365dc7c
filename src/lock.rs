//! The store lock: every read-modify-write of the store happens while holding it.
//!
//! It is an OS advisory lock (`flock`/`LockFileEx` through std's `File::lock`)
//! on `.promptrel/lock`. The OS releases it when the holder dies, so a killed
//! process never leaves the store locked; the file itself stays and is
//! ignored by git.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a writer waits for another by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A held store lock; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Wait up to `timeout` for the lock at `path`.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<StoreLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(Error::io("opening lock file", path))?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StoreLock { _file: file }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(Error::io("locking", path)(e)),
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(Error::Locked {
                    path: PathBuf::from(path),
                    waited_ms: timeout.as_millis() as u64,
                });
            }
            std::thread::sleep(pause.min(timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}
