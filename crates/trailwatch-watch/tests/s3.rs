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
