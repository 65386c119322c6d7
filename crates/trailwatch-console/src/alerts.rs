//! The alerts queue and its triage, over the watch's outbox: filters, one alert, acknowledge,
//! resolve, assign and comment (one at a time or in bulk), as pages and as JSON.

use crate::html::{self, csrf_field, e, href};
use crate::pages::{field, form_fields};
use crate::query::{evidence, search_link};
use crate::routes::Ctx;
use crate::{AppState, ConsoleError, Role};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use std::fmt::Write as _;
use std::time::SystemTime;
use trailwatch_sink::{AlertRecord, AlertState, NoteKind, OutboxError};

/// The queue's filters, from the query string. Times compare as RFC 3339 UTC text, so a date
/// (`2026-12-01`) or any prefix of a time works.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Filter {
    pub severity: Option<String>,
    pub state: Option<String>,
    pub rule: Option<String>,
    pub principal: Option<String>,
    pub account: Option<String>,
    pub assignee: Option<String>,
    /// Alerts last seen at or after this.
    pub since: Option<String>,
    /// Alerts first seen before this.
    pub until: Option<String>,
    pub limit: Option<usize>,
}

/// Alerts shown when the query does not say.
const DEFAULT_LIMIT: usize = 500;

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filter {
    fn matches(&self, r: &AlertRecord, assignee: Option<&str>) -> bool {
        let a = &r.alert;
        let contains =
            |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
        given(&self.severity).is_none_or(|s| a.severity.as_str() == s)
            && given(&self.state)
                .is_none_or(|s| s.parse::<AlertState>().is_ok_and(|st| st == r.state))
            && given(&self.rule).is_none_or(|s| contains(&a.rule_id, s) || contains(&a.title, s))
            && given(&self.principal).is_none_or(|s| contains(&a.principal, s))
            && given(&self.account).is_none_or(|s| a.account.as_deref() == Some(s))
            && given(&self.assignee).is_none_or(|s| assignee == Some(s))
            && given(&self.since).is_none_or(|s| a.last_seen.as_str() >= s)
            && given(&self.until).is_none_or(|s| a.first_seen.as_str() < s)
    }
}

/// The alerts the filter keeps, newest activity first, each with its assignee.
fn select(
    app: &AppState,
    filter: &Filter,
) -> Result<Vec<(AlertRecord, Option<String>)>, ConsoleError> {
    let outbox = app.outbox()?;
    let assignees = outbox.assignees()?;
    let mut list: Vec<_> = outbox
        .list(None)?
        .into_iter()
        .map(|r| {
            let who = assignees.get(&r.alert.id).cloned();
            (r, who)
        })
        .filter(|(r, who)| filter.matches(r, who.as_deref()))
        .collect();
    list.sort_by(|a, b| b.0.alert.last_seen.cmp(&a.0.alert.last_seen));
    list.truncate(filter.limit.unwrap_or(DEFAULT_LIMIT));
    Ok(list)
}

