//! Grouping rule firings into alerts: the same rule firing for the same principal (in the same
//! account) is one alert for as long as the firings keep coming less than a window apart.
//!
//! Memory stays bounded however often a rule fires (a community rule may fire on most events):
//! a group keeps *sessions* — runs of firings closer than the window — each with an exact count,
//! first and last time, the earliest event ids up to a cap, and the earliest distinct source
//! IPs, actions, regions and resources up to a cap. Sessions are merged as intervals, so the
//! result does not depend on the order in which workers read files. The same event read twice
//! (overlapping inputs) counts once: each group remembers a 64-bit hash of every event id.

use crate::content::Raise;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;
use trailwatch_decode::Facts;
use trailwatch_model::time::format_ms;
use trailwatch_model::uuid::{format_uuid, parse_uuid};
use trailwatch_model::{Alert, Provider, Severity};
use trailwatch_sigma::Rule;

/// The stable alert id of every alert (the one definition, shared with `baseline` and `watch`).
pub use trailwatch_model::alert_id;

/// Limits of grouping.
#[derive(Debug, Clone, Copy)]
pub struct GroupOptions {
    /// Firings further apart than this start a new alert.
    pub window_ms: i64,
    /// Event ids kept per alert (the earliest); the count stays exact.
    pub max_event_ids: usize,
    /// Distinct values kept per list (source IPs, actions, regions, resources).
    pub max_values: usize,
}

impl Default for GroupOptions {
    fn default() -> Self {
        GroupOptions {
            window_ms: 3_600_000,
            max_event_ids: 1_000,
            max_values: 50,
        }
    }
}

/// The earliest-seen distinct values, at most `cap` of them: ordered by (first seen, text), so
/// the result does not depend on the order firings arrive in. Values are owned, so an evicted
/// one is freed.
#[derive(Debug, Clone, Default)]
struct Earliest(Vec<(i64, Box<str>)>);

impl Earliest {
    /// Whether a value first seen at `t` could be kept (so it is worth computing).
    fn might_accept(&self, t: i64, cap: usize) -> bool {
        self.0.len() < cap || self.0.iter().any(|e| e.0 >= t)
    }

    fn offer(&mut self, t: i64, v: &str, cap: usize) {
        // Full, and everything in it is earlier: neither a new value nor an earlier time for a
        // present one can change it (the usual case once a busy session's lists fill up).
        if !self.might_accept(t, cap) {
            return;
        }
        if let Some(e) = self.0.iter_mut().find(|e| &*e.1 == v) {
            e.0 = e.0.min(t);
            return;
        }
        if self.0.len() < cap {
            self.0.push((t, v.into()));
            return;
        }
        let latest = self
            .0
            .iter()
            .enumerate()
            .max_by(|a, b| (a.1 .0, &a.1 .1).cmp(&(b.1 .0, &b.1 .1)));
        if let Some((i, e)) = latest {
            if (t, v) < (e.0, &*e.1) {
                self.0[i] = (t, v.into());
            }
        }
    }

    fn values(&self) -> Vec<String> {
        let mut v: Vec<&(i64, Box<str>)> = self.0.iter().collect();
        v.sort();
        v.into_iter().map(|(_, s)| s.to_string()).collect()
    }
}

/// Event ids, compactly: canonical lowercase UUIDs (every CloudTrail `eventID`, Azure
/// `eventDataId`) as 16 bytes, anything else as text.
#[derive(Debug, Clone, Default)]
struct Ids {
    uuids: Vec<(i64, [u8; 16])>,
    texts: Vec<(i64, Box<str>)>,
}

/// Grows by a quarter instead of doubling: id lists are most of a hunt's memory, and the
/// doubling slack alone was 40% of it.
fn grow_gently<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len() / 4 + 4);
    }
}

impl Ids {
    fn push(&mut self, t: i64, id: &str) {
        match parse_uuid(id) {
            Some(u) => {
                grow_gently(&mut self.uuids);
                self.uuids.push((t, u));
            }
            None => self.texts.push((t, id.into())),
        }
    }

