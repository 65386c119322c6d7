//! The loop: list each source → read what is new → store → detect → outbox → deliver.

use crate::config::{Config, Coverage, SinkConfig, WatchSection};
use crate::delivery::DeliveryConfig;
use crate::error::WatchError;
use crate::layout::{classify, Kind};
use crate::metrics::{names, Metrics};
use crate::objects::{checkpoint, extent, plan, stream_input, Work};
use crate::source::{ObjectInfo, Source};
use crate::state::{OriginSeen, State};
pub use detection::incident_key;
use detection::restore_pipeline;

mod anchors;
mod coverage;
mod detection;
mod jobs;
mod posture;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::runtime::Runtime;
use trailwatch_decode::time::format_ms;
use trailwatch_detect::group::alert_id;
use trailwatch_detect::{EngineOptions, HuntOptions, Pipeline, PipelineOptions, RulePack};
use trailwatch_escape::terminal;
use trailwatch_model::{Alert, Provider, Severity};
use trailwatch_sink::{Backoff, Dispatcher, Enqueued, Outbox, RoutedSink, RunStats};
use trailwatch_store::{IngestOptions, Store};

/// The outbox of the store at `store_dir`: alerts, their state and their deliveries.
pub fn outbox_path(store_dir: &Path) -> PathBuf {
    store_dir.join("_watch").join("outbox.sqlite")
}

/// Opens (creating if needed) the outbox of the store at `store_dir`.
pub fn open_outbox(store_dir: &Path) -> Result<Outbox, WatchError> {
    let path = outbox_path(store_dir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| WatchError::Io {
            what: dir.display().to_string(),
            source,
        })?;
    }
    Ok(Outbox::open(&path)?)
}

/// The rule id of coverage alerts.
pub const COVERAGE_RULE: &str = "trailwatch-coverage-gap";

/// The rule id of the coverage alert raised when a source cannot be listed at all.
pub const UNLISTABLE_RULE: &str = "trailwatch-coverage-unlistable";

/// A source with what is expected of it.
struct Watched {
    source: Source,
    coverage: Coverage,
    provider: Provider,
    /// With a queue: how often the source is still listed in full, and when it last was.
    full_list_interval: Duration,
    listed_at: Option<Instant>,
}

impl Watched {
    /// A source without a queue is listed every poll; one with a queue at start, every
    /// `full_list_interval`, and whenever the queue cannot be read.
    fn full_list_due(&self) -> bool {
        !self.source.has_queue()
            || self
                .listed_at
                .is_none_or(|t| t.elapsed() >= self.full_list_interval)
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Objects (or new parts of objects) read.
    pub objects: u64,
    /// Events new to the store.
    pub events_added: u64,
    /// New incidents put in the outbox (detections and coverage gaps).
    pub alerts_new: u64,
    /// Detections folded into an incident already open (or seen before).
    pub alerts_merged: u64,
    /// Problems, each naming the source or object and the reason; the rest was processed.
    pub problems: Vec<String>,
    /// Sources that could not be listed (a coverage alert was raised for each).
    pub unlisted: Vec<String>,
    /// Posture checks run (`[posture]`; 0 when they were not due).
    pub posture_checks: u64,
    /// Sinks that took the daily review in this poll (`[review]`).
    pub reports_sent: u64,
    pub delivery: RunStatsSum,
}

/// Deliveries over a poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStatsSum {
    pub sent: u64,
    pub failed: u64,
}

impl RunStatsSum {
    fn add(&mut self, s: RunStats) {
        self.sent += s.sent;
        self.failed += s.failed;
    }
}

/// The suppressions a watch applies besides the managed ones, and the managed file's time when
/// last read.
#[derive(Default)]
struct ManagedSuppressions {
    configured: Vec<trailwatch_baseline::Suppression>,
    stamp: Option<std::time::SystemTime>,
}

/// What a look at a source found: its objects, and the receipts of the queue messages that
/// announced some of them.
type Looked = (Vec<ObjectInfo>, Vec<String>);

