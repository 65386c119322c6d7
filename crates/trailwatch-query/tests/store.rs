//! SQL over a small store written here with the parquet crate, in exactly the store's layout:
//! two providers, five days, ~10k rows, one partition split into two files.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, ListBuilder, StringArray, StringBuilder,
    TimestampMillisecondArray,
};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use trailwatch_query::{
    schema, search, to_csv, to_json, to_json_lines, to_table, Query, QueryError, SearchFilter,
};

const DAY_MS: i64 = 86_400_000;
/// 2024-03-01T00:00:00Z
const START_MS: i64 = 1_709_251_200_000;
const DAYS: [&str; 5] = [
    "2024-03-01",
    "2024-03-02",
    "2024-03-03",
    "2024-03-04",
    "2024-03-05",
];
const PRINCIPALS: [&str; 5] = ["alice", "bob", "o'brien\\x", "svc-deploy", "carol"];
const ACTIONS: [&str; 7] = [
    "GetObject",
    "PutObject",
    "ConsoleLogin",
    "DescribeInstances",
    "AssumeRole",
    "Get%Object_v2",
    "GetXObjectXv2",
];

#[derive(Clone, Debug)]
struct Row {
    provider: &'static str,
    dt: &'static str,
    time: i64,
    principal: &'static str,
    action: &'static str,
    outcome: &'static str,
    user_agent: String,
    resources: Vec<String>,
    event_id: String,
}

fn rows_for(provider: &'static str, day: usize, n: usize) -> Vec<Row> {
    let dt = DAYS[day];
    (0..n)
        .map(|i| {
            // Mix the provider in so the two providers differ.
            let k = i + day * 3 + if provider == "aws" { 0 } else { 1 };
            let outcome = if k.is_multiple_of(7) {
                "failure"
            } else if k.is_multiple_of(101) {
                "pending"
            } else {
                "success"
            };
            Row {
                provider,
                dt,
                time: START_MS + day as i64 * DAY_MS + (i as i64 * (DAY_MS / n as i64)),
                principal: PRINCIPALS[k % PRINCIPALS.len()],
                action: ACTIONS[(k / 2) % ACTIONS.len()],
                outcome,
                user_agent: if k.is_multiple_of(13) {
                    "=HYPERLINK(\"http://evil\")".to_string()
                } else {
                    "aws-cli/2.15".to_string()
                },
                resources: (0..k % 3)
                    .map(|j| format!("arn:aws:s3:::bucket-{}", (k + j) % 4))
                    .collect(),
                event_id: format!("{provider}-{dt}-{i:05}"),
            }
        })
        .collect()
}

fn batch(rows: &[Row]) -> RecordBatch {
    let s = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let mut resources = ListBuilder::new(StringBuilder::new());
    for row in rows {
        for r in &row.resources {
            resources.values().append_value(r);
        }
        resources.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMillisecondArray::from(rows.iter().map(|r| r.time).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        s(&|r| {
            Some(
                if r.provider == "aws" {
                    "123456789012"
                } else {
                    "tenant-1"
                }
                .into(),
            )
        }),
        s(&|_| Some("us-east-1".into())),
        s(&|_| Some("IAMUser".into())),
        s(&|r| Some(format!("AID-{}", r.principal.len()))),
        s(&|r| Some(r.principal.to_string())),
        s(&|r| Some(format!("arn:aws:iam::123456789012:user/{}", r.principal))),
        s(&|r| (r.principal == "bob").then(|| "AKIAEXAMPLEBOB".to_string())),
        Arc::new(
            rows.iter()
                .map(|r| (r.action == "ConsoleLogin").then_some(true))
                .collect::<BooleanArray>(),
        ),
        s(&|_| None),
        s(&|r| Some(format!("10.0.0.{}", r.principal.len()))),
        s(&|r| Some(r.user_agent.clone())),
        s(&|_| Some("s3.amazonaws.com".into())),
        s(&|r| Some(r.action.to_string())),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.action.starts_with("Get")))
                .collect::<BooleanArray>(),
        ),
        s(&|r| Some(r.outcome.to_string())),
        s(&|r| (r.outcome == "failure").then(|| "AccessDenied".to_string())),
        Arc::new(resources.finish()),
        s(&|r| Some(r.event_id.clone())),
        s(&|r| Some(format!("{{\"eventID\":\"{}\"}}", r.event_id))),
    ];
    RecordBatch::try_new(schema(), columns).unwrap()
}

