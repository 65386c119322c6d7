//! Compaction: the many small files a busy writer commits to a day, rewritten once that day is
//! over into one file (or a few, of at most [`CompactOptions::max_rows`] rows each) holding the
//! same rows, sorted as the store sorts, and recorded in the signed ledger so that verify tells
//! it from tampering.
//!
//! This module owns choosing what to compact ([`Store::compaction_due`]), the compaction's
//! commit protocol and its report; the merge itself is [`crate::merge`], and finishing a
//! compaction a crash interrupted after its link is the writer's clean-up
//! ([`crate::recover::finish_compactions`]).
//!
//! Protocol, per group of files of one partition, under the writer's lock:
//! 1. each file to replace is hashed: it must still be what the ledger says (a compaction must
//!    not launder a modified file into a freshly signed one);
//! 2. per file written, as an ingest commit: a write-ahead record naming its temporary file,
//!    the merged rows written there and fsynced, its destination and hash added to the record,
//!    the rename into the partition, the directory fsynced;
//! 3. the written files' event ids read back: their count and [`IdDigest`] must be those of
//!    the rows read from the replaced files;
//! 4. the compaction link (the commit point): every replaced file with its hash, every written
//!    file with its hash, size, rows, time range and id digest, the total rows and id digest;
//! 5. the replaced files deleted (each only while it has the hash the link names);
//! 6. the write-ahead records removed.
//!
//! A crash before 4 leaves the replaced files live and the written ones named by records: the
//! next writer moves those into quarantine, as any interrupted commit's. A crash after 4 leaves
//! the written files live and records naming them: the next writer sees that a compaction link
//! made them live and finishes its deletions. An error before 4 removes what this compaction
//! wrote (its own uncommitted copies). The ledger's live set is the old files or the new ones
//! at every instant; a query that lists the directory (`trailwatch sql`) sees the rows of both
//! between the rename (2) and the deletions (5), or until the next writer after a crash there.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::TimestampMillisecondType;
use chrono::{NaiveDate, SecondsFormat};
use trailwatch_ledger::{hash_file, FileDigest, IdDigest, Link, Replaced, Written};

use crate::crash;
use crate::merge::Merge;
use crate::pending::Pending;
use crate::recover::{finish_compaction, finish_compactions};
use crate::schema::{column_index, COL_TIME};
use crate::store::{place_file, time_of, Store, StoreError};
use crate::write::{ids_digest, FileWriter};

/// [`CompactOptions::min_files`] unless told otherwise.
pub const DEFAULT_MIN_FILES: usize = 8;
/// [`CompactOptions::max_rows`] unless told otherwise.
pub const DEFAULT_MAX_ROWS: u64 = 2_000_000;
/// [`CompactOptions::max_inputs`] unless told otherwise: each file merged holds an open file
/// (the usual limit is 1,024 a process) and its column readers (about half a megabyte: the
/// `trailwatch compact` of `bench/compaction.sh`, debug build, peaked at 341 MB resident with
/// 256 at once and 233 MB with 64).
pub const DEFAULT_MAX_INPUTS: usize = 128;
/// Rows per batch written.
const OUTPUT_BATCH_ROWS: usize = 8192;

/// What to compact.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Only days strictly before this one (UTC) are compacted: never the day being written.
    pub before_day: NaiveDate,
    /// A partition is compacted when it has at least this many small files (2 at least).
    pub min_files: usize,
    /// Rows per file written, at most. A file with half as many or more is not small: it is
    /// left as it is (so that a day split into several files is not rewritten again).
    pub max_rows: u64,
    /// Files merged at once, at most (2 at least). A partition with more is compacted a group
    /// at a time, each group its own compaction link; a group's file joins the rest while it
    /// is small, so that every row is rewritten twice at most.
    pub max_inputs: usize,
}

impl CompactOptions {
    /// The defaults, for the days before `before_day`.
    pub fn before(before_day: NaiveDate) -> CompactOptions {
        CompactOptions {
            before_day,
            min_files: DEFAULT_MIN_FILES,
            max_rows: DEFAULT_MAX_ROWS,
            max_inputs: DEFAULT_MAX_INPUTS,
        }
    }

    fn min_files_clamped(&self) -> usize {
        self.min_files.max(2)
    }

    fn max_rows_clamped(&self) -> u64 {
        self.max_rows.max(2)
    }
}

