//! Azure request and response bodies decide severity: an NSG rule opening an administrative
//! port range to the internet is high; an administrator's rule for HTTPS from the office is not.

use trailwatch_decode::expand_inputs;
use trailwatch_detect::{hunt, HuntOptions, RulePack};
use trailwatch_model::Severity;

/// A finished NSG rule write in the diagnostic (upper-case) shape; `body` is the rule as the
/// service answered it.
fn nsg_rule_write(who: &str, minute: u32, body: &str) -> String {
    let body = serde_json::Value::String(body.to_string());
    format!(
        r#"{{"time":"2026-11-20T10:{minute:02}:07.441Z","resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/SECURITYRULES/R{minute}","operationName":"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE","category":"Administrative","resultType":"Success","resultSignature":"Succeeded.Created","durationMs":"1873","callerIpAddress":"198.51.100.23","correlationId":"c-{minute}","identity":{{"authorization":{{"action":"Microsoft.Network/networkSecurityGroups/securityRules/write","evidence":{{"role":"Owner","principalId":"1f2e3d4c5b6a47988796a5b4c3d2e1f{minute}","principalType":"User"}}}},"claims":{{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"{who}"}}}},"level":"Information","location":"westeurope","properties":{{"statusCode":"Created","responseBody":{body}}}}}"#
    )
}

#[test]
fn an_nsg_rule_opening_rdp_range_to_the_internet_is_high_and_the_routine_rule_is_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let open = r#"{"name":"tmp","properties":{"protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"3380-3390","sourceAddressPrefix":"Internet","destinationAddressPrefix":"*","access":"Allow","priority":110,"direction":"Inbound"}}"#;
    let routine = r#"{"name":"https","properties":{"protocol":"Tcp","sourcePortRange":"*","destinationPortRange":"443","sourceAddressPrefix":"203.0.113.0/24","destinationAddressPrefix":"*","access":"Allow","priority":120,"direction":"Inbound"}}"#;
    let lines = [
        nsg_rule_write("mallory@contoso.com", 10, open),
        nsg_rule_write("netadmin@contoso.com", 11, routine),
    ];
    let file = dir.path().join("PT1H.json");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let (inputs, errors) = expand_inputs(&[file]);
    assert!(errors.is_empty(), "{errors:?}");
    let pack = RulePack::load(true, &[], Severity::Low).expect("built-in rules");
    let report = hunt(
        &inputs,
        &pack,
        &HuntOptions::default(),
        &|e| panic!("{e}"),
        &|_| {},
    );
    let alerts: Vec<_> = report.alerts.iter().map(|p| p.to_alert()).collect();
    let worst = |who: &str| {
        alerts
            .iter()
            .filter(|a| a.principal == who)
            .map(|a| a.severity)
            .max()
    };
    assert!(
        worst("mallory@contoso.com") >= Some(Severity::High),
        "{alerts:#?}"
    );
    let raised = alerts
        .iter()
        .find(|a| a.principal == "mallory@contoso.com" && a.severity >= Severity::High)
        .expect("a high alert");
    assert!(
        raised.description.contains("3389") || raised.title.contains("Internet"),
        "the alert says why: {raised:#?}"
    );
    assert!(
        worst("netadmin@contoso.com") < Some(Severity::Medium),
        "{alerts:#?}"
    );
}

const SUB: &str = "8f2d3c4b-5a69-4e7f-8a1b-2c3d4e5f6a7b";
/// Another subscription of the organisation (it has records of its own in the input).
const OTHER_SUB: &str = "2a7c9e41-6b3d-4f58-9c0e-1d2f3a4b5c6d";
/// A subscription nothing in the input belongs to.
const FOREIGN_SUB: &str = "d41c7a9e-0f3b-4e62-8a5d-9b1c2e3f4a50";

/// When the event numbered `n` happens: two hours apart, so that each is its own alert.
fn time_of(n: u32) -> i64 {
    1_763_636_467_441 + i64::from(n) * 7_200_000
}

