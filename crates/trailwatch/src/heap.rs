//! The global allocator: mimalloc, with a live-byte counter for diagnostics.
//!
//! mimalloc instead of the system allocator: a hunt frees per-file buffers of many sizes on
//! every core, and glibc's per-thread arenas kept that memory (the resident size grew with the
//! input). The counter costs two relaxed atomic adds per allocation; `TRAILWATCH_HEAP_STATS=1`
//! prints the peak live heap at exit, so memory claims can be checked against the heap itself.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::Ordering;

pub struct Counting;

use trailwatch_model::gauge::{LIVE_HEAP as LIVE, PEAK_HEAP as PEAK};

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to mimalloc, which upholds GlobalAlloc's contract.
        let p = unsafe { mimalloc::MiMalloc.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`/`dealloc`.
        let p = unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

/// mimalloc's `purge_delay`, `arena_eager_commit` and `purge_decommits` options (numbers from its `mimalloc.h`).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DECOMMITS: libmimalloc_sys::mi_option_t = 5;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Returns freed memory to the OS at once and commits arenas on demand: a hunt's working set
/// shifts (per-file buffers, then grouping state, then output), and the defaults kept the
/// resident size about 50% above the live heap.
pub fn tune() {
    // SAFETY: mi_option_set only stores an option value; valid at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
    }
}

/// Keeps freed memory for reuse for a second before returning it, and turns transparent huge
/// pages off for the process: the store's writer frees and allocates hundreds of MB per batch,
/// and memory returned at once came back as fresh pages the kernel had to zero (11% of an
/// ingest with immediate purge, 7% with this delay; never purging was no faster and held 1.5 GB
/// instead of 1.2 GB). With huge pages every first touch zeroes 2 MiB: on a 460,000-record
/// ingest the kernel's `clear_page_erms` was half of all samples, and system time fell from
/// 2.4–4.7 s to 0.9–1.3 s with them off (`MIMALLOC_ALLOW_THP=0`, same binary; BENCHMARKS.md).
/// A purge resets memory (`MADV_FREE`) instead of decommitting it: the kernel takes the pages
/// back only under memory pressure, so memory reused a second later is not faulted in and
/// zeroed again. On the 3-million-record ingest system time fell from 6.7 s to 3.3 s and the
/// rate rose from 149k to 167k records/s (`MIMALLOC_PURGE_DECOMMITS=0`, same binary); the
/// resident size counts the reset pages until they are taken (1.4–1.5 GB instead of 1.2 GB).
pub fn tune_for_throughput() {
    // SAFETY: mi_option_set only stores an option value; valid at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DECOMMITS, 0);
    }
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process's memory map; later page
    // faults then map base pages. A failure (an old kernel) leaves the default, which is fine.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::debug!(
            "PR_SET_THP_DISABLE failed: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Prints the peak live heap when asked to by `TRAILWATCH_HEAP_STATS`.
pub fn report() {
    if std::env::var_os("TRAILWATCH_HEAP_STATS").is_some() {
        eprintln!(
            "trailwatch: peak live heap {:.1} MB",
            PEAK.load(Ordering::Relaxed) as f64 / 1e6
        );
    }
}
