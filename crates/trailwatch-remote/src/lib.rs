//! Remote: the trailwatch store on object storage (`s3://bucket/prefix`,
//! `az://container/prefix`).
//!
//! This crate owns where a remote store is ([`StoreUrl`], [`RemoteConfig`]), the one-writer
//! lease ([`lease`]), the sync between the objects and a local working copy ([`sync`]), the
//! copy verify checks ([`mirror`]), and the signed S3 requests object_store cannot make
//! ([`signed`]: Object Lock headers, deleting one version), which trailwatch-watch's anchor
//! bucket uses too; and whether the bucket or container keeps what is written to it
//! ([`protection`]: S3 Object Lock, an Azure immutability policy or legal hold).
//!
//! Design. The store's commit protocol, exactly-once ingest, retention, compaction and verify
//! stay trailwatch-store's, run on a local working copy (by default
//! `$XDG_CACHE_HOME/trailwatch/stores/<sanitised url>`, or below `[state] dir`); this crate
//! moves files between that copy and the bucket:
//! - A reader ([`WorkingCopy::open_read`]) pulls — the ledger from its segments, then each
//!   live file it names, hash-checked, skipping those the copy holds at their size (objects
//!   are immutable) — and reads the copy: queries see exactly the live files, each event once.
//! - A writer ([`WorkingCopy::open_write`]) first takes the lease (`<prefix>/_lease`, a
//!   conditional create; a second writer is refused with the holder and its expiry; an
//!   expired lease is taken over by a conditional update on its ETag), pulls, lets the store
//!   write the copy, then [`WorkingCopy::push`]es: the new data files and ledger segment as new
//!   objects only (never overwritten: a conditional create, so that even without the lease two
//!   writers cannot both append segment N), on S3 under Object Lock retention and SSE-KMS when
//!   configured; then the deletions the new links record. The ledger on object storage is
//!   append-only objects, one segment per writing operation, never a rewritten file.
//! - Deletion on S3 deletes the object's current version (a plain DELETE on a versioned
//!   bucket would only hide it behind a delete marker). Object Lock refuses that while the
//!   version is retained: the refusal is reported ([`PushReport::kept`]) and the object stays,
//!   superseded: the ledger's retention or compaction link no longer counts it live, so pull
//!   does not fetch it and queries read each event once; verify accepts it when it still has
//!   the hash its link recorded and lists it ([`trailwatch_ledger::VerifyOptions::superseded_may_remain`]).
//! - The watch (trailwatch-watch) holds the lease while it runs, renewing it once half of it
//!   has gone by (checked every poll, [`WorkingCopy::renew`]), pushes every step before it checkpoints it, and keeps its
//!   checkpoints and outbox in the working copy's `_watch/`, which a pull never touches.
//! - Verify over the URL ([`mirror`]) copies every object below the prefix into a fresh
//!   folder and runs the store's verify there, so it reports what verify of a local store
//!   reports: missing, altered and planted objects by their path in the store.
//!
//! Limits, honestly: the working copy holds every live file (a pull of a large store is a
//! large download the first time); a push interrupted between its data files and its segment
//! leaves objects the ledger never names, which verify reports as planted (the next writer
//! re-ingests their events, which its pull did not see, and writes them again: an object of
//! the same name is accepted when it holds the same bytes); a lease outlived by a one-shot
//! writer (ingest, retention, compact: they do not renew) slower than `lease_minutes` can be
//! taken over, and then the conditional segment write is what stops the slower writer.

pub mod lease;
mod location;
pub mod mirror;
pub mod protection;
mod remote;
pub mod signed;
pub mod sync;

use std::fs::File;
use std::path::{Path, PathBuf};

pub use lease::{Held, LeaseBody, LEASE};
pub use location::{parse_az_url, parse_s3_url, Cloud, StoreUrl};
pub use mirror::{mirror, Mirrored};
pub use protection::Protection;
pub use remote::{Created, Deleted, Listed, Remote, RemoteConfig, DEFAULT_LEASE_MINUTES};
pub use signed::{LockMode, Retention};
pub use sync::{PullReport, PushReport, Synced};

/// Why a remote store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0}")]
    Config(String),
    #[error("{what}: {reason}")]
    Request { what: String, reason: String },
    #[error("{url}: another writer holds the store's lease ({holder}, since {since}, until {expires}); wait for it to finish, or for the lease to expire")]
    Leased {
        url: String,
        holder: String,
        since: String,
        expires: String,
    },
    #[error("working copy: {0}")]
    Local(String),
    #[error("ledger: {0}")]
    Ledger(String),
}

/// The folder below which working copies are kept when `[state] dir` is not set:
/// `$XDG_CACHE_HOME/trailwatch`, else `~/.cache/trailwatch`.
pub fn default_state_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("."));
    cache.join("trailwatch")
}

