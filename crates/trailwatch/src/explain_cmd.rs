//! `trailwatch rules explain RULE EVENT`: which selections of a rule matched the events of a
//! file and which field tests failed, with the event's values (escaped: they are log data).

use crate::cli::RuleArgs;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use trailwatch_decode::{read_bytes, ReadScratch};
use trailwatch_detect::RulePack;
use trailwatch_escape as escape;
use trailwatch_model::Severity;
use trailwatch_sigma::Rule;

/// Finds a rule by id, name, title (case-insensitive) or file path.
fn find<'r>(rules: &'r [Arc<Rule>], key: &str) -> Result<&'r Arc<Rule>> {
    let by = |f: &dyn Fn(&Rule) -> bool| -> Vec<&'r Arc<Rule>> {
        rules.iter().filter(|r| f(r)).collect()
    };
    let tries: [&dyn Fn(&Rule) -> bool; 4] = [
        &|r| r.id.as_deref() == Some(key),
        &|r| r.name.as_deref() == Some(key),
        &|r| r.title.eq_ignore_ascii_case(key),
        &|r| r.path == Path::new(key) || r.path.ends_with(key),
    ];
    for t in tries {
        let found = by(t);
        match found.len() {
            0 => continue,
            1 => return Ok(found[0]),
            _ => bail!(
                "{} rules answer to {:?}: {}",
                found.len(),
                key,
                found
                    .iter()
                    .map(|r| r.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    bail!("no rule with the id, name, title or file {key:?} (see trailwatch rules list)")
}

pub fn explain(r: &RuleArgs, rule: &str, event: &Path) -> Result<ExitCode> {
    let pack = RulePack::load(!r.no_builtin, &r.rules, Severity::Informational)?;
    let rule = find(&pack.report.rules, rule)?;
    if rule.is_correlation() {
        bail!(
            "{} is a correlation rule; explain one of the rules it correlates instead",
            rule.title
        );
    }
    let bytes = std::fs::read(event).with_context(|| format!("read {}", event.display()))?;
    let mut out = String::new();
    let mut records = 0usize;
    let mut matched = 0usize;
    let mut problems = Vec::new();
    out.push_str(&format!(
        "rule: {} [{}] ({})\n",
        escape::terminal(&rule.title),
        rule.key(),
        rule.path.display()
    ));
    read_bytes(
        &bytes,
        &event.display().to_string(),
        &mut ReadScratch::default(),
        &mut |rec| {
            records += 1;
            let Some(x) = rule.explain(rec.fields()) else {
                return;
            };
            if x.matched {
                matched += 1;
            }
            let name = rec.index_value().unwrap_or_default();
            out.push_str(&format!(
                "\nevent {records} ({} {}): {}\n  condition: {}\n",
                rec.provider(),
                escape::terminal(&name),
                if x.matched { "MATCHED" } else { "not matched" },
                escape::terminal(&x.condition)
            ));
            for s in &x.selections {
                out.push_str(&format!(
                    "  {} {}\n",
                    if s.matched { "[match]" } else { "[no match]" },
                    escape::terminal(&s.name)
                ));
                let alternatives = s.items.iter().map(|i| i.alternative).max().unwrap_or(0) > 0;
                for i in &s.items {
                    let values = if i.values.is_empty() {
                        "absent".to_string()
                    } else {
                        i.values
                            .iter()
                            .map(|v| format!("{:?}", escape::terminal(v)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    out.push_str(&format!(
                        "      {} {}{}: event has {}\n",
                        if i.matched { "ok  " } else { "FAIL" },
                        if alternatives {
                            format!("(alternative {}) ", i.alternative + 1)
                        } else {
                            String::new()
                        },
                        escape::terminal(&i.label),
                        values
                    ));
                }
            }
        },
        &mut |e| problems.push(e.to_string()),
    );
    for p in &problems {
        eprintln!("trailwatch: {}", escape::terminal(p));
    }
    if records == 0 {
        bail!("{}: no event could be read", event.display());
    }
    out.push_str(&format!("\n{matched} of {records} events matched\n"));
    crate::store_cmd::emit(&out)?;
    Ok(if matched > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