pub fn api_error(status: StatusCode, msg: &str) -> Response {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

fn status_of(err: &ConsoleError) -> StatusCode {
    match err {
        ConsoleError::Outbox(OutboxError::NotFound(_)) => StatusCode::NOT_FOUND,
        ConsoleError::Outbox(OutboxError::InvalidTransition { .. }) => StatusCode::CONFLICT,
        ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ConsoleError::Recover(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub async fn api_list(State(app): State<AppState>, Query(filter): Query<Filter>) -> Response {
    let result = select(&app, &filter).and_then(|list| {
        let outbox = app.outbox()?;
        list.iter()
            .map(|(r, _)| Ok(outbox.record_json(r)?))
            .collect::<Result<Vec<_>, ConsoleError>>()
    });
    match result {
        Ok(v) => Json(v).into_response(),
        Err(err) => api_error(status_of(&err), &err.to_string()),
    }
}

pub async fn api_one(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let result = app.outbox().and_then(|o| Ok(o.record_json(&o.get(&id)?)?));
    match result {
        Ok(v) => Json(v).into_response(),
        Err(err) => api_error(status_of(&err), &err.to_string()),
    }
}

/// A triage step on one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Ack,
    Resolve,
    Assign,
    Comment,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        match s {
            "ack" => Some(Action::Ack),
            "resolve" => Some(Action::Resolve),
            "assign" => Some(Action::Assign),
            "comment" => Some(Action::Comment),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Action::Ack => "ack",
            Action::Resolve => "resolve",
            Action::Assign => "assign",
            Action::Comment => "comment",
        }
    }
}

/// The longest comment or assignee kept.
const MAX_NOTE_CHARS: usize = 4000;

/// Applies `action` to alert `id` for the session's user, with its comment and assignee, and
/// records each change in the audit log.
fn act(
    app: &AppState,
    ctx: &Ctx,
    id: &str,
    action: Action,
    comment: &str,
    assignee: &str,
) -> Result<(), ConsoleError> {
    let (comment, assignee) = (comment.trim(), assignee.trim());
    if comment.chars().count() > MAX_NOTE_CHARS || assignee.chars().count() > MAX_NOTE_CHARS {
        return Err(ConsoleError::BadRequest("comment too long".into()));
    }
    match action {
        Action::Comment if comment.is_empty() => {
            return Err(ConsoleError::BadRequest("a comment needs its text".into()))
        }
        Action::Assign if assignee.is_empty() => {
            return Err(ConsoleError::BadRequest(
                "an assignment needs the assignee".into(),
            ))
        }
        _ => {}
    }
    let who = ctx.user();
    let now = SystemTime::now();
    let mut outbox = app.outbox()?;
    match action {
        Action::Ack => outbox.ack(id, who, now)?,
        Action::Resolve => outbox.resolve(id, who, now)?,
        Action::Assign => outbox.add_note(id, who, NoteKind::Assign, assignee, now)?,
        Action::Comment => {}
    }
    if action != Action::Comment {
        let detail = if action == Action::Assign {
            assignee
        } else {
            ""
        };
        app.audit(who, action.as_str(), id, detail, &ctx.ip);
    }
    if !comment.is_empty() {
        outbox.add_note(id, who, NoteKind::Comment, comment, now)?;
        app.audit(who, "comment", id, comment, &ctx.ip);
    }
    Ok(())
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ActBody {
    #[serde(default)]
    comment: String,
    #[serde(default)]
    assignee: String,
}

pub async fn api_act(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return api_error(StatusCode::NOT_FOUND, "unknown action");
    };
    let b: ActBody = if body.is_empty() {
        ActBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(err) => return api_error(StatusCode::BAD_REQUEST, &err.to_string()),
        }
    };
    let result = act(&app, &ctx, &id, action, &b.comment, &b.assignee)
        .and_then(|()| app.outbox().and_then(|o| Ok(o.record_json(&o.get(&id)?)?)));
    match result {
        Ok(v) => Json(v).into_response(),
        Err(err) => api_error(status_of(&err), &err.to_string()),
    }
}

pub async fn page_act(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return html::error_page(StatusCode::NOT_FOUND, "unknown action");
    };
    let f = form_fields(&body);
    let comment = field(&f, "comment").unwrap_or("");
    let assignee = field(&f, "assignee").unwrap_or("");
    match act(&app, &ctx, &id, action, comment, assignee) {
        Ok(()) => Redirect::to(&format!(
            "/alerts/{}",
            trailwatch_escape::url_component(&id)
        ))
        .into_response(),
        Err(err) => html::error_page(status_of(&err), &err.to_string()),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct BulkBody {
    ids: Vec<String>,
    action: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    assignee: String,
}

/// Applies one action to many alerts; each alert's outcome, in order.
fn bulk(
    app: &AppState,
    ctx: &Ctx,
    b: &BulkBody,
) -> Result<Vec<(String, Option<String>)>, ConsoleError> {
    let action = Action::parse(&b.action)
        .ok_or_else(|| ConsoleError::BadRequest(format!("unknown action {:?}", b.action)))?;
    if b.ids.is_empty() {
        return Err(ConsoleError::BadRequest("no alerts chosen".into()));
    }
    Ok(b.ids
        .iter()
        .map(|id| {
            let r = act(app, ctx, id, action, &b.comment, &b.assignee);
            (id.clone(), r.err().map(|e| e.to_string()))
        })
        .collect())
}

pub async fn api_bulk(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let b: BulkBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(err) => return api_error(StatusCode::BAD_REQUEST, &err.to_string()),
    };
    match bulk(&app, &ctx, &b) {
        Ok(outcomes) => {
            let v: Vec<_> = outcomes
                .into_iter()
                .map(|(id, err)| serde_json::json!({ "id": id, "ok": err.is_none(), "error": err }))
                .collect();
            Json(v).into_response()
        }
        Err(err) => api_error(status_of(&err), &err.to_string()),
    }
}

pub async fn page_bulk(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    let b = BulkBody {
        ids: f
            .iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.clone())
            .collect(),
        action: field(&f, "action").unwrap_or("").to_string(),
        comment: field(&f, "comment").unwrap_or("").to_string(),
        assignee: field(&f, "assignee").unwrap_or("").to_string(),
    };
    let outcomes = match bulk(&app, &ctx, &b) {
        Ok(o) => o,
        Err(err) => return html::error_page(status_of(&err), &err.to_string()),
    };
    let mut rows = String::new();
    for (id, err) in &outcomes {
        let _ = write!(
            rows,
            r#"<tr><td><a href="{}">{}</a></td><td>{}</td></tr>"#,
            href(
                &format!("/alerts/{}", trailwatch_escape::url_component(id)),
                &[]
            ),
            e(id),
            e(err.as_deref().unwrap_or("done"))
        );
    }
    let body = format!(
        r#"<table><caption>{} on {} alerts</caption><thead><tr><th scope="col">Alert</th><th scope="col">Outcome</th></tr></thead><tbody>{rows}</tbody></table><p><a href="/alerts">Back to the queue</a></p>"#,
        e(&b.action),
        outcomes.len()
    );
    html::page(&ctx, "Bulk action", &body)
}

