//! Severity by what a call did, not only by which API it was: the request of a few dozen
//! CloudTrail calls is read (policy documents are JSON strings inside the record, decoded
//! here) and an alert about such a call is raised to the level its content deserves:
//!
//! - a policy (inline, managed version, bucket, key, role trust, Lambda/SNS/SQS resource
//!   policy) that allows every action on every resource: critical; `iam:*` or every action of
//!   a service: high; that grants to `Principal: *` without a condition: critical (with one:
//!   high); that grants to an account other than the record's own and the organisation's:
//!   high;
//! - `AdministratorAccess` attached: high;
//! - an access key or a console password created for another user: high;
//! - a security group or network ACL opened to `0.0.0.0/0` or `::/0` on all ports or an
//!   administrative port (SSH, RDP, databases, …): high;
//! - a snapshot, AMI or DB snapshot shared with everyone: critical.
//!
//! Azure Activity records are read too ([`azure`]): a network security group rule allowing
//! inbound traffic from the internet to all ports or an administrative port (single ports,
//! ranges and lists alike), and an Azure SQL firewall rule open to every address: high.
//!
//! Failed calls are not raised. Every raise names the field that made it so.

mod azure;

use serde_json::Value;
use trailwatch_decode::Record;
use trailwatch_model::Severity;

/// Why an alert about a call is more severe than its rule says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    pub severity: Severity,
    /// What in the request made it so, naming the field.
    pub reason: String,
    /// For a grant to other accounts when no `[organization] accounts` are configured: those
    /// accounts. The raise then holds only if one of them is not an account of the input
    /// itself (a `recipientAccountId` of the records read), which only the end of a hunt
    /// knows ([`Raise::outside_of`]). Empty: the raise holds as it is.
    pub outside: Vec<String>,
}

impl Raise {
    /// The raise as it stands once the input's own accounts are known: `None` when every
    /// account it grants to is one of them.
    pub fn outside_of(&self, inside: &dyn Fn(&str) -> bool) -> Option<Raise> {
        if self.outside.is_empty() {
            return Some(self.clone());
        }
        let still: Vec<String> = self
            .outside
            .iter()
            .filter(|a| !inside(a))
            .cloned()
            .collect();
        if still.is_empty() {
            return None;
        }
        // The reason lists the accounts as `outside.join(", ")`: list only those still outside.
        let reason = self
            .reason
            .replace(&self.outside.join(", "), &still.join(", "));
        Some(Raise {
            severity: self.severity,
            reason,
            outside: Vec::new(),
        })
    }
}

/// What the assessment knows beyond the record.
#[derive(Debug, Clone, Default)]
pub struct ContentOptions {
    /// The organisation's AWS accounts (`[organization] accounts`); a grant to any other
    /// account is a grant outside. Empty: the accounts of the input are inside (every
    /// `recipientAccountId` the hunt reads; see [`Raise::outside`]).
    pub organization: Vec<String>,
    /// The organisation's Azure subscriptions (`[organization] subscriptions`, lower case);
    /// empty: the subscriptions of the input are inside.
    pub subscriptions: Vec<String>,
    /// Which Azure resource groups are non-production (`[organization] non_production`):
    /// alerts about them only are a level lower.
    pub environments: crate::environment::Environments,
}

/// Calls whose request is read. Anything else is not looked at (a cheap name check first).
const ASSESSED: &[&str] = &[
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "CreatePolicy",
    "CreatePolicyVersion",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "UpdateAssumeRolePolicy",
    "CreateRole",
    "PutBucketPolicy",
    "PutKeyPolicy",
    "CreateKey",
    "SetTopicAttributes",
    "SetQueueAttributes",
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AuthorizeSecurityGroupIngress",
    "CreateNetworkAclEntry",
    "ReplaceNetworkAclEntry",
    "ModifySnapshotAttribute",
    "ModifyImageAttribute",
    "ModifyDBSnapshotAttribute",
    "ModifyDBClusterSnapshotAttribute",
];

/// Ports whose exposure to the internet is an open door (remote administration, databases,
/// caches, container and search APIs).
pub(crate) const ADMIN_PORTS: &[(u16, &str)] = &[
    (22, "SSH"),
    (23, "Telnet"),
    (3389, "RDP"),
    (5985, "WinRM"),
    (5986, "WinRM"),
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (3306, "MySQL"),
    (5432, "PostgreSQL"),
    (5439, "Redshift"),
    (6379, "Redis"),
    (9200, "Elasticsearch"),
    (11211, "Memcached"),
    (27017, "MongoDB"),
    (2375, "Docker"),
    (2379, "etcd"),
    (6443, "Kubernetes API"),
];

