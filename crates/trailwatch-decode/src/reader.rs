//! Reading one input: split, classify, hand on; report what could not be read.

use crate::aws::AwsRecord;
use crate::azure::{shape_of, AzureRecord, AzureShape};
use crate::entra::{EntraLog, EntraRecord, EntraShape};
use crate::input::Input;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use trailwatch_json::{unescape, Indexed, Kind, ObjectIndex, Raw, Splitter, SplitterOptions};
use trailwatch_model::{Event, FieldSource, Provider};

/// A decoded record of any source family.
#[derive(Clone, Copy)]
pub enum Record<'a> {
    Aws(AwsRecord<'a>),
    Azure(AzureRecord<'a>),
    Entra(EntraRecord<'a>),
}

impl<'a> Record<'a> {
    pub fn provider(&self) -> Provider {
        match self {
            Record::Aws(_) => Provider::Aws,
            Record::Azure(_) => Provider::Azure,
            Record::Entra(_) => Provider::Entra,
        }
    }

    /// The field view rules read.
    pub fn fields(&self) -> &dyn FieldSource {
        match self {
            Record::Aws(r) => r,
            Record::Azure(r) => r,
            Record::Entra(r) => r,
        }
    }

    /// The value rules are indexed by: `eventName` or the Azure operation (Entra rules are
    /// not indexed).
    pub fn index_value(&self) -> Option<Cow<'a, str>> {
        match self {
            Record::Aws(r) => r.event_name(),
            Record::Azure(r) => r.operation().map(Cow::Owned),
            Record::Entra(_) => None,
        }
    }

    pub fn time_ms(&self) -> Option<i64> {
        self.fields().time_ms()
    }

    pub fn event_id(&self) -> String {
        match self {
            Record::Aws(r) => r.event_id(),
            Record::Azure(r) => r.normalize().event_id,
            Record::Entra(r) => r.event_id(),
        }
    }

    pub fn normalize(&self) -> Event {
        match self {
            Record::Aws(r) => r.normalize(),
            Record::Azure(r) => r.normalize(),
            Record::Entra(r) => r.normalize(),
        }
    }

    /// What an alert needs to know of the record, cheaply.
    pub fn facts(&self) -> Facts<'a> {
        match self {
            Record::Aws(r) => r.facts(),
            Record::Azure(r) => Facts::from_event(r.normalize()),
            Record::Entra(r) => Facts::from_event(r.normalize()),
        }
    }

    /// Whether a cloud service, not an identity of the account, made the call (see
    /// [`AwsRecord::is_service_principal`] and [`AzureRecord::is_platform_caller`]; Entra's
    /// sign-ins and audits are all someone's).
    pub fn is_service_principal(&self) -> bool {
        match self {
            Record::Aws(r) => r.is_service_principal(),
            Record::Azure(r) => r.is_platform_caller(),
            Record::Entra(_) => false,
        }
    }

    /// The resources the record names (ARNs, resource ids, request parameters).
    pub fn resources(&self) -> Vec<String> {
        match self {
            Record::Aws(r) => r.resources(),
            Record::Azure(r) => r.resources(),
            Record::Entra(r) => r.normalize().resources,
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
    /// Microsoft Entra ID sign-in and audit records.
    pub entra_records: u64,
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
        self.aws_records + self.azure_records + self.entra_records
    }

    pub fn add(&mut self, o: &FileStats) {
        self.files += o.files;
        self.files_read += o.files_read;
        self.aws_records += o.aws_records;
        self.azure_records += o.azure_records;
        self.entra_records += o.entra_records;
        self.digests += o.digests;
        self.unknown_records += o.unknown_records;
        self.errors += o.errors;
        self.bytes += o.bytes;
    }
}

/// A stable id for a record without one: the hex SHA-256 of its bytes (first 128 bits).
pub(crate) fn content_id(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    trailwatch_model::hex::encode(&d[..16])
}

/// Errors reported per input before the rest are only counted.
const ERRORS_SHOWN_PER_FILE: u64 = 5;

/// Scratch space a worker reuses across records and files.
pub struct ReadScratch {
    buffer: Vec<u8>,
    outer: ObjectIndex,
    inner: ObjectIndex,
    unwrapped: String,
}

/// The objects of a record whose entries are indexed: the two that rules, alerts and chains
/// look into for nearly every record. Lookups into any other (`responseElements`, Azure's
/// `properties`) scan it when asked, instead of every record paying a second scan of it.
const NESTED_INDEXED: &[&str] = &["userIdentity", "requestParameters"];

impl Default for ReadScratch {
    fn default() -> Self {
        ReadScratch {
            buffer: Vec::new(),
            outer: ObjectIndex::nested_only(NESTED_INDEXED),
            inner: ObjectIndex::nested_only(NESTED_INDEXED),
            unwrapped: String::new(),
        }
    }
}

enum Class {
    Aws,
    Azure(AzureShape),
    Entra(EntraShape, EntraLog),
    /// The record is inside an envelope: a string to decode (LookupEvents) or an object.
    Envelope,
    Digest,
    /// Shaped like an audit record but not one (an S3 event notification, an EventBridge
    /// event of another kind): why.
    LookAlike(String),
    /// A Log Analytics query API answer (`{"tables": [...]}`).
    Tables,
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
    if obj.get("tables").is_some_and(|t| t.kind() == Kind::Array) {
        return Class::Tables;
    }
    if obj.get("digestStartTime").is_some() || obj.get("digestPublicKeyFingerprint").is_some() {
        return Class::Digest;
    }
    if let Some((shape, log)) = crate::entra::classify(obj) {
        return Class::Entra(shape, log);
    }
    if obj.str("Type").as_deref() == Some(crate::sentinel::AZURE_ACTIVITY) {
        return Class::Azure(AzureShape::LogAnalytics);
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

/// Reads a decompressed stream of records: JSON in any of its shapes, or a CSV export of a
/// Log Analytics table (see [`crate::sentinel`]).
pub fn read_stream(
    reader: impl std::io::Read,
    name: &str,
    scratch: &mut ReadScratch,
    on_record: &mut dyn FnMut(&Record<'_>),
    on_error: &mut dyn FnMut(DecodeError),
) -> FileStats {
    let mut reader = std::io::BufReader::with_capacity(64 << 10, reader);
    // The first bytes say which reader: a CSV export's header, or JSON.
    let csv_header = {
        use std::io::BufRead;
        reader.fill_buf().map(table_csv_header)
    };
    let mut sink = Sink {
        stats: FileStats {
            files: 1,
            ..FileStats::default()
        },
        name,
        on_record,
        on_error,
        fatal: false,
    };
    match csv_header {
        Ok(true) => read_csv(reader, scratch, &mut sink),
        Ok(false) => read_json(reader, scratch, &mut sink),
        // A corrupt gzip fails at its first bytes.
        Err(source) => {
            sink.fatal = true;
            let e = trailwatch_json::SplitError::Io { offset: 0, source };
            sink.report(e.to_string());
        }
    }
    sink.finish()
}

/// Whether the start of a stream is the header line of a CSV export of a Log Analytics table
/// (not JSON, and naming a table's columns or at least `TimeGenerated`).
fn table_csv_header(start: &[u8]) -> bool {
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    let Some(first) = start.iter().find(|b| !b.is_ascii_whitespace()) else {
        return false;
    };
    if matches!(first, b'{' | b'[') {
        return false;
    }
    let line = start.split(|&b| b == b'\n').next().unwrap_or_default();
    let header = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line)
        .records()
        .next();
    match header {
        Some(Ok(names)) => crate::sentinel::is_table_export(&names.iter().collect::<Vec<_>>()),
        _ => false,
    }
}

/// Where a record is in its input, for messages.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// The n-th record of a JSON input.
    Record(u64),
    /// The n-th row of a CSV export.
    Row(u64),
    /// A row of a table of a Log Analytics query answer (the n-th record of its input).
    TableRow {
        record: u64,
        table: usize,
        row: usize,
    },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Record(n) => write!(f, "record {n}"),
            Place::Row(n) => write!(f, "row {n}"),
            Place::TableRow { record, table, row } => {
                write!(f, "record {record}, table {table}, row {row}")
            }
        }
    }
}

