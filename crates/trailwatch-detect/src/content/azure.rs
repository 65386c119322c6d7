//! What an Azure Activity record's request or response body says about exposure.
//!
//! The body is JSON text in `properties.responseBody` (on the record of the finished request:
//! the resource as it now is) or `properties.requestbody` (on the record of the started one);
//! the response is preferred when a record has both. Keys are compared without regard to case,
//! as Azure's services write them in either casing.
//!
//! Read: NSG rules, Azure Firewall rules and SQL firewall rules opened to the internet (high); a VNet peered with,
//! or a packet capture stored in, a subscription outside the organisation (high: traffic or
//! its copy leaves; without `[organization] subscriptions`, outside the subscriptions of the
//! input, decided when the hunt ends); a capture of whole packets for more than an hour
//! (medium); a role assignment or Key Vault access policy granting to the caller itself
//! (high), a privileged role or a vault's secrets wholesale (medium); a Defender for Cloud
//! alert suppression rule for every entity (high) or without an end (medium); a SAS token
//! valid for more than 30 days (high), or for more than a day or allowing writes, and a user
//! delegation key valid for more than a day (medium); a policy waiver without an end (medium;
//! for a whole subscription or management group, high).

use super::{ContentOptions, Raise, ADMIN_PORTS};
use serde_json::Value;
use trailwatch_decode::azure::{
    canonical_object_id, resource_id_part, subscription_of, AzureRecord,
};
use trailwatch_decode::time::parse_ms;
use trailwatch_model::{Outcome, Severity};

const NSG_RULE_WRITE: &str = "Microsoft.Network/networkSecurityGroups/securityRules/write";
const NSG_WRITE: &str = "Microsoft.Network/networkSecurityGroups/write";
const SQL_FIREWALL_WRITE: &str = "Microsoft.Sql/servers/firewallRules/write";
const PEERING_WRITE: &str = "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write";
const PACKET_CAPTURE_WRITE: &str = "Microsoft.Network/networkWatchers/packetCaptures/write";
const ROLE_ASSIGNMENT_WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
const VAULT_POLICY_WRITE: &str = "Microsoft.KeyVault/vaults/accessPolicies/write";
const SUPPRESSION_WRITE: &str = "Microsoft.Security/alertsSuppressionRules/write";
const ACCOUNT_SAS: &str = "Microsoft.Storage/storageAccounts/listAccountSas/action";
const SERVICE_SAS: &str = "Microsoft.Storage/storageAccounts/listServiceSas/action";
const FIREWALL_WRITES: &[&str] = &[
    "Microsoft.Network/azureFirewalls/write",
    "Microsoft.Network/firewallPolicies/write",
    "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write",
];
const POLICY_ASSIGNMENT_WRITE: &str = "Microsoft.Authorization/policyAssignments/write";
const EXEMPTION_WRITE: &str = "Microsoft.Authorization/policyExemptions/write";
const DELEGATION_KEY: &str =
    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action";

const ASSESSED: &[&str] = &[
    NSG_RULE_WRITE,
    NSG_WRITE,
    SQL_FIREWALL_WRITE,
    PEERING_WRITE,
    PACKET_CAPTURE_WRITE,
    ROLE_ASSIGNMENT_WRITE,
    VAULT_POLICY_WRITE,
    SUPPRESSION_WRITE,
    ACCOUNT_SAS,
    SERVICE_SAS,
    DELEGATION_KEY,
    EXEMPTION_WRITE,
    POLICY_ASSIGNMENT_WRITE,
];

const DAY_MS: i64 = 86_400_000;

/// Built-in roles that hand out control, secrets or data (by role definition id, the last
/// path segment).
const PRIVILEGED_ROLES: &[(&str, &str)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
    ),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    (
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        "Role Based Access Control Administrator",
    ),
    (
        "00482a5a-887f-4fb3-b363-3b7fe8e74483",
        "Key Vault Administrator",
    ),
    (
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
        "Key Vault Secrets Officer",
    ),
    (
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
        "Storage Blob Data Owner",
    ),
    (
        "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        "Storage Blob Data Contributor",
    ),
    (
        "17d1049b-9a84-46fb-8f53-869881c3d3ab",
        "Storage Account Contributor",
    ),
    (
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
    ),
    (
        "8b54135c-b56d-4d72-a534-26097cfdc8d8",
        "Key Vault Data Access Administrator",
    ),
    (
        "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
        "Virtual Machine Contributor",
    ),
];

