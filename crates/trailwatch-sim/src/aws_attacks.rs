//! AWS attack scenarios: each one is a short sequence of CloudTrail records made with its own
//! compromised credentials from a documentation-range IP, plus its ground truth.

use crate::aws::{console_login_rec, AttackMap, SLOT};
use crate::org::{region_index, Account, Org};
use crate::record::{
    denied_message, iam_user_identity, role_identity, root_identity, version_for, Rec,
};
use crate::util::{alnum, aws_long_date, hex, iam_id, iso, lower, rng_for, uuid};
use crate::Scenario;
use fastrand::Rng;
use serde_json::{json, Value};
use trailwatch_model::Provider;

pub(crate) const AWS_SCENARIOS: &[(&str, &str, &str)] = &[
    ("stolen_key_recon", "T1087.004", "Stolen access key: GetCallerIdentity then a burst of List*/Describe* calls, many denied, from a new IP and tool user agent."),
    ("iam_privilege_escalation_persistence", "T1098.001", "Backdoor IAM user: CreateUser, CreateAccessKey, AttachUserPolicy AdministratorAccess, CreateLoginProfile."),
    ("cloudtrail_defense_evasion", "T1562.008", "Logging impaired: StopLogging, PutEventSelectors without management events, DeleteTrail, GuardDuty DeleteDetector, DeleteFlowLogs."),
    ("network_exposure", "T1562.007", "Security group opened to 0.0.0.0/0 on 22 and 3389, default route to an internet gateway, allow-all NACL entry."),
    ("snapshot_ami_exfiltration", "T1537", "EBS snapshot and AMI shared with an external account, then mass S3 GetObject on one bucket."),
    ("s3_ransomware", "T1486", "Objects rewritten with an attacker-controlled KMS key, originals deleted in batches, ransom note uploaded."),
    ("console_login_without_mfa", "T1078.004", "Failed console logins then a successful login without MFA from a new country IP."),
    ("root_account_usage", "T1078.004", "Root user signs in to the console and makes API calls."),
    ("secrets_bulk_read", "T1555.006", "Dozens of GetSecretValue calls within a minute."),
    ("gpu_instances_unusual_region", "T1496", "RunInstances of GPU/memory-heavy instance types in a region the organisation does not use."),
    ("lambda_backdoor", "T1546", "CreateFunction then AddPermission granting lambda:InvokeFunction to principal '*'."),
    ("role_trust_backdoor", "T1098.003", "UpdateAssumeRolePolicy trusting an external account, then AssumeRole from that account."),
];

const ATTACK_UAS: &[&str] = &[
    "Boto3/1.34.70 md/Botocore#1.34.70 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.70 Pacu/1.6.0 (kali)",
    "python-requests/2.31.0",
    "aws-cli/1.32.20 Python/3.11.7 Linux/6.6.9-amd64 botocore/1.34.20 (kali-rolling)",
    "Boto3/1.26.0 Python/3.10.12 Linux/5.15.0-kali3-amd64 Botocore/1.29.0",
    "aws-cli/2.13.5 Python/3.11.4 Windows/10 exe/AMD64 prompt/off command/s3.sync",
];

/// Records of one scenario under construction.
struct Atk<'a> {
    rng: Rng,
    acct: &'a Account,
    acct_i: usize,
    ident: String,
    arn: String,
    ip: String,
    ua: String,
    t: i64,
    recs: Vec<Rec>,
}

impl Atk<'_> {
    fn wait(&mut self, lo: i64, hi: i64) {
        self.t += self.rng.i64(lo..=hi);
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        region: &'static str,
        source: &'static str,
        name: &'static str,
        read_only: bool,
        req: Value,
        resp: Value,
        error: Option<(&'static str, String)>,
    ) -> &mut Rec {
        let global = matches!(
            source,
            "iam.amazonaws.com" | "sts.amazonaws.com" | "signin.amazonaws.com"
        ) && name != "AssumeRole";
        let region = if global { "us-east-1" } else { region };
        let resp = if error.is_some() {
            "null".to_string()
        } else {
            resp.to_string()
        };
        let request_id = if source == "s3.amazonaws.com" {
            crate::util::upnum(&mut self.rng, 16)
        } else {
            uuid(&mut self.rng)
        };
        self.recs.push(Rec {
            time: self.t,
            version: version_for(source, false),
            identity: self.ident.clone(),
            source,
            name,
            region,
            ip: self.ip.clone(),
            ua: self.ua.clone(),
            error,
            req: req.to_string(),
            resp,
            additional: None,
            request_id,
            event_id: uuid(&mut self.rng),
            read_only,
            resources: None,
            event_type: "AwsApiCall",
            management: true,
            recipient: self.acct.id.clone(),
            shared: None,
            vpce: None,
            tls: true,
            console: false,
        });
        self.recs.last_mut().expect("just pushed")
    }

    fn ok(
        &mut self,
        region: &'static str,
        source: &'static str,
        name: &'static str,
        read_only: bool,
        req: Value,
        resp: Value,
    ) -> &mut Rec {
        self.call(region, source, name, read_only, req, resp, None)
    }

    fn s3(
        &mut self,
        region: &'static str,
        name: &'static str,
        bucket: &str,
        key: &str,
        extra: &[(&str, &str)],
        resp: Option<Value>,
    ) {
        let mut rng = Rng::with_seed(self.rng.u64(..));
        let c = crate::calls::s3_object(&mut rng, self.acct, region, name, bucket, key, extra);
        let mut rec = crate::aws::finish(
            &mut rng,
            self.acct,
            region,
            self.t,
            c,
            self.ident.clone(),
            self.ip.clone(),
            self.ua.clone(),
            "",
        );
        rec.error = None;
        if let Some(r) = resp {
            rec.resp = r.to_string();
        }
        rec.event_id = uuid(&mut self.rng);
        self.recs.push(rec);
    }
}

