//! `hunt --baselines` / `hunt --config FILE`: learned baselines, attack chains, severity by
//! context and suppressions (trailwatch-baseline) over a hunt's alerts.

use crate::cli::HuntArgs;
use anyhow::{Context, Result};
use std::path::PathBuf;
use trailwatch_baseline::{
    load_config, process, BaselineState, Config, Observations, ProcessOptions,
};
use trailwatch_detect::group::{sort_pending, PendingAlert};
use trailwatch_model::Severity;

/// What `hunt` was asked for beyond the rules.
pub struct Plan {
    pub cfg: Config,
    /// Raise baseline and chain alerts.
    pub baselines: bool,
    /// Keep events for the baselines/context at all.
    pub active: bool,
    /// Where learned state is read and written.
    pub state: Option<PathBuf>,
}

impl Plan {
    pub fn new(a: &HuntArgs) -> Result<Plan> {
        let cfg = match &a.config {
            Some(p) => load_config(p).with_context(|| format!("--config {}", p.display()))?,
            None => Config::default(),
        };
        let baselines = a.baselines || cfg.baselines.enabled;
        let active = baselines || a.config.is_some();
        let state = a
            .baseline_state
            .clone()
            .or_else(|| cfg.baselines.state_file.as_ref().map(PathBuf::from))
            .or_else(|| {
                a.input
                    .store
                    .as_ref()
                    .map(|d| d.join(trailwatch_baseline::STATE_FILE_IN_STORE))
            })
            .or_else(|| {
                a.output.output.as_ref().map(|o| {
                    o.parent()
                        .filter(|d| !d.as_os_str().is_empty())
                        .map_or_else(
                            || PathBuf::from("baselines.json"),
                            |d| d.join("baselines.json"),
                        )
                })
            });
        if baselines && state.is_none() {
            tracing::warn!(
                "baselines are learned for this run only (give --baseline-state FILE, --store or -o to keep them)"
            );
        }
        Ok(Plan {
            cfg,
            baselines,
            active,
            state,
        })
    }

    /// The level the rules must be loaded at so that an alert raised by context to
    /// `min_level` is not lost before it is raised.
    pub fn rule_level(&self, min_level: Severity) -> Severity {
        if !self.active {
            return min_level;
        }
        self.cfg.severity.rule_level(min_level)
    }

    /// Runs the engine and hygiene over the hunt's alerts; returns the alerts to print and a
    /// note for the run summary.
    pub fn apply(
        &self,
        alerts: Vec<PendingAlert>,
        obs: &Observations,
        min_level: Severity,
        group_window_ms: i64,
    ) -> Result<(Vec<PendingAlert>, String)> {
        let state = match &self.state {
            Some(p) => BaselineState::load(p)?,
            None => BaselineState::default(),
        };
        let given: Vec<_> = alerts
            .iter()
            .map(|p| (p.to_alert(), p.first_ms()))
            .collect();
        drop(alerts);
        let opts = ProcessOptions {
            baselines: self.baselines,
            group_window_ms,
            min_level,
            now_ms: trailwatch_baseline::config::now_ms(),
        };
        let out = process(&self.cfg, &opts, obs, state, given)?;
        if let Some(p) = &self.state {
            out.state.save(p)?;
        }
        if out.dropped > 0 {
            tracing::warn!(
                dropped = out.dropped,
                "events beyond [baselines] max_events were not baselined"
            );
        }
        let mut note = String::new();
        if self.baselines {
            note.push_str(&format!(
                "; {} baseline/chain alerts ({} events learned, {} already in the baseline)",
                out.baseline_alerts, out.replayed, out.already_learned
            ));
        }
        if out.raised > 0 {
            note.push_str(&format!("; {} raised by context", out.raised));
        }
        let suppressed: u64 = out.suppressed.iter().map(|(_, n)| n).sum();
        if suppressed > 0 {
            note.push_str(&format!("; {suppressed} suppressed"));
        }
        let mut pending: Vec<PendingAlert> = out
            .alerts
            .into_iter()
            .map(|(a, t)| PendingAlert::ready(a, t))
            .collect();
        sort_pending(&mut pending);
        Ok((pending, note))
    }
}
