//! The hunt: every input through the rules, on every core, into grouped alerts.

use crate::content::ContentOptions;
use crate::group::{
    alert_id, merge_whole, sort_pending, GroupOptions, Grouper, PendingAlert, WholeAlert,
};
use crate::intern::Interner;
use crate::pack::RulePack;
use crate::scan::par_read;
use rustc_hash::FxHashMap;
use trailwatch_decode::time::format_ms;
use trailwatch_decode::{DecodeError, FileStats, Input, Record};
use trailwatch_model::{Alert, Provider};
use trailwatch_sigma::{CorrelationHit, CorrelationState, RuleRef};

/// Events outside `[since, until]` (milliseconds) are not examined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl TimeRange {
    /// Whether an event at `t` is in range (events without a time are in range only when no
    /// bound is set).
    pub fn contains(&self, t: Option<i64>) -> bool {
        match t {
            Some(t) => self.since_ms.is_none_or(|s| t >= s) && self.until_ms.is_none_or(|u| t <= u),
            None => self.since_ms.is_none() && self.until_ms.is_none(),
        }
    }
}

/// How to hunt.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    pub range: TimeRange,
    /// How firings become alerts.
    pub group: GroupOptions,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Count AWS services acting for the account (see [`Record::is_service_principal`]) as
    /// principals in correlations, baselines and chains. Off by default: a service's denied
    /// log deliveries are a misconfiguration, not an intruder's enumeration. Correlation rules
    /// tagged [`SERVICE_PRINCIPALS_TAG`] see them either way.
    pub include_service_principals: bool,
    /// What reading a call's content needs to know (the organisation's accounts).
    pub content: ContentOptions,
    /// With [`hunt_observing`]: keep only the events that can be a chain's step (when the
    /// learned baselines and context do not run, which need every event).
    pub observe_chain_steps_only: bool,
}

/// The tag of a correlation rule that is about services' own activity, so that calls made by
/// AWS services count towards it.
pub const SERVICE_PRINCIPALS_TAG: &str = "trailwatch.service-principals";

impl Default for HuntOptions {
    fn default() -> Self {
        HuntOptions {
            range: TimeRange::default(),
            group: GroupOptions::default(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            include_service_principals: false,
            content: ContentOptions::default(),
            observe_chain_steps_only: false,
        }
    }
}

/// Whether a correlation rule counts events of service principals.
fn counts_services(rule: &trailwatch_sigma::Rule) -> bool {
    rule.tags.iter().any(|t| t == SERVICE_PRINCIPALS_TAG)
}

impl HuntReport {
    /// Every alert, rendered (holds all event ids as text: for small results and tests).
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts.iter().map(PendingAlert::to_alert).collect()
    }
}

/// What a hunt found.
#[derive(Debug, Default)]
pub struct HuntReport {
    /// In reading order; [`PendingAlert::to_alert`] renders one.
    pub alerts: Vec<PendingAlert>,
    pub stats: FileStats,
    /// Events inside the time range (the ones the rules saw).
    pub examined: u64,
    /// With [`hunt_observing`]: every examined event, compactly and in time order, for the
    /// baselines and chains (`trailwatch_baseline`).
    pub observations: Option<trailwatch_baseline::Observations>,
}

/// What a correlation alert says about the events that made it, interned: [account, region,
/// principal, source IP, action] (`u32::MAX`: absent).
#[derive(Debug, Clone, Copy)]
struct SeenFacts {
    provider: Provider,
    fields: [u32; 5],
}

/// Facts of the events correlations observed, keyed by the event id's hash.
#[derive(Debug, Default)]
struct FactBook {
    strings: Interner,
    by_id: FxHashMap<u64, SeenFacts>,
}

fn id_key(id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    std::hash::Hasher::write(&mut h, id.as_bytes());
    std::hash::Hasher::finish(&h)
}

impl FactBook {
    fn note(&mut self, provider: Provider, f: &trailwatch_decode::Facts<'_>) {
        let key = id_key(&f.event_id);
        if self.by_id.contains_key(&key) {
            return;
        }
        let mut id = |v: Option<&str>| v.map_or(u32::MAX, |s| self.strings.id(s));
        let fields = [
            id(f.account.as_deref()),
            id(f.region.as_deref()),
            id(Some(&f.principal)),
            id(f.source_ip.as_deref()),
            id(Some(&f.action)),
        ];
        self.by_id.insert(key, SeenFacts { provider, fields });
    }

    fn merge(&mut self, other: FactBook) {
        for (k, f) in other.by_id {
            let fields = f.fields.map(|i| {
                if i == u32::MAX {
                    i
                } else {
                    self.strings.id(other.strings.get(i))
                }
            });
            self.by_id.entry(k).or_insert(SeenFacts {
                provider: f.provider,
                fields,
            });
        }
    }

