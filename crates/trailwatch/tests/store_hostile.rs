//! Hostile input against the store, end to end (issue 15): reading commands (`verify`, `stats`,
//! `sql`) never delete or change anything; `verify` names planted, missing and uncommitted files
//! and fails; only `ingest` (the writer) cleans up after its own interrupted write, by moving the
//! files its write-ahead record names into quarantine, recorded in the signed ledger.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(rel: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(rel)
}

fn tw_env(args: &[&OsStr], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
    // Signing keys go to the build's temporary folder, never the real configuration.
    c.env(
        "XDG_CONFIG_HOME",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
    );
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tw(args: &[&OsStr]) -> (i32, String, String) {
    tw_env(args, &[])
}

fn ingest(store: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let input = shared("aws/stratus-red-team");
    tw_env(
        &[
            "ingest".as_ref(),
            input.as_os_str(),
            "--store".as_ref(),
            store.as_os_str(),
            "--batch-events".as_ref(),
            "100".as_ref(),
        ],
        env,
    )
}

fn verify(store: &Path) -> (i32, String) {
    let (code, out, _) = tw(&["verify".as_ref(), "--store".as_ref(), store.as_os_str()]);
    (code, out)
}

/// `stats` and `sql` over the store; both must succeed.
fn read_commands(store: &Path) {
    let (code, _, err) = tw(&["stats".as_ref(), "--store".as_ref(), store.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = tw(&[
        "sql".as_ref(),
        "SELECT count(*) AS n FROM events".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
}

/// Every file under the store (the lock file aside), relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if rel != "_lock" {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn data_files(snap: &BTreeMap<String, Vec<u8>>) -> Vec<&String> {
    snap.keys()
        .filter(|k| k.starts_with("provider=") && k.ends_with(".parquet"))
        .collect()
}

fn ledger_lines(store: &Path) -> Vec<String> {
    fs::read_to_string(store.join("_ledger/ledger.jsonl"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn verify_names_a_planted_file_and_no_reading_command_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (code, _, err) = ingest(&store, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(verify(&store).0, 0);
    // A valid Parquet file of the store's schema, planted into a committed partition.
    let snap = snapshot(&store);
    let committed = data_files(&snap)[0].clone();
    let partition = committed.rsplit_once('/').unwrap().0;
    let planted_rel = format!("{partition}/part-99999999-0123456789abcdef.parquet");
    let planted = store.join(&planted_rel);
    fs::copy(store.join(&committed), &planted).unwrap();
    let before = snapshot(&store);

    let (code, out) = verify(&store);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{planted_rel}: planted")), "{out}");
    assert!(out.contains("FAILED: 1 problems"), "{out}");
    read_commands(&store);
    assert_eq!(verify(&store).0, 1);
    assert_eq!(
        snapshot(&store),
        before,
        "a reading command changed the store"
    );

    // The writer does not remove it either: no write-ahead record names it.
    let (code, _, err) = ingest(&store, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("recovered"), "{err}");
    assert_eq!(fs::read(&planted).unwrap(), before[&planted_rel]);
    let (code, out) = verify(&store);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&planted_rel), "{out}");
}

#[test]
fn a_ledger_cut_short_is_reported_and_nothing_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (code, _, err) = ingest(&store, &[]);
    assert_eq!(code, 0, "{err}");
    let mut lines = ledger_lines(&store);
    assert!(lines.len() >= 3, "{lines:?}");
    let cut: serde_json::Value = serde_json::from_str(&lines.pop().unwrap()).unwrap();
    let orphan = cut["path"].as_str().unwrap().to_string();
    fs::write(store.join("_ledger/ledger.jsonl"), lines.join("\n") + "\n").unwrap();
    let before = snapshot(&store);
    assert!(before.contains_key(&orphan));

    let (code, out) = verify(&store);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{orphan}: planted")), "{out}");
    read_commands(&store);
    let (code, _) = verify(&store);
    assert_eq!(code, 1);
    let after = snapshot(&store);
    assert_eq!(
        data_files(&after),
        data_files(&before),
        "every data file is still there"
    );
    assert_eq!(after, before, "byte for byte");
}

#[test]
fn an_interrupted_ingest_is_reported_then_quarantined_by_the_next_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // The second file is renamed into its partition, then the process dies before its commit.
    let (code, _, err) = ingest(&store, &[("TRAILWATCH_STORE_CRASH_AT", "renamed:2")]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("injected crash at renamed"), "{err}");
    let before = snapshot(&store);
    let (code, out) = verify(&store);
    assert_eq!(code, 1, "{out}");
    let uncommitted: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(": uncommitted"))
        .collect();
    assert_eq!(uncommitted.len(), 1, "{out}");
    let orphan = uncommitted[0].split(": ").next().unwrap().to_string();
    assert!(orphan.starts_with("provider=aws/dt="), "{out}");
    assert!(!out.contains("planted"), "{out}");
    read_commands(&store);
    assert_eq!(
        snapshot(&store),
        before,
        "a reading command changed the store"
    );
    // A file no record names, planted beside it.
    let planted_rel = "provider=aws/dt=2001-01-01/part-00000001-0123456789abcdef.parquet";
    let planted = store.join(planted_rel);
    fs::create_dir_all(planted.parent().unwrap()).unwrap();
    fs::copy(store.join(&orphan), &planted).unwrap();

    // The writer: moves the file its record names into quarantine, records it, ingests on.
    let (code, _, err) = ingest(&store, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("recovered from an interrupted write: 2 files moved into _quarantine/"),
        "{err}"
    );
    assert!(!store.join(&orphan).exists());
    assert!(planted.exists(), "not named by the record: left alone");
    let quarantine: serde_json::Value = ledger_lines(&store)
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["kind"] == "quarantine")
        .expect("a quarantine link");
    let moved = quarantine["quarantined"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["from"] == orphan.as_str())
        .expect("the orphan is named");
    let to = moved["to"].as_str().unwrap();
    assert!(to.starts_with("_quarantine/"), "{to}");
    assert_eq!(fs::read(store.join(to)).unwrap(), before[&orphan]);

    // Verify: the quarantine is fine, the planted file is not; without it, all is well.
    let (code, out) = verify(&store);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{planted_rel}: planted")), "{out}");
    assert!(out.contains("FAILED: 1 problems"), "{out}");
    fs::remove_file(&planted).unwrap();
    let (code, out) = verify(&store);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("ok:") && out.contains("1 quarantine"),
        "{out}"
    );
    let (code, out, _) = tw(&[
        "sql".as_ref(),
        "SELECT count(*) AS n FROM events".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().nth(1),
        Some("250"),
        "quarantine is not queried: {out}"
    );
}
