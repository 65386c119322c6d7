//! Pivoting from a selector to everything the intruder used, each step with its reason.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use trailwatch_model::Event;

use crate::identity::{canonical_guid, is_microsoft, CloudIdentity, Keys};

/// Where the investigation starts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Selector {
    /// An ARN, principal id or user name (exact, case-insensitive); for Azure and Entra ID a
    /// user principal name or directory object id (either GUID form), which joins the person's
    /// Activity Log operations, sign-ins and directory audits ([`crate::identity`]).
    pub principal: Option<String>,
    pub access_key: Option<String>,
    pub ip: Option<String>,
}

impl Selector {
    pub fn is_empty(&self) -> bool {
        self.principal.is_none() && self.access_key.is_none() && self.ip.is_none()
    }

    /// The selector an alert's event gives: its access key (else its principal), kept to its
    /// source IP when that is an address (so the owner's use of the key elsewhere stays out).
    pub fn from_event(e: &Event) -> Selector {
        let access_key = e.principal.access_key.clone();
        Selector {
            principal: access_key
                .is_none()
                .then(|| e.principal.name.clone())
                .flatten(),
            access_key,
            ip: e.source_ip.clone().filter(|ip| is_ip(ip)),
        }
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("principal", &self.principal),
            ("access key", &self.access_key),
            ("ip", &self.ip),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
        .collect();
        f.write_str(&parts.join(", "))
    }
}

/// One thing the scope grew by, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expansion {
    /// `access_key`, `principal`, `session`, `ip`, `user_agent`, `user`.
    pub kind: String,
    pub value: String,
    pub reason: String,
    /// The event that justifies it (absent for the selector itself).
    pub evidence: Option<String>,
    /// Whether events of this value were added to the scope (false: shown for context only).
    pub followed: bool,
    /// Scoped events made with this key, by this principal or from this IP (what the
    /// expansion brought in, or would have for one not followed).
    pub events: usize,
}

/// What the intruder used.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scope {
    pub selector: Selector,
    pub access_keys: BTreeSet<String>,
    /// Principal ARNs (or ids) whose every event is in scope.
    pub principals: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub user_agents: BTreeSet<String>,
    /// IAM user owning each long-term key, when the log tells.
    pub key_users: BTreeMap<String, String>,
    /// Roles whose sessions the intruder opened (role ARN → session ARN).
    pub sessions: BTreeMap<String, String>,
    /// Long-term keys used in scope: contained even when their other use is not followed.
    pub used_keys: BTreeSet<String>,
    /// The selector's key and principal (canonical ARN).
    pub seed_key: Option<String>,
    pub seed_principal: Option<String>,
    /// With an IP and another selector, the seed's events count only from this IP.
    pub restrict_ip: Option<String>,
    pub expansions: Vec<Expansion>,
    /// The selector's person in the Microsoft logs (Activity Log and Entra), joined by object
    /// id, else by user principal name ([`crate::identity`]).
    pub identity: CloudIdentity,
    /// Directory objects the intruder created (users, guests, applications, service
    /// principals, groups; canonical object ids): their own events and the audits that target
    /// them are in scope.
    pub entra_objects: BTreeSet<String>,
    /// Indexes into the loaded events of the scoped ones, in time order.
    #[serde(skip)]
    pub events: Vec<usize>,
}

/// Other principals listed per shared IP.
const SHARED_IP_PRINCIPALS: usize = 3;

/// The raw record as JSON (`Null` when it does not parse).
pub(crate) fn raw(e: &Event) -> Value {
    serde_json::from_str(&e.raw).unwrap_or(Value::Null)
}