/// Pick a stolen identity: scenario `k` uses a different human/CLI user where possible.
fn stolen_user(org: &Org, acct_i: usize, k: usize) -> (String, String, String) {
    let a = &org.accounts[acct_i];
    let n = a.humans.len() + a.clis.len();
    let i = (k * 7 + 3) % n;
    if i < a.clis.len() {
        let u = &a.clis[i];
        (u.user.clone(), u.principal_id.clone(), u.key.clone())
    } else {
        let h = &a.humans[i - a.clis.len()];
        (h.user.clone(), h.principal_id.clone(), h.key.clone())
    }
}

/// Build every AWS scenario; returns ground truth and fills `map` with rendered records.
pub(crate) fn build_all(org: &Org, seed: u64, times: &[i64], map: &mut AttackMap) -> Vec<Scenario> {
    let mut out = Vec::new();
    for (k, (name, technique, description)) in AWS_SCENARIOS.iter().enumerate() {
        let acct_i = k % org.accounts.len();
        let acct = &org.accounts[acct_i];
        let mut rng = rng_for(seed, &[40, k as u64]);
        let ip = format!(
            "{}.{}",
            if k % 2 == 0 {
                "203.0.113"
            } else {
                "198.51.100"
            },
            rng.u8(2..=254)
        );
        let ua = ATTACK_UAS[k % ATTACK_UAS.len()].to_string();
        let (user, pid, key) = stolen_user(org, acct_i, k);
        let mut a = Atk {
            ident: iam_user_identity(acct, &user, &pid, Some(&key), None),
            arn: acct.user_arn(&user),
            rng,
            acct,
            acct_i,
            ip,
            ua,
            t: times[k],
            recs: Vec::new(),
        };
        let mut principal = a.arn.clone();
        let mut access_key = Some(key.clone());
        let mut region = "us-east-1";
        match *name {
            "stolen_key_recon" => recon(&mut a),
            "iam_privilege_escalation_persistence" => privesc(&mut a),
            "cloudtrail_defense_evasion" => evasion(&mut a),
            "network_exposure" => {
                region = "eu-west-1";
                exposure(&mut a, region)
            }
            "snapshot_ami_exfiltration" => exfil(&mut a, &org.external_account),
            "s3_ransomware" => ransomware(&mut a, &org.external_account),
            "console_login_without_mfa" => {
                let h = &acct.humans[k % acct.humans.len()];
                principal = acct.user_arn(&h.user);
                access_key = None;
                a.ident = iam_user_identity(acct, &h.user, &h.principal_id, None, None);
                a.ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36".into();
                a.ip = format!("198.51.100.{}", a.rng.u8(2..=254));
                console_no_mfa(&mut a, &h.user, &h.principal_id)
            }
            "root_account_usage" => {
                principal = format!("arn:aws:iam::{}:root", acct.id);
                access_key = None;
                a.ua =
                    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0".into();
                root(&mut a)
            }
            "secrets_bulk_read" => secrets(&mut a),
            "gpu_instances_unusual_region" => {
                region = "ap-northeast-3";
                gpu(&mut a, region)
            }
            "lambda_backdoor" => lambda_backdoor(&mut a),
            "role_trust_backdoor" => {
                let ext = org.external_account.clone();
                role_backdoor(&mut a, &ext)
            }
            _ => {}
        }
        let id = format!("aws-{:02}-{}", k + 1, name.replace('_', "-"));
        let meta = Meta {
            id,
            name,
            technique,
            description,
            account: &acct.id,
            region,
            principal,
            access_key,
        };
        out.push(file_scenario(&a, map, meta));
    }
    out
}

/// What a scenario is, besides its records.
struct Meta<'a> {
    id: String,
    name: &'a str,
    technique: &'a str,
    description: &'a str,
    account: &'a str,
    region: &'a str,
    principal: String,
    access_key: Option<String>,
}

/// Files the attack's records into `map` (by account, region and time slot) and describes the
/// scenario for the manifest.
fn file_scenario(a: &Atk<'_>, map: &mut AttackMap, meta: Meta<'_>) -> Scenario {
    let mut event_ids = Vec::new();
    let mut api_calls: Vec<String> = Vec::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    let mut buf = String::new();
    for r in &a.recs {
        event_ids.push(r.event_id.clone());
        if !api_calls.iter().any(|c| c == r.name) {
            api_calls.push(r.name.to_string());
        }
        lo = lo.min(r.time);
        hi = hi.max(r.time);
        buf.clear();
        r.render(&mut buf);
        map.entry((a.acct_i, region_index(r.region), r.time.div_euclid(SLOT)))
            .or_default()
            .push((r.time, buf.clone()));
    }
    Scenario {
        id: meta.id,
        name: meta.name.to_string(),
        provider: Provider::Aws,
        technique: meta.technique.to_string(),
        description: meta.description.to_string(),
        account: meta.account.to_string(),
        region: meta.region.to_string(),
        principal: meta.principal,
        access_key: meta.access_key,
        source_ip: a.ip.clone(),
        user_agent: a.ua.clone(),
        start: iso(lo),
        end: iso(hi),
        event_count: a.recs.len(),
        event_ids,
        api_calls,
        log: None,
        families: Vec::new(),
        twin: None,
        targets: Vec::new(),
    }
}

