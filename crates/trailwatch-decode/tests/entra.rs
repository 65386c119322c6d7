//! Microsoft Entra ID sign-in and audit logs in every shape they are exported in (diagnostic
//! setting lines and Event Hub records, Microsoft Graph `value` arrays, Log Analytics rows), and
//! the Log Analytics table exports (query API, portal CSV) of every table trailwatch reads.
//!
//! The examples under `tests/data/entra` are ours, written after the public documentation of
//! each shape: the same sign-ins and audits appear in several shapes, so that each shape can be
//! checked against the others.

use std::path::{Path, PathBuf};
use trailwatch_decode::{expand_inputs, read_input, FileStats, ReadScratch, Record};
use trailwatch_model::{Event, FieldPath, FieldSource, Outcome, Provider};

const TENANT: &str = "c0ffee00-1111-4222-8333-444455556666";
/// The IMAP sign-in of dana that failed with a bad password (50126).
const LEGACY_FAIL: &str = "5f1e0c2a-0001-4b6e-9c1d-202603020001";
/// dana again, a minute later: single-factor SMTP AUTH (ROPC) that succeeded.
const LEGACY_OK: &str = "5f1e0c2a-0002-4b6e-9c1d-202603020002";
/// frank denied the MFA prompt (500121).
const MFA_DENIED: &str = "5f1e0c2a-0003-4b6e-9c1d-202603020003";
/// grace asked for MFA (50074, an interrupt).
const MFA_INTERRUPT: &str = "5f1e0c2a-0004-4b6e-9c1d-202603020004";
/// grace's sign-in after the prompt, with a risk detection.
const RISKY_OK: &str = "5f1e0c2a-0005-4b6e-9c1d-202603020005";
const LOCKED_OUT: &str = "5f1e0c2a-0006-4b6e-9c1d-202603020006";
const NON_INTERACTIVE: &str = "5f1e0c2a-0008-4b6e-9c1d-202603020008";
const SERVICE_PRINCIPAL: &str = "7a2b3c4d-0011-4e5f-8a9b-202603020011";
const MANAGED_IDENTITY: &str = "7a2b3c4d-0012-4e5f-8a9b-202603020012";
/// mallory added eve to Global Administrator.
const ROLE_ADD: &str = "Directory_4c3b2a19-0001-4000-8000-000000000001_ABCDE_1";
const CONSENT: &str = "Directory_4c3b2a19-0002-4000-8000-000000000002_ABCDE_2";
const INVITE_FAILED: &str = "Directory_4c3b2a19-0005-4000-8000-000000000005_ABCDE_5";

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/entra")
        .join(rel)
}

/// What reading some inputs gave: events, problems (`file: reason`) and counts.
struct Read {
    stats: FileStats,
    events: Vec<Event>,
    errors: Vec<String>,
}

impl Read {
    fn event(&self, id: &str) -> &Event {
        self.events
            .iter()
            .find(|e| e.event_id == id)
            .unwrap_or_else(|| panic!("no event {id} in {:?}", self.ids()))
    }

    fn ids(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.event_id.as_str()).collect()
    }

    fn error_with(&self, words: &[&str]) -> bool {
        self.errors
            .iter()
            .any(|e| words.iter().all(|w| e.contains(w)))
    }
}

fn read(paths: &[PathBuf]) -> Read {
    let mut events = Vec::new();
    let (stats, errors) = visit_records(paths, &mut |r| events.push(r.normalize()));
    Read {
        stats,
        events,
        errors,
    }
}

