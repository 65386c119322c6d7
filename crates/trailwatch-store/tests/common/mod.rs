#![allow(dead_code)]

use std::path::PathBuf;

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
