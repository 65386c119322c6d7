//! The built-in pack: every rule compiles, carries positive and negative examples, and each
//! example gives the expected result through the real reader.

use trailwatch_detect::{ruletest, RulePack};
use trailwatch_model::Severity;

#[test]
fn every_builtin_rule_compiles_and_passes_its_examples() {
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    assert!(
        pack.failures().is_empty(),
        "{:?}",
        pack.failures()
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
    );
    let rules = &pack.report.rules;
    assert!(rules.len() >= 70, "only {} built-in rules", rules.len());
    for r in rules.iter().filter(|r| !r.is_correlation()) {
        assert!(
            !r.tests.positive.is_empty() && !r.tests.negative.is_empty(),
            "{} lacks examples",
            r.title
        );
        assert!(
            r.tags.iter().any(|t| t.starts_with("attack.")),
            "{} has no ATT&CK tag",
            r.title
        );
    }
    let results = ruletest::run(rules);
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| {
            format!(
                "{} ({:?} #{}): {}",
                r.rule.title, r.expect, r.index, r.detail
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} examples failed:\n{}",
        failed.len(),
        results.len(),
        failed.join("\n")
    );
    assert!(results.len() > 2 * 60);
}

#[test]
fn builtin_pack_covers_every_cis_monitoring_control() {
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    for n in 1..=15 {
        let tag = format!("cis.aws.4.{n}");
        assert!(
            pack.report.rules.iter().any(|r| r.tags.contains(&tag)),
            "no rule for {tag}"
        );
    }
}

#[test]
fn builtin_rules_route_to_both_clouds_and_most_are_indexed() {
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    assert!(
        pack.aws.len() >= 45 && pack.azure.len() >= 20,
        "aws {} azure {}",
        pack.aws.len(),
        pack.azure.len()
    );
    assert!(
        pack.aws.indexed_count() * 10 >= pack.aws.len() * 8,
        "{} of {} indexed",
        pack.aws.indexed_count(),
        pack.aws.len()
    );
}

