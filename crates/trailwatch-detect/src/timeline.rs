//! The timeline: every event that matches a filter, in time order, with the rules that fired on
//! it — who did what, when, from where, to which resource.

use crate::hunt::TimeRange;
use crate::pack::RulePack;
use crate::scan::par_read;
use regex::Regex;
use trailwatch_decode::{DecodeError, FileStats, Input, Record};
use trailwatch_model::{Event, Severity};

/// Which events a timeline shows. Text filters compare without regard to case.
#[derive(Debug, Clone, Default)]
pub struct TimelineFilter {
    /// A substring of the principal's ARN / UPN / id / user name.
    pub principal: Option<String>,
    pub access_key: Option<String>,
    pub ip: Option<String>,
    /// A glob over the action (`Create*`, `*SecurityGroup*`).
    pub action: Option<String>,
    pub range: TimeRange,
    /// Only events some alerting rule fired on.
    pub only_alerts: bool,
}

/// A rule that fired on an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub title: String,
    pub severity: Severity,
}

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct TimelineRow {
    pub event: Event,
    pub rules: Vec<Firing>,
}

/// A glob (`*`, `?`) as a case-insensitive anchored regex.
pub fn glob_regex(glob: &str) -> Result<Regex, regex::Error> {
    let mut re = String::from("(?i)^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re)
}

struct Compiled {
    filter: TimelineFilter,
    action: Option<Regex>,
}

fn contains_ci(hay: Option<&str>, needle: &str) -> bool {
    hay.is_some_and(|h| h.to_lowercase().contains(&needle.to_lowercase()))
}

impl Compiled {
    fn keeps(&self, e: &Event) -> bool {
        let f = &self.filter;
        if let Some(p) = &f.principal {
            let p_ = &e.principal;
            let hit = [
                p_.name.as_deref(),
                p_.id.as_deref(),
                p_.session_issuer.as_deref(),
            ]
            .into_iter()
            .any(|h| contains_ci(h, p));
            if !hit {
                return false;
            }
        }
        if let Some(k) = &f.access_key {
            if !e
                .principal
                .access_key
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(k))
            {
                return false;
            }
        }
        if let Some(ip) = &f.ip {
            if e.source_ip.as_deref() != Some(ip.as_str()) {
                return false;
            }
        }
        self.action.as_ref().is_none_or(|re| re.is_match(&e.action))
    }
}

/// The timeline of `inputs` under `filter`, oldest first; the same event read twice shows once.
pub fn timeline(
    inputs: &[Input],
    pack: &RulePack,
    filter: &TimelineFilter,
    threads: usize,
    on_error: &(dyn Fn(DecodeError) + Sync),
    on_progress: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<TimelineRow>, FileStats), regex::Error> {
    let action = filter.action.as_deref().map(glob_regex).transpose()?;
    let c = Compiled {
        filter: filter.clone(),
        action,
    };
    let on_record = |rows: &mut Vec<TimelineRow>, rec: &Record<'_>| {
        if !c.filter.range.contains(rec.time_ms()) {
            return;
        }
        let mut event = rec.normalize();
        if !c.keeps(&event) {
            return;
        }
        let set = pack.set(rec.provider());
        let mut hits = Vec::new();
        set.matches(rec.fields(), rec.index_value().as_deref(), &mut hits);
        let rules: Vec<Firing> = hits
            .iter()
            .filter(|r| set.alerts(**r))
            .filter_map(|r| set.rule(*r))
            .map(|r| Firing {
                title: r.title.clone(),
                severity: r.level,
            })
            .collect();
        if c.filter.only_alerts && rules.is_empty() {
            return;
        }
        event.raw = String::new();
        rows.push(TimelineRow { event, rules });
    };
    let (parts, stats) = par_read(
        inputs,
        threads,
        &Vec::new,
        &on_record,
        on_error,
        on_progress,
    );
    let mut rows: Vec<TimelineRow> = parts.into_iter().flatten().collect();
    rows.sort_by(|a, b| {
        (a.event.time_ms, &a.event.event_id).cmp(&(b.event.time_ms, &b.event.event_id))
    });
    rows.dedup_by(|b, a| a.event.event_id == b.event.event_id);
    Ok((rows, stats))
}
