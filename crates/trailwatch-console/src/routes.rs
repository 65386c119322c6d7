//! Every route of the console, in one table ([`routes`]): method, path and who may call it.
//! The router is built from that table, and each route is wrapped in the one guard that
//! applies the authentication, CSRF and role rules, so that no route can be added without them.

use crate::auth::{same_token, Role};
use crate::db::Session;
use crate::{alerts, html, overview, pages, query, review, rules, suppressions, AppState};
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use std::net::SocketAddr;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the login form and the static assets.
    Public,
    /// A user with a session and at least this role.
    Role(Role),
}

/// One route: method, path (axum syntax, `{id}` for a parameter) and access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

impl RouteInfo {
    /// API routes (and `/metrics`) answer 401 to a request without a session; pages redirect
    /// to `/login`.
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/") || self.path == METRICS_PATH
    }

    /// Whether the route changes state (and so needs the CSRF token).
    pub fn changes_state(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// The Prometheus endpoint: the watch's metrics when the watch serves the console, the
/// console's own in any case.
pub const METRICS_PATH: &str = "/metrics";

struct Route {
    info: RouteInfo,
    handler: MethodRouter<AppState>,
}

macro_rules! route {
    ($method:ident, $path:literal, $access:expr, $handler:expr) => {
        Route {
            info: RouteInfo {
                method: Method::$method,
                path: $path,
                access: $access,
            },
            handler: on(MethodFilter::$method, $handler),
        }
    };
}

fn table() -> Vec<Route> {
    use Access::Public;
    const VIEWER: Access = Access::Role(Role::Viewer);
    const RESPONDER: Access = Access::Role(Role::Responder);
    const ADMIN: Access = Access::Role(Role::Admin);
    vec![
        route!(GET, "/login", Public, pages::login_form),
        route!(POST, "/login", Public, pages::login),
        route!(GET, "/assets/style.css", Public, html::stylesheet),
        route!(POST, "/logout", VIEWER, pages::logout),
        route!(GET, "/", VIEWER, overview::page),
        route!(GET, "/alerts", VIEWER, alerts::page_list),
        route!(GET, "/alerts/{id}", VIEWER, alerts::page_one),
        route!(POST, "/alerts/{id}/{action}", RESPONDER, alerts::page_act),
        route!(POST, "/alerts/bulk", RESPONDER, alerts::page_bulk),
        route!(GET, "/review", VIEWER, review::page),
        route!(GET, "/rules", VIEWER, rules::page),
        route!(GET, "/search", VIEWER, query::page_search),
        route!(GET, "/sql", VIEWER, query::page_sql_form),
        route!(POST, "/sql", VIEWER, query::page_sql),
        route!(POST, "/sql/csv", VIEWER, query::page_sql_csv),
        route!(GET, "/users", ADMIN, pages::users),
        route!(POST, "/users", ADMIN, pages::user_add),
        route!(POST, "/users/{name}/remove", ADMIN, pages::user_remove),
        route!(GET, "/audit", ADMIN, pages::audit),
        route!(POST, "/suppressions", ADMIN, suppressions::page_add),
        route!(
            POST,
            "/suppressions/{id}/remove",
            ADMIN,
            suppressions::page_remove
        ),
        route!(GET, "/api/v1/session", VIEWER, pages::api_session),
        route!(GET, "/api/v1/alerts", VIEWER, alerts::api_list),
        route!(GET, "/api/v1/alerts/{id}", VIEWER, alerts::api_one),
        route!(GET, "/api/v1/incidents/{id}", VIEWER, alerts::api_incident),
        route!(
            POST,
            "/api/v1/alerts/{id}/{action}",
            RESPONDER,
            alerts::api_act
        ),
        route!(POST, "/api/v1/alerts/bulk", RESPONDER, alerts::api_bulk),
        route!(GET, "/api/v1/overview", VIEWER, overview::api),
        route!(GET, "/api/v1/review", VIEWER, review::api),
        route!(GET, "/api/v1/rules", VIEWER, rules::api),
        route!(GET, "/api/v1/search", VIEWER, query::api_search),
        route!(POST, "/api/v1/sql", VIEWER, query::api_sql),
        route!(GET, "/api/v1/users", ADMIN, pages::api_users),
        route!(GET, "/api/v1/audit", ADMIN, pages::api_audit),
        route!(POST, "/api/v1/suppressions", ADMIN, suppressions::api_add),
        route!(
            POST,
            "/api/v1/suppressions/{id}/remove",
            ADMIN,
            suppressions::api_remove
        ),
        route!(GET, "/metrics", VIEWER, crate::metrics::page),
    ]
}

/// Every route the console serves: the table the router is built from.
pub fn routes() -> Vec<RouteInfo> {
    table().into_iter().map(|r| r.info).collect()
}

/// The console's router: every route of [`routes`] behind the guard, security headers on every
/// answer.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for Route { info, handler } in table() {
        let path = info.path;
        let guarded =
            handler.route_layer(middleware::from_fn_with_state((state.clone(), info), guard));
        router = router.route(path, guarded);
    }
    router
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::count,
        ))
        .with_state(state)
        .layer(middleware::from_fn(security_headers))
}

