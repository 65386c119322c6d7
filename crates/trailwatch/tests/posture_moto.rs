//! `trailwatch posture aws` against moto's server (PyPI `moto[server]`): a well-configured
//! trail and bucket, a badly configured pair, every check's status read from the real
//! binary's JSON lines; the fixes run through the AWS CLI (PyPI `awscli`) and the checks pass
//! afterwards; calls denied by IAM (moto enforcing policies) and calls that fail are `unknown`.
//! `.ci/test` installs both; these tests fail (they do not skip) when they are missing.

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

#[path = "../../trailwatch-watch/tests/common/mod.rs"]
mod watch_common;
use watch_common::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_trailwatch");
const ACCOUNT: &str = "123456789012";

/// The good pair in us-east-1, the bad pair in eu-west-1.
const SETUP: &str = r#"
import json
def client(name, region='us-east-1'):
    return boto3.client(name, **dict(kw, region_name=region))
ct, ct_eu = client('cloudtrail'), client('cloudtrail', 'eu-west-1')
s3_eu = client('s3', 'eu-west-1')
iam, logs, kms = client('iam'), client('logs'), client('kms')

def cloudtrail_only(bucket):
    return json.dumps({'Version': '2012-10-17', 'Statement': [
        {'Sid': 'AclCheck', 'Effect': 'Allow', 'Principal': {'Service': 'cloudtrail.amazonaws.com'},
         'Action': 's3:GetBucketAcl', 'Resource': f'arn:aws:s3:::{bucket}'},
        {'Sid': 'Write', 'Effect': 'Allow', 'Principal': {'Service': 'cloudtrail.amazonaws.com'},
         'Action': 's3:PutObject', 'Resource': f'arn:aws:s3:::{bucket}/AWSLogs/*',
         'Condition': {'StringEquals': {'s3:x-amz-acl': 'bucket-owner-full-control'}}}]})

# Good: locked-down bucket, multi-region trail with everything on.
s3.create_bucket(Bucket='acme-access-logs')
s3.put_bucket_acl(Bucket='acme-access-logs', ACL='log-delivery-write')
s3.create_bucket(Bucket='acme-good-logs', ObjectLockEnabledForBucket=True)
s3.put_bucket_versioning(Bucket='acme-good-logs', VersioningConfiguration={'Status': 'Enabled'})
s3.put_public_access_block(Bucket='acme-good-logs', PublicAccessBlockConfiguration={
    'BlockPublicAcls': True, 'IgnorePublicAcls': True, 'BlockPublicPolicy': True, 'RestrictPublicBuckets': True})
s3.put_bucket_policy(Bucket='acme-good-logs', Policy=cloudtrail_only('acme-good-logs'))
s3.put_bucket_logging(Bucket='acme-good-logs', BucketLoggingStatus={'LoggingEnabled': {
    'TargetBucket': 'acme-access-logs', 'TargetPrefix': 'acme-good-logs/'}})
s3.put_bucket_lifecycle_configuration(Bucket='acme-good-logs', LifecycleConfiguration={'Rules': [
    {'ID': 'archive', 'Filter': {'Prefix': 'AWSLogs/'}, 'Status': 'Enabled',
     'Transitions': [{'Days': 90, 'StorageClass': 'GLACIER'}], 'Expiration': {'Days': 2555}},
    {'ID': 'scratch', 'Filter': {'Prefix': 'scratch/'}, 'Status': 'Enabled', 'Expiration': {'Days': 1}}]})
