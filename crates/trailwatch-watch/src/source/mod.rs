//! Sources: where objects come from — a local folder, an S3 bucket, an Azure Blob container.
//!
//! Every kind is an [`ObjectSource`] (list, notified, read, acknowledge), built from its
//! configuration: a struct beside its code (`local.rs`, `s3.rs`, `azure.rs`) implementing
//! [`BuildSource`]. [`SourceKind`] holds one of them, chosen by the `kind` key of a
//! `[[sources]]` table. A new kind of source is a new file here and a variant of
//! [`SourceKind`]; the watcher only sees the traits.
//!
//! Buckets and containers share [`remote::Remote`]: one listing per poll below the configured
//! prefix made with plain requests ([`rest`]) so that every key is listed under its exact name,
//! whatever it holds; ranged reads through the `object_store` crate, or plain requests for a
//! key it cannot name (`..` segments, control characters).

mod azure;
mod local;
mod remote;
pub(crate) mod rest;
mod s3;
pub mod sqs;

pub use azure::AzureSourceConfig;
pub use local::LocalSourceConfig;
pub use s3::S3SourceConfig;

use crate::config::Coverage;
use crate::error::WatchError;
use bytes::Bytes;
use serde::Deserialize;
use std::ops::Range;
use std::time::Duration;
use tokio::runtime::Runtime;
use trailwatch_model::Provider;

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

/// What a queue said: the objects it named (as they are now), and the receipts of the
/// messages to delete once those objects are checkpointed.
#[derive(Debug, Default)]
pub struct Notified {
    pub objects: Vec<ObjectInfo>,
    pub receipts: Vec<String>,
}

/// Where a watch reads objects from. Calls that reach a service block on `rt`.
pub trait ObjectSource: Send {
    /// How an object is named in messages: `s3://bucket/key`, or the local path.
    fn describe(&self, key: &str) -> String;

    /// Whether objects never grow in place (S3): each version is then read whole.
    fn immutable(&self) -> bool {
        false
    }

    /// Makes the source ready to be listed (a local inbox folder is created).
    fn prepare(&self) -> Result<(), String> {
        Ok(())
    }

    /// Every object below the source (its logs or not: the caller classifies the keys).
    fn list(&self, rt: &Runtime) -> Result<Vec<ObjectInfo>, String>;

    /// Whether objects are announced by a queue (then [`ObjectSource::notified`] replaces
    /// most listings).
    fn has_queue(&self) -> bool {
        false
    }

    /// The objects the queue's pending messages name, each looked up now (an object
    /// deleted since is left out). Without a queue: nothing.
    fn notified(&self, _rt: &Runtime) -> Result<Notified, String> {
        Ok(Notified::default())
    }

    /// Deletes queue messages whose objects are checkpointed.
    fn acknowledge(&self, _rt: &Runtime, _receipts: &[String]) -> Result<(), String> {
        Ok(())
    }

    /// The bytes of `range` of an object; the error says why it could not be read.
    fn read(&self, rt: &Runtime, key: &str, range: Range<u64>) -> Result<Bytes, String>;
}

/// What the configuration of each source kind does; [`SourceKind`] dispatches to it.
pub trait BuildSource {
    /// Checks what the types cannot (run when the configuration is read).
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }

    /// The names of the environment variables holding the source's secrets, for redaction.
    fn secret_vars(&self) -> Vec<&str> {
        Vec::new()
    }

    /// What is expected of the source (accounts, regions, the longest silence).
    fn coverage(&self) -> &Coverage;

    /// The cloud whose logs the source holds.
    fn provider(&self) -> Provider;

    /// With a queue: how often the source is still listed in full.
    fn full_list_interval(&self) -> Duration {
        DEFAULT_FULL_LIST_INTERVAL
    }

    /// The source, its credentials read from the environment variables configured.
    fn build(&self) -> Result<Box<dyn ObjectSource>, String>;
}

/// The default `full_list_interval` of a source with a queue.
pub const DEFAULT_FULL_LIST_INTERVAL: Duration = Duration::from_secs(3600);

/// What a source reads: `kind` and that kind's keys. Unknown keys are errors naming the key.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceKind {
    /// A local folder, recursively: new files and files that grow; a file replaced by another
    /// (rotation) is read from its start.
    Local(LocalSourceConfig),
    /// An S3 bucket (or a compatible service) below a prefix: every
    /// `AWSLogs/<account>/CloudTrail/<region>/…` and `AWSLogs/<org-id>/<account>/…` object.
    S3(S3SourceConfig),
    /// An Azure Blob container (`insights-activity-logs`): new blobs and appended `PT1H.json`
    /// blobs, read incrementally.
    Azure(AzureSourceConfig),
}

impl SourceKind {
    /// The kind's own configuration.
    pub fn config(&self) -> &dyn BuildSource {
        match self {
            SourceKind::Local(c) => c,
            SourceKind::S3(c) => c,
            SourceKind::Azure(c) => c,
        }
    }

    /// What is expected of the source.
    pub fn coverage(&self) -> &Coverage {
        self.config().coverage()
    }
}

/// One configured source, built.
pub struct Source {
    pub name: String,
    objects: Box<dyn ObjectSource>,
}

