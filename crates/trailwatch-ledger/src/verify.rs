//! Re-reading the ledger and the store's files, and naming every problem found.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::anchor::{check_anchors, read_anchors, AnchorLine};
use crate::ledger::{
    hash_file, io_err, parse_public_key, read_public_key, read_raw, LedgerError, TornTail,
    LEDGER_DIR, LEDGER_FILE, LEGACY_SECRET_KEY_FILE, PUBLIC_KEY_FILE,
};
use crate::link::{
    line_hash, Head, Link, LinkKind, Quarantined, DEFAULT_RETENTION_FLOOR_DAYS, GENESIS,
};

/// What [`verify_with`] checks against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Hex Ed25519 public key pinned outside the store; `None` trusts `_ledger/signing.pub`.
    pub public_key: Option<String>,
    /// Which files under the store are data files that a link must name: a glob with `*` and
    /// `?`, matched against the file name, or against the `/`-separated path relative to the
    /// store when it contains a `/`. Default `*.parquet`.
    pub data_pattern: String,
    /// A head recorded outside the store: the ledger must reach it, with the same hash.
    pub head: Option<Head>,
    /// An anchor file (signed heads the writer published, [`crate::Anchor`]): the ledger must
    /// continue every one of them.
    pub anchors: Option<PathBuf>,
    /// Anchors read from elsewhere (the head objects of an S3 prefix, numbered in key order):
    /// checked exactly as an anchor file's lines are; used instead of `anchors` when given.
    pub anchor_lines: Option<Vec<AnchorLine>>,
    /// The store is on write-once storage (S3 Object Lock, an Azure immutability policy),
    /// which may refuse to delete what retention removed or compaction replaced: such a file,
    /// still there with the hash its link recorded, is accepted and listed
    /// ([`VerifyReport::kept`]) rather than a problem. Any other content is still one.
    pub superseded_may_remain: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            public_key: None,
            data_pattern: "*.parquet".to_string(),
            head: None,
            anchors: None,
            anchor_lines: None,
            superseded_may_remain: false,
        }
    }
}

