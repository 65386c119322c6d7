//! Query: SQL over trailwatch's audit store, through Apache DataFusion.
//!
//! The store (written by `trailwatch-store`) is a directory of Hive-style partitions,
//! `provider=<aws|azure|entra>/dt=<YYYY-MM-DD>/part-*.parquet`, beside `_ledger/`, `_tmp/` and
//! `_sources.jsonl`, which this crate ignores. The Parquet files hold the columns of
//! [`schema`]; `provider` and `dt` are not in the files but come from the path.
//!
//! - [`Query::open`] registers the table `events` (a DataFusion `ListingTable` over the directory,
//!   partition columns `provider` and `dt`, statistics collected) and the views `aws`, `azure`, `entra`,
//!   `failures` (`outcome = 'failure'`) and `console_logins` (`action = 'ConsoleLogin'`). A
//!   missing or empty store is an empty `events`, not an error.
//! - [`Query::sql_limited`] runs one under a time limit and a row cap ([`RunLimits`]); every
//!   query runs under the session's memory pool ([`SessionLimits`], 2 GiB by default).
//! - [`Query::sql`] runs one read-only statement (DDL, DML and `SET` are refused: user SQL can
//!   neither write files nor register other ones) and returns the batches;
//!   [`Query::sql_stream`] yields them as they come. The API is synchronous: [`Query`] owns a
//!   Tokio runtime and blocks on it.
//! - [`to_table`], [`to_json_lines`], [`to_json`], [`to_csv`]: the CLI's output formats. The
//!   log fields are attacker-controlled, so the table escapes control characters (no terminal
//!   escape sequences get through) and the CSV neutralises formula cells (`=`, `+`, `-`, `@`,
//!   tab, CR at the start get a `'` before them).
//! - [`SearchFilter`] / [`search`]: the SQL behind `trailwatch search`, every value quoted
//!   ([`sql_string`]) and the action glob turned into an escaped `LIKE` ([`glob_to_like`]).
//!
//! # Time-range pruning
//!
//! DataFusion prunes *partitions* (whole `dt=` directories, never listed or opened) only on
//! predicates over the partition columns, and prunes *row groups* inside the files it opens
//! on the `time` column's statistics. A filter on `time` alone therefore opens every file's
//! footer; a filter that also names `dt` reads only that day's directories. Write time ranges
//! with [`Query::time_filter_sql`], which produces both:
//!
//! ```text
//! dt BETWEEN '2024-03-01' AND '2024-03-02' AND time BETWEEN <since> AND <until>
//! ```
//!
//! The tests check with `EXPLAIN` that such a query scans exactly the files of the named days.

mod error;
mod limits;
mod output;
mod query;
mod search;

pub use error::{human_bytes, human_duration, QueryError, Result};
pub use limits::{
    Capped, RunLimits, SessionLimits, DEFAULT_MAX_ROWS, DEFAULT_MEMORY_LIMIT, DEFAULT_TIMEOUT,
    SPILL_FACTOR,
};
pub use output::{neutralise_csv_cell, to_csv, to_json, to_json_lines, to_table};
pub use query::{schema, table_schema, BatchStream, Query, EVENTS_TABLE, PARTITION_COLUMNS, VIEWS};
pub use search::{glob_to_like, search, sql_string, SearchFilter, SEARCH_COLUMNS};

/// DataFusion's Arrow, re-exported so callers name the same `RecordBatch` type.
pub use datafusion::arrow;
pub use datafusion::arrow::record_batch::RecordBatch;
