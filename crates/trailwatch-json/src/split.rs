//! [`Splitter`]: cuts a stream of audit-log JSON into records, in constant memory.
//!
//! Shapes recognised (any mix, any whitespace):
//! - a top-level object with a records array under `Records` (CloudTrail delivery), `Events`
//!   (LookupEvents output), `value` (Azure REST) or `records` (Azure Event Hub): each element is
//!   a record; the rest of the object is skipped;
//! - a top-level array: each element is a record;
//! - one or more top-level objects without such an array (JSON lines, a single record, an
//!   EventBridge envelope, a digest file): each object is a record.
//!
//! Errors are reported per record and the splitter carries on where it safely can: after a
//! broken JSON line, at the next line; after an oversized record, after its end. A read error
//! (corrupt gzip) or truncation ends the stream.

use crate::scan::{is_ident, skip_string, skip_value, skip_ws, Scan, ValueScan};
use std::io::Read;

/// Keys whose array holds the records of a container object.
const CONTAINER_KEYS: [&[u8]; 4] = [b"Records", b"Events", b"value", b"records"];

/// Limits for a [`Splitter`].
#[derive(Debug, Clone, Copy)]
pub struct SplitterOptions {
    /// A record larger than this is skipped with [`SplitError::TooLarge`]. CloudTrail caps an
    /// event at 256 KiB, so the default (16 MiB) only stops garbage from filling memory.
    pub max_record_bytes: usize,
    /// How much to read at a time.
    pub chunk_bytes: usize,
}

impl Default for SplitterOptions {
    fn default() -> Self {
        SplitterOptions {
            max_record_bytes: 16 << 20,
            chunk_bytes: 256 << 10,
        }
    }
}

/// Why a record (or the rest of a stream) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("read failed after {offset} bytes: {source}")]
    Io { offset: u64, source: std::io::Error },
    #[error("not JSON at byte {offset}: unexpected {found}")]
    NotJson { offset: u64, found: String },
    #[error("record at byte {offset} is larger than {limit} bytes; skipped")]
    TooLarge { offset: u64, limit: usize },
    #[error("input ends inside a record that starts at byte {offset} (truncated)")]
    Truncated { offset: u64 },
    #[error("line ends inside the record that starts at byte {offset}; line skipped")]
    BrokenLine { offset: u64 },
    #[error("array element at byte {offset} is not an object; skipped")]
    NotAnObject { offset: u64 },
}

impl SplitError {
    /// Whether the splitter stops after this error.
    pub fn is_fatal(&self) -> bool {
        matches!(self, SplitError::Io { .. } | SplitError::Truncated { .. })
    }
}

#[derive(Debug, Clone)]
enum State {
    TopLevel,
    /// Inside a top-level object, before a key or the closing brace.
    ObjKey {
        container_seen: bool,
    },
    /// Inside a top-level object, in a nested value.
    ObjValue {
        scan: ValueScan,
        container_seen: bool,
    },
    /// Inside an array of records.
    Array {
        in_container: bool,
    },
    /// Inside one array element.
    Element {
        scan: ValueScan,
        in_container: bool,
    },
    /// Discarding an oversized value; then back to `resume`.
    Skip {
        scan: ValueScan,
        resume: Resume,
    },
    /// Discarding up to the next newline.
    SkipLine,
    Done,
}

#[derive(Debug, Clone, Copy)]
enum Resume {
    TopLevel,
    Array { in_container: bool },
}

/// A streaming record splitter; call [`Splitter::next_record`] until it returns `None`.
pub struct Splitter<R> {
    reader: R,
    opts: SplitterOptions,
    buf: Vec<u8>,
    end: usize,
    pos: usize,
    /// Start of the record being gathered, if any.
    rec_start: Option<usize>,
    /// Absolute offset of `buf[0]` in the stream.
    base: u64,
    eof: bool,
    state: State,
    /// `Some(true)` once the first top-level object turned out to fit on one line.
    json_lines: Option<bool>,
    records: u64,
}

enum Step {
    Continue,
    NeedData,
    Record(usize, usize),
    Error(SplitError),
}

impl<R: Read> Splitter<R> {
    pub fn new(reader: R) -> Self {
        Self::with_options(reader, SplitterOptions::default())
    }

    pub fn with_options(reader: R, opts: SplitterOptions) -> Self {
        Self::with_buffer(reader, opts, Vec::new())
    }

