//! The recovery plan: contain, eradicate, restore, verify — every step from a scoped event.

use crate::cmd::{Cmd, Word};
use crate::incident::{base_action, Incident};
use crate::iso;
use crate::scope::{raw, s};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use trailwatch_model::{Event, Outcome, Provider};

/// The four phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Contain,
    Eradicate,
    Restore,
    Verify,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Contain => "contain",
            Phase::Eradicate => "eradicate",
            Phase::Restore => "restore",
            Phase::Verify => "verify",
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub phase: Phase,
    pub title: String,
    /// The event this step answers.
    pub evidence: Option<String>,
    /// The command to run (absent when the step is a manual decision).
    pub command: Option<Cmd>,
    pub risk: String,
    /// How to check it worked.
    pub check: Option<Cmd>,
    /// What the step acts on (user, key, role, resource id): for review and tests.
    pub target: String,
    /// Why the step carries no command: a value from the log did not fit the grammar of its
    /// flag ([`crate::ident`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Why a person must decide before the command runs (the log cannot make it exact, or it
    /// destroys what may still be evidence): the script prints it and never runs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
}

impl Step {
    /// A step answering event `e`.
    pub(crate) fn answering(
        e: &Event,
        phase: Phase,
        title: String,
        command: Option<Cmd>,
        risk: &str,
        check: Option<Cmd>,
        target: &str,
    ) -> Step {
        Step {
            phase,
            title,
            evidence: Some(e.event_id.clone()),
            command,
            risk: risk.to_string(),
            check,
            target: target.to_string(),
            refused: None,
            review: None,
        }
    }

    /// Takes the command and the check out of the step when a value in either does not fit
    /// its grammar, and says why: the reviewer sees the step, nothing runs it.
    pub(crate) fn refuse_unfit_values(&mut self) {
        let unfit = [&self.command, &self.check]
            .into_iter()
            .flatten()
            .find_map(crate::ident::first_unfit);
        if let Some(why) = unfit {
            self.command = None;
            self.check = None;
            self.refused = Some(format!("not generated: {why}"));
        }
    }
}

/// What the plan needs besides the incident.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The time the plan is made (RFC 3339): sessions issued before it are revoked.
    pub now: String,
    /// How the analyst names the logs, for the verify step (`PATH…` or `--store DIR`).
    pub inputs: Vec<String>,
    /// Only this cloud's steps (`None`: every cloud the incident touched).
    pub cloud: Option<Provider>,
}

/// The plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub selector: String,
    pub steps: Vec<Step>,
}

struct Ctx<'a> {
    e: &'a Event,
    now: &'a str,
    req: Value,
    resp: Value,
    steps: Vec<Step>,
}

impl Ctx<'_> {
    fn r(&self, ptr: &str) -> Option<String> {
        s(&self.req, ptr).map(str::to_string)
    }
    fn step(
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
    fn region(&self) -> Option<&str> {
        self.e.region.as_deref()
    }
}

/// The plan for `inc` over the loaded `events`.
pub fn plan(events: &[Event], inc: &Incident, opts: &PlanOptions) -> Plan {
    let scoped: Vec<&Event> = inc
        .scope
        .events
        .iter()
        .map(|i| &events[*i])
        .filter(|e| opts.cloud.is_none_or(|c| same_cloud(c, e.provider)))
        .collect();
    let mut steps = contain_keys(&scoped, inc);
    steps.extend(contain_sessions(&scoped, &opts.now));
    steps.extend(crate::azure::contain(&scoped));
    for e in scoped.iter().filter(|e| e.outcome == Outcome::Success) {
        match e.provider {
            Provider::Azure => {
                steps.extend(crate::azure::undo(e));
                continue;
            }
            Provider::Entra => {
                steps.extend(crate::entra::undo(e));
                continue;
            }
            Provider::Aws => {}
        }
        let v = raw(e);
        let mut c = Ctx {
            e,
            now: &opts.now,
            req: v.get("requestParameters").cloned().unwrap_or_default(),
            resp: v.get("responseElements").cloned().unwrap_or_default(),
            steps: Vec::new(),
        };
        undo(&mut c);
        steps.extend(c.steps);
        steps.extend(crate::data::undo(e));
    }
    steps.extend(restore_objects(&scoped, &crate::data::versioning(events)));
    steps.extend(verify(&scoped, inc, opts));
    steps.extend(crate::azure::verify(&scoped));
    steps.iter_mut().for_each(Step::refuse_unfit_values);
    dedup(&mut steps);
    steps.sort_by_key(|s| (s.phase, order(s)));
    Plan {
        selector: inc.scope.selector.to_string(),
        steps,
    }
}

