//! Lower-case hexadecimal: the one encoder and decoder of every hash, id, key and signature
//! trailwatch writes or reads as text (event content ids, alert ids, ledger hashes and keys,
//! CloudTrail digest hashes and signatures, webhook signatures, UUIDs).

/// The digits [`encode`] writes, `0`–`9` then `a`–`f`.
pub const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`, two digits a byte.
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    encode_into(&mut s, bytes);
    s
}

/// Appends the lower-case hex of `bytes` to `out` (for ids with a prefix or separators).
pub fn encode_into(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
}

/// The value of one hex digit, either case; `None` for any other byte.
pub fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The bytes of a hex string (either case); `None` unless it is hex of whole bytes. The empty
/// string is zero bytes.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|pair| byte(pair[0], pair[1]))
        .collect()
}

/// Exactly `N` bytes of hex (either case, `2 * N` digits); `None` for anything else.
pub fn decode_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = byte(pair[0], pair[1])?;
    }
    Some(out)
}

/// The byte two hex digits spell, high digit first.
fn byte(hi: u8, lo: u8) -> Option<u8> {
    Some((digit_value(hi)? << 4) | digit_value(lo)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lower_case_and_decodes_either_case() {
        let v = [0u8, 1, 0xab, 0xff];
        assert_eq!(encode(&v), "0001abff");
        assert_eq!(encode(&[]), "");
        let mut s = "sha256=".to_string();
        encode_into(&mut s, &v);
        assert_eq!(s, "sha256=0001abff");
        assert_eq!(decode("0001ABff").as_deref(), Some(&v[..]));
        assert_eq!(decode("").as_deref(), Some(&[][..]));
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("zz"), None);
        assert_eq!(decode_array::<4>("0001abFF"), Some(v));
        assert_eq!(decode_array::<4>("0001ab"), None);
        assert_eq!(decode_array::<4>("0001abffff"), None);
        assert_eq!(decode_array::<2>("0g01"), None);
        assert_eq!(digit_value(b'G'), None);
    }

    #[test]
    fn every_byte_round_trips() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert_eq!(text.len(), 512);
        assert_eq!(decode(&text), Some(all.clone()));
        assert_eq!(decode(&text.to_uppercase()), Some(all));
    }
}
