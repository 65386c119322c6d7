//! Validating a directory of digest and log files.

use crate::digest::{self, DigestFile, MAX_DIGEST_BYTES};
use crate::keys::{parse_time, PublicKeys};
use crate::report::{ChainIssue, DigestResult, LogResult, LogStatus, Problem, Report};
use chrono::{DateTime, NaiveDateTime, Utc};
use flate2::read::MultiGzDecoder;
use rsa::Pkcs1v15Sign;
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;
use trailwatch_model::gzip::is_gzip;
use trailwatch_model::hex;

/// The manifest of digest signatures at the root: `{"<digest S3 object key>": "<hex>", …}`.
pub const SIGNATURE_MANIFEST: &str = "digest-signatures.json";

/// Why a digest file is not valid.
#[derive(Debug, Error)]
pub enum DigestError {
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    #[error("corrupt gzip: {0}")]
    Gzip(#[source] io::Error),
    #[error("larger than {} MiB: not a digest file", MAX_DIGEST_BYTES >> 20)]
    TooLarge,
    #[error("not a digest file: {0}")]
    Json(#[source] serde_json::Error),
    #[error("{field} {value:?} is not a time")]
    BadTime { field: &'static str, value: String },
    #[error("no signature: no .signature sidecar and no entry in {SIGNATURE_MANIFEST}")]
    NoSignature,
    #[error("signature is not hex")]
    BadSignatureHex,
    #[error("unsupported signature algorithm {0:?} (expected SHA256withRSA)")]
    UnsupportedAlgorithm(String),
    #[error("unknown public key fingerprint {0} (not in the public key list)")]
    UnknownKey(String),
    #[error("public key {fingerprint} is not valid at digestEndTime {at}")]
    KeyNotValid { fingerprint: String, at: String },
    #[error("invalid signature: does not verify with public key {0}")]
    SignatureMismatch(String),
}

/// Limits validation to digests overlapping `[start, end]` (and unlisted log files whose
/// name's timestamp falls inside it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| end >= s) && self.end.is_none_or(|e| start <= e)
    }

    fn contains(&self, t: DateTime<Utc>) -> bool {
        self.overlaps(t, t)
    }
}

/// What to validate.
#[derive(Debug, Clone, Copy)]
pub struct ValidateOptions<'a> {
    /// Holds the digest and log files in the S3 layout, possibly below a bucket-named folder.
    pub root: &'a Path,
    pub keys: &'a PublicKeys,
    pub range: TimeRange,
}

impl<'a> ValidateOptions<'a> {
    pub fn new(root: &'a Path, keys: &'a PublicKeys) -> Self {
        ValidateOptions {
            root,
            keys,
            range: TimeRange::default(),
        }
    }
}

/// The files under the root, by path relative to it (`/`-separated).
struct Files {
    entries: Vec<(String, PathBuf)>,
    by_rel: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

impl Files {
    fn scan(root: &Path, problems: &mut Vec<Problem>) -> Files {
        let mut entries = Vec::new();
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    problems.push(Problem {
                        path: e.path().unwrap_or(root).to_path_buf(),
                        reason: format!("cannot read: {e}"),
                    });
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(root) else {
                continue;
            };
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            entries.push((rel.join("/"), entry.into_path()));
        }
        let mut by_rel = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (rel, _)) in entries.iter().enumerate() {
            by_rel.insert(rel.clone(), i);
            let name = rel.rsplit('/').next().unwrap_or(rel);
            by_name.entry(name.to_owned()).or_default().push(i);
        }
        Files {
            entries,
            by_rel,
            by_name,
        }
    }

    /// The file for an S3 object key: by relative path, else the shortest path ending with it.
    fn resolve(&self, key: &str) -> Option<usize> {
        let key = key.trim_start_matches('/');
        if key.is_empty() {
            return None;
        }
        if let Some(&i) = self.by_rel.get(key) {
            return Some(i);
        }
        let name = key.rsplit('/').next().unwrap_or(key);
        self.by_name
            .get(name)?
            .iter()
            .copied()
            .filter(|&i| {
                let rel = &self.entries[i].0;
                rel.len() > key.len()
                    && rel.ends_with(key)
                    && rel.as_bytes()[rel.len() - key.len() - 1] == b'/'
            })
            .min_by_key(|&i| self.entries[i].0.len())
    }
}

fn has_json_ext(rel: &str) -> bool {
    rel.ends_with(".json.gz") || rel.ends_with(".json")
}

fn in_folder(rel: &str, folder: &str) -> bool {
    let mut parts = rel.split('/');
    parts.next_back();
    parts.any(|p| p == folder)
}