/// Calls `each` with every record of `paths`; returns the counts and the problems.
fn visit_records(paths: &[PathBuf], each: &mut dyn FnMut(&Record<'_>)) -> (FileStats, Vec<String>) {
    let (inputs, input_errors) = expand_inputs(paths);
    assert!(input_errors.is_empty(), "{input_errors:?}");
    let mut scratch = ReadScratch::default();
    let mut stats = FileStats::default();
    let mut errors = Vec::new();
    for input in &inputs {
        let s = read_input(input, &mut scratch, each, &mut |e| {
            errors.push(e.to_string())
        });
        stats.add(&s);
    }
    (stats, errors)
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// Every value a record's field view gives for `field`, as text.
fn values(src: &dyn FieldSource, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    src.visit_field(&FieldPath::new(field), &mut |v| {
        out.push(v.as_text().into_owned());
        false
    });
    out
}

/// The values of `fields` for the record `id` of each of `files`, one map per file.
fn field_values(files: &[&str], id: &str, fields: &[&str]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    for f in files {
        let mut got = None;
        let (_, errors) = visit_records(&[data(f)], &mut |r| {
            if r.event_id() == id {
                got = Some(fields.iter().map(|n| values(r.fields(), n)).collect());
            }
        });
        let got = got.unwrap_or_else(|| panic!("{id} not in {f}: {errors:?}"));
        out.push((f.to_string(), got));
    }
    out
}

/// The normalized fields that must not depend on the shape (all but `raw`).
fn essence(e: &Event) -> Event {
    Event {
        raw: String::new(),
        ..e.clone()
    }
}

/// [`essence`] without the tenant, which a Graph `directoryAudit` does not name.
fn essence_but_tenant(e: &Event) -> Event {
    Event {
        account: None,
        ..essence(e)
    }
}

#[test]
fn graph_sign_ins_are_normalized() {
    let r = read(&[data("graph/signIns.json")]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.stats.entra_records, 8);
    assert_eq!(r.stats.records(), 8);
    let e = r.event(LEGACY_FAIL);
    assert_eq!(e.provider, Provider::Entra);
    assert_eq!(e.time_ms, 1_772_439_330_000); // 2026-03-02T08:15:30Z
    assert_eq!(e.action, "Sign-in activity");
    assert_eq!(e.service.as_deref(), Some("SignInLogs"));
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.error_code.as_deref(), Some("50126"));
    assert_eq!(e.account.as_deref(), Some(TENANT));
    assert_eq!(e.region.as_deref(), Some("NG"));
    assert_eq!(e.source_ip.as_deref(), Some("203.0.113.50"));
    assert_eq!(e.principal.name.as_deref(), Some("dana@contoso.example"));
    assert_eq!(
        e.principal.id.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000001")
    );
    assert_eq!(
        e.principal.app_id.as_deref(),
        Some("00000002-0000-0ff1-ce00-000000000000")
    );
    assert_eq!(e.principal.kind.as_deref(), Some("User"));
    assert_eq!(e.principal.mfa, Some(false));
    // An interrupt is neither a success nor a failed guess.
    let i = r.event(MFA_INTERRUPT);
    assert_eq!(i.outcome, Outcome::Pending);
    assert_eq!(i.error_code.as_deref(), Some("50074"));
    let ok = r.event(RISKY_OK);
    assert_eq!(ok.outcome, Outcome::Success);
    assert_eq!(ok.error_code, None);
    assert_eq!(ok.principal.mfa, Some(true));
    assert_eq!(r.event(LEGACY_OK).user_agent.as_deref(), Some("BAV2ROPC"));
    assert_eq!(r.event(MFA_DENIED).outcome, Outcome::Failure);
    assert_eq!(r.event(LOCKED_OUT).error_code.as_deref(), Some("50053"));
}

#[test]
fn graph_directory_audits_are_normalized() {
    let r = read(&[data("graph/directoryAudits.json")]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.stats.entra_records, 6);
    let e = r.event(ROLE_ADD);
    assert_eq!(e.provider, Provider::Entra);
    assert_eq!(e.action, "Add member to role");
    assert_eq!(e.service.as_deref(), Some("AuditLogs"));
    assert_eq!(e.time_ms, 1_772_443_201_500); // 2026-03-02T09:20:01.5Z
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.principal.name.as_deref(), Some("mallory@contoso.example"));
    assert_eq!(
        e.principal.id.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000006")
    );
    assert_eq!(e.source_ip.as_deref(), Some("203.0.113.60"));
    assert_eq!(
        e.user_agent.as_deref(),
        Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    );
    assert_eq!(
        e.resources,
        [
            "a1b2c3d4-0000-4000-8000-000000000007",
            "eve@contoso.example",
            "0f1e2d3c-0000-4000-8000-0000000000ff"
        ]
    );
    let failed = r.event(INVITE_FAILED);
    assert_eq!(failed.outcome, Outcome::Failure);
    assert!(failed
        .error_code
        .as_deref()
        .is_some_and(|c| c.contains("external collaboration")));
    // A trailing space in the activity's name is not part of the operation.
    assert!(r
        .events
        .iter()
        .any(|e| e.action == "Update application – Certificates and secrets management"));
}

