//! The built-in pack: every rule compiles, carries positive and negative examples, and each
//! example gives the expected result through the real reader.

use trailwatch_detect::{ruletest, RulePack};
use trailwatch_model::Severity;

#[test]
fn every_builtin_rule_compiles_and_passes_its_examples() {
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    assert!(
        pack.failures().is_empty(),
        "{:?}",
        pack.failures()
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
    );
    let rules = &pack.report.rules;
    assert!(rules.len() >= 70, "only {} built-in rules", rules.len());
    for r in rules.iter().filter(|r| !r.is_correlation()) {
        assert!(
            !r.tests.positive.is_empty() && !r.tests.negative.is_empty(),
            "{} lacks examples",
            r.title
        );
        assert!(
            r.tags.iter().any(|t| t.starts_with("attack.")),
            "{} has no ATT&CK tag",
            r.title
        );
    }
    let results = ruletest::run(rules);
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{} ({:?} #{}): {}",
                r.rule.title, r.expect, r.index, r.detail
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} examples failed:\n{}",
        failed.len(),
        results.len(),
        failed.join("\n")
    );
    assert!(results.len() > 2 * 60);
}

#[test]
fn builtin_pack_covers_every_cis_monitoring_control() {
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    for n in 1..=15 {
        let tag = format!("cis.aws.4.{n}");
        assert!(
            pack.report.rules.iter().any(|r| r.tags.contains(&tag)),
            "no rule for {tag}"
        );
    }
}

#[test]
fn builtin_rules_route_to_both_clouds_and_most_are_indexed() {
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    assert!(
        pack.aws.len() >= 45 && pack.azure.len() >= 20,
        "aws {} azure {}",
        pack.aws.len(),
        pack.azure.len()
    );
    assert!(
        pack.aws.indexed_count() * 10 >= pack.aws.len() * 8,
        "{} of {} indexed",
        pack.aws.indexed_count(),
        pack.aws.len()
    );
}
