//! One link of the chain: its JSON line, its canonical signed form and its hash.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trailwatch_model::hex;

use crate::IdDigest;

/// The `prev` of the first link: 64 zeros (no link before it).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Signatures are over this prefix followed by the link's canonical JSON without `sig`, so that
/// a signature made by the same key for anything else never verifies as a link.
const DOMAIN: &[u8] = b"trailwatch-ledger v1\n";

/// What a link records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// A data file was committed to the store.
    Commit,
    /// Retention deleted data files.
    Retention,
    /// The store's writer moved what an interrupted write left into quarantine (not deleted).
    Quarantine,
    /// The store's writer replaced files by one or a few holding the same rows (compaction).
    Compaction,
    /// The store's retention floor was set: retention may not keep less than `floor_days`.
    Floor,
}

/// The retention floor of a store whose ledger has no floor link: 365 days (PCI DSS
/// requirement 10.5.1 keeps audit trails at least twelve months).
pub const DEFAULT_RETENTION_FLOOR_DAYS: u32 = 365;

/// One file deleted by retention, as named in a retention link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    /// The path, relative to the store directory, with `/` separators.
    pub path: String,
    /// Hex SHA-256 the file had when it was committed.
    pub sha256: String,
    /// The day (partition) or limit it was removed for, e.g. `2024-01-31`.
    pub day: String,
}

/// One file moved into quarantine, as named in a quarantine link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quarantined {
    /// Where it was, relative to the store directory, with `/` separators.
    pub from: String,
    /// Where it is now, relative to the store directory.
    pub to: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    pub bytes: u64,
}

/// One file a compaction replaced, as named in a compaction link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replaced {
    /// The path, relative to the store directory, with `/` separators.
    pub path: String,
    /// Hex SHA-256 the file had (the one it was committed or written with).
    pub sha256: String,
}

/// One file a compaction wrote, as named in a compaction link: what a commit link says of its
/// file, and the [`IdDigest`](crate::IdDigest) of its `event_id` column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Written {
    pub path: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    pub bytes: u64,
    pub records: u64,
    /// RFC 3339 times of its first and last event.
    pub first_time: String,
    pub last_time: String,
    /// Hex [`IdDigest`](crate::IdDigest) of its event ids.
    pub ids_digest: String,
}

/// One line of `_ledger/ledger.jsonl`.
///
/// Commit links carry `path`, `sha256`, `bytes`, `records`, `first_time` and `last_time`;
/// retention links carry `removed` and `reason`; quarantine links `quarantined` and `reason`;
/// compaction links `records` and `ids_digest` (of the rows of the files replaced), `replaced`,
/// `written` and `reason`; floor links `floor_days` and `reason`.
/// Fields are written in declaration order, which makes the serialization canonical; a field
/// left out when empty keeps the lines (and signatures) of ledgers written before it existed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// 1 for the first link, then one more for each.
    pub seq: u64,
    pub kind: LinkKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Hex SHA-256 of the committed file's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// Hex [`IdDigest`](crate::IdDigest) of the event ids of `records` rows (compaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids_digest: Option<String>,
    /// RFC 3339 time of the file's first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_time: Option<String>,
    /// RFC 3339 time of the file's last event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quarantined: Vec<Quarantined>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<Replaced>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<Written>,
    /// The retention floor a floor link sets, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Hex SHA-256 of the previous link's line (without its newline), [`GENESIS`] for the first.
    pub prev: String,
    /// RFC 3339 time the link was appended.
    pub at: String,
    /// Hex Ed25519 signature over the canonical form of every other field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sig: String,
}

impl Link {
    /// Parses one complete line, checking that the fields fit the kind.
    pub fn parse(line: &str) -> Result<Link, String> {
        let link: Link = serde_json::from_str(line).map_err(|e| e.to_string())?;
        link.check_fields()?;
        if link.seq == 0 {
            return Err("seq 0".into());
        }
        Ok(link)
    }

    /// Whether the link carries the fields of its kind and no others.
    fn check_fields(&self) -> Result<(), String> {
        let commit_fields = self.path.is_some()
            && self.sha256.is_some()
            && self.bytes.is_some()
            && self.records.is_some()
            && self.first_time.is_some()
            && self.last_time.is_some();
        let removed = !self.removed.is_empty();
        let quarantined = !self.quarantined.is_empty();
        let compaction = !self.replaced.is_empty() || !self.written.is_empty();
        let other = compaction || self.ids_digest.is_some() || self.floor_days.is_some();
        let file_fields = self.path.is_some() || self.sha256.is_some() || self.bytes.is_some();
        match self.kind {
            LinkKind::Floor
                if file_fields
                    || self.records.is_some()
                    || removed
                    || quarantined
                    || compaction
                    || self.ids_digest.is_some()
                    || self.floor_days.is_none()
                    || self.reason.is_none() =>
            {
                Err("floor link without its days or a reason, or with files".into())
            }
            LinkKind::Floor => Ok(()),
            LinkKind::Commit if !commit_fields || removed || quarantined || other => {
                Err("commit link without its file fields".into())
            }
            LinkKind::Retention
                if self.path.is_some() || self.reason.is_none() || quarantined || other =>
            {
                Err("retention link with a path or without a reason".into())
            }
            LinkKind::Quarantine
                if self.path.is_some()
                    || self.reason.is_none()
                    || removed
                    || !quarantined
                    || other =>
            {
                Err("quarantine link with a path or a removal, or without files or a reason".into())
            }
            LinkKind::Compaction
                if self.path.is_some()
                    || self.sha256.is_some()
                    || removed
                    || quarantined
                    || self.floor_days.is_some()
                    || self.replaced.is_empty()
                    || self.written.is_empty()
                    || self.records.is_none()
                    || self.ids_digest.is_none()
                    || self.reason.is_none() =>
            {
                Err("compaction link without files replaced and written, counts or a reason".into())
            }
            _ => Ok(()),
        }
    }

