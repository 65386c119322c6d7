//! The daily review sent by the watch (`[review]`): a poll after `at` mails yesterday's review
//! (text and HTML) to an SMTP receiver and posts it to a Slack-style HTTP receiver, both real
//! servers on loopback; once per day and sink, a failing sink tried again at the next poll
//! without sending twice to the other. The clock is the watch's injectable one: the morning
//! comes without waiting for it.

#[path = "../../trailwatch-sink/tests/common/mod.rs"]
mod receivers;

use receivers::{http_receiver, lock, smtp_receiver, Mail};
use std::path::Path;
use trailwatch_watch::{Config, Watcher};

/// A principal a attacker chose: it must reach the HTML mail and Slack inert.
const HOSTILE: &str = "arn:aws:iam::123456789012:user/<img src=x onerror=alert(1)>";

fn ms(t: &str) -> i64 {
    trailwatch_decode::time::parse_ms(t).expect("time")
}

/// A local folder holding one CloudTrail file of 2026-11-20, by the hostile principal.
fn inbox(dir: &Path) {
    let record = |id: &str, t: &str, name: &str| {
        serde_json::json!({
            "eventVersion": "1.08", "eventID": id, "eventTime": t, "eventName": name,
            "eventSource": "s3.amazonaws.com", "awsRegion": "eu-west-1",
            "sourceIPAddress": "198.51.100.7", "recipientAccountId": "123456789012",
            "userIdentity": {"type": "IAMUser", "arn": HOSTILE, "accountId": "123456789012",
                             "principalId": "AIDAEXAMPLE", "userName": "<img src=x onerror=alert(1)>"}
        })
    };
    let records = serde_json::json!({"Records": [
        record("e-1", "2026-11-20T10:00:00Z", "ListBuckets"),
        record("e-2", "2026-11-20T11:00:00Z", "GetBucketAcl"),
    ]});
    std::fs::write(dir.join("trail.json"), records.to_string()).expect("write trail");
}

/// A watch over `inbox` with an SMTP sink, a Slack sink (URL in `slack_env`) and `[review]`.
fn watcher(
    root: &Path,
    smtp_port: u16,
    slack_env: &str,
    clock: &std::sync::Arc<std::sync::atomic::AtomicI64>,
) -> Watcher {
    let store = root.join("store");
    let logs = root.join("inbox");
    let text = format!(
        r#"
[store]
dir = {store:?}
signing_key = {key:?}
[[sources]]
name = "inbox"
kind = "local"
path = {logs:?}
[[sinks]]
name = "mail"
kind = "smtp"
host = "127.0.0.1"
port = {smtp_port}
from = "trailwatch@example.org"
to = ["soc@example.org"]
[[sinks]]
name = "siem"
kind = "syslog"
address = "127.0.0.1:9"
[[sinks]]
name = "slack"
kind = "slack"
url_env = "{slack_env}"
min_severity = "critical"
[review]
at = "07:00"
"#,
        key = root.join("store.key"),
    );
    let config = Config::parse(&text).expect("config");
    let mut w = Watcher::from_config(&config).expect("watcher");
    let dir = trailwatch_watch::store_dir(&config);
    w.set_review(Box::new(move |day| {
        trailwatch_console::review::report(&dir, day).map_err(|e| e.to_string())
    }));
    let c = std::sync::Arc::clone(clock);
    w.set_clock(Box::new(move || {
        c.load(std::sync::atomic::Ordering::SeqCst)
    }));
    w
}

/// Decodes a quoted-printable body.
fn unqp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

/// The decoded body of the part of `mail` whose content type is `kind`.
fn part(mail: &Mail, kind: &str) -> String {
    let at = mail
        .data
        .find(&format!("Content-Type: {kind}"))
        .unwrap_or_else(|| panic!("no {kind} part in {}", mail.data));
    let rest = &mail.data[at..];
    assert!(
        rest.lines()
            .take(3)
            .any(|l| l == "Content-Transfer-Encoding: quoted-printable"),
        "{rest}"
    );
    let body = &rest[rest.find("\r\n\r\n").expect("part body") + 4..];
    let end = body.find("\r\n--").unwrap_or(body.len());
    unqp(&body[..end])
}

fn setup() -> (
    tempfile::TempDir,
    std::sync::Arc<std::sync::atomic::AtomicI64>,
) {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("inbox")).expect("inbox");
    inbox(&root.path().join("inbox"));
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(ms(
        "2026-11-21T06:59:00Z",
    )));
    (root, clock)
}

