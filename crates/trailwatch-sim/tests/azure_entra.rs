//! The Azure family scenarios, the Entra ID logs and scenarios, and the benign twins.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use trailwatch_sim::{
    simulate, AzureLog, BenignTwin, Providers, Scenario, SimOptions, SimReport, AZURE_FAMILIES,
    ENTRA_FAMILIES,
};

const ENTRA_CONTAINERS: &[(&str, &str)] = &[
    ("insights-logs-signinlogs", "SignInLogs"),
    (
        "insights-logs-noninteractiveusersigninlogs",
        "NonInteractiveUserSignInLogs",
    ),
    (
        "insights-logs-serviceprincipalsigninlogs",
        "ServicePrincipalSignInLogs",
    ),
    ("insights-logs-auditlogs", "AuditLogs"),
];

fn opts(dir: &Path, seed: u64, attacks: bool) -> SimOptions {
    let mut o = SimOptions::new(dir);
    o.providers = Providers::Azure;
    o.days = 3;
    o.events_per_day = 2_000;
    o.seed = seed;
    o.attacks = attacks;
    o.azure_families = true;
    o.entra = true;
    o
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Every Activity Log record: the PT1H lines and the REST export.
struct Activity {
    diag: Vec<Value>,
    rest: Vec<Value>,
}

fn activity(dir: &Path) -> Activity {
    let mut diag = Vec::new();
    for p in files(&dir.join("insights-activity-logs")) {
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            diag.push(serde_json::from_str(line).unwrap());
        }
    }
    let rest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("azure-activity-rest.json")).unwrap())
            .unwrap();
    Activity {
        diag,
        rest: rest["value"].as_array().unwrap().clone(),
    }
}

/// Every Entra record, by container, checking the blob layout on the way.
fn entra(dir: &Path, tenant: &str) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (container, category) in ENTRA_CONTAINERS {
        let root = dir.join(container);
        for p in files(&root) {
            let rel: Vec<String> = p
                .strip_prefix(&root)
                .unwrap()
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            assert_eq!(rel.len(), 7, "{rel:?}");
            assert_eq!(rel[0], format!("tenantId={tenant}"));
            assert!(rel[1].starts_with("y=") && rel[1].len() == 6, "{rel:?}");
            assert!(rel[2].starts_with("m=") && rel[2].len() == 4, "{rel:?}");
            assert!(rel[3].starts_with("d=") && rel[3].len() == 4, "{rel:?}");
            assert!(rel[4].starts_with("h=") && rel[4].len() == 4, "{rel:?}");
            assert_eq!(rel[5], "m=00");
            assert_eq!(rel[6], "PT1H.json");
            let prefix = format!(
                "{}-{}-{}T{}:",
                &rel[1][2..],
                &rel[2][2..],
                &rel[3][2..],
                &rel[4][2..]
            );
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.ends_with('\n'));
            let mut last = String::new();
            for line in text.lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                let t = v["time"].as_str().unwrap().to_string();
                assert!(t.starts_with(&prefix), "{t} in {p:?}");
                assert!(t >= last, "unsorted {p:?}");
                last = t;
                assert_eq!(v["category"], *category, "{line}");
                assert_eq!(v["tenantId"], tenant);
                assert_eq!(
                    v["resourceId"],
                    format!("/tenants/{tenant}/providers/Microsoft.aadiam")
                );
                out.entry(container.to_string()).or_default().push(v);
            }
        }
    }
    out
}

fn run(dir: &Path, seed: u64, attacks: bool) -> SimReport {
    simulate(&opts(dir, seed, attacks)).unwrap()
}

fn is_attack_ip(ip: &str) -> bool {
    ip.starts_with("198.51.100.") || ip.starts_with("203.0.113.")
}

