//! One spelling for every Azure operation name.
//!
//! The same operation reaches us as `Microsoft.Network/networkSecurityGroups/securityRules/write`
//! (REST, Log Analytics), `MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE`
//! (diagnostic-setting export) or `microsoft.network/…` (some exporters). Alerts, the store,
//! timelines and summaries show one name, the resource-provider form, whatever the shape.
//!
//! The canonical form is a function of the lower-cased name only, so every shape of an operation
//! maps to the same text: each `/`-separated segment is looked up in a vocabulary of the
//! namespaces, resource types and actions of the families we detect; a namespace we do not know
//! is written `Microsoft.Foo` (each dotted part capitalised), any other segment we do not know in
//! lower case, and the verb (`read`, `write`, `delete`, `action`) in lower case, as Azure
//! writes it. Rules are unaffected: they compare operation names without regard to case.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Resource-provider namespaces, as Azure spells them.
const NAMESPACES: &[&str] = &[
    "Microsoft.AAD",
    "Microsoft.aadiam",
    "Microsoft.ADHybridHealthService",
    "Microsoft.Advisor",
    "Microsoft.AlertsManagement",
    "Microsoft.AnalysisServices",
    "Microsoft.ApiManagement",
    "Microsoft.App",
    "Microsoft.AppConfiguration",
    "Microsoft.Attestation",
    "Microsoft.Authorization",
    "Microsoft.Automation",
    "Microsoft.AzureActiveDirectory",
    "Microsoft.Batch",
    "Microsoft.Billing",
    "Microsoft.Blueprint",
    "Microsoft.Cache",
    "Microsoft.Capacity",
    "Microsoft.Cdn",
    "Microsoft.Chaos",
    "Microsoft.ClassicCompute",
    "Microsoft.ClassicNetwork",
    "Microsoft.ClassicStorage",
    "Microsoft.CognitiveServices",
    "Microsoft.Compute",
    "Microsoft.Consumption",
    "Microsoft.ContainerInstance",
    "Microsoft.ContainerRegistry",
    "Microsoft.ContainerService",
    "Microsoft.CostManagement",
    "Microsoft.Dashboard",
    "Microsoft.Databricks",
    "Microsoft.DataFactory",
    "Microsoft.DataProtection",
    "Microsoft.DataShare",
    "Microsoft.DBforMariaDB",
    "Microsoft.DBforMySQL",
    "Microsoft.DBforPostgreSQL",
    "Microsoft.DesktopVirtualization",
    "Microsoft.Devices",
    "Microsoft.DevTestLab",
    "Microsoft.DocumentDB",
    "Microsoft.EventGrid",
    "Microsoft.EventHub",
    "Microsoft.Features",
    "Microsoft.GuestConfiguration",
    "Microsoft.HDInsight",
    "Microsoft.HybridCompute",
    "Microsoft.Insights",
    "Microsoft.KeyVault",
    "Microsoft.Kubernetes",
    "Microsoft.KubernetesConfiguration",
    "Microsoft.Kusto",
    "Microsoft.Logic",
    "Microsoft.MachineLearningServices",
    "Microsoft.Maintenance",
    "Microsoft.ManagedIdentity",
    "Microsoft.Management",
    "Microsoft.Migrate",
    "Microsoft.Monitor",
    "Microsoft.NetApp",
    "Microsoft.Network",
    "Microsoft.NotificationHubs",
    "Microsoft.OperationalInsights",
    "Microsoft.OperationsManagement",
    "Microsoft.PolicyInsights",
    "Microsoft.Portal",
    "Microsoft.Purview",
    "Microsoft.RecoveryServices",
    "Microsoft.Relay",
    "Microsoft.ResourceHealth",
    "Microsoft.Resources",
    "Microsoft.Search",
    "Microsoft.Security",
    "Microsoft.SecurityInsights",
    "Microsoft.ServiceBus",
    "Microsoft.ServiceFabric",
    "Microsoft.SignalRService",
    "Microsoft.Solutions",
    "Microsoft.Sql",
    "Microsoft.Storage",
    "Microsoft.StorageSync",
    "Microsoft.StreamAnalytics",
    "Microsoft.Subscription",
    "Microsoft.Support",
    "Microsoft.Synapse",
    "Microsoft.VirtualMachineImages",
    "Microsoft.Web",
];

