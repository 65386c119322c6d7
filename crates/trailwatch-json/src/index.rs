//! [`ObjectIndex`]: one pass over an object's top level, so that rules asking for ten fields
//! do not rescan the record ten times.

use crate::raw::{Key, Kind, Raw};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy)]
struct Entry {
    key_start: u32,
    key_len: u32,
    key_escaped: bool,
    value_start: u32,
    value_end: u32,
    /// For an object value: its own entries, `children[first..first + count]`.
    first_child: u32,
    child_count: u32,
}

/// The entries of one object and of the objects directly inside it (two levels: `eventName`,
/// `userIdentity.type`, `requestParameters.bucketName`), as offsets into its bytes, built in
/// one pass. Reusable: `build` clears it, so one index serves every record a worker reads
/// without allocating again.
#[derive(Debug, Default, Clone)]
pub struct ObjectIndex {
    entries: Vec<Entry>,
    children: Vec<Entry>,
    /// Only the object values under these keys get their entries indexed (`None`: every
    /// object value). Indexing an object's entries scans it a second time, which is wasted
    /// on the large objects no lookup goes into.
    nested: Option<&'static [&'static str]>,
}

/// `first_child` of an object whose entries were not indexed.
const NOT_INDEXED: u32 = u32::MAX;

/// An object with its index: lookups down two levels are short scans over keys only.
#[derive(Clone, Copy)]
pub struct Indexed<'a> {
    raw: Raw<'a>,
    entries: &'a [Entry],
    children: &'a [Entry],
}

impl ObjectIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index that indexes the entries of the object values under `keys` only (lookups into
    /// any other fall back to scanning it: [`Indexed::get2`] says so).
    pub fn nested_only(keys: &'static [&'static str]) -> Self {
        ObjectIndex {
            nested: Some(keys),
            ..Self::default()
        }
    }

    /// Indexes `raw`'s entries and those of its object values (none if it is not an object).
    pub fn build<'a>(&'a mut self, raw: Raw<'a>) -> Indexed<'a> {
        self.entries.clear();
        self.children.clear();
        let base = raw.bytes().as_ptr() as usize;
        for (key, value) in raw.entries() {
            let mut e = entry(base, key, value);
            let nested = self
                .nested
                .is_none_or(|keys| keys.iter().any(|k| key.is(k)));
            if value.kind() == Kind::Object && !nested {
                e.first_child = NOT_INDEXED;
            } else if value.kind() == Kind::Object {
                e.first_child = self.children.len() as u32;
                for (k, v) in value.entries() {
                    self.children.push(entry(base, k, v));
                }
                e.child_count = self.children.len() as u32 - e.first_child;
            }
            self.entries.push(e);
        }
        Indexed {
            raw,
            entries: &self.entries,
            children: &self.children,
        }
    }
}

