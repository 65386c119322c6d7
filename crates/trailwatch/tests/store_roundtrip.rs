//! The store keeps every record byte for byte: every file of every shared dataset (CloudTrail
//! and Azure Activity Log shapes), and the simulator's Entra ID sign-in and audit logs and Azure
//! families (the datasets hold no Entra ID records), are ingested with `trailwatch ingest`,
//! every row's `raw` is read back with `trailwatch sql`, and each must be exactly the record the
//! decoder read for that event id (the first one read, when an id repeats).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::{datasets, run};
use trailwatch_decode::{expand_inputs, read_input, ReadScratch};

/// Event id → the record as the decoder read it (the first one, in the order ingest reads the
/// inputs), and how many records were read.
fn decoded(paths: &[PathBuf]) -> (HashMap<String, String>, usize) {
    let (inputs, errors) = expand_inputs(paths);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(inputs.len() > 3_000, "{} inputs", inputs.len());
    let mut first = HashMap::new();
    let mut records = 0;
    let mut scratch = ReadScratch::default();
    for input in &inputs {
        read_input(
            input,
            &mut scratch,
            &mut |rec| {
                records += 1;
                let e = rec.normalize();
                first.entry(e.event_id).or_insert(e.raw);
            },
            &mut |e| panic!("the shared datasets decode without problems: {e}"),
        );
    }
    (first, records)
}

#[test]
fn every_record_of_the_shared_datasets_comes_back_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let sim = tmp.path().join("sim");
    run(&[
        "simulate".as_ref(),
        "--out".as_ref(),
        sim.as_os_str(),
        "--provider".as_ref(),
        "azure".as_ref(),
        "--azure-families".as_ref(),
        "--entra".as_ref(),
        "--days".as_ref(),
        "1".as_ref(),
        "--events-per-day".as_ref(),
        "300".as_ref(),
    ])
    .assert_code(0);
    let paths = [datasets(), sim];
    let ingest = run(&[
        "ingest".as_ref(),
        paths[0].as_os_str(),
        paths[1].as_os_str(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);
    ingest.assert_code(0);
    let (want, records) = decoded(&paths);
    // `trailwatch: N inputs (…); R records read, A new events stored, D duplicates; …; 0 problems`
    let summary = ingest
        .stderr
        .lines()
        .find(|l| l.contains(" records read, "))
        .unwrap_or_else(|| panic!("no ingest summary\n{}", ingest.context()));
    let read = summary
        .split("; ")
        .find_map(|part| {
            part.strip_suffix(" records read")
                .or_else(|| part.split_once(" records read,").map(|(n, _)| n))
        })
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("records read in: {summary}"));
    assert_eq!(read, records, "{summary}");
    assert!(summary.contains("; 0 problems"), "{summary}");

    let sql = run(&[
        "sql".as_ref(),
        "SELECT provider, event_id, raw FROM events".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--limit".as_ref(),
        "100000000".as_ref(),
    ]);
    sql.assert_code(0);
    let rows = common::jsonl(&sql.stdout, "sql");
    assert_eq!(rows.len(), want.len(), "one row per distinct event id");
    let mut per_provider: HashMap<String, usize> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        let id = row["event_id"].as_str().expect("event_id is a string");
        let raw = row["raw"].as_str().expect("raw is a string");
        assert!(seen.insert(id.to_string()), "event id {id} stored twice");
        let expected = want
            .get(id)
            .unwrap_or_else(|| panic!("stored event {id} was never read"));
        assert!(
            raw.as_bytes() == expected.as_bytes(),
            "event {id}: stored raw differs from the record read\nstored: {raw}\nread:   {expected}"
        );
        *per_provider
            .entry(row["provider"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    // Every shape of the datasets went through: CloudTrail, Azure Activity Log, Entra ID.
    for provider in ["aws", "azure", "entra"] {
        assert!(
            per_provider.get(provider).copied().unwrap_or(0) > 0,
            "no {provider} rows: {per_provider:?}"
        );
    }
}
