//! Correlation rules: definition, and the per-worker state that finds firing windows.

use crate::error::RuleError;
use crate::ruleset::{RuleRef, RuleSet};
use crate::yaml::{get, get_str, get_str_list, key_text, scalar_text};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use trailwatch_model::{FieldPath, FieldSource, FieldValue};
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

/// Sigma correlation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
}

/// A count comparison in a correlation `condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
}

impl CountOp {
    fn holds(self, count: u64, n: u64) -> bool {
        match self {
            CountOp::Gt => count > n,
            CountOp::Gte => count >= n,
            CountOp::Lt => count < n,
            CountOp::Lte => count <= n,
            CountOp::Eq => count == n,
        }
    }
}

/// A field alias: one name in `group-by` standing for a different field per referenced rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub name: String,
    /// (rule reference as written in `rules:`, field name in that rule's events)
    pub fields: Vec<(String, String)>,
}

/// A compiled `correlation:` block.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub kind: CorrelationType,
    /// The referenced rules as written (name, id or title).
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_ms: i64,
    /// Every comparison must hold (`{gte: 3, lte: 10}` is a range). Empty for temporal types.
    pub condition: Vec<(CountOp, u64)>,
    /// The counted field of `value_count`.
    pub value_field: Option<String>,
    pub aliases: Vec<Alias>,
    /// `generate: true` lets the referenced rules alert on their own as well.
    pub generate: bool,
    /// Indices into [`crate::LoadReport::rules`], one per entry of `rules`.
    pub(crate) resolved: Vec<usize>,
}

/// Parses `5m`, `1h`, `30s`, `1d`, `2w` into milliseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mul: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(mul).filter(|v| *v > 0)
}

fn cerr(s: impl Into<String>) -> RuleError {
    RuleError::Correlation(s.into())
}

impl Correlation {
    pub(crate) fn compile(h: &Hash) -> Result<Correlation, RuleError> {
        let kind = match get_str(h, "type").as_deref() {
            Some("event_count") => CorrelationType::EventCount,
            Some("value_count") => CorrelationType::ValueCount,
            Some("temporal") => CorrelationType::Temporal,
            Some("temporal_ordered") => CorrelationType::TemporalOrdered,
            Some(other) => return Err(cerr(format!("unknown type '{other}'"))),
            None => return Err(cerr("missing 'type'")),
        };
        let rules = get_str_list(h, "rules");
        if rules.is_empty() {
            return Err(cerr("missing 'rules'"));
        }
        if matches!(
            kind,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        ) && rules.len() < 2
        {
            return Err(cerr("temporal correlations need at least two rules"));
        }
        if rules.len() > u16::MAX as usize {
            return Err(cerr("too many rules"));
        }
        let timespan = get_str(h, "timespan").ok_or_else(|| cerr("missing 'timespan'"))?;
        let timespan_ms = parse_timespan(&timespan).ok_or_else(|| {
            cerr(format!(
                "invalid timespan '{timespan}' (use e.g. 30s, 5m, 1h, 1d)"
            ))
        })?;
        let group_by = get_str_list(h, "group-by");
        let mut condition = Vec::new();
        let mut value_field = get_str(h, "field");
        match get(h, "condition") {
            None | Some(Yaml::Null) => {}
            Some(Yaml::Hash(c)) => {
                for (k, v) in c {
                    let key = key_text(k).unwrap_or_default();
                    let op = match key.as_str() {
                        "gt" => CountOp::Gt,
                        "gte" => CountOp::Gte,
                        "lt" => CountOp::Lt,
                        "lte" => CountOp::Lte,
                        "eq" => CountOp::Eq,
                        "field" => {
                            value_field = scalar_text(v);
                            continue;
                        }
                        other => return Err(cerr(format!("unknown condition operator '{other}'"))),
                    };
                    let n = scalar_text(v)
                        .and_then(|t| t.trim().parse::<u64>().ok())
                        .ok_or_else(|| cerr(format!("condition '{key}' needs a whole number")))?;
                    condition.push((op, n));
                }
            }
            Some(_) => return Err(cerr("'condition' must be a map such as {gte: 3}")),
        }
        match kind {
            CorrelationType::EventCount | CorrelationType::ValueCount if condition.is_empty() => {
                return Err(cerr("count correlations need a condition such as {gte: 3}"))
            }
            CorrelationType::ValueCount if value_field.is_none() => {
                return Err(cerr("value_count needs 'condition.field'"))
            }
            _ => {}
        }
        let mut aliases = Vec::new();
        match get(h, "aliases") {
            None | Some(Yaml::Null) => {}
            Some(Yaml::Hash(a)) => {
                for (k, v) in a {
                    let name = key_text(k).ok_or_else(|| cerr("alias name is not a string"))?;
                    let Yaml::Hash(m) = v else {
                        return Err(cerr(format!("alias '{name}' must map rules to fields")));
                    };
                    let fields = m
                        .iter()
                        .filter_map(|(r, f)| Some((key_text(r)?, scalar_text(f)?)))
                        .collect();
                    aliases.push(Alias { name, fields });
                }
            }
            Some(_) => return Err(cerr("'aliases' must be a map")),
        }
        let generate = match get(h, "generate") {
            None | Some(Yaml::Null) => false,
            Some(Yaml::Boolean(b)) => *b,
            Some(_) => return Err(cerr("'generate' must be true or false")),
        };
        Ok(Correlation {
            kind,
            rules,
            group_by,
            timespan_ms,
            condition,
            value_field,
            aliases,
            generate,
            resolved: Vec::new(),
        })
    }

