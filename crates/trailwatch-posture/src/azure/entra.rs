//! Entra ID's sign-in and audit logs exported by a tenant-level diagnostic setting
//! (`GET /providers/microsoft.aadiam/diagnosticSettings`): without one, Entra keeps sign-ins
//! 30 days at most and nothing reaches a SIEM.

use super::activity_log::Setting;
use super::arm::Arm;
use crate::{Check, Place, Status};
use serde_json::{json, Map, Value};
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;

pub const ID: &str = "azure.entra.diagnostic_setting";
const TITLE: &str = "Entra ID sign-in and audit logs are exported";
const PATH: &str = "/providers/microsoft.aadiam/diagnosticSettings";
const API: &str = "2017-04-01";

/// The categories that must be enabled.
pub const CATEGORIES: [&str; 5] = [
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "AuditLogs",
];

/// The tenant's check; `tenant` names it in the report.
pub fn check(arm: &Arm, tenant: &str) -> Check {
    let p = Place {
        account: tenant.to_string(),
        region: "global".into(),
        resource: PATH.to_string(),
    };
    let settings: Vec<Setting> = match arm.list(PATH, API) {
        Ok(list) => list.iter().map(Setting::read).collect(),
        Err(e) => return p.unknown(ID, Severity::High, TITLE, &e.to_string()),
    };
    let exporting: Vec<&Setting> = settings
        .iter()
        .filter(|s| s.storage.is_some() || s.workspace.is_some() || s.event_hub_rule.is_some())
        .collect();
    let Some(first) = exporting.first() else {
        return p
            .check(ID, Severity::High, Status::Fail, TITLE, "no Entra ID diagnostic setting sends logs anywhere")
            .with_manual_fix("a storage account, Log Analytics workspace or event hub, then a diagnostic setting (Entra admin center, Monitoring, Diagnostic settings) enabling SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs, ManagedIdentitySignInLogs and AuditLogs");
    };
    let missing: Vec<&str> = CATEGORIES
        .iter()
        .copied()
        .filter(|c| !exporting.iter().any(|s| s.has(c)))
        .collect();
    let names: Vec<&str> = exporting.iter().map(|s| s.name.as_str()).collect();
    if missing.is_empty() {
        return p.check(
            ID,
            Severity::High,
            Status::Pass,
            TITLE,
            format!(
                "every sign-in and audit category is exported by {}",
                names.join(", ")
            ),
        );
    }
    let evidence = format!(
        "{} export(s) but not {}",
        names.join(", "),
        missing.join(", ")
    );
    p.check(ID, Severity::High, Status::Fail, TITLE, evidence)
        .with_fix(put_setting(first))
}

/// `az rest --method put` of the setting with every category enabled, its destinations kept.
fn put_setting(s: &Setting) -> Cmd {
    let mut props = Map::new();
    for (k, v) in [
        ("storageAccountId", &s.storage),
        ("workspaceId", &s.workspace),
        ("eventHubAuthorizationRuleId", &s.event_hub_rule),
        ("eventHubName", &s.event_hub_name),
    ] {
        if let Some(v) = v {
            props.insert(k.into(), json!(v));
        }
    }
    let logs: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| json!({"category": c, "enabled": true}))
        .collect();
    props.insert("logs".into(), Value::Array(logs));
    Cmd::az(&["rest", "--method", "put"])
        .arg(
            "--uri",
            format!(
                "https://management.azure.com{PATH}/{}?api-version={API}",
                s.name
            ),
        )
        .arg("--body", json!({"properties": props}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crafted_setting_name_gets_no_fix() {
        let mut s = Setting {
            name: "to-siem".into(),
            workspace: Some("/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/r/providers/Microsoft.OperationalInsights/workspaces/w".into()),
            ..Setting::default()
        };
        assert_eq!(
            trailwatch_recover::ident::first_unfit(&put_setting(&s)),
            None
        );
        for bad in [
            "../../subscriptions/x",
            "a?api-version=1&",
            "a b",
            "x\u{1b}[2J",
        ] {
            s.name = bad.into();
            let why = trailwatch_recover::ident::first_unfit(&put_setting(&s)).expect(bad);
            assert!(why.starts_with("--uri"), "{why}");
        }
    }
}
