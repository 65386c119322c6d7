//! Ledger: the store's append-only, signed hash chain of the files it holds.
//!
//! This crate owns the integrity layer of a trailwatch store directory — the record of every
//! data file committed to it, of every deletion by retention and of every compaction. Each link
//! is one JSON line of `_ledger/ledger.jsonl` that names a file (relative path, SHA-256, size,
//! record count and time range), the files retention removed (each with the hash it had and the
//! day it was removed for), or the files a compaction replaced (each with its hash) and the
//! ones it wrote instead (as a commit names its file, plus an [`IdDigest`] of its event ids),
//! holds the SHA-256 of the previous line, and is signed with the store's Ed25519 key.
//!
//! The key is not the data: the secret key never lives in the store. Only its public half does
//! (`_ledger/signing.pub`); the secret is a key file of its own elsewhere ([`write_key_file`],
//! mode 0600, [`read_key_file`] refuses one others may read) or a secret the caller holds, and
//! [`Ledger::open_signing`] takes it. [`Ledger::open`] and [`verify`] need no secret key: every
//! reader works without it. A store written before the key moved out still holds
//! `_ledger/signing.key` ([`LEGACY_SECRET_KEY_FILE`]): verify fails it
//! ([`Problem::SecretKeyInStore`]) until the key is moved out. [`fingerprint`] names a public
//! key and [`store_id`] is the name a store's key file and anchors get by default.
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
//!   compaction replaced present again, a secret key left in the store. Replacing the key and
//!   re-signing everything is visible only against a public key pinned elsewhere
//!   ([`verify_with_public_key`], [`VerifyOptions::public_key`]).
//! - External anchors ([`Anchor`]): the writer signs the head (seq, line hash, time) with the
//!   store's key and appends it to a file outside the store ([`Ledger::publish_head`]). Cutting
//!   links off the ledger's end, rolling the store back to an older copy and forking it are
//!   visible only against those ([`VerifyOptions::anchors`]: [`Problem::AnchorTruncated`],
//!   [`Problem::RolledBack`], [`Problem::AnchorFork`], [`Problem::AnchorDiverged`]), or against
//!   one [`Head`] recorded elsewhere ([`verify_against`]).
//! - The retention floor: floor links ([`Ledger::append_floor`], signed like every link) set
//!   the minimum a retention may keep, [`DEFAULT_RETENTION_FLOOR_DAYS`] without one. Verify
//!   lists every floor change and retention deletion ([`VerifyReport::history`]) and names a
//!   deletion of days the floor in force kept ([`Problem::FloorBroken`]).
//!
//! It knows nothing of Parquet or of what the files hold: the store hands it hashes and counts.

mod anchor;
mod ids;
mod keys;
mod ledger;
mod link;
mod verify;

pub use anchor::{append_anchor, parse_anchor, read_anchors, Anchor, AnchorLine};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use ids::IdDigest;
pub use keys::{
    fingerprint, generate_signing_key, looks_like_public_key, parse_signing_key, read_key_file,
    read_pinned_key, store_id, write_key_file,
};
pub use ledger::{
    hash_file, parse_public_key, read_public_key, FileDigest, Ledger, LedgerError, TornTail,
    LEDGER_DIR, LEDGER_FILE, LEGACY_SECRET_KEY_FILE, PUBLIC_KEY_FILE,
};
pub use link::{
    line_hash, Head, Link, LinkKind, Quarantined, Removed, Replaced, Written,
    DEFAULT_RETENTION_FLOOR_DAYS, GENESIS,
};
pub use verify::{
    verify, verify_against, verify_with, verify_with_public_key, FloorChange, Kept, Problem,
    RetentionEntry, VerifyOptions, VerifyReport,
};

#[cfg(test)]
mod tests;
