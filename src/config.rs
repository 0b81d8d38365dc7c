//! `.promptrel/config.yaml`: the store format version and its settings.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil;

/// The on-disk format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

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
