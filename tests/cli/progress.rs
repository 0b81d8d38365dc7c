//! Progress bars (`add --dir`, `fsck`, `export`): drawn on standard error
//! when it is a terminal, never in a pipe, never with `--json`, and cleared
//! before anything else is printed.

use crate::support::{Run, TestEnv, run_cmd};

/// A store with `n` prompts on staging, added from `many/`.
#[cfg(target_os = "linux")]
fn store_with(n: usize) -> TestEnv {
    let env = TestEnv::init();
    many(&env, n);
    env
}

fn many(env: &TestEnv, n: usize) {
    for i in 0..n {
        env.write(
            &format!("many/team-{}/p{i:04}.md", i % 7),
            format!("prompt {i}\n"),
        );
    }
}

/// Run with progress bars drawn at once (no delay), colours forced on: the
/// only thing left to keep a bar off standard error is that it is a pipe.
fn run_eager(env: &TestEnv, args: &[&str]) -> Run {
    let mut all = vec!["--color", "always"];
    all.extend_from_slice(args);
    let mut cmd = env.command(&all);
    cmd.env("PROMPTREL_PROGRESS_DELAY", "0")
        .env("CLICOLOR_FORCE", "1")
        .env("TERM", "xterm-256color");
    run_cmd(&mut cmd)
}

#[test]
fn a_pipe_never_gets_a_progress_bar() {
    let env = TestEnv::init();
    many(&env, 400);
    let run = run_eager(&env, &["add", "--dir", "many", "--label", "staging"]).ok();
    assert!(
        run.stdout.starts_with("imported 400 files"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "", "no progress, no escape codes in a pipe");

    let run = run_eager(&env, &["fsck"]).ok();
    assert_eq!(run.stderr, "");
    let run = run_eager(&env, &["export", "--label", "staging", "out"]).ok();
    assert_eq!(run.stderr, "");
    let run = run_eager(&env, &["export", "--label", "staging", "--json"]).ok();
    assert_eq!(run.stderr, "");
}

/// Run `args` with standard error on a new pseudo-terminal (standard output
/// stays a pipe); returns the run (its `stderr` empty) and every byte the
/// terminal received.
#[cfg(target_os = "linux")]
fn run_on_terminal(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> (Run, String) {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    use std::process::Stdio;

    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("a pseudo-terminal (/dev/ptmx)");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(name.to_str().unwrap())
        .unwrap();
    let mut cmd = env.command(args);
    cmd.env("TERM", "xterm-256color")
        .stdout(Stdio::piped())
        .stderr(terminal);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    // Our copy of the terminal's end closes with `cmd`, so reading the
    // other end ends (EIO) when the child exits.
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => break,
                Err(e) => panic!("reading the terminal: {e}"),
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let run = crate::support::finish(child.wait_with_output().unwrap());
    (run, reader.join().unwrap())
}

#[cfg(target_os = "linux")]
#[test]
fn a_terminal_gets_a_bar_that_is_cleared_before_the_next_line() {
    let env = store_with(300);
    let eager = [("PROMPTREL_PROGRESS_DELAY", "0")];
    let (run, screen) = run_on_terminal(
        &env,
        &[
            "--color", "never", "add", "--dir", "many", "--label", "staging",
        ],
        &eager,
    );
    let run = run.ok();
    assert_eq!(
        run.stdout,
        "imported 300 files from many: 300 new versions (300 new prompts), 0 unchanged; 300 label moves (staging)\n"
    );
    assert!(screen.contains("importing ["), "{screen:?}");
    assert!(screen.contains("/300 files"), "{screen:?}");
    assert!(
        !screen.contains("\x1b[3"),
        "--color never: no colour: {screen:?}"
    );
    // Every frame is overwritten in place, and the last is erased: what
    // follows starts on a clean line.
    assert!(!screen.contains('\n'), "{screen:?}");
    assert!(screen.ends_with("\r\x1b[2K"), "{screen:?}");

    let (run, screen) = run_on_terminal(&env, &["fsck"], &eager);
    assert!(run.ok().stdout.ends_with(": ok\n"));
    for stage in [
        "hashing [",
        "/300 objects",
        "checking logs and refs [",
        "/300 prompts",
    ] {
        assert!(screen.contains(stage), "{stage}: {screen:?}");
    }
    assert!(screen.ends_with("\r\x1b[2K"), "{screen:?}");

    let (run, screen) = run_on_terminal(&env, &["export", "--label", "staging", "out"], &eager);
    run.ok();
    assert!(screen.contains("exporting ["), "{screen:?}");
    assert!(screen.contains("/300 prompts"), "{screen:?}");
    assert!(screen.ends_with("\r\x1b[2K"), "{screen:?}");

    // --json is for machines: no bar even on a terminal.
    let (run, screen) = run_on_terminal(&env, &["fsck", "--json"], &eager);
    run.ok();
    assert_eq!(screen, "");
    // Work that ends before the delay shows nothing (the delay, here a
    // minute, stands in for fast work, whatever the machine's speed).
    let (run, screen) = run_on_terminal(&env, &["fsck"], &[("PROMPTREL_PROGRESS_DELAY", "60")]);
    run.ok();
    assert_eq!(screen, "");
}
