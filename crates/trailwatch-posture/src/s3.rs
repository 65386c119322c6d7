//! The buckets the trails deliver to, and the checks on each.
//!
//! Each bucket is read once whatever the number of trails delivering to it: its region
//! (`GetBucketLocation`), ACL, policy, public access block, versioning, Object Lock, access
//! logging and lifecycle configuration; each account's public access block once. A read that is denied or fails leaves the checks that
//! needed it `unknown`.

use crate::client::{Aws, CallError};
use crate::cloudtrail::Trail;
use crate::lifecycle;
use crate::{Check, Place, Status};
use serde::Deserialize;
use serde_json::Value;
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;
use trailwatch_recover::ident::Grammar;

/// Every S3 check id, in report order.
pub const IDS: [&str; 6] = [
    "aws.s3.log_bucket_not_public",
    "aws.s3.log_bucket_versioning",
    "aws.s3.log_bucket_object_lock_or_mfa_delete",
    "aws.s3.log_bucket_access_logging",
    "aws.s3.log_bucket_retention",
    "aws.s3.log_bucket_policy_restricted",
];

const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";

type Read<T> = Result<T, String>;

/// What was read of one log bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub region: String,
    /// Key prefixes the trails write under (`[S3KeyPrefix/]AWSLogs/`).
    pub log_prefixes: Vec<String>,
    /// Whether the ACL grants anything to everyone or to any AWS user, with the grants.
    pub acl_public: Read<Vec<String>>,
    /// The policy document (`None`: the bucket has none).
    pub policy: Read<Option<Value>>,
    /// The bucket's public access block (`None`: none is set).
    pub public_access_block: Read<Option<PublicAccessBlock>>,
    /// The account's public access block (`None`: none is set).
    pub account_public_access_block: Read<Option<PublicAccessBlock>>,
    pub versioning: Read<Versioning>,
    pub object_lock: Read<bool>,
    /// The access-log target bucket, when access logging is on.
    pub access_logging: Read<Option<String>>,
    pub lifecycle: Read<Option<lifecycle::Configuration>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlock {
    #[serde(default)]
    pub block_public_acls: Option<String>,
    #[serde(default)]
    pub ignore_public_acls: Option<String>,
    #[serde(default)]
    pub block_public_policy: Option<String>,
    #[serde(default)]
    pub restrict_public_buckets: Option<String>,
}

