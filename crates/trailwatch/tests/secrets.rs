//! A Slack webhook URL (the secret behind `url_env`) against receivers that fail: it must not
//! reach the delivery warning on stderr (at any log level), the outbox file or
//! `trailwatch alerts show`.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_trailwatch");
const URL_ENV: &str = "TW_TEST_SLACK_URL";
/// The parts of the URL that make it a credential: workspace, channel and token.
const TOKEN: &str = "Zq7TokenOfTheHookXw91Lp";
const IDS: [&str; 2] = ["T0SECRETWS", "B0SECRETCH"];

const EVENT: &str = r#"{"eventVersion":"1.08","eventID":"11111111-0000-0000-0000-000000000001","eventTime":"2026-10-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"aws-cli","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"},"recipientAccountId":"111122223333","requestParameters":{"name":"main"}}"#;

fn secret_path() -> String {
    format!("/services/{}/{}/{TOKEN}", IDS[0], IDS[1])
}

/// A store, an inbox with one alerting event and a configuration whose only sink is Slack.
struct Setup {
    _tmp: tempfile::TempDir,
    config: PathBuf,
    store: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inbox = tmp.path().join("inbox");
    fs::create_dir_all(&inbox).expect("inbox");
    fs::write(inbox.join("events.jsonl"), format!("{EVENT}\n")).expect("event");
    let store = tmp.path().join("store");
    let config = tmp.path().join("trailwatch.toml");
    fs::write(
        &config,
        format!(
            "[store]\ndir = {store:?}\n[watch]\nretry_base = \"1s\"\nretry_max = \"1s\"\n[[sources]]\nname = \"inbox\"\nkind = \"local\"\npath = {inbox:?}\n\
             [[sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl_env = \"{URL_ENV}\"\n"
        ),
    )
    .expect("config");
    Setup {
        _tmp: tmp,
        config,
        store,
    }
}

fn trailwatch(args: &[&str], config: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    // Signing keys go to the build's temporary folder, never the real configuration.
    c.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    c.args(args).arg("--config").arg(config);
    c.env_remove("TRAILWATCH_LOG").env_remove(URL_ENV);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("trailwatch")
}

fn assert_secret_free(what: &str, text: &str) {
    for part in [TOKEN, IDS[0], IDS[1], secret_path().as_str()] {
        assert!(!text.contains(part), "{what} shows {part:?}:\n{text}");
    }
}

/// A port with nothing listening: the receiver is down.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A receiver answering every request 500, for `requests` requests.
fn failing_receiver(requests: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests).flatten() {
            answer_500(stream);
        }
    });
    port
}

fn answer_500(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut length = 0usize;
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        let l = line.trim_end().to_ascii_lowercase();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let _ = stream.write_all(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
}

/// One `watch --once` with the secret URL set and `extra` (logging flags and variables);
/// returns stderr, which must report one failed delivery.
fn watch_once(s: &Setup, url: &str, verbose: bool, log: Option<&str>) -> String {
    let mut args = vec!["watch", "--once"];
    if verbose {
        args.insert(0, "-v");
    }
    let mut env = vec![(URL_ENV, url)];
    if let Some(level) = log {
        env.push(("TRAILWATCH_LOG", level));
    }
    let out = trailwatch(&args, &s.config, &env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 failed"), "{stderr}");
    stderr
}

/// The delivery errors `alerts show` prints for the one alert.
fn shown_errors(s: &Setup, env: &[(&str, &str)]) -> Vec<String> {
    let out = trailwatch(&["alerts", "list", "--format", "json"], &s.config, env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let id = list[0]["alert"]["id"]
        .as_str()
        .expect("an alert")
        .to_string();
    let out = trailwatch(&["alerts", "show", &id], &s.config, env);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_secret_free("alerts show", &text);
    let shown: serde_json::Value = serde_json::from_str(&text).expect("json");
    shown["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter_map(|d| d["last_error"].as_str().map(str::to_string))
        .collect()
}

/// The outbox database, its WAL included, as bytes: no secret may be stored.
fn assert_outbox_secret_free(store: &Path) {
    let dir = store.join("_watch");
    let mut found = 0;
    for entry in fs::read_dir(&dir).expect("outbox dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("outbox.sqlite") {
            continue;
        }
        found += 1;
        let bytes = fs::read(entry.path()).expect("read outbox");
        let text = String::from_utf8_lossy(&bytes);
        assert_secret_free(&name, &text);
    }
    assert!(found >= 1, "no outbox in {}", dir.display());
}

#[test]
fn a_slack_receiver_that_is_down_never_shows_its_url() {
    let s = setup();
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}{}", secret_path());

    // Debug logging through the flag: the delivery warning is there, informative, secret-free.
    let stderr = watch_once(&s, &url, true, None);
    assert_secret_free("watch -v", &stderr);
    assert!(stderr.contains("DEBUG"), "debug logging is on:\n{stderr}");
    assert!(stderr.contains("delivery failed"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("Connection Failed"), "{stderr}");

    assert_outbox_secret_free(&s.store);
    // Shown with and without the secret in the environment (stored redacted either way).
    for env in [vec![], vec![(URL_ENV, url.as_str())]] {
        let errors = shown_errors(&s, &env);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("Connection Failed"), "{errors:?}");
    }
}

#[test]
fn a_slack_receiver_answering_500_never_shows_its_url_even_at_trace() {
    let s = setup();
    let port = failing_receiver(2);
    let url = format!("http://127.0.0.1:{port}{}", secret_path());
    // Everything, the HTTP client's own logging included, at the most verbose level.
    let stderr = watch_once(&s, &url, false, Some("trace"));
    assert_secret_free("watch at TRAILWATCH_LOG=trace", &stderr);
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "{stderr}"
    );
    assert!(stderr.contains("receiver answered HTTP 500"), "{stderr}");
    // The filter cannot bring the client's request log back either.
    let stderr = watch_once_again(&s, &url, "ureq=trace,ureq::unit=trace,debug");
    assert_secret_free("watch at TRAILWATCH_LOG=ureq=trace", &stderr);

    assert_outbox_secret_free(&s.store);
    let errors = shown_errors(&s, &[(URL_ENV, url.as_str())]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("500"), "{errors:?}");
}

/// A second `watch --once` on the same store, once the failed delivery's retry is due (1 s),
/// at log filter `log`.
fn watch_once_again(s: &Setup, url: &str, log: &str) -> String {
    std::thread::sleep(Duration::from_millis(1_200));
    let out = trailwatch(
        &["watch", "--once"],
        &s.config,
        &[(URL_ENV, url), ("TRAILWATCH_LOG", log)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 failed"), "the retry was made:\n{stderr}");
    stderr
}
