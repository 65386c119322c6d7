//! An alert's investigation on its page: the `investigate` report (who, from where, what was
//! done to which resources) and the `recover` plan with its script, both built by
//! trailwatch-recover's one path ([`trailwatch_recover::investigate`]) from the store's events
//! around the alert. Every value is escaped; principals, keys, addresses, actions and resources
//! link to their search.

use crate::html::e;
use crate::query::search_link;
use crate::{AppState, ConsoleError};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trailwatch_recover::{render, Case, Phase, Plan, PlanOptions, Start};
use trailwatch_sink::AlertRecord;

/// Events read before the alert's first one (what led to it).
const BEFORE_MS: i64 = 7 * 24 * 3600 * 1000;
/// Events read after the alert's last one (what the intruder did next).
const AFTER_MS: i64 = 24 * 3600 * 1000;
/// Timeline groups, failures and resources shown (the JSON has them all).
const ROWS_SHOWN: usize = 200;

/// The report and plan of an alert.
pub struct Investigation {
    pub case: Case,
    pub plan: Plan,
}

/// Investigations made lately, by alert and store state: an alert's page is read again and
/// again during triage, and reading eight days of a busy store takes seconds. An entry serves
/// while the alert (its times and count) and the store's ledger head are unchanged, for at
/// most [`CACHE_TTL`] (the plan revokes sessions issued before its "now").
#[derive(Default)]
pub struct InvestigationCache {
    entries: Mutex<VecDeque<(CacheKey, Instant, Arc<Investigation>)>>,
}

type CacheKey = (String, String, String, u64, u64, String);

/// Investigations kept.
const CACHE_ENTRIES: usize = 16;
/// How long one serves.
const CACHE_TTL: Duration = Duration::from_secs(600);

impl InvestigationCache {
    fn get(&self, key: &CacheKey) -> Option<Arc<Investigation>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(_, made, _)| made.elapsed() < CACHE_TTL);
        entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, v)| v.clone())
    }

    fn put(&self, key: CacheKey, inv: Arc<Investigation>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(k, _, _)| *k != key);
        if entries.len() >= CACHE_ENTRIES {
            entries.pop_front();
        }
        entries.push_back((key, Instant::now(), inv));
    }
}

/// [`investigate`], or the same investigation made lately ([`InvestigationCache`]).
pub fn investigated(
    app: &AppState,
    alert: &AlertRecord,
) -> Result<Arc<Investigation>, ConsoleError> {
    let store = trailwatch_store::Store::open_read(app.store_dir())?;
    let head = store.ledger().head();
    let a = &alert.alert;
    let key = (
        a.id.clone(),
        a.first_seen.clone(),
        a.last_seen.clone(),
        a.count,
        head.seq,
        head.hash,
    );
    if let Some(inv) = app.0.incidents.get(&key) {
        return Ok(inv);
    }
    let inv = Arc::new(investigate(app, &store, alert)?);
    app.0.incidents.put(key, inv.clone());
    Ok(inv)
}

/// Reads the store's days around `alert` and investigates from its first event (blocking:
/// call it off the async threads). The titles of the outbox's alerts mark the events they
/// name.
pub fn investigate(
    app: &AppState,
    store: &trailwatch_store::Store,
    alert: &AlertRecord,
) -> Result<Investigation, ConsoleError> {
    let a = &alert.alert;
    let first = a
        .event_ids
        .first()
        .ok_or_else(|| ConsoleError::BadRequest("the alert names no event".into()))?;
    let time = |s: &str| {
        trailwatch_decode::time::parse_ms(s).ok_or_else(|| {
            ConsoleError::BadRequest(format!("the alert's time {s:?} is not a time"))
        })
    };
    let since = time(&a.first_seen)?.saturating_sub(BEFORE_MS);
    let until = time(&a.last_seen)?.saturating_add(AFTER_MS);
    let inputs = store.replay_inputs(Some(since), Some(until));
    let mut titles: HashMap<String, Vec<String>> = HashMap::new();
    for r in app.outbox()?.list(None)? {
        for id in &r.alert.event_ids {
            titles
                .entry(id.clone())
                .or_default()
                .push(r.alert.title.clone());
        }
    }
    let mut unreadable = 0usize;
    let case = trailwatch_recover::investigate(
        &inputs,
        Some(since),
        Some(until),
        &Start::Event(first.clone()),
        &titles,
        &mut |_| unreadable += 1,
    )?;
    if unreadable > 0 {
        tracing::warn!(alert = %a.id, unreadable, "records of the store could not be read");
    }
    let plan = case.plan(&PlanOptions {
        now: now_seconds(),
        inputs: vec!["--store".into(), app.store_dir().display().to_string()],
        cloud: None,
    });
    Ok(Investigation { case, plan })
}

