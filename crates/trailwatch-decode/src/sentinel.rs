//! Log Analytics tables as people export them: the portal's CSV (a header of column names,
//! `TimeGenerated [UTC]` with times such as `11/30/2026, 10:15:02.123 AM`, dynamic columns as
//! JSON text) and the query API's `{"tables": [{"columns": [...], "rows": [...]}]}`. One reader
//! of each serves every table trailwatch knows, told apart by their columns ([`TableLayout`]):
//!
//! - the Microsoft Sentinel `AWSCloudTrail` table: each row is rebuilt as the CloudTrail record
//!   it came from (`EventName` → `eventName`, `UserIdentityArn` → `userIdentity.arn`,
//!   `RequestParameters` parsed back into an object, …), so that every rule, chain and report
//!   reads it as it reads a record from S3;
//! - the Azure tables `AzureActivity`, `SigninLogs` (and `AADNonInteractiveUserSignInLogs`,
//!   `AADServicePrincipalSignInLogs`, `AADManagedIdentitySignInLogs`) and `AuditLogs`: each row
//!   becomes a JSON object of its columns (times in RFC 3339, `dynamic` columns that arrive as
//!   JSON text parsed back into objects, a `Type` column naming the table when the export left
//!   it out), read as the Log Analytics shape of the Activity Log or Entra ID record.
//!
//! A table of other columns is refused with the columns it has. A row whose `TimeGenerated`
//! cannot be read is reported with its number and not read; a file whose times are in local
//! time (the portal's `[Local Time]` header) is refused as a whole, since no offset says which
//! instant they name.

use serde_json::{Map, Value};

/// Where a column of the table goes in the CloudTrail record: a path of keys.
const COLUMNS: &[(&str, &[&str])] = &[
    ("EventName", &["eventName"]),
    ("EventSource", &["eventSource"]),
    ("AWSRegion", &["awsRegion"]),
    ("SourceIpAddress", &["sourceIPAddress"]),
    ("UserAgent", &["userAgent"]),
    ("ErrorCode", &["errorCode"]),
    ("ErrorMessage", &["errorMessage"]),
    ("AwsEventId", &["eventID"]),
    ("AwsRequestId_", &["requestID"]),
    ("AwsRequestId", &["requestID"]),
    ("EventTypeName", &["eventType"]),
    ("EventVersion", &["eventVersion"]),
    ("APIVersion", &["apiVersion"]),
    ("ReadOnly", &["readOnly"]),
    ("ManagementEvent", &["managementEvent"]),
    ("RecipientAccountId", &["recipientAccountId"]),
    ("SharedEventId", &["sharedEventID"]),
    ("VpcEndpointId", &["vpcEndpointId"]),
    ("Category", &["eventCategory"]),
    ("RequestParameters", &["requestParameters"]),
    ("ResponseElements", &["responseElements"]),
    ("AdditionalEventData", &["additionalEventData"]),
    ("Resources", &["resources"]),
    ("ServiceEventDetails", &["serviceEventDetails"]),
    ("TlsVersion", &["tlsDetails", "tlsVersion"]),
    ("CipherSuite", &["tlsDetails", "cipherSuite"]),
    (
        "ClientProvidedHostHeader",
        &["tlsDetails", "clientProvidedHostHeader"],
    ),
    ("UserIdentityType", &["userIdentity", "type"]),
    ("UserIdentityPrincipalid", &["userIdentity", "principalId"]),
    ("UserIdentityArn", &["userIdentity", "arn"]),
    ("UserIdentityAccountId", &["userIdentity", "accountId"]),
    ("UserIdentityAccessKeyId", &["userIdentity", "accessKeyId"]),
    ("UserIdentityUserName", &["userIdentity", "userName"]),
    ("UserIdentityInvokedBy", &["userIdentity", "invokedBy"]),
    (
        "SessionIssuerType",
        &["userIdentity", "sessionContext", "sessionIssuer", "type"],
    ),
    (
        "SessionIssuerPrincipalId",
        &[
            "userIdentity",
            "sessionContext",
            "sessionIssuer",
            "principalId",
        ],
    ),
    (
        "SessionIssuerArn",
        &["userIdentity", "sessionContext", "sessionIssuer", "arn"],
    ),
    (
        "SessionIssuerAccountId",
        &[
            "userIdentity",
            "sessionContext",
            "sessionIssuer",
            "accountId",
        ],
    ),
    (
        "SessionIssuerUserName",
        &[
            "userIdentity",
            "sessionContext",
            "sessionIssuer",
            "userName",
        ],
    ),
    (
        "SessionMfaAuthenticated",
        &[
            "userIdentity",
            "sessionContext",
            "attributes",
            "mfaAuthenticated",
        ],
    ),
    (
        "SessionCreationDate",
        &[
            "userIdentity",
            "sessionContext",
            "attributes",
            "creationDate",
        ],
    ),
];

