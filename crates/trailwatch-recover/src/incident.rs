//! What the scoped events did: when, where, what was denied, every resource touched, and the
//! persistence created.

use crate::scope::{raw, s, Scope};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use trailwatch_model::{Event, Outcome};

/// One scoped event, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub time_ms: i64,
    pub event_id: String,
    /// The log it came from: `CloudTrail`, `Activity Log`, `Entra sign-in`, `Entra audit`, …
    pub log: String,
    pub principal: String,
    pub source_ip: Option<String>,
    pub region: Option<String>,
    pub action: String,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    /// Titles of the rules that fired on it.
    pub alerts: Vec<String>,
}

/// What was done to one resource.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceActivity {
    pub resource: String,
    /// `created`, `modified`, `deleted`, `read`, `shared` → the actions, in order of first use.
    pub done: BTreeMap<String, Vec<String>>,
    pub events: usize,
    /// Bytes read out, when data events logged them.
    pub bytes_out: u64,
    pub first_event: String,
    /// The settings written by creations and changes (request parameters or body, compact
    /// JSON, each cut to [`SETTINGS_CHARS`]), in time order.
    pub settings: Vec<String>,
}

/// How much of one change's settings the report keeps.
pub const SETTINGS_CHARS: usize = 400;

/// Persistence the intruder created.
#[derive(Debug, Clone, Serialize)]
pub struct Persistence {
    pub action: String,
    pub what: String,
    pub event_id: String,
    pub time_ms: i64,
}

/// Consecutive scoped events of one principal, source IP, action and result, merged: the
/// timeline a person reads. Azure's start records fold into their end record.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub first_ms: i64,
    pub last_ms: i64,
    /// The log its events came from (see [`Row::log`]).
    pub log: String,
    /// Operations merged (an Azure start/end pair counts once).
    pub count: usize,
    pub principal: String,
    pub source_ip: Option<String>,
    pub action: String,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    /// The first [`GROUP_RESOURCES`] resources touched, then how many more.
    pub resources: Vec<String>,
    pub more_resources: usize,
    /// Titles of the rules that fired on any of its events.
    pub alerts: Vec<String>,
    pub first_event: String,
}

/// Resources named per timeline group.
pub const GROUP_RESOURCES: usize = 3;
/// Events further apart than this start a new group.
pub const GROUP_GAP_MS: i64 = 15 * 60 * 1000;

/// The incident.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub scope: Scope,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub regions: BTreeSet<String>,
    pub accounts: BTreeSet<String>,
    /// Every source IP of the scoped events (followed or not).
    pub source_ips: BTreeSet<String>,
    pub events: Vec<Row>,
    /// The events grouped for reading.
    pub timeline: Vec<Group>,
    pub failures: Vec<Row>,
    pub resources: Vec<ResourceActivity>,
    pub persistence: Vec<Persistence>,
    /// Each S3 bucket and DynamoDB table touched, and whether data events for it were
    /// recorded while the incident lasted.
    pub data_events: Vec<crate::coverage::DataEventCoverage>,
}

const PERSISTENCE: &[&str] = &[
    "CreateUser",
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "AddUserToGroup",
    "CreatePolicyVersion",
    "RunInstances",
    "CreateFunctionUrlConfig",
];

/// Whether `action` (CloudTrail eventName, Lambda's dated suffixes ignored; an Azure operation;
/// an Entra audit activity) creates persistence.
pub fn is_persistence(action: &str) -> bool {
    if action.contains('/') {
        return crate::azure::is_persistence_op(action);
    }
    if action.contains(' ') {
        return crate::entra::is_persistence(action);
    }
    let base = base_action(action);
    PERSISTENCE.contains(&base) || base == "AddPermission" || base == "CreateFunction"
}

/// The action without Lambda's API-version suffix (`AddPermission20150331v2` → `AddPermission`).
pub fn base_action(action: &str) -> &str {
    match action.find(|c: char| c.is_ascii_digit()) {
        Some(i)
            if action.starts_with("AddPermission")
                || action.starts_with("CreateFunction")
                || action.starts_with("RemovePermission")
                || action.starts_with("DeleteFunction")
                || action.starts_with("UpdateFunction") =>
        {
            &action[..i]
        }
        _ => action,
    }
}