fn on(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Versioning {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub mfa_delete: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Acl {
    #[serde(default)]
    access_control_list: Option<Grants>,
}

#[derive(Debug, Deserialize)]
struct Grants {
    #[serde(rename = "Grant", default)]
    grants: Vec<Grant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Grant {
    grantee: Grantee,
    #[serde(default)]
    permission: String,
}

#[derive(Debug, Deserialize)]
struct Grantee {
    #[serde(rename = "URI", default)]
    uri: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ObjectLock {
    #[serde(default)]
    object_lock_enabled: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoggingStatus {
    #[serde(default)]
    logging_enabled: Option<LoggingEnabled>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoggingEnabled {
    target_bucket: String,
}

fn xml<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Read<T> {
    let text = std::str::from_utf8(body).map_err(|e| format!("{what}: {e}"))?;
    quick_xml::de::from_str(text).map_err(|e| format!("{what}: the answer is not understood: {e}"))
}

fn err(e: CallError) -> String {
    e.to_string()
}

/// Every S3 check of every bucket the trails deliver to.
/// A bucket's account is taken to be its first trail's.
pub fn checks(aws: &Aws, trails: &[Trail]) -> Vec<Check> {
    let mut names: Vec<(&str, &Trail)> = Vec::new();
    for t in trails {
        if let Some(b) = &t.bucket {
            if !names.iter().any(|(n, _)| n == b) {
                names.push((b, t));
            }
        }
    }
    let mut out = Vec::new();
    // The account-level block of each account, read once.
    let mut accounts: Vec<(String, Read<Option<PublicAccessBlock>>)> = Vec::new();
    for (name, first) in names {
        let prefixes: Vec<String> = trails
            .iter()
            .filter(|t| t.bucket.as_deref() == Some(name))
            .map(|t| match t.key_prefix.as_deref() {
                Some(p) => format!("{}/AWSLogs/", p.trim_end_matches('/')),
                None => "AWSLogs/".to_string(),
            })
            .collect();
        let place = Place {
            account: first.account.clone(),
            region: first.home_region.clone(),
            resource: name.to_string(),
        };
        if !Grammar::Bucket.fits(name) {
            let why = format!(
                "the trail names the bucket {:?}, which is not {}",
                trailwatch_escape::terminal(name),
                Grammar::Bucket.describe()
            );
            for id in IDS {
                out.push(place.unknown(id, Severity::High, "the log bucket", &why));
            }
            continue;
        }
        let mut bucket = read(aws, name, &first.home_region, prefixes);
        bucket.account_public_access_block =
            match accounts.iter().find(|(a, _)| *a == first.account) {
                Some((_, r)) => r.clone(),
                None => {
                    let r = aws
                        .account_public_access_block(&first.account, &bucket.region)
                        .map_err(err)
                        .and_then(|b| {
                            b.map(|b| xml::<PublicAccessBlock>(&b, "account public access block"))
                                .transpose()
                        });
                    accounts.push((first.account.clone(), r.clone()));
                    r
                }
            };
        let place = Place {
            region: bucket.region.clone(),
            ..place
        };
        out.extend(bucket_checks(&bucket, &place));
    }
    out
}

/// Reads everything the checks need of bucket `name`.
pub fn read(aws: &Aws, name: &str, fallback_region: &str, log_prefixes: Vec<String>) -> Bucket {
    // GetBucketLocation answers from us-east-1 for a bucket in any region.
    let region = match aws.s3_get(name, "us-east-1", "location", "GetBucketLocation", None) {
        Ok(Some(body)) => {
            let text = String::from_utf8_lossy(&body);
            match crate::client::element_text(&text, "LocationConstraint").as_deref() {
                None | Some("") => "us-east-1".to_string(),
                Some("EU") => "eu-west-1".to_string(),
                Some(r) if Grammar::AwsRegion.fits(r) => r.to_string(),
                Some(_) => fallback_region.to_string(),
            }
        }
        _ => fallback_region.to_string(),
    };
    let get =
        |sub: &str, op: &str, absent: Option<&str>| aws.s3_get(name, &region, sub, op, absent);
    let acl_public = get("acl", "GetBucketAcl", None).map_err(err).and_then(|b| {
        let acl: Acl = xml(&b.unwrap_or_default(), "ACL")?;
        Ok(public_grants(&acl))
    });
    let policy = get("policy", "GetBucketPolicy", Some("NoSuchBucketPolicy"))
        .map_err(err)
        .and_then(|b| match b {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| format!("bucket policy: not JSON: {e}")),
        });
    let public_access_block = get(
        "publicAccessBlock",
        "GetBucketPublicAccessBlock",
        Some("NoSuchPublicAccessBlockConfiguration"),
    )
    .map_err(err)
    .and_then(|b| {
        b.map(|b| xml::<PublicAccessBlock>(&b, "public access block"))
            .transpose()
    });
    let versioning = get("versioning", "GetBucketVersioning", None)
        .map_err(err)
        .and_then(|b| xml::<Versioning>(&b.unwrap_or_default(), "versioning"));
    let object_lock = get(
        "object-lock",
        "GetObjectLockConfiguration",
        Some("ObjectLockConfigurationNotFoundError"),
    )
    .map_err(err)
    .and_then(|b| match b {
        None => Ok(false),
        Some(b) => xml::<ObjectLock>(&b, "Object Lock")
            .map(|o| o.object_lock_enabled.as_deref() == Some("Enabled")),
    });
    let access_logging = get("logging", "GetBucketLogging", None)
        .map_err(err)
        .and_then(|b| xml::<LoggingStatus>(&b.unwrap_or_default(), "logging"))
        .map(|l| l.logging_enabled.map(|e| e.target_bucket));
    let lifecycle = get(
        "lifecycle",
        "GetBucketLifecycleConfiguration",
        Some("NoSuchLifecycleConfiguration"),
    )
    .map_err(err)
    .and_then(|b| match b {
        None => Ok(None),
        Some(b) => lifecycle::parse(&String::from_utf8_lossy(&b)).map(Some),
    });
    Bucket {
        name: name.to_string(),
        region,
        log_prefixes,
        acl_public,
        policy,
        public_access_block,
        account_public_access_block: Ok(None),
        versioning,
        object_lock,
        access_logging,
        lifecycle,
    }
}

fn public_grants(acl: &Acl) -> Vec<String> {
    acl.access_control_list
        .iter()
        .flat_map(|l| &l.grants)
        .filter_map(|g| {
            let uri = g.grantee.uri.as_deref()?;
            (uri.ends_with("/global/AllUsers") || uri.ends_with("/global/AuthenticatedUsers"))
                .then(|| format!("{} to {uri}", g.permission))
        })
        .collect()
}

/// The statements of a policy document (an object or an array).
fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

fn values(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn allows(s: &Value) -> bool {
    s.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// Every principal of a statement, as `kind:value` (`*` for `"Principal": "*"`).
fn principals(s: &Value) -> Vec<String> {
    match s.get("Principal") {
        Some(Value::String(p)) => vec![p.clone()],
        Some(Value::Object(m)) => m
            .iter()
            .flat_map(|(k, v)| values(Some(v)).into_iter().map(move |p| format!("{k}:{p}")))
            .collect(),
        _ if s.get("NotPrincipal").is_some() => vec!["NotPrincipal".to_string()],
        _ => Vec::new(),
    }
}

/// Statements allowing everyone (`*` or `AWS:*`) without a condition.
fn public_statements(policy: &Value) -> Vec<String> {
    statements(policy)
        .into_iter()
        .filter(|s| allows(s) && s.get("Condition").is_none())
        .filter(|s| {
            principals(s)
                .iter()
                .any(|p| p == "*" || p == "AWS:*" || p == "NotPrincipal")
        })
        .map(statement_name)
        .collect()
}

fn statement_name(s: &Value) -> String {
    let sid = s.get("Sid").and_then(Value::as_str).unwrap_or("(no Sid)");
    format!(
        "{sid:?} ({} to {})",
        values(s.get("Action")).join(","),
        principals(s).join(",")
    )
}

/// Whether an action pattern can write or delete objects.
fn writes(action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    a == "*"
        || a == "s3:*"
        || a.starts_with("s3:put")
        || a.starts_with("s3:delete")
        || a.starts_with("s3:p*")
        || a.starts_with("s3:d*")
        || a.starts_with("s3:restore")
        || a.starts_with("s3:replicate")
}

/// Allow statements letting anyone but CloudTrail write (a `NotAction` allow counts).
fn other_writers(policy: &Value) -> Vec<&Value> {
    statements(policy)
        .into_iter()
        .filter(|s| allows(s))
        .filter(|s| {
            s.get("NotAction").is_some() || values(s.get("Action")).iter().any(|a| writes(a))
        })
        .filter(|s| {
            let p = principals(s);
            p.is_empty() || p.iter().any(|p| *p != format!("Service:{CLOUDTRAIL}"))
        })
        .collect()
}

/// The six checks of one bucket.
pub fn bucket_checks(b: &Bucket, p: &Place) -> Vec<Check> {
    vec![
        not_public(b, p),
        versioning(b, p),
        object_lock_or_mfa_delete(b, p),
        access_logging(b, p),
        retention(b, p),
        policy_restricted(b, p),
    ]
}

fn s3api(op: &'static str, b: &Bucket) -> Cmd {
    Cmd::aws("s3api", op)
        .arg("--bucket", b.name.clone())
        .region(Some(&b.region))
}

/// How one way of being public reads: public, not, or unknown (with why).
enum Exposure {
    Public(String),
    Blocked(String),
    Closed(String),
    Unknown(String),
}

fn not_public(b: &Bucket, p: &Place) -> Check {
    const ID: &str = "aws.s3.log_bucket_not_public";
    const TITLE: &str =
        "the log bucket is not public (ACL, policy, bucket and account public access block)";
    // Whether IgnorePublicAcls and RestrictPublicBuckets are on, for the bucket or its
    // account (`None`: not readable, and not on where it could be read).
    let flags = |r: &Read<Option<PublicAccessBlock>>| match r {
        Ok(Some(x)) => (
            Some(on(&x.ignore_public_acls)),
            Some(on(&x.restrict_public_buckets)),
        ),
        Ok(None) => (Some(false), Some(false)),
        Err(_) => (None, None),
    };
    let either = |a: Option<bool>, b: Option<bool>| match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    };
    let (bucket_ignore, bucket_restrict) = flags(&b.public_access_block);
    let (account_ignore, account_restrict) = flags(&b.account_public_access_block);
    let (ignore, restrict) = (
        either(bucket_ignore, account_ignore),
        either(bucket_restrict, account_restrict),
    );
    let acl = match (&b.acl_public, ignore) {
        (_, Some(true)) => Exposure::Blocked(
            "public ACLs ignored (IgnorePublicAcls of the bucket or account)".into(),
        ),
        (Err(e), _) => Exposure::Unknown(e.clone()),
        (Ok(g), ignore) if !g.is_empty() => match ignore {
            Some(_) => Exposure::Public(format!("the ACL grants {}", g.join(", "))),
            None => Exposure::Unknown(format!(
                "the ACL grants {}, and the public access block could not be read",
                g.join(", ")
            )),
        },
        (Ok(_), _) => Exposure::Closed("the ACL grants nothing to everyone".into()),
    };
    let policy = match (&b.policy, restrict) {
        (_, Some(true)) => Exposure::Blocked(
            "public policies restricted (RestrictPublicBuckets of the bucket or account)".into(),
        ),
        (Err(e), _) => Exposure::Unknown(e.clone()),
        (Ok(Some(doc)), restrict) if !public_statements(doc).is_empty() => {
            let s = public_statements(doc).join(", ");
            match restrict {
                Some(_) => Exposure::Public(format!("the policy allows everyone: {s}")),
                None => Exposure::Unknown(format!("the policy allows everyone ({s}), and the public access block could not be read")),
            }
        }
        (Ok(_), _) => Exposure::Closed("the policy allows no one without a condition".into()),
    };
    let mut evidence = Vec::new();
    let (mut public, mut unknown) = (false, false);
    for e in [acl, policy] {
        match e {
            Exposure::Public(s) => {
                public = true;
                evidence.push(s);
            }
            Exposure::Unknown(s) => {
                unknown = true;
                evidence.push(format!("not read: {s}"));
            }
            Exposure::Blocked(s) | Exposure::Closed(s) => evidence.push(s),
        }
    }
    let status = match (public, unknown) {
        (true, _) => Status::Fail,
        (false, true) => Status::Unknown,
        (false, false) => Status::Pass,
    };
    p.check(ID, Severity::Critical, status, TITLE, evidence.join("; ")).with_fix(
        s3api("put-public-access-block", b).opt(
            "--public-access-block-configuration",
            "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
        ),
    )
}

fn versioning(b: &Bucket, p: &Place) -> Check {
    const ID: &str = "aws.s3.log_bucket_versioning";
    const TITLE: &str = "the log bucket is versioned";
    match &b.versioning {
        Err(e) => p.unknown(ID, Severity::Medium, TITLE, e),
        Ok(v) => {
            let enabled = v.status.as_deref() == Some("Enabled");
            p.check(
                ID,
                Severity::Medium,
                if enabled { Status::Pass } else { Status::Fail },
                TITLE,
                format!(
                    "versioning Status = {}",
                    v.status.as_deref().unwrap_or("never enabled")
                ),
            )
            .with_fix(
                s3api("put-bucket-versioning", b)
                    .opt("--versioning-configuration", "Status=Enabled"),
            )
        }
    }
}

fn object_lock_or_mfa_delete(b: &Bucket, p: &Place) -> Check {
    const ID: &str = "aws.s3.log_bucket_object_lock_or_mfa_delete";
    const TITLE: &str = "log files cannot be deleted at will (Object Lock or MFA delete)";
    let mfa = b
        .versioning
        .as_ref()
        .map(|v| v.mfa_delete.as_deref() == Some("Enabled"));
    let (status, evidence) = match (&b.object_lock, mfa) {
        (Ok(true), _) => (Status::Pass, "Object Lock enabled".to_string()),
        (_, Ok(true)) => (Status::Pass, "MFA delete enabled".to_string()),
        (Ok(false), Ok(false)) => (
            Status::Fail,
            "no Object Lock, MFA delete not enabled".to_string(),
        ),
        (Err(e), _) | (_, Err(e)) => (Status::Unknown, format!("not checked: {e}")),
    };
    let versioned = matches!(&b.versioning, Ok(v) if v.status.as_deref() == Some("Enabled"));
    let mut c = p.check(ID, Severity::Medium, status, TITLE, evidence);
    if !versioned {
        c = c.with_manual_fix("versioning first (aws.s3.log_bucket_versioning), then this command");
    }
    c.with_fix(s3api("put-object-lock-configuration", b).arg(
        "--object-lock-configuration",
        format!(
            r#"{{"ObjectLockEnabled":"Enabled","Rule":{{"DefaultRetention":{{"Mode":"GOVERNANCE","Days":{}}}}}}}"#,
            lifecycle::MIN_RETENTION_DAYS
        ),
    ))
}

fn access_logging(b: &Bucket, p: &Place) -> Check {
    const ID: &str = "aws.s3.log_bucket_access_logging";
    const TITLE: &str = "access to the log bucket is logged (server access logging)";
    match &b.access_logging {
        Err(e) => p.unknown(ID, Severity::Low, TITLE, e),
        Ok(Some(target)) => p.check(ID, Severity::Low, Status::Pass, TITLE, format!("access logs go to bucket {target}")),
        Ok(None) => p
            .check(ID, Severity::Low, Status::Fail, TITLE, "server access logging is off")
            .with_manual_fix("another bucket for access logs, then aws s3api put-bucket-logging --bucket <log bucket> --bucket-logging-status '{\"LoggingEnabled\":{\"TargetBucket\":\"<access-log bucket>\",\"TargetPrefix\":\"<log bucket>/\"}}'"),
    }
}

fn retention(b: &Bucket, p: &Place) -> Check {
    const ID: &str = "aws.s3.log_bucket_retention";
    const TITLE: &str = "no lifecycle rule deletes log files before 365 days";
    match &b.lifecycle {
        Err(e) => p.unknown(ID, Severity::Medium, TITLE, e),
        Ok(None) => p.check(
            ID,
            Severity::Medium,
            Status::Pass,
            TITLE,
            "no lifecycle configuration",
        ),
        Ok(Some(c)) => {
            let early = lifecycle::too_early(c, &b.log_prefixes);
            if early.is_empty() {
                return p.check(
                    ID,
                    Severity::Medium,
                    Status::Pass,
                    TITLE,
                    format!(
                        "{} lifecycle rules; none expires files under {} before {} days",
                        c.rules.len(),
                        b.log_prefixes.join(", "),
                        lifecycle::MIN_RETENTION_DAYS
                    ),
                );
            }
            let check = p.check(ID, Severity::Medium, Status::Fail, TITLE, early.join("; "));
            match lifecycle::corrected(c, &b.log_prefixes) {
                Ok(json) => check.with_fix(
                    s3api("put-bucket-lifecycle-configuration", b)
                        .arg("--lifecycle-configuration", json),
                ),
                Err(e) => check.with_manual_fix(&e),
            }
        }
    }
}

fn policy_restricted(b: &Bucket, p: &Place) -> Check {
    const ID: &str = "aws.s3.log_bucket_policy_restricted";
    const TITLE: &str = "only CloudTrail may write to the log bucket (bucket policy)";
    let doc = match &b.policy {
        Err(e) => return p.unknown(ID, Severity::High, TITLE, e),
        Ok(None) => {
            return p.check(ID, Severity::High, Status::Fail, TITLE, "no bucket policy: CloudTrail is not granted the writes it needs")
                .with_manual_fix("a bucket policy granting s3:GetBucketAcl and s3:PutObject to cloudtrail.amazonaws.com only (aws s3api put-bucket-policy)")
        }
        Ok(Some(d)) => d,
    };
    let others = other_writers(doc);
    if others.is_empty() {
        let cloudtrail = statements(doc).into_iter().any(|s| {
            allows(s)
                && principals(s)
                    .iter()
                    .any(|p| *p == format!("Service:{CLOUDTRAIL}"))
        });
        let evidence = if cloudtrail {
            "only cloudtrail.amazonaws.com is allowed to write"
        } else {
            "no statement allows writes (CloudTrail is not granted them either)"
        };
        return p.check(ID, Severity::High, Status::Pass, TITLE, evidence);
    }
    let names: Vec<String> = others.iter().map(|s| statement_name(s)).collect();
    let check = p.check(
        ID,
        Severity::High,
        Status::Fail,
        TITLE,
        format!("writes allowed by {}", names.join(", ")),
    );
    let mut kept = doc.clone();
    let remaining: Vec<Value> = statements(doc)
        .into_iter()
        .filter(|s| !others.iter().any(|o| std::ptr::eq(*o, *s)))
        .cloned()
        .collect();
    if remaining.is_empty() {
        return check.with_fix(s3api("delete-bucket-policy", b));
    }
    kept["Statement"] = Value::Array(remaining);
    check.with_fix(s3api("put-bucket-policy", b).arg("--policy", kept.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(versioning: &str, object_lock: bool) -> Bucket {
        Bucket {
            name: "org-logs".into(),
            region: "us-east-1".into(),
            log_prefixes: vec!["AWSLogs/".into()],
            acl_public: Ok(Vec::new()),
            policy: Ok(None),
            public_access_block: Ok(None),
            account_public_access_block: Ok(None),
            versioning: xml::<Versioning>(versioning.as_bytes(), "versioning"),
            object_lock: Ok(object_lock),
            access_logging: Ok(None),
            lifecycle: Ok(None),
        }
    }

    /// moto accepts MFA delete and ignores it, so this check's MFA path is tested on
    /// `GetBucketVersioning` answers written from the S3 API reference.
    #[test]
    fn mfa_delete_from_the_versioning_answer_counts_as_protection() {
        let p = Place {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            resource: "org-logs".into(),
        };
        let ns = r#"xmlns="http://s3.amazonaws.com/doc/2006-03-01/""#;
        let mfa = format!("<VersioningConfiguration {ns}><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>");
        let plain = format!("<VersioningConfiguration {ns}><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>");
        let never = format!("<VersioningConfiguration {ns}/>");
        let c = object_lock_or_mfa_delete(&bucket(&mfa, false), &p);
        assert_eq!(c.status, Status::Pass, "{c:?}");
        assert!(c.evidence.contains("MFA delete"), "{c:?}");
        let c = object_lock_or_mfa_delete(&bucket(&plain, false), &p);
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("put-object-lock-configuration")));
        assert_eq!(
            object_lock_or_mfa_delete(&bucket(&plain, true), &p).status,
            Status::Pass
        );
        let c = versioning(&bucket(&never, false), &p);
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c.evidence.contains("never enabled"), "{c:?}");
    }
}