/// Columns holding JSON text (Log Analytics `dynamic` columns).
const JSON_COLUMNS: &[&str] = &[
    "RequestParameters",
    "ResponseElements",
    "AdditionalEventData",
    "Resources",
    "ServiceEventDetails",
];

/// Columns CloudTrail writes as booleans.
const BOOL_COLUMNS: &[&str] = &["ReadOnly", "ManagementEvent"];

/// Columns CloudTrail writes as the text `"true"`/`"false"`.
const TEXT_BOOL_COLUMNS: &[&str] = &["SessionMfaAuthenticated"];

/// What a column of an exported table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Time,
    Mapped(usize),
    Ignored,
}

/// The columns of an `AWSCloudTrail` export, resolved once from its header.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    columns: Vec<Column>,
}

/// Why an export cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayoutError(pub String);

impl Layout {
    /// Whether a header names the columns of the `AWSCloudTrail` table (both `EventName` and
    /// `EventSource`, with a time column).
    pub(crate) fn is_cloudtrail_table<S: AsRef<str>>(names: &[S]) -> bool {
        let has = |want: &str| {
            names
                .iter()
                .any(|n| base_name(n.as_ref()).eq_ignore_ascii_case(want))
        };
        has("EventName") && has("EventSource") && has("TimeGenerated")
    }

    /// The layout of a header.
    pub(crate) fn new<S: AsRef<str>>(names: &[S]) -> Result<Layout, LayoutError> {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref().trim();
            let base = base_name(name);
            if base.eq_ignore_ascii_case("TimeGenerated") {
                let zone = name[base.len()..].trim();
                if !zone.is_empty() && !zone.eq_ignore_ascii_case("[UTC]") {
                    return Err(LayoutError(format!(
                        "column {name:?} holds times without an offset; export with times in UTC"
                    )));
                }
                columns.push(Column::Time);
                continue;
            }
            let at = COLUMNS
                .iter()
                .position(|(c, _)| c.eq_ignore_ascii_case(base));
            columns.push(at.map_or(Column::Ignored, Column::Mapped));
        }
        Ok(Layout { columns })
    }

    /// The CloudTrail record a row stands for, as JSON text; `Err` says why it cannot be read.
    pub(crate) fn record<'c>(
        &self,
        cells: impl IntoIterator<Item = Cell<'c>>,
    ) -> Result<String, String> {
        let mut rec = Map::new();
        let mut time = None;
        for (column, cell) in self.columns.iter().zip(cells) {
            match column {
                Column::Time => time = Some(cell),
                Column::Mapped(i) => {
                    let (name, path) = COLUMNS[*i];
                    if let Some(v) = value_of(name, cell) {
                        // The first of two columns for one field wins (`AwsRequestId_`).
                        insert_at(&mut rec, path, v);
                    }
                }
                Column::Ignored => {}
            }
        }
        let time = time.filter(|c| !c.is_empty()).ok_or("no TimeGenerated")?;
        let text = time.text();
        let iso = parse_export_time(&text)
            .ok_or_else(|| format!("TimeGenerated {text:?} is not a time"))?;
        rec.insert("eventTime".into(), Value::String(iso));
        Ok(Value::Object(rec).to_string())
    }
}

