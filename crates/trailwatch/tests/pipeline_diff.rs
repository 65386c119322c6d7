//! One pipeline for hunt and watch, checked differentially: a `watch` over files delivered in
//! waves — each file one account and region's five minutes, events delayed by up to five
//! minutes as CloudTrail delays them, the waves cut across attacks, `kill -9` during steps —
//! raises the same incidents (incident key and event ids) as one `hunt` over the same files,
//! and stores every event once. Run on a simulated month with every attack scenario and on
//! the SANS lab.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailwatch_model::Alert;

const BIN: &str = env!("CARGO_BIN_EXE_trailwatch");
const FIVE_MIN: i64 = 300_000;

/// A small deterministic generator (xorshift*), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(args)
        .output()
        .expect("trailwatch");
    assert!(
        out.status.success(),
        "trailwatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn gz_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    v.sort();
    v
}

/// Every CloudTrail record under `dir`.
fn records(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for p in gz_files(dir) {
        let mut text = String::new();
        flate2::read::GzDecoder::new(fs::File::open(&p).expect("open"))
            .read_to_string(&mut text)
            .expect("gunzip");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        if let Some(rs) = doc.get("Records").and_then(|r| r.as_array()) {
            out.extend(rs.iter().cloned());
        }
    }
    out
}

fn time_ms(r: &serde_json::Value) -> i64 {
    let t = r["eventTime"].as_str().expect("eventTime");
    chrono::DateTime::parse_from_rfc3339(t)
        .expect("rfc3339")
        .timestamp_millis()
}

/// One delivered file: where it goes and when it lands (its mtime).
struct Delivery {
    key: String,
    at_ms: i64,
    records: Vec<serde_json::Value>,
}

/// The records re-packed as CloudTrail delivers them: each is delayed by up to five minutes,
/// and lands in the file of its account, region and five minutes of delivery.
fn deliveries(records: Vec<serde_json::Value>, rng: &mut Rng) -> Vec<Delivery> {
    let mut files: BTreeMap<(i64, String, String), Vec<serde_json::Value>> = BTreeMap::new();
    for r in records {
        let at = time_ms(&r) + i64::try_from(rng.below(FIVE_MIN as u64)).unwrap_or(0);
        let account = r["recipientAccountId"]
            .as_str()
            .unwrap_or("000000000000")
            .to_string();
        let region = r["awsRegion"].as_str().unwrap_or("us-east-1").to_string();
        files
            .entry((at.div_euclid(FIVE_MIN), account, region))
            .or_default()
            .push(r);
    }
    files
        .into_iter()
        .enumerate()
        .map(|(n, ((bucket, account, region), mut records))| {
            // Shuffled inside the file too: order within a file means nothing.
            for i in (1..records.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                records.swap(i, j);
            }
            let at_ms = (bucket + 1) * FIVE_MIN;
            let day = chrono::DateTime::from_timestamp_millis(at_ms).expect("time");
            let key = format!(
                "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{n:06}.json.gz",
                day.format("%Y/%m/%d"),
                day.format("%Y%m%dT%H%MZ")
            );
            Delivery {
                key,
                at_ms,
                records,
            }
        })
        .collect()
}

fn write_delivery(root: &Path, d: &Delivery) {
    let path = root.join(&d.key);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let doc = serde_json::json!({ "Records": d.records });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(doc.to_string().as_bytes()).expect("gzip");
    fs::write(&path, gz.finish().expect("gzip")).expect("write");
    let mtime = UNIX_EPOCH + Duration::from_millis(u64::try_from(d.at_ms).expect("after 1970"));
    fs::File::options()
        .write(true)
        .open(&path)
        .expect("open")
        .set_modified(mtime)
        .expect("mtime");
}

/// Incident key → every event id of the incident.
type Incidents = BTreeMap<String, BTreeSet<String>>;

fn incidents(alerts: &[Alert]) -> Incidents {
    let mut out = Incidents::new();
    for a in alerts {
        out.entry(trailwatch_watch::incident_key(a))
            .or_default()
            .extend(a.event_ids.iter().cloned());
    }
    out
}

/// Alerts of `hunt --format jsonl`, or (`field`) of `alerts list --format jsonl`.
fn parse_alerts(stdout: &[u8], field: Option<&str>) -> Vec<Alert> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            let a = field.map_or(v.clone(), |f| v[f].clone());
            serde_json::from_value(a).expect("an alert")
        })
        .collect()
}

