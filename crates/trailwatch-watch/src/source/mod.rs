//! Sources: where objects come from — a local folder, an S3 bucket, an Azure Blob container.
//!
//! Local folders are walked directly (that is how a replaced file is told from a grown one:
//! its inode). Buckets and containers: one listing per poll below the configured prefix (every
//! account, region and organization layout found), made with plain requests ([`crate::rest`])
//! so that every key is listed under its exact name, whatever it holds; ranged reads of what is
//! new in an object through the `object_store` crate, or plain requests for a key it cannot
//! name (`..` segments, control characters).

use crate::config::{SourceConfig, SourceKind};
use crate::error::WatchError;
use crate::rest::Rest;
use crate::sqs::Queue;
use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::runtime::Runtime;

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key relative to the source (local: the path below the folder, `/`-separated).
    pub key: String,
    pub size: u64,
    /// Changes whenever the content does (ETag; for local files mtime and size).
    pub version: String,
    /// Changes when the object is replaced rather than grown (a local file's inode).
    pub identity: Option<String>,
    /// Last-modified time, ms since the epoch.
    pub modified_ms: i64,
}

enum Backend {
    Local {
        root: PathBuf,
    },
    Remote {
        store: Arc<dyn ObjectStore>,
        /// Listings, and reads of keys `store` cannot name.
        rest: Box<Rest>,
        /// The key prefix listed (ending in `/`).
        prefix: Option<String>,
        scheme: String,
        /// S3 event notifications for this bucket, and the bucket's name in them.
        queue: Option<(Queue, String)>,
    },
}

/// Notifications read at most per poll; the rest wait for the next one.
const MAX_NOTICES_PER_POLL: usize = 1_000;

/// What a queue said: the objects it named (as they are now), and the receipts of the
/// messages to delete once those objects are checkpointed.
#[derive(Debug, Default)]
pub struct Notified {
    pub objects: Vec<ObjectInfo>,
    pub receipts: Vec<String>,
}

/// One configured source.
pub struct Source {
    pub name: String,
    backend: Backend,
    /// Objects never grow in place (S3): each version is read whole.
    pub immutable: bool,
}

impl Source {
    /// Builds a source from its configuration; credentials named by `*_env` keys are read
    /// from the environment now.
    pub fn from_config(c: &SourceConfig) -> Result<Source, WatchError> {
        let fail = |reason: String| WatchError::Source {
            source_name: c.name.clone(),
            reason,
        };
        let (backend, immutable) = match &c.kind {
            SourceKind::Local { path, .. } => (Backend::Local { root: path.clone() }, false),
            SourceKind::S3 { .. } => (s3_backend(&c.kind).map_err(fail)?, true),
            SourceKind::Azure { .. } => (azure_backend(&c.kind).map_err(fail)?, false),
        };
        Ok(Source {
            name: c.name.clone(),
            backend,
            immutable,
        })
    }

    /// A local source over `root` (tests, the built-in inbox).
    pub fn local(name: impl Into<String>, root: impl Into<PathBuf>) -> Source {
        Source {
            name: name.into(),
            backend: Backend::Local { root: root.into() },
            immutable: false,
        }
    }

    /// How an object is named in messages: `s3://bucket/key`, or the local path.
    pub fn describe(&self, key: &str) -> String {
        match &self.backend {
            Backend::Local { root } => root.join(key).display().to_string(),
            Backend::Remote { scheme, .. } => format!("{scheme}/{key}"),
        }
    }

