//! Azure Activity Log: background operations and attack scenarios, written as the diagnostic
//! setting's storage layout (`PT1H.json`, resource-log schema) and as a REST-style export.

use crate::org::{Org, Subscription};
use crate::util::{iso7, pick, rng_for, uuid, weighted};
use crate::{ProviderStats, Scenario, SimError};
use fastrand::Rng;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use trailwatch_model::Provider;

/// Who performed an operation.
#[derive(Clone)]
pub(crate) struct Caller {
    pub(crate) caller: String,
    pub(crate) object_id: String,
    pub(crate) principal_type: &'static str,
    pub(crate) role: &'static str,
    pub(crate) ip: String,
    pub(crate) claims: Value,
}

/// One logical operation; rendered as a Start and an end record sharing `correlation`.
#[derive(Clone)]
pub(crate) struct Op {
    pub(crate) t: i64,
    pub(crate) frac: u32,
    pub(crate) sub_i: usize,
    pub(crate) resource_id: String,
    pub(crate) operation: String,
    pub(crate) category: &'static str,
    pub(crate) caller: Caller,
    pub(crate) correlation: String,
    pub(crate) location: String,
    pub(crate) ok: bool,
    pub(crate) method: &'static str,
    pub(crate) status_code: &'static str,
    pub(crate) body: Option<String>,
    pub(crate) duration_ms: i64,
    pub(crate) level: &'static str,
}

pub(crate) const AZURE_SCENARIOS: &[(&str, &str, &str)] = &[
    (
        "azure_nsg_open_rdp",
        "T1562.007",
        "NSG rule allowing 0.0.0.0/0 to 3389 written by a compromised user.",
    ),
    (
        "azure_owner_role_assignment",
        "T1098.003",
        "Owner role assigned at subscription scope to a new principal.",
    ),
    (
        "azure_diagnostic_settings_delete",
        "T1562.008",
        "Subscription diagnostic setting (activity log export) deleted.",
    ),
    (
        "azure_keyvault_policy_and_secret_reads",
        "T1555.006",
        "Key Vault access policy granted to the attacker, then secrets read.",
    ),
    (
        "azure_storage_list_keys",
        "T1552.001",
        "Storage account keys listed for several accounts.",
    ),
    (
        "azure_vm_create_odd_region",
        "T1496",
        "Large VMs created in a region the organisation does not use.",
    ),
    (
        "azure_activity_log_alert_delete",
        "T1562.001",
        "Activity log alert rules deleted.",
    ),
];

pub(crate) fn user_caller(org: &Org, i: usize, ip: Option<&str>) -> Caller {
    let u = &org.az_users[i % org.az_users.len()];
    let ip = ip.unwrap_or(&u.ip).to_string();
    Caller {
        caller: u.upn.clone(),
        object_id: u.object_id.clone(),
        principal_type: "User",
        role: u.role,
        claims: json!({
            "aud": "https://management.core.windows.net/",
            "iss": format!("https://sts.windows.net/{}/", org.tenant_id),
            "http://schemas.microsoft.com/claims/authnclassreference": "1",
            "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd,mfa",
            "appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "appidacr": "0",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": u.upn,
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": u.upn,
            "name": u.name,
            "idtyp": "user",
            "ipaddr": ip,
            "http://schemas.microsoft.com/identity/claims/objectidentifier": u.object_id,
            "http://schemas.microsoft.com/identity/claims/tenantid": org.tenant_id,
            "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
            "ver": "1.0"
        }),
        ip,
    }
}

pub(crate) fn app_caller(org: &Org, i: usize) -> Caller {
    let a = &org.az_apps[i % org.az_apps.len()];
    Caller {
        caller: a.object_id.clone(),
        object_id: a.object_id.clone(),
        principal_type: "ServicePrincipal",
        role: "Contributor",
        claims: json!({
            "aud": "https://management.azure.com/",
            "iss": format!("https://sts.windows.net/{}/", org.tenant_id),
            "appid": a.app_id,
            "appidacr": "2",
            "idtyp": "app",
            "http://schemas.microsoft.com/identity/claims/identityprovider": format!("https://sts.windows.net/{}/", org.tenant_id),
            "http://schemas.microsoft.com/identity/claims/objectidentifier": a.object_id,
            "http://schemas.microsoft.com/identity/claims/tenantid": org.tenant_id,
            "ver": "1.0"
        }),
        ip: a.ip.clone(),
    }
}

