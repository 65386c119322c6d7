//! The errors of the outbox and of the sinks.

use thiserror::Error;

/// A failure of the durable outbox.
#[derive(Debug, Error)]
pub enum OutboxError {
    #[error("outbox database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("alert {id} stored in the outbox does not decode: {source}")]
    Decode {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("alert does not encode: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("no alert with id {0}")]
    NotFound(String),
    #[error("alert {id} is {state}: cannot {action} it")]
    InvalidTransition {
        id: String,
        state: &'static str,
        action: &'static str,
    },
    #[error("unknown alert state {0:?} (expected open, acked or resolved)")]
    UnknownState(String),
}

/// A failure to deliver one alert through one sink; the outbox retries it later.
#[derive(Debug, Error)]
pub enum SinkError {
    #[error("receiver answered HTTP {status}")]
    HttpStatus { status: u16 },
    #[error("HTTP transport: {0}")]
    HttpTransport(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("alert does not encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("sink configuration: {0}")]
    Config(String),
    #[error("sink {0:?} cannot carry a report")]
    Unsupported(String),
}
