//! End-to-end tests: the real `trailwatch` binary over the shared datasets and synthetic logs.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;

const CONTRACT_FIELDS: [&str; 17] = [
    "id",
    "rule_id",
    "title",
    "severity",
    "first_seen",
    "last_seen",
    "count",
    "event_ids",
    "provider",
    "account",
    "region",
    "principal",
    "source_ips",
    "actions",
    "resources",
    "tags",
    "description",
];

/// Every alert has exactly the contract fields, sane counts and ordered times.
fn check_contract(alerts: &[Value]) {
    for a in alerts {
        let obj = a.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = CONTRACT_FIELDS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "alert fields differ from the contract: {a}");
        let count = a["count"].as_u64().unwrap_or_else(|| panic!("count: {a}"));
        let ids = strs(a, "event_ids");
        assert!(!ids.is_empty(), "alert without event ids: {a}");
        assert!(count >= ids.len() as u64, "count < listed event ids: {a}");
        let (first, last) = (s(a, "first_seen"), s(a, "last_seen"));
        assert!(
            time_key(first) <= time_key(last),
            "first_seen after last_seen: {a}"
        );
        for k in ["source_ips", "actions", "resources", "tags"] {
            strs(a, k);
        }
        for k in [
            "id",
            "rule_id",
            "title",
            "severity",
            "principal",
            "description",
        ] {
            assert!(!s(a, k).is_empty(), "empty {k}: {a}");
        }
        assert!(matches!(s(a, "provider"), "aws" | "azure"), "provider: {a}");
    }
}

/// An RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS[.fff]Z`) as a sortable (seconds, nanos) key.
fn time_key(t: &str) -> (String, u32) {
    assert!(
        t.len() >= 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
        "not an RFC 3339 UTC time: {t:?}"
    );
    let (secs, frac) = t[..t.len() - 1].split_at(19);
    let nanos = match frac.strip_prefix('.') {
        Some(f) => {
            assert!(
                !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()),
                "{t:?}"
            );
            format!("{f:0<9}").parse().unwrap()
        }
        None => {
            assert!(frac.is_empty(), "{t:?}");
            0
        }
    };
    (secs.to_string(), nanos)
}

