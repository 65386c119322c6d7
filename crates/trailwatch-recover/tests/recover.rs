//! Scoping and planning on the SANS S3 ransomware lab, on simulated attacks, and on hostile
//! log values.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use trailwatch_decode::expand_inputs;
use trailwatch_model::Event;
use trailwatch_recover::{incident, load, plan, render, scope, Plan, PlanOptions, Selector};

fn events(paths: &[PathBuf]) -> Vec<Event> {
    let (inputs, errors) = expand_inputs(paths);
    assert!(errors.is_empty(), "{errors:?}");
    load(&inputs, None, None, &mut |e| panic!("{e}"))
}

fn run(evs: &[Event], sel: Selector) -> (trailwatch_recover::Incident, Plan) {
    let sc = scope(evs, &sel);
    let inc = incident(evs, sc, &HashMap::new());
    let opts = PlanOptions {
        now: "2030-01-01T00:00:00Z".into(),
        inputs: vec!["logs/".into()],
        cloud: None,
    };
    let p = plan(evs, &inc, &opts);
    (inc, p)
}

fn shells(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| s.command.as_ref().map(|c| c.shell()))
        .collect()
}

#[test]
fn sans_lab_plan_contains_the_intruder_and_nothing_else() {
    let lab =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("../../../shared/datasets/aws/sans-s3-ransomware");
    let evs = events(&[lab]);
    let (inc, p) = run(
        &evs,
        Selector {
            access_key: Some("AKIAU7JNXC7K7XNL3F6J".into()),
            ..Selector::default()
        },
    );
    // The key it was given and the key it made for itself are both in scope and deactivated.
    assert!(
        inc.scope.access_keys.contains("AKIAU7JNXC7KZLY6XYHJ"),
        "{:?}",
        inc.scope.access_keys
    );
    assert_eq!(inc.events.len(), 37);
    assert_eq!(inc.failures.len(), 4);
    assert_eq!(inc.source_ips.iter().collect::<Vec<_>>(), ["3.238.12.183"]);
    // Each followed expansion says what it brought in: the two keys together make every
    // scoped event, and the one IP all of them.
    let brought = |kind: &str| -> usize {
        inc.scope
            .expansions
            .iter()
            .filter(|x| x.kind == kind && x.followed)
            .map(|x| x.events)
            .sum()
    };
    assert_eq!(brought("access_key"), 37, "{:#?}", inc.scope.expansions);
    // Grouped timeline: fewer lines than events, every event counted once.
    assert!(inc.timeline.len() < inc.events.len());
    assert_eq!(inc.timeline.iter().map(|g| g.count).sum::<usize>(), 37);
    assert_eq!(
        inc.persistence
            .iter()
            .map(|p| p.action.as_str())
            .collect::<Vec<_>>(),
        ["PutUserPolicy", "CreateAccessKey"]
    );
    let user = inc
        .resources
        .iter()
        .find(|r| r.resource == "iam user jmerckle")
        .unwrap();
    assert_eq!(user.done["created"], ["CreateAccessKey"]);
    assert_eq!(user.done["modified"], ["PutUserPolicy"]);
    let cmds = shells(&p);
    for k in ["AKIAU7JNXC7K7XNL3F6J", "AKIAU7JNXC7KZLY6XYHJ"] {
        let want = format!("aws iam update-access-key --user-name 'jmerckle' --access-key-id '{k}' --status 'Inactive'");
        assert!(cmds.contains(&want), "{want} not in {cmds:#?}");
    }
    assert!(
        cmds.contains(
            &"aws iam delete-user-policy --user-name 'jmerckle' --policy-name 'zlj9i0k83o'"
                .to_string()
        ),
        "{cmds:#?}"
    );
    assert!(cmds.contains(
        &"aws iam delete-access-key --user-name 'jmerckle' --access-key-id 'AKIAU7JNXC7KZLY6XYHJ'"
            .to_string()
    ));
    // Nothing about the account's other principals.
    let all = cmds.join("\n");
    for other in ["FalsimentisRoot", "root", "CloudTrailRoleForCloudWatchLogs"] {
        assert!(!all.contains(other), "{other} in {all}");
    }
    let evidence: Vec<&str> = p
        .steps
        .iter()
        .filter_map(|s| s.evidence.as_deref())
        .collect();
    let ids: Vec<&str> = inc.events.iter().map(|r| r.event_id.as_str()).collect();
    assert!(evidence.iter().all(|e| ids.contains(e)));
    // Same result from the principal.
    let (inc2, _) = run(
        &evs,
        Selector {
            principal: Some("jmerckle".into()),
            ..Selector::default()
        },
    );
    assert_eq!(inc2.events.len(), 37);
    let md = render::plan_markdown(&p);
    assert!(
        md.contains("## contain") && md.contains("## verify"),
        "{md}"
    );
}

