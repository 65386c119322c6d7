//! The watcher over a local folder: simulated CloudTrail files arriving in two waves, a growing
//! JSON-lines file, a rotated file, a restart, and a coverage gap.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

mod common;
use common::{batch_alerts, expected_incidents, files_under};
use trailwatch_model::Alert;
use trailwatch_sim::{simulate, Providers, SimOptions};
use trailwatch_sink::{AlertState, Outbox};
use trailwatch_store::Store;
use trailwatch_watch::{incident_key, outbox_path, Config, Watcher, COVERAGE_RULE};

fn copy_into(files: &[PathBuf], from: &Path, to: &Path) {
    for f in files {
        let rel = f.strip_prefix(from).expect("under");
        let dest = to.join(rel);
        fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        fs::copy(f, &dest).expect("copy");
    }
}

fn config(store: &Path, inbox: &Path, jsonl: &Path, extra: &str) -> Config {
    let store_key = store.with_extension("key");
    let text = format!(
        r#"
[store]
dir = {store:?}
signing_key = {store_key:?}
[watch]
poll_interval = "1s"
batch_objects = 7
min_level = "low"
[[sources]]
name = "inbox"
kind = "local"
path = {inbox:?}
{extra}
[[sinks]]
name = "file"
kind = "jsonl"
path = {jsonl:?}
"#
    );
    Config::parse(&text).expect("config")
}

fn delivered(jsonl: &Path) -> Vec<Alert> {
    let Ok(text) = fs::read_to_string(jsonl) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| serde_json::from_str(l).expect("alert line"))
        .collect()
}

#[test]
fn files_arriving_in_waves_alert_each_incident_once_as_a_batch_hunt_would() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Aws;
    sim.days = 1;
    sim.events_per_day = 4_000;
    sim.seed = 7;
    let report = simulate(&sim).expect("simulate");
    assert!(
        !report.scenarios.is_empty(),
        "the simulator injected attacks"
    );
    let files = files_under(&corpus);
    assert!(files.len() > 20, "{} files", files.len());

    // What a hunt over the whole corpus finds, as incidents.
    let expected = expected_incidents(&files);
    assert!(expected.len() >= 3, "{expected:?}");

    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    let cfg = config(&store, &inbox, &jsonl, "");
    // The waves come in time order, as CloudTrail delivers: every region's first half of the
    // day, then every region's second half.
    let mut by_time = files.clone();
    by_time.sort_by_key(|p| {
        trailwatch_watch::layout::named_time_ms(&p.to_string_lossy()).unwrap_or(i64::MAX)
    });
    let (first, second) = by_time.split_at(by_time.len() / 2);
    {
        let mut w = Watcher::from_config(&cfg).expect("watcher");
        assert_eq!(w.poll().expect("empty poll").objects, 0);
        copy_into(first, &corpus, &inbox);
        let r1 = w.poll().expect("poll 1");
        assert_eq!(r1.objects, first.len() as u64);
        assert!(r1.problems.is_empty(), "{:?}", r1.problems);
        copy_into(second, &corpus, &inbox);
        let r2 = w.poll().expect("poll 2");
        assert_eq!(r2.objects, second.len() as u64);
        let r3 = w.poll().expect("poll 3");
        assert_eq!(
            (r3.objects, r3.alerts_new),
            (0, 0),
            "nothing new: nothing read"
        );
        // The trail is finished: what the stateful detectors held for the reorder window is
        // decided now.
        let mut r4 = trailwatch_watch::PollReport::default();
        w.drain(&mut r4).expect("drain");
        assert_eq!(
            r1.alerts_new + r2.alerts_new + r4.alerts_new,
            expected.len() as u64
        );
    }
    let sent = delivered(&jsonl);
    let ids: Vec<&str> = sent.iter().map(|a| a.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        ids.len(),
        unique.len(),
        "an alert was delivered twice: {ids:?}"
    );
    let got: BTreeSet<String> = sent.iter().map(incident_key).collect();
    assert_eq!(
        got, expected,
        "the watch found what a hunt over everything finds"
    );

    // Every event is stored once.
    let s = Store::open_read(&store).expect("store");
    let stored = s.event_ids().expect("ids");
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(stored.len(), distinct.len());
    assert_eq!(stored.len() as u64, report.aws.records);

    // A restart reads nothing again and sends nothing again.
    let mut w = Watcher::from_config(&cfg).expect("restarted");
    let r = w.poll().expect("poll after restart");
    assert_eq!((r.objects, r.alerts_new, r.delivery.sent), (0, 0, 0));
    assert_eq!(delivered(&jsonl).len(), sent.len());
    let outbox = Outbox::open(outbox_path(&store)).expect("outbox");
    let open = outbox.list(Some(AlertState::Open)).expect("list");
    assert_eq!(open.len(), expected.len());
}

