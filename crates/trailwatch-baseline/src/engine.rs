//! The engine: replays events in time order, learns each principal's habits, and raises the
//! baseline and chain alerts.

use crate::config::{BaselineConfig, BusinessHours, ConfigError, Zone};
use crate::network::Networks;
use crate::obs::{field, Obs, Observations, Symbols, NONE};
use crate::rules::{self, RuleDef};
use crate::state::{BaselineState, PrincipalProfile, ResourceProfile, Volume, WEEK_HOURS};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::fmt::Write as _;
use trailwatch_model::{Alert, Severity};

const HOUR_MS: i64 = 3_600_000;
/// The principal label of an account's own profile.
pub const ACCOUNT_LABEL: &str = "(account)";
const DAY_MS: i64 = 86_400_000;
/// Event ids kept per baseline alert (the count stays exact).
const MAX_IDS: usize = 1_000;
/// Distinct values kept per list of an alert.
const MAX_VALUES: usize = 50;
/// Notes kept per alert description.
const MAX_NOTES: usize = 8;
/// Resources whose volume is learned (bounded memory); further ones are not baselined.
const MAX_RESOURCES: usize = 200_000;

/// Kinds of first-seen values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    Service = 1,
    Api = 2,
    Region = 3,
    Network = 4,
    Agent = 5,
    Key = 6,
}

/// A stable 64-bit FNV-1a hash of a kind and a value (stable across runs and builds, unlike
/// the std hasher, because it is persisted).
pub(crate) fn seen_hash(kind: Seen, value: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(kind as u8).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Whose habits an event counts towards: the principal, except that an assumed-role session
/// (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) counts towards its role, since
/// session names change with every session.
pub fn profile_key(principal: &str) -> &str {
    if principal.starts_with("arn:aws:sts::") && principal.contains(":assumed-role/") {
        if let Some((role, _session)) = principal.rsplit_once('/') {
            if role.contains(":assumed-role/") && role.matches('/').count() >= 1 {
                return role;
            }
        }
    }
    principal
}

pub use crate::network::network_of;

/// A user agent's family: the product before the first `/` or space, lowercased, with the
/// attack-tool markers seen in the wild made visible (`boto3 (pacu)`, `aws-cli (kali)`).
pub fn agent_family(ua: &str) -> String {
    let t = ua.trim().trim_start_matches('[');
    let end = t.find(['/', ' ', ',', ']', '(']).unwrap_or(t.len());
    let mut fam: String = t[..end].chars().take(40).collect::<String>().to_lowercase();
    if fam == "mozilla" {
        fam = "browser".into();
    }
    if fam.is_empty() {
        fam = "-".into();
    }
    let lower = ua.to_ascii_lowercase();
    for marker in [
        "pacu",
        "kali",
        "parrot",
        "scoutsuite",
        "prowler",
        "cloudfox",
    ] {
        if lower.contains(marker) && !fam.contains(marker) {
            let _ = write!(fam, " ({marker})");
            break;
        }
    }
    fam
}

fn is_denied(code: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("accessdenied")
        || c.contains("unauthorized")
        || c.contains("authorizationfailed")
        || c == "forbidden"
}

/// Successful calls that grant or widen privileges (the second step of a recon chain).
const PRIVILEGE: &[&str] = &[
    "PutUserPolicy",
    "PutRolePolicy",
    "PutGroupPolicy",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "AttachGroupPolicy",
    "CreateAccessKey",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AddUserToGroup",
    "UpdateAssumeRolePolicy",
    "Microsoft.Authorization/roleAssignments/write",
];

/// Successful calls that stop or blind logging and monitoring.
const LOGGING_OFF: &[&str] = &[
    "StopLogging",
    "DeleteTrail",
    "DeleteDetector",
    "DisableSecurityHub",
    "DeleteFlowLogs",
    "StopConfigurationRecorder",
    "DeleteConfigurationRecorder",
    "DeleteDeliveryChannel",
    "DisableOrganizationAdminAccount",
    "DeleteLogGroup",
    "Microsoft.Insights/diagnosticSettings/delete",
    "Microsoft.Insights/activityLogAlerts/delete",
    "Microsoft.Security/securityContacts/delete",
];

/// Data-event operation class for per-resource volume.
fn object_op(action: &str) -> Option<&'static str> {
    if action.starts_with("Delete") {
        Some("delete")
    } else if action.starts_with("Get") || action.starts_with("Select") {
        Some("read")
    } else if action.starts_with("Put")
        || action.starts_with("Copy")
        || action.starts_with("Update")
        || action.starts_with("CompleteMultipart")
    {
        Some("write")
    } else {
        None
    }
}

/// Median and robust scale of a history: the MAD scaled to a standard deviation
/// (MAD / 0.6745), or, when more than half the hours are equal, the mean absolute deviation
/// scaled (× 1.2533), or 1.
pub fn robust_scale(history: &VecDeque<u32>) -> (f64, f64) {
    if history.is_empty() {
        return (0.0, 1.0);
    }
    let mut v: Vec<f64> = history.iter().map(|&x| f64::from(x)).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    let median = |s: &[f64]| {
        let n = s.len();
        if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        }
    };
    let med = median(&v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(|a, b| a.total_cmp(b));
    let mad = median(&dev);
    let scale = if mad > 0.0 {
        mad / 0.6745
    } else {
        let mean_ad = dev.iter().sum::<f64>() / dev.len() as f64;
        if mean_ad > 0.0 {
            mean_ad * 1.2533
        } else {
            1.0
        }
    };
    (med, scale)
}

/// The alerting threshold of the current hour and how it was derived.
#[derive(Debug, Clone, Copy)]
struct Threshold {
    calls: u32,
    median: f64,
    scale: f64,
}

/// One rule's firings for one group key, becoming one alert.
#[derive(Debug)]
struct Draft {
    rule: &'static RuleDef,
    first_ms: i64,
    last_ms: i64,
    count: u64,
    ids: Vec<u32>,
    ips: Vec<u32>,
    actions: Vec<u32>,
    resources: Vec<u32>,
    regions: Vec<u32>,
    principals: Vec<u32>,
    account: u32,
    notes: Vec<String>,
    severity: Severity,
}

