//! The store commands end to end: ingest exactly once, stats, verify (and tampering), retention.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(rel)
}

fn tw(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

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

    // Retention: a dry run removes nothing; keeping 365 days from today drops the 2023 and 2015 days.
    let (code, out, _) = tw(&[
        "retention".as_ref(),
        "--keep".as_ref(),
        "365d".as_ref(),
        "--dry-run".as_ref(),
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
        "--store".as_ref(),
        s,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("recorded as ledger link"), "{out}");
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
    assert!(left < 2904, "{out}");

    // Tampering with a remaining data file is named.
    let victim = walk_parquet(&store)
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

fn walk_parquet(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_parquet(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out.sort();
    out
}
