//! What a version includes, found without rendering it: every
//! `{% include "support/tone@prod" %}` whose argument is a string literal,
//! and [`Store::dangling_includes`], the includes that name no version.
//!
//! The scan reads the body as minijinja's lexer does (comments, `{% raw %}`
//! blocks, string literals and brackets inside tags, `{%-`/`-%}` whitespace
//! control), so text that only looks like a tag is never taken for one. Its
//! limits: an include whose name is built from values
//! (`{% include "tone@" ~ stage %}`, a variable, a list of choices) cannot be
//! known before rendering and is not listed, and the scan is meant for bodies
//! that are valid templates (on others its answer is unspecified, though it
//! never fails). Rendering resolves every include, static or not
//! ([`Composition`](crate::compose::Composition)).

use std::ops::Range;

use memchr::memmem;

use crate::compose::is_missing;
use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::meta;
use crate::name::{Label, PromptName};
use crate::rev::{Rev, Spec};
use crate::store::Store;
use crate::template::Prompt;

/// An include written in a version's body, its name a string literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The revision between the quotes (`support/tone@prod`), escapes decoded.
    pub rev: String,
    /// Written with `ignore missing`: rendering skips it when it names no
    /// version.
    pub ignore_missing: bool,
    /// Line of the file (1-based) where the tag starts.
    pub line: usize,
    /// Column of the tag's `{` (1-based, in characters).
    pub column: usize,
}

/// The static includes of a version (its bytes, front matter and all), in
/// the order written. Fails when the version does not parse (invalid front
/// matter, a body that is not UTF-8 or not a valid template): nothing it
/// includes can be known then.
pub fn includes(bytes: &[u8]) -> Result<Vec<Include>> {
    let prompt = Prompt::parse(bytes)?;
    let body = prompt.body();
    Ok(scan(body)
        .into_iter()
        .filter(|tag| tag.keyword == "include")
        .filter_map(|tag| {
            let (line, column) = meta::position(&body.as_bytes()[..tag.span.start]);
            Some(Include {
                rev: tag.name?,
                ignore_missing: tag.ignore_missing,
                line: line + prompt.body_line() - 1,
                column,
            })
        })
        .collect())
}

/// An include, in a version some label or the newest version of a prompt
/// points at, that names no version ([`Store::dangling_includes`]).
#[derive(Debug)]
pub struct DanglingInclude {
    /// The prompt whose version holds the include.
    pub prompt: PromptName,
    /// That version.
    pub id: VersionId,
    /// The labels of the prompt pointing at it, sorted.
    pub labels: Vec<Label>,
    /// It is the prompt's newest version.
    pub newest: bool,
    /// The include.
    pub include: Include,
    /// Why it names nothing: an [`Error::UnknownPrompt`],
    /// [`Error::UnknownLabel`], [`Error::UnknownVersion`],
    /// [`Error::AmbiguousVersion`], [`Error::HistoryTooShort`] or
    /// [`Error::InvalidRev`] (or a damaged log met while resolving it).
    pub reason: Error,
}