fn set(clock: &std::sync::atomic::AtomicI64, t: &str) {
    clock.store(ms(t), std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn a_morning_poll_sends_yesterdays_review_once_by_mail_and_slack_escaped() {
    let (smtp, mails) = smtp_receiver(0);
    let (http, posts) = http_receiver(0);
    std::env::set_var(
        "TW_TEST_REVIEW_SLACK_1",
        format!("http://{}/services/T/B/X", http.addr),
    );
    let (root, clock) = setup();
    let mut w = watcher(
        root.path(),
        smtp.addr.port(),
        "TW_TEST_REVIEW_SLACK_1",
        &clock,
    );

    // Before 07:00 the review of the 19th was due (the latest slot): a first watch sends it.
    let r = w.poll().expect("poll");
    assert!(r.events_added >= 2, "{r:?}");
    assert_eq!(r.reports_sent, 2, "{r:?}");
    set(&clock, "2026-11-21T08:00:00Z");
    let r = w.poll().expect("poll");
    assert_eq!(r.reports_sent, 2, "{r:?}");
    assert_eq!(lock(&mails).mails.len(), 2);
    let mail = lock(&mails).mails[1].clone();
    assert!(
        mail.data
            .contains("Subject: [trailwatch] Daily review of 2026-11-20 (UTC)"),
        "{}",
        mail.data
    );
    assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
    assert!(
        mail.data
            .contains("Message-ID: <review-2026-11-20@trailwatch>"),
        "{}",
        mail.data
    );
    let text = part(&mail, "text/plain");
    assert!(text.contains("New principals: 1"), "{text}");
    assert!(
        text.contains(HOSTILE),
        "plain text keeps the value, shown: {text}"
    );
    let html = part(&mail, "text/html");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<h2>New principals (1)</h2>"), "{html}");
    assert!(
        html.contains("user/&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");

    let posts_now = lock(&posts).accepted.clone();
    assert_eq!(
        posts_now.len(),
        2,
        "the Slack route's min_severity does not apply to the review"
    );
    let body: serde_json::Value = serde_json::from_slice(&posts_now[1].body).expect("json");
    assert_eq!(body["text"], "Daily review of 2026-11-20 (UTC)");
    let blocks = body["blocks"].to_string();
    assert!(
        blocks.contains("user/&lt;img src=x onerror=alert(1)&gt;"),
        "{blocks}"
    );
    assert!(!blocks.contains("<img"), "{blocks}");

    // Later that day, and after a restart: nothing again.
    set(&clock, "2026-11-21T23:59:00Z");
    assert_eq!(w.poll().expect("poll").reports_sent, 0);
    drop(w);
    let mut w = watcher(
        root.path(),
        smtp.addr.port(),
        "TW_TEST_REVIEW_SLACK_1",
        &clock,
    );
    assert_eq!(w.poll().expect("poll").reports_sent, 0);
    assert_eq!(
        (lock(&mails).mails.len(), lock(&posts).accepted.len()),
        (2, 2)
    );

    // Down for days: the latest day's review, once, not one per missed day.
    set(&clock, "2026-11-25T09:30:00Z");
    assert_eq!(w.poll().expect("poll").reports_sent, 2);
    assert_eq!(w.poll().expect("poll").reports_sent, 0);
    let mails = lock(&mails).mails.clone();
    assert_eq!(mails.len(), 3);
    assert!(
        mails[2].data.contains("Daily review of 2026-11-24"),
        "{}",
        mails[2].data
    );
}

#[test]
fn a_failing_sink_is_tried_again_at_the_next_poll_and_the_other_not_sent_twice() {
    let (smtp, mails) = smtp_receiver(1);
    let (http, posts) = http_receiver(0);
    std::env::set_var(
        "TW_TEST_REVIEW_SLACK_2",
        format!("http://{}/services/T/B/Y", http.addr),
    );
    let (root, clock) = setup();
    set(&clock, "2026-11-21T07:00:00Z");
    let mut w = watcher(
        root.path(),
        smtp.addr.port(),
        "TW_TEST_REVIEW_SLACK_2",
        &clock,
    );

    let r = w.poll().expect("poll");
    assert_eq!(r.reports_sent, 1, "{r:?}");
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("daily review of 2026-11-20 to sink mail")),
        "{:?}",
        r.problems
    );
    assert_eq!(
        (lock(&mails).mails.len(), lock(&posts).accepted.len()),
        (0, 1)
    );

    set(&clock, "2026-11-21T07:00:05Z");
    let r = w.poll().expect("poll");
    assert_eq!(r.reports_sent, 1, "{r:?}");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        (lock(&mails).mails.len(), lock(&posts).accepted.len()),
        (1, 1)
    );
    assert!(lock(&mails).mails[0]
        .data
        .contains("Daily review of 2026-11-20"));

    assert_eq!(w.poll().expect("poll").reports_sent, 0);
    assert_eq!(
        (lock(&mails).mails.len(), lock(&posts).accepted.len()),
        (1, 1)
    );
}
