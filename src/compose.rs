//! Composition: a version whose body includes others,
//! `{% include "support/tone@prod" %}`, rendered with every include resolved
//! from the store.
//!
//! **Names.** An include names a revision in the command line's grammar:
//! `NAME@LABEL`, `NAME@ID` (a full id, or a unique prefix of at least 4 hex
//! digits), `NAME@LABEL~N`, `NAME~N`, or `NAME` (the newest version). Names
//! are absolute: `tone@prod` inside `support/refund-bot` is the prompt
//! `tone`. Within one rendering an include text resolves once, so it names
//! one version throughout.
//!
//! **Bodies.** What is included is the named version's body: its front
//! matter is stripped, and so is one final line break (`\n` or `\r\n`), as
//! Jinja2 does for every template by default, so that a file ending in a
//! newline, included on a line of its own, adds no blank line. (The version
//! rendered keeps its final newline.) The body is a template rendered with
//! the same values as the including one (Jinja's `include`), strictly: an
//! undefined value is an error there too.
//!
//! **Variables and defaults.** The variables of included bodies are
//! variables of the version rendered: a required one without a value is
//! named up front, with the others. A variable the version rendered declares
//! is governed by its declaration alone (its default, or none; optional or
//! not). For any other, the first included version declaring it (depth
//! first, in the order written) gives its default and whether it is
//! optional: an included version's defaults apply to the whole rendering, as
//! if the version rendered declared them. Included versions' other front
//! matter keys (model, config…) are ignored.
//!
//! **Before rendering**, every include written as a string literal is
//! resolved, in the version and in what it includes, whether rendering will
//! reach it or not: a dangling include fails every rendering, not only those
//! that take its branch. `{% include "…" ignore missing %}` is skipped when
//! it names no prompt, label or version (and is still an error when it is
//! malformed or ambiguous).
//!
//! **Loops and depth.** A version may not include itself, directly or
//! through others: reaching a version already on the chain of includes is
//! an [`Error::IncludeLoop`] naming the chain (`a@prod -> b@prod ->
//! a@prod`), even if a condition would stop it. Includes nest at most
//! [`MAX_DEPTH`] deep ([`Error::IncludeDepth`]).
//!
//! **Includes built from values** (`{% include "tone@" ~ stage %}`) are
//! resolved when rendering reaches them, with the same checks; their
//! variables are not known in advance (an undefined one is still an error
//! when met) and their defaults do not apply.
//!
//! **Only `include`.** `{% import %}`, `{% from … import %}` and
//! `{% extends %}` are refused.
//!
//! ```
//! use promptrel::compose::Composition;
//! use promptrel::{PromptName, Rev, Signature, Store};
//! # let tmp = tempfile::tempdir()?;
//! # let (store, _) = Store::init(tmp.path())?;
//! # let sig = Signature { author: "Ada".into(), time: jiff::Timestamp::UNIX_EPOCH };
//! # let label = promptrel::Label::new("staging")?;
//! store.add(&PromptName::new("tone")?, b"Be {{ mood }}.\n", "", &[label.clone()], None, &sig)?;
//! let bot = PromptName::new("bot")?;
//! store.add(&bot, b"Hi {{ who }}. {% include 'tone@staging' %}\n", "", &[label], None, &sig)?;
//!
//! let id = store.resolve(&Rev::parse("bot@staging")?)?;
//! let bytes = store.read(&id)?;
//! let composition = Composition::new(&store, "bot@staging", id, &bytes)?;
//! let given = serde_json::json!({"who": "Ada", "mood": "brief"});
//! let rendered = composition.render(given.as_object().unwrap(), true)?;
//! assert_eq!(rendered.text, "Hi Ada. Be brief.\n");
//! assert_eq!(rendered.includes[0].rev, "tone@staging");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::include::{Tag, check_supported, scan};
use crate::meta::Input;
use crate::rev::Rev;
use crate::store::Store;
use crate::template::{self, Prompt, Rendered, Variable};

/// How deep includes may nest: the version rendered includes a version
/// (depth 1), which includes another (depth 2)…
pub const MAX_DEPTH: usize = 16;

/// An include and the version it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IncludedVersion {
    /// The include as written (`support/tone@prod`).
    pub rev: String,
    /// The full id of the version it named.
    pub id: VersionId,
}

