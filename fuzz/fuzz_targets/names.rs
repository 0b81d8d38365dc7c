//! `PromptName::new` and `Label::new` on arbitrary UTF-8.
//!
//! Invariants: never panics; the verdict equals an independent reading of
//! the allow-list in FORMAT.md §4 (accepted exactly when every rule holds);
//! an accepted name has no `.`/`..` part, and the paths the store builds from
//! it (`refs/<p1>/…/<pn>/@<label>`, `logs/<p1>/…/+versions`) consist of plain
//! components that stay inside the store root.
#![no_main]

use std::path::{Component, Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use promptrel::{Label, PromptName};

const DEVICES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// FORMAT.md §4, read literally: a part matches `^[a-z0-9._-]+$` and …
fn part_ok(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
        && part != "."
        && part != ".."
        && !part.starts_with('.')
        && !part.starts_with('-')
        && !part.ends_with('.')
        && !part.ends_with(".lock")
        && !DEVICES.contains(&part.split('.').next().unwrap())
}

fn name_ok(text: &str) -> bool {
    !text.is_empty() && text.len() <= 255 && text.split('/').all(part_ok)
}

fn label_ok(text: &str) -> bool {
    text.len() <= 254 && part_ok(text)
}

/// `root` joined with `parts` then `file`, checked to stay strictly inside `root`.
fn assert_inside(root: &Path, parts: &[&str], file: &str) {
    let mut path: PathBuf = root.to_path_buf();
    path.extend(parts);
    path.push(file);
    assert!(path.starts_with(root), "{path:?} left {root:?}");
    let rest: Vec<Component> = path.strip_prefix(root).unwrap().components().collect();
    assert_eq!(
        rest.len(),
        parts.len() + 1,
        "{path:?}: parts merged or split"
    );
    for (c, expected) in rest.iter().zip(parts.iter().chain([&file])) {
        match c {
            Component::Normal(os) => assert_eq!(os.to_str(), Some(*expected), "{path:?}"),
            other => panic!("{path:?}: component {other:?} is not a plain name"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let root = Path::new("/store/.promptrel/refs");

    let name = PromptName::new(text);
    assert_eq!(
        name.is_ok(),
        name_ok(text),
        "PromptName::new({text:?}) = {name:?}"
    );
    if let Ok(name) = name {
        assert_eq!(name.as_str(), text);
        let parts: Vec<&str> = name.parts().collect();
        assert!(parts.iter().all(|p| *p != "." && *p != ".."));
        assert_eq!(parts.join("/"), text);
        // What the store builds: the prompt's folder, then `+versions` or `@label`.
        assert_inside(root, &parts, "+versions");
        assert_inside(root, &parts, "@prod");
        // The name as one relative path has only plain components too.
        assert!(
            Path::new(text)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        );
    }

    let label = Label::new(text);
    assert_eq!(
        label.is_ok(),
        label_ok(text),
        "Label::new({text:?}) = {label:?}"
    );
    if let Ok(label) = label {
        assert_eq!(label.as_str(), text);
        assert!(!text.contains('/'));
        let file = format!("@{text}");
        assert!(file.len() <= 255);
        assert_inside(root, &["p"], &file);
        // Every label is a valid one-part name as well.
        assert!(PromptName::new(text).is_ok());
    }
});