/// Now, RFC 3339 to the second: sessions issued before it are revoked by the plan.
fn now_seconds() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    trailwatch_model::time::format_ms(i64::try_from(secs).unwrap_or(0).saturating_mul(1000))
}

fn time(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".into(), trailwatch_model::time::format_ms)
}

/// Values as a list, each a link to its search by `param`.
fn links<'a>(param: &str, values: impl IntoIterator<Item = &'a String>) -> String {
    let items: String = values
        .into_iter()
        .map(|v| format!("<li>{}</li>", search_link(param, v)))
        .collect();
    if items.is_empty() {
        "-".into()
    } else {
        format!("<ul>{items}</ul>")
    }
}

/// Text values as a list, escaped.
fn texts<'a>(values: impl IntoIterator<Item = &'a String>) -> String {
    let items: String = values
        .into_iter()
        .map(|v| format!("<li>{}</li>", e(v)))
        .collect();
    if items.is_empty() {
        "-".into()
    } else {
        format!("<ul>{items}</ul>")
    }
}

/// The scope: where the investigation started and what the intruder used.
fn scope_section(c: &Case) -> String {
    let inc = &c.incident;
    let sc = &inc.scope;
    let rows = [
        ("Started from", e(&sc.selector.to_string())),
        ("First activity", e(&time(inc.first_ms))),
        ("Last activity", e(&time(inc.last_ms))),
        ("Events in scope", inc.events.len().to_string()),
        ("Principals", links("principal", &sc.principals)),
        ("Access keys", links("access_key", &sc.access_keys)),
        ("Source addresses", links("ip", &inc.source_ips)),
        ("User agents", texts(&sc.user_agents)),
        ("Accounts", texts(&inc.accounts)),
        ("Regions", texts(&inc.regions)),
    ];
    let mut o = String::from(r#"<h2 id="scope">Scope</h2><dl class="fields">"#);
    for (k, v) in rows {
        let _ = write!(o, "<dt>{k}</dt><dd>{v}</dd>");
    }
    o.push_str("</dl>");
    if !sc.expansions.is_empty() {
        o.push_str(r#"<table><caption>How the scope grew</caption><thead><tr><th scope="col">Kind</th><th scope="col">Value</th><th scope="col">Why</th><th scope="col">Evidence</th><th scope="col">Followed</th><th scope="col">Events</th></tr></thead><tbody>"#);
        for x in &sc.expansions {
            let value = match x.kind.as_str() {
                "access_key" => search_link("access_key", &x.value),
                "principal" | "session" | "user" => search_link("principal", &x.value),
                "ip" => search_link("ip", &x.value),
                _ => e(&x.value),
            };
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{value}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e(&x.kind),
                e(&x.reason),
                e(x.evidence.as_deref().unwrap_or("-")),
                if x.followed { "yes" } else { "no" },
                x.events
            );
        }
        o.push_str("</tbody></table>");
    }
    o
}

/// What the scoped events did, grouped for reading, and what failed.
fn activity_section(c: &Case) -> String {
    let inc = &c.incident;
    let mut o = format!(
        r#"<h2 id="activity">Activity</h2><table><caption>{} groups of events, oldest first</caption><thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Log</th><th scope="col">Principal</th><th scope="col">Source</th><th scope="col">Action</th><th scope="col">Result</th><th scope="col">Events</th><th scope="col">Resources</th><th scope="col">Alerts</th></tr></thead><tbody>"#,
        inc.timeline.len()
    );
    for g in inc.timeline.iter().take(ROWS_SHOWN) {
        let outcome = match &g.error_code {
            Some(code) => format!("{:?}: {}", g.outcome, e(code)),
            None => format!("{:?}", g.outcome),
        };
        let mut resources = links("resource", &g.resources);
        if g.more_resources > 0 {
            let _ = write!(resources, " and {} more", g.more_resources);
        }
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{outcome}</td><td>{}</td><td>{resources}</td><td>{}</td></tr>",
            e(&time(Some(g.first_ms))),
            e(&time(Some(g.last_ms))),
            e(&g.log),
            search_link("principal", &g.principal),
            g.source_ip.as_deref().map_or_else(|| "-".into(), |ip| search_link("ip", ip)),
            search_link("action", &g.action),
            g.count,
            texts(&g.alerts)
        );
    }
    o.push_str("</tbody></table>");
    let _ = write!(o, "<p>{} denied or failed calls.</p>", inc.failures.len());
    o
}