/// Where a stream's records and problems go, with the counts.
struct Sink<'s> {
    stats: FileStats,
    name: &'s str,
    on_record: &'s mut dyn FnMut(&Record<'_>),
    on_error: &'s mut dyn FnMut(DecodeError),
    /// Whether the input was cut short or is not JSON at all.
    fatal: bool,
}

impl Sink<'_> {
    /// A problem, shown for the first few of a file and counted for all.
    fn report(&mut self, reason: String) {
        self.stats.errors += 1;
        if self.stats.errors <= ERRORS_SHOWN_PER_FILE {
            (self.on_error)(DecodeError {
                file: self.name.to_string(),
                reason,
            });
        }
    }

    /// A record that is not an event, and why.
    fn not_read(&mut self, reason: String) {
        self.stats.unknown_records += 1;
        self.report(reason);
    }

    fn finish(mut self) -> FileStats {
        let stats = &mut self.stats;
        // Read: records came out, or the input was whole and held nothing foreign (an empty
        // `{"Records":[]}` is a fine file; a `package.json` is not a log).
        if stats.records() > 0 || stats.digests > 0 || (!self.fatal && stats.unknown_records == 0) {
            stats.files_read = 1;
        }
        if stats.errors > ERRORS_SHOWN_PER_FILE {
            (self.on_error)(DecodeError {
                file: self.name.to_string(),
                reason: format!(
                    "{} more problems not shown",
                    stats.errors - ERRORS_SHOWN_PER_FILE
                ),
            });
        }
        self.stats
    }
}

