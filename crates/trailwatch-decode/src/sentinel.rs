//! The Microsoft Sentinel / Log Analytics `AWSCloudTrail` table, as people export it: the
//! portal's CSV (a header of column names, `TimeGenerated [UTC]` with times such as
//! `11/30/2026, 10:15:02.123 AM`, dynamic columns as JSON text) and the query API's
//! `{"tables": [{"columns": [...], "rows": [...]}]}`. Each row is rebuilt as the CloudTrail
//! record it came from (`EventName` → `eventName`, `UserIdentityArn` → `userIdentity.arn`,
//! `RequestParameters` parsed back into an object, …), so that every rule, chain and report
//! reads it as it reads a record from S3.
//!
//! A row whose time cannot be read is reported with its number and not read; a file whose
//! times are in local time (the portal's `[Local Time]` header) is refused as a whole, since no
//! offset says which instant they name.

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

/// The rows of a query API answer (`{"tables": [{"columns": [{"name"}], "rows": [[…]]}]}`)
/// that come from the `AWSCloudTrail` table, as CloudTrail records; `Err` for each row (1-based
/// over all tables) that cannot be read, and for a table that cannot be read at all.
pub(crate) fn query_api_records(doc: &Value) -> Option<Vec<Result<String, String>>> {
    let tables = doc.get("tables")?.as_array()?;
    let mut out = Vec::new();
    let mut matched = false;
    for table in tables {
        let names: Vec<&str> = table
            .get("columns")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .map(|c| c.get("name").and_then(Value::as_str).unwrap_or(""))
                    .collect()
            })
            .unwrap_or_default();
        if !Layout::is_cloudtrail_table(&names) {
            continue;
        }
        matched = true;
        let layout = match Layout::new(&names) {
            Ok(l) => l,
            Err(e) => {
                out.push(Err(e.0));
                continue;
            }
        };
        let rows = table.get("rows").and_then(Value::as_array);
        for row in rows.into_iter().flatten() {
            out.push(match row.as_array() {
                Some(cells) => layout.record(cells.iter().map(Cell::Json)),
                None => Err("row is not an array".into()),
            });
        }
    }
    matched.then_some(out)
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
