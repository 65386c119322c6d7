//! Azure: what an Activity Log operation did, and the Azure CLI steps that contain and undo it.
//!
//! The Activity Log arrives in three shapes (REST `{"value":[…]}`, resource logs, Log Analytics
//! columns, see `../shared/docs/FORMATS.md`); this module reads the few fields recovery needs
//! from any of them: the operation (case-insensitively: resource logs upper-case it), whether a
//! write created the resource (HTTP 201 `Created`) or changed an existing one, the request body,
//! and the resource id with its original case when the record keeps it.

use crate::cmd::Cmd;
use crate::identity::{is_microsoft, object_id, upn};
use crate::plan::{Phase, Step};
use crate::scope::{raw, s};
use serde_json::Value;
use std::collections::BTreeMap;
use trailwatch_model::{Event, Outcome, Provider};

/// The fields of one Azure record that recovery reads.
pub(crate) struct AzureOp {
    /// The operation, lower case (`microsoft.network/networksecuritygroups/securityrules/write`).
    pub op: String,
    /// The resource id (original case when the record has it).
    pub resource: String,
    /// The parsed request body, when logged.
    pub body: Value,
    /// A write that created the resource (HTTP 201) rather than changing it.
    pub created: bool,
}

impl AzureOp {
    pub fn of(e: &Event) -> AzureOp {
        let v = raw(e);
        let resource = original_case(&v, e.resources.first().map(String::as_str));
        AzureOp {
            op: e.action.to_ascii_lowercase(),
            resource,
            body: request_body(&v),
            created: status(&v).eq_ignore_ascii_case("Created"),
        }
    }

    fn ends(&self, suffix: &str) -> bool {
        self.op.ends_with(suffix)
    }
}

/// The resource id, preferring a copy that kept its case (resource logs upper-case `resourceId`
/// but keep `identity.authorization.scope` as written).
fn original_case(v: &Value, id: Option<&str>) -> String {
    let id = id.unwrap_or_default();
    for ptr in [
        "/authorization/scope",
        "/identity/authorization/scope",
        "/properties/entity",
        "/Authorization_d/scope",
    ] {
        if let Some(x) = s(v, ptr) {
            if x.eq_ignore_ascii_case(id) {
                return x.to_string();
            }
        }
    }
    id.to_string()
}

/// The HTTP status word of the end record: `Created`, `OK`, `Accepted`…
fn status(v: &Value) -> String {
    for ptr in [
        "/properties/statusCode",
        "/subStatus/value",
        "/ActivitySubstatusValue",
    ] {
        if let Some(x) = s(v, ptr).filter(|x| !x.is_empty()) {
            return x.to_string();
        }
    }
    s(v, "/resultSignature")
        .and_then(|r| r.rsplit('.').next())
        .unwrap_or_default()
        .to_string()
}

/// The request body (logged as a JSON string inside `properties`), parsed.
pub(crate) fn request_body(v: &Value) -> Value {
    let props = v
        .get("properties")
        .or_else(|| v.get("Properties"))
        .cloned()
        .unwrap_or_default();
    let props = match props {
        Value::String(text) => serde_json::from_str(&text).unwrap_or_default(),
        p => p,
    };
    let body = ["requestbody", "requestBody", "responseBody"]
        .iter()
        .find_map(|k| props.get(*k));
    match body {
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or_default(),
        Some(b) => b.clone(),
        None => Value::Null,
    }
}

/// What an Azure operation did to its resource, for the incident's resource table.
pub(crate) fn verb(e: &Event) -> &'static str {
    let op = AzureOp::of(e);
    if op.ends("/read")
        || op.ends("/listkeys/action")
        || op.ends("/getsecret/action")
        || op.ends("/begingetaccess/action")
    {
        "read"
    } else if op.ends("/delete") {
        "deleted"
    } else if op.ends("/accesspolicies/write") {
        "shared"
    } else if op.ends("/write") && op.created {
        "created"
    } else {
        "modified"
    }
}

/// Whether an Azure operation leaves a way back in.
pub(crate) fn is_persistence_op(action: &str) -> bool {
    let op = action.to_ascii_lowercase();
    [
        "microsoft.authorization/roleassignments/write",
        "microsoft.authorization/roledefinitions/write",
        "microsoft.keyvault/vaults/accesspolicies/write",
        "microsoft.compute/virtualmachines/write",
        "microsoft.compute/virtualmachines/extensions/write",
        "microsoft.compute/virtualmachines/runcommand/action",
        "microsoft.managedidentity/userassignedidentities/write",
    ]
    .contains(&op.as_str())
}