/// One thing wrong with a store. Line numbers are 1-based lines of `_ledger/ledger.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `_ledger/ledger.jsonl` is gone.
    LedgerMissing,
    /// `signing.pub` differs from (or, `found: None`, is missing next to) the pinned key.
    PublicKeyMismatch { found: Option<String> },
    /// The store holds a secret signing key (`_ledger/signing.key`, where stores kept it before
    /// it moved out): whoever can write the store can re-sign it, so its signatures prove
    /// nothing until the key is moved out.
    SecretKeyInStore,
    /// A partial last line: a crash during an append, not tampering; `repair` removes it.
    TornTail { offset: u64, bytes: u64 },
    /// A complete line that is not a link: tampering or corruption.
    Unparsable { line: usize, reason: String },
    /// A link whose signature does not verify: the line was edited or forged.
    BadSignature { seq: u64, line: usize },
    /// A link not chained to the link before it (that link replaced, or this one inserted).
    BrokenPrev { seq: u64 },
    /// Links `after + 1 ..= next - 1` are absent: removed from the ledger.
    LinksRemoved { after: u64, next: u64 },
    /// A link found after a link with a higher seq: lines reordered.
    Reordered { seq: u64, line: usize, after: u64 },
    /// An identical copy of a link.
    DuplicateLink { seq: u64, line: usize },
    /// A different link claiming a seq that another link has: inserted.
    ConflictingSeq { seq: u64, line: usize },
    /// The ledger ends before a head recorded elsewhere: links cut off its end.
    LedgerTruncated { head_seq: u64, last_seq: u64 },
    /// The link at a recorded head's seq is not the one recorded: the ledger was rewritten.
    HeadMismatch { seq: u64 },
    /// A retention link removing a file that was not live with that hash.
    RetentionMismatch { seq: u64, path: String },
    /// A committed file absent without a retention link.
    FileMissing { path: String, seq: u64 },
    /// A committed file with its size but not its hash.
    FileModified { path: String, seq: u64 },
    /// A committed file shorter than committed.
    FileTruncated {
        path: String,
        seq: u64,
        expected: u64,
        actual: u64,
    },
    /// A committed file longer than committed.
    FileExtended {
        path: String,
        seq: u64,
        expected: u64,
        actual: u64,
    },
    /// A committed file that could not be read.
    FileUnreadable {
        path: String,
        seq: u64,
        error: String,
    },
    /// A data file no link names: planted (or left by links cut off the ledger's end).
    FileInserted { path: String },
    /// A data file a retention link says was removed, present again.
    RemovedButPresent { path: String, seq: u64 },
    /// A quarantine link moving a file that was live (or onto one): forged.
    QuarantineOfLive { seq: u64, path: String },
    /// A file a quarantine link moved into quarantine, absent there.
    QuarantinedMissing { path: String, seq: u64 },
    /// A file in quarantine whose size or SHA-256 is not what its quarantine link says.
    QuarantinedModified { path: String, seq: u64 },
    /// A compaction link replacing a file that was not live with that hash: forged.
    CompactionMismatch { seq: u64, path: String },
    /// A compaction link writing a file onto a live one (or one it replaces): forged.
    CompactionOverLive { seq: u64, path: String },
    /// A compaction link whose row counts or event-id digests do not add up: forged.
    CompactionUnbalanced { seq: u64, reason: String },
    /// A data file a compaction link replaced, present again (or still: a compaction
    /// interrupted before it removed it, which the next writer finishes).
    ReplacedButPresent { path: String, seq: u64 },
    /// A line of the anchor file that is not an anchor.
    AnchorUnreadable { line: usize, reason: String },
    /// An anchor the store's key did not sign: forged, or another store's.
    AnchorBadSignature { line: usize, seq: u64 },
    /// Two different heads were published for one seq (anchor lines, times): the store was
    /// rewritten, or a copy of it continued, after it published the first.
    AnchorFork {
        seq: u64,
        lines: (usize, usize),
        at: (String, String),
    },
    /// The ledger's link at a published head's seq is another link: the store forked from what
    /// it showed. `later`: how many more published heads diverge too.
    AnchorDiverged {
        seq: u64,
        line: usize,
        at: String,
        later: usize,
    },
    /// The ledger ends at a head it published earlier (`seq`, published `at`), but it had gone
    /// on to `newest_seq`: the store was rolled back to an older copy.
    RolledBack {
        seq: u64,
        at: String,
        newest_seq: u64,
        newest_at: String,
    },
    /// The ledger ends at `last_seq`, never a published head, before the newest one: links cut
    /// off its end.
    AnchorTruncated {
        last_seq: u64,
        newest_seq: u64,
        newest_at: String,
    },
    /// A retention link deleted days the retention floor in force kept.
    FloorBroken {
        seq: u64,
        at: String,
        floor_days: u32,
        days: Vec<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Problem::*;
        match self {
            LedgerMissing => write!(f, "ledger: {LEDGER_DIR}/{LEDGER_FILE} is missing"),
            PublicKeyMismatch { found: Some(k) } => {
                write!(f, "ledger: {PUBLIC_KEY_FILE} ({k}) is not the pinned key")
            }
            PublicKeyMismatch { found: None } => {
                write!(f, "ledger: {PUBLIC_KEY_FILE} is missing or unreadable")
            }
            SecretKeyInStore => write!(
                f,
                "ledger: {LEDGER_DIR}/{LEGACY_SECRET_KEY_FILE} is a private signing key inside the store: whoever can write the store can re-sign it, so its signatures are not trusted (move it out: trailwatch key migrate)"
            ),
            TornTail { offset, bytes } => write!(
                f,
                "ledger: torn last line ({bytes} bytes at offset {offset}), a crash mid-append; the next writer keeps it in quarantine and cuts it"
            ),
            Unparsable { line, reason } => {
                write!(f, "ledger line {line}: not a link ({reason}): tampered")
            }
            BadSignature { seq, line } => {
                write!(f, "link {seq} (line {line}): bad signature: edited or forged")
            }
            BrokenPrev { seq } => write!(
                f,
                "link {seq}: not chained to link {}: a link replaced or inserted",
                seq.saturating_sub(1)
            ),
            LinksRemoved { after, next } if next - after == 2 => {
                write!(f, "link {}: removed (seq gap between {after} and {next})", after + 1)
            }
            LinksRemoved { after, next } => write!(
                f,
                "links {}..={}: removed (seq gap between {after} and {next})",
                after + 1,
                next - 1
            ),
            Reordered { seq, line, after } => {
                write!(f, "link {seq} (line {line}): after link {after}: reordered")
            }
            DuplicateLink { seq, line } => write!(f, "link {seq} (line {line}): duplicated"),
            ConflictingSeq { seq, line } => {
                write!(f, "link {seq} (line {line}): a second, different link {seq}: inserted")
            }
            LedgerTruncated { head_seq, last_seq } => write!(
                f,
                "ledger: truncated: ends at link {last_seq}, the recorded head is link {head_seq}"
            ),
            HeadMismatch { seq } => {
                write!(f, "link {seq}: not the recorded head: ledger rewritten")
            }
            RetentionMismatch { seq, path } => {
                write!(f, "link {seq}: retention of {path}, which was not live with that hash")
            }
            FileMissing { path, seq } => {
                write!(f, "{path}: missing (committed at link {seq}, no retention)")
            }
            FileModified { path, seq } => {
                write!(f, "{path}: modified (SHA-256 differs from link {seq})")
            }
            FileTruncated { path, seq, expected, actual } => write!(
                f,
                "{path}: truncated ({actual} bytes, {expected} committed at link {seq})"
            ),
            FileExtended { path, seq, expected, actual } => write!(
                f,
                "{path}: appended to ({actual} bytes, {expected} committed at link {seq})"
            ),
            FileUnreadable { path, seq, error } => {
                write!(f, "{path}: unreadable (committed at link {seq}): {error}")
            }
            FileInserted { path } => {
                write!(f, "{path}: planted (a data file no ledger link names)")
            }
            RemovedButPresent { path, seq } => {
                write!(f, "{path}: present, but removed by retention at link {seq}")
            }
            QuarantineOfLive { seq, path } => {
                write!(f, "link {seq}: quarantines {path}, a live committed file: forged")
            }
            QuarantinedMissing { path, seq } => {
                write!(f, "{path}: missing (moved into quarantine at link {seq})")
            }
            QuarantinedModified { path, seq } => write!(
                f,
                "{path}: modified (not what link {seq} moved into quarantine)"
            ),
            CompactionMismatch { seq, path } => write!(
                f,
                "link {seq}: compaction replaces {path}, which was not live with that hash: forged"
            ),
            CompactionOverLive { seq, path } => write!(
                f,
                "link {seq}: compaction writes {path} over a live file: forged"
            ),
            CompactionUnbalanced { seq, reason } => {
                write!(f, "link {seq}: compaction does not add up ({reason}): forged")
            }
            AnchorUnreadable { line, reason } => {
                write!(f, "anchors line {line}: not an anchor ({reason})")
            }
            AnchorBadSignature { line, seq } => write!(
                f,
                "anchors line {line} (head {seq}): not signed by this store's key: forged, or another store's"
            ),
            AnchorFork { seq, lines, at } => write!(
                f,
                "fork at link {seq}: two different heads were published for it (anchors lines {} at {} and {} at {}): the store was rewritten, or a copy of it went on, after it showed the first",
                lines.0, at.0, lines.1, at.1
            ),
            AnchorDiverged { seq, line, at, later } => write!(
                f,
                "fork: link {seq} is not the head published at {at} (anchors line {line}){}: the store is not the one that published it",
                if *later > 0 { format!(", nor are {later} later published heads") } else { String::new() }
            ),
            RolledBack { seq, at, newest_seq, newest_at } => write!(
                f,
                "rolled back: the store is at link {seq}, the head it published at {at}, but it had gone on to link {newest_seq} (published at {newest_at}): an older copy of the store"
            ),
            AnchorTruncated { last_seq, newest_seq, newest_at } => write!(
                f,
                "truncated: the ledger ends at link {last_seq}, but link {newest_seq} was published as its head at {newest_at}: links {}..={newest_seq} cut off its end",
                last_seq + 1
            ),
            FloorBroken { seq, at, floor_days, days } => write!(
                f,
                "link {seq}: retention at {at} deleted {} ({}), which the retention floor in force ({floor_days} days) kept: broke the floor",
                if days.len() == 1 { "a day" } else { "days" },
                days.join(", ")
            ),
            ReplacedButPresent { path, seq } => write!(
                f,
                "{path}: present, but replaced by compaction at link {seq} (left by an interrupted compaction, the next writer removes it; queries count its rows twice until then)"
            ),
        }
    }
}

