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
    let quoted = format!("'{}'", evil.replace('\'', "'\\''"));
    assert!(quoted.contains("'\\''$(touch"), "{quoted}");
    assert!(
        script.contains(&format!(
            "run aws iam delete-user-policy --user-name {quoted} --policy-name {quoted}"
        )),
        "{script}"
    );
    // Run the script (dry run): it must only print, and bash must parse every quoted value back.
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("+ aws iam delete-user-policy --user-name"),
        "{stdout}"
    );
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