/// A version, and every version its static includes name, resolved from a
/// store ([module docs](self)).
#[derive(Debug)]
pub struct Composition<'a> {
    store: Store,
    rev: String,
    id: VersionId,
    root: Prompt<'a>,
    /// Some include's name is built from values (known only when rendering).
    dynamic: bool,
    /// Every included version read, by include text.
    parts: HashMap<String, Arc<Part>>,
    /// The static includes, depth first in the order written, each once.
    order: Vec<Arc<Part>>,
    /// The variables the whole composition reads without setting them.
    used: BTreeSet<String>,
}

/// An included version, read and parsed.
#[derive(Debug)]
struct Part {
    rev: String,
    id: VersionId,
    body: String,
    body_line: usize,
    inputs: BTreeMap<String, Input>,
    /// Read by its own body.
    used: BTreeSet<String>,
    tags: Vec<Tag>,
}

/// A chain of includes: the version rendered, then each include as written,
/// with the versions they named.
type Chain = Vec<(String, VersionId)>;

impl<'a> Composition<'a> {
    /// Parse `bytes`, version `id` (called `rev` in messages, as the user
    /// wrote it), and resolve every static include from `store`, and theirs.
    ///
    /// Fails when the version does not parse, or an include does not
    /// resolve ([`Error::Include`], naming the include and the version
    /// holding it), loops, or nests too deep.
    pub fn new(
        store: &Store,
        rev: impl Into<String>,
        id: VersionId,
        bytes: &'a [u8],
    ) -> Result<Composition<'a>> {
        let rev = rev.into();
        let root = Prompt::parse(bytes)?;
        let tags = scan(root.body());
        check_supported(&tags, root.body(), root.body_line())?;
        let mut walk = Walk {
            store,
            parts: HashMap::new(),
            order: Vec::new(),
            done: HashMap::new(),
        };
        let mut chain = vec![(rev.clone(), id.clone())];
        let root_inputs = root.front_matter().map(|fm| &fm.inputs);
        let (used, _) = walk.body(&mut chain, root.body(), &tags, root.used(), &|name| {
            root_inputs.is_some_and(|i| i.contains_key(name))
        })?;
        Ok(Composition {
            store: store.clone(),
            rev,
            id,
            dynamic: tags
                .iter()
                .chain(walk.order.iter().flat_map(|p| &p.tags))
                .any(|t| t.name.is_none()),
            parts: walk.parts,
            order: walk.order,
            root,
            used,
        })
    }

    /// The version rendered, parsed.
    pub fn prompt(&self) -> &Prompt<'a> {
        &self.root
    }

    /// The static includes, resolved: depth first in the order written,
    /// each include text once.
    pub fn includes(&self) -> Vec<IncludedVersion> {
        self.order
            .iter()
            .map(|p| IncludedVersion {
                rev: p.rev.clone(),
                id: p.id.clone(),
            })
            .collect()
    }

    /// Every variable of the composition, sorted by name: declared by the
    /// version or an included one, or read by any of their bodies. A
    /// variable only included versions know has [`Variable::via`] set.
    pub fn variables(&self) -> Vec<Variable> {
        let own = self.root.front_matter().map(|fm| &fm.inputs);
        let mut names: BTreeSet<&String> = self.used.iter().collect();
        names.extend(own.into_iter().flat_map(|i| i.keys()));
        names.extend(self.order.iter().flat_map(|p| p.inputs.keys()));
        names
            .into_iter()
            .map(|name| {
                let declaration = own
                    .and_then(|i| i.get(name))
                    .or_else(|| self.order.iter().find_map(|p| p.inputs.get(name)));
                let is_own =
                    own.is_some_and(|i| i.contains_key(name)) || self.root.used().contains(name);
                let via = (!is_own)
                    .then(|| {
                        self.order
                            .iter()
                            .find(|p| p.inputs.contains_key(name) || p.used.contains(name))
                            .map(|p| p.rev.clone())
                    })
                    .flatten();
                Variable {
                    name: name.clone(),
                    declared: declaration.is_some(),
                    used: self.used.contains(name),
                    default: declaration.and_then(|d| d.default.clone()),
                    optional: declaration.is_some_and(|d| d.optional),
                    via,
                }
            })
            .collect()
    }

    /// Render with `given` values over the defaults, as
    /// [`Prompt::render`] does, with includes; [`Rendered::includes`] lists
    /// the versions rendering loaded.
    ///
    /// Errors inside an included body come wrapped in [`Error::InInclude`],
    /// one per level, with the included version's own line and column.
    pub fn render(&self, given: &Map<String, Value>, strict: bool) -> Result<Rendered> {
        // The variables of includes built from values are known only once
        // rendering has loaded them: strictness waits for them.
        let variables = self.variables();
        let (context, unknown) = template::values(&variables, given, strict && !self.dynamic)?;
        let shared = Arc::new(Mutex::new(Shared {
            store: self.store.clone(),
            parts: self.parts.clone(),
            nodes: vec![Node {
                parent: None,
                rev: self.rev.clone(),
                id: Some(self.id.clone()),
            }],
            children: HashMap::new(),
            loaded: Vec::new(),
            fatal: None,
            missing: None,
        }));
        let mut env = template::environment();
        // Each include is named by its place on a chain of includes, so the
        // loader knows the chain (loops, depth, the including version).
        let join = shared.clone();
        env.set_path_join_callback(move |name, parent| {
            let mut shared = lock(&join);
            let parent = node_index(parent).unwrap_or(0);
            Cow::Owned(node_name(shared.child(parent, name)))
        });
        let loader = shared.clone();
        env.set_loader(move |name| lock(&loader).load(name));
        let result = env
            .template_from_named_str(ROOT, self.root.body())
            .and_then(|t| t.render(template::jinja_context(&context)));
        let mut shared = lock(&shared);
        let text = result.map_err(|e| shared.error(&e, &self.root))?;
        let includes = std::mem::take(&mut shared.loaded);
        let mut known: BTreeSet<String> = variables.into_iter().map(|v| v.name).collect();
        for part in includes.iter().filter_map(|i| shared.parts.get(&i.rev)) {
            known.extend(part.inputs.keys().cloned());
            known.extend(part.used.iter().cloned());
        }
        let unknown: Vec<String> = unknown.into_iter().filter(|n| !known.contains(n)).collect();
        if strict && !unknown.is_empty() {
            return Err(Error::UnknownVariables {
                unknown,
                known: known.into_iter().collect(),
            });
        }
        Ok(Rendered {
            text,
            variables: context,
            unknown,
            includes,
        })
    }
}