#[test]
fn same_seed_same_bytes_and_background_unchanged_by_the_new_scenarios() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let ra = run(a.path(), 21, true);
    let rb = run(b.path(), 21, true);
    assert_eq!(ra, rb);
    let fa = files(a.path());
    let fb = files(b.path());
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.strip_prefix(a.path()), y.strip_prefix(b.path()));
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{x:?}"
        );
    }
    assert!(fa.iter().any(|f| f.ends_with("benign-twins.manifest")));
    // Without the new options: the same Activity Log background, no Entra, no twins.
    let mut o = opts(c.path(), 21, true);
    o.azure_families = false;
    o.entra = false;
    let rc = simulate(&o).unwrap();
    assert_eq!(rc.scenarios.len(), 7);
    assert!(rc.benign_twins.is_empty() && rc.entra.records == 0);
    assert!(!c.path().join("benign-twins.manifest").exists());
    for (container, _) in ENTRA_CONTAINERS {
        assert!(!c.path().join(container).exists());
    }
    let mut with: HashSet<String> = HashSet::new();
    for p in files(&a.path().join("insights-activity-logs")) {
        with.extend(
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(String::from),
        );
    }
    let mut n = 0;
    for p in files(&c.path().join("insights-activity-logs")) {
        for line in std::fs::read_to_string(p).unwrap().lines() {
            assert!(
                with.contains(line),
                "record lost with the new scenarios: {line}"
            );
            n += 1;
        }
    }
    assert_eq!(n as u64, rc.azure.records);
    assert!(ra.azure.records > rc.azure.records);
    // Another seed, other data.
    let d = tempfile::tempdir().unwrap();
    let rd = run(d.path(), 22, true);
    assert_ne!(ra.entra_tenant, rd.entra_tenant);
}

/// The offices' address prefixes and hours east of UTC (the simulator's organisation).
const OFFICES: &[(&str, i64)] = &[
    ("84.17.46.", 1),
    ("62.210.118.", 1),
    ("73.162.88.", -5),
    ("98.207.14.", -8),
    ("49.205.77.", 5),
    ("126.78.190.", 9),
];

/// A twin happens on a working day, in working hours: the office's for a person, 08:00–16:00
/// UTC for a pipeline.
fn working_hours(t: &BenignTwin) {
    let start = time(&t.start);
    let tz = if t.principal.contains('@') {
        OFFICES
            .iter()
            .find(|(p, _)| t.source_ip.starts_with(p))
            .unwrap_or_else(|| panic!("{}: {} is no office", t.id, t.source_ip))
            .1
    } else {
        // Pipelines run from 08:00 UTC: 09:00 at the Amsterdam head office.
        1
    };
    let local = start + chrono::Duration::hours(tz);
    assert!(
        local.weekday().num_days_from_monday() < 5,
        "{} on {local}",
        t.id
    );
    assert!((9..17).contains(&local.hour()), "{} at {local} local", t.id);
}

fn check_ground_truth_ids<'a>(
    what: &str,
    ids: impl Iterator<Item = (&'a String, &'a [String], &'a [String], usize)>,
    diag: &HashMap<String, Vec<&Value>>,
    rest: &HashMap<String, Vec<&Value>>,
) {
    for (id, event_ids, api_calls, count) in ids {
        assert!(!event_ids.is_empty(), "{what} {id}: no events");
        assert_eq!(count, event_ids.len() * 2, "{what} {id}");
        let mut ops = BTreeSet::new();
        for e in event_ids {
            let d = diag
                .get(e)
                .unwrap_or_else(|| panic!("{what} {id}: {e} not in PT1H"));
            assert_eq!(d.len(), 2, "{what} {id}: start and end of {e}");
            let r = rest
                .get(e)
                .unwrap_or_else(|| panic!("{what} {id}: {e} not in REST"));
            assert_eq!(r.len(), 2, "{what} {id}: {e} in REST");
            for rec in d {
                let op = rec["operationName"].as_str().unwrap();
                assert_eq!(op, op.to_uppercase());
                ops.insert(op.to_string());
            }
            for rec in r {
                // REST keeps the resource-provider casing of the operation.
                let op = rec["operationName"]["value"].as_str().unwrap();
                assert!(api_calls.iter().any(|c| c == op), "{what} {id}: {op}");
                if let Some(body) = rec["properties"]["requestbody"].as_str() {
                    let _: Value = serde_json::from_str(body).expect("requestbody is JSON text");
                }
            }
        }
        for c in api_calls {
            assert!(ops.contains(&c.to_uppercase()), "{what} {id}: {c}");
        }
    }
}

