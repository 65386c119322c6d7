//! Test support: a `serde_json::Value`-backed `FieldSource` and rule helpers.
#![allow(dead_code)]

use serde_json::Value;
use std::sync::Arc;
use trailwatch_model::{FieldPath, FieldSource, FieldValue};
use trailwatch_sigma::{load_str, Rule};

/// An event over a JSON value: dotted paths, arrays expanded, keys that contain dots found by
/// joining segments. Time comes from `_time_ms` or `eventTime` (`YYYY-MM-DDTHH:MM:SS[.fff]Z`).
pub struct JsonEvent(pub Value);

impl JsonEvent {
    pub fn new(v: Value) -> Self {
        JsonEvent(v)
    }
}

fn visit_leaf(v: &Value, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
    match v {
        Value::Null => visit(&FieldValue::Null),
        Value::Bool(b) => visit(&FieldValue::Bool(*b)),
        Value::Number(n) => visit(&FieldValue::Number(n.to_string().into())),
        Value::String(s) => visit(&FieldValue::Str(s.as_str().into())),
        Value::Array(a) => a.iter().any(|e| visit_leaf(e, visit)),
        Value::Object(_) => visit(&FieldValue::Composite(v.to_string().into())),
    }
}

fn visit_path(
    v: &Value,
    segs: &[Box<str>],
    visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
) -> bool {
    if segs.is_empty() {
        return visit_leaf(v, visit);
    }
    match v {
        Value::Array(a) => a.iter().any(|e| visit_path(e, segs, visit)),
        Value::Object(m) => {
            for k in 1..=segs.len() {
                let key = segs[..k].join(".");
                if let Some(child) = m.get(&key) {
                    if visit_path(child, &segs[k..], visit) {
                        return true;
                    }
                }
            }
            false
        }
        _ => false,
    }
}

fn visit_all(v: &Value, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
    match v {
        Value::Array(a) => a.iter().any(|e| visit_all(e, visit)),
        Value::Object(m) => m.values().any(|e| visit_all(e, visit)),
        other => visit_leaf(other, visit),
    }
}

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(n(0..4)?, n(5..7)?, n(8..10)?);
    let secs = days * 86_400 + n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?;
    let mut ms = 0;
    if b[19] == b'.' {
        let frac: String = s[20..].chars().take_while(|c| c.is_ascii_digit()).collect();
        let f3: String = format!("{frac:0<3}").chars().take(3).collect();
        ms = f3.parse().ok()?;
    }
    Some(secs * 1000 + ms)
}

impl FieldSource for JsonEvent {
    fn visit_field(
        &self,
        path: &FieldPath,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> bool {
        visit_path(&self.0, path.segments(), visit)
    }

    fn visit_all_values(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        visit_all(&self.0, visit)
    }

    fn time_ms(&self) -> Option<i64> {
        if let Some(t) = self.0.get("_time_ms").and_then(Value::as_i64) {
            return Some(t);
        }
        self.0
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(parse_time)
    }
}

/// Compiles a one-rule document whose `detection:` block is `detection` (indented YAML body).
pub fn try_rule(detection: &str) -> Result<Arc<Rule>, String> {
    let mut text = String::from(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: aws\n  service: cloudtrail\nlevel: high\ndetection:\n",
    );
    for line in detection.lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    let report = load_str(&text, "inline.yml");
    if let Some(f) = report.failures.first() {
        return Err(f.error.to_string());
    }
    report
        .rules
        .first()
        .cloned()
        .ok_or_else(|| "no rule".to_string())
}

pub fn rule(detection: &str) -> Arc<Rule> {
    match try_rule(detection) {
        Ok(r) => r,
        Err(e) => panic!("rule failed to compile: {e}\n{detection}"),
    }
}

pub fn ev(v: Value) -> JsonEvent {
    JsonEvent(v)
}