pub(crate) fn rid(sub: &Subscription, rg: usize, provider_path: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/{provider_path}",
        sub.id, sub.groups[rg].0
    )
}

/// Whether user `i` is at work at `t`: a weekday, 08:00–18:00 at their office.
fn at_work(org: &Org, i: usize, t: i64) -> bool {
    let u = &org.az_users[i];
    let tz = crate::org::OFFICE_NETS[crate::org::office_of(&u.ip)].1;
    let local = t + tz * 3600;
    crate::util::weekday(local) < 5 && (8..18).contains(&local.rem_euclid(86_400).div_euclid(3600))
}

/// A user at work at `t` (a few draws), if one is found.
fn user_at_work(org: &Org, rng: &mut Rng, t: i64) -> Option<usize> {
    (0..4)
        .map(|_| rng.usize(..org.az_users.len()))
        .find(|&i| at_work(org, i, t))
}

/// A background operation: by a person at work in their office's time zone (45% of the time
/// when one is), else by one of the automation service principals.
fn background_op(org: &Org, rng: &mut Rng, sub_i: usize, t: i64) -> Op {
    let sub = &org.subs[sub_i];
    let by_user = rng.f64() < 0.45;
    let user = if by_user {
        user_at_work(org, rng, t)
    } else {
        None
    };
    let caller = match user {
        Some(i) => user_caller(org, i, None),
        None => app_caller(org, rng.usize(..org.az_apps.len())),
    };
    let kind = weighted(
        rng,
        &[3.0, 2.0, 2.0, 2.0, 1.5, 1.0, 1.0, 1.0, 2.0, 1.0, 0.6],
    );
    let (rg, path, op, method, body): (usize, String, &str, &str, Option<String>) = match kind {
        0 => {
            let (g, vm) = pick(rng, &sub.vms).clone();
            (
                g,
                format!("Microsoft.Compute/virtualMachines/{vm}"),
                *pick(
                    rng,
                    &[
                        "Microsoft.Compute/virtualMachines/start/action",
                        "Microsoft.Compute/virtualMachines/deallocate/action",
                        "Microsoft.Compute/virtualMachines/restart/action",
                    ],
                ),
                "POST",
                None,
            )
        }
        1 => {
            let g = rng.usize(..sub.groups.len());
            let name = format!(
                "{}-{}",
                pick(rng, &["main", "network", "aks", "app", "monitoring"]),
                crate::util::hex(rng, 8)
            );
            (
                g,
                format!("Microsoft.Resources/deployments/{name}"),
                "Microsoft.Resources/deployments/write",
                "PUT",
                None,
            )
        }
        2 => {
            let (g, st) = pick(rng, &sub.storage).clone();
            (
                g,
                format!(
                    "Microsoft.Storage/storageAccounts/{st}/blobServices/default/containers/{}",
                    pick(rng, &["exports", "tfstate", "images", "backups"])
                ),
                "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                "PUT",
                None,
            )
        }
        3 => {
            let (g, vm) = pick(rng, &sub.vms).clone();
            (
                g,
                format!("Microsoft.Network/networkInterfaces/{vm}-nic"),
                "Microsoft.Network/networkInterfaces/write",
                "PUT",
                None,
            )
        }
        4 => {
            let (g, nsg) = pick(rng, &sub.nsgs).clone();
            let port = *pick(rng, &["443", "5432", "8080", "22"]);
            let src = *pick(
                rng,
                &[
                    "10.0.0.0/8",
                    "VirtualNetwork",
                    "10.20.0.0/16",
                    "AzureLoadBalancer",
                ],
            );
            let rule = format!("allow-{port}-internal");
            let body = json!({"properties": {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": port, "sourceAddressPrefix": src, "destinationAddressPrefix": "*", "access": "Allow", "priority": 200 + rng.u32(0..50), "direction": "Inbound"}}).to_string();
            (
                g,
                format!("Microsoft.Network/networkSecurityGroups/{nsg}/securityRules/{rule}"),
                "Microsoft.Network/networkSecurityGroups/securityRules/write",
                "PUT",
                Some(body),
            )
        }
        5 => (
            2,
            "Microsoft.ContainerService/managedClusters/aks-prod/agentPools/userpool".into(),
            "Microsoft.ContainerService/managedClusters/agentPools/write",
            "PUT",
            None,
        ),
        6 => {
            let (g, vm) = pick(rng, &sub.vms).clone();
            (
                g,
                format!(
                    "Microsoft.Compute/snapshots/{vm}-osdisk-{}",
                    crate::util::hex(rng, 6)
                ),
                "Microsoft.Compute/snapshots/write",
                "PUT",
                None,
            )
        }
        7 => {
            let g = rng.usize(..sub.groups.len());
            (
                g,
                "Microsoft.Resources/tags/default".into(),
                "Microsoft.Resources/tags/write",
                "PUT",
                None,
            )
        }
        8 => {
            let (g, vm) = pick(rng, &sub.vms).clone();
            (
                g,
                format!("Microsoft.Compute/virtualMachines/{vm}"),
                "Microsoft.Authorization/policies/audit/action",
                "PUT",
                None,
            )
        }
        9 => {
            let (g, st) = pick(rng, &sub.storage).clone();
            (
                g,
                format!("Microsoft.Storage/storageAccounts/{st}"),
                "Microsoft.Storage/storageAccounts/write",
                "PUT",
                None,
            )
        }
        _ => (
            0,
            "Microsoft.Web/sites/app-web-prod".into(),
            "Microsoft.Web/sites/restart/action",
            "POST",
            None,
        ),
    };
    let policy = op.starts_with("Microsoft.Authorization/policies");
    let ok = rng.f64() > 0.02;
    Op {
        t,
        frac: rng.u32(..10_000_000),
        sub_i,
        resource_id: rid(sub, rg, &path),
        operation: op.to_string(),
        category: if policy { "Policy" } else { "Administrative" },
        caller,
        correlation: uuid(rng),
        location: sub.groups[rg].1.to_string(),
        ok,
        method,
        status_code: if !ok {
            "Conflict"
        } else if method == "POST" {
            "OK"
        } else {
            "Created"
        },
        body,
        duration_ms: rng.i64(80..25_000),
        level: if policy {
            "Warning"
        } else if ok {
            "Information"
        } else {
            "Error"
        },
    }
}

fn properties(org: &Org, op: &Op, end: bool) -> Map<String, Value> {
    let sub = &org.subs[op.sub_i];
    let mut p = Map::new();
    if end {
        p.insert("statusCode".into(), json!(op.status_code));
    }
    p.insert("serviceRequestId".into(), json!(null));
    if let Some(b) = &op.body {
        p.insert(
            if end { "responseBody" } else { "requestbody" }.into(),
            json!(b),
        );
    }
    p.insert("eventCategory".into(), json!(op.category));
    p.insert("entity".into(), json!(op.resource_id));
    p.insert("message".into(), json!(op.operation));
    p.insert(
        "hierarchy".into(),
        json!(format!("{}/{}/{}", org.tenant_id, org.mgmt_group, sub.id)),
    );
    p
}

/// Resource-log (diagnostic setting) line for the start or end of an operation.
fn diag_line(org: &Org, op: &Op, end: bool) -> (i64, u32, String) {
    let sub = &org.subs[op.sub_i];
    let (t, frac) = if end {
        let f = op.frac as i64 + op.duration_ms * 10_000;
        (op.t + f / 10_000_000, (f % 10_000_000) as u32)
    } else {
        (op.t, op.frac)
    };
    let (result, sig) = match (end, op.ok) {
        (false, _) => ("Start", "Started.".to_string()),
        (true, true) => ("Success", format!("Succeeded.{}", op.status_code)),
        (true, false) => ("Failure", format!("Failed.{}", op.status_code)),
    };
    let v = json!({
        "time": iso7(t, frac),
        "resourceId": op.resource_id.to_uppercase(),
        "operationName": op.operation.to_uppercase(),
        "category": op.category,
        "resultType": result,
        "resultSignature": sig,
        "durationMs": if end { op.duration_ms } else { 0 },
        "callerIpAddress": op.caller.ip,
        "correlationId": op.correlation,
        "identity": {
            "authorization": {
                "scope": op.resource_id,
                "action": op.operation,
                "evidence": {
                    "role": op.caller.role,
                    "roleAssignmentScope": format!("/subscriptions/{}", sub.id),
                    "roleAssignmentId": op.caller.object_id.replace('-', "").chars().rev().collect::<String>(),
                    "roleDefinitionId": "b24988ac618042a0ab8820f7382dd24c",
                    "principalId": op.caller.object_id.replace('-', ""),
                    "principalType": op.caller.principal_type
                }
            },
            "claims": op.caller.claims
        },
        "level": op.level,
        "location": "global",
        "properties": Value::Object(properties(org, op, end))
    });
    (t, frac, v.to_string())
}

/// REST (`az monitor activity-log list`) shape.
fn rest_record(org: &Org, op: &Op, end: bool, event_data_id: &str) -> Value {
    let sub = &org.subs[op.sub_i];
    let (t, frac) = if end {
        let f = op.frac as i64 + op.duration_ms * 10_000;
        (op.t + f / 10_000_000, (f % 10_000_000) as u32)
    } else {
        (op.t, op.frac)
    };
    let provider = op
        .operation
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let rtype = op
        .operation
        .rsplit_once('/')
        .map(|x| x.0)
        .unwrap_or_default()
        .to_string();
    let rg = op
        .resource_id
        .split('/')
        .nth(4)
        .unwrap_or_default()
        .to_string();
    let status = match (end, op.ok) {
        (false, _) => "Started",
        (true, true) => "Succeeded",
        (true, false) => "Failed",
    };
    let mut props: Map<String, Value> = properties(org, op, end);
    props.remove("hierarchy");
    json!({
        "authorization": {"action": op.operation, "scope": op.resource_id},
        "caller": op.caller.caller,
        "channels": "Operation",
        "claims": op.caller.claims,
        "correlationId": op.correlation,
        "description": "",
        "eventDataId": event_data_id,
        "eventName": if end { json!({"value": "EndRequest", "localizedValue": "End request"}) } else { json!({"value": "BeginRequest", "localizedValue": "Begin request"}) },
        "category": {"value": op.category, "localizedValue": op.category},
        "eventTimestamp": iso7(t, frac),
        "httpRequest": {"clientRequestId": op.correlation, "clientIpAddress": op.caller.ip, "method": op.method},
        "id": format!("{}/events/{event_data_id}/ticks/{}", op.resource_id, 621_355_968_000_000_000i64 + t * 10_000_000 + frac as i64),
        "level": if op.level == "Information" { "Informational" } else { op.level },
        "resourceGroupName": rg,
        "resourceProviderName": {"value": provider, "localizedValue": provider},
        "resourceId": op.resource_id,
        "resourceType": {"value": rtype, "localizedValue": rtype},
        "operationId": op.correlation,
        "operationName": {"value": op.operation, "localizedValue": op.operation},
        "properties": Value::Object(props),
        "status": {"value": status, "localizedValue": status},
        "subStatus": if end { json!({"value": op.status_code, "localizedValue": op.status_code}) } else { json!({"value": "", "localizedValue": ""}) },
        "submissionTimestamp": iso7(t + 12, frac),
        "subscriptionId": sub.id,
        "tenantId": org.tenant_id
    })
}

/// Attack operations for each Azure scenario.
fn attacks(org: &Org, seed: u64, times: &[i64]) -> (Vec<Op>, Vec<Scenario>) {
    let mut ops = Vec::new();
    let mut gts = Vec::new();
    for (k, (name, technique, description)) in AZURE_SCENARIOS.iter().enumerate() {
        let mut rng = rng_for(seed, &[60, k as u64]);
        let sub_i = k % org.subs.len();
        let sub = &org.subs[sub_i];
        let ip = format!("198.51.100.{}", rng.u8(2..=254));
        let user_i = (k * 3 + 1) % org.az_users.len();
        let mut caller = user_caller(org, user_i, Some(&ip));
        caller.role = "Owner";
        let mut t = times[k];
        let mut mine: Vec<Op> = Vec::new();
        let mut add = |rng: &mut Rng,
                       t: &mut i64,
                       rg: usize,
                       path: String,
                       op: &str,
                       method: &'static str,
                       body: Option<String>,
                       location: &str| {
            *t += rng.i64(5..60);
            mine.push(Op {
                t: *t,
                frac: rng.u32(..10_000_000),
                sub_i,
                resource_id: if path.starts_with('/') {
                    path
                } else {
                    rid(sub, rg, &path)
                },
                operation: op.to_string(),
                category: "Administrative",
                caller: caller.clone(),
                correlation: uuid(rng),
                location: location.to_string(),
                ok: true,
                method,
                status_code: if method == "PUT" { "Created" } else { "OK" },
                body,
                duration_ms: rng.i64(200..4000),
                level: "Information",
            });
        };
        let loc = sub.groups[0].1;
        match *name {
            "azure_nsg_open_rdp" => {
                let nsg = &sub.nsgs[0].1;
                let body = json!({"properties": {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "3389", "sourceAddressPrefix": "0.0.0.0/0", "destinationAddressPrefix": "*", "access": "Allow", "priority": 100, "direction": "Inbound"}}).to_string();
                add(
                    &mut rng,
                    &mut t,
                    0,
                    format!("Microsoft.Network/networkSecurityGroups/{nsg}/securityRules/AllowRDP"),
                    "Microsoft.Network/networkSecurityGroups/securityRules/write",
                    "PUT",
                    Some(body),
                    loc,
                );
            }
            "azure_owner_role_assignment" => {
                let assignee = uuid(&mut rng);
                let body = json!({"Id": uuid(&mut rng), "Properties": {"PrincipalId": assignee, "PrincipalType": "ServicePrincipal", "RoleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", sub.id), "Scope": format!("/subscriptions/{}", sub.id)}}).to_string();
                let ra = uuid(&mut rng);
                add(
                    &mut rng,
                    &mut t,
                    0,
                    format!(
                        "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments/{ra}",
                        sub.id
                    ),
                    "Microsoft.Authorization/roleAssignments/write",
                    "PUT",
                    Some(body),
                    "global",
                );
            }
            "azure_diagnostic_settings_delete" => {
                add(&mut rng, &mut t, 0, format!("/subscriptions/{}/providers/microsoft.insights/diagnosticSettings/activity-to-storage", sub.id), "microsoft.insights/diagnosticSettings/delete", "DELETE", None, "global");
            }
            "azure_keyvault_policy_and_secret_reads" => {
                let (g, kv) = sub.vaults[0].clone();
                let body = json!({"properties": {"accessPolicies": [{"tenantId": org.tenant_id, "objectId": caller.object_id, "permissions": {"secrets": ["get", "list"], "keys": [], "certificates": []}}]}}).to_string();
                add(
                    &mut rng,
                    &mut t,
                    g,
                    format!("Microsoft.KeyVault/vaults/{kv}/accessPolicies/add"),
                    "Microsoft.KeyVault/vaults/accessPolicies/write",
                    "PUT",
                    Some(body),
                    loc,
                );
                for s in [
                    "sql-admin-password",
                    "storage-conn-string",
                    "api-signing-key",
                    "sp-client-secret",
                ] {
                    add(
                        &mut rng,
                        &mut t,
                        g,
                        format!("Microsoft.KeyVault/vaults/{kv}/secrets/{s}"),
                        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                        "POST",
                        None,
                        loc,
                    );
                }
            }
            "azure_storage_list_keys" => {
                for (g, st) in sub.storage.clone() {
                    add(
                        &mut rng,
                        &mut t,
                        g,
                        format!("Microsoft.Storage/storageAccounts/{st}"),
                        "Microsoft.Storage/storageAccounts/listKeys/action",
                        "POST",
                        None,
                        loc,
                    );
                }
            }
            "azure_vm_create_odd_region" => {
                for i in 0..3 {
                    let vm = format!("vm-batch-{}{i}", crate::util::lower(&mut rng, 4));
                    let body = json!({"location": "brazilsouth", "properties": {"hardwareProfile": {"vmSize": "Standard_NC24ads_A100_v4"}}}).to_string();
                    add(
                        &mut rng,
                        &mut t,
                        4,
                        format!("Microsoft.Compute/virtualMachines/{vm}"),
                        "Microsoft.Compute/virtualMachines/write",
                        "PUT",
                        Some(body),
                        "brazilsouth",
                    );
                }
            }
            _ => {
                for alert in [
                    "alert-nsg-changes",
                    "alert-role-assignments",
                    "alert-keyvault-changes",
                ] {
                    add(
                        &mut rng,
                        &mut t,
                        3,
                        format!("microsoft.insights/activityLogAlerts/{alert}"),
                        "microsoft.insights/activityLogAlerts/delete",
                        "DELETE",
                        None,
                        "global",
                    );
                }
            }
        }
        let mut api_calls: Vec<String> = Vec::new();
        for o in &mine {
            if !api_calls.contains(&o.operation) {
                api_calls.push(o.operation.clone());
            }
        }
        let last = mine.last().map(|o| o.t + 5).unwrap_or(times[k]);
        gts.push(Scenario {
            id: format!(
                "azure-{:02}-{}",
                k + 1,
                name.trim_start_matches("azure_").replace('_', "-")
            ),
            name: name.to_string(),
            provider: Provider::Azure,
            technique: technique.to_string(),
            description: description.to_string(),
            account: sub.id.clone(),
            region: mine.first().map(|o| o.location.clone()).unwrap_or_default(),
            principal: caller.caller.clone(),
            access_key: None,
            source_ip: ip,
            user_agent: String::new(),
            start: crate::util::iso(mine.first().map(|o| o.t).unwrap_or(times[k])),
            end: crate::util::iso(last),
            event_count: mine.len() * 2,
            event_ids: mine.iter().map(|o| o.correlation.clone()).collect(),
            api_calls,
            log: Some(crate::AzureLog::Activity),
            families: Vec::new(),
            twin: None,
            targets: Vec::new(),
        });
        ops.extend(mine);
    }
    (ops, gts)
}

pub(crate) struct AzureOut {
    pub stats: ProviderStats,
    pub rest_records: u64,
    pub scenarios: Vec<Scenario>,
}

/// Generate the Azure side: one `PT1H.json` per subscription and hour, plus the REST export.
/// `extra_ops` (family scenarios and benign twins) are written like the attacks: in the PT1H
/// blobs and, whatever their day, in the REST export.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    org: &Org,
    seed: u64,
    start: i64,
    days: u32,
    per_day: u64,
    attack_times: Option<&[i64]>,
    extra_ops: Vec<Op>,
    out: &Path,
) -> Result<AzureOut, SimError> {
    let (mut attack_ops, scenarios) = match attack_times {
        Some(times) => attacks(org, seed, times),
        None => (Vec::new(), Vec::new()),
    };
    attack_ops.extend(extra_ops);
    attack_ops.iter_mut().for_each(clamp_to_hour);
    let mut by_hour: BTreeMap<(usize, i64), Vec<&Op>> = BTreeMap::new();
    for op in &attack_ops {
        by_hour
            .entry((op.sub_i, op.t.div_euclid(3600)))
            .or_default()
            .push(op);
    }
    let mut stats = ProviderStats::default();
    let mut rest_ops: Vec<Op> = Vec::new();
    let hours_w: [f64; 24] = [
        1.0, 1.0, 1.0, 1.0, 1.0, 1.5, 2.5, 4.0, 6.0, 7.0, 7.0, 7.0, 6.5, 7.0, 7.0, 7.0, 6.5, 5.5,
        4.0, 3.0, 2.5, 2.0, 1.5, 1.2,
    ];
    let hsum: f64 = hours_w.iter().sum();
    let n_subs = org.subs.len();
    for h in 0..days as i64 * 24 {
        let hour_start = start + h * 3600;
        let hod = (h % 24) as usize;
        let weekend = crate::util::weekday(hour_start) >= 5;
        for sub_i in 0..n_subs {
            let mut rng = rng_for(seed, &[61, sub_i as u64, hour_start as u64]);
            let share = if sub_i == 0 {
                0.6
            } else {
                0.4 / (n_subs - 1).max(1) as f64
            };
            let x = per_day as f64 * hours_w[hod] / hsum * share * if weekend { 0.4 } else { 1.0 };
            let n = x.floor() as u64 + u64::from(rng.f64() < x.fract());
            let mut ops: Vec<Op> = (0..n)
                .map(|_| {
                    let t = hour_start + rng.i64(0..3600);
                    background_op(org, &mut rng, sub_i, t)
                })
                .collect();
            ops.iter_mut().for_each(clamp_to_hour);
            if h < 24 {
                rest_ops.extend(ops.iter().cloned());
            }
            if let Some(extra) = by_hour.get(&(sub_i, hour_start.div_euclid(3600))) {
                ops.extend(extra.iter().map(|o| (*o).clone()));
            }
            if ops.is_empty() {
                continue;
            }
            let mut lines: Vec<(i64, u32, String)> = Vec::with_capacity(ops.len() * 2);
            for op in &ops {
                lines.push(diag_line(org, op, false));
                lines.push(diag_line(org, op, true));
            }
            lines.sort_by_key(|l| (l.0, l.1));
            let (y, m, d) = crate::util::civil(hour_start.div_euclid(86_400));
            let dir = out
                .join("insights-activity-logs")
                .join("resourceId=")
                .join("SUBSCRIPTIONS")
                .join(org.subs[sub_i].id.to_uppercase())
                .join(format!("y={y:04}"))
                .join(format!("m={m:02}"))
                .join(format!("d={d:02}"))
                .join(format!("h={:02}", hod))
                .join("m=00");
            std::fs::create_dir_all(&dir).map_err(|e| SimError::io(&dir, e))?;
            let path = dir.join("PT1H.json");
            let mut body = String::with_capacity(lines.len() * 1800);
            for l in &lines {
                body.push_str(&l.2);
                body.push('\n');
            }
            std::fs::write(&path, body.as_bytes()).map_err(|e| SimError::io(&path, e))?;
            stats.records += lines.len() as u64;
            stats.files += 1;
            stats.bytes_uncompressed += body.len() as u64;
            stats.bytes_written += body.len() as u64;
        }
    }

    rest_ops.extend(attack_ops.iter().cloned());
    rest_ops.sort_by_key(|o| std::cmp::Reverse((o.t, o.frac)));
    let mut rrng = rng_for(seed, &[62]);
    let mut value = Vec::with_capacity(rest_ops.len() * 2);
    for op in &rest_ops {
        value.push(rest_record(org, op, true, &uuid(&mut rrng)));
        value.push(rest_record(org, op, false, &uuid(&mut rrng)));
    }
    let rest_records = value.len() as u64;
    let path = out.join("azure-activity-rest.json");
    let f = std::fs::File::create(&path).map_err(|e| SimError::io(&path, e))?;
    let mut w = std::io::BufWriter::new(f);
    serde_json::to_writer(&mut w, &json!({ "value": value })).map_err(SimError::Json)?;
    w.flush().map_err(|e| SimError::io(&path, e))?;
    Ok(AzureOut {
        stats,
        rest_records,
        scenarios,
    })
}

/// Keep an operation's end record in the same hourly blob as its start.
fn clamp_to_hour(op: &mut Op) {
    let left_100ns = (3600 - op.t.rem_euclid(3600)) * 10_000_000 - op.frac as i64 - 1;
    op.duration_ms = op.duration_ms.min(left_100ns / 10_000).max(0);
}
