//! End-to-end validation over digest chains made here in AWS's exact format: gzip-ed log files
//! in the S3 layout, hourly digests signed (RSA-2048, PKCS#1 v1.5, SHA-256) over CloudTrail's
//! signing string, signatures in sidecars or the manifest, and a `list-public-keys` document.

use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use trailwatch_digest::{
    validate, ChainIssue, DigestError, LogStatus, PublicKeys, Report, TimeRange, ValidateOptions,
    SIGNATURE_MANIFEST,
};
use trailwatch_model::hex;

const ACCT: &str = "123456789012";
const REGION: &str = "us-east-1";
const TRAIL: &str = "org-trail";
const BUCKET: &str = "trail-bucket";
const UNKNOWN_FP: &str = "00112233445566778899aabbccddeeff";

struct Keys {
    main: RsaPrivateKey,
    other: RsaPrivateKey,
}

/// Key generation is the slow part: once per test binary, from a seeded RNG.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(20260101);
        let main = RsaPrivateKey::new(&mut rng, 2048).expect("keygen");
        let other = RsaPrivateKey::new(&mut rng, 2048).expect("keygen");
        Keys { main, other }
    })
}

fn pkcs1_der(k: &RsaPrivateKey) -> Vec<u8> {
    k.to_public_key()
        .to_pkcs1_der()
        .expect("der")
        .as_bytes()
        .to_vec()
}

/// Our stand-in for AWS's fingerprint: the first 16 bytes of SHA-256 of the DER, in hex.
fn fingerprint(k: &RsaPrivateKey) -> String {
    hex::encode(&Sha256::digest(pkcs1_der(k))[..16])
}

/// `aws cloudtrail list-public-keys` output holding the main key (PKCS#1 or SPKI DER).
fn list_public_keys_json(spki: bool, upper_fp: bool, validity_end: &str) -> String {
    let k = &keys().main;
    let der = if spki {
        k.to_public_key()
            .to_public_key_der()
            .expect("spki")
            .as_bytes()
            .to_vec()
    } else {
        pkcs1_der(k)
    };
    let mut fp = fingerprint(k);
    if upper_fp {
        fp = fp.to_ascii_uppercase();
    }
    json!({"PublicKeyList": [{
        "Value": base64::engine::general_purpose::STANDARD.encode(der),
        "ValidityStartTime": "2025-06-01T00:00:00+00:00",
        "ValidityEndTime": validity_end,
        "Fingerprint": fp,
    }]})
    .to_string()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    MultiGzDecoder::new(std::fs::File::open(path).expect("open"))
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

fn rewrite_gz(path: &Path, f: impl FnOnce(String) -> String) {
    let text = String::from_utf8(gunzip(path)).expect("utf8");
    let changed = f(text.clone());
    assert_ne!(text, changed, "rewrite changed nothing");
    std::fs::write(path, gz(changed.as_bytes())).expect("write");
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn sidecar(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".signature");
    PathBuf::from(s)
}

struct Spec {
    digests: usize,
    logs_per_digest: usize,
    /// This digest starts two hours after the previous one ends.
    gap_before: Option<usize>,
    /// This digest is signed by the other key (while naming the main key's fingerprint).
    other_key_for: Option<usize>,
    /// This digest names a fingerprint not in the key list.
    unknown_fp_for: Option<usize>,
    /// Signatures in `digest-signatures.json` instead of sidecars.
    manifest: bool,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            digests: 4,
            logs_per_digest: 2,
            gap_before: None,
            other_key_for: None,
            unknown_fp_for: None,
            manifest: false,
        }
    }
}

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    digests: Vec<PathBuf>,
    /// The digests' S3 keys.
    digest_keys: Vec<String>,
    /// Per digest, its log files.
    logs: Vec<Vec<PathBuf>>,
    starts: Vec<DateTime<Utc>>,
    ends: Vec<DateTime<Utc>>,
    keys: PublicKeys,
}

impl Tree {
    fn report(&self) -> Report {
        validate(&ValidateOptions::new(&self.root, &self.keys))
    }

    /// Where an S3 key lives locally: below a bucket-named folder.
    fn local(&self, key: &str) -> PathBuf {
        self.root.join(BUCKET).join(key)
    }
}

