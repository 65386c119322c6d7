//! Microsoft Entra ID: what a directory audit did, and the Azure CLI / Microsoft Graph steps that
//! undo it.
//!
//! An audit names its changes in `targetResources` (diagnostic shape: under `properties`; Graph:
//! at the top; Log Analytics: the `TargetResources` column, an object or JSON text), each target
//! with `id`, `type`, `displayName`, `userPrincipalName` and `modifiedProperties`
//! (`displayName`, `oldValue`, `newValue`, the values JSON-quoted: `"\"Global Administrator\""`).
//! What is undone, from those:
//! - credentials added to an application or service principal (`KeyDescription`: the entries
//!   of the new value that the old one lacks, `[KeyIdentifier=<guid>,KeyType=Password|…,
//!   DisplayName=…]`): removed by key id; without a key id, listed for review;
//! - consent and permission grants: the `oAuth2PermissionGrant` ids of
//!   `ConsentAction.Permissions` (`[[Id: <grant id>, ClientId: …, Scope: …]]`) deleted; without
//!   them (and for application permissions, app role assignments) the grants or assignments
//!   of the client are listed for review;
//! - directory role, PIM and group memberships and owners added: the member removed;
//! - users created or guests invited: disabled, then deleted after review;
//! - conditional access policies added, changed or deleted: the old value shown to restore,
//!   never applied by the plan;
//! - authentication methods registered: the user's methods listed, the new one removed after
//!   review (the audit does not carry the method's id).

use crate::azure::{az, path_segment};
use crate::cmd::Cmd;
use crate::identity::{canonical_guid, field_ci, parse_text};
use crate::plan::{Phase, Step};
use crate::scope::raw;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;
use trailwatch_model::{Event, Outcome, Provider};

/// The Graph v1.0 root every URI of ours starts with.
const GRAPH: &str = "https://graph.microsoft.com/v1.0";

/// One modified property of a target.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prop {
    pub name: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One target resource of an audit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// The id as the log writes it (not checked: the commands' grammar checks it).
    pub id: Option<String>,
    /// `User`, `ServicePrincipal`, `Application`, `Role`, `Group`, `Policy`, …
    pub kind: String,
    pub name: Option<String>,
    pub upn: Option<String>,
    pub props: Vec<Prop>,
}

impl Target {
    /// The new value of property `name` (ASCII case ignored), unquoted.
    pub fn new_value(&self, name: &str) -> Option<String> {
        self.prop(name).and_then(|p| p.new.clone())
    }

    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    fn is(&self, kind: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind)
    }

    /// How a person reads it: `eve@contoso.example (id)`.
    pub fn label(&self) -> String {
        let name = self.upn.as_deref().or(self.name.as_deref()).unwrap_or("?");
        match &self.id {
            Some(id) if id != name => format!("{name} ({id})"),
            _ => name.to_string(),
        }
    }

    /// The label with the kind: `User eve@contoso.example (id)`.
    pub fn described(&self) -> String {
        format!("{} {}", self.kind, self.label())
    }
}

/// The parts of a directory audit recovery reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Audit {
    /// The activity, trimmed (`Add member to role`).
    pub activity: String,
    pub targets: Vec<Target>,
    pub result_reason: Option<String>,
}

