//! Each subscription's Activity Log: exported by a subscription diagnostic setting, kept a
//! year, and where it is kept (the storage account) immutable and not public.
//!
//! Reads `GET /subscriptions/{id}/providers/Microsoft.Insights/diagnosticSettings`, then of
//! each destination: the storage account, its lifecycle management policy
//! (`managementPolicies/default`), the `insights-activity-logs` container and its
//! `immutabilityPolicies/default`; the Log Analytics workspace's `retentionInDays`.
//!
//! An unlocked immutability policy fails: whoever can write to the storage account (the
//! Contributor an intruder becomes) can shorten or delete an unlocked policy and then the logs;
//! only a locked one holds against the very caller the log is kept from.

use super::arm::Arm;
use crate::{Check, Place, Status};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;
use trailwatch_recover::ident::Grammar;

pub const DIAGNOSTIC_SETTING: &str = "azure.activity_log.diagnostic_setting";
pub const RETENTION: &str = "azure.activity_log.retention";
pub const STORAGE_IMMUTABLE: &str = "azure.activity_log.storage_immutable";
pub const STORAGE_NOT_PUBLIC: &str = "azure.activity_log.storage_not_public";
const T_SETTING: &str = "The Activity Log's every category goes to storage or Log Analytics";
const T_RETENTION: &str = "The Activity Log is kept at least 365 days";
const T_IMMUTABLE: &str = "The Activity Log's storage account is immutable (locked)";
const T_PUBLIC: &str = "The Activity Log's storage account is neither public nor open";

/// Every category of the Activity Log.
pub const CATEGORIES: [&str; 8] = [
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
];
/// The container Azure writes the Activity Log into.
pub const CONTAINER: &str = "insights-activity-logs";
const DIAGNOSTIC_API: &str = "2021-05-01-preview";
const STORAGE_API: &str = "2023-01-01";
const WORKSPACE_API: &str = "2022-10-01";
const YEAR: u64 = 365;

/// One diagnostic setting (subscription or tenant level), as read.
#[derive(Debug, Clone, Default)]
pub struct Setting {
    pub name: String,
    pub storage: Option<String>,
    pub workspace: Option<String>,
    pub event_hub_rule: Option<String>,
    pub event_hub_name: Option<String>,
    /// The categories enabled (`allLogs`/`audit` category groups expand to `all`).
    pub categories: BTreeSet<String>,
    /// A category group covering every category (`allLogs`) is enabled.
    pub all_logs: bool,
}

impl Setting {
    /// Reads one item of a `diagnosticSettings` list.
    pub fn read(v: &Value) -> Setting {
        let p = v.get("properties").unwrap_or(&Value::Null);
        let text = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let mut s = Setting {
            name: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            storage: text("storageAccountId"),
            workspace: text("workspaceId"),
            event_hub_rule: text("eventHubAuthorizationRuleId"),
            event_hub_name: text("eventHubName"),
            ..Setting::default()
        };
        for log in p
            .get("logs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if log.get("enabled").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            if let Some(c) = log.get("category").and_then(Value::as_str) {
                s.categories.insert(c.to_ascii_lowercase());
            }
            if log
                .get("categoryGroup")
                .and_then(Value::as_str)
                .is_some_and(|g| g.eq_ignore_ascii_case("allLogs"))
            {
                s.all_logs = true;
            }
        }
        s
    }

    /// Whether it enables `category`.
    pub fn has(&self, category: &str) -> bool {
        self.all_logs || self.categories.contains(&category.to_ascii_lowercase())
    }

    /// Whether it keeps what it exports (a storage account or a workspace).
    fn keeps(&self) -> bool {
        self.storage.is_some() || self.workspace.is_some()
    }
}

/// The four checks of one subscription (the storage ones once per storage account).
pub fn checks(arm: &Arm, sub: &str) -> Vec<Check> {
    let p = Place {
        account: sub.to_string(),
        region: "global".into(),
        resource: format!("/subscriptions/{sub}"),
    };
    let path = format!("/subscriptions/{sub}/providers/Microsoft.Insights/diagnosticSettings");
    let settings: Vec<Setting> = match arm.list(&path, DIAGNOSTIC_API) {
        Ok(list) => list.iter().map(Setting::read).collect(),
        Err(e) => {
            let why = e.to_string();
            return vec![
                p.unknown(DIAGNOSTIC_SETTING, Severity::High, T_SETTING, &why),
                p.unknown(RETENTION, Severity::Medium, T_RETENTION, &why),
            ];
        }
    };
    let kept: Vec<&Setting> = settings
        .iter()
        .filter(|s| s.keeps() && CATEGORIES.iter().any(|c| s.has(c)))
        .collect();
    let mut out = vec![
        setting_check(&p, sub, &settings, &kept),
        retention_check(arm, &p, &kept),
    ];
    let accounts: BTreeSet<&str> = kept.iter().filter_map(|s| s.storage.as_deref()).collect();
    for account in accounts {
        out.extend(storage_checks(arm, sub, account));
    }
    out
}

