//! `Config::parse` on arbitrary bytes.
//!
//! Invariants: never panics (nor overflows the stack, nor hangs: libFuzzer
//! reports those as crashes and timeouts); an accepted config has format 1;
//! and `Config::parse` (which recognises the exact text `init` writes without
//! a YAML parser) decides exactly as the YAML parser alone would: the same
//! config, or an error in both.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use promptrel::{Config, FORMAT_VERSION};

fuzz_target!(|data: &[u8]| {
    let parsed = Config::parse(data, Path::new(".promptrel/config.yaml"));
    if let Ok(config) = &parsed {
        assert_eq!(config.format, FORMAT_VERSION);
        for label in &config.protected_labels {
            assert!(config.is_protected(label));
        }
    }
    let by_yaml = serde_yaml::from_slice::<Config>(data)
        .ok()
        .filter(|c| c.format == FORMAT_VERSION);
    assert_eq!(parsed.ok(), by_yaml, "{:?}", String::from_utf8_lossy(data));
    // `init`'s text for any labels that parse reads back as the same labels.
    if let Some(config) = by_yaml {
        let text = config.to_yaml();
        if let Ok(again) = serde_yaml::from_str::<Config>(&text) {
            assert_eq!(
                Config::parse(text.as_bytes(), Path::new("config.yaml")).ok(),
                Some(again)
            );
        }
    }
});
