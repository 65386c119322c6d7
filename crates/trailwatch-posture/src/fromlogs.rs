//! The same checks read from the trail itself, for when there is no API access
//! (`posture aws --logs`).
//!
//! The calls that set a trail's or a log bucket's configuration are recorded in the trail:
//! `CreateTrail`/`UpdateTrail` (multi-region, global events, validation, KMS key, log group,
//! bucket), `StartLogging`/`StopLogging`, `DeleteTrail`, `PutEventSelectors`, and for each
//! trail's bucket `PutBucketPolicy`, `PutBucketAcl`, the public access block, versioning,
//! lifecycle, access logging and Object Lock calls. Replayed oldest first, the latest
//! successful call of each kind is the state (a record with an `errorCode` changed nothing);
//! the state becomes the same [`Trail`] and [`Bucket`] the API checks read, so the checks, ids
//! and fixes are the API checks' own. Each check's evidence ends with the calls that set what
//! it read (event name, `eventID`, time, caller).
//!
//! What the logs read never touched is `unknown` ("not in the logs read"), never a pass.
//! `aws.cloudtrail.recent_delivery` is always `unknown` (only `GetTrailStatus` knows the
//! delivery times); the GuardDuty and CIS metric-filter checks are left out: nothing in a
//! trail's own records describes a detector or a log group's filters. A deleted trail is one
//! failed `aws.cloudtrail.logging` check naming the `DeleteTrail` call (its other checks
//! would describe a trail that no longer exists); its bucket is still checked.

use crate::cloudtrail::{self, Trail};
use crate::s3::{self, Bucket, PublicAccessBlock, Versioning};
use crate::{lifecycle, Check, Place, Status};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use trailwatch_model::{Event, Provider, Severity};
use trailwatch_recover::ident::Grammar;

/// The reason of a check the logs never answered.
pub const NOT_IN_LOGS: &str = "not in the logs read";

/// The reason of `aws.cloudtrail.recent_delivery`.
pub const API_ONLY: &str =
    "only the API knows the delivery times (GetTrailStatus); run posture aws without --logs";

const EVENTS: [&str; 21] = [
    "CreateTrail",
    "UpdateTrail",
    "DeleteTrail",
    "StartLogging",
    "StopLogging",
    "PutEventSelectors",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketAcl",
    "PutBucketPublicAccessBlock",
    "PutPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "DeletePublicAccessBlock",
    "PutBucketVersioning",
    "PutBucketLifecycle",
    "PutBucketLifecycleConfiguration",
    "DeleteBucketLifecycle",
    "PutBucketLogging",
    "PutObjectLockConfiguration",
    "CreateBucket",
    "DeleteBucket",
];

/// The call that set a piece of state.
#[derive(Debug, Clone)]
struct Source(String);

