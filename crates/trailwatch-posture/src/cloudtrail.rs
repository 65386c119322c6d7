//! The trails of the regions asked for, and the CloudTrail checks on each.
//!
//! `DescribeTrails` in every region (shadow trails included, so a multi-region trail homed
//! elsewhere counts for the region), then `GetTrailStatus` and `GetEventSelectors` of each
//! trail in its home region.

use crate::client::Aws;
use crate::selectors::{self, Logged};
use crate::{Check, Place, Status};
use serde_json::{json, Value};
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;

/// Deliveries older than this fail `aws.cloudtrail.recent_delivery`.
pub const MAX_DELIVERY_AGE_HOURS: i64 = 24;

/// Every CloudTrail check id, in report order.
pub const IDS: [&str; 9] = [
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

/// One trail as the API describes it.
#[derive(Debug, Clone)]
pub struct Trail {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub home_region: String,
    pub bucket: Option<String>,
    pub key_prefix: Option<String>,
    pub multi_region: bool,
    /// An organization trail (`IsOrganizationTrail`).
    pub organization: bool,
    pub global_events: bool,
    pub validation: bool,
    pub kms_key: Option<String>,
    pub log_group: Option<String>,
    /// The regions whose `DescribeTrails` listed it.
    pub seen_in: Vec<String>,
    /// `GetTrailStatus`, or why it could not be read.
    pub status: Result<Value, String>,
    /// `GetEventSelectors`, or why it could not be read.
    pub selectors: Result<Value, String>,
}

impl Trail {
    fn from_api(t: &Value, region: &str, fallback_account: &str) -> Option<Trail> {
        let s = |k: &str| {
            t.get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let b = |k: &str| t.get(k).and_then(Value::as_bool).unwrap_or(false);
        let arn = s("TrailARN")?;
        let arn_parts: Vec<&str> = arn.split(':').collect();
        let home_region = s("HomeRegion")
            .or_else(|| arn_parts.get(3).map(|r| r.to_string()))
            .unwrap_or_else(|| region.to_string());
        let account = arn_parts
            .get(4)
            .filter(|a| a.len() == 12)
            .map_or_else(|| fallback_account.to_string(), |a| a.to_string());
        Some(Trail {
            name: s("Name").unwrap_or_else(|| arn.clone()),
            arn,
            account,
            home_region,
            bucket: s("S3BucketName"),
            key_prefix: s("S3KeyPrefix"),
            multi_region: b("IsMultiRegionTrail"),
            organization: b("IsOrganizationTrail"),
            global_events: b("IncludeGlobalServiceEvents"),
            validation: b("LogFileValidationEnabled"),
            kms_key: s("KmsKeyId"),
            log_group: s("CloudWatchLogsLogGroupArn"),
            seen_in: vec![region.to_string()],
            status: Err(String::new()),
            selectors: Err(String::new()),
        })
    }

    fn place(&self) -> Place {
        Place {
            account: self.account.clone(),
            region: self.home_region.clone(),
            resource: self.arn.clone(),
        }
    }

    fn is_logging(&self) -> bool {
        self.status
            .as_ref()
            .is_ok_and(|s| s.get("IsLogging").and_then(Value::as_bool) == Some(true))
    }
}

/// The trails of `regions`; a region whose trails cannot be listed gets every CloudTrail
/// check `unknown`.
pub fn gather(aws: &Aws, regions: &[String], account: &str) -> (Vec<Trail>, Vec<Check>) {
    let mut trails: Vec<Trail> = Vec::new();
    let mut checks = Vec::new();
    for region in regions {
        let answer = aws.cloudtrail(
            region,
            "DescribeTrails",
            &json!({"includeShadowTrails": true}),
        );
        let list = match answer {
            Ok(v) => v
                .get("trailList")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            Err(e) => {
                let place = region_place(account, region);
                for id in IDS {
                    checks.push(place.unknown(
                        id,
                        Severity::High,
                        "trails of the region",
                        &e.to_string(),
                    ));
                }
                continue;
            }
        };
        for t in &list {
            let Some(trail) = Trail::from_api(t, region, account) else {
                continue;
            };
            match trails.iter_mut().find(|x| x.arn == trail.arn) {
                Some(known) => known.seen_in.push(region.clone()),
                None => trails.push(trail),
            }
        }
    }
    for t in &mut trails {
        let name = json!({"Name": t.arn});
        t.status = aws
            .cloudtrail(&t.home_region, "GetTrailStatus", &name)
            .map_err(|e| e.to_string());
        t.selectors = aws
            .cloudtrail(
                &t.home_region,
                "GetEventSelectors",
                &json!({"TrailName": t.arn}),
            )
            .map_err(|e| e.to_string());
    }
    (trails, checks)
}

fn region_place(account: &str, region: &str) -> Place {
    Place {
        account: account.to_string(),
        region: region.to_string(),
        resource: format!("arn:aws:cloudtrail:{region}:{account}:trail/*"),
    }
}

/// Every CloudTrail check of every trail, then one per region no logging trail covers.
pub fn checks(trails: &[Trail], regions: &[String], account: &str, now_ms: i64) -> Vec<Check> {
    let mut out = Vec::new();
    for t in trails {
        out.extend(trail_checks(t, now_ms));
    }
    for region in regions {
        let listed = trails.iter().any(|t| t.seen_in.contains(region));
        let covered = trails
            .iter()
            .any(|t| t.seen_in.contains(region) && t.is_logging());
        if covered {
            continue;
        }
        // A region whose listing failed already has its `unknown` checks.
        let place = region_place(account, region);
        let evidence = if listed {
            "the trails listed for the region are not logging"
        } else {
            "DescribeTrails lists no trail for the region (no multi-region trail, none of its own)"
        };
        out.push(
            place
                .check(
                    "aws.cloudtrail.multi_region",
                    Severity::High,
                    Status::Fail,
                    format!("no logging trail records region {region}"),
                    evidence,
                )
                .with_manual_fix("create a multi-region trail (aws cloudtrail create-trail --is-multi-region-trail) with a bucket whose policy lets CloudTrail write, then start logging"),
        );
    }
    out
}

fn update_trail(t: &Trail) -> Cmd {
    Cmd::aws("cloudtrail", "update-trail").arg("--name", t.name.clone())
}

fn flag(t: &Trail, check: Check, f: &'static str) -> Check {
    check.with_fix(update_trail(t).flag(f).region(Some(&t.home_region)))
}

/// The nine checks of one trail.
pub fn trail_checks(t: &Trail, now_ms: i64) -> Vec<Check> {
    let p = t.place();
    let yes_no = |ok: bool| if ok { Status::Pass } else { Status::Fail };
    // A multi-region trail must include global service events: both flags in one command.
    let mut out = vec![p
        .check(
            "aws.cloudtrail.multi_region",
            Severity::High,
            yes_no(t.multi_region),
            "the trail records every region",
            format!("IsMultiRegionTrail = {}", t.multi_region),
        )
        .with_fix(
            update_trail(t)
                .flag("--is-multi-region-trail")
                .flag("--include-global-service-events")
                .region(Some(&t.home_region)),
        )];
    out.push(logging(t, &p));
    out.push(flag(
        t,
        p.check(
            "aws.cloudtrail.global_service_events",
            Severity::Medium,
            yes_no(t.global_events),
            "the trail records global services (IAM, STS, CloudFront)",
            format!("IncludeGlobalServiceEvents = {}", t.global_events),
        ),
        "--include-global-service-events",
    ));
    out.push(flag(
        t,
        p.check(
            "aws.cloudtrail.log_file_validation",
            Severity::Medium,
            yes_no(t.validation),
            "log-file validation (signed digests) is on",
            format!("LogFileValidationEnabled = {}", t.validation),
        ),
        "--enable-log-file-validation",
    ));
    out.push(
        p.check(
            "aws.cloudtrail.kms_encryption",
            Severity::Medium,
            yes_no(t.kms_key.is_some()),
            "log files are encrypted with a KMS key (SSE-KMS)",
            match &t.kms_key {
                Some(k) => format!("KmsKeyId = {k}"),
                None => "no KmsKeyId".to_string(),
            },
        )
        .with_manual_fix("a KMS key whose policy lets cloudtrail.amazonaws.com use it, then aws cloudtrail update-trail --name <trail> --kms-key-id <key>"),
    );
    out.extend(selector_checks(t, &p));
    out.push(recent_delivery(t, &p, now_ms));
    out.push(cloudwatch_logs(t, &p));
    out
}

fn logging(t: &Trail, p: &Place) -> Check {
    const ID: &str = "aws.cloudtrail.logging";
    const TITLE: &str = "the trail is logging";
    match &t.status {
        Err(e) => p.unknown(ID, Severity::High, TITLE, e),
        Ok(s) => {
            let on = s.get("IsLogging").and_then(Value::as_bool) == Some(true);
            p.check(
                ID,
                Severity::High,
                if on { Status::Pass } else { Status::Fail },
                TITLE,
                format!("IsLogging = {on}"),
            )
            .with_fix(
                Cmd::aws("cloudtrail", "start-logging")
                    .arg("--name", t.name.clone())
                    .region(Some(&t.home_region)),
            )
        }
    }
}

fn selector_checks(t: &Trail, p: &Place) -> [Check; 2] {
    const M: &str = "aws.cloudtrail.management_events";
    const M_TITLE: &str = "the trail records management events, read and write";
    const D: &str = "aws.cloudtrail.data_events_s3";
    const D_TITLE: &str = "the trail records S3 object-level (data) events of every bucket";
    let answer = match &t.selectors {
        Err(e) => {
            return [
                p.unknown(M, Severity::High, M_TITLE, e),
                p.unknown(D, Severity::Low, D_TITLE, e),
            ]
        }
        Ok(a) => a,
    };
    let l: Logged = selectors::logged(answer);
    let kind = if l.advanced {
        "advanced selectors"
    } else {
        "event selectors"
    };
    let status = |ok: bool| if ok { Status::Pass } else { Status::Fail };
    let fix = |c: Check| {
        match selectors::corrected(answer) {
        Some((flag, json)) => c.with_fix(
            Cmd::aws("cloudtrail", "put-event-selectors")
                .arg("--trail-name", t.name.clone())
                .arg(flag, json)
                .region(Some(&t.home_region)),
        ),
        None => c.with_manual_fix("fewer than five basic event selectors (or advanced selectors) logging all management events and S3 data events"),
    }
    };
    [
        fix(p.check(
            M,
            Severity::High,
            status(l.management_ok()),
            M_TITLE,
            format!("{kind}: {}", l.management_words()),
        )),
        fix(p.check(
            D,
            Severity::Low,
            status(l.s3_ok()),
            D_TITLE,
            format!("{kind}: {}", l.s3_words()),
        )),
    ]
}

/// A time field of `GetTrailStatus`: epoch seconds as a number (the JSON protocol's
/// timestamps), or an ISO 8601 string.
fn status_time_ms(s: &Value, key: &str) -> Option<i64> {
    match s.get(key)? {
        Value::Number(n) => n.as_f64().map(|f| (f * 1000.0) as i64),
        Value::String(t) => chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn error_field(s: &Value, key: &str) -> Option<String> {
    s.get(key)
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
}

fn recent_delivery(t: &Trail, p: &Place, now_ms: i64) -> Check {
    const ID: &str = "aws.cloudtrail.recent_delivery";
    const TITLE: &str = "the trail delivered log files in the last 24 hours, without error";
    let s = match &t.status {
        Err(e) => return p.unknown(ID, Severity::High, TITLE, e),
        Ok(s) => s,
    };
    let latest = status_time_ms(s, "LatestDeliveryTime");
    let error = error_field(s, "LatestDeliveryError");
    let (status, evidence) = match (latest, &error) {
        (_, Some(e)) => (Status::Fail, format!("LatestDeliveryError = {e}")),
        (None, None) => (
            Status::Fail,
            "no LatestDeliveryTime: the trail has never delivered a log file".to_string(),
        ),
        (Some(ms), None) if now_ms - ms > MAX_DELIVERY_AGE_HOURS * 3_600_000 => (
            Status::Fail,
            format!(
                "LatestDeliveryTime = {} (more than {MAX_DELIVERY_AGE_HOURS} h ago)",
                iso(ms)
            ),
        ),
        (Some(ms), None) => (
            Status::Pass,
            format!("LatestDeliveryTime = {}, no delivery error", iso(ms)),
        ),
    };
    p.check(ID, Severity::High, status, TITLE, evidence).with_manual_fix(
        "start logging if it is stopped; a delivery error names what to repair (the bucket policy must let cloudtrail.amazonaws.com write, the KMS key policy let it encrypt)",
    )
}

fn cloudwatch_logs(t: &Trail, p: &Place) -> Check {
    const ID: &str = "aws.cloudtrail.cloudwatch_logs";
    const TITLE: &str = "the trail sends its events to CloudWatch Logs";
    let Some(group) = &t.log_group else {
        return p
            .check(ID, Severity::Medium, Status::Fail, TITLE, "no CloudWatchLogsLogGroupArn")
            .with_manual_fix("a log group and a role CloudTrail can assume to write to it, then aws cloudtrail update-trail --name <trail> --cloud-watch-logs-log-group-arn <group ARN> --cloud-watch-logs-role-arn <role ARN>");
    };
    match &t.status {
        Err(e) => p.unknown(ID, Severity::Medium, TITLE, e),
        Ok(s) => match error_field(s, "LatestCloudWatchLogsDeliveryError") {
            Some(e) => p.check(
                ID,
                Severity::Medium,
                Status::Fail,
                TITLE,
                format!(
                    "CloudWatchLogsLogGroupArn = {group}; LatestCloudWatchLogsDeliveryError = {e}"
                ),
            ),
            None => p.check(
                ID,
                Severity::Medium,
                Status::Pass,
                TITLE,
                format!("CloudWatchLogsLogGroupArn = {group}, no delivery error"),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// moto's `GetTrailStatus` never reports a delivery error, so these checks are tested on
    /// answers written from the CloudTrail API reference (`DescribeTrails` trailList entry,
    /// `GetTrailStatus` with epoch-second times and the `Latest…Error` strings).
    #[test]
    fn delivery_errors_in_the_trail_status_fail_the_delivery_checks() {
        let described = json!({"Name": "org",
            "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org",
            "HomeRegion": "us-east-1", "S3BucketName": "org-logs", "IsMultiRegionTrail": true,
            "IncludeGlobalServiceEvents": true, "LogFileValidationEnabled": true,
            "CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:ct:*"});
        let mut t = Trail::from_api(&described, "us-east-1", "unknown").expect("a trail");
        let p = t.place();
        let now_ms: i64 = 1_764_000_000_000;
        let ago = |secs: i64| (now_ms / 1000 - secs) as f64;
        t.status = Ok(json!({"IsLogging": true, "LatestDeliveryTime": ago(600),
            "LatestDeliveryError": "AccessDenied",
            "LatestCloudWatchLogsDeliveryError": "CloudWatch Logs role ARN is invalid"}));
        let c = recent_delivery(&t, &p, now_ms);
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c.evidence.contains("AccessDenied"), "{c:?}");
        let c = cloudwatch_logs(&t, &p);
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c.evidence.contains("role ARN is invalid"), "{c:?}");
        t.status = Ok(json!({"IsLogging": true, "LatestDeliveryTime": ago(600),
            "LatestDeliveryError": ""}));
        assert_eq!(recent_delivery(&t, &p, now_ms).status, Status::Pass);
        assert_eq!(cloudwatch_logs(&t, &p).status, Status::Pass);
        t.status = Ok(json!({"IsLogging": true, "LatestDeliveryTime": ago(3 * 86_400)}));
        assert_eq!(recent_delivery(&t, &p, now_ms).status, Status::Fail);
        t.status = Err("GetTrailStatus: AccessDeniedException".into());
        let c = recent_delivery(&t, &p, now_ms);
        assert_eq!(c.status, Status::Unknown);
        assert!(c.evidence.contains("GetTrailStatus"), "{c:?}");
    }
}
