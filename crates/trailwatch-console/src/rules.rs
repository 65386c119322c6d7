//! The rules page: the rules loaded as `watch` resolves them ([`trailwatch_watch::rule_pack`],
//! read once when the console starts), each with its level and its hits over the last 7 days
//! from the alerts outbox, the configuration's suppressions with their expiry (read-only), and
//! the suppressions admins manage here ([`crate::suppressions`]).

use crate::html::{self, e};
use crate::routes::Ctx;
use crate::{AppState, ConsoleError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};
use trailwatch_watch::{RulePack, Suppression};

/// The period hits are counted over.
pub const HITS_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

/// One loaded rule.
#[derive(Debug, Clone, Serialize)]
pub struct LoadedRule {
    /// The id alerts carry (`rule_id`): the rule's id, else its title.
    pub id: String,
    pub title: String,
    pub level: String,
    /// `aws`, `azure` or `entra`.
    pub provider: &'static str,
    /// The file it came from (a built-in rule's name in the pack).
    pub file: String,
}

/// What the console knows of the rules: read once at start.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub rules: Vec<LoadedRule>,
    /// Rules that failed to load, with file and reason.
    pub failures: Vec<String>,
    pub suppressions: Vec<Suppression>,
}

impl Rules {
    /// The rules of a resolved pack and the configuration's suppressions.
    pub fn new(pack: &RulePack, suppressions: Vec<Suppression>) -> Rules {
        let mut rules = Vec::new();
        for (provider, set) in [
            ("aws", &pack.aws),
            ("azure", &pack.azure),
            ("entra", &pack.entra),
        ] {
            for (_, r) in set.rules() {
                rules.push(LoadedRule {
                    id: r.key().to_string(),
                    title: r.title.clone(),
                    level: r.level.as_str().to_string(),
                    provider,
                    file: r.path.display().to_string(),
                });
            }
        }
        rules.sort_by(|a, b| (a.provider, &a.id).cmp(&(b.provider, &b.id)));
        Rules {
            rules,
            failures: pack.failures().iter().map(|f| f.to_string()).collect(),
            suppressions,
        }
    }
}

/// Days in [`HITS_PERIOD`].
const DAYS: usize = 7;
const DAY_MS: i64 = 86_400_000;

/// Alerts and events of one rule over the period, and its alerts per day.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Hits {
    pub alerts: u64,
    pub events: u64,
    /// Alerts by the day (24 hours back from now) they were last seen, oldest first: the last
    /// element is the past 24 hours.
    pub by_day: [u64; DAYS],
}

/// Hits per rule id: the outbox's alerts last seen within [`HITS_PERIOD`] of `now`.
fn hits(app: &AppState, now: SystemTime) -> Result<BTreeMap<String, Hits>, ConsoleError> {
    let since = trailwatch_sink::fmt_time(now.checked_sub(HITS_PERIOD).unwrap_or(now));
    let now_ms = now_ms(now);
    let mut out: BTreeMap<String, Hits> = BTreeMap::new();
    for r in app.outbox()?.list(None)? {
        if r.alert.last_seen.as_str() >= since.as_str() {
            let h = out.entry(r.alert.rule_id.clone()).or_default();
            h.alerts += 1;
            h.events += r.alert.count;
            if let Some(t) = trailwatch_decode::time::parse_ms(&r.alert.last_seen) {
                let back = usize::try_from((now_ms - t).max(0) / DAY_MS).unwrap_or(DAYS);
                h.by_day[DAYS - 1 - back.min(DAYS - 1)] += 1;
            }
        }
    }
    Ok(out)
}

/// A rule's alerts per day as a small bar chart, with the numbers in its label.
fn sparkline(h: &Hits) -> String {
    let max = h.by_day.iter().copied().max().unwrap_or(0).max(1) as f64;
    let counts: Vec<String> = h.by_day.iter().map(u64::to_string).collect();
    let mut o = format!(
        r#"<svg role="img" aria-label="alerts per day, oldest first: {}" width="70" height="16" viewBox="0 0 70 16">"#,
        counts.join(", ")
    );
    for (i, n) in h.by_day.iter().enumerate() {
        let height = (*n as f64 / max * 14.0).round();
        let _ = write!(
            o,
            r##"<rect x="{}" y="{}" width="8" height="{}" fill="#0a58ca"/>"##,
            i * 10,
            15.0 - height,
            height.max(1.0)
        );
    }
    o.push_str("</svg>");
    o
}

pub(crate) fn expiry(s: &Suppression, now_ms: i64) -> &'static str {
    match s.expires_ms() {
        Some(t) if t >= now_ms => "active",
        Some(_) => "expired",
        None => "unreadable expiry",
    }
}

