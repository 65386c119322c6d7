//! Webhook and Slack delivery through the outbox against real HTTP receivers on loopback.

mod common;

use common::{alert, http_receiver, http_receiver_on, lock};
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailwatch_model::{Alert, Severity};
use trailwatch_sink::sinks::{sign, IDEMPOTENCY_HEADER};
use trailwatch_sink::{
    Backoff, Dispatcher, Enqueued, Outbox, Route, RoutedSink, RunStats, SlackSink, WebhookSink,
};

const SECRET: &[u8] = b"s3cret-shared-with-the-receiver";

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn outbox() -> Outbox {
    Outbox::open_in_memory()
        .expect("outbox")
        .with_backoff(Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(4),
        })
}

/// Runs the dispatcher every 5 simulated seconds until nothing is pending (at most `rounds`).
fn drain(d: &mut Dispatcher, start: u64, rounds: u64) -> (RunStats, u64) {
    let mut total = RunStats::default();
    for round in 0..rounds {
        let now = start + round * 5;
        let s = d.run_once(t(now)).expect("run");
        total.sent += s.sent;
        total.failed += s.failed;
        total.deferred += s.deferred;
        if d.outbox().pending().expect("pending") == 0 {
            return (total, now);
        }
    }
    panic!("deliveries still pending after {rounds} rounds: {total:?}");
}

#[test]
fn failing_receiver_gets_every_alert_exactly_once_signed() {
    let (server, log) = http_receiver(5);
    let url = format!("http://{}/hook", server.addr);
    let sink = WebhookSink::new("hook", url, SECRET).with_timeout(Duration::from_secs(5));
    let mut d = Dispatcher::new(outbox(), vec![RoutedSink::new(sink, Route::default())])
        .expect("dispatcher");
    let alerts: Vec<Alert> = (0..4)
        .map(|i| alert(&format!("a{i}"), Severity::High, &format!("alert {i}")))
        .collect();
    for a in &alerts {
        assert_eq!(d.enqueue(a, t(0)).expect("enqueue"), Enqueued::New);
    }

    let (stats, end) = drain(&mut d, 0, 40);
    assert_eq!(stats.sent, 4);
    assert_eq!(
        stats.failed, 5,
        "each of the five refused requests is one failure"
    );

    let log = lock(&log);
    assert_eq!(log.requests, 9);
    assert_eq!(log.accepted.len(), 4, "exactly once each");
    let mut ids = BTreeSet::new();
    for req in &log.accepted {
        assert_eq!(req.path, "/hook");
        assert_eq!(req.header("content-type"), Some("application/json"));
        let expected = sign(SECRET, &req.body).expect("sign");
        assert_eq!(
            req.header("x-trailwatch-signature"),
            Some(expected.as_str())
        );
        assert_ne!(
            sign(b"wrong secret", &req.body).ok().as_deref(),
            req.header("x-trailwatch-signature")
        );
        let got: Alert = serde_json::from_slice(&req.body).expect("alert json");
        assert!(alerts.contains(&got));
        ids.insert(got.id);
    }
    assert_eq!(ids.len(), 4);
    drop(log);

    // Nothing more is due, however late; the first alert kept its failure history.
    assert!(d.outbox().due(t(end + 86_400)).expect("due").is_empty());
    let first = d.outbox().deliveries("a0").expect("deliveries");
    assert_eq!(first.len(), 1);
    assert!(first[0].attempts >= 1 && first[0].delivered_at.is_some());
}

#[test]
fn an_open_alert_is_not_sent_again() {
    let (server, log) = http_receiver(0);
    let sink = WebhookSink::new("hook", format!("http://{}/", server.addr), SECRET);
    let mut d = Dispatcher::new(outbox(), vec![RoutedSink::new(sink, Route::default())])
        .expect("dispatcher");
    let mut a = alert("same", Severity::Critical, "root login");
    d.enqueue(&a, t(0)).expect("enqueue");
    assert_eq!(d.run_once(t(0)).expect("run").sent, 1);
    a.count = 10;
    a.last_seen = "2026-11-20T11:00:00Z".to_string();
    assert_eq!(
        d.enqueue(&a, t(10)).expect("enqueue"),
        Enqueued::Known(trailwatch_sink::AlertState::Open)
    );
    assert_eq!(d.run_once(t(20)).expect("run"), RunStats::default());
    assert_eq!(lock(&log).accepted.len(), 1);
    // The stored alert was refreshed.
    assert_eq!(d.outbox().get("same").expect("get").alert.count, 10);
}

