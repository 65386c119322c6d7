//! [`RulePack`]: the rules a run uses, loaded and routed to each cloud.

use crate::entra_tuning::{EntraTuning, BREAK_GLASS_RULE_FILE};
use std::path::{Path, PathBuf};
use trailwatch_baseline::DetectionConfig;
use trailwatch_model::{Provider, Severity};
use trailwatch_sigma::{LoadFailure, LoadReport, Loader, RuleSet, RuleSetConfig};

/// A rule directory could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("rule directory {0}: no such directory")]
    Missing(PathBuf),
}

/// Loaded rules and the per-cloud rule sets built from them.
pub struct RulePack {
    pub report: LoadReport,
    pub aws: RuleSet,
    pub azure: RuleSet,
    /// Microsoft Entra ID: rules of `product: azure` for the services `signinlogs`,
    /// `auditlogs`, `riskdetection` and `pim`.
    pub entra: RuleSet,
}

/// What a site changes in the built-in pack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackTuning {
    /// The EC2 instance types the organisation launches (`"t3.*"`, `"m6i.large"`; Sigma
    /// wildcards). When given, the launch rule flags every type outside this list instead of
    /// the GPU, accelerated, metal and bulk families it flags by default.
    pub instance_types: Option<Vec<String>>,
}

/// The built-in rule the instance-type allow-list replaces.
const INSTANCE_LAUNCH_RULE: &str = "aws_ec2_unusual_instance_launch.yml";

impl PackTuning {
    /// The text of a built-in rule file as this site runs it.
    fn builtin_text(&self, name: &str, text: &'static str) -> std::borrow::Cow<'static, str> {
        match &self.instance_types {
            Some(allowed) if name.ends_with(INSTANCE_LAUNCH_RULE) => {
                instance_allow_list_rule(allowed).into()
            }
            _ => text.into(),
        }
    }
}

/// The launch rule for an allow-list: any instance type not in it, or more than nine
/// instances in one call. Types are written as JSON strings (valid YAML whatever they hold).
fn instance_allow_list_rule(allowed: &[String]) -> String {
    let list: Vec<String> = allowed
        .iter()
        .map(|t| format!("    - {}", serde_json::Value::String(t.clone())))
        .collect();
    let list = list.join("\n");
    let description = serde_json::Value::String(format!(
        "RunInstances requested an instance type outside [detection] instance_types ({}) or more than nine instances in one call.",
        allowed.join(", ")
    ));
    format!(
        r#"title: AWS EC2 Instance Type Outside the Allow-List
id: 6d431f73-1b3e-4f21-a134-f6846307daab
status: test
description: {description}
author: trailwatch
tags:
- attack.impact
- attack.t1496
- attack.t1496.001
- attack.execution
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: RunInstances
  type_request:
    requestParameters.instanceType|exists: true
  allowed_request:
    requestParameters.instanceType:
{list}
  type_items:
    requestParameters.instancesSet.items.instanceType|exists: true
  allowed_items:
    requestParameters.instancesSet.items.instanceType:
{list}
  type_many:
    requestParameters.instancesSet.items.maxCount|gt: 9
  condition: selection and ((type_request and not allowed_request) or (type_items and not allowed_items) or type_many)
falsepositives:
- A new instance family the allow-list does not name yet
level: medium
"#,
    )
}

impl RulePack {
    /// Loads the built-in pack (unless `builtin` is false) and every directory in `dirs`;
    /// rules below `min_level` are not evaluated unless a correlation needs them.
    pub fn load(
        builtin: bool,
        dirs: &[PathBuf],
        min_level: Severity,
    ) -> Result<RulePack, PackError> {
        Self::load_tuned(builtin, dirs, min_level, &PackTuning::default())
    }

    /// [`RulePack::load`] with the site's changes to the built-in pack (the Entra ID rules
    /// as built in).
    pub fn load_tuned(
        builtin: bool,
        dirs: &[PathBuf],
        min_level: Severity,
        tuning: &PackTuning,
    ) -> Result<RulePack, PackError> {
        Self::load_site(builtin, dirs, min_level, tuning, &EntraTuning::default())
    }

    /// [`RulePack::load`] with everything `[detection]` changes in the built-in pack: the
    /// instance-type allow-list, the Entra ID thresholds and the break-glass accounts.
    pub fn load_configured(
        builtin: bool,
        dirs: &[PathBuf],
        min_level: Severity,
        detection: &DetectionConfig,
    ) -> Result<RulePack, PackError> {
        let tuning = PackTuning {
            instance_types: detection.instance_types.clone(),
        };
        let entra = EntraTuning::from(detection);
        Self::load_site(builtin, dirs, min_level, &tuning, &entra)
    }

    /// [`RulePack::load`] with the site's changes to the built-in AWS and Entra ID rules.
    pub fn load_site(
        builtin: bool,
        dirs: &[PathBuf],
        min_level: Severity,
        tuning: &PackTuning,
        entra: &EntraTuning,
    ) -> Result<RulePack, PackError> {
        let mut loader = Loader::new();
        if builtin {
            for (name, text) in crate::builtin::files() {
                let text = match entra.retuned(text) {
                    Some(retuned) => retuned.into(),
                    None => tuning.builtin_text(&name, text),
                };
                loader.load_str(&text, &name);
            }
            if let Some(rule) = entra.break_glass_rule() {
                loader.load_str(&rule, BREAK_GLASS_RULE_FILE);
            }
        }
        for d in dirs {
            if !Path::new(d).is_dir() {
                return Err(PackError::Missing(d.clone()));
            }
            loader.load_dir(d);
        }
        let report = loader.finish();
        // Rules about calls whose content can raise their alerts stay in below `min_level`.
        let aws = report.ruleset(&RuleSetConfig {
            raisable: Some(crate::content::is_assessed),
            ..RuleSetConfig::aws_cloudtrail(min_level)
        });
        let azure = report.ruleset(&RuleSetConfig {
            raisable: Some(crate::content::is_assessed_azure),
            ..RuleSetConfig::azure_activitylogs(min_level)
        });
        let entra = report.ruleset(&RuleSetConfig::azure_entra(min_level));
        Ok(RulePack {
            report,
            aws,
            azure,
            entra,
        })
    }

    /// The rule set for a cloud's events.
    pub fn set(&self, provider: Provider) -> &RuleSet {
        match provider {
            Provider::Aws => &self.aws,
            Provider::Azure => &self.azure,
            Provider::Entra => &self.entra,
        }
    }

    /// Rules that failed to compile, with file and reason.
    pub fn failures(&self) -> &[LoadFailure] {
        &self.report.failures
    }
}