    /// The field name `name` (a group-by or value field) stands for in events of rule `slot`.
    pub(crate) fn field_for_slot<'a>(&'a self, name: &'a str, slot: usize) -> &'a str {
        let Some(reference) = self.rules.get(slot) else {
            return name;
        };
        self.aliases
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.fields.iter().find(|(r, _)| r == reference))
            .map_or(name, |(_, f)| f.as_str())
    }

    fn holds(&self, count: u64) -> bool {
        self.condition.iter().all(|(op, n)| op.holds(count, *n))
    }
}

/// A correlation that fired: one per firing window and group.
#[derive(Debug, Clone)]
pub struct CorrelationHit {
    pub correlation: RuleRef,
    pub rule: Arc<crate::Rule>,
    /// The group-by fields and the group's values (`None`: the field was absent).
    pub group: Vec<(String, Option<String>)>,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Events in the window (event_count, temporal types) or distinct values (value_count).
    pub count: u64,
    /// Contributing event ids, in time order, without duplicates.
    pub event_ids: Vec<String>,
}

/// A group's values, shared by every observation of the group (observations are many — a
/// correlation over a common API sees a good share of all events — and groups few).
type GroupKey = Arc<[Option<Box<str>>]>;

#[derive(Debug, Clone)]
struct Obs {
    group: GroupKey,
    time: i64,
    slot: u16,
    value: Option<Box<str>>,
    ids: Box<[Box<str>]>,
}

/// Per-worker correlation state. Feed it with [`CorrelationState::observe`] whenever a rule
/// that feeds a correlation matches, [`merge`](CorrelationState::merge) the workers' states, and
/// either call [`finish`](CorrelationState::finish) once at the end (batch), or
/// [`finish_until`](CorrelationState::finish_until) repeatedly as time advances (continuous
/// watch; the state then keeps only the observations later windows still need, and can be
/// persisted with [`snapshot`](CorrelationState::snapshot) /
/// [`restore`](CorrelationState::restore)). Both ways find exactly the same hits.
#[derive(Debug, Clone, Default)]
pub struct CorrelationState {
    per: Vec<Vec<Obs>>,
    groups: rustc_hash::FxHashSet<GroupKey>,
}

/// The kept observations of a [`CorrelationState`] as plain data, keyed by correlation rule
/// key ([`crate::Rule::key`]) so that it survives a restart and changes to the rule files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrelationSnapshot {
    /// One entry per correlation of the rule set the snapshot was taken with, in the set's
    /// order (also those without observations, so that rules sharing a key stay matched up).
    pub correlations: Vec<SnapshotCorrelation>,
}

