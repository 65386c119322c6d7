//! The hunt: every input through the rules, on every core, into grouped alerts.

use crate::content::ContentOptions;
use crate::group::{alert_id, GroupOptions, Grouper, PendingAlert};
use crate::intern::Interner;
use crate::pack::RulePack;
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
}

/// What a correlation alert says about the events that made it, interned: [account, region,
/// principal, source IP, action] (`u32::MAX`: absent).
#[derive(Debug, Clone, Copy)]
struct SeenFacts {
    provider: Provider,
    fields: [u32; 5],
}

/// One event's facts as plain data: the event id's hash, its cloud, and [account, region,
/// principal, source IP, action].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct FactRow {
    key: u64,
    provider: Provider,
    fields: [Option<String>; 5],
}

/// Facts of the events correlations observed, keyed by the event id's hash.
#[derive(Debug, Default)]
pub(crate) struct FactBook {
    strings: Interner,
    by_id: FxHashMap<u64, SeenFacts>,
}

pub(crate) fn id_key(id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    std::hash::Hasher::write(&mut h, id.as_bytes());
    std::hash::Hasher::finish(&h)
}

impl FactBook {
    pub(crate) fn note(&mut self, provider: Provider, f: &trailwatch_decode::Facts<'_>) {
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

    pub(crate) fn merge(&mut self, other: FactBook) {
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

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Keeps the facts of the events `keep` names only (those a correlation still holds).
    pub(crate) fn retain<'a>(&mut self, keep: impl Iterator<Item = &'a str>) {
        let keys: rustc_hash::FxHashSet<u64> = keep.map(id_key).collect();
        self.by_id.retain(|k, _| keys.contains(k));
    }

    /// The facts as plain rows, to be kept between runs.
    pub(crate) fn rows(&self) -> Vec<FactRow> {
        self.by_id
            .iter()
            .map(|(k, f)| FactRow {
                key: *k,
                provider: f.provider,
                fields: f
                    .fields
                    .map(|i| (i != u32::MAX).then(|| self.strings.get(i).to_string())),
            })
            .collect()
    }

    /// The facts of [`rows`](Self::rows) again.
    pub(crate) fn from_rows(rows: Vec<FactRow>) -> FactBook {
        let mut book = FactBook::default();
        for r in rows {
            let fields = r
                .fields
                .map(|v| v.map_or(u32::MAX, |s| book.strings.id(&s)));
            book.by_id.insert(
                r.key,
                SeenFacts {
                    provider: r.provider,
                    fields,
                },
            );
        }
        book
    }
}

/// Where a pipeline stands when a worker reads: events at or before `watermark_ms` are late;
/// at or before `learned_ms`, too late to join the baselines and chains.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lateness {
    pub(crate) watermark_ms: i64,
    pub(crate) learned_ms: i64,
}

/// One worker's state.
pub(crate) struct Worker<'p> {
    pack: &'p RulePack,
    content: &'p ContentOptions,
    range: TimeRange,
    include_services: bool,
    chain_steps_only: bool,
    lateness: Lateness,
    hits: Vec<RuleRef>,
    pub(crate) grouper: Grouper,
    pub(crate) aws_corr: CorrelationState,
    pub(crate) azure_corr: CorrelationState,
    pub(crate) entra_corr: CorrelationState,
    pub(crate) facts: FactBook,
    pub(crate) examined: u64,
    /// The latest event time examined.
    pub(crate) max_ms: i64,
    /// Examined events at or before the watermark, and those of them too late to join.
    pub(crate) late: u64,
    pub(crate) too_late: u64,
    pub(crate) observed: Option<trailwatch_baseline::Collector>,
    /// Every `recipientAccountId` read: the input's own accounts.
    pub(crate) accounts: rustc_hash::FxHashSet<Box<str>>,
}