fn write_file(path: &Path, rows: &[Row]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(256))
        .build();
    let file = fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema(), Some(props)).unwrap();
    writer.write(&batch(rows)).unwrap();
    writer.close().unwrap();
}

/// Writes the store under `dir` and returns every row written.
fn write_store(dir: &Path) -> Vec<Row> {
    let mut all = Vec::new();
    for (day, dt) in DAYS.iter().enumerate() {
        for (provider, n) in [("aws", 1200), ("azure", 800)] {
            let rows = rows_for(provider, day, n);
            let part = dir.join(format!("provider={provider}/dt={dt}"));
            if provider == "aws" && day == 2 {
                // One partition in two files, as successive ingests leave it.
                write_file(&part.join("part-00000.parquet"), &rows[..500]);
                write_file(&part.join("part-00001.parquet"), &rows[500..]);
            } else {
                write_file(&part.join("part-00000.parquet"), &rows);
            }
            all.extend(rows);
        }
    }
    // What the store keeps beside the partitions, which the query side must ignore.
    fs::create_dir_all(dir.join("_ledger")).unwrap();
    fs::write(dir.join("_ledger/ledger.jsonl"), "{}\n").unwrap();
    fs::create_dir_all(dir.join("_tmp/provider=aws/dt=2024-03-01")).unwrap();
    fs::write(
        dir.join("_tmp/provider=aws/dt=2024-03-01/part-99999.parquet"),
        b"half-written, not parquet",
    )
    .unwrap();
    fs::write(dir.join("_sources.jsonl"), "{}\n").unwrap();
    all
}

fn store() -> (tempfile::TempDir, Vec<Row>, Query) {
    let dir = tempfile::tempdir().unwrap();
    let rows = write_store(dir.path());
    let query = Query::open(dir.path()).unwrap();
    (dir, rows, query)
}

fn count(query: &Query, sql: &str) -> i64 {
    let batches = query.sql(sql).unwrap();
    assert_eq!(
        batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        1,
        "{sql}"
    );
    let batch = batches.iter().find(|b| b.num_rows() == 1).unwrap();
    batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap_or_else(|| panic!("{sql}: not Int64: {:?}", batch.column(0).data_type()))
        .value(0)
}

fn strings(batches: &[RecordBatch], column: usize) -> Vec<String> {
    let mut out = Vec::new();
    for batch in batches {
        let col =
            arrow::compute::cast(batch.column(column), &arrow::datatypes::DataType::Utf8).unwrap();
        let col = col.as_any().downcast_ref::<StringArray>().unwrap();
        out.extend((0..col.len()).map(|i| col.value(i).to_string()));
    }
    out
}