pub(crate) fn az(words: &[&'static str]) -> Cmd {
    Cmd::az(words)
}

/// `az rest --method get` on a resource: 404 once it is gone.
fn rest_get(resource: &str, api: &'static str) -> Cmd {
    az(&["rest", "--method", "get"]).arg(
        "--uri",
        format!("https://management.azure.com{resource}?api-version={api}"),
    )
}

/// The name after `/<kind>/` in a resource id (case-insensitive kind).
fn segment_after(resource: &str, kind: &str) -> Option<String> {
    let parts: Vec<&str> = resource.split('/').collect();
    parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case(kind))
        .and_then(|i| parts.get(i + 1))
        .map(|s| s.to_string())
}

/// Percent-encodes a path segment (a UPN may hold `#`, `?` or `/`; Graph ids are path segments).
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Out<'a> {
    e: &'a Event,
    steps: Vec<Step>,
}

impl Out<'_> {
    fn push(
        &mut self,
        phase: Phase,
        title: String,
        command: Option<Cmd>,
        risk: &str,
        check: Option<Cmd>,
        target: &str,
    ) {
        let s = Step::answering(self.e, phase, title, command, risk, check, target);
        self.steps.push(s);
    }
}

/// One Microsoft identity in scope (Activity Log or Entra), as the commands name it.
struct Who<'a> {
    /// The first event of it in scope: the steps' evidence.
    e: &'a Event,
    /// The name people read (UPN, application name).
    name: String,
    /// How commands name it: the object id when the log gives one, else the name.
    id: String,
    user: bool,
}

impl Who<'_> {
    fn label(&self) -> String {
        if self.id == self.name {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.id)
        }
    }
}

/// The Microsoft identities whose own events are in scope, one per object id (else name). A
/// failed sign-in is no sign of a compromise (a spray fails against many users): it counts
/// only when it is not a sign-in; an interrupted one (`Pending`: the password was right, MFA
/// was asked) counts.
fn identities<'a>(scoped: &[&'a Event]) -> Vec<Who<'a>> {
    let mut who: BTreeMap<String, Who<'a>> = BTreeMap::new();
    let counts = |e: &Event| {
        is_microsoft(e)
            && !(e.provider == Provider::Entra
                && !crate::entra::is_audit(e)
                && e.outcome == Outcome::Failure)
    };
    // A record without an object id joins the identity its UPN has elsewhere.
    let mut oid_of_upn: BTreeMap<String, String> = BTreeMap::new();
    for e in scoped.iter().copied().filter(|e| counts(e)) {
        if let (Some(o), Some(u)) = (object_id(e), upn(e)) {
            oid_of_upn.entry(u).or_insert(o);
        }
    }
    for e in scoped.iter().copied().filter(|e| counts(e)) {
        let oid = object_id(e).or_else(|| upn(e).and_then(|u| oid_of_upn.get(&u).cloned()));
        let Some(name) = e
            .principal
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| oid.clone())
        else {
            continue;
        };
        let key = oid.clone().unwrap_or_else(|| name.to_lowercase());
        let kind = e.principal.kind.as_deref().unwrap_or_default();
        let user = name.contains('@') || kind.eq_ignore_ascii_case("User");
        let w = who.entry(key).or_insert_with(|| Who {
            e,
            id: oid.clone().unwrap_or_else(|| name.clone()),
            name: name.clone(),
            user,
        });
        // A later event may name it better: a UPN over an object id, an object id over none.
        if w.name == w.id && name != w.id {
            w.name = name;
        }
        w.user |= user;
    }
    who.into_values().collect()
}

/// The Graph URI of a user (`users/<id or UPN>` + `rest`).
fn graph_user(id: &str, rest: &str) -> String {
    format!(
        "https://graph.microsoft.com/v1.0/users/{}{rest}",
        path_segment(id)
    )
}

