//! The bucket (or container) a store is in: listing, reading, writing new immutable objects,
//! deleting, and the conditional writes the lease needs.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::path::Path as ObjectPath;
use object_store::ClientConfigKey;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use trailwatch_model::hex;

use crate::location::{Cloud, StoreUrl};
use crate::protection::{parse_azure_container, parse_s3_object_lock, Protection, SignedAzure};
use crate::signed::{Retention, SignedS3};
use crate::RemoteError;

/// How a remote store is reached and written (`[store]` keys beside `dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    pub url: StoreUrl,
    /// Another endpoint (an S3-compatible service, Azurite, a test server); default the
    /// environment's (`AWS_ENDPOINT_URL`, `AZURE_STORAGE_ENDPOINT`), else the cloud's.
    pub endpoint: Option<String>,
    /// S3 region; default `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// Plain http to the endpoint (tests, emulators).
    pub allow_http: bool,
    /// S3: Object Lock retention of every object written (all but the lease).
    pub retention: Option<Retention>,
    /// S3: SSE-KMS with this key for every object written.
    pub kms_key_id: Option<String>,
    /// Minutes a writer's lease lasts before another writer may take it over.
    pub lease_minutes: u32,
}

/// Default [`RemoteConfig::lease_minutes`].
pub const DEFAULT_LEASE_MINUTES: u32 = 60;

/// An object below the store's prefix: its path inside the store and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub rel: String,
    pub size: u64,
}

/// What a new immutable object's write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    /// An object was there already: nothing written.
    AlreadyThere,
}

/// What a deletion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Gone,
    /// The storage refused it (Object Lock, an immutability policy): the object stays.
    Refused(String),
}

impl RemoteConfig {
    /// The client: object_store's for everything it can send, and on S3 a signer for the
    /// locked writes and version deletions it cannot.
    pub fn build(&self) -> Result<Remote, RemoteError> {
        let cfg = |e: String| RemoteError::Config(format!("{}: {e}", self.url));
        if self.retention.is_some_and(|r| r.days == 0) {
            return Err(cfg("object_lock_days must be at least 1".into()));
        }
        if self.url.cloud == Cloud::Azure && (self.retention.is_some() || self.kms_key_id.is_some())
        {
            return Err(cfg(
                "object_lock_* and kms_key_id are S3 settings: on Azure, set a container immutability policy and encryption scope"
                    .into(),
            ));
        }
        let mut azure = None;
        let (store, signed): (Arc<dyn ObjectStore>, _) = match self.url.cloud {
            Cloud::S3 => {
                let mut b = AmazonS3Builder::from_env().with_bucket_name(&self.url.bucket);
                if self.allow_http {
                    b = b.with_allow_http(true);
                }
                if let Some(r) = &self.region {
                    b = b.with_region(r);
                }
                if let Some(e) = &self.endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(k) = &self.kms_key_id {
                    b = b.with_sse_kms_encryption(k);
                }
                // `AWS_ALLOW_HTTP` from the environment counts as the setting does.
                let allow_http = self.allow_http
                    || b.get_config_value(&AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp))
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let store = b.clone().build().map_err(|e| cfg(e.to_string()))?;
                let signed =
                    SignedS3::new(&b, &store, &self.url.bucket, allow_http).map_err(cfg)?;
                (Arc::new(store), Some(signed))
            }
            Cloud::Azure => {
                let mut b = MicrosoftAzureBuilder::from_env().with_container_name(&self.url.bucket);
                if self.allow_http {
                    b = b.with_allow_http(true);
                }
                if let Some(e) = &self.endpoint {
                    b = b.with_endpoint(e.clone());
                }
                let store = b.clone().build().map_err(|e| cfg(e.to_string()))?;
                let allow_http = self.allow_http
                    || b.get_config_value(&AzureConfigKey::Client(ClientConfigKey::AllowHttp))
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                azure = Some(
                    SignedAzure::new(&b, Arc::clone(store.credentials()), allow_http)
                        .map_err(cfg)?,
                );
                (Arc::new(store), None)
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| cfg(format!("runtime: {e}")))?;
        Ok(Remote {
            url: self.url.clone(),
            runtime,
            store,
            signed,
            azure,
            retention: self.retention,
            kms_key_id: self.kms_key_id.clone(),
            lease_minutes: self.lease_minutes.max(1),
        })
    }
}

