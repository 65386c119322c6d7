//! A local folder, walked directly: that is how a replaced file is told from a grown one
//! (its inode).

use super::{BuildSource, ObjectInfo, ObjectSource};
use crate::config::Coverage;
use bytes::Bytes;
use serde::Deserialize;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use tokio::runtime::Runtime;
use trailwatch_model::Provider;

/// `kind = "local"`: a folder, recursively.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSourceConfig {
    pub path: PathBuf,
    #[serde(default)]
    pub coverage: Coverage,
}

impl BuildSource for LocalSourceConfig {
    fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    /// Local folders hold CloudTrail exports (Azure exports are read from folders too, but
    /// coverage of a folder is counted as AWS accounts and regions).
    fn provider(&self) -> Provider {
        Provider::Aws
    }

    fn build(&self) -> Result<Box<dyn ObjectSource>, String> {
        if self.path.exists() && !self.path.is_dir() {
            return Err(format!("{} is not a folder", self.path.display()));
        }
        Ok(Box::new(LocalSource::new(self.path.clone())))
    }
}

/// A folder's files; their keys are the paths below it, `/`-separated.
pub(crate) struct LocalSource {
    root: PathBuf,
}

impl LocalSource {
    pub(crate) fn new(root: PathBuf) -> LocalSource {
        LocalSource { root }
    }
}

impl ObjectSource for LocalSource {
    fn describe(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }

    /// Creates a missing folder, so that a fresh inbox can be watched.
    fn prepare(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.root).map_err(|e| format!("{}: {e}", self.root.display()))
    }

    fn list(&self, _rt: &Runtime) -> Result<Vec<ObjectInfo>, String> {
        list_folder(&self.root)
    }

    fn read(&self, _rt: &Runtime, key: &str, range: Range<u64>) -> Result<Bytes, String> {
        let path = self.root.join(key);
        let mut f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        f.seek(SeekFrom::Start(range.start))
            .map_err(|e| e.to_string())?;
        let len = range.end.saturating_sub(range.start);
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        f.take(len)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        if (buf.len() as u64) < len {
            return Err(format!(
                "shorter than listed: {} bytes at {}, expected {len}",
                buf.len(),
                range.start
            ));
        }
        Ok(Bytes::from(buf))
    }
}

fn list_folder(root: &Path) -> Result<Vec<ObjectInfo>, String> {
    if !root.is_dir() {
        return Err(format!("{}: not a folder", root.display()));
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let Ok(entry) = entry else {
            // A file removed while walking, an unreadable folder: looked at again next poll.
            continue;
        };
        if !entry.file_type().is_file() {
            continue;
        }
        if let Some(info) = info_of(root, &entry) {
            out.push(info);
        }
    }
    Ok(out)
}

/// A file as a listing shows it; `None` when it vanished meanwhile.
fn info_of(root: &Path, entry: &walkdir::DirEntry) -> Option<ObjectInfo> {
    let meta = entry.metadata().ok()?;
    let rel = entry.path().strip_prefix(root).ok()?;
    let key = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let modified_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    #[cfg(unix)]
    let identity = {
        use std::os::unix::fs::MetadataExt;
        Some(format!("{}:{}", meta.dev(), meta.ino()))
    };
    #[cfg(not(unix))]
    let identity = None;
    Some(ObjectInfo {
        key,
        size: meta.len(),
        version: format!("{}-{modified_ms}", meta.len()),
        identity,
        modified_ms,
    })
}
