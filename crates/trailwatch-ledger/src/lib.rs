//! Ledger: the store's append-only, signed hash chain of the files it holds.
//!
//! This crate owns the integrity layer of a trailwatch store directory — the record of every
//! data file committed to it, of every deletion by retention and of every compaction. Each link
//! is one JSON line of `_ledger/ledger.jsonl` that names a file (relative path, SHA-256, size,
//! record count and time range), the files retention removed (each with the hash it had and the
//! day it was removed for), or the files a compaction replaced (each with its hash) and the
//! ones it wrote instead (as a commit names its file, plus an [`IdDigest`] of its event ids),
//! holds the SHA-256 of the previous line, and is signed with the store's Ed25519 key
//! (`_ledger/signing.key`, created with the store, mode 0600; `_ledger/signing.pub` beside it).
//!
//! - [`Ledger`]: [`create`](Ledger::create) and [`open`](Ledger::open) a store's ledger,
//!   append [commit](Ledger::append_commit), [retention](Ledger::append_retention),
//!   [quarantine](Ledger::append_quarantine) and [compaction](Ledger::append_compaction) links
//!   (fsynced before they return), and detect and [`repair`](Ledger::repair) the torn last line
//!   a crash mid-append leaves — told apart from tampering, which is a complete line that fails.
//!   A quarantine link records files the store's writer moved aside (where from, where to, their
//!   hash) instead of deleting them. A compaction link makes the files it wrote live in place of
//!   the ones it replaced; [`Ledger::live`] shows each written file as a commit-shaped link.
//! - [`verify`]: re-reads the ledger and the files and names every problem ([`Problem`]): an
//!   edited or forged link, a link removed, inserted, duplicated or reordered, a committed file
//!   missing, modified, truncated or appended to, a data file no link names (planted), a
//!   quarantined file missing or modified, a quarantine of a committed file, a compaction that
//!   replaces files that were not live or whose counts and id digests do not add up, a file a
//!   compaction replaced present again. Cutting links off the ledger's end is visible only
//!   against a [`Head`] recorded elsewhere ([`verify_against`]); replacing the key and
//!   re-signing everything only against a public key pinned elsewhere
//!   ([`verify_with_public_key`]).
//!
//! It knows nothing of Parquet or of what the files hold: the store hands it hashes and counts.

mod ids;
mod ledger;
mod link;
mod verify;

pub use ids::IdDigest;
pub use ledger::{
    hash_file, parse_public_key, FileDigest, Ledger, LedgerError, TornTail, LEDGER_DIR,
    LEDGER_FILE, PUBLIC_KEY_FILE, SECRET_KEY_FILE,
};
pub use link::{line_hash, Head, Link, LinkKind, Quarantined, Removed, Replaced, Written, GENESIS};
pub use verify::{
    verify, verify_against, verify_with, verify_with_public_key, Problem, VerifyOptions,
    VerifyReport,
};

#[cfg(test)]
mod tests;
