//! Correlation rules: the four types, windows, groups, generate, chaining.

mod common;
use common::{ev, JsonEvent};
use serde_json::json;
use trailwatch_model::Severity;
use trailwatch_sigma::{
    load_str, CorrelationHit, CorrelationState, LoadReport, RuleSet, RuleSetConfig,
};

const BASE: &str = r#"
title: Failed Console Login
id: 11111111-0000-0000-0000-000000000001
name: failed_login
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Failure
  condition: selection
level: low
---
title: GetCallerIdentity Call
id: 11111111-0000-0000-0000-000000000002
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: GetCallerIdentity
  condition: selection
level: informational
---
title: S3 ListBuckets Call
id: 11111111-0000-0000-0000-000000000003
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: ListBuckets
  condition: selection
level: informational
"#;

fn load(correlations: &str) -> (LoadReport, RuleSet) {
    let text = format!("{BASE}---\n{correlations}");
    let rep = load_str(&text, "corr.yml");
    assert!(rep.failures.is_empty(), "{:?}", rep.failures);
    let set = rep.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Medium));
    (rep, set)
}

const T0: i64 = 1_700_000_000_000;

fn event(name: &str, ip: &str, t_s: i64, extra: serde_json::Value) -> JsonEvent {
    let mut v = json!({
        "eventName": name,
        "sourceIPAddress": ip,
        "_time_ms": T0 + t_s * 1000,
        "responseElements": {"ConsoleLogin": "Failure"},
        "userIdentity": {"arn": "arn:aws:iam::1:user/bob", "accessKeyId": "AKIA1"},
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    ev(v)
}

/// Runs events through the set the way a worker would; `split` sends odd events to a second
/// worker whose state is merged, to exercise `merge`.
fn run(set: &RuleSet, events: &[JsonEvent]) -> Vec<CorrelationHit> {
    let mut s1 = CorrelationState::new();
    let mut s2 = CorrelationState::new();
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        out.clear();
        let name = e.0["eventName"].as_str();
        set.matches(e, name, &mut out);
        for &r in &out {
            if set.feeds_correlation(r) {
                let st = if i % 2 == 0 { &mut s1 } else { &mut s2 };
                assert!(st.observe(set, r, e, &format!("ev{i}")));
            }
        }
    }
    s1.merge(s2);
    s1.finish(set)
}

const EVENT_COUNT: &str = r#"
title: Many Failed Logins
id: 22222222-0000-0000-0000-000000000001
logsource:
  product: aws
  service: cloudtrail
correlation:
  type: event_count
  rules:
    - Failed Console Login
  group-by:
    - sourceIPAddress
  timespan: 5m
  condition:
    gte: 3
  generate: false
level: high
"#;

#[test]
fn event_count_fires_once_per_window_and_groups() {
    let (_, set) = load(EVENT_COUNT);
    assert_eq!(set.correlation_count(), 1);
    // Base rule is below the min level but needed, and suppressed by generate: false.
    let (base, rule) = set
        .rules()
        .find(|(_, r)| r.title == "Failed Console Login")
        .expect("base");
    assert!(!rule.generates_alerts());
    assert!(!set.alerts(base));
    assert!(set.feeds_correlation(base));
    // Not-needed informational rules are left out.
    assert!(set.rules().all(|(_, r)| r.title != "S3 ListBuckets Call"));

    let events: Vec<JsonEvent> = [0, 60, 120, 130, 140]
        .iter()
        .map(|&t| event("ConsoleLogin", "1.1.1.1", t, json!({})))
        .chain([
            event("ConsoleLogin", "2.2.2.2", 10, json!({})),
            event("ConsoleLogin", "2.2.2.2", 20, json!({})),
        ])
        .collect();
    let hits = run(&set, &events);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let h = &hits[0];
    assert_eq!(
        h.group,
        vec![("sourceIPAddress".to_string(), Some("1.1.1.1".to_string()))]
    );
    assert_eq!(h.count, 5);
    assert_eq!(h.first_ms, T0);
    assert_eq!(h.last_ms, T0 + 140_000);
    assert_eq!(h.event_ids.len(), 5);
    assert!(h.rule.generates_alerts());
}

#[test]
fn event_count_timespan_edges() {
    let (_, set) = load(EVENT_COUNT);
    // Exactly 5 minutes between first and third: inclusive, fires.
    let ev3 = |last: i64| {
        vec![
            event("ConsoleLogin", "1.1.1.1", 0, json!({})),
            event("ConsoleLogin", "1.1.1.1", 100, json!({})),
            event("ConsoleLogin", "1.1.1.1", last, json!({})),
        ]
    };
    assert_eq!(run(&set, &ev3(300)).len(), 1);
    assert_eq!(run(&set, &ev3(301)).len(), 0);
    // Two separate bursts: two hits.
    let mut evs = ev3(10);
    evs.extend((0..3).map(|i| event("ConsoleLogin", "1.1.1.1", 3600 + i, json!({}))));
    let hits = run(&set, &evs);
    assert_eq!(hits.len(), 2);
    // Non-matching events (success) do not count.
    let evs: Vec<JsonEvent> = (0..5)
        .map(|i| {
            event(
                "ConsoleLogin",
                "1.1.1.1",
                i,
                json!({"responseElements": {"ConsoleLogin": "Success"}}),
            )
        })
        .collect();
    assert!(run(&set, &evs).is_empty());
}

#[test]
fn value_count() {
    let (_, set) = load(
        r#"
title: Many Distinct Logins
logsource:
  product: aws
  service: cloudtrail
correlation:
  type: value_count
  rules:
    - failed_login
  group-by:
    - sourceIPAddress
  timespan: 1m
  condition:
    gte: 3
    field: userIdentity.arn
level: high
"#,
    );
    let u = |arn: &str, t: i64| {
        event(
            "ConsoleLogin",
            "9.9.9.9",
            t,
            json!({"userIdentity": {"arn": arn}}),
        )
    };
    // Same user many times: one distinct value, no hit.
    assert!(run(&set, &[u("a", 0), u("a", 1), u("a", 2), u("a", 3)]).is_empty());
    let hits = run(&set, &[u("a", 0), u("b", 1), u("a", 2), u("c", 3)]);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].count, 3);
    assert_eq!(hits[0].event_ids.len(), 4);
    // Spread beyond the timespan: no hit.
    assert!(run(&set, &[u("a", 0), u("b", 40), u("c", 61)]).is_empty());
    // generate absent = false: the base rule is suppressed.
    assert!(set
        .rules()
        .any(|(_, r)| r.title == "Failed Console Login" && !r.generates_alerts()));
}

