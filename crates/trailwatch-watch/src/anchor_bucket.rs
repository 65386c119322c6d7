//! Publishing the store's signed heads ([`Anchor`]s) as objects in an S3 bucket with Object
//! Lock, where the store's writer cannot take them back, and reading them back for verify.
//!
//! Each head is its own object, `<prefix>/<store-id>/<seq, 20 digits>-<first 16 hex of its
//! hash>.json`, holding the anchor's JSON line. It is written with a conditional create
//! (`If-None-Match: *`: an existing head is never overwritten; the same head again is
//! answered 412 and counts as published) and with Object Lock retention
//! (`x-amz-object-lock-mode`, `x-amz-object-lock-retain-until-date` = now + `lock_days`), which
//! object_store's `PutOptions` cannot send: the PUT is signed by object_store's own
//! [`AwsAuthorizer`] with the credentials the bucket's client resolved (environment, profile,
//! instance metadata), as [`crate::source::sqs`] does. Listing and reading go through the
//! object_store client. The bucket must have been created with Object Lock enabled; a bucket
//! without it refuses the lock headers, which is reported, not ignored.
//!
//! GOVERNANCE is the default mode: a principal without `s3:BypassGovernanceRetention` (the
//! writer's credentials must not have it) can neither delete nor shorten a head, yet a test
//! or a mistaken bucket can be cleaned up by an administrator. COMPLIANCE binds everyone,
//! root included, until the date: choose it for a production audit trail.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{SecondsFormat, Utc};
use futures_util::TryStreamExt;
use object_store::aws::AwsCredentialProvider;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, ReqwestConnector};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use trailwatch_ledger::{parse_anchor, Anchor};

/// A bucket's problem: its configuration, or a request that failed (what, why).
#[derive(Debug, thiserror::Error)]
pub enum AnchorBucketError {
    #[error("[store] anchor_bucket: {0}")]
    Config(String),
    #[error("{what}: {reason}")]
    Request { what: String, reason: String },
}

/// Object Lock retention mode of the head objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Governance,
    Compliance,
}

impl LockMode {
    /// `GOVERNANCE` or `COMPLIANCE` (any case).
    pub fn parse(s: &str) -> Result<LockMode, String> {
        match s.to_ascii_uppercase().as_str() {
            "GOVERNANCE" => Ok(LockMode::Governance),
            "COMPLIANCE" => Ok(LockMode::Compliance),
            _ => Err(format!(
                "anchor_lock_mode {s:?}: expected GOVERNANCE or COMPLIANCE"
            )),
        }
    }

    fn header(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
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

/// `s3://bucket/prefix` → (bucket, prefix without surrounding slashes). Keys are sent as
/// they are, so the prefix is limited to characters a URL path carries unescaped.
pub fn parse_s3_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{url:?}: expected s3://bucket/prefix"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if bucket.is_empty() || !bucket.chars().all(bucket_ok) {
        return Err(format!("{url:?}: not a bucket name"));
    }
    let prefix_ok = |c: char| c.is_ascii_alphanumeric() || "-_.!~*'()/".contains(c);
    if !prefix.chars().all(prefix_ok) || prefix.split('/').any(|s| s == "." || s == "..") {
        return Err(format!(
            "{url:?}: the prefix may hold only letters, digits, / and -_.!~*'()"
        ));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

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
        let region = b
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".into());
        let base = match b.get_config_value(&AmazonS3ConfigKey::Endpoint) {
            Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        };
        if !(base.starts_with("https://") || self.allow_http && base.starts_with("http://")) {
            return Err(cfg(format!(
                "endpoint {base:?}: only https (http with anchor_allow_http = true)"
            )));
        }
        let store = b.build().map_err(|e| cfg(e.to_string()))?;
        let options = ClientOptions::new().with_allow_http(self.allow_http);
        let http = ReqwestConnector::default()
            .connect(&options)
            .map_err(|e| cfg(format!("HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| cfg(format!("runtime: {e}")))?;
        Ok(AnchorBucket {
            runtime,
            credentials: Arc::clone(store.credentials()),
            store,
            http,
            region,
            base,
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
    http: HttpClient,
    credentials: AwsCredentialProvider,
    region: String,
    /// The bucket's URL: an object is `<base>/<key>`.
    base: String,
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
        let sha = Sha256::digest(&body);
        let until = (Utc::now() + chrono::Duration::days(i64::from(self.lock_days)))
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let status = self.runtime.block_on(async {
            let credential = self
                .credentials
                .get_credential()
                .await
                .map_err(|e| format!("credentials: {e}"))?;
            let mut request: HttpRequest = http::Request::builder()
                .method("PUT")
                .uri(format!("{}/{key}", self.base))
                .header("content-type", "application/json")
                .header("if-none-match", "*")
                .header("x-amz-object-lock-mode", self.lock_mode.header())
                .header("x-amz-object-lock-retain-until-date", &until)
                .header("x-amz-sdk-checksum-algorithm", "SHA256")
                .header(
                    "x-amz-checksum-sha256",
                    base64::engine::general_purpose::STANDARD.encode(sha),
                )
                .body(body.into())
                .map_err(|e| e.to_string())?;
            AwsAuthorizer::new(&credential, "s3", &self.region).authorize(&mut request, Some(&sha));
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let text = response.into_body().bytes().await.unwrap_or_default();
            Ok::<_, String>((status, text))
        });
        let (status, text) = status.map_err(fail)?;
        match status.as_u16() {
            200..=299 => Ok(Published::New(url)),
            412 => Ok(Published::AlreadyThere(url)),
            _ => Err(fail(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&text)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ))),
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