    /// A splitter that reads into `buf` (its contents are discarded): lets a caller reading
    /// many files reuse one buffer instead of allocating (and faulting in) a new one per file.
    pub fn with_buffer(reader: R, opts: SplitterOptions, mut buf: Vec<u8>) -> Self {
        buf.clear();
        let cap = buf.capacity();
        buf.resize(cap, 0);
        Splitter {
            reader,
            opts,
            buf,
            end: 0,
            pos: 0,
            rec_start: None,
            base: 0,
            eof: false,
            state: State::TopLevel,
            json_lines: None,
            records: 0,
        }
    }

    /// Gives the buffer back for reuse.
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Records returned so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes consumed so far (decompressed).
    pub fn bytes_read(&self) -> u64 {
        self.base + self.end as u64
    }

    /// The next record's bytes, or an error about the input; `None` at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next_record(&mut self) -> Option<Result<&[u8], SplitError>> {
        loop {
            if matches!(self.state, State::Done) {
                return None;
            }
            match self.step() {
                Step::Continue => {}
                // A record that ends in the bytes just read can pass the limit by up to a
                // read's worth: the size is checked where every record comes out.
                Step::Record(a, b) if b - a > self.opts.max_record_bytes => {
                    return Some(Err(SplitError::TooLarge {
                        offset: self.abs(a),
                        limit: self.opts.max_record_bytes,
                    }));
                }
                Step::Record(a, b) => {
                    self.records += 1;
                    return Some(Ok(&self.buf[a..b]));
                }
                Step::Error(e) => {
                    if e.is_fatal() {
                        self.state = State::Done;
                    }
                    return Some(Err(e));
                }
                Step::NeedData => {
                    // More data was asked for after the end: whatever is pending is truncated.
                    if self.eof {
                        return self.at_eof().map(Err);
                    }
                    if let Err(e) = self.fill() {
                        self.state = State::Done;
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    fn at_eof(&mut self) -> Option<SplitError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match state {
            State::TopLevel | State::SkipLine | State::Done => None,
            _ => Some(SplitError::Truncated {
                offset: self.abs(self.rec_start.unwrap_or(self.pos)),
            }),
        }
    }

    fn abs(&self, i: usize) -> u64 {
        self.base + i as u64
    }

    /// Moves unneeded bytes out and reads more.
    fn fill(&mut self) -> Result<(), SplitError> {
        if self.eof {
            return Ok(());
        }
        let keep = self.rec_start.unwrap_or(self.pos).min(self.pos);
        if keep > 0 {
            self.buf.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.pos -= keep;
            self.rec_start = self.rec_start.map(|s| s - keep);
            self.base += keep as u64;
        }
        if self.buf.len() - self.end < self.opts.chunk_bytes {
            let want = (self.buf.len() * 2).max(self.end + self.opts.chunk_bytes);
            self.buf.resize(want, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(SplitError::Io {
                        offset: self.abs(self.end),
                        source,
                    });
                }
            }
        }
    }

    fn oversized(&self) -> bool {
        self.rec_start
            .is_some_and(|s| self.end - s > self.opts.max_record_bytes)
    }

    fn step(&mut self) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => Step::Continue,
            State::TopLevel => self.top_level(),
            State::ObjKey { container_seen } => self.obj_key(container_seen),
            State::ObjValue {
                scan,
                container_seen,
            } => self.obj_value(scan, container_seen),
            State::Array { in_container } => self.array(in_container),
            State::Element { scan, in_container } => self.element(scan, in_container),
            State::Skip { scan, resume } => self.skip(scan, resume),
            State::SkipLine => self.skip_line(),
        }
    }

    fn top_level(&mut self) -> Step {
        self.rec_start = None;
        let p = skip_ws(&self.buf[..self.end], self.pos);
        self.pos = p;
        if p >= self.end {
            self.state = State::TopLevel;
            return Step::NeedData;
        }
        match self.buf[p] {
            b'[' => {
                self.pos = p + 1;
                self.state = State::Array {
                    in_container: false,
                };
            }
            b'{' => {
                self.rec_start = Some(p);
                self.pos = p + 1;
                self.state = State::ObjKey {
                    container_seen: false,
                };
            }
            b',' => {
                self.pos = p + 1;
                self.state = State::TopLevel;
            }
            c => {
                self.state = State::SkipLine;
                return Step::Error(SplitError::NotJson {
                    offset: self.abs(p),
                    found: describe(c),
                });
            }
        }
        Step::Continue
    }

    fn new_scan(&self) -> ValueScan {
        ValueScan::new(self.json_lines == Some(true))
    }

    /// A newline inside a top-level object of a JSON-lines stream: drop the line.
    fn broken_line(&mut self, newline_at: usize) -> Step {
        let offset = self.abs(self.rec_start.unwrap_or(newline_at));
        self.rec_start = None;
        self.pos = newline_at + 1;
        self.state = State::TopLevel;
        Step::Error(SplitError::BrokenLine { offset })
    }