fn titles(alerts: &[Value]) -> String {
    alerts
        .iter()
        .map(|a| {
            format!(
                "  {} | {} | {:?}",
                s(a, "title"),
                s(a, "principal"),
                strs(a, "actions")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// 1 -------------------------------------------------------------------------------------------

#[test]
fn hunt_invictus_jsonl_contract_and_detections() {
    let dir = datasets().join("aws/invictus-ir");
    let r = run(&[
        "hunt".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    r.assert_code(0);
    let alerts = r.alerts();
    assert!(!alerts.is_empty(), "no alerts\n{}", r.context());
    check_contract(&alerts);
    assert!(
        alerts.iter().all(|a| s(a, "provider") == "aws"),
        "non-AWS alert from CloudTrail data"
    );
    let all = titles(&alerts);
    assert!(
        alerts
            .iter()
            .any(|a| has_action(a, "DeleteTrail") || has_action(a, "StopLogging")),
        "no CloudTrail tampering alert:\n{all}"
    );
    assert!(
        alerts
            .iter()
            .any(|a| has_action(a, "AuthorizeSecurityGroupIngress")
                && s(a, "title").to_lowercase().contains("internet")),
        "no security group opened-to-the-internet alert:\n{all}"
    );
    assert!(
        alerts.iter().any(|a| has_action(a, "CreateAccessKey")),
        "no CreateAccessKey alert:\n{all}"
    );
    // Stable, distinct alert ids.
    let ids: HashSet<&str> = alerts.iter().map(|a| s(a, "id")).collect();
    assert_eq!(ids.len(), alerts.len(), "duplicate alert ids");
    let line = r.summary_line();
    assert!(line.contains("read 55 of 55 files"), "{line}");
    assert_eq!(r.records_read(), 2900, "{line}");
}

// 2 -------------------------------------------------------------------------------------------

#[test]
fn hunt_sans_lab_reads_everything_and_finds_the_compromised_user() {
    let dir = datasets().join("aws/sans-s3-ransomware");
    let r = run(&[
        "hunt".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    r.assert_code(0);
    assert_eq!(r.records_read(), 30477, "{}", r.summary_line());
    assert!(
        r.summary_line().contains("read 3872 of 3872 files"),
        "{}",
        r.summary_line()
    );
    let alerts = r.alerts();
    check_contract(&alerts);
    // The lab's compromised IAM user (found with `timeline` / `summary`).
    let user = "arn:aws:iam::342082656213:user/jmerckle";
    let mine: Vec<&Value> = alerts
        .iter()
        .filter(|a| s(a, "principal") == user)
        .collect();
    let all = titles(
        &alerts
            .iter()
            .filter(|a| s(a, "principal") == user)
            .cloned()
            .collect::<Vec<_>>(),
    );
    // Recon that was denied.
    assert!(
        mine.iter().any(|a| [
            "ListBuckets",
            "DescribeInstances",
            "ListFunctions20150331",
            "DescribeLogGroups"
        ]
        .iter()
        .any(|x| has_action(a, x))
            && s(a, "title").to_lowercase().contains("denied")),
        "no denied-recon alert for {user}:\n{all}"
    );
    // Privilege escalation through an inline user policy.
    assert!(
        mine.iter().any(|a| has_action(a, "PutUserPolicy")),
        "no policy-change alert for {user}:\n{all}"
    );
    // New credentials.
    assert!(
        mine.iter().any(|a| has_action(a, "CreateAccessKey")),
        "no CreateAccessKey alert for {user}:\n{all}"
    );
    for a in &mine {
        assert!(
            strs(a, "source_ips").contains(&"3.238.12.183".to_string()),
            "{a}"
        );
    }
}

// 3 -------------------------------------------------------------------------------------------

fn grouping_fixture(dir: &Path) -> std::path::PathBuf {
    let recs = vec![
        ct_record("a-1", "2024-03-01T10:00:00Z", "mallory", "StopLogging"),
        ct_record("b-1", "2024-03-01T10:05:00Z", "trent", "StopLogging"),
        ct_record("a-2", "2024-03-01T10:04:00Z", "mallory", "StopLogging"),
        ct_record("a-3", "2024-03-01T10:09:00Z", "mallory", "StopLogging"),
        ct_record("a-4", "2024-03-01T13:09:00Z", "mallory", "StopLogging"),
    ];
    let path = dir.join("stoplogging.json");
    write_jsonl(&path, &recs);
    path
}

const MALLORY: &str = "arn:aws:iam::111122223333:user/mallory";
const TRENT: &str = "arn:aws:iam::111122223333:user/trent";

/// Alerts on StopLogging, per principal: (count, sorted event ids), sorted by first_seen.
fn stoplogging_by_principal(alerts: &[Value], principal: &str) -> Vec<(u64, Vec<String>)> {
    let mut v: Vec<&Value> = alerts
        .iter()
        .filter(|a| s(a, "principal") == principal && has_action(a, "StopLogging"))
        .collect();
    v.sort_by_key(|a| s(a, "first_seen").to_string());
    v.iter()
        .map(|a| {
            let mut ids = strs(a, "event_ids");
            ids.sort();
            (a["count"].as_u64().unwrap(), ids)
        })
        .collect()
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn grouping_by_principal_and_window() {
    let tmp = tempfile::tempdir().unwrap();
    let f = grouping_fixture(tmp.path());
    let r = run(&[
        "hunt".as_ref(),
        f.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    r.assert_code(0);
    let alerts = r.alerts();
    check_contract(&alerts);
    // All StopLogging alerts come from one rule here; check per rule so a second rule
    // firing on the same events does not blur the grouping assertion.
    let rules: HashSet<&str> = alerts
        .iter()
        .filter(|a| has_action(a, "StopLogging"))
        .map(|a| s(a, "rule_id"))
        .collect();
    assert!(!rules.is_empty(), "no StopLogging alert\n{}", r.context());
    for rule in &rules {
        let of_rule: Vec<Value> = alerts
            .iter()
            .filter(|a| s(a, "rule_id") == *rule)
            .cloned()
            .collect();
        assert_eq!(
            stoplogging_by_principal(&of_rule, MALLORY),
            vec![(3, ids(&["a-1", "a-2", "a-3"])), (1, ids(&["a-4"]))],
            "rule {rule}: mallory's alerts\n{}",
            r.context()
        );
        assert_eq!(
            stoplogging_by_principal(&of_rule, TRENT),
            vec![(1, ids(&["b-1"]))],
            "rule {rule}: trent's alerts\n{}",
            r.context()
        );
    }

    let r = run(&[
        "hunt".as_ref(),
        f.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        "--group-window".as_ref(),
        "4h".as_ref(),
    ]);
    r.assert_code(0);
    let alerts = r.alerts();
    for rule in &rules {
        let of_rule: Vec<Value> = alerts
            .iter()
            .filter(|a| s(a, "rule_id") == *rule)
            .cloned()
            .collect();
        assert_eq!(
            stoplogging_by_principal(&of_rule, MALLORY),
            vec![(4, ids(&["a-1", "a-2", "a-3", "a-4"]))],
            "rule {rule}: --group-window 4h should merge mallory's firings\n{}",
            r.context()
        );
        let a = of_rule
            .iter()
            .find(|a| s(a, "principal") == MALLORY)
            .unwrap();
        assert_eq!(s(a, "first_seen"), "2024-03-01T10:00:00Z");
        assert_eq!(s(a, "last_seen"), "2024-03-01T13:09:00Z");
        assert_eq!(
            stoplogging_by_principal(&of_rule, TRENT),
            vec![(1, ids(&["b-1"]))]
        );
    }
}

#[test]
fn same_file_twice_does_not_double_count() {
    let tmp = tempfile::tempdir().unwrap();
    let f = grouping_fixture(tmp.path());
    let once = run(&[
        "hunt".as_ref(),
        f.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    let twice = run(&[
        "hunt".as_ref(),
        f.as_os_str(),
        f.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    once.assert_code(0);
    twice.assert_code(0);
    let key = |a: &Value| {
        (
            s(a, "rule_id").to_string(),
            s(a, "principal").to_string(),
            s(a, "first_seen").to_string(),
        )
    };
    let mut a1: Vec<_> = once
        .alerts()
        .iter()
        .map(|a| (key(a), a["count"].as_u64(), strs(a, "event_ids").len()))
        .collect();
    let mut a2: Vec<_> = twice
        .alerts()
        .iter()
        .map(|a| (key(a), a["count"].as_u64(), strs(a, "event_ids").len()))
        .collect();
    a1.sort();
    a2.sort();
    assert!(!a1.is_empty());
    assert_eq!(
        a1,
        a2,
        "the same file given twice changed the alerts\n{}",
        twice.context()
    );
}

// 4 -------------------------------------------------------------------------------------------

const EVIL: &str = "=cmd|' /C calc'!A0 \u{1b}[31mRED\nsecond line \u{202e}txt.exe";

fn evil_fixture(dir: &Path) -> std::path::PathBuf {
    let mut r = ct_record("evil-1", "2024-03-01T10:00:00Z", "x", "StopLogging");
    r["userIdentity"]["arn"] = json!(EVIL);
    r["userIdentity"]["userName"] = json!(EVIL);
    r["userAgent"] = json!(format!("agent {EVIL}"));
    r["requestParameters"] = json!({ "name": EVIL });
    let path = dir.join("evil.json");
    std::fs::write(&path, json!({ "Records": [r] }).to_string()).unwrap();
    path
}

#[test]
fn escaping_of_attacker_controlled_text() {
    let tmp = tempfile::tempdir().unwrap();
    let f = evil_fixture(tmp.path());

    // Table to a pipe (not a terminal).
    let table = run(&["hunt".as_ref(), f.as_os_str()]);
    table.assert_code(0);
    assert!(
        !table.stdout.contains('\u{1b}'),
        "raw ESC in table output\n{}",
        table.context()
    );
    assert!(
        !table.stdout.contains('\u{202e}'),
        "raw U+202E in table output\n{}",
        table.context()
    );
    assert!(
        table.stdout.contains("\\x1b[31m"),
        "escaped ESC not shown\n{}",
        table.context()
    );
    assert!(
        table.stdout.contains("=cmd|"),
        "principal missing from table\n{}",
        table.context()
    );
    // The newline inside the value must not split the alert row.
    let row = table.stdout.lines().find(|l| l.contains("=cmd|")).unwrap();
    assert!(
        row.contains("second line"),
        "embedded newline broke the row: {row:?}"
    );
    assert!(
        !table.stderr.contains('\u{1b}'),
        "raw ESC on stderr\n{}",
        table.context()
    );

    // Timeline table too: it shows principal and resources.
    let tl = run(&["timeline".as_ref(), f.as_os_str()]);
    tl.assert_code(0);
    assert!(
        !tl.stdout.contains('\u{1b}') && !tl.stdout.contains('\u{202e}'),
        "raw control in timeline\n{}",
        tl.context()
    );
    assert!(tl.stdout.contains("\\x1b"), "{}", tl.context());

    // CSV: the formula is neutralised.
    let csv = run(&[
        "hunt".as_ref(),
        f.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    csv.assert_code(0);
    let mut rdr = csv_reader(&csv.stdout);
    let header = rdr.remove(0);
    let col = header
        .iter()
        .position(|h| h == "principal")
        .expect("principal column");
    assert!(!rdr.is_empty(), "no CSV rows\n{}", csv.context());
    for row in &rdr {
        assert!(
            row[col].starts_with("'="),
            "principal cell not neutralised: {:?}",
            row[col]
        );
        for cell in row {
            assert!(
                !matches!(cell.chars().next(), Some('=' | '+' | '-' | '@')),
                "CSV cell starts with a formula character: {cell:?}"
            );
        }
    }

    // JSON lines: valid JSON that keeps the original text exactly.
    let j = run(&[
        "hunt".as_ref(),
        f.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    j.assert_code(0);
    let alerts = j.alerts();
    assert!(!alerts.is_empty());
    check_contract(&alerts);
    for a in &alerts {
        assert_eq!(s(a, "principal"), EVIL, "principal not round-tripped");
    }
    assert!(
        alerts
            .iter()
            .any(|a| strs(a, "resources").iter().any(|r| r.contains(EVIL))),
        "request parameter text not round-tripped in resources\n{}",
        j.context()
    );
}

/// A small RFC 4180 reader (quoted cells may hold commas, quotes and newlines).
fn csv_reader(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                c => cell.push(c),
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut cell)),
                '\r' => {}
                '\n' => {
                    row.push(std::mem::take(&mut cell));
                    rows.push(std::mem::take(&mut row));
                }
                c => cell.push(c),
            }
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

// 5 -------------------------------------------------------------------------------------------

#[test]
fn bad_inputs_are_reported_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let good = grouping_fixture(d);
    // A gzip header followed by junk.
    std::fs::write(
        d.join("corrupt.json.gz"),
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage that is not deflate",
    )
    .unwrap();
    // A record cut off in the middle of a string.
    let whole = ct_record("t-1", "2024-03-01T10:00:00Z", "mallory", "StopLogging").to_string();
    std::fs::write(d.join("truncated.json"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(d.join("text.json"), "this is a plain text note, not JSON\n").unwrap();
    std::fs::write(
        d.join("unknown.json"),
        r#"{"foo":{"bar":[1,2,3]},"baz":"qux"}"#,
    )
    .unwrap();
    // 50 MB on a single line, no newline anywhere.
    let garbage: Vec<u8> = (0..50_000_000u32)
        .map(|i| b"{[\"xyz abcdefgh:"[(i % 16) as usize])
        .collect();
    std::fs::write(d.join("huge.json"), garbage).unwrap();
    let bad = [
        "corrupt.json.gz",
        "truncated.json",
        "text.json",
        "unknown.json",
        "huge.json",
    ];

    let r = run(&[
        "hunt".as_ref(),
        d.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    r.assert_code(0);
    for name in bad {
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not reported on stderr\n{}", r.context()));
        let reason = line
            .split(name)
            .nth(1)
            .unwrap_or("")
            .trim_start_matches(':')
            .trim();
        assert!(
            reason.len() >= 5,
            "{name} reported without a reason: {line:?}"
        );
    }
    let stem = good.file_name().unwrap().to_str().unwrap();
    assert!(
        !r.stderr
            .lines()
            .any(|l| l.contains(stem) && !l.starts_with("trailwatch: read ")),
        "the good file was reported as a problem\n{}",
        r.context()
    );
    let alerts = r.alerts();
    check_contract(&alerts);
    assert_eq!(
        stoplogging_by_principal(&alerts, TRENT),
        vec![(1, ids(&["b-1"]))],
        "the good file's alerts did not come out\n{}",
        r.context()
    );
    assert_eq!(r.records_read(), 5, "{}", r.summary_line());

    let strict = run(&["hunt".as_ref(), d.as_os_str(), "--strict".as_ref()]);
    assert_ne!(
        strict.code(),
        0,
        "--strict with bad inputs exited 0\n{}",
        strict.context()
    );

    // A path that does not exist, next to a good one.
    let missing = d.join("no-such-dir");
    let r = run(&["hunt".as_ref(), good.as_os_str(), missing.as_os_str()]);
    assert!(
        r.stderr.contains("no-such-dir"),
        "missing path not reported\n{}",
        r.context()
    );
    assert!(r.stdout.contains("StopLogging"), "{}", r.context());

    // Nothing readable at all.
    let only_missing = run(&["hunt".as_ref(), missing.as_os_str()]);
    assert_ne!(only_missing.code(), 0, "{}", only_missing.context());
    assert!(
        only_missing.stderr.contains("no-such-dir"),
        "{}",
        only_missing.context()
    );
    let only_bad = run(&[
        "hunt".as_ref(),
        d.join("text.json").as_os_str(),
        d.join("unknown.json").as_os_str(),
        d.join("corrupt.json.gz").as_os_str(),
    ]);
    assert_ne!(
        only_bad.code(),
        0,
        "no readable input but exit 0\n{}",
        only_bad.context()
    );

    // Usage error.
    let usage = run(&["hunt", "--no-such-flag", "x"]);
    usage.assert_code(2);
    assert!(
        usage.stderr.contains("--no-such-flag"),
        "{}",
        usage.context()
    );
}

// 6 -------------------------------------------------------------------------------------------

#[test]
fn hunt_reads_standard_input() {
    let doc =
        json!({ "Records": [ct_record("stdin-1", "2024-05-05T05:05:05Z", "eve", "DeleteTrail")] });
    let r = run_with_stdin(
        &["hunt", "-", "--format", "jsonl"],
        Some(doc.to_string().into_bytes()),
    );
    r.assert_code(0);
    let alerts = r.alerts();
    check_contract(&alerts);
    assert!(
        alerts.iter().any(|a| has_action(a, "DeleteTrail")
            && strs(a, "event_ids") == ["stdin-1"]
            && s(a, "principal") == "arn:aws:iam::111122223333:user/eve"),
        "no DeleteTrail alert from stdin\n{}",
        r.context()
    );
    assert_eq!(r.records_read(), 1, "{}", r.summary_line());
}

// 7 -------------------------------------------------------------------------------------------

#[test]
fn since_and_until_drop_events_outside_the_range() {
    let tmp = tempfile::tempdir().unwrap();
    let f = grouping_fixture(tmp.path());
    let hunt = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "hunt".as_ref(),
            f.as_os_str(),
            "--format".as_ref(),
            "jsonl".as_ref(),
        ];
        args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
        let r = run(&args);
        r.assert_code(0);
        r.alerts()
    };
    let all = hunt(&[]);
    assert!(!stoplogging_by_principal(&all, MALLORY).is_empty());

    let later = hunt(&["--since", "2024-03-02T00:00:00Z"]);
    assert!(
        later.iter().all(|a| !has_action(a, "StopLogging")),
        "--since after every event still alerts:\n{}",
        titles(&later)
    );
    let earlier = hunt(&["--until", "2024-02-29T23:59:59Z"]);
    assert!(
        earlier.is_empty(),
        "--until before every event still alerts:\n{}",
        titles(&earlier)
    );

    let window = hunt(&[
        "--since",
        "2024-03-01T10:03:00Z",
        "--until",
        "2024-03-01T12:00:00+00:00",
    ]);
    assert_eq!(
        stoplogging_by_principal(&window, MALLORY),
        vec![(2, ids(&["a-2", "a-3"]))],
        "range 10:03–12:00 should keep only a-2 and a-3"
    );
    assert_eq!(
        stoplogging_by_principal(&window, TRENT),
        vec![(1, ids(&["b-1"]))]
    );

    // Bounds are inclusive at the exact instant.
    let exact = hunt(&[
        "--since",
        "2024-03-01T13:09:00Z",
        "--until",
        "2024-03-01T13:09:00Z",
    ]);
    assert_eq!(
        stoplogging_by_principal(&exact, MALLORY),
        vec![(1, ids(&["a-4"]))]
    );
}

// 8 -------------------------------------------------------------------------------------------

#[test]
fn rules_check_test_and_list() {
    let sig = sigma();
    let r = run(&[
        "rules".as_ref(),
        "check".as_ref(),
        "--rules".as_ref(),
        sig.as_os_str(),
    ]);
    let last = r.stdout.lines().last().unwrap_or_default().to_string();
    let nums: Vec<u64> = last
        .strip_prefix("compiled ")
        .and_then(|rest| rest.strip_suffix(" rules"))
        .map(|mid| mid.split(" of ").filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    assert_eq!(
        nums.len(),
        2,
        "last line is not `compiled N of M rules`: {last:?}\n{}",
        r.context()
    );
    let (n, m) = (nums[0], nums[1]);
    assert!(m > 800, "only {m} rules seen");
    assert!(
        n as f64 / m as f64 >= 0.99,
        "only {n} of {m} compiled\n{}",
        r.context()
    );
    if n == m {
        r.assert_code(0);
    }

    let t = run(&[
        "rules".as_ref(),
        "test".as_ref(),
        "--rules".as_ref(),
        sig.as_os_str(),
    ]);
    t.assert_code(0);
    assert!(t.stdout.contains(" 0 failed"), "{}", t.context());
    assert!(!t.stdout.contains("FAIL "), "{}", t.context());

    let l = run(&["rules", "list", "--format", "json"]);
    l.assert_code(0);
    let v: Value = serde_json::from_str(&l.stdout)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", l.context()));
    let list = v.as_array().expect("a JSON array");
    assert!(list.len() > 70, "only {} built-in rules", list.len());
    for rule in list {
        for k in ["title", "level", "routed_to"] {
            assert!(
                rule[k].as_str().is_some_and(|x| !x.is_empty()),
                "rule without {k}: {rule}"
            );
        }
        assert!(
            matches!(
                rule["level"].as_str().unwrap(),
                "informational" | "low" | "medium" | "high" | "critical"
            ),
            "{rule}"
        );
    }
    let routed: HashSet<&str> = list
        .iter()
        .map(|r| r["routed_to"].as_str().unwrap())
        .collect();
    assert!(
        routed.contains("aws") && routed.contains("azure"),
        "routes: {routed:?}"
    );

    // CSV is CSV: the same rules, one row each under a header, never the table.
    let c = run(&["rules", "list", "--format", "csv"]);
    c.assert_code(0);
    let rows = csv_reader(&c.stdout);
    assert_eq!(
        rows.first().map(|h| h.join(",")).as_deref(),
        Some("id,level,routed_to,kind,title,tags,file"),
        "{}",
        c.context()
    );
    assert_eq!(rows.len() - 1, list.len(), "{}", c.context());
    assert!(!c.stdout.contains(" rules: aws "), "{}", c.context());
}

/// A format a command cannot write is refused, never answered with another.
#[test]
fn stats_refuses_csv_rather_than_printing_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let i = run(&[
        "ingest".as_ref(),
        datasets().join("aws/traildiscover").as_os_str(),
        "--store".as_ref(),
        store.as_os_str(),
    ]);
    i.assert_code(0);
    let s = run(&[
        "stats".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    assert_ne!(s.code(), 0, "{}", s.context());
    assert!(s.stdout.is_empty(), "{}", s.context());
    assert!(s.stderr.contains("no CSV form"), "{}", s.context());
}

// 9 -------------------------------------------------------------------------------------------

fn read_manifest(dir: &Path) -> Vec<Value> {
    let path = ["scenarios.manifest", "scenarios.json"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "no scenarios.manifest (or scenarios.json) in {}",
                dir.display()
            )
        });
    let v: Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("manifest is JSON");
    v.as_array().expect("manifest is a JSON list").clone()
}

fn simulate(dir: &Path, extra: &[&str]) {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "simulate".as_ref(),
        "--out".as_ref(),
        dir.as_os_str(),
        "--days".as_ref(),
        "2".as_ref(),
        "--events-per-day".as_ref(),
        "3000".as_ref(),
        "--seed".as_ref(),
        "5".as_ref(),
        "--provider".as_ref(),
        "both".as_ref(),
    ];
    args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    run(&args).assert_code(0);
}

#[test]
fn simulated_attacks_are_all_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    simulate(&dir, &[]);
    let scenarios = read_manifest(&dir);
    assert!(scenarios.len() >= 10, "only {} scenarios", scenarios.len());

    let r = run(&[
        "hunt".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    r.assert_code(0);
    let alerts = r.alerts();
    check_contract(&alerts);
    let alerted: HashSet<String> = alerts.iter().flat_map(|a| strs(a, "event_ids")).collect();
    let azure_actions: Vec<String> = alerts
        .iter()
        .filter(|a| s(a, "provider") == "azure")
        .flat_map(|a| strs(a, "actions"))
        .map(|x| x.to_lowercase())
        .collect();
    let mut missed = Vec::new();
    let (mut aws, mut azure) = (0, 0);
    for sc in &scenarios {
        let name = s(sc, "name");
        match s(sc, "provider") {
            "aws" => {
                aws += 1;
                let ids = strs(sc, "event_ids");
                assert!(!ids.is_empty(), "scenario {name} without event ids");
                if !ids.iter().any(|i| alerted.contains(i)) {
                    missed.push(format!("{name} (aws, calls {:?})", strs(sc, "api_calls")));
                }
            }
            "azure" => {
                azure += 1;
                let calls: Vec<String> = strs(sc, "api_calls")
                    .iter()
                    .map(|c| c.to_lowercase())
                    .collect();
                if !azure_actions.iter().any(|a| calls.contains(a)) {
                    missed.push(format!("{name} (azure, calls {calls:?})"));
                }
            }
            p => panic!("scenario {name}: unknown provider {p}"),
        }
    }
    assert!(
        aws > 0 && azure > 0,
        "--provider both gave aws {aws}, azure {azure} scenarios"
    );
    assert!(
        missed.is_empty(),
        "{} of {} simulated attacks raised no alert:\n  {}",
        missed.len(),
        scenarios.len(),
        missed.join("\n  ")
    );
}

#[test]
fn simulated_background_is_quiet_at_high() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("quiet");
    simulate(&dir, &["--no-attacks"]);
    let r = run(&[
        "hunt".as_ref(),
        dir.as_os_str(),
        "--min-level".as_ref(),
        "high".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    r.assert_code(0);
    assert!(r.records_read() > 5000, "{}", r.summary_line());
    let alerts = r.alerts();
    if !alerts.is_empty() {
        eprintln!("rules that fired on attack-free background at --min-level high:");
        for a in &alerts {
            eprintln!(
                "  [{}] {} ({}) principal {} count {} actions {:?}",
                s(a, "severity"),
                s(a, "title"),
                s(a, "rule_id"),
                s(a, "principal"),
                a["count"],
                strs(a, "actions")
            );
        }
    }
    assert!(
        alerts.is_empty(),
        "{} high/critical alerts on background-only logs:\n{}",
        alerts.len(),
        titles(&alerts)
    );
}

// 10 ------------------------------------------------------------------------------------------

#[test]
fn summary_json_on_invictus() {
    let dir = datasets().join("aws/invictus-ir");
    let r = run(&[
        "summary".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    r.assert_code(0);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", r.context()));
    assert_eq!(v["events"].as_u64(), Some(2900), "{v}");
    let top = v["top"]["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no top.actions: {v}"));
    assert!(!top.is_empty());
    assert!(top.len() <= 10, "--top default is 10, got {}", top.len());
    let counts: Vec<u64> = top.iter().map(|t| t["count"].as_u64().unwrap()).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "top actions not sorted: {counts:?}"
    );
    assert!(top
        .iter()
        .all(|t| t["value"].as_str().is_some_and(|x| !x.is_empty())));
}

fn timeline_rows(extra: &[&str]) -> Vec<Value> {
    let dir = datasets().join("aws/invictus-ir");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "timeline".as_ref(),
        dir.as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ];
    args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
    let r = run(&args);
    r.assert_code(0);
    r.alerts()
}

fn assert_time_order(rows: &[Value]) {
    let t: Vec<i64> = rows
        .iter()
        .map(|r| {
            r["time_ms"]
                .as_i64()
                .unwrap_or_else(|| panic!("no time_ms: {r}"))
        })
        .collect();
    assert!(
        t.windows(2).all(|w| w[0] <= w[1]),
        "timeline not in time order"
    );
}

#[test]
fn timeline_filters_principal_and_alerts() {
    let all = timeline_rows(&[]);
    assert_eq!(all.len(), 2900);
    assert_time_order(&all);

    let user = "bert-jan";
    let rows = timeline_rows(&["--principal", user]);
    assert!(!rows.is_empty(), "no events for {user}");
    assert!(rows.len() < all.len(), "--principal did not filter");
    for r in &rows {
        let name = r["principal"]["name"].as_str().unwrap_or_default();
        assert!(
            name.contains(user),
            "event of another principal in --principal {user}: {r}"
        );
    }
    let expected = all
        .iter()
        .filter(|r| {
            r["principal"]["name"]
                .as_str()
                .unwrap_or_default()
                .contains(user)
        })
        .count();
    assert_eq!(
        rows.len(),
        expected,
        "--principal {user} missed some of its events"
    );
    assert_time_order(&rows);

    let only = timeline_rows(&["--only-alerts"]);
    assert!(!only.is_empty());
    assert!(only.len() < all.len());
    for r in &only {
        assert!(
            r["alerts"].as_array().is_some_and(|a| !a.is_empty()),
            "--only-alerts shows an event without alerts: {r}"
        );
    }
    let with_alerts = all
        .iter()
        .filter(|r| r["alerts"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    assert_eq!(only.len(), with_alerts);
    assert_time_order(&only);
}

// 11 ------------------------------------------------------------------------------------------

#[test]
fn demo_prints_serious_alerts() {
    let r = run(&["demo"]);
    r.assert_code(0);
    let mut lines = r.stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.contains("SEVERITY") && header.contains("TITLE"),
        "no table header\n{}",
        r.context()
    );
    assert!(
        lines.any(|l| l.starts_with("critical") || l.starts_with("high")),
        "no critical or high row\n{}",
        r.context()
    );
}

// 12 ------------------------------------------------------------------------------------------

fn azure_resource_log(op: &str, correlation: &str, time: &str, caller: &str) -> Value {
    let sub = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590";
    json!({
        "time": time,
        "resourceId": format!("{sub}/RESOURCEGROUPS/RG-TEST/PROVIDERS/{}", op.to_uppercase()),
        "operationName": op.to_uppercase(),
        "category": "Administrative",
        "resultType": "Success",
        "resultSignature": "Succeeded.Created",
        "durationMs": 1200,
        "callerIpAddress": "198.51.100.23",
        "correlationId": correlation,
        "identity": {
            "authorization": {
                "scope": format!("{sub}/resourceGroups/rg-test"),
                "action": op,
                "evidence": {"role": "Owner", "principalType": "User"}
            },
            "claims": {
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller,
                "name": caller
            }
        },
        "level": "Information",
        "location": "global",
        "properties": {
            "statusCode": "Created",
            "eventCategory": "Administrative",
            "entity": format!("{sub}/resourceGroups/rg-test"),
            "message": op
        }
    })
}

#[test]
fn azure_activity_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let pt = tmp.path().join("y=2025/m=01/d=02/h=03/m=00");
    std::fs::create_dir_all(&pt).unwrap();
    let nsg = "Microsoft.Network/networkSecurityGroups/securityRules/write";
    let role = "Microsoft.Authorization/roleAssignments/write";
    write_jsonl(
        &pt.join("PT1H.json"),
        &[
            azure_resource_log(
                nsg,
                "7d0c5c1e-0000-4000-8000-000000000001",
                "2025-01-02T03:04:05.1234567Z",
                "mallory@contoso.com",
            ),
            azure_resource_log(
                role,
                "7d0c5c1e-0000-4000-8000-000000000002",
                "2025-01-02T03:14:05.1234567Z",
                "mallory@contoso.com",
            ),
        ],
    );
    let shared_azure = datasets().join("azure");
    let r = run(&[
        "hunt".as_ref(),
        shared_azure.as_os_str(),
        tmp.path().as_os_str(),
        "--format".as_ref(),
        "jsonl".as_ref(),
    ]);
    r.assert_code(0);
    let line = r.summary_line();
    assert!(
        line.contains("(aws 0, azure 6, entra 0)"),
        "expected the 4 shared + 2 new Azure records: {line}"
    );
    let alerts = r.alerts();
    check_contract(&alerts);
    let found = |op: &str| {
        alerts.iter().any(|a| {
            s(a, "provider") == "azure"
                && s(a, "principal").contains("mallory@contoso.com")
                && strs(a, "actions")
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(op))
        })
    };
    assert!(found(nsg), "no Azure alert for {nsg}:\n{}", titles(&alerts));
    assert!(
        found(role),
        "no Azure alert for {role}:\n{}",
        titles(&alerts)
    );
}

/// Issue 15: an attacker who can write a log bucket drops a small gzip of `[[[[…` that never
/// closes (here 1 MB of gzip, 1 GiB inflated). The hunt reads the record before it, reports
/// the file and the reason, and stays far under 300 MB peak RSS; it used to gather the whole
/// inflated input.
#[test]
fn a_nesting_bomb_in_a_log_file_is_reported_in_bounded_memory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.json.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::best(),
    );
    let rec = ct_record(
        "0c1b0f2e-0000-4000-8000-0000000000b0",
        "2026-11-20T10:00:00Z",
        "mallory",
        "StopLogging",
    );
    gz.write_all(format!("{{\"Records\":[{rec},").as_bytes())
        .unwrap();
    let block = vec![b'['; 1 << 20];
    for _ in 0..1_024 {
        gz.write_all(&block).unwrap();
    }
    gz.finish().unwrap();
    let out = run(&["hunt", &path.display().to_string(), "--format", "jsonl"]);
    let ctx = out.context();
    assert_eq!(out.records_read(), 1, "{ctx}");
    assert!(
        ctx.contains("bomb.json.gz") && ctx.contains("not an object"),
        "{ctx}"
    );
    assert!(
        out.alerts().iter().any(|a| has_action(a, "StopLogging")),
        "{ctx}"
    );
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes the struct it is given; RUSAGE_CHILDREN covers the hunts this
    // test process ran (nextest runs each test in its own process).
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let peak_mb = usage.ru_maxrss / 1024;
    assert!(peak_mb < 300, "peak RSS {peak_mb} MB");
}
