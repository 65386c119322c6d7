//! [`Raw`]: a JSON value read in place.

use crate::scan::{is_ident, skip_string, skip_value, skip_ws};
use std::borrow::Cow;

/// What a value is, judged by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
    /// Not a JSON value (or empty).
    Invalid,
}

/// A JSON value's bytes, borrowed from the input; nothing is decoded until asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a>(&'a [u8]);

/// An object key as it appears in the input: quoted (maybe with escapes) or a bare identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    /// The key's bytes without quotes, still escaped.
    raw: &'a [u8],
    has_escape: bool,
}

impl<'a> Key<'a> {
    pub(crate) fn new(raw: &'a [u8], has_escape: bool) -> Self {
        Key { raw, has_escape }
    }
}

impl<'a> Key<'a> {
    /// The key's bytes without quotes, still escaped (equal to the key for the usual key).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the key has escapes (so comparing needs decoding).
    pub fn has_escape(&self) -> bool {
        self.has_escape
    }

    /// The decoded key.
    pub fn decode(&self) -> Cow<'a, str> {
        if self.has_escape {
            Cow::Owned(unescape(self.raw))
        } else {
            utf8(self.raw)
        }
    }

    /// Whether the key equals `name`.
    #[inline]
    pub fn is(&self, name: &str) -> bool {
        if self.has_escape {
            unescape(self.raw) == name
        } else {
            self.raw == name.as_bytes()
        }
    }

    /// Whether the key equals `name`, ignoring ASCII case.
    #[inline]
    pub fn eq_ignore_case(&self, name: &str) -> bool {
        if self.has_escape {
            unescape(self.raw).eq_ignore_ascii_case(name)
        } else {
            self.raw.eq_ignore_ascii_case(name.as_bytes())
        }
    }
}

impl<'a> Raw<'a> {
    /// Wraps a value's bytes; surrounding whitespace is trimmed.
    pub fn new(bytes: &'a [u8]) -> Self {
        let start = skip_ws(bytes, 0);
        let mut end = bytes.len();
        while end > start && matches!(bytes[end - 1], b' ' | b'\n' | b'\r' | b'\t') {
            end -= 1;
        }
        Raw(&bytes[start..end])
    }

    /// The value's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The value's text (lossy if the input was not UTF-8).
    pub fn text(&self) -> Cow<'a, str> {
        utf8(self.0)
    }

    pub fn kind(&self) -> Kind {
        match self.0.first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            Some(b'-' | b'0'..=b'9') => Kind::Number,
            _ => Kind::Invalid,
        }
    }

    /// The decoded string, if this is a string.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        let inner = self.string_inner()?;
        Some(if memchr::memchr(b'\\', inner).is_some() {
            Cow::Owned(unescape(inner))
        } else {
            utf8(inner)
        })
    }

    /// The string's bytes between the quotes, still escaped.
    fn string_inner(&self) -> Option<&'a [u8]> {
        let b = self.0;
        (b.len() >= 2 && b[0] == b'"' && b[b.len() - 1] == b'"').then(|| &b[1..b.len() - 1])
    }

    /// `true`/`false`, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.0 {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        self.0 == b"null"
    }

    /// The entries of an object (empty for anything else).
    pub fn entries(&self) -> ObjectIter<'a> {
        let pos = if self.kind() == Kind::Object {
            1
        } else {
            self.0.len()
        };
        ObjectIter { b: self.0, pos }
    }

    /// The elements of an array (empty for anything else).
    pub fn elements(&self) -> ArrayIter<'a> {
        let pos = if self.kind() == Kind::Array {
            1
        } else {
            self.0.len()
        };
        ArrayIter { b: self.0, pos }
    }

    /// The value of `key` in an object.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.entries().find(|(k, _)| k.is(key)).map(|(_, v)| v)
    }

    /// The value of `key` in an object, ignoring ASCII case.
    pub fn get_ignore_case(&self, key: &str) -> Option<Raw<'a>> {
        self.entries()
            .find(|(k, _)| k.eq_ignore_case(key))
            .map(|(_, v)| v)
    }

    /// Follows a path of keys: `get_path(&["userIdentity", "arn"])`.
    pub fn get_path(&self, path: &[&str]) -> Option<Raw<'a>> {
        let mut v = *self;
        for key in path {
            v = v.get(key)?;
        }
        Some(v)
    }

    /// The string at a path, decoded.
    pub fn str_at(&self, path: &[&str]) -> Option<Cow<'a, str>> {
        self.get_path(path)?.as_str()
    }
}

