//! The detection pipeline: one object that holds every piece of detection state, used by
//! `hunt`, `hunt --store` and `watch`.
//!
//! A batch hunt is "feed everything, then [`finish`](Pipeline::finish)"; a watch step is
//! "feed what was read, then [`commit`](Pipeline::commit)", and its
//! [`snapshot`](Pipeline::snapshot) is saved with the watch's checkpoint, so that a restart
//! [`restore`](Pipeline::restore)s it and goes on as if it had never stopped.
//!
//! Signature rules are order-free: their firings are grouped and handed out at the next
//! commit. The stateful detectors are not: Sigma correlations, the attack chains, denied
//! bursts, console guessing and the learned baselines see events in time order. Events are
//! delivered late and out of order (CloudTrail writes a file per region about every five
//! minutes, up to 15 minutes after the call), so these detectors only decide about events at
//! or before a *watermark*: the latest event time fed so far minus the reorder window. An event
//! that arrives behind the watermark still gets every signature detection and joins every
//! window still open; what it came too late for is counted ([`Lateness`]).
//!
//! What is kept between steps is bounded by the open windows: the correlation observations not
//! decided yet, the events of the engine's longest window behind the watermark (replayed each
//! step, see [`trailwatch_baseline::process_step`]) and what the baselines learned.

use crate::group::{merge_whole, sort_pending, Grouper, PendingAlert, WholeAlert};
use crate::hunt::{correlation_alert, FactBook, FactRow, HuntOptions, Lateness, Worker};
use crate::pack::RulePack;
use crate::scan::par_read;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use std::ops::Deref;
use trailwatch_baseline::{process_step, BaselineState, Config, ProcessOptions, Replay};
use trailwatch_decode::{DecodeError, FileStats, Input};
use trailwatch_model::Severity;
use trailwatch_sigma::{CorrelationHit, CorrelationSnapshot, CorrelationState};

/// Bumped when the snapshot's layout changes; another version is refused, not misread.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The reorder window when none is configured: CloudTrail's delivery delay.
pub const DEFAULT_REORDER_MS: i64 = 15 * 60_000;

/// Why a pipeline could not commit or be restored.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("baselines: {0}")]
    Baselines(#[from] trailwatch_baseline::ConfigError),
    #[error("pipeline state has version {found}, this build reads {SNAPSHOT_VERSION}")]
    Version { found: u32 },
    #[error("pipeline state cannot be taken with firings not yet committed")]
    Uncommitted,
}

/// The learned baselines, attack chains and context of `[baselines]`, `[detection]`,
/// `[severity]` and `[[suppressions]]`.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub cfg: Config,
    /// Raise learned-baseline alerts.
    pub baselines: bool,
    /// Raise attack-chain alerts.
    pub chains: bool,
    /// Raise severities by context and apply suppressions.
    pub context: bool,
}

impl EngineOptions {
    /// The engine a run asks for: baselines when `[baselines] enabled` or `want_baselines`
    /// (`hunt --baselines`), chains unless `[detection] chains = false` or `no_chains`,
    /// context and suppressions with baselines or whenever a configuration was given. `None`
    /// when none of them is on.
    pub fn resolve(
        cfg: Config,
        want_baselines: bool,
        no_chains: bool,
        configured: bool,
    ) -> Option<EngineOptions> {
        let baselines = want_baselines || cfg.baselines.enabled;
        let chains = !no_chains && cfg.detection.chains;
        let context = baselines || configured;
        (baselines || chains || context).then_some(EngineOptions {
            cfg,
            baselines,
            chains,
            context,
        })
    }

    /// Chains only, with the default configuration (what a default hunt raises).
    pub fn chains_only() -> EngineOptions {
        EngineOptions {
            cfg: Config::default(),
            baselines: false,
            chains: true,
            context: false,
        }
    }

