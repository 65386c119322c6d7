//! Tables for people: columns sized to their content, shrunk to fit the terminal, every cell
//! escaped, colour only on a terminal.

use std::borrow::Cow;
use trailwatch_escape as escape;
use unicode_width::UnicodeWidthStr;

/// A column: its header and how far it may shrink.
pub struct Column {
    pub header: &'static str,
    pub min: usize,
    /// Whether this column gives up width first when the table is too wide.
    pub flexible: bool,
}

impl Column {
    /// A column that keeps its width.
    pub const fn fixed(header: &'static str, min: usize) -> Column {
        Column {
            header,
            min,
            flexible: false,
        }
    }

    /// A column that gives up width, down to `min`, when the table is too wide.
    pub const fn flex(header: &'static str, min: usize) -> Column {
        Column {
            header,
            min,
            flexible: true,
        }
    }
}

/// How to paint a row.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    None,
    Red,
    BoldRed,
    Yellow,
    Cyan,
    Dim,
}

impl Paint {
    fn code(self) -> &'static str {
        match self {
            Paint::None => "",
            Paint::Red => "\x1b[31m",
            Paint::BoldRed => "\x1b[1;31m",
            Paint::Yellow => "\x1b[33m",
            Paint::Cyan => "\x1b[36m",
            Paint::Dim => "\x1b[2m",
        }
    }
}

fn truncate(s: &str, width: usize) -> Cow<'_, str> {
    if s.width() <= width {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    Cow::Owned(out)
}

/// Renders `rows` (cells already escaped or not: they are escaped here) under `columns`.
/// `max_width`: the terminal's width, or `None` to never truncate. `color`: paint rows.
pub fn render(
    columns: &[Column],
    rows: &[(Paint, Vec<String>)],
    max_width: Option<usize>,
    color: bool,
) -> String {
    let cells: Vec<(Paint, Vec<String>)> = rows
        .iter()
        .map(|(p, r)| {
            (
                *p,
                r.iter().map(|c| escape::terminal(c).into_owned()).collect(),
            )
        })
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.header.width()).collect();
    for (_, r) in &cells {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.width());
            }
        }
    }
    if let Some(max) = max_width {
        shrink(columns, &mut widths, max);
    }
    let mut out = String::new();
    let header: Vec<String> = columns
        .iter()
        .zip(&widths)
        .map(|(c, w)| format!("{:<w$}", c.header, w = *w))
        .collect();
    let line = header.join("  ");
    if color {
        out.push_str(&format!("\x1b[1m{}\x1b[0m\n", line.trim_end()));
    } else {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    for (paint, r) in &cells {
        let parts: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| {
                let t = truncate(c, *w);
                let pad = w.saturating_sub(t.width());
                format!("{t}{}", " ".repeat(pad))
            })
            .collect();
        let text = parts.join("  ");
        let text = text.trim_end();
        if color && *paint != Paint::None {
            out.push_str(&format!("{}{}\x1b[0m\n", paint.code(), text));
        } else {
            out.push_str(text);
            out.push('\n');
        }
    }
    out
}

/// Takes width from flexible columns (widest first) until the row fits in `max`.
fn shrink(columns: &[Column], widths: &mut [usize], max: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    while total(widths) > max {
        let widest = widths
            .iter()
            .enumerate()
            .filter(|(i, w)| columns[*i].flexible && **w > columns[*i].min)
            .max_by_key(|(_, w)| **w)
            .map(|(i, _)| i);
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_width_and_escapes() {
        let cols = [
            Column {
                header: "A",
                min: 3,
                flexible: false,
            },
            Column {
                header: "TITLE",
                min: 5,
                flexible: true,
            },
        ];
        let rows = vec![(
            Paint::Red,
            vec![
                "x".to_string(),
                "a very long title \x1b[2J that goes on".to_string(),
            ],
        )];
        let out = render(&cols, &rows, Some(20), false);
        for line in out.lines() {
            assert!(line.width() <= 20, "{line:?}");
        }
        assert!(!out.contains('\x1b'));
        let colored = render(&cols, &rows, None, true);
        assert!(colored.contains("\x1b[31m") && colored.contains("\\x1b[2J"));
    }
}