#[test]
fn an_application_acting_is_the_principal_of_its_audit() {
    let r = read(&[data("diagnostic/insights-logs-auditlogs/PT1H.json")]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let e = r
        .events
        .iter()
        .find(|e| e.action == "Add service principal credentials")
        .expect("the credentials audit");
    assert_eq!(e.principal.name.as_deref(), Some("backup-automation"));
    assert_eq!(e.principal.kind.as_deref(), Some("ServicePrincipal"));
    assert_eq!(
        e.principal.id.as_deref(),
        Some("e5f6a7b8-0000-4000-8000-0000000000a1")
    );
    assert_eq!(
        e.principal.app_id.as_deref(),
        Some("11112222-3333-4444-5555-666677778888")
    );
    assert_eq!(e.account.as_deref(), Some(TENANT));
}

#[test]
fn one_sign_in_reads_alike_in_every_shape() {
    let shapes = [
        "graph/signIns.json",
        "diagnostic/insights-logs-signinlogs/PT1H.json",
        "log-analytics/SigninLogs.json",
        "log-analytics/query-signinlogs.json",
    ];
    let events: Vec<Event> = shapes
        .iter()
        .map(|f| essence(read(&[data(f)]).event(LEGACY_FAIL)))
        .collect();
    for (f, e) in shapes.iter().zip(&events) {
        assert_eq!(e, &events[0], "{f} differs from {}", shapes[0]);
    }
    let la = read(&[data("log-analytics/SigninLogs.json")]);
    assert_eq!(essence(la.event(RISKY_OK)).outcome, Outcome::Success);
}

#[test]
fn one_audit_reads_alike_in_every_shape() {
    let shapes = [
        "graph/directoryAudits.json",
        "diagnostic/insights-logs-auditlogs/PT1H.json",
        "log-analytics/query-auditlogs.json",
    ];
    let events: Vec<Event> = shapes
        .iter()
        .map(|f| read(&[data(f)]).event(ROLE_ADD).clone())
        .collect();
    for (f, e) in shapes.iter().zip(&events) {
        assert_eq!(
            essence_but_tenant(e),
            essence_but_tenant(&events[0]),
            "{f} differs from {}",
            shapes[0]
        );
    }
    assert_eq!(events[0].account, None);
    assert_eq!(events[1].account.as_deref(), Some(TENANT));
    assert_eq!(events[2].account.as_deref(), Some(TENANT));
    let consent: Vec<Event> = ["graph/directoryAudits.json", "eventhub/records.json"]
        .iter()
        .map(|f| essence_but_tenant(read(&[data(f)]).event(CONSENT)))
        .collect();
    assert_eq!(consent[0], consent[1]);
}

#[test]
fn the_four_sign_in_logs_are_told_apart_in_each_shape() {
    let r = read(&[
        data("diagnostic/insights-logs-noninteractiveusersigninlogs/PT1H.json"),
        data("eventhub/records.json"),
    ]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        r.event(NON_INTERACTIVE).service.as_deref(),
        Some("NonInteractiveUserSignInLogs")
    );
    let sp = r.event(SERVICE_PRINCIPAL);
    assert_eq!(sp.service.as_deref(), Some("ServicePrincipalSignInLogs"));
    assert_eq!(sp.principal.name.as_deref(), Some("backup-automation"));
    assert_eq!(sp.principal.kind.as_deref(), Some("ServicePrincipal"));
    assert_eq!(
        sp.principal.id.as_deref(),
        Some("e5f6a7b8-0000-4000-8000-0000000000a1")
    );
    assert_eq!(
        sp.principal.app_id.as_deref(),
        Some("11112222-3333-4444-5555-666677778888")
    );
    let mi = r.event(MANAGED_IDENTITY);
    assert_eq!(mi.service.as_deref(), Some("ManagedIdentitySignInLogs"));
    assert_eq!(mi.principal.kind.as_deref(), Some("ManagedIdentity"));
    assert_eq!(mi.principal.name.as_deref(), Some("vm-build-01"));
    // The same logs from Log Analytics: the query API and the portal's CSV.
    let la = read(&[
        data("log-analytics/query-noninteractive.json"),
        data("portal-csv/AADServicePrincipalSignInLogs.csv"),
    ]);
    assert!(la.errors.is_empty(), "{:?}", la.errors);
    assert_eq!(
        essence(la.event(NON_INTERACTIVE)),
        essence(r.event(NON_INTERACTIVE))
    );
    assert_eq!(essence(la.event(SERVICE_PRINCIPAL)), essence(sp));
}

#[test]
fn rule_field_names_answer_in_every_shape() {
    let sign_in_fields = [
        ("ResultType", "50126"),
        ("resultType", "50126"),
        ("status.errorCode", "50126"),
        ("Status", "Failure"),
        (
            "ResultDescription",
            "Error validating credentials due to invalid username or password.",
        ),
        ("ClientApp", "IMAP4"),
        ("ClientAppUsed", "IMAP4"),
        ("Username", "dana@contoso.example"),
        ("UserPrincipalName", "dana@contoso.example"),
        ("properties.userPrincipalName", "dana@contoso.example"),
        ("IPAddress", "203.0.113.50"),
        ("callerIpAddress", "203.0.113.50"),
        ("Location", "NG"),
        ("LocationDetails.city", "Lagos"),
        ("location.city", "Lagos"),
        ("DeviceDetail.isCompliant", "false"),
        ("AuthenticationRequirement", "singleFactorAuthentication"),
        ("Category", "SignInLogs"),
        ("OperationName", "Sign-in activity"),
        ("AppId", "00000002-0000-0ff1-ce00-000000000000"),
        ("UserId", "a1b2c3d4-0000-4000-8000-000000000001"),
        ("tenantId", TENANT),
    ];
    let names: Vec<&str> = sign_in_fields.iter().map(|(n, _)| *n).collect();
    let shapes = [
        "graph/signIns.json",
        "diagnostic/insights-logs-signinlogs/PT1H.json",
        "log-analytics/SigninLogs.json",
        "log-analytics/query-signinlogs.json",
    ];
    for (file, got) in field_values(&shapes, LEGACY_FAIL, &names) {
        for ((name, want), got) in sign_in_fields.iter().zip(got) {
            assert!(
                got.iter().any(|g| g.eq_ignore_ascii_case(want)),
                "{file}: {name} gave {got:?}, not {want:?}"
            );
        }
    }
    let audit_fields = [
        ("Category", "RoleManagement"),
        ("Category", "AuditLogs"),
        ("OperationName", "Add member to role"),
        ("ActivityDisplayName", "Add member to role"),
        ("properties.message", "Add member to role"),
        ("Status", "success"),
        (
            "InitiatedBy.user.userPrincipalName",
            "mallory@contoso.example",
        ),
        (
            "Initiatedby.User.UserPrincipalName",
            "mallory@contoso.example",
        ),
        ("ipAddress", "203.0.113.60"),
        ("TargetResources.userPrincipalName", "eve@contoso.example"),
        (
            "targetResources.modifiedProperties.displayName",
            "Role.DisplayName",
        ),
        ("Role.DisplayName", "Global Administrator"),
        (
            "additionalDetails.User-Agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        ),
        ("LoggedByService", "Core Directory"),
    ];
    let names: Vec<&str> = audit_fields.iter().map(|(n, _)| *n).collect();
    let shapes = [
        "graph/directoryAudits.json",
        "diagnostic/insights-logs-auditlogs/PT1H.json",
        "log-analytics/query-auditlogs.json",
    ];
    for (file, got) in field_values(&shapes, ROLE_ADD, &names) {
        for ((name, want), got) in audit_fields.iter().zip(got) {
            assert!(
                got.iter().any(|g| g.eq_ignore_ascii_case(want)),
                "{file}: {name} gave {got:?}, not {want:?}"
            );
        }
    }
}

#[test]
fn status_gives_the_mfa_result_and_risk_types_read_from_lists_and_text() {
    let mfa = field_values(
        &["graph/signIns.json", "portal-csv/SigninLogs.csv"],
        MFA_DENIED,
        &["Status", "AuthenticationRequirement"],
    );
    for (file, got) in mfa {
        assert_eq!(got[0][0], "Failure", "{file}");
        assert!(
            got[0].iter().any(|s| s.contains("MFA denied")),
            "{file}: {:?}",
            got[0]
        );
        assert_eq!(got[1], ["multiFactorAuthentication"], "{file}");
    }
    // Graph gives a list; a Log Analytics row JSON text (`"[\"unfamiliarFeatures\"]"`).
    let risk = field_values(
        &["graph/signIns.json", "log-analytics/SigninLogs.json"],
        RISKY_OK,
        &["riskEventType", "RiskState", "Status"],
    );
    for (file, got) in risk {
        assert_eq!(got[0], ["unfamiliarFeatures"], "{file}");
        assert_eq!(got[1], ["atRisk"], "{file}");
        assert_eq!(got[2][0], "Success", "{file}");
    }
    let interrupted = field_values(&["graph/signIns.json"], MFA_INTERRUPT, &["Status"]);
    assert_eq!(interrupted[0].1[0][0], "Interrupted");
}

#[test]
fn query_api_answers_of_each_table_are_read_and_bad_rows_reported() {
    let file = "log-analytics/query-signinlogs.json";
    let r = read(&[data(file)]);
    assert_eq!(r.stats.entra_records, 3, "{:?}", r.errors);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.error_with(&[
            "query-signinlogs.json",
            "record 1, table 1, row 4",
            "\"yesterday\""
        ]),
        "{:?}",
        r.errors
    );
    let audits = read(&[data("log-analytics/query-auditlogs.json")]);
    assert!(audits.errors.is_empty(), "{:?}", audits.errors);
    assert_eq!(audits.stats.entra_records, 2);
    let activity = read(&[data("log-analytics/query-azureactivity.json")]);
    assert!(activity.errors.is_empty(), "{:?}", activity.errors);
    assert_eq!(activity.stats.azure_records, 2);
    let e = activity.event("3e4f5a6b-0000-4000-8000-000000000001");
    assert_eq!(e.provider, Provider::Azure);
    assert!(e
        .action
        .eq_ignore_ascii_case("Microsoft.Authorization/roleAssignments/write"));
    assert_eq!(e.principal.name.as_deref(), Some("mallory@contoso.example"));
    assert_eq!(
        e.account.as_deref(),
        Some("0a1b2c3d-0000-4000-8000-000000000abc")
    );
    assert_eq!(e.time_ms, 1_772_443_330_000); // 2026-03-02T09:22:10Z
    assert_eq!(
        activity
            .event("3e4f5a6b-0000-4000-8000-000000000002")
            .outcome,
        Outcome::Pending
    );
}

#[test]
fn portal_csv_exports_of_each_table_are_read_and_bad_rows_reported() {
    let r = read(&[data("portal-csv/SigninLogs.csv")]);
    assert_eq!(r.stats.entra_records, 3, "{:?}", r.errors);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(
        r.error_with(&["SigninLogs.csv", "row 4", "13/45/2026"]),
        "{:?}",
        r.errors
    );
    // The CSV row and the Graph object are one sign-in.
    let graph = read(&[data("graph/signIns.json")]);
    assert_eq!(
        essence(r.event(MFA_DENIED)),
        essence(graph.event(MFA_DENIED))
    );
    let audits = read(&[data("portal-csv/AuditLogs.csv")]);
    assert!(audits.errors.is_empty(), "{:?}", audits.errors);
    assert_eq!(audits.stats.entra_records, 3);
    let graph_audits = read(&[data("graph/directoryAudits.json")]);
    assert_eq!(
        essence_but_tenant(audits.event(INVITE_FAILED)),
        essence_but_tenant(graph_audits.event(INVITE_FAILED))
    );
    let activity = read(&[data("portal-csv/AzureActivity.csv")]);
    assert!(activity.errors.is_empty(), "{:?}", activity.errors);
    assert_eq!(activity.stats.azure_records, 2);
    let from_api = read(&[data("log-analytics/query-azureactivity.json")]);
    for id in [
        "3e4f5a6b-0000-4000-8000-000000000001",
        "3e4f5a6b-0000-4000-8000-000000000002",
    ] {
        assert_eq!(
            essence(activity.event(id)),
            essence(from_api.event(id)),
            "{id}"
        );
    }
}

#[test]
fn one_query_answer_may_hold_tables_of_both_clouds() {
    let dir = tempfile::tempdir().unwrap();
    let answer = r#"{"tables":[
      {"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"EventName","type":"string"},{"name":"EventSource","type":"string"},{"name":"AwsEventId","type":"string"},{"name":"RecipientAccountId","type":"string"}],
       "rows":[["2026-03-02T10:00:00Z","ListUsers","iam.amazonaws.com","0e9d8c7b-0000-4000-8000-000000000001","111122223333"]]},
      {"name":"Table_1","columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"ResultType","type":"string"},{"name":"UserPrincipalName","type":"string"},{"name":"Id","type":"string"},{"name":"Status","type":"dynamic"}],
       "rows":[["2026-03-02T10:00:01Z","50126","dana@contoso.example","0e9d8c7b-0000-4000-8000-000000000002","{\"errorCode\":50126}"]]}
    ]}"#;
    let r = read(&[write(dir.path(), "both.json", answer)]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.stats.aws_records, r.stats.entra_records), (1, 1));
    let e = r.event("0e9d8c7b-0000-4000-8000-000000000002");
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.service.as_deref(), Some("SignInLogs"));
}

