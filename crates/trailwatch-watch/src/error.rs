//! What can go wrong watching.

use thiserror::Error;

/// A failure of the watcher. Problems with one object are not errors of the watcher: they are
/// reported (naming the object) and the other objects are processed.
#[derive(Debug, Error)]
pub enum WatchError {
    #[error("{file}: {reason}")]
    Config { file: String, reason: String },
    #[error("source {source_name}: {reason}")]
    Source { source_name: String, reason: String },
    #[error("checkpoint database {path}: {source}")]
    State {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store: {0}")]
    Store(#[from] trailwatch_store::StoreError),
    #[error("outbox: {0}")]
    Outbox(#[from] trailwatch_sink::OutboxError),
    #[error("sink {name}: {source}")]
    Sink {
        name: String,
        #[source]
        source: trailwatch_sink::SinkError,
    },
    #[error("{0}")]
    AnchorBucket(#[from] crate::anchor_bucket::AnchorBucketError),
    #[error("{0}")]
    Remote(#[from] trailwatch_remote::RemoteError),
    #[error("rules: {0}")]
    Rules(String),
    #[error("detection: {0}")]
    Pipeline(#[from] trailwatch_detect::PipelineError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}
