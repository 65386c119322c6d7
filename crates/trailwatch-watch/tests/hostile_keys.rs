//! Object keys are data (issue 15): an object an intruder puts in the log bucket under a key
//! `object_store` refuses (`..` segments, control characters, empty segments) is listed and
//! read like any other, instead of failing the whole listing and blinding the source; an
//! object that truly cannot be read is a counted problem; a source that cannot be listed at
//! all raises a coverage alert. Against moto's S3 server and Azurite, on loopback.

mod common;

use common::{files_under, Azurite, Moto, AZURITE_KEY};
use flate2::write::GzEncoder;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use trailwatch_model::{Alert, Severity};
use trailwatch_sim::{simulate, Providers, SimOptions};
use trailwatch_store::Store;
use trailwatch_watch::metrics::names;
use trailwatch_watch::{Config, Watcher, UNLISTABLE_RULE};

const ACCOUNT: &str = "111122223333";
const DAY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01";

/// A gzipped CloudTrail delivery of one `StopLogging` by `user` (a high alert of the
/// built-in rules), with event id `id`.
fn stop_logging(dir: &Path, user: &str, id: &str) -> PathBuf {
    let record = format!(
        r#"{{"eventVersion":"1.08","eventID":"{id}","eventTime":"2024-05-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"aws-cli","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::{ACCOUNT}:user/{user}","accountId":"{ACCOUNT}","userName":"{user}"}},"recipientAccountId":"{ACCOUNT}","requestParameters":{{"name":"main"}}}}"#
    );
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!(r#"{{"Records":[{record}]}}"#).as_bytes())
        .expect("gzip");
    let path = dir.join(format!("{user}.json.gz"));
    fs::write(&path, gz.finish().expect("gzip")).expect("write");
    path
}

fn sent(jsonl: &Path) -> Vec<Alert> {
    fs::read_to_string(jsonl)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("alert"))
        .collect()
}

fn s3_config(store: &Path, jsonl: &Path, url: &str, buckets: &[(&str, &str)]) -> Config {
    let store_key = store.with_extension("key");
    let mut text = format!("[store]\ndir = {store:?}\nsigning_key = {store_key:?}\n");
    for (name, bucket) in buckets {
        text.push_str(&format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"s3\"\nbucket = \"{bucket}\"\nregion = \"us-east-1\"\nendpoint = \"{url}\"\nallow_http = true\naccess_key_id = \"testing\"\nsecret_access_key_env = \"TW_TEST_S3_SECRET\"\n"
        ));
    }
    text.push_str(&format!(
        "[[sinks]]\nname = \"file\"\nkind = \"jsonl\"\npath = {jsonl:?}\n"
    ));
    Config::parse(&text).expect("config")
}