impl Source {
    /// Builds a source from its configuration; credentials named by `*_env` keys are read
    /// from the environment now.
    pub fn from_config(c: &crate::config::SourceConfig) -> Result<Source, WatchError> {
        let config = c.kind.config();
        let objects = config
            .validate()
            .and_then(|()| config.build())
            .map_err(|reason| source_error(&c.name, reason))?;
        Ok(Source {
            name: c.name.clone(),
            objects,
        })
    }

    /// A local source over `root` (tests, the built-in inbox).
    pub fn local(name: impl Into<String>, root: impl Into<std::path::PathBuf>) -> Source {
        Source {
            name: name.into(),
            objects: Box::new(local::LocalSource::new(root.into())),
        }
    }

    /// How an object is named in messages.
    pub fn describe(&self, key: &str) -> String {
        self.objects.describe(key)
    }

    /// Whether objects never grow in place: each version is read whole.
    pub fn immutable(&self) -> bool {
        self.objects.immutable()
    }

    /// Makes the source ready to be listed.
    pub fn prepare(&self) -> Result<(), WatchError> {
        self.objects.prepare().map_err(|r| self.error(r))
    }

    /// Every object below the source.
    pub fn list(&self, rt: &Runtime) -> Result<Vec<ObjectInfo>, WatchError> {
        self.objects.list(rt).map_err(|r| self.error(r))
    }

    /// Whether objects are announced by a queue.
    pub fn has_queue(&self) -> bool {
        self.objects.has_queue()
    }

    /// The objects the queue's pending messages name.
    pub fn notified(&self, rt: &Runtime) -> Result<Notified, WatchError> {
        self.objects.notified(rt).map_err(|r| self.error(r))
    }

    /// Deletes queue messages whose objects are checkpointed.
    pub fn acknowledge(&self, rt: &Runtime, receipts: &[String]) -> Result<(), WatchError> {
        self.objects
            .acknowledge(rt, receipts)
            .map_err(|r| self.error(r))
    }

    /// The bytes of `range` of an object; the error says why it could not be read.
    pub fn read(&self, rt: &Runtime, key: &str, range: Range<u64>) -> Result<Bytes, String> {
        self.objects.read(rt, key, range)
    }

    fn error(&self, reason: String) -> WatchError {
        source_error(&self.name, reason)
    }
}

fn source_error(name: &str, reason: String) -> WatchError {
    WatchError::Source {
        source_name: name.to_string(),
        reason,
    }
}

/// The value of an environment variable naming a secret.
fn env(var: &str) -> Result<String, String> {
    std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn one_source(text: &str) -> crate::config::SourceConfig {
        let mut c = Config::parse(text).expect("valid configuration");
        c.sources.remove(0)
    }

    #[test]
    fn each_kind_builds_from_its_own_keys_and_names_its_secrets() {
        let s3 = one_source(
            "[[sources]]\nname = \"trail\"\nkind = \"s3\"\nbucket = \"b\"\n\
             secret_access_key_env = \"TW_TEST_UNSET_SECRET\"\nsqs_queue_url = \"http://127.0.0.1:1/q\"\n\
             full_list_interval = \"10m\"\n",
        );
        let config = s3.kind.config();
        assert_eq!(config.secret_vars(), ["TW_TEST_UNSET_SECRET"]);
        assert_eq!(config.provider(), Provider::Aws);
        assert_eq!(config.full_list_interval(), Duration::from_secs(600));
        let Err(e) = Source::from_config(&s3) else {
            panic!("a source whose secret is not set must not build");
        };
        assert_eq!(
            e.to_string(),
            "source trail: environment variable TW_TEST_UNSET_SECRET is not set"
        );

        let azure = one_source(
            "[[sources]]\nname = \"act\"\nkind = \"azure\"\naccount = \"a\"\ncontainer = \"c\"\n",
        );
        assert_eq!(azure.kind.config().provider(), Provider::Azure);
        assert_eq!(
            azure.kind.config().full_list_interval(),
            DEFAULT_FULL_LIST_INTERVAL
        );
        assert!(azure.kind.config().secret_vars().is_empty());
    }

    #[test]
    fn a_local_source_lists_and_reads_ranges_and_refuses_a_file_as_its_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("inbox");
        let source = Source::local("inbox", &root);
        source.prepare().expect("creates the folder");
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::write(root.join("a/b/x.json"), b"0123456789").expect("write");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let listed = source.list(&rt).expect("lists");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].key, "a/b/x.json");
        assert_eq!(listed[0].size, 10);
        assert!(!source.immutable());
        assert_eq!(
            &source.read(&rt, "a/b/x.json", 3..6).expect("reads")[..],
            b"345"
        );
        let short = source
            .read(&rt, "a/b/x.json", 8..20)
            .expect_err("past the end");
        assert!(short.contains("shorter than listed"), "{short}");

        let file = root.join("a/b/x.json");
        let text = format!(
            "[[sources]]\nname = \"f\"\nkind = \"local\"\npath = {:?}\n",
            file.display().to_string()
        );
        let Err(e) = Source::from_config(&one_source(&text)) else {
            panic!("a file is not a folder");
        };
        assert!(e.to_string().ends_with("is not a folder"), "{e}");
    }
}