impl Source {
    fn of(e: &Event, raw: &Value) -> Source {
        let id = raw.get("eventID").and_then(Value::as_str).unwrap_or("?");
        let time = chrono::DateTime::from_timestamp_millis(e.time_ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        Source(format!(
            "{} eventID {id} at {time} by {}",
            e.action,
            e.principal.label()
        ))
    }
}

/// What set each piece of state: field name → call.
type Set = BTreeMap<&'static str, Source>;

struct LoggedTrail {
    trail: Trail,
    set: Set,
    deleted: Option<Source>,
}

struct LoggedBucket {
    bucket: Bucket,
    account: String,
    set: Set,
    deleted: Option<Source>,
}

#[derive(Default)]
struct State {
    trails: Vec<LoggedTrail>,
    buckets: Vec<LoggedBucket>,
}

/// Every check the logs answer, from `events` (any order; replayed oldest first).
pub fn checks(events: &[Event]) -> Vec<Check> {
    let mut order: Vec<&Event> = events
        .iter()
        .filter(|e| e.provider == Provider::Aws && EVENTS.contains(&e.action.as_str()))
        .collect();
    order.sort_by_key(|e| e.time_ms);
    let mut state = State::default();
    for e in order {
        let Ok(raw) = serde_json::from_str::<Value>(&e.raw) else {
            continue;
        };
        let failed = raw
            .get("errorCode")
            .is_some_and(|c| !c.is_null() && c.as_str() != Some(""));
        if failed {
            continue;
        }
        let req = raw.get("requestParameters").cloned().unwrap_or(Value::Null);
        let resp = raw.get("responseElements").cloned().unwrap_or(Value::Null);
        let src = Source::of(e, &raw);
        match e.service.as_deref() {
            Some("s3.amazonaws.com") => state.bucket_call(e, &req, src),
            Some("cloudtrail.amazonaws.com") => state.trail_call(e, &req, &resp, src),
            _ => {}
        }
    }
    state.report()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn flag(req: &Value, resp: &Value, req_key: &str, resp_key: &str) -> Option<bool> {
    let b = |v: &Value, k: &str| match v.get(k)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    b(req, req_key).or_else(|| b(resp, resp_key))
}

/// The last part of a trail name or ARN (`…:trail/NAME`).
fn trail_name(name: &str) -> &str {
    name.rsplit_once(":trail/").map_or(name, |(_, n)| n)
}

impl State {
    fn trail(&mut self, e: &Event, name: &str, arn: Option<String>) -> &mut LoggedTrail {
        let account = e.account.clone().unwrap_or_else(|| "unknown".to_string());
        let region = e.region.clone().unwrap_or_else(|| "unknown".to_string());
        let short = trail_name(name).to_string();
        let at = self
            .trails
            .iter()
            .position(|t| t.trail.account == account && t.trail.name == short);
        let i = at.unwrap_or_else(|| {
            let arn = arn
                .or_else(|| name.starts_with("arn:").then(|| name.to_string()))
                .unwrap_or_else(|| format!("arn:aws:cloudtrail:{region}:{account}:trail/{short}"));
            self.trails.push(LoggedTrail {
                trail: blank_trail(short, arn, account, region),
                set: Set::new(),
                deleted: None,
            });
            self.trails.len() - 1
        });
        &mut self.trails[i]
    }

    fn trail_call(&mut self, e: &Event, req: &Value, resp: &Value, src: Source) {
        let Some(name) = text(req, "name").or_else(|| text(req, "trailName")) else {
            return;
        };
        let arn = text(resp, "trailARN");
        let t = self.trail(e, &name, arn);
        match e.action.as_str() {
            "CreateTrail" => {
                t.deleted = None;
                if let Some(r) = &e.region {
                    t.trail.home_region = r.clone();
                }
                t.trail.status = Ok(json!({"IsLogging": false}));
                t.trail.selectors = Ok(json!({}));
                for field in ["logging", "selectors"] {
                    t.set.insert(field, src.clone());
                }
                trail_settings(t, req, resp, &src, true);
            }
            "UpdateTrail" => trail_settings(t, req, resp, &src, false),
            "DeleteTrail" => t.deleted = Some(src),
            "StartLogging" | "StopLogging" => {
                let on = e.action == "StartLogging";
                t.trail.status = Ok(json!({"IsLogging": on}));
                t.set.insert("logging", src);
            }
            _ => {
                t.trail.selectors = Ok(pascal_keys(req));
                t.set.insert("selectors", src);
            }
        }
    }

    fn bucket_call(&mut self, e: &Event, req: &Value, src: Source) {
        let Some(name) = text(req, "bucketName") else {
            return;
        };
        let at = self.buckets.iter().position(|b| b.bucket.name == name);
        let i = at.unwrap_or_else(|| {
            self.buckets.push(LoggedBucket {
                bucket: blank_bucket(&name, e.region.as_deref().unwrap_or("unknown")),
                account: e.account.clone().unwrap_or_else(|| "unknown".to_string()),
                set: Set::new(),
                deleted: None,
            });
            self.buckets.len() - 1
        });
        let b = &mut self.buckets[i];
        match e.action.as_str() {
            "DeleteBucket" => b.deleted = Some(src),
            "CreateBucket" => {
                b.deleted = None;
                b.bucket = created_bucket(&b.bucket.name, e.region.as_deref(), req);
                b.set.clear();
                for field in CREATED {
                    b.set.insert(field, src.clone());
                }
            }
            action => {
                if let Some(field) = bucket_state(action, req, &mut b.bucket) {
                    b.set.insert(field, src);
                }
            }
        }
    }

    fn report(mut self) -> Vec<Check> {
        let mut out = Vec::new();
        let mut buckets: Vec<(String, Trail)> = Vec::new();
        for t in &self.trails {
            out.extend(trail_report(t));
            if let Some(b) = &t.trail.bucket {
                if !buckets.iter().any(|(n, _)| n == b) {
                    buckets.push((b.clone(), t.trail.clone()));
                }
            }
        }
        for (name, trail) in buckets {
            let prefixes: Vec<String> = self
                .trails
                .iter()
                .filter(|t| t.trail.bucket.as_deref() == Some(name.as_str()))
                .map(|t| match t.trail.key_prefix.as_deref() {
                    Some(p) => format!("{}/AWSLogs/", p.trim_end_matches('/')),
                    None => "AWSLogs/".to_string(),
                })
                .collect();
            let logged = match self.buckets.iter().position(|b| b.bucket.name == name) {
                Some(i) => self.buckets.swap_remove(i),
                None => LoggedBucket {
                    bucket: blank_bucket(&name, &trail.home_region),
                    account: trail.account.clone(),
                    set: Set::new(),
                    deleted: None,
                },
            };
            out.extend(bucket_report(logged, prefixes, &trail));
        }
        out
    }
}

fn blank_trail(name: String, arn: String, account: String, region: String) -> Trail {
    Trail {
        name,
        arn,
        account,
        home_region: region,
        bucket: None,
        key_prefix: None,
        multi_region: false,
        organization: false,
        global_events: false,
        validation: false,
        kms_key: None,
        log_group: None,
        seen_in: Vec::new(),
        status: Ok(json!({})),
        selectors: Ok(json!({})),
    }
}

/// `CreateTrail` (every setting, defaults for those not given) or `UpdateTrail` (those given).
fn trail_settings(t: &mut LoggedTrail, req: &Value, resp: &Value, src: &Source, create: bool) {
    let mut set = |field: &'static str| {
        t.set.insert(field, src.clone());
    };
    let tr = &mut t.trail;
    let pairs = [
        (
            "multi_region",
            "isMultiRegionTrail",
            "isMultiRegionTrail",
            false,
        ),
        (
            "global",
            "includeGlobalServiceEvents",
            "includeGlobalServiceEvents",
            true,
        ),
        (
            "validation",
            "enableLogFileValidation",
            "logFileValidationEnabled",
            false,
        ),
    ];
    for (field, req_key, resp_key, default) in pairs {
        let v = flag(req, resp, req_key, resp_key).or(create.then_some(default));
        if let Some(v) = v {
            match field {
                "multi_region" => tr.multi_region = v,
                "global" => tr.global_events = v,
                _ => tr.validation = v,
            }
            set(field);
        }
    }
    if let Some(v) = flag(req, resp, "isOrganizationTrail", "isOrganizationTrail") {
        tr.organization = v;
    }
    // An empty string removes a key or a log group.
    let opt = |k: &str| {
        let given = req.get(k).or_else(|| resp.get(k));
        match given.and_then(Value::as_str) {
            Some(s) => Some(Some(s.to_string()).filter(|s| !s.is_empty())),
            None => create.then_some(None),
        }
    };
    for (field, key) in [
        ("kms", "kmsKeyId"),
        ("log_group", "cloudWatchLogsLogGroupArn"),
        ("bucket", "s3BucketName"),
        ("key_prefix", "s3KeyPrefix"),
    ] {
        let Some(v) = opt(key) else { continue };
        match field {
            "kms" => tr.kms_key = v,
            "log_group" => tr.log_group = v,
            "bucket" => tr.bucket = v,
            _ => tr.key_prefix = v,
        }
        set(field);
    }
}

/// CloudTrail's request parameters in the API's answer shape (`eventSelectors` →
/// `EventSelectors`, `readWriteType` → `ReadWriteType`, …), for [`crate::selectors`].
fn pascal_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(f) => f.to_uppercase().chain(c).collect(),
                        None => String::new(),
                    };
                    (key, pascal_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(pascal_keys).collect()),
        other => other.clone(),
    }
}