/// Whether an event of `provider` belongs to the plan of `cloud`: Entra ID is Azure's
/// directory, so an Azure plan holds it.
fn same_cloud(cloud: Provider, provider: Provider) -> bool {
    cloud == provider || (cloud == Provider::Azure && provider == Provider::Entra)
}

/// Within eradicate, deletions of users and roles come last (their keys, profiles, policies,
/// memberships and credentials must go first).
fn order(s: &Step) -> u8 {
    let words = s
        .command
        .as_ref()
        .map(|c| c.0.as_slice())
        .unwrap_or_default();
    match words {
        [_, _, Word::Lit("delete-user" | "delete-role"), ..] => 1,
        [Word::Lit("az"), Word::Lit("ad"), Word::Lit("user"), Word::Lit("delete"), ..] => 1,
        _ => 0,
    }
}

/// One step per phase and title, and one per phase and command: the same command answering
/// two events (the user disabled as the intruder and as an account they created) runs once.
fn dedup(steps: &mut Vec<Step>) {
    let mut seen = BTreeSet::new();
    let mut commands = BTreeSet::new();
    steps.retain(|s| {
        let command = s.command.as_ref().map(Cmd::shell);
        let again = command
            .clone()
            .is_some_and(|c| !commands.insert((s.phase, c)));
        seen.insert((s.phase, command, s.title.clone())) && !again
    });
}

/// The IAM user a long-term key belongs to.
fn key_user(scoped: &[&Event], inc: &Incident, key: &str) -> Option<String> {
    if let Some(u) = inc.scope.key_users.get(key) {
        return Some(u.clone());
    }
    scoped
        .iter()
        .filter(|e| e.action == "CreateAccessKey")
        .find_map(|e| {
            let v = raw(e);
            (s(&v, "/responseElements/accessKey/accessKeyId") == Some(key))
                .then(|| s(&v, "/responseElements/accessKey/userName").map(str::to_string))
                .flatten()
        })
}

/// The first scoped event that used or created `key`.
fn key_evidence<'a>(scoped: &[&'a Event], key: &str) -> Option<&'a Event> {
    scoped.iter().copied().find(|e| {
        e.principal.access_key.as_deref() == Some(key)
            || (e.action == "CreateAccessKey" && e.raw.contains(key))
    })
}

fn contain_keys(scoped: &[&Event], inc: &Incident) -> Vec<Step> {
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = inc
        .scope
        .access_keys
        .iter()
        .chain(&inc.scope.used_keys)
        .collect();
    for key in keys.into_iter().filter(|k| !k.starts_with("ASIA")) {
        let Some(ev) = key_evidence(scoped, key) else {
            continue;
        };
        let user = key_user(scoped, inc, key);
        let mut cmd = Cmd::aws("iam", "update-access-key");
        let mut check = Cmd::aws("iam", "list-access-keys");
        if let Some(u) = &user {
            cmd = cmd.arg("--user-name", u.clone());
            check = check.arg("--user-name", u.clone());
        }
        cmd = cmd
            .arg("--access-key-id", key.clone())
            .arg("--status", "Inactive");
        let risk = match &user {
            Some(u) => format!("whatever legitimately uses this key of {u} stops working; rotate it for the owner"),
            None => "no IAM user in the log: a root key (run as root) or one created for another account".to_string(),
        };
        out.push(Step {
            phase: Phase::Contain,
            title: format!("Deactivate access key {key}"),
            evidence: Some(ev.event_id.clone()),
            command: Some(cmd),
            risk,
            check: Some(check),
            target: key.clone(),
            refused: None,
            review: None,
        });
    }
    out
}

/// The role behind a role ARN or an assumed-role session ARN.
fn role_name(arn: &str) -> Option<&str> {
    if let Some(rest) = arn.split(":assumed-role/").nth(1) {
        return rest.split('/').next();
    }
    arn.split(":role/")
        .nth(1)
        .and_then(|r| r.rsplit('/').next())
}

/// A deny-everything inline policy for sessions issued before `now`.
fn revoke_policy(now: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}}}]})
    .to_string()
}

