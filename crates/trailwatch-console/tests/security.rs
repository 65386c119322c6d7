//! The console's security rules, on every route of its router: authentication, CSRF, roles,
//! login rate limits, sessions, headers.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use trailwatch_console::{
    routes, Access, ConsoleDb, RouteInfo, MAX_FAILURES_PER_IP, MAX_FAILURES_PER_USER,
};
use trailwatch_model::Severity;

/// A concrete path for a route: parameters filled with values that exist nowhere.
fn concrete(r: &RouteInfo) -> String {
    r.path
        .replace("{id}", "no-such-alert")
        .replace("{action}", "ack")
        .replace("{name}", "nobody")
}

fn guarded() -> Vec<RouteInfo> {
    routes()
        .into_iter()
        .filter(|r| r.access != Access::Public)
        .collect()
}

#[test]
fn only_login_and_the_stylesheet_are_public() {
    let public: Vec<(Method, &str)> = routes()
        .into_iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        public,
        [
            (Method::GET, "/login"),
            (Method::POST, "/login"),
            (Method::GET, "/assets/style.css")
        ]
    );
    assert!(routes().len() > 15, "the table lists the whole console");
}

#[tokio::test]
async fn every_route_refuses_an_anonymous_request() {
    let c = TestConsole::new(&[alert("a1", Severity::High, "p", "t")]);
    let routes = guarded();
    for r in &routes {
        let mut req = Req::new(r.method.clone(), &concrete(r));
        if r.changes_state() {
            // Even with a token-shaped field: no session, no entry.
            req = req.form("csrf_token=0000").csrf("0000");
        }
        let res = c.send(req).await;
        if r.is_api() {
            assert_eq!(
                res.status,
                StatusCode::UNAUTHORIZED,
                "{} {}",
                r.method,
                r.path
            );
            assert!(res.json()["error"].is_string());
        } else {
            assert_eq!(res.status, StatusCode::SEE_OTHER, "{} {}", r.method, r.path);
            assert_eq!(res.location(), Some("/login"), "{} {}", r.method, r.path);
        }
        // Nor does a made-up API token, or a forged or stale cookie, open anything.
        for forged in [
            Req::new(r.method.clone(), &concrete(r)).bearer("twk_0123456789abcdef"),
            Req::new(r.method.clone(), &concrete(r)).cookie("tw_session=deadbeef"),
        ] {
            let res = c.send(forged).await;
            assert!(
                matches!(res.status, StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER),
                "{} {}: {}",
                r.method,
                r.path,
                res.status
            );
        }
    }
    assert!(routes.iter().any(|r| r.is_api()) && routes.iter().any(|r| !r.is_api()));
}

#[tokio::test]
async fn every_state_changing_route_needs_the_csrf_token() {
    let c = TestConsole::new(&[alert("a1", Severity::High, "p", "t")]);
    let admin = c.login("ada").await;
    let mut changing: Vec<RouteInfo> = guarded()
        .into_iter()
        .filter(|r| r.changes_state())
        .collect();
    // Logout last: its positive check ends the session.
    changing.sort_by_key(|r| r.path == "/logout");
    assert!(changing.len() >= 6, "{changing:?}");
    for r in &changing {
        let path = concrete(r);
        let what = format!("{} {}", r.method, r.path);
        let no_token = c
            .send(
                Req::new(r.method.clone(), &path)
                    .cookie(&admin.cookie)
                    .form("comment=x"),
            )
            .await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN, "{what}");
        assert!(no_token.body.contains("CSRF"), "{what}: {}", no_token.body);
        let wrong_header = c
            .send(
                Req::new(r.method.clone(), &path)
                    .cookie(&admin.cookie)
                    .csrf("0123abcd"),
            )
            .await;
        assert_eq!(wrong_header.status, StatusCode::FORBIDDEN, "{what}");
        let wrong_field = c
            .send(
                Req::new(r.method.clone(), &path)
                    .cookie(&admin.cookie)
                    .form(&format!("csrf_token={}x", admin.csrf)),
            )
            .await;
        assert_eq!(wrong_field.status, StatusCode::FORBIDDEN, "{what}");
        // The same request with the session's token passes the guard (it may still fail on
        // its own terms: no such alert, an empty form).
        let right = c
            .send(
                Req::new(r.method.clone(), &path)
                    .cookie(&admin.cookie)
                    .form(&format!("csrf_token={}", admin.csrf)),
            )
            .await;
        assert_ne!(
            right.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            right.body
        );
        assert_ne!(right.status, StatusCode::UNAUTHORIZED, "{what}");
    }
}

