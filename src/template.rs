//! Variables and strict rendering of a prompt's body (Jinja2 syntax, by
//! minijinja): `{{ customer }}`, `{% if tone is defined %}…{% endif %}`.
//!
//! Rendering is strict: a variable the body uses must have a value (given,
//! or a default from the front matter), or rendering fails naming every
//! missing one; an undefined value is never printed as nothing. Nothing is
//! escaped, and the body's bytes outside template tags come out unchanged
//! (including a final newline).
//!
//! [`Prompt::render`] renders one version on its own; a body that includes
//! other versions (`{% include "support/tone@prod" %}`) is rendered with
//! [`Composition`](crate::compose::Composition), which resolves them from a
//! store.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{AutoEscape, Environment, Template, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::compose::IncludedVersion;
use crate::error::{Error, Result};
use crate::meta::{self, FrontMatter};

/// A version read as front matter and a template body.
#[derive(Debug, Clone)]
pub struct Prompt<'a> {
    front_matter: Option<FrontMatter>,
    body: &'a str,
    body_line: usize,
    used: BTreeSet<String>,
}

/// A variable of a version: declared in its front matter, used by its body,
/// or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// The name.
    pub name: String,
    /// Declared in the front matter.
    pub declared: bool,
    /// Used by the body.
    pub used: bool,
    /// Its default, from the front matter.
    pub default: Option<Value>,
    /// Declared optional (`NAME?`).
    pub optional: bool,
    /// Set when only an included version declares or uses it, not the
    /// version itself: the first such include, as written
    /// (`support/tone@prod`). Always `None` from [`Prompt::variables`].
    pub via: Option<String>,
}

impl Variable {
    /// Rendering needs a value for it: the body uses it, it has no default,
    /// and it is not declared optional.
    pub fn required(&self) -> bool {
        self.used && self.default.is_none() && !self.optional
    }
}

/// The result of [`Prompt::render`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The rendered body.
    pub text: String,
    /// Every value the body was rendered with: defaults, then the given
    /// values over them.
    pub variables: Map<String, Value>,
    /// Given variables the version neither declares nor uses (sorted).
    pub unknown: Vec<String>,
    /// Every version an include loaded while rendering, in the order first
    /// loaded, each once (always empty from [`Prompt::render`]).
    pub includes: Vec<IncludedVersion>,
}

/// The one template environment: strict undefined values, no escaping, the
/// final newline kept.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    syntax.keep_trailing_newline(true);
    env.set_syntax(syntax.build().expect("default delimiters are valid"));
    env
}

