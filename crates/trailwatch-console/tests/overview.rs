//! The overview's coverage map: accounts × regions with their last event, a regular delivery
//! that fell silent flagged as a gap, a sparse one not, the overview narrowed to one account
//! and region, and a hostile region name inert.

mod common;

use axum::http::StatusCode;
use common::*;

const HOUR_MS: i64 = 3_600_000;
const IMG: &str = "<script>alert(1)</script>";

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
}

fn record(n: usize, at_ms: i64, account: &str, region: &str) -> serde_json::Value {
    serde_json::json!({"eventVersion": "1.08",
        "eventTime": trailwatch_model::time::format_ms(at_ms),
        "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
        "awsRegion": region, "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli",
        "eventID": format!("00000000-0000-4000-8000-{n:012}"), "eventType": "AwsApiCall",
        "readOnly": true, "recipientAccountId": account,
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAX",
            "arn": format!("arn:aws:iam::{account}:user/ops"), "accountId": account,
            "userName": "ops"}})
}

/// Account 111 in eu-west-1: an event every hour from 20 hours ago to 7 hours ago, then
/// nothing (a gap). Account 111 in us-east-1: every hour up to now. Account 222 in a region
/// named with markup: two events 15 hours apart (sparse, no gap).
fn trail(now: i64) -> serde_json::Value {
    let mut records = Vec::new();
    for h in 7..=20 {
        records.push(record(
            records.len(),
            now - h * HOUR_MS,
            "111111111111",
            "eu-west-1",
        ));
    }
    for h in 0..=20 {
        records.push(record(
            records.len(),
            now - h * HOUR_MS - 60_000,
            "111111111111",
            "us-east-1",
        ));
    }
    records.push(record(
        records.len(),
        now - 18 * HOUR_MS,
        "222222222222",
        IMG,
    ));
    records.push(record(
        records.len(),
        now - 3 * HOUR_MS,
        "222222222222",
        IMG,
    ));
    serde_json::json!({ "Records": records })
}

fn cell<'a>(cov: &'a [serde_json::Value], account: &str, region: &str) -> &'a serde_json::Value {
    cov.iter()
        .find(|c| c["account"] == account && c["region"] == region)
        .unwrap_or_else(|| panic!("no cell {account} {region} in {cov:?}"))
}

#[tokio::test]
async fn coverage_flags_a_delivery_that_stopped_and_narrows_to_a_cell() {
    let now = now_ms();
    let c = TestConsole::with_store(&[], &trail(now));
    let vic = c.login("vic").await;

    let o = c.send(Req::get("/api/v1/overview").by(&vic)).await;
    assert_eq!(o.status, StatusCode::OK, "{}", o.body);
    let v = o.json();
    let cov = v["coverage"].as_array().expect("coverage");
    assert_eq!(cov.len(), 3, "{cov:?}");
    let stopped = cell(cov, "111111111111", "eu-west-1");
    assert_eq!(stopped["events"], 14);
    assert_eq!(stopped["gap"], true, "{stopped}");
    assert!(
        stopped["silent_for_hours"].as_i64().expect("hours") >= 6,
        "{stopped}"
    );
    assert_eq!(cell(cov, "111111111111", "us-east-1")["gap"], false);
    let sparse = cell(cov, "222222222222", IMG);
    assert_eq!(
        (sparse["events"].as_i64(), sparse["gap"].as_bool()),
        (Some(2), Some(false))
    );

    let page = c.send(Req::get("/").by(&vic)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h2>Coverage</h2>"), "{}", page.body);
    assert!(page.body.contains("gap: "), "{}", page.body);
    assert_inert(&page.body);
    assert!(!page.body.contains(IMG));

    // Narrowed to one account and region: every count is of that slice.
    let uri = "/api/v1/overview?account=111111111111&region=us-east-1";
    let narrow = c.send(Req::get(uri).by(&vic)).await.json();
    let cov = narrow["coverage"].as_array().expect("coverage");
    assert_eq!(cov.len(), 1, "{cov:?}");
    let total: i64 = narrow["per_hour"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[2].as_i64().expect("count"))
        .sum();
    assert_eq!(total, 21);
    // A quote in a value stays a value.
    let odd = c
        .send(Req::get("/api/v1/overview?account=1'%20OR%20'1'='1").by(&vic))
        .await;
    assert_eq!(odd.status, StatusCode::OK, "{}", odd.body);
    assert_eq!(odd.json()["coverage"].as_array().map(Vec::len), Some(0));
    let page = c
        .send(
            Req::get("/?account=222222222222&region=%3Cscript%3Ealert(1)%3C%2Fscript%3E").by(&vic),
        )
        .await;
    assert!(page.body.contains("Only account"), "{}", page.body);
    assert_inert(&page.body);
}
