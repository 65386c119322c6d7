//! A console over a temporary store, and requests sent to its router without a socket, from
//! a chosen client address, with the cookies a browser would keep.
#![allow(dead_code)]

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use tower::ServiceExt;
use trailwatch_console::{ConsoleConfig, ConsoleDb, Peer, Role, SessionPolicy};
use trailwatch_model::{Alert, Provider, Severity};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestConsole {
    pub dir: tempfile::TempDir,
    pub router: Router,
}

pub fn alert(id: &str, severity: Severity, principal: &str, title: &str) -> Alert {
    Alert {
        id: id.to_string(),
        rule_id: "aws_cloudtrail_stop_logging".to_string(),
        title: title.to_string(),
        severity,
        first_seen: "2026-11-20T10:00:00Z".to_string(),
        last_seen: "2026-11-20T10:05:00Z".to_string(),
        count: 3,
        event_ids: vec!["e1".to_string(), "e2".to_string()],
        provider: Provider::Aws,
        account: Some("123456789012".to_string()),
        region: Some("eu-west-1".to_string()),
        principal: principal.to_string(),
        source_ips: vec!["198.51.100.7".to_string()],
        actions: vec!["StopLogging".to_string()],
        resources: vec!["arn:aws:cloudtrail:eu-west-1:123456789012:trail/main".to_string()],
        tags: vec!["attack.defense_evasion".to_string()],
        description: "CloudTrail logging was stopped.".to_string(),
    }
}

impl TestConsole {
    /// A store with users `ada` (admin), `rui` (responder), `vic` (viewer) and the alerts
    /// given, in the watch's outbox.
    pub fn new(alerts: &[Alert]) -> TestConsole {
        Self::with_policy(alerts, None)
    }

    pub fn with_policy(alerts: &[Alert], policy: Option<SessionPolicy>) -> TestConsole {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::in_dir(dir, alerts, policy)
    }

    /// As [`TestConsole::new`], over a store holding the CloudTrail `records` (one file of
    /// `{"Records": […]}`), ingested as `trailwatch store ingest` does.
    pub fn with_store(alerts: &[Alert], records: &serde_json::Value) -> TestConsole {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = tempfile::tempdir().expect("tempdir");
        let file = logs.path().join("trail.json");
        std::fs::write(&file, records.to_string()).expect("write records");
        let keys = trailwatch_store::KeySource::Dir(
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trailwatch-test-keys"),
        );
        let mut store = trailwatch_store::Store::create(dir.path(), &keys).expect("store");
        let (inputs, errors) = trailwatch_decode::expand_inputs(&[file]);
        assert!(errors.is_empty() && !inputs.is_empty(), "{errors:?}");
        let report = store
            .ingest(&inputs, &trailwatch_store::IngestOptions::default())
            .expect("ingest");
        assert!(report.added > 0, "{report:?}");
        drop(store);
        Self::in_dir(dir, alerts, None)
    }

    /// As [`TestConsole::new`], with the rules and suppressions of a watch configuration.
    pub fn with_watch(alerts: &[Alert], watch: trailwatch_watch::Config) -> TestConsole {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::in_dir_with(dir, alerts, None, watch)
    }

    fn in_dir(
        dir: tempfile::TempDir,
        alerts: &[Alert],
        policy: Option<SessionPolicy>,
    ) -> TestConsole {
        Self::in_dir_with(dir, alerts, policy, trailwatch_watch::Config::default())
    }

