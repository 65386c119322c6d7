//! Property tests of the readers: any bytes end in records and named problems, never a panic;
//! valid records come back whatever their field values; a cut file keeps what came before the
//! cut and says it was cut.

use proptest::prelude::*;
use trailwatch_decode::{read_bytes, DecodeError, ReadScratch};

struct Read {
    ids: Vec<String>,
    users: Vec<String>,
    errors: Vec<DecodeError>,
}

fn read(bytes: &[u8]) -> Read {
    let mut scratch = ReadScratch::default();
    let mut out = Read {
        ids: Vec::new(),
        users: Vec::new(),
        errors: Vec::new(),
    };
    let mut events = Vec::new();
    read_bytes(
        bytes,
        "prop.json",
        &mut scratch,
        &mut |r| events.push(r.normalize()),
        &mut |e| out.errors.push(e),
    );
    for e in events {
        out.ids.push(e.event_id);
        out.users.push(e.principal.label().to_string());
    }
    out
}

/// A CloudTrail record whose user name is `user` (any text, the hostile kinds included).
fn record(i: usize, user: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-10-01T10:00:00Z",
        "eventSource": "iam.amazonaws.com", "eventName": "CreateUser", "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9", "userAgent": user, "eventID": format!("ev-{i}"),
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"),
            "accountId": "111122223333", "userName": user},
        "requestParameters": {"userName": user}
    })
}

fn hostile_name() -> impl Strategy<Value = String> {
    "[a-z0-9 \\x00-\\x1f\\x7f\u{202e}\u{a0}=+@'\"\\\\{}\\[\\],:]{1,16}"
}

fn cloudtrail_file(users: &[String]) -> String {
    let records: Vec<serde_json::Value> = users
        .iter()
        .enumerate()
        .map(|(i, u)| record(i, u))
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_give_records_and_named_problems(
        bytes in prop::collection::vec(
            prop_oneof![any::<u8>(), prop::sample::select(b"{}[]\",:\\ \nRecords".to_vec())],
            0..300,
        )
    ) {
        let r = read(&bytes);
        for e in &r.errors {
            prop_assert_eq!(e.file.as_str(), "prop.json");
            prop_assert!(!e.reason.is_empty());
        }
    }

    #[test]
    fn hostile_field_values_are_read_as_they_are(users in prop::collection::vec(hostile_name(), 1..8)) {
        let r = read(cloudtrail_file(&users).as_bytes());
        prop_assert!(r.errors.is_empty(), "{:?}", r.errors);
        let want: Vec<String> = (0..users.len()).map(|i| format!("ev-{i}")).collect();
        prop_assert_eq!(r.ids, want);
        prop_assert_eq!(r.users.len(), users.len());
        for (got, user) in r.users.iter().zip(&users) {
            prop_assert!(got.contains(user.as_str()), "{:?} is not {:?}", got, user);
        }
    }

    #[test]
    fn a_cut_file_keeps_what_came_before_and_says_so(
        users in prop::collection::vec("[a-z]{1,8}", 1..8),
        cut in 0.0f64..1.0,
    ) {
        let text = cloudtrail_file(&users);
        let at = ((text.len() as f64) * cut) as usize;
        let r = read(&text.as_bytes()[..at]);
        // Only whole records before the cut, in order, and the cut reported.
        prop_assert!(r.ids.len() <= users.len());
        for (i, id) in r.ids.iter().enumerate() {
            prop_assert_eq!(id, &format!("ev-{i}"));
        }
        if at > 0 {
            prop_assert!(!r.errors.is_empty(), "a cut at {} of {} went unreported", at, text.len());
        }
    }
}