/// Bytes as text: borrowed when valid UTF-8 (the fast, usual case), else lossy.
#[inline]
pub(crate) fn utf8(b: &[u8]) -> Cow<'_, str> {
    // Audit-log strings are short and nearly always ASCII: an inlined check beats the call to
    // the general validator (measured: `from_utf8` was 3.6% of a hunt).
    if b.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(b) });
    }
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Iterates an object's entries; stops at the end or at the first malformed byte.
pub struct ObjectIter<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ObjectIter<'a> {
    type Item = (Key<'a>, Raw<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        let mut p = skip_ws(b, self.pos);
        if b.get(p) == Some(&b',') {
            p = skip_ws(b, p + 1);
        }
        let key = match *b.get(p)? {
            b'"' => {
                let end = skip_string(b, p)?;
                let raw = &b[p + 1..end - 1];
                p = end;
                Key {
                    raw,
                    // Keys are short: a plain loop beats a vector search's setup.
                    #[allow(clippy::manual_contains)]
                    has_escape: raw.iter().any(|&c| c == b'\\'),
                }
            }
            c if is_ident(c) => {
                let start = p;
                while p < b.len() && is_ident(b[p]) {
                    p += 1;
                }
                Key {
                    raw: &b[start..p],
                    has_escape: false,
                }
            }
            _ => {
                self.pos = b.len();
                return None;
            }
        };
        p = skip_ws(b, p);
        if b.get(p) != Some(&b':') {
            self.pos = b.len();
            return None;
        }
        let vstart = skip_ws(b, p + 1);
        let Some(vend) = skip_value(b, vstart) else {
            self.pos = b.len();
            return None;
        };
        self.pos = vend;
        Some((key, Raw(&b[vstart..vend])))
    }
}

/// Iterates an array's elements; stops at the end or at the first malformed byte.
pub struct ArrayIter<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Raw<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.b;
        let mut p = skip_ws(b, self.pos);
        if b.get(p) == Some(&b',') {
            p = skip_ws(b, p + 1);
        }
        if matches!(b.get(p), None | Some(b']')) {
            self.pos = b.len();
            return None;
        }
        let Some(end) = skip_value(b, p) else {
            self.pos = b.len();
            return None;
        };
        self.pos = end;
        Some(Raw(&b[p..end]))
    }
}

/// Decodes a JSON string body (without quotes). Invalid escapes are kept as written; lone
/// surrogates become U+FFFD.
pub fn unescape(s: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'\\' || i + 1 >= s.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let e = s[i + 1];
        i += 2;
        match e {
            b'"' => out.push(b'"'),
            b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let (ch, used) = decode_u_escape(&s[i..]);
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += used;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn hex4(s: &[u8]) -> Option<u32> {
    let h = s.get(..4)?;
    let text = std::str::from_utf8(h).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// Decodes the hex digits after `\u` (and a following low surrogate); returns the char and the
/// bytes used.
fn decode_u_escape(s: &[u8]) -> (char, usize) {
    let Some(hi) = hex4(s) else {
        return (char::REPLACEMENT_CHARACTER, 0);
    };
    if (0xD800..0xDC00).contains(&hi) {
        if s.get(4..6) == Some(b"\\u") {
            if let Some(lo) = hex4(&s[6..]) {
                if (0xDC00..0xE000).contains(&lo) {
                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return (
                        char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER),
                        10,
                    );
                }
            }
        }
        return (char::REPLACEMENT_CHARACTER, 4);
    }
    (char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER), 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_values_in_place() {
        let doc =
            br#" {"a": {"b": [1, "two", {"c": true}]}, "s": "x\"y\u00e9\ud83d\ude00", "n": null} "#;
        let v = Raw::new(doc);
        assert_eq!(v.kind(), Kind::Object);
        let arr = v.get_path(&["a", "b"]).unwrap();
        let els: Vec<_> = arr.elements().collect();
        assert_eq!(els.len(), 3);
        assert_eq!(els[1].as_str().unwrap(), "two");
        assert_eq!(els[2].get("c").unwrap().as_bool(), Some(true));
        assert_eq!(v.get("s").unwrap().as_str().unwrap(), "x\"yé😀");
        assert!(v.get("n").unwrap().is_null());
        assert!(v.get("missing").is_none());
    }

    #[test]
    fn agrees_with_serde_json_on_strings() {
        for s in [
            "plain",
            "tab\tnew\nline",
            "quote\"back\\slash",
            "ünï",
            "\u{1F600}",
            "\u{0007}",
        ] {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(Raw::new(json.as_bytes()).as_str().unwrap(), s);
        }
    }

    #[test]
    fn accepts_unquoted_keys_and_trailing_commas() {
        let doc = br#"{ eventName: "CreateApiKey", requestParameters: { apiId: "x", }, }"#;
        let v = Raw::new(doc);
        assert_eq!(v.str_at(&["eventName"]).unwrap(), "CreateApiKey");
        assert_eq!(v.str_at(&["requestParameters", "apiId"]).unwrap(), "x");
        assert_eq!(v.entries().count(), 2);
    }

    #[test]
    fn escaped_keys_compare_decoded() {
        let v = Raw::new(br#"{"a\u0062": 1}"#);
        assert_eq!(v.get("ab").unwrap().bytes(), b"1");
        assert!(v.get_ignore_case("AB").is_some());
    }
}