    fn len(&self) -> usize {
        self.uuids.len() + self.texts.len()
    }

    fn extend(&mut self, o: Ids) {
        self.uuids.extend(o.uuids);
        self.texts.extend(o.texts);
    }

    /// Sorted by time, duplicates removed, at most `cap` (the earliest); returns whether ids
    /// were dropped for the cap.
    fn normalize(&mut self, cap: usize) -> bool {
        debug_assert!(self
            .uuids
            .iter()
            .all(|(_, u)| parse_uuid(&format_uuid(u)) == Some(*u)));
        self.uuids.sort_unstable();
        self.uuids.dedup_by(|b, a| a.1 == b.1);
        self.texts.sort_unstable();
        self.texts.dedup_by(|b, a| a.1 == b.1);
        let capped = self.len() > cap;
        if capped {
            let cut = self.sorted_times().get(cap.saturating_sub(1)).copied();
            if let Some(cut) = cut {
                self.uuids.retain(|(t, _)| *t <= cut);
                self.texts.retain(|(t, _)| *t <= cut);
            }
            while self.len() > cap {
                let drop_uuid = match (self.uuids.last(), self.texts.last()) {
                    (Some(u), Some(x)) => u.0 >= x.0,
                    (Some(_), None) => true,
                    _ => false,
                };
                if drop_uuid {
                    self.uuids.pop();
                } else {
                    self.texts.pop();
                }
            }
        }
        capped
    }

    fn sorted_times(&self) -> Vec<i64> {
        let mut t: Vec<i64> = self
            .uuids
            .iter()
            .map(|e| e.0)
            .chain(self.texts.iter().map(|e| e.0))
            .collect();
        t.sort_unstable();
        t
    }

    /// In time order, as text.
    fn strings(&self) -> Vec<String> {
        let mut all: Vec<(i64, String)> = self
            .uuids
            .iter()
            .map(|(t, u)| (*t, format_uuid(u)))
            .chain(self.texts.iter().map(|(t, s)| (*t, s.to_string())))
            .collect();
        all.sort_unstable();
        all.into_iter().map(|(_, s)| s).collect()
    }

    fn first(&self) -> Option<String> {
        self.strings().into_iter().next()
    }
}

#[derive(Debug, Clone)]
struct Session {
    first: i64,
    last: i64,
    /// Firings before de-duplication.
    firings: u64,
    /// Whether ids were dropped for the cap (then the count is `firings`).
    capped: bool,
    ids: Ids,
    ips: Earliest,
    actions: Earliest,
    regions: Earliest,
    resources: Earliest,
    /// The severity the content of its calls deserves, when above the rule's level …
    raised: Option<Severity>,
    /// … and why (see [`crate::content`]).
    reasons: Earliest,
    /// Raises that hold only if an account they grant to is not one of the input's, decided
    /// when the hunt ends ([`Raise::outside`]).
    conditional: Vec<(i64, Raise)>,
    /// Whether some firing acted outside a non-production environment (or on nothing that
    /// tells) …
    production: bool,
    /// … and the non-production resource groups the others acted in
    /// ([`crate::environment`]).
    environments: Earliest,
}

/// One rule firing on one event, about to join a session.
pub struct Firing<'f, 'a> {
    pub facts: &'f Facts<'a>,
    /// The raise its content deserves, if any.
    pub raise: Option<&'f Raise>,
    /// The non-production resource group every resource of the event is in, if so.
    pub environment: Option<&'f str>,
    /// The event's resources; asked for only when the firing is new.
    pub resources: &'f dyn Fn() -> Vec<String>,
}

