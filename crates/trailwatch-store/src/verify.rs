//! Verification of a store, read-only: the ledger's checks (chain, signatures, every committed
//! and quarantined file's hash, planted and missing files, compactions adding up), every
//! committed file opening as the store's Parquet (and a compacted file holding the event ids
//! its compaction link recorded), and the write-ahead records of commits that never finished.

use std::fmt;
use std::path::Path;

use trailwatch_ledger::{hash_file, IdDigest, Ledger, Link, LinkKind, Problem, VerifyOptions};

use crate::pending::{read_records, Record};
use crate::recover::to_of;
use crate::store::{Store, StoreError};
use crate::write::{footer_rows, ids_digest};

/// A data file that the ledger accepts but that does not read as the store's Parquet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub path: String,
    pub reason: String,
}

/// A file that the write-ahead record of a commit names, the commit never written: left by an
/// interrupted write (the next writer moves it into quarantine), or by a ledger cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncommitted {
    /// The file, relative to the store.
    pub path: String,
    /// The record that names it, `_pending/<id>.jsonl`.
    pub record: String,
}

/// What [`Store::verify`] found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The ledger's chain, signatures and file hashes; its problems include the data files no
    /// link names (planted) and the committed files absent (missing).
    pub ledger: trailwatch_ledger::VerifyReport,
    /// Committed files opened as Parquet.
    pub parquet_checked: u64,
    /// Committed files that do not open, or whose row count is not the ledger's.
    pub parquet_problems: Vec<FileProblem>,
    /// Files named by a write-ahead record whose commit never happened.
    pub uncommitted: Vec<Uncommitted>,
    /// Write-ahead records that do not name what a writer writes (unparsable or odd paths).
    pub bad_records: Vec<String>,
    /// Files (and records) of a commit a live writer has in progress: not problems.
    pub in_flight: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems() == 0
    }

    /// How many problems were found.
    pub fn problems(&self) -> usize {
        self.ledger.problems.len()
            + self.parquet_problems.len()
            + self.uncommitted.len()
            + self.bad_records.len()
    }

    /// Data files that no ledger link (and no write-ahead record) names.
    pub fn planted(&self) -> Vec<&str> {
        self.ledger_paths(|p| match p {
            Problem::FileInserted { path } => Some(path),
            _ => None,
        })
    }

    /// Files the ledger names (committed or quarantined) that are absent.
    pub fn missing(&self) -> Vec<&str> {
        self.ledger_paths(|p| match p {
            Problem::FileMissing { path, .. } | Problem::QuarantinedMissing { path, .. } => {
                Some(path)
            }
            _ => None,
        })
    }

    fn ledger_paths<'a>(&'a self, f: impl Fn(&'a Problem) -> Option<&'a String>) -> Vec<&'a str> {
        self.ledger
            .problems
            .iter()
            .filter_map(f)
            .map(String::as_str)
            .collect()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.ledger.problems {
            writeln!(f, "{p}")?;
        }
        for p in &self.parquet_problems {
            writeln!(f, "{}: {}", p.path, p.reason)?;
        }
        for u in &self.uncommitted {
            writeln!(
                f,
                "{}: uncommitted (named by the write-ahead record {} of a write never committed; the next ingest moves it into quarantine)",
                u.path, u.record
            )?;
        }
        for r in &self.bad_records {
            writeln!(
                f,
                "{r}: a write-ahead record naming no file a writer writes: tampered"
            )?;
        }
        if self.is_ok() {
            write!(f, "ok: ")?;
        } else {
            write!(f, "FAILED: {} problems; ", self.problems())?;
        }
        write!(
            f,
            "{}; {} Parquet files opened",
            self.ledger.summary(),
            self.parquet_checked
        )?;
        if !self.in_flight.is_empty() {
            write!(
                f,
                "; {} files of a commit in progress not checked",
                self.in_flight.len()
            )?;
        }
        for line in self.ledger.kept_lines() {
            write!(f, "\n{line}")?;
        }
        // Every floor change and every deletion by retention, with the floor then in force.
        for line in self.ledger.history() {
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}

