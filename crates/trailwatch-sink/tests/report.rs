//! Reports (the daily review) through the sinks that carry them, against real receivers on
//! loopback: a signed webhook POST, a JSON line, and a clear refusal from syslog. The SMTP and
//! Slack forms are tested end to end with the watch (trailwatch-console, tests/review_sinks.rs).

mod common;

use common::{http_receiver, lock, syslog_receiver};
use std::time::Duration;
use trailwatch_sink::sinks::{sign, slack_report_payload, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};
use trailwatch_sink::{
    Dispatcher, JsonlSink, Outbox, Report, Route, RoutedSink, SinkConfig, SyslogBody, SyslogConfig,
    SyslogSink, WebhookSink,
};

const SECRET: &[u8] = b"s3cret-shared-with-the-receiver";

fn report() -> Report {
    Report {
        id: "review-2026-11-20".into(),
        subject: "Daily review of 2026-11-20 (UTC)".into(),
        text: "New principals: 1\n  user/<img src=x onerror=alert(1)> <!here>\n".into(),
        html: "<h2>New principals (1)</h2><p>user/&lt;img src=x&gt;</p>".into(),
    }
}

fn dispatcher(sinks: Vec<RoutedSink>) -> Dispatcher {
    Dispatcher::new(Outbox::open_in_memory().expect("outbox"), sinks).expect("dispatcher")
}

#[test]
fn a_webhook_gets_the_report_as_signed_json_with_its_id_as_idempotency_key() {
    let (server, log) = http_receiver(1);
    let url = format!("http://{}/hook", server.addr);
    let sink = WebhookSink::new("hook", url, SECRET).with_timeout(Duration::from_secs(5));
    let d = dispatcher(vec![RoutedSink::new(sink, Route::default())]);
    let e = d
        .send_report("hook", &report())
        .expect_err("first answer is a 500");
    assert!(e.contains("500"), "{e}");
    d.send_report("hook", &report()).expect("taken");
    let log = lock(&log);
    assert_eq!((log.requests, log.accepted.len()), (2, 1));
    let req = &log.accepted[0];
    let body: serde_json::Value = serde_json::from_slice(&req.body).expect("json");
    assert_eq!(body["kind"], "report");
    assert_eq!(body["id"], "review-2026-11-20");
    assert_eq!(body["text"], report().text);
    assert_eq!(body["html"], report().html);
    let expected = sign(SECRET, &req.body).expect("sign");
    assert_eq!(req.header(SIGNATURE_HEADER), Some(expected.as_str()));
    assert_eq!(req.header(IDEMPOTENCY_HEADER), Some("review-2026-11-20"));
}

#[test]
fn a_jsonl_file_gets_one_line_and_syslog_refuses_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.jsonl");
    let (server, frames) = syslog_receiver();
    let syslog = SyslogSink::new(
        "siem",
        SyslogConfig::new(server.addr.to_string(), SyslogBody::Cef),
    )
    .expect("syslog");
    let d = dispatcher(vec![
        RoutedSink::new(JsonlSink::new("file", &path), Route::default()),
        RoutedSink::new(syslog, Route::default()),
    ]);
    d.send_report("file", &report()).expect("written");
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).expect("json line");
    assert_eq!(
        (line["kind"].as_str(), line["subject"].as_str()),
        (Some("report"), Some("Daily review of 2026-11-20 (UTC)"))
    );
    let e = d.send_report("siem", &report()).expect_err("syslog");
    assert!(e.contains("cannot carry a report"), "{e}");
    let e = d.send_report("nowhere", &report()).expect_err("unknown");
    assert!(e.contains("no sink named"), "{e}");
    drop(server);
    assert!(lock(&frames).is_empty());
}

#[test]
fn every_kind_but_syslog_carries_reports_and_slack_text_is_escaped_and_cut() {
    let kinds = [
        ("kind = \"webhook\"\nurl = \"http://x\"", true),
        ("kind = \"slack\"\nurl_env = \"X\"", true),
        (
            "kind = \"smtp\"\nhost = \"h\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]",
            true,
        ),
        ("kind = \"jsonl\"\npath = \"/x\"", true),
        ("kind = \"syslog\"\naddress = \"127.0.0.1:514\"", false),
    ];
    for (keys, carries) in kinds {
        let t: toml::Table = toml::from_str(&format!("name = \"s\"\n{keys}")).expect("toml");
        let c = SinkConfig::try_from(t).expect("sink");
        assert_eq!(c.kind.carries_reports(), carries, "{keys}");
    }
    let mut long = report();
    long.text = "x <@U1> &\n".repeat(2000);
    let v = slack_report_payload(&long);
    let blocks = v["blocks"].as_array().expect("blocks");
    assert!(blocks.len() > 2 && blocks.len() <= 50, "{}", blocks.len());
    for b in blocks {
        let t = b["text"]["text"].as_str().expect("text");
        assert!(t.chars().count() <= 3000, "{}", t.len());
        assert!(!t.contains('<') && !t.contains("& "), "{t}");
    }
    let short = slack_report_payload(&report()).to_string();
    assert!(
        short.contains("&lt;img src=x onerror=alert(1)&gt; &lt;!here&gt;"),
        "{short}"
    );
}
