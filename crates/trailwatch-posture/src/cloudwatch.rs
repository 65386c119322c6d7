//! The CIS AWS Foundations (v3) section 4 monitoring controls on each trail's CloudWatch Logs
//! group: for every control, a metric filter whose pattern names what the control watches, and
//! an alarm with an action on the filter's metric.
//!
//! The controls are the classes the built-in pack tags `cis.aws.4.1`–`cis.aws.4.15`; the terms
//! each needs are those of the benchmark's own filter pattern (event names, error codes, the
//! root user type). A pattern covers a control when it names every term (a word of the pattern,
//! quoted or not), whatever else it holds. Metric filters come from `DescribeMetricFilters`,
//! alarms from `DescribeAlarmsForMetric`.

use crate::client::Aws;
use crate::cloudtrail::Trail;
use crate::{Check, Place, Status};
use serde::Deserialize;
use serde_json::{json, Value};
use trailwatch_model::Severity;

pub const ID: &str = "aws.cloudwatch.cis_metric_filters";
const TITLE: &str =
    "CIS 4.1-4.15: a metric filter on the trail's log group and an alarm with an action for each";

/// `(control, what it watches, the terms its filter pattern must name)`.
pub const CONTROLS: [(&str, &str, &[&str]); 15] = [
    (
        "4.1",
        "unauthorized API calls",
        &["UnauthorizedOperation", "AccessDenied"],
    ),
    (
        "4.2",
        "console sign-in without MFA",
        &["ConsoleLogin", "MFAUsed"],
    ),
    ("4.3", "root user usage", &["Root"]),
    (
        "4.4",
        "IAM policy changes",
        &[
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ],
    ),
    (
        "4.5",
        "CloudTrail configuration changes",
        &[
            "CreateTrail",
            "UpdateTrail",
            "DeleteTrail",
            "StartLogging",
            "StopLogging",
        ],
    ),
    (
        "4.6",
        "console authentication failures",
        &["ConsoleLogin", "Failed authentication"],
    ),
    (
        "4.7",
        "customer-managed keys disabled or scheduled for deletion",
        &["DisableKey", "ScheduleKeyDeletion"],
    ),
    (
        "4.8",
        "S3 bucket policy changes",
        &[
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ],
    ),
    (
        "4.9",
        "AWS Config changes",
        &[
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
            "PutDeliveryChannel",
            "PutConfigurationRecorder",
        ],
    ),
    (
        "4.10",
        "security group changes",
        &[
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ],
    ),
    (
        "4.11",
        "network ACL changes",
        &[
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ],
    ),
    (
        "4.12",
        "network gateway changes",
        &[
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ],
    ),
    (
        "4.13",
        "route table changes",
        &[
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ],
    ),
    (
        "4.14",
        "VPC changes",
        &[
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ],
    ),
    (
        "4.15",
        "AWS Organizations changes",
        &[
            "AcceptHandshake",
            "AttachPolicy",
            "CreateAccount",
            "CreateOrganizationalUnit",
            "CreatePolicy",
            "DeclineHandshake",
            "DeleteOrganization",
            "DeleteOrganizationalUnit",
            "DeletePolicy",
            "DetachPolicy",
            "DisablePolicyType",
            "EnablePolicyType",
            "InviteAccountToOrganization",
            "LeaveOrganization",
            "MoveAccount",
            "RemoveAccountFromOrganization",
            "UpdatePolicy",
            "UpdateOrganizationalUnit",
        ],
    ),
];

