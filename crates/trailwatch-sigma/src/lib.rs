//! trailwatch's own Sigma rule engine.
//!
//! This crate owns everything about Sigma rules: loading rule files (multi-document YAML, the
//! legacy `action: global/reset/repeat` style, our `tests:` extension), compiling detections
//! (every Sigma v2 modifier, a real condition parser), routing rules to a log source, evaluating
//! them fast through a [`RuleSet`], and correlation rules through a mergeable
//! [`CorrelationState`].
//!
//! It is hand-written rather than built on an existing Sigma library because trailwatch must run
//! ~800 AWS rules over 300,000+ records/s on two cores, which takes two things such libraries do
//! not offer:
//!
//! 1. **Zero-copy field access.** Rules read events only through
//!    [`trailwatch_model::FieldSource`], straight out of the raw record; no `serde_json::Value`
//!    is built on the hot path and matching an ASCII value does not allocate (patterns are
//!    lowercased, regexes and CIDRs parsed, once at load time).
//! 2. **A rule index.** Most rules require `eventName` (AWS) or `operationName` (Azure) to equal
//!    one of a few literals. A [`RuleSet`] files such rules under those literals (found by a
//!    sound analysis of the condition) and evaluates, per event, only the candidates for its
//!    index value plus the rules it could not index.
//!
//! Typical use:
//!
//! ```no_run
//! use trailwatch_sigma::{load_dir, CorrelationState, RuleSetConfig};
//! use trailwatch_model::Severity;
//! let report = load_dir("rules/");
//! for f in &report.failures {
//!     eprintln!("{f}");
//! }
//! let set = report.ruleset(&RuleSetConfig::aws_cloudtrail(Severity::Low));
//! let mut state = CorrelationState::new();
//! let mut hits = Vec::new();
//! # let events: Vec<(serde_json::Value, String, String)> = Vec::new();
//! # fn wrap(_: &serde_json::Value) -> impl trailwatch_model::FieldSource { struct N; impl trailwatch_model::FieldSource for N { fn visit_field(&self, _: &trailwatch_model::FieldPath, _: &mut dyn FnMut(&trailwatch_model::FieldValue<'_>) -> bool) -> bool { false } fn visit_all_values(&self, _: &mut dyn FnMut(&trailwatch_model::FieldValue<'_>) -> bool) -> bool { false } fn time_ms(&self) -> Option<i64> { None } } N }
//! for (raw, event_name, event_id) in &events {
//!     let event = wrap(raw);
//!     hits.clear();
//!     set.matches(&event, Some(event_name), &mut hits);
//!     for &r in &hits {
//!         if set.feeds_correlation(r) {
//!             state.observe(&set, r, &event, event_id);
//!         }
//!         if set.alerts(r) { /* alert on set.rule(r) */ }
//!     }
//! }
//! for hit in state.finish(&set) {
//!     if hit.rule.generates_alerts() { /* alert on the correlation */ }
//! }
//! ```

mod condition;
mod correlation;
mod detection;
mod error;
mod loader;
mod pattern;
mod rule;
mod ruleset;
mod yaml;

pub use correlation::{
    parse_timespan, Alias, Correlation, CorrelationHit, CorrelationSnapshot, CorrelationState,
    CorrelationType, CountOp, SnapshotCorrelation, SnapshotObservation,
};
pub use detection::{Detection, Explanation, ItemOutcome, SelectionOutcome};
pub use error::{LoadFailure, RuleError};
pub use loader::{load_dir, load_str, LoadReport, Loader, SUPPORTED_SOURCES};
pub use rule::{LogSource, Rule, RuleBody, RuleTests, DEFAULT_LEVEL};
pub use ruleset::{RuleRef, RuleSet, RuleSetConfig, ENTRA_SERVICES};