impl Firing<'_, '_> {
    fn absorb_into(&self, session: &mut Session, opts: &GroupOptions) {
        let facts = self.facts;
        let t = facts.time_ms;
        let cap = opts.max_values;
        if let Some(r) = self.raise {
            if !r.outside.is_empty() {
                session.hold_conditional(t, r.clone(), cap);
            } else {
                session.raised = session.raised.max(Some(r.severity));
                session.reasons.offer(t, &r.reason, cap);
            }
        }
        match self.environment {
            Some(g) => session.environments.offer(t, g, cap),
            None => session.production = true,
        }
        session.first = session.first.min(t);
        session.last = session.last.max(t);
        session.firings += 1;
        session.ids.push(t, &facts.event_id);
        session.trim_ids(opts.max_event_ids);
        if let Some(ip) = &facts.source_ip {
            session.ips.offer(t, ip, cap);
        }
        session.actions.offer(t, &facts.action, cap);
        if let Some(r) = &facts.region {
            session.regions.offer(t, r, cap);
        }
        if session.resources.might_accept(t, cap) {
            for r in (self.resources)() {
                session.resources.offer(t, &r, cap);
            }
        }
    }
}

impl Session {
    fn starting_at(t: i64) -> Session {
        Session {
            first: t,
            last: t,
            firings: 0,
            capped: false,
            ids: Ids::default(),
            ips: Earliest::default(),
            actions: Earliest::default(),
            regions: Earliest::default(),
            resources: Earliest::default(),
            raised: None,
            reasons: Earliest::default(),
            conditional: Vec::new(),
            production: false,
            environments: Earliest::default(),
        }
    }

    /// Keeps a raise that depends on the input's accounts (distinct ones, at most `cap`).
    fn hold_conditional(&mut self, t: i64, r: Raise, cap: usize) {
        if self.conditional.len() < cap && !self.conditional.iter().any(|c| c.1 == r) {
            self.conditional.push((t, r));
        }
    }

    /// Applies the raises that depend on the input's accounts, now that they are known.
    fn settle(&mut self, level: Severity, inside: &dyn Fn(&str) -> bool, cap: usize) {
        for (t, r) in std::mem::take(&mut self.conditional) {
            if let Some(r) = r.outside_of(inside).filter(|r| r.severity > level) {
                self.raised = self.raised.max(Some(r.severity));
                self.reasons.offer(t, &r.reason, cap);
            }
        }
    }

    fn trim_ids(&mut self, cap: usize) {
        if self.ids.len() > 2 * cap.max(1) {
            self.capped |= self.ids.normalize(cap);
            self.ids.uuids.shrink_to_fit();
            self.ids.texts.shrink_to_fit();
        }
    }

    /// Distinct events while every id is kept; firings once the cap dropped some.
    fn count(&self) -> u64 {
        if self.capped {
            self.firings
        } else {
            self.ids.len() as u64
        }
    }
}

#[derive(Debug, Clone)]
struct Group {
    rule: Arc<Rule>,
    sessions: BTreeMap<i64, Session>,
}

impl Group {
    /// Adds `s`, merging it with every session it comes within a window of.
    fn insert(&mut self, mut s: Session, opts: &GroupOptions) {
        let w = opts.window_ms;
        let overlapping: Vec<i64> = self
            .sessions
            .range(..=s.last.saturating_add(w))
            .rev()
            .take_while(|(_, o)| o.last.saturating_add(w) >= s.first)
            .map(|(k, _)| *k)
            .collect();
        for k in overlapping {
            if let Some(o) = self.sessions.remove(&k) {
                merge_into(&mut s, o, opts);
            }
        }
        self.sessions.insert(s.first, s);
    }
}