/// The command that undoes each change the simulated attacks make.
const UNDO: &[(&str, &str)] = &[
    ("CreateUser", "aws iam delete-user"),
    ("CreateAccessKey", "aws iam update-access-key"),
    ("AttachUserPolicy", "aws iam detach-user-policy"),
    ("CreateLoginProfile", "aws iam delete-login-profile"),
    ("StopLogging", "aws cloudtrail start-logging"),
    ("PutEventSelectors", "aws cloudtrail put-event-selectors"),
    ("DeleteTrail", "aws cloudtrail create-trail"),
    ("DeleteDetector", "aws guardduty create-detector"),
    ("DeleteFlowLogs", "aws ec2 create-flow-logs"),
    (
        "AuthorizeSecurityGroupIngress",
        "aws ec2 revoke-security-group-ingress",
    ),
    ("CreateRoute", "aws ec2 delete-route"),
    ("CreateNetworkAclEntry", "aws ec2 delete-network-acl-entry"),
    (
        "ModifySnapshotAttribute",
        "aws ec2 modify-snapshot-attribute --snapshot-id",
    ),
    ("ModifyImageAttribute", "aws ec2 modify-image-attribute"),
    ("DeleteObjects", "aws s3api list-object-versions"),
    ("DeleteObject", "aws s3api list-object-versions"),
    ("RunInstances", "aws ec2 terminate-instances"),
    (
        "CreateFunction20150331",
        "aws lambda delete-function --function-name",
    ),
    ("AddPermission20150331v2", "aws lambda remove-permission"),
    (
        "CreateFunctionUrlConfig20211031",
        "aws lambda delete-function-url-config",
    ),
    (
        "UpdateAssumeRolePolicy",
        "aws iam update-assume-role-policy",
    ),
    ("ConsoleLogin", "aws iam put-user-policy --user-name"),
];

#[test]
fn simulated_attacks_are_each_undone_and_background_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = trailwatch_sim::SimOptions::new(dir.path());
    o.providers = trailwatch_sim::Providers::Aws;
    o.days = 1;
    o.events_per_day = 2000;
    o.seed = 1;
    let report = trailwatch_sim::simulate(&o).unwrap();
    let evs = events(&[dir.path().to_path_buf()]);
    let by_id: HashMap<&str, &Event> = evs.iter().map(|e| (e.event_id.as_str(), e)).collect();
    assert!(report.scenarios.len() >= 12);
    let attack_ids: std::collections::HashSet<&str> = report
        .scenarios
        .iter()
        .flat_map(|s| s.event_ids.iter().map(String::as_str))
        .collect();
    for sc in &report.scenarios {
        let sel = match &sc.access_key {
            // The alert gives the key and the source: the owner's own use of the key elsewhere
            // stays out.
            Some(k) => Selector {
                access_key: Some(k.clone()),
                ip: Some(sc.source_ip.clone()),
                ..Selector::default()
            },
            None => Selector {
                ip: Some(sc.source_ip.clone()),
                ..Selector::default()
            },
        };
        let (_, p) = run(&evs, sel);
        let cmds = shells(&p).join("\n");
        let root = sc.principal.ends_with(":root");
        if root {
            assert!(
                p.steps
                    .iter()
                    .any(|s| s.title.starts_with("Secure the root user")),
                "{}: {cmds}",
                sc.id
            );
        }
        for (api, op) in UNDO {
            if root && *api == "ConsoleLogin" {
                continue;
            }
            if sc.api_calls.iter().any(|a| a == api) {
                assert!(
                    cmds.contains(op),
                    "{}: {api} has no `{op}` step in\n{cmds}",
                    sc.id
                );
            }
        }
        if let Some(k) = &sc.access_key {
            assert!(
                cmds.contains("update-access-key --user-name") && cmds.contains(k.as_str()),
                "{}: stolen key not deactivated\n{cmds}",
                sc.id
            );
        }
        // Every step answers an event of this attack: not of another scenario that used the
        // same stolen key from elsewhere, never a background one.
        let mine: std::collections::HashSet<&str> =
            sc.event_ids.iter().map(String::as_str).collect();
        for s in &p.steps {
            let Some(ev) = s.evidence.as_deref() else {
                continue;
            };
            assert!(
                attack_ids.contains(ev),
                "{}: step {:?} answers background event {ev}",
                sc.id,
                s.title
            );
            assert!(
                mine.contains(ev),
                "{}: step {:?} answers another scenario's event {ev}",
                sc.id,
                s.title
            );
        }
        // And only the attacker's identities.
        let attackers: std::collections::HashSet<&str> = sc
            .event_ids
            .iter()
            .filter_map(|i| by_id.get(i.as_str()))
            .map(|e| e.principal.label())
            .collect();
        for s in &p.steps {
            let Some(ev) = s.evidence.as_deref() else {
                continue;
            };
            let who = by_id[ev].principal.label();
            assert!(
                attackers.contains(who),
                "{}: step {:?} answers {who}, not the attacker {attackers:?}",
                sc.id,
                s.title
            );
        }
    }
}

