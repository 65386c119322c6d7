//! The alerts queue: filters, triage one at a time and in bulk, and hostile log values
//! rendered inert.

mod common;

use axum::http::StatusCode;
use common::*;
use trailwatch_model::Severity;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(2)>";
const JS_LINK: &str = "javascript:alert(3)";

fn hostile() -> trailwatch_model::Alert {
    let mut a = alert("x1", Severity::Critical, IMG, SCRIPT);
    a.rule_id = format!("rule\"><a href=\"{JS_LINK}\">");
    a.account = Some(format!("'{IMG}"));
    a.source_ips = vec!["1.2.3.4\"><script>alert(4)</script>".to_string()];
    a.resources = vec![JS_LINK.to_string(), format!("<a href=\"{JS_LINK}\">x</a>")];
    a.actions = vec!["Stop\u{202e}Logging".to_string()];
    a.description = format!("{SCRIPT}{IMG}");
    a.event_ids = vec![IMG.to_string()];
    a
}

#[test]
fn the_checker_sees_live_markup() {
    let caught = |html: &str| std::panic::catch_unwind(|| assert_inert(html)).is_err();
    let ok = "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>";
    assert!(!caught(ok));
    assert!(caught(&format!("{ok}<script>alert(1)</script>")));
    assert!(caught(&format!("{ok}<p onclick=\"x()\">")));
    assert!(caught(&format!("{ok}<a href=\"javascript:alert(1)\">")));
    assert!(caught(&format!("{ok}<a href=javascript:alert(1)>")));
}

#[tokio::test]
async fn hostile_fields_render_inert_on_every_page() {
    let c = TestConsole::new(&[hostile()]);
    let b = c.login("rui").await;
    let res = c
        .send(
            Req::post("/api/v1/alerts/x1/assign").by(&b).json(
                serde_json::json!({"assignee": IMG, "comment": format!("{SCRIPT} {JS_LINK}")}),
            ),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let list = c.send(Req::get("/alerts").by(&b)).await;
    assert_inert(&list.body);
    let one = c.send(Req::get("/alerts/x1").by(&b)).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_inert(&one.body);
    assert!(
        one.body.contains("Stop\\u{202e}Logging"),
        "bidi override shown, not applied"
    );
    // The filter form echoes what was asked, escaped.
    let q = format!("/alerts?principal={}", enc("\"><script>alert(5)</script>"));
    let filtered = c.send(Req::get(&q).by(&b)).await;
    assert!(
        !filtered.body.to_lowercase().contains("<script"),
        "{}",
        filtered.body
    );
    let admin = c.login("ada").await;
    let audit = c.send(Req::get("/audit").by(&admin)).await;
    assert!(
        !audit.body.to_lowercase().contains("<script"),
        "{}",
        audit.body
    );
    assert!(
        audit.body.contains("&lt;script&gt;"),
        "the comment is in the audit log"
    );
}

#[tokio::test]
async fn filters_select_by_every_field() {
    let mut a = alert(
        "f1",
        Severity::High,
        "arn:aws:iam::1:user/Alice",
        "Trail stopped",
    );
    a.last_seen = "2026-11-21T00:00:00Z".into();
    let mut b = alert("f2", Severity::Low, "bob", "Console login");
    b.rule_id = "aws_console_login".into();
    b.account = Some("999".into());
    b.first_seen = "2026-11-25T00:00:00Z".into();
    b.last_seen = "2026-11-25T01:00:00Z".into();
    let c = TestConsole::new(&[a, b]);
    let u = c.login("rui").await;
    let ids = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|r| r["alert"]["id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let q = |s: &str| c.send(Req::get(&format!("/api/v1/alerts{s}")).by(&u));
    assert_eq!(
        ids(q("").await.json()),
        ["f2", "f1"],
        "newest activity first"
    );
    assert_eq!(ids(q("?severity=high").await.json()), ["f1"]);
    assert_eq!(
        ids(q("?principal=alice").await.json()),
        ["f1"],
        "case-insensitive part"
    );
    assert_eq!(ids(q("?rule=console").await.json()), ["f2"]);
    assert_eq!(ids(q("?account=999").await.json()), ["f2"]);
    assert_eq!(ids(q("?since=2026-11-22").await.json()), ["f2"]);
    assert_eq!(ids(q("?until=2026-11-22").await.json()), ["f1"]);
    c.send(Req::post("/api/v1/alerts/f1/ack").by(&u)).await;
    assert_eq!(ids(q("?state=acked").await.json()), ["f1"]);
    assert_eq!(ids(q("?state=open").await.json()), ["f2"]);
    c.send(
        Req::post("/api/v1/alerts/f2/assign")
            .by(&u)
            .json(serde_json::json!({"assignee": "rui"})),
    )
    .await;
    assert_eq!(ids(q("?assignee=rui").await.json()), ["f2"]);
    let page = c.send(Req::get("/alerts?severity=low").by(&u)).await;
    assert!(page.body.contains("Console login") && !page.body.contains("Trail stopped"));
}

#[tokio::test]
async fn triage_through_forms_and_in_bulk() {
    let c = TestConsole::new(&[
        alert("t1", Severity::High, "p", "one"),
        alert("t2", Severity::High, "p", "two"),
        alert("t3", Severity::High, "p", "three"),
    ]);
    let u = c.login("rui").await;
    // The page's own forms: acknowledge with a comment, then resolve.
    let res = c
        .send(
            Req::post("/alerts/t1/ack")
                .cookie(&u.cookie)
                .form(&format!("csrf_token={}&comment=checking&assignee=", u.csrf)),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/alerts/t1"));
    let again = c
        .send(
            Req::post("/alerts/t1/ack")
                .cookie(&u.cookie)
                .form(&format!("csrf_token={}", u.csrf)),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "an acked alert is not acked twice"
    );
    let empty = c
        .send(
            Req::post("/alerts/t1/comment")
                .cookie(&u.cookie)
                .form(&format!("csrf_token={}&comment=+", u.csrf)),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    // Bulk from the queue's form: t2 and t3 resolved, an unknown id reported.
    let form = format!(
        "csrf_token={}&id=t2&id=t3&id=nope&action=resolve&comment=false+positive",
        u.csrf
    );
    let res = c
        .send(Req::post("/alerts/bulk").cookie(&u.cookie).form(&form))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("no alert with id nope"), "{}", res.body);
    // Bulk through the API.
    let res = c
        .send(
            Req::post("/api/v1/alerts/bulk")
                .by(&u)
                .json(serde_json::json!({"ids": ["t1", "t2"], "action": "resolve"})),
        )
        .await;
    let v = res.json();
    assert_eq!(v[0]["ok"], true, "{v}");
    assert_eq!(v[1]["ok"], false, "t2 was resolved already: {v}");
    let all = c
        .send(Req::get("/api/v1/alerts?state=resolved").by(&u))
        .await
        .json();
    assert_eq!(all.as_array().map(Vec::len), Some(3), "{all}");
    let t2 = c.send(Req::get("/api/v1/alerts/t2").by(&u)).await.json();
    assert_eq!(t2["resolved_by"], "rui");
    assert_eq!(t2["notes"][0]["text"], "false positive");
    // The same state is what `trailwatch alerts` reads: the watch's outbox.
    let outbox = trailwatch_watch::open_outbox(c.dir.path()).expect("outbox");
    assert_eq!(
        outbox.get("t1").expect("t1").state,
        trailwatch_sink::AlertState::Resolved
    );
    let one = c.send(Req::get("/alerts/t1").by(&u)).await;
    assert!(one.body.contains("checking"), "{}", one.body);
}
