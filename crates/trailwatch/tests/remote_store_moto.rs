//! The store on object storage (issue 18, part 4), end to end with the real binary against
//! moto's S3 server (PyPI `moto[server]`, installed by `.ci/test`; missing, the test fails):
//! `--store s3://bucket/prefix` ingests exactly once, answers `sql` as a local store of the
//! same files does, and `verify` over the URL reports what verify of a local copy reports;
//! on a bucket with Object Lock every data file and ledger segment is locked, S3 refuses to
//! delete them, and retention and compaction leave them superseded (each event read once,
//! verify accepting and listing them); a second writer is refused while the lease is held.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../trailwatch-watch/tests/common/mod.rs"]
mod watch_common;
use watch_common::Moto;

fn stratus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/aws/stratus-red-team")
        .join(rel)
}

/// Runs Python with boto3's `s3` client on moto; its stdout parsed as JSON.
fn boto(moto: &Moto, code: &str) -> Value {
    let out = moto.boto_output(&format!("import json, datetime\n{code}"));
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A user's home on one machine: the key, the anchors and the working copies go under it.
struct Home {
    dir: tempfile::TempDir,
    moto_url: String,
    config: Option<PathBuf>,
}

impl Home {
    fn new(moto: &Moto) -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            moto_url: moto.url.clone(),
            config: None,
        }
    }

    /// Another machine of the same user: the same key (copied), nothing else.
    fn another_machine(&self) -> Home {
        let other = Home {
            dir: tempfile::tempdir().unwrap(),
            moto_url: self.moto_url.clone(),
            config: self.config.clone(),
        };
        let keys = self.dir.path().join("config/trailwatch/keys");
        let to = other.dir.path().join("config/trailwatch/keys");
        fs::create_dir_all(&to).unwrap();
        for e in fs::read_dir(keys).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "key") {
                let dest = to.join(p.file_name().unwrap());
                fs::copy(&p, &dest).unwrap();
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&dest, fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        other
    }

    fn with_config(mut self, text: &str) -> Home {
        let path = self.dir.path().join("trailwatch.toml");
        fs::write(&path, text).unwrap();
        self.config = Some(path);
        self
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn tw(&self, code: i32, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailwatch"));
        cmd.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_CACHE_HOME", self.cache())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.moto_url)
            .env("AWS_ALLOW_HTTP", "true")
            .env_remove("TRAILWATCH_STORE")
            .args(args);
        if let Some(c) = &self.config {
            if !["sql", "search", "stats"].contains(&args[0]) {
                cmd.args(["--config", c.to_str().unwrap()]);
            }
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "trailwatch {args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn stderr(&self, code: i32, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.tw(code, args).stderr).into_owned()
    }

    fn stdout(&self, code: i32, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.tw(code, args).stdout).into_owned()
    }
}