fn by_correlation(recs: &[Value]) -> HashMap<String, Vec<&Value>> {
    let mut m: HashMap<String, Vec<&Value>> = HashMap::new();
    for r in recs {
        m.entry(r["correlationId"].as_str().unwrap().to_string())
            .or_default()
            .push(r);
    }
    m
}

/// The JSON request bodies of a scenario's or twin's operations, from the REST export.
fn bodies(act: &Activity, ids: &[String]) -> Vec<(String, Value)> {
    let ids: HashSet<&str> = ids.iter().map(String::as_str).collect();
    act.rest
        .iter()
        .filter(|r| ids.contains(r["correlationId"].as_str().unwrap()))
        .filter_map(|r| {
            let b = r["properties"]["requestbody"].as_str()?;
            Some((
                r["operationName"]["value"].as_str().unwrap().to_string(),
                serde_json::from_str(b).unwrap(),
            ))
        })
        .collect()
}

#[test]
fn azure_family_scenarios_and_twins_are_in_both_activity_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), 11, true);
    let act = activity(dir.path());
    let diag = by_correlation(&act.diag);
    let rest = by_correlation(&act.rest);
    let az: Vec<&Scenario> = report
        .scenarios
        .iter()
        .filter(|s| s.log == Some(AzureLog::Activity))
        .collect();
    let twins: Vec<&BenignTwin> = report
        .benign_twins
        .iter()
        .filter(|t| t.log == AzureLog::Activity)
        .collect();
    assert_eq!(az.len(), 24);
    assert_eq!(twins.len(), az.len());
    // Every family has a scenario.
    let covered: HashSet<&str> = az
        .iter()
        .flat_map(|s| s.families.iter().map(String::as_str))
        .collect();
    for f in AZURE_FAMILIES {
        assert!(covered.contains(f), "family {f} has no scenario");
    }
    // Ids unique; each scenario names its twin and the twin names it back.
    let ids: HashSet<&str> = az.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), az.len());
    for s in &az {
        let t = twins
            .iter()
            .find(|t| Some(&t.id) == s.twin.as_ref())
            .unwrap_or_else(|| panic!("{}: twin missing", s.id));
        assert_eq!(t.twin_of, s.id);
        assert_eq!(t.families, s.families);
        assert_ne!(t.principal, s.principal, "{}", s.id);
        assert!(is_attack_ip(&s.source_ip), "{}", s.id);
        assert!(!is_attack_ip(&t.source_ip), "{}", t.id);
        working_hours(t);
    }
    check_ground_truth_ids(
        "scenario",
        az.iter()
            .map(|s| (&s.id, &s.event_ids[..], &s.api_calls[..], s.event_count)),
        &diag,
        &rest,
    );
    check_ground_truth_ids(
        "twin",
        twins
            .iter()
            .map(|t| (&t.id, &t.event_ids[..], &t.api_calls[..], t.event_count)),
        &diag,
        &rest,
    );
    check_dangerous_parameters(&act, &az, &twins);
}

fn find<'a>(az: &[&'a Scenario], name: &str) -> &'a Scenario {
    az.iter().find(|s| s.name == name).unwrap()
}

fn twin_of<'a>(twins: &[&'a BenignTwin], s: &Scenario) -> &'a BenignTwin {
    twins.iter().find(|t| t.twin_of == s.id).unwrap()
}

