//! The watcher over a real Azure Blob API (Azurite on loopback): hourly `PT1H.json` append
//! blobs of the simulated Activity Log, one of them appended to between polls and read
//! incrementally, a line torn across two appends, and a restart.

mod common;

use common::{expected_incidents, Azurite, AZURITE_KEY};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use trailwatch_model::Alert;
use trailwatch_sim::{simulate, Providers, SimOptions};
use trailwatch_store::Store;
use trailwatch_watch::{incident_key, Config, Watcher};

#[test]
fn appended_azure_blobs_are_read_incrementally_and_alerted_once() {
    std::env::set_var("TW_TEST_AZURITE_KEY", AZURITE_KEY);
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Azure;
    sim.days = 1;
    sim.events_per_day = 20_000;
    sim.seed = 5;
    let report = simulate(&sim).expect("simulate");
    let root = corpus.join("insights-activity-logs");
    let mut blobs: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.file_name().is_some_and(|n| n == "PT1H.json"))
        .collect();
    blobs.sort();
    assert!(blobs.len() >= 2, "{blobs:?}");
    let lines: usize = blobs
        .iter()
        .map(|p| fs::read_to_string(p).expect("read").lines().count())
        .sum();
    assert_eq!(lines as u64, report.azure.records);
    let expected = expected_incidents(&blobs);
    assert!(!expected.is_empty());

    let az = Azurite::start();
    az.python("svc.create_container('insights-activity-logs')");
    let name = |p: &PathBuf| {
        p.strip_prefix(&root)
            .expect("under")
            .to_string_lossy()
            .to_string()
    };
    // The biggest blob grows in three appends, the second ending in the middle of a line.
    let (growing_idx, _) = blobs
        .iter()
        .enumerate()
        .max_by_key(|(_, p)| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a blob");
    let growing = fs::read(&blobs[growing_idx]).expect("read");
    let cut1 = growing.len() / 3;
    let cut1 = cut1
        + growing[cut1..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("lines")
        + 1;
    let cut2 = (cut1 + growing.len()) / 2;
    assert!(growing[cut2 - 1] != b'\n' || growing[cut2] != b'\n');
    for (i, p) in blobs.iter().enumerate() {
        if i != growing_idx {
            az.append(
                "insights-activity-logs",
                &name(p),
                &fs::read(p).expect("read"),
            );
        }
    }
    let gname = name(&blobs[growing_idx]);
    az.append("insights-activity-logs", &gname, &growing[..cut1]);

    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let store_key = store.with_extension("key");
    let text = format!(
        r#"
[store]
dir = {store:?}
signing_key = {store_key:?}
[[sources]]
name = "activity"
kind = "azure"
account = "devstoreaccount1"
container = "insights-activity-logs"
endpoint = "{endpoint}"
allow_http = true
access_key_env = "TW_TEST_AZURITE_KEY"
[[sinks]]
name = "file"
kind = "jsonl"
path = {jsonl:?}
"#,
        endpoint = az.endpoint
    );
    let cfg = Config::parse(&text).expect("config");
    let growing_lines =
        |upto: usize| growing[..upto].iter().filter(|&&b| b == b'\n').count() as u64;
    let others = lines as u64 - growing_lines(growing.len());
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll().expect("poll 1");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.events_added, others + growing_lines(cut1));
    // Appended up to the middle of a line: only the whole lines are read.
    az.append("insights-activity-logs", &gname, &growing[cut1..cut2]);
    let r = w.poll().expect("poll 2");
    assert!(
        r.problems.is_empty(),
        "the torn line is held back: {:?}",
        r.problems
    );
    assert_eq!(r.events_added, growing_lines(cut2) - growing_lines(cut1));
    drop(w);
    // The rest lands while the watcher is down; a new watcher goes on from the checkpoint.
    az.append("insights-activity-logs", &gname, &growing[cut2..]);
    let mut w = Watcher::from_config(&cfg).expect("restarted");
    let r = w.poll().expect("poll 3");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(
        r.events_added,
        growing_lines(growing.len()) - growing_lines(cut2)
    );
    let r = w.poll().expect("poll 4");
    assert_eq!((r.objects, r.events_added), (0, 0));

    let stored = Store::open_read(&store)
        .expect("store")
        .event_ids()
        .expect("ids");
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(stored.len(), distinct.len());
    assert_eq!(stored.len() as u64, report.azure.records);
    let sent: Vec<Alert> = fs::read_to_string(&jsonl)
        .expect("alerts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert"))
        .collect();
    let ids: BTreeSet<&str> = sent.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), sent.len(), "an alert was sent twice");
    let got: BTreeSet<String> = sent.iter().map(incident_key).collect();
    assert_eq!(got, expected);
    // Subscriptions are read from the blob names.
    let cov = w.coverage();
    assert!(cov[0].1.iter().all(|o| !o.account.is_empty()), "{cov:?}");
}