    /// (provider, [account, region, principal, ip, action]) of an event.
    fn get(&self, id: &str) -> Option<(Provider, [Option<&str>; 5])> {
        let f = self.by_id.get(&id_key(id))?;
        Some((
            f.provider,
            f.fields
                .map(|i| (i != u32::MAX).then(|| self.strings.get(i))),
        ))
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// One worker's state.
struct Worker<'p> {
    pack: &'p RulePack,
    content: &'p ContentOptions,
    range: TimeRange,
    include_services: bool,
    chain_steps_only: bool,
    hits: Vec<RuleRef>,
    grouper: Grouper,
    aws_corr: CorrelationState,
    azure_corr: CorrelationState,
    facts: FactBook,
    examined: u64,
    observed: Option<trailwatch_baseline::Collector>,
    /// Every `recipientAccountId` read: the input's own accounts.
    accounts: rustc_hash::FxHashSet<Box<str>>,
}

impl<'p> Worker<'p> {
    fn new(pack: &'p RulePack, opts: &'p HuntOptions, observe: Option<usize>) -> Self {
        Worker {
            pack,
            content: &opts.content,
            range: opts.range,
            include_services: opts.include_service_principals,
            chain_steps_only: opts.observe_chain_steps_only,
            hits: Vec::new(),
            grouper: Grouper::new(opts.group),
            aws_corr: CorrelationState::new(),
            azure_corr: CorrelationState::new(),
            facts: FactBook::default(),
            examined: 0,
            observed: observe.map(trailwatch_baseline::Collector::new),
            accounts: Default::default(),
        }
    }

