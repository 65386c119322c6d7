//! What a trail's event selectors (`GetEventSelectors`) log, and the selectors that would
//! log what the checks ask for.
//!
//! Basic selectors (`EventSelectors`: `ReadWriteType`, `IncludeManagementEvents`,
//! `DataResources`, `ExcludeManagementEventSources`) and advanced ones
//! (`AdvancedEventSelectors`: field selectors on `eventCategory`, `readOnly`,
//! `resources.type`, `resources.ARN`, `eventSource`, …) are both read. A trail answering
//! neither logs CloudTrail's default, every management event.

use serde_json::{json, Value};

/// Which management events and which S3 object-level (data) events a trail logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logged {
    pub management_read: bool,
    pub management_write: bool,
    /// Event sources left out of management events (`kms.amazonaws.com`, …).
    pub management_excluded: Vec<String>,
    /// S3 data events of every bucket, reads / writes.
    pub s3_all_read: bool,
    pub s3_all_write: bool,
    /// S3 data events narrowed to some buckets, prefixes or events, as read.
    pub s3_partial: Vec<String>,
    pub advanced: bool,
}

impl Logged {
    pub fn management_ok(&self) -> bool {
        self.management_read && self.management_write && self.management_excluded.is_empty()
    }

    pub fn s3_ok(&self) -> bool {
        self.s3_all_read && self.s3_all_write
    }

    /// The management events logged, in words.
    pub fn management_words(&self) -> String {
        let rw = match (self.management_read, self.management_write) {
            (true, true) => "read and write management events",
            (true, false) => "read-only management events (no writes)",
            (false, true) => "write-only management events (no reads)",
            (false, false) => "no management events",
        };
        if self.management_excluded.is_empty() {
            rw.to_string()
        } else {
            format!("{rw}, excluding {}", self.management_excluded.join(", "))
        }
    }

    /// The S3 data events logged, in words.
    pub fn s3_words(&self) -> String {
        let all = match (self.s3_all_read, self.s3_all_write) {
            (true, true) => "S3 data events of every bucket, reads and writes".to_string(),
            (true, false) => "S3 data reads of every bucket (no writes)".to_string(),
            (false, true) => "S3 data writes of every bucket (no reads)".to_string(),
            (false, false) => "no S3 data events of every bucket".to_string(),
        };
        if self.s3_partial.is_empty() {
            all
        } else {
            format!("{all}; narrowed: {}", self.s3_partial.join("; "))
        }
    }
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn list(answer: &Value, key: &str) -> Vec<Value> {
    answer
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// An ARN value of a basic S3 data resource that names every bucket.
fn every_bucket(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() >= 3
        && parts[0] == "arn"
        && parts[2] == "s3"
        && parts[3..].iter().all(|p| p.is_empty())
}

/// What the `GetEventSelectors` answer logs.
pub fn logged(answer: &Value) -> Logged {
    let basic = list(answer, "EventSelectors");
    let advanced = list(answer, "AdvancedEventSelectors");
    let mut l = Logged::default();
    if basic.is_empty() && advanced.is_empty() {
        l.management_read = true;
        l.management_write = true;
        return l;
    }
    for s in &basic {
        let rw = s
            .get("ReadWriteType")
            .and_then(Value::as_str)
            .unwrap_or("All");
        let (read, write) = (rw != "WriteOnly", rw != "ReadOnly");
        if s.get("IncludeManagementEvents").and_then(Value::as_bool) != Some(false) {
            l.management_read |= read;
            l.management_write |= write;
            l.management_excluded
                .extend(strs(s.get("ExcludeManagementEventSources")));
        }
        for r in list(s, "DataResources") {
            if r.get("Type").and_then(Value::as_str) != Some("AWS::S3::Object") {
                continue;
            }
            for v in strs(r.get("Values")) {
                if every_bucket(&v) {
                    l.s3_all_read |= read;
                    l.s3_all_write |= write;
                } else {
                    l.s3_partial.push(format!("{rw} {v}"));
                }
            }
        }
    }
    l.advanced = !advanced.is_empty();
    for s in &advanced {
        advanced_selector(s, &mut l);
    }
    l.management_excluded.sort();
    l.management_excluded.dedup();
    l
}

fn advanced_selector(s: &Value, l: &mut Logged) {
    let fields = list(s, "FieldSelectors");
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f.get("Field").and_then(Value::as_str) == Some(name))
    };
    let equals = |name: &str| field(name).map(|f| strs(f.get("Equals")));
    let categories = equals("eventCategory").unwrap_or_default();
    // `readOnly` Equals ["true"]: reads only; ["false"]: writes only; absent: both.
    let (read, write) = match equals("readOnly").as_deref() {
        Some([v]) if v == "true" => (true, false),
        Some([v]) if v == "false" => (false, true),
        _ => (true, true),
    };
    let name = s.get("Name").and_then(Value::as_str).unwrap_or("(unnamed)");
    if categories.iter().any(|c| c == "Management") {
        l.management_read |= read;
        l.management_write |= write;
        if let Some(f) = field("eventSource") {
            l.management_excluded.extend(strs(f.get("NotEquals")));
        }
    }
    let s3 = equals("resources.type").is_some_and(|t| t.iter().any(|t| t == "AWS::S3::Object"));
    if categories.iter().any(|c| c == "Data") && s3 {
        let narrowing: Vec<&str> = fields
            .iter()
            .filter_map(|f| f.get("Field").and_then(Value::as_str))
            .filter(|f| !matches!(*f, "eventCategory" | "resources.type" | "readOnly"))
            .collect();
        if narrowing.is_empty() {
            l.s3_all_read |= read;
            l.s3_all_write |= write;
        } else {
            l.s3_partial.push(format!(
                "selector {name:?} narrowed by {}",
                narrowing.join(", ")
            ));
        }
    }
}

