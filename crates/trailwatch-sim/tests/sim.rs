use flate2::read::GzDecoder;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use trailwatch_sim::{simulate, Providers, SimOptions, SimReport};

fn opts(dir: &Path, seed: u64, attacks: bool) -> SimOptions {
    let mut o = SimOptions::new(dir);
    o.days = 2;
    o.events_per_day = 2_000;
    o.seed = seed;
    o.attacks = attacks;
    o.providers = Providers::Both;
    o
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
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

fn gunzip(p: &Path) -> Vec<u8> {
    let mut s = Vec::new();
    GzDecoder::new(std::fs::File::open(p).unwrap())
        .read_to_end(&mut s)
        .unwrap();
    s
}

fn aws_records(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for p in files(&dir.join("AWSLogs")) {
        let v: Value = serde_json::from_slice(&gunzip(&p)).unwrap();
        for r in v["Records"].as_array().unwrap() {
            out.push((p.clone(), r.clone()));
        }
    }
    out
}

fn run(dir: &Path, seed: u64, attacks: bool) -> SimReport {
    simulate(&opts(dir, seed, attacks)).unwrap()
}

#[test]
fn deterministic_per_seed() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let ra = run(a.path(), 7, true);
    let rb = run(b.path(), 7, true);
    assert_eq!(ra, rb);
    let fa = files(a.path());
    let fb = files(b.path());
    let rel = |d: &Path, fs: &[PathBuf]| {
        fs.iter()
            .map(|f| f.strip_prefix(d).unwrap().to_path_buf())
            .collect::<Vec<_>>()
    };
    assert_eq!(rel(a.path(), &fa), rel(b.path(), &fb));
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{x:?} differs"
        );
    }
    // One thread gives the same bytes as two.
    let mut o = opts(c.path(), 7, true);
    o.threads = 1;
    simulate(&o).unwrap();
    let fc = files(c.path());
    assert_eq!(rel(a.path(), &fa), rel(c.path(), &fc));
    for (x, y) in fa.iter().zip(&fc) {
        assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
    }
    // Another seed differs.
    let d = tempfile::tempdir().unwrap();
    run(d.path(), 8, true);
    assert_ne!(rel(a.path(), &fa), rel(d.path(), &files(d.path())));
}