/// The client's address, as the listener saw it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// What the guard learnt about a request, for the handler: the session (none on public
/// routes) and the client address.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub session: Option<Session>,
    pub ip: String,
}

impl Ctx {
    /// The session of a guarded route (always there: the guard let the request in).
    pub fn user(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.user.as_str())
    }
}

const SESSION_COOKIE: &str = "tw_session";
const SECURE_SESSION_COOKIE: &str = "__Host-tw_session";

/// The session cookie's name: with the `__Host-` prefix under TLS (Secure, this host only).
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<Peer>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0 .0.ip().to_string())
}

async fn guard(
    State((app, info)): State<(AppState, RouteInfo)>,
    mut req: Request,
    next: Next,
) -> Response {
    let ip = client_ip(&req);
    let Access::Role(min) = info.access else {
        req.extensions_mut().insert(Ctx { session: None, ip });
        return next.run(req).await;
    };
    let session = match credential(&app, req.headers()) {
        Ok(s) => s,
        Err(e) => return refuse(&info, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let Some(session) = session else {
        if info.is_api() {
            return refuse(&info, StatusCode::UNAUTHORIZED, "log in first");
        }
        return Redirect::to("/login").into_response();
    };
    if info.changes_state() && !session.via_token {
        match csrf_checked(req, &session.csrf).await {
            Ok(r) => req = r,
            Err(()) => return refuse(&info, StatusCode::FORBIDDEN, "missing or wrong CSRF token"),
        }
    }
    if session.role < min {
        let msg = format!("this needs the {min} role; you are {}", session.role);
        return refuse(&info, StatusCode::FORBIDDEN, &msg);
    }
    req.extensions_mut().insert(Ctx {
        session: Some(session),
        ip,
    });
    next.run(req).await
}

/// The one authentication rule: an `Authorization: Bearer` API token when the request has
/// one (a wrong token is no credential, whatever cookie comes with it), else the session
/// cookie.
fn credential(app: &AppState, headers: &HeaderMap) -> Result<Option<Session>, crate::ConsoleError> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        return match token {
            Some(t) if !t.is_empty() => app.db().token_session(t, std::time::SystemTime::now()),
            _ => Ok(None),
        };
    }
    let token = cookie(headers, session_cookie_name(app.0.secure));
    Ok(token.map(|t| app.session(t)).transpose()?.flatten())
}

/// The largest form body the guard reads to find the CSRF field.
const MAX_FORM_BYTES: usize = 1 << 20;

/// The request, when it carries the session's CSRF token: in the `X-CSRF-Token` header, or
/// in a form field whose name starts with `csrf`.
async fn csrf_checked(req: Request, expected: &str) -> Result<Request, ()> {
    if let Some(v) = req.headers().get("x-csrf-token") {
        return match v.to_str() {
            Ok(t) if same_token(t, expected) => Ok(req),
            _ => Err(()),
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(());
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| ())?;
    let ok = form_urlencoded::parse(&bytes)
        .any(|(k, v)| k.starts_with("csrf") && same_token(&v, expected));
    if ok {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(())
    }
}

/// A refusal: JSON on API routes, a short page elsewhere.
pub fn refuse(info: &RouteInfo, status: StatusCode, msg: &str) -> Response {
    if info.is_api() {
        (status, Json(serde_json::json!({ "error": msg }))).into_response()
    } else {
        html::error_page(status, msg)
    }
}

/// The headers every answer carries: a Content-Security-Policy without inline script or
/// style, no framing, no MIME sniffing, no referrer, and no caching of anything but assets.
async fn security_headers(req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
