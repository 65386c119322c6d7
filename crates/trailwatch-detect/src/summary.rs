//! The summary: what a body of logs holds, at a glance — top actions, principals, source IPs,
//! regions, user agents, error codes and failed sign-ins.

use crate::hunt::TimeRange;
use crate::scan::par_read;
use rustc_hash::FxHashMap;
use trailwatch_decode::{DecodeError, FileStats, Input, Record};
use trailwatch_model::{Outcome, Provider};

/// The categories a summary counts, in the order it shows them.
pub const CATEGORIES: [&str; 8] = [
    "actions",
    "principals",
    "source IPs",
    "regions",
    "accounts",
    "user agents",
    "error codes",
    "failed sign-ins",
];

/// Counts over a body of logs.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub events: u64,
    pub aws_events: u64,
    pub azure_events: u64,
    /// Microsoft Entra ID sign-in and audit events.
    pub entra_events: u64,
    pub failures: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Per category (see [`CATEGORIES`]): the top values and their counts, most first.
    pub top: Vec<(&'static str, Vec<(String, u64)>)>,
    /// Distinct values per category.
    pub distinct: Vec<(&'static str, usize)>,
    pub stats: FileStats,
}

#[derive(Default)]
struct Counts {
    events: u64,
    aws: u64,
    azure: u64,
    entra: u64,
    failures: u64,
    first: Option<i64>,
    last: Option<i64>,
    by: [FxHashMap<String, u64>; 8],
}

fn bump(m: &mut FxHashMap<String, u64>, k: Option<&str>) {
    if let Some(k) = k.filter(|k| !k.is_empty()) {
        match m.get_mut(k) {
            Some(n) => *n += 1,
            None => {
                m.insert(k.to_string(), 1);
            }
        }
    }
}

impl Counts {
    fn add(&mut self, rec: &Record<'_>, range: &TimeRange) {
        let t = rec.time_ms();
        if !range.contains(t) {
            return;
        }
        let e = rec.normalize();
        self.events += 1;
        match e.provider {
            Provider::Aws => self.aws += 1,
            Provider::Azure => self.azure += 1,
            Provider::Entra => self.entra += 1,
        }
        if let Some(t) = t {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
        let failed = e.outcome == Outcome::Failure;
        if failed {
            self.failures += 1;
        }
        bump(&mut self.by[0], Some(&e.action));
        bump(&mut self.by[1], Some(e.principal.label()));
        bump(&mut self.by[2], e.source_ip.as_deref());
        bump(&mut self.by[3], e.region.as_deref());
        bump(&mut self.by[4], e.account.as_deref());
        bump(&mut self.by[5], e.user_agent.as_deref());
        bump(&mut self.by[6], e.error_code.as_deref());
        let sign_in = e.action == "ConsoleLogin"
            || (e.provider == Provider::Entra
                && e.action == trailwatch_decode::entra::SIGN_IN_OPERATION);
        if failed && sign_in {
            let who = format!(
                "{} from {}",
                e.principal.label(),
                e.source_ip.as_deref().unwrap_or("?")
            );
            bump(&mut self.by[7], Some(&who));
        }
    }

    fn merge(&mut self, o: Counts) {
        self.events += o.events;
        self.aws += o.aws;
        self.azure += o.azure;
        self.entra += o.entra;
        self.failures += o.failures;
        self.first = [self.first, o.first].into_iter().flatten().min();
        self.last = [self.last, o.last].into_iter().flatten().max();
        for (mine, theirs) in self.by.iter_mut().zip(o.by) {
            for (k, n) in theirs {
                *mine.entry(k).or_insert(0) += n;
            }
        }
    }
}

/// Summarizes `inputs`, keeping the `top` most frequent values per category.
pub fn summarize(
    inputs: &[Input],
    range: TimeRange,
    top: usize,
    threads: usize,
    on_error: &(dyn Fn(DecodeError) + Sync),
    on_progress: &(dyn Fn(u64) + Sync),
) -> Summary {
    let (parts, stats) = par_read(
        inputs,
        threads,
        &Counts::default,
        &|c, r| c.add(r, &range),
        on_error,
        on_progress,
    );
    let mut all = Counts::default();
    for p in parts {
        all.merge(p);
    }
    let mut s = Summary {
        events: all.events,
        aws_events: all.aws,
        azure_events: all.azure,
        entra_events: all.entra,
        failures: all.failures,
        first_ms: all.first,
        last_ms: all.last,
        stats,
        ..Summary::default()
    };
    for (name, m) in CATEGORIES.iter().zip(all.by) {
        s.distinct.push((name, m.len()));
        let mut v: Vec<(String, u64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(top);
        s.top.push((name, v));
    }
    s
}
