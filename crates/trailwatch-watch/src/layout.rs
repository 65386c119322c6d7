//! What an object's key says about where its events come from.
//!
//! CloudTrail delivers to `[prefix/]AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/…`
//! and, for an organization trail, `[prefix/]AWSLogs/<o-id>/<account>/CloudTrail/<region>/…`;
//! digests go to `…/CloudTrail-Digest/…` and Insights events to `…/CloudTrail-Insight/…`.
//! Azure diagnostic settings write
//! `insights-activity-logs/resourceId=/SUBSCRIPTIONS/<SUB>/y=…/m=…/d=…/h=…/m=00/PT1H.json`;
//! Microsoft Entra ID's (tenant-level) write `insights-logs-<category>/tenantId=<tenant>/y=…/…/
//! PT1H.json` (`insights-logs-signinlogs`, `insights-logs-auditlogs`, …; older exports
//! `resourceId=/tenants/<tenant>/providers/Microsoft.aadiam/y=…`): the tenant is the account.

/// Where an object's events come from, as far as its key tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub account: Option<String>,
    pub region: Option<String>,
}

/// What to do with an object found under a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Read it.
    Log(Origin),
    /// Not a log (a digest, a hidden or temporary file, another extension): leave it.
    Ignore,
}

/// Classifies an object by its key (`/`-separated, relative to the source).
pub fn classify(key: &str) -> Kind {
    let parts: Vec<&str> = key.split('/').filter(|p| !p.is_empty()).collect();
    let Some(name) = parts.last() else {
        return Kind::Ignore;
    };
    if name.starts_with('.') || !has_log_extension(name) {
        return Kind::Ignore;
    }
    if parts
        .iter()
        .any(|p| p.eq_ignore_ascii_case("CloudTrail-Digest"))
    {
        return Kind::Ignore;
    }
    // AWS: the component before CloudTrail is the account, the one after is the region.
    if let Some(i) = parts.iter().position(|p| *p == "CloudTrail") {
        let account = i.checked_sub(1).map(|j| parts[j].to_string());
        let region = parts
            .get(i + 1)
            .filter(|r| i + 2 < parts.len() && looks_like_region(r))
            .map(|r| r.to_string());
        return Kind::Log(Origin { account, region });
    }
    // Azure: …/SUBSCRIPTIONS/<sub>/…
    if let Some(i) = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("SUBSCRIPTIONS"))
    {
        let account = parts.get(i + 1).map(|s| s.to_ascii_lowercase());
        return Kind::Log(Origin {
            account,
            region: None,
        });
    }
    // Entra ID: …/tenantId=<tenant>/… or …/TENANTS/<tenant>/…
    let dirs = &parts[..parts.len() - 1];
    let tenant = dirs
        .iter()
        .find_map(|p| strip_prefix_ci(p, "tenantId="))
        .or_else(|| {
            let i = dirs
                .iter()
                .position(|p| p.eq_ignore_ascii_case("tenants"))?;
            dirs.get(i + 1).copied()
        })
        .filter(|t| !t.is_empty());
    if let Some(t) = tenant {
        return Kind::Log(Origin {
            account: Some(t.to_ascii_lowercase()),
            region: None,
        });
    }
    Kind::Log(Origin::default())
}

/// `s` without `prefix`, the prefix compared without regard to ASCII case.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The time an object's key names, in ms since the epoch: the delivery time in a CloudTrail
/// file name (`…_20261023T1135Z_…`) or the hour of an Azure blob path (`y=…/m=…/d=…/h=…/m=…`).
/// A watch reads a backlog in this order rather than by modification time, so that one region
/// is not read a day ahead of another (which would make the other's events late).
pub fn named_time_ms(key: &str) -> Option<i64> {
    let parts: Vec<&str> = key.split('/').filter(|p| !p.is_empty()).collect();
    let name = parts.last()?;
    if let Some(stamp) = name.split('_').find(|p| is_cloudtrail_stamp(p)) {
        let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ").ok()?;
        return Some(t.and_utc().timestamp_millis());
    }
    let field = |prefix: &str, nth: usize| -> Option<u32> {
        parts
            .iter()
            .filter_map(|p| p.strip_prefix(prefix))
            .nth(nth)
            .and_then(|v| v.parse().ok())
    };
    let year = i32::try_from(field("y=", 0)?).ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(year, field("m=", 0)?, field("d=", 0)?)?;
    let time = date.and_hms_opt(field("h=", 0)?, field("m=", 1).unwrap_or(0), 0)?;
    Some(time.and_utc().timestamp_millis())
}

fn is_cloudtrail_stamp(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 14
        && b[8] == b'T'
        && b[13] == b'Z'
        && b[..8].iter().chain(&b[9..13]).all(u8::is_ascii_digit)
}

fn looks_like_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.contains('-')
}

fn has_log_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    [".json", ".jsonl", ".ndjson", ".log"]
        .iter()
        .any(|ext| base.ends_with(ext))
}