    /// The level the rules must be loaded at so that an alert raised by context to
    /// `min_level` is not lost before it is raised.
    pub fn rule_level(&self, min_level: Severity) -> Severity {
        if self.context {
            self.cfg.severity.rule_level(min_level)
        } else {
            min_level
        }
    }
}

/// How a pipeline detects.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub hunt: HuntOptions,
    /// `None`: signature rules and correlations only.
    pub engine: Option<EngineOptions>,
    /// Alerts below this level (after context) are dropped.
    pub min_level: Severity,
    /// How late an event may arrive and still be decided about in time order.
    pub reorder_ms: i64,
}

impl PipelineOptions {
    /// Every detector `engine` asks for; what the hunt needs of the configuration (service
    /// principals, the organisation's accounts, which events to keep) is taken from it here,
    /// once, for every command.
    pub fn new(
        mut hunt: HuntOptions,
        engine: Option<EngineOptions>,
        min_level: Severity,
        reorder_ms: i64,
    ) -> PipelineOptions {
        if let Some(e) = &engine {
            hunt.include_service_principals = e.cfg.detection.include_service_principals;
            let org = &e.cfg.organization;
            hunt.content = crate::content::ContentOptions {
                organization: org.accounts.clone(),
                subscriptions: org
                    .subscriptions
                    .iter()
                    .map(|s| s.to_ascii_lowercase())
                    .collect(),
                environments: org
                    .non_production
                    .as_ref()
                    .map_or_else(Default::default, crate::Environments::new),
            };
            hunt.observe_chain_steps_only = !e.baselines && !e.context;
        }
        PipelineOptions {
            hunt,
            engine,
            min_level,
            reorder_ms,
        }
    }

    /// Signature rules and correlations only.
    pub fn signatures(hunt: HuntOptions) -> PipelineOptions {
        PipelineOptions {
            hunt,
            engine: None,
            min_level: Severity::Informational,
            reorder_ms: DEFAULT_REORDER_MS,
        }
    }

    fn keeps_events(&self) -> bool {
        self.engine.is_some()
    }
}

/// What one [`feed`](Pipeline::feed) read.
#[derive(Debug, Default)]
pub struct Fed {
    pub stats: FileStats,
    /// Events inside the time range (the ones the rules saw).
    pub examined: u64,
}

/// Events that arrived behind the watermark, since the pipeline began.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateCounts {
    /// Arrived at or before the watermark: they got every signature detection and joined
    /// every window still open.
    pub late: u64,
    /// Of those, too late for the baselines and chains (behind their replayed horizon).
    pub too_late: u64,
}

/// What a commit or finish hands out.
#[derive(Debug, Default)]
pub struct Committed {
    pub alerts: Vec<PendingAlert>,
    /// Alerts made by the baselines and chains (before suppression).
    pub engine_alerts: u64,
    /// Alerts raised by context.
    pub raised: u64,
    /// Alerts dropped by suppressions.
    pub suppressed: u64,
    /// Events the engine learned from, and those a loaded state had learned already.
    pub replayed: u64,
    pub already_learned: u64,
    /// Events not baselined because of `[baselines] max_events`.
    pub dropped: u64,
    /// The watermark this commit decided up to.
    pub watermark_ms: i64,
}

/// Every piece of detection state (see the module documentation).
pub struct Pipeline<P: Deref<Target = RulePack>> {
    pack: P,
    opts: PipelineOptions,
    grouper: Grouper,
    aws_corr: CorrelationState,
    azure_corr: CorrelationState,
    entra_corr: CorrelationState,
    facts: FactBook,
    accounts: FxHashSet<Box<str>>,
    replay: Option<Replay>,
    max_seen_ms: i64,
    watermark_ms: i64,
    late: LateCounts,
}

/// A pipeline's state between steps, as plain data (saved with the watch's checkpoint).
#[derive(Debug, Serialize, Deserialize)]
pub struct PipelineSnapshot {
    version: u32,
    max_seen_ms: i64,
    watermark_ms: i64,
    aws_correlations: CorrelationSnapshot,
    azure_correlations: CorrelationSnapshot,
    /// Absent from snapshots written before Entra ID was read.
    #[serde(default)]
    entra_correlations: CorrelationSnapshot,
    facts: Vec<FactRow>,
    accounts: Vec<String>,
    replay: Option<Replay>,
    late: LateCounts,
}