/// What the compaction of one partition did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionCompaction {
    /// `provider=<p>/dt=<day>`.
    pub partition: String,
    /// The partition's live files and their bytes, before and after.
    pub files_before: u64,
    pub files_after: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The partition's events (the same before and after).
    pub events: u64,
    /// Rows written: the partition's, and again those of the groups merged first when it has
    /// more files than [`CompactOptions::max_inputs`].
    pub rows_written: u64,
    /// The compaction links written.
    pub ledger_seqs: Vec<u64>,
}

/// What [`Store::compact`] did.
#[derive(Debug, Clone, Default)]
pub struct CompactReport {
    pub partitions: Vec<PartitionCompaction>,
    /// Files a compaction interrupted earlier had left, deleted first.
    pub finished_before: Vec<String>,
    pub elapsed_secs: f64,
}

impl CompactReport {
    pub fn files_before(&self) -> u64 {
        self.partitions.iter().map(|p| p.files_before).sum()
    }
    pub fn files_after(&self) -> u64 {
        self.partitions.iter().map(|p| p.files_after).sum()
    }
    pub fn bytes_before(&self) -> u64 {
        self.partitions.iter().map(|p| p.bytes_before).sum()
    }
    pub fn bytes_after(&self) -> u64 {
        self.partitions.iter().map(|p| p.bytes_after).sum()
    }
}

/// The small files of one partition, sorted: to be compacted.
struct Due {
    partition: String,
    files: Vec<String>,
}

/// What one group's compaction did.
struct GroupDone {
    seq: u64,
    rows: u64,
    /// The files it wrote that are small still (to merge with the rest of the partition).
    small: Vec<String>,
}

/// `provider=<p>/dt=<day>/<name>` → (`provider=<p>/dt=<day>`, `<day>`).
fn partition_of_file(rel: &str) -> Option<(&str, &str)> {
    let (partition, name) = rel.rsplit_once('/')?;
    let (provider, day) = partition.split_once('/')?;
    let day = day.strip_prefix("dt=")?;
    (provider.starts_with("provider=") && !name.is_empty()).then_some((partition, day))
}

impl Store {
    /// Whether [`Store::compact`] with these options has anything to do: a partition of a day
    /// before `before_day` with `min_files` small files or more. Reads only the ledger's live
    /// files (in memory): cheap enough to ask after every poll.
    pub fn compaction_due(&self, opts: &CompactOptions) -> bool {
        !self.due(opts).is_empty()
    }

    fn due(&self, opts: &CompactOptions) -> Vec<Due> {
        let cut = opts.before_day.format("%Y-%m-%d").to_string();
        let small = opts.max_rows_clamped() / 2;
        let mut parts: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for link in self.ledger.live_files() {
            let Some(rel) = link.path.as_deref() else {
                continue;
            };
            let Some((partition, day)) = partition_of_file(rel) else {
                continue;
            };
            if day < cut.as_str() && link.records.unwrap_or(0) < small {
                parts.entry(partition).or_default().push(rel.to_string());
            }
        }
        parts
            .into_iter()
            .filter(|(_, files)| files.len() >= opts.min_files_clamped())
            .map(|(partition, mut files)| {
                files.sort();
                Due {
                    partition: partition.to_string(),
                    files,
                }
            })
            .collect()
    }

