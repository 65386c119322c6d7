//! The crate's error type.

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;

/// What can go wrong opening the store, running SQL or formatting results.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The SQL did not parse, plan or run; DataFusion's own message follows.
    #[error("query failed: {0}")]
    DataFusion(#[from] DataFusionError),
    /// Formatting the results (table, JSON, CSV) failed.
    #[error("formatting results: {0}")]
    Format(#[from] ArrowError),
    /// The store directory could not be opened.
    #[error("store {path}: {message}")]
    Store {
        /// The directory given.
        path: String,
        /// Why it could not be used.
        message: String,
    },
    /// The async runtime could not be started.
    #[error("starting the query runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Result with [`QueryError`].
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