const TEMPORAL: &str = r#"
title: S3 Enum After GetCallerIdentity
logsource:
  product: aws
  service: cloudtrail
correlation:
  type: TYPE
  rules:
    - GetCallerIdentity Call
    - S3 ListBuckets Call
  group-by:
    - sourceIPAddress
    - userIdentity.accessKeyId
  timespan: 5m
  generate: true
level: high
"#;

#[test]
fn temporal_any_order() {
    let (_, set) = load(&TEMPORAL.replace("TYPE", "temporal"));
    let hits = run(
        &set,
        &[
            event("ListBuckets", "1.1.1.1", 0, json!({})),
            event("GetCallerIdentity", "1.1.1.1", 60, json!({})),
        ],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].group.len(), 2);
    assert_eq!(
        hits[0].group[1],
        (
            "userIdentity.accessKeyId".to_string(),
            Some("AKIA1".to_string())
        )
    );
    // Only one of the two rules: no hit.
    assert!(run(
        &set,
        &[
            event("ListBuckets", "1.1.1.1", 0, json!({})),
            event("ListBuckets", "1.1.1.1", 1, json!({}))
        ]
    )
    .is_empty());
    // Different groups: no hit.
    assert!(run(
        &set,
        &[
            event("ListBuckets", "1.1.1.1", 0, json!({})),
            event("GetCallerIdentity", "2.2.2.2", 1, json!({}))
        ]
    )
    .is_empty());
    // Too far apart: no hit.
    assert!(run(
        &set,
        &[
            event("ListBuckets", "1.1.1.1", 0, json!({})),
            event("GetCallerIdentity", "1.1.1.1", 301, json!({}))
        ]
    )
    .is_empty());
    // generate: true keeps the base rules alerting (their level still applies).
    assert!(set.rules().all(|(_, r)| r.generates_alerts()));
}

#[test]
fn temporal_ordered() {
    let (_, set) = load(&TEMPORAL.replace("TYPE", "temporal_ordered"));
    let wrong_order = [
        event("ListBuckets", "1.1.1.1", 0, json!({})),
        event("GetCallerIdentity", "1.1.1.1", 60, json!({})),
    ];
    assert!(run(&set, &wrong_order).is_empty());
    let right = [
        event("GetCallerIdentity", "1.1.1.1", 0, json!({})),
        event("GetCallerIdentity", "1.1.1.1", 10, json!({})),
        event("ListBuckets", "1.1.1.1", 60, json!({})),
        event("ListBuckets", "1.1.1.1", 70, json!({})),
    ];
    let hits = run(&set, &right);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].first_ms, T0);
    assert_eq!(hits[0].last_ms, T0 + 60_000);
    assert_eq!(hits[0].event_ids, vec!["ev0", "ev2"]);
    // Same second counts as in order.
    assert_eq!(
        run(
            &set,
            &[
                event("GetCallerIdentity", "1.1.1.1", 5, json!({})),
                event("ListBuckets", "1.1.1.1", 5, json!({}))
            ]
        )
        .len(),
        1
    );
    // Edge: exactly the timespan apart fires, one second more does not.
    assert_eq!(
        run(
            &set,
            &[
                event("GetCallerIdentity", "1.1.1.1", 0, json!({})),
                event("ListBuckets", "1.1.1.1", 300, json!({}))
            ]
        )
        .len(),
        1
    );
    assert!(run(
        &set,
        &[
            event("GetCallerIdentity", "1.1.1.1", 0, json!({})),
            event("ListBuckets", "1.1.1.1", 301, json!({}))
        ]
    )
    .is_empty());
}

