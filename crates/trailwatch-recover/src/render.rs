//! Reports: Markdown and JSON for the incident and the plan, a self-contained HTML incident
//! report, and the plan as a reviewed, dry-run-by-default shell script.

use crate::incident::Incident;
use crate::iso;
use crate::plan::{Phase, Plan};
use crate::RecoverError;
use std::fmt::Write;

use trailwatch_escape::{html, markdown as md};

/// A fenced code block long enough that nothing inside can close it.
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let f = "`".repeat(longest.max(2) + 1);
    format!("{f}sh\n{body}\n{f}\n")
}

/// The incident as Markdown.
pub fn incident_markdown(inc: &Incident) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Incident: {}\n", md(&inc.scope.selector.to_string()));
    let span = match (inc.first_ms, inc.last_ms) {
        (Some(a), Some(b)) => format!("{} → {}", iso(a), iso(b)),
        _ => "no activity".into(),
    };
    let _ = writeln!(
        o,
        "- Activity: {span} ({} events, {} denied)",
        inc.events.len(),
        inc.failures.len()
    );
    let join = |s: &std::collections::BTreeSet<String>| {
        s.iter().map(|x| md(x)).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(
        o,
        "- Accounts: {}\n- Regions: {}",
        join(&inc.accounts),
        join(&inc.regions)
    );
    let _ = writeln!(
        o,
        "- Access keys: {}\n- IPs: {}\n- User agents: {}\n",
        join(&inc.scope.access_keys),
        join(&inc.source_ips),
        join(&inc.scope.user_agents)
    );
    o.push_str("## Scope: how it grew\n\n| kind | value | followed | events | why | evidence |\n|---|---|---|---|---|---|\n");
    for x in &inc.scope.expansions {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            x.kind,
            md(&x.value),
            if x.followed { "yes" } else { "no" },
            x.events,
            md(&x.reason),
            md(x.evidence.as_deref().unwrap_or("-"))
        );
    }
    o.push_str("\n## Persistence created\n\n");
    for p in &inc.persistence {
        let _ = writeln!(
            o,
            "- {} {} — {} (event {})",
            iso(p.time_ms),
            md(&p.action),
            md(&p.what),
            md(&p.event_id)
        );
    }
    o.push_str("\n## Resources\n\n| resource | done | events | bytes read | settings written |\n|---|---|---|---|---|\n");
    for r in &inc.resources {
        let done: Vec<String> = r
            .done
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}: {}",
                    v.iter().map(|a| md(a)).collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            md(&r.resource),
            done.join("; "),
            r.events,
            r.bytes_out,
            md(&r.settings.join("; "))
        );
    }
    if !inc.data_events.is_empty() {
        o.push_str("\n## Data events\n\nWhether the logs hold the reads and writes of each bucket and table touched, while the incident lasted.\n\n| resource | data events | what the logs can tell |\n|---|---|---|\n");
        for d in &inc.data_events {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                md(&d.resource),
                d.data_events,
                d.meaning()
            );
        }
    }
    o.push_str("\n## Denied attempts\n\n");
    for f in &inc.failures {
        let _ = writeln!(
            o,
            "- {} {} {} ({})",
            iso(f.time_ms),
            md(&f.action),
            md(f.error_code.as_deref().unwrap_or("")),
            md(&f.event_id)
        );
    }
    o.push_str("\n## Timeline\n\nEvery log in time order; consecutive events of one log, principal, IP, action and result are one line.\n\n| from | to | n | log | principal | ip | action | result | resources | alerts |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for g in &inc.timeline {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            iso(g.first_ms),
            iso(g.last_ms),
            g.count,
            md(&g.log),
            md(&g.principal),
            md(g.source_ip.as_deref().unwrap_or("")),
            md(&g.action),
            md(&result(g)),
            md(&group_resources(g)),
            md(&g.alerts.join(", "))
        );
    }
    o
}

fn result(g: &crate::incident::Group) -> String {
    g.error_code
        .clone()
        .unwrap_or_else(|| format!("{:?}", g.outcome).to_lowercase())
}

fn group_resources(g: &crate::incident::Group) -> String {
    let mut s = g.resources.join(", ");
    if g.more_resources > 0 {
        s.push_str(&format!(" and {} more", g.more_resources));
    }
    s
}

/// Any report as pretty JSON.
pub fn json<T: serde::Serialize>(v: &T) -> Result<String, RecoverError> {
    Ok(serde_json::to_string_pretty(v)?)
}

