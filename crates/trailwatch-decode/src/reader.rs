//! Reading one input: split, classify, hand on; report what could not be read.

use crate::aws::AwsRecord;
use crate::azure::{shape_of, AzureRecord};
use crate::input::Input;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use trailwatch_json::{unescape, Indexed, Kind, ObjectIndex, Raw, Splitter, SplitterOptions};
use trailwatch_model::{Event, FieldSource, Provider};

/// A decoded record of either cloud.
#[derive(Clone, Copy)]
pub enum Record<'a> {
    Aws(AwsRecord<'a>),
    Azure(AzureRecord<'a>),
}

impl<'a> Record<'a> {
    pub fn provider(&self) -> Provider {
        match self {
            Record::Aws(_) => Provider::Aws,
            Record::Azure(_) => Provider::Azure,
        }
    }

    /// The field view rules read.
    pub fn fields(&self) -> &dyn FieldSource {
        match self {
            Record::Aws(r) => r,
            Record::Azure(r) => r,
        }
    }

    /// The value rules are indexed by: `eventName` or the Azure operation.
    pub fn index_value(&self) -> Option<Cow<'a, str>> {
        match self {
            Record::Aws(r) => r.event_name(),
            Record::Azure(r) => r.operation().map(Cow::Owned),
        }
    }

    pub fn time_ms(&self) -> Option<i64> {
        self.fields().time_ms()
    }

    pub fn event_id(&self) -> String {
        match self {
            Record::Aws(r) => r.event_id(),
            Record::Azure(r) => r.normalize().event_id,
        }
    }

    pub fn normalize(&self) -> Event {
        match self {
            Record::Aws(r) => r.normalize(),
            Record::Azure(r) => r.normalize(),
        }
    }

    /// What an alert needs to know of the record, cheaply.
    pub fn facts(&self) -> Facts<'a> {
        match self {
            Record::Aws(r) => r.facts(),
            Record::Azure(r) => Facts::from_event(r.normalize()),
        }
    }

    /// Whether a cloud service, not an identity of the account, made the call (see
    /// [`AwsRecord::is_service_principal`]; Azure's own callers are not told apart yet).
    pub fn is_service_principal(&self) -> bool {
        match self {
            Record::Aws(r) => r.is_service_principal(),
            Record::Azure(_) => false,
        }
    }

    /// The resources the record names (ARNs, resource ids, request parameters).
    pub fn resources(&self) -> Vec<String> {
        match self {
            Record::Aws(r) => r.resources(),
            Record::Azure(r) => r.normalize().resources,
        }
    }
}

/// The facts about one record that alerts carry: its time and id, where, who, from where, what.
/// Borrowed from the record when it can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    pub time_ms: i64,
    pub event_id: Cow<'a, str>,
    pub account: Option<Cow<'a, str>>,
    pub region: Option<Cow<'a, str>>,
    /// The principal's label (as [`trailwatch_model::Principal::label`]).
    pub principal: Cow<'a, str>,
    pub source_ip: Option<Cow<'a, str>>,
    pub action: Cow<'a, str>,
}

impl Facts<'_> {
    /// The facts of a normalized event.
    pub fn from_event(e: Event) -> Facts<'static> {
        Facts {
            time_ms: e.time_ms,
            principal: Cow::Owned(e.principal.label().to_string()),
            event_id: Cow::Owned(e.event_id),
            account: e.account.map(Cow::Owned),
            region: e.region.map(Cow::Owned),
            source_ip: e.source_ip.map(Cow::Owned),
            action: Cow::Owned(e.action),
        }
    }
}

/// Something in an input that could not be read: the input's name and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct DecodeError {
    pub file: String,
    pub reason: String,
}

/// What reading some inputs found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileStats {
    pub files: u64,
    /// Files from which at least one record was read.
    pub files_read: u64,
    pub aws_records: u64,
    pub azure_records: u64,
    /// CloudTrail digest files (recognised, not events).
    pub digests: u64,
    /// Records of no known shape.
    pub unknown_records: u64,
    /// Problems reported (bad files, broken records).
    pub errors: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
}

impl FileStats {
    pub fn records(&self) -> u64 {
        self.aws_records + self.azure_records
    }

