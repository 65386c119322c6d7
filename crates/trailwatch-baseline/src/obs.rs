//! What the baselines see of an event, and how a hunt's events are kept compactly until they
//! can be replayed in time order.
//!
//! A hunt reads files in parallel in no particular time order, while baselines and chains need
//! each principal's events in order. Each reader thread therefore keeps a [`Collector`]: one
//! fixed-size [`Obs`] (≈ 80 bytes) per event with its strings interned, up to a cap
//! (`[baselines] max_events`). [`Observations::merge`] joins the collectors and sorts by time.
//! Events of AWS services acting on their own behalf (`userIdentity.type = AWSService`) are not
//! kept: they are not principals a person can impersonate.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use trailwatch_model::uuid::{format_uuid, parse_uuid};
use trailwatch_model::{Event, Outcome, Provider};

/// Absent string.
pub const NONE: u32 = u32::MAX;

/// Interned strings (kept as the list of strings; the index is rebuilt when read back).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "Vec<Box<str>>", into = "Vec<Box<str>>")]
pub struct Symbols {
    map: FxHashMap<Box<str>, u32>,
    strs: Vec<Box<str>>,
}

impl Symbols {
    /// The id of `s`, adding it if new.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = u32::try_from(self.strs.len()).unwrap_or(NONE - 1);
        self.strs.push(s.into());
        self.map.insert(s.into(), i);
        i
    }

    fn opt(&mut self, s: Option<&str>) -> u32 {
        match s {
            Some(s) if !s.is_empty() => self.id(s),
            _ => NONE,
        }
    }

    /// The string of an id.
    pub fn get(&self, id: u32) -> Option<&str> {
        self.strs.get(id as usize).map(|s| &**s)
    }

    pub fn len(&self) -> usize {
        self.strs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
    }
}

impl From<Vec<Box<str>>> for Symbols {
    fn from(strs: Vec<Box<str>>) -> Self {
        let map = strs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), u32::try_from(i).unwrap_or(NONE - 1)))
            .collect();
        Symbols { map, strs }
    }
}

impl From<Symbols> for Vec<Box<str>> {
    fn from(s: Symbols) -> Self {
        s.strs
    }
}

