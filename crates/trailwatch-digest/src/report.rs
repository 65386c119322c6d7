//! What [`crate::validate`] found.

use crate::validate::DigestError;
use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// A problem with a digest's place in its chain.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainIssue {
    #[error("chain broken: previous digest missing: {key}")]
    PreviousMissing { key: String },
    #[error("chain broken: previous digest {} could not be read", path.display())]
    PreviousUnreadable { key: String, path: PathBuf },
    #[error("chain broken: previousDigestHashValue {expected} does not match SHA-256 {actual} of {} (previous digest modified)", previous.display())]
    PreviousHashMismatch {
        previous: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("chain broken: previousDigestSignature does not match the signature of {}", previous.display())]
    PreviousSignatureMismatch { previous: PathBuf },
    #[error("chain broken: previousDigestHashAlgorithm {0:?} is not SHA-256")]
    UnsupportedHashAlgorithm(String),
    #[error("chain broken: names no previous digest, but {} precedes it without a gap", previous.display())]
    PreviousNotNamed { previous: PathBuf },
    #[error("no digest from {} to {}: logging or validation was off, or digests were deleted", fmt_time(*from), fmt_time(*to))]
    Gap {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The result for one digest file.
#[derive(Debug)]
pub struct DigestResult {
    pub path: PathBuf,
    /// `digestS3Object`, when the file could be parsed.
    pub s3_object: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// `Ok` when the file was read, parsed and its signature verified; else why not.
    pub signature: Result<(), DigestError>,
    /// The first digest of its chain (no previous digest named, or the previous lies before the
    /// validated time range).
    pub chain_start: bool,
    pub chain: Vec<ChainIssue>,
}

impl DigestResult {
    /// Signature verified and no broken link (a gap alone does not make the digest invalid; it is
    /// counted separately).
    pub fn is_valid(&self) -> bool {
        self.signature.is_ok()
            && self
                .chain
                .iter()
                .all(|c| matches!(c, ChainIssue::Gap { .. }))
    }

    pub fn gaps(&self) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.chain.iter().filter_map(|c| match c {
            ChainIssue::Gap { from, to } => Some((*from, *to)),
            _ => None,
        })
    }
}

/// What became of one log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogStatus {
    Valid,
    /// The decompressed bytes hash to `actual`, not to the digest's `expected`.
    Modified {
        expected: String,
        actual: String,
    },
    /// Could not be read or decompressed (counted as modified).
    Unreadable(String),
    /// Named by a digest, not found in the directory.
    Missing,
    /// In the directory, named by no digest.
    Unlisted,
    /// The digest's `hashAlgorithm` is not SHA-256 (counted as modified).
    UnsupportedHashAlgorithm(String),
}

/// The result for one log file.
#[derive(Debug, Clone)]
pub struct LogResult {
    /// The local file (`None` when missing).
    pub path: Option<PathBuf>,
    /// The object key the digest names (for unlisted files, the path relative to the root).
    pub s3_object: String,
    /// The digest naming it (`None` when unlisted).
    pub digest: Option<PathBuf>,
    pub status: LogStatus,
}

/// A problem not tied to one digest or log (an unreadable directory entry or manifest).
#[derive(Debug, Clone)]
pub struct Problem {
    pub path: PathBuf,
    pub reason: String,
}

/// Counts over a [`Report`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub digests_valid: usize,
    pub digests_invalid: usize,
    pub logs_valid: usize,
    pub logs_modified: usize,
    pub logs_missing: usize,
    pub logs_unlisted: usize,
    pub gaps: usize,
    pub problems: usize,
}

/// Everything [`crate::validate`] found.
#[derive(Debug, Default)]
pub struct Report {
    pub digests: Vec<DigestResult>,
    pub logs: Vec<LogResult>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            problems: self.problems.len(),
            ..Counts::default()
        };
        for d in &self.digests {
            if d.is_valid() {
                c.digests_valid += 1;
            } else {
                c.digests_invalid += 1;
            }
            c.gaps += d.gaps().count();
        }
        for l in &self.logs {
            match l.status {
                LogStatus::Valid => c.logs_valid += 1,
                LogStatus::Modified { .. }
                | LogStatus::Unreadable(_)
                | LogStatus::UnsupportedHashAlgorithm(_) => c.logs_modified += 1,
                LogStatus::Missing => c.logs_missing += 1,
                LogStatus::Unlisted => c.logs_unlisted += 1,
            }
        }
        c
    }

    /// Nothing wrong: every digest valid, no gap, every log file present, unmodified and listed.
    pub fn is_ok(&self) -> bool {
        let c = self.counts();
        c.digests_invalid == 0
            && c.gaps == 0
            && c.logs_modified == 0
            && c.logs_missing == 0
            && c.logs_unlisted == 0
            && c.problems == 0
    }

    /// The digest result for a file.
    pub fn digest(&self, path: &std::path::Path) -> Option<&DigestResult> {
        self.digests.iter().find(|d| d.path == path)
    }

    /// Log results that are not [`LogStatus::Valid`].
    pub fn bad_logs(&self) -> impl Iterator<Item = &LogResult> {
        self.logs.iter().filter(|l| l.status != LogStatus::Valid)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "{}: {}", p.path.display(), p.reason)?;
        }
        for d in &self.digests {
            if let Err(e) = &d.signature {
                writeln!(f, "{}: digest invalid: {e}", d.path.display())?;
            }
            for c in &d.chain {
                writeln!(f, "{}: {c}", d.path.display())?;
            }
        }
        for l in &self.logs {
            let path = l
                .path
                .as_ref()
                .map_or_else(|| l.s3_object.clone(), |p| p.display().to_string());
            let digest = l
                .digest
                .as_ref()
                .map_or_else(String::new, |d| d.display().to_string());
            match &l.status {
                LogStatus::Valid => {}
                LogStatus::Modified { expected, actual } => writeln!(
                    f,
                    "{path}: log file modified: SHA-256 {actual}, {digest} says {expected}"
                )?,
                LogStatus::Unreadable(why) => {
                    writeln!(f, "{path}: log file unreadable ({why}), listed in {digest}")?
                }
                LogStatus::UnsupportedHashAlgorithm(a) => writeln!(
                    f,
                    "{path}: hash algorithm {a:?} is not SHA-256, listed in {digest}"
                )?,
                LogStatus::Missing => writeln!(f, "{path}: log file missing, listed in {digest}")?,
                LogStatus::Unlisted => writeln!(f, "{path}: log file not covered by any digest")?,
            }
        }
        let c = self.counts();
        write!(
            f,
            "{} valid, {} invalid; {} valid, {} modified, {} missing, {} unlisted; {}",
            plural(c.digests_valid, "digest file", "digest files"),
            c.digests_invalid,
            plural(c.logs_valid, "log file", "log files"),
            c.logs_modified,
            c.logs_missing,
            c.logs_unlisted,
            plural(c.gaps, "gap", "gaps"),
        )?;
        if c.problems > 0 {
            write!(
                f,
                "; {}",
                plural(c.problems, "other problem", "other problems")
            )?;
        }
        writeln!(f)
    }
}