key = kms.create_key(Description='cloudtrail')['KeyMetadata']['Arn']
logs.create_log_group(logGroupName='cloudtrail')
group = 'arn:aws:logs:us-east-1:123456789012:log-group:cloudtrail:*'
role = iam.create_role(RoleName='cloudtrail-to-logs', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'cloudtrail.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))['Role']['Arn']
ct.create_trail(Name='good', S3BucketName='acme-good-logs', IsMultiRegionTrail=True, IncludeGlobalServiceEvents=True,
    EnableLogFileValidation=True, KmsKeyId=key, CloudWatchLogsLogGroupArn=group, CloudWatchLogsRoleArn=role)
ct.put_event_selectors(TrailName='good', EventSelectors=[
    {'ReadWriteType': 'All', 'IncludeManagementEvents': True,
     'DataResources': [{'Type': 'AWS::S3::Object', 'Values': ['arn:aws:s3']}]}])
ct.start_logging(Name='good')
client('guardduty').create_detector(Enable=True)

# The CIS AWS Foundations v3 section 4 metric filters, as the benchmark writes them, each with
# an alarm notifying a topic; the partial trail's group lacks 4.15 and 4.3's alarm has no action.
def ev(*names):
    return '{ ' + ' || '.join(f'($.eventName = {n})' for n in names) + ' }'
CIS = {
 '4.1': '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
 '4.2': '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
 '4.3': '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
 '4.4': ev('DeleteGroupPolicy', 'DeleteRolePolicy', 'DeleteUserPolicy', 'PutGroupPolicy', 'PutRolePolicy', 'PutUserPolicy', 'CreatePolicy', 'DeletePolicy', 'CreatePolicyVersion', 'DeletePolicyVersion', 'AttachRolePolicy', 'DetachRolePolicy', 'AttachUserPolicy', 'DetachUserPolicy', 'AttachGroupPolicy', 'DetachGroupPolicy'),
 '4.5': ev('CreateTrail', 'UpdateTrail', 'DeleteTrail', 'StartLogging', 'StopLogging'),
 '4.6': '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
 '4.7': '{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }',
 '4.8': '{ ($.eventSource = s3.amazonaws.com) && ' + ev('PutBucketAcl', 'PutBucketPolicy', 'PutBucketCors', 'PutBucketLifecycle', 'PutBucketReplication', 'DeleteBucketPolicy', 'DeleteBucketCors', 'DeleteBucketLifecycle', 'DeleteBucketReplication') + ' }',
 '4.9': '{ ($.eventSource = config.amazonaws.com) && ' + ev('StopConfigurationRecorder', 'DeleteDeliveryChannel', 'PutDeliveryChannel', 'PutConfigurationRecorder') + ' }',
 '4.10': ev('AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress', 'CreateSecurityGroup', 'DeleteSecurityGroup'),
 '4.11': ev('CreateNetworkAcl', 'CreateNetworkAclEntry', 'DeleteNetworkAcl', 'DeleteNetworkAclEntry', 'ReplaceNetworkAclEntry', 'ReplaceNetworkAclAssociation'),
 '4.12': ev('CreateCustomerGateway', 'DeleteCustomerGateway', 'AttachInternetGateway', 'CreateInternetGateway', 'DeleteInternetGateway', 'DetachInternetGateway'),
 '4.13': ev('CreateRoute', 'CreateRouteTable', 'ReplaceRoute', 'ReplaceRouteTableAssociation', 'DeleteRouteTable', 'DeleteRoute', 'DisassociateRouteTable'),
 '4.14': ev('CreateVpc', 'DeleteVpc', 'ModifyVpcAttribute', 'AcceptVpcPeeringConnection', 'CreateVpcPeeringConnection', 'DeleteVpcPeeringConnection', 'RejectVpcPeeringConnection', 'AttachClassicLinkVpc', 'DetachClassicLinkVpc', 'DisableVpcClassicLink', 'EnableVpcClassicLink'),
 '4.15': '{ ($.eventSource = organizations.amazonaws.com) && ' + ev('AcceptHandshake', 'AttachPolicy', 'CreateAccount', 'CreateOrganizationalUnit', 'CreatePolicy', 'DeclineHandshake', 'DeleteOrganization', 'DeleteOrganizationalUnit', 'DeletePolicy', 'DetachPolicy', 'DisablePolicyType', 'EnablePolicyType', 'InviteAccountToOrganization', 'LeaveOrganization', 'MoveAccount', 'RemoveAccountFromOrganization', 'UpdatePolicy', 'UpdateOrganizationalUnit') + ' }',
}
topic = client('sns').create_topic(Name='security-alarms')['TopicArn']
cw = client('cloudwatch')
logs.create_log_group(logGroupName='partial')
for group in ['cloudtrail', 'partial']:
    for control, pattern in CIS.items():
        if group == 'partial' and control == '4.15':
            continue
        metric = f'{group}-cis-{control}'
        logs.put_metric_filter(logGroupName=group, filterName=metric, filterPattern=pattern,
            metricTransformations=[{'metricName': metric, 'metricNamespace': 'CISBenchmark', 'metricValue': '1'}])
        actions = [] if group == 'partial' and control == '4.3' else [topic]
        cw.put_metric_alarm(AlarmName=metric, MetricName=metric, Namespace='CISBenchmark', Statistic='Sum',
            Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator='GreaterThanOrEqualToThreshold',
            AlarmActions=actions)
ct.create_trail(Name='partial', S3BucketName='acme-good-logs', IsMultiRegionTrail=True,
    IncludeGlobalServiceEvents=True, EnableLogFileValidation=True, KmsKeyId=key,
    CloudWatchLogsLogGroupArn='arn:aws:logs:us-east-1:123456789012:log-group:partial:*', CloudWatchLogsRoleArn=role)
ct.start_logging(Name='partial')

# Bad: public bucket without versioning, logs expiring after 30 days, anyone may write;
# a single-region trail with nothing on, never started.
s3_eu.create_bucket(Bucket='acme-bad-logs', CreateBucketConfiguration={'LocationConstraint': 'eu-west-1'})
s3_eu.put_bucket_acl(Bucket='acme-bad-logs', ACL='public-read')
bad = json.loads(cloudtrail_only('acme-bad-logs'))
bad['Statement'].append({'Sid': 'Anyone', 'Effect': 'Allow', 'Principal': '*', 'Action': ['s3:PutObject', 's3:GetObject'],
    'Resource': 'arn:aws:s3:::acme-bad-logs/*'})
s3_eu.put_bucket_policy(Bucket='acme-bad-logs', Policy=json.dumps(bad))
s3_eu.put_bucket_lifecycle_configuration(Bucket='acme-bad-logs', LifecycleConfiguration={'Rules': [
    {'ID': 'short', 'Filter': {'Prefix': ''}, 'Status': 'Enabled', 'Expiration': {'Days': 30}}]})
ct_eu.create_trail(Name='bad', S3BucketName='acme-bad-logs', IsMultiRegionTrail=False, IncludeGlobalServiceEvents=False)
ct_eu.put_event_selectors(TrailName='bad', EventSelectors=[{'ReadWriteType': 'ReadOnly', 'IncludeManagementEvents': True}])
"#;

const GOOD_TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/good";
const BAD_TRAIL: &str = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/bad";
const PARTIAL_TRAIL: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/partial";

const TRAIL_IDS: [&str; 9] = [
    "aws.cloudtrail.multi_region",
    "aws.cloudtrail.logging",
    "aws.cloudtrail.global_service_events",
    "aws.cloudtrail.log_file_validation",
    "aws.cloudtrail.kms_encryption",
    "aws.cloudtrail.management_events",
    "aws.cloudtrail.data_events_s3",
    "aws.cloudtrail.recent_delivery",
    "aws.cloudtrail.cloudwatch_logs",
];
const BUCKET_IDS: [&str; 6] = [
    "aws.s3.log_bucket_not_public",
    "aws.s3.log_bucket_versioning",
    "aws.s3.log_bucket_object_lock_or_mfa_delete",
    "aws.s3.log_bucket_access_logging",
    "aws.s3.log_bucket_retention",
    "aws.s3.log_bucket_policy_restricted",
];

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn posture(moto: &Moto, env: &[(&str, String)], args: &[&str]) -> Out {
    let mut c = Command::new(BIN);
    c.args(["posture", "aws", "--endpoint", &moto.url])
        .args(args)
        .env_remove("TRAILWATCH_LOG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_SESSION_TOKEN")
        .env("HOME", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run trailwatch");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8(o.stdout).expect("UTF-8"),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn testing_keys() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
    ]
}

/// Every check by (id, resource): the whole JSON object.
fn by_check(out: &Out) -> BTreeMap<(String, String), Value> {
    let mut m = BTreeMap::new();
    for l in out.stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 9, "{l}");
        let key = (
            v["id"].as_str().unwrap().to_string(),
            v["resource"].as_str().unwrap().to_string(),
        );
        assert!(m.insert(key, v).is_none(), "a check twice: {l}");
    }
    m
}