/// The incident of `scope` over `events`; `alerts` maps event ids to the rules that fired.
pub fn incident(events: &[Event], scope: Scope, alerts: &HashMap<String, Vec<String>>) -> Incident {
    let scoped: Vec<&Event> = scope.events.iter().map(|i| &events[*i]).collect();
    let rows: Vec<Row> = scoped.iter().map(|e| row(e, alerts)).collect();
    let failures = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Failure)
        .cloned()
        .collect();
    let span = scoped
        .first()
        .zip(scoped.last())
        .map(|(a, b)| (a.time_ms, b.time_ms));
    Incident {
        data_events: crate::coverage::data_event_coverage(events, &scoped, span),
        first_ms: scoped.first().map(|e| e.time_ms),
        last_ms: scoped.last().map(|e| e.time_ms),
        regions: scoped.iter().filter_map(|e| e.region.clone()).collect(),
        accounts: scoped.iter().filter_map(|e| e.account.clone()).collect(),
        source_ips: scoped.iter().filter_map(|e| e.source_ip.clone()).collect(),
        resources: resources(&scoped),
        timeline: group(&scoped, &rows),
        persistence: persistence(&scoped),
        failures,
        events: rows,
        scope,
    }
}

/// Groups consecutive rows of the same principal, IP, action and result.
fn group(scoped: &[&Event], rows: &[Row]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    // (started, ended) records per group.
    let mut tally: Vec<(usize, usize)> = Vec::new();
    for (e, r) in scoped.iter().zip(rows) {
        let req = raw(e).get("requestParameters").cloned().unwrap_or_default();
        let touched = names(e, &req);
        let joins = out.last().is_some_and(|g| {
            g.principal == r.principal
                && g.log == r.log
                && g.source_ip == r.source_ip
                && g.action == r.action
                && r.time_ms - g.last_ms <= GROUP_GAP_MS
                && (g.outcome == r.outcome
                    || g.outcome == Outcome::Pending
                    || r.outcome == Outcome::Pending)
                && (g.error_code == r.error_code || r.outcome == Outcome::Pending)
        });
        if !joins {
            out.push(Group {
                first_ms: r.time_ms,
                last_ms: r.time_ms,
                log: r.log.clone(),
                count: 0,
                principal: r.principal.clone(),
                source_ip: r.source_ip.clone(),
                action: r.action.clone(),
                outcome: r.outcome,
                error_code: r.error_code.clone(),
                resources: Vec::new(),
                more_resources: 0,
                alerts: Vec::new(),
                first_event: r.event_id.clone(),
            });
        }
        if !joins {
            tally.push((0, 0));
        }
        let (Some(g), Some(n)) = (out.last_mut(), tally.last_mut()) else {
            continue;
        };
        g.last_ms = r.time_ms;
        if r.outcome == Outcome::Pending {
            n.0 += 1;
        } else {
            n.1 += 1;
            if g.outcome == Outcome::Pending {
                g.outcome = r.outcome;
                g.error_code = r.error_code.clone();
            }
        }
        // Started and ended records of the same operations: count each operation once.
        g.count = n.0.max(n.1);
        for t in touched {
            let known = g.resources.iter().any(|x| x.eq_ignore_ascii_case(&t));
            if known {
                continue;
            }
            if g.resources.len() < GROUP_RESOURCES {
                g.resources.push(t);
            } else {
                g.more_resources += 1;
            }
        }
        for a in &r.alerts {
            if !g.alerts.contains(a) {
                g.alerts.push(a.clone());
            }
        }
    }
    out
}

fn row(e: &Event, alerts: &HashMap<String, Vec<String>>) -> Row {
    Row {
        time_ms: e.time_ms,
        event_id: e.event_id.clone(),
        log: crate::entra::log_name(e).to_string(),
        principal: e.principal.label().to_string(),
        source_ip: e.source_ip.clone(),
        region: e.region.clone(),
        action: e.action.clone(),
        outcome: e.outcome,
        error_code: e.error_code.clone(),
        alerts: alerts.get(&e.event_id).cloned().unwrap_or_default(),
    }
}

