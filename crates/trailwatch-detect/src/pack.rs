//! [`RulePack`]: the rules a run uses, loaded and routed to each cloud.

use std::path::{Path, PathBuf};
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
}

impl RulePack {
    /// Loads the built-in pack (unless `builtin` is false) and every directory in `dirs`;
    /// rules below `min_level` are not evaluated unless a correlation needs them.
    pub fn load(
        builtin: bool,
        dirs: &[PathBuf],
        min_level: Severity,
    ) -> Result<RulePack, PackError> {
        let mut loader = Loader::new();
        if builtin {
            for (name, text) in crate::builtin::files() {
                loader.load_str(text, &name);
            }
        }
        for d in dirs {
            if !Path::new(d).is_dir() {
                return Err(PackError::Missing(d.clone()));
            }
            loader.load_dir(d);
        }
        let report = loader.finish();
        let aws = report.ruleset(&RuleSetConfig::aws_cloudtrail(min_level));
        let azure = report.ruleset(&RuleSetConfig::azure_activitylogs(min_level));
        Ok(RulePack { report, aws, azure })
    }

    /// The rule set for a cloud's events.
    pub fn set(&self, provider: Provider) -> &RuleSet {
        match provider {
            Provider::Aws => &self.aws,
            Provider::Azure => &self.azure,
        }
    }

    /// Rules that failed to compile, with file and reason.
    pub fn failures(&self) -> &[LoadFailure] {
        &self.report.failures
    }
}
