//! Write-ahead records: what a commit in progress is about to leave in the store, written (and
//! fsynced) before it leaves it, so that the writer that comes after a crash knows exactly which
//! files are its own leftovers — and nothing else is ever touched.
//!
//! One record per commit, `_pending/<id>.jsonl`, `<id>` = `<UTC time>-seq<seq:08>`; JSON lines:
//! 1. before the temporary file is created: `{"seq":12,"tmp":"_tmp/part-<id>.parquet.tmp"}`;
//! 2. before that file is renamed into its partition, the same plus where to and its digest:
//!    `…,"path":"provider=aws/dt=2024-05-01/part-00000012-<sha16>.parquet","sha256":"…","bytes":N}`.
//!
//! The record is removed once the ledger's commit line is written. The last complete line that
//! parses is the record's state; a torn last line is one not yet written (the step after it was
//! not taken: each line is fsynced before that step).
//!
//! A compaction writes one record per file it writes (`<id>` ends in `-compaction<n>`), the same
//! way; the ledger line that commits them all is its compaction link, and its records are
//! removed once the files it replaced are deleted (a record of a file made live by a compaction
//! link tells the next writer to finish that compaction's deletions).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use trailwatch_ledger::FileDigest;

use crate::store::{sync_dir, StoreError, TMP_DIR};

/// Write-ahead records of commits in progress (or interrupted).
pub const PENDING_DIR: &str = "_pending";
/// The extension of a write-ahead record.
const RECORD_EXT: &str = ".jsonl";

/// One line of a write-ahead record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Intent {
    /// The ledger seq the commit line will have.
    pub seq: u64,
    /// The temporary file, relative to the store: `_tmp/<name>`.
    pub tmp: String,
    /// Where the file is renamed to, relative to the store (a partition data file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Hex SHA-256 and size of the file renamed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl Intent {
    /// Whether the paths are where a writer puts them: `tmp` one file directly in `_tmp/`,
    /// `path` a `.parquet` file directly in a `provider=…/dt=…` partition. A record naming
    /// anything else is not the writer's and names nothing.
    fn well_formed(&self) -> bool {
        let tmp_ok = matches!(self.tmp.split_once('/'), Some((TMP_DIR, name)) if clean_name(name));
        let path_ok = self.path.as_deref().is_none_or(|p| {
            let parts: Vec<&str> = p.split('/').collect();
            matches!(parts[..], [provider, day, name]
                if provider.starts_with("provider=") && day.starts_with("dt=")
                    && parts.iter().all(|s| clean_name(s)) && name.ends_with(".parquet"))
        });
        let digest_ok = self.path.is_none() || (self.sha256.is_some() && self.bytes.is_some());
        tmp_ok && path_ok && digest_ok
    }
}

/// One path segment that cannot climb out of its directory.
fn clean_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

/// A write-ahead record found in `_pending/`.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// `<id>`: the file name without `.jsonl`.
    pub id: String,
    /// `_pending/<id>.jsonl`.
    pub rel: String,
    /// Its last complete line, when that parses and names the writer's kind of paths.
    pub intent: Option<Intent>,
}