/// Which pieces of state a trail check reads (`None`: only the API answers it).
fn trail_fields(id: &str) -> Option<&'static [&'static str]> {
    Some(match id {
        "aws.cloudtrail.multi_region" => &["multi_region"],
        "aws.cloudtrail.logging" => &["logging"],
        "aws.cloudtrail.global_service_events" => &["global"],
        "aws.cloudtrail.log_file_validation" => &["validation"],
        "aws.cloudtrail.kms_encryption" => &["kms"],
        "aws.cloudtrail.management_events" | "aws.cloudtrail.data_events_s3" => &["selectors"],
        "aws.cloudtrail.cloudwatch_logs" => &["log_group"],
        _ => return None,
    })
}

fn bucket_fields(id: &str) -> &'static [&'static str] {
    match id {
        "aws.s3.log_bucket_not_public" => &["acl", "policy", "public_access_block"],
        "aws.s3.log_bucket_versioning" => &["versioning"],
        "aws.s3.log_bucket_object_lock_or_mfa_delete" => &["object_lock", "versioning"],
        "aws.s3.log_bucket_access_logging" => &["access_logging"],
        "aws.s3.log_bucket_retention" => &["lifecycle"],
        _ => &["policy"],
    }
}

/// The check as the API checks made it, with the calls that set what it read; `unknown`
/// when none did.
fn sourced(c: Check, fields: Option<&[&str]>, set: &Set, place: &Place) -> Check {
    let Some(fields) = fields else {
        return place.unknown(c.id, c.severity, &c.title, API_ONLY);
    };
    let mut sources: Vec<&str> = Vec::new();
    for s in fields.iter().filter_map(|f| set.get(f)) {
        if !sources.contains(&s.0.as_str()) {
            sources.push(&s.0);
        }
    }
    if sources.is_empty() {
        return place.unknown(c.id, c.severity, &c.title, NOT_IN_LOGS);
    }
    let mut c = c;
    c.evidence = format!("{}; set by {}", c.evidence, sources.join("; "));
    c
}