fn push_distinct(v: &mut Vec<u32>, x: u32) {
    if x != NONE && v.len() < MAX_VALUES && !v.contains(&x) {
        v.push(x);
    }
}

/// What one principal is doing right now (not persisted: minutes-long windows).
#[derive(Debug, Default)]
struct Live {
    denied: VecDeque<(i64, u32)>,
    burst_until: i64,
    console_failures: VecDeque<(i64, u32)>,
    /// Recon seen: the denied events and when the last came.
    recon: Option<(i64, Vec<u32>)>,
    /// Logging or monitoring switched off: when, by which events.
    logging_off: Option<(i64, Vec<u32>)>,
    /// A new long-term key's first use: key, when, event, reads/deletes with it since.
    new_key: Option<(u32, i64, u32, u32)>,
    /// Console sign-ins without MFA (times), for severity context.
    no_mfa_logins: Vec<i64>,
    volume_threshold: Option<Threshold>,
    volume_alerted: bool,
}

/// A role trust opened to other accounts: by which profile, when, the events, the accounts.
type Trust = (usize, i64, Vec<u32>, Vec<String>);

/// Live state of an IP's denied calls.
#[derive(Debug, Default)]
struct IpLive {
    denied: VecDeque<(i64, u32, u32)>,
    burst_until: i64,
}

/// What a run of the engine produced.
#[derive(Debug, Default)]
pub struct EngineReport {
    pub alerts: Vec<Alert>,
    /// First-ms of each alert (same order), for sorting with other alerts.
    pub first_ms: Vec<i64>,
    /// Events replayed (newer than the loaded state).
    pub replayed: u64,
    /// Events skipped because the loaded state had already learned them.
    pub already_learned: u64,
}

