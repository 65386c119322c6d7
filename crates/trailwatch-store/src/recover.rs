//! The writer's clean-up after a crash. It only concerns what the writer's own interrupted work
//! left, as its write-ahead records ([`crate::pending`]) and the ledger name it, and it deletes
//! nothing of the trail: the files an interrupted commit left, its record and a torn ledger line
//! are moved into `_quarantine/` and the move is recorded in the signed ledger (a quarantine
//! link). A file that no record names (planted, or left by a ledger cut short) is left where it
//! is, for verify to report. What the signed ledger says was removed and a crash left is deleted
//! as the link says: the files of a retention that is the ledger's last link, and the files a
//! compaction link replaced while records of the files it wrote are still there (the
//! compaction removes its records only after those files).
//!
//! Order, so that a crash during the clean-up is cleaned up by the next writer the same way:
//! 1. a torn ledger line: copied into quarantine (fsynced), then cut off the ledger;
//! 2. each record's files moved to `_quarantine/<record id>/<their path>`: a fixed place, so that
//!    a second run finds what a first, interrupted one already moved;
//! 3. the quarantine link appended (the clean-up's commit point);
//! 4. the records moved after their files (a record of a commit that did finish is removed).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use trailwatch_ledger::{hash_file, Ledger, Link, LinkKind, Quarantined, LEDGER_DIR, LEDGER_FILE};

use crate::crash;
use crate::pending::{read_records, Record, PENDING_DIR};
use crate::store::{sync_dir, Recovery, StoreError, TMP_DIR};

/// Where the writer moves what an interrupted write left.
pub const QUARANTINE_DIR: &str = "_quarantine";
/// The reason a quarantine link gives.
const REASON: &str = "interrupted write";

/// Cleans up after a crash (see the module doc). The caller holds the writer's lock.
pub(crate) fn recover(dir: &Path, ledger: &mut Ledger) -> Result<Recovery, StoreError> {
    for sub in [TMP_DIR, PENDING_DIR] {
        let d = dir.join(sub);
        if !d.is_dir() {
            fs::create_dir_all(&d).map_err(StoreError::io(&d))?;
            sync_dir(dir)?;
        }
    }
    let (compaction_finished, records_cleared) = finish_compactions(dir, ledger)?;
    let mut recovery = Recovery {
        retention_finished: finish_retention(dir, ledger)?,
        compaction_finished,
        records_cleared,
        ..Recovery::default()
    };
    let mut moved = Vec::new();
    if let Some(q) = quarantine_torn_tail(dir, ledger)? {
        recovery.ledger_bytes_cut = q.bytes;
        moved.push(q);
    }
    let mut interrupted = Vec::new();
    for record in read_records(dir)? {
        if committed(ledger, &record) {
            let abs = dir.join(&record.rel);
            fs::remove_file(&abs).map_err(StoreError::io(&abs))?;
            recovery.records_cleared += 1;
            continue;
        }
        moved.extend(quarantine_files(dir, ledger, &record, &mut recovery)?);
        interrupted.push(record);
    }
    let mut records = Vec::new();
    for r in &interrupted {
        let abs = dir.join(&r.rel);
        let d = hash_file(&abs)?;
        records.push(entry(r.rel.clone(), to_of(&r.id, &r.rel), &d));
    }
    moved.extend(records.iter().cloned());
    if !moved.is_empty() {
        crash::point("quarantine_moved");
        recovery.quarantined = moved.iter().map(|q| q.from.clone()).collect();
        recovery.quarantine_seq = Some(ledger.append_quarantine(moved, REASON)?.seq);
        crash::point("quarantine_linked");
    }
    for q in &records {
        move_file(dir, &q.from, &q.to)?;
    }
    if recovery.records_cleared > 0 {
        sync_dir(&dir.join(PENDING_DIR))?;
    }
    Ok(recovery)
}

/// Whether the commit a record announces did finish: its file is live with the record's hash.
fn committed(ledger: &Ledger, record: &Record) -> bool {
    let Some(i) = &record.intent else {
        return false;
    };
    match (&i.path, &i.sha256) {
        (Some(p), Some(h)) => ledger
            .live(p)
            .is_some_and(|l| l.sha256.as_deref() == Some(h.as_str())),
        _ => false,
    }
}