fn trail_report(t: &LoggedTrail) -> Vec<Check> {
    let place = Place {
        account: t.trail.account.clone(),
        region: t.trail.home_region.clone(),
        resource: t.trail.arn.clone(),
    };
    if let Some(deleted) = &t.deleted {
        return vec![place
            .check(
                "aws.cloudtrail.logging",
                Severity::High,
                Status::Fail,
                "the trail is logging",
                format!("the trail was deleted by {}", deleted.0),
            )
            .with_manual_fix("recreate the trail (aws cloudtrail create-trail, multi-region, with log-file validation), then aws cloudtrail start-logging")];
    }
    cloudtrail::trail_checks(&t.trail, 0)
        .into_iter()
        .map(|c| {
            let fields = trail_fields(c.id);
            sourced(c, fields, &t.set, &place)
        })
        .collect()
}

fn blank_bucket(name: &str, region: &str) -> Bucket {
    fn not<T>() -> Result<T, String> {
        Err(NOT_IN_LOGS.to_string())
    }
    Bucket {
        name: name.to_string(),
        region: region.to_string(),
        log_prefixes: Vec::new(),
        acl_public: not(),
        policy: not(),
        // A public access block never set in the logs counts as none (see the evidence).
        public_access_block: Ok(None),
        account_public_access_block: Ok(None),
        versioning: not(),
        object_lock: not(),
        access_logging: not(),
        lifecycle: not(),
    }
}

