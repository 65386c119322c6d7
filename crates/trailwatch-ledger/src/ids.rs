//! The order-independent digest of a set of event ids that compaction links record: what lets
//! verify check that a compacted file holds exactly the rows of the files it replaced.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use trailwatch_model::hex;

/// The sum, modulo 2^256, of the SHA-256 of each event id (read as a big-endian number).
///
/// The order of the ids does not matter, the digest of two sets' union is the sum of theirs
/// ([`IdDigest::merge`]), and unlike an XOR an id counted twice does not cancel out: the digest
/// of a file's `event_id` column equals the recorded one only when it holds the same ids, each
/// as many times. It prints (and parses) as 64 lower-case hex digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdDigest {
    /// Least significant limb first.
    limbs: [u64; 4],
}

impl IdDigest {
    /// Adds one id.
    pub fn add_id(&mut self, id: &str) {
        let h: [u8; 32] = Sha256::digest(id.as_bytes()).into();
        self.add(&IdDigest::from_bytes(&h));
    }

    /// Adds the ids of another digest: the digest of the union.
    pub fn merge(&mut self, other: &IdDigest) {
        self.add(other);
    }

    fn add(&mut self, other: &IdDigest) {
        let mut carry = false;
        for (a, b) in self.limbs.iter_mut().zip(other.limbs) {
            let (s, c1) = a.overflowing_add(b);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *a = s;
            carry = c1 || c2;
        }
    }

    /// The 32 big-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.limbs.iter().rev()) {
            chunk.copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    /// From 32 big-endian bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> IdDigest {
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().rev().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *limb = u64::from_be_bytes(b);
        }
        IdDigest { limbs }
    }
}

impl fmt::Display for IdDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.to_bytes()))
    }
}

impl FromStr for IdDigest {
    type Err = String;
    fn from_str(s: &str) -> Result<IdDigest, String> {
        hex::decode_array::<32>(s)
            .map(|b| IdDigest::from_bytes(&b))
            .ok_or_else(|| format!("{s:?}: not 64 hex digits"))
    }
}

impl<'a> FromIterator<&'a str> for IdDigest {
    fn from_iter<I: IntoIterator<Item = &'a str>>(ids: I) -> IdDigest {
        let mut d = IdDigest::default();
        for id in ids {
            d.add_id(id);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_and_duplicates_count() {
        let a: IdDigest = ["x", "y", "z"].into_iter().collect();
        let b: IdDigest = ["z", "x", "y"].into_iter().collect();
        assert_eq!(a, b);
        let mut union: IdDigest = ["x"].into_iter().collect();
        union.merge(&["y", "z"].into_iter().collect());
        assert_eq!(union, a);
        let twice: IdDigest = ["x", "x"].into_iter().collect();
        assert_ne!(twice, IdDigest::default(), "a pair does not cancel out");
        assert_ne!(twice, ["x"].into_iter().collect());
        assert_ne!(a, ["x", "y"].into_iter().collect());
    }

    #[test]
    fn hex_round_trips_and_the_sum_carries() {
        let a: IdDigest = ["a", "b"].into_iter().collect();
        assert_eq!(a.to_string().parse::<IdDigest>(), Ok(a));
        assert!("zz".parse::<IdDigest>().is_err());
        // 2^256 - 1 plus 1 wraps to zero: every limb carries.
        let mut max = IdDigest::from_bytes(&[0xff; 32]);
        let mut one = [0u8; 32];
        one[31] = 1;
        max.merge(&IdDigest::from_bytes(&one));
        assert_eq!(max, IdDigest::default());
        let mut low = IdDigest::from_bytes(&{
            let mut b = [0u8; 32];
            b[24..].copy_from_slice(&u64::MAX.to_be_bytes());
            b
        });
        low.merge(&IdDigest::from_bytes(&one));
        let mut want = [0u8; 32];
        want[23] = 1;
        assert_eq!(low.to_bytes(), want);
    }
}