impl DanglingInclude {
    /// The versions that hold it: `NAME@LABEL, …`, or `NAME (its newest
    /// version)` when no label points there.
    pub fn holders(&self) -> String {
        if self.labels.is_empty() {
            return format!("{} (its newest version)", self.prompt);
        }
        self.labels
            .iter()
            .map(|l| format!("{}@{l}", self.prompt))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Store {
    /// Every static include that names no version, in the versions that
    /// matter: for every prompt, each version a label points at, and its
    /// newest version. Each version is checked once (with all the labels
    /// pointing at it); prompts come in name order, a prompt's newest version
    /// first, then its labelled ones by label.
    ///
    /// An include written with `ignore missing` is reported only when it is
    /// malformed or ambiguous, not when it names nothing: its author allowed
    /// that. Includes are only resolved (the versions they name are not
    /// read); loops and nesting depth are found by rendering. Includes built
    /// from values cannot be checked ([module docs](self)). Versions that
    /// cannot be read or do not parse, and labels or logs that are damaged,
    /// are skipped: they are problems of their own, which `fsck` and
    /// `render` report.
    pub fn dangling_includes(&self) -> Result<Vec<DanglingInclude>> {
        self.dangling_includes_with_progress(&mut |_, _| {})
    }

    /// [`Store::dangling_includes`], calling `progress(prompts done, total)`.
    pub(crate) fn dangling_includes_with_progress(
        &self,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<DanglingInclude>> {
        let mut out = Vec::new();
        let names = self.prompts()?;
        for (i, name) in names.iter().enumerate() {
            progress(i, names.len());
            // (version, labels, newest), in report order.
            let mut versions: Vec<(VersionId, Vec<Label>, bool)> = Vec::new();
            let newest = Rev {
                name: name.clone(),
                spec: Spec::Newest,
                back: 0,
            };
            if let Ok(id) = self.resolve(&newest) {
                versions.push((id, Vec::new(), true));
            }
            for (label, value) in self.labels(name).unwrap_or_default() {
                // A split label points at each of its versions.
                for id in value.versions() {
                    match versions.iter_mut().find(|(v, _, _)| v == id) {
                        Some((_, labels, _)) => labels.push(label.clone()),
                        None => versions.push((id.clone(), vec![label.clone()], false)),
                    }
                }
            }
            for (id, labels, newest) in versions {
                let Ok(bytes) = self.read(&id) else { continue };
                let Ok(list) = includes(&bytes) else { continue };
                for include in list {
                    let reason = match Rev::parse(&include.rev).and_then(|rev| self.resolve(&rev)) {
                        Ok(_) => continue,
                        Err(e) if include.ignore_missing && is_missing(&e) => continue,
                        Err(e) => e,
                    };
                    out.push(DanglingInclude {
                        prompt: name.clone(),
                        id: id.clone(),
                        labels: labels.clone(),
                        newest,
                        include,
                        reason,
                    });
                }
            }
        }
        progress(names.len(), names.len());
        Ok(out)
    }
}

/// The tags that load another template. Only `include` is supported; the
/// others are found so that they can be refused ([`check_supported`]).
const LOADING_TAGS: [&str; 4] = ["include", "import", "from", "extends"];

/// A tag that loads another template, found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    /// `include`, `import`, `from` or `extends`.
    pub(crate) keyword: &'static str,
    /// The name, when the argument is one string literal (decoded).
    pub(crate) name: Option<String>,
    /// `ignore missing` follows the name.
    pub(crate) ignore_missing: bool,
    /// The whole tag, `{%` to `%}`, in the body.
    pub(crate) span: Range<usize>,
    /// The argument, without `ignore missing` or `with context` after it.
    pub(crate) argument: Range<usize>,
}

/// Every tag of `body` that loads another template, in order.
pub(crate) fn scan(body: &str) -> Vec<Tag> {
    let b = body.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(found) = memchr::memchr(b'{', &b[i..]) {
        let start = i + found;
        i = match b.get(start + 1) {
            Some(b'#') => match memmem::find(&b[start + 2..], b"#}") {
                Some(end) => start + 2 + end + 2,
                None => b.len(),
            },
            Some(b'{') => tag_end(b, start + 2, b"}}").1,
            Some(b'%') => {
                let mut p = start + 2;
                if matches!(b.get(p), Some(b'-' | b'+')) {
                    p += 1;
                }
                if let Some(after) = basic_tag(b, p, "raw") {
                    skip_raw(b, after)
                } else {
                    let word = skip_ws(b, p);
                    let word_end = word + ident_len(&b[word..]);
                    let (content_end, end) = tag_end(b, word_end, b"%}");
                    let keyword = LOADING_TAGS
                        .into_iter()
                        .find(|k| k.as_bytes() == &b[word..word_end]);
                    if let Some(keyword) = keyword {
                        let (name, ignore_missing) = argument(body, word_end, content_end);
                        tags.push(Tag {
                            keyword,
                            name,
                            ignore_missing,
                            span: start..end,
                            argument: argument_range(b, word_end, content_end),
                        });
                    }
                    end
                }
            }
            _ => start + 1,
        };
    }
    tags
}

/// Refuse `{% import %}`, `{% from %}` and `{% extends %}`: only `include`
/// loads another version. Errors give the file's line and column.
pub(crate) fn check_supported(tags: &[Tag], body: &str, body_line: usize) -> Result<()> {
    match tags.iter().find(|t| t.keyword != "include") {
        None => Ok(()),
        Some(tag) => {
            let (line, column) = meta::position(&body.as_bytes()[..tag.span.start]);
            Err(Error::Template {
                line: Some(line + body_line - 1),
                column: Some(column),
                message: format!(
                    "{{% {} %}} is not supported: only {{% include \"NAME@LABEL\" %}} loads another prompt",
                    tag.keyword
                ),
            })
        }
    }
}

/// The name a tag's argument spells, when it is one string literal followed
/// by the end of the tag or a keyword (`ignore missing`, `with context`,
/// `as`, `import`); and whether `ignore missing` follows.
fn argument(body: &str, from: usize, content_end: usize) -> (Option<String>, bool) {
    let b = body.as_bytes();
    let start = skip_ws(b, from);
    if !matches!(b.get(start), Some(b'"' | b'\'')) {
        return (None, false);
    }
    let end = string_end(b, start).min(content_end);
    let next = skip_ws(b, end);
    let word = &b[next..next + ident_len(&b[next..])];
    let ignore_missing = word == b"ignore" && {
        let after = skip_ws(b, next + word.len());
        &b[after..after + ident_len(&b[after..])] == b"missing"
    };
    let literal =
        next >= content_end || matches!(word, b"ignore" | b"with" | b"without" | b"as" | b"import");
    if !literal {
        return (None, false);
    }
    (decode(&body[start..end]), ignore_missing)
}

/// The argument of a tag, from after its keyword to its end, without the
/// modifiers `ignore missing`, `with context`, `without context`.
fn argument_range(b: &[u8], from: usize, content_end: usize) -> Range<usize> {
    let start = skip_ws(b, from);
    let mut end = content_end;
    let trim = |end: usize| {
        let mut e = end.max(start);
        while e > start && b[e - 1].is_ascii_whitespace() {
            e -= 1;
        }
        e
    };
    // The last word before `end`, if any, and where it starts.
    let last_word = |end: usize| -> (usize, &[u8]) {
        let e = trim(end);
        let mut w = e;
        while w > start && (b[w - 1].is_ascii_alphanumeric() || b[w - 1] == b'_') {
            w -= 1;
        }
        (w, &b[w..e])
    };
    for (last, before) in [
        (&b"context"[..], [&b"with"[..], b"without"]),
        (b"missing", [b"ignore", b"ignore"]),
    ] {
        let (w, word) = last_word(end);
        if word == last {
            let (v, prev) = last_word(w);
            if before.contains(&prev) {
                end = v;
            }
        }
    }
    start..trim(end)
}

/// The text of a quoted string literal. Escapes are decoded by minijinja
/// itself, so that they mean exactly what rendering will see.
fn decode(literal: &str) -> Option<String> {
    if literal.len() < 2 {
        return None;
    }
    if !literal.contains('\\') {
        return Some(literal[1..literal.len() - 1].to_string());
    }
    let env = minijinja::Environment::new();
    let value = env.compile_expression(literal).ok()?.eval(()).ok()?;
    value.as_str().map(str::to_string)
}

/// Where a tag opened before `from` ends: (the start of its closing
/// delimiter, with a `-`/`+` in front of it; the byte after it). The end is
/// found as minijinja's lexer finds it: outside string literals and
/// brackets.
fn tag_end(b: &[u8], from: usize, end: &[u8]) -> (usize, usize) {
    let mut depth = 0i64;
    let mut j = from;
    while j < b.len() {
        let c = b[j];
        if c.is_ascii_whitespace() {
            j += 1;
            continue;
        }
        if depth <= 0 {
            if matches!(c, b'-' | b'+') && b[j + 1..].starts_with(end) {
                return (j, j + 1 + end.len());
            }
            if b[j..].starts_with(end) {
                return (j, j + end.len());
            }
        }
        j = match c {
            b'"' | b'\'' => string_end(b, j),
            b'(' | b'[' | b'{' => {
                depth += 1;
                j + 1
            }
            b')' | b']' | b'}' => {
                depth -= 1;
                j + 1
            }
            _ => j + 1,
        };
    }
    (b.len(), b.len())
}

/// The byte after the string literal whose quote is at `start`.
fn string_end(b: &[u8], start: usize) -> usize {
    let quote = b[start];
    let mut escaped = false;
    for (k, &c) in b.iter().enumerate().skip(start + 1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, c) if c == quote => return k + 1,
            _ => {}
        }
    }
    b.len()
}

