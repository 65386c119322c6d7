//! Verify over object storage: every object below the prefix, copied into a fresh folder in
//! the layout of a local store (the ledger and sources assembled from their segments), so that
//! the store's own verify checks all of them, with the result it gives a local copy: missing,
//! altered and planted objects are named by their path inside the store. Nothing is taken
//! from the working copy: what is checked is what the bucket holds now.

use std::fs;
use std::path::Path;

use trailwatch_ledger::{LEDGER_DIR, LEDGER_FILE};
use trailwatch_store::SOURCES_FILE;

use crate::lease::LEASE;
use crate::remote::Remote;
use crate::sync::{SEGMENTS_DIR, SOURCES_DIR};
use crate::RemoteError;

/// What [`mirror`] copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrored {
    pub objects: usize,
    pub bytes: u64,
    /// Ledger segments assembled.
    pub segments: usize,
}

/// Copies every object of the store into the empty folder `dir` (see the module doc).
pub fn mirror(remote: &Remote, dir: &Path) -> Result<Mirrored, RemoteError> {
    let io = |p: &Path, e: std::io::Error| RemoteError::Local(format!("{}: {e}", p.display()));
    let mut m = Mirrored::default();
    let mut ledger = Vec::new();
    let mut sources = Vec::new();
    let segment_prefix = format!("{SEGMENTS_DIR}/");
    let sources_prefix = format!("{SOURCES_DIR}/");
    for l in remote.list("")? {
        if l.rel == LEASE {
            continue;
        }
        m.objects += 1;
        m.bytes += l.size;
        if l.rel.starts_with(&segment_prefix) || l.rel.starts_with(&sources_prefix) {
            let bytes = remote.get(&l.rel)?.unwrap_or_default();
            if l.rel.starts_with(&segment_prefix) {
                ledger.extend_from_slice(&bytes);
                m.segments += 1;
            } else {
                sources.extend_from_slice(&bytes);
            }
            continue;
        }
        if !crate::location::safe_relative(&l.rel) {
            return Err(remote.fail(&l.rel, "copying", "a key that is no path inside a store"));
        }
        let to = dir.join(&l.rel);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        remote.download(&l.rel, &to)?;
    }
    let ledger_dir = dir.join(LEDGER_DIR);
    fs::create_dir_all(&ledger_dir).map_err(|e| io(&ledger_dir, e))?;
    let path = ledger_dir.join(LEDGER_FILE);
    // Segments listed in name order, so the chain is in the order the writers appended it;
    // none at all is an empty ledger (verify then says what there is).
    fs::write(&path, &ledger).map_err(|e| io(&path, e))?;
    let path = dir.join(SOURCES_FILE);
    fs::write(&path, &sources).map_err(|e| io(&path, e))?;
    Ok(m)
}
