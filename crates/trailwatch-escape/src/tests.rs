use super::*;
use proptest::prelude::*;

#[test]
fn terminal_shows_controls_and_bidi() {
    assert_eq!(terminal("plain"), "plain");
    assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
    assert_eq!(terminal("a\nb\x1b[31m"), "a\\nb\\x1b[31m");
    assert_eq!(terminal("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
    assert_eq!(
        terminal("\x1b]8;;http://evil\x07"),
        "\\x1b]8;;http://evil\\x07"
    );
    assert_eq!(terminal("a\u{9b}2J"), "a\\x9b2J");
    assert_eq!(
        terminal("zero\u{200b}width\u{feff}"),
        "zero\\u{200b}width\\u{feff}"
    );
    assert_eq!(terminal("line\u{2028}sep"), "line\\u{2028}sep");
    assert_eq!(terminal("naïve café ✓"), "naïve café ✓");
}

#[test]
fn csv_cells_are_neutralised_after_leading_white_space() {
    for bad in [
        "=cmd|' /C calc'!A0",
        "+1",
        "-2+3",
        "@SUM(A1)",
        " =1+1",
        "\u{a0}=1",
        "\u{2003}@x",
    ] {
        let cell = csv_cell(bad);
        assert!(cell.starts_with('\''), "{bad:?} gave {cell:?}");
    }
    // A newline or tab in front is shown escaped, so the cell starts with a backslash.
    assert_eq!(csv_cell("\n=1+1"), "\\n=1+1");
    assert_eq!(csv_cell("\t=1"), "\\t=1");
    assert_eq!(csv_cell("\x1b[2J=x"), "\\x1b[2J=x");
    for fine in ["", "alice", "a=b", "'quoted", "1-2", "x @y"] {
        assert_eq!(csv_cell(fine), fine);
    }
}

#[test]
fn markdown_html_and_chat_neutralise_markup() {
    assert_eq!(markdown("a|b`c\u{202e}"), "a\\|b\\`c\\u{202e}");
    assert_eq!(markdown("[x](http://e)"), "\\[x\\](http://e)");
    assert_eq!(
        html("<img src=x onerror='a'>&\x1b"),
        "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;\\x1b"
    );
    assert_eq!(
        chat("<!channel> & \u{202e}"),
        "&lt;!channel&gt; &amp; \\u{202e}"
    );
}

#[test]
fn multi_line_keeps_line_feeds_only() {
    assert_eq!(multi_line("a\nb\r\x1b[2J"), "a\nb\\r\\x1b[2J");
}

#[test]
fn shell_words_stay_inert_and_visible() {
    assert_eq!(shell_word("a'b"), "'a'\\''b'");
    assert_eq!(shell_word("$(id)`x`"), "'$(id)`x`'");
    assert_eq!(shell_word("a\nb"), "$'a\\x0ab'");
    assert_eq!(shell_word("x\x1b[2J'\\"), "$'x\\x1b[2J\\'\\\\'");
    assert_eq!(shell_word("\u{202e}"), "$'\\u202e'");
}

/// Text with a generous share of the characters every surface must handle.
fn hostile_text() -> impl Strategy<Value = String> {
    let pick = prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            '\x1b', '\n', '\r', '\t', '\x07', '\u{9b}', '\u{202e}', '\u{2066}', '\u{200b}',
            '\u{a0}', ' ', '=', '+', '-', '@', '\'', '"', '\\', '<', '>', '&', '|', '`', '$', '[',
            ']', '#',
        ]),
    ];
    prop::collection::vec(pick, 0..40).prop_map(|v| v.into_iter().collect())
}

fn no_hidden(s: &str) -> bool {
    !s.chars().any(is_hidden)
}

/// Undoes [`terminal`]: escapes read back into the characters they stand for.
fn unescape_terminal(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("\\n") {
            out.push('\n');
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("\\r") {
            out.push('\r');
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("\\t") {
            out.push('\t');
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("\\x") {
            let v = u32::from_str_radix(&tail[..2], 16).unwrap();
            out.push(char::from_u32(v).unwrap());
            rest = &tail[2..];
        } else if let Some(tail) = rest.strip_prefix("\\u{") {
            let end = tail.find('}').unwrap();
            let v = u32::from_str_radix(&tail[..end], 16).unwrap();
            out.push(char::from_u32(v).unwrap());
            rest = &tail[end + 1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_surface_lets_a_hidden_character_through(s in hostile_text()) {
        prop_assert!(no_hidden(&terminal(&s)));
        prop_assert!(no_hidden(&csv_cell(&s)));
        prop_assert!(no_hidden(&markdown(&s)));
        prop_assert!(no_hidden(&html(&s)));
        prop_assert!(no_hidden(&chat(&s)));
        prop_assert!(no_hidden(&shell_word(&s)));
        prop_assert!(no_hidden(&one_line(&s)));
    }

    #[test]
    fn terminal_text_reads_back_when_it_holds_no_backslash(s in hostile_text()) {
        let s = s.replace('\\', "");
        prop_assert_eq!(unescape_terminal(&terminal(&s)), s);
    }

    #[test]
    fn no_csv_cell_starts_a_formula(s in hostile_text()) {
        let cell = csv_cell(&s);
        let first = cell.chars().find(|c| !c.is_whitespace());
        prop_assert!(!matches!(first, Some('=' | '+' | '-' | '@')), "{:?}", cell);
    }

    #[test]
    fn html_and_chat_hold_no_markup(s in hostile_text()) {
        let h = html(&s);
        prop_assert!(!h.contains(['<', '>', '"', '\'']));
        let c = chat(&s);
        prop_assert!(!c.contains(['<', '>']));
    }

    #[test]
    fn markdown_specials_are_always_escaped(s in hostile_text()) {
        let m = markdown(&s);
        let mut chars = m.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                chars.next();
                continue;
            }
            prop_assert!(!matches!(c, '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#'), "{:?}", m);
        }
    }
}

/// The shell round trip: bash reads every quoted word back as the exact text.
#[test]
fn bash_reads_shell_words_back_exactly() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let words = prop::collection::vec(hostile_text(), 1..8);
    runner
        .run(&words, |words| {
            let words: Vec<String> = words.into_iter().filter(|w| !w.contains('\0')).collect();
            let script = format!(
                "for w in {}; do printf '%s\\0' \"$w\"; done",
                words
                    .iter()
                    .map(|w| shell_word(w))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(&script)
                .env("LC_ALL", "C.UTF-8")
                .output()
                .expect("bash runs");
            prop_assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got: Vec<String> = String::from_utf8(out.stdout)
                .expect("utf-8 back")
                .split_terminator('\0')
                .map(str::to_string)
                .collect();
            prop_assert_eq!(got, words);
            Ok(())
        })
        .expect("every word round-trips through bash");
}

#[test]
fn url_components_keep_only_unreserved_bytes() {
    assert_eq!(url_component("alice-1.x_y~"), "alice-1.x_y~");
    assert_eq!(
        url_component("javascript:alert(1)"),
        "javascript%3Aalert%281%29"
    );
    assert_eq!(url_component("a b&c=\"<'>"), "a%20b%26c%3D%22%3C%27%3E");
    assert_eq!(url_component("é\n"), "%C3%A9%0A");
}

proptest! {
    #[test]
    fn url_components_are_inert_in_html_attributes(s in any::<String>()) {
        let e = url_component(&s);
        prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
    }
}
