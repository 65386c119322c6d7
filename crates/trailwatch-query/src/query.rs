//! The session: the `events` table over the store directory, its views, and running SQL.

use std::mem::ManuallyDrop;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::{SQLOptions, SessionConfig, SessionContext};
use datafusion::execution::SendableRecordBatchStream;
use futures_util::StreamExt;
use trailwatch_store::schema::{PART_DT, PART_PROVIDER};

use crate::error::{QueryError, Result};
use crate::limits::{self, Capped, RunLimits, SessionLimits};
use crate::search::sql_string;

/// The name of the table over the whole store.
pub const EVENTS_TABLE: &str = "events";

/// The partition columns, in path order; both `Utf8`, both taken from the directory names
/// (the store's [`PART_PROVIDER`] and [`PART_DT`]).
pub const PARTITION_COLUMNS: [&str; 2] = [PART_PROVIDER, PART_DT];

/// The views registered over `events`: name and the `WHERE` clause that defines it.
pub const VIEWS: [(&str, &str); 5] = [
    ("aws", "provider = 'aws'"),
    ("azure", "provider = 'azure'"),
    ("entra", "provider = 'entra'"),
    ("failures", "outcome = 'failure'"),
    ("console_logins", "action = 'ConsoleLogin'"),
];

/// The columns of the store's Parquet files, in file order (without `provider` and `dt`,
/// which come from the path). `time` is milliseconds in UTC; `resources` is a list of strings
/// whose element field is Arrow's default (`item`).
///
/// The store owns this schema ([`trailwatch_store::schema()`], what its writer writes); the
/// table reads the files with exactly that one, so the two cannot drift apart.
pub fn schema() -> SchemaRef {
    trailwatch_store::schema()
}

/// The schema of the `events` table as SQL sees it: [`schema`] then `provider` and `dt`.
pub fn table_schema() -> SchemaRef {
    let file = schema();
    let mut fields: Vec<Field> = file.fields().iter().map(|f| f.as_ref().clone()).collect();
    for name in PARTITION_COLUMNS {
        fields.push(Field::new(name, DataType::Utf8, false));
    }
    Arc::new(Schema::new(fields))
}

/// A DataFusion session over one store directory.
///
/// Synchronous: it owns a Tokio runtime (one worker per core) and blocks on it, so it must not
/// be used from inside another Tokio runtime's async context.
///
/// Every query runs under the session's memory pool ([`SessionLimits`]); only
/// [`Query::sql_limited`] also limits time and rows.
pub struct Query {
    /// Shut down in the background when the session is dropped (see `Drop`).
    runtime: ManuallyDrop<tokio::runtime::Runtime>,
    ctx: SessionContext,
    limits: SessionLimits,
    /// Where DataFusion spills; removed with the session, whatever is still writing to it.
    spill_dir: tempfile::TempDir,
}

/// Dropping a session does not wait for its runtime's threads: a cancelled query's task may be
/// inside a long computation (a nested-loop join filtering a large batch pair does not yield
/// until it is done), and waiting for it would undo the time limit. Those threads finish their
/// step in the background and exit.
impl Drop for Query {
    fn drop(&mut self) {
        // SAFETY: `runtime` is taken once, here, and never used again: `self` is being dropped.
        let runtime = unsafe { ManuallyDrop::take(&mut self.runtime) };
        runtime.shutdown_background();
    }
}

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query").finish_non_exhaustive()
    }
}

impl Query {
    /// Opens the store at `store_dir`: registers `events` and the [`VIEWS`]. The directory is
    /// listed per query, so files committed after `open` are seen by later queries. A missing
    /// or empty directory gives an empty `events`. Queries run under the default
    /// [`SessionLimits`] (a 2 GiB memory pool).
    pub fn open(store_dir: impl AsRef<Path>) -> Result<Query> {
        Self::open_with(store_dir, SessionLimits::default())
    }

    /// [`Query::open`] with the memory pool of `limits`.
    pub fn open_with(store_dir: impl AsRef<Path>, limits: SessionLimits) -> Result<Query> {
        let dir = store_dir.as_ref();
        let store_err = |message: String| QueryError::Store {
            path: dir.display().to_string(),
            message,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(store_err("not a directory".into()));
        }
        let absolute =
            std::path::absolute(dir).map_err(|e| store_err(format!("resolving path: {e}")))?;
        // The trailing separator makes DataFusion treat the path as a directory (a prefix)
        // even when it does not exist yet.
        let mut url_text = absolute.to_string_lossy().into_owned();
        if !url_text.ends_with(std::path::MAIN_SEPARATOR) {
            url_text.push(std::path::MAIN_SEPARATOR);
        }
        let url = ListingTableUrl::parse(&url_text)?;

        let runtime = new_runtime()?;

        let config = SessionConfig::new()
            .with_collect_statistics(true)
            .with_information_schema(true);
        let spill_dir = tempfile::Builder::new()
            .prefix("trailwatch-query-")
            .tempdir()
            .map_err(|e| store_err(format!("creating a spill directory: {e}")))?;
        let ctx = SessionContext::new_with_config_rt(config, limits.runtime_env(spill_dir.path())?);

        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(
                PARTITION_COLUMNS
                    .iter()
                    .map(|name| (name.to_string(), DataType::Utf8))
                    .collect(),
            );
        let table_config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(schema());
        let table = ListingTable::try_new(table_config)?;
        ctx.register_table(EVENTS_TABLE, Arc::new(table))?;

        let query = Query {
            runtime: ManuallyDrop::new(runtime),
            ctx,
            limits,
            spill_dir,
        };
        for (name, predicate) in VIEWS {
            query.runtime.block_on(async {
                query
                    .ctx
                    .sql(&format!(
                        "CREATE VIEW {name} AS SELECT * FROM {EVENTS_TABLE} WHERE {predicate}"
                    ))
                    .await?
                    .collect()
                    .await
            })?;
        }
        Ok(query)
    }

