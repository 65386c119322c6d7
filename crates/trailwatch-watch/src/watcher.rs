//! The loop: list each source → read what is new → store → detect → outbox → deliver.

use crate::config::{Config, Coverage, SinkConfig, SinkKind, SourceKind, WatchSection};
use crate::error::WatchError;
use crate::hygiene::Hygiene;
use crate::layout::{classify, Kind, Origin};
use crate::metrics::{names, Metrics};
use crate::source::{ObjectInfo, Source};
use crate::state::{Checkpoint, OriginSeen, State};
use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::runtime::Runtime;
use trailwatch_decode::time::format_ms;
use trailwatch_decode::Input;
use trailwatch_detect::group::alert_id;
use trailwatch_detect::{hunt, hunt_observing, HuntOptions, RulePack};
use trailwatch_escape::terminal;
use trailwatch_model::{Alert, Provider, Severity};
use trailwatch_sink::{
    Backoff, Dispatcher, Enqueued, JsonlSink, Outbox, Route, RoutedSink, RunStats, Secret,
    SlackSink, SmtpConfig, SmtpSecurity, SmtpSink, SyslogBody, SyslogConfig, SyslogSink, SyslogTls,
    WebhookSink,
};
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

/// The default `full_list_interval` of a source with a queue.
const FULL_LIST_INTERVAL: Duration = Duration::from_secs(3600);

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

