//! Making attacker-controlled log text safe on each surface it reaches.
//!
//! Every field of an audit record can be chosen by whoever made the call (`userAgent`,
//! resource names, request parameters). Printed raw, an ANSI sequence can rewrite the analyst's
//! terminal and a leading `=` becomes a spreadsheet formula; these functions neutralise both.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as is: C0/C1 controls, DEL, and the Unicode
/// bidirectional overrides that can make text read differently from what it is.
fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Text for a terminal: control characters become visible escapes (`\n`, `\x1b`, `\u{202e}`).
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_for_terminal) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && is_unsafe_for_terminal(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_unsafe_for_terminal(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A CSV cell that a spreadsheet will not run: cells starting with `=`, `+`, `-`, `@`, tab or
/// carriage return get a leading apostrophe (the csv writer does the quoting).
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_controls_and_bidi() {
        assert_eq!(terminal("plain ünï"), "plain ünï");
        assert_eq!(terminal("a\x1b[31mred\x07"), "a\\x1b[31mred\\x07");
        assert_eq!(terminal("line\nbreak\ttab"), "line\\nbreak\\ttab");
        assert_eq!(terminal("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(terminal("c1\u{9b}31m"), "c1\\x9b31m");
    }

    #[test]
    fn csv_neutralises_formulas() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-1+1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(bad).starts_with('\''), "{bad}");
        }
        assert_eq!(csv_cell("AssumeRole"), "AssumeRole");
        assert_eq!(csv_cell(""), "");
    }
}