fn build(spec: &Spec) -> Tree {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let k = keys();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 22, 0, 0).unwrap();
    let mut tree = Tree {
        _dir: dir,
        root,
        digests: Vec::new(),
        digest_keys: Vec::new(),
        logs: Vec::new(),
        starts: Vec::new(),
        ends: Vec::new(),
        keys: PublicKeys::from_list_public_keys_json(&list_public_keys_json(
            false,
            false,
            "2027-01-01T00:00:00+00:00",
        ))
        .expect("keys"),
    };
    let mut manifest = serde_json::Map::new();
    let mut prev: Option<(String, String, String)> = None;
    for i in 0..spec.digests {
        let shift = if spec.gap_before.is_some_and(|g| i >= g) {
            Duration::hours(2)
        } else {
            Duration::zero()
        };
        let start = t0 + Duration::hours(i as i64) + shift;
        let end = start + Duration::hours(1);
        let mut entries = Vec::new();
        let mut paths = Vec::new();
        for j in 0..spec.logs_per_digest {
            let ts = start + Duration::minutes(5 + 20 * j as i64);
            let name = format!(
                "{ACCT}_CloudTrail_{REGION}_{}_{:016X}.json.gz",
                ts.format("%Y%m%dT%H%MZ"),
                0x5eed_0000 + i * 100 + j
            );
            let key = format!(
                "AWSLogs/{ACCT}/CloudTrail/{REGION}/{}/{name}",
                ts.format("%Y/%m/%d")
            );
            let records = json!({"Records": [
                {"eventVersion": "1.08", "eventTime": iso(ts), "eventSource": "s3.amazonaws.com",
                 "eventName": "GetObject", "awsRegion": REGION, "sourceIPAddress": "203.0.113.7",
                 "userIdentity": {"type": "IAMUser", "userName": format!("user{i}{j}")},
                 "eventID": format!("ev-{i}-{j}-a"), "recipientAccountId": ACCT},
                {"eventVersion": "1.08", "eventTime": iso(ts + Duration::seconds(30)),
                 "eventSource": "iam.amazonaws.com", "eventName": "ListUsers", "awsRegion": REGION,
                 "sourceIPAddress": "198.51.100.4", "eventID": format!("ev-{i}-{j}-b"),
                 "recipientAccountId": ACCT}
            ]});
            let bytes = serde_json::to_vec(&records).expect("json");
            let path = tree.local(&key);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, gz(&bytes)).expect("write log");
            entries.push(json!({
                "s3Bucket": BUCKET,
                "s3Object": key,
                "hashValue": hex::encode(&Sha256::digest(&bytes)),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": iso(ts + Duration::seconds(30)),
                "oldestEventTime": iso(ts),
            }));
            paths.push(path);
        }
        let key = format!(
            "AWSLogs/{ACCT}/CloudTrail-Digest/{REGION}/{}/{ACCT}_CloudTrail-Digest_{REGION}_{TRAIL}_{REGION}_{}.json.gz",
            end.format("%Y/%m/%d"),
            end.format("%Y%m%dT%H%M%SZ")
        );
        let fp = if spec.unknown_fp_for == Some(i) {
            UNKNOWN_FP.to_owned()
        } else {
            fingerprint(&k.main)
        };
        let (pb, po, ph, pa, ps) = match &prev {
            Some((pkey, phash, psig)) => (
                json!(BUCKET),
                json!(pkey),
                json!(phash),
                json!("SHA-256"),
                json!(psig),
            ),
            None => (
                json!(null),
                json!(null),
                json!(null),
                json!(null),
                json!(null),
            ),
        };
        let digest = json!({
            "awsAccountId": ACCT,
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestS3Bucket": BUCKET,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": fp,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": iso(start + Duration::minutes(50)),
            "oldestEventTime": iso(start + Duration::minutes(5)),
            "previousDigestS3Bucket": pb,
            "previousDigestS3Object": po,
            "previousDigestHashValue": ph,
            "previousDigestHashAlgorithm": pa,
            "previousDigestSignature": ps,
            "logFiles": entries,
        });
        let bytes = serde_json::to_vec(&digest).expect("json");
        let hash = hex::encode(&Sha256::digest(&bytes));
        let prev_sig = prev.as_ref().map_or("null", |p| p.2.as_str());
        let signing = format!("{}\n{BUCKET}/{key}\n{hash}\n{prev_sig}", iso(end));
        let signer = if spec.other_key_for == Some(i) {
            &k.other
        } else {
            &k.main
        };
        let sig = signer
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signing.as_bytes()),
            )
            .expect("sign");
        let sig_hex = hex::encode(&sig);
        let path = tree.local(&key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, gz(&bytes)).expect("write digest");
        if spec.manifest {
            manifest.insert(key.clone(), json!(sig_hex));
        } else {
            std::fs::write(sidecar(&path), format!("{sig_hex}\n")).expect("write sig");
        }
        tree.digests.push(path);
        tree.digest_keys.push(key.clone());
        tree.logs.push(paths);
        tree.starts.push(start);
        tree.ends.push(end);
        prev = Some((key, hash, sig_hex));
    }
    if spec.manifest {
        std::fs::write(
            tree.root.join(SIGNATURE_MANIFEST),
            serde_json::to_vec(&manifest).expect("json"),
        )
        .expect("write manifest");
    }
    tree
}