#[test]
fn s3_objects_under_hostile_keys_are_read_like_the_others_and_an_unreadable_one_is_counted() {
    std::env::set_var("TW_TEST_S3_SECRET", "testing");
    let moto = Moto::start();
    moto.create_bucket("trail");
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Aws;
    sim.days = 1;
    sim.events_per_day = 400;
    sim.seed = 3;
    let report = simulate(&sim).expect("simulate");
    let normal = files_under(&corpus);
    let pairs: Vec<(&Path, String)> = normal
        .iter()
        .map(|p| {
            let key = p.strip_prefix(&corpus).expect("under");
            (p.as_path(), key.to_string_lossy().into_owned())
        })
        .collect();
    moto.upload("trail", &pairs);
    // The intruder's objects: a `..` segment, an ESC (a terminal escape sequence), an empty
    // segment and a leading `/`; and one in an archive storage class, which S3 lists but
    // refuses to read.
    let up = |user: &str, id: &str, key: &str, extra: &str| {
        let p = stop_logging(tmp.path(), user, id);
        moto.boto(&format!(
            "s3.put_object(Bucket='trail', Key={key}, Body=open({:?}, 'rb').read(){extra})",
            p.display().to_string()
        ));
    };
    let ids = [
        "aaaaaaaa-0000-0000-0000-000000000001",
        "aaaaaaaa-0000-0000-0000-000000000002",
        "aaaaaaaa-0000-0000-0000-000000000003",
        "aaaaaaaa-0000-0000-0000-000000000004",
    ];
    up("mallory", ids[0], &format!("'{DAY}/../../x.json.gz'"), "");
    up("eve", ids[1], &format!("'{DAY}/e\\x1b[31mvil.json.gz'"), "");
    up("trudy", ids[2], &format!("'{DAY}//z.json.gz'"), "");
    up("oscar", ids[3], &format!("'/{DAY}/lead.json.gz'"), "");
    up(
        "frozen",
        "aaaaaaaa-0000-0000-0000-000000000005",
        &format!("'{DAY}/../\\x1bcold.json.gz'"),
        ", StorageClass='GLACIER'",
    );

    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let cfg = s3_config(&store, &jsonl, &moto.url, &[("trail", "trail")]);
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll().expect("poll");
    assert!(r.unlisted.is_empty(), "{r:?}");
    assert_eq!(r.objects, normal.len() as u64 + 4, "{:?}", r.problems);
    assert_eq!(r.events_added, report.aws.records + 4);
    // The one object S3 will not hand out: a problem naming the bucket and the key, escaped.
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    let p = &r.problems[0];
    assert!(
        p.contains("s3://trail/") && p.contains("cannot read"),
        "{p}"
    );
    assert!(!p.contains('\u{1b}') && p.contains("cold.json.gz"), "{p}");
    assert_eq!(
        w.metrics()
            .get(names::OBJECT_ERRORS, &[("source", "trail")]),
        1.0
    );
    let stored: BTreeSet<String> = Store::open_read(&store)
        .expect("store")
        .event_ids()
        .expect("ids")
        .into_iter()
        .collect();
    for id in ids {
        assert!(stored.contains(id), "{id} not stored");
    }
    // Detected like any other delivery: one StopLogging alert per intruder.
    let principals: BTreeSet<String> = sent(&jsonl)
        .iter()
        .filter(|a| a.actions.iter().any(|x| x.contains("StopLogging")))
        .map(|a| a.principal.clone())
        .collect();
    for user in ["mallory", "eve", "trudy", "oscar"] {
        assert!(
            principals.iter().any(|p| p.contains(user)),
            "{user}: {principals:?}"
        );
    }
    assert!(!principals.iter().any(|p| p.contains("frozen")));
    // Checkpointed under their exact keys: nothing is read again; the unreadable one is tried
    // again, and counted again.
    let r = w.poll().expect("poll 2");
    assert_eq!((r.objects, r.events_added), (0, 0), "{r:?}");
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(
        w.metrics()
            .get(names::OBJECT_ERRORS, &[("source", "trail")]),
        2.0
    );
}

#[test]
fn a_bucket_that_cannot_be_listed_raises_a_coverage_alert_and_the_others_are_read() {
    std::env::set_var("TW_TEST_S3_SECRET", "testing");
    let moto = Moto::start();
    moto.create_bucket("trail");
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = stop_logging(
        tmp.path(),
        "mallory",
        "bbbbbbbb-0000-0000-0000-000000000001",
    );
    moto.upload("trail", &[(p.as_path(), format!("{DAY}/a.json.gz"))]);
    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let cfg = s3_config(
        &store,
        &jsonl,
        &moto.url,
        &[("trail", "trail"), ("gone", "no-such-bucket")],
    );
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll().expect("poll");
    assert_eq!(r.unlisted, ["gone"], "{r:?}");
    assert_eq!(r.objects, 1, "the other source is read: {r:?}");
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("gone") && p.contains("NoSuchBucket")),
        "{:?}",
        r.problems
    );
    let alerts = sent(&jsonl);
    let cov: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.rule_id == UNLISTABLE_RULE)
        .collect();
    assert_eq!(cov.len(), 1, "{alerts:?}");
    assert_eq!(cov[0].severity, Severity::High);
    assert!(cov[0].title.contains("gone"), "{}", cov[0].title);
    assert!(cov[0].tags.iter().any(|t| t == "trailwatch.coverage"));
    assert!(cov[0].description.contains("NoSuchBucket"));
    // Still unlistable at the next poll: the same incident, not a second alert.
    let r = w.poll().expect("poll 2");
    assert_eq!(r.unlisted, ["gone"]);
    assert_eq!((r.alerts_new, r.alerts_merged), (0, 1), "{r:?}");
    let again = sent(&jsonl);
    assert_eq!(
        again
            .iter()
            .filter(|a| a.rule_id == UNLISTABLE_RULE)
            .count(),
        1
    );
}

