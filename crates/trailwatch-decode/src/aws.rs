//! AWS CloudTrail records: the field view rules read, and normalization.

use crate::fields::{self, AWS};
use crate::reader::Facts;
use crate::time::parse_ms;
use std::borrow::Cow;
use trailwatch_json::{Indexed, Kind, Raw};
use trailwatch_model::{Event, FieldPath, FieldSource, FieldValue, Outcome, Principal, Provider};

/// One CloudTrail record, read in place. Top-level fields come from an index built once.
#[derive(Clone, Copy)]
pub struct AwsRecord<'a> {
    obj: Indexed<'a>,
    time_ms: Option<i64>,
}

/// Where exporters put the time of a CloudTrail record that lost its `eventTime`: Logstash and
/// Elastic (`@timestamp`), the Log Analytics `AWSCloudTrail` table (`TimeGenerated`), and
/// CloudTrail Lake / lookup-events style columns (`EventTime`).
pub const EXPORTER_TIME_FIELDS: &[&str] = &["@timestamp", "TimeGenerated", "EventTime"];

/// Request parameters that name the resource a call acted on, and how to spell it.
const PARAM_RESOURCES: &[(&str, &str)] = &[
    ("bucketName", "s3 bucket"),
    ("userName", "iam user"),
    ("roleName", "iam role"),
    ("groupName", "iam group"),
    ("policyArn", ""),
    ("policyName", "policy"),
    ("groupId", "security group"),
    ("networkAclId", "network acl"),
    ("routeTableId", "route table"),
    ("internetGatewayId", "internet gateway"),
    ("vpcId", "vpc"),
    ("snapshotId", "snapshot"),
    ("imageId", "image"),
    ("instanceId", "instance"),
    ("functionName", "lambda function"),
    ("secretId", "secret"),
    ("keyId", "kms key"),
    ("detectorId", "guardduty detector"),
    ("trailName", "trail"),
    ("name", "name"),
    ("dBSnapshotIdentifier", "db snapshot"),
    ("accountId", "account"),
];

impl<'a> AwsRecord<'a> {
    /// Wraps an indexed CloudTrail record. Its time is `eventTime`, or where an exporter
    /// dropped or renamed it, the time the exporter wrote ([`EXPORTER_TIME_FIELDS`]).
    pub fn new(obj: Indexed<'a>) -> Self {
        let time_ms = std::iter::once("eventTime")
            .chain(EXPORTER_TIME_FIELDS.iter().copied())
            .find_map(|k| obj.str(k).and_then(|t| parse_ms(&t)));
        AwsRecord { obj, time_ms }
    }

    /// When the call was made; `None` when the record says nowhere (such a record is
    /// reported, never dated 1970).
    pub fn time_ms(&self) -> Option<i64> {
        self.time_ms
    }

