//! The limits of `Query::sql_limited`: time, rows, and the session's memory pool. The queries
//! run over generated rows (`generate_series`), so no store is needed: a missing store is an
//! empty `events`.

use std::time::{Duration, Instant};

use trailwatch_query::arrow::array::{Array, Int64Array};
use trailwatch_query::{Query, QueryError, RecordBatch, RunLimits, SessionLimits};

fn open(memory_bytes: usize) -> (tempfile::TempDir, Query) {
    let dir = tempfile::tempdir().expect("temp dir");
    let q =
        Query::open_with(dir.path().join("store"), SessionLimits { memory_bytes }).expect("open");
    (dir, q)
}

fn limits(timeout: Duration, max_rows: usize) -> RunLimits {
    RunLimits { timeout, max_rows }
}

fn values(batches: &[RecordBatch]) -> Vec<i64> {
    let mut out = Vec::new();
    for b in batches {
        let col = b
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("an Int64 column");
        out.extend((0..col.len()).map(|i| col.value(i)));
    }
    out
}

/// A join of 10^12 pairs that keeps almost none: it streams (no memory to speak of) and
/// would run for hours.
const RUNAWAY: &str = "SELECT count(*) FROM generate_series(1, 1000000) a, \
                       generate_series(1, 1000000) b WHERE a.value + b.value = 7";