/// A cell of a row: CSV text, or a JSON value of the query API.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'c> {
    Text(&'c str),
    Json(&'c Value),
}

impl Cell<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Cell::Text(s) => s.trim().is_empty(),
            Cell::Json(Value::Null) => true,
            Cell::Json(Value::String(s)) => s.trim().is_empty(),
            Cell::Json(_) => false,
        }
    }

    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.trim().to_string(),
            Cell::Json(Value::String(s)) => s.trim().to_string(),
            Cell::Json(v) => v.to_string(),
        }
    }
}

/// A column name without the portal's unit suffix (`TimeGenerated [UTC]`).
fn base_name(name: &str) -> &str {
    let name = name.trim();
    match name.find(" [") {
        Some(i) => &name[..i],
        None => name,
    }
}

fn value_of(column: &str, cell: Cell<'_>) -> Option<Value> {
    if cell.is_empty() {
        return None;
    }
    if JSON_COLUMNS.contains(&column) {
        return Some(match cell {
            Cell::Json(v @ (Value::Object(_) | Value::Array(_))) => v.clone(),
            // JSON text; kept as text when it is not JSON, rather than lost.
            c => {
                let t = c.text();
                serde_json::from_str::<Value>(&t).unwrap_or(Value::String(t))
            }
        });
    }
    let text = cell.text();
    if BOOL_COLUMNS.contains(&column) {
        return Some(match text.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text),
        });
    }
    if TEXT_BOOL_COLUMNS.contains(&column) {
        return Some(Value::String(text.to_ascii_lowercase()));
    }
    Some(Value::String(text))
}

fn insert_at(rec: &mut Map<String, Value>, path: &[&str], v: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut obj = rec;
    for p in parents {
        let slot = obj
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(next) = slot else {
            return;
        };
        obj = next;
    }
    obj.entry(last.to_string()).or_insert(v);
}

/// A time as the table's exports write it, as RFC 3339 in UTC: ISO 8601 (the query API,
/// `2026-11-30T10:15:02.1234567Z`) or the portal's `M/D/YYYY, h:mm:ss[.fff] AM|PM` (also in
/// 24-hour form without AM/PM).
pub(crate) fn parse_export_time(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(ms) = crate::time::parse_ms(s) {
        return Some(crate::time::format_ms(ms));
    }
    let (date, clock) = s.split_once([',', ' '])?;
    let mut d = date.trim().split('/');
    let (mo, day, year) = (
        d.next()?.parse::<u32>().ok()?,
        d.next()?.parse::<u32>().ok()?,
        d.next()?.parse::<i32>().ok()?,
    );
    if d.next().is_some() {
        return None;
    }
    let clock = clock.trim();
    let (clock, meridiem) = match clock.rsplit_once(' ') {
        Some((c, m)) if m.eq_ignore_ascii_case("AM") || m.eq_ignore_ascii_case("PM") => {
            (c.trim(), Some(m.eq_ignore_ascii_case("PM")))
        }
        _ => (clock, None),
    };
    let mut parts = clock.split(':');
    let (h, mi, sec) = (
        parts.next()?.parse::<u32>().ok()?,
        parts.next()?.parse::<u32>().ok()?,
        parts.next()?,
    );
    if parts.next().is_some() {
        return None;
    }
    let (sec, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let sec = sec.parse::<u32>().ok()?;
    let millis = match frac {
        "" => 0,
        f if f.bytes().all(|b| b.is_ascii_digit()) => {
            let f3: String = f.chars().chain("000".chars()).take(3).collect();
            f3.parse::<u32>().ok()?
        }
        _ => return None,
    };
    let h = match meridiem {
        Some(pm) if (1..=12).contains(&h) => h % 12 + if pm { 12 } else { 0 },
        Some(_) => return None,
        None => h,
    };
    let date = chrono::NaiveDate::from_ymd_opt(year, mo, day)?;
    let t = date.and_hms_milli_opt(h, mi, sec, millis)?;
    Some(crate::time::format_ms(t.and_utc().timestamp_millis()))
}

/// The Azure tables trailwatch reads, as the `Type` their rows carry.
pub(crate) const AZURE_ACTIVITY: &str = "AzureActivity";

/// What a table's columns say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TableKind {
    CloudTrail,
    AzureActivity,
    SignIns,
    AuditLogs,
}