/// A store's bucket or container (see the module doc). Paths given to it are inside the store
/// (`_ledger/segments/…`); it adds the prefix.
pub struct Remote {
    url: StoreUrl,
    runtime: Runtime,
    store: Arc<dyn ObjectStore>,
    signed: Option<SignedS3>,
    azure: Option<SignedAzure>,
    retention: Option<Retention>,
    kms_key_id: Option<String>,
    pub(crate) lease_minutes: u32,
}

impl Remote {
    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    /// Whether the bucket keeps what is written (S3 Object Lock; an Azure container's
    /// immutability policy or legal hold), as the service answers.
    pub fn protection(&self) -> Result<Protection, RemoteError> {
        let answer = match (&self.signed, &self.azure) {
            (Some(s), _) => {
                self.runtime
                    .block_on(s.send("GET", "", Some("object-lock"), &[], Bytes::new()))
            }
            (None, Some(a)) => self.runtime.block_on(a.container_properties()),
            (None, None) => return Err(RemoteError::Config("no client".into())),
        }
        .map_err(|e| self.fail("", "reading the bucket's protection of", e))?;
        Ok(match self.url.cloud {
            Cloud::S3 => parse_s3_object_lock(answer.status, &answer.body),
            Cloud::Azure => parse_azure_container(answer.status, &answer.headers),
        })
    }

    /// Whether new data files and ledger segments are written under Object Lock.
    pub fn retention(&self) -> Option<Retention> {
        self.retention
    }

    fn path(&self, rel: &str) -> ObjectPath {
        ObjectPath::from(self.url.key(rel))
    }

    pub(crate) fn fail(
        &self,
        rel: &str,
        what: &str,
        reason: impl std::fmt::Display,
    ) -> RemoteError {
        RemoteError::Request {
            what: format!("{what} {}/{rel}", self.url),
            reason: reason.to_string(),
        }
    }

    /// Every object below `sub` (a folder inside the store, `""` for all), sorted by path.
    pub fn list(&self, sub: &str) -> Result<Vec<Listed>, RemoteError> {
        let base = self.url.key(sub);
        let prefix = (!base.is_empty()).then(|| ObjectPath::from(base.as_str()));
        let strip = match self.url.prefix.as_str() {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let listed: Vec<_> = self
            .runtime
            .block_on(self.store.list(prefix.as_ref()).try_collect::<Vec<_>>())
            .map_err(|e| self.fail(sub, "listing", e))?;
        let mut out: Vec<Listed> = listed
            .into_iter()
            .filter_map(|m| {
                let key = m.location.to_string();
                let rel = key.strip_prefix(&strip)?.to_string();
                Some(Listed { rel, size: m.size })
            })
            .collect();
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }

    /// The bytes of `rel`; `None` when there is no such object.
    pub fn get(&self, rel: &str) -> Result<Option<Bytes>, RemoteError> {
        let path = self.path(rel);
        self.runtime
            .block_on(async {
                match self.store.get(&path).await {
                    Ok(g) => g.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| self.fail(rel, "reading", e))
    }

    /// Streams `rel` into the new file `to`, fsynced; its SHA-256 (hex) and length.
    pub fn download(&self, rel: &str, to: &Path) -> Result<(String, u64), RemoteError> {
        let path = self.path(rel);
        let io =
            |e: std::io::Error| self.fail(rel, "downloading", format!("{}: {e}", to.display()));
        let mut file = File::create(to).map_err(io)?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        self.runtime
            .block_on(async {
                let mut stream = self.store.get(&path).await?.into_stream();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    hasher.update(&chunk);
                    bytes += chunk.len() as u64;
                    file.write_all(&chunk)
                        .map_err(|e| object_store::Error::Generic {
                            store: "local",
                            source: Box::new(e),
                        })?;
                }
                Ok::<_, object_store::Error>(())
            })
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => RemoteError::Request {
                    what: format!("{}/{rel}", self.url),
                    reason: "no such object".into(),
                },
                e => self.fail(rel, "downloading", e),
            })?;
        file.sync_all().map_err(io)?;
        Ok((hex::encode(&hasher.finalize()), bytes))
    }

