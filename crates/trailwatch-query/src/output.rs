//! The CLI's output formats for query results.
//!
//! Every cell of an event comes from a log record an attacker may have written (a user agent,
//! a principal name, an error message), so the formats meant for a person are defensive: the
//! table escapes control and bidirectional-override characters, the CSV neutralises cells a
//! spreadsheet would take for a formula. JSON is escaped by construction.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::writer::{JsonArray, LineDelimited, WriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches;

use crate::error::Result;

/// A text table of the batches (Arrow's pretty printer), with control characters and
/// bidirectional overrides inside cells shown as escapes (`\n`, `\u{1b}`, …) so that a cell
/// can neither break the table's layout nor drive the terminal. Empty input gives an empty
/// string; a result with columns but no rows gives the header alone.
pub fn to_table(batches: &[RecordBatch]) -> Result<String> {
    if batches.is_empty() {
        return Ok(String::new());
    }
    let shown = batches
        .iter()
        .map(|batch| display_batch(batch, escape_for_terminal))
        .collect::<Result<Vec<_>>>()?;
    Ok(pretty_format_batches(&shown)?.to_string())
}

/// One JSON object per row, one row per line (each line ends with `\n`); nulls are written
/// as `null`, timestamps as RFC 3339 strings, lists as arrays.
pub fn to_json_lines(batches: &[RecordBatch]) -> Result<String> {
    let mut out = Vec::new();
    {
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, LineDelimited>(&mut out);
        writer.write_batches(&batches.iter().collect::<Vec<_>>())?;
        writer.finish()?;
    }
    into_string(out)
}

/// One JSON array of row objects (`[]` when there are no rows).
pub fn to_json(batches: &[RecordBatch]) -> Result<String> {
    let mut out = Vec::new();
    {
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, JsonArray>(&mut out);
        writer.write_batches(&batches.iter().collect::<Vec<_>>())?;
        writer.finish()?;
    }
    let mut text = into_string(out)?;
    if text.is_empty() {
        text.push_str("[]");
    }
    Ok(text)
}

/// RFC 4180 CSV with a header line; nulls are empty cells, lists are written as `[a, b]`.
/// Every non-numeric cell (and header) shows hidden characters escaped, and one that a
/// spreadsheet would evaluate gets a `'` in front ([`neutralise_csv_cell`]).
/// Empty input gives an empty string.
pub fn to_csv(batches: &[RecordBatch]) -> Result<String> {
    let Some(first) = batches.first() else {
        return Ok(String::new());
    };
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| neutralise_csv_cell(f.name()))
        .collect();
    writer.write_record(&header).map_err(csv_error)?;
    for batch in batches {
        let options = FormatOptions::default();
        let columns = batch
            .columns()
            .iter()
            .map(|column| {
                Ok((
                    ArrayFormatter::try_new(column.as_ref(), &options)?,
                    column.data_type().is_numeric(),
                ))
            })
            .collect::<Result<Vec<_>, ArrowError>>()?;
        let mut record = Vec::with_capacity(columns.len());
        for row in 0..batch.num_rows() {
            record.clear();
            for (formatter, numeric) in &columns {
                let cell = formatter.value(row).to_string();
                record.push(if *numeric {
                    cell
                } else {
                    neutralise_csv_cell(&cell)
                });
            }
            writer.write_record(&record).map_err(csv_error)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ArrowError::CsvError(e.to_string()))?;
    into_string(bytes)
}

/// `cell` as a CSV cell a spreadsheet will not evaluate, hidden characters shown escaped
/// (the one policy, [`trailwatch_escape::csv_cell`]).
pub fn neutralise_csv_cell(cell: &str) -> String {
    trailwatch_escape::csv_cell(cell).into_owned()
}

fn csv_error(e: csv::Error) -> ArrowError {
    ArrowError::CsvError(e.to_string())
}

fn into_string(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| ArrowError::ExternalError(Box::new(e)).into())
}

/// The batch with every column replaced by its display strings passed through `shown`.
fn display_batch(batch: &RecordBatch, shown: fn(&str) -> String) -> Result<RecordBatch> {
    let options = FormatOptions::default();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
        let values: StringArray = (0..column.len())
            .map(|row| {
                if column.is_null(row) {
                    None
                } else {
                    Some(shown(&formatter.value(row).to_string()))
                }
            })
            .collect();
        fields.push(Field::new(shown(field.name()), DataType::Utf8, true));
        columns.push(Arc::new(values));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A cell for the terminal table (the one policy, [`trailwatch_escape::terminal`]).
fn escape_for_terminal(text: &str) -> String {
    trailwatch_escape::terminal(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes() {
        assert_eq!(escape_for_terminal("plain"), "plain");
        assert_eq!(escape_for_terminal("a\nb\x1b[31m"), "a\\nb\\x1b[31m");
        assert_eq!(escape_for_terminal("x\u{202e}y"), "x\\u{202e}y");
    }

    #[test]
    fn csv_neutralisation() {
        for bad in [
            "=cmd|' /C calc'!A0",
            "+1",
            "-2+3",
            "@SUM(A1)",
            " =1",
            "\u{a0}@x",
        ] {
            assert_eq!(neutralise_csv_cell(bad), format!("'{bad}"));
        }
        assert_eq!(neutralise_csv_cell("\n=1"), "\\n=1");
        for fine in ["", "alice", "a=b", "'quoted", "1-2"] {
            assert_eq!(neutralise_csv_cell(fine), fine);
        }
    }
}
