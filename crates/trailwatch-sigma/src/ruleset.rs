//! The rules routed to one log source, indexed for evaluation.

use crate::loader::LoadReport;
use crate::rule::{Rule, RuleBody};
use rustc_hash::FxHashMap;
use std::sync::Arc;
use trailwatch_model::{FieldPath, FieldSource, Severity};

/// A rule in a [`RuleSet`] (an index into it; meaningful only for the set that produced it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleRef(pub u32);

/// What a [`RuleSet`] is built for.
#[derive(Debug, Clone)]
pub struct RuleSetConfig {
    pub product: String,
    /// The `logsource.service` values whose rules the set holds (one log family may be
    /// written for under several services: Entra ID's `signinlogs`, `auditlogs`, …).
    pub services: Vec<String>,
    /// Field names whose value the caller passes as `index_value` (compared ASCII
    /// case-insensitively with rule field names). All names must stand for the same value.
    pub index_fields: Vec<String>,
    /// Rules below this level are left out unless a correlation needs them …
    pub min_level: Severity,
    /// … or they are indexed under a value (an `eventName`, an operation) this says the
    /// caller may raise above the rule's level by what the event did: such rules stay in and
    /// alert, and the caller drops what is still below `min_level` once raised.
    pub raisable: Option<fn(&str) -> bool>,
}

/// The `logsource` services (product `azure`) of Microsoft Entra ID's logs: sign-ins,
/// directory audits, Identity Protection risk detections and Privileged Identity Management.
pub const ENTRA_SERVICES: [&str; 4] = ["signinlogs", "auditlogs", "riskdetection", "pim"];

impl RuleSetConfig {
    /// AWS CloudTrail, indexed by `eventName`.
    pub fn aws_cloudtrail(min_level: Severity) -> Self {
        RuleSetConfig {
            product: "aws".into(),
            services: vec!["cloudtrail".into()],
            index_fields: vec!["eventName".into()],
            min_level,
            raisable: None,
        }
    }

    /// The Azure Activity Log, indexed by `operationName` (alias `OperationNameValue`).
    pub fn azure_activitylogs(min_level: Severity) -> Self {
        RuleSetConfig {
            product: "azure".into(),
            services: vec!["activitylogs".into()],
            index_fields: vec!["operationName".into(), "OperationNameValue".into()],
            min_level,
            raisable: None,
        }
    }

