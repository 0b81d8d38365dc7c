//! `.promptrel/config.yaml`: the store format version and its settings.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil;

/// The on-disk format this build reads and writes.
pub const FORMAT_VERSION: u32 = 3;

/// The store's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// On-disk format version; a store with a newer one is refused.
    pub format: u32,
    /// Labels that move only through `promote` and `rollback`.
    #[serde(default = "default_protected")]
    pub protected_labels: Vec<String>,
}

fn default_protected() -> Vec<String> {
    vec!["prod".to_string()]
}

impl Default for Config {
    fn default() -> Config {
        Config {
            format: FORMAT_VERSION,
            protected_labels: default_protected(),
        }
    }
}

impl Config {
    /// The text `init` writes: the settings with a comment saying what they do.
    pub fn to_yaml(&self) -> String {
        let labels = self.protected_labels.join(", ");
        format!(
            "# promptrel store settings; the format is described in promptrel's FORMAT.md.\n\
             # Store format version. Do not edit: promptrel refuses formats it does not know.\n\
             format: {}\n\
             # Labels that move only through `promptrel promote` and `promptrel rollback`,\n\
             # never through `promptrel label` or `promptrel add --label`.\n\
             protected_labels: [{labels}]\n",
            self.format
        )
    }

    /// Read and check the config at `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let bytes = fsutil::read_optional(path)?.ok_or_else(|| Error::NotAStore {
            path: path.parent().unwrap_or(path).to_path_buf(),
            reason: "config.yaml is missing".into(),
        })?;
        Config::parse(&bytes, path)
    }

    /// Parse and check config bytes; `path` only names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Config> {
        // Every command opens the store, `show` included: the text `init`
        // writes is recognised without a YAML parser (a tenth of the cost).
        if let Some(config) = Config::parse_as_written(bytes) {
            return Ok(config);
        }
        let config: Config = serde_yaml::from_slice(bytes).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if config.format != FORMAT_VERSION {
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                found: config.format,
                supported: FORMAT_VERSION,
            });
        }
        Ok(config)
    }

    /// The config when `bytes` are exactly what [`Config::to_yaml`] writes
    /// for this format and labels that YAML reads as plain strings; `None` for
    /// anything else, which the YAML parser then decides (same result).
    fn parse_as_written(bytes: &[u8]) -> Option<Config> {
        let template = Config {
            format: FORMAT_VERSION,
            protected_labels: vec!["\u{0}".into()],
        }
        .to_yaml();
        let (head, tail) = template.split_once('\u{0}')?;
        let text = std::str::from_utf8(bytes).ok()?;
        let list = text.strip_prefix(head)?.strip_suffix(tail)?;
        let labels: Vec<String> = match list {
            "" => Vec::new(),
            list => list.split(", ").map(str::to_string).collect(),
        };
        // A label YAML would read as something other than that string (a
        // boolean, null, a number) goes to the parser, which refuses it.
        let plain = |l: &str| {
            l.starts_with(|c: char| c.is_ascii_lowercase())
                && l.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
                && !l.ends_with('.')
                && !matches!(
                    l,
                    "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
                )
        };
        labels.iter().all(|l| plain(l)).then_some(Config {
            format: FORMAT_VERSION,
            protected_labels: labels,
        })
    }

    /// Whether `label` is protected.
    pub fn is_protected(&self, label: &str) -> bool {
        self.protected_labels.iter().any(|l| l == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_config_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, Config::default().to_yaml()).unwrap();
        assert_eq!(Config::load(&path).unwrap(), Config::default());
    }

    #[test]
    fn configs_as_written_read_the_same_without_the_yaml_parser() {
        let path = Path::new("config.yaml");
        for labels in [
            vec![],
            vec!["prod"],
            vec!["prod", "staging", "canary-2", "v1.2_x"],
            vec!["true"],
            vec!["no", "null"],
            vec!["1"],
            vec!["1e3"],
            vec!["prod", "0x1f"],
            vec!["a b"],
            vec!["prod,staging"],
        ] {
            let config = Config {
                format: FORMAT_VERSION,
                protected_labels: labels.iter().map(|l| l.to_string()).collect(),
            };
            let text = config.to_yaml();
            let yaml = serde_yaml::from_slice::<Config>(text.as_bytes()).map_err(|e| e.to_string());
            // `None`: decided by the parser, as before.
            if let Some(fast) = Config::parse_as_written(text.as_bytes()) {
                assert_eq!(Ok(fast), yaml, "{labels:?}");
            }
            assert_eq!(
                Config::parse(text.as_bytes(), path)
                    .map_err(|e| e.to_string())
                    .ok(),
                yaml.ok().filter(|c| c.format == FORMAT_VERSION),
                "{labels:?}"
            );
        }
        assert!(Config::parse_as_written(Config::default().to_yaml().as_bytes()).is_some());
        for other in ["format: 2\n", "format: 2\nprotected_labels: [prod]\n"] {
            assert!(Config::parse_as_written(other.as_bytes()).is_none());
        }
        let crlf = Config::default().to_yaml().replace('\n', "\r\n");
        assert!(Config::parse_as_written(crlf.as_bytes()).is_none());
    }

    #[test]
    fn bad_configs_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        for (text, expect) in [
            ("format: 99\n", "format 99"),
            ("format: [\n", "config.yaml"),
            ("format: 1\nprotected_label: [prod]\n", "unknown field"),
            ("protected_labels: [prod]\n", "missing field `format`"),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(&path).unwrap_err().to_string();
            assert!(err.contains(expect), "{text:?}: {err}");
        }
        assert!(Config::load(&dir.path().join("none.yaml")).is_err());
    }
}
