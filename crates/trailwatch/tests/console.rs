//! The console as a process: `users` manages its accounts in the store, `serve` answers on a
//! real socket (plain and TLS) with the login rules, cookies and headers of the console.

mod common;

use common::{run, run_with_stdin};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "a long enough password";

fn store_arg(dir: &Path) -> String {
    dir.display().to_string()
}

fn add_user(store: &str, name: &str, role: &str) {
    let r = run_with_stdin(
        &[
            "users",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--store",
            store,
        ],
        Some(format!("{PASSWORD}\n").into_bytes()),
    );
    r.assert_code(0);
}

#[test]
fn users_are_added_listed_changed_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_arg(dir.path());
    add_user(&store, "ada", "admin");
    add_user(&store, "vic", "viewer");
    let list = run(&["users", "list", "--store", &store]);
    list.assert_code(0);
    let names: Vec<(&str, &str)> = list
        .stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?, f.next()?))
        })
        .collect();
    assert_eq!(names, [("ada", "admin"), ("vic", "viewer")]);
    // The same name twice, a short password, an unknown role, a hostile name: refused.
    let again = run_with_stdin(
        &[
            "users",
            "add",
            "ada",
            "--role",
            "viewer",
            "--password-stdin",
            "--store",
            &store,
        ],
        Some(format!("{PASSWORD}\n").into_bytes()),
    );
    assert_eq!(again.code(), 1, "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let short = run_with_stdin(
        &[
            "users",
            "add",
            "bob",
            "--role",
            "viewer",
            "--password-stdin",
            "--store",
            &store,
        ],
        Some(b"short\n".to_vec()),
    );
    assert!(short.stderr.contains("12 characters"), "{}", short.stderr);
    let role = run_with_stdin(
        &[
            "users",
            "add",
            "bob",
            "--role",
            "root",
            "--password-stdin",
            "--store",
            &store,
        ],
        Some(format!("{PASSWORD}\n").into_bytes()),
    );
    assert!(role.stderr.contains("unknown role"), "{}", role.stderr);
    let name = run_with_stdin(
        &[
            "users",
            "add",
            "<b>\u{1b}[31m",
            "--role",
            "viewer",
            "--password-stdin",
            "--store",
            &store,
        ],
        Some(format!("{PASSWORD}\n").into_bytes()),
    );
    assert_eq!(name.code(), 1);
    assert!(!name.stderr.contains('\u{1b}'), "{}", name.stderr);
    // No password on the command line: --password-stdin is required.
    let flag = run(&["users", "add", "bob", "--role", "viewer", "--store", &store]);
    assert_eq!(flag.code(), 2, "{}", flag.stderr);
    let pw = run_with_stdin(
        &[
            "users",
            "passwd",
            "vic",
            "--password-stdin",
            "--store",
            &store,
        ],
        Some(b"another long password\n".to_vec()),
    );
    pw.assert_code(0);
    run(&["users", "remove", "vic", "--store", &store]).assert_code(0);
    let gone = run(&["users", "remove", "vic", "--store", &store]);
    assert!(gone.stderr.contains("no user"), "{}", gone.stderr);
    let list = run(&["users", "list", "--store", &store]);
    assert_eq!(list.stdout.lines().count(), 1, "{}", list.stdout);
    // The hash is Argon2id, and the password itself is nowhere in the database.
    let db = std::fs::read(dir.path().join("_console/console.sqlite")).expect("db");
    let text = String::from_utf8_lossy(&db);
    assert!(text.contains("$argon2id$"), "Argon2id hashes");
    assert!(!text.contains(PASSWORD));
}