/// The physical plan of `sql`, as EXPLAIN prints it.
fn physical_plan(query: &Query, sql: &str) -> String {
    let batches = query.sql(&format!("EXPLAIN {sql}")).unwrap();
    let kinds = strings(&batches, 0);
    let plans = strings(&batches, 1);
    kinds
        .iter()
        .zip(plans)
        .filter(|(kind, _)| kind.as_str() == "physical_plan")
        .map(|(_, plan)| plan)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn counts_overall_and_per_view() {
    let (_dir, rows, query) = store();
    assert_eq!(rows.len(), 10_000);
    let n = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count() as i64;
    assert_eq!(count(&query, "SELECT count(*) FROM events"), 10_000);
    assert_eq!(count(&query, "SELECT count(*) FROM aws"), 6_000);
    assert_eq!(count(&query, "SELECT count(*) FROM azure"), 4_000);
    let failures = n(&|r| r.outcome == "failure");
    assert!(failures > 1000);
    assert_eq!(count(&query, "SELECT count(*) FROM failures"), failures);
    let logins = n(&|r| r.action == "ConsoleLogin");
    assert!(logins > 1000);
    assert_eq!(count(&query, "SELECT count(*) FROM console_logins"), logins);
    assert_eq!(
        count(
            &query,
            "SELECT count(*) FROM failures WHERE provider = 'azure'"
        ),
        n(&|r| r.outcome == "failure" && r.provider == "azure")
    );
    assert_eq!(
        count(&query, "SELECT count(DISTINCT event_id) FROM events"),
        10_000
    );
    // Lists and booleans come through.
    assert_eq!(
        count(
            &query,
            "SELECT count(*) FROM events WHERE array_has(resources, 'arn:aws:s3:::bucket-1')"
        ),
        n(&|r| r.resources.iter().any(|x| x == "arn:aws:s3:::bucket-1"))
    );
    assert_eq!(
        count(&query, "SELECT count(*) FROM events WHERE mfa"),
        logins
    );
}

#[test]
fn group_by_action_for_one_principal() {
    let (_dir, rows, query) = store();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.principal == "alice") {
        *expected.entry(row.action.to_string()).or_default() += 1;
    }
    let batches = query
        .sql(
            "SELECT action, count(*) AS n FROM events WHERE principal = 'alice' \
             GROUP BY 1 ORDER BY 1",
        )
        .unwrap();
    let mut got = BTreeMap::new();
    for batch in &batches {
        let actions = batch.column(0).as_any().downcast_ref::<StringArray>();
        let actions: Vec<String> = match actions {
            Some(a) => (0..a.len()).map(|i| a.value(i).to_string()).collect(),
            None => strings(std::slice::from_ref(batch), 0),
        };
        let counts = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        for (i, action) in actions.into_iter().enumerate() {
            got.insert(action, counts.value(i) as u64);
        }
    }
    assert_eq!(got, expected);
    assert_eq!(got.len(), ACTIONS.len());
}

#[test]
fn one_day_filter_reads_only_that_day() {
    let (_dir, rows, query) = store();
    let since = START_MS + 2 * DAY_MS; // 2024-03-03
    let until = since + DAY_MS - 1;
    let filter = Query::time_filter_sql(since, until);
    assert!(
        filter.starts_with("dt BETWEEN '2024-03-03' AND '2024-03-03' AND time BETWEEN"),
        "{filter}"
    );
    let expected = rows.iter().filter(|r| r.dt == "2024-03-03").count() as i64;
    assert_eq!(expected, 2000);
    assert_eq!(
        count(
            &query,
            &format!("SELECT count(*) FROM events WHERE {filter}")
        ),
        expected
    );

    // The plan scans the three files of that day (two aws, one azure) and no other.
    let plan = physical_plan(
        &query,
        &format!("SELECT event_id FROM events WHERE {filter}"),
    );
    assert_eq!(plan.matches(".parquet").count(), 3, "{plan}");
    assert_eq!(plan.matches("dt=2024-03-03/").count(), 3, "{plan}");
    for other in ["2024-03-01", "2024-03-02", "2024-03-04", "2024-03-05"] {
        assert!(
            !plan.contains(&format!("dt={other}")),
            "{other} scanned: {plan}"
        );
    }
    // The time bounds reach the Parquet scan as a pruning predicate on `time`'s statistics.
    assert!(plan.contains("pruning_predicate"), "{plan}");
    assert!(plan.contains("time_min"), "{plan}");

    // The same range on `time` alone answers the same but lists every day's files.
    let time_only = format!(
        "time BETWEEN arrow_cast({since}, 'Timestamp(Millisecond, Some(\"UTC\"))') \
         AND arrow_cast({until}, 'Timestamp(Millisecond, Some(\"UTC\"))')"
    );
    assert_eq!(
        count(
            &query,
            &format!("SELECT count(*) FROM events WHERE {time_only}")
        ),
        expected
    );
    let plan = physical_plan(
        &query,
        &format!("SELECT event_id FROM events WHERE {time_only}"),
    );
    assert!(plan.contains("dt=2024-03-01/"), "{plan}");

    // A range across midnight names both days and returns exactly the rows inside it.
    let since = START_MS + 3 * DAY_MS - 3_600_000; // 2024-03-03T23:00Z
    let until = START_MS + 3 * DAY_MS + 3_600_000; // 2024-03-04T01:00Z
    let filter = Query::time_filter_sql(since, until);
    assert!(
        filter.starts_with("dt BETWEEN '2024-03-03' AND '2024-03-04'"),
        "{filter}"
    );
    let expected = rows
        .iter()
        .filter(|r| (since..=until).contains(&r.time))
        .count() as i64;
    assert!(expected > 0);
    assert_eq!(
        count(
            &query,
            &format!("SELECT count(*) FROM events WHERE {filter}")
        ),
        expected
    );
    // An inverted range is empty, not an error.
    let filter = Query::time_filter_sql(until, since);
    assert_eq!(
        count(
            &query,
            &format!("SELECT count(*) FROM events WHERE {filter}")
        ),
        0
    );
}

