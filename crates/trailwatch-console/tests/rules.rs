//! The rules page: the rules `watch` would run with their level and hits over 7 days, and the
//! configuration's suppressions with their expiry; hostile values inert.

mod common;

use axum::http::StatusCode;
use common::*;
use std::time::{Duration, SystemTime};
use trailwatch_model::Severity;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(2)>";
const RULE_ID: &str = "5f1c0b2e-0000-4000-8000-00000000c0de";

fn rule_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = format!(
        "title: 'Console test {SCRIPT}'\nid: {RULE_ID}\nstatus: test\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  selection:\n    eventName: ConsoleTestAction\n  condition: selection\n"
    );
    std::fs::write(dir.path().join("site.yml"), rule).expect("rule");
    dir
}

fn watch(rules: &std::path::Path) -> trailwatch_watch::Config {
    let text = format!(
        r#"[watch]
rules = [{rules:?}]

[[suppressions]]
rule = "{RULE_ID}"
reason = "{IMG}"
expires = "2099-12-31"

[[suppressions]]
principal = "arn:aws:iam::*:role/scanner"
reason = "old scanner"
expires = "2020-01-01"
"#
    );
    trailwatch_watch::Config::parse(&text).expect("config")
}

fn ago(days: u64) -> String {
    trailwatch_sink::fmt_time(SystemTime::now() - Duration::from_secs(days * 86_400))
}

fn alerts() -> Vec<trailwatch_model::Alert> {
    let mut recent = alert("r1", Severity::High, "arn:aws:iam::1:user/a", "recent");
    recent.rule_id = RULE_ID.into();
    recent.first_seen = ago(2);
    recent.last_seen = ago(1);
    recent.count = 3;
    let mut old = recent.clone();
    old.id = "r2".into();
    old.first_seen = ago(31);
    old.last_seen = ago(30);
    let mut chain = recent.clone();
    chain.id = "r3".into();
    chain.rule_id = "chain_console_test".into();
    chain.count = 5;
    vec![recent, old, chain]
}

#[tokio::test]
async fn the_rules_page_lists_rules_hits_and_suppressions() {
    let dir = rule_dir();
    let c = TestConsole::with_watch(&alerts(), watch(dir.path()));
    let b = c.login("vic").await;
    let api = c.send(Req::get("/api/v1/rules").by(&b)).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let v = api.json();
    let rules = v["rules"].as_array().expect("rules");
    let ours = rules
        .iter()
        .find(|r| r["rule"]["id"] == RULE_ID)
        .unwrap_or_else(|| panic!("no site rule in {v}"));
    assert_eq!(ours["rule"]["level"], "high", "{ours}");
    // Only the alert seen within 7 days counts.
    assert_eq!(ours["hits_7d"]["alerts"], 1, "{ours}");
    assert_eq!(ours["hits_7d"]["events"], 3, "{ours}");
    // Per day, oldest first: last seen a day ago, so the day before the last 24 hours.
    let by_day: Vec<u64> = ours["hits_7d"]["by_day"]
        .as_array()
        .expect("by_day")
        .iter()
        .map(|n| n.as_u64().expect("count"))
        .collect();
    assert_eq!(by_day, [0, 0, 0, 0, 0, 1, 0], "{ours}");
    // The built-in pack is there too (and without hits).
    let builtin = rules.iter().filter(|r| r["rule"]["id"] != RULE_ID).count();
    assert!(builtin > 20, "{builtin} built-in rules");
    assert_eq!(v["other_hits_7d"]["chain_console_test"]["events"], 5, "{v}");
    let sup = v["suppressions"].as_array().expect("suppressions");
    assert_eq!(sup.len(), 2, "{v}");
    assert_eq!(sup[0]["state"], "active", "{v}");
    assert_eq!(sup[0]["expires"], "2099-12-31", "{v}");
    assert_eq!(sup[1]["state"], "expired", "{v}");

    let page = c.send(Req::get("/rules").by(&b)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let html = &page.body;
    let row =
        between(html, &format!(">{RULE_ID}</a>"), "</tr>").unwrap_or_else(|| panic!("{html}"));
    assert!(
        row.contains(r#"<td class="sev-high">high</td><td>1</td><td><svg role="img" aria-label="alerts per day, oldest first: 0, 0, 0, 0, 0, 1, 0""#)
            && row.contains("</svg></td><td>3</td>"),
        "{row}"
    );
    assert!(
        html.contains(&format!(r#"href="/alerts?rule={RULE_ID}""#)),
        "{html}"
    );
    assert!(
        html.contains("chain_console_test: 1 alerts, 5 events"),
        "{html}"
    );
    assert!(
        html.contains("<td>2099-12-31</td><td>active</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td>2020-01-01</td><td>expired</td>"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert_inert(html);
}

#[tokio::test]
async fn without_a_configuration_the_built_in_pack_is_shown_and_no_suppression() {
    let c = TestConsole::new(&[]);
    let b = c.login("rui").await;
    let page = c.send(Req::get("/rules").by(&b)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("The configuration has no suppressions."),
        "{}",
        page.body
    );
    let v = c.send(Req::get("/api/v1/rules").by(&b)).await.json();
    assert!(v["rules"].as_array().is_some_and(|r| r.len() > 20), "{v}");
}

#[test]
fn a_missing_rules_folder_stops_the_console_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-rules");
    let watch = trailwatch_watch::Config::parse(&format!("[watch]\nrules = [{missing:?}]\n"))
        .expect("config");
    let mut config = trailwatch_console::ConsoleConfig::new(dir.path().to_path_buf());
    config.watch = watch;
    let err = config.build().err().expect("refused").to_string();
    assert!(err.contains("no-such-rules"), "{err}");
}
