//! Fault injection for crash tests: `TRAILWATCH_STORE_CRASH_AT=<step>:<n>` makes the process
//! abort (no unwinding, no destructors, no flushing: as close to `kill -9` as a process can do
//! to itself) the n-th time it reaches `<step>`. Unset, a step costs one relaxed load.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The environment variable read once per process.
pub const CRASH_ENV: &str = "TRAILWATCH_STORE_CRASH_AT";

/// The steps a crash can be injected at, in the order an ingest reaches them.
pub const CRASH_STEPS: [&str; 8] = [
    // A commit's write-ahead record written, nothing else yet.
    "intent_written",
    // Half of a data file written into `_tmp/`.
    "temp_partial",
    // A data file written and fsynced in `_tmp/`.
    "temp_written",
    // The data file renamed into its partition and the directory fsynced.
    "renamed",
    // Part of a ledger line written (a torn append).
    "ledger_torn",
    // The ledger's commit line appended and fsynced.
    "committed",
    // Part of a `_sources.jsonl` line written.
    "sources_torn",
    // The source files recorded in `_sources.jsonl`.
    "sources_recorded",
];

/// The steps a crash can be injected at during a compaction, in the order it reaches them (per
/// file it writes for the first three, per compaction link for the others).
pub const COMPACTION_CRASH_STEPS: [&str; 5] = [
    // A compacted file's write-ahead record written, nothing else yet.
    "compact_intent_written",
    // A compacted file written and fsynced in `_tmp/`.
    "compact_temp_written",
    // Every compacted file renamed into its partition; no compaction link yet.
    "compact_renamed",
    // The compaction link appended; the replaced files still there.
    "compact_linked",
    // One replaced file deleted, the others still there.
    "compact_removed_one",
];

/// Steps of the writer's clean-up after a crash (reached only when there is one to clean up).
pub const RECOVERY_CRASH_STEPS: [&str; 2] = [
    // The files of an interrupted commit moved into quarantine, the move not yet in the ledger.
    "quarantine_moved",
    // The quarantine link appended, the write-ahead records not yet moved.
    "quarantine_linked",
];

struct Target {
    step: String,
    n: u64,
    seen: Mutex<HashMap<&'static str, u64>>,
}

fn target() -> Option<&'static Target> {
    static TARGET: OnceLock<Option<Target>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let v = std::env::var(CRASH_ENV).ok()?;
            let (step, n) = v.rsplit_once(':')?;
            Some(Target {
                step: step.to_string(),
                n: n.parse().ok()?,
                seen: Mutex::new(HashMap::new()),
            })
        })
        .as_ref()
}

/// Whether this is the moment to crash at `step`, counting this call.
pub(crate) fn due(step: &'static str) -> bool {
    let Some(t) = target() else {
        return false;
    };
    if t.step != step {
        return false;
    }
    let mut seen = t.seen.lock().unwrap_or_else(|e| e.into_inner());
    let c = seen.entry(step).or_insert(0);
    *c += 1;
    *c == t.n
}

/// Aborts the process if this is the moment to crash at `step`.
pub(crate) fn point(step: &'static str) {
    if due(step) {
        eprintln!("trailwatch-store: injected crash at {step}");
        std::process::abort();
    }
}