/// What an action did to its resources.
pub fn verb(e: &Event, req: &serde_json::Value) -> &'static str {
    match e.provider {
        trailwatch_model::Provider::Azure => return crate::azure::verb(e),
        trailwatch_model::Provider::Entra => return crate::entra::verb(&e.action),
        trailwatch_model::Provider::Aws => {}
    }
    let a = base_action(&e.action);
    let shares = req.pointer("/createVolumePermission/add").is_some()
        || req.pointer("/launchPermission/add").is_some()
        || a == "AddPermission";
    if shares {
        "shared"
    } else if e.read_only == Some(true)
        || ["Get", "List", "Describe", "Head"]
            .iter()
            .any(|p| a.starts_with(p))
    {
        "read"
    } else if ["Delete", "Terminate", "Remove", "Revoke", "Stop"]
        .iter()
        .any(|p| a.starts_with(p))
    {
        "deleted"
    } else if ["Create", "Run", "Authorize", "Add", "Attach"]
        .iter()
        .any(|p| a.starts_with(p))
    {
        "created"
    } else {
        "modified"
    }
}

/// The resources an event names: its ARNs, and S3 objects from the request.
fn names(e: &Event, req: &serde_json::Value) -> Vec<String> {
    let mut out = e.resources.clone();
    if let Some(b) = s(req, "/bucketName") {
        match s(req, "/key") {
            Some(k) => out.push(format!("s3://{b}/{k}")),
            None if out.is_empty() => out.push(format!("s3://{b}")),
            None => {}
        }
    }
    for o in req
        .pointer("/Delete/Object")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        if let (Some(b), Some(k)) = (s(req, "/bucketName"), o.get("Key").and_then(|k| k.as_str())) {
            out.push(format!("s3://{b}/{k}"));
        }
    }
    out
}

fn resources(scoped: &[&Event]) -> Vec<ResourceActivity> {
    let mut map: BTreeMap<String, ResourceActivity> = BTreeMap::new();
    for e in scoped.iter().filter(|e| e.outcome == Outcome::Success) {
        let v = raw(e);
        let req = v.get("requestParameters").cloned().unwrap_or_default();
        let bytes = v
            .pointer("/additionalEventData/bytesTransferredOut")
            .and_then(|b| b.as_f64())
            .unwrap_or(0.0);
        let verb = verb(e, &req);
        let settings = settings(e, &v, &req, verb);
        for name in names(e, &req) {
            let r = map.entry(name.clone()).or_insert_with(|| ResourceActivity {
                resource: name,
                first_event: e.event_id.clone(),
                ..ResourceActivity::default()
            });
            let acts = r.done.entry(verb.to_string()).or_default();
            if !acts.contains(&e.action) {
                acts.push(e.action.clone());
            }
            r.events += 1;
            r.bytes_out += bytes as u64;
            if let Some(s) = &settings {
                if !r.settings.contains(s) {
                    r.settings.push(s.clone());
                }
            }
        }
    }
    map.into_values().collect()
}

/// What a creation or change set, as compact JSON cut to [`SETTINGS_CHARS`].
fn settings(
    e: &Event,
    v: &serde_json::Value,
    req: &serde_json::Value,
    verb: &str,
) -> Option<String> {
    if !matches!(verb, "created" | "modified" | "shared") {
        return None;
    }
    let body = match e.provider {
        trailwatch_model::Provider::Azure => crate::azure::request_body(v),
        trailwatch_model::Provider::Entra => crate::entra::settings(e),
        trailwatch_model::Provider::Aws => req.clone(),
    };
    if body.is_null() || body.as_object().is_some_and(|m| m.is_empty()) {
        return None;
    }
    let text = body.to_string();
    Some(match text.char_indices().nth(SETTINGS_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    })
}

fn persistence(scoped: &[&Event]) -> Vec<Persistence> {
    scoped
        .iter()
        .filter(|e| e.outcome == Outcome::Success && is_persistence(&e.action))
        .map(|e| {
            let v = raw(e);
            let what = crate::entra::what(e)
                .or_else(|| v.get("requestParameters").cloned())
                .filter(|r| !r.is_null())
                .map(|r| r.to_string())
                .unwrap_or_else(|| e.resources.join(", "));
            Persistence {
                action: e.action.clone(),
                what,
                event_id: e.event_id.clone(),
                time_ms: e.time_ms,
            }
        })
        .collect()
}
