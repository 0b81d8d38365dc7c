//! Composition: `{% include "NAME@LABEL" %}` resolved from the store by
//! `render` (and `vars`), with loops, depth and missing includes refused.

use snapbox::{assert_data_eq, str};

use crate::support::{Run, TestEnv};

/// Add `body` as a version of `name` on staging and promote it to prod;
/// its full id.
fn release(env: &TestEnv, name: &str, body: &str) -> String {
    let id = env.add(name, body, &["--label", "staging"]);
    env.run(&["promote", name, "staging", "prod", "-m", "release"])
        .ok();
    id
}

fn short(id: &str) -> &str {
    &id[..12]
}

/// A refused render: exit 2, one `error:` line, clean stdout, and the store
/// as it was.
#[track_caller]
fn refused(env: &TestEnv, args: &[&str]) -> Run {
    let before = env.snapshot();
    let run = env.run(args).fails(2);
    assert_eq!(env.snapshot(), before, "render never writes");
    run
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap()
}

// ----- resolving includes ----------------------------------------------------

#[test]
fn include_by_label_inserts_the_labelled_body() {
    let env = TestEnv::init();
    release(&env, "support/tone", "Answer kindly and briefly.");
    env.add(
        "checkout-bot",
        "You help {{ customer }} check out.\n{% include \"support/tone@prod\" %}\n",
        &[],
    );
    let run = env
        .run(&["render", "checkout-bot", "--var", "customer=Ada"])
        .ok();
    assert_eq!(
        run.stdout,
        "You help Ada check out.\nAnswer kindly and briefly.\n"
    );
    assert_eq!(run.stderr, "");

    // The label moves: what is included moves with it.
    env.add("support/tone", "Be terse.", &["--label", "staging"]);
    env.run(&["promote", "support/tone", "staging", "prod", "-m", "terse"])
        .ok();
    let run = env
        .run(&["render", "checkout-bot", "--var", "customer=Ada"])
        .ok();
    assert_eq!(run.stdout, "You help Ada check out.\nBe terse.\n");
}

#[test]
fn include_by_id_prefix_or_full_id_is_pinned() {
    let env = TestEnv::init();
    let first = release(&env, "tone", "first");
    release(&env, "tone", "second");
    let prefix = &first[..8];
    env.add(
        "p",
        &format!("{{% include 'tone@{prefix}' %}} {{% include 'tone@{first}' %}} {{% include 'tone@prod' %}} {{% include 'tone' %}}"),
        &[],
    );
    let run = env.run(&["render", "p"]).ok();
    assert_eq!(run.stdout, "first first second second");
}

#[test]
fn nested_includes_render_and_json_lists_every_version_used() {
    let env = TestEnv::init();
    let sign = release(&env, "sign", "-- {{ agent }}");
    let tone = release(&env, "tone", "Be brief. {% include 'sign@prod' %}");
    let bot = env.add(
        "bot",
        "Hi {{ customer }}. {% include 'tone@prod' %} {% include 'sign@prod' %}",
        &[],
    );
    let args = [
        "render",
        "bot",
        "--var",
        "customer=Ada",
        "--var",
        "agent=Bo",
    ];
    let run = env.run(&args).ok();
    assert_eq!(run.stdout, "Hi Ada. Be brief. -- Bo -- Bo");

    let mut with_json = args.to_vec();
    with_json.push("--json");
    let doc = json(&env.run(&with_json).ok());
    assert_eq!(doc["rev"], "bot");
    assert_eq!(doc["id"], bot);
    assert_eq!(doc["text"], "Hi Ada. Be brief. -- Bo -- Bo");
    // In the order first loaded, each include once, with full ids.
    assert_eq!(
        doc["includes"],
        serde_json::json!([
            {"rev": "tone@prod", "id": tone},
            {"rev": "sign@prod", "id": sign},
        ])
    );
    // A prompt without includes has an empty list: a log line can always
    // record it.
    env.add("plain", "x", &[]);
    let doc = json(&env.run(&["render", "plain", "--json"]).ok());
    assert_eq!(doc["includes"], serde_json::json!([]));
}

