//! Baselines, chains and alert hygiene: detecting what single-event signatures miss.
//!
//! This crate owns what trailwatch learns about normal activity and what it makes of
//! departures from it:
//! - [`obs`]: the compact, time-ordered replay of a hunt's events ([`Collector`] per reader
//!   thread, [`Observations::merge`] sorts them, bounded by `[baselines] max_events`);
//! - [`Engine`]: per principal and account, the usual hours of the week, hourly call volume,
//!   first-seen services, APIs, regions, source networks ([`network`]: /24, or autonomous
//!   systems from a MaxMind ASN database), user-agent families and long-term
//!   keys; per resource, hourly data-event volume; denied-call bursts and console guessing; and
//!   the attack chains that need more state than a Sigma correlation holds ([`rules`] lists
//!   them all). No learned-baseline alert is raised before a principal's learning period ends;
//!   thresholds and windows come from `[baselines]`;
//! - [`BaselineState`]: what was learned, persisted between runs (atomic write), with a
//!   watermark so that events already learned are not learned twice;
//! - [`hygiene`]: severity raised by context (root, no MFA, new network, off-hours) and
//!   suppressions with an expiry and a reason;
//! - [`config`]: the `[baselines]`, `[[suppressions]]` and `[severity]` sections of
//!   `trailwatch.toml` ([`check_config`]).
//!
//! Every alert it makes is a [`trailwatch_model::Alert`], so it flows into every output.

pub mod config;
pub mod engine;
pub mod hygiene;
pub mod network;
pub mod obs;
pub mod rules;
pub mod state;

pub use config::{
    check_config, load_config, parse_suppressions, write_suppressions, BaselineConfig, Config,
    ConfigError, DetectionConfig, OrganizationConfig, SeverityConfig, Suppression,
};
pub use engine::{Engine, EngineReport};
pub use obs::{Collector, Observation, Observations};
pub use state::{BaselineState, StateError, STATE_FILE_IN_STORE};

use serde::{Deserialize, Serialize};
use trailwatch_model::{Alert, Severity};

/// How [`process`] runs.
#[derive(Debug, Clone, Copy)]
pub struct ProcessOptions {
    /// Raise the learned-baseline alerts (`trailwatch.baseline`: hours, volumes, first-seen,
    /// denied bursts, console guessing).
    pub baselines: bool,
    /// Raise the attack-chain alerts (`trailwatch.chain`): they need no learned history.
    pub chains: bool,
    /// Raise severities by context (`[severity]`).
    pub context: bool,
    /// Firings of a baseline rule further apart than this start a new alert.
    pub group_window_ms: i64,
    /// Alerts below this level (after context) are dropped.
    pub min_level: Severity,
    /// Now, for suppression expiry.
    pub now_ms: i64,
}

/// What [`process`] did.
#[derive(Debug, Default)]
pub struct Processed {
    /// Every alert (the given ones and the new ones) with its first time in ms.
    pub alerts: Vec<(Alert, i64)>,
    /// The state to save ([`process`]; [`process_step`] keeps it in its [`Replay`]).
    pub state: BaselineState,
    /// Alerts made by the baselines and chains (before suppression).
    pub baseline_alerts: u64,
    pub raised: u64,
    /// Per live suppression (in the order of [`Config::active_suppressions`]), alerts dropped.
    pub suppressed: Vec<(Suppression, u64)>,
    pub replayed: u64,
    pub already_learned: u64,
    /// Events not baselined because of `max_events`.
    pub dropped: u64,
}

/// Runs the engine over `obs` from `state`, adds its alerts to `alerts` (each with its first
/// time in ms), raises severities by context, and applies the live suppressions.
pub fn process(
    cfg: &Config,
    opts: &ProcessOptions,
    obs: &Observations,
    state: BaselineState,
    alerts: Vec<(Alert, i64)>,
) -> Result<Processed, ConfigError> {
    let mut engine = Engine::new(&cfg.baselines, state, opts.group_window_ms)?;
    engine.run(obs);
    let report = engine.take_alerts(obs);
    let mut out = finish_alerts(cfg, opts, &engine, obs, report, alerts, &|_| true);
    out.state = engine.into_state();
    Ok(out)
}

/// What a continuous pipeline keeps for the baselines and chains from one step to the next:
/// what was learned up to a cut, and every event after it (the events just before the
/// watermark are replayed each step, so that minutes-long windows see them).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Replay {
    /// Learned from every event up to `base.as_of_ms`.
    pub base: BaselineState,
    /// The events after `base.as_of_ms`, in time order; those before the last watermark are
    /// marked released.
    pub tail: Observations,
}

