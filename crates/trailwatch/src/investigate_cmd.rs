//! `investigate` and `recover`: scope an incident from the trail, then plan its recovery
//! (trailwatch-recover), reading logs once into memory.

use crate::cli::{
    InputArgs, InvestigateArgs, InvestigateFormat, RecoverArgs, RecoverFormat, ScopeArgs,
    SelectorArgs,
};
use crate::when::Clock;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use trailwatch_decode::{DecodeError, Input};
use trailwatch_detect::group::GroupOptions;
use trailwatch_detect::timeline::TimelineFilter;
use trailwatch_detect::{
    EngineOptions, HuntOptions, Pipeline, PipelineOptions, RulePack, TimeRange,
};
use trailwatch_model::{Event, Severity};
use trailwatch_recover::{render, Incident, PlanOptions, Selector};

fn report(e: DecodeError) {
    eprintln!(
        "trailwatch: {}",
        trailwatch_escape::terminal(&e.to_string())
    );
}

/// How the verify step names the logs.
fn input_words(a: &InputArgs) -> Vec<String> {
    match &a.store {
        Some(d) => vec!["--store".into(), d.display().to_string()],
        None => a.paths.iter().map(|p| p.display().to_string()).collect(),
    }
}

fn selector(s: &SelectorArgs) -> Result<Selector> {
    let sel = Selector {
        principal: s.principal.clone(),
        access_key: s.access_key.clone(),
        ip: s.ip.clone(),
    };
    if sel.is_empty() && s.alert.is_none() {
        bail!(trailwatch_recover::RecoverError::NoSelector);
    }
    Ok(sel)
}

/// The selector of alert `id`: hunts the inputs with the default grouping and starts from the
/// alert's first event.
fn alert_selector(
    a: &ScopeArgs,
    id: &str,
    inputs: &[Input],
    events: &[Event],
    range: TimeRange,
) -> Result<Selector> {
    let pack = RulePack::load(!a.rules.no_builtin, &a.rules.rules, Severity::Informational)?;
    let opts = HuntOptions {
        range,
        group: GroupOptions::default(),
        threads: a.input.threads(),
        ..HuntOptions::default()
    };
    // The alerts a default hunt raises (the same ids): the rules and the attack chains.
    let popts = PipelineOptions::new(
        opts,
        Some(EngineOptions::chains_only()),
        Severity::Informational,
        0,
    );
    let mut pipeline = Pipeline::new(&pack, popts);
    pipeline.feed(inputs, &report, &|_| {});
    let found = pipeline.finish(0)?;
    let alert = found
        .alerts
        .iter()
        .map(|p| p.to_alert())
        .find(|al| al.id == id)
        .with_context(|| format!("no alert {id} in these logs (ids come from `trailwatch hunt` with the default --group-window)"))?;
    let first = alert
        .event_ids
        .first()
        .context("the alert names no event")?;
    let e = events
        .iter()
        .find(|e| &e.event_id == first)
        .with_context(|| format!("event {first} of alert {id} is not in the time range"))?;
    Ok(Selector::from_event(e))
}

/// The rules that fired on each event (alerting rules only).
fn alerts(
    a: &ScopeArgs,
    inputs: &[Input],
    range: TimeRange,
) -> Result<HashMap<String, Vec<String>>> {
    let pack = RulePack::load(!a.rules.no_builtin, &a.rules.rules, Severity::Low)?;
    let filter = TimelineFilter {
        range,
        only_alerts: true,
        ..TimelineFilter::default()
    };
    let threads = a.input.threads();
    let (rows, _) =
        trailwatch_detect::timeline::timeline(inputs, &pack, &filter, threads, &report, &|_| {})?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.event.event_id,
                r.rules.into_iter().map(|f| f.title).collect(),
            )
        })
        .collect())
}

/// Loads the events and scopes the incident.
fn scoped(a: &ScopeArgs, clock: Clock) -> Result<(Vec<Event>, Incident)> {
    let sel = selector(&a.selector)?;
    let range = clock.range(a.input.since.as_deref(), a.input.until.as_deref())?;
    let (inputs, _copy) = crate::commands::inputs(&a.input, range, &report)?;
    let events = trailwatch_recover::load(&inputs, range.since_ms, range.until_ms, &mut report);
    let sel = match &a.selector.alert {
        Some(id) => alert_selector(a, id, &inputs, &events, range)?,
        None => sel,
    };
    let sc = trailwatch_recover::scope(&events, &sel);
    if sc.events.is_empty() {
        bail!(trailwatch_recover::RecoverError::NothingMatched(
            sel.to_string()
        ));
    }
    let alerts = alerts(a, &inputs, range)?;
    let inc = trailwatch_recover::incident(&events, sc, &alerts);
    eprintln!(
        "trailwatch: {} events read; {} in scope ({} expansions)",
        events.len(),
        inc.events.len(),
        inc.scope.expansions.len()
    );
    Ok((events, inc))
}

fn write_out(path: Option<&std::path::Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => Ok(std::io::stdout().lock().write_all(text.as_bytes())?),
    }
}

pub fn investigate(a: InvestigateArgs, clock: Clock) -> Result<ExitCode> {
    let (_, inc) = scoped(&a.scope, clock)?;
    let text = match a.format {
        InvestigateFormat::Markdown => render::incident_markdown(&inc),
        InvestigateFormat::Html => render::incident_html(&inc),
        InvestigateFormat::Json => render::json(&inc)? + "\n",
    };
    write_out(a.scope.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn recover(a: RecoverArgs, clock: Clock) -> Result<ExitCode> {
    let (events, inc) = scoped(&a.scope, clock)?;
    let opts = PlanOptions {
        // Sessions issued before this instant are revoked: the real time of the plan, never
        // `--now`, which may lie in the past or the future of the trail.
        now: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        inputs: input_words(&a.scope.input),
        cloud: a.cloud.map(|c| match c {
            crate::cli::CloudArg::Aws => trailwatch_model::Provider::Aws,
            crate::cli::CloudArg::Azure => trailwatch_model::Provider::Azure,
        }),
    };
    let plan = trailwatch_recover::plan(&events, &inc, &opts);
    let text = match a.format {
        RecoverFormat::Markdown => render::plan_markdown(&plan),
        RecoverFormat::Script => render::plan_script(&plan),
        RecoverFormat::Json => render::json(&plan)? + "\n",
    };
    write_out(a.scope.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