#[test]
fn hostile_log_values_stay_quoted_in_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let pwned = dir.path().join("pwned");
    let evil = format!(
        "x'; touch {}; echo '$(touch {})`touch {}`\nrm -rf ~",
        pwned.display(),
        pwned.display(),
        pwned.display()
    );
    let rec = serde_json::json!({"Records": [{
        "eventVersion": "1.08", "eventTime": "2026-10-01T10:00:00Z", "eventSource": "iam.amazonaws.com",
        "eventName": "PutUserPolicy", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
        "userAgent": evil, "eventID": "e1", "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAX", "arn": "arn:aws:iam::111122223333:user/mallory",
            "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE", "userName": "mallory"},
        "requestParameters": {"userName": evil, "policyName": evil, "policyDocument": "{}"},
        "responseElements": null}]});
    let f = dir.path().join("t.json");
    std::fs::write(&f, rec.to_string()).unwrap();
    let evs = events(&[f]);
    let (inc, p) = run(
        &evs,
        Selector {
            access_key: Some("AKIAEXAMPLE".into()),
            ..Selector::default()
        },
    );
    let script = render::plan_script(&p);
    assert!(script.starts_with("#!/usr/bin/env bash") && script.contains("set -euo pipefail"));
    // The name is no IAM user name: the step stays, without a command, and says why.
    let refused = p
        .steps
        .iter()
        .find(|s| s.title.contains("inline policy"))
        .unwrap_or_else(|| panic!("no policy step in\n{script}"));
    assert!(
        refused.command.is_none() && refused.check.is_none(),
        "{refused:?}"
    );
    let why = refused.refused.as_deref().unwrap_or_default();
    assert!(
        why.contains("--user-name") && why.contains("IAM name"),
        "{why}"
    );
    assert!(script.contains("# not generated: --user-name"), "{script}");
    assert!(
        !script.contains("run aws iam delete-user-policy"),
        "{script}"
    );
    // The log value in the titles is one comment line: its newline is shown, not obeyed.
    assert!(!script.contains("\nrm -rf ~"), "{script}");
    // Run the script (dry run): it must only print, and nothing of the value may run.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!pwned.exists(), "a log value ran as a command");
    let html = render::incident_html(&inc);
    assert!(
        !html.contains("'$(touch") && html.contains("x&#39;; touch"),
        "{html}"
    );
    let md = render::incident_markdown(&inc);
    // Backticks are escaped and the newline shows as `\n`: the value cannot open a code span
    // or start a new Markdown line.
    assert!(md.contains("\\`touch ") && md.contains("\\nrm -rf"), "{md}");
}