    /// The options user SQL runs under: queries only (`SELECT`, `WITH`, `EXPLAIN`, `SHOW`,
    /// `DESCRIBE`), no `CREATE`/`DROP`/`COPY`/`INSERT`/`SET`.
    fn read_only() -> SQLOptions {
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
    }

    /// Runs one read-only SQL statement and returns all its batches.
    pub fn sql(&self, text: &str) -> Result<Vec<RecordBatch>> {
        self.runtime.block_on(async {
            let frame = self.ctx.sql_with_options(text, Self::read_only()).await?;
            Ok(frame.collect().await?)
        })
    }

    /// Runs one read-only SQL statement under `limits`: at most `max_rows` rows are returned
    /// (the result stream is dropped at the cap, so the rest is not computed where the plan
    /// streams) and the query is cancelled when `timeout` passes ([`QueryError::Timeout`]).
    /// The rows held count against the session's memory pool; running out of it is
    /// [`QueryError::MemoryLimit`]. The query runs on a runtime of its own: cancelling is
    /// cooperative, and a task inside a step that does not yield (DataFusion's nested-loop join
    /// filtering one pair of batches) keeps its thread busy until that step ends; that thread
    /// then finishes in the background without holding up the session's later queries.
    pub fn sql_limited(&self, text: &str, limits: RunLimits) -> Result<Capped> {
        let plan = async {
            let frame = self.ctx.sql_with_options(text, Self::read_only()).await?;
            Ok::<_, QueryError>(frame.execute_stream().await?)
        };
        limits::run(
            &self.ctx.runtime_env().memory_pool,
            self.limits.memory_bytes,
            limits,
            plan,
        )
    }

    /// The directory DataFusion spills to (in the system's temporary directory); removed when
    /// the session is dropped. A process that ends otherwise should remove it itself.
    pub fn spill_dir(&self) -> &Path {
        self.spill_dir.path()
    }

    /// The limits the session was opened with.
    pub fn session_limits(&self) -> SessionLimits {
        self.limits
    }

    /// Runs one read-only SQL statement and yields its batches as they are produced, for
    /// results too large to hold at once.
    pub fn sql_stream(&self, text: &str) -> Result<BatchStream<'_>> {
        let stream = self.runtime.block_on(async {
            let frame = self.ctx.sql_with_options(text, Self::read_only()).await?;
            frame.execute_stream().await
        })?;
        Ok(BatchStream {
            runtime: &self.runtime,
            stream,
        })
    }

    /// The schema a statement's results will have, without running it.
    pub fn result_schema(&self, text: &str) -> Result<SchemaRef> {
        self.runtime.block_on(async {
            let frame = self.ctx.sql_with_options(text, Self::read_only()).await?;
            Ok(Arc::new(frame.schema().as_arrow().clone()))
        })
    }

    /// The DataFusion session, for callers that need more than SQL text (they must drive its
    /// futures on a runtime of their own or through [`Query::block_on`]).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs a future on the query runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A predicate for `since_ms ..= until_ms` (milliseconds since the epoch, both inclusive)
    /// that DataFusion prunes on: the `dt` days the range touches, then the exact `time`
    /// bounds (which also prune row groups by their statistics). An empty range
    /// (`since_ms > until_ms`) gives a predicate no row satisfies.
    pub fn time_filter_sql(since_ms: i64, until_ms: i64) -> String {
        time_range_sql(Some(since_ms), Some(until_ms))
    }
}

/// A multi-threaded Tokio runtime, one worker per core.
pub(crate) fn new_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        )
        .thread_name("trailwatch-query")
        .build()
        .map_err(QueryError::Runtime)
}

/// Like [`Query::time_filter_sql`] with either end open; `TRUE` when both are.
pub(crate) fn time_range_sql(since_ms: Option<i64>, until_ms: Option<i64>) -> String {
    let mut parts = Vec::new();
    match (since_ms, until_ms) {
        (Some(since), Some(until)) => {
            parts.push(format!(
                "dt BETWEEN {} AND {}",
                sql_string(&day(since)),
                sql_string(&day(until))
            ));
            parts.push(format!(
                "time BETWEEN {} AND {}",
                timestamp_literal(since),
                timestamp_literal(until)
            ));
        }
        (Some(since), None) => {
            parts.push(format!("dt >= {}", sql_string(&day(since))));
            parts.push(format!("time >= {}", timestamp_literal(since)));
        }
        (None, Some(until)) => {
            parts.push(format!("dt <= {}", sql_string(&day(until))));
            parts.push(format!("time <= {}", timestamp_literal(until)));
        }
        (None, None) => parts.push("TRUE".to_string()),
    }
    parts.join(" AND ")
}

/// The UTC day (`YYYY-MM-DD`) of an instant, clamped to what chrono represents.
fn day(ms: i64) -> String {
    instant(ms).format("%Y-%m-%d").to_string()
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// A literal of exactly the `time` column's type, so the comparison is not a cast of the
/// column (which would defeat statistics pruning).
fn timestamp_literal(ms: i64) -> String {
    format!("arrow_cast({ms}, 'Timestamp(Millisecond, Some(\"UTC\"))')")
}

/// The batches of [`Query::sql_stream`], produced as the iterator is advanced.
pub struct BatchStream<'a> {
    runtime: &'a tokio::runtime::Runtime,
    stream: SendableRecordBatchStream,
}

impl BatchStream<'_> {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }
}

impl Iterator for BatchStream<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.runtime
            .block_on(self.stream.next())
            .map(|batch| batch.map_err(QueryError::from))
    }
}