#[tokio::test]
async fn the_login_form_needs_its_own_csrf_token() {
    let c = TestConsole::new(&[]);
    let body = format!("csrf_token=abc&username=ada&password={}", enc(PASSWORD));
    let res = c.send(Req::post("/login").form(&body)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = c
        .send(Req::post("/login").form(&body).cookie("tw_login=abd"))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.cookie("tw_session").is_none());
}

#[tokio::test]
async fn roles_limit_what_each_user_may_do() {
    let c = TestConsole::new(&[
        alert("a1", Severity::High, "p", "t"),
        alert("a2", Severity::Low, "p", "t"),
    ]);
    let viewer = c.login("vic").await;
    let responder = c.login("rui").await;
    let admin = c.login("ada").await;

    // A viewer reads, and cannot triage.
    assert_eq!(
        c.send(Req::get("/api/v1/alerts").by(&viewer)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        c.send(Req::get("/alerts/a1").by(&viewer)).await.status,
        StatusCode::OK
    );
    let res = c.send(Req::post("/api/v1/alerts/a1/ack").by(&viewer)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let res = c
        .send(
            Req::post("/alerts/a1/resolve")
                .cookie(&viewer.cookie)
                .form(&format!("csrf_token={}", viewer.csrf)),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let shown = c.send(Req::get("/alerts").by(&viewer)).await;
    assert!(
        !shown.body.contains("/alerts/bulk"),
        "no triage form for a viewer"
    );

    // A responder triages, and cannot manage users or read the audit log.
    let res = c
        .send(
            Req::post("/api/v1/alerts/a1/ack")
                .by(&responder)
                .json(serde_json::json!({"comment": "on it"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["state"], "acked");
    assert_eq!(res.json()["acked_by"], "rui");
    assert_eq!(res.json()["notes"][0]["text"], "on it");
    for (m, p) in [
        (Method::GET, "/users"),
        (Method::GET, "/api/v1/users"),
        (Method::GET, "/audit"),
        (Method::GET, "/api/v1/audit"),
        (Method::POST, "/users"),
        (Method::POST, "/users/vic/remove"),
    ] {
        let res = c
            .send(
                Req::new(m.clone(), p)
                    .by(&responder)
                    .form("name=eve&role=admin&password=aaaaaaaaaaaaaaaa"),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{m} {p}");
    }
    let users = c.send(Req::get("/api/v1/users").by(&admin)).await.json();
    assert_eq!(users.as_array().map(Vec::len), Some(3), "{users}");

    // The admin sees who did what.
    let audit = c.send(Req::get("/api/v1/audit").by(&admin)).await.json();
    let actions: Vec<(String, String)> = audit
        .as_array()
        .expect("list")
        .iter()
        .map(|a| {
            (
                a["who"].as_str().unwrap_or("").to_string(),
                a["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for want in [
        ("rui", "ack"),
        ("rui", "comment"),
        ("vic", "login"),
        ("ada", "login"),
    ] {
        assert!(
            actions.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn failed_logins_are_limited_per_user_and_per_address() {
    let c = TestConsole::new(&[]);
    for _ in 0..MAX_FAILURES_PER_USER {
        let r = c
            .login_from("rui", "wrong password!!", "10.0.0.1")
            .await
            .expect_err("wrong");
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // The right password no longer opens rui's account, from anywhere.
    let r = c
        .login_from("rui", PASSWORD, "10.0.0.2")
        .await
        .expect_err("limited");
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Other users are not locked out by it.
    c.login_from("vic", PASSWORD, "10.0.0.1")
        .await
        .expect("vic");

    // Per address: failures spread over many names.
    for i in 0..MAX_FAILURES_PER_IP {
        let r = c
            .login_from(&format!("guess{i}"), "wrong password!!", "10.9.9.9")
            .await
            .expect_err("wrong");
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = c
        .login_from("ada", PASSWORD, "10.9.9.9")
        .await
        .expect_err("limited");
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    c.login_from("ada", PASSWORD, "10.0.0.3")
        .await
        .expect("ada from elsewhere");
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let c = TestConsole::new(&[]);
    let b = c.login("vic").await;
    let other = c.login("vic").await;
    let res = c
        .send(
            Req::post("/logout")
                .cookie(&b.cookie)
                .form(&format!("csrf_token={}", b.csrf)),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/login"));
    // The old cookie, replayed, opens nothing.
    let res = c.send(Req::get("/api/v1/session").cookie(&b.cookie)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = c.send(Req::get("/alerts").cookie(&b.cookie)).await;
    assert_eq!(res.location(), Some("/login"));
    // Another session of the same user lives on.
    assert_eq!(
        c.send(Req::get("/api/v1/session").cookie(&other.cookie))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sessions_expire() {
    let c = TestConsole::with_policy(&[], Some(short_sessions()));
    let b = c.login("vic").await;
    assert_eq!(
        c.send(Req::get("/api/v1/session").cookie(&b.cookie))
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        c.send(Req::get("/api/v1/session").cookie(&b.cookie))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn cookies_and_headers_are_strict() {
    let c = TestConsole::new(&[]);
    let b = c.login("vic").await;
    let session = b
        .set_cookie
        .iter()
        .find(|s| s.starts_with("tw_session="))
        .expect("cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Secure"), "no TLS here: {session}");
    for res in [
        c.send(Req::get("/login")).await,
        c.send(Req::get("/alerts").by(&b)).await,
        c.send(Req::get("/api/v1/alerts").by(&b)).await,
        c.send(Req::get("/nowhere")).await,
        c.send(Req::get("/alerts")).await,
    ] {
        let csp = res
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(
            res.headers
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff")
        );
    }
    let css = c.send(Req::get("/assets/style.css")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains("table"));
}

#[tokio::test]
async fn api_tokens_act_with_their_users_role_and_die_with_them() {
    let c = TestConsole::new(&[alert("a1", Severity::High, "p", "t")]);
    let (viewer, responder) = {
        let mut db = ConsoleDb::open(c.dir.path()).expect("db");
        let now = std::time::SystemTime::now();
        (
            db.create_token("vic", "prometheus", now).expect("token"),
            db.create_token("rui", "script", now).expect("token"),
        )
    };
    // Reading, /metrics included, with a viewer's token (the answer to the first request is
    // counted once it is made).
    assert_eq!(
        c.send(Req::get("/metrics")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let m = c.send(Req::get("/metrics").bearer(&viewer)).await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.body);
    assert!(
        m.body
            .contains("trailwatch_console_requests_total{route=\"/metrics\",status=\"401\"} 1"),
        "{}",
        m.body
    );
    assert!(
        c.send(Req::get("/api/v1/alerts").bearer(&viewer))
            .await
            .status
            == StatusCode::OK
    );
    // The role is the user's: a viewer's token cannot triage, a responder's can, without a
    // CSRF token (a browser never sends a bearer token on its own).
    let ack = |t: &str| {
        Req::post("/api/v1/alerts/a1/ack")
            .json(serde_json::json!({"comment": "seen"}))
            .bearer(t)
    };
    assert_eq!(c.send(ack(&viewer)).await.status, StatusCode::FORBIDDEN);
    let res = c.send(ack(&responder)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // A bad token is judged alone: a valid session cookie beside it does not rescue it.
    let ada = c.login("ada").await;
    let mixed = c
        .send(
            Req::get("/api/v1/alerts")
                .cookie(&ada.cookie)
                .bearer("twk_nope"),
        )
        .await;
    assert_eq!(mixed.status, StatusCode::UNAUTHORIZED);
    // Removing the user revokes the tokens.
    ConsoleDb::open(c.dir.path())
        .expect("db")
        .remove_user("vic")
        .expect("remove");
    let gone = c.send(Req::get("/metrics").bearer(&viewer)).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
    assert!(ConsoleDb::open(c.dir.path())
        .expect("db")
        .create_token("nobody", "x", std::time::SystemTime::now())
        .is_err());
}
