//! `trailwatch sql` under its limits, end to end: a runaway query stops with a clear error
//! within its time limit and in bounded memory, `--limit` cuts the rows printed and says so,
//! and an ordinary query is untouched.
//!
//! Peak memory is the children's peak RSS (`getrusage(RUSAGE_CHILDREN)`): nextest runs each
//! test in its own process, so it covers the commands this test ran.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn shared(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(rel)
}

struct Run {
    code: i32,
    out: String,
    err: String,
    took: Duration,
}

fn tw(args: &[&str]) -> Run {
    tw_with_tmp(args, None)
}

/// Runs trailwatch with `TMPDIR` (where queries spill) set to `tmp`.
fn tw_with_tmp(args: &[&str], tmp: Option<&Path>) -> Run {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    // Signing keys go to the build's temporary folder, never the real configuration.
    cmd.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    cmd.args(args);
    if let Some(tmp) = tmp {
        cmd.env("TMPDIR", tmp);
    }
    let out = cmd.output().expect("run trailwatch");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// A store of the 2,900 events of the invictus-ir CloudTrail sample.
fn store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store").display().to_string();
    let logs = shared("aws/invictus-ir").display().to_string();
    let r = tw(&["ingest", &logs, "--store", &store]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.contains("2900 new events stored"), "{}", r.err);
    (dir, store)
}

/// The peak resident size of the commands run so far, in MB.
fn children_peak_rss_mb() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    usage.ru_maxrss / 1024
}

