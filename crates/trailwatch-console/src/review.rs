//! The daily review: what one day (UTC) brought, for someone to look at every morning. One
//! function builds it ([`build`]); the console renders it as a page ([`render_html`]),
//! `trailwatch review` as text ([`render_text`]), and `watch` sends both as a report through
//! its sinks each morning ([`report`], `[review]` in the watch configuration).

use crate::db::{AuditEntry, ConsoleDb};
use crate::html::e;
use crate::query::{rows_of, table, Rows, MAX_ROWS};
use crate::ConsoleError;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};
use trailwatch_query::{Query, RunLimits};

const DAY_MS: i64 = 86_400_000;

/// One part of the review: a title, what it means, and its rows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Section {
    pub title: &'static str,
    pub about: &'static str,
    pub rows: Rows,
}

/// A day's review.
#[derive(Debug, serde::Serialize)]
pub struct Review {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Alerts first stored that day: id, severity, state, title, principal.
    pub new_alerts: Rows,
    pub sections: Vec<Section>,
    /// What the analysts did in the console that day.
    pub analysts: Vec<AuditEntry>,
}

/// The first millisecond of `day` (`YYYY-MM-DD`).
pub fn day_start(day: &str) -> Result<i64, ConsoleError> {
    let ok = day.len() == 10 && day.as_bytes()[4] == b'-' && day.as_bytes()[7] == b'-';
    ok.then(|| trailwatch_decode::time::parse_ms(&format!("{day}T00:00:00Z")))
        .flatten()
        .ok_or_else(|| ConsoleError::BadRequest(format!("day {day:?}: expected YYYY-MM-DD")))
}

/// Yesterday (UTC) as `YYYY-MM-DD`, from `now_ms`.
pub fn yesterday(now_ms: i64) -> String {
    trailwatch_model::time::format_ms(now_ms - DAY_MS)[..10].to_string()
}

/// Services whose changes the review lists: logging, detection and configuration recording.
const WATCHED_AWS: &str = "('cloudtrail.amazonaws.com', 'config.amazonaws.com', \
     'guardduty.amazonaws.com', 'securityhub.amazonaws.com', 'access-analyzer.amazonaws.com', \
     'macie2.amazonaws.com', 'detective.amazonaws.com', 'logs.amazonaws.com')";

fn first_seen(column: &str, tf: &str, day: &str) -> String {
    format!(
        "SELECT {column}, min(time) AS first_seen, count(*) AS events FROM events \
         WHERE {tf} AND {column} IS NOT NULL AND {column} <> '' AND {column} NOT IN \
         (SELECT DISTINCT {column} FROM events WHERE dt < '{day}' AND {column} IS NOT NULL) \
         GROUP BY {column} ORDER BY first_seen, {column}"
    )
}

fn sections(tf: &str, day: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("New principals", "acting for the first time in the store", first_seen("principal", tf, day)),
        ("New access keys", "used for the first time", first_seen("access_key", tf, day)),
        ("New regions", "with activity for the first time", first_seen("region", tf, day)),
        ("New source addresses", "calling for the first time", first_seen("source_ip", tf, day)),
        (
            "Failed sign-ins",
            "console and Entra ID sign-ins that failed",
            format!(
                "SELECT time, principal, source_ip, action, error_code FROM events WHERE {tf} \
                 AND outcome = 'failure' AND action IN ('ConsoleLogin', '{}') ORDER BY time",
                trailwatch_decode::entra::SIGN_IN_OPERATION
            ),
        ),
        (
            "Root sign-ins",
            "the AWS root user signing in",
            format!(
                "SELECT time, account, source_ip, outcome FROM events WHERE {tf} \
                 AND principal_type = 'Root' AND action = 'ConsoleLogin' ORDER BY time"
            ),
        ),
        (
            "Changes to logging and security services",
            "writes to CloudTrail, Config, GuardDuty, Security Hub, Access Analyzer, Macie, \
             Detective, CloudWatch Logs, Azure diagnostic settings, activity-log alerts and Defender",
            format!(
                "SELECT time, principal, action, outcome, account FROM events WHERE {tf} \
                 AND (read_only IS NULL OR read_only = false) AND action NOT LIKE '%/read' \
                 AND (service IN {WATCHED_AWS} \
                      OR action LIKE 'Microsoft.Insights/diagnosticSettings/%' \
                      OR action LIKE 'Microsoft.Insights/activityLogAlerts/%' \
                      OR action LIKE 'Microsoft.Security/%') ORDER BY time"
            ),
        ),
    ]
}

