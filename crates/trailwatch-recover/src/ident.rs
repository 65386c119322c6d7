//! The documented grammar of every value a generated command carries, checked before the value
//! goes into the plan.
//!
//! Values come from the log, where the intruder wrote them: a resource id with `?` and `&`
//! turns `az rest --method delete --uri …` into a delete of something else, and a name with a
//! control character hides what the reviewer reads. Quoting keeps the shell from running such a
//! value, but only its grammar says it is the identifier the step means. Each flag of ours
//! names the grammar of its value; a value that does not fit keeps its step out of the plan
//! ([`crate::plan::Step::refuse_unfit_values`]).

use crate::cmd::{Cmd, Word};
use regex::Regex;
use std::sync::LazyLock;

/// What a value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grammar {
    /// An IAM user or role name: `[\w+=,.@-]{1,64}`.
    IamName,
    /// An IAM inline policy or group name: `[\w+=,.@-]{1,128}`.
    IamPolicyName,
    /// An AWS account id: 12 digits.
    AccountId,
    /// An RDS instance or cluster identifier: a letter, then letters, digits, `-` (1 to 63).
    RdsIdentifier,
    /// A keyword of an API (`all`, `createVolumePermission`): `[A-Za-z0-9._-]{1,64}`.
    Keyword,
    /// An ARN: `arn:partition:service:region:account:resource`.
    Arn,
    /// An IAM access key id: `[A-Z0-9]{16,128}`.
    AccessKeyId,
    /// An EC2 id with its prefix (`sg-`, `i-`, `rtb-`, `acl-`, `snap-`, `ami-`).
    Ec2Id(&'static str),
    /// A GuardDuty detector id: `[a-z0-9]{1,300}`.
    DetectorId,
    /// A Lambda function name, partial or full ARN, with an optional version or alias.
    LambdaFunction,
    /// A Lambda permission statement id: `[\w.-]{1,100}`.
    StatementId,
    /// An S3 bucket name (the legacy us-east-1 form included: `[A-Za-z0-9._-]{3,255}`).
    Bucket,
    /// A CloudTrail trail name (`[\w.-]{3,128}`) or ARN.
    TrailName,
    /// A Secrets Manager secret name (`[\w/+=.@-]{1,512}`) or ARN.
    SecretId,
    /// A KMS key id, multi-Region key id, alias or ARN.
    KmsKey,
    /// A DynamoDB table name (`[\w.-]{3,255}`) or ARN.
    TableName,
    /// An AWS region: `us-east-1`, `us-gov-west-1`.
    AwsRegion,
    /// An IPv4 or IPv6 CIDR block.
    Cidr,
    /// A network ACL rule number: 1 to 32766.
    RuleNumber,
    /// An Azure resource id: `/subscriptions/{guid}[/resourceGroups/{rg}][/providers/…]`.
    AzureResourceId,
    /// An Entra object id or user principal name, or an application name.
    EntraPrincipal,
    /// A GUID.
    Guid,
    /// A name of a resource (trail, rule, vault, secret, diagnostic setting): letters, digits,
    /// `.`, `_`, `-`, 1 to 260; or an ARN (CloudTrail names a trail by either).
    ResourceName,
    /// A URI of ours: the management API around an Azure resource id, or Microsoft Graph v1.0
    /// around directory object ids (path segments without `/`, `?`, `#`, quotes or spaces; `.`
    /// and `..` never a segment; the only queries `$select` of property names and `$filter` on
    /// `clientId` or `principalId` equal to a GUID).
    AzureUri,
    /// A value trailwatch wrote itself (a JSON document, a query, a keyword, a time, an S3
    /// prefix, the analyst's own input paths): any text without hidden characters.
    Text,
}

impl Grammar {
    /// The grammar of the value after `flag`; `None` for a flag without one, whose value is
    /// then refused (every flag of ours must be listed).
    pub fn of_flag(flag: &str) -> Option<Grammar> {
        use Grammar::*;
        Some(match flag {
            "--user-name" | "--role-name" => IamName,
            "--policy-name" | "--group-name" => IamPolicyName,
            "--user-ids" => AccountId,
            "--db-instance-identifier" | "--db-cluster-identifier" => RdsIdentifier,
            "--group-names" => Keyword,
            "--policy-arn" => Arn,
            "--access-key-id" => AccessKeyId,
            "--group-id" | "--group-ids" => Ec2Id("sg"),
            "--instance-ids" => Ec2Id("i"),
            "--route-table-id" | "--route-table-ids" => Ec2Id("rtb"),
            "--network-acl-id" | "--network-acl-ids" => Ec2Id("acl"),
            "--snapshot-id" => Ec2Id("snap"),
            "--image-id" => Ec2Id("ami"),
            "--detector-id" => DetectorId,
            "--function-name" => LambdaFunction,
            "--statement-id" => StatementId,
            "--bucket" => Bucket,
            "--trail-name" => TrailName,
            "--secret-id" => SecretId,
            "--key-id" => KmsKey,
            "--table-name" => TableName,
            "--region" => AwsRegion,
            "--destination-cidr-block" => Cidr,
            "--rule-number" => RuleNumber,
            "--ids" | "--resource-id" | "--storage-account" | "--workspace" | "--scope"
            | "--action-group" | "--event-hub-auth-rule" => AzureResourceId,
            "--id" | "--assignee" => EntraPrincipal,
            "--object-id" | "--member-id" | "--group" | "--subscription" => Guid,
            "--name" | "--vault-name" | "--account-name" | "--resource-group"
            | "--container-name" | "--event-hub-name" => ResourceName,
            "--uri" => AzureUri,
            "--policy-document"
            | "--ip-permissions"
            | "--event-selectors"
            | "--filters"
            | "--launch-permission"
            | "--query"
            | "--since"
            | "--prefix"
            | "--attribute"
            | "--status"
            | "--operation-type"
            | "--resource-type"
            | "--resource-ids"
            | "--traffic-type"
            | "--log-destination-type"
            | "--s3-bucket-name"
            // Documents of `trailwatch posture`'s fixes (JSON it writes from what it read).
            | "--advanced-event-selectors"
            | "--policy"
            | "--lifecycle-configuration"
            | "--object-lock-configuration"
            // … and of its Azure fixes.
            | "--logs"
            | "--body"
            | "--condition"
            | "--if-match" => Text,
            _ => return None,
        })
    }

