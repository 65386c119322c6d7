//! Checkpoints: how far each object of each source has been read, in SQLite in the store
//! directory (`_watch/state.sqlite`, WAL, `synchronous=FULL`).
//!
//! A checkpoint is written only after the events of what it covers are committed to the store
//! and their alerts to the outbox, so a crash (even `kill -9`) at any instant makes the next run
//! re-read at most the last step's objects: the store keeps each event once and the outbox each
//! incident once, so nothing is skipped and nothing is alerted twice.

use crate::error::WatchError;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    source      TEXT NOT NULL,
    key         TEXT NOT NULL,
    size        INTEGER NOT NULL,
    version     TEXT NOT NULL,
    identity    TEXT,
    consumed    INTEGER NOT NULL,
    whole       INTEGER NOT NULL,
    account     TEXT,
    region      TEXT,
    modified_ms INTEGER NOT NULL,
    done_ms     INTEGER NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE TABLE IF NOT EXISTS pipeline (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    snapshot    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS posture (
    check_key   TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    checked_ms  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS posture_run (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    last_ms     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    name        TEXT PRIMARY KEY,
    last_ms     INTEGER NOT NULL
);
INSERT OR IGNORE INTO jobs (name, last_ms) SELECT 'posture', last_ms FROM posture_run;
CREATE TABLE IF NOT EXISTS report_sent (
    report      TEXT NOT NULL,
    sink        TEXT NOT NULL,
    sent_ms     INTEGER NOT NULL,
    PRIMARY KEY (report, sink)
);
";

/// How far one object has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Size when last looked at.
    pub size: u64,
    /// The object's version tag (ETag, or mtime and size) when last looked at.
    pub version: String,
    /// What tells a replaced file from a grown one (the inode of a local file).
    pub identity: Option<String>,
    /// Bytes read and committed (the whole object when `whole`).
    pub consumed: u64,
    /// Read as a whole (compressed or immutable), not appended to.
    pub whole: bool,
    pub account: Option<String>,
    pub region: Option<String>,
    /// The object's last-modified time, ms since the epoch.
    pub modified_ms: i64,
    /// When it was read, ms since the epoch.
    pub done_ms: i64,
}

/// Where each account and region of a source stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginSeen {
    pub account: String,
    pub region: String,
    pub objects: u64,
    /// Newest object's last-modified time, ms since the epoch.
    pub last_modified_ms: i64,
}

/// The checkpoint database, with every checkpoint cached in memory.
/// The last status of one posture check, as the watch recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostureResult {
    pub check_key: String,
    /// `pass` or `fail`.
    pub status: String,
    pub checked_ms: i64,
}

/// The posture results recorded in the watch state of `store_dir`, by check, read without
/// changing anything; none when the watch never ran there.
pub fn posture_results(store_dir: &Path) -> Result<Vec<PostureResult>, WatchError> {
    let path = store_dir.join("_watch").join("state.sqlite");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let err = |source| WatchError::State {
        path: path.display().to_string(),
        source,
    };
    let conn = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(err)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
    let has_table: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'posture'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    if has_table.is_none() {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare("SELECT check_key, status, checked_ms FROM posture ORDER BY check_key")
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(PostureResult {
                check_key: r.get(0)?,
                status: r.get(1)?,
                checked_ms: r.get(2)?,
            })
        })
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

pub struct State {
    conn: Connection,
    path: PathBuf,
    cache: HashMap<(String, String), Checkpoint>,
}

impl State {
    /// Opens (creating if needed) the checkpoints of the store at `store_dir`.
    pub fn open(store_dir: &Path) -> Result<State, WatchError> {
        let dir = store_dir.join("_watch");
        std::fs::create_dir_all(&dir).map_err(|source| WatchError::Io {
            what: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("state.sqlite");
        let err = |source| WatchError::State {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let mut state = State {
            conn,
            path,
            cache: HashMap::new(),
        };
        state.load()?;
        Ok(state)
    }

    fn err(&self, source: rusqlite::Error) -> WatchError {
        WatchError::State {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn load(&mut self) -> Result<(), WatchError> {
        let rows = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT source, key, size, version, identity, consumed, whole, account, region, modified_ms, done_ms FROM objects",
                )
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                        Checkpoint {
                            size: r.get::<_, i64>(2)?.max(0) as u64,
                            version: r.get(3)?,
                            identity: r.get(4)?,
                            consumed: r.get::<_, i64>(5)?.max(0) as u64,
                            whole: r.get::<_, i64>(6)? != 0,
                            account: r.get(7)?,
                            region: r.get(8)?,
                            modified_ms: r.get(9)?,
                            done_ms: r.get(10)?,
                        },
                    ))
                })
                .map_err(|e| self.err(e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.err(e))?
        };
        self.cache = rows.into_iter().collect();
        Ok(())
    }