#[test]
fn one_day_filter_metrics() {
    let (_dir, _rows, query) = store();
    let filter = Query::time_filter_sql(START_MS + DAY_MS, START_MS + 2 * DAY_MS - 1);
    let batches = query
        .sql(&format!(
            "EXPLAIN ANALYZE SELECT event_id FROM events WHERE {filter}"
        ))
        .unwrap();
    let text = strings(&batches, 1).join("\n");
    // Only 2024-03-02's two files were opened: 2000 rows read, all kept.
    assert!(
        text.contains("output_rows=2000") || text.contains("output_rows=2.00 K"),
        "{text}"
    );
    assert!(!text.contains("dt=2024-03-01"), "{text}");
    assert!(!text.contains("dt=2024-03-03"), "{text}");
}

#[test]
fn search_builder_escapes_values() {
    let (_dir, rows, query) = store();
    let run = |filter: &SearchFilter| -> Vec<RecordBatch> {
        let sql = search(filter);
        query.sql(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let total = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows()).sum::<usize>();

    // A principal with a quote and a backslash matches itself, and only itself.
    let batches = run(&SearchFilter {
        principal: Some("o'brien\\x".into()),
        ..SearchFilter::default()
    });
    let expected = rows.iter().filter(|r| r.principal == "o'brien\\x").count();
    assert!(expected > 0);
    assert_eq!(total(&batches), expected);
    assert!(strings(&batches, 4).iter().all(|p| p == "o'brien\\x"));
    // Ordered by time.
    let times = strings(&batches, 0);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));

    // An injection attempt is just a principal nobody has.
    let batches = run(&SearchFilter {
        principal: Some("x' OR '1'='1".into()),
        ..SearchFilter::default()
    });
    assert_eq!(total(&batches), 0);

    // `%` and `_` in a glob are literal: this matches Get%Object_v2, not GetXObjectXv2.
    let literal = rows.iter().filter(|r| r.action == "Get%Object_v2").count();
    assert!(literal > 0);
    for glob in ["Get%Object_v2", "Get%Object?v2", "Get%*_v2", "*%*"] {
        let batches = run(&SearchFilter {
            action: Some(glob.into()),
            ..SearchFilter::default()
        });
        assert_eq!(total(&batches), literal, "{glob}");
        assert!(
            strings(&batches, 7).iter().all(|a| a == "Get%Object_v2"),
            "{glob}"
        );
    }
    // `*` and `?` are wildcards.
    let batches = run(&SearchFilter {
        action: Some("Get*Object*".into()),
        ..SearchFilter::default()
    });
    let expected = rows
        .iter()
        .filter(|r| r.action.starts_with("Get") && r.action.contains("Object"))
        .count();
    assert_eq!(total(&batches), expected);

    // Everything at once, with a time range and a limit.
    let since = START_MS + DAY_MS;
    let until = START_MS + 3 * DAY_MS - 1;
    let filter = SearchFilter {
        principal: Some("bob".into()),
        access_key: Some("AKIAEXAMPLEBOB".into()),
        ip: Some("10.0.0.3".into()),
        action: Some("*Object".into()),
        resource: Some("arn:aws:s3:::bucket-2".into()),
        since_ms: Some(since),
        until_ms: Some(until),
        limit: None,
    };
    let expected = rows
        .iter()
        .filter(|r| {
            r.principal == "bob"
                && r.action.ends_with("Object")
                && r.resources.iter().any(|x| x == "arn:aws:s3:::bucket-2")
                && (since..=until).contains(&r.time)
        })
        .count();
    assert!(expected > 0);
    assert_eq!(total(&run(&filter)), expected);
    let limited = run(&SearchFilter {
        limit: Some(5),
        ..filter.clone()
    });
    assert_eq!(total(&limited), 5);
    // The search's time range prunes partitions too.
    let plan = physical_plan(&query, &search(&filter));
    assert!(!plan.contains("dt=2024-03-01"), "{plan}");
    assert!(!plan.contains("dt=2024-03-04"), "{plan}");
    assert!(plan.contains("dt=2024-03-02"), "{plan}");

    // Open-ended ranges.
    let after = run(&SearchFilter {
        since_ms: Some(START_MS + 4 * DAY_MS),
        ..SearchFilter::default()
    });
    assert_eq!(total(&after), 2000);
    let before = run(&SearchFilter {
        until_ms: Some(START_MS + DAY_MS - 1),
        ..SearchFilter::default()
    });
    assert_eq!(total(&before), 2000);
}