/// The working copy of `url` below the state folder `state`: `<state>/stores/<sanitised url>`.
pub fn working_dir(state: &Path, url: &StoreUrl) -> PathBuf {
    state.join("stores").join(url.sanitised())
}

/// `<dir>.<suffix>` (a working copy's name may hold dots, which `with_extension` would cut).
fn beside(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    dir.with_file_name(name)
}

/// A remote store's local working copy, pulled, held by this process (an OS lock on
/// `<copy>.lock`) and, for a writer, under the store's lease until [`WorkingCopy::finish`] (or
/// drop) gives it back.
pub struct WorkingCopy {
    remote: Remote,
    dir: PathBuf,
    synced: Synced,
    lease: Option<Held>,
    _lock: File,
    /// A reader's own copy, made because another process held the shared one: removed on drop.
    scratch: bool,
}

impl WorkingCopy {
    /// Locks `<dir>.lock` for this process; `None` when another process holds it.
    fn lock(dir: &Path) -> Result<Option<File>, RemoteError> {
        let path = beside(dir, "lock");
        let local = |e: std::io::Error| RemoteError::Local(format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(local)?;
        }
        let file = File::create(&path).map_err(local)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(local(e)),
        }
    }

    /// Pulls `remote` into `dir` to read it. While another process (a watch, an ingest) holds
    /// `dir`, into a copy of this reader's own beside it (`<dir>.reader-<pid>`), removed when
    /// the reader is done: a reader never waits for a writer.
    pub fn open_read(
        remote: Remote,
        dir: PathBuf,
    ) -> Result<(WorkingCopy, PullReport), RemoteError> {
        let (dir, lock, scratch) = match Self::lock(&dir)? {
            Some(lock) => (dir, lock, false),
            None => {
                let own = beside(&dir, &format!("reader-{}", std::process::id()));
                match Self::lock(&own)? {
                    Some(lock) => (own, lock, true),
                    None => return Err(RemoteError::Local(format!("{}: locked", own.display()))),
                }
            }
        };
        let mut copy = WorkingCopy {
            remote,
            dir,
            synced: Synced::default(),
            lease: None,
            _lock: lock,
            scratch,
        };
        let (synced, report) = sync::pull(&copy.remote, &copy.dir)?;
        copy.synced = synced;
        Ok((copy, report))
    }

    /// Takes the lease of `remote`, then pulls it into `dir` to write it. Refused while another
    /// process on this machine holds `dir`.
    pub fn open_write(
        remote: Remote,
        dir: PathBuf,
    ) -> Result<(WorkingCopy, PullReport), RemoteError> {
        let Some(lock) = Self::lock(&dir)? else {
            return Err(RemoteError::Local(format!(
                "{}: another trailwatch process on this machine (a watch, an ingest) is writing this working copy",
                dir.display()
            )));
        };
        let held = lease::acquire(&remote)?;
        let mut copy = WorkingCopy {
            remote,
            dir,
            synced: Synced::default(),
            lease: Some(held),
            _lock: lock,
            scratch: false,
        };
        let (synced, report) = sync::pull(&copy.remote, &copy.dir)?;
        copy.synced = synced;
        Ok((copy, report))
    }

    /// The working copy's folder: a store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The lease this writer holds (and whose expired lease it took over).
    pub fn lease(&self) -> Option<&Held> {
        self.lease.as_ref()
    }

    /// Sends what the copy has beyond the last pull or push (a writer only).
    pub fn push(&mut self) -> Result<PushReport, RemoteError> {
        if self.lease.is_none() {
            return Err(RemoteError::Config(format!(
                "{}: opened to read, not to write",
                self.remote.url()
            )));
        }
        sync::push(&self.remote, &self.dir, &mut self.synced)
    }

    /// Extends the writer's lease (see [`lease::renew`]).
    pub fn renew(&mut self) -> Result<(), RemoteError> {
        match self.lease.as_mut() {
            Some(held) => lease::renew(&self.remote, held),
            None => Ok(()),
        }
    }

    /// Gives the lease back.
    pub fn finish(mut self) -> Result<(), RemoteError> {
        match self.lease.take() {
            Some(held) => lease::release(&self.remote, &held),
            None => Ok(()),
        }
    }
}

impl Drop for WorkingCopy {
    fn drop(&mut self) {
        if let Some(held) = self.lease.take() {
            // An error leaves the lease to expire; the next writer takes it over then.
            let _ = lease::release(&self.remote, &held);
        }
        if self.scratch {
            // A reader's own copy, nobody else's: gone with it (a failure leaves a folder).
            let _ = std::fs::remove_dir_all(&self.dir);
            let _ = std::fs::remove_file(beside(&self.dir, "lock"));
        }
    }
}