    /// Compacts every partition [`Store::compaction_due`] names (see the module doc). Needs the
    /// store opened for writing. `Err` stops at the partition that failed; the partitions before
    /// it are compacted, that one is as it was.
    pub fn compact(&mut self, opts: &CompactOptions) -> Result<CompactReport, StoreError> {
        self.check_writable()?;
        let started = Instant::now();
        let (finished_before, _) = finish_compactions(&self.dir, &self.ledger)?;
        let mut report = CompactReport {
            finished_before,
            ..CompactReport::default()
        };
        for due in self.due(opts) {
            let done = match self.compact_partition(due, opts) {
                Ok(done) => done,
                Err(e) => {
                    // The partitions compacted before are published all the same.
                    self.publish_head()?;
                    return Err(e);
                }
            };
            tracing::info!(
                "compacted {}: {} files ({} bytes) into {} ({} bytes)",
                done.partition,
                done.files_before,
                done.bytes_before,
                done.files_after,
                done.bytes_after
            );
            report.partitions.push(done);
        }
        self.publish_head()?;
        report.elapsed_secs = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// The live files of a partition, their bytes and their rows.
    fn partition_size(&self, partition: &str) -> (u64, u64, u64) {
        self.ledger
            .live_files()
            .filter(|l| {
                l.path
                    .as_deref()
                    .and_then(partition_of_file)
                    .is_some_and(|(p, _)| p == partition)
            })
            .fold((0, 0, 0), |(n, b, r), l| {
                (n + 1, b + l.bytes.unwrap_or(0), r + l.records.unwrap_or(0))
            })
    }

    fn compact_partition(
        &mut self,
        due: Due,
        opts: &CompactOptions,
    ) -> Result<PartitionCompaction, StoreError> {
        let (files_before, bytes_before, _) = self.partition_size(&due.partition);
        let mut report = PartitionCompaction {
            partition: due.partition.clone(),
            files_before,
            bytes_before,
            ..PartitionCompaction::default()
        };
        let mut files = due.files;
        // More files than can be merged at once: a group at a time; the file a group leaves,
        // when still small, joins the rest.
        while files.len() >= 2 {
            let n = files.len().min(opts.max_inputs.max(2));
            let last = n == files.len();
            let group: Vec<String> = files.drain(..n).collect();
            let done = self.compact_group(&due.partition, &group, opts)?;
            report.rows_written += done.rows;
            report.ledger_seqs.push(done.seq);
            if last {
                break;
            }
            files.extend(done.small);
        }
        (report.files_after, report.bytes_after, report.events) =
            self.partition_size(&due.partition);
        Ok(report)
    }

    /// Steps 1–6 of the module doc for one group of files of `partition`.
    fn compact_group(
        &mut self,
        partition: &str,
        group: &[String],
        opts: &CompactOptions,
    ) -> Result<GroupDone, StoreError> {
        let (replaced, rows) = self.check_replaced(group)?;
        let mut staged = Vec::new();
        let link = match self.stage_and_link(partition, replaced, rows, opts, &mut staged) {
            Ok(link) => link,
            Err(e) => {
                abandon(&self.dir, staged);
                return Err(e);
            }
        };
        crash::point("compact_linked");
        finish_compaction(&self.dir, &self.ledger, &link)?;
        for s in staged {
            s.pending.done()?;
        }
        let small = link
            .written
            .iter()
            .filter(|w| w.records < opts.max_rows_clamped() / 2)
            .map(|w| w.path.clone())
            .collect();
        Ok(GroupDone {
            seq: link.seq,
            rows,
            small,
        })
    }

    /// The files to replace, each hashed and checked against the ledger; their total rows.
    fn check_replaced(&self, group: &[String]) -> Result<(Vec<Replaced>, u64), StoreError> {
        let mut replaced = Vec::with_capacity(group.len());
        let mut rows = 0;
        for rel in group {
            let abs = self.dir.join(rel);
            let link = self
                .ledger
                .live(rel)
                .ok_or_else(|| StoreError::Corrupt(abs.clone(), "not a live file".into()))?;
            let sha256 = link.sha256.clone().unwrap_or_default();
            if hash_file(&abs)?.sha256_hex() != sha256 {
                return Err(StoreError::Corrupt(
                    abs,
                    "modified since it was committed (not the ledger's SHA-256): not compacted; run verify".into(),
                ));
            }
            rows += link.records.unwrap_or(0);
            replaced.push(Replaced {
                path: rel.clone(),
                sha256,
            });
        }
        Ok((replaced, rows))
    }

    /// Steps 2–4: writes and places the new files (each pushed to `staged` as soon as it has a
    /// record, so that the caller can take them back on an error), checks them, appends the
    /// compaction link.
    fn stage_and_link(
        &mut self,
        partition: &str,
        replaced: Vec<Replaced>,
        rows: u64,
        opts: &CompactOptions,
        staged: &mut Vec<Staged>,
    ) -> Result<Link, StoreError> {
        let seq = self.ledger.head().seq + 1;
        let paths: Vec<PathBuf> = replaced.iter().map(|r| self.dir.join(&r.path)).collect();
        let mut merge = Merge::open(&paths)?;
        let outputs = rows.div_ceil(opts.max_rows_clamped()).max(1);
        let per_file = rows.div_ceil(outputs).max(1);
        for n in 0..outputs {
            staged.push(Staged::begin(&self.dir, seq, n as usize)?);
            let s = staged.last_mut().expect("just pushed");
            s.write_rows(&mut merge, per_file)?;
            s.place(&self.dir, partition, seq)?;
        }
        let corrupt = |reason: String| StoreError::Corrupt(self.dir.join(partition), reason);
        if merge.next_batch(1)?.is_some() {
            return Err(corrupt(format!("more rows than the ledger's {rows}")));
        }
        let (ids, read) = merge.read();
        drop(merge);
        let written = staged
            .iter()
            .map(|s| s.written(&self.dir))
            .collect::<Result<Vec<_>, _>>()?;
        let mut written_ids = IdDigest::default();
        written.iter().try_for_each(|w| {
            written_ids.merge(&w.ids_digest.parse().map_err(corrupt)?);
            Ok::<_, StoreError>(())
        })?;
        let written_rows: u64 = written.iter().map(|w| w.records).sum();
        if read != rows || written_rows != rows || written_ids != ids {
            return Err(corrupt(format!(
                "{read} rows read, {written_rows} written, {rows} in the ledger, ids {}",
                if written_ids == ids {
                    "equal"
                } else {
                    "differ"
                }
            )));
        }
        crash::point("compact_renamed");
        let reason = format!("compaction of {partition}: {} files", replaced.len());
        Ok(self
            .ledger
            .append_compaction(replaced, written, ids, &reason)?)
    }
}

/// One file a compaction writes: its write-ahead record, its writer until it is finished, its
/// rows and time range, and where it went.
struct Staged {
    pending: Pending,
    writer: Option<FileWriter>,
    rows: u64,
    first_ms: i64,
    last_ms: i64,
    placed: Option<(String, FileDigest)>,
}

impl Staged {
    /// The record, then the temporary file it names.
    fn begin(dir: &std::path::Path, seq: u64, n: usize) -> Result<Staged, StoreError> {
        let pending = Pending::begin_output(dir, seq, n)?;
        crash::point("compact_intent_written");
        let mut staged = Staged {
            pending,
            writer: None,
            rows: 0,
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            placed: None,
        };
        staged.writer = Some(FileWriter::create(&dir.join(staged.pending.tmp()))?);
        Ok(staged)
    }

