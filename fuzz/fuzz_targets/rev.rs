//! `Rev::parse` and `Rev::parse_in` on arbitrary UTF-8.
//!
//! Invariants: never panics; an accepted revision holds a valid name and a
//! valid label (or a lowercase hex prefix of at least 4 digits); its Display
//! output re-parses to an equal `Rev`, and `spec_text` re-parses within the
//! prompt to the same `Rev`.
//!
//! One documented asymmetry: a [`Spec::Prefix`] (hex written in upper case,
//! such as `p@BEEF`) displays in the canonical lowercase form `p@beef`, which
//! re-parses as `LabelOrPrefix("beef")` (a label wins over a prefix when
//! resolving; see FORMAT.md §8). That is the tested canonical display
//! (`rev.rs`, `parses_every_form`), so it is accepted here and nothing else is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promptrel::{Label, PromptName, Rev, Spec};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rev) = Rev::parse(text) {
        check(&rev);
    }
    for fixed in ["p", "support/refund-bot"] {
        let name = PromptName::new(fixed).unwrap();
        if let Ok(rev) = Rev::parse_in(&name, text) {
            assert_eq!(
                rev.name, name,
                "parse_in({fixed:?}, {text:?}) changed the name"
            );
            check(&rev);
        }
    }
});

fn check(rev: &Rev) {
    assert!(PromptName::new(rev.name.as_str()).is_ok());
    match &rev.spec {
        Spec::Newest => {}
        Spec::LabelOrPrefix(label) => assert!(Label::new(label).is_ok(), "{rev:?}"),
        Spec::Prefix(prefix) => {
            assert!(prefix.len() >= 4, "{rev:?}");
            assert!(
                prefix
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{rev:?}"
            );
            assert_eq!(rev.back, 0, "a prefix takes no ~N: {rev:?}");
        }
    }
    let shown = rev.to_string();
    let again = Rev::parse(&shown).unwrap_or_else(|e| panic!("{rev:?} shows as {shown:?}: {e}"));
    assert_eq!(
        canonical(&again),
        canonical(rev),
        "{shown:?} re-parses differently"
    );
    // The text a promote record keeps as its `source`.
    let spec_text = rev.spec_text();
    assert!(shown.ends_with(&spec_text));
    if !matches!(rev.spec, Spec::Newest) {
        let again = Rev::parse_in(&rev.name, &spec_text)
            .unwrap_or_else(|e| panic!("{rev:?}: spec_text {spec_text:?}: {e}"));
        assert_eq!(canonical(&again), canonical(rev), "spec_text {spec_text:?}");
    }
}

/// `Prefix(p)` whose lowercase display re-parses as `LabelOrPrefix(p)`.
fn canonical(rev: &Rev) -> Rev {
    let mut rev = rev.clone();
    if let Spec::Prefix(p) = &rev.spec
        && Label::new(p).is_ok()
    {
        rev.spec = Spec::LabelOrPrefix(p.clone());
    }
    rev
}