fn merge_into(s: &mut Session, o: Session, opts: &GroupOptions) {
    s.raised = s.raised.max(o.raised);
    s.production |= o.production;
    for (t, r) in o.conditional {
        s.hold_conditional(t, r, opts.max_values);
    }
    s.first = s.first.min(o.first);
    s.last = s.last.max(o.last);
    s.firings += o.firings;
    s.capped |= o.capped;
    s.ids.extend(o.ids);
    s.trim_ids(opts.max_event_ids);
    for (mine, theirs) in [
        (&mut s.ips, o.ips),
        (&mut s.actions, o.actions),
        (&mut s.regions, o.regions),
        (&mut s.resources, o.resources),
        (&mut s.reasons, o.reasons),
        (&mut s.environments, o.environments),
    ] {
        for (t, v) in theirs.0 {
            mine.offer(t, &v, opts.max_values);
        }
    }
}

/// Who and where a firing belongs to: rule, provider, account and principal, joined with NUL
/// (which none of them contains) so that a lookup needs no allocation.
fn group_key(buf: &mut String, rule: &str, provider: Provider, account: &str, principal: &str) {
    buf.clear();
    for part in [rule, provider.as_str(), account, principal] {
        buf.push_str(part);
        buf.push('\0');
    }
}

#[derive(Debug, Clone)]
struct KeyParts {
    rule: Box<str>,
    provider: Provider,
    account: Box<str>,
    principal: Box<str>,
}

/// Collects firings by group.
#[derive(Debug, Clone)]
pub struct Grouper {
    opts: GroupOptions,
    groups: FxHashMap<Box<str>, (KeyParts, Group)>,
    key_buf: String,
}

impl Grouper {
    pub fn new(opts: GroupOptions) -> Self {
        Grouper {
            opts,
            groups: FxHashMap::default(),
            key_buf: String::new(),
        }
    }

    /// Records that `rule` fired on the event the firing describes.
    pub fn add(&mut self, rule: &Arc<Rule>, provider: Provider, firing: Firing<'_, '_>) {
        let facts = firing.facts;
        let account = facts.account.as_deref().unwrap_or("");
        group_key(
            &mut self.key_buf,
            rule.key(),
            provider,
            account,
            &facts.principal,
        );
        if !self.groups.contains_key(self.key_buf.as_str()) {
            let parts = KeyParts {
                rule: rule.key().into(),
                provider,
                account: account.into(),
                principal: (*facts.principal).into(),
            };
            let group = Group {
                rule: rule.clone(),
                sessions: BTreeMap::new(),
            };
            self.groups
                .insert(self.key_buf.as_str().into(), (parts, group));
        }
        let Some((_, group)) = self.groups.get_mut(self.key_buf.as_str()) else {
            return;
        };
        let t = facts.time_ms;
        let opts = self.opts;
        // Usually the firing extends the one session it falls within a window of: update that
        // session in place, so that its capped value lists decide what gets interned.
        let w = opts.window_ms;
        let mut near = group
            .sessions
            .range(..=t.saturating_add(w))
            .rev()
            .take_while(|(_, o)| o.last.saturating_add(w) >= t)
            .map(|(k, _)| *k);
        let (first_near, second_near) = (near.next(), near.next());
        let level = group.rule.level;
        // A raise to the rule's own level is kept: it confirms the level (no lowering).
        let firing = Firing {
            raise: firing.raise.filter(|r| r.severity >= level),
            ..firing
        };
        let mut session = match (first_near, second_near) {
            // The usual case: the firing falls inside or after the one session near it, which
            // keeps its start and cannot reach another session (those would be near too), so
            // it is updated where it is.
            (Some(k), None) if t >= k => {
                if let Some(s) = group.sessions.get_mut(&k) {
                    firing.absorb_into(s, &opts);
                }
                return;
            }
            (Some(k), None) => match group.sessions.remove(&k) {
                Some(s) => s,
                None => return,
            },
            _ => Session::starting_at(t),
        };
        firing.absorb_into(&mut session, &opts);
        group.insert(session, &opts);
    }

