//! Traffic splits: a label that serves several versions by weight, and the
//! choice of one of them for a key (FORMAT.md §5.1).
//!
//! A label's value is one version or a [`Split`]: two or more distinct
//! versions with whole-percent weights that add up to 100, kept sorted by
//! id. Sorted, so that two people writing the same split write the same
//! bytes (no spurious git conflict), and so that every reader walks the
//! shares in the same order when it picks one.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::name::{Label, PromptName};

/// One version of a split and the percentage of keys it serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Share {
    /// The version served.
    pub version: VersionId,
    /// Percent of keys, 1 to 99.
    pub weight: u8,
}

/// Two or more distinct versions whose weights add up to exactly 100,
/// sorted by id. Once you hold one, it is valid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Split(Vec<Share>);

impl Split {
    /// Check and sort `shares`: at least two, each version once, each
    /// weight 1 to 99, the weights adding up to 100.
    pub fn new(mut shares: Vec<Share>) -> Result<Split> {
        let weights: Vec<u8> = shares.iter().map(|s| s.weight).collect();
        Split::check_weights(&weights)?;
        shares.sort();
        if let Some(pair) = shares.windows(2).find(|p| p[0].version == p[1].version) {
            return Err(Error::InvalidSplit {
                reason: format!(
                    "{} is given twice; each version appears once",
                    pair[0].version.short()
                ),
            });
        }
        Ok(Split(shares))
    }

    /// The rules on weights alone, checked before the versions are looked
    /// up: at least two, each 1 to 99, adding up to 100.
    pub fn check_weights(weights: &[u8]) -> Result<()> {
        let invalid = |reason: String| Err(Error::InvalidSplit { reason });
        if weights.len() < 2 {
            return invalid(
                "a split needs at least two versions (`promptrel label` points a label at one)"
                    .into(),
            );
        }
        if let Some(weight) = weights.iter().find(|w| !(1..=99).contains(*w)) {
            return invalid(format!(
                "a weight of {weight}; each weight is a whole percent from 1 to 99"
            ));
        }
        let total: u32 = weights.iter().copied().map(u32::from).sum();
        if total != 100 {
            return invalid(format!("the weights add up to {total}, not 100"));
        }
        Ok(())
    }

    /// The shares, sorted by id (ref order).
    pub fn shares(&self) -> &[Share] {
        &self.0
    }

    /// The share with the greatest weight; on a tie, the first in ref
    /// order. Records name it as `to` (or `from`), so that a reader that
    /// ignores splits still sees a sensible value.
    pub fn headline(&self) -> &Share {
        // `max_by_key` keeps the last of equal maxima; walk backwards so the
        // first in ref order wins a tie.
        self.0
            .iter()
            .rev()
            .max_by_key(|s| s.weight)
            .expect("a split has shares")
    }

    /// The weight of `id` in this split, if it is one of its versions.
    pub fn weight_of(&self, id: &VersionId) -> Option<u8> {
        self.0.iter().find(|s| &s.version == id).map(|s| s.weight)
    }

    /// The bucket (0 to 99) of `key` for `name@label`: the first 8 bytes of
    /// BLAKE3(`NAME@LABEL\nKEY`), big-endian, modulo 100.
    pub fn bucket(name: &PromptName, label: &Label, key: &str) -> u8 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(name.as_str().as_bytes());
        hasher.update(b"@");
        hasher.update(label.as_str().as_bytes());
        hasher.update(b"\n");
        hasher.update(key.as_bytes());
        let hash = hasher.finalize();
        let first: [u8; 8] = hash.as_bytes()[..8].try_into().expect("32-byte hash");
        (u64::from_be_bytes(first) % 100) as u8
    }

    /// A bucket drawn at random, for a request without a key.
    pub fn random_bucket() -> u8 {
        fastrand::u8(0..100)
    }

    /// The share serving `bucket` (0 to 99): walking the shares in ref
    /// order and adding up their weights, the first whose running total
    /// exceeds the bucket.
    pub fn pick(&self, bucket: u8) -> &Share {
        let bucket = u32::from(bucket % 100);
        let mut total = 0;
        for share in &self.0 {
            total += u32::from(share.weight);
            if total > bucket {
                return share;
            }
        }
        unreachable!("the weights add up to 100")
    }

    /// Parse a ref's split line (without its line ending):
    /// `<id>=<weight>` pairs separated by one space, sorted by id, weights
    /// without leading zeros. `None` for anything else.
    pub(crate) fn parse_ref(text: &str) -> Option<Split> {
        let mut shares = Vec::new();
        for pair in text.split(' ') {
            let (id, weight) = pair.split_once('=')?;
            let canonical = matches!(
                weight.as_bytes(),
                [b'1'..=b'9'] | [b'1'..=b'9', b'0'..=b'9']
            );
            if !canonical {
                return None;
            }
            shares.push(Share {
                version: VersionId::parse(id)?,
                weight: weight.parse().ok()?,
            });
        }
        // Strictly ascending: sorted, and no version twice.
        if shares.windows(2).any(|p| p[0].version >= p[1].version) {
            return None;
        }
        Split::new(shares).ok()
    }

    /// The split as a ref's line, without the `\n`.
    pub(crate) fn ref_line(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|s| format!("{}={}", s.version, s.weight))
            .collect();
        pairs.join(" ")
    }

    /// The shares for display: greatest weight first (ties in ref order,
    /// so the first is [`Split::headline`]).
    pub fn by_weight(&self) -> Vec<&Share> {
        let mut shares: Vec<&Share> = self.0.iter().collect();
        shares.sort_by_key(|s| std::cmp::Reverse(s.weight));
        shares
    }
}

