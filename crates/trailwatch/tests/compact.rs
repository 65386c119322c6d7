//! `trailwatch compact` end to end: a store of many small commits, compacted day by day, holds
//! the same events (through `trailwatch sql`) in fewer files and verifies.

mod common;

use std::ffi::OsStr;
use std::path::Path;

/// Runs trailwatch (under the tests' time limit); the run must exit 0. Returns its stdout.
fn tw(args: &[&OsStr]) -> String {
    common::run(args).assert_code(0).stdout.clone()
}

/// (rows, distinct event ids, every event id sorted) through `trailwatch sql`.
fn stored(store: &Path) -> (String, Vec<String>) {
    let sql = |q: &str| common::store_sql_csv(store, q);
    let counts = sql("SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events");
    let ids = sql("SELECT event_id FROM events ORDER BY event_id");
    (counts, ids.lines().skip(1).map(str::to_string).collect())
}

#[test]
fn compact_merges_small_commits_into_a_file_per_day_with_the_same_events() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let store = dir.path().join("store");
    let s = store.as_os_str();
    let (logs_arg, store_arg) = (logs.to_str().unwrap(), store.to_str().unwrap());
    let simulate = "simulate --provider both --days 3 --events-per-day 400 --seed 5";
    let mut args: Vec<&str> = simulate.split(' ').collect();
    args.extend(["--start", "2024-05-01", "--out", logs_arg]);
    common::run(&args).assert_code(0);
    // Small batches: a commit every 40 events, as a busy watch makes them.
    let ingest = [
        "ingest",
        logs_arg,
        "--store",
        store_arg,
        "--batch-events",
        "40",
    ];
    common::run(&ingest).assert_code(0);
    let files_before = common::parquet_files(&store).len();
    assert!(files_before >= 60, "{files_before} files");
    let (counts, ids) = stored(&store);
    assert!(ids.len() > 2_000, "{counts}");

    // On 2024-05-03 (the reference time), that day is the one being written: left alone.
    let compact = |extra: &[&OsStr]| {
        let mut args: Vec<&OsStr> = vec!["compact".as_ref(), "--store".as_ref(), s];
        args.extend_from_slice(extra);
        tw(&args)
    };
    let out = compact(&["--now".as_ref(), "2024-05-03T12:00:00Z".as_ref()]);
    assert_eq!(out.matches("compacted provider=").count(), 4, "{out}");
    assert!(!out.contains("dt=2024-05-03"), "{out}");
    assert!(out.contains("(days before 2024-05-03)"), "{out}");
    let out = compact(&["--min-files".as_ref(), "4".as_ref()]);
    assert_eq!(out.matches("compacted provider=").count(), 2, "{out}");
    let summary = out.lines().last().unwrap();
    assert!(
        summary.starts_with("compacted 2 partitions") && summary.contains(" → "),
        "{out}"
    );
    assert!(
        summary.contains(" MB in ") && summary.ends_with('s'),
        "{out}"
    );

    // One file per (provider, day); the same events, each once; a store that verifies.
    assert_eq!(common::parquet_files(&store).len(), 6);
    assert_eq!(stored(&store), (counts, ids));
    let out = tw(&["verify".as_ref(), "--store".as_ref(), s]);
    assert!(
        out.starts_with("ok:") && out.contains("6 compaction"),
        "{out}"
    );
    let out = compact(&[]);
    assert!(out.starts_with("nothing to compact"), "{out}");
}
