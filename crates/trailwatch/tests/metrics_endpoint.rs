//! The watch's metrics endpoint, as a process: it refuses to start beyond loopback without a
//! token, and with one it answers only requests carrying it, without ever logging it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_trailwatch");
const TOKEN: &str = "metrics-token-Zq81";

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
fn beyond_loopback_without_a_token_the_watch_does_not_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let open = config(dir.path(), "listen = \"0.0.0.0:0\"");
    let open = open.to_str().expect("utf-8 path");
    let out = run(&["watch", "--once", "--config", open], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("token_env"), "{}", stderr(&out));
    let out = run(&["config", "check", open], &[]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("token_env"), "{}", stderr(&out));

    // token_env naming a variable that is not set: refused too, naming the variable.
    let dir = tempfile::tempdir().expect("temp dir");
    let unset = config(
        dir.path(),
        "listen = \"0.0.0.0:0\"\ntoken_env = \"TW_TEST_METRICS_TOKEN\"",
    );
    let unset = unset.to_str().expect("utf-8 path");
    let out = run(&["watch", "--once", "--config", unset], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("TW_TEST_METRICS_TOKEN, which is not set"),
        "{}",
        stderr(&out)
    );
    let out = run(&["config", "check", unset], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = run(
        &["config", "check", unset],
        &[("TW_TEST_METRICS_TOKEN", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Kills the watch (started here) when the test ends, however it ends.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: SocketAddr, auth: Option<&str>) -> String {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let header = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    c.write_all(format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{header}\r\n").as_bytes())
        .expect("write");
    let mut resp = String::new();
    c.read_to_string(&mut resp).expect("read");
    resp
}

#[test]
fn with_a_token_only_requests_carrying_it_get_metrics_and_the_token_is_never_logged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let path = config(
        dir.path(),
        &format!("listen = \"0.0.0.0:{port}\"\ntoken_env = \"TW_TEST_METRICS_TOKEN\""),
    );
    let log = dir.path().join("watch.log");
    let child = Command::new(BIN)
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(["watch", "--config"])
        .arg(&path)
        .env("TW_TEST_METRICS_TOKEN", TOKEN)
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
    let none = get(addr, None);
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    let wrong = get(addr, Some("metrics-token-Zq82"));
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let right = get(addr, Some(TOKEN));
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    assert!(right.contains("# TYPE "), "{right}");
    drop(watch);
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("metrics on http://"), "{logged}");
    assert!(!logged.contains(TOKEN), "the token was logged: {logged}");
}
