//! `investigate` and `recover` following one person across the Azure Activity Log and the
//! Microsoft Entra ID logs: an intruder signs in, adds a credential to a service principal,
//! adds themselves to Global Administrator and opens RDP with an NSG rule. Field values the
//! intruder controls carry quotes, `$(…)`, backticks, markup and newlines.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const TENANT: &str = "c0ffee00-1111-4222-8333-444455556666";
const SUB: &str = "5d22beda-5051-4d08-89eb-a56f372e8890";
/// The intruder's object id, as Entra writes it.
const OID: &str = "a1b2c3d4-0000-4000-8000-0000000000a6";
const UPN: &str = "Mallory@Contoso.example";
const IP: &str = "203.0.113.66";
const SP: &str = "e5f6a7b8-0000-4000-8000-0000000000a1";
const KEY: &str = "9f8e7d6c-0000-4000-8000-000000000002";
const ROLE: &str = "0f1e2d3c-0000-4000-8000-0000000000ff";
const GA_TEMPLATE: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Another user, whose activity must stay out.
const ALICE: &str = "a1b2c3d4-0000-4000-8000-0000000000a1";

fn tw(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A sign-in in the diagnostic shape.
fn sign_in(id: &str, time: &str, upn: &str, oid: &str, ip: &str, ua: &str) -> Value {
    json!({"time": time, "resourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
        "operationName": "Sign-in activity", "category": "SignInLogs", "tenantId": TENANT,
        "resultType": "0", "resultSignature": "None", "durationMs": 0, "callerIpAddress": ip,
        "location": "NL", "properties": {"id": id, "createdDateTime": time,
            "userPrincipalName": upn, "userId": oid, "appId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "appDisplayName": "Azure Portal", "ipAddress": ip, "clientAppUsed": "Browser",
            "userAgent": ua, "isInteractive": true,
            "authenticationRequirement": "singleFactorAuthentication",
            "status": {"errorCode": 0}, "location": {"countryOrRegion": "NL"}}})
}

/// An audit in the diagnostic shape, initiated by `(upn, oid)`.
fn audit(id: &str, time: &str, activity: &str, by: (&str, &str), targets: Value) -> Value {
    let ip = if by.1 == OID { IP } else { "192.0.2.10" };
    json!({"time": time, "resourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
        "operationName": activity, "category": "AuditLogs", "tenantId": TENANT,
        "resultSignature": "None", "durationMs": 0, "callerIpAddress": ip,
        "properties": {"id": id, "category": "ApplicationManagement", "result": "success",
            "resultReason": "", "activityDisplayName": activity, "activityDateTime": time,
            "loggedByService": "Core Directory", "operationType": "Update",
            "initiatedBy": {"user": {"id": by.1, "userPrincipalName": by.0, "ipAddress": ip},
                "app": null},
            "targetResources": targets, "additionalDetails": []}})
}

/// An Activity Log record (REST shape), end of a successful write.
fn activity(id: &str, time: &str, op: &str, resource: &str, claims: Value, body: Value) -> Value {
    json!({"authorization": {"action": op, "scope": resource},
        "caller": "mallory@contoso.example", "claims": claims, "correlationId": id,
        "eventDataId": id, "eventName": {"value": "EndRequest"},
        "category": {"value": "Administrative"}, "eventTimestamp": time,
        "httpRequest": {"clientIpAddress": IP, "method": "PUT"}, "level": "Informational",
        "resourceId": resource, "operationName": {"value": op},
        "properties": {"statusCode": "Created", "requestbody": body.to_string()},
        "status": {"value": "Succeeded"}, "subStatus": {"value": "Created"},
        "subscriptionId": SUB, "tenantId": TENANT})
}

fn nsg_rule() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Network/networkSecurityGroups/nsg-web/securityRules/AllowRDP")
}

