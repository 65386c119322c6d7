//! Opening (with recovery) and ingesting.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::FxHashSet;
use trailwatch_decode::{read_input, DecodeError, FileStats, Input, ReadScratch};
use trailwatch_ledger::{hash_file, Ledger, LedgerError, LEDGER_DIR, LEDGER_FILE};
use trailwatch_model::{Event, Provider};

use crate::crash;
use crate::sources::{sources_path, SourceEntry, SourceKey, Sources};
use crate::write::{read_event_ids, write_file};

/// The store directory used when none is given.
pub const DEFAULT_STORE_DIR: &str = "./trailwatch-data";
/// The environment variable naming the store directory.
pub const STORE_ENV: &str = "TRAILWATCH_STORE";
/// Files being written; emptied at every open.
pub const TMP_DIR: &str = "_tmp";
/// The source files already ingested.
pub const SOURCES_FILE: &str = "_sources.jsonl";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{what}: {reason}")]
    Parquet { what: String, reason: String },
    #[error("{}: no store there (no {LEDGER_DIR}/{LEDGER_FILE})", .0.display())]
    NotAStore(PathBuf),
    #[error("{}: a store already exists there", .0.display())]
    AlreadyExists(PathBuf),
    #[error("{}: {}", .0.display(), .1)]
    Corrupt(PathBuf, String),
}

impl StoreError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn parquet(what: impl AsRef<Path>, e: impl std::fmt::Display) -> StoreError {
        StoreError::Parquet {
            what: what.as_ref().display().to_string(),
            reason: e.to_string(),
        }
    }
}

/// How an ingest batches its writes and checks its sources.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Commit when this many new events are held in memory.
    pub batch_events: usize,
    /// … or when their raw records add up to this many bytes.
    pub batch_bytes: usize,
    /// Also hash a source whose path, size and mtime match one already ingested before
    /// skipping it (reads it, without decoding); off: path, size and mtime suffice.
    pub check_source_hash: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_events: 200_000,
            batch_bytes: 256 << 20,
            check_source_hash: false,
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// Inputs given.
    pub inputs: u64,
    /// Inputs skipped because they were already ingested (not read).
    pub skipped: u64,
    /// What reading the other inputs found.
    pub read: FileStats,
    /// Events new to the store, now committed.
    pub added: u64,
    /// Events whose id the store (or this ingest) already had.
    pub duplicates: u64,
    /// Data files committed, and their bytes.
    pub files_written: u64,
    pub bytes_written: u64,
    /// Problems, per input: the file and the reason. The other inputs were ingested.
    pub errors: Vec<DecodeError>,
    pub elapsed_secs: f64,
}

/// What [`Store::open`] cleaned up after a crash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of a torn last ledger line cut off.
    pub ledger_bytes_cut: u64,
    /// Data files in partitions that no live ledger link names (renamed but never committed,
    /// or removed by a retention that crashed before deleting them), deleted.
    pub uncommitted_files_removed: Vec<String>,
    /// Files left in `_tmp/`, deleted.
    pub temp_files_removed: u64,
}

impl Recovery {
    pub fn is_empty(&self) -> bool {
        *self == Recovery::default()
    }
}

/// An open store.
pub struct Store {
    pub(crate) dir: PathBuf,
    pub(crate) ledger: Ledger,
    /// Ids of every stored event; loaded on the first ingest.
    ids: Option<FxHashSet<Box<str>>>,
    sources: Sources,
    recovery: Recovery,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("ledger", &self.ledger)
            .field("sources", &self.sources.len())
            .finish_non_exhaustive()
    }
}

/// Events waiting to be committed, per (provider, day).
#[derive(Default)]
struct Batch {
    parts: BTreeMap<(Provider, NaiveDate), Vec<Event>>,
    events: usize,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, e: Event) {
        self.events += 1;
        self.bytes += e.raw.len() + 256;
        let day = day_of(e.time_ms);
        self.parts.entry((e.provider, day)).or_default().push(e);
    }

    fn full(&self, opts: &IngestOptions) -> bool {
        self.events >= opts.batch_events.max(1) || self.bytes >= opts.batch_bytes
    }
}