fn now_ms(now: SystemTime) -> i64 {
    now.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub async fn api(State(app): State<AppState>) -> Response {
    let now = SystemTime::now();
    let rules = app.rules();
    let hits = match hits(&app, now) {
        Ok(h) => h,
        Err(err) => {
            return crate::alerts::api_error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())
        }
    };
    let list: Vec<_> = rules
        .rules
        .iter()
        .map(|r| serde_json::json!({"rule": r, "hits_7d": hits.get(&r.id).copied().unwrap_or_default()}))
        .collect();
    let known: std::collections::HashSet<&str> =
        rules.rules.iter().map(|r| r.id.as_str()).collect();
    let other: BTreeMap<_, _> = hits
        .iter()
        .filter(|(k, _)| !known.contains(k.as_str()))
        .collect();
    let sup: Vec<_> = rules
        .suppressions
        .iter()
        .map(|s| {
            serde_json::json!({
                "rule": s.rule, "principal": s.principal, "cidr": s.cidr,
                "user_agent": s.user_agent, "account": s.account, "reason": s.reason,
                "expires": s.expires, "state": expiry(s, now_ms(now)),
            })
        })
        .collect();
    let managed = match crate::suppressions::managed(&app) {
        Ok(m) => m,
        Err(err) => {
            return crate::alerts::api_error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())
        }
    };
    Json(serde_json::json!({
        "rules": list,
        "other_hits_7d": other,
        "failures": rules.failures,
        "suppressions": sup,
        "managed_suppressions": crate::suppressions::json_rows(&managed, now_ms(now)),
    }))
    .into_response()
}

fn rules_table(rules: &Rules, hits: &BTreeMap<String, Hits>) -> String {
    let mut o = format!(
        r#"<table><caption>{} rules loaded, hits over the last 7 days</caption><thead><tr><th scope="col">Cloud</th><th scope="col">Rule</th><th scope="col">Title</th><th scope="col">Level</th><th scope="col">Alerts</th><th scope="col">Per day</th><th scope="col">Events</th><th scope="col">File</th></tr></thead><tbody>"#,
        rules.rules.len()
    );
    for r in &rules.rules {
        let h = hits.get(&r.id).copied().unwrap_or_default();
        let _ = write!(
            o,
            r#"<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td class="sev-{lvl}">{lvl}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            r.provider,
            html::href("/alerts", &[("rule", &r.id)]),
            e(&r.id),
            e(&r.title),
            h.alerts,
            sparkline(&h),
            h.events,
            e(&r.file),
            lvl = e(&r.level),
        );
    }
    o.push_str("</tbody></table>");
    o
}

fn suppressions_table(rules: &Rules, now_ms: i64) -> String {
    if rules.suppressions.is_empty() {
        return "<p>The configuration has no suppressions.</p>".into();
    }
    let mut o = String::from(
        r#"<table><caption>Suppressions of the configuration (changed in its file)</caption><thead><tr><th scope="col">Rule</th><th scope="col">Principal</th><th scope="col">Addresses</th><th scope="col">User agent</th><th scope="col">Account</th><th scope="col">Reason</th><th scope="col">Expires</th><th scope="col">State</th></tr></thead><tbody>"#,
    );
    let opt = |v: &Option<String>| e(v.as_deref().unwrap_or("-"));
    for s in &rules.suppressions {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            opt(&s.rule),
            opt(&s.principal),
            opt(&s.cidr),
            opt(&s.user_agent),
            opt(&s.account),
            e(&s.reason),
            e(&s.expires),
            expiry(s, now_ms)
        );
    }
    o.push_str("</tbody></table>");
    o
}

pub async fn page(State(app): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    let now = SystemTime::now();
    let rules = app.rules();
    let hits = match hits(&app, now) {
        Ok(h) => h,
        Err(err) => return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    };
    let mut body = rules_table(rules, &hits);
    let known: std::collections::HashSet<&str> =
        rules.rules.iter().map(|r| r.id.as_str()).collect();
    let other: String = hits
        .iter()
        .filter(|(k, _)| !known.contains(k.as_str()))
        .map(|(k, h)| {
            format!(
                "<li>{}: {} alerts, {} events</li>",
                e(k),
                h.alerts,
                h.events
            )
        })
        .collect();
    if !other.is_empty() {
        let _ = write!(
            body,
            "<h2>Other detectors (chains, baselines)</h2><ul>{other}</ul>"
        );
    }
    if !rules.failures.is_empty() {
        body.push_str("<h2>Rules not loaded</h2>");
        body.push_str("<ul>");
        for f in &rules.failures {
            let _ = write!(body, "<li>{}</li>", e(f));
        }
        body.push_str("</ul>");
    }
    body.push_str(r#"<h2 id="suppressions">Suppressions</h2>"#);
    body.push_str(&suppressions_table(rules, now_ms(now)));
    match crate::suppressions::managed(&app) {
        Ok(m) => body.push_str(&crate::suppressions::section(&ctx, &m, now_ms(now))),
        Err(err) => {
            let _ = write!(
                body,
                r#"<p class="error" role="alert">{}</p>"#,
                e(&err.to_string())
            );
        }
    }
    html::page(&ctx, "Rules", &body)
}
