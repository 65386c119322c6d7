//! The checks as JSON lines, JSON, Markdown and a dry-run shell script of the fixes. Every
//! value read from the cloud goes through the one escaping policy (`trailwatch-escape`) of
//! its surface; fixes are already quoted word by word.

use crate::{Check, Status};
use serde_json::json;
use std::fmt::Write as _;
use trailwatch_escape as escape;

/// Counts of pass, fail and unknown.
pub fn counts(checks: &[Check]) -> (usize, usize, usize) {
    let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
    (n(Status::Pass), n(Status::Fail), n(Status::Unknown))
}

/// One JSON object per check, one per line.
pub fn jsonl(checks: &[Check]) -> Result<String, serde_json::Error> {
    let mut out = String::new();
    for c in checks {
        out.push_str(&serde_json::to_string(c)?);
        out.push('\n');
    }
    Ok(out)
}

/// One JSON document: the checks and their counts.
pub fn json(checks: &[Check]) -> Result<String, serde_json::Error> {
    let (pass, fail, unknown) = counts(checks);
    let doc = json!({
        "summary": {"pass": pass, "fail": fail, "unknown": unknown},
        "checks": checks,
    });
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}

/// A fenced code block that nothing inside can close.
fn fenced(code: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in code.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}sh\n{code}\n{fence}\n")
}

/// A Markdown report: the counts, a table of every check, then each failed or unknown check
/// with its evidence and fix.
pub fn markdown(checks: &[Check]) -> String {
    let (pass, fail, unknown) = counts(checks);
    let mut o = String::from("# Logging posture\n\n");
    let _ = writeln!(o, "{pass} passed, {fail} failed, {unknown} unknown.\n");
    o.push_str(
        "| status | severity | check | account | region | resource |\n|---|---|---|---|---|---|\n",
    );
    for c in checks {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            c.status.as_str(),
            c.severity,
            c.id,
            escape::markdown(&c.account),
            escape::markdown(&c.region),
            escape::markdown(&c.resource)
        );
    }
    for c in checks.iter().filter(|c| c.status != Status::Pass) {
        let _ = writeln!(
            o,
            "\n## {} {}: {}\n\n- resource: {}\n- region: {}\n- severity: {}\n- evidence: {}",
            c.status.as_str(),
            c.id,
            escape::markdown(&c.title),
            escape::markdown(&c.resource),
            escape::markdown(&c.region),
            c.severity,
            escape::markdown(&c.evidence)
        );
        if let Some(fix) = &c.fix {
            let _ = write!(o, "\n{}", fenced(&escape::terminal(fix)));
        }
    }
    o
}

/// A bash script running every failed check's fix: it only prints them unless given
/// `--execute`; checks without a single command are comments saying what is needed.
pub fn script(checks: &[Check]) -> String {
    let mut o = String::from(
        "#!/usr/bin/env bash\n# Logging posture fixes by trailwatch. Review every command before running with --execute.\n",
    );
    o.push_str(
        "set -euo pipefail\nEXECUTE=0\nif [[ \"${1:-}\" == \"--execute\" ]]; then EXECUTE=1; fi\n",
    );
    o.push_str("run() {\n  printf '+'; printf ' %q' \"$@\"; printf '\\n'\n  if [[ $EXECUTE == 1 ]]; then \"$@\"; fi\n}\n");
    let line = |s: &str| escape::one_line(s).into_owned();
    for c in checks.iter().filter(|c| c.status == Status::Fail) {
        let _ = writeln!(
            o,
            "\n# {} ({}): {}\n# resource: {} ({})\n# evidence: {}",
            c.id,
            c.severity,
            line(&c.title),
            line(&c.resource),
            line(&c.region),
            line(&c.evidence)
        );
        match &c.fix {
            // Every value in it is a quoted word; hidden characters are `$'…'` escapes.
            Some(fix) => {
                let _ = writeln!(o, "run {fix}");
            }
            None => o.push_str("# no single command fixes it: see the evidence\n"),
        }
    }
    let unknown = checks
        .iter()
        .filter(|c| c.status == Status::Unknown)
        .count();
    if unknown > 0 {
        let _ = writeln!(
            o,
            "\n# {unknown} checks could not be made (unknown): see trailwatch posture's report"
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Place;
    use trailwatch_model::Severity;
    use trailwatch_recover::cmd::Cmd;

    fn hostile() -> Vec<Check> {
        let p = Place {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            resource: "b|`x`\n# injected\x1b[2J".into(),
        };
        vec![
            p.check(
                "aws.s3.log_bucket_versioning",
                Severity::Medium,
                Status::Fail,
                "t",
                "Status = \n$(id)",
            )
            .with_fix(
                Cmd::aws("s3api", "put-bucket-versioning")
                    .arg("--bucket", "logs-b")
                    .opt("--versioning-configuration", "Status=Enabled"),
            ),
            p.check(
                "aws.s3.log_bucket_access_logging",
                Severity::Low,
                Status::Fail,
                "t",
                "e",
            )
            .with_fix(Cmd::aws("s3api", "put-bucket-logging").arg("--bucket", "bad'; rm -rf /")),
            p.unknown(
                "aws.s3.log_bucket_retention",
                Severity::Medium,
                "t",
                "AccessDenied",
            ),
        ]
    }

    #[test]
    fn unfit_values_get_no_fix_and_the_reason() {
        let c = hostile();
        assert_eq!(
            c[0].fix.as_deref(),
            Some("aws s3api put-bucket-versioning --bucket 'logs-b' --versioning-configuration Status=Enabled")
        );
        assert_eq!(c[1].fix, None);
        assert!(
            c[1].evidence.contains("fix not generated: --bucket"),
            "{}",
            c[1].evidence
        );
        assert_eq!(c[2].fix, None);
    }

    #[test]
    fn hostile_values_stay_inert_on_every_surface() {
        let c = hostile();
        let s = script(&c);
        assert!(!s.contains('\x1b'));
        for l in s.lines() {
            assert!(
                !l.starts_with("$(id)") && !l.starts_with("# injected"),
                "{l}"
            );
        }
        assert!(s.contains("run aws s3api put-bucket-versioning --bucket 'logs-b'"));
        assert!(s.contains("# no single command fixes it"));
        let m = markdown(&c);
        assert!(!m.contains('\x1b') && !m.contains("\n# injected"));
        assert!(m.contains("b\\|\\`x\\`"), "{m}");
        let j = jsonl(&c).unwrap();
        assert_eq!(j.lines().count(), 3);
        let first: serde_json::Value = serde_json::from_str(j.lines().next().unwrap()).unwrap();
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 9);
        for k in [
            "id", "status", "severity", "account", "region", "resource", "title", "evidence", "fix",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        assert_eq!(first["status"], "fail");
        assert_eq!(first["severity"], "medium");
        let doc: serde_json::Value = serde_json::from_str(&json(&c).unwrap()).unwrap();
        assert_eq!(doc["summary"]["fail"], 2);
        assert_eq!(doc["summary"]["unknown"], 1);
    }
}
