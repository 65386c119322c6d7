//! The `[organization]`, `[detection]`, `[baselines]`, `[[suppressions]]` and `[severity]`
//! sections of a watch configuration, checked by `trailwatch-baseline` as `hunt --config`
//! checks them, and turned into the detection engine the pipeline runs (the same
//! [`EngineOptions::resolve`] as `hunt`).

use trailwatch_baseline::Config as DetectionConfig;
use trailwatch_detect::EngineOptions;

use crate::config::Config;
use crate::error::WatchError;

/// The checked sections (defaults when the configuration has none of them) and whether any
/// was given.
pub(crate) fn detection_config(
    config: &Config,
    file: &str,
) -> Result<(DetectionConfig, bool), WatchError> {
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
        return Ok((DetectionConfig::default(), false));
    }
    let cfg = trailwatch_baseline::check_config(&sections.to_string()).map_err(|e| {
        WatchError::Config {
            file: file.into(),
            reason: e.to_string(),
        }
    })?;
    if cfg.baselines.state_file.is_some() {
        tracing::warn!(
            "[baselines] state_file is for hunt: a watch keeps what it learned with its checkpoints"
        );
    }
    Ok((cfg, true))
}

/// The engine a watch runs: chains always (unless `[detection] chains = false`), baselines
/// when `[baselines] enabled`, context and suppressions when any section is given.
pub(crate) fn engine(config: &Config, file: &str) -> Result<Option<EngineOptions>, WatchError> {
    let (cfg, configured) = detection_config(config, file)?;
    Ok(EngineOptions::resolve(cfg, false, false, configured))
}
