//! The Azure built-in rules on a simulated month of Azure Activity Log background (no attacks):
//! routine administration must stay under five alerts a day at medium or above.

use std::collections::BTreeMap;
use trailwatch_decode::expand_inputs;
use trailwatch_detect::{hunt, HuntOptions, RulePack};
use trailwatch_model::{Provider, Severity};
use trailwatch_sim::{simulate, Providers, SimOptions};

#[test]
fn a_month_of_azure_background_raises_under_five_rule_alerts_a_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let days = 30;
    let mut o = SimOptions::new(dir.path());
    o.providers = Providers::Azure;
    o.days = days;
    o.attacks = false;
    o.detections = false;
    o.seed = 11;
    o.events_per_day = 20_000;
    let report = simulate(&o).expect("simulate");
    assert!(
        report.azure.records > 20_000,
        "{} records",
        report.azure.records
    );
    let (inputs, errors) = expand_inputs(&[dir.path().to_path_buf()]);
    assert!(errors.is_empty(), "{errors:?}");
    let pack = RulePack::load(true, &[], Severity::Low).expect("built-in rules");
    let hunted = hunt(&inputs, &pack, &HuntOptions::default(), &|_| {}, &|_| {});
    let alerts = hunted.alerts();
    let azure: Vec<_> = alerts
        .iter()
        .filter(|a| a.provider == Provider::Azure)
        .collect();
    assert!(
        azure.iter().any(|a| a.severity == Severity::Low),
        "routine changes are still seen, at low"
    );
    let mut by_rule: BTreeMap<(Severity, &str), usize> = BTreeMap::new();
    for a in azure.iter().filter(|a| a.severity >= Severity::Medium) {
        *by_rule.entry((a.severity, a.title.as_str())).or_default() += 1;
    }
    let loud: usize = by_rule.values().sum();
    let per_day = loud as f64 / f64::from(days);
    eprintln!(
        "Azure alerts at medium or above on {days} days: {loud} ({per_day:.2}/day): {by_rule:?}"
    );
    assert!(per_day < 5.0, "{per_day:.2}/day: {by_rule:#?}");
}