    /// Approximate bytes held, by part (ids, interned strings, value lists, sessions): a
    /// memory gauge for diagnostics.
    pub fn footprint(&self) -> [usize; 4] {
        let mut f = [0; 4];
        for (_, g) in self.groups.values() {
            for s in g.sessions.values() {
                f[0] += (s.ids.uuids.capacity() + s.ids.texts.capacity()) * 24;
                f[2] += [&s.ips, &s.actions, &s.regions, &s.resources]
                    .iter()
                    .map(|e| e.0.iter().map(|v| 24 + v.1.len()).sum::<usize>())
                    .sum::<usize>();
                f[3] += std::mem::size_of::<Session>() + 64;
            }
        }
        f
    }

    /// Number of groups (rule, principal, account).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Firings recorded (before de-duplication).
    pub fn firings(&self) -> u64 {
        self.groups
            .values()
            .flat_map(|(_, g)| g.sessions.values())
            .map(|s| s.firings)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Joins another worker's firings into this one.
    pub fn merge(&mut self, other: Grouper) {
        let opts = self.opts;
        for (key, (parts, theirs)) in other.groups {
            let Some((_, mine)) = self.groups.get_mut(&key) else {
                self.groups.insert(key, (parts, theirs));
                continue;
            };
            for (_, s) in theirs.sessions {
                mine.insert(s, &opts);
            }
        }
    }

    /// The alerts, one per session; each is built into an [`Alert`] only when asked for, so
    /// that millions of event ids are never all held as text at once.
    ///
    /// `inside` says whether an account is one of the input's own (every `recipientAccountId`
    /// read): a grant to such an account is not a grant outside when no organisation is
    /// configured ([`Raise::outside`]).
    pub fn into_alerts(self, inside: &dyn Fn(&str) -> bool) -> Vec<PendingAlert> {
        let cap = self.opts.max_event_ids;
        let values = self.opts.max_values;
        let mut out = Vec::new();
        for (_, (parts, g)) in self.groups {
            let data = Arc::new(GroupData {
                parts,
                rule: g.rule,
            });
            for (_, mut session) in g.sessions {
                session.settle(data.rule.level, inside, values);
                session.capped |= session.ids.normalize(cap);
                let first_id = session.ids.first().unwrap_or_default();
                let p = &data.parts;
                let id = alert_id(&[
                    &p.rule,
                    p.provider.as_str(),
                    &p.account,
                    &p.principal,
                    &first_id,
                ]);
                out.push(PendingAlert(Pending::Grouped {
                    data: data.clone(),
                    session: Box::new(session),
                    id,
                }));
            }
        }
        out
    }
}

/// What the alerts of one group share.
#[derive(Debug)]
struct GroupData {
    parts: KeyParts,
    rule: Arc<Rule>,
}

/// An alert, not yet rendered into text.
#[derive(Debug)]
pub struct PendingAlert(Pending);

#[derive(Debug)]
enum Pending {
    Ready {
        alert: Box<Alert>,
        first_ms: i64,
    },
    Grouped {
        data: Arc<GroupData>,
        session: Box<Session>,
        id: String,
    },
}

impl PendingAlert {
    /// An alert that is already whole (a correlation's).
    pub fn ready(alert: Alert, first_ms: i64) -> Self {
        PendingAlert(Pending::Ready {
            alert: Box::new(alert),
            first_ms,
        })
    }

    /// The alert, with its event ids as text.
    pub fn to_alert(&self) -> Alert {
        match &self.0 {
            Pending::Ready { alert, .. } => (**alert).clone(),
            Pending::Grouped { data, session, id } => build_alert(data, session, id),
        }
    }

    /// How many event ids the rendered alert will list.
    pub fn event_id_count(&self) -> usize {
        match &self.0 {
            Pending::Ready { alert, .. } => alert.event_ids.len(),
            Pending::Grouped { session, .. } => session.ids.len(),
        }
    }

    /// When the alert's activity began, in ms since the epoch.
    pub fn first_ms(&self) -> i64 {
        match &self.0 {
            Pending::Ready { first_ms, .. } => *first_ms,
            Pending::Grouped { session, .. } => session.first,
        }
    }