struct Parsed {
    digest: DigestFile,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    chain_key: String,
}

struct Loaded {
    path: PathBuf,
    /// Hex SHA-256 of the decompressed bytes, when they could be decompressed.
    hash: Option<String>,
    parsed: Result<Parsed, DigestError>,
    /// The signature (lower-case hex as found), or why it could not be read.
    signature: Result<String, DigestError>,
}

fn read_capped(path: &Path) -> Result<Vec<u8>, DigestError> {
    let file = fs::File::open(path).map_err(DigestError::Read)?;
    let mut bytes = Vec::new();
    file.take(MAX_DIGEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(DigestError::Read)?;
    if bytes.len() as u64 > MAX_DIGEST_BYTES {
        return Err(DigestError::TooLarge);
    }
    Ok(bytes)
}

fn time_field(field: &'static str, value: &str) -> Result<DateTime<Utc>, DigestError> {
    parse_time(value).ok_or_else(|| DigestError::BadTime {
        field,
        value: value.to_owned(),
    })
}

/// Digests of one trail, account and region share: the bucket, the key up to the region folder
/// below `CloudTrail-Digest`, and the file name without its timestamp.
fn chain_key(d: &DigestFile) -> String {
    let key = d.digest_s3_object.trim_start_matches('/');
    let segments: Vec<&str> = key.split('/').collect();
    let name = segments.last().copied().unwrap_or("");
    let prefix = match segments.iter().position(|s| *s == "CloudTrail-Digest") {
        Some(i) => segments[..(i + 2).min(segments.len().saturating_sub(1))].join("/"),
        None => segments[..segments.len().saturating_sub(1)].join("/"),
    };
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".json")
        .trim_end_matches("_backfill");
    let stem = stem.rsplit_once('_').map_or(stem, |(s, _)| s);
    format!("{}/{}|{}", d.digest_s3_bucket, prefix, stem)
}

fn load_digest(path: &Path) -> Result<(Parsed, String), (Option<String>, DigestError)> {
    let bytes = read_capped(path).map_err(|e| (None, e))?;
    let (data, hash) = digest::decompress_and_hash(&bytes).map_err(|e| (None, e))?;
    let digest = digest::parse_json(&data).map_err(|e| (Some(hash.clone()), e))?;
    let times = time_field("digestStartTime", &digest.digest_start_time)
        .and_then(|s| Ok((s, time_field("digestEndTime", &digest.digest_end_time)?)));
    let (start, end) = times.map_err(|e| (Some(hash.clone()), e))?;
    let chain_key = chain_key(&digest);
    Ok((
        Parsed {
            digest,
            start,
            end,
            chain_key,
        },
        hash,
    ))
}

fn find_signature(
    path: &Path,
    keys: &[&str],
    manifest: &HashMap<String, String>,
) -> Result<String, DigestError> {
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(".signature");
    let sidecar = PathBuf::from(sidecar);
    let text = match fs::read_to_string(&sidecar) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(DigestError::Read(e)),
    };
    let text = text.or_else(|| keys.iter().find_map(|k| manifest.get(*k).cloned()));
    let text = text.ok_or(DigestError::NoSignature)?;
    let digits = text.trim();
    if digits.is_empty() || hex::decode(digits).is_none() {
        return Err(DigestError::BadSignatureHex);
    }
    Ok(digits.to_ascii_lowercase())
}

fn load_manifest(root: &Path, problems: &mut Vec<Problem>) -> HashMap<String, String> {
    let path = root.join(SIGNATURE_MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return HashMap::new(),
        Err(e) => {
            problems.push(Problem {
                path,
                reason: format!("cannot read: {e}"),
            });
            return HashMap::new();
        }
    };
    match serde_json::from_str::<HashMap<String, String>>(&text) {
        Ok(m) => m
            .into_iter()
            .map(|(k, v)| (k.trim_start_matches('/').to_owned(), v))
            .collect(),
        Err(e) => {
            problems.push(Problem {
                path,
                reason: format!(
                    "not a signature manifest (a JSON object of key → hex signature): {e}"
                ),
            });
            HashMap::new()
        }
    }
}