impl Store {
    /// Verifies the store against its own `signing.pub` (see [`Store::verify_with`]).
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        self.verify_with(&VerifyOptions::default())
    }

    /// Verifies the store (see the module doc), with the ledger's options (a public key pinned
    /// outside the store). Changes nothing on disk and needs no secret key. A file no ledger
    /// link names is planted unless a write-ahead record names it (then it is uncommitted, or
    /// in flight while another process holds the writer's lock).
    pub fn verify_with(&self, opts: &VerifyOptions) -> Result<VerifyReport, StoreError> {
        let ledger = trailwatch_ledger::verify_with(&self.dir, opts)?;
        let mut report = VerifyReport {
            ledger,
            parquet_checked: 0,
            parquet_problems: Vec::new(),
            uncommitted: Vec::new(),
            bad_records: Vec::new(),
            in_flight: Vec::new(),
        };
        self.check_parquet(&mut report);
        // After the ledger and the walk over the files: a commit a live writer finishes in
        // between is then either in a record read here or in the ledger read again below.
        let live_writer = self.writer_active();
        for record in read_records(&self.dir)? {
            self.check_record(&record, live_writer, &mut report);
        }
        if live_writer {
            self.settle_in_flight(&mut report)?;
        }
        Ok(report)
    }

    /// With a live writer, what its work in progress explains is no problem: a file committed
    /// (or written by a compaction) after the ledger was read, a file removed by a link
    /// appended since, the replaced files of a compaction not yet deleted.
    fn settle_in_flight(&self, report: &mut VerifyReport) -> Result<(), StoreError> {
        let now = Ledger::open(&self.dir)?;
        let mut in_flight = Vec::new();
        report.ledger.problems.retain(|p| match p {
            Problem::FileInserted { path } => now.live(path).is_none(),
            Problem::FileMissing { path, .. } => now.live(path).is_some(),
            Problem::ReplacedButPresent { path, .. } => {
                in_flight.push(path.clone());
                false
            }
            _ => true,
        });
        report.in_flight.extend(in_flight);
        Ok(())
    }

    /// Every committed file opens as the store's Parquet and holds the rows its link says; a
    /// file written by a compaction, the event ids too.
    fn check_parquet(&self, report: &mut VerifyReport) {
        for rel in self.files() {
            let abs = self.dir.join(&rel);
            let Some(link) = self.ledger.live(&rel) else {
                continue;
            };
            if !Path::new(&abs).exists() {
                continue; // the ledger's report names it
            }
            report.parquet_checked += 1;
            match footer_rows(&abs) {
                Ok(rows) if Some(rows) == link.records => {
                    if let Some(reason) = compacted_ids_problem(&abs, link) {
                        report.parquet_problems.push(FileProblem {
                            path: rel.clone(),
                            reason,
                        });
                    }
                }
                Ok(rows) => report.parquet_problems.push(FileProblem {
                    path: rel.clone(),
                    reason: format!("{rows} rows, the ledger says {}", link.records.unwrap_or(0)),
                }),
                Err(e) => report.parquet_problems.push(FileProblem {
                    path: rel.clone(),
                    reason: format!("does not open as Parquet: {e}"),
                }),
            }
        }
    }

    /// The files a write-ahead record names that are there and not committed: its temporary
    /// file, and its data file when that is not live and has the record's hash (a planted file
    /// under that name stays planted), in its partition or in quarantine without a link yet.
    fn check_record(&self, record: &Record, live_writer: bool, report: &mut VerifyReport) {
        let Some(intent) = &record.intent else {
            // A live writer may be writing its first line right now.
            let list = if live_writer {
                &mut report.in_flight
            } else {
                &mut report.bad_records
            };
            list.push(record.rel.clone());
            return;
        };
        let mut named = Vec::new();
        if self.dir.join(&intent.tmp).is_file() {
            named.push(intent.tmp.clone());
        }
        if let (Some(path), Some(sha256)) = (&intent.path, &intent.sha256) {
            // Where it was renamed to, or where a clean-up that crashed before its ledger link
            // moved it.
            for at in [path.clone(), to_of(&record.id, path)] {
                let planted = report
                    .ledger
                    .problems
                    .iter()
                    .position(|p| matches!(p, Problem::FileInserted { path: p } if *p == at));
                let Some(i) = planted else {
                    continue;
                };
                let digest = hash_file(&self.dir.join(&at));
                if digest.is_ok_and(|d| d.sha256_hex() == *sha256) {
                    report.ledger.problems.remove(i);
                    named.push(at);
                }
            }
        }
        for path in named {
            if live_writer {
                report.in_flight.push(path);
            } else {
                report.uncommitted.push(Uncommitted {
                    path,
                    record: record.rel.clone(),
                });
            }
        }
    }
}

/// For a file a compaction link wrote: whether its event ids are the ones the link recorded
/// (count and [`IdDigest`]); `Some(reason)` when they are not.
fn compacted_ids_problem(abs: &Path, link: &Link) -> Option<String> {
    if link.kind != LinkKind::Compaction {
        return None;
    }
    let want: Option<IdDigest> = link.ids_digest.as_deref().and_then(|d| d.parse().ok());
    match ids_digest(abs) {
        Ok((ids, rows)) if Some(ids) == want && Some(rows) == link.records => None,
        Ok((_, rows)) => Some(format!(
            "its event ids ({rows} rows) are not the ones compaction link {} recorded: tampered",
            link.seq
        )),
        Err(e) => Some(format!("event ids unreadable: {e}")),
    }
}