const COUNTS: &str = "SELECT provider, dt, action, count(*) AS n, count(DISTINCT event_id) AS ids FROM events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            fs::create_dir_all(&dest).unwrap();
        } else {
            fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// The object keys under `prefix` in `bucket`.
fn keys(moto: &Moto, bucket: &str, prefix: &str) -> Vec<String> {
    let v = boto(
        moto,
        &format!(
            "print(json.dumps([o['Key'] for o in s3.list_objects_v2(Bucket={bucket:?}, Prefix={prefix:?}).get('Contents', [])]))"
        ),
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn s3_store_ingests_exactly_once_answers_and_verifies_as_a_local_store() {
    let moto = Moto::start();
    moto.create_bucket("audit");
    let url = "s3://audit/org/trail";
    let home = Home::new(&moto);
    let data = stratus("");
    let data = data.to_str().unwrap();
    let first = home.stderr(0, &["ingest", data, "--store", url]);
    assert!(first.contains("250 new events stored"), "{first}");
    assert!(
        first.contains("pushed to s3://audit/org/trail: 8 objects"),
        "{first}"
    );
    // Again, and again from another machine with an empty working copy: nothing new.
    let again = home.stderr(0, &["ingest", data, "--store", url]);
    assert!(again.contains("0 new events stored"), "{again}");
    let other = home.another_machine();
    let there = other.stderr(0, &["ingest", data, "--store", url]);
    assert!(there.contains("5 files fetched"), "{there}");
    assert!(there.contains("0 new events stored"), "{there}");
    let objects = keys(&moto, "audit", "org/trail/");
    assert!(
        !objects.iter().any(|k| k.ends_with("_lease")),
        "{objects:?}"
    );
    let segments: Vec<_> = objects
        .iter()
        .filter(|k| k.contains("_ledger/segments/"))
        .collect();
    assert_eq!(segments.len(), 1, "{objects:?}");

    // The same files in a local store: the same answers.
    let local = home.dir.path().join("local-store");
    home.tw(0, &["ingest", data, "--store", local.to_str().unwrap()]);
    let remote_counts = home.stdout(0, &["sql", COUNTS, "--store", url, "--format", "csv"]);
    let local_counts = home.stdout(
        0,
        &[
            "sql",
            COUNTS,
            "--store",
            local.to_str().unwrap(),
            "--format",
            "csv",
        ],
    );
    assert_eq!(remote_counts, local_counts);
    assert!(remote_counts.lines().count() > 20, "{remote_counts}");
    let stats = home.stdout(0, &["stats", "--store", url]);
    assert!(
        stats.contains(
            "storage: s3://audit/org/trail: NOT write-once (Object Lock not enabled on the bucket)"
        ),
        "{stats}"
    );
    let total = home.stdout(
        0,
        &[
            "sql",
            "SELECT count(*) AS n FROM events",
            "--store",
            url,
            "--format",
            "csv",
        ],
    );
    assert_eq!(total.replace("\r\n", "\n").trim(), "n\n250");

    // search and hunt --store read it as they read a local store.
    let local_s = local.to_str().unwrap();
    for args in [
        vec![
            "search", "--action", "Get*", "--format", "csv", "--limit", "1000",
        ],
        vec![
            "hunt",
            "--since",
            "2024-01-01",
            "--format",
            "jsonl",
            "--min-level",
            "low",
        ],
    ] {
        let mut on_s3 = args.clone();
        on_s3.extend(["--store", url]);
        let mut on_disk = args.clone();
        on_disk.extend(["--store", local_s]);
        let (a, b) = (home.stdout(0, &on_s3), home.stdout(0, &on_disk));
        assert_eq!(a, b, "{args:?}");
        assert!(a.lines().count() > 3, "{args:?}: {a}");
    }

    // verify over s3:// says what verify of a copy of the store says, intact and tampered.
    let copy = home.dir.path().join("copy");
    let working = home.cache().join("trailwatch/stores/s3___audit_org_trail");
    copy_tree(&working, &copy);
    let copy_s = copy.to_str().unwrap();
    let ok_remote = home.stdout(0, &["verify", "--store", url]);
    let ok_local = home.stdout(0, &["verify", "--store", copy_s]);
    assert_eq!(ok_remote, ok_local);
    assert!(ok_remote.starts_with("ok: 5 links"), "{ok_remote}");

    let files: Vec<String> = objects
        .iter()
        .filter(|k| k.ends_with(".parquet"))
        .map(|k| k.trim_start_matches("org/trail/").to_string())
        .collect();
    let (altered, missing) = (&files[0], &files[1]);
    let planted = altered.replace("part-00000001", "part-00000099");
    let mut bytes = fs::read(copy.join(altered)).unwrap();
    bytes[100] ^= 0xff;
    fs::write(copy.join(altered), &bytes).unwrap();
    fs::copy(copy.join(missing), copy.join(&planted)).unwrap();
    fs::remove_file(copy.join(missing)).unwrap();
    let altered_file = home.dir.path().join("altered.parquet");
    fs::write(&altered_file, &bytes).unwrap();
    boto(
        &moto,
        &format!(
            "s3.upload_file({:?}, 'audit', 'org/trail/{altered}')\ns3.copy_object(Bucket='audit', Key='org/trail/{planted}', CopySource='audit/org/trail/{missing}')\ns3.delete_object(Bucket='audit', Key='org/trail/{missing}')\nprint('{{}}')",
            altered_file.to_str().unwrap()
        ),
    );
    let bad_remote = home.stdout(1, &["verify", "--store", url]);
    let bad_local = home.stdout(1, &["verify", "--store", copy_s]);
    assert_eq!(bad_remote, bad_local);
    for named in [
        format!("{altered}: modified"),
        format!("{missing}: missing"),
        format!("{planted}: planted"),
    ] {
        assert!(bad_remote.contains(&named), "{named}\n{bad_remote}");
    }
    // A reader pulls only what the ledger vouches for, and says what it could not (from an
    // empty working copy: a copy's files are immutable, kept when their size is right).
    let pulled = home.another_machine().tw(
        0,
        &[
            "sql",
            "SELECT count(*) AS n FROM events",
            "--store",
            url,
            "--format",
            "csv",
        ],
    );
    let err = String::from_utf8_lossy(&pulled.stderr);
    assert!(
        err.contains(&format!("{altered}: not what the ledger committed")),
        "{err}"
    );
    assert!(err.contains(&format!("{missing}: no such object")), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&pulled.stdout)
            .replace("\r\n", "\n")
            .trim(),
        "n\n166",
        "{err}"
    );
}

/// `provider,dt,n` of the store at `url`, as CSV lines.
fn per_day(home: &Home, url: &str) -> Vec<(String, u64)> {
    let csv = home.stdout(
        0,
        &[
            "sql",
            "SELECT dt, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
            "--store",
            url,
            "--format",
            "csv",
        ],
    );
    csv.lines()
        .skip(1)
        .map(|l| {
            let (dt, n) = l.trim().split_once(',').unwrap();
            (dt.to_string(), n.parse().unwrap())
        })
        .collect()
}

/// `[mode, days left]` of an object's Object Lock retention, and whether S3 refuses to delete
/// its current version.
fn lock_of(moto: &Moto, bucket: &str, key: &str) -> (String, i64, bool) {
    let v = boto(
        moto,
        &format!(
            r#"h = s3.head_object(Bucket={bucket:?}, Key={key:?})
days = (h['ObjectLockRetainUntilDate'] - datetime.datetime.now(datetime.timezone.utc)).total_seconds() / 86400
try:
    s3.delete_object(Bucket={bucket:?}, Key={key:?}, VersionId=h['VersionId'])
    refused = False
except s3.exceptions.ClientError as e:
    refused = e.response['Error']['Code'] == 'AccessDenied'
print(json.dumps([h['ObjectLockMode'], round(days), refused]))"#
        ),
    );
    (
        v[0].as_str().unwrap().to_string(),
        v[1].as_i64().unwrap(),
        v[2].as_bool().unwrap(),
    )
}

#[test]
fn object_lock_keeps_what_compaction_and_retention_supersede_and_events_are_read_once() {
    let moto = Moto::start();
    boto(
        &moto,
        "s3.create_bucket(Bucket='locked', ObjectLockEnabledForBucket=True)\nprint('{}')",
    );
    let url = "s3://locked/tw";
    let home = Home::new(&moto).with_config(
        "[store]\ndir = \"s3://locked/tw\"\nobject_lock_mode = \"GOVERNANCE\"\nobject_lock_days = 2\n",
    );
    for part in [
        "exfiltration",
        "credential_access",
        "discovery",
        "execution",
        "impact",
    ] {
        home.tw(0, &["ingest", stratus(part).to_str().unwrap()]);
    }
    let before = per_day(&home, url);
    let stats = home.stdout(0, &["stats", "--store", url]);
    assert!(
        stats.contains("storage: s3://locked/tw: write-once (Object Lock enabled"),
        "{stats}"
    );
    let total: u64 = before.iter().map(|(_, n)| n).sum();
    // Every data file and ledger segment is locked, and S3 refuses to delete it.
    let objects = keys(&moto, "locked", "tw/");
    let parquet: Vec<&String> = objects.iter().filter(|k| k.ends_with(".parquet")).collect();
    let segment = objects
        .iter()
        .find(|k| k.contains("_ledger/segments/"))
        .unwrap();
    for key in [parquet[0], segment] {
        assert_eq!(
            lock_of(&moto, "locked", key),
            ("GOVERNANCE".into(), 2, true),
            "{key}"
        );
    }

    // Compaction writes the merged files; the originals stay, superseded.
    let out = home.tw(0, &["compact", "--min-files", "2", "--now", "2026-01-01"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("deletion refused by the storage, kept"),
        "{err}"
    );
    let after = keys(&moto, "locked", "tw/");
    for key in &parquet {
        assert!(after.contains(key), "{key} gone: {after:?}");
    }
    assert!(after.iter().filter(|k| k.ends_with(".parquet")).count() > parquet.len());
    assert_eq!(
        per_day(&home, url),
        before,
        "each event once after compaction"
    );
    let verified = home.stdout(0, &["verify"]);
    assert!(
        verified.contains("superseded by compaction at link"),
        "{verified}"
    );

    // Retention below the default floor is refused; with a lower floor it removes the old
    // days from the ledger, S3 keeps their locked objects, and they are read no more.
    home.tw(1, &["retention", "--keep", "1d", "--now", "2024-08-02"]);
    home.tw(
        0,
        &[
            "retention",
            "--set-floor",
            "1d",
            "--reason",
            "test of a locked bucket",
        ],
    );
    let out = home.tw(0, &["retention", "--keep", "1d", "--now", "2024-08-02"]);
    let said = String::from_utf8_lossy(&out.stdout);
    let cutoff = said.split("keeping days from ").nth(1).unwrap()[..10].to_string();
    let kept: Vec<(String, u64)> = before
        .iter()
        .filter(|(d, _)| *d >= cutoff)
        .cloned()
        .collect();
    assert!(kept.len() < before.len() && !kept.is_empty(), "{said}");
    assert_eq!(per_day(&home, url), kept);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deletion refused by the storage"), "{err}");
    for key in &parquet {
        assert!(keys(&moto, "locked", key).len() == 1, "{key} gone");
    }
    let verified = home.stdout(0, &["verify"]);
    assert!(
        verified.contains("superseded by retention at link"),
        "{verified}"
    );
    assert!(
        verified.starts_with("ok: ") || verified.contains("\nok: "),
        "{verified}"
    );
    assert!(total > kept.iter().map(|(_, n)| n).sum::<u64>());
}

#[test]
fn a_second_writer_is_refused_while_the_lease_is_held() {
    let moto = Moto::start();
    moto.create_bucket("leased");
    let url = "s3://leased/tw";
    let home = Home::new(&moto);
    let exfil = stratus("exfiltration");
    let first = home.stderr(0, &["ingest", exfil.to_str().unwrap(), "--store", url]);
    let stored: u64 = first
        .split(" new events stored")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(stored > 0, "{first}");
    let lease = |minutes: i64| {
        boto(
            &moto,
            &format!(
                r#"now = datetime.datetime.now(datetime.timezone.utc)
f = lambda t: t.strftime('%Y-%m-%dT%H:%M:%SZ')
body = dict(owner='ci-runner-7:4242:1', acquired=f(now), expires=f(now + datetime.timedelta(minutes={minutes})))
s3.put_object(Bucket='leased', Key='tw/_lease', Body=json.dumps(body).encode())
print(json.dumps(body))"#
            ),
        )
    };
    let held = lease(30);
    let other = stratus("impact");
    for args in [
        vec!["ingest", other.to_str().unwrap(), "--store", url],
        vec!["retention", "--set-floor", "400d", "--store", url],
    ] {
        let err = home.stderr(1, &args);
        assert!(
            err.contains("another writer holds the store's lease (ci-runner-7:4242:1")
                && err.contains(held["expires"].as_str().unwrap()),
            "{err}"
        );
    }
    let segments = keys(&moto, "leased", "tw/_ledger/segments/");
    assert_eq!(
        segments.len(),
        1,
        "nothing written under another's lease: {segments:?}"
    );
    // Readers need no lease.
    let read: u64 = per_day(&home, url).iter().map(|(_, n)| n).sum();
    assert_eq!(read, stored);
    // An expired lease (its writer died) is taken over, and given back at the end.
    lease(-1);
    let err = home.stderr(0, &["ingest", other.to_str().unwrap(), "--store", url]);
    assert!(
        err.contains("took over the expired lease of ci-runner-7:4242:1"),
        "{err}"
    );
    assert!(keys(&moto, "leased", "tw/_lease").is_empty());
    assert_eq!(keys(&moto, "leased", "tw/_ledger/segments/").len(), 2);
}

#[test]
fn watch_writes_a_remote_store_and_keeps_its_state_in_the_state_dir() {
    let moto = Moto::start();
    moto.create_bucket("watched");
    let url = "s3://watched/tw";
    let base = tempfile::tempdir().unwrap();
    let inbox = base.path().join("inbox");
    copy_tree(&stratus("exfiltration"), &inbox);
    let state = base.path().join("state");
    let home = Home::new(&moto).with_config(&format!(
        "[store]\ndir = \"{url}\"\n[state]\ndir = {state:?}\n[[sources]]\nname = \"inbox\"\nkind = \"local\"\npath = {inbox:?}\n"
    ));
    home.tw(0, &["watch", "--once"]);
    let local = base.path().join("local");
    home.tw(
        0,
        &[
            "ingest",
            inbox.to_str().unwrap(),
            "--store",
            local.to_str().unwrap(),
        ],
    );
    let counts =
        |store: &str| home.stdout(0, &["sql", COUNTS, "--store", store, "--format", "csv"]);
    let watched = counts(url);
    assert_eq!(watched, counts(local.to_str().unwrap()));
    assert!(watched.lines().count() > 3, "{watched}");
    // Checkpoints and the outbox stay in the working copy below [state] dir, not in the bucket.
    let copy = state.join("stores/s3___watched_tw");
    assert!(copy.join("_watch/state.sqlite").is_file());
    let objects = keys(&moto, "watched", "tw/");
    assert!(
        !objects
            .iter()
            .any(|k| k.contains("_watch") || k.ends_with("_lease")),
        "{objects:?}"
    );
    // Watched again: nothing new is stored, the lease is taken and given back again.
    home.tw(0, &["watch", "--once"]);
    assert_eq!(counts(url), watched);
    assert!(keys(&moto, "watched", "tw/_lease").is_empty());
    home.tw(0, &["alerts", "list"]);
}

#[test]
fn a_lease_is_renewed_by_its_holder_and_a_writer_whose_lease_was_taken_over_stops() {
    use trailwatch_remote::{lease, RemoteConfig, StoreUrl};
    let moto = Moto::start();
    moto.create_bucket("renew");
    // The library reads credentials from the environment, as the binary does.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let config = RemoteConfig {
        url: StoreUrl::parse("s3://renew/tw").unwrap().unwrap(),
        endpoint: Some(moto.url.clone()),
        region: Some("us-east-1".into()),
        allow_http: true,
        retention: None,
        kms_key_id: None,
        lease_minutes: 10,
    };
    let remote = config.build().unwrap();
    let mut held = lease::acquire(&remote).unwrap();
    let stored = || {
        boto(
            &moto,
            "print(s3.get_object(Bucket='renew', Key='tw/_lease')['Body'].read().decode())",
        )
    };
    assert_eq!(stored()["owner"], held.body.owner.as_str());
    // Early in the lease nothing is written; past its half it is extended.
    let first = held.body.expires.clone();
    lease::renew(&remote, &mut held).unwrap();
    assert_eq!(held.body.expires, first);
    held.body.expires = "2000-01-01T00:00:00Z".into();
    lease::renew(&remote, &mut held).unwrap();
    assert_ne!(held.body.expires, "2000-01-01T00:00:00Z");
    assert!(held.body.expires >= first, "{:?}", held.body);
    assert_eq!(stored()["expires"], held.body.expires.as_str());
    // Another writer replaced it (after it had expired): renewing names that writer.
    boto(
        &moto,
        "s3.put_object(Bucket='renew', Key='tw/_lease', Body=json.dumps(dict(owner='other:1:2', acquired='2026-01-01T00:00:00Z', expires='2999-01-01T00:00:00Z')).encode())\nprint('{}')",
    );
    held.body.expires = "2000-01-01T00:00:00Z".into();
    let err = lease::renew(&remote, &mut held).unwrap_err().to_string();
    assert!(
        err.contains("another writer holds the store's lease (other:1:2"),
        "{err}"
    );
    // And releasing leaves the other writer's lease alone.
    lease::release(&remote, &held).unwrap();
    assert_eq!(stored()["owner"], "other:1:2");
}

#[test]
fn every_object_is_encrypted_with_the_kms_key_and_locked_in_compliance_mode() {
    let moto = Moto::start();
    let key = boto(
        &moto,
        "kms = boto3.client('kms', **kw)\ns3.create_bucket(Bucket='sealed', ObjectLockEnabledForBucket=True)\nprint(json.dumps(kms.create_key()['KeyMetadata']['KeyId']))",
    );
    let key = key.as_str().unwrap();
    let home = Home::new(&moto).with_config(&format!(
        "[store]\ndir = \"s3://sealed/tw\"\nobject_lock_mode = \"compliance\"\nobject_lock_days = 1\nkms_key_id = \"{key}\"\n"
    ));
    home.tw(0, &["ingest", stratus("impact").to_str().unwrap()]);
    let heads = boto(
        &moto,
        r#"out = []
for o in s3.list_objects_v2(Bucket='sealed')['Contents']:
    h = s3.head_object(Bucket='sealed', Key=o['Key'])
    out.append([o['Key'], h.get('ServerSideEncryption'), h.get('SSEKMSKeyId'), h.get('ObjectLockMode')])
print(json.dumps(out))"#,
    );
    let heads = heads.as_array().unwrap();
    // The data file, the ledger segment, the public key and the sources segment; the lease is
    // gone.
    assert_eq!(heads.len(), 4, "{heads:?}");
    for h in heads {
        assert_eq!(h[1], "aws:kms", "{h}");
        assert_eq!(h[2], key, "{h}");
        assert_eq!(h[3], "COMPLIANCE", "{h}");
    }
}

#[test]
fn a_reader_never_waits_for_a_writer_of_the_same_working_copy() {
    use trailwatch_remote::{working_dir, RemoteConfig, StoreUrl, WorkingCopy};
    let moto = Moto::start();
    moto.create_bucket("shared");
    let url = "s3://shared/tw";
    let home = Home::new(&moto);
    let data = stratus("impact");
    home.tw(0, &["ingest", data.to_str().unwrap(), "--store", url]);
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let store_url = StoreUrl::parse(url).unwrap().unwrap();
    let config = RemoteConfig {
        url: store_url.clone(),
        endpoint: Some(moto.url.clone()),
        region: Some("us-east-1".into()),
        allow_http: true,
        retention: None,
        kms_key_id: None,
        lease_minutes: 10,
    };
    let stores = home.cache().join("trailwatch/stores");
    let dir = working_dir(&home.cache().join("trailwatch"), &store_url);
    // This process writes the working copy the commands below would use.
    let (writer, _) = WorkingCopy::open_write(config.build().unwrap(), dir).unwrap();
    let out = home.tw(
        0,
        &[
            "sql",
            "SELECT count(*) AS n FROM events",
            "--store",
            url,
            "--format",
            "csv",
        ],
    );
    assert_eq!(text_of(&out.stdout), "n\n15");
    assert!(
        text_of(&out.stderr).contains(".reader-"),
        "{}",
        text_of(&out.stderr)
    );
    let left: Vec<_> = fs::read_dir(&stores)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".reader-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let err = home.stderr(1, &["ingest", data.to_str().unwrap(), "--store", url]);
    assert!(
        err.contains("another trailwatch process on this machine"),
        "{err}"
    );
    writer.finish().unwrap();
    home.tw(0, &["ingest", data.to_str().unwrap(), "--store", url]);
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .replace("\r\n", "\n")
        .trim()
        .to_string()
}