    pub fn severity(&self) -> trailwatch_model::Severity {
        match &self.0 {
            Pending::Ready { alert, .. } => alert.severity,
            Pending::Grouped { data, session, .. } => session_severity(data, session),
        }
    }

    fn title(&self) -> &str {
        match &self.0 {
            Pending::Ready { alert, .. } => &alert.title,
            Pending::Grouped { data, .. } => &data.rule.title,
        }
    }

    fn principal(&self) -> &str {
        match &self.0 {
            Pending::Ready { alert, .. } => &alert.principal,
            Pending::Grouped { data, .. } => &data.parts.principal,
        }
    }

    fn id(&self) -> &str {
        match &self.0 {
            Pending::Ready { alert, .. } => &alert.id,
            Pending::Grouped { id, .. } => id,
        }
    }
}

/// Alerts in the order people read them: by first activity, then most severe first.
pub fn sort_pending(alerts: &mut [PendingAlert]) {
    alerts.sort_by(|a, b| {
        (
            a.first_ms(),
            std::cmp::Reverse(a.severity()),
            a.title(),
            a.principal(),
            a.id(),
        )
            .cmp(&(
                b.first_ms(),
                std::cmp::Reverse(b.severity()),
                b.title(),
                b.principal(),
                b.id(),
            ))
    });
}

/// A rule's description as alerts carry it (trimmed; empty when the rule has none).
pub(crate) fn rule_description(rule: &Rule) -> String {
    rule.description
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The rule's level, or what the content of the session's calls raised it to, or one level
/// lower when every call acted in a non-production environment (from medium or high, and
/// not below low; see [`crate::environment`]).
fn session_severity(g: &GroupData, s: &Session) -> Severity {
    let level = g.rule.level;
    match s.raised {
        Some(r) if r >= level => r,
        _ if is_lowered(&g.rule, s) => level.lowered(),
        _ => level,
    }
}

/// ATT&CK tactics whose alerts are never lowered for an environment: reaching credentials,
/// running code and taking data out matter wherever they happen (an intruder can make a
/// resource group of their own and name it `dev`).
const NEVER_LOWERED: &[&str] = &[
    "attack.credential-access",
    "attack.execution",
    "attack.exfiltration",
    "attack.collection",
    "attack.privilege-escalation",
    "attack.persistence",
];

fn is_lowered(rule: &Rule, s: &Session) -> bool {
    !s.production
        && !s.environments.0.is_empty()
        && (Severity::Medium..=Severity::High).contains(&rule.level)
        && !rule
            .tags
            .iter()
            .any(|t| NEVER_LOWERED.iter().any(|n| n.eq_ignore_ascii_case(t)))
}

fn build_alert(g: &GroupData, s: &Session, id: &str) -> Alert {
    let mut description = rule_description(&g.rule);
    let severity = session_severity(g, s);
    if severity > g.rule.level {
        description.push_str(&format!(
            " Raised from {} to {severity}: {}.",
            g.rule.level,
            s.reasons.values().join("; ")
        ));
    } else if severity < g.rule.level {
        description.push_str(&format!(
            " Lowered from {} to {severity}: every resource is in a non-production resource \
             group ({}).",
            g.rule.level,
            s.environments.values().join(", ")
        ));
    }
    let ids = s.ids.strings();
    let count = s.count();
    let regions = s.regions.values();
    let key = &g.parts;
    Alert {
        id: id.to_string(),
        rule_id: key.rule.to_string(),
        title: g.rule.title.clone(),
        severity,
        first_seen: format_ms(s.first),
        last_seen: format_ms(s.last),
        count,
        event_ids: ids,
        provider: key.provider,
        account: (!key.account.is_empty()).then(|| key.account.to_string()),
        region: (!regions.is_empty()).then(|| regions.join(",")),
        principal: key.principal.to_string(),
        source_ips: s.ips.values(),
        actions: s.actions.values(),
        resources: s.resources.values(),
        tags: g.rule.tags.clone(),
        description,
    }
}

/// An alert that arrived whole (a correlation's or a chain's) with its time span.
#[derive(Debug, Clone)]
pub struct WholeAlert {
    pub alert: Alert,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Joins whole alerts into incidents by the rule of every other alert: one rule, cloud,
/// account and principal with firings less than `window_ms` apart is one alert, listing the
/// union of their event ids (the earliest `max_event_ids`). A correlation that fires every
/// five minutes for days is then one alert per quiet-separated run, not one per window.
pub fn merge_whole(mut whole: Vec<WholeAlert>, opts: &GroupOptions) -> Vec<PendingAlert> {
    let key = |w: &WholeAlert| {
        (
            w.alert.rule_id.clone(),
            w.alert.provider,
            w.alert.account.clone(),
            w.alert.principal.clone(),
        )
    };
    whole.sort_by(|a, b| {
        (key(a), a.first_ms, a.last_ms, &a.alert.id).cmp(&(
            key(b),
            b.first_ms,
            b.last_ms,
            &b.alert.id,
        ))
    });
    let mut out: Vec<PendingAlert> = Vec::new();
    let mut open: Option<(WholeAlert, Vec<String>, u64)> = None;
    for w in whole {
        match &mut open {
            Some((cur, ids, merged))
                if key(cur) == key(&w)
                    && w.first_ms <= cur.last_ms.saturating_add(opts.window_ms) =>
            {
                absorb(cur, ids, w);
                *merged += 1;
            }
            _ => {
                if let Some(done) = open.take() {
                    out.push(close_whole(done, opts));
                }
                let ids = w.alert.event_ids.clone();
                open = Some((w, ids, 1));
            }
        }
    }
    if let Some(done) = open.take() {
        out.push(close_whole(done, opts));
    }
    out
}

/// Adds `w` to the incident `cur` (whose event ids so far are `ids`).
fn absorb(cur: &mut WholeAlert, ids: &mut Vec<String>, w: WholeAlert) {
    cur.first_ms = cur.first_ms.min(w.first_ms);
    cur.last_ms = cur.last_ms.max(w.last_ms);
    let a = &mut cur.alert;
    a.severity = a.severity.max(w.alert.severity);
    a.count = a.count.max(w.alert.count);
    ids.extend(w.alert.event_ids);
    for (mine, theirs) in [
        (&mut a.source_ips, w.alert.source_ips),
        (&mut a.actions, w.alert.actions),
        (&mut a.resources, w.alert.resources),
    ] {
        for v in theirs {
            if !mine.contains(&v) {
                mine.push(v);
            }
        }
    }
    if let Some(r) = w.alert.region {
        let mut regions: Vec<String> = a
            .region
            .as_deref()
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        for x in r.split(',') {
            if !regions.iter().any(|y| y == x) {
                regions.push(x.to_string());
            }
        }
        a.region = Some(regions.join(","));
    }
}

/// The incident as one alert: distinct event ids (in the order the firings came, the earliest
/// firing first), capped; the count is the distinct events when every firing listed them all.
fn close_whole(done: (WholeAlert, Vec<String>, u64), opts: &GroupOptions) -> PendingAlert {
    let (mut w, ids, merged) = done;
    let mut seen = std::collections::HashSet::new();
    let mut distinct: Vec<String> = ids.into_iter().filter(|i| seen.insert(i.clone())).collect();
    if merged > 1 {
        w.alert.count = w.alert.count.max(distinct.len() as u64);
        w.alert.description.push_str(&format!(
            " [{merged} firings less than {} min apart, one incident]",
            opts.window_ms / 60_000
        ));
    }
    distinct.truncate(opts.max_event_ids);
    w.alert.event_ids = distinct;
    w.alert.first_seen = format_ms(w.first_ms);
    w.alert.last_seen = format_ms(w.last_ms);
    PendingAlert::ready(w.alert, w.first_ms)
}
