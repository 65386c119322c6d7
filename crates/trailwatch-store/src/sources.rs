//! `_sources.jsonl`: the source files already ingested, one JSON line each, appended (and
//! fsynced) only after every event read from them is committed.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::crash;
use crate::store::StoreError;

/// One ingested source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourceEntry {
    /// Absolute (canonical) path.
    pub path: String,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
    /// Hex SHA-256 of the file's bytes as stored (compressed if it is).
    pub sha256: String,
}

/// What a file is before it is read: path, size and mtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SourceKey {
    pub path: String,
    pub size: u64,
    pub mtime_ns: u64,
}

impl SourceKey {
    pub fn of(path: &Path) -> std::io::Result<SourceKey> {
        let canonical = fs::canonicalize(path)?;
        let meta = fs::metadata(&canonical)?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Ok(SourceKey {
            path: canonical.to_string_lossy().into_owned(),
            size: meta.len(),
            mtime_ns,
        })
    }
}

#[derive(Debug, Default)]
pub(crate) struct Sources {
    by_key: HashMap<SourceKey, String>,
    hashes: HashSet<(u64, String)>,
    sizes: HashSet<u64>,
}

impl Sources {
    /// Reads `_sources.jsonl`, ignoring a torn last line (a crash mid-append); the writer
    /// (`repair`) also cuts it off. Returns the entries and the bytes cut.
    pub fn load(path: &Path, repair: bool) -> Result<(Sources, u64), StoreError> {
        let mut s = Sources::default();
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((s, 0)),
            Err(e) => return Err(StoreError::io(path)(e)),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let cut = (bytes.len() - complete) as u64;
        if repair && cut > 0 {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(StoreError::io(path))?;
            f.set_len(complete as u64).map_err(StoreError::io(path))?;
            f.sync_all().map_err(StoreError::io(path))?;
        }
        for line in bytes[..complete].split(|&b| b == b'\n') {
            // A line that does not parse only costs a re-read of that source.
            if let Ok(e) = serde_json::from_slice::<SourceEntry>(line) {
                s.insert(e);
            }
        }
        Ok((s, if repair { cut } else { 0 }))
    }

    fn insert(&mut self, e: SourceEntry) {
        self.hashes.insert((e.size, e.sha256.clone()));
        self.sizes.insert(e.size);
        self.by_key.insert(
            SourceKey {
                path: e.path,
                size: e.size,
                mtime_ns: e.mtime_ns,
            },
            e.sha256,
        );
    }

    /// Whether a file with this path, size and mtime was ingested.
    pub fn known_key(&self, k: &SourceKey) -> Option<&str> {
        self.by_key.get(k).map(String::as_str)
    }

    /// Whether a file with this size and content was ingested (under any path).
    pub fn known_content(&self, size: u64, sha256: &str) -> bool {
        self.hashes.contains(&(size, sha256.to_string()))
    }

    pub fn has_size(&self, size: u64) -> bool {
        self.sizes.contains(&size)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Appends entries (one write, fsynced) and remembers them.
    pub fn append(&mut self, path: &Path, entries: Vec<SourceEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for e in &entries {
            serde_json::to_writer(&mut buf, e).expect("serializable");
            buf.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(StoreError::io(path))?;
        if crash::due("sources_torn") {
            let _ = f.write_all(&buf[..buf.len() / 2]);
            let _ = f.sync_all();
            std::process::abort();
        }
        f.write_all(&buf).map_err(StoreError::io(path))?;
        f.sync_all().map_err(StoreError::io(path))?;
        for e in entries {
            self.insert(e);
        }
        crash::point("sources_recorded");
        Ok(())
    }
}

/// The path of `_sources.jsonl` in `store`.
pub(crate) fn sources_path(store: &Path) -> PathBuf {
    store.join(crate::store::SOURCES_FILE)
}