/// `NAME` then `%}` from `from` (inside `{%`), with spaces and an optional
/// `-`/`+` before the `%}`: the byte after the tag. Like minijinja's
/// `skip_basic_tag`, for `raw` and `endraw`.
fn basic_tag(b: &[u8], from: usize, name: &str) -> Option<usize> {
    let p = skip_ws(b, from);
    let rest = b[p..].strip_prefix(name.as_bytes())?;
    let mut p = skip_ws(b, b.len() - rest.len());
    if matches!(b.get(p), Some(b'-' | b'+')) {
        p += 1;
    }
    b[p..].starts_with(b"%}").then_some(p + 2)
}

/// The byte after the `{% endraw %}` closing a raw block that starts at
/// `from` (the end of the body when none does).
fn skip_raw(b: &[u8], from: usize) -> usize {
    let mut p = from;
    while let Some(found) = memmem::find(&b[p..], b"{%") {
        p += found + 2;
        let q = if matches!(b.get(p), Some(b'-' | b'+')) {
            p + 1
        } else {
            p
        };
        if let Some(after) = basic_tag(b, q, "endraw") {
            return after;
        }
    }
    b.len()
}

fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while b.get(p).is_some_and(u8::is_ascii_whitespace) {
        p += 1;
    }
    p
}