fn check_signature(
    p: &Parsed,
    hash: &str,
    signature: &Result<String, DigestError>,
    keys: &PublicKeys,
) -> Result<(), DigestError> {
    let d = &p.digest;
    if !d
        .digest_signature_algorithm
        .eq_ignore_ascii_case("SHA256withRSA")
    {
        return Err(DigestError::UnsupportedAlgorithm(
            d.digest_signature_algorithm.clone(),
        ));
    }
    let sig_hex = signature.as_ref().map_err(clone_error)?;
    let sig = hex::decode(sig_hex).ok_or(DigestError::BadSignatureHex)?;
    let fp = d.digest_public_key_fingerprint.trim();
    let candidates: Vec<_> = keys.by_fingerprint(fp).collect();
    if candidates.is_empty() {
        return Err(DigestError::UnknownKey(fp.to_owned()));
    }
    let valid: Vec<_> = candidates.iter().filter(|k| k.valid_at(p.end)).collect();
    if valid.is_empty() {
        return Err(DigestError::KeyNotValid {
            fingerprint: fp.to_owned(),
            at: d.digest_end_time.clone(),
        });
    }
    let hashed = Sha256::digest(digest::signing_string(d, hash).as_bytes());
    if valid.iter().any(|k| {
        k.key
            .verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &sig)
            .is_ok()
    }) {
        Ok(())
    } else {
        Err(DigestError::SignatureMismatch(fp.to_owned()))
    }
}

/// Hex SHA-256 of a log file's decompressed bytes (streamed; gzip recognised by magic bytes).
fn hash_log(path: &Path) -> io::Result<String> {
    let mut reader = BufReader::new(fs::File::open(path)?);
    let gz = is_gzip(reader.fill_buf()?);
    let mut hasher = Sha256::new();
    if gz {
        io::copy(&mut MultiGzDecoder::new(reader), &mut hasher)?;
    } else {
        io::copy(&mut reader, &mut hasher)?;
    }
    Ok(hex::encode(&hasher.finalize()))
}

/// The `YYYYMMDDTHHmmZ` timestamp in a CloudTrail log file name.
fn log_name_time(rel: &str) -> Option<DateTime<Utc>> {
    let name = rel.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        if part.len() == 14 && part.as_bytes()[8] == b'T' && part.ends_with('Z') {
            NaiveDateTime::parse_from_str(part, "%Y%m%dT%H%MZ")
                .ok()
                .map(|t| t.and_utc())
        } else {
            None
        }
    })
}

