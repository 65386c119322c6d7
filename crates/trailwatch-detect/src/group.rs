//! Grouping rule firings into alerts: the same rule firing for the same principal (in the same
//! account) is one alert for as long as the firings keep coming less than a window apart.
//!
//! Workers each fill a [`Grouper`]; [`Grouper::merge`] joins them and [`Grouper::into_alerts`]
//! sorts each group's firings by time, so the result does not depend on which worker read which
//! file, and splits a group where the gap between two firings exceeds the window.

use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use trailwatch_decode::time::format_ms;
use trailwatch_model::{Alert, Event, Provider, Severity};
use trailwatch_sigma::Rule;

/// Who and where a firing belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub rule: String,
    pub provider: Provider,
    pub account: Option<String>,
    pub principal: String,
}

/// One firing, with only what the alert needs. Strings are interned per group.
#[derive(Debug, Clone)]
struct Firing {
    time_ms: i64,
    event_id: Box<str>,
    ip: Option<u32>,
    action: u32,
    region: Option<u32>,
    resources: Box<[u32]>,
}

#[derive(Debug, Default, Clone)]
struct Interner {
    strings: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.into());
        self.ids.insert(s.into(), i);
        i
    }

    fn get(&self, i: u32) -> &str {
        self.strings.get(i as usize).map(|s| &**s).unwrap_or("")
    }
}

#[derive(Debug, Clone)]
struct Group {
    rule: Arc<Rule>,
    severity: Severity,
    strings: Interner,
    firings: Vec<Firing>,
}

/// Collects firings by group.
#[derive(Debug, Default, Clone)]
pub struct Grouper {
    groups: FxHashMap<GroupKey, Group>,
}

impl Grouper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `rule` fired on `event`.
    pub fn add(&mut self, rule: &Arc<Rule>, event: &Event) {
        let key = GroupKey {
            rule: rule.key().to_string(),
            provider: event.provider,
            account: event.account.clone(),
            principal: event.principal.label().to_string(),
        };
        let group = self.groups.entry(key).or_insert_with(|| Group {
            rule: rule.clone(),
            severity: rule.level,
            strings: Interner::default(),
            firings: Vec::new(),
        });
        let s = &mut group.strings;
        let firing = Firing {
            time_ms: event.time_ms,
            event_id: event.event_id.as_str().into(),
            ip: event.source_ip.as_deref().map(|ip| s.id(ip)),
            action: s.id(&event.action),
            region: event.region.as_deref().map(|r| s.id(r)),
            resources: event.resources.iter().map(|r| s.id(r)).collect(),
        };
        group.firings.push(firing);
    }

    /// Adds a finished alert-shaped group directly (correlation hits).
    pub fn len(&self) -> usize {
        self.groups.values().map(|g| g.firings.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Joins another worker's firings into this one.
    pub fn merge(&mut self, other: Grouper) {
        for (key, g) in other.groups {
            match self.groups.get_mut(&key) {
                None => {
                    self.groups.insert(key, g);
                }
                Some(mine) => {
                    for f in g.firings {
                        let s = &mut mine.strings;
                        let moved = Firing {
                            ip: f.ip.map(|i| s.id(g.strings.get(i))),
                            action: s.id(g.strings.get(f.action)),
                            region: f.region.map(|i| s.id(g.strings.get(i))),
                            resources: f
                                .resources
                                .iter()
                                .map(|&i| s.id(g.strings.get(i)))
                                .collect(),
                            ..f
                        };
                        mine.firings.push(moved);
                    }
                }
            }
        }
    }

    /// The alerts: each group's firings in time order, split where two are more than
    /// `window_ms` apart; duplicate events (the same record read twice) count once.
    pub fn into_alerts(self, window_ms: i64) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for (key, mut g) in self.groups {
            g.firings
                .sort_by(|a, b| (a.time_ms, &a.event_id).cmp(&(b.time_ms, &b.event_id)));
            g.firings.dedup_by(|b, a| a.event_id == b.event_id);
            let mut start = 0;
            for i in 1..=g.firings.len() {
                let split = i == g.firings.len()
                    || g.firings[i].time_ms - g.firings[i - 1].time_ms > window_ms;
                if split {
                    alerts.push(build_alert(&key, &g, &g.firings[start..i]));
                    start = i;
                }
            }
        }
        sort_alerts(&mut alerts);
        alerts
    }
}

/// Alerts in the order people read them: by first activity, then most severe first.
pub fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        (
            &a.first_seen,
            std::cmp::Reverse(a.severity),
            &a.title,
            &a.principal,
            &a.id,
        )
            .cmp(&(
                &b.first_seen,
                std::cmp::Reverse(b.severity),
                &b.title,
                &b.principal,
                &b.id,
            ))
    });
}

fn distinct(ids: impl Iterator<Item = u32>, strings: &Interner) -> Vec<String> {
    let mut seen = Vec::new();
    for i in ids {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    seen.into_iter()
        .map(|i| strings.get(i).to_string())
        .collect()
}

/// A stable alert id from what identifies it.
pub fn alert_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn build_alert(key: &GroupKey, g: &Group, firings: &[Firing]) -> Alert {
    let first = &firings[0];
    let last = &firings[firings.len() - 1];
    let regions = distinct(firings.iter().filter_map(|f| f.region), &g.strings);
    let account = key.account.clone().unwrap_or_default();
    Alert {
        id: alert_id(&[
            &key.rule,
            key.provider.as_str(),
            &account,
            &key.principal,
            &first.event_id,
        ]),
        rule_id: key.rule.clone(),
        title: g.rule.title.clone(),
        severity: g.severity,
        first_seen: format_ms(first.time_ms),
        last_seen: format_ms(last.time_ms),
        count: firings.len() as u64,
        event_ids: firings.iter().map(|f| f.event_id.to_string()).collect(),
        provider: key.provider,
        account: key.account.clone(),
        region: (!regions.is_empty()).then(|| regions.join(",")),
        principal: key.principal.clone(),
        source_ips: distinct(firings.iter().filter_map(|f| f.ip), &g.strings),
        actions: distinct(firings.iter().map(|f| f.action), &g.strings),
        resources: distinct(
            firings.iter().flat_map(|f| f.resources.iter().copied()),
            &g.strings,
        ),
        tags: g.rule.tags.clone(),
        description: g
            .rule
            .description
            .clone()
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}