fn contain_sessions(scoped: &[&Event], now: &str) -> Vec<Step> {
    let mut roles: BTreeMap<String, String> = BTreeMap::new();
    for e in scoped {
        let session = e.principal.kind.as_deref() == Some("AssumedRole");
        if let (true, Some(r)) = (session, e.principal.name.as_deref().and_then(role_name)) {
            roles.entry(r.to_string()).or_insert(e.event_id.clone());
        }
        if e.outcome == Outcome::Success && e.action == "AssumeRole" {
            let v = raw(e);
            if let Some(r) = s(&v, "/requestParameters/roleArn").and_then(role_name) {
                roles.entry(r.to_string()).or_insert(e.event_id.clone());
            }
        }
    }
    roles
        .into_iter()
        .map(|(role, ev)| Step {
            phase: Phase::Contain,
            title: format!("Revoke the active sessions of role {role}"),
            evidence: Some(ev),
            command: Some(Cmd::aws("iam", "put-role-policy").arg("--role-name", role.clone())
                .arg("--policy-name", "AWSRevokeOlderSessions").arg("--policy-document", revoke_policy(now))),
            risk: "every session of the role issued before now is denied, legitimate ones too; they must re-assume".into(),
            check: Some(Cmd::aws("iam", "get-role-policy").arg("--role-name", role.clone()).arg("--policy-name", "AWSRevokeOlderSessions")),
            target: role,
            refused: None,
            review: None,
        })
        .collect()
}

/// The undo of one successful scoped change.
fn undo(c: &mut Ctx<'_>) {
    match base_action(&c.e.action) {
        "AuthorizeSecurityGroupIngress" => sg_rule(c, "revoke-security-group-ingress", "ingress"),
        "AuthorizeSecurityGroupEgress" => sg_rule(c, "revoke-security-group-egress", "egress"),
        "CreateRoute" => route(c),
        "CreateNetworkAclEntry" => nacl(c),
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => detach(c),
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => delete_inline(c),
        "CreateUser" => created(
            c,
            "delete-user",
            "--user-name",
            "/userName",
            "the user and anything they own",
        ),
        "CreateRole" => created(
            c,
            "delete-role",
            "--role-name",
            "/roleName",
            "the role; detach its policies first",
        ),
        "CreateAccessKey" => delete_key(c),
        "CreateLoginProfile" | "UpdateLoginProfile" => login_profile(c),
        "UpdateAssumeRolePolicy" => trust_policy(c),
        "ModifySnapshotAttribute" => unshare_snapshot(c),
        "ModifyImageAttribute" => unshare_image(c),
        "AddPermission" => lambda_permission(c),
        "CreateFunction" => lambda_function(c),
        "CreateFunctionUrlConfig" => lambda_url(c),
        "StopLogging" => start_logging(c),
        "PutEventSelectors" => event_selectors(c),
        "DeleteTrail" => deleted_trail(c),
        "DeleteDetector" | "UpdateDetector" => guardduty(c),
        "DeleteFlowLogs" => flow_logs(c),
        "RunInstances" => instances(c),
        "ConsoleLogin" => console(c),
        _ => {}
    }
}

