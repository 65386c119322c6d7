//! Loading: documents, collections, metadata, failures, routing.

mod common;
use common::ev;
use serde_json::json;
use std::path::Path;
use trailwatch_model::Severity;
use trailwatch_sigma::{
    load_dir, load_str, Loader, RuleError, RuleSetConfig, DEFAULT_LEVEL, SUPPORTED_SOURCES,
};

const FULL: &str = r#"
title: Full Rule
id: 5f8b8e26-0000-4000-8000-000000000001
name: full_rule
status: test
description: Something bad.
author: Someone
references:
  - https://example.com
tags:
  - attack.persistence
  - attack.t1098
logsource:
  product: aws
  service: cloudtrail
  category: api
detection:
  selection:
    eventName: CreateAccessKey
  condition: selection
falsepositives:
  - Admins
level: high
tests:
  positive:
    - eventName: CreateAccessKey
      userIdentity: {type: IAMUser}
  negative:
    - eventName: DeleteAccessKey
"#;

#[test]
fn metadata_and_tests_attribute() {
    let rep = load_str(FULL, "full.yml");
    assert!(rep.failures.is_empty());
    let r = &rep.rules[0];
    assert_eq!(r.title, "Full Rule");
    assert_eq!(
        r.id.as_deref(),
        Some("5f8b8e26-0000-4000-8000-000000000001")
    );
    assert_eq!(r.name.as_deref(), Some("full_rule"));
    assert_eq!(r.status.as_deref(), Some("test"));
    assert_eq!(r.description.as_deref(), Some("Something bad."));
    assert_eq!(r.author.as_deref(), Some("Someone"));
    assert_eq!(r.references, ["https://example.com"]);
    assert_eq!(r.tags, ["attack.persistence", "attack.t1098"]);
    assert_eq!(r.falsepositives, ["Admins"]);
    assert_eq!(r.level, Severity::High);
    assert_eq!(r.logsource.product.as_deref(), Some("aws"));
    assert_eq!(r.logsource.category.as_deref(), Some("api"));
    assert_eq!(r.path, Path::new("full.yml"));
    assert_eq!(
        r.tests.positive,
        vec![json!({"eventName": "CreateAccessKey", "userIdentity": {"type": "IAMUser"}})]
    );
    assert_eq!(r.tests.negative.len(), 1);
    for p in &r.tests.positive {
        assert!(r.matches(&ev(p.clone())));
    }
    for n in &r.tests.negative {
        assert!(!r.matches(&ev(n.clone())));
    }
    let no_level = FULL.replace("level: high\n", "");
    assert_eq!(load_str(&no_level, "x.yml").rules[0].level, DEFAULT_LEVEL);
    let bad_level = FULL.replace("level: high", "level: severe");
    let rep = load_str(&bad_level, "x.yml");
    assert!(rep.rules.is_empty());
    assert!(rep.failures[0].error.to_string().contains("level"));
    assert_eq!(rep.failures[0].title.as_deref(), Some("Full Rule"));
}

#[test]
fn failures_do_not_stop_other_rules() {
    let text = format!(
        "{FULL}---\ntitle: Broken\nid: b-1\ndetection:\n  sel:\n    x|foo: 1\n  condition: sel\n---\ntitle: Broken2\ndetection:\n  sel:\n    x: 1\n  condition: sel2\n---\n- just a list\n---\n{}",
        FULL.replace("Full Rule", "Second")
    );
    let rep = load_str(&text, "multi.yml");
    assert_eq!(rep.rules.len(), 2);
    assert_eq!(rep.failures.len(), 3);
    let f = &rep.failures[0];
    assert_eq!(f.title.as_deref(), Some("Broken"));
    assert_eq!(f.id.as_deref(), Some("b-1"));
    assert_eq!(
        f.error,
        RuleError::UnknownModifier {
            modifier: "foo".into(),
            field: "x".into()
        }
    );
    assert_eq!(
        f.to_string(),
        "multi.yml (document 2) [Broken] [id b-1]: unknown modifier 'foo' on field 'x'"
    );
    assert_eq!(
        rep.failures[1].error.to_string(),
        "condition references undefined identifier 'sel2'"
    );
    assert_eq!(rep.failures[2].error, RuleError::NotAMap);
}

