//! The CIS Microsoft Azure Foundations activity-log alerts (section 5.2): for each operation an
//! enabled alert on the whole subscription, with an action group
//! (`GET /subscriptions/{id}/providers/Microsoft.Insights/activityLogAlerts`).
//!
//! The operations are those the built-in rule pack tags `cis.azure.5.2.N` (rules/azure; the
//! table of rules/README.md), and the NSG rule operations the v1 releases asked for.

use super::arm::Arm;
use crate::{Check, Place, Status};
use serde_json::Value;
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;

pub const ID: &str = "azure.monitor.activity_log_alerts";
const TITLE: &str = "The CIS activity-log alerts exist, enabled, with an action group";
const API: &str = "2020-10-01";

/// (recommendation, operationName).
pub const OPERATIONS: [(&str, &str); 12] = [
    ("5.2.1", "Microsoft.Authorization/policyAssignments/write"),
    ("5.2.2", "Microsoft.Authorization/policyAssignments/delete"),
    ("5.2.3", "Microsoft.Network/networkSecurityGroups/write"),
    ("5.2.4", "Microsoft.Network/networkSecurityGroups/delete"),
    (
        "v1 NSG rule",
        "Microsoft.Network/networkSecurityGroups/securityRules/write",
    ),
    (
        "v1 NSG rule",
        "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    ),
    ("5.2.5", "Microsoft.Security/securitySolutions/write"),
    ("5.2.6", "Microsoft.Security/securitySolutions/delete"),
    ("5.2.7", "Microsoft.Sql/servers/firewallRules/write"),
    ("5.2.8", "Microsoft.Sql/servers/firewallRules/delete"),
    ("5.2.9", "Microsoft.Network/publicIPAddresses/write"),
    ("5.2.10", "Microsoft.Network/publicIPAddresses/delete"),
];

/// The operation names an alert's condition matches, when it covers the whole subscription,
/// is enabled and has an action group; otherwise none.
pub fn covered(alert: &Value, sub: &str) -> Vec<String> {
    let p = alert.get("properties").unwrap_or(&Value::Null);
    let enabled = p.get("enabled").and_then(Value::as_bool) != Some(false);
    let scope = format!("/subscriptions/{sub}");
    let whole = p.get("scopes").and_then(Value::as_array).is_some_and(|s| {
        s.iter()
            .filter_map(Value::as_str)
            .any(|x| x.trim_end_matches('/').eq_ignore_ascii_case(&scope))
    });
    let acts = p
        .pointer("/actions/actionGroups")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !(enabled && whole && acts) {
        return Vec::new();
    }
    let mut ops = Vec::new();
    let leaves = p.pointer("/condition/allOf").and_then(Value::as_array);
    for leaf in leaves.into_iter().flatten() {
        let alternatives: Vec<&Value> = match leaf.get("anyOf").and_then(Value::as_array) {
            Some(any) => any.iter().collect(),
            None => vec![leaf],
        };
        for l in alternatives {
            let field = l.get("field").and_then(Value::as_str).unwrap_or_default();
            let equals = l.get("equals").and_then(Value::as_str).unwrap_or_default();
            match field.to_ascii_lowercase().as_str() {
                "operationname" => ops.push(equals.to_ascii_lowercase()),
                "category" if equals.eq_ignore_ascii_case("Administrative") => {}
                // Narrowed (a resource group, a status, a caller): not every such operation.
                _ => return Vec::new(),
            }
        }
    }
    ops
}

/// The subscription's check.
pub fn check(arm: &Arm, sub: &str) -> Check {
    let path = format!("/subscriptions/{sub}/providers/Microsoft.Insights/activityLogAlerts");
    let p = Place {
        account: sub.to_string(),
        region: "global".into(),
        resource: path.clone(),
    };
    let alerts = match arm.list(&path, API) {
        Ok(v) => v,
        Err(e) => return p.unknown(ID, Severity::Medium, TITLE, &e.to_string()),
    };
    let covered: Vec<String> = alerts.iter().flat_map(|a| covered(a, sub)).collect();
    let missing: Vec<(&str, &str)> = OPERATIONS
        .iter()
        .copied()
        .filter(|(_, op)| !covered.contains(&op.to_ascii_lowercase()))
        .collect();
    let Some((_, first)) = missing.first() else {
        return p.check(
            ID,
            Severity::Medium,
            Status::Pass,
            TITLE,
            format!("all {} operations alerted on", OPERATIONS.len()),
        );
    };
    let named: Vec<String> = missing.iter().map(|(r, o)| format!("{o} ({r})")).collect();
    let evidence = format!(
        "{} alert(s); no enabled subscription-wide alert with an action group for {}",
        alerts.len(),
        named.join(", ")
    );
    let check = p.check(ID, Severity::Medium, Status::Fail, TITLE, evidence);
    match action_group(&alerts) {
        Some((group, rg)) => {
            let check = check.with_fix(
                Cmd::az(&["monitor", "activity-log", "alert", "create"])
                    .arg("--name", format!("cis-{}", first.replace('/', "-")))
                    .arg("--resource-group", rg)
                    .arg("--scope", format!("/subscriptions/{sub}"))
                    .arg(
                        "--condition",
                        format!("category=Administrative and operationName={first}"),
                    )
                    .arg("--action-group", group)
                    .arg("--subscription", sub),
            );
            if missing.len() > 1 {
                check.with_manual_fix("the same command for each other operation named")
            } else {
                check
            }
        }
        None => check.with_manual_fix(
            "an action group, then az monitor activity-log alert create --scope /subscriptions/ID --condition 'category=Administrative and operationName=OP' --action-group GROUP for each operation named",
        ),
    }
}

/// An action group some alert already notifies, and that alert's resource group.
fn action_group(alerts: &[Value]) -> Option<(String, String)> {
    alerts.iter().find_map(|a| {
        let group = a
            .pointer("/properties/actions/actionGroups/0/actionGroupId")
            .and_then(Value::as_str)?;
        let id = a.get("id").and_then(Value::as_str)?;
        let parts: Vec<&str> = id.split('/').collect();
        let i = parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("resourceGroups"))?;
        Some((group.to_string(), parts.get(i + 1)?.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUB: &str = "11111111-1111-4111-8111-111111111111";

    fn alert(scopes: Value, allof: Value, enabled: Value, groups: Value) -> Value {
        json!({"properties": {"scopes": scopes, "condition": {"allOf": allof},
            "actions": {"actionGroups": groups}, "enabled": enabled}})
    }

    #[test]
    fn only_whole_subscription_enabled_alerts_with_a_group_count() {
        let ag = json!([{"actionGroupId": "/subscriptions/x/resourceGroups/r/providers/microsoft.insights/actionGroups/a"}]);
        let cond = json!([{"field": "category", "equals": "Administrative"},
            {"anyOf": [{"field": "operationName", "equals": "Microsoft.Sql/servers/firewallRules/write"},
                       {"field": "operationName", "equals": "Microsoft.Sql/servers/firewallRules/delete"}]}]);
        let whole = json!([format!("/SUBSCRIPTIONS/{SUB}")]);
        let a = alert(whole.clone(), cond.clone(), json!(true), ag.clone());
        assert_eq!(
            covered(&a, SUB),
            [
                "microsoft.sql/servers/firewallrules/write",
                "microsoft.sql/servers/firewallrules/delete"
            ]
        );
        assert!(covered(
            &alert(whole.clone(), cond.clone(), json!(false), ag.clone()),
            SUB
        )
        .is_empty());
        assert!(covered(
            &alert(whole.clone(), cond.clone(), json!(true), json!([])),
            SUB
        )
        .is_empty());
        let rg = json!([format!("/subscriptions/{SUB}/resourceGroups/app")]);
        assert!(covered(&alert(rg, cond, json!(true), ag.clone()), SUB).is_empty());
        let failed_only = json!([{"field": "operationName", "equals": "Microsoft.Sql/servers/firewallRules/write"},
            {"field": "status", "equals": "Failed"}]);
        assert!(covered(&alert(whole, failed_only, json!(true), ag), SUB).is_empty());
    }
}