/// The kept observations of one correlation rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotCorrelation {
    /// The correlation rule's [`crate::Rule::key`] (its id, else its title).
    pub key: String,
    pub observations: Vec<SnapshotObservation>,
}

/// One observation: an event (or an inner correlation's hit) seen by a correlation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotObservation {
    /// The group-by values, one per `group-by` entry (`None`: the field was absent).
    pub group: Vec<Option<String>>,
    pub time: i64,
    /// Position in the correlation's `rules` of the rule that matched.
    pub slot: u16,
    /// The counted value (`value_count` only).
    pub value: Option<String>,
    /// The contributing event ids (several for an inner correlation's hit).
    pub ids: Vec<String>,
}

fn first_text<S: FieldSource + ?Sized>(event: &S, path: &FieldPath) -> Option<Box<str>> {
    let mut out = None;
    event.visit_field(path, &mut |v| match v {
        FieldValue::Null => false,
        v => {
            out = Some(Box::from(v.as_text().as_ref()));
            true
        }
    });
    out
}

impl CorrelationState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of recorded observations (a memory gauge). Cheap: one add per correlation.
    pub fn len(&self) -> usize {
        self.per.iter().map(Vec::len).sum()
    }

    /// Number of observations kept (the same as [`len`](Self::len)): after
    /// [`finish_until`](Self::finish_until), those later windows may still need.
    pub fn retained(&self) -> usize {
        self.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The event ids of every kept observation (an id appears once per observation holding
    /// it, so possibly more than once), for the caller to keep facts only for those events.
    pub fn event_ids(&self) -> impl Iterator<Item = &str> {
        self.per
            .iter()
            .flatten()
            .flat_map(|o| o.ids.iter().map(|id| id.as_ref()))
    }

    /// Records that `rule` matched `event`, timed by [`FieldSource::time_ms`]. Returns whether
    /// anything was recorded (not when the rule feeds no correlation or the event has no time).
    pub fn observe<S: FieldSource + ?Sized>(
        &mut self,
        set: &RuleSet,
        rule: RuleRef,
        event: &S,
        event_id: &str,
    ) -> bool {
        match event.time_ms() {
            Some(t) => self.observe_at(set, rule, event, t, event_id),
            None => false,
        }
    }

    /// As [`observe`](Self::observe), with the event time given by the caller.
    pub fn observe_at<S: FieldSource + ?Sized>(
        &mut self,
        set: &RuleSet,
        rule: RuleRef,
        event: &S,
        time_ms: i64,
        event_id: &str,
    ) -> bool {
        self.observe_admitted(set, rule, event, time_ms, event_id, &|_| true)
    }

    /// As [`observe_at`](Self::observe_at), recording the event only for the correlations whose
    /// rule `admit` accepts (the caller's policy, e.g. by the correlation's tags).
    pub fn observe_admitted<S: FieldSource + ?Sized>(
        &mut self,
        set: &RuleSet,
        rule: RuleRef,
        event: &S,
        time_ms: i64,
        event_id: &str,
        admit: &dyn Fn(&crate::Rule) -> bool,
    ) -> bool {
        let mut any = false;
        for &(ci, slot) in set.feeds(rule) {
            let Some((_, crule)) = set.correlation_rule(ci) else {
                continue;
            };
            if !admit(crule) {
                continue;
            }
            let (Some(c), Some(paths)) = (crule.correlation(), set.slot_paths(ci, slot)) else {
                continue;
            };
            let value = match (&c.kind, &paths.value) {
                (CorrelationType::ValueCount, Some(p)) => match first_text(event, p) {
                    Some(v) => Some(v),
                    None => continue,
                },
                _ => None,
            };
            let group = self.intern(paths.group.iter().map(|p| first_text(event, p)).collect());
            self.push(
                ci,
                Obs {
                    group,
                    time: time_ms,
                    slot,
                    value,
                    ids: Box::new([Box::from(event_id)]),
                },
            );
            any = true;
        }
        any
    }

    /// The shared key for a group's values.
    fn intern(&mut self, values: Vec<Option<Box<str>>>) -> GroupKey {
        match self.groups.get(values.as_slice()) {
            Some(g) => g.clone(),
            None => {
                let g: GroupKey = values.into();
                self.groups.insert(g.clone());
                g
            }
        }
    }

    fn push(&mut self, ci: usize, o: Obs) {
        if self.per.len() <= ci {
            self.per.resize_with(ci + 1, Vec::new);
        }
        if let Some(v) = self.per.get_mut(ci) {
            v.push(o);
        }
    }

    /// Adds another worker's observations.
    pub fn merge(&mut self, other: CorrelationState) {
        if self.per.len() < other.per.len() {
            self.per.resize_with(other.per.len(), Vec::new);
        }
        for (mine, theirs) in self.per.iter_mut().zip(other.per) {
            mine.extend(theirs);
        }
    }

    /// Finds every firing window. Chained correlations see the hits of the correlations they
    /// reference (timed at the hit's last event). Hits come grouped by correlation, then group,
    /// then time.
    pub fn finish(mut self, set: &RuleSet) -> Vec<CorrelationHit> {
        self.finish_until(set, i64::MAX)
    }

    /// Emits every hit whose decision can no longer change, given the caller's promise that
    /// every observation timed at or before `horizon_ms` has been fed (later ones may be fed
    /// already too), and keeps only the observations later windows may still need. Over
    /// successive calls with non-decreasing horizons (each promise kept), the hits emitted,
    /// each once, are exactly those [`finish`](Self::finish) finds over all the observations;
    /// `finish_until(set, i64::MAX)` decides everything.
    ///
    /// A window starting at an observation timed `t` is decided once `t + timespan <=
    /// horizon` (for `temporal_ordered`, `t` is the chain's first event). A correlation fed by
    /// inner correlations uses a lower horizon, `horizon_ms - lag`, where `lag` is the largest
    /// `lag(inner) + timespan(inner)` over its inner correlations: an inner hit is final only
    /// that long after its last event, the time it is observed at. Hits come grouped by
    /// correlation, then group, then time.
    pub fn finish_until(&mut self, set: &RuleSet, horizon_ms: i64) -> Vec<CorrelationHit> {
        let lags = correlation_lags(set);
        let mut out = Vec::new();
        for &ci in set.correlation_order() {
            let Some((cref, rule)) = set.correlation_rule(ci) else {
                continue;
            };
            let Some(c) = rule.correlation() else {
                continue;
            };
            let horizon = lowered(horizon_ms, lags.get(ci).copied().unwrap_or(0));
            let obs = self.per.get_mut(ci).map(std::mem::take).unwrap_or_default();
            let (hits, kept) = decide(cref, rule, c, obs, horizon);
            for hit in &hits {
                for &(outer, slot) in set.correlation_feeds(ci) {
                    if let Some(oc) = set.correlation_at(outer) {
                        if let Some(o) = self.obs_from_hit(oc, slot, hit) {
                            self.push(outer, o);
                        }
                    }
                }
            }
            if let Some(v) = self.per.get_mut(ci) {
                v.extend(kept);
            }
            out.extend(hits);
        }
        // Forget groups no kept observation belongs to any more.
        self.groups.retain(|g| Arc::strong_count(g) > 1);
        out
    }

    /// Turns an inner correlation's hit into an observation for the outer correlation.
    fn obs_from_hit(
        &mut self,
        outer: &Correlation,
        slot: u16,
        hit: &CorrelationHit,
    ) -> Option<Obs> {
        let lookup = |name: &str| -> Option<Box<str>> {
            let f = outer.field_for_slot(name, slot as usize);
            hit.group
                .iter()
                .find(|(n, _)| n == f)
                .and_then(|(_, v)| v.as_deref().map(Box::from))
        };
        let value = match (&outer.kind, &outer.value_field) {
            (CorrelationType::ValueCount, Some(f)) => Some(lookup(f)?),
            _ => None,
        };
        let group = outer.group_by.iter().map(|g| lookup(g)).collect();
        Some(Obs {
            group: self.intern(group),
            time: hit.last_ms,
            slot,
            value,
            ids: hit
                .event_ids
                .iter()
                .map(|s| Box::from(s.as_str()))
                .collect(),
        })
    }

    /// The kept observations as plain data, keyed by correlation rule key.
    pub fn snapshot(&self, set: &RuleSet) -> CorrelationSnapshot {
        let correlations = (0..set.correlation_count())
            .filter_map(|ci| {
                let (_, rule) = set.correlation_rule(ci)?;
                let observations = self
                    .per
                    .get(ci)
                    .map(|v| v.iter().map(snapshot_obs).collect())
                    .unwrap_or_default();
                Some(SnapshotCorrelation {
                    key: rule.key().to_string(),
                    observations,
                })
            })
            .collect();
        CorrelationSnapshot { correlations }
    }

    /// Rebuilds a state from a [`snapshot`](Self::snapshot), possibly taken with another
    /// version of the rules. Entries are matched to `set`'s correlations by rule key (rules
    /// sharing a key are matched in order). Returns the state and the number of observations
    /// dropped: those whose correlation is no longer in `set`, and those that no longer fit it
    /// (a slot beyond its `rules`, another number of `group-by` fields, or no value for a
    /// `value_count`).
    pub fn restore(set: &RuleSet, snap: CorrelationSnapshot) -> (CorrelationState, usize) {
        let mut by_key: FxHashMap<&str, std::collections::VecDeque<usize>> = FxHashMap::default();
        for ci in 0..set.correlation_count() {
            if let Some((_, rule)) = set.correlation_rule(ci) {
                by_key.entry(rule.key()).or_default().push_back(ci);
            }
        }
        let mut state = CorrelationState::new();
        let mut dropped = 0;
        for entry in snap.correlations {
            let target = by_key
                .get_mut(entry.key.as_str())
                .and_then(|q| q.pop_front())
                .and_then(|ci| Some((ci, set.correlation_at(ci)?)));
            let Some((ci, c)) = target else {
                dropped += entry.observations.len();
                continue;
            };
            for o in entry.observations {
                match state.obs_from_snapshot(c, o) {
                    Some(o) => state.push(ci, o),
                    None => dropped += 1,
                }
            }
        }
        (state, dropped)
    }

    /// An observation of `c` from its plain form, if it still fits `c`.
    fn obs_from_snapshot(&mut self, c: &Correlation, o: SnapshotObservation) -> Option<Obs> {
        let fits = (o.slot as usize) < c.rules.len() && o.group.len() == c.group_by.len();
        let value = match c.kind {
            CorrelationType::ValueCount => Some(Box::from(o.value?)),
            _ => None,
        };
        if !fits {
            return None;
        }
        let group = o.group.into_iter().map(|v| v.map(Box::from)).collect();
        Some(Obs {
            group: self.intern(group),
            time: o.time,
            slot: o.slot,
            value,
            ids: o.ids.into_iter().map(Box::from).collect(),
        })
    }
}

fn snapshot_obs(o: &Obs) -> SnapshotObservation {
    SnapshotObservation {
        group: o
            .group
            .iter()
            .map(|v| v.as_deref().map(str::to_string))
            .collect(),
        time: o.time,
        slot: o.slot,
        value: o.value.as_deref().map(str::to_string),
        ids: o.ids.iter().map(|s| s.to_string()).collect(),
    }
}

/// Per correlation (by index), how far behind the caller's horizon its own horizon must be:
/// 0 for correlations over detection rules, else the largest `lag + timespan` of the inner
/// correlations it references (an inner window is decided `timespan` after its start at the
/// latest, and its hit is observed at its last event, which is at or after that start).
fn correlation_lags(set: &RuleSet) -> Vec<i64> {
    let mut lags = vec![0i64; set.correlation_count()];
    for &ci in set.correlation_order() {
        let Some(c) = set.correlation_at(ci) else {
            continue;
        };
        let own = lags
            .get(ci)
            .copied()
            .unwrap_or(0)
            .saturating_add(c.timespan_ms);
        for &(outer, _) in set.correlation_feeds(ci) {
            if let Some(l) = lags.get_mut(outer) {
                *l = (*l).max(own);
            }
        }
    }
    lags
}

/// `horizon - lag`; `i64::MAX` (everything decided) stays as it is.
fn lowered(horizon: i64, lag: i64) -> i64 {
    if horizon == i64::MAX {
        horizon
    } else {
        horizon.saturating_sub(lag)
    }
}

/// Whether a window starting at `start` is decided by `horizon`.
fn decided(start: i64, span: i64, horizon: i64) -> bool {
    start.saturating_add(span) <= horizon
}

/// Runs the window search of one correlation over its observations up to `horizon`: returns
/// the hits decided and the observations still needed (each group's undecided suffix).
fn decide(
    cref: RuleRef,
    rule: &Arc<crate::Rule>,
    c: &Correlation,
    mut obs: Vec<Obs>,
    horizon: i64,
) -> (Vec<CorrelationHit>, Vec<Obs>) {
    obs.sort_by(|a, b| (&a.group, a.time, a.slot, &a.ids).cmp(&(&b.group, b.time, b.slot, &b.ids)));
    // The same event read twice (an object delivered again, overlapping inputs) counts once.
    obs.dedup_by(|a, b| {
        a.group == b.group && a.time == b.time && a.slot == b.slot && a.ids == b.ids
    });
    let mut hits = Vec::new();
    let mut keep = vec![false; obs.len()];
    let mut start = 0;
    while start < obs.len() {
        let end = obs[start..]
            .iter()
            .position(|o| o.group != obs[start].group)
            .map_or(obs.len(), |p| start + p);
        let group = &obs[start..end];
        let undecided = windows(c, group, horizon, &mut |w: &[&Obs], count| {
            hits.push(make_hit(cref, rule, c, &obs[start].group, w, count));
        });
        if let Some(k) = keep.get_mut(start + undecided..end) {
            k.iter_mut().for_each(|k| *k = true);
        }
        start = end;
    }
    let mut flags = keep.into_iter();
    obs.retain(|_| flags.next().unwrap_or(false));
    (hits, obs)
}

fn make_hit(
    cref: RuleRef,
    rule: &Arc<crate::Rule>,
    c: &Correlation,
    group: &GroupKey,
    w: &[&Obs],
    count: u64,
) -> CorrelationHit {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = rustc_hash::FxHashSet::default();
    for o in w {
        for id in &o.ids {
            if seen.insert(id.clone()) {
                ids.push(id.to_string());
            }
        }
    }
    CorrelationHit {
        correlation: cref,
        rule: Arc::clone(rule),
        group: c
            .group_by
            .iter()
            .zip(group.iter())
            .map(|(n, v)| (n.clone(), v.as_deref().map(str::to_string)))
            .collect(),
        first_ms: w.first().map_or(0, |o| o.time),
        last_ms: w.last().map_or(0, |o| o.time),
        count,
        event_ids: ids,
    }
}

/// Runs the window search over one group's observations (sorted by time), calling `emit` for
/// each firing window decided by `horizon`. Windows are inclusive (`last - first <= timespan`)
/// and never overlap: after a window fires, the search restarts after its last event. Returns
/// the index of the first undecided start (`obs.len()` when everything is decided); every
/// observation before it is timed at or before `horizon` and needed by no later window.
fn windows(
    c: &Correlation,
    obs: &[Obs],
    horizon: i64,
    emit: &mut dyn FnMut(&[&Obs], u64),
) -> usize {
    if c.kind == CorrelationType::TemporalOrdered {
        ordered_chains(c, obs, horizon, emit)
    } else {
        sliding_windows(c, obs, horizon, emit)
    }
}

/// `temporal_ordered`: from each event of the first rule, the earliest chain of the rules in
/// order within the timespan.
fn ordered_chains(
    c: &Correlation,
    obs: &[Obs],
    horizon: i64,
    emit: &mut dyn FnMut(&[&Obs], u64),
) -> usize {
    let span = c.timespan_ms;
    let n = obs.len();
    let steps = c.rules.len();
    let mut i = 0;
    while i < n {
        if obs[i].slot != 0 {
            // Starts nothing; but an earlier first-rule event may still arrive before it.
            if obs[i].time > horizon {
                return i;
            }
            i += 1;
            continue;
        }
        let t0 = obs[i].time;
        if !decided(t0, span, horizon) {
            return i;
        }
        let mut chain = vec![&obs[i]];
        let mut want = 1usize;
        let mut k = i + 1;
        while k < n && want < steps && obs[k].time.saturating_sub(t0) <= span {
            if obs[k].slot as usize == want {
                chain.push(&obs[k]);
                want += 1;
            }
            k += 1;
        }
        if want == steps {
            emit(&chain, chain.len() as u64);
            i = k;
        } else {
            i += 1;
        }
    }
    n
}

/// Counts of a sliding window's contents, kept incrementally.
struct Measures<'a> {
    values: FxHashMap<&'a str, u32>,
    slots: Vec<u32>,
    distinct_slots: usize,
}