/// One event as the reader hands it over (borrowed).
#[derive(Debug, Clone, Default)]
pub struct Observation<'a> {
    pub time_ms: i64,
    pub provider: Option<Provider>,
    pub event_id: &'a str,
    pub account: Option<&'a str>,
    /// The principal's label (ARN, UPN, …).
    pub principal: &'a str,
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSAccount`, …
    pub principal_type: Option<&'a str>,
    /// For an external `AWSAccount` caller: its account id.
    pub caller_account: Option<&'a str>,
    pub access_key: Option<&'a str>,
    pub mfa: Option<bool>,
    pub source_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub service: Option<&'a str>,
    pub action: &'a str,
    pub region: Option<&'a str>,
    pub read_only: Option<bool>,
    /// Failed calls: the error code (`AccessDenied`, …); console sign-in failures: `Failure`.
    pub error_code: Option<&'a str>,
    /// A data event (S3 object, DynamoDB item, …) rather than a management call.
    pub data_event: bool,
    /// The resource a data event or a chain step acted on (bucket, role name, user name, …).
    pub resource: Option<&'a str>,
    /// Chain detail: the new key of `CreateAccessKey`, the role ARN of `AssumeRole`, the
    /// accounts a trust policy names (comma-separated) for `UpdateAssumeRolePolicy`.
    pub detail: Option<&'a str>,
}

/// Indexes into [`Obs::f`].
pub mod field {
    pub const ACCOUNT: usize = 0;
    pub const PRINCIPAL: usize = 1;
    pub const PTYPE: usize = 2;
    pub const KEY: usize = 3;
    pub const IP: usize = 4;
    pub const UA: usize = 5;
    pub const SERVICE: usize = 6;
    pub const ACTION: usize = 7;
    pub const REGION: usize = 8;
    pub const ERROR: usize = 9;
    pub const RESOURCE: usize = 10;
    pub const DETAIL: usize = 11;
    pub const CALLER_ACCOUNT: usize = 12;
    pub const COUNT: usize = 13;
}

const F_AZURE: u16 = 1;
const F_READ_ONLY: u16 = 2;
const F_WRITE: u16 = 4;
const F_MFA_YES: u16 = 8;
const F_MFA_NO: u16 = 16;
const F_DATA: u16 = 32;
const F_ID_SYM: u16 = 64;
/// Already replayed in a step whose alerts were handed out (see [`Observations::release`]).
const F_RELEASED: u16 = 128;
/// A Microsoft Entra ID event (with neither this nor [`F_AZURE`]: AWS).
const F_ENTRA: u16 = 256;

/// One event, compactly: strings as [`Symbols`] ids ([`NONE`] when absent).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Obs {
    pub time_ms: i64,
    /// The event id: a UUID's 16 bytes, or (with `F_ID_SYM`) a symbol id in the first 4.
    id: [u8; 16],
    pub f: [u32; field::COUNT],
    flags: u16,
}

impl Obs {
    pub fn provider(&self) -> Provider {
        if self.flags & F_AZURE != 0 {
            Provider::Azure
        } else if self.flags & F_ENTRA != 0 {
            Provider::Entra
        } else {
            Provider::Aws
        }
    }
    pub fn read_only(&self) -> Option<bool> {
        if self.flags & F_READ_ONLY != 0 {
            Some(true)
        } else if self.flags & F_WRITE != 0 {
            Some(false)
        } else {
            None
        }
    }
    pub fn mfa(&self) -> Option<bool> {
        if self.flags & F_MFA_YES != 0 {
            Some(true)
        } else if self.flags & F_MFA_NO != 0 {
            Some(false)
        } else {
            None
        }
    }
    pub fn data_event(&self) -> bool {
        self.flags & F_DATA != 0
    }
    pub fn failed(&self) -> bool {
        self.f[field::ERROR] != NONE
    }
    /// Replayed in an earlier step whose alerts were handed out.
    pub fn released(&self) -> bool {
        self.flags & F_RELEASED != 0
    }

    /// The event id as text.
    pub fn event_id(&self, syms: &Symbols) -> String {
        if self.flags & F_ID_SYM != 0 {
            let i = u32::from_le_bytes([self.id[0], self.id[1], self.id[2], self.id[3]]);
            return syms.get(i).unwrap_or("").to_string();
        }
        format_uuid(&self.id)
    }
}

/// One reader thread's events.
#[derive(Debug)]
pub struct Collector {
    syms: Symbols,
    obs: Vec<Obs>,
    cap: usize,
    dropped: u64,
}

impl Collector {
    /// Keeps at most `cap` events.
    pub fn new(cap: usize) -> Self {
        Collector {
            syms: Symbols::default(),
            obs: Vec::new(),
            cap,
            dropped: 0,
        }
    }

    /// Keeps an event (events of AWS services themselves are skipped).
    pub fn push(&mut self, o: &Observation<'_>) {
        if o.principal_type == Some("AWSService") {
            return;
        }
        if self.obs.len() >= self.cap {
            self.dropped += 1;
            return;
        }
        let s = &mut self.syms;
        let mut flags = 0u16;
        let id = match parse_uuid(o.event_id) {
            Some(u) => u,
            None => {
                flags |= F_ID_SYM;
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&s.id(o.event_id).to_le_bytes());
                b
            }
        };
        match o.provider {
            Some(Provider::Azure) => flags |= F_AZURE,
            Some(Provider::Entra) => flags |= F_ENTRA,
            Some(Provider::Aws) | None => {}
        }
        match o.read_only {
            Some(true) => flags |= F_READ_ONLY,
            Some(false) => flags |= F_WRITE,
            None => {}
        }
        match o.mfa {
            Some(true) => flags |= F_MFA_YES,
            Some(false) => flags |= F_MFA_NO,
            None => {}
        }
        if o.data_event {
            flags |= F_DATA;
        }
        let mut f = [NONE; field::COUNT];
        f[field::ACCOUNT] = s.opt(o.account);
        f[field::PRINCIPAL] = s.opt(Some(o.principal));
        f[field::PTYPE] = s.opt(o.principal_type);
        f[field::KEY] = s.opt(o.access_key);
        f[field::IP] = s.opt(o.source_ip);
        f[field::UA] = s.opt(o.user_agent);
        f[field::SERVICE] = s.opt(o.service);
        f[field::ACTION] = s.opt(Some(o.action));
        f[field::REGION] = s.opt(o.region);
        f[field::ERROR] = s.opt(o.error_code);
        f[field::RESOURCE] = s.opt(o.resource);
        f[field::DETAIL] = s.opt(o.detail);
        f[field::CALLER_ACCOUNT] = s.opt(o.caller_account);
        self.obs.push(Obs {
            time_ms: o.time_ms,
            id,
            f,
            flags,
        });
    }

    /// Events kept so far.
    pub fn len(&self) -> usize {
        self.obs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.obs.is_empty()
    }
}

/// Every event of a hunt, merged and in time order.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Observations {
    pub syms: Symbols,
    pub obs: Vec<Obs>,
    /// Events not kept because of the cap.
    pub dropped: u64,
}

impl Observations {
    /// Joins the collectors' events (re-interning their strings) and sorts them by time, then
    /// event id, so that the result does not depend on which thread read what.
    pub fn merge(collectors: Vec<Collector>) -> Observations {
        let mut out = Observations::default();
        for c in collectors {
            out.dropped += c.dropped;
            out.extend_from(&c.syms, c.obs);
        }
        out.sort_and_dedup();
        out
    }

    /// Adds events interned in another symbol table (re-interning their strings), unsorted.
    fn extend_from(&mut self, syms: &Symbols, obs: Vec<Obs>) {
        let map: Vec<u32> = syms.strs.iter().map(|s| self.syms.id(s)).collect();
        let remap = |i: u32| if i == NONE { NONE } else { map[i as usize] };
        self.obs.reserve(obs.len());
        for mut o in obs {
            for v in o.f.iter_mut() {
                *v = remap(*v);
            }
            if o.flags & F_ID_SYM != 0 {
                let i = u32::from_le_bytes([o.id[0], o.id[1], o.id[2], o.id[3]]);
                o.id[..4].copy_from_slice(&remap(i).to_le_bytes());
            }
            self.obs.push(o);
        }
    }

    /// Sorts by time, then event id, so that the result does not depend on which thread read
    /// what, and keeps each event once.
    fn sort_and_dedup(&mut self) {
        let syms = &self.syms;
        // Ties on time (CloudTrail has whole seconds) are broken by the id: UUID bytes compare
        // like their text; other ids by their text (symbol numbers depend on thread timing).
        self.obs.sort_unstable_by(|a, b| {
            a.time_ms.cmp(&b.time_ms).then_with(|| {
                match (a.flags & F_ID_SYM != 0, b.flags & F_ID_SYM != 0) {
                    (false, false) => a.id.cmp(&b.id),
                    (true, true) => a.event_id(syms).cmp(&b.event_id(syms)),
                    (x, y) => x.cmp(&y),
                }
            })
        });
        // The same event read twice (overlapping inputs, or read again after a restart) is
        // replayed once, and stays released if either copy was.
        self.obs.dedup_by(|later, kept| {
            let same = later.time_ms == kept.time_ms
                && later.id == kept.id
                && (later.flags | F_RELEASED) == (kept.flags | F_RELEASED);
            if same {
                kept.flags |= later.flags & F_RELEASED;
            }
            same
        });
    }

    /// Adds another step's events to these (a pipeline's retained events), keeping time order.
    pub fn absorb(&mut self, other: Observations) {
        if self.obs.is_empty() && self.syms.is_empty() {
            // The first step (and a whole hunt): nothing to re-intern or sort again.
            let dropped = self.dropped;
            *self = other;
            self.dropped += dropped;
            return;
        }
        self.dropped += other.dropped;
        self.extend_from(&other.syms, other.obs);
        self.sort_and_dedup();
    }

    /// Event ids at or before `until_ms` not yet released: the events whose alerts are new.
    pub fn unreleased_ids(&self, until_ms: i64) -> FxHashSet<String> {
        self.obs
            .iter()
            .take_while(|o| o.time_ms <= until_ms)
            .filter(|o| !o.released())
            .map(|o| o.event_id(&self.syms))
            .collect()
    }

    /// Whether any event was released by an earlier step.
    pub fn any_released(&self) -> bool {
        self.obs.iter().any(Obs::released)
    }

    /// Marks every event at or before `until_ms` released: its alerts were handed out.
    pub fn release(&mut self, until_ms: i64) {
        for o in self.obs.iter_mut().take_while(|o| o.time_ms <= until_ms) {
            o.flags |= F_RELEASED;
        }
    }

    /// Drops the events at or before `t_ms` and the strings only they used.
    pub fn forget_until(&mut self, t_ms: i64) {
        let first = self.obs.partition_point(|o| o.time_ms <= t_ms);
        let kept = self.obs.split_off(first);
        let old = std::mem::take(&mut self.syms);
        let mut map: FxHashMap<u32, u32> = FxHashMap::default();
        let mut remap = |syms: &mut Symbols, i: u32| -> u32 {
            if i == NONE {
                return NONE;
            }
            *map.entry(i)
                .or_insert_with(|| syms.id(old.get(i).unwrap_or("")))
        };
        self.obs = kept;
        for o in self.obs.iter_mut() {
            for v in o.f.iter_mut() {
                *v = remap(&mut self.syms, *v);
            }
            if o.flags & F_ID_SYM != 0 {
                let i = u32::from_le_bytes([o.id[0], o.id[1], o.id[2], o.id[3]]);
                let j = remap(&mut self.syms, i);
                o.id[..4].copy_from_slice(&j.to_le_bytes());
            }
        }
    }

    /// Observations from normalized events (tests, the store, small inputs).
    pub fn from_events(events: &[Event]) -> Observations {
        let mut c = Collector::new(usize::MAX);
        for e in events {
            let o = observation_of(e);
            c.push(&o.as_observation(e));
        }
        Observations::merge(vec![c])
    }
}

/// What [`Observation`] needs beyond an [`Event`]'s own fields, owned.
#[derive(Debug, Default)]
pub struct EventExtras {
    pub resource: Option<String>,
    pub detail: Option<String>,
    pub caller_account: Option<String>,
    pub data_event: bool,
}

impl EventExtras {
    /// The observation of `e` with these extras.
    pub fn as_observation<'a>(&'a self, e: &'a Event) -> Observation<'a> {
        Observation {
            time_ms: e.time_ms,
            provider: Some(e.provider),
            event_id: &e.event_id,
            account: e.account.as_deref(),
            principal: e.principal.label(),
            principal_type: e.principal.kind.as_deref(),
            caller_account: self.caller_account.as_deref(),
            access_key: e.principal.access_key.as_deref(),
            mfa: e.principal.mfa,
            source_ip: e.source_ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            service: e.service.as_deref(),
            action: &e.action,
            region: e.region.as_deref(),
            read_only: e.read_only,
            error_code: match e.outcome {
                Outcome::Failure => Some(e.error_code.as_deref().unwrap_or("Failure")),
                _ => None,
            },
            data_event: self.data_event,
            resource: self.resource.as_deref(),
            detail: self.detail.as_deref(),
        }
    }
}

/// The extras of a normalized event, read from its raw record (CloudTrail) or its fields.
pub fn observation_of(e: &Event) -> EventExtras {
    let raw: Option<serde_json::Value> = if e.provider == Provider::Aws {
        serde_json::from_str(&e.raw).ok()
    } else {
        None
    };
    let get = |path: &[&str]| -> Option<String> {
        let mut v = raw.as_ref()?;
        for p in path {
            v = v.get(p)?;
        }
        match v {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let data_event = get(&["eventCategory"]).as_deref() == Some("Data")
        || get(&["managementEvent"]).as_deref() == Some("false");
    let caller_account = (e.principal.kind.as_deref() == Some("AWSAccount"))
        .then(|| get(&["userIdentity", "accountId"]))
        .flatten();
    let policy = get(&["requestParameters", "policyDocument"]);
    let ChainFields { resource, detail } = chain_fields(
        &e.action,
        &|k| get(&["requestParameters", k]),
        &|| get(&["responseElements", "accessKey", "accessKeyId"]),
        policy.as_deref(),
    );
    EventExtras {
        resource,
        detail,
        caller_account,
        data_event,
    }
}

/// The resource and detail an action's chain step needs.
pub struct ChainFields {
    pub resource: Option<String>,
    pub detail: Option<String>,
}

/// Derives [`ChainFields`] from a request parameter getter, the new access key getter and the
/// policy document; shared by every reader so that they agree.
pub fn chain_fields(
    action: &str,
    param: &dyn Fn(&str) -> Option<String>,
    new_key: &dyn Fn() -> Option<String>,
    policy_document: Option<&str>,
) -> ChainFields {
    match action {
        "CreateAccessKey" => ChainFields {
            resource: param("userName"),
            detail: new_key(),
        },
        "UpdateAssumeRolePolicy" | "CreateRole" => ChainFields {
            resource: param("roleName"),
            detail: policy_document.map(|p| account_ids(p).join(",")),
        },
        "AssumeRole" => ChainFields {
            resource: None,
            detail: param("roleArn"),
        },
        _ => ChainFields {
            resource: param("bucketName")
                .or_else(|| param("tableName"))
                .or_else(|| param("userName"))
                .or_else(|| param("roleName")),
            detail: None,
        },
    }
}

/// The distinct 12-digit AWS account ids named in `arn:aws:iam::<id>:` principals or as bare
/// ids in a policy text (which may be URL-encoded).
pub fn account_ids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let next_ok = i >= b.len() || !b[i].is_ascii_alphanumeric();
            if i - start == 12 && next_ok {
                let id = &text[start..i];
                if !out.iter().any(|x| x == id) {
                    out.push(id.to_string());
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip_and_fallback() {
        let mut c = Collector::new(10);
        let u = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        c.push(&Observation {
            event_id: u,
            principal: "p",
            action: "A",
            time_ms: 2,
            ..Default::default()
        });
        c.push(&Observation {
            event_id: "not-a-uuid",
            principal: "p",
            action: "A",
            time_ms: 1,
            ..Default::default()
        });
        let o = Observations::merge(vec![c]);
        assert_eq!(o.obs[0].event_id(&o.syms), "not-a-uuid");
        assert_eq!(o.obs[1].event_id(&o.syms), u);
    }

    #[test]
    fn cap_drops_and_aws_service_skipped() {
        let mut c = Collector::new(1);
        let base = Observation {
            event_id: "a",
            principal: "p",
            action: "A",
            ..Default::default()
        };
        c.push(&Observation {
            principal_type: Some("AWSService"),
            ..base.clone()
        });
        c.push(&base);
        c.push(&base);
        assert_eq!(c.len(), 1);
        let o = Observations::merge(vec![c]);
        assert_eq!(o.dropped, 1);
    }

    #[test]
    fn merge_remaps_symbols_across_collectors() {
        let mut a = Collector::new(10);
        let mut b = Collector::new(10);
        a.push(&Observation {
            event_id: "1",
            principal: "alice",
            action: "X",
            time_ms: 5,
            ..Default::default()
        });
        b.push(&Observation {
            event_id: "2",
            principal: "bob",
            action: "Y",
            time_ms: 3,
            ..Default::default()
        });
        let o = Observations::merge(vec![a, b]);
        let p: Vec<_> = o
            .obs
            .iter()
            .map(|x| o.syms.get(x.f[field::PRINCIPAL]).unwrap_or("?"))
            .collect();
        assert_eq!(p, ["bob", "alice"]);
    }

    #[test]
    fn account_ids_in_policies() {
        let p = r#"{"Principal":{"AWS":"arn:aws:iam::999988887777:root"},"x":"1234567890123","y":"111122223333"}"#;
        assert_eq!(account_ids(p), ["999988887777", "111122223333"]);
    }
}