fn bucket_report(b: LoggedBucket, prefixes: Vec<String>, trail: &Trail) -> Vec<Check> {
    let LoggedBucket {
        mut bucket,
        account,
        set,
        deleted,
    } = b;
    bucket.log_prefixes = prefixes;
    let place = Place {
        account,
        region: bucket.region.clone(),
        resource: bucket.name.clone(),
    };
    if let Some(deleted) = deleted {
        let why = format!("the bucket was deleted by {}", deleted.0);
        return s3::IDS
            .iter()
            .map(|&id| place.unknown(id, Severity::High, "the log bucket", &why))
            .collect();
    }
    if !Grammar::Bucket.fits(&bucket.name) {
        let why = format!(
            "trail {} names the bucket {:?}, which is not {}",
            trail.arn,
            trailwatch_escape::terminal(&bucket.name),
            Grammar::Bucket.describe()
        );
        return s3::IDS
            .iter()
            .map(|&id| place.unknown(id, Severity::High, "the log bucket", &why))
            .collect();
    }
    s3::bucket_checks(&bucket, &place)
        .into_iter()
        .map(|c| {
            let id = c.id;
            let mut c = sourced(c, Some(bucket_fields(id)), &set, &place);
            if id == "aws.s3.log_bucket_not_public"
                && c.status != Status::Unknown
                && !set.contains_key("public_access_block")
            {
                c.evidence.push_str("; no public access block call in the logs read (one set before them, on the bucket or the account, would override)");
            }
            c
        })
        .collect()
}

/// Applies one bucket call; the field it set.
fn bucket_state(action: &str, req: &Value, b: &mut Bucket) -> Option<&'static str> {
    let field = match action {
        "PutBucketPolicy" => {
            b.policy = policy_of(req.get("bucketPolicy")).map(Some);
            "policy"
        }
        "DeleteBucketPolicy" => {
            b.policy = Ok(None);
            "policy"
        }
        "PutBucketAcl" => {
            b.acl_public = Ok(public_grants(req));
            "acl"
        }
        "PutBucketPublicAccessBlock" | "PutPublicAccessBlock" => {
            let c = req.get("PublicAccessBlockConfiguration");
            let on = |k: &str| {
                c.and_then(|c| c.get(k))
                    .map(|v| v.to_string().trim_matches('"').to_string())
            };
            b.public_access_block = Ok(Some(PublicAccessBlock {
                block_public_acls: on("BlockPublicAcls"),
                ignore_public_acls: on("IgnorePublicAcls"),
                block_public_policy: on("BlockPublicPolicy"),
                restrict_public_buckets: on("RestrictPublicBuckets"),
            }));
            "public_access_block"
        }
        "DeleteBucketPublicAccessBlock" | "DeletePublicAccessBlock" => {
            b.public_access_block = Ok(None);
            "public_access_block"
        }
        "PutBucketVersioning" => {
            let c = req.get("VersioningConfiguration").unwrap_or(&Value::Null);
            b.versioning = Ok(Versioning {
                status: text(c, "Status"),
                mfa_delete: text(c, "MfaDelete"),
            });
            "versioning"
        }
        "PutBucketLifecycle" | "PutBucketLifecycleConfiguration" => {
            b.lifecycle = lifecycle_of(req.get("LifecycleConfiguration")).map(Some);
            "lifecycle"
        }
        "DeleteBucketLifecycle" => {
            b.lifecycle = Ok(None);
            "lifecycle"
        }
        "PutBucketLogging" => {
            let on = req
                .get("BucketLoggingStatus")
                .and_then(|s| s.get("LoggingEnabled"))
                .and_then(|l| text(l, "TargetBucket"));
            b.access_logging = Ok(on);
            "access_logging"
        }
        "PutObjectLockConfiguration" => {
            let c = req.get("ObjectLockConfiguration").unwrap_or(&Value::Null);
            b.object_lock = Ok(text(c, "ObjectLockEnabled").as_deref() == Some("Enabled"));
            "object_lock"
        }
        _ => return None,
    };
    Some(field)
}