/// CloudTrail's `ipPermissions.items` as the EC2 API's `IpPermissions`.
fn ip_permissions(req: &Value) -> Value {
    let items = req
        .pointer("/ipPermissions/items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let list = |v: &Value, outer: &str, inner: &str, api: &str| -> Value {
        let xs = v
            .pointer(&format!("/{outer}/items"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Value::Array(
            xs.iter()
                .filter_map(|x| x.get(inner).map(|y| json!({api: y})))
                .collect(),
        )
    };
    Value::Array(
        items
            .iter()
            .map(|p| {
                let mut o =
                    json!({"IpProtocol": p.get("ipProtocol").cloned().unwrap_or(json!("-1"))});
                for (k, api) in [("fromPort", "FromPort"), ("toPort", "ToPort")] {
                    if let Some(x) = p.get(k) {
                        o[api] = x.clone();
                    }
                }
                for (outer, inner, api, key) in [
                    ("ipRanges", "cidrIp", "CidrIp", "IpRanges"),
                    ("ipv6Ranges", "cidrIpv6", "CidrIpv6", "Ipv6Ranges"),
                    (
                        "prefixListIds",
                        "prefixListId",
                        "PrefixListId",
                        "PrefixListIds",
                    ),
                    ("groups", "groupId", "GroupId", "UserIdGroupPairs"),
                ] {
                    let l = list(p, outer, inner, api);
                    if l.as_array().is_some_and(|a| !a.is_empty()) {
                        o[key] = l;
                    }
                }
                o
            })
            .collect(),
    )
}

fn sg_rule(c: &mut Ctx<'_>, op: &'static str, dir: &str) {
    let Some(g) = c.r("/groupId") else { return };
    let perms = ip_permissions(&c.req).to_string();
    let cmd = Cmd::aws("ec2", op)
        .arg("--group-id", g.clone())
        .arg("--ip-permissions", perms.clone())
        .region(c.region());
    let check = Cmd::aws("ec2", "describe-security-groups")
        .arg("--group-ids", g.clone())
        .region(c.region());
    c.step(Phase::Eradicate, format!("Revoke the {dir} rule added to {g}: {perms}"), Some(cmd), "only the exact rule added is revoked; a rule that existed before with the same permissions goes too", Some(check), &g);
}

fn route(c: &mut Ctx<'_>) {
    let (Some(t), Some(d)) = (c.r("/routeTableId"), c.r("/destinationCidrBlock")) else {
        return;
    };
    let cmd = Cmd::aws("ec2", "delete-route")
        .arg("--route-table-id", t.clone())
        .arg("--destination-cidr-block", d.clone())
        .region(c.region());
    let check = Cmd::aws("ec2", "describe-route-tables")
        .arg("--route-table-ids", t.clone())
        .region(c.region());
    c.step(
        Phase::Eradicate,
        format!("Delete the route to {d} added to {t}"),
        Some(cmd),
        "traffic using the route stops",
        Some(check),
        &t,
    );
}

fn nacl(c: &mut Ctx<'_>) {
    let Some(acl) = c.r("/networkAclId") else {
        return;
    };
    let n = c
        .req
        .get("ruleNumber")
        .map(|v| v.to_string().trim_matches('"').to_string())
        .unwrap_or_default();
    let egress = c
        .req
        .get("egress")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let cmd = Cmd::aws("ec2", "delete-network-acl-entry")
        .arg("--network-acl-id", acl.clone())
        .arg("--rule-number", n.clone())
        .flag(if egress { "--egress" } else { "--ingress" })
        .region(c.region());
    let check = Cmd::aws("ec2", "describe-network-acls")
        .arg("--network-acl-ids", acl.clone())
        .region(c.region());
    c.step(
        Phase::Eradicate,
        format!("Delete network ACL entry {n} added to {acl}"),
        Some(cmd),
        "check no legitimate entry reused the rule number since",
        Some(check),
        &acl,
    );
}

/// `(op kind, flag, name)` of the IAM identity a policy call names.
fn iam_target(c: &Ctx<'_>) -> Option<(&'static str, &'static str, String)> {
    if let Some(u) = c.r("/userName") {
        return Some(("user", "--user-name", u));
    }
    if let Some(r) = c.r("/roleName") {
        return Some(("role", "--role-name", r));
    }
    c.r("/groupName").map(|g| ("group", "--group-name", g))
}

fn detach(c: &mut Ctx<'_>) {
    let (Some((kind, flag, name)), Some(p)) = (iam_target(c), c.r("/policyArn")) else {
        return;
    };
    let (op, list): (&'static str, &'static str) = match kind {
        "user" => ("detach-user-policy", "list-attached-user-policies"),
        "role" => ("detach-role-policy", "list-attached-role-policies"),
        _ => ("detach-group-policy", "list-attached-group-policies"),
    };
    let cmd = Cmd::aws("iam", op)
        .arg(flag, name.clone())
        .arg("--policy-arn", p.clone());
    c.step(
        Phase::Eradicate,
        format!("Detach {p} from {kind} {name}"),
        Some(cmd),
        "the identity loses the permissions the policy granted",
        Some(Cmd::aws("iam", list).arg(flag, name.clone())),
        &name,
    );
}

fn delete_inline(c: &mut Ctx<'_>) {
    let (Some((kind, flag, name)), Some(p)) = (iam_target(c), c.r("/policyName")) else {
        return;
    };
    let (op, list): (&'static str, &'static str) = match kind {
        "user" => ("delete-user-policy", "list-user-policies"),
        "role" => ("delete-role-policy", "list-role-policies"),
        _ => ("delete-group-policy", "list-group-policies"),
    };
    let cmd = Cmd::aws("iam", op)
        .arg(flag, name.clone())
        .arg("--policy-name", p.clone());
    c.step(Phase::Eradicate, format!("Delete inline policy {p} they put on {kind} {name}"), Some(cmd), "if the policy existed before, it is replaced, not new: restore the earlier document instead", Some(Cmd::aws("iam", list).arg(flag, name.clone())), &name);
}

fn created(c: &mut Ctx<'_>, op: &'static str, flag: &'static str, ptr: &str, what: &str) {
    let Some(name) = c.r(ptr) else { return };
    let list = if op == "delete-user" {
        Cmd::aws("iam", "get-user").arg("--user-name", name.clone())
    } else {
        Cmd::aws("iam", "get-role").arg("--role-name", name.clone())
    };
    let risk = format!("deletes {what}; fails until its keys, login profile and policies are removed (steps above)");
    c.step(
        Phase::Eradicate,
        format!("Delete {} {name} they created", &op[7..]),
        Some(Cmd::aws("iam", op).arg(flag, name.clone())),
        &risk,
        Some(list),
        &name,
    );
}

fn delete_key(c: &mut Ctx<'_>) {
    let Some(k) = s(&c.resp, "/accessKey/accessKeyId").map(str::to_string) else {
        return;
    };
    let user = s(&c.resp, "/accessKey/userName")
        .map(str::to_string)
        .or_else(|| c.r("/userName"));
    let mut cmd = Cmd::aws("iam", "delete-access-key");
    let mut check = Cmd::aws("iam", "list-access-keys");
    if let Some(u) = &user {
        cmd = cmd.arg("--user-name", u.clone());
        check = check.arg("--user-name", u.clone());
    }
    let cmd = cmd.arg("--access-key-id", k.clone());
    c.step(
        Phase::Eradicate,
        format!("Delete access key {k} they created"),
        Some(cmd),
        "irreversible; deactivated in contain first",
        Some(check),
        &k,
    );
}

fn login_profile(c: &mut Ctx<'_>) {
    let Some(u) = c.r("/userName") else { return };
    c.step(
        Phase::Contain,
        format!("Disable console access of {u} (login profile they set)"),
        Some(Cmd::aws("iam", "delete-login-profile").arg("--user-name", u.clone())),
        "the user cannot sign in to the console until a new password is set",
        Some(Cmd::aws("iam", "get-login-profile").arg("--user-name", u.clone())),
        &u,
    );
}

fn console(c: &mut Ctx<'_>) {
    let ok = s(&c.resp, "/ConsoleLogin") == Some("Success");
    if ok && c.e.principal.kind.as_deref() == Some("Root") {
        let acct = c.e.account.clone().unwrap_or_default();
        let title = format!("Secure the root user of account {acct}: change its password, replace its MFA devices, and delete any root access keys (the intruder signed in as root)");
        c.step(Phase::Contain, title, None, "root sessions cannot be revoked by a policy: only the password change ends them; do it from the console as root", Some(Cmd::aws("iam", "get-account-summary")), &acct);
        return;
    }
    let Some(u) =
        c.e.principal
            .name
            .as_deref()
            .and_then(|n| n.split(":user/").nth(1))
            .map(str::to_string)
    else {
        return;
    };
    let ok = s(&c.resp, "/ConsoleLogin") == Some("Success");
    if ok {
        let doc = revoke_policy(c.now);
        c.step(Phase::Contain, format!("Revoke the console sessions of {u} (the intruder signed in)"), Some(Cmd::aws("iam", "put-user-policy").arg("--user-name", u.clone()).arg("--policy-name", "AWSRevokeOlderSessions").arg("--policy-document", doc)), "every session of the user issued before now is denied, the owner's too; remove the policy once the password and MFA are reset", Some(Cmd::aws("iam", "get-user-policy").arg("--user-name", u.clone()).arg("--policy-name", "AWSRevokeOlderSessions")), &u);
        c.step(
            Phase::Contain,
            format!("Disable console access of {u} (the intruder signed in)"),
            Some(Cmd::aws("iam", "delete-login-profile").arg("--user-name", u.clone())),
            "the owner loses console access until a new password (and MFA) is set",
            Some(Cmd::aws("iam", "get-login-profile").arg("--user-name", u.clone())),
            &u,
        );
    }
}

fn trust_policy(c: &mut Ctx<'_>) {
    let Some(r) = c.r("/roleName") else { return };
    let doc = c.r("/policyDocument").unwrap_or_default();
    let cmd = Cmd::aws("iam", "update-assume-role-policy")
        .arg("--role-name", r.clone())
        .arg(
            "--policy-document",
            "file://trust-policy-before-incident.json",
        );
    let title = format!("Restore the trust policy of role {r} (they set: {doc})");
    c.step(Phase::Eradicate, title, Some(cmd), "the log does not hold the earlier document: write it to trust-policy-before-incident.json from your baseline (IaC, AWS Config) first", Some(Cmd::aws("iam", "get-role").arg("--role-name", r.clone())), &r);
    c.step(
        Phase::Contain,
        format!("Revoke the active sessions of role {r}"),
        Some(
            Cmd::aws("iam", "put-role-policy")
                .arg("--role-name", r.clone())
                .arg("--policy-name", "AWSRevokeOlderSessions")
                .arg("--policy-document", revoke_policy(c.now)),
        ),
        "every session of the role issued before now is denied",
        Some(
            Cmd::aws("iam", "get-role-policy")
                .arg("--role-name", r.clone())
                .arg("--policy-name", "AWSRevokeOlderSessions"),
        ),
        &r,
    );
}

fn shared_with(req: &Value, ptr: &str) -> Vec<(bool, String)> {
    let items = req
        .pointer(ptr)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|i| {
            s(i, "/userId")
                .map(|u| (false, u.to_string()))
                .or_else(|| s(i, "/group").map(|g| (true, g.to_string())))
        })
        .collect()
}

fn unshare_snapshot(c: &mut Ctx<'_>) {
    let Some(snap) = c.r("/snapshotId") else {
        return;
    };
    for (group, who) in shared_with(&c.req, "/createVolumePermission/add/items") {
        let cmd = Cmd::aws("ec2", "modify-snapshot-attribute")
            .arg("--snapshot-id", snap.clone())
            .arg("--attribute", "createVolumePermission")
            .arg("--operation-type", "remove")
            .arg(
                if group { "--group-names" } else { "--user-ids" },
                who.clone(),
            )
            .region(c.region());
        let check = Cmd::aws("ec2", "describe-snapshot-attribute")
            .arg("--snapshot-id", snap.clone())
            .arg("--attribute", "createVolumePermission")
            .region(c.region());
        c.step(
            Phase::Eradicate,
            format!("Stop sharing snapshot {snap} with {who}"),
            Some(cmd),
            "copies already made by the other account are out of reach",
            Some(check),
            &snap,
        );
    }
}

fn unshare_image(c: &mut Ctx<'_>) {
    let Some(ami) = c.r("/imageId") else { return };
    for (group, who) in shared_with(&c.req, "/launchPermission/add/items") {
        let perm = if group {
            json!({"Remove": [{"Group": who}]})
        } else {
            json!({"Remove": [{"UserId": who}]})
        };
        let cmd = Cmd::aws("ec2", "modify-image-attribute")
            .arg("--image-id", ami.clone())
            .arg("--launch-permission", perm.to_string())
            .region(c.region());
        let check = Cmd::aws("ec2", "describe-image-attribute")
            .arg("--image-id", ami.clone())
            .arg("--attribute", "launchPermission")
            .region(c.region());
        c.step(
            Phase::Eradicate,
            format!("Stop sharing image {ami} with {who}"),
            Some(cmd),
            "copies already made by the other account are out of reach",
            Some(check),
            &ami,
        );
    }
}

fn lambda_permission(c: &mut Ctx<'_>) {
    let (Some(f), Some(sid)) = (c.r("/functionName"), c.r("/statementId")) else {
        return;
    };
    let cmd = Cmd::aws("lambda", "remove-permission")
        .arg("--function-name", f.clone())
        .arg("--statement-id", sid.clone())
        .region(c.region());
    c.step(
        Phase::Eradicate,
        format!("Remove permission {sid} they added to function {f}"),
        Some(cmd),
        "callers relying on the statement lose access",
        Some(
            Cmd::aws("lambda", "get-policy")
                .arg("--function-name", f.clone())
                .region(c.region()),
        ),
        &f,
    );
}

fn lambda_function(c: &mut Ctx<'_>) {
    let Some(f) = c.r("/functionName") else {
        return;
    };
    let cmd = Cmd::aws("lambda", "delete-function")
        .arg("--function-name", f.clone())
        .region(c.region());
    c.step(
        Phase::Eradicate,
        format!("Delete function {f} they created"),
        Some(cmd),
        "keep a copy of the code for the investigation first (aws lambda get-function)",
        Some(
            Cmd::aws("lambda", "get-function")
                .arg("--function-name", f.clone())
                .region(c.region()),
        ),
        &f,
    );
}

fn lambda_url(c: &mut Ctx<'_>) {
    let Some(f) = c.r("/functionName") else {
        return;
    };
    let cmd = Cmd::aws("lambda", "delete-function-url-config")
        .arg("--function-name", f.clone())
        .region(c.region());
    c.step(
        Phase::Eradicate,
        format!("Delete the public URL they added to function {f}"),
        Some(cmd),
        "the URL stops answering",
        Some(
            Cmd::aws("lambda", "get-function-url-config")
                .arg("--function-name", f.clone())
                .region(c.region()),
        ),
        &f,
    );
}

fn start_logging(c: &mut Ctx<'_>) {
    let Some(t) = c.r("/name") else { return };
    let cmd = Cmd::aws("cloudtrail", "start-logging")
        .arg("--name", t.clone())
        .region(c.region());
    c.step(
        Phase::Eradicate,
        format!("Restart logging of trail {t}"),
        Some(cmd),
        "none",
        Some(
            Cmd::aws("cloudtrail", "get-trail-status")
                .arg("--name", t.clone())
                .region(c.region()),
        ),
        &t,
    );
}

fn event_selectors(c: &mut Ctx<'_>) {
    let Some(t) = c.r("/trailName") else { return };
    let set = c
        .req
        .get("eventSelectors")
        .map(Value::to_string)
        .unwrap_or_default();
    let base = json!([{"ReadWriteType": "All", "IncludeManagementEvents": true}]).to_string();
    let cmd = Cmd::aws("cloudtrail", "put-event-selectors")
        .arg("--trail-name", t.clone())
        .arg("--event-selectors", base)
        .region(c.region());
    c.step(
        Phase::Eradicate,
        format!("Restore the event selectors of trail {t} (they set {set})"),
        Some(cmd),
        "restores all management events; add back any data-event selectors from your baseline",
        Some(
            Cmd::aws("cloudtrail", "get-event-selectors")
                .arg("--trail-name", t.clone())
                .region(c.region()),
        ),
        &t,
    );
}

fn deleted_trail(c: &mut Ctx<'_>) {
    let Some(t) = c.r("/name") else { return };
    let name = t.rsplit('/').next().unwrap_or(&t).to_string();
    let cmd = Cmd::aws("cloudtrail", "create-trail")
        .arg("--name", name.clone())
        .arg("--s3-bucket-name", "BUCKET-FROM-BASELINE")
        .flag("--is-multi-region-trail")
        .region(c.region());
    c.step(
        Phase::Restore,
        format!("Recreate trail {name} they deleted, then start logging"),
        Some(cmd),
        "the bucket, KMS key and selectors are not in the log: take them from your baseline",
        Some(
            Cmd::aws("cloudtrail", "get-trail-status")
                .arg("--name", name.clone())
                .region(c.region()),
        ),
        &name,
    );
}

fn guardduty(c: &mut Ctx<'_>) {
    let Some(d) = c.r("/detectorId") else { return };
    if c.e.action == "UpdateDetector" && c.req.get("enable").and_then(Value::as_bool) != Some(false)
    {
        return;
    }
    let cmd = if c.e.action == "UpdateDetector" {
        Cmd::aws("guardduty", "update-detector")
            .arg("--detector-id", d.clone())
            .flag("--enable")
    } else {
        Cmd::aws("guardduty", "create-detector").flag("--enable")
    };
    c.step(
        Phase::Eradicate,
        format!("Re-enable GuardDuty (detector {d} was disabled or deleted)"),
        Some(cmd.region(c.region())),
        "a new detector starts without the old findings' history",
        Some(Cmd::aws("guardduty", "list-detectors").region(c.region())),
        &d,
    );
}

fn flow_logs(c: &mut Ctx<'_>) {
    let ids = c
        .req
        .pointer("/DeleteFlowLogsRequest/FlowLogId/content")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(id) = ids else { return };
    c.step(Phase::Restore, format!("Recreate flow log {id} they deleted"), Some(Cmd::aws("ec2", "create-flow-logs").arg("--resource-type", "VPC").arg("--resource-ids", "VPC-FROM-BASELINE").arg("--traffic-type", "ALL").arg("--log-destination-type", "cloud-watch-logs").region(c.region())), "the VPC and destination of the deleted flow log are not in the log: take them from your baseline", Some(Cmd::aws("ec2", "describe-flow-logs").region(c.region())), &id);
}

fn instances(c: &mut Ctx<'_>) {
    let items = c
        .resp
        .pointer("/instancesSet/items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for i in items.iter().filter_map(|i| s(i, "/instanceId")) {
        let i = i.to_string();
        c.step(
            Phase::Contain,
            format!("Quarantine instance {i} they launched (stop it, keep its disks)"),
            Some(
                Cmd::aws("ec2", "stop-instances")
                    .arg("--instance-ids", i.clone())
                    .region(c.region()),
            ),
            "stopping loses memory contents: snapshot or capture memory first if needed",
            Some(
                Cmd::aws("ec2", "describe-instances")
                    .arg("--instance-ids", i.clone())
                    .region(c.region()),
            ),
            &i,
        );
        c.step(
            Phase::Eradicate,
            format!("Terminate instance {i} they launched"),
            Some(
                Cmd::aws("ec2", "terminate-instances")
                    .arg("--instance-ids", i.clone())
                    .region(c.region()),
            ),
            "irreversible; snapshot its volumes first for forensics",
            Some(
                Cmd::aws("ec2", "describe-instances")
                    .arg("--instance-ids", i.clone())
                    .region(c.region()),
            ),
            &i,
        );
    }
}

/// Objects deleted or overwritten, per bucket: one restore step each.
fn restore_objects(scoped: &[&Event], versions: &crate::data::Versioning) -> Vec<Step> {
    let mut by: BTreeMap<String, (BTreeSet<String>, String, Option<String>, i64)> = BTreeMap::new();
    for e in scoped.iter().filter(|e| e.outcome == Outcome::Success) {
        let a = e.action.as_str();
        if !matches!(
            a,
            "DeleteObject" | "DeleteObjects" | "PutObject" | "CopyObject"
        ) {
            continue;
        }
        let v = raw(e);
        let Some(b) = s(&v, "/requestParameters/bucketName") else {
            continue;
        };
        let entry = by.entry(b.to_string()).or_insert_with(|| {
            (
                BTreeSet::new(),
                e.event_id.clone(),
                e.region.clone(),
                e.time_ms,
            )
        });
        if let Some(k) = s(&v, "/requestParameters/key") {
            entry.0.insert(k.to_string());
        }
        for o in v
            .pointer("/requestParameters/Delete/Object")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(k) = o.get("Key").and_then(Value::as_str) {
                entry.0.insert(k.to_string());
            }
        }
    }
    by.into_iter()
        .map(|(b, (keys, ev, region, first_ms))| {
            let state = crate::data::versioning_at(versions, &b, first_ms);
            let prefix = common_prefix(&keys);
            let sample: Vec<&str> = keys.iter().take(5).map(String::as_str).collect();
            Step {
                phase: Phase::Restore,
                title: format!("Restore {} objects of bucket {b} they deleted or overwrote (e.g. {}): {state}", keys.len(), sample.join(", ")),
                evidence: Some(ev),
                command: Some(Cmd::aws("s3api", "list-object-versions").arg("--bucket", b.clone()).arg("--prefix", prefix).region(region.as_deref())),
                risk: "check versioning first (aws s3api get-bucket-versioning); objects they wrote (ransom notes, re-encrypted copies) are the current versions: delete those after restoring".into(),
                check: Some(Cmd::aws("s3api", "get-bucket-versioning").arg("--bucket", b.clone()).region(region.as_deref())),
                target: b,
                refused: None,
                review: None,
            }
        })
        .collect()
}

