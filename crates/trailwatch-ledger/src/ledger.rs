//! The ledger files in a store directory and appending to them.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use trailwatch_model::hex;

use crate::anchor::{append_anchor, Anchor};
use crate::link::{
    line_hash, Head, Link, LinkKind, Quarantined, Removed, Replaced, Written,
    DEFAULT_RETENTION_FLOOR_DAYS,
};
use crate::IdDigest;

/// The ledger's folder inside the store directory.
pub const LEDGER_DIR: &str = "_ledger";
/// The chain, one JSON link per line, append-only.
pub const LEDGER_FILE: &str = "ledger.jsonl";
/// Where stores written before the key moved out kept their Ed25519 secret key. Never written
/// now: a store holding it is refused by its writer and failed by verify until the key is moved
/// out (whoever can write the store could re-sign it with that key).
pub const LEGACY_SECRET_KEY_FILE: &str = "signing.key";
/// The Ed25519 public key (hex of 32 bytes).
pub const PUBLIC_KEY_FILE: &str = "signing.pub";

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: a ledger already exists there", .0.display())]
    AlreadyExists(PathBuf),
    #[error("{}: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("{}: the signing key given is not this store's key (not the one of signing.pub)", .0.display())]
    KeyMismatch(PathBuf),
    #[error("{}: opened without its signing key: it can be read and verified, not appended to", .0.display())]
    NoSigningKey(PathBuf),
    #[error("ledger line {line}: {reason} (tampering or corruption; run verify)")]
    Corrupt { line: usize, reason: String },
    #[error(
        "the ledger ends in a torn write of {bytes} bytes at offset {offset}; repair it first"
    )]
    TornTail { offset: u64, bytes: u64 },
    #[error("bad store path {0:?}: must be relative, with `/` separators, no `.`/`..`")]
    BadPath(String),
    #[error("{0}: not a live file of the store (never committed, or already removed)")]
    NotLive(String),
    #[error("a retention link must remove at least one file")]
    NothingRemoved,
    #[error("a quarantine link must name at least one file")]
    NothingQuarantined,
    #[error("{0}: a live file of the store cannot be quarantined")]
    QuarantineLive(String),
    #[error("{0:?}: not a hex SHA-256")]
    BadHash(String),
    #[error("a compaction link must replace and write at least one file")]
    NothingCompacted,
    #[error("{0}: a compaction cannot write over a live file or one it replaces")]
    CompactionOverLive(String),
    #[error("compaction does not add up: {0}")]
    CompactionUnbalanced(String),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LedgerError + '_ {
    move |source| LedgerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A crash's leftover at the end of the ledger: bytes after the last newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TornTail {
    /// Where the partial line starts (= the length the ledger is repaired to).
    pub offset: u64,
    /// How many bytes the partial line has.
    pub bytes: u64,
}

/// The SHA-256 and length of a file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    pub sha256: [u8; 32],
    pub bytes: u64,
}

impl FileDigest {
    pub fn sha256_hex(&self) -> String {
        hex::encode(&self.sha256)
    }
}

/// Streams a file through SHA-256 in 64 KiB reads.
pub fn hash_file(path: &Path) -> Result<FileDigest, LedgerError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(path)(e)),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileDigest {
        sha256: hasher.finalize().into(),
        bytes,
    })
}

/// The ledger's lines as read from disk: complete lines with their byte offsets, and a torn tail.
pub(crate) struct RawLedger {
    pub lines: Vec<(u64, Vec<u8>)>,
    pub torn: Option<TornTail>,
}

pub(crate) fn read_raw(path: &Path) -> Result<RawLedger, LedgerError> {
    let data = fs::read(path).map_err(io_err(path))?;
    let mut lines = Vec::new();
    let mut start = 0usize;
    while let Some(nl) = data[start..].iter().position(|&b| b == b'\n') {
        lines.push((start as u64, data[start..start + nl].to_vec()));
        start += nl + 1;
    }
    let torn = (start < data.len()).then(|| TornTail {
        offset: start as u64,
        bytes: (data.len() - start) as u64,
    });
    Ok(RawLedger { lines, torn })
}

