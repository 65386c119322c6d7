//! The `[organization]`, `[detection]`, `[baselines]`, `[[suppressions]]` and `[severity]`
//! sections of a watch configuration, checked by `trailwatch-baseline` as `hunt --config`
//! checks them, and turned into the detection engine the pipeline runs (the same
//! [`EngineOptions::resolve`] as `hunt`).

use trailwatch_baseline::{Config as DetectionConfig, Suppression};
use trailwatch_detect::{EngineOptions, PackTuning, RulePack};

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
/// The engine of a configuration, with the suppressions admins manage from the console
/// ([`crate::managed`]) added to its own.
pub(crate) fn engine(config: &Config, file: &str) -> Result<Option<EngineOptions>, WatchError> {
    let (mut cfg, mut configured) = detection_config(config, file)?;
    let managed = crate::managed::load(&crate::store_dir(config))?;
    configured |= !managed.is_empty();
    cfg.suppressions.extend(managed);
    Ok(EngineOptions::resolve(cfg, false, false, configured))
}

/// The rules a watch runs, resolved as `watch` resolves them: the built-in pack unless
/// `[watch] builtin_rules = false`, the `[watch] rules` folders, at `[watch] min_level` (lower
/// when `[severity]` context can raise an alert), with `[detection]`'s changes to the pack.
pub fn rule_pack(config: &Config) -> Result<RulePack, WatchError> {
    let engine = engine(config, "configuration")?;
    pack_for(config, engine.as_ref())
}

/// [`rule_pack`] with the engine already built from the same configuration.
pub(crate) fn pack_for(
    config: &Config,
    engine: Option<&EngineOptions>,
) -> Result<RulePack, WatchError> {
    let rule_level = engine.map_or(config.watch.min_level, |e| {
        e.rule_level(config.watch.min_level)
    });
    let tuning = engine
        .map(|e| PackTuning {
            instance_types: e.cfg.detection.instance_types.clone(),
        })
        .unwrap_or_default();
    RulePack::load_tuned(
        config.watch.builtin_rules,
        &config.watch.rules,
        rule_level,
        &tuning,
    )
    .map_err(|e| WatchError::Rules(e.to_string()))
}

/// The configuration's `[[suppressions]]`, checked (expired ones included: each says when).
pub fn suppressions(config: &Config) -> Result<Vec<Suppression>, WatchError> {
    Ok(detection_config(config, "configuration")?.0.suppressions)
}
