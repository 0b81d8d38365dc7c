//! Prompts are more than text: front matter (`show --meta`, `show --body`),
//! variables and strict rendering (`render`, `vars`), the promotion guard on
//! variables, and `diff --meta`.

use snapbox::{assert_data_eq, str};

use crate::support::TestEnv;

/// A Dotprompt-style prompt: a required variable and one with a default.
const V1: &str = "\
---
description: Checkout assistant
model: openai/gpt-4o
config:
  temperature: 0.7
input:
  schema:
    customer: string
    tone?: string
  default:
    tone: friendly
owner: dana
---
Hello {{ customer }}, in a {{ tone }} tone.
";

/// The next version: another model and parameters, `tone` gone, a new
/// required `order_id`.
const V2: &str = "\
---
description: Checkout assistant
model: openai/gpt-4o-mini
config:
  temperature: 0.2
  max_tokens: 300
input:
  schema:
    customer: string
    order_id: string
---
Hello {{ customer }}, about order {{ order_id }}.
";

/// A store with V1 on staging and prod, and V2 added on staging.
fn released() -> TestEnv {
    let env = TestEnv::init();
    env.write("v1.md", V1);
    env.run(&["add", "bot", "v1.md", "-m", "first", "--label", "staging"])
        .ok();
    env.run(&["promote", "bot", "staging", "prod", "-m", "ship"])
        .ok();
    env.write("v2.md", V2);
    env.run(&[
        "add",
        "bot",
        "v2.md",
        "-m",
        "order ids",
        "--label",
        "staging",
    ])
    .ok();
    env
}

// ----- show --meta / --body --------------------------------------------------