#[test]
fn growing_rotated_and_broken_files_are_read_incrementally_and_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    let cfg = config(&store, &inbox, &jsonl, "");
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    assert!(inbox.is_dir(), "the inbox is created");
    let line = |i: u32, name: &str| {
        format!(
            r#"{{"eventVersion":"1.08","eventID":"00000000-0000-0000-0000-{i:012}","eventTime":"2026-10-01T10:{:02}:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"aws-cli","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"}},"recipientAccountId":"111122223333","requestParameters":{{"name":"main"}}}}"#,
            i % 60
        ) + "\n"
    };
    let path = inbox.join("events.jsonl");
    let mut f = fs::File::create(&path).expect("create");
    f.write_all(line(1, "DescribeTrails").as_bytes())
        .expect("w");
    f.write_all(line(2, "StopLogging").as_bytes()).expect("w");
    // Half a line: held back until the file stops growing.
    let third = line(3, "DescribeTrails");
    f.write_all(&third.as_bytes()[..40]).expect("w");
    f.flush().expect("flush");
    let r = w.poll().expect("poll");
    assert_eq!(r.events_added, 2);
    assert!(
        r.problems.is_empty(),
        "the partial line is not an error: {:?}",
        r.problems
    );
    assert_eq!(r.alerts_new, 1, "StopLogging");
    f.write_all(&third.as_bytes()[40..]).expect("w");
    f.write_all(line(4, "StopLogging").as_bytes()).expect("w");
    f.flush().expect("flush");
    let r = w.poll().expect("poll");
    assert_eq!(r.events_added, 2, "the completed line and the new one");
    assert_eq!(
        (r.alerts_new, r.alerts_merged),
        (0, 1),
        "the same incident, grown"
    );
    assert_eq!(w.poll().expect("poll").objects, 0);
    // Rotation: a new file under the same name is read from its start.
    drop(f);
    fs::rename(&path, inbox.join("events.jsonl.1")).expect("rotate");
    let mut f = fs::File::create(&path).expect("create");
    f.write_all(line(5, "DescribeTrails").as_bytes())
        .expect("w");
    f.write_all(line(6, "DescribeTrails").as_bytes())
        .expect("w");
    f.write_all(line(7, "DescribeTrails").as_bytes())
        .expect("w");
    f.write_all(line(8, "DescribeTrails").as_bytes())
        .expect("w");
    f.write_all(line(9, "DescribeTrails").as_bytes())
        .expect("w");
    f.flush().expect("flush");
    let r = w.poll().expect("poll");
    assert_eq!(r.events_added, 5, "{r:?}");
    // A corrupt file is reported by name; a good one beside it is read.
    fs::write(inbox.join("broken.json.gz"), b"\x1f\x8bnot really gzip").expect("w");
    fs::write(inbox.join("good.jsonl"), line(10, "DescribeTrails")).expect("w");
    let r = w.poll().expect("poll");
    assert_eq!(r.events_added, 1);
    assert!(
        r.problems.iter().any(|p| p.contains("broken.json.gz")),
        "{:?}",
        r.problems
    );
    // …and not retried at every poll.
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty() && r.objects == 0, "{r:?}");
    let sent = delivered(&jsonl);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].actions.iter().any(|a| a == "StopLogging"));
}