    /// Writes the merge's next `rows` rows (fewer when it runs out).
    fn write_rows(&mut self, merge: &mut Merge, rows: u64) -> Result<(), StoreError> {
        let time = column_index(COL_TIME).expect("time is a column");
        while self.rows < rows {
            let want = (rows - self.rows).min(OUTPUT_BATCH_ROWS as u64) as usize;
            let Some(batch) = merge.next_batch(want)? else {
                break;
            };
            let times = batch
                .column(time)
                .as_primitive::<TimestampMillisecondType>();
            for &t in times.values() {
                self.first_ms = self.first_ms.min(t);
                self.last_ms = self.last_ms.max(t);
            }
            self.write(&batch)?;
        }
        Ok(())
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        if let Some(w) = self.writer.as_mut() {
            w.write(batch)?;
            self.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    /// Finishes the file (footer, fsync) and moves it into the partition.
    fn place(
        &mut self,
        dir: &std::path::Path,
        partition: &str,
        seq: u64,
    ) -> Result<(), StoreError> {
        if let Some(w) = self.writer.take() {
            w.finish()?;
        }
        crash::point("compact_temp_written");
        self.placed = Some(place_file(dir, &mut self.pending, partition, seq)?);
        Ok(())
    }

    /// What the compaction link says of the file: its event ids read back from it.
    fn written(&self, dir: &std::path::Path) -> Result<Written, StoreError> {
        let Some((rel, digest)) = &self.placed else {
            return Err(StoreError::Corrupt(
                dir.join(self.pending.tmp()),
                "not placed".into(),
            ));
        };
        let (ids, rows) = ids_digest(&dir.join(rel))?;
        if rows != self.rows {
            return Err(StoreError::Corrupt(
                dir.join(rel),
                format!("{rows} rows read back, {} written", self.rows),
            ));
        }
        let time = |ms: i64| time_of(ms).to_rfc3339_opts(SecondsFormat::AutoSi, true);
        let (first, last) = if self.rows == 0 {
            (0, 0)
        } else {
            (self.first_ms, self.last_ms)
        };
        Ok(Written {
            path: rel.clone(),
            sha256: digest.sha256_hex(),
            bytes: digest.bytes,
            records: rows,
            first_time: time(first),
            last_time: time(last),
            ids_digest: ids.to_string(),
        })
    }
}

/// An error before the compaction link: what it wrote is not committed and is a copy of rows
/// still live, so it is removed with its records. What cannot be removed keeps its record, for
/// the next writer's clean-up.
fn abandon(dir: &std::path::Path, staged: Vec<Staged>) {
    for s in staged {
        drop(s.writer);
        let mut files = vec![dir.join(s.pending.tmp())];
        files.extend(s.placed.as_ref().map(|(rel, _)| dir.join(rel)));
        let mut removed = true;
        for f in files {
            match fs::remove_file(&f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!("{}: cannot remove: {e}", f.display());
                    removed = false;
                }
            }
        }
        if removed {
            if let Err(e) = s.pending.done() {
                tracing::warn!("{e}");
            }
        }
    }
}