fn table_kind<S: AsRef<str>>(names: &[S]) -> Option<TableKind> {
    let has = |want: &str| {
        names
            .iter()
            .any(|n| base_name(n.as_ref()).eq_ignore_ascii_case(want))
    };
    let any = |wants: &[&str]| wants.iter().any(|w| has(w));
    if Layout::is_cloudtrail_table(names) {
        return Some(TableKind::CloudTrail);
    }
    if has("ResultType") && any(&["UserPrincipalName", "AppId", "ServicePrincipalId"]) {
        return Some(TableKind::SignIns);
    }
    if has("ActivityDisplayName")
        || (has("OperationName") && any(&["InitiatedBy", "TargetResources", "LoggedByService"]))
    {
        return Some(TableKind::AuditLogs);
    }
    let activity = has("OperationNameValue")
        || (has("OperationName")
            && any(&[
                "ActivityStatusValue",
                "ActivityStatus",
                "ResourceProviderValue",
                "CategoryValue",
                "Caller",
            ]));
    activity.then_some(TableKind::AzureActivity)
}

/// Whether a header names a table trailwatch reads, or is at least a Log Analytics export
/// (a `TimeGenerated` column) that [`TableLayout::new`] is to refuse with a reason.
pub(crate) fn is_table_export<S: AsRef<str>>(names: &[S]) -> bool {
    table_kind(names).is_some()
        || names
            .iter()
            .any(|n| base_name(n.as_ref()).eq_ignore_ascii_case("TimeGenerated"))
}

/// How to read one column of an Azure table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AzureColumn {
    /// A `datetime` column: written back in RFC 3339.
    Time,
    /// A `dynamic` column: JSON text parsed back (also any CSV cell that is a JSON object or
    /// array, since a CSV header has no types).
    Dynamic,
    /// Kept as it is.
    Plain,
}

/// The columns of an Azure table export, resolved once from its header.
#[derive(Debug, Clone)]
pub(crate) struct AzureLayout {
    kind: TableKind,
    names: Vec<String>,
    columns: Vec<AzureColumn>,
    /// The table, written as `Type` when no column says it.
    table: Option<&'static str>,
}

impl AzureLayout {
    fn new<S: AsRef<str>>(
        names: &[S],
        types: Option<&[&str]>,
        kind: TableKind,
    ) -> Result<Self, LayoutError> {
        let mut out = AzureLayout {
            kind,
            names: Vec::with_capacity(names.len()),
            columns: Vec::with_capacity(names.len()),
            table: None,
        };
        for (i, name) in names.iter().enumerate() {
            let name = name.as_ref().trim();
            let base = base_name(name);
            let zone = name[base.len()..].trim();
            if !zone.is_empty() && !zone.eq_ignore_ascii_case("[UTC]") {
                return Err(LayoutError(format!(
                    "column {name:?} holds times without an offset; export with times in UTC"
                )));
            }
            let ty = types.and_then(|t| t.get(i)).copied().unwrap_or("");
            let column = if !zone.is_empty()
                || ty.eq_ignore_ascii_case("datetime")
                || base.eq_ignore_ascii_case("TimeGenerated")
            {
                AzureColumn::Time
            } else if ty.eq_ignore_ascii_case("dynamic") || types.is_none() {
                AzureColumn::Dynamic
            } else {
                AzureColumn::Plain
            };
            out.names.push(base.to_string());
            out.columns.push(column);
        }
        let has = |n: &str| out.names.iter().any(|c| c.eq_ignore_ascii_case(n));
        // A sign-in row's `Category` names its log as well as `Type` does.
        let named = has("Type") || (kind == TableKind::SignIns && has("Category"));
        if !named {
            out.table = Some(match kind {
                TableKind::AzureActivity => AZURE_ACTIVITY,
                TableKind::AuditLogs => "AuditLogs",
                _ if has("UserPrincipalName") => "SigninLogs",
                _ => "AADServicePrincipalSignInLogs",
            });
        }
        Ok(out)
    }