/// Whether an advanced selector selects management events or S3 object data events (the
/// selectors the corrected set replaces).
fn replaced_advanced(s: &Value) -> bool {
    let fields = list(s, "FieldSelectors");
    let equals = |name: &str| {
        fields
            .iter()
            .find(|f| f.get("Field").and_then(Value::as_str) == Some(name))
            .map(|f| strs(f.get("Equals")))
            .unwrap_or_default()
    };
    let categories = equals("eventCategory");
    categories.iter().any(|c| c == "Management")
        || (categories.iter().any(|c| c == "Data")
            && equals("resources.type")
                .iter()
                .any(|t| t == "AWS::S3::Object"))
}

/// The selectors to put so that the trail logs every management event, read and write, and
/// S3 data events of every bucket, keeping its other data events: `(flag, JSON)` for
/// `aws cloudtrail put-event-selectors`. `None` when basic selectors would exceed five.
pub fn corrected(answer: &Value) -> Option<(&'static str, String)> {
    let advanced = list(answer, "AdvancedEventSelectors");
    if !advanced.is_empty() {
        let mut out: Vec<Value> = advanced
            .into_iter()
            .filter(|s| !replaced_advanced(s))
            .collect();
        out.push(json!({"Name": "Management events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}]}));
        out.push(json!({"Name": "S3 data events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}));
        return Some(("--advanced-event-selectors", Value::Array(out).to_string()));
    }
    let mut out = Vec::new();
    for s in list(answer, "EventSelectors") {
        let kept: Vec<Value> = list(&s, "DataResources")
            .into_iter()
            .filter(|r| r.get("Type").and_then(Value::as_str) != Some("AWS::S3::Object"))
            .collect();
        if !kept.is_empty() {
            out.push(json!({
                "ReadWriteType": s.get("ReadWriteType").cloned().unwrap_or(json!("All")),
                "IncludeManagementEvents": false,
                "DataResources": kept,
            }));
        }
    }
    out.push(json!({"ReadWriteType": "All", "IncludeManagementEvents": true}));
    out.push(
        json!({"ReadWriteType": "All", "IncludeManagementEvents": false,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}),
    );
    (out.len() <= 5).then(|| ("--event-selectors", Value::Array(out).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_selectors_are_read() {
        let l = logged(&json!({"EventSelectors": [
            {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true,
             "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::payroll/"]},
                               {"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}]}));
        assert!(l.management_write && !l.management_read && !l.management_ok());
        assert!(!l.s3_ok());
        assert_eq!(l.s3_partial, ["WriteOnly arn:aws:s3:::payroll/"]);
        let l = logged(&json!({"EventSelectors": [
            {"ReadWriteType": "All", "IncludeManagementEvents": true,
             "ExcludeManagementEventSources": ["kms.amazonaws.com"],
             "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}));
        assert!(!l.management_ok() && l.s3_ok());
        assert_eq!(
            l.management_words(),
            "read and write management events, excluding kms.amazonaws.com"
        );
        // No selectors at all: CloudTrail's default.
        let l = logged(&json!({"EventSelectors": [], "AdvancedEventSelectors": []}));
        assert!(l.management_ok() && !l.s3_ok());
    }

    #[test]
    fn advanced_selectors_are_read() {
        let l = logged(&json!({"AdvancedEventSelectors": [
            {"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                              {"Field": "readOnly", "Equals": ["false"]}]},
            {"Name": "d", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                              {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                                              {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::a/"]}]}]}));
        assert!(l.advanced && l.management_write && !l.management_read);
        assert!(!l.s3_ok() && l.s3_partial[0].contains("resources.ARN"));
        let (flag, json) = corrected(&json!({"AdvancedEventSelectors": [
            {"Name": "ddb", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                                {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]}]},
            {"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}))
        .unwrap();
        assert_eq!(flag, "--advanced-event-selectors");
        let fixed: Value = serde_json::from_str(&json).unwrap();
        let l = logged(&json!({"AdvancedEventSelectors": fixed}));
        assert!(l.management_ok() && l.s3_ok());
        assert!(
            json.contains("AWS::DynamoDB::Table"),
            "other data events are kept: {json}"
        );
    }

    #[test]
    fn corrected_basic_selectors_log_everything_asked_and_keep_the_rest() {
        let answer = json!({"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": true,
            "DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]},
                              {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::a/"]}]}]});
        let (flag, json) = corrected(&answer).unwrap();
        assert_eq!(flag, "--event-selectors");
        let fixed: Value = serde_json::from_str(&json).unwrap();
        let l = logged(&json!({"EventSelectors": fixed}));
        assert!(l.management_ok() && l.s3_ok() && l.s3_partial.is_empty());
        assert!(json.contains("AWS::Lambda::Function"));
    }
}