impl<'a> Prompt<'a> {
    /// Read `bytes`: parse the front matter, and the body as a template.
    /// Errors name the line (and column) of the file.
    pub fn parse(bytes: &'a [u8]) -> Result<Prompt<'a>> {
        let doc = meta::parse(bytes)?;
        let body = std::str::from_utf8(doc.body).map_err(|e| {
            let (line, column) = meta::position(&doc.body[..e.valid_up_to()]);
            Error::Template {
                line: Some(line + doc.body_line - 1),
                column: Some(column),
                message: "the body is not UTF-8 text".into(),
            }
        })?;
        let env = environment();
        let template = env
            .template_from_str(body)
            .map_err(|e| template_error(&e, body, doc.body_line))?;
        let declared = doc.front_matter.as_ref().map(|fm| &fm.inputs);
        let used = used_variables(&env, &template, |name| {
            declared.is_some_and(|d| d.contains_key(name))
        });
        Ok(Prompt {
            front_matter: doc.front_matter,
            body,
            body_line: doc.body_line,
            used,
        })
    }

    /// The parsed front matter, if the file has any.
    pub fn front_matter(&self) -> Option<&FrontMatter> {
        self.front_matter.as_ref()
    }

    /// The body (the file without its front matter).
    pub fn body(&self) -> &str {
        self.body
    }

    /// The line of the file the body starts on.
    pub(crate) fn body_line(&self) -> usize {
        self.body_line
    }

    /// The variables the body itself reads without setting them.
    pub(crate) fn used(&self) -> &BTreeSet<String> {
        &self.used
    }

    /// Every variable, declared or used, sorted by name.
    pub fn variables(&self) -> Vec<Variable> {
        let mut out: BTreeMap<&str, Variable> = BTreeMap::new();
        let empty = BTreeMap::new();
        let declared = self.front_matter.as_ref().map_or(&empty, |fm| &fm.inputs);
        for (name, input) in declared {
            out.insert(
                name,
                Variable {
                    name: name.clone(),
                    declared: true,
                    used: self.used.contains(name),
                    default: input.default.clone(),
                    optional: input.optional,
                    via: None,
                },
            );
        }
        for name in &self.used {
            out.entry(name).or_insert_with(|| Variable {
                name: name.clone(),
                declared: false,
                used: true,
                default: None,
                optional: false,
                via: None,
            });
        }
        out.into_values().collect()
    }

    /// The variables rendering needs a value for ([`Variable::required`]).
    pub fn required(&self) -> BTreeSet<String> {
        self.variables()
            .into_iter()
            .filter(Variable::required)
            .map(|v| v.name)
            .collect()
    }

    /// Every variable name the version knows: declared or used.
    pub fn known(&self) -> BTreeSet<String> {
        self.variables().into_iter().map(|v| v.name).collect()
    }

    /// Render the body with `given` values over the front matter's defaults.
    ///
    /// Fails with [`Error::MissingVariables`] naming every required variable
    /// without a value; with `strict`, also with [`Error::UnknownVariables`]
    /// when a given variable is neither declared nor used (without it, they
    /// are listed in [`Rendered::unknown`]). The body is rendered on its own:
    /// an `{% include %}` fails, as there is no store to resolve it from.
    pub fn render(&self, given: &Map<String, Value>, strict: bool) -> Result<Rendered> {
        let (context, unknown) = values(&self.variables(), given, strict)?;
        let env = environment();
        let template = env
            .template_from_str(self.body)
            .map_err(|e| template_error(&e, self.body, self.body_line))?;
        let text = template
            .render(jinja_context(&context))
            .map_err(|e| template_error(&e, self.body, self.body_line))?;
        Ok(Rendered {
            text,
            variables: context,
            unknown,
            includes: Vec::new(),
        })
    }
}

/// The variables `template` reads without setting them itself. `range`,
/// `dict`… are functions, left out unless `keep` says the name is a
/// variable here (declared, say).
pub(crate) fn used_variables(
    env: &Environment<'_>,
    template: &Template<'_, '_>,
    keep: impl Fn(&str) -> bool,
) -> BTreeSet<String> {
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    template
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !globals.contains(name.as_str()) || keep(name))
        .collect()
}

/// The values to render with, checked against `variables`: defaults, then
/// `given` over them; and the given names no variable knows.
///
/// Fails naming every required variable without a value, and with `strict`
/// when a given name is unknown.
pub(crate) fn values(
    variables: &[Variable],
    given: &Map<String, Value>,
    strict: bool,
) -> Result<(Map<String, Value>, Vec<String>)> {
    let missing: Vec<&Variable> = variables
        .iter()
        .filter(|v| v.required() && !given.contains_key(&v.name))
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingVariables {
            via: missing
                .iter()
                .filter_map(|v| Some((v.name.clone(), v.via.clone()?)))
                .collect(),
            missing: missing.into_iter().map(|v| v.name.clone()).collect(),
        });
    }
    let unknown: Vec<String> = given
        .keys()
        .filter(|k| !variables.iter().any(|v| &v.name == *k))
        .cloned()
        .collect();
    if strict && !unknown.is_empty() {
        return Err(Error::UnknownVariables {
            unknown,
            known: variables.iter().map(|v| v.name.clone()).collect(),
        });
    }
    let mut context = Map::new();
    for v in variables {
        if let Some(default) = &v.default {
            context.insert(v.name.clone(), default.clone());
        }
    }
    for (name, value) in given {
        context.insert(name.clone(), value.clone());
    }
    Ok((context, unknown))
}

/// JSON values as the template's context.
pub(crate) fn jinja_context(values: &Map<String, Value>) -> BTreeMap<String, minijinja::Value> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), to_jinja(v)))
        .collect()
}