/// A finished operation in the REST (Activity Log API) shape: `who` with object id `oid` did
/// `op` on `resource` as event `n` (at [`time_of`]), and the service answered `body`.
fn op_record(who: &str, oid: &str, n: u32, op: &str, resource: &str, body: &str) -> String {
    op_record_at(who, oid, n, time_of(n), op, resource, body)
}

/// [`op_record`] at the time `ms`.
fn op_record_at(
    who: &str,
    oid: &str,
    n: u32,
    ms: i64,
    op: &str,
    resource: &str,
    body: &str,
) -> String {
    let body = serde_json::Value::String(body.to_string());
    let sub = resource
        .split('/')
        .nth(2)
        .unwrap_or(SUB)
        .to_ascii_lowercase();
    let time = trailwatch_model::time::format_ms(ms);
    format!(
        r#"{{"eventTimestamp":"{time}","eventDataId":"00000000-0000-4000-8000-0000000000{n:02}","correlationId":"c-{n}","operationName":{{"value":"{op}"}},"status":{{"value":"Succeeded"}},"eventName":{{"value":"EndRequest"}},"category":{{"value":"Administrative"}},"caller":"{who}","claims":{{"http://schemas.microsoft.com/identity/claims/objectidentifier":"{oid}","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"{who}"}},"httpRequest":{{"clientIpAddress":"198.51.100.23","method":"PUT"}},"resourceId":"{resource}","subscriptionId":"{sub}","properties":{{"statusCode":"OK","responseBody":{body}}}}}"#
    )
}

/// Every alert of a hunt over `lines`, at any level.
fn alerts_of(lines: &[String]) -> Vec<trailwatch_model::Alert> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("activity.json");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let (inputs, errors) = expand_inputs(&[file]);
    assert!(errors.is_empty(), "{errors:?}");
    let pack = RulePack::load(true, &[], Severity::Low).expect("built-in rules");
    let report = hunt(
        &inputs,
        &pack,
        &HuntOptions::default(),
        &|e| panic!("{e}"),
        &|_| {},
    );
    report.alerts.iter().map(|p| p.to_alert()).collect()
}

/// The severity of the one alert about `minute`'s event (by its event id).
fn severity_at(alerts: &[trailwatch_model::Alert], minute: u32) -> Option<Severity> {
    let id = format!("00000000-0000-4000-8000-0000000000{minute:02}");
    alerts
        .iter()
        .filter(|a| a.event_ids.contains(&id))
        .map(|a| a.severity)
        .max()
}