/// The attack carries the dangerous parameter; its twin does the same operation safely.
fn check_dangerous_parameters(act: &Activity, az: &[&Scenario], twins: &[&BenignTwin]) {
    let storage = find(az, "azure_storage_made_public");
    let b = bodies(act, &storage.event_ids);
    assert!(b
        .iter()
        .any(|(_, v)| v["properties"]["allowBlobPublicAccess"] == true));
    assert!(b
        .iter()
        .any(|(_, v)| v["properties"]["publicNetworkAccess"] == "Enabled"));
    assert!(b
        .iter()
        .any(|(_, v)| v["properties"]["allowSharedKeyAccess"] == true));
    assert!(b
        .iter()
        .any(|(_, v)| v["properties"]["supportsHttpsTrafficOnly"] == false));
    let tb = bodies(act, &twin_of(twins, storage).event_ids);
    assert!(tb
        .iter()
        .all(|(_, v)| v["properties"]["allowBlobPublicAccess"] != true));

    let nsg = twin_of(twins, find(az, "azure_nsg_open_rdp"));
    let tb = bodies(act, &nsg.event_ids);
    assert_eq!(tb[0].1["properties"]["destinationPortRange"], "443");
    assert!(tb[0].1["properties"]["sourceAddressPrefix"]
        .as_str()
        .unwrap()
        .ends_with(".0/24"));

    let sql = find(az, "azure_sql_open_and_auditing_off");
    let b = bodies(act, &sql.event_ids);
    assert!(b
        .iter()
        .any(|(_, v)| v["properties"]["endIpAddress"] == "255.255.255.255"));
    assert!(b
        .iter()
        .any(|(_, v)| v["properties"]["state"] == "Disabled"));
    let tb = bodies(act, &twin_of(twins, sql).event_ids);
    assert!(tb
        .iter()
        .all(|(_, v)| v["properties"]["endIpAddress"] != "255.255.255.255"));

    let priv_esc = find(az, "azure_privilege_escalation");
    assert!(priv_esc
        .api_calls
        .iter()
        .any(|c| c == "Microsoft.Authorization/elevateAccess/action"));
    let b = bodies(act, &priv_esc.event_ids);
    let roles: Vec<String> = b
        .iter()
        .filter_map(|(_, v)| v["Properties"]["RoleDefinitionId"].as_str())
        .map(String::from)
        .collect();
    assert!(roles
        .iter()
        .any(|r| r.ends_with("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9")));
    assert!(b.iter().all(|(_, v)| v["Properties"]["Scope"]
        .as_str()
        .is_none_or(|s| !s.contains("resourceGroups"))));
    assert!(b
        .iter()
        .any(|(_, v)| v["properties"]["permissions"][0]["actions"][0] == "*"));
    let tb = bodies(act, &twin_of(twins, priv_esc).event_ids);
    assert!(tb
        .iter()
        .filter_map(|(_, v)| v["Properties"]["Scope"].as_str())
        .all(|s| s.contains("/resourceGroups/")));
    assert!(tb
        .iter()
        .all(|(_, v)| v["properties"]["permissions"][0]["actions"][0] != "*"));

    let kv = find(az, "azure_keyvault_backup_and_purge");
    assert!(kv.api_calls.iter().any(|c| c.ends_with("purge/action")));
    let kt = twin_of(twins, kv);
    assert!(kt.api_calls.iter().all(|c| !c.contains("purge")));
}

type Entra = BTreeMap<String, Vec<Value>>;

fn signins(e: &Entra) -> impl Iterator<Item = &Value> {
    e["insights-logs-signinlogs"].iter()
}

fn by_id(e: &Entra) -> HashMap<String, (&str, &Value)> {
    let mut m = HashMap::new();
    for (c, recs) in e {
        for r in recs {
            let id = r["properties"]["id"].as_str().unwrap().to_string();
            assert!(
                m.insert(id.clone(), (c.as_str(), r)).is_none(),
                "duplicate id {id}"
            );
        }
    }
    m
}