/// Contain the Microsoft identities the scope holds: disable sign-in, revoke the sessions and
/// reset the password of users; disable service principals. Only identities whose own events
/// are in scope (Activity Log and Entra alike: one person once, by object id).
pub(crate) fn contain(scoped: &[&Event]) -> Vec<Step> {
    let mut out = Vec::new();
    for w in identities(scoped) {
        let mut o = Out {
            e: w.e,
            steps: Vec::new(),
        };
        let (id, label) = (w.id.clone(), w.label());
        if w.user {
            let state = |fields: &str| {
                az(&["rest", "--method", "get"])
                    .arg("--uri", graph_user(&id, &format!("?$select={fields}")))
            };
            o.push(
                Phase::Contain,
                format!("Disable sign-in for user {label}"),
                Some(az(&["ad", "user", "update"]).arg("--id", id.clone()).opt("--account-enabled", "false")),
                "the user cannot sign in, legitimately either: re-enable after a password reset and MFA re-registration",
                Some(state("accountEnabled")),
                &id,
            );
            o.push(
                Phase::Contain,
                format!("Revoke the refresh tokens and sessions of {label}"),
                Some(az(&["rest", "--method", "post"]).arg("--uri", graph_user(&id, "/revokeSignInSessions"))),
                "every session of the user ends, on every device; access tokens already issued live until they expire (about an hour)",
                Some(state("signInSessionsValidFromDateTime")),
                &id,
            );
            let mut reset = Step::answering(
                w.e,
                Phase::Contain,
                format!("Reset the password of {label}"),
                None,
                "the intruder may know the password (or have set it): a new one, given to the owner out of band",
                Some(state("lastPasswordChangeDateTime")),
                &id,
            );
            reset.review = Some(format!(
                "the plan holds no password: set a new one out of band (az ad user update --id {id} --password <new> --force-change-password-next-sign-in true), then have the owner re-register MFA"
            ));
            o.steps.push(reset);
        } else {
            o.push(
                Phase::Contain,
                format!("Disable service principal {label}"),
                Some(az(&["ad", "sp", "update"]).arg("--id", id.clone()).opt("--set", "accountEnabled=false")),
                "the application stops authenticating; list and remove credentials added during the incident before re-enabling",
                Some(az(&["ad", "sp", "credential", "list"]).arg("--id", id.clone())),
                &id,
            );
        }
        out.extend(o.steps);
    }
    out
}

