//! How an application gets its prompt at start-up: resolve `checkout-bot@prod`
//! through the library and read the verified bytes.
//!
//! ```sh
//! cargo run --example runtime                              # store found upwards from here
//! PROMPTREL_DIR=path/to/.promptrel cargo run --example runtime
//! ```
//!
//! When there is no store at all, the example first creates a small demo
//! store in a temp dir, so that it runs anywhere.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use promptrel::{Label, PromptName, Rev, Signature, Store};

/// What the application asks for.
const PROMPT: &str = "checkout-bot@prod";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Library errors are written for people: print them as they are,
            // with their causes.
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    // Held until the end of `run`: dropping it removes the demo store.
    let mut _demo_dir = None;

    // 1. Find the store: PROMPTREL_DIR names the .promptrel folder itself;
    //    otherwise search the current folder and its parents, as the CLI does.
    let store = match std::env::var_os("PROMPTREL_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Store::open(Path::new(&dir))?,
        None => match Store::discover(&std::env::current_dir()?) {
            Ok(store) => store,
            // Demo only: no store anywhere, so make one. A real application
            // would report the error instead (see `main`).
            Err(promptrel::Error::NotFound { .. }) => {
                let dir = tempfile::tempdir()?;
                let store = create_demo_store(dir.path())?;
                println!(
                    "(no .promptrel store here: created a demo store in {})",
                    dir.path().display()
                );
                _demo_dir = Some(dir);
                store
            }
            Err(e) => return Err(e.into()),
        },
    };

    // 2. Resolve the label to a version id, then read the bytes. `read`
    //    checks them against their hash: a damaged object is an error, never
    //    a wrong prompt.
    let rev = Rev::parse(PROMPT)?;
    let id = store.resolve(&rev)?;
    let bytes = store.read(&id)?;
    let prompt = String::from_utf8(bytes).map_err(|_| format!("{PROMPT} is not UTF-8 text"))?;

    println!("store:   {}", store.dir().display());
    println!("{PROMPT} = {id}");
    println!("--- prompt ---");
    print!("{prompt}");
    if !prompt.ends_with('\n') {
        println!();
    }
    println!("--------------");

    // 3. How long that takes, in process (just measured, not a benchmark).
    const N: u32 = 1000;
    let start = Instant::now();
    for _ in 0..N {
        std::hint::black_box(store.resolve(&rev)?);
    }
    let resolve = start.elapsed();
    let start = Instant::now();
    for _ in 0..N {
        let id = store.resolve(&rev)?;
        std::hint::black_box(store.read(&id)?);
    }
    let resolve_read = start.elapsed();
    println!(
        "{N} resolves:          {:>8.0} µs total, {:>6.1} µs each",
        micros(resolve),
        micros(resolve) / f64::from(N)
    );
    println!(
        "{N} resolves + reads:  {:>8.0} µs total, {:>6.1} µs each",
        micros(resolve_read),
        micros(resolve_read) / f64::from(N)
    );
    Ok(())
}

fn micros(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Demo only: a store in `workdir` with a prompt on `prod`, as
/// `promptrel add --label staging` and `promptrel promote` would leave it.
fn create_demo_store(workdir: &Path) -> promptrel::Result<Store> {
    let (store, _) = Store::init(workdir)?;
    let sig = Signature {
        author: "runtime example <demo@example.com>".into(),
        time: jiff::Timestamp::now(),
    };
    let name = PromptName::new("checkout-bot")?;
    let prompt = b"You are a helpful checkout assistant.\nAnswer in two sentences.\n";
    let staging = Label::new("staging")?;
    store.add(&name, prompt, "first version", &[staging], None, &sig)?;
    store.promote(
        &name,
        "staging",
        &Label::new("prod")?,
        Default::default(),
        "first release",
        &sig,
    )?;
    Ok(store)
}