#[test]
fn json_lists_only_the_includes_rendering_reached() {
    let env = TestEnv::init();
    let warm = release(&env, "warm", "warm");
    release(&env, "cold", "cold");
    env.add(
        "p",
        "{% if hot %}{% include 'warm@prod' %}{% else %}{% include 'cold@prod' %}{% endif %}",
        &[],
    );
    env.write("hot.json", r#"{"hot": true}"#);
    let doc = json(
        &env.run(&["render", "p", "--vars", "hot.json", "--json"])
            .ok(),
    );
    assert_eq!(doc["text"], "warm");
    assert_eq!(
        doc["includes"],
        serde_json::json!([{"rev": "warm@prod", "id": warm}])
    );
}

// ----- variables -------------------------------------------------------------

#[test]
fn a_missing_variable_of_an_included_body_is_named() {
    let env = TestEnv::init();
    release(
        &env,
        "support/tone",
        "Thank {{ customer }} for order {{ order_id }}.",
    );
    env.add(
        "bot",
        "Hello {{ customer }}. {% include 'support/tone@prod' %}",
        &[],
    );
    let run = refused(&env, &["render", "bot"]);
    assert_data_eq!(
        run.stderr,
        str![[r#"
error: cannot render bot: missing variables: customer, order_id (used by include "support/tone@prod")
hint: give each with --var NAME=VALUE or --vars FILE, or a default in the front matter (input.default)

"#]]
    );
    let run = env
        .run(&[
            "render",
            "bot",
            "--var",
            "customer=Ada",
            "--var",
            "order_id=7",
            "--strict",
        ])
        .ok();
    assert_eq!(run.stdout, "Hello Ada. Thank Ada for order 7.");
}

#[test]
fn an_included_versions_defaults_apply_unless_the_version_declares_the_variable() {
    let env = TestEnv::init();
    release(
        &env,
        "tone",
        "---\nmodel: ignored/here\ninput:\n  schema: {mood?: string}\n  default: {mood: calm, who: friend}\n---\nStay {{ mood }}, {{ who }}.",
    );
    // The front matter of the included version is not included.
    env.add("uses-default", "{% include 'tone@prod' %}", &[]);
    let run = env.run(&["render", "uses-default"]).ok();
    assert_eq!(run.stdout, "Stay calm, friend.");
    let doc = json(&env.run(&["render", "uses-default", "--json"]).ok());
    assert_eq!(
        doc["variables"],
        serde_json::json!({"mood": "calm", "who": "friend"})
    );
    // Given values win over the include's defaults.
    let run = env
        .run(&["render", "uses-default", "--var", "mood=bold"])
        .ok();
    assert_eq!(run.stdout, "Stay bold, friend.");

    // The version rendered declares `who` (no default): its declaration wins.
    env.add(
        "declares",
        "---\ninput:\n  schema: {who: string}\n---\n{% include 'tone@prod' %}",
        &[],
    );
    let run = refused(&env, &["render", "declares"]);
    assert!(
        run.stderr
            .starts_with("error: cannot render declares: missing variables: who\n"),
        "{}",
        run.stderr
    );

    let run = env.run(&["vars", "uses-default"]).ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
mood  default "calm"  (from include tone@prod)
who   default "friend"  (from include tone@prod)

"#]]
    );
    let doc = json(&env.run(&["vars", "uses-default", "--json"]).ok());
    assert_eq!(doc["variables"][0]["via"], "tone@prod");
    assert_eq!(doc["includes"][0]["rev"], "tone@prod");
    let run = env.run(&["vars", "declares"]).ok();
    assert_data_eq!(
        run.stdout,
        str![[r#"
mood  default "calm"  (from include tone@prod)
who   required

"#]]
    );
}

#[test]
fn variables_set_around_an_include_are_not_asked_for() {
    let env = TestEnv::init();
    release(&env, "row", "- {{ item }} ({{ loop.index }})\n");
    env.add(
        "list",
        "{% for item in items %}{% include 'row@prod' %}\n{% endfor %}",
        &[],
    );
    env.write("items.yaml", "items: [tea, cake]\n");
    let run = env
        .run(&["render", "list", "--vars", "items.yaml", "--strict"])
        .ok();
    assert_eq!(run.stdout, "- tea (1)\n- cake (2)\n");
    assert_eq!(
        env.run(&["vars", "list"]).ok().stdout,
        "items  required  (used by the body, not declared)\n"
    );
}

#[test]
fn an_undefined_value_inside_an_include_names_the_include_and_its_line() {
    let env = TestEnv::init();
    let tone = release(
        &env,
        "tone",
        "---\ninput: {schema: {note?: string}}\n---\nfine\nnote: {{ note }}\n",
    );
    env.add("p", "{% include 'tone@prod' %}", &[]);
    let run = refused(&env, &["render", "p"]);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot render p: in tone@prod ({}): template error at line 5, column 10: undefined value `note`\n\
             hint: the body is a Jinja2 template: write {{% raw %}}…{{% endraw %}} around text that only looks like one\n",
            short(&tone)
        )
    );
}

// ----- refused includes ------------------------------------------------------

#[test]
fn a_missing_include_names_the_include_and_the_including_version() {
    let env = TestEnv::init();
    release(&env, "support/tone", "t");
    let p = env.add("p", "{% include 'support/tones@prod' %}", &[]);
    let run = refused(&env, &["render", "p"]);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot render p: cannot include \"support/tones@prod\" in p ({}): no prompt named \"support/tones\"\n\
             hint: did you mean support/tone?\n",
            short(&p)
        )
    );

    let q = env.add("q", "{% include 'support/tone@prdo' %}", &[]);
    let run = refused(&env, &["render", "q"]);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot render q: cannot include \"support/tone@prdo\" in q ({}): support/tone has no label \"prdo\"\n\
             hint: did you mean support/tone@prod?\n",
            short(&q)
        )
    );

    // Deeper down, the including version is the include, not the top.
    let mid = release(
        &env,
        "mid",
        "{% if false %}{% include 'support/tone@gone' %}{% endif %}",
    );
    env.add("top", "{% include 'mid@prod' %}", &[]);
    let run = refused(&env, &["render", "top"]);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot render top: cannot include \"support/tone@gone\" in mid@prod ({}): support/tone has no label \"gone\"\n",
            short(&mid)
        )),
        "{}",
        run.stderr
    );
    // vars reads includes too, and refuses the same way.
    let run = refused(&env, &["vars", "top"]);
    assert!(
        run.stderr.starts_with(
            "error: cannot read the variables of top: cannot include \"support/tone@gone\""
        ),
        "{}",
        run.stderr
    );

    // `ignore missing` skips an include that names nothing.
    env.add(
        "optional",
        "a{% include 'support/overrides@prod' ignore missing %}b",
        &[],
    );
    assert_eq!(env.run(&["render", "optional"]).ok().stdout, "ab");
}