/// Where the clean-up moves a file `rel` of the record `id`: `_quarantine/<id>/<rel>`.
pub(crate) fn to_of(id: &str, rel: &str) -> String {
    format!("{QUARANTINE_DIR}/{id}/{rel}")
}

fn entry(from: String, to: String, d: &trailwatch_ledger::FileDigest) -> Quarantined {
    Quarantined {
        from,
        to,
        sha256: d.sha256_hex(),
        bytes: d.bytes,
    }
}

/// Moves the record's temporary file and its renamed data file (when it is the one the record
/// names: same SHA-256, not live) into quarantine; returns what is there now.
fn quarantine_files(
    dir: &Path,
    ledger: &Ledger,
    record: &Record,
    recovery: &mut Recovery,
) -> Result<Vec<Quarantined>, StoreError> {
    let Some(intent) = &record.intent else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut files = vec![(intent.tmp.as_str(), None)];
    if let Some(p) = &intent.path {
        if ledger.live(p).is_none() {
            files.push((p.as_str(), intent.sha256.as_deref()));
        }
    }
    for (from, want) in files {
        let to = to_of(&record.id, from);
        if let Some(d) = regular_file_digest(&dir.join(&to))? {
            // Moved by an earlier clean-up that crashed before its link.
            out.push(entry(from.to_string(), to, &d));
            continue;
        }
        let Some(d) = regular_file_digest(&dir.join(from))? else {
            continue;
        };
        if want.is_some_and(|h| h != d.sha256_hex()) {
            // Not the file the interrupted write renamed there: not the writer's to move.
            recovery.left_alone.push(from.to_string());
            continue;
        }
        move_file(dir, from, &to)?;
        out.push(entry(from.to_string(), to, &d));
    }
    Ok(out)
}

/// The digest of a regular file (not a symlink or directory); `None` when there is none.
fn regular_file_digest(path: &Path) -> Result<Option<trailwatch_ledger::FileDigest>, StoreError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(hash_file(path)?)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path)(e)),
    }
}

/// Renames `from` to `to` (both relative to the store), creating `to`'s directories, fsyncing
/// both directories.
fn move_file(dir: &Path, from: &str, to: &str) -> Result<(), StoreError> {
    let (src, dst) = (dir.join(from), dir.join(to));
    let dst_dir = dst.parent().unwrap_or(dir);
    fs::create_dir_all(dst_dir).map_err(StoreError::io(dst_dir))?;
    if dst.exists() {
        return Err(StoreError::Corrupt(
            dst,
            format!("cannot quarantine {from}: something is there already"),
        ));
    }
    fs::rename(&src, &dst).map_err(StoreError::io(&dst))?;
    sync_dir(dst_dir)?;
    sync_dir(src.parent().unwrap_or(dir))?;
    sync_dir(&dir.join(QUARANTINE_DIR))?;
    sync_dir(dir)
}

/// A torn last ledger line: its bytes copied into `_quarantine/<time>-ledger/…` (fsynced), then
/// cut off the ledger so that links can be appended again.
fn quarantine_torn_tail(
    dir: &Path,
    ledger: &mut Ledger,
) -> Result<Option<Quarantined>, StoreError> {
    let (Some(torn), Some(bytes)) = (ledger.torn_tail(), ledger.torn_tail_bytes()?) else {
        return Ok(None);
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.9fZ");
    let to = format!(
        "{QUARANTINE_DIR}/{stamp}-ledger/{LEDGER_FILE}.torn-at-{}",
        torn.offset
    );
    let abs = dir.join(&to);
    let parent = abs.parent().unwrap_or(dir);
    fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&abs)
        .map_err(StoreError::io(&abs))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(StoreError::io(&abs))?;
    sync_dir(parent)?;
    sync_dir(&dir.join(QUARANTINE_DIR))?;
    sync_dir(dir)?;
    let d = hash_file(&abs)?;
    ledger.repair()?;
    Ok(Some(entry(format!("{LEDGER_DIR}/{LEDGER_FILE}"), to, &d)))
}

