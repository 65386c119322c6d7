//! The sync between a store's objects and its local working copy.
//!
//! On object storage a store is:
//! - its data files at the same paths as in a local store (`provider=…/dt=…/part-….parquet`),
//!   each written once, never overwritten (conditional create; on S3 under Object Lock);
//! - `_ledger/signing.pub`, and the ledger as append-only segments,
//!   `_ledger/segments/<first line, 20 digits>.jsonl`, each holding the lines one writing
//!   operation appended (the chain is their concatenation in name order);
//! - `_sources/<n, 20 digits>.jsonl`: the ingested sources, likewise in segments;
//! - `_lease` while a writer works ([`crate::lease`]).
//!
//! [`pull`] makes the working copy what the objects say: the ledger and sources are
//! assembled from their segments, each live file the ledger names is fetched (unless the copy
//! already has it at its size: objects are immutable) and hash-checked against its link, files
//! the ledger does not name are removed from the copy, and what an interrupted local run left
//! (`_tmp/`, `_pending/`, `_quarantine/`) is cleared: the objects are the truth, and the
//! store's exactly-once ingest redoes whatever was not pushed. [`push`] sends what one writing
//! operation added: new data files first, then the new ledger segment (the commit point: a
//! reader follows the ledger, so a file without its segment is never read), then the sources
//! segment, then the deletions the new links record (retention, compaction).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use trailwatch_ledger::{Ledger, Link, LEDGER_DIR, LEDGER_FILE, PUBLIC_KEY_FILE};
use trailwatch_store::{PENDING_DIR, QUARANTINE_DIR, SOURCES_FILE, TMP_DIR};

use crate::remote::{Created, Deleted, Remote};
use crate::RemoteError;

/// The ledger's segments inside the store.
pub const SEGMENTS_DIR: &str = "_ledger/segments";
/// The sources' segments inside the store.
pub const SOURCES_DIR: &str = "_sources";

