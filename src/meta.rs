//! Front matter: the YAML block a prompt file may start with, in the style
//! of Dotprompt and Prompty files (model, parameters, declared input
//! variables with defaults, a description, anything else).
//!
//! A version is still stored as its exact bytes: front matter is only a way
//! of reading them, applied when a command needs it (`show --meta`,
//! `show --body`, `render`, `vars`, `diff --meta`, the promotion guard).
//!
//! **Recognition.** A file has front matter when its first line is exactly
//! `---` (ending in `\n` or `\r\n`). The front matter runs to the next line
//! that is exactly `---` (ending in `\n`, `\r\n`, or the end of the file);
//! the body is every byte after that line. A first line `---` that no such
//! line closes is invalid front matter. A file that does not start with `---`
//! has no front matter, and its body is the whole file.
//!
//! **Schema** (Dotprompt's names; every other key is kept as written):
//!
//! ```yaml
//! ---
//! description: Checkout assistant, short answers
//! model: openai/gpt-4o-mini
//! config:                 # the model parameters
//!   temperature: 0.2
//!   max_tokens: 300
//! input:
//!   schema:               # Picoschema: NAME, NAME? (optional), NAME(TYPE): ...
//!     customer: string
//!     tone?: string
//!   default:
//!     tone: friendly
//! ---
//! ```
//!
//! `input.schema` may also be a JSON Schema object (`type: object`,
//! `properties`, `required`, per-property `default`). For Prompty files,
//! `inputs: {NAME: {default: VALUE, ...}}` declares variables too, and
//! `model.parameters` holds parameters when `config` is absent.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A prompt file split into its front matter and body (no YAML parsed yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// The bytes between the two `---` lines; `None` when the file has no
    /// front matter.
    pub front: Option<&'a [u8]>,
    /// Every byte after the closing `---` line (the whole file when there is
    /// no front matter).
    pub body: &'a [u8],
    /// The line of the file the body starts on (1 without front matter).
    pub body_line: usize,
}

/// Split `bytes` into front matter and body, by the delimiter lines alone.
///
/// Fails only when the first line is `---` and no later `---` line closes it.
pub fn split(bytes: &[u8]) -> Result<Split<'_>> {
    let Some(open) = delimiter_len(bytes) else {
        return Ok(Split {
            front: None,
            body: bytes,
            body_line: 1,
        });
    };
    let mut start = open; // start of the current line
    let mut line = 2;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let is_close = rest == b"---" || delimiter_len(rest).is_some();
        if is_close {
            let close = if rest == b"---" {
                3
            } else {
                delimiter_len(rest).unwrap_or(3)
            };
            return Ok(Split {
                front: Some(&bytes[open..start]),
                body: &bytes[start + close..],
                body_line: line + 1,
            });
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => {
                start += nl + 1;
                line += 1;
            }
            None => break,
        }
    }
    Err(Error::FrontMatter {
        line: 1,
        column: 1,
        message: "the `---` line opens front matter that no later `---` line closes".into(),
    })
}

/// The length of a `---\n` or `---\r\n` line at the start of `bytes`.
fn delimiter_len(bytes: &[u8]) -> Option<usize> {
    if bytes.starts_with(b"---\n") {
        Some(4)
    } else if bytes.starts_with(b"---\r\n") {
        Some(5)
    } else {
        None
    }
}

/// A file read as front matter and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<'a> {
    /// The parsed front matter (`None`: the file has none).
    pub front_matter: Option<FrontMatter>,
    /// The body: every byte after the front matter, exactly.
    pub body: &'a [u8],
    /// The line of the file the body starts on.
    pub body_line: usize,
}

/// Split `bytes` and parse its front matter. Errors give the file's line
/// and column.
pub fn parse(bytes: &[u8]) -> Result<Document<'_>> {
    let split = split(bytes)?;
    let front_matter = match split.front {
        None => None,
        Some(front) => {
            let text = std::str::from_utf8(front).map_err(|e| {
                let (line, column) = position(&front[..e.valid_up_to()]);
                Error::FrontMatter {
                    line: line + 1,
                    column,
                    message: "it is not UTF-8 text".into(),
                }
            })?;
            Some(FrontMatter::parse(text, 2)?)
        }
    };
    Ok(Document {
        front_matter,
        body: split.body,
        body_line: split.body_line,
    })
}

