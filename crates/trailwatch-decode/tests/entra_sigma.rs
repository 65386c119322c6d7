//! The community's Sigma rules for Entra ID (SigmaHQ `signinlogs`, `auditlogs`,
//! `riskdetection` and `pim` rules, read from `../shared/sigma`, never copied) compile into
//! the pack's Entra rule set, and fire on our examples where they should — in every shape.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use trailwatch_decode::{expand_inputs, read_input, ReadScratch};
use trailwatch_detect::RulePack;
use trailwatch_model::{Provider, Severity};

const AZURE_RULES: &str = "../../../shared/sigma/sigmahq/rules/cloud/azure";
const ENTRA_DIRS: [&str; 4] = [
    "signin_logs",
    "audit_logs",
    "identity_protection",
    "privileged_identity_management",
];

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rule_dirs() -> Vec<PathBuf> {
    ENTRA_DIRS
        .iter()
        .map(|d| manifest().join(AZURE_RULES).join(d))
        .collect()
}

fn yml_files(dirs: &[PathBuf]) -> usize {
    dirs.iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yml")
        })
        .count()
}

/// Which rule files fire on which event id, over the example files given.
fn firings(pack: &RulePack, files: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|f| manifest().join("tests/data/entra").join(f))
        .collect();
    let (inputs, _) = expand_inputs(&paths);
    let set = pack.set(Provider::Entra);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut scratch = ReadScratch::default();
    let mut hits = Vec::new();
    for input in &inputs {
        read_input(
            input,
            &mut scratch,
            &mut |r| {
                if r.provider() != Provider::Entra {
                    return;
                }
                hits.clear();
                set.matches(r.fields(), r.index_value().as_deref(), &mut hits);
                let fired = out.entry(r.event_id()).or_default();
                for h in &hits {
                    let rule = set.rule(*h).unwrap();
                    let file = rule.path.file_name().unwrap().to_string_lossy();
                    fired.insert(file.into_owned());
                }
            },
            &mut |_| {},
        );
    }
    out
}