/// Whether `err` says that a revision names nothing (no such prompt, label
/// or version, or not that far back): what `ignore missing` skips.
pub(crate) fn is_missing(err: &Error) -> bool {
    match err {
        Error::Include { source, .. } => is_missing(source),
        Error::UnknownPrompt { .. }
        | Error::UnknownLabel { .. }
        | Error::UnknownVersion { .. }
        | Error::HistoryTooShort { .. } => true,
        _ => false,
    }
}

/// Resolve `text`, included by the last version of `chain`, reading it the
/// first time; then refuse a loop or a chain too deep.
fn load(
    store: &Store,
    parts: &mut HashMap<String, Arc<Part>>,
    chain: &[(String, VersionId)],
    text: &str,
) -> Result<Arc<Part>> {
    let part = match parts.get(text) {
        Some(part) => part.clone(),
        None => {
            let (parent, parent_id) = chain
                .last()
                .expect("a chain starts at the version rendered");
            let part = read_part(store, text).map_err(|source| Error::Include {
                include: text.to_string(),
                parent: format!("{parent} ({})", parent_id.short()),
                source: Box::new(source),
            })?;
            parts.insert(text.to_string(), part.clone());
            part
        }
    };
    let names = || {
        chain
            .iter()
            .map(|(rev, _)| rev.clone())
            .chain([text.to_string()])
            .collect()
    };
    if chain.iter().any(|(_, id)| *id == part.id) {
        return Err(Error::IncludeLoop {
            chain: names(),
            id: part.id.clone(),
        });
    }
    if chain.len() > MAX_DEPTH {
        return Err(Error::IncludeDepth {
            chain: names(),
            limit: MAX_DEPTH,
        });
    }
    Ok(part)
}

fn read_part(store: &Store, text: &str) -> Result<Arc<Part>> {
    let id = store.resolve(&Rev::parse(text)?)?;
    let bytes = store.read(&id)?;
    let prompt = Prompt::parse(&bytes)?;
    let tags = scan(prompt.body());
    check_supported(&tags, prompt.body(), prompt.body_line())?;
    // As Jinja2 does by default for every template, one final line break of
    // an included body goes: a file ending in a newline, included on a line
    // of its own, adds no blank line.
    let body = prompt.body();
    let body = body
        .strip_suffix("\r\n")
        .or_else(|| body.strip_suffix('\n'))
        .unwrap_or(body);
    Ok(Arc::new(Part {
        rev: text.to_string(),
        id,
        body: body.to_string(),
        body_line: prompt.body_line(),
        inputs: prompt
            .front_matter()
            .map(|fm| fm.inputs.clone())
            .unwrap_or_default(),
        used: prompt.used().clone(),
        tags,
    }))
}