    /// Whether `v` fits.
    pub fn fits(self, v: &str) -> bool {
        use Grammar::*;
        let re = |r: &Regex| r.is_match(v);
        match self {
            IamName => re(&IAM_NAME),
            IamPolicyName => re(&IAM_POLICY_NAME),
            AccountId => v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()),
            RdsIdentifier => re(&RDS_IDENTIFIER),
            Keyword => re(&KEYWORD),
            Arn => re(&ARN),
            AccessKeyId => re(&ACCESS_KEY_ID),
            Ec2Id(prefix) => v
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|hex| re_hex(hex, 8, 17)),
            DetectorId => re(&DETECTOR_ID),
            LambdaFunction => re(&LAMBDA_FUNCTION),
            StatementId => re(&STATEMENT_ID),
            Bucket => re(&BUCKET),
            TrailName => re(&TRAIL_NAME) || re(&ARN),
            SecretId => re(&SECRET_NAME) || re(&ARN),
            KmsKey => re(&KMS_KEY) || re(&ARN),
            TableName => re(&TABLE_NAME) || re(&ARN),
            AwsRegion => re(&AWS_REGION),
            Cidr => is_cidr(v),
            RuleNumber => {
                v.parse::<u16>().is_ok_and(|n| (1..=32766).contains(&n))
                    && !v.starts_with(['+', '0'])
            }
            AzureResourceId => re(&AZURE_RESOURCE_ID),
            EntraPrincipal => re(&GUID) || re(&UPN) || re(&APP_NAME),
            Guid => re(&GUID),
            ResourceName => re(&RESOURCE_NAME) || re(&ARN),
            AzureUri => re(&AZURE_MANAGEMENT_URI) || re(&GRAPH_URI),
            Text => !v.chars().any(trailwatch_escape::is_hidden),
        }
    }

    /// The grammar in words, for the plan's reason.
    pub fn describe(self) -> String {
        use Grammar::*;
        let words = match self {
            Ec2Id(p) => return format!("an EC2 id {p}-<8 to 17 hex digits>"),
            IamName => "an IAM name ([A-Za-z0-9_+=,.@-], 1 to 64)",
            IamPolicyName => "an IAM policy or group name ([A-Za-z0-9_+=,.@-], 1 to 128)",
            AccountId => "an AWS account id (12 digits)",
            RdsIdentifier => "an RDS identifier (a letter, then [A-Za-z0-9-], up to 63)",
            Keyword => "a keyword ([A-Za-z0-9._-], 1 to 64)",
            Arn => "an ARN",
            AccessKeyId => "an access key id ([A-Z0-9], 16 to 128)",
            DetectorId => "a GuardDuty detector id",
            LambdaFunction => "a Lambda function name or ARN",
            StatementId => "a statement id ([A-Za-z0-9_.-], 1 to 100)",
            Bucket => "an S3 bucket name",
            TrailName => "a trail name or ARN",
            SecretId => "a secret name or ARN",
            KmsKey => "a KMS key id, alias or ARN",
            TableName => "a DynamoDB table name or ARN",
            AwsRegion => "an AWS region",
            Cidr => "a CIDR block",
            RuleNumber => "a rule number 1 to 32766",
            AzureResourceId => "an Azure resource id /subscriptions/<guid>[/resourceGroups/<name>][/providers/<namespace>/<type>/<name>…]",
            EntraPrincipal => "an Entra object id, user principal name or application name",
            Guid => "a GUID",
            ResourceName => "a resource name ([A-Za-z0-9._-], 1 to 260) or ARN",
            AzureUri => "a management URI of an Azure resource id or a Graph URI of directory object ids",
            Text => "text without control or bidirectional characters",
        };
        words.to_string()
    }
}