/// One deletion by retention, as verify lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionEntry {
    pub seq: u64,
    /// When the retention link was written.
    pub at: String,
    pub reason: String,
    /// The days removed, each with how many files.
    pub days: BTreeMap<String, usize>,
    /// The retention floor in force then, in days.
    pub floor_days: u32,
    /// The days removed that the floor kept (none: within the floor).
    pub broke: Vec<String>,
}

/// A change of the retention floor, as verify lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorChange {
    pub seq: u64,
    pub at: String,
    pub from_days: u32,
    pub to_days: u32,
    pub reason: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Complete ledger lines that parsed as links.
    pub links: usize,
    pub commits: usize,
    pub retentions: usize,
    pub quarantines: usize,
    pub compactions: usize,
    /// Live files checked against their links, and their bytes.
    pub files_checked: usize,
    pub bytes_checked: u64,
    /// Files deleted by retention, as its links record.
    pub removed_by_retention: usize,
    /// Files in quarantine, as quarantine links record (each checked against its link).
    pub files_quarantined: usize,
    /// Files replaced by compaction, as its links record.
    pub replaced_by_compaction: usize,
    /// The ledger's head (highest seq in the chain).
    pub head: Head,
    /// Every deletion by retention, oldest first.
    pub retention_log: Vec<RetentionEntry>,
    /// Every change of the retention floor, oldest first.
    pub floor_changes: Vec<FloorChange>,
    /// The retention floor in force, in days.
    pub floor_days: u32,
    /// Anchors checked (`None`: no anchor file was given).
    pub anchors_checked: Option<usize>,
    /// Files retention removed or compaction replaced that write-once storage kept, with the
    /// hash their link recorded ([`VerifyOptions::superseded_may_remain`]).
    pub kept: Vec<Kept>,
    pub problems: Vec<Problem>,
}