#[test]
fn broken_yaml_document_is_isolated() {
    let text = format!(
        "{FULL}---\ntitle: [unclosed\n---\n{}",
        FULL.replace("Full Rule", "After")
    );
    let rep = load_str(&text, "broken.yml");
    assert_eq!(rep.rules.len(), 2, "{:?}", rep.failures);
    assert_eq!(rep.failures.len(), 1);
    assert!(matches!(rep.failures[0].error, RuleError::Yaml(_)));
}

#[test]
fn action_global_reset_repeat() {
    let text = r#"
action: global
title: Collection
logsource:
  product: aws
  service: cloudtrail
level: high
detection:
  condition: selection
---
detection:
  selection:
    eventName: A
---
title: Second
detection:
  selection:
    eventName: B
---
action: repeat
title: Repeated
detection:
  selection:
    eventName: C
---
action: reset
---
title: NoGlobal
logsource:
  product: azure
  service: activitylogs
detection:
  selection:
    operationName: X
  condition: selection
"#;
    let rep = load_str(text, "coll.yml");
    assert!(rep.failures.is_empty(), "{:?}", rep.failures);
    let titles: Vec<&str> = rep.rules.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["Collection", "Second", "Repeated", "NoGlobal"]);
    assert!(rep.rules[0].matches(&ev(json!({"eventName": "a"}))));
    assert!(rep.rules[1].matches(&ev(json!({"eventName": "b"}))));
    assert_eq!(rep.rules[1].level, Severity::High);
    // repeat merges onto the previous rule: B and C both present → selection map merged.
    assert!(rep.rules[2].matches(&ev(json!({"eventName": "c"}))));
    assert_eq!(rep.rules[3].level, DEFAULT_LEVEL);
    assert_eq!(rep.rules[3].logsource.product.as_deref(), Some("azure"));
}

#[test]
fn load_dir_recursive_and_routing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("a/b");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(dir.path().join("one.yml"), FULL).expect("write");
    std::fs::write(
        sub.join("two.yaml"),
        FULL.replace("product: aws", "product: gcp"),
    )
    .expect("write");
    std::fs::write(sub.join("ignored.txt"), "title: x").expect("write");
    std::fs::write(sub.join("bad.yml"), [0xff, 0xfe, 0x00]).expect("write");
    let rep = load_dir(dir.path());
    assert_eq!(rep.rules.len(), 2);
    assert_eq!(rep.failures.len(), 1);
    assert!(rep.failures[0].path.ends_with("bad.yml"));
    let unrouted = rep.unrouted(&SUPPORTED_SOURCES);
    assert_eq!(unrouted.len(), 1);
    assert_eq!(unrouted[0].logsource.product.as_deref(), Some("gcp"));
    assert_eq!(rep.routed_to("aws", "cloudtrail").count(), 1);
    // Missing directory is a failure, not a panic.
    let rep = load_dir(dir.path().join("missing"));
    assert!(rep.rules.is_empty());
    assert_eq!(rep.failures.len(), 1);
}

#[test]
fn min_level_filters() {
    let text = format!(
        "{FULL}---\n{}",
        FULL.replace("Full Rule", "Low One")
            .replace("level: high", "level: low")
    );
    let rep = load_str(&text, "lv.yml");
    let set = rep.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Medium));
    assert_eq!(set.len(), 1);
    let set = rep.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Low));
    assert_eq!(set.len(), 2);
    let mut out = Vec::new();
    set.matches(
        &ev(json!({"eventName": "CreateAccessKey"})),
        Some("CreateAccessKey"),
        &mut out,
    );
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|r| set.alerts(*r)));
}

#[test]
fn loader_links_across_sources() {
    let mut l = Loader::new();
    l.load_str(FULL, "builtin.yml");
    l.load_str(
        "title: C\ncorrelation:\n  type: event_count\n  rules: [full_rule]\n  timespan: 1h\n  condition: {gte: 2}\n",
        "user.yml",
    );
    let rep = l.finish();
    assert!(rep.failures.is_empty(), "{:?}", rep.failures);
    assert_eq!(rep.routed_to("aws", "cloudtrail").count(), 2);
    assert!(!rep.rules[0].generates_alerts());
}
