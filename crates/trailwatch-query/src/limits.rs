//! Limits on what one query may take: memory (a DataFusion memory pool, set when the session is
//! opened), time (the query is cancelled when it runs out) and rows (results are streamed and
//! the stream is dropped once the cap is reached, so a query with a huge result never
//! materialises it).

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryPool, MemoryReservation, TrackConsumersPool,
};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::SendableRecordBatchStream;
use futures_util::future::{select, Either};
use futures_util::StreamExt;

use crate::error::{QueryError, Result};

/// The memory pool of a session, by default: 2 GiB.
pub const DEFAULT_MEMORY_LIMIT: usize = 2 << 30;
/// How long a limited query may run, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How many rows a limited query returns at most, by default.
pub const DEFAULT_MAX_ROWS: usize = 10_000;
/// Spill files (sorts, aggregations and joins that ran out of pool) may take this many times
/// the memory limit on disk, in the system's temporary directory.
pub const SPILL_FACTOR: u64 = 4;

/// Session-wide settings fixed when the store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Bytes DataFusion's operators may reserve together (sorts, joins, aggregations, and the
    /// results a limited query holds). Operators that can spill do so when it runs out; the
    /// others fail with [`QueryError::MemoryLimit`].
    pub memory_bytes: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            memory_bytes: DEFAULT_MEMORY_LIMIT,
        }
    }
}

impl SessionLimits {
    /// The DataFusion runtime: a fair spill pool of `memory_bytes` (the five largest consumers
    /// are named when it runs out) and spill files, in `spill_dir`, capped at [`SPILL_FACTOR`]
    /// times that.
    pub(crate) fn runtime_env(&self, spill_dir: &Path) -> Result<Arc<RuntimeEnv>> {
        let top = std::num::NonZeroUsize::new(5).unwrap_or(std::num::NonZeroUsize::MIN);
        let pool: Arc<dyn MemoryPool> = Arc::new(TrackConsumersPool::new(
            FairSpillPool::new(self.memory_bytes),
            top,
        ));
        let spill = (self.memory_bytes as u64).saturating_mul(SPILL_FACTOR);
        Ok(RuntimeEnvBuilder::new()
            .with_memory_pool(pool)
            .with_disk_manager_builder(
                DiskManagerBuilder::default()
                    .with_mode(DiskManagerMode::Directories(vec![spill_dir.to_path_buf()]))
                    .with_max_temp_directory_size(spill),
            )
            .build_arc()?)
    }
}

/// The limits of one query run with [`crate::Query::sql_limited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Planning and execution together; past it the query is cancelled and
    /// [`QueryError::Timeout`] returned.
    pub timeout: Duration,
    /// Rows returned at most (at least 1); the rest are never computed when the plan allows.
    pub max_rows: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            timeout: DEFAULT_TIMEOUT,
            max_rows: DEFAULT_MAX_ROWS,
        }
    }
}

/// The results of a limited query.
#[derive(Debug)]
pub struct Capped {
    /// At most [`RunLimits::max_rows`] rows; a result without rows is one empty batch (so
    /// that its columns are known).
    pub batches: Vec<RecordBatch>,
    /// Rows in `batches`.
    pub rows: usize,
    /// The query had more rows than the cap (or had reached the cap when its time ran out).
    pub truncated: bool,
    /// The pool memory the batches hold, given back when they are dropped.
    _reservation: MemoryReservation,
}

/// What has been collected so far; outlives the collecting future so that a query that
/// reached its cap and then ran out of time still returns its rows.
struct Collected {
    schema: Option<SchemaRef>,
    batches: Vec<RecordBatch>,
    rows: usize,
    truncated: bool,
    reservation: MemoryReservation,
}

impl Collected {
    /// Takes `batch` (cut to the room left); true once the cap is reached.
    fn push(&mut self, batch: RecordBatch, max_rows: usize) -> Result<bool> {
        let room = max_rows.saturating_sub(self.rows);
        let batch = if batch.num_rows() > room {
            self.truncated = true;
            batch.slice(0, room)
        } else {
            batch
        };
        if batch.num_rows() > 0 {
            self.reservation
                .try_grow(batch.get_array_memory_size())
                .map_err(QueryError::from)?;
            self.rows += batch.num_rows();
            self.batches.push(batch);
        }
        Ok(self.rows >= max_rows)
    }
}

/// Reads `stream` into `into` until it ends or `max_rows` are held. At the cap, it looks for
/// one more non-empty batch, to tell a result of exactly `max_rows` rows from a cut one.
async fn collect(
    mut stream: SendableRecordBatchStream,
    into: &mut Collected,
    max_rows: usize,
) -> Result<()> {
    into.schema = Some(stream.schema());
    while let Some(batch) = stream.next().await {
        if into.push(batch?, max_rows)? {
            break;
        }
    }
    if into.rows >= max_rows && !into.truncated {
        while let Some(batch) = stream.next().await {
            if batch?.num_rows() > 0 {
                into.truncated = true;
                break;
            }
        }
    }
    Ok(())
}