    pub fn add(&mut self, o: &FileStats) {
        self.files += o.files;
        self.files_read += o.files_read;
        self.aws_records += o.aws_records;
        self.azure_records += o.azure_records;
        self.digests += o.digests;
        self.unknown_records += o.unknown_records;
        self.errors += o.errors;
        self.bytes += o.bytes;
    }
}

/// A stable id for a record without one: the hex SHA-256 of its bytes (first 128 bits).
pub(crate) fn content_id(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Errors reported per input before the rest are only counted.
const ERRORS_SHOWN_PER_FILE: u64 = 5;

/// Scratch space a worker reuses across records and files.
#[derive(Default)]
pub struct ReadScratch {
    buffer: Vec<u8>,
    outer: ObjectIndex,
    inner: ObjectIndex,
    unwrapped: String,
}

enum Class {
    Aws,
    Azure(crate::azure::AzureShape),
    /// The record is inside an envelope: a string to decode (LookupEvents) or an object.
    Envelope,
    Digest,
    /// Shaped like an audit record but not one (an S3 event notification, an EventBridge
    /// event of another kind): why.
    LookAlike(String),
    Unknown,
}

/// The EventBridge detail types that carry a CloudTrail record.
const CLOUDTRAIL_DETAIL_TYPES: &[&str] = &[
    "AWS API Call via CloudTrail",
    "AWS Console Sign In via CloudTrail",
    "AWS Console Action via CloudTrail",
    "AWS Service Event via CloudTrail",
    "AWS Insight via CloudTrail",
];

fn classify(obj: &Indexed<'_>) -> Class {
    if obj.get("eventVersion").is_some()
        || (obj.get("eventName").is_some() && obj.get("eventSource").is_some())
    {
        // S3, SQS and SNS notifications to Lambda say `"eventSource": "aws:s3"`; CloudTrail
        // names the service's endpoint (`s3.amazonaws.com`).
        return match obj.str("eventSource") {
            Some(src) if src.starts_with("aws:") => Class::LookAlike(format!(
                "an event notification (eventSource {src:?}), not a CloudTrail audit record"
            )),
            _ => Class::Aws,
        };
    }
    if obj.get("CloudTrailEvent").is_some() {
        return Class::Envelope;
    }
    if obj.get("detail-type").is_some() && obj.get("detail").is_some() {
        return match obj.str("detail-type") {
            Some(t) if !CLOUDTRAIL_DETAIL_TYPES.contains(&t.as_ref()) => Class::LookAlike(format!(
                "an EventBridge event of detail-type {t:?}, not a CloudTrail record"
            )),
            _ => Class::Envelope,
        };
    }
    if obj.get("digestStartTime").is_some() || obj.get("digestPublicKeyFingerprint").is_some() {
        return Class::Digest;
    }
    match shape_of(obj) {
        Some(s) => Class::Azure(s),
        None => Class::Unknown,
    }
}

/// Reads every record of `input`, calling `on_record` for each event and `on_error` for each
/// problem (the file's name and the reason). Never stops early for bad data.
pub fn read_input(
    input: &Input,
    scratch: &mut ReadScratch,
    on_record: &mut dyn FnMut(&Record<'_>),
    on_error: &mut dyn FnMut(DecodeError),
) -> FileStats {
    match input.open() {
        Ok(r) => read_stream(r, &input.name(), scratch, on_record, on_error),
        Err(e) => {
            on_error(DecodeError {
                file: input.name(),
                reason: format!("cannot open: {e}"),
            });
            FileStats {
                files: 1,
                errors: 1,
                ..FileStats::default()
            }
        }
    }
}

/// [`read_input`] over bytes already in memory (plain JSON), named `name` in messages.
pub fn read_bytes(
    bytes: &[u8],
    name: &str,
    scratch: &mut ReadScratch,
    on_record: &mut dyn FnMut(&Record<'_>),
    on_error: &mut dyn FnMut(DecodeError),
) -> FileStats {
    read_stream(bytes, name, scratch, on_record, on_error)
}

/// Reads a decompressed stream of records.
pub fn read_stream(
    reader: impl std::io::Read,
    name: &str,
    scratch: &mut ReadScratch,
    on_record: &mut dyn FnMut(&Record<'_>),
    on_error: &mut dyn FnMut(DecodeError),
) -> FileStats {
    let mut stats = FileStats {
        files: 1,
        ..FileStats::default()
    };
    let name = name.to_string();
    let mut report = |stats: &mut FileStats, reason: String| {
        stats.errors += 1;
        if stats.errors <= ERRORS_SHOWN_PER_FILE {
            on_error(DecodeError {
                file: name.clone(),
                reason,
            });
        }
    };
    let mut splitter = Splitter::with_buffer(
        reader,
        SplitterOptions::default(),
        std::mem::take(&mut scratch.buffer),
    );
    let mut index = 0u64;
    let mut fatal = false;
    while let Some(item) = splitter.next_record() {
        let bytes = match item {
            Ok(b) => b,
            Err(e) => {
                fatal |= e.is_fatal() || matches!(e, trailwatch_json::SplitError::NotJson { .. });
                report(&mut stats, e.to_string());
                continue;
            }
        };
        index += 1;
        let ReadScratch {
            outer,
            inner,
            unwrapped,
            ..
        } = scratch;
        let obj = outer.build(Raw::new(bytes));
        // A CloudTrail record that says nowhere when it happened is a problem, not an event of
        // 1970: reported with its place, and not read.
        let mut aws = |stats: &mut FileStats, rec: AwsRecord<'_>| {
            if rec.time_ms().is_some() {
                stats.aws_records += 1;
                on_record(&Record::Aws(rec));
            } else {
                stats.unknown_records += 1;
                let id = rec
                    .str("eventID")
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                report(
                    stats,
                    format!("record {index}{id}: no valid eventTime (nor @timestamp, TimeGenerated or EventTime): not read"),
                );
            }
        };
        match classify(&obj) {
            Class::Aws => aws(&mut stats, AwsRecord::new(obj)),
            Class::Azure(shape) => {
                stats.azure_records += 1;
                on_record(&Record::Azure(AzureRecord::new(obj, shape)));
            }
            Class::Digest => stats.digests += 1,
            Class::Envelope => {
                let body = match obj.get("CloudTrailEvent") {
                    Some(s) if s.kind() == Kind::String => {
                        *unwrapped = unescape(&s.bytes()[1..s.bytes().len() - 1]);
                        Raw::new(unwrapped.as_bytes())
                    }
                    Some(_) => Raw::new(b""),
                    None => obj.get("detail").unwrap_or(Raw::new(b"")),
                };
                let inner_obj = inner.build(body);
                if matches!(classify(&inner_obj), Class::Aws) {
                    aws(&mut stats, AwsRecord::new(inner_obj));
                } else {
                    stats.unknown_records += 1;
                    report(
                        &mut stats,
                        format!("record {index}: envelope holds no CloudTrail record"),
                    );
                }
            }
            Class::LookAlike(why) => {
                stats.unknown_records += 1;
                report(&mut stats, format!("record {index}: {why}: not read"));
            }
            Class::Unknown => {
                stats.unknown_records += 1;
                let keys: Vec<String> = obj
                    .iter()
                    .take(6)
                    .map(|(k, _)| k.decode().into_owned())
                    .collect();
                report(
                    &mut stats,
                    format!(
                        "record {index}: not a CloudTrail or Azure Activity Log record (keys: {})",
                        keys.join(", ")
                    ),
                );
            }
        }
    }
    stats.bytes = splitter.bytes_read();
    scratch.buffer = splitter.into_buffer();
    // Read: records came out, or the input was whole and held nothing foreign (an empty
    // `{"Records":[]}` is a fine file; a `package.json` is not a log).
    if stats.records() > 0 || stats.digests > 0 || (!fatal && stats.unknown_records == 0) {
        stats.files_read = 1;
    }
    if stats.errors > ERRORS_SHOWN_PER_FILE {
        on_error(DecodeError {
            file: name,
            reason: format!(
                "{} more problems not shown",
                stats.errors - ERRORS_SHOWN_PER_FILE
            ),
        });
    }
    stats
}
