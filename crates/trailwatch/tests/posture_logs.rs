//! `trailwatch posture aws --logs`: the trail and bucket checks read from CloudTrail records
//! of the calls that set them (built here in the documented shapes, and a shared dataset),
//! each check's status and evidence read from the real binary's JSON lines.

mod common;

use common::{ct_record, datasets, run, write_jsonl};
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const BUCKET: &str = "audit-logs-111122223333";
const ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit";

fn call(id: &str, time: &str, user: &str, name: &str, req: Value, resp: Value) -> Value {
    let mut r = ct_record(id, time, user, name);
    r["requestParameters"] = req;
    r["responseElements"] = resp;
    r
}

fn s3_call(id: &str, time: &str, user: &str, name: &str, mut req: Value) -> Value {
    req["bucketName"] = json!(BUCKET);
    req["Host"] = json!(format!("{BUCKET}.s3.us-east-1.amazonaws.com"));
    let mut r = call(id, time, user, name, req, Value::Null);
    r["eventSource"] = json!("s3.amazonaws.com");
    r["resources"] = json!([{"accountId": ACCOUNT, "type": "AWS::S3::Bucket",
                             "ARN": format!("arn:aws:s3:::{BUCKET}")}]);
    r
}

fn trail_state(multi: bool, validation: bool) -> Value {
    json!({"name": "audit", "s3BucketName": BUCKET, "includeGlobalServiceEvents": true,
           "isMultiRegionTrail": multi, "trailARN": ARN,
           "logFileValidationEnabled": validation, "isOrganizationTrail": false})
}

