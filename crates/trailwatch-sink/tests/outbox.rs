//! The outbox across restarts, alert state, and the JSONL sink.

mod common;

use common::alert;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailwatch_model::{Alert, Severity};
use trailwatch_sink::{
    AlertState, Dispatcher, Enqueued, JsonlSink, Outbox, OutboxError, Route, RoutedSink,
};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn due_keys(o: &Outbox, now: SystemTime) -> Vec<(String, String)> {
    let mut keys: Vec<_> = o
        .due(now)
        .expect("due")
        .into_iter()
        .map(|d| (d.alert.id, d.sink))
        .collect();
    keys.sort();
    keys
}

#[test]
fn restart_neither_loses_nor_resends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("alerts.db");
    let a = alert("r1", Severity::High, "one");
    let b = alert("r2", Severity::Critical, "two");
    {
        let mut o = Outbox::open(&path).expect("open");
        o.enqueue(&a, &["hook", "mail"], t(0)).expect("enqueue");
        o.enqueue(&b, &["hook"], t(0)).expect("enqueue");
        o.mark_sent("r1", "hook", t(1)).expect("sent");
        o.mark_failed("r2", "hook", t(1), "HTTP 500")
            .expect("failed");
        // Dropped without any shutdown step, as a killed process would leave it.
    }
    let mut o = Outbox::open(&path).expect("reopen");
    assert_eq!(o.pending().expect("pending"), 2);
    // r1→hook was sent: never due again. r1→mail is due; r2→hook waits for its backoff.
    assert_eq!(due_keys(&o, t(1)), [("r1".to_string(), "mail".to_string())]);
    assert_eq!(
        due_keys(&o, t(3600)),
        [
            ("r1".to_string(), "mail".to_string()),
            ("r2".to_string(), "hook".to_string())
        ]
    );
    let d = o.deliveries("r2").expect("deliveries");
    assert_eq!(d[0].attempts, 1);
    assert_eq!(d[0].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(d[0].next_attempt_at, t(6), "default backoff starts at 5 s");

    // The detector replays the same alert after the restart: nothing new is queued.
    assert_eq!(
        o.enqueue(&a, &["hook", "mail"], t(10)).expect("enqueue"),
        Enqueued::Known(AlertState::Open)
    );
    assert_eq!(o.pending().expect("pending"), 2);
    assert!(matches!(
        o.mark_sent("r1", "hook", t(11)),
        Err(OutboxError::NotFound(_))
    ));
    let stored: Vec<Alert> = o
        .list(None)
        .expect("list")
        .into_iter()
        .map(|r| r.alert)
        .collect();
    assert_eq!(stored, [a, b]);
}

#[test]
fn ack_and_resolve_persist_with_who_and_when() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("alerts.db");
    {
        let mut o = Outbox::open(&path).expect("open");
        for id in ["s1", "s2", "s3"] {
            o.enqueue(&alert(id, Severity::Medium, id), &[], t(0))
                .expect("enqueue");
        }
        o.ack("s1", "alice", t(100)).expect("ack");
        o.resolve("s2", "bob", t(200)).expect("resolve");
        assert!(matches!(
            o.ack("s2", "carol", t(300)),
            Err(OutboxError::InvalidTransition { .. })
        ));
        assert!(matches!(
            o.ack("nope", "carol", t(300)),
            Err(OutboxError::NotFound(_))
        ));
    }
    let mut o = Outbox::open(&path).expect("reopen");
    let ids = |o: &Outbox, s| -> Vec<String> {
        o.list(Some(s))
            .expect("list")
            .into_iter()
            .map(|r| r.alert.id)
            .collect()
    };
    assert_eq!(ids(&o, AlertState::Open), ["s3"]);
    assert_eq!(ids(&o, AlertState::Acked), ["s1"]);
    assert_eq!(ids(&o, AlertState::Resolved), ["s2"]);
    let s1 = o.get("s1").expect("get");
    assert_eq!(s1.acked_by.as_deref(), Some("alice"));
    assert_eq!(s1.acked_at, Some(t(100)));
    let s2 = o.get("s2").expect("get");
    assert_eq!(s2.resolved_by.as_deref(), Some("bob"));
    assert_eq!(s2.resolved_at, Some(t(200)));
    o.resolve("s1", "alice", t(400)).expect("resolve acked");
    assert_eq!(o.get("s1").expect("get").state, AlertState::Resolved);
    // A resolved alert seen again is not re-opened nor re-sent.
    assert_eq!(
        o.enqueue(&alert("s2", Severity::Medium, "s2"), &["hook"], t(500))
            .expect("enqueue"),
        Enqueued::Known(AlertState::Resolved)
    );
    assert_eq!(o.pending().expect("pending"), 0);
}

#[test]
fn jsonl_sink_appends_one_line_per_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("alerts.jsonl");
    let sink = JsonlSink::new("file", &file);
    let mut d = Dispatcher::new(
        Outbox::open(dir.path().join("o.db")).expect("open"),
        vec![RoutedSink::new(sink, Route::at_least(Severity::Medium))],
    )
    .expect("dispatcher");
    let alerts = [
        alert("j1", Severity::High, "line\nbreak"),
        alert("j2", Severity::Low, "filtered out"),
        alert("j3", Severity::Critical, "three"),
    ];
    for a in &alerts {
        d.enqueue(a, t(0)).expect("enqueue");
    }
    assert_eq!(d.run_once(t(0)).expect("run").sent, 2);
    assert_eq!(d.run_once(t(60)).expect("run").sent, 0);
    let text = std::fs::read_to_string(&file).expect("read");
    let lines: Vec<Alert> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines, [alerts[0].clone(), alerts[2].clone()]);
}