const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];
const STATES: [&str; 3] = ["open", "acked", "resolved"];

fn select_field(name: &str, label: &str, options: &[&str], chosen: Option<&str>) -> String {
    let mut o = format!(r#"<label>{label} <select name="{name}"><option value="">any</option>"#);
    for opt in options {
        let sel = if chosen == Some(*opt) {
            " selected"
        } else {
            ""
        };
        let _ = write!(o, "<option{sel}>{opt}</option>");
    }
    o.push_str("</select></label>");
    o
}

fn text_field(name: &str, label: &str, value: Option<&str>) -> String {
    format!(
        r#"<label>{label} <input name="{name}" value="{}"></label>"#,
        e(value.unwrap_or(""))
    )
}

fn filter_form(f: &Filter) -> String {
    format!(
        r#"<form class="filters" method="get" action="/alerts">{}{}{}{}{}{}{}{}<button type="submit">Filter</button></form>"#,
        select_field("severity", "Severity", &SEVERITIES, given(&f.severity)),
        select_field("state", "State", &STATES, given(&f.state)),
        text_field("rule", "Rule", given(&f.rule)),
        text_field("principal", "Principal", given(&f.principal)),
        text_field("account", "Account", given(&f.account)),
        text_field("assignee", "Assignee", given(&f.assignee)),
        text_field("since", "Since (UTC)", given(&f.since)),
        text_field("until", "Until (UTC)", given(&f.until)),
    )
}

fn alert_link(id: &str) -> String {
    href(
        &format!("/alerts/{}", trailwatch_escape::url_component(id)),
        &[],
    )
}

fn triage_controls(ctx: &Ctx, bulk: bool) -> String {
    let actions = if bulk {
        r#"<label>Action <select name="action"><option value="ack">acknowledge</option><option value="resolve">resolve</option><option value="assign">assign</option><option value="comment">comment</option></select></label>"#
    } else {
        ""
    };
    format!(
        r#"<div class="actions">{}{actions}<label>Assignee <input name="assignee"></label><label>Comment <textarea name="comment" rows="2" cols="40"></textarea></label>{}</div>"#,
        csrf_field(ctx),
        if bulk {
            r#"<button type="submit">Apply to the chosen alerts</button>"#
        } else {
            ""
        }
    )
}

pub async fn page_list(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Query(filter): Query<Filter>,
) -> Response {
    let list = match select(&app, &filter) {
        Ok(l) => l,
        Err(err) => return html::error_page(status_of(&err), &err.to_string()),
    };
    let triage = ctx
        .session
        .as_ref()
        .is_some_and(|s| s.role >= Role::Responder);
    let mut rows = String::new();
    for (r, assignee) in &list {
        let a = &r.alert;
        let check = if triage {
            format!(
                r#"<td><input type="checkbox" name="id" value="{}" aria-label="choose {}"></td>"#,
                e(&a.id),
                e(&a.id)
            )
        } else {
            String::new()
        };
        let _ = write!(
            rows,
            r#"<tr>{check}<td class="sev-{sev}">{sev}</td><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            r.state,
            alert_link(&a.id),
            e(&a.title),
            e(&a.rule_id),
            e(&a.principal),
            e(a.account.as_deref().unwrap_or("-")),
            e(&a.first_seen),
            e(&a.last_seen),
            a.count,
            e(assignee.as_deref().unwrap_or("-")),
            sev = a.severity.as_str(),
        );
    }
    let head_check = if triage {
        r#"<th scope="col">Choose</th>"#
    } else {
        ""
    };
    let table = format!(
        r#"<table><caption>{} alerts, newest activity first</caption><thead><tr>{head_check}<th scope="col">Severity</th><th scope="col">State</th><th scope="col">Title</th><th scope="col">Rule</th><th scope="col">Principal</th><th scope="col">Account</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Events</th><th scope="col">Assignee</th></tr></thead><tbody>{rows}</tbody></table>"#,
        list.len()
    );
    let body = if triage {
        format!(
            r#"{}<form method="post" action="/alerts/bulk">{table}{}</form>"#,
            filter_form(&filter),
            triage_controls(&ctx, true)
        )
    } else {
        format!("{}{table}", filter_form(&filter))
    };
    html::page(&ctx, "Alerts", &body)
}

fn list_items(values: &[String]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let items: String = values
        .iter()
        .map(|v| format!("<li>{}</li>", e(v)))
        .collect();
    format!("<ul>{items}</ul>")
}

/// Values, each a link to its search by `param`.
fn linked_items(param: &str, values: &[String]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let items: String = values
        .iter()
        .map(|v| format!("<li>{}</li>", search_link(param, v)))
        .collect();
    format!("<ul>{items}</ul>")
}

/// Event ids listed on an alert's page.
const EVENT_IDS_SHOWN: usize = 100;

fn alert_fields(r: &AlertRecord, assignee: Option<&str>) -> String {
    let a = &r.alert;
    let fmt = |t: Option<SystemTime>| t.map_or("-".to_string(), trailwatch_sink::fmt_time);
    let by = |who: &Option<String>, at| match who {
        Some(w) => format!("{} at {}", e(w), e(&fmt(at))),
        None => "-".into(),
    };
    let ids: Vec<String> = a.event_ids.iter().take(EVENT_IDS_SHOWN).cloned().collect();
    let rows = [
        ("Id", e(&a.id)),
        ("Severity", a.severity.as_str().to_string()),
        ("State", r.state.to_string()),
        ("Rule", e(&a.rule_id)),
        ("Provider", a.provider.as_str().to_string()),
        ("Account", e(a.account.as_deref().unwrap_or("-"))),
        ("Region", e(a.region.as_deref().unwrap_or("-"))),
        ("Principal", search_link("principal", &a.principal)),
        ("Source IPs", linked_items("ip", &a.source_ips)),
        ("Actions", linked_items("action", &a.actions)),
        ("Resources", linked_items("resource", &a.resources)),
        ("Tags", list_items(&a.tags)),
        ("First seen", e(&a.first_seen)),
        ("Last seen", e(&a.last_seen)),
        ("Events", a.count.to_string()),
        ("Event ids", list_items(&ids)),
        ("Description", e(&a.description)),
        ("Acknowledged", by(&r.acked_by, r.acked_at)),
        ("Resolved", by(&r.resolved_by, r.resolved_at)),
        ("Assignee", e(assignee.unwrap_or("-"))),
    ];
    let mut o = String::from(r#"<dl class="fields">"#);
    for (k, v) in rows {
        let _ = write!(o, "<dt>{k}</dt><dd>{v}</dd>");
    }
    o.push_str("</dl>");
    o
}

/// The `investigate` report and `recover` plan of an alert, as page sections.
async fn investigation(app: &AppState, r: &AlertRecord) -> String {
    let (app, r) = (app.clone(), r.clone());
    let inv = tokio::task::spawn_blocking(move || crate::incident::investigated(&app, &r)).await;
    match inv {
        Ok(Ok(inv)) => crate::incident::sections(&inv),
        Ok(Err(err)) => format!(
            r#"<h2 id="scope">Investigation</h2><p class="error">{}</p>"#,
            e(&err.to_string())
        ),
        Err(err) => format!(
            r#"<h2 id="scope">Investigation</h2><p class="error">{}</p>"#,
            e(&err.to_string())
        ),
    }
}

/// An alert's `investigate` report, `recover` plan and script, as JSON.
pub async fn api_incident(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let inv = tokio::task::spawn_blocking(move || {
        let r = app.outbox()?.get(&id)?;
        crate::incident::investigated(&app, &r)
    })
    .await;
    match inv {
        Ok(Ok(inv)) => Json(crate::incident::json(&inv)).into_response(),
        Ok(Err(err)) => api_error(status_of(&err), &err.to_string()),
        Err(err) => api_error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

pub async fn page_one(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let loaded = app.outbox().and_then(|o| {
        let r = o.get(&id)?;
        let notes = o.notes(&id)?;
        Ok((r, notes))
    });
    let (r, notes) = match loaded {
        Ok(x) => x,
        Err(err) => return html::error_page(status_of(&err), &err.to_string()),
    };
    let assignee = notes
        .iter()
        .rev()
        .find(|n| n.kind == NoteKind::Assign)
        .map(|n| n.text.clone());
    let mut body = alert_fields(&r, assignee.as_deref());
    body.push_str("<h2>Evidence</h2>");
    body.push_str(&evidence(&app, &r.alert).await);
    body.push_str(&investigation(&app, &r).await);
    body.push_str("<h2>Notes</h2>");
    if notes.is_empty() {
        body.push_str("<p>None yet.</p>");
    }
    body.push_str("<ul>");
    for n in &notes {
        let what = match n.kind {
            NoteKind::Assign => format!("assigned to {}", e(&n.text)),
            NoteKind::Comment => e(&n.text),
        };
        let _ = write!(
            body,
            "<li>{} · {}: {what}</li>",
            e(&trailwatch_sink::fmt_time(n.at)),
            e(&n.who)
        );
    }
    body.push_str("</ul>");
    if ctx
        .session
        .as_ref()
        .is_some_and(|s| s.role >= Role::Responder)
    {
        body.push_str("<h2>Triage</h2>");
        let base = format!("/alerts/{}", trailwatch_escape::url_component(&id));
        for (action, label) in [
            ("ack", "Acknowledge"),
            ("resolve", "Resolve"),
            ("assign", "Assign"),
            ("comment", "Comment"),
        ] {
            let _ = write!(
                body,
                r#"<form method="post" action="{}">{}<button type="submit">{label}</button></form>"#,
                href(&format!("{base}/{action}"), &[]),
                triage_controls(&ctx, false)
            );
        }
    }
    html::page(&ctx, &r.alert.title, &body)
}