/// A property value without its JSON quoting: `"\"x\""` → `x`, `"[\"x\"]"` → `x`; other text
/// as it is; empty → `None`.
fn unquote(v: Option<&Value>) -> Option<String> {
    let text = match v? {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    let parsed = match serde_json::from_str::<Value>(&text) {
        Ok(Value::String(s)) => s,
        Ok(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
            a[0].as_str().unwrap_or_default().to_string()
        }
        _ => text,
    };
    let t = parsed.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn text(v: &Value, name: &str) -> Option<String> {
    field_ci(v, name)
        .and_then(|x| x.as_str().map(str::to_string))
        .filter(|s| !s.is_empty())
}

impl Audit {
    /// The audit of an Entra event; `None` for sign-ins and anything else.
    pub fn of(e: &Event) -> Option<Audit> {
        if e.provider != Provider::Entra || !is_audit(e) {
            return None;
        }
        let v = raw(e);
        let body = field_ci(&v, "properties")
            .filter(|p| field_ci(p, "targetResources").is_some())
            .unwrap_or(v);
        let targets = field_ci(&body, "targetResources")
            .and_then(|t| t.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|t| target(&parse_text(t)))
            .collect();
        Some(Audit {
            activity: e.action.trim().to_string(),
            targets,
            result_reason: text(&body, "resultReason"),
        })
    }

    fn is(&self, activity: &str) -> bool {
        self.activity.eq_ignore_ascii_case(activity)
    }

    fn has(&self, words: &str) -> bool {
        self.activity
            .to_ascii_lowercase()
            .contains(&words.to_ascii_lowercase())
    }

    /// The first target of one of `kinds`.
    fn target_of(&self, kinds: &[&str]) -> Option<&Target> {
        self.targets.iter().find(|t| kinds.iter().any(|k| t.is(k)))
    }
}

fn target(t: &Value) -> Target {
    let props = field_ci(t, "modifiedProperties")
        .and_then(|p| p.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|p| Prop {
            name: text(p, "displayName").unwrap_or_default(),
            old: unquote(field_ci(p, "oldValue").as_ref()),
            new: unquote(field_ci(p, "newValue").as_ref()),
        })
        .collect();
    Target {
        id: text(t, "id"),
        kind: text(t, "type").unwrap_or_default(),
        name: text(t, "displayName"),
        upn: text(t, "userPrincipalName"),
        props,
    }
}

/// Whether an Entra event is a directory audit (not a sign-in).
pub(crate) fn is_audit(e: &Event) -> bool {
    e.provider == Provider::Entra
        && e.service
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("AuditLogs"))
}

/// Which log an event came from, for the timeline.
pub(crate) fn log_name(e: &Event) -> &'static str {
    match e.provider {
        Provider::Aws => "CloudTrail",
        Provider::Azure => "Activity Log",
        Provider::Entra => match e.service.as_deref().unwrap_or_default() {
            s if s.eq_ignore_ascii_case("AuditLogs") => "Entra audit",
            s if s.eq_ignore_ascii_case("NonInteractiveUserSignInLogs") => {
                "Entra sign-in (non-interactive)"
            }
            s if s.eq_ignore_ascii_case("ServicePrincipalSignInLogs") => {
                "Entra sign-in (service principal)"
            }
            s if s.eq_ignore_ascii_case("ManagedIdentitySignInLogs") => {
                "Entra sign-in (managed identity)"
            }
            _ => "Entra sign-in",
        },
    }
}

/// Activities that create a directory object: the object is the intruder's.
const CREATES: [(&str, &[&str]); 5] = [
    ("Add user", &["User"]),
    ("Invite external user", &["User"]),
    ("Add application", &["Application"]),
    ("Add service principal", &["ServicePrincipal"]),
    ("Add group", &["Group"]),
];

/// The objects a successful audit created: (canonical object id, what it is).
pub(crate) fn created_objects(e: &Event) -> Vec<(String, String)> {
    let Some(a) = Audit::of(e).filter(|_| e.outcome == Outcome::Success) else {
        return Vec::new();
    };
    let Some((_, kinds)) = CREATES.iter().find(|(act, _)| a.is(act)) else {
        return Vec::new();
    };
    a.targets
        .iter()
        .filter(|t| kinds.iter().any(|k| t.is(k)))
        .filter_map(|t| {
            let id = t.id.as_deref().and_then(canonical_guid)?;
            Some((id, t.described()))
        })
        .collect()
}

/// Audit activities that leave a way back in.
pub(crate) fn is_persistence(activity: &str) -> bool {
    let a = activity.trim().to_ascii_lowercase();
    CREATES.iter().any(|(c, _)| a == c.to_ascii_lowercase())
        || [
            "add service principal credentials",
            "consent to application",
            "add delegated permission grant",
            "add oauth2permissiongrant",
            "add app role assignment to service principal",
            "add app role assignment grant to user",
            "add member to role",
            "add eligible member to role",
            "add member to group",
            "add owner to application",
            "add owner to service principal",
            "add conditional access policy",
            "update conditional access policy",
            "delete conditional access policy",
            "add federated identity credential",
        ]
        .iter()
        .any(|p| a.starts_with(p))
        || a.contains("certificates and secrets management")
        || a.contains("registered security info")
}

