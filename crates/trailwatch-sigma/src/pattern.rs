//! String patterns: Sigma strings with wildcards, compiled once into the cheapest matcher.
//!
//! Case-insensitive patterns are stored lowercased. Matching an ASCII value compares bytes with
//! ASCII case folding and never allocates; a non-ASCII value is lowercased into a temporary
//! string (the rare fallback).

use regex::Regex;
use std::borrow::Cow;

/// One token of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(String),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A Sigma string value after escape processing: literals and wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SigmaStr {
    toks: Vec<Tok>,
}

impl SigmaStr {
    /// Parses wildcards and escapes (`\*`, `\?`, `\\`); any other backslash is literal.
    pub(crate) fn parse(s: &str) -> Self {
        let mut out = SigmaStr::default();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => out.push(Tok::Star),
                '?' => out.push(Tok::One),
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        out.push_char(n);
                    }
                    _ => out.push_char('\\'),
                },
                c => out.push_char(c),
            }
        }
        out
    }

    /// A string taken literally (no wildcards).
    pub(crate) fn literal(s: &str) -> Self {
        let mut out = SigmaStr::default();
        if !s.is_empty() {
            out.toks.push(Tok::Lit(s.to_string()));
        }
        out
    }

    fn push_char(&mut self, c: char) {
        if let Some(Tok::Lit(l)) = self.toks.last_mut() {
            l.push(c);
        } else {
            self.toks.push(Tok::Lit(c.to_string()));
        }
    }

    fn push(&mut self, t: Tok) {
        if t == Tok::Star && self.toks.last() == Some(&Tok::Star) {
            return;
        }
        self.toks.push(t);
    }

    /// The text if it has no wildcards.
    pub(crate) fn as_plain(&self) -> Option<String> {
        let mut s = String::new();
        for t in &self.toks {
            match t {
                Tok::Lit(l) => s.push_str(l),
                _ => return None,
            }
        }
        Some(s)
    }

    pub(crate) fn prepend_star(&mut self) {
        if self.toks.first() != Some(&Tok::Star) {
            self.toks.insert(0, Tok::Star);
        }
    }

    pub(crate) fn append_star(&mut self) {
        self.push(Tok::Star);
    }

    /// Applies `f` to each literal part (used by `windash`).
    pub(crate) fn map_literals(&self, f: impl Fn(&str) -> String) -> SigmaStr {
        SigmaStr {
            toks: self
                .toks
                .iter()
                .map(|t| match t {
                    Tok::Lit(l) => Tok::Lit(f(l)),
                    other => other.clone(),
                })
                .collect(),
        }
    }

    /// Compiles into the cheapest matcher.
    pub(crate) fn compile(&self, cased: bool) -> Result<StrMatch, regex::Error> {
        let norm = |s: &str| -> Box<str> {
            if cased {
                s.into()
            } else {
                s.to_lowercase().into()
            }
        };
        let plain = |kind, s: &str| StrMatch::Plain {
            kind,
            pat: norm(s),
            cased,
        };
        Ok(match self.toks.as_slice() {
            [] => plain(StrKind::Exact, ""),
            [Tok::Lit(l)] => plain(StrKind::Exact, l),
            [Tok::Star] => StrMatch::Any,
            [Tok::Lit(l), Tok::Star] => plain(StrKind::Prefix, l),
            [Tok::Star, Tok::Lit(l)] => plain(StrKind::Suffix, l),
            [Tok::Star, Tok::Lit(l), Tok::Star] => plain(StrKind::Contains, l),
            toks => {
                let mut re = String::from(if cased { "(?s)^" } else { "(?si)^" });
                for t in toks {
                    match t {
                        Tok::Lit(l) => re.push_str(&regex::escape(l)),
                        Tok::Star => re.push_str(".*"),
                        Tok::One => re.push('.'),
                    }
                }
                re.push('$');
                StrMatch::Glob(Regex::new(&re)?)
            }
        })
    }
}

/// Where a plain pattern must occur in the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrKind {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

/// A compiled string test.
#[derive(Debug, Clone)]
pub(crate) enum StrMatch {
    /// No wildcard inside: a byte comparison. `pat` is lowercased unless `cased`.
    Plain {
        kind: StrKind,
        pat: Box<str>,
        cased: bool,
    },
    /// A lone `*`: any non-null value.
    Any,
    /// Wildcards in the middle: an anchored regex.
    Glob(Regex),
    /// The `re` modifier.
    Re(Regex),
}

impl StrMatch {
    pub(crate) fn is_match(&self, value: &str) -> bool {
        match self {
            StrMatch::Plain { kind, pat, cased } => {
                if *cased {
                    relation(*kind, value, pat)
                } else if value.is_ascii() {
                    relation_ascii_ci(*kind, value.as_bytes(), pat.as_bytes())
                } else {
                    relation(*kind, &value.to_lowercase(), pat)
                }
            }
            StrMatch::Any => true,
            StrMatch::Glob(re) | StrMatch::Re(re) => re.is_match(value),
        }
    }

    /// Whether this test may look inside a composite (object/array JSON text) value.
    pub(crate) fn applies_to_composite(&self) -> bool {
        matches!(
            self,
            StrMatch::Any
                | StrMatch::Plain {
                    kind: StrKind::Contains,
                    ..
                }
        )
    }