/// Source prefixes that mean "anyone on the internet".
const WORLD: &[&str] = &["*", "internet", "any", "0.0.0.0/0", "0.0.0.0", "::/0"];

/// A capture longer than this, of whole packets, is more than troubleshooting.
const LONG_CAPTURE_SECONDS: u64 = 3_600;

/// Whether an operation (any case) is one whose body is read here.
pub(super) fn is_assessed(operation: &str) -> bool {
    ASSESSED
        .iter()
        .chain(FIREWALL_WRITES)
        .any(|o| o.eq_ignore_ascii_case(operation))
}

/// The raise a successful Azure operation's body deserves, if any.
pub(super) fn assess(
    rec: &AzureRecord<'_>,
    time_ms: Option<i64>,
    opts: &ContentOptions,
) -> Option<Raise> {
    let op = rec.operation()?;
    let op = *ASSESSED
        .iter()
        .chain(FIREWALL_WRITES)
        .find(|o| o.eq_ignore_ascii_case(&op))?;
    if rec.outcome() == Outcome::Failure {
        return None;
    }
    let at = Moment { time_ms, op };
    // Every body the record holds is read and the highest raise kept: a response that was
    // cut short or says little does not hide what the request asked for.
    ["properties.responseBody", "properties.requestbody"]
        .into_iter()
        .filter_map(|f| Some((f, serde_json::from_str::<Value>(&rec.text(f)?).ok()?)))
        .filter_map(|(field, body)| assess_body(rec, opts, &at, field, &body))
        .max_by_key(|r| r.severity)
}

/// What the record is: its operation and time.
struct Moment {
    time_ms: Option<i64>,
    op: &'static str,
}

/// The raise one body deserves.
fn assess_body(
    rec: &AzureRecord<'_>,
    opts: &ContentOptions,
    at: &Moment,
    field: &str,
    body: &Value,
) -> Option<Raise> {
    let op = at.op;
    if [ACCOUNT_SAS, SERVICE_SAS, DELEGATION_KEY].contains(&op) {
        return sas_raise(field, body, at.time_ms?);
    }
    let props = get(body, "properties");
    let high = |reason: String| Raise {
        severity: Severity::High,
        reason: format!("{field} {reason}"),
        outside: Vec::new(),
    };
    match op {
        NSG_RULE_WRITE => props
            .and_then(|p| nsg_rule_open(p, get_str(body, "name")))
            .map(high),
        NSG_WRITE => nsg_rules(body)
            .find_map(|(name, p)| nsg_rule_open(p, name))
            .map(high),
        SQL_FIREWALL_WRITE => props.and_then(sql_firewall_open).map(high),
        PEERING_WRITE => {
            let remote = props
                .and_then(|p| get(p, "remoteVirtualNetwork"))
                .and_then(|r| get_str(r, "id"))?;
            let what = format!("peers with virtual network {remote}");
            outside_raise(rec, opts, field, remote, &what)
        }
        PACKET_CAPTURE_WRITE => props.and_then(|p| capture_raise(rec, opts, field, p)),
        ROLE_ASSIGNMENT_WRITE => props.and_then(|p| role_assignment_raise(rec, field, p)),
        VAULT_POLICY_WRITE => props.and_then(|p| vault_policy_raise(rec, field, p)),
        EXEMPTION_WRITE => props.and_then(|p| exemption_raise(rec, at, field, p)),
        POLICY_ASSIGNMENT_WRITE => props.and_then(|p| assignment_raise(field, p)),
        _ if FIREWALL_WRITES.contains(&op) => props.and_then(firewall_open).map(high),
        _ => props.and_then(|p| suppression_raise(at, field, p)),
    }
}

