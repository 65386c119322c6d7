//! One CloudTrail record as delivered in S3 files, rendered with CloudTrail's field order.

use crate::org::Account;
use crate::util::{iso, obj_string, push_json_str, Obj};

pub(crate) struct Rec {
    pub time: i64,
    pub version: &'static str,
    pub identity: String,
    pub source: &'static str,
    pub name: &'static str,
    pub region: &'static str,
    pub ip: String,
    pub ua: String,
    pub error: Option<(&'static str, String)>,
    pub req: String,
    pub resp: String,
    pub additional: Option<String>,
    pub request_id: String,
    pub event_id: String,
    pub read_only: bool,
    pub resources: Option<String>,
    pub event_type: &'static str,
    pub management: bool,
    pub recipient: String,
    pub shared: Option<String>,
    pub vpce: Option<String>,
    pub tls: bool,
    pub console: bool,
}

impl Rec {
    pub(crate) fn render(&self, out: &mut String) {
        let mut o = Obj::new(out);
        o.str("eventVersion", self.version)
            .raw("userIdentity", &self.identity)
            .str("eventTime", &iso(self.time))
            .str("eventSource", self.source)
            .str("eventName", self.name)
            .str("awsRegion", self.region)
            .str("sourceIPAddress", &self.ip)
            .str("userAgent", &self.ua);
        if let Some((code, msg)) = &self.error {
            if !code.is_empty() {
                o.str("errorCode", code);
            }
            o.str("errorMessage", msg);
        }
        o.raw("requestParameters", &self.req)
            .raw("responseElements", &self.resp);
        if let Some(a) = &self.additional {
            o.raw("additionalEventData", a);
        }
        if !self.request_id.is_empty() {
            o.str("requestID", &self.request_id);
        }
        o.str("eventID", &self.event_id)
            .bool("readOnly", self.read_only);
        if let Some(r) = &self.resources {
            o.raw("resources", r);
        }
        o.str("eventType", self.event_type)
            .bool("managementEvent", self.management)
            .str("recipientAccountId", &self.recipient);
        if let Some(s) = &self.shared {
            o.str("sharedEventID", s);
        }
        if let Some(v) = &self.vpce {
            o.str("vpcEndpointId", v);
        }
        o.str(
            "eventCategory",
            if self.management {
                "Management"
            } else {
                "Data"
            },
        );
        if self.tls && !self.ip.ends_with(".amazonaws.com") && self.ip != "AWS Internal" {
            let mut t = o.obj("tlsDetails");
            let v13 = self.event_id.as_bytes()[0] < b'8';
            t.str("tlsVersion", if v13 { "TLSv1.3" } else { "TLSv1.2" })
                .str(
                    "cipherSuite",
                    if v13 {
                        "TLS_AES_128_GCM_SHA256"
                    } else {
                        "ECDHE-RSA-AES128-GCM-SHA256"
                    },
                )
                .str(
                    "clientProvidedHostHeader",
                    &host_header(self.source, self.region),
                );
            t.end();
        }
        if self.console {
            o.str("sessionCredentialFromConsole", "true");
        }
        o.end();
    }
}

pub(crate) fn host_header(source: &str, region: &str) -> String {
    let svc = source.trim_end_matches(".amazonaws.com");
    match svc {
        "iam" | "sts" | "organizations" | "health" => source.to_string(),
        "signin" => format!("{region}.signin.aws.amazon.com"),
        _ => format!("{svc}.{region}.amazonaws.com"),
    }
}

pub(crate) fn version_for(source: &str, data: bool) -> &'static str {
    if data {
        return "1.10";
    }
    match source {
        "ec2.amazonaws.com" | "iam.amazonaws.com" | "kms.amazonaws.com" => "1.08",
        "signin.amazonaws.com" | "sts.amazonaws.com" => "1.09",
        "cloudtrail.amazonaws.com" | "guardduty.amazonaws.com" => "1.11",
        _ => "1.09",
    }
}

/// `userIdentity` of an IAM user, optionally with a console/temporary session.
pub(crate) fn iam_user_identity(
    acct: &Account,
    user: &str,
    principal_id: &str,
    key: Option<&str>,
    session: Option<(i64, bool)>,
) -> String {
    obj_string(|o| {
        o.str("type", "IAMUser")
            .str("principalId", principal_id)
            .str("arn", &acct.user_arn(user))
            .str("accountId", &acct.id);
        if let Some(k) = key {
            o.str("accessKeyId", k);
        }
        o.str("userName", user);
        if let Some((created, mfa)) = session {
            let mut sc = o.obj("sessionContext");
            sc.raw("sessionIssuer", "{}")
                .raw("webIdFederationData", "{}");
            let mut at = sc.obj("attributes");
            at.str("creationDate", &iso(created))
                .str("mfaAuthenticated", if mfa { "true" } else { "false" });
            at.end();
            sc.end();
        }
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn role_identity(
    account_id: &str,
    role: &str,
    role_id: &str,
    session: &str,
    key: &str,
    created: i64,
    ec2: bool,
) -> String {
    obj_string(|o| {
        o.str("type", "AssumedRole")
            .str("principalId", &format!("{role_id}:{session}"))
            .str(
                "arn",
                &format!("arn:aws:sts::{account_id}:assumed-role/{role}/{session}"),
            )
            .str("accountId", account_id)
            .str("accessKeyId", key);
        let mut sc = o.obj("sessionContext");
        {
            let mut si = sc.obj("sessionIssuer");
            si.str("type", "Role")
                .str("principalId", role_id)
                .str("arn", &format!("arn:aws:iam::{account_id}:role/{role}"))
                .str("accountId", account_id)
                .str("userName", role);
            si.end();
        }
        sc.raw("webIdFederationData", "{}");
        {
            let mut at = sc.obj("attributes");
            at.str("creationDate", &iso(created))
                .str("mfaAuthenticated", "false");
            at.end();
        }
        if ec2 {
            sc.str("ec2RoleDelivery", "2.0");
        }
        sc.end();
    })
}

pub(crate) fn service_identity(invoked_by: &str) -> String {
    let mut s = String::with_capacity(64);
    s.push_str("{\"type\":\"AWSService\",\"invokedBy\":");
    push_json_str(&mut s, invoked_by);
    s.push('}');
    s
}

pub(crate) fn root_identity(acct: &Account, key: Option<&str>, session: Option<i64>) -> String {
    obj_string(|o| {
        o.str("type", "Root")
            .str("principalId", &acct.id)
            .str("arn", &format!("arn:aws:iam::{}:root", acct.id))
            .str("accountId", &acct.id);
        if let Some(k) = key {
            o.str("accessKeyId", k);
        }
        if let Some(created) = session {
            let mut sc = o.obj("sessionContext");
            sc.raw("sessionIssuer", "{}")
                .raw("webIdFederationData", "{}");
            let mut at = sc.obj("attributes");
            at.str("creationDate", &iso(created))
                .str("mfaAuthenticated", "false");
            at.end();
            sc.end();
        }
    })
}

/// Build an `AccessDenied` message the way IAM words it.
pub(crate) fn denied_message(arn: &str, source: &str, name: &str, resource: &str) -> String {
    let svc = source.trim_end_matches(".amazonaws.com");
    format!(
        "User: {arn} is not authorized to perform: {svc}:{name} on resource: {resource} because no identity-based policy allows the {svc}:{name} action"
    )
}