/// A minijinja error at the file's line and column, quoting the source it
/// points at (the name of an undefined variable, say).
pub(crate) fn template_error(err: &minijinja::Error, body: &str, body_line: usize) -> Error {
    let mut message = err.kind().to_string();
    let range = err
        .range()
        .filter(|r| r.start <= r.end && body.get(r.clone()).is_some());
    if let Some(range) = &range
        && err.kind() == minijinja::ErrorKind::UndefinedError
    {
        let quoted = &body[range.clone()];
        if !quoted.is_empty() && !quoted.contains('\n') && quoted.len() <= 60 {
            message.push_str(&format!(" `{quoted}`"));
        }
    }
    // minijinja's detail for an undefined name only repeats the name.
    let repeated = |detail: &str| {
        range
            .as_ref()
            .is_some_and(|r| detail == format!("`{}` is undefined", &body[r.clone()]))
    };
    if let Some(detail) = err.detail().filter(|d| !repeated(d)) {
        message.push_str(": ");
        message.push_str(detail);
    }
    let (line, column) = match &range {
        Some(r) => {
            let (l, c) = meta::position(&body.as_bytes()[..r.start]);
            (Some(l), Some(c))
        }
        None => (err.line(), None),
    };
    Error::Template {
        line: line.map(|l| l + body_line - 1),
        column,
        message,
    }
}

/// A JSON value as a template value.
fn to_jinja(value: &Value) -> minijinja::Value {
    match value {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                minijinja::Value::from(i)
            } else if let Some(u) = n.as_u64() {
                minijinja::Value::from(u)
            } else {
                minijinja::Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(items) => items.iter().map(to_jinja).collect::<Vec<_>>().into(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), to_jinja(v)))
            .collect::<BTreeMap<_, _>>()
            .into(),
    }
}

/// What promoting `arriving` over `leaving` does to the variables callers
/// must pass ([`Store::promote`](crate::Store::promote)'s guard).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VarChanges {
    /// Required by the arriving version and not by the leaving one.
    pub new_required: Vec<String>,
    /// Known (declared or used) by the leaving version and not by the
    /// arriving one: callers still passing them get an unknown-variable
    /// warning (an error under `render --strict`).
    pub removed: Vec<String>,
}

/// Compare two versions' variables; `None` when either does not parse
/// (invalid front matter, not UTF-8, or not a valid template).
pub fn compare(leaving: &[u8], arriving: &[u8]) -> Option<VarChanges> {
    compare_all(&[leaving], &[arriving])
}

