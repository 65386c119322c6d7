//! The store commands: ingest, stats, verify, retention, compact, search.

use crate::cli::{CompactArgs, IngestArgs, RetentionArgs, SearchArgs, StoreArgs, StoreFormatArgs};
use crate::output::Format;
use crate::when::Clock;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use trailwatch_decode::expand_inputs;
use trailwatch_escape as escape;
use trailwatch_model::duration::parse_duration_ms;
use trailwatch_store::{CompactOptions, IngestOptions, Store};

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
    if !r.compaction_finished.is_empty() {
        done.push(format!(
            "{} files an interrupted compaction replaced, deleted",
            r.compaction_finished.len()
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

/// `--keep` as whole days: a span in the shared grammar ([`trailwatch_model::duration`]) that is
/// a whole number of days, such as `400d` or `60w`.
fn keep_days(keep: &str) -> Result<u32> {
    const DAY_MS: i64 = 86_400_000;
    let expected = || format!("--keep {keep:?}: expected whole days (400d) or weeks (60w)");
    let ms = parse_duration_ms(keep).with_context(expected)?;
    if ms % DAY_MS != 0 {
        bail!(expected());
    }
    u32::try_from(ms / DAY_MS).with_context(|| format!("--keep {keep:?}: too long"))
}

pub fn retention(a: RetentionArgs, clock: Clock) -> Result<ExitCode> {
    let days = keep_days(&a.keep)?;
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

/// Megabytes, one decimal.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Merges the small files of the days before today (the reference day: `--now` or the clock).
pub fn compact(a: CompactArgs, clock: Clock) -> Result<ExitCode> {
    let mut store = open(&a.store, true)?;
    let opts = CompactOptions {
        min_files: a.min_files,
        max_rows: a.max_rows,
        ..CompactOptions::before(clock.today())
    };
    let r = store.compact(&opts).context("compact")?;
    let mut o = String::new();
    if !r.finished_before.is_empty() {
        writeln!(
            o,
            "finished an interrupted compaction: {} replaced files deleted",
            r.finished_before.len()
        )?;
    }
    for p in &r.partitions {
        let links: Vec<String> = p.ledger_seqs.iter().map(u64::to_string).collect();
        writeln!(
            o,
            "compacted {}: {} → {} files, {} → {}, {} events (ledger link {})",
            escape::terminal(&p.partition),
            p.files_before,
            p.files_after,
            mb(p.bytes_before),
            mb(p.bytes_after),
            p.events,
            links.join(", ")
        )?;
    }
    let before = opts.before_day.format("%Y-%m-%d");
    if r.partitions.is_empty() {
        writeln!(
            o,
            "nothing to compact: no day before {before} has {} small files or more ({:.2}s)",
            opts.min_files.max(2),
            r.elapsed_secs
        )?;
    } else {
        writeln!(
            o,
            "compacted {} partitions (days before {before}): {} → {} files, {} → {} in {:.2}s",
            r.partitions.len(),
            r.files_before(),
            r.files_after(),
            mb(r.bytes_before()),
            mb(r.bytes_after()),
            r.elapsed_secs
        )?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_is_a_whole_number_of_days() {
        assert_eq!(keep_days("400d").unwrap(), 400);
        assert_eq!(keep_days(" 60w ").unwrap(), 420);
        assert_eq!(keep_days("48h").unwrap(), 2);
        for bad in ["400", "36h", "5y", "days", "700000000w"] {
            let e = format!("{:#}", keep_days(bad).unwrap_err());
            assert!(e.contains(&format!("--keep {bad:?}")), "{bad}: {e}");
        }
    }
}
