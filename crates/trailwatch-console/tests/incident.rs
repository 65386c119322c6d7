//! An alert's page carries the `investigate` report and the `recover` plan with its script,
//! from the store's events; hostile log values in them render inert.

mod common;

use axum::http::StatusCode;
use common::*;
use trailwatch_model::Severity;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(2)>";
const JS_LINK: &str = "javascript:alert(3)";

fn identity() -> serde_json::Value {
    serde_json::json!({"type": "IAMUser", "principalId": "AIDAX",
        "arn": "arn:aws:iam::111122223333:user/mallory", "accountId": "111122223333",
        "accessKeyId": "AKIAEXAMPLE", "userName": "mallory"})
}

fn record(
    id: &str,
    time: &str,
    source: &str,
    name: &str,
    req: serde_json::Value,
    resp: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({"eventVersion": "1.08", "eventTime": time, "eventSource": source,
        "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
        "userAgent": SCRIPT, "eventID": id, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333", "userIdentity": identity(),
        "requestParameters": req, "responseElements": resp})
}

/// An intruder with mallory's key: stops a trail named with markup, creates a user named
/// with a `javascript:` link and a key for it, and fails to read a bucket named with markup.
fn trail() -> serde_json::Value {
    serde_json::json!({"Records": [
        record("e1", "2026-10-01T10:00:00Z", "cloudtrail.amazonaws.com", "StopLogging",
            serde_json::json!({"name": IMG}), serde_json::Value::Null),
        record("e2", "2026-10-01T10:01:00Z", "iam.amazonaws.com", "CreateUser",
            serde_json::json!({"userName": JS_LINK}), serde_json::Value::Null),
        record("e3", "2026-10-01T10:02:00Z", "iam.amazonaws.com", "CreateAccessKey",
            serde_json::json!({"userName": "backdoor"}),
            serde_json::json!({"accessKey": {"accessKeyId": "AKIANEWKEY0000000000", "userName": "backdoor",
                "status": "Active"}})),
    ]})
}

fn stop_logging_alert() -> trailwatch_model::Alert {
    let mut a = alert(
        "inc1",
        Severity::High,
        "arn:aws:iam::111122223333:user/mallory",
        SCRIPT,
    );
    a.first_seen = "2026-10-01T10:00:00Z".into();
    a.last_seen = "2026-10-01T10:00:00Z".into();
    a.event_ids = vec!["e1".into()];
    a
}

#[tokio::test]
async fn the_incident_page_shows_the_report_and_the_plan_inert() {
    let c = TestConsole::with_store(&[stop_logging_alert()], &trail());
    let b = c.login("vic").await;
    let res = c.send(Req::get("/alerts/inc1").by(&b)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let html = &res.body;
    for section in [
        r#"id="scope""#,
        r#"id="activity""#,
        r#"id="resources""#,
        r#"id="plan""#,
    ] {
        assert!(html.contains(section), "no {section} in:\n{html}");
    }
    // The scope: the key, the address and the principal, each a link to its search.
    assert!(
        html.contains(r#"href="/search?access_key=AKIAEXAMPLE""#),
        "{html}"
    );
    assert!(html.contains(r#"href="/search?ip=203.0.113.9""#), "{html}");
    assert!(
        html.contains(
            r#"href="/search?principal=arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Fmallory""#
        ),
        "{html}"
    );
    // Every scoped event is in the activity: the three actions, linked.
    for action in ["StopLogging", "CreateUser", "CreateAccessKey"] {
        assert!(
            html.contains(&format!(r#"href="/search?action={action}""#)),
            "{action}: {html}"
        );
    }
    // The hostile user name is a resource (the event's own value, what the search matches)
    // linked with its value percent-encoded after the path.
    assert!(
        html.contains(r#"href="/search?resource=iam%20user%20javascript%3Aalert%283%29""#),
        "{html}"
    );
    // The plan's script, escaped, with the new key's deletion quoted.
    let script = between(html, r#"<pre id="recovery-script" tabindex="0">"#, "</pre>")
        .unwrap_or_else(|| panic!("no script in:\n{html}"));
    assert!(script.starts_with("#!/usr/bin/env bash"), "{script}");
    assert!(
        script.contains(
            "\nrun aws iam delete-access-key --user-name &#39;backdoor&#39; --access-key-id &#39;AKIANEWKEY0000000000&#39;\n"
        ),
        "{script}"
    );
    // The trail named with markup: its step is there, as escaped text, and refused a command.
    assert!(
        script.contains("# Restart logging of trail &lt;img src=x onerror=alert(2)&gt;\n"),
        "{script}"
    );
    assert!(script.contains("# not generated: --name"), "{script}");
    assert!(!script.contains('<'), "markup in the script: {script}");
    assert_inert(html);
}

#[tokio::test]
async fn the_incident_api_gives_the_report_plan_and_script() {
    let c = TestConsole::with_store(&[stop_logging_alert()], &trail());
    let b = c.login("vic").await;
    let res = c.send(Req::get("/api/v1/incidents/inc1").by(&b)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let v = res.json();
    assert_eq!(
        v["incident"]["events"].as_array().map(Vec::len),
        Some(3),
        "{v}"
    );
    assert!(
        v["plan"]["steps"].as_array().is_some_and(|s| !s.is_empty()),
        "{v}"
    );
    let script = v["script"].as_str().expect("script");
    assert!(script.contains("delete-access-key"), "{script}");
    // An unknown alert is 404.
    let missing = c
        .send(Req::get("/api/v1/incidents/no-such-alert").by(&b))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
}

#[tokio::test]
async fn an_alert_whose_events_are_not_stored_says_why() {
    let mut a = stop_logging_alert();
    a.event_ids = vec!["not-stored".into()];
    let c = TestConsole::with_store(&[a], &trail());
    let b = c.login("vic").await;
    let res = c.send(Req::get("/alerts/inc1").by(&b)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        res.body
            .contains("event not-stored of the alert is not in the time range read"),
        "{}",
        res.body
    );
    let api = c.send(Req::get("/api/v1/incidents/inc1").by(&b)).await;
    assert_eq!(api.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", api.body);
}
