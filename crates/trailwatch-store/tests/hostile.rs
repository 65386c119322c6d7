//! Hostile input against the store (issue 15): files planted in partitions, a ledger cut short,
//! write-ahead records that name what the writer never wrote. Readers change nothing; the
//! writer only moves (into quarantine, recorded in the ledger) what its own interrupted commit
//! left, as its write-ahead record names it; verify names everything else.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use trailwatch_ledger::{LinkKind, LEDGER_DIR, LEDGER_FILE};
use trailwatch_store::{
    IngestOptions, Store, LOCK_FILE, PENDING_DIR, QUARANTINE_DIR, RECOVERY_CRASH_STEPS, TMP_DIR,
};

const DIR_ENV: &str = "TRAILWATCH_STORE_HOSTILE_TEST_DIR";

fn stratus() -> Vec<trailwatch_decode::Input> {
    common::inputs(&["aws/stratus-red-team"])
}

/// A store with the Stratus events committed (several day partitions, several files).
fn committed_store(dir: &Path) -> Store {
    let mut store = Store::create(dir, &common::keys()).unwrap();
    store.ingest(&stratus(), &IngestOptions::default()).unwrap();
    assert!(store.files().len() >= 3, "{:?}", store.files());
    store
}

/// Every file under the store (the lock file aside: opening takes it), with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != LOCK_FILE) {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Plants a copy of a committed data file under `rel`; returns its absolute path.
fn plant(dir: &Path, store: &Store, rel: &str) -> PathBuf {
    let abs = dir.join(rel);
    fs::create_dir_all(abs.parent().unwrap()).unwrap();
    fs::copy(dir.join(&store.files()[0]), &abs).unwrap();
    abs
}

fn ledger_lines(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(LEDGER_DIR).join(LEDGER_FILE))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_planted_file_is_named_by_verify_and_left_by_readers_and_the_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = committed_store(&dir);
    let events = store.stats().unwrap().events;
    let existing_day = store.files()[1].rsplit_once('/').unwrap().0.to_string();
    drop(store);
    let rels = [
        format!("{existing_day}/part-99999999-0123456789abcdef.parquet"),
        "provider=aws/dt=2001-01-01/part-00000001-0123456789abcdef.parquet".to_string(),
    ];
    let store = Store::open_read(&dir).unwrap();
    for rel in &rels {
        plant(&dir, &store, rel);
    }
    drop(store);
    let before = snapshot(&dir);

    let reader = Store::open_read(&dir).unwrap();
    assert!(reader.recovery().is_empty());
    assert_eq!(reader.stats().unwrap().events, events);
    let v = reader.verify().unwrap();
    assert!(!v.is_ok(), "{v}");
    let mut planted = v.planted();
    planted.sort();
    let mut want = [rels[0].as_str(), rels[1].as_str()];
    want.sort();
    assert_eq!(planted, want, "{v}");
    assert!(v.to_string().contains("planted"), "{v}");
    assert!(v.uncommitted.is_empty() && v.missing().is_empty(), "{v}");
    drop(reader);
    assert_eq!(snapshot(&dir), before, "a reader changed the store");

    // The writer has no write-ahead record naming them: it leaves them too, and ingests on.
    let mut writer = Store::open(&dir, &common::keys()).unwrap();
    assert!(writer.recovery().is_empty(), "{:?}", writer.recovery());
    for rel in &rels {
        assert_eq!(fs::read(dir.join(rel)).unwrap(), before[Path::new(rel)]);
    }
    let r = writer
        .ingest(&common::inputs(&["azure"]), &IngestOptions::default())
        .unwrap();
    assert!(r.added > 0);
    assert_eq!(writer.verify().unwrap().planted().len(), 2);
}

