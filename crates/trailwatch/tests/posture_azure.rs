//! `trailwatch posture azure` against a loopback HTTP server written here (there is no ARM
//! emulator): it answers the Resource Manager GETs with documents shaped as the ARM API
//! documents them, for a well-configured subscription, a badly configured one and one whose
//! diagnostic settings are denied (403), and the Entra token endpoint
//! (`AZURE_AUTHORITY_HOST`). Every check's status is read from the real binary's JSON lines;
//! the server records every request, so the tests see the client credentials in the token
//! request and the bearer token on every ARM call. The Azure CLI path runs a stand-in `az`.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_trailwatch");
const GOOD: &str = "11111111-1111-4111-8111-111111111111";
const BAD: &str = "22222222-2222-4222-8222-222222222222";
const DENIED: &str = "33333333-3333-4333-8333-333333333333";
const TENANT: &str = "99999999-9999-4999-8999-999999999999";
const SP_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.sp.sig";
const CLI_TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.cli.sig";

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// The path and query.
    target: String,
    headers: BTreeMap<String, String>,
    body: String,
}

fn storage(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/logs-rg/providers/Microsoft.Storage/storageAccounts/{name}")
}

fn workspace(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/logs-rg/providers/Microsoft.OperationalInsights/workspaces/{name}")
}

const CATEGORIES: [&str; 8] = [
    "Administrative",
    "Security",
    "ServiceHealth",
    "Alert",
    "Recommendation",
    "Policy",
    "Autoscale",
    "ResourceHealth",
];

/// A subscription diagnostic setting as `GET …/diagnosticSettings` lists it.
fn setting(sub: &str, name: &str, props: Value, enabled: &[&str]) -> Value {
    let logs: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| json!({"category": c, "categoryGroup": null, "enabled": enabled.contains(c)}))
        .collect();
    let mut p = json!({"storageAccountId": null, "serviceBusRuleId": null, "workspaceId": null,
        "eventHubAuthorizationRuleId": null, "eventHubName": null, "logs": logs});
    if let (Some(p), Some(extra)) = (p.as_object_mut(), props.as_object()) {
        p.extend(extra.clone());
    }
    json!({"id": format!("/subscriptions/{sub}/providers/microsoft.insights/diagnosticSettings/{name}"),
        "type": "Microsoft.Insights/diagnosticSettings", "name": name, "location": null,
        "properties": p})
}

/// A storage account as `GET {account}` answers.
fn account(sub: &str, name: &str, props: Value) -> Value {
    json!({"id": storage(sub, name), "name": name, "type": "Microsoft.Storage/storageAccounts",
        "location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_GRS", "tier": "Standard"},
        "properties": props})
}

/// A Log Analytics workspace as `GET {workspace}` answers.
fn log_analytics(sub: &str, name: &str, days: u64) -> Value {
    json!({"id": workspace(sub, name), "name": name,
        "type": "Microsoft.OperationalInsights/workspaces", "location": "westeurope",
        "properties": {"customerId": "6f0e4b0a-1d2c-4e5f-9a8b-7c6d5e4f3a2b", "provisioningState": "Succeeded",
            "sku": {"name": "PerGB2018"}, "retentionInDays": days}})
}

fn lifecycle(rule: &str, prefix: &str, days: u64) -> Value {
    json!({"id": "x", "name": "DefaultManagementPolicy",
        "type": "Microsoft.Storage/storageAccounts/managementPolicies",
        "properties": {"lastModifiedTime": "2026-01-05T10:00:00Z", "policy": {"rules": [
            {"enabled": true, "name": rule, "type": "Lifecycle", "definition": {
                "filters": {"blobTypes": ["blockBlob", "appendBlob"], "prefixMatch": [prefix]},
                "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": days}}}}}]}}})
}

fn immutability(state: &str, days: u64) -> Value {
    json!({"id": "x", "name": "default", "etag": "\"8d9f0a1b2c3d4e5\"",
        "type": "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
        "properties": {"immutabilityPeriodSinceCreationInDays": days, "state": state,
            "allowProtectedAppendWrites": true}})
}

const PLANS: [&str; 10] = [
    "VirtualMachines",
    "StorageAccounts",
    "KeyVaults",
    "Arm",
    "SqlServers",
    "SqlServerVirtualMachines",
    "AppServices",
    "Containers",
    "OpenSourceRelationalDatabases",
    "CosmosDbs",
];

