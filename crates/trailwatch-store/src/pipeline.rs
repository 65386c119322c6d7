//! The ingest pipeline: decoding in parallel, de-duplicating in input order, writing on a
//! thread of its own.
//!
//! - Decoders: `threads` workers read a chunk of inputs at a time into owned events, and hash
//!   the source files they read (for `_sources.jsonl`).
//! - The calling thread takes the decoded inputs in input order, drops events whose id the
//!   store already has, and fills the batch; a full batch goes to the writer together with the
//!   sources whose events are all in it or committed before it.
//! - The writer encodes and commits each batch (zstd Parquet, then the ledger line), then records
//!   those sources. The hand-over is a rendezvous: one batch is being written while the next
//!   fills, so decoding and encoding overlap with two batches in memory at most.
//! - Memory is bounded whatever the input's size: a round of decoding holds at most
//!   [`CHUNK_INPUTS`] inputs and about [`CHUNK_BYTES`] of them on disk (one per worker at
//!   least, each at most [`INLINE_BYTES`]), a batch at most
//!   [`IngestOptions::batch_events`] events or [`IngestOptions::batch_bytes`], the writer encodes
//!   a batch [`crate::write::WRITE_BATCH_ROWS`] rows at a time, and the ids are held compactly
//!   (`ids.rs`).
//!
//! Exactly-once holds as in the sequential loop this replaces: a source is recorded only after
//! the commit of every batch holding its events, and commits happen in order.
//! Inputs too large to hold decoded (stdin, a stream, a file over [`INLINE_BYTES`]) are read on
//! the calling thread, streaming, as before.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use trailwatch_decode::{read_input, DecodeError, FileStats, Input, ReadScratch};
use trailwatch_ledger::{hash_file, Ledger};
use trailwatch_model::Event;

use crate::ids::IdSet;
use crate::sources::{sources_path, SourceEntry, Sources};
use crate::store::{flush, Batch, IngestOptions, IngestReport, Planned, StoreError};

/// Inputs decoded per round by the workers …
const CHUNK_INPUTS: usize = 64;
/// … and, once every worker has one, no more than this many bytes of them on disk: a round's
/// events are all held decoded until they are batched (64 CloudTrail files of 1,000 records
/// were 140 MB of events).
const CHUNK_BYTES: u64 = 2 << 20;
/// Inputs larger than this (on disk) are read streaming on the calling thread: decoded whole,
/// one such file per worker (gzip, ten times larger decompressed) would hold hundreds of MB.
const INLINE_BYTES: u64 = 8 << 20;

/// A batch for the writer, and the sources recorded once it is committed.
struct Commit {
    batch: Batch,
    sources: Vec<SourceEntry>,
}

/// One input, decoded by a worker.
#[derive(Default)]
struct Decoded {
    events: Vec<Event>,
    stats: FileStats,
    errors: Vec<DecodeError>,
    sha256: Option<String>,
}

/// Runs the ingest of `plan` (see the module doc); the report gets the counts.
pub(crate) fn run(
    dir: &Path,
    ledger: &mut Ledger,
    sources: &mut Sources,
    ids: &mut IdSet,
    plan: &[Planned<'_>],
    opts: &IngestOptions,
    report: &mut IngestReport,
) -> Result<(), StoreError> {
    std::thread::scope(|s| {
        // A rendezvous: the writer holds one batch and the calling thread fills the next, so
        // decoding and encoding overlap with two batches in memory, never three.
        let (tx, rx) = sync_channel::<Commit>(0);
        let writer = s.spawn(move || write_loop(dir, ledger, sources, rx));
        let mut dedup = Dedup {
            ids,
            opts,
            batch: Batch::for_options(opts),
            pending: Vec::new(),
            tx,
            writer_gone: false,
        };
        produce(&mut dedup, plan, opts, report);
        let Dedup {
            batch, pending, tx, ..
        } = dedup;
        // The last batch (possibly empty: it still records the last sources).
        let _ = tx.send(Commit {
            batch,
            sources: pending,
        });
        drop(tx);
        let (files, bytes) = writer
            .join()
            .map_err(|_| StoreError::Corrupt(dir.to_path_buf(), "the writer panicked".into()))??;
        report.files_written += files;
        report.bytes_written += bytes;
        Ok(())
    })
}

/// The calling thread's state: ids seen, the batch being filled, sources waiting for it.
struct Dedup<'a> {
    ids: &'a mut IdSet,
    opts: &'a IngestOptions,
    batch: Batch,
    pending: Vec<SourceEntry>,
    tx: SyncSender<Commit>,
    /// The writer failed (its error comes out of `join`): stop reading.
    writer_gone: bool,
}

