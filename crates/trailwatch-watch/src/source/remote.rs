//! What buckets and containers share: listings with plain requests, reads through
//! `object_store` (or plain requests for keys it cannot name).

use super::rest::Rest;
use super::ObjectInfo;
use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::ops::Range;
use std::sync::Arc;
use tokio::runtime::Runtime;

/// A bucket or container below a prefix.
pub(crate) struct Remote {
    pub(crate) store: Arc<dyn ObjectStore>,
    /// Listings, and reads of keys `store` cannot name.
    pub(crate) rest: Box<Rest>,
    /// The key prefix listed (ending in `/`).
    pub(crate) prefix: Option<String>,
    /// `s3://bucket`, `azure://account/container`: how keys are named in messages.
    pub(crate) scheme: String,
}

impl Remote {
    pub(crate) fn describe(&self, key: &str) -> String {
        format!("{}/{key}", self.scheme)
    }

    /// Listed with plain requests: one key `object_store` cannot name would fail its whole
    /// listing.
    pub(crate) fn list(&self, rt: &Runtime) -> Result<Vec<ObjectInfo>, String> {
        rt.block_on(self.rest.list(self.prefix.as_deref()))
    }

    /// Whether `key` is below the listed prefix.
    pub(crate) fn covers(&self, key: &str) -> bool {
        self.prefix
            .as_ref()
            .is_none_or(|p| key.starts_with(p.as_str()))
    }

    pub(crate) fn read(&self, rt: &Runtime, key: &str, range: Range<u64>) -> Result<Bytes, String> {
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        match store_path(key) {
            Some(loc) => rt
                .block_on(self.store.get_range(&loc, range))
                .map_err(|e| e.to_string()),
            None => rt.block_on(self.rest.get_range(key, range)),
        }
    }

    /// An object as it is now, looked up by its exact key; `None` when there is none.
    pub(crate) fn head(&self, rt: &Runtime, key: &str) -> Result<Option<ObjectInfo>, String> {
        let Some(loc) = store_path(key) else {
            return rt.block_on(self.rest.head(key));
        };
        match rt.block_on(self.store.head(&loc)) {
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

/// The key prefix a configured prefix names: `logs` and `/logs/` list below `logs/`.
pub(crate) fn prefix_of(p: &str) -> Option<String> {
    let p = p.trim_matches('/');
    (!p.is_empty()).then(|| format!("{p}/"))
}

/// The `object_store` path naming exactly `key`, when there is one (`Path` refuses `.`, `..`
/// and empty segments and control characters, and drops a leading or trailing `/`).
fn store_path(key: &str) -> Option<StorePath> {
    StorePath::parse(key).ok().filter(|p| p.as_ref() == key)
}