/// Every digest but `except` has a verified signature and an intact chain.
fn assert_digests_valid_except(tree: &Tree, report: &Report, except: &[usize]) {
    for (i, d) in tree.digests.iter().enumerate() {
        if except.contains(&i) {
            continue;
        }
        let r = report
            .digest(d)
            .unwrap_or_else(|| panic!("digest {i} not in report"));
        assert!(r.is_valid(), "digest {i}: {:?} {:?}", r.signature, r.chain);
        assert_eq!(r.chain_start, i == 0, "digest {i} chain start");
    }
}

fn summary(report: &Report) -> String {
    report.to_string().lines().last().unwrap_or("").to_owned()
}

#[test]
fn untouched_tree_validates_fully() {
    let tree = build(&Spec::default());
    let report = tree.report();
    assert!(report.is_ok(), "{report}");
    assert_digests_valid_except(&tree, &report, &[]);
    assert_eq!(report.digests.len(), 4);
    assert_eq!(report.logs.len(), 8);
    assert!(report.logs.iter().all(|l| l.status == LogStatus::Valid));
    assert_eq!(
        report.to_string(),
        "4 digest files valid, 0 invalid; 8 log files valid, 0 modified, 0 missing, 0 unlisted; 0 gaps\n"
    );
    // Same key as SubjectPublicKeyInfo DER, fingerprint in upper case: still valid.
    let spki = PublicKeys::from_list_public_keys_json(&list_public_keys_json(
        true,
        true,
        "2027-01-01T00:00:00+00:00",
    ))
    .expect("spki keys");
    assert!(validate(&ValidateOptions::new(&tree.root, &spki)).is_ok());
}

#[test]
fn key_outside_its_validity_window_is_rejected() {
    let tree = build(&Spec::default());
    let expired = PublicKeys::from_list_public_keys_json(&list_public_keys_json(
        false,
        false,
        "2026-01-01T23:30:00+00:00",
    ))
    .expect("keys");
    let report = validate(&ValidateOptions::new(&tree.root, &expired));
    // Digest 0 ends at 23:00, inside the window; the rest end after it.
    assert!(report
        .digest(&tree.digests[0])
        .is_some_and(|d| d.is_valid()));
    for d in &tree.digests[1..] {
        let r = report.digest(d).expect("in report");
        assert!(
            matches!(r.signature, Err(DigestError::KeyNotValid { .. })),
            "{:?}",
            r.signature
        );
    }
    assert_eq!(report.counts().logs_valid, 8);
}

#[test]
fn modified_log_is_reported_and_nothing_else() {
    let tree = build(&Spec::default());
    let log = &tree.logs[1][0];
    rewrite_gz(log, |s| s.replacen("GetObject", "GetObjecu", 1));
    let report = tree.report();
    assert!(!report.is_ok());
    assert_digests_valid_except(&tree, &report, &[]);
    let bad: Vec<_> = report.bad_logs().collect();
    assert_eq!(bad.len(), 1, "{report}");
    assert_eq!(bad[0].path.as_deref(), Some(log.as_path()));
    assert_eq!(bad[0].digest.as_deref(), Some(tree.digests[1].as_path()));
    assert!(matches!(bad[0].status, LogStatus::Modified { .. }));
    let c = report.counts();
    assert_eq!((c.logs_valid, c.logs_modified, c.gaps), (7, 1, 0));
    let text = report.to_string();
    assert!(text.contains(&format!("{}: log file modified", log.display())));
    assert_eq!(
        summary(&report),
        "4 digest files valid, 0 invalid; 7 log files valid, 1 modified, 0 missing, 0 unlisted; 0 gaps"
    );
}

#[test]
fn deleted_log_is_missing() {
    let tree = build(&Spec::default());
    let log = &tree.logs[2][1];
    std::fs::remove_file(log).expect("rm");
    let report = tree.report();
    assert_digests_valid_except(&tree, &report, &[]);
    let bad: Vec<_> = report.bad_logs().collect();
    assert_eq!(bad.len(), 1, "{report}");
    assert_eq!(bad[0].status, LogStatus::Missing);
    assert_eq!(bad[0].path, None);
    let name = log.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(bad[0].s3_object.ends_with(name));
    assert_eq!(report.counts().logs_missing, 1);
    assert!(report.to_string().contains("log file missing"));
}