/// The UTC day of a time in milliseconds.
pub(crate) fn day_of(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive()
}

fn time_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The partition directory of (provider, day), relative to the store.
pub(crate) fn partition_dir(provider: Provider, day: NaiveDate) -> String {
    format!(
        "provider={}/dt={}",
        provider.as_str(),
        day.format("%Y-%m-%d")
    )
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir))
}

/// Lists the data files under the partitions: `(relative path, absolute path)`.
pub(crate) fn partition_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    let list = |d: &Path| -> Result<Vec<fs::DirEntry>, StoreError> {
        let mut v = Vec::new();
        for e in fs::read_dir(d).map_err(StoreError::io(d))? {
            v.push(e.map_err(StoreError::io(d))?);
        }
        v.sort_by_key(|e| e.file_name());
        Ok(v)
    };
    for p in list(dir)? {
        let pname = p.file_name().to_string_lossy().into_owned();
        if !pname.starts_with("provider=") || !p.path().is_dir() {
            continue;
        }
        for d in list(&p.path())? {
            let dname = d.file_name().to_string_lossy().into_owned();
            if !dname.starts_with("dt=") || !d.path().is_dir() {
                continue;
            }
            for f in list(&d.path())? {
                let fname = f.file_name().to_string_lossy().into_owned();
                if f.path().is_file() && fname.ends_with(".parquet") {
                    out.push((format!("{pname}/{dname}/{fname}"), f.path()));
                }
            }
        }
    }
    Ok(out)
}

impl Store {
    /// Creates a new store in `dir` (created if needed; it must hold no store yet).
    pub fn create(dir: &Path) -> Result<Store, StoreError> {
        if dir.join(LEDGER_DIR).join(LEDGER_FILE).exists() {
            return Err(StoreError::AlreadyExists(dir.to_path_buf()));
        }
        fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        Ledger::create(dir)?;
        Self::open(dir)
    }

