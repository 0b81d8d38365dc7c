//! Everything the commands need from the process environment, read in one place.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use promptrel::{Signature, Store};

use super::{Cli, ColorWhen};

/// The environment a command runs in.
#[derive(Debug)]
pub struct Context {
    /// The working directory (after `-C`).
    pub cwd: PathBuf,
    /// `PROMPTREL_DIR`, when set.
    pub store_dir: Option<PathBuf>,
    /// `PROMPTREL_AUTHOR`, when set.
    pub author: Option<String>,
    /// `PROMPTREL_DATE`, when set.
    pub date: Option<jiff::Timestamp>,
    /// `PROMPTREL_LOCK_TIMEOUT`.
    pub lock_timeout: Option<Duration>,
    /// `--color`.
    pub color: ColorWhen,
    /// Standard error is a terminal: long commands may draw progress there.
    pub stderr_terminal: bool,
    /// How long work runs before its progress bar appears.
    pub progress_delay: Duration,
}

impl Context {
    pub fn from_env(cli: &Cli) -> Result<Context> {
        let mut cwd = std::env::current_dir().context("cannot read the current directory")?;
        if let Some(dir) = &cli.chdir {
            cwd = cwd.join(dir);
            if !cwd.is_dir() {
                bail!("cannot change to {}: no such folder", dir.display());
            }
        }
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let text = |name: &'static str| -> Result<Option<String>> {
            var(name)
                .map(|v| {
                    v.into_string()
                        .map_err(|_| anyhow::anyhow!("{name} is not valid UTF-8"))
                })
                .transpose()
        };
        let date = text("PROMPTREL_DATE")?
            .map(|d| {
                d.parse::<jiff::Timestamp>()
                    .with_context(|| format!("PROMPTREL_DATE={d:?} is not an RFC 3339 time"))
            })
            .transpose()?;
        let lock_timeout = text("PROMPTREL_LOCK_TIMEOUT")?
            .map(|t| {
                t.parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .with_context(|| {
                        format!("PROMPTREL_LOCK_TIMEOUT={t:?} is not a number of seconds")
                    })
            })
            .transpose()?;
        // Testing aid: abort at the N-th write step, as a crash would (see failpoint.rs).
        if let Some(n) = text("PROMPTREL_CRASH_AT")? {
            let n = n
                .parse::<usize>()
                .with_context(|| format!("PROMPTREL_CRASH_AT={n:?} is not a step number"))?;
            promptrel::failpoint::crash_at(n);
        }
        // Testing aid: make the N-th write step fail with an I/O error (disk
        // full, or `N:eio`), so error paths can be shown to undo their work.
        if let Some(spec) = text("PROMPTREL_FAIL_AT")? {
            use promptrel::failpoint::Fault;
            let (n, kind) = spec.split_once(':').unwrap_or((&spec, "enospc"));
            let fault = match kind {
                "enospc" => Some(Fault::StorageFull),
                "eio" => Some(Fault::Io),
                _ => None,
            };
            match (n.parse::<usize>(), fault) {
                (Ok(n), Some(fault)) => promptrel::failpoint::fail_at(n, fault),
                _ => bail!("PROMPTREL_FAIL_AT={spec:?} is not STEP, STEP:enospc or STEP:eio"),
            }
        }
        // Testing aid: no anonymous files (O_TMPFILE), only named temp
        // files, as where the OS or file system has none.
        if text("PROMPTREL_NAMED_TEMPS")?.is_some_and(|v| v == "1") {
            promptrel::failpoint::named_temps_only();
        }
        // Testing aid: draw progress bars at once, so that a test on a
        // pseudo-terminal sees one without needing slow work.
        let progress_delay = match text("PROMPTREL_PROGRESS_DELAY")? {
            Some(s) => s
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
                .with_context(|| {
                    format!("PROMPTREL_PROGRESS_DELAY={s:?} is not a number of seconds")
                })?,
            None => super::progress::DELAY,
        };
        Ok(Context {
            stderr_terminal: std::io::stderr().is_terminal(),
            progress_delay,
            store_dir: var("PROMPTREL_DIR").map(|d| cwd.join(d)),
            author: text("PROMPTREL_AUTHOR")?,
            date,
            lock_timeout,
            color: cli.color,
            cwd,
        })
    }

    /// The store this command works on: `PROMPTREL_DIR`, else discovered upwards.
    pub fn store(&self) -> Result<Store> {
        let store = match &self.store_dir {
            // Name the variable: it may have been set long ago and forgotten.
            Some(dir) => Store::open(dir).context("PROMPTREL_DIR")?,
            None => Store::discover(&self.cwd)?,
        };
        Ok(match self.lock_timeout {
            Some(t) => store.with_lock_timeout(t),
            None => store,
        })
    }

    /// Who and when, for a command that writes.
    pub fn signature(&self, store: &Store) -> Signature {
        Signature {
            author: self
                .author
                .clone()
                .unwrap_or_else(|| default_author(store.workdir())),
            time: self.date.unwrap_or_else(jiff::Timestamp::now),
        }
    }

    /// A path given on the command line, relative to the working directory.
    pub fn path(&self, path: &Path) -> PathBuf {
        self.cwd.join(path)
    }
}

/// git's `user.name <user.email>`, else the login name.
///
/// One `git config` process for both keys (a process start costs about as
/// much as a whole `promote`); the last value of each wins, as with `--get`.
fn default_author(dir: &Path) -> String {
    let output = Command::new("git")
        .args(["config", "--get-regexp", r"^user\.(name|email)$"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    let (mut name, mut email) = (None, None);
    for line in output.lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
        match key {
            "user.name" => name = value,
            "user.email" => email = value,
            _ => {}
        }
    }
    match (name, email) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name,
        _ => ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unknown".to_string()),
    }
}
