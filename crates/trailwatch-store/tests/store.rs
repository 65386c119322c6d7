mod common;

use std::collections::{BTreeSet, HashMap};
use std::fs;

use arrow::array::{Array, AsArray, ListArray};
use arrow::datatypes::TimestampMillisecondType;
use chrono::NaiveDate;
use common::{inputs, normalized};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use trailwatch_decode::Input;
use trailwatch_store::schema::{self, outcome_str};
use trailwatch_store::{IngestOptions, Store};

fn all_inputs() -> Vec<Input> {
    inputs(&["aws/invictus-ir", "aws/stratus-red-team", "azure"])
}

#[test]
fn ingest_counts_match_the_datasets_and_twice_adds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut store = Store::open_or_create(&dir, &common::keys()).unwrap();
    let inputs = all_inputs();
    let r = store.ingest(&inputs, &IngestOptions::default()).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // Records read: 2,900 + 266 AWS, 4 Azure. Stratus has 16 byte-identical records in two
    // files each (impact/InvokeBedrockModel.json and S3RansomwareThroughBatchFileDeletion.json
    // share 15, two other files 1): stored once, so 250 of its 266 records are events.
    assert_eq!(r.read.aws_records, 2_900 + 266);
    assert_eq!(r.read.azure_records, 4);
    assert_eq!((r.added, r.duplicates), (2_900 + 250 + 4, 16), "{r:?}");
    assert_eq!(r.skipped, 0);
    let s = store.stats().unwrap();
    assert_eq!(s.events, 3_154);
    assert_eq!(s.per_provider["aws"], 3_150);
    assert_eq!(s.per_provider["azure"], 4);
    assert_eq!(s.files, r.files_written);
    assert_eq!(s.public_key.len(), 64);
    assert_eq!(
        s.per_day.values().map(|d| d.events).sum::<u64>(),
        3_154,
        "{:?}",
        s.per_day
    );
    assert_eq!(s.per_account.values().sum::<u64>(), 3_154);
    assert_eq!(s.per_region.values().sum::<u64>(), 3_154);
    assert!(s.first_time.unwrap() < s.last_time.unwrap());
    // Layout: Hive partitions, named files, nothing left in _tmp.
    for f in store.files() {
        assert!(
            f.starts_with("provider=aws/dt=") || f.starts_with("provider=azure/dt="),
            "{f}"
        );
        let name = f.rsplit('/').next().unwrap();
        assert!(
            name.starts_with("part-") && name.ends_with(".parquet"),
            "{f}"
        );
        assert_eq!(name.len(), "part-00000001-0123456789abcdef.parquet".len());
    }
    assert_eq!(fs::read_dir(dir.join("_tmp")).unwrap().count(), 0);
    assert!(store.verify().unwrap().is_ok());

    // Again, same store object: every file skipped, nothing added.
    let r2 = store.ingest(&inputs, &IngestOptions::default()).unwrap();
    assert_eq!(r2.skipped, inputs.len() as u64);
    assert_eq!((r2.added, r2.files_written, r2.read.files), (0, 0, 0));
    // Again after reopening, even hashing the sources.
    drop(store);
    let mut store = Store::open(&dir, &common::keys()).unwrap();
    assert!(store.recovery().is_empty());
    let opts = IngestOptions {
        check_source_hash: true,
        ..IngestOptions::default()
    };
    let r3 = store.ingest(&inputs, &opts).unwrap();
    assert_eq!((r3.skipped, r3.added), (inputs.len() as u64, 0));
    assert_eq!(store.stats().unwrap().events, 3_154);
    let ids = store.event_ids().unwrap();
    assert_eq!(ids.len(), ids.iter().collect::<BTreeSet<_>>().len());
}