/// The watcher: owns the sources, checkpoints, store, rules and dispatcher.
pub struct Watcher {
    rt: Runtime,
    sources: Vec<Watched>,
    state: State,
    store: Store,
    /// Every piece of detection state, saved with the checkpoints after each step.
    pipeline: Pipeline<Arc<RulePack>>,
    dispatcher: Dispatcher,
    /// How a running watch builds its delivery thread's own dispatcher.
    delivery: DeliveryConfig,
    /// Whether polls try deliveries themselves (`false` while [`Watcher::run`] has a delivery
    /// thread).
    inline_deliveries: bool,
    metrics: Metrics,
    opts: WatchSection,
    started_ms: i64,
    /// The sinks each published head is sent through (`[store] anchor_sinks`).
    anchor_sinks: Vec<String>,
    /// The seq of the last head sent through them.
    anchor_sent: Option<u64>,
    /// The cloud side's checks on a schedule (`[posture]`).
    posture: Option<crate::posture::PostureSection>,
    /// The configuration's own `[[suppressions]]`, and when the managed ones were last read.
    suppressions: ManagedSuppressions,
    /// The daily review (`[review]`).
    review: Option<jobs::ReviewJob>,
    /// What the scheduler takes as now, ms since the epoch (replaced in tests).
    clock: Box<dyn Fn() -> i64 + Send>,
    /// The S3 prefix each published head is written to (`[store] anchor_bucket`).
    anchor_bucket: Option<crate::anchor_bucket::AnchorBucket>,
    /// The seq of the last head written there (a failed write is retried next poll).
    bucket_sent: Option<u64>,
    /// A store on object storage: the working copy the store writes, under the store's
    /// lease for as long as the watch runs (renewed every poll), pushed after every step.
    remote: Option<trailwatch_remote::WorkingCopy>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Builds the sinks a configuration names; secrets come from the environment variables it
/// names.
pub fn build_sinks(sinks: &[SinkConfig]) -> Result<Vec<RoutedSink>, WatchError> {
    sinks
        .iter()
        .map(|s| {
            s.build().map_err(|source| WatchError::Sink {
                name: s.name.clone(),
                source,
            })
        })
        .collect()
}

/// The store directory a configuration names (else `$TRAILWATCH_STORE`, else the default); for
/// a store on object storage, its working copy below `[state] dir`, where the checkpoints and
/// the outbox are kept too.
pub fn store_dir(config: &Config) -> PathBuf {
    let dir = trailwatch_store::resolve_dir(config.store.dir.as_deref());
    match trailwatch_remote::StoreUrl::parse(&dir.to_string_lossy()) {
        Some(Ok(url)) => trailwatch_remote::working_dir(&state_dir(config), &url),
        _ => dir,
    }
}

/// `[state] dir`, else the default ([`trailwatch_remote::default_state_dir`]).
fn state_dir(config: &Config) -> PathBuf {
    config
        .state
        .dir
        .clone()
        .unwrap_or_else(trailwatch_remote::default_state_dir)
}

/// A store on object storage: taken under its lease and pulled into its working copy.
fn open_remote(config: &Config) -> Result<Option<trailwatch_remote::WorkingCopy>, WatchError> {
    let dir = trailwatch_store::resolve_dir(config.store.dir.as_deref());
    let Some(url) = trailwatch_remote::StoreUrl::parse(&dir.to_string_lossy()) else {
        return Ok(None);
    };
    let bad = |reason: String| WatchError::Config {
        file: "configuration".into(),
        reason: format!("[store] dir {reason}"),
    };
    let url = url.map_err(bad)?;
    let copy = trailwatch_remote::working_dir(&state_dir(config), &url);
    let remote = config.store.remote(url).map_err(bad)?.build()?;
    let (working, pulled) = trailwatch_remote::WorkingCopy::open_write(remote, copy)?;
    tracing::info!(
        store = %terminal(&working.remote().url().to_string()),
        fetched = pulled.fetched,
        cached = pulled.cached,
        "pulled the store into its working copy"
    );
    for p in &pulled.problems {
        tracing::warn!("{}", terminal(p));
    }
    Ok(Some(working))
}

impl Watcher {
    /// Everything a configuration describes: sources, the store (created if missing), rules,
    /// the outbox and its sinks.
    pub fn from_config(config: &Config) -> Result<Watcher, WatchError> {
        // First: nothing below (clients, errors, the outbox) may print a secret.
        crate::secrets::register_secrets(config);
        let remote = open_remote(config)?;
        let dir = store_dir(config);
        let mut store = Store::open_or_create(&dir, &config.store.keys()?)?;
        if let Some(anchors) = &config.store.anchors {
            store.publish_to(anchors.clone())?;
        }
        let engine = crate::hygiene::engine(config, "configuration")?;
        let pack = crate::hygiene::pack_for(config, engine.as_ref())?;
        for f in pack.failures() {
            tracing::warn!(failure = %terminal(&f.to_string()), "rule not loaded");
        }
        let mut sources = Vec::new();
        for c in &config.sources {
            let kind = c.kind.config();
            sources.push(Watched {
                source: Source::from_config(c)?,
                coverage: kind.coverage().clone(),
                provider: kind.provider(),
                full_list_interval: kind.full_list_interval(),
                listed_at: None,
            });
        }
        let delivery = DeliveryConfig {
            store_dir: dir.clone(),
            sinks: config.sinks.clone(),
            backoff: Backoff {
                base: config.watch.retry_base,
                cap: config.watch.retry_max,
            },
        };
        let dispatcher = delivery.build()?;
        let mut w = Watcher::new(
            store,
            pack,
            engine,
            dispatcher,
            sources,
            config.watch.clone(),
        )?;
        w.delivery = delivery;
        w.remote = remote;
        w.anchor_sinks.clone_from(&config.store.anchor_sinks);
        w.posture.clone_from(&config.posture);
        w.suppressions = ManagedSuppressions {
            configured: crate::hygiene::suppressions(config)?,
            stamp: crate::managed::stamp(&dir),
        };
        w.review = config
            .review
            .as_ref()
            .map(|r| -> Result<jobs::ReviewJob, WatchError> {
                Ok(jobs::ReviewJob {
                    at: r.at,
                    sinks: r
                        .sinks_for(&config.sinks)
                        .map_err(|reason| WatchError::Config {
                            file: "configuration".into(),
                            reason,
                        })?,
                    build: None,
                    made: None,
                })
            })
            .transpose()?;
        if let Some(bucket) = config
            .store
            .anchor_bucket()
            .map_err(|reason| WatchError::Config {
                file: "configuration".into(),
                reason,
            })?
        {
            w.anchor_bucket = Some(bucket.build()?);
        }
        Ok(w)
    }

