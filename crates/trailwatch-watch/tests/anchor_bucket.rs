//! The store's signed heads written to an S3 bucket with Object Lock (`[store]
//! anchor_bucket`), against moto's server: a head is created only if absent, and `watch`
//! writes each step's head once, retrying a failed write on its next poll.

mod common;

use std::fs;
use std::path::PathBuf;

use common::Moto;
use trailwatch_ledger::{generate_signing_key, store_id, Anchor, Head};
use trailwatch_watch::anchor_bucket::{AnchorBucketConfig, LockMode, Published};
use trailwatch_watch::{Config, Watcher};

fn credentials() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
}

fn stratus(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/aws/stratus-red-team")
        .join(rel)
}

fn config(moto: &Moto, bucket: &str) -> AnchorBucketConfig {
    AnchorBucketConfig {
        url: format!("s3://{bucket}/heads"),
        endpoint: Some(moto.url.clone()),
        region: Some("us-east-1".into()),
        allow_http: true,
        lock_mode: LockMode::Governance,
        lock_days: 2,
    }
}

#[test]
fn a_published_head_is_never_overwritten() {
    credentials();
    let moto = Moto::start();
    moto.boto("s3.create_bucket(Bucket='locked', ObjectLockEnabledForBucket=True)");
    let bucket = config(&moto, "locked").build().expect("client");
    let key = generate_signing_key().expect("key");
    let id = store_id(&key.verifying_key());
    let head = Head {
        seq: 7,
        hash: "ab".repeat(32),
    };
    let first = Anchor::sign(&head, &key);
    let url = format!("s3://locked/heads/{id}/00000000000000000007-abababababababab.json");
    assert_eq!(
        bucket.publish(&id, &first).expect("publish"),
        Published::New(url.clone())
    );
    // The same head signed again later: the object exists, it is left as it was.
    let mut again = first.clone();
    again.at = "2030-01-01T00:00:00Z".into();
    assert_eq!(
        bucket.publish(&id, &again).expect("publish"),
        Published::AlreadyThere(url)
    );
    let read = bucket.read(&id).expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].1.as_ref().expect("an anchor"), &first);
    let mode = moto.boto_output(&format!(
        "print(s3.head_object(Bucket='locked', Key={:?})['ObjectLockMode'])",
        read[0].0
    ));
    assert_eq!(mode.trim(), "GOVERNANCE");
    // Another store's prefix holds none of them.
    assert!(bucket.read("other").expect("read").is_empty());
    // A bucket without Object Lock refuses the lock: an error, not an unlocked head.
    moto.boto("s3.create_bucket(Bucket='plain')");
    let plain = config(&moto, "plain").build().expect("client");
    let e = plain.publish(&id, &first).expect_err("no Object Lock");
    assert!(e.to_string().contains("ObjectLockConfiguration"), "{e}");
    assert!(plain.read(&id).expect("read").is_empty());
}

#[test]
fn watch_writes_each_head_once_and_retries_a_failed_write() {
    credentials();
    let moto = Moto::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (store, inbox) = (tmp.path().join("store"), tmp.path().join("inbox"));
    let (key, anchors) = (tmp.path().join("k.key"), tmp.path().join("anchors.jsonl"));
    fs::create_dir_all(&inbox).expect("inbox");
    let text = format!(
        "[store]\ndir = {store:?}\nsigning_key = {key:?}\nanchors = {anchors:?}\n\
         anchor_bucket = \"s3://later/heads\"\nanchor_endpoint = {:?}\nanchor_allow_http = true\n\
         [[sources]]\nname = \"inbox\"\nkind = \"local\"\npath = {inbox:?}\n",
        moto.url
    );
    let cfg = Config::parse(&text).expect("config");
    let bad = text.replace("s3://later/heads", "s3://later/../heads");
    assert!(Config::parse(&bad).is_err(), "a prefix with .. is refused");
    let bad = text.replace(
        &format!("anchors = {anchors:?}"),
        "anchors = \"s3://later/a\"",
    );
    let e = Config::parse(&bad).expect_err("an S3 URL as the anchor file");
    assert!(e.contains("anchor_bucket"), "{e}");
    let mut w = Watcher::from_config(&cfg).expect("watcher");
    let bucket = config(&moto, "later").build().expect("client");
    let files = [
        "exfiltration/ExfiltrateAMIBySharingIt.json",
        "discovery/DownloadEC2InstanceUserData.json",
    ];
    fs::copy(stratus(files[0]), inbox.join("0.json")).expect("copy");
    // No bucket yet: the step is stored, the head is in the file, the write waits.
    assert_eq!(w.poll().expect("poll").objects, 1);
    moto.boto("s3.create_bucket(Bucket='later', ObjectLockEnabledForBucket=True)");
    let public = trailwatch_store::Store::open_read(&store)
        .expect("store")
        .ledger()
        .public_key();
    let id = store_id(&public);
    assert!(bucket.read(&id).expect("read").is_empty());
    assert_eq!(w.poll().expect("an empty poll").objects, 0);
    assert_eq!(bucket.read(&id).expect("read").len(), 1, "retried");
    fs::copy(stratus(files[1]), inbox.join("1.json")).expect("copy");
    assert_eq!(w.poll().expect("poll").objects, 1);
    assert_eq!(w.poll().expect("an empty poll").objects, 0);
    drop(w);
    let in_bucket: Vec<Anchor> = bucket
        .read(&id)
        .expect("read")
        .into_iter()
        .map(|(_, a)| a.expect("an anchor"))
        .collect();
    let in_file: Vec<Anchor> = fs::read_to_string(&anchors)
        .expect("anchor file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("anchor"))
        .collect();
    assert_eq!(in_file.len(), 2);
    assert_eq!(in_bucket, in_file, "each head once, the same as the file");
}
