//! Suppressions admins manage from the console: only admins add and remove them, each entry
//! checked as a configuration's would be, kept in the store's managed file the watch reads,
//! listed on the rules page (hostile values inert) and recorded in the audit log.

mod common;

use axum::http::StatusCode;
use common::*;
use trailwatch_model::Severity;

const SCRIPT: &str = "<script>alert(1)</script>";

fn entry(reason: &str, expires: &str) -> serde_json::Value {
    serde_json::json!({"rule": "aws_cloudtrail_stop_logging",
        "principal": "arn:aws:iam::123456789012:role/ci-*", "reason": reason, "expires": expires})
}

#[tokio::test]
async fn admins_add_and_remove_suppressions_that_the_watch_file_holds() {
    let c = TestConsole::new(&[alert("a1", Severity::High, "p", "t")]);
    let (ada, rui, vic) = (
        c.login("ada").await,
        c.login("rui").await,
        c.login("vic").await,
    );
    let add = |b: &Browser, e: serde_json::Value| Req::post("/api/v1/suppressions").json(e).by(b);

    // Only admins.
    for b in [&rui, &vic] {
        let res = c.send(add(b, entry("nightly CI", "2099-12-31"))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    }
    // Checked as the configuration's entries are.
    let res = c.send(add(&ada, entry("nightly CI", "next week"))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    let res = c.send(add(&ada, entry("", "2099-12-31"))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert!(trailwatch_watch::managed::load(c.dir.path())
        .expect("load")
        .is_empty());

    let res = c.send(add(&ada, entry(SCRIPT, "2099-12-31"))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let id = res.json()["id"].as_str().expect("id").to_string();
    let again = c.send(add(&ada, entry(SCRIPT, "2099-12-31"))).await;
    assert_eq!(
        again.status,
        StatusCode::BAD_REQUEST,
        "a duplicate: {}",
        again.body
    );
    let res = c.send(add(&ada, entry("old", "2020-01-01"))).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "an expired one may be recorded: {}",
        res.body
    );
    let saved = trailwatch_watch::managed::load(c.dir.path()).expect("load");
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0].reason, SCRIPT);

    // Everyone sees them; only admins get the forms.
    let api = c.send(Req::get("/api/v1/rules").by(&vic)).await.json();
    let managed = api["managed_suppressions"].as_array().expect("managed");
    assert_eq!(managed.len(), 2);
    assert_eq!(
        (managed[0]["id"].as_str(), managed[0]["state"].as_str()),
        (Some(id.as_str()), Some("active"))
    );
    assert_eq!(managed[1]["state"], "expired");
    let page = c.send(Req::get("/rules").by(&vic)).await;
    assert_inert(&page.body);
    assert!(
        !page.body.contains("/suppressions/"),
        "a viewer gets no remove form"
    );
    let page = c.send(Req::get("/rules").by(&ada)).await;
    assert_inert(&page.body);
    let action = format!("/suppressions/{id}/remove");
    assert!(page.body.contains(&action), "{}", page.body);
    assert!(
        page.body.contains(r#"action="/suppressions""#),
        "the add form"
    );

    // Removal through the page's form, with its CSRF field; a second removal finds nothing.
    let form = format!("csrf_token={}", ada.csrf);
    let res = c
        .send(Req::post(&action).form(&form).cookie(&ada.cookie))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = c
        .send(Req::post(&action).form(&form).cookie(&ada.cookie))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let left = trailwatch_watch::managed::load(c.dir.path()).expect("load");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].reason, "old");
    // The form adds too.
    let body = format!(
        "csrf_token={}&rule=&principal={}&cidr=10.0.0.0%2F8&user_agent=&account=&reason=scanner&expires=2099-01-01",
        ada.csrf,
        enc("arn:aws:iam::*:role/scanner")
    );
    let res = c
        .send(Req::post("/suppressions").form(&body).cookie(&ada.cookie))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let now = trailwatch_watch::managed::load(c.dir.path()).expect("load");
    assert_eq!(now.len(), 2);
    assert_eq!(now[1].cidr.as_deref(), Some("10.0.0.0/8"));
    assert_eq!(now[1].rule, None);

    // Who did what, for the audit.
    let audit = c.send(Req::get("/api/v1/audit").by(&ada)).await.json();
    let actions: Vec<&str> = audit
        .as_array()
        .or_else(|| audit["entries"].as_array())
        .expect("entries")
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "suppression-add").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "suppression-remove")
            .count(),
        1,
        "{actions:?}"
    );
}