#[test]
fn entra_logs_have_the_diagnostic_layout_fields_and_modest_volume() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), 13, false);
    let tenant = report.entra_tenant.clone().unwrap();
    assert_eq!(tenant.users, 200);
    let e = entra(dir.path(), &tenant.tenant_id);
    let mut total = 0;
    for (container, _) in ENTRA_CONTAINERS {
        let n = e.get(*container).map(Vec::len).unwrap_or(0) as u64;
        assert!(n > 0, "{container} empty");
        assert_eq!(report.entra_records[*container], n);
        total += n;
    }
    assert_eq!(total, report.entra.records);
    by_id(&e);
    let per_day = |c: &str| e[c].len() / 3;
    let interactive = per_day("insights-logs-signinlogs");
    let non = per_day("insights-logs-noninteractiveusersigninlogs");
    assert!((150..2_000).contains(&interactive), "{interactive}");
    assert!((300..4_000).contains(&non), "{non}");
    assert!(interactive + non < 5_000);
    for c in [
        "insights-logs-signinlogs",
        "insights-logs-noninteractiveusersigninlogs",
        "insights-logs-serviceprincipalsigninlogs",
    ] {
        for r in &e[c] {
            for f in [
                "time",
                "operationName",
                "resultType",
                "resultDescription",
                "callerIpAddress",
                "correlationId",
                "identity",
                "location",
            ] {
                assert!(!r[f].is_null(), "{f} missing in {r}");
            }
            let p = &r["properties"];
            assert_eq!(r["operationName"], "Sign-in activity");
            assert_eq!(
                r["resultType"],
                p["status"]["errorCode"].as_u64().unwrap().to_string()
            );
            assert_eq!(r["callerIpAddress"], p["ipAddress"]);
            assert_eq!(r["location"], p["location"]["countryOrRegion"]);
            for f in [
                "id",
                "createdDateTime",
                "appId",
                "ipAddress",
                "status",
                "location",
            ] {
                assert!(!p[f].is_null(), "{f} missing in {r}");
            }
            if c != "insights-logs-serviceprincipalsigninlogs" {
                for f in [
                    "userPrincipalName",
                    "userId",
                    "appDisplayName",
                    "clientAppUsed",
                    "isInteractive",
                    "authenticationRequirement",
                    "conditionalAccessStatus",
                    "deviceDetail",
                    "riskLevelDuringSignIn",
                    "riskState",
                    "userType",
                ] {
                    assert!(!p[f].is_null(), "{f} missing in {r}");
                }
                assert_eq!(p["isInteractive"], c == "insights-logs-signinlogs");
            } else {
                assert!(p["servicePrincipalId"].is_string());
            }
        }
    }
    for r in &e["insights-logs-auditlogs"] {
        let p = &r["properties"];
        assert_eq!(r["operationName"], p["activityDisplayName"]);
        for f in [
            "id",
            "category",
            "result",
            "activityDateTime",
            "activityDisplayName",
            "initiatedBy",
            "targetResources",
        ] {
            assert!(!p[f].is_null(), "{f} missing in {r}");
        }
        let by = &p["initiatedBy"];
        assert!(
            by["user"]["userPrincipalName"].is_string() || by["app"]["displayName"].is_string()
        );
    }
    // Ordinary failures are there, and nothing an attack looks like.
    let codes: BTreeMap<String, usize> = signins(&e).fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r["resultType"].as_str().unwrap().to_string())
            .or_default() += 1;
        m
    });
    for code in ["0", "50126", "50074", "50140"] {
        assert!(codes.contains_key(code), "{code} missing: {codes:?}");
    }
    assert!(signins(&e).any(|r| r["properties"]["mfaDetail"].is_object()));
    quiet_background(&e, &report);
}

/// No attack marker outside the twins' own records.
fn quiet_background(e: &Entra, report: &SimReport) {
    let tenant = report.entra_tenant.as_ref().unwrap();
    let twin_ids: HashSet<&str> = report
        .benign_twins
        .iter()
        .flat_map(|t| t.event_ids.iter().map(String::as_str))
        .collect();
    let attack_ids: HashSet<&str> = report
        .scenarios
        .iter()
        .flat_map(|s| s.event_ids.iter().map(String::as_str))
        .collect();
    for (c, recs) in e {
        for r in recs {
            let id = r["properties"]["id"].as_str().unwrap();
            if attack_ids.contains(id) {
                continue;
            }
            let p = &r["properties"];
            let ip = r["callerIpAddress"].as_str().unwrap();
            assert!(!is_attack_ip(ip), "{c}: {r}");
            let upn = p["userPrincipalName"].as_str().unwrap_or_default();
            assert!(!tenant.break_glass_accounts.iter().any(|b| b == upn), "{r}");
            if let Some(app) = p["clientAppUsed"].as_str() {
                assert!(
                    matches!(app, "Browser" | "Mobile Apps and Desktop clients"),
                    "{r}"
                );
            }
            if let Some(risk) = p["riskLevelDuringSignIn"].as_str() {
                assert!(matches!(risk, "none" | "low"), "{r}");
            }
            let activity = p["activityDisplayName"].as_str().unwrap_or_default();
            let watched = [
                "Add member to role",
                "Consent to application",
                "Add service principal credentials",
                "Update conditional access policy",
                "Delete conditional access policy",
                "User registered security info",
                "Invite external user",
            ];
            if watched.contains(&activity) {
                assert!(twin_ids.contains(id), "{activity} in the background: {r}");
            }
        }
    }
}

