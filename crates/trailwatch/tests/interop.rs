//! The store is readable by other engines as-is, and they get the counts `trailwatch sql` gets:
//! - DuckDB (the `duckdb` package from PyPI) reads the Parquet files with Hive partitioning;
//! - Apache Spark (`pyspark` from PyPI, in local mode on the machine's Java) reads the store's
//!   root the way Spark, Athena and Trino read a Hive-partitioned lake, and the column list of
//!   the README's Athena/Trino `CREATE EXTERNAL TABLE` is checked against the schema Spark read,
//!   so the documented DDL cannot drift from the files.
//!
//! `.ci/test` installs both packages (and Java when it is missing). A missing package or Java
//! fails these tests; they do not skip. One test binary for both engines: the helpers are shared
//! and CI links one binary instead of two.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ct_record, datasets, jsonl, parquet_files, run, write_jsonl};
use serde_json::Value;

/// Longest the Spark run may take (JVM start-up dominates; about 20 s on two busy cores).
const SPARK_TIME_LIMIT: Duration = Duration::from_secs(300);

fn shared(rel: &str) -> PathBuf {
    datasets().join(rel)
}

fn tw(args: &[&std::ffi::OsStr]) -> String {
    run(args).assert_code(0).stdout.clone()
}

/// Runs `sql` in DuckDB over the store's files, one JSON row per line.
fn duckdb(store: &Path, sql: &str) -> Vec<Value> {
    let script = r#"
import duckdb, json, sys
store, sql = sys.argv[1], sys.argv[2]
con = duckdb.connect()
glob = (store + "/provider=*/dt=*/*.parquet").replace("'", "''")
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
cur = con.execute(sql)
cols = [d[0] for d in cur.description]
for row in cur.fetchall():
    print(json.dumps(dict(zip(cols, row)), default=str))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(store)
        .arg(sql)
        .output()
        .expect("python3 is needed for the DuckDB interop test");
    assert!(
        out.status.success(),
        "duckdb failed (is the PyPI package `duckdb` installed? .ci/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    jsonl(&String::from_utf8_lossy(&out.stdout), sql)
}

/// `trailwatch sql` over the store, every row, one JSON object per row.
fn ours(store: &Path, sql: &str) -> Vec<Value> {
    let out = tw(&[
        "sql".as_ref(),
        sql.as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--limit".as_ref(),
        "100000000".as_ref(),
    ]);
    jsonl(&out, sql)
}

#[test]
fn duckdb_reads_the_store_and_agrees_with_trailwatch_sql() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    tw(&[
        "ingest".as_ref(),
        shared("aws/invictus-ir").as_os_str(),
        shared("azure").as_os_str(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);

    // Per partition: the Hive columns provider and dt come from the paths in both engines.
    let per_day = "SELECT provider, CAST(dt AS VARCHAR) AS dt, count(*) AS n FROM events \
                   GROUP BY provider, dt ORDER BY provider, dt";
    let theirs = duckdb(&store, per_day);
    let mine = ours(&store, per_day);
    assert!(theirs.len() >= 3, "{theirs:?}");
    assert_eq!(theirs, mine);
    let total: u64 = theirs.iter().map(|r| r["n"].as_u64().unwrap()).sum();
    assert_eq!(total, 2904);

    // Typed columns: time is a timestamp, resources a list, raw the original record.
    let typed = "SELECT action, outcome, count(*) AS n, \
                 CAST(min(time) AS VARCHAR) AS first, \
                 sum(len(resources)) AS resources, \
                 sum(CASE WHEN raw LIKE '{%' THEN 1 ELSE 0 END) AS raw_objects \
                 FROM events WHERE provider = 'aws' AND action LIKE 'Create%' \
                 GROUP BY action, outcome ORDER BY action, outcome";
    let theirs = duckdb(&store, typed);
    assert!(!theirs.is_empty());
    for r in &theirs {
        assert_eq!(r["n"], r["raw_objects"], "{r}");
        assert!(r["first"].as_str().unwrap().starts_with("20"), "{r}");
    }
    let mine = ours(
        &store,
        "SELECT action, outcome, count(*) AS n FROM events \
         WHERE provider = 'aws' AND action LIKE 'Create%' \
         GROUP BY action, outcome ORDER BY action, outcome",
    );
    let strip = |rows: &[serde_json::Value]| -> Vec<(String, String, u64)> {
        rows.iter()
            .map(|r| {
                (
                    r["action"].as_str().unwrap().to_string(),
                    r["outcome"].as_str().unwrap().to_string(),
                    r["n"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&theirs), strip(&mine));
}

/// What Spark read: the schema (name, Hive type; partition columns last), the files, the rows.
struct SparkRead {
    schema: Vec<(String, String)>,
    files: Vec<PathBuf>,
    results: BTreeMap<String, Vec<Value>>,
}

/// Runs each of `queries` (name → SQL over the view `events`) in one local Spark session over
/// the store (tests/interop_spark.py), failing on any error or after [`SPARK_TIME_LIMIT`].
fn spark(store: &Path, scratch: &Path, queries: &BTreeMap<&str, String>) -> SparkRead {
    let (out_path, err_path) = (scratch.join("spark.out"), scratch.join("spark.err"));
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(include_str!("interop_spark.py"))
        .arg(store)
        .arg(scratch)
        .arg(serde_json::to_string(queries).expect("queries as JSON"))
        .current_dir(scratch)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PYSPARK_PYTHON", "python3")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("spark.out"))
        .stderr(std::fs::File::create(&err_path).expect("spark.err"))
        .spawn()
        .expect("python3 is needed for the Spark interop test");
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for spark") {
            break s;
        }
        if started.elapsed() > SPARK_TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Spark did not finish within {SPARK_TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "Spark failed (are the PyPI package `pyspark` and Java installed? .ci/test installs \
         them): {stderr}"
    );
    let stdout = std::fs::read_to_string(&out_path).expect("spark.out");
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("Spark's output is not JSON ({e}): {stdout}\n{stderr}"));
    eprintln!("spark: {:.1?}", started.elapsed());
    let pair = |c: &Value| (c[0].as_str().unwrap().into(), c[1].as_str().unwrap().into());
    SparkRead {
        schema: v["schema"].as_array().unwrap().iter().map(pair).collect(),
        files: v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let url = f.as_str().unwrap();
                PathBuf::from(url.strip_prefix("file://").unwrap_or(url))
            })
            .collect(),
        results: serde_json::from_value(v["results"].clone()).expect("results by name"),
    }
}

/// The README's Athena/Trino DDL: its columns and its partition columns (name, type), and the
/// provider values and the first day its partition projection enumerates.
struct ReadmeDdl {
    columns: Vec<(String, String)>,
    partitions: Vec<(String, String)>,
    providers: Vec<String>,
    first_day: String,
}

fn readme_ddl() -> ReadmeDdl {
    let path = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
        .join("../../README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let after = |text: &'static str| {
        let at = readme
            .find(text)
            .unwrap_or_else(|| panic!("README.md has no `{text}`"));
        &readme[at + text.len()..]
    };
    let columns = after("CREATE EXTERNAL TABLE trailwatch_events (");
    let columns = &columns[..columns.find(")\nPARTITIONED BY").expect("PARTITIONED BY")];
    let partitions = after("PARTITIONED BY (");
    let partitions = &partitions[..partitions.find(")\n").expect("end of PARTITIONED BY")];
    let providers = after("'projection.provider.values' = '");
    let providers = &providers[..providers.find('\'').expect("end of provider values")];
    let first_day = after("'projection.dt.range' = '");
    let first_day = &first_day[..first_day.find(',').expect("end of the first day")];
    ReadmeDdl {
        columns: ddl_columns(columns),
        partitions: ddl_columns(partitions),
        providers: providers.split(',').map(|p| p.trim().to_string()).collect(),
        first_day: first_day.to_string(),
    }
}

/// `a string, b array<string>, …` → [(a, string), (b, array<string>), …] (commas inside `<>`
/// belong to the type).
fn ddl_columns(list: &str) -> Vec<(String, String)> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in list.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&list[start..]);
    items
        .iter()
        .map(|item| {
            let item = item.trim();
            let (name, ty) = item
                .split_once(char::is_whitespace)
                .unwrap_or_else(|| panic!("DDL column without a type: {item:?}"));
            (name.trim_matches('`').to_string(), ty.trim().to_lowercase())
        })
        .collect()
}