/// A superseded file write-once storage kept (see [`VerifyReport::kept`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub path: String,
    /// The retention or compaction link that superseded it.
    pub seq: u64,
    /// `retention` or `compaction`.
    pub by: &'static str,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The counts, without the problems: `N links (…), N files (N bytes) checked, …, head S:H`.
    /// Compactions are counted only in a ledger that has some (older ones print as they did).
    pub fn summary(&self) -> String {
        let (compactions, replaced) = if self.compactions > 0 {
            (
                format!(", {} compaction", self.compactions),
                format!(", {} replaced by compaction", self.replaced_by_compaction),
            )
        } else {
            (String::new(), String::new())
        };
        let anchors = self
            .anchors_checked
            .map(|n| format!(", continues {n} published heads"))
            .unwrap_or_default();
        format!(
            "{} links ({} commits, {} retention, {} quarantine{compactions}), {} files ({} bytes) checked, {} removed by retention{replaced}, {} in quarantine, head {}{anchors}",
            self.links,
            self.commits,
            self.retentions,
            self.quarantines,
            self.files_checked,
            self.bytes_checked,
            self.removed_by_retention,
            self.files_quarantined,
            self.head
        )
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        if self.is_ok() {
            write!(f, "ok: ")?;
        } else {
            write!(f, "FAILED: {} problems; ", self.problems.len())?;
        }
        write!(f, "{}", self.summary())?;
        for line in self.kept_lines() {
            write!(f, "\n{line}")?;
        }
        for line in self.history() {
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}

impl VerifyReport {
    /// One line per superseded file write-once storage kept ([`VerifyReport::kept`]).
    pub fn kept_lines(&self) -> Vec<String> {
        self.kept
            .iter()
            .map(|k| {
                format!(
                    "kept: {} (superseded by {} at link {}, still stored: the storage refused its deletion; not read)",
                    k.path, k.by, k.seq
                )
            })
            .collect()
    }

    /// The floor changes and the retention deletions, one line each, oldest first.
    pub fn history(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut floors = self.floor_changes.iter().peekable();
        for r in &self.retention_log {
            while let Some(c) = floors.next_if(|c| c.seq < r.seq) {
                out.push(floor_line(c));
            }
            let days: Vec<&str> = r.days.keys().map(String::as_str).collect();
            let files: usize = r.days.values().sum();
            let verdict = if r.broke.is_empty() {
                "within the floor".to_string()
            } else {
                format!("BROKE THE FLOOR ({})", r.broke.join(", "))
            };
            out.push(format!(
                "retention: link {} at {} ({}): removed {} days ({}), {files} files; floor {} days: {verdict}",
                r.seq,
                r.at,
                r.reason,
                days.len(),
                span(&days),
                r.floor_days
            ));
        }
        out.extend(floors.map(floor_line));
        out
    }
}

fn floor_line(c: &FloorChange) -> String {
    let how = if c.to_days < c.from_days {
        "lowered"
    } else {
        "set"
    };
    format!(
        "retention floor: link {} at {}: {how} from {} to {} days ({})",
        c.seq, c.at, c.from_days, c.to_days, c.reason
    )
}

/// `a`, `a, b` or `a … z` of sorted days.
fn span(days: &[&str]) -> String {
    match days {
        [] => String::new(),
        [d] => d.to_string(),
        [a, b] => format!("{a}, {b}"),
        [a, .., z] => format!("{a} … {z}"),
    }
}

/// Verifies a store against its own `signing.pub`, data files `*.parquet`.
pub fn verify(store: &Path) -> Result<VerifyReport, LedgerError> {
    verify_with(store, &VerifyOptions::default())
}

/// Verifies a store against a public key pinned outside it.
pub fn verify_with_public_key(store: &Path, hex_key: &str) -> Result<VerifyReport, LedgerError> {
    verify_with(
        store,
        &VerifyOptions {
            public_key: Some(hex_key.to_string()),
            ..VerifyOptions::default()
        },
    )
}

/// Verifies a store and that its ledger reaches `head`, recorded outside it.
pub fn verify_against(store: &Path, head: &Head) -> Result<VerifyReport, LedgerError> {
    verify_with(
        store,
        &VerifyOptions {
            head: Some(head.clone()),
            ..VerifyOptions::default()
        },
    )
}

struct Entry {
    line: usize,
    link: Link,
    hash: String,
    sig_ok: bool,
}

/// The store as the chain says: live files (each with its commit link, or the live view of a
/// compaction link), files removed by retention or replaced by compaction, files in quarantine.
#[derive(Default)]
struct ChainState<'a> {
    live: BTreeMap<&'a str, Cow<'a, Link>>,
    /// Path → the retention link's seq and the hash it removed.
    removed: HashMap<&'a str, (u64, &'a str)>,
    /// Path → the compaction link's seq and the hash it replaced.
    replaced: HashMap<&'a str, (u64, &'a str)>,
    /// Quarantine path → (the entry, the quarantine link's seq).
    quarantined: BTreeMap<&'a str, (&'a Quarantined, u64)>,
    commits: usize,
    retentions: usize,
    quarantines: usize,
    compactions: usize,
    removed_by_retention: usize,
    replaced_by_compaction: usize,
    floor: Option<u32>,
    retention_log: Vec<RetentionEntry>,
    floor_changes: Vec<FloorChange>,
}

