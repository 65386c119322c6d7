//! Reading objects: where to start in an object given its checkpoint, how much of what was
//! read is taken (whole gzip and JSON documents, complete JSON lines), the checkpoint that
//! records it, and the bytes handed to the decoder.

use std::io::{Cursor, Read};
use std::sync::Arc;

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use trailwatch_decode::Input;
use trailwatch_escape::terminal;

use crate::layout::Origin;
use crate::source::ObjectInfo;
use crate::state::Checkpoint;
use crate::watcher::now_ms;

/// One object's share of a step.
pub(crate) struct Work {
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) info: ObjectInfo,
    pub(crate) origin: Origin,
    pub(crate) start: u64,
    /// The checkpoint before this step, if any.
    pub(crate) prev: Option<Checkpoint>,
}

/// Where to start reading an object, or `None` when there is nothing new in it.
pub(crate) fn plan(info: &ObjectInfo, prev: Option<&Checkpoint>, immutable: bool) -> Option<u64> {
    let Some(p) = prev else {
        return (info.size > 0).then_some(0);
    };
    let replaced = p.identity.is_some() && info.identity.is_some() && p.identity != info.identity;
    if replaced || info.size < p.consumed {
        // Rotated or rewritten: a new object under the old name.
        return (info.size > 0).then_some(0);
    }
    if p.whole || immutable {
        return (p.version != info.version || p.size != info.size).then_some(0);
    }
    // Appended to: the new bytes (or a tail held back until the object stops growing).
    (info.size > p.consumed).then_some(p.consumed)
}

/// How long an unfinished JSON document must have been left alone (unchanged across two looks,
/// and not modified for this long) before it is taken as truncated and read as it is.
const UNFINISHED_SETTLE_MS: i64 = 60_000;

/// How the bytes `data` of a mutable object, read from `w.start`, are taken: up to which offset
/// of the object, and whether as a whole object (read again from its start when it changes).
///
/// Gzip and immutable objects are whole. So is one JSON document (`{…}` or `[…]` at top level,
/// maybe spanning lines, maybe without a final newline) once its closing bracket is written;
/// until then it is left for the next look, never read in part. Anything else is JSON lines,
/// read up to its last complete line.
pub(crate) fn extent(w: &Work, data: &[u8], immutable: bool) -> (u64, bool) {
    if immutable || trailwatch_model::gzip::is_gzip(data) {
        return (w.info.size, true);
    }
    let stable = w
        .prev
        .as_ref()
        .is_some_and(|p| p.size == w.info.size && p.identity == w.info.identity);
    if w.start == 0 {
        match shape(data) {
            Shape::Document => return (w.info.size, true),
            Shape::Unfinished if stable && settled(&w.info) => {
                // Never finished: read as it is, so that the decoder reports it (once).
                tracing::warn!(object = %terminal(&w.name), "JSON document never completed");
                return (w.info.size, true);
            }
            Shape::Unfinished => return (0, false),
            Shape::Lines => {}
        }
    }
    (lines_end(w, data, stable), false)
}

/// Whether an object was last modified long enough ago to be taken as finished.
fn settled(info: &ObjectInfo) -> bool {
    now_ms().saturating_sub(info.modified_ms) > UNFINISHED_SETTLE_MS
}

/// Appended lines: up to the last newline. A tail without one is read once the object has
/// stopped growing (`stable`: same size as at the previous look) and looks complete (ends with
/// `}` or `]`), so that a line caught half-written is not read as a broken record.
fn lines_end(w: &Work, data: &[u8], stable: bool) -> u64 {
    let last_nl = data.iter().rposition(|&b| b == b'\n');
    let tail = &data[last_nl.map_or(0, |p| p + 1)..];
    let complete = matches!(tail.trim_ascii_end().last(), Some(b'}' | b']'));
    match last_nl {
        _ if stable && complete => w.info.size,
        Some(pos) => w.start + pos as u64 + 1,
        None => w.start,
    }
}

/// What the content of a mutable object is, judged from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// JSON lines, or anything else: read line by line.
    Lines,
    /// One JSON document, complete, followed by whitespace only.
    Document,
    /// One JSON document spanning lines whose closing bracket is not written yet.
    Unfinished,
}

fn shape(data: &[u8]) -> Shape {
    let body = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let Some(first) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Shape::Lines;
    };
    let body = &body[first..];
    if !matches!(body.first(), Some(b'{' | b'[')) {
        return Shape::Lines;
    }
    match value_end(body) {
        Some(end) if body[end..].iter().all(u8::is_ascii_whitespace) => Shape::Document,
        Some(_) => Shape::Lines,
        // A single line still being written is held back by the line reading as well.
        None if body.contains(&b'\n') => Shape::Unfinished,
        None => Shape::Lines,
    }
}