/// `a314563b311a 90% + 77839f17c603 10%`: short ids, greatest share first.
impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, share) in self.by_weight().into_iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            write!(f, "{} {}%", share.version.short(), share.weight)?;
        }
        Ok(())
    }
}

impl Serialize for Split {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Split {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Split, D::Error> {
        let shares = Vec::<Share>::deserialize(d)?;
        Split::new(shares).map_err(|e| match e {
            Error::InvalidSplit { reason } => serde::de::Error::custom(reason),
            other => serde::de::Error::custom(other),
        })
    }
}

/// What a label holds: one version, or a split between several.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LabelValue {
    /// Every request gets this version.
    One(VersionId),
    /// Requests get one of these versions, by key or at random.
    Split(Split),
}

impl LabelValue {
    /// The version, when the value is exactly one.
    pub fn id(&self) -> Option<&VersionId> {
        match self {
            LabelValue::One(id) => Some(id),
            LabelValue::Split(_) => None,
        }
    }

    /// The split, when the value is one.
    pub fn split(&self) -> Option<&Split> {
        match self {
            LabelValue::One(_) => None,
            LabelValue::Split(split) => Some(split),
        }
    }

    /// The version a record names as `to`/`from`: the value itself, or the
    /// split's greatest share ([`Split::headline`]).
    pub fn headline(&self) -> &VersionId {
        match self {
            LabelValue::One(id) => id,
            LabelValue::Split(split) => &split.headline().version,
        }
    }

    /// Every version the value serves, in ref order.
    pub fn versions(&self) -> Vec<&VersionId> {
        match self {
            LabelValue::One(id) => vec![id],
            LabelValue::Split(split) => split.shares().iter().map(|s| &s.version).collect(),
        }
    }

    /// Whether `id` is served (alone or as a share).
    pub fn serves(&self, id: &VersionId) -> bool {
        self.versions().contains(&id)
    }

    /// The ref's content: `<id>\n`, or the split's line and `\n`.
    pub(crate) fn ref_bytes(&self) -> Vec<u8> {
        match self {
            LabelValue::One(id) => format!("{id}\n").into_bytes(),
            LabelValue::Split(split) => format!("{}\n", split.ref_line()).into_bytes(),
        }
    }

    /// Parse a ref's content without its line ending: one id or a split line.
    pub(crate) fn parse_ref(text: &str) -> Option<LabelValue> {
        if text.contains('=') {
            Split::parse_ref(text).map(LabelValue::Split)
        } else {
            VersionId::parse(text).map(LabelValue::One)
        }
    }
}

/// A short id, or the split as `a314563b311a 90% + 77839f17c603 10%`.
impl fmt::Display for LabelValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelValue::One(id) => f.write_str(id.short()),
            LabelValue::Split(split) => split.fmt(f),
        }
    }
}

impl From<VersionId> for LabelValue {
    fn from(id: VersionId) -> LabelValue {
        LabelValue::One(id)
    }
}

/// The version a request was served, and the split it was chosen from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The version to use.
    pub id: VersionId,
    /// The split it came from; `None` when the revision is one version.
    pub split: Option<Split>,
    /// The bucket (0 to 99) that chose it, from the key or at random.
    pub bucket: Option<u8>,
}

