//! A process-wide live-heap gauge. The binary's allocator keeps it current; libraries read it
//! for diagnostic logs (it stays 0 under an allocator that does not count).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes currently allocated, as counted by the global allocator.
pub static LIVE_HEAP: AtomicUsize = AtomicUsize::new(0);
/// The most bytes ever allocated at once.
pub static PEAK_HEAP: AtomicUsize = AtomicUsize::new(0);

/// Live heap in MB, for logs.
pub fn live_heap_mb() -> f64 {
    LIVE_HEAP.load(Ordering::Relaxed) as f64 / 1e6
}

/// Peak heap in MB, for logs.
pub fn peak_heap_mb() -> f64 {
    PEAK_HEAP.load(Ordering::Relaxed) as f64 / 1e6
}