/// What an audit did to its targets, for the incident's resource table.
pub(crate) fn verb(activity: &str) -> &'static str {
    let a = activity.trim().to_ascii_lowercase();
    if a.starts_with("consent") {
        "shared"
    } else if ["delete", "remove", "hard delete"]
        .iter()
        .any(|p| a.starts_with(p))
    {
        "deleted"
    } else if a.starts_with("add") || a.starts_with("invite") || a.contains("registered") {
        "created"
    } else {
        "modified"
    }
}

/// The settings an audit wrote: `{target: {property: new value}}`.
pub(crate) fn settings(e: &Event) -> Value {
    let Some(a) = Audit::of(e) else {
        return Value::Null;
    };
    let mut out = serde_json::Map::new();
    for t in &a.targets {
        let props: serde_json::Map<String, Value> = t
            .props
            .iter()
            .filter_map(|p| Some((p.name.clone(), Value::String(p.new.clone()?))))
            .collect();
        if !props.is_empty() {
            out.insert(t.described(), Value::Object(props));
        }
    }
    Value::Object(out)
}

/// What an audit created or changed, for the incident's persistence list: the settings it
/// wrote, else its targets; `None` for anything but an audit.
pub(crate) fn what(e: &Event) -> Option<Value> {
    let a = Audit::of(e)?;
    let s = settings(e);
    if s.as_object().is_some_and(|m| !m.is_empty()) {
        return Some(s);
    }
    let labels: Vec<Value> = a
        .targets
        .iter()
        .map(|t| Value::String(t.described()))
        .collect();
    Some(Value::Array(labels))
}

fn graph(path: String) -> String {
    format!("{GRAPH}/{path}")
}

fn rest(method: &'static str, uri: String) -> Cmd {
    az(&["rest", "--method", method]).arg("--uri", uri)
}

/// The steps answering one audit, and what makes them.
struct Out<'a> {
    e: &'a Event,
    steps: Vec<Step>,
}

/// One step of [`Out::push`]: what it says, runs and checks.
struct Plan1 {
    phase: Phase,
    title: String,
    command: Option<Cmd>,
    risk: &'static str,
    check: Option<Cmd>,
    target: String,
    /// Why a person decides before it runs (the script never runs it).
    review: Option<String>,
}

impl Out<'_> {
    fn push(&mut self, p: Plan1) {
        let mut s = Step::answering(
            self.e, p.phase, p.title, p.command, p.risk, p.check, &p.target,
        );
        s.review = p.review;
        self.steps.push(s);
    }

    /// A verify step that reads back what `title` removed.
    fn verify(&mut self, title: String, read: Cmd, target: &str) {
        self.push(Plan1 {
            phase: Phase::Verify,
            title,
            command: Some(read),
            risk: "none",
            check: None,
            target: target.to_string(),
            review: None,
        });
    }
}

/// The undo of one successful Entra audit.
pub(crate) fn undo(e: &Event) -> Vec<Step> {
    if e.outcome != Outcome::Success {
        return Vec::new();
    }
    let Some(a) = Audit::of(e) else {
        return Vec::new();
    };
    let mut o = Out {
        e,
        steps: Vec::new(),
    };
    credentials(&mut o, &a);
    if a.is("Consent to application") {
        consent(&mut o, &a);
    } else if a.is("Add delegated permission grant") || a.is("Add OAuth2PermissionGrant") {
        delegated_grant(&mut o, &a);
    } else if a.has("app role assignment") && a.activity.to_ascii_lowercase().starts_with("add") {
        app_role_assignment(&mut o, &a);
    } else if a.is("Add member to role") {
        role_member(&mut o, &a);
    } else if a.has("member to role") && a.has("PIM") {
        pim_member(&mut o, &a);
    } else if a.is("Add member to group") {
        group_member(&mut o, &a);
    } else if a.is("Add owner to application") || a.is("Add owner to service principal") {
        owner(&mut o, &a);
    } else if a.is("Add user") || a.is("Invite external user") {
        user_created(&mut o, &a);
    } else if a.has("conditional access policy") {
        ca_policy(&mut o, &a);
    } else if a.has("registered security info") {
        auth_method(&mut o, &a);
    }
    o.steps
}

/// One credential named in a `KeyDescription` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyEntry {
    pub key_id: String,
    pub key_type: String,
    pub display_name: String,
}