/// Baselines and chains over time-ordered events.
pub struct Engine {
    cfg: BaselineConfig,
    zone: Zone,
    business: Option<BusinessHours>,
    group_window_ms: i64,
    state: BaselineState,
    by_key: FxHashMap<(String, String), usize>,
    res_by_key: FxHashMap<(String, String, &'static str), usize>,
    live: Vec<Live>,
    res_live: Vec<(Option<Threshold>, bool)>,
    ip_live: FxHashMap<u32, IpLive>,
    /// Keys created by `CreateAccessKey` and not used yet (key → creating principal's
    /// profile); by text, as they are kept in the state from one step to the next.
    created_keys: FxHashMap<Box<str>, usize>,
    /// An EC2 instance's role session (principal symbol) → the addresses it called from, each
    /// with its first event.
    instance_ips: FxHashMap<u32, Vec<(u32, u32)>>,
    /// Trust opened: (account, role name) → (profile, time, events, external accounts).
    trusts: FxHashMap<(u32, String), Trust>,
    drafts: Vec<Draft>,
    open: FxHashMap<(&'static str, u64), usize>,
    replayed: u64,
    already: u64,
    /// Whether `already` has counted the events the loaded state had learned.
    counted_already: bool,
    /// Per-run shortcuts (symbol ids are per run): (account, principal) symbols → profile,
    /// account symbol → account profile, and first-seen values already known, by symbol.
    sym_profile: FxHashMap<(u32, u32), usize>,
    sym_account: FxHashMap<u32, usize>,
    seen_syms: rustc_hash::FxHashSet<(u32, u8, u32)>,
    /// How source addresses group into networks (/24, or autonomous systems).
    networks: Networks,
}

impl Engine {
    /// An engine continuing from `state`; `group_window_ms` groups firings like `hunt` does.
    pub fn new(
        cfg: &BaselineConfig,
        state: BaselineState,
        group_window_ms: i64,
    ) -> Result<Engine, ConfigError> {
        let zone = cfg.zone()?;
        let business = cfg.hours()?;
        let networks = match &cfg.asn_database {
            Some(path) => Networks::with_asn_database(std::path::Path::new(path))
                .map_err(ConfigError::Baselines)?,
            None => Networks::prefixes(),
        };
        let by_key = state
            .principals
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.account.clone(), p.principal.clone()), i))
            .collect();
        let mut res_by_key = FxHashMap::default();
        for (i, r) in state.resources.iter().enumerate() {
            let op = match r.op.as_str() {
                "read" => "read",
                "delete" => "delete",
                _ => "write",
            };
            res_by_key.insert((r.account.clone(), r.resource.clone(), op), i);
        }
        let live = (0..state.principals.len())
            .map(|_| Live::default())
            .collect();
        let res_live = vec![(None, false); state.resources.len()];
        let created_keys = state
            .created_keys
            .iter()
            .filter(|(_, p)| *p < state.principals.len())
            .map(|(k, p)| (Box::from(k.as_str()), *p))
            .collect();
        Ok(Engine {
            cfg: cfg.clone(),
            zone,
            business,
            group_window_ms: group_window_ms.max(1),
            state,
            by_key,
            res_by_key,
            live,
            res_live,
            ip_live: FxHashMap::default(),
            created_keys,
            instance_ips: FxHashMap::default(),
            trusts: FxHashMap::default(),
            drafts: Vec::new(),
            open: FxHashMap::default(),
            replayed: 0,
            already: 0,
            counted_already: false,
            sym_profile: FxHashMap::default(),
            sym_account: FxHashMap::default(),
            seen_syms: rustc_hash::FxHashSet::default(),
            networks,
        })
    }

    /// The learned state (to save, or to read context from).
    pub fn state(&self) -> &BaselineState {
        &self.state
    }

    fn profile(&mut self, syms: &Symbols, o: &Obs) -> usize {
        let sk = (o.f[field::ACCOUNT], o.f[field::PRINCIPAL]);
        if let Some(&i) = self.sym_profile.get(&sk) {
            return i;
        }
        let i = self.profile_slow(syms, o);
        self.sym_profile.insert(sk, i);
        i
    }

    fn profile_slow(&mut self, syms: &Symbols, o: &Obs) -> usize {
        let account = syms.get(o.f[field::ACCOUNT]).unwrap_or("").to_string();
        let principal = profile_key(syms.get(o.f[field::PRINCIPAL]).unwrap_or("")).to_string();
        let key = (account, principal);
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.state.principals.len();
        self.state.principals.push(PrincipalProfile {
            account: key.0.clone(),
            principal: key.1.clone(),
            first_ms: o.time_ms,
            last_ms: o.time_ms,
            events: 0,
            hours: vec![0; WEEK_HOURS],
            seen: FxHashMap::default(),
            volume: Volume {
                hour: o.time_ms.div_euclid(HOUR_MS),
                ..Volume::default()
            },
        });
        self.live.push(Live::default());
        self.by_key.insert(key, i);
        i
    }

    /// The account's own profile (what anyone in it did), kept among the principals under the
    /// label `(account)`.
    fn account_profile(&mut self, syms: &Symbols, o: &Obs) -> usize {
        if let Some(&i) = self.sym_account.get(&o.f[field::ACCOUNT]) {
            return i;
        }
        let i = self.account_profile_slow(syms, o);
        self.sym_account.insert(o.f[field::ACCOUNT], i);
        i
    }

    fn account_profile_slow(&mut self, syms: &Symbols, o: &Obs) -> usize {
        let account = syms.get(o.f[field::ACCOUNT]).unwrap_or("").to_string();
        let key = (account, ACCOUNT_LABEL.to_string());
        if let Some(&i) = self.by_key.get(&key) {
            return i;
        }
        let i = self.state.principals.len();
        self.state.principals.push(PrincipalProfile {
            account: key.0.clone(),
            principal: key.1.clone(),
            first_ms: o.time_ms,
            last_ms: o.time_ms,
            hours: vec![0; WEEK_HOURS],
            ..PrincipalProfile::default()
        });
        self.live.push(Live::default());
        self.by_key.insert(key, i);
        i
    }

    /// Hour of the week (Monday 00:00 = 0), minute of the day and weekday, in the configured
    /// zone.
    fn local(&self, t: i64) -> (usize, u32, usize) {
        self.local_with_offset(t).0
    }

    /// [`Engine::local`] and the zone's UTC offset at `t`, in seconds.
    fn local_with_offset(&self, t: i64) -> ((usize, u32, usize), i32) {
        match self.zone.local(t) {
            Some((wd, hour, minute, offset)) => {
                ((wd * 24 + hour as usize, hour * 60 + minute, wd), offset)
            }
            None => ((0, 0, 0), 0),
        }
    }

    fn learned(&self, p: usize, t: i64) -> bool {
        let pr = &self.state.principals[p];
        pr.events >= self.cfg.learning_min_events
            && t - pr.first_ms >= i64::from(self.cfg.learning_days) * DAY_MS
    }

    /// Whether `t` is outside the principal's usual hours (and outside business hours when
    /// those are configured). Needs a learned profile.
    pub(crate) fn off_hours(&self, p: usize, t: i64) -> Option<String> {
        let ((how, minute, wd), offset_s) = self.local_with_offset(t);
        if let Some(b) = self.business {
            if b.days[wd] && minute >= b.start_min && minute < b.end_min {
                return None;
            }
        }
        let pr = &self.state.principals[p];
        let total: u64 = pr.hours.iter().map(|&x| u64::from(x)).sum();
        if total == 0 {
            return None;
        }
        // Two marginals of the hour-of-week histogram, each learned in a week or two: the hour
        // of the day (with the hour before and after) and the day of the week.
        let hour = how % 24;
        let at_hour = |h: usize| -> u64 {
            (0..7)
                .map(|d| u64::from(pr.hours.get(d * 24 + h % 24).copied().unwrap_or(0)))
                .sum()
        };
        let around = at_hour(hour + 23) + at_hour(hour) + at_hour(hour + 1);
        let on_day: u64 = (0..24)
            .map(|h| u64::from(pr.hours.get(wd * 24 + h).copied().unwrap_or(0)))
            .sum();
        let hour_frac = around as f64 / total as f64;
        let day_frac = on_day as f64 / total as f64;
        let day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][wd];
        let when = format!(
            "{day} {:02}:{:02} ({})",
            minute / 60,
            minute % 60,
            self.zone.label(offset_s)
        );
        if hour_frac < self.cfg.off_hours_max_fraction {
            Some(format!(
                "{when}: {:.2}% of this principal's {total} learned events fall within an hour of this time of day (unusual below {:.2}%)",
                hour_frac * 100.0,
                self.cfg.off_hours_max_fraction * 100.0
            ))
        } else if day_frac < self.cfg.off_days_max_fraction {
            Some(format!(
                "{when}: {:.2}% of this principal's {total} learned events fall on a {day} (unusual below {:.2}%)",
                day_frac * 100.0,
                self.cfg.off_days_max_fraction * 100.0
            ))
        } else {
            None
        }
    }

    fn fire(
        &mut self,
        rule: &'static RuleDef,
        group: u64,
        window_ms: i64,
        o: &Obs,
        idx: u32,
        note: Option<String>,
    ) {
        let key = (rule.id, group);
        let d = match self.open.get(&key) {
            Some(&di) if o.time_ms - self.drafts[di].last_ms <= window_ms => di,
            _ => {
                let di = self.drafts.len();
                self.drafts.push(Draft {
                    rule,
                    first_ms: o.time_ms,
                    last_ms: o.time_ms,
                    count: 0,
                    ids: Vec::new(),
                    ips: Vec::new(),
                    actions: Vec::new(),
                    resources: Vec::new(),
                    regions: Vec::new(),
                    principals: Vec::new(),
                    account: o.f[field::ACCOUNT],
                    notes: Vec::new(),
                    severity: rule.severity,
                });
                self.open.insert(key, di);
                di
            }
        };
        let d = &mut self.drafts[d];
        if d.ids.contains(&idx) {
            return;
        }
        d.count += 1;
        d.first_ms = d.first_ms.min(o.time_ms);
        d.last_ms = d.last_ms.max(o.time_ms);
        if d.ids.len() < MAX_IDS {
            d.ids.push(idx);
        }
        push_distinct(&mut d.ips, o.f[field::IP]);
        push_distinct(&mut d.actions, o.f[field::ACTION]);
        push_distinct(&mut d.resources, o.f[field::RESOURCE]);
        push_distinct(&mut d.regions, o.f[field::REGION]);
        push_distinct(&mut d.principals, o.f[field::PRINCIPAL]);
        if let Some(n) = note {
            if d.notes.len() < MAX_NOTES && !d.notes.contains(&n) {
                d.notes.push(n);
            }
        }
    }

    /// Fires a rule for a list of earlier events (a chain's first steps, a burst's window).
    #[allow(clippy::too_many_arguments)]
    fn fire_all(
        &mut self,
        rule: &'static RuleDef,
        group: u64,
        window_ms: i64,
        obs: &[Obs],
        ids: &[u32],
        note: Option<String>,
    ) {
        let mut note = note;
        for &i in ids {
            if let Some(o) = obs.get(i as usize) {
                self.fire(rule, group, window_ms, o, i, note.take());
            }
        }
    }

    /// Replays observations, which must be in time order ([`Observations::merge`] sorts them).
    pub fn run(&mut self, all: &Observations) {
        self.run_until(all, i64::MAX);
    }

    /// [`run`](Self::run) over the events at or before `until_ms` only; a later call goes on
    /// from there.
    pub fn run_until(&mut self, all: &Observations, until_ms: i64) {
        let start = all
            .obs
            .partition_point(|o| o.time_ms <= self.state.as_of_ms);
        if !self.counted_already {
            // Events the loaded state had learned (not those a previous call replayed).
            self.already += start as u64;
            self.counted_already = true;
        }
        for (i, o) in all.obs.iter().enumerate().skip(start) {
            if o.time_ms > until_ms {
                break;
            }
            self.replayed += 1;
            let idx = u32::try_from(i).unwrap_or(u32::MAX);
            self.step(all, o, idx);
            self.state.as_of_ms = self.state.as_of_ms.max(o.time_ms);
        }
    }

    fn step(&mut self, all: &Observations, o: &Obs, idx: u32) {
        let syms = &all.syms;
        let obs = &all.obs[..];
        let t = o.time_ms;
        let p = self.profile(syms, o);
        let group = p as u64;
        let learned = self.learned(p, t);
        let action = syms.get(o.f[field::ACTION]).unwrap_or("");
        let error = syms.get(o.f[field::ERROR]);
        let denied = error.is_some_and(is_denied);
        let cfg_window = i64::from(self.cfg.denied_burst_minutes) * 60_000;
        let chain_ms = i64::from(self.cfg.chain_window_minutes) * 60_000;
        let gw = self.group_window_ms;

        // --- Denied bursts (absolute thresholds: no learning needed) and the recon step.
        if denied {
            let count = self.cfg.denied_burst_count as usize;
            let recon_n = self.cfg.chain_recon_denied as usize;
            let live = &mut self.live[p];
            live.denied.push_back((t, idx));
            while live
                .denied
                .front()
                .is_some_and(|&(t0, _)| t - t0 > cfg_window)
            {
                live.denied.pop_front();
            }
            if live.denied.len() >= recon_n {
                let ids: Vec<u32> = live.denied.iter().map(|x| x.1).collect();
                match &mut live.recon {
                    Some((last, r)) if t - *last <= chain_ms => {
                        *last = t;
                        for i in ids {
                            if !r.contains(&i) && r.len() < MAX_IDS {
                                r.push(i);
                            }
                        }
                    }
                    _ => live.recon = Some((t, ids)),
                }
            }
            if t <= live.burst_until {
                live.burst_until = t + cfg_window;
                self.fire(&rules::DENIED_BURST, group, gw, o, idx, None);
            } else if live.denied.len() >= count {
                live.burst_until = t + cfg_window;
                let ids: Vec<u32> = live.denied.drain(..).map(|x| x.1).collect();
                let note = format!(
                    "{} denied calls within {} minutes (threshold {} in {} min)",
                    ids.len(),
                    self.cfg.denied_burst_minutes,
                    count,
                    self.cfg.denied_burst_minutes
                );
                self.fire_all(&rules::DENIED_BURST, group, gw, obs, &ids, Some(note));
            }
            if o.f[field::IP] != NONE {
                let ip = o.f[field::IP];
                let il = self.ip_live.entry(ip).or_default();
                il.denied.push_back((t, idx, o.f[field::PRINCIPAL]));
                while il
                    .denied
                    .front()
                    .is_some_and(|&(t0, _, _)| t - t0 > cfg_window)
                {
                    il.denied.pop_front();
                }
                let mut principals: Vec<u32> = il.denied.iter().map(|x| x.2).collect();
                principals.sort_unstable();
                principals.dedup();
                let ipgroup = (1u64 << 40) | u64::from(ip);
                if t <= il.burst_until {
                    il.burst_until = t + cfg_window;
                    self.fire(&rules::DENIED_BURST_IP, ipgroup, gw, o, idx, None);
                } else if il.denied.len() >= count && principals.len() >= 2 {
                    il.burst_until = t + cfg_window;
                    let ids: Vec<u32> = il.denied.drain(..).map(|x| x.1).collect();
                    let note = format!(
                        "{} denied calls from one IP for {} principals within {} minutes",
                        ids.len(),
                        principals.len(),
                        self.cfg.denied_burst_minutes
                    );
                    self.fire_all(&rules::DENIED_BURST_IP, ipgroup, gw, obs, &ids, Some(note));
                }
            }
        }

        // --- Console sign-in guessing: failures then a success.
        if action == "ConsoleLogin" {
            let window = i64::from(self.cfg.console_minutes) * 60_000;
            let need = self.cfg.console_failures as usize;
            let live = &mut self.live[p];
            while live
                .console_failures
                .front()
                .is_some_and(|&(t0, _)| t - t0 > window)
            {
                live.console_failures.pop_front();
            }
            if error.is_some() {
                live.console_failures.push_back((t, idx));
            } else {
                if o.mfa() == Some(false) {
                    live.no_mfa_logins.push(t);
                    if live.no_mfa_logins.len() > 16 {
                        live.no_mfa_logins.remove(0);
                    }
                }
                if live.console_failures.len() >= need {
                    let mut ids: Vec<u32> = live.console_failures.drain(..).map(|x| x.1).collect();
                    ids.push(idx);
                    let note = format!(
                        "{} failed console sign-ins within {} minutes, then a success",
                        ids.len() - 1,
                        self.cfg.console_minutes
                    );
                    self.fire_all(&rules::CONSOLE_GUESSING, group, gw, obs, &ids, Some(note));
                } else {
                    live.console_failures.clear();
                }
            }
        }

        let success = error.is_none();
        // --- Chains.
        if success {
            self.chains(all, o, idx, p, action, chain_ms);
        }

        // --- Learned baselines: checks first (against what was learned before this event),
        // then learning.
        let write_like = o.read_only() == Some(false) || o.data_event() || action == "ConsoleLogin";
        if learned && success && write_like {
            if let Some(why) = self.off_hours(p, t) {
                self.fire(&rules::OFF_HOURS, group, gw, o, idx, Some(why));
            }
        }
        self.first_seen(syms, o, idx, p, learned, success);
        self.principal_volume(o, idx, p, learned);
        if o.data_event() && o.f[field::RESOURCE] != NONE {
            if let Some(op) = object_op(action) {
                self.resource_volume(syms, o, idx, op);
            }
        }

        let (how, _, _) = self.local(t);
        let pr = &mut self.state.principals[p];
        if let Some(h) = pr.hours.get_mut(how) {
            *h = h.saturating_add(1);
        }
        pr.events += 1;
        pr.last_ms = pr.last_ms.max(t);
        let a = self.account_profile(syms, o);
        let ap = &mut self.state.principals[a];
        ap.events += 1;
        ap.last_ms = ap.last_ms.max(t);
    }

    /// An instance's role credentials used from a second address: the session named after the
    /// instance (`assumed-role/ROLE/i-…`) calls from an address it had not used, while every
    /// call the instance itself makes comes from its own. AWS's service names and `AWS
    /// Internal` are not addresses and are passed over. The alert holds the first call from
    /// each earlier address and the call from the new one.
    fn instance_elsewhere(&mut self, all: &Observations, o: &Obs, idx: u32, chain_ms: i64) {
        let syms = &all.syms;
        let (principal, ip) = (o.f[field::PRINCIPAL], o.f[field::IP]);
        if ip == NONE || !syms.get(principal).is_some_and(is_instance_session) {
            return;
        }
        let ip_text = syms.get(ip).unwrap_or("");
        if ip_text.parse::<std::net::IpAddr>().is_err() {
            return;
        }
        let seen = self.instance_ips.entry(principal).or_default();
        if seen.iter().any(|(i, _)| *i == ip) {
            return;
        }
        let earlier: Vec<u32> = seen.iter().map(|(_, e)| *e).collect();
        let before: Vec<&str> = seen.iter().filter_map(|(i, _)| syms.get(*i)).collect();
        let note = format!(
            "the instance session called from {} before, then from {ip_text}",
            before.join(", ")
        );
        if seen.len() < 16 {
            seen.push((ip, idx));
        }
        if earlier.is_empty() {
            return;
        }
        let group = (2u64 << 40) | u64::from(principal);
        let rule = &rules::CHAIN_INSTANCE_CREDENTIALS_ELSEWHERE;
        self.fire_all(rule, group, chain_ms, &all.obs, &earlier, Some(note));
        self.fire(rule, group, chain_ms, o, idx, None);
    }

    fn chains(
        &mut self,
        all: &Observations,
        o: &Obs,
        idx: u32,
        p: usize,
        action: &str,
        chain_ms: i64,
    ) {
        let syms = &all.syms;
        let obs = &all.obs[..];
        let t = o.time_ms;
        let group = p as u64;

        // Recon (denied burst) → privilege change.
        if PRIVILEGE.contains(&action) {
            if let Some((last, ids)) = self.live[p].recon.clone() {
                if t - last <= chain_ms {
                    let note = format!(
                        "{} denied calls (enumeration) then {action} by the same principal {} min later",
                        ids.len(),
                        (t - last) / 60_000
                    );
                    self.fire_all(
                        &rules::CHAIN_RECON_PRIVILEGE,
                        group,
                        chain_ms,
                        obs,
                        &ids,
                        Some(note),
                    );
                    self.fire(
                        &rules::CHAIN_RECON_PRIVILEGE,
                        group,
                        chain_ms,
                        o,
                        idx,
                        Some(format!("then {action}")),
                    );
                    self.live[p].recon = Some((t, ids));
                }
            }
        }
        if action == "CreateAccessKey" && o.f[field::DETAIL] != NONE {
            if let Some(k) = syms.get(o.f[field::DETAIL]) {
                self.created_keys.insert(k.into(), p);
            }
        }
        // The first use of a key created in the data: part of the creator's story.
        let key = o.f[field::KEY];
        if key != NONE {
            let created = match syms.get(key) {
                Some(k) if !self.created_keys.is_empty() => self.created_keys.remove(k),
                _ => None,
            };
            if let Some(creator) = created {
                // A key created in the data is new whatever the learning period says.
                self.live[p].new_key = Some((key, t, idx, 0));
                let key_text = syms.get(key).unwrap_or("");
                let cg = creator as u64;
                if self
                    .open
                    .contains_key(&(rules::CHAIN_RECON_PRIVILEGE.id, cg))
                {
                    self.fire(
                        &rules::CHAIN_RECON_PRIVILEGE,
                        cg,
                        chain_ms,
                        o,
                        idx,
                        Some(format!("the new key {key_text} was first used")),
                    );
                }
            }
        }

        self.instance_elsewhere(all, o, idx, chain_ms);

        // Logging or monitoring off → any write.
        if LOGGING_OFF.contains(&action) {
            let live = &mut self.live[p];
            match &mut live.logging_off {
                Some((last, ids)) if t - *last <= chain_ms => {
                    *last = t;
                    if ids.len() < MAX_IDS {
                        ids.push(idx);
                    }
                }
                _ => live.logging_off = Some((t, vec![idx])),
            }
        } else if o.read_only() == Some(false) {
            if let Some((last, ids)) = self.live[p].logging_off.clone() {
                if t - last <= chain_ms {
                    let note = format!("logging or monitoring was switched off, then {action} by the same principal");
                    self.fire_all(
                        &rules::CHAIN_LOGGING_OFF_WRITE,
                        group,
                        chain_ms,
                        obs,
                        &ids,
                        Some(note),
                    );
                    self.fire(
                        &rules::CHAIN_LOGGING_OFF_WRITE,
                        group,
                        chain_ms,
                        o,
                        idx,
                        None,
                    );
                }
            }
        }

        // Role trust opened to another account → assumed from it.
        if action == "UpdateAssumeRolePolicy" {
            let own = syms.get(o.f[field::ACCOUNT]).unwrap_or("");
            let external: Vec<String> = syms
                .get(o.f[field::DETAIL])
                .unwrap_or("")
                .split(',')
                .filter(|a| !a.is_empty() && *a != own)
                .map(str::to_string)
                .collect();
            if let (false, Some(role)) = (external.is_empty(), syms.get(o.f[field::RESOURCE])) {
                self.trusts.insert(
                    (o.f[field::ACCOUNT], role.to_string()),
                    (p, t, vec![idx], external),
                );
            }
        }
        if action == "AssumeRole" {
            if let Some(arn) = syms.get(o.f[field::DETAIL]) {
                let role = arn.rsplit('/').next().unwrap_or("").to_string();
                let role_acct = arn.split(':').nth(4).unwrap_or("");
                let caller = syms
                    .get(o.f[field::CALLER_ACCOUNT])
                    .or_else(|| {
                        syms.get(o.f[field::PRINCIPAL])
                            .and_then(|a| a.split(':').nth(4))
                    })
                    .unwrap_or("")
                    .to_string();
                let acct_sym = self
                    .trusts
                    .keys()
                    .find(|(a, r)| *r == role && syms.get(*a) == Some(role_acct))
                    .map(|k| k.0);
                if let Some(a) = acct_sym {
                    if let Some((tp, t0, ids, ext)) = self.trusts.get(&(a, role.clone())).cloned() {
                        if t - t0 <= chain_ms && ext.contains(&caller) {
                            let note = format!("the trust policy of role {role} was opened to account {caller}, which then assumed it");
                            self.fire_all(
                                &rules::CHAIN_ROLE_TRUST_ASSUMED,
                                tp as u64,
                                chain_ms,
                                obs,
                                &ids,
                                Some(note),
                            );
                            self.fire(
                                &rules::CHAIN_ROLE_TRUST_ASSUMED,
                                tp as u64,
                                chain_ms,
                                o,
                                idx,
                                None,
                            );
                        }
                    }
                }
            }
        }

        // A new long-term key's first use → mass object reads or deletes with it.
        if key != NONE && o.data_event() {
            let mass = self.cfg.chain_mass_objects;
            let is_obj = syms
                .get(o.f[field::ACTION])
                .and_then(object_op)
                .is_some_and(|op| op != "write");
            if let Some((k, t0, first, n)) = &mut self.live[p].new_key {
                if *k == key && is_obj && t - *t0 <= chain_ms {
                    *n += 1;
                    let (n, first) = (*n, *first);
                    if n >= mass {
                        if n == mass {
                            let note = format!("a long-term access key used for the first time, then {mass} or more object reads/deletes with it within {} min", chain_ms / 60_000);
                            self.fire_all(
                                &rules::CHAIN_NEW_KEY_MASS_OBJECTS,
                                group,
                                chain_ms,
                                obs,
                                &[first],
                                Some(note),
                            );
                        }
                        self.fire(
                            &rules::CHAIN_NEW_KEY_MASS_OBJECTS,
                            group,
                            chain_ms,
                            o,
                            idx,
                            None,
                        );
                    }
                }
            }
        }
    }

    fn first_seen(
        &mut self,
        syms: &Symbols,
        o: &Obs,
        idx: u32,
        p: usize,
        learned: bool,
        success: bool,
    ) {
        let t = o.time_ms;
        let cap = self.cfg.max_seen_per_principal;
        let mut found: Vec<(&'static RuleDef, String)> = Vec::new();
        let key_text = syms.get(o.f[field::KEY]).unwrap_or("");
        let long_term_key = key_text.starts_with("AKIA");
        let mut dims: Vec<(Seen, String)> = Vec::new();
        // Values this principal is known to have used in this run are skipped by symbol, without
        // building their text (the common case, event after event).
        let pk = u32::try_from(p).unwrap_or(u32::MAX);
        let mut fresh = |kind: Seen, sym: u32| -> bool {
            sym != NONE && self.seen_syms.insert((pk, kind as u8, sym))
        };
        if success {
            if fresh(Seen::Service, o.f[field::SERVICE]) {
                if let Some(s) = syms.get(o.f[field::SERVICE]) {
                    dims.push((Seen::Service, s.to_string()));
                }
            }
            if fresh(Seen::Api, o.f[field::ACTION]) {
                if let Some(s) = syms.get(o.f[field::ACTION]) {
                    dims.push((Seen::Api, s.to_string()));
                }
            }
            if fresh(Seen::Region, o.f[field::REGION]) {
                if let Some(s) = syms.get(o.f[field::REGION]) {
                    dims.push((Seen::Region, s.to_string()));
                }
            }
        }
        if fresh(Seen::Network, o.f[field::IP]) {
            if let Some(n) = syms.get(o.f[field::IP]).and_then(|ip| self.networks.of(ip)) {
                dims.push((Seen::Network, n));
            }
        }
        if fresh(Seen::Agent, o.f[field::UA]) {
            if let Some(ua) = syms.get(o.f[field::UA]) {
                dims.push((Seen::Agent, agent_family(ua)));
            }
        }
        if long_term_key && fresh(Seen::Key, o.f[field::KEY]) {
            dims.push((Seen::Key, key_text.to_string()));
        }
        // Regions are also learned for the whole account: a region nobody in the account has
        // used is worth more than one new to a single principal.
        let mut region_new_for_account = false;
        if let (true, Some(r)) = (success, syms.get(o.f[field::REGION])) {
            let a = self.account_profile(syms, o);
            let account_learned = self.learned(a, t);
            let h = seen_hash(Seen::Region, r);
            let ap = &mut self.state.principals[a];
            if let std::collections::hash_map::Entry::Vacant(e) = ap.seen.entry(h) {
                e.insert(t);
                region_new_for_account = account_learned;
            }
        }
        let mut new_key = false;
        {
            let pr = &mut self.state.principals[p];
            for (kind, value) in dims {
                let h = seen_hash(kind, &value);
                if pr.seen.contains_key(&h) {
                    continue;
                }
                if pr.seen.len() < cap {
                    pr.seen.insert(h, t);
                }
                if kind == Seen::Key {
                    new_key = true;
                }
                if learned {
                    let rule = match kind {
                        Seen::Service => &rules::NEW_SERVICE,
                        Seen::Api => &rules::NEW_API,
                        Seen::Region => &rules::NEW_REGION,
                        Seen::Network => &rules::NEW_NETWORK,
                        Seen::Agent => &rules::NEW_AGENT,
                        Seen::Key => &rules::NEW_KEY,
                    };
                    found.push((rule, value));
                }
            }
        }
        if new_key && learned {
            self.live[p].new_key = Some((o.f[field::KEY], t, idx, 0));
        }
        for (rule, value) in found {
            let mut note = format!("first {}: {value}", rule.noun);
            let region = std::ptr::eq(rule, &rules::NEW_REGION);
            if region {
                note.push_str(if region_new_for_account {
                    " (never used in the account before)"
                } else {
                    " (already used by others in the account)"
                });
            }
            self.fire(rule, p as u64, self.group_window_ms, o, idx, Some(note));
            if region && region_new_for_account {
                if let Some(&d) = self.open.get(&(rule.id, p as u64)) {
                    self.drafts[d].severity = self.drafts[d].severity.max(Severity::Medium);
                }
            }
        }
    }

    fn threshold(&self, v: &Volume, min: u32) -> Option<Threshold> {
        if v.history.len() < 24 {
            return None;
        }
        let (median, scale) = robust_scale(&v.history);
        let by_z = median + self.cfg.volume_z * scale;
        let by_ratio = median * self.cfg.volume_min_ratio;
        let calls = by_z.max(by_ratio).max(f64::from(min)).ceil();
        Some(Threshold {
            calls: calls.min(f64::from(u32::MAX)) as u32,
            median,
            scale,
        })
    }

    fn principal_volume(&mut self, o: &Obs, idx: u32, p: usize, learned: bool) {
        let hour = o.time_ms.div_euclid(HOUR_MS);
        let window = self.cfg.volume_window_hours as usize;
        let rolled = roll(&mut self.state.principals[p].volume, hour, window);
        if rolled {
            self.live[p].volume_threshold = None;
            self.live[p].volume_alerted = false;
        }
        let v = &mut self.state.principals[p].volume;
        v.count = v.count.saturating_add(1);
        let count = v.count;
        if !learned {
            return;
        }
        if self.live[p].volume_threshold.is_none() {
            let th = self.threshold(&self.state.principals[p].volume, self.cfg.volume_min_calls);
            self.live[p].volume_threshold = th;
        }
        let Some(th) = self.live[p].volume_threshold else {
            return;
        };
        if count >= th.calls {
            let note = (!self.live[p].volume_alerted)
                .then(|| self.volume_note(count, th, "calls by this principal"));
            self.live[p].volume_alerted = true;
            self.fire(
                &rules::VOLUME_PRINCIPAL,
                p as u64,
                self.group_window_ms,
                o,
                idx,
                note,
            );
        }
    }

    fn volume_note(&self, count: u32, th: Threshold, what: &str) -> String {
        format!(
            "{count} {what} in one hour; over the last {} hours the median hour had {:.0} (robust scale {:.1}: MAD/0.6745, or 1.2533 × mean absolute deviation when the MAD is 0); alert at or above {} = max(median + {} × scale, {} × median, minimum)",
            self.cfg.volume_window_hours, th.median, th.scale, th.calls, self.cfg.volume_z, self.cfg.volume_min_ratio
        )
    }

    fn resource_volume(&mut self, syms: &Symbols, o: &Obs, idx: u32, op: &'static str) {
        let account = syms.get(o.f[field::ACCOUNT]).unwrap_or("").to_string();
        let resource = syms.get(o.f[field::RESOURCE]).unwrap_or("").to_string();
        let key = (account, resource, op);
        let ri = match self.res_by_key.get(&key) {
            Some(&i) => i,
            None => {
                if self.state.resources.len() >= MAX_RESOURCES {
                    return;
                }
                let i = self.state.resources.len();
                self.state.resources.push(ResourceProfile {
                    account: key.0.clone(),
                    resource: key.1.clone(),
                    op: op.to_string(),
                    volume: Volume {
                        hour: o.time_ms.div_euclid(HOUR_MS),
                        ..Volume::default()
                    },
                });
                self.res_live.push((None, false));
                self.res_by_key.insert(key, i);
                i
            }
        };
        let hour = o.time_ms.div_euclid(HOUR_MS);
        let window = self.cfg.volume_window_hours as usize;
        if roll(&mut self.state.resources[ri].volume, hour, window) {
            self.res_live[ri] = (None, false);
        }
        let v = &mut self.state.resources[ri].volume;
        v.count = v.count.saturating_add(1);
        let count = v.count;
        if self.res_live[ri].0.is_none() {
            let th = self.threshold(
                &self.state.resources[ri].volume,
                self.cfg.volume_min_object_calls,
            );
            self.res_live[ri].0 = th;
        }
        let Some(th) = self.res_live[ri].0 else {
            return;
        };
        if count >= th.calls {
            let what = format!("{op} data events on this resource");
            let note = (!self.res_live[ri].1).then(|| self.volume_note(count, th, &what));
            self.res_live[ri].1 = true;
            let rule = if op == "delete" {
                &rules::VOLUME_RESOURCE_DELETE
            } else if op == "read" {
                &rules::VOLUME_RESOURCE_READ
            } else {
                &rules::VOLUME_RESOURCE_WRITE
            };
            self.fire(
                rule,
                (2u64 << 40) | ri as u64,
                self.group_window_ms,
                o,
                idx,
                note,
            );
        }
    }

    /// The learned state to keep.
    pub fn into_state(mut self) -> BaselineState {
        self.state.created_keys = self.created_keys_list();
        self.state
    }

    /// A copy of what was learned so far, with the keys still awaiting their first use.
    pub fn snapshot_state(&self) -> BaselineState {
        let mut s = self.state.clone();
        s.created_keys = self.created_keys_list();
        s
    }

    fn created_keys_list(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self
            .created_keys
            .iter()
            .map(|(k, p)| (k.to_string(), *p))
            .collect();
        v.sort_unstable();
        v
    }

    /// The alerts raised so far (taken: a second call returns only newer ones).
    pub fn take_alerts(&mut self, all: &Observations) -> EngineReport {
        let syms = &all.syms;
        let mut report = EngineReport {
            replayed: self.replayed,
            already_learned: self.already,
            ..EngineReport::default()
        };
        self.open.clear();
        for d in std::mem::take(&mut self.drafts) {
            let text = |v: &[u32]| -> Vec<String> {
                v.iter()
                    .filter_map(|&i| syms.get(i))
                    .map(str::to_string)
                    .collect()
            };
            let ids: Vec<String> = d
                .ids
                .iter()
                .filter_map(|&i| all.obs.get(i as usize))
                .map(|o| o.event_id(syms))
                .collect();
            let principal = text(&d.principals).join(",");
            let provider = d
                .ids
                .first()
                .and_then(|&i| all.obs.get(i as usize))
                .map_or(trailwatch_model::Provider::Aws, |o| o.provider());
            let account = syms.get(d.account).map(str::to_string);
            let mut description = d.rule.description.to_string();
            for n in &d.notes {
                description.push_str(" — ");
                description.push_str(n);
            }
            let first = ids.first().cloned().unwrap_or_default();
            report.alerts.push(Alert {
                id: alert_id(&[
                    d.rule.id,
                    provider.as_str(),
                    account.as_deref().unwrap_or(""),
                    &principal,
                    &first,
                ]),
                rule_id: d.rule.id.to_string(),
                title: d.rule.title.to_string(),
                severity: d.severity,
                first_seen: format_ms(d.first_ms),
                last_seen: format_ms(d.last_ms),
                count: d.count,
                event_ids: ids,
                provider,
                account,
                region: (!d.regions.is_empty()).then(|| text(&d.regions).join(",")),
                principal,
                source_ips: text(&d.ips),
                actions: text(&d.actions),
                resources: text(&d.resources),
                tags: d.rule.tags.iter().map(|s| s.to_string()).collect(),
                description,
            });
            report.first_ms.push(d.first_ms);
        }
        report
    }

    /// Severity context for the principal of an alert (see [`crate::hygiene`]).
    pub(crate) fn profile_index(&self, account: &str, principal: &str) -> Option<usize> {
        self.by_key
            .get(&(account.to_string(), profile_key(principal).to_string()))
            .copied()
    }

    pub(crate) fn no_mfa_before(&self, p: usize, t: i64) -> bool {
        self.live.get(p).is_some_and(|l| {
            l.no_mfa_logins
                .iter()
                .any(|&x| x <= t && t - x <= 12 * HOUR_MS)
        })
    }

    pub(crate) fn new_network_near(&self, p: usize, ip: &str, first: i64, last: i64) -> bool {
        let Some(net) = self.networks.of(ip) else {
            return false;
        };
        let pr = &self.state.principals[p];
        let learned_at = pr.first_ms + i64::from(self.cfg.learning_days) * DAY_MS;
        pr.seen
            .get(&seen_hash(Seen::Network, &net))
            .is_some_and(|&s| s >= learned_at && s >= first - DAY_MS && s <= last)
    }

    /// The source network `ip` counts in (as first-seen learns it).
    pub(crate) fn network_label(&self, ip: &str) -> Option<String> {
        self.networks.of(ip)
    }

    pub(crate) fn is_learned(&self, p: usize, t: i64) -> bool {
        self.learned(p, t)
    }
}