#[test]
fn modified_digest_breaks_its_signature_and_the_next_link() {
    let tree = build(&Spec::default());
    let d1 = &tree.digests[1];
    rewrite_gz(d1, |s| {
        s.replacen(
            "\"newestEventTime\":\"2026-01-01T23:50:00Z\"",
            "\"newestEventTime\":\"2026-01-01T23:51:00Z\"",
            1,
        )
    });
    let report = tree.report();
    let r1 = report.digest(d1).expect("d1");
    assert!(
        matches!(r1.signature, Err(DigestError::SignatureMismatch(_))),
        "{:?}",
        r1.signature
    );
    let r2 = report.digest(&tree.digests[2]).expect("d2");
    assert!(r2.signature.is_ok());
    assert_eq!(r2.chain.len(), 1, "{:?}", r2.chain);
    assert!(
        matches!(&r2.chain[0], ChainIssue::PreviousHashMismatch { previous, .. } if previous == d1)
    );
    assert_digests_valid_except(&tree, &report, &[1, 2]);
    let c = report.counts();
    assert_eq!((c.digests_valid, c.digests_invalid), (2, 2));
    assert_eq!((c.logs_valid, c.gaps), (8, 0));
}

#[test]
fn deleted_digest_in_the_middle_breaks_the_chain() {
    let tree = build(&Spec::default());
    std::fs::remove_file(&tree.digests[2]).expect("rm");
    std::fs::remove_file(sidecar(&tree.digests[2])).expect("rm");
    let report = tree.report();
    assert_eq!(report.digests.len(), 3);
    let r3 = report.digest(&tree.digests[3]).expect("d3");
    assert!(r3.signature.is_ok());
    assert_eq!(
        r3.chain,
        vec![ChainIssue::PreviousMissing {
            key: tree.digest_keys[2].clone()
        }]
    );
    assert!(report
        .to_string()
        .contains("chain broken: previous digest missing"));
    assert_digests_valid_except(&tree, &report, &[2, 3]);
    // The deleted digest's log files are now covered by no digest.
    let unlisted: Vec<_> = report
        .logs
        .iter()
        .filter(|l| l.status == LogStatus::Unlisted)
        .filter_map(|l| l.path.clone())
        .collect();
    assert_eq!(unlisted, tree.logs[2]);
    let c = report.counts();
    assert_eq!(
        (c.digests_valid, c.digests_invalid, c.logs_valid),
        (2, 1, 6)
    );
}

#[test]
fn gap_in_the_chain_is_reported() {
    let tree = build(&Spec {
        gap_before: Some(2),
        ..Spec::default()
    });
    let report = tree.report();
    assert!(!report.is_ok());
    assert_digests_valid_except(&tree, &report, &[]);
    let r2 = report.digest(&tree.digests[2]).expect("d2");
    assert_eq!(
        r2.chain,
        vec![ChainIssue::Gap {
            from: tree.ends[1],
            to: tree.starts[2]
        }]
    );
    assert_eq!(tree.starts[2] - tree.ends[1], Duration::hours(2));
    assert_eq!(report.counts().gaps, 1);
    assert!(report.to_string().contains(
        "no digest from 2026-01-02T00:00:00Z to 2026-01-02T02:00:00Z: logging or validation was off, or digests were deleted"
    ));
    assert!(summary(&report).ends_with("; 1 gap"));
}

#[test]
fn unknown_key_fingerprint_is_reported_and_rest_validated() {
    let tree = build(&Spec {
        unknown_fp_for: Some(1),
        ..Spec::default()
    });
    let report = tree.report();
    let r1 = report.digest(&tree.digests[1]).expect("d1");
    assert!(
        matches!(&r1.signature, Err(DigestError::UnknownKey(fp)) if fp == UNKNOWN_FP),
        "{:?}",
        r1.signature
    );
    assert!(r1.chain.is_empty());
    assert_digests_valid_except(&tree, &report, &[1]);
    assert_eq!(report.counts().logs_valid, 8);
    assert!(report.to_string().contains(&format!(
        "{}: digest invalid: unknown public key fingerprint {UNKNOWN_FP}",
        tree.digests[1].display()
    )));
}

