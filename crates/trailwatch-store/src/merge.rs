//! The k-way merge behind compaction: data files, each sorted as the store sorts its files
//! (action, principal, time, event id), read batch by batch and merged into one stream of rows
//! in that order. Memory is bounded by the batches held, one per file (a budget of rows shared
//! by the files), whatever the files' sizes.
//!
//! A file whose row groups do not declare the writer's order (written before it was declared)
//! is read whole and sorted in memory first. A file that declares the order and is not in it
//! fails the merge: its rows would come out of order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, interleave_record_batch, take_record_batch};
use arrow::row::{OwnedRow, RowConverter, Rows, SortField};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use trailwatch_ledger::IdDigest;

use crate::schema::{column_index, schema, COL_ACTION, COL_EVENT_ID, COL_PRINCIPAL, COL_TIME};
use crate::store::StoreError;
use crate::write::sorting_columns;

/// Rows held in the input batches, shared by the files being merged.
const BUDGET_ROWS: usize = 16 * 1024;

/// The columns the store sorts by, in order.
const SORT_COLUMNS: [&str; 4] = [COL_ACTION, COL_PRINCIPAL, COL_TIME, COL_EVENT_ID];

/// Where a file's batches come from.
enum Source {
    /// Read as stored (the file declares the store's order).
    File(ParquetRecordBatchReader),
    /// Read whole and sorted.
    Sorted(Option<RecordBatch>),
}

/// One input file: its current batch, that batch's sort keys, and the next row to merge.
struct Cursor {
    path: PathBuf,
    source: Source,
    batch: RecordBatch,
    keys: Rows,
    pos: usize,
    /// The batch's index in [`Merge::batches`].
    slot: usize,
    done: bool,
}

/// The merge of several sorted data files (see the module doc).
pub(crate) struct Merge {
    cursors: Vec<Cursor>,
    /// The next row of each file that has one, least first.
    heap: BinaryHeap<Reverse<(OwnedRow, usize)>>,
    converter: RowConverter,
    /// The batches the rows of the next output batch are taken from.
    batches: Vec<RecordBatch>,
    /// The event ids and rows read from the inputs.
    ids: IdDigest,
    rows: u64,
}

impl Merge {
    /// Opens the files `paths` (each must have the store's schema).
    pub(crate) fn open(paths: &[PathBuf]) -> Result<Merge, StoreError> {
        let fields = SORT_COLUMNS
            .iter()
            .map(|c| {
                let i = column_index(c).expect("a sort column is a column");
                SortField::new(schema().field(i).data_type().clone())
            })
            .collect();
        let converter =
            RowConverter::new(fields).map_err(|e| StoreError::parquet("sort keys", e))?;
        let batch_rows = (BUDGET_ROWS / paths.len().max(1)).clamp(64, 8192);
        let mut merge = Merge {
            cursors: Vec::with_capacity(paths.len()),
            heap: BinaryHeap::with_capacity(paths.len()),
            converter,
            batches: Vec::new(),
            ids: IdDigest::default(),
            rows: 0,
        };
        for path in paths {
            let source = merge.open_source(path, batch_rows)?;
            let empty = RecordBatch::new_empty(schema());
            let keys = merge.keys(path, &empty)?;
            merge.cursors.push(Cursor {
                path: path.clone(),
                source,
                batch: empty,
                keys,
                pos: 0,
                slot: 0,
                done: false,
            });
            let i = merge.cursors.len() - 1;
            if merge.advance(i)? {
                let first = merge.cursors[i].keys.row(0).owned();
                merge.heap.push(Reverse((first, i)));
            }
        }
        Ok(merge)
    }

    /// The event ids and the number of rows read from the inputs so far.
    pub(crate) fn read(&self) -> (IdDigest, u64) {
        (self.ids, self.rows)
    }

    /// The next (up to) `max` rows in order; `None` when every input is exhausted.
    pub(crate) fn next_batch(&mut self, max: usize) -> Result<Option<RecordBatch>, StoreError> {
        let mut take = Vec::with_capacity(max.min(8192));
        while take.len() < max {
            let Some(Reverse((key, i))) = self.heap.pop() else {
                break;
            };
            let c = &mut self.cursors[i];
            take.push((c.slot, c.pos));
            c.pos += 1;
            if c.pos == c.batch.num_rows() && !self.advance(i)? {
                continue;
            }
            let c = &self.cursors[i];
            let next = c.keys.row(c.pos).owned();
            if next < key {
                return Err(StoreError::Corrupt(
                    c.path.clone(),
                    "rows not in the order the store sorts its files (action, principal, time, event id)".into(),
                ));
            }
            self.heap.push(Reverse((next, i)));
        }
        if take.is_empty() {
            return Ok(None);
        }
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        let out = interleave_record_batch(&refs, &take)
            .map_err(|e| StoreError::parquet("merged rows", e))?;
        self.recycle();
        Ok(Some(out))
    }

