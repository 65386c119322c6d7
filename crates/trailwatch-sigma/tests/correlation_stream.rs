//! Continuous correlation: `finish_until` over events fed in steps (slightly out of order),
//! with snapshot/restore in between, finds exactly the hits of the batch `finish`.

mod common;
use common::{ev, JsonEvent};
use proptest::prelude::*;
use serde_json::json;
use trailwatch_model::Severity;
use trailwatch_sigma::{
    load_str, CorrelationHit, CorrelationSnapshot, CorrelationState, RuleSet, RuleSetConfig,
};

/// Three detection rules (by `eventName`) and correlations of every type, with a two-level
/// chain: `chain2` (temporal) over `ec_a` and `chain1`, `chain1` (event_count) over `tmp_ab`.
const RULES: &str = r#"
title: Rule A
name: rule_a
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: A}
  condition: selection
level: low
---
title: Rule B
name: rule_b
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: B}
  condition: selection
level: low
---
title: Rule C
name: rule_c
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: C}
  condition: selection
level: low
---
title: Many A
id: 33333333-0000-0000-0000-000000000001
name: ec_a
logsource: {product: aws, service: cloudtrail}
correlation:
  type: event_count
  rules: [rule_a]
  group-by: [ip]
  timespan: 10s
  condition: {gte: 3}
level: high
---
title: Some C
name: ec_c
logsource: {product: aws, service: cloudtrail}
correlation:
  type: event_count
  rules: [rule_c]
  timespan: 3s
  condition: {gte: 2, lte: 3}
level: high
---
title: Distinct Users
name: vc_ab
logsource: {product: aws, service: cloudtrail}
correlation:
  type: value_count
  rules: [rule_a, rule_b]
  group-by: [ip]
  timespan: 15s
  condition: {gte: 2, field: user}
level: high
---
title: A And B
name: tmp_ab
logsource: {product: aws, service: cloudtrail}
correlation:
  type: temporal
  rules: [rule_a, rule_b]
  group-by: [ip]
  timespan: 5s
level: high
---
title: A Then B Then C
name: ord_abc
logsource: {product: aws, service: cloudtrail}
correlation:
  type: temporal_ordered
  rules: [rule_a, rule_b, rule_c]
  group-by: [ip]
  timespan: 8s
level: high
---
title: Repeated A And B
name: chain1
logsource: {product: aws, service: cloudtrail}
correlation:
  type: event_count
  rules: [tmp_ab]
  group-by: [ip]
  timespan: 20s
  condition: {gte: 2}
level: high
---
title: Many A With Repeated A And B
name: chain2
logsource: {product: aws, service: cloudtrail}
correlation:
  type: temporal
  rules: [ec_a, chain1]
  group-by: [ip]
  timespan: 30s
level: high
"#;

fn ruleset(text: &str) -> RuleSet {
    let rep = load_str(text, "stream.yml");
    assert!(rep.failures.is_empty(), "{:?}", rep.failures);
    rep.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Medium))
}

/// One generated event: rule (0..3), ip (3 = absent), user (3 = absent), time, id.
#[derive(Debug, Clone)]
struct Gen {
    kind: u8,
    ip: u8,
    user: u8,
    time: i64,
    id: String,
}

fn json_event(g: &Gen) -> JsonEvent {
    let name = ["A", "B", "C"][g.kind as usize % 3];
    let mut v = json!({"eventName": name, "_time_ms": g.time});
    if g.ip < 3 {
        v["ip"] = json!(format!("10.0.0.{}", g.ip));
    }
    if g.user < 3 {
        v["user"] = json!(format!("u{}", g.user));
    }
    ev(v)
}

/// Feeds one event as a worker would.
fn feed(set: &RuleSet, st: &mut CorrelationState, g: &Gen) {
    let e = json_event(g);
    let mut out = Vec::new();
    let name = e.0["eventName"].as_str();
    set.matches(&e, name, &mut out);
    for &r in &out {
        if set.feeds_correlation(r) {
            st.observe(set, r, &e, &g.id);
        }
    }
}