/// Resource types and action names below the namespaces, as Azure spells them.
const SEGMENTS: &[&str] = &[
    // Microsoft.Network
    "applicationGateways",
    "applicationSecurityGroups",
    "azureFirewalls",
    "bastionHosts",
    "connections",
    "ddosProtectionPlans",
    "dnsZones",
    "expressRouteCircuits",
    "firewallPolicies",
    "flowLogs",
    "frontDoors",
    "ipGroups",
    "loadBalancers",
    "localNetworkGateways",
    "natGateways",
    "networkInterfaces",
    "networkSecurityGroups",
    "networkWatchers",
    "packetCaptures",
    "privateDnsZones",
    "privateEndpoints",
    "publicIPAddresses",
    "publicIPPrefixes",
    "routeTables",
    "routes",
    "ruleCollectionGroups",
    "securityRules",
    "serviceEndpointPolicies",
    "subnets",
    "virtualNetworkGateways",
    "virtualNetworkPeerings",
    "virtualNetworks",
    "join",
    // Microsoft.Compute
    "availabilitySets",
    "beginGetAccess",
    "capture",
    "deallocate",
    "diskEncryptionSets",
    "disks",
    "endGetAccess",
    "extensions",
    "galleries",
    "generalize",
    "images",
    "installPatches",
    "powerOff",
    "redeploy",
    "reimage",
    "restart",
    "restorePointCollections",
    "restorePoints",
    "retrieveBootDiagnosticsData",
    "runCommand",
    "runCommands",
    "snapshots",
    "sshPublicKeys",
    "start",
    "virtualMachineScaleSets",
    "virtualMachines",
    // Microsoft.Storage
    "blobServices",
    "containers",
    "encryptionScopes",
    "failover",
    "fileServices",
    "generateUserDelegationKey",
    "immutabilityPolicies",
    "inventoryPolicies",
    "listAccountSas",
    "listKeys",
    "listServiceSas",
    "localUsers",
    "managementPolicies",
    "objectReplicationPolicies",
    "privateEndpointConnections",
    "queueServices",
    "regenerateKey",
    "revokeUserDelegationKeys",
    "shares",
    "storageAccounts",
    "tableServices",
    // Microsoft.KeyVault
    "accessPolicies",
    "backup",
    "certificates",
    "deletedSecrets",
    "deletedVaults",
    "getSecret",
    "keys",
    "managedHSMs",
    "purge",
    "recover",
    "restore",
    "secrets",
    "setSecret",
    "vaults",
    // Microsoft.Authorization and Microsoft.Management
    "classicAdministrators",
    "denyAssignments",
    "elevateAccess",
    "locks",
    "managementGroups",
    "policies",
    "policyAssignments",
    "policyDefinitions",
    "policyExemptions",
    "policySetDefinitions",
    "roleAssignmentScheduleRequests",
    "roleAssignments",
    "roleDefinitions",
    "roleEligibilityScheduleRequests",
    "audit",
    "auditIfNotExists",
    "deny",
    // Microsoft.Insights and Microsoft.OperationalInsights
    "actionGroups",
    "activityLogAlerts",
    "alertRules",
    "autoscaleSettings",
    "components",
    "dataCollectionEndpoints",
    "dataCollectionRuleAssociations",
    "dataCollectionRules",
    "dataSources",
    "diagnosticSettings",
    "linkedServices",
    "logProfiles",
    "metricAlerts",
    "privateLinkScopes",
    "savedSearches",
    "scheduledQueryRules",
    "sharedKeys",
    "tables",
    "workspaces",
    // Microsoft.Resources
    "deployments",
    "deploymentScripts",
    "exportTemplate",
    "moveResources",
    "providers",
    "resourceGroups",
    "resources",
    "subscriptions",
    "tags",
    "templateSpecs",
    "validate",
    "whatIf",
    // Microsoft.Sql
    "administrators",
    "auditingSettings",
    "azureADOnlyAuthentications",
    "databases",
    "elasticPools",
    "extendedAuditingSettings",
    "failoverGroups",
    "firewallRules",
    "managedInstances",
    "securityAlertPolicies",
    "servers",
    "transparentDataEncryption",
    "virtualNetworkRules",
    "vulnerabilityAssessments",
    // Microsoft.ContainerService
    "accessProfiles",
    "agentPools",
    "listClusterAdminCredential",
    "listClusterMonitoringUserCredential",
    "listClusterUserCredential",
    "managedClusters",
    "rotateClusterCertificates",
    // Microsoft.Automation
    "automationAccounts",
    "credentials",
    "draft",
    "hybridRunbookWorkerGroups",
    "jobSchedules",
    "jobs",
    "modules",
    "publish",
    "runbooks",
    "schedules",
    "softwareUpdateConfigurations",
    "sourceControls",
    "variables",
    "webhooks",
    // Microsoft.Security
    "advancedThreatProtectionSettings",
    "alerts",
    "alertsSuppressionRules",
    "assessments",
    "autoProvisioningSettings",
    "defenderForStorageSettings",
    "jitNetworkAccessPolicies",
    "pricings",
    "securityConnectors",
    "securityContacts",
    "securitySolutions",
    "settings",
    "workspaceSettings",
    // Microsoft.RecoveryServices and Microsoft.DataProtection
    "backupFabrics",
    "backupJobs",
    "backupPolicies",
    "backupProtectedItems",
    "backupVaults",
    "protectedItems",
    "protectionContainers",
    "recoveryPoints",
    "replicationFabrics",
    // Microsoft.ManagedIdentity, Microsoft.Web, containers
    "containerGroups",
    "federatedIdentityCredentials",
    "functions",
    "registries",
    "serverfarms",
    "sites",
    "slots",
    "userAssignedIdentities",
    // Anywhere
    "supportTickets",
    "locations",
    "operationresults",
    "operationStatuses",
    "register",
    "unregister",
];

