//! Alerts a security team can trust on the real incident lab: a short default hunt, no AWS
//! service taken for a suspect, severity by what the calls did, and the story on top.

mod common;

use common::{datasets, run, s, strs};
use serde_json::Value;

fn lab() -> String {
    datasets()
        .join("aws/sans-s3-ransomware")
        .display()
        .to_string()
}

fn rank(a: &Value) -> usize {
    ["informational", "low", "medium", "high", "critical"]
        .iter()
        .position(|x| *x == s(a, "severity"))
        .unwrap_or_else(|| panic!("unknown severity in {a}"))
}

/// jmerckle's self-granted `{"Action":"*","Resource":"*"}` inline policy, the access key he
/// then created for himself, and that key's first call.
const PUT_USER_POLICY: &str = "28072de0-2382-4b53-83bc-08f6d6b75381";
const CREATE_ACCESS_KEY: &str = "a98b8878-ed1a-4e1e-9e0e-8276efd4d786";
const NEW_KEY_FIRST_USE: &str = "2a5b604e-90eb-4837-9222-3aa4906a02dc";

#[test]
fn the_default_hunt_on_the_sans_lab_is_short_and_the_story_is_the_most_severe() {
    let out = run(&["hunt", &lab(), "--format", "jsonl"]);
    out.assert_code(0);
    let alerts = out.alerts();
    assert!(
        alerts.len() <= 20,
        "{} alerts at low and above:\n{}",
        alerts.len(),
        alerts
            .iter()
            .map(|a| format!(
                "{} {} {}",
                s(a, "severity"),
                s(a, "title"),
                s(a, "principal")
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for a in &alerts {
        let p = s(a, "principal");
        assert!(
            !p.contains("amazonaws.com") && !p.is_empty(),
            "an AWS service principal is a suspect: {a}"
        );
    }
    let most = alerts.iter().map(rank).max().expect("alerts");
    assert_eq!(most, 4, "the most severe alert is critical");
    let holds_story = |a: &&Value| {
        let ids = strs(a, "event_ids");
        [PUT_USER_POLICY, CREATE_ACCESS_KEY, NEW_KEY_FIRST_USE]
            .iter()
            .all(|id| ids.iter().any(|x| x == id))
    };
    let top = alerts
        .iter()
        .filter(|a| rank(a) == 4)
        .find(holds_story)
        .unwrap_or_else(|| {
            panic!("no critical alert holds the grant, the key and its use: {alerts:?}")
        });
    // The self-grant itself is critical, and says which field made it so.
    let grant = alerts
        .iter()
        .find(|a| {
            s(a, "rule_id") != s(top, "rule_id")
                && strs(a, "event_ids").iter().any(|x| x == PUT_USER_POLICY)
        })
        .expect("the policy change has its own alert");
    assert_eq!(s(grant, "severity"), "critical", "{grant}");
    assert!(
        s(grant, "description")
            .contains("requestParameters.policyDocument allows every action on every resource"),
        "{grant}"
    );
    assert!(
        out.summary_line().contains("chain alerts"),
        "{}",
        out.summary_line()
    );
}

/// A correlation over the log-delivery service's denied writes (a rule of the user's, loaded
/// with --rules): quiet by default, counted with the tag or with
/// `[detection] include_service_principals`, and then one alert per quiet-separated run of its
/// five-minute windows, not one per window.
#[test]
fn service_principals_count_only_when_asked_and_correlations_group_into_incidents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    let base = "title: Denied PutObject\nid: 5b0e8c59-3f0a-4b8e-9d55-7f7d1f0e0a01\nname: denied_put\nstatus: test\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  selection: {eventName: PutObject, errorCode: AccessDenied}\n  condition: selection\nlevel: informational\n";
    std::fs::write(rules.join("base.yml"), base).expect("write");
    let corr = |tags: &str| {
        format!("title: Denied PutObject Burst\nid: 5b0e8c59-3f0a-4b8e-9d55-7f7d1f0e0a02\nstatus: test\n{tags}correlation:\n  type: event_count\n  rules: [denied_put]\n  group-by: [requestParameters.bucketName]\n  timespan: 5m\n  condition: {{gte: 2}}\nlevel: medium\n")
    };
    let lab = lab();
    let hunt = |extra: &[&str]| {
        let mut args = vec![
            "hunt",
            &lab,
            "--no-builtin",
            "--format",
            "jsonl",
            "--min-level",
            "medium",
        ];
        let r = rules.display().to_string();
        args.extend(["--rules", r.as_str()]);
        args.extend(extra);
        let out = run(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        out.assert_code(0);
        out.alerts()
            .into_iter()
            .filter(|a| s(a, "title") == "Denied PutObject Burst")
            .collect::<Vec<Value>>()
    };
    std::fs::write(rules.join("corr.yml"), corr("")).expect("write");
    assert!(
        hunt(&[]).is_empty(),
        "the log-delivery service is not a suspect by default"
    );

    let cfg = dir.path().join("trailwatch.toml");
    std::fs::write(&cfg, "[detection]\ninclude_service_principals = true\n").expect("write");
    let cfg = cfg.display().to_string();
    let included = hunt(&["--config", &cfg]);
    assert!(!included.is_empty());
    // Days of denied deliveries every few minutes: a handful of incidents, not thousands of
    // five-minute windows, and together they still count every denied write.
    assert!(included.len() < 40, "{} alerts", included.len());
    let counted: u64 = included
        .iter()
        .map(|a| a["count"].as_u64().unwrap_or(0))
        .sum();
    assert!(counted >= 9_000, "{counted} events counted");

    std::fs::write(
        rules.join("corr.yml"),
        corr("tags: [trailwatch.service-principals]\n"),
    )
    .expect("write");
    let tagged = hunt(&[]);
    assert_eq!(
        tagged.len(),
        included.len(),
        "the tag admits the services for that rule"
    );
}

#[test]
fn chains_can_be_left_out() {
    let plain = run(&["hunt", &lab(), "--format", "jsonl", "--no-chains"]);
    plain.assert_code(0);
    assert!(plain
        .alerts()
        .iter()
        .all(|a| !s(a, "rule_id").starts_with("tw-chain-")));
    assert!(!plain.summary_line().contains("chain alerts"));
}

/// The lab as Microsoft Sentinel's portal exports the `AWSCloudTrail` table: one CSV row a
/// record, `TimeGenerated [UTC]` as `M/D/YYYY, h:mm:ss.fff AM`, identity flattened into
/// columns, dynamic columns as JSON text, columns Sentinel adds of its own, in its own order.
fn sentinel_csv(records: &[Value]) -> Vec<u8> {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let at = |r: &Value, path: &[&str]| {
        let mut v = Some(r);
        for p in path {
            v = v.and_then(|x| x.get(p));
        }
        text(v)
    };
    let columns: &[(&str, &[&str])] = &[
        ("TenantId", &[]),
        ("SourceSystem", &[]),
        ("TimeGenerated [UTC]", &["eventTime"]),
        ("EventVersion", &["eventVersion"]),
        ("UserIdentityType", &["userIdentity", "type"]),
        ("UserIdentityPrincipalid", &["userIdentity", "principalId"]),
        ("UserIdentityArn", &["userIdentity", "arn"]),
        ("UserIdentityAccountId", &["userIdentity", "accountId"]),
        ("UserIdentityAccessKeyId", &["userIdentity", "accessKeyId"]),
        ("UserIdentityUserName", &["userIdentity", "userName"]),
        ("UserIdentityInvokedBy", &["userIdentity", "invokedBy"]),
        (
            "SessionMfaAuthenticated",
            &[
                "userIdentity",
                "sessionContext",
                "attributes",
                "mfaAuthenticated",
            ],
        ),
        (
            "SessionCreationDate",
            &[
                "userIdentity",
                "sessionContext",
                "attributes",
                "creationDate",
            ],
        ),
        (
            "SessionIssuerType",
            &["userIdentity", "sessionContext", "sessionIssuer", "type"],
        ),
        (
            "SessionIssuerPrincipalId",
            &[
                "userIdentity",
                "sessionContext",
                "sessionIssuer",
                "principalId",
            ],
        ),
        (
            "SessionIssuerArn",
            &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
        ),
        (
            "SessionIssuerAccountId",
            &[
                "userIdentity",
                "sessionContext",
                "sessionIssuer",
                "accountId",
            ],
        ),
        (
            "SessionIssuerUserName",
            &[
                "userIdentity",
                "sessionContext",
                "sessionIssuer",
                "userName",
            ],
        ),
        ("EventSource", &["eventSource"]),
        ("EventName", &["eventName"]),
        ("AWSRegion", &["awsRegion"]),
        ("SourceIpAddress", &["sourceIPAddress"]),
        ("UserAgent", &["userAgent"]),
        ("ErrorCode", &["errorCode"]),
        ("ErrorMessage", &["errorMessage"]),
        ("RequestParameters", &["requestParameters"]),
        ("ResponseElements", &["responseElements"]),
        ("AdditionalEventData", &["additionalEventData"]),
        ("AwsRequestId_", &["requestID"]),
        ("AwsEventId", &["eventID"]),
        ("Resources", &["resources"]),
        ("EventTypeName", &["eventType"]),
        ("ReadOnly", &["readOnly"]),
        ("ManagementEvent", &["managementEvent"]),
        ("RecipientAccountId", &["recipientAccountId"]),
        ("Category", &["eventCategory"]),
        ("TlsVersion", &["tlsDetails", "tlsVersion"]),
        ("CipherSuite", &["tlsDetails", "cipherSuite"]),
        (
            "ClientProvidedHostHeader",
            &["tlsDetails", "clientProvidedHostHeader"],
        ),
        ("Type", &[]),
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns.iter().map(|c| c.0)).unwrap();
    for r in records {
        let row = columns.iter().map(|(name, path)| match *name {
            "TenantId" => "0f0e0d0c-0000-4000-8000-000000000001".to_string(),
            "SourceSystem" => "OpsManager".to_string(),
            "Type" => "AWSCloudTrail".to_string(),
            "TimeGenerated [UTC]" => {
                let t = chrono::DateTime::parse_from_rfc3339(&at(r, path)).unwrap();
                t.format("%-m/%-d/%Y, %-I:%M:%S%.3f %p").to_string()
            }
            _ if path.is_empty() => String::new(),
            _ => at(r, path),
        });
        w.write_record(row).unwrap();
    }
    w.into_inner().unwrap()
}

fn lab_records() -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(lab())];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let mut text = String::new();
        let f = std::fs::File::open(&p).unwrap();
        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(f), &mut text)
            .unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        out.extend(doc["Records"].as_array().unwrap().iter().cloned());
    }
    out
}