fn entra_time(r: &Value) -> DateTime<Utc> {
    time(r["time"].as_str().unwrap())
}

#[test]
fn entra_scenarios_and_twins_are_what_their_ground_truth_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 17, true);
    o.days = 4;
    o.principals = 20;
    let report = simulate(&o).unwrap();
    let tenant = report.entra_tenant.clone().unwrap();
    let e = entra(dir.path(), &tenant.tenant_id);
    let ids = by_id(&e);
    quiet_background(&e, &report);
    let entra_sc: Vec<&Scenario> = report
        .scenarios
        .iter()
        .filter(|s| s.id.starts_with("entra-"))
        .collect();
    assert_eq!(entra_sc.len(), ENTRA_FAMILIES.len());
    for f in ENTRA_FAMILIES {
        assert!(
            entra_sc.iter().any(|s| s.families == [f.to_string()]),
            "{f}"
        );
    }
    for s in &entra_sc {
        assert_eq!(s.account, tenant.tenant_id);
        let t = report
            .benign_twins
            .iter()
            .find(|t| Some(&t.id) == s.twin.as_ref())
            .unwrap();
        assert_eq!(t.twin_of, s.id);
        assert_eq!(Some(t.log), s.log);
        working_hours(t);
        let container = match s.log {
            Some(AzureLog::Signin) => "insights-logs-signinlogs",
            Some(AzureLog::Audit) => "insights-logs-auditlogs",
            other => panic!("{}: log {other:?}", s.id),
        };
        let recs = |ev: &[String]| -> Vec<&Value> {
            ev.iter()
                .map(|id| {
                    let (c, r) = ids.get(id).unwrap_or_else(|| panic!("{id} missing"));
                    assert_eq!(*c, container, "{id}");
                    *r
                })
                .collect()
        };
        let attack = recs(&s.event_ids);
        let benign = recs(&t.event_ids);
        assert_eq!(attack.len(), s.event_count);
        assert_eq!(benign.len(), t.event_count);
        assert!(!benign.is_empty());
        for r in &benign {
            assert!(
                !is_attack_ip(r["callerIpAddress"].as_str().unwrap()),
                "{}",
                t.id
            );
        }
        for c in &s.api_calls {
            assert!(attack.iter().any(|r| r["operationName"] == *c), "{c}");
        }
        check_entra_family(
            &s.families[0],
            s,
            &attack,
            &benign,
            &e,
            &tenant.break_glass_accounts,
        );
    }
}