/// Verifies a store. `Err` only when verification cannot run (the key to check with is
/// unusable, or the store cannot be read); everything wrong with the store is a [`Problem`].
pub fn verify_with(store: &Path, opts: &VerifyOptions) -> Result<VerifyReport, LedgerError> {
    let mut problems = Vec::new();
    let key = verifying_key(store, opts, &mut problems)?;
    if store.join(LEDGER_DIR).join(LEGACY_SECRET_KEY_FILE).exists() {
        problems.push(Problem::SecretKeyInStore);
    }
    let entries = read_entries(store, &key, &mut problems)?;
    let by_seq = index_by_seq(&entries, &mut problems);
    let head = check_chain(&entries, &by_seq, &mut problems);
    let anchors_checked = check_external(opts, &entries, &by_seq, &head, &key, &mut problems)?;
    let state = chain_state(&entries, &by_seq, &mut problems);
    let (files_checked, bytes_checked) = check_files(store, &state.live, &mut problems);
    check_quarantined(store, &state.quarantined, &mut problems);
    let kept = check_unnamed(store, opts, &state, &mut problems)?;
    Ok(VerifyReport {
        kept,
        links: entries.len(),
        commits: state.commits,
        retentions: state.retentions,
        quarantines: state.quarantines,
        compactions: state.compactions,
        files_checked,
        bytes_checked,
        removed_by_retention: state.removed_by_retention,
        files_quarantined: state.quarantined.len(),
        replaced_by_compaction: state.replaced_by_compaction,
        head,
        floor_days: state.floor.unwrap_or(DEFAULT_RETENTION_FLOOR_DAYS),
        retention_log: state.retention_log,
        floor_changes: state.floor_changes,
        anchors_checked,
        problems,
    })
}

/// What was recorded outside the store: a head the ledger must reach, anchors it must continue
/// (returns how many anchors were checked, `None` without an anchor file).
fn check_external(
    opts: &VerifyOptions,
    entries: &[Entry],
    by_seq: &BTreeMap<u64, usize>,
    head: &Head,
    key: &VerifyingKey,
    problems: &mut Vec<Problem>,
) -> Result<Option<usize>, LedgerError> {
    if let Some(want) = &opts.head {
        if want.seq > head.seq {
            problems.push(Problem::LedgerTruncated {
                head_seq: want.seq,
                last_seq: head.seq,
            });
        } else if let Some(&idx) = by_seq.get(&want.seq) {
            if !entries[idx].hash.eq_ignore_ascii_case(&want.hash) {
                problems.push(Problem::HeadMismatch { seq: want.seq });
            }
        }
    }
    let read;
    let anchors = match (&opts.anchor_lines, &opts.anchors) {
        (Some(lines), _) => lines,
        (None, Some(path)) => {
            read = read_anchors(path)?;
            &read
        }
        (None, None) => return Ok(None),
    };
    let hashes = by_seq
        .iter()
        .map(|(&seq, &idx)| (seq, entries[idx].hash.as_str()))
        .collect();
    Ok(Some(check_anchors(anchors, key, &hashes, head, problems)))
}

/// The key to verify with: the pinned one (checked against `signing.pub`), else `signing.pub`.
fn verifying_key(
    store: &Path,
    opts: &VerifyOptions,
    problems: &mut Vec<Problem>,
) -> Result<VerifyingKey, LedgerError> {
    let Some(pinned) = &opts.public_key else {
        return read_public_key(store);
    };
    let key = parse_public_key(pinned).map_err(|reason| LedgerError::BadKey {
        path: PathBuf::from("<pinned key>"),
        reason,
    })?;
    match read_public_key(store) {
        Ok(found) if found == key => {}
        Ok(found) => problems.push(Problem::PublicKeyMismatch {
            found: Some(trailwatch_model::hex::encode(found.as_bytes())),
        }),
        Err(_) => problems.push(Problem::PublicKeyMismatch { found: None }),
    }
    Ok(key)
}