/// The fields of a `KeyDescription` entry, in the order the log writes them.
const KEY_FIELDS: [&str; 4] = ["KeyIdentifier", "KeyType", "KeyUsage", "DisplayName"];

/// Field `name` of one entry: up to the next known field, else to the entry's closing `]`
/// (a display name may hold commas and `=`: `CN=backup, O=Contoso`).
fn key_field(entry: &str, name: &str) -> String {
    let Some(at) = entry.find(&format!("{name}=")) else {
        return String::new();
    };
    let rest = &entry[at + name.len() + 1..];
    let end = KEY_FIELDS
        .iter()
        .filter_map(|g| rest.find(&format!(",{g}=")))
        .min()
        .or_else(|| rest.rfind(']'))
        .unwrap_or(rest.len());
    rest[..end].trim().trim_end_matches(['"', ']']).to_string()
}

/// The credentials a `KeyDescription` value lists (`[KeyIdentifier=…,KeyType=…,…]` entries).
pub(crate) fn key_entries(v: &str) -> Vec<KeyEntry> {
    v.split("KeyIdentifier=")
        .skip(1)
        .map(|chunk| {
            let entry = format!("KeyIdentifier={chunk}");
            KeyEntry {
                key_id: key_field(&entry, "KeyIdentifier"),
                key_type: key_field(&entry, "KeyType"),
                display_name: key_field(&entry, "DisplayName"),
            }
        })
        .collect()
}

/// Credentials added to an application or service principal: removed by key id.
fn credentials(o: &mut Out<'_>, a: &Audit) {
    let named = a.has("credential") || a.has("certificates and secrets");
    for t in a
        .targets
        .iter()
        .filter(|t| t.is("Application") || t.is("ServicePrincipal"))
    {
        let Some(p) = t.prop("KeyDescription") else {
            if named && a.activity.to_ascii_lowercase().starts_with("add")
                || a.has("certificates and secrets")
            {
                list_credentials(o, a, t);
            }
            continue;
        };
        let before = key_entries(p.old.as_deref().unwrap_or_default());
        let added: Vec<KeyEntry> = key_entries(p.new.as_deref().unwrap_or_default())
            .into_iter()
            .filter(|k| !before.iter().any(|b| b.key_id == k.key_id))
            .collect();
        for k in added {
            remove_credential(o, t, &k);
        }
    }
}

fn cred_group(t: &Target) -> (&'static str, &'static str) {
    if t.is("Application") {
        ("app", "application")
    } else {
        ("sp", "service principal")
    }
}

fn remove_credential(o: &mut Out<'_>, t: &Target, k: &KeyEntry) {
    let (group, what) = cred_group(t);
    let id = t.id.clone().unwrap_or_default();
    let cert = !k.key_type.eq_ignore_ascii_case("Password");
    let kind = if cert { "certificate" } else { "secret" };
    let with_cert = |c: Cmd| if cert { c.flag("--cert") } else { c };
    if canonical_guid(&k.key_id).is_none() {
        list_credentials_for(o, t, &format!("the key id {:?} is not a GUID", k.key_id));
        return;
    }
    let delete = with_cert(
        az(&["ad", group, "credential", "delete"])
            .arg("--id", id.clone())
            .arg("--key-id", k.key_id.clone()),
    );
    let read = with_cert(az(&["ad", group, "credential", "list"]).arg("--id", id.clone()))
        .arg("--query", format!("[?keyId=='{}'].keyId", k.key_id));
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title: format!(
            "Remove the {kind} {} ({}) they added to {what} {}",
            k.key_id,
            k.display_name,
            t.label()
        ),
        command: Some(delete),
        risk: "whatever signs in with that credential stops working; legitimate automation must get a new one",
        check: Some(read.clone()),
        target: id.clone(),
        review: None,
    });
    o.verify(
        format!(
            "Confirm {kind} {} of {what} {} is gone (empty list)",
            k.key_id,
            t.label()
        ),
        read,
        &id,
    );
}

fn list_credentials(o: &mut Out<'_>, a: &Audit, t: &Target) {
    let why = format!("the audit ({}) does not name the key id", a.activity);
    list_credentials_for(o, t, &why);
}