/// What `CreateBucket` sets: a new bucket is private unless its ACL headers say otherwise,
/// has no policy, versioning, access logging or lifecycle rules, and Object Lock only when
/// asked for (its public access block depends on the date and the account: not assumed).
const CREATED: [&str; 6] = [
    "acl",
    "policy",
    "versioning",
    "object_lock",
    "access_logging",
    "lifecycle",
];

fn created_bucket(name: &str, region: Option<&str>, req: &Value) -> Bucket {
    let lock = req
        .get("x-amz-bucket-object-lock-enabled")
        .map(|v| v.to_string().to_ascii_lowercase().contains("true"));
    Bucket {
        acl_public: Ok(public_grants(req)),
        policy: Ok(None),
        versioning: Ok(Versioning::default()),
        object_lock: Ok(lock.unwrap_or(false)),
        access_logging: Ok(None),
        lifecycle: Ok(None),
        ..blank_bucket(name, region.unwrap_or("unknown"))
    }
}

/// The policy document of `PutBucketPolicy` (an object, or the document as a string).
fn policy_of(v: Option<&Value>) -> Result<Value, String> {
    match v {
        Some(Value::String(s)) => {
            serde_json::from_str(s).map_err(|e| format!("bucket policy: not JSON: {e}"))
        }
        Some(doc @ Value::Object(_)) => Ok(doc.clone()),
        _ => Err("PutBucketPolicy without a readable bucketPolicy".to_string()),
    }
}

/// An object or an array, as a list (CloudTrail writes one XML element as an object).
fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => Vec::new(),
    }
}

/// The grants to everyone or to any AWS user of a `PutBucketAcl`: the ACL document, the
/// canned `x-amz-acl` and the `x-amz-grant-*` headers.
fn public_grants(req: &Value) -> Vec<String> {
    let everyone =
        |uri: &str| uri.contains("/global/AllUsers") || uri.contains("/global/AuthenticatedUsers");
    let mut out = Vec::new();
    let list = req
        .get("AccessControlPolicy")
        .and_then(|p| p.get("AccessControlList"))
        .and_then(|l| l.get("Grant"));
    for g in as_list(list) {
        let uri = g.get("Grantee").and_then(|x| text(x, "URI"));
        if let Some(uri) = uri.filter(|u| everyone(u)) {
            let permission = text(g, "Permission").unwrap_or_default();
            out.push(format!("{permission} to {uri}"));
        }
    }
    if let Some(m) = req.as_object() {
        for (k, v) in m {
            let values: Vec<String> = match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            for value in values {
                let canned = k == "x-amz-acl"
                    && matches!(
                        value.as_str(),
                        "public-read" | "public-read-write" | "authenticated-read"
                    );
                if canned || (k.starts_with("x-amz-grant-") && everyone(&value)) {
                    out.push(format!("{k}: {value}"));
                }
            }
        }
    }
    out
}

/// The lifecycle configuration of a `PutBucketLifecycle[Configuration]`.
fn lifecycle_of(v: Option<&Value>) -> Result<lifecycle::Configuration, String> {
    let Some(v) = v else {
        return Err("no LifecycleConfiguration in the request".to_string());
    };
    serde_json::from_value(listed(v))
        .map_err(|e| format!("lifecycle configuration: not understood: {e}"))
}

