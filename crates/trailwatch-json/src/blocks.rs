//! Structural scanning 64 bytes at a time, the way simdjson finds structure: bit masks of the
//! quotes and brackets of a block, the in-string positions from a prefix XOR of the quote mask,
//! and bracket depth from population counts.
//!
//! Why: finding where a value ends is the hottest loop of both the hunt and the ingest (the
//! splitter cuts every record out of its file, and the field index skips every nested value
//! once). A byte-at-a-time loop spends several instructions per byte; a block costs a few dozen
//! instructions for 64 bytes, and a block that cannot close the value is passed over with two
//! population counts instead of a walk over its brackets.
//!
//! Blocks holding a backslash (escapes make quote parity depend on backslash runs) or, in
//! JSON-lines mode, a raw newline are left to the byte loop: they are rare in audit records.

/// The bit masks of one 64-byte block: bit `k` stands for byte `k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Masks {
    pub quote: u64,
    pub backslash: u64,
    pub newline: u64,
    /// `{` or `[`.
    pub open: u64,
    /// `}` or `]`.
    pub close: u64,
}

/// What the fast path made of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    /// The value ends just before this offset into the block.
    Done(usize),
    /// The value goes on past the block; the state is updated.
    Consumed,
    /// The block needs the byte loop (an escape, or a newline that matters).
    Slow,
}

/// Scans one block from depth `depth` (in a string when `in_string`), updating both.
#[inline]
pub(crate) fn scan_block(
    block: &[u8; 64],
    depth: &mut u32,
    in_string: &mut bool,
    stop_at_newline: bool,
) -> Block {
    let m = masks(block);
    if m.backslash != 0 || (stop_at_newline && m.newline != 0) {
        return Block::Slow;
    }
    let mut inside = prefix_xor(m.quote);
    if *in_string {
        inside = !inside;
    }
    let open = m.open & !inside;
    let close = m.close & !inside;
    let closes = close.count_ones();
    if closes < *depth {
        // The depth before any close in this block stays above zero: no need to walk.
        *depth = *depth + open.count_ones() - closes;
    } else {
        let mut brackets = open | close;
        while brackets != 0 {
            let k = brackets.trailing_zeros();
            let bit = 1u64 << k;
            if open & bit != 0 {
                *depth += 1;
            } else {
                *depth = depth.saturating_sub(1);
                if *depth == 0 {
                    return Block::Done(k as usize + 1);
                }
            }
            brackets &= brackets - 1;
        }
    }
    *in_string = inside >> 63 == 1;
    Block::Consumed
}

/// Bit `k` of the result is the XOR of bits `0..=k` of `x`: set inside a string (with its opening
/// quote), clear outside (and on the closing quote).
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The masks of `block`, with SSE2 (part of every x86-64 CPU, so no run-time detection).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: as below; `_mm_set1_epi8` only builds a register.
    let (quote, backslash, newline, case, open, close) = unsafe {
        (
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b'\\' as i8),
            _mm_set1_epi8(b'\n' as i8),
            // `[` | 0x20 == `{` and `]` | 0x20 == `}`; no other byte maps onto either.
            _mm_set1_epi8(0x20),
            _mm_set1_epi8(b'{' as i8),
            _mm_set1_epi8(b'}' as i8),
        )
    };
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        newline: 0,
        open: 0,
        close: 0,
    };
    for lane in 0..4 {
        let bytes = &block[lane * 16..lane * 16 + 16];
        // SAFETY: SSE2 is part of the x86-64 baseline, so these intrinsics exist on every CPU
        // this code runs on; `bytes` is 16 readable bytes and the load needs no alignment.
        let lane_masks = unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>());
            let folded = _mm_or_si128(v, case);
            [
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)),
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)),
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, newline)),
                _mm_movemask_epi8(_mm_cmpeq_epi8(folded, open)),
                _mm_movemask_epi8(_mm_cmpeq_epi8(folded, close)),
            ]
        };
        let bits = |x: i32| u64::from(x as u16) << (lane * 16);
        m.quote |= bits(lane_masks[0]);
        m.backslash |= bits(lane_masks[1]);
        m.newline |= bits(lane_masks[2]);
        m.open |= bits(lane_masks[3]);
        m.close |= bits(lane_masks[4]);
    }
    m
}

/// The masks of `block`, a byte at a time (other architectures, and the reference in tests).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn masks_bytewise(block: &[u8; 64]) -> Masks {
    let mut m = Masks {
        quote: 0,
        backslash: 0,
        newline: 0,
        open: 0,
        close: 0,
    };
    for (k, &c) in block.iter().enumerate() {
        let bit = 1u64 << k;
        match c {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'\n' => m.newline |= bit,
            b'{' | b'[' => m.open |= bit,
            b'}' | b']' => m.close |= bit,
            _ => {}
        }
    }
    m
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn masks(block: &[u8; 64]) -> Masks {
    masks_bytewise(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_masks_match_the_byte_loop() {
        let mut block = [0u8; 64];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            let special = b"\"\\\n{}[];=\x02\x1d\x7c";
            for b in block.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Every byte value, with the interesting ones and their 0x20 neighbours often.
                *b = match seed % 4 {
                    0 => special[(seed >> 8) as usize % special.len()],
                    _ => (seed >> 16) as u8,
                };
            }
            assert_eq!(masks(&block), masks_bytewise(&block), "{block:?}");
        }
    }

    #[test]
    fn prefix_xor_marks_string_interiors() {
        // "ab" at 0..4, then a bracket outside.
        let q = 0b1001;
        assert_eq!(prefix_xor(q) & 0b1111, 0b0111);
        assert_eq!(prefix_xor(q) >> 4, 0);
    }
}
