//! Zero-copy, lazy JSON for audit records, and a streaming splitter that cuts a log file into
//! records without holding the file.
//!
//! Why our own instead of serde_json/simd-json: a hunt touches only the handful of fields its
//! rules name, out of the ~30 a CloudTrail record carries. Building a full DOM for every record
//! costs more than the whole detection budget (≈3 µs of the ≈6 µs per record we can spend on
//! one core), so [`Raw`] reads values in place, straight from the decompressed bytes, and
//! decodes a string only when it is asked for. The [`Splitter`] finds record boundaries with a
//! resumable scanner that reads 64 bytes at a time (quote and bracket bit masks, in the manner
//! of simdjson; see `blocks`), so a 5 GB `{"Records":[…]}` file streams in constant memory and a
//! corrupt line in a JSON-lines file costs only that line.
//!
//! The reader is lenient where real files are: object keys may be unquoted identifiers (some
//! published CloudTrail samples are JavaScript object literals), and trailing commas are
//! tolerated.

mod blocks;
mod index;
mod raw;
mod scan;
mod split;

pub use index::{Indexed, ObjectIndex};
pub use raw::{unescape, ArrayIter, Key, Kind, ObjectIter, Raw};
pub use split::{SplitError, Splitter, SplitterOptions};