/// Defender for Cloud pricings as `GET …/Microsoft.Security/pricings` lists them: every plan
/// on Standard but `free` (and `Api`, not one checked, always Free).
fn pricings(sub: &str, free: &[&str]) -> Value {
    let v: Vec<Value> = PLANS
        .iter()
        .chain(["Api"].iter())
        .map(|p| {
            let tier = if free.contains(p) || *p == "Api" { "Free" } else { "Standard" };
            json!({"id": format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/{p}"),
                "name": p, "type": "Microsoft.Security/pricings",
                "properties": {"pricingTier": tier, "freeTrialRemainingTime": "PT0S", "deprecated": false}})
        })
        .collect();
    json!({"value": v})
}

/// The CIS 5.2 operations (and the v1 NSG rule ones).
const OPS: [&str; 12] = [
    "Microsoft.Authorization/policyAssignments/write",
    "Microsoft.Authorization/policyAssignments/delete",
    "Microsoft.Network/networkSecurityGroups/write",
    "Microsoft.Network/networkSecurityGroups/delete",
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    "Microsoft.Security/securitySolutions/write",
    "Microsoft.Security/securitySolutions/delete",
    "Microsoft.Sql/servers/firewallRules/write",
    "Microsoft.Sql/servers/firewallRules/delete",
    "Microsoft.Network/publicIPAddresses/write",
    "Microsoft.Network/publicIPAddresses/delete",
];

fn action_group(sub: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/monitor-rg/providers/microsoft.insights/actionGroups/oncall")
}

/// An activity log alert as `GET …/activityLogAlerts` lists it.
fn alert(sub: &str, name: &str, scope: &str, op_leaf: Value, enabled: bool, groups: bool) -> Value {
    let groups: Vec<Value> = if groups {
        vec![json!({"actionGroupId": action_group(sub), "webhookProperties": {}})]
    } else {
        Vec::new()
    };
    json!({"id": format!("/subscriptions/{sub}/resourceGroups/monitor-rg/providers/Microsoft.Insights/activityLogAlerts/{name}"),
        "type": "Microsoft.Insights/ActivityLogAlerts", "name": name, "location": "Global", "tags": {},
        "properties": {"scopes": [scope], "condition": {"allOf": [
            {"field": "category", "equals": "Administrative"}, op_leaf]},
            "actions": {"actionGroups": groups}, "enabled": enabled, "description": ""}})
}

fn op(o: &str) -> Value {
    json!({"field": "operationName", "equals": o})
}

/// Every operation alerted on (the NSG rule pair through one `anyOf`) in the good
/// subscription; in the bad one a working alert for policy assignment writes, and a disabled
/// one, one without an action group and one scoped to a resource group.
fn alerts(sub: &str, good: bool) -> Value {
    let whole = format!("/subscriptions/{sub}");
    if good {
        let mut v: Vec<Value> = OPS
            .iter()
            .filter(|o| !o.contains("securityRules"))
            .enumerate()
            .map(|(i, o)| {
                alert(
                    sub,
                    &format!("cis-{i}"),
                    &whole,
                    op(&o.to_lowercase()),
                    true,
                    true,
                )
            })
            .collect();
        v.push(alert(
            sub,
            "nsg-rules",
            &whole,
            json!({"anyOf": [op(OPS[4]), op(OPS[5])]}),
            true,
            true,
        ));
        return json!({"value": v});
    }
    json!({"value": [
        alert(sub, "policy", &whole, op(OPS[0]), true, true),
        alert(sub, "nsg-off", &whole, op(OPS[2]), false, true),
        alert(sub, "pip-silent", &whole, op(OPS[10]), true, false),
        alert(sub, "sec-rg", &format!("{whole}/resourceGroups/app"), op(OPS[6]), true, true),
    ]})
}