/// Microsoft Entra ID sign-in and audit logs are watched from their own containers
/// (`insights-logs-signinlogs`, `insights-logs-auditlogs`, …) as the Activity Log is: every
/// record stored once, the incidents a hunt over the same blobs finds (password spraying,
/// consent, role changes …), and the tenant as the account the coverage names.
#[test]
fn entra_containers_are_watched_like_the_activity_log() {
    std::env::set_var("TW_TEST_AZURITE_KEY", AZURITE_KEY);
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Azure;
    sim.days = 2;
    sim.events_per_day = 4_000;
    sim.seed = 9;
    sim.entra = true;
    let report = simulate(&sim).expect("simulate");
    let tenant = report
        .entra_tenant
        .as_ref()
        .expect("a tenant")
        .tenant_id
        .clone();
    let mut containers: Vec<String> = fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("insights-logs-"))
        .collect();
    containers.sort();
    assert!(containers.len() >= 3, "{containers:?}");

    let az = Azurite::start();
    let mut blobs: Vec<PathBuf> = Vec::new();
    for c in &containers {
        az.python(&format!("svc.create_container('{c}')"));
        let root = corpus.join(c);
        let mut mine: Vec<PathBuf> = walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_map(Result::ok)
            .map(|e| e.into_path())
            .filter(|p| p.is_file())
            .collect();
        mine.sort();
        az.upload_tree(c, &root);
        blobs.extend(mine);
    }
    let expected = expected_incidents(&blobs);
    assert!(expected.len() >= 5, "{expected:?}");

    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let store_key = store.with_extension("key");
    let mut text = format!(
        "[store]\ndir = {store:?}\nsigning_key = {store_key:?}\n[[sinks]]\nname = \"file\"\nkind = \"jsonl\"\npath = {jsonl:?}\n"
    );
    for c in &containers {
        text.push_str(&format!(
            "[[sources]]\nname = \"{c}\"\nkind = \"azure\"\naccount = \"devstoreaccount1\"\ncontainer = \"{c}\"\nendpoint = \"{}\"\nallow_http = true\naccess_key_env = \"TW_TEST_AZURITE_KEY\"\n",
            az.endpoint
        ));
    }
    let cfg = Config::parse(&text).expect("config");
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let mut added = 0;
    for _ in 0..5 {
        let r = w.poll().expect("poll");
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        added += r.events_added;
        if r.objects == 0 {
            break;
        }
    }
    assert_eq!(added, report.entra.records);
    let stored = Store::open_read(&store)
        .expect("store")
        .event_ids()
        .expect("ids");
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(stored.len(), distinct.len());
    assert_eq!(stored.len() as u64, report.entra.records);
    let sent: Vec<Alert> = fs::read_to_string(&jsonl)
        .expect("alerts")
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert"))
        .collect();
    let got: BTreeSet<String> = sent.iter().map(incident_key).collect();
    assert_eq!(got, expected);
    let cov = w.coverage();
    assert_eq!(cov.len(), containers.len(), "{cov:?}");
    for (_, seen) in &cov {
        assert!(
            !seen.is_empty() && seen.iter().all(|o| o.account.eq_ignore_ascii_case(&tenant)),
            "{cov:?}"
        );
    }
}
