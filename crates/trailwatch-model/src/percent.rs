//! Decoding URL-encoded text (`%XX` escapes): S3 object keys in notifications and listings,
//! URL-encoded IAM policy documents, secrets as clients print them inside URLs.
//!
//! An escape is `%` and two hex digits; anything else (a lone `%`, `%zz`, `%4` at the end) is
//! kept as it is.

use percent_encoding::percent_decode_str;

/// `s` with its `%XX` escapes decoded; `None` when the bytes decoded are not UTF-8.
pub fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|t| t.into_owned())
}

/// `s` decoded as an HTML form value (`application/x-www-form-urlencoded`, S3's
/// `encoding-type=url`): `+` is a space, `%XX` a byte; bytes that are not UTF-8 become U+FFFD.
pub fn form_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_decoded_and_bad_escapes_kept() {
        assert_eq!(form_decode("a%2Fb+c"), "a/b c");
        assert_eq!(form_decode("a%2Bb"), "a+b");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
        // A sign is not a hex digit: `%+A` is no escape (and its `+` a space).
        assert_eq!(form_decode("%+A"), "% A");
        assert_eq!(form_decode("%E2%82%AC"), "€");
        assert_eq!(form_decode("%FF"), "\u{fffd}");
    }

    #[test]
    fn plain_decoding_keeps_plus_and_refuses_what_is_not_utf8() {
        assert_eq!(decode("a%2Fb+c").as_deref(), Some("a/b+c"));
        assert_eq!(decode("%E2%82%AC").as_deref(), Some("€"));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("%-1").as_deref(), Some("%-1"));
        assert_eq!(decode("%FF"), None);
    }
}
