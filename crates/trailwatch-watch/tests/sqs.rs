//! The watcher driven by S3 event notifications on an SQS queue, against moto's server on
//! loopback (S3 and SQS): objects announced by the queue are read without a listing, every
//! message is deleted once its objects are checkpointed, CloudTrail's own SNS-style messages
//! are understood, and what no message announced is found by the full listing at start.

mod common;

use common::{expected_incidents, files_under, Moto};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use trailwatch_model::Alert;
use trailwatch_sim::{simulate, Providers, SimOptions};
use trailwatch_store::Store;
use trailwatch_watch::{incident_key, Config, Watcher};

/// Messages in the queue, visible or being handled.
fn queue_depth(moto: &Moto, queue_url: &str) -> u64 {
    let out = moto.boto_output(&format!(
        "a = sqs.get_queue_attributes(QueueUrl={queue_url:?}, AttributeNames=['All'])['Attributes']\n\
         print(int(a['ApproximateNumberOfMessages']) + int(a['ApproximateNumberOfMessagesNotVisible']))"
    ));
    out.trim().parse().expect("a count")
}

#[test]
fn a_bucket_announced_by_sqs_is_followed_without_listing_and_loses_nothing() {
    std::env::set_var("TW_TEST_SQS_SECRET", "testing");
    let moto = Moto::start();
    let queue_url = moto
        .boto_output(
            "s3.create_bucket(Bucket='trail')\n\
             q = sqs.create_queue(QueueName='trail-events')['QueueUrl']\n\
             arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
             s3.put_bucket_notification_configuration(Bucket='trail', NotificationConfiguration={'QueueConfigurations': [{'QueueArn': arn, 'Events': ['s3:ObjectCreated:*']}]})\n\
             print(q)",
        )
        .trim()
        .to_string();
    assert!(queue_url.starts_with("http://127.0.0.1"), "{queue_url}");

    let tmp = tempfile::tempdir().expect("tempdir");
    let corpus = tmp.path().join("corpus");
    let mut sim = SimOptions::new(&corpus);
    sim.providers = Providers::Aws;
    sim.days = 1;
    sim.events_per_day = 300;
    sim.seed = 23;
    let report = simulate(&sim).expect("simulate");
    let files = files_under(&corpus);
    assert!(files.len() >= 6, "{}", files.len());
    let keyed: Vec<(PathBuf, String)> = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&corpus).expect("under").to_string_lossy();
            (p.clone(), format!("trails/{rel}"))
        })
        .collect();
    let expected = expected_incidents(&files);
    assert!(expected.len() >= 3);
    let upload = |v: &[(PathBuf, String)]| {
        let pairs: Vec<(&Path, String)> = v.iter().map(|(p, k)| (p.as_path(), k.clone())).collect();
        moto.upload("trail", &pairs);
    };

    // The last file is held back: it arrives later, with no notification at all.
    let (announced, unannounced) = keyed.split_at(keyed.len() - 1);
    let (first, second) = announced.split_at(announced.len() / 2);
    upload(first);

    let store = tmp.path().join("store");
    let jsonl = tmp.path().join("alerts.jsonl");
    let store_key = store.with_extension("key");
    let text = format!(
        r#"
[store]
dir = {store:?}
signing_key = {store_key:?}
[[sources]]
name = "trail"
kind = "s3"
bucket = "trail"
prefix = "trails/"
region = "us-east-1"
endpoint = "{url}"
allow_http = true
access_key_id = "testing"
secret_access_key_env = "TW_TEST_SQS_SECRET"
sqs_queue_url = "{queue_url}"
full_list_interval = "1h"
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
        // Start: the full listing finds the first half; their messages are deleted.
        let r1 = w.poll().expect("poll 1");
        assert!(r1.problems.is_empty(), "{:?}", r1.problems);
        assert_eq!(r1.objects, first.len() as u64);
        assert_eq!(
            queue_depth(&moto, &queue_url),
            0,
            "messages left after poll 1"
        );

        // The second half is announced by S3 and read from the messages alone.
        upload(second);
        assert!(queue_depth(&moto, &queue_url) >= second.len() as u64);
        let r2 = w.poll().expect("poll 2");
        assert!(r2.problems.is_empty(), "{:?}", r2.problems);
        assert_eq!(r2.objects, second.len() as u64);
        assert_eq!(
            queue_depth(&moto, &queue_url),
            0,
            "messages left after poll 2"
        );

        // Notifications off: an object that lands now is not seen (no listing)…
        moto.boto(
            "s3.put_bucket_notification_configuration(Bucket='trail', NotificationConfiguration={})",
        );
        upload(unannounced);
        let r3 = w.poll().expect("poll 3");
        assert_eq!(
            r3.objects, 0,
            "the bucket was listed although a queue drives it"
        );

        // …until a CloudTrail-style SNS notification names it, wrapped in an SNS envelope.
        let key = &unannounced[0].1;
        moto.boto(&format!(
            "import json\n\
             inner = json.dumps({{'s3Bucket': 'trail', 's3ObjectKey': [{key:?}]}})\n\
             sqs.send_message(QueueUrl={queue_url:?}, MessageBody=json.dumps({{'Type': 'Notification', 'Message': inner}}))\n\
             sqs.send_message(QueueUrl={queue_url:?}, MessageBody=json.dumps({{'Event': 's3:TestEvent'}}))\n\
             sqs.send_message(QueueUrl={queue_url:?}, MessageBody='not json at all')"
        ));
        let r4 = w.poll().expect("poll 4");
        assert!(r4.problems.is_empty(), "{:?}", r4.problems);
        assert_eq!(r4.objects, 1);
        assert_eq!(
            queue_depth(&moto, &queue_url),
            0,
            "messages left after poll 4"
        );
    }

    // Another object no message names: a restart lists the bucket in full and finds only it.
    let late = tmp.path().join("late.json.gz");
    fs::copy(&unannounced[0].0, &late).expect("copy");
    let late_key = unannounced[0].1.replace(".json.gz", "_late.json.gz");
    moto.upload("trail", &[(late.as_path(), late_key)]);
    let mut w = Watcher::from_config(&cfg).expect("restarted");
    let r = w.poll().expect("poll after restart");
    assert_eq!(r.objects, 1);
    assert_eq!(
        r.alerts_new, 0,
        "a copy of stored events raised a new alert"
    );
    // The trail is finished: decide what waited for the reorder window.
    w.drain(&mut trailwatch_watch::PollReport::default())
        .expect("drain");
    drop(w);

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
}
