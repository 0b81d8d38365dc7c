//! An application behind an A/B split: render `checkout-bot@prod` for each
//! user, with variables, choosing the version by the user's id.
//!
//! ```sh
//! cargo run --example split_render
//! ```
//!
//! The example makes its own store in a temp dir: two versions of the
//! prompt, `canary` split 90/10 between them, and the split promoted to
//! `prod` (a protected label is split by promoting a split label). Then, as
//! an application would per request, it resolves `checkout-bot@prod` with
//! the user id as the split key, renders the body with the request's
//! variables, and says which version it served. The same user always gets
//! the same version; across many users the weights hold.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use promptrel::template::Prompt;
use promptrel::{Label, PromptName, Rev, Signature, Store};
use serde_json::{Map, Value};

/// What the application asks for.
const PROMPT: &str = "checkout-bot@prod";

const LONG: &str = "\
---
input:
  schema:
    customer: string
---
You are a helpful checkout assistant. Greet {{ customer }} by name.
Explain every option in detail.
";

const SHORT: &str = "\
---
input:
  schema:
    customer: string
---
You are a helpful checkout assistant. Greet {{ customer }} by name.
Answer in two sentences.
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
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
    let dir = tempfile::tempdir()?;
    let store = create_demo_store(dir.path())?;
    let rev = Rev::parse(PROMPT)?;

    // Per request: the user's id is the key, the request gives the variables.
    for (user, customer) in [("user-1", "Ada"), ("user-11", "Grace"), ("user-1", "Ada")] {
        let served = store.resolve_keyed(&rev, Some(user))?;
        let bytes = store.read(&served.id)?; // verified against its hash
        let mut vars = Map::new();
        vars.insert("customer".into(), Value::String(customer.into()));
        let text = Prompt::parse(&bytes)?.render(&vars, true)?.text;
        let share = served
            .weight()
            .map_or(String::new(), |w| format!(", {w}% of {PROMPT}"));
        println!("--- {user}: version {}{share} ---", served.id.short());
        print!("{text}");
    }

    // Across many users, each version gets about its weight.
    let n = 10_000;
    let mut short = 0;
    let short_id = promptrel::VersionId::of(SHORT.as_bytes());
    for i in 0..n {
        if store.resolve_keyed(&rev, Some(&format!("user-{i}")))?.id == short_id {
            short += 1;
        }
    }
    println!("--- {n} users: {short} got the short version (weight 90%) ---");
    Ok(())
}

/// Both versions added, `canary` split 90/10, promoted to `prod`: what
/// `promptrel add`, `promptrel split` and `promptrel promote` would leave.
fn create_demo_store(workdir: &Path) -> promptrel::Result<Store> {
    let (store, _) = Store::init(workdir)?;
    let sig = Signature {
        author: "split example <demo@example.com>".into(),
        time: jiff::Timestamp::now(),
    };
    let name = PromptName::new("checkout-bot")?;
    let long = store.add(&name, LONG.as_bytes(), "long answers", &[], None, &sig)?;
    let short = store.add(&name, SHORT.as_bytes(), "short answers", &[], None, &sig)?;
    let canary = Label::new("canary")?;
    let shares = [(short.id.as_str(), 90), (long.id.as_str(), 10)];
    store.split(
        &name,
        &canary,
        &shares,
        None,
        "short answers for 90% of users",
        &sig,
    )?;
    store.promote(
        &name,
        "canary",
        &Label::new("prod")?,
        Default::default(),
        "A/B on prod",
        &sig,
    )?;
    Ok(store)
}
