//! Rule index analysis and equivalence with unindexed evaluation.

mod common;
use common::ev;
use serde_json::json;
use trailwatch_model::Severity;
use trailwatch_sigma::{load_str, LoadReport, RuleRef, RuleSet, RuleSetConfig};

fn doc(title: &str, detection: &str) -> String {
    let mut s = format!(
        "title: {title}\nlogsource:\n  product: aws\n  service: cloudtrail\nlevel: high\ndetection:\n"
    );
    for l in detection.lines() {
        s.push_str("  ");
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn report(docs: &[(&str, &str)]) -> LoadReport {
    let text: Vec<String> = docs.iter().map(|(t, d)| doc(t, d)).collect();
    let r = load_str(&text.join("---\n"), "index.yml");
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    r
}

fn keys(set: &RuleSet, title: &str) -> Vec<String> {
    let (r, _) = set
        .rules()
        .find(|(_, r)| r.title == title)
        .expect("rule in set");
    set.index_keys_of(r)
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[test]
fn analysis() {
    let rep = report(&[
        ("and_not", "selection:\n  eventName: [A, B]\nfilter:\n  errorCode|exists: true\ncondition: selection and not filter"),
        ("or_unconstrained", "sel1:\n  eventName: A\nsel2:\n  eventSource: x\ncondition: sel1 or sel2"),
        ("or_constrained", "sel1:\n  eventName: A\nsel2:\n  eventName: C\ncondition: sel1 or sel2"),
        ("not_only", "sel:\n  eventName: A\ncondition: not sel"),
        ("wildcard", "sel:\n  eventName: Get*\ncondition: sel"),
        ("contains", "sel:\n  eventName|contains: Get\ncondition: sel"),
        ("list_of_maps", "sel:\n  - eventName: D\n    a: 1\n  - eventName: E\ncondition: sel"),
        ("list_of_maps_open", "sel:\n  - eventName: D\n  - a: 1\ncondition: sel"),
        ("intersection", "s1:\n  eventName: [A, B]\ns2:\n  eventName: [B, C]\ncondition: s1 and s2"),
        ("one_of", "selection_a:\n  eventName: F\nselection_b:\n  eventName: G\ncondition: 1 of selection_*"),
        ("case", "sel:\n  EVENTNAME|cased: MixedCase\ncondition: sel"),
        ("nullvalue", "sel:\n  eventName: null\ncondition: sel"),
        ("keyword", "keywords:\n  - CreateUser\ncondition: keywords"),
    ]);
    let set = report_set(&rep);
    assert_eq!(keys(&set, "and_not"), ["a", "b"]);
    assert!(keys(&set, "or_unconstrained").is_empty());
    assert_eq!(keys(&set, "or_constrained"), ["a", "c"]);
    assert!(keys(&set, "not_only").is_empty());
    assert!(keys(&set, "wildcard").is_empty());
    assert!(keys(&set, "contains").is_empty());
    assert_eq!(keys(&set, "list_of_maps"), ["d", "e"]);
    assert!(keys(&set, "list_of_maps_open").is_empty());
    assert_eq!(keys(&set, "intersection"), ["b"]);
    assert_eq!(keys(&set, "one_of"), ["f", "g"]);
    assert_eq!(keys(&set, "case"), ["mixedcase"]);
    assert!(keys(&set, "nullvalue").is_empty());
    assert!(keys(&set, "keyword").is_empty());
    assert_eq!(set.indexed_count(), 6);
    assert_eq!(set.unindexed_count(), 7);

    // Lookups fold case.
    let mut out = Vec::new();
    let e = ev(json!({"eventName": "a"}));
    set.matches(&e, Some("A"), &mut out);
    let titles: Vec<&str> = out
        .iter()
        .filter_map(|r| set.rule(*r))
        .map(|r| r.title.as_str())
        .collect();
    assert!(titles.contains(&"and_not"), "{titles:?}");
    assert!(titles.contains(&"or_constrained"));
    assert!(titles.contains(&"or_unconstrained"));
    assert!(!titles.contains(&"not_only"));
}

fn report_set(rep: &LoadReport) -> RuleSet {
    rep.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Informational))
}

#[test]
fn azure_index_fields() {
    let text = "title: az\nlogsource:\n  product: azure\n  service: activitylogs\ndetection:\n  sel:\n    OperationNameValue: MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE\n  condition: sel\n---\ntitle: az2\nlogsource:\n  product: azure\n  service: activitylogs\ndetection:\n  sel:\n    operationName: microsoft.network/x/write\n  condition: sel\n";
    let rep = load_str(text, "az.yml");
    let set = rep.ruleset(&RuleSetConfig::azure_activitylogs(Severity::Low));
    assert_eq!(set.indexed_count(), 2);
    assert_eq!(
        keys(&set, "az"),
        ["microsoft.compute/virtualmachines/write"]
    );
    // Not routed to AWS.
    assert_eq!(report_set(&rep).len(), 0);
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

#[test]
fn index_equals_full_evaluation() {
    let names = [
        "CreateUser",
        "createuser",
        "DeleteTrail",
        "GetObject",
        "ListBuckets",
        "PutBucketPolicy",
        "StopLogging",
        "Other",
        "ÄNDERN",
        "",
    ];
    let sources = [
        "iam.amazonaws.com",
        "s3.amazonaws.com",
        "cloudtrail.amazonaws.com",
    ];
    let errors = ["AccessDenied", "", "-"];
    let rep = report(&[
        ("r1", "sel:\n  eventName: CreateUser\ncondition: sel"),
        ("r2", "sel:\n  eventName: [DeleteTrail, StopLogging]\n  eventSource: cloudtrail.amazonaws.com\nfilter:\n  errorCode|exists: true\ncondition: sel and not filter"),
        ("r3", "sel:\n  eventName|startswith: Put\ncondition: sel"),
        ("r4", "s1:\n  eventName: GetObject\ns2:\n  errorCode: AccessDenied\ncondition: s1 or s2"),
        ("r5", "s1:\n  eventName: ListBuckets\ns2:\n  eventName: GetObject\ns3:\n  eventSource: s3.amazonaws.com\ncondition: (s1 or s2) and s3"),
        ("r6", "s1:\n  eventName: ListBuckets\ncondition: not s1"),
        ("r7", "keywords:\n  - bucket\ncondition: keywords"),
        ("r8", "sel:\n  - eventName: CreateUser\n    errorCode: AccessDenied\n  - eventName: PutBucketPolicy\ncondition: sel"),
        ("r9", "sel:\n  eventName: ändern\ncondition: sel"),
        ("r10", "sel:\n  eventName: ''\ncondition: sel"),
    ]);
    let set = report_set(&rep);
    assert!(set.indexed_count() >= 5);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut total_matches = 0;
    for _ in 0..500 {
        let name = rng.pick(&names);
        let mut v = json!({"eventName": name, "eventSource": rng.pick(&sources)});
        let err = rng.pick(&errors);
        if err != "-" {
            v["errorCode"] = json!(err);
        }
        let e = ev(v);
        a.clear();
        b.clear();
        set.matches(&e, Some(name), &mut a);
        set.matches_unindexed(&e, &mut b);
        a.sort();
        b.sort();
        assert_eq!(a, b, "event {}", e.0);
        total_matches += a.len();
    }
    assert!(total_matches > 200, "generator too weak: {total_matches}");
    // No index value: only rules that do not require eventName.
    let e = ev(json!({"errorCode": "AccessDenied"}));
    a.clear();
    b.clear();
    set.matches(&e, None, &mut a);
    set.matches_unindexed(&e, &mut b);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let _: Option<RuleRef> = a.first().copied();
}
