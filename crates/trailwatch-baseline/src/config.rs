//! The sections of `trailwatch.toml` this crate owns: `[organization]`, `[detection]`,
//! `[baselines]`, `[[suppressions]]` and `[severity]`. Other top-level keys belong to other commands and are ignored here; unknown
//! keys inside these sections are errors (a typo must not silently disable a threshold).

use chrono::{DateTime, FixedOffset, NaiveDate};
use ipnet::IpNet;
use serde::Deserialize;
use std::net::IpAddr;
use trailwatch_model::Severity;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot parse the configuration: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("cannot write suppressions: {0}")]
    Write(#[from] toml::ser::Error),
    #[error("[organization] {0}")]
    Organization(String),
    #[error("[detection] {0}")]
    Detection(String),
    #[error("[baselines] {0}")]
    Baselines(String),
    #[error("[[suppressions]] entry {index}: {reason}")]
    Suppression { index: usize, reason: String },
    #[error("[severity] {0}")]
    Severity(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Parses and validates this crate's sections of a `trailwatch.toml` text.
pub fn check_config(text: &str) -> Result<Config, ConfigError> {
    let file: File = toml::from_str(text)?;
    let cfg = Config {
        organization: file.organization,
        detection: file.detection,
        baselines: file.baselines,
        suppressions: file.suppressions,
        severity: file.severity,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Reads and checks a configuration file.
pub fn load_config(path: &std::path::Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    check_config(&text)
}

/// The whole file as far as this crate is concerned: other top-level keys are accepted and
/// ignored (they belong to `[store]`, `[watch]`, `[[sources]]`, … read elsewhere).
#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    organization: OrganizationConfig,
    #[serde(default)]
    detection: DetectionConfig,
    #[serde(default)]
    baselines: BaselineConfig,
    #[serde(default)]
    suppressions: Vec<Suppression>,
    #[serde(default)]
    severity: SeverityConfig,
}

/// This crate's configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub organization: OrganizationConfig,
    pub detection: DetectionConfig,
    pub baselines: BaselineConfig,
    pub suppressions: Vec<Suppression>,
    pub severity: SeverityConfig,
}

/// `[organization]`: the accounts that are ours; a policy granting to any other is a grant
/// outside (without the list, only the record's own account is inside).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrganizationConfig {
    /// 12-digit AWS account ids.
    pub accounts: Vec<String>,
    /// Azure subscription ids (GUIDs): a VNet peered to, or a packet capture stored in, any
    /// other subscription leaves the organisation.
    pub subscriptions: Vec<String>,
    /// Name parts that mark an Azure resource group as non-production (alerts about such
    /// groups only are a level lower). Unset: trailwatch's list (`dev`, `test`, `sandbox`, …);
    /// `[]`: none.
    pub non_production: Option<Vec<String>>,
}

/// Whether `s` is a GUID (`8-4-4-4-12` hex digits).
fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `[detection]`: who counts as a suspect and which stateful detections run in every hunt.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionConfig {
    /// Count AWS services acting for the account (`userIdentity.type` AWSService, a service
    /// name as `sourceIPAddress`, `invokedBy`) as principals in correlations, baselines and
    /// chains. Off by default: their denied log deliveries are misconfigurations, not attacks.
    pub include_service_principals: bool,
    /// Run the attack chains in every hunt (they need no learned history).
    pub chains: bool,
    /// The EC2 instance types the organisation launches (`["t3.*", "m6i.large"]`, Sigma
    /// wildcards): a launch of any other type is flagged. Unset: GPU, accelerated, metal and
    /// bulk launches are.
    pub instance_types: Option<Vec<String>>,
    /// Microsoft Entra ID emergency-access (break-glass) accounts, by UPN or object id: any
    /// sign-in by one, any directory change it makes or undergoes, is a high alert. Empty: no
    /// such rule.
    pub break_glass_accounts: Vec<String>,
    /// Entra password spraying: this many distinct users failing their password from one
    /// address …
    pub password_spray_users: u32,
    /// … within this many minutes.
    pub password_spray_minutes: u32,
    /// Entra brute force: this many failed passwords for one user …
    pub brute_force_failures: u32,
    /// … within this many minutes.
    pub brute_force_minutes: u32,
    /// Entra MFA fatigue: this many MFA denials or failures for one user …
    pub mfa_fatigue_denials: u32,
    /// … within this many minutes.
    pub mfa_fatigue_minutes: u32,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            include_service_principals: false,
            chains: true,
            instance_types: None,
            break_glass_accounts: Vec::new(),
            password_spray_users: 10,
            password_spray_minutes: 30,
            brute_force_failures: 20,
            brute_force_minutes: 30,
            mfa_fatigue_denials: 5,
            mfa_fatigue_minutes: 10,
        }
    }
}