/// The walk over static includes before rendering.
struct Walk<'s> {
    store: &'s Store,
    parts: HashMap<String, Arc<Part>>,
    order: Vec<Arc<Part>>,
    /// For each version walked: the variables it reads with its includes,
    /// and how deep its includes nest below it.
    done: HashMap<VersionId, (BTreeSet<String>, usize)>,
}

impl Walk<'_> {
    /// Resolve the static includes of `body` (the last version of `chain`),
    /// recursively. Returns the variables the body reads with everything it
    /// includes, and how deep its includes nest.
    ///
    /// The variables come from minijinja's own analysis of the body with
    /// each include replaced by `{{ v }}` for every variable of the included
    /// version: a variable the body sets before including (a loop variable,
    /// `{% set %}`) is then not taken for one the caller must give.
    fn body(
        &mut self,
        chain: &mut Chain,
        body: &str,
        tags: &[Tag],
        used: &BTreeSet<String>,
        declared: &dyn Fn(&str) -> bool,
    ) -> Result<(BTreeSet<String>, usize)> {
        // (span of an include tag, the variables of what it includes).
        let mut inlined: Vec<(Range<usize>, BTreeSet<String>)> = Vec::new();
        // Includes built from values: their arguments' variables, as
        // minijinja's analysis does not look into them.
        let mut dynamic: Vec<(Range<usize>, &str)> = Vec::new();
        let mut height = 0;
        for tag in tags.iter().filter(|t| t.keyword == "include") {
            let Some(text) = &tag.name else {
                dynamic.push((tag.span.clone(), &body[tag.argument.clone()]));
                continue;
            };
            let fresh = !self.parts.contains_key(text);
            let part = match load(self.store, &mut self.parts, chain, text) {
                Ok(part) => part,
                Err(e) if tag.ignore_missing && is_missing(&e) => continue,
                Err(e) => return Err(e),
            };
            if fresh {
                self.order.push(part.clone());
            }
            let (vars, below) = match self.done.get(&part.id) {
                Some((vars, below)) if chain.len() + below <= MAX_DEPTH => (vars.clone(), *below),
                _ => {
                    chain.push((text.clone(), part.id.clone()));
                    let walked = self.body(chain, &part.body, &part.tags, &part.used, &|name| {
                        part.inputs.contains_key(name)
                    });
                    chain.pop();
                    let walked = walked?;
                    self.done.insert(part.id.clone(), walked.clone());
                    walked
                }
            };
            height = height.max(below + 1);
            inlined.push((tag.span.clone(), vars));
        }
        if dynamic.is_empty() && inlined.iter().all(|(_, vars)| vars.is_empty()) {
            return Ok((used.clone(), height));
        }
        let mut replaced: Vec<(Range<usize>, String)> = inlined
            .iter()
            .map(|(span, vars)| {
                let text = vars.iter().map(|v| format!("{{{{ {v} }}}}")).collect();
                (span.clone(), text)
            })
            .chain(
                dynamic
                    .iter()
                    .map(|(span, arg)| (span.clone(), format!("{{{{ ({arg}) }}}}"))),
            )
            .collect();
        replaced.sort_by_key(|(span, _)| span.start);
        let mut text = String::with_capacity(body.len());
        let mut at = 0;
        for (span, with) in &replaced {
            text.push_str(&body[at..span.start]);
            text.push_str(with);
            at = span.end;
        }
        text.push_str(&body[at..]);
        let env = template::environment();
        let vars = match env.template_from_str(&text) {
            Ok(t) => template::used_variables(&env, &t, |name| {
                declared(name) || inlined.iter().any(|(_, v)| v.contains(name))
            }),
            // Cannot happen for a valid body; err on the side of asking.
            Err(_) => {
                let mut all = used.clone();
                all.extend(inlined.iter().flat_map(|(_, v)| v.iter().cloned()));
                all
            }
        };
        Ok((vars, height))
    }
}

/// The template name of the version rendered.
const ROOT: &str = "promptrel-include:0";

fn node_name(index: usize) -> String {
    format!("promptrel-include:{index}")
}

fn node_index(name: &str) -> Option<usize> {
    name.strip_prefix("promptrel-include:")?.parse().ok()
}

