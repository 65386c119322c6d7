//! Running the example events rules carry (`tests: {positive: […], negative: […]}`) through
//! the real reader, so that a rule is tested exactly as it will see live events.

use std::sync::Arc;
use trailwatch_decode::{read_bytes, ReadScratch};
use trailwatch_sigma::Rule;

/// Whether an example should match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Match,
    NoMatch,
}

/// One example's result.
#[derive(Debug, Clone)]
pub struct ExampleResult {
    pub rule: Arc<Rule>,
    pub expect: Expect,
    /// Position in the rule's positive or negative list.
    pub index: usize,
    pub passed: bool,
    /// Why it failed.
    pub detail: String,
}

fn matches(rule: &Rule, event: &serde_json::Value) -> Result<bool, String> {
    let text = serde_json::to_vec(event).map_err(|e| e.to_string())?;
    let mut scratch = ReadScratch::default();
    let mut result = None;
    let mut errors = Vec::new();
    read_bytes(
        &text,
        "example",
        &mut scratch,
        &mut |rec| result = Some(rule.matches(rec.fields())),
        &mut |e| errors.push(e.reason),
    );
    match result {
        Some(m) => Ok(m),
        None => Err(format!(
            "the example is not a readable event: {}",
            errors.join("; ")
        )),
    }
}

/// Runs every example of every detection rule in `rules`.
pub fn run(rules: &[Arc<Rule>]) -> Vec<ExampleResult> {
    let mut out = Vec::new();
    for rule in rules.iter().filter(|r| !r.is_correlation()) {
        let cases = rule
            .tests
            .positive
            .iter()
            .enumerate()
            .map(|(i, e)| (Expect::Match, i, e))
            .chain(
                rule.tests
                    .negative
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (Expect::NoMatch, i, e)),
            );
        for (expect, index, event) in cases {
            let (passed, detail) = match matches(rule, event) {
                Ok(m) if m == (expect == Expect::Match) => (true, String::new()),
                Ok(true) => (false, "matched, but is a negative example".to_string()),
                Ok(false) => (
                    false,
                    "did not match, but is a positive example".to_string(),
                ),
                Err(e) => (false, e),
            };
            out.push(ExampleResult {
                rule: rule.clone(),
                expect,
                index,
                passed,
                detail,
            });
        }
    }
    out
}