/// The undo of one successful Azure change.
pub(crate) fn undo(e: &Event) -> Vec<Step> {
    if e.outcome != Outcome::Success {
        return Vec::new();
    }
    let op = AzureOp::of(e);
    let mut o = Out {
        e,
        steps: Vec::new(),
    };
    let r = op.resource.clone();
    match op.op.as_str() {
        "microsoft.authorization/roleassignments/write" => role_assignment(&mut o, &op),
        "microsoft.authorization/roleassignments/delete" => o.push(
            Phase::Restore,
            format!("Re-create the role assignment {r} they removed (the log does not carry its role and assignee: take them from your access records or IaC)"),
            None,
            "none until re-created; check who held it before",
            Some(rest_get(&r, "2022-04-01")),
            &r,
        ),
        "microsoft.network/networksecuritygroups/securityrules/write" => nsg_rule(&mut o, &op),
        "microsoft.keyvault/vaults/accesspolicies/write" => vault_policy(&mut o, &op),
        "microsoft.keyvault/vaults/secrets/getsecret/action" => {
            let vault = segment_after(&r, "vaults").unwrap_or_default();
            let secret = segment_after(&r, "secrets").unwrap_or_default();
            o.push(
                Phase::Eradicate,
                format!("Rotate secret {secret} of vault {vault}: the intruder read it (change it at its source, then store the new value)"),
                None,
                "whatever uses the old value must get the new one",
                Some(az(&["keyvault", "secret", "list-versions"]).arg("--vault-name", vault).arg("--name", secret)),
                &r,
            );
        }
        "microsoft.storage/storageaccounts/listkeys/action" => {
            for key in ["primary", "secondary"] {
                o.push(
                    Phase::Eradicate,
                    format!("Rotate the {key} key of storage account {r}: the intruder listed the keys"),
                    Some(az(&["storage", "account", "keys", "renew"]).arg("--ids", r.clone()).opt("--key", key)),
                    "clients using shared-key auth or SAS signed with the old key stop working",
                    Some(az(&["monitor", "activity-log", "list"]).arg("--resource-id", r.clone()).opt("--offset", "1h")),
                    &r,
                );
            }
        }
        "microsoft.compute/virtualmachines/write" if op.created => {
            o.push(
                Phase::Contain,
                format!("Quarantine virtual machine {r} they created: deallocate it (disks stay for forensics)"),
                Some(az(&["vm", "deallocate"]).arg("--ids", r.clone())),
                "none for legitimate workloads: the VM is the intruder's",
                Some(az(&["vm", "get-instance-view"]).arg("--ids", r.clone()).arg("--query", "instanceView.statuses[1].code")),
                &r,
            );
            o.push(
                Phase::Eradicate,
                format!("Delete virtual machine {r} once its disk is snapshotted for evidence"),
                Some(az(&["vm", "delete"]).arg("--ids", r.clone()).flag("--yes")),
                "destroys the VM: snapshot its OS disk first if it is evidence",
                Some(rest_get(&r, "2024-07-01")),
                &r,
            );
        }
        "microsoft.compute/virtualmachines/write" => o.push(
            Phase::Eradicate,
            format!("Review the change to virtual machine {r}: new settings {}", op.body),
            None,
            "manual: restore the previous settings from IaC",
            Some(az(&["vm", "show"]).arg("--ids", r.clone())),
            &r,
        ),
        "microsoft.compute/snapshots/begingetaccess/action" => o.push(
            Phase::Contain,
            format!("Revoke the export URL (SAS) of snapshot {r}"),
            Some(az(&["snapshot", "revoke-access"]).arg("--ids", r.clone())),
            "anyone downloading the snapshot through that URL is cut off",
            Some(az(&["snapshot", "show"]).arg("--ids", r.clone()).opt("--query", "diskState")),
            &r,
        ),
        "microsoft.insights/diagnosticsettings/delete" => {
            let name = segment_after(&r, "diagnosticSettings").unwrap_or_default();
            let check = if r.to_ascii_lowercase().starts_with("/subscriptions/") && r.split('/').nth(3).is_some_and(|p| p.eq_ignore_ascii_case("providers")) {
                az(&["monitor", "diagnostic-settings", "subscription", "show"]).arg("--name", name.clone())
            } else {
                rest_get(&r, "2021-05-01-preview")
            };
            o.push(
                Phase::Eradicate,
                format!("Re-create diagnostic setting {name} they deleted ({r}): logs stopped flowing to its destination (the log does not carry its settings: take them from IaC)"),
                None,
                "none: until it exists again, activity is not exported",
                Some(check),
                &r,
            );
        }
        "microsoft.insights/activitylogalerts/delete" => o.push(
            Phase::Eradicate,
            format!("Re-create activity log alert {} they deleted ({r}) from IaC", segment_after(&r, "activityLogAlerts").unwrap_or_default()),
            None,
            "none: until it exists again, nobody is told of these operations",
            Some(rest_get(&r, "2020-10-01")),
            &r,
        ),
        "microsoft.authorization/policyassignments/delete" => o.push(
            Phase::Eradicate,
            format!("Re-create policy assignment {r} they deleted, from IaC"),
            None,
            "none: until it exists again, the policy is not enforced",
            Some(rest_get(&r, "2022-06-01")),
            &r,
        ),
        "microsoft.authorization/roledefinitions/write" if op.created => o.push(
            Phase::Eradicate,
            format!("Delete custom role {r} they created (after its assignments)"),
            Some(az(&["rest", "--method", "delete"]).arg("--uri", format!("https://management.azure.com{r}?api-version=2022-04-01"))),
            "assignments of the role must be removed first",
            Some(rest_get(&r, "2022-04-01")),
            &r,
        ),
        _ => {}
    }
    o.steps
}

fn role_assignment(o: &mut Out<'_>, op: &AzureOp) {
    let r = &op.resource;
    let props = op
        .body
        .get("Properties")
        .or_else(|| op.body.get("properties"))
        .cloned()
        .unwrap_or_default();
    let get = |k: &str| {
        props
            .as_object()
            .and_then(|m| m.iter().find(|(kk, _)| kk.eq_ignore_ascii_case(k)))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("?")
            .to_string()
    };
    let role = get("RoleDefinitionId");
    let role = role.rsplit('/').next().unwrap_or_default().to_string();
    o.push(
        Phase::Contain,
        format!(
            "Remove role assignment {r} they made (role {role} for {} {} at {})",
            get("PrincipalType"),
            get("PrincipalId"),
            get("Scope")
        ),
        Some(az(&["role", "assignment", "delete"]).arg("--ids", r.clone())),
        "the assignee loses that role; if it was a legitimate grant made through the intruder's session, re-grant it after review",
        Some(rest_get(r, "2022-04-01")),
        r,
    );
}