    fn on_record(&mut self, rec: &Record<'_>) {
        if let Record::Aws(r) = rec {
            if let Some(a) = r.str("recipientAccountId") {
                if !self.accounts.contains(a.as_ref()) {
                    self.accounts.insert(a.into());
                }
            }
        }
        if !self.range.contains(rec.time_ms()) {
            return;
        }
        self.examined += 1;
        // Asked at most once per record, and only when the baselines or a correlation need it.
        let include_services = self.include_services;
        let mut service = None;
        let mut is_service =
            || *service.get_or_insert_with(|| !include_services && rec.is_service_principal());
        if let Some(c) = &mut self.observed {
            if !is_service() {
                crate::observe::observe(rec, c, self.chain_steps_only);
            }
        }
        let provider = rec.provider();
        let set = self.pack.set(provider);
        self.hits.clear();
        let index = rec.index_value();
        set.matches(rec.fields(), index.as_deref(), &mut self.hits);
        if self.hits.is_empty() {
            return;
        }
        let facts = rec.facts();
        let raise = crate::content::assess(rec, self.content);
        for &r in &self.hits {
            if let (true, Some(t)) = (set.feeds_correlation(r), rec.time_ms()) {
                let state = match provider {
                    Provider::Aws => &mut self.aws_corr,
                    Provider::Azure => &mut self.azure_corr,
                };
                let service = is_service();
                let admit = |c: &trailwatch_sigma::Rule| !service || counts_services(c);
                if state.observe_admitted(set, r, rec.fields(), t, &facts.event_id, &admit) {
                    self.facts.note(provider, &facts);
                }
            }
            if set.alerts(r) {
                if let Some(rule) = set.rule(r) {
                    self.grouper
                        .add(rule, provider, &facts, raise.as_ref(), &|| rec.resources());
                }
            }
        }
    }
}

/// Runs every input through the pack's rules and returns the grouped alerts. Problems with the
/// input go to `on_error` as they are met; `on_progress` gets the (on-disk) bytes of each input
/// when it is done.
pub fn hunt(
    inputs: &[Input],
    pack: &RulePack,
    opts: &HuntOptions,
    on_error: &(dyn Fn(DecodeError) + Sync),
    on_progress: &(dyn Fn(u64) + Sync),
) -> HuntReport {
    run(inputs, pack, opts, None, on_error, on_progress)
}

/// [`hunt`], also keeping every examined event (up to `max_events`, ≈ 80 bytes each) for the
/// baselines: [`HuntReport::observations`] holds them in time order.
pub fn hunt_observing(
    inputs: &[Input],
    pack: &RulePack,
    opts: &HuntOptions,
    max_events: usize,
    on_error: &(dyn Fn(DecodeError) + Sync),
    on_progress: &(dyn Fn(u64) + Sync),
) -> HuntReport {
    run(inputs, pack, opts, Some(max_events), on_error, on_progress)
}

fn run(
    inputs: &[Input],
    pack: &RulePack,
    opts: &HuntOptions,
    observe: Option<usize>,
    on_error: &(dyn Fn(DecodeError) + Sync),
    on_progress: &(dyn Fn(u64) + Sync),
) -> HuntReport {
    let threads = opts.threads.clamp(1, inputs.len().max(1));
    let per_worker = observe.map(|m| m.div_ceil(threads).max(1));
    let (workers, stats) = par_read(
        inputs,
        opts.threads,
        &|| Worker::new(pack, opts, per_worker),
        &|w, r| w.on_record(r),
        on_error,
        on_progress,
    );
    tracing::debug!(
        live_mb = trailwatch_model::gauge::live_heap_mb(),
        peak_mb = trailwatch_model::gauge::peak_heap_mb(),
        "read done"
    );
    finish(pack, opts, workers, stats)
}

fn finish(
    pack: &RulePack,
    opts: &HuntOptions,
    workers: Vec<Worker<'_>>,
    stats: FileStats,
) -> HuntReport {
    let mut grouper = Grouper::new(opts.group);
    let mut aws_corr = CorrelationState::new();
    let mut azure_corr = CorrelationState::new();
    let mut facts = FactBook::default();
    let mut examined = 0;
    let mut collectors = Vec::new();
    let mut accounts = rustc_hash::FxHashSet::default();
    for w in workers {
        examined += w.examined;
        accounts.extend(w.accounts);
        collectors.extend(w.observed);
        grouper.merge(w.grouper);
        aws_corr.merge(w.aws_corr);
        azure_corr.merge(w.azure_corr);
        facts.merge(w.facts);
    }
    tracing::debug!(
        live_mb = trailwatch_model::gauge::live_heap_mb(),
        peak_mb = trailwatch_model::gauge::peak_heap_mb(),
        "merged"
    );
    tracing::debug!(footprint = ?grouper.footprint(), groups = grouper.groups(), facts = facts.len(), "memory");
    tracing::debug!(
        firings = grouper.firings(),
        correlation_observations = aws_corr.len() + azure_corr.len(),
        "grouped"
    );
    let mut alerts = grouper.into_alerts(&|a| accounts.contains(a));
    let whole: Vec<WholeAlert> = aws_corr
        .finish(&pack.aws)
        .into_iter()
        .chain(azure_corr.finish(&pack.azure))
        .filter(|hit| hit.rule.generates_alerts() && hit.rule.level >= pack.aws.config().min_level)
        .map(|hit| WholeAlert {
            alert: correlation_alert(&hit, &facts),
            first_ms: hit.first_ms,
            last_ms: hit.last_ms,
        })
        .collect();
    alerts.extend(merge_whole(whole, &opts.group));
    sort_pending(&mut alerts);
    tracing::debug!(
        live_mb = trailwatch_model::gauge::live_heap_mb(),
        peak_mb = trailwatch_model::gauge::peak_heap_mb(),
        "correlated"
    );
    let observations =
        (!collectors.is_empty()).then(|| trailwatch_baseline::Observations::merge(collectors));
    HuntReport {
        alerts,
        stats,
        examined,
        observations,
    }
}

fn push_distinct(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn correlation_alert(hit: &CorrelationHit, facts: &FactBook) -> Alert {
    let known: Vec<(Provider, [Option<&str>; 5])> = hit
        .event_ids
        .iter()
        .filter_map(|id| facts.get(id))
        .collect();
    let (mut ips, mut actions, mut principals, mut regions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (_, [_, region, principal, ip, action]) in &known {
        for (list, v) in [
            (&mut ips, ip),
            (&mut actions, action),
            (&mut principals, principal),
            (&mut regions, region),
        ] {
            if let Some(v) = v {
                push_distinct(list, v);
            }
        }
    }
    let group: Vec<String> = hit
        .group
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("-")))
        .collect();
    let principal = if principals.is_empty() {
        group.join(" ")
    } else {
        principals.join(",")
    };
    let provider = known.first().map_or(Provider::Aws, |f| f.0);
    let account = known.first().and_then(|f| f.1[0]).map(str::to_string);
    let first_id = hit.event_ids.first().map(String::as_str).unwrap_or("");
    let mut description = crate::group::rule_description(&hit.rule);
    if !group.is_empty() {
        description.push_str(&format!(" [correlation over {}]", group.join(", ")));
    }
    Alert {
        id: alert_id(&[
            hit.rule.key(),
            provider.as_str(),
            &group.join("|"),
            first_id,
        ]),
        rule_id: hit.rule.key().to_string(),
        title: hit.rule.title.clone(),
        severity: hit.rule.level,
        first_seen: format_ms(hit.first_ms),
        last_seen: format_ms(hit.last_ms),
        count: hit.count,
        event_ids: hit.event_ids.clone(),
        provider,
        account,
        region: (!regions.is_empty()).then(|| regions.join(",")),
        principal,
        source_ips: ips,
        actions,
        resources: Vec::new(),
        tags: hit.rule.tags.clone(),
        description,
    }
}