    fn in_dir_with(
        dir: tempfile::TempDir,
        alerts: &[Alert],
        policy: Option<SessionPolicy>,
        watch: trailwatch_watch::Config,
    ) -> TestConsole {
        {
            let mut db = ConsoleDb::open(dir.path()).expect("console db");
            for (name, role) in [
                ("ada", Role::Admin),
                ("rui", Role::Responder),
                ("vic", Role::Viewer),
            ] {
                db.add_user(name, role, PASSWORD).expect("add user");
            }
        }
        let mut outbox = trailwatch_watch::open_outbox(dir.path()).expect("outbox");
        for a in alerts {
            outbox.enqueue(a, &[], SystemTime::now()).expect("enqueue");
        }
        let mut config = ConsoleConfig::new(dir.path().to_path_buf());
        if let Some(p) = policy {
            config.session = p;
        }
        config.watch = watch;
        let console = config.build().expect("console");
        TestConsole {
            router: console.router(),
            dir,
        }
    }

    pub async fn send(&self, req: Req) -> Resp {
        let mut b = Request::builder().method(req.method).uri(&req.uri);
        if let Some(c) = &req.cookie {
            b = b.header(header::COOKIE, c);
        }
        if let Some(t) = &req.csrf_header {
            b = b.header("x-csrf-token", t);
        }
        if let Some(t) = &req.bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match req.body {
            Body2::Empty => Body::empty(),
            Body2::Form(f) => {
                b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(f)
            }
            Body2::Json(j) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(j)
            }
        };
        let mut request = b.body(body).expect("request");
        request.extensions_mut().insert(ConnectInfo(Peer(req.from)));
        let res = self.router.clone().oneshot(request).await.expect("answer");
        let status = res.status();
        let headers = res.headers().clone();
        let body = to_bytes(res.into_body(), 16 << 20).await.expect("body");
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Logs in through the form, as a browser does: the login page's cookie and token, then
    /// the post. Returns the session.
    pub async fn login_from(
        &self,
        user: &str,
        password: &str,
        from: &str,
    ) -> Result<Browser, Resp> {
        let form = self.send(Req::get("/login").from(from)).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let login_cookie = form.cookie("tw_login").expect("login cookie");
        let token = between(&form.body, r#"name="csrf_token" value=""#, "\"").expect("token");
        let body = format!(
            "csrf_token={}&username={}&password={}",
            token,
            enc(user),
            enc(password)
        );
        let res = self
            .send(
                Req::post("/login")
                    .form(&body)
                    .cookie(&format!("tw_login={login_cookie}"))
                    .from(from),
            )
            .await;
        if res.status != StatusCode::SEE_OTHER {
            return Err(res);
        }
        let session = res.cookie("tw_session").expect("session cookie");
        let cookie = format!("tw_session={session}");
        let me = self.send(Req::get("/api/v1/session").cookie(&cookie)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        let v: serde_json::Value = serde_json::from_str(&me.body).expect("json");
        Ok(Browser {
            cookie,
            csrf: v["csrf_token"].as_str().expect("csrf").to_string(),
            set_cookie: res.set_cookies(),
        })
    }

    pub async fn login(&self, user: &str) -> Browser {
        match self.login_from(user, PASSWORD, "127.0.0.1").await {
            Ok(b) => b,
            Err(r) => panic!("login of {user}: {} {}", r.status, r.body),
        }
    }
}

/// A logged-in client: its session cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
    /// The Set-Cookie headers of the login answer.
    pub set_cookie: Vec<String>,
}

pub enum Body2 {
    Empty,
    Form(String),
    Json(String),
}

pub struct Req {
    pub method: Method,
    pub uri: String,
    pub cookie: Option<String>,
    pub csrf_header: Option<String>,
    pub bearer: Option<String>,
    pub body: Body2,
    pub from: SocketAddr,
}

impl Req {
    pub fn new(method: Method, uri: &str) -> Req {
        Req {
            method,
            uri: uri.to_string(),
            cookie: None,
            csrf_header: None,
            bearer: None,
            body: Body2::Empty,
            from: SocketAddr::from(([127, 0, 0, 1], 40000)),
        }
    }
    pub fn get(uri: &str) -> Req {
        Req::new(Method::GET, uri)
    }
    pub fn post(uri: &str) -> Req {
        Req::new(Method::POST, uri)
    }
    pub fn bearer(mut self, t: &str) -> Req {
        self.bearer = Some(t.to_string());
        self
    }
    pub fn cookie(mut self, c: &str) -> Req {
        self.cookie = Some(c.to_string());
        self
    }
    pub fn csrf(mut self, t: &str) -> Req {
        self.csrf_header = Some(t.to_string());
        self
    }
    pub fn form(mut self, f: &str) -> Req {
        self.body = Body2::Form(f.to_string());
        self
    }
    pub fn json(mut self, j: serde_json::Value) -> Req {
        self.body = Body2::Json(j.to_string());
        self
    }
    pub fn from(mut self, ip: &str) -> Req {
        self.from = SocketAddr::new(ip.parse().expect("ip"), 40000);
        self
    }
    /// As `b`: its cookie and its CSRF header.
    pub fn by(self, b: &Browser) -> Req {
        let csrf = b.csrf.clone();
        self.cookie(&b.cookie).csrf(&csrf)
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let first = c.split(';').next()?;
            let (k, v) = first.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The elements the console's templates write; anything else came from a value.
pub const OUR_TAGS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "link",
    "body",
    "header",
    "nav",
    "ul",
    "li",
    "a",
    "form",
    "input",
    "button",
    "main",
    "h1",
    "h2",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "div",
    "label",
    "h3",
    "ol",
    "select",
    "option",
    "textarea",
    "dl",
    "dt",
    "dd",
    "p",
    "pre",
    "code",
    "section",
    "span",
    "svg",
    "details",
    "summary",
    "figure",
    "figcaption",
    "desc",
    "rect",
    "polyline",
    "br",
    "small",
    "strong",
];

/// Each tag of `html`: its name and attributes (values unquoted, still escaped).
pub fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let inner = rest[start + 1..start + len].trim_start_matches('/');
        rest = &rest[start + len + 1..];
        let mut parts = inner.splitn(2, char::is_whitespace);
        let name = parts.next().unwrap_or("").to_lowercase();
        let mut attrs = Vec::new();
        let mut a = parts.next().unwrap_or("").trim();
        while !a.is_empty() {
            let end = a
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(a.len());
            let key = a[..end].to_lowercase();
            a = &a[end..];
            let mut value = String::new();
            if let Some(v) = a.strip_prefix('=') {
                if let Some(q) = v.strip_prefix('"') {
                    let close = q.find('"').unwrap_or(q.len());
                    value = q[..close].to_string();
                    a = q.get(close + 1..).unwrap_or("");
                } else {
                    let close = v.find(char::is_whitespace).unwrap_or(v.len());
                    value = v[..close].to_string();
                    a = &v[close..];
                }
            }
            attrs.push((key, value));
            a = a.trim_start();
        }
        out.push((name, attrs));
    }
    out
}

/// Nothing in `html` can run: only the templates' own elements, no event-handler attribute,
/// every link and form target a path on the console. The payloads are there, as text.
pub fn assert_inert(html: &str) {
    for (name, attrs) in tags(html) {
        assert!(
            OUR_TAGS.contains(&name.as_str()),
            "element <{name}> from a value in:\n{html}"
        );
        for (k, v) in attrs {
            assert!(!k.starts_with("on"), "handler {k} on <{name}> in:\n{html}");
            if matches!(k.as_str(), "href" | "src" | "action") {
                assert!(
                    v.starts_with('/'),
                    "{k}={v:?} on <{name}> leaves the console:\n{html}"
                );
            }
        }
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the payload is shown as text:\n{html}"
    );
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// Percent-encodes a form value.
pub fn enc(s: &str) -> String {
    trailwatch_escape::url_component(s)
}

pub fn short_sessions() -> SessionPolicy {
    SessionPolicy {
        ttl: Duration::from_secs(2),
        idle: Duration::from_secs(3600),
    }
}