/// Runs `plan` (which yields the result stream) and collects it under `limits`, on a runtime
/// of its own that is shut down in the background afterwards.
///
/// The time limit is kept by a plain thread rather than a Tokio timer, so that it fires even
/// when every worker of the runtime is busy; dropping the query's future on expiry cancels its
/// tasks (DataFusion aborts them on drop) at their next yield.
pub(crate) fn run<F>(
    pool: &Arc<dyn MemoryPool>,
    memory_limit: usize,
    limits: RunLimits,
    plan: F,
) -> Result<Capped>
where
    F: std::future::Future<Output = Result<SendableRecordBatchStream>>,
{
    let max_rows = limits.max_rows.max(1);
    let mut collected = Collected {
        schema: None,
        batches: Vec::new(),
        rows: 0,
        truncated: false,
        reservation: MemoryConsumer::new("query results").register(pool),
    };
    let (expired, _alarm) = alarm(limits.timeout).map_err(QueryError::Runtime)?;
    let runtime = crate::query::new_runtime()?;
    let outcome = runtime.block_on(async {
        let work = async {
            let stream = plan.await?;
            collect(stream, &mut collected, max_rows).await
        };
        match select(Box::pin(work), expired).await {
            Either::Left((done, _)) => Some(done),
            Either::Right(_) => None,
        }
    });
    runtime.shutdown_background();
    match outcome {
        Some(Ok(())) => Ok(collected.finish()),
        Some(Err(e)) => Err(classify(e, memory_limit)),
        // The cap was reached and only the look for a further row ran out of time.
        None if collected.rows >= max_rows => {
            collected.truncated = true;
            Ok(collected.finish())
        }
        None => Err(QueryError::Timeout {
            limit: limits.timeout,
        }),
    }
}

impl Collected {
    fn finish(mut self) -> Capped {
        if let (true, Some(schema)) = (self.batches.is_empty(), self.schema) {
            self.batches.push(RecordBatch::new_empty(schema));
        }
        Capped {
            batches: self.batches,
            rows: self.rows,
            truncated: self.truncated,
            _reservation: self.reservation,
        }
    }
}

/// DataFusion's disk manager says this (in a plain `io::Error`) when spill files outgrow
/// their cap; there is no error type to match.
const SPILL_CAP_MESSAGE: &str = "spilling process has exceeded the allowable limit";

/// A running out of the pool or of the spill cap, however deeply DataFusion wrapped it
/// (through Arrow and I/O errors too), becomes [`QueryError::MemoryLimit`] or
/// [`QueryError::SpillLimit`].
pub(crate) fn classify(e: QueryError, memory_limit: usize) -> QueryError {
    let QueryError::DataFusion(df) = e else {
        return e;
    };
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(&df);
    // Bounded: an error chain is short, and this must not loop on a cyclic one.
    for _ in 0..64 {
        let Some(err) = next else { break };
        if let Some(DataFusionError::ResourcesExhausted(detail)) =
            err.downcast_ref::<DataFusionError>()
        {
            return QueryError::MemoryLimit {
                limit: memory_limit,
                detail: detail.clone(),
            };
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.to_string().contains(SPILL_CAP_MESSAGE) {
                return QueryError::SpillLimit {
                    limit: (memory_limit as u64).saturating_mul(SPILL_FACTOR),
                };
            }
            // `io::Error::source` skips the error it wraps; look at that one too.
            if let Some(inner) = io.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = err.source();
    }
    QueryError::DataFusion(df)
}

/// Keeps the alarm thread; dropping it (the query finished) stops the thread at once.
struct Alarm {
    _stop: mpsc::Sender<()>,
}

/// A receiver that completes when `after` has passed, and the guard of its thread.
fn alarm(after: Duration) -> std::io::Result<(tokio::sync::oneshot::Receiver<()>, Alarm)> {
    let (fire, expired) = tokio::sync::oneshot::channel();
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("trailwatch-query-timer".into())
        .spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(after) {
                let _ = fire.send(());
            }
        })?;
    Ok((expired, Alarm { _stop: stop }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_pool_is_a_memory_limit_error_however_wrapped() {
        let root = DataFusionError::ResourcesExhausted("sort: 10 MB".into());
        let wrapped = DataFusionError::Context(
            "outer".into(),
            Box::new(DataFusionError::External(Box::new(root))),
        );
        match classify(QueryError::DataFusion(wrapped), 1 << 20) {
            QueryError::MemoryLimit { limit, detail } => {
                assert_eq!(limit, 1 << 20);
                assert!(detail.contains("sort: 10 MB"), "{detail}");
            }
            other => panic!("expected a memory limit error, got {other:?}"),
        }
        let io = std::io::Error::other(DataFusionError::ResourcesExhausted("join: 3 MB".into()));
        let through_io = DataFusionError::ArrowError(
            Box::new(datafusion::arrow::error::ArrowError::IoError(
                "io".into(),
                io,
            )),
            None,
        );
        assert!(matches!(
            classify(QueryError::DataFusion(through_io), 1),
            QueryError::MemoryLimit { .. }
        ));
        let plain = DataFusionError::Plan("no such column".into());
        assert!(matches!(
            classify(QueryError::DataFusion(plain), 1),
            QueryError::DataFusion(_)
        ));
    }

    #[test]
    fn a_full_spill_directory_is_a_spill_limit_error() {
        let io = std::io::Error::other(format!(
            "The used disk space during the {SPILL_CAP_MESSAGE} of 1024.0 MB."
        ));
        let wrapped = DataFusionError::ArrowError(
            Box::new(datafusion::arrow::error::ArrowError::IoError(
                "io".into(),
                io,
            )),
            None,
        );
        match classify(QueryError::DataFusion(wrapped), 1 << 20) {
            QueryError::SpillLimit { limit } => assert_eq!(limit, 4 << 20),
            other => panic!("expected a spill limit error, got {other:?}"),
        }
    }

    #[test]
    fn the_alarm_fires_after_its_time_and_not_when_dropped() {
        let (rx, guard) = alarm(Duration::from_millis(20)).expect("thread");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        assert!(rt.block_on(rx).is_ok());
        drop(guard);
        let (rx, guard) = alarm(Duration::from_secs(3600)).expect("thread");
        drop(guard);
        // The sender is dropped without firing once the thread sees the guard gone.
        assert!(rt.block_on(rx).is_err());
    }
}