/// `a == b` for slices of the same length, without a call to `memcmp` for the short keys
/// records have (a lookup compares a dozen of them).
#[inline]
fn short_eq(a: &[u8], b: &[u8]) -> bool {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_le_bytes(w)
    };
    match n {
        // Two overlapping words cover 8 to 16 bytes.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        0..8 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

fn entry(base: usize, key: Key<'_>, value: Raw<'_>) -> Entry {
    let key_start = key.raw().as_ptr() as usize - base;
    let value_start = value.bytes().as_ptr() as usize - base;
    Entry {
        key_start: key_start as u32,
        key_len: key.raw().len() as u32,
        key_escaped: key.has_escape(),
        value_start: value_start as u32,
        value_end: (value_start + value.bytes().len()) as u32,
        first_child: 0,
        child_count: 0,
    }
}

impl<'a> Indexed<'a> {
    /// The indexed object.
    pub fn raw(&self) -> Raw<'a> {
        self.raw
    }

    fn entry(&self, e: &Entry) -> (Key<'a>, Raw<'a>) {
        let b = self.raw.bytes();
        let ks = e.key_start as usize;
        let key = Key::new(&b[ks..ks + e.key_len as usize], e.key_escaped);
        (
            key,
            Raw::new(&b[e.value_start as usize..e.value_end as usize]),
        )
    }

    /// Every entry, in input order.
    pub fn iter(&self) -> impl Iterator<Item = (Key<'a>, Raw<'a>)> + '_ {
        self.entries.iter().map(|e| self.entry(e))
    }

    fn find(&self, list: &'a [Entry], key: &str) -> Option<&'a Entry> {
        let b = self.raw.bytes();
        let want = key.as_bytes();
        list.iter().find(|e| {
            if e.key_escaped {
                self.entry(e).0.is(key)
            } else {
                e.key_len as usize == want.len()
                    && short_eq(&b[e.key_start as usize..][..want.len()], want)
            }
        })
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.find(self.entries, key).map(|e| self.entry(e).1)
    }

    /// The value of `inner` inside the object at `outer` (`get2("userIdentity", "type")`), from
    /// the index; `Err(())` when `outer` is absent, not an object or not indexed (so the caller
    /// may fall back), `Ok(None)` when it is an object without `inner`.
    #[inline]
    #[allow(clippy::result_unit_err)]
    pub fn get2(&self, outer: &str, inner: &str) -> Result<Option<Raw<'a>>, ()> {
        let parent = self.find(self.entries, outer).ok_or(())?;
        if parent.first_child == NOT_INDEXED || self.entry(parent).1.kind() != Kind::Object {
            return Err(());
        }
        let kids = &self.children
            [parent.first_child as usize..(parent.first_child + parent.child_count) as usize];
        Ok(self.find(kids, inner).map(|e| self.entry(e).1))
    }

    /// The value of `key`, ignoring ASCII case.
    pub fn get_ignore_case(&self, key: &str) -> Option<Raw<'a>> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_case(key))
            .map(|(_, v)| v)
    }

    /// The string value of `key`, decoded.
    pub fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key)?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_objects_have_their_entries_indexed() {
        let doc = br#"{"userIdentity":{"type":"Root"},"responseElements":{"x":1},"n":2}"#;
        let mut idx = ObjectIndex::nested_only(&["userIdentity"]);
        let o = idx.build(Raw::new(doc));
        assert_eq!(
            o.get2("userIdentity", "type").unwrap().unwrap().bytes(),
            b"\"Root\""
        );
        assert_eq!(o.get2("userIdentity", "arn"), Ok(None));
        // Not indexed: the caller falls back to scanning, which still finds it.
        assert_eq!(o.get2("responseElements", "x"), Err(()));
        assert_eq!(
            o.get("responseElements").unwrap().get("x").unwrap().bytes(),
            b"1"
        );
        for (a, b, same) in [
            (&b"eventName"[..], &b"eventName"[..], true),
            (b"eventName", b"eventTime", false),
            (b"recipientAccountId", b"recipientAccountIe", false),
            (b"abc", b"abd", false),
            (b"", b"", true),
        ] {
            assert_eq!(short_eq(a, b), same, "{a:?} {b:?}");
        }
    }

    #[test]
    fn index_finds_top_level_keys_only() {
        let doc = br#"{"a":{"b":1},"eventName":"X","b":[2],"k\u0065y":"v"}"#;
        let mut idx = ObjectIndex::new();
        let o = idx.build(Raw::new(doc));
        assert_eq!(o.str("eventName").unwrap(), "X");
        assert_eq!(o.get("b").unwrap().bytes(), b"[2]");
        assert_eq!(o.get("key").unwrap().as_str().unwrap(), "v");
        assert!(o.get("c").is_none());
        assert!(o.get_ignore_case("EVENTNAME").is_some());
        assert_eq!(o.iter().count(), 4);
        assert_eq!(o.get2("a", "b").unwrap().unwrap().bytes(), b"1");
        assert_eq!(o.get2("a", "zz"), Ok(None));
        assert_eq!(o.get2("b", "x"), Err(()));
        assert_eq!(o.get2("nope", "x"), Err(()));
    }
}
