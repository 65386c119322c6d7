//! ArcSight Common Event Format for one alert.

use chrono::DateTime;
use trailwatch_escape::terminal;
use trailwatch_model::{Alert, Severity};

/// Escapes a CEF header field: hidden characters shown escaped first (the one policy,
/// [`trailwatch_escape::terminal`], so no line break can end the event), then `\` and `|`.
fn header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in terminal(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a CEF extension value: hidden characters shown escaped first, then `\` and `=`.
fn ext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in terminal(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            c => out.push(c),
        }
    }
    out
}

/// CEF's 0–10 severity.
fn cef_severity(s: Severity) -> u8 {
    match s {
        Severity::Informational => 1,
        Severity::Low => 3,
        Severity::Medium => 5,
        Severity::High => 8,
        Severity::Critical => 10,
    }
}

/// Milliseconds since the epoch, CEF's time format, when `rfc3339` parses.
fn millis(rfc3339: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_millis().to_string())
}

fn push(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(key);
    out.push('=');
    out.push_str(&ext(value));
}

fn extensions(alert: &Alert) -> String {
    let mut out = String::new();
    push(&mut out, "externalId", &alert.id);
    push(&mut out, "cat", alert.provider.as_str());
    push(&mut out, "suser", &alert.principal);
    if let Some(ip) = alert.source_ips.first() {
        push(&mut out, "src", ip);
    }
    push(&mut out, "act", &alert.actions.join(","));
    if let Some(ms) = millis(&alert.first_seen) {
        push(&mut out, "start", &ms);
    }
    if let Some(ms) = millis(&alert.last_seen) {
        push(&mut out, "end", &ms);
    }
    push(&mut out, "cnt", &alert.count.to_string());
    let custom = [
        ("account", alert.account.clone().unwrap_or_default()),
        ("region", alert.region.clone().unwrap_or_default()),
        ("resources", alert.resources.join(",")),
        ("tags", alert.tags.join(",")),
        ("sourceIps", alert.source_ips.join(",")),
        ("eventIds", alert.event_ids.join(",")),
    ];
    for (n, (label, value)) in custom.iter().enumerate() {
        push(&mut out, &format!("cs{}Label", n + 1), label);
        push(&mut out, &format!("cs{}", n + 1), value);
    }
    push(&mut out, "msg", &alert.description);
    out
}

/// `CEF:0|trailwatch|trailwatch|<version>|<rule id>|<title>|<0-10>|<extensions>`.
pub fn cef_line(alert: &Alert) -> String {
    format!(
        "CEF:0|trailwatch|trailwatch|{}|{}|{}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        header(&alert.rule_id),
        header(&alert.title),
        cef_severity(alert.severity),
        extensions(alert)
    )
}

#[cfg(test)]
mod tests {
    use super::{ext, header};

    #[test]
    fn header_and_extension_escaping() {
        assert_eq!(header(r"a|b\c"), r"a\|b\\c");
        assert_eq!(header("x\ny\x1b[2J"), r"x\\ny\\x1b[2J");
        assert_eq!(ext("a=b\\c\nd|e\u{202e}"), r"a\=b\\c\\nd|e\\u{202e}");
    }
}