/// A diagnostic sign-in, a Graph audit, a Log Analytics row and two Activity Log records, each
/// without a time, between records that have one.
#[test]
fn records_without_a_time_are_reported_and_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let diag =
        std::fs::read_to_string(data("diagnostic/insights-logs-signinlogs/PT1H.json")).unwrap();
    let first: serde_json::Value = serde_json::from_str(diag.lines().next().unwrap()).unwrap();
    let mut untimed = first.clone();
    untimed.as_object_mut().unwrap().remove("time");
    untimed["properties"]
        .as_object_mut()
        .unwrap()
        .remove("createdDateTime");
    let f1 = write(
        dir.path(),
        "PT1H.json",
        &format!("{first}\n{untimed}\n{first}\n"),
    );
    let audit = r#"{"value":[{"id":"Directory_x","category":"UserManagement","result":"success","activityDisplayName":"Add user","loggedByService":"Core Directory","initiatedBy":{"user":{"id":"u1","userPrincipalName":"a@contoso.example"}},"targetResources":[]}]}"#;
    let f2 = write(dir.path(), "audits.json", audit);
    let la = r#"[{"ResultType":"0","UserPrincipalName":"a@contoso.example","Type":"SigninLogs","Id":"la-untimed"}]"#;
    let f3 = write(dir.path(), "la.json", la);
    let activity = r#"{"records":[
      {"resourceId":"/SUBSCRIPTIONS/0A1B2C3D-0000-4000-8000-000000000ABC/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG","operationName":"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE","category":"Administrative","resultType":"Success","durationMs":"1200","callerIpAddress":"198.51.100.4"},
      {"time":"2026-03-02T10:00:00.123Z","resourceId":"/SUBSCRIPTIONS/0A1B2C3D-0000-4000-8000-000000000ABC/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG","operationName":"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE","category":"Administrative","resultType":"Success","durationMs":"1200","callerIpAddress":"198.51.100.4"}
    ]}"#;
    let f4 = write(dir.path(), "activity.json", activity);
    let rest = r#"[{"operationName":{"value":"Microsoft.Compute/virtualMachines/delete"},"status":{"value":"Succeeded"},"caller":"x@contoso.example","eventDataId":"rest-untimed"}]"#;
    let f5 = write(dir.path(), "rest.json", rest);
    let r = read(&[f1, f2, f3, f4, f5]);
    assert_eq!(r.stats.entra_records, 2, "{:?}", r.errors);
    assert_eq!(r.stats.azure_records, 1, "{:?}", r.errors);
    assert!(r.events.iter().all(|e| e.time_ms > 1_700_000_000_000));
    for (file, place) in [
        ("PT1H.json", "record 2"),
        ("audits.json", "record 1"),
        ("la.json", "record 1"),
        ("activity.json", "record 1"),
        ("rest.json", "record 1"),
    ] {
        assert!(
            r.error_with(&[file, place, "without a valid", "not read"]),
            "{file}: {:?}",
            r.errors
        );
    }
    assert_eq!(r.errors.len(), 5, "{:?}", r.errors);
    // An Activity Log record whose durationMs is a string reads like any other.
    let ok = r
        .events
        .iter()
        .find(|e| e.provider == Provider::Azure)
        .unwrap();
    assert_eq!(ok.source_ip.as_deref(), Some("198.51.100.4"));
}