/// What an alert says, without what an export cannot keep (its wording of resources).
fn verdict(a: &Value) -> (String, String, String, Vec<String>) {
    (
        s(a, "rule_id").to_string(),
        s(a, "severity").to_string(),
        s(a, "principal").to_string(),
        strs(a, "event_ids"),
    )
}

#[test]
fn the_lab_exported_from_sentinel_as_csv_hunts_to_the_same_alerts() {
    let records = lab_records();
    assert!(records.len() > 3000, "{} records", records.len());
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("AWSCloudTrail-export.csv");
    std::fs::write(&csv_path, sentinel_csv(&records)).unwrap();
    let from_s3 = run(&["hunt", &lab(), "--format", "jsonl"]);
    from_s3.assert_code(0);
    let from_csv = run(&["hunt", &csv_path.display().to_string(), "--format", "jsonl"]);
    from_csv.assert_code(0);
    assert_eq!(
        from_csv.records_read(),
        records.len() as u64,
        "{}",
        from_csv.context()
    );
    let mut want: Vec<_> = from_s3.alerts().iter().map(verdict).collect();
    let mut got: Vec<_> = from_csv.alerts().iter().map(verdict).collect();
    want.sort();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want, "{}", from_csv.context());
}

#[test]
fn a_sentinel_export_in_local_time_or_with_a_bad_row_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.csv");
    std::fs::write(
        &local,
        "TimeGenerated [Local Time],EventName,EventSource\n\"11/30/2026, 10:15:02.000 AM\",ListUsers,iam.amazonaws.com\n",
    )
    .unwrap();
    let out = run(&["hunt", &local.display().to_string(), "--format", "jsonl"]);
    assert!(
        out.context().contains("local.csv") && out.context().contains("UTC"),
        "{}",
        out.context()
    );
    assert_eq!(out.records_read(), 0);
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "TimeGenerated [UTC],EventName,EventSource,AwsEventId\n\
         \"11/30/2026, 10:15:02.000 AM\",ListUsers,iam.amazonaws.com,7d0e1c1e-0000-4000-8000-000000000001\n\
         yesterday,ListRoles,iam.amazonaws.com,7d0e1c1e-0000-4000-8000-000000000002\n",
    )
    .unwrap();
    let out = run(&["hunt", &bad.display().to_string(), "--format", "jsonl"]);
    let ctx = out.context();
    assert_eq!(out.records_read(), 1, "{ctx}");
    assert!(
        ctx.contains("bad.csv")
            && ctx.contains("row 2")
            && ctx.contains("\"yesterday\" is not a time"),
        "{ctx}"
    );
}

