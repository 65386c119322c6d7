//! `hunt --baselines` / `hunt --config FILE`: learned baselines, attack chains, severity by
//! context and suppressions (trailwatch-baseline) over a hunt's alerts.

use crate::cli::HuntArgs;
use crate::when::Clock;
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
    /// Raise learned-baseline alerts.
    pub baselines: bool,
    /// Raise attack-chain alerts (on unless `--no-chains` or `[detection] chains = false`).
    pub chains: bool,
    /// Raise severities by context and apply suppressions (`--config` or `--baselines`).
    pub context: bool,
    /// Keep events for the engine at all.
    pub active: bool,
    /// Where learned state is read and written (only with learned baselines: the chains of a
    /// plain hunt see every event of its inputs).
    pub state: Option<PathBuf>,
    /// The run's reference time, for suppression expiry.
    pub clock: Clock,
}

impl Plan {
    pub fn new(a: &HuntArgs, clock: Clock) -> Result<Plan> {
        let cfg = match &a.config {
            Some(p) => load_config(p).with_context(|| format!("--config {}", p.display()))?,
            None => Config::default(),
        };
        let baselines = a.baselines || cfg.baselines.enabled;
        let chains = !a.no_chains && cfg.detection.chains;
        let context = baselines || a.config.is_some();
        let state = if baselines { state_path(a, &cfg) } else { None };
        if baselines && state.is_none() {
            tracing::warn!(
                "baselines are learned for this run only (give --baseline-state FILE, --store or -o to keep them)"
            );
        }
        Ok(Plan {
            cfg,
            baselines,
            chains,
            context,
            active: baselines || chains || context,
            state,
            clock,
        })
    }

    /// The level the rules must be loaded at so that an alert raised by context to
    /// `min_level` is not lost before it is raised.
    pub fn rule_level(&self, min_level: Severity) -> Severity {
        if !self.context {
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
        // Context and suppressions act on every alert, which must then be rendered; the chains
        // alone only add alerts, and the hunt's stay pending (their event ids not turned into
        // text for nothing).
        let (given, mut pending): (Vec<_>, Vec<PendingAlert>) = if self.context {
            let given = alerts
                .iter()
                .map(|p| (p.to_alert(), p.first_ms()))
                .collect();
            (given, Vec::new())
        } else {
            (Vec::new(), alerts)
        };
        let opts = ProcessOptions {
            baselines: self.baselines,
            chains: self.chains,
            context: self.context,
            group_window_ms,
            min_level,
            now_ms: self.clock.now_ms(),
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
        } else if self.chains {
            note.push_str(&format!("; {} chain alerts", out.baseline_alerts));
        }
        if out.raised > 0 {
            note.push_str(&format!("; {} raised by context", out.raised));
        }
        let suppressed: u64 = out.suppressed.iter().map(|(_, n)| n).sum();
        if suppressed > 0 {
            note.push_str(&format!("; {suppressed} suppressed"));
        }
        pending.extend(
            out.alerts
                .into_iter()
                .map(|(a, t)| PendingAlert::ready(a, t)),
        );
        sort_pending(&mut pending);
        Ok((pending, note))
    }
}

/// Where learned baselines are kept: `--baseline-state`, `[baselines] state_file`, the store,
/// or beside the output file.
fn state_path(a: &HuntArgs, cfg: &Config) -> Option<PathBuf> {
    a.baseline_state
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
        })
}

/// The attack-chain alerts of a hunt's observations, as a default hunt raises them (the same
/// ids), for commands that start from an alert.
pub fn chain_alerts(
    obs: &Observations,
    group_window_ms: i64,
) -> Result<Vec<trailwatch_model::Alert>> {
    let opts = ProcessOptions {
        baselines: false,
        chains: true,
        context: false,
        group_window_ms,
        min_level: Severity::Informational,
        now_ms: 0,
    };
    let out = process(
        &Config::default(),
        &opts,
        obs,
        BaselineState::default(),
        Vec::new(),
    )?;
    Ok(out.alerts.into_iter().map(|(a, _)| a).collect())
}
