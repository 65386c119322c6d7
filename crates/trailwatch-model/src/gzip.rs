//! Recognising gzip by its content: every reader of logs and digests decompresses when the
//! magic bytes say gzip, whatever the file is called.

/// The two bytes every gzip member starts with (RFC 1952, `ID1` and `ID2`).
pub const MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `head`, the first bytes of a stream or file, starts a gzip member. Fewer than two
/// bytes are never gzip.
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_bytes_and_nothing_else_are_gzip() {
        assert!(is_gzip(&[0x1f, 0x8b]));
        assert!(is_gzip(b"\x1f\x8b\x08\x00rest"));
        assert!(!is_gzip(b""));
        assert!(!is_gzip(&[0x1f]));
        assert!(!is_gzip(&[0x8b, 0x1f]));
        assert!(!is_gzip(b"{\"Records\":[]}"));
    }
}