/// Validates the digest and log files under `opts.root`: signatures, the digest chain and log
/// file hashes. Never fails as a whole: every problem lands in the [`Report`].
pub fn validate(opts: &ValidateOptions<'_>) -> Report {
    let mut report = Report::default();
    if let Err(e) = fs::metadata(opts.root) {
        report.problems.push(Problem {
            path: opts.root.to_path_buf(),
            reason: format!("cannot read: {e}"),
        });
        return report;
    }
    let files = Files::scan(opts.root, &mut report.problems);
    let manifest = load_manifest(opts.root, &mut report.problems);

    // Load every digest file.
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut file_to_loaded: HashMap<usize, usize> = HashMap::new();
    for (fi, (rel, path)) in files.entries.iter().enumerate() {
        if !(in_folder(rel, "CloudTrail-Digest") && has_json_ext(rel)) {
            continue;
        }
        let (hash, parsed) = match load_digest(path) {
            Ok((p, h)) => (Some(h), Ok(p)),
            Err((h, e)) => (h, Err(e)),
        };
        let mut keys = vec![rel.as_str()];
        let bucket_key;
        if let Ok(p) = &parsed {
            keys.insert(0, p.digest.digest_s3_object.trim_start_matches('/'));
            bucket_key = format!(
                "{}/{}",
                p.digest.digest_s3_bucket,
                p.digest.digest_s3_object.trim_start_matches('/')
            );
            keys.push(&bucket_key);
        }
        let signature = find_signature(path, &keys, &manifest);
        file_to_loaded.insert(fi, loaded.len());
        loaded.push(Loaded {
            path: path.clone(),
            hash,
            parsed,
            signature,
        });
    }

    // Chains, ordered by end time.
    let mut by_object: HashMap<&str, usize> = HashMap::new();
    let mut chains: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, l) in loaded.iter().enumerate() {
        if let Ok(p) = &l.parsed {
            by_object
                .entry(p.digest.digest_s3_object.trim_start_matches('/'))
                .or_insert(i);
            chains.entry(p.chain_key.as_str()).or_default().push(i);
        }
    }
    let mut position: HashMap<usize, (&[usize], usize)> = HashMap::new();
    let mut chains: Vec<Vec<usize>> = chains.into_values().collect();
    for chain in &mut chains {
        chain.sort_by(|&a, &b| {
            let (Ok(pa), Ok(pb)) = (&loaded[a].parsed, &loaded[b].parsed) else {
                return a.cmp(&b);
            };
            (pa.end, pa.start, a).cmp(&(pb.end, pb.start, b))
        });
    }
    for chain in &chains {
        for (pos, &i) in chain.iter().enumerate() {
            position.insert(i, (chain.as_slice(), pos));
        }
    }
    let in_scope = |i: usize| match &loaded[i].parsed {
        Ok(p) => opts.range.overlaps(p.start, p.end),
        Err(_) => true,
    };

    let mut covered: HashSet<usize> = HashSet::new();
    for (i, l) in loaded.iter().enumerate() {
        let p = match &l.parsed {
            Ok(p) => p,
            Err(e) => {
                if in_scope(i) {
                    report.digests.push(DigestResult {
                        path: l.path.clone(),
                        s3_object: None,
                        start: None,
                        end: None,
                        signature: Err(clone_error(e)),
                        chain_start: false,
                        chain: Vec::new(),
                    });
                }
                continue;
            }
        };
        let scope = in_scope(i);
        // Log files: out-of-scope digests still cover theirs (so they are not "unlisted").
        for entry in p.digest.log_files.iter().flatten() {
            let found = files.resolve(&entry.s3_object);
            if let Some(fi) = found {
                covered.insert(fi);
            }
            if !scope {
                continue;
            }
            let status = match found {
                None => LogStatus::Missing,
                Some(_) if !entry.hash_algorithm.eq_ignore_ascii_case("SHA-256") => {
                    LogStatus::UnsupportedHashAlgorithm(entry.hash_algorithm.clone())
                }
                Some(fi) => match hash_log(&files.entries[fi].1) {
                    Ok(actual) if actual.eq_ignore_ascii_case(entry.hash_value.trim()) => {
                        LogStatus::Valid
                    }
                    Ok(actual) => LogStatus::Modified {
                        expected: entry.hash_value.clone(),
                        actual,
                    },
                    Err(e) => LogStatus::Unreadable(e.to_string()),
                },
            };
            report.logs.push(LogResult {
                path: found.map(|fi| files.entries[fi].1.clone()),
                s3_object: entry.s3_object.clone(),
                digest: Some(l.path.clone()),
                status,
            });
        }
        if !scope {
            continue;
        }
        // A parsed digest always has its decompressed hash.
        let hash = l.hash.as_deref().unwrap_or_default();
        let signature = check_signature(p, hash, &l.signature, opts.keys);
        let (chain_start, chain) = check_chain(
            i,
            p,
            &position,
            &loaded,
            &by_object,
            &files,
            &file_to_loaded,
            opts.range,
            &in_scope,
        );
        report.digests.push(DigestResult {
            path: l.path.clone(),
            s3_object: Some(p.digest.digest_s3_object.clone()),
            start: Some(p.start),
            end: Some(p.end),
            signature,
            chain_start,
            chain,
        });
    }

    // Log files no digest names.
    for (fi, (rel, path)) in files.entries.iter().enumerate() {
        if covered.contains(&fi) || !(in_folder(rel, "CloudTrail") && has_json_ext(rel)) {
            continue;
        }
        if log_name_time(rel).is_some_and(|t| !opts.range.contains(t)) {
            continue;
        }
        report.logs.push(LogResult {
            path: Some(path.clone()),
            s3_object: rel.clone(),
            digest: None,
            status: LogStatus::Unlisted,
        });
    }
    report
}