/// The ledger's complete lines that parse as links, their signatures checked.
fn read_entries(
    store: &Path,
    key: &VerifyingKey,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Entry>, LedgerError> {
    let ledger_path = store.join(LEDGER_DIR).join(LEDGER_FILE);
    let raw = if ledger_path.exists() {
        read_raw(&ledger_path)?
    } else {
        problems.push(Problem::LedgerMissing);
        crate::ledger::RawLedger {
            lines: Vec::new(),
            torn: None,
        }
    };
    if let Some(TornTail { offset, bytes }) = raw.torn {
        problems.push(Problem::TornTail { offset, bytes });
    }
    let mut entries = Vec::with_capacity(raw.lines.len());
    for (i, (_, line)) in raw.lines.iter().enumerate() {
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(Link::parse);
        match parsed {
            Ok(link) => {
                let sig_ok = link.signature_ok(key);
                if !sig_ok {
                    problems.push(Problem::BadSignature {
                        seq: link.seq,
                        line: i + 1,
                    });
                }
                entries.push(Entry {
                    line: i + 1,
                    link,
                    hash: line_hash(line),
                    sig_ok,
                });
            }
            Err(reason) => problems.push(Problem::Unparsable {
                line: i + 1,
                reason,
            }),
        }
    }
    Ok(entries)
}

/// File order, duplicates, and one link per seq (a validly signed one when there is one).
fn index_by_seq(entries: &[Entry], problems: &mut Vec<Problem>) -> BTreeMap<u64, usize> {
    let mut by_seq: BTreeMap<u64, usize> = BTreeMap::new();
    let mut max_seq = 0u64;
    for (idx, e) in entries.iter().enumerate() {
        let seq = e.link.seq;
        if let Some(&first) = by_seq.get(&seq) {
            if entries[first].hash == e.hash {
                problems.push(Problem::DuplicateLink { seq, line: e.line });
            } else {
                problems.push(Problem::ConflictingSeq { seq, line: e.line });
                if !entries[first].sig_ok && e.sig_ok {
                    by_seq.insert(seq, idx);
                }
            }
            continue;
        }
        if seq < max_seq {
            problems.push(Problem::Reordered {
                seq,
                line: e.line,
                after: max_seq,
            });
        }
        max_seq = max_seq.max(seq);
        by_seq.insert(seq, idx);
    }
    by_seq
}

/// The chain, in seq order; returns its head.
fn check_chain(
    entries: &[Entry],
    by_seq: &BTreeMap<u64, usize>,
    problems: &mut Vec<Problem>,
) -> Head {
    let mut prev_seq = 0u64;
    let mut prev_hash = GENESIS.to_string();
    let mut prev_sig_ok = true;
    for (&seq, &idx) in by_seq {
        let e = &entries[idx];
        if seq != prev_seq + 1 {
            problems.push(Problem::LinksRemoved {
                after: prev_seq,
                next: seq,
            });
        } else if e.link.prev != prev_hash && prev_sig_ok {
            // After a link with a bad signature, the broken prev is that edit's echo.
            problems.push(Problem::BrokenPrev { seq });
        }
        prev_seq = seq;
        prev_hash.clone_from(&e.hash);
        prev_sig_ok = e.sig_ok;
    }
    Head {
        seq: prev_seq,
        hash: prev_hash,
    }
}

/// Replays the links in seq order: which files are live, removed, quarantined.
fn chain_state<'a>(
    entries: &'a [Entry],
    by_seq: &BTreeMap<u64, usize>,
    problems: &mut Vec<Problem>,
) -> ChainState<'a> {
    let mut s = ChainState::default();
    for &idx in by_seq.values() {
        let link = &entries[idx].link;
        match link.kind {
            LinkKind::Commit => {
                s.commits += 1;
                if let Some(path) = link.path.as_deref() {
                    s.removed.remove(path);
                    s.replaced.remove(path);
                    s.live.insert(path, Cow::Borrowed(link));
                }
            }
            LinkKind::Floor => {
                let from_days = s.floor.unwrap_or(DEFAULT_RETENTION_FLOOR_DAYS);
                let to_days = link.floor_days.unwrap_or(from_days);
                s.floor = Some(to_days);
                s.floor_changes.push(FloorChange {
                    seq: link.seq,
                    at: link.at.clone(),
                    from_days,
                    to_days,
                    reason: link.reason.clone().unwrap_or_default(),
                });
            }
            LinkKind::Retention => {
                s.retentions += 1;
                let entry = retention_entry(link, s.floor.unwrap_or(DEFAULT_RETENTION_FLOOR_DAYS));
                if !entry.broke.is_empty() {
                    problems.push(Problem::FloorBroken {
                        seq: link.seq,
                        at: link.at.clone(),
                        floor_days: entry.floor_days,
                        days: entry.broke.clone(),
                    });
                }
                s.retention_log.push(entry);
                for r in &link.removed {
                    match s.live.get(r.path.as_str()) {
                        Some(c) if c.sha256.as_deref() == Some(r.sha256.as_str()) => {
                            s.live.remove(r.path.as_str());
                            s.removed.insert(&r.path, (link.seq, &r.sha256));
                            s.removed_by_retention += 1;
                        }
                        _ => problems.push(Problem::RetentionMismatch {
                            seq: link.seq,
                            path: r.path.clone(),
                        }),
                    }
                }
            }
            LinkKind::Quarantine => {
                s.quarantines += 1;
                for q in &link.quarantined {
                    if s.live.contains_key(q.from.as_str()) || s.live.contains_key(q.to.as_str()) {
                        problems.push(Problem::QuarantineOfLive {
                            seq: link.seq,
                            path: q.from.clone(),
                        });
                    }
                    s.quarantined.insert(&q.to, (q, link.seq));
                }
            }
            LinkKind::Compaction => apply_compaction(&mut s, link, problems),
        }
    }
    s
}