    /// Opens the store in `dir`, recovering from a crash (see [`Recovery`]).
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join(LEDGER_DIR).join(LEDGER_FILE).exists() {
            return Err(StoreError::NotAStore(dir.to_path_buf()));
        }
        let mut ledger = Ledger::open(dir)?;
        let mut recovery = Recovery {
            ledger_bytes_cut: ledger.repair()?,
            ..Recovery::default()
        };
        // `_tmp/`: files never renamed into a partition.
        let tmp = dir.join(TMP_DIR);
        fs::create_dir_all(&tmp).map_err(StoreError::io(&tmp))?;
        for e in fs::read_dir(&tmp).map_err(StoreError::io(&tmp))? {
            let p = e.map_err(StoreError::io(&tmp))?.path();
            fs::remove_file(&p).map_err(StoreError::io(&p))?;
            recovery.temp_files_removed += 1;
        }
        // Data files no live link names: renamed, then the crash came before the commit line
        // (or after a retention line, before the deletion).
        let mut dirs = Vec::new();
        for (rel, abs) in partition_files(dir)? {
            if ledger.live(&rel).is_none() {
                fs::remove_file(&abs).map_err(StoreError::io(&abs))?;
                dirs.push(abs.parent().map(Path::to_path_buf).unwrap_or_default());
                recovery.uncommitted_files_removed.push(rel);
            }
        }
        if recovery.temp_files_removed > 0 {
            dirs.push(tmp);
        }
        dirs.dedup();
        for d in dirs {
            sync_dir(&d)?;
        }
        let sources = Sources::load(&sources_path(dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            ledger,
            ids: None,
            sources,
            recovery,
        })
    }

    /// Opens the store in `dir`, creating it if there is none.
    pub fn open_or_create(dir: &Path) -> Result<Store, StoreError> {
        if dir.join(LEDGER_DIR).join(LEDGER_FILE).exists() {
            Self::open(dir)
        } else {
            Self::create(dir)
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the open cleaned up.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The ledger (read-only: appends go through the store).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The live data files (relative paths), sorted.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ledger
            .live_files()
            .filter_map(|l| l.path.clone())
            .collect();
        v.sort();
        v
    }

    /// Every stored event id, read from the files' `event_id` column.
    pub fn event_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for rel in self.files() {
            out.extend(read_event_ids(&self.dir.join(&rel))?);
        }
        Ok(out)
    }

    pub(crate) fn forget_ids(&mut self) {
        self.ids = None;
    }

    fn load_ids(&mut self) -> Result<(), StoreError> {
        if self.ids.is_some() {
            return Ok(());
        }
        let mut ids = FxHashSet::default();
        for rel in self.files() {
            for id in read_event_ids(&self.dir.join(&rel))? {
                ids.insert(id.into_boxed_str());
            }
        }
        self.ids = Some(ids);
        Ok(())
    }

    /// Ingests `inputs`: reads each (skipping those already ingested), keeps the events whose
    /// id the store has not, and commits them per (provider, day). Problems with an input go
    /// to the report and the others are ingested; `Err` only when the store cannot be written.
    pub fn ingest(
        &mut self,
        inputs: &[Input],
        opts: &IngestOptions,
    ) -> Result<IngestReport, StoreError> {
        let started = Instant::now();
        let mut report = IngestReport::default();
        let result = self.ingest_inner(inputs, opts, &mut report);
        if result.is_err() {
            // Ids of events not committed may be in the set: rebuild it from the files.
            self.ids = None;
        }
        result?;
        report.elapsed_secs = started.elapsed().as_secs_f64();
        Ok(report)
    }

    fn ingest_inner(
        &mut self,
        inputs: &[Input],
        opts: &IngestOptions,
        report: &mut IngestReport,
    ) -> Result<(), StoreError> {
        self.load_ids()?;
        let mut batch = Batch::default();
        let mut pending: Vec<SourceEntry> = Vec::new();
        let mut scratch = ReadScratch::default();
        for input in inputs {
            report.inputs += 1;
            let key = match input {
                Input::Stdin => None,
                Input::File { path, .. } => match self.check_source(path, opts) {
                    Ok(Check::Skip) => {
                        report.skipped += 1;
                        continue;
                    }
                    Ok(Check::Read(k, hash)) => Some((k, hash)),
                    Err(e) => {
                        report.errors.push(DecodeError {
                            file: input.name(),
                            reason: format!("cannot read: {e}"),
                        });
                        report.read.files += 1;
                        report.read.errors += 1;
                        continue;
                    }
                },
            };
            let mut failure: Option<StoreError> = None;
            let written_before = report.files_written;
            let stats = {
                let ids = self.ids.as_mut().expect("loaded");
                let ledger = &mut self.ledger;
                let dir = &self.dir;
                let (added, dups) = (&mut report.added, &mut report.duplicates);
                let (files_written, bytes_written) =
                    (&mut report.files_written, &mut report.bytes_written);
                let batch = &mut batch;
                read_input(
                    input,
                    &mut scratch,
                    &mut |rec| {
                        if failure.is_some() {
                            return;
                        }
                        let event = rec.normalize();
                        if !ids.insert(event.event_id.as_str().into()) {
                            *dups += 1;
                            return;
                        }
                        *added += 1;
                        batch.push(event);
                        if batch.full(opts) {
                            match flush(dir, ledger, batch) {
                                Ok((f, b)) => {
                                    *files_written += f;
                                    *bytes_written += b;
                                }
                                Err(e) => failure = Some(e),
                            }
                        }
                    },
                    &mut |e| report.errors.push(e),
                )
            };
            if let Some(e) = failure {
                return Err(e);
            }
            report.read.add(&stats);
            if report.files_written != written_before && !pending.is_empty() {
                // A flush during this input committed every event of the inputs before it.
                self.sources
                    .append(&sources_path(&self.dir), std::mem::take(&mut pending))?;
            }
            if let (Some((key, hash)), 1) = (key, stats.files_read) {
                let sha256 = match hash {
                    Some(h) => h,
                    None => hash_file(Path::new(&key.path))?.sha256_hex(),
                };
                pending.push(SourceEntry {
                    path: key.path,
                    size: key.size,
                    mtime_ns: key.mtime_ns,
                    sha256,
                });
            }
            if batch.full(opts) {
                self.commit(&mut batch, &mut pending, report)?;
            }
        }
        self.commit(&mut batch, &mut pending, report)
    }

    /// Commits the batch, then records the sources whose events are all committed now.
    fn commit(
        &mut self,
        batch: &mut Batch,
        pending: &mut Vec<SourceEntry>,
        report: &mut IngestReport,
    ) -> Result<(), StoreError> {
        let (f, b) = flush(&self.dir, &mut self.ledger, batch)?;
        report.files_written += f;
        report.bytes_written += b;
        self.sources
            .append(&sources_path(&self.dir), std::mem::take(pending))
    }

    fn check_source(&self, path: &Path, opts: &IngestOptions) -> io::Result<Check> {
        let key = SourceKey::of(path)?;
        if let Some(known) = self.sources.known_key(&key) {
            if !opts.check_source_hash {
                return Ok(Check::Skip);
            }
            let h = hash_file(path).map_err(io::Error::other)?.sha256_hex();
            if h == known {
                return Ok(Check::Skip);
            }
            return Ok(Check::Read(key, Some(h)));
        }
        // The same bytes under another name (a copy): skip them too, after hashing.
        if self.sources.has_size(key.size) {
            let h = hash_file(path).map_err(io::Error::other)?.sha256_hex();
            if self.sources.known_content(key.size, &h) {
                return Ok(Check::Skip);
            }
            return Ok(Check::Read(key, Some(h)));
        }
        Ok(Check::Read(key, None))
    }
}