fn check_aws_name(p: &Path, root: &Path) -> (String, String, i64) {
    let rel: Vec<String> = p
        .strip_prefix(root)
        .unwrap()
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    assert_eq!(rel.len(), 8, "{rel:?}");
    assert_eq!(rel[0], "AWSLogs");
    let acct = &rel[1];
    assert!(acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(rel[2], "CloudTrail");
    let region = &rel[3];
    let (y, m, d) = (&rel[4], &rel[5], &rel[6]);
    assert!(y.len() == 4 && m.len() == 2 && d.len() == 2);
    let name = &rel[7];
    let prefix = format!("{acct}_CloudTrail_{region}_{y}{m}{d}T");
    assert!(name.starts_with(&prefix), "{name}");
    let rest = &name[prefix.len()..];
    // HHmmZ_<16 alnum>.json.gz
    assert_eq!(rest.len(), 5 + 1 + 16 + 8, "{name}");
    assert_eq!(&rest[4..6], "Z_");
    assert!(rest[6..22].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(rest.ends_with(".json.gz"));
    let hh: i64 = rest[0..2].parse().unwrap();
    let mm: i64 = rest[2..4].parse().unwrap();
    assert_eq!(mm % 5, 0);
    let date =
        chrono::NaiveDate::from_ymd_opt(y.parse().unwrap(), m.parse().unwrap(), d.parse().unwrap())
            .unwrap();
    let slot_start = date
        .and_hms_opt(hh as u32, mm as u32, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    (acct.clone(), region.clone(), slot_start)
}

#[test]
fn aws_layout_content_and_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), 3, true);
    assert!(report.aws.records > 3_000, "{:?}", report.aws);
    let mut n = 0u64;
    let mut ids = HashSet::new();
    let mut by_id: HashMap<String, Value> = HashMap::new();
    let mut sizes = 0usize;
    for p in files(&dir.path().join("AWSLogs")) {
        let (acct, region, slot) = check_aws_name(&p, dir.path());
        let raw = gunzip(&p);
        let v: Value = serde_json::from_slice(&raw).unwrap();
        let recs = v["Records"].as_array().expect("Records array");
        assert!(!recs.is_empty());
        let mut last = String::new();
        for r in recs {
            let t = r["eventTime"].as_str().unwrap().to_string();
            assert!(t >= last, "unsorted in {p:?}");
            let ts = chrono::DateTime::parse_from_rfc3339(&t)
                .unwrap()
                .timestamp();
            assert!(ts >= slot && ts < slot + 300, "{t} outside slot of {p:?}");
            last = t;
            assert_eq!(r["awsRegion"], region.as_str());
            assert_eq!(r["recipientAccountId"], acct.as_str());
            for f in [
                "eventVersion",
                "userIdentity",
                "eventSource",
                "eventName",
                "sourceIPAddress",
                "eventType",
                "eventCategory",
            ] {
                assert!(!r[f].is_null(), "missing {f}: {r}");
            }
            if matches!(r["eventSource"].as_str(), Some("iam.amazonaws.com")) {
                assert_eq!(region, "us-east-1");
            }
            let id = r["eventID"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "duplicate eventID {id}");
            by_id.insert(id, r.clone());
            n += 1;
        }
        sizes += raw.len();
    }
    assert_eq!(n, report.aws.records);
    assert_eq!(sizes as u64, report.aws.bytes_uncompressed);
    let avg = sizes as f64 / n as f64;
    assert!((700.0..2600.0).contains(&avg), "average record size {avg}");

    // Ground truth: every scenario's events exist with the named calls.
    let aws: Vec<_> = report
        .scenarios
        .iter()
        .filter(|s| s.provider == trailwatch_sim::Provider::Aws)
        .collect();
    assert_eq!(aws.len(), 12);
    let from_file: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("scenarios.manifest")).unwrap())
            .unwrap();
    assert_eq!(from_file.len(), report.scenarios.len());
    for s in &aws {
        assert_eq!(s.event_ids.len(), s.event_count);
        let mut names = Vec::new();
        for id in &s.event_ids {
            let r = by_id
                .get(id)
                .unwrap_or_else(|| panic!("{}: event {id} missing", s.name));
            names.push(r["eventName"].as_str().unwrap().to_string());
            if r["eventName"] != "AssumeRole" {
                assert_eq!(r["sourceIPAddress"], s.source_ip.as_str());
            }
            assert!(
                s.source_ip.starts_with("203.0.113.") || s.source_ip.starts_with("198.51.100.")
            );
        }
        for c in &s.api_calls {
            assert!(names.contains(c), "{}: {c} not in events", s.name);
        }
    }
    let calls = |n: &str| aws.iter().find(|s| s.name == n).unwrap().api_calls.clone();
    assert!(calls("iam_privilege_escalation_persistence")
        .iter()
        .any(|c| c == "AttachUserPolicy"));
    assert!(calls("cloudtrail_defense_evasion")
        .iter()
        .any(|c| c == "StopLogging"));
    assert!(calls("network_exposure")
        .iter()
        .any(|c| c == "AuthorizeSecurityGroupIngress"));
    assert!(calls("snapshot_ami_exfiltration")
        .iter()
        .any(|c| c == "ModifySnapshotAttribute"));
    assert!(calls("s3_ransomware").iter().any(|c| c == "DeleteObjects"));
    assert!(calls("role_trust_backdoor")
        .iter()
        .any(|c| c == "UpdateAssumeRolePolicy"));
    let gpu = aws
        .iter()
        .find(|s| s.name == "gpu_instances_unusual_region")
        .unwrap();
    assert_eq!(gpu.region, "ap-northeast-3");
    let login = aws
        .iter()
        .find(|s| s.name == "console_login_without_mfa")
        .unwrap();
    let outcomes: Vec<&str> = login
        .event_ids
        .iter()
        .filter_map(|id| by_id[id]["responseElements"]["ConsoleLogin"].as_str())
        .collect();
    assert!(outcomes.first() == Some(&"Failure") && outcomes.contains(&"Success"));
}

fn is_attack_like(r: &Value) -> Option<&'static str> {
    let s = r.to_string();
    if s.contains("AdministratorAccess") {
        return Some("AdministratorAccess");
    }
    if r["eventName"] == "StopLogging" || r["eventName"] == "DeleteTrail" {
        return Some("StopLogging");
    }
    if r["eventName"] == "AuthorizeSecurityGroupIngress" && s.contains("0.0.0.0/0") {
        return Some("0.0.0.0/0 ingress");
    }
    if r["userIdentity"]["type"] == "Root" {
        return Some("root");
    }
    if r["eventName"] == "ConsoleLogin"
        && r["responseElements"]["ConsoleLogin"] == "Success"
        && r["additionalEventData"]["MFAUsed"] != "Yes"
    {
        return Some("no-MFA login");
    }
    let ip = r["sourceIPAddress"].as_str().unwrap_or_default();
    if ip.starts_with("203.0.113.") || ip.starts_with("198.51.100.") {
        return Some("attacker IP");
    }
    None
}