#[test]
fn a_runaway_join_is_cancelled_at_its_time_limit_and_the_session_still_works() {
    let (_dir, q) = open(256 << 20);
    let started = Instant::now();
    let err = q
        .sql_limited(RUNAWAY, limits(Duration::from_millis(1500), 100))
        .expect_err("the join cannot finish in 1.5 s");
    let took = started.elapsed();
    match &err {
        QueryError::Timeout { limit } => assert_eq!(*limit, Duration::from_millis(1500)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.to_string().contains("time limit of 1.5 s"), "{err}");
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert!(took < Duration::from_secs(5), "cancelling took {took:?}");
    // The session still answers at once, although the cancelled join's threads may still be
    // finishing the pair of batches they are on (DataFusion's nested-loop join does not yield
    // inside one): they belong to the cancelled query's own runtime.
    let asked = Instant::now();
    let next = q
        .sql_limited(
            "SELECT sum(value) FROM generate_series(1, 1000)",
            limits(Duration::from_secs(30), 10),
        )
        .expect("a small query after a cancelled one");
    assert_eq!(values(&next.batches), vec![500_500]);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    // Dropping the session does not wait for the cancelled join's threads.
    let dropping = Instant::now();
    drop(q);
    assert!(
        dropping.elapsed() < Duration::from_secs(1),
        "{:?}",
        dropping.elapsed()
    );
}

#[test]
fn rows_past_the_cap_are_cut_and_the_cut_is_reported() {
    let (_dir, q) = open(256 << 20);
    let r = q
        .sql_limited(
            "SELECT value FROM generate_series(1, 25000) ORDER BY value",
            limits(Duration::from_secs(30), 10_000),
        )
        .expect("query");
    assert_eq!(r.rows, 10_000);
    assert!(r.truncated);
    assert_eq!(values(&r.batches), (1..=10_000).collect::<Vec<i64>>());

    // A cap that stops a query that would never end on its own.
    let r = q
        .sql_limited(
            "SELECT a.value FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b",
            limits(Duration::from_secs(30), 5),
        )
        .expect("the cap ends an endless result");
    assert_eq!((r.rows, r.truncated), (5, true));
}

#[test]
fn a_result_of_exactly_the_cap_or_less_is_not_reported_as_cut() {
    let (_dir, q) = open(256 << 20);
    let t = Duration::from_secs(30);
    // 8192 rows is one whole DataFusion batch: the cap is reached at a batch boundary.
    let exact = q
        .sql_limited(
            "SELECT value FROM generate_series(1, 8192)",
            limits(t, 8192),
        )
        .expect("query");
    assert_eq!((exact.rows, exact.truncated), (8192, false));
    let one_more = q
        .sql_limited(
            "SELECT value FROM generate_series(1, 8193)",
            limits(t, 8192),
        )
        .expect("query");
    assert_eq!((one_more.rows, one_more.truncated), (8192, true));
    let fewer = q
        .sql_limited("SELECT value FROM generate_series(1, 10)", limits(t, 8192))
        .expect("query");
    assert_eq!((fewer.rows, fewer.truncated), (10, false));
    assert_eq!(values(&fewer.batches), (1..=10).collect::<Vec<i64>>());
    // No rows: one empty batch that still names the columns.
    let none = q
        .sql_limited(
            "SELECT value AS v FROM generate_series(1, 10) WHERE value > 100",
            limits(t, 8192),
        )
        .expect("query");
    assert_eq!((none.rows, none.truncated), (0, false));
    assert_eq!(none.batches.len(), 1);
    assert_eq!(none.batches[0].schema().field(0).name(), "v");
}

#[test]
fn an_operator_past_the_memory_pool_fails_with_a_memory_limit_error() {
    let (_dir, q) = open(16 << 20);
    // One group holding 40 MB of values: an aggregate that cannot spill.
    let err = q
        .sql_limited(
            "SELECT array_agg(value) FROM generate_series(1, 5000000)",
            limits(Duration::from_secs(60), 10),
        )
        .expect_err("40 MB in a 16 MiB pool");
    match &err {
        QueryError::MemoryLimit { limit, detail } => {
            assert_eq!(*limit, 16 << 20);
            assert!(!detail.is_empty());
        }
        other => panic!("expected a memory limit error, got {other:?}"),
    }
    assert!(err.to_string().contains("memory limit of 16 MiB"), "{err}");
}

#[test]
fn rows_held_for_the_caller_count_against_the_memory_pool() {
    let (_dir, q) = open(16 << 20);
    // 100,000 rows of 1,000 bytes (~100 MB) in a 16 MiB pool, with a cap that lets them all
    // through: holding them is what runs out.
    let err = q
        .sql_limited(
            "SELECT repeat('x', 1000) AS s FROM generate_series(1, 100000)",
            limits(Duration::from_secs(60), 1_000_000),
        )
        .expect_err("100 MB of results in a 16 MiB pool");
    match &err {
        QueryError::MemoryLimit { detail, .. } => {
            assert!(detail.contains("query results"), "{detail}")
        }
        other => panic!("expected a memory limit error, got {other:?}"),
    }
    // Under the cap the same query fits.
    let r = q
        .sql_limited(
            "SELECT repeat('x', 1000) AS s FROM generate_series(1, 100000)",
            limits(Duration::from_secs(60), 1_000),
        )
        .expect("1,000 rows fit");
    assert_eq!((r.rows, r.truncated), (1_000, true));
}

#[test]
fn an_ordinary_query_gives_the_same_rows_limited_or_not() {
    let (_dir, q) = open(256 << 20);
    let text = "SELECT value % 7 AS k, count(*) AS n FROM generate_series(1, 70000) \
                GROUP BY 1 ORDER BY 1";
    let plain = q.sql(text).expect("unlimited");
    let limited = q
        .sql_limited(text, RunLimits::default())
        .expect("under the default limits");
    assert!(!limited.truncated);
    assert_eq!(limited.rows, 7);
    let n = |batches: &[RecordBatch]| {
        let mut out = Vec::new();
        for b in batches {
            let k = b
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("k");
            let n = b
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("n");
            out.extend((0..b.num_rows()).map(|i| (k.value(i), n.value(i))));
        }
        out
    };
    assert_eq!(n(&limited.batches), n(&plain));
    assert_eq!(n(&plain), (0..7).map(|k| (k, 10_000)).collect::<Vec<_>>());
}