#[test]
fn aliases_and_chaining() {
    let (_, set) = load(
        r#"
title: Recon Then Login Failures
name: recon_then_fail
logsource:
  product: aws
  service: cloudtrail
correlation:
  type: temporal
  rules:
    - 11111111-0000-0000-0000-000000000002
    - failed_login
  aliases:
    ip:
      11111111-0000-0000-0000-000000000002: requestParameters.ip
      failed_login: sourceIPAddress
  group-by:
    - ip
  timespan: 10m
level: medium
---
title: Repeated Recon Then Fail
logsource:
  product: aws
  service: cloudtrail
correlation:
  type: event_count
  rules:
    - recon_then_fail
  group-by:
    - ip
  timespan: 1h
  condition:
    gte: 2
level: critical
"#,
    );
    assert_eq!(set.correlation_count(), 2);
    let events = [
        event(
            "GetCallerIdentity",
            "10.0.0.1",
            0,
            json!({"requestParameters": {"ip": "7.7.7.7"}}),
        ),
        event("ConsoleLogin", "7.7.7.7", 30, json!({})),
        event(
            "GetCallerIdentity",
            "10.0.0.1",
            1000,
            json!({"requestParameters": {"ip": "7.7.7.7"}}),
        ),
        event("ConsoleLogin", "7.7.7.7", 1030, json!({})),
    ];
    let hits = run(&set, &events);
    let inner: Vec<&CorrelationHit> = hits
        .iter()
        .filter(|h| h.rule.title == "Recon Then Login Failures")
        .collect();
    let outer: Vec<&CorrelationHit> = hits
        .iter()
        .filter(|h| h.rule.title == "Repeated Recon Then Fail")
        .collect();
    assert_eq!(inner.len(), 2, "{hits:#?}");
    assert_eq!(
        inner[0].group,
        vec![("ip".to_string(), Some("7.7.7.7".to_string()))]
    );
    assert_eq!(outer.len(), 1);
    assert_eq!(outer[0].event_ids.len(), 4);
    // The inner correlation feeds a generate:false correlation: suppressed.
    assert!(!inner[0].rule.generates_alerts());
    assert!(outer[0].rule.generates_alerts());
}

#[test]
fn correlation_errors() {
    let bad = |body: &str| {
        let text = format!("{BASE}---\ntitle: bad\nlogsource:\n  product: aws\n  service: cloudtrail\ncorrelation:\n{body}");
        let rep = load_str(&text, "bad.yml");
        assert_eq!(rep.rules.len(), 3, "{body}");
        rep.failures
            .first()
            .map(|f| f.error.to_string())
            .unwrap_or_default()
    };
    let e = bad("  type: event_count\n  rules: [nope]\n  timespan: 5m\n  condition: {gte: 2}\n");
    assert_eq!(e, "correlation references unknown rule 'nope'");
    assert!(bad(
        "  type: event_count\n  rules: [failed_login]\n  timespan: 5x\n  condition: {gte: 2}\n"
    )
    .contains("timespan"));
    assert!(
        bad("  type: event_count\n  rules: [failed_login]\n  timespan: 5m\n").contains("condition")
    );
    assert!(bad(
        "  type: value_count\n  rules: [failed_login]\n  timespan: 5m\n  condition: {gte: 2}\n"
    )
    .contains("field"));
    assert!(
        bad("  type: sometimes\n  rules: [failed_login]\n  timespan: 5m\n")
            .contains("unknown type")
    );
    assert!(
        bad("  type: temporal\n  rules: [failed_login]\n  timespan: 5m\n").contains("two rules")
    );
}

#[test]
fn correlation_cycle_rejected() {
    let text = r#"
title: A
name: a
correlation:
  type: event_count
  rules: [b]
  timespan: 5m
  condition: {gte: 1}
---
title: B
name: b
correlation:
  type: event_count
  rules: [a]
  timespan: 5m
  condition: {gte: 1}
"#;
    let rep = load_str(text, "cycle.yml");
    assert!(rep.rules.is_empty());
    assert_eq!(rep.failures.len(), 2);
}

#[test]
fn events_without_time_are_not_observed() {
    let (_, set) = load(EVENT_COUNT);
    let e =
        ev(json!({"eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "Failure"}}));
    let mut out = Vec::new();
    set.matches(&e, Some("ConsoleLogin"), &mut out);
    assert_eq!(out.len(), 1);
    let mut st = CorrelationState::new();
    assert!(!st.observe(&set, out[0], &e, "x"));
    assert!(st.observe_at(&set, out[0], &e, 5, "x"));
    assert_eq!(st.len(), 1);
}