/// Verbs are lower case in every shape Azure writes.
const VERBS: &[&str] = &["read", "write", "delete", "action"];

/// The vocabulary, keyed by the lower-cased spelling.
fn vocabulary() -> &'static HashMap<String, &'static str> {
    static VOCABULARY: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    VOCABULARY.get_or_init(|| {
        NAMESPACES
            .iter()
            .chain(SEGMENTS)
            .chain(VERBS)
            .map(|s| (s.to_ascii_lowercase(), *s))
            .collect()
    })
}

/// The canonical spelling of an Azure operation name (see the module documentation). Text
/// that is not an operation name (no `/`) is returned as it is.
pub fn canonical_operation(op: &str) -> Cow<'_, str> {
    if !op.contains('/') {
        return Cow::Borrowed(op);
    }
    let words = vocabulary();
    let mut out = String::with_capacity(op.len());
    for (i, segment) in op.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let lower = segment.to_ascii_lowercase();
        match words.get(&lower) {
            Some(known) => out.push_str(known),
            None if lower.starts_with("microsoft.") => push_namespace(&mut out, &lower),
            None => out.push_str(&lower),
        }
    }
    if out == op {
        Cow::Borrowed(op)
    } else {
        Cow::Owned(out)
    }
}

/// An unknown namespace: each dotted part capitalised (`microsoft.foo` → `Microsoft.Foo`).
fn push_namespace(out: &mut String, lower: &str) {
    for (i, part) in lower.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.push_str(chars.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_of_an_operation_has_one_name() {
        let canonical = "Microsoft.Network/networkSecurityGroups/securityRules/write";
        for shape in [
            canonical,
            "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
            "microsoft.network/networksecuritygroups/securityrules/write",
        ] {
            assert_eq!(canonical_operation(shape), canonical);
        }
        assert_eq!(
            canonical_operation(
                "MICROSOFT.KEYVAULT/VAULTS/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE"
            ),
            "Microsoft.KeyVault/vaults/providers/Microsoft.Insights/diagnosticSettings/delete"
        );
        assert_eq!(
            canonical_operation("microsoft.insights/diagnosticSettings/delete"),
            "Microsoft.Insights/diagnosticSettings/delete"
        );
        assert_eq!(
            canonical_operation("MICROSOFT.AUTHORIZATION/ELEVATEACCESS/ACTION"),
            "Microsoft.Authorization/elevateAccess/action"
        );
    }

    #[test]
    fn unknown_words_still_give_one_name_for_every_casing() {
        let a = canonical_operation("Microsoft.FooBar/widgetThings/frobnicate/action");
        let b = canonical_operation("MICROSOFT.FOOBAR/WIDGETTHINGS/FROBNICATE/ACTION");
        assert_eq!(a, b);
        assert_eq!(a, "Microsoft.Foobar/widgetthings/frobnicate/action");
        // Not an operation name: left alone.
        assert_eq!(canonical_operation("Sign-in activity"), "Sign-in activity");
    }

    #[test]
    fn the_vocabulary_has_no_two_spellings_of_one_word() {
        let mut seen = std::collections::HashSet::new();
        for w in NAMESPACES.iter().chain(SEGMENTS).chain(VERBS) {
            assert!(seen.insert(w.to_ascii_lowercase()), "{w} listed twice");
        }
    }
}
