use std::io::Write;

use anyhow::{Context as _, Result};
use promptrel::Rev;
use promptrel::compose::Composition;

use crate::cli::context::Context;
use crate::cli::output::{exit, stdout, style};

/// List the variables a version uses and declares, and which have defaults.
///
/// A variable is declared in the front matter (input.schema, input.default,
/// or Prompty's inputs) or used by the body ({{ name }}), or both. It is
/// required when the body uses it without a default and it is not declared
/// optional (NAME? in input.schema): render refuses to run without it, and
/// promote refuses to move a label to a version requiring more than the
/// label's current one.
///
/// Variables of included prompts ({% include "support/tone@prod" %}) are
/// listed too, marked with the include that brings them. The promotion
/// guard compares the version's own body only.
///
/// Example: promptrel vars checkout-bot@staging
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The version: NAME, NAME@LABEL, NAME@LABEL~N or NAME@ID_PREFIX.
    rev: String,
    /// Print {"rev", "id", "variables": [{"name", "declared", "used",
    /// "required", "optional", "has_default", "default", "via"}],
    /// "includes": [{"rev", "id"}]} as JSON. via, present when only an
    /// included prompt knows the variable, is that include; includes are
    /// the versions the version's includes name, depth first.
    ///
    /// Example: promptrel vars checkout-bot@staging --json
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<u8> {
    let rev = Rev::parse(&args.rev)?;
    let store = ctx.store()?;
    let id = store.resolve(&rev)?;
    let bytes = store.read(&id)?;
    let composition = Composition::new(&store, rev.to_string(), id.clone(), &bytes)
        .with_context(|| format!("cannot read the variables of {rev}"))?;
    let variables = composition.variables();
    let mut out = stdout(ctx.color);
    if args.json {
        let list: Vec<_> = variables
            .iter()
            .map(|v| {
                let mut entry = serde_json::json!({
                    "name": v.name,
                    "declared": v.declared,
                    "used": v.used,
                    "required": v.required(),
                    "optional": v.optional,
                    "has_default": v.default.is_some(),
                });
                if let Some(default) = &v.default {
                    entry["default"] = default.clone();
                }
                if let Some(via) = &v.via {
                    entry["via"] = via.as_str().into();
                }
                entry
            })
            .collect();
        let doc = serde_json::json!({
            "rev": rev.to_string(),
            "id": id.as_str(),
            "variables": list,
            "includes": composition.includes(),
        });
        // As an io::Error, so that a closed pipe is not reported.
        serde_json::to_writer_pretty(&mut out, &doc).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    if variables.is_empty() {
        writeln!(out, "{rev} has no variables")?;
        return Ok(exit::OK);
    }
    let width = variables.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let b = style::BOLD;
    for v in &variables {
        let status = match &v.default {
            _ if v.required() => "required".to_string(),
            Some(default) => format!("default {default}"),
            None if v.optional => "optional".to_string(),
            None => "not needed".to_string(),
        };
        let note = match (&v.via, v.declared, v.used) {
            (Some(include), _, _) => format!("  (from include {include})"),
            (None, false, _) => "  (used by the body, not declared)".into(),
            (None, true, false) => "  (declared, not used by the body)".into(),
            (None, true, true) => String::new(),
        };
        let name = format!("{:<width$}", v.name);
        writeln!(out, "{b}{name}{b:#}  {status}{note}")?;
    }
    Ok(exit::OK)
}