impl<'a> Measures<'a> {
    fn new(slots: usize) -> Self {
        Measures {
            values: FxHashMap::default(),
            slots: vec![0; slots],
            distinct_slots: 0,
        }
    }

    fn add(&mut self, o: &'a Obs) {
        if let Some(v) = &o.value {
            *self.values.entry(v).or_insert(0) += 1;
        }
        if let Some(s) = self.slots.get_mut(o.slot as usize) {
            if *s == 0 {
                self.distinct_slots += 1;
            }
            *s += 1;
        }
    }

    fn remove(&mut self, o: &Obs) {
        if let Some(v) = &o.value {
            if let Some(cnt) = self.values.get_mut(v.as_ref()) {
                *cnt -= 1;
                if *cnt == 0 {
                    self.values.remove(v.as_ref());
                }
            }
        }
        if let Some(s) = self.slots.get_mut(o.slot as usize) {
            *s -= 1;
            if *s == 0 {
                self.distinct_slots -= 1;
            }
        }
    }

    fn clear(&mut self) {
        self.values.clear();
        self.slots.iter_mut().for_each(|s| *s = 0);
        self.distinct_slots = 0;
    }

    /// The count to report if the window `len` long fires.
    fn fired(&self, c: &Correlation, len: usize) -> Option<u64> {
        match c.kind {
            CorrelationType::EventCount => c.holds(len as u64).then_some(len as u64),
            CorrelationType::ValueCount => {
                let count = self.values.len() as u64;
                c.holds(count).then_some(count)
            }
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                (self.distinct_slots == c.rules.len()).then_some(len as u64)
            }
        }
    }
}