impl Replay {
    pub fn new(base: BaselineState) -> Replay {
        Replay {
            base,
            tail: Observations::default(),
        }
    }

    /// How far behind the watermark a step replays: the longest window the engine keeps
    /// (chains, console guessing, denied bursts) or groups firings over.
    pub fn horizon_ms(cfg: &BaselineConfig, group_window_ms: i64) -> i64 {
        let minutes = cfg
            .chain_window_minutes
            .max(cfg.console_minutes)
            .max(cfg.denied_burst_minutes);
        (i64::from(minutes) * 60_000).max(group_window_ms)
    }
}

/// One step of a continuous pipeline: replays `replay.tail` up to `watermark_ms` (every
/// event at or before it has arrived), learns the events more than a horizon behind it into
/// `replay.base`, and returns the alerts that hold an event not released before (the
/// others were handed out by an earlier step), with `alerts` added, context and
/// suppressions applied. `i64::MAX` replays and learns everything (the end of a batch).
pub fn process_step(
    cfg: &Config,
    opts: &ProcessOptions,
    replay: &mut Replay,
    watermark_ms: i64,
    alerts: Vec<(Alert, i64)>,
) -> Result<Processed, ConfigError> {
    let cut = if watermark_ms == i64::MAX {
        i64::MAX
    } else {
        watermark_ms.saturating_sub(Replay::horizon_ms(&cfg.baselines, opts.group_window_ms))
    };
    let tail = &replay.tail;
    let mut engine = Engine::new(&cfg.baselines, replay.base.clone(), opts.group_window_ms)?;
    engine.run_until(tail, cut);
    let mut next_base = engine.snapshot_state();
    if cut != i64::MAX {
        next_base.as_of_ms = next_base.as_of_ms.max(cut);
    }
    engine.run_until(tail, watermark_ms);
    let report = engine.take_alerts(tail);
    let fresh = tail
        .any_released()
        .then(|| tail.unreleased_ids(watermark_ms));
    let is_new = |a: &Alert| {
        fresh
            .as_ref()
            .is_none_or(|f| a.event_ids.iter().any(|id| f.contains(id)))
    };
    let out = finish_alerts(cfg, opts, &engine, tail, report, alerts, &is_new);
    replay.tail.release(watermark_ms);
    replay.tail.forget_until(next_base.as_of_ms);
    replay.tail.dropped = 0;
    replay.base = next_base;
    Ok(out)
}

/// The engine's new alerts (those `is_new` keeps) added to `alerts`, raised by context,
/// filtered by level and suppressed.
fn finish_alerts(
    cfg: &Config,
    opts: &ProcessOptions,
    engine: &Engine,
    obs: &Observations,
    report: EngineReport,
    alerts: Vec<(Alert, i64)>,
    is_new: &dyn Fn(&Alert) -> bool,
) -> Processed {
    let mut all = alerts;
    let mut baseline_alerts = 0;
    for (a, first) in report.alerts.into_iter().zip(report.first_ms) {
        let wanted = if is_chain(&a) {
            opts.chains
        } else {
            opts.baselines
        };
        if wanted && is_new(&a) {
            baseline_alerts += 1;
            all.push((a, first));
        }
    }
    let mut raised = 0;
    if opts.context {
        let mut only: Vec<Alert> = all.iter().map(|(a, _)| a.clone()).collect();
        raised = hygiene::raise_by_context(&mut only, engine, &cfg.severity);
        for ((a, _), b) in all.iter_mut().zip(only) {
            *a = b;
        }
    }
    all.retain(|(a, _)| a.severity >= opts.min_level);
    let live = cfg.active_suppressions(opts.now_ms);
    let counts = hygiene::suppress(&mut all, &live, Some(obs));
    Processed {
        alerts: all,
        state: BaselineState::default(),
        baseline_alerts,
        raised,
        suppressed: live.into_iter().zip(counts).collect(),
        replayed: report.replayed,
        already_learned: report.already_learned,
        dropped: obs.dropped,
    }
}

/// The tag of the attack-chain rules ([`rules`]): on in every hunt, unlike learned baselines.
pub const CHAIN_TAG: &str = "trailwatch.chain";

/// Whether an alert is one of the attack chains.
pub fn is_chain(a: &Alert) -> bool {
    a.tags.iter().any(|t| t == CHAIN_TAG)
}
