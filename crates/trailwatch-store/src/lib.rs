//! Store: the write side of trailwatch's audit store.
//!
//! A store is a directory (default `./trailwatch-data`):
//! - `provider=<aws|azure|entra>/dt=<YYYY-MM-DD>/part-<seq:08>-<sha16>.parquet`: the events,
//!   Hive-style partitioned by cloud and UTC day, zstd Parquet sorted by action, principal and
//!   time, columns in [`schema()`];
//! - `_ledger/`: the signed hash chain of every committed file, every deletion by retention,
//!   every move into quarantine and every compaction ([`trailwatch_ledger`]); a data file exists
//!   for the store only once its commit line (or the compaction link that wrote it) is there.
//!   It holds the public key only: the signing key lives outside the store ([`KeySource`]: by
//!   default `$XDG_CONFIG_HOME/trailwatch/keys/<store-id>.key`, created with the store, mode
//!   0600), only the writer ([`Store::open`]) needs it, readers and verify work without it;
//! - `_tmp/`: files being written;
//! - `_pending/`: write-ahead records, one per commit in progress: the exact files it is about to
//!   leave (its temporary file, then where that goes and its SHA-256), fsynced first;
//! - `_quarantine/<id>/`: what an interrupted commit left, moved there (not deleted) by the next
//!   writer and recorded in the ledger (a quarantine link naming each file and its hash);
//! - `_sources.jsonl`: the source files already ingested (path, size, mtime, SHA-256).
//!
//! [`Store::ingest`] is exactly-once: an event id is stored once however often files are
//! ingested, a source file already ingested is skipped without being read, and an ingest killed
//! at any instant and run again ends with exactly the events of an uninterrupted run.
//!
//! How:
//! - The ids of the stored events are kept in memory, rebuilt on the first ingest after an open
//!   by reading only the `event_id` column of the committed files. There is no separate index:
//!   the committed files are the only truth, so nothing can drift from them after a crash.
//!   The cost is one column read per ingest session (compressed ids, a fraction of the store).
//! - Commit protocol per file: a write-ahead record naming the temporary file, write it into
//!   `_tmp/`, fsync, add its destination and hash to the record, rename it into the partition,
//!   fsync the directory, append the ledger's signed commit line (fsynced): that line is the
//!   commit point; then the record is removed.
//! - A source file is recorded in `_sources.jsonl` (path, size, mtime, SHA-256) only after every
//!   event read from it is committed; a later ingest skips it on path + size + mtime without
//!   reading it (or, with [`IngestOptions::check_source_hash`], after hashing it), and skips a
//!   copy with the same size and SHA-256 under another path.
//! - Readers ([`Store::open_read`], [`Store::verify`], stats, queries) never delete or change
//!   anything. Crash clean-up is the writer's ([`Store::open`], under the writer's lock) and
//!   only concerns what write-ahead records name: those files and records are moved into
//!   `_quarantine/` and the move is signed into the ledger; a torn ledger line is kept there
//!   too before it is cut. A file nothing names (planted, or left by a ledger cut short) is left
//!   where it is, and verify reports it. A crash before the commit line loses only uncommitted
//!   work, which the next ingest redoes (its sources are not recorded yet); a crash after it
//!   leaves events that the next ingest finds by id.
//! - Compaction ([`Store::compact`], `compact.rs`): once a day is over, its many small files
//!   are merged into one (or a few) with the same rows, sorted the same way, through the same
//!   write-ahead path as a commit; the compaction link (every replaced file with its hash, every
//!   written file with its hash and the count and [`trailwatch_ledger::IdDigest`] of its event
//!   ids) is the commit point, then the replaced files are deleted. Verify accepts the
//!   replacement and checks the written files' event ids against the link.
//! - Anchors: every writing operation ([`Store::ingest`], [`Store::retention`],
//!   [`Store::compact`], [`Store::set_retention_floor`]) ends by publishing the ledger's signed
//!   head to an anchor file outside the store ([`Store::publish_head`]; next to the key unless
//!   [`Store::publish_to`] says otherwise), which verify can check the store against. Sending
//!   it further (alert sinks, an S3 bucket with Object Lock) is trailwatch-watch's job: this
//!   crate has no network.
//! - Retention floor: [`Store::retention`] refuses, deleting nothing, to keep less than the
//!   floor in force (365 days, or what the last signed floor link says), also measured on the
//!   clock the retention link carries; [`Store::set_retention_floor`] changes it with a signed
//!   link.
//! - Fault injection for tests: [`CRASH_ENV`] = `<step>:<n>` aborts at the n-th pass through
//!   one of [`CRASH_STEPS`] (or [`COMPACTION_CRASH_STEPS`], [`RECOVERY_CRASH_STEPS`]).

mod compact;
mod crash;
mod ids;
mod keys;
mod merge;
mod ops;
mod pending;
mod pipeline;
mod recover;
mod replay;
pub mod schema;
mod sources;
mod store;
mod verify;
mod write;

pub use compact::{
    CompactOptions, CompactReport, PartitionCompaction, DEFAULT_MAX_INPUTS, DEFAULT_MAX_ROWS,
    DEFAULT_MIN_FILES,
};
pub use crash::{COMPACTION_CRASH_STEPS, CRASH_ENV, CRASH_STEPS, RECOVERY_CRASH_STEPS};
pub use keys::{default_key_dir, user_config_dir, KeySource, MigratedKey, CONFIG_SUBDIR};
pub use ops::{DayStats, RetentionReport, Stats};
pub use pending::PENDING_DIR;
pub use recover::QUARANTINE_DIR;
pub use schema::schema;
pub use store::{
    resolve_dir, IngestOptions, IngestReport, Recovery, Store, StoreError, DEFAULT_STORE_DIR,
    LOCK_FILE, SOURCES_FILE, STORE_ENV, TMP_DIR,
};
pub use trailwatch_ledger::VerifyOptions;
pub use verify::{FileProblem, Uncommitted, VerifyReport};
pub use write::{read_event_ids, WRITE_BATCH_ROWS, WRITE_ROW_GROUP_ROWS, ZSTD_LEVEL};
