//! The event model shared by every stage of trailwatch, and the small helpers every stage uses.
//!
//! This crate owns the vocabulary the pipeline speaks — sources → decode → normalize → detect →
//! sinks: the [`FieldSource`] trait through which rules read any event (AWS or Azure, whatever
//! shape it arrived in), the normalized [`Event`], [`Severity`] and the [`Alert`] contract with
//! its stable [`alert_id`].
//!
//! It is also the one home of the helpers that many crates need and none owns, so that each
//! exists once: [`duration`] (`30s`, `7d`), [`gzip`] (recognising gzip by its magic bytes),
//! [`hex`], [`percent`] (URL decoding), [`time`] (RFC 3339 formatting) and [`uuid`]. It has
//! no I/O.

mod alert;
pub mod duration;
mod event;
mod fields;
pub mod gauge;
pub mod gzip;
pub mod hex;
pub mod percent;
mod severity;
pub mod time;
pub mod uuid;

pub use alert::{alert_id, Alert};
pub use event::{Event, EventId, Outcome, Principal, Provider};
pub use fields::{FieldPath, FieldSource, FieldValue};
pub use severity::{ParseSeverityError, Severity};