    /// The exact literal (lowercased) this test requires, if it is an exact comparison.
    pub(crate) fn exact_literal(&self) -> Option<Cow<'_, str>> {
        match self {
            StrMatch::Plain {
                kind: StrKind::Exact,
                pat,
                cased,
            } => Some(if *cased {
                Cow::Owned(pat.to_lowercase())
            } else {
                Cow::Borrowed(pat)
            }),
            _ => None,
        }
    }

    pub(crate) fn cost(&self) -> u32 {
        match self {
            StrMatch::Any => 1,
            StrMatch::Plain {
                kind: StrKind::Exact,
                ..
            } => 2,
            StrMatch::Plain {
                kind: StrKind::Prefix | StrKind::Suffix,
                ..
            } => 3,
            StrMatch::Plain {
                kind: StrKind::Contains,
                ..
            } => 6,
            StrMatch::Glob(_) | StrMatch::Re(_) => 25,
        }
    }
}

/// `value` relates to `pat` as `kind` says, byte for byte.
pub(crate) fn relation(kind: StrKind, value: &str, pat: &str) -> bool {
    match kind {
        StrKind::Exact => value == pat,
        StrKind::Prefix => value.starts_with(pat),
        StrKind::Suffix => value.ends_with(pat),
        StrKind::Contains => memchr::memmem::find(value.as_bytes(), pat.as_bytes()).is_some(),
    }
}

/// `value` relates to the lowercase `pat` as `kind` says, ignoring ASCII case.
pub(crate) fn relation_ascii_ci(kind: StrKind, value: &[u8], pat: &[u8]) -> bool {
    match kind {
        StrKind::Exact => value.eq_ignore_ascii_case(pat),
        StrKind::Prefix => value.len() >= pat.len() && value[..pat.len()].eq_ignore_ascii_case(pat),
        StrKind::Suffix => {
            value.len() >= pat.len() && value[value.len() - pat.len()..].eq_ignore_ascii_case(pat)
        }
        StrKind::Contains => contains_ascii_ci(value, pat),
    }
}

/// Case-insensitive relation between two arbitrary strings (used by `fieldref`).
pub(crate) fn relation_ci(kind: StrKind, value: &str, other: &str) -> bool {
    if value.is_ascii() && other.is_ascii() {
        // `other` is not known to be lowercase: compare with both folded.
        return match kind {
            StrKind::Exact => value.eq_ignore_ascii_case(other),
            StrKind::Prefix => {
                value.len() >= other.len()
                    && value.as_bytes()[..other.len()].eq_ignore_ascii_case(other.as_bytes())
            }
            StrKind::Suffix => {
                value.len() >= other.len()
                    && value.as_bytes()[value.len() - other.len()..]
                        .eq_ignore_ascii_case(other.as_bytes())
            }
            StrKind::Contains => {
                let h = value.as_bytes();
                let n = other.as_bytes();
                n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
            }
        };
    }
    relation(kind, &value.to_lowercase(), &other.to_lowercase())
}

/// Whether `hay` contains the lowercase ASCII `needle`, ignoring ASCII case.
pub(crate) fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    let upper = first.to_ascii_uppercase();
    let mut from = 0;
    while from <= last_start {
        let window = &hay[from..=last_start];
        let found = if upper != first {
            memchr::memchr2(first, upper, window)
        } else {
            memchr::memchr(first, window)
        };
        let Some(off) = found else {
            return false;
        };
        let pos = from + off;
        if hay[pos + 1..pos + needle.len()].eq_ignore_ascii_case(rest) {
            return true;
        }
        from = pos + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, cased: bool, v: &str) -> bool {
        SigmaStr::parse(p)
            .compile(cased)
            .map(|m| m.is_match(v))
            .unwrap_or(false)
    }

    #[test]
    fn plain_and_wildcards() {
        assert!(m("CreateUser", false, "createuser"));
        assert!(!m("CreateUser", true, "createuser"));
        assert!(m("Create*", false, "CREATEACCESSKEY"));
        assert!(m("*Key", false, "createaccesskey"));
        assert!(m("*Access*", false, "CreateAccessKey"));
        assert!(!m("*Access*", false, "CreateUser"));
        assert!(m("Cr?ate*Key", false, "CreateAccessKey"));
        assert!(!m("Cr?ate*Key", false, "CrateAccessKey"));
        assert!(m("*", false, ""));
        assert!(m("", false, ""));
        assert!(!m("", false, "x"));
    }

    #[test]
    fn escapes() {
        assert!(m(r"a\*b", false, "a*b"));
        assert!(!m(r"a\*b", false, "axxb"));
        assert!(m(r"a\?b", false, "a?b"));
        assert!(!m(r"a\?b", false, "axb"));
        assert!(m(r"a\\b", false, r"a\b"));
        assert!(m(r"a\\*", false, r"a\bcd"));
        assert!(m(r"C:\Windows", false, r"c:\windows"));
    }

    #[test]
    fn non_ascii() {
        assert!(m("Ärger*", false, "ärgerlich"));
        assert!(m("*ÄRGER*", false, "xxärgerxx"));
        assert!(!m("Ärger", true, "ärger"));
    }

    #[test]
    fn contains_ci() {
        assert!(contains_ascii_ci(b"Hello World", b"o w"));
        assert!(contains_ascii_ci(b"aaab", b"aab"));
        assert!(!contains_ascii_ci(b"aa", b"aab"));
        assert!(contains_ascii_ci(b"x", b""));
        assert!(contains_ascii_ci(b"1.2.3", b".3"));
    }
}
