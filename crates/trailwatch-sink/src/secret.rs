//! Secrets (the values named by `*_env` configuration keys) and their redaction.
//!
//! A [`Secret`] holds a resolved value; its `Debug` and `Display` print [`REDACTED`], so a
//! struct holding one can be logged. Making a `Secret` also registers its value with the
//! process-wide redactor, and [`redact`] replaces every registered secret in a text: delivery
//! errors go through it before they are logged or stored in the outbox, and the binary's log
//! writer passes every line through it. A [`Redactor`] can also be built and used on its own.
//!
//! Besides the value itself, a redactor looks for the forms an error message may print it in:
//! percent-encoded and percent-decoded, and for a URL its path and query (what a client prints
//! once it has normalised scheme, host or port), its user information and each token-like path
//! segment or query value. Matching ignores ASCII case (percent escapes print `%2F` or `%2f`).
//! Values shorter than [`MIN_SECRET_LEN`] bytes are not looked for: they would blank out
//! ordinary words in every message.

use std::borrow::Cow;
use std::fmt;
use std::sync::{PoisonError, RwLock};

/// What stands in for a secret.
pub const REDACTED: &str = "[redacted]";

/// The shortest text looked for (a secret, or a part of a URL secret).
pub const MIN_SECRET_LEN: usize = 6;

/// A URL segment or query value shorter than this is not a secret part on its own.
const MIN_TOKEN_LEN: usize = 8;

/// A resolved secret value. Printing it prints [`REDACTED`]; [`Secret::expose`] gives the value
/// to the one place that needs it (the request, the login).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it with the process-wide redactor ([`redact`]).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// The value itself: for the request or login that needs it, never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replaces secrets, in every form they may be printed in, with [`REDACTED`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// ASCII-lowercased texts to replace, longest first, without repeats.
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor that knows no secret yet.
    pub const fn new() -> Self {
        Redactor {
            needles: Vec::new(),
        }
    }

    /// A redactor for each of `secrets`.
    pub fn from_secrets<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut r = Redactor::new();
        for s in secrets {
            r.add(s.as_ref());
        }
        r
    }

    /// Learns `secret` and the forms it may be printed in.
    pub fn add(&mut self, secret: &str) {
        for form in forms(secret) {
            let needle = form.to_ascii_lowercase();
            if needle.len() >= MIN_SECRET_LEN && !self.needles.contains(&needle) {
                self.needles.push(needle);
            }
        }
        self.needles
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every occurrence of a known secret form replaced by [`REDACTED`];
    /// overlapping occurrences become one.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.needles.is_empty() {
            return Cow::Borrowed(text);
        }
        // ASCII lowercasing keeps every byte offset and char boundary of `text`.
        let lower = text.to_ascii_lowercase();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for needle in &self.needles {
            spans.extend(
                lower
                    .match_indices(needle.as_str())
                    .map(|(at, m)| (at, at + m.len())),
            );
        }
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut done = 0;
        for (start, end) in spans {
            if end <= done {
                continue; // inside a span already replaced
            }
            if start >= done {
                out.push_str(&text[done..start]);
                out.push_str(REDACTED);
            }
            done = end;
        }
        out.push_str(&text[done..]);
        Cow::Owned(out)
    }
}

/// The forms `secret` may be printed in (before the length filter).
fn forms(secret: &str) -> Vec<String> {
    let mut base = vec![secret.to_string()];
    let trimmed = secret.trim();
    if trimmed != secret {
        base.push(trimmed.to_string());
    }
    if let Some(parts) = url_parts(trimmed) {
        base.extend(parts);
    }
    let mut out = Vec::with_capacity(base.len() * 4);
    for b in base {
        out.push(percent_encode(&b, false));
        out.push(percent_encode(&b, true));
        if let Some(decoded) = percent_decode(&b) {
            out.push(decoded);
        }
        out.push(b);
    }
    out
}

/// For a `scheme://…` secret: its path with query and fragment, its user information (and the
/// password in it), and every token-like path segment and query value.
fn url_parts(secret: &str) -> Option<Vec<String>> {
    let (_, rest) = secret.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut parts = Vec::new();
    if let Some((userinfo, _host)) = authority.rsplit_once('@') {
        parts.push(userinfo.to_string());
        if let Some((_, password)) = userinfo.split_once(':') {
            parts.push(password.to_string());
        }
    }
    if tail.len() > 1 {
        parts.push(tail.to_string());
    }
    let tokens = tail
        .split(['/', '?', '#', '&'])
        .map(|piece| piece.split_once('=').map_or(piece, |(_, value)| value))
        .filter(|t| is_token_like(t));
    parts.extend(tokens.map(str::to_string));
    Some(parts)
}

