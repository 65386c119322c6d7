//! Suppressions admins manage from the console: added with a reason and an expiry, removed,
//! each change in the analysts' audit log. They are kept in the store's managed-suppressions
//! file ([`trailwatch_watch::managed`]), which the watch applies with the configuration's own
//! and re-reads when it changes; the configuration's stay read-only here (they change in its
//! file). Each managed entry is named by a digest of its fields ([`sig`]), so a removal names
//! the entry the admin saw, whatever was added or removed meanwhile.

use crate::alerts::api_error;
use crate::html::{self, csrf_field, e};
use crate::pages::{field, form_fields};
use crate::routes::Ctx;
use crate::{AppState, ConsoleError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use std::fmt::Write as _;
use trailwatch_watch::Suppression;

/// A managed entry's name: the first 16 hex digits of the SHA-256 of its fields.
pub fn sig(s: &Suppression) -> String {
    let text = serde_json::to_string(s).unwrap_or_default();
    crate::auth::token_hash(&text)[..16].to_string()
}

/// The managed suppressions, read now.
pub fn managed(app: &AppState) -> Result<Vec<Suppression>, ConsoleError> {
    Ok(trailwatch_watch::managed::load(app.store_dir())?)
}

fn opt(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An entry from the add form's fields.
fn from_form(fields: &[(String, String)]) -> Suppression {
    let f = |name: &str| opt(field(fields, name));
    Suppression {
        rule: f("rule"),
        principal: f("principal"),
        cidr: f("cidr"),
        user_agent: f("user_agent"),
        account: f("account"),
        reason: f("reason").unwrap_or_default(),
        expires: f("expires").unwrap_or_default(),
    }
}

/// Adds `entry` (checked as a configuration's would be); returns its name.
fn add(app: &AppState, who: &str, ip: &str, entry: Suppression) -> Result<String, ConsoleError> {
    // The database lock serialises the console's writers of the file.
    let writers = app.db();
    let mut list = managed(app)?;
    let name = sig(&entry);
    if list.iter().any(|s| sig(s) == name) {
        return Err(ConsoleError::BadRequest(
            "that suppression exists already".into(),
        ));
    }
    list.push(entry.clone());
    trailwatch_watch::managed::save(app.store_dir(), &list)
        .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
    drop(writers);
    let what = entry
        .rule
        .as_deref()
        .or(entry.principal.as_deref())
        .unwrap_or("-");
    let detail = format!("{} (until {}) [{name}]", entry.reason, entry.expires);
    app.audit(who, "suppression-add", what, &detail, ip);
    Ok(name)
}

/// Removes the entry named `name`.
fn remove(app: &AppState, who: &str, ip: &str, name: &str) -> Result<(), ConsoleError> {
    let writers = app.db();
    let mut list = managed(app)?;
    let before = list.len();
    list.retain(|s| sig(s) != name);
    if list.len() == before {
        return Err(ConsoleError::BadRequest(format!("no suppression {name:?}")));
    }
    trailwatch_watch::managed::save(app.store_dir(), &list)?;
    drop(writers);
    app.audit(who, "suppression-remove", name, "", ip);
    Ok(())
}

fn status(err: &ConsoleError) -> StatusCode {
    match err {
        ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub async fn page_add(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let entry = from_form(&form_fields(&body));
    match add(&app, ctx.user(), &ctx.ip, entry) {
        Ok(_) => Redirect::to("/rules#suppressions").into_response(),
        Err(err) => html::error_page(status(&err), &err.to_string()),
    }
}

pub async fn page_remove(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> Response {
    match remove(&app, ctx.user(), &ctx.ip, &name) {
        Ok(()) => Redirect::to("/rules#suppressions").into_response(),
        Err(err) => html::error_page(status(&err), &err.to_string()),
    }
}

pub async fn api_add(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(entry): Json<Suppression>,
) -> Response {
    match add(&app, ctx.user(), &ctx.ip, entry) {
        Ok(name) => Json(serde_json::json!({ "id": name })).into_response(),
        Err(err) => api_error(status(&err), &err.to_string()),
    }
}

pub async fn api_remove(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> Response {
    match remove(&app, ctx.user(), &ctx.ip, &name) {
        Ok(()) => Json(serde_json::json!({ "removed": name })).into_response(),
        Err(err) => api_error(status(&err), &err.to_string()),
    }
}

/// The managed entries as JSON rows, with their names and whether they are in force.
pub fn json_rows(list: &[Suppression], now_ms: i64) -> Vec<serde_json::Value> {
    list.iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["id"] = sig(s).into();
            v["state"] = crate::rules::expiry(s, now_ms).into();
            v
        })
        .collect()
}

/// The managed entries as a table (with a remove button each for admins) and, for admins,
/// the form that adds one.
pub fn section(ctx: &Ctx, list: &[Suppression], now_ms: i64) -> String {
    let admin = ctx
        .session
        .as_ref()
        .is_some_and(|s| s.role == crate::Role::Admin);
    let mut o = String::from(
        r#"<table><caption>Suppressions managed here (the watch applies them from its next poll)</caption><thead><tr><th scope="col">Rule</th><th scope="col">Principal</th><th scope="col">Addresses</th><th scope="col">User agent</th><th scope="col">Account</th><th scope="col">Reason</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col">Action</th></tr></thead><tbody>"#,
    );
    let cell = |v: &Option<String>| e(v.as_deref().unwrap_or("-"));
    for s in list {
        let remove = if admin {
            format!(
                r#"<form method="post" action="{}">{}<button type="submit">Remove</button></form>"#,
                html::href(&format!("/suppressions/{}/remove", sig(s)), &[]),
                csrf_field(ctx)
            )
        } else {
            String::new()
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{remove}</td></tr>",
            cell(&s.rule),
            cell(&s.principal),
            cell(&s.cidr),
            cell(&s.user_agent),
            cell(&s.account),
            e(&s.reason),
            e(&s.expires),
            crate::rules::expiry(s, now_ms)
        );
    }
    o.push_str("</tbody></table>");
    if admin {
        let _ = write!(
            o,
            r#"<h3>Add a suppression</h3><p>Every condition given must hold; leave the others empty. A reason and an expiry are required.</p><form class="filters" method="post" action="/suppressions">{}<label>Rule (id or title)<input name="rule"></label><label>Principal (* matches any run)<input name="principal"></label><label>Addresses (CIDR)<input name="cidr"></label><label>User agent contains<input name="user_agent"></label><label>Account<input name="account"></label><label>Reason<input name="reason" required></label><label>Expires (YYYY-MM-DD)<input name="expires" required></label><button type="submit">Add</button></form>"#,
            csrf_field(ctx)
        );
    }
    o
}