fn names(settings: &[&Setting]) -> String {
    let n: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
    n.join(", ")
}

fn setting_check(p: &Place, sub: &str, all: &[Setting], kept: &[&Setting]) -> Check {
    let id = DIAGNOSTIC_SETTING;
    let Some(first) = kept.first() else {
        let evidence = if all.is_empty() {
            "no subscription diagnostic setting".to_string()
        } else {
            format!(
                "{} diagnostic setting(s), none sending an enabled category to a storage account or Log Analytics workspace",
                all.len()
            )
        };
        return p
            .check(id, Severity::High, Status::Fail, T_SETTING, evidence)
            .with_manual_fix(&format!(
                "a storage account or Log Analytics workspace, then az monitor diagnostic-settings subscription create --name activity-log --subscription {sub} --storage-account ID (or --workspace ID) --logs with every category enabled"
            ));
    };
    let missing: Vec<&str> = CATEGORIES
        .iter()
        .copied()
        .filter(|c| !kept.iter().any(|s| s.has(c)))
        .collect();
    let refs: Vec<&Setting> = kept.to_vec();
    if missing.is_empty() {
        return p.check(
            id,
            Severity::High,
            Status::Pass,
            T_SETTING,
            format!("every category is exported by {}", names(&refs)),
        );
    }
    let evidence = format!(
        "{} export(s) the Activity Log but not {}",
        names(&refs),
        missing.join(", ")
    );
    let logs: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| json!({"category": c, "enabled": true}))
        .collect();
    let mut cmd = Cmd::az(&["monitor", "diagnostic-settings", "subscription", "create"])
        .arg("--name", first.name.clone())
        .arg("--subscription", sub);
    for (flag, v) in [
        ("--storage-account", &first.storage),
        ("--workspace", &first.workspace),
        ("--event-hub-auth-rule", &first.event_hub_rule),
        ("--event-hub-name", &first.event_hub_name),
    ] {
        if let Some(v) = v {
            cmd = cmd.arg(flag, v.clone());
        }
    }
    cmd = cmd.arg("--logs", Value::Array(logs).to_string());
    p.check(id, Severity::High, Status::Fail, T_SETTING, evidence)
        .with_fix(cmd)
}

/// How long one destination keeps the log: `Ok(None)` for as long as it stands.
enum Kept {
    Forever(String),
    Days(u64, String),
}

fn retention_check(arm: &Arm, p: &Place, kept: &[&Setting]) -> Check {
    let id = RETENTION;
    if kept.is_empty() {
        return p.check(
            id,
            Severity::Medium,
            Status::Fail,
            T_RETENTION,
            "the Activity Log is not sent anywhere it is kept (Azure keeps it 90 days)",
        );
    }
    let mut short: Vec<(u64, String)> = Vec::new();
    let mut unread: Vec<String> = Vec::new();
    let mut short_workspace: Option<String> = None;
    for s in kept {
        let mut found = Vec::new();
        if let Some(a) = &s.storage {
            found.push(storage_retention(arm, a));
        }
        if let Some(w) = &s.workspace {
            let r = workspace_retention(arm, w);
            if matches!(r, Ok(Kept::Days(d, _)) if d < YEAR) {
                short_workspace.get_or_insert(w.clone());
            }
            found.push(r);
        }
        for r in found {
            match r {
                Ok(Kept::Forever(why)) => {
                    return p.check(id, Severity::Medium, Status::Pass, T_RETENTION, why)
                }
                Ok(Kept::Days(d, why)) if d >= YEAR => {
                    return p.check(id, Severity::Medium, Status::Pass, T_RETENTION, why)
                }
                Ok(Kept::Days(d, why)) => short.push((d, why)),
                Err(e) => unread.push(e),
            }
        }
    }
    if !unread.is_empty() {
        return p.unknown(id, Severity::Medium, T_RETENTION, &unread.join("; "));
    }
    let why: Vec<String> = short.into_iter().map(|(_, w)| w).collect();
    let check = p.check(
        id,
        Severity::Medium,
        Status::Fail,
        T_RETENTION,
        why.join("; "),
    );
    match short_workspace {
        Some(w) => check.with_fix(
            Cmd::az(&["monitor", "log-analytics", "workspace", "update"])
                .arg("--ids", w)
                .opt("--retention-time", "365"),
        ),
        None => check.with_manual_fix(
            "raise the storage account's lifecycle rule deleting insights-activity-logs blobs to 365 days (az storage account management-policy update)",
        ),
    }
}