enum Check {
    Skip,
    Read(SourceKey, Option<String>),
}

/// Writes and commits every partition of the batch, emptying it. Returns (files, bytes).
fn flush(dir: &Path, ledger: &mut Ledger, batch: &mut Batch) -> Result<(u64, u64), StoreError> {
    let parts = std::mem::take(&mut batch.parts);
    batch.events = 0;
    batch.bytes = 0;
    let (mut files, mut bytes) = (0, 0);
    for ((provider, day), mut events) in parts {
        events.sort_by(|a, b| {
            a.time_ms
                .cmp(&b.time_ms)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        bytes += commit_file(dir, ledger, provider, day, &events)?;
        files += 1;
    }
    Ok((files, bytes))
}

/// The commit protocol for one file: write into `_tmp/`, fsync, rename into the partition,
/// fsync the directory, append the ledger's commit line (the commit point). Returns its bytes.
fn commit_file(
    dir: &Path,
    ledger: &mut Ledger,
    provider: Provider,
    day: NaiveDate,
    events: &[Event],
) -> Result<u64, StoreError> {
    let seq = ledger.head().seq + 1;
    let tmp = dir.join(TMP_DIR).join(format!("part-{seq:08}.parquet.tmp"));
    write_file(&tmp, events)?;
    crash::point("temp_written");
    let digest = hash_file(&tmp)?;
    let part = partition_dir(provider, day);
    let part_abs = dir.join(&part);
    if !part_abs.is_dir() {
        fs::create_dir_all(&part_abs).map_err(StoreError::io(&part_abs))?;
        let provider_dir = part_abs.parent().expect("dt= has a parent");
        sync_dir(provider_dir)?;
        sync_dir(dir)?;
    }
    let name = format!("part-{seq:08}-{}.parquet", &digest.sha256_hex()[..16]);
    let rel = format!("{part}/{name}");
    let dest = part_abs.join(&name);
    fs::rename(&tmp, &dest).map_err(StoreError::io(&dest))?;
    sync_dir(&part_abs)?;
    sync_dir(&dir.join(TMP_DIR))?;
    crash::point("renamed");
    if crash::due("ledger_torn") {
        // A crash mid-append: part of a line, no newline.
        use std::io::Write;
        let path = dir.join(LEDGER_DIR).join(LEDGER_FILE);
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(StoreError::io(&path))?;
        let _ = f.write_all(b"{\"seq\":");
        let _ = f.sync_all();
        std::process::abort();
    }
    let first = events.first().map_or(0, |e| e.time_ms);
    let last = events.last().map_or(0, |e| e.time_ms);
    ledger.append_commit(
        &rel,
        &digest.sha256,
        digest.bytes,
        events.len() as u64,
        time_of(first),
        time_of(last),
    )?;
    crash::point("committed");
    Ok(digest.bytes)
}