fn write_lines(path: &Path, recs: &[Value]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text: Vec<String> = recs.iter().map(Value::to_string).collect();
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

/// The logs of the incident, under `dir`; `pwned` must never come to exist.
fn write_logs(dir: &Path, pwned: &Path) {
    let p = pwned.display();
    let hostile_sp = format!("backup'$(touch {p})`touch {p}`<script>alert(1)</script>\nrm -rf ~");
    let hostile_key = format!("k'; touch {p}; echo '\n$(touch {p})");
    let hours = "y=2026/m=03/d=02/h=09/m=00/PT1H.json";
    write_lines(
        &dir.join(format!(
            "insights-logs-signinlogs/tenantId={TENANT}/{hours}"
        )),
        &[
            sign_in(
                "si-1",
                "2026-03-02T09:00:00Z",
                UPN,
                OID,
                IP,
                &format!("curl $(touch {p})"),
            ),
            sign_in(
                "si-2",
                "2026-03-02T09:01:00Z",
                "alice@contoso.example",
                ALICE,
                "192.0.2.10",
                "Mozilla/5.0",
            ),
        ],
    );
    let key = format!(
        "[\"[KeyIdentifier={KEY},KeyType=Password,KeyUsage=Verify,DisplayName={hostile_key}]\"]"
    );
    let me = (UPN, OID);
    write_lines(
        &dir.join(format!("insights-logs-auditlogs/tenantId={TENANT}/{hours}")),
        &[
            audit(
                "au-1",
                "2026-03-02T09:05:00Z",
                "Add service principal credentials",
                me,
                json!([{"id": SP, "type": "ServicePrincipal", "displayName": hostile_sp,
                    "modifiedProperties": [{"displayName": "KeyDescription", "oldValue": "[]", "newValue": key}]}]),
            ),
            audit(
                "au-2",
                "2026-03-02T09:10:00Z",
                "Add member to role",
                me,
                json!([{"id": OID, "type": "User", "userPrincipalName": UPN, "modifiedProperties": [
                    {"displayName": "Role.ObjectID", "newValue": format!("\"{ROLE}\"")},
                    {"displayName": "Role.DisplayName", "newValue": "\"Global Administrator\""},
                    {"displayName": "Role.TemplateId", "newValue": format!("\"{GA_TEMPLATE}\"")}]},
                    {"id": ROLE, "type": "Role", "displayName": "Global Administrator", "modifiedProperties": []}]),
            ),
            // A group id the intruder crafted: no command may carry it.
            audit(
                "au-3",
                "2026-03-02T09:12:00Z",
                "Add member to group",
                me,
                json!([{"id": OID, "type": "User", "userPrincipalName": UPN, "modifiedProperties": [
                    {"displayName": "Group.ObjectID", "newValue": format!("\"g'$(touch {p})\"")},
                    {"displayName": "Group.DisplayName", "newValue": "\"Tier0\\nrm -rf ~\""}]}]),
            ),
            audit(
                "au-9",
                "2026-03-02T09:20:00Z",
                "Add member to role",
                ("alice@contoso.example", ALICE),
                json!([{"id": ALICE, "type": "User", "userPrincipalName": "alice@contoso.example", "modifiedProperties": [
                    {"displayName": "Role.ObjectID", "newValue": "\"0f1e2d3c-0000-4000-8000-0000000000aa\""},
                    {"displayName": "Role.DisplayName", "newValue": "\"Reports Reader\""}]}]),
            ),
        ],
    );
    let oid_claim = "http://schemas.microsoft.com/identity/claims/objectidentifier";
    let rule_body = json!({"properties": {"access": "Allow", "direction": "Inbound",
        "protocol": "Tcp", "sourceAddressPrefix": "*", "destinationPortRange": "3389",
        "priority": 100, "description": format!("$(touch {p})")}});
    let assignment = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/7f1c0000-0000-4000-8000-000000000001");
    let records = json!({"value": [
        activity("op-1", "2026-03-02T09:07:00Z", "Microsoft.Network/networkSecurityGroups/securityRules/write",
            &nsg_rule(), json!({oid_claim: OID.to_uppercase()}), rule_body),
        // No object id in this record: it joins by the user principal name.
        activity("op-2", "2026-03-02T09:16:00Z", "Microsoft.Authorization/roleAssignments/write",
            &assignment, json!({}), json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                "principalId": OID, "principalType": "User", "scope": format!("/subscriptions/{SUB}")}})),
    ]});
    std::fs::write(dir.join("activity.json"), records.to_string()).unwrap();
}

