//! The console in a real browser: `watch --once` raises an alert from a trail whose user name
//! is markup, `serve` shows it, and headless Chromium (Selenium with Debian's chromedriver,
//! both installed by `.ci/test`) logs in, checks nothing ran, opens the incident, resolves it,
//! follows the principal to its search, runs SQL, opens the daily review and the overview
//! and logs out. Screenshots of each page go to
//! `console-screenshots/` in the target directory.

mod common;

use common::{run, run_with_stdin};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const PASSWORD: &str = "a long enough password";
const EVIL: &str = "<script>alert('user')</script><img src=x onerror=alert(2)>";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(store: &str) -> (Server, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(["serve", "--store", store, "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve said where it listens")
            .expect("line");
        if let Some(rest) = line.split("://").nth(1) {
            break rest
                .split('/')
                .next()
                .expect("address")
                .parse()
                .expect("address");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Server(child), addr)
}

fn watch_once(cwd: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(["watch", "--once"])
        .current_dir(cwd)
        .output()
        .expect("watch");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_browser_logs_in_triages_an_alert_to_resolved_searches_and_queries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    watch_once(tmp.path());
    let record = serde_json::json!({
        "eventVersion": "1.08", "eventID": "11111111-0000-0000-0000-0000000000b1",
        "eventTime": "2026-10-01T10:00:00Z", "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.9",
        "userAgent": "javascript:alert(3)",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{EVIL}"),
                         "accountId": "111122223333", "userName": EVIL},
        "recipientAccountId": "111122223333", "requestParameters": {"name": "main"}
    });
    std::fs::write(
        tmp.path().join("trailwatch-inbox/events.jsonl"),
        format!("{record}\n"),
    )
    .expect("write");
    watch_once(tmp.path());
    let store = tmp.path().join("trailwatch-data");
    let store = store.to_str().expect("utf-8");
    let listed = run(&["alerts", "list", "--store", store, "--format", "jsonl"]);
    let alerts = common::jsonl(&listed.stdout, "alerts");
    assert_eq!(alerts.len(), 1, "{}", listed.stdout);
    let id = alerts[0]["alert"]["id"].as_str().expect("id").to_string();
    assert!(alerts[0]["alert"]["principal"]
        .as_str()
        .unwrap_or("")
        .contains("<script>"));
    run_with_stdin(
        &[
            "users",
            "add",
            "rui",
            "--role",
            "responder",
            "--password-stdin",
            "--store",
            store,
        ],
        Some(format!("{PASSWORD}\n").into_bytes()),
    )
    .assert_code(0);
    let (_server, addr) = serve(store);
    let shots = concat!(env!("CARGO_TARGET_TMPDIR"), "/../console-screenshots");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/console_browser.py");
    // axe-core from npm (.ci/test installs it, pinned): its path in TRAILWATCH_AXE, else the
    // cache .ci/test uses.
    let axe = std::env::var_os("TRAILWATCH_AXE").map_or_else(
        || {
            Path::new(&std::env::var_os("HOME").expect("HOME"))
                .join(".cache/trailwatch/axe/node_modules/axe-core/axe.min.js")
        },
        std::path::PathBuf::from,
    );
    assert!(
        axe.is_file(),
        "axe-core is missing at {} (installed by .ci/test)",
        axe.display()
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("http://{addr}"))
        .args(["rui", PASSWORD, &id, shots])
        .arg(tmp.path().join("profile"))
        .arg(&axe)
        .output()
        .expect("python3 with selenium (installed by .ci/test)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "login", "alerts", "incident", "search", "rules", "sql", "review", "overview",
    ] {
        let p = Path::new(shots).join(format!("{page}.png"));
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "screenshot {}", p.display());
    }
    let after = run(&["alerts", "show", &id, "--store", store]);
    let shown: serde_json::Value = serde_json::from_str(&after.stdout).expect("json");
    assert_eq!(shown["state"], "resolved");
    assert_eq!(shown["resolved_by"], "rui");
    assert_eq!(shown["notes"][0]["text"], "contained: key disabled");
}
