//! Signed heads published to an S3 bucket with Object Lock (issue 18, external anchors), end
//! to end with the real binary against moto's server (PyPI `moto[server]`, installed by
//! `.ci/test`; this test fails, it does not skip, without it): each writing operation's head
//! is its own locked object that the writer's credentials cannot delete, and
//! `verify --anchors s3://…` checks the store against them as against the anchor file.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trailwatch_ledger::Link;

// moto's server, shared with the watch crate's own tests.
#[path = "../../trailwatch-watch/tests/common/mod.rs"]
mod watch_common;
use watch_common::Moto;

const BUCKET: &str = "audit-anchors";
const PREFIX: &str = "trailwatch/heads";

/// Runs a Python snippet with boto3's `s3` client pointed at moto; its stdout is JSON.
fn boto(moto: &Moto, code: &str) -> Value {
    let prelude = format!(
            "import boto3, json, datetime\ns3 = boto3.client('s3', endpoint_url={:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n",
            moto.url
        );
    let out = Command::new("python3")
        .arg("-c")
        .arg(prelude + code)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stratus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/aws/stratus-red-team")
        .join(rel)
}

/// A home (the key and anchor file go to its configuration directory), a store in it and a
/// configuration publishing heads to `bucket` on moto.
struct Home {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Home {
    fn new(moto: &Moto, bucket: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("trailwatch.toml");
        let text = format!(
            "[store]\ndir = {:?}\nanchor_bucket = \"s3://{bucket}/{PREFIX}\"\nanchor_endpoint = {:?}\nanchor_region = \"us-east-1\"\nanchor_allow_http = true\nanchor_lock_days = 30\n",
            dir.path().join("store"),
            moto.url
        );
        fs::write(&config, text).unwrap();
        Home { dir, config }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    fn tw(&self, code: i32, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("TRAILWATCH_STORE")
            .args(args)
            .args(["--config", self.config.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "trailwatch {args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn ingest(&self, input: &str) -> String {
        let out = self.tw(0, &["ingest", stratus(input).to_str().unwrap()]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// The lines of the anchor file next to the key.
    fn anchor_lines(&self) -> Vec<String> {
        let keys = self.dir.path().join("config/trailwatch/keys");
        let found: Vec<PathBuf> = fs::read_dir(keys)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".anchors.jsonl"))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        let text = fs::read_to_string(&found[0]).unwrap();
        text.lines().map(String::from).collect()
    }
}

fn create_locked_bucket(moto: &Moto) {
    boto(
        moto,
        &format!(
            "s3.create_bucket(Bucket={BUCKET:?}, ObjectLockEnabledForBucket=True)\nprint('{{}}')"
        ),
    );
}

/// Every head object under the prefix: key, body, lock mode, days left, versions.
fn heads(moto: &Moto) -> Vec<Value> {
    let v = boto(
        moto,
        &format!(
            r#"out = []
for o in s3.list_objects_v2(Bucket={BUCKET:?}, Prefix={PREFIX:?}).get('Contents', []):
    h = s3.head_object(Bucket={BUCKET:?}, Key=o['Key'])
    body = s3.get_object(Bucket={BUCKET:?}, Key=o['Key'])['Body'].read().decode()
    until = h.get('ObjectLockRetainUntilDate')
    days = (until - datetime.datetime.now(datetime.timezone.utc)).days if until else None
    out.append(dict(key=o['Key'], body=body, mode=h.get('ObjectLockMode'), days=days, version=h.get('VersionId')))
print(json.dumps(out))"#
        ),
    );
    v.as_array().unwrap().clone()
}

#[test]
fn heads_are_locked_objects_and_verify_reads_them_back() {
    let moto = Moto::start();
    create_locked_bucket(&moto);
    let home = Home::new(&moto, BUCKET);
    let first = home.ingest("exfiltration");
    assert!(
        first.contains(&format!("and s3://{BUCKET}/{PREFIX}/")),
        "{first}"
    );
    home.ingest("credential_access");

    let heads = heads(&moto);
    let local = home.anchor_lines();
    assert_eq!(
        heads.len(),
        2,
        "one object per writing operation: {heads:?}"
    );
    let bodies: Vec<&str> = heads.iter().map(|h| h["body"].as_str().unwrap()).collect();
    assert_eq!(
        bodies, local,
        "the same signed heads as the anchor file, in seq order"
    );
    for h in &heads {
        let key = h["key"].as_str().unwrap();
        let a: Value = serde_json::from_str(h["body"].as_str().unwrap()).unwrap();
        let name = format!("{:020}-", a["seq"].as_u64().unwrap());
        assert!(key.contains(&name) && key.ends_with(".json"), "{key}");
        assert_eq!(h["mode"], "GOVERNANCE", "{h}");
        let days = h["days"].as_i64().unwrap();
        assert!((28..=30).contains(&days), "retained 30 days: {h}");
    }

    // The writer's credentials cannot take a head back: deleting its version is refused.
    let refused = boto(
        &moto,
        &format!(
            r#"import botocore
try:
    s3.delete_object(Bucket={BUCKET:?}, Key={:?}, VersionId={:?})
    print(json.dumps(dict(refused=False)))
except botocore.exceptions.ClientError as e:
    print(json.dumps(dict(refused=True, code=e.response['Error']['Code'])))"#,
            heads[1]["key"].as_str().unwrap(),
            heads[1]["version"].as_str().unwrap()
        ),
    );
    assert_eq!(refused["refused"], true, "{refused}");
    assert_eq!(refused["code"], "AccessDenied", "{refused}");
    assert_eq!(heads.len(), self::heads(&moto).len());

    let url = format!("s3://{BUCKET}/{PREFIX}");
    let out = home.tw(0, &["verify", "--anchors", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("continues 2 published heads"), "{stdout}");

    // The newest file cut with the ledger's tail: nothing inside the store shows it.
    let store = home.store();
    let ledger = store.join("_ledger/ledger.jsonl");
    let mut lines: Vec<String> = fs::read_to_string(&ledger)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let last = Link::parse(&lines.pop().unwrap()).unwrap();
    fs::remove_file(store.join(last.path.unwrap())).unwrap();
    fs::write(&ledger, lines.join("\n") + "\n").unwrap();
    let want = format!(
        "truncated: the ledger ends at link {}, but link {} was published as its head",
        last.seq - 1,
        last.seq
    );
    let out = home.tw(1, &["verify", "--anchors", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&want), "{stdout}");
    // The configuration's bucket is what a plain `verify --config` checks against.
    let out = home.tw(1, &["verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&want), "{stdout}");

    // An object planted under the prefix that is no head is named by its key.
    let id = heads[0]["key"].as_str().unwrap().split('/').nth(2).unwrap();
    let planted = format!("{PREFIX}/{id}/99999999999999999999-planted.json");
    boto(
        &moto,
        &format!(
            "s3.put_object(Bucket={BUCKET:?}, Key={planted:?}, Body=b'not json')\nprint('{{}}')"
        ),
    );
    let out = home.tw(1, &["verify", "--anchors", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("anchors line 3: not an anchor ({planted}: ")),
        "{stdout}"
    );
}

/// A bucket that cannot take the head: the operation's change stands, the head is in the
/// anchor file, the failure is on stderr; verify of an empty prefix is an error, not a pass.
#[test]
fn a_failed_publication_keeps_the_head_and_is_reported() {
    let moto = Moto::start();
    let home = Home::new(&moto, "no-such-bucket");
    let stderr = home.ingest("exfiltration");
    assert!(
        stderr.contains("warning: publishing head") && stderr.contains("s3://no-such-bucket/"),
        "{stderr}"
    );
    assert_eq!(home.anchor_lines().len(), 1);
    let out = home.tw(
        1,
        &[
            "verify",
            "--anchors",
            &format!("s3://no-such-bucket/{PREFIX}"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-bucket"), "{stderr}");
}