    /// The live view of a file this compaction link wrote: a link shaped like a commit link
    /// (kind [`LinkKind::Compaction`], this link's seq, the file's path, hash, size, records,
    /// times and id digest). Not a line of the ledger: it has no signature.
    pub(crate) fn written_view(&self, w: &Written) -> Link {
        Link {
            seq: self.seq,
            kind: LinkKind::Compaction,
            path: Some(w.path.clone()),
            sha256: Some(w.sha256.clone()),
            bytes: Some(w.bytes),
            records: Some(w.records),
            ids_digest: Some(w.ids_digest.clone()),
            first_time: Some(w.first_time.clone()),
            last_time: Some(w.last_time.clone()),
            removed: Vec::new(),
            quarantined: Vec::new(),
            replaced: Vec::new(),
            written: Vec::new(),
            floor_days: None,
            reason: self.reason.clone(),
            prev: self.prev.clone(),
            at: self.at.clone(),
            sig: String::new(),
        }
    }

    /// For a compaction link: the files written hold, together, `replaced_records` rows (what
    /// the replaced files were committed with), the link's `records`, and the ids of its
    /// `ids_digest`. `Err` says what does not add up.
    pub(crate) fn check_compaction_sums(&self, replaced_records: u64) -> Result<(), String> {
        let written: u64 = self.written.iter().map(|w| w.records).sum();
        if written != replaced_records || self.records != Some(replaced_records) {
            return Err(format!(
                "{written} rows written, {replaced_records} replaced, {} recorded",
                self.records.unwrap_or(0)
            ));
        }
        let mut sum = IdDigest::default();
        for w in &self.written {
            let d: IdDigest = w
                .ids_digest
                .parse()
                .map_err(|e| format!("{}: id digest {e}", w.path))?;
            sum.merge(&d);
        }
        let recorded: Option<IdDigest> = self.ids_digest.as_deref().and_then(|d| d.parse().ok());
        if recorded != Some(sum) {
            return Err("the written files' event ids are not the replaced files' ids".into());
        }
        Ok(())
    }

    /// The bytes the signature covers: the domain prefix, then the JSON without `sig`.
    pub(crate) fn signed_bytes(&self) -> Vec<u8> {
        let unsigned = Link {
            sig: String::new(),
            ..self.clone()
        };
        let mut out = DOMAIN.to_vec();
        // Serializing this struct (strings, integers, a Vec) cannot fail.
        out.extend_from_slice(
            serde_json::to_string(&unsigned)
                .unwrap_or_default()
                .as_bytes(),
        );
        out
    }

    pub(crate) fn sign(&mut self, key: &SigningKey) {
        self.sig = hex::encode(&key.sign(&self.signed_bytes()).to_bytes());
    }

    /// Whether `sig` is a valid signature of this link by `key`.
    pub fn signature_ok(&self, key: &VerifyingKey) -> bool {
        let Some(bytes) = hex::decode_array::<64>(&self.sig) else {
            return false;
        };
        key.verify_strict(&self.signed_bytes(), &Signature::from_bytes(&bytes))
            .is_ok()
    }

    /// The line as written to the ledger (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Hex SHA-256 of a ledger line (without its newline): what the next link's `prev` holds.
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(&Sha256::digest(line))
}

/// The head of a ledger: its last link's seq and line hash. Record it outside the store (it
/// prints and parses as `SEQ:HASH`) and pass it to [`crate::verify_against`] to detect a
/// ledger truncated at its end, which nothing inside the store can reveal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Head {
    /// The head of an empty ledger.
    pub fn empty() -> Head {
        Head {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl FromStr for Head {
    type Err = String;
    fn from_str(s: &str) -> Result<Head, String> {
        let (seq, hash) = s.split_once(':').ok_or("a head is SEQ:HASH")?;
        let seq = seq.parse().map_err(|_| format!("bad seq {seq:?}"))?;
        if hex::decode_array::<32>(hash).is_none() {
            return Err(format!("bad hash {hash:?}"));
        }
        Ok(Head {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}