fn event_ids(report: &Value) -> BTreeSet<String> {
    report["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn investigate_follows_one_person_across_activity_log_and_entra() {
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let logs = dir.path().join("logs");
    write_logs(&logs, &pwned);
    let l = logs.to_str().unwrap();
    let run = |who: &str| {
        let (code, out, err) = tw(&[
            "investigate",
            l,
            "--principal",
            who,
            "--format",
            "json",
            "--threads",
            "1",
        ]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let by_id = run(&OID.to_uppercase());
    let want: BTreeSet<String> = ["si-1", "au-1", "au-2", "au-3", "op-1", "op-2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(event_ids(&by_id), want);
    // By UPN, in another case: the same events.
    let by_upn = run("MALLORY@contoso.EXAMPLE");
    assert_eq!(event_ids(&by_upn), want);
    // The timeline: every log, in time order.
    let timeline = by_upn["timeline"].as_array().unwrap();
    let logs_seen: Vec<(&str, &str)> = timeline
        .iter()
        .map(|g| (g["log"].as_str().unwrap(), g["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        logs_seen,
        [
            ("Entra sign-in", "Sign-in activity"),
            ("Entra audit", "Add service principal credentials"),
            (
                "Activity Log",
                "Microsoft.Network/networkSecurityGroups/securityRules/write"
            ),
            ("Entra audit", "Add member to role"),
            ("Entra audit", "Add member to group"),
            (
                "Activity Log",
                "Microsoft.Authorization/roleAssignments/write"
            ),
        ]
    );
    let times: Vec<i64> = timeline
        .iter()
        .map(|g| g["first_ms"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let expansions = by_upn["scope"]["expansions"].as_array().unwrap();
    assert!(
        expansions
            .iter()
            .any(|x| x["kind"] == "object_id" && x["value"] == OID && x["events"] == 5),
        "{expansions:?}"
    );
    // Alice shared nothing with the intruder: she is not even listed.
    assert!(!by_upn.to_string().contains("alice@"), "{by_upn:#}");
    let persistence: Vec<&str> = by_upn["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["action"].as_str())
        .collect();
    for a in ["Add service principal credentials", "Add member to role"] {
        assert!(persistence.contains(&a), "{persistence:?}");
    }
    // The Markdown and HTML reports keep the hostile values inert.
    let (code, md, err) = tw(&["investigate", l, "--principal", OID, "--threads", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.contains("| Entra audit |") && md.contains("| Activity Log |"),
        "{md}"
    );
    assert!(!md.contains("\nrm -rf ~"), "{md}");
    let (code, html, err) = tw(&[
        "investigate",
        l,
        "--principal",
        OID,
        "--format",
        "html",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !html.contains("<script>") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(!pwned.exists());
}

/// A stand-in `az` that records each call's arguments, one call per line, NUL between them.
fn fake_az(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    let calls = dir.join("az-calls");
    std::fs::write(
        &az,
        format!(
            "#!/bin/bash\nprintf '%s\\0' \"$@\" >> '{}'\nprintf '\\n' >> '{}'\n",
            calls.display(),
            calls.display()
        ),
    )
    .unwrap();
    let mut perm = std::fs::metadata(&az).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&az, perm).unwrap();
    bin
}

fn recorded_calls(dir: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("az-calls")).unwrap_or_default();
    text.split("\0\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.split('\0').map(str::to_string).collect())
        .collect()
}

#[test]
fn recover_undoes_the_entra_and_activity_log_changes_with_hostile_values_inert() {
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let logs = dir.path().join("logs");
    write_logs(&logs, &pwned);
    let l = logs.to_str().unwrap();
    let (code, plan, err) = tw(&[
        "recover",
        l,
        "--principal",
        UPN,
        "--format",
        "json",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let steps = plan["steps"].as_array().unwrap();
    // Nothing answers the other user's change.
    assert!(steps.iter().all(|s| s["evidence"] != "au-9"), "{plan:#}");
    let (code, script, err) = tw(&[
        "recover",
        l,
        "--principal",
        UPN,
        "--format",
        "script",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let graph = "https://graph.microsoft.com/v1.0";
    for line in [
        format!("run az ad user update --id '{OID}' --account-enabled false"),
        format!("run az rest --method post --uri '{graph}/users/{OID}/revokeSignInSessions'"),
        format!("run az ad sp credential delete --id '{SP}' --key-id '{KEY}'"),
        format!(
            "run az rest --method delete --uri '{graph}/directoryRoles/{ROLE}/members/{OID}/$ref'"
        ),
        format!("run az network nsg rule delete --ids '{}'", nsg_rule()),
        format!(
            "check az ad sp credential list --id '{SP}' --query '[?keyId=='\\''{KEY}'\\''].keyId'"
        ),
    ] {
        assert!(script.lines().any(|s| s == line), "{line} not in\n{script}");
    }
    assert!(
        script.contains("run az role assignment delete --ids"),
        "{script}"
    );
    // One person, contained once: the record without an object id joins by its UPN.
    assert_eq!(
        script.matches("run az ad user update").count(),
        1,
        "{script}"
    );
    // The password reset is for a person, after review: never run.
    assert!(
        script.contains("# review before running: the plan holds no password"),
        "{script}"
    );
    // The crafted group id: the step is there, without a command.
    assert!(script.contains("# not generated: --group"), "{script}");
    assert!(
        !script
            .lines()
            .any(|s| s.starts_with("run az ad group member remove")),
        "{script}"
    );
    assert!(!script.contains("\nrm -rf ~"), "{script}");
    // Run it with --execute against a stand-in `az`: each value arrives as one argument and
    // nothing of the hostile text runs.
    let bin = fake_az(dir.path());
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .arg("plan")
        .arg("--execute")
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!pwned.exists(), "a log value ran as a command");
    let calls = recorded_calls(dir.path());
    let has = |args: &[&str]| calls.iter().any(|c| c == args);
    assert!(
        has(&[
            "ad",
            "sp",
            "credential",
            "delete",
            "--id",
            SP,
            "--key-id",
            KEY
        ]),
        "{calls:?}"
    );
    let member = format!("{graph}/directoryRoles/{ROLE}/members/{OID}/$ref");
    assert!(
        has(&["rest", "--method", "delete", "--uri", &member]),
        "{calls:?}"
    );
    assert!(
        has(&["network", "nsg", "rule", "delete", "--ids", &nsg_rule()]),
        "{calls:?}"
    );
    // Contain runs before the undo.
    let pos = |verb: &str| {
        calls
            .iter()
            .position(|c| c.join(" ").contains(verb))
            .unwrap()
    };
    assert!(
        pos("--account-enabled") < pos("credential delete"),
        "{calls:?}"
    );
    assert!(
        calls.iter().all(|c| !c.iter().any(|a| a.contains("touch"))),
        "{calls:?}"
    );
}
