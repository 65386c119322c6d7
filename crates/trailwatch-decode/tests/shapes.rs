//! Every reader shape, on the shared datasets and on files the tests write in each shape.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};
use trailwatch_decode::{expand_inputs, read_input, DecodeError, FileStats, ReadScratch, Record};
use trailwatch_model::{Event, FieldPath, FieldSource, Outcome, Provider};

fn shared(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(rel)
}

struct Read {
    stats: FileStats,
    events: Vec<Event>,
    errors: Vec<DecodeError>,
}

fn read(paths: &[PathBuf]) -> Read {
    let (inputs, input_errors) = expand_inputs(paths);
    assert!(input_errors.is_empty(), "{input_errors:?}");
    let mut stats = FileStats::default();
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let mut scratch = ReadScratch::default();
    for input in &inputs {
        let s = read_input(
            input,
            &mut scratch,
            &mut |r| events.push(r.normalize()),
            &mut |e| errors.push(e),
        );
        stats.add(&s);
    }
    Read {
        stats,
        events,
        errors,
    }
}

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

const RECORD: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2024-01-02T03:04:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0","requestParameters":{"userName":"bob"},"responseElements":{"accessKey":{"accessKeyId":"AKIANEW","status":"Active","userName":"bob"}},"eventID":"0b6f7a2e-1111-4c2f-9d1e-000000000001","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333"}"#;

#[test]
fn invictus_delivery_files() {
    let r = read(&[shared("aws/invictus-ir")]);
    assert_eq!(r.stats.aws_records, 2900);
    assert_eq!(
        r.stats.files, 55,
        "the LICENSE file is not read from a directory walk"
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r
        .events
        .iter()
        .all(|e| e.provider == Provider::Aws && e.time_ms > 1_600_000_000_000));
}

#[test]
fn sans_gzip_layout_across_regions() {
    let r = read(&[shared("aws/sans-s3-ransomware")]);
    assert_eq!(r.stats.aws_records, 30_477);
    assert_eq!(r.stats.files, 3_872);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let mut regions: Vec<_> = r.events.iter().filter_map(|e| e.region.clone()).collect();
    regions.sort();
    regions.dedup();
    assert!(regions.len() >= 13, "{regions:?}");
}

#[test]
fn stratus_bare_arrays_and_traildiscover_samples() {
    let r = read(&[shared("aws/stratus-red-team")]);
    assert_eq!(r.stats.aws_records, 266);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // traildiscover: five single-record arrays (one written as a JavaScript object literal
    // with unquoted keys) and one empty array.
    let r = read(&[shared("aws/traildiscover")]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.stats.aws_records, 5);
    let relaxed = r
        .events
        .iter()
        .find(|e| e.action == "CreateApiKey")
        .expect("relaxed JSON read");
    assert_eq!(relaxed.error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(
        relaxed.principal.name.as_deref(),
        Some("arn:aws:iam::192374575148:user/TrailDiscover")
    );
}

#[test]
fn azure_rest_value_and_bare_array() {
    let r = read(&[shared("azure")]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.stats.azure_records, 4);
    let e = r
        .events
        .iter()
        .find(|e| e.event_id == "44ade6b4-3813-45e6-ae27-7420a95fa2f8")
        .unwrap();
    // The export wrote it in lower case; it reads in the resource-provider spelling.
    assert_eq!(e.action, "Microsoft.Support/supportTickets/write");
    assert_eq!(e.principal.name.as_deref(), Some("admin@contoso.com"));
    assert_eq!(e.source_ip.as_deref(), Some("192.168.35.115"));
    assert_eq!(
        e.account.as_deref(),
        Some("089bd33f-d4ec-47fe-8ba5-0753aa5c5b33")
    );
    assert_eq!(e.outcome, Outcome::Success);
}

#[test]
fn normalizes_a_cloudtrail_record() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "one.json", RECORD.as_bytes());
    let r = read(&[p]);
    let e = &r.events[0];
    assert_eq!(e.event_id, "0b6f7a2e-1111-4c2f-9d1e-000000000001");
    assert_eq!(e.time_ms, 1_704_164_645_000);
    assert_eq!(e.account.as_deref(), Some("111122223333"));
    assert_eq!(
        e.principal.name.as_deref(),
        Some("arn:aws:iam::111122223333:user/alice")
    );
    assert_eq!(e.principal.access_key.as_deref(), Some("AKIAEXAMPLE"));
    assert_eq!(e.principal.kind.as_deref(), Some("IAMUser"));
    assert_eq!(e.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(e.service.as_deref(), Some("iam.amazonaws.com"));
    assert_eq!(e.read_only, Some(false));
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.resources, ["iam user bob"]);
    assert!(e.raw.contains("AKIANEW"));
}