/// The write-ahead records in the store, sorted by id. Reads only: no directory is created and a
/// torn line is left as it is.
pub(crate) fn read_records(dir: &Path) -> Result<Vec<Record>, StoreError> {
    let pending = dir.join(PENDING_DIR);
    let entries = match fs::read_dir(&pending) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&pending)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StoreError::io(&pending))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(id) = name.strip_suffix(RECORD_EXT) else {
            continue;
        };
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let bytes = fs::read(entry.path()).map_err(StoreError::io(&entry.path()))?;
        out.push(Record {
            id: id.to_string(),
            rel: format!("{PENDING_DIR}/{name}"),
            intent: last_intent(&bytes),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The last complete line's intent (a torn last line is a step not taken yet).
fn last_intent(bytes: &[u8]) -> Option<Intent> {
    let complete = bytes.iter().rposition(|&b| b == b'\n')?;
    let line = bytes[..complete].split(|&b| b == b'\n').next_back()?;
    serde_json::from_slice::<Intent>(line)
        .ok()
        .filter(Intent::well_formed)
}

/// The record of the commit in progress.
pub(crate) struct Pending {
    path: PathBuf,
    file: File,
    intent: Intent,
}

impl Pending {
    /// Writes the first line of a new record for the commit of ledger seq `seq` (fsynced, and
    /// its directory): from now on the temporary file it names is known to be the writer's.
    pub(crate) fn begin(dir: &Path, seq: u64) -> Result<Pending, StoreError> {
        let id = format!("{}-seq{seq:08}", Utc::now().format("%Y%m%dT%H%M%S%.9fZ"));
        Self::begin_with_id(dir, seq, id)
    }

    /// [`Pending::begin`] for the `n`-th file a compaction writes (all of them are made live
    /// by the compaction link, of ledger seq `seq`).
    pub(crate) fn begin_output(dir: &Path, seq: u64, n: usize) -> Result<Pending, StoreError> {
        let id = format!(
            "{}-seq{seq:08}-compaction{n}",
            Utc::now().format("%Y%m%dT%H%M%S%.9fZ")
        );
        Self::begin_with_id(dir, seq, id)
    }

    fn begin_with_id(dir: &Path, seq: u64, id: String) -> Result<Pending, StoreError> {
        let pending = dir.join(PENDING_DIR);
        let path = pending.join(format!("{id}{RECORD_EXT}"));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(StoreError::io(&path))?;
        let mut p = Pending {
            path,
            file,
            intent: Intent {
                seq,
                tmp: format!("{TMP_DIR}/part-{id}.parquet.tmp"),
                path: None,
                sha256: None,
                bytes: None,
            },
        };
        p.write_line()?;
        sync_dir(&pending)?;
        Ok(p)
    }

    /// The temporary file to write, relative to the store.
    pub(crate) fn tmp(&self) -> &str {
        &self.intent.tmp
    }

    /// Records (fsynced) that the temporary file, with this digest, is about to be renamed to
    /// `rel`.
    pub(crate) fn renaming(&mut self, rel: &str, digest: &FileDigest) -> Result<(), StoreError> {
        self.intent.path = Some(rel.to_string());
        self.intent.sha256 = Some(digest.sha256_hex());
        self.intent.bytes = Some(digest.bytes);
        self.write_line()
    }

    /// The commit line is written: the record has served. (Not fsynced: a record that survives
    /// a crash names a committed file, which the next writer sees and removes it.)
    pub(crate) fn done(self) -> Result<(), StoreError> {
        drop(self.file);
        fs::remove_file(&self.path).map_err(StoreError::io(&self.path))
    }

    fn write_line(&mut self) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(&self.intent)
            .map_err(|e| StoreError::Corrupt(self.path.clone(), e.to_string()))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(StoreError::io(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(tmp: &str, path: Option<&str>) -> Intent {
        Intent {
            seq: 3,
            tmp: tmp.into(),
            path: path.map(str::to_string),
            sha256: path.map(|_| "ab".repeat(32)),
            bytes: path.map(|_| 10),
        }
    }

    #[test]
    fn only_the_writers_paths_are_well_formed() {
        let ok = "provider=aws/dt=2024-05-01/part-1.parquet";
        assert!(intent("_tmp/part-x.parquet.tmp", None).well_formed());
        assert!(intent("_tmp/part-x.parquet.tmp", Some(ok)).well_formed());
        for tmp in [
            "_tmp/../x",
            "_tmp/a/b",
            "x/part.tmp",
            "_tmp/",
            "/etc/passwd",
        ] {
            assert!(!intent(tmp, None).well_formed(), "{tmp}");
        }
        for path in [
            "provider=aws/dt=2024-05-01/../../x.parquet",
            "provider=aws/../_ledger/ledger.jsonl",
            "_ledger/x/y.parquet",
            "provider=aws/dt=x/part.txt",
            "provider=aws/dt=x/a/b.parquet",
            "/provider=aws/dt=x/b.parquet",
        ] {
            assert!(
                !intent("_tmp/t", Some(path)).well_formed(),
                "{path} is not a partition file"
            );
        }
        let mut no_digest = intent("_tmp/t", Some(ok));
        no_digest.sha256 = None;
        assert!(!no_digest.well_formed());
    }

    #[test]
    fn the_last_complete_line_is_the_state() {
        let one = serde_json::to_string(&intent("_tmp/a", None)).unwrap();
        let two =
            serde_json::to_string(&intent("_tmp/a", Some("provider=aws/dt=d/p.parquet"))).unwrap();
        let torn = format!("{one}\n{}", &two[..two.len() / 2]);
        assert_eq!(last_intent(torn.as_bytes()), Some(intent("_tmp/a", None)));
        let both = format!("{one}\n{two}\n");
        assert_eq!(
            last_intent(both.as_bytes()).and_then(|i| i.path),
            Some("provider=aws/dt=d/p.parquet".to_string())
        );
        assert_eq!(last_intent(b""), None);
        assert_eq!(last_intent(b"{\"seq\":1,\"tmp\":\"_tmp/a\"}"), None);
        assert_eq!(last_intent(b"garbage\n"), None);
    }
}