fn re_hex(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_cidr(v: &str) -> bool {
    let Some((ip, len)) = v.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 32,
        Ok(std::net::IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

fn regex(pattern: &str) -> Regex {
    // The patterns are constants of this module, checked by its tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("grammar pattern {pattern}: {e}"))
}

/// An Azure resource name segment: letters and digits of any script, `.`, `_`, `-`, `(`, `)`;
/// never `.` or `..` alone (checked by the look of the id: a segment must hold a non-dot).
const AZ_SEGMENT: &str = r"[\p{L}\p{N}._()-]*[\p{L}\p{N}_()-][\p{L}\p{N}._()-]*";
const GUID_RE: &str =
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";
const ARN_RE: &str = r"arn:aws(?:-[a-z]+)*:[a-z0-9-]{1,64}:(?:[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})?:(?:[0-9]{12}|aws)?:[A-Za-z0-9_+=,.@:/*$-]{1,1600}";

static IAM_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9_+=,.@-]{1,64}$"));
static IAM_POLICY_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9_+=,.@-]{1,128}$"));
static RDS_IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z][A-Za-z0-9-]{0,62}$"));
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9._-]{1,64}$"));
static ARN: LazyLock<Regex> = LazyLock::new(|| regex(&format!("^{ARN_RE}$")));
static ACCESS_KEY_ID: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Z0-9]{16,128}$"));
static DETECTOR_ID: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z0-9]{1,300}$"));
static LAMBDA_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:arn:aws(?:-[a-z]+)*:lambda:[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:function:)?[A-Za-z0-9_-]{1,140}(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?$",
    )
});
static STATEMENT_ID: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9_.-]{1,100}$"));
static BUCKET: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9._-]{3,255}$"));
static TRAIL_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9._-]{3,128}$"));
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9/_+=.@-]{1,512}$"));
static KMS_KEY: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"^(?:{GUID_RE}|mrk-[0-9a-f]{{32}}|alias/[A-Za-z0-9/_-]{{1,250}})$"
    ))
});
static TABLE_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9_.-]{3,255}$"));
static AWS_REGION: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$"));
static GUID: LazyLock<Regex> = LazyLock::new(|| regex(&format!("^{GUID_RE}$")));
static UPN: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[A-Za-z0-9._'!#^~+-]{1,113}@[A-Za-z0-9.-]{1,255}$"));
static APP_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9._-]{1,120}$"));
static RESOURCE_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z0-9._-]{1,260}$"));
/// The scope, then any number of `/providers/<namespace>` each followed by type/name pairs.
static AZURE_RESOURCE_ID_RE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"(?i:/subscriptions/{GUID_RE}(?:/resourcegroups/{AZ_SEGMENT})?|/providers/microsoft\.management/managementgroups/{AZ_SEGMENT})(?:/providers/[A-Za-z][A-Za-z0-9.]{{0,99}}(?:/[A-Za-z][A-Za-z0-9]{{0,99}}/{AZ_SEGMENT})+)*"
    )
});
static AZURE_RESOURCE_ID: LazyLock<Regex> =
    LazyLock::new(|| regex(&format!("^{}$", *AZURE_RESOURCE_ID_RE)));
static AZURE_MANAGEMENT_URI: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"^https://management\.azure\.com(?:{}|(?i:/providers/microsoft\.aadiam/diagnosticSettings/){AZ_SEGMENT})\?api-version=[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?:-preview)?$",
        *AZURE_RESOURCE_ID_RE
    ))
});
/// A Graph v1.0 path segment: no `/`, `?`, `#`, quote or space, and never `.` or `..`.
const GRAPH_SEGMENT: &str = r"[A-Za-z0-9%._~@-]*[A-Za-z0-9%_~@-][A-Za-z0-9%._~@-]*";
static GRAPH_URI: LazyLock<Regex> = LazyLock::new(|| {
    regex(&format!(
        r"^https://graph\.microsoft\.com/v1\.0(?:/(?:{GRAPH_SEGMENT}|\$ref|directoryRoles\(roleTemplateId='{GUID_RE}'\)))+(?:\?(?:\$filter=(?:clientId|principalId)%20eq%20'{GUID_RE}'|\$select=[A-Za-z]+(?:,[A-Za-z]+)*))?$"
    ))
});

/// The first value of `cmd` that does not fit its flag's grammar, with the reason.
pub fn first_unfit(cmd: &Cmd) -> Option<String> {
    let mut flag: Option<&str> = None;
    for w in &cmd.0 {
        match w {
            Word::Lit(l) => flag = l.starts_with("--").then_some(*l),
            Word::Val(v) => {
                let grammar = match flag {
                    Some(f) => Grammar::of_flag(f),
                    None => Some(Grammar::Text),
                };
                let shown = trailwatch_escape::terminal(v);
                match grammar {
                    None => {
                        return Some(format!(
                            "{} has no known grammar for {shown:?}",
                            flag.unwrap_or("a word")
                        ))
                    }
                    Some(g) if !g.fits(v) => {
                        return Some(format!(
                            "{} {shown:?} is not {}",
                            flag.unwrap_or("the value"),
                            g.describe()
                        ))
                    }
                    Some(_) => {}
                }
                flag = None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