fn failures_from(recs: &[&Value], code: &str) -> Vec<(DateTime<Utc>, String)> {
    recs.iter()
        .filter(|r| r["resultType"] == code)
        .map(|r| {
            (
                entra_time(r),
                r["properties"]["userPrincipalName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

fn span_minutes(v: &[(DateTime<Utc>, String)]) -> i64 {
    let lo = v.iter().map(|x| x.0).min().unwrap();
    let hi = v.iter().map(|x| x.0).max().unwrap();
    (hi - lo).num_minutes()
}

/// The countries `upn` signed in from in the background before `before`.
fn countries_before(
    e: &Entra,
    upn: &str,
    before: DateTime<Utc>,
    skip: &[&Value],
) -> BTreeSet<String> {
    let skip: HashSet<&str> = skip
        .iter()
        .map(|r| r["properties"]["id"].as_str().unwrap())
        .collect();
    signins(e)
        .chain(e["insights-logs-noninteractiveusersigninlogs"].iter())
        .filter(|r| r["properties"]["userPrincipalName"] == upn && entra_time(r) < before)
        .filter(|r| !skip.contains(r["properties"]["id"].as_str().unwrap()))
        .map(|r| r["location"].as_str().unwrap().to_string())
        .collect()
}

fn last_ok(recs: &[&Value]) -> bool {
    recs.last().is_some_and(|r| r["resultType"] == "0")
}

fn check_entra_family(
    family: &str,
    s: &Scenario,
    attack: &[&Value],
    benign: &[&Value],
    e: &Entra,
    break_glass: &[String],
) {
    let modified = |recs: &[&Value], name: &str| -> Vec<String> {
        recs.iter()
            .flat_map(|r| {
                r["properties"]["targetResources"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .flat_map(|t| {
                t["modifiedProperties"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|m| m["displayName"] == name)
            .map(|m| m["newValue"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    match family {
        "entra.password_spray" => {
            let f = failures_from(attack, "50126");
            let users: BTreeSet<&str> = f.iter().map(|x| x.1.as_str()).collect();
            assert!(users.len() >= 10 && span_minutes(&f) < 30, "{users:?}");
            assert!(last_ok(attack));
            assert!(attack
                .iter()
                .all(|r| r["callerIpAddress"] == s.source_ip.as_str()));
            let f = failures_from(benign, "50126");
            let users: BTreeSet<&str> = f.iter().map(|x| x.1.as_str()).collect();
            assert!(!users.is_empty() && users.len() < 10);
            let ips: BTreeSet<&str> = benign
                .iter()
                .map(|r| r["callerIpAddress"].as_str().unwrap())
                .collect();
            assert_eq!(ips.len(), 1, "the twin's failures share one office address");
        }
        "entra.brute_force" => {
            let f: Vec<_> = attack.iter().filter(|r| r["resultType"] != "0").collect();
            assert!(f.len() >= 20);
            assert!(failures_from(attack, "50126").len() >= 20);
            assert!(span_minutes(&failures_from(attack, "50126")) < 30);
            assert!(last_ok(attack));
            assert!(attack
                .iter()
                .all(|r| r["properties"]["userPrincipalName"] == s.principal.as_str()));
            assert_eq!(failures_from(benign, "50126").len(), 2);
            assert!(last_ok(benign));
        }
        "entra.mfa_fatigue" => {
            let f = failures_from(attack, "500121");
            assert!(f.len() >= 5 && span_minutes(&f) < 10);
            assert!(last_ok(attack));
            assert!(failures_from(benign, "500121").len() < 5);
        }
        "entra.legacy_auth" => {
            let legacy = [
                "IMAP4",
                "POP3",
                "Authenticated SMTP",
                "Other clients",
                "Exchange ActiveSync",
            ];
            assert!(attack
                .iter()
                .all(|r| legacy.contains(&r["properties"]["clientAppUsed"].as_str().unwrap())));
            assert!(benign
                .iter()
                .all(|r| !legacy.contains(&r["properties"]["clientAppUsed"].as_str().unwrap())));
        }
        "entra.new_country" => {
            let t0 = entra_time(attack[0]);
            let seen = countries_before(e, &s.principal, t0, attack);
            assert!(
                !seen.is_empty(),
                "{} has no history before {t0}",
                s.principal
            );
            assert!(
                !seen.contains(attack[0]["location"].as_str().unwrap()),
                "{seen:?}"
            );
            let b = benign[0];
            let upn = b["properties"]["userPrincipalName"].as_str().unwrap();
            let seen = countries_before(e, upn, entra_time(b), benign);
            assert!(seen.is_empty() || seen.contains(b["location"].as_str().unwrap()));
        }
        "entra.risky_signin" => {
            assert!(attack
                .iter()
                .any(|r| r["properties"]["riskLevelDuringSignIn"] == "high"));
            assert!(benign.iter().all(|r| matches!(
                r["properties"]["riskLevelDuringSignIn"].as_str(),
                Some("none" | "low")
            )));
        }
        "entra.break_glass" => {
            assert!(break_glass.contains(&s.principal));
            assert!(benign.iter().all(|r| !break_glass
                .iter()
                .any(|b| r["properties"]["userPrincipalName"] == b.as_str())));
        }
        "entra.app_credentials_added" => {
            assert!(attack
                .iter()
                .any(|r| r["operationName"] == "Add service principal credentials"));
            let keys = modified(attack, "KeyDescription");
            assert!(
                keys.iter().any(|k| k.matches("KeyIdentifier").count() == 2),
                "{keys:?}"
            );
            let keys = modified(benign, "KeyDescription");
            assert!(
                keys.iter().all(|k| k.matches("KeyIdentifier").count() == 1),
                "{keys:?}"
            );
        }
        "entra.consent_granted" => {
            assert!(modified(attack, "ConsentContext.IsAdminConsent")
                .contains(&"\"False\"".to_string()));
            assert!(modified(attack, "ConsentAction.Permissions")
                .iter()
                .any(|p| p.contains("Mail.Read")));
            assert!(
                modified(benign, "ConsentContext.IsAdminConsent").contains(&"\"True\"".to_string())
            );
        }
        "entra.privileged_role_member_added" => {
            assert!(modified(attack, "Role.DisplayName")
                .contains(&"\"Global Administrator\"".to_string()));
            assert!(!modified(benign, "Role.DisplayName")
                .contains(&"\"Global Administrator\"".to_string()));
            assert!(!s.targets.is_empty());
        }
        "entra.conditional_access_changed" => {
            let states = |recs: &[&Value]| -> Vec<String> {
                modified(recs, "ConditionalAccessPolicy")
                    .iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| {
                        serde_json::from_str::<Value>(v).unwrap()["state"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect()
            };
            assert!(states(attack).contains(&"disabled".to_string()));
            assert!(attack
                .iter()
                .any(|r| r["operationName"] == "Delete conditional access policy"));
            assert_eq!(states(benign), ["enabled"]);
        }
        "entra.auth_method_changed" => {
            assert!(attack
                .iter()
                .any(|r| r["operationName"] == "User registered security info"));
            assert!(benign
                .iter()
                .any(|r| r["operationName"] == "Reset user password"));
        }
        "entra.guest_invited" => {
            assert!(attack
                .iter()
                .any(|r| r["operationName"] == "Invite external user"));
            assert!(benign
                .iter()
                .any(|r| r["operationName"] == "Invite external user"));
            assert!(!s.targets.is_empty());
        }
        other => panic!("unchecked family {other}"),
    }
}

#[test]
fn attack_free_month_keeps_background_and_twins_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 5, false);
    o.days = 7;
    o.principals = 20;
    let started = std::time::Instant::now();
    let report = simulate(&o).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(secs < 60.0, "{secs}s");
    assert!(report.scenarios.is_empty());
    assert_eq!(
        report.benign_twins.len(),
        24 + ENTRA_FAMILIES.len(),
        "{:?}",
        report
            .benign_twins
            .iter()
            .map(|t| &t.id)
            .collect::<Vec<_>>()
    );
    let from_file: Vec<BenignTwin> =
        serde_json::from_slice(&std::fs::read(dir.path().join("benign-twins.manifest")).unwrap())
            .unwrap();
    assert_eq!(from_file, report.benign_twins);
    let act = activity(dir.path());
    let diag = by_correlation(&act.diag);
    for t in report
        .benign_twins
        .iter()
        .filter(|t| t.log == AzureLog::Activity)
    {
        for id in &t.event_ids {
            assert!(diag.contains_key(id), "{}: {id}", t.id);
        }
    }
    for r in act.diag.iter().chain(&act.rest) {
        let s = r.to_string();
        assert!(
            !s.contains("198.51.100.") && !s.contains("203.0.113."),
            "{s}"
        );
        assert!(
            !s.contains("ELEVATEACCESS") && !s.contains("elevateAccess"),
            "{s}"
        );
    }
    let tenant = report.entra_tenant.clone().unwrap();
    let e = entra(dir.path(), &tenant.tenant_id);
    quiet_background(&e, &report);
    let ids = by_id(&e);
    for t in report
        .benign_twins
        .iter()
        .filter(|t| t.log != AzureLog::Activity)
    {
        for id in &t.event_ids {
            assert!(ids.contains_key(id), "{}: {id}", t.id);
        }
    }
    // No spray, brute force or fatigue pattern in a week of background.
    let mut fails: HashMap<(String, String), Vec<DateTime<Utc>>> = HashMap::new();
    for r in signins(&e) {
        let code = r["resultType"].as_str().unwrap();
        if code == "50126" || code == "500121" {
            let key = (
                code.to_string(),
                r["callerIpAddress"].as_str().unwrap().to_string(),
            );
            fails.entry(key).or_default().push(entra_time(r));
        }
    }
    for ((code, ip), mut ts) in fails {
        ts.sort();
        for w in ts.windows(10) {
            assert!((w[9] - w[0]).num_minutes() > 30, "{code} burst from {ip}");
        }
    }
}