#[test]
fn a_ledger_cut_short_deletes_nothing_and_its_file_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = committed_store(&dir);
    let last_file = ledger_lines(&dir).len();
    drop(store);
    // Cut the last commit line off: its data file is named by nothing now.
    let mut lines = ledger_lines(&dir);
    let cut: serde_json::Value = serde_json::from_str(&lines.pop().unwrap()).unwrap();
    let orphan = cut["path"].as_str().unwrap().to_string();
    fs::write(
        dir.join(LEDGER_DIR).join(LEDGER_FILE),
        lines.join("\n") + "\n",
    )
    .unwrap();
    let before = snapshot(&dir);
    assert!(before.contains_key(Path::new(&orphan)));

    let reader = Store::open_read(&dir).unwrap();
    assert!(reader.recovery().is_empty());
    assert_eq!(reader.files().len(), last_file - 1);
    reader.stats().unwrap();
    let v = reader.verify().unwrap();
    assert!(!v.is_ok());
    assert_eq!(v.planted(), [orphan.as_str()], "{v}");
    drop(reader);
    assert_eq!(snapshot(&dir), before, "a reader changed the store");

    // No write-ahead record names it: the writer leaves it as well.
    let writer = Store::open(&dir, &common::keys()).unwrap();
    assert!(writer.recovery().is_empty(), "{:?}", writer.recovery());
    assert_eq!(writer.verify().unwrap().planted(), [orphan.as_str()]);
    assert_eq!(
        fs::read(dir.join(&orphan)).unwrap(),
        before[Path::new(&orphan)]
    );
}

#[test]
fn a_torn_ledger_line_is_kept_in_quarantine_by_the_writer_and_left_by_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(committed_store(&dir));
    let ledger = dir.join(LEDGER_DIR).join(LEDGER_FILE);
    let text = fs::read_to_string(&ledger).unwrap();
    let cut_at = text.len() - 40;
    fs::write(&ledger, &text[..cut_at]).unwrap();
    let torn = text[text[..cut_at].rfind('\n').unwrap() + 1..cut_at].to_string();
    let before = snapshot(&dir);

    let reader = Store::open_read(&dir).unwrap();
    let v = reader.verify().unwrap();
    assert!(!v.is_ok());
    assert!(v.to_string().contains("torn last line"), "{v}");
    assert_eq!(v.planted().len(), 1, "{v}");
    drop(reader);
    assert_eq!(snapshot(&dir), before, "a reader changed the store");

    let writer = Store::open(&dir, &common::keys()).unwrap();
    let r = writer.recovery().clone();
    assert_eq!(r.ledger_bytes_cut, torn.len() as u64);
    assert_eq!(r.quarantined, [format!("{LEDGER_DIR}/{LEDGER_FILE}")]);
    let link = writer.ledger().last_link().unwrap().clone();
    assert_eq!(link.kind, LinkKind::Quarantine);
    assert_eq!(Some(link.seq), r.quarantine_seq);
    let kept = fs::read_to_string(dir.join(&link.quarantined[0].to)).unwrap();
    assert_eq!(kept, torn);
    let v = writer.verify().unwrap();
    assert!(!v.to_string().contains("torn"), "{v}");
    assert_eq!(v.ledger.files_quarantined, 1);
    // The file whose commit line was torn is still where it was, reported, not moved.
    assert_eq!(v.planted().len(), 1, "{v}");
    assert_eq!(v.problems(), 1, "{v}");
}

/// The child's side of the crash test: ingest with a crash injected (the env says where).
fn child_ingest(dir: &str) {
    let mut store = Store::open_or_create(Path::new(dir), &common::keys()).unwrap();
    let opts = IngestOptions {
        batch_events: 100,
        ..IngestOptions::default()
    };
    store.ingest(&stratus(), &opts).unwrap();
}

fn crash_child(dir: &Path, at: &str) {
    let test = "an_interrupted_commit_is_quarantined_by_the_next_writer_only";
    assert!(
        common::crash_child(test, DIR_ENV, dir, at),
        "no crash at {at}"
    );
}

