//! Decode: from bytes on disk to events rules can read.
//!
//! This crate owns the first half of the data path — sources → decode → normalize:
//! - [`input`]: expanding the paths a user gives (files, directories, `-` for stdin) and
//!   opening each as a byte stream, gunzipping when the magic bytes say gzip;
//! - [`read_input`]: splitting a stream into records (every CloudTrail and Azure Activity Log
//!   shape, see `../shared/docs/FORMATS.md`), classifying each, and handing it on as a
//!   [`Record`] — with errors reported per file and reason, never aborting the run;
//! - [`aws`] and [`azure`]: zero-copy [`trailwatch_model::FieldSource`] views that rules read
//!   (Azure's three shapes answer the same field names), and normalization into
//!   [`trailwatch_model::Event`];
//! - `sentinel`: the Sentinel / Log Analytics `AWSCloudTrail` table's exports (CSV, query
//!   API), rebuilt as CloudTrail records.

pub mod aws;
pub mod azure;
mod fields;
pub mod input;
mod reader;
mod sentinel;
pub mod time;

pub use input::{expand_inputs, expand_inputs_counted, Input, InputError};
pub use reader::{
    read_bytes, read_input, read_stream, DecodeError, Facts, FileStats, ReadScratch, Record,
};
