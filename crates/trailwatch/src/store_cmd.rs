//! The store commands: ingest, stats, verify, retention, compact, search.

use crate::cli::{
    CompactArgs, IngestArgs, RetentionArgs, SearchArgs, StoreArgs, StoreConfigArgs,
    StoreFormatArgs, VerifyArgs,
};
use crate::output::Format;
use crate::store_at::{Opened, StoreAt};
use crate::when::Clock;
use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trailwatch_decode::expand_inputs;
use trailwatch_escape as escape;
use trailwatch_model::duration::parse_duration_ms;
use trailwatch_store::{CompactOptions, IngestOptions, KeySource, Store, VerifyOptions};
use trailwatch_watch::anchor_bucket::{AnchorBucket, Published};
use trailwatch_watch::config::StoreSection;

/// Writes to stdout; a closed pipe comes back as an error (handled quietly by main).
pub(crate) fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Opens the store `s` names to read it (changes nothing in it, needs no key; a remote store
/// is pulled into its working copy first, held until the second value is dropped).
pub(crate) fn open(s: &StoreArgs) -> Result<(Store, Opened)> {
    let opened = s.at()?.open_read()?;
    let store = open_dir(opened.dir(), None)?;
    Ok((store, opened))
}

fn open_dir(dir: &Path, write: Option<&KeySource>) -> Result<Store> {
    if !dir.join("_ledger").is_dir() {
        bail!(
            "{}: no store here (create one with trailwatch ingest)",
            dir.display()
        );
    }
    let opened = match write {
        Some(keys) => Store::open(dir, keys),
        None => Store::open_read(dir),
    };
    let store = opened.with_context(|| format!("store {}", dir.display()))?;
    if write.is_some() {
        report_recovery(&store);
    }
    Ok(store)
}

/// The `[store]` section a store command runs with and where the store is: the
/// configuration's (the whole file is checked, and its secrets registered for redaction),
/// else the defaults; `--store` overrides its dir. Resolved here once.
fn store_at(a: &StoreConfigArgs) -> Result<(StoreSection, StoreAt)> {
    let (mut section, state) = match &a.config {
        Some(f) => {
            let config = trailwatch_watch::Config::load(f)?;
            trailwatch_watch::register_secrets(&config);
            (config.store, config.state.dir)
        }
        None => (StoreSection::default(), None),
    };
    if let Some(dir) = &a.store.store {
        section.dir = Some(dir.clone());
    }
    let at = StoreAt::resolve(section.dir.as_deref(), &section, state.as_deref())?;
    Ok((section, at))
}

/// A store open for writing, with where its heads go besides the anchor file, and (for a
/// remote store) its working copy under the lease: [`Writer::done`] pushes and releases.
struct Writer {
    store: Store,
    bucket: Option<AnchorBucket>,
    opened: Opened,
    /// The store as `--store` names it.
    name: String,
}

impl Writer {
    /// Sends the operation's changes to a remote store and gives its lease back.
    fn done(mut self) -> Result<()> {
        self.opened.push()?;
        self.opened.finish()
    }
}

/// Opens the store `a` names for writing, with its signing key (creating the store, and a key,
/// with `create`), publishing its heads where the configuration says (the anchor file, and the
/// anchor bucket when one is set).
fn open_writer(a: &StoreConfigArgs, create: bool) -> Result<Writer> {
    let (section, at) = store_at(a)?;
    let keys = section.keys().context("[store] signing key")?;
    let bucket = match section.anchor_bucket().map_err(anyhow::Error::msg)? {
        Some(b) => Some(b.build().context("[store] anchor_bucket")?),
        None => None,
    };
    let opened = at.open_write()?;
    let dir = opened.dir();
    // A remote store with nothing pulled is created as a local one is.
    let mut store = if create || (at.is_remote() && !dir.join("_ledger").is_dir()) {
        if !create {
            bail!(
                "{}: no store there (create one with trailwatch ingest)",
                at.name()
            );
        }
        let s =
            Store::open_or_create(dir, &keys).with_context(|| format!("store {}", at.name()))?;
        report_recovery(&s);
        s
    } else {
        open_dir(dir, Some(&keys))?
    };
    if let Some(anchors) = section.anchors {
        store.publish_to(anchors).context("[store] anchors")?;
    }
    Ok(Writer {
        store,
        bucket,
        opened,
        name: at.name(),
    })
}

/// `; head N published to FILE[ and s3://…]` when the operation published one. The head is
/// written to the anchor bucket here; a failure is reported on stderr and does not fail the
/// command: the store's change is committed and the head is in the anchor file, and the next
/// writing operation publishes a newer head, which proves as much.
fn published(store: &Store, bucket: Option<&AnchorBucket>) -> String {
    let (Some(a), Some(f)) = (store.last_anchor(), store.anchor_file()) else {
        return String::new();
    };
    let mut out = format!("; signed head {} published to {}", a.seq, f.display());
    if let Some(b) = bucket {
        let id = trailwatch_ledger::store_id(&store.ledger().public_key());
        match b.publish(&id, a) {
            Ok(Published::New(url) | Published::AlreadyThere(url)) => {
                out.push_str(&format!(" and {url}"));
            }
            Err(e) => eprintln!(
                "trailwatch: warning: {} (the head is in {}; the next writing operation publishes a newer one)",
                escape::terminal(&e.to_string()),
                f.display()
            ),
        }
    }
    out
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
    let (inputs, input_errors) = expand_inputs(&a.paths);
    for e in &input_errors {
        eprintln!("trailwatch: {}", escape::terminal(&e.to_string()));
    }
    if inputs.is_empty() {
        bail!("no input to read");
    }
    let mut w = open_writer(&a.store, true)?;
    let opts = IngestOptions {
        check_source_hash: a.check_hashes,
        batch_events: a.batch_events.max(1),
        ..IngestOptions::default()
    };
    let r = w
        .store
        .ingest(&inputs, &opts)
        .with_context(|| format!("ingest into {}", w.name))?;
    for e in &r.errors {
        eprintln!("trailwatch: {}", escape::terminal(&e.to_string()));
    }
    let records = r.read.records();
    eprintln!(
        "trailwatch: {} inputs ({} already ingested, skipped); {} records read, {} new events stored, {} duplicates; {} files, {:.1} MB written to {} in {:.2}s ({:.0} records/s); {} problems{}",
        r.inputs,
        r.skipped,
        records,
        r.added,
        r.duplicates,
        r.files_written,
        r.bytes_written as f64 / 1e6,
        escape::terminal(&w.name),
        r.elapsed_secs,
        records as f64 / r.elapsed_secs.max(1e-9),
        r.errors.len() + input_errors.len(),
        published(&w.store, w.bucket.as_ref())
    );
    w.done()?;
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
    let (store, copy) = open(&a.store)?;
    let s = store.stats().context("stats")?;
    // A remote store: where it is and what its storage keeps.
    let storage = match (copy.url(), copy.protection()) {
        (Some(url), Some(p)) => {
            let p = p?;
            let write_once = match p.write_once {
                Some(true) => "write-once",
                Some(false) => "NOT write-once",
                None => "write-once unknown",
            };
            Some((url, p.detail, write_once))
        }
        _ => None,
    };
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
            "public_key": s.public_key, "fingerprint": s.fingerprint, "ledger_seq": s.ledger_seq,
            "retention_floor_days": s.retention_floor_days,
            "storage": storage.as_ref().map(|(url, detail, w)| serde_json::json!({"url": url, "protection": detail, "write_once": w})),
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
        "ledger: {} links; public key {} (fingerprint {}); retention floor {} days",
        s.ledger_seq, s.public_key, s.fingerprint, s.retention_floor_days
    )?;
    if let Some((url, detail, write_once)) = &storage {
        writeln!(
            o,
            "storage: {url}: {write_once} ({})",
            escape::terminal(detail)
        )?;
    }
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

/// A pinned public key given as hex, or as a file holding it.
fn pinned_key(value: &str, what: &str) -> Result<String> {
    trailwatch_ledger::read_pinned_key(value).map_err(|e| anyhow::anyhow!("{what} {e}"))
}

pub fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let (section, at) = store_at(&a.at)?;
    let (dir, _copy) = at.open_verify()?;
    let store = open_dir(&dir, None)?;
    let public_key = match (&a.public_key, &section.public_key) {
        (Some(k), _) => Some(pinned_key(k, "--public-key")?),
        (None, Some(k)) => Some(pinned_key(k, "[store] public_key")?),
        (None, None) => None,
    };
    let mut opts = VerifyOptions {
        public_key,
        // On object storage, Object Lock may keep what retention or compaction superseded.
        superseded_may_remain: at.is_remote(),
        ..VerifyOptions::default()
    };
    // Given, else the configuration's: its locked bucket before its file (the writer of the
    // store may also write the file; nobody can take back a locked object).
    let configured = section
        .anchor_bucket
        .clone()
        .map(PathBuf::from)
        .or(section.anchors.clone());
    match a.anchors.or(configured) {
        Some(p) if p.to_string_lossy().starts_with("s3://") => {
            let lines = bucket_anchors(&p.to_string_lossy(), &section, &store, &opts)?;
            opts.anchor_lines = Some(lines);
        }
        other => opts.anchors = other,
    }
    let r = store.verify_with(&opts).context("verify")?;
    emit(&(escape::terminal(&r.to_string()).replace("\\n", "\n") + "\n"))?;
    Ok(if r.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The heads published under `url` (`s3://bucket/prefix`, read with the `[store]
/// anchor_*` endpoint, region and allow_http) for the store: the pinned key's store id, else
/// `signing.pub`'s. Numbered in key order, which verify's `anchors line N` refers to; a
/// prefix holding none is an error, as a missing anchor file is.
fn bucket_anchors(
    url: &str,
    section: &StoreSection,
    store: &Store,
    opts: &VerifyOptions,
) -> Result<Vec<trailwatch_ledger::AnchorLine>> {
    let config = trailwatch_watch::anchor_bucket::AnchorBucketConfig {
        url: url.to_string(),
        endpoint: section.anchor_endpoint.clone(),
        region: section.anchor_region.clone(),
        allow_http: section.anchor_allow_http,
        lock_mode: trailwatch_watch::anchor_bucket::LockMode::Governance,
        lock_days: 1,
    };
    let bucket = config.build().context("--anchors")?;
    let key = match &opts.public_key {
        Some(k) => trailwatch_ledger::parse_public_key(k).map_err(anyhow::Error::msg)?,
        None => store.ledger().public_key(),
    };
    let id = trailwatch_ledger::store_id(&key);
    let read = bucket.read(&id)?;
    if read.is_empty() {
        bail!(
            "{}: no published heads there (none published, or not by this store's key)",
            bucket.location(&id)
        );
    }
    Ok(read
        .into_iter()
        .enumerate()
        .map(|(i, (key, a))| (i + 1, a.map_err(|reason| format!("{key}: {reason}"))))
        .collect())
}

/// `--keep` (or `--set-floor`, `flag`) as whole days: a span in the shared grammar
/// ([`trailwatch_model::duration`]) that is a whole number of days, such as `400d` or `60w`.
fn keep_days(keep: &str, flag: &str) -> Result<u32> {
    const DAY_MS: i64 = 86_400_000;
    let expected = || format!("{flag} {keep:?}: expected whole days (400d) or weeks (60w)");
    let ms = parse_duration_ms(keep).with_context(expected)?;
    if ms % DAY_MS != 0 {
        bail!(expected());
    }
    u32::try_from(ms / DAY_MS).with_context(|| format!("{flag} {keep:?}: too long"))
}

pub fn retention(a: RetentionArgs, clock: Clock) -> Result<ExitCode> {
    if let Some(floor) = &a.set_floor {
        return set_floor(&a, floor);
    }
    let Some(keep) = &a.keep else {
        bail!("retention needs --keep (or --set-floor)");
    };
    let days = keep_days(keep, "--keep")?;
    let mut w = if a.dry_run {
        let (_, at) = store_at(&a.store)?;
        let opened = at.open_read()?;
        Writer {
            store: open_dir(opened.dir(), None)?,
            bucket: None,
            opened,
            name: at.name(),
        }
    } else {
        open_writer(&a.store, false)?
    };
    let r = w
        .store
        .retention(days, a.dry_run, clock.today())
        .context("retention")?;
    let verb = if a.dry_run { "would remove" } else { "removed" };
    let mut o = String::new();
    for (day, files) in &r.days {
        writeln!(o, "{verb} {day}: {} files", files.len())?;
    }
    writeln!(
        o,
        "{verb} {} days, {} files, {} events, {:.1} MB (keeping days from {}){}{}",
        r.days.len(),
        r.files,
        r.events,
        r.bytes as f64 / 1e6,
        r.cutoff,
        r.ledger_seq
            .map(|s| format!("; recorded as ledger link {s}"))
            .unwrap_or_default(),
        published(&w.store, w.bucket.as_ref())
    )?;
    if a.dry_run {
        w.opened.finish()?;
    } else {
        w.done()?;
    }
    emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

/// `retention --set-floor`: a signed floor link, reported.
fn set_floor(a: &RetentionArgs, floor: &str) -> Result<ExitCode> {
    let days = keep_days(floor, "--set-floor")?;
    let mut w = open_writer(&a.store, false)?;
    let reason = a
        .reason
        .as_deref()
        .unwrap_or("set with trailwatch retention --set-floor");
    let (before, link) = w
        .store
        .set_retention_floor(days, reason)
        .context("retention floor")?;
    let how = match days.cmp(&before) {
        std::cmp::Ordering::Less => "lowered",
        std::cmp::Ordering::Greater => "raised",
        std::cmp::Ordering::Equal => "kept",
    };
    let line = format!(
        "retention floor {how} from {before} to {days} days ({}); signed as ledger link {} at {}{}\n",
        escape::terminal(reason),
        link.seq,
        link.at,
        published(&w.store, w.bucket.as_ref())
    );
    w.done()?;
    emit(&line)?;
    Ok(ExitCode::SUCCESS)
}

/// Moves the signing key out of a store written by an older trailwatch.
pub fn migrate_key(a: StoreConfigArgs) -> Result<ExitCode> {
    let (section, at) = store_at(&a)?;
    let StoreAt::Local(dir) = at else {
        bail!("key migrate moves the key out of a local store (a store on object storage was never written with one)");
    };
    let keys = section.keys().context("[store] signing key")?;
    let m = Store::migrate_key(&dir, &keys)
        .with_context(|| format!("moving the signing key out of {}", dir.display()))?;
    let how = if m.written {
        "written to"
    } else {
        "already held by"
    };
    emit(&format!(
        "moved the signing key out of {}: {how} {}, removed from the store\npublic key {} (fingerprint {})\nthe key was readable by whoever could read the store until now: pin this public key where the store's writer cannot change it ([store] public_key, verify --public-key)\n",
        dir.display(),
        m.to,
        m.public_key,
        m.fingerprint
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Megabytes, one decimal.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Merges the small files of the days before today (the reference day: `--now` or the clock).
pub fn compact(a: CompactArgs, clock: Clock) -> Result<ExitCode> {
    let mut w = open_writer(&a.store, false)?;
    let opts = CompactOptions {
        min_files: a.min_files,
        max_rows: a.max_rows,
        ..CompactOptions::before(clock.today())
    };
    let r = w.store.compact(&opts).context("compact")?;
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
    let head = published(&w.store, w.bucket.as_ref());
    w.done()?;
    emit(&o)?;
    if !head.is_empty() {
        eprintln!("trailwatch: {}", head.trim_start_matches("; "));
    }
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

/// A query over the store `s` names, with its working copy when it is remote (held while
/// the query reads it).
fn query(s: &StoreArgs) -> Result<(trailwatch_query::Query, Opened)> {
    let at = s.at()?;
    let opened = at.open_read()?;
    let q = trailwatch_query::Query::open(opened.dir())
        .with_context(|| format!("store {}", at.name()))?;
    Ok((q, opened))
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
    let (q, _copy) = query(&a.store)?;
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
        assert_eq!(keep_days("400d", "--keep").unwrap(), 400);
        assert_eq!(keep_days(" 60w ", "--keep").unwrap(), 420);
        assert_eq!(keep_days("48h", "--keep").unwrap(), 2);
        for bad in ["400", "36h", "5y", "days", "700000000w"] {
            let e = format!("{:#}", keep_days(bad, "--keep").unwrap_err());
            assert!(e.contains(&format!("--keep {bad:?}")), "{bad}: {e}");
        }
    }
}
