//! The `[detection]`, `[baselines]`, `[[suppressions]]` and `[severity]` sections applied to what each step of
//! the watch finds, as `hunt --config` applies them to a batch: learned baselines and attack
//! chains (their state kept beside the store, so learning goes on across steps and restarts),
//! severity raised by context, and suppressions.

use std::path::{Path, PathBuf};

use trailwatch_baseline::{process, BaselineState, ProcessOptions};
use trailwatch_detect::HuntReport;
use trailwatch_model::{Alert, Severity};

use crate::config::Config;
use crate::error::WatchError;

/// The checked sections and where the baseline state lives.
#[derive(Debug)]
pub(crate) struct Hygiene {
    cfg: trailwatch_baseline::Config,
    state_path: PathBuf,
    file: String,
}

impl Hygiene {
    /// `None` when the configuration has none of the five sections (nothing to apply).
    pub(crate) fn from_config(
        config: &Config,
        store_dir: &Path,
        file: &str,
    ) -> Result<Option<Hygiene>, WatchError> {
        let mut sections = toml::Table::new();
        let present = [
            ("organization", &config.organization),
            ("detection", &config.detection),
            ("baselines", &config.baselines),
            ("suppressions", &config.suppressions),
            ("severity", &config.severity),
        ];
        for (name, value) in present {
            if let Some(v) = value {
                sections.insert(name.into(), v.clone());
            }
        }
        if sections.is_empty() {
            return Ok(None);
        }
        let cfg = trailwatch_baseline::check_config(&sections.to_string()).map_err(|e| {
            WatchError::Config {
                file: file.into(),
                reason: e.to_string(),
            }
        })?;
        let state_path = cfg.baselines.state_file.as_ref().map_or_else(
            || store_dir.join(trailwatch_baseline::STATE_FILE_IN_STORE),
            PathBuf::from,
        );
        Ok(Some(Hygiene {
            cfg,
            state_path,
            file: file.into(),
        }))
    }

    /// `[detection] instance_types`: the site's changes to the built-in pack.
    pub(crate) fn pack_tuning(&self) -> trailwatch_detect::PackTuning {
        trailwatch_detect::PackTuning {
            instance_types: self.cfg.detection.instance_types.clone(),
        }
    }

    /// `[organization] accounts`, for reading calls' content.
    pub(crate) fn content(&self) -> trailwatch_detect::content::ContentOptions {
        trailwatch_detect::content::ContentOptions {
            organization: self.cfg.organization.accounts.clone(),
        }
    }

    /// `[detection] include_service_principals`.
    pub(crate) fn include_service_principals(&self) -> bool {
        self.cfg.detection.include_service_principals
    }

    /// Events held for one step's time-ordered pass.
    pub(crate) fn max_events(&self) -> usize {
        self.cfg.baselines.max_events
    }

    /// The level rules must be loaded at (see `SeverityConfig::rule_level`).
    pub(crate) fn rule_level(&self, min_level: Severity) -> Severity {
        self.cfg.severity.rule_level(min_level)
    }

    /// The step's alerts after baselines, chains, context and suppressions; the state is saved
    /// before they are returned (so a crash after this point relearns nothing twice).
    pub(crate) fn apply(
        &self,
        report: &mut HuntReport,
        min_level: Severity,
        group_window_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Alert>, WatchError> {
        let failed = |reason: String| WatchError::Config {
            file: self.file.clone(),
            reason,
        };
        let given: Vec<(Alert, i64)> = report
            .alerts
            .iter()
            .map(|p| (p.to_alert(), p.first_ms()))
            .collect();
        let obs = report.observations.take().unwrap_or_default();
        let state = BaselineState::load(&self.state_path).map_err(|e| failed(e.to_string()))?;
        let opts = ProcessOptions {
            baselines: self.cfg.baselines.enabled,
            chains: self.cfg.baselines.enabled,
            context: true,
            group_window_ms,
            min_level,
            now_ms,
        };
        let out =
            process(&self.cfg, &opts, &obs, state, given).map_err(|e| failed(e.to_string()))?;
        out.state
            .save(&self.state_path)
            .map_err(|e| failed(e.to_string()))?;
        if out.dropped > 0 {
            tracing::warn!(
                dropped = out.dropped,
                "events beyond [baselines] max_events were not baselined"
            );
        }
        Ok(out.alerts.into_iter().map(|(a, _)| a).collect())
    }
}