/// Without `[organization] accounts`, a grant is outside when it names an account the input
/// does not hold: granting to a sibling account whose own trail is in the same hunt is not
/// raised, granting to a stranger is.
#[test]
fn a_grant_is_outside_unless_the_account_is_one_of_the_inputs() {
    use trailwatch_decode::{expand_inputs, Input};
    use trailwatch_detect::{hunt, HuntOptions};
    let pack = RulePack::load(true, &[], Severity::Low).unwrap();
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Resource": "arn:aws:s3:::reports/*"}]
    });
    let grant = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z",
        "eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ops",
            "accountId": "111122223333", "userName": "ops", "accessKeyId": "AKIAEXAMPLEOPS"},
        "requestParameters": {"bucketName": "reports", "bucketPolicy": policy},
        "eventID": "8b9f3f1c-0000-4000-8000-000000000001",
        "recipientAccountId": "111122223333", "eventType": "AwsApiCall"
    });
    let sibling = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2026-11-20T11:00:00Z",
        "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::444455556666:user/ro",
            "accountId": "444455556666", "userName": "ro"},
        "eventID": "8b9f3f1c-0000-4000-8000-000000000002",
        "recipientAccountId": "444455556666", "eventType": "AwsApiCall"
    });
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, recs: &[&serde_json::Value]| {
        let p = dir.path().join(name);
        let doc = serde_json::json!({ "Records": recs });
        std::fs::write(&p, doc.to_string()).unwrap();
        p
    };
    let raised = |inputs: &[Input]| -> Vec<(Severity, String)> {
        let report = hunt(inputs, &pack, &HuntOptions::default(), &|_| {}, &|_| {});
        report
            .alerts()
            .into_iter()
            .filter(|a| a.description.contains("outside the organisation"))
            .map(|a| (a.severity, a.description))
            .collect()
    };
    let alone = expand_inputs(&[write("a.json", &[&grant])]).0;
    let stranger = raised(&alone);
    assert!(!stranger.is_empty(), "a grant to a stranger is raised");
    assert!(stranger
        .iter()
        .all(|(s, d)| *s >= Severity::High && d.contains("444455556666")));
    let both = expand_inputs(&[write("b.json", &[&grant, &sibling])]).0;
    assert_eq!(
        raised(&both),
        vec![],
        "the sibling account is one of the input's"
    );
}

/// `[detection] instance_types`: with an allow-list, the launch rule flags every other type
/// (and bulk launches still), not only the GPU and metal families.
#[test]
fn the_instance_type_allow_list_replaces_the_default_families() {
    use trailwatch_detect::{hunt, HuntOptions, PackTuning};
    let launch = |n: u32, ty: &str, max: u32| {
        serde_json::json!({
            "eventVersion": "1.08", "eventTime": format!("2026-11-20T1{n}:00:00Z"),
            "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
            "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/u{n}"),
                "accountId": "111122223333", "userName": format!("u{n}")},
            "requestParameters": {"instanceType": ty,
                "instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1, "maxCount": max}]}},
            "eventID": format!("5c4e2a10-0000-4000-8000-00000000000{n}"),
            "recipientAccountId": "111122223333", "eventType": "AwsApiCall"
        })
    };
    let recs = [
        launch(1, "t3.micro", 1),
        launch(2, "m5.large", 1),
        launch(3, "c5.xlarge", 1),
        launch(4, "g5.12xlarge", 1),
        launch(5, "t3.small", 20),
    ];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("launches.json");
    std::fs::write(&p, serde_json::json!({ "Records": recs }).to_string()).unwrap();
    let inputs = trailwatch_decode::expand_inputs(&[p]).0;
    let flagged = |tuning: &PackTuning| -> Vec<String> {
        let pack = RulePack::load_tuned(true, &[], Severity::Low, tuning).unwrap();
        assert!(pack.failures().is_empty(), "{:?}", pack.failures());
        let report = hunt(&inputs, &pack, &HuntOptions::default(), &|_| {}, &|_| {});
        let mut users: Vec<String> = report
            .alerts()
            .into_iter()
            .filter(|a| a.rule_id == "6d431f73-1b3e-4f21-a134-f6846307daab")
            .map(|a| {
                a.principal
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        users.sort();
        users
    };
    assert_eq!(flagged(&PackTuning::default()), ["u4", "u5"]);
    let allow = PackTuning {
        instance_types: Some(vec!["t3.*".into(), "m5.large".into()]),
    };
    assert_eq!(flagged(&allow), ["u3", "u4", "u5"]);
}

/// Every activity-log alert recommendation of the CIS Microsoft Azure Foundations Benchmark
/// (section 5.2 of the v2 releases) has a rule.
#[test]
fn builtin_pack_covers_every_cis_azure_activity_log_alert() {
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    for n in 1..=10 {
        let tag = format!("cis.azure.5.2.{n}");
        assert!(
            pack.report.rules.iter().any(|r| r.tags.contains(&tag)),
            "no rule for {tag}"
        );
    }
}

/// Azure Activity Log records as a hunt reads them: one NSG rule opening RDP to the internet
/// and one role assignment of Owner on the subscription (both with the body as JSON text, in
/// the diagnostic and REST shapes), beside an administrator's routine twins.
fn azure_body_records() -> serde_json::Value {
    let sub = "8f2d3c4b-5a69-4e7f-8a1b-2c3d4e5f6a7b";
    let upn = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
    let nsg_rule = |name: &str, src: &str, port: &str| {
        serde_json::json!({"properties": {"protocol": "Tcp", "sourcePortRange": "*",
            "sourceAddressPrefix": src, "destinationPortRange": port,
            "destinationAddressPrefix": "*", "access": "Allow", "priority": 100,
            "direction": "Inbound"}, "name": name})
        .to_string()
    };
    let nsg_write = |who: &str, t: &str, name: &str, body: String| {
        serde_json::json!({"time": t,
            "resourceId": format!("/SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WEB-NSG/SECURITYRULES/{}", name.to_uppercase()),
            "operationName": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE",
            "category": "Administrative", "resultType": "Success",
            "resultSignature": "Succeeded.Created", "callerIpAddress": "198.51.100.23",
            "correlationId": format!("c0ffee00-0000-4000-8000-{:012}", t.len() + name.len()),
            "identity": {"claims": {upn: who}},
            "properties": {"statusCode": "Created", "responseBody": body}})
    };
    let role = |who: &str, t: &str, role_id: &str, scope: &str| {
        serde_json::json!({"eventTimestamp": t,
            "eventDataId": format!("e1e1e1e1-0000-4000-8000-{:012}", t.len() + role_id.len() + scope.len()),
            "operationName": {"value": "Microsoft.Authorization/roleAssignments/write"},
            "status": {"value": "Succeeded"}, "eventName": {"value": "EndRequest"},
            "caller": who, "subscriptionId": sub,
            "resourceId": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0f1e2d3c-4b5a-4697-8877-6655443322{:02}", t.len() % 100),
            "properties": {"statusCode": "Created", "responseBody": serde_json::json!({
                "properties": {"roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"),
                    "principalId": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "scope": scope}}).to_string()}})
    };
    serde_json::json!({"records": [
        nsg_write("mallory@contoso.com", "2026-11-20T10:00:00.0000000Z", "allow-rdp", nsg_rule("allow-rdp", "0.0.0.0/0", "3389")),
        nsg_write("netadmin@contoso.com", "2026-11-20T11:00:00.0000000Z", "allow-pg", nsg_rule("allow-pg", "10.20.0.0/16", "5432")),
        nsg_write("netadmin@contoso.com", "2026-11-20T11:05:00.0000000Z", "allow-https", nsg_rule("allow-https", "*", "443")),
        role("mallory@contoso.com", "2026-11-20T10:10:00Z", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", &format!("/subscriptions/{sub}")),
        role("iam-admin@contoso.com", "2026-11-20T12:00:00Z", "acdd72a7-3385-48ef-bd42-f606fba81ae7", &format!("/subscriptions/{sub}/resourceGroups/prod-rg")),
    ]})
}

/// The request body decides the severity, and one event is one alert: the attacker's NSG rule
/// and Owner assignment are high, each raised once; the administrators' twins (an NSG edit, a
/// Reader assignment on a resource group) stay below medium.
#[test]
fn azure_bodies_raise_the_attack_once_and_leave_the_twins_alone() {
    use trailwatch_detect::{hunt, HuntOptions};
    let pack = RulePack::load(true, &[], Severity::Informational).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("PT1H.json");
    std::fs::write(&p, azure_body_records().to_string()).unwrap();
    let inputs = trailwatch_decode::expand_inputs(&[p]).0;
    let report = hunt(&inputs, &pack, &HuntOptions::default(), &|_| {}, &|_| {});
    let alerts = report.alerts();
    let of = |who: &str| -> Vec<(Severity, String)> {
        let mut v: Vec<(Severity, String)> = alerts
            .iter()
            .filter(|a| a.principal.contains(who))
            .map(|a| (a.severity, a.title.clone()))
            .collect();
        v.sort();
        v
    };
    let mallory = of("mallory");
    assert_eq!(mallory.len(), 2, "{mallory:?}");
    assert!(
        mallory.iter().all(|(s, _)| *s == Severity::High),
        "{mallory:?}"
    );
    assert!(mallory
        .iter()
        .any(|(_, t)| t.contains("Inbound Traffic From the Internet")));
    assert!(mallory.iter().any(|(_, t)| t.contains("Owner")));
    let netadmin = of("netadmin");
    assert!(
        !netadmin.is_empty() && netadmin.iter().all(|(s, _)| *s < Severity::Medium),
        "{netadmin:?}"
    );
    let iam = of("iam-admin");
    assert_eq!(iam.len(), 1, "{iam:?}");
    assert_eq!(iam[0].0, Severity::Low);
    assert!(iam[0].1.contains("Role Assignment Created"));
}