#[test]
fn a_silent_expected_region_raises_one_coverage_alert() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T1000Z_a.json";
    let dest = inbox.join(key);
    fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    fs::write(&dest, r#"{"Records":[]}"#).expect("write");
    // Delivered now by this process's clock (the file system stamps files by the kernel's, which
    // a test run under a shifted clock does not share).
    fs::File::options()
        .write(true)
        .open(&dest)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .expect("set mtime");
    let cfg = config(
        &store,
        &inbox,
        &jsonl,
        r#"coverage = { max_gap = "1h", accounts = ["111122223333"], regions = ["us-east-1", "eu-west-1"] }"#,
    );
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll().expect("poll");
    assert_eq!(r.alerts_new, 0, "nothing is late yet");
    let cov: BTreeMap<String, Vec<String>> = w
        .coverage()
        .into_iter()
        .map(|(s, o)| {
            (
                s,
                o.into_iter()
                    .map(|o| format!("{} {}", o.account, o.region))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(cov["inbox"], ["111122223333 us-east-1"]);
    drop(w);
    // An hour and a bit later (the file's time moved back): us-east-1 fell silent too.
    let cfg = config(
        &store,
        &inbox,
        &jsonl,
        r#"coverage = { max_gap = "1ms", accounts = ["111122223333"], regions = ["us-east-1", "eu-west-1"] }"#,
    );
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = w.poll().expect("poll");
    assert_eq!(
        r.alerts_new, 2,
        "us-east-1 silent, eu-west-1 never delivered"
    );
    let r = w.poll().expect("poll");
    assert_eq!(r.alerts_new, 0, "once per gap while open");
    let sent = delivered(&jsonl);
    assert_eq!(sent.len(), 2);
    let regions: BTreeSet<_> = sent.iter().filter_map(|a| a.region.clone()).collect();
    assert_eq!(
        regions,
        BTreeSet::from(["eu-west-1".to_string(), "us-east-1".to_string()])
    );
    assert!(sent.iter().all(|a| a.rule_id == COVERAGE_RULE));
}

/// A day of simulated CloudTrail under `dir`: its folder, its files, what a batch hunt of them
/// alerts, and the rule behind the most incidents (the one the suppression tests mute; at
/// least one other rule fires too).
fn muted_corpus(dir: &Path) -> (PathBuf, Vec<PathBuf>, Vec<Alert>, String) {
    let corpus = dir.join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Aws;
    sim.days = 1;
    sim.events_per_day = 3_000;
    sim.seed = 11;
    simulate(&sim).expect("simulate");
    let files = files_under(&corpus);
    let batch = batch_alerts(&files);
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for a in &batch {
        *by_rule.entry(a.rule_id.clone()).or_default() += 1;
    }
    assert!(by_rule.len() >= 2, "{by_rule:?}");
    let (muted, _) = by_rule.iter().max_by_key(|(_, n)| **n).expect("some alert");
    let muted = muted.clone();
    (corpus, files, batch, muted)
}

#[test]
fn suppressions_and_baselines_of_the_configuration_apply_to_what_the_watch_finds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (corpus, files, batch, muted) = muted_corpus(tmp.path());
    let expected: BTreeSet<String> = batch.iter().map(incident_key).collect();

    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    let extra = format!(
        r#"
[baselines]
enabled = true
[[suppressions]]
rule = {muted:?}
reason = "known noise in this test"
expires = "2099-12-31"
[severity]
context = false
"#
    );
    let cfg = config(&store, &inbox, &jsonl, &extra);
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    copy_into(&files, &corpus, &inbox);
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let sent = delivered(&jsonl);
    assert!(
        sent.iter().all(|a| a.rule_id != muted),
        "a suppressed rule was delivered"
    );
    let got: BTreeSet<String> = sent
        .iter()
        .filter(|a| !a.rule_id.starts_with("tw-baseline") && !a.rule_id.starts_with("tw-chain"))
        .map(incident_key)
        .collect();
    let want: BTreeSet<String> = batch
        .iter()
        .filter(|a| a.rule_id != muted)
        .filter(|a| !a.rule_id.starts_with("tw-baseline") && !a.rule_id.starts_with("tw-chain"))
        .map(incident_key)
        .collect();
    assert_eq!(
        got, want,
        "everything else is delivered as a batch hunt finds it"
    );
    assert!(want.len() < expected.len());
    // The baselines learned this step, saved with the checkpoints, for the next one.
    let db = rusqlite::Connection::open(store.join("_watch").join("state.sqlite")).expect("db");
    let snapshot: Vec<u8> = db
        .query_row("SELECT snapshot FROM pipeline", [], |r| r.get(0))
        .expect("pipeline state");
    let state: serde_json::Value = serde_json::from_slice(&snapshot).expect("json");
    let profiles = state["replay"]["base"]["principals"]
        .as_array()
        .map_or(0, Vec::len);
    let replayed = state["replay"]["tail"]["obs"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(
        profiles + replayed > 10,
        "{profiles} profiles, {replayed} events"
    );
}

#[test]
fn a_suppression_managed_from_the_console_applies_from_the_next_poll() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (corpus, files, batch, muted) = muted_corpus(tmp.path());
    // Without the suppression the watch would deliver it (it is above min_level).
    assert!(batch
        .iter()
        .any(|a| a.rule_id == muted && a.severity >= trailwatch_model::Severity::Low));

    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    // No suppression in the configuration; the watch is running when an admin adds one.
    let cfg = config(&store, &inbox, &jsonl, "[severity]\ncontext = false\n");
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll().expect("an empty poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let entry = trailwatch_watch::Suppression {
        rule: Some(muted.clone()),
        principal: None,
        cidr: None,
        user_agent: None,
        account: None,
        reason: "added in the console".into(),
        expires: "2099-12-31".into(),
    };
    trailwatch_watch::managed::save(&store, &[entry]).expect("save");
    copy_into(&files, &corpus, &inbox);
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let sent = delivered(&jsonl);
    assert!(!sent.is_empty());
    assert!(
        sent.iter().all(|a| a.rule_id != muted),
        "the managed suppression was not applied"
    );
    // A file that cannot be read is a problem of the poll, and the list in force stays.
    fs::write(
        trailwatch_watch::managed::path(&store),
        "[[suppressions]]\nrule = 3\n",
    )
    .expect("write");
    let r = w.poll().expect("poll");
    assert!(
        r.problems.iter().any(|p| p.contains("suppressions.toml")),
        "{:?}",
        r.problems
    );
}

/// The stratus-red-team samples: pretty-printed JSON arrays without a final newline.
fn stratus_files() -> Vec<PathBuf> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/aws/stratus-red-team");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "stratus samples under {}",
        root.display()
    );
    files
}

