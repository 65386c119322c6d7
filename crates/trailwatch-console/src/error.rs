use thiserror::Error;

/// What can go wrong in the console, its database and its command-line helpers.
#[derive(Debug, Error)]
pub enum ConsoleError {
    #[error("console database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("user {0:?} already exists")]
    UserExists(String),
    #[error("no user {0:?}")]
    NoUser(String),
    #[error("user name {0:?}: 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadUserName(String),
    #[error("password: {0}")]
    BadPassword(&'static str),
    #[error("unknown role {0:?} (expected viewer, responder or admin)")]
    UnknownRole(String),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("random numbers: {0}")]
    Random(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("outbox: {0}")]
    Outbox(#[from] trailwatch_sink::OutboxError),
    #[error("query: {0}")]
    Query(#[from] trailwatch_query::QueryError),
    #[error("store: {0}")]
    Store(#[from] trailwatch_store::StoreError),
    #[error("investigation: {0}")]
    Recover(#[from] trailwatch_recover::RecoverError),
    #[error("watch state: {0}")]
    Watch(#[from] trailwatch_watch::WatchError),
}
