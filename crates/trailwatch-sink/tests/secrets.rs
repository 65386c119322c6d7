//! Secrets against failing receivers: a Slack webhook URL (a credential) must not reach the
//! outbox's stored errors, whatever the receiver does.

mod common;

use common::{alert, http_receiver, lock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailwatch_model::Severity;
use trailwatch_sink::secret::{redact, REDACTED};
use trailwatch_sink::{Backoff, Dispatcher, Outbox, Route, RoutedSink, Secret, SlackSink};

const TOKEN: &str = "XyZ9sEcReTtOkEnQ7wErTy42";

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn slack_path(tag: &str) -> String {
    format!("/services/T0{tag}SECRET/B0{tag}SECRET/{TOKEN}")
}

fn dispatcher(outbox: Outbox, url: String) -> Dispatcher {
    let sink = SlackSink::new("slack", url);
    Dispatcher::new(
        outbox.with_backoff(Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(1),
        }),
        vec![RoutedSink::new(sink, Route::default())],
    )
    .expect("dispatcher")
}

/// The stored error of the only delivery of `id`, as the `alerts show` command reads it.
fn last_error(d: &Dispatcher, id: &str) -> String {
    let deliveries = d.outbox().deliveries(id).expect("deliveries");
    assert_eq!(deliveries.len(), 1);
    deliveries[0]
        .last_error
        .clone()
        .expect("an error is stored")
}

fn assert_secret_free(text: &str, path: &str) {
    assert!(!text.contains(TOKEN), "token in {text:?}");
    assert!(!text.contains(path), "URL path in {text:?}");
    assert!(
        !text.contains("SECRET"),
        "a workspace or channel id in {text:?}"
    );
}

#[test]
fn a_slack_receiver_that_is_down_gets_an_informative_error_without_its_url() {
    // A port nobody listens on: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let path = slack_path("DOWN");
    let mut d = dispatcher(
        Outbox::open_in_memory().expect("outbox"),
        format!("http://127.0.0.1:{port}{path}"),
    );
    d.enqueue(&alert("down", Severity::High, "x"), t(0))
        .expect("enqueue");
    let stats = d.run_once(t(0)).expect("run");
    assert_eq!((stats.sent, stats.failed), (0, 1));

    let error = last_error(&d, "down");
    assert_secret_free(&error, &path);
    // Still says what failed and where (the host and port are not the secret).
    assert!(error.contains("HTTP transport"), "{error}");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.to_lowercase().contains("connect"), "{error}");
}

#[test]
fn a_slack_receiver_answering_500_gets_the_status_without_the_url() {
    let (server, log) = http_receiver(1);
    let path = slack_path("FAIL");
    let mut d = dispatcher(
        Outbox::open_in_memory().expect("outbox"),
        format!("http://{}{path}", server.addr),
    );
    d.enqueue(&alert("fail", Severity::High, "x"), t(0))
        .expect("enqueue");
    assert_eq!(d.run_once(t(0)).expect("run").failed, 1);
    let error = last_error(&d, "fail");
    assert_secret_free(&error, &path);
    assert!(error.contains("500"), "{error}");
    // The receiver did get the request on the secret path: the URL is used, only not shown.
    assert_eq!(lock(&log).requests, 1);
    assert_eq!(d.run_once(t(5)).expect("run").sent, 1);
    assert_eq!(lock(&log).accepted[0].path, path);
}

#[test]
fn errors_stored_before_the_secret_was_known_are_scrubbed_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("outbox.sqlite");
    let url = format!("https://hooks.slack.com{}", slack_path("OLD"));
    // What an older version stored: reqwest's error, quoting the URL.
    let old = format!("HTTP transport: error sending request for url ({url})");
    {
        let mut o = Outbox::open(&file).expect("open");
        o.enqueue(&alert("old", Severity::High, "x"), &["slack"], t(0))
            .expect("enqueue");
        o.mark_failed("old", "slack", t(0), &old).expect("failed");
        assert_eq!(
            o.deliveries("old").expect("deliveries")[0]
                .last_error
                .as_deref(),
            Some(old.as_str()),
            "no secret known yet: stored as given"
        );
    }
    // The secret becomes known (the configuration's url_env is resolved), the outbox reopened.
    let secret = Secret::new(url.clone());
    assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
    let o = Outbox::open(&file).expect("reopen");
    let expected = format!("HTTP transport: error sending request for url ({REDACTED})");
    assert_eq!(
        o.deliveries("old").expect("deliveries")[0]
            .last_error
            .as_deref(),
        Some(expected.as_str())
    );
    drop(o);
    // In the file itself, not only in what the outbox reads back.
    let conn = rusqlite::Connection::open(&file).expect("sqlite");
    let stored: String = conn
        .query_row("SELECT last_error FROM deliveries", [], |r| r.get(0))
        .expect("row");
    assert_eq!(stored, expected);

    // New failures are stored redacted whoever records them.
    let mut o = Outbox::open(&file).expect("reopen");
    o.mark_failed("old", "slack", t(10), &format!("again: {url}"))
        .expect("failed");
    let stored = o.deliveries("old").expect("deliveries")[0]
        .last_error
        .clone();
    assert_eq!(stored.as_deref(), Some("again: [redacted]"));
    assert_eq!(redact(&format!("x {TOKEN} y")), "x [redacted] y");
}
