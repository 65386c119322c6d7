//! `trailwatch validate-digests` end to end: a log file and a digest made here in AWS's format
//! (RSA-2048, PKCS#1 v1.5 over CloudTrail's signing string), validated, then tampered with.

use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes one log and the digest naming it under `root`; returns the log's path and the keys file.
fn make_tree(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = RsaPrivateKey::new(&mut ChaCha8Rng::seed_from_u64(7), 2048).unwrap();
    let der = key
        .to_public_key()
        .to_pkcs1_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    let fp = hex(&Sha256::digest(&der)[..16]);
    let log_key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T0005Z_abc.json.gz";
    let log = br#"{"Records":[{"eventVersion":"1.08","eventTime":"2026-10-01T00:03:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1","eventID":"e-1"}]}"#;
    let log_path = root.join(log_key);
    std::fs::create_dir_all(log_path.parent().unwrap()).unwrap();
    std::fs::write(&log_path, gz(log)).unwrap();
    let digest_key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20261001T010000Z.json.gz";
    let end = "2026-10-01T01:00:00Z";
    let digest = serde_json::json!({
        "awsAccountId": "111122223333", "digestStartTime": "2026-10-01T00:00:00Z", "digestEndTime": end,
        "digestS3Bucket": "trail-bucket", "digestS3Object": digest_key,
        "digestPublicKeyFingerprint": fp, "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": "2026-10-01T00:03:00Z", "oldestEventTime": "2026-10-01T00:03:00Z",
        "previousDigestS3Bucket": null, "previousDigestS3Object": null, "previousDigestHashValue": null,
        "previousDigestHashAlgorithm": null, "previousDigestSignature": null,
        "logFiles": [{"s3Bucket": "trail-bucket", "s3Object": log_key, "hashValue": hex(&Sha256::digest(log)),
                      "hashAlgorithm": "SHA-256", "newestEventTime": "2026-10-01T00:03:00Z",
                      "oldestEventTime": "2026-10-01T00:03:00Z"}],
    });
    let bytes = serde_json::to_vec(&digest).unwrap();
    let signing = format!(
        "{end}\ntrail-bucket/{digest_key}\n{}\nnull",
        hex(&Sha256::digest(&bytes))
    );
    let sig = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing.as_bytes()),
        )
        .unwrap();
    let digest_path = root.join(digest_key);
    std::fs::create_dir_all(digest_path.parent().unwrap()).unwrap();
    std::fs::write(&digest_path, gz(&bytes)).unwrap();
    std::fs::write(format!("{}.signature", digest_path.display()), hex(&sig)).unwrap();
    let keys = serde_json::json!({"PublicKeyList": [{
        "Value": base64::engine::general_purpose::STANDARD.encode(&der),
        "ValidityStartTime": "2025-01-01T00:00:00Z", "ValidityEndTime": "2030-01-01T00:00:00Z", "Fingerprint": fp}]});
    let keys_path = root.join("keys.json");
    std::fs::write(&keys_path, keys.to_string()).unwrap();
    (log_path, keys_path)
}

fn validate(root: &Path, keys: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .arg("validate-digests")
        .arg(root)
        .arg("--public-keys")
        .arg(keys)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn validates_then_names_the_tampered_log() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, keys) = make_tree(dir.path());
    let (code, out) = validate(dir.path(), &keys);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 digest file valid, 0 invalid; 1 log file valid, 0 modified"),
        "{out}"
    );

    let tampered = br#"{"Records":[{"eventVersion":"1.08","eventTime":"2026-10-01T00:03:00Z","eventSource":"iam.amazonaws.com","eventName":"ListRoles","awsRegion":"us-east-1","eventID":"e-1"}]}"#;
    std::fs::write(&log_path, gz(tampered)).unwrap();
    let (code, out) = validate(dir.path(), &keys);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 modified"), "{out}");
    assert!(
        out.contains("_abc.json.gz"),
        "the modified log is named: {out}"
    );

    let (code, _) = validate(dir.path(), &dir.path().join("missing-keys.json"));
    assert_eq!(code, 1);
}