#[test]
fn a_record_in_two_files_is_stored_once_and_copies_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let src = common::datasets().join("aws/invictus-ir");
    let mut files: Vec<_> = fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let a: serde_json::Value = serde_json::from_slice(&fs::read(&files[0]).unwrap()).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&fs::read(&files[1]).unwrap()).unwrap();
    let ra = a["Records"].as_array().unwrap().clone();
    let mut rb = b["Records"].as_array().unwrap().clone();
    rb.push(ra[0].clone());
    let logs = tmp.path().join("logs");
    fs::create_dir_all(&logs).unwrap();
    fs::write(
        logs.join("a.json"),
        serde_json::to_vec(&serde_json::json!({ "Records": ra })).unwrap(),
    )
    .unwrap();
    fs::write(
        logs.join("b.json"),
        serde_json::to_vec(&serde_json::json!({ "Records": rb })).unwrap(),
    )
    .unwrap();
    let mut store = Store::create(&tmp.path().join("store"), &common::keys()).unwrap();
    let (inputs, _) = trailwatch_decode::expand_inputs(std::slice::from_ref(&logs));
    let r = store.ingest(&inputs, &IngestOptions::default()).unwrap();
    assert_eq!(r.added as usize, ra.len() + rb.len() - 1);
    assert_eq!(r.duplicates, 1);
    assert_eq!(
        store.stats().unwrap().events as usize,
        ra.len() + rb.len() - 1
    );
    // A copy of an ingested file under another name is skipped (same size and hash).
    fs::copy(logs.join("a.json"), tmp.path().join("copy.json")).unwrap();
    let (copy, _) = trailwatch_decode::expand_inputs(&[tmp.path().join("copy.json")]);
    let r = store.ingest(&copy, &IngestOptions::default()).unwrap();
    assert_eq!((r.skipped, r.added), (1, 0));
    // A changed file is read again; only its new event is added.
    rb.push(ra[1].clone());
    let mut extra = ra[1].clone();
    extra["eventID"] = "11111111-2222-3333-4444-555555555555".into();
    rb.push(extra);
    fs::write(
        logs.join("b.json"),
        serde_json::to_vec(&serde_json::json!({ "Records": rb })).unwrap(),
    )
    .unwrap();
    let r = store.ingest(&inputs, &IngestOptions::default()).unwrap();
    assert_eq!((r.skipped, r.added), (1, 1), "{r:?}");
}

#[test]
fn parquet_files_read_back_as_the_normalized_events() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut store = Store::create(&dir, &common::keys()).unwrap();
    let inputs = all_inputs();
    store.ingest(&inputs, &IngestOptions::default()).unwrap();
    let expected: HashMap<String, trailwatch_model::Event> = normalized(&inputs)
        .into_iter()
        .map(|e| (e.event_id.clone(), e))
        .collect();
    let mut seen = 0;
    for rel in store.files() {
        let file = fs::File::open(dir.join(&rel)).unwrap();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(builder.schema().fields(), schema::schema().fields());
        let md = builder.metadata().clone();
        let rg = md.row_group(0);
        assert!(rg.column(0).statistics().is_some(), "statistics on");
        assert!(format!("{:?}", rg.column(0).compression()).starts_with("ZSTD"));
        let provider = if rel.starts_with("provider=aws/") {
            trailwatch_model::Provider::Aws
        } else {
            trailwatch_model::Provider::Azure
        };
        let mut last_key: (String, i64) = (String::new(), i64::MIN);
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            let col = |n: &str| batch.column_by_name(n).unwrap().clone();
            let time = col(schema::COL_TIME);
            let time = time.as_primitive::<TimestampMillisecondType>();
            let s = |n: &str, i: usize| {
                let c = col(n);
                let c = c.as_string::<i32>();
                (!c.is_null(i)).then(|| c.value(i).to_string())
            };
            let b = |n: &str, i: usize| {
                let c = col(n);
                let c = c.as_boolean();
                (!c.is_null(i)).then(|| c.value(i))
            };
            let res = col(schema::COL_RESOURCES);
            let res = res.as_any().downcast_ref::<ListArray>().unwrap();
            for i in 0..batch.num_rows() {
                let id = s(schema::COL_EVENT_ID, i).unwrap();
                let e = &expected[&id];
                let key = (s(schema::COL_ACTION, i).unwrap(), time.value(i));
                assert!(key.0 >= last_key.0, "sorted by action first");
                last_key = key;
                assert_eq!(time.value(i), e.time_ms);
                assert_eq!(e.provider, provider);
                assert!(rel.contains(&format!(
                    "dt={}",
                    chrono::DateTime::from_timestamp_millis(e.time_ms)
                        .unwrap()
                        .format("%Y-%m-%d")
                )));
                assert_eq!(s(schema::COL_ACCOUNT, i), e.account);
                assert_eq!(s(schema::COL_REGION, i), e.region);
                assert_eq!(s(schema::COL_PRINCIPAL_TYPE, i), e.principal.kind);
                assert_eq!(s(schema::COL_PRINCIPAL_ID, i), e.principal.id);
                assert_eq!(
                    s(schema::COL_PRINCIPAL, i).as_deref(),
                    Some(e.principal.label())
                );
                assert_eq!(s(schema::COL_PRINCIPAL_ARN, i), e.principal.name);
                assert_eq!(s(schema::COL_ACCESS_KEY, i), e.principal.access_key);
                assert_eq!(b(schema::COL_MFA, i), e.principal.mfa);
                assert_eq!(s(schema::COL_SESSION_ISSUER, i), e.principal.session_issuer);
                assert_eq!(s(schema::COL_SOURCE_IP, i), e.source_ip);
                assert_eq!(s(schema::COL_USER_AGENT, i), e.user_agent);
                assert_eq!(s(schema::COL_SERVICE, i), e.service);
                assert_eq!(s(schema::COL_ACTION, i).as_ref(), Some(&e.action));
                assert_eq!(b(schema::COL_READ_ONLY, i), e.read_only);
                assert_eq!(
                    s(schema::COL_OUTCOME, i).as_deref(),
                    Some(outcome_str(e.outcome))
                );
                assert_eq!(s(schema::COL_ERROR_CODE, i), e.error_code);
                let r = res.value(i);
                let r: Vec<String> = r
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.unwrap().to_string())
                    .collect();
                assert_eq!(r, e.resources);
                assert_eq!(s(schema::COL_RAW, i).as_ref(), Some(&e.raw));
                seen += 1;
            }
        }
    }
    assert_eq!(seen, expected.len());
}