    /// Creates a missing local folder (so that a fresh inbox can be watched); a no-op for
    /// buckets and containers.
    pub fn prepare(&self) -> Result<(), WatchError> {
        if let Backend::Local { root } = &self.backend {
            std::fs::create_dir_all(root).map_err(|source| WatchError::Io {
                what: root.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    /// Every object below the source (its logs or not: the caller classifies the keys).
    pub fn list(&self, rt: &Runtime) -> Result<Vec<ObjectInfo>, WatchError> {
        match &self.backend {
            Backend::Local { root } => list_local(&self.name, root),
            // Listed with plain requests: one key `object_store` cannot name would fail its
            // whole listing.
            Backend::Remote { rest, prefix, .. } => rt
                .block_on(rest.list(prefix.as_deref()))
                .map_err(|reason| WatchError::Source {
                    source_name: self.name.clone(),
                    reason,
                }),
        }
    }

    /// Whether objects are announced by a queue (then [`Source::notified`] replaces most
    /// listings).
    pub fn has_queue(&self) -> bool {
        matches!(&self.backend, Backend::Remote { queue: Some(_), .. })
    }

    /// The objects the queue's pending messages name below the prefix, each looked up now
    /// (an object deleted since is left out). Without a queue: nothing.
    pub fn notified(&self, rt: &Runtime) -> Result<Notified, WatchError> {
        let Backend::Remote {
            prefix,
            queue: Some((queue, bucket)),
            ..
        } = &self.backend
        else {
            return Ok(Notified::default());
        };
        let fail = |reason: String| WatchError::Source {
            source_name: self.name.clone(),
            reason,
        };
        let notices = rt
            .block_on(queue.receive(bucket, MAX_NOTICES_PER_POLL))
            .map_err(|e| fail(format!("queue: {e}")))?;
        let mut keys: Vec<&String> = notices.iter().flat_map(|n| &n.keys).collect();
        keys.sort();
        keys.dedup();
        let mut objects = Vec::new();
        for key in keys {
            if prefix
                .as_ref()
                .is_some_and(|p| !key.starts_with(p.as_str()))
            {
                continue;
            }
            match self.head(rt, key) {
                Ok(Some(info)) => objects.push(info),
                Ok(None) => {}
                Err(e) => return Err(fail(format!("{key}: {e}"))),
            }
        }
        Ok(Notified {
            objects,
            receipts: notices.into_iter().map(|n| n.receipt).collect(),
        })
    }

    /// Deletes queue messages whose objects are checkpointed.
    pub fn acknowledge(&self, rt: &Runtime, receipts: &[String]) -> Result<(), WatchError> {
        if let Backend::Remote {
            queue: Some((queue, _)),
            ..
        } = &self.backend
        {
            rt.block_on(queue.delete(receipts))
                .map_err(|reason| WatchError::Source {
                    source_name: self.name.clone(),
                    reason: format!("queue: {reason}"),
                })?;
        }
        Ok(())
    }

    /// The bytes of `range` of an object; the error says why it could not be read.
    pub fn read(&self, rt: &Runtime, key: &str, range: Range<u64>) -> Result<Bytes, String> {
        match &self.backend {
            Backend::Local { root } => {
                let path = root.join(key);
                let mut f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
                f.seek(SeekFrom::Start(range.start))
                    .map_err(|e| e.to_string())?;
                let len = range.end.saturating_sub(range.start);
                let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
                f.take(len)
                    .read_to_end(&mut buf)
                    .map_err(|e| e.to_string())?;
                if (buf.len() as u64) < len {
                    return Err(format!(
                        "shorter than listed: {} bytes at {}, expected {len}",
                        buf.len(),
                        range.start
                    ));
                }
                Ok(Bytes::from(buf))
            }
            Backend::Remote { store, rest, .. } => {
                if range.is_empty() {
                    return Ok(Bytes::new());
                }
                match store_path(key) {
                    Some(loc) => rt
                        .block_on(store.get_range(&loc, range))
                        .map_err(|e| e.to_string()),
                    None => rt.block_on(rest.get_range(key, range)),
                }
            }
        }
    }

    /// An object of a bucket or container as it is now, looked up by its exact key; `None`
    /// when there is none (or the source is a folder).
    fn head(&self, rt: &Runtime, key: &str) -> Result<Option<ObjectInfo>, String> {
        let Backend::Remote { store, rest, .. } = &self.backend else {
            return Ok(None);
        };
        let Some(loc) = store_path(key) else {
            return rt.block_on(rest.head(key));
        };
        match rt.block_on(store.head(&loc)) {
            Ok(meta) => Ok(Some(info_of(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn info_of(m: &object_store::ObjectMeta) -> ObjectInfo {
    let modified_ms = m.last_modified.timestamp_millis();
    ObjectInfo {
        key: m.location.as_ref().to_string(),
        size: m.size,
        version: m
            .e_tag
            .clone()
            .unwrap_or_else(|| format!("{}-{modified_ms}", m.size)),
        identity: None,
        modified_ms,
    }
}

fn env(var: &str) -> Result<String, String> {
    std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
}

/// The key prefix a configured prefix names: `logs` and `/logs/` list below `logs/`.
fn prefix_of(p: &str) -> Option<String> {
    let p = p.trim_matches('/');
    (!p.is_empty()).then(|| format!("{p}/"))
}

fn s3_backend(kind: &SourceKind) -> Result<Backend, String> {
    let SourceKind::S3 {
        bucket,
        prefix,
        region,
        endpoint,
        allow_http,
        access_key_id,
        secret_access_key_env,
        sqs_queue_url,
        ..
    } = kind
    else {
        return Err("not an S3 source".into());
    };
    let mut b = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_allow_http(*allow_http);
    if let Some(r) = region {
        b = b.with_region(r);
    }
    if let Some(e) = endpoint {
        b = b.with_endpoint(e);
    }
    if let Some(k) = access_key_id {
        b = b.with_access_key_id(k);
    }
    if let Some(var) = secret_access_key_env {
        b = b.with_secret_access_key(env(var)?);
    }
    let store = b.clone().build().map_err(|e| e.to_string())?;
    let credentials = Arc::clone(store.credentials());
    let queue = match sqs_queue_url {
        Some(url) => Some((
            Queue::new(
                url,
                region.as_deref(),
                *allow_http,
                Arc::clone(&credentials),
            )?,
            bucket.clone(),
        )),
        None => None,
    };
    Ok(Backend::Remote {
        rest: Box::new(Rest::s3(&b, credentials, *allow_http)?),
        store: Arc::new(store),
        prefix: prefix_of(prefix),
        scheme: format!("s3://{bucket}"),
        queue,
    })
}

fn azure_backend(kind: &SourceKind) -> Result<Backend, String> {
    let SourceKind::Azure {
        account,
        container,
        prefix,
        endpoint,
        allow_http,
        access_key_env,
        ..
    } = kind
    else {
        return Err("not an Azure source".into());
    };
    let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
        .with_account(account)
        .with_container_name(container)
        .with_allow_http(*allow_http);
    if let Some(e) = endpoint {
        b = b.with_endpoint(e.clone());
    }
    if let Some(var) = access_key_env {
        b = b.with_access_key(env(var)?);
    }
    let store = b.clone().build().map_err(|e| e.to_string())?;
    Ok(Backend::Remote {
        rest: Box::new(Rest::azure(
            &b,
            Arc::clone(store.credentials()),
            *allow_http,
        )?),
        store: Arc::new(store),
        prefix: prefix_of(prefix),
        scheme: format!("azure://{account}/{container}"),
        queue: None,
    })
}

/// The `object_store` path naming exactly `key`, when there is one (`Path` refuses `.`, `..`
/// and empty segments and control characters, and drops a leading or trailing `/`).
fn store_path(key: &str) -> Option<StorePath> {
    StorePath::parse(key).ok().filter(|p| p.as_ref() == key)
}

fn list_local(name: &str, root: &std::path::Path) -> Result<Vec<ObjectInfo>, WatchError> {
    if !root.is_dir() {
        return Err(WatchError::Source {
            source_name: name.to_string(),
            reason: format!("{}: not a folder", root.display()),
        });
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let Ok(entry) = entry else {
            // A file removed while walking, an unreadable folder: looked at again next poll.
            continue;
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let modified_ms = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        #[cfg(unix)]
        let identity = {
            use std::os::unix::fs::MetadataExt;
            Some(format!("{}:{}", meta.dev(), meta.ino()))
        };
        #[cfg(not(unix))]
        let identity = None;
        out.push(ObjectInfo {
            key,
            size: meta.len(),
            version: format!("{}-{modified_ms}", meta.len()),
            identity,
            modified_ms,
        });
    }
    Ok(out)
}