fn records() -> Vec<Value> {
    let mut failed = call(
        "e5-denied",
        "2024-05-01T10:20:00Z",
        "mallory",
        "UpdateTrail",
        json!({"name": "audit", "isMultiRegionTrail": false, "enableLogFileValidation": false}),
        Value::Null,
    );
    failed["errorCode"] = json!("AccessDenied");
    failed["errorMessage"] = json!("User: arn:aws:iam::111122223333:user/mallory is not authorized to perform: cloudtrail:UpdateTrail");
    let public = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": format!("arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT}/*"),
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*",
         "Action": ["s3:GetObject", "s3:PutObject"], "Resource": format!("arn:aws:s3:::{BUCKET}/*")}]});
    vec![
        // Out of order on purpose: the state is replayed by time.
        s3_call(
            "e7-suspend",
            "2024-05-01T10:40:00Z",
            "mallory",
            "PutBucketVersioning",
            json!({"versioning": "", "VersioningConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Status": "Suspended"}}),
        ),
        s3_call(
            "e0-enable",
            "2024-05-01T09:59:00Z",
            "alice",
            "PutBucketVersioning",
            json!({"versioning": "", "VersioningConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Status": "Enabled"}}),
        ),
        call(
            "e1-create",
            "2024-05-01T10:00:00Z",
            "alice",
            "CreateTrail",
            json!({"name": "audit", "s3BucketName": BUCKET}),
            trail_state(false, false),
        ),
        call(
            "e2-start",
            "2024-05-01T10:01:00Z",
            "alice",
            "StartLogging",
            json!({"name": "audit"}),
            Value::Null,
        ),
        call(
            "e4-fix",
            "2024-05-01T10:10:00Z",
            "alice",
            "UpdateTrail",
            json!({"name": ARN, "isMultiRegionTrail": true, "enableLogFileValidation": true}),
            trail_state(true, true),
        ),
        failed,
        s3_call(
            "e6-public",
            "2024-05-01T10:30:00Z",
            "mallory",
            "PutBucketPolicy",
            json!({"policy": "", "bucketPolicy": public}),
        ),
        call(
            "e8-stop",
            "2024-05-01T10:50:00Z",
            "mallory",
            "StopLogging",
            json!({"name": "other"}),
            Value::Null,
        ),
    ]
}

fn checks(args: &[&str]) -> Vec<Value> {
    posture(args).alerts()
}

fn posture(args: &[&str]) -> common::Run {
    let mut all = vec!["posture", "aws", "--format", "jsonl", "--logs"];
    all.extend(args);
    let r = run(&all);
    r.assert_code(1);
    r
}

fn find<'a>(checks: &'a [Value], id: &str, resource: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == id && c["resource"] == resource)
        .unwrap_or_else(|| panic!("no {id} of {resource} in {checks:#?}"))
}

fn assert_check(c: &Value, status: &str, evidence: &[&str], not: &[&str]) {
    assert_eq!(c["status"], status, "{c:#}");
    let e = c["evidence"].as_str().unwrap_or_default();
    for want in evidence {
        assert!(e.contains(want), "evidence lacks {want:?}: {c:#}");
    }
    for unwanted in not {
        assert!(!e.contains(unwanted), "evidence has {unwanted:?}: {c:#}");
    }
}

#[test]
fn the_latest_successful_call_sets_each_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trail.jsonl");
    write_jsonl(&file, &records());
    // A file that cannot be read is reported by name; the rest is read.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"Records\": [{\"eventName\": ").unwrap();
    let r = posture(&[file.to_str().unwrap(), broken.to_str().unwrap()]);
    assert!(r.stderr.contains("broken.json"), "{}", r.context());
    let c = r.alerts();
    let alice = "by arn:aws:iam::111122223333:user/alice";
    // Created single-region without validation, fixed by UpdateTrail; the denied UpdateTrail
    // that would have undone it changed nothing.
    for id in [
        "aws.cloudtrail.multi_region",
        "aws.cloudtrail.log_file_validation",
    ] {
        let check = find(&c, id, ARN);
        assert_check(
            check,
            "pass",
            &["UpdateTrail eventID e4-fix at 2024-05-01T10:10:00Z", alice],
            &["e5-denied", "e1-create"],
        );
        assert!(check["fix"].is_null());
    }
    assert_check(
        find(&c, "aws.cloudtrail.logging", ARN),
        "pass",
        &["IsLogging = true", "StartLogging eventID e2-start"],
        &[],
    );
    let kms = find(&c, "aws.cloudtrail.kms_encryption", ARN);
    assert_check(
        kms,
        "fail",
        &["no KmsKeyId", "CreateTrail eventID e1-create"],
        &[],
    );
    // CreateTrail's default selectors: every management event, no data events.
    assert_check(
        find(&c, "aws.cloudtrail.management_events", ARN),
        "pass",
        &["e1-create"],
        &[],
    );
    let data = find(&c, "aws.cloudtrail.data_events_s3", ARN);
    assert_check(data, "fail", &["e1-create"], &[]);
    assert!(
        data["fix"]
            .as_str()
            .unwrap()
            .starts_with("aws cloudtrail put-event-selectors --trail-name 'audit'"),
        "{data:#}"
    );
    assert_check(
        find(&c, "aws.cloudtrail.recent_delivery", ARN),
        "unknown",
        &["GetTrailStatus"],
        &[],
    );
    // The bucket: made public, then versioning suspended (after being enabled).
    let public = find(&c, "aws.s3.log_bucket_not_public", BUCKET);
    assert_check(
        public,
        "fail",
        &[
            "\"Everyone\"",
            "PutBucketPolicy eventID e6-public",
            "user/mallory",
            "no public access block call",
        ],
        &[],
    );
    assert!(
        public["fix"]
            .as_str()
            .unwrap()
            .contains("put-public-access-block --bucket 'audit-logs-111122223333'"),
        "{public:#}"
    );
    assert_check(
        find(&c, "aws.s3.log_bucket_policy_restricted", BUCKET),
        "fail",
        &["\"Everyone\"", "e6-public"],
        &[],
    );
    let versioning = find(&c, "aws.s3.log_bucket_versioning", BUCKET);
    assert_check(
        versioning,
        "fail",
        &[
            "Status = Suspended",
            "PutBucketVersioning eventID e7-suspend at 2024-05-01T10:40:00Z",
        ],
        &["e0-enable"],
    );
    assert_eq!(versioning["fix"], "aws s3api put-bucket-versioning --bucket 'audit-logs-111122223333' --region 'us-east-1' --versioning-configuration Status=Enabled", "{versioning:#}");
    for id in [
        "aws.s3.log_bucket_retention",
        "aws.s3.log_bucket_access_logging",
    ] {
        assert_check(
            find(&c, id, BUCKET),
            "unknown",
            &["not in the logs read"],
            &[],
        );
    }
    // A trail seen only stopping: logging fails, the rest is not in the logs.
    let other = "arn:aws:cloudtrail:us-east-1:111122223333:trail/other";
    let stopped = find(&c, "aws.cloudtrail.logging", other);
    assert_check(
        stopped,
        "fail",
        &["IsLogging = false", "StopLogging eventID e8-stop"],
        &[],
    );
    assert_eq!(
        stopped["fix"],
        "aws cloudtrail start-logging --name 'other' --region 'us-east-1'"
    );
    assert_check(
        find(&c, "aws.cloudtrail.multi_region", other),
        "unknown",
        &["not in the logs read"],
        &[],
    );
    assert!(!c
        .iter()
        .any(|c| c["status"] == "pass" && c["resource"] == other));
    assert_eq!(
        c.len(),
        9 + 9 + 6,
        "two trails of nine checks, one bucket of six"
    );
}

#[test]
fn invictus_stratus_trails_read_from_their_records() {
    let invictus = datasets().join("aws/invictus-ir");
    // Every file: Stratus Red Team created, changed and then deleted both trails and buckets.
    let c = checks(&[invictus.to_str().unwrap()]);
    let ctlr =
        "arn:aws:cloudtrail:us-east-1:123837392027:trail/stratus-red-team-ctlr-trail-zqfsvooxqj";
    let ctes =
        "arn:aws:cloudtrail:us-east-1:123837392027:trail/stratus-red-team-ctes-trail-qyxyekjbtk";
    assert_check(find(&c, "aws.cloudtrail.logging", ctlr), "fail", &["deleted by DeleteTrail eventID c0057a42-1625-4b1d-9db5-352f931f790a at 2023-07-10T12:08:04Z by arn:aws:iam::123837392027:user/bert-jan"], &[]);
    assert_check(
        find(&c, "aws.cloudtrail.logging", ctes),
        "fail",
        &["DeleteTrail eventID fcec2e46-3cc3-4ac2-8144-3674f06990e4"],
        &[],
    );
    assert_check(
        find(
            &c,
            "aws.s3.log_bucket_retention",
            "stratus-red-team-ctlr-bucket-zqfsvooxqj",
        ),
        "unknown",
        &["deleted by DeleteBucket eventID 0bf919d7-2cce-42ba-a1fa-96f6a21c780b"],
        &[],
    );
    // The failed calls on a trail that never existed (TrailNotFoundException) leave no trace.
    assert!(
        !c.iter()
            .any(|c| c["resource"].as_str().unwrap().contains("ct-stop-trail")),
        "{c:#?}"
    );
    assert_eq!(c.len(), 2 + 12, "{c:#?}");
    // Before the clean-up: the state the attack left.
    let early: Vec<String> = std::fs::read_dir(&invictus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("T1205Z"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(early.len(), 8, "{early:?}");
    let c = checks(&early.iter().map(String::as_str).collect::<Vec<_>>());
    assert_check(
        find(&c, "aws.cloudtrail.management_events", ctes),
        "fail",
        &[
            "no management events",
            "PutEventSelectors eventID 076e96d5-2983-473f-920a-2fc2d7e02777",
        ],
        &[],
    );
    assert_check(
        find(&c, "aws.cloudtrail.multi_region", ctlr),
        "fail",
        &[
            "IsMultiRegionTrail = false",
            "CreateTrail eventID 3a1acb39-c13b-4e73-a0e3-dcd8ce5c1a3a",
        ],
        &[],
    );
    assert_check(
        find(&c, "aws.cloudtrail.logging", ctlr),
        "pass",
        &["StartLogging eventID 2f8e806b-355c-49fc-9ac6-7cea7d864938"],
        &[],
    );
    // Stratus's lifecycle rule filters on the literal prefix "*", which no log file has.
    assert_check(
        find(
            &c,
            "aws.s3.log_bucket_retention",
            "stratus-red-team-ctlr-bucket-zqfsvooxqj",
        ),
        "pass",
        &[
            "1 lifecycle rules",
            "PutBucketLifecycle eventID 7823c70d-f7f9-4a04-b4c0-baa8fbe09ea3",
        ],
        &[],
    );
    assert_check(
        find(
            &c,
            "aws.s3.log_bucket_policy_restricted",
            "stratus-red-team-ctlr-bucket-zqfsvooxqj",
        ),
        "pass",
        &["PutBucketPolicy eventID dfcc072b-da6e-454c-b4bf-f7fbf9052e00"],
        &[],
    );
}

#[test]
fn logs_and_api_options_do_not_mix() {
    let r = run(&[
        "posture",
        "aws",
        "--logs",
        "x.json",
        "--endpoint",
        "http://127.0.0.1:1",
    ]);
    r.assert_code(2);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.context());
}

#[test]
fn stratus_stop_logging_fails_the_trail() {
    let f = datasets().join("aws/stratus-red-team/defense_evasion/StopCloudtrailTrail.json");
    let c = checks(&[f.to_str().unwrap()]);
    let trail = "arn:aws:cloudtrail:apiso-centralnorth-2r:143434273843:trail/stratus-red-team-ct-stop-trail-buykxbqejv";
    let logging = find(&c, "aws.cloudtrail.logging", trail);
    // The dataset's regions are scrambled: no fix command for a region that is not one.
    assert_check(
        logging,
        "fail",
        &[
            "IsLogging = false",
            "StopLogging eventID 10163ed2-2253-469d-a5ee-cbc6651f8934",
            "is not an AWS region",
        ],
        &[],
    );
    assert!(logging["fix"].is_null());
    assert_eq!(c.iter().filter(|c| c["status"] == "unknown").count(), 8);
}