fn nsg_rule(o: &mut Out<'_>, op: &AzureOp) {
    let r = &op.resource;
    let p = op.body.get("properties").cloned().unwrap_or_default();
    let f = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let settings = format!(
        "{} {} {} from {} to port {}",
        f("access"),
        f("direction"),
        f("protocol"),
        f("sourceAddressPrefix"),
        f("destinationPortRange")
    );
    if op.created {
        o.push(
            Phase::Eradicate,
            format!("Delete NSG rule {r} they created ({settings})"),
            Some(az(&["network", "nsg", "rule", "delete"]).arg("--ids", r.clone())),
            "traffic the rule allowed is blocked again",
            Some(az(&["network", "nsg", "rule", "show"]).arg("--ids", r.clone())),
            r,
        );
    } else {
        o.push(
            Phase::Eradicate,
            format!("Restore NSG rule {r}: they changed it to {settings}; set the previous values from IaC, or delete it if it should not exist"),
            None,
            "manual: the log carries only the new settings",
            Some(az(&["network", "nsg", "rule", "show"]).arg("--ids", r.clone())),
            r,
        );
    }
}

fn vault_policy(o: &mut Out<'_>, op: &AzureOp) {
    let r = &op.resource;
    let vault = segment_after(r, "vaults").unwrap_or_default();
    let policies = op
        .body
        .pointer("/properties/accessPolicies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in policies {
        let Some(oid) = p.get("objectId").and_then(Value::as_str) else {
            continue;
        };
        o.push(
            Phase::Eradicate,
            format!("Remove the access policy they added to key vault {vault} for object {oid} (permissions {})", p.get("permissions").cloned().unwrap_or_default()),
            Some(az(&["keyvault", "delete-policy"]).arg("--name", vault.clone()).arg("--object-id", oid)),
            "the object loses its vault access; if it held access before, re-add only that",
            Some(az(&["keyvault", "show"]).arg("--name", vault.clone()).arg("--query", "properties.accessPolicies[].objectId")),
            &vault,
        );
    }
}

/// Verify steps for the Microsoft identities in scope: no Azure role assignment, no directory
/// role, and (users) disabled with sessions revoked.
pub(crate) fn verify(scoped: &[&Event]) -> Vec<Step> {
    let mut out = Vec::new();
    let step = |title: String, command: Cmd, target: &str| Step {
        phase: Phase::Verify,
        title,
        evidence: None,
        command: Some(command),
        risk: "none".into(),
        check: None,
        target: target.to_string(),
        refused: None,
        review: None,
    };
    for w in identities(scoped) {
        let (id, label) = (w.id.clone(), w.label());
        out.push(step(
            format!("Confirm {label} holds no role assignment it should not"),
            az(&["role", "assignment", "list"])
                .arg("--assignee", id.clone())
                .flag("--all"),
            &id,
        ));
        let set = if w.user { "users" } else { "servicePrincipals" };
        out.push(step(
            format!("Confirm {label} holds no directory role or group it should not"),
            az(&["rest", "--method", "get"])
                .arg(
                    "--uri",
                    format!(
                        "https://graph.microsoft.com/v1.0/{set}/{}/memberOf",
                        path_segment(&id)
                    ),
                )
                .arg("--query", "value[].[\"@odata.type\", displayName, id]"),
            &id,
        ));
        if w.user {
            out.push(step(
                format!("Confirm {label} is disabled, its sessions revoked and its password changed after the incident"),
                az(&["rest", "--method", "get"]).arg(
                    "--uri",
                    graph_user(&id, "?$select=accountEnabled,signInSessionsValidFromDateTime,lastPasswordChangeDateTime"),
                ),
                &id,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("a.b@c.com"), "a.b@c.com");
        assert_eq!(path_segment("x/../y?z#"), "x%2F..%2Fy%3Fz%23");
    }

    #[test]
    fn segment_lookup_ignores_case() {
        let r =
            "/SUBSCRIPTIONS/1/RESOURCEGROUPS/G/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV-1/SECRETS/S";
        assert_eq!(segment_after(r, "vaults").as_deref(), Some("KV-1"));
        assert_eq!(segment_after(r, "secrets").as_deref(), Some("S"));
        assert_eq!(segment_after(r, "nope"), None);
    }
}
