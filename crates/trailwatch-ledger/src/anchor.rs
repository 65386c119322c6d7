//! External anchors: the signed heads a store's writer published outside the store, and what
//! they prove against the ledger (see [`check_anchors`]).
//!
//! An anchor is one JSON line, `{"seq":…,"hash":…,"at":…,"sig":…}`: the ledger's head (its last
//! link's seq and line hash) when a store operation ended, the time, and an Ed25519 signature by
//! the store's key over the domain `trailwatch-anchor v1\n` and the line without `sig`, so that
//! an anchor says on its own which store's writer published it. Anchors are appended to a file
//! outside the store (and may be sent elsewhere: alert sinks, an S3 bucket with Object Lock,
//! whose head objects verify reads back as [`AnchorLine`]s, numbered in key order); the writer
//! never reads them back.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use chrono::{SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use trailwatch_model::hex;

use crate::ledger::{io_err, sync_dir, LedgerError};
use crate::link::Head;
use crate::verify::Problem;

const DOMAIN: &[u8] = b"trailwatch-anchor v1\n";

/// A published, signed head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// The head link's seq.
    pub seq: u64,
    /// Hex SHA-256 of the head link's line.
    pub hash: String,
    /// RFC 3339 time the head was published.
    pub at: String,
    /// Hex Ed25519 signature over the domain and the anchor's JSON without `sig`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sig: String,
}

impl Anchor {
    /// `head`, published now and signed by `key`.
    pub fn sign(head: &Head, key: &SigningKey) -> Anchor {
        let mut a = Anchor {
            seq: head.seq,
            hash: head.hash.clone(),
            at: Utc::now().to_rfc3339_opts(SecondsFormat::AutoSi, true),
            sig: String::new(),
        };
        a.sig = hex::encode(&key.sign(&a.signed_bytes()).to_bytes());
        a
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let unsigned = Anchor {
            sig: String::new(),
            ..self.clone()
        };
        let mut out = DOMAIN.to_vec();
        out.extend_from_slice(
            serde_json::to_string(&unsigned)
                .unwrap_or_default()
                .as_bytes(),
        );
        out
    }

    /// Whether `sig` is `key`'s signature of this anchor.
    pub fn signature_ok(&self, key: &VerifyingKey) -> bool {
        let Some(bytes) = hex::decode_array::<64>(&self.sig) else {
            return false;
        };
        key.verify_strict(&self.signed_bytes(), &Signature::from_bytes(&bytes))
            .is_ok()
    }

    /// The head it publishes.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.to_ascii_lowercase(),
        }
    }

    /// The JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Appends `anchor` to the anchor file at `path` (created, with its directory, if missing),
/// fsynced before it returns.
pub fn append_anchor(path: &Path, anchor: &Anchor) -> Result<(), LedgerError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let new = !path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    let mut line = anchor.to_line();
    line.push('\n');
    file.write_all(line.as_bytes()).map_err(io_err(path))?;
    file.sync_data().map_err(io_err(path))?;
    if let (true, Some(d)) = (new, dir) {
        sync_dir(d)?;
    }
    Ok(())
}

/// One line of an anchor file: its 1-based number, and the anchor or why it is not one.
pub type AnchorLine = (usize, Result<Anchor, String>);

/// The lines of an anchor file (blank ones skipped).
pub fn read_anchors(path: &Path) -> Result<Vec<AnchorLine>, LedgerError> {
    let text = fs::read(path).map_err(io_err(path))?;
    let text = String::from_utf8_lossy(&text);
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, parse_anchor(l)))
        .collect())
}

/// One anchor line (an anchor file's line, or a head object's body), or why it is not one.
pub fn parse_anchor(line: &str) -> Result<Anchor, String> {
    serde_json::from_str::<Anchor>(line.trim())
        .map_err(|e| e.to_string())
        .and_then(|a| match hex::decode_array::<32>(&a.hash) {
            Some(_) => Ok(a),
            None => Err(format!("hash {:?} is not a hex SHA-256", a.hash)),
        })
}

/// What the anchors prove against a ledger whose valid links hash to `hashes` (seq → line
/// hash) and whose head is `head`. Anchors `key` did not sign prove nothing and are named; of
/// the others: two different heads published for one seq are a fork; a published head the
/// ledger has another link for is a fork of the store from what it showed (named once, at
/// the lowest such seq, with how many later heads diverge too); a ledger ending before the
/// newest published head was rolled back, when its head is one published earlier (an older
/// copy of the store), else truncated. Returns how many anchors were checked.
pub(crate) fn check_anchors(
    anchors: &[AnchorLine],
    key: &VerifyingKey,
    hashes: &std::collections::BTreeMap<u64, &str>,
    head: &Head,
    problems: &mut Vec<Problem>,
) -> usize {
    let mut valid: Vec<(usize, &Anchor)> = Vec::new();
    for (line, a) in anchors {
        match a {
            Err(reason) => problems.push(Problem::AnchorUnreadable {
                line: *line,
                reason: reason.clone(),
            }),
            Ok(a) if !a.signature_ok(key) => problems.push(Problem::AnchorBadSignature {
                line: *line,
                seq: a.seq,
            }),
            Ok(a) => valid.push((*line, a)),
        }
    }
    // seq → the first anchor of each distinct hash published for it.
    let mut by_seq: std::collections::BTreeMap<u64, Vec<(usize, &Anchor)>> = Default::default();
    for &(line, a) in &valid {
        let seen = by_seq.entry(a.seq).or_default();
        if !seen
            .iter()
            .any(|(_, b)| b.hash.eq_ignore_ascii_case(&a.hash))
        {
            seen.push((line, a));
        }
    }
    let mut diverged: Vec<(usize, &Anchor)> = Vec::new();
    for (&seq, heads) in &by_seq {
        if let [(l1, a1), (l2, a2), ..] = heads.as_slice() {
            problems.push(Problem::AnchorFork {
                seq,
                lines: (*l1, *l2),
                at: (a1.at.clone(), a2.at.clone()),
            });
        }
        if let Some(have) = hashes.get(&seq) {
            diverged.extend(
                heads
                    .iter()
                    .filter(|(_, a)| !a.hash.eq_ignore_ascii_case(have))
                    .copied(),
            );
        }
    }
    if let Some(&(line, first)) = diverged.first() {
        problems.push(Problem::AnchorDiverged {
            seq: first.seq,
            line,
            at: first.at.clone(),
            later: diverged.len() - 1,
        });
    }
    let newest = valid.iter().max_by_key(|(_, a)| a.seq);
    if let Some(&(_, newest)) = newest.filter(|(_, a)| a.seq > head.seq) {
        let published = valid
            .iter()
            .find(|(_, a)| a.seq == head.seq && a.hash.eq_ignore_ascii_case(&head.hash));
        problems.push(match published {
            Some((_, at_head)) => Problem::RolledBack {
                seq: head.seq,
                at: at_head.at.clone(),
                newest_seq: newest.seq,
                newest_at: newest.at.clone(),
            },
            None => Problem::AnchorTruncated {
                last_seq: head.seq,
                newest_seq: newest.seq,
                newest_at: newest.at.clone(),
            },
        });
    }
    valid.len()
}