/// Reads the store's public key, `_ledger/signing.pub`.
pub fn read_public_key(store: &Path) -> Result<VerifyingKey, LedgerError> {
    let path = store.join(LEDGER_DIR).join(PUBLIC_KEY_FILE);
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    parse_public_key(text.trim()).map_err(|reason| LedgerError::BadKey { path, reason })
}

/// Parses a hex Ed25519 public key.
pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, String> {
    let bytes = hex::decode_array::<32>(hex_key.trim()).ok_or("not 64 hex digits")?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| e.to_string())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), LedgerError> {
    // Directories cannot be opened for fsync on every platform; where they can, a failure is real.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn write_new(path: &Path, contents: &[u8]) -> Result<(), LedgerError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_err(path))?;
    file.write_all(contents).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

/// Whether a store-relative path is non-empty, relative, `/`-separated, no `.`, `..` or empty
/// parts.
fn clean_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Checks a path a link names as a file of the store: clean, and not in the ledger's folder.
fn check_path(path: &str) -> Result<(), LedgerError> {
    if clean_path(path) && !path.starts_with(LEDGER_DIR) {
        Ok(())
    } else {
        Err(LedgerError::BadPath(path.to_string()))
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An open ledger: with the store's signing key ([`Ledger::open_signing`]) it appends, without
/// it ([`Ledger::open`]) it is read only.
pub struct Ledger {
    store: PathBuf,
    /// The key of `signing.pub`.
    public: VerifyingKey,
    /// The secret key, held outside the store; `None`: appends fail.
    key: Option<SigningKey>,
    head: Head,
    /// Live files: path → its commit link.
    live: HashMap<String, Link>,
    /// The last link of the chain.
    last: Option<Link>,
    torn: Option<TornTail>,
    /// The retention floor the last floor link set (none: the default).
    floor: Option<u32>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("store", &self.store)
            .field("public_key", &self.public_key_hex())
            .field("signing", &self.key.is_some())
            .field("head", &self.head)
            .field("torn", &self.torn)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Creates the ledger of a new store in `store` (created if needed), signed by `key`: its
    /// public key (`signing.pub`) and an empty chain, every file and directory fsynced. The
    /// secret key is the caller's to keep, outside the store ([`crate::write_key_file`]).
    pub fn create(store: &Path, key: SigningKey) -> Result<Ledger, LedgerError> {
        let dir = store.join(LEDGER_DIR);
        if dir.join(LEDGER_FILE).exists() {
            return Err(LedgerError::AlreadyExists(store.to_path_buf()));
        }
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let public = format!("{}\n", hex::encode(key.verifying_key().as_bytes()));
        write_new(&dir.join(PUBLIC_KEY_FILE), public.as_bytes())?;
        write_new(&dir.join(LEDGER_FILE), b"")?;
        sync_dir(&dir)?;
        sync_dir(store)?;
        Ok(Ledger {
            store: store.to_path_buf(),
            public: key.verifying_key(),
            key: Some(key),
            head: Head::empty(),
            live: HashMap::new(),
            last: None,
            torn: None,
            floor: None,
        })
    }

    /// Opens the ledger of an existing store to read it (no signing key: appends fail). A torn
    /// last line (a crash mid-append) does not fail the open: see [`Ledger::torn_tail`] and
    /// [`Ledger::repair`]. A complete line that does not parse does: that is not a crash but
    /// tampering or corruption.
    pub fn open(store: &Path) -> Result<Ledger, LedgerError> {
        let dir = store.join(LEDGER_DIR);
        let public = read_public_key(store)?;
        let raw = read_raw(&dir.join(LEDGER_FILE))?;
        let mut head = Head::empty();
        let mut live = HashMap::new();
        let mut floor = None;
        for (i, (_, line)) in raw.lines.iter().enumerate() {
            let link = parse_line(i, line)?;
            head = Head {
                seq: link.seq,
                hash: line_hash(line),
            };
            floor = link.floor_days.or(floor);
            apply(&mut live, link);
        }
        // The lines all parsed above.
        let last = raw
            .lines
            .last()
            .and_then(|(_, line)| Link::parse(std::str::from_utf8(line).ok()?).ok());
        Ok(Ledger {
            store: store.to_path_buf(),
            public,
            key: None,
            head,
            live,
            last,
            torn: raw.torn,
            floor,
        })
    }

    /// Opens the ledger of an existing store to append to it, signed by `key`, which must be
    /// the store's (the key of `signing.pub`).
    pub fn open_signing(store: &Path, key: SigningKey) -> Result<Ledger, LedgerError> {
        let mut ledger = Self::open(store)?;
        if key.verifying_key() != ledger.public {
            return Err(LedgerError::KeyMismatch(store.join(LEDGER_DIR)));
        }
        ledger.key = Some(key);
        Ok(ledger)
    }

    /// Whether appends can be signed (the ledger was opened with its key).
    pub fn can_sign(&self) -> bool {
        self.key.is_some()
    }

    /// The store's public key.
    pub fn public_key(&self) -> VerifyingKey {
        self.public
    }

    /// The store directory.
    pub fn store(&self) -> &Path {
        &self.store
    }

    /// The hex Ed25519 public key (the contents of `signing.pub`).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.public.as_bytes())
    }

    /// The last link's seq and line hash; record it elsewhere for [`crate::verify_against`].
    pub fn head(&self) -> Head {
        self.head.clone()
    }

    /// The retention floor in force, in days: the last floor link's, else
    /// [`DEFAULT_RETENTION_FLOOR_DAYS`].
    pub fn retention_floor(&self) -> u32 {
        self.floor.unwrap_or(DEFAULT_RETENTION_FLOOR_DAYS)
    }

    /// The head, signed now with the store's key: an [`Anchor`] to publish outside the store.
    pub fn sign_head(&self) -> Result<Anchor, LedgerError> {
        match &self.key {
            Some(key) => Ok(Anchor::sign(&self.head, key)),
            None => Err(LedgerError::NoSigningKey(self.store.clone())),
        }
    }

    /// Signs the head and appends it to the anchor file at `path` (see [`append_anchor`]).
    pub fn publish_head(&self, path: &Path) -> Result<Anchor, LedgerError> {
        let anchor = self.sign_head()?;
        append_anchor(path, &anchor)?;
        Ok(anchor)
    }

    /// Appends a floor link: retention may not keep less than `days` from now on. Lowering the
    /// floor, like every append, needs the store's key; the link records it (and `reason`).
    pub fn append_floor(&mut self, days: u32, reason: &str) -> Result<Link, LedgerError> {
        let link = Link {
            floor_days: Some(days),
            ..self.next_link(LinkKind::Floor, reason)
        };
        self.append(link)
    }

    /// The partial last line a crash left, if any.
    pub fn torn_tail(&self) -> Option<TornTail> {
        self.torn
    }

    /// The bytes of the torn last line, if there is one (to keep them before a repair).
    pub fn torn_tail_bytes(&self) -> Result<Option<Vec<u8>>, LedgerError> {
        let Some(torn) = self.torn else {
            return Ok(None);
        };
        let path = self.ledger_path();
        let data = fs::read(&path).map_err(io_err(&path))?;
        let start = usize::try_from(torn.offset).unwrap_or(usize::MAX);
        Ok(Some(data.get(start..).unwrap_or_default().to_vec()))
    }

    /// Cuts a torn last line off (fsynced); returns how many bytes were removed (0 if none).
    pub fn repair(&mut self) -> Result<u64, LedgerError> {
        let Some(torn) = self.torn else {
            return Ok(0);
        };
        let path = self.ledger_path();
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.set_len(torn.offset).map_err(io_err(&path))?;
        file.sync_all().map_err(io_err(&path))?;
        self.torn = None;
        Ok(torn.bytes)
    }

    /// The commit link of a live file (committed and not removed by retention).
    pub fn live(&self, path: &str) -> Option<&Link> {
        self.live.get(path)
    }

    /// Every live file's commit link, in no particular order.
    pub fn live_files(&self) -> impl Iterator<Item = &Link> {
        self.live.values()
    }

    /// The chain's last link (`None` for an empty ledger).
    pub fn last_link(&self) -> Option<&Link> {
        self.last.as_ref()
    }

    /// Appends a commit link for the data file at `path` (relative to the store, `/`-separated)
    /// whose bytes hash to `sha256`. Durable when it returns.
    pub fn append_commit(
        &mut self,
        path: &str,
        sha256: &[u8; 32],
        bytes: u64,
        records: u64,
        first_time: DateTime<Utc>,
        last_time: DateTime<Utc>,
    ) -> Result<Link, LedgerError> {
        check_path(path)?;
        let link = Link {
            path: Some(path.to_string()),
            sha256: Some(hex::encode(sha256)),
            bytes: Some(bytes),
            records: Some(records),
            first_time: Some(rfc3339(first_time)),
            last_time: Some(rfc3339(last_time)),
            reason: None,
            ..self.next_link(LinkKind::Commit, "")
        };
        self.append(link)
    }

    /// The next link of `kind` after the head, with `reason` and no file fields (the caller
    /// sets the ones its kind carries); unsigned until appended.
    fn next_link(&self, kind: LinkKind, reason: &str) -> Link {
        Link {
            seq: self.head.seq + 1,
            kind,
            path: None,
            sha256: None,
            bytes: None,
            records: None,
            ids_digest: None,
            first_time: None,
            last_time: None,
            removed: Vec::new(),
            quarantined: Vec::new(),
            replaced: Vec::new(),
            written: Vec::new(),
            floor_days: None,
            reason: Some(reason.to_string()),
            prev: self.head.hash.clone(),
            at: rfc3339(Utc::now()),
            sig: String::new(),
        }
    }

    /// Appends a retention link naming files deleted by retention and why (e.g. `keep 400d`).
    /// Each must be live, with the hash it was committed with. Write this link before deleting
    /// the files: a crash in between leaves files the ledger says are gone, which verify reports,
    /// rather than deletions it cannot tell from tampering.
    pub fn append_retention(
        &mut self,
        removed: Vec<Removed>,
        reason: &str,
    ) -> Result<Link, LedgerError> {
        if removed.is_empty() {
            return Err(LedgerError::NothingRemoved);
        }
        for r in &removed {
            match self.live.get(&r.path) {
                Some(l) if l.sha256.as_deref() == Some(r.sha256.as_str()) => {}
                _ => return Err(LedgerError::NotLive(r.path.clone())),
            }
        }
        let link = Link {
            removed,
            ..self.next_link(LinkKind::Retention, reason)
        };
        self.append(link)
    }

    /// Appends a quarantine link: files the store's writer moved aside (each with where it was,
    /// where it is now, its hash and size) and why. None may be a live file, before or after;
    /// `from` may be the ledger file itself (a torn line kept). Write it after the moves: a
    /// crash before it leaves files the writer's next run finds in their fixed places again.
    pub fn append_quarantine(
        &mut self,
        moved: Vec<Quarantined>,
        reason: &str,
    ) -> Result<Link, LedgerError> {
        if moved.is_empty() {
            return Err(LedgerError::NothingQuarantined);
        }
        for q in &moved {
            if !clean_path(&q.from) {
                return Err(LedgerError::BadPath(q.from.clone()));
            }
            check_path(&q.to)?;
            if hex::decode_array::<32>(&q.sha256).is_none() {
                return Err(LedgerError::BadHash(q.sha256.clone()));
            }
            for p in [&q.from, &q.to] {
                if self.live.contains_key(p) {
                    return Err(LedgerError::QuarantineLive(p.clone()));
                }
            }
        }
        let link = Link {
            quarantined: moved,
            ..self.next_link(LinkKind::Quarantine, reason)
        };
        self.append(link)
    }

    /// Appends a compaction link: the writer replaced the live files `replaced` (each with the
    /// hash it is live with) by the files `written` (already in place), holding the same rows:
    /// as many as the replaced files were committed with, whose event ids have the digest
    /// `ids_digest` (computed from the replaced files) and add up, file by file, to it. Write
    /// it after the new files are in place and before the replaced ones are deleted: until it
    /// is written the replaced files are the live ones, after it the written ones.
    pub fn append_compaction(
        &mut self,
        replaced: Vec<Replaced>,
        written: Vec<Written>,
        ids_digest: IdDigest,
        reason: &str,
    ) -> Result<Link, LedgerError> {
        if replaced.is_empty() || written.is_empty() {
            return Err(LedgerError::NothingCompacted);
        }
        let mut replaced_records = 0u64;
        for r in &replaced {
            match self.live.get(&r.path) {
                Some(l) if l.sha256.as_deref() == Some(r.sha256.as_str()) => {
                    replaced_records += l.records.unwrap_or(0);
                }
                _ => return Err(LedgerError::NotLive(r.path.clone())),
            }
        }
        let mut seen = std::collections::HashSet::new();
        for w in &written {
            check_path(&w.path)?;
            if hex::decode_array::<32>(&w.sha256).is_none() {
                return Err(LedgerError::BadHash(w.sha256.clone()));
            }
            let over = self.live.contains_key(&w.path) || replaced.iter().any(|r| r.path == w.path);
            if over || !seen.insert(w.path.as_str()) {
                return Err(LedgerError::CompactionOverLive(w.path.clone()));
            }
        }
        let link = Link {
            records: Some(replaced_records),
            ids_digest: Some(ids_digest.to_string()),
            replaced,
            written,
            ..self.next_link(LinkKind::Compaction, reason)
        };
        link.check_compaction_sums(replaced_records)
            .map_err(LedgerError::CompactionUnbalanced)?;
        self.append(link)
    }

    /// The link with seq `seq`, read from the ledger file again (the ledger keeps only the live
    /// files and the last link in memory); `None` when there is none.
    pub fn read_link(&self, seq: u64) -> Result<Option<Link>, LedgerError> {
        let raw = read_raw(&self.ledger_path())?;
        for (i, (_, line)) in raw.lines.iter().enumerate() {
            let link = parse_line(i, line)?;
            if link.seq == seq {
                return Ok(Some(link));
            }
        }
        Ok(None)
    }

    fn ledger_path(&self) -> PathBuf {
        self.store.join(LEDGER_DIR).join(LEDGER_FILE)
    }

    fn append(&mut self, mut link: Link) -> Result<Link, LedgerError> {
        if let Some(t) = self.torn {
            return Err(LedgerError::TornTail {
                offset: t.offset,
                bytes: t.bytes,
            });
        }
        let Some(key) = &self.key else {
            return Err(LedgerError::NoSigningKey(self.store.clone()));
        };
        link.sign(key);
        let line = link.to_line();
        let path = self.ledger_path();
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        file.write_all(&buf).map_err(io_err(&path))?;
        file.sync_data().map_err(io_err(&path))?;
        self.head = Head {
            seq: link.seq,
            hash: line_hash(line.as_bytes()),
        };
        self.floor = link.floor_days.or(self.floor);
        apply(&mut self.live, link.clone());
        self.last = Some(link.clone());
        Ok(link)
    }
}

/// Parses the complete line at index `i` of the ledger; one that is not a link is corruption.
fn parse_line(i: usize, line: &[u8]) -> Result<Link, LedgerError> {
    let corrupt = |reason: String| LedgerError::Corrupt {
        line: i + 1,
        reason,
    };
    let text = std::str::from_utf8(line).map_err(|e| corrupt(e.to_string()))?;
    Link::parse(text).map_err(corrupt)
}

/// Applies one link to the live-file map (a quarantine changes no live file; a compaction
/// replaces files by the live views of the ones it wrote).
fn apply(live: &mut HashMap<String, Link>, link: Link) {
    match link.kind {
        LinkKind::Commit => {
            if let Some(p) = link.path.clone() {
                live.insert(p, link);
            }
        }
        LinkKind::Retention => {
            for r in &link.removed {
                live.remove(&r.path);
            }
        }
        LinkKind::Quarantine | LinkKind::Floor => {}
        LinkKind::Compaction => {
            for r in &link.replaced {
                live.remove(&r.path);
            }
            for w in &link.written {
                live.insert(w.path.clone(), link.written_view(w));
            }
        }
    }
}