/// A review step: the credentials of `t` listed, the new one to remove by hand.
fn list_credentials_for(o: &mut Out<'_>, t: &Target, why: &str) {
    let (group, what) = cred_group(t);
    let id = t.id.clone().unwrap_or_default();
    let list = az(&["ad", group, "credential", "list"]).arg("--id", id.clone());
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title: format!("Remove the credential they added to {what} {}", t.label()),
        command: Some(list.clone()),
        risk: "removing a credential still in use breaks whatever uses it",
        check: Some(list),
        target: id,
        review: Some(format!(
            "{why}: list the secrets and certificates (also with --cert), find the one created at the time of the evidence, then az ad {group} credential delete --id <id> --key-id <key id> [--cert]"
        )),
    });
}

static GRANT_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\[\s,])Id:\s*([A-Za-z0-9_-]{1,128})")
        .unwrap_or_else(|e| panic!("grant id pattern: {e}"))
});

/// The `oAuth2PermissionGrant` ids a `ConsentAction.Permissions` value names.
pub(crate) fn grant_ids(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in GRANT_ID.captures_iter(v) {
        if !out.iter().any(|x| x == &c[1]) {
            out.push(c[1].to_string());
        }
    }
    out
}

/// The scopes a consent or grant names (`Scope: Mail.Read offline_access`), for the title.
fn scopes(v: &str) -> String {
    v.split("Scope:")
        .nth(1)
        .map(|s| {
            s.split([',', ']'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn consent(o: &mut Out<'_>, a: &Audit) {
    let Some(client) = a.target_of(&["ServicePrincipal", "Application"]) else {
        return;
    };
    let perms = client
        .new_value("ConsentAction.Permissions")
        .unwrap_or_default();
    let app_only = client
        .new_value("ConsentContext.IsAppOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let admin = client
        .new_value("ConsentContext.IsAdminConsent")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let who = if admin {
        "for every user (admin consent)"
    } else {
        "for the consenting user"
    };
    if app_only {
        list_app_role_assignments(
            o,
            client,
            &format!("application permissions consented {who}"),
        );
        return;
    }
    let grants = grant_ids(&perms);
    if grants.is_empty() {
        list_grants(o, client, &scopes(&perms), who);
        return;
    }
    for g in grants {
        let uri = graph(format!("oauth2PermissionGrants/{g}"));
        o.push(Plan1 {
            phase: Phase::Eradicate,
            title: format!(
                "Delete the permission grant {g} they consented to {} {who} (scopes {})",
                client.label(),
                scopes(&perms)
            ),
            command: Some(rest("delete", uri.clone())),
            risk: "the application loses the delegated access; issued access tokens stay valid until they expire (about an hour)",
            check: Some(rest("get", uri.clone())),
            target: g.clone(),
            review: None,
        });
        o.verify(
            format!("Confirm permission grant {g} is gone (404 Not Found)"),
            rest("get", uri),
            &g,
        );
    }
}

fn list_grants(o: &mut Out<'_>, client: &Target, scopes: &str, who: &str) {
    let id = client.id.clone().unwrap_or_default();
    let list = rest(
        "get",
        graph(format!(
            "oauth2PermissionGrants?$filter=clientId%20eq%20'{id}'"
        )),
    );
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title: format!(
            "Delete the permission grant they consented to {} {who} (scopes {scopes})",
            client.label()
        ),
        command: Some(list.clone()),
        risk: "the application loses the delegated access for everyone the grant covers",
        check: Some(list),
        target: id,
        review: Some("the audit does not name the grant id: list the client's grants, then az rest --method delete --uri https://graph.microsoft.com/v1.0/oauth2PermissionGrants/<grant id>".into()),
    });
}

fn delegated_grant(o: &mut Out<'_>, a: &Audit) {
    let scope = a
        .targets
        .iter()
        .find_map(|t| t.new_value("DelegatedPermissionGrant.Scope"))
        .unwrap_or_default();
    for t in a.targets.iter().filter(|t| t.is("ServicePrincipal")) {
        list_grants(o, t, &scope, "(a delegated permission grant)");
    }
}

fn list_app_role_assignments(o: &mut Out<'_>, client: &Target, what: &str) {
    let id = client.id.clone().unwrap_or_default();
    let base = if client.is("User") {
        "users"
    } else {
        "servicePrincipals"
    };
    let list = rest("get", graph(format!("{base}/{id}/appRoleAssignments")));
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title: format!("Remove the app role assignment ({what}) of {}", client.label()),
        command: Some(list.clone()),
        risk: "the principal loses the application permission",
        check: Some(list),
        target: id.clone(),
        review: Some(format!("the audit does not name the assignment id: list the assignments, then az rest --method delete --uri https://graph.microsoft.com/v1.0/{base}/{id}/appRoleAssignments/<assignment id>")),
    });
}

fn app_role_assignment(o: &mut Out<'_>, a: &Audit) {
    let prop = |n: &str| a.targets.iter().find_map(|t| t.new_value(n));
    let role = prop("AppRole.Value")
        .or_else(|| prop("AppRole.Id"))
        .unwrap_or_else(|| "?".into());
    let assignee = match prop("ServicePrincipal.ObjectID") {
        Some(id) if a.has("to service principal") => Target {
            id: Some(id),
            kind: "ServicePrincipal".into(),
            name: prop("ServicePrincipal.DisplayName"),
            ..Target::default()
        },
        _ => match a.target_of(&["User", "ServicePrincipal", "Group"]) {
            Some(t) => t.clone(),
            None => return,
        },
    };
    list_app_role_assignments(o, &assignee, &format!("app role {role}"));
}

/// The member added and the role, from `Add member to role` (the member's `Role.*` properties,
/// else the `Role` target).
fn member_and_role(a: &Audit) -> Option<(&Target, Option<String>, Option<String>, String)> {
    let member = a.target_of(&["User", "ServicePrincipal", "Group", "Device"])?;
    let role_target = a.target_of(&["Role", "DirectoryRole"]);
    let role_id = member
        .new_value("Role.ObjectID")
        .or_else(|| role_target.and_then(|r| r.id.clone()));
    let template = member.new_value("Role.TemplateId");
    let name = member
        .new_value("Role.DisplayName")
        .or_else(|| role_target.and_then(|r| r.name.clone()))
        .unwrap_or_else(|| "?".into());
    Some((member, role_id, template, name))
}

fn role_member(o: &mut Out<'_>, a: &Audit) {
    let Some((member, role_id, template, role)) = member_and_role(a) else {
        return;
    };
    let mid = member.id.clone().unwrap_or_default();
    let role_path = match (&role_id, &template) {
        (Some(r), _) => format!("directoryRoles/{r}"),
        (None, Some(t)) => format!("directoryRoles(roleTemplateId='{t}')"),
        (None, None) => String::new(),
    };
    let critical = role.eq_ignore_ascii_case("Global Administrator")
        || template.as_deref() == Some(GLOBAL_ADMIN_TEMPLATE);
    let risk = if critical {
        "the member loses Global Administrator; keep at least one other (break-glass) Global Administrator"
    } else {
        "the member loses the role; if it held it legitimately, re-add after review"
    };
    let (command, check) = if role_path.is_empty() {
        (None, None)
    } else {
        let members = rest("get", graph(format!("{role_path}/members")))
            .arg("--query", format!("value[?id=='{mid}'].id"));
        (
            Some(rest(
                "delete",
                graph(format!("{role_path}/members/{mid}/$ref")),
            )),
            Some(members),
        )
    };
    o.push(Plan1 {
        phase: Phase::Contain,
        title: format!("Remove {} from directory role {role}", member.label()),
        command: command.clone(),
        risk,
        check: check.clone(),
        target: mid.clone(),
        review: command
            .is_none()
            .then(|| "the audit names neither the role's object id nor its template id: remove the member in the portal (Roles and administrators)".into()),
    });
    if let Some(read) = check {
        o.verify(
            format!(
                "Confirm {} is no longer in directory role {role} (empty list)",
                member.label()
            ),
            read,
            &mid,
        );
    }
}

/// The template id of Global Administrator (the same in every tenant).
const GLOBAL_ADMIN_TEMPLATE: &str = "62e90394-69f5-4237-9190-012177145e10";

fn pim_member(o: &mut Out<'_>, a: &Audit) {
    let Some((member, _, template, role)) = member_and_role(a) else {
        return;
    };
    let mid = member.id.clone().unwrap_or_default();
    let eligible = a.has("eligible");
    let set = if eligible {
        "roleEligibilitySchedules"
    } else {
        "roleAssignmentSchedules"
    };
    let list = rest(
        "get",
        graph(format!(
            "roleManagement/directory/{set}?$filter=principalId%20eq%20'{mid}'"
        )),
    );
    let request = if eligible {
        "roleEligibilityScheduleRequests"
    } else {
        "roleAssignmentScheduleRequests"
    };
    let kind = if eligible { "eligible" } else { "active" };
    o.push(Plan1 {
        phase: Phase::Contain,
        title: format!("Remove the {kind} PIM assignment of {} to role {role}", member.label()),
        command: Some(list.clone()),
        risk: "the member loses the role assignment",
        check: Some(list),
        target: mid.clone(),
        review: Some(format!(
            "the audit does not name the schedule's scope: find it in the list, then az rest --method post --uri https://graph.microsoft.com/v1.0/roleManagement/directory/{request} --body '{{\"action\":\"adminRemove\",\"principalId\":\"{mid}\",\"roleDefinitionId\":\"{}\",\"directoryScopeId\":\"<scope>\"}}'",
            template.unwrap_or_else(|| "<role definition id>".into())
        )),
    });
}

fn group_member(o: &mut Out<'_>, a: &Audit) {
    let Some(member) = a.target_of(&["User", "ServicePrincipal", "Group", "Device"]) else {
        return;
    };
    let group_target = a.targets.iter().filter(|t| t.is("Group")).nth(
        // The member may itself be a group: the group added to is the other one.
        usize::from(member.is("Group")),
    );
    let gid = member
        .new_value("Group.ObjectID")
        .or_else(|| group_target.and_then(|g| g.id.clone()))
        .unwrap_or_default();
    let gname = member
        .new_value("Group.DisplayName")
        .or_else(|| group_target.and_then(|g| g.name.clone()))
        .unwrap_or_else(|| gid.clone());
    let mid = member.id.clone().unwrap_or_default();
    let check = az(&["ad", "group", "member", "check"])
        .arg("--group", gid.clone())
        .arg("--member-id", mid.clone());
    o.push(Plan1 {
        phase: Phase::Contain,
        title: format!("Remove {} from group {gname}", member.label()),
        command: Some(
            az(&["ad", "group", "member", "remove"])
                .arg("--group", gid.clone())
                .arg("--member-id", mid.clone()),
        ),
        risk: "the member loses what the group grants (roles, apps, licences)",
        check: Some(check.clone()),
        target: mid.clone(),
        review: None,
    });
    o.verify(
        format!(
            "Confirm {} is no longer in group {gname} (value false)",
            member.label()
        ),
        check,
        &mid,
    );
}

fn owner(o: &mut Out<'_>, a: &Audit) {
    let app = a.has("application");
    let (kind, prop) = if app {
        ("Application", "Application.ObjectID")
    } else {
        ("ServicePrincipal", "ServicePrincipal.ObjectID")
    };
    let owned_id = a
        .targets
        .iter()
        .find_map(|t| t.new_value(prop))
        .or_else(|| a.target_of(&[kind]).and_then(|t| t.id.clone()))
        .unwrap_or_default();
    let Some(new_owner) = a.targets.iter().find(|t| {
        t.id.as_deref() != Some(owned_id.as_str()) && (t.is("User") || t.is("ServicePrincipal"))
    }) else {
        return;
    };
    let oid = new_owner.id.clone().unwrap_or_default();
    let set = if app {
        "applications"
    } else {
        "servicePrincipals"
    };
    let command = rest(
        "delete",
        graph(format!("{set}/{owned_id}/owners/{oid}/$ref")),
    );
    let list = rest("get", graph(format!("{set}/{owned_id}/owners")))
        .arg("--query", format!("value[?id=='{oid}'].id"));
    let what = if app {
        "application"
    } else {
        "service principal"
    };
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title: format!(
            "Remove owner {} they added to {what} {owned_id}",
            new_owner.label()
        ),
        command: Some(command),
        risk: "the owner can no longer manage the application's credentials",
        check: Some(list.clone()),
        target: owned_id.clone(),
        review: None,
    });
    o.verify(
        format!(
            "Confirm {} no longer owns {what} {owned_id} (empty list)",
            new_owner.label()
        ),
        list,
        &owned_id,
    );
}