#[test]
fn duplicate_sink_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sinks = vec![
        RoutedSink::new(JsonlSink::new("x", dir.path().join("a")), Route::default()),
        RoutedSink::new(JsonlSink::new("x", dir.path().join("b")), Route::default()),
    ];
    assert!(Dispatcher::new(Outbox::open_in_memory().expect("open"), sinks).is_err());
}

#[test]
fn an_incident_is_sent_once_while_open_merged_as_it_grows_and_anew_after_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("outbox.sqlite");
    let first = alert("a1", Severity::High, "stop logging");
    {
        let mut o = Outbox::open(&path).expect("open");
        let (what, id) = o
            .enqueue_incident("k", &first, &["hook"], t(0))
            .expect("enqueue");
        assert_eq!((what, id.as_str()), (Enqueued::New, "a1"));
        // The incident grows: another detection (another first event, another id) in a later file.
        let mut later = alert("a2", Severity::Critical, "stop logging");
        later.event_ids = vec!["e3".into(), "e4".into()];
        later.count = 2;
        later.last_seen = "2026-11-20T11:00:00Z".into();
        later.source_ips = vec!["203.0.113.9".into()];
        let (what, id) = o
            .enqueue_incident("k", &later, &["hook"], t(1))
            .expect("merge");
        assert_eq!(
            (what, id.as_str()),
            (Enqueued::Known(AlertState::Open), "a1")
        );
        assert!(matches!(o.get("a2"), Err(OutboxError::NotFound(_))));
        let merged = o.get("a1").expect("get").alert;
        assert_eq!(merged.event_ids, ["e1", "e2", "e3", "e4"]);
        assert_eq!(merged.count, 4, "e3 was already counted");
        assert_eq!(merged.last_seen, "2026-11-20T11:00:00Z");
        assert_eq!(merged.severity, Severity::Critical);
        assert_eq!(merged.source_ips, ["198.51.100.7", "203.0.113.9"]);
        assert_eq!(o.pending().expect("pending"), 1, "one delivery, not two");
    }
    // After a restart the same detection is still the same incident.
    let mut o = Outbox::open(&path).expect("reopen");
    let (what, _) = o
        .enqueue_incident("k", &first, &["hook"], t(2))
        .expect("again");
    assert_eq!(what, Enqueued::Known(AlertState::Open));
    assert_eq!(
        o.get("a1").expect("get").alert.count,
        4,
        "re-detection adds nothing"
    );
    o.resolve("a1", "alice", t(3)).expect("resolve");
    // The very same detection after resolution is not a new incident…
    let (what, _) = o
        .enqueue_incident("k", &first, &["hook"], t(4))
        .expect("resolved same");
    assert_eq!(what, Enqueued::Known(AlertState::Resolved));
    assert_eq!(o.pending().expect("pending"), 1);
    // …but new activity after resolution is.
    let again = alert("a3", Severity::High, "stop logging");
    let (what, id) = o
        .enqueue_incident("k", &again, &["hook"], t(5))
        .expect("new incident");
    assert_eq!((what, id.as_str()), (Enqueued::New, "a3"));
    assert_eq!(o.pending().expect("pending"), 2);
    // Another key is another incident.
    let other = alert("b1", Severity::High, "other principal");
    let (what, _) = o.enqueue_incident("k2", &other, &[], t(6)).expect("other");
    assert_eq!(what, Enqueued::New);
}

#[test]
fn notes_keep_comments_and_the_latest_assignee_across_restarts() {
    use trailwatch_sink::NoteKind;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("alerts.db");
    {
        let mut o = Outbox::open(&path).expect("open");
        o.enqueue(&alert("n1", Severity::High, "one"), &[], t(0))
            .expect("enqueue");
        o.add_note("n1", "ana", NoteKind::Assign, "bob", t(1))
            .expect("assign");
        o.add_note("n1", "bob", NoteKind::Comment, "looking <now>", t(2))
            .expect("comment");
        o.add_note("n1", "bob", NoteKind::Assign, "carol", t(3))
            .expect("reassign");
        let missing = o.add_note("nope", "ana", NoteKind::Comment, "x", t(4));
        assert!(
            matches!(missing, Err(OutboxError::NotFound(_))),
            "{missing:?}"
        );
    }
    let o = Outbox::open(&path).expect("reopen");
    let notes = o.notes("n1").expect("notes");
    let kinds: Vec<_> = notes
        .iter()
        .map(|n| (n.kind, n.who.as_str(), n.text.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (NoteKind::Assign, "ana", "bob"),
            (NoteKind::Comment, "bob", "looking <now>"),
            (NoteKind::Assign, "bob", "carol"),
        ]
    );
    assert_eq!(notes[1].at, t(2));
    let assignees = o.assignees().expect("assignees");
    assert_eq!(assignees.get("n1").map(String::as_str), Some("carol"));
    assert_eq!(assignees.len(), 1);
}