/// The tenant's Entra ID diagnostic settings: every category to a workspace when `good`, else
/// an event hub receiving two of the five.
fn entra_settings(good: bool) -> Value {
    let all = [
        "AuditLogs",
        "SignInLogs",
        "NonInteractiveUserSignInLogs",
        "ServicePrincipalSignInLogs",
        "ManagedIdentitySignInLogs",
        "RiskyUsers",
    ];
    let enabled: &[&str] = if good { &all } else { &all[..2] };
    let logs: Vec<Value> = all
        .iter()
        .map(|c| json!({"category": c, "enabled": enabled.contains(c), "retentionPolicy": {"days": 0, "enabled": false}}))
        .collect();
    let (name, props) = if good {
        (
            "entra-to-soc",
            json!({"workspaceId": workspace(GOOD, "soc"), "logs": logs}),
        )
    } else {
        (
            "entra-to-siem",
            json!({"eventHubAuthorizationRuleId": format!("/subscriptions/{BAD}/resourceGroups/siem/providers/Microsoft.EventHub/namespaces/siem/authorizationrules/RootManageSharedAccessKey"),
            "eventHubName": "entra", "logs": logs}),
        )
    };
    json!({"value": [{"id": format!("/providers/microsoft.aadiam/diagnosticSettings/{name}"),
        "type": null, "name": name, "properties": props}]})
}

/// The ARM documents of the three subscriptions and the tenant, by path; `None` answers 404
/// (unrouted). `good_tenant` picks the Entra ID settings.
fn arm_answer(path: &str, good_tenant: bool) -> Option<(u16, Value)> {
    let ok = |v: Value| Some((200, v));
    let diag = "/providers/Microsoft.Insights/diagnosticSettings";
    let good_acct = storage(GOOD, "goodlogs");
    let bad_acct = storage(BAD, "badlogs");
    let container = "/blobServices/default/containers/insights-activity-logs";
    let policy = format!("{container}/immutabilityPolicies/default");
    match path {
        "/providers/microsoft.aadiam/diagnosticSettings" => ok(entra_settings(good_tenant)),
        p if p.ends_with("/providers/Microsoft.Security/pricings")
            && [GOOD, BAD, DENIED].iter().any(|s| p.contains(s)) =>
        {
            let sub = p.split('/').nth(2).unwrap_or_default();
            ok(pricings(
                sub,
                if sub == BAD {
                    &["StorageAccounts", "KeyVaults", "SqlServers"]
                } else {
                    &[]
                },
            ))
        }
        p if p
            == format!("/subscriptions/{GOOD}/providers/Microsoft.Insights/activityLogAlerts") =>
        {
            ok(alerts(GOOD, true))
        }
        p if p
            == format!("/subscriptions/{BAD}/providers/Microsoft.Insights/activityLogAlerts") =>
        {
            ok(alerts(BAD, false))
        }
        p if p
            == format!(
                "/subscriptions/{DENIED}/providers/Microsoft.Insights/activityLogAlerts"
            ) =>
        {
            ok(json!({"value": []}))
        }
        p if p == format!("/subscriptions/{GOOD}{diag}") => {
            ok(json!({"value": [setting(GOOD, "activity-archive",
            json!({"storageAccountId": good_acct, "workspaceId": workspace(GOOD, "soc")}), &CATEGORIES)]}))
        }
        p if p == format!("/subscriptions/{BAD}{diag}") => ok(json!({"value": [
            setting(BAD, "partial", json!({"storageAccountId": bad_acct, "workspaceId": workspace(BAD, "ops")}),
                &["Administrative", "Security"]),
            setting(BAD, "siem-only", json!({"eventHubAuthorizationRuleId": format!("/subscriptions/{BAD}/resourceGroups/siem/providers/Microsoft.EventHub/namespaces/siem/authorizationrules/RootManageSharedAccessKey"), "eventHubName": "activity"}), &CATEGORIES)]})),
        p if p == format!("/subscriptions/{DENIED}{diag}") => Some((
            403,
            json!({"error": {"code": "AuthorizationFailed",
            "message": format!("The client 'auditor' with object id 'x' does not have authorization to perform action 'microsoft.insights/diagnosticSettings/read' over scope '/subscriptions/{DENIED}'")}}),
        )),
        p if p == good_acct => ok(account(
            GOOD,
            "goodlogs",
            json!({"allowBlobPublicAccess": false,
            "publicNetworkAccess": "Disabled", "supportsHttpsTrafficOnly": true, "minimumTlsVersion": "TLS1_2",
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []}}),
        )),
        p if p == bad_acct => ok(account(
            BAD,
            "badlogs",
            json!({"allowBlobPublicAccess": true,
            "publicNetworkAccess": "Enabled", "supportsHttpsTrafficOnly": false,
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []}}),
        )),
        p if p == format!("{good_acct}/managementPolicies/default") => {
            ok(lifecycle("archive", "insights-activity-logs/", 400))
        }
        p if p == format!("{bad_acct}/managementPolicies/default") => {
            ok(lifecycle("cleanup", "insights-activity-logs", 30))
        }
        p if p == workspace(BAD, "ops") => ok(log_analytics(BAD, "ops", 90)),
        p if p == workspace(GOOD, "soc") => ok(log_analytics(GOOD, "soc", 730)),
        p if p == format!("{good_acct}{policy}") => ok(immutability("Locked", 365)),
        p if p == format!("{bad_acct}{policy}") => ok(immutability("Unlocked", 30)),
        p if p == format!("{bad_acct}{container}") => {
            ok(json!({"id": "x", "name": "insights-activity-logs",
            "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
            "properties": {"publicAccess": "Container", "hasImmutabilityPolicy": true, "hasLegalHold": false}}))
        }
        _ => None,
    }
}