    fn new(
        store: Store,
        pack: RulePack,
        engine: Option<EngineOptions>,
        dispatcher: Dispatcher,
        sources: Vec<Watched>,
        opts: WatchSection,
    ) -> Result<Watcher, WatchError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| WatchError::Io {
                what: "async runtime".into(),
                source,
            })?;
        let state = State::open(store.dir())?;
        for w in &sources {
            w.source.prepare()?;
        }
        let popts = PipelineOptions::new(
            HuntOptions {
                threads: opts.threads.max(1),
                ..HuntOptions::default()
            },
            engine,
            opts.min_level,
            i64::try_from(opts.reorder_window.as_millis()).unwrap_or(i64::MAX),
        );
        let pipeline = restore_pipeline(&state, Arc::new(pack), popts)?;
        Ok(Watcher {
            rt,
            sources,
            state,
            store,
            pipeline,
            dispatcher,
            delivery: DeliveryConfig {
                store_dir: PathBuf::new(),
                sinks: Vec::new(),
                backoff: Backoff::default(),
            },
            inline_deliveries: true,
            metrics: Metrics::default(),
            opts,
            started_ms: now_ms(),
            anchor_sinks: Vec::new(),
            anchor_sent: None,
            posture: None,
            suppressions: ManagedSuppressions::default(),
            review: None,
            clock: Box::new(now_ms),
            anchor_bucket: None,
            bucket_sent: None,
            remote: None,
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn outbox(&self) -> &Outbox {
        self.dispatcher.outbox()
    }

    /// Which accounts and regions each source has delivered objects for, and when last.
    pub fn coverage(&self) -> Vec<(String, Vec<OriginSeen>)> {
        self.sources
            .iter()
            .map(|w| (w.source.name.clone(), self.state.origins(&w.source.name)))
            .collect()
    }

    /// Runs until `stop` is set: a poll every `poll_interval`, while a thread of its own
    /// delivers what is due every second. An error of one poll (a store that cannot be
    /// written, say) is logged and the next poll retries.
    pub fn run(&mut self, stop: &AtomicBool) {
        let deliveries = match self.delivery.build() {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %terminal(&e.to_string()), "cannot start deliveries");
                return;
            }
        };
        let metrics = self.metrics.clone();
        self.inline_deliveries = false;
        std::thread::scope(|scope| {
            scope.spawn(|| crate::delivery::deliver_until(deliveries, &metrics, stop));
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                match self.poll_until(stop, false) {
                    Ok(r) => log_report(&r),
                    Err(e) => {
                        tracing::error!(error = %terminal(&e.to_string()), "poll failed; retrying at the next poll")
                    }
                }
                while started.elapsed() < self.opts.poll_interval && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        });
        self.inline_deliveries = true;
        tracing::info!("stopped");
    }