/// A retention link as verify lists it: a day removed broke the floor when it was less than
/// `floor_days` old at the link's time (a time that does not parse proves nothing: every day).
fn retention_entry(link: &Link, floor_days: u32) -> RetentionEntry {
    let mut days: BTreeMap<String, usize> = BTreeMap::new();
    for r in &link.removed {
        *days.entry(r.day.clone()).or_default() += 1;
    }
    let kept_from = chrono::DateTime::parse_from_rfc3339(&link.at)
        .ok()
        .map(|t| t.date_naive() - chrono::Days::new(u64::from(floor_days)));
    let broke = days
        .keys()
        .filter(|d| {
            let day = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
            match (day, kept_from) {
                (Some(day), Some(from)) => day >= from,
                _ => true,
            }
        })
        .cloned()
        .collect();
    RetentionEntry {
        seq: link.seq,
        at: link.at.clone(),
        reason: link.reason.clone().unwrap_or_default(),
        days,
        floor_days,
        broke,
    }
}

/// A compaction link: its replaced files must be live with the hashes it names, its written
/// files must not be, and the rows and id digests must add up; then the written files are live
/// in place of the replaced ones.
fn apply_compaction<'a>(s: &mut ChainState<'a>, link: &'a Link, problems: &mut Vec<Problem>) {
    s.compactions += 1;
    let seq = link.seq;
    let mut replaced_records = 0u64;
    for r in &link.replaced {
        match s.live.get(r.path.as_str()) {
            Some(c) if c.sha256.as_deref() == Some(r.sha256.as_str()) => {
                replaced_records += c.records.unwrap_or(0);
                s.live.remove(r.path.as_str());
                s.replaced.insert(&r.path, (seq, &r.sha256));
                s.replaced_by_compaction += 1;
            }
            _ => problems.push(Problem::CompactionMismatch {
                seq,
                path: r.path.clone(),
            }),
        }
    }
    if let Err(reason) = link.check_compaction_sums(replaced_records) {
        problems.push(Problem::CompactionUnbalanced { seq, reason });
    }
    for w in &link.written {
        if s.live.contains_key(w.path.as_str()) {
            problems.push(Problem::CompactionOverLive {
                seq,
                path: w.path.clone(),
            });
            continue;
        }
        s.removed.remove(w.path.as_str());
        s.replaced.remove(w.path.as_str());
        s.live.insert(&w.path, Cow::Owned(link.written_view(w)));
    }
}

/// Each file in quarantine is where its link put it, with the size and hash it had.
fn check_quarantined(
    store: &Path,
    quarantined: &BTreeMap<&str, (&Quarantined, u64)>,
    problems: &mut Vec<Problem>,
) {
    for (&path, &(q, seq)) in quarantined {
        let (path, abs) = (path.to_string(), store.join(path));
        match fs::metadata(&abs) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(Problem::QuarantinedMissing { path, seq });
            }
            Ok(m) if m.len() == q.bytes => match hash_file(&abs) {
                Ok(d) if d.sha256_hex() == q.sha256 => {}
                _ => problems.push(Problem::QuarantinedModified { path, seq }),
            },
            _ => problems.push(Problem::QuarantinedModified { path, seq }),
        }
    }
}

