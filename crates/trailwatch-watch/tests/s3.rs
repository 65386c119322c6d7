//! The watcher over a real S3 API (moto's server on loopback): both CloudTrail key layouts,
//! objects arriving in two waves, objects that are not logs, and a restart.

mod common;

use common::{expected_incidents, files_under, Moto};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use trailwatch_model::Alert;
use trailwatch_sim::{simulate, Providers, SimOptions};
use trailwatch_store::Store;
use trailwatch_watch::{incident_key, Config, Watcher};

#[test]
fn an_s3_bucket_with_both_layouts_is_followed_and_alerted_once() {
    std::env::set_var("TW_TEST_S3_SECRET", "testing");
    let moto = Moto::start();
    moto.create_bucket("trail");
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Aws;
    sim.days = 1;
    sim.events_per_day = 2_000;
    sim.seed = 11;
    let report = simulate(&sim).expect("simulate");
    let files = files_under(&corpus);
    let accounts: BTreeSet<String> = files
        .iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&corpus).ok()?.to_string_lossy().to_string();
            rel.split('/').nth(1).map(str::to_string)
        })
        .collect();
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    let org_account = accounts.iter().next_back().cloned().unwrap_or_default();
    // One account as a plain trail, the other as an organization trail, under a prefix.
    let keyed: Vec<(PathBuf, String)> = files
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&corpus)
                .expect("under")
                .to_string_lossy()
                .to_string();
            let key = match rel.strip_prefix("AWSLogs/") {
                Some(rest) if rest.starts_with(&org_account) => {
                    format!("trails/AWSLogs/o-exampleorg1/{rest}")
                }
                _ => format!("trails/{rel}"),
            };
            (p.clone(), key)
        })
        .collect();
    let expected = expected_incidents(&files);
    assert!(expected.len() >= 3);

    let (first, second) = keyed.split_at(keyed.len() / 2);
    let refs = |v: &[(PathBuf, String)]| -> Vec<(PathBuf, String)> { v.to_vec() };
    let up = |v: Vec<(PathBuf, String)>| {
        let pairs: Vec<(&Path, String)> = v.iter().map(|(p, k)| (p.as_path(), k.clone())).collect();
        moto.upload("trail", &pairs);
    };
    up(refs(first));
    // Not logs: a digest, a note, a folder marker elsewhere.
    let junk = tmp.path().join("junk.json.gz");
    fs::copy(&files[0], &junk).expect("copy");
    let note = tmp.path().join("README.txt");
    fs::write(&note, "not a log").expect("write");
    moto.upload(
        "trail",
        &[
            (
                junk.as_path(),
                format!(
                    "trails/AWSLogs/{org_account}/CloudTrail-Digest/us-east-1/2026/10/01/d.json.gz"
                ),
            ),
            (note.as_path(), "trails/README.txt".to_string()),
            (
                junk.as_path(),
                "elsewhere/AWSLogs/999999999999/CloudTrail/us-east-1/2026/10/01/x.json.gz"
                    .to_string(),
            ),
        ],
    );

    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let store_key = store.with_extension("key");
    let text = format!(
        r#"
[store]
dir = {store:?}
signing_key = {store_key:?}
[watch]
batch_objects = 16
[[sources]]
name = "trail"
kind = "s3"
bucket = "trail"
prefix = "trails/"
region = "us-east-1"
endpoint = "{url}"
allow_http = true
access_key_id = "testing"
secret_access_key_env = "TW_TEST_S3_SECRET"
[[sinks]]
name = "file"
kind = "jsonl"
path = {jsonl:?}
"#,
        url = moto.url
    );
    let cfg = Config::parse(&text).expect("config");
    {
        let mut w = Watcher::from_config(&cfg).expect("watcher");
        let r1 = w.poll().expect("poll 1");
        assert_eq!(r1.objects, first.len() as u64, "{:?}", r1.problems);
        assert!(r1.problems.is_empty(), "{:?}", r1.problems);
        up(refs(second));
        let r2 = w.poll().expect("poll 2");
        assert_eq!(r2.objects, second.len() as u64);
        let r3 = w.poll().expect("poll 3");
        assert_eq!(r3.objects, 0);
        // Every account and region of both layouts is reported.
        let cov = w.coverage();
        let seen: BTreeSet<String> = cov[0].1.iter().map(|o| o.account.clone()).collect();
        assert_eq!(seen, accounts);
        assert!(cov[0].1.iter().all(|o| !o.region.is_empty()));
        // The trail is finished: decide what waited for the reorder window.
        w.drain(&mut trailwatch_watch::PollReport::default())
            .expect("drain");
    }
    let sent: Vec<Alert> = fs::read_to_string(&jsonl)
        .expect("alerts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert"))
        .collect();
    let ids: BTreeSet<&str> = sent.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), sent.len(), "an alert was sent twice");
    let got: BTreeSet<String> = sent.iter().map(incident_key).collect();
    assert_eq!(got, expected);
    let stored = Store::open_read(&store)
        .expect("store")
        .event_ids()
        .expect("ids");
    assert_eq!(stored.len() as u64, report.aws.records);

    // Restarted: nothing is read or sent again.
    let mut w = Watcher::from_config(&cfg).expect("restarted");
    let r = w.poll().expect("poll");
    assert_eq!((r.objects, r.alerts_new, r.delivery.sent), (0, 0, 0));
}

