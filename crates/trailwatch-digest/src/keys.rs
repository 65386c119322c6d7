//! CloudTrail's digest-signing public keys, as `aws cloudtrail list-public-keys` prints them.

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use serde::Deserialize;
use thiserror::Error;

/// Why a public-key list could not be read.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("not a ListPublicKeys JSON document: {0}")]
    Json(#[from] serde_json::Error),
    #[error("key {fingerprint}: Value is not base64: {source}")]
    Base64 {
        fingerprint: String,
        source: base64::DecodeError,
    },
    #[error("key {fingerprint}: Value is neither a PKCS#1 RSAPublicKey nor a SubjectPublicKeyInfo RSA key (DER)")]
    Der { fingerprint: String },
    #[error("key {fingerprint}: {field} {value:?} is not a time")]
    Time {
        fingerprint: String,
        field: &'static str,
        value: String,
    },
    #[error("key {fingerprint:?}: fingerprint is not hex")]
    Fingerprint { fingerprint: String },
}

/// One public key, with its fingerprint (lower-case hex) and validity window.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub fingerprint: String,
    pub key: RsaPublicKey,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl PublicKey {
    /// A key from its DER encoding, PKCS#1 `RSAPublicKey` or `SubjectPublicKeyInfo`.
    pub fn from_der(fingerprint: &str, der: &[u8]) -> Result<Self, KeyError> {
        if trailwatch_model::hex::decode(fingerprint.trim()).is_none() {
            return Err(KeyError::Fingerprint {
                fingerprint: fingerprint.to_owned(),
            });
        }
        let key = RsaPublicKey::from_pkcs1_der(der)
            .or_else(|_| RsaPublicKey::from_public_key_der(der))
            .map_err(|_| KeyError::Der {
                fingerprint: fingerprint.to_owned(),
            })?;
        Ok(PublicKey {
            fingerprint: fingerprint.trim().to_ascii_lowercase(),
            key,
            valid_from: None,
            valid_until: None,
        })
    }

    /// Whether `t` lies in the key's validity window (an absent bound does not limit).
    pub fn valid_at(&self, t: DateTime<Utc>) -> bool {
        self.valid_from.is_none_or(|from| t >= from) && self.valid_until.is_none_or(|to| t <= to)
    }
}

/// The keys digests may be signed with, chosen by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: Vec<PublicKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListJson {
    public_key_list: Vec<EntryJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EntryJson {
    value: String,
    #[serde(default)]
    validity_start_time: Option<TimeJson>,
    #[serde(default)]
    validity_end_time: Option<TimeJson>,
    fingerprint: String,
}

/// The CLI prints times as ISO 8601 (v2) or as epoch seconds (v1 / `--cli-read-timeout`-era).
#[derive(Deserialize)]
#[serde(untagged)]
enum TimeJson {
    Text(String),
    Epoch(f64),
}

fn parse_key_time(
    t: &TimeJson,
    fingerprint: &str,
    field: &'static str,
) -> Result<DateTime<Utc>, KeyError> {
    let bad = |value: String| KeyError::Time {
        fingerprint: fingerprint.to_owned(),
        field,
        value,
    };
    match t {
        TimeJson::Text(s) => parse_time(s).ok_or_else(|| bad(s.clone())),
        TimeJson::Epoch(x) => {
            let ms = (x * 1000.0).round();
            if !ms.is_finite() || ms.abs() > 1e17 {
                return Err(bad(x.to_string()));
            }
            Utc.timestamp_millis_opt(ms as i64)
                .single()
                .ok_or_else(|| bad(x.to_string()))
        }
    }
}

/// An RFC 3339 time, or one without an offset (taken as UTC).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

impl PublicKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the output of `aws cloudtrail list-public-keys`:
    /// `{"PublicKeyList":[{"Value":"<base64 DER>","ValidityStartTime":…,"ValidityEndTime":…,"Fingerprint":"<hex>"}]}`.
    pub fn from_list_public_keys_json(json: &str) -> Result<Self, KeyError> {
        let list: ListJson = serde_json::from_str(json)?;
        let mut keys = PublicKeys::new();
        for e in list.public_key_list {
            let der = base64::engine::general_purpose::STANDARD
                .decode(e.value.trim())
                .map_err(|source| KeyError::Base64 {
                    fingerprint: e.fingerprint.clone(),
                    source,
                })?;
            let mut key = PublicKey::from_der(&e.fingerprint, &der)?;
            if let Some(t) = &e.validity_start_time {
                key.valid_from = Some(parse_key_time(t, &e.fingerprint, "ValidityStartTime")?);
            }
            if let Some(t) = &e.validity_end_time {
                key.valid_until = Some(parse_key_time(t, &e.fingerprint, "ValidityEndTime")?);
            }
            keys.insert(key);
        }
        Ok(keys)
    }

    /// Adds a key.
    pub fn insert(&mut self, key: PublicKey) {
        self.keys.push(key);
    }

    /// All keys with this fingerprint (case-insensitive hex).
    pub fn by_fingerprint<'a>(
        &'a self,
        fingerprint: &'a str,
    ) -> impl Iterator<Item = &'a PublicKey> + 'a {
        let fp = fingerprint.trim();
        self.keys
            .iter()
            .filter(move |k| k.fingerprint.eq_ignore_ascii_case(fp))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            PublicKeys::from_list_public_keys_json("{}"),
            Err(KeyError::Json(_))
        ));
        let bad_b64 = r#"{"PublicKeyList":[{"Value":"@@@","Fingerprint":"ab"}]}"#;
        assert!(matches!(
            PublicKeys::from_list_public_keys_json(bad_b64),
            Err(KeyError::Base64 { .. })
        ));
        let bad_der = r#"{"PublicKeyList":[{"Value":"AAEC","Fingerprint":"ab"}]}"#;
        assert!(matches!(
            PublicKeys::from_list_public_keys_json(bad_der),
            Err(KeyError::Der { .. })
        ));
        let empty = PublicKeys::from_list_public_keys_json(r#"{"PublicKeyList":[]}"#);
        assert!(empty.is_ok_and(|k| k.is_empty()));
    }

    #[test]
    fn times() {
        let t = parse_time("2026-01-01T00:00:00Z");
        assert_eq!(t, parse_time("2026-01-01T01:00:00+01:00"));
        assert_eq!(t, parse_time("2026-01-01T00:00:00"));
        assert!(parse_time("yesterday").is_none());
        let e = parse_key_time(&TimeJson::Epoch(1767225600.0), "ab", "ValidityStartTime");
        assert_eq!(e.ok(), t);
    }
}
