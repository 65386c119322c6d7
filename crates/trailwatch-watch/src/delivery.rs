//! Deliveries: the outbox's due deliveries tried through the sinks, and the thread a running
//! watch tries them on, so that a receiver that hangs (up to its sink's timeout, again at
//! every retry) never delays the next poll. `watch --once` and a single [`Watcher::poll`]
//! deliver inline instead, before they return.
//!
//! [`Watcher::poll`]: crate::Watcher::poll

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use trailwatch_sink::{Backoff, Dispatcher, RunStats};

use crate::config::SinkConfig;
use crate::error::WatchError;
use crate::metrics::{names, Metrics};
use crate::watcher::{build_sinks, open_outbox};

/// How often the delivery thread looks for due deliveries.
const DELIVERY_TICK: Duration = Duration::from_secs(1);

/// What a delivery thread needs to build its own dispatcher: its own outbox connection and
/// its own sinks, so that nothing is shared with the polling thread but the outbox file.
#[derive(Clone)]
pub(crate) struct DeliveryConfig {
    pub(crate) store_dir: PathBuf,
    pub(crate) sinks: Vec<SinkConfig>,
    pub(crate) backoff: Backoff,
}

impl DeliveryConfig {
    /// A dispatcher over the store's outbox with the configured sinks.
    pub(crate) fn build(&self) -> Result<Dispatcher, WatchError> {
        let sinks = build_sinks(&self.sinks)?;
        let outbox = open_outbox(&self.store_dir)?.with_backoff(self.backoff);
        Dispatcher::new(outbox, sinks).map_err(|source| WatchError::Sink {
            name: "-".into(),
            source,
        })
    }
}

/// Tries every due delivery once and counts the results.
pub(crate) fn deliver_due(
    dispatcher: &mut Dispatcher,
    metrics: &Metrics,
) -> Result<RunStats, WatchError> {
    let stats = dispatcher.run_once(SystemTime::now())?;
    if stats.sent > 0 {
        metrics.add(names::SINK_SENT, &[], stats.sent as f64);
    }
    if stats.failed > 0 {
        metrics.add(names::SINK_FAILURES, &[], stats.failed as f64);
    }
    metrics.set(names::PENDING, &[], dispatcher.outbox().pending()? as f64);
    Ok(stats)
}

/// Delivers what is due every [`DELIVERY_TICK`] until `stop` is set (run on its own thread).
pub(crate) fn deliver_until(mut dispatcher: Dispatcher, metrics: &Metrics, stop: &AtomicBool) {
    let mut last = Instant::now() - DELIVERY_TICK;
    while !stop.load(Ordering::SeqCst) {
        if last.elapsed() >= DELIVERY_TICK {
            last = Instant::now();
            if let Err(e) = deliver_due(&mut dispatcher, metrics) {
                tracing::error!(
                    error = %trailwatch_escape::terminal(&e.to_string()),
                    "delivery run failed"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
