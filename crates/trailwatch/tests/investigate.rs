//! `investigate` and `recover` end to end on the SANS S3 ransomware lab.

use std::path::{Path, PathBuf};
use std::process::Command;

fn lab() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/aws/sans-s3-ransomware")
}

fn tw(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn investigate_scopes_the_sans_intruder_with_alerts() {
    let lab = lab();
    let l = lab.to_str().unwrap();
    let (code, out, err) = tw(&[
        "investigate",
        l,
        "--access-key",
        "AKIAU7JNXC7K7XNL3F6J",
        "--format",
        "json",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["events"].as_array().unwrap().len(), 37);
    let keys: Vec<&str> = v["scope"]["access_keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["AKIAU7JNXC7K7XNL3F6J", "AKIAU7JNXC7KZLY6XYHJ"]);
    let created = v["scope"]["expansions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["value"] == "AKIAU7JNXC7KZLY6XYHJ")
        .unwrap();
    assert_eq!(created["evidence"], "a98b8878-ed1a-4e1e-9e0e-8276efd4d786");
    let put = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "PutUserPolicy")
        .unwrap();
    assert!(
        put["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "AWS IAM Policy Changed"),
        "{put}"
    );
    let (code, html, err) = tw(&[
        "investigate",
        l,
        "--principal",
        "jmerckle",
        "--format",
        "html",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        html.starts_with("<!doctype html>")
            && html.contains("<svg")
            && html.contains("PutUserPolicy")
    );
    let (code, _, err) = tw(&["investigate", l, "--principal", "nobody-at-all"]);
    assert_eq!(code, 1);
    assert!(err.contains("no event matches"), "{err}");
}

#[test]
fn recover_script_is_a_dry_run_of_the_exact_undo() {
    let lab = lab();
    let l = lab.to_str().unwrap();
    let (code, script, err) = tw(&[
        "recover",
        l,
        "--principal",
        "arn:aws:iam::342082656213:user/jmerckle",
        "--format",
        "script",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(script.contains("set -euo pipefail"));
    for line in [
        "run aws iam update-access-key --user-name 'jmerckle' --access-key-id 'AKIAU7JNXC7K7XNL3F6J' --status 'Inactive'",
        "run aws iam update-access-key --user-name 'jmerckle' --access-key-id 'AKIAU7JNXC7KZLY6XYHJ' --status 'Inactive'",
        "run aws iam delete-user-policy --user-name 'jmerckle' --policy-name 'zlj9i0k83o'",
    ] {
        assert!(script.lines().any(|s| s == line), "{line} not in\n{script}");
    }
    assert!(!script.contains("FalsimentisRoot"));
    // Dry run: with no `aws` on PATH it still succeeds, because nothing is executed.
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", "/usr/bin:/bin")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("+ aws iam delete-user-policy --user-name jmerckle --policy-name zlj9i0k83o"));
    let (code, json, _) = tw(&[
        "recover",
        l,
        "--access-key",
        "AKIAU7JNXC7K7XNL3F6J",
        "--format",
        "json",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let phases: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["phase"].as_str())
        .collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]
        || (w[0] == "restore" && w[1] == "verify")
        || (w[0] == "contain" && w[1] != "contain")));
    assert_eq!(phases.first(), Some(&"contain"));
    assert_eq!(phases.last(), Some(&"verify"));
    // The lab is AWS only: an Azure plan has nothing to contain or undo.
    let (code, out, err) = tw(&[
        "recover",
        l,
        "--ip",
        "3.238.12.183",
        "--cloud",
        "azure",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["phase"] == "verify"), "{out}");
    assert!(!out.contains("\"aws\""), "{out}");
}

#[test]
fn investigate_from_a_hunt_alert() {
    let lab = lab();
    let l = lab.to_str().unwrap();
    let (code, out, err) = tw(&["hunt", l, "--format", "json", "--threads", "1"]);
    assert_eq!(code, 0, "{err}");
    let alerts: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["title"] == "AWS IAM Policy Changed"
                && a["principal"].as_str().unwrap().ends_with("user/jmerckle")
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, out, err) = tw(&[
        "recover",
        l,
        "--alert",
        &id,
        "--format",
        "markdown",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "aws iam delete-user-policy --user-name 'jmerckle' --policy-name 'zlj9i0k83o'"
        ),
        "{out}"
    );
    assert!(out.contains("AKIAU7JNXC7KZLY6XYHJ"), "{out}");
    let (code, _, err) = tw(&[
        "investigate",
        l,
        "--alert",
        "0000000000000000",
        "--threads",
        "1",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no alert 0000000000000000"), "{err}");
}

/// The HTML report in a real browser (Debian's `chromium`, installed by `.ci/run`): hostile
/// log values render as text, the page runs no script, and the timeline and chart are there.
#[test]
fn html_report_in_chromium_keeps_hostile_values_inert() {
    let dir = tempfile::tempdir().unwrap();
    let evil_ua =
        "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";
    let mut recs = Vec::new();
    for (i, name) in ["CreateUser", "CreateAccessKey", "AttachUserPolicy"]
        .iter()
        .enumerate()
    {
        recs.push(serde_json::json!({
            "eventVersion": "1.08", "eventTime": format!("2026-10-01T10:0{i}:00Z"),
            "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.9", "userAgent": evil_ua, "eventID": format!("e{i}"),
            "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAX",
                "arn": "arn:aws:iam::111122223333:user/mallory", "accountId": "111122223333",
                "accessKeyId": "AKIAEXAMPLE", "userName": "mallory"},
            "requestParameters": {"userName": "<b>backdoor</b>",
                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            "responseElements": null}));
    }
    let logs = dir.path().join("t.json");
    std::fs::write(&logs, serde_json::json!({ "Records": recs }).to_string()).unwrap();
    let page = dir.path().join("incident.html");
    let (code, _, err) = tw(&[
        "investigate",
        logs.to_str().unwrap(),
        "--access-key",
        "AKIAEXAMPLE",
        "--format",
        "html",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let out = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (apt-get install chromium)");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dom.contains("<table"),
        "{dom}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The title is ours: neither the <script> nor the onerror handler ran.
    assert!(dom.contains("<title>trailwatch incident</title>"), "{dom}");
    // The browser built no element from log text: it shows it as text.
    assert!(
        !dom.contains("<script") && !dom.contains("<img") && !dom.contains("<b>"),
        "{dom}"
    );
    assert!(dom.contains("&lt;b&gt;backdoor&lt;/b&gt;"), "{dom}");
    assert!(dom.contains("&lt;script&gt;"), "{dom}");
    // The chart and the grouped timeline (three actions, one line each).
    assert!(dom.contains("<rect class=\"bar\""), "{dom}");
    for a in ["CreateUser", "CreateAccessKey", "AttachUserPolicy"] {
        assert!(dom.contains(&format!("<td>{a}</td>")), "{a}: {dom}");
    }
}