#[test]
fn csv_neutralises_formula_cells() {
    let (_dir, rows, query) = store();
    let batches = query
        .sql(
            "SELECT event_id, user_agent, count(*) OVER () AS n, -1 AS neg FROM events \
             WHERE user_agent LIKE '=%' ORDER BY event_id LIMIT 3",
        )
        .unwrap();
    let csv = to_csv(&batches).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "event_id,user_agent,n,neg");
    assert_eq!(lines.len(), 4, "{csv}");
    let evil = rows
        .iter()
        .filter(|r| r.user_agent.starts_with('='))
        .count();
    for line in &lines[1..] {
        // The formula is prefixed with ' (and quoted, for its own quotes); numbers are not.
        assert!(
            line.contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","),
            "{line}"
        );
        assert!(line.ends_with(&format!(",{evil},-1")), "{line}");
    }
}

#[test]
fn output_formats() {
    let (_dir, _rows, query) = store();
    let sql = "SELECT time, provider, principal, resources, error_code FROM events \
               WHERE principal = 'o''brien\\x' ORDER BY time LIMIT 3";
    let batches = query.sql(sql).unwrap();

    let lines = to_json_lines(&batches).unwrap();
    let parsed: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed[0]["principal"], "o'brien\\x");
    assert_eq!(parsed[0]["provider"], "azure"); // azure's rows are spaced closer
    assert!(parsed[0]["time"]
        .as_str()
        .unwrap()
        .starts_with("2024-03-01T"));
    assert!(parsed.iter().all(|v| v.get("error_code").is_some()));
    assert!(parsed.iter().all(|v| v["resources"].is_array()));

    let array: serde_json::Value = serde_json::from_str(&to_json(&batches).unwrap()).unwrap();
    assert_eq!(array.as_array().unwrap().len(), 3);
    assert_eq!(to_json(&[]).unwrap(), "[]");
    assert_eq!(to_json_lines(&[]).unwrap(), "");

    let table = to_table(&batches).unwrap();
    assert!(table.contains("| principal"), "{table}");
    assert!(table.contains("o'brien\\x"), "{table}");
    assert_eq!(table.lines().count(), 3 + 4, "{table}");

    // Control characters in a cell cannot reach the terminal.
    let hostile = query
        .sql("SELECT concat('a', chr(27), '[2J', chr(10), 'b') AS ua")
        .unwrap();
    let table = to_table(&hostile).unwrap();
    assert!(!table.contains('\u{1b}'), "{table}");
    assert!(table.contains("a\\x1b[2J\\nb"), "{table}");
}

