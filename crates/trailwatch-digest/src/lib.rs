//! Digest: offline validation of CloudTrail log-file integrity, like
//! `aws cloudtrail validate-logs`, over a local copy of the trail's bucket.
//!
//! This crate owns everything about CloudTrail integrity digests (see "Integrity digests (log
//! file validation)" in `../shared/docs/FORMATS.md`): the public keys from
//! `aws cloudtrail list-public-keys` ([`PublicKeys`]), the digest file format ([`DigestFile`]),
//! and [`validate`], which checks a directory holding digest files and log files in the S3
//! layout (`AWSLogs/<account>/CloudTrail/…` and `AWSLogs/<account>/CloudTrail-Digest/…`,
//! possibly below a bucket-named folder) and returns a [`Report`]:
//!
//! 1. **Signatures.** Each digest's RSA PKCS#1 v1.5 / SHA-256 signature over the signing string
//!    `digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(decompressed digest)) \n
//!    previousDigestSignature` (the literal `null` for the first digest of a chain), verified
//!    with the key whose fingerprint is `digestPublicKeyFingerprint` (compared as
//!    case-insensitive hex) and, when the key lists a validity window, only if `digestEndTime`
//!    falls inside it.
//! 2. **The chain.** Digests of one trail, account and region, ordered by `digestEndTime`: each
//!    names its predecessor (`previousDigestS3Object`), whose decompressed SHA-256 must equal
//!    `previousDigestHashValue` and whose signature must equal `previousDigestSignature`. A
//!    predecessor absent from the directory is a broken link; a `digestStartTime` later than the
//!    predecessor's `digestEndTime` is a gap (logging or validation was off, or digests were
//!    deleted).
//! 3. **Log files.** Each `logFiles[]` entry must exist and the SHA-256 of its *decompressed*
//!    bytes must equal `hashValue`. Log files in the directory named by no digest are reported
//!    as unlisted.
//!
//! Object keys (`s3Object`) are resolved to files by their path relative to the root, or else by
//! any file whose path ends with the key (so the root may be the bucket's parent folder).
//!
//! **Where signatures come from.** S3 keeps a digest's signature in the object's metadata
//! (`x-amz-meta-signature`, hex), not in the file. Locally it is read from, in order:
//! - a sidecar file `<digest file>.signature` beside the digest (e.g.
//!   `…_20260101T010000Z.json.gz.signature`) holding the hex signature (whitespace trimmed);
//! - a manifest `digest-signatures.json` at the root: a JSON object mapping each digest's S3
//!   object key (its `digestS3Object`, or its path relative to the root) to the hex signature,
//!   e.g. `{"AWSLogs/1111/CloudTrail-Digest/us-east-1/2026/01/01/…json.gz": "8f3a…"}`.
//!
//! Digest files and logs are untrusted input: every problem is reported with the file and the
//! reason, and the rest is still validated. Nothing here panics on bad data.

mod digest;
mod keys;
mod report;
mod validate;

pub use digest::{parse_digest_bytes, signing_string, DigestFile, LogFileEntry};
pub use keys::{KeyError, PublicKey, PublicKeys};
pub use report::{ChainIssue, Counts, DigestResult, LogResult, LogStatus, Problem, Report};
pub use validate::{validate, DigestError, TimeRange, ValidateOptions, SIGNATURE_MANIFEST};