/// A SAS token or user delegation key asked for with a long life or write rights (the
/// parameters of the request; a response holds the token itself and is passed over). An
/// expiry that cannot be read — none, a stored access policy's, a date without a time — is
/// taken as long.
fn sas_raise(field: &str, body: &Value, time_ms: i64) -> Option<Raise> {
    let expiry = get_str(body, "signedExpiry").or_else(|| get_str(body, "expiry"));
    let asks = expiry.is_some()
        || [
            "signedPermission",
            "signedIdentifier",
            "signedResourceTypes",
            "start",
        ]
        .iter()
        .any(|k| get(body, k).is_some());
    if !asks {
        return None;
    }
    let start_ms = get_str(body, "signedStart")
        .or_else(|| get_str(body, "start"))
        .and_then(|s| parse_ms(s.trim()))
        .unwrap_or(time_ms);
    let days = match expiry.and_then(|e| parse_ms(e.trim())) {
        Some(end) => (end - start_ms) as f64 / DAY_MS as f64,
        None => {
            return Some(Raise {
                severity: Severity::Medium,
                reason: format!("{field}: the token or key asked for has no readable expiry"),
                outside: Vec::new(),
            })
        }
    };
    let perms = get_str(body, "signedPermission").unwrap_or_default();
    let writes: String = perms
        .to_ascii_lowercase()
        .chars()
        .filter(|c| "wdacupxyimeot".contains(*c))
        .collect();
    let (severity, what) = if days > 30.0 {
        (Severity::High, format!("is valid for {days:.0} days"))
    } else if days > 1.0 {
        (Severity::Medium, format!("is valid for {days:.1} days"))
    } else if !writes.is_empty() {
        (Severity::Medium, format!("allows writing ({perms:?})"))
    } else {
        return None;
    };
    Some(Raise {
        severity,
        reason: format!("{field}: the token or key asked for {what}"),
        outside: Vec::new(),
    })
}

/// Routine exemptions and suppressions end within this many days (a quarter's change).
const LONGEST_ROUTINE_DAYS: i64 = 90;