/// Line and column (1-based) just after `before`.
pub(crate) fn position(before: &[u8]) -> (usize, usize) {
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = 1 + String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count();
    (line, column)
}

/// Parsed front matter: every key as written, and the declared variables.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrontMatter {
    /// Every top-level key and its value, keys sorted (unknown keys kept).
    pub fields: Map<String, Value>,
    /// The declared input variables, by name.
    pub inputs: BTreeMap<String, Input>,
}

/// A declared input variable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Input {
    /// Its default value (`input.default`, a JSON Schema property's
    /// `default`, or Prompty's `inputs.NAME.default`).
    pub default: Option<Value>,
    /// Declared optional (`NAME?` in Picoschema, or left out of a JSON
    /// Schema's `required`): rendering does not demand it.
    pub optional: bool,
}

/// The types of the keys promptrel interprets, so that a wrong shape is
/// reported with its line and column by the YAML parser (the fields are
/// only checked, never read).
#[derive(Deserialize)]
#[allow(dead_code)]
struct Shape {
    #[serde(default)]
    config: Option<BTreeMap<String, IgnoredAny>>,
    #[serde(default)]
    input: Option<InputShape>,
    #[serde(default)]
    inputs: Option<BTreeMap<String, IgnoredAny>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct InputShape {
    #[serde(default)]
    default: Option<BTreeMap<String, IgnoredAny>>,
}

impl FrontMatter {
    /// Parse the YAML text of a front matter block that starts on line
    /// `first_line` of its file (errors name lines of the file).
    pub fn parse(yaml: &str, first_line: usize) -> Result<FrontMatter> {
        let offset = first_line - 1;
        let value: Value = if yaml.trim().is_empty() {
            Value::Null
        } else {
            // YAML's own value first: it refuses duplicate keys at any depth.
            serde_yaml::from_str::<serde_yaml::Value>(yaml).map_err(|e| yaml_error(&e, offset))?;
            serde_yaml::from_str(yaml).map_err(|e| yaml_error(&e, offset))?
        };
        let fields = match value {
            Value::Null => Map::new(),
            Value::Object(map) => map,
            other => {
                return Err(Error::FrontMatter {
                    line: first_line,
                    column: 1,
                    message: format!(
                        "front matter must be a mapping of `key: value` lines, not {}",
                        kind(&other)
                    ),
                });
            }
        };
        if !fields.is_empty() {
            serde_yaml::from_str::<Shape>(yaml).map_err(|e| yaml_error(&e, offset))?;
        }
        let inputs = declared_inputs(&fields);
        Ok(FrontMatter { fields, inputs })
    }

    /// `model`, as written (a string, or a Prompty mapping).
    pub fn model(&self) -> Option<&Value> {
        self.fields.get("model")
    }

    /// `description`, when it is a string.
    pub fn description(&self) -> Option<&str> {
        self.fields.get("description").and_then(Value::as_str)
    }

