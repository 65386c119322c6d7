//! Compaction on real files: many small commits merged into one file per past day with every
//! event once, recorded in the ledger so that verify accepts it; tampering with the compacted
//! file or the compaction link is named; a crash at every step is finished (or undone) by the
//! next writer.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::TimestampMillisecondType;
use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use trailwatch_ledger::{LinkKind, Problem, LEDGER_DIR, LEDGER_FILE};
use trailwatch_store::schema::{column_index, COL_ACTION, COL_EVENT_ID, COL_PRINCIPAL, COL_TIME};
use trailwatch_store::{
    CompactOptions, CompactReport, IngestOptions, Store, COMPACTION_CRASH_STEPS, LOCK_FILE,
    PENDING_DIR, TMP_DIR,
};

const DAYS: [&str; 3] = ["2024-03-01", "2024-03-02", "2024-03-03"];
const INGESTS: usize = 40;
/// Events per log file: two on each day.
const PER_FILE: usize = 6;
const DIR_ENV: &str = "TRAILWATCH_STORE_COMPACT_TEST_DIR";

/// One CloudTrail record: day `k % 3`, a few actions and principals so that the sort matters.
fn record(i: usize, k: usize) -> serde_json::Value {
    let actions = [
        "PutObject",
        "GetObject",
        "AssumeRole",
        "ListBuckets",
        "DeleteTrail",
    ];
    let users = ["alice", "bob", "carol", "svc-etl"];
    let day = DAYS[k % DAYS.len()];
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": format!("AIDA{}", (i + k) % users.len()),
            "arn": format!("arn:aws:iam::123456789012:user/{}", users[(i + k) % users.len()]),
            "accountId": "123456789012",
        },
        "eventTime": format!("{day}T{:02}:{:02}:{:02}Z", (i * 7 + k) % 24, i % 60, k % 60),
        "eventSource": "s3.amazonaws.com",
        "eventName": actions[(i * 3 + k) % actions.len()],
        "awsRegion": "us-east-1",
        "sourceIPAddress": format!("203.0.113.{}", i % 250),
        "userAgent": "aws-cli/2",
        "eventID": format!("{i:08x}-0000-4000-8000-{k:012x}"),
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012",
    })
}

/// Writes the log files (one per ingest) under `logs`.
fn write_logs(logs: &Path) -> Vec<PathBuf> {
    fs::create_dir_all(logs).unwrap();
    (0..INGESTS)
        .map(|i| {
            let records: Vec<_> = (0..PER_FILE).map(|k| record(i, k)).collect();
            let path = logs.join(format!("log-{i:03}.json"));
            fs::write(&path, serde_json::json!({ "Records": records }).to_string()).unwrap();
            path
        })
        .collect()
}

/// A store made of many small commits: each log file ingested on its own (one file per day
/// each time: 40 files in each of the 3 day partitions).
fn small_commits_store(dir: &Path, logs: &Path) -> Store {
    let mut store = Store::create(dir, &common::keys()).unwrap();
    for path in write_logs(logs) {
        let (inputs, errors) = trailwatch_decode::expand_inputs(&[path]);
        assert!(errors.is_empty(), "{errors:?}");
        let r = store.ingest(&inputs, &IngestOptions::default()).unwrap();
        assert_eq!((r.added, r.files_written), (PER_FILE as u64, 3), "{r:?}");
    }
    assert_eq!(store.files().len(), INGESTS * DAYS.len());
    store
}

/// A temporary directory with the logs and the store of [`small_commits_store`] in it.
fn fixture() -> (tempfile::TempDir, PathBuf, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = small_commits_store(&dir, &tmp.path().join("logs"));
    (tmp, dir, store)
}

/// The fixture compacted with `opts`, checked to hold the same event ids as before.
fn compacted(opts: &CompactOptions) -> (tempfile::TempDir, PathBuf, Store, CompactReport) {
    let (tmp, dir, mut store) = fixture();
    let ids = sorted_ids(&store);
    let r = store.compact(opts).unwrap();
    assert_eq!(sorted_ids(&store), ids);
    (tmp, dir, store, r)
}