fn recon(a: &mut Atk<'_>) {
    a.ok(
        "us-east-1",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        Value::Null,
        Value::Null,
    );
    let region = "us-east-1";
    let probes: &[(&'static str, &'static str)] = &[
        ("iam.amazonaws.com", "ListUsers"),
        ("iam.amazonaws.com", "ListRoles"),
        ("iam.amazonaws.com", "ListPolicies"),
        ("iam.amazonaws.com", "ListGroups"),
        ("iam.amazonaws.com", "GetAccountAuthorizationDetails"),
        ("iam.amazonaws.com", "ListAccessKeys"),
        ("iam.amazonaws.com", "ListAttachedUserPolicies"),
        ("s3.amazonaws.com", "ListBuckets"),
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("ec2.amazonaws.com", "DescribeSecurityGroups"),
        ("ec2.amazonaws.com", "DescribeSnapshots"),
        ("ec2.amazonaws.com", "DescribeVpcs"),
        ("lambda.amazonaws.com", "ListFunctions20150331"),
        ("secretsmanager.amazonaws.com", "ListSecrets"),
        ("rds.amazonaws.com", "DescribeDBInstances"),
        ("kms.amazonaws.com", "ListKeys"),
        ("dynamodb.amazonaws.com", "ListTables"),
        ("cloudtrail.amazonaws.com", "DescribeTrails"),
        ("guardduty.amazonaws.com", "ListDetectors"),
        ("organizations.amazonaws.com", "DescribeOrganization"),
        ("ssm.amazonaws.com", "DescribeParameters"),
        ("sns.amazonaws.com", "ListTopics"),
        ("ecr.amazonaws.com", "DescribeRepositories"),
    ];
    for round in 0..2 {
        for (src, name) in probes {
            a.wait(0, 2);
            let denied = a.rng.f64() < if round == 0 { 0.55 } else { 0.7 };
            let err = if !denied {
                None
            } else if *src == "ec2.amazonaws.com" {
                Some((
                    "Client.UnauthorizedOperation",
                    "You are not authorized to perform this operation.".to_string(),
                ))
            } else {
                let arn = a.arn.clone();
                Some(("AccessDenied", denied_message(&arn, src, name, "*")))
            };
            let req = match *name {
                "ListUsers" | "ListRoles" | "ListPolicies" | "ListGroups" => {
                    json!({"maxItems": 1000})
                }
                "DescribeInstances" => json!({"instancesSet": {}, "filterSet": {}}),
                "ListSecrets" => json!({"maxResults": 100}),
                _ => Value::Null,
            };
            a.call(region, src, name, true, req, Value::Null, err);
        }
    }
}

fn privesc(a: &mut Atk<'_>) {
    let id = a.acct.id.clone();
    a.ok(
        "us-east-1",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        Value::Null,
        Value::Null,
    );
    a.wait(20, 90);
    let user = format!(
        "{}-svc",
        ["backup", "support", "monitoring-agent", "aws-health"][a.rng.usize(..4)]
    );
    let uid = iam_id(&mut a.rng, "AIDA", 17);
    let t = a.t;
    a.ok("us-east-1", "iam.amazonaws.com", "CreateUser", false, json!({"path": "/", "userName": user}),
        json!({"user": {"path": "/", "userName": user, "userId": uid, "arn": format!("arn:aws:iam::{id}:user/{user}"), "createDate": aws_long_date(t)}}));
    a.wait(3, 15);
    let new_key = iam_id(&mut a.rng, "AKIA", 16);
    let t = a.t;
    a.ok("us-east-1", "iam.amazonaws.com", "CreateAccessKey", false, json!({"userName": user}),
        json!({"accessKey": {"accessKeyId": new_key, "status": "Active", "userName": user, "createDate": aws_long_date(t)}}));
    a.wait(3, 15);
    a.ok(
        "us-east-1",
        "iam.amazonaws.com",
        "AttachUserPolicy",
        false,
        json!({"userName": user, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        Value::Null,
    );
    a.wait(3, 15);
    let t = a.t;
    a.ok("us-east-1", "iam.amazonaws.com", "CreateLoginProfile", false,
        json!({"userName": user, "passwordResetRequired": false}),
        json!({"loginProfile": {"userName": user, "createDate": aws_long_date(t), "passwordResetRequired": false}}));
}

fn evasion(a: &mut Atk<'_>) {
    let id = a.acct.id.clone();
    let trail = a.acct.trail.clone();
    let trail_arn = format!("arn:aws:cloudtrail:us-east-1:{id}:trail/{trail}");
    a.ok(
        "us-east-1",
        "cloudtrail.amazonaws.com",
        "DescribeTrails",
        true,
        json!({"trailNameList": [], "includeShadowTrails": true}),
        Value::Null,
    );
    a.wait(5, 30);
    a.ok(
        "us-east-1",
        "cloudtrail.amazonaws.com",
        "StopLogging",
        false,
        json!({"name": trail_arn}),
        Value::Null,
    )
    .resources = Some(format!(
        "[{{\"accountId\":\"{id}\",\"type\":\"AWS::CloudTrail::Trail\",\"ARN\":\"{trail_arn}\"}}]"
    ));
    a.wait(5, 30);
    let sel = json!([{"readWriteType": "All", "includeManagementEvents": false, "dataResources": [], "excludeManagementEventSources": []}]);
    a.ok(
        "us-east-1",
        "cloudtrail.amazonaws.com",
        "PutEventSelectors",
        false,
        json!({"trailName": trail, "eventSelectors": sel}),
        json!({"trailARN": trail_arn, "eventSelectors": sel}),
    );
    a.wait(10, 40);
    a.ok(
        "us-east-1",
        "cloudtrail.amazonaws.com",
        "DeleteTrail",
        false,
        json!({"name": trail}),
        Value::Null,
    );
    a.wait(10, 40);
    let det = a.acct.detector.clone();
    a.ok(
        "us-east-1",
        "guardduty.amazonaws.com",
        "DeleteDetector",
        false,
        json!({"detectorId": det}),
        Value::Null,
    );
    a.wait(10, 40);
    let fl = a.acct.flow_log.clone();
    let rid = uuid(&mut a.rng);
    a.ok("us-east-1", "ec2.amazonaws.com", "DeleteFlowLogs", false,
        json!({"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": fl}}}),
        json!({"DeleteFlowLogsResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/", "requestId": rid, "unsuccessful": ""}}));
}