/// Every resource touched and what was done to it, persistence and data-event coverage.
fn resources_section(c: &Case) -> String {
    let inc = &c.incident;
    let mut o = format!(
        r#"<h2 id="resources">Resources</h2><table><caption>{} resources touched</caption><thead><tr><th scope="col">Resource</th><th scope="col">Done</th><th scope="col">Events</th><th scope="col">Bytes out</th></tr></thead><tbody>"#,
        inc.resources.len()
    );
    for r in inc.resources.iter().take(ROWS_SHOWN) {
        let done: String = r
            .done
            .iter()
            .map(|(what, actions)| format!("<li>{}: {}</li>", e(what), e(&actions.join(", "))))
            .collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td><ul>{done}</ul></td><td>{}</td><td>{}</td></tr>",
            search_link("resource", &r.resource),
            r.events,
            r.bytes_out
        );
    }
    o.push_str("</tbody></table><h3>Persistence created</h3>");
    let items: Vec<String> = inc
        .persistence
        .iter()
        .map(|p| format!("{} {} ({})", p.action, p.what, p.event_id))
        .collect();
    o.push_str(&texts(&items));
    o.push_str("<h3>Data events</h3>");
    let items: Vec<String> = inc
        .data_events
        .iter()
        .map(|d| format!("{}: {}", d.resource, d.meaning()))
        .collect();
    o.push_str(&texts(&items));
    o
}

/// The script escaped line by line: its line breaks are its own (every log value in it is
/// quoted on one line), and stay line breaks in the `<pre>`.
fn script_html(script: &str) -> String {
    script.split('\n').map(e).collect::<Vec<_>>().join("\n")
}

/// The plan's steps by phase, then its script for copying.
fn plan_section(plan: &Plan) -> String {
    let mut o = String::from(r#"<h2 id="plan">Recovery plan</h2>"#);
    for phase in [
        Phase::Contain,
        Phase::Eradicate,
        Phase::Restore,
        Phase::Verify,
    ] {
        let steps: Vec<_> = plan.steps.iter().filter(|s| s.phase == phase).collect();
        let _ = write!(o, "<h3>{} ({} steps)</h3><ol>", phase.as_str(), steps.len());
        for s in steps {
            let command = s.command.as_ref().map_or_else(
                || "no command".into(),
                |c| format!("<code>{}</code>", e(&c.shell())),
            );
            let note = s.review.as_deref().or(s.refused.as_deref()).unwrap_or("");
            let _ = write!(
                o,
                "<li>{}: {command}. Risk: {}. {}</li>",
                e(&s.title),
                e(&s.risk),
                e(note)
            );
        }
        o.push_str("</ol>");
    }
    let _ = write!(
        o,
        r#"<h3>Script</h3><p>A dry run unless given <code>--execute</code>; every value from the log is single-quoted.</p><pre id="recovery-script" tabindex="0">{}</pre>"#,
        script_html(&render::plan_script(plan))
    );
    o
}

/// The report and plan as page sections.
pub fn sections(inv: &Investigation) -> String {
    [
        scope_section(&inv.case),
        activity_section(&inv.case),
        resources_section(&inv.case),
        plan_section(&inv.plan),
    ]
    .concat()
}

/// The report, plan and script as JSON.
pub fn json(inv: &Investigation) -> serde_json::Value {
    serde_json::json!({
        "incident": inv.case.incident,
        "plan": inv.plan,
        "script": render::plan_script(&inv.plan),
    })
}