/// The longest window a `[detection]` threshold may span, minutes (one day).
pub const MAX_DETECTION_MINUTES: u32 = 24 * 60;

impl DetectionConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError::Detection(m));
        let counts = [
            ("password_spray_users", self.password_spray_users, 2),
            ("brute_force_failures", self.brute_force_failures, 2),
            ("mfa_fatigue_denials", self.mfa_fatigue_denials, 2),
        ];
        for (name, v, least) in counts {
            if v < least {
                return err(format!("{name} must be at least {least}, not {v}"));
            }
        }
        let minutes = [
            ("password_spray_minutes", self.password_spray_minutes),
            ("brute_force_minutes", self.brute_force_minutes),
            ("mfa_fatigue_minutes", self.mfa_fatigue_minutes),
        ];
        for (name, v) in minutes {
            if v == 0 || v > MAX_DETECTION_MINUTES {
                return err(format!(
                    "{name} must be between 1 and {MAX_DETECTION_MINUTES}, not {v}"
                ));
            }
        }
        for a in &self.break_glass_accounts {
            let bad = a.trim().is_empty()
                || a.trim() != a
                || a.chars().any(|c| c.is_control() || c.is_whitespace());
            if bad {
                return err(format!(
                    "break_glass_accounts: {a:?} is not a user principal name or object id"
                ));
            }
        }
        Ok(())
    }
}

/// `[baselines]`: learning and thresholds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    /// Run the baselines and chains in `hunt` even without `--baselines`.
    pub enabled: bool,
    /// Where the learned state is kept between runs (default: `baselines.json` in the store
    /// directory, or beside the output file; none when neither is known).
    pub state_file: Option<String>,
    /// No baseline alert for a principal until its history spans this many days …
    pub learning_days: u32,
    /// … and holds this many events.
    pub learning_min_events: u64,
    /// Business hours, `"08:00-18:00"`, in `utc_offset`; activity inside them is never off-hours.
    pub business_hours: Option<String>,
    /// Business days, `["mon", …]`.
    pub business_days: Vec<String>,
    /// The organisation's time zone as a fixed UTC offset (`"+01:00"`); hours are learned in it.
    pub utc_offset: String,
    /// An IANA time zone (`"Europe/Paris"`), daylight saving included; when set it replaces
    /// `utc_offset`.
    pub time_zone: Option<String>,
    /// A time of day is unusual for a principal when less than this fraction of its events
    /// fall within an hour of it …
    pub off_hours_max_fraction: f64,
    /// … and a day of the week when less than this fraction fall on it.
    pub off_days_max_fraction: f64,
    /// Hourly volume history kept (robust z-score window), hours.
    pub volume_window_hours: u32,
    /// Robust z-score (0.6745·(x − median)/MAD) at or above which an hour is a spike.
    pub volume_z: f64,
    /// A spike needs at least this many calls in the hour (per principal) …
    pub volume_min_calls: u32,
    /// … or this many data-event reads/deletes on one resource.
    pub volume_min_object_calls: u32,
    /// … and at least this many times the median hour.
    pub volume_min_ratio: f64,
    /// Denied calls (AccessDenied, UnauthorizedOperation, …) from one principal or IP …
    pub denied_burst_count: u32,
    /// … within this many minutes.
    pub denied_burst_minutes: u32,
    /// Failed console sign-ins for one user before a success …
    pub console_failures: u32,
    /// … within this many minutes.
    pub console_minutes: u32,
    /// Attack chains: how long after one step the next still counts, minutes.
    pub chain_window_minutes: u32,
    /// Recon step of a chain: denied calls within `denied_burst_minutes` (lower than a burst on
    /// its own, because a privilege change must follow).
    pub chain_recon_denied: u32,
    /// Mass object access after a new key's first use: this many data-event reads or deletes.
    pub chain_mass_objects: u32,
    /// A MaxMind ASN database (`GeoLite2-ASN.mmdb`): first-seen source networks are then
    /// autonomous systems (addresses it does not know stay /24 or /64). Changing it makes
    /// every principal's networks new once: learned networks are kept by name.
    pub asn_database: Option<String>,
    /// Distinct values remembered per principal and kind (first-seen), to bound memory.
    pub max_seen_per_principal: usize,
    /// Events held in memory for one hunt's time-ordered pass (≈ 80 bytes each); events beyond
    /// are not baselined (a warning says how many).
    pub max_events: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            enabled: false,
            state_file: None,
            learning_days: 7,
            learning_min_events: 50,
            business_hours: None,
            business_days: Vec::new(),
            utc_offset: "+00:00".into(),
            time_zone: None,
            off_hours_max_fraction: 0.005,
            off_days_max_fraction: 0.01,
            volume_window_hours: 168,
            volume_z: 8.0,
            volume_min_calls: 300,
            volume_min_object_calls: 200,
            volume_min_ratio: 5.0,
            denied_burst_count: 10,
            denied_burst_minutes: 5,
            console_failures: 3,
            console_minutes: 30,
            chain_window_minutes: 120,
            chain_recon_denied: 3,
            chain_mass_objects: 100,
            asn_database: None,
            max_seen_per_principal: 2_048,
            max_events: 20_000_000,
        }
    }
}