    /// The record a row stands for, as JSON text; `Err` says why it cannot be read.
    fn record<'c>(&self, cells: impl IntoIterator<Item = Cell<'c>>) -> Result<String, String> {
        let mut rec = Map::new();
        for ((name, column), cell) in self.names.iter().zip(&self.columns).zip(cells) {
            if cell.is_empty() {
                continue;
            }
            let value = match column {
                AzureColumn::Time => match parse_export_time(&cell.text()) {
                    Some(iso) => Value::String(iso),
                    None if name.eq_ignore_ascii_case("TimeGenerated") => {
                        return Err(format!("TimeGenerated {:?} is not a time", cell.text()));
                    }
                    None => Value::String(cell.text()),
                },
                AzureColumn::Dynamic => dynamic_value(cell),
                AzureColumn::Plain => match cell {
                    Cell::Json(v) => v.clone(),
                    Cell::Text(t) => Value::String(t.to_string()),
                },
            };
            rec.entry(name.clone()).or_insert(value);
        }
        if let Some(table) = self.table {
            rec.insert("Type".into(), Value::String(table.into()));
        }
        Ok(Value::Object(rec).to_string())
    }
}

/// A `dynamic` cell: its object or array, or the JSON text it holds parsed back; any other
/// text as it is.
fn dynamic_value(cell: Cell<'_>) -> Value {
    let text = match cell {
        Cell::Json(v @ (Value::Object(_) | Value::Array(_))) => return v.clone(),
        Cell::Json(Value::String(s)) => s.as_str(),
        Cell::Json(v) => return v.clone(),
        Cell::Text(t) => t,
    };
    let t = text.trim();
    let json_like =
        (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']'));
    match json_like.then(|| serde_json::from_str::<Value>(t)) {
        Some(Ok(v)) => v,
        _ => Value::String(text.to_string()),
    }
}

/// A Log Analytics table export, read by its columns.
#[derive(Debug, Clone)]
pub(crate) enum TableLayout {
    CloudTrail(Layout),
    Azure(AzureLayout),
}

impl TableLayout {
    /// The layout of a header (with the query API's column types, when there are any); `Err`
    /// for local times and for columns of no table trailwatch reads.
    pub(crate) fn new<S: AsRef<str>>(
        names: &[S],
        types: Option<&[&str]>,
    ) -> Result<TableLayout, LayoutError> {
        match table_kind(names) {
            Some(TableKind::CloudTrail) => Layout::new(names).map(TableLayout::CloudTrail),
            Some(kind) => AzureLayout::new(names, types, kind).map(TableLayout::Azure),
            None => {
                let shown: Vec<&str> = names.iter().take(8).map(|n| n.as_ref().trim()).collect();
                let more = if names.len() > shown.len() {
                    ", …"
                } else {
                    ""
                };
                Err(LayoutError(format!(
                    "columns ({}{more}) are none of the tables AWSCloudTrail, AzureActivity, \
                     SigninLogs (and the other sign-in tables) or AuditLogs",
                    shown.join(", ")
                )))
            }
        }
    }

    /// What the export holds, for messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            TableLayout::CloudTrail(_) => "AWSCloudTrail",
            TableLayout::Azure(a) => match a.kind {
                TableKind::AzureActivity => AZURE_ACTIVITY,
                TableKind::AuditLogs => "AuditLogs",
                _ => a.table.unwrap_or("sign-in table"),
            },
        }
    }

    /// The record a row stands for, as JSON text; `Err` says why it cannot be read.
    pub(crate) fn record<'c>(
        &self,
        cells: impl IntoIterator<Item = Cell<'c>>,
    ) -> Result<String, String> {
        match self {
            TableLayout::CloudTrail(l) => l.record(cells),
            TableLayout::Azure(l) => l.record(cells),
        }
    }
}