impl<P: Deref<Target = RulePack>> Pipeline<P> {
    /// Replaces the suppressions from the next step on (a running watch re-reads the ones
    /// admins manage). Suppressions act where context does, so a non-empty list turns context
    /// on; a pipeline built without an engine has nothing to apply them in and returns `false`.
    pub fn set_suppressions(&mut self, list: Vec<trailwatch_baseline::Suppression>) -> bool {
        let Some(engine) = self.opts.engine.as_mut() else {
            return list.is_empty();
        };
        engine.context |= !list.is_empty();
        engine.cfg.suppressions = list;
        true
    }

    /// A new pipeline; with an engine, learning starts from `base` (see
    /// [`with_learned`](Self::with_learned)).
    pub fn new(pack: P, opts: PipelineOptions) -> Self {
        let replay = opts
            .keeps_events()
            .then(|| Replay::new(BaselineState::default()));
        Pipeline {
            grouper: Grouper::new(opts.hunt.group),
            pack,
            opts,
            aws_corr: CorrelationState::new(),
            azure_corr: CorrelationState::new(),
            entra_corr: CorrelationState::new(),
            facts: FactBook::default(),
            accounts: FxHashSet::default(),
            replay,
            max_seen_ms: i64::MIN,
            watermark_ms: i64::MIN,
            late: LateCounts::default(),
        }
    }

    /// Goes on from baselines learned before (a state file).
    pub fn with_learned(mut self, base: BaselineState) -> Self {
        if let Some(r) = &mut self.replay {
            r.base = base;
        }
        self
    }

    /// What the baselines have learned (after a finish: from every event).
    pub fn learned(&self) -> Option<&BaselineState> {
        self.replay.as_ref().map(|r| &r.base)
    }

    pub fn options(&self) -> &PipelineOptions {
        &self.opts
    }

    /// The rules it runs.
    pub fn pack(&self) -> &P {
        &self.pack
    }

    /// Late events so far.
    pub fn late(&self) -> LateCounts {
        self.late
    }

    /// The watermark of the last commit (`i64::MIN` before the first).
    pub fn watermark_ms(&self) -> i64 {
        self.watermark_ms
    }

    /// Reads `inputs` on the configured threads through every signature rule; firings wait
    /// for the next commit, events for the stateful detectors.
    pub fn feed(
        &mut self,
        inputs: &[Input],
        on_error: &(dyn Fn(DecodeError) + Sync),
        on_progress: &(dyn Fn(u64) + Sync),
    ) -> Fed {
        let threads = self.opts.hunt.threads.clamp(1, inputs.len().max(1));
        let observe = self.opts.engine.as_ref().map(|e| {
            let cap = e.cfg.baselines.max_events;
            cap.div_ceil(threads).max(1)
        });
        let lateness = Lateness {
            watermark_ms: self.watermark_ms,
            learned_ms: self.replay.as_ref().map_or(i64::MIN, |r| r.base.as_of_ms),
        };
        let (pack, hunt) = (&*self.pack, &self.opts.hunt);
        let (workers, stats) = par_read(
            inputs,
            hunt.threads,
            &|| Worker::new(pack, hunt, observe, lateness),
            &|w, r| w.on_record(r),
            on_error,
            on_progress,
        );
        let mut fed = Fed { stats, examined: 0 };
        let mut collectors = Vec::new();
        for w in workers {
            fed.examined += w.examined;
            self.max_seen_ms = self.max_seen_ms.max(w.max_ms);
            self.late.late += w.late;
            self.late.too_late += w.too_late;
            self.accounts.extend(w.accounts);
            collectors.extend(w.observed);
            self.grouper.merge(w.grouper);
            self.aws_corr.merge(w.aws_corr);
            self.azure_corr.merge(w.azure_corr);
            self.entra_corr.merge(w.entra_corr);
            self.facts.merge(w.facts);
        }
        if let Some(r) = &mut self.replay {
            if !collectors.is_empty() {
                r.tail
                    .absorb(trailwatch_baseline::Observations::merge(collectors));
            }
        }
        tracing::debug!(
            live_mb = trailwatch_model::gauge::live_heap_mb(),
            peak_mb = trailwatch_model::gauge::peak_heap_mb(),
            groups = self.grouper.groups(),
            firings = self.grouper.firings(),
            facts = self.facts.len(),
            "fed"
        );
        fed
    }