/// A store with every provider in several daily partitions: the public AWS and Azure samples,
/// a simulated organisation's AWS, Azure and Entra ID logs over three days, and a CloudTrail
/// record of the day CloudTrail began (2013-11-13: the first day a store can hold).
fn mixed_store(dir: &Path) -> PathBuf {
    let store = dir.join("store");
    let sim = dir.join("sim");
    let first = dir.join("first-day");
    std::fs::create_dir_all(&first).unwrap();
    write_jsonl(
        &first.join("cloudtrail.jsonl"),
        &[ct_record(
            "first-day-1",
            "2013-11-13T18:30:00Z",
            "alice",
            "CreateTrail",
        )],
    );
    tw(&[
        "simulate".as_ref(),
        "--out".as_ref(),
        sim.as_os_str(),
        "--provider".as_ref(),
        "both".as_ref(),
        "--entra".as_ref(),
        "--days".as_ref(),
        "3".as_ref(),
        "--events-per-day".as_ref(),
        "300".as_ref(),
        "--start".as_ref(),
        "2024-03-01".as_ref(),
        "--seed".as_ref(),
        "7".as_ref(),
    ]);
    tw(&[
        "ingest".as_ref(),
        shared("aws/invictus-ir").as_os_str(),
        shared("azure").as_os_str(),
        sim.as_os_str(),
        first.as_os_str(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);
    store
}

/// The queries both engines run, in SQL both accept: counts overall, per provider, per
/// partition, per outcome, for one principal and one action, the non-null values of every
/// column (which makes Spark decode every column's type), and sums over the typed columns.
fn shared_queries(principal: &str, action: &str) -> BTreeMap<&'static str, String> {
    let non_null: Vec<String> = trailwatch_store::schema::COLUMNS
        .iter()
        .map(|c| format!("count({c}) AS {c}"))
        .collect();
    BTreeMap::from([
        ("total", "SELECT count(*) AS n FROM events".to_string()),
        (
            "per_provider",
            "SELECT provider, count(*) AS n FROM events GROUP BY provider ORDER BY provider".into(),
        ),
        (
            "per_partition",
            "SELECT provider, CAST(dt AS STRING) AS dt, count(*) AS n FROM events \
             GROUP BY provider, dt ORDER BY provider, dt"
                .into(),
        ),
        (
            "per_outcome",
            "SELECT provider, outcome, count(*) AS n FROM events \
             GROUP BY provider, outcome ORDER BY provider, outcome"
                .into(),
        ),
        (
            "one_principal",
            format!(
                "SELECT action, outcome, count(*) AS n FROM events WHERE principal = '{principal}' \
                 GROUP BY action, outcome ORDER BY action, outcome"
            ),
        ),
        (
            "one_action",
            format!(
                "SELECT provider, CAST(dt AS STRING) AS dt, count(*) AS n FROM events \
                 WHERE action = '{action}' GROUP BY provider, dt ORDER BY provider, dt"
            ),
        ),
        (
            "non_null",
            format!("SELECT {} FROM events", non_null.join(", ")),
        ),
        (
            "typed",
            "SELECT provider, \
             sum(CASE WHEN mfa THEN 1 ELSE 0 END) AS mfa, \
             sum(CASE WHEN read_only THEN 1 ELSE 0 END) AS read_only, \
             sum(cardinality(resources)) AS resources, \
             sum(length(raw)) AS raw_chars \
             FROM events WHERE resources IS NOT NULL GROUP BY provider ORDER BY provider"
                .into(),
        ),
    ])
}

/// The busiest value of `column` among `provider`'s events, by `trailwatch sql`; a plain one
/// (no quote or backslash), so that it reads the same in both SQL dialects' string literals.
fn busiest(store: &Path, column: &str, provider: &str) -> String {
    let rows = ours(
        store,
        &format!(
            "SELECT {column} AS v, count(*) AS n FROM events \
             WHERE provider = '{provider}' AND {column} IS NOT NULL \
             GROUP BY {column} ORDER BY n DESC, {column} LIMIT 1"
        ),
    );
    let v = rows[0]["v"].as_str().expect("a value").to_string();
    assert!(!v.contains(['\'', '\\']), "{v:?}");
    v
}

#[test]
fn spark_reads_the_store_and_agrees_with_trailwatch_sql() {
    let dir = tempfile::tempdir().unwrap();
    let store = mixed_store(dir.path());
    let principal = busiest(&store, "principal", "aws");
    let action = busiest(&store, "action", "entra");
    let mut queries = shared_queries(&principal, &action);
    // Times: Spark has no integer cast to milliseconds; both sides give epoch milliseconds.
    let times = "SELECT provider, CAST(min(time) AS BIGINT) AS first, \
                 CAST(max(time) AS BIGINT) AS last FROM events GROUP BY provider ORDER BY provider";
    queries.insert(
        "times",
        "SELECT provider, unix_millis(min(time)) AS first, unix_millis(max(time)) AS last \
         FROM events GROUP BY provider ORDER BY provider"
            .into(),
    );

    let scratch = dir.path().join("spark");
    std::fs::create_dir_all(&scratch).unwrap();
    let read = spark(&store, &scratch, &queries);

    // Hive partitions discovered from the paths, every data file read, nothing else.
    let n = read.schema.len();
    assert!(n > 2, "{:?}", read.schema);
    let (data_cols, part_cols) = read.schema.split_at(n - 2);
    let part = |name: &str| (name.to_string(), "string".to_string());
    assert_eq!(part_cols, [part("provider"), part("dt")], "partitions");
    let names: Vec<&str> = data_cols.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, trailwatch_store::schema::COLUMNS, "Spark's columns");
    assert_eq!(read.files, parquet_files(&store), "files Spark read");

    // Every count agrees with `trailwatch sql`.
    for (name, sql) in &queries {
        let theirs = &read.results[*name];
        let mine = ours(&store, if *name == "times" { times } else { sql });
        assert!(!mine.is_empty(), "{name}: no rows");
        assert_eq!(theirs, &mine, "{name}: Spark vs trailwatch sql ({sql})");
    }
    let total = read.results["total"][0]["n"].as_u64().unwrap();
    assert!(total > 2904, "the samples and the simulation: {total}");
    let providers: Vec<&str> = read.results["per_provider"]
        .iter()
        .map(|r| r["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["aws", "azure", "entra"]);
    assert!(read.results["per_partition"].len() >= 10);
    assert_eq!(read.results["per_partition"][0]["dt"], "2013-11-13");
    assert!(!read.results["one_principal"].is_empty());

    // The README's Athena/Trino DDL is the schema Spark read, column by column, and its
    // partition projection enumerates every provider and day the store holds.
    let ddl = readme_ddl();
    assert_eq!(
        ddl.columns, data_cols,
        "README DDL columns vs the Parquet files"
    );
    assert_eq!(ddl.partitions, part_cols, "README DDL partitions");
    for p in providers {
        assert!(
            ddl.providers.iter().any(|d| d == p),
            "README's projection.provider.values lacks {p}: {:?}",
            ddl.providers
        );
    }
    for row in &read.results["per_partition"] {
        let day = row["dt"].as_str().unwrap();
        assert!(
            day >= ddl.first_day.as_str(),
            "README's projection.dt.range starts after {day}"
        );
    }
}