/// What the working copy held of the objects at the last pull or push: what a push sends
/// is what the copy has beyond it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    pub ledger: Vec<u8>,
    pub ledger_lines: usize,
    pub sources: Vec<u8>,
    pub source_segments: usize,
    pub has_public_key: bool,
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    pub fetched: usize,
    pub fetched_bytes: u64,
    /// Live files the copy already had.
    pub cached: usize,
    /// Files of the copy the ledger no longer names, removed from it.
    pub removed: usize,
    /// Live files not fetched: missing, or not what their link says (verify names them).
    pub problems: Vec<String>,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    /// The new ledger segment, if the operation appended links.
    pub segment: Option<String>,
    pub deleted: usize,
    /// Objects the new links delete that the storage refused to delete (Object Lock, an
    /// immutability policy), with its answer: they stay, superseded ([`crate::verify`]).
    pub kept: Vec<(String, String)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RemoteError + '_ {
    move |e| RemoteError::Local(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` through a temporary file and a rename, fsynced.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RemoteError> {
    let tmp = path.with_extension("pulling");
    fs::write(&tmp, bytes).map_err(io(&tmp))?;
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}

/// The segments below `sub`, concatenated in name order, and how many there are. A segment
/// that does not end a line is refused: appends are whole lines.
fn assemble(remote: &Remote, sub: &str) -> Result<(Vec<u8>, usize), RemoteError> {
    let listed = remote.list(sub)?;
    let mut out = Vec::new();
    let mut n = 0;
    for l in listed.iter().filter(|l| l.rel.ends_with(".jsonl")) {
        let bytes = remote.get(&l.rel)?.unwrap_or_default();
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            return Err(remote.fail(&l.rel, "reading", "a segment that does not end a line"));
        }
        out.extend_from_slice(&bytes);
        n += 1;
    }
    Ok((out, n))
}

/// The data files of a local store directory (paths relative to it), outside the `_` folders.
pub fn local_data_files(dir: &Path) -> Result<BTreeSet<String>, RemoteError> {
    fn walk(root: &Path, at: &Path, out: &mut BTreeSet<String>) -> Result<(), RemoteError> {
        let entries = match fs::read_dir(at) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(at)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io(at))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(io(&path))?;
            if at == root && name.starts_with('_') {
                continue;
            }
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if name.ends_with(".parquet") {
                if let Ok(rel) = path.strip_prefix(root) {
                    out.insert(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// Makes the working copy `dir` what the objects say (see the module doc).
pub fn pull(remote: &Remote, dir: &Path) -> Result<(Synced, PullReport), RemoteError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    for leftover in [TMP_DIR, PENDING_DIR, QUARANTINE_DIR] {
        let p = dir.join(leftover);
        if p.exists() {
            fs::remove_dir_all(&p).map_err(io(&p))?;
        }
    }
    let public = remote.get(&format!("{LEDGER_DIR}/{PUBLIC_KEY_FILE}"))?;
    let (ledger, _) = assemble(remote, SEGMENTS_DIR)?;
    let (sources, source_segments) = assemble(remote, SOURCES_DIR)?;
    let synced = Synced {
        ledger_lines: ledger.iter().filter(|&&b| b == b'\n').count(),
        ledger,
        sources,
        source_segments,
        has_public_key: public.is_some(),
    };
    let ledger_dir = dir.join(LEDGER_DIR);
    let Some(public) = public else {
        if !synced.ledger.is_empty() {
            return Err(remote.fail(
                PUBLIC_KEY_FILE,
                "reading",
                "missing, though the ledger has links",
            ));
        }
        // No store there yet: an empty copy.
        if ledger_dir.exists() {
            fs::remove_dir_all(&ledger_dir).map_err(io(&ledger_dir))?;
        }
        let mut report = PullReport::default();
        for rel in local_data_files(dir)? {
            fs::remove_file(dir.join(&rel)).map_err(io(&dir.join(&rel)))?;
            report.removed += 1;
        }
        let _ = fs::remove_file(dir.join(SOURCES_FILE));
        return Ok((synced, report));
    };
    fs::create_dir_all(&ledger_dir).map_err(io(&ledger_dir))?;
    write_atomic(&ledger_dir.join(PUBLIC_KEY_FILE), &public)?;
    write_atomic(&ledger_dir.join(LEDGER_FILE), &synced.ledger)?;
    write_atomic(&dir.join(SOURCES_FILE), &synced.sources)?;
    let report = fetch_live(remote, dir)?;
    Ok((synced, report))
}

/// Fetches the live files the copy's ledger names, hash-checked; removes the others.
fn fetch_live(remote: &Remote, dir: &Path) -> Result<PullReport, RemoteError> {
    let ledger = Ledger::open(dir).map_err(|e| RemoteError::Ledger(e.to_string()))?;
    let mut report = PullReport::default();
    let live: Vec<(String, String, u64)> = ledger
        .live_files()
        .filter_map(|l| Some((l.path.clone()?, l.sha256.clone()?, l.bytes?)))
        .collect();
    let names: BTreeSet<&str> = live.iter().map(|(p, _, _)| p.as_str()).collect();
    for rel in local_data_files(dir)? {
        if !names.contains(rel.as_str()) {
            fs::remove_file(dir.join(&rel)).map_err(io(&dir.join(&rel)))?;
            report.removed += 1;
        }
    }
    let tmp = dir.join(TMP_DIR);
    fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    for (i, (rel, sha, bytes)) in live.iter().enumerate() {
        if !crate::location::safe_relative(rel) {
            report.problems.push(format!(
                "{}: the ledger names {rel:?}, not a path inside the store (not read; run verify)",
                remote.url()
            ));
            continue;
        }
        let at = dir.join(rel);
        if fs::metadata(&at).is_ok_and(|m| m.len() == *bytes) {
            report.cached += 1;
            continue;
        }
        let part = tmp.join(format!("pull-{i}"));
        let got = remote.download(rel, &part);
        match got {
            Ok((got_sha, got_bytes)) if got_sha == *sha && got_bytes == *bytes => {
                if let Some(parent) = at.parent() {
                    fs::create_dir_all(parent).map_err(io(parent))?;
                }
                fs::rename(&part, &at).map_err(io(&at))?;
                report.fetched += 1;
                report.fetched_bytes += got_bytes;
            }
            Ok(_) => {
                let _ = fs::remove_file(&part);
                report.problems.push(format!(
                    "{}/{rel}: not what the ledger committed (not read; run verify)",
                    remote.url()
                ));
            }
            Err(e) => {
                let _ = fs::remove_file(&part);
                report.problems.push(format!("{e} (not read; run verify)"));
            }
        }
    }
    fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    Ok(report)
}

/// The files a batch of new links writes, deletes, and moves into quarantine.
#[derive(Default)]
struct Changes {
    written: Vec<String>,
    deleted: Vec<String>,
    quarantined: Vec<String>,
}

fn changes(links: &[Link]) -> Changes {
    let mut c = Changes::default();
    for l in links {
        c.written.extend(l.path.iter().cloned());
        c.written.extend(l.written.iter().map(|w| w.path.clone()));
        c.deleted.extend(l.removed.iter().map(|r| r.path.clone()));
        c.deleted.extend(l.replaced.iter().map(|r| r.path.clone()));
        c.quarantined
            .extend(l.quarantined.iter().map(|q| q.to.clone()));
    }
    c
}

/// Sends what the working copy `dir` has beyond `base` (see the module doc); `base` becomes
/// what was sent.
pub fn push(remote: &Remote, dir: &Path, base: &mut Synced) -> Result<PushReport, RemoteError> {
    let mut report = PushReport::default();
    let ledger_path = dir.join(LEDGER_DIR).join(LEDGER_FILE);
    let ledger = fs::read(&ledger_path).map_err(io(&ledger_path))?;
    let new_ledger = beyond(&ledger, &base.ledger, &ledger_path)?;
    let sources_path = dir.join(SOURCES_FILE);
    let sources = match fs::read(&sources_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(&sources_path)(e)),
    };
    let new_sources = beyond(&sources, &base.sources, &sources_path)?;
    if !base.has_public_key && dir.join(LEDGER_DIR).join(PUBLIC_KEY_FILE).exists() {
        let rel = format!("{LEDGER_DIR}/{PUBLIC_KEY_FILE}");
        let bytes = read(dir, &rel)?;
        upload(remote, &rel, bytes, &mut report)?;
        base.has_public_key = true;
    }
    let links = parse_lines(new_ledger)?;
    let c = changes(&links);
    let live = Ledger::open(dir).map_err(|e| RemoteError::Ledger(e.to_string()))?;
    for rel in c.written.iter().filter(|p| live.live(p).is_some()) {
        upload(remote, rel, read(dir, rel)?, &mut report)?;
    }
    for rel in &c.quarantined {
        upload(remote, rel, read(dir, rel)?, &mut report)?;
    }
    if !new_ledger.is_empty() {
        let rel = format!("{SEGMENTS_DIR}/{:020}.jsonl", base.ledger_lines + 1);
        match remote.put_new(&rel, Bytes::copy_from_slice(new_ledger))? {
            Created::New => {}
            Created::AlreadyThere => {
                return Err(remote.fail(
                    &rel,
                    "writing",
                    "another writer appended this segment: the store changed under the lease (pull and run again)",
                ))
            }
        }
        report.uploaded += 1;
        report.segment = Some(format!("{}/{rel}", remote.url()));
        base.ledger_lines += links.len();
        base.ledger = ledger.clone();
    }
    if !new_sources.is_empty() {
        let rel = format!("{SOURCES_DIR}/{:020}.jsonl", base.source_segments + 1);
        upload(
            remote,
            &rel,
            Bytes::copy_from_slice(new_sources),
            &mut report,
        )?;
        base.source_segments += 1;
        base.sources = sources.clone();
    }
    for rel in &c.deleted {
        match remote.delete(rel)? {
            Deleted::Gone => report.deleted += 1,
            Deleted::Refused(why) => report.kept.push((rel.clone(), why)),
        }
    }
    Ok(report)
}

/// What `now` has beyond `before`, which it must begin with.
fn beyond<'a>(now: &'a [u8], before: &[u8], path: &Path) -> Result<&'a [u8], RemoteError> {
    now.strip_prefix(before).ok_or_else(|| {
        RemoteError::Local(format!(
            "{}: no longer begins with what was pulled (changed by another process?)",
            path.display()
        ))
    })
}

fn parse_lines(bytes: &[u8]) -> Result<Vec<Link>, RemoteError> {
    let text = std::str::from_utf8(bytes).map_err(|e| RemoteError::Ledger(e.to_string()))?;
    text.lines()
        .map(|l| Link::parse(l).map_err(RemoteError::Ledger))
        .collect()
}

fn read(dir: &Path, rel: &str) -> Result<Bytes, RemoteError> {
    let p: PathBuf = dir.join(rel);
    fs::read(&p).map(Bytes::from).map_err(io(&p))
}

/// Writes a new object; one already there must hold the same bytes (a push interrupted after
/// it, run again), else it is an error naming it.
fn upload(
    remote: &Remote,
    rel: &str,
    bytes: Bytes,
    report: &mut PushReport,
) -> Result<(), RemoteError> {
    let len = bytes.len() as u64;
    match remote.put_new(rel, bytes.clone())? {
        Created::New => {
            report.uploaded += 1;
            report.uploaded_bytes += len;
            Ok(())
        }
        Created::AlreadyThere => match remote.get(rel)? {
            Some(there) if there == bytes => Ok(()),
            _ => Err(remote.fail(
                rel,
                "writing",
                "an object with other content is already there (never overwritten; run verify)",
            )),
        },
    }
}