    /// Hands out the firings fed since the last commit and everything the stateful detectors
    /// can decide up to the watermark (the latest event time fed minus the reorder window).
    /// `now_ms` is for suppression expiry.
    pub fn commit(&mut self, now_ms: i64) -> Result<Committed, PipelineError> {
        let w = self.max_seen_ms.saturating_sub(self.opts.reorder_ms);
        self.release(w.max(self.watermark_ms), now_ms)
    }

    /// Decides everything: the end of a batch (a hunt), or a watch told that nothing older is
    /// to come.
    pub fn finish(&mut self, now_ms: i64) -> Result<Committed, PipelineError> {
        self.release(i64::MAX, now_ms)
    }

    fn release(&mut self, watermark_ms: i64, now_ms: i64) -> Result<Committed, PipelineError> {
        self.watermark_ms = watermark_ms;
        let grouper = std::mem::replace(&mut self.grouper, Grouper::new(self.opts.hunt.group));
        let accounts = &self.accounts;
        let mut alerts = grouper.into_alerts(&|a| accounts.contains(a));
        alerts.extend(self.correlation_alerts(watermark_ms));
        let mut out = Committed {
            watermark_ms,
            ..Committed::default()
        };
        if let (Some(engine), Some(replay)) = (&self.opts.engine, &mut self.replay) {
            alerts = run_engine(
                engine,
                &self.opts,
                replay,
                watermark_ms,
                now_ms,
                alerts,
                &mut out,
            )?;
        }
        // A level lowered for a non-production environment may fall below the one asked for.
        let min_level = self.opts.min_level;
        alerts.retain(|a| a.severity() >= min_level);
        sort_pending(&mut alerts);
        out.alerts = alerts;
        if watermark_ms == i64::MAX {
            // Everything fed is decided; an event newer than all of it is not late.
            self.watermark_ms = self.max_seen_ms;
        }
        Ok(out)
    }

    /// The correlation hits decided up to `watermark_ms`, as alerts; the facts of events no
    /// correlation holds any more are forgotten.
    fn correlation_alerts(&mut self, watermark_ms: i64) -> Vec<PendingAlert> {
        let pack = &*self.pack;
        let min_level = pack.aws.config().min_level;
        let hits: Vec<CorrelationHit> = self
            .aws_corr
            .finish_until(&pack.aws, watermark_ms)
            .into_iter()
            .chain(self.azure_corr.finish_until(&pack.azure, watermark_ms))
            .chain(self.entra_corr.finish_until(&pack.entra, watermark_ms))
            .filter(|hit| hit.rule.generates_alerts() && hit.rule.level >= min_level)
            .collect();
        let whole: Vec<WholeAlert> = hits
            .iter()
            .map(|hit| WholeAlert {
                alert: correlation_alert(hit, &self.facts),
                first_ms: hit.first_ms,
                last_ms: hit.last_ms,
            })
            .collect();
        if watermark_ms == i64::MAX {
            self.facts = FactBook::default();
        } else {
            let held = self
                .aws_corr
                .event_ids()
                .chain(self.azure_corr.event_ids())
                .chain(self.entra_corr.event_ids());
            self.facts.retain(held);
        }
        merge_whole(whole, &self.opts.hunt.group)
    }

