//! Reading stored records back, so that the hunt and the timeline run over the store exactly as
//! over log files: each live data file becomes one [`Input`] whose bytes are a JSON array of its
//! `raw` column, produced batch by batch (constant memory, whatever the file's size).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::AsArray;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use trailwatch_decode::Input;

use crate::schema::{column_index, COL_RAW};
use crate::store::{day_of, Store};

/// Rows per batch read back: small enough to keep a worker's buffer to a few MB.
const REPLAY_BATCH_ROWS: usize = 2048;

impl Store {
    /// The live data files whose day can hold events in `[since_ms, until_ms]`, as inputs that
    /// read their records back (partition pruning on `dt`; the exact bounds are the reader's).
    pub fn replay_inputs(&self, since_ms: Option<i64>, until_ms: Option<i64>) -> Vec<Input> {
        let first = since_ms.map(|ms| day_of(ms).format("%Y-%m-%d").to_string());
        let last = until_ms.map(|ms| day_of(ms).format("%Y-%m-%d").to_string());
        self.files()
            .into_iter()
            .filter(|rel| {
                let day = rel
                    .split('/')
                    .find_map(|s| s.strip_prefix("dt="))
                    .unwrap_or("");
                first.as_deref().is_none_or(|f| day >= f)
                    && last.as_deref().is_none_or(|l| day <= l)
            })
            .map(|rel| {
                let path = self.dir().join(&rel);
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let open_path = path.clone();
                Input::Stream {
                    name: path.display().to_string(),
                    size,
                    open: Arc::new(move || {
                        RawJson::open(&open_path).map(|r| Box::new(r) as Box<dyn Read + Send>)
                    }),
                }
            })
            .collect()
    }
}

/// A data file's `raw` column as the bytes of one JSON array.
struct RawJson {
    path: PathBuf,
    batches: ParquetRecordBatchReader,
    buf: Vec<u8>,
    pos: usize,
    rows: u64,
    done: bool,
}

impl RawJson {
    fn open(path: &Path) -> io::Result<RawJson> {
        let bad = |e: parquet::errors::ParquetError| io::Error::other(format!("parquet: {e}"));
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?).map_err(bad)?;
        let raw = column_index(COL_RAW).ok_or_else(|| io::Error::other("no raw column"))?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [raw]);
        let batches = builder
            .with_projection(mask)
            .with_batch_size(REPLAY_BATCH_ROWS)
            .build()
            .map_err(bad)?;
        Ok(RawJson {
            path: path.to_path_buf(),
            batches,
            buf: b"[".to_vec(),
            pos: 0,
            rows: 0,
            done: false,
        })
    }

    /// Refills the buffer with the next batch (or the closing bracket).
    fn refill(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.pos = 0;
        match self.batches.next() {
            Some(Ok(batch)) => {
                for raw in batch.column(0).as_string::<i32>().iter().flatten() {
                    if self.rows > 0 {
                        self.buf.extend_from_slice(b",\n");
                    }
                    self.buf.extend_from_slice(raw.as_bytes());
                    self.rows += 1;
                }
                Ok(())
            }
            Some(Err(e)) => Err(io::Error::other(format!(
                "{}: parquet: {e}",
                self.path.display()
            ))),
            None => {
                self.buf.extend_from_slice(b"]\n");
                self.done = true;
                Ok(())
            }
        }
    }
}

impl Read for RawJson {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