/// A retention whose link is the ledger's last and whose deletions a crash interrupted: deletes
/// the files it removed that are still there with the hash it names (what the link says was
/// done). Returns their paths.
fn finish_retention(dir: &Path, ledger: &Ledger) -> Result<Vec<String>, StoreError> {
    let Some(link) = ledger.last_link().filter(|l| l.kind == LinkKind::Retention) else {
        return Ok(Vec::new());
    };
    let mut done = Vec::new();
    for r in &link.removed {
        if delete_if_unchanged(dir, &r.path, &r.sha256)? {
            done.push(r.path.clone());
        }
    }
    sync_parents(dir, &done)?;
    Ok(done)
}

/// Fsyncs the directory of each of the files `rels` (relative to the store), once each.
fn sync_parents(dir: &Path, rels: &[String]) -> Result<(), StoreError> {
    let parents: std::collections::BTreeSet<&str> = rels
        .iter()
        .map(|r| r.rsplit_once('/').map_or("", |(p, _)| p))
        .collect();
    parents.into_iter().try_for_each(|p| sync_dir(&dir.join(p)))
}

/// Deletes the data file `rel` of a partition if it is a regular file with the SHA-256
/// `sha256` (what a signed link says was removed); true if it did. Its directory is not
/// fsynced here: [`sync_parents`] does that once for all the files deleted.
fn delete_if_unchanged(dir: &Path, rel: &str, sha256: &str) -> Result<bool, StoreError> {
    let parts: Vec<&str> = rel.split('/').collect();
    let partition_file = matches!(parts[..], [p, d, _] if p.starts_with("provider=") && d.starts_with("dt="))
        && parts
            .iter()
            .all(|s| !s.is_empty() && *s != "." && *s != "..");
    if !partition_file {
        return Ok(false);
    }
    let abs = dir.join(rel);
    match regular_file_digest(&abs)? {
        Some(d) if d.sha256_hex() == sha256 => {
            fs::remove_file(&abs).map_err(StoreError::io(&abs))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Deletes the files the compaction `link` replaced that are still there, not live, with the
/// hash it names (their directories fsynced once, after). Returns their paths.
pub(crate) fn finish_compaction(
    dir: &Path,
    ledger: &Ledger,
    link: &Link,
) -> Result<Vec<String>, StoreError> {
    let mut done = Vec::new();
    for r in &link.replaced {
        if ledger.live(&r.path).is_none() && delete_if_unchanged(dir, &r.path, &r.sha256)? {
            done.push(r.path.clone());
            crash::point("compact_removed_one");
        }
    }
    sync_parents(dir, &done)?;
    Ok(done)
}

/// Compactions whose link is written but whose deletions a crash (or an error) interrupted:
/// each write-ahead record of a file that a compaction link made live (with the record's hash)
/// names one. Finishes that link's deletions ([`finish_compaction`]), then removes the record.
/// Returns the files deleted and the records removed.
pub(crate) fn finish_compactions(
    dir: &Path,
    ledger: &Ledger,
) -> Result<(Vec<String>, u64), StoreError> {
    let mut deleted = Vec::new();
    let mut cleared = 0;
    let mut finished = std::collections::BTreeSet::new();
    for record in read_records(dir)? {
        let Some(view) = record
            .intent
            .as_ref()
            .and_then(|i| i.path.as_deref())
            .and_then(|p| ledger.live(p))
            .filter(|l| l.kind == LinkKind::Compaction)
        else {
            continue;
        };
        if !committed(ledger, &record) {
            continue;
        }
        if finished.insert(view.seq) {
            if let Some(link) = ledger.read_link(view.seq)? {
                deleted.extend(finish_compaction(dir, ledger, &link)?);
            }
        }
        let abs = dir.join(&record.rel);
        fs::remove_file(&abs).map_err(StoreError::io(&abs))?;
        cleared += 1;
    }
    if cleared > 0 {
        sync_dir(&dir.join(PENDING_DIR))?;
    }
    Ok((deleted, cleared))
}