/// The loopback server: the token endpoint under `/{TENANT}/oauth2/v2.0/token`, ARM elsewhere.
struct Server {
    url: String,
    good_tenant: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn serve(good_tenant: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let base = url.clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(req) = read_request(&mut stream) else {
                continue;
            };
            let (status, body) = answer(&req, good_tenant, &base);
            log.lock().unwrap().push(req);
            let body = body.to_string();
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    Server {
        url,
        good_tenant,
        seen,
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Seen> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn answer(req: &Seen, good_tenant: bool, base: &str) -> (u16, Value) {
    if req.target == format!("/{TENANT}/oauth2/v2.0/token") && req.method == "POST" {
        return (
            200,
            json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": SP_TOKEN}),
        );
    }
    let path = req.target.split('?').next().unwrap_or_default();
    let (status, mut doc) = arm_answer(path, good_tenant).unwrap_or_else(|| {
        (
            404,
            json!({"error": {"code": "ResourceNotFound", "message": "unrouted"}}),
        )
    });
    // The good subscription's alerts come in two pages, as ARM pages them (`nextLink`).
    if path == format!("/subscriptions/{GOOD}/providers/Microsoft.Insights/activityLogAlerts") {
        let all = doc["value"].as_array().cloned().unwrap_or_default();
        let (first, second) = all.split_at(all.len() / 2);
        doc = if req.target.contains("%24skipToken=page2") {
            json!({"value": second})
        } else {
            json!({"value": first, "nextLink": format!("{base}{path}?api-version=2020-10-01&%24skipToken=page2")})
        };
    }
    (status, doc)
}

fn run(server: &Server, env: &[(&str, String)], path: Option<&Path>) -> (Vec<Value>, i32, String) {
    let (stdout, code, stderr) = run_as(server, env, path, "jsonl", &[GOOD, BAD, DENIED]);
    let checks = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (checks, code, stderr)
}

fn run_as(
    server: &Server,
    env: &[(&str, String)],
    path: Option<&Path>,
    format: &str,
    subscriptions: &[&str],
) -> (String, i32, String) {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "posture",
        "azure",
        "--endpoint",
        &server.url,
        "--format",
        format,
    ])
    .arg("--subscription")
    .args(subscriptions);
    for k in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(bin) = path {
        let old = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{old}", bin.display()));
    }
    let out = cmd.output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The check `id` of subscription `sub` whose resource contains `resource`.
fn find<'a>(checks: &'a [Value], id: &str, sub: &str, resource: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| {
            c["id"] == id
                && c["account"] == sub
                && c["resource"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(resource)
        })
        .unwrap_or_else(|| panic!("no {id} of {sub} on {resource}: {checks:#?}"))
}

fn sp_env(server: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_TENANT_ID", TENANT.to_string()),
        (
            "AZURE_CLIENT_ID",
            "0a1b2c3d-aaaa-4bbb-8ccc-0123456789ab".to_string(),
        ),
        ("AZURE_CLIENT_SECRET", "s3cr3t~value&=".to_string()),
        ("AZURE_AUTHORITY_HOST", format!("{}/", server.url)),
    ]
}