/// Whether `pattern` names `term` as a whole word (`CreatePolicy` is not in
/// `CreatePolicyVersion`; `AccessDenied` is in `"AccessDenied*"`).
pub fn names(pattern: &str, term: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    pattern.match_indices(term).any(|(at, _)| {
        let before = pattern[..at].chars().next_back();
        let after = pattern[at + term.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The controls a pattern covers.
pub fn covered(pattern: &str) -> Vec<&'static str> {
    CONTROLS
        .iter()
        .filter(|(_, _, terms)| terms.iter().all(|t| names(pattern, t)))
        .map(|(c, _, _)| *c)
        .collect()
}

/// One metric filter: its pattern and the metrics it feeds.
#[derive(Debug, Clone)]
pub struct Filter {
    pub name: String,
    pub pattern: String,
    /// `(namespace, metric name)`.
    pub metrics: Vec<(String, String)>,
}

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]` → `(region, name)`.
fn log_group(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    if parts.len() < 7 || parts[2] != "logs" || parts[5] != "log-group" {
        return None;
    }
    let name = parts[6].strip_suffix(":*").unwrap_or(parts[6]);
    (!name.is_empty()).then(|| (parts[3].to_string(), name.to_string()))
}

fn filters(aws: &Aws, region: &str, group: &str) -> Result<Vec<Filter>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..1000 {
        let mut body = json!({"logGroupName": group});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let answer = aws
            .json_call(
                "logs",
                region,
                "Logs_20140328",
                "DescribeMetricFilters",
                &body,
            )
            .map_err(|e| e.to_string())?;
        for f in answer
            .get("metricFilters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let s = |v: &Value, k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let metrics = f
                .get("metricTransformations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|m| (s(m, "metricNamespace"), s(m, "metricName")))
                .collect();
            out.push(Filter {
                name: s(f, "filterName"),
                pattern: s(f, "filterPattern"),
                metrics,
            });
        }
        match answer.get("nextToken").and_then(Value::as_str) {
            Some(t) if token.as_deref() != Some(t) => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
    Err("DescribeMetricFilters: more than 1000 pages".into())
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct AlarmsAnswer {
    #[serde(default)]
    describe_alarms_for_metric_result: AlarmsResult,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct AlarmsResult {
    #[serde(default)]
    metric_alarms: Members<Alarm>,
}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Members<T> {
    #[serde(rename = "member", default)]
    member: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members { member: Vec::new() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Alarm {
    #[serde(default)]
    alarm_name: String,
    #[serde(default)]
    alarm_actions: Members<String>,
}

/// The alarms on a metric that have at least one action.
fn alarms_with_actions(
    aws: &Aws,
    region: &str,
    namespace: &str,
    metric: &str,
) -> Result<Vec<String>, String> {
    let params = [
        ("Action", "DescribeAlarmsForMetric"),
        ("Version", "2010-08-01"),
        ("Namespace", namespace),
        ("MetricName", metric),
    ];
    let xml = aws
        .query_call(
            "monitoring",
            region,
            "cloudwatch:DescribeAlarmsForMetric",
            &params,
        )
        .map_err(|e| e.to_string())?;
    let answer: AlarmsAnswer = quick_xml::de::from_str(&xml)
        .map_err(|e| format!("DescribeAlarmsForMetric: the answer is not understood: {e}"))?;
    Ok(answer
        .describe_alarms_for_metric_result
        .metric_alarms
        .member
        .into_iter()
        .filter(|a| !a.alarm_actions.member.is_empty())
        .map(|a| a.alarm_name)
        .collect())
}

/// The check of each trail.
pub fn checks(aws: &Aws, trails: &[Trail]) -> Vec<Check> {
    trails.iter().map(|t| trail_check(aws, t)).collect()
}

fn trail_check(aws: &Aws, t: &Trail) -> Check {
    let p = Place {
        account: t.account.clone(),
        region: t.home_region.clone(),
        resource: t.arn.clone(),
    };
    let Some(arn) = &t.log_group else {
        return p
            .check(ID, Severity::Medium, Status::Fail, TITLE, "the trail sends nothing to CloudWatch Logs (aws.cloudtrail.cloudwatch_logs)")
            .with_manual_fix("send the trail to a log group first, then a metric filter and an alarm per control");
    };
    let Some((region, group)) = log_group(arn) else {
        return p.unknown(
            ID,
            Severity::Medium,
            TITLE,
            &format!("{arn:?} is not a log group ARN"),
        );
    };
    let filters = match filters(aws, &region, &group) {
        Ok(f) => f,
        Err(e) => return p.unknown(ID, Severity::Medium, TITLE, &e),
    };
    let mut missing = Vec::new();
    let mut present = Vec::new();
    for (control, what, _) in CONTROLS {
        let matching: Vec<&Filter> = filters
            .iter()
            .filter(|f| covered(&f.pattern).contains(&control))
            .collect();
        if matching.is_empty() {
            missing.push(format!("{control} {what}: no metric filter"));
            continue;
        }
        let mut alarmed = None;
        for f in &matching {
            for (ns, metric) in &f.metrics {
                match alarms_with_actions(aws, &region, ns, metric) {
                    Ok(a) if !a.is_empty() => {
                        alarmed = Some(format!("{control} filter {} alarm {}", f.name, a.join(",")))
                    }
                    Ok(_) => {}
                    Err(e) => return p.unknown(ID, Severity::Medium, TITLE, &e),
                }
            }
        }
        match alarmed {
            Some(a) => present.push(a),
            None => missing.push(format!(
                "{control} {what}: filter {} has no alarm with an action",
                matching[0].name
            )),
        }
    }
    if missing.is_empty() {
        return p.check(
            ID,
            Severity::Medium,
            Status::Pass,
            TITLE,
            format!("log group {group}: {}", present.join("; ")),
        );
    }
    p.check(
        ID,
        Severity::Medium,
        Status::Fail,
        TITLE,
        format!("log group {group}: {}", missing.join("; ")),
    )
    .with_manual_fix("for each control missing, aws logs put-metric-filter on the log group with the benchmark's pattern, then aws cloudwatch put-metric-alarm on its metric with --alarm-actions an SNS topic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_the_controls_whose_terms_they_name() {
        let cis_4_1 =
            r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }"#;
        assert_eq!(covered(cis_4_1), ["4.1"]);
        let cis_4_5 = "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }";
        assert_eq!(covered(cis_4_5), ["4.5"]);
        // One event name short: not covered.
        assert!(
            covered(&cis_4_5.replace("($.eventName = StopLogging)", "($.eventName = X)"))
                .is_empty()
        );
        // A prefix of a longer name is not the name.
        assert!(!names("$.eventName = CreatePolicyVersion", "CreatePolicy"));
        assert!(names(
            r#"$.errorMessage = "Failed authentication""#,
            "Failed authentication"
        ));
        assert_eq!(
            log_group("arn:aws:logs:eu-west-1:123456789012:log-group:aws/cloudtrail:x:*"),
            Some(("eu-west-1".to_string(), "aws/cloudtrail:x".to_string()))
        );
        assert_eq!(log_group("arn:aws:s3:::b"), None);
    }
}