    /// Writes `body` at `rel` only if no object is there, never overwriting: on S3 with the
    /// configured Object Lock retention and SSE-KMS key (a bucket without Object Lock refuses
    /// the retention, which is an error, not ignored).
    pub fn put_new(&self, rel: &str, body: Bytes) -> Result<Created, RemoteError> {
        let key = self.url.key(rel);
        match &self.signed {
            Some(s) => {
                let mut extra = Vec::new();
                if let Some(k) = &self.kms_key_id {
                    extra.push(("x-amz-server-side-encryption", "aws:kms".to_string()));
                    extra.push(("x-amz-server-side-encryption-aws-kms-key-id", k.clone()));
                }
                let answer = self
                    .runtime
                    .block_on(s.put_new(
                        &key,
                        body,
                        "application/octet-stream",
                        self.retention,
                        &extra,
                    ))
                    .map_err(|e| self.fail(rel, "writing", e))?;
                match answer.status {
                    200..=299 => Ok(Created::New),
                    412 => Ok(Created::AlreadyThere),
                    _ => Err(self.fail(rel, "writing", answer.detail())),
                }
            }
            None => match self.put_mode(rel, body, PutMode::Create) {
                Ok(_) => Ok(Created::New),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(Created::AlreadyThere),
                Err(e) => Err(self.fail(rel, "writing", e)),
            },
        }
    }

    /// A write through object_store's conditional modes (the lease).
    pub(crate) fn put_mode(
        &self,
        rel: &str,
        body: Bytes,
        mode: PutMode,
    ) -> Result<object_store::PutResult, object_store::Error> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        self.runtime.block_on(
            self.store
                .put_opts(&self.path(rel), PutPayload::from(body), opts),
        )
    }

    /// The bytes of `rel` and the version a conditional update of it must name.
    pub(crate) fn get_versioned(
        &self,
        rel: &str,
    ) -> Result<Option<(Bytes, UpdateVersion)>, RemoteError> {
        let path = self.path(rel);
        self.runtime
            .block_on(async {
                match self.store.get(&path).await {
                    Ok(g) => {
                        let version = UpdateVersion {
                            e_tag: g.meta.e_tag.clone(),
                            version: g.meta.version.clone(),
                        };
                        Ok(Some((g.bytes().await?, version)))
                    }
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .map_err(|e| self.fail(rel, "reading", e))
    }

    /// Removes `rel` from the listing (on a versioned bucket, a delete marker): the lease.
    pub(crate) fn delete_current(&self, rel: &str) -> Result<(), RemoteError> {
        match self.runtime.block_on(self.store.delete(&self.path(rel))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(rel, "deleting", e)),
        }
    }

    /// Deletes `rel` for good: on S3 the version that is current (a delete marker would hide
    /// a locked object, not delete it), which Object Lock refuses while it is retained; on
    /// Azure the blob, which an immutability policy or legal hold refuses. A refusal is
    /// [`Deleted::Refused`] with the storage's answer.
    pub fn delete(&self, rel: &str) -> Result<Deleted, RemoteError> {
        let path = self.path(rel);
        let Some(signed) = &self.signed else {
            return match self.runtime.block_on(self.store.delete(&path)) {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(Deleted::Gone),
                Err(e) if refused(&e.to_string()) => Ok(Deleted::Refused(e.to_string())),
                Err(e) => Err(self.fail(rel, "deleting", e)),
            };
        };
        let version = match self.runtime.block_on(self.store.head(&path)) {
            Ok(m) => m.version,
            Err(object_store::Error::NotFound { .. }) => return Ok(Deleted::Gone),
            Err(e) => return Err(self.fail(rel, "deleting", e)),
        };
        let answer = self
            .runtime
            .block_on(signed.delete_version(&self.url.key(rel), version.as_deref()))
            .map_err(|e| self.fail(rel, "deleting", e))?;
        match answer.status {
            200..=299 | 404 => Ok(Deleted::Gone),
            403 | 409 => Ok(Deleted::Refused(answer.detail())),
            _ => Err(self.fail(rel, "deleting", answer.detail())),
        }
    }
}

/// Whether an Azure error is a refusal to delete (an immutability policy, a legal hold).
fn refused(error: &str) -> bool {
    error.contains("409") || error.contains("Immutab") || error.contains("LegalHold")
}