/// The console database's bytes as text, its write-ahead log included (a killed server leaves
/// its last writes there).
fn console_db_text(store: &Path) -> String {
    let mut bytes = std::fs::read(store.join("_console/console.sqlite")).expect("db");
    bytes.extend(std::fs::read(store.join("_console/console.sqlite-wal")).unwrap_or_default());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A running `trailwatch serve`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(store: &str, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(["serve", "--store", store, "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve said where it listens")
            .expect("line");
        if let Some(rest) = line.split("://").nth(1) {
            let addr = rest.split('/').next().expect("address");
            break addr.parse().expect("socket address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

/// One HTTP/1.1 exchange over a fresh connection: the status line and headers, and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (head.to_string(), body.to_string())
}

fn header<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn cookie_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    header(head, "set-cookie").into_iter().find_map(|c| {
        let (k, v) = c.split(';').next()?.split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Logs in over the socket as a browser does; returns the session cookie and CSRF token.
fn login(addr: SocketAddr, user: &str) -> (String, String) {
    let (head, body) = http(addr, "GET", "/login", &[], "");
    let login_cookie = format!(
        "tw_login={}",
        cookie_value(&head, "tw_login").expect("cookie")
    );
    let token = body
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("token")
        .to_string();
    let form = format!(
        "csrf_token={token}&username={user}&password={}",
        PASSWORD.replace(' ', "+")
    );
    let ctype = ("content-type", "application/x-www-form-urlencoded");
    let (head, _) = http(
        addr,
        "POST",
        "/login",
        &[ctype, ("cookie", &login_cookie)],
        &form,
    );
    let cookie = format!(
        "tw_session={}",
        cookie_value(&head, "tw_session").expect("session")
    );
    let (_, me) = http(addr, "GET", "/api/v1/session", &[("cookie", &cookie)], "");
    let v: serde_json::Value = serde_json::from_str(&me).expect("json");
    (cookie, v["csrf_token"].as_str().expect("csrf").to_string())
}

#[test]
fn search_sql_and_the_overview_read_the_store_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let store_s = store_arg(&store);
    let evil = "<script>alert(1)</script>";
    let logs = dir.path().join("trail.jsonl");
    common::write_jsonl(
        &logs,
        &[
            common::ct_record("e1", "2026-11-20T10:00:00Z", "alice", "StopLogging"),
            common::ct_record("e2", "2026-11-20T10:01:00Z", "alice", "DeleteTrail"),
            common::ct_record("e3", "2026-11-20T10:02:00Z", evil, "CreateUser"),
        ],
    );
    run(&["ingest", "--store", &store_s, logs.to_str().expect("utf-8")]).assert_code(0);
    add_user(&store_s, "vic", "viewer");
    let server = serve(&store_s, &[]);
    let (cookie, csrf) = login(server.addr, "vic");
    let auth = [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())];
    let json = [auth[0], auth[1], ("content-type", "application/json")];

    let (head, body) = http(
        server.addr,
        "GET",
        "/api/v1/search?principal=arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Falice",
        &auth,
        "",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let col = v["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .position(|c| c == "action")
        .expect("action column");
    let actions: Vec<&str> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[col].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["StopLogging", "DeleteTrail"]);

    let q = serde_json::json!({"query": "SELECT action, count(*) AS n FROM events GROUP BY action ORDER BY action"}).to_string();
    let (head, body) = http(server.addr, "POST", "/api/v1/sql", &json, &q);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(3), "{v}");
    assert_eq!(v["truncated"], false);
    // Read-only: no DDL, DML or COPY, and the store is as it was.
    for bad in [
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO events SELECT * FROM events",
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "DROP TABLE events",
    ] {
        let (head, body) = http(
            server.addr,
            "POST",
            "/api/v1/sql",
            &json,
            &serde_json::json!({"query": bad}).to_string(),
        );
        assert!(head.starts_with("HTTP/1.1 400"), "{bad}: {head}\n{body}");
    }
    // Without the CSRF header the query is refused.
    let (head, _) = http(
        server.addr,
        "POST",
        "/api/v1/sql",
        &[auth[0], ("content-type", "application/json")],
        &q,
    );
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    // CSV download through the page's form.
    let form = format!("csrf_token={csrf}&query=SELECT+principal+FROM+events+ORDER+BY+time");
    let ctype = ("content-type", "application/x-www-form-urlencoded");
    let (head, body) = http(server.addr, "POST", "/sql/csv", &[auth[0], ctype], &form);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(header(&head, "content-disposition")[0].contains("attachment"));
    assert_eq!(body.lines().next(), Some("principal"), "{body}");
    assert!(body.contains("alice"));
    // The search page shows the hostile principal as text, linked only to its own search.
    let (_, page) = http(server.addr, "GET", "/search?action=CreateUser", &auth, "");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains(evil));
    assert!(
        page.contains("user%2F%3Cscript%3Ealert%281%29%3C%2Fscript%3E\">"),
        "{page}"
    );
    // The daily review of the trail's day, as a page and as JSON.
    let (head, page) = http(server.addr, "GET", "/review?day=2026-11-20", &auth, "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(page.contains("New principals (2)"), "{page}");
    assert!(!page.contains(evil), "{page}");
    let (head, _) = http(
        server.addr,
        "GET",
        "/api/v1/review?day=20-11-2026",
        &auth,
        "",
    );
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // The overview of the last 31 days: the three events on the chart and in the tops.
    let (head, body) = http(server.addr, "GET", "/api/v1/overview?hours=744", &auth, "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let rows = |k: &str| v[k]["rows"].as_array().cloned().unwrap_or_default();
    let per_hour: i64 = rows("per_hour")
        .iter()
        .map(|r| r[2].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(per_hour, 3, "{v}");
    assert!(
        rows("top_principals")[0][0]
            .as_str()
            .unwrap_or("")
            .ends_with("user/alice"),
        "{v}"
    );
    let (_, page) = http(server.addr, "GET", "/?hours=744", &auth, "");
    assert!(
        page.contains("<svg role=\"img\"") && page.contains("<polyline"),
        "{page}"
    );
    assert!(page.contains("aws: 3 events"), "{page}");
    assert!(!page.contains(evil), "{page}");
    drop(server);
    // The same review on the command line.
    let review = run(&["review", "--day", "2026-11-20", "--store", &store_s]);
    review.assert_code(0);
    for want in [
        "Daily review of 2026-11-20",
        "New principals: 2",
        "New access keys: 2",
        "Changes to logging and security services: 3",
    ] {
        assert!(review.stdout.contains(want), "{want}: {}", review.stdout);
    }
    let other_day = run(&["review", "--day", "2026-11-21", "--store", &store_s]);
    assert!(
        other_day.stdout.contains("New principals: 0"),
        "{}",
        other_day.stdout
    );
    // Today's review says what the analyst did: the SQL queries and the export.
    let today = Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .expect("date");
    let today = String::from_utf8_lossy(&today.stdout).trim().to_string();
    let json = run(&[
        "review", "--day", &today, "--store", &store_s, "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let did: Vec<(String, String)> = v["analysts"]
        .as_array()
        .expect("analysts")
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or("").into(),
                a["detail"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        did.iter()
            .any(|(a, d)| a == "sql" && d.contains("GROUP BY action")),
        "{did:?}"
    );
    assert!(
        did.iter()
            .any(|(a, d)| a == "export" && d.contains("principal")),
        "{did:?}"
    );
    assert!(did.iter().any(|(a, _)| a == "login"), "{did:?}");
}

#[test]
fn serve_logs_in_through_the_form_on_a_real_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_arg(dir.path());
    add_user(&store, "rui", "responder");
    let server = serve(&store, &[]);
    let (head, _) = http(server.addr, "GET", "/api/v1/alerts", &[], "");
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    let (head, _) = http(server.addr, "GET", "/alerts", &[], "");
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    assert_eq!(header(&head, "location"), ["/login"]);
    let (head, body) = http(server.addr, "GET", "/login", &[], "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(header(&head, "content-security-policy")[0].contains("frame-ancestors 'none'"));
    let login_cookie = cookie_value(&head, "tw_login")
        .expect("login cookie")
        .to_string();
    let token = body
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("token")
        .to_string();
    let form = format!(
        "csrf_token={token}&username=rui&password={}",
        PASSWORD.replace(' ', "+")
    );
    let cookie = format!("tw_login={login_cookie}");
    let ctype = ("content-type", "application/x-www-form-urlencoded");
    let (head, _) = http(
        server.addr,
        "POST",
        "/login",
        &[ctype, ("cookie", &cookie)],
        &form,
    );
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    let session = cookie_value(&head, "tw_session").expect("session cookie");
    let session_cookie = format!("tw_session={session}");
    let (head, body) = http(
        server.addr,
        "GET",
        "/api/v1/session",
        &[("cookie", &session_cookie)],
        "",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains(r#""user":"rui""#), "{body}");
    let (head, _) = http(
        server.addr,
        "GET",
        "/alerts",
        &[("cookie", &session_cookie)],
        "",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The audit log in the store has the login, with the client's address.
    drop(server);
    assert!(console_db_text(dir.path()).contains("127.0.0.1"));
}

#[test]
fn under_tls_the_session_cookie_is_secure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_arg(dir.path());
    add_user(&store, "ada", "admin");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (installed by .ci/test)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = serve(
        &store,
        &[
            "--tls-cert",
            cert.to_str().expect("utf-8"),
            "--tls-key",
            key.to_str().expect("utf-8"),
        ],
    );
    let port = server.addr.port();
    let jar = dir.path().join("jar.txt");
    let curl = |extra: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "-i", "--cacert"])
            .arg(&cert)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1"), "-c"])
            .arg(&jar)
            .arg("-b")
            .arg(&jar)
            .args(extra)
            .output()
            .expect("curl (installed by .ci/test)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let page = curl(&[&format!("https://localhost:{port}/login")]);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let set = header(&page, "set-cookie");
    assert!(
        set.iter()
            .all(|c| c.contains("; Secure") && c.contains("HttpOnly")),
        "{set:?}"
    );
    let token = page
        .split(r#"name="csrf_token" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("token")
        .to_string();
    let form = format!(
        "csrf_token={token}&username=ada&password={}",
        PASSWORD.replace(' ', "+")
    );
    let done = curl(&["--data", &form, &format!("https://localhost:{port}/login")]);
    assert!(done.starts_with("HTTP/1.1 303"), "{done}");
    let session = header(&done, "set-cookie")
        .into_iter()
        .find(|c| c.starts_with("__Host-tw_session="))
        .unwrap_or_else(|| panic!("a __Host- session cookie: {done}"))
        .to_string();
    for attr in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    let me = curl(&[&format!("https://localhost:{port}/api/v1/session")]);
    assert!(me.contains(r#""user":"ada""#), "{me}");
    // Plain HTTP to the TLS port gets no page.
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let _ = s.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("HTTP/1.1 200"));
}