#[test]
fn activity_log_checks_of_good_bad_and_denied_subscriptions() {
    let server = serve(false);
    let (checks, code, stderr) = run(&server, &sp_env(&server), None);
    assert_eq!(code, 1, "{stderr}");
    let status = |id: &str, sub: &str, res: &str| {
        find(&checks, id, sub, res)["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let ds = "azure.activity_log.diagnostic_setting";
    let ret = "azure.activity_log.retention";
    let imm = "azure.activity_log.storage_immutable";
    let public = "azure.activity_log.storage_not_public";
    for id in [ds, ret, imm, public] {
        assert_eq!(status(id, GOOD, ""), "pass", "{id}: {checks:#?}");
    }
    for id in [ds, ret, imm, public] {
        assert_eq!(status(id, BAD, ""), "fail", "{id}: {checks:#?}");
    }
    let bad = |id: &str| find(&checks, id, BAD, "");
    assert!(bad(ds)["evidence"]
        .as_str()
        .unwrap()
        .contains("not ServiceHealth, Alert, Recommendation, Policy, Autoscale, ResourceHealth"));
    let fix = bad(ds)["fix"].as_str().unwrap();
    assert!(
        fix.starts_with(&format!(
            "az monitor diagnostic-settings subscription create --name 'partial' --subscription '{BAD}' --storage-account '{}' --workspace '{}' --logs '[{{\"category\":\"Administrative\",\"enabled\":true}}",
            storage(BAD, "badlogs"),
            workspace(BAD, "ops")
        )),
        "{fix}"
    );
    assert!(fix.contains("ResourceHealth"));
    let r = bad(ret);
    assert!(
        r["evidence"].as_str().unwrap().contains("\"cleanup\""),
        "{r}"
    );
    assert!(
        r["evidence"].as_str().unwrap().contains("keeps 90 days"),
        "{r}"
    );
    assert_eq!(
        r["fix"],
        format!(
            "az monitor log-analytics workspace update --ids '{}' --retention-time 365",
            workspace(BAD, "ops")
        )
    );
    assert_eq!(
        bad(imm)["fix"],
        "az storage container immutability-policy lock --account-name 'badlogs' --resource-group 'logs-rg' --container-name 'insights-activity-logs' --if-match '\"8d9f0a1b2c3d4e5\"'"
    );
    assert_eq!(bad(imm)["region"], "westeurope");
    assert_eq!(
        bad(public)["fix"],
        format!(
            "az storage account update --ids '{}' --allow-blob-public-access false --default-action Deny --bypass AzureServices --https-only true",
            storage(BAD, "badlogs")
        )
    );
    // The denied call: unknown, naming the call and ARM's answer; never a pass.
    for id in [ds, ret] {
        let c = find(&checks, id, DENIED, "");
        assert_eq!(c["status"], "unknown");
        let e = c["evidence"].as_str().unwrap();
        assert!(
            e.contains(&format!("GET /subscriptions/{DENIED}/providers/Microsoft.Insights/diagnosticSettings: HTTP 403: AuthorizationFailed")),
            "{e}"
        );
    }
    // The denied subscription: its two Activity Log checks unknown, Defender and alerts read.
    assert_eq!(checks.iter().filter(|c| c["account"] == DENIED).count(), 4);
    let entra = find(&checks, "azure.entra.diagnostic_setting", TENANT, "aadiam");
    assert_eq!(entra["status"], "fail", "{entra}");
    assert!(entra["evidence"].as_str().unwrap().contains(
        "entra-to-siem export(s) but not NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs, ManagedIdentitySignInLogs"
    ));
    let fix = entra["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("az rest --method put --uri 'https://management.azure.com/providers/microsoft.aadiam/diagnosticSettings/entra-to-siem?api-version=2017-04-01' --body '{\"properties\":{\"eventHubAuthorizationRuleId\":"),
        "{fix}"
    );
    assert!(
        fix.contains("{\"category\":\"ManagedIdentitySignInLogs\",\"enabled\":true}"),
        "{fix}"
    );
    defender_and_alerts(&checks);
    assert_credentials(&server, SP_TOKEN);
    assert!(server
        .seen
        .lock()
        .unwrap()
        .iter()
        .any(|s| s.target.ends_with("&%24skipToken=page2")));
    let seen = server.seen.lock().unwrap().clone();
    let token = seen.iter().find(|s| s.method == "POST").unwrap();
    assert_eq!(token.target, format!("/{TENANT}/oauth2/v2.0/token"));
    let form: BTreeMap<&str, &str> = token
        .body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(
        form["client_id"],
        "0a1b2c3d%2Daaaa%2D4bbb%2D8ccc%2D0123456789ab"
    );
    assert_eq!(form["client_secret"], "s3cr3t%7Evalue%26%3D");
    assert_eq!(
        form["scope"],
        "https%3A%2F%2Fmanagement%2Eazure%2Ecom%2F%2Edefault"
    );
}

fn defender_and_alerts(checks: &[Value]) {
    let d = "azure.defender.plans";
    assert_eq!(find(checks, d, GOOD, "pricings")["status"], "pass");
    assert_eq!(find(checks, d, DENIED, "pricings")["status"], "pass");
    let bad = find(checks, d, BAD, "pricings");
    assert_eq!(bad["status"], "fail");
    let e = bad["evidence"].as_str().unwrap();
    assert!(
        e.starts_with(
            "Free: StorageAccounts, KeyVaults, SqlServers; Standard: VirtualMachines, Arm,"
        ),
        "{e}"
    );
    assert!(
        e.contains("--name KeyVaults, SqlServers each") && !e.contains("Api"),
        "{e}"
    );
    assert_eq!(
        bad["fix"],
        format!("az security pricing create --name 'StorageAccounts' --tier Standard --subscription '{BAD}'")
    );
    let a = "azure.monitor.activity_log_alerts";
    let good = find(checks, a, GOOD, "activityLogAlerts");
    assert_eq!(good["status"], "pass", "{good}");
    assert!(
        good["evidence"].as_str().unwrap().contains("all 12"),
        "{good}"
    );
    let bad = find(checks, a, BAD, "activityLogAlerts");
    assert_eq!(bad["status"], "fail");
    let e = bad["evidence"].as_str().unwrap();
    assert!(e.starts_with("4 alert(s); no enabled subscription-wide alert with an action group for Microsoft.Authorization/policyAssignments/delete (5.2.2), Microsoft.Network/networkSecurityGroups/write (5.2.3),"), "{e}");
    for o in &OPS[1..] {
        assert!(e.contains(o), "{o}: {e}");
    }
    assert!(!e.contains(&format!("{} ", OPS[0])), "{e}");
    assert_eq!(
        bad["fix"],
        format!(
            "az monitor activity-log alert create --name 'cis-Microsoft.Authorization-policyAssignments-delete' --resource-group 'monitor-rg' --scope '/subscriptions/{BAD}' --condition 'category=Administrative and operationName=Microsoft.Authorization/policyAssignments/delete' --action-group '{}' --subscription '{BAD}'",
            action_group(BAD)
        )
    );
    let none = find(checks, a, DENIED, "activityLogAlerts");
    assert_eq!(none["status"], "fail");
    assert_eq!(none["fix"], Value::Null);
    assert!(none["evidence"]
        .as_str()
        .unwrap()
        .contains("to fix: an action group"));
}

/// Exactly one token request (first), every other call an ARM GET with the bearer token, and
/// every ARM path one the server knows (a wrong path would read as "nothing configured").
fn assert_credentials(server: &Server, token: &str) {
    let seen = server.seen.lock().unwrap().clone();
    let arm: Vec<&Seen> = seen.iter().filter(|s| s.method != "POST").collect();
    assert!(arm.len() >= 12, "{arm:#?}");
    for s in &arm {
        assert_eq!(s.method, "GET");
        assert_eq!(
            s.headers.get("authorization").map(String::as_str),
            Some(format!("Bearer {token}").as_str()),
            "{}",
            s.target
        );
        let path = s.target.split('?').next().unwrap();
        assert!(
            arm_answer(path, server.good_tenant).is_some(),
            "unrouted call {}",
            s.target
        );
        assert!(s.target.contains("?api-version="), "{}", s.target);
    }
}

#[test]
fn the_azure_cli_login_gives_the_token_without_a_service_principal() {
    let server = serve(true);
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let calls = dir.path().join("az-calls");
    let az = bin.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nprintf '%s' '{{\"accessToken\": \"{CLI_TOKEN}\", \"expiresOn\": \"2026-12-02 13:00:00.000000\", \"expires_on\": 1796216400, \"subscription\": \"{GOOD}\", \"tenant\": \"{TENANT}\", \"tokenType\": \"Bearer\"}}'\n",
            calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (checks, code, stderr) = run(&server, &[], Some(&bin));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "account\nget-access-token\n--resource\nhttps://management.azure.com/\n-o\njson\n"
    );
    assert_eq!(
        find(&checks, "azure.activity_log.diagnostic_setting", GOOD, "")["status"],
        "pass"
    );
    assert!(
        server
            .seen
            .lock()
            .unwrap()
            .iter()
            .all(|s| s.method == "GET"),
        "no token request"
    );
    assert_credentials(&server, CLI_TOKEN);
    // The tenant-wide check is named by the CLI token's tenant.
    let entra = find(&checks, "azure.entra.diagnostic_setting", TENANT, "aadiam");
    assert_eq!(entra["status"], "pass", "{entra}");

    // A failing `az` stops the run with its reason, before any call.
    std::fs::write(
        &az,
        "#!/bin/sh\necho 'ERROR: Please run az login to setup account.' >&2\nexit 1\n",
    )
    .unwrap();
    let (checks, code, stderr) = run(&server, &[], Some(&bin));
    assert!(checks.is_empty());
    assert_eq!(code, 1);
    assert!(stderr.contains("Please run az login"), "{stderr}");
}

/// A stand-in `az` on a fresh PATH directory, recording each call's arguments (one per line,
/// a blank line after each call), printing `stdout`.
fn recording_az(dir: &Path, stdout: &str) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\necho >> '{}'\nprintf '%s' '{stdout}'\n",
            dir.join("az-calls").display(),
            dir.join("az-calls").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `--format script` run with `--execute`: each fix reaches `az` word for word (values with
/// quotes, spaces and JSON arrive as single arguments).
#[test]
fn the_fix_script_runs_each_fix_through_az_word_for_word() {
    let server = serve(false);
    let (script, code, stderr) = run_as(
        &server,
        &sp_env(&server),
        None,
        "script",
        &[GOOD, BAD, DENIED],
    );
    assert_eq!(code, 1, "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fix.sh");
    std::fs::write(&file, &script).unwrap();
    let bin = recording_az(dir.path(), "{}");
    let old = std::env::var("PATH").unwrap_or_default();
    let out = Command::new("bash")
        .arg(&file)
        .arg("--execute")
        .env("PATH", format!("{}:{old}", bin.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(dir.path().join("az-calls")).unwrap();
    let calls: Vec<Vec<&str>> = calls
        .split("\n\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().collect())
        .collect();
    // BAD: setting, retention, immutability, network; Entra; Defender; alerts.
    assert_eq!(calls.len(), 7, "{calls:#?}\n{script}");
    let logs: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| json!({"category": c, "enabled": true}))
        .collect();
    assert_eq!(
        calls[0],
        [
            "monitor",
            "diagnostic-settings",
            "subscription",
            "create",
            "--name",
            "partial",
            "--subscription",
            BAD,
            "--storage-account",
            &storage(BAD, "badlogs"),
            "--workspace",
            &workspace(BAD, "ops"),
            "--logs",
            &Value::Array(logs).to_string(),
        ]
    );
    assert!(calls.iter().any(|c| c[..4]
        == ["storage", "container", "immutability-policy", "lock"]
        && c.last() == Some(&"\"8d9f0a1b2c3d4e5\"")));
    assert!(calls
        .iter()
        .any(|c| c[..2] == ["rest", "--method"] && c[2] == "put"));
    assert!(calls.iter().any(|c| c.contains(&"category=Administrative and operationName=Microsoft.Authorization/policyAssignments/delete")));
}

/// A subscription ARM does not know (404 on its lists) is `unknown` with the answer, never
/// "nothing configured".
#[test]
fn a_subscription_arm_does_not_know_is_unknown() {
    let server = serve(true);
    let missing = "44444444-4444-4444-8444-444444444444";
    let (stdout, code, _) = run_as(&server, &sp_env(&server), None, "jsonl", &[missing]);
    assert_eq!(code, 1);
    let checks: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_sub: Vec<&Value> = checks.iter().filter(|c| c["account"] == missing).collect();
    assert_eq!(of_sub.len(), 4, "{checks:#?}");
    for c in of_sub {
        assert_eq!(c["status"], "unknown", "{c}");
        let e = c["evidence"].as_str().unwrap();
        assert!(e.contains("HTTP 404: ResourceNotFound"), "{e}");
    }
}