/// Data files on disk that no link names: planted, or back after retention removed them (or
/// kept by write-once storage, returned when that is allowed).
fn check_unnamed(
    store: &Path,
    opts: &VerifyOptions,
    state: &ChainState<'_>,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Kept>, LedgerError> {
    let mut on_disk = BTreeSet::new();
    let pattern = opts.data_pattern.as_bytes();
    walk(store, store, &mut |rel| {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let subject = if pattern.contains(&b'/') { rel } else { name };
        if glob_match(pattern, subject.as_bytes()) {
            on_disk.insert(rel.to_string());
        }
    })?;
    let mut kept = Vec::new();
    for path in on_disk {
        if state.live.contains_key(path.as_str()) || state.quarantined.contains_key(path.as_str()) {
            continue;
        }
        let superseded = match (
            state.removed.get(path.as_str()),
            state.replaced.get(path.as_str()),
        ) {
            (Some(&(seq, sha)), _) => Some((seq, sha, "retention")),
            (None, Some(&(seq, sha))) => Some((seq, sha, "compaction")),
            (None, None) => None,
        };
        let Some((seq, sha, by)) = superseded else {
            problems.push(Problem::FileInserted { path });
            continue;
        };
        let same = || {
            hash_file(&store.join(&path)).is_ok_and(|d| d.sha256_hex().eq_ignore_ascii_case(sha))
        };
        if opts.superseded_may_remain && same() {
            kept.push(Kept { path, seq, by });
        } else if by == "retention" {
            problems.push(Problem::RemovedButPresent { path, seq });
        } else {
            problems.push(Problem::ReplacedButPresent { path, seq });
        }
    }
    Ok(kept)
}

/// Checks each live file: present, same size, then same SHA-256 (hashed on every core).
fn check_files(
    store: &Path,
    live: &BTreeMap<&str, Cow<'_, Link>>,
    problems: &mut Vec<Problem>,
) -> (usize, u64) {
    let mut to_hash: Vec<(&str, &Link)> = Vec::new();
    for (&path, link) in live {
        let link: &Link = link;
        let seq = link.seq;
        let expected = link.bytes.unwrap_or(0);
        match fs::metadata(store.join(path)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(Problem::FileMissing {
                    path: path.to_string(),
                    seq,
                });
            }
            Err(e) => problems.push(Problem::FileUnreadable {
                path: path.to_string(),
                seq,
                error: e.to_string(),
            }),
            Ok(m) if m.len() < expected => problems.push(Problem::FileTruncated {
                path: path.to_string(),
                seq,
                expected,
                actual: m.len(),
            }),
            Ok(m) if m.len() > expected => problems.push(Problem::FileExtended {
                path: path.to_string(),
                seq,
                expected,
                actual: m.len(),
            }),
            Ok(_) => to_hash.push((path, link)),
        }
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = to_hash.len().div_ceil(threads).max(1);
    let results: Vec<Vec<Option<Problem>>> = std::thread::scope(|s| {
        let handles: Vec<_> = to_hash
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || part.iter().map(|&(p, l)| check_hash(store, p, l)).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Some(Problem::FileUnreadable {
                        path: "?".into(),
                        seq: 0,
                        error: "hashing thread panicked".into(),
                    })]
                })
            })
            .collect()
    });
    problems.extend(results.into_iter().flatten().flatten());
    let bytes = to_hash.iter().map(|(_, l)| l.bytes.unwrap_or(0)).sum();
    (to_hash.len(), bytes)
}

fn check_hash(store: &Path, path: &str, link: &Link) -> Option<Problem> {
    match hash_file(&store.join(path)) {
        Ok(d) if Some(d.sha256_hex().as_str()) == link.sha256.as_deref() => None,
        Ok(_) => Some(Problem::FileModified {
            path: path.to_string(),
            seq: link.seq,
        }),
        Err(e) => Some(Problem::FileUnreadable {
            path: path.to_string(),
            seq: link.seq,
            error: e.to_string(),
        }),
    }
}

/// Calls `found` with the `/`-separated relative path of every file under `dir`, skipping the
/// ledger's own folder.
fn walk(store: &Path, dir: &Path, found: &mut dyn FnMut(&str)) -> Result<(), LedgerError> {
    let entries = fs::read_dir(dir).map_err(io_err(dir))?;
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_err(&path))?;
        let Ok(rel) = path.strip_prefix(store) else {
            continue;
        };
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = rel.join("/");
        if file_type.is_dir() {
            if rel != LEDGER_DIR {
                walk(store, &path, found)?;
            }
        } else {
            found(&rel);
        }
    }
    Ok(())
}

/// Glob with `*` (any run of bytes) and `?` (one byte).
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod glob_tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"*.parquet", b"a.parquet"));
        assert!(glob_match(b"*.parquet", b".parquet"));
        assert!(!glob_match(b"*.parquet", b"a.parquet.tmp"));
        assert!(glob_match(b"part-?.p*", b"part-1.parquet"));
        assert!(!glob_match(b"part-?.p*", b"part-12.parquet"));
    }
}