/// [`compare`] for labels that serve several versions (a split): callers
/// already pass every variable some leaving version requires, since any of
/// them may be served, so a variable is newly required when some arriving
/// version requires it and no leaving version did; it is removed when some
/// leaving version knew it and no arriving version does. `None` when any
/// version does not parse.
pub fn compare_all(leaving: &[&[u8]], arriving: &[&[u8]]) -> Option<VarChanges> {
    let union = |versions: &[&[u8]]| -> Option<(BTreeSet<String>, BTreeSet<String>)> {
        let (mut required, mut known) = (BTreeSet::new(), BTreeSet::new());
        for bytes in versions {
            let prompt = Prompt::parse(bytes).ok()?;
            required.extend(prompt.required());
            known.extend(prompt.known());
        }
        Some((required, known))
    };
    let ((old_required, old_known), (new_required, new_known)) =
        (union(leaving)?, union(arriving)?);
    Some(VarChanges {
        new_required: new_required.difference(&old_required).cloned().collect(),
        removed: old_known.difference(&new_known).cloned().collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn render(bytes: &[u8], given: &[(&str, Value)]) -> Result<Rendered> {
        Prompt::parse(bytes)?.render(&vars(given), false)
    }

    #[test]
    fn renders_exactly_with_the_trailing_newline_and_no_escaping() {
        let out = render(b"Hi {{ name }} & <b>\n\n", &[("name", json!("Ann & Bo"))]).unwrap();
        assert_eq!(out.text, "Hi Ann & Bo & <b>\n\n");
        let out = render(b"no newline {{ n }}", &[("n", json!(3))]).unwrap();
        assert_eq!(out.text, "no newline 3");
        // Plain text without tags comes out unchanged.
        assert_eq!(render(b"Be brief.\n", &[]).unwrap().text, "Be brief.\n");
    }

    #[test]
    fn every_missing_variable_is_named() {
        let err = render(b"{{ b }} {{ a }} {{ c }}", &[("c", json!(1))]).unwrap_err();
        match err {
            Error::MissingVariables { missing, via } => {
                assert_eq!(missing, ["a", "b"]);
                assert!(via.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_apply_and_given_values_win() {
        let p = b"---\ninput:\n  default: {tone: friendly, n: 2}\n---\n{{ tone }} {{ n }}\n";
        assert_eq!(render(p, &[]).unwrap().text, "friendly 2\n");
        let out = render(p, &[("tone", json!("curt"))]).unwrap();
        assert_eq!(out.text, "curt 2\n");
        assert_eq!(
            Value::Object(out.variables),
            json!({"tone": "curt", "n": 2})
        );
    }

    #[test]
    fn unknown_variables_are_listed_or_refused_when_strict() {
        let p =
            Prompt::parse(b"---\ninput: {schema: {declared: string}}\n---\n{{ used }}").unwrap();
        let given = vars(&[
            ("used", json!(1)),
            ("declared", json!(2)),
            ("extra", json!(3)),
        ]);
        assert_eq!(p.render(&given, false).unwrap().unknown, ["extra"]);
        match p.render(&given, true).unwrap_err() {
            Error::UnknownVariables { unknown, known } => {
                assert_eq!(unknown, ["extra"]);
                assert_eq!(known, ["declared", "used"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn variables_are_declared_used_or_both() {
        let p = Prompt::parse(
            b"---\ninput:\n  schema: {a: string, b?: string, d: string}\n  default: {d: x}\n---\n\
              {% set local = 1 %}{% for i in range(2) %}{{ loop.index }}{{ i }}{% endfor %}\
              {{ a }}{% if b is defined %}{{ b }}{% endif %}{{ c.name }}{{ d }}{{ local }}",
        )
        .unwrap();
        let v = p.variables();
        let summary: Vec<(&str, bool, bool, bool)> = v
            .iter()
            .map(|v| (v.name.as_str(), v.declared, v.used, v.required()))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", true, true, true),
                ("b", true, true, false),
                ("c", false, true, true),
                ("d", true, true, false),
            ]
        );
        assert_eq!(p.required(), BTreeSet::from(["a".into(), "c".into()]));
        let out = p
            .render(
                &vars(&[("a", json!("A")), ("c", json!({"name": "C"}))]),
                true,
            )
            .unwrap();
        assert_eq!(out.text, "1021ACx1");
    }

    #[test]
    fn undefined_values_are_errors_not_empty() {
        // An optional variable printed without a guard: not a missing
        // variable up front, but still never printed as nothing.
        let p = b"---\ninput: {schema: {b?: string}}\n---\nline\nx {{ b }}\n";
        match render(p, &[]).unwrap_err() {
            Error::Template {
                line,
                column,
                message,
            } => {
                assert_eq!((line, column), (Some(5), Some(6)), "{message}");
                assert!(message.contains("undefined value `b`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // An attribute the value lacks.
        let err = render(b"{{ user.name }}", &[("user", json!({}))]).unwrap_err();
        assert!(matches!(err, Error::Template { .. }), "{err:?}");
    }

    #[test]
    fn syntax_errors_give_the_files_line() {
        let err = Prompt::parse(b"---\na: 1\n---\nok\n{{ oops \n").unwrap_err();
        match err {
            Error::Template { line, message, .. } => {
                assert_eq!(line, Some(5), "{message}");
                assert!(message.starts_with("syntax error"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let err = Prompt::parse(b"---\na: 1\n---\nok\n\xff").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Template {
                    line: Some(5),
                    column: Some(1),
                    ..
                }
            ),
            "{err:?}"
        );
        // Invalid front matter is reported as such.
        assert!(matches!(
            Prompt::parse(b"---\na: [\n---\n{{ x }}").unwrap_err(),
            Error::FrontMatter { .. }
        ));
    }

    #[test]
    fn compare_reports_new_required_and_removed_variables() {
        let old = b"{{ a }} {{ b }}";
        let new = b"---\ninput: {default: {b: x}}\n---\n{{ b }} {{ c }}";
        assert_eq!(
            compare(old, new),
            Some(VarChanges {
                new_required: vec!["c".into()],
                removed: vec!["a".into()],
            })
        );
        // A default taken away makes the variable newly required.
        assert_eq!(compare(new, old).unwrap().new_required, ["a", "b"]);
        assert_eq!(compare(old, b"{{ oops"), None);
        assert_eq!(compare(b"---\n[\n---\n", old), None);
    }
}