impl Served {
    /// The served version's weight in its split (`None`: not a split).
    pub fn weight(&self) -> Option<u8> {
        self.split.as_ref().and_then(|s| s.weight_of(&self.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> VersionId {
        VersionId::of(&[n])
    }

    fn share(n: u8, weight: u8) -> Share {
        Share {
            version: id(n),
            weight,
        }
    }

    #[test]
    fn new_sorts_and_refuses_what_is_not_a_split() {
        let split = Split::new(vec![share(1, 30), share(2, 70)]).unwrap();
        let mut ids = [id(1), id(2)];
        ids.sort();
        let sorted: Vec<&VersionId> = split.shares().iter().map(|s| &s.version).collect();
        assert_eq!(sorted, ids.iter().collect::<Vec<_>>());
        for (shares, reason) in [
            (vec![share(1, 100)], "at least two versions"),
            (vec![], "at least two versions"),
            (vec![share(1, 0), share(2, 100)], "a weight of 0;"),
            (vec![share(1, 50), share(2, 40)], "add up to 90, not 100"),
            (vec![share(1, 60), share(2, 60)], "add up to 120, not 100"),
            (vec![share(1, 50), share(1, 50)], "is given twice"),
        ] {
            match Split::new(shares.clone()) {
                Err(Error::InvalidSplit { reason: got }) => {
                    assert!(got.contains(reason), "{shares:?}: {got}")
                }
                other => panic!("{shares:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn headline_is_the_greatest_share_first_in_ref_order_on_ties() {
        let split = Split::new(vec![share(1, 10), share(2, 90)]).unwrap();
        assert_eq!(split.headline().version, id(2));
        let tie = Split::new(vec![share(1, 50), share(2, 50)]).unwrap();
        assert_eq!(tie.headline(), &tie.shares()[0]);
    }

    #[test]
    fn pick_walks_cumulative_weights_in_ref_order() {
        let split = Split::new(vec![share(1, 20), share(2, 30), share(3, 50)]).unwrap();
        let [a, b, c] = [0, 1, 2].map(|i| &split.shares()[i]);
        let expected = |bucket: u8| match bucket {
            0..=19 => a,
            20..=49 => b,
            _ => c,
        };
        for bucket in 0..100 {
            assert_eq!(split.pick(bucket), expected(bucket), "bucket {bucket}");
        }
    }

    #[test]
    fn ref_lines_round_trip_and_anything_else_is_refused() {
        let split = Split::new(vec![share(1, 10), share(2, 90)]).unwrap();
        let line = split.ref_line();
        assert_eq!(Split::parse_ref(&line), Some(split.clone()));
        let (a, b) = (&split.shares()[0].version, &split.shares()[1].version);
        let (wa, wb) = (split.shares()[0].weight, split.shares()[1].weight);
        for bad in [
            format!("{b}={wb} {a}={wa}"),       // not sorted
            format!("{a}={wa}  {b}={wb}"),      // two spaces
            format!("{a}=0{wa} {b}={wb}"),      // leading zero
            format!("{a}={wa} {b}={}", wb - 1), // 99 in all
            format!("{a}=100"),                 // one version
            format!("{a}=50 {a}=50"),           // twice
            format!("{a} {wa} {b} {wb}"),       // no `=`
            format!("{a}={wa} {b}={wb} "),      // trailing space
            format!("{a}=+{wa} {b}={wb}"),
        ] {
            assert_eq!(Split::parse_ref(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn display_shows_the_greatest_share_first() {
        let split = Split::new(vec![share(1, 10), share(2, 90)]).unwrap();
        assert_eq!(
            split.to_string(),
            format!("{} 90% + {} 10%", id(2).short(), id(1).short())
        );
    }

    #[test]
    fn records_serialize_shares_as_objects() {
        let split = Split::new(vec![share(1, 10), share(2, 90)]).unwrap();
        let json = serde_json::to_string(&split).unwrap();
        assert!(json.starts_with(r#"[{"version":""#), "{json}");
        assert_eq!(serde_json::from_str::<Split>(&json).unwrap(), split);
        let bad = json.replace("90", "80");
        let err = serde_json::from_str::<Split>(&bad).unwrap_err();
        assert!(err.to_string().contains("add up to 90"), "{err}");
    }
}
