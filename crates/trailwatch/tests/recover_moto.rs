//! The recovery script, run for real: an AWS account in moto's server (PyPI `moto[server]`) is
//! given an attacker's changes, the trail of those changes goes through `trailwatch recover
//! --format script`, the script runs with `--execute` through the AWS CLI (PyPI `awscli`), and the
//! account is checked: every change undone, the legitimate state untouched.
//!
//! `.ci/run` installs both; this test fails (it does not skip) when they are missing.

use serde_json::{json, Value};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";
const ATTACKER_IP: &str = "203.0.113.66";
const ADMIN_IP: &str = "10.20.30.40";

/// moto's server on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            // AWS managed policies (AdministratorAccess, ReadOnlyAccess) exist only when asked for.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server (pip install 'moto[server]')");
        let mut m = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = m.child.try_wait() {
                panic!("moto server exited ({status}): is `moto[server]` installed?");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto server did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        m
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a Python snippet with boto3 pointed at moto; its stdout is JSON.
fn boto(moto: &Moto, code: &str) -> Value {
    let prelude = format!(
        "import boto3, json\nkw = dict(endpoint_url={:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\niam = boto3.client('iam', **kw)\nec2 = boto3.client('ec2', **kw)\nct = boto3.client('cloudtrail', **kw)\ns3 = boto3.client('s3', **kw)\n",
        moto.url
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(prelude + code)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the snippet prints JSON")
}

/// The legitimate account, then the attacker's changes, made through the API; returns the ids
/// the API handed out.
const SETUP: &str = r#"
ids = {}
iam.create_user(UserName='alice')
ids['alice_key'] = iam.create_access_key(UserName='alice')['AccessKey']['AccessKeyId']
iam.attach_user_policy(UserName='alice', PolicyArn='arn:aws:iam::aws:policy/ReadOnlyAccess')
iam.create_user(UserName='ops-deploy')
ids['ops_key'] = iam.create_access_key(UserName='ops-deploy')['AccessKey']['AccessKeyId']
vpc = ec2.describe_vpcs()['Vpcs'][0]['VpcId']
ids['sg'] = ec2.create_security_group(GroupName='web', Description='web', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=ids['sg'], IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 443, 'ToPort': 443, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
s3.create_bucket(Bucket='acme-trail-logs')
ct.create_trail(Name='main', S3BucketName='acme-trail-logs')
ct.start_logging(Name='main')
# The attacker, with ops-deploy's key:
iam.create_user(UserName='svc-backup')
ids['backdoor_key'] = iam.create_access_key(UserName='svc-backup')['AccessKey']['AccessKeyId']
iam.attach_user_policy(UserName='svc-backup', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')
iam.put_user_policy(UserName='svc-backup', PolicyName='inline-admin', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))
iam.create_login_profile(UserName='svc-backup', Password='Backd00r-Passw0rd!')
ec2.authorize_security_group_ingress(GroupId=ids['sg'], IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
iam.create_role(RoleName='ext-access', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::999988887777:root'}, 'Action': 'sts:AssumeRole'}]}))
iam.attach_role_policy(RoleName='ext-access', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')
ct.stop_logging(Name='main')
print(json.dumps(ids))
"#;

/// What the account looks like now.
const STATE: &str = r#"
def keys(u):
    return {k['AccessKeyId']: k['Status'] for k in iam.list_access_keys(UserName=u)['AccessKeyMetadata']}
sg = ec2.describe_security_groups(Filters=[{'Name': 'group-name', 'Values': ['web']}])['SecurityGroups'][0]
print(json.dumps({
    'users': sorted(u['UserName'] for u in iam.list_users()['Users']),
    'roles': sorted(r['RoleName'] for r in iam.list_roles()['Roles']),
    'alice_keys': keys('alice'),
    'ops_keys': keys('ops-deploy'),
    'alice_policies': [p['PolicyArn'] for p in iam.list_attached_user_policies(UserName='alice')['AttachedPolicies']],
    'ingress_ports': sorted(p.get('FromPort', -1) for p in sg['IpPermissions']),
    'logging': ct.get_trail_status(Name='main')['IsLogging'],
}))
"#;

/// One CloudTrail record of `who` (user name, key, IP).
fn record(
    n: usize,
    who: (&str, &str, &str),
    source: &str,
    name: &str,
    req: Value,
    resp: Value,
) -> Value {
    let (user, key, ip) = who;
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": format!("AIDA{}", user.to_uppercase().replace('-', "")),
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"),
            "accountId": ACCOUNT,
            "accessKeyId": key,
            "userName": user
        },
        "eventTime": format!("2026-11-20T10:{:02}:00Z", n),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": req,
        "responseElements": resp,
        "requestID": format!("req-{n}"),
        "eventID": format!("00000000-0000-4000-8000-{n:012}"),
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management"
    })
}

fn perms(port: u16) -> Value {
    json!({"items": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port,
        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]})
}

/// The trail of SETUP: the admin's legitimate changes, then the attacker's.
fn trail(ids: &Value) -> Value {
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let admin = ("admin", "AKIAADMINKEY00000001", ADMIN_IP);
    let ops_key = id("ops_key");
    let att = ("ops-deploy", ops_key.as_str(), ATTACKER_IP);
    let iam = "iam.amazonaws.com";
    let admin_arn = "arn:aws:iam::aws:policy/AdministratorAccess";
    let events = vec![
        record(
            1,
            admin,
            iam,
            "CreateUser",
            json!({"userName": "alice"}),
            json!({"user": {"userName": "alice"}}),
        ),
        record(
            2,
            admin,
            iam,
            "CreateAccessKey",
            json!({"userName": "alice"}),
            json!({"accessKey": {"accessKeyId": id("alice_key"), "userName": "alice", "status": "Active"}}),
        ),
        record(
            3,
            admin,
            iam,
            "AttachUserPolicy",
            json!({"userName": "alice", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
            Value::Null,
        ),
        record(
            4,
            admin,
            iam,
            "CreateUser",
            json!({"userName": "ops-deploy"}),
            json!({"user": {"userName": "ops-deploy"}}),
        ),
        record(
            5,
            admin,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": id("sg"), "ipPermissions": perms(443)}),
            json!({"_return": true}),
        ),
        record(
            6,
            admin,
            "cloudtrail.amazonaws.com",
            "StartLogging",
            json!({"name": "main"}),
            Value::Null,
        ),
        record(
            10,
            att,
            iam,
            "CreateUser",
            json!({"userName": "svc-backup"}),
            json!({"user": {"userName": "svc-backup"}}),
        ),
        record(
            11,
            att,
            iam,
            "CreateAccessKey",
            json!({"userName": "svc-backup"}),
            json!({"accessKey": {"accessKeyId": id("backdoor_key"), "userName": "svc-backup", "status": "Active"}}),
        ),
        record(
            12,
            att,
            iam,
            "AttachUserPolicy",
            json!({"userName": "svc-backup", "policyArn": admin_arn}),
            Value::Null,
        ),
        record(
            13,
            att,
            iam,
            "PutUserPolicy",
            json!({"userName": "svc-backup", "policyName": "inline-admin", "policyDocument": "{\"Statement\":[]}"}),
            Value::Null,
        ),
        record(
            14,
            att,
            iam,
            "CreateLoginProfile",
            json!({"userName": "svc-backup", "passwordResetRequired": false}),
            json!({"loginProfile": {"userName": "svc-backup"}}),
        ),
        record(
            15,
            att,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": id("sg"), "ipPermissions": perms(22)}),
            json!({"_return": true}),
        ),
        record(
            16,
            att,
            iam,
            "CreateRole",
            json!({"roleName": "ext-access", "assumeRolePolicyDocument": "{\"Statement\":[{\"Principal\":{\"AWS\":\"arn:aws:iam::999988887777:root\"}}]}"}),
            json!({"role": {"roleName": "ext-access", "arn": format!("arn:aws:iam::{ACCOUNT}:role/ext-access")}}),
        ),
        record(
            17,
            att,
            iam,
            "AttachRolePolicy",
            json!({"roleName": "ext-access", "policyArn": admin_arn}),
            Value::Null,
        ),
        record(
            18,
            att,
            "cloudtrail.amazonaws.com",
            "StopLogging",
            json!({"name": "main"}),
            Value::Null,
        ),
    ];
    json!({ "Records": events })
}

fn tw(args: &[&str], dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "trailwatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_recovery_script_undoes_the_attack_in_a_moto_account() {
    let moto = Moto::start();
    let ids = boto(&moto, SETUP);
    let before = boto(&moto, STATE);
    assert_eq!(
        before["users"],
        json!(["alice", "ops-deploy", "svc-backup"])
    );
    assert_eq!(before["ingress_ports"], json!([22, 443]));
    assert_eq!(before["logging"], json!(false));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("trail.json"), trail(&ids).to_string()).unwrap();
    let ops_key = ids["ops_key"].as_str().unwrap();
    let script = tw(
        &[
            "recover",
            "trail.json",
            "--access-key",
            ops_key,
            "--ip",
            ATTACKER_IP,
            "--format",
            "script",
        ],
        dir.path(),
    );
    std::fs::write(dir.path().join("plan.sh"), &script).unwrap();

    let bin_dir = Path::new(env!("CARGO_BIN_EXE_trailwatch"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        Command::new("bash")
            .arg("plan.sh")
            .args(args)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_PAGER", "")
            .output()
            .expect("bash")
    };
    // Dry run: commands are printed, the account is not touched.
    let dry = run(&[]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert_eq!(
        boto(&moto, STATE),
        before,
        "the dry run changed the account"
    );

    let out = run(&["--execute"]);
    assert!(
        out.status.success(),
        "the script failed:\n{}\n{}\n{script}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let after = boto(&moto, STATE);
    // Undone: the backdoor user and role are gone, the SSH rule revoked, logging back on.
    assert_eq!(after["users"], json!(["alice", "ops-deploy"]), "{script}");
    assert!(
        !after["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("ext-access")),
        "{script}"
    );
    assert_eq!(after["ingress_ports"], json!([443]), "{script}");
    assert_eq!(after["logging"], json!(true), "{script}");
    // Contained: the stolen key is inactive.
    assert_eq!(after["ops_keys"][ops_key], json!("Inactive"), "{script}");
    // Untouched: the admin's and alice's state.
    assert_eq!(after["alice_keys"], before["alice_keys"]);
    assert_eq!(after["alice_policies"], before["alice_policies"]);
    assert!(!script.contains("alice"), "{script}");
}
