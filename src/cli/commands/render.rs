use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use promptrel::Rev;
use promptrel::compose::Composition;
use serde_json::{Map, Value};

use crate::cli::commands::{report_served, served_json};
use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, warn};

/// Render a version's body with variables, strictly, and print it.
///
/// The body is a Jinja2 template ({{ name }}, {% if %}, filters). Values come
/// from --vars files, then --var (which wins), over the front matter's
/// defaults (input.default). Every variable the body uses without a default
/// must be given: one error names all the missing ones, and an undefined
/// value is an error, never printed as nothing. A given variable the version
/// neither declares nor uses is a warning (an error with --strict). The text
/// is printed exactly: no newline added.
///
/// A body may include other prompts by revision (a label, an id or prefix,
/// or a bare name for the newest version): {% include "support/tone@prod" %}
/// inserts that version's body, without its front matter. Includes are
/// resolved from the store before rendering; one that names nothing, a loop,
/// or nesting deeper than 16 is an error. Their variables count as the
/// version's, and their defaults apply unless the version declares the
/// variable itself. --json lists each version included, with its full id.
///
/// A split label renders the version --key chooses (`promptrel show --key`);
/// without a key, one drawn by weight at random, named on standard error.
///
/// Example: promptrel render checkout-bot@prod --var customer=Dana --vars order.yaml
///
/// Example (in a prompt's body): Answer {% include "support/tone@prod" %}
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version: NAME, NAME@LABEL, NAME@LABEL~N or NAME@ID_PREFIX.
    rev: String,
    /// For a split label: the key (a user id) that chooses the version.
    ///
    /// Example: promptrel render checkout-bot@prod --key user-4821 --var customer=Dana
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// A variable's value, as a string (repeatable; wins over --vars).
    ///
    /// Example: promptrel render checkout-bot@prod --var customer=Dana --var tone=warm
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A YAML (.yaml, .yml) or JSON (.json) file mapping names to values of
    /// any type (repeatable; later files win).
    ///
    /// Example: promptrel render checkout-bot@prod --vars order.json
    #[arg(long = "vars", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Refuse variables the version neither declares nor uses.
    ///
    /// Example: promptrel render checkout-bot@prod --vars order.yaml --strict
    #[arg(long)]
    strict: bool,
    /// Print {"rev", "id", "text", "variables", "includes": [{"rev", "id"}]}
    /// as JSON: includes lists every version an include loaded, in order,
    /// each once, with the include as written and the full id.
    ///
    /// Example: promptrel render checkout-bot@prod --var customer=Dana --json
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let rev = Rev::parse(&args.rev)?;
    let given = given(&args, ctx)?;
    let store = ctx.store()?;
    let served = store.resolve_keyed(&rev, args.key.as_deref())?;
    let id = &served.id;
    let bytes = store.read(id)?;
    if args.key.is_none() && !args.json {
        report_served(ctx, &rev, &served)?;
    }
    let rendered = Composition::new(&store, rev.to_string(), id.clone(), &bytes)
        .and_then(|composition| composition.render(&given, args.strict))
        .with_context(|| format!("cannot render {rev}"))?;
    if !rendered.unknown.is_empty() {
        warn(
            ctx.color,
            &format!(
                "{rev} neither declares nor uses {}: {} (ignored; --strict refuses them)",
                if rendered.unknown.len() == 1 {
                    "this variable"
                } else {
                    "these variables"
                },
                rendered.unknown.join(", ")
            ),
        )?;
    }
    if args.json {
        let mut out = stdout(ctx.color);
        let doc = serde_json::json!({
            "rev": rev.to_string(),
            "id": id.as_str(),
            "split": served_json(&served, args.key.as_deref()),
            "text": rendered.text,
            "variables": rendered.variables,
            "includes": rendered.includes,
        });
        // As an io::Error, so that a closed pipe is not reported.
        serde_json::to_writer_pretty(&mut out, &doc).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        // Raw stdout: the text exactly, never touched by colour handling.
        let mut out = std::io::stdout().lock();
        out.write_all(rendered.text.as_bytes())?;
        out.flush()?;
    }
    Ok(exit::OK)
}

/// The values given: every --vars file in order, then every --var.
fn given(args: &Args, ctx: &Context) -> Result<Map<String, Value>> {
    let mut given = Map::new();
    for file in &args.files {
        let shown = file.display();
        let text = std::fs::read_to_string(ctx.path(file))
            .with_context(|| format!("cannot read variables from {shown}"))?;
        let value: Value = match file.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                serde_json::from_str(&text).with_context(|| format!("invalid JSON in {shown}"))?
            }
            Some("yaml" | "yml") => {
                if text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_yaml::from_str(&text)
                        .with_context(|| format!("invalid YAML in {shown}"))?
                }
            }
            _ => bail!("cannot tell the format of {shown}: name it .yaml, .yml or .json"),
        };
        match value {
            Value::Object(map) => given.extend(map),
            Value::Null => {}
            _ => bail!("{shown} must map variable names to values (NAME: VALUE)"),
        }
    }
    for pair in &args.vars {
        match pair.split_once('=') {
            Some((name, value)) if is_name(name) => {
                given.insert(name.to_string(), Value::String(value.to_string()));
            }
            _ => bail!(
                "invalid --var {pair:?}: expected NAME=VALUE, NAME being letters, digits and _"
            ),
        }
    }
    Ok(given)
}

/// A Jinja2 variable name: a letter or `_`, then letters, digits or `_`.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `add`: a warning when the stored bytes have invalid front matter. The
/// version is stored all the same (exact bytes); `render` will refuse it.
pub fn warn_invalid_front_matter(
    ctx: &Context,
    name: &promptrel::PromptName,
    bytes: &[u8],
) -> Result<()> {
    if let Err(e) = promptrel::meta::parse(bytes) {
        warn(
            ctx.color,
            &format!("{name}: {e}; the version is stored as is, but render will refuse it"),
        )?;
    }
    Ok(())
}
