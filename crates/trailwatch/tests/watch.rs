//! `trailwatch watch` end to end, as a process: simulated CloudTrail files land in a moto S3
//! bucket (PyPI `moto[server]`, started here) and simulated Activity Log lines are appended to
//! hourly blobs in Azurite (npm) while the watcher runs; a real HTTP webhook
//! receiver fails for a while, then recovers; the watcher is killed with SIGKILL in the middle
//! and restarted. Every incident must reach the receiver exactly once, signed, and every
//! event must be stored once. Also: the built-in defaults, `alerts`, `config check`, SIGTERM.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trailwatch_model::Alert;
use trailwatch_sim::{simulate, Providers, SimOptions};

// moto, Azurite and their Python clients, shared with the watch crate's own tests.
#[path = "../../trailwatch-watch/tests/common/mod.rs"]
mod watch_common;
use watch_common::{expected_incidents, Azurite, Moto, AZURITE_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_trailwatch");
const SECRET: &str = "s3cr3t-for-the-test";

/// Uploads `files` under `root` with their paths below it as keys.
fn upload(moto: &Moto, bucket: &str, root: &Path, files: &[PathBuf]) {
    let pairs: Vec<(&Path, String)> = files
        .iter()
        .map(|p| {
            let key = p.strip_prefix(root).expect("under root");
            (p.as_path(), key.to_string_lossy().into_owned())
        })
        .collect();
    moto.upload(bucket, &pairs);
}

// ---------- the webhook receiver ----------

#[derive(Default)]
struct Received {
    /// Alerts taken (answered 200), in order.
    taken: Vec<Alert>,
    /// Requests refused while "down".
    refused: usize,
    /// Requests whose signature did not verify.
    bad_signatures: usize,
}

/// An HTTP receiver that answers 503 until `up` is set, then 200, verifying signatures.
struct Receiver {
    addr: String,
    log: Arc<Mutex<Received>>,
    stop: Arc<AtomicBool>,
    up: Arc<AtomicBool>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        listener.set_nonblocking(true).expect("nonblocking");
        let log = Arc::new(Mutex::new(Received::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let up = Arc::new(AtomicBool::new(false));
        let (l2, s2, u2) = (Arc::clone(&log), Arc::clone(&stop), Arc::clone(&up));
        std::thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        handle(conn, &l2, !u2.load(Ordering::SeqCst));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver {
            addr,
            log,
            stop,
            up,
        }
    }

    fn taken(&self) -> Vec<Alert> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .taken
            .clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn handle(conn: TcpStream, log: &Mutex<Received>, down: bool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut r = BufReader::new(conn);
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let (mut len, mut sig, mut key) = (0usize, String::new(), String::new());
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case(trailwatch_sink::sinks::SIGNATURE_HEADER) {
                sig = v.trim().to_string();
            } else if k.eq_ignore_ascii_case(trailwatch_sink::sinks::IDEMPOTENCY_HEADER) {
                key = v.trim().to_string();
            }
        }
    }
    let mut body = vec![0; len];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let mut g = log.lock().unwrap_or_else(|e| e.into_inner());
    if down {
        g.refused += 1;
        let _ = out.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let expected = trailwatch_sink::sinks::sign(SECRET.as_bytes(), &body).unwrap_or_default();
    if sig != expected {
        g.bad_signatures += 1;
    }
    match serde_json::from_slice::<Alert>(&body) {
        // The idempotency key is the alert's id (receivers drop repeats by it).
        Ok(a) if a.id != key => g.bad_signatures += 1,
        Ok(a) => g.taken.push(a),
        Err(_) => g.bad_signatures += 1,
    }
    // Recorded before the 200 goes out: a sender that got its 200 finds it in the log.
    drop(g);
    let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

// ---------- helpers ----------

fn gz_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The simulated Activity Log's hourly blobs, as (blob name, content).
fn azure_blobs(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "PT1H.json") {
                let name = p
                    .strip_prefix(root)
                    .expect("under")
                    .to_string_lossy()
                    .to_string();
                out.push((name, fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// Appends each `(blob, bytes)` to its append blob (created if missing), in one Python run.
fn append_blobs(az: &Azurite, parts: &[(String, &[u8])]) {
    let items: Vec<String> = parts
        .iter()
        .map(|(name, data)| {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            format!("({name:?}, {hex:?})")
        })
        .collect();
    az.python(&format!(
        "for n, h in [{}]:\n    b = svc.get_blob_client('insights-activity-logs', n)\n    if not b.exists():\n        b.create_append_blob()\n    b.append_block(bytes.fromhex(h))",
        items.join(", ")
    ));
}

fn spawn_watch(config: &Path, log: &Path) -> Child {
    let err = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    Command::new(BIN)
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(["watch", "--config"])
        .arg(config)
        .env("TW_TEST_HOOK_SECRET", SECRET)
        .env("TW_TEST_S3_SECRET", "testing")
        .env("TW_TEST_AZURITE_KEY", AZURITE_KEY)
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("trailwatch watch")
}

fn run(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut c = Command::new(BIN);
    // Signing keys go to the build's temporary folder, never the real configuration.
    c.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    c.args(args);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.output().expect("trailwatch")
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------- the tests ----------

#[test]
fn watch_s3_and_azure_through_a_failing_receiver_and_a_sigkill_delivers_every_alert_exactly_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Aws;
    sim.days = 1;
    sim.events_per_day = 2_000;
    sim.seed = 3;
    let report = simulate(&sim).expect("simulate");
    let files = gz_files(&corpus);
    let azure_corpus = tmp.path().join("azure");
    let mut sim = SimOptions::new(&azure_corpus);
    sim.providers = Providers::Azure;
    sim.days = 1;
    sim.events_per_day = 3_000;
    sim.seed = 4;
    let azure_report = simulate(&sim).expect("simulate azure");
    let azure_root = azure_corpus.join("insights-activity-logs");
    let blobs = azure_blobs(&azure_root);
    assert!(blobs.len() >= 3, "{}", blobs.len());
    let mut all_inputs = files.clone();
    all_inputs.extend(blobs.iter().map(|(n, _)| azure_root.join(n)));
    let expected = expected_incidents(&all_inputs);
    let expected_azure = expected_incidents(&all_inputs[files.len()..]);
    assert!(expected.len() >= 4, "{expected:?}");
    assert!(!expected_azure.is_empty(), "the Azure attacks raise alerts");

    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='trail')");
    let az = Azurite::start();
    az.python("svc.create_container('insights-activity-logs')");
    let receiver = Receiver::start();
    let store = tmp.path().join("store");
    let config = tmp.path().join("trailwatch.toml");
    fs::write(
        &config,
        format!(
            r#"
[store]
dir = {store:?}
[watch]
poll_interval = "300ms"
batch_objects = 8
retry_base = "300ms"
retry_max = "1s"
[[sources]]
name = "trail"
kind = "s3"
bucket = "trail"
region = "us-east-1"
endpoint = "{url}"
allow_http = true
access_key_id = "testing"
secret_access_key_env = "TW_TEST_S3_SECRET"
[[sources]]
name = "activity"
kind = "azure"
account = "devstoreaccount1"
container = "insights-activity-logs"
endpoint = "{azurite}"
allow_http = true
access_key_env = "TW_TEST_AZURITE_KEY"
[[sinks]]
name = "hook"
kind = "webhook"
url = "http://{hook}/alerts"
secret_env = "TW_TEST_HOOK_SECRET"
timeout = "5s"
"#,
            url = moto.url,
            azurite = az.endpoint,
            hook = receiver.addr
        ),
    )
    .expect("config");
    let check = Command::new(BIN)
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(["config", "check"])
        .arg(&config)
        .env("TW_TEST_HOOK_SECRET", SECRET)
        .env("TW_TEST_S3_SECRET", "testing")
        .env("TW_TEST_AZURITE_KEY", AZURITE_KEY)
        .output()
        .expect("config check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let thirds: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(3)).collect();
    assert_eq!(thirds.len(), 3);
    // Each Azure blob grows in three appends, one per phase, cut at line ends.
    let azure_thirds: Vec<Vec<(String, &[u8])>> = (0..3)
        .map(|k| {
            blobs
                .iter()
                .map(|(name, data)| {
                    let cut = |i: usize| {
                        if i == 0 {
                            return 0;
                        }
                        if i == 3 {
                            return data.len();
                        }
                        let at = data.len() * i / 3;
                        at + data[at..]
                            .iter()
                            .position(|&b| b == b'\n')
                            .map_or(data.len() - at, |p| p + 1)
                    };
                    (name.clone(), &data[cut(k)..cut(k + 1)])
                })
                .filter(|(_, part)| !part.is_empty())
                .collect()
        })
        .collect();
    upload(&moto, "trail", &corpus, thirds[0]);
    append_blobs(&az, &azure_thirds[0]);
    let log = tmp.path().join("watch.log");
    let mut w = spawn_watch(&config, &log);
    // Killed mid-run: alerts are pending in the outbox (the receiver is still down) and the
    // second third of the objects is landing.
    wait_for("first delivery attempts", Duration::from_secs(60), || {
        receiver.log.lock().map(|g| g.refused > 0).unwrap_or(false)
    });
    upload(&moto, "trail", &corpus, thirds[1]);
    append_blobs(&az, &azure_thirds[1]);
    std::thread::sleep(Duration::from_millis(400));
    w.kill().expect("SIGKILL");
    let _ = w.wait();
    assert!(receiver.taken().is_empty(), "the receiver was still down");

    let mut w = spawn_watch(&config, &log);
    upload(&moto, "trail", &corpus, thirds[2]);
    append_blobs(&az, &azure_thirds[2]);
    // The receiver comes back while the last objects are being read.
    receiver.up.store(true, Ordering::SeqCst);
    wait_for("every incident delivered", Duration::from_secs(120), || {
        let got: BTreeSet<String> = receiver
            .taken()
            .iter()
            .map(trailwatch_watch::incident_key)
            .collect();
        got == expected
    });
    // Time for any duplicate to show up.
    std::thread::sleep(Duration::from_secs(2));
    // SIGTERM stops it cleanly.
    let term = Command::new("kill")
        .args(["-TERM", &w.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = w.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit after SIGTERM: {status}");

    let g = receiver.log.lock().unwrap_or_else(|e| e.into_inner());
    assert!(g.refused > 0, "the receiver refused some deliveries");
    assert_eq!(g.bad_signatures, 0);
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &g.taken {
        *per_id.entry(a.id.as_str()).or_default() += 1;
    }
    let dups: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "delivered more than once: {dups:?}");
    assert_eq!(g.taken.len(), expected.len());
    drop(g);

    // Every event stored exactly once.
    let s = trailwatch_store::Store::open_read(&store).expect("store");
    let ids = s.event_ids().expect("ids");
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), distinct.len());
    assert_eq!(
        ids.len() as u64,
        report.aws.records + azure_report.azure.records
    );

    // The alerts commands see them, with their deliveries, and change their state.
    let cfg = config.to_string_lossy().to_string();
    let out = run(
        &["alerts", "list", "--config", &cfg, "--format", "json"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.len(), expected.len());
    assert!(list
        .iter()
        .all(|r| r["state"] == "open" && r["deliveries"][0]["delivered_at"].is_string()));
    let id = list[0]["alert"]["id"].as_str().expect("id").to_string();
    // The same list as CSV: a header and one row per alert, never the table.
    let out = run(
        &["alerts", "list", "--config", &cfg, "--format", "csv"],
        None,
    );
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,state,severity,rule_id,"), "{csv}");
    assert_eq!(lines.len(), expected.len() + 1, "{csv}");
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{id},open,"))),
        "{csv}"
    );
    let out = run(
        &["alerts", "ack", &id, "--by", "alice", "--config", &cfg],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &["alerts", "resolve", &id, "--by", "bob", "--config", &cfg],
        None,
    );
    assert!(out.status.success());
    let out = run(&["alerts", "show", &id, "--config", &cfg], None);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(shown["state"], "resolved");
    assert_eq!(shown["acked_by"], "alice");
    assert_eq!(shown["resolved_by"], "bob");
    let out = run(
        &[
            "alerts", "list", "--config", &cfg, "--state", "resolved", "--format", "jsonl",
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let out = run(&["alerts", "ack", &id, "--config", &cfg], None);
    assert!(
        !out.status.success(),
        "a resolved alert cannot be acknowledged"
    );
}

#[test]
fn watch_without_a_config_follows_the_inbox_into_the_default_store() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(&["watch", "--once"], Some(tmp.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inbox = tmp.path().join("trailwatch-inbox");
    assert!(inbox.is_dir(), "the inbox is created");
    fs::write(
        inbox.join("events.jsonl"),
        concat!(
            r#"{"eventVersion":"1.08","eventID":"11111111-0000-0000-0000-000000000001","eventTime":"2026-10-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"aws-cli","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"},"recipientAccountId":"111122223333","requestParameters":{"name":"main"}}"#,
            "\n"
        ),
    )
    .expect("write");
    let out = run(&["watch", "--once"], Some(tmp.path()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 new alerts"), "{stderr}");
    assert!(tmp.path().join("trailwatch-data").join("_ledger").is_dir());
    let out = run(&["alerts", "list"], Some(tmp.path()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("mallory") && text.contains("1 alerts"),
        "{text}"
    );
    // Once more: nothing new.
    let out = run(&["watch", "--once"], Some(tmp.path()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 objects read"));
}

#[test]
fn config_check_accepts_the_documented_example_and_names_what_is_wrong() {
    let example =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("../../trailwatch.example.toml");
    let env = [
        "TRAILWATCH_AZURE_KEY",
        "TRAILWATCH_WEBHOOK_SECRET",
        "TRAILWATCH_SLACK_URL",
        "TRAILWATCH_SMTP_PASSWORD",
    ];
    let mut c = Command::new(BIN);
    // Signing keys go to the build's temporary folder, never the real configuration.
    c.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    c.args(["config", "check"]).arg(&example);
    for v in env {
        c.env(v, "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=");
    }
    let out = c.output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 sources, 5 sinks"), "{stdout}");
    assert!(
        stdout.contains("daily review at 07:00 UTC to mail-persistence, slack-critical"),
        "{stdout}"
    );
    // Without the secrets: each missing variable is named.
    let mut c = Command::new(BIN);
    // Signing keys go to the build's temporary folder, never the real configuration.
    c.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    c.args(["config", "check"]).arg(&example);
    for v in env {
        c.env_remove(v);
    }
    let out = c.output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TRAILWATCH_AZURE_KEY"));
    // A typo is named with its place.
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("bad.toml");
    fs::write(&bad, "[watch]\npoll_intervall = \"1s\"\n").expect("write");
    let out = run(&["config", "check", &bad.to_string_lossy()], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("poll_intervall"));
    // `[review]` names a sink that cannot carry the review.
    fs::write(
        &bad,
        "[[sinks]]\nname = \"siem\"\nkind = \"syslog\"\naddress = \"127.0.0.1:514\"\n[review]\nsinks = [\"siem\"]\n",
    )
    .expect("write");
    let out = run(&["config", "check", &bad.to_string_lossy()], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[review] sinks names \"siem\", a sink that cannot carry a report"),
        "{stderr}"
    );
    // The baseline sections are checked too: a suppression without a reason is refused.
    fs::write(
        &bad,
        "[[suppressions]]\nrule = \"aws_iam_access_key_created\"\nexpires = \"2030-01-01\"\n",
    )
    .expect("write");
    let out = run(&["config", "check", &bad.to_string_lossy()], None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reason"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CloudTrail delivery of one `StopLogging` by `user` (a high alert of the built-in rules).
fn stop_logging_delivery(user: &str, id: &str) -> String {
    format!(
        r#"{{"Records":[{{"eventVersion":"1.08","eventID":"{id}","eventTime":"2024-05-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"aws-cli","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/{user}","accountId":"111122223333","userName":"{user}"}},"recipientAccountId":"111122223333","requestParameters":{{"name":"main"}}}}]}}"#
    )
}

#[test]
fn watch_once_reads_objects_under_hostile_keys_and_fails_when_a_bucket_cannot_be_listed() {
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='trail')");
    let tmp = tempfile::tempdir().expect("tempdir");
    let day = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01";
    // One ordinary delivery, and an intruder's under a key with `..` segments and an ESC.
    for (user, id, key) in [
        (
            "bob",
            "cccccccc-0000-0000-0000-000000000001",
            format!("{day}/ok.json"),
        ),
        (
            "mallory",
            "cccccccc-0000-0000-0000-000000000002",
            format!("{day}/../../e\\x1b[2Jvil.json"),
        ),
    ] {
        let file = tmp.path().join(format!("{user}.json"));
        fs::write(&file, stop_logging_delivery(user, id)).expect("write");
        moto.boto(&format!(
            "s3.put_object(Bucket='trail', Key='{key}', Body=open({:?}, 'rb').read())",
            file.display().to_string()
        ));
    }
    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let source = |name: &str, bucket: &str| {
        format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"s3\"\nbucket = \"{bucket}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nallow_http = true\naccess_key_id = \"testing\"\nsecret_access_key_env = \"TW_TEST_S3_SECRET\"\n",
            moto.url
        )
    };
    let head = format!("[store]\ndir = {store:?}\n[[sinks]]\nname = \"file\"\nkind = \"jsonl\"\npath = {jsonl:?}\n");
    let config = tmp.path().join("watch.toml");
    let watch_once = |text: &str| {
        fs::write(&config, text).expect("config");
        Command::new(BIN)
            .env(
                "XDG_CONFIG_HOME",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
            )
            .args(["watch", "--once", "--config"])
            .arg(&config)
            .env("TW_TEST_S3_SECRET", "testing")
            .output()
            .expect("trailwatch watch --once")
    };
    let alerts = || -> Vec<Alert> {
        fs::read_to_string(&jsonl)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("alert"))
            .collect()
    };
    let out = watch_once(&format!("{head}{}", source("trail", "trail")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("2 objects read"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    let principals: BTreeSet<String> = alerts().iter().map(|a| a.principal.clone()).collect();
    for user in ["bob", "mallory"] {
        assert!(
            principals.iter().any(|p| p.contains(user)),
            "{user}: {principals:?}"
        );
    }
    // A bucket that does not exist: nothing of it is read, a coverage alert is delivered, and
    // the run fails.
    let out = watch_once(&format!(
        "{head}{}{}",
        source("trail", "trail"),
        source("gone", "no-such-bucket")
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("not listed: gone"), "{stderr}");
    let coverage: Vec<Alert> = alerts()
        .into_iter()
        .filter(|a| a.rule_id == trailwatch_watch::UNLISTABLE_RULE)
        .collect();
    assert_eq!(coverage.len(), 1, "{coverage:?}");
    assert!(coverage[0].title.contains("gone"), "{}", coverage[0].title);
}