/// The review of `day` in the store at `store_dir`.
pub fn build(store_dir: &Path, query: &Query, day: &str) -> Result<Review, ConsoleError> {
    let out = store_sections(query, day)?;
    with_sections(store_dir, day, out)
}

/// The sections read from the store's events: they change only when the store does.
pub fn store_sections(query: &Query, day: &str) -> Result<Vec<Section>, ConsoleError> {
    let since = day_start(day)?;
    let until = since + DAY_MS - 1;
    let tf = Query::time_filter_sql(since, until);
    let limits = RunLimits {
        timeout: REVIEW_TIME_LIMIT,
        max_rows: MAX_ROWS,
    };
    let mut out = Vec::new();
    for (title, about, sql) in sections(&tf, day) {
        let rows = rows_of(&query.sql_limited(&sql, limits)?)?;
        out.push(Section { title, about, rows });
    }
    // Gaps over the day and the day before, so a delivery that stopped at midnight shows.
    let coverage =
        rows_of(&query.sql_limited(&crate::coverage::sql(since - DAY_MS, until), limits)?)?;
    out.push(Section {
        title: "Coverage gaps",
        about: "accounts and regions whose regular delivery fell silent for 3 hours or more \
                (over this day and the one before)",
        rows: crate::coverage::gaps(&crate::coverage::cells(&coverage, until)),
    });
    Ok(out)
}

/// The review of `day` from its store sections, with the alerts stored that day and what the
/// analysts did (read now: they change as analysts work).
pub fn with_sections(
    store_dir: &Path,
    day: &str,
    out: Vec<Section>,
) -> Result<Review, ConsoleError> {
    let since = day_start(day)?;
    let until = since + DAY_MS - 1;
    let in_day = |t: std::time::SystemTime| {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        (since..=until).contains(&ms)
    };
    let mut alerts = Vec::new();
    if trailwatch_watch::outbox_path(store_dir).is_file() {
        for r in trailwatch_watch::open_outbox(store_dir)?.list(None)? {
            if in_day(r.created_at) {
                let a = &r.alert;
                alerts.push(vec![
                    a.id.clone().into(),
                    a.severity.as_str().into(),
                    r.state.as_str().into(),
                    a.title.clone().into(),
                    a.principal.clone().into(),
                ]);
            }
        }
    }
    let analysts = ConsoleDb::open(store_dir)?.audit_between(since, until)?;
    Ok(Review {
        day: day.to_string(),
        new_alerts: Rows {
            columns: ["id", "severity", "state", "title", "principal"]
                .map(String::from)
                .to_vec(),
            rows: alerts,
            truncated: false,
        },
        sections: out,
        analysts,
    })
}

fn text_cell(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    trailwatch_escape::terminal(&s).into_owned()
}

fn text_rows(o: &mut String, rows: &Rows) {
    if rows.rows.is_empty() {
        o.push_str("  none\n");
        return;
    }
    for row in &rows.rows {
        let cells: Vec<String> = row.iter().map(text_cell).collect();
        let _ = writeln!(o, "  {}", cells.join("  "));
    }
    if rows.truncated {
        let _ = writeln!(o, "  (cut at {MAX_ROWS} rows)");
    }
}

/// The review as plain text (every value escaped for a terminal).
pub fn render_text(r: &Review) -> String {
    let mut o = format!(
        "Daily review of {} (UTC)\n\nNew alerts: {}\n",
        r.day,
        r.new_alerts.rows.len()
    );
    text_rows(&mut o, &r.new_alerts);
    for s in &r.sections {
        let _ = writeln!(o, "\n{}: {} ({})", s.title, s.rows.rows.len(), s.about);
        text_rows(&mut o, &s.rows);
    }
    let _ = writeln!(o, "\nWhat the analysts did: {}", r.analysts.len());
    if r.analysts.is_empty() {
        o.push_str("  none\n");
    }
    for a in &r.analysts {
        let _ = writeln!(
            o,
            "  {}  {}  {}  {}",
            a.at,
            trailwatch_escape::terminal(&a.who),
            trailwatch_escape::terminal(&a.action),
            trailwatch_escape::terminal(&a.target)
        );
    }
    o
}

