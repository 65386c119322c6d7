//! The watch's metrics endpoint, as a process: the watch serves the console on `[metrics]
//! listen`, and `/metrics` answers only a console API token (`users token`) or session, on
//! loopback too; the token is never logged; the console's pages come from the same server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_trailwatch");
const TOKEN: &str = "metrics-token-Zq81";
const PASSWORD: &str = "correct horse battery staple";

/// A configuration following an empty folder into a store, with `metrics` as its
/// `[metrics]` section.
fn config(dir: &Path, metrics: &str) -> std::path::PathBuf {
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let text = format!(
        "[store]\ndir = {:?}\n[watch]\npoll_interval = \"1s\"\n[metrics]\n{metrics}\n\
         [[sources]]\nname = \"inbox\"\nkind = \"local\"\npath = {:?}\n",
        dir.join("store").display().to_string(),
        inbox.display().to_string(),
    );
    let path = dir.join("trailwatch.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    // Signing keys go to the build's temporary folder, never the real configuration.
    cmd.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    cmd.args(args).env_remove("TW_TEST_METRICS_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run trailwatch")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_old_token_env_key_is_refused_naming_what_replaces_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = config(
        dir.path(),
        "listen = \"0.0.0.0:0\"\ntoken_env = \"TW_TEST_METRICS_TOKEN\"",
    );
    let old = old.to_str().expect("utf-8 path");
    for args in [
        vec!["watch", "--once", "--config", old],
        vec!["config", "check", old],
    ] {
        let out = run(&args, &[("TW_TEST_METRICS_TOKEN", TOKEN)]);
        assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(stderr(&out).contains("users token"), "{}", stderr(&out));
    }
}

/// Kills the watch (started here) when the test ends, however it ends.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: SocketAddr, path: &str, auth: Option<&str>) -> String {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let header = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    c.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{header}\r\n").as_bytes(),
    )
    .expect("write");
    let mut resp = String::new();
    c.read_to_string(&mut resp).expect("read");
    resp
}

/// `users add` (password on stdin) then `users token`: the token printed.
fn api_token(config: &Path) -> String {
    let config = config.to_str().expect("utf-8 path");
    let mut add = Command::new(BIN)
        .args([
            "users",
            "add",
            "prom",
            "--role",
            "viewer",
            "--password-stdin",
            "--config",
            config,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("users add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    let out = add.wait_with_output().expect("users add");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        &[
            "users",
            "token",
            "prom",
            "--label",
            "prometheus",
            "--config",
            config,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(token.starts_with("twk_") && token.len() > 40, "{token}");
    token
}

#[test]
fn metrics_answer_only_a_console_token_and_the_token_is_never_logged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let path = config(dir.path(), &format!("listen = \"127.0.0.1:{port}\""));
    let token = api_token(&path);
    let log = dir.path().join("watch.log");
    let child = Command::new(BIN)
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(["watch", "--config"])
        .arg(&path)
        .env("TRAILWATCH_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start watch");
    let mut watch = Watch(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = watch.0.try_wait() {
            panic!(
                "watch exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "metrics endpoint never came up");
        std::thread::sleep(Duration::from_millis(100));
    }
    // On loopback too, nothing without a credential.
    let none = get(addr, "/metrics", None);
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    let wrong = get(addr, "/metrics", Some("twk_0000"));
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let right = get(addr, "/metrics", Some(&token));
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    assert!(right.contains("content-security-policy"), "{right}");
    // The watch's own metrics, polled at least once, and the console's requests counted.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = get(addr, "/metrics", Some(&token));
        if m.contains("trailwatch_source_last_poll_timestamp_seconds{source=\"inbox\"}") {
            assert!(
                m.contains(
                    "trailwatch_console_requests_total{route=\"/metrics\",status=\"401\"} 2"
                ),
                "{m}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no poll metric: {m}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // One stack: the console's pages and API are there, behind the same rule.
    let api = get(addr, "/api/v1/alerts", Some(&token));
    assert!(api.starts_with("HTTP/1.1 200"), "{api}");
    let page = get(addr, "/alerts", None);
    assert!(page.starts_with("HTTP/1.1 303"), "{page}");
    // A revoked token opens nothing.
    let out = run(
        &[
            "users",
            "revoke-tokens",
            "prom",
            "--config",
            path.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let revoked = get(addr, "/metrics", Some(&token));
    assert!(revoked.starts_with("HTTP/1.1 401"), "{revoked}");
    drop(watch);
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("/metrics"), "{logged}");
    assert!(!logged.contains(&token), "the token was logged: {logged}");
}