/// A string at a JSON pointer.
pub(crate) fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn eq_ci(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

fn principal_matches(e: &Event, p: &str) -> bool {
    let last = e
        .principal
        .name
        .as_deref()
        .and_then(|n| n.rsplit('/').next());
    eq_ci(e.principal.name.as_deref(), p) || eq_ci(e.principal.id.as_deref(), p) || eq_ci(last, p)
}

impl Scope {
    /// Whether `e` (with its identity keys `k`) is the intruder's: made with a credential or
    /// session derived from the seed, from an IP followed, by or on a directory object the
    /// intruder created, or by the seed itself (from the selected IP when one is given).
    fn holds(&self, e: &Event, k: &Keys) -> bool {
        let key = e.principal.access_key.as_deref();
        let name = e.principal.name.as_deref();
        let ip = e.source_ip.as_deref();
        let (sk, sp) = (self.seed_key.as_deref(), self.seed_principal.as_deref());
        let seed = (key.is_some() && key == sk)
            || (name.is_some() && name == sp)
            || self.identity.holds(k);
        let created = &self.entra_objects;
        let derived = key.is_some_and(|k| Some(k) != sk && self.access_keys.contains(k))
            || name.is_some_and(|n| Some(n) != sp && self.principals.contains(n))
            || ip.is_some_and(|i| self.ips.contains(i))
            || k.oid.as_ref().is_some_and(|o| created.contains(o))
            || k.targets.iter().any(|t| created.contains(t));
        derived || (seed && self.restrict_ip.as_deref().is_none_or(|r| ip == Some(r)))
    }

    fn add(&mut self, kind: &str, value: &str, reason: String, evidence: Option<&str>) -> bool {
        let set = match kind {
            "access_key" => &mut self.access_keys,
            "principal" | "session" => &mut self.principals,
            "ip" => &mut self.ips,
            _ => return false,
        };
        if !set.insert(value.to_string()) {
            return false;
        }
        self.expansions.push(Expansion {
            kind: kind.into(),
            value: value.into(),
            reason,
            evidence: evidence.map(str::to_string),
            followed: true,
            events: 0,
        });
        true
    }

    fn note(&mut self, kind: &str, value: &str, reason: String, evidence: Option<&str>) {
        if self
            .expansions
            .iter()
            .any(|x| x.kind == kind && x.value == value)
        {
            return;
        }
        self.expansions.push(Expansion {
            kind: kind.into(),
            value: value.into(),
            reason,
            evidence: evidence.map(str::to_string),
            followed: false,
            events: 0,
        });
    }
}

/// The scope of `selector` over `events` (oldest first): repeats the pivots until nothing new.
pub fn scope(events: &[Event], selector: &Selector) -> Scope {
    let mut sc = Scope {
        selector: selector.clone(),
        ..Scope::default()
    };
    let keys: Vec<Keys> = events.iter().map(Keys::of).collect();
    seed(events, &keys, selector, &mut sc);
    loop {
        let before = sc.size();
        let idx: Vec<usize> = (0..events.len())
            .filter(|i| sc.holds(&events[*i], &keys[*i]))
            .collect();
        for &i in &idx {
            pivot_event(&events[i], &mut sc);
        }
        pivot_ips(events, &idx, &mut sc);
        sc.events = idx;
        if sc.size() == before {
            break;
        }
    }
    describe(events, &keys, &mut sc);
    sc
}

impl Scope {
    /// How much the scope holds: the pivots stop when it no longer grows.
    fn size(&self) -> usize {
        self.access_keys.len() + self.principals.len() + self.ips.len() + self.entra_objects.len()
    }
}

fn seed(events: &[Event], keys: &[Keys], sel: &Selector, sc: &mut Scope) {
    if let Some(k) = &sel.access_key {
        sc.add("access_key", k, "the selector".into(), None);
        sc.seed_key = Some(k.clone());
    }
    if let Some(p) = &sel.principal {
        let found = events.iter().find(|e| principal_matches(e, p));
        let name = found
            .and_then(|e| e.principal.name.clone())
            .unwrap_or_else(|| p.clone());
        sc.add("principal", &name, "the selector".into(), None);
        sc.seed_principal = Some(name);
        seed_identity(events, keys, p, sc);
    }
    if let Some(ip) = &sel.ip {
        let why = if sc.seed_key.is_some() || sc.seed_principal.is_some() {
            sc.restrict_ip = Some(ip.clone());
            "the selector: the key or principal counts only from here"
        } else {
            "the selector"
        };
        sc.add("ip", ip, why.into(), None);
    }
}

/// The selector's identity in the Microsoft logs, and an expansion for each object id and
/// other user principal name it brought in.
fn seed_identity(events: &[Event], keys: &[Keys], p: &str, sc: &mut Scope) {
    sc.identity = CloudIdentity::of_selector(events, keys, p, |e| principal_matches(e, p));
    let first = |pred: &dyn Fn(&Keys) -> bool| {
        events
            .iter()
            .zip(keys)
            .find(|(e, k)| is_microsoft(e) && pred(k))
            .map(|(e, _)| e.event_id.clone())
    };
    for oid in sc.identity.object_ids.clone() {
        if canonical_guid(p).as_deref() == Some(oid.as_str()) {
            continue;
        }
        let ev = first(&|k| k.oid.as_deref() == Some(oid.as_str()));
        sc.expansions.push(Expansion {
            kind: "object_id".into(),
            value: oid,
            reason: "directory object id of the selector: joins its Activity Log operations, sign-ins and the directory audits it initiated".into(),
            evidence: ev,
            followed: true,
            events: 0,
        });
    }
    let seed = sc.seed_principal.clone().unwrap_or_default();
    for upn in sc.identity.upns.clone() {
        if upn.eq_ignore_ascii_case(&seed) {
            continue;
        }
        let ev = first(&|k| k.upn.as_deref() == Some(upn.as_str()));
        sc.expansions.push(Expansion {
            kind: "upn".into(),
            value: upn,
            reason: "user principal name of the same object id".into(),
            evidence: ev,
            followed: true,
            events: 0,
        });
    }
}

/// What one scoped event adds: the key it used, the sessions and keys it created, the
/// directory objects it created.
fn pivot_event(e: &Event, sc: &mut Scope) {
    if e.outcome != trailwatch_model::Outcome::Success {
        return;
    }
    let id = e.event_id.as_str();
    for (oid, what) in crate::entra::created_objects(e) {
        if sc.entra_objects.insert(oid.clone()) {
            sc.expansions.push(Expansion {
                kind: "entra_object".into(),
                value: oid,
                reason: format!(
                    "{what}, created by {} ({}): its activity and the audits that target it are followed",
                    e.principal.label(),
                    e.action
                ),
                evidence: Some(id.to_string()),
                followed: true,
                events: 0,
            });
        }
    }
    if let Some(k) = e.principal.access_key.as_deref() {
        let who = e.principal.label().to_string();
        if k.starts_with("ASIA") {
            sc.add(
                "access_key",
                k,
                format!("temporary key of {who}, used in scope"),
                Some(id),
            );
        } else if sc.used_keys.insert(k.to_string()) && !sc.access_keys.contains(k) {
            if sc.restrict_ip.is_none() {
                sc.add(
                    "access_key",
                    k,
                    format!("long-term key of {who}, used in scope"),
                    Some(id),
                );
            } else {
                let why = format!("long-term key of {who} used from the selected IP: contained; its use from elsewhere is not followed");
                sc.note("access_key", k, why, Some(id));
            }
        }
    }
    match e.action.as_str() {
        "AssumeRole"
        | "AssumeRoleWithWebIdentity"
        | "AssumeRoleWithSAML"
        | "GetSessionToken"
        | "GetFederationToken" => pivot_session(e, sc),
        "CreateAccessKey" => {
            let v = raw(e);
            if let Some(k) = s(&v, "/responseElements/accessKey/accessKeyId") {
                sc.add(
                    "access_key",
                    k,
                    format!("created by {}", e.principal.label()),
                    Some(id),
                );
            }
        }
        _ => {}
    }
}

fn pivot_session(e: &Event, sc: &mut Scope) {
    let v = raw(e);
    let id = e.event_id.as_str();
    let by = e.principal.label().to_string();
    if let Some(k) = s(&v, "/responseElements/credentials/accessKeyId") {
        sc.add(
            "access_key",
            k,
            format!("session credentials issued to {by} by {}", e.action),
            Some(id),
        );
    }
    if let Some(arn) = s(&v, "/responseElements/assumedRoleUser/arn") {
        let sid =
            s(&v, "/requestParameters/sourceIdentity").map(|x| format!(", sourceIdentity {x}"));
        let name = s(&v, "/requestParameters/roleSessionName").unwrap_or("-");
        let reason = format!(
            "role session opened by {by} (session name {name}{})",
            sid.unwrap_or_default()
        );
        sc.add("session", arn, reason, Some(id));
        if let Some(role) = s(&v, "/requestParameters/roleArn") {
            sc.sessions.insert(role.to_string(), arn.to_string());
        }
    }
}

fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// IPs the scoped events came from, and the other principals seen from them: shown, never
/// followed (only an IP given as the selector brings its events in), so that a shared NAT, an
/// office or the owner's home address implicates nobody.
fn pivot_ips(events: &[Event], idx: &[usize], sc: &mut Scope) {
    let mine: BTreeSet<&str> = idx.iter().map(|i| events[*i].principal.label()).collect();
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    for i in idx {
        let e = &events[*i];
        if let Some(ip) = e.source_ip.as_deref().filter(|ip| is_ip(ip)) {
            first.entry(ip).or_insert(e.event_id.as_str());
        }
    }
    for (ip, evid) in first {
        if sc.ips.contains(ip) {
            continue;
        }
        let others: BTreeSet<&str> = events
            .iter()
            .filter(|e| e.source_ip.as_deref() == Some(ip))
            .map(|e| e.principal.label())
            .filter(|u| !mine.contains(u))
            .collect();
        if others.is_empty() {
            // Followed no further: the owner's own address (home, office) would pull their
            // legitimate sessions into the plan.
            sc.note(
                "ip",
                ip,
                "source of in-scope activity; no other principal used it".into(),
                Some(evid),
            );
            continue;
        }
        let r = format!(
            "source of in-scope activity, also used by {} other principals: not followed",
            others.len()
        );
        sc.note("ip", ip, r, Some(evid));
        for u in others.iter().take(SHARED_IP_PRINCIPALS) {
            sc.note(
                "principal",
                u,
                format!("also seen from {ip} (not followed)"),
                Some(evid),
            );
        }
    }
}

/// Context: user agents, and the IAM user behind each long-term key.
fn describe(events: &[Event], keys: &[Keys], sc: &mut Scope) {
    let scoped: Vec<(&Event, &Keys)> = sc.events.iter().map(|i| (&events[*i], &keys[*i])).collect();
    for x in &mut sc.expansions {
        let v = Some(x.value.as_str());
        x.events = scoped
            .iter()
            .filter(|(e, k)| match x.kind.as_str() {
                "access_key" => e.principal.access_key.as_deref() == v,
                "principal" | "session" | "user" => {
                    e.principal.name.as_deref() == v
                        || (is_microsoft(e) && eq_ci(e.principal.name.as_deref(), &x.value))
                }
                "object_id" => k.oid.as_deref() == v,
                "upn" => k.upn.as_deref() == v,
                "entra_object" => {
                    k.oid.as_deref() == v || k.targets.iter().any(|t| Some(t.as_str()) == v)
                }
                "ip" => e.source_ip.as_deref() == v,
                "user_agent" => e.user_agent.as_deref() == v,
                _ => false,
            })
            .count();
    }
    for &(e, _) in &scoped {
        if let Some(ua) = &e.user_agent {
            sc.user_agents.insert(ua.clone());
        }
        let (Some(k), Some(name)) = (
            e.principal.access_key.as_deref(),
            e.principal.name.as_deref(),
        ) else {
            continue;
        };
        if k.starts_with("AKIA") && !sc.key_users.contains_key(k) {
            if let Some(user) = name
                .split(":user/")
                .nth(1)
                .and_then(|u| u.rsplit('/').next())
            {
                sc.key_users.insert(k.to_string(), user.to_string());
            }
        }
    }
    if sc.restrict_ip.is_none() && (sc.seed_key.is_some() || sc.seed_principal.is_some()) {
        let seed_ips: BTreeSet<&str> = sc
            .events
            .iter()
            .map(|i| &events[*i])
            .filter(|e| {
                e.principal.access_key.is_some() && e.principal.access_key == sc.seed_key
                    || e.principal.name.is_some() && e.principal.name == sc.seed_principal
            })
            .filter_map(|e| e.source_ip.as_deref())
            .collect();
        if seed_ips.len() > 1 {
            let why = format!("the selector was used from {} sources: the owner's own activity may be in scope; add --ip to keep only the intruder's source", seed_ips.len());
            sc.note("warning", "several sources", why, None);
        }
    }
    let users: Vec<(String, String)> = sc
        .key_users
        .iter()
        .map(|(k, u)| (k.clone(), u.clone()))
        .collect();
    for (k, u) in users {
        sc.note("user", &u, format!("owns access key {k}; its events with other credentials are not in scope (use --principal to include them)"), None);
    }
}