impl Dedup<'_> {
    fn accept(&mut self, event: Event, report: &mut IngestReport) {
        if !self.ids.insert(&event.event_id) {
            report.duplicates += 1;
            return;
        }
        report.added += 1;
        self.batch.push(event);
        if self.batch.full(self.opts) {
            let commit = Commit {
                batch: std::mem::replace(&mut self.batch, Batch::for_options(self.opts)),
                sources: std::mem::take(&mut self.pending),
            };
            if self.tx.send(commit).is_err() {
                self.writer_gone = true;
            }
        }
    }

    /// An input read to its end: its source is recorded with the batch holding its last events.
    fn finish_input(&mut self, p: &Planned<'_>, stats: &FileStats, sha256: Option<String>) {
        let (Some(key), 1) = (&p.key, stats.files_read) else {
            return;
        };
        let Some(sha256) = sha256.or_else(|| p.hash.clone()) else {
            return;
        };
        self.pending.push(SourceEntry {
            path: key.path.clone(),
            size: key.size,
            mtime_ns: key.mtime_ns,
            sha256,
        });
    }
}

fn produce(
    dedup: &mut Dedup<'_>,
    plan: &[Planned<'_>],
    opts: &IngestOptions,
    report: &mut IngestReport,
) {
    let mut scratch = ReadScratch::default();
    let mut rest = plan;
    while !rest.is_empty() && !dedup.writer_gone {
        if is_inline(rest[0].input) {
            read_inline(dedup, &rest[0], &mut scratch, report);
            rest = &rest[1..];
            continue;
        }
        let n = chunk_len(rest, opts.threads);
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        for (p, d) in chunk.iter().zip(decode_chunk(chunk, opts.threads)) {
            report.errors.extend(d.errors);
            report.read.add(&d.stats);
            for event in d.events {
                dedup.accept(event, report);
            }
            dedup.finish_input(p, &d.stats, d.sha256);
            if dedup.writer_gone {
                return;
            }
        }
    }
}

/// How many of the inputs at the head of `plan` (none inline) the next round decodes: up to
/// [`CHUNK_INPUTS`], one per worker at least, then stopping before [`CHUNK_BYTES`] are passed.
fn chunk_len(plan: &[Planned<'_>], threads: usize) -> usize {
    let mut bytes = 0u64;
    let mut n = 0;
    for p in plan.iter().take(CHUNK_INPUTS) {
        let size = match p.input {
            Input::File { size, .. } if !is_inline(p.input) => *size,
            _ => break,
        };
        if n >= threads.max(1) && bytes + size > CHUNK_BYTES {
            break;
        }
        bytes += size;
        n += 1;
    }
    n
}

fn is_inline(input: &Input) -> bool {
    !matches!(input, Input::File { size, .. } if *size <= INLINE_BYTES)
}

/// Reads one input streaming on this thread, batch by batch.
fn read_inline(
    dedup: &mut Dedup<'_>,
    p: &Planned<'_>,
    scratch: &mut ReadScratch,
    report: &mut IngestReport,
) {
    let mut errors = Vec::new();
    let stats = read_input(
        p.input,
        scratch,
        &mut |rec| {
            if !dedup.writer_gone {
                dedup.accept(rec.normalize(), report);
            }
        },
        &mut |e| errors.push(e),
    );
    report.errors.extend(errors);
    report.read.add(&stats);
    let sha256 = source_hash(p, &mut report.errors);
    dedup.finish_input(p, &stats, sha256);
}

/// The SHA-256 of a source file read, unless the plan has it already.
fn source_hash(p: &Planned<'_>, errors: &mut Vec<DecodeError>) -> Option<String> {
    if p.hash.is_some() {
        return p.hash.clone();
    }
    let key = p.key.as_ref()?;
    match hash_file(Path::new(&key.path)) {
        Ok(d) => Some(d.sha256_hex()),
        Err(e) => {
            // Not recorded as ingested: a later ingest reads it again (its ids are stored).
            errors.push(DecodeError {
                file: key.path.clone(),
                reason: format!("cannot hash: {e}"),
            });
            None
        }
    }
}

/// Decodes `chunk` on `threads` workers; the results in input order.
fn decode_chunk(chunk: &[Planned<'_>], threads: usize) -> Vec<Decoded> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Decoded>> = chunk.iter().map(|_| Mutex::default()).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, chunk.len().max(1)) {
            s.spawn(|| {
                let mut scratch = ReadScratch::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = chunk.get(i) else { break };
                    let d = decode_one(p, &mut scratch);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = d;
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_default())
        .collect()
}

fn decode_one(p: &Planned<'_>, scratch: &mut ReadScratch) -> Decoded {
    let mut d = Decoded::default();
    let mut events = Vec::new();
    let mut errors = Vec::new();
    d.stats = read_input(
        p.input,
        scratch,
        &mut |rec| events.push(rec.normalize()),
        &mut |e| errors.push(e),
    );
    d.sha256 = source_hash(p, &mut errors);
    d.events = events;
    d.errors = errors;
    d
}

/// The writer: commits each batch in order, then records its sources. Returns (files, bytes).
fn write_loop(
    dir: &Path,
    ledger: &mut Ledger,
    sources: &mut Sources,
    rx: Receiver<Commit>,
) -> Result<(u64, u64), StoreError> {
    let (mut files, mut bytes) = (0, 0);
    for mut c in rx {
        let (f, b) = flush(dir, ledger, &mut c.batch)?;
        files += f;
        bytes += b;
        sources.append(&sources_path(dir), c.sources)?;
    }
    Ok((files, bytes))
}