fn user_created(o: &mut Out<'_>, a: &Audit) {
    let Some(u) = a.target_of(&["User"]) else {
        return;
    };
    let id = u.id.clone().or_else(|| u.upn.clone()).unwrap_or_default();
    let guest = a.is("Invite external user");
    let what = if guest {
        "guest they invited"
    } else {
        "user they created"
    };
    o.push(Plan1 {
        phase: Phase::Contain,
        title: format!("Disable the {what}: {}", u.label()),
        command: Some(
            az(&["ad", "user", "update"])
                .arg("--id", id.clone())
                .opt("--account-enabled", "false"),
        ),
        risk: "none if the account is the intruder's; a real colleague invited through the intruder's session loses access until re-enabled",
        check: Some(az(&["ad", "user", "show"]).arg("--id", id.clone()).opt("--query", "accountEnabled")),
        target: id.clone(),
        review: None,
    });
    let show = az(&["ad", "user", "show"]).arg("--id", id.clone());
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title: format!("Delete the {what}: {}", u.label()),
        command: Some(az(&["ad", "user", "delete"]).arg("--id", id.clone())),
        risk: "the account and its memberships go (restorable from deleted users for 30 days)",
        check: Some(show.clone()),
        target: id.clone(),
        review: Some("delete only after the investigation no longer needs the account (its sign-ins, memberships and owned objects): remove what it holds first".into()),
    });
    o.verify(
        format!("Confirm the {what} is deleted (not found): {}", u.label()),
        show,
        &id,
    );
}