/// Business hours resolved: minutes of the day `[start, end)` and weekdays (0 = Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    pub start_min: u32,
    pub end_min: u32,
    pub days: [bool; 7],
}

/// Where working hours are counted: a fixed offset, or a named zone with its daylight saving.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Weekday (0 = Monday), hour and minute of `t` (ms since the epoch) in this zone, and the
    /// zone's offset from UTC then, in seconds.
    pub fn local(&self, t: i64) -> Option<(usize, u32, u32, i32)> {
        use chrono::{Datelike, Offset, TimeZone, Timelike};
        fn parts<Tz: TimeZone>(d: chrono::DateTime<Tz>) -> (usize, u32, u32, i32) {
            (
                d.weekday().num_days_from_monday() as usize,
                d.hour(),
                d.minute(),
                d.offset().fix().local_minus_utc(),
            )
        }
        match self {
            Zone::Fixed(z) => z.timestamp_millis_opt(t).single().map(parts),
            Zone::Named(z) => z.timestamp_millis_opt(t).single().map(parts),
        }
    }

    /// The zone's name as alerts show it, given its offset at the time (`UTC-08:00`,
    /// `America/Los_Angeles, UTC-07:00`).
    pub fn label(&self, offset_s: i32) -> String {
        let sign = if offset_s < 0 { '-' } else { '+' };
        let a = offset_s.abs();
        let utc = format!("UTC{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60);
        match self {
            Zone::Fixed(_) => utc,
            Zone::Named(z) => format!("{}, {utc}", z.name()),
        }
    }
}

impl BaselineConfig {
    /// The zone hours are learned in: `time_zone` when set, else `utc_offset`.
    pub fn zone(&self) -> Result<Zone, ConfigError> {
        match &self.time_zone {
            Some(name) => name
                .trim()
                .parse::<chrono_tz::Tz>()
                .map(Zone::Named)
                .map_err(|_| {
                    ConfigError::Baselines(format!(
                        "time_zone {name:?}: not an IANA time zone name (e.g. \"Europe/Paris\")"
                    ))
                }),
            None => self.offset().map(Zone::Fixed),
        }
    }

    /// The configured UTC offset.
    pub fn offset(&self) -> Result<FixedOffset, ConfigError> {
        parse_offset(&self.utc_offset).ok_or_else(|| {
            ConfigError::Baselines(format!(
                "utc_offset {:?}: expected +HH:MM or -HH:MM",
                self.utc_offset
            ))
        })
    }