#[test]
fn sigmahq_entra_rules_compile_into_the_entra_set_and_fire_in_every_shape() {
    let dirs = rule_dirs();
    let pack = RulePack::load(false, &dirs, Severity::Informational).unwrap();
    let files = yml_files(&dirs);
    for f in pack.failures() {
        println!("did not compile: {f}");
    }
    println!(
        "{files} rule files, {} compiled, {} in the entra set, {} failed",
        pack.report.rules.len(),
        pack.entra.len(),
        pack.failures().len()
    );
    assert!(files >= 80, "{files} rule files");
    assert!(pack.failures().is_empty(), "{:?}", pack.failures());
    assert_eq!(pack.entra.len(), files);
    assert!(pack.aws.is_empty() && pack.azure.is_empty());

    // (example event, shapes it is in, rule files that must fire on it)
    let expected: &[(&str, &[&str], &[&str])] = &[
        (
            // Single-factor SMTP AUTH with the BAV2ROPC agent that succeeded.
            "5f1e0c2a-0002-4b6e-9c1d-202603020002",
            &["graph/signIns.json", "log-analytics/query-signinlogs.json"],
            &[
                "azure_ad_suspicious_signin_bypassing_mfa.yml",
                "azure_app_ropc_authentication.yml",
                "azure_ad_only_single_factor_auth_required.yml",
            ],
        ),
        (
            "5f1e0c2a-0003-4b6e-9c1d-202603020003",
            &["graph/signIns.json", "portal-csv/SigninLogs.csv"],
            &["azure_mfa_denies.yml", "azure_mfa_interrupted.yml"],
        ),
        (
            "5f1e0c2a-0005-4b6e-9c1d-202603020005",
            &["graph/signIns.json", "log-analytics/SigninLogs.json"],
            &["azure_identity_protection_unfamilar_sign_in.yml"],
        ),
        (
            "5f1e0c2a-0006-4b6e-9c1d-202603020006",
            &["graph/signIns.json", "log-analytics/query-signinlogs.json"],
            &["azure_account_lockout.yml"],
        ),
        (
            "5f1e0c2a-0007-4b6e-9c1d-202603020007",
            &["graph/signIns.json"],
            &["azure_app_device_code_authentication.yml"],
        ),
        (
            "5f1e0c2a-0009-4b6e-9c1d-202603020009",
            &[
                "diagnostic/insights-logs-signinlogs/PT1H.json",
                "portal-csv/SigninLogs.csv",
            ],
            &["azure_user_login_blocked_by_conditional_access.yml"],
        ),
        (
            "5f1e0c2a-0010-4b6e-9c1d-202603020010",
            &["diagnostic/insights-logs-signinlogs/PT1H.json"],
            &["azure_login_to_disabled_account.yml"],
        ),
        (
            "5f1e0c2a-0013-4b6e-9c1d-202603020013",
            &["graph/signIns.json"],
            &["azure_ad_azurehound_discovery.yml"],
        ),
        (
            // Global Administrator granted.
            "Directory_4c3b2a19-0001-4000-8000-000000000001_ABCDE_1",
            &[
                "graph/directoryAudits.json",
                "diagnostic/insights-logs-auditlogs/PT1H.json",
                "log-analytics/query-auditlogs.json",
            ],
            &[
                "azure_ad_user_added_to_admin_role.yml",
                "azure_ad_users_added_to_device_admin_roles.yml",
            ],
        ),
        (
            "Directory_4c3b2a19-0002-4000-8000-000000000002_ABCDE_2",
            &[
                "graph/directoryAudits.json",
                "eventhub/records.json",
                "log-analytics/query-auditlogs.json",
            ],
            &["azure_app_end_user_consent.yml"],
        ),
        (
            "Directory_4c3b2a19-0003-4000-8000-000000000003_ABCDE_3",
            &["graph/directoryAudits.json", "portal-csv/AuditLogs.csv"],
            &["azure_app_credential_added.yml"],
        ),
        (
            "Directory_4c3b2a19-0005-4000-8000-000000000005_ABCDE_5",
            &["graph/directoryAudits.json", "portal-csv/AuditLogs.csv"],
            &["azure_guest_invite_failure.yml"],
        ),
        (
            "Directory_4c3b2a19-0006-4000-8000-000000000006_ABCDE_6",
            &["graph/directoryAudits.json", "portal-csv/AuditLogs.csv"],
            &["azure_aad_secops_ca_policy_updatedby_bad_actor.yml"],
        ),
        (
            "Directory_4c3b2a19-0007-4000-8000-000000000007_ABCDE_7",
            &["graph/directoryAudits.json", "eventhub/records.json"],
            &["azure_change_to_authentication_method.yml"],
        ),
    ];
    for (id, shapes, rules) in expected {
        for shape in *shapes {
            let fired = firings(&pack, &[shape]);
            let got = fired
                .get(*id)
                .unwrap_or_else(|| panic!("{id} not read from {shape}"));
            for rule in *rules {
                assert!(
                    got.contains(*rule),
                    "{shape}: {id}: {rule} did not fire ({got:?})"
                );
            }
        }
    }

    // And where they should not: the failed IMAP sign-in (50126) is neither a success nor
    // a risky or MFA event; a routine non-interactive refresh trips only the rules that flag
    // every single-factor success and every device that is not compliant.
    let fired = firings(&pack, &["graph/signIns.json"]);
    let failed = &fired["5f1e0c2a-0001-4b6e-9c1d-202603020001"];
    for rule in [
        "azure_ad_only_single_factor_auth_required.yml",
        "azure_ad_suspicious_signin_bypassing_mfa.yml",
        "azure_app_ropc_authentication.yml",
        "azure_mfa_denies.yml",
        "azure_mfa_interrupted.yml",
        "azure_account_lockout.yml",
        "azure_identity_protection_unfamilar_sign_in.yml",
    ] {
        assert!(
            !failed.contains(rule),
            "{rule} fired on a failed sign-in: {failed:?}"
        );
    }
    let interrupted = &fired["5f1e0c2a-0004-4b6e-9c1d-202603020004"];
    assert!(
        !interrupted.contains("azure_mfa_denies.yml"),
        "{interrupted:?}"
    );
    let quiet = firings(&pack, &["log-analytics/query-noninteractive.json"]);
    let quiet = &quiet["5f1e0c2a-0008-4b6e-9c1d-202603020008"];
    assert!(quiet.contains("azure_ad_only_single_factor_auth_required.yml"));
    let expected_noise = [
        "azure_ad_only_single_factor_auth_required.yml",
        "azure_ad_sign_ins_from_noncompliant_devices.yml",
    ];
    assert!(
        quiet.iter().all(|r| expected_noise.contains(&r.as_str())),
        "{quiet:?}"
    );
    let all = firings(&pack, &[""]);
    let rules_fired: BTreeSet<&String> = all.values().flatten().collect();
    println!(
        "{} distinct rules fired over the examples",
        rules_fired.len()
    );
}