#[cfg(test)]
mod named_time_tests {
    use super::named_time_ms;

    #[test]
    fn cloudtrail_names_and_azure_paths_say_when() {
        let ct = "AWSLogs/1/CloudTrail/eu-west-1/2026/10/23/1_CloudTrail_eu-west-1_20261023T1135Z_5OeT.json.gz";
        assert_eq!(named_time_ms(ct), Some(1_792_755_300_000));
        let az = "insights-activity-logs/resourceId=/SUBSCRIPTIONS/S/y=2026/m=10/d=23/h=11/m=00/PT1H.json";
        assert_eq!(named_time_ms(az), Some(1_792_753_200_000));
        assert_eq!(named_time_ms("inbox/events.jsonl"), None);
        assert_eq!(named_time_ms("x_20261323T1135Z_y.json"), None, "month 13");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(a: Option<&str>, r: Option<&str>) -> Kind {
        Kind::Log(Origin {
            account: a.map(str::to_string),
            region: r.map(str::to_string),
        })
    }

    #[test]
    fn account_and_region_come_from_both_aws_layouts() {
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/23/111122223333_CloudTrail_eu-west-1_20261123T1005Z_abc.json.gz"),
            origin(Some("111122223333"), Some("eu-west-1"))
        );
        assert_eq!(
            classify(
                "logs/AWSLogs/o-abc123/444455556666/CloudTrail/us-east-1/2026/11/23/x.json.gz"
            ),
            origin(Some("444455556666"), Some("us-east-1"))
        );
        assert_eq!(
            classify("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/23/d.json.gz"),
            Kind::Ignore
        );
    }

    #[test]
    fn azure_subscription_and_other_names() {
        assert_eq!(
            classify("resourceId=/SUBSCRIPTIONS/AB-CD/y=2026/m=11/d=23/h=10/m=00/PT1H.json"),
            origin(Some("ab-cd"), None)
        );
        assert_eq!(classify("export/events.jsonl"), origin(None, None));
        assert_eq!(classify("dir/.partial.json"), Kind::Ignore);
        assert_eq!(classify("notes.txt"), Kind::Ignore);
        assert_eq!(classify("a/b.json.tmp"), Kind::Ignore);
        assert_eq!(classify(""), Kind::Ignore);
    }

    #[test]
    fn entra_containers_name_the_tenant_as_the_account() {
        let tenant = "c0ffee00-1111-4222-8333-444455556666";
        for container in [
            "insights-logs-signinlogs",
            "insights-logs-noninteractiveusersigninlogs",
            "insights-logs-serviceprincipalsigninlogs",
            "insights-logs-managedidentitysigninlogs",
            "insights-logs-auditlogs",
        ] {
            let key = format!(
                "{container}/tenantId={}/y=2026/m=03/d=02/h=09/m=00/PT1H.json",
                tenant.to_ascii_uppercase()
            );
            assert_eq!(classify(&key), origin(Some(tenant), None), "{key}");
            assert_eq!(named_time_ms(&key), Some(1_772_442_000_000), "{key}");
        }
        // Relative to a source rooted at the container, and the older resourceId layout.
        assert_eq!(
            classify(&format!(
                "tenantId={tenant}/y=2026/m=03/d=02/h=09/m=00/PT1H.json"
            )),
            origin(Some(tenant), None)
        );
        assert_eq!(
            classify(&format!("resourceId=/tenants/{tenant}/providers/Microsoft.aadiam/y=2026/m=03/d=02/h=09/m=00/PT1H.json")),
            origin(Some(tenant), None)
        );
        // A file named like a segment says nothing; an empty tenant is none.
        assert_eq!(classify("x/tenants/PT1H.json"), origin(None, None));
        assert_eq!(classify("tenantId=/y=2026/PT1H.json"), origin(None, None));
        // A subscription's Activity Log under a tenant-named folder stays the subscription's.
        assert_eq!(
            classify(
                "tenantId=t1/resourceId=/SUBSCRIPTIONS/AB-CD/y=2026/m=11/d=23/h=10/m=00/PT1H.json"
            ),
            origin(Some("ab-cd"), None)
        );
    }

    #[test]
    fn hostile_keys_are_classified_by_their_segments_as_written() {
        // A key is data, not a path: `..` is not resolved (the object is read under its exact
        // name), and what the segments say is all the origin there is.
        assert_eq!(
            classify("AWSLogs/123/CloudTrail/us-east-1/2024/05/01/../../x.json.gz"),
            origin(Some("123"), Some("us-east-1"))
        );
        assert_eq!(
            classify("AWSLogs/123/CloudTrail/../x.json.gz"),
            origin(Some("123"), None)
        );
        assert_eq!(
            classify("/AWSLogs/123/CloudTrail/us-east-1//e\u{1b}[31mvil.json.gz"),
            origin(Some("123"), Some("us-east-1"))
        );
        assert_eq!(
            classify("AWSLogs/123/CloudTrail/us-east-1/2024/.."),
            Kind::Ignore
        );
    }
}