#[test]
fn include_loops_are_refused_naming_the_chain() {
    let env = TestEnv::init();
    // a@prod includes b@prod, which includes a@prod.
    env.add("a", "A {% include 'b@prod' %}", &["--label", "staging"]);
    env.add("b", "B {% include 'a@prod' %}", &["--label", "staging"]);
    env.run(&["promote", "a", "staging", "prod", "-m", "1"])
        .ok();
    let b = env.add("b", "B {% include 'a@prod' %}", &[]);
    env.run(&["promote", "b", "staging", "prod", "-m", "1"])
        .ok();
    let a = env.run(&["show", "a@prod", "--meta", "--json"]).ok();
    let a = json(&a)["id"].as_str().unwrap().to_string();
    let run = refused(&env, &["render", "a@prod"]);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot render a@prod: include loop: a@prod -> b@prod -> a@prod (version {} includes itself)\n\
             hint: a prompt cannot include itself, directly or through others; move the shared text into a prompt of its own\n",
            short(&a)
        )
    );
    let run = refused(&env, &["render", "b"]);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot render b: include loop: b -> a@prod -> b@prod (version {} includes itself)\n",
            short(&b)
        )),
        "{}",
        run.stderr
    );

    // A version including itself, even behind a condition never true.
    let me = env.add("me", "{% if false %}{% include 'me' %}{% endif %}", &[]);
    let run = refused(&env, &["render", "me"]);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot render me: include loop: me -> me (version {} includes itself)\n",
            short(&me)
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn includes_nest_at_most_16_deep() {
    let env = TestEnv::init();
    env.add("level16", "bottom", &[]);
    for i in (0..16).rev() {
        env.add(
            &format!("level{i}"),
            &format!("{{% include 'level{}' %}}", i + 1),
            &[],
        );
    }
    assert_eq!(env.run(&["render", "level0"]).ok().stdout, "bottom");
    env.add("top", "{% include 'level0' %}", &[]);
    let run = refused(&env, &["render", "top"]);
    let chain: Vec<String> = std::iter::once("top".to_string())
        .chain((0..=16).map(|i| format!("level{i}")))
        .collect();
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot render top: includes nested more than 16 deep: {}\n\
             hint: includes may nest at most 16 deep; include the innermost prompts directly\n",
            chain.join(" -> ")
        )
    );
}

