//! The learned state, persisted between runs as one JSON file written atomically (temporary
//! file in the same directory, fsync, rename, fsync of the directory).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;

/// Bumped when the layout changes; a file of another version is refused, not misread.
pub const STATE_VERSION: u32 = 1;

/// Hours in a week (hour-of-week histogram bins).
pub const WEEK_HOURS: usize = 168;

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read baseline state {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("baseline state {path} is not valid: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("baseline state {path} has version {found}, this build reads {STATE_VERSION}")]
    Version { path: String, found: u32 },
    #[error("cannot write baseline state {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The state's file name inside a store directory, when no `state_file` is configured.
pub const STATE_FILE_IN_STORE: &str = "_baselines.json";

/// Everything learned, for every principal and resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineState {
    pub version: u32,
    /// The latest event time learned; older events replayed later are not learned twice.
    pub as_of_ms: i64,
    pub principals: Vec<PrincipalProfile>,
    pub resources: Vec<ResourceProfile>,
    /// Long-term keys created (by `CreateAccessKey`) and not used yet, with the index in
    /// `principals` of their creator: the key's first use, however much later, continues the
    /// creator's chain.
    #[serde(default)]
    pub created_keys: Vec<(String, usize)>,
}

impl Default for BaselineState {
    fn default() -> Self {
        BaselineState {
            version: STATE_VERSION,
            as_of_ms: i64::MIN,
            principals: Vec::new(),
            resources: Vec::new(),
            created_keys: Vec::new(),
        }
    }
}

/// What is usual for one principal in one account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PrincipalProfile {
    pub account: String,
    pub principal: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub events: u64,
    /// Events per hour of the week (Monday 00:00 first), in the configured UTC offset.
    pub hours: Vec<u32>,
    /// First-seen values (a stable 64-bit hash of kind and value) and when each was first seen.
    pub seen: FxHashMap<u64, i64>,
    /// Calls per hour.
    pub volume: Volume,
}

/// Data-event volume of one resource (bucket, table, vault) for one kind of operation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceProfile {
    pub account: String,
    pub resource: String,
    /// `read`, `delete` or `write`.
    pub op: String,
    pub volume: Volume,
}

/// A count per hour with the previous hours' counts (the rolling window).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Volume {
    /// Hours since the epoch of `count`.
    pub hour: i64,
    pub count: u32,
    /// Earlier hours' counts, oldest first (zeros for hours without calls).
    pub history: VecDeque<u32>,
}

impl BaselineState {
    /// Reads state; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<BaselineState, StateError> {
        let p = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(BaselineState::default())
            }
            Err(source) => return Err(StateError::Read { path: p, source }),
        };
        let state: BaselineState =
            serde_json::from_slice(&bytes).map_err(|source| StateError::Parse {
                path: p.clone(),
                source,
            })?;
        if state.version != STATE_VERSION {
            return Err(StateError::Version {
                path: p,
                found: state.version,
            });
        }
        Ok(state)
    }

    /// Writes state atomically: a crash leaves the old file or the new one, never a mix.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let p = path.display().to_string();
        let werr = |source| StateError::Write {
            path: p.clone(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(werr)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(werr)?;
        let json = serde_json::to_vec(self).map_err(|e| werr(std::io::Error::other(e)))?;
        tmp.write_all(&json).map_err(werr)?;
        tmp.as_file().sync_all().map_err(werr)?;
        tmp.persist(path).map_err(|e| werr(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Directory fsync makes the rename durable; not all platforms allow it.
            let _ = d.sync_all();
        }
        Ok(())
    }
}