#[test]
fn signature_by_another_key_is_rejected_and_rest_validated() {
    let tree = build(&Spec {
        other_key_for: Some(1),
        ..Spec::default()
    });
    let report = tree.report();
    let r1 = report.digest(&tree.digests[1]).expect("d1");
    assert!(
        matches!(r1.signature, Err(DigestError::SignatureMismatch(_))),
        "{:?}",
        r1.signature
    );
    assert_digests_valid_except(&tree, &report, &[1]);
    assert_eq!(report.counts().logs_valid, 8);
    assert!(report.to_string().contains(&format!(
        "{}: digest invalid: invalid signature",
        tree.digests[1].display()
    )));
}

#[test]
fn corrupt_gzip_digest_is_reported_and_rest_validated() {
    let tree = build(&Spec::default());
    let d1 = &tree.digests[1];
    let bytes = std::fs::read(d1).expect("read");
    let mut broken = bytes[..20].to_vec();
    broken.extend_from_slice(b"this is not deflate data at all");
    std::fs::write(d1, broken).expect("write");
    let report = tree.report();
    let r1 = report.digest(d1).expect("d1");
    assert!(
        matches!(r1.signature, Err(DigestError::Gzip(_))),
        "{:?}",
        r1.signature
    );
    assert!(report
        .to_string()
        .contains(&format!("{}: digest invalid: corrupt gzip", d1.display())));
    let r2 = report.digest(&tree.digests[2]).expect("d2");
    assert!(r2.signature.is_ok());
    assert!(matches!(
        &r2.chain[..],
        [ChainIssue::PreviousUnreadable { path, .. }] if path == d1
    ));
    assert_digests_valid_except(&tree, &report, &[1, 2]);
    let c = report.counts();
    // The unreadable digest's logs are unlisted; everyone else's still validated.
    assert_eq!((c.logs_valid, c.logs_unlisted), (6, 2));
}

#[test]
fn log_named_by_no_digest_is_unlisted() {
    let tree = build(&Spec::default());
    let extra = tree.logs[0][0].with_file_name(format!(
        "{ACCT}_CloudTrail_{REGION}_20260101T2259Z_FFFFFFFFFFFFFFFF.json.gz"
    ));
    std::fs::write(&extra, gz(br#"{"Records":[]}"#)).expect("write");
    let report = tree.report();
    assert_digests_valid_except(&tree, &report, &[]);
    let bad: Vec<_> = report.bad_logs().collect();
    assert_eq!(bad.len(), 1, "{report}");
    assert_eq!(bad[0].status, LogStatus::Unlisted);
    assert_eq!(bad[0].path.as_deref(), Some(extra.as_path()));
    assert!(report.to_string().contains(&format!(
        "{}: log file not covered by any digest",
        extra.display()
    )));
    assert_eq!(report.counts().logs_unlisted, 1);
}

#[test]
fn signatures_from_the_manifest() {
    let tree = build(&Spec {
        manifest: true,
        ..Spec::default()
    });
    assert!(tree.digests.iter().all(|d| !sidecar(d).exists()));
    let report = tree.report();
    assert!(report.is_ok(), "{report}");
    // Drop one entry: that digest has no signature, the rest stay valid.
    let path = tree.root.join(SIGNATURE_MANIFEST);
    let mut m: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    m.remove(&tree.digest_keys[3]);
    std::fs::write(&path, serde_json::to_vec(&m).expect("json")).expect("write");
    let report = tree.report();
    let r3 = report.digest(&tree.digests[3]).expect("d3");
    assert!(matches!(r3.signature, Err(DigestError::NoSignature)));
    assert_digests_valid_except(&tree, &report, &[3]);
}

#[test]
fn time_range_limits_what_is_validated() {
    let tree = build(&Spec::default());
    // Only digests 2 and 3; with digest 1 gone the chain simply starts at the range.
    std::fs::remove_file(&tree.digests[1]).expect("rm");
    let range = TimeRange {
        start: Some(tree.starts[2]),
        end: None,
    };
    let report = validate(&ValidateOptions {
        range,
        ..ValidateOptions::new(&tree.root, &tree.keys)
    });
    assert_eq!(report.digests.len(), 2, "{report}");
    let r2 = report.digest(&tree.digests[2]).expect("d2");
    assert!(r2.is_valid() && r2.chain_start, "{:?}", r2.chain);
    assert!(report
        .digest(&tree.digests[3])
        .is_some_and(|d| d.is_valid()));
    // Digest 1's logs are unlisted but fall before the range; digest 0's are covered.
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.counts().logs_valid, 4);
}