    /// The configured business hours, if any.
    pub fn hours(&self) -> Result<Option<BusinessHours>, ConfigError> {
        let Some(h) = &self.business_hours else {
            return Ok(None);
        };
        let bad = || ConfigError::Baselines(format!("business_hours {h:?}: expected HH:MM-HH:MM"));
        let (a, b) = h.split_once('-').ok_or_else(bad)?;
        let (start_min, end_min) = (parse_hm(a).ok_or_else(bad)?, parse_hm(b).ok_or_else(bad)?);
        if start_min >= end_min {
            return Err(bad());
        }
        let mut days = [false; 7];
        if self.business_days.is_empty() {
            days[..5].fill(true);
        }
        for d in &self.business_days {
            let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|x| d.trim().to_ascii_lowercase().starts_with(x))
                .ok_or_else(|| {
                    ConfigError::Baselines(format!("business_days: unknown day {d:?}"))
                })?;
            days[i] = true;
        }
        Ok(Some(BusinessHours {
            start_min,
            end_min,
            days,
        }))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.offset()?;
        self.zone()?;
        self.hours()?;
        let positive = [
            ("denied_burst_count", self.denied_burst_count),
            ("denied_burst_minutes", self.denied_burst_minutes),
            ("console_failures", self.console_failures),
            ("console_minutes", self.console_minutes),
            ("chain_window_minutes", self.chain_window_minutes),
            ("chain_recon_denied", self.chain_recon_denied),
            ("chain_mass_objects", self.chain_mass_objects),
            ("volume_window_hours", self.volume_window_hours),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(ConfigError::Baselines(format!("{name} must be at least 1")));
            }
        }
        if !(self.volume_z.is_finite() && self.volume_z > 0.0) {
            return Err(ConfigError::Baselines(
                "volume_z must be a positive number".into(),
            ));
        }
        if !(self.volume_min_ratio.is_finite() && self.volume_min_ratio >= 1.0) {
            return Err(ConfigError::Baselines(
                "volume_min_ratio must be at least 1".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.off_hours_max_fraction)
            || !(0.0..1.0).contains(&self.off_days_max_fraction)
        {
            return Err(ConfigError::Baselines(
                "off_hours_max_fraction and off_days_max_fraction must be in [0, 1)".into(),
            ));
        }
        Ok(())
    }
}

fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// One `[[suppressions]]` entry: alerts it matches are dropped. Every condition given must
/// hold; at least one must be given, and a reason and an expiry are required.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Rule id or exact title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Principal (ARN, UPN, name); `*` matches any run of characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Source IP range (CIDR); every source IP of the alert must be inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// User agent substring (case-insensitive); every event of the alert whose agent is known
    /// must contain it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// AWS account or Azure subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Why (kept for the audit of who silenced what).
    pub reason: String,
    /// `YYYY-MM-DD` (end of that day, UTC) or RFC 3339; after it the entry is ignored with a
    /// warning.
    pub expires: String,
}

/// A file of `[[suppressions]]` only (the ones admins manage from the console).
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct SuppressionFile {
    #[serde(default)]
    suppressions: Vec<Suppression>,
}

/// The `[[suppressions]]` of a text holding only them, each checked as in a configuration.
pub fn parse_suppressions(text: &str) -> Result<Vec<Suppression>, ConfigError> {
    let file: SuppressionFile = toml::from_str(text)?;
    for (i, s) in file.suppressions.iter().enumerate() {
        s.validate(i + 1)?;
    }
    Ok(file.suppressions)
}

/// `list` as a text [`parse_suppressions`] reads back.
pub fn write_suppressions(list: &[Suppression]) -> Result<String, ConfigError> {
    let file = SuppressionFile {
        suppressions: list.to_vec(),
    };
    Ok(toml::to_string(&file)?)
}

impl Suppression {
    /// Checks one entry as a configuration's would be (`index` counts from 1 in messages).
    pub fn check(&self, index: usize) -> Result<(), ConfigError> {
        self.validate(index)
    }