    /// Keeps only the inputs' current batches (the rows taken so far are copied out).
    fn recycle(&mut self) {
        self.batches.clear();
        for c in self.cursors.iter_mut().filter(|c| !c.done) {
            c.slot = self.batches.len();
            self.batches.push(c.batch.clone());
        }
    }

    /// Loads input `i`'s next non-empty batch; false when it has none left.
    fn advance(&mut self, i: usize) -> Result<bool, StoreError> {
        loop {
            let c = &mut self.cursors[i];
            let next = match &mut c.source {
                Source::File(reader) => match reader.next() {
                    Some(b) => Some(b.map_err(|e| StoreError::parquet(&c.path, e))?),
                    None => None,
                },
                Source::Sorted(batch) => batch.take(),
            };
            let Some(batch) = next else {
                c.done = true;
                c.batch = RecordBatch::new_empty(schema());
                return Ok(false);
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let path = c.path.clone();
            let batch = store_schema(&path, batch)?;
            self.count(&batch);
            let keys = self.keys(&path, &batch)?;
            let slot = self.batches.len();
            self.batches.push(batch.clone());
            let c = &mut self.cursors[i];
            (c.batch, c.keys, c.pos, c.slot) = (batch, keys, 0, slot);
            return Ok(true);
        }
    }

    fn count(&mut self, batch: &RecordBatch) {
        let idx = column_index(COL_EVENT_ID).expect("event_id is a column");
        for id in batch.column(idx).as_string::<i32>().iter().flatten() {
            self.ids.add_id(id);
        }
        self.rows += batch.num_rows() as u64;
    }

    /// The sort keys of a batch's rows.
    fn keys(&self, path: &Path, batch: &RecordBatch) -> Result<Rows, StoreError> {
        let cols: Vec<ArrayRef> = SORT_COLUMNS
            .iter()
            .map(|c| {
                batch
                    .column(column_index(c).expect("a sort column is a column"))
                    .clone()
            })
            .collect();
        self.converter
            .convert_columns(&cols)
            .map_err(|e| StoreError::parquet(path, e))
    }

    /// A reader of the file, checked to have the store's schema; a file not declaring the
    /// store's order is read whole and sorted here.
    fn open_source(&self, path: &Path, batch_rows: usize) -> Result<Source, StoreError> {
        let file = File::open(path).map_err(StoreError::io(path))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| StoreError::parquet(path, e))?;
        if builder.schema().fields() != schema().fields() {
            return Err(StoreError::Corrupt(
                path.to_path_buf(),
                "schema differs from the store's".into(),
            ));
        }
        let declared = sorting_columns();
        let sorted = builder
            .metadata()
            .row_groups()
            .iter()
            .all(|rg| rg.sorting_columns() == Some(&declared));
        let reader = builder
            .with_batch_size(batch_rows)
            .build()
            .map_err(|e| StoreError::parquet(path, e))?;
        if sorted {
            return Ok(Source::File(reader));
        }
        let batches = reader
            .map(|b| {
                b.map_err(|e| StoreError::parquet(path, e))
                    .and_then(|b| store_schema(path, b))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let all = concat_batches(&schema(), &batches).map_err(|e| StoreError::parquet(path, e))?;
        let keys = self.keys(path, &all)?;
        let mut order: Vec<u32> = (0..all.num_rows() as u32).collect();
        order.sort_by(|&a, &b| keys.row(a as usize).cmp(&keys.row(b as usize)));
        let sorted = take_record_batch(&all, &UInt32Array::from(order))
            .map_err(|e| StoreError::parquet(path, e))?;
        Ok(Source::Sorted(Some(sorted)))
    }
}

/// The batch with the store's schema itself (the file's is equal but a separate value).
fn store_schema(path: &Path, batch: RecordBatch) -> Result<RecordBatch, StoreError> {
    RecordBatch::try_new(schema(), batch.columns().to_vec())
        .map_err(|e| StoreError::parquet(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::to_record_batch_of;
    use crate::store::tests::event;
    use crate::write::{write_file, FileWriter};
    use parquet::arrow::ArrowWriter;
    use trailwatch_model::Event;

    /// Events with ids `<prefix><i>` over a few actions, principals and times.
    fn events(prefix: &str, n: usize) -> Vec<Event> {
        (0..n)
            .map(|i| {
                let action = ["PutObject", "GetObject", "AssumeRole"][i % 3];
                let principal = [Some("arn:b"), None, Some("arn:a")][i % 4 % 3];
                event(
                    action,
                    principal,
                    (i % 5) as i64,
                    &format!("{prefix}{i:03}"),
                )
            })
            .collect()
    }

    /// The store's order of `events`, by the same keys as the merge.
    fn sorted(events: &[Event]) -> Vec<(String, String, i64, String)> {
        let mut keys: Vec<_> = events
            .iter()
            .map(|e| {
                let p = e.principal.label().to_string();
                (e.action.clone(), p, e.time_ms, e.event_id.clone())
            })
            .collect();
        keys.sort();
        keys
    }

    /// Writes `events` in the order given, without declaring a sort order (as a plain writer).
    fn write_plain(path: &Path, events: &[Event]) {
        let refs: Vec<&Event> = events.iter().collect();
        let batch = to_record_batch_of(&refs).unwrap();
        let mut w = ArrowWriter::try_new(File::create(path).unwrap(), schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    fn drain(merge: &mut Merge, batch: usize) -> Vec<String> {
        let mut ids = Vec::new();
        while let Some(b) = merge.next_batch(batch).unwrap() {
            let col = b.column(column_index(COL_EVENT_ID).unwrap());
            ids.extend(
                col.as_string::<i32>()
                    .iter()
                    .map(|v| v.unwrap().to_string()),
            );
        }
        ids
    }

    #[test]
    fn sorted_files_and_an_undeclared_one_merge_into_the_store_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (events("a", 50), events("b", 7), events("c", 30));
        let mut paths = Vec::new();
        for (name, evs) in [("a", &a), ("b", &b)] {
            let path = dir.path().join(name);
            let keys = sorted(evs);
            let order: Vec<&Event> = keys
                .iter()
                .map(|k| evs.iter().find(|e| e.event_id == k.3).unwrap())
                .collect();
            write_file(&path, &order).unwrap();
            paths.push(path);
        }
        // Written in reverse id order, declaring nothing: sorted in memory.
        let plain = dir.path().join("c");
        let mut reversed = c.clone();
        reversed.reverse();
        write_plain(&plain, &reversed);
        paths.push(plain);
        // An empty file (no row group) is no input at all.
        let empty = dir.path().join("empty");
        FileWriter::create(&empty).unwrap().finish().unwrap();
        paths.push(empty);

        let mut merge = Merge::open(&paths).unwrap();
        let got = drain(&mut merge, 13);
        let all: Vec<Event> = [a, b, c].concat();
        let want: Vec<String> = sorted(&all).into_iter().map(|k| k.3).collect();
        assert_eq!(got, want);
        let (ids, rows) = merge.read();
        assert_eq!(rows, 87);
        assert_eq!(ids, want.iter().map(String::as_str).collect());
        assert!(merge.next_batch(5).unwrap().is_none());
    }

    #[test]
    fn a_file_declaring_the_order_without_being_in_it_fails_the_merge() {
        let dir = tempfile::tempdir().unwrap();
        let evs = events("x", 20);
        let path = dir.path().join("x");
        let refs: Vec<&Event> = evs.iter().rev().collect();
        write_file(&path, &refs).unwrap();
        let mut merge = Merge::open(&[path]).unwrap();
        let mut failed = None;
        for _ in 0..20 {
            match merge.next_batch(4) {
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
                Ok(None) => break,
                Ok(Some(_)) => {}
            }
        }
        let e = failed.expect("out-of-order rows are an error");
        assert!(e.contains("not in the order the store sorts"), "{e}");
    }

    #[test]
    fn a_file_of_another_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other");
        let other = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("x", arrow::datatypes::DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            other.clone(),
            vec![std::sync::Arc::new(arrow::array::StringArray::from(vec![
                "a",
            ]))],
        )
        .unwrap();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), other, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = Merge::open(&[path]).err().expect("refused").to_string();
        assert!(e.contains("schema differs"), "{e}");
    }
}