/// A piece long enough, and not a plain lowercase word (`services`, `webhooks`), to be a key.
fn is_token_like(piece: &str) -> bool {
    piece.len() >= MIN_TOKEN_LEN
        && piece
            .chars()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || !c.is_ascii())
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986), and with `keep_reserved`
/// also leaves the reserved delimiters (`/`, `:`, `?`, …) and `%` as they are: the first is how
/// a URL is embedded in a query, the second how a client normalises a URL it prints.
fn percent_encode(s: &str, keep_reserved: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        let reserved = b":/?#[]@!$&'()*+,;=%".contains(&b);
        if unreserved || (keep_reserved && reserved) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `s` with its `%XX` escapes decoded, when it has any and the result is UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    trailwatch_model::percent::decode(s)
}

/// The secrets of this process (every [`Secret`] made, every [`register`]ed value).
static GLOBAL: RwLock<Redactor> = RwLock::new(Redactor::new());

/// Adds `secret` to the process-wide redactor.
pub fn register(secret: &str) {
    GLOBAL
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .add(secret);
}

/// `text` with every secret of the process replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .redact(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str =
        "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX";
    const TOKEN: &str = "aBcDeFgHiJkLmNoPqRsTuVwX";

    #[test]
    fn a_secret_in_the_middle_of_text_is_replaced() {
        let r = Redactor::from_secrets(["hunter2-password"]);
        assert_eq!(
            r.redact("login as bob with hunter2-password failed: 535"),
            "login as bob with [redacted] failed: 535"
        );
        assert_eq!(r.redact("nothing secret here"), "nothing secret here");
        assert!(matches!(r.redact("nothing"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_url_secret_is_replaced_whole_by_path_and_by_token() {
        let r = Redactor::from_secrets([SLACK]);
        let e = format!("error sending request for url ({SLACK}): connection refused");
        assert_eq!(
            r.redact(&e),
            "error sending request for url ([redacted]): connection refused"
        );
        // Printed normalised (another host spelling, a port): the path still goes.
        let normalised = "POST https://HOOKS.slack.com:443/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX";
        let out = r.redact(normalised);
        assert_eq!(out, "POST https://HOOKS.slack.com:443[redacted]");
        // Only the token, or one id.
        let out = r
            .redact(&format!("bad token {TOKEN} for team T0123ABCD"))
            .into_owned();
        assert_eq!(out, "bad token [redacted] for team [redacted]");
        // The words of the path are not secrets on their own.
        assert_eq!(r.redact("slack services"), "slack services");
    }

    #[test]
    fn percent_encoded_and_decoded_forms_are_replaced() {
        let r = Redactor::from_secrets([SLACK]);
        let encoded = "https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0123ABCD%2FB0456EFGH%2FaBcDeFgHiJkLmNoPqRsTuVwX";
        let out = r
            .redact(&format!("redirect to /login?next={encoded}&x=1"))
            .into_owned();
        assert_eq!(out, "redirect to /login?next=[redacted]&x=1");
        // Lowercase escapes too.
        let lower = encoded.replace("%2F", "%2f").replace("%3A", "%3a");
        assert!(!r.redact(&lower).contains(TOKEN));

        // A secret with reserved characters, printed decoded or encoded.
        let r = Redactor::from_secrets(["p@ss w0rd/with%2Fslash"]);
        assert_eq!(r.redact("pw p@ss w0rd/with/slash"), "pw [redacted]");
        assert_eq!(
            r.redact("pw p%40ss%20w0rd%2Fwith%252Fslash"),
            "pw [redacted]"
        );
        assert_eq!(r.redact("pw p@ss%20w0rd/with%2Fslash"), "pw [redacted]");
    }

    #[test]
    fn several_secrets_and_overlaps_are_replaced_once_each() {
        let r = Redactor::from_secrets([SLACK, "smtp-password-1", "0123456789abcdef"]);
        let text =
            format!("a {SLACK} b smtp-password-1 c 0123456789abcdef d {SLACK}smtp-password-1");
        let out = r.redact(&text);
        assert_eq!(
            out,
            "a [redacted] b [redacted] c [redacted] d [redacted][redacted]"
        );
        for s in [TOKEN, "smtp-password-1", "0123456789abcdef", "T0123ABCD"] {
            assert!(!out.contains(s), "{s} in {out}");
        }
    }

    #[test]
    fn user_information_in_a_url_is_a_secret() {
        let r = Redactor::from_secrets(["https://alice:Sup3rSecret@relay.example/"]);
        assert_eq!(
            r.redact("auth Sup3rSecret refused for alice:Sup3rSecret"),
            "auth [redacted] refused for [redacted]"
        );
    }

    #[test]
    fn short_values_are_not_looked_for() {
        let r = Redactor::from_secrets(["abc", ""]);
        assert!(r.is_empty());
        assert_eq!(r.redact("abc abc"), "abc abc");
    }

    #[test]
    fn secrets_print_redacted_and_register_globally() {
        let s = Secret::new("global-secret-value-42");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "global-secret-value-42");
        assert_eq!(redact("x global-secret-value-42 y"), "x [redacted] y");
    }
}
