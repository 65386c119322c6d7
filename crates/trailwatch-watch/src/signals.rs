//! Stopping cleanly on SIGTERM and ctrl-c.

use crate::error::WatchError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag set by the first SIGTERM or SIGINT (the watcher finishes the step it is in, then
/// stops); a second signal ends the process at once (exit status 130).
pub fn stop_on_signals() -> Result<Arc<AtomicBool>, WatchError> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| WatchError::Io {
            what: "signal handler".into(),
            source,
        })?;
    #[cfg(unix)]
    let mut term = {
        let _guard = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(
            |source| WatchError::Io {
                what: "SIGTERM handler".into(),
                source,
            },
        )?
    };
    std::thread::Builder::new()
        .name("trailwatch-signals".into())
        .spawn(move || {
            rt.block_on(async move {
                for n in 0.. {
                    #[cfg(unix)]
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {},
                        _ = term.recv() => {},
                    }
                    #[cfg(not(unix))]
                    let _ = tokio::signal::ctrl_c().await;
                    if n > 0 {
                        std::process::exit(130);
                    }
                    tracing::info!("stop requested; finishing the current step");
                    flag.store(true, Ordering::SeqCst);
                }
            });
        })
        .map_err(|source| WatchError::Io {
            what: "signal thread".into(),
            source,
        })?;
    Ok(stop)
}