/// An Azure resource id crafted with `?` and `&` so that `az rest --method delete --uri …` would
/// delete the resource group: the id does not fit the grammar, so no command carries it.
#[test]
fn a_crafted_azure_resource_id_is_kept_out_of_the_plan() {
    let sub = "5d22beda-5051-4d08-89eb-a56f372e8890";
    let crafted = format!(
        "/subscriptions/{sub}/resourceGroups/victim-rg?api-version=2021-04-01&x=/providers/Microsoft.Authorization/roleDefinitions/r1"
    );
    let op = "Microsoft.Authorization/roleDefinitions/write";
    let rec = |status: &str, sub_status: &str, id: &str| {
        serde_json::json!({
            "authorization": {"action": op, "scope": crafted},
            "caller": "mallory@contoso.com", "correlationId": "c-1", "eventDataId": id,
            "eventName": {"value": "EndRequest"}, "category": {"value": "Administrative"},
            "eventTimestamp": "2026-10-01T10:00:00.0000000Z",
            "httpRequest": {"clientIpAddress": "203.0.113.9", "method": "PUT"},
            "level": "Informational", "resourceId": crafted,
            "operationName": {"value": op}, "properties": {},
            "status": {"value": status}, "subStatus": {"value": sub_status},
            "subscriptionId": sub, "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("activity.json");
    let body = serde_json::json!({"value": [rec("Succeeded", "Created", "e-1")]});
    std::fs::write(&f, body.to_string()).unwrap();
    let evs = events(&[f]);
    assert_eq!(evs.len(), 1);
    let (_, p) = run(
        &evs,
        Selector {
            principal: Some("mallory@contoso.com".into()),
            ..Selector::default()
        },
    );
    let text = render::plan_markdown(&p);
    let role_step = p
        .steps
        .iter()
        .find(|s| s.title.contains("custom role"))
        .unwrap_or_else(|| panic!("no custom-role step in\n{text}"));
    assert!(
        role_step.command.is_none() && role_step.check.is_none(),
        "{role_step:?}"
    );
    let why = role_step.refused.as_deref().unwrap_or_default();
    assert!(
        why.contains("--uri") && why.contains("Azure resource id"),
        "{why}"
    );
    // No command anywhere carries the crafted id or targets the resource group.
    for cmd in shells(&p) {
        assert!(!cmd.contains("victim-rg"), "{cmd}");
    }
    assert!(text.contains("not generated: --uri"), "{text}");
    let script = render::plan_script(&p);
    assert!(!script.contains("run az rest --method delete"), "{script}");
}

/// What each simulated Azure attack must be answered with.
const AZURE_UNDO: &[(&str, &[&str])] = &[
    ("azure_nsg_open_rdp", &["az network nsg rule delete --ids"]),
    (
        "azure_owner_role_assignment",
        &["az role assignment delete --ids"],
    ),
    (
        "azure_diagnostic_settings_delete",
        &["Re-create diagnostic setting activity-to-storage"],
    ),
    (
        "azure_keyvault_policy_and_secret_reads",
        &[
            "az keyvault delete-policy --name",
            "Rotate secret sql-admin-password",
        ],
    ),
    (
        "azure_storage_list_keys",
        &["az storage account keys renew --ids"],
    ),
    (
        "azure_vm_create_odd_region",
        &["az vm deallocate --ids", "az vm delete --ids"],
    ),
    (
        "azure_activity_log_alert_delete",
        &["Re-create activity log alert alert-nsg-changes"],
    ),
];

fn correlation(e: &Event) -> String {
    let v: serde_json::Value = serde_json::from_str(&e.raw).unwrap();
    v["correlationId"].as_str().unwrap_or_default().to_string()
}

#[test]
fn simulated_azure_attacks_are_each_undone_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = trailwatch_sim::SimOptions::new(dir.path());
    o.providers = trailwatch_sim::Providers::Azure;
    o.days = 1;
    o.events_per_day = 2000;
    o.seed = 3;
    let report = trailwatch_sim::simulate(&o).unwrap();
    assert_eq!(report.scenarios.len(), AZURE_UNDO.len());
    // Both shapes of the same log: resource logs (upper-cased ids) and the REST export.
    for shape in ["insights-activity-logs", "azure-activity-rest.json"] {
        let evs = events(&[dir.path().join(shape)]);
        let by_id: HashMap<&str, &Event> = evs.iter().map(|e| (e.event_id.as_str(), e)).collect();
        for sc in &report.scenarios {
            let sel = Selector {
                principal: Some(sc.principal.clone()),
                ip: Some(sc.source_ip.clone()),
                ..Selector::default()
            };
            let (inc, p) = run(&evs, sel);
            let text: String = p
                .steps
                .iter()
                .map(|s| {
                    format!(
                        "{} | {}\n",
                        s.title,
                        s.command.as_ref().map(|c| c.shell()).unwrap_or_default()
                    )
                })
                .collect();
            let (_, wanted) = AZURE_UNDO
                .iter()
                .find(|(n, _)| *n == sc.name)
                .unwrap_or_else(|| panic!("no expectation for {}", sc.name));
            for w in *wanted {
                assert!(text.contains(w), "{shape} {}: no `{w}` in\n{text}", sc.id);
            }
            // Named by object id (the simulator writes the `oid` claim): a UPN can be renamed.
            let oid = evs
                .iter()
                .filter(|e| e.principal.name.as_deref() == Some(sc.principal.as_str()))
                .find_map(trailwatch_recover::identity::object_id)
                .unwrap_or_else(|| panic!("{shape} {}: no object id", sc.id));
            assert!(
                text.contains(&format!(
                    "az ad user update --id '{oid}' --account-enabled false"
                )) && text.contains(&format!("user {} ({oid})", sc.principal)),
                "{shape} {}: the user is not disabled\n{text}",
                sc.id
            );
            // Every step answers an event of this attack, never the user's own activity.
            let mine: std::collections::HashSet<&str> =
                sc.event_ids.iter().map(String::as_str).collect();
            for s in &p.steps {
                let Some(ev) = s.evidence.as_deref() else {
                    continue;
                };
                let c = correlation(by_id[ev]);
                assert!(
                    mine.contains(c.as_str()),
                    "{shape} {}: step {:?} answers another operation ({c})",
                    sc.id,
                    s.title
                );
            }
            // The timeline folds start and end records: one line per operation run.
            let ops: usize = inc.timeline.iter().map(|g| g.count).sum();
            assert_eq!(ops, sc.event_count / 2, "{shape} {}", sc.id);
        }
    }
}

/// One CloudTrail record of the IAM user `user` from `ip`.
fn ct(n: u32, user: &str, ip: &str, name: &str, req: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{user}"),
            "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333",
            "accessKeyId": format!("AKIA{}", user.to_uppercase()), "userName": user},
        "eventTime": format!("2026-11-20T10:{n:02}:00Z"),
        "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": "eu-west-1",
        "sourceIPAddress": ip, "userAgent": "aws-cli/2", "requestParameters": req,
        "responseElements": null, "eventID": format!("ev-{n:02}"), "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
}

#[test]
fn keys_secrets_and_bucket_protections_are_restored_with_the_versioning_the_log_shows() {
    use serde_json::json;
    let (admin, bad) = (("admin", "10.0.0.1"), ("mallory", "198.51.100.9"));
    let recs = vec![
        ct(
            1,
            admin.0,
            admin.1,
            "PutBucketVersioning",
            json!({"bucketName": "finance", "VersioningConfiguration": {"Status": "Enabled"}}),
        ),
        ct(
            10,
            bad.0,
            bad.1,
            "GetSecretValue",
            json!({"secretId": "prod/db"}),
        ),
        ct(
            11,
            bad.0,
            bad.1,
            "DeleteObject",
            json!({"bucketName": "finance", "key": "q3/report.xlsx"}),
        ),
        ct(
            12,
            bad.0,
            bad.1,
            "PutBucketVersioning",
            json!({"bucketName": "finance", "VersioningConfiguration": {"Status": "Suspended"}}),
        ),
        ct(
            13,
            bad.0,
            bad.1,
            "DeleteObject",
            json!({"bucketName": "finance", "key": "q4/report.xlsx"}),
        ),
        ct(
            14,
            bad.0,
            bad.1,
            "DeleteBucketPublicAccessBlock",
            json!({"bucketName": "finance"}),
        ),
        ct(
            15,
            bad.0,
            bad.1,
            "ScheduleKeyDeletion",
            json!({"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "pendingWindowInDays": 7}),
        ),
        ct(
            16,
            bad.0,
            bad.1,
            "DeleteSecret",
            json!({"secretId": "prod/api"}),
        ),
        ct(
            17,
            bad.0,
            bad.1,
            "DeleteSecret",
            json!({"secretId": "prod/old", "forceDeleteWithoutRecovery": true}),
        ),
        ct(
            18,
            bad.0,
            bad.1,
            "DeleteDBInstance",
            json!({"dBInstanceIdentifier": "orders-db"}),
        ),
        ct(
            19,
            admin.0,
            admin.1,
            "DeleteSecret",
            json!({"secretId": "admin/retired"}),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.json");
    std::fs::write(&f, json!({"Records": recs}).to_string()).unwrap();
    let evs = events(&[f]);
    let (_, p) = run(
        &evs,
        Selector {
            principal: Some("mallory".into()),
            ..Selector::default()
        },
    );
    let text: String = p
        .steps
        .iter()
        .map(|s| {
            format!(
                "{:?} {} | {}\n",
                s.phase,
                s.title,
                s.command.as_ref().map(|c| c.shell()).unwrap_or_default()
            )
        })
        .collect();
    for want in [
        "aws secretsmanager rotate-secret --secret-id 'prod/db'",
        "aws s3api put-bucket-versioning --bucket 'finance' --versioning-configuration Status=Enabled",
        "aws s3api put-public-access-block --bucket 'finance'",
        "aws kms cancel-key-deletion --key-id '1234abcd-12ab-34cd-56ef-1234567890ab'",
        "aws kms enable-key --key-id '1234abcd-12ab-34cd-56ef-1234567890ab'",
        "aws secretsmanager restore-secret --secret-id 'prod/api'",
        "Recreate secret prod/old: they deleted it without a recovery window",
        "aws rds describe-db-snapshots --db-instance-identifier 'orders-db'",
        // At the first deletion versioning was on (the admin's event 01), not yet suspended.
        "Restore 2 objects of bucket finance they deleted or overwrote (e.g. q3/report.xlsx, q4/report.xlsx): versioning was on (event ev-01)",
    ] {
        assert!(text.contains(want), "no `{want}` in\n{text}");
    }
    // The admin's own deletion is not the intruder's: nothing restores it.
    assert!(!text.contains("admin/retired"), "{text}");
    assert!(
        !p.steps
            .iter()
            .any(|s| s.evidence.as_deref() == Some("ev-01")),
        "{text}"
    );
}

/// For each bucket and table in scope the report says whether data events were recorded during
/// the incident: a bucket whose object reads were logged (by anyone), and one touched only by
/// management calls, whose reads cannot be known.
#[test]
fn the_report_says_for_each_bucket_whether_its_reads_are_in_the_logs() {
    use serde_json::json;
    let bad = ("mallory", "198.51.100.9");
    let data = |mut v: serde_json::Value| {
        v["eventCategory"] = json!("Data");
        v["managementEvent"] = json!(false);
        v["resources"] =
            json!([{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::finance/q3/report.xlsx"}]);
        v
    };
    let recs = vec![
        ct(
            10,
            bad.0,
            bad.1,
            "PutBucketPolicy",
            json!({"bucketName": "finance", "bucketPolicy": {}}),
        ),
        data(ct(
            11,
            bad.0,
            bad.1,
            "GetObject",
            json!({"bucketName": "finance", "key": "q3/report.xlsx"}),
        )),
        // The other bucket: only a management call; a colleague's data event on it is outside the incident.
        ct(
            12,
            bad.0,
            bad.1,
            "DeleteBucketPublicAccessBlock",
            json!({"bucketName": "archive"}),
        ),
        data(ct(
            40,
            "admin",
            "10.0.0.1",
            "GetObject",
            json!({"bucketName": "archive", "key": "x"}),
        )),
    ];
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.json");
    std::fs::write(&f, json!({"Records": recs}).to_string()).unwrap();
    let evs = events(&[f]);
    let sel = Selector {
        principal: Some("arn:aws:iam::111122223333:user/mallory".into()),
        ..Selector::default()
    };
    let (inc, _) = run(&evs, sel);
    let got: Vec<(String, bool)> = inc
        .data_events
        .iter()
        .map(|d| (d.resource.clone(), d.recorded()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("s3://archive".to_string(), false),
            ("s3://finance".to_string(), true)
        ]
    );
    let md = render::incident_markdown(&inc);
    assert!(md.contains("## Data events"), "{md}");
    assert!(md.contains("| s3://archive | 0 | no data events were recorded: object and item reads during the incident cannot be known"), "{md}");
    let page = render::incident_html(&inc);
    assert!(
        page.contains("<h2>Data events</h2>") && page.contains("s3://finance"),
        "{page}"
    );
}