/// A scenario or twin of the simulator's manifests and the most severe alert that is about
/// it: the same principal (UPN, object id or display name, either containing the other), an
/// action in common, and activity within an hour of it.
fn worst_alert_about<'a>(item: &Value, alerts: &'a [Value]) -> Option<&'a Value> {
    let t = |v: &Value, k: &str| {
        chrono::DateTime::parse_from_rfc3339(s(v, k))
            .unwrap_or_else(|e| panic!("{k} of {v}: {e}"))
            .timestamp()
    };
    let who = s(item, "principal").to_lowercase();
    let (start, end) = (t(item, "start") - 3600, t(item, "end") + 3600);
    let calls: Vec<String> = strs(item, "api_calls")
        .iter()
        .map(|c| c.to_lowercase())
        .collect();
    alerts
        .iter()
        .filter(|a| {
            let p = s(a, "principal").to_lowercase();
            let acts: Vec<String> = strs(a, "actions")
                .iter()
                .map(|c| c.to_lowercase())
                .collect();
            !p.is_empty()
                && (p.contains(&who) || who.contains(&p))
                && t(a, "last_seen") >= start
                && t(a, "first_seen") <= end
                && (acts.is_empty() || calls.is_empty() || acts.iter().any(|x| calls.contains(x)))
        })
        .max_by_key(|a| rank(a))
}