/// The event ids of a document holding an array of records (or `{"Records": [...]}`).
fn record_ids(text: &str) -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(text).expect("a JSON document");
    let records = v.get("Records").unwrap_or(&v);
    records
        .as_array()
        .expect("an array of records")
        .iter()
        .map(|r| r["eventID"].as_str().expect("eventID").to_string())
        .collect()
}

fn stored_ids(store: &Path) -> Vec<String> {
    Store::open_read(store)
        .expect("store")
        .event_ids()
        .expect("ids")
}

#[test]
fn json_documents_without_a_final_newline_are_read_whole_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    fs::create_dir_all(&inbox).expect("mkdir");
    let mut expected = BTreeSet::new();
    for (n, f) in stratus_files().iter().enumerate() {
        let text = fs::read_to_string(f).expect("read sample");
        assert!(
            !text.ends_with('\n'),
            "{}: the case under test",
            f.display()
        );
        expected.extend(record_ids(&text));
        fs::write(inbox.join(format!("{n:02}.json")), &text).expect("write");
    }
    // The same records' shape as CloudTrail writes it, on one line, no newline either.
    let one = fs::read_to_string(&stratus_files()[0]).expect("read");
    let records: serde_json::Value = serde_json::from_str(&one).expect("json");
    let mut first = records.as_array().expect("array")[0].clone();
    first["eventID"] = "stratus-compact-0001".into();
    let compact = serde_json::json!({ "Records": [first] }).to_string();
    expected.extend(record_ids(&compact));
    fs::write(inbox.join("compact.json"), compact).expect("write");

    let mut w = Watcher::from_config(&config(&store, &inbox, &jsonl, "")).expect("watcher");
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.events_added, expected.len() as u64);
    let r = w.poll().expect("second poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!((r.objects, r.events_added, r.alerts_new), (0, 0, 0));
    let stored = stored_ids(&store);
    assert_eq!(stored.len(), expected.len(), "each event stored once");
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), expected);
}

