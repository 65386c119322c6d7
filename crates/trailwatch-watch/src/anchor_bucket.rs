//! Publishing the store's signed heads ([`Anchor`]s) as objects in an S3 bucket with Object
//! Lock, where the store's writer cannot take them back, and reading them back for verify.
//!
//! Each head is its own object, `<prefix>/<store-id>/<seq, 20 digits>-<first 16 hex of its
//! hash>.json`, holding the anchor's JSON line. It is written with a conditional create
//! (`If-None-Match: *`: an existing head is never overwritten; the same head again is
//! answered 412 and counts as published) and with Object Lock retention
//! (`x-amz-object-lock-mode`, `x-amz-object-lock-retain-until-date` = now + `lock_days`), which
//! object_store's `PutOptions` cannot send: the PUT is trailwatch-remote's signed request
//! ([`trailwatch_remote::signed`], which the store on S3 writes its locked objects with too),
//! signed with the credentials the bucket's client resolved (environment, profile, instance
//! metadata). Listing and reading go through the
//! object_store client. The bucket must have been created with Object Lock enabled; a bucket
//! without it refuses the lock headers, which is reported, not ignored.
//!
//! GOVERNANCE is the default mode: a principal without `s3:BypassGovernanceRetention` (the
//! writer's credentials must not have it) can neither delete nor shorten a head, yet a test
//! or a mistaken bucket can be cleaned up by an administrator. COMPLIANCE binds everyone,
//! root included, until the date: choose it for a production audit trail.

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::runtime::Runtime;
use trailwatch_ledger::{parse_anchor, Anchor};
/// `s3://bucket/prefix` → (bucket, prefix): trailwatch-remote's, one parser for both.
pub use trailwatch_remote::parse_s3_url;
pub use trailwatch_remote::signed::LockMode;
use trailwatch_remote::signed::{Retention, SignedS3};

/// A bucket's problem: its configuration, or a request that failed (what, why).
#[derive(Debug, thiserror::Error)]
pub enum AnchorBucketError {
    #[error("[store] anchor_bucket: {0}")]
    Config(String),
    #[error("{what}: {reason}")]
    Request { what: String, reason: String },
}

/// Where and how heads are published (`[store] anchor_bucket` and its `anchor_*` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorBucketConfig {
    /// `s3://bucket[/prefix]`.
    pub url: String,
    /// Another endpoint (an S3-compatible service, a test server); default AWS.
    pub endpoint: Option<String>,
    /// Default `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    pub allow_http: bool,
    pub lock_mode: LockMode,
    /// Days each head is retained from its publication (at least 1).
    pub lock_days: u32,
}

/// The default retention of a head.
pub const DEFAULT_LOCK_DAYS: u32 = 365;

impl AnchorBucketConfig {
    /// The client: object_store's for listing and reading, its credentials for the locked PUT.
    pub fn build(&self) -> Result<AnchorBucket, AnchorBucketError> {
        let cfg = AnchorBucketError::Config;
        let (bucket, prefix) = parse_s3_url(&self.url).map_err(cfg)?;
        if self.lock_days == 0 {
            return Err(cfg("anchor_lock_days must be at least 1".into()));
        }
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_allow_http(self.allow_http);
        if let Some(r) = &self.region {
            b = b.with_region(r);
        }
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e);
        }
        let store = b.clone().build().map_err(|e| cfg(e.to_string()))?;
        let signed = SignedS3::new(&b, &store, &bucket, self.allow_http).map_err(|e| {
            cfg(e.replace("allowed in the configuration", "anchor_allow_http = true"))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| cfg(format!("runtime: {e}")))?;
        Ok(AnchorBucket {
            runtime,
            store,
            signed,
            bucket,
            prefix,
            lock_mode: self.lock_mode,
            lock_days: self.lock_days,
        })
    }
}

/// A head object read back: its key, and the anchor it holds or why it is not one.
pub type HeadObject = (String, Result<Anchor, String>);

/// What [`AnchorBucket::publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Written, as `s3://bucket/key`.
    New(String),
    /// The head's object was there already (published before): nothing written.
    AlreadyThere(String),
}

/// An S3 prefix heads are published to and read from (see the module doc).
pub struct AnchorBucket {
    runtime: Runtime,
    store: AmazonS3,
    signed: SignedS3,
    bucket: String,
    prefix: String,
    lock_mode: LockMode,
    lock_days: u32,
}

impl AnchorBucket {
    /// `<prefix>/<store-id>/`: where the heads of the store `store_id` are.
    fn store_prefix(&self, store_id: &str) -> String {
        match self.prefix.as_str() {
            "" => format!("{store_id}/"),
            p => format!("{p}/{store_id}/"),
        }
    }

    /// `s3://bucket/<prefix>/<store-id>/`.
    pub fn location(&self, store_id: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.store_prefix(store_id))
    }

    /// The key of `anchor`'s object.
    pub fn key(&self, store_id: &str, anchor: &Anchor) -> String {
        let hash = anchor.hash.to_ascii_lowercase();
        let short = hash.get(..16).unwrap_or(&hash);
        format!(
            "{}{:020}-{short}.json",
            self.store_prefix(store_id),
            anchor.seq
        )
    }

    /// Writes `anchor` of the store `store_id` as a new, locked object.
    pub fn publish(&self, store_id: &str, anchor: &Anchor) -> Result<Published, AnchorBucketError> {
        let key = self.key(store_id, anchor);
        let url = format!("s3://{}/{key}", self.bucket);
        let fail = |reason: String| AnchorBucketError::Request {
            what: format!("publishing head {} to {url}", anchor.seq),
            reason,
        };
        let body = Bytes::from(anchor.to_line());
        let retention = Retention {
            mode: self.lock_mode,
            days: self.lock_days,
        };
        let answer = self
            .runtime
            .block_on(
                self.signed
                    .put_new(&key, body, "application/json", Some(retention), &[]),
            )
            .map_err(fail)?;
        match answer.status {
            200..=299 => Ok(Published::New(url)),
            412 => Ok(Published::AlreadyThere(url)),
            _ => Err(fail(answer.detail())),
        }
    }

    /// Every head object of the store `store_id`, in key order (which is seq order).
    pub fn read(&self, store_id: &str) -> Result<Vec<HeadObject>, AnchorBucketError> {
        let prefix = self.store_prefix(store_id);
        let fail = |reason: String| AnchorBucketError::Request {
            what: format!("reading heads from {}", self.location(store_id)),
            reason,
        };
        self.runtime.block_on(async {
            let listed: Vec<_> = self
                .store
                .list(Some(&ObjectPath::from(prefix.as_str())))
                .try_collect()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let mut keys: Vec<String> = listed
                .into_iter()
                .map(|m| m.location.to_string())
                .filter(|k| k.ends_with(".json"))
                .collect();
            keys.sort();
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let got = self.store.get(&ObjectPath::from(key.as_str())).await;
                let bytes = match got {
                    Ok(g) => g.bytes().await.map_err(|e| fail(format!("{key}: {e}")))?,
                    Err(e) => return Err(fail(format!("{key}: {e}"))),
                };
                out.push((key, parse_anchor(&String::from_utf8_lossy(&bytes))));
            }
            Ok(out)
        })
    }
}
