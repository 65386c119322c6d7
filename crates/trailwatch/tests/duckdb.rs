//! The store is readable by other engines as-is: DuckDB (the `duckdb` package from PyPI, which
//! `.ci/run` installs) reads the Parquet files with Hive partitioning and must get the same counts
//! as `trailwatch sql`. A missing `duckdb` module fails this test; it does not skip.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(rel)
}

fn tw(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(args)
        .output()
        .expect("run trailwatch");
    assert!(
        out.status.success(),
        "trailwatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `sql` in DuckDB over the store's files, one JSON row per line.
fn duckdb(store: &Path, sql: &str) -> Vec<serde_json::Value> {
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
        "duckdb failed (is the PyPI package `duckdb` installed? .ci/run installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json row"))
        .collect()
}

fn ours(store: &Path, sql: &str) -> Vec<serde_json::Value> {
    tw(&[
        "sql".as_ref(),
        sql.as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ])
    .lines()
    .map(|l| serde_json::from_str(l).expect("json row"))
    .collect()
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
