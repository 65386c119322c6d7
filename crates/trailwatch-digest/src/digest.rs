//! The digest file format.

use crate::validate::DigestError;
use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::io::Read;
use trailwatch_model::gzip::is_gzip;
use trailwatch_model::hex;

/// Digest files are a few kB to a few MB; anything inflating past this is not one.
pub(crate) const MAX_DIGEST_BYTES: u64 = 256 << 20;

/// One CloudTrail digest file (the decompressed JSON), field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestFile {
    #[serde(rename = "awsAccountId")]
    pub aws_account_id: String,
    #[serde(rename = "digestStartTime")]
    pub digest_start_time: String,
    #[serde(rename = "digestEndTime")]
    pub digest_end_time: String,
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: String,
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: String,
    #[serde(rename = "digestPublicKeyFingerprint")]
    pub digest_public_key_fingerprint: String,
    #[serde(rename = "digestSignatureAlgorithm")]
    pub digest_signature_algorithm: String,
    #[serde(rename = "newestEventTime", default)]
    pub newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime", default)]
    pub oldest_event_time: Option<String>,
    #[serde(rename = "previousDigestS3Bucket", default)]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object", default)]
    pub previous_digest_s3_object: Option<String>,
    #[serde(rename = "previousDigestHashValue", default)]
    pub previous_digest_hash_value: Option<String>,
    #[serde(rename = "previousDigestHashAlgorithm", default)]
    pub previous_digest_hash_algorithm: Option<String>,
    #[serde(rename = "previousDigestSignature", default)]
    pub previous_digest_signature: Option<String>,
    #[serde(rename = "logFiles", default)]
    pub log_files: Option<Vec<LogFileEntry>>,
}

/// One `logFiles[]` entry of a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogFileEntry {
    #[serde(rename = "s3Bucket")]
    pub s3_bucket: String,
    #[serde(rename = "s3Object")]
    pub s3_object: String,
    #[serde(rename = "hashValue")]
    pub hash_value: String,
    #[serde(rename = "hashAlgorithm")]
    pub hash_algorithm: String,
    #[serde(rename = "newestEventTime", default)]
    pub newest_event_time: Option<String>,
    #[serde(rename = "oldestEventTime", default)]
    pub oldest_event_time: Option<String>,
}

/// The string CloudTrail signs for a digest: `digestEndTime \n digestS3Bucket/digestS3Object \n
/// hex SHA-256 of the decompressed digest \n previousDigestSignature` (`null` when there is no
/// previous digest, as the AWS CLI does).
pub fn signing_string(digest: &DigestFile, decompressed_sha256_hex: &str) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        digest.digest_end_time,
        digest.digest_s3_bucket,
        digest.digest_s3_object,
        decompressed_sha256_hex,
        digest
            .previous_digest_signature
            .as_deref()
            .unwrap_or("null")
    )
}

/// Decompresses (when gzip) a digest file's bytes, hashes the result and parses it.
/// Returns the digest and the hex SHA-256 of its decompressed bytes.
pub fn parse_digest_bytes(bytes: &[u8]) -> Result<(DigestFile, String), DigestError> {
    let (digest, hash) = decompress_and_hash(bytes)?;
    let parsed = parse_json(&digest)?;
    Ok((parsed, hash))
}

pub(crate) fn decompress_and_hash(bytes: &[u8]) -> Result<(Vec<u8>, String), DigestError> {
    let data = if is_gzip(bytes) {
        let mut out = Vec::new();
        MultiGzDecoder::new(bytes)
            .take(MAX_DIGEST_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(DigestError::Gzip)?;
        if out.len() as u64 > MAX_DIGEST_BYTES {
            return Err(DigestError::TooLarge);
        }
        out
    } else {
        bytes.to_vec()
    };
    let hash = hex::encode(&Sha256::digest(&data));
    Ok((data, hash))
}

pub(crate) fn parse_json(data: &[u8]) -> Result<DigestFile, DigestError> {
    serde_json::from_slice(data).map_err(DigestError::Json)
}