    /// The state to keep until the next step. Only between steps: firings fed and not
    /// committed are not part of it.
    pub fn snapshot(&self) -> Result<PipelineSnapshot, PipelineError> {
        if !self.grouper.is_empty() {
            return Err(PipelineError::Uncommitted);
        }
        let mut accounts: Vec<String> = self.accounts.iter().map(|a| a.to_string()).collect();
        accounts.sort_unstable();
        Ok(PipelineSnapshot {
            version: SNAPSHOT_VERSION,
            max_seen_ms: self.max_seen_ms,
            watermark_ms: self.watermark_ms,
            aws_correlations: self.aws_corr.snapshot(&self.pack.aws),
            azure_correlations: self.azure_corr.snapshot(&self.pack.azure),
            entra_correlations: self.entra_corr.snapshot(&self.pack.entra),
            facts: self.facts.rows(),
            accounts,
            replay: self.replay.clone(),
            late: self.late,
        })
    }

    /// A pipeline going on from a snapshot. Correlation observations of rules no longer in
    /// the pack are dropped and counted (the second value).
    pub fn restore(
        pack: P,
        opts: PipelineOptions,
        snap: PipelineSnapshot,
    ) -> Result<(Self, usize), PipelineError> {
        if snap.version != SNAPSHOT_VERSION {
            return Err(PipelineError::Version {
                found: snap.version,
            });
        }
        let (aws_corr, a) = CorrelationState::restore(&pack.aws, snap.aws_correlations);
        let (azure_corr, b) = CorrelationState::restore(&pack.azure, snap.azure_correlations);
        let (entra_corr, c) = CorrelationState::restore(&pack.entra, snap.entra_correlations);
        let replay = match (opts.keeps_events(), snap.replay) {
            (true, Some(r)) => Some(r),
            (true, None) => Some(Replay::new(BaselineState::default())),
            (false, _) => None,
        };
        let pipeline = Pipeline {
            grouper: Grouper::new(opts.hunt.group),
            pack,
            opts,
            aws_corr,
            azure_corr,
            entra_corr,
            facts: FactBook::from_rows(snap.facts),
            accounts: snap.accounts.into_iter().map(Into::into).collect(),
            replay,
            max_seen_ms: snap.max_seen_ms,
            watermark_ms: snap.watermark_ms,
            late: snap.late,
        };
        Ok((pipeline, a + b + c))
    }
}

/// The baselines, chains, context and suppressions over one commit's alerts.
fn run_engine(
    engine: &EngineOptions,
    opts: &PipelineOptions,
    replay: &mut Replay,
    watermark_ms: i64,
    now_ms: i64,
    alerts: Vec<PendingAlert>,
    out: &mut Committed,
) -> Result<Vec<PendingAlert>, PipelineError> {
    // Context and suppressions act on every alert, which must then be rendered; the chains
    // alone only add alerts, and the others stay pending (their event ids not turned into
    // text for nothing).
    let (given, mut kept): (Vec<_>, Vec<PendingAlert>) = if engine.context {
        let given = alerts
            .iter()
            .map(|p| (p.to_alert(), p.first_ms()))
            .collect();
        (given, Vec::new())
    } else {
        (Vec::new(), alerts)
    };
    let popts = ProcessOptions {
        baselines: engine.baselines,
        chains: engine.chains,
        context: engine.context,
        group_window_ms: opts.hunt.group.window_ms,
        min_level: opts.min_level,
        now_ms,
    };
    let done = process_step(&engine.cfg, &popts, replay, watermark_ms, given)?;
    out.engine_alerts = done.baseline_alerts;
    out.raised = done.raised;
    out.suppressed = done.suppressed.iter().map(|(_, n)| n).sum();
    out.replayed = done.replayed;
    out.already_learned = done.already_learned;
    out.dropped = done.dropped;
    kept.extend(
        done.alerts
            .into_iter()
            .map(|(a, t)| PendingAlert::ready(a, t)),
    );
    Ok(kept)
}