#[test]
fn grants_to_oneself_and_wholesale_are_raised_routine_grants_stay_low() {
    let mallory = (
        "mallory@contoso.com",
        "1f2e3d4c-5b6a-4798-8796-a5b4c3d2e1f0",
    );
    let admin = ("admin@contoso.com", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d");
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-web-prod");
    let vault = format!("{rg}/providers/Microsoft.KeyVault/vaults/kv-web/accessPolicies/add");
    let ra = |id: &str| format!("{rg}/providers/Microsoft.Authorization/roleAssignments/{id}");
    let role = |guid: &str, principal: &str| {
        format!(
            r#"{{"properties":{{"roleDefinitionId":"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}","principalId":"{principal}","scope":"{rg}"}}}}"#
        )
    };
    let policy = |oid: &str, secrets: &str| {
        format!(
            r#"{{"properties":{{"accessPolicies":[{{"tenantId":"t","objectId":"{oid}","permissions":{{"secrets":{secrets},"keys":[]}}}}]}}}}"#
        )
    };
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    let assign = "Microsoft.Authorization/roleAssignments/write";
    let kv = "Microsoft.KeyVault/vaults/accessPolicies/write";
    let colleague = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
    let lines = [
        // 10: Reader on a group for a colleague; 11: Owner on the group for a colleague;
        // 12: Reader to oneself (object id without dashes, upper case, as evidence writes it).
        op_record(
            admin.0,
            admin.1,
            10,
            assign,
            &ra("a1"),
            &role(READER, colleague),
        ),
        op_record(
            admin.0,
            admin.1,
            11,
            assign,
            &ra("a2"),
            &role(OWNER, colleague),
        ),
        op_record(
            mallory.0,
            mallory.1,
            12,
            assign,
            &ra("a3"),
            &role(READER, &mallory.1.replace('-', "").to_uppercase()),
        ),
        // 20: an application's `get`; 21: `get` and `list` for another; 22: to oneself.
        op_record(
            admin.0,
            admin.1,
            20,
            kv,
            &vault,
            &policy(colleague, r#"["get"]"#),
        ),
        op_record(
            admin.0,
            admin.1,
            21,
            kv,
            &vault,
            &policy(colleague, r#"["get","list"]"#),
        ),
        op_record(
            mallory.0,
            mallory.1,
            22,
            kv,
            &vault,
            &policy(mallory.1, r#"["get"]"#),
        ),
    ];
    let alerts = alerts_of(&lines);
    let at = |m| severity_at(&alerts, m);
    assert_eq!(at(10), Some(Severity::Low), "{alerts:#?}");
    assert_eq!(at(11), Some(Severity::Medium), "{alerts:#?}");
    assert_eq!(at(12), Some(Severity::High), "{alerts:#?}");
    assert_eq!(at(20), Some(Severity::Low), "{alerts:#?}");
    assert_eq!(at(21), Some(Severity::Medium), "{alerts:#?}");
    assert_eq!(at(22), Some(Severity::High), "{alerts:#?}");
    let self_grant = alerts
        .iter()
        .find(|a| a.severity == Severity::High)
        .expect("high");
    assert!(
        self_grant.description.contains("caller itself"),
        "{self_grant:#?}"
    );
}

#[test]
fn peering_and_captures_leaving_the_organisation_are_high() {
    let who = (
        "netadmin@contoso.com",
        "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
    );
    let hub = format!("/subscriptions/{SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub");
    let peering = |name: &str| format!("{hub}/virtualNetworkPeerings/{name}");
    let remote = |sub: &str| {
        format!(
            r#"{{"properties":{{"remoteVirtualNetwork":{{"id":"/subscriptions/{sub}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-x"}}}}}}"#
        )
    };
    let watcher = format!("/subscriptions/{SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/nw/packetCaptures");
    let capture = |sub: &str, bytes: u32, seconds: u32| {
        format!(
            r#"{{"properties":{{"bytesToCapturePerPacket":{bytes},"timeLimitInSeconds":{seconds},"storageLocation":{{"storageId":"/subscriptions/{sub}/resourceGroups/rg-logs/providers/Microsoft.Storage/storageAccounts/st1"}}}}}}"#
        )
    };
    let peer_op = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write";
    let cap_op = "Microsoft.Network/networkWatchers/packetCaptures/write";
    let other_hub = format!("/subscriptions/{OTHER_SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-spoke/virtualNetworkPeerings/back");
    let lines = [
        op_record(
            who.0,
            who.1,
            10,
            peer_op,
            &peering("to-spoke"),
            &remote(OTHER_SUB),
        ),
        op_record(who.0, who.1, 11, peer_op, &other_hub, &remote(SUB)),
        op_record(
            who.0,
            who.1,
            12,
            peer_op,
            &peering("to-partner"),
            &remote(FOREIGN_SUB),
        ),
        op_record(
            who.0,
            who.1,
            20,
            cap_op,
            &format!("{watcher}/short"),
            &capture(SUB, 128, 300),
        ),
        op_record(
            who.0,
            who.1,
            21,
            cap_op,
            &format!("{watcher}/long"),
            &capture(SUB, 0, 18_000),
        ),
        op_record(
            who.0,
            who.1,
            22,
            cap_op,
            &format!("{watcher}/out"),
            &capture(FOREIGN_SUB, 128, 300),
        ),
    ];
    let alerts = alerts_of(&lines);
    let at = |m| severity_at(&alerts, m);
    assert_eq!(at(10), Some(Severity::Low), "{alerts:#?}");
    assert_eq!(at(11), Some(Severity::Low), "{alerts:#?}");
    assert_eq!(at(12), Some(Severity::High), "{alerts:#?}");
    assert_eq!(at(20), Some(Severity::Low), "{alerts:#?}");
    assert_eq!(at(21), Some(Severity::Medium), "{alerts:#?}");
    assert_eq!(at(22), Some(Severity::High), "{alerts:#?}");
    let out = alerts
        .iter()
        .find(|a| a.severity == Severity::High)
        .expect("high");
    assert!(out.description.contains(FOREIGN_SUB), "{out:#?}");
}

#[test]
fn defender_suppressions_for_everyone_are_high_scoped_ones_low() {
    let who = (
        "secadmin@contoso.com",
        "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
    );
    let rule = |n: &str| {
        format!("/subscriptions/{SUB}/providers/Microsoft.Security/alertsSuppressionRules/{n}")
    };
    let op = "Microsoft.Security/alertsSuppressionRules/write";
    let scope = r#","suppressionAlertsScope":{"allOf":[{"field":"entities.ip.address","in":["203.0.113.7"]}]}"#;
    // Event `n`'s suppression of `alert`, scoped or not, ending `days` after it (or never).
    let body = |n: u32, alert: &str, scoped: bool, days: Option<i64>| {
        let end = days.map_or("null".to_string(), |d| {
            format!(
                "{:?}",
                trailwatch_model::time::format_ms(time_of(n) + d * 86_400_000)
            )
        });
        let scope = if scoped { scope } else { "" };
        format!(
            r#"{{"properties":{{"alertType":"{alert}","state":"Enabled","expirationDateUtc":{end}{scope}}}}}"#
        )
    };
    let scan = "VM_PortScanning";
    let lines = [
        op_record(
            who.0,
            who.1,
            10,
            op,
            &rule("scan"),
            &body(10, scan, true, Some(90)),
        ),
        op_record(
            who.0,
            who.1,
            20,
            op,
            &rule("forever"),
            &body(20, scan, true, None),
        ),
        op_record(
            who.0,
            who.1,
            30,
            op,
            &rule("all"),
            &body(30, scan, false, Some(30)),
        ),
        op_record(
            who.0,
            who.1,
            40,
            op,
            &rule("types"),
            &body(40, "*", true, Some(30)),
        ),
        op_record(
            who.0,
            who.1,
            50,
            op,
            &rule("decade"),
            &body(50, scan, true, Some(3650)),
        ),
    ];
    let alerts = alerts_of(&lines);
    assert_eq!(
        severity_at(&alerts, 40),
        Some(Severity::High),
        "{alerts:#?}"
    );
    assert_eq!(
        severity_at(&alerts, 50),
        Some(Severity::Medium),
        "{alerts:#?}"
    );
    assert_eq!(severity_at(&alerts, 10), Some(Severity::Low), "{alerts:#?}");
    assert_eq!(
        severity_at(&alerts, 20),
        Some(Severity::Medium),
        "{alerts:#?}"
    );
    assert_eq!(
        severity_at(&alerts, 30),
        Some(Severity::High),
        "{alerts:#?}"
    );
}

#[test]
fn deletions_in_non_production_groups_are_a_level_lower() {
    let who = (
        "pipeline@contoso.com",
        "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
    );
    let vnet = |rg: &str| {
        format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vnet-1")
    };
    let op = "Microsoft.Network/virtualNetworks/delete";
    let lines = [
        op_record(who.0, who.1, 10, op, &vnet("rg-dev-pr1523"), "{}"),
        // Ten minutes later, in production: the same alert.
        op_record_at(
            who.0,
            who.1,
            11,
            time_of(10) + 600_000,
            op,
            &vnet("rg-data-prod"),
            "{}",
        ),
    ];
    let dir_alerts = alerts_of(&lines[..1]);
    let dev = dir_alerts
        .iter()
        .find(|a| a.title.contains("Virtual Network"))
        .expect("an alert for the dev VNet");
    assert_eq!(dev.severity, Severity::Low, "{dev:#?}");
    assert!(dev.description.contains("rg-dev-pr1523"), "{dev:#?}");
    // One alert holding both deletions, the production one included, keeps the rule's level.
    let both = alerts_of(&lines);
    let merged: Vec<_> = both
        .iter()
        .filter(|a| a.title.contains("Virtual Network"))
        .collect();
    assert_eq!(merged.len(), 1, "{both:#?}");
    assert_eq!(merged[0].event_ids.len(), 2, "{both:#?}");
    assert_eq!(merged[0].severity, Severity::Medium, "{both:#?}");
}

#[test]
fn long_lived_tokens_open_waivers_and_open_firewall_rules_are_raised_everyday_ones_stay_low() {
    let who = ("ops@contoso.com", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d");
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-web-prod");
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/stweb");
    let sas_op = "Microsoft.Storage/storageAccounts/listServiceSas/action";
    let in_hours = |n: u32, h: i64| trailwatch_model::time::format_ms(time_of(n) + h * 3_600_000);
    let sas = |perm: &str, expiry: &str| {
        format!(r#"{{"signedResource":"c","signedPermission":"{perm}","signedExpiry":"{expiry}"}}"#)
    };
    let ex_op = "Microsoft.Authorization/policyExemptions/write";
    let ends_in = |n: u32, days: i64| {
        format!(
            "{:?}",
            trailwatch_model::time::format_ms(time_of(n) + days * 86_400_000)
        )
    };
    let exemption = |category: &str, expires: &str| {
        format!(
            r#"{{"properties":{{"policyAssignmentId":"/providers/Microsoft.Authorization/policyAssignments/asb","exemptionCategory":"{category}","expiresOn":{expires}}}}}"#
        )
    };
    let sub_ex =
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/policyExemptions/e");
    let rg_ex = format!("{rg}/providers/Microsoft.Authorization/policyExemptions/e");
    let fw_op = "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write";
    let fw =
        format!("{rg}/providers/Microsoft.Network/firewallPolicies/afwp/ruleCollectionGroups/g");
    let rules = |action: &str, source: &str, port: &str| {
        format!(
            r#"{{"properties":{{"ruleCollections":[{{"action":{{"type":"{action}"}},"rules":[{{"name":"r","sourceAddresses":["{source}"],"destinationPorts":["{port}"]}}]}}]}}}}"#
        )
    };
    let nat = r#"{"properties":{"ruleCollections":[{"action":{"type":"Dnat"},"rules":[{"ruleType":"NatRule","name":"in","sourceAddresses":["*"],"destinationPorts":["50000"],"translatedPort":"3389"}]}]}}"#;
    let lines = [
        op_record(
            who.0,
            who.1,
            10,
            sas_op,
            &account,
            &sas("r", &in_hours(10, 1)),
        ),
        op_record(
            who.0,
            who.1,
            11,
            sas_op,
            &account,
            &sas("rw", &in_hours(11, 1)),
        ),
        op_record(
            who.0,
            who.1,
            12,
            sas_op,
            &account,
            &sas("r", &in_hours(12, 24 * 400)),
        ),
        op_record(
            who.0,
            who.1,
            20,
            ex_op,
            &rg_ex,
            &exemption("Mitigated", &ends_in(20, 30)),
        ),
        op_record(
            who.0,
            who.1,
            21,
            ex_op,
            &rg_ex,
            &exemption("Waiver", "null"),
        ),
        op_record(
            who.0,
            who.1,
            22,
            ex_op,
            &sub_ex,
            &exemption("Waiver", "null"),
        ),
        op_record(
            who.0,
            who.1,
            23,
            ex_op,
            &sub_ex,
            &exemption("Waiver", &ends_in(23, 30)),
        ),
        op_record(
            who.0,
            who.1,
            24,
            ex_op,
            &rg_ex,
            &exemption("Mitigated", "null"),
        ),
        op_record(
            who.0,
            who.1,
            25,
            ex_op,
            &sub_ex,
            &exemption("Waiver", &ends_in(25, 3650)),
        ),
        op_record(
            who.0,
            who.1,
            30,
            fw_op,
            &fw,
            &rules("Allow", "10.20.0.0/16", "443"),
        ),
        op_record(who.0, who.1, 31, fw_op, &fw, &rules("Deny", "*", "3389")),
        op_record(who.0, who.1, 32, fw_op, &fw, &rules("Dnat", "*", "3389")),
        op_record(who.0, who.1, 33, fw_op, &fw, nat),
    ];
    let alerts = alerts_of(&lines);
    let at = |m| severity_at(&alerts, m);
    let want = [
        (10, Severity::Low),
        (11, Severity::Medium),
        (12, Severity::High),
        (20, Severity::Low),
        (21, Severity::Medium),
        (22, Severity::High),
        (23, Severity::Low),
        (24, Severity::Medium),
        (25, Severity::High),
        (30, Severity::Low),
        (31, Severity::Low),
        (32, Severity::High),
        (33, Severity::High),
    ];
    for (minute, severity) in want {
        assert_eq!(at(minute), Some(severity), "event {minute}: {alerts:#?}");
    }
}

/// A hunt asking only for medium and above still gets the raises of rules that are low by
/// themselves: an Owner role the caller assigns to itself, a 400-day SAS, an NSG rule opened
/// to the internet in a dev group (the content confirms its level: not lowered).
#[test]
fn raises_of_low_rules_reach_a_medium_hunt_and_content_confirmed_levels_are_not_lowered() {
    let mallory = (
        "mallory@contoso.com",
        "1f2e3d4c-5b6a-4798-8796-a5b4c3d2e1f0",
    );
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-app-dev");
    let owner = format!(
        r#"{{"properties":{{"roleDefinitionId":"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635","principalId":"{}","scope":"{rg}"}}}}"#,
        mallory.1
    );
    let sas = format!(
        r#"{{"signedPermission":"r","signedExpiry":"{}"}}"#,
        trailwatch_model::time::format_ms(time_of(11) + 400 * 86_400_000)
    );
    let nsg = r#"{"name":"rdp","properties":{"access":"Allow","direction":"Inbound","sourceAddressPrefix":"*","destinationPortRange":"3389"}}"#;
    let lines = [
        op_record(
            mallory.0,
            mallory.1,
            10,
            "Microsoft.Authorization/roleAssignments/write",
            &format!("{rg}/providers/Microsoft.Authorization/roleAssignments/a1"),
            &owner,
        ),
        op_record(
            mallory.0,
            mallory.1,
            11,
            "Microsoft.Storage/storageAccounts/listAccountSas/action",
            &format!("{rg}/providers/Microsoft.Storage/storageAccounts/st"),
            &sas,
        ),
        op_record(
            mallory.0,
            mallory.1,
            12,
            "Microsoft.Network/networkSecurityGroups/securityRules/write",
            &format!("{rg}/providers/Microsoft.Network/networkSecurityGroups/n/securityRules/rdp"),
            nsg,
        ),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("activity.json");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let (inputs, _) = expand_inputs(&[file]);
    let pack = RulePack::load(true, &[], Severity::Medium).expect("built-in rules");
    let opts =
        trailwatch_detect::PipelineOptions::new(HuntOptions::default(), None, Severity::Medium, 0);
    let mut pipeline = trailwatch_detect::Pipeline::new(&pack, opts);
    pipeline.feed(&inputs, &|e| panic!("{e}"), &|_| {});
    let alerts: Vec<_> = pipeline
        .finish(0)
        .expect("finish")
        .alerts
        .iter()
        .map(|p| p.to_alert())
        .collect();
    for n in [10, 11, 12] {
        assert_eq!(
            severity_at(&alerts, n),
            Some(Severity::High),
            "event {n}: {alerts:#?}"
        );
    }
    assert!(
        alerts.iter().all(|a| a.severity >= Severity::Medium),
        "{alerts:#?}"
    );
}