/// The configuration with its repeatable elements (`Rule`, `Transition`, `Tag`, …) as lists
/// and numbers written as strings read as numbers, as the XML reader sees them.
fn listed(v: &Value) -> Value {
    const LISTS: [&str; 4] = ["Rule", "Transition", "NoncurrentVersionTransition", "Tag"];
    const NUMBERS: [&str; 6] = [
        "Days",
        "NoncurrentDays",
        "NewerNoncurrentVersions",
        "DaysAfterInitiation",
        "ObjectSizeGreaterThan",
        "ObjectSizeLessThan",
    ];
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Object(_) if LISTS.contains(&k.as_str()) => {
                            Value::Array(vec![listed(v)])
                        }
                        Value::String(s) if NUMBERS.contains(&k.as_str()) => {
                            s.parse::<u64>().map_or_else(|_| v.clone(), |n| json!(n))
                        }
                        _ => listed(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(listed).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> Bucket {
        blank_bucket("logs", "us-east-1")
    }

    #[test]
    fn acl_grants_to_everyone_are_read_from_the_document_and_the_headers() {
        let req = json!({"bucketName": "logs", "acl": "", "AccessControlPolicy": {
            "AccessControlList": {"Grant": {"Grantee": {"xsi:type": "Group",
                "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}}}});
        assert_eq!(
            public_grants(&req),
            ["READ to http://acs.amazonaws.com/groups/global/AllUsers"]
        );
        let canned = json!({"bucketName": "logs", "x-amz-acl": ["authenticated-read"]});
        assert_eq!(public_grants(&canned), ["x-amz-acl: authenticated-read"]);
        let private = json!({"bucketName": "logs", "x-amz-acl": ["private"],
            "x-amz-grant-read": "id=abc"});
        assert!(public_grants(&private).is_empty());
    }

    #[test]
    fn a_public_access_block_and_its_removal_are_read() {
        let mut b = blank();
        let req = json!({"bucketName": "logs", "PublicAccessBlockConfiguration": {
            "RestrictPublicBuckets": true, "IgnorePublicAcls": "true", "BlockPublicAcls": false}});
        assert_eq!(
            bucket_state("PutBucketPublicAccessBlock", &req, &mut b),
            Some("public_access_block")
        );
        let pab = b.public_access_block.clone().unwrap().unwrap();
        assert_eq!(pab.restrict_public_buckets.as_deref(), Some("true"));
        assert_eq!(pab.ignore_public_acls.as_deref(), Some("true"));
        assert_eq!(pab.block_public_acls.as_deref(), Some("false"));
        bucket_state("DeleteBucketPublicAccessBlock", &json!({}), &mut b);
        assert_eq!(b.public_access_block, Ok(None));
    }

    #[test]
    fn lifecycle_rules_in_cloudtrail_shape_are_read() {
        let mut b = blank();
        b.log_prefixes = vec!["AWSLogs/".to_string()];
        let req = json!({"bucketName": "logs", "LifecycleConfiguration": {"Rule": [
            {"ID": "short", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
             "Expiration": {"Days": "30"}, "Transition": {"Days": 10, "StorageClass": "GLACIER"}},
            {"ID": "tagged", "Status": "Enabled",
             "Filter": {"And": {"Prefix": "x/", "Tag": {"Key": "k", "Value": "123"}}},
             "Expiration": {"Days": 1}}]}});
        bucket_state("PutBucketLifecycleConfiguration", &req, &mut b);
        let c = b.lifecycle.clone().unwrap().unwrap();
        assert_eq!(c.rules.len(), 2);
        let early = lifecycle::too_early(&c, &b.log_prefixes);
        assert_eq!(early.len(), 1, "{early:?}");
        assert!(early[0].contains("short"), "{early:?}");
        let bad = json!({"bucketName": "logs", "LifecycleConfiguration": {"Rule": {"Status": 5}}});
        bucket_state("PutBucketLifecycle", &bad, &mut b);
        assert!(b.lifecycle.unwrap_err().contains("not understood"));
    }

    #[test]
    fn advanced_selectors_in_request_shape_are_read() {
        let req = json!({"trailName": "t", "advancedEventSelectors": [
            {"name": "m", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]},
            {"name": "d", "fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]}]}]});
        let l = crate::selectors::logged(&pascal_keys(&req));
        assert!(l.advanced && l.management_ok() && l.s3_ok(), "{l:?}");
    }
}