fn read_json(reader: impl std::io::Read, scratch: &mut ReadScratch, sink: &mut Sink<'_>) {
    let mut splitter = Splitter::with_buffer(
        reader,
        SplitterOptions::default(),
        std::mem::take(&mut scratch.buffer),
    );
    let mut index = 0u64;
    while let Some(item) = splitter.next_record() {
        match item {
            Ok(bytes) => {
                index += 1;
                read_record(bytes, Place::Record(index), scratch, sink);
            }
            Err(e) => {
                sink.fatal |=
                    e.is_fatal() || matches!(e, trailwatch_json::SplitError::NotJson { .. });
                sink.report(e.to_string());
            }
        }
    }
    sink.stats.bytes = splitter.bytes_read();
    scratch.buffer = splitter.into_buffer();
}

fn read_csv(reader: impl std::io::Read, scratch: &mut ReadScratch, sink: &mut Sink<'_>) {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let layout = match csv.headers() {
        Ok(h) => crate::sentinel::TableLayout::new(&h.iter().collect::<Vec<_>>(), None),
        Err(e) => Err(crate::sentinel::LayoutError(e.to_string())),
    };
    let layout = match layout {
        Ok(l) => l,
        Err(e) => {
            sink.fatal = true;
            sink.report(format!("Log Analytics CSV export: {}: not read", e.0));
            return;
        }
    };
    let mut row = csv::StringRecord::new();
    let mut index = 0u64;
    loop {
        match csv.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                index += 1;
                let cells = row.iter().map(crate::sentinel::Cell::Text);
                match layout.record(cells) {
                    Ok(json) => read_record(json.as_bytes(), Place::Row(index), scratch, sink),
                    Err(why) => sink.not_read(format!(
                        "{} CSV export, row {index}: {why}: not read",
                        layout.name()
                    )),
                }
            }
            Err(e) => {
                index += 1;
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                sink.not_read(format!("row {index}: {e}: not read"));
                if fatal {
                    sink.fatal = true;
                    break;
                }
            }
        }
    }
    sink.stats.bytes = csv.position().byte();
}