/// The plan as Markdown.
pub fn plan_markdown(plan: &Plan) -> String {
    let mut o = format!("# Recovery plan: {}\n", md(&plan.selector));
    for phase in [
        Phase::Contain,
        Phase::Eradicate,
        Phase::Restore,
        Phase::Verify,
    ] {
        let _ = writeln!(o, "\n## {}\n", phase.as_str());
        for (n, s) in plan.steps.iter().filter(|s| s.phase == phase).enumerate() {
            let _ = writeln!(o, "{}. **{}**", n + 1, md(&s.title));
            let _ = writeln!(
                o,
                "   - evidence: {}\n   - risk: {}",
                md(s.evidence.as_deref().unwrap_or("-")),
                md(&s.risk)
            );
            if let Some(why) = &s.refused {
                let _ = writeln!(o, "   - {}", md(why));
            }
            if let Some(why) = &s.review {
                let _ = writeln!(o, "   - review before running: {}", md(why));
            }
            if let Some(c) = &s.command {
                o.push_str(&fence(&c.shell()));
            }
            if let Some(c) = &s.check {
                o.push_str("   - check:\n");
                o.push_str(&fence(&c.shell()));
            }
        }
    }
    o
}

/// A comment line: nothing in it can end the comment.
fn comment(s: &str) -> std::borrow::Cow<'_, str> {
    trailwatch_escape::one_line(s)
}

/// The plan as a bash script: dry run unless given `--execute`; every log value single-quoted;
/// a step marked for review is a comment (its command for a person to run), never run.
pub fn plan_script(plan: &Plan) -> String {
    let mut o = String::from(
        "#!/usr/bin/env bash\n# Recovery plan by trailwatch. Review every step before running with --execute.\n",
    );
    let _ = writeln!(o, "# Selector: {}", comment(&plan.selector));
    o.push_str(
        "set -euo pipefail\nEXECUTE=0\nif [[ \"${1:-}\" == \"--execute\" ]]; then EXECUTE=1; fi\n",
    );
    o.push_str("run() {\n  printf '+'; printf ' %q' \"$@\"; printf '\\n'\n  if [[ $EXECUTE == 1 ]]; then \"$@\"; fi\n}\n");
    // Verify commands report: a failing check (a deleted user's keys) must not abort the script.
    o.push_str("check() {\n  printf '?'; printf ' %q' \"$@\"; printf '\\n'\n  if [[ $EXECUTE == 1 ]]; then \"$@\" || echo \"check failed (exit $?): review it\" >&2; fi\n}\n");
    for phase in [
        Phase::Contain,
        Phase::Eradicate,
        Phase::Restore,
        Phase::Verify,
    ] {
        let _ = writeln!(o, "\n### {}", phase.as_str());
        for s in plan.steps.iter().filter(|s| s.phase == phase) {
            let _ = writeln!(
                o,
                "\n# {}\n# evidence: {}\n# risk: {}",
                comment(&s.title),
                comment(s.evidence.as_deref().unwrap_or("-")),
                comment(&s.risk)
            );
            if let Some(why) = &s.refused {
                let _ = writeln!(o, "# {}", comment(why));
            }
            if let Some(why) = &s.review {
                let _ = writeln!(o, "# review before running: {}", comment(why));
            }
            if let (Some(c), Some(_)) = (&s.command, &s.review) {
                // Never run, even with --execute: a person runs it after review.
                let _ = writeln!(o, "# after review, by hand: {}", comment(&c.shell()));
            } else if let Some(c) = &s.command {
                let verb = if phase == Phase::Verify {
                    "check"
                } else {
                    "run"
                };
                let _ = writeln!(o, "{verb} {}", c.shell());
            }
            if let Some(c) = &s.check {
                let _ = writeln!(o, "# check: {}", comment(&c.shell()));
            }
        }
    }
    o
}