/// Where the object or array at the start of `data` ends (exclusive), or `None` when its
/// closing bracket is not in `data`. Brackets inside strings do not count.
fn value_end(data: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in data.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

pub(crate) fn checkpoint(
    info: &ObjectInfo,
    origin: &Origin,
    consumed: u64,
    whole: bool,
) -> Checkpoint {
    Checkpoint {
        size: info.size,
        version: info.version.clone(),
        identity: info.identity.clone(),
        consumed,
        whole,
        account: origin.account.clone(),
        region: origin.region.clone(),
        modified_ms: info.modified_ms,
        done_ms: now_ms(),
    }
}

/// Bytes as a decoder input, gunzipped when they start with gzip's magic bytes.
pub(crate) fn stream_input(name: String, bytes: Bytes) -> Input {
    let size = bytes.len() as u64;
    Input::Stream {
        name,
        size,
        open: Arc::new(move || {
            let b = bytes.clone();
            let r: Box<dyn Read + Send> = if trailwatch_model::gzip::is_gzip(&b) {
                Box::new(MultiGzDecoder::new(Cursor::new(b)))
            } else {
                Box::new(Cursor::new(b))
            };
            Ok(r)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(size: u64, version: &str, identity: Option<&str>) -> ObjectInfo {
        ObjectInfo {
            key: "k".into(),
            size,
            version: version.into(),
            identity: identity.map(str::to_string),
            modified_ms: 0,
        }
    }

    fn cp(
        size: u64,
        consumed: u64,
        version: &str,
        identity: Option<&str>,
        whole: bool,
    ) -> Checkpoint {
        Checkpoint {
            size,
            version: version.into(),
            identity: identity.map(str::to_string),
            consumed,
            whole,
            account: None,
            region: None,
            modified_ms: 0,
            done_ms: 0,
        }
    }

    #[test]
    fn plan_reads_new_grown_rotated_and_rewritten_objects_only() {
        // New.
        assert_eq!(plan(&info(10, "a", None), None, false), Some(0));
        assert_eq!(plan(&info(0, "a", None), None, false), None);
        // Grown: from where it stopped.
        let p = cp(10, 10, "a", Some("i1"), false);
        assert_eq!(plan(&info(25, "b", Some("i1")), Some(&p), false), Some(10));
        assert_eq!(plan(&info(10, "a", Some("i1")), Some(&p), false), None);
        // A held-back tail is read once the size is stable.
        let p = cp(12, 10, "a", Some("i1"), false);
        assert_eq!(plan(&info(12, "a", Some("i1")), Some(&p), false), Some(10));
        // Rotated (another inode) or shrunk: from the start.
        let p = cp(10, 10, "a", Some("i1"), false);
        assert_eq!(plan(&info(30, "c", Some("i2")), Some(&p), false), Some(0));
        assert_eq!(plan(&info(4, "c", Some("i1")), Some(&p), false), Some(0));
        // Whole objects (gzip, S3): again only when their version changes.
        let p = cp(10, 10, "a", None, true);
        assert_eq!(plan(&info(10, "a", None), Some(&p), true), None);
        assert_eq!(plan(&info(10, "b", None), Some(&p), true), Some(0));
    }

    #[test]
    fn documents_are_told_from_json_lines_and_unfinished_ones_from_single_lines() {
        // One document, pretty-printed or not, with or without a final newline (and a BOM).
        assert_eq!(shape(b"[\n {\"a\": 1}\n]"), Shape::Document);
        assert_eq!(shape(b"\xef\xbb\xbf {\"Records\":[]}\n\n"), Shape::Document);
        // Brackets and escaped quotes inside strings do not close it.
        assert_eq!(shape(b"{\"a\": \"]}\\\"]\",\n\"b\": [1"), Shape::Unfinished);
        assert_eq!(value_end(b"{\"a\": \"]}\\\"]\"} x"), Some(14));
        // JSON lines: a second value follows the first.
        assert_eq!(shape(b"{\"a\":1}\n{\"a\":2}\n"), Shape::Lines);
        assert_eq!(shape(b"{\"a\":1}\n{\"a\":"), Shape::Lines);
        // A single line still being written, and what is no JSON document at all.
        assert_eq!(shape(b"{\"a\":"), Shape::Lines);
        assert_eq!(shape(b"not json\n"), Shape::Lines);
        assert_eq!(shape(b"  \n"), Shape::Lines);
    }
}