    /// The model parameters: `config`, else Prompty's `model.parameters`.
    pub fn parameters(&self) -> Map<String, Value> {
        let from = |v: Option<&Value>| v.and_then(Value::as_object).cloned();
        from(self.fields.get("config"))
            .or_else(|| from(self.model().and_then(|m| m.get("parameters"))))
            .unwrap_or_default()
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The parser's error at the file's line and column. Positions the message
/// itself mentions ("while parsing a block mapping at line 1 column 1") are
/// shifted to lines of the file too.
fn yaml_error(err: &serde_yaml::Error, offset: usize) -> Error {
    let (line, column) = err
        .location()
        .map_or((offset + 1, 1), |l| (l.line() + offset, l.column()));
    let text = err.to_string();
    let mut message = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find(" at line ") {
        let (before, after) = rest.split_at(at);
        message.push_str(before);
        let tail = &after[" at line ".len()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        let number = tail[..digits].parse::<usize>();
        let column_part = tail[digits..].strip_prefix(" column ");
        match (number, column_part) {
            (Ok(n), Some(col)) => {
                let col_digits = col.bytes().take_while(u8::is_ascii_digit).count();
                if (n, col[..col_digits].parse().unwrap_or(0)) != (line - offset, column) {
                    message.push_str(&format!(
                        " at line {}, column {}",
                        n + offset,
                        &col[..col_digits]
                    ));
                }
                rest = &col[col_digits..];
            }
            _ => {
                message.push_str(" at line ");
                rest = tail;
            }
        }
    }
    message.push_str(rest);
    Error::FrontMatter {
        line,
        column,
        message,
    }
}

/// The variables the front matter declares.
fn declared_inputs(fields: &Map<String, Value>) -> BTreeMap<String, Input> {
    let mut inputs: BTreeMap<String, Input> = BTreeMap::new();
    if let Some(input) = fields.get("input").and_then(Value::as_object) {
        match input.get("schema").and_then(Value::as_object) {
            Some(schema)
                if schema.get("type").and_then(Value::as_str) == Some("object")
                    && schema.get("properties").is_some_and(Value::is_object) =>
            {
                // JSON Schema.
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let properties = schema["properties"].as_object().expect("checked above");
                for (name, property) in properties {
                    inputs.insert(
                        name.clone(),
                        Input {
                            default: property.get("default").cloned(),
                            optional: !required.contains(&name.as_str()),
                        },
                    );
                }
            }
            Some(schema) => {
                // Picoschema: `name`, `name?`, `name(type)`, `name?(type, description)`.
                for key in schema.keys() {
                    let bare = key.split('(').next().unwrap_or(key).trim();
                    let (name, optional) = match bare.strip_suffix('?') {
                        Some(name) => (name.trim(), true),
                        None => (bare, false),
                    };
                    if !name.is_empty() {
                        inputs.entry(name.to_string()).or_default().optional = optional;
                    }
                }
            }
            None => {}
        }
        if let Some(defaults) = input.get("default").and_then(Value::as_object) {
            for (name, value) in defaults {
                inputs.entry(name.clone()).or_default().default = Some(value.clone());
            }
        }
    }
    // Prompty: `inputs: {NAME: {type, default, description}}`.
    if let Some(declared) = fields.get("inputs").and_then(Value::as_object) {
        for (name, spec) in declared {
            let input = inputs.entry(name.clone()).or_default();
            if input.default.is_none() {
                input.default = spec.get("default").cloned();
            }
        }
    }
    inputs
}

/// One difference between two versions' front matter, for `diff --meta`.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A top-level key other than the parameters and variables (`model`,
    /// `description`, anything else); `None` is absent.
    Field {
        /// The key.
        key: String,
        /// Its old value.
        old: Option<Value>,
        /// Its new value.
        new: Option<Value>,
    },
    /// A model parameter ([`FrontMatter::parameters`]).
    Parameter {
        /// The parameter.
        name: String,
        /// Its old value.
        old: Option<Value>,
        /// Its new value.
        new: Option<Value>,
    },
    /// A declared variable.
    Variable {
        /// The variable.
        name: String,
        /// Its old declaration.
        old: Option<Input>,
        /// Its new declaration.
        new: Option<Input>,
    },
}

/// What changed from `old` to `new` (either may have no front matter):
/// `model`, `description`, parameters, variables, then other keys.
pub fn changes(old: Option<&FrontMatter>, new: Option<&FrontMatter>) -> Vec<Change> {
    let empty = FrontMatter::default();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let mut out = Vec::new();
    // Interpreted keys are compared by meaning below; Prompty's parameters
    // live inside `model`, so they are left out of its comparison.
    let field = |fm: &FrontMatter, key: &str| -> Option<Value> {
        let mut value = fm.fields.get(key).cloned()?;
        if key == "model"
            && !fm.fields.contains_key("config")
            && let Value::Object(map) = &mut value
        {
            map.remove("parameters");
        }
        Some(value)
    };
    let interpreted = ["model", "description", "config", "input", "inputs"];
    let mut keys: Vec<&String> = old.fields.keys().chain(new.fields.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut push_field = |key: &str| {
        let (o, n) = (field(old, key), field(new, key));
        if o != n {
            out.push(Change::Field {
                key: key.to_string(),
                old: o,
                new: n,
            });
        }
    };
    push_field("model");
    push_field("description");
    diff_maps(&old.parameters(), &new.parameters(), |name, o, n| {
        out.push(Change::Parameter {
            name: name.to_string(),
            old: o.cloned(),
            new: n.cloned(),
        })
    });
    let mut names: Vec<&String> = old.inputs.keys().chain(new.inputs.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (o, n) = (old.inputs.get(name), new.inputs.get(name));
        if o != n {
            out.push(Change::Variable {
                name: name.clone(),
                old: o.cloned(),
                new: n.cloned(),
            });
        }
    }
    for key in keys {
        if !interpreted.contains(&key.as_str()) {
            let (o, n) = (field(old, key), field(new, key));
            if o != n {
                out.push(Change::Field {
                    key: key.clone(),
                    old: o,
                    new: n,
                });
            }
        }
    }
    out
}

fn diff_maps(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    mut changed: impl FnMut(&str, Option<&Value>, Option<&Value>),
) {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if o != n {
            changed(key, o, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn front_error(bytes: &[u8]) -> (usize, usize, String) {
        match parse(bytes) {
            Err(Error::FrontMatter {
                line,
                column,
                message,
            }) => (line, column, message),
            other => panic!("expected a front matter error, got {other:?}"),
        }
    }

    #[test]
    fn split_finds_the_delimiters() {
        let s = split(b"---\nmodel: x\n---\nHello\n").unwrap();
        assert_eq!(s.front, Some(&b"model: x\n"[..]));
        assert_eq!(s.body, b"Hello\n");
        assert_eq!(s.body_line, 4);

        let s = split(b"---\r\nmodel: x\r\n---\r\nHi").unwrap();
        assert_eq!(s.front, Some(&b"model: x\r\n"[..]));
        assert_eq!(s.body, b"Hi");

        // Empty front matter, and a closing line at the end of the file.
        let s = split(b"---\n---\n").unwrap();
        assert_eq!((s.front, s.body), (Some(&b""[..]), &b""[..]));
        let s = split(b"---\na: 1\n---").unwrap();
        assert_eq!((s.front, s.body), (Some(&b"a: 1\n"[..]), &b""[..]));
    }

    #[test]
    fn no_front_matter_is_the_whole_file() {
        for bytes in [
            &b"Hello\n---\n"[..],
            b"--- \nx\n---\n",
            b"----\n",
            b"",
            b"\xff",
        ] {
            let s = split(bytes).unwrap();
            assert_eq!((s.front, s.body, s.body_line), (None, bytes, 1));
        }
        // `---` must be the whole line to close, too.
        assert_eq!(
            split(b"---\na: 1\n--- \n----\n---\nB")
                .unwrap()
                .front
                .unwrap(),
            b"a: 1\n--- \n----\n"
        );
    }

    #[test]
    fn unclosed_front_matter_is_an_error_on_line_1() {
        let (line, column, message) = front_error(b"---\nmodel: x\nHello\n");
        assert_eq!((line, column), (1, 1));
        assert!(message.contains("no later `---` line closes"), "{message}");
    }

    #[test]
    fn parses_the_dotprompt_schema() {
        let doc = parse(
            b"---\n\
              description: Checkout\n\
              model: openai/gpt-4o\n\
              config: {temperature: 0.2, max_tokens: 300}\n\
              input:\n  schema:\n    customer: string\n    tone?: string\n    order(object):\n      id: string\n  default:\n    tone: friendly\n\
              owner: dana\n\
              ---\nHi {{ customer }}\n",
        )
        .unwrap();
        let fm = doc.front_matter.unwrap();
        assert_eq!(doc.body, b"Hi {{ customer }}\n");
        assert_eq!(doc.body_line, 15);
        assert_eq!(fm.description(), Some("Checkout"));
        assert_eq!(fm.model(), Some(&json!("openai/gpt-4o")));
        assert_eq!(
            Value::Object(fm.parameters()),
            json!({"temperature": 0.2, "max_tokens": 300})
        );
        assert_eq!(fm.fields["owner"], json!("dana"));
        let inputs: Vec<_> = fm.inputs.iter().collect();
        assert_eq!(
            inputs,
            [
                (&"customer".to_string(), &Input::default()),
                (&"order".to_string(), &Input::default()),
                (
                    &"tone".to_string(),
                    &Input {
                        default: Some(json!("friendly")),
                        optional: true
                    }
                ),
            ]
        );
    }

    #[test]
    fn parses_json_schema_and_prompty_inputs() {
        let fm = parse(
            b"---\ninput:\n  schema:\n    type: object\n    properties:\n      a: {type: string}\n      b: {type: string, default: x}\n    required: [a]\n---\n",
        )
        .unwrap()
        .front_matter
        .unwrap();
        assert_eq!(fm.inputs["a"], Input::default());
        assert_eq!(
            fm.inputs["b"],
            Input {
                default: Some(json!("x")),
                optional: true
            }
        );

        let fm = parse(
            b"---\nmodel:\n  api: chat\n  parameters: {temperature: 0}\ninputs:\n  name: {type: string, default: Jane}\n  topic: {type: string}\n---\n",
        )
        .unwrap()
        .front_matter
        .unwrap();
        assert_eq!(fm.inputs["name"].default, Some(json!("Jane")));
        assert_eq!(fm.inputs["topic"], Input::default());
        assert_eq!(Value::Object(fm.parameters()), json!({"temperature": 0}));
    }

    #[test]
    fn empty_front_matter_is_an_empty_mapping() {
        let fm = parse(b"---\n# nothing yet\n---\nbody")
            .unwrap()
            .front_matter
            .unwrap();
        assert_eq!(fm, FrontMatter::default());
    }

    #[test]
    fn yaml_errors_give_the_files_line_and_column() {
        let (line, column, message) = front_error(b"---\nmodel: x\ntemperature: [1, 2\n---\nbody");
        assert_eq!(line, 4, "{message}");
        assert!(column >= 1, "{message}");
        // Positions inside the message are lines of the file too.
        assert!(
            message.ends_with("while parsing a flow sequence at line 3, column 14"),
            "{message}"
        );

        let (line, column, message) = front_error(b"---\nmodel: x\n  bad: indent\n---\n");
        assert_eq!((line, column), (3, 6), "{message}");

        // The parser places a duplicate at the mapping that holds it.
        let (line, column, message) = front_error(b"---\na: 1\na: 2\n---\n");
        assert_eq!((line, column), (2, 1), "{message}");
        assert!(message.contains("duplicate"), "{message}");
    }

    #[test]
    fn wrong_shapes_are_errors_with_a_position() {
        let (line, column, message) = front_error(b"---\n- a\n- b\n---\n");
        assert_eq!((line, column), (2, 1));
        assert!(message.contains("mapping"), "{message}");

        let (line, column, message) = front_error(b"---\nmodel: x\nconfig: 3\n---\n");
        assert_eq!((line, column), (3, 9), "{message}");
        assert!(message.starts_with("config: invalid type"), "{message}");

        let (line, _, message) = front_error(b"---\ninput:\n  default: [a]\n---\n");
        assert_eq!(line, 3, "{message}");
        assert!(
            message.starts_with("input.default: invalid type"),
            "{message}"
        );
    }

    #[test]
    fn non_utf8_front_matter_is_an_error() {
        let (line, column, _) = front_error(b"---\na: 1\nb: \xff\n---\n");
        assert_eq!((line, column), (3, 4));
        // A non-UTF-8 body is fine here: it is only split off.
        assert_eq!(parse(b"---\na: 1\n---\n\xff").unwrap().body, b"\xff");
    }

    #[test]
    fn changes_are_summarised_by_meaning() {
        let fm = |yaml: &str| FrontMatter::parse(yaml, 2).unwrap();
        let old = fm(
            "model: a\nconfig: {temperature: 0.7, top_p: 1}\ninput: {schema: {customer: string, order: string}}\nowner: x\n",
        );
        let new = fm(
            "model: b\nconfig: {temperature: 0.2, max_tokens: 10}\ninput: {schema: {customer: string, tone?: string}, default: {customer: there}}\n",
        );
        let changes = changes(Some(&old), Some(&new));
        assert_eq!(
            changes,
            [
                Change::Field {
                    key: "model".into(),
                    old: Some(json!("a")),
                    new: Some(json!("b"))
                },
                Change::Parameter {
                    name: "max_tokens".into(),
                    old: None,
                    new: Some(json!(10))
                },
                Change::Parameter {
                    name: "temperature".into(),
                    old: Some(json!(0.7)),
                    new: Some(json!(0.2))
                },
                Change::Parameter {
                    name: "top_p".into(),
                    old: Some(json!(1)),
                    new: None
                },
                Change::Variable {
                    name: "customer".into(),
                    old: Some(Input::default()),
                    new: Some(Input {
                        default: Some(json!("there")),
                        optional: false
                    })
                },
                Change::Variable {
                    name: "order".into(),
                    old: Some(Input::default()),
                    new: None
                },
                Change::Variable {
                    name: "tone".into(),
                    old: None,
                    new: Some(Input {
                        default: None,
                        optional: true
                    })
                },
                Change::Field {
                    key: "owner".into(),
                    old: Some(json!("x")),
                    new: None
                },
            ]
        );
        assert_eq!(super::changes(Some(&old), Some(&old)), []);
        assert_eq!(super::changes(None, None), []);
    }
}