/// `[posture]`: the watch runs the logging set-up checks of `trailwatch posture aws` against
/// the account (moto's server) on its schedule, and a check that passed and now fails — the
/// trail stopped — is an alert through the sinks, once per regression: not again while it
/// stays failed, not when it passes again, and anew when it fails a second time.
#[test]
fn the_watch_checks_the_trail_on_a_schedule_and_alerts_a_check_that_stops_passing() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_REGION", "us-east-1");
    let moto = Moto::start();
    moto.boto(
        "s3.create_bucket(Bucket='org-trail-logs')\nct = boto3.client('cloudtrail', **kw)\nct.create_trail(Name='org', S3BucketName='org-trail-logs', IsMultiRegionTrail=True, EnableLogFileValidation=True, IncludeGlobalServiceEvents=True)\nct.start_logging(Name='org')",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let inbox = tmp.path().join("inbox");
    fs::create_dir_all(&inbox).expect("inbox");
    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let store_key = store.with_extension("key");
    let text = format!(
        r#"
[store]
dir = {store:?}
signing_key = {store_key:?}
[[sources]]
name = "inbox"
kind = "local"
path = {inbox:?}
[[sinks]]
name = "file"
kind = "jsonl"
path = {jsonl:?}
[posture]
every = "1s"
[posture.aws]
regions = ["us-east-1"]
endpoint = "{url}"
"#,
        url = moto.url
    );
    let cfg = Config::parse(&text).expect("config");
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let posture_alerts = || -> Vec<Alert> {
        fs::read_to_string(&jsonl)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Alert>(l).expect("alert"))
            .filter(|a| a.rule_id == trailwatch_watch::posture::POSTURE_RULE)
            .collect()
    };
    let poll_after_a_second = |w: &mut Watcher| {
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        let r = w.poll().expect("poll");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        r
    };
    // First run: the baseline of every check; failures already there are not regressions.
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.posture_checks >= 10, "{r:?}");
    assert!(posture_alerts().is_empty(), "{:?}", posture_alerts());
    // Not due yet: nothing runs.
    assert_eq!(w.poll().expect("poll").posture_checks, 0);
    moto.boto("boto3.client('cloudtrail', **kw).stop_logging(Name='org')");
    poll_after_a_second(&mut w);
    let alerts = posture_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(
        a.actions,
        vec!["aws.cloudtrail.logging".to_string()],
        "{a:#?}"
    );
    assert!(a.resources[0].contains("trail/org"), "{a:#?}");
    assert!(
        a.description.contains("start-logging"),
        "the fix is named: {a:#?}"
    );
    // Still failing: no second alert.
    poll_after_a_second(&mut w);
    assert_eq!(posture_alerts().len(), 1);
    // Fixed, then stopped again: a new incident.
    moto.boto("boto3.client('cloudtrail', **kw).start_logging(Name='org')");
    poll_after_a_second(&mut w);
    assert_eq!(posture_alerts().len(), 1);
    moto.boto("boto3.client('cloudtrail', **kw).stop_logging(Name='org')");
    poll_after_a_second(&mut w);
    let alerts = posture_alerts();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_ne!(alerts[0].id, alerts[1].id);
}
