//! The continuous commands: watch, alerts, config check.

use crate::cli::{AlertsCommand, ConfigCommand, WatchArgs};
use crate::output::Format;
use crate::store_cmd::emit;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;
use trailwatch_escape as escape;
use trailwatch_sink::AlertState;
use trailwatch_watch::source::Source;
use trailwatch_watch::{build_sinks, open_outbox, outbox_path, Config, Watcher};

/// The configuration a command runs on: the file given, or the built-in defaults.
pub(crate) fn load_config(file: Option<&Path>, store: Option<&PathBuf>) -> Result<Config> {
    let mut config = match file {
        Some(f) => Config::load(f)?,
        None => Config::builtin(),
    };
    if let Some(dir) = store {
        config.store.dir = Some(dir.clone());
    }
    Ok(config)
}

pub fn watch(a: WatchArgs) -> Result<ExitCode> {
    let config = load_config(a.config.as_deref(), a.store.store.as_ref())?;
    if a.config.is_none() {
        eprintln!(
            "trailwatch: no --config: watching {} into {} (alerts: trailwatch alerts list)",
            trailwatch_watch::DEFAULT_INBOX,
            trailwatch_watch::store_dir(&config).display()
        );
    }
    let mut watcher = Watcher::from_config(&config).context("starting the watch")?;
    set_review(&mut watcher, &config);
    crate::console_cmd::serve_for_watch(
        &config,
        trailwatch_watch::store_dir(&config),
        watcher.metrics().clone(),
    )?;
    if a.once {
        let mut r = watcher.poll_once().context("poll")?;
        if a.drain {
            watcher.drain(&mut r).context("drain")?;
        }
        for p in &r.problems {
            let p = trailwatch_sink::secret::redact(p);
            eprintln!("trailwatch: {}", escape::terminal(&p));
        }
        let mut o = String::new();
        writeln!(
            o,
            "{} objects read, {} new events, {} new alerts ({} re-detections folded into open ones); {} deliveries made, {} failed (retried at the next run), {} problems",
            r.objects,
            r.events_added,
            r.alerts_new,
            r.alerts_merged,
            r.delivery.sent,
            r.delivery.failed,
            r.problems.len()
        )?;
        if r.reports_sent > 0 {
            writeln!(o, "daily review sent through {} sinks", r.reports_sent)?;
        }
        for (source, origins) in watcher.coverage() {
            for og in origins {
                writeln!(
                    o,
                    "  {}: account {} region {}: {} objects, newest {}",
                    escape::terminal(&source),
                    escape::terminal(if og.account.is_empty() {
                        "-"
                    } else {
                        &og.account
                    }),
                    escape::terminal(if og.region.is_empty() {
                        "-"
                    } else {
                        &og.region
                    }),
                    og.objects,
                    trailwatch_decode::time::format_ms(og.last_modified_ms)
                )?;
            }
        }
        eprint!("{o}");
        if !r.unlisted.is_empty() {
            // Nothing below such a source was read: a hole in the watch, not a detail.
            let names: Vec<String> = r
                .unlisted
                .iter()
                .map(|s| escape::terminal(s).to_string())
                .collect();
            eprintln!("trailwatch: not listed: {}", names.join(", "));
            return Ok(ExitCode::from(1));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let stop = trailwatch_watch::stop_on_signals()?;
    watcher.run(&stop);
    Ok(ExitCode::SUCCESS)
}

/// The daily review (`[review]`) as the console makes it, for the watch to send.
fn set_review(watcher: &mut Watcher, config: &Config) {
    if config.review.is_none() {
        return;
    }
    let dir = trailwatch_watch::store_dir(config);
    watcher.set_review(Box::new(move |day| {
        trailwatch_console::review::report(&dir, day).map_err(|e| e.to_string())
    }));
}

/// `, daily review at HH:MM UTC to SINKS` when `[review]` is set (already checked).
fn review_line(config: &Config) -> String {
    let Some(r) = &config.review else {
        return String::new();
    };
    let sinks = r.sinks_for(&config.sinks).unwrap_or_default();
    let names: Vec<String> = sinks
        .iter()
        .map(|s| escape::terminal(s).into_owned())
        .collect();
    format!(
        ", daily review at {:02}:{:02} UTC to {}",
        r.at / 60,
        r.at % 60,
        names.join(", ")
    )
}

fn who(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

pub fn alerts(cmd: AlertsCommand) -> Result<ExitCode> {
    let (config_file, store) = match &cmd {
        AlertsCommand::List { at, .. }
        | AlertsCommand::Show { at, .. }
        | AlertsCommand::Ack { at, .. }
        | AlertsCommand::Resolve { at, .. } => (at.config.clone(), at.store.store.clone()),
    };
    let config = load_config(config_file.as_deref(), store.as_ref())?;
    // Errors stored before a secret was known are shown (and stored) redacted.
    trailwatch_watch::register_secrets(&config);
    let dir = trailwatch_watch::store_dir(&config);
    let path = outbox_path(&dir);
    if !path.is_file() {
        bail!(
            "{}: no alerts here yet (trailwatch watch writes them)",
            path.display()
        );
    }
    let mut outbox = open_outbox(&dir).with_context(|| format!("outbox {}", path.display()))?;
    match cmd {
        AlertsCommand::List { state, format, .. } => {
            let state: Option<AlertState> = state.as_deref().map(str::parse).transpose()?;
            let list = outbox.list(state)?;
            match format {
                Format::Json => {
                    let v = list
                        .iter()
                        .map(|r| outbox.record_json(r))
                        .collect::<Result<Vec<_>, _>>()?;
                    emit(&(serde_json::to_string_pretty(&v)? + "\n"))?;
                }
                Format::Jsonl => {
                    let mut o = String::new();
                    for r in &list {
                        o.push_str(&serde_json::to_string(&outbox.record_json(r)?)?);
                        o.push('\n');
                    }
                    emit(&o)?;
                }
                Format::Csv => {
                    let header = [
                        "id",
                        "state",
                        "severity",
                        "rule_id",
                        "first_seen",
                        "last_seen",
                        "count",
                        "provider",
                        "account",
                        "principal",
                        "title",
                    ];
                    let rows = list.iter().map(|r| {
                        let a = &r.alert;
                        vec![
                            a.id.clone(),
                            r.state.as_str().to_string(),
                            a.severity.to_string(),
                            a.rule_id.clone(),
                            a.first_seen.clone(),
                            a.last_seen.clone(),
                            a.count.to_string(),
                            a.provider.as_str().to_string(),
                            a.account.clone().unwrap_or_default(),
                            a.principal.clone(),
                            a.title.clone(),
                        ]
                    });
                    emit(&crate::output::csv_out(&header, rows)?)?;
                }
                Format::Table => {
                    let mut o = String::new();
                    writeln!(
                        o,
                        "{:<16}  {:<8}  {:<8}  {:<20}  {:>6}  TITLE / PRINCIPAL",
                        "ID", "STATE", "SEVERITY", "FIRST SEEN", "EVENTS"
                    )?;
                    for r in &list {
                        writeln!(
                            o,
                            "{:<16}  {:<8}  {:<8}  {:<20}  {:>6}  {} / {}",
                            escape::terminal(&r.alert.id),
                            r.state.as_str(),
                            r.alert.severity.to_string(),
                            escape::terminal(&r.alert.first_seen),
                            r.alert.count,
                            escape::terminal(&r.alert.title),
                            escape::terminal(&r.alert.principal)
                        )?;
                    }
                    writeln!(o, "{} alerts", list.len())?;
                    emit(&o)?;
                }
            }
        }
        AlertsCommand::Show { id, .. } => {
            let r = outbox.get(&id)?;
            emit(&(serde_json::to_string_pretty(&outbox.record_json(&r)?)? + "\n"))?;
        }
        AlertsCommand::Ack { id, by, .. } => {
            let by = who(by);
            outbox.ack(&id, &by, SystemTime::now())?;
            eprintln!(
                "trailwatch: alert {} acknowledged by {}",
                escape::terminal(&id),
                escape::terminal(&by)
            );
        }
        AlertsCommand::Resolve { id, by, .. } => {
            let by = who(by);
            outbox.resolve(&id, &by, SystemTime::now())?;
            eprintln!(
                "trailwatch: alert {} resolved by {}",
                escape::terminal(&id),
                escape::terminal(&by)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn config(cmd: ConfigCommand) -> Result<ExitCode> {
    let ConfigCommand::Check { file } = cmd;
    let config = Config::load(&file)?;
    // Everything that can be checked without touching the network: sources and sinks are
    // built (credentials named by *_env keys must be set), rule directories must exist.
    let mut problems = Vec::new();
    for s in &config.sources {
        if let Err(e) = Source::from_config(s) {
            problems.push(e.to_string());
        }
    }
    if let Err(e) = build_sinks(&config.sinks) {
        problems.push(e.to_string());
    }
    for d in &config.watch.rules {
        if !d.is_dir() {
            problems.push(format!("[watch] rules: {} is not a folder", d.display()));
        }
    }
    // [baselines], [[suppressions]] and [severity] belong to the baseline crate.
    if let Err(e) = trailwatch_baseline::load_config(&file) {
        problems.push(e.to_string());
    }
    for p in &problems {
        eprintln!("trailwatch: {}: {}", file.display(), escape::terminal(p));
    }
    if !problems.is_empty() {
        return Ok(ExitCode::from(1));
    }
    println!(
        "{}: ok: {} sources, {} sinks, store {}{}{}",
        file.display(),
        config.sources.len(),
        config.sinks.len(),
        trailwatch_watch::store_dir(&config).display(),
        config
            .metrics
            .listen
            .as_deref()
            .map(|l| format!(", metrics on {l}"))
            .unwrap_or_default(),
        review_line(&config)
    );
    Ok(ExitCode::SUCCESS)
}
