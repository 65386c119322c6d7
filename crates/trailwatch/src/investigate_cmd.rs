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
use trailwatch_model::Severity;
use trailwatch_recover::{render, Case, PlanOptions, Selector, Start};

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

/// The first event of alert `id`: hunts the inputs with the default grouping (the alert ids
/// `trailwatch hunt` prints).
fn alert_first_event(
    a: &ScopeArgs,
    id: &str,
    inputs: &[Input],
    range: TimeRange,
) -> Result<String> {
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
    alert
        .event_ids
        .first()
        .cloned()
        .context("the alert names no event")
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

/// Reads the logs once and scopes the incident (trailwatch-recover's one path, which the
/// console's incident page takes too).
fn scoped(a: &ScopeArgs, clock: Clock) -> Result<Case> {
    let sel = selector(&a.selector)?;
    let range = clock.range(a.input.since.as_deref(), a.input.until.as_deref())?;
    let (inputs, _copy) = crate::commands::inputs(&a.input, range, &report)?;
    let start = match &a.selector.alert {
        Some(id) => Start::Event(alert_first_event(a, id, &inputs, range)?),
        None => Start::Selector(sel),
    };
    let alerts = alerts(a, &inputs, range)?;
    let case = trailwatch_recover::investigate(
        &inputs,
        range.since_ms,
        range.until_ms,
        &start,
        &alerts,
        &mut report,
    )?;
    eprintln!(
        "trailwatch: {} events read; {} in scope ({} expansions)",
        case.events.len(),
        case.incident.events.len(),
        case.incident.scope.expansions.len()
    );
    Ok(case)
}

fn write_out(path: Option<&std::path::Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => Ok(std::io::stdout().lock().write_all(text.as_bytes())?),
    }
}

pub fn investigate(a: InvestigateArgs, clock: Clock) -> Result<ExitCode> {
    let inc = scoped(&a.scope, clock)?.incident;
    let text = match a.format {
        InvestigateFormat::Markdown => render::incident_markdown(&inc),
        InvestigateFormat::Html => render::incident_html(&inc),
        InvestigateFormat::Json => render::json(&inc)? + "\n",
    };
    write_out(a.scope.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn recover(a: RecoverArgs, clock: Clock) -> Result<ExitCode> {
    let case = scoped(&a.scope, clock)?;
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
    let plan = case.plan(&opts);
    let text = match a.format {
        RecoverFormat::Markdown => render::plan_markdown(&plan),
        RecoverFormat::Script => render::plan_script(&plan),
        RecoverFormat::Json => render::json(&plan)? + "\n",
    };
    write_out(a.scope.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