#[test]
fn every_aws_container_shape_reads_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    let escaped = serde_json::to_string(RECORD).unwrap();
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("delivery.json", format!(r#"{{"Records":[{RECORD}]}}"#).into_bytes()),
        ("delivery.json.gz", gzip(format!(r#"{{"Records":[{RECORD}]}}"#).as_bytes())),
        // gzip recognised by magic bytes, not by name
        ("misnamed.json", gzip(format!(r#"{{"Records":[{RECORD}]}}"#).as_bytes())),
        ("array.json", format!("[\n{RECORD}\n]").into_bytes()),
        ("lines.jsonl", format!("{RECORD}\n{RECORD}\n").into_bytes()),
        (
            "lookup.json",
            format!(r#"{{"Events":[{{"EventId":"x","EventName":"CreateAccessKey","CloudTrailEvent":{escaped}}}],"NextToken":"t"}}"#)
                .into_bytes(),
        ),
        (
            "eventbridge.json",
            format!(r#"{{"version":"0","id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{RECORD}}}"#)
                .into_bytes(),
        ),
    ];
    for (name, body) in shapes {
        let p = write(dir.path(), name, &body);
        let r = read(&[p]);
        assert!(r.errors.is_empty(), "{name}: {:?}", r.errors);
        assert!(!r.events.is_empty(), "{name}");
        for e in &r.events {
            assert_eq!(e.action, "CreateAccessKey", "{name}");
            assert_eq!(e.event_id, "0b6f7a2e-1111-4c2f-9d1e-000000000001", "{name}");
        }
    }
}

#[test]
fn exporters_times_are_read_and_a_record_without_one_is_a_problem_not_1970() {
    let dir = tempfile::tempdir().unwrap();
    let without_time = RECORD.replace(r#""eventTime":"2024-01-02T03:04:05Z","#, "");
    let logstash = without_time.replacen(
        '{',
        r#"{"@timestamp":"2024-01-02T03:04:05.000Z","@version":"1","#,
        1,
    );
    let p = write(
        dir.path(),
        "logstash.jsonl",
        format!("{logstash}\n").as_bytes(),
    );
    let r = read(&[p]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.events.len(), 1);
    assert_eq!(
        r.events[0].time_ms, 1_704_164_645_000,
        "@timestamp is the time"
    );

    let other = RECORD.replace(
        "0b6f7a2e-1111-4c2f-9d1e-000000000001",
        "0b6f7a2e-1111-4c2f-9d1e-000000000002",
    );
    let p = write(
        dir.path(),
        "mixed.jsonl",
        format!("{without_time}\n{other}\n").as_bytes(),
    );
    let r = read(&[p]);
    assert_eq!(r.events.len(), 1, "the timed record is still read");
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let e = r.errors[0].to_string();
    assert!(
        e.contains("mixed.jsonl")
            && e.contains("record 1")
            && e.contains("0b6f7a2e-1111-4c2f-9d1e-000000000001")
            && e.contains("no valid eventTime"),
        "{e}"
    );
    assert!(r.events.iter().all(|ev| ev.time_ms > 0));
}

#[test]
fn look_alikes_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s3_notification = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2024-01-02T03:04:05.000Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"AWS:AIDAX"},"s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
    let guardduty = r#"{"version":"0","id":"e","detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"type":"Recon:EC2/PortProbeUnprotectedPort","severity":2}}"#;
    for (name, body, why) in [
        (
            "s3-notification.json",
            s3_notification,
            "eventSource \"aws:s3\"",
        ),
        (
            "guardduty.json",
            guardduty,
            "detail-type \"GuardDuty Finding\"",
        ),
    ] {
        let p = write(dir.path(), name, body.as_bytes());
        let r = read(&[p]);
        assert!(r.events.is_empty(), "{name} read as audit events");
        assert_eq!(r.errors.len(), 1, "{name}: {:?}", r.errors);
        let e = r.errors[0].to_string();
        assert!(
            e.contains(name) && e.contains(why) && e.contains("not read"),
            "{e}"
        );
    }
}

#[test]
fn digest_files_are_recognised_not_read_as_events() {
    let dir = tempfile::tempdir().unwrap();
    let digest = r#"{"awsAccountId":"111122223333","digestStartTime":"2024-01-02T03:00:00Z","digestEndTime":"2024-01-02T04:00:00Z","digestS3Bucket":"b","digestS3Object":"o","digestPublicKeyFingerprint":"f","digestSignatureAlgorithm":"SHA256withRSA","logFiles":[{"s3Bucket":"b","s3Object":"x","hashValue":"00","hashAlgorithm":"SHA-256"}]}"#;
    let p = write(
        dir.path(),
        "111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240102T040000Z.json.gz",
        &gzip(digest.as_bytes()),
    );
    let r = read(&[p]);
    assert_eq!(r.stats.digests, 1);
    assert_eq!(r.stats.records(), 0);
    assert!(r.errors.is_empty());
}

const AZ_REST: &str = r#"{"value":[{"caller":"eve@contoso.com","category":{"value":"Administrative","localizedValue":"Administrative"},"eventDataId":"aaaaaaaa-0000-0000-0000-000000000001","eventTimestamp":"2024-01-02T03:04:05.1234567Z","httpRequest":{"clientIpAddress":"198.51.100.4","method":"PUT"},"operationName":{"value":"Microsoft.Network/networkSecurityGroups/securityRules/write","localizedValue":"Create or Update Security Rule"},"resourceId":"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg/securityRules/r","status":{"value":"Succeeded"},"subscriptionId":"11111111-2222-3333-4444-555555555555","properties":{"statusCode":"Created"}}]}"#;
const AZ_RESOURCE_LOG: &str = r#"{"time":"2024-01-02T03:04:05.1234567Z","resourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG/SECURITYRULES/R","operationName":"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE","category":"Administrative","resultType":"Success","callerIpAddress":"198.51.100.4","correlationId":"c","identity":{"authorization":{"action":"Microsoft.Network/networkSecurityGroups/securityRules/write","evidence":{"principalType":"User"}},"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"eve@contoso.com"}},"level":"Information","properties":{"statusCode":"Created"}}"#;
const AZ_LOG_ANALYTICS: &str = r#"{"TimeGenerated":"2024-01-02T03:04:05Z","OperationNameValue":"MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE","OperationName":"Create or Update Security Rule","CategoryValue":"Administrative","ActivityStatusValue":"Success","Caller":"eve@contoso.com","CallerIpAddress":"198.51.100.4","ResourceId":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG/SECURITYRULES/R","ResourceProviderValue":"MICROSOFT.NETWORK","SubscriptionId":"11111111-2222-3333-4444-555555555555","Properties_d":{"statusCode":"Created"}}"#;

fn first_text(src: &dyn FieldSource, field: &str) -> Option<String> {
    let mut out = None;
    src.visit_field(&FieldPath::new(field), &mut |v| {
        out = Some(v.as_text().to_ascii_lowercase());
        true
    });
    out
}

#[test]
fn azure_shapes_answer_the_same_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        write(dir.path(), "rest.json", AZ_REST.as_bytes()),
        write(
            dir.path(),
            "PT1H.json",
            format!("{AZ_RESOURCE_LOG}\n{AZ_RESOURCE_LOG}\n").as_bytes(),
        ),
        write(
            dir.path(),
            "eventhub.json",
            format!(r#"{{"records":[{AZ_RESOURCE_LOG}]}}"#).as_bytes(),
        ),
        write(
            dir.path(),
            "la.json",
            format!("[{AZ_LOG_ANALYTICS}]").as_bytes(),
        ),
    ];
    for f in &files {
        let (inputs, _) = expand_inputs(std::slice::from_ref(f));
        let mut seen = 0;
        let mut scratch = ReadScratch::default();
        read_input(
            &inputs[0],
            &mut scratch,
            &mut |r| {
                seen += 1;
                let Record::Azure(a) = r else {
                    panic!("{f:?} not azure")
                };
                let op = "microsoft.network/networksecuritygroups/securityrules/write";
                for name in ["operationName", "OPERATIONNAME", "OperationNameValue"] {
                    assert_eq!(first_text(a, name).as_deref(), Some(op), "{f:?} {name}");
                }
                for name in ["category", "CategoryValue"] {
                    assert_eq!(
                        first_text(a, name).as_deref(),
                        Some("administrative"),
                        "{f:?} {name}"
                    );
                }
                assert_eq!(
                    first_text(a, "caller").as_deref(),
                    Some("eve@contoso.com"),
                    "{f:?}"
                );
                assert_eq!(
                    first_text(a, "properties.statusCode").as_deref(),
                    Some("created"),
                    "{f:?}"
                );
                assert_eq!(
                    first_text(a, "ResourceProviderValue").as_deref(),
                    Some("microsoft.network"),
                    "{f:?}"
                );
                assert!(
                    first_text(a, "resourceId")
                        .unwrap()
                        .contains("securityrules/r"),
                    "{f:?}"
                );
                // status in either vocabulary
                let mut statuses = Vec::new();
                a.visit_field(&FieldPath::new("status"), &mut |v| {
                    statuses.push(v.as_text().to_ascii_lowercase());
                    false
                });
                assert!(
                    statuses.contains(&"succeeded".to_string())
                        && statuses.contains(&"success".to_string()),
                    "{f:?} {statuses:?}"
                );
                let e = a.normalize();
                assert_eq!(e.provider, Provider::Azure);
                assert_eq!(
                    e.action, "Microsoft.Network/networkSecurityGroups/securityRules/write",
                    "one spelling whatever the shape: {f:?}"
                );
                assert_eq!(
                    e.account.as_deref(),
                    Some("11111111-2222-3333-4444-555555555555"),
                    "{f:?}"
                );
                assert_eq!(e.source_ip.as_deref(), Some("198.51.100.4"), "{f:?}");
                assert_eq!(
                    e.principal.name.as_deref(),
                    Some("eve@contoso.com"),
                    "{f:?}"
                );
                assert_eq!(
                    e.time_ms,
                    1_704_164_645_000 + if f.ends_with("la.json") { 0 } else { 123 }
                );
            },
            &mut |e| panic!("{e}"),
        );
        assert!(seen >= 1, "{f:?}");
    }
}

#[test]
fn azure_records_without_event_data_id_get_a_stable_hash_id() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "PT1H.json",
        format!("{AZ_RESOURCE_LOG}\n").as_bytes(),
    );
    let a = read(std::slice::from_ref(&p));
    let b = read(&[p]);
    assert_eq!(a.events[0].event_id.len(), 32);
    assert_eq!(a.events[0].event_id, b.events[0].event_id);
}

#[test]
fn bad_inputs_are_reported_with_file_and_reason_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a-good.json",
        format!(r#"{{"Records":[{RECORD}]}}"#).as_bytes(),
    );
    let mut corrupt = gzip(format!(r#"{{"Records":[{RECORD},{RECORD}]}}"#).as_bytes());
    let mid = corrupt.len() / 2;
    corrupt[mid..].iter_mut().for_each(|b| *b ^= 0x5a);
    write(dir.path(), "b-corrupt.json.gz", &corrupt);
    write(
        dir.path(),
        "c-truncated.json",
        &format!(r#"{{"Records":[{RECORD},{RECORD}]}}"#).as_bytes()[..RECORD.len() + 40],
    );
    write(dir.path(), "d-notjson.json", b"hello, this is not a log\n");
    write(
        dir.path(),
        "e-unknown.json",
        br#"{"name":"package","version":"1.0.0"}"#,
    );
    let mut huge = vec![b'x'; 50 << 20];
    huge.push(b'\n');
    huge.extend_from_slice(RECORD.as_bytes());
    write(dir.path(), "f-huge-line.jsonl", &huge);
    let r = read(&[dir.path().to_path_buf()]);
    let msgs: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
    let has = |file: &str, word: &str| msgs.iter().any(|m| m.contains(file) && m.contains(word));
    assert!(has("b-corrupt.json.gz", "read failed"), "{msgs:?}");
    assert!(has("c-truncated.json", "truncated"), "{msgs:?}");
    assert!(has("d-notjson.json", "not JSON"), "{msgs:?}");
    assert!(
        has("e-unknown.json", "not a CloudTrail or Azure"),
        "{msgs:?}"
    );
    assert!(has("f-huge-line.jsonl", "not JSON"), "{msgs:?}");
    assert!(!msgs.iter().any(|m| m.contains("a-good.json")), "{msgs:?}");
    // good file: 1, truncated: the first record survives, huge line: the record after it.
    assert_eq!(r.stats.aws_records, 3, "{msgs:?}");
    assert_eq!(r.stats.files, 6);
}

#[test]
fn facts_agree_with_normalization_on_every_dataset_record() {
    let (inputs, _) = expand_inputs(&[
        shared("aws/invictus-ir"),
        shared("aws/stratus-red-team"),
        shared("aws/traildiscover"),
        shared("azure"),
    ]);
    let mut scratch = ReadScratch::default();
    let mut checked = 0;
    for input in &inputs {
        read_input(
            input,
            &mut scratch,
            &mut |r| {
                let e = r.normalize();
                let f = r.facts();
                assert_eq!(f.time_ms, e.time_ms);
                assert_eq!(f.event_id, e.event_id);
                assert_eq!(f.principal, e.principal.label());
                assert_eq!(f.account.as_deref(), e.account.as_deref());
                assert_eq!(f.region.as_deref(), e.region.as_deref());
                assert_eq!(f.source_ip.as_deref(), e.source_ip.as_deref());
                assert_eq!(f.action, e.action);
                assert_eq!(r.resources(), e.resources);
                checked += 1;
            },
            &mut |e| panic!("{e}"),
        );
    }
    assert!(checked > 3000);
}

#[test]
fn empty_but_valid_files_count_as_read_and_foreign_json_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.json", br#"{"Records":[]}"#);
    let r = read(&[empty, shared("aws/traildiscover/PutEventSelectors.json")]);
    assert_eq!(r.stats.files_read, 2);
    assert!(r.errors.is_empty());
    let foreign = write(
        dir.path(),
        "package.json",
        br#"{"name":"x","version":"1.0.0"}"#,
    );
    let r = read(&[foreign]);
    assert_eq!(r.stats.files_read, 0);
    assert_eq!(r.errors.len(), 1);
}

/// A resource-log record as an Event Hub delivers it: no `caller`, the identity in the claims.
const AZ_EVENT_HUB_CLAIMS_ONLY: &str = r#"{"records":[{"time":"2026-11-20T10:21:07.4412093Z","resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV","operationName":"MICROSOFT.KEYVAULT/VAULTS/DELETE","category":"Administrative","resultType":"Success","callerIpAddress":"198.51.100.23","correlationId":"c1","identity":{"authorization":{"action":"Microsoft.KeyVault/vaults/delete","evidence":{"role":"Owner","principalId":"1F2E3D4C5B6A47988796A5B4C3D2E1F0","principalType":"User"}},"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"mallory@contoso.com","name":"Mallory","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}},"location":"westeurope","level":"Information"}]}"#;

#[test]
fn azure_principals_come_from_the_claims_when_there_is_no_caller() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "eh.json", AZ_EVENT_HUB_CLAIMS_ONLY.as_bytes());
    let got = read(&[p]);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let e = &got.events[0];
    assert_eq!(e.principal.name.as_deref(), Some("mallory@contoso.com"));
    // The evidence's id without dashes is written as Entra ID writes object ids.
    assert_eq!(
        e.principal.id.as_deref(),
        Some("1f2e3d4c-5b6a-4798-8796-a5b4c3d2e1f0")
    );
    assert_eq!(e.principal.kind.as_deref(), Some("User"));
    assert_eq!(
        e.principal.app_id.as_deref(),
        Some("04b07795-8ddb-461a-bbee-02f9e1bf7b46")
    );
    assert_eq!(e.region.as_deref(), Some("westeurope"));
    assert_eq!(e.action, "Microsoft.KeyVault/vaults/delete");
}

#[test]
fn the_platform_writing_about_itself_is_not_a_suspect() {
    let user = AZ_EVENT_HUB_CLAIMS_ONLY;
    let advisor = r#"{"time":"2026-11-20T10:00:00Z","resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B","operationName":"Microsoft.Advisor/recommendations/available/action","category":"Recommendation","resultType":"Active","level":"Informational","location":"global"}"#;
    let backup = r#"{"time":"2026-11-20T10:00:00Z","resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/SNAPSHOTS/S","operationName":"MICROSOFT.COMPUTE/SNAPSHOTS/WRITE","category":"Administrative","resultType":"Success","caller":"Azure Backup","location":"westeurope"}"#;
    let nobody = r#"{"time":"2026-11-20T10:00:00Z","resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/DISKS/D","operationName":"MICROSOFT.COMPUTE/DISKS/WRITE","category":"Administrative","resultType":"Success","location":"westeurope"}"#;
    let app = r#"{"time":"2026-11-20T10:00:00Z","resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.COMPUTE/DISKS/D","operationName":"MICROSOFT.COMPUTE/DISKS/WRITE","category":"Administrative","resultType":"Success","caller":"3a1f0c52-7d1e-4f4b-9a57-0c2b1d8e9f10","location":"westeurope"}"#;
    let dir = tempfile::tempdir().unwrap();
    for (name, body, platform) in [
        ("user.json", user.to_string(), false),
        ("advisor.json", advisor.to_string(), true),
        ("backup.json", backup.to_string(), true),
        ("nobody.json", nobody.to_string(), true),
        ("app.json", app.to_string(), false),
    ] {
        let p = write(dir.path(), name, body.as_bytes());
        let (inputs, _) = expand_inputs(&[p]);
        let mut seen = 0;
        read_input(
            &inputs[0],
            &mut ReadScratch::default(),
            &mut |r| {
                seen += 1;
                assert_eq!(r.is_service_principal(), platform, "{name}");
            },
            &mut |e| panic!("{e}"),
        );
        assert_eq!(seen, 1, "{name}");
    }
}

/// Key Vault's data-plane `AuditEvent` records (diagnostic settings) carry the token's claims
/// under `identity.claim`, singular: the principal is read from there too.
#[test]
fn key_vault_audit_events_name_their_principal() {
    let rec = r#"{"time":"2026-11-20T10:21:07.4412093Z","category":"AuditEvent","operationName":"SecretGet","resultType":"Success","resultSignature":"OK","correlationId":"6a4f2c1e-0b7d-4e93-9f15-3c8d2a6b7e40","callerIpAddress":"198.51.100.23","durationMs":"27","level":"Informational","location":"westeurope","operationVersion":"7.4","identity":{"claim":{"http://schemas.microsoft.com/identity/claims/objectidentifier":"1f2e3d4c-5b6a-4798-8796-a5b4c3d2e1f0","appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"mallory@contoso.com"}},"properties":{"id":"https://kv-prod.vault.azure.net/secrets/db-password","httpStatusCode":200,"isAccessPolicyMatch":true},"resourceId":"/SUBSCRIPTIONS/8F2D3C4B-5A69-4E7F-8A1B-2C3D4E5F6A7B/RESOURCEGROUPS/PROD-RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-PROD"}"#;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "PT1H.json", rec.as_bytes());
    let got = read(&[p]);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let e = &got.events[0];
    assert_eq!(e.principal.name.as_deref(), Some("mallory@contoso.com"));
    assert_eq!(
        e.principal.id.as_deref(),
        Some("1f2e3d4c-5b6a-4798-8796-a5b4c3d2e1f0")
    );
    assert_eq!(
        e.principal.app_id.as_deref(),
        Some("04b07795-8ddb-461a-bbee-02f9e1bf7b46")
    );
    assert_eq!(e.source_ip.as_deref(), Some("198.51.100.23"));
}