    /// Applies the managed suppressions again when their file changed since last read. A file
    /// that cannot be read keeps the list in force and is a problem of the poll.
    fn reload_suppressions(&mut self, report: &mut PollReport) {
        let dir = self.store.dir().to_path_buf();
        let stamp = crate::managed::stamp(&dir);
        if stamp == self.suppressions.stamp {
            return;
        }
        match crate::managed::load(&dir) {
            Ok(managed) => {
                let n = managed.len();
                let mut all = self.suppressions.configured.clone();
                all.extend(managed);
                if self.pipeline.set_suppressions(all) {
                    tracing::info!(managed = n, "suppressions re-read");
                } else {
                    report.problems.push(
                        "managed suppressions need the detection engine ([detection] chains = \
                         false and no baselines or context: restart with one of them on)"
                            .into(),
                    );
                }
                self.suppressions.stamp = stamp;
            }
            Err(e) => report.problems.push(e.to_string()),
        }
    }

    /// One look at every source: everything new is stored, hunted and alerted, then due
    /// deliveries are tried once.
    pub fn poll(&mut self) -> Result<PollReport, WatchError> {
        self.poll_until(&AtomicBool::new(false), false)
    }

    /// A poll that is the whole watch (`watch --once`): there is no waiting for a gap, so an
    /// expected account or region that has never delivered anything raises its coverage alert
    /// now (unless its source could not be listed, which has its own alert).
    pub fn poll_once(&mut self) -> Result<PollReport, WatchError> {
        self.poll_until(&AtomicBool::new(false), true)
    }