/// Whether a call (any case: rule indexes hold names in lower case) is one whose request
/// [`assess`] reads (Lambda's versioned `AddPermission20150331v2` names included).
pub fn is_assessed(event_name: &str) -> bool {
    const LAMBDA: &str = "AddPermission";
    ASSESSED.iter().any(|a| a.eq_ignore_ascii_case(event_name))
        || event_name
            .get(..LAMBDA.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(LAMBDA))
}

/// Whether an Azure operation (any case) is one whose body [`assess`] reads.
pub fn is_assessed_azure(operation: &str) -> bool {
    azure::is_assessed(operation)
}

/// The raise a record's content deserves, if any.
pub fn assess(rec: &Record<'_>, opts: &ContentOptions) -> Option<Raise> {
    let r = match rec {
        Record::Aws(r) => r,
        Record::Azure(r) => return azure::assess(r, rec.time_ms(), opts),
        Record::Entra(_) => return None,
    };
    let name = r.event_name()?;
    if !is_assessed(&name) {
        return None;
    }
    let v: Value = serde_json::from_slice(r.raw().bytes()).ok()?;
    assess_value(&v, opts)
}

/// [`assess`] over a parsed record.
pub fn assess_value(rec: &Value, opts: &ContentOptions) -> Option<Raise> {
    if rec.get("errorCode").is_some_and(|e| !e.is_null()) {
        return None;
    }
    let name = rec.get("eventName")?.as_str()?;
    let params = rec.get("requestParameters")?;
    let own = own_accounts(rec, opts);
    match name {
        "PutUserPolicy"
        | "PutRolePolicy"
        | "PutGroupPolicy"
        | "CreatePolicy"
        | "CreatePolicyVersion"
        | "UpdateAssumeRolePolicy" => policy_field(
            params,
            "policyDocument",
            &own,
            "requestParameters.policyDocument",
        ),
        "CreateRole" => policy_field(
            params,
            "assumeRolePolicyDocument",
            &own,
            "requestParameters.assumeRolePolicyDocument",
        ),
        "PutBucketPolicy" => policy_field(
            params,
            "bucketPolicy",
            &own,
            "requestParameters.bucketPolicy",
        ),
        "PutKeyPolicy" | "CreateKey" => {
            policy_field(params, "policy", &own, "requestParameters.policy")
        }
        "SetTopicAttributes" => {
            let is_policy = params.get("attributeName").and_then(Value::as_str) == Some("Policy");
            is_policy
                .then(|| {
                    policy_field(
                        params,
                        "attributeValue",
                        &own,
                        "requestParameters.attributeValue",
                    )
                })
                .flatten()
        }
        "SetQueueAttributes" => params
            .get("attributes")
            .and_then(|a| policy_field(a, "Policy", &own, "requestParameters.attributes.Policy")),
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => admin_attached(params),
        "CreateAccessKey" => for_another_user(rec, params, "an access key"),
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            for_another_user(rec, params, "a console password")
        }
        "AuthorizeSecurityGroupIngress" => security_group_open(params),
        "CreateNetworkAclEntry" | "ReplaceNetworkAclEntry" => network_acl_open(params),
        "ModifySnapshotAttribute" => shared_with_all(params, "createVolumePermission", "snapshot"),
        "ModifyImageAttribute" => shared_with_all(params, "launchPermission", "AMI"),
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => {
            db_snapshot_public(params)
        }
        n if n.starts_with("AddPermission") => lambda_permission(params, &own),
        _ => None,
    }
}

/// The accounts inside: the record's own and the organisation's.
struct Own {
    accounts: Vec<String>,
    /// Whether the organisation's accounts were given; if not, the input's accounts are
    /// inside too, which only the end of the hunt knows.
    configured: bool,
}

impl Own {
    fn contains(&self, account: &str) -> bool {
        self.accounts.iter().any(|o| o == account)
    }

    /// What a raise for granting to `outside` depends on (see [`Raise::outside`]).
    fn unless_inside(&self, outside: &[String]) -> Vec<String> {
        if self.configured {
            Vec::new()
        } else {
            outside.to_vec()
        }
    }
}