/// The query is over: its spill directory (gigabytes, for some) went with it.
fn assert_no_spill_files_left(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .expect("read TMPDIR")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[test]
fn a_runaway_cross_join_stops_at_the_time_limit_in_bounded_memory() {
    let (_dir, store) = store();
    // 2900² ≈ 8.4 million pairs, each an edit distance between two raw records of a few KB:
    // days of work in a few MB (the count is one number), so only the time limit ends it.
    let q = "SELECT count(*) FROM events a, events b WHERE levenshtein(a.raw, b.raw) < 3";
    let r = tw(&["sql", q, "--store", &store, "--timeout", "3s"]);
    let peak = children_peak_rss_mb();
    eprintln!("runaway count: {:?}, peak RSS {peak} MB", r.took);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(r.out.is_empty(), "{}", r.out);
    assert!(
        r.err.contains("ran past its time limit of 3 s") && r.err.contains("--timeout"),
        "{}",
        r.err
    );
    // Cancelled by the query itself, not by the watchdog's last resort.
    assert!(!r.err.contains("did not stop"), "{}", r.err);
    assert!(
        r.took >= Duration::from_secs(3) && r.took < Duration::from_secs(7),
        "{:?}",
        r.took
    );
    assert!(peak < 300, "peak RSS {peak} MB");
}

#[test]
fn a_runaway_three_way_cross_join_stops_within_its_limits() {
    let (_dir, store) = store();
    // The inner join's 8.4 million rows are the outer join's build side: the join takes its
    // pool, spills, and runs into the spill cap (4 × the limit) or the time limit.
    let q = "SELECT count(*) FROM events a, events b, events c \
             WHERE a.event_id <> b.event_id AND b.raw <> c.raw";
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = tw_with_tmp(
        &[
            "sql",
            q,
            "--store",
            &store,
            "--memory-limit",
            "256MiB",
            "--timeout",
            "20s",
        ],
        Some(tmp.path()),
    );
    let peak = children_peak_rss_mb();
    eprintln!(
        "runaway 3-way join: {:?}, peak RSS {peak} MB: {}",
        r.took, r.err
    );
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(
        r.err.contains("query stopped") && r.err.contains("raise it with --"),
        "{}",
        r.err
    );
    assert!(r.took < Duration::from_secs(23), "{:?}", r.took);
    assert!(peak < 700, "peak RSS {peak} MB");
    assert_no_spill_files_left(tmp.path());
}

#[test]
fn a_runaway_cross_join_that_must_hold_its_rows_stays_in_its_memory_limit() {
    let (_dir, store) = store();
    // 8.4 million pairs of raw records (~17 GB) to sort: the sort takes the pool, spills,
    // and runs into the spill cap (4 × the limit), the memory limit, or the time limit —
    // whichever first; what matters is that it stops, says why, and stays in bounds.
    let q = "SELECT a.raw, b.raw FROM events a, events b ORDER BY a.raw || b.raw";
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = tw_with_tmp(
        &[
            "sql",
            q,
            "--store",
            &store,
            "--memory-limit",
            "256MiB",
            "--timeout",
            "20s",
        ],
        Some(tmp.path()),
    );
    let peak = children_peak_rss_mb();
    eprintln!("runaway sort: {:?}, peak RSS {peak} MB: {}", r.took, r.err);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(
        r.err.contains("query stopped") && r.err.contains("raise it with --"),
        "{}",
        r.err
    );
    assert!(r.took < Duration::from_secs(23), "{:?}", r.took);
    assert!(peak < 700, "peak RSS {peak} MB");
    assert_no_spill_files_left(tmp.path());
}

#[test]
fn memory_the_pool_does_not_see_is_still_bounded() {
    // generate_series(1, n) as one array is a single 3.2 GB allocation the memory pool never
    // hears of; the watchdog on the live heap ends the process.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("none").display().to_string();
    let q = "SELECT count(*) FROM (SELECT unnest(generate_series(1, 400000000)))";
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = tw_with_tmp(
        &["sql", q, "--store", &store, "--memory-limit", "256MiB"],
        Some(tmp.path()),
    );
    let peak = children_peak_rss_mb();
    eprintln!(
        "untracked allocation: {:?}, peak RSS {peak} MB: {}",
        r.took, r.err
    );
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(
        r.err.contains("memory limit of 256 MiB") && r.err.contains("--memory-limit"),
        "{}",
        r.err
    );
    assert!(peak < 300, "peak RSS {peak} MB");
    // Ended by the watchdog, the process still removed its spill directory.
    assert_no_spill_files_left(tmp.path());
}

#[test]
fn limit_caps_the_rows_printed_and_says_so() {
    let (_dir, store) = store();
    let q = "SELECT event_id FROM events ORDER BY event_id";
    let r = tw(&[
        "sql", q, "--store", &store, "--format", "jsonl", "--limit", "100",
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines.len(), 100, "{}", r.out);
    assert!(
        r.err.contains("output cut at 100 rows") && r.err.contains("--limit"),
        "{}",
        r.err
    );
    // The first 100 in order: the cut keeps the query's order.
    let all = tw(&[
        "sql", q, "--store", &store, "--format", "jsonl", "--limit", "2900",
    ]);
    assert_eq!(all.code, 0, "{}", all.err);
    assert_eq!(all.out.lines().count(), 2900);
    assert!(
        !all.err.contains("cut"),
        "exactly the limit is not a cut: {}",
        all.err
    );
    assert_eq!(all.out.lines().take(100).collect::<Vec<_>>(), lines);

    // The default cap is 10,000 rows; it also ends a result of 8.4 million rows of raw
    // records (~17 GB), which without a cap was collected whole (10.7 GB resident).
    let pairs = "SELECT a.event_id, a.raw, b.raw FROM events a, events b";
    let r = tw(&["sql", pairs, "--store", &store, "--format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out.lines().count(), 10_001, "header and 10,000 rows");
    assert!(r.err.contains("output cut at 10000 rows"), "{}", r.err);
    let peak = children_peak_rss_mb();
    eprintln!("capped cross join: {:?}, peak RSS {peak} MB", r.took);
    assert!(peak < 1000, "peak RSS {peak} MB");

    let bad = tw(&["sql", q, "--store", &store, "--limit", "0"]);
    assert_eq!(bad.code, 2, "{}", bad.err);
}

#[test]
fn an_ordinary_query_is_unaffected() {
    let (_dir, store) = store();
    let q = "SELECT provider, count(*) AS n FROM events GROUP BY provider ORDER BY provider";
    let r = tw(&["sql", q, "--store", &store, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v: serde_json::Value = serde_json::from_str(&r.out).expect("JSON");
    assert_eq!(v, serde_json::json!([{"provider": "aws", "n": 2900}]));
    assert!(r.err.is_empty(), "{}", r.err);
    // The limits are flags like any other.
    let r = tw(&[
        "sql",
        q,
        "--store",
        &store,
        "--format",
        "json",
        "--memory-limit",
        "64MiB",
        "--timeout",
        "30s",
        "--limit",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.is_empty(), "{}", r.err);
    let bad = tw(&["sql", q, "--store", &store, "--memory-limit", "lots"]);
    assert_eq!(bad.code, 2, "{}", bad.err);
    assert!(bad.err.contains("--memory-limit"), "{}", bad.err);
}
