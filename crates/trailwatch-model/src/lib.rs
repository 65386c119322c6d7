//! The event model shared by every stage of trailwatch.
//!
//! This crate owns the vocabulary the pipeline speaks — sources → decode → normalize → detect →
//! sinks: the [`FieldSource`] trait through which rules read any event (AWS or Azure, whatever
//! shape it arrived in), the normalized [`Event`], [`Severity`] and the [`Alert`] contract.
//! It has no I/O and no parsing of its own.

mod alert;
mod event;
mod fields;
pub mod gauge;
mod severity;
pub mod uuid;

pub use alert::Alert;
pub use event::{Event, EventId, Outcome, Principal, Provider};
pub use fields::{FieldPath, FieldSource, FieldValue};
pub use severity::{ParseSeverityError, Severity};