fn own_accounts(rec: &Value, opts: &ContentOptions) -> Own {
    let mut accounts = opts.organization.clone();
    for v in [
        rec.get("recipientAccountId"),
        rec.get("userIdentity").and_then(|i| i.get("accountId")),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(s) = v.as_str() {
            accounts.push(s.to_string());
        }
    }
    Own {
        accounts,
        configured: !opts.organization.is_empty(),
    }
}

/// A policy held in `key` of `obj`: a JSON string (IAM, KMS, SNS, SQS) or an object (S3).
fn policy_field(obj: &Value, key: &str, own: &Own, field: &str) -> Option<Raise> {
    let doc = match obj.get(key)? {
        Value::String(s) => serde_json::from_str::<Value>(&decode_policy_text(s)).ok()?,
        v @ Value::Object(_) => v.clone(),
        _ => return None,
    };
    assess_policy(&doc, own, field)
}

/// Policy documents arrive URL-encoded in some exports (`%7B%22Version…`).
fn decode_policy_text(s: &str) -> String {
    let t = s.trim_start();
    if t.starts_with('{') {
        return s.to_string();
    }
    trailwatch_model::percent::form_decode(t)
}

/// `v` as a list of strings (a policy element is a string or a list of them).
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The most severe thing an `Allow` statement of the document grants.
fn assess_policy(doc: &Value, own: &Own, field: &str) -> Option<Raise> {
    let statements: Vec<&Value> = match doc.get("Statement")? {
        Value::Array(a) => a.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => return None,
    };
    let mut best: Option<Raise> = None;
    for st in statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        for r in [
            statement_actions(st, field),
            statement_principals(st, own, field),
        ]
        .into_iter()
        .flatten()
        {
            if best.as_ref().is_none_or(|b| r.severity > b.severity) {
                best = Some(r);
            }
        }
    }
    best
}

/// What the actions of an `Allow` statement grant.
fn statement_actions(st: &Value, field: &str) -> Option<Raise> {
    let actions = strings(st.get("Action"));
    let resources = strings(st.get("Resource"));
    let all_resources = resources.contains(&"*");
    if actions.iter().any(|a| *a == "*" || *a == "*:*") {
        let (severity, what) = if all_resources || resources.is_empty() {
            (
                Severity::Critical,
                "every action on every resource (full administrator)",
            )
        } else {
            (Severity::High, "every action")
        };
        return Some(Raise {
            severity,
            reason: format!("{field} allows {what}"),
            outside: Vec::new(),
        });
    }
    if let Some(a) = actions.iter().find(|a| a.eq_ignore_ascii_case("iam:*")) {
        return Some(Raise {
            severity: Severity::High,
            reason: format!("{field} allows {a} (control of every identity)"),
            outside: Vec::new(),
        });
    }
    let service_wide = actions.iter().find(|a| a.ends_with(":*"));
    match (service_wide, all_resources) {
        (Some(a), true) => Some(Raise {
            severity: Severity::High,
            reason: format!("{field} allows {a} on every resource"),
            outside: Vec::new(),
        }),
        _ => None,
    }
}

/// What the principals of an `Allow` statement (resource and trust policies) grant to.
fn statement_principals(st: &Value, own: &Own, field: &str) -> Option<Raise> {
    let principal = st.get("Principal")?;
    let conditioned = st.get("Condition").is_some_and(|c| !c.is_null());
    let mut names: Vec<&str> = Vec::new();
    match principal {
        Value::String(s) => names.push(s),
        Value::Object(m) => {
            for k in ["AWS", "CanonicalUser"] {
                names.extend(strings(m.get(k)));
            }
        }
        _ => {}
    }
    if names.contains(&"*") {
        let severity = if conditioned {
            Severity::High
        } else {
            Severity::Critical
        };
        let how = if conditioned {
            "everyone (Principal \"*\", limited by a condition)"
        } else {
            "everyone (Principal \"*\", no condition)"
        };
        return Some(Raise {
            severity,
            reason: format!("{field} grants to {how}"),
            outside: Vec::new(),
        });
    }
    let outside: Vec<String> = names
        .iter()
        .filter_map(|n| account_of(n))
        .filter(|a| !own.contains(a))
        .collect();
    (!outside.is_empty()).then(|| Raise {
        severity: Severity::High,
        reason: format!(
            "{field} grants to account {} outside the organisation",
            outside.join(", ")
        ),
        outside: own.unless_inside(&outside),
    })
}

