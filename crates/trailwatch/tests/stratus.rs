//! The built-in pack on the Invictus IR lab, where 26 Stratus Red Team techniques were
//! detonated (their calls carry a `stratus-red-team_<uuid>` user agent): every technique is
//! flagged at medium or above, by the event a detection must flag, in at most 60 alerts.

mod common;

use common::{datasets, run, s, strs};
use serde_json::Value;

/// (technique, the event that must be flagged, its name). Found by grouping the lab's records
/// by the detonation's user agent (see bench/stratus_invictus.tsv).
const TECHNIQUES: &str = include_str!("../../../bench/stratus_invictus.tsv");

fn rank(a: &Value) -> usize {
    ["informational", "low", "medium", "high", "critical"]
        .iter()
        .position(|x| *x == s(a, "severity"))
        .unwrap_or(0)
}

#[test]
fn every_detonated_technique_is_flagged_at_medium_or_above_in_few_alerts() {
    let lab = datasets().join("aws/invictus-ir").display().to_string();
    let out = run(&["hunt", &lab, "--format", "jsonl", "--min-level", "medium"]);
    out.assert_code(0);
    let alerts = out.alerts();
    assert!(alerts.len() <= 60, "{} alerts", alerts.len());
    let mut missed = Vec::new();
    let mut techniques = 0;
    for line in TECHNIQUES.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (technique, event_id, event_name) = (cols[0], cols[2], cols[3]);
        techniques += 1;
        let flagged = alerts
            .iter()
            .filter(|a| rank(a) >= 2)
            .any(|a| strs(a, "event_ids").iter().any(|x| x == event_id));
        if !flagged {
            missed.push(format!("{technique} ({event_name} {event_id})"));
        }
    }
    assert_eq!(techniques, 26, "the table lists the lab's 26 detonations");
    assert!(
        missed.is_empty(),
        "not flagged at medium or above:\n{}",
        missed.join("\n")
    );
}
