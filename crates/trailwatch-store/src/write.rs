//! Writing data files (one partition's events, or a compaction's merged rows) with the store's
//! Parquet settings, and reading columns back.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use trailwatch_ledger::IdDigest;
use trailwatch_model::Event;

use crate::crash;
use crate::schema::{
    column_index, schema, to_record_batch_of, COL_ACTION, COL_EVENT_ID, COL_PRINCIPAL, COL_RAW,
    COL_TIME,
};
use crate::store::StoreError;

/// Rows per row group.
pub const WRITE_ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows per record batch handed to the Parquet writer (a row group is several): the batch is a
/// copy of its events' columns, so it is kept small; the writer encodes each as it comes.
pub const WRITE_BATCH_ROWS: usize = 8 * 1024;
/// The zstd level of every column. Level 1 rather than zstd's default 3: on 1 MiB pages of
/// CloudTrail JSON (Parquet compresses each page on its own) it took 26% less CPU and wrote
/// 2% fewer bytes (`zstd -1`/`-3` over 100 pages of the benchmark corpus; BENCHMARKS.md).
pub const ZSTD_LEVEL: i32 = 1;

/// The order the writer sorts a file's rows in, as its row groups declare it: action, principal,
/// time (and then event id, which the declaration leaves out).
pub(crate) fn sorting_columns() -> Vec<SortingColumn> {
    [COL_ACTION, COL_PRINCIPAL, COL_TIME]
        .iter()
        .filter_map(|c| column_index(c))
        .map(|i| SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: true,
        })
        .collect()
}

fn props() -> Result<WriterProperties, StoreError> {
    let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(|e| StoreError::parquet("zstd level", e))?;
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(WRITE_ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(sorting_columns()))
        // Unique per row: a dictionary would only be built to be thrown away.
        .set_column_dictionary_enabled(ColumnPath::from(COL_RAW), false)
        .set_column_dictionary_enabled(ColumnPath::from(COL_EVENT_ID), false)
        // Min/max of whole JSON records prune nothing and cost a comparison per value.
        .set_column_statistics_enabled(ColumnPath::from(COL_RAW), EnabledStatistics::None)
        .set_created_by(format!("trailwatch-store {}", env!("CARGO_PKG_VERSION")))
        .build())
}

/// A new data file being written with the store's writer settings.
pub(crate) struct FileWriter {
    path: std::path::PathBuf,
    file: File,
    writer: ArrowWriter<File>,
}

impl FileWriter {
    /// Creates the file at `path` (which must not exist).
    pub(crate) fn create(path: &Path) -> Result<FileWriter, StoreError> {
        let file = File::create_new(path).map_err(StoreError::io(path))?;
        let writer = ArrowWriter::try_new(
            file.try_clone().map_err(StoreError::io(path))?,
            schema(),
            Some(props()?),
        )
        .map_err(|e| StoreError::parquet(path, e))?;
        Ok(FileWriter {
            path: path.to_path_buf(),
            file,
            writer,
        })
    }

    /// Appends rows (a batch of [`schema`]).
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        self.writer
            .write(batch)
            .map_err(|e| StoreError::parquet(&self.path, e))
    }

    /// A crash mid-write, for the crash tests: what was written so far reaches the disk, no
    /// footer, then the process aborts.
    fn crash_partial(mut self) -> Result<(), StoreError> {
        self.writer
            .flush()
            .map_err(|e| StoreError::parquet(&self.path, e))?;
        let mut f = &self.file;
        f.flush().map_err(StoreError::io(&self.path))?;
        std::process::abort();
    }

    /// Writes the footer and fsyncs the file.
    pub(crate) fn finish(self) -> Result<(), StoreError> {
        let path = self.path;
        self.writer
            .close()
            .map_err(|e| StoreError::parquet(&path, e))?;
        self.file.sync_all().map_err(StoreError::io(&path))
    }
}

/// Writes `events` (in the order given) to a new file at `path`, fsynced.
pub(crate) fn write_file(path: &Path, events: &[&Event]) -> Result<(), StoreError> {
    let mut writer = FileWriter::create(path)?;
    let half = events.len().div_ceil(2);
    for (i, chunk) in events.chunks(WRITE_BATCH_ROWS).enumerate() {
        let batch = to_record_batch_of(chunk).map_err(|e| StoreError::parquet(path, e))?;
        writer.write(&batch)?;
        if (i + 1) * WRITE_BATCH_ROWS >= half && crash::due("temp_partial") {
            return writer.crash_partial();
        }
    }
    writer.finish()
}

/// The [`IdDigest`] of a data file's `event_id` column, and its rows.
pub(crate) fn ids_digest(path: &Path) -> Result<(IdDigest, u64), StoreError> {
    let idx = column_index(COL_EVENT_ID).expect("event_id is a column");
    let mut digest = IdDigest::default();
    let rows = read_columns(path, &[idx], |batch| {
        for id in batch.column(0).as_string::<i32>().iter().flatten() {
            digest.add_id(id);
        }
    })?;
    Ok((digest, rows))
}

/// The `event_id` column of a data file (read alone: the other columns are not decoded).
pub fn read_event_ids(path: &Path) -> Result<Vec<String>, StoreError> {
    let idx = column_index(COL_EVENT_ID).expect("event_id is a column");
    let mut out = Vec::new();
    read_columns(path, &[idx], |batch| {
        let ids = batch.column(0).as_string::<i32>();
        out.extend(ids.iter().flatten().map(str::to_string));
    })?;
    Ok(out)
}

/// Reads the root columns `indices` of a data file, batch by batch.
pub(crate) fn read_columns(
    path: &Path,
    indices: &[usize],
    mut on_batch: impl FnMut(&arrow::array::RecordBatch),
) -> Result<u64, StoreError> {
    let file = File::open(path).map_err(StoreError::io(path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| StoreError::parquet(path, e))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(|e| StoreError::parquet(path, e))?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| StoreError::parquet(path, e))?;
        rows += batch.num_rows() as u64;
        on_batch(&batch);
    }
    Ok(rows)
}

/// The row count a file's footer states (opening it checks the footer and the schema).
pub(crate) fn footer_rows(path: &Path) -> Result<u64, StoreError> {
    let file = File::open(path).map_err(StoreError::io(path))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| StoreError::parquet(path, e))?;
    if builder.schema().fields() != schema().fields() {
        return Err(StoreError::Corrupt(
            path.to_path_buf(),
            "schema differs from the store's".into(),
        ));
    }
    let rows = builder.metadata().file_metadata().num_rows();
    Ok(rows.max(0) as u64)
}