/// The incident as one self-contained HTML page (no scripts, no external resources), with a
/// timeline chart of events per bucket of time.
pub fn incident_html(inc: &Incident) -> String {
    let mut o = String::from("<!doctype html><html><head><meta charset=\"utf-8\"><title>trailwatch incident</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}.bar{fill:#36c}.fail{background:#fee}.alert{background:#ffe8c0}</style></head><body>");
    let _ = write!(
        o,
        "<h1>Incident: {}</h1>",
        html(&inc.scope.selector.to_string())
    );
    o.push_str(&chart(inc));
    let join = |s: &std::collections::BTreeSet<String>| {
        html(&s.iter().cloned().collect::<Vec<_>>().join(", "))
    };
    let _ = write!(
        o,
        "<ul><li>{} events, {} denied</li><li>Accounts: {}</li><li>Regions: {}</li><li>Access keys: {}</li><li>IPs: {}</li><li>User agents: {}</li></ul>",
        inc.events.len(),
        inc.failures.len(),
        join(&inc.accounts),
        join(&inc.regions),
        join(&inc.scope.access_keys),
        join(&inc.source_ips),
        join(&inc.scope.user_agents)
    );
    o.push_str("<h2>Persistence created</h2><ul>");
    for p in &inc.persistence {
        let _ = write!(
            o,
            "<li>{} {} — {} ({})</li>",
            iso(p.time_ms),
            html(&p.action),
            html(&p.what),
            html(&p.event_id)
        );
    }
    o.push_str("</ul>");
    o.push_str("<h2>Scope</h2><table><tr><th>kind</th><th>value</th><th>followed</th><th>events</th><th>why</th><th>evidence</th></tr>");
    for x in &inc.scope.expansions {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&x.kind),
            html(&x.value),
            x.followed,
            x.events,
            html(&x.reason),
            html(x.evidence.as_deref().unwrap_or("-"))
        );
    }
    o.push_str(
        "</table><h2>Resources</h2><table><tr><th>resource</th><th>done</th><th>events</th><th>bytes read</th><th>settings written</th></tr>",
    );
    for r in &inc.resources {
        let done: Vec<String> = r
            .done
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.join(", ")))
            .collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            html(&r.resource),
            html(&done.join("; ")),
            r.events,
            r.bytes_out,
            html(&r.settings.join("; "))
        );
    }
    o.push_str("</table>");
    data_events_html(inc, &mut o);
    o.push_str("<h2>Timeline</h2><table><tr><th>from</th><th>to</th><th>n</th><th>log</th><th>principal</th><th>ip</th><th>action</th><th>result</th><th>resources</th><th>alerts</th></tr>");
    for g in &inc.timeline {
        let cls = if g.outcome == trailwatch_model::Outcome::Failure {
            " class=\"fail\""
        } else if g.alerts.is_empty() {
            ""
        } else {
            " class=\"alert\""
        };
        let _ = write!(
            o,
            "<tr{cls}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            iso(g.first_ms),
            iso(g.last_ms),
            g.count,
            html(&g.log),
            html(&g.principal),
            html(g.source_ip.as_deref().unwrap_or("")),
            html(&g.action),
            html(&result(g)),
            html(&group_resources(g)),
            html(&g.alerts.join(", "))
        );
    }
    o.push_str("</table></body></html>\n");
    o
}

/// An inline SVG bar chart of events over the incident, 60 buckets.
/// The data-event coverage of the buckets and tables touched, as an HTML section.
fn data_events_html(inc: &Incident, o: &mut String) {
    if inc.data_events.is_empty() {
        return;
    }
    o.push_str("<h2>Data events</h2><table><tr><th>resource</th><th>data events</th><th>what the logs can tell</th></tr>");
    for d in &inc.data_events {
        let cls = if d.recorded() { "" } else { " class=\"fail\"" };
        let _ = write!(
            o,
            "<tr{cls}><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&d.resource),
            d.data_events,
            html(d.meaning())
        );
    }
    o.push_str("</table>");
}

fn chart(inc: &Incident) -> String {
    let (Some(a), Some(b)) = (inc.first_ms, inc.last_ms) else {
        return String::new();
    };
    let n = 60usize;
    let width = ((b - a).max(1) as f64) / n as f64;
    let mut counts = vec![0usize; n];
    for r in &inc.events {
        let i = (((r.time_ms - a) as f64 / width) as usize).min(n - 1);
        counts[i] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut o = format!(
        "<p>{} → {}</p><svg width=\"600\" height=\"100\" role=\"img\">",
        iso(a),
        iso(b)
    );
    for (i, c) in counts.iter().enumerate() {
        let h = (*c as f64 / max * 100.0).round();
        let _ = write!(o, "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"9\" height=\"{}\"><title>{c}</title></rect>", i * 10, 100.0 - h, h);
    }
    o.push_str("</svg>");
    o
}
