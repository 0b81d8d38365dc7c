//! Revisions: how a user names a version.
//!
//! | form | meaning |
//! |---|---|
//! | `NAME` | the newest version of NAME |
//! | `NAME~N` | the version added N versions before the newest |
//! | `NAME@LABEL` | what LABEL points to |
//! | `NAME@LABEL~N` | what LABEL pointed to N changes ago |
//! | `NAME@PREFIX` | the version of NAME whose id starts with PREFIX (at least 4 hex digits, unique) |
//!
//! When a spec is both a label of NAME and a hex prefix, the label wins.

use std::fmt;

use crate::error::{Error, Result};
use crate::id::{MIN_PREFIX, is_lower_hex};
use crate::name::{Label, PromptName};

/// A parsed revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rev {
    /// The prompt.
    pub name: PromptName,
    /// Which version of it.
    pub spec: Spec,
    /// How many changes (or versions) back from there.
    pub back: usize,
}

/// The part after `@`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// No `@`: the newest version.
    Newest,
    /// A label, or a version-id prefix when no such label exists.
    LabelOrPrefix(String),
    /// Hex written in upper case, which cannot be a label: an id prefix.
    Prefix(String),
}

impl Rev {
    /// Parse `NAME[@SPEC][~N]`.
    pub fn parse(text: &str) -> Result<Rev> {
        let (name, spec) = match text.split_once('@') {
            Some((name, spec)) => (name, Some(spec)),
            None => (text, None),
        };
        let (name, spec, back) = match spec {
            None => {
                let (name, back) = split_back(text, name)?;
                (name, None, back)
            }
            Some(spec) => {
                let (spec, back) = split_back(text, spec)?;
                (name, Some(spec), back)
            }
        };
        let name = PromptName::new(name)?;
        let spec = match spec {
            None => Spec::Newest,
            Some(spec) => parse_spec(text, spec)?,
        };
        if matches!(spec, Spec::Prefix(_)) && back > 0 {
            return Err(invalid(
                text,
                "'~N' follows a label or a bare name, not a version id",
            ));
        }
        Ok(Rev { name, spec, back })
    }

    /// Parse SPEC, a version of a prompt already named (as in `promptrel label NAME LABEL SPEC`).
    /// A full `NAME@SPEC` is accepted too when it names the same prompt.
    pub fn parse_in(name: &PromptName, spec: &str) -> Result<Rev> {
        if spec.contains('@') {
            let rev = Rev::parse(spec)?;
            if &rev.name != name {
                return Err(invalid(
                    spec,
                    &format!("it names prompt {} rather than {name}", rev.name),
                ));
            }
            return Ok(rev);
        }
        let (spec_part, back) = split_back(spec, spec)?;
        let spec = parse_spec(spec, spec_part)?;
        if matches!(spec, Spec::Prefix(_)) && back > 0 {
            return Err(invalid(spec_part, "'~N' follows a label, not a version id"));
        }
        Ok(Rev {
            name: name.clone(),
            spec,
            back,
        })
    }
}

fn invalid(text: &str, reason: &str) -> Error {
    Error::InvalidRev {
        value: text.to_string(),
        reason: reason.to_string(),
    }
}

/// Split `~N` (or a bare `~`, meaning 1) off the end of `part`.
fn split_back<'a>(whole: &str, part: &'a str) -> Result<(&'a str, usize)> {
    let Some((head, n)) = part.split_once('~') else {
        return Ok((part, 0));
    };
    if n.is_empty() {
        return Ok((head, 1));
    }
    let back = n
        .parse::<usize>()
        .map_err(|_| invalid(whole, "'~' must be followed by a number of steps back"))?;
    Ok((head, back))
}

fn parse_spec(whole: &str, spec: &str) -> Result<Spec> {
    if spec.is_empty() {
        return Err(invalid(
            whole,
            "nothing after '@' (expected a label or a version id)",
        ));
    }
    let lower = spec.to_ascii_lowercase();
    if is_lower_hex(&lower) && lower.len() >= MIN_PREFIX && Label::new(spec).is_err() {
        return Ok(Spec::Prefix(lower));
    }
    match Label::new(spec) {
        Ok(_) => Ok(Spec::LabelOrPrefix(spec.to_string())),
        Err(Error::InvalidLabel { rule, .. }) => Err(invalid(
            whole,
            &format!("{spec:?} is neither a label nor a version id: {rule}"),
        )),
        Err(e) => Err(e),
    }
}

impl Rev {
    /// The revision without its prompt name: `staging`, `prod~2`, `3f2a1b0c`, or
    /// `~1` for the newest version one step back (empty for the newest itself).
    pub fn spec_text(&self) -> String {
        let full = self.to_string();
        let rest = &full[self.name.as_str().len()..];
        rest.strip_prefix('@').unwrap_or(rest).to_string()
    }
}

impl fmt::Display for Rev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        match &self.spec {
            Spec::Newest => {}
            Spec::LabelOrPrefix(s) | Spec::Prefix(s) => write!(f, "@{s}")?,
        }
        if self.back > 0 {
            write!(f, "~{}", self.back)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(name: &str, spec: Spec, back: usize) -> Rev {
        Rev {
            name: PromptName::new(name).unwrap(),
            spec,
            back,
        }
    }

    #[test]
    fn parses_every_form() {
        use Spec::*;
        // (input, parsed, canonical display)
        let cases = [
            (
                "checkout-bot",
                rev("checkout-bot", Newest, 0),
                "checkout-bot",
            ),
            (
                "checkout-bot~2",
                rev("checkout-bot", Newest, 2),
                "checkout-bot~2",
            ),
            (
                "checkout-bot~",
                rev("checkout-bot", Newest, 1),
                "checkout-bot~1",
            ),
            (
                "checkout-bot@prod",
                rev("checkout-bot", LabelOrPrefix("prod".into()), 0),
                "checkout-bot@prod",
            ),
            (
                "support/refund-bot@prod~3",
                rev("support/refund-bot", LabelOrPrefix("prod".into()), 3),
                "support/refund-bot@prod~3",
            ),
            (
                "p@beef",
                rev("p", LabelOrPrefix("beef".into()), 0),
                "p@beef",
            ),
            ("p@BEEF", rev("p", Prefix("beef".into()), 0), "p@beef"),
        ];
        for (text, expected, display) in cases {
            let parsed = Rev::parse(text).unwrap();
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string(), display);
        }
    }

    #[test]
    fn rejects_bad_revisions_with_reasons() {
        for (text, reason) in [
            ("", "empty"),
            ("p@", "nothing after '@'"),
            ("p@prod~x", "number of steps"),
            ("p@a@b", "neither a label nor a version id"),
            ("../x@prod", "path traversal"),
            ("p@Prod", "neither a label nor a version id"),
            ("p@ABCD~1", "not a version id"),
        ] {
            let err = Rev::parse(text).unwrap_err().to_string();
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }

    #[test]
    fn parse_in_accepts_spec_or_same_prompt() {
        let name = PromptName::new("p").unwrap();
        assert_eq!(
            Rev::parse_in(&name, "staging").unwrap(),
            rev("p", Spec::LabelOrPrefix("staging".into()), 0)
        );
        assert_eq!(
            Rev::parse_in(&name, "p@staging~1").unwrap(),
            rev("p", Spec::LabelOrPrefix("staging".into()), 1)
        );
        assert!(
            Rev::parse_in(&name, "q@staging")
                .unwrap_err()
                .to_string()
                .contains("rather than p")
        );
    }
}
