//! `hunt --baselines` / `hunt --config FILE`: learned baselines, attack chains, severity by
//! context and suppressions (trailwatch-baseline) over a hunt's alerts.

use crate::cli::HuntArgs;
use crate::when::Clock;
use anyhow::{Context, Result};
use std::path::PathBuf;
use trailwatch_baseline::{load_config, BaselineState, Config};
use trailwatch_detect::{Committed, EngineOptions};

/// What `hunt` was asked for beyond the rules.
pub struct Plan {
    /// The configuration's sections (defaults without `--config`).
    pub cfg: Config,
    /// Baselines, chains, context and suppressions; `None` when all are off.
    pub engine: Option<EngineOptions>,
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
        let engine =
            EngineOptions::resolve(cfg.clone(), a.baselines, a.no_chains, a.config.is_some());
        let baselines = engine.as_ref().is_some_and(|e| e.baselines);
        let state = if baselines { state_path(a, &cfg) } else { None };
        if baselines && state.is_none() {
            tracing::warn!(
                "baselines are learned for this run only (give --baseline-state FILE, --store or -o to keep them)"
            );
        }
        Ok(Plan {
            cfg,
            engine,
            state,
            clock,
        })
    }

    /// What the baselines learned before (an empty state without a state file).
    pub fn learned(&self) -> Result<BaselineState> {
        Ok(match &self.state {
            Some(p) => BaselineState::load(p)?,
            None => BaselineState::default(),
        })
    }

    /// Keeps what the baselines learned, where they were read from.
    pub fn keep(&self, learned: Option<&BaselineState>) -> Result<()> {
        if let (Some(p), Some(s)) = (&self.state, learned) {
            s.save(p)?;
        }
        Ok(())
    }

    /// A note on what the engine did, for the run summary.
    pub fn note(&self, done: &Committed) -> String {
        let Some(engine) = &self.engine else {
            return String::new();
        };
        if done.dropped > 0 {
            tracing::warn!(
                dropped = done.dropped,
                "events beyond [baselines] max_events were not baselined"
            );
        }
        let mut note = String::new();
        if engine.baselines {
            note.push_str(&format!(
                "; {} baseline/chain alerts ({} events learned, {} already in the baseline)",
                done.engine_alerts, done.replayed, done.already_learned
            ));
        } else if engine.chains {
            note.push_str(&format!("; {} chain alerts", done.engine_alerts));
        }
        if done.raised > 0 {
            note.push_str(&format!("; {} raised by context", done.raised));
        }
        if done.suppressed > 0 {
            note.push_str(&format!("; {} suppressed", done.suppressed));
        }
        note
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