    /// `last_pass`: no later poll will look again (see [`Watcher::poll_once`]).
    fn poll_until(&mut self, stop: &AtomicBool, last_pass: bool) -> Result<PollReport, WatchError> {
        let mut report = PollReport::default();
        if let Some(r) = self.remote.as_mut() {
            // Another writer that took an expired lease over stops this one here.
            r.renew()?;
        }
        self.reload_suppressions(&mut report);
        for i in 0..self.sources.len() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            self.poll_source(i, &mut report, stop)?;
            self.check_coverage(i, &mut report, last_pass)?;
        }
        self.compact_if_due(&mut report);
        self.push_remote()?;
        self.run_due_jobs(&mut report)?;
        self.send_anchor()?;
        self.publish_to_bucket();
        report.delivery.add(self.dispatch()?);
        Ok(report)
    }

    /// Compacts the small Parquet files the steps committed for days before today, when
    /// enough have gathered (each compaction is a signed ledger link `verify` checks). A
    /// failure is a problem of the poll, not of the watch: the files stay as they were.
    fn compact_if_due(&mut self, report: &mut PollReport) {
        let opts = trailwatch_store::CompactOptions::before(chrono::Utc::now().date_naive());
        if !self.store.compaction_due(&opts) {
            return;
        }
        match self.store.compact(&opts) {
            Ok(done) => tracing::info!(
                files_before = done.files_before(),
                files_after = done.files_after(),
                seconds = done.elapsed_secs,
                "compacted the store"
            ),
            Err(e) => {
                let msg = format!("compaction: {}", terminal(&e.to_string()));
                tracing::warn!("{msg}");
                report.problems.push(msg);
            }
        }
    }

    /// Sends what the store's working copy has beyond the objects (nothing for a local store).
    fn push_remote(&mut self) -> Result<(), WatchError> {
        let Some(r) = self.remote.as_mut() else {
            return Ok(());
        };
        let pushed = r.push()?;
        for (rel, why) in &pushed.kept {
            tracing::warn!(object = %terminal(rel), answer = %terminal(why), "deletion refused by the storage, kept (superseded)");
        }
        if let Some(segment) = &pushed.segment {
            tracing::info!(segment = %terminal(segment), objects = pushed.uploaded, "pushed the store");
        }
        Ok(())
    }

    /// Tries every due delivery once (unless the delivery thread of [`Watcher::run`] does).
    pub fn dispatch(&mut self) -> Result<RunStats, WatchError> {
        if !self.inline_deliveries {
            return Ok(RunStats::default());
        }
        crate::delivery::deliver_due(&mut self.dispatcher, &self.metrics)
    }

    fn poll_source(
        &mut self,
        i: usize,
        report: &mut PollReport,
        stop: &AtomicBool,
    ) -> Result<(), WatchError> {
        let name = self.sources[i].source.name.clone();
        let problems_before = report.problems.len();
        let Some((listed, receipts)) = self.look(i, report)? else {
            return Ok(());
        };
        self.metrics.set(
            names::LAST_POLL,
            &[("source", &name)],
            now_ms() as f64 / 1000.0,
        );
        let mut work = Vec::new();
        let mut skipped = Vec::new();
        for info in listed {
            let Kind::Log(origin) = classify(&info.key) else {
                continue;
            };
            let prev = self.state.get(&name, &info.key).cloned();
            if info.size > self.opts.max_object_bytes {
                if prev.as_ref().is_none_or(|p| p.version != info.version) {
                    let msg = format!(
                        "{}: {} bytes, more than max_object_bytes ({}): skipped",
                        terminal(&self.sources[i].source.describe(&info.key)),
                        info.size,
                        self.opts.max_object_bytes
                    );
                    tracing::warn!("{msg}");
                    report.problems.push(msg);
                    self.metrics
                        .add(names::OBJECT_ERRORS, &[("source", &name)], 1.0);
                    skipped.push((
                        name.clone(),
                        info.key.clone(),
                        checkpoint(&info, &origin, info.size, true),
                    ));
                }
                continue;
            }
            if let Some(start) = plan(&info, prev.as_ref(), self.sources[i].source.immutable()) {
                work.push(Work {
                    key: info.key.clone(),
                    name: self.sources[i].source.describe(&info.key),
                    info,
                    origin,
                    start,
                    prev,
                });
            }
        }
        self.state.commit(&skipped, None)?;
        // Oldest first, so alerts come in the order the activity happened.
        // By the time the key names (CloudTrail and Azure layouts), else by modification time.
        let when = |w: &Work| crate::layout::named_time_ms(&w.key).unwrap_or(w.info.modified_ms);
        work.sort_by(|a, b| (when(a), &a.key).cmp(&(when(b), &b.key)));
        let batch = self.opts.batch_objects.max(1);
        let mut rest = work;
        while !rest.is_empty() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let tail = rest.split_off(batch.min(rest.len()));
            if let Err(e) = self.step(i, rest, report) {
                self.rewind()?;
                return Err(e);
            }
            rest = tail;
        }
        if receipts.is_empty() || stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        if report.problems.len() > problems_before {
            // An object named by a message could not be read: the messages come back after
            // their visibility timeout, and the next poll lists the source in full.
            self.sources[i].listed_at = None;
            return Ok(());
        }
        if let Err(e) = self.sources[i].source.acknowledge(&self.rt, &receipts) {
            // Not deleted: delivered again later, and skipped then by the checkpoints.
            let msg = terminal(&e.to_string()).into_owned();
            tracing::warn!(source = %terminal(&name), error = %msg, "queue messages not deleted");
            report.problems.push(msg);
        }
        Ok(())
    }

    /// What source `i` has now: a full listing when one is due, plus what its queue announced
    /// (and the receipts of those messages). `None` when nothing could be looked at. A listing
    /// that fails raises a coverage alert.
    fn look(&mut self, i: usize, report: &mut PollReport) -> Result<Option<Looked>, WatchError> {
        let w = &mut self.sources[i];
        let name = terminal(&w.source.name);
        let mut objects = Vec::new();
        let mut receipts = Vec::new();
        if w.source.has_queue() {
            match w.source.notified(&self.rt) {
                Ok(n) => {
                    objects = n.objects;
                    receipts = n.receipts;
                }
                Err(e) => {
                    let msg = terminal(&e.to_string()).into_owned();
                    tracing::warn!(source = %name, error = %msg, "queue not read; listing instead");
                    report.problems.push(msg);
                    w.listed_at = None;
                }
            }
        }
        if w.full_list_due() {
            match w.source.list(&self.rt) {
                Ok(listed) => {
                    w.listed_at = Some(Instant::now());
                    objects.extend(listed);
                }
                Err(e) => {
                    let msg = terminal(&e.to_string()).into_owned();
                    tracing::warn!(source = %name, error = %msg, "source not listed");
                    report.problems.push(msg.clone());
                    self.alert_unlistable(i, &msg, report)?;
                    if receipts.is_empty() {
                        return Ok(None);
                    }
                }
            }
        }
        // A key both listed and announced is looked at once (the newest description wins).
        objects.sort_by(|a, b| (&a.key, a.modified_ms).cmp(&(&b.key, b.modified_ms)));
        objects.dedup_by(|later, earlier| {
            let same = later.key == earlier.key;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        Ok(Some((objects, receipts)))
    }

    /// Reads, stores, hunts and alerts one batch of objects of source `i`, then records their
    /// checkpoints and tries deliveries.
    fn step(
        &mut self,
        i: usize,
        work: Vec<Work>,
        report: &mut PollReport,
    ) -> Result<(), WatchError> {
        let name = self.sources[i].source.name.clone();
        let immutable = self.sources[i].source.immutable();
        let mut inputs = Vec::new();
        let mut checkpoints = Vec::new();
        let mut newest_modified = i64::MIN;
        for w in work {
            let data = match self.sources[i]
                .source
                .read(&self.rt, &w.key, w.start..w.info.size)
            {
                Ok(d) => d,
                Err(e) => {
                    // Not checkpointed: read again at the next poll.
                    let msg = format!("{}: cannot read: {}", terminal(&w.name), terminal(&e));
                    tracing::warn!("{msg}");
                    report.problems.push(msg);
                    self.metrics
                        .add(names::OBJECT_ERRORS, &[("source", &name)], 1.0);
                    continue;
                }
            };
            let (end, whole) = extent(&w, &data, immutable);
            let len = usize::try_from(end.saturating_sub(w.start)).unwrap_or(data.len());
            let chunk = data.slice(..len.min(data.len()));
            if !chunk.is_empty() {
                let label = if w.start == 0 && end == w.info.size {
                    w.name.clone()
                } else {
                    format!("{} (bytes {}..{end})", w.name, w.start)
                };
                inputs.push(stream_input(label, chunk));
                newest_modified = newest_modified.max(w.info.modified_ms);
            }
            let mut c = checkpoint(&w.info, &w.origin, end, whole);
            c.done_ms = now_ms();
            checkpoints.push((name.clone(), w.key, c));
        }
        if !inputs.is_empty() {
            let opts = IngestOptions {
                threads: self.opts.threads.max(1),
                ..IngestOptions::default()
            };
            let ingested = self.store.ingest(&inputs, &opts)?;
            // On object storage, before anything is checkpointed: a push that fails leaves
            // these objects to be read again (the copy's store finds their events by id).
            self.push_remote()?;
            for e in &ingested.errors {
                let msg = terminal(&e.to_string()).into_owned();
                tracing::warn!(source = %terminal(&name), "{msg}");
                report.problems.push(msg);
            }
            if !ingested.errors.is_empty() {
                self.metrics.add(
                    names::OBJECT_ERRORS,
                    &[("source", &name)],
                    ingested.errors.len() as f64,
                );
            }
            report.objects += inputs.len() as u64;
            report.events_added += ingested.added;
            self.metrics
                .add(names::OBJECTS_IN, &[("source", &name)], inputs.len() as f64);
            self.metrics.add(
                names::EVENTS_IN,
                &[("source", &name)],
                ingested.added as f64,
            );
            self.pipeline.feed(&inputs, &|_| {}, &|_| {});
        }
        // Committed even when nothing was read: the checkpoints and the detection state are
        // saved together, so that a restart feeds no event twice and loses none.
        let done = self.pipeline.commit(now_ms())?;
        self.hand_out(done, report)?;
        let snapshot = self.snapshot()?;
        self.state.commit(&checkpoints, Some(&snapshot))?;
        self.send_anchor()?;
        self.publish_to_bucket();
        if newest_modified > i64::MIN {
            let lag = (now_ms() - newest_modified).max(0) as f64 / 1000.0;
            self.metrics.set(names::LAG, &[("source", &name)], lag);
        }
        report.delivery.add(self.dispatch()?);
        Ok(())
    }
}

fn log_report(r: &PollReport) {
    if r.objects > 0 || r.alerts_new > 0 || r.delivery != RunStatsSum::default() {
        tracing::info!(
            objects = r.objects,
            events = r.events_added,
            new_alerts = r.alerts_new,
            merged = r.alerts_merged,
            sent = r.delivery.sent,
            failed = r.delivery.failed,
            problems = r.problems.len(),
            "poll"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_keys_ignore_the_first_event_and_control_characters_are_escaped() {
        let a = Alert {
            id: "x".into(),
            rule_id: "r".into(),
            title: "t".into(),
            severity: Severity::High,
            first_seen: "2026-01-01T00:00:00Z".into(),
            last_seen: "2026-01-01T00:00:00Z".into(),
            count: 1,
            event_ids: vec!["e1".into()],
            provider: Provider::Aws,
            account: Some("1".into()),
            region: None,
            principal: "p".into(),
            source_ips: vec![],
            actions: vec![],
            resources: vec![],
            tags: vec![],
            description: String::new(),
        };
        let mut b = a.clone();
        b.id = "y".into();
        b.event_ids = vec!["e9".into()];
        assert_eq!(incident_key(&a), incident_key(&b));
        b.principal = "q".into();
        assert_ne!(incident_key(&a), incident_key(&b));
        assert_eq!(terminal("a\u{1b}[31mb\n"), "a\\x1b[31mb\\n");
        assert_eq!(terminal("x\u{202e}y"), "x\\u{202e}y");
    }
}