#[test]
fn look_alikes_and_unknown_tables_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    // A Graph list of users, and one of service principals: not sign-ins.
    let users = r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[
      {"id":"a1","displayName":"Dana Ruiz","userPrincipalName":"dana@contoso.example","mail":"dana@contoso.example","createdDateTime":"2025-01-01T00:00:00Z"},
      {"id":"a2","displayName":"Frank Osei","userPrincipalName":"frank@contoso.example","mail":null}]}"#;
    let sps = r#"{"value":[{"id":"s1","appId":"11112222-3333-4444-5555-666677778888","displayName":"backup-automation","servicePrincipalType":"Application","accountEnabled":true}]}"#;
    let unknown_table = r#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"Computer","type":"string"},{"name":"EventID","type":"int"}],"rows":[["2026-03-02T10:00:00Z","web-01",4625]]}]}"#;
    let unknown_csv =
        "TimeGenerated [UTC],Computer,EventID\n\"3/2/2026, 10:00:00.000 AM\",web-01,4625\n";
    let local_csv = "TimeGenerated [Local Time],ResultType,UserPrincipalName\n\"3/2/2026, 10:00:00.000 AM\",0,dana@contoso.example\n";
    let r = read(&[
        write(dir.path(), "users.json", users),
        write(dir.path(), "servicePrincipals.json", sps),
        write(dir.path(), "heartbeat.json", unknown_table),
        write(dir.path(), "SecurityEvent.csv", unknown_csv),
        write(dir.path(), "local.csv", local_csv),
    ]);
    assert_eq!(r.stats.records(), 0, "{:?}", r.events);
    assert!(
        r.error_with(&[
            "users.json",
            "record 1",
            "not a CloudTrail or Azure",
            "userPrincipalName"
        ]),
        "{:?}",
        r.errors
    );
    assert!(r.error_with(&["users.json", "record 2"]), "{:?}", r.errors);
    assert!(
        r.error_with(&[
            "servicePrincipals.json",
            "record 1",
            "not a CloudTrail or Azure"
        ]),
        "{:?}",
        r.errors
    );
    assert!(
        r.error_with(&[
            "heartbeat.json",
            "record 1, table 1",
            "Computer",
            "none of the tables"
        ]),
        "{:?}",
        r.errors
    );
    assert!(
        r.error_with(&["SecurityEvent.csv", "Computer", "none of the tables"]),
        "{:?}",
        r.errors
    );
    assert!(r.error_with(&["local.csv", "UTC"]), "{:?}", r.errors);
    assert_eq!(r.stats.files_read, 0);
}

#[test]
fn every_example_file_reads_without_surprise() {
    let r = read(&[data("")]);
    // Walking the directory reads the JSON files (CSV exports are read when named).
    let only_bad_row = r
        .errors
        .iter()
        .all(|e| e.contains("query-signinlogs.json") && e.contains("row 4"));
    assert!(only_bad_row, "{:?}", r.errors);
    assert!(r.stats.entra_records >= 30, "{:?}", r.stats);
    assert!(r.events.iter().all(|e| e.provider != Provider::Aws));
    for e in r.events.iter().filter(|e| e.provider == Provider::Entra) {
        assert!(e.principal.name.is_some(), "{}", e.event_id);
        assert!(!e.action.is_empty(), "{}", e.event_id);
        assert!(e.service.is_some(), "{}", e.event_id);
    }
}