/// Whether an end date (RFC 3339) is within [`LONGEST_ROUTINE_DAYS`] of the record.
fn ends_soon(end: Option<&str>, time_ms: Option<i64>) -> bool {
    match (end.and_then(|e| parse_ms(e.trim())), time_ms) {
        (Some(end), Some(now)) => end - now <= LONGEST_ROUTINE_DAYS * DAY_MS,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// A policy assignment that no longer enforces (`enforcementMode` `DoNotEnforce`) or leaves
/// scopes out (`notScopes`): the guardrail is off where it mattered.
fn assignment_raise(field: &str, p: &Value) -> Option<Raise> {
    let off = get_str(p, "enforcementMode").is_some_and(|m| m.eq_ignore_ascii_case("DoNotEnforce"));
    let excluded = get(p, "notScopes")
        .and_then(Value::as_array)
        .is_some_and(|n| !n.is_empty());
    let what = match (off, excluded) {
        (true, _) => "stops enforcing the policy (enforcementMode DoNotEnforce)",
        (false, true) => "leaves scopes out of the policy (notScopes)",
        (false, false) => return None,
    };
    Some(Raise {
        severity: Severity::Medium,
        reason: format!("{field} {what}"),
        outside: Vec::new(),
    })
}

/// An Azure Firewall rule (policy rule collections, or a classic firewall's network and NAT
/// rule collections) that lets the internet reach an administrative port or every port.
fn firewall_open(p: &Value) -> Option<String> {
    let action_of = |c: &Value| {
        get(c, "action")
            .and_then(|a| get_str(a, "type"))
            .unwrap_or("Allow")
            .to_string()
    };
    let mut collections: Vec<(String, &Value)> = Vec::new();
    for c in get(p, "ruleCollections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        collections.push((action_of(c), c));
    }
    for key in ["networkRuleCollections", "natRuleCollections"] {
        for c in get(p, key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(cp) = get(c, "properties") {
                collections.push((action_of(cp), cp));
            }
        }
    }
    collections
        .into_iter()
        .filter(|(action, _)| !action.eq_ignore_ascii_case("Deny"))
        .flat_map(|(_, c)| {
            get(c, "rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .find_map(|r| {
            let strings = |key: &str| -> Vec<&str> {
                get(r, key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect()
            };
            let world = strings("sourceAddresses")
                .into_iter()
                .find(|s| WORLD.iter().any(|w| w.eq_ignore_ascii_case(s.trim())))?;
            // A DNAT rule exposes its translated (inside) port, whatever the public one is.
            let translated = get_str(r, "translatedPort").into_iter();
            let door = strings("destinationPorts")
                .into_iter()
                .chain(translated)
                .find_map(open_door)?;
            let name = get_str(r, "name")
                .map(|n| format!(" (rule {n:?})"))
                .unwrap_or_default();
            Some(format!("allows {door} from {world}{name}"))
        })
}

/// A policy exemption (waiver or mitigated: both switch the policy off) without an end
/// within [`LONGEST_ROUTINE_DAYS`]: medium, high when it covers a whole subscription or
/// management group (its id has no resource group). One with a near end is governance work.
fn exemption_raise(rec: &AzureRecord<'_>, at: &Moment, field: &str, p: &Value) -> Option<Raise> {
    if ends_soon(get_str(p, "expiresOn"), at.time_ms) {
        return None;
    }
    let id = rec.text("resourceId").unwrap_or_default();
    let whole = resource_id_part(&id, "resourceGroups").is_none();
    Some(Raise {
        severity: if whole {
            Severity::High
        } else {
            Severity::Medium
        },
        reason: format!(
            "{field} exempts from the policy without an end within {LONGEST_ROUTINE_DAYS} days{}",
            if whole {
                ", for a whole subscription or management group"
            } else {
                ""
            }
        ),
        outside: Vec::new(),
    })
}

/// A Defender alert suppression rule that hides an alert type for every entity (high) or
/// for ever (medium). A rule scoped to some entities, with an end, is SOC tuning.
fn suppression_raise(at: &Moment, field: &str, p: &Value) -> Option<Raise> {
    let alert = get_str(p, "alertType").unwrap_or("*");
    let every_type = alert.trim() == "*";
    let scoped = get(p, "suppressionAlertsScope")
        .and_then(|s| get(s, "allOf"))
        .and_then(Value::as_array)
        .is_some_and(|conditions| !conditions.is_empty());
    let ends = ends_soon(get_str(p, "expirationDateUtc"), at.time_ms);
    let (severity, what) = match (scoped && !every_type, ends) {
        (false, _) => (Severity::High, "for every entity or every alert type"),
        (true, false) => (Severity::Medium, "without an end"),
        (true, true) => return None,
    };
    Some(Raise {
        severity,
        reason: format!("{field} suppresses {alert} {what}"),
        outside: Vec::new(),
    })
}

/// Whether the object id `id` (any form) is the caller's own.
fn is_caller(rec: &AzureRecord<'_>, id: &str) -> bool {
    rec.caller_object_id()
        .is_some_and(|me| me == canonical_object_id(id.trim()))
}

/// A role assigned to the caller itself (high) or a privileged role (medium).
fn role_assignment_raise(rec: &AzureRecord<'_>, field: &str, p: &Value) -> Option<Raise> {
    let role_id = get_str(p, "roleDefinitionId").unwrap_or_default();
    let guid = role_id.rsplit('/').next().unwrap_or_default();
    let role = PRIVILEGED_ROLES
        .iter()
        .find(|(g, _)| g.eq_ignore_ascii_case(guid))
        .map(|(_, name)| *name);
    let label = role.unwrap_or(guid);
    if get_str(p, "principalId").is_some_and(|id| is_caller(rec, id)) {
        return Some(Raise {
            severity: Severity::High,
            reason: format!("{field} assigns the role {label} to the caller itself"),
            outside: Vec::new(),
        });
    }
    role.map(|name| Raise {
        severity: Severity::Medium,
        reason: format!("{field} assigns the privileged role {name}"),
        outside: Vec::new(),
    })
}

/// A Key Vault access policy granting to the caller itself (high), or every permission, purge,
/// or listing and reading all secrets (medium).
fn vault_policy_raise(rec: &AzureRecord<'_>, field: &str, p: &Value) -> Option<Raise> {
    // `…/accessPolicies/remove` takes permissions away.
    let id = rec.text("resourceId").unwrap_or_default();
    if id.to_ascii_lowercase().ends_with("/accesspolicies/remove") {
        return None;
    }
    let policies = get(p, "accessPolicies").and_then(Value::as_array)?;
    let mut found: Option<Raise> = None;
    for policy in policies {
        let perms = get(policy, "permissions");
        let of = |kind: &str| -> Vec<String> {
            perms
                .and_then(|ps| get(ps, kind))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        };
        let secrets = of("secrets");
        let all: Vec<String> = ["keys", "secrets", "certificates", "storage"]
            .iter()
            .flat_map(|k| of(k))
            .collect();
        let wholesale = all.iter().any(|x| x == "all" || x == "purge")
            || (secrets.iter().any(|x| x == "get") && secrets.iter().any(|x| x == "list"));
        let to_self = get_str(policy, "objectId").is_some_and(|id| is_caller(rec, id));
        let raise = if to_self {
            Raise {
                severity: Severity::High,
                reason: format!("{field} grants the caller itself {}", all.join(", ")),
                outside: Vec::new(),
            }
        } else if wholesale {
            Raise {
                severity: Severity::Medium,
                reason: format!("{field} grants {}", all.join(", ")),
                outside: Vec::new(),
            }
        } else {
            continue;
        };
        if found.as_ref().is_none_or(|f| raise.severity > f.severity) {
            found = Some(raise);
        }
    }
    found
}

/// A packet capture stored outside the organisation (high), or of whole packets for long
/// (medium).
fn capture_raise(
    rec: &AzureRecord<'_>,
    opts: &ContentOptions,
    field: &str,
    p: &Value,
) -> Option<Raise> {
    let storage = get(p, "storageLocation").and_then(|s| get_str(s, "storageId"));
    if let Some(outside) = storage.and_then(|s| {
        let what = format!("stores the capture in storage account {s}");
        outside_raise(rec, opts, field, s, &what)
    }) {
        return Some(outside);
    }
    let number = |key: &str| {
        get(p, key).and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
    };
    // 0 is "whole packets"; an Ethernet frame's 1500 bytes is as good.
    let per_packet = number("bytesToCapturePerPacket").unwrap_or(0);
    let whole_packets = per_packet == 0 || per_packet >= 1500;
    let seconds = number("timeLimitInSeconds").unwrap_or(18_000);
    (whole_packets && seconds > LONG_CAPTURE_SECONDS).then(|| Raise {
        severity: Severity::Medium,
        reason: format!(
            "{field} captures whole packets for {} minutes",
            seconds / 60
        ),
        outside: Vec::new(),
    })
}

/// High when the resource `target` (an Azure resource id) is in a subscription that is not
/// the record's own nor the organisation's; when no organisation is configured, the raise
/// holds only if that subscription is none of the input's either ([`Raise::outside`]).
fn outside_raise(
    rec: &AzureRecord<'_>,
    opts: &ContentOptions,
    field: &str,
    target: &str,
    what: &str,
) -> Option<Raise> {
    let theirs = subscription_of(target)?;
    let own = rec.subscription_id().map(|s| s.to_ascii_lowercase());
    let configured = !opts.subscriptions.is_empty();
    if own.as_deref() == Some(theirs.as_str()) || opts.subscriptions.contains(&theirs) {
        return None;
    }
    Some(Raise {
        severity: Severity::High,
        reason: format!("{field} {what}, in subscription {theirs} outside the organisation"),
        outside: if configured { Vec::new() } else { vec![theirs] },
    })
}

/// A key of an object, compared without regard to case.
fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn get_str<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    get(v, key).and_then(Value::as_str)
}

/// A single value and a list of values, as NSG rules give prefixes and ports.
fn one_or_many<'v>(v: &'v Value, single: &str, list: &str) -> Vec<&'v str> {
    let mut out: Vec<&str> = get_str(v, single).into_iter().collect();
    if let Some(Value::Array(items)) = get(v, list) {
        out.extend(items.iter().filter_map(Value::as_str));
    }
    out
}

/// The rules of a whole NSG written at once: (name, properties).
fn nsg_rules(body: &Value) -> impl Iterator<Item = (Option<&str>, &Value)> {
    let rules = get(body, "properties")
        .and_then(|p| get(p, "securityRules"))
        .and_then(Value::as_array);
    rules
        .into_iter()
        .flatten()
        .filter_map(|r| get(r, "properties").map(|p| (get_str(r, "name"), p)))
}

/// What an inbound allow rule from the internet opens, if it opens a door.
fn nsg_rule_open(p: &Value, name: Option<&str>) -> Option<String> {
    let is = |key: &str, want: &str| get_str(p, key).is_some_and(|v| v.eq_ignore_ascii_case(want));
    if !is("access", "Allow") || !is("direction", "Inbound") {
        return None;
    }
    let sources = one_or_many(p, "sourceAddressPrefix", "sourceAddressPrefixes");
    let world = sources
        .iter()
        .find(|s| WORLD.iter().any(|w| w.eq_ignore_ascii_case(s.trim())))?;
    let door = one_or_many(p, "destinationPortRange", "destinationPortRanges")
        .into_iter()
        .find_map(open_door)?;
    let rule = name.map(|n| format!(" (rule {n:?})")).unwrap_or_default();
    Some(format!("allows inbound {door} from {world}{rule}"))
}

/// What a destination port range (`*`, `3389`, `3380-3390`) exposes, if it matters.
fn open_door(range: &str) -> Option<String> {
    let range = range.trim();
    if range == "*" {
        return Some("on all ports".into());
    }
    let (from, to) = match range.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
        None => {
            let p = range.parse::<u32>().ok()?;
            (p, p)
        }
    };
    if from == 0 && to >= 65535 {
        return Some("on all ports".into());
    }
    ADMIN_PORTS
        .iter()
        .find(|(p, _)| (from..=to).contains(&u32::from(*p)))
        .map(|(p, n)| format!("on port {p} ({n})"))
}