#[test]
fn an_interrupted_commit_is_quarantined_by_the_next_writer_only() {
    if let Ok(dir) = std::env::var(DIR_ENV) {
        return child_ingest(&dir);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    // The second commit's file renamed into its partition, then the crash: no commit line.
    crash_child(&dir, "renamed:2");
    let reader = Store::open_read(&dir).unwrap();
    assert_eq!(reader.files().len(), 1);
    let v = reader.verify().unwrap();
    assert!(!v.is_ok());
    assert_eq!(v.uncommitted.len(), 1, "{v}");
    let orphan = v.uncommitted[0].path.clone();
    assert!(orphan.starts_with("provider=aws/dt="), "{orphan}");
    assert!(v.uncommitted[0].record.starts_with(PENDING_DIR), "{v}");
    assert!(
        v.planted().is_empty(),
        "named by its record, so not planted: {v}"
    );
    assert!(v.to_string().contains("uncommitted"), "{v}");
    drop(reader);

    // Files nothing names, beside it: the writer must not touch them either.
    let reader = Store::open_read(&dir).unwrap();
    let planted = plant(
        &dir,
        &reader,
        "provider=aws/dt=2001-01-01/part-00000009-0123456789abcdef.parquet",
    );
    drop(reader);
    let stray_tmp = dir.join(TMP_DIR).join("part-stray.parquet.tmp");
    fs::write(&stray_tmp, b"not the writer's").unwrap();
    let orphan_bytes = fs::read(dir.join(&orphan)).unwrap();

    let mut writer = Store::open(&dir, &common::keys()).unwrap();
    let r = writer.recovery().clone();
    assert!(r.quarantined.contains(&orphan), "{r:?}");
    assert_eq!(r.quarantined.len(), 2, "the file and its record: {r:?}");
    assert!(!dir.join(&orphan).exists());
    assert!(planted.exists() && stray_tmp.exists());
    let link = writer.ledger().last_link().unwrap().clone();
    assert_eq!(
        (link.kind, Some(link.seq)),
        (LinkKind::Quarantine, r.quarantine_seq)
    );
    let moved = link.quarantined.iter().find(|q| q.from == orphan).unwrap();
    assert!(
        moved.to.starts_with(&format!("{QUARANTINE_DIR}/")),
        "{moved:?}"
    );
    assert_eq!(fs::read(dir.join(&moved.to)).unwrap(), orphan_bytes);
    assert_eq!(fs::read_dir(dir.join(PENDING_DIR)).unwrap().count(), 0);

    // Verify: the quarantine is no problem, the planted file still is.
    let v = writer.verify().unwrap();
    assert_eq!(
        v.planted(),
        [planted.strip_prefix(&dir).unwrap().to_str().unwrap()]
    );
    assert_eq!(v.problems(), 1, "{v}");
    assert_eq!(v.ledger.quarantines, 1);
    fs::remove_file(&planted).unwrap();
    let v = writer.verify().unwrap();
    assert!(v.is_ok(), "{v}");

    // The ingest runs on to the uninterrupted result; a new open has nothing to clean up.
    writer
        .ingest(&stratus(), &IngestOptions::default())
        .unwrap();
    assert_eq!(writer.stats().unwrap().events, 250);
    drop(writer);
    let writer = Store::open(&dir, &common::keys()).unwrap();
    assert!(writer.recovery().is_empty(), "{:?}", writer.recovery());
    assert!(writer.verify().unwrap().is_ok());
}

/// A crash in the middle of the clean-up itself (files moved, no link yet; link written,
/// records not moved yet): readers still change nothing, and the next writer finishes it so
/// that the store verifies, with each file in quarantine once.
#[test]
fn a_crash_during_the_clean_up_is_finished_by_the_next_writer() {
    let tmp = tempfile::tempdir().unwrap();
    for step in RECOVERY_CRASH_STEPS {
        let dir = tmp.path().join(step);
        crash_child(&dir, "renamed:2");
        let orphan = Store::open_read(&dir)
            .unwrap()
            .verify()
            .unwrap()
            .uncommitted[0]
            .path
            .clone();
        let orphan_bytes = fs::read(dir.join(&orphan)).unwrap();
        crash_child(&dir, &format!("{step}:1"));
        assert!(
            !dir.join(&orphan).exists(),
            "{step}: moved before the crash"
        );

        let before = snapshot(&dir);
        let v = Store::open_read(&dir).unwrap().verify().unwrap();
        assert!(!v.is_ok(), "{step}: an unfinished clean-up is reported");
        assert!(v.planted().is_empty(), "{step}: {v}");
        assert_eq!(snapshot(&dir), before, "{step}: a reader changed the store");

        let writer = Store::open(&dir, &common::keys()).unwrap();
        assert!(writer.recovery().quarantine_seq.is_some(), "{step}");
        let v = writer.verify().unwrap();
        assert!(v.is_ok(), "{step}: {v}");
        let link = writer.ledger().last_link().unwrap();
        let moved = link.quarantined.iter().find(|q| q.from == orphan).unwrap();
        assert_eq!(
            fs::read(dir.join(&moved.to)).unwrap(),
            orphan_bytes,
            "{step}"
        );
        assert_eq!(
            fs::read_dir(dir.join(PENDING_DIR)).unwrap().count(),
            0,
            "{step}"
        );
    }
}

/// Writes a write-ahead record by hand.
fn write_record(dir: &Path, id: &str, lines: &[serde_json::Value]) -> PathBuf {
    let p = dir.join(PENDING_DIR).join(format!("{id}.jsonl"));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_forged_write_ahead_record_moves_only_what_the_writer_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = root.join("store");
    let store = committed_store(&dir);
    let committed = store.files();
    drop(store);
    fs::write(root.join("outside.parquet"), b"outside the store").unwrap();
    let reader = Store::open_read(&dir).unwrap();
    let other = plant(
        &dir,
        &reader,
        "provider=aws/dt=2001-01-01/part-00000077-0123456789abcdef.parquet",
    );
    drop(reader);
    let other_rel = other
        .strip_prefix(&dir)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    // A record climbing out of the store, one naming a committed file, one naming a file
    // with another hash than the one there.
    let escape = write_record(
        &dir,
        "a",
        &[serde_json::json!({"seq": 90, "tmp": "_tmp/../../outside.parquet"})],
    );
    let sha = "00".repeat(32);
    let record = |path: &str| serde_json::json!({"seq": 91, "tmp": "_tmp/x.tmp", "path": path, "sha256": sha, "bytes": 3});
    write_record(&dir, "b", &[record(&committed[0])]);
    write_record(&dir, "c", &[record(&other_rel)]);

    let reader = Store::open_read(&dir).unwrap();
    let v = reader.verify().unwrap();
    assert_eq!(v.bad_records, [format!("{PENDING_DIR}/a.jsonl")], "{v}");
    assert_eq!(
        v.planted(),
        [other_rel.as_str()],
        "another hash: still planted: {v}"
    );
    assert!(v.uncommitted.is_empty(), "{v}");
    drop(reader);
    let before = snapshot(&dir);

    let writer = Store::open(&dir, &common::keys()).unwrap();
    let r = writer.recovery().clone();
    assert_eq!(r.left_alone, std::slice::from_ref(&other_rel), "{r:?}");
    assert!(root.join("outside.parquet").exists());
    assert!(!escape.exists());
    for rel in committed.iter().chain([&other_rel]) {
        assert_eq!(
            fs::read(dir.join(rel)).unwrap(),
            before[Path::new(rel)],
            "{rel}"
        );
    }
    // Only the records were moved: into quarantine, recorded.
    let mut moved = r.quarantined.clone();
    moved.sort();
    let names: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| format!("{PENDING_DIR}/{n}.jsonl"))
        .collect();
    assert_eq!(moved, names, "{r:?}");
    let v = writer.verify().unwrap();
    assert_eq!(v.planted(), [other_rel.as_str()], "{v}");
    assert!(
        v.bad_records.is_empty() && v.ledger.files_quarantined == 3,
        "{v}"
    );
}

#[test]
fn a_live_writers_commit_in_progress_is_in_flight_then_uncommitted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let writer = committed_store(&dir);
    // What a commit in progress looks like: its record, then its file renamed into place.
    let reader = Store::open_read(&dir).unwrap();
    let rel = "provider=aws/dt=2001-01-01/part-00000099-0123456789abcdef.parquet";
    let file = plant(&dir, &reader, rel);
    let d = trailwatch_ledger::hash_file(&file).unwrap();
    write_record(
        &dir,
        "20240101T000000.000000000Z-seq00000099",
        &[serde_json::json!({
            "seq": 99, "tmp": "_tmp/part-x.parquet.tmp", "path": rel,
            "sha256": d.sha256_hex(), "bytes": d.bytes,
        })],
    );
    let v = reader.verify().unwrap();
    assert!(v.is_ok(), "a live writer's commit is no problem: {v}");
    assert_eq!(v.in_flight, [rel]);
    drop(writer);
    // The writer is gone: the commit was interrupted.
    let v = reader.verify().unwrap();
    assert!(!v.is_ok());
    assert_eq!(v.uncommitted.len(), 1, "{v}");
    assert_eq!(v.uncommitted[0].path, rel);
    assert!(file.exists());
}