    /// Microsoft Entra ID sign-in, audit, risk-detection and PIM logs ([`ENTRA_SERVICES`]).
    /// Not indexed: their rules name the operation under many fields (`operationName`,
    /// `ActivityDisplayName`, `properties.message`, …) and the operation of a sign-in is the
    /// same for every record, so an index would sort nothing out.
    pub fn azure_entra(min_level: Severity) -> Self {
        RuleSetConfig {
            product: "azure".into(),
            services: ENTRA_SERVICES.iter().map(|s| s.to_string()).collect(),
            index_fields: Vec::new(),
            min_level,
            raisable: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    rule: Arc<Rule>,
    alerts: bool,
    /// (correlation slot in this set, position in the correlation's `rules`)
    feeds: Vec<(usize, u16)>,
}

/// Field paths to read from the events of one rule a correlation uses.
#[derive(Debug, Clone)]
pub(crate) struct SlotPaths {
    pub(crate) group: Vec<FieldPath>,
    pub(crate) value: Option<FieldPath>,
}

#[derive(Debug, Clone)]
struct CorrEntry {
    rule: RuleRef,
    slots: Vec<SlotPaths>,
}

/// Rules for one (product, service), indexed by the literal values of an index field.
///
/// A detection rule is *indexable* when its condition requires the index field to equal one of
/// a finite set of literals: a selection constrains it when one of its map items is the index
/// field with only plain (wildcard-free, ASCII) values; `and` takes the intersection of its
/// constrained operands; `or` the union, but only if every operand is constrained; `not`
/// constrains nothing. Indexable rules are evaluated only for events whose index value
/// (ASCII-lowercased) is one of their literals; all others are evaluated for every event.
#[derive(Debug, Clone)]
pub struct RuleSet {
    config: RuleSetConfig,
    entries: Vec<Entry>,
    index: FxHashMap<Box<str>, Vec<u32>>,
    always: Vec<u32>,
    indexed: usize,
    corrs: Vec<CorrEntry>,
    /// Correlations, each after the correlations it references.
    corr_order: Vec<usize>,
}

impl LoadReport {
    /// The rule set for `config`'s log source.
    pub fn ruleset(&self, config: &RuleSetConfig) -> RuleSet {
        RuleSet::new(self, config)
    }
}

/// Whether a detection rule is indexed under a value `config.raisable` accepts.
fn is_raisable(rule: &Rule, config: &RuleSetConfig) -> bool {
    let (Some(raisable), RuleBody::Detection(d)) = (config.raisable, &rule.body) else {
        return false;
    };
    d.index_keys(&config.index_fields)
        .is_some_and(|keys| keys.iter().any(|k| raisable(k)))
}

impl RuleSet {
    pub fn new(report: &LoadReport, config: &RuleSetConfig) -> RuleSet {
        let routed: Vec<usize> = report
            .routed_to_any(&config.product, &config.services)
            .map(|(i, _)| i)
            .collect();
        // Active: at or above the level, or raisable; then everything an active correlation
        // needs.
        let wanted: Vec<bool> = report
            .rules
            .iter()
            .map(|r| r.level >= config.min_level || is_raisable(r, config))
            .collect();
        let mut active = vec![false; report.rules.len()];
        let mut stack: Vec<usize> = routed.iter().copied().filter(|&i| wanted[i]).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut active[i], true) {
                continue;
            }
            if let Some(c) = report.rules[i].correlation() {
                stack.extend(c.resolved.iter().copied());
            }
        }
        let mut local = vec![None; report.rules.len()];
        let mut entries = Vec::new();
        let mut corrs = Vec::new();
        for (i, rule) in report.rules.iter().enumerate() {
            if !active[i] {
                continue;
            }
            let r = RuleRef(entries.len() as u32);
            local[i] = Some(r);
            if let Some(c) = rule.correlation() {
                let slots = (0..c.rules.len())
                    .map(|s| SlotPaths {
                        group: c
                            .group_by
                            .iter()
                            .map(|g| FieldPath::new(c.field_for_slot(g, s)))
                            .collect(),
                        value: c
                            .value_field
                            .as_deref()
                            .map(|f| FieldPath::new(c.field_for_slot(f, s))),
                    })
                    .collect();
                corrs.push(CorrEntry { rule: r, slots });
            }
            entries.push(Entry {
                rule: Arc::clone(rule),
                alerts: wanted[i] && rule.generates_alerts(),
                feeds: Vec::new(),
            });
        }
        // Wire correlation inputs.
        for (ci, c) in corrs.iter().enumerate() {
            let resolved = entries
                .get(c.rule.0 as usize)
                .and_then(|e| e.rule.correlation())
                .map(|c| c.resolved.clone())
                .unwrap_or_default();
            for (slot, g) in resolved.into_iter().enumerate() {
                if let Some(Some(RuleRef(l))) = local.get(g) {
                    if let Some(e) = entries.get_mut(*l as usize) {
                        e.feeds.push((ci, slot as u16));
                    }
                }
            }
        }
        // Topological order of correlations (inner first).
        let mut corr_order = Vec::with_capacity(corrs.len());
        let mut state = vec![0u8; corrs.len()];
        fn visit(
            ci: usize,
            entries: &[Entry],
            corrs: &[CorrEntry],
            st: &mut [u8],
            out: &mut Vec<usize>,
        ) {
            if st[ci] != 0 {
                return;
            }
            st[ci] = 1;
            // Inner correlations are those that feed this one.
            for (j, c) in corrs.iter().enumerate() {
                let feeds_me = entries[c.rule.0 as usize]
                    .feeds
                    .iter()
                    .any(|(o, _)| *o == ci);
                if feeds_me {
                    visit(j, entries, corrs, st, out);
                }
            }
            st[ci] = 2;
            out.push(ci);
        }
        for ci in 0..corrs.len() {
            visit(ci, &entries, &corrs, &mut state, &mut corr_order);
        }
        // Index.
        let mut index: FxHashMap<Box<str>, Vec<u32>> = FxHashMap::default();
        let mut always = Vec::new();
        let mut indexed = 0;
        for (i, e) in entries.iter().enumerate() {
            let RuleBody::Detection(d) = &e.rule.body else {
                continue;
            };
            match d.index_keys(&config.index_fields) {
                Some(keys) => {
                    indexed += 1;
                    for k in keys {
                        index.entry(k.into_boxed_str()).or_default().push(i as u32);
                    }
                }
                None => always.push(i as u32),
            }
        }
        RuleSet {
            config: config.clone(),
            entries,
            index,
            always,
            indexed,
            corrs,
            corr_order,
        }
    }