/// The account an AWS principal names: a bare 12-digit id or an ARN's account field.
fn account_of(principal: &str) -> Option<String> {
    let id = if principal.starts_with("arn:") {
        principal.split(':').nth(4)?
    } else {
        principal
    };
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

fn admin_attached(params: &Value) -> Option<Raise> {
    let arn = params.get("policyArn")?.as_str()?;
    arn.ends_with(":policy/AdministratorAccess").then(|| Raise {
        severity: Severity::High,
        reason: format!("requestParameters.policyArn attaches {arn}"),
        outside: Vec::new(),
    })
}

/// An access key or console password made by one principal for a different user.
fn for_another_user(rec: &Value, params: &Value, what: &str) -> Option<Raise> {
    let target = params.get("userName")?.as_str()?;
    let ident = rec.get("userIdentity")?;
    let caller = ident.get("userName").and_then(Value::as_str);
    let caller_type = ident.get("type").and_then(Value::as_str);
    // A root user managing its account's users, or a user acting on itself, is routine.
    if caller == Some(target) || caller_type == Some("Root") {
        return None;
    }
    Some(Raise {
        severity: Severity::High,
        reason: format!(
            "requestParameters.userName {target:?} is not the caller: {what} made for another user"
        ),
        outside: Vec::new(),
    })
}

/// Whether a rule opened to `0.0.0.0/0` or `::/0` on protocol `proto` and ports
/// `from..=to` is an open door, and which.
fn open_door(proto: &str, from: Option<i64>, to: Option<i64>) -> Option<String> {
    if proto == "-1" || proto.eq_ignore_ascii_case("all") {
        return Some("all ports".into());
    }
    let (from, to) = (from?, to?);
    if from <= 0 && to >= 65535 || from == -1 {
        return Some("all ports".into());
    }
    ADMIN_PORTS
        .iter()
        .find(|(p, _)| i64::from(*p) >= from && i64::from(*p) <= to)
        .map(|(p, n)| format!("port {p} ({n})"))
}

fn is_world(cidr: &str) -> bool {
    matches!(cidr.trim(), "0.0.0.0/0" | "::/0")
}

/// `items` of a CloudTrail list (`{"items":[…]}`) or a bare array.
fn items(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(m)) => match m.get("items") {
            Some(Value::Array(a)) => a.iter().collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn number(v: Option<&Value>) -> Option<i64> {
    v.and_then(|x| {
        x.as_i64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    })
}

fn security_group_open(params: &Value) -> Option<Raise> {
    for perm in items(params.get("ipPermissions")) {
        let world = items(perm.get("ipRanges"))
            .iter()
            .filter_map(|r| r.get("cidrIp").and_then(Value::as_str))
            .chain(
                items(perm.get("ipv6Ranges"))
                    .iter()
                    .filter_map(|r| r.get("cidrIpv6").and_then(Value::as_str)),
            )
            .find(|c| is_world(c))
            .map(str::to_string);
        let Some(world) = world else {
            continue;
        };
        let proto = perm.get("ipProtocol").and_then(Value::as_str).unwrap_or("");
        if let Some(door) = open_door(
            proto,
            number(perm.get("fromPort")),
            number(perm.get("toPort")),
        ) {
            return Some(Raise {
                severity: Severity::High,
                reason: format!("requestParameters.ipPermissions opens {door} to {world}"),
                outside: Vec::new(),
            });
        }
    }
    // The older flat form: cidrIp, ipProtocol, fromPort, toPort at the top.
    let cidr = params.get("cidrIp").and_then(Value::as_str)?;
    if !is_world(cidr) {
        return None;
    }
    let proto = params
        .get("ipProtocol")
        .and_then(Value::as_str)
        .unwrap_or("");
    let door = open_door(
        proto,
        number(params.get("fromPort")),
        number(params.get("toPort")),
    )?;
    Some(Raise {
        severity: Severity::High,
        reason: format!("requestParameters.cidrIp opens {door} to {cidr}"),
        outside: Vec::new(),
    })
}

fn network_acl_open(params: &Value) -> Option<Raise> {
    let allow = params.get("ruleAction").and_then(Value::as_str) == Some("allow");
    let egress = params
        .get("egress")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let cidr = params
        .get("cidrBlock")
        .or_else(|| params.get("ipv6CidrBlock"))
        .and_then(Value::as_str)?;
    if !allow || egress || !is_world(cidr) {
        return None;
    }
    let proto = params
        .get("aclProtocol")
        .or_else(|| params.get("protocol"))
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
        .unwrap_or_default();
    let range = params.get("portRange");
    let door = open_door(
        &proto,
        number(range.and_then(|r| r.get("from"))),
        number(range.and_then(|r| r.get("to"))),
    )?;
    Some(Raise {
        severity: Severity::High,
        reason: format!("requestParameters.cidrBlock opens {door} to {cidr} in a network ACL"),
        outside: Vec::new(),
    })
}

fn shared_with_all(params: &Value, attribute: &str, what: &str) -> Option<Raise> {
    let add = params.get(attribute)?.get("add")?;
    let public = items(Some(add))
        .iter()
        .any(|i| i.get("group").and_then(Value::as_str) == Some("all"));
    public.then(|| Raise {
        severity: Severity::Critical,
        reason: format!(
            "requestParameters.{attribute} shares the {what} with everyone (group \"all\")"
        ),
        outside: Vec::new(),
    })
}

fn db_snapshot_public(params: &Value) -> Option<Raise> {
    let restore = params.get("attributeName").and_then(Value::as_str) == Some("restore");
    let public = strings(params.get("valuesToAdd")).contains(&"all");
    (restore && public).then(|| Raise {
        severity: Severity::Critical,
        reason: "requestParameters.valuesToAdd shares the DB snapshot with everyone (\"all\")"
            .into(),
        outside: Vec::new(),
    })
}

fn lambda_permission(params: &Value, own: &Own) -> Option<Raise> {
    let principal = params.get("principal")?.as_str()?;
    if principal == "*" {
        let conditioned =
            params.get("sourceArn").is_some() || params.get("sourceAccount").is_some();
        return Some(Raise {
            severity: if conditioned {
                Severity::High
            } else {
                Severity::Critical
            },
            reason: "requestParameters.principal lets everyone invoke the function (\"*\")".into(),
            outside: Vec::new(),
        });
    }
    let account = account_of(principal)?;
    (!own.contains(&account)).then(|| Raise {
        severity: Severity::High,
        reason: format!("requestParameters.principal lets account {account} outside the organisation invoke the function"),
        outside: own.unless_inside(std::slice::from_ref(&account)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raise(rec: Value) -> Option<Severity> {
        assess_value(&rec, &ContentOptions::default()).map(|r| r.severity)
    }

    fn iam(name: &str, params: Value) -> Value {
        json!({"eventName": name, "eventSource": "iam.amazonaws.com", "recipientAccountId": "111122223333",
               "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "111122223333"},
               "requestParameters": params})
    }

    #[test]
    fn policies_are_read_for_what_they_grant() {
        let admin = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            raise(iam("PutUserPolicy", json!({"policyDocument": admin}))),
            Some(Severity::Critical)
        );
        let iam_all =
            r#"{"Statement":{"Effect":"Allow","Action":["s3:GetObject","iam:*"],"Resource":"*"}}"#;
        assert_eq!(
            raise(iam(
                "CreatePolicyVersion",
                json!({"policyDocument": iam_all})
            )),
            Some(Severity::High)
        );
        let narrow = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert_eq!(
            raise(iam("PutRolePolicy", json!({"policyDocument": narrow}))),
            None
        );
        let denied_all = r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            raise(iam("PutUserPolicy", json!({"policyDocument": denied_all}))),
            None
        );
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
        assert_eq!(
            raise(iam("PutGroupPolicy", json!({"policyDocument": encoded}))),
            Some(Severity::Critical)
        );
        let mut failed = iam("PutUserPolicy", json!({"policyDocument": admin}));
        failed["errorCode"] = json!("AccessDenied");
        assert_eq!(raise(failed), None);
    }

    #[test]
    fn trust_and_resource_policies_name_who_they_open_to() {
        let trust = |p: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{p}"}},"Action":"sts:AssumeRole"}}]}}"#
            )
        };
        let foreign = iam(
            "UpdateAssumeRolePolicy",
            json!({"policyDocument": trust("arn:aws:iam::999988887777:root")}),
        );
        let r = assess_value(&foreign, &ContentOptions::default()).unwrap();
        assert_eq!(r.severity, Severity::High);
        assert!(r.reason.contains("999988887777"), "{}", r.reason);
        let own = iam(
            "UpdateAssumeRolePolicy",
            json!({"policyDocument": trust("arn:aws:iam::111122223333:role/ci")}),
        );
        assert_eq!(raise(own), None);
        let org = ContentOptions {
            environments: Default::default(),
            subscriptions: Vec::new(),
            organization: vec!["999988887777".into()],
        };
        assert_eq!(assess_value(&foreign, &org), None);
        let bucket = json!({"eventName": "PutBucketPolicy", "recipientAccountId": "111122223333",
            "requestParameters": {"bucketName": "b", "bucketPolicy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}});
        assert_eq!(raise(bucket), Some(Severity::Critical));
        let lambda = json!({"eventName": "AddPermission20150331v2", "recipientAccountId": "111122223333",
            "requestParameters": {"functionName": "f", "principal": "*", "action": "lambda:InvokeFunction"}});
        assert_eq!(raise(lambda), Some(Severity::Critical));
        let from_s3 = json!({"eventName": "AddPermission20150331v2", "recipientAccountId": "111122223333",
            "requestParameters": {"functionName": "f", "principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::b"}});
        assert_eq!(raise(from_s3), None);
    }

    #[test]
    fn keys_passwords_and_admin_for_others() {
        let other = iam("CreateAccessKey", json!({"userName": "bob"}));
        assert_eq!(raise(other), Some(Severity::High));
        assert_eq!(
            raise(iam("CreateAccessKey", json!({"userName": "alice"}))),
            None
        );
        assert_eq!(
            raise(iam("CreateLoginProfile", json!({"userName": "bob"}))),
            Some(Severity::High)
        );
        assert_eq!(
            raise(iam(
                "AttachRolePolicy",
                json!({"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
            )),
            Some(Severity::High)
        );
        assert_eq!(
            raise(iam(
                "AttachRolePolicy",
                json!({"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
            )),
            None
        );
    }

    #[test]
    fn networks_opened_to_the_world_on_doors_that_matter() {
        let sg = |cidr: &str, from: i64, to: i64, proto: &str| {
            json!({"eventName": "AuthorizeSecurityGroupIngress", "requestParameters": {"groupId": "sg-1",
                "ipPermissions": {"items": [{"ipProtocol": proto, "fromPort": from, "toPort": to,
                    "ipRanges": {"items": [{"cidrIp": cidr}]}}]}}})
        };
        assert_eq!(raise(sg("0.0.0.0/0", 22, 22, "tcp")), Some(Severity::High));
        assert_eq!(raise(sg("0.0.0.0/0", 0, 0, "-1")), Some(Severity::High));
        assert_eq!(raise(sg("0.0.0.0/0", 443, 443, "tcp")), None);
        assert_eq!(raise(sg("10.0.0.0/8", 22, 22, "tcp")), None);
        let acl = json!({"eventName": "CreateNetworkAclEntry", "requestParameters": {"networkAclId": "acl-1",
            "ruleNumber": 100, "protocol": "-1", "ruleAction": "allow", "egress": false, "cidrBlock": "0.0.0.0/0"}});
        assert_eq!(raise(acl), Some(Severity::High));
    }

    #[test]
    fn public_snapshots_and_images_are_critical() {
        let snap = json!({"eventName": "ModifySnapshotAttribute", "requestParameters": {"snapshotId": "snap-1",
            "createVolumePermission": {"add": {"items": [{"group": "all"}]}}, "attributeType": "CREATE_VOLUME_PERMISSION"}});
        assert_eq!(raise(snap), Some(Severity::Critical));
        let to_account = json!({"eventName": "ModifySnapshotAttribute", "requestParameters": {"snapshotId": "snap-1",
            "createVolumePermission": {"add": {"items": [{"userId": "999988887777"}]}}}});
        assert_eq!(raise(to_account), None);
        let db = json!({"eventName": "ModifyDBSnapshotAttribute", "requestParameters": {"dBSnapshotIdentifier": "s",
            "attributeName": "restore", "valuesToAdd": ["all"]}});
        assert_eq!(raise(db), Some(Severity::Critical));
    }
}
