//! Syslog (RFC 5424 over TCP, octet-counted) with CEF and JSON bodies against a real collector.

mod common;

use common::{alert, lock, syslog_receiver};
use trailwatch_model::{Alert, Severity};
use trailwatch_sink::{Sink, SyslogBody, SyslogConfig, SyslogSink};

const EVIL: &str = "evil|title=x\\y\n<script>alert(1)</script>";

fn wait_for(log: &std::sync::Mutex<Vec<String>>, n: usize) -> Vec<String> {
    for _ in 0..400 {
        if lock(log).len() >= n {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    lock(log).clone()
}

#[test]
fn cef_body_escapes_attacker_controlled_fields() {
    let (server, log) = syslog_receiver();
    let mut config = SyslogConfig::new(server.addr.to_string(), SyslogBody::Cef);
    config.hostname = "watch host".to_string();
    let sink = SyslogSink::new("siem", config).expect("sink");
    let mut a = alert("c1", Severity::Critical, EVIL);
    a.description = EVIL.to_string();
    sink.send(&a).expect("send");

    let msgs = wait_for(&log, 1);
    assert_eq!(msgs.len(), 1);
    let msg = &msgs[0];
    // <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG; authpriv(10)*8 + crit(2).
    let parts: Vec<&str> = msg.splitn(8, ' ').collect();
    assert_eq!(parts.len(), 8, "{msg}");
    assert_eq!(parts[0], "<82>1");
    assert!(
        chrono::DateTime::parse_from_rfc3339(parts[1]).is_ok(),
        "{}",
        parts[1]
    );
    assert_eq!(parts[2], "watch_host");
    assert_eq!(parts[3], "trailwatch");
    assert_eq!(parts[4], std::process::id().to_string());
    assert_eq!(parts[5], "cef");
    assert_eq!(parts[6], "-");
    let cef = parts[7];
    assert!(
        !cef.contains('\n'),
        "a raw newline would split the event: {cef:?}"
    );

    let header = split_unescaped(cef, '|', 7);
    assert_eq!(
        header.len(),
        8,
        "seven header fields and the extensions: {cef}"
    );
    assert_eq!(header[0], "CEF:0");
    assert_eq!(header[4], "aws_cloudtrail_stop_logging");
    // The newline is shown as `\n` (its backslash escaped for CEF), never obeyed.
    assert_eq!(
        header[5],
        "evil\\|title=x\\\\y\\\\n<script>alert(1)</script>"
    );
    assert_eq!(header[6], "10");
    let ext = header[7];
    assert!(
        ext.contains("msg=evil|title\\=x\\\\y\\\\n<script>alert(1)</script>"),
        "{ext}"
    );
    assert!(ext.contains("externalId=c1 "));
    assert!(ext.contains("suser=arn:aws:iam::123456789012:user/mallory "));
    assert!(ext.contains("cs2Label=region cs2=eu-west-1 "));
    // Every unescaped `=` in the extensions separates one key from its value.
    let chunks = split_unescaped(ext, '=', usize::MAX);
    let keys: Vec<&str> = chunks[..chunks.len() - 1]
        .iter()
        .map(|chunk| chunk.rsplit(' ').next().unwrap_or(""))
        .collect();
    assert!(
        keys.iter()
            .all(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric())),
        "{keys:?}"
    );
    assert!(keys.contains(&"msg") && keys.contains(&"cnt"));
}

#[test]
fn json_body_round_trips_the_alert() {
    let (server, log) = syslog_receiver();
    let sink = SyslogSink::new(
        "siem-json",
        SyslogConfig::new(server.addr.to_string(), SyslogBody::Json),
    )
    .expect("sink");
    let a = alert("j1", Severity::Low, EVIL);
    let b = alert("j2", Severity::Medium, "second");
    sink.send(&a).expect("send");
    sink.send(&b).expect("send");
    let msgs = wait_for(&log, 2);
    assert_eq!(msgs.len(), 2);
    // authpriv(10)*8 + notice(5) = 85.
    assert!(msgs[0].starts_with("<85>1 "));
    assert!(msgs[1].starts_with("<84>1 "));
    let json = msgs[0].splitn(8, ' ').nth(7).expect("msg");
    let back: Alert = serde_json::from_str(json).expect("json body");
    assert_eq!(back, a);
}

#[test]
fn bad_facility_and_unreachable_collector_fail() {
    let mut c = SyslogConfig::new("127.0.0.1:1", SyslogBody::Cef);
    c.facility = 24;
    assert!(SyslogSink::new("x", c.clone()).is_err());
    c.facility = 4;
    let sink = SyslogSink::new("x", c).expect("sink");
    assert!(sink.send(&alert("u", Severity::High, "t")).is_err());
}

/// Splits on the first `max` occurrences of `sep` not preceded by an escaping backslash.
fn split_unescaped(s: &str, sep: char, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep && out.len() < max {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}