#[test]
fn show_meta_describes_a_version() {
    let env = released();
    let run = env.run(&["show", "bot@prod", "--meta"]).ok();
    assert_eq!(run.stderr, "");
    assert_data_eq!(
        run.stdout,
        str![[r#"
id:       [..]
labels:   prod
size:     230 bytes
added:    2026-01-02T10:01:00Z by Ada Lovelace <ada@example.com>
message:  first
file:     v1.md
front matter:
  config:
    temperature: 0.7
  description: Checkout assistant
  input:
    default:
      tone: friendly
    schema:
      customer: string
      tone?: string
  model: openai/gpt-4o
  owner: dana

"#]]
    );
    let run = env.run(&["show", "bot@staging", "--meta", "--json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["id"], blake3::hash(V2.as_bytes()).to_hex().as_str());
    assert_eq!(doc["labels"], serde_json::json!(["staging"]));
    assert_eq!(doc["size"], V2.len());
    assert_eq!(doc["rev"], "bot@staging");
    assert_eq!(doc["name"], "bot");
    assert_eq!(
        doc["added"],
        serde_json::json!({
            "time": "2026-01-02T10:03:00Z",
            "author": "Ada Lovelace <ada@example.com>",
            "message": "order ids",
            "file": "v2.md",
        })
    );
    assert_eq!(doc["front_matter"]["config"]["max_tokens"], 300);
    assert_eq!(doc["front_matter"]["model"], "openai/gpt-4o-mini");
}

#[test]
fn show_meta_of_a_plain_prompt() {
    let env = TestEnv::init();
    env.add("plain", "Be brief.\n", &[]);
    let run = env.run(&["show", "plain", "--meta"]).ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
id:       [..]
labels:   (none)
size:     10 bytes
added:    2026-01-02T10:01:00Z by Ada Lovelace <ada@example.com>
message:  (none)
front matter: (none)

"#]]
    );
    let run = env.run(&["show", "plain", "--meta", "--json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["front_matter"], serde_json::Value::Null);
    assert_eq!(doc["labels"], serde_json::json!([]));
    assert_eq!(doc["added"]["file"], serde_json::Value::Null);
}

#[test]
fn show_body_is_the_exact_bytes_after_the_front_matter() {
    let env = TestEnv::init();
    let cases: [(&[u8], &[u8]); 4] = [
        (
            V1.as_bytes(),
            b"Hello {{ customer }}, in a {{ tone }} tone.\n",
        ),
        (
            b"---\r\nmodel: x\r\n---\r\nCRLF body\r\nno newline",
            b"CRLF body\r\nno newline",
        ),
        (b"---\nmodel: x\n---\n\xff\xfe raw\n", b"\xff\xfe raw\n"),
        // No front matter: the body is the whole file.
        (
            b"Plain.\n---\nnot front matter\n",
            b"Plain.\n---\nnot front matter\n",
        ),
    ];
    for (i, (file, body)) in cases.iter().enumerate() {
        let name = format!("p{i}");
        env.run_stdin(&["add", &name, "-"], file).ok();
        let run = env.run(&["show", &name, "--body"]).ok();
        assert_eq!(run.stdout_bytes, *body, "case {i}");
        // `show` itself still writes every stored byte.
        assert_eq!(env.run(&["show", &name]).ok().stdout_bytes, *file);
    }
}

#[test]
fn show_flags_that_do_not_combine_are_refused() {
    let env = TestEnv::init();
    env.add("p", "x", &[]);
    let run = env.run(&["show", "p", "--json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--meta"), "{}", run.stderr);
    let run = env.run(&["show", "p", "--meta", "--body"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
}

// ----- invalid front matter --------------------------------------------------

#[test]
fn invalid_front_matter_warns_at_add_and_fails_render() {
    let env = TestEnv::init();
    let bytes = "---\nmodel: x\nconfig: {temperature: 0.2\n---\nHi {{ name }}\n";
    env.write("bad.md", bytes);
    let before = env.snapshot();
    let run = env.run(&["add", "bad", "bad.md"]).ok();
    assert_data_eq!(
        run.stderr,
        str![[r#"
bad: new version 003bd9cd6ffe
warning: bad: invalid front matter at line 4, column 1: did not find expected ',' or '}', while parsing a flow mapping at line 3, column 9; the version is stored as is, but render will refuse it

"#]]
    );
    assert_ne!(env.snapshot(), before, "the version is stored");
    // Stored exactly, and the body can still be taken apart.
    assert_eq!(env.run(&["show", "bad"]).ok().stdout, bytes);
    assert_eq!(
        env.run(&["show", "bad", "--body"]).ok().stdout,
        "Hi {{ name }}\n"
    );

    let run = env.run(&["render", "bad", "--var", "name=x"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: cannot render bad: invalid front matter at line 4, column 1: did not find expected ',' or '}', while parsing a flow mapping at line 3, column 9
hint: fix the YAML between the `---` lines and add the file again (stored versions never change)

"#]]
    );
    let run = env.run(&["vars", "bad"]).fails(2);
    assert!(run.stderr.contains("at line 4, column 1"), "{}", run.stderr);
    let run = env.run(&["show", "bad", "--meta"]).fails(2);
    assert!(run.stderr.contains("at line 4, column 1"), "{}", run.stderr);

    // A key of the wrong type, and an unclosed block, name their place too.
    let run = env.run_stdin(
        &["add", "shape", "-"],
        b"---\ninput:\n  default: [a]\n---\n",
    );
    assert_data_eq!(
        run.ok().stderr,
        str![[r#"
shape: new version a78f1de86c14
warning: shape: invalid front matter at line 3, column 12: input.default: invalid type: sequence, expected a map; the version is stored as is, but render will refuse it

"#]]
    );
    let run = env.run_stdin(&["add", "open", "-"], b"---\nmodel: x\nHello\n");
    assert!(
        run.ok()
            .stderr
            .contains("invalid front matter at line 1, column 1: the `---` line opens front matter that no later `---` line closes"),
    );
    let run = env.run(&["render", "open"]).fails(2);
    assert!(run.stderr.contains("line 1, column 1"), "{}", run.stderr);
}

#[test]
fn valid_front_matter_adds_without_a_warning() {
    let env = TestEnv::init();
    env.write("v1.md", V1);
    let run = env.run(&["add", "bot", "v1.md"]).ok();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

// ----- render ----------------------------------------------------------------

#[test]
fn render_fills_variables_over_defaults() {
    let env = released();
    let run = env
        .run(&["render", "bot@prod", "--var", "customer=Dana"])
        .ok();
    assert_eq!(run.stdout, "Hello Dana, in a friendly tone.\n");
    assert_eq!(run.stderr, "");
    let run = env
        .run(&[
            "render",
            "bot@prod",
            "--var",
            "customer=Dana",
            "--var",
            "tone=warm",
        ])
        .ok();
    assert_eq!(run.stdout, "Hello Dana, in a warm tone.\n");
    // `=` in the value is kept; nothing is escaped or trimmed.
    let run = env
        .run(&[
            "render",
            "bot@prod",
            "--var",
            "customer=<a&b>=c ",
            "--var",
            "tone=",
        ])
        .ok();
    assert_eq!(run.stdout, "Hello <a&b>=c , in a  tone.\n");
    // A plain prompt renders to itself, byte for byte.
    env.add("plain", "Be brief.", &[]);
    assert_eq!(env.run(&["render", "plain"]).ok().stdout, "Be brief.");
}

#[test]
fn render_names_every_missing_variable() {
    let env = released();
    let run = env.run(&["render", "bot@staging"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: cannot render bot@staging: missing variables: customer, order_id
hint: give each with --var NAME=VALUE or --vars FILE, or a default in the front matter (input.default)

"#]]
    );
    let run = env
        .run(&["render", "bot@staging", "--var", "customer=Dana"])
        .fails(2);
    assert!(
        run.stderr
            .starts_with("error: cannot render bot@staging: missing variables: order_id\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn render_warns_about_unknown_variables_and_strict_refuses_them() {
    let env = released();
    let args = [
        "render",
        "bot@prod",
        "--var",
        "customer=Dana",
        "--var",
        "order_id=7",
        "--var",
        "extra=1",
    ];
    let run = env.run(&args).ok();
    assert_eq!(run.stdout, "Hello Dana, in a friendly tone.\n");
    assert_data_eq!(
        run.stderr,
        str![[r#"
warning: bot@prod neither declares nor uses these variables: extra, order_id (ignored; --strict refuses them)

"#]]
    );
    let mut strict = args.to_vec();
    strict.push("--strict");
    let run = env.run(&strict).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: cannot render bot@prod: unknown variables: extra, order_id (the version knows customer, tone)
hint: `promptrel vars REV` lists the variables it uses; without --strict they are only a warning

"#]]
    );
    // Strict with only known variables renders.
    let run = env
        .run(&["render", "bot@prod", "--var", "customer=D", "--strict"])
        .ok();
    assert_eq!(run.stdout, "Hello D, in a friendly tone.\n");
}

#[test]
fn render_reads_variables_from_yaml_and_json_files() {
    let env = TestEnv::init();
    env.add(
        "order",
        "{{ customer }}: {% for item in items %}{{ item.name }} x{{ item.n }}; {% endfor %}{{ note }}\n",
        &[],
    );
    env.write(
        "vars.yaml",
        "customer: Dana\nitems:\n  - {name: tea, n: 2}\n  - {name: cake, n: 1}\nnote: from yaml\n",
    );
    env.write("more.json", r#"{"note": "from json", "customer": "Lee"}"#);
    let run = env.run(&["render", "order", "--vars", "vars.yaml"]).ok();
    assert_eq!(run.stdout, "Dana: tea x2; cake x1; from yaml\n");
    // Later files win, and --var wins over every file.
    let run = env
        .run(&[
            "render",
            "order",
            "--vars",
            "vars.yaml",
            "--vars",
            "more.json",
            "--var",
            "note=cli",
        ])
        .ok();
    assert_eq!(run.stdout, "Lee: tea x2; cake x1; cli\n");
    let run = env
        .run(&["render", "order", "--vars", "vars.yaml", "--json"])
        .ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["rev"], "order");
    assert_eq!(
        doc["id"],
        blake3::hash(env.run(&["show", "order"]).ok().stdout_bytes.as_slice())
            .to_hex()
            .as_str()
    );
    assert_eq!(doc["text"], "Dana: tea x2; cake x1; from yaml\n");
    assert_eq!(doc["variables"]["items"][0]["n"], 2);
    assert_eq!(doc["variables"]["customer"], "Dana");
}

#[test]
fn bad_variable_input_is_refused() {
    let env = TestEnv::init();
    env.add("p", "{{ a }}", &[]);
    env.write("bad.json", "{\"a\": 1,\n}");
    env.write("list.yaml", "- a\n");
    env.write("vars.txt", "a: 1\n");
    for (args, expected) in [
        (
            &["render", "p", "--var", "a"][..],
            "error: invalid --var \"a\": expected NAME=VALUE, NAME being letters, digits and _\n",
        ),
        (
            &["render", "p", "--var", "1a=x"],
            "error: invalid --var \"1a=x\": expected NAME=VALUE, NAME being letters, digits and _\n",
        ),
        (
            &["render", "p", "--vars", "bad.json"],
            "error: invalid JSON in bad.json: trailing comma at line 2 column 1\n",
        ),
        (
            &["render", "p", "--vars", "list.yaml"],
            "error: list.yaml must map variable names to values (NAME: VALUE)\n",
        ),
        (
            &["render", "p", "--vars", "vars.txt"],
            "error: cannot tell the format of vars.txt: name it .yaml, .yml or .json\n",
        ),
    ] {
        let run = env.run(args).fails(2);
        assert_eq!(run.stderr, expected, "{args:?}");
    }
    let run = env.run(&["render", "p", "--vars", "missing.yaml"]).fails(2);
    assert!(
        run.stderr
            .starts_with("error: cannot read variables from missing.yaml: "),
        "{}",
        run.stderr
    );
}

#[test]
fn template_errors_name_the_line_of_the_file() {
    let env = TestEnv::init();
    env.add("syntax", "---\nmodel: x\n---\nfine\n{{ oops\n", &[]);
    let run = env.run(&["render", "syntax"]).fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: cannot render syntax: template error at line 5, column 4: syntax error: unexpected end of input, expected end of variable block
hint: the body is a Jinja2 template: write {% raw %}…{% endraw %} around text that only looks like one

"#]]
    );
    // An optional variable printed without a guard is still never empty.
    env.add(
        "optional",
        "---\ninput: {schema: {note?: string}}\n---\n{% if note is defined %}guarded {{ note }}{% endif %}\nbare {{ note }}\n",
        &[],
    );
    let run = env.run(&["render", "optional"]).fails(2);
    assert!(
        run.stderr.starts_with(
            "error: cannot render optional: template error at line 5, column 9: undefined value `note`"
        ),
        "{}",
        run.stderr
    );
    let run = env.run(&["render", "optional", "--var", "note=n"]).ok();
    assert_eq!(run.stdout, "guarded n\nbare n\n");
}

// ----- vars ------------------------------------------------------------------

#[test]
fn vars_lists_declared_and_used_variables() {
    let env = TestEnv::init();
    env.add(
        "p",
        "---\ninput:\n  schema: {customer: string, tone?: string, signature?: string, spare: string}\n  default: {tone: friendly}\n---\n{{ customer }} {{ tone }} {{ order_id }}{% if signature is defined %}{{ signature }}{% endif %}\n",
        &[],
    );
    let run = env.run(&["vars", "p"]).ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
customer   required
order_id   required  (used by the body, not declared)
signature  optional
spare      not needed  (declared, not used by the body)
tone       default "friendly"

"#]]
    );
    let run = env.run(&["vars", "p", "--json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["rev"], "p");
    assert_eq!(
        doc["variables"][4],
        serde_json::json!({
            "name": "tone", "declared": true, "used": true, "required": false,
            "optional": true, "has_default": true, "default": "friendly",
        })
    );
    assert_eq!(
        doc["variables"][1],
        serde_json::json!({
            "name": "order_id", "declared": false, "used": true, "required": true,
            "optional": false, "has_default": false,
        })
    );
    env.add("plain", "No variables here.\n", &[]);
    assert_eq!(
        env.run(&["vars", "plain"]).ok().stdout,
        "plain has no variables\n"
    );
}

// ----- the promotion guard ---------------------------------------------------

#[test]
fn promote_refuses_a_version_needing_new_variables() {
    let env = released();
    let before = env.snapshot();
    let run = env
        .run(&["promote", "bot", "staging", "prod", "-m", "order ids"])
        .fails(2);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: promoting ba0d12ee6df3 to bot@prod would require new variables: order_id (its current version 73c60846831c does not)
hint: give them defaults in the front matter (input.default), or pass --allow-new-vars once every caller supplies them

"#]]
    );
    assert_eq!(env.snapshot(), before, "a refused promotion writes nothing");

    let run = env
        .run(&[
            "promote",
            "bot",
            "staging",
            "prod",
            "-m",
            "order ids",
            "--allow-new-vars",
        ])
        .ok();
    assert!(
        run.stdout.starts_with("promoted bot@prod: "),
        "{}",
        run.stdout
    );
    assert_data_eq!(
        run.stderr,
        str![[r#"
warning: bot@prod now requires variables: order_id (allowed by --allow-new-vars)
warning: bot@prod no longer uses variables: tone; callers passing them get a warning from render (an error with --strict)

"#]]
    );
    // Rolling back is not guarded: it returns to what callers already passed.
    env.run(&["rollback", "bot", "prod", "-m", "undo"]).ok();
}

#[test]
fn promote_warns_about_removed_variables_only() {
    let env = TestEnv::init();
    env.add("p", "{{ customer }} {{ tone }}", &["--label", "staging"]);
    env.run(&["promote", "p", "staging", "prod", "-m", "1"])
        .ok();
    env.add("p", "{{ customer }}", &["--label", "staging"]);
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "2"])
        .ok();
    assert_eq!(
        run.stderr,
        "warning: p@prod no longer uses variables: tone; callers passing them get a warning from render (an error with --strict)\n"
    );
}

#[test]
fn the_guard_applies_only_to_parsed_versions_replacing_another() {
    let env = TestEnv::init();
    // A new label: nothing to compare with.
    env.add("p", "{{ a }}", &["--label", "staging"]);
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "1"])
        .ok();
    assert_eq!(run.stderr, "");
    // A default covers a new variable.
    let with_default = env.add(
        "p",
        "---\ninput: {default: {b: x}}\n---\n{{ a }} {{ b }}",
        &["--label", "staging"],
    );
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "2"])
        .ok();
    assert_eq!(run.stderr, "");
    // So does declaring it optional.
    env.add(
        "p",
        "---\ninput: {schema: {c?: string}, default: {b: x}}\n---\n{{ a }} {{ b }}{% if c is defined %}{{ c }}{% endif %}",
        &["--label", "staging"],
    );
    env.run(&["promote", "p", "staging", "prod", "-m", "3"])
        .ok();
    // A version that does not parse is not compared (render will refuse it).
    env.add("p", "{{ a }} {{ d }} {{ oops", &["--label", "staging"]);
    let run = env
        .run(&["promote", "p", "staging", "prod", "-m", "4"])
        .ok();
    assert_eq!(run.stderr, "");
    // Taking a default away is a new requirement, whatever the source revision.
    env.add("p", "{{ a }} {{ b }}", &["--label", "staging"]);
    env.run(&["promote", "p", &with_default[..12], "canary", "-m", "5"])
        .ok();
    let run = env
        .run(&["promote", "p", "staging", "canary", "-m", "6"])
        .fails(2);
    assert!(
        run.stderr
            .contains("would require new variables: b (its current version"),
        "{}",
        run.stderr
    );
}

// ----- diff --meta -----------------------------------------------------------

#[test]
fn diff_meta_summarises_front_matter_changes() {
    let env = released();
    let run = env
        .run(&["diff", "bot@prod", "bot@staging", "--meta", "--stat"])
        .ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
front matter: 6 changes
  model: "openai/gpt-4o" -> "openai/gpt-4o-mini"
  parameter max_tokens: added (300)
  parameter temperature: 0.7 -> 0.2
  variable order_id: added (required)
  variable tone: removed (was default "friendly")
  owner: removed (was "dana")

 bot | 12 +++++-------
 1 file changed, 5 insertions(+), 7 deletions(-)

"#]]
    );
    // Above the unified diff, which is unchanged.
    let plain = env.run(&["diff", "bot@prod", "bot@staging"]).ok().stdout;
    let meta = env
        .run(&["diff", "bot@prod", "bot@staging", "--meta"])
        .ok()
        .stdout;
    let (summary, rest) = meta.split_once("\n\n").unwrap();
    assert!(
        summary.starts_with("front matter: 6 changes\n"),
        "{summary}"
    );
    assert_eq!(rest, plain);

    // Same front matter, different body; and no front matter on either side.
    env.add("bot", &V1.replace("Hello", "Hi"), &["--label", "staging"]);
    let run = env
        .run(&["diff", "bot@prod", "bot@staging", "--meta", "--stat"])
        .ok();
    assert!(
        run.stdout
            .starts_with("front matter: unchanged\n\n bot | 2 +-\n"),
        "{}",
        run.stdout
    );
    env.add("plain", "a\n", &[]);
    env.add("plain", "b\n", &[]);
    let run = env.run(&["diff", "plain~1", "plain", "--meta"]).ok();
    assert!(
        run.stdout
            .starts_with("front matter: unchanged\n\n--- a/plain"),
        "{}",
        run.stdout
    );
    // A side whose front matter does not parse is an error naming it.
    env.add("plain", "---\n[\n---\n", &[]);
    let run = env.run(&["diff", "plain~1", "plain", "--meta"]).fails(2);
    assert!(
        run.stderr.starts_with(
            "error: cannot read the front matter of plain: invalid front matter at line 3"
        ),
        "{}",
        run.stderr
    );
}

// ----- help ------------------------------------------------------------------

#[test]
fn every_new_flag_has_an_example_in_its_help() {
    let env = TestEnv::new();
    for (command, flag) in [
        ("show", "--meta"),
        ("show", "--body"),
        ("show", "--json"),
        ("render", "--var"),
        ("render", "--vars"),
        ("render", "--strict"),
        ("render", "--json"),
        ("vars", "--json"),
        ("promote", "--allow-new-vars"),
        ("diff", "--meta"),
    ] {
        let help = env.run(&[command, "--help"]).ok().stdout;
        // The flag's own paragraph: from its line to the next option's.
        let mut lines = help.lines().skip_while(|l| {
            let l = l.trim_start();
            !(l == flag || l.starts_with(&format!("{flag} ")))
        });
        assert!(
            lines.next().is_some(),
            "{command} --help lacks {flag}:\n{help}"
        );
        let section: Vec<&str> = lines
            .take_while(|l| !l.trim_start().starts_with('-'))
            .collect();
        assert!(
            section.iter().any(|l| l
                .trim_start()
                .starts_with(&format!("Example: promptrel {command} "))),
            "{command} {flag} has no example:\n{}",
            section.join("\n")
        );
    }
}

// ----- the README's examples -------------------------------------------------

/// The second version in the README's story (its file is not shown there).
const README_V2: &str = "\
---
description: Checkout assistant, short answers
model: openai/gpt-4o
config:
  temperature: 0.2
input:
  schema:
    customer: string
    order_id: string
---
You are a helpful checkout assistant. Greet {{ customer }}.
Answer questions about order {{ order_id }} in two sentences.
";

/// Split a documented command line like a shell would (double quotes only).
pub fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => (quoted, any) = (!quoted, true),
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            _ => (word.push(c), any = true).1,
        }
    }
    if any {
        words.push(word);
    }
    words
}

#[test]
fn readme_front_matter_examples_are_real_output() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let start = readme.find("\n## Metadata: front matter").unwrap();
    let end = readme.find("\n## Composing prompts").unwrap();
    let section = &readme[start..end];
    let block = |from: usize, lang: &str| -> Option<(usize, String)> {
        let open = format!("```{lang}\n");
        let at = section[from..].find(&open)? + from + open.len();
        let close = section[at..].find("```\n").unwrap() + at;
        Some((close, section[at..close].to_string()))
    };

    let env = TestEnv::init();
    let dana = |args: &[&str], date: &str| {
        crate::support::run_cmd(
            env.command(args)
                .env("PROMPTREL_AUTHOR", "Dana <dana@example.com>")
                .env("PROMPTREL_DATE", date),
        )
    };
    let (_, v1) = block(0, "yaml").unwrap();
    env.write("prompts/checkout.md", &v1);
    env.write("order.yaml", "customer: Ada\n");
    let add = [
        "add",
        "checkout-bot",
        "prompts/checkout.md",
        "--label",
        "staging",
        "-m",
    ];
    let t1 = "2026-01-02T10:01:00Z";
    dana(&[&add[..], &["current prompt"]].concat(), t1).ok();
    dana(
        &[
            "promote",
            "checkout-bot",
            "staging",
            "prod",
            "-m",
            "first release",
        ],
        t1,
    )
    .ok();
    let t3 = "2026-01-02T10:03:00Z";
    let mut second_added = false;
    let mut from = 0;
    let mut checked = 0;
    while let Some((close, text)) = block(from, "console") {
        from = close;
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let command = line.strip_prefix("$ promptrel ").expect(line);
            let command = command.split("  #").next().unwrap().trim_end();
            let mut expected = String::new();
            while let Some(out) = lines.next_if(|l| !l.starts_with("$ ")) {
                expected.push_str(out);
                expected.push('\n');
            }
            // The story adds its second version once it looks at staging.
            if command.contains("staging") && !second_added {
                env.write("prompts/checkout.md", README_V2);
                dana(&[&add[..], &["answer about the order"]].concat(), t3).ok();
                second_added = true;
            }
            let words = shell_words(command);
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let run = dana(&args, t3);
            assert_eq!(
                format!("{}{}", run.stdout, run.stderr),
                expected,
                "README: $ promptrel {command}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} commands found");
}