#[test]
fn retention_removes_only_old_days_and_verify_stays_ok() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut store = Store::create(&dir, &common::keys()).unwrap();
    // Ten days are below the default floor (365 days): lowered first, a signed link.
    let (was, floor_link) = store.set_retention_floor(10, "test: ten days").unwrap();
    assert_eq!((was, floor_link.floor_days), (365, Some(10)));
    // Stratus: 2024-07-30 … 2024-08-02 and 2024-10-17.
    store
        .ingest(
            &inputs(&["aws/stratus-red-team"]),
            &IngestOptions::default(),
        )
        .unwrap();
    let before = store.stats().unwrap();
    let days: BTreeSet<String> = before.per_day.keys().map(|(d, _)| d.clone()).collect();
    assert!(days.len() >= 3, "{days:?}");
    let today = NaiveDate::from_ymd_opt(2024, 8, 11).unwrap(); // keep 10 days: from 2024-08-01
    let dry = store.retention(10, true, today).unwrap();
    assert_eq!(dry.cutoff, "2024-08-01");
    let old: Vec<&String> = days.iter().filter(|d| d.as_str() < "2024-08-01").collect();
    assert_eq!(dry.days.keys().collect::<Vec<_>>(), old);
    assert!(dry.events > 0 && dry.ledger_seq.is_none());
    assert_eq!(store.stats().unwrap(), before, "a dry run changes nothing");

    let r = store.retention(10, false, today).unwrap();
    assert_eq!((r.files, r.events), (dry.files, dry.events));
    assert!(r.ledger_seq.is_some());
    let after = store.stats().unwrap();
    assert_eq!(after.events, before.events - r.events);
    assert!(after
        .per_day
        .keys()
        .all(|(d, _)| d.as_str() >= "2024-08-01"));
    for (k, v) in &before.per_day {
        if k.0.as_str() >= "2024-08-01" {
            assert_eq!(after.per_day.get(k), Some(v));
        }
    }
    for rels in r.days.values() {
        for rel in rels {
            assert!(!dir.join(rel).exists());
        }
    }
    let v = store.verify().unwrap();
    assert!(v.is_ok(), "{v}");
    assert_eq!(v.ledger.removed_by_retention as u64, r.files);
    // Reopening sees the same; nothing more to remove.
    drop(store);
    let mut store = Store::open(&dir, &common::keys()).unwrap();
    assert!(store.recovery().is_empty());
    assert_eq!(store.stats().unwrap().events, after.events);
    assert_eq!(store.retention(10, false, today).unwrap().files, 0);
    assert!(store.verify().unwrap().is_ok());
}

