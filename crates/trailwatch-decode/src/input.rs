//! Inputs: the files a user names, found and opened.

use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trailwatch_model::gzip::is_gzip;

/// Opens a [`Input::Stream`]: called by the worker that reads it, so that streams are opened
/// one at a time per worker, not all at once.
pub type OpenStream = dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync;

/// One stream of log data.
#[derive(Clone)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    File {
        path: PathBuf,
        size: u64,
    },
    /// Records another component supplies (the audit store's `raw` column, say), as JSON.
    Stream {
        name: String,
        size: u64,
        open: Arc<OpenStream>,
    },
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Stdin => f.write_str("Stdin"),
            Input::File { path, size } => f
                .debug_struct("File")
                .field("path", path)
                .field("size", size)
                .finish(),
            Input::Stream { name, size, .. } => f
                .debug_struct("Stream")
                .field("name", name)
                .field("size", size)
                .finish(),
        }
    }
}

impl PartialEq for Input {
    fn eq(&self, other: &Input) -> bool {
        match (self, other) {
            (Input::Stdin, Input::Stdin) => true,
            (Input::File { path: a, size: x }, Input::File { path: b, size: y }) => {
                a == b && x == y
            }
            (Input::Stream { open: a, .. }, Input::Stream { open: b, .. }) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Input {
    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::File { path, .. } => path.display().to_string(),
            Input::Stream { name, .. } => name.clone(),
        }
    }

    /// The size on disk (compressed), 0 for stdin.
    pub fn size(&self) -> u64 {
        match self {
            Input::Stdin => 0,
            Input::File { size, .. } | Input::Stream { size, .. } => *size,
        }
    }

    /// Opens the input as decompressed bytes: gzip is recognised by its magic bytes, whatever
    /// the name says.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            Input::Stdin => sniff(BufReader::with_capacity(64 << 10, io::stdin())),
            Input::File { path, .. } => {
                sniff(BufReader::with_capacity(64 << 10, File::open(path)?))
            }
            Input::Stream { open, .. } => open(),
        }
    }
}

/// `r`, gunzipped when its first bytes are gzip's magic.
fn sniff<R: Read + Send + 'static>(mut r: BufReader<R>) -> io::Result<Box<dyn Read + Send>> {
    if is_gzip(r.fill_buf()?) {
        Ok(Box::new(MultiGzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// A path that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct InputError {
    pub path: String,
    pub reason: String,
}

/// File names a directory walk reads; files named on the command line are always read.
fn looks_like_log(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    [
        ".json",
        ".json.gz",
        ".jsonl",
        ".jsonl.gz",
        ".ndjson",
        ".gz",
        ".log",
        ".log.gz",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

/// Expands files, directories (recursively, log-like names only, in sorted order) and `-`.
pub fn expand_inputs(paths: &[PathBuf]) -> (Vec<Input>, Vec<InputError>) {
    let (inputs, errors, _) = expand_inputs_counted(paths);
    (inputs, errors)
}

/// [`expand_inputs`], also counting the files a directory walk passed over by their name (a
/// file named on the command line is always read).
pub fn expand_inputs_counted(paths: &[PathBuf]) -> (Vec<Input>, Vec<InputError>, u64) {
    let mut skipped = 0u64;
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => {
                errors.push(InputError {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if meta.is_file() {
            inputs.push(Input::File {
                path: p.clone(),
                size: meta.len(),
            });
            continue;
        }
        let walk = walkdir::WalkDir::new(p)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walk {
            match entry {
                Ok(e) if e.file_type().is_file() && looks_like_log(e.path()) => {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    inputs.push(Input::File {
                        path: e.into_path(),
                        size,
                    });
                }
                Ok(e) if e.file_type().is_file() => skipped += 1,
                Ok(_) => {}
                Err(e) => errors.push(InputError {
                    path: e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| p.display().to_string()),
                    reason: e.to_string(),
                }),
            }
        }
    }
    (inputs, errors, skipped)
}