fn sorted_ids(store: &Store) -> Vec<String> {
    let mut ids = store.event_ids().unwrap();
    ids.sort();
    ids
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Every day of the fixture is before this one.
fn all_days() -> CompactOptions {
    CompactOptions::before(day("2024-03-04"))
}

/// Every row of a data file, batch by batch.
fn read_batches(path: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The (action, principal, time, event id) of each row of a data file, in file order.
fn sort_keys(path: &Path) -> Vec<(String, String, i64, String)> {
    let mut out = Vec::new();
    for batch in read_batches(path) {
        let s = |c: &str| {
            batch
                .column(column_index(c).unwrap())
                .as_string::<i32>()
                .clone()
        };
        let (action, principal, id) = (s(COL_ACTION), s(COL_PRINCIPAL), s(COL_EVENT_ID));
        let time = batch.column(column_index(COL_TIME).unwrap());
        let time = time.as_primitive::<TimestampMillisecondType>();
        for r in 0..batch.num_rows() {
            out.push((
                action.value(r).to_string(),
                principal.value(r).to_string(),
                time.value(r),
                id.value(r).to_string(),
            ));
        }
    }
    out
}

fn is_sorted<T: Ord>(v: &[T]) -> bool {
    v.windows(2).all(|w| w[0] <= w[1])
}

fn count_entries(dir: &Path) -> usize {
    fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn many_small_commits_compact_into_one_sorted_file_per_day() {
    let (tmp, dir, mut store) = fixture();
    let ids = sorted_ids(&store);
    assert_eq!(ids.len(), INGESTS * PER_FILE);
    let stats = store.stats().unwrap();
    assert!(store.compaction_due(&all_days()));

    let r = store.compact(&all_days()).unwrap();
    assert_eq!(r.partitions.len(), 3, "{r:?}");
    assert_eq!((r.files_before(), r.files_after()), (120, 3), "{r:?}");
    assert!(r.bytes_after() < r.bytes_before(), "{r:?}");
    for p in &r.partitions {
        assert_eq!(
            (p.files_before, p.files_after, p.events),
            (40, 1, 80),
            "{p:?}"
        );
        assert_eq!((p.ledger_seqs.len(), p.rows_written), (1, 80));
    }
    // The same events, each once, in 3 files sorted as the store sorts.
    assert_eq!(sorted_ids(&store), ids);
    assert_eq!(store.files().len(), 3);
    for rel in store.files() {
        let keys = sort_keys(&dir.join(&rel));
        assert_eq!(keys.len(), 80);
        assert!(is_sorted(&keys), "{rel} is not sorted");
    }
    let after = store.stats().unwrap();
    assert_eq!(
        (after.events, &after.first_time, &after.last_time),
        (stats.events, &stats.first_time, &stats.last_time)
    );
    assert_eq!(after.per_account, stats.per_account);
    // The link: every replaced file with its hash, the written one, the counts.
    let link = store.ledger().last_link().unwrap().clone();
    assert_eq!(link.kind, LinkKind::Compaction);
    assert_eq!((link.replaced.len(), link.written.len()), (40, 1));
    assert_eq!(link.records, Some(80));
    let v = store.verify().unwrap();
    assert!(v.is_ok(), "{v}");
    assert_eq!(
        (v.ledger.compactions, v.ledger.replaced_by_compaction),
        (3, 120)
    );
    assert!(v.to_string().contains("3 compaction"), "{v}");
    assert_eq!(count_entries(&dir.join(TMP_DIR)), 0);
    assert_eq!(count_entries(&dir.join(PENDING_DIR)), 0);

    // Nothing more to do; after reopening, the ids come from the compacted files and an
    // ingest of the same logs adds nothing.
    assert!(!store.compaction_due(&all_days()));
    assert!(store.compact(&all_days()).unwrap().partitions.is_empty());
    drop(store);
    let mut store = Store::open(&dir, &common::keys()).unwrap();
    assert!(store.recovery().is_empty(), "{:?}", store.recovery());
    let (inputs, _) = trailwatch_decode::expand_inputs(&[tmp.path().join("logs")]);
    let opts = IngestOptions {
        check_source_hash: true,
        ..IngestOptions::default()
    };
    let r = store.ingest(&inputs, &opts).unwrap();
    assert_eq!((r.added, r.skipped), (0, INGESTS as u64));
    assert!(Store::open_read(&dir).unwrap().verify().unwrap().is_ok());
}

#[test]
fn only_past_days_with_enough_small_files_are_compacted() {
    let (_tmp, dir, mut store) = fixture();
    let ids = sorted_ids(&store);
    let too_many = CompactOptions {
        min_files: INGESTS + 1,
        ..all_days()
    };
    assert!(!store.compaction_due(&too_many));
    assert!(store.compact(&too_many).unwrap().partitions.is_empty());
    // The last day is the one being written: left alone.
    let opts = CompactOptions::before(day(DAYS[2]));
    let r = store.compact(&opts).unwrap();
    let parts: Vec<&str> = r.partitions.iter().map(|p| p.partition.as_str()).collect();
    assert_eq!(
        parts,
        ["provider=aws/dt=2024-03-01", "provider=aws/dt=2024-03-02"]
    );
    let last_day = store.files().iter().filter(|f| f.contains(DAYS[2])).count();
    assert_eq!((store.files().len(), last_day), (2 + INGESTS, INGESTS));
    assert_eq!(sorted_ids(&store), ids);
    assert!(store.verify().unwrap().is_ok());
    // A reader cannot compact.
    let mut reader = Store::open_read(&dir).unwrap();
    assert!(reader.compact(&all_days()).is_err());
}

#[test]
fn max_rows_splits_a_day_into_files_sorted_across_them_and_not_compacted_again() {
    // 80 rows a day, at most 30 a file: 3 files of 27, 27 and 26 rows.
    let opts = CompactOptions {
        max_rows: 30,
        ..all_days()
    };
    let (_tmp, dir, store, r) = compacted(&opts);
    assert_eq!(r.files_after(), 9, "{r:?}");
    let mut first_day: Vec<_> = store
        .files()
        .into_iter()
        .filter(|f| f.contains(DAYS[0]))
        .map(|f| sort_keys(&dir.join(f)))
        .collect();
    // Sorted within each file and across them: each file takes up where the one before ends.
    first_day.sort();
    let rows: Vec<usize> = first_day.iter().map(Vec::len).collect();
    assert_eq!(rows, [27, 27, 26]);
    assert!(is_sorted(&first_day.concat()));
    assert!(store.verify().unwrap().is_ok());
    // Files with half the maximum or more are not small: nothing to do again.
    let again = CompactOptions {
        min_files: 2,
        ..opts
    };
    assert!(!store.compaction_due(&again));
}

#[test]
fn a_day_of_more_files_than_merged_at_once_is_compacted_in_rounds() {
    // 40 files a day, 8 at once: 8 of them into one, which joins the rest, until 5 are left.
    let (_tmp, dir, store, r) = compacted(&CompactOptions {
        max_inputs: 8,
        ..all_days()
    });
    for p in &r.partitions {
        assert_eq!((p.files_before, p.files_after), (40, 1), "{p:?}");
        assert_eq!(p.ledger_seqs.len(), 6, "{p:?}");
        // 5 groups of 8 files (2 rows each) merged first, then the 5 files they left and 5.
        assert_eq!((p.events, p.rows_written), (80, 80 + 5 * 16), "{p:?}");
    }
    for rel in store.files() {
        assert!(is_sorted(&sort_keys(&dir.join(&rel))), "{rel}");
    }
    let v = store.verify().unwrap();
    assert!(v.is_ok(), "{v}");
    assert_eq!(
        (v.ledger.compactions, v.ledger.replaced_by_compaction),
        (18, 135)
    );
}

/// Whether a problem is about the file `rel` (modified, appended to, truncated: whichever the
/// rewrite made it).
fn about(p: &Problem, rel: &str) -> bool {
    p.to_string().starts_with(&format!("{rel}: "))
}

/// Rewrites a data file with the `event_id` of its first row changed.
fn rewrite_with_one_id_changed(path: &Path) {
    let mut batches = read_batches(path);
    let idx = column_index(COL_EVENT_ID).unwrap();
    let first = &batches[0];
    let mut ids: Vec<String> = first
        .column(idx)
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    ids[0] = "ffffffff-0000-4000-8000-000000000000".into();
    let mut cols: Vec<ArrayRef> = first.columns().to_vec();
    cols[idx] = std::sync::Arc::new(StringArray::from(ids));
    batches[0] = RecordBatch::try_new(first.schema(), cols).unwrap();
    let mut w =
        ArrowWriter::try_new(fs::File::create(path).unwrap(), batches[0].schema(), None).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn a_compacted_file_rewritten_with_one_row_changed_is_named_by_verify() {
    let (_tmp, dir, mut store) = fixture();
    store.compact(&all_days()).unwrap();
    let victim = store.files()[1].clone();
    rewrite_with_one_id_changed(&dir.join(&victim));
    let v = Store::open_read(&dir).unwrap().verify().unwrap();
    assert!(!v.is_ok());
    // Its bytes are not the ones the link signed (modified, or here longer: written without
    // compression), and its event ids are not the ones it recorded.
    assert!(v.ledger.problems.iter().any(|p| about(p, &victim)), "{v}");
    let ids = v
        .parquet_problems
        .iter()
        .find(|p| p.path == victim)
        .unwrap();
    assert!(
        ids.reason.contains("event ids") && ids.reason.contains("tampered"),
        "{v}"
    );
    assert_eq!(v.problems(), 2, "{v}");
}

fn ledger_lines(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(LEDGER_DIR).join(LEDGER_FILE))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn write_ledger(dir: &Path, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(dir.join(LEDGER_DIR).join(LEDGER_FILE), text).unwrap();
}

#[test]
fn a_removed_or_forged_compaction_link_fails_verify() {
    let (_tmp, dir, mut store) = fixture();
    store
        .compact(&CompactOptions::before(day(DAYS[1])))
        .unwrap();
    let compacted = store.files()[0].clone();
    drop(store);
    let original = ledger_lines(&dir);
    let last = original.len() - 1;
    assert!(original[last].contains(r#""kind":"compaction""#));

    // The link removed: the compacted file is planted, the files it replaced are missing.
    write_ledger(&dir, &original[..last]);
    let v = Store::open_read(&dir).unwrap().verify().unwrap();
    assert_eq!(v.planted(), [compacted.as_str()], "{v}");
    assert_eq!(v.missing().len(), INGESTS, "{v}");

    // The replaced list forged (one file dropped from it, as if never committed): the
    // signature no longer verifies, and the dropped file is missing.
    let mut link: serde_json::Value = serde_json::from_str(&original[last]).unwrap();
    let dropped = link["replaced"].as_array_mut().unwrap().pop().unwrap();
    let mut forged = original.clone();
    forged[last] = link.to_string();
    write_ledger(&dir, &forged);
    let v = Store::open_read(&dir).unwrap().verify().unwrap();
    assert!(
        v.ledger
            .problems
            .iter()
            .any(|p| matches!(p, Problem::BadSignature { .. })),
        "{v}"
    );
    assert!(
        v.missing().contains(&dropped["path"].as_str().unwrap()),
        "{v}"
    );
    assert!(!v.is_ok());

    write_ledger(&dir, &original);
    assert!(Store::open_read(&dir).unwrap().verify().unwrap().is_ok());
}

#[test]
fn a_file_modified_before_compaction_is_not_laundered() {
    let (_tmp, dir, mut store) = fixture();
    // A file of the last day: the two days before it are compacted, that one is refused.
    let victim = store.files()[2 * INGESTS + 5].clone();
    assert!(victim.contains(DAYS[2]), "{victim}");
    rewrite_with_one_id_changed(&dir.join(&victim));
    let e = store.compact(&all_days()).unwrap_err().to_string();
    assert!(e.contains(&victim) && e.contains("modified"), "{e}");
    let last_day = store.files().iter().filter(|f| f.contains(DAYS[2])).count();
    assert_eq!((store.files().len(), last_day), (2 + INGESTS, INGESTS));
    assert_eq!(count_entries(&dir.join(TMP_DIR)), 0);
    assert_eq!(count_entries(&dir.join(PENDING_DIR)), 0);
    // Verify names the modified file, and nothing else.
    let v = store.verify().unwrap();
    assert_eq!(v.ledger.compactions, 2);
    assert!(v.ledger.problems.iter().all(|p| about(p, &victim)), "{v}");
    assert!(!v.is_ok());
}

/// The child's side of the crash test: compact, with a crash injected (the env says where).
fn child_compact(dir: &str) {
    let mut store = Store::open(Path::new(dir), &common::keys()).unwrap();
    store.compact(&all_days()).unwrap();
}

/// Runs the child compaction with a crash at `at`; true if it crashed.
fn crash_child(dir: &Path, at: &str) -> bool {
    let test = "a_crash_at_every_compaction_step_is_finished_or_undone_by_the_next_writer";
    common::crash_child(test, DIR_ENV, dir, at)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

/// What a reader sees right after the crash: nothing lost, nothing planted; after the link,
/// the replaced files still there (a problem, in flight while a writer holds the lock).
fn check_after_crash(dir: &Path, step: &str, what: &str) {
    let reader = Store::open_read(dir).unwrap();
    let v = reader.verify().unwrap();
    assert!(
        v.planted().is_empty() && v.missing().is_empty(),
        "{what}: {v}"
    );
    let after_link = matches!(step, "compact_linked" | "compact_removed_one");
    let replaced_left = v
        .ledger
        .problems
        .iter()
        .filter(|p| matches!(p, Problem::ReplacedButPresent { .. }))
        .count();
    assert_eq!(after_link, replaced_left > 0, "{what}: {v}");
    assert_eq!(v.ledger.problems.len(), replaced_left, "{what}: {v}");
    if after_link {
        let lock = fs::File::open(dir.join(LOCK_FILE)).unwrap();
        lock.lock().unwrap();
        let v = reader.verify().unwrap();
        assert!(v.is_ok(), "{what}: a live writer's compaction: {v}");
        assert_eq!(v.in_flight.len(), replaced_left, "{what}: {v}");
    }
}

#[test]
fn a_crash_at_every_compaction_step_is_finished_or_undone_by_the_next_writer() {
    if let Ok(dir) = std::env::var(DIR_ENV) {
        return child_compact(&dir);
    }
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let expected = sorted_ids(&small_commits_store(&base, &tmp.path().join("logs")));
    let mut crashes = 0;
    for step in COMPACTION_CRASH_STEPS {
        for n in [1, 2] {
            let what = format!("crash at {step}:{n}");
            let dir = tmp.path().join(format!("{step}-{n}"));
            copy_dir(&base, &dir);
            assert!(
                crash_child(&dir, &format!("{step}:{n}")),
                "{what}: no crash"
            );
            crashes += 1;
            check_after_crash(&dir, step, &what);
            // The next writer: every event once, a store that verifies, before compacting
            // again and after.
            let mut store = Store::open(&dir, &common::keys()).unwrap();
            let r = store.recovery().clone();
            let after_link = matches!(step, "compact_linked" | "compact_removed_one");
            assert_eq!(
                after_link,
                !r.compaction_finished.is_empty(),
                "{what}: {r:?}"
            );
            assert_eq!(sorted_ids(&store), expected, "{what}");
            let v = store.verify().unwrap();
            assert!(v.is_ok(), "{what}: {v}");
            store.compact(&all_days()).unwrap();
            assert_eq!(store.files().len(), 3, "{what}");
            assert_eq!(sorted_ids(&store), expected, "{what}");
            let v = store.verify().unwrap();
            assert!(v.is_ok(), "{what}: {v}");
            assert_eq!(count_entries(&dir.join(TMP_DIR)), 0, "{what}");
            assert_eq!(count_entries(&dir.join(PENDING_DIR)), 0, "{what}");
            drop(store);
            assert!(
                Store::open(&dir, &common::keys())
                    .unwrap()
                    .recovery()
                    .is_empty(),
                "{what}"
            );
        }
    }
    assert_eq!(crashes, COMPACTION_CRASH_STEPS.len() * 2);
}
