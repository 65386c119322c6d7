//! The cloud side checked on a schedule (`[posture]`): the checks of `trailwatch posture`
//! (crate trailwatch-posture) run every `every` from the watch, each check's last known
//! status is kept in the state database, and a check that passed and now fails is an alert
//! through the sinks — one incident per check and resource each time it regresses. A check
//! that cannot be read (`unknown`) neither alerts nor forgets that it passed.

use crate::config::de_duration;
use serde::Deserialize;
use std::time::Duration;
use trailwatch_model::time::format_ms;
use trailwatch_model::{Alert, Provider};
use trailwatch_posture::azure::AzureOptions;
use trailwatch_posture::{AwsOptions, Check, Status};

/// The rule id of a regressed check's alert.
pub const POSTURE_RULE: &str = "trailwatch-posture-regressed";

/// `[posture]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostureSection {
    /// Time between two runs of the checks.
    #[serde(default = "default_every", deserialize_with = "de_duration")]
    pub every: Duration,
    /// `[posture.aws]`: `posture aws` as the watch runs it.
    #[serde(default)]
    pub aws: Option<AwsPostureConfig>,
    /// `[posture.azure]`: `posture azure` as the watch runs it.
    #[serde(default)]
    pub azure: Option<AzurePostureConfig>,
}

fn default_every() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// `[posture.aws]`: the options of `posture aws` (credentials from the usual places).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsPostureConfig {
    pub regions: Vec<String>,
    pub profile: Option<String>,
    pub endpoint: Option<String>,
    pub organization: bool,
}

impl AwsPostureConfig {
    pub fn build(&self) -> AwsOptions {
        AwsOptions {
            regions: self.regions.clone(),
            profile: self.profile.clone(),
            endpoint: self.endpoint.clone(),
            organization: self.organization,
        }
    }
}

/// `[posture.azure]`: the options of `posture azure` (a service principal from the
/// environment, or the Azure CLI's login).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzurePostureConfig {
    pub subscriptions: Vec<String>,
    pub endpoint: Option<String>,
}

impl AzurePostureConfig {
    pub fn build(&self) -> AzureOptions {
        AzureOptions {
            subscriptions: self.subscriptions.clone(),
            endpoint: self.endpoint.clone(),
        }
    }
}

impl PostureSection {
    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.aws.is_none() && self.azure.is_none() {
            return Err("[posture] names neither [posture.aws] nor [posture.azure]".into());
        }
        if self.every < Duration::from_secs(1) {
            return Err("[posture] every must be at least 1s".into());
        }
        if self
            .azure
            .as_ref()
            .is_some_and(|a| a.subscriptions.is_empty())
        {
            return Err("[posture.azure] lists no subscriptions".into());
        }
        Ok(())
    }

    /// Runs every configured cloud's checks. A cloud whose run could not start (no
    /// credentials, a bad region) gives a problem instead of checks; the other still runs.
    pub fn run(&self) -> (Vec<(Provider, Check)>, Vec<String>) {
        let mut checks = Vec::new();
        let mut problems = Vec::new();
        if let Some(aws) = &self.aws {
            match aws.build().run() {
                Ok(c) => checks.extend(c.into_iter().map(|c| (Provider::Aws, c))),
                Err(e) => problems.push(format!("posture aws: {e}")),
            }
        }
        if let Some(azure) = &self.azure {
            match azure.build().run() {
                Ok(c) => checks.extend(c.into_iter().map(|c| (Provider::Azure, c))),
                Err(e) => problems.push(format!("posture azure: {e}")),
            }
        }
        (checks, problems)
    }
}

/// What identifies a check across runs: its id and where it looked.
pub fn check_key(c: &Check) -> String {
    [c.id, &c.account, &c.region, &c.resource].join("\u{0}")
}

/// Whether a check regressed: it fails now and passed when last known.
pub fn regressed(last_known: Option<&str>, now: Status) -> bool {
    now == Status::Fail && last_known == Some(Status::Pass.as_str())
}

/// The alert of a regressed check, at `now_ms`.
pub fn alert(id: String, provider: Provider, c: &Check, now_ms: i64) -> Alert {
    let fix = c
        .fix
        .as_deref()
        .map(|f| format!(" Fix: {f}"))
        .unwrap_or_default();
    Alert {
        id,
        rule_id: POSTURE_RULE.to_string(),
        title: format!("Logging set-up check failed: {}", c.title),
        severity: c.severity,
        first_seen: format_ms(now_ms),
        last_seen: format_ms(now_ms),
        count: 1,
        event_ids: Vec::new(),
        provider,
        account: Some(c.account.clone()),
        region: (!c.region.is_empty()).then(|| c.region.clone()),
        principal: "-".to_string(),
        source_ips: Vec::new(),
        actions: vec![c.id.to_string()],
        resources: vec![c.resource.clone()],
        tags: vec!["trailwatch.posture".to_string(), c.id.to_string()],
        description: format!(
            "{} passed when last checked and fails now: {}.{fix}",
            c.id, c.evidence
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pass_turning_into_a_fail_regresses() {
        assert!(regressed(Some("pass"), Status::Fail));
        assert!(!regressed(None, Status::Fail));
        assert!(!regressed(Some("fail"), Status::Fail));
        assert!(!regressed(Some("pass"), Status::Unknown));
        assert!(!regressed(Some("pass"), Status::Pass));
    }

    #[test]
    fn a_section_needs_a_cloud() {
        let s: PostureSection = toml::from_str("every = \"1h\"").expect("parse");
        assert!(s.validate().is_err());
        let s: PostureSection =
            toml::from_str("every = \"1h\"\n[aws]\nregions = [\"us-east-1\"]").expect("parse");
        assert!(s.validate().is_ok());
        assert!(toml::from_str::<PostureSection>("[aws]\nbogus = 1").is_err());
    }
}