fn manifest(path: &std::path::Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).expect("manifest"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    v.as_array().expect("a list").clone()
}

/// Issue 17's bar: every simulated Azure and Entra ID attack is an alert at medium or above
/// naming the attacker, and the benign twin of each (the same kind of operation done the
/// routine way) stays below medium — with the organisation's configuration (its break-glass
/// account) and learned baselines, as a site runs it.
#[test]
fn azure_and_entra_attacks_are_medium_or_above_and_their_benign_twins_are_not() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("org");
    let dir_s = dir.display().to_string();
    run(&[
        "simulate",
        "--out",
        &dir_s,
        "--provider",
        "azure",
        "--days",
        "21",
        "--events-per-day",
        "2000",
        "--seed",
        "7",
        "--azure-families",
        "--entra",
    ])
    .assert_code(0);
    let scenarios: Vec<Value> = manifest(&dir.join("scenarios.manifest"))
        .into_iter()
        .filter(|v| s(v, "provider") != "aws")
        .collect();
    let twins = manifest(&dir.join("benign-twins.manifest"));
    assert!(
        scenarios.len() >= 30 && twins.len() == scenarios.len(),
        "{} scenarios, {} twins",
        scenarios.len(),
        twins.len()
    );
    let break_glass = scenarios
        .iter()
        .find(|v| s(v, "name") == "entra_break_glass_used")
        .map(|v| s(v, "principal"))
        .expect("the break-glass scenario");
    let config = tmp.path().join("trailwatch.toml");
    std::fs::write(
        &config,
        format!("[detection]\nbreak_glass_accounts = [{break_glass:?}]\n"),
    )
    .expect("config");
    let out = run(&[
        "hunt",
        &dir_s,
        "--baselines",
        "--config",
        &config.display().to_string(),
        "--format",
        "jsonl",
    ]);
    out.assert_code(0);
    let alerts = out.alerts();
    let mut report = Vec::new();
    let mut wrong = 0;
    for (item, attack) in scenarios
        .iter()
        .map(|v| (v, true))
        .chain(twins.iter().map(|v| (v, false)))
    {
        let worst = worst_alert_about(item, &alerts);
        let level = worst.map_or(0, rank);
        let ok = if attack { level >= 2 } else { level < 2 };
        wrong += usize::from(!ok);
        report.push(format!(
            "{} {:6} {:9} {} — {}",
            if ok { "ok " } else { "BAD" },
            if attack { "attack" } else { "twin" },
            worst.map_or("-", |a| s(a, "severity")),
            s(item, "id"),
            worst.map_or("", |a| s(a, "title")),
        ));
    }
    eprintln!("{}", report.join("\n"));
    assert_eq!(wrong, 0, "\n{}", report.join("\n"));
}