/// Moves a volume to `hour`, pushing the finished hours (zeros for hours without calls) into
/// the window. Returns whether the hour changed.
fn roll(v: &mut Volume, hour: i64, window: usize) -> bool {
    if hour <= v.hour {
        return false;
    }
    v.history.push_back(v.count);
    let gap = (hour - v.hour - 1).min(window as i64) as usize;
    for _ in 0..gap {
        v.history.push_back(0);
    }
    while v.history.len() > window {
        v.history.pop_front();
    }
    v.hour = hour;
    v.count = 0;
    true
}

/// RFC 3339 UTC, seconds unless the time has milliseconds (as `hunt` prints): the one
/// formatter, re-exported for this crate's callers.
pub use trailwatch_model::time::format_ms;

/// The stable alert id (as `hunt`'s: the one definition), re-exported for this crate's callers.
pub use trailwatch_model::alert_id;

/// Whether a principal is an EC2 instance's role session: `…:assumed-role/ROLE/i-<hex>`.
pub fn is_instance_session(principal: &str) -> bool {
    if !principal.contains(":assumed-role/") {
        return false;
    }
    let session = principal.rsplit('/').next().unwrap_or("");
    session
        .strip_prefix("i-")
        .is_some_and(|h| (8..=17).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether an event can be a step of an attack chain ([`Engine`]'s `tw-chain-*` rules): a
/// denied call (recon), a privilege or trust change, logging switched off, a write (after
/// logging was off), a role assumed, a call with a long-term key (a key created in the data is
/// one), or a call of an EC2 instance's role session. A hunt that runs the chains without the
/// learned baselines keeps only these events for the time-ordered pass: the bulk of any trail,
/// reads by role sessions, cannot be a step.
pub fn is_chain_step(o: &crate::Observation<'_>) -> bool {
    if let Some(code) = o.error_code {
        return is_denied(code);
    }
    const TRUST: &[&str] = &[
        "CreateAccessKey",
        "UpdateAssumeRolePolicy",
        "CreateRole",
        "AssumeRole",
    ];
    PRIVILEGE.contains(&o.action)
        || LOGGING_OFF.contains(&o.action)
        || TRUST.contains(&o.action)
        || o.read_only == Some(false)
        || o.access_key.is_some_and(|k| k.starts_with("AKIA"))
        || is_instance_session(o.principal)
}
