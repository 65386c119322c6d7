//! The store commands: ingest, stats, verify, retention.

use crate::cli::{IngestArgs, RetentionArgs, SearchArgs, StoreArgs, StoreFormatArgs};
use crate::output::Format;
use crate::when::Clock;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use trailwatch_decode::expand_inputs;
use trailwatch_escape as escape;
use trailwatch_store::{IngestOptions, Store};

/// Writes to stdout; a closed pipe comes back as an error (handled quietly by main).
pub(crate) fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Opens the store: for writing (waits for any other writer; cleans up after an interrupted
/// write) or for reading (changes nothing on disk).
pub(crate) fn open(s: &StoreArgs, write: bool) -> Result<Store> {
    let dir = s.dir();
    if !dir.join("_ledger").is_dir() {
        bail!(
            "{}: no store here (create one with trailwatch ingest)",
            dir.display()
        );
    }
    let opened = if write {
        Store::open(&dir)
    } else {
        Store::open_read(&dir)
    };
    let store = opened.with_context(|| format!("store {}", dir.display()))?;
    if write {
        report_recovery(&store);
    }
    Ok(store)
}

/// Says what opening the store for writing cleaned up after an interrupted write, if anything.
fn report_recovery(store: &Store) {
    let r = store.recovery();
    if r.is_empty() {
        return;
    }
    let mut done = Vec::new();
    if let Some(seq) = r.quarantine_seq {
        done.push(format!(
            "{} files moved into {}/ (recorded as ledger link {seq})",
            r.quarantined.len(),
            trailwatch_store::QUARANTINE_DIR
        ));
    }
    if r.ledger_bytes_cut > 0 {
        done.push(format!(
            "a torn ledger line of {} bytes kept there and cut",
            r.ledger_bytes_cut
        ));
    }
    if !r.left_alone.is_empty() {
        done.push(format!(
            "{} files not the ones the write left, left in place (verify names them)",
            r.left_alone.len()
        ));
    }
    if !r.retention_finished.is_empty() {
        done.push(format!(
            "{} files an interrupted retention removed, deleted",
            r.retention_finished.len()
        ));
    }
    if r.records_cleared > 0 {
        done.push(format!(
            "{} write-ahead records of finished commits removed",
            r.records_cleared
        ));
    }
    if r.sources_bytes_cut > 0 {
        done.push(format!(
            "a torn {} line of {} bytes cut",
            trailwatch_store::SOURCES_FILE,
            r.sources_bytes_cut
        ));
    }
    eprintln!(
        "trailwatch: recovered from an interrupted write: {}",
        done.join("; ")
    );
}

pub fn ingest(a: IngestArgs) -> Result<ExitCode> {
    let dir = a.store.dir();
    let (inputs, input_errors) = expand_inputs(&a.paths);
    for e in &input_errors {
        eprintln!("trailwatch: {}", escape::terminal(&e.to_string()));
    }
    if inputs.is_empty() {
        bail!("no input to read");
    }
    let mut store =
        Store::open_or_create(&dir).with_context(|| format!("store {}", dir.display()))?;
    report_recovery(&store);
    let opts = IngestOptions {
        check_source_hash: a.check_hashes,
        batch_events: a.batch_events.max(1),
        ..IngestOptions::default()
    };
    let r = store
        .ingest(&inputs, &opts)
        .with_context(|| format!("ingest into {}", dir.display()))?;
    for e in &r.errors {
        eprintln!("trailwatch: {}", escape::terminal(&e.to_string()));
    }
    let records = r.read.records();
    eprintln!(
        "trailwatch: {} inputs ({} already ingested, skipped); {} records read, {} new events stored, {} duplicates; {} files, {:.1} MB written to {} in {:.2}s ({:.0} records/s); {} problems",
        r.inputs,
        r.skipped,
        records,
        r.added,
        r.duplicates,
        r.files_written,
        r.bytes_written as f64 / 1e6,
        dir.display(),
        r.elapsed_secs,
        records as f64 / r.elapsed_secs.max(1e-9),
        r.errors.len() + input_errors.len()
    );
    let nothing_read = r.read.files_read == 0 && r.skipped == 0;
    Ok(if nothing_read {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn stats(a: StoreFormatArgs) -> Result<ExitCode> {
    if a.format == Format::Csv {
        anyhow::bail!("stats has no CSV form (its figures are nested): use --format json or table");
    }
    let store = open(&a.store, false)?;
    let s = store.stats().context("stats")?;
    let mut o = String::new();
    if matches!(a.format, Format::Json | Format::Jsonl) {
        let per_day: Vec<serde_json::Value> = s
            .per_day
            .iter()
            .map(|((day, provider), d)| serde_json::json!({"day": day, "provider": provider, "events": d.events, "files": d.files, "bytes": d.bytes}))
            .collect();
        let v = serde_json::json!({
            "events": s.events, "bytes": s.bytes, "files": s.files,
            "first_time": s.first_time, "last_time": s.last_time,
            "per_provider": s.per_provider,
            "per_account": s.per_account.iter().map(|((p, a), n)| serde_json::json!({"provider": p, "account": a, "events": n})).collect::<Vec<_>>(),
            "per_region": s.per_region.iter().map(|((p, r), n)| serde_json::json!({"provider": p, "region": r, "events": n})).collect::<Vec<_>>(),
            "per_day": per_day,
            "public_key": s.public_key, "ledger_seq": s.ledger_seq,
        });
        emit(&(serde_json::to_string_pretty(&v)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        o,
        "{} events in {} files ({:.1} MB), from {} to {}",
        s.events,
        s.files,
        s.bytes as f64 / 1e6,
        s.first_time.as_deref().unwrap_or("-"),
        s.last_time.as_deref().unwrap_or("-")
    )?;
    writeln!(
        o,
        "ledger: {} links; public key {}",
        s.ledger_seq, s.public_key
    )?;
    writeln!(o, "\nPER PROVIDER")?;
    for (p, n) in &s.per_provider {
        writeln!(o, "  {n:>12}  {p}")?;
    }
    writeln!(o, "\nPER ACCOUNT")?;
    for ((p, acct), n) in &s.per_account {
        writeln!(o, "  {n:>12}  {p} {}", escape::terminal(acct))?;
    }
    writeln!(o, "\nPER REGION")?;
    for ((p, r), n) in &s.per_region {
        writeln!(o, "  {n:>12}  {p} {}", escape::terminal(r))?;
    }
    writeln!(o, "\nPER DAY")?;
    for ((day, p), d) in &s.per_day {
        writeln!(
            o,
            "  {day}  {p:<6} {:>10} events {:>5} files {:>10.1} MB",
            d.events,
            d.files,
            d.bytes as f64 / 1e6
        )?;
    }
    emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

pub fn verify(a: StoreArgs) -> Result<ExitCode> {
    let store = open(&a, false)?;
    let r = store.verify().context("verify")?;
    emit(&(escape::terminal(&r.to_string()).replace("\\n", "\n") + "\n"))?;
    Ok(if r.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn retention(a: RetentionArgs, clock: Clock) -> Result<ExitCode> {
    let keep = a.keep.trim();
    let days: u32 = match keep.split_at(keep.len().saturating_sub(1)) {
        (n, "d") => n.parse().ok(),
        (n, "w") => n.parse::<u32>().ok().map(|w| w * 7),
        _ => None,
    }
    .with_context(|| format!("--keep {keep:?}: expected days (400d) or weeks (60w)"))?;
    let mut store = open(&a.store, !a.dry_run)?;
    let r = store
        .retention(days, a.dry_run, clock.today())
        .context("retention")?;
    let verb = if a.dry_run { "would remove" } else { "removed" };
    let mut o = String::new();
    for (day, files) in &r.days {
        writeln!(o, "{verb} {day}: {} files", files.len())?;
    }
    writeln!(
        o,
        "{verb} {} days, {} files, {} events, {:.1} MB (keeping days from {}){}",
        r.days.len(),
        r.files,
        r.events,
        r.bytes as f64 / 1e6,
        r.cutoff,
        r.ledger_seq
            .map(|s| format!("; recorded as ledger link {s}"))
            .unwrap_or_default()
    )?;
    emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn render(batches: &[trailwatch_query::RecordBatch], format: Format) -> Result<String> {
    Ok(match format {
        Format::Table => trailwatch_query::to_table(batches)? + "\n",
        Format::Jsonl => trailwatch_query::to_json_lines(batches)?,
        Format::Json => trailwatch_query::to_json(batches)? + "\n",
        Format::Csv => trailwatch_query::to_csv(batches)?,
    })
}

fn query(s: &StoreArgs) -> Result<trailwatch_query::Query> {
    let dir = s.dir();
    trailwatch_query::Query::open(&dir).with_context(|| format!("store {}", dir.display()))
}

pub fn search(a: SearchArgs, clock: Clock) -> Result<ExitCode> {
    let range = clock.range(a.since.as_deref(), a.until.as_deref())?;
    let filter = trailwatch_query::SearchFilter {
        principal: a.filter.principal,
        access_key: a.filter.access_key,
        ip: a.filter.ip,
        action: a.filter.action,
        resource: a.resource,
        since_ms: range.since_ms,
        until_ms: range.until_ms,
        limit: Some(a.limit),
    };
    let q = query(&a.store)?;
    let batches = q
        .sql(&trailwatch_query::search(&filter))
        .context("search")?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    emit(&render(&batches, a.format)?)?;
    eprintln!("trailwatch: {rows} events");
    Ok(ExitCode::SUCCESS)
}