fn hunt_incidents(dir: &Path) -> Incidents {
    let d = dir.to_string_lossy();
    let out = run(&["hunt", &d, "--min-level", "low", "--format", "jsonl"]);
    incidents(&parse_alerts(&out.stdout, None))
}

/// A `watch --once` over the inbox, killed with SIGKILL after `kill_after` if given (and
/// then run again to the end).
fn watch_once(config: &Path, kill_after: Option<Duration>, drain: bool) {
    let c = config.to_string_lossy();
    if let Some(after) = kill_after {
        let mut child = Command::new(BIN)
            .env(
                "XDG_CONFIG_HOME",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
            )
            .args(["watch", "--once", "--config", &c])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watch");
        std::thread::sleep(after);
        let _ = child.kill();
        let _ = child.wait();
    }
    let mut args = vec!["watch", "--once", "--config", &c];
    if drain {
        args.push("--drain");
    }
    run(&args);
}

/// Delivers `records` in `waves` waves to a watch (some killed during a step), drains it, and
/// compares its incidents and stored events with one hunt over the same files.
fn watch_equals_hunt(records: Vec<serde_json::Value>, waves: usize, seed: u64) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let inbox = tmp.path().join("inbox");
    let all = tmp.path().join("all");
    fs::create_dir_all(&inbox).expect("inbox");
    let mut rng = Rng(seed);
    let distinct: BTreeSet<String> = records
        .iter()
        .filter_map(|r| r["eventID"].as_str().map(str::to_string))
        .collect();
    let files = deliveries(records, &mut rng);
    for d in &files {
        write_delivery(&all, d);
    }
    let expected = hunt_incidents(&all);
    assert!(!expected.is_empty());

    let store = tmp.path().join("store");
    let config = tmp.path().join("watch.toml");
    fs::write(
        &config,
        format!(
            "[store]\ndir = {:?}\n[watch]\nbatch_objects = 48\n[[sources]]\nname = \"inbox\"\nkind = \"local\"\npath = {:?}\n",
            store.to_string_lossy(),
            inbox.to_string_lossy()
        ),
    )
    .expect("config");
    let per_wave = files.len().div_ceil(waves);
    for (w, wave) in files.chunks(per_wave).enumerate() {
        for d in wave {
            write_delivery(&inbox, d);
        }
        // Every other wave is killed during a step, at a different instant each time.
        let kill = (w % 2 == 1).then(|| Duration::from_millis(150 + rng.below(1200)));
        watch_once(&config, kill, false);
    }
    watch_once(&config, None, true);

    let s = store.to_string_lossy();
    let listed = run(&["alerts", "list", "--store", &s, "--format", "jsonl"]);
    let got = incidents(&parse_alerts(&listed.stdout, Some("alert")));
    let (want_keys, got_keys): (BTreeSet<&String>, BTreeSet<&String>) =
        (expected.keys().collect(), got.keys().collect());
    assert_eq!(
        want_keys.difference(&got_keys).count() + got_keys.difference(&want_keys).count(),
        0,
        "incidents only in the hunt: {:?}\nonly in the watch: {:?}",
        want_keys.difference(&got_keys).collect::<Vec<_>>(),
        got_keys.difference(&want_keys).collect::<Vec<_>>()
    );
    for (key, ids) in &expected {
        assert_eq!(got.get(key), Some(ids), "event ids of incident {key}");
    }
    let stored = run(&[
        "sql",
        "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events",
        "--store",
        &s,
        "--format",
        "csv",
    ]);
    let text = String::from_utf8_lossy(&stored.stdout);
    let row = text.lines().nth(1).expect("a row");
    assert_eq!(
        row,
        format!("{0},{0}", distinct.len()),
        "every event stored once"
    );
}

fn now_seed() -> u64 {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("seed {n}");
    n | 1
}

#[test]
fn a_watch_over_a_simulated_month_in_waves_raises_what_one_hunt_raises() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sim = tmp.path().join("sim");
    run(&[
        "simulate",
        "--out",
        &sim.to_string_lossy(),
        "--days",
        "30",
        "--detections",
        "--events-per-day",
        "400",
        "--seed",
        "3",
    ]);
    watch_equals_hunt(records(&sim), 6, now_seed());
}

#[test]
fn a_watch_over_the_sans_lab_in_waves_raises_what_one_hunt_raises() {
    let lab = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/aws/sans-s3-ransomware");
    watch_equals_hunt(records(&lab), 5, now_seed());
}
