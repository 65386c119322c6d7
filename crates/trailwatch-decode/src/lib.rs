//! Decode: from bytes on disk to events rules can read.
//!
//! This crate owns the first half of the data path — sources → decode → normalize:
//! - [`input`]: expanding the paths a user gives (files, directories, `-` for stdin) and
//!   opening each as a byte stream, gunzipping when the magic bytes say gzip;
//! - [`read_input`]: splitting a stream into records (every CloudTrail, Azure Activity Log and
//!   Microsoft Entra ID sign-in and audit shape, see `../shared/docs/FORMATS.md`), classifying
//!   each, and handing it on as a [`Record`] — with errors reported per file and reason, never
//!   aborting the run; a record without a readable time is reported, never dated 1970;
//! - [`aws`], [`azure`] and [`entra`]: zero-copy [`trailwatch_model::FieldSource`] views that
//!   rules read (the Azure and Entra shapes each answer one vocabulary of field names), and
//!   normalization into [`trailwatch_model::Event`];
//! - `sentinel`: Log Analytics table exports (portal CSV, query API) of the `AWSCloudTrail`,
//!   `AzureActivity`, sign-in and `AuditLogs` tables, each row read as the record it stands for.

pub mod aws;
pub mod azure;
pub mod entra;
mod fields;
pub mod input;
mod reader;
mod sentinel;
pub mod time;

pub use input::{expand_inputs, expand_inputs_counted, Input, InputError};
pub use reader::{
    read_bytes, read_input, read_stream, DecodeError, Facts, FileStats, ReadScratch, Record,
};
