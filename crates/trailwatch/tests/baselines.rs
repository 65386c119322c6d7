//! `hunt --baselines`, `--baseline-state` and `--config` ([baselines], [[suppressions]],
//! [severity]) through the real binary, on the SANS incident lab.

mod common;

use common::{datasets, run, s};

fn lab() -> String {
    datasets()
        .join("aws/sans-s3-ransomware")
        .display()
        .to_string()
}

#[test]
fn baselines_persist_between_runs_and_the_chain_reaches_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let st = state.display().to_string();
    let args = [
        "hunt",
        &lab(),
        "--baselines",
        "--baseline-state",
        &st,
        "--format",
        "jsonl",
        "--min-level",
        "medium",
    ];
    let first = run(&args);
    first.assert_code(0);
    let chains: Vec<_> = first
        .alerts()
        .into_iter()
        .filter(|a| s(a, "rule_id") == "tw-chain-recon-privilege")
        .collect();
    assert_eq!(chains.len(), 1, "{}", first.context());
    assert!(s(&chains[0], "principal").ends_with("user/jmerckle"));
    assert!(
        first.summary_line().contains("baseline/chain alerts"),
        "{}",
        first.summary_line()
    );
    assert!(state.exists(), "state written");
    let learned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("read state")).expect("state is JSON");
    assert!(learned["principals"]
        .as_array()
        .is_some_and(|p| p.len() >= 3));

    // The same logs again: everything is already in the baseline, nothing is learned twice,
    // and no learned-baseline alert is raised again.
    let second = run(&args);
    second.assert_code(0);
    assert!(
        second.summary_line().contains("0 events learned"),
        "{}",
        second.summary_line()
    );
    // A corrupt state file is an error, not a silent fresh start.
    std::fs::write(&state, "{").expect("write");
    let bad = run(&args);
    assert_ne!(bad.code(), 0, "{}", bad.context());
    assert!(bad.stderr.contains("baseline state"), "{}", bad.context());
}

#[test]
fn config_suppressions_drop_alerts_and_expired_ones_warn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = [
        "hunt".to_string(),
        lab(),
        "--format".into(),
        "jsonl".into(),
        "--min-level".into(),
        "low".into(),
    ];
    let plain = run(&base);
    plain.assert_code(0);
    let root_alerts = plain
        .alerts()
        .iter()
        .filter(|a| s(a, "principal").ends_with(":root"))
        .count();
    assert!(root_alerts > 0, "the lab has root activity");

    let cfg = dir.path().join("trailwatch.toml");
    std::fs::write(
        &cfg,
        r#"
[store]
dir = "ignored-here"

[[suppressions]]
principal = "arn:aws:iam::*:root"
reason = "the lab's owner works as root"
expires = "2099-12-31"

[[suppressions]]
principal = "*jmerckle*"
reason = "an old exception"
expires = "2021-01-01"
"#,
    )
    .expect("write config");
    let mut args = base.to_vec();
    args.extend(["--config".into(), cfg.display().to_string()]);
    let out = run(&args);
    out.assert_code(0);
    let alerts = out.alerts();
    assert!(
        alerts.iter().all(|a| !s(a, "principal").ends_with(":root")),
        "{}",
        out.context()
    );
    assert!(
        alerts
            .iter()
            .any(|a| s(a, "principal").ends_with("user/jmerckle")),
        "the expired suppression must not apply"
    );
    assert!(
        out.summary_line().contains("suppressed"),
        "{}",
        out.summary_line()
    );
    assert!(out.stderr.contains("expired"), "{}", out.context());

    // Expiry counts from the reference time, not from the day the test runs: in 2100 both
    // suppressions have expired, in 2020 both are live.
    let at = |now: &str| {
        let mut a = args.clone();
        a.extend(["--now".into(), now.into()]);
        let out = run(&a);
        out.assert_code(0);
        let alerts = out.alerts();
        let root = alerts.iter().any(|a| s(a, "principal").ends_with(":root"));
        let jm = alerts
            .iter()
            .any(|a| s(a, "principal").ends_with("user/jmerckle"));
        (root, jm)
    };
    assert_eq!(at("2100-01-01T00:00:00Z"), (true, true));
    assert_eq!(at("2020-06-01"), (false, false));

    // A typo inside an owned section is refused with the reason.
    std::fs::write(&cfg, "[baselines]\nlearning_dayz = 3\n").expect("write config");
    let bad = run(&args);
    assert_ne!(bad.code(), 0);
    assert!(bad.stderr.contains("learning_dayz"), "{}", bad.context());
}

#[test]
fn rules_explain_names_the_selections_that_matched_and_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = r#"{"eventVersion":"1.10","eventTime":"2026-11-20T10:15:42Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.45","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012"},"requestParameters":{"userName":"backup"},"eventID":"11111111-2222-3333-4444-555555555555","recipientAccountId":"123456789012"}"#;
    let failed = ok
        .replace(
            "\"requestParameters\"",
            "\"errorCode\":\"AccessDenied\",\"requestParameters\"",
        )
        .replace("11111111-", "22222222-");
    let both = dir.path().join("both.jsonl");
    std::fs::write(&both, format!("{ok}\n{failed}\n")).expect("write");
    let out = run(&[
        "rules",
        "explain",
        "aws_iam_user_created",
        &both.display().to_string(),
    ]);
    out.assert_code(0);
    let text = &out.stdout;
    assert!(text.contains("event 1 (aws CreateUser): MATCHED"), "{text}");
    assert!(
        text.contains("event 2 (aws CreateUser): not matched"),
        "{text}"
    );
    assert!(text.contains("[match] filter_failed"), "{text}");
    assert!(
        text.contains("errorCode|exists: event has \"AccessDenied\""),
        "{text}"
    );
    assert!(text.contains("1 of 2 events matched"), "{text}");

    // Only the failed call, found by title: nothing matches, exit 1.
    let one = dir.path().join("failed.json");
    std::fs::write(&one, &failed).expect("write");
    let out = run(&[
        "rules",
        "explain",
        "AWS IAM User Created",
        &one.display().to_string(),
    ]);
    out.assert_code(1);
    assert!(out.stdout.contains("): not matched"), "{}", out.context());
    assert!(
        out.stdout.contains("0 of 1 events matched"),
        "{}",
        out.context()
    );

    let unknown = run(&[
        "rules",
        "explain",
        "no-such-rule",
        &one.display().to_string(),
    ]);
    assert_ne!(unknown.code(), 0);
    assert!(unknown.stderr.contains("no rule"), "{}", unknown.context());
}