#[test]
fn a_json_document_written_in_two_halves_is_read_once_complete_and_again_when_rewritten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    let sample = stratus_files()
        .into_iter()
        .find(|p| p.ends_with("defense_evasion/StopCloudtrailTrail.json"))
        .expect("StopCloudtrailTrail sample");
    let text = fs::read_to_string(&sample).expect("read");
    let ids = record_ids(&text);
    // Cut inside the records, past several newlines: what a poll sees mid-write.
    let cut = text.len() / 2;
    assert!(text[..cut].matches('\n').count() > 3 && text.is_char_boundary(cut));
    let mut w = Watcher::from_config(&config(&store, &inbox, &jsonl, "")).expect("watcher");
    let path = inbox.join("trail.json");
    let mut f = fs::File::create(&path).expect("create");
    f.write_all(&text.as_bytes()[..cut]).expect("w");
    f.flush().expect("flush");
    let r = w.poll().expect("poll");
    assert!(
        r.problems.is_empty(),
        "half a document is no error: {:?}",
        r.problems
    );
    assert_eq!(
        (r.objects, r.events_added),
        (0, 0),
        "left for the next look"
    );
    f.write_all(&text.as_bytes()[cut..]).expect("w");
    f.flush().expect("flush");
    drop(f);
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!((r.objects, r.events_added), (1, ids.len() as u64));
    let alerts = r.alerts_new;
    assert!(alerts >= 1, "StopLogging alerts: {r:?}");
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty() && r.objects == 0, "{r:?}");

    // Rewritten in place with one more record: read again from its start, only the new
    // record stored, nothing alerted twice.
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let arr = v.as_array_mut().expect("array");
    let mut extra = arr[0].clone();
    extra["eventID"] = "stratus-extra-0001".into();
    arr.push(extra);
    let grown = serde_json::to_string_pretty(&v).expect("json");
    fs::write(&path, &grown).expect("rewrite");
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        (r.objects, r.events_added, r.alerts_new),
        (1, 1, 0),
        "{r:?}"
    );
    let stored = stored_ids(&store);
    assert_eq!(stored.len(), ids.len() + 1, "each event stored once");
    let sent = delivered(&jsonl);
    assert_eq!(sent.len() as u64, alerts, "{sent:?}");
}

#[test]
fn a_single_pass_alerts_expected_accounts_and_regions_that_never_delivered() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T1000Z_a.json";
    let dest = inbox.join(key);
    fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    fs::write(&dest, r#"{"Records":[]}"#).expect("write");
    fs::File::options()
        .write(true)
        .open(&dest)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .expect("set mtime");
    let cfg = config(
        &store,
        &inbox,
        &jsonl,
        r#"coverage = { max_gap = "1h", accounts = ["111122223333", "444455556666"], regions = ["us-east-1", "eu-west-1"] }"#,
    );
    // A long-running watch waits for the gap…
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    assert_eq!(w.poll().expect("poll").alerts_new, 0, "nothing is late yet");
    drop(w);
    // …a single pass does not: never delivered is the finding.
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll_once().expect("poll once");
    assert_eq!(r.alerts_new, 3, "{r:?}");
    let sent = delivered(&jsonl);
    let got: BTreeSet<(String, String)> = sent
        .iter()
        .map(|a| {
            assert_eq!(a.rule_id, COVERAGE_RULE);
            assert!(
                a.description.contains("nothing ever delivered"),
                "{}",
                a.description
            );
            (
                a.account.clone().unwrap_or_default(),
                a.region.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("111122223333", "eu-west-1"),
        ("444455556666", "us-east-1"),
        ("444455556666", "eu-west-1"),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(got, want, "the delivering region is not alerted");
    drop(w);
    // The next single pass folds into the open incidents.
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll_once().expect("poll once");
    assert_eq!((r.alerts_new, r.alerts_merged), (0, 3), "{r:?}");
    assert_eq!(delivered(&jsonl).len(), 3);
}

/// A webhook receiver that takes connections and never answers.
fn hanging_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&taken);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(conn);
        }
    });
    (addr, taken)
}

