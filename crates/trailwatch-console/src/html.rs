//! The page frame, small HTML helpers and the built-in stylesheet. Every value written into a
//! page goes through [`e`] (trailwatch-escape's HTML policy).

use crate::auth::Role;
use crate::routes::Ctx;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write as _;
use trailwatch_escape as escape;

/// Text escaped for HTML content and quoted attributes.
pub fn e(s: &str) -> String {
    escape::html(s)
}

/// A link to `path` with `key=value` query parameters, each percent-encoded, the whole escaped
/// for an `href`: no value can end the attribute or choose the scheme.
pub fn href(path: &str, params: &[(&str, &str)]) -> String {
    let mut out = path.to_string();
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&escape::url_component(k));
        out.push('=');
        out.push_str(&escape::url_component(v));
    }
    e(&out)
}

/// The hidden CSRF field of a form.
pub fn csrf_field(ctx: &Ctx) -> String {
    let token = ctx.session.as_ref().map_or("", |s| s.csrf.as_str());
    format!(
        r#"<input type="hidden" name="csrf_token" value="{}">"#,
        e(token)
    )
}

/// A whole page: the navigation for the session's role, the title and the body.
pub fn page(ctx: &Ctx, title: &str, body: &str) -> Response {
    let mut nav = String::from(
        r#"<li><a href="/">Overview</a></li><li><a href="/alerts">Alerts</a></li><li><a href="/review">Daily review</a></li><li><a href="/rules">Rules</a></li><li><a href="/search">Search</a></li><li><a href="/sql">SQL</a></li>"#,
    );
    let role = ctx.session.as_ref().map(|s| s.role);
    if role == Some(Role::Admin) {
        nav.push_str(r#"<li><a href="/users">Users</a></li><li><a href="/audit">Audit</a></li>"#);
    }
    let mut header = format!(r#"<nav aria-label="Main"><ul>{nav}</ul></nav>"#);
    if let Some(s) = &ctx.session {
        let _ = write!(
            header,
            r#"<form method="post" action="/logout">{}<button type="submit">Log out {} ({})</button></form>"#,
            csrf_field(ctx),
            e(&s.user),
            s.role
        );
    }
    frame(StatusCode::OK, title, &header, body)
}

fn frame(status: StatusCode, title: &str, header: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} · trailwatch</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><header>{header}</header><main><h1>{t}</h1>
{body}
</main></body></html>
"#,
        t = e(title)
    );
    (status, Html(html)).into_response()
}

/// A page that says why a request was refused or failed.
pub fn error_page(status: StatusCode, msg: &str) -> Response {
    let body = format!(
        r#"<p class="error" role="alert">{}</p><p><a href="/alerts">Alerts</a> · <a href="/login">Log in</a></p>"#,
        e(msg)
    );
    frame(
        status,
        status.canonical_reason().unwrap_or("Error"),
        "",
        &body,
    )
}

/// The page frame without a session (the login form).
pub fn public_page(status: StatusCode, title: &str, body: &str) -> Response {
    frame(status, title, "", body)
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../assets/style.css"),
    )
        .into_response()
}