#[test]
fn verify_finds_a_tampered_parquet_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut store = Store::create(&dir, &common::keys()).unwrap();
    store
        .ingest(
            &inputs(&["aws/stratus-red-team"]),
            &IngestOptions::default(),
        )
        .unwrap();
    assert!(store.verify().unwrap().is_ok());
    let files = store.files();
    // Flip a byte in the middle of one file; truncate another.
    let a = dir.join(&files[0]);
    let mut bytes = fs::read(&a).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&a, &bytes).unwrap();
    let b = dir.join(&files[1]);
    let len = fs::metadata(&b).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&b)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let v = store.verify().unwrap();
    assert!(!v.is_ok());
    let text = v.to_string();
    assert!(text.contains(&files[0]), "{text}");
    assert!(text.contains(&files[1]), "{text}");
    // The truncated file no longer opens as Parquet: the store's own check names it too.
    assert!(
        v.parquet_problems.iter().any(|p| p.path == files[1]),
        "{:?}",
        v.parquet_problems
    );
}

#[test]
fn errors_per_file_go_to_the_report_and_the_rest_is_ingested() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    fs::create_dir_all(&logs).unwrap();
    fs::write(
        logs.join("bad.json"),
        b"{\"Records\": [ {\"eventVersion\": ",
    )
    .unwrap();
    let good = common::datasets().join("azure/activity_array_format.json");
    fs::copy(&good, logs.join("good.json")).unwrap();
    let mut store = Store::create(&tmp.path().join("store"), &common::keys()).unwrap();
    let (inputs, _) = trailwatch_decode::expand_inputs(&[logs]);
    let r = store.ingest(&inputs, &IngestOptions::default()).unwrap();
    assert!(!r.errors.is_empty());
    assert!(
        r.errors.iter().all(|e| e.file.ends_with("bad.json")),
        "{:?}",
        r.errors
    );
    assert!(r.added > 0);
    assert_eq!(store.stats().unwrap().events, r.added);
}

#[test]
fn ingest_speed_on_invictus() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::create(&tmp.path().join("store"), &common::keys()).unwrap();
    let inputs = inputs(&["aws/invictus-ir"]);
    let r = store.ingest(&inputs, &IngestOptions::default()).unwrap();
    assert_eq!(r.added, 2_900);
    eprintln!(
        "invictus: {} records in {:.3}s = {:.0} records/s ({} bytes read, {} bytes written)",
        r.added,
        r.elapsed_secs,
        r.added as f64 / r.elapsed_secs,
        r.read.bytes,
        r.bytes_written
    );
}

/// A reader never cleans up what a live writer is writing, nor anything else; the writer only
/// what its own write-ahead records name (here: none). Writing through a store opened for
/// reading is refused.
#[test]
fn readers_leave_a_live_writers_files_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut writer = Store::create(&dir, &common::keys()).unwrap();
    writer
        .ingest(&inputs(&["aws/invictus-ir"]), &IngestOptions::default())
        .unwrap();
    // What a writer has in flight: a temporary file and a renamed file not yet committed.
    let tmp_file = dir
        .join(trailwatch_store::TMP_DIR)
        .join("part-x.parquet.tmp");
    fs::write(&tmp_file, b"in flight").unwrap();
    let part = dir.join("provider=aws/dt=2001-01-01");
    fs::create_dir_all(&part).unwrap();
    let renamed = part.join("part-99999999-0000000000000000.parquet");
    fs::write(&renamed, b"in flight").unwrap();

    let mut reader = Store::open_read(&dir).unwrap();
    assert!(reader.recovery().is_empty());
    assert!(tmp_file.exists() && renamed.exists());
    assert!(!reader.files().iter().any(|f| f.contains("2001-01-01")));
    assert_eq!(reader.stats().unwrap().events, 2_900);
    let refused = reader.ingest(&inputs(&["azure"]), &IngestOptions::default());
    assert!(
        matches!(refused, Err(trailwatch_store::StoreError::ReadOnly(_))),
        "{refused:?}"
    );

    drop(writer);
    let reader = Store::open_read(&dir).unwrap();
    assert!(reader.recovery().is_empty());
    assert!(tmp_file.exists() && renamed.exists());
    // No write-ahead record names them: not the writer's to move.
    let writer = Store::open(&dir, &common::keys()).unwrap();
    assert!(writer.recovery().is_empty(), "{:?}", writer.recovery());
    assert!(tmp_file.exists() && renamed.exists());
}