impl<'p> Worker<'p> {
    pub(crate) fn new(
        pack: &'p RulePack,
        opts: &'p HuntOptions,
        observe: Option<usize>,
        lateness: Lateness,
    ) -> Self {
        Worker {
            pack,
            content: &opts.content,
            range: opts.range,
            include_services: opts.include_service_principals,
            chain_steps_only: opts.observe_chain_steps_only,
            lateness,
            hits: Vec::new(),
            grouper: Grouper::new(opts.group),
            aws_corr: CorrelationState::new(),
            azure_corr: CorrelationState::new(),
            entra_corr: CorrelationState::new(),
            facts: FactBook::default(),
            examined: 0,
            max_ms: i64::MIN,
            late: 0,
            too_late: 0,
            observed: observe.map(trailwatch_baseline::Collector::new),
            accounts: Default::default(),
        }
    }

    pub(crate) fn on_record(&mut self, rec: &Record<'_>) {
        self.note_account(rec);
        if !self.range.contains(rec.time_ms()) {
            return;
        }
        self.examined += 1;
        if let Some(t) = rec.time_ms() {
            self.max_ms = self.max_ms.max(t);
            if t <= self.lateness.watermark_ms {
                self.late += 1;
                if t <= self.lateness.learned_ms {
                    self.too_late += 1;
                }
            }
        }
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
        // Azure: the resources are needed now, to tell a non-production environment.
        let resources = matches!(rec, Record::Azure(_)).then(|| rec.resources());
        let environment = resources
            .as_deref()
            .and_then(|r| self.content.environments.all_non_production(r));
        let resources_of = || resources.clone().unwrap_or_else(|| rec.resources());
        for &r in &self.hits {
            if let (true, Some(t)) = (set.feeds_correlation(r), rec.time_ms()) {
                let state = match provider {
                    Provider::Aws => &mut self.aws_corr,
                    Provider::Azure => &mut self.azure_corr,
                    Provider::Entra => &mut self.entra_corr,
                };
                let service = is_service();
                let admit = |c: &trailwatch_sigma::Rule| !service || counts_services(c);
                if state.observe_admitted(set, r, rec.fields(), t, &facts.event_id, &admit) {
                    self.facts.note(provider, &facts);
                }
            }
            if set.alerts(r) {
                if let Some(rule) = set.rule(r) {
                    let firing = crate::group::Firing {
                        facts: &facts,
                        raise: raise.as_ref(),
                        environment,
                        resources: &resources_of,
                    };
                    self.grouper.add(rule, provider, firing);
                }
            }
        }
    }
}

impl Worker<'_> {
    /// Notes the account a record belongs to: the input's own accounts (AWS
    /// `recipientAccountId`, Azure subscription, in lower case) are inside when no organisation
    /// is configured.
    fn note_account(&mut self, rec: &Record<'_>) {
        let account = match rec {
            Record::Aws(r) => r.str("recipientAccountId").map(|a| a.into_owned()),
            Record::Azure(r) => r.subscription_id().map(|s| s.to_ascii_lowercase()),
            Record::Entra(_) => None,
        };
        if let Some(a) = account {
            if !self.accounts.contains(a.as_str()) {
                self.accounts.insert(a.into());
            }
        }
    }
}

/// Runs every input through the pack's rules and returns the grouped alerts: a
/// [`Pipeline`](crate::Pipeline) without baselines or chains, fed everything, then finished.
/// Problems with the input go to `on_error` as they are met; `on_progress` gets the (on-disk)
/// bytes of each input when it is done.
pub fn hunt(
    inputs: &[Input],
    pack: &RulePack,
    opts: &HuntOptions,
    on_error: &(dyn Fn(DecodeError) + Sync),
    on_progress: &(dyn Fn(u64) + Sync),
) -> HuntReport {
    let mut pipeline = crate::Pipeline::new(pack, crate::PipelineOptions::signatures(opts.clone()));
    let fed = pipeline.feed(inputs, on_error, on_progress);
    let alerts = match pipeline.finish(0) {
        Ok(c) => c.alerts,
        // Without the engine, finishing cannot fail.
        Err(_) => Vec::new(),
    };
    HuntReport {
        alerts,
        stats: fed.stats,
        examined: fed.examined,
    }
}

fn push_distinct(v: &mut Vec<String>, s: &str) {
    if !s.is_empty() && !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

pub(crate) fn correlation_alert(hit: &CorrelationHit, facts: &FactBook) -> Alert {
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
