//! The overview: what happened in a period (24 hours by default): events per hour per
//! provider (an SVG chart drawn here), the coverage map of accounts × regions with their last
//! event and gaps ([`crate::coverage`]), alerts by severity and state, the busiest principals
//! and actions, failures and denied calls, and the posture checks' last results. A provider,
//! account and region narrow every part but the alerts and posture to that slice. An overview
//! serves again for a minute while the store is unchanged ([`OverviewCache`]).

use crate::html::{self, e};
use crate::query::{run_all, table, Rows};
use crate::routes::Ctx;
use crate::{AppState, ConsoleError};
use axum::extract::{Query as UrlQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use trailwatch_model::Severity;
use trailwatch_sink::AlertState;

const HOUR_MS: i64 = 3_600_000;
/// The longest period shown: 31 days.
const MAX_HOURS: i64 = 31 * 24;

#[derive(Debug, Default, Clone, PartialEq, Eq, Hash, serde::Deserialize)]
pub struct Period {
    /// Hours back from now (default 24).
    pub hours: Option<i64>,
    /// Only this provider, account, region (each optional; an empty value means "none").
    pub provider: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Period {
    /// The SQL condition of the slice (`TRUE` when none is given), every value a literal.
    fn slice_sql(&self) -> String {
        let mut parts = vec!["TRUE".to_string()];
        if let Some(p) = &self.provider {
            parts.push(format!("provider = {}", trailwatch_query::sql_string(p)));
        }
        for (column, value) in [("account", &self.account), ("region", &self.region)] {
            if let Some(v) = value {
                parts.push(format!(
                    "coalesce({column}, '') = {}",
                    trailwatch_query::sql_string(v)
                ));
            }
        }
        parts.join(" AND ")
    }

    /// The slice in words, escaped, or `None` for the whole store.
    fn slice_html(&self) -> Option<String> {
        let parts: Vec<String> = [
            ("provider", &self.provider),
            ("account", &self.account),
            ("region", &self.region),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} <code>{}</code>", e(v))))
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Everything the overview shows, for the page and for `/api/v1/overview`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Overview {
    pub since: String,
    pub until: String,
    /// Events per provider and hour (hours since the epoch).
    pub per_hour: Rows,
    /// Accounts × regions: events, last event, gaps.
    pub coverage: Vec<crate::coverage::Cell>,
    /// Alerts seen in the period or not yet resolved: severity → state → count.
    pub alerts: BTreeMap<String, BTreeMap<String, u64>>,
    pub top_principals: Rows,
    pub top_actions: Rows,
    pub failures: Rows,
    pub denied: Rows,
    pub posture: Vec<serde_json::Value>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The error codes of calls refused for want of permission, on AWS and Azure.
const DENIED: &str = "(error_code LIKE '%AccessDenied%' OR error_code LIKE '%Unauthorized%' \
     OR error_code LIKE '%Forbidden%' OR error_code = 'AuthorizationFailed')";

fn statements(since_ms: i64, until_ms: i64, slice: &str) -> Vec<String> {
    let tf = format!(
        "{} AND {slice}",
        trailwatch_query::Query::time_filter_sql(since_ms, until_ms)
    );
    vec![
        crate::coverage::sql(since_ms, until_ms).replace(
            "FROM events WHERE ",
            &format!("FROM events WHERE {slice} AND "),
        ),
        format!(
            "SELECT provider, CAST(time AS BIGINT) / {HOUR_MS} AS hour, count(*) AS events \
             FROM events WHERE {tf} GROUP BY 1, 2 ORDER BY 2, 1"
        ),
        format!(
            "SELECT principal, count(*) AS events FROM events WHERE {tf} \
             GROUP BY principal ORDER BY events DESC, principal LIMIT 10"
        ),
        format!(
            "SELECT action, count(*) AS events FROM events WHERE {tf} \
             GROUP BY action ORDER BY events DESC, action LIMIT 10"
        ),
        format!(
            "SELECT principal, action, count(*) AS failures FROM events WHERE {tf} \
             AND outcome = 'failure' GROUP BY 1, 2 ORDER BY failures DESC, 1, 2 LIMIT 10"
        ),
        format!(
            "SELECT principal, action, error_code, count(*) AS denied FROM events WHERE {tf} \
             AND {DENIED} GROUP BY 1, 2, 3 ORDER BY denied DESC, 1, 2 LIMIT 10"
        ),
    ]
}

fn alert_counts(
    app: &AppState,
    since: &str,
) -> Result<BTreeMap<String, BTreeMap<String, u64>>, ConsoleError> {
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in app.outbox()?.list(None)? {
        if r.alert.last_seen.as_str() >= since || r.state != AlertState::Resolved {
            *counts
                .entry(r.alert.severity.as_str().to_string())
                .or_default()
                .entry(r.state.as_str().to_string())
                .or_default() += 1;
        }
    }
    Ok(counts)
}

/// How long an overview serves again for the same period and slice while the store is
/// unchanged: a dashboard reloaded by several analysts reads the day's events once a minute,
/// not on every load (its chart is by the hour).
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Overviews kept (periods × slices).
const CACHE_ENTRIES: usize = 32;

/// One kept overview: its period and slice, the ledger head's seq, when it was made.
type Kept = (Period, u64, std::time::Instant, Arc<Overview>);

/// Overviews made lately, by period, slice and the store's ledger head (their alert counts and
/// posture are read again on each use).
#[derive(Default)]
pub struct OverviewCache {
    entries: std::sync::Mutex<Vec<Kept>>,
}

impl OverviewCache {
    fn get(&self, p: &Period, head: u64) -> Option<Arc<Overview>> {
        let mut e = self.entries.lock().unwrap_or_else(|x| x.into_inner());
        e.retain(|(_, _, made, _)| made.elapsed() < CACHE_TTL);
        e.iter()
            .find(|(q, h, _, _)| q == p && *h == head)
            .map(|(_, _, _, o)| o.clone())
    }

    fn put(&self, p: Period, head: u64, o: Arc<Overview>) {
        let mut e = self.entries.lock().unwrap_or_else(|x| x.into_inner());
        e.retain(|(q, _, _, _)| *q != p);
        if e.len() >= CACHE_ENTRIES {
            e.remove(0);
        }
        e.push((p, head, std::time::Instant::now(), o));
    }
}

/// The overview of a period and slice: made within the last minute at the same ledger head,
/// or made now ([`build`]).
async fn overview(app: &AppState, p: &Period) -> Result<Arc<Overview>, ConsoleError> {
    let state = app.clone();
    let head = tokio::task::spawn_blocking(move || state.store_head().map(|(seq, _)| seq))
        .await
        .map_err(|e| ConsoleError::BadRequest(format!("store task: {e}")))??;
    if let Some(o) = app.0.overviews.get(p, head) {
        // The store's part is kept; the alerts' states and the posture are read now.
        let mut fresh = (*o).clone();
        fresh.alerts = alert_counts(app, &fresh.since)?;
        fresh.posture = posture(app)?;
        return Ok(Arc::new(fresh));
    }
    let o = Arc::new(build(app, p).await?);
    app.0.overviews.put(p.clone(), head, o.clone());
    Ok(o)
}

async fn build(app: &AppState, p: &Period) -> Result<Overview, ConsoleError> {
    let hours = p.hours.unwrap_or(24).clamp(1, MAX_HOURS);
    let until_ms = now_ms();
    let since_ms = until_ms - hours * HOUR_MS;
    let since = trailwatch_model::time::format_ms(since_ms);
    let mut results = run_all(app, statements(since_ms, until_ms, &p.slice_sql()))
        .await?
        .into_iter();
    let mut next = || {
        results
            .next()
            .ok_or_else(|| ConsoleError::BadRequest("missing result".into()))
    };
    let coverage = crate::coverage::cells(&next()?, until_ms);
    let per_hour = next()?;
    let top_principals = next()?;
    let top_actions = next()?;
    let failures = next()?;
    let denied = next()?;
    Ok(Overview {
        alerts: alert_counts(app, &since)?,
        since,
        until: trailwatch_model::time::format_ms(until_ms),
        per_hour,
        coverage,
        top_principals,
        top_actions,
        failures,
        denied,
        posture: posture(app)?,
    })
}

/// The posture checks' last results (the watch's state: not cached).
fn posture(app: &AppState) -> Result<Vec<serde_json::Value>, ConsoleError> {
    Ok(trailwatch_watch::state::posture_results(&app.0.store_dir)?
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "check": p.check_key, "status": p.status,
                "checked": trailwatch_model::time::format_ms(p.checked_ms),
            })
        })
        .collect())
}

pub async fn api(State(app): State<AppState>, UrlQuery(p): UrlQuery<Period>) -> Response {
    match overview(&app, &p).await {
        Ok(o) => Json(o.as_ref()).into_response(),
        Err(err) => crate::alerts::api_error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

/// Provider colours of the chart (and its legend).
const COLOURS: [(&str, &str); 3] = [
    ("aws", "#c45500"),
    ("azure", "#0a58ca"),
    ("entra", "#1a7f37"),
];

/// Events per hour per provider as an SVG line chart, with a title and a description for
/// screen readers; the same numbers are in the JSON.
pub fn chart(per_hour: &Rows, since_ms: i64, until_ms: i64) -> String {
    let (w, h, pad) = (720.0_f64, 160.0_f64, 4.0_f64);
    let first = since_ms / HOUR_MS;
    let buckets = (until_ms / HOUR_MS - first + 1).max(1) as usize;
    let mut series: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in &per_hour.rows {
        let provider = row
            .first()
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let hour = row
            .get(1)
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(first);
        let n = row.get(2).and_then(serde_json::Value::as_u64).unwrap_or(0);
        let i = usize::try_from(hour - first).unwrap_or(0).min(buckets - 1);
        series.entry(provider).or_insert_with(|| vec![0; buckets])[i] += n;
    }
    let max = series.values().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let total: u64 = series.values().flatten().sum();
    let mut svg = format!(
        r##"<svg role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 {w} {h}" width="{w}" height="{h}"><title id="chart-title">Events per hour by provider</title><desc id="chart-desc">{total} events in {buckets} hours; the busiest hour had {} events.</desc><rect x="0" y="0" width="{w}" height="{h}" fill="#f6f8fa"/>"##,
        max as u64
    );
    let step = if buckets > 1 {
        (w - 2.0 * pad) / (buckets - 1) as f64
    } else {
        0.0
    };
    for (provider, counts) in &series {
        let colour = COLOURS
            .iter()
            .find(|(p, _)| *p == provider.as_str())
            .map_or("#57606a", |(_, c)| c);
        let points: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let x = pad + step * i as f64;
                let y = h - pad - (*n as f64 / max) * (h - 2.0 * pad);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            points.join(" "),
            e(provider)
        );
    }
    svg.push_str("</svg>");
    let legend: String = series
        .iter()
        .map(|(p, c)| {
            let colour = COLOURS.iter().find(|(q, _)| *q == p.as_str()).map_or("#57606a", |(_, c)| c);
            format!(
                r#"<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{colour}"/></svg> {}: {} events</li>"#,
                e(p),
                c.iter().sum::<u64>()
            )
        })
        .collect();
    format!(r#"<figure>{svg}<figcaption><ul class="legend">{legend}</ul></figcaption></figure>"#)
}

fn alerts_table(counts: &BTreeMap<String, BTreeMap<String, u64>>) -> String {
    let states = ["open", "acked", "resolved"];
    let mut o = String::from(
        r#"<table><caption>Alerts seen in the period or not yet resolved</caption><thead><tr><th scope="col">Severity</th>"#,
    );
    for s in states {
        let _ = write!(o, r#"<th scope="col">{s}</th>"#);
    }
    o.push_str("</tr></thead><tbody>");
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ] {
        let row = counts.get(sev.as_str());
        let _ = write!(o, r#"<tr><th scope="row">{}</th>"#, sev.as_str());
        for s in states {
            let n = row.and_then(|r| r.get(s)).copied().unwrap_or(0);
            let link = html::href("/alerts", &[("severity", sev.as_str()), ("state", s)]);
            let _ = write!(o, r#"<td><a href="{link}">{n}</a></td>"#);
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
    o
}

pub async fn page(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    UrlQuery(p): UrlQuery<Period>,
) -> Response {
    let hours = p.hours.unwrap_or(24).clamp(1, MAX_HOURS);
    let o = match overview(&app, &p).await {
        Ok(o) => o,
        Err(err) => return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    };
    let since_ms = trailwatch_decode::time::parse_ms(&o.since).unwrap_or(0);
    let until_ms = trailwatch_decode::time::parse_ms(&o.until).unwrap_or(0);
    let mut body = format!(
        r#"<p>From {} to {} (UTC). <a href="/?hours=24">24 hours</a> · <a href="/?hours=168">7 days</a> · <a href="/?hours=720">30 days</a></p>"#,
        e(&o.since),
        e(&o.until),
    );
    if let Some(slice) = p.slice_html() {
        let all = html::href("/", &[("hours", &hours.to_string())]);
        let _ = write!(
            body,
            r#"<p>Only {slice}. <a href="{all}">The whole store</a>.</p>"#
        );
    }
    let _ = write!(
        body,
        "<h2>Events</h2>{}<h2>Coverage</h2>{}",
        chart(&o.per_hour, since_ms, until_ms),
        crate::coverage::map(&o.coverage, hours)
    );
    body.push_str(&alerts_table(&o.alerts));
    for (title, rows) in [
        ("Busiest principals", &o.top_principals),
        ("Busiest actions", &o.top_actions),
        ("Failures", &o.failures),
        ("Denied calls", &o.denied),
    ] {
        let _ = write!(body, "<h2>{title}</h2>{}", table(rows));
    }
    body.push_str("<h2>Posture</h2>");
    if o.posture.is_empty() {
        body.push_str("<p>No posture results: the watch's <code>[posture]</code> checks have not run on this store.</p>");
    } else {
        body.push_str(r#"<table><thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Checked</th></tr></thead><tbody>"#);
        for p in &o.posture {
            let f = |k: &str| e(p[k].as_str().unwrap_or(""));
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                f("check"),
                f("status"),
                f("checked")
            );
        }
        body.push_str("</tbody></table>");
    }
    html::page(&ctx, "Overview", &body)
}
