//! Whether the logs can tell what was read: for each S3 bucket and DynamoDB table an incident
//! touched, whether CloudTrail data events naming it were recorded while the incident lasted.
//! Data events (object reads and writes, item reads) are off by default and billed, so most
//! trails lack them; without them a report listing no reads would be wrong, not reassuring.

use crate::scope::{raw, s};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use trailwatch_model::{Event, Provider};

/// One bucket or table in scope and the data events seen for it.
#[derive(Debug, Clone, Serialize)]
pub struct DataEventCoverage {
    /// `s3://bucket`, or the table's ARN (`arn:aws:dynamodb:…:table/NAME`).
    pub resource: String,
    /// Data events naming it, by anyone, between the incident's first and last event.
    pub data_events: usize,
}

impl DataEventCoverage {
    /// Whether its reads and writes during the incident are in the logs.
    pub fn recorded(&self) -> bool {
        self.data_events > 0
    }

    /// What the logs can tell about it, in a sentence.
    pub fn meaning(&self) -> &'static str {
        if self.recorded() {
            "data events were recorded: object and item reads during the incident are in the logs"
        } else {
            "no data events were recorded: object and item reads during the incident cannot be known from these logs"
        }
    }
}

/// Whether a CloudTrail record is a data event (`eventCategory` `Data`, or an older record's
/// `managementEvent: false`).
fn is_data_event(v: &Value) -> bool {
    s(v, "/eventCategory").is_some_and(|c| c.eq_ignore_ascii_case("Data"))
        || v.get("managementEvent").and_then(Value::as_bool) == Some(false)
}

/// The buckets and tables an AWS event names.
fn stores_named(e: &Event, v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(b) = s(v, "/requestParameters/bucketName") {
        out.push(format!("s3://{b}"));
    }
    for r in &e.resources {
        if let Some(rest) = r.strip_prefix("arn:aws:s3:::") {
            let bucket = rest.split('/').next().unwrap_or(rest);
            if !bucket.is_empty() {
                out.push(format!("s3://{bucket}"));
            }
        } else if r.starts_with("arn:aws:dynamodb:") {
            if let Some(at) = r.find(":table/") {
                let name_end = r[at + 7..].find('/').map_or(r.len(), |i| at + 7 + i);
                out.push(r[..name_end].to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// For each bucket and table the scoped events touched, the data events naming it between
/// `first_ms` and `last_ms` among all `events`.
pub(crate) fn data_event_coverage(
    events: &[Event],
    scoped: &[&Event],
    span: Option<(i64, i64)>,
) -> Vec<DataEventCoverage> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for e in scoped.iter().filter(|e| e.provider == Provider::Aws) {
        for name in stores_named(e, &raw(e)) {
            seen.entry(name).or_insert(0);
        }
    }
    let Some((first, last)) = span else {
        return Vec::new();
    };
    if seen.is_empty() {
        return Vec::new();
    }
    let during = events
        .iter()
        .filter(|e| e.provider == Provider::Aws && (first..=last).contains(&e.time_ms));
    for e in during {
        let v = raw(e);
        if !is_data_event(&v) {
            continue;
        }
        for name in stores_named(e, &v) {
            if let Some(n) = seen.get_mut(&name) {
                *n += 1;
            }
        }
    }
    seen.into_iter()
        .map(|(resource, data_events)| DataEventCoverage {
            resource,
            data_events,
        })
        .collect()
}