    /// The expiry instant, ms.
    pub fn expires_ms(&self) -> Option<i64> {
        let s = self.expires.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.timestamp_millis());
        }
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
        Some(d.and_hms_opt(23, 59, 59)?.and_utc().timestamp_millis() + 999)
    }

    /// The parsed range, when one is given.
    pub fn net(&self) -> Option<IpNet> {
        let c = self.cidr.as_deref()?.trim();
        c.parse::<IpNet>()
            .ok()
            .or_else(|| c.parse::<IpAddr>().ok().map(IpNet::from))
    }

    fn validate(&self, index: usize) -> Result<(), ConfigError> {
        let err = |reason: String| ConfigError::Suppression { index, reason };
        if self.reason.trim().is_empty() {
            return Err(err("reason must not be empty".into()));
        }
        if self.expires_ms().is_none() {
            return Err(err(format!(
                "expires {:?}: expected YYYY-MM-DD or an RFC 3339 time",
                self.expires
            )));
        }
        if self.cidr.is_some() && self.net().is_none() {
            return Err(err(format!("cidr {:?} is not an IP range", self.cidr)));
        }
        if self.rule.is_none()
            && self.principal.is_none()
            && self.cidr.is_none()
            && self.user_agent.is_none()
            && self.account.is_none()
        {
            return Err(err(
                "give at least one of rule, principal, cidr, user_agent, account".into(),
            ));
        }
        Ok(())
    }
}

/// `[severity]`: raising an alert's level by what was true when it happened.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityConfig {
    /// Apply context at all.
    pub context: bool,
    /// Raise when the principal is an account's root user.
    pub root: bool,
    /// Raise when the principal signed in or worked without MFA in the 12 h before.
    pub no_mfa: bool,
    /// Raise when a source network (/24, /64) was new for the principal within a day before.
    pub new_ip: bool,
    /// Raise when the activity began outside the principal's usual hours (or business hours).
    pub off_hours: bool,
    /// At most this many levels up.
    pub max_raise: u8,
    /// Alerts below this level are never raised (so that informational noise stays so).
    pub min_level: Severity,
}

impl SeverityConfig {
    /// The level rules must be loaded at so that an alert context may raise to `min_level` is
    /// not dropped before it is raised: up to `max_raise` levels lower, not below this
    /// section's own `min_level`.
    pub fn rule_level(&self, min_level: Severity) -> Severity {
        if !self.context {
            return min_level;
        }
        let at = |s: Severity| Severity::ALL.iter().position(|x| *x == s).unwrap_or(0);
        let i = at(min_level);
        let down = i
            .saturating_sub(usize::from(self.max_raise))
            .max(at(self.min_level))
            .min(i);
        Severity::ALL[down]
    }
}

impl Default for SeverityConfig {
    fn default() -> Self {
        SeverityConfig {
            context: true,
            root: true,
            no_mfa: true,
            new_ip: true,
            off_hours: true,
            max_raise: 1,
            min_level: Severity::Low,
        }
    }
}

impl Config {
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(bad) = self
            .organization
            .accounts
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ConfigError::Organization(format!(
                "accounts: {bad:?} is not a 12-digit AWS account id"
            )));
        }
        if let Some(bad) = self.organization.subscriptions.iter().find(|s| !is_guid(s)) {
            return Err(ConfigError::Organization(format!(
                "subscriptions: {bad:?} is not an Azure subscription id (a GUID)"
            )));
        }
        self.detection.validate()?;
        self.baselines.validate()?;
        for (i, s) in self.suppressions.iter().enumerate() {
            s.validate(i + 1)?;
        }
        if self.severity.max_raise > 4 {
            return Err(ConfigError::Severity("max_raise must be at most 4".into()));
        }
        Ok(())
    }

    /// The suppressions still in force at `now_ms`; each expired one is logged as a warning
    /// and left out.
    pub fn active_suppressions(&self, now_ms: i64) -> Vec<Suppression> {
        self.suppressions
            .iter()
            .filter(|s| {
                let live = s.expires_ms().is_some_and(|e| e > now_ms);
                if !live {
                    tracing::warn!(
                        expires = %s.expires,
                        reason = %s.reason.escape_debug(),
                        "a suppression has expired and is ignored"
                    );
                }
                live
            })
            .cloned()
            .collect()
    }
}
