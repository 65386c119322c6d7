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
    /// The async runtime (or a query's timer thread) could not be started.
    #[error("starting the query runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A limited query ran out of time and was cancelled.
    #[error("query stopped: it ran past its time limit of {}", human_duration(*.limit))]
    Timeout {
        /// The limit it ran into.
        limit: std::time::Duration,
    },
    /// The query needed more memory than the session's pool holds (and could not spill).
    #[error("query stopped: it needed more than its memory limit of {} ({detail})", human_bytes(*.limit))]
    MemoryLimit {
        /// The pool size, bytes.
        limit: usize,
        /// DataFusion's account of who held what.
        detail: String,
    },
    /// The query's spill files outgrew their cap on disk ([`crate::SPILL_FACTOR`] times the
    /// memory limit).
    #[error("query stopped: its spill files outgrew their cap of {} on disk ({}× its memory limit)", human_bytes(usize::try_from(*.limit).unwrap_or(usize::MAX)), crate::SPILL_FACTOR)]
    SpillLimit {
        /// The cap, bytes.
        limit: u64,
    },
}

/// `2 GiB`, `512 MiB`, `1.5 GiB`, `100 KiB`, `12 bytes`.
pub fn human_bytes(n: usize) -> String {
    const UNITS: [(&str, f64); 3] = [("GiB", 1073741824.0), ("MiB", 1048576.0), ("KiB", 1024.0)];
    for (unit, size) in UNITS {
        let v = n as f64 / size;
        if v >= 1.0 {
            return if v.fract() == 0.0 {
                format!("{v:.0} {unit}")
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{n} bytes")
}

/// `60 s`, `1.5 s`, `250 ms`.
pub fn human_duration(d: std::time::Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() > 0 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Result with [`QueryError`].
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
