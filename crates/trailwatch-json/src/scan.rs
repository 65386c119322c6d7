//! Byte-level scanning shared by [`crate::Raw`] and [`crate::Splitter`].

use memchr::{memchr2, memchr3};

use crate::blocks::{scan_block, Block};

/// Index of the first byte at or after `pos` that is not JSON whitespace (or a UTF-8 BOM byte).
#[inline]
pub(crate) fn skip_ws(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() {
        match b[pos] {
            b' ' | b'\n' | b'\r' | b'\t' | 0xEF | 0xBB | 0xBF => pos += 1,
            _ => break,
        }
    }
    pos
}

/// With `b[pos] == b'"'`, the index just past the closing quote; `None` when unterminated.
#[inline]
pub(crate) fn skip_string(b: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos + 1;
    // Most keys and values are short: a plain loop beats setting up a vector search.
    let short_end = b.len().min(i + 24);
    while i < short_end {
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => break,
            _ => i += 1,
        }
    }
    loop {
        let k = memchr2(b'"', b'\\', &b[i..])?;
        i += k;
        if b[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
        if i > b.len() {
            return None;
        }
    }
}

/// Whether `c` may appear in an unquoted (identifier) key.
#[inline]
pub(crate) fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'-'
}

/// The index just past the value starting at `pos` (after whitespace); `None` when the value
/// is truncated or does not start like a value.
pub(crate) fn skip_value(b: &[u8], pos: usize) -> Option<usize> {
    let pos = skip_ws(b, pos);
    match *b.get(pos)? {
        b'"' => skip_string(b, pos),
        b'{' | b'[' => skip_nested(b, pos),
        _ => {
            let mut i = pos;
            while i < b.len() && !matches!(b[i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            {
                i += 1;
            }
            (i > pos).then_some(i)
        }
    }
}

/// With `b[pos]` an opening bracket, the index just past its matching close.
fn skip_nested(b: &[u8], pos: usize) -> Option<usize> {
    match ValueScan::default().feed(b, pos) {
        Scan::Complete(end) => Some(end),
        Scan::NeedMore | Scan::Newline(_) => None,
    }
}

/// A resumable scanner over one object or array that may arrive in pieces: it keeps its depth
/// and string state between calls, so feeding a value of any size is linear.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Stop at a raw newline (JSON-lines input, where a record never spans lines).
    pub(crate) stop_at_newline: bool,
}

impl ValueScan {
    pub(crate) fn new(stop_at_newline: bool) -> Self {
        ValueScan {
            stop_at_newline,
            ..ValueScan::default()
        }
    }
}

pub(crate) enum Scan {
    /// The value ends just before this index.
    Complete(usize),
    /// Every byte was consumed; feed more from here.
    NeedMore,
    /// A raw newline at this index, inside the value (only with `stop_at_newline`).
    Newline(usize),
}

impl ValueScan {
    /// Scans `b[from..]`; the first call must start on the opening bracket.
    pub(crate) fn feed(&mut self, b: &[u8], from: usize) -> Scan {
        let mut i = from;
        let n = b.len();
        while i < n {
            let end = n.min(i + 64);
            if let (false, Ok(block)) = (self.escaped, <&[u8; 64]>::try_from(&b[i..end])) {
                let nl = self.stop_at_newline;
                match scan_block(block, &mut self.depth, &mut self.in_string, nl) {
                    Block::Done(k) => return Scan::Complete(i + k),
                    Block::Consumed => {
                        i = end;
                        continue;
                    }
                    Block::Slow => {}
                }
            }
            match self.feed_bytes(&b[..end], i) {
                Scan::NeedMore => i = end,
                done => return done,
            }
        }
        Scan::NeedMore
    }

    /// [`Self::feed`] a byte at a time (blocks the vector path leaves, and the tail).
    fn feed_bytes(&mut self, b: &[u8], from: usize) -> Scan {
        let mut i = from;
        let n = b.len();
        while i < n {
            if self.escaped {
                self.escaped = false;
                i += 1;
                continue;
            }
            if self.in_string {
                // Most strings are short keys and values: a plain loop over the next bytes
                // beats setting up a vector search for each (measured on the hunt corpus).
                let nl = self.stop_at_newline;
                let short_end = n.min(i + 24);
                while i < short_end && !(b[i] == b'"' || b[i] == b'\\' || (nl && b[i] == b'\n')) {
                    i += 1;
                }
                if i == short_end {
                    let next = if nl {
                        memchr3(b'"', b'\\', b'\n', &b[i..])
                    } else {
                        memchr2(b'"', b'\\', &b[i..])
                    };
                    let Some(k) = next else {
                        return Scan::NeedMore;
                    };
                    i += k;
                }
                match b[i] {
                    b'"' => self.in_string = false,
                    b'\n' => return Scan::Newline(i),
                    _ => self.escaped = true,
                }
                i += 1;
                continue;
            }
            match b[i] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Scan::Complete(i + 1);
                    }
                }
                b'\n' if self.stop_at_newline => return Scan::Newline(i),
                _ => {}
            }
            i += 1;
        }
        Scan::NeedMore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_values() {
        let b = br#"{"a":[1,{"b":"x\"}"}],"c":null} tail"#;
        assert_eq!(skip_value(b, 0), Some(b.len() - 5));
        assert_eq!(skip_value(b"  123,", 0), Some(5));
        assert_eq!(skip_value(br#""abc\\""#, 0), Some(7));
        assert_eq!(skip_value(br#"{"a":"#, 0), None);
        assert_eq!(skip_value(br#""abc\"#, 0), None);
    }

    #[test]
    fn resumable_scan_matches_whole_scan() {
        let b = br#"{"a":"}\\\"{","b":[[{}]],"c":"x"}"#;
        for cut in 1..b.len() {
            let mut s = ValueScan::default();
            let first = s.feed(&b[..cut], 0);
            let end = match first {
                Scan::Complete(e) => e,
                Scan::NeedMore => match s.feed(b, cut) {
                    Scan::Complete(e) => e,
                    _ => panic!("never completed at cut {cut}"),
                },
                Scan::Newline(_) => panic!("no newline in input"),
            };
            assert_eq!(end, b.len(), "cut {cut}");
        }
    }

    /// Every outcome of a scan as a comparable value.
    fn outcome(s: Scan) -> (u8, usize) {
        match s {
            Scan::Complete(e) => (0, e),
            Scan::NeedMore => (1, 0),
            Scan::Newline(e) => (2, e),
        }
    }

    /// Random JSON-like text: brackets, quotes and escapes often, so that values nest, strings
    /// hold brackets and escaped quotes, and blocks both take and leave the vector path.
    fn random_text(seed: &mut u64, len: usize) -> Vec<u8> {
        let alphabet = b"{}[]\"\\\n :,abcdefgh0123456789";
        let mut out = vec![b'{'];
        while out.len() < len {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            // Long runs of plain bytes now and then, so whole blocks are free of escapes.
            if (*seed).is_multiple_of(16) {
                out.extend(std::iter::repeat_n(b'x', (*seed >> 8) as usize % 150));
            } else {
                let weights = if (*seed).is_multiple_of(7) {
                    6
                } else {
                    alphabet.len()
                };
                out.push(alphabet[(*seed >> 20) as usize % weights]);
            }
        }
        out
    }

    #[test]
    fn block_scan_matches_the_byte_loop_whole_and_in_pieces() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..30_000 {
            let b = random_text(&mut seed, 1 + round % 400);
            for nl in [false, true] {
                let want = outcome(ValueScan::new(nl).feed_bytes(&b, 0));
                assert_eq!(outcome(ValueScan::new(nl).feed(&b, 0)), want, "{b:?}");
                // The same input arriving in two pieces.
                let cut = (seed as usize) % b.len();
                let mut s = ValueScan::new(nl);
                let got = match s.feed(&b[..cut], 0) {
                    Scan::NeedMore => outcome(s.feed(&b, cut)),
                    first => outcome(first),
                };
                assert_eq!(got, want, "cut {cut} of {b:?}");
            }
        }
    }
}