type HitKey = (
    String,
    Vec<(String, Option<String>)>,
    i64,
    i64,
    u64,
    Vec<String>,
);

fn keys(hits: &[CorrelationHit]) -> Vec<HitKey> {
    let mut v: Vec<HitKey> = hits
        .iter()
        .map(|h| {
            (
                h.rule.key().to_string(),
                h.group.clone(),
                h.first_ms,
                h.last_ms,
                h.count,
                h.event_ids.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

fn batch(set: &RuleSet, events: &[Gen]) -> Vec<CorrelationHit> {
    let mut st = CorrelationState::new();
    for g in events {
        feed(set, &mut st, g);
    }
    st.finish(set)
}

/// Through serde_json and back, as a restart would.
fn round_trip(set: &RuleSet, st: &CorrelationState) -> CorrelationState {
    let before = st.retained();
    let text = serde_json::to_string(&st.snapshot(set)).expect("snapshot serializes");
    let snap: CorrelationSnapshot = serde_json::from_str(&text).expect("snapshot parses");
    let (restored, dropped) = CorrelationState::restore(set, snap);
    assert_eq!(dropped, 0);
    assert_eq!(restored.retained(), before);
    restored
}

/// What to do after each step of the stream.
#[derive(Debug, Clone, Copy)]
struct StepPlan {
    size: usize,
    /// Feed the step through a separate worker state merged in.
    via_worker: bool,
    call_finish: bool,
    snapshot: bool,
}

fn step_plan() -> impl Strategy<Value = StepPlan> {
    (
        1usize..25,
        any::<bool>(),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(size, via_worker, call_finish, snapshot)| StepPlan {
            size,
            via_worker,
            call_finish,
            snapshot,
        })
}

/// Feeds `arrival` in steps, calling `finish_until(max_seen - reorder)` after steps, and
/// returns every hit emitted (the last call decides everything).
fn stream(set: &RuleSet, arrival: &[Gen], plans: &[StepPlan], reorder: i64) -> Vec<CorrelationHit> {
    let mut st = CorrelationState::new();
    let mut hits = Vec::new();
    let mut max_seen = i64::MIN;
    let mut pos = 0;
    let mut plan = plans.iter().cycle();
    while pos < arrival.len() {
        let p = plan.next().copied().unwrap_or(StepPlan {
            size: 1,
            via_worker: false,
            call_finish: true,
            snapshot: false,
        });
        let end = (pos + p.size).min(arrival.len());
        let mut worker = CorrelationState::new();
        for g in &arrival[pos..end] {
            max_seen = max_seen.max(g.time);
            feed(set, if p.via_worker { &mut worker } else { &mut st }, g);
        }
        st.merge(worker);
        pos = end;
        if p.call_finish {
            hits.extend(st.finish_until(set, max_seen - reorder));
        }
        if p.snapshot {
            st = round_trip(set, &st);
        }
    }
    hits.extend(st.finish_until(set, i64::MAX));
    assert_eq!(st.retained(), 0);
    assert_eq!(st.event_ids().count(), 0);
    hits
}

fn gen_events() -> impl Strategy<Value = (Vec<Gen>, Vec<i64>)> {
    let one = (0u8..3, 0u8..4, 0u8..4, 0i64..600);
    (
        prop::collection::vec(one, 0..160),
        prop::sample::select(vec![20i64, 100, 300]),
    )
        .prop_flat_map(|(raw, scale)| {
            let n = raw.len();
            let events: Vec<Gen> = raw
                .into_iter()
                .enumerate()
                .map(|(i, (kind, ip, user, k))| Gen {
                    kind,
                    ip,
                    user,
                    time: 1_700_000_000_000 + k * scale,
                    id: format!("ev{i:03}"),
                })
                .collect();
            (Just(events), prop::collection::vec(0i64..1_000_000, n))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Events arrive in order of `time + delay` with `delay < reorder`, so every event of a
    /// step is less than `reorder` ms older than the previous steps' latest event, and the
    /// horizon `max_seen - reorder` keeps the caller's promise.
    #[test]
    fn stream_equals_batch(
        (events, delays) in gen_events(),
        reorder in 1i64..6_000,
        plans in prop::collection::vec(step_plan(), 1..8),
    ) {
        let set = ruleset(RULES);
        let mut arrival: Vec<(i64, usize)> = events
            .iter()
            .zip(&delays)
            .enumerate()
            .map(|(i, (g, d))| (g.time + d % reorder, i))
            .collect();
        arrival.sort();
        let arrival: Vec<Gen> = arrival.iter().filter_map(|&(_, i)| events.get(i).cloned()).collect();
        let want = keys(&batch(&set, &events));
        let got = keys(&stream(&set, &arrival, &plans, reorder));
        prop_assert_eq!(got, want);
    }
}

fn gen(kind: u8, ip: u8, user: u8, t_ms: i64, id: &str) -> Gen {
    Gen {
        kind,
        ip,
        user,
        time: t_ms,
        id: id.to_string(),
    }
}

#[test]
fn the_chained_set_finds_hits_at_all() {
    // Guards the property test against a rule set that never fires.
    let set = ruleset(RULES);
    let mut events = Vec::new();
    for (i, t) in [0, 1000, 2000, 3000, 12_000, 13_000, 30_000]
        .iter()
        .enumerate()
    {
        events.push(gen(0, 0, (i % 3) as u8, *t, &format!("a{i}")));
        events.push(gen(1, 0, 0, t + 100, &format!("b{i}")));
        events.push(gen(2, 0, 0, t + 200, &format!("c{i}")));
    }
    let hits = batch(&set, &events);
    for key in [
        "33333333-0000-0000-0000-000000000001",
        "Some C",
        "Distinct Users",
        "A And B",
        "A Then B Then C",
        "Repeated A And B",
        "Many A With Repeated A And B",
    ] {
        assert!(hits.iter().any(|h| h.rule.key() == key), "{key}: {hits:#?}");
    }
}

const SIMPLE: &str = r#"
title: Rule A
name: rule_a
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: A}
  condition: selection
level: low
---
title: Rule B
name: rule_b
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: B}
  condition: selection
level: low
---
title: Many A
name: ec_a
logsource: {product: aws, service: cloudtrail}
correlation:
  type: event_count
  rules: [rule_a]
  group-by: [ip]
  timespan: 10s
  condition: {gte: 3}
level: high
---
title: A And B
id: 44444444-0000-0000-0000-000000000001
logsource: {product: aws, service: cloudtrail}
correlation:
  type: temporal
  rules: [rule_a, rule_b]
  group-by: [ip]
  timespan: 5s
level: high
"#;

#[test]
fn nothing_is_emitted_while_the_window_is_open() {
    let set = ruleset(SIMPLE);
    let mut st = CorrelationState::new();
    for (i, t) in [0, 1000, 2000].iter().enumerate() {
        feed(&set, &mut st, &gen(0, 0, 0, *t, &format!("a{i}")));
    }
    // Three A already make the count, but more A up to 10 s may still join the window.
    assert!(st.finish_until(&set, 9_999).is_empty());
    // The temporal correlation's windows (5 s, no B) are decided: only "Many A" keeps its 3.
    assert_eq!(st.retained(), 3);
    assert_eq!(st.event_ids().filter(|id| *id == "a0").count(), 1);
    feed(&set, &mut st, &gen(0, 0, 0, 10_000, "a3"));
    let hits = st.finish_until(&set, 10_000);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].count, 4);
    assert_eq!(hits[0].event_ids, vec!["a0", "a1", "a2", "a3"]);
}

#[test]
fn a_hit_is_emitted_once() {
    let set = ruleset(SIMPLE);
    let mut st = CorrelationState::new();
    for (i, t) in [0, 1000, 2000].iter().enumerate() {
        feed(&set, &mut st, &gen(0, 0, 0, *t, &format!("a{i}")));
    }
    let first = st.finish_until(&set, 20_000);
    assert_eq!(first.len(), 1);
    assert!(st.finish_until(&set, 20_000).is_empty());
    assert!(st.finish_until(&set, 40_000).is_empty());
    assert!(st.finish_until(&set, i64::MAX).is_empty());
    assert_eq!(st.retained(), 0);
}

#[test]
fn undecided_windows_keep_only_their_suffix() {
    let set = ruleset(SIMPLE);
    let mut st = CorrelationState::new();
    // A at 0 and 20 s: the window from 0 is decided (no hit) by 10 s, that from 20 s is not.
    feed(&set, &mut st, &gen(0, 0, 0, 0, "old"));
    feed(&set, &mut st, &gen(0, 0, 0, 20_000, "new"));
    assert!(st.finish_until(&set, 21_000).is_empty());
    let ids: Vec<&str> = st.event_ids().collect();
    assert_eq!(ids, vec!["new", "new"]);
}

#[test]
fn chained_correlations_wait_for_the_inner_lag() {
    let set = ruleset(RULES);
    let mut st = CorrelationState::new();
    // Two A+B pairs in group 10.0.0.0, 6 s apart: two tmp_ab hits, then one chain1 hit.
    for (i, t) in [0i64, 6_000].iter().enumerate() {
        feed(&set, &mut st, &gen(0, 0, 0, *t, &format!("a{i}")));
        feed(&set, &mut st, &gen(1, 0, 0, t + 100, &format!("b{i}")));
    }
    let by = |hits: &[CorrelationHit], title: &str| {
        hits.iter().filter(|h| h.rule.title == title).count()
    };
    // tmp_ab's windows are decided by 6_000 + 5 s; chain1's lag is 5 s and its window from the
    // first inner hit (100) is decided at 100 + 20 s + 5 s.
    let h1 = st.finish_until(&set, 11_000);
    assert_eq!(by(&h1, "A And B"), 2, "{h1:#?}");
    assert_eq!(by(&h1, "Repeated A And B"), 0);
    let h2 = st.finish_until(&set, 25_099);
    assert_eq!(by(&h2, "Repeated A And B"), 0, "{h2:#?}");
    let h3 = st.finish_until(&set, 25_100);
    assert_eq!(by(&h3, "Repeated A And B"), 1, "{h3:#?}");
    assert_eq!(by(&h3, "A And B"), 0);
}

#[test]
fn restore_drops_the_observations_of_removed_correlations() {
    let set = ruleset(SIMPLE);
    let mut st = CorrelationState::new();
    for (i, t) in [0, 1000].iter().enumerate() {
        feed(&set, &mut st, &gen(0, 0, 0, *t, &format!("a{i}")));
    }
    feed(&set, &mut st, &gen(1, 0, 0, 2000, "b0"));
    assert_eq!(st.retained(), 5);
    let text = serde_json::to_string(&st.snapshot(&set)).expect("serializes");
    // "Many A" removed: the temporal correlation moves to another index but keeps its key.
    let without = SIMPLE.replace(
        "title: Many A\nname: ec_a\nlogsource: {product: aws, service: cloudtrail}\ncorrelation:\n  type: event_count\n  rules: [rule_a]\n  group-by: [ip]\n  timespan: 10s\n  condition: {gte: 3}\nlevel: high\n---\n",
        "",
    );
    let smaller = ruleset(&without);
    assert_eq!(smaller.correlation_count(), 1);
    let snap: CorrelationSnapshot = serde_json::from_str(&text).expect("parses");
    let (mut restored, dropped) = CorrelationState::restore(&smaller, snap);
    assert_eq!(dropped, 2, "the two A observations of 'Many A'");
    assert_eq!(restored.retained(), 3);
    let hits = restored.finish_until(&smaller, i64::MAX);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].rule.title, "A And B");
    assert_eq!(hits[0].event_ids, vec!["a0", "a1", "b0"]);
}
