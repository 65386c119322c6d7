//! Search and SQL over the store, read-only, under a row and a time limit: pages, JSON and a
//! CSV download. The SQL runs through `trailwatch-query` (DDL, DML and `COPY` refused there).

use crate::html::{self, csrf_field, e, href};
use crate::pages::{field, form_fields};
use crate::routes::Ctx;
use crate::{AppState, ConsoleError};
use axum::body::Bytes;
use axum::extract::{Query as UrlQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::fmt::Write as _;
use std::time::Duration;
use trailwatch_query::{Capped, RunLimits, SearchFilter};

/// Rows a console query returns at most.
pub const MAX_ROWS: usize = 1000;
/// How long a console query may run.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// A result as text cells: column names, rows, and whether rows were cut.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub truncated: bool,
}

/// Runs one read-only statement on the store, off the async threads.
async fn run(app: &AppState, sql: String) -> Result<Capped, ConsoleError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let q = app.query()?;
        let limits = RunLimits {
            timeout: TIME_LIMIT,
            max_rows: MAX_ROWS,
        };
        Ok(q.sql_limited(&sql, limits)?)
    })
    .await
    .map_err(|e| ConsoleError::BadRequest(format!("query task: {e}")))?
}

/// Runs several statements at once (each on a thread of its own: a statement's single-threaded
/// steps, such as its final merge and the JSON of its rows, overlap the others' scans), off
/// the async threads; the results in the statements' order.
pub async fn run_all(app: &AppState, sqls: Vec<String>) -> Result<Vec<Rows>, ConsoleError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let q = app.query()?;
        let limits = RunLimits {
            timeout: TIME_LIMIT,
            max_rows: MAX_ROWS,
        };
        std::thread::scope(|scope| {
            let running: Vec<_> = sqls
                .iter()
                .map(|sql| {
                    let q = &q;
                    scope.spawn(move || rows_of(&q.sql_limited(sql, limits)?))
                })
                .collect();
            running
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(ConsoleError::BadRequest("a query thread panicked".into()))
                    })
                })
                .collect()
        })
    })
    .await
    .map_err(|e| ConsoleError::BadRequest(format!("query task: {e}")))?
}

pub(crate) fn rows_of(capped: &Capped) -> Result<Rows, ConsoleError> {
    let columns: Vec<String> = capped
        .batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        })
        .unwrap_or_default();
    let json = trailwatch_query::to_json(&capped.batches)?;
    let objects: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&json).map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    let rows = objects
        .into_iter()
        .map(|mut o| {
            columns
                .iter()
                .map(|c| o.remove(c).unwrap_or(serde_json::Value::Null))
                .collect()
        })
        .collect();
    Ok(Rows {
        columns,
        rows,
        truncated: capped.truncated,
    })
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Columns whose values link to a search for them.
const LINKED: [(&str, &str); 5] = [
    ("principal", "principal"),
    ("principal_arn", "principal"),
    ("access_key", "access_key"),
    ("source_ip", "ip"),
    ("action", "action"),
];

/// A value as a link to its search, for the columns that can be searched.
pub fn search_link(param: &str, value: &str) -> String {
    format!(
        r#"<a href="{}">{}</a>"#,
        href("/search", &[(param, value)]),
        e(value)
    )
}

