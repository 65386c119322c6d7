//! The public rule corpus in ../shared/sigma must compile.

mod common;
use common::ev;
use serde_json::json;
use std::path::PathBuf;
use trailwatch_model::Severity;
use trailwatch_sigma::{load_dir, CorrelationState, RuleSetConfig, SUPPORTED_SOURCES};

fn corpus_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/sigma")
}

/// The product written in a rule file's logsource (a cheap text scan, so that rules that fail
/// to parse still count).
fn products_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("product:"))
        .map(|p| p.trim().trim_matches(['\'', '"']).to_ascii_lowercase())
        .collect()
}

#[test]
fn corpus_compiles() {
    let dir = corpus_dir();
    assert!(dir.is_dir(), "corpus not found at {}", dir.display());
    let report = load_dir(&dir);
    for f in &report.failures {
        println!("FAILED: {f}");
    }
    // Per product: compiled vs failed.
    let mut stats: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for r in &report.rules {
        let p = r
            .logsource
            .product
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase();
        stats.entry(p).or_default().0 += 1;
    }
    for f in &report.failures {
        let text = std::fs::read_to_string(&f.path).unwrap_or_default();
        let p = products_in(&text).into_iter().next().unwrap_or_default();
        stats.entry(p).or_default().1 += 1;
    }
    for (p, (ok, bad)) in &stats {
        println!("product {p:>8}: {ok} compiled, {bad} failed");
    }
    for p in ["aws", "azure"] {
        let (ok, bad) = stats.get(p).copied().unwrap_or_default();
        let rate = ok as f64 / (ok + bad).max(1) as f64;
        assert!(rate >= 0.99, "{p}: only {ok}/{} compiled", ok + bad);
    }
    let aws = report.routed_to("aws", "cloudtrail").count();
    println!("aws cloudtrail routed: {aws}");
    assert!(
        (300..2000).contains(&aws),
        "aws cloudtrail rule count {aws}"
    );
    let azure = report.routed_to("azure", "activitylogs").count();
    println!("azure activitylogs routed: {azure}");
    assert!(azure >= 30, "azure activitylogs rule count {azure}");
    println!(
        "not routed to a supported source: {}",
        report.unrouted(&SUPPORTED_SOURCES).len()
    );

    let set = report.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Informational));
    println!(
        "aws set: {} rules, {} indexed, {} unindexed, {} correlations",
        set.len(),
        set.indexed_count(),
        set.unindexed_count(),
        set.correlation_count()
    );
    assert!(set.indexed_count() > set.unindexed_count() * 5);
    assert!(set.correlation_count() >= 5);
    let az = report.ruleset(&RuleSetConfig::azure_activitylogs(Severity::Informational));
    println!(
        "azure set: {} rules, {} indexed, {} unindexed",
        az.len(),
        az.indexed_count(),
        az.unindexed_count()
    );
}

/// The Suzaku "Many Failed Logins" file references its base rule by title; it must fire.
#[test]
fn suzaku_title_reference_fires() {
    let dir = corpus_dir().join("suzaku-rules/suzaku/aws/cloudtrail");
    let rep = load_dir(&dir);
    let set = rep.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Medium));
    let mut state = CorrelationState::new();
    let mut out = Vec::new();
    for i in 0..3 {
        let e = ev(json!({
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "sourceIPAddress": "203.0.113.9",
            "responseElements": {"ConsoleLogin": "Failure"},
            "eventTime": format!("2024-01-01T00:0{i}:00Z"),
        }));
        out.clear();
        set.matches(&e, Some("ConsoleLogin"), &mut out);
        for &r in &out {
            if set.feeds_correlation(r) {
                state.observe(&set, r, &e, &format!("e{i}"));
            }
        }
    }
    let hits = state.finish(&set);
    assert!(
        hits.iter().any(|h| h.rule.title == "Many Failed Logins"
            && h.count == 3
            && h.event_ids.len() == 3),
        "{hits:#?}"
    );
}
