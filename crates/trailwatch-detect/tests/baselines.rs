//! Baselines and chains end to end: simulated organisations (trailwatch-sim) and the SANS lab
//! through the real reader and the detection [`Pipeline`] with every detector on.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use trailwatch_baseline::Config;
use trailwatch_decode::expand_inputs;
use trailwatch_detect::group::GroupOptions;
use trailwatch_detect::{EngineOptions, HuntOptions, Pipeline, PipelineOptions, RulePack};
use trailwatch_model::{Alert, Severity};
use trailwatch_sim::{simulate, Providers, SimOptions, SimReport};

const HOUR: i64 = 3_600_000;

fn shared() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared")
}

/// Hunts `paths` with the built-in rules and the baselines; every alert at `min_level` or above.
fn hunt_with_baselines(paths: &[PathBuf], min_level: Severity) -> Vec<Alert> {
    let (inputs, errors) = expand_inputs(paths);
    assert!(errors.is_empty(), "{errors:?}");
    let pack = RulePack::load(true, &[], min_level).expect("built-in rules");
    let opts = HuntOptions {
        threads: 2,
        group: GroupOptions {
            window_ms: HOUR,
            ..GroupOptions::default()
        },
        ..HuntOptions::default()
    };
    let mut cfg = Config::default();
    cfg.baselines.max_events = 50_000_000;
    let engine = EngineOptions {
        cfg,
        baselines: true,
        chains: true,
        context: true,
    };
    let popts = PipelineOptions::new(opts, Some(engine), min_level, 0);
    let mut pipeline = Pipeline::new(&pack, popts);
    let fed = pipeline.feed(&inputs, &|e| panic!("{e}"), &|_| {});
    assert!(fed.examined > 0);
    let done = pipeline.finish(0).expect("finish");
    assert!(done.replayed <= fed.examined);
    done.alerts.iter().map(|p| p.to_alert()).collect()
}

fn sim(dir: &Path, days: u32, principals: usize, per_day: u64, attacks: bool) -> SimReport {
    let mut o = SimOptions::new(dir);
    o.providers = Providers::Aws;
    o.days = days;
    o.principals = principals;
    o.events_per_day = per_day;
    o.attacks = attacks;
    o.detections = attacks;
    o.seed = 7;
    simulate(&o).expect("simulate")
}

fn is_baseline(a: &Alert) -> bool {
    a.rule_id.starts_with("tw-baseline-") || a.rule_id.starts_with("tw-chain-")
}

/// What each scenario must raise: a rule id (or, for Sigma correlations, a title fragment).
const EXPECTED: &[(&str, &[&str])] = &[
    ("recon_then_privilege", &["tw-chain-recon-privilege"]),
    ("logging_off_then_write", &["tw-chain-logging-off-write"]),
    (
        "snapshot_created_then_shared",
        &["Snapshot or AMI Created, Then Shared"],
    ),
    ("new_key_mass_deletes", &["tw-chain-new-key-mass-objects"]),
    ("off_hours_writes", &["tw-baseline-off-hours"]),
    ("volume_spike", &["tw-baseline-volume-principal"]),
    (
        "first_seen_region_network_agent",
        &[
            "tw-baseline-new-region",
            "tw-baseline-new-network",
            "tw-baseline-new-user-agent",
        ],
    ),
    ("stolen_key_recon", &["tw-baseline-denied-burst"]),
    (
        "console_login_without_mfa",
        &["tw-baseline-console-guessing"],
    ),
    ("role_trust_backdoor", &["tw-chain-role-trust-assumed"]),
    (
        "iam_privilege_escalation_persistence",
        &["New IAM User, Then an Access Key"],
    ),
];

fn names(a: &Alert, want: &str) -> bool {
    a.rule_id == want || a.title.contains(want)
}