fn common_prefix(keys: &BTreeSet<String>) -> String {
    let (Some(a), Some(b)) = (keys.first(), keys.last()) else {
        return String::new();
    };
    a.chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

fn verify(scoped: &[&Event], inc: &Incident, opts: &PlanOptions) -> Vec<Step> {
    let mut out = Vec::new();
    if let Some(first) = inc.first_ms {
        let mut cmd = Cmd(vec![Word::Lit("trailwatch"), Word::Lit("hunt")]);
        cmd.0
            .extend(opts.inputs.iter().map(|i| Word::Val(i.clone())));
        out.push(Step {
            phase: Phase::Verify,
            title: "Re-run the hunt from the start of the incident, once logs of the recovery are delivered".into(),
            evidence: None,
            command: Some(cmd.arg("--since", iso(first))),
            risk: "none".into(),
            check: None,
            target: "hunt".into(),
            refused: None,
            review: None,
        });
    }
    if opts.cloud == Some(Provider::Azure) || opts.cloud == Some(Provider::Entra) {
        return out;
    }
    let mut by_user: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
    let keys: BTreeSet<&String> = inc
        .scope
        .access_keys
        .iter()
        .chain(&inc.scope.used_keys)
        .collect();
    for k in keys.into_iter().filter(|k| !k.starts_with("ASIA")) {
        by_user.entry(key_user(scoped, inc, k)).or_default().push(k);
    }
    for (user, keys) in by_user {
        let cmd = match &user {
            Some(u) => Cmd::aws("iam", "list-access-keys").arg("--user-name", u.clone()),
            None => Cmd::aws("iam", "list-access-keys"),
        };
        out.push(Step {
            phase: Phase::Verify,
            title: format!(
                "Confirm access keys {} are Inactive or deleted",
                keys.join(", ")
            ),
            evidence: None,
            command: Some(cmd),
            risk: "none".into(),
            check: None,
            target: user.unwrap_or_else(|| keys.join(",")),
            refused: None,
            review: None,
        });
    }
    out
}