#[test]
fn streaming_yields_every_row() {
    let (_dir, _rows, query) = store();
    let stream = query.sql_stream("SELECT event_id FROM aws").unwrap();
    assert_eq!(stream.schema().field(0).name(), "event_id");
    let mut n = 0;
    for batch in stream {
        n += batch.unwrap().num_rows();
    }
    assert_eq!(n, 6000);
}

#[test]
fn user_sql_is_read_only_and_errors_are_typed() {
    let (dir, _rows, query) = store();
    let out = dir.path().join("copy.parquet");
    for sql in [
        "CREATE TABLE t AS SELECT 1".to_string(),
        "DROP VIEW aws".to_string(),
        format!("COPY (SELECT 1) TO '{}'", out.display()),
        "SET datafusion.execution.batch_size = 1".to_string(),
    ] {
        let err = query.sql(&sql).unwrap_err();
        assert!(matches!(err, QueryError::DataFusion(_)), "{sql}: {err:?}");
    }
    assert!(!out.exists());
    assert_eq!(count(&query, "SELECT count(*) FROM aws"), 6000);

    let err = query.sql("SELECT nope FROM events").unwrap_err();
    assert!(matches!(err, QueryError::DataFusion(_)));
    assert!(err.to_string().contains("nope"), "{err}");
    let err = query.sql("SELEC 1").unwrap_err();
    assert!(err.to_string().contains("SELEC"), "{err}");

    // Catalogue statements work.
    let tables = strings(&query.sql("SHOW TABLES").unwrap(), 2);
    for name in [
        "events",
        "aws",
        "azure",
        "entra",
        "failures",
        "console_logins",
    ] {
        assert!(tables.iter().any(|t| t == name), "{name}: {tables:?}");
    }
}

#[test]
fn schema_matches_the_table() {
    let (_dir, _rows, query) = store();
    let table = query.result_schema("SELECT * FROM events").unwrap();
    let names: Vec<&str> = table.fields().iter().map(|f| f.name().as_str()).collect();
    let file = schema();
    let mut expected: Vec<&str> = file.fields().iter().map(|f| f.name().as_str()).collect();
    expected.extend(["provider", "dt"]);
    assert_eq!(names, expected);
    assert_eq!(
        trailwatch_query::table_schema().fields().len(),
        expected.len()
    );
}

#[test]
fn empty_and_missing_stores_are_empty() {
    let dir = tempfile::tempdir().unwrap();
    let query = Query::open(dir.path()).unwrap();
    assert_eq!(count(&query, "SELECT count(*) FROM events"), 0);
    assert_eq!(count(&query, "SELECT count(*) FROM failures"), 0);
    let batches = query.sql("SELECT * FROM console_logins").unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 0);

    // Only the store's bookkeeping, no partitions yet.
    fs::create_dir_all(dir.path().join("_ledger")).unwrap();
    fs::write(dir.path().join("_sources.jsonl"), "").unwrap();
    assert_eq!(count(&query, "SELECT count(*) FROM events"), 0);

    let missing = dir.path().join("not-yet");
    let query = Query::open(&missing).unwrap();
    assert_eq!(count(&query, "SELECT count(*) FROM events"), 0);
    assert_eq!(count(&query, "SELECT count(*) FROM aws"), 0);

    // Files committed after open are seen by the next query.
    let rows = rows_for("azure", 0, 10);
    write_file(
        &missing.join("provider=azure/dt=2024-03-01/part-00000.parquet"),
        &rows,
    );
    assert_eq!(count(&query, "SELECT count(*) FROM azure"), 10);

    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    assert!(matches!(Query::open(&file), Err(QueryError::Store { .. })));
}
