//! The columns of the store's Parquet files and turning events into Arrow record batches.
//!
//! `provider` and `dt` are not columns of the files: they are the Hive partition keys of the
//! path (`provider=aws/dt=2024-01-31/…`), as Hive, Athena, Trino, Spark and DuckDB expect.

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, BooleanBuilder, ListBuilder, RecordBatch, StringBuilder, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use trailwatch_model::{Event, Outcome};

pub const COL_TIME: &str = "time";
pub const COL_ACCOUNT: &str = "account";
pub const COL_REGION: &str = "region";
pub const COL_PRINCIPAL_TYPE: &str = "principal_type";
pub const COL_PRINCIPAL_ID: &str = "principal_id";
/// [`trailwatch_model::Principal::label`]: name, else id, else `unknown`.
pub const COL_PRINCIPAL: &str = "principal";
/// [`trailwatch_model::Principal::name`]: the ARN (AWS) or UPN / app id (Azure).
pub const COL_PRINCIPAL_ARN: &str = "principal_arn";
pub const COL_ACCESS_KEY: &str = "access_key";
pub const COL_MFA: &str = "mfa";
pub const COL_SESSION_ISSUER: &str = "session_issuer";
pub const COL_SOURCE_IP: &str = "source_ip";
pub const COL_USER_AGENT: &str = "user_agent";
pub const COL_SERVICE: &str = "service";
pub const COL_ACTION: &str = "action";
pub const COL_READ_ONLY: &str = "read_only";
/// `success`, `failure` or `pending`.
pub const COL_OUTCOME: &str = "outcome";
pub const COL_ERROR_CODE: &str = "error_code";
pub const COL_RESOURCES: &str = "resources";
pub const COL_EVENT_ID: &str = "event_id";
/// The record's JSON as it was read.
pub const COL_RAW: &str = "raw";

/// Partition key of the path: `aws`, `azure` or `entra` ([`trailwatch_model::Provider::as_str`]).
pub const PART_PROVIDER: &str = "provider";
/// Partition key of the path: the UTC day `YYYY-MM-DD`.
pub const PART_DT: &str = "dt";

/// Every column, in file order.
pub const COLUMNS: [&str; 20] = [
    COL_TIME,
    COL_ACCOUNT,
    COL_REGION,
    COL_PRINCIPAL_TYPE,
    COL_PRINCIPAL_ID,
    COL_PRINCIPAL,
    COL_PRINCIPAL_ARN,
    COL_ACCESS_KEY,
    COL_MFA,
    COL_SESSION_ISSUER,
    COL_SOURCE_IP,
    COL_USER_AGENT,
    COL_SERVICE,
    COL_ACTION,
    COL_READ_ONLY,
    COL_OUTCOME,
    COL_ERROR_CODE,
    COL_RESOURCES,
    COL_EVENT_ID,
    COL_RAW,
];

/// The time zone of the `time` column.
pub const TIME_ZONE: &str = "UTC";

/// The schema of every data file of the store.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let s = |name: &str| Field::new(name, DataType::Utf8, true);
            let b = |name: &str| Field::new(name, DataType::Boolean, true);
            Arc::new(Schema::new(vec![
                Field::new(
                    COL_TIME,
                    DataType::Timestamp(TimeUnit::Millisecond, Some(TIME_ZONE.into())),
                    false,
                ),
                s(COL_ACCOUNT),
                s(COL_REGION),
                s(COL_PRINCIPAL_TYPE),
                s(COL_PRINCIPAL_ID),
                s(COL_PRINCIPAL),
                s(COL_PRINCIPAL_ARN),
                s(COL_ACCESS_KEY),
                b(COL_MFA),
                s(COL_SESSION_ISSUER),
                s(COL_SOURCE_IP),
                s(COL_USER_AGENT),
                s(COL_SERVICE),
                Field::new(COL_ACTION, DataType::Utf8, false),
                b(COL_READ_ONLY),
                Field::new(COL_OUTCOME, DataType::Utf8, false),
                s(COL_ERROR_CODE),
                Field::new(
                    COL_RESOURCES,
                    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                    true,
                ),
                Field::new(COL_EVENT_ID, DataType::Utf8, false),
                Field::new(COL_RAW, DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// The index of a column in [`schema`].
pub fn column_index(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|c| *c == name)
}

/// The `outcome` column's value.
pub fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Pending => "pending",
    }
}

/// One record batch of `events`, in the order given.
pub fn to_record_batch(events: &[Event]) -> Result<RecordBatch, ArrowError> {
    to_record_batch_of(&events.iter().collect::<Vec<_>>())
}

/// [`to_record_batch`] over borrowed events, in the order given (no event is moved or copied).
pub fn to_record_batch_of(events: &[&Event]) -> Result<RecordBatch, ArrowError> {
    let n = events.len();
    let strings = || StringBuilder::with_capacity(n, n * 16);
    let (mut account, mut region, mut ptype, mut pid, mut principal, mut parn) = (
        strings(),
        strings(),
        strings(),
        strings(),
        strings(),
        strings(),
    );
    let (mut akey, mut issuer, mut ip, mut ua, mut service, mut action) = (
        strings(),
        strings(),
        strings(),
        strings(),
        strings(),
        strings(),
    );
    let (mut outcome, mut error_code, mut event_id) = (strings(), strings(), strings());
    let raw_bytes: usize = events.iter().map(|e| e.raw.len()).sum();
    let mut raw = StringBuilder::with_capacity(n, raw_bytes);
    let mut mfa = BooleanBuilder::with_capacity(n);
    let mut read_only = BooleanBuilder::with_capacity(n);
    let mut resources = ListBuilder::new(StringBuilder::new());
    let mut time = Vec::with_capacity(n);
    for e in events {
        time.push(e.time_ms);
        account.append_option(e.account.as_deref());
        region.append_option(e.region.as_deref());
        ptype.append_option(e.principal.kind.as_deref());
        pid.append_option(e.principal.id.as_deref());
        principal.append_value(e.principal.label());
        parn.append_option(e.principal.name.as_deref());
        akey.append_option(e.principal.access_key.as_deref());
        mfa.append_option(e.principal.mfa);
        issuer.append_option(e.principal.session_issuer.as_deref());
        ip.append_option(e.source_ip.as_deref());
        ua.append_option(e.user_agent.as_deref());
        service.append_option(e.service.as_deref());
        action.append_value(&e.action);
        read_only.append_option(e.read_only);
        outcome.append_value(outcome_str(e.outcome));
        error_code.append_option(e.error_code.as_deref());
        for r in &e.resources {
            resources.values().append_value(r);
        }
        resources.append(true);
        event_id.append_value(&e.event_id);
        raw.append_value(&e.raw);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMillisecondArray::from(time).with_timezone(TIME_ZONE)),
        Arc::new(account.finish()),
        Arc::new(region.finish()),
        Arc::new(ptype.finish()),
        Arc::new(pid.finish()),
        Arc::new(principal.finish()),
        Arc::new(parn.finish()),
        Arc::new(akey.finish()),
        Arc::new(mfa.finish()),
        Arc::new(issuer.finish()),
        Arc::new(ip.finish()),
        Arc::new(ua.finish()),
        Arc::new(service.finish()),
        Arc::new(action.finish()),
        Arc::new(read_only.finish()),
        Arc::new(outcome.finish()),
        Arc::new(error_code.finish()),
        Arc::new(resources.finish()),
        Arc::new(event_id.finish()),
        Arc::new(raw.finish()),
    ];
    RecordBatch::try_new(schema(), columns)
}