/// An include reached while rendering, at one place on a chain.
#[derive(Debug)]
struct Node {
    parent: Option<usize>,
    /// The include as written (the revision rendered, for the root).
    rev: String,
    /// What it resolved to, once loaded.
    id: Option<VersionId>,
}

/// What the template loader shares with the rendering.
struct Shared {
    store: Store,
    parts: HashMap<String, Arc<Part>>,
    nodes: Vec<Node>,
    children: HashMap<(usize, String), usize>,
    loaded: Vec<IncludedVersion>,
    /// The error that stopped rendering, when an include failed.
    fatal: Option<Error>,
    /// The last include that named nothing (`ignore missing` may skip it).
    missing: Option<Error>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The node for include `name` inside node `parent`.
    fn child(&mut self, parent: usize, name: &str) -> usize {
        if let Some(&index) = self.children.get(&(parent, name.to_string())) {
            return index;
        }
        self.nodes.push(Node {
            parent: Some(parent),
            rev: name.to_string(),
            id: None,
        });
        let index = self.nodes.len() - 1;
        self.children.insert((parent, name.to_string()), index);
        index
    }

    /// The loader: the body of the version a node's include names.
    fn load(&mut self, name: &str) -> Result<Option<String>, minijinja::Error> {
        let Some(index) = node_index(name).filter(|&i| i > 0 && i < self.nodes.len()) else {
            return Ok(None);
        };
        let mut chain = Vec::new();
        let mut up = self.nodes[index].parent;
        while let Some(i) = up {
            let node = &self.nodes[i];
            let id = node.id.clone().expect("an including version was loaded");
            chain.push((node.rev.clone(), id));
            up = node.parent;
        }
        chain.reverse();
        let text = self.nodes[index].rev.clone();
        match load(&self.store, &mut self.parts, &chain, &text) {
            Ok(part) => {
                self.nodes[index].id = Some(part.id.clone());
                let used = IncludedVersion {
                    rev: text,
                    id: part.id.clone(),
                };
                if !self.loaded.contains(&used) {
                    self.loaded.push(used);
                }
                Ok(Some(part.body.clone()))
            }
            Err(e) if is_missing(&e) => {
                self.missing = Some(e);
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::TemplateNotFound,
                    "the include names no version",
                ))
            }
            Err(e) => {
                self.fatal = Some(e);
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    "the include cannot be loaded",
                ))
            }
        }
    }

    /// The error to report for a failed rendering: an include that failed,
    /// or the innermost template error, at the line of the version it is
    /// in, wrapped once per include around it.
    fn error(&mut self, err: &minijinja::Error, root: &Prompt<'_>) -> Error {
        if let Some(e) = self.fatal.take() {
            return e;
        }
        let chain: Vec<&minijinja::Error> = std::iter::successors(Some(err), |e| {
            std::error::Error::source(*e)?.downcast_ref::<minijinja::Error>()
        })
        .collect();
        if chain
            .iter()
            .any(|e| e.kind() == minijinja::ErrorKind::TemplateNotFound)
            && let Some(e) = self.missing.take()
        {
            return e;
        }
        let inner = chain.last().copied().unwrap_or(err);
        let index = inner
            .name()
            .and_then(node_index)
            .filter(|&i| i < self.nodes.len())
            .unwrap_or(0);
        let part = self.parts.get(&self.nodes[index].rev).filter(|_| index > 0);
        let Some(part) = part else {
            return template::template_error(inner, root.body(), root.body_line());
        };
        let mut e = template::template_error(inner, &part.body, part.body_line);
        let mut at = index;
        while let (Some(parent), Some(id)) = (self.nodes[at].parent, &self.nodes[at].id) {
            e = Error::InInclude {
                include: self.nodes[at].rev.clone(),
                id: id.clone(),
                source: Box::new(e),
            };
            at = parent;
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::name::{Label, PromptName};
    use crate::store::Signature;

    struct Fixture {
        _tmp: tempfile::TempDir,
        store: Store,
    }

    impl Fixture {
        fn new() -> Fixture {
            let tmp = tempfile::tempdir().unwrap();
            let (store, _) = Store::init(tmp.path()).unwrap();
            Fixture { _tmp: tmp, store }
        }

        /// Add a version of `name` labelled `live`; its id.
        fn add(&self, name: &str, bytes: &str) -> VersionId {
            let sig = Signature {
                author: "Ada".into(),
                time: jiff::Timestamp::UNIX_EPOCH,
            };
            let name = PromptName::new(name).unwrap();
            let prod = [Label::new("live").unwrap()];
            self.store
                .add(&name, bytes.as_bytes(), "", &prod, None, &sig)
                .unwrap()
                .id
        }

        /// Compose `rev` and render it with `given`.
        fn render(&self, rev: &str, given: serde_json::Value) -> Result<Rendered> {
            let id = self.store.resolve(&Rev::parse(rev).unwrap()).unwrap();
            let bytes = self.store.read(&id).unwrap();
            Composition::new(&self.store, rev, id, &bytes)?.render(given.as_object().unwrap(), true)
        }

        fn variables(&self, rev: &str) -> Vec<Variable> {
            let id = self.store.resolve(&Rev::parse(rev).unwrap()).unwrap();
            let bytes = self.store.read(&id).unwrap();
            Composition::new(&self.store, rev, id, &bytes)
                .unwrap()
                .variables()
        }
    }

    #[test]
    fn includes_render_in_place_and_are_listed_once_in_order() {
        let f = Fixture::new();
        let tone = f.add("tone", "---\nmodel: x\n---\nbe {{ mood }}\n");
        let sign = f.add("sign", "-- {{ who }}");
        let id = f.add(
            "bot",
            "{% include 'tone@live' %}; {% include 'sign' %}; {% include 'tone@live' %}",
        );
        let out = f
            .render("bot@live", json!({"mood": "brief", "who": "Ada"}))
            .unwrap();
        // One final newline of an included body goes.
        assert_eq!(out.text, "be brief; -- Ada; be brief");
        let short = &tone.as_str()[..8];
        assert_eq!(
            out.includes,
            [
                IncludedVersion {
                    rev: "tone@live".into(),
                    id: tone.clone(),
                },
                IncludedVersion {
                    rev: "sign".into(),
                    id: sign,
                },
            ]
        );
        // By id prefix, and by full id: the same version.
        f.add(
            "by-id",
            &format!("{{% include 'tone@{short}' %}}{{% include 'tone@{tone}' %}}"),
        );
        let out = f.render("by-id", json!({"mood": "x"})).unwrap();
        assert_eq!(out.text, "be xbe x");
        assert_eq!(out.includes.len(), 2);
        assert!(out.includes.iter().all(|i| i.id == tone));
        // Nested: the includes of includes are listed too.
        f.add("outer", "[{% include 'bot@live' %}]");
        let out = f.render("outer", json!({"mood": "m", "who": "w"})).unwrap();
        assert_eq!(out.text, "[be m; -- w; be m]");
        let revs: Vec<&str> = out.includes.iter().map(|i| i.rev.as_str()).collect();
        assert_eq!(revs, ["bot@live", "tone@live", "sign"]);
        assert_eq!(out.includes[0].id, id);
        // One final line break of an included body goes, not more.
        f.add("lines", "a\n{% include 'tone@live' %}\nb\n");
        let out = f.render("lines", json!({"mood": "m"})).unwrap();
        assert_eq!(out.text, "a\nbe m\nb\n");
        f.add("crlf", "x\r\n\r\n");
        f.add("uses-crlf", "{% include 'crlf' %}|");
        assert_eq!(f.render("uses-crlf", json!({})).unwrap().text, "x\r\n|");
    }

    #[test]
    fn variables_of_includes_count_and_their_defaults_apply() {
        let f = Fixture::new();
        f.add(
            "tone",
            "---\ninput:\n  schema: {mood?: string, customer: string}\n  default: {mood: calm, customer: you}\n---\n{{ mood }} {{ customer }} {{ extra }}",
        );
        f.add(
            "bot",
            "---\ninput: {schema: {customer: string}}\n---\n{{ customer }}: {% include 'tone@live' %}",
        );
        let summary: Vec<_> = f
            .variables("bot")
            .into_iter()
            .map(|v| (v.name.clone(), v.required(), v.declared, v.default, v.via))
            .collect();
        assert_eq!(
            summary,
            [
                // The version's own declaration wins over the include's default.
                ("customer".into(), true, true, None, None),
                ("extra".into(), true, false, None, Some("tone@live".into())),
                (
                    "mood".into(),
                    false,
                    true,
                    Some(json!("calm")),
                    Some("tone@live".into())
                ),
            ]
        );
        match f.render("bot", json!({})).unwrap_err() {
            Error::MissingVariables { missing, via } => {
                assert_eq!(missing, ["customer", "extra"]);
                assert_eq!(via, BTreeMap::from([("extra".into(), "tone@live".into())]));
            }
            other => panic!("{other:?}"),
        }
        let out = f
            .render("bot", json!({"customer": "Dana", "extra": "!"}))
            .unwrap();
        assert_eq!(out.text, "Dana: calm Dana !");
        assert_eq!(out.variables["mood"], "calm");
        // Strict knows the include's variables.
        assert!(
            f.render("bot", json!({"customer": "D", "extra": "", "mood": "m"}))
                .is_ok()
        );
    }

    #[test]
    fn variables_set_around_an_include_are_not_asked_for() {
        let f = Fixture::new();
        f.add("row", "{{ item.name }}={{ n }}{{ loop.index }} ");
        f.add(
            "list",
            "{% set n = 1 %}{% for item in items %}{% include 'row' %}{% endfor %}",
        );
        let names: Vec<String> = f.variables("list").into_iter().map(|v| v.name).collect();
        assert_eq!(names, ["items"]);
        let out = f
            .render("list", json!({"items": [{"name": "a"}, {"name": "b"}]}))
            .unwrap();
        assert_eq!(out.text, "a=11 b=12 ");
    }

    #[test]
    fn missing_includes_name_the_include_and_the_including_version() {
        let f = Fixture::new();
        f.add("tone", "t");
        let mid = f.add(
            "mid",
            "{% if false %}{% include 'tone@staging' %}{% endif %}",
        );
        f.add("top", "{% include 'mid@live' %}");
        // Resolved before rendering, even in a branch not taken.
        let err = f.render("top", json!({})).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot include \"tone@staging\" in mid@live ({})",
                mid.short()
            )
        );
        match err {
            Error::Include { source, .. } => {
                assert!(matches!(*source, Error::UnknownLabel { .. }), "{source:?}")
            }
            other => panic!("{other:?}"),
        }
        for (body, inner) in [
            ("{% include 'nope@live' %}", "no prompt named \"nope\""),
            (
                "{% include 'tone@abcdef12' %}",
                "tone has no version matching \"abcdef12\"",
            ),
            ("{% include 'tone~3' %}", "reaches back 3 changes"),
            ("{% include 'Not A Name' %}", "invalid prompt name"),
        ] {
            f.add("p", body);
            let err = f.render("p", json!({})).unwrap_err();
            let source = std::error::Error::source(&err).unwrap().to_string();
            assert!(source.contains(inner), "{body}: {source}");
        }
        // `ignore missing` skips what names nothing, not what is malformed.
        f.add("opt", "a{% include 'nope@live' ignore missing %}b");
        assert_eq!(f.render("opt", json!({})).unwrap().text, "ab");
        f.add("opt", "{% include 'Not A Name' ignore missing %}");
        assert!(matches!(
            f.render("opt", json!({})).unwrap_err(),
            Error::Include { .. }
        ));
    }

    #[test]
    fn loops_are_refused_naming_the_chain() {
        let f = Fixture::new();
        f.add("a", "{% include 'b@live' %}");
        f.add("b", "{% include 'a@live' %}");
        let a = f.store.resolve(&Rev::parse("a@live").unwrap()).unwrap();
        match f.render("a@live", json!({})).unwrap_err() {
            Error::IncludeLoop { chain, id } => {
                assert_eq!(chain, ["a@live", "b@live", "a@live"]);
                assert_eq!(id, a);
            }
            other => panic!("{other:?}"),
        }
        // A version including itself by another name, guarded or not.
        f.add("self", "{% if false %}{% include 'self@live' %}{% endif %}");
        let err = f.render("self", json!({})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("include loop: self -> self@live (version "),
            "{err}"
        );
        // The same version twice side by side is no loop.
        f.add("twice", "{% include 'b@live' ignore missing %}");
        f.add("ok", "{% include 'leaf' %}{% include 'leaf' %}");
        f.add("leaf", "x");
        assert_eq!(f.render("ok", json!({})).unwrap().text, "xx");
    }

    #[test]
    fn includes_built_from_values_are_checked_when_reached() {
        let f = Fixture::new();
        f.add(
            "tone-warm",
            "---\ninput: {default: {d: 1}}\n---\nwarm {{ who }}",
        );
        f.add("dyn", "{% include 'tone-' ~ kind ignore missing %}");
        let names: Vec<String> = f.variables("dyn").into_iter().map(|v| v.name).collect();
        assert_eq!(names, ["kind"]);
        let out = f
            .render("dyn", json!({"kind": "warm", "who": "Al"}))
            .unwrap();
        assert_eq!(out.text, "warm Al");
        assert_eq!(out.includes[0].rev, "tone-warm");
        // Their variables are not known in advance, but still strict.
        let err = f.render("dyn", json!({"kind": "warm"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "in tone-warm ({})",
                f.store
                    .resolve(&Rev::parse("tone-warm").unwrap())
                    .unwrap()
                    .short()
            )
        );
        let inner = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(
            inner,
            "template error at line 4, column 9: undefined value `who`"
        );
        assert_eq!(f.render("dyn", json!({"kind": "cold"})).unwrap().text, "");
        f.add("dyn", "{% include 'tone-' ~ kind %}");
        let err = f.render("dyn", json!({"kind": "cold"})).unwrap_err();
        assert!(matches!(err, Error::Include { .. }), "{err:?}");
        // Strict counts the variables of the includes rendering loaded.
        let err = f.render("dyn", json!({"kind": "warm", "who": "", "x": 1}));
        match err.unwrap_err() {
            Error::UnknownVariables { unknown, known } => {
                assert_eq!(unknown, ["x"]);
                assert_eq!(known, ["d", "kind", "who"]);
            }
            other => panic!("{other:?}"),
        }
        f.add("dyn-loop", "{% include 'dyn-' ~ 'loop' %}");
        let err = f.render("dyn-loop", json!({})).unwrap_err();
        assert_eq!(
            err.to_string().split(" (").next().unwrap(),
            "include loop: dyn-loop -> dyn-loop"
        );
    }

    #[test]
    fn errors_inside_includes_give_the_included_line() {
        let f = Fixture::new();
        let leaf = f.add(
            "leaf",
            "---\ninput: {schema: {x?: string}}\n---\nok\n{{ x }}",
        );
        let mid = f.add("mid", "{% include 'leaf@live' %}");
        f.add("top", "line\n{% include 'mid@live' %}");
        let err = f.render("top", json!({})).unwrap_err();
        let mut messages = vec![err.to_string()];
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            messages.push(c.to_string());
            cause = c.source();
        }
        assert_eq!(
            messages,
            [
                format!("in mid@live ({})", mid.short()),
                format!("in leaf@live ({})", leaf.short()),
                "template error at line 5, column 4: undefined value `x`".into(),
            ]
        );
        // Not UTF-8, or an unsupported tag: the include cannot be read.
        f.store
            .add(
                &PromptName::new("bin").unwrap(),
                b"ok \xff",
                "",
                &[],
                None,
                &Signature {
                    author: "A".into(),
                    time: jiff::Timestamp::UNIX_EPOCH,
                },
            )
            .unwrap();
        f.add("uses-bin", "{% include 'bin' %}");
        let err = f.render("uses-bin", json!({})).unwrap_err();
        assert_eq!(
            std::error::Error::source(&err).unwrap().to_string(),
            "template error at line 1, column 4: the body is not UTF-8 text"
        );
        f.add("imports", "{% import 'leaf' as l %}");
        let err = f.render("imports", json!({})).unwrap_err();
        assert!(
            err.to_string().contains("{% import %} is not supported"),
            "{err}"
        );
    }

    #[test]
    fn includes_nest_at_most_max_depth() {
        let f = Fixture::new();
        f.add(&format!("d{}", MAX_DEPTH), "bottom");
        for i in (0..MAX_DEPTH).rev() {
            f.add(&format!("d{i}"), &format!("{{% include 'd{}' %}}", i + 1));
        }
        assert_eq!(f.render("d0", json!({})).unwrap().text, "bottom");
        f.add("d-1", "{% include 'd0' %}");
        match f.render("d-1", json!({})).unwrap_err() {
            Error::IncludeDepth { chain, limit } => {
                assert_eq!(limit, MAX_DEPTH);
                assert_eq!(chain.len(), MAX_DEPTH + 2);
                assert_eq!(chain.first().unwrap(), "d-1");
                assert_eq!(chain.last().unwrap(), &format!("d{MAX_DEPTH}"));
            }
            other => panic!("{other:?}"),
        }
        // A version already walked shallower is walked again deeper.
        f.add("both", "{% include 'd1' %}{% include 'd-1' %}");
        assert!(matches!(
            f.render("both", json!({})).unwrap_err(),
            Error::IncludeDepth { .. }
        ));
    }
}
