#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use trailwatch_decode::{expand_inputs, read_input, Input, ReadScratch};
use trailwatch_model::Event;

pub fn datasets() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
}

pub fn inputs(rel: &[&str]) -> Vec<Input> {
    let paths: Vec<PathBuf> = rel.iter().map(|r| datasets().join(r)).collect();
    let (inputs, errors) = expand_inputs(&paths);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!inputs.is_empty());
    inputs
}

/// Every normalized event of the inputs, as the decoder gives them.
pub fn normalized(inputs: &[Input]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut scratch = ReadScratch::default();
    for i in inputs {
        read_input(
            i,
            &mut scratch,
            &mut |r| out.push(r.normalize()),
            &mut |_| {},
        );
    }
    out
}

/// Re-executes this test binary to run only the test `test`, with `dir_env` = `dir` (seeing it,
/// that test does only the work meant to crash, in `dir`) and the crash injected at `at`
/// (`<step>:<n>`). True if the child crashed.
pub fn crash_child(test: &str, dir_env: &str, dir: &Path, at: &str) -> bool {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1"])
        .env(dir_env, dir)
        .env(trailwatch_store::CRASH_ENV, at)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    !status.success()
}

/// Where the tests' stores keep their signing keys: a folder of the build's temporary
/// directory (each store's key named by its store id), never the user's configuration.
pub fn keys() -> trailwatch_store::KeySource {
    trailwatch_store::KeySource::Dir(
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trailwatch-test-keys"),
    )
}