/// The review as the body of a console page (every value escaped for HTML): a form to pick
/// the day, then [`render_sections_html`].
pub fn render_html(r: &Review) -> String {
    format!(
        r#"<form class="filters" method="get" action="/review"><label>Day (UTC) <input name="day" value="{}"></label><button type="submit">Show</button></form>{}"#,
        e(&r.day),
        render_sections_html(r)
    )
}

/// The review's sections as HTML, every value escaped: the page's content without its form
/// (what the mail of [`report`] carries).
pub fn render_sections_html(r: &Review) -> String {
    let mut o = format!("<h2>New alerts ({})</h2>", r.new_alerts.rows.len());
    o.push_str(&table(&r.new_alerts));
    for s in &r.sections {
        let _ = write!(
            o,
            "<h2>{} ({})</h2><p>{}.</p>{}",
            s.title,
            s.rows.rows.len(),
            e(s.about),
            table(&s.rows)
        );
    }
    let _ = write!(
        o,
        "<h2>What the analysts did ({})</h2><ul>",
        r.analysts.len()
    );
    for a in &r.analysts {
        let _ = write!(
            o,
            "<li>{} · {} · {} · {}</li>",
            e(&a.at),
            e(&a.who),
            e(&a.action),
            e(&a.target)
        );
    }
    o.push_str("</ul>");
    o
}

/// The review of `day` in the store at `store_dir` as the report `watch` sends through its
/// sinks each morning (`[review]`): the text of `trailwatch review` and the page's sections
/// as HTML. The store is opened afresh, so the review sees what the watch just stored.
pub fn report(store_dir: &Path, day: &str) -> Result<trailwatch_sink::Report, ConsoleError> {
    let query = Query::open(store_dir)?;
    let r = build(store_dir, &query, day)?;
    Ok(trailwatch_sink::Report {
        id: format!("review-{}", r.day),
        subject: format!("Daily review of {} (UTC)", r.day),
        text: render_text(&r),
        html: render_sections_html(&r),
    })
}

/// How long a review may take (it reads the day and everything before it once per section).
pub const REVIEW_TIME_LIMIT: Duration = Duration::from_secs(30);

#[derive(Debug, Default, serde::Deserialize)]
pub struct DayParam {
    pub day: Option<String>,
}

async fn review_of(app: &crate::AppState, day: Option<String>) -> Result<Review, ConsoleError> {
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let day = day
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| yesterday(now));
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let day = day.trim();
        let (seq, hash) = app.store_head()?;
        let key = (day.to_string(), seq, hash);
        let cached = {
            let slot = app.0.reviews.lock().unwrap_or_else(|p| p.into_inner());
            slot.as_ref()
                .filter(|(k, _)| *k == key)
                .map(|(_, s)| s.clone())
        };
        let sections = match cached {
            Some(s) => s,
            None => {
                let s = store_sections(app.query()?.as_ref(), day)?;
                *app.0.reviews.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, s.clone()));
                s
            }
        };
        with_sections(&app.0.store_dir, day, sections)
    })
    .await
    .map_err(|e| ConsoleError::BadRequest(format!("review task: {e}")))?
}

fn status_of(err: &ConsoleError) -> axum::http::StatusCode {
    match err {
        ConsoleError::BadRequest(_) => axum::http::StatusCode::BAD_REQUEST,
        _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub async fn page(
    axum::extract::State(app): axum::extract::State<crate::AppState>,
    axum::Extension(ctx): axum::Extension<crate::routes::Ctx>,
    axum::extract::Query(p): axum::extract::Query<DayParam>,
) -> axum::response::Response {
    match review_of(&app, p.day).await {
        Ok(r) => crate::html::page(
            &ctx,
            &format!("Daily review of {}", r.day),
            &render_html(&r),
        ),
        Err(err) => crate::html::error_page(status_of(&err), &err.to_string()),
    }
}

pub async fn api(
    axum::extract::State(app): axum::extract::State<crate::AppState>,
    axum::extract::Query(p): axum::extract::Query<DayParam>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match review_of(&app, p.day).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(err) => crate::alerts::api_error(status_of(&err), &err.to_string()),
    }
}
