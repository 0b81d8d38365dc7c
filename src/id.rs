//! Version ids: the BLAKE3 hash of a version's bytes, as 64 lowercase hex digits.

use std::fmt;

/// Length of a full id in hex digits.
pub const HEX_LEN: usize = 64;
/// Length of the short form shown in logs and lists.
pub const SHORT_LEN: usize = 12;
/// Shortest prefix accepted in a revision.
pub const MIN_PREFIX: usize = 4;

/// The id of a stored version: `b3sum` of its bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionId(String);

impl VersionId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> VersionId {
        VersionId(blake3::hash(bytes).to_hex().to_string())
    }

    /// Parse a full 64-digit lowercase hex id; `None` if it is not one.
    pub fn parse(text: &str) -> Option<VersionId> {
        (text.len() == HEX_LEN && is_lower_hex(text)).then(|| VersionId(text.to_string()))
    }

    /// The full hex id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first [`SHORT_LEN`] digits.
    pub fn short(&self) -> &str {
        &self.0[..SHORT_LEN]
    }

    /// Folder (first two digits) and file name (the other 62) inside `objects/`.
    pub(crate) fn object_path_parts(&self) -> (&str, &str) {
        self.0.split_at(2)
    }
}

impl serde::Serialize for VersionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for VersionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<VersionId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        VersionId::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("expected a 64-digit lowercase hex version id"))
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VersionId({})", self.short())
    }
}

/// True when every byte is `0-9` or `a-f`.
pub fn is_lower_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_b3sum_of_bytes() {
        // b3sum of the empty input, a well-known vector.
        assert_eq!(
            VersionId::of(b"").as_str(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn parse_accepts_only_full_lowercase_hex() {
        let id = VersionId::of(b"x");
        assert_eq!(VersionId::parse(id.as_str()), Some(id.clone()));
        assert!(VersionId::parse(&id.as_str().to_uppercase()).is_none());
        assert!(VersionId::parse(&id.as_str()[..63]).is_none());
        assert!(VersionId::parse("").is_none());
    }
}