/// One row of a query API answer: where it is (1-based table, and row within it; no row for
/// a table refused as a whole) and its record or why it cannot be read.
pub(crate) struct QueryRow {
    pub table: usize,
    pub row: Option<usize>,
    pub record: Result<String, String>,
}

/// The rows of a query API answer (`{"tables": [{"name", "columns": [{"name", "type"}],
/// "rows": [[…]]}]}`), as records of the tables they come from; `None` when `doc` has no
/// `tables` array.
pub(crate) fn query_api_records(doc: &Value) -> Option<Vec<QueryRow>> {
    let tables = doc.get("tables")?.as_array()?;
    let mut out = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let columns = table.get("columns").and_then(Value::as_array);
        fn field<'v>(c: &'v Value, k: &str) -> &'v str {
            c.get(k).and_then(Value::as_str).unwrap_or("")
        }
        let names: Vec<&str> = columns
            .into_iter()
            .flatten()
            .map(|c| field(c, "name"))
            .collect();
        let types: Vec<&str> = columns
            .into_iter()
            .flatten()
            .map(|c| field(c, "type"))
            .collect();
        let layout = match TableLayout::new(&names, Some(&types)) {
            Ok(l) => l,
            Err(e) => {
                out.push(QueryRow {
                    table: t + 1,
                    row: None,
                    record: Err(e.0),
                });
                continue;
            }
        };
        let rows = table.get("rows").and_then(Value::as_array);
        for (r, row) in rows.into_iter().flatten().enumerate() {
            out.push(QueryRow {
                table: t + 1,
                row: Some(r + 1),
                record: match row.as_array() {
                    Some(cells) => layout.record(cells.iter().map(Cell::Json)),
                    None => Err("row is not an array".into()),
                },
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_and_iso_times() {
        assert_eq!(
            parse_export_time("11/30/2026, 10:15:02.123 AM").as_deref(),
            Some("2026-11-30T10:15:02.123Z")
        );
        assert_eq!(
            parse_export_time("2/3/2025, 12:00:00.000 AM").as_deref(),
            Some("2025-02-03T00:00:00Z")
        );
        assert_eq!(
            parse_export_time("2/3/2025, 12:30:00 PM").as_deref(),
            Some("2025-02-03T12:30:00Z")
        );
        assert_eq!(
            parse_export_time("2026-11-30T10:15:02.1234567Z").as_deref(),
            Some("2026-11-30T10:15:02.123Z")
        );
        assert_eq!(parse_export_time("13/30/2026, 10:15:02 AM"), None);
        assert_eq!(parse_export_time("2/3/2025, 13:00:00 PM"), None);
        assert_eq!(parse_export_time("yesterday"), None);
    }

    #[test]
    fn a_row_becomes_the_cloudtrail_record() {
        let header = [
            "TimeGenerated [UTC]",
            "EventName",
            "EventSource",
            "UserIdentityArn",
            "SessionIssuerUserName",
            "RequestParameters",
            "ReadOnly",
            "SourceSystem",
        ];
        let layout = Layout::new(&header).unwrap();
        let row = [
            "11/30/2026, 10:15:02.000 PM",
            "PutUserPolicy",
            "iam.amazonaws.com",
            "arn:aws:iam::1:user/a",
            "",
            r#"{"userName":"a","policyDocument":"{}"}"#,
            "False",
            "OpsManager",
        ];
        let json = layout.record(row.iter().map(|s| Cell::Text(s))).unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["eventTime"], "2026-11-30T22:15:02Z");
        assert_eq!(v["userIdentity"]["arn"], "arn:aws:iam::1:user/a");
        assert_eq!(v["requestParameters"]["userName"], "a");
        assert_eq!(v["readOnly"], false);
        assert!(v["userIdentity"].get("sessionContext").is_none());
        assert!(v.get("SourceSystem").is_none());
    }

    #[test]
    fn local_times_are_refused() {
        let e = Layout::new(&["TimeGenerated [Local Time]", "EventName", "EventSource"]);
        assert!(e.unwrap_err().0.contains("UTC"));
    }
}