pub fn table(r: &Rows) -> String {
    let mut o = String::from("<table><thead><tr>");
    for c in &r.columns {
        let _ = write!(o, r#"<th scope="col">{}</th>"#, e(c));
    }
    o.push_str("</tr></thead><tbody>");
    for row in &r.rows {
        o.push_str("<tr>");
        for (c, v) in r.columns.iter().zip(row) {
            let text = cell(v);
            let linked = LINKED.iter().find(|(col, _)| col == c);
            let shown = match (linked, text.is_empty()) {
                (Some((_, param)), false) => search_link(param, &text),
                _ => e(&text),
            };
            let _ = write!(o, "<td>{shown}</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
    let _ = write!(
        o,
        "<p>{} rows{}.</p>",
        r.rows.len(),
        if r.truncated {
            format!(", cut at {MAX_ROWS}")
        } else {
            String::new()
        }
    );
    o
}

fn status_of(err: &ConsoleError) -> StatusCode {
    match err {
        ConsoleError::Query(trailwatch_query::QueryError::Timeout { .. }) => {
            StatusCode::REQUEST_TIMEOUT
        }
        ConsoleError::Query(_) | ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Evidence events listed on an alert's page at most.
const EVIDENCE_EVENTS: usize = 100;

/// The stored events of an alert (by event id, within a day of its first and last event, so
/// only those days' files are read), as a table; what went wrong, as text.
pub async fn evidence(app: &AppState, alert: &trailwatch_model::Alert) -> String {
    const DAY_MS: i64 = 86_400_000;
    let event_ids = &alert.event_ids;
    let time = |s: &str| trailwatch_decode::time::parse_ms(s);
    let window = match (time(&alert.first_seen), time(&alert.last_seen)) {
        (Some(first), Some(last)) => format!(
            " AND {}",
            trailwatch_query::Query::time_filter_sql(first - DAY_MS, last + DAY_MS)
        ),
        _ => String::new(),
    };
    let ids: Vec<String> = event_ids
        .iter()
        .take(EVIDENCE_EVENTS)
        .map(|id| trailwatch_query::sql_string(id.as_str()))
        .collect();
    if ids.is_empty() {
        return "<p>The alert lists no event ids.</p>".into();
    }
    let sql = format!(
        "SELECT {} FROM events WHERE event_id IN ({}){window} ORDER BY time, event_id",
        trailwatch_query::SEARCH_COLUMNS.join(", "),
        ids.join(", ")
    );
    match run(app, sql).await.and_then(|c| rows_of(&c)) {
        Ok(r) if r.rows.is_empty() => {
            "<p>None of its events is in the store (read from files, or past retention).</p>".into()
        }
        Ok(r) => table(&r),
        Err(err) => format!(r#"<p class="error">{}</p>"#, e(&err.to_string())),
    }
}

/// The search form's fields, from the query string.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct SearchParams {
    pub principal: Option<String>,
    pub access_key: Option<String>,
    pub ip: Option<String>,
    pub action: Option<String>,
    pub resource: Option<String>,
    /// RFC 3339 (UTC when no zone).
    pub since: Option<String>,
    pub until: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn time_of(name: &str, v: &Option<String>) -> Result<Option<i64>, ConsoleError> {
    given(v)
        .map(|s| {
            trailwatch_decode::time::parse_ms(&s).ok_or_else(|| {
                ConsoleError::BadRequest(format!(
                    "{name}: {s:?} is not a time (YYYY-MM-DDTHH:MM:SSZ)"
                ))
            })
        })
        .transpose()
}

impl SearchParams {
    fn filter(&self) -> Result<Option<SearchFilter>, ConsoleError> {
        let f = SearchFilter {
            principal: given(&self.principal),
            access_key: given(&self.access_key),
            ip: given(&self.ip),
            action: given(&self.action),
            resource: given(&self.resource),
            since_ms: time_of("since", &self.since)?,
            until_ms: time_of("until", &self.until)?,
            limit: Some(MAX_ROWS + 1),
        };
        let empty = SearchFilter {
            limit: f.limit,
            ..SearchFilter::default()
        };
        Ok((f != empty).then_some(f))
    }
}

async fn search_rows(app: &AppState, p: &SearchParams) -> Result<Option<Rows>, ConsoleError> {
    let Some(filter) = p.filter()? else {
        return Ok(None);
    };
    let capped = run(app, trailwatch_query::search(&filter)).await?;
    Ok(Some(rows_of(&capped)?))
}

pub async fn api_search(
    State(app): State<AppState>,
    UrlQuery(p): UrlQuery<SearchParams>,
) -> Response {
    match search_rows(&app, &p).await {
        Ok(Some(r)) => Json(r).into_response(),
        Ok(None) => crate::alerts::api_error(StatusCode::BAD_REQUEST, "give at least one filter"),
        Err(err) => crate::alerts::api_error(status_of(&err), &err.to_string()),
    }
}

fn search_form(p: &SearchParams) -> String {
    let input = |name: &str, label: &str, v: &Option<String>| {
        format!(
            r#"<label>{label} <input name="{name}" value="{}"></label>"#,
            e(v.as_deref().unwrap_or(""))
        )
    };
    format!(
        r#"<form class="filters" method="get" action="/search">{}{}{}{}{}{}{}<button type="submit">Search</button></form>"#,
        input("principal", "Principal", &p.principal),
        input("access_key", "Access key", &p.access_key),
        input("ip", "Source IP", &p.ip),
        input("action", "Action (glob)", &p.action),
        input("resource", "Resource", &p.resource),
        input("since", "Since (UTC)", &p.since),
        input("until", "Until (UTC)", &p.until),
    )
}

pub async fn page_search(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    UrlQuery(p): UrlQuery<SearchParams>,
) -> Response {
    let mut body = search_form(&p);
    match search_rows(&app, &p).await {
        Ok(Some(r)) => body.push_str(&table(&r)),
        Ok(None) => {
            body.push_str("<p>Give a principal, key, address, action, resource or time.</p>")
        }
        Err(err) => {
            let _ = write!(
                body,
                r#"<p class="error" role="alert">{}</p>"#,
                e(&err.to_string())
            );
        }
    }
    html::page(&ctx, "Search", &body)
}

/// The longest statement accepted.
const MAX_SQL_BYTES: usize = 64 * 1024;

async fn sql_rows(
    app: &AppState,
    ctx: &Ctx,
    query: &str,
    export: bool,
) -> Result<Capped, ConsoleError> {
    if query.trim().is_empty() || query.len() > MAX_SQL_BYTES {
        return Err(ConsoleError::BadRequest(
            "a statement of at most 64 KiB".into(),
        ));
    }
    app.audit(
        ctx.user(),
        if export { "export" } else { "sql" },
        "events",
        query,
        &ctx.ip,
    );
    run(app, query.to_string()).await
}

#[derive(Debug, serde::Deserialize)]
pub struct SqlBody {
    query: String,
}

pub async fn api_sql(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let b: SqlBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(err) => return crate::alerts::api_error(StatusCode::BAD_REQUEST, &err.to_string()),
    };
    match sql_rows(&app, &ctx, &b.query, false)
        .await
        .and_then(|c| rows_of(&c))
    {
        Ok(r) => Json(r).into_response(),
        Err(err) => crate::alerts::api_error(status_of(&err), &err.to_string()),
    }
}

fn sql_form(ctx: &Ctx, query: &str) -> String {
    format!(
        r#"<form method="post" action="/sql">{}<label for="q">Read-only SQL over <code>events</code> (at most {MAX_ROWS} rows, {} s)</label><br>
<textarea id="q" name="query" rows="6" cols="100">{}</textarea><br>
<button type="submit">Run</button> <button type="submit" formaction="/sql/csv">Download CSV</button></form>"#,
        csrf_field(ctx),
        TIME_LIMIT.as_secs(),
        e(query)
    )
}

pub async fn page_sql_form(Extension(ctx): Extension<Ctx>) -> Response {
    let body = sql_form(
        &ctx,
        "SELECT provider, action, count(*) AS n FROM events GROUP BY 1, 2 ORDER BY n DESC LIMIT 20",
    );
    html::page(&ctx, "SQL", &body)
}

pub async fn page_sql(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    let query = field(&f, "query").unwrap_or("").to_string();
    let mut page = sql_form(&ctx, &query);
    match sql_rows(&app, &ctx, &query, false)
        .await
        .and_then(|c| rows_of(&c))
    {
        Ok(r) => page.push_str(&table(&r)),
        Err(err) => {
            let _ = write!(
                page,
                r#"<p class="error" role="alert">{}</p>"#,
                e(&err.to_string())
            );
        }
    }
    html::page(&ctx, "SQL", &page)
}

pub async fn page_sql_csv(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    let query = field(&f, "query").unwrap_or("").to_string();
    let csv = sql_rows(&app, &ctx, &query, true)
        .await
        .and_then(|c| Ok(trailwatch_query::to_csv(&c.batches)?));
    match csv {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"trailwatch.csv\"",
                ),
            ],
            text,
        )
            .into_response(),
        Err(err) => html::error_page(status_of(&err), &err.to_string()),
    }
}