#[test]
fn an_included_version_that_cannot_be_read_is_refused() {
    let env = TestEnv::init();
    env.run_stdin(&["add", "bin", "-"], b"ok \xff\n").ok();
    let p = env.add("p", "{% include 'bin' %}", &[]);
    let run = refused(&env, &["render", "p"]);
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot render p: cannot include \"bin\" in p ({}): template error at line 1, column 4: the body is not UTF-8 text\n\
             hint: the body is a Jinja2 template: write {{% raw %}}…{{% endraw %}} around text that only looks like one\n",
            short(&p)
        )
    );

    // A damaged object is an integrity error (exit 5), included or not.
    let tone = env.add("tone", "intact", &[]);
    env.add("q", "{% include 'tone' %}", &[]);
    let object = env
        .store()
        .join("objects")
        .join(&tone[..2])
        .join(&tone[2..]);
    std::fs::write(&object, "tampered").unwrap();
    let run = env.run(&["render", "q"]).fails(5);
    assert!(
        run.stderr
            .starts_with("error: cannot render q: cannot include \"tone\" in q ("),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("integrity error in "), "{}", run.stderr);
}

#[test]
fn import_from_and_extends_are_refused() {
    let env = TestEnv::init();
    release(&env, "macros", "{% macro hi() %}hi{% endmacro %}");
    for (body, tag) in [
        ("{% import 'macros@prod' as m %}{{ m.hi() }}", "import"),
        ("x\n{% from 'macros@prod' import hi %}", "from"),
        ("{% extends 'macros@prod' %}", "extends"),
    ] {
        env.add("p", body, &[]);
        let run = refused(&env, &["render", "p"]);
        assert!(
            run.stderr.contains(&format!(
                "{{% {tag} %}} is not supported: only {{% include \"NAME@LABEL\" %}} loads another prompt"
            )),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn render_help_shows_an_include() {
    let env = TestEnv::new();
    let help = env.run(&["render", "--help"]).ok().stdout;
    assert!(
        help.lines()
            .any(|l| l.contains("{% include \"support/tone@prod\" %}")),
        "{help}"
    );
    assert!(help.contains("\"includes\": [{\"rev\", \"id\"}]"), "{help}");
}

#[test]
fn readme_composing_examples_are_real_output() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let start = readme.find("\n## Composing prompts").unwrap();
    // The section ends at the next heading of its level.
    let end = start + 1 + readme[start + 1..].find("\n## ").unwrap();
    let section = &readme[start..end];
    let block = |lang: &str| -> Vec<String> {
        let open = format!("```{lang}\n");
        section
            .split(&open)
            .skip(1)
            .map(|rest| rest[..rest.find("```\n").unwrap()].to_string())
            .collect()
    };
    let env = TestEnv::init();
    env.write("prompts/tone.md", &block("yaml")[0]);
    env.write("prompts/checkout.md", &block("text")[0]);
    let mut checked = 0;
    for text in block("console") {
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let command = line.strip_prefix("$ promptrel ").expect(line);
            let mut expected = String::new();
            while let Some(out) = lines.next_if(|l| !l.starts_with("$ ")) {
                expected.push_str(out);
                expected.push('\n');
            }
            let words = crate::meta::shell_words(command);
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let run = env.run(&args);
            assert_eq!(
                format!("{}{}", run.stdout, run.stderr),
                expected,
                "README: $ promptrel {command}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 7);
}

#[test]
fn fsck_reports_includes_that_name_no_version() {
    let env = TestEnv::init();
    release(&env, "support/tone", "Be kind.\n");
    let id = release(
        &env,
        "checkout-bot",
        "{% include \"support/tone@prod\" %}\n{% include \"support/sign-off@prod\" %}\n",
    );
    let run = env.run(&["fsck"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let path = format!(".promptrel/objects/{}/{}", &id[..2], &id[2..]);
    assert_eq!(
        run.stdout,
        format!(
            "problem: {path}: checkout-bot@prod, checkout-bot@staging ({}) includes \"support/sign-off@prod\" (line 2), which names no version: no prompt named \"support/sign-off\" [dangling-include]\nchecked 2 objects, 4 refs, 6 records: 1 problem\n",
            short(&id)
        )
    );
    // Once the included prompt exists, the store is clean again.
    release(&env, "support/sign-off", "Thanks!\n");
    assert!(env.run(&["fsck"]).ok().stdout.ends_with(": ok\n"));
}
