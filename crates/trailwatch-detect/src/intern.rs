//! A compact string interner: every distinct string stored once, in one arena.
//!
//! Written here rather than taken from a crate because what matters is bytes per entry under
//! millions of firings: a string costs its text plus 8 bytes of span plus one 16-byte map
//! slot, with no allocation per string.

use rustc_hash::{FxHashMap, FxHasher};
use std::hash::Hasher;

#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    arena: String,
    spans: Vec<(u32, u32)>,
    /// Hash of the text → id; a collision moves on to the next hash value.
    index: FxHashMap<u64, u32>,
}

fn hash(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

impl Interner {
    /// The id of `s`, interning it if new.
    pub(crate) fn id(&mut self, s: &str) -> u32 {
        let mut h = hash(s);
        loop {
            match self.index.get(&h) {
                Some(&id) if self.get(id) == s => return id,
                Some(_) => h = h.wrapping_add(1),
                None => break,
            }
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.arena.len() as u32, s.len() as u32));
        self.arena.push_str(s);
        self.index.insert(h, id);
        id
    }

    pub(crate) fn get(&self, id: u32) -> &str {
        match self.spans.get(id as usize) {
            Some(&(start, len)) => self
                .arena
                .get(start as usize..(start + len) as usize)
                .unwrap_or(""),
            None => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_reads_back() {
        let mut i = Interner::default();
        let a = i.id("alpha");
        let b = i.id("beta");
        assert_eq!(i.id("alpha"), a);
        assert_ne!(a, b);
        assert_eq!(i.get(b), "beta");
        assert_eq!(i.get(99), "");
    }
}
