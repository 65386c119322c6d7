//! The store commands end to end: ingest exactly once, stats, verify (and tampering), retention.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(rel)
}

fn tw(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The reference time of the retention steps: fixed, so that the test gives the same answer on
/// any day it runs.
const NOW: &str = "2026-06-01T00:00:00Z";

#[test]
fn ingest_once_stats_verify_tamper_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.as_os_str();
    let invictus = shared("aws/invictus-ir");
    let azure = shared("azure");
    let (code, _, err) = tw(&[
        "ingest".as_ref(),
        invictus.as_os_str(),
        azure.as_os_str(),
        "--store".as_ref(),
        s,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2904 new events stored"), "{err}");
    let (code, _, err) = tw(&[
        "ingest".as_ref(),
        invictus.as_os_str(),
        "--store".as_ref(),
        s,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("55 already ingested") && err.contains(" 0 new events stored"),
        "{err}"
    );

    let (code, out, err) = tw(&[
        "stats".as_ref(),
        "--store".as_ref(),
        s,
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["events"], 2904);
    assert_eq!(v["per_provider"]["aws"], 2900);
    assert_eq!(v["public_key"].as_str().unwrap().len(), 64);

    let (code, out, _) = tw(&["verify".as_ref(), "--store".as_ref(), s]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok:"), "{out}");

    // SQL and search over what was stored.
    let q = "SELECT provider, count(*) AS n FROM events GROUP BY provider ORDER BY provider";
    let (code, out, err) = tw(&[
        "sql".as_ref(),
        q.as_ref(),
        "--store".as_ref(),
        s,
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0]["provider"], "aws");
    assert_eq!(rows[0]["n"], 2900);
    assert_eq!(rows[1]["n"], 4);
    let (code, out, err) = tw(&[
        "search".as_ref(),
        "--principal".as_ref(),
        "arn:aws:iam::123837392027:user/bert-jan".as_ref(),
        "--action".as_ref(),
        "Create*".as_ref(),
        "--store".as_ref(),
        s,
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!rows.is_empty(), "{err}");
    assert!(
        rows.iter()
            .all(|r| r["action"].as_str().unwrap().starts_with("Create")),
        "{out}"
    );
    assert!(
        rows.windows(2)
            .all(|w| w[0]["time"].as_str() <= w[1]["time"].as_str()),
        "time order"
    );

    // Retention: a dry run removes nothing; keeping 365 days back from 2026-06-01 (the reference
    // time, not the day the test runs) drops the 2023 and 2015 days and keeps 2025-11-30.
    let (code, out, _) = tw(&[
        "retention".as_ref(),
        "--keep".as_ref(),
        "365d".as_ref(),
        "--dry-run".as_ref(),
        "--now".as_ref(),
        NOW.as_ref(),
        "--store".as_ref(),
        s,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("would remove"), "{out}");
    let (_, out, _) = tw(&[
        "stats".as_ref(),
        "--store".as_ref(),
        s,
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["events"],
        2904
    );
    let (code, out, _) = tw(&[
        "retention".as_ref(),
        "--keep".as_ref(),
        "365d".as_ref(),
        "--now".as_ref(),
        NOW.as_ref(),
        "--store".as_ref(),
        s,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("recorded as ledger link"), "{out}");
    assert!(out.contains("keeping days from 2025-06-01"), "{out}");
    let (code, out, _) = tw(&["verify".as_ref(), "--store".as_ref(), s]);
    assert_eq!(code, 0, "retention is not tampering: {out}");
    let (_, out, _) = tw(&[
        "stats".as_ref(),
        "--store".as_ref(),
        s,
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let left = serde_json::from_str::<serde_json::Value>(&out).unwrap()["events"]
        .as_u64()
        .unwrap();
    assert_eq!(left, 3, "the three Azure events of 2025-11-30 stay: {out}");

    // Tampering with a remaining data file is named.
    let victim = common::parquet_files(&store)
        .into_iter()
        .next()
        .expect("a data file is left");
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let (code, out, _) = tw(&["verify".as_ref(), "--store".as_ref(), s]);
    assert_eq!(code, 1, "{out}");
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(out.contains(&name) && out.contains("modified"), "{out}");
}

/// Every event id in the store, sorted, through `trailwatch sql`.
fn stored_ids(store: &Path) -> Vec<String> {
    common::store_sql_csv(store, "SELECT event_id FROM events ORDER BY event_id")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

fn ingest_cmd(input: &Path, store: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    // Signing keys go to the build's temporary folder, never the real configuration.
    c.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    c.arg("ingest")
        .arg(input)
        .arg("--store")
        .arg(store)
        .args(["--batch-events", "1500"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    c
}

/// `trailwatch ingest` killed with SIGKILL at many instants, on the same store, then run to the
/// end: exactly the events of an uninterrupted run, no duplicate, a store that verifies.
#[test]
fn ingest_killed_at_many_instants_ends_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let (code, _, err) = tw(&[
        "simulate".as_ref(),
        "--out".as_ref(),
        logs.as_os_str(),
        "--provider".as_ref(),
        "both".as_ref(),
        "--days".as_ref(),
        "2".as_ref(),
        "--events-per-day".as_ref(),
        "8000".as_ref(),
        "--seed".as_ref(),
        "11".as_ref(),
    ]);
    assert_eq!(code, 0, "{err}");

    let reference = dir.path().join("reference");
    let started = std::time::Instant::now();
    assert!(ingest_cmd(&logs, &reference).status().unwrap().success());
    let full = started.elapsed();
    let expected = stored_ids(&reference);
    assert!(expected.len() > 10_000, "{}", expected.len());

    // A fresh store per kill point, killed at k/9 of an uninterrupted run's time; the last one
    // is killed twice before it is allowed to finish.
    let kills = 8u32;
    let mut killed_mid_run = 0;
    for k in 1..=kills {
        let store = dir.path().join(format!("killed-{k}"));
        let rounds = if k == kills { 2 } else { 1 };
        for _ in 0..rounds {
            let mut child = ingest_cmd(&logs, &store).spawn().unwrap();
            std::thread::sleep(full * k / (kills + 1));
            if child.try_wait().unwrap().is_none() {
                killed_mid_run += 1;
            }
            child.kill().ok(); // SIGKILL
            child.wait().unwrap();
        }
        assert!(ingest_cmd(&logs, &store).status().unwrap().success());
        let got = stored_ids(&store);
        assert_eq!(
            got.len(),
            expected.len(),
            "kill point {k}: no loss, no duplicate"
        );
        assert!(
            got == expected,
            "kill point {k}: the events of the uninterrupted run"
        );
        let (code, out, _) = tw(&["verify".as_ref(), "--store".as_ref(), store.as_os_str()]);
        assert_eq!(code, 0, "kill point {k}: {out}");
    }
    assert!(
        killed_mid_run > kills / 2,
        "only {killed_mid_run} kills landed mid-run"
    );
}

/// (title, principal, count) of each alert of a `hunt --format jsonl` output, sorted.
fn alert_keys(jsonl: &str) -> Vec<(String, String, u64)> {
    let mut v: Vec<(String, String, u64)> = jsonl
        .lines()
        .map(|l| {
            let a: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                a["title"].as_str().unwrap_or("").to_string(),
                a["principal"].as_str().unwrap_or("").to_string(),
                a["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

/// The hunt, the timeline and the summary over the store give what they give over the files.
#[test]
fn hunt_timeline_and_summary_over_the_store_match_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.as_os_str();
    let lab = shared("aws/sans-s3-ransomware");
    let (code, _, err) = tw(&["ingest".as_ref(), lab.as_os_str(), "--store".as_ref(), s]);
    assert_eq!(code, 0, "{err}");

    let hunt = |src: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["hunt".as_ref()];
        args.extend_from_slice(src);
        args.extend([
            std::ffi::OsStr::new("--format"),
            std::ffi::OsStr::new("jsonl"),
        ]);
        let (code, out, err) = tw(&args);
        assert_eq!(code, 0, "{err}");
        alert_keys(&out)
    };
    let from_files = hunt(&[lab.as_os_str()]);
    let from_store = hunt(&["--store".as_ref(), s]);
    assert!(from_files.len() >= 5, "{from_files:?}");
    assert_eq!(from_files, from_store);

    let run = |cmd: &str, src: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![cmd.as_ref()];
        args.extend_from_slice(src);
        args.extend([
            std::ffi::OsStr::new("--format"),
            std::ffi::OsStr::new("json"),
        ]);
        let (code, out, err) = tw(&args);
        assert_eq!(code, 0, "{cmd}: {err}");
        out
    };
    // The timeline lists each event once, from files or from the store.
    let a = run("timeline", &[lab.as_os_str()]);
    assert!(a.len() > 1000, "{a}");
    assert_eq!(a, run("timeline", &["--store".as_ref(), s]), "timeline");

    // The summary counts records; the lab delivers some events in more than one file, and the
    // store keeps each once: the same distinct values and time span, events = stored events.
    let json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
    let files = json(&run("summary", &[lab.as_os_str()]));
    let stored = json(&run("summary", &["--store".as_ref(), s]));
    for k in ["distinct", "first_seen", "last_seen"] {
        assert_eq!(files[k], stored[k], "summary {k}");
    }
    let (_, out, _) = tw(&[
        "stats".as_ref(),
        "--store".as_ref(),
        s,
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(stored["events"], json(&out)["events"]);
    assert!(files["events"].as_u64() > stored["events"].as_u64());

    // --since skips whole stored days: a window after the lab's last day holds nothing.
    let (code, _, err) = tw(&[
        "hunt".as_ref(),
        "--store".as_ref(),
        s,
        "--since".as_ref(),
        "2099-01-01T00:00:00Z".as_ref(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("no stored events in the time range"), "{err}");
}

/// Days from `from` back to `to`, as a `--keep`/`--since` span.
fn days_between(from: &str, to: &str) -> String {
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    format!("{}d", (d(from) - d(to)).num_days())
}

/// Every command that counts from "now" (retention, `--since` spans in hunt, summary and
/// search) gives the same answer whatever the reference time, from this year to 2030 and
/// beyond, when its span is counted to the same day: the store tests cannot rot with the
/// calendar again.
#[test]
fn commands_count_from_the_reference_time_far_into_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.as_os_str();
    let azure = shared("azure");
    let (code, _, err) = tw(&["ingest".as_ref(), azure.as_os_str(), "--store".as_ref(), s]);
    assert_eq!(code, 0, "{err}");
    let mut answers = Vec::new();
    for today in ["2026-12-01", "2028-02-29", "2030-12-31", "2041-07-04"] {
        let now = format!("{today}T12:00:00Z");
        // Keep the days from 2025-01-01: the 2015 record goes, the three of 2025-11-30 stay.
        let keep = days_between(today, "2025-01-01");
        let (code, retention, err) = tw(&[
            "retention".as_ref(),
            "--keep".as_ref(),
            keep.as_ref(),
            "--dry-run".as_ref(),
            "--now".as_ref(),
            now.as_ref(),
            "--store".as_ref(),
            s,
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(
            retention.contains("would remove 1 days")
                && retention.contains("keeping days from 2025-01-01"),
            "{now}: {retention}"
        );
        // Events since 2025-11-29, as a span back from the reference time.
        let since = days_between(today, "2025-11-29");
        let (code, summary, err) = tw(&[
            "summary".as_ref(),
            azure.as_os_str(),
            "--since".as_ref(),
            since.as_ref(),
            "--now".as_ref(),
            now.as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ]);
        assert_eq!(code, 0, "{err}");
        let events = serde_json::from_str::<serde_json::Value>(&summary).unwrap()["events"].clone();
        assert_eq!(events, 3, "{now}: {summary}");
        let (code, found, err) = tw(&[
            "search".as_ref(),
            "--since".as_ref(),
            since.as_ref(),
            "--now".as_ref(),
            now.as_ref(),
            "--store".as_ref(),
            s,
            "--format".as_ref(),
            "jsonl".as_ref(),
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(found.lines().count(), 3, "{now}: {found}");
        let (code, hunt, err) = tw(&[
            "hunt".as_ref(),
            "--store".as_ref(),
            s,
            "--since".as_ref(),
            since.as_ref(),
            "--now".as_ref(),
            now.as_ref(),
            "--min-level".as_ref(),
            "informational".as_ref(),
            "--format".as_ref(),
            "jsonl".as_ref(),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("3 events in the time range"), "{now}: {err}");
        answers.push((retention, summary, found, hunt));
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "the same answers for every reference time"
    );
    // The live commands follow the clock and refuse a reference time.
    let (code, _, err) = tw(&[
        "watch".as_ref(),
        "--once".as_ref(),
        "--now".as_ref(),
        "2030-01-01".as_ref(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("follows the system clock"), "{err}");
    // A reference time that is not a time is a usage error naming the flag.
    let (code, _, err) = tw(&[
        "stats".as_ref(),
        "--now".as_ref(),
        "7d".as_ref(),
        "--store".as_ref(),
        s,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--now"), "{err}");
}