fn exposure(a: &mut Atk<'_>, region: &'static str) {
    let id = a.acct.id.clone();
    let sg = a.acct.sgs[0].clone();
    for port in [22, 3389] {
        a.wait(5, 40);
        let rid = uuid(&mut a.rng);
        let rule = format!("sgr-0{}", hex(&mut a.rng, 16));
        a.ok(region, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false,
            json!({"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}}),
            json!({"requestId": rid, "_return": true, "securityGroupRuleSet": {"items": [{"groupOwnerId": id, "groupId": sg, "securityGroupRuleId": rule, "isEgress": false, "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": "0.0.0.0/0"}]}}));
    }
    a.wait(10, 60);
    let rid = uuid(&mut a.rng);
    let (rtb, igw) = (a.acct.route_table.clone(), a.acct.igw.clone());
    a.ok(
        region,
        "ec2.amazonaws.com",
        "CreateRoute",
        false,
        json!({"routeTableId": rtb, "destinationCidrBlock": "0.0.0.0/0", "gatewayId": igw}),
        json!({"requestId": rid, "_return": true}),
    );
    a.wait(10, 60);
    let rid = uuid(&mut a.rng);
    let acl = a.acct.nacl.clone();
    a.ok(region, "ec2.amazonaws.com", "CreateNetworkAclEntry", false,
        json!({"networkAclId": acl, "ruleNumber": 1, "egress": false, "ruleAction": "allow", "icmpTypeCode": {}, "portRange": {}, "aclProtocol": "-1", "cidrBlock": "0.0.0.0/0"}),
        json!({"requestId": rid, "_return": true}));
}

fn exfil(a: &mut Atk<'_>, external: &str) {
    let snap = a.acct.snapshot.clone();
    let ami = a.acct.ami.clone();
    a.ok("us-east-1", "ec2.amazonaws.com", "DescribeSnapshots", true, json!({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "sharedUsersSet": {}, "filterSet": {}}), Value::Null);
    a.wait(10, 60);
    let rid = uuid(&mut a.rng);
    a.ok("us-east-1", "ec2.amazonaws.com", "ModifySnapshotAttribute", false,
        json!({"snapshotId": snap, "createVolumePermission": {"add": {"items": [{"userId": external}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"}),
        json!({"requestId": rid, "_return": true}));
    a.wait(10, 60);
    let rid = uuid(&mut a.rng);
    a.ok("us-east-1", "ec2.amazonaws.com", "ModifyImageAttribute", false,
        json!({"imageId": ami, "launchPermission": {"add": {"items": [{"userId": external}]}}, "attributeType": "launchPermission"}),
        json!({"requestId": rid, "_return": true}));
    a.wait(30, 120);
    let bucket = a.acct.buckets[2].clone();
    let n = 250 + a.rng.usize(..150);
    for i in 0..n {
        if i % 4 == 0 {
            a.wait(0, 1);
        }
        let key = format!("exports/customers/part-{i:05}.parquet");
        a.s3("us-east-1", "GetObject", &bucket, &key, &[], None);
    }
}

fn ransomware(a: &mut Atk<'_>, external: &str) {
    let bucket = a.acct.buckets[1].clone();
    let evil_key = format!("arn:aws:kms:us-east-1:{external}:key/{}", uuid(&mut a.rng));
    let keys: Vec<String> = (0..120)
        .map(|i| format!("invoices/2026/INV-{:06}.pdf", 100_000 + i * 7))
        .collect();
    a.s3("us-east-1", "ListObjects", &bucket, "invoices/", &[], None);
    for k in &keys {
        a.wait(0, 1);
        a.s3("us-east-1", "GetObject", &bucket, k, &[], None);
        a.s3("us-east-1", "PutObject", &bucket, k,
            &[("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", &evil_key)],
            Some(json!({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": evil_key})));
    }
    for chunk in keys.chunks(40) {
        a.wait(1, 4);
        let mut rng = Rng::with_seed(a.rng.u64(..));
        let mut c =
            crate::calls::s3_object(&mut rng, a.acct, "us-east-1", "PutObject", &bucket, "", &[]);
        c.name = "DeleteObjects";
        c.req = json!({"bucketName": bucket, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com"), "delete": "", "Delete": {"Object": chunk.iter().map(|k| json!({"Key": k})).collect::<Vec<_>>(), "Quiet": "true"}}).to_string();
        c.resp = "null".into();
        c.resources = Some(format!("[{{\"accountId\":\"{}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]", a.acct.id));
        let mut rec = crate::aws::finish(
            &mut rng,
            a.acct,
            "us-east-1",
            a.t,
            c,
            a.ident.clone(),
            a.ip.clone(),
            a.ua.clone(),
            "",
        );
        rec.error = None;
        rec.event_id = uuid(&mut a.rng);
        a.recs.push(rec);
    }
    for k in keys.iter().take(15) {
        a.s3("us-east-1", "DeleteObject", &bucket, k, &[], None);
    }
    a.wait(2, 10);
    a.s3(
        "us-east-1",
        "PutObject",
        &bucket,
        "README_RESTORE_FILES.txt",
        &[],
        None,
    );
}

fn console_no_mfa(a: &mut Atk<'_>, user: &str, _pid: &str) {
    let acct = a.acct;
    let fails = 3 + a.rng.usize(..4);
    let ua = a.ua.clone();
    let ip = a.ip.clone();
    for _ in 0..fails {
        let ident = a.ident.clone();
        let mut r = console_login_rec(
            &mut a.rng,
            acct,
            ident,
            "us-east-1",
            a.t,
            &ip,
            &ua,
            false,
            None,
        );
        r.event_id = uuid(&mut a.rng);
        a.recs.push(r);
        a.wait(8, 40);
    }
    let ident = a.ident.clone();
    let r = console_login_rec(
        &mut a.rng,
        acct,
        ident,
        "us-east-1",
        a.t,
        &ip,
        &ua,
        true,
        None,
    );
    a.recs.push(r);
    // Console session after the login.
    let key = iam_id(&mut a.rng, "ASIA", 16);
    let h = acct
        .humans
        .iter()
        .find(|h| h.user == user)
        .expect("user from this account");
    a.ident = iam_user_identity(acct, user, &h.principal_id, Some(&key), Some((a.t, false)));
    for (src, name) in [
        ("iam.amazonaws.com", "ListUsers"),
        ("iam.amazonaws.com", "ListAccessKeys"),
        ("s3.amazonaws.com", "ListBuckets"),
        ("ec2.amazonaws.com", "DescribeInstances"),
    ] {
        a.wait(5, 40);
        a.ok("us-east-1", src, name, true, Value::Null, Value::Null)
            .console = true;
    }
}

fn root(a: &mut Atk<'_>) {
    let acct = a.acct;
    a.ident = root_identity(acct, None, None);
    let ident = a.ident.clone();
    let (ip, ua) = (a.ip.clone(), a.ua.clone());
    let mut r = console_login_rec(
        &mut a.rng,
        acct,
        ident,
        "us-east-1",
        a.t,
        &ip,
        &ua,
        true,
        None,
    );
    r.event_id = uuid(&mut a.rng);
    a.recs.push(r);
    let key = iam_id(&mut a.rng, "ASIA", 16);
    a.ident = root_identity(acct, Some(&key), Some(a.t));
    a.wait(10, 30);
    a.ok(
        "us-east-1",
        "iam.amazonaws.com",
        "GetAccountSummary",
        true,
        Value::Null,
        Value::Null,
    )
    .console = true;
    a.wait(10, 30);
    a.ok(
        "us-east-1",
        "iam.amazonaws.com",
        "ListUsers",
        true,
        json!({"maxItems": 100}),
        Value::Null,
    )
    .console = true;
    a.wait(10, 60);
    let new_key = iam_id(&mut a.rng, "AKIA", 16);
    let t = a.t;
    a.ok("us-east-1", "iam.amazonaws.com", "CreateAccessKey", false, Value::Null,
        json!({"accessKey": {"accessKeyId": new_key, "status": "Active", "createDate": aws_long_date(t)}})).console = true;
}

fn secrets(a: &mut Atk<'_>) {
    let id = a.acct.id.clone();
    a.ok(
        "us-east-1",
        "secretsmanager.amazonaws.com",
        "ListSecrets",
        true,
        json!({"maxResults": 100}),
        Value::Null,
    );
    let secrets = a.acct.secrets.clone();
    for round in 0..4 {
        for s in &secrets {
            if a.rng.u8(0..3) == 0 {
                a.wait(0, 1);
            }
            let arn = format!("arn:aws:secretsmanager:us-east-1:{id}:secret:{s}");
            let err = if round > 0 && a.rng.f64() < 0.15 {
                Some((
                    "AccessDeniedException",
                    denied_message(
                        &a.arn.clone(),
                        "secretsmanager.amazonaws.com",
                        "GetSecretValue",
                        &arn,
                    ),
                ))
            } else {
                None
            };
            a.call(
                "us-east-1",
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                true,
                json!({"secretId": arn}),
                Value::Null,
                err,
            );
        }
    }
}

fn gpu(a: &mut Atk<'_>, region: &'static str) {
    let id = a.acct.id.clone();
    a.ok(
        region,
        "ec2.amazonaws.com",
        "DescribeRegions",
        true,
        json!({"regionSet": {}, "allRegions": false}),
        Value::Null,
    );
    for ty in ["p3.16xlarge", "g4dn.12xlarge", "x1.32xlarge", "p3.8xlarge"] {
        a.wait(10, 60);
        let count = 1 + a.rng.u32(..4);
        let ami = format!("ami-0{}", hex(&mut a.rng, 16));
        let token = uuid(&mut a.rng).to_uppercase();
        let rid = uuid(&mut a.rng);
        let items: Vec<Value> = (0..count)
            .map(|i| json!({"instanceId": format!("i-0{}", hex(&mut a.rng, 16)), "imageId": ami, "instanceState": {"code": 0, "name": "pending"}, "amiLaunchIndex": i, "instanceType": ty, "placement": {"availabilityZone": format!("{region}a"), "tenancy": "default"}, "monitoring": {"state": "disabled"}}))
            .collect();
        let reservation = format!("r-0{}", hex(&mut a.rng, 16));
        a.ok(region, "ec2.amazonaws.com", "RunInstances", false,
            json!({"instancesSet": {"items": [{"imageId": ami, "minCount": count, "maxCount": count}]}, "instanceType": ty, "blockDeviceMapping": {}, "monitoring": {"enabled": false}, "disableApiTermination": false, "disableApiStop": false, "clientToken": token, "userData": "<sensitiveDataRemoved>"}),
            json!({"requestId": rid, "reservationId": reservation, "ownerId": id, "groupSet": {}, "instancesSet": {"items": items}}));
    }
}

fn lambda_backdoor(a: &mut Atk<'_>) {
    let id = a.acct.id.clone();
    let f = format!("system-health-{}", lower(&mut a.rng, 6));
    let role = &a.acct.roles[1];
    let role_arn = format!("arn:aws:iam::{id}:role/{}", role.name);
    let farn = format!("arn:aws:lambda:us-east-1:{id}:function:{f}");
    let t = a.t;
    let sha = format!("{}=", alnum(&mut a.rng, 43));
    let rev = uuid(&mut a.rng);
    a.ok("us-east-1", "lambda.amazonaws.com", "CreateFunction20150331", false,
        json!({"functionName": f, "runtime": "python3.12", "role": role_arn, "handler": "index.handler", "code": {}, "description": "", "timeout": 30, "memorySize": 128, "publish": false, "packageType": "Zip", "environment": {}}),
        json!({"functionName": f, "functionArn": farn, "runtime": "python3.12", "role": role_arn, "handler": "index.handler", "codeSize": 1312, "description": "", "timeout": 30, "memorySize": 128, "lastModified": format!("{}.000+0000", &iso(t)[..19]), "codeSha256": sha, "version": "$LATEST", "tracingConfig": {"mode": "PassThrough"}, "revisionId": rev, "state": "Pending", "stateReason": "The function is being created.", "stateReasonCode": "Creating", "packageType": "Zip", "architectures": ["x86_64"]}));
    a.wait(5, 30);
    let stmt = json!({"Sid": "public-invoke", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": farn}).to_string();
    a.ok("us-east-1", "lambda.amazonaws.com", "AddPermission20150331v2", false,
        json!({"functionName": f, "statementId": "public-invoke", "action": "lambda:InvokeFunction", "principal": "*"}),
        json!({"statement": stmt}));
    a.wait(5, 30);
    let url_id = lower(&mut a.rng, 32);
    a.ok("us-east-1", "lambda.amazonaws.com", "CreateFunctionUrlConfig20211031", false,
        json!({"functionName": f, "authType": "NONE"}),
        json!({"functionUrl": format!("https://{url_id}.lambda-url.us-east-1.on.aws/"), "functionArn": farn, "authType": "NONE"}));
}

fn role_backdoor(a: &mut Atk<'_>, external: &str) {
    let id = a.acct.id.clone();
    let role = a
        .acct
        .roles
        .iter()
        .find(|r| r.kind == crate::org::RoleKind::Ci)
        .unwrap_or(&a.acct.roles[0]);
    let (role_name, role_id) = (role.name.clone(), role.role_id.clone());
    a.ok(
        "us-east-1",
        "iam.amazonaws.com",
        "GetRole",
        true,
        json!({"roleName": role_name}),
        Value::Null,
    );
    a.wait(10, 60);
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::{id}:oidc-provider/token.actions.githubusercontent.com")}, "Action": "sts:AssumeRoleWithWebIdentity"},
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{external}:root")}, "Action": "sts:AssumeRole"}]}).to_string();
    a.ok(
        "us-east-1",
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        false,
        json!({"roleName": role_name, "policyDocument": policy}),
        Value::Null,
    );
    a.wait(60, 240);
    // The external account now assumes the role; CloudTrail shows an AWSAccount caller.
    let ext_pid = iam_id(&mut a.rng, "AIDA", 17);
    a.ident =
        json!({"type": "AWSAccount", "principalId": ext_pid, "accountId": external}).to_string();
    let session = format!("maint-{}", a.rng.u32(1000..9999));
    let key = iam_id(&mut a.rng, "ASIA", 16);
    let t = a.t;
    let role_arn = format!("arn:aws:iam::{id}:role/{role_name}");
    let token = format!("IQoJb3JpZ2luX2Vj{}", alnum(&mut a.rng, 340));
    a.ok("us-east-1", "sts.amazonaws.com", "AssumeRole", true,
        json!({"roleArn": role_arn, "roleSessionName": session}),
        json!({"credentials": {"accessKeyId": key, "sessionToken": token, "expiration": aws_long_date(t + 3600)}, "assumedRoleUser": {"assumedRoleId": format!("{role_id}:{session}"), "arn": format!("arn:aws:sts::{id}:assumed-role/{role_name}/{session}")}}))
        .resources = Some(format!("[{{\"accountId\":\"{id}\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"{role_arn}\"}}]"));
    a.wait(20, 60);
    a.ident = role_identity(&id, &role_name, &role_id, &session, &key, t, false);
    a.ok(
        "us-east-1",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        Value::Null,
        Value::Null,
    );
    a.wait(5, 30);
    a.ok(
        "us-east-1",
        "s3.amazonaws.com",
        "ListBuckets",
        true,
        json!({"Host": "s3.amazonaws.com"}),
        Value::Null,
    );
}

/// Scenarios for the learned baselines and attack chains (`SimOptions::detections`): each is
/// placed after the principals' learning period (day 8 on), with background all around.
pub(crate) const DETECTION_SCENARIOS: &[(&str, &str, &str)] = &[
    ("recon_then_privilege", "T1098.001", "Stolen key: a few denied calls while mapping permissions, then a self-granted inline policy and a new access key, which is then used."),
    ("logging_off_then_write", "T1562.008", "StopLogging, then IAM and network changes while the trail is off."),
    ("snapshot_created_then_shared", "T1537", "A fresh EBS snapshot created and at once shared with an external account."),
    ("new_key_mass_deletes", "T1485", "An access key created for a service user, first used, then 150 object deletes in one bucket."),
    ("off_hours_writes", "T1078.004", "A person's own CLI key makes changes at 03:00 local time on a Sunday."),
    ("volume_spike", "T1530", "A service user makes 1,500 calls in 45 minutes, far above its usual hourly volume."),
    ("first_seen_region_network_agent", "T1535", "A person's key used from a new network with a new client, in a region the organisation never uses."),
];

/// When each detection scenario starts: after the learning period, spread over the rest of the
/// window (at least day 8).
pub(crate) fn detection_times(seed: u64, start: i64, days: u32) -> Vec<i64> {
    let first = start + 8 * 86_400;
    let end = (start + i64::from(days) * 86_400).max(first + 2 * 86_400);
    let n = DETECTION_SCENARIOS.len() as i64;
    let step = (end - first) / (n + 1);
    let mut rng = rng_for(seed, &[41]);
    (0..n)
        .map(|k| first + step * k + 7_200 + rng.i64(0..(step / 4).max(1)))
        .collect()
}

/// Builds the detection scenarios; returns their ground truth and fills `map`.
pub(crate) fn build_detections(
    org: &Org,
    seed: u64,
    times: &[i64],
    map: &mut AttackMap,
) -> Vec<Scenario> {
    let mut out = Vec::new();
    for (k, (name, technique, description)) in DETECTION_SCENARIOS.iter().enumerate() {
        let acct_i = k % org.accounts.len();
        let acct = &org.accounts[acct_i];
        let mut rng = rng_for(seed, &[42, k as u64]);
        // Each scenario from its own /24 (benchmarking range), new to everyone.
        let ip = format!("198.18.{}.{}", k + 1, rng.u8(2..=254));
        let h = &acct.humans[(k * 3 + 1) % acct.humans.len()];
        let u = &acct.clis[(k * 5 + 2) % acct.clis.len()];
        let mut a = Atk {
            ident: iam_user_identity(acct, &h.user, &h.principal_id, Some(&h.key), None),
            arn: acct.user_arn(&h.user),
            rng,
            acct,
            acct_i,
            ip,
            ua: ATTACK_UAS[k % ATTACK_UAS.len()].to_string(),
            t: times.get(k).copied().unwrap_or_default(),
            recs: Vec::new(),
        };
        let mut principal = a.arn.clone();
        let mut access_key = Some(h.key.clone());
        let mut region = "us-east-1";
        match *name {
            "recon_then_privilege" => recon_then_privilege(&mut a, &h.user, &h.principal_id),
            "logging_off_then_write" => logging_off_then_write(&mut a),
            "snapshot_created_then_shared" => {
                snapshot_created_then_shared(&mut a, &org.external_account)
            }
            "new_key_mass_deletes" => new_key_mass_deletes(&mut a, &u.user, &u.principal_id),
            "off_hours_writes" => {
                // Sunday 03:00 in the person's time zone, from home, with their own CLI.
                let day = a.t.div_euclid(86_400);
                let sunday =
                    day + (6 - i64::from(crate::util::weekday(day * 86_400))).rem_euclid(7);
                a.t = sunday * 86_400 + (3 - h.tz) * 3600 + a.rng.i64(0..600);
                a.ip = h.home_ip.clone();
                a.ua = h.cli_ua.to_string();
                off_hours_writes(&mut a)
            }
            "volume_spike" => {
                principal = acct.user_arn(&u.user);
                access_key = Some(u.key.clone());
                a.ident = iam_user_identity(acct, &u.user, &u.principal_id, Some(&u.key), None);
                a.ip = u.ip.clone();
                a.ua = u.ua.to_string();
                volume_spike(&mut a)
            }
            "first_seen_region_network_agent" => {
                region = "sa-east-1";
                a.ua = "python-requests/2.31.0".into();
                first_seen(&mut a, region)
            }
            _ => {}
        }
        let id = format!("aws-d{:02}-{}", k + 1, name.replace('_', "-"));
        let meta = Meta {
            id,
            name,
            technique,
            description,
            account: &acct.id,
            region,
            principal,
            access_key,
        };
        out.push(file_scenario(&a, map, meta));
    }
    out
}

fn denied(a: &mut Atk<'_>, source: &'static str, name: &'static str) {
    let err = if source == "ec2.amazonaws.com" {
        (
            "Client.UnauthorizedOperation",
            "You are not authorized to perform this operation.".to_string(),
        )
    } else {
        let arn = a.arn.clone();
        ("AccessDenied", denied_message(&arn, source, name, "*"))
    };
    a.call(
        "us-east-1",
        source,
        name,
        true,
        Value::Null,
        Value::Null,
        Some(err),
    );
}

fn recon_then_privilege(a: &mut Atk<'_>, user: &str, pid: &str) {
    a.ok(
        "us-east-1",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        Value::Null,
        Value::Null,
    );
    for (src, name) in [
        ("s3.amazonaws.com", "ListBuckets"),
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("lambda.amazonaws.com", "ListFunctions20150331"),
        ("logs.amazonaws.com", "DescribeLogGroups"),
        ("secretsmanager.amazonaws.com", "ListSecrets"),
    ] {
        a.wait(3, 15);
        denied(a, src, name);
    }
    for name in [
        "ListAttachedUserPolicies",
        "ListUserPolicies",
        "ListGroupsForUser",
    ] {
        a.wait(1, 5);
        a.ok(
            "us-east-1",
            "iam.amazonaws.com",
            name,
            true,
            json!({"userName": user}),
            Value::Null,
        );
    }
    a.wait(20, 90);
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}).to_string();
    a.ok(
        "us-east-1",
        "iam.amazonaws.com",
        "PutUserPolicy",
        false,
        json!({"userName": user, "policyName": "s3-backup-access", "policyDocument": policy}),
        Value::Null,
    );
    a.wait(60, 200);
    let new_key = iam_id(&mut a.rng, "AKIA", 16);
    let t = a.t;
    a.ok("us-east-1", "iam.amazonaws.com", "CreateAccessKey", false,
        json!({"userName": user}),
        json!({"accessKey": {"accessKeyId": new_key, "status": "Active", "userName": user, "createDate": aws_long_date(t)}}));
    a.wait(30, 90);
    a.ident = iam_user_identity(a.acct, user, pid, Some(&new_key), None);
    a.ok(
        "us-east-1",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        Value::Null,
        Value::Null,
    );
    a.wait(5, 30);
    a.ok(
        "us-east-1",
        "s3.amazonaws.com",
        "ListBuckets",
        true,
        json!({"Host": "s3.amazonaws.com"}),
        Value::Null,
    );
}

fn logging_off_then_write(a: &mut Atk<'_>) {
    let trail = a.acct.trail.clone();
    a.ok(
        "us-east-1",
        "cloudtrail.amazonaws.com",
        "DescribeTrails",
        true,
        json!({"trailNameList": []}),
        Value::Null,
    );
    a.wait(10, 40);
    a.ok(
        "us-east-1",
        "cloudtrail.amazonaws.com",
        "StopLogging",
        false,
        json!({"name": trail}),
        Value::Null,
    );
    a.wait(60, 300);
    a.ok(
        "us-east-1",
        "iam.amazonaws.com",
        "CreateUser",
        false,
        json!({"userName": "aws-health-monitor"}),
        json!({"user": {"userName": "aws-health-monitor", "path": "/"}}),
    );
    a.wait(20, 90);
    let sg = a.acct.sgs[0].clone();
    a.ok("us-east-1", "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false,
        json!({"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443, "ipRanges": {"items": [{"cidrIp": "192.0.2.0/24"}]}}]}}),
        json!({"_return": true}));
}

fn snapshot_created_then_shared(a: &mut Atk<'_>, external: &str) {
    let volume = format!("vol-0{}", hex(&mut a.rng, 16));
    let snap = format!("snap-0{}", hex(&mut a.rng, 16));
    a.ok(
        "us-east-1",
        "ec2.amazonaws.com",
        "DescribeVolumes",
        true,
        json!({"volumeSet": {}}),
        Value::Null,
    );
    a.wait(10, 60);
    a.ok(
        "us-east-1",
        "ec2.amazonaws.com",
        "CreateSnapshot",
        false,
        json!({"volumeId": volume, "description": "temp"}),
        json!({"snapshotId": snap, "volumeId": volume, "status": "pending"}),
    );
    a.wait(300, 900);
    a.ok("us-east-1", "ec2.amazonaws.com", "ModifySnapshotAttribute", false,
        json!({"snapshotId": snap, "createVolumePermission": {"add": {"items": [{"userId": external}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"}),
        json!({"_return": true}));
}

fn new_key_mass_deletes(a: &mut Atk<'_>, svc_user: &str, svc_pid: &str) {
    let new_key = iam_id(&mut a.rng, "AKIA", 16);
    let t = a.t;
    a.ok("us-east-1", "iam.amazonaws.com", "CreateAccessKey", false,
        json!({"userName": svc_user}),
        json!({"accessKey": {"accessKeyId": new_key, "status": "Active", "userName": svc_user, "createDate": aws_long_date(t)}}));
    a.wait(60, 240);
    a.ident = iam_user_identity(a.acct, svc_user, svc_pid, Some(&new_key), None);
    a.arn = a.acct.user_arn(svc_user);
    a.ok(
        "us-east-1",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        Value::Null,
        Value::Null,
    );
    let bucket = a.acct.buckets[0].clone();
    a.s3("us-east-1", "ListObjects", &bucket, "", &[], None);
    for i in 0..150 {
        a.wait(0, 2);
        let key = format!("reports/2026/r-{i:05}.csv");
        a.s3("us-east-1", "DeleteObject", &bucket, &key, &[], None);
    }
}

fn off_hours_writes(a: &mut Atk<'_>) {
    let inst = a.acct.instances[0].clone();
    a.ok(
        "us-east-1",
        "ec2.amazonaws.com",
        "StopInstances",
        false,
        json!({"instancesSet": {"items": [{"instanceId": inst}]}, "force": false}),
        Value::Null,
    );
    a.wait(30, 120);
    a.ok(
        "us-east-1",
        "ec2.amazonaws.com",
        "ModifyInstanceAttribute",
        false,
        json!({"instanceId": inst, "userData": {"value": "<sensitiveDataRemoved>"}}),
        Value::Null,
    );
    a.wait(30, 120);
    a.ok(
        "us-east-1",
        "ec2.amazonaws.com",
        "StartInstances",
        false,
        json!({"instancesSet": {"items": [{"instanceId": inst}]}}),
        Value::Null,
    );
}

fn volume_spike(a: &mut Atk<'_>) {
    let names: [(&'static str, &'static str); 4] = [
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("ec2.amazonaws.com", "DescribeVolumes"),
        ("iam.amazonaws.com", "ListRoles"),
        ("ec2.amazonaws.com", "DescribeSnapshots"),
    ];
    for i in 0..1_500 {
        if i % 3 == 0 {
            a.wait(4, 6);
        }
        let (src, name) = names[i % names.len()];
        a.ok("us-east-1", src, name, true, Value::Null, Value::Null);
    }
}

fn first_seen(a: &mut Atk<'_>, region: &'static str) {
    a.ok(
        region,
        "ec2.amazonaws.com",
        "DescribeRegions",
        true,
        Value::Null,
        Value::Null,
    );
    a.wait(5, 20);
    a.ok(
        region,
        "ec2.amazonaws.com",
        "DescribeInstances",
        true,
        json!({"instancesSet": {}, "filterSet": {}}),
        Value::Null,
    );
    a.wait(5, 20);
    a.ok(
        region,
        "ec2.amazonaws.com",
        "DescribeKeyPairs",
        true,
        Value::Null,
        Value::Null,
    );
}