/// `DigestError` holds `io::Error`s, which do not clone; copy kind and message.
fn clone_error(e: &DigestError) -> DigestError {
    let io_copy = |e: &io::Error| io::Error::new(e.kind(), e.to_string());
    match e {
        DigestError::Read(e) => DigestError::Read(io_copy(e)),
        DigestError::Gzip(e) => DigestError::Gzip(io_copy(e)),
        DigestError::TooLarge => DigestError::TooLarge,
        DigestError::Json(e) => {
            DigestError::Json(serde_json::Error::io(io::Error::other(e.to_string())))
        }
        DigestError::BadTime { field, value } => DigestError::BadTime {
            field,
            value: value.clone(),
        },
        DigestError::NoSignature => DigestError::NoSignature,
        DigestError::BadSignatureHex => DigestError::BadSignatureHex,
        DigestError::UnsupportedAlgorithm(a) => DigestError::UnsupportedAlgorithm(a.clone()),
        DigestError::UnknownKey(k) => DigestError::UnknownKey(k.clone()),
        DigestError::KeyNotValid { fingerprint, at } => DigestError::KeyNotValid {
            fingerprint: fingerprint.clone(),
            at: at.clone(),
        },
        DigestError::SignatureMismatch(k) => DigestError::SignatureMismatch(k.clone()),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_chain(
    i: usize,
    p: &Parsed,
    position: &HashMap<usize, (&[usize], usize)>,
    loaded: &[Loaded],
    by_object: &HashMap<&str, usize>,
    files: &Files,
    file_to_loaded: &HashMap<usize, usize>,
    range: TimeRange,
    in_scope: &dyn Fn(usize) -> bool,
) -> (bool, Vec<ChainIssue>) {
    let mut issues = Vec::new();
    let predecessor = position
        .get(&i)
        .and_then(|(chain, pos)| pos.checked_sub(1).map(|q| chain[q]));
    let first_in_scope = predecessor.is_none_or(|q| !in_scope(q));
    let d = &p.digest;
    let prev_key = d
        .previous_digest_s3_object
        .as_deref()
        .map(|k| k.trim_start_matches('/'))
        .filter(|k| !k.is_empty());
    let Some(prev_key) = prev_key else {
        if let Some(Ok(q)) = predecessor.map(|q| &loaded[q].parsed) {
            if p.start > q.end {
                issues.push(ChainIssue::Gap {
                    from: q.end,
                    to: p.start,
                });
            } else if let Some(q) = predecessor {
                issues.push(ChainIssue::PreviousNotNamed {
                    previous: loaded[q].path.clone(),
                });
            }
        }
        return (true, issues);
    };
    let found = by_object.get(prev_key).copied().or_else(|| {
        files
            .resolve(prev_key)
            .and_then(|fi| file_to_loaded.get(&fi).copied())
    });
    let Some(q) = found else {
        if range.start.is_some() && first_in_scope {
            return (true, issues);
        }
        issues.push(ChainIssue::PreviousMissing {
            key: prev_key.to_owned(),
        });
        return (false, issues);
    };
    let prev = &loaded[q];
    let Ok(prev_parsed) = &prev.parsed else {
        issues.push(ChainIssue::PreviousUnreadable {
            key: prev_key.to_owned(),
            path: prev.path.clone(),
        });
        return (false, issues);
    };
    if let Some(alg) = &d.previous_digest_hash_algorithm {
        if !alg.eq_ignore_ascii_case("SHA-256") {
            issues.push(ChainIssue::UnsupportedHashAlgorithm(alg.clone()));
        }
    }
    let expected = d.previous_digest_hash_value.as_deref().unwrap_or("").trim();
    let actual = prev.hash.as_deref().unwrap_or("");
    if !expected.eq_ignore_ascii_case(actual) {
        issues.push(ChainIssue::PreviousHashMismatch {
            previous: prev.path.clone(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        });
    }
    if let Ok(prev_sig) = &prev.signature {
        let named = d.previous_digest_signature.as_deref().unwrap_or("").trim();
        if !named.eq_ignore_ascii_case(prev_sig) {
            issues.push(ChainIssue::PreviousSignatureMismatch {
                previous: prev.path.clone(),
            });
        }
    }
    if p.start > prev_parsed.end {
        issues.push(ChainIssue::Gap {
            from: prev_parsed.end,
            to: p.start,
        });
    }
    (false, issues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_names_and_chain_keys() {
        let t = log_name_time("a/111_CloudTrail_us-east-1_20260102T0305Z_abc.json.gz");
        assert_eq!(t, parse_time("2026-01-02T03:05:00Z"));
        let d = |key: &str| DigestFile {
            aws_account_id: "111".into(),
            digest_start_time: String::new(),
            digest_end_time: String::new(),
            digest_s3_bucket: "b".into(),
            digest_s3_object: key.into(),
            digest_public_key_fingerprint: String::new(),
            digest_signature_algorithm: String::new(),
            newest_event_time: None,
            oldest_event_time: None,
            previous_digest_s3_bucket: None,
            previous_digest_s3_object: None,
            previous_digest_hash_value: None,
            previous_digest_hash_algorithm: None,
            previous_digest_signature: None,
            log_files: None,
        };
        let a = chain_key(&d("AWSLogs/111/CloudTrail-Digest/us-east-1/2026/01/01/111_CloudTrail-Digest_us-east-1_t_1_us-east-1_20260101T010000Z.json.gz"));
        let b = chain_key(&d("AWSLogs/111/CloudTrail-Digest/us-east-1/2026/01/02/111_CloudTrail-Digest_us-east-1_t_1_us-east-1_20260102T000000Z.json.gz"));
        let c = chain_key(&d("AWSLogs/111/CloudTrail-Digest/us-east-1/2026/01/02/111_CloudTrail-Digest_us-east-1_t_2_us-east-1_20260102T000000Z.json.gz"));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