    /// Appends to `out` every detection rule of the set that matches `event`. `index_value` is
    /// the event's index field value (e.g. `eventName`) as the caller read it; `None` when the
    /// event has none. Allocation-free for ASCII index values.
    pub fn matches<S: FieldSource + ?Sized>(
        &self,
        event: &S,
        index_value: Option<&str>,
        out: &mut Vec<RuleRef>,
    ) {
        if let Some(v) = index_value {
            if let Some(cands) = self.candidates(v) {
                for &i in cands {
                    self.eval_into(i, event, out);
                }
            }
        }
        for &i in &self.always {
            self.eval_into(i, event, out);
        }
    }

    fn candidates(&self, v: &str) -> Option<&Vec<u32>> {
        let mut buf = [0u8; 128];
        if v.is_ascii() && v.len() <= buf.len() {
            let b = &mut buf[..v.len()];
            b.copy_from_slice(v.as_bytes());
            b.make_ascii_lowercase();
            let key = std::str::from_utf8(b).ok()?;
            self.index.get(key)
        } else {
            self.index.get(v.to_lowercase().as_str())
        }
    }

    #[inline]
    fn eval_into<S: FieldSource + ?Sized>(&self, i: u32, event: &S, out: &mut Vec<RuleRef>) {
        if let Some(e) = self.entries.get(i as usize) {
            if e.rule.matches(event) {
                out.push(RuleRef(i));
            }
        }
    }

    /// Evaluates every detection rule without the index (for tests and diagnostics).
    pub fn matches_unindexed<S: FieldSource + ?Sized>(&self, event: &S, out: &mut Vec<RuleRef>) {
        for (i, e) in self.entries.iter().enumerate() {
            if e.rule.matches(event) {
                out.push(RuleRef(i as u32));
            }
        }
    }

    pub fn config(&self) -> &RuleSetConfig {
        &self.config
    }

    /// The rule behind `r`.
    pub fn rule(&self, r: RuleRef) -> Option<&Arc<Rule>> {
        self.entries.get(r.0 as usize).map(|e| &e.rule)
    }

    /// Whether a match of `r` should be alerted on by itself: at or above the set's level and
    /// not only a building block of `generate: false` correlations.
    pub fn alerts(&self, r: RuleRef) -> bool {
        self.entries.get(r.0 as usize).is_some_and(|e| e.alerts)
    }

    /// Whether matches of `r` must be passed to [`crate::CorrelationState::observe`].
    pub fn feeds_correlation(&self, r: RuleRef) -> bool {
        self.entries
            .get(r.0 as usize)
            .is_some_and(|e| !e.feeds.is_empty())
    }

    /// Every rule of the set (detection and correlation).
    pub fn rules(&self) -> impl Iterator<Item = (RuleRef, &Arc<Rule>)> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (RuleRef(i as u32), &e.rule))
    }

    /// Number of rules (detection and correlation).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Detection rules reachable through the index.
    pub fn indexed_count(&self) -> usize {
        self.indexed
    }

    /// Detection rules evaluated for every event.
    pub fn unindexed_count(&self) -> usize {
        self.always.len()
    }

    pub fn correlation_count(&self) -> usize {
        self.corrs.len()
    }

    /// The lowercase index keys under which `r` is filed (empty if not indexed).
    pub fn index_keys_of(&self, r: RuleRef) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .index
            .iter()
            .filter(|(_, rules)| rules.contains(&r.0))
            .map(|(k, _)| k.as_ref())
            .collect();
        v.sort_unstable();
        v
    }

    // --- for correlation state ---

    pub(crate) fn feeds(&self, r: RuleRef) -> &[(usize, u16)] {
        self.entries
            .get(r.0 as usize)
            .map_or(&[], |e| e.feeds.as_slice())
    }

    pub(crate) fn correlation_at(&self, ci: usize) -> Option<&crate::Correlation> {
        self.correlation_rule(ci).and_then(|(_, r)| r.correlation())
    }

    pub(crate) fn correlation_rule(&self, ci: usize) -> Option<(RuleRef, &Arc<Rule>)> {
        let c = self.corrs.get(ci)?;
        Some((c.rule, &self.entries.get(c.rule.0 as usize)?.rule))
    }

    pub(crate) fn correlation_order(&self) -> &[usize] {
        &self.corr_order
    }

    /// Outer correlations fed by correlation `ci`'s hits.
    pub(crate) fn correlation_feeds(&self, ci: usize) -> &[(usize, u16)] {
        match self.corrs.get(ci) {
            Some(c) => self.feeds(c.rule),
            None => &[],
        }
    }

    /// The group-by paths and value path for events of rule `slot` of correlation `ci`
    /// (aliases applied).
    pub(crate) fn slot_paths(&self, ci: usize, slot: u16) -> Option<&SlotPaths> {
        self.corrs.get(ci)?.slots.get(slot as usize)
    }
}