fn statuses(m: &BTreeMap<(String, String), Value>) -> BTreeMap<(String, String), Value> {
    m.iter()
        .map(|(k, v)| (k.clone(), v["status"].clone()))
        .collect()
}

fn assert_statuses(
    m: &BTreeMap<(String, String), Value>,
    resource: &str,
    ids: &[&str],
    want: &str,
    ctx: &str,
) {
    for id in ids {
        let c = m
            .get(&(id.to_string(), resource.to_string()))
            .unwrap_or_else(|| panic!("no {id} for {resource}\n{ctx}"));
        assert_eq!(c["status"], want, "{id} {resource}: {c}\n{ctx}");
        assert_eq!(c["account"], ACCOUNT, "{c}");
        if want == "pass" {
            assert!(c["fix"].is_null(), "{c}");
        }
    }
}

#[test]
fn posture_reads_a_good_and_a_bad_set_up_and_its_fixes_repair_the_bad_one() {
    let moto = Moto::start();
    moto.boto(SETUP);
    let regions = [
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--format",
        "jsonl",
    ];
    let out = posture(&moto, &testing_keys(), &regions);
    let ctx = format!("{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(1), "failures exit 1\n{ctx}");
    let m = by_check(&out);
    assert_statuses(&m, GOOD_TRAIL, &TRAIL_IDS, "pass", &ctx);
    assert_statuses(&m, PARTIAL_TRAIL, &TRAIL_IDS[..6], "pass", &ctx);
    assert_statuses(&m, "acme-good-logs", &BUCKET_IDS, "pass", &ctx);
    assert_statuses(&m, BAD_TRAIL, &TRAIL_IDS, "fail", &ctx);
    assert_statuses(&m, "acme-bad-logs", &BUCKET_IDS, "fail", &ctx);
    // GuardDuty: a detector in us-east-1 only.
    let detectors = |r: &str| format!("arn:aws:guardduty:{r}:{ACCOUNT}:detector/*");
    assert_statuses(
        &m,
        &detectors("us-east-1"),
        &["aws.guardduty.enabled"],
        "pass",
        &ctx,
    );
    assert_statuses(
        &m,
        &detectors("eu-west-1"),
        &["aws.guardduty.enabled"],
        "fail",
        &ctx,
    );
    assert_eq!(
        m[&("aws.guardduty.enabled".to_string(), detectors("eu-west-1"))]["fix"],
        "aws guardduty create-detector --enable --region 'eu-west-1'"
    );
    // CIS metric filters: all fifteen with alarms on the good trail's group; the partial
    // trail's lacks 4.15, and its 4.3 alarm has no action; the bad trail has no group.
    let cis = "aws.cloudwatch.cis_metric_filters";
    assert_statuses(&m, GOOD_TRAIL, &[cis], "pass", &ctx);
    assert_statuses(&m, PARTIAL_TRAIL, &[cis], "fail", &ctx);
    assert_statuses(&m, BAD_TRAIL, &[cis], "fail", &ctx);
    let partial = m[&(cis.to_string(), PARTIAL_TRAIL.to_string())]["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        partial.contains("4.15 AWS Organizations changes: no metric filter"),
        "{partial}"
    );
    assert!(
        partial.contains("4.3 root user usage: filter partial-cis-4.3 has no alarm with an action"),
        "{partial}"
    );
    assert!(!partial.contains("4.4"), "{partial}");
    // Both regions are covered by the multi-region trails: nothing else is reported. The
    // partial trail delivers to the good bucket, which is read once.
    assert_eq!(
        m.len(),
        3 * (TRAIL_IDS.len() + 1) + 2 * (BUCKET_IDS.len() + 1),
        "{ctx}"
    );
    let bad = |id: &str, r: &str| m[&(id.to_string(), r.to_string())].clone();
    assert_eq!(
        bad("aws.s3.log_bucket_versioning", "acme-bad-logs")["region"],
        "eu-west-1"
    );
    assert_eq!(
        bad("aws.cloudtrail.logging", BAD_TRAIL)["fix"],
        "aws cloudtrail start-logging --name 'bad' --region 'eu-west-1'"
    );
    let public = bad("aws.s3.log_bucket_not_public", "acme-bad-logs");
    let evidence = public["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("AllUsers") && evidence.contains("\"Anyone\""),
        "{public}"
    );
    assert!(
        bad("aws.s3.log_bucket_retention", "acme-bad-logs")["evidence"]
            .as_str()
            .unwrap()
            .contains("after 30 days")
    );
    assert!(
        bad("aws.cloudtrail.management_events", BAD_TRAIL)["evidence"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );

    // The other formats say the same.
    let mut args = regions[..4].to_vec();
    args.extend(["--format", "json"]);
    let doc: Value = serde_json::from_str(&posture(&moto, &testing_keys(), &args).stdout).unwrap();
    let fails = m.values().filter(|c| c["status"] == "fail").count();
    assert_eq!(doc["summary"]["fail"], fails);
    assert_eq!(doc["summary"]["pass"], m.len() - fails);
    assert_eq!(doc["checks"].as_array().unwrap().len(), m.len());
    for format in ["markdown", "table"] {
        let mut args = regions[..4].to_vec();
        args.extend(["--format", format]);
        let text = posture(&moto, &testing_keys(), &args).stdout;
        assert!(
            text.contains("aws.s3.log\\_bucket\\_retention")
                || text.contains("aws.s3.log_bucket_retention"),
            "{text}"
        );
        assert!(text.contains("acme-bad-logs"), "{format}: {text}");
    }

    // The script: a dry run changes nothing; --execute through the AWS CLI repairs.
    let dir = tempfile::tempdir().unwrap();
    let script_path = dir.path().join("fix.sh");
    let mut args = regions[..4].to_vec();
    args.extend(["--format", "script", "-o"]);
    let script_arg = script_path.display().to_string();
    args.push(&script_arg);
    let written = posture(&moto, &testing_keys(), &args);
    assert_eq!(written.code, Some(1), "{}", written.stderr);
    let script = std::fs::read_to_string(&script_path).unwrap();
    assert!(
        !script.contains("good"),
        "only failures are fixed:\n{script}"
    );
    let run = |extra: &[&str]| {
        let o = Command::new("bash")
            .arg(&script_path)
            .args(extra)
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_PAGER", "")
            .output()
            .expect("bash");
        assert!(
            o.status.success(),
            "{}\n{}\n{script}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[]);
    assert_eq!(
        statuses(&by_check(&posture(&moto, &testing_keys(), &regions))),
        statuses(&m),
        "the dry run changed the account"
    );
    run(&["--execute"]);
    let after = by_check(&posture(&moto, &testing_keys(), &regions));
    let ctx = format!("{after:#?}\n{script}");
    for ((id, resource), before) in &m {
        let now = &after[&(id.clone(), resource.clone())];
        if before["fix"].is_string() {
            assert_eq!(
                now["status"], "pass",
                "{id} {resource} after its fix: {now}\n{ctx}"
            );
        }
    }
    // Those without a single command stay failed, with what they need in the evidence.
    for id in [
        "aws.cloudtrail.kms_encryption",
        "aws.cloudtrail.cloudwatch_logs",
    ] {
        assert_eq!(
            after[&(id.to_string(), BAD_TRAIL.to_string())]["status"],
            "fail"
        );
    }
    assert_eq!(
        after[&(
            "aws.s3.log_bucket_access_logging".to_string(),
            "acme-bad-logs".to_string()
        )]["status"],
        "fail"
    );
}

/// The restricted auditor: every read but the bucket policy and event selectors.
const RESTRICTED: &str = r#"
import json
def client(name, region='us-east-1'):
    return boto3.client(name, **dict(kw, region_name=region))
ct_eu, s3_eu, iam = client('cloudtrail', 'eu-west-1'), client('s3', 'eu-west-1'), client('iam')
s3_eu.create_bucket(Bucket='solo-logs', CreateBucketConfiguration={'LocationConstraint': 'eu-west-1'})
s3_eu.put_bucket_versioning(Bucket='solo-logs', VersioningConfiguration={'Status': 'Enabled'})
client('logs', 'eu-west-1').create_log_group(logGroupName='solo')
ct_eu.create_trail(Name='solo', S3BucketName='solo-logs',
    CloudWatchLogsLogGroupArn='arn:aws:logs:eu-west-1:123456789012:log-group:solo:*',
    CloudWatchLogsRoleArn='arn:aws:iam::123456789012:role/x')
ct_eu.start_logging(Name='solo')
s3_eu.create_bucket(Bucket='gone-logs', CreateBucketConfiguration={'LocationConstraint': 'eu-west-1'})
ct_eu.create_trail(Name='orphan', S3BucketName='gone-logs')
s3_eu.delete_bucket(Bucket='gone-logs')
iam.create_user(UserName='auditor')
iam.put_user_policy(UserName='auditor', PolicyName='read', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [
    {'Effect': 'Allow', 'Action': ['cloudtrail:DescribeTrails', 'cloudtrail:GetTrailStatus', 's3:Get*', 'sts:GetCallerIdentity'], 'Resource': '*'},
    {'Effect': 'Deny', 'Action': ['s3:GetBucketPolicy'], 'Resource': '*'}]}))
k = iam.create_access_key(UserName='auditor')['AccessKey']
print(json.dumps({'id': k['AccessKeyId'], 'secret': k['SecretAccessKey']}))
"#;

#[test]
fn denied_and_failed_calls_are_unknown_never_a_pass() {
    let moto = Moto::start();
    let keys: Value = serde_json::from_str(moto.boto_output(RESTRICTED).trim()).unwrap();
    // From now on moto enforces IAM policies.
    moto.boto(&format!(
        "import urllib.request\nurllib.request.urlopen(urllib.request.Request({:?} + '/moto-api/reset-auth', data=b'0', method='POST', headers={{'Content-Type': 'text/plain'}}))",
        moto.url
    ));
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[auditor]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            keys["id"].as_str().unwrap(),
            keys["secret"].as_str().unwrap()
        ),
    )
    .unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile auditor]\nregion = eu-west-1\n").unwrap();
    let env = [
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.display().to_string(),
        ),
        ("AWS_CONFIG_FILE", config.display().to_string()),
    ];
    let out = posture(
        &moto,
        &env,
        &[
            "--profile",
            "auditor",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--format",
            "jsonl",
        ],
    );
    let ctx = format!("{}\n{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(1), "{ctx}");
    let m = by_check(&out);
    let status = |id: &str, r: &str| {
        m.get(&(id.to_string(), r.to_string()))
            .unwrap_or_else(|| panic!("no {id} {r}\n{ctx}"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let solo = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/solo";
    // Readable: the trail's own settings and status.
    assert_eq!(status("aws.cloudtrail.logging", solo), "pass");
    assert_eq!(status("aws.cloudtrail.multi_region", solo), "fail");
    // Denied: GetEventSelectors (not granted) and GetBucketPolicy (denied).
    for id in [
        "aws.cloudtrail.management_events",
        "aws.cloudtrail.data_events_s3",
    ] {
        assert_eq!(status(id, solo), "unknown", "{ctx}");
        let e = m[&(id.to_string(), solo.to_string())]["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            e.contains("GetEventSelectors") && e.contains("AccessDenied"),
            "{e}"
        );
    }
    for id in [
        "aws.s3.log_bucket_not_public",
        "aws.s3.log_bucket_policy_restricted",
    ] {
        assert_eq!(status(id, "solo-logs"), "unknown", "{ctx}");
    }
    assert_eq!(status("aws.s3.log_bucket_versioning", "solo-logs"), "pass");
    assert_eq!(
        status("aws.s3.log_bucket_access_logging", "solo-logs"),
        "fail"
    );
    // Failed: the orphan trail's bucket no longer exists.
    for id in BUCKET_IDS {
        assert_eq!(status(id, "gone-logs"), "unknown", "{ctx}");
    }
    // us-east-1 is recorded by no trail (both are single-region in eu-west-1).
    assert_eq!(
        status(
            "aws.cloudtrail.multi_region",
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/*"
        ),
        "fail"
    );
    assert!(!m.contains_key(&(
        "aws.cloudtrail.multi_region".to_string(),
        "arn:aws:cloudtrail:eu-west-1:123456789012:trail/*".to_string()
    )));
    // Metric filters are not granted to the auditor either.
    let cis = (
        "aws.cloudwatch.cis_metric_filters".to_string(),
        solo.to_string(),
    );
    assert_eq!(m[&cis]["status"], "unknown", "{ctx}");
    let e = m[&cis]["evidence"].to_string();
    assert!(e.contains("logs:DescribeMetricFilters"), "{e}");
    // GuardDuty is not granted to the auditor.
    for r in ["us-east-1", "eu-west-1"] {
        let resource = format!("arn:aws:guardduty:{r}:{ACCOUNT}:detector/*");
        assert_eq!(
            status("aws.guardduty.enabled", &resource),
            "unknown",
            "{ctx}"
        );
    }
    // A missing profile is an error naming it.
    let out = posture(&moto, &env, &["--profile", "nobody"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("no profile \"nobody\""),
        "{}",
        out.stderr
    );
}

/// A trail in the member account 111111111111, reached by assuming a role there; another in
/// the caller's own account.
const MEMBER: &str = r#"
sts = boto3.client('sts', **kw)
c = sts.assume_role(RoleArn='arn:aws:iam::111111111111:role/audit', RoleSessionName='setup')['Credentials']
member = dict(kw, aws_access_key_id=c['AccessKeyId'], aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])
boto3.client('s3', **member).create_bucket(Bucket='member-logs')
boto3.client('cloudtrail', **member).create_trail(Name='member', S3BucketName='member-logs')
# A public ACL, neutralised by the member account's own public access block.
boto3.client('s3', **member).put_bucket_acl(Bucket='member-logs', ACL='public-read')
# (signed by hand: boto3's S3 Control client puts the account id in front of the host)
import urllib.request
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
body = ('<PublicAccessBlockConfiguration xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/">'
        '<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>'
        '<BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>'
        '</PublicAccessBlockConfiguration>').encode()
req = AWSRequest(method='PUT', url=kw['endpoint_url'] + '/v20180820/configuration/publicAccessBlock',
                 data=body, headers={'x-amz-account-id': '111111111111'})
SigV4Auth(Credentials(c['AccessKeyId'], c['SecretAccessKey'], c['SessionToken']), 's3', 'us-east-1').add_auth(req)
headers = dict(req.headers.items(), **{'Content-Type': 'application/xml'})
urllib.request.urlopen(urllib.request.Request(req.url, data=body, method='PUT', headers=headers))
s3.create_bucket(Bucket='own-logs')
own = boto3.client('cloudtrail', **kw)
own.create_trail(Name='own', S3BucketName='own-logs', IsMultiRegionTrail=True)
own.start_logging(Name='own')
# The caller's account manages an organization of three accounts.
orgs = boto3.client('organizations', **kw)
orgs.create_organization(FeatureSet='ALL')
for n in ['a', 'b']:
    orgs.create_account(Email=f'{n}@example.com', AccountName=n)
"#;

#[test]
fn a_role_profile_checks_the_account_of_the_role() {
    let moto = Moto::start();
    moto.boto(MEMBER);
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile audit]\nrole_arn = arn:aws:iam::111111111111:role/audit\nsource_profile = base\nrole_session_name = posture-test\nregion = us-east-1\n",
    )
    .unwrap();
    let env = [
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials.display().to_string(),
        ),
        ("AWS_CONFIG_FILE", config.display().to_string()),
    ];
    let out = posture(&moto, &env, &["--profile", "audit", "--format", "jsonl"]);
    let ctx = format!("{}\n{}", out.stdout, out.stderr);
    let m = by_check(&out);
    let member = "arn:aws:cloudtrail:us-east-1:111111111111:trail/member";
    let logging = &m[&("aws.cloudtrail.logging".to_string(), member.to_string())];
    assert_eq!(logging["account"], "111111111111", "{ctx}");
    assert_eq!(logging["status"], "fail", "{ctx}");
    assert!(
        m.keys()
            .all(|(_, r)| !r.contains("trail/own") && r != "own-logs"),
        "the caller's own account is not the one checked\n{ctx}"
    );
    let public = &m[&(
        "aws.s3.log_bucket_not_public".to_string(),
        "member-logs".to_string(),
    )];
    assert_eq!(public["status"], "pass", "{ctx}");
    assert!(
        public["evidence"]
            .as_str()
            .unwrap()
            .contains("public ACLs ignored (IgnorePublicAcls of the bucket or account)"),
        "{public}"
    );
    let detectors = "arn:aws:guardduty:us-east-1:111111111111:detector/*";
    assert_eq!(
        m[&("aws.guardduty.enabled".to_string(), detectors.to_string())]["status"],
        "fail",
        "{ctx}"
    );
}

#[test]
fn an_organization_trail_must_record_every_account() {
    let moto = Moto::start();
    moto.boto(MEMBER);
    let args = [
        "--organization",
        "--region",
        "us-east-1",
        "--format",
        "jsonl",
    ];
    let find = |out: &Out| {
        let m = by_check(out);
        let found: Vec<Value> = m
            .into_iter()
            .filter(|((id, _), _)| id == "aws.organizations.trail_covers_all_accounts")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(found.len(), 1, "{}\n{}", out.stdout, out.stderr);
        found[0].clone()
    };
    let before = find(&posture(&moto, &testing_keys(), &args));
    assert_eq!(before["status"], "fail", "{before}");
    assert!(
        before["resource"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:organizations::"),
        "{before}"
    );
    assert!(
        before["evidence"]
            .as_str()
            .unwrap()
            .contains("no organization trail; 3 active accounts"),
        "{before}"
    );
    assert_eq!(
        before["fix"],
        "aws cloudtrail update-trail --name 'own' --is-organization-trail --region 'us-east-1'"
    );
    moto.boto(
        "boto3.client('cloudtrail', **kw).update_trail(Name='own', IsOrganizationTrail=True)",
    );
    let after = find(&posture(&moto, &testing_keys(), &args));
    assert_eq!(after["status"], "pass", "{after}");
    // Without --organization, no such check.
    let plain = by_check(&posture(&moto, &testing_keys(), &args[1..]));
    assert!(plain
        .keys()
        .all(|(id, _)| id != "aws.organizations.trail_covers_all_accounts"));
}