/// A resource id read from a setting, checked before it goes into a path.
fn checked_id(id: &str) -> Result<&str, String> {
    if Grammar::AzureResourceId.fits(id) {
        Ok(id)
    } else {
        Err(format!(
            "{:?} is not an Azure resource id",
            trailwatch_escape::terminal(id)
        ))
    }
}

fn workspace_retention(arm: &Arm, workspace: &str) -> Result<Kept, String> {
    let w = checked_id(workspace)?;
    let v = arm
        .get(w, WORKSPACE_API)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("GET {w}: the workspace was not found"))?;
    let days = v
        .pointer("/properties/retentionInDays")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("GET {w}: no properties.retentionInDays"))?;
    Ok(Kept::Days(
        days,
        format!("Log Analytics workspace {w} keeps {days} days"),
    ))
}

/// Whether an enabled lifecycle rule deletes `insights-activity-logs` blobs (append blobs)
/// before a year: the fewest days of such a rule, with its name.
pub fn earliest_delete(policy: &Value) -> Option<(u64, String)> {
    let rules = policy.pointer("/properties/policy/rules")?.as_array()?;
    let container = format!("{CONTAINER}/");
    let mut earliest: Option<(u64, String)> = None;
    for r in rules {
        if r.get("enabled").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let filters = r.pointer("/definition/filters");
        let blob_types = filters
            .and_then(|f| f.get("blobTypes"))
            .and_then(Value::as_array);
        if blob_types.is_some_and(|t| {
            !t.iter()
                .filter_map(Value::as_str)
                .any(|b| b.eq_ignore_ascii_case("appendBlob"))
        }) {
            continue;
        }
        let prefixes: Vec<&str> = filters
            .and_then(|f| f.get("prefixMatch"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let reaches = prefixes.is_empty()
            || prefixes
                .iter()
                .any(|p| container.starts_with(p) || p.starts_with(&container));
        let delete = r.pointer("/definition/actions/baseBlob/delete");
        let days = [
            "daysAfterModificationGreaterThan",
            "daysAfterCreationGreaterThan",
            "daysAfterLastAccessTimeGreaterThan",
        ]
        .iter()
        .filter_map(|k| delete.and_then(|d| d.get(*k)).and_then(Value::as_u64))
        .min();
        if let (true, Some(d)) = (reaches, days) {
            let name = r
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if earliest.as_ref().is_none_or(|(e, _)| d < *e) {
                earliest = Some((d, name));
            }
        }
    }
    earliest
}

fn storage_retention(arm: &Arm, account: &str) -> Result<Kept, String> {
    let a = checked_id(account)?;
    let path = format!("{a}/managementPolicies/default");
    match arm.get(&path, STORAGE_API).map_err(|e| e.to_string())? {
        None => Ok(Kept::Forever(format!(
            "storage account {a} has no lifecycle management policy: blobs are kept"
        ))),
        Some(policy) => Ok(match earliest_delete(&policy) {
            None => Kept::Forever(format!(
                "no enabled lifecycle rule of storage account {a} deletes {CONTAINER} blobs"
            )),
            Some((d, name)) => Kept::Days(
                d,
                format!(
                    "lifecycle rule {:?} of storage account {a} deletes {CONTAINER} blobs after {d} days",
                    trailwatch_escape::terminal(&name)
                ),
            ),
        }),
    }
}

/// The segment after `/{kind}/` of a resource id (case-insensitive kind).
fn segment(id: &str, kind: &str) -> Option<String> {
    let parts: Vec<&str> = id.split('/').collect();
    let i = parts.iter().position(|p| p.eq_ignore_ascii_case(kind))?;
    parts.get(i + 1).map(|s| s.to_string())
}

/// The storage account's two checks.
fn storage_checks(arm: &Arm, sub: &str, account: &str) -> Vec<Check> {
    let mut p = Place {
        account: sub.to_string(),
        region: "global".into(),
        resource: account.to_string(),
    };
    let read = checked_id(account).and_then(|a| {
        arm.get(a, STORAGE_API)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("GET {a}: the storage account was not found"))
    });
    let acct = match read {
        Ok(v) => v,
        Err(why) => {
            return vec![
                p.unknown(STORAGE_IMMUTABLE, Severity::Medium, T_IMMUTABLE, &why),
                p.unknown(STORAGE_NOT_PUBLIC, Severity::High, T_PUBLIC, &why),
            ]
        }
    };
    if let Some(l) = acct.get("location").and_then(Value::as_str) {
        p.region = l.to_string();
    }
    vec![
        immutable_check(arm, &p, account, &acct),
        not_public_check(arm, &p, account, &acct),
    ]
}

fn immutable_check(arm: &Arm, p: &Place, id: &str, acct: &Value) -> Check {
    let c = STORAGE_IMMUTABLE;
    let fail = |why: String| p.check(c, Severity::Medium, Status::Fail, T_IMMUTABLE, why);
    let versioned = acct.pointer("/properties/immutableStorageWithVersioning");
    let account_state = versioned
        .filter(|v| v.get("enabled").and_then(Value::as_bool) == Some(true))
        .and_then(|v| v.pointer("/immutabilityPolicy/state"))
        .and_then(Value::as_str);
    match account_state {
        Some("Locked") => p.check(
            c,
            Severity::Medium,
            Status::Pass,
            T_IMMUTABLE,
            "account-level immutability (version-level WORM) with a Locked policy",
        ),
        Some("Unlocked") => fail("the account-level immutability policy is Unlocked: any Contributor of the account can remove it".into())
            .with_manual_fix("lock the account's immutability policy (az storage account update --immutability-state Locked)"),
        _ => container_policy_check(arm, p, id),
    }
}

/// The `insights-activity-logs` container's time-based immutability policy.
fn container_policy_check(arm: &Arm, p: &Place, id: &str) -> Check {
    let c = STORAGE_IMMUTABLE;
    let fail = |why: String| p.check(c, Severity::Medium, Status::Fail, T_IMMUTABLE, why);
    let (Some(name), Some(rg)) = (
        segment(id, "storageAccounts"),
        segment(id, "resourceGroups"),
    ) else {
        return p.unknown(
            c,
            Severity::Medium,
            T_IMMUTABLE,
            "the account id names no account and group",
        );
    };
    let path =
        format!("{id}/blobServices/default/containers/{CONTAINER}/immutabilityPolicies/default");
    let policy = match arm.get(&path, STORAGE_API) {
        Ok(v) => v,
        Err(e) => return p.unknown(c, Severity::Medium, T_IMMUTABLE, &e.to_string()),
    };
    let state = policy
        .as_ref()
        .and_then(|v| v.pointer("/properties/state"))
        .and_then(Value::as_str);
    let days = policy
        .as_ref()
        .and_then(|v| v.pointer("/properties/immutabilityPeriodSinceCreationInDays"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let base = |words: &[&'static str]| {
        Cmd::az(words)
            .arg("--account-name", name.clone())
            .arg("--resource-group", rg.clone())
            .arg("--container-name", CONTAINER)
    };
    match state {
        Some("Locked") => p.check(
            c,
            Severity::Medium,
            Status::Pass,
            T_IMMUTABLE,
            format!("container {CONTAINER} has a Locked immutability policy of {days} days"),
        ),
        Some("Unlocked") => {
            let etag = policy
                .as_ref()
                .and_then(|v| v.get("etag"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            fail(format!(
                "container {CONTAINER}'s immutability policy ({days} days) is Unlocked: any Contributor of the account can shorten or delete it, then the logs"
            ))
            .with_fix(base(&["storage", "container", "immutability-policy", "lock"]).arg("--if-match", etag))
        }
        _ => fail(format!(
            "neither the account nor container {CONTAINER} has an immutability policy"
        ))
        .with_fix(
            base(&["storage", "container", "immutability-policy", "create"])
                .opt("--period", "365")
                .opt("--allow-protected-append-writes", "true"),
        )
        .with_manual_fix("then lock it (az storage container immutability-policy lock)"),
    }
}

fn not_public_check(arm: &Arm, p: &Place, id: &str, acct: &Value) -> Check {
    let c = STORAGE_NOT_PUBLIC;
    let prop = |k: &str| acct.pointer(&format!("/properties/{k}"));
    let mut problems = Vec::new();
    let mut cmd = Cmd::az(&["storage", "account", "update"]).arg("--ids", id);
    if prop("allowBlobPublicAccess").and_then(Value::as_bool) != Some(false) {
        let path = format!("{id}/blobServices/default/containers/{CONTAINER}");
        let access = match arm.get(&path, STORAGE_API) {
            Ok(v) => v
                .and_then(|v| v.pointer("/properties/publicAccess").cloned())
                .and_then(|a| a.as_str().map(str::to_string))
                .unwrap_or_else(|| "None".into()),
            Err(e) => return p.unknown(c, Severity::High, T_PUBLIC, &e.to_string()),
        };
        if access != "None" {
            problems.push(format!(
                "blob public access is allowed and container {CONTAINER} has publicAccess {}",
                trailwatch_escape::terminal(&access)
            ));
            cmd = cmd.opt("--allow-blob-public-access", "false");
        }
    }
    let network = prop("publicNetworkAccess").and_then(Value::as_str);
    let default_action = prop("networkAcls/defaultAction").and_then(Value::as_str);
    if network != Some("Disabled") && default_action != Some("Deny") {
        problems.push(format!(
            "publicNetworkAccess is {} and the firewall's default action {}: open to every network",
            network.unwrap_or("unset"),
            default_action.unwrap_or("unset")
        ));
        cmd = cmd
            .opt("--default-action", "Deny")
            .opt("--bypass", "AzureServices");
    }
    if prop("supportsHttpsTrafficOnly").and_then(Value::as_bool) != Some(true) {
        problems.push("supportsHttpsTrafficOnly is not true".into());
        cmd = cmd.opt("--https-only", "true");
    }
    if problems.is_empty() {
        return p.check(
            c,
            Severity::High,
            Status::Pass,
            T_PUBLIC,
            "no public blob access, the network restricted, HTTPS only",
        );
    }
    p.check(
        c,
        Severity::High,
        Status::Fail,
        T_PUBLIC,
        problems.join("; "),
    )
    .with_fix(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_rules_reaching_the_container_count() {
        let policy = json!({"properties": {"policy": {"rules": [
            {"enabled": true, "name": "blocks", "type": "Lifecycle", "definition": {
                "filters": {"blobTypes": ["blockBlob"]},
                "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 7}}}}},
            {"enabled": false, "name": "off", "type": "Lifecycle", "definition": {
                "filters": {"blobTypes": ["appendBlob"]},
                "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 1}}}}},
            {"enabled": true, "name": "other", "type": "Lifecycle", "definition": {
                "filters": {"blobTypes": ["appendBlob"], "prefixMatch": ["insights-metrics-pt1m"]},
                "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 2}}}}},
            {"enabled": true, "name": "logs", "type": "Lifecycle", "definition": {
                "filters": {"blobTypes": ["appendBlob"], "prefixMatch": ["insights-activity-logs/resourceId=/SUBSCRIPTIONS"]},
                "actions": {"baseBlob": {"delete": {"daysAfterCreationGreaterThan": 90}}}}}
        ]}}});
        assert_eq!(earliest_delete(&policy), Some((90, "logs".to_string())));
        let none = json!({"properties": {"policy": {"rules": []}}});
        assert_eq!(earliest_delete(&none), None);
    }

    #[test]
    fn settings_read_categories_and_groups() {
        let s = Setting::read(&json!({"name": "a", "properties": {
            "storageAccountId": "/subscriptions/x", "workspaceId": null,
            "logs": [{"category": "Administrative", "enabled": true},
                     {"category": "Security", "enabled": false}]}}));
        assert!(s.has("administrative") && !s.has("Security") && s.keeps());
        let g = Setting::read(&json!({"name": "g", "properties": {
            "logs": [{"categoryGroup": "allLogs", "enabled": true}]}}));
        assert!(g.has("Policy") && !g.keeps());
    }
}

#[cfg(test)]
mod account_tests {
    use super::*;
    use crate::azure::arm::Http;

    /// Account-level immutability decides without a call (the endpoint is unroutable).
    #[test]
    fn account_level_immutability_locked_passes_unlocked_fails() {
        let arm = Arm::new(Http::new(true).unwrap(), "http://127.0.0.1:9", "t");
        let p = Place {
            account: "s".into(),
            region: "westeurope".into(),
            resource: "a".into(),
        };
        let acct = |state: &str| {
            json!({"properties": {"immutableStorageWithVersioning": {"enabled": true,
                "immutabilityPolicy": {"immutabilityPeriodSinceCreationInDays": 400,
                    "state": state, "allowProtectedAppendWrites": true}}}})
        };
        let id = "/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a";
        assert_eq!(
            immutable_check(&arm, &p, id, &acct("Locked")).status,
            Status::Pass
        );
        let c = immutable_check(&arm, &p, id, &acct("Unlocked"));
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.evidence.contains("--immutability-state Locked"),
            "{}",
            c.evidence
        );
    }
}