/// An Azure SQL firewall rule from 0.0.0.0 to 255.255.255.255: every address. (0.0.0.0 to
/// 0.0.0.0 is Azure's "allow Azure services", another rule's business.)
fn sql_firewall_open(p: &Value) -> Option<String> {
    let start = get_str(p, "startIpAddress")?;
    let end = get_str(p, "endIpAddress")?;
    (start.trim() == "0.0.0.0" && end.trim() == "255.255.255.255")
        .then(|| format!("opens the SQL server to every address ({start}-{end})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inbound_rules_from_the_internet_to_a_door_are_told_apart() {
        let rule = |src: Value, ports: Value| {
            let mut p = json!({"access": "Allow", "direction": "Inbound", "protocol": "Tcp"});
            let obj = p.as_object_mut().expect("object");
            for (k, v) in src
                .as_object()
                .into_iter()
                .flatten()
                .chain(ports.as_object().into_iter().flatten())
            {
                obj.insert(k.clone(), v.clone());
            }
            nsg_rule_open(&p, Some("r"))
        };
        let world = json!({"sourceAddressPrefix": "Internet"});
        assert!(rule(world.clone(), json!({"destinationPortRange": "3389"}))
            .is_some_and(|r| r.contains("3389 (RDP)") && r.contains("Internet")));
        assert!(rule(world.clone(), json!({"destinationPortRange": "3380-3390"})).is_some());
        assert!(
            rule(world.clone(), json!({"destinationPortRange": "0-65535"}))
                .is_some_and(|r| r.contains("all ports"))
        );
        assert!(rule(
            world.clone(),
            json!({"destinationPortRanges": ["443", "22"]})
        )
        .is_some_and(|r| r.contains("22 (SSH)")));
        assert!(rule(world.clone(), json!({"destinationPortRange": "443"})).is_none());
        assert!(rule(
            json!({"sourceAddressPrefixes": ["10.0.0.0/8", "*"]}),
            json!({"destinationPortRange": "*"})
        )
        .is_some());
        assert!(rule(
            json!({"sourceAddressPrefix": "203.0.113.0/24"}),
            json!({"destinationPortRange": "3389"})
        )
        .is_none());
        let mut outbound = json!({"access": "Allow", "direction": "Outbound", "sourceAddressPrefix": "*", "destinationPortRange": "22"});
        assert!(nsg_rule_open(&outbound, None).is_none());
        outbound["direction"] = json!("inbound");
        outbound["access"] = json!("deny");
        assert!(nsg_rule_open(&outbound, None).is_none());
    }

    #[test]
    fn a_whole_nsg_and_a_sql_firewall_are_read() {
        let nsg = json!({"properties": {"securityRules": [
            {"name": "web", "properties": {"access": "Allow", "direction": "Inbound", "sourceAddressPrefix": "*", "destinationPortRange": "443"}},
            {"name": "ssh", "properties": {"Access": "Allow", "Direction": "Inbound", "SourceAddressPrefix": "0.0.0.0/0", "DestinationPortRange": "22"}}
        ]}});
        let found = nsg_rules(&nsg).find_map(|(n, p)| nsg_rule_open(p, n));
        assert!(found.is_some_and(|r| r.contains("\"ssh\"")));
        let all = json!({"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"});
        assert!(sql_firewall_open(&all).is_some());
        let azure_services = json!({"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"});
        assert!(sql_firewall_open(&azure_services).is_none());
    }
}
