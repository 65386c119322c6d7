//! What an Azure Activity record's request or response body says about exposure.
//!
//! The body is JSON text in `properties.responseBody` (on the record of the finished request:
//! the resource as it now is) or `properties.requestbody` (on the record of the started one);
//! the response is preferred when a record has both. Keys are compared without regard to case,
//! as Azure's services write them in either casing.

use super::{Raise, ADMIN_PORTS};
use serde_json::Value;
use trailwatch_decode::azure::AzureRecord;
use trailwatch_model::{Outcome, Severity};

const NSG_RULE_WRITE: &str = "Microsoft.Network/networkSecurityGroups/securityRules/write";
const NSG_WRITE: &str = "Microsoft.Network/networkSecurityGroups/write";
const SQL_FIREWALL_WRITE: &str = "Microsoft.Sql/servers/firewallRules/write";

/// Source prefixes that mean "anyone on the internet".
const WORLD: &[&str] = &["*", "internet", "any", "0.0.0.0/0", "0.0.0.0", "::/0"];

/// The raise a successful Azure operation's body deserves, if any.
pub(super) fn assess(rec: &AzureRecord<'_>) -> Option<Raise> {
    let op = rec.operation()?;
    let assessed = [NSG_RULE_WRITE, NSG_WRITE, SQL_FIREWALL_WRITE]
        .iter()
        .any(|o| o.eq_ignore_ascii_case(&op));
    if !assessed || rec.outcome() == Outcome::Failure {
        return None;
    }
    let (field, text) = ["properties.responseBody", "properties.requestbody"]
        .into_iter()
        .find_map(|f| rec.text(f).map(|t| (f, t)))?;
    let body: Value = serde_json::from_str(&text).ok()?;
    let reason = if op.eq_ignore_ascii_case(NSG_RULE_WRITE) {
        get(&body, "properties").and_then(|p| nsg_rule_open(p, get_str(&body, "name")))
    } else if op.eq_ignore_ascii_case(NSG_WRITE) {
        nsg_rules(&body).find_map(|(name, p)| nsg_rule_open(p, name))
    } else {
        get(&body, "properties").and_then(sql_firewall_open)
    }?;
    Some(Raise {
        severity: Severity::High,
        reason: format!("{field} {reason}"),
        outside: Vec::new(),
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
