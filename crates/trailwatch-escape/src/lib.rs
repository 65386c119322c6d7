//! The one escaping policy for attacker-controlled text, on every surface trailwatch writes.
//!
//! Every field of an audit record, and every object key, is chosen by whoever the logs are
//! about, the intruder included. Printed raw, an ANSI/OSC sequence rewrites the analyst's
//! terminal, a bidirectional override makes `exe.txt` read as `txt.exe`, a newline forges a log
//! line or a mail header, and a leading `=` becomes a spreadsheet formula.
//!
//! The policy, the same on each surface: every character that is invisible or that changes how
//! the text around it is shown ([`is_hidden`]) is written as a visible escape (`\n`, `\x1b`,
//! `\u{202e}`), so the analyst sees that it was there; then the surface's own syntax is
//! neutralised (CSV formulas, Markdown and HTML markup, shell quoting, Slack's `&<>`).

use std::borrow::Cow;

/// Whether `c` is hidden or changes how surrounding text is shown: C0/C1 controls and DEL
/// (ESC starts ANSI and OSC sequences), the bidirectional marks, embeddings, overrides and
/// isolates, zero-width characters, the line and paragraph separators, and the byte-order mark.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Text for a terminal or a log line: hidden characters become visible escapes (`\n`, `\r`,
/// `\t`, `\x1b` below U+0100, `\u{202e}` above). Borrowed when there is nothing to escape.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_visible(&mut out, c);
    }
    Cow::Owned(out)
}

/// Appends `c`, or its visible escape when it is hidden.
fn push_visible(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if !is_hidden(c) => out.push(c),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
}

/// A CSV cell: hidden characters escaped, and an apostrophe in front when a spreadsheet would
/// read the cell as a formula: its first character other than white space (space, no-break
/// space and the other Unicode spaces are skipped by spreadsheets) is `=`, `+`, `-` or `@`.
/// Quoting is the CSV writer's job.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let shown = terminal(s);
    let first = shown.chars().find(|c| !c.is_whitespace());
    if matches!(first, Some('=' | '+' | '-' | '@')) {
        Cow::Owned(format!("'{shown}"))
    } else {
        shown
    }
}

/// Text inside Markdown (a table cell, a list item, a heading): hidden characters escaped and
/// every character that could start markup, a link or a table column backslash-escaped.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '\\' | '~'
        ) {
            out.push('\\');
            out.push(c);
        } else {
            push_visible(&mut out, c);
        }
    }
    out
}

/// Text for HTML, in element content or a quoted attribute: hidden characters escaped, and
/// `&`, `<`, `>`, `"`, `'` written as character references.
pub fn html(s: &str) -> String {
    with_entities(s, true)
}

/// A value for a URL's query or path segment (a console link to a search, say): every byte
/// but the unreserved `A-Z a-z 0-9 - . _ ~` percent-encoded. The result holds none of HTML's
/// special characters and no `:`, so inside an `href` that starts with a path it can neither
/// end the attribute nor make the link another scheme (`javascript:` stays a search term).
pub fn url_component(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Text for Slack's mrkdwn and other chat formats that reserve `&`, `<` and `>`: hidden
/// characters escaped, those three written as `&amp;`, `&lt;`, `&gt;`.
pub fn chat(s: &str) -> String {
    with_entities(s, false)
}

/// `s` with hidden characters escaped and markup characters as references (quotes too when
/// `quotes`).
fn with_entities(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            '\'' if quotes => out.push_str("&#39;"),
            c => push_visible(&mut out, c),
        }
    }
    out
}

/// One word for a bash script or command line, taken literally whatever it holds. Plain text
/// is single-quoted (`'…'`, a quote inside as `'\''`); text with hidden characters uses bash's
/// `$'…'` quoting, where they are written as `\xHH` / `\uHHHH` escapes, so that reading the
/// script shows them and running it passes the exact value.
pub fn shell_word(s: &str) -> String {
    if !s.chars().any(is_hidden) {
        return format!("'{}'", s.replace('\'', "'\\''"));
    }
    use std::fmt::Write;
    let mut out = String::from("$'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if !is_hidden(c) => out.push(c),
            // `\xHH` is a byte to bash: only ASCII may use it; the rest is a code point.
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
    }
    out.push('\'');
    out
}

/// Text for one line of a shell comment, a mail header or any other one-line surface: hidden
/// characters escaped, so that no newline can end the line and start another.
pub fn one_line(s: &str) -> Cow<'_, str> {
    terminal(s)
}

/// Text of several lines (a description, a mail body): each line as [`one_line`] shows it,
/// the line feeds between them kept.
pub fn multi_line(s: &str) -> String {
    s.split('\n').map(terminal).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests;
