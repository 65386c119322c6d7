use super::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The decode crate's Entra examples (written from the public documentation of each shape).
fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../trailwatch-decode/tests/data/entra")
        .join(rel)
}

fn load(paths: &[PathBuf]) -> Vec<Event> {
    let (inputs, errors) = trailwatch_decode::expand_inputs(paths);
    assert!(errors.is_empty(), "{errors:?}");
    crate::load(&inputs, None, None, &mut |e| panic!("{e}"))
}

/// Every step's command (or `-`) and review, by the event it answers.
fn undo_by_event(evs: &[Event]) -> BTreeMap<String, Vec<Step>> {
    let mut out = BTreeMap::new();
    for e in evs {
        let mut steps = undo(e);
        steps.iter_mut().for_each(Step::refuse_unfit_values);
        out.insert(e.event_id.clone(), steps);
    }
    out
}

fn shell(s: &Step) -> String {
    s.command.as_ref().map(Cmd::shell).unwrap_or_default()
}

/// The URI a step's command calls, unquoted.
fn uri(s: &Step) -> String {
    let words = s
        .command
        .as_ref()
        .map(|c| c.0.as_slice())
        .unwrap_or_default();
    words
        .windows(2)
        .find_map(|w| match w {
            [crate::cmd::Word::Lit("--uri"), crate::cmd::Word::Val(v)] => Some(v.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

const ROLE_AUDIT: &str = "Directory_4c3b2a19-0001-4000-8000-000000000001_ABCDE_1";
const CONSENT_AUDIT: &str = "Directory_4c3b2a19-0002-4000-8000-000000000002_ABCDE_2";
const SECRET_AUDIT: &str = "Directory_4c3b2a19-0003-4000-8000-000000000003_ABCDE_3";
const CERT_AUDIT: &str = "Directory_4c3b2a19-0004-4000-8000-000000000004_ABCDE_4";
const INVITE_AUDIT: &str = "Directory_4c3b2a19-0005-4000-8000-000000000005_ABCDE_5";
const CA_AUDIT: &str = "Directory_4c3b2a19-0006-4000-8000-000000000006_ABCDE_6";
const METHOD_AUDIT: &str = "Directory_4c3b2a19-0007-4000-8000-000000000007_ABCDE_7";

#[test]
fn key_descriptions_give_the_credentials_added() {
    let old = r#"["[KeyIdentifier=11111111-0000-4000-8000-000000000001,KeyType=Password,KeyUsage=Verify,DisplayName=old]"]"#;
    let new = r#"["[KeyIdentifier=11111111-0000-4000-8000-000000000001,KeyType=Password,KeyUsage=Verify,DisplayName=old]","[KeyIdentifier=22222222-0000-4000-8000-000000000002,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=CN=backup, O=Contoso]"]"#;
    let before = key_entries(old);
    assert_eq!(before.len(), 1);
    let after = key_entries(new);
    assert_eq!(after.len(), 2);
    assert_eq!(after[1].key_id, "22222222-0000-4000-8000-000000000002");
    assert_eq!(after[1].key_type, "AsymmetricX509Cert");
    assert_eq!(after[1].display_name, "CN=backup, O=Contoso");
    assert!(key_entries("[]").is_empty());
}

#[test]
fn consent_permissions_give_the_grant_ids_and_never_the_other_ids() {
    let v = "[] => [[Id: l5eW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk, ClientId: b7c8d9e0-0000-4000-8000-0000000000c1, PrincipalId: a1b2c3d4-0000-4000-8000-000000000007, ResourceId: 5f1e0c2a-0000-4000-8000-0000000000aa, ConsentType: Principal, Scope: Mail.Read offline_access, CreatedDateTime: , LastModifiedDateTime ]]; ";
    assert_eq!(
        grant_ids(v),
        ["l5eW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk"]
    );
    assert_eq!(scopes(v), "Mail.Read offline_access");
    assert!(grant_ids("[] => [[Scope: Mail.Read offline_access]]").is_empty());
}

/// The Graph `directoryAudits` examples: each change has its undo, the failed invitation none.
#[test]
fn graph_directory_audits_are_each_undone() {
    let evs = load(&[data("graph/directoryAudits.json")]);
    let by = undo_by_event(&evs);
    let role = &by[ROLE_AUDIT];
    assert_eq!(role[0].phase, Phase::Contain);
    assert_eq!(
        shell(&role[0]),
        "az rest --method delete --uri 'https://graph.microsoft.com/v1.0/directoryRoles/0f1e2d3c-0000-4000-8000-0000000000ff/members/a1b2c3d4-0000-4000-8000-000000000007/$ref'"
    );
    assert!(
        role[0].title.contains("Global Administrator"),
        "{:?}",
        role[0]
    );
    assert!(role[0].risk.contains("break-glass"));
    assert!(
        role.iter().any(|s| s.phase == Phase::Verify
            && shell(s).contains("directoryRoles/0f1e2d3c-0000-4000-8000-0000000000ff/members'")
            && shell(s).contains("a1b2c3d4-0000-4000-8000-000000000007")),
        "{role:?}"
    );
    let secret = &by[SECRET_AUDIT];
    assert_eq!(
        shell(&secret[0]),
        "az ad app credential delete --id 'c1d2e3f4-0000-4000-8000-0000000000d1' --key-id '5b6c7d8e-0000-4000-8000-000000000001'"
    );
    assert!(secret[0].review.is_none() && secret[0].refused.is_none());
    // A consent without grant ids: the client's grants listed, for review.
    let consent = &by[CONSENT_AUDIT];
    assert_eq!(consent.len(), 1, "{consent:?}");
    assert_eq!(
        uri(&consent[0]),
        "https://graph.microsoft.com/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'b7c8d9e0-0000-4000-8000-0000000000c1'"
    );
    assert!(
        shell(&consent[0]).contains("clientId%20eq%20'\\''b7c8d9e0"),
        "the quotes in the URI are escaped for the shell: {}",
        shell(&consent[0])
    );
    assert!(consent[0].review.is_some() && consent[0].title.contains("Mail.Read offline_access"));
    assert!(
        by[INVITE_AUDIT].is_empty(),
        "a failed invitation created nothing"
    );
    // A conditional access change: its old value to restore, never a command.
    let ca = &by[CA_AUDIT];
    assert!(ca[0].command.is_none(), "{ca:?}");
    let review = ca[0].review.as_deref().unwrap_or_default();
    assert!(review.contains(r#"{"state":"enabled"}"#), "{review}");
    assert!(shell_of_check(&ca[0])
        .contains("identity/conditionalAccess/policies/aa11bb22-0000-4000-8000-0000000000f1"));
    let method = &by[METHOD_AUDIT];
    assert!(
        shell(&method[0])
            .ends_with("users/a1b2c3d4-0000-4000-8000-000000000007/authentication/methods'")
            && method[0].review.is_some(),
        "{method:?}"
    );
}

fn shell_of_check(s: &Step) -> String {
    s.check.as_ref().map(Cmd::shell).unwrap_or_default()
}

/// The same audits in the diagnostic, Event Hub, Log Analytics and portal CSV shapes give the
/// same steps as the Graph shape.
#[test]
fn every_export_shape_gives_the_same_undo() {
    let graph = undo_by_event(&load(&[data("graph/directoryAudits.json")]));
    let mut compared = 0;
    for rel in [
        "diagnostic/insights-logs-auditlogs/PT1H.json",
        "eventhub/records.json",
        "log-analytics/query-auditlogs.json",
        "portal-csv/AuditLogs.csv",
    ] {
        let other = undo_by_event(&load(&[data(rel)]));
        for (id, steps) in &other {
            let Some(want) = graph.get(id) else {
                continue;
            };
            let a: Vec<(String, Option<String>)> =
                steps.iter().map(|s| (shell(s), s.review.clone())).collect();
            let b: Vec<(String, Option<String>)> =
                want.iter().map(|s| (shell(s), s.review.clone())).collect();
            assert_eq!(a, b, "{rel} {id}");
            compared += 1;
        }
    }
    assert!(compared >= 6, "only {compared} audits compared");
    // The certificate added to a service principal is only in the diagnostic example.
    let diag = undo_by_event(&load(&[data(
        "diagnostic/insights-logs-auditlogs/PT1H.json",
    )]));
    assert_eq!(
        shell(&diag[CERT_AUDIT][0]),
        "az ad sp credential delete --id 'e5f6a7b8-0000-4000-8000-0000000000a1' --key-id '9f8e7d6c-0000-4000-8000-000000000002' --cert"
    );
}

/// An audit record in the Graph shape, for the cases the examples do not have.
fn audit(activity: &str, targets: Value) -> Event {
    let rec = serde_json::json!({
        "id": format!("Directory_{}", activity.replace(' ', "_")),
        "category": "ApplicationManagement", "result": "success", "resultReason": "",
        "activityDisplayName": activity, "activityDateTime": "2026-03-02T10:00:00Z",
        "loggedByService": "Core Directory", "operationType": "Add",
        "initiatedBy": {"user": {"id": "a1b2c3d4-0000-4000-8000-000000000006",
            "userPrincipalName": "mallory@contoso.example", "ipAddress": "203.0.113.60"}},
        "targetResources": targets, "additionalDetails": []
    });
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("audit.json");
    std::fs::write(&f, serde_json::json!({"value": [rec]}).to_string()).unwrap();
    let mut evs = load(&[f]);
    assert_eq!(evs.len(), 1);
    evs.remove(0)
}

#[test]
fn consent_with_grant_ids_deletes_each_grant() {
    let e = audit(
        "Consent to application",
        serde_json::json!([{"id": "b7c8d9e0-0000-4000-8000-0000000000c1", "type": "ServicePrincipal",
            "displayName": "Mail Sync Helper", "modifiedProperties": [
            {"displayName": "ConsentContext.IsAdminConsent", "oldValue": null, "newValue": "\"True\""},
            {"displayName": "ConsentContext.IsAppOnly", "oldValue": null, "newValue": "\"False\""},
            {"displayName": "ConsentAction.Permissions", "oldValue": null,
             "newValue": "\"[] => [[Id: l5eW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk, ClientId: b7c8d9e0-0000-4000-8000-0000000000c1, PrincipalId: , ResourceId: 5f1e0c2a-0000-4000-8000-0000000000aa, ConsentType: AllPrincipals, Scope: Directory.ReadWrite.All, CreatedDateTime: , LastModifiedDateTime ]]; \""}]}]),
    );
    let steps = undo(&e);
    let uri = "https://graph.microsoft.com/v1.0/oauth2PermissionGrants/l5eW7x0ga0-WDOntXzHateQDNpSH5-lPk9HjD3Sarjk";
    assert_eq!(
        shell(&steps[0]),
        format!("az rest --method delete --uri '{uri}'")
    );
    assert!(steps[0].title.contains("admin consent") && steps[0].review.is_none());
    assert!(steps
        .iter()
        .any(|s| s.phase == Phase::Verify
            && shell(s) == format!("az rest --method get --uri '{uri}'")));
    // Application permissions: app role assignments, listed for review.
    let e = audit(
        "Consent to application",
        serde_json::json!([{"id": "b7c8d9e0-0000-4000-8000-0000000000c1", "type": "ServicePrincipal",
            "modifiedProperties": [{"displayName": "ConsentContext.IsAppOnly", "newValue": "\"True\""}]}]),
    );
    let steps = undo(&e);
    assert!(
        shell(&steps[0]).ends_with(
            "servicePrincipals/b7c8d9e0-0000-4000-8000-0000000000c1/appRoleAssignments'"
        ) && steps[0].review.is_some(),
        "{steps:?}"
    );
}

#[test]
fn created_users_are_disabled_then_deleted_after_review() {
    let e = audit(
        "Invite external user",
        serde_json::json!([{"id": "f1f2f3f4-0000-4000-8000-0000000000e1", "type": "User",
            "userPrincipalName": "x_evil.example#EXT#@contoso.example", "modifiedProperties": []}]),
    );
    assert_eq!(
        created_objects(&e),
        [(
            "f1f2f3f4-0000-4000-8000-0000000000e1".to_string(),
            "User x_evil.example#EXT#@contoso.example (f1f2f3f4-0000-4000-8000-0000000000e1)"
                .to_string()
        )]
    );
    let steps = undo(&e);
    let disable = steps.iter().find(|s| s.phase == Phase::Contain).unwrap();
    assert_eq!(
        shell(disable),
        "az ad user update --id 'f1f2f3f4-0000-4000-8000-0000000000e1' --account-enabled false"
    );
    let delete = steps.iter().find(|s| s.phase == Phase::Eradicate).unwrap();
    assert_eq!(
        shell(delete),
        "az ad user delete --id 'f1f2f3f4-0000-4000-8000-0000000000e1'"
    );
    assert!(delete.review.is_some(), "deletion waits for review");
}

#[test]
fn group_owner_and_pim_memberships_are_removed() {
    let member = "a1b2c3d4-0000-4000-8000-000000000006";
    let group = "9a9a9a9a-0000-4000-8000-000000000001";
    let e = audit(
        "Add member to group",
        serde_json::json!([
            {"id": member, "type": "User", "userPrincipalName": "mallory@contoso.example",
             "modifiedProperties": [{"displayName": "Group.ObjectID", "newValue": format!("\"{group}\"")},
                {"displayName": "Group.DisplayName", "newValue": "\"Tier0 Admins\""}]},
            {"id": group, "type": "Group", "displayName": "Tier0 Admins", "modifiedProperties": []}]),
    );
    let steps = undo(&e);
    assert_eq!(
        shell(&steps[0]),
        format!("az ad group member remove --group '{group}' --member-id '{member}'")
    );
    let app = "c1d2e3f4-0000-4000-8000-0000000000d1";
    let e = audit(
        "Add owner to application",
        serde_json::json!([
            {"id": member, "type": "User", "userPrincipalName": "mallory@contoso.example",
             "modifiedProperties": [{"displayName": "Application.ObjectID", "newValue": format!("\"{app}\"")}]},
            {"id": app, "type": "Application", "displayName": "payroll-export", "modifiedProperties": []}]),
    );
    let steps = undo(&e);
    assert_eq!(
        shell(&steps[0]),
        format!("az rest --method delete --uri 'https://graph.microsoft.com/v1.0/applications/{app}/owners/{member}/$ref'")
    );
    let e = audit(
        "Add eligible member to role in PIM completed (permanent)",
        serde_json::json!([
            {"id": member, "type": "User", "userPrincipalName": "mallory@contoso.example",
             "modifiedProperties": [{"displayName": "Role.TemplateId", "newValue": format!("\"{GLOBAL_ADMIN_TEMPLATE}\"")},
                {"displayName": "Role.DisplayName", "newValue": "\"Global Administrator\""}]}]),
    );
    let steps = undo(&e);
    assert_eq!(
        uri(&steps[0]),
        format!("https://graph.microsoft.com/v1.0/roleManagement/directory/roleEligibilitySchedules?$filter=principalId%20eq%20'{member}'")
    );
    let review = steps[0].review.as_deref().unwrap_or_default();
    assert!(
        review.contains("adminRemove") && review.contains(GLOBAL_ADMIN_TEMPLATE),
        "{review}"
    );
}

/// A crafted target id cannot bend a Graph URI: the step stays, without a command.
#[test]
fn a_crafted_member_id_is_refused() {
    let e = audit(
        "Add member to role",
        serde_json::json!([
            {"id": "x/../../users/victim", "type": "User", "userPrincipalName": "m@contoso.example",
             "modifiedProperties": [{"displayName": "Role.ObjectID", "newValue": "\"0f1e2d3c-0000-4000-8000-0000000000ff\""}]}]),
    );
    let mut steps = undo(&e);
    steps.iter_mut().for_each(Step::refuse_unfit_values);
    let s = &steps[0];
    assert!(s.command.is_none() && s.check.is_none(), "{s:?}");
    assert!(
        s.refused.as_deref().unwrap_or_default().contains("--uri"),
        "{s:?}"
    );
}

#[test]
fn the_timeline_names_each_log() {
    let evs = load(&[
        data("diagnostic/insights-logs-signinlogs/PT1H.json"),
        data("diagnostic/insights-logs-noninteractiveusersigninlogs/PT1H.json"),
        data("diagnostic/insights-logs-auditlogs/PT1H.json"),
    ]);
    let logs: std::collections::BTreeSet<&str> = evs.iter().map(log_name).collect();
    assert_eq!(
        logs.into_iter().collect::<Vec<_>>(),
        [
            "Entra audit",
            "Entra sign-in",
            "Entra sign-in (non-interactive)"
        ]
    );
}
