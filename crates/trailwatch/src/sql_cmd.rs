//! `trailwatch sql`: one read-only query over the store, under a memory limit, a time limit
//! and a cap on the rows printed.
//!
//! The memory limit is DataFusion's memory pool: sorts, joins and aggregations reserve from it
//! (and spill to disk when it runs out, up to `SPILL_FACTOR` times the limit), the rows held
//! for printing too. Not every allocation is reserved (expressions that build large values,
//! batches in flight between operators), so a watchdog thread also watches the process's live
//! heap and ends the process when it passes the limit by a margin ([`heap_ceiling`]); it also
//! ends a query that did not stop within [`CANCEL_GRACE`] of its time limit.

use crate::cli::SqlArgs;
use crate::store_cmd::{emit, render};
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use trailwatch_model::gauge::LIVE_HEAP;
use trailwatch_query::{human_bytes, human_duration, Query, QueryError, RunLimits, SessionLimits};

/// How long a cancelled query may take to stop before the process is ended.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

pub fn sql(a: SqlArgs) -> Result<ExitCode> {
    let at = a.store.at()?;
    let opened = at.open_read()?;
    let session = SessionLimits {
        memory_bytes: a.memory_limit,
    };
    let q =
        Query::open_with(opened.dir(), session).with_context(|| format!("store {}", at.name()))?;
    let limits = RunLimits {
        timeout: a.timeout,
        max_rows: a.limit,
    };
    let result = {
        let _watchdog = Watchdog::start(
            a.memory_limit,
            a.timeout + CANCEL_GRACE,
            q.spill_dir().to_path_buf(),
        )?;
        q.sql_limited(&a.query, limits)
    };
    let capped = result.map_err(with_hint)?;
    emit(&render(&capped.batches, a.format)?)?;
    if capped.truncated {
        eprintln!(
            "trailwatch: output cut at {} rows (the query has more; --limit N to change)",
            capped.rows
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The error, with how to raise the limit it ran into.
fn with_hint(e: QueryError) -> anyhow::Error {
    match e {
        QueryError::Timeout { limit } => anyhow!(
            "{e}; raise it with --timeout (e.g. --timeout {})",
            human_duration(limit * 2).replace(' ', "")
        ),
        QueryError::SpillLimit { .. } => anyhow!(
            "{e}; raise it with --memory-limit, or narrow the query (a time range, fewer columns)"
        ),
        QueryError::MemoryLimit { limit, .. } => anyhow!(
            "{e}; raise it with --memory-limit (e.g. --memory-limit {})",
            human_bytes(limit.saturating_mul(2)).replace(' ', "")
        ),
        other => anyhow::Error::new(other).context("query"),
    }
}

/// The live heap past which the watchdog ends the process: the limit, a quarter more for what
/// the pool does not see, and 256 MiB for the process itself (the runtime, Parquet metadata).
pub(crate) fn heap_ceiling(memory_limit: usize) -> usize {
    memory_limit
        .saturating_add(memory_limit / 4)
        .saturating_add(256 << 20)
}

/// Ends the process when the live heap passes [`heap_ceiling`] or the query outlives
/// `deadline`; stops when dropped.
struct Watchdog {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(memory_limit: usize, deadline: Duration, spill_dir: PathBuf) -> Result<Watchdog> {
        let (stop, stopped) = mpsc::channel::<()>();
        let ceiling = LIVE_HEAP
            .load(Ordering::Relaxed)
            .saturating_add(heap_ceiling(memory_limit));
        let started = Instant::now();
        let thread = std::thread::Builder::new()
            .name("trailwatch-sql-watchdog".into())
            .spawn(move || loop {
                if !matches!(
                    stopped.recv_timeout(Duration::from_millis(10)),
                    Err(mpsc::RecvTimeoutError::Timeout)
                ) {
                    return;
                }
                let live = LIVE_HEAP.load(Ordering::Relaxed);
                if live > ceiling {
                    die(&spill_dir, &format!(
                        "query stopped: the process's heap reached {}, past what its memory limit of {} allows (counting memory the limit's pool does not track); raise it with --memory-limit",
                        human_bytes(live),
                        human_bytes(memory_limit)
                    ));
                }
                if started.elapsed() > deadline {
                    die(&spill_dir, &format!(
                        "query stopped: it ran past its time limit of {} and did not stop when cancelled; raise it with --timeout",
                        human_duration(deadline.saturating_sub(CANCEL_GRACE))
                    ));
                }
            })
            .context("starting the query watchdog")?;
        Ok(Watchdog {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Says why, removes the spill files, and ends the process at once, from the watchdog thread:
/// the query's threads may be inside an allocation or a computation that does not yield.
fn die(spill_dir: &Path, message: &str) -> ! {
    eprintln!("trailwatch: error: {message}");
    let _ = std::fs::remove_dir_all(spill_dir);
    // SAFETY: `_exit` ends the process without running exit handlers or destructors, which
    // the other threads (still running the query) could race with; nothing is left to flush
    // (stderr is unbuffered, nothing was written to stdout yet).
    unsafe { libc::_exit(1) }
}

/// Parses `--limit`: a number of rows, at least 1.
pub(crate) fn parse_row_limit(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?}: {e} (expected a number of rows)")),
    }
}

/// Parses `--timeout`: `500ms`, `30s`, `5m`, `2h` (a bare number is seconds), more than 0.
pub(crate) fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = trailwatch_model::duration::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be more than 0".to_string());
    }
    Ok(d)
}

/// Parses `--memory-limit`: bytes, or a number with `KiB`/`MiB`/`GiB`/`TiB` (also `K`, `M`,
/// `G`, `T`: powers of 1024) or `KB`/`MB`/`GB`/`TB` (powers of 1000); at least 1 MiB.
pub(crate) fn parse_memory_limit(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size such as 512MiB or 4GiB"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        other => return Err(format!("{s:?}: unknown unit {other:?} (use MiB or GiB)")),
    };
    let bytes = n * scale;
    if !bytes.is_finite() || bytes >= usize::MAX as f64 {
        return Err(format!("{s:?} is too large"));
    }
    if bytes < (1u64 << 20) as f64 {
        return Err(format!("{s:?}: at least 1MiB"));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_row_limits_parse() {
        assert_eq!(parse_memory_limit("2GiB"), Ok(2 << 30));
        assert_eq!(parse_memory_limit("512MiB"), Ok(512 << 20));
        assert_eq!(parse_memory_limit("512m"), Ok(512 << 20));
        assert_eq!(parse_memory_limit("1.5G"), Ok(3 << 29));
        assert_eq!(parse_memory_limit("4GB"), Ok(4_000_000_000));
        assert_eq!(parse_memory_limit("1048576"), Ok(1 << 20));
        assert!(parse_memory_limit("1KiB").is_err());
        assert!(parse_memory_limit("lots").is_err());
        assert!(parse_memory_limit("2 parsecs").is_err());
        assert!(parse_memory_limit("1e30").is_err());
        assert_eq!(parse_timeout("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_timeout("0s").is_err());
        assert_eq!(parse_row_limit("25"), Ok(25));
        assert!(parse_row_limit("0").is_err());
        assert!(parse_row_limit("-3").is_err());
    }

    #[test]
    fn the_heap_ceiling_leaves_room_above_the_limit() {
        assert_eq!(heap_ceiling(2 << 30), (2 << 30) + (512 << 20) + (256 << 20));
        assert_eq!(heap_ceiling(usize::MAX), usize::MAX);
    }
}