/// The length of the ASCII identifier at the start of `b`.
fn ident_len(b: &[u8]) -> usize {
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => b
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .unwrap_or(b.len()),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// (keyword, name, ignore missing) of every tag found.
    fn found(body: &str) -> Vec<(&'static str, Option<String>, bool)> {
        scan(body)
            .into_iter()
            .map(|t| (t.keyword, t.name, t.ignore_missing))
            .collect()
    }

    fn inc(name: &str) -> (&'static str, Option<String>, bool) {
        ("include", Some(name.into()), false)
    }

    #[test]
    fn finds_literal_includes_in_every_spelling() {
        // (body, [(keyword, name, ignore missing)])
        type Found<'a> = (&'a str, Option<&'a str>, bool);
        let cases: &[(&str, &[Found])] = &[
            (
                "{% include \"a@prod\" %}",
                &[("include", Some("a@prod"), false)],
            ),
            (
                "{% include 'a@prod' %}",
                &[("include", Some("a@prod"), false)],
            ),
            ("{%- include \"a\" -%}", &[("include", Some("a"), false)]),
            ("{%+ include \"a\" +%}", &[("include", Some("a"), false)]),
            ("{%include\"a\"%}", &[("include", Some("a"), false)]),
            (
                "{%\n  include\n  \"a\"\n%}",
                &[("include", Some("a"), false)],
            ),
            (
                "{% include \"a\" ignore missing %}",
                &[("include", Some("a"), true)],
            ),
            (
                "{% include 'a' ignore  missing with context -%}",
                &[("include", Some("a"), true)],
            ),
            (
                "{% include \"a\" without context %}",
                &[("include", Some("a"), false)],
            ),
            // Escapes mean what minijinja makes of them.
            (
                "{% include \"t\\u006fne\" %}",
                &[("include", Some("tone"), false)],
            ),
            (
                "{% include 'it\\'s' %}",
                &[("include", Some("it's"), false)],
            ),
            // Built from values: found, but no name.
            ("{% include name %}", &[("include", None, false)]),
            ("{% include \"a@\" ~ stage %}", &[("include", None, false)]),
            ("{% include \"a\" + \"b\" %}", &[("include", None, false)]),
            ("{% include [\"a\", \"b\"] %}", &[("include", None, false)]),
            ("{% include (\"a\") %}", &[("include", None, false)]),
            ("{% include \"a\"|lower %}", &[("include", None, false)]),
            // Other loading tags, found to be refused.
            ("{% import \"m\" as m %}", &[("import", Some("m"), false)]),
            ("{% from \"m\" import x %}", &[("from", Some("m"), false)]),
            (
                "{% extends \"base\" %}",
                &[("extends", Some("base"), false)],
            ),
        ];
        for (body, expected) in cases {
            let expected: Vec<_> = expected
                .iter()
                .map(|(k, n, i)| (*k, n.map(str::to_string), *i))
                .collect();
            assert_eq!(found(body), expected, "{body:?}");
        }
    }

    #[test]
    fn the_argument_leaves_out_the_modifiers() {
        for (body, argument) in [
            ("{% include 'a' %}", "'a'"),
            ("{%- include  x ~ 'a'  -%}", "x ~ 'a'"),
            ("{% include x ignore missing %}", "x"),
            ("{% include x ignore  missing with context %}", "x"),
            ("{% include [a, b] without context %}", "[a, b]"),
            ("{% include context %}", "context"),
            ("{% include missing %}", "missing"),
        ] {
            let tag = &scan(body)[0];
            assert_eq!(&body[tag.argument.clone()], argument, "{body:?}");
        }
    }

    #[test]
    fn text_that_only_looks_like_an_include_is_not_one() {
        for body in [
            "include \"a\"",
            "{# {% include \"a\" %} #}",
            "{% raw %}{% include \"a\" %}{% endraw %}",
            "{%- raw -%}{% include \"a\" %}{%- endraw +%}",
            "{{ \"{% include 'a' %}\" }}",
            "{{ {'k': '%}'} }}{% set x = \"{% include 'a' %}\" %}",
            "{% set x = '\\' %}{% include \"a\" %}' %}",
            "{% includes \"a\" %}",
            "{% if include %}{{ include }}{% endif %}",
            "{ % include \"a\" % }",
            // Unclosed: never a panic, and nothing after it.
            "{# {% include \"a\" %}",
            "{% raw %}{% include \"a\" %}",
            "{{ 'x",
        ] {
            assert_eq!(found(body), [], "{body:?}");
        }
        // Tags around a raw block and a comment are still seen.
        assert_eq!(
            found("{% include 'a' %}{% raw %}{% include 'x' %}{% endraw %}{# #}{% include 'b' %}"),
            [inc("a"), inc("b")]
        );
    }

    #[test]
    fn includes_give_the_files_line_and_column() {
        let bytes = b"---\nmodel: x\n---\nHello\n  {%- include 'a@prod' %}\n\xc3\xa9{% include \"b\" ignore missing %}{% include c %}";
        assert_eq!(
            includes(bytes).unwrap(),
            [
                Include {
                    rev: "a@prod".into(),
                    ignore_missing: false,
                    line: 5,
                    column: 3,
                },
                Include {
                    rev: "b".into(),
                    ignore_missing: true,
                    line: 6,
                    column: 2,
                },
            ]
        );
        assert!(includes(b"{% include 'a' ").is_err());
    }

    #[test]
    fn import_from_and_extends_are_refused() {
        let body = "ok\n  {% from 'm@prod' import x %}";
        let err = check_supported(&scan(body), body, 3).unwrap_err();
        match err {
            Error::Template {
                line,
                column,
                message,
            } => {
                assert_eq!((line, column), (Some(4), Some(3)));
                assert!(
                    message.starts_with("{% from %} is not supported"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(check_supported(&scan("{% include 'a' %}"), "", 1).is_ok());
    }

    #[test]
    fn dangling_includes_are_found_in_labelled_and_newest_versions() {
        use crate::store::Signature;

        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = Store::init(tmp.path()).unwrap();
        let sig = Signature {
            author: "Ada".into(),
            time: jiff::Timestamp::UNIX_EPOCH,
        };
        let add = |name: &str, bytes: &str, labels: &[&str]| {
            let labels: Vec<Label> = labels.iter().map(|l| Label::new(l).unwrap()).collect();
            let name = PromptName::new(name).unwrap();
            store
                .add(&name, bytes.as_bytes(), "", &labels, None, &sig)
                .unwrap()
                .id
        };
        add("tone", "t", &["live"]);
        // Fine: every include resolves, or may name nothing.
        add(
            "good",
            "{% include 'tone@live' %}{% include 'gone' ignore missing %}",
            &[],
        );
        // An old version nobody points at is not checked.
        add("bot", "{% include 'old@live' %}", &[]);
        let labelled = add(
            "bot",
            "{% include 'tone@live' %}\n{% include 'tone@nope' %}{% include x %}",
            &["live", "beta"],
        );
        let newest = add(
            "bot",
            "{%- include 'tone@live~3' -%}{% include 'Bad Name' ignore missing %}",
            &[],
        );
        // A version that does not parse is render's to report.
        add("broken", "{% include 'nope' ", &["live"]);

        let found = store.dangling_includes().unwrap();
        let summary: Vec<_> = found
            .iter()
            .map(|d| {
                let labels: Vec<&str> = d.labels.iter().map(Label::as_str).collect();
                (
                    d.prompt.as_str(),
                    d.id.clone(),
                    labels,
                    d.newest,
                    d.include.rev.as_str(),
                    d.include.line,
                    d.reason.to_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "bot",
                    newest.clone(),
                    vec![],
                    true,
                    "tone@live~3",
                    1,
                    "tone@live~3 reaches back 3 changes, but the history holds only 0".into()
                ),
                (
                    "bot",
                    newest,
                    vec![],
                    true,
                    "Bad Name",
                    1,
                    "invalid prompt name \"Bad Name\": spaces are not allowed".into()
                ),
                (
                    "bot",
                    labelled,
                    vec!["beta", "live"],
                    false,
                    "tone@nope",
                    2,
                    "tone has no label \"nope\"".into()
                ),
            ]
        );
        assert!(matches!(found[2].reason, Error::UnknownLabel { .. }));
    }

    /// Every name rendering asks the loader for, in order, each once.
    fn loaded_by_minijinja(body: &str) -> Option<Vec<String>> {
        let loaded = Arc::new(Mutex::new(Vec::new()));
        let mut env = minijinja::Environment::new();
        let log = loaded.clone();
        env.set_loader(move |name| {
            log.lock().unwrap().push(name.to_string());
            Ok(Some(String::new()))
        });
        env.template_from_str(body).ok()?.render(()).ok()?;
        let loaded = loaded.lock().unwrap().clone();
        Some(loaded)
    }

    proptest::proptest! {
        /// Templates made of fragments that fool naive scans: whenever
        /// minijinja accepts one, the scan finds exactly what it loads (and
        /// on anything else, it does not panic).
        #[test]
        fn the_scan_agrees_with_minijinja_on_tricky_templates(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{% include 'a' %}", "{%- include \"b\" -%}", "{%+ include 'c' ignore missing +%}",
                    "{% include 'd' with context %}", "{#", "#}", "{% raw %}", "{%- endraw %}",
                    "{{ '", "' }}", "{{ \"%}\" }}", "{% set s = '{% include \"x\" %}' %}",
                    "{{ {'k': 1} }}", "{% if true %}", "{% endif %}", "%}", "}}", "'", "\"",
                    "\\", " ", "\n", "text", "{", "{%", "{{",
                ]),
                0..12,
            )
        ) {
            let body: String = parts.concat();
            let scanned: Vec<String> = scan(&body).into_iter().filter_map(|t| t.name).collect();
            if let Some(loaded) = loaded_by_minijinja(&body) {
                let mut unique: Vec<String> = Vec::new();
                for name in scanned {
                    if !unique.contains(&name) {
                        unique.push(name);
                    }
                }
                proptest::prop_assert_eq!(unique, loaded, "{:?}", body);
            }
        }
    }

    /// The scan agrees with minijinja: for each template, the static names
    /// found are exactly the names rendering asks the loader for.
    #[test]
    fn the_scan_agrees_with_what_rendering_loads() {
        let bodies = [
            "{% include 'a' %}{% include \"b\" %}",
            "{%- include 'a' -%} x {%+ include 'b' +%}",
            "{# {% include 'no' %} #}{% include 'a' %}",
            "{% raw %}{% include 'no' %}{% endraw %}{% include 'a' %}",
            "{{ '{% include \"no\" %}' }}{% include 'a' %}",
            "{% for i in [1, 2] %}{% include 'a' %}{% endfor %}",
            "{% if true %}{% include 'a' ignore missing %}{% endif %}",
            "{% set d = {'x': '%}'} %}{% include 'a' with context %}",
            "{% macro m() %}{% include 'a' %}{% endmacro %}{{ m() }}",
            "{% include 'a\\x62' %}",
        ];
        for body in bodies {
            let loaded = Arc::new(Mutex::new(Vec::new()));
            let mut env = minijinja::Environment::new();
            let log = loaded.clone();
            env.set_loader(move |name| {
                log.lock().unwrap().push(name.to_string());
                Ok(Some(String::new()))
            });
            env.template_from_str(body).unwrap().render(()).unwrap();
            let mut loaded = loaded.lock().unwrap().clone();
            loaded.dedup();
            let scanned: Vec<String> = scan(body).into_iter().filter_map(|t| t.name).collect();
            assert_eq!(scanned, loaded, "{body:?}");
        }
    }
}