/// One record's bytes: classified and handed on, or reported.
fn read_record(bytes: &[u8], place: Place, scratch: &mut ReadScratch, sink: &mut Sink<'_>) {
    let ReadScratch {
        outer,
        inner,
        unwrapped,
        ..
    } = scratch;
    let obj = outer.build(Raw::new(bytes));
    match classify(&obj) {
        Class::Aws => read_aws(AwsRecord::new(obj), place, sink),
        Class::Azure(shape) => read_azure(AzureRecord::new(obj, shape), place, sink),
        Class::Entra(shape, log) => read_entra(EntraRecord::new(obj, shape, log), place, sink),
        Class::Digest => sink.stats.digests += 1,
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
                read_aws(AwsRecord::new(inner_obj), place, sink);
            } else {
                sink.not_read(format!("{place}: envelope holds no CloudTrail record"));
            }
        }
        Class::Tables => match place {
            Place::Record(index) => read_query_api(bytes, index, scratch, sink),
            _ => sink.not_read(format!("{place}: a query answer inside a table: not read")),
        },
        Class::LookAlike(why) => sink.not_read(format!("{place}: {why}: not read")),
        Class::Unknown => {
            let keys: Vec<String> = obj
                .iter()
                .take(6)
                .map(|(k, _)| k.decode().into_owned())
                .collect();
            sink.not_read(format!(
                "{place}: not a CloudTrail or Azure (Activity Log, Entra ID sign-in or audit) \
                 record (keys: {})",
                keys.join(", ")
            ));
        }
    }
}

/// A CloudTrail record that says nowhere when it happened is a problem, not an event of 1970:
/// reported with its place, and not read.
fn read_aws(rec: AwsRecord<'_>, place: Place, sink: &mut Sink<'_>) {
    if rec.time_ms().is_some() {
        sink.stats.aws_records += 1;
        (sink.on_record)(&Record::Aws(rec));
        return;
    }
    let id = rec
        .str("eventID")
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    sink.not_read(format!(
        "{place}{id}: no valid eventTime (nor @timestamp, TimeGenerated or EventTime): not read"
    ));
}

/// An Activity Log record without a time: reported with its place, and not read.
fn read_azure(rec: AzureRecord<'_>, place: Place, sink: &mut Sink<'_>) {
    if rec.time_ms().is_some() {
        sink.stats.azure_records += 1;
        (sink.on_record)(&Record::Azure(rec));
        return;
    }
    sink.not_read(format!(
        "{place}: Azure Activity Log record without a valid eventTimestamp, time or \
         TimeGenerated: not read"
    ));
}

/// An Entra ID record without a time: reported with its place, and not read.
fn read_entra(rec: EntraRecord<'_>, place: Place, sink: &mut Sink<'_>) {
    if rec.time_ms().is_some() {
        sink.stats.entra_records += 1;
        (sink.on_record)(&Record::Entra(rec));
        return;
    }
    let id = rec
        .text("id")
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let what = if rec.log().is_sign_in() {
        "sign-in"
    } else {
        "audit"
    };
    sink.not_read(format!(
        "{place}{id}: Entra ID {what} record without a valid createdDateTime, \
         activityDateTime, time or TimeGenerated: not read"
    ));
}

/// A Log Analytics query API answer: the rows of each table it holds, read as the records of
/// that table; a table of no known columns is reported as a whole.
fn read_query_api(bytes: &[u8], index: u64, scratch: &mut ReadScratch, sink: &mut Sink<'_>) {
    let rows = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|doc| crate::sentinel::query_api_records(&doc));
    let Some(rows) = rows else {
        sink.not_read(format!(
            "record {index}: a Log Analytics query answer that is not JSON with a tables array: not read"
        ));
        return;
    };
    for r in rows {
        match (r.record, r.row) {
            (Ok(json), Some(row)) => {
                let place = Place::TableRow {
                    record: index,
                    table: r.table,
                    row,
                };
                read_record(json.as_bytes(), place, scratch, sink);
            }
            (Ok(_), None) => {}
            (Err(why), Some(row)) => sink.not_read(format!(
                "record {index}, table {}, row {row}: {why}: not read",
                r.table
            )),
            (Err(why), None) => sink.not_read(format!(
                "record {index}, table {}: {why}: not read",
                r.table
            )),
        }
    }
}