fn ca_policy(o: &mut Out<'_>, a: &Audit) {
    let Some(p) = a.target_of(&["Policy"]).or_else(|| a.targets.first()) else {
        return;
    };
    let id = p.id.clone().unwrap_or_default();
    let name = p.name.clone().unwrap_or_else(|| id.clone());
    let value = p.prop("ConditionalAccessPolicy");
    let old = value.and_then(|v| v.old.clone());
    let uri = graph(format!("identity/conditionalAccess/policies/{id}"));
    let lower = a.activity.to_ascii_lowercase();
    let (title, command, review) = if lower.starts_with("add") {
        (
            format!("Delete conditional access policy {name} ({id}) they added"),
            Some(rest("delete", uri.clone())),
            "review what the policy does first (it may be a legitimate one added through the intruder's session)".to_string(),
        )
    } else if lower.starts_with("delete") {
        (
            format!("Re-create conditional access policy {name} ({id}) they deleted"),
            None,
            format!(
                "re-create it from the audit's old value, after review: {}",
                old.as_deref()
                    .unwrap_or("(the audit holds no old value: take it from your baseline)")
            ),
        )
    } else {
        (
            format!("Restore conditional access policy {name} ({id}) they changed"),
            None,
            format!(
                "restore the audit's old value, after review (az rest --method patch --uri <the policy> --body <old value>): {}",
                old.as_deref().unwrap_or("(the audit holds no old value: take it from your baseline)")
            ),
        )
    };
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title,
        command,
        risk: "a wrong conditional access policy can lock everyone out, administrators included: apply in report-only mode first",
        check: Some(rest("get", uri)),
        target: id,
        review: Some(review),
    });
}

fn auth_method(o: &mut Out<'_>, a: &Audit) {
    let user = a.target_of(&["User"]);
    let Some(id) = user.and_then(|u| u.id.clone().or_else(|| u.upn.clone())) else {
        return;
    };
    let label = user.map(Target::label).unwrap_or_else(|| id.clone());
    let list = rest(
        "get",
        graph(format!(
            "users/{}/authentication/methods",
            path_segment(&id)
        )),
    );
    let what = a
        .result_reason
        .clone()
        .unwrap_or_else(|| a.activity.clone());
    o.push(Plan1 {
        phase: Phase::Eradicate,
        title: format!("Remove the authentication method registered for {label} ({what})"),
        command: Some(list.clone()),
        risk: "the user must register a method again; remove only the one the intruder registered",
        check: Some(list),
        target: id.clone(),
        review: Some(format!("the audit does not name the method's id: list the methods, find the one registered at the time of the evidence, then az rest --method delete --uri https://graph.microsoft.com/v1.0/users/{id}/authentication/<kind>Methods/<method id>")),
    });
}

#[cfg(test)]
mod tests;