    pub fn get(&self, source: &str, key: &str) -> Option<&Checkpoint> {
        self.cache.get(&(source.to_string(), key.to_string()))
    }

    /// What the scheduler recorded of job `name`'s last run ([`crate::schedule`]), ms since
    /// the epoch. (Before the scheduler, the posture checks kept theirs in `posture_run`,
    /// copied into `jobs` when the database is opened.)
    pub fn job_last(&self, name: &str) -> Result<Option<i64>, WatchError> {
        self.conn
            .query_row(
                "SELECT last_ms FROM jobs WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records job `name`'s last run.
    pub fn record_job(&self, name: &str, last_ms: i64) -> Result<(), WatchError> {
        self.conn
            .execute(
                "INSERT INTO jobs (name, last_ms) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET last_ms = ?2",
                params![name, last_ms],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The sinks that took report `id`.
    pub fn report_sent_to(&self, id: &str) -> Result<Vec<String>, WatchError> {
        let mut stmt = self
            .conn
            .prepare("SELECT sink FROM report_sent WHERE report = ?1 ORDER BY sink")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![id], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(e))
    }

    /// Records that `sink` took report `id`, at `now_ms`.
    pub fn record_report_sent(&self, id: &str, sink: &str, now_ms: i64) -> Result<(), WatchError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO report_sent (report, sink, sent_ms) VALUES (?1, ?2, ?3)",
                params![id, sink, now_ms],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The last known status (`pass` or `fail`) of a posture check.
    pub fn posture_status(&self, check_key: &str) -> Result<Option<String>, WatchError> {
        self.conn
            .query_row(
                "SELECT status FROM posture WHERE check_key = ?1",
                params![check_key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records the statuses a posture run read at `now_ms`, in one transaction (the run
    /// itself is recorded by the scheduler).
    pub fn record_posture(
        &mut self,
        statuses: &[(String, &str)],
        now_ms: i64,
    ) -> Result<(), WatchError> {
        let path = &self.path;
        let err = |source| WatchError::State {
            path: path.display().to_string(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        for (key, status) in statuses {
            tx.execute(
                "INSERT INTO posture (check_key, status, checked_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(check_key) DO UPDATE SET status = ?2, checked_ms = ?3",
                params![key, status, now_ms],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// The detection pipeline's state saved by the last step, if any.
    pub fn pipeline(&self) -> Result<Option<Vec<u8>>, WatchError> {
        self.conn
            .query_row("SELECT snapshot FROM pipeline WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| WatchError::State {
                path: self.path.display().to_string(),
                source: e,
            })
    }

    /// Records the checkpoints of one step and the pipeline's state after it in one
    /// transaction (fsynced before it returns): a crash keeps both from before the step or
    /// both from after it.
    pub fn commit(
        &mut self,
        entries: &[(String, String, Checkpoint)],
        pipeline: Option<&[u8]>,
    ) -> Result<(), WatchError> {
        if entries.is_empty() && pipeline.is_none() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(|e| WatchError::State {
            path: self.path.display().to_string(),
            source: e,
        })?;
        if let Some(snapshot) = pipeline {
            tx.execute(
                "INSERT INTO pipeline (id, snapshot) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET snapshot = ?1",
                [snapshot],
            )
            .map_err(|e| WatchError::State {
                path: self.path.display().to_string(),
                source: e,
            })?;
        }
        for (source, key, c) in entries {
            tx.execute(
                "INSERT INTO objects (source, key, size, version, identity, consumed, whole, account, region, modified_ms, done_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (source, key) DO UPDATE SET size = ?3, version = ?4, identity = ?5, consumed = ?6,
                   whole = ?7, account = ?8, region = ?9, modified_ms = ?10, done_ms = ?11",
                params![
                    source,
                    key,
                    i64::try_from(c.size).unwrap_or(i64::MAX),
                    c.version,
                    c.identity,
                    i64::try_from(c.consumed).unwrap_or(i64::MAX),
                    i64::from(c.whole),
                    c.account,
                    c.region,
                    c.modified_ms,
                    c.done_ms
                ],
            )
            .map_err(|e| WatchError::State {
                path: self.path.display().to_string(),
                source: e,
            })?;
        }
        tx.commit().map_err(|e| WatchError::State {
            path: self.path.display().to_string(),
            source: e,
        })?;
        for (source, key, c) in entries {
            self.cache.insert((source.clone(), key.clone()), c.clone());
        }
        Ok(())
    }

    /// Every account and region a source has delivered objects for (absent ones as `""`).
    pub fn origins(&self, source: &str) -> Vec<OriginSeen> {
        let mut by: std::collections::BTreeMap<(String, String), (u64, i64)> =
            std::collections::BTreeMap::new();
        for ((s, _), c) in &self.cache {
            if s != source {
                continue;
            }
            let k = (
                c.account.clone().unwrap_or_default(),
                c.region.clone().unwrap_or_default(),
            );
            let e = by.entry(k).or_insert((0, i64::MIN));
            e.0 += 1;
            e.1 = e.1.max(c.modified_ms);
        }
        by.into_iter()
            .map(|((account, region), (objects, last))| OriginSeen {
                account,
                region,
                objects,
                last_modified_ms: last,
            })
            .collect()
    }

    /// Number of objects with a checkpoint, over every source.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// The checkpoint as stored on disk (not the cache): for tests of durability.
    pub fn read_back(&self, source: &str, key: &str) -> Result<Option<u64>, WatchError> {
        self.conn
            .query_row(
                "SELECT consumed FROM objects WHERE source = ?1 AND key = ?2",
                params![source, key],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|o| o.map(|v| v.max(0) as u64))
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(consumed: u64, account: &str, region: &str, modified_ms: i64) -> Checkpoint {
        Checkpoint {
            size: consumed,
            version: "v1".into(),
            identity: None,
            consumed,
            whole: false,
            account: Some(account.into()),
            region: Some(region.into()),
            modified_ms,
            done_ms: modified_ms + 1,
        }
    }

    #[test]
    fn checkpoints_survive_reopening_and_update_in_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut s = State::open(dir.path()).expect("open");
            s.commit(
                &[
                    ("src".into(), "a.json".into(), cp(10, "1", "us-east-1", 100)),
                    ("src".into(), "b.json".into(), cp(20, "1", "eu-west-1", 200)),
                ],
                Some(b"one"),
            )
            .expect("commit");
            s.commit(
                &[("src".into(), "a.json".into(), cp(15, "1", "us-east-1", 300))],
                Some(b"two"),
            )
            .expect("update");
        }
        let s = State::open(dir.path()).expect("reopen");
        assert_eq!(s.len(), 2);
        assert_eq!(s.get("src", "a.json").map(|c| c.consumed), Some(15));
        assert_eq!(s.read_back("src", "b.json").expect("read"), Some(20));
        assert_eq!(s.get("other", "a.json"), None);
        assert_eq!(
            s.pipeline().expect("pipeline").as_deref(),
            Some(&b"two"[..])
        );
        let o = s.origins("src");
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].region, "eu-west-1");
        assert_eq!(o[1].last_modified_ms, 300);
    }

    #[test]
    fn job_runs_and_report_sinks_survive_reopening_and_an_old_posture_run_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            // A state written before the scheduler: the posture run in its own table.
            let path = dir.path().join("_watch");
            std::fs::create_dir_all(&path).expect("mkdir");
            let conn = Connection::open(path.join("state.sqlite")).expect("open");
            conn.execute_batch(
                "CREATE TABLE posture_run (id INTEGER PRIMARY KEY CHECK (id = 1), last_ms INTEGER NOT NULL);
                 INSERT INTO posture_run VALUES (1, 1234);",
            )
            .expect("old schema");
        }
        {
            let s = State::open(dir.path()).expect("open");
            assert_eq!(s.job_last("posture").expect("job"), Some(1234));
            assert_eq!(s.job_last("review").expect("job"), None);
            s.record_job("posture", 5000).expect("record");
            s.record_job("review", 7000).expect("record");
            s.record_report_sent("review-2026-11-20", "mail", 1)
                .expect("sent");
            s.record_report_sent("review-2026-11-20", "mail", 2)
                .expect("again");
            s.record_report_sent("review-2026-11-20", "chat", 3)
                .expect("sent");
        }
        let s = State::open(dir.path()).expect("reopen");
        assert_eq!(s.job_last("posture").expect("job"), Some(5000));
        assert_eq!(s.job_last("review").expect("job"), Some(7000));
        assert_eq!(
            s.report_sent_to("review-2026-11-20").expect("sent"),
            ["chat", "mail"]
        );
        assert!(s
            .report_sent_to("review-2026-11-21")
            .expect("none")
            .is_empty());
    }
}
