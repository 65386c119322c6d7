//! An S3 bucket (or a compatible service) below a prefix, optionally driven by the bucket's
//! event notifications on an SQS queue ([`super::sqs`]).

use super::remote::{prefix_of, Remote};
use super::rest::Rest;
use super::sqs::Queue;
use super::{env, BuildSource, Notified, ObjectInfo, ObjectSource};
use crate::config::{de_opt_duration, Coverage};
use bytes::Bytes;
use serde::Deserialize;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use trailwatch_model::Provider;

/// Notifications read at most per poll; the rest wait for the next one.
const MAX_NOTICES_PER_POLL: usize = 1_000;

/// `kind = "s3"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3SourceConfig {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub region: Option<String>,
    /// Another endpoint (S3-compatible service, a test server).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub allow_http: bool,
    /// Credentials; default from the environment (`AWS_ACCESS_KEY_ID`, …, instance
    /// metadata). `secret_access_key_env` names a variable holding the secret.
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    /// An SQS queue receiving the bucket's S3 event notifications (directly, through SNS,
    /// or CloudTrail's own SNS notifications): objects are found from its messages instead
    /// of a listing every poll. The bucket is still listed in full at start and every
    /// `full_list_interval`, so that a lost or expired message loses nothing.
    #[serde(default)]
    pub sqs_queue_url: Option<String>,
    /// Default one hour with a queue; without one every poll lists.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub full_list_interval: Option<Duration>,
    #[serde(default)]
    pub coverage: Coverage,
}

impl BuildSource for S3SourceConfig {
    fn validate(&self) -> Result<(), String> {
        if self.bucket.is_empty() {
            return Err("empty bucket".into());
        }
        Ok(())
    }

    fn secret_vars(&self) -> Vec<&str> {
        self.secret_access_key_env
            .iter()
            .map(String::as_str)
            .collect()
    }

    fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    fn provider(&self) -> Provider {
        Provider::Aws
    }

    fn full_list_interval(&self) -> Duration {
        self.full_list_interval
            .unwrap_or(super::DEFAULT_FULL_LIST_INTERVAL)
    }

    fn build(&self) -> Result<Box<dyn ObjectSource>, String> {
        let mut b = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_allow_http(self.allow_http);
        if let Some(r) = &self.region {
            b = b.with_region(r);
        }
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(k) = &self.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(var) = &self.secret_access_key_env {
            b = b.with_secret_access_key(env(var)?);
        }
        let store = b.clone().build().map_err(|e| e.to_string())?;
        let credentials = Arc::clone(store.credentials());
        let queue = match &self.sqs_queue_url {
            Some(url) => Some(Queue::new(
                url,
                self.region.as_deref(),
                self.allow_http,
                Arc::clone(&credentials),
            )?),
            None => None,
        };
        let remote = Remote {
            rest: Box::new(Rest::s3(&b, credentials, self.allow_http)?),
            store: Arc::new(store),
            prefix: prefix_of(&self.prefix),
            scheme: format!("s3://{}", self.bucket),
        };
        Ok(Box::new(S3Source {
            remote,
            queue,
            bucket: self.bucket.clone(),
        }))
    }
}

/// A bucket, and the queue announcing its new objects.
struct S3Source {
    remote: Remote,
    queue: Option<Queue>,
    /// The bucket's name as notifications give it.
    bucket: String,
}

impl ObjectSource for S3Source {
    fn describe(&self, key: &str) -> String {
        self.remote.describe(key)
    }

    fn immutable(&self) -> bool {
        true
    }

    fn list(&self, rt: &Runtime) -> Result<Vec<ObjectInfo>, String> {
        self.remote.list(rt)
    }

    fn has_queue(&self) -> bool {
        self.queue.is_some()
    }

    fn notified(&self, rt: &Runtime) -> Result<Notified, String> {
        let Some(queue) = &self.queue else {
            return Ok(Notified::default());
        };
        let notices = rt
            .block_on(queue.receive(&self.bucket, MAX_NOTICES_PER_POLL))
            .map_err(|e| format!("queue: {e}"))?;
        let mut keys: Vec<&String> = notices.iter().flat_map(|n| &n.keys).collect();
        keys.sort();
        keys.dedup();
        let mut objects = Vec::new();
        for key in keys.into_iter().filter(|k| self.remote.covers(k)) {
            match self.remote.head(rt, key) {
                Ok(Some(info)) => objects.push(info),
                Ok(None) => {}
                Err(e) => return Err(format!("{key}: {e}")),
            }
        }
        Ok(Notified {
            objects,
            receipts: notices.into_iter().map(|n| n.receipt).collect(),
        })
    }

    fn acknowledge(&self, rt: &Runtime, receipts: &[String]) -> Result<(), String> {
        match &self.queue {
            Some(queue) => rt
                .block_on(queue.delete(receipts))
                .map_err(|reason| format!("queue: {reason}")),
            None => Ok(()),
        }
    }

    fn read(&self, rt: &Runtime, key: &str, range: Range<u64>) -> Result<Bytes, String> {
        self.remote.read(rt, key, range)
    }
}