/// One object's share of a step.
struct Work {
    key: String,
    name: String,
    info: ObjectInfo,
    origin: Origin,
    start: u64,
    /// The checkpoint before this step, if any.
    prev: Option<Checkpoint>,
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
    pack: RulePack,
    /// Baselines, chains, context and suppressions, when the configuration has them.
    hygiene: Option<Hygiene>,
    dispatcher: Dispatcher,
    metrics: Metrics,
    opts: WatchSection,
    started_ms: i64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The key that makes re-detections of one incident one alert: rule, cloud, account and
/// principal (the first event is left out, so the incident survives restarts and growth).
pub fn incident_key(a: &Alert) -> String {
    alert_id(&[
        "incident",
        &a.rule_id,
        a.provider.as_str(),
        a.account.as_deref().unwrap_or(""),
        &a.principal,
    ])
}

/// Builds the sinks a configuration names; secrets come from the environment variables it
/// names.
pub fn build_sinks(sinks: &[SinkConfig]) -> Result<Vec<RoutedSink>, WatchError> {
    let mut out = Vec::new();
    for s in sinks {
        let fail = |reason: String| WatchError::Sink {
            name: s.name.clone(),
            source: trailwatch_sink::SinkError::Config(reason),
        };
        let env = |var: &str| {
            std::env::var(var).map_err(|_| fail(format!("environment variable {var} is not set")))
        };
        let route = Route::at_least(s.min_severity).with_tags(s.tags.iter().cloned());
        let routed = match &s.kind {
            SinkKind::Webhook {
                url,
                secret_env,
                timeout,
            } => {
                let secret = match secret_env {
                    Some(var) => env(var)?,
                    None => {
                        tracing::warn!(sink = %s.name, "webhook without secret_env: signed with an empty key");
                        String::new()
                    }
                };
                let mut w = WebhookSink::new(&s.name, url, secret.into_bytes());
                if let Some(t) = timeout {
                    w = w.with_timeout(*t);
                }
                RoutedSink::new(w, route)
            }
            SinkKind::Slack { url_env } => {
                RoutedSink::new(SlackSink::new(&s.name, env(url_env)?), route)
            }
            SinkKind::Smtp {
                host,
                port,
                starttls,
                username,
                password_env,
                from,
                to,
            } => {
                let credentials = match (username, password_env) {
                    (Some(u), Some(p)) => Some((u.clone(), Secret::new(env(p)?))),
                    (None, None) => None,
                    _ => return Err(fail("username and password_env go together".into())),
                };
                let config = SmtpConfig {
                    host: host.clone(),
                    port: *port,
                    security: if *starttls {
                        SmtpSecurity::StartTls
                    } else {
                        SmtpSecurity::Plain
                    },
                    credentials,
                    from: from.clone(),
                    to: to.clone(),
                    timeout: Duration::from_secs(10),
                };
                let sink = SmtpSink::new(&s.name, &config).map_err(|source| WatchError::Sink {
                    name: s.name.clone(),
                    source,
                })?;
                RoutedSink::new(sink, route)
            }
            SinkKind::Syslog {
                address,
                format,
                facility,
                tls,
                ca_file,
                server_name,
            } => {
                let body = if format == "json" {
                    SyslogBody::Json
                } else {
                    SyslogBody::Cef
                };
                let mut config = SyslogConfig::new(address, body);
                if let Some(f) = facility {
                    config.facility = *f;
                }
                if *tls || ca_file.is_some() || server_name.is_some() {
                    config.tls = Some(SyslogTls {
                        ca_file: ca_file.clone(),
                        server_name: server_name.clone(),
                    });
                }
                let sink = SyslogSink::new(&s.name, config).map_err(|source| WatchError::Sink {
                    name: s.name.clone(),
                    source,
                })?;
                RoutedSink::new(sink, route)
            }
            SinkKind::Jsonl { path } => RoutedSink::new(JsonlSink::new(&s.name, path), route),
        };
        out.push(routed);
    }
    Ok(out)
}

/// The store directory a configuration names (else `$TRAILWATCH_STORE`, else the default).
pub fn store_dir(config: &Config) -> PathBuf {
    config
        .store
        .dir
        .clone()
        .or_else(|| std::env::var_os(trailwatch_store::STORE_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(trailwatch_store::DEFAULT_STORE_DIR))
}

impl Watcher {
    /// Everything a configuration describes: sources, the store (created if missing), rules,
    /// the outbox and its sinks.
    pub fn from_config(config: &Config) -> Result<Watcher, WatchError> {
        // First: nothing below (clients, errors, the outbox) may print a secret.
        crate::secrets::register_secrets(config);
        let dir = store_dir(config);
        let store = Store::open_or_create(&dir)?;
        let hygiene = Hygiene::from_config(config, &dir, "configuration")?;
        let rule_level = hygiene.as_ref().map_or(config.watch.min_level, |h| {
            h.rule_level(config.watch.min_level)
        });
        let tuning = hygiene
            .as_ref()
            .map(Hygiene::pack_tuning)
            .unwrap_or_default();
        let pack = RulePack::load_tuned(
            config.watch.builtin_rules,
            &config.watch.rules,
            rule_level,
            &tuning,
        )
        .map_err(|e| WatchError::Rules(e.to_string()))?;
        for f in pack.failures() {
            tracing::warn!(failure = %terminal(&f.to_string()), "rule not loaded");
        }
        let mut sources = Vec::new();
        for c in &config.sources {
            let provider = match c.kind {
                SourceKind::Azure { .. } => Provider::Azure,
                _ => Provider::Aws,
            };
            let full_list_interval = match &c.kind {
                SourceKind::S3 {
                    full_list_interval: Some(d),
                    ..
                } => *d,
                _ => FULL_LIST_INTERVAL,
            };
            sources.push(Watched {
                source: Source::from_config(c)?,
                coverage: c.kind.coverage().clone(),
                provider,
                full_list_interval,
                listed_at: None,
            });
        }
        let sinks = build_sinks(&config.sinks)?;
        let outbox = open_outbox(&dir)?.with_backoff(Backoff {
            base: config.watch.retry_base,
            cap: config.watch.retry_max,
        });
        let dispatcher = Dispatcher::new(outbox, sinks).map_err(|source| WatchError::Sink {
            name: "-".into(),
            source,
        })?;
        let mut w = Watcher::new(store, pack, dispatcher, sources, config.watch.clone())?;
        w.hygiene = hygiene;
        Ok(w)
    }

    fn new(
        store: Store,
        pack: RulePack,
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
        Ok(Watcher {
            rt,
            sources,
            state,
            store,
            pack,
            hygiene: None,
            dispatcher,
            metrics: Metrics::default(),
            opts,
            started_ms: now_ms(),
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

    /// Runs until `stop` is set: a poll, then deliveries due, every `poll_interval`. An error
    /// of one poll (a store that cannot be written, say) is logged and the next poll retries.
    pub fn run(&mut self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            match self.poll_until(stop, false) {
                Ok(r) => log_report(&r),
                Err(e) => {
                    tracing::error!(error = %terminal(&e.to_string()), "poll failed; retrying at the next poll")
                }
            }
            let mut last_dispatch = Instant::now();
            while started.elapsed() < self.opts.poll_interval && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
                if last_dispatch.elapsed() >= Duration::from_secs(1) {
                    last_dispatch = Instant::now();
                    if let Err(e) = self.dispatch() {
                        tracing::error!(error = %terminal(&e.to_string()), "delivery run failed");
                    }
                }
            }
        }
        tracing::info!("stopped");
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
        for i in 0..self.sources.len() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            self.poll_source(i, &mut report, stop)?;
            self.check_coverage(i, &mut report, last_pass)?;
        }
        report.delivery.add(self.dispatch()?);
        Ok(report)
    }

    /// Tries every due delivery once.
    pub fn dispatch(&mut self) -> Result<RunStats, WatchError> {
        let stats = self.dispatcher.run_once(SystemTime::now())?;
        if stats.sent > 0 {
            self.metrics.add(names::SINK_SENT, &[], stats.sent as f64);
        }
        if stats.failed > 0 {
            self.metrics
                .add(names::SINK_FAILURES, &[], stats.failed as f64);
        }
        self.metrics.set(
            names::PENDING,
            &[],
            self.dispatcher.outbox().pending()? as f64,
        );
        Ok(stats)
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
            if let Some(start) = plan(&info, prev.as_ref(), self.sources[i].source.immutable) {
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
        self.state.commit(&skipped)?;
        // Oldest first, so alerts come in the order the activity happened.
        work.sort_by(|a, b| (a.info.modified_ms, &a.key).cmp(&(b.info.modified_ms, &b.key)));
        let batch = self.opts.batch_objects.max(1);
        let mut rest = work;
        while !rest.is_empty() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let tail = rest.split_off(batch.min(rest.len()));
            self.step(i, rest, report)?;
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

    /// Raises the coverage alert of source `i`, which could not be listed (`reason`, escaped):
    /// nothing below it is read while that lasts. One incident per source, open until resolved.
    fn alert_unlistable(
        &mut self,
        i: usize,
        reason: &str,
        report: &mut PollReport,
    ) -> Result<(), WatchError> {
        let name = self.sources[i].source.name.clone();
        report.unlisted.push(name.clone());
        let now = now_ms();
        let alert = coverage_alert(
            alert_id(&["unlistable", &name, &now.to_string()]),
            UNLISTABLE_RULE,
            format!("Audit log source cannot be listed: {name}"),
            self.sources[i].provider,
            (now, now),
            format!(
                "{reason}. Nothing below this source is read while it cannot be listed: a deleted bucket or container, changed permissions or credentials, a wrong endpoint, or a listing broken on purpose."
            ),
        );
        let key = alert_id(&["unlistable", &name]);
        self.enqueue(&key, &alert, SystemTime::now(), report)
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
        let immutable = self.sources[i].source.immutable;
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
                threads: 2,
                ..IngestOptions::default()
            };
            let ingested = self.store.ingest(&inputs, &opts)?;
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
            let hopts = HuntOptions {
                threads: 2,
                include_service_principals: self
                    .hygiene
                    .as_ref()
                    .is_some_and(Hygiene::include_service_principals),
                content: self
                    .hygiene
                    .as_ref()
                    .map(Hygiene::content)
                    .unwrap_or_default(),
                ..HuntOptions::default()
            };
            let now = SystemTime::now();
            for alert in self.detect(&inputs, &hopts)? {
                self.enqueue(&incident_key(&alert), &alert, now, report)?;
            }
        }
        self.state.commit(&checkpoints)?;
        if newest_modified > i64::MIN {
            let lag = (now_ms() - newest_modified).max(0) as f64 / 1000.0;
            self.metrics.set(names::LAG, &[("source", &name)], lag);
        }
        report.delivery.add(self.dispatch()?);
        Ok(())
    }

    /// Hunts `inputs`; with hygiene configured, also baselines, chains, context and
    /// suppressions. Decode problems were reported by the ingest of the same bytes.
    fn detect(&self, inputs: &[Input], hopts: &HuntOptions) -> Result<Vec<Alert>, WatchError> {
        let Some(h) = &self.hygiene else {
            return Ok(hunt(inputs, &self.pack, hopts, &|_| {}, &|_| {}).alerts());
        };
        let mut found = hunt_observing(inputs, &self.pack, hopts, h.max_events(), &|_| {}, &|_| {});
        h.apply(
            &mut found,
            self.opts.min_level,
            hopts.group.window_ms,
            now_ms(),
        )
    }

    fn enqueue(
        &mut self,
        key: &str,
        alert: &Alert,
        now: SystemTime,
        report: &mut PollReport,
    ) -> Result<(), WatchError> {
        let (what, id) = self.dispatcher.enqueue_incident(key, alert, now)?;
        match what {
            Enqueued::New => {
                report.alerts_new += 1;
                self.metrics.add(
                    names::ALERTS,
                    &[("severity", &alert.severity.to_string())],
                    1.0,
                );
                tracing::info!(
                    alert = %id, rule = %terminal(&alert.rule_id), severity = %alert.severity,
                    principal = %terminal(&alert.principal), "new alert"
                );
            }
            Enqueued::Known(state) => {
                report.alerts_merged += 1;
                tracing::debug!(alert = %id, %state, "detection folded into a known incident");
            }
        }
        Ok(())
    }

    /// Raises a coverage alert for every expected or seen account and region of source `i`
    /// silent for longer than its `max_gap` (on the `last_pass`, also for every one that has
    /// never delivered, unless the source could not be listed).
    fn check_coverage(
        &mut self,
        i: usize,
        report: &mut PollReport,
        last_pass: bool,
    ) -> Result<(), WatchError> {
        let name = self.sources[i].source.name.clone();
        let never_counts = last_pass && !report.unlisted.contains(&name);
        let seen = self.state.origins(&name);
        for o in &seen {
            self.metrics.set(
                names::ORIGIN_LAST,
                &[
                    ("source", &name),
                    ("account", &o.account),
                    ("region", &o.region),
                ],
                o.last_modified_ms as f64 / 1000.0,
            );
        }
        let Some(gap) = self.sources[i].coverage.max_gap else {
            return Ok(());
        };
        let gap_ms = i64::try_from(gap.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        let cov = &self.sources[i].coverage;
        let provider = self.sources[i].provider;
        // (account, region) → last delivery; "" region = the account as a whole.
        let mut last: std::collections::BTreeMap<(String, String), Option<i64>> =
            std::collections::BTreeMap::new();
        for o in &seen {
            if o.account.is_empty() {
                continue;
            }
            let e = last
                .entry((o.account.clone(), o.region.clone()))
                .or_insert(None);
            *e = Some(e.map_or(o.last_modified_ms, |t| t.max(o.last_modified_ms)));
            let acct = last
                .entry((o.account.clone(), String::new()))
                .or_insert(None);
            *acct = Some(acct.map_or(o.last_modified_ms, |t| t.max(o.last_modified_ms)));
        }
        let mut accounts: Vec<String> = cov.accounts.clone();
        for (a, _) in last.keys() {
            if !accounts.contains(a) {
                accounts.push(a.clone());
            }
        }
        for a in &accounts {
            last.entry((a.clone(), String::new())).or_insert(None);
            for r in &cov.regions {
                last.entry((a.clone(), r.clone())).or_insert(None);
            }
        }
        let mut gaps = Vec::new();
        for ((account, region), t) in &last {
            // Region-level entries cover the account; the account-level one speaks only when
            // no region is expected.
            if region.is_empty() && !cov.regions.is_empty() {
                continue;
            }
            let since = t.unwrap_or(self.started_ms);
            if now - since > gap_ms || (t.is_none() && never_counts) {
                gaps.push((account.clone(), region.clone(), *t, since));
            }
        }
        for (account, region, t, since) in gaps {
            let where_ = if region.is_empty() {
                account.clone()
            } else {
                format!("{account} {region}")
            };
            let what = gap_description(t.is_some(), now - since, gap_ms);
            let alert = Alert {
                account: Some(account.clone()),
                region: (!region.is_empty()).then(|| region.clone()),
                ..coverage_alert(
                    alert_id(&["coverage", &name, &account, &region, &since.to_string()]),
                    COVERAGE_RULE,
                    format!("Audit log delivery stopped: {where_} ({name})"),
                    provider,
                    (since, now),
                    format!(
                        "Source {name}: {what}. A sign of StopLogging, a deleted or changed trail, or a broken delivery pipeline."
                    ),
                )
            };
            let key = alert_id(&["coverage", &name, &account, &region]);
            self.enqueue(&key, &alert, SystemTime::now(), report)?;
        }
        Ok(())
    }
}

/// What a coverage gap is, `silent_ms` long (`delivered`: something came before it).
fn gap_description(delivered: bool, silent_ms: i64, gap_ms: i64) -> String {
    let silent_for = silent_ms / 60_000;
    match delivered {
        true => format!(
            "no delivery for {silent_for} min (more than the {} min allowed)",
            gap_ms / 60_000
        ),
        false if silent_ms > gap_ms => {
            format!("nothing delivered since the watch started {silent_for} min ago")
        }
        false => "nothing ever delivered (found at the end of a single pass, watch --once)".into(),
    }
}

/// A high alert of trailwatch's own about what it cannot see (no event behind it): `span` is the
/// first and last time in ms; account and region are left for the caller.
fn coverage_alert(
    id: String,
    rule: &str,
    title: String,
    provider: Provider,
    span: (i64, i64),
    description: String,
) -> Alert {
    Alert {
        id,
        rule_id: rule.to_string(),
        title,
        severity: Severity::High,
        first_seen: format_ms(span.0),
        last_seen: format_ms(span.1),
        count: 1,
        event_ids: Vec::new(),
        provider,
        account: None,
        region: None,
        principal: "-".to_string(),
        source_ips: Vec::new(),
        actions: Vec::new(),
        resources: Vec::new(),
        tags: vec!["trailwatch.coverage".to_string()],
        description,
    }
}

/// Where to start reading an object, or `None` when there is nothing new in it.
fn plan(info: &ObjectInfo, prev: Option<&Checkpoint>, immutable: bool) -> Option<u64> {
    let Some(p) = prev else {
        return (info.size > 0).then_some(0);
    };
    let replaced = p.identity.is_some() && info.identity.is_some() && p.identity != info.identity;
    if replaced || info.size < p.consumed {
        // Rotated or rewritten: a new object under the old name.
        return (info.size > 0).then_some(0);
    }
    if p.whole || immutable {
        return (p.version != info.version || p.size != info.size).then_some(0);
    }
    // Appended to: the new bytes (or a tail held back until the object stops growing).
    (info.size > p.consumed).then_some(p.consumed)
}

/// How long an unfinished JSON document must have been left alone (unchanged across two looks,
/// and not modified for this long) before it is taken as truncated and read as it is.
const UNFINISHED_SETTLE_MS: i64 = 60_000;

/// How the bytes `data` of a mutable object, read from `w.start`, are taken: up to which offset
/// of the object, and whether as a whole object (read again from its start when it changes).
///
/// Gzip and immutable objects are whole. So is one JSON document (`{…}` or `[…]` at top level,
/// maybe spanning lines, maybe without a final newline) once its closing bracket is written;
/// until then it is left for the next look, never read in part. Anything else is JSON lines,
/// read up to its last complete line.
fn extent(w: &Work, data: &[u8], immutable: bool) -> (u64, bool) {
    if immutable || data.starts_with(&[0x1f, 0x8b]) {
        return (w.info.size, true);
    }
    let stable = w
        .prev
        .as_ref()
        .is_some_and(|p| p.size == w.info.size && p.identity == w.info.identity);
    if w.start == 0 {
        match shape(data) {
            Shape::Document => return (w.info.size, true),
            Shape::Unfinished if stable && settled(&w.info) => {
                // Never finished: read as it is, so that the decoder reports it (once).
                tracing::warn!(object = %terminal(&w.name), "JSON document never completed");
                return (w.info.size, true);
            }
            Shape::Unfinished => return (0, false),
            Shape::Lines => {}
        }
    }
    (lines_end(w, data, stable), false)
}

/// Whether an object was last modified long enough ago to be taken as finished.
fn settled(info: &ObjectInfo) -> bool {
    now_ms().saturating_sub(info.modified_ms) > UNFINISHED_SETTLE_MS
}

/// Appended lines: up to the last newline. A tail without one is read once the object has
/// stopped growing (`stable`: same size as at the previous look) and looks complete (ends with
/// `}` or `]`), so that a line caught half-written is not read as a broken record.
fn lines_end(w: &Work, data: &[u8], stable: bool) -> u64 {
    let last_nl = data.iter().rposition(|&b| b == b'\n');
    let tail = &data[last_nl.map_or(0, |p| p + 1)..];
    let complete = matches!(tail.trim_ascii_end().last(), Some(b'}' | b']'));
    match last_nl {
        _ if stable && complete => w.info.size,
        Some(pos) => w.start + pos as u64 + 1,
        None => w.start,
    }
}

/// What the content of a mutable object is, judged from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// JSON lines, or anything else: read line by line.
    Lines,
    /// One JSON document, complete, followed by whitespace only.
    Document,
    /// One JSON document spanning lines whose closing bracket is not written yet.
    Unfinished,
}

fn shape(data: &[u8]) -> Shape {
    let body = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let Some(first) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Shape::Lines;
    };
    let body = &body[first..];
    if !matches!(body.first(), Some(b'{' | b'[')) {
        return Shape::Lines;
    }
    match value_end(body) {
        Some(end) if body[end..].iter().all(u8::is_ascii_whitespace) => Shape::Document,
        Some(_) => Shape::Lines,
        // A single line still being written is held back by the line reading as well.
        None if body.contains(&b'\n') => Shape::Unfinished,
        None => Shape::Lines,
    }
}

/// Where the object or array at the start of `data` ends (exclusive), or `None` when its
/// closing bracket is not in `data`. Brackets inside strings do not count.
fn value_end(data: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in data.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn checkpoint(info: &ObjectInfo, origin: &Origin, consumed: u64, whole: bool) -> Checkpoint {
    Checkpoint {
        size: info.size,
        version: info.version.clone(),
        identity: info.identity.clone(),
        consumed,
        whole,
        account: origin.account.clone(),
        region: origin.region.clone(),
        modified_ms: info.modified_ms,
        done_ms: now_ms(),
    }
}

/// Bytes as a decoder input, gunzipped when they start with gzip's magic bytes.
fn stream_input(name: String, bytes: Bytes) -> Input {
    let size = bytes.len() as u64;
    Input::Stream {
        name,
        size,
        open: Arc::new(move || {
            let b = bytes.clone();
            let r: Box<dyn Read + Send> = if b.len() >= 2 && b[0] == 0x1f && b[1] == 0x8b {
                Box::new(MultiGzDecoder::new(Cursor::new(b)))
            } else {
                Box::new(Cursor::new(b))
            };
            Ok(r)
        }),
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

    fn info(size: u64, version: &str, identity: Option<&str>) -> ObjectInfo {
        ObjectInfo {
            key: "k".into(),
            size,
            version: version.into(),
            identity: identity.map(str::to_string),
            modified_ms: 0,
        }
    }

    fn cp(
        size: u64,
        consumed: u64,
        version: &str,
        identity: Option<&str>,
        whole: bool,
    ) -> Checkpoint {
        Checkpoint {
            size,
            version: version.into(),
            identity: identity.map(str::to_string),
            consumed,
            whole,
            account: None,
            region: None,
            modified_ms: 0,
            done_ms: 0,
        }
    }

    #[test]
    fn plan_reads_new_grown_rotated_and_rewritten_objects_only() {
        // New.
        assert_eq!(plan(&info(10, "a", None), None, false), Some(0));
        assert_eq!(plan(&info(0, "a", None), None, false), None);
        // Grown: from where it stopped.
        let p = cp(10, 10, "a", Some("i1"), false);
        assert_eq!(plan(&info(25, "b", Some("i1")), Some(&p), false), Some(10));
        assert_eq!(plan(&info(10, "a", Some("i1")), Some(&p), false), None);
        // A held-back tail is read once the size is stable.
        let p = cp(12, 10, "a", Some("i1"), false);
        assert_eq!(plan(&info(12, "a", Some("i1")), Some(&p), false), Some(10));
        // Rotated (another inode) or shrunk: from the start.
        let p = cp(10, 10, "a", Some("i1"), false);
        assert_eq!(plan(&info(30, "c", Some("i2")), Some(&p), false), Some(0));
        assert_eq!(plan(&info(4, "c", Some("i1")), Some(&p), false), Some(0));
        // Whole objects (gzip, S3): again only when their version changes.
        let p = cp(10, 10, "a", None, true);
        assert_eq!(plan(&info(10, "a", None), Some(&p), true), None);
        assert_eq!(plan(&info(10, "b", None), Some(&p), true), Some(0));
    }

    #[test]
    fn documents_are_told_from_json_lines_and_unfinished_ones_from_single_lines() {
        // One document, pretty-printed or not, with or without a final newline (and a BOM).
        assert_eq!(shape(b"[\n {\"a\": 1}\n]"), Shape::Document);
        assert_eq!(shape(b"\xef\xbb\xbf {\"Records\":[]}\n\n"), Shape::Document);
        // Brackets and escaped quotes inside strings do not close it.
        assert_eq!(shape(b"{\"a\": \"]}\\\"]\",\n\"b\": [1"), Shape::Unfinished);
        assert_eq!(value_end(b"{\"a\": \"]}\\\"]\"} x"), Some(14));
        // JSON lines: a second value follows the first.
        assert_eq!(shape(b"{\"a\":1}\n{\"a\":2}\n"), Shape::Lines);
        assert_eq!(shape(b"{\"a\":1}\n{\"a\":"), Shape::Lines);
        // A single line still being written, and what is no JSON document at all.
        assert_eq!(shape(b"{\"a\":"), Shape::Lines);
        assert_eq!(shape(b"not json\n"), Shape::Lines);
        assert_eq!(shape(b"  \n"), Shape::Lines);
    }

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