/// `event_count`, `value_count`, `temporal`: a window from each event, sliding.
fn sliding_windows(
    c: &Correlation,
    obs: &[Obs],
    horizon: i64,
    emit: &mut dyn FnMut(&[&Obs], u64),
) -> usize {
    let span = c.timespan_ms;
    let n = obs.len();
    let mut m = Measures::new(c.rules.len());
    let (mut i, mut j) = (0usize, 0usize);
    while i < n {
        if !decided(obs[i].time, span, horizon) {
            return i;
        }
        if j < i {
            j = i;
        }
        while j < n && obs[j].time.saturating_sub(obs[i].time) <= span {
            m.add(&obs[j]);
            j += 1;
        }
        if let Some(count) = m.fired(c, j - i) {
            let refs: Vec<&Obs> = obs[i..j].iter().collect();
            emit(&refs, count);
            m.clear();
            i = j;
            continue;
        }
        m.remove(&obs[i]);
        i += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("5m"), Some(300_000));
        assert_eq!(parse_timespan("1h"), Some(3_600_000));
        assert_eq!(parse_timespan("1d"), Some(86_400_000));
        assert_eq!(parse_timespan("30s"), Some(30_000));
        assert_eq!(parse_timespan("5"), None);
        assert_eq!(parse_timespan("m"), None);
        assert_eq!(parse_timespan("5y"), None);
        assert_eq!(parse_timespan("0m"), None);
        assert_eq!(parse_timespan("99999999999999999999d"), None);
    }
}
