//! Login, logout, the session, users and the audit log: pages and their JSON.

use crate::auth::{self, Role, FAILURE_WINDOW, MAX_FAILURES_PER_IP, MAX_FAILURES_PER_USER};
use crate::html::{self, csrf_field, e};
use crate::routes::{cookie, session_cookie_name, Ctx};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use std::fmt::Write as _;
use std::time::SystemTime;

/// The pre-session cookie whose value the login form must echo (login CSRF).
const LOGIN_COOKIE: &str = "tw_login";

/// The fields of a form body, repeated ones included, in order.
pub fn form_fields(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of a form field.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn cookie_attrs(app: &AppState, path: &str, max_age: u64) -> String {
    let secure = if app.0.secure { "; Secure" } else { "" };
    format!("; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

fn login_page(status: StatusCode, token: &str, error: Option<&str>) -> Response {
    let error = error.map_or(String::new(), |m| {
        format!(r#"<p class="error" role="alert">{}</p>"#, e(m))
    });
    let body = format!(
        r#"{error}<form class="login" method="post" action="/login">
<input type="hidden" name="csrf_token" value="{}">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>"#,
        e(token)
    );
    html::public_page(status, "Log in", &body)
}

pub async fn login_form(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let existing = cookie(&headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let token = match existing.map_or_else(auth::random_token, Ok) {
        Ok(t) => t,
        Err(err) => return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    };
    let set = format!(
        "{LOGIN_COOKIE}={token}{}",
        cookie_attrs(&app, "/login", 3600)
    );
    let mut res = login_page(StatusCode::OK, &token, None);
    if let Ok(v) = set.parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub async fn login(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = form_fields(&body);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let sent = field(&fields, "csrf_token").unwrap_or("");
    if expected.is_empty() || !auth::same_token(sent, expected) {
        return html::error_page(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: open the login page again",
        );
    }
    let user = field(&fields, "username").unwrap_or("").to_string();
    let password = field(&fields, "password").unwrap_or("").to_string();
    let user_key = format!("user:{user}");
    let ip_key = format!("ip:{}", ctx.ip);
    let now = SystemTime::now();
    let limited = {
        let db = app.db();
        let u = db.failures(&user_key, FAILURE_WINDOW, now);
        let i = db.failures(&ip_key, FAILURE_WINDOW, now);
        match (u, i) {
            (Ok(u), Ok(i)) => u >= MAX_FAILURES_PER_USER || i >= MAX_FAILURES_PER_IP,
            (Err(err), _) | (_, Err(err)) => {
                return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())
            }
        }
    };
    if limited {
        app.audit(
            &user,
            "login-refused",
            &user,
            "too many failed logins",
            &ctx.ip,
        );
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            sent,
            Some("Too many failed logins: try again later."),
        );
    }
    let checker = app.clone();
    let name = user.clone();
    let verified = tokio::task::spawn_blocking(move || {
        let stored = if auth::check_user_name(&name).is_ok() {
            checker.db().credentials(&name).ok().flatten()
        } else {
            None
        };
        auth::verify_password(stored.as_ref().map(|(h, _)| h.as_str()), &password)
    })
    .await
    .unwrap_or(false);
    if !verified {
        {
            let mut db = app.db();
            let _ = db.record_failure(&user_key, now);
            let _ = db.record_failure(&ip_key, now);
        }
        app.audit(&user, "login-failed", &user, "", &ctx.ip);
        return login_page(
            StatusCode::UNAUTHORIZED,
            sent,
            Some("Wrong user name or password."),
        );
    }
    start_session(&app, &ctx, &user, &user_key)
}

fn start_session(app: &AppState, ctx: &Ctx, user: &str, user_key: &str) -> Response {
    let token = {
        let mut db = app.db();
        let _ = db.clear_failures(user_key);
        db.create_session(user, app.0.policy, SystemTime::now())
    };
    let token = match token {
        Ok(t) => t,
        Err(err) => return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    };
    app.audit(user, "login", user, "", &ctx.ip);
    let name = session_cookie_name(app.0.secure);
    let ttl = app.0.policy.ttl.as_secs();
    let mut res = Redirect::to("/alerts").into_response();
    for c in [
        format!("{name}={token}{}", cookie_attrs(app, "/", ttl)),
        format!("{LOGIN_COOKIE}=gone{}", cookie_attrs(app, "/login", 0)),
    ] {
        if let Ok(v) = c.parse() {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

pub async fn logout(State(app): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    if let Some(s) = &ctx.session {
        if let Err(err) = app.db().end_session(s) {
            return html::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string());
        }
        app.audit(&s.user, "logout", &s.user, "", &ctx.ip);
    }
    let name = session_cookie_name(app.0.secure);
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = format!("{name}=gone{}", cookie_attrs(&app, "/", 0)).parse() {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub async fn api_session(Extension(ctx): Extension<Ctx>) -> Response {
    match &ctx.session {
        Some(s) => Json(serde_json::json!({
            "user": s.user, "role": s.role, "csrf_token": s.csrf,
        }))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

fn internal(err: impl std::fmt::Display) -> Response {
    html::error_page(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())
}

pub async fn users(State(app): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    let users = match app.db().users() {
        Ok(u) => u,
        Err(err) => return internal(err),
    };
    let mut rows = String::new();
    for u in &users {
        let _ = write!(
            rows,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td><form method="post" action="{}">{}<button type="submit">Remove {}</button></form></td></tr>"#,
            e(&u.name),
            u.role,
            e(&u.created_at),
            html::href(
                &format!(
                    "/users/{}/remove",
                    trailwatch_escape::url_component(&u.name)
                ),
                &[]
            ),
            csrf_field(&ctx),
            e(&u.name),
        );
    }
    let body = format!(
        r#"<table><caption class="visually-hidden">Users</caption><thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Remove</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Add a user</h2>
<form class="actions" method="post" action="/users">{}
<label>Name <input name="name" required></label>
<label>Role <select name="role"><option>viewer</option><option>responder</option><option>admin</option></select></label>
<label>Password (12 characters or more) <input name="password" type="password" autocomplete="new-password" required></label>
<button type="submit">Add</button></form>"#,
        csrf_field(&ctx)
    );
    html::page(&ctx, "Users", &body)
}

pub async fn user_add(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Response {
    let fields = form_fields(&body);
    let name = field(&fields, "name").unwrap_or("").to_string();
    let password = field(&fields, "password").unwrap_or("").to_string();
    let role: Role = match field(&fields, "role").unwrap_or("").parse() {
        Ok(r) => r,
        Err(err) => return html::error_page(StatusCode::BAD_REQUEST, &err.to_string()),
    };
    let adder = app.clone();
    let added = {
        let name = name.clone();
        tokio::task::spawn_blocking(move || adder.db().add_user(&name, role, &password)).await
    };
    match added {
        Ok(Ok(())) => {
            app.audit(ctx.user(), "user-add", &name, role.as_str(), &ctx.ip);
            Redirect::to("/users").into_response()
        }
        Ok(Err(err)) => html::error_page(StatusCode::BAD_REQUEST, &err.to_string()),
        Err(err) => internal(err),
    }
}

pub async fn user_remove(
    State(app): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(name): Path<String>,
) -> Response {
    let removed = app.db().remove_user(&name);
    match removed {
        Ok(()) => {
            app.audit(ctx.user(), "user-remove", &name, "", &ctx.ip);
            Redirect::to("/users").into_response()
        }
        Err(err @ crate::ConsoleError::NoUser(_)) => {
            html::error_page(StatusCode::NOT_FOUND, &err.to_string())
        }
        Err(err) => internal(err),
    }
}

pub async fn api_users(State(app): State<AppState>) -> Response {
    match app.db().users() {
        Ok(u) => Json(u).into_response(),
        Err(err) => crate::alerts::api_error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}

/// Lines of the audit log shown.
const AUDIT_LINES: u32 = 1000;

pub async fn audit(State(app): State<AppState>, Extension(ctx): Extension<Ctx>) -> Response {
    let log = match app.db().audit_log(AUDIT_LINES) {
        Ok(l) => l,
        Err(err) => return internal(err),
    };
    let mut rows = String::new();
    for a in &log {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e(&a.at),
            e(&a.who),
            e(&a.action),
            e(&a.target),
            e(&a.detail),
            e(&a.ip)
        );
    }
    let body = format!(
        r#"<p>The newest {AUDIT_LINES} actions of the analysts, newest first.</p>
<table><caption class="visually-hidden">Audit log</caption><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">On</th><th scope="col">Detail</th><th scope="col">From</th></tr></thead><tbody>{rows}</tbody></table>"#
    );
    html::page(&ctx, "Audit", &body)
}

pub async fn api_audit(State(app): State<AppState>) -> Response {
    match app.db().audit_log(AUDIT_LINES) {
        Ok(l) => Json(l).into_response(),
        Err(err) => crate::alerts::api_error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
    }
}