    fn obj_key(&mut self, container_seen: bool) -> Step {
        let b = &self.buf[..self.end];
        let p = skip_ws(b, self.pos);
        if self.json_lines == Some(true) {
            if let Some(nl) = memchr::memchr(b'\n', &b[self.pos..p]) {
                return self.broken_line(self.pos + nl);
            }
        }
        if p >= self.end {
            self.state = State::ObjKey { container_seen };
            return Step::NeedData;
        }
        match b[p] {
            b',' => {
                self.pos = p + 1;
                self.state = State::ObjKey { container_seen };
                Step::Continue
            }
            b'}' => {
                self.pos = p + 1;
                self.state = State::TopLevel;
                if container_seen {
                    return Step::Continue;
                }
                let start = self.rec_start.take().unwrap_or(p);
                if self.json_lines.is_none() {
                    self.json_lines = Some(!b[start..p].contains(&b'\n'));
                }
                Step::Record(start, p + 1)
            }
            _ => self.obj_entry(p, container_seen),
        }
    }

    /// A key, its colon and the start of its value, which must all be in the buffer.
    fn obj_entry(&mut self, p: usize, container_seen: bool) -> Step {
        let b = &self.buf[..self.end];
        let key_end = match b[p] {
            b'"' => skip_string(b, p),
            c if is_ident(c) => {
                let mut q = p;
                while q < b.len() && is_ident(b[q]) {
                    q += 1;
                }
                (q < b.len()).then_some(q)
            }
            c => {
                self.state = State::SkipLine;
                return Step::Error(SplitError::NotJson {
                    offset: self.abs(p),
                    found: describe(c),
                });
            }
        };
        let Some(key_end) = key_end else {
            return self.need_more_in_obj(container_seen);
        };
        let key = if b[p] == b'"' {
            &b[p + 1..key_end - 1]
        } else {
            &b[p..key_end]
        };
        let colon = skip_ws(b, key_end);
        if colon >= b.len() {
            return self.need_more_in_obj(container_seen);
        }
        if b[colon] != b':' {
            self.state = State::SkipLine;
            return Step::Error(SplitError::NotJson {
                offset: self.abs(colon),
                found: describe(b[colon]),
            });
        }
        let v = skip_ws(b, colon + 1);
        if v >= b.len() {
            return self.need_more_in_obj(container_seen);
        }
        if b[v] == b'[' && CONTAINER_KEYS.contains(&key) {
            self.rec_start = None;
            self.pos = v + 1;
            self.state = State::Array { in_container: true };
            return Step::Continue;
        }
        if matches!(b[v], b'{' | b'[') {
            self.pos = v;
            self.state = State::ObjValue {
                scan: self.new_scan(),
                container_seen,
            };
            return Step::Continue;
        }
        match skip_value(b, v) {
            Some(e) if e < b.len() || self.eof => {
                if self.json_lines == Some(true) {
                    if let Some(nl) = memchr::memchr(b'\n', &b[v..e]) {
                        return self.broken_line(v + nl);
                    }
                }
                self.pos = e;
                self.state = State::ObjKey { container_seen };
                Step::Continue
            }
            _ => self.need_more_in_obj(container_seen),
        }
    }

    fn need_more_in_obj(&mut self, container_seen: bool) -> Step {
        self.state = State::ObjKey { container_seen };
        if self.oversized() {
            return self.too_large(Resume::TopLevel);
        }
        Step::NeedData
    }

    fn obj_value(&mut self, mut scan: ValueScan, container_seen: bool) -> Step {
        match scan.feed(&self.buf[..self.end], self.pos) {
            Scan::Complete(e) => {
                self.pos = e;
                self.state = State::ObjKey { container_seen };
                Step::Continue
            }
            Scan::Newline(i) => self.broken_line(i),
            Scan::NeedMore => {
                self.pos = self.end;
                if self.oversized() {
                    // The value's own scan state is lost; skip the rest of the object instead.
                    return self.too_large(Resume::TopLevel);
                }
                self.state = State::ObjValue {
                    scan,
                    container_seen,
                };
                Step::NeedData
            }
        }
    }