#[test]
fn a_receiver_that_hangs_never_delays_the_next_poll() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (addr, taken) = hanging_receiver();
    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    fs::create_dir_all(&inbox).expect("inbox");
    let store_key = store.with_extension("key");
    let text = format!(
        r#"
[store]
dir = {store:?}
signing_key = {store_key:?}
[watch]
poll_interval = "200ms"
min_level = "low"
[[sources]]
name = "inbox"
kind = "local"
path = {inbox:?}
[[sinks]]
name = "hook"
kind = "webhook"
url = "http://{addr}/alerts"
timeout = "60s"
"#
    );
    let cfg = Config::parse(&text).expect("config");
    let line = |user: &str, n: u32| {
        format!(
            r#"{{"eventVersion":"1.08","eventID":"22222222-0000-0000-0000-00000000000{n}","eventTime":"2026-10-01T10:0{n}:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"aws-cli","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/{user}","accountId":"111122223333","userName":"{user}"}},"recipientAccountId":"111122223333","requestParameters":{{"name":"main"}}}}"#
        ) + "\n"
    };
    fs::write(inbox.join("a.jsonl"), line("mallory", 1)).expect("write");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut w = Watcher::from_config(&cfg).expect("watcher");
            w.run(&stop);
        })
    };
    let outbox = trailwatch_watch::outbox_path(&store);
    let alerts = || {
        trailwatch_sink::Outbox::open(&outbox)
            .and_then(|o| o.list(None))
            .map_or(0, |l| l.len())
    };
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait("the first alert's delivery is attempted", &|| {
        taken.load(std::sync::atomic::Ordering::SeqCst) > 0
    });
    // The receiver holds that delivery for up to a minute; the watch goes on polling.
    let started = std::time::Instant::now();
    fs::write(inbox.join("b.jsonl"), line("eve", 2)).expect("write");
    wait("the second file is read while the receiver hangs", &|| {
        alerts() >= 2
    });
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the next poll waited {:?} for the hanging receiver",
        started.elapsed()
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    // The delivery thread ends with its hanging request (the webhook's timeout) at the latest.
    drop(runner);
}

#[test]
fn a_busy_watch_compacts_the_small_files_of_past_days_and_verify_accepts_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Aws;
    sim.days = 2;
    sim.events_per_day = 1_500;
    sim.attacks = false;
    simulate(&sim).expect("simulate");
    let files = files_under(&corpus);
    let store = tmp.path().join("store");
    let inbox = tmp.path().join("inbox");
    let jsonl = tmp.path().join("alerts.jsonl");
    let cfg = config(&store, &inbox, &jsonl, "");
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    copy_into(&files, &corpus, &inbox);
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let steps = files.len().div_ceil(7);
    assert!(steps > 20, "{steps} steps: many small commits");
    drop(w);
    let s = Store::open_read(&store).expect("store");
    let stats = s.stats().expect("stats");
    // Two days of one provider (plus at most a file for events dated the day after).
    assert!(
        stats.files <= 3,
        "{} files after {steps} commits",
        stats.files
    );
    assert_eq!(stats.events, stored_ids(&store).len() as u64);
    let report = s.verify().expect("verify");
    assert!(report.is_ok(), "{report:?}");
}
