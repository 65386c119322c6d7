//! Request/response shapes of the AWS API calls the background uses, as CloudTrail logs them.

use crate::org::Account;
use crate::util::{alnum, hex, iso, lower, obj_string, pick, upnum, uuid};
use fastrand::Rng;

/// The service-specific part of a record.
pub(crate) struct Call {
    pub source: &'static str,
    pub name: &'static str,
    pub read_only: bool,
    pub data: bool,
    /// Recorded in us-east-1 whatever region the caller used (IAM, STS global endpoint …).
    pub global: bool,
    pub req: String,
    pub resp: String,
    pub additional: Option<String>,
    pub resources: Option<String>,
    /// The resource named in an AccessDenied message.
    pub resource: String,
}

impl Call {
    fn new(source: &'static str, name: &'static str, read_only: bool) -> Call {
        Call {
            source,
            name,
            read_only,
            data: false,
            global: false,
            req: "null".into(),
            resp: "null".into(),
            additional: None,
            resources: None,
            resource: "*".into(),
        }
    }
    fn req(mut self, r: String) -> Self {
        self.req = r;
        self
    }
    fn resp(mut self, r: String) -> Self {
        self.resp = r;
        self
    }
    fn global(mut self) -> Self {
        self.global = true;
        self
    }
    fn resource(mut self, r: String) -> Self {
        self.resource = r;
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Api {
    DescribeInstances,
    DescribeSecurityGroups,
    DescribeVpcs,
    DescribeSubnets,
    DescribeVolumes,
    DescribeSnapshots,
    DescribeNetworkInterfaces,
    CreateTags,
    AuthorizeSgInternal,
    GetObject,
    PutObject,
    HeadObject,
    ListObjects,
    GetBucketAcl,
    GetBucketPolicy,
    GetBucketLocation,
    ListBuckets,
    GetCallerIdentity,
    Decrypt,
    GenerateDataKey,
    ListAliases,
    ListUsers,
    ListRoles,
    GetRole,
    GetUser,
    ListAttachedRolePolicies,
    GetAccountSummary,
    DescribeLogGroups,
    FilterLogEvents,
    CreateLogStream,
    DescribeAlarms,
    GetMetricData,
    ListFunctions,
    GetFunction,
    Invoke,
    DescribeTable,
    ListTables,
    GetItem,
    PutItem,
    Query,
    GetParameter,
    UpdateInstanceInformation,
    GetSecretValue,
    DescribeSecret,
    DescribeEventAggregates,
}

fn obj_key(rng: &mut Rng, bucket: &str) -> String {
    if bucket.contains("tfstate") {
        return format!(
            "env/{}/terraform.tfstate",
            pick(rng, &["network", "platform", "apps", "iam"])
        );
    }
    let (y, m, d) = crate::util::civil(20_000 + rng.i64(0..800));
    match rng.u8(0..4) {
        0 => format!(
            "exports/{y}/{m:02}/{d:02}/part-{:05}.parquet",
            rng.u32(0..2000)
        ),
        1 => format!("invoices/{y}/{m:02}/INV-{}.pdf", rng.u32(100_000..999_999)),
        2 => format!("img/{}/{}.jpg", lower(rng, 2), alnum(rng, 20)),
        _ => format!("backup/{y}-{m:02}-{d:02}/db-{}.dump.gz", hex(rng, 8)),
    }
}

/// The parts of an S3 object-level (data) event.
pub(crate) fn s3_object(
    rng: &mut Rng,
    acct: &Account,
    region: &str,
    name: &'static str,
    bucket: &str,
    key: &str,
    extra_req: &[(&str, &str)],
) -> Call {
    let read_only = matches!(name, "GetObject" | "HeadObject" | "ListObjects");
    let mut c = Call::new("s3.amazonaws.com", name, read_only);
    c.data = true;
    c.req = obj_string(|o| {
        o.str("bucketName", bucket)
            .str("Host", &format!("{bucket}.s3.{region}.amazonaws.com"));
        for (k, v) in extra_req {
            o.str(k, v);
        }
        if name == "ListObjects" {
            o.str("list-type", "2")
                .str("prefix", key)
                .str("encoding-type", "url");
        } else {
            o.str("key", key);
        }
    });
    let (bin, bout) = match name {
        "GetObject" => (0, rng.u32(800..5_000_000)),
        "PutObject" => (rng.u32(800..5_000_000), 0),
        "ListObjects" => (0, rng.u32(900..40_000)),
        _ => (0, 0),
    };
    if name == "PutObject" {
        c.resp = "{\"x-amz-server-side-encryption\":\"aws:kms\",\"x-amz-server-side-encryption-aws-kms-key-id\":\"".to_string()
            + &format!("arn:aws:kms:{region}:{}:key/{}", acct.id, acct.kms_key)
            + "\",\"x-amz-server-side-encryption-bucket-key-enabled\":true}";
    }
    c.additional = Some(obj_string(|o| {
        o.str("SignatureVersion", "SigV4")
            .str("CipherSuite", "TLS_AES_128_GCM_SHA256")
            .num("bytesTransferredIn", bin as i64)
            .str("AuthenticationMethod", "AuthHeader")
            .str("x-amz-id-2", &format!("{}=", alnum(rng, 75)))
            .num("bytesTransferredOut", bout as i64);
    }));
    c.resources = Some(if name == "ListObjects" {
        format!("[{{\"accountId\":\"{}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]", acct.id)
    } else {
        let mut s = String::from("[{\"type\":\"AWS::S3::Object\",\"ARN\":");
        crate::util::push_json_str(&mut s, &format!("arn:aws:s3:::{bucket}/{key}"));
        s.push_str(&format!(
            "}},{{\"accountId\":\"{}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]",
            acct.id
        ));
        s
    });
    c.resource = format!("arn:aws:s3:::{bucket}/{key}");
    c
}

fn ec2_describe(name: &'static str, req: String) -> Call {
    Call::new("ec2.amazonaws.com", name, true).req(req)
}

pub(crate) fn kms_key_arn(acct: &Account, region: &str) -> String {
    format!("arn:aws:kms:{region}:{}:key/{}", acct.id, acct.kms_key)
}

fn kms_resources(acct: &Account, region: &str) -> Option<String> {
    Some(format!(
        "[{{\"accountId\":\"{}\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"{}\"}}]",
        acct.id,
        kms_key_arn(acct, region)
    ))
}

pub(crate) fn build(api: Api, rng: &mut Rng, acct: &Account, region: &str, t: i64) -> Call {
    use Api::*;
    let id = &acct.id;
    match api {
        DescribeInstances => {
            let req = if rng.bool() {
                format!("{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{}\"}}]}},\"filterSet\":{{}}}}", pick(rng, &acct.instances))
            } else {
                "{\"maxResults\":1000,\"instancesSet\":{},\"filterSet\":{}}".into()
            };
            ec2_describe("DescribeInstances", req)
        }
        DescribeSecurityGroups => ec2_describe(
            "DescribeSecurityGroups",
            format!("{{\"securityGroupSet\":{{}},\"securityGroupIdSet\":{{\"items\":[{{\"groupId\":\"{}\"}}]}},\"filterSet\":{{}}}}", pick(rng, &acct.sgs)),
        ),
        DescribeVpcs => ec2_describe(
            "DescribeVpcs",
            format!("{{\"vpcSet\":{{\"items\":[{{\"vpcId\":\"{}\"}}]}},\"filterSet\":{{}}}}", acct.vpc),
        ),
        DescribeSubnets => ec2_describe(
            "DescribeSubnets",
            format!("{{\"subnetSet\":{{\"items\":[{{\"subnetId\":\"{}\"}}]}},\"filterSet\":{{}}}}", pick(rng, &acct.subnets)),
        ),
        DescribeVolumes => ec2_describe("DescribeVolumes", "{\"volumeSet\":{},\"filterSet\":{},\"maxResults\":500}".into()),
        DescribeSnapshots => ec2_describe(
            "DescribeSnapshots",
            "{\"snapshotSet\":{},\"ownersSet\":{\"items\":[{\"owner\":\"self\"}]},\"sharedUsersSet\":{},\"filterSet\":{}}".into(),
        ),
        DescribeNetworkInterfaces => ec2_describe(
            "DescribeNetworkInterfaces",
            format!("{{\"networkInterfaceIdSet\":{{}},\"filterSet\":{{\"items\":[{{\"name\":\"vpc-id\",\"valueSet\":{{\"items\":[{{\"value\":\"{}\"}}]}}}}]}}}}", acct.vpc),
        ),
        CreateTags => {
            let inst = pick(rng, &acct.instances).clone();
            let rid = uuid(rng);
            Call::new("ec2.amazonaws.com", "CreateTags", false)
                .req(format!("{{\"resourcesSet\":{{\"items\":[{{\"resourceId\":\"{inst}\"}}]}},\"tagSet\":{{\"items\":[{{\"key\":\"CostCenter\",\"value\":\"cc-{}\"}}]}}}}", rng.u16(1000..9999)))
                .resp(format!("{{\"requestId\":\"{rid}\",\"_return\":true}}"))
        }
        AuthorizeSgInternal => {
            let sg = pick(rng, &acct.sgs).clone();
            let port = *pick(rng, &[443u16, 5432, 6379, 8080]);
            let cidr = *pick(rng, &["10.0.0.0/8", "10.20.0.0/16", "172.16.0.0/12"]);
            let rid = uuid(rng);
            let rule = hex(rng, 17);
            Call::new("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", false)
                .req(format!("{{\"groupId\":\"{sg}\",\"ipPermissions\":{{\"items\":[{{\"ipProtocol\":\"tcp\",\"fromPort\":{port},\"toPort\":{port},\"groups\":{{}},\"ipRanges\":{{\"items\":[{{\"cidrIp\":\"{cidr}\",\"description\":\"internal\"}}]}},\"ipv6Ranges\":{{}},\"prefixListIds\":{{}}}}]}}}}"))
                .resp(format!("{{\"requestId\":\"{rid}\",\"_return\":true,\"securityGroupRuleSet\":{{\"items\":[{{\"groupOwnerId\":\"{id}\",\"groupId\":\"{sg}\",\"securityGroupRuleId\":\"sgr-0{rule}\",\"description\":\"internal\",\"isEgress\":false,\"ipProtocol\":\"tcp\",\"fromPort\":{port},\"toPort\":{port},\"cidrIpv4\":\"{cidr}\"}}]}}}}"))
        }
        GetObject | PutObject | HeadObject | ListObjects => {
            let bucket = pick(rng, &acct.buckets[..4]).clone();
            let key = if api == ListObjects { format!("exports/{}/", rng.u16(2020..2027)) } else { obj_key(rng, &bucket) };
            let name = match api {
                GetObject => "GetObject",
                PutObject => "PutObject",
                HeadObject => "HeadObject",
                _ => "ListObjects",
            };
            s3_object(rng, acct, region, name, &bucket, &key, &[])
        }
        GetBucketAcl | GetBucketPolicy | GetBucketLocation => {
            let bucket = pick(rng, &acct.buckets).clone();
            let (name, q) = match api {
                GetBucketAcl => ("GetBucketAcl", "acl"),
                GetBucketPolicy => ("GetBucketPolicy", "policy"),
                _ => ("GetBucketLocation", "location"),
            };
            let mut c = Call::new("s3.amazonaws.com", name, true)
                .req(format!("{{\"bucketName\":\"{bucket}\",\"Host\":\"{bucket}.s3.{region}.amazonaws.com\",\"{q}\":\"\"}}"))
                .resource(format!("arn:aws:s3:::{bucket}"));
            c.additional = Some(format!("{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":0,\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"{}=\",\"bytesTransferredOut\":{}}}", alnum(rng, 75), rng.u16(200..1500)));
            c.resources = Some(format!("[{{\"accountId\":\"{id}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{bucket}\"}}]"));
            c
        }
        ListBuckets => {
            let mut c = Call::new("s3.amazonaws.com", "ListBuckets", true)
                .req("{\"Host\":\"s3.amazonaws.com\"}".into())
                .global();
            c.additional = Some(format!("{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":0,\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"{}=\",\"bytesTransferredOut\":{}}}", alnum(rng, 75), rng.u16(1500..6000)));
            c
        }
        GetCallerIdentity => Call::new("sts.amazonaws.com", "GetCallerIdentity", true).global(),
        Decrypt => {
            let mut c = Call::new("kms.amazonaws.com", "Decrypt", true).req(format!(
                "{{\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"encryptionContext\":{{\"aws:s3:arn\":\"arn:aws:s3:::{}\"}}}}",
                pick(rng, &acct.buckets)
            ));
            c.resources = kms_resources(acct, region);
            c.resource = kms_key_arn(acct, region);
            c
        }
        GenerateDataKey => {
            let mut c = Call::new("kms.amazonaws.com", "GenerateDataKey", true).req(format!(
                "{{\"keyId\":\"{}\",\"encryptionContext\":{{\"aws:s3:arn\":\"arn:aws:s3:::{}\"}},\"keySpec\":\"AES_256\"}}",
                kms_key_arn(acct, region),
                pick(rng, &acct.buckets)
            ));
            c.resources = kms_resources(acct, region);
            c.resource = kms_key_arn(acct, region);
            c
        }
        ListAliases => Call::new("kms.amazonaws.com", "ListAliases", true).req("{\"limit\":100}".into()),
        ListUsers => Call::new("iam.amazonaws.com", "ListUsers", true).req("{\"maxItems\":100}".into()).global()
            .resource(format!("arn:aws:iam::{id}:user/")),
        ListRoles => Call::new("iam.amazonaws.com", "ListRoles", true).req("{\"maxItems\":100}".into()).global()
            .resource(format!("arn:aws:iam::{id}:role/")),
        GetRole | ListAttachedRolePolicies => {
            let role = pick(rng, &acct.roles).name.clone();
            let name = if api == GetRole { "GetRole" } else { "ListAttachedRolePolicies" };
            Call::new("iam.amazonaws.com", name, true)
                .req(format!("{{\"roleName\":\"{role}\"}}"))
                .global()
                .resource(format!("arn:aws:iam::{id}:role/{role}"))
        }
        GetUser => {
            let user = pick(rng, &acct.humans).user.clone();
            Call::new("iam.amazonaws.com", "GetUser", true)
                .req(format!("{{\"userName\":\"{user}\"}}"))
                .global()
                .resource(format!("arn:aws:iam::{id}:user/{user}"))
        }
        GetAccountSummary => Call::new("iam.amazonaws.com", "GetAccountSummary", true).global(),
        DescribeLogGroups => Call::new("logs.amazonaws.com", "DescribeLogGroups", true)
            .req(format!("{{\"logGroupNamePrefix\":\"/aws/lambda/{}\"}}", pick(rng, &acct.functions))),
        FilterLogEvents => {
            let f = pick(rng, &acct.functions).clone();
            Call::new("logs.amazonaws.com", "FilterLogEvents", true).req(format!(
                "{{\"logGroupName\":\"/aws/lambda/{f}\",\"startTime\":{},\"filterPattern\":\"ERROR\",\"interleaved\":true}}",
                (t - 3600) * 1000
            ))
        }
        CreateLogStream => {
            let f = pick(rng, &acct.functions).clone();
            let (y, m, d) = crate::util::civil(t.div_euclid(86_400));
            Call::new("logs.amazonaws.com", "CreateLogStream", false).req(format!(
                "{{\"logGroupName\":\"/aws/lambda/{f}\",\"logStreamName\":\"{y}/{m:02}/{d:02}/[$LATEST]{}\"}}",
                hex(rng, 32)
            ))
        }
        DescribeAlarms => Call::new("monitoring.amazonaws.com", "DescribeAlarms", true)
            .req("{\"alarmTypes\":[\"CompositeAlarm\",\"MetricAlarm\"],\"maxRecords\":100}".into()),
        GetMetricData => Call::new("monitoring.amazonaws.com", "GetMetricData", true).req(format!(
            "{{\"startTime\":\"{}\",\"endTime\":\"{}\",\"metricDataQueries\":[{{\"id\":\"m1\",\"metricStat\":{{\"metric\":{{\"namespace\":\"AWS/EC2\",\"metricName\":\"CPUUtilization\",\"dimensions\":[{{\"name\":\"InstanceId\",\"value\":\"{}\"}}]}},\"period\":300,\"stat\":\"Average\"}},\"returnData\":true}}]}}",
            iso(t - 10_800),
            iso(t),
            pick(rng, &acct.instances)
        )),
        ListFunctions => Call::new("lambda.amazonaws.com", "ListFunctions20150331", true)
            .req("{\"functionVersion\":\"ALL\",\"maxItems\":50}".into()),
        GetFunction => {
            let f = pick(rng, &acct.functions).clone();
            Call::new("lambda.amazonaws.com", "GetFunction20150331v2", true)
                .req(format!("{{\"functionName\":\"{f}\"}}"))
                .resource(format!("arn:aws:lambda:{region}:{id}:function:{f}"))
        }
        Invoke => {
            let f = pick(rng, &acct.functions).clone();
            let arn = format!("arn:aws:lambda:{region}:{id}:function:{f}");
            let mut c = Call::new("lambda.amazonaws.com", "Invoke", false)
                .req(format!("{{\"functionName\":\"{arn}\",\"invocationType\":\"Event\",\"sourceArn\":\"arn:aws:events:{region}:{id}:rule/{f}-schedule\"}}"))
                .resource(arn.clone());
            c.data = true;
            c.additional = Some("{\"functionVersion\":\"".to_string() + &arn + ":$LATEST\"}");
            c.resources = Some(format!("[{{\"accountId\":\"{id}\",\"type\":\"AWS::Lambda::Function\",\"ARN\":\"{arn}\"}}]"));
            c
        }
        DescribeTable | ListTables => {
            if api == ListTables {
                Call::new("dynamodb.amazonaws.com", "ListTables", true)
            } else {
                let tb = pick(rng, &acct.tables).clone();
                Call::new("dynamodb.amazonaws.com", "DescribeTable", true)
                    .req(format!("{{\"tableName\":\"{tb}\"}}"))
                    .resource(format!("arn:aws:dynamodb:{region}:{id}:table/{tb}"))
            }
        }
        GetItem | PutItem | Query => {
            let tb = pick(rng, &acct.tables).clone();
            let name = match api {
                GetItem => "GetItem",
                PutItem => "PutItem",
                _ => "Query",
            };
            let arn = format!("arn:aws:dynamodb:{region}:{id}:table/{tb}");
            let req = if name == "Query" {
                format!("{{\"tableName\":\"{tb}\",\"keyConditionExpression\":\"pk = :pk\",\"limit\":50}}")
            } else {
                format!("{{\"tableName\":\"{tb}\",\"key\":{{\"pk\":\"HIDDEN_DUE_TO_SECURITY_REASONS\"}}}}")
            };
            let mut c = Call::new("dynamodb.amazonaws.com", name, name != "PutItem").req(req).resource(arn.clone());
            c.data = true;
            c.resources = Some(format!("[{{\"accountId\":\"{id}\",\"type\":\"AWS::DynamoDB::Table\",\"ARN\":\"{arn}\"}}]"));
            c
        }
        GetParameter => {
            let p = format!("/{}/{}", pick(rng, &["app", "platform", "etl"]), pick(rng, &["config/feature-flags", "db/host", "api/base-url", "queue/url"]));
            Call::new("ssm.amazonaws.com", "GetParameter", true)
                .req(format!("{{\"name\":\"{p}\",\"withDecryption\":false}}"))
                .resource(format!("arn:aws:ssm:{region}:{id}:parameter{p}"))
        }
        UpdateInstanceInformation => {
            let inst = pick(rng, &acct.instances).clone();
            Call::new("ssm.amazonaws.com", "UpdateInstanceInformation", false).req(format!(
                "{{\"instanceId\":\"{inst}\",\"agentVersion\":\"3.3.987.0\",\"agentStatus\":\"Active\",\"platformType\":\"Linux\",\"platformName\":\"Amazon Linux\",\"platformVersion\":\"2023\",\"iPAddress\":\"10.{}.{}.{}\",\"computerName\":\"ip-10-0-1-{}.{region}.compute.internal\",\"agentName\":\"amazon-ssm-agent\",\"availabilityZone\":\"{region}a\",\"availabilityZoneId\":\"use1-az4\"}}",
                rng.u8(0..40), rng.u8(0..255), rng.u8(1..255), rng.u8(1..255)
            ))
        }
        GetSecretValue => {
            let s = pick(rng, &acct.secrets).clone();
            Call::new("secretsmanager.amazonaws.com", "GetSecretValue", true)
                .req(format!("{{\"secretId\":\"arn:aws:secretsmanager:{region}:{id}:secret:{s}\"}}"))
                .resource(format!("arn:aws:secretsmanager:{region}:{id}:secret:{s}"))
        }
        DescribeSecret => {
            let s = pick(rng, &acct.secrets).clone();
            Call::new("secretsmanager.amazonaws.com", "DescribeSecret", true)
                .req(format!("{{\"secretId\":\"arn:aws:secretsmanager:{region}:{id}:secret:{s}\"}}"))
        }
        DescribeEventAggregates => Call::new("health.amazonaws.com", "DescribeEventAggregates", true)
            .req("{\"aggregateField\":\"eventTypeCategory\",\"filter\":{\"eventStatusCodes\":[\"open\",\"upcoming\"]}}".into())
            .global(),
    }
}

/// S3-style request ids are 16 upper-case characters; others are UUIDs.
pub(crate) fn request_id(rng: &mut Rng, source: &str) -> String {
    if source == "s3.amazonaws.com" {
        upnum(rng, 16)
    } else {
        uuid(rng)
    }
}

use Api::*;
pub(crate) const CONSOLE_APIS: &[(Api, f64)] = &[
    (DescribeInstances, 8.0),
    (DescribeSecurityGroups, 4.0),
    (DescribeVpcs, 2.0),
    (DescribeSubnets, 2.0),
    (DescribeVolumes, 2.0),
    (DescribeSnapshots, 1.0),
    (GetBucketAcl, 2.0),
    (GetBucketPolicy, 2.0),
    (GetBucketLocation, 2.0),
    (ListBuckets, 2.0),
    (DescribeAlarms, 2.0),
    (GetMetricData, 4.0),
    (DescribeLogGroups, 2.0),
    (FilterLogEvents, 2.0),
    (ListFunctions, 2.0),
    (GetFunction, 2.0),
    (ListUsers, 1.0),
    (ListRoles, 1.0),
    (GetRole, 1.5),
    (ListAttachedRolePolicies, 1.0),
    (GetAccountSummary, 0.5),
    (DescribeEventAggregates, 2.0),
    (DescribeTable, 1.0),
    (ListTables, 1.0),
    (ListAliases, 0.5),
    (DescribeSecret, 0.5),
    (GetObject, 1.0),
    (PutObject, 0.5),
    (CreateTags, 0.3),
];
pub(crate) const HUMAN_CLI_APIS: &[(Api, f64)] = &[
    (GetCallerIdentity, 2.0),
    (DescribeInstances, 3.0),
    (GetObject, 4.0),
    (PutObject, 2.0),
    (ListObjects, 2.0),
    (HeadObject, 1.0),
    (FilterLogEvents, 2.0),
    (GetParameter, 1.0),
    (Decrypt, 1.0),
    (GetSecretValue, 0.1),
    (ListRoles, 0.5),
    (GetUser, 0.5),
    (Query, 1.0),
    (Invoke, 0.3),
];
pub(crate) const SVC_USER_APIS: &[(Api, f64)] = &[
    (GetObject, 6.0),
    (PutObject, 4.0),
    (HeadObject, 2.0),
    (ListObjects, 2.0),
    (GenerateDataKey, 2.0),
    (Decrypt, 2.0),
    (GetCallerIdentity, 0.5),
    (GetItem, 1.0),
    (Query, 1.0),
    (DescribeInstances, 0.5),
];
pub(crate) const LAMBDA_APIS: &[(Api, f64)] = &[
    (GetObject, 5.0),
    (PutObject, 3.0),
    (GetItem, 4.0),
    (PutItem, 3.0),
    (Query, 3.0),
    (Decrypt, 3.0),
    (GenerateDataKey, 1.0),
    (GetParameter, 2.0),
    (CreateLogStream, 1.0),
    (Invoke, 0.5),
    (GetSecretValue, 0.05),
];
pub(crate) const EC2_APIS: &[(Api, f64)] = &[
    (UpdateInstanceInformation, 4.0),
    (GetObject, 4.0),
    (PutObject, 2.0),
    (Decrypt, 2.0),
    (GetParameter, 2.0),
    (DescribeInstances, 1.0),
    (GetCallerIdentity, 0.3),
    (DescribeTable, 0.5),
];
pub(crate) const CI_APIS: &[(Api, f64)] = &[
    (DescribeInstances, 3.0),
    (DescribeSecurityGroups, 3.0),
    (DescribeVpcs, 2.0),
    (DescribeSubnets, 2.0),
    (DescribeNetworkInterfaces, 1.0),
    (GetRole, 3.0),
    (ListAttachedRolePolicies, 2.0),
    (GetBucketPolicy, 1.5),
    (GetBucketAcl, 1.5),
    (GetFunction, 2.0),
    (GetObject, 1.0),
    (GetItem, 1.0),
    (PutItem, 0.5),
    (DescribeTable, 1.0),
    (DescribeLogGroups, 1.0),
    (DescribeAlarms, 1.0),
    (CreateTags, 0.3),
    (AuthorizeSgInternal, 0.05),
    (GetCallerIdentity, 0.5),
];
pub(crate) const SCANNER_APIS: &[(Api, f64)] = &[
    (DescribeInstances, 2.0),
    (DescribeSecurityGroups, 2.0),
    (DescribeVpcs, 1.0),
    (DescribeSubnets, 1.0),
    (DescribeVolumes, 1.0),
    (DescribeSnapshots, 1.0),
    (DescribeNetworkInterfaces, 1.0),
    (GetBucketAcl, 2.0),
    (GetBucketPolicy, 2.0),
    (GetBucketLocation, 1.0),
    (ListBuckets, 1.0),
    (ListUsers, 1.0),
    (ListRoles, 1.0),
    (GetRole, 1.0),
    (ListAttachedRolePolicies, 1.0),
    (GetAccountSummary, 0.5),
    (ListFunctions, 1.0),
    (GetFunction, 1.0),
    (DescribeAlarms, 1.0),
    (DescribeLogGroups, 1.0),
    (ListAliases, 1.0),
    (DescribeSecret, 1.0),
    (DescribeTable, 1.0),
    (ListTables, 1.0),
];