    /// The top-level object being gathered is over the limit: re-scan its retained bytes from
    /// its start (once), then discard the rest as it streams past.
    fn too_large(&mut self, resume: Resume) -> Step {
        let start = self.rec_start.take().unwrap_or(self.pos);
        let mut scan = ValueScan::default();
        let result = scan.feed(&self.buf[..self.end], start);
        let offset = self.abs(start);
        match result {
            Scan::Complete(e) => {
                self.pos = e;
                self.state = resume_state(resume);
            }
            _ => {
                self.pos = self.end;
                self.state = State::Skip { scan, resume };
            }
        }
        Step::Error(SplitError::TooLarge {
            offset,
            limit: self.opts.max_record_bytes,
        })
    }

    fn array(&mut self, in_container: bool) -> Step {
        let b = &self.buf[..self.end];
        let p = skip_ws(b, self.pos);
        self.pos = p;
        if p >= self.end {
            self.state = State::Array { in_container };
            return Step::NeedData;
        }
        match b[p] {
            b',' => {
                self.pos = p + 1;
                self.state = State::Array { in_container };
            }
            b']' => {
                self.pos = p + 1;
                self.state = if in_container {
                    State::ObjKey {
                        container_seen: true,
                    }
                } else {
                    State::TopLevel
                };
            }
            b'{' => {
                self.rec_start = Some(p);
                self.state = State::Element {
                    scan: ValueScan::default(),
                    in_container,
                };
            }
            // A nested array is skipped as it streams past, whatever its size and depth (an
            // unclosed `[[[[…` must not be gathered whole first).
            b'[' => {
                let offset = self.abs(p);
                let mut scan = ValueScan::default();
                match scan.feed(b, p) {
                    Scan::Complete(e) => {
                        self.pos = e;
                        self.state = State::Array { in_container };
                    }
                    _ => {
                        self.pos = self.end;
                        self.state = State::Skip {
                            scan,
                            resume: Resume::Array { in_container },
                        };
                    }
                }
                return Step::Error(SplitError::NotAnObject { offset });
            }
            c => match skip_value(b, p) {
                Some(e) if e < b.len() || self.eof => {
                    self.pos = e;
                    self.state = State::Array { in_container };
                    return Step::Error(SplitError::NotAnObject {
                        offset: self.abs(p),
                    });
                }
                // A scalar (a string, most likely) is gathered to be skipped: only up to the
                // record limit, past which the rest of the input is not read.
                _ if self.end - p > self.opts.max_record_bytes => {
                    self.state = State::Done;
                    return Step::Error(SplitError::TooLarge {
                        offset: self.abs(p),
                        limit: self.opts.max_record_bytes,
                    });
                }
                _ if c.is_ascii_graphic() => {
                    self.state = State::Array { in_container };
                    return Step::NeedData;
                }
                _ => {
                    self.state = State::Done;
                    return Step::Error(SplitError::NotJson {
                        offset: self.abs(p),
                        found: describe(c),
                    });
                }
            },
        }
        Step::Continue
    }

    fn element(&mut self, mut scan: ValueScan, in_container: bool) -> Step {
        let start = self.rec_start.unwrap_or(self.pos);
        let from = self.pos.max(start);
        match scan.feed(&self.buf[..self.end], from) {
            Scan::Complete(e) => {
                self.pos = e;
                self.rec_start = None;
                self.state = State::Array { in_container };
                Step::Record(start, e)
            }
            Scan::Newline(_) | Scan::NeedMore => {
                self.pos = self.end;
                self.state = State::Element {
                    scan: scan.clone(),
                    in_container,
                };
                if self.oversized() {
                    self.rec_start = None;
                    self.state = State::Skip {
                        scan,
                        resume: Resume::Array { in_container },
                    };
                    return Step::Error(SplitError::TooLarge {
                        offset: self.abs(start),
                        limit: self.opts.max_record_bytes,
                    });
                }
                Step::NeedData
            }
        }
    }

    fn skip(&mut self, mut scan: ValueScan, resume: Resume) -> Step {
        match scan.feed(&self.buf[..self.end], self.pos) {
            Scan::Complete(e) => {
                self.pos = e;
                self.state = resume_state(resume);
                Step::Continue
            }
            _ => {
                self.pos = self.end;
                self.state = State::Skip { scan, resume };
                Step::NeedData
            }
        }
    }

    fn skip_line(&mut self) -> Step {
        match memchr::memchr(b'\n', &self.buf[self.pos..self.end]) {
            Some(i) => {
                self.pos += i + 1;
                self.state = State::TopLevel;
                Step::Continue
            }
            None => {
                self.pos = self.end;
                self.state = State::SkipLine;
                Step::NeedData
            }
        }
    }
}

fn resume_state(resume: Resume) -> State {
    match resume {
        Resume::TopLevel => State::TopLevel,
        Resume::Array { in_container } => State::Array { in_container },
    }
}

fn describe(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}
