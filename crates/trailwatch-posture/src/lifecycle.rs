//! A bucket's lifecycle rules (`GetBucketLifecycleConfiguration`, XML): which of them expire
//! log files too early, and the same configuration with those expiries moved to the minimum
//! kept, as the JSON `aws s3api put-bucket-lifecycle-configuration` takes.

use serde::{Deserialize, Serialize};

/// Days a log file must be kept (CIS, PCI DSS: a year).
pub const MIN_RETENTION_DAYS: u32 = 365;

/// `LifecycleConfiguration` (XML `Rule` elements; JSON `Rules`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Configuration {
    #[serde(rename(deserialize = "Rule", serialize = "Rules"), default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    #[serde(rename = "ID", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// The legacy rule-level prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    #[serde(
        rename(deserialize = "Transition", serialize = "Transitions"),
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub transitions: Vec<Transition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration: Option<NoncurrentExpiration>,
    #[serde(
        rename(
            deserialize = "NoncurrentVersionTransition",
            serialize = "NoncurrentVersionTransitions"
        ),
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub noncurrent_version_transitions: Vec<NoncurrentTransition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload: Option<AbortUpload>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_size_greater_than: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_size_less_than: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and: Option<And>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct And {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(
        rename(deserialize = "Tag", serialize = "Tags"),
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_size_greater_than: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_size_less_than: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Expiration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_object_delete_marker: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentExpiration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NoncurrentTransition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newer_noncurrent_versions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AbortUpload {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_after_initiation: Option<u32>,
}

/// Parses the XML answer.
pub fn parse(xml: &str) -> Result<Configuration, String> {
    quick_xml::de::from_str(xml).map_err(|e| format!("lifecycle configuration: {e}"))
}

impl Rule {
    /// The key prefix the rule applies to (`""`: every key).
    fn rule_prefix(&self) -> &str {
        let f = self.filter.as_ref();
        f.and_then(|f| f.prefix.as_deref())
            .or_else(|| {
                f.and_then(|f| f.and.as_ref())
                    .and_then(|a| a.prefix.as_deref())
            })
            .or(self.prefix.as_deref())
            .unwrap_or("")
    }

    /// Whether the rule can apply to keys under `prefix` (tag and size filters may match
    /// log files too).
    fn reaches(&self, prefix: &str) -> bool {
        let p = self.rule_prefix();
        p.starts_with(prefix) || prefix.starts_with(p)
    }

    /// Why the rule deletes log files before [`MIN_RETENTION_DAYS`]; `None` when it does not.
    pub fn too_early(&self) -> Option<String> {
        if self.status != "Enabled" {
            return None;
        }
        let name = self.id.as_deref().unwrap_or("(no ID)");
        if let Some(e) = &self.expiration {
            if let Some(d) = e.days.filter(|d| *d < MIN_RETENTION_DAYS) {
                return Some(format!("rule {name:?} expires objects after {d} days"));
            }
            if let Some(date) = &e.date {
                return Some(format!("rule {name:?} expires objects on {date}"));
            }
        }
        let noncurrent = self.noncurrent_version_expiration.as_ref();
        if let Some(d) = noncurrent
            .and_then(|n| n.noncurrent_days)
            .filter(|d| *d < MIN_RETENTION_DAYS)
        {
            return Some(format!(
                "rule {name:?} deletes noncurrent versions after {d} days"
            ));
        }
        None
    }
}

/// The rules that delete files under any of `prefixes` too early, each with the reason.
pub fn too_early(c: &Configuration, prefixes: &[String]) -> Vec<String> {
    c.rules
        .iter()
        .filter(|r| prefixes.iter().any(|p| r.reaches(p)))
        .filter_map(Rule::too_early)
        .collect()
}

/// `c` with every early expiry of a rule reaching `prefixes` moved to [`MIN_RETENTION_DAYS`]
/// (a date-based expiry becomes that many days), as the CLI's JSON.
pub fn corrected(c: &Configuration, prefixes: &[String]) -> Result<String, String> {
    let mut c = c.clone();
    for r in &mut c.rules {
        if !prefixes.iter().any(|p| r.reaches(p)) {
            continue;
        }
        if let Some(e) = &mut r.expiration {
            if e.date.is_some() || e.days.is_some_and(|d| d < MIN_RETENTION_DAYS) {
                e.date = None;
                e.days = Some(MIN_RETENTION_DAYS);
            }
        }
        if let Some(n) = &mut r.noncurrent_version_expiration {
            if n.noncurrent_days.is_some_and(|d| d < MIN_RETENTION_DAYS) {
                n.noncurrent_days = Some(MIN_RETENTION_DAYS);
            }
        }
    }
    serde_json::to_string(&c).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule><ID>logs</ID><Filter><Prefix>AWSLogs/</Prefix></Filter><Status>Enabled</Status>
    <Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>
    <Expiration><Days>30</Days></Expiration></Rule>
  <Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>
    <Expiration><Days>1</Days></Expiration></Rule>
  <Rule><ID>old</ID><Filter><And><Prefix></Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status>
    <NoncurrentVersionExpiration><NoncurrentDays>90</NoncurrentDays></NoncurrentVersionExpiration></Rule>
  <Rule><ID>off</ID><Filter><Prefix></Prefix></Filter><Status>Disabled</Status>
    <Expiration><Days>1</Days></Expiration></Rule>
</LifecycleConfiguration>"#;

    #[test]
    fn early_expiries_reaching_the_logs_are_found_and_corrected() {
        let c = parse(XML).unwrap();
        assert_eq!(c.rules.len(), 4);
        let prefixes = vec!["AWSLogs/".to_string()];
        let found = too_early(&c, &prefixes);
        assert_eq!(
            found,
            [
                "rule \"logs\" expires objects after 30 days",
                "rule \"old\" deletes noncurrent versions after 90 days"
            ]
        );
        let json = corrected(&c, &prefixes).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Rules"][0]["Expiration"]["Days"], 365);
        assert_eq!(v["Rules"][0]["Transitions"][0]["StorageClass"], "GLACIER");
        assert_eq!(
            v["Rules"][1]["Expiration"]["Days"], 1,
            "other prefixes are left alone"
        );
        assert_eq!(v["Rules"][2]["Filter"]["And"]["Tags"][0]["Key"], "k");
        assert_eq!(
            v["Rules"][2]["NoncurrentVersionExpiration"]["NoncurrentDays"],
            365
        );
        let back = Configuration {
            rules: serde_json::from_value(v["Rules"].clone()).unwrap(),
        };
        assert!(too_early(&back, &prefixes).is_empty());
    }
}