#[test]
fn an_endpoint_that_does_not_answer_makes_the_source_unlistable() {
    std::env::set_var("TW_TEST_S3_SECRET", "testing");
    let tmp = tempfile::tempdir().expect("tempdir");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let url = format!("http://127.0.0.1:{port}");
    let cfg = s3_config(&store, &jsonl, &url, &[("trail", "trail")]);
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll().expect("poll");
    assert_eq!(r.unlisted, ["trail"], "{r:?}");
    assert_eq!(r.alerts_new, 1);
    assert!(sent(&jsonl).iter().any(|a| a.rule_id == UNLISTABLE_RULE));
}

#[test]
fn azure_blobs_named_with_dot_segments_are_read_like_the_others() {
    std::env::set_var("TW_TEST_AZURITE_KEY", AZURITE_KEY);
    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Azure;
    sim.days = 1;
    sim.events_per_day = 2_000;
    sim.seed = 7;
    let report = simulate(&sim).expect("simulate");
    let root = corpus.join("insights-activity-logs");
    let mut blobs: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.file_name().is_some_and(|n| n == "PT1H.json"))
        .collect();
    blobs.sort();
    assert!(blobs.len() >= 3, "{blobs:?}");
    let az = Azurite::start();
    az.python("svc.create_container('logs')");
    let name = |p: &PathBuf| {
        p.strip_prefix(&root)
            .expect("under")
            .to_string_lossy()
            .to_string()
    };
    // The SDK would resolve `..` away before sending: these blobs are put with plain requests,
    // their `/` encoded, under a container SAS.
    let hostile = [
        format!("{}/../../evil/PT1H.json", name(&blobs[0])),
        format!("x/./{}", name(&blobs[1])),
    ];
    let uploads: Vec<String> = blobs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let blob = hostile.get(i).cloned().unwrap_or_else(|| name(p));
            let hex: String = fs::read(p)
                .expect("read")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("({blob:?}, {hex:?})")
        })
        .collect();
    az.python(&format!(
        "import datetime, urllib.parse, urllib.request\nfrom azure.storage.blob import generate_container_sas, ContainerSasPermissions\nsas = generate_container_sas('devstoreaccount1', 'logs', account_key={AZURITE_KEY:?}, permission=ContainerSasPermissions(write=True, create=True), expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))\nfor name, hex in [{}]:\n    url = {endpoint:?} + '/logs/' + urllib.parse.quote(name, safe='') + '?' + sas\n    urllib.request.urlopen(urllib.request.Request(url, data=bytes.fromhex(hex), method='PUT', headers={{'x-ms-blob-type': 'BlockBlob'}}))",
        uploads.join(", "),
        endpoint = az.endpoint
    ));
    let store = tmp.path().join("store");
    let store_key = store.with_extension("key");
    let text = format!(
        "[store]\ndir = {store:?}\nsigning_key = {store_key:?}\n[[sources]]\nname = \"activity\"\nkind = \"azure\"\naccount = \"devstoreaccount1\"\ncontainer = \"logs\"\nendpoint = \"{}\"\nallow_http = true\naccess_key_env = \"TW_TEST_AZURITE_KEY\"\n",
        az.endpoint
    );
    let cfg = Config::parse(&text).expect("config");
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let r = w.poll().expect("poll");
    assert!(r.problems.is_empty() && r.unlisted.is_empty(), "{r:?}");
    assert_eq!(r.objects, blobs.len() as u64);
    assert_eq!(r.events_added, report.azure.records);
    let r = w.poll().expect("poll 2");
    assert_eq!((r.objects, r.events_added), (0, 0), "{r:?}");
}