#[test]
fn each_scenario_fires_its_detection_and_background_stays_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = sim(dir.path(), 12, 40, 4_000, true);
    let alerts = hunt_with_baselines(&[dir.path().to_path_buf()], Severity::Informational);
    let mut attack_ids: HashSet<&str> = HashSet::new();
    for s in &report.scenarios {
        attack_ids.extend(s.event_ids.iter().map(String::as_str));
    }
    for (name, rules) in EXPECTED {
        let s = report
            .scenarios
            .iter()
            .find(|s| s.name == *name)
            .unwrap_or_else(|| panic!("no scenario {name}"));
        let ids: HashSet<&str> = s.event_ids.iter().map(String::as_str).collect();
        for rule in *rules {
            let hit = alerts
                .iter()
                .filter(|a| names(a, rule))
                .find(|a| a.event_ids.iter().any(|id| ids.contains(id.as_str())));
            assert!(
                hit.is_some(),
                "{name}: no {rule} alert on its events; alerts of that rule: {:#?}",
                alerts.iter().filter(|a| names(a, rule)).collect::<Vec<_>>()
            );
        }
    }
    // The chain alerts are about attacks only: none touches nothing but background.
    let background_chains: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.rule_id.starts_with("tw-chain-") || a.title.starts_with("Chain:"))
        .filter(|a| {
            !a.event_ids
                .iter()
                .any(|id| attack_ids.contains(id.as_str()))
        })
        .collect();
    assert!(background_chains.is_empty(), "{background_chains:#?}");
    // The recon chain is one story: the denied calls, the policy, the new key and its use.
    let s = report
        .scenarios
        .iter()
        .find(|s| s.name == "recon_then_privilege")
        .expect("scenario");
    let chain = alerts
        .iter()
        .find(|a| {
            a.rule_id == "tw-chain-recon-privilege"
                && a.event_ids.iter().any(|i| s.event_ids.contains(i))
        })
        .expect("chain");
    for action in [
        "ListBuckets",
        "PutUserPolicy",
        "CreateAccessKey",
        "GetCallerIdentity",
    ] {
        assert!(
            chain.actions.iter().any(|a| a == action),
            "{action}: {chain:#?}"
        );
    }
    assert!(chain.count >= 8, "{chain:#?}");
}

/// Quiet on background: a simulated month of an organisation of 200 people and workloads,
/// without attacks, raises fewer than five baseline or chain alerts a day at medium or above
/// (the bound). `bench/baseline_fp.sh` measures the same on a larger corpus.
#[test]
fn a_month_of_background_raises_under_five_alerts_a_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let days = 30;
    sim(dir.path(), days, 200, 6_000, false);
    let alerts = hunt_with_baselines(&[dir.path().to_path_buf()], Severity::Medium);
    let baseline: Vec<&Alert> = alerts.iter().filter(|a| is_baseline(a)).collect();
    let mut by_rule: std::collections::BTreeMap<(&str, Severity), usize> = Default::default();
    for a in &baseline {
        *by_rule.entry((a.rule_id.as_str(), a.severity)).or_default() += 1;
    }
    eprintln!("by rule and level: {by_rule:?}");
    let per_day = baseline.len() as f64 / f64::from(days);
    eprintln!(
        "baseline/chain alerts at medium+ on {days} days of background: {} ({per_day:.2}/day)",
        baseline.len()
    );
    assert!(per_day < 5.0, "{per_day:.2}/day: {baseline:#?}");
}

/// On the SANS lab, jmerckle's recon (denied calls), self-granted policy, new key and the new
/// key's first use come out as one chain alert.
#[test]
fn sans_lab_recon_policy_and_new_key_are_one_story() {
    let lab = shared().join("datasets/aws/sans-s3-ransomware");
    let alerts = hunt_with_baselines(&[lab], Severity::Low);
    let chains: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.rule_id == "tw-chain-recon-privilege")
        .collect();
    assert_eq!(chains.len(), 1, "{chains:#?}");
    let c = chains[0];
    assert!(c.principal.ends_with(":user/jmerckle"), "{}", c.principal);
    for (what, id) in [
        ("denied ListBuckets", "e3847096-f72f-4c49-9f9e-72cbcd4bbd2f"),
        (
            "denied DescribeInstances",
            "0a000e5f-dd58-4124-81a6-38c8a242931b",
        ),
        (
            "denied ListFunctions",
            "076ef1ab-f5ac-4bb7-874c-fdc04b7a2965",
        ),
        (
            "denied DescribeLogGroups",
            "86164187-9732-4895-9f48-50ea5847c6dd",
        ),
        ("PutUserPolicy", "28072de0-2382-4b53-83bc-08f6d6b75381"),
        ("CreateAccessKey", "a98b8878-ed1a-4e1e-9e0e-8276efd4d786"),
        (
            "the new key's first use",
            "2a5b604e-90eb-4837-9222-3aa4906a02dc",
        ),
    ] {
        assert!(
            c.event_ids.iter().any(|e| e == id),
            "{what} ({id}) missing: {c:#?}"
        );
    }
    assert_eq!(c.severity, Severity::Critical);
    assert!(
        c.description.contains("AKIAU7JNXC7KZLY6XYHJ"),
        "{}",
        c.description
    );
}
