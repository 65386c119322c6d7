//! [`ObjectIndex`]: one pass over an object's top level, so that rules asking for ten fields
//! do not rescan the record ten times.

use crate::raw::{Key, Raw};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy)]
struct Entry {
    key_start: u32,
    key_len: u32,
    key_escaped: bool,
    value_start: u32,
    value_end: u32,
}

/// The top-level entries of one object, as offsets into its bytes. Reusable: `build` clears it,
/// so one index serves every record a worker reads without allocating again.
#[derive(Debug, Default, Clone)]
pub struct ObjectIndex {
    entries: Vec<Entry>,
}

/// An object with its index: top-level lookups are a short scan over keys only.
#[derive(Clone, Copy)]
pub struct Indexed<'a> {
    raw: Raw<'a>,
    entries: &'a [Entry],
}

impl ObjectIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes `raw`'s top-level entries (none if it is not an object).
    pub fn build<'a>(&'a mut self, raw: Raw<'a>) -> Indexed<'a> {
        self.entries.clear();
        let base = raw.bytes().as_ptr() as usize;
        for (key, value) in raw.entries() {
            let key_start = key.raw().as_ptr() as usize - base;
            let value_start = value.bytes().as_ptr() as usize - base;
            self.entries.push(Entry {
                key_start: key_start as u32,
                key_len: key.raw().len() as u32,
                key_escaped: key.raw().contains(&b'\\'),
                value_start: value_start as u32,
                value_end: (value_start + value.bytes().len()) as u32,
            });
        }
        Indexed {
            raw,
            entries: &self.entries,
        }
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

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        let b = self.raw.bytes();
        let want = key.as_bytes();
        for e in self.entries {
            if e.key_len as usize == want.len() || e.key_escaped {
                let (k, v) = self.entry(e);
                if (!e.key_escaped && &b[e.key_start as usize..][..want.len()] == want)
                    || (e.key_escaped && k.eq(key))
                {
                    return Some(v);
                }
            }
        }
        None
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
    }
}
