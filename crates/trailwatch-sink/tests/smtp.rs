//! Mail delivery through the outbox against a real (minimal) SMTP server on loopback.

mod common;

use common::{alert, lock, smtp_receiver};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailwatch_model::Severity;
use trailwatch_sink::{
    Backoff, Dispatcher, Outbox, Route, RoutedSink, SmtpConfig, SmtpSecurity, SmtpSink,
};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".to_string(),
        port,
        security: SmtpSecurity::Plain,
        credentials: None,
        from: "trailwatch <trailwatch@example.org>".to_string(),
        to: vec![
            "soc@example.org".to_string(),
            "oncall@example.org".to_string(),
        ],
        timeout: Duration::from_secs(5),
    }
}

#[test]
fn mail_arrives_once_after_the_relay_refused() {
    let (server, log) = smtp_receiver(2);
    let sink = SmtpSink::new("mail", &config(server.addr.port())).expect("sink");
    let outbox = Outbox::open_in_memory()
        .expect("outbox")
        .with_backoff(Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(2),
        });
    let mut d =
        Dispatcher::new(outbox, vec![RoutedSink::new(sink, Route::default())]).expect("dispatcher");
    let a = alert("m1", Severity::Critical, "Root\r\nBcc: victim@example.org");
    d.enqueue(&a, t(0)).expect("enqueue");

    let mut failed = 0;
    let mut sent = 0;
    for round in 0..10 {
        let s = d.run_once(t(round * 5)).expect("run");
        failed += s.failed;
        sent += s.sent;
    }
    assert_eq!((sent, failed), (1, 2));
    let deliveries = d.outbox().deliveries("m1").expect("deliveries");
    assert_eq!(deliveries[0].attempts, 2);
    assert!(deliveries[0].delivered_at.is_some());

    let log = lock(&log);
    assert_eq!(log.connections, 3);
    assert_eq!(log.mails.len(), 1);
    let mail = &log.mails[0];
    assert!(
        mail.from.contains("trailwatch@example.org"),
        "{}",
        mail.from
    );
    assert_eq!(mail.to.len(), 2);
    let data = &mail.data;
    assert!(
        data.contains("Subject: [trailwatch] CRITICAL: Root\\r\\nBcc: victim@example.org"),
        "{data}"
    );
    let headers: Vec<&str> = data.lines().take_while(|l| !l.is_empty()).collect();
    assert!(
        headers.iter().any(|l| l.starts_with("To: soc@example.org")),
        "{data}"
    );
    assert!(
        !headers.iter().any(|l| l.starts_with("Bcc:")),
        "no injected header: {data}"
    );
    // The alert id is the Message-ID: a repeat after a crash is the same message.
    assert!(
        headers
            .iter()
            .any(|l| l.eq_ignore_ascii_case("Message-ID: <m1@trailwatch>")),
        "{data}"
    );
    assert!(data.contains("arn:aws:iam::123456789012:user/mallory"));
    assert!(data.contains("aws_cloudtrail_stop_logging"));
}

#[test]
fn starttls_without_the_tls_feature_is_a_config_error() {
    let mut c = config(25);
    c.security = SmtpSecurity::StartTls;
    let made = SmtpSink::new("mail", &c);
    assert_eq!(made.is_ok(), cfg!(feature = "tls"));
}

#[test]
fn bad_addresses_are_rejected_up_front() {
    let mut c = config(25);
    c.to = vec!["not an address".to_string()];
    assert!(SmtpSink::new("mail", &c).is_err());
    c.to.clear();
    assert!(SmtpSink::new("mail", &c).is_err());
}