#[test]
fn routing_by_severity_and_tags() {
    let (server, log) = http_receiver(0);
    let url = format!("http://{}/", server.addr);
    let sinks = vec![
        RoutedSink::new(
            WebhookSink::new("high", url.clone(), SECRET),
            Route::at_least(Severity::High),
        ),
        RoutedSink::new(
            WebhookSink::new("persistence", url, SECRET),
            Route::at_least(Severity::Low).with_tags(["attack.persistence"]),
        ),
    ];
    let mut d = Dispatcher::new(outbox(), sinks).expect("dispatcher");
    let low = alert("low", Severity::Low, "low");
    let mut tagged = alert("tagged", Severity::Medium, "tagged");
    tagged.tags.push("attack.persistence".to_string());
    let crit = alert("crit", Severity::Critical, "crit");
    assert!(d.routes_for(&low).is_empty());
    assert_eq!(d.routes_for(&tagged), ["persistence"]);
    assert_eq!(d.routes_for(&crit), ["high"]);
    for a in [&low, &tagged, &crit] {
        d.enqueue(a, t(0)).expect("enqueue");
    }
    assert_eq!(d.run_once(t(0)).expect("run").sent, 2);
    assert_eq!(lock(&log).accepted.len(), 2);
}

#[test]
fn slack_payload_escapes_attacker_text() {
    let (server, log) = http_receiver(1);
    let sink = SlackSink::new("slack", format!("http://{}/services/T/B/X", server.addr));
    let mut d = Dispatcher::new(outbox(), vec![RoutedSink::new(sink, Route::default())])
        .expect("dispatcher");
    let mut a = alert(
        "s1",
        Severity::High,
        "<!channel> & <https://evil.example|click>",
    );
    a.principal = "user<@U123>".to_string();
    d.enqueue(&a, t(0)).expect("enqueue");
    let (stats, _) = drain(&mut d, 0, 10);
    assert_eq!((stats.sent, stats.failed), (1, 1));

    let log = lock(&log);
    assert_eq!(log.accepted.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&log.accepted[0].body).expect("json");
    let text = body["text"].as_str().expect("text");
    assert!(text.contains("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"));
    let all = body.to_string();
    assert!(
        !all.contains("<!channel>") && !all.contains("<@U123>"),
        "{all}"
    );
    assert!(all.contains("user&lt;@U123&gt;"));
    assert!(body["blocks"].as_array().is_some_and(|b| b.len() == 3));
}

#[test]
fn a_receiver_down_for_ten_minutes_loses_nothing_and_gets_no_duplicate() {
    // A port nobody listens on: connections are refused, as when the receiver is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let sink = WebhookSink::new("hook", url, SECRET).with_timeout(Duration::from_secs(2));
    // The watch's default backoff: 5 s, doubling up to 5 minutes.
    let outbox = Outbox::open_in_memory()
        .expect("outbox")
        .with_backoff(Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(300),
        });
    let mut d =
        Dispatcher::new(outbox, vec![RoutedSink::new(sink, Route::default())]).expect("dispatcher");
    let alerts: Vec<Alert> = (0..3)
        .map(|i| {
            alert(
                &format!("down{i}"),
                Severity::Critical,
                &format!("alert {i}"),
            )
        })
        .collect();
    for a in &alerts {
        d.enqueue(a, t(0)).expect("enqueue");
    }
    // Ten minutes down, a delivery run every 5 s: nothing sent, nothing dropped, and the
    // backoff keeps the attempts few (5, 10, 20, … s apart).
    let mut failed = 0;
    for s in (0..600).step_by(5) {
        let r = d.run_once(t(s)).expect("run");
        assert_eq!(r.sent, 0);
        failed += r.failed;
    }
    assert_eq!(d.outbox().pending().expect("pending"), 3);
    assert!(
        (3 * 5..=3 * 8).contains(&failed),
        "{failed} attempts in 10 min"
    );

    // Back, on the same port: every alert once, with its id as the idempotency key.
    let (_server, log) = http_receiver_on(port, 0);
    let (stats, end) = drain(&mut d, 600, 100);
    assert_eq!(stats.sent, 3);
    for s in (end + 5..end + 900).step_by(5) {
        assert_eq!(d.run_once(t(s)).expect("run").sent, 0, "sent again at {s}");
    }
    let log = lock(&log);
    assert_eq!(log.accepted.len(), 3, "exactly once each");
    let keys: BTreeSet<&str> = log
        .accepted
        .iter()
        .filter_map(|r| r.header(IDEMPOTENCY_HEADER))
        .collect();
    assert_eq!(keys, BTreeSet::from(["down0", "down1", "down2"]));
}
