//! Reading inputs in parallel: one worker per core, each pulling the next input, each with its
//! own state, so that nothing on the per-record path is shared or locked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use trailwatch_decode::{read_input, DecodeError, FileStats, Input, ReadScratch, Record};

/// Calls `on_record` for every record of `inputs` on `threads` workers, each with a state made
/// by `init`; returns the states and the read statistics.
pub(crate) fn par_read<S: Send>(
    inputs: &[Input],
    threads: usize,
    init: &(dyn Fn() -> S + Sync),
    on_record: &(dyn Fn(&mut S, &Record<'_>) + Sync),
    on_error: &(dyn Fn(DecodeError) + Sync),
    on_progress: &(dyn Fn(u64) + Sync),
) -> (Vec<S>, FileStats) {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(S, FileStats)>> = Mutex::new(Vec::new());
    let threads = threads.clamp(1, inputs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut state = init();
                let mut stats = FileStats::default();
                let mut scratch = ReadScratch::default();
                while let Some(input) = inputs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut on_err = |e: DecodeError| on_error(e);
                    let s = read_input(
                        input,
                        &mut scratch,
                        &mut |r| on_record(&mut state, r),
                        &mut on_err,
                    );
                    stats.add(&s);
                    on_progress(input.size());
                }
                if let Ok(mut d) = done.lock() {
                    d.push((state, stats));
                }
            });
        }
    });
    let mut total = FileStats::default();
    let states = done
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|(s, st)| {
            total.add(&st);
            s
        })
        .collect();
    (states, total)
}