#[test]
fn attack_free_background_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), 5, false);
    assert!(report.scenarios.is_empty());
    let recs = aws_records(dir.path());
    assert_eq!(recs.len() as u64, report.aws.records);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (p, r) in &recs {
        assert_eq!(is_attack_like(r), None, "{p:?}: {r}");
        *kinds
            .entry(r["userIdentity"]["type"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for k in ["IAMUser", "AssumedRole", "AWSService"] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 50, "{kinds:?}");
    }
    assert!(recs
        .iter()
        .any(|(_, r)| r["eventCategory"] == "Data" && r["managementEvent"] == false));
    assert!(recs.iter().any(|(_, r)| r["eventName"] == "ConsoleLogin"));
    for p in files(&dir.path().join("insights-activity-logs")) {
        let text = std::fs::read_to_string(&p).unwrap();
        for line in text.lines() {
            assert!(
                !line.contains("0.0.0.0/0")
                    && !line.contains("ROLEASSIGNMENTS/WRITE")
                    && !line.contains("DIAGNOSTICSETTINGS/DELETE")
            );
        }
    }
    // With attacks, the attack markers do appear.
    let dir2 = tempfile::tempdir().unwrap();
    run(dir2.path(), 5, true);
    let found: HashSet<&str> = aws_records(dir2.path())
        .iter()
        .filter_map(|(_, r)| is_attack_like(r))
        .collect();
    for k in [
        "AdministratorAccess",
        "StopLogging",
        "0.0.0.0/0 ingress",
        "root",
        "no-MFA login",
        "attacker IP",
    ] {
        assert!(found.contains(k), "{k} missing from attack run");
    }
}

#[test]
fn azure_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 11, true);
    o.providers = Providers::Azure;
    let report = simulate(&o).unwrap();
    assert_eq!(report.aws.records, 0);
    assert!(!dir.path().join("AWSLogs").exists());
    let mut n = 0u64;
    let mut correlations = HashSet::new();
    let mut ops = HashSet::new();
    let blobs = files(&dir.path().join("insights-activity-logs"));
    assert_eq!(blobs.len() as u64, report.azure.files);
    for p in &blobs {
        let rel: Vec<String> = p
            .strip_prefix(dir.path())
            .unwrap()
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        assert_eq!(rel[0], "insights-activity-logs");
        assert_eq!(rel[1], "resourceId=");
        assert_eq!(rel[2], "SUBSCRIPTIONS");
        assert_eq!(rel[3], rel[3].to_uppercase());
        assert!(
            rel[4].starts_with("y=")
                && rel[5].starts_with("m=")
                && rel[6].starts_with("d=")
                && rel[7].starts_with("h=")
        );
        assert_eq!(rel[8], "m=00");
        assert_eq!(rel[9], "PT1H.json");
        let hour = format!("T{}:", &rel[7][2..]);
        for line in std::fs::read_to_string(p).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            for f in [
                "time",
                "resourceId",
                "operationName",
                "category",
                "resultType",
                "resultSignature",
                "durationMs",
                "callerIpAddress",
                "correlationId",
                "identity",
                "level",
                "location",
                "properties",
            ] {
                assert!(!v[f].is_null(), "missing {f} in {line}");
            }
            assert!(v["time"].as_str().unwrap().contains(&hour));
            let op = v["operationName"].as_str().unwrap();
            assert_eq!(op, op.to_uppercase());
            assert!(v["identity"]["authorization"]["evidence"]["principalType"].is_string());
            assert!(
                v["properties"]["eventCategory"].is_string()
                    && v["properties"]["hierarchy"].is_string()
            );
            correlations.insert(v["correlationId"].as_str().unwrap().to_string());
            ops.insert(op.to_string());
            n += 1;
        }
    }
    assert_eq!(n, report.azure.records);
    let rest: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("azure-activity-rest.json")).unwrap(),
    )
    .unwrap();
    let value = rest["value"].as_array().unwrap();
    assert_eq!(value.len() as u64, report.azure_rest_records);
    let mut rest_corr = HashSet::new();
    for r in value {
        for f in [
            "caller",
            "eventDataId",
            "eventTimestamp",
            "subscriptionId",
            "resourceId",
            "claims",
            "authorization",
        ] {
            assert!(!r[f].is_null(), "missing {f}");
        }
        assert!(r["operationName"]["value"].is_string() && r["category"]["value"].is_string());
        assert!(r["status"]["value"].is_string() && r["eventName"]["value"].is_string());
        assert!(r["httpRequest"]["clientIpAddress"].is_string());
        rest_corr.insert(r["correlationId"].as_str().unwrap().to_string());
    }
    let az: Vec<_> = report
        .scenarios
        .iter()
        .filter(|s| s.provider == trailwatch_sim::Provider::Azure)
        .collect();
    assert_eq!(az.len(), 7);
    for s in &az {
        for id in &s.event_ids {
            assert!(
                correlations.contains(id),
                "{}: {id} not in PT1H blobs",
                s.name
            );
            assert!(
                rest_corr.contains(id),
                "{}: {id} not in REST export",
                s.name
            );
        }
        for c in &s.api_calls {
            assert!(ops.contains(&c.to_uppercase()), "{c}");
        }
    }
    assert!(ops.contains("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"));
    assert!(ops.contains("MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"));
}

#[test]
fn rejects_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), 1, true);
    o.days = 0;
    assert!(simulate(&o).is_err());
    assert!("gcp".parse::<Providers>().is_err());
    assert_eq!("AWS".parse::<Providers>().unwrap(), Providers::Aws);
}
