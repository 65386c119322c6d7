//! Crash tests: the test binary re-executes itself as a child that ingests with
//! `TRAILWATCH_STORE_CRASH_AT=<step>:<n>` and aborts there; then the same ingest runs again
//! in-process and must end with exactly the events of an uninterrupted run.

mod common;

use std::fs;
use std::path::Path;

use trailwatch_decode::Input;
use trailwatch_store::{IngestOptions, Store, CRASH_STEPS, TMP_DIR};

const DIR_ENV: &str = "TRAILWATCH_STORE_CRASH_TEST_DIR";

fn dataset() -> Vec<Input> {
    common::inputs(&["aws/invictus-ir", "aws/stratus-red-team", "azure"])
}

/// Small batches: many commits and many source records per ingest, so many crash points.
fn opts() -> IngestOptions {
    IngestOptions {
        batch_events: 600,
        ..IngestOptions::default()
    }
}

/// The child's side: when the test binary is re-executed with `DIR_ENV` set, the test below
/// only runs the ingest that is meant to crash, then exits.
fn child_ingest(dir: &str) {
    let mut store = Store::open_or_create(Path::new(dir), &common::keys()).unwrap();
    store.ingest(&dataset(), &opts()).unwrap();
}

/// Runs the child ingest with a crash at `step:n`; true if it crashed.
fn run_child(dir: &Path, step: &str, n: u32) -> bool {
    let test = "crash_at_every_step_then_rerun_gives_the_uninterrupted_result";
    common::crash_child(test, DIR_ENV, dir, &format!("{step}:{n}"))
}

fn sorted_ids(store: &Store) -> Vec<String> {
    let mut ids = store.event_ids().unwrap();
    ids.sort();
    ids
}

fn check_clean(dir: &Path, store: &Store, expected: &[String], what: &str) {
    assert_eq!(sorted_ids(store), expected, "{what}: stored ids differ");
    let v = store.verify().unwrap();
    assert!(v.is_ok(), "{what}: {v}");
    assert_eq!(
        fs::read_dir(dir.join(TMP_DIR)).unwrap().count(),
        0,
        "{what}: _tmp not empty"
    );
}

#[test]
fn crash_at_every_step_then_rerun_gives_the_uninterrupted_result() {
    if let Ok(dir) = std::env::var(DIR_ENV) {
        return child_ingest(&dir);
    }
    let tmp = tempfile::tempdir().unwrap();
    let inputs = dataset();

    // The uninterrupted run.
    let base = tmp.path().join("base");
    let mut store = Store::create(&base, &common::keys()).unwrap();
    let r = store.ingest(&inputs, &opts()).unwrap();
    assert!(r.files_written >= 8, "want many commits: {r:?}");
    let expected = sorted_ids(&store);
    assert_eq!(expected.len(), 3_154); // 3,170 records, 16 of them repeated
    let mut dedup = expected.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), expected.len());
    drop(store);

    let mut crashes = 0;
    let mut runs = 0;
    let mut per_step = Vec::new();
    for step in CRASH_STEPS {
        for n in [1u32, 2, 5] {
            runs += 1;
            let dir = tmp.path().join(format!("{step}-{n}"));
            let crashed = run_child(&dir, step, n);
            assert!(crashed || n > 1, "{step}:1 was never reached");
            crashes += u32::from(crashed);
            per_step.push(format!(
                "{step}:{n}={}",
                if crashed { "crash" } else { "done" }
            ));
            if n == 2 && crashed {
                // A second crash during the recovery run, elsewhere.
                let again = CRASH_STEPS[(CRASH_STEPS.iter().position(|s| *s == step).unwrap() + 2)
                    % CRASH_STEPS.len()];
                let second = run_child(&dir, again, 1);
                crashes += u32::from(second);
                per_step.push(format!(
                    "+{again}:1={}",
                    if second { "crash" } else { "done" }
                ));
            }
            let mut store = Store::open_or_create(&dir, &common::keys()).unwrap();
            let what = format!("crash at {step}:{n} (crashed: {crashed})");
            store.ingest(&inputs, &opts()).unwrap();
            check_clean(&dir, &store, &expected, &what);
            // And once more: nothing new, every source skipped.
            let r = store.ingest(&inputs, &opts()).unwrap();
            assert_eq!((r.added, r.skipped), (0, inputs.len() as u64), "{what}");
            drop(store);
            let store = Store::open(&dir, &common::keys()).unwrap();
            assert!(store.recovery().is_empty(), "{what}");
            check_clean(&dir, &store, &expected, &what);
        }
    }
    eprintln!("crash test: {runs} scenarios, {crashes} injected crashes: {per_step:?}");
    assert!(
        crashes as usize >= CRASH_STEPS.len() * 3,
        "{crashes} crashes"
    );
}