    /// The record's bytes.
    pub fn raw(&self) -> Raw<'a> {
        self.obj.raw()
    }

    /// `eventName`, for rule indexing.
    pub fn event_name(&self) -> Option<Cow<'a, str>> {
        self.obj.str("eventName")
    }

    /// The value at a top-level key, from the record's index.
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.obj.get(key)
    }

    /// `userIdentity.<key>`, from the record's index.
    pub fn ident(&self, key: &str) -> Option<Raw<'a>> {
        self.get2("userIdentity", key)
    }

    /// `outer.inner`, from the record's index when `outer` is an object.
    pub fn get2(&self, outer: &str, inner: &str) -> Option<Raw<'a>> {
        match self.obj.get2(outer, inner) {
            Ok(v) => v,
            Err(()) => self.obj.get(outer)?.get(inner),
        }
    }

    /// The string at a top-level key.
    pub fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.obj.str(key)
    }

    fn str_at(&self, path: &[&str]) -> Option<String> {
        let (first, rest) = path.split_first()?;
        let (v, rest) = match rest.split_first() {
            Some((second, rest)) => match self.obj.get2(first, second) {
                Ok(v) => (v?, rest),
                Err(()) => (self.obj.get(first)?.get(second)?, rest),
            },
            None => (self.obj.get(first)?, rest),
        };
        let v = if rest.is_empty() {
            v
        } else {
            v.get_path(rest)?
        };
        match v.kind() {
            Kind::String => v.as_str().map(Cow::into_owned),
            Kind::Number | Kind::Bool => Some(v.text().into_owned()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    /// Whether an AWS service made the call on the customer's behalf rather than an identity
    /// of the account: `userIdentity.type` `AWSService`, or a `sourceIPAddress` that is a
    /// service's host name (`delivery.logs.amazonaws.com`, `cloudtrail.amazonaws.com`) rather
    /// than an address, or an `invokedBy` service with no address of a person behind it.
    /// Such callers are not suspects for per-principal correlations, baselines and chains.
    pub fn is_service_principal(&self) -> bool {
        let ident_str = |k: &str| self.ident(k).and_then(|v| v.as_str());
        if ident_str("type").as_deref() == Some("AWSService") {
            return true;
        }
        let source = self.obj.str("sourceIPAddress");
        let source_is_service = source.as_deref().is_some_and(is_service_host);
        if source_is_service {
            return true;
        }
        let invoked = ident_str("invokedBy").is_some_and(|v| !v.is_empty());
        invoked
            && source
                .as_deref()
                .is_none_or(|s| s.parse::<std::net::IpAddr>().is_err())
    }

    /// The few facts an alert needs, borrowed from the record where possible: the hunt's fast
    /// path for matched events (no full normalization, no copy of the record).
    pub fn facts(&self) -> Facts<'a> {
        let ident_str = |k: &str| {
            self.ident(k)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        let principal = ident_str("arn")
            .or_else(|| ident_str("userName"))
            .or_else(|| ident_str("invokedBy"))
            .unwrap_or_else(|| Cow::Owned(self.principal().label().to_string()));
        let nonempty = |k: &str| self.obj.str(k).filter(|s| !s.is_empty());
        Facts {
            time_ms: self.time_ms.unwrap_or(0),
            event_id: nonempty("eventID").unwrap_or_else(|| Cow::Owned(self.event_id())),
            account: nonempty("recipientAccountId").or_else(|| ident_str("accountId")),
            region: nonempty("awsRegion"),
            principal,
            source_ip: nonempty("sourceIPAddress"),
            action: nonempty("eventName").unwrap_or_default(),
        }
    }

    /// Who acted, as one label: the ARN when there is one.
    pub fn principal(&self) -> Principal {
        let ident = |k: &str| self.str_at(&["userIdentity", k]);
        let kind = ident("type");
        let arn = ident("arn");
        let name = arn
            .or_else(|| ident("userName"))
            .or_else(|| ident("invokedBy"))
            .or_else(|| {
                // A failed sign-in of an unknown user names the user only in the parameters.
                self.str_at(&["additionalEventData", "UserName"])
                    .or_else(|| self.str_at(&["requestParameters", "userName"]))
                    .filter(|_| kind.as_deref() == Some("AWSAccount") || kind.is_none())
            });
        let mfa_session = self
            .str_at(&[
                "userIdentity",
                "sessionContext",
                "attributes",
                "mfaAuthenticated",
            ])
            .map(|v| v.eq_ignore_ascii_case("true"));
        let mfa_login = self
            .str_at(&["additionalEventData", "MFAUsed"])
            .map(|v| v.eq_ignore_ascii_case("yes"));
        Principal {
            kind,
            id: ident("principalId"),
            name,
            access_key: ident("accessKeyId"),
            mfa: mfa_login.or(mfa_session),
            session_issuer: self.str_at(&[
                "userIdentity",
                "sessionContext",
                "sessionIssuer",
                "arn",
            ]),
            app_id: None,
        }
    }

    fn outcome(&self) -> (Outcome, Option<String>) {
        if let Some(code) = self.str_at(&["errorCode"]) {
            return (Outcome::Failure, Some(code));
        }
        match self
            .str_at(&["responseElements", "ConsoleLogin"])
            .as_deref()
        {
            Some("Failure") => {
                let msg = self
                    .str_at(&["errorMessage"])
                    .unwrap_or_else(|| "Failure".into());
                (Outcome::Failure, Some(msg))
            }
            _ => (Outcome::Success, None),
        }
    }

    /// ARNs the record lists, plus the resources its request parameters name.
    pub fn resources(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(list) = self.obj.get("resources") {
            for r in list.elements() {
                if let Some(arn) = r
                    .get("ARN")
                    .or_else(|| r.get("arn"))
                    .and_then(|a| a.as_str())
                {
                    push_unique(&mut out, arn.into_owned());
                }
            }
        }
        let Some(params) = self.obj.get("requestParameters") else {
            return out;
        };
        // One pass over the parameters, not one lookup per known name.
        for (key, value) in params.entries() {
            let Some(&(name, label)) = PARAM_RESOURCES.iter().find(|(n, _)| key.is(n)) else {
                continue;
            };
            let Some(v) = value.as_str().filter(|v| !v.is_empty()) else {
                continue;
            };
            let named = if v.starts_with("arn:") || label.is_empty() {
                v.into_owned()
            } else if name == "bucketName" {
                match params.get("key").and_then(|k| k.as_str()) {
                    Some(k) => format!("arn:aws:s3:::{v}/{k}"),
                    None => format!("arn:aws:s3:::{v}"),
                }
            } else {
                format!("{label} {v}")
            };
            push_unique(&mut out, named);
        }
        out
    }

    /// The stable event id: `eventID`, else a hash of the record.
    pub fn event_id(&self) -> String {
        self.str_at(&["eventID"])
            .unwrap_or_else(|| crate::reader::content_id(self.raw().bytes()))
    }

    /// The record normalized.
    pub fn normalize(&self) -> Event {
        let (outcome, error_code) = self.outcome();
        Event {
            time_ms: self.time_ms.unwrap_or(0),
            provider: Provider::Aws,
            account: self
                .str_at(&["recipientAccountId"])
                .or_else(|| self.str_at(&["userIdentity", "accountId"])),
            region: self.str_at(&["awsRegion"]),
            principal: self.principal(),
            source_ip: self.str_at(&["sourceIPAddress"]),
            user_agent: self.str_at(&["userAgent"]),
            service: self.str_at(&["eventSource"]),
            action: self.str_at(&["eventName"]).unwrap_or_default(),
            read_only: self.obj.get("readOnly").and_then(|v| {
                v.as_bool()
                    .or_else(|| v.as_str().map(|s| s.eq_ignore_ascii_case("true")))
            }),
            outcome,
            error_code,
            resources: self.resources(),
            event_id: self.event_id(),
            raw: self.raw().text().into_owned(),
        }
    }
}

pub(crate) fn push_unique(out: &mut Vec<String>, s: String) {
    if !out.contains(&s) {
        out.push(s);
    }
}

impl FieldSource for AwsRecord<'_> {
    fn visit_field(
        &self,
        path: &FieldPath,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> bool {
        let segs = path.segments();
        let Some(first) = segs.first() else {
            return false;
        };
        // Two levels deep (`userIdentity.type`, `requestParameters.bucketName`) straight
        // from the index, without rescanning the inner object.
        if let [_, second, rest @ ..] = segs {
            match self.obj.get2(first, second) {
                Ok(Some(v)) => return fields::visit_path(v, rest, AWS, visit),
                // No such inner key: only a dotted key could still spell the path.
                Ok(None) if rest.is_empty() => return false,
                _ => {}
            }
        }
        match self.obj.get(first) {
            Some(v) => fields::visit_path(v, &segs[1..], AWS, visit),
            // A top-level key with a dot in it is rare enough for the slow path.
            None if segs.len() > 1 => fields::visit_path(self.obj.raw(), segs, AWS, visit),
            None => false,
        }
    }

    fn visit_all_values(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        fields::visit_all(self.obj.raw(), visit)
    }

    fn time_ms(&self) -> Option<i64> {
        self.time_ms
    }
}

/// Whether a `sourceIPAddress` value names an AWS service (`s3.amazonaws.com`,
/// `delivery.logs.amazonaws.com`, `lambda.amazonaws.com.cn`) instead of an address.
pub fn is_service_host(source: &str) -> bool {
    let host = source.trim().to_ascii_lowercase();
    let service_domain = host.ends_with(".amazonaws.com")
        || host.ends_with(".amazonaws.com.cn")
        || host.ends_with(".amazonaws.eu");
    service_domain && host.parse::<std::net::IpAddr>().is_err()
}
