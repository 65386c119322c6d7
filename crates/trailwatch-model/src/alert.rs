//! The alert contract: what `hunt` prints and what later stages store, send and act on.

use crate::{Provider, Severity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A rule's firings for one principal, grouped: one alert per incident, not one per event.
/// Serialized field order is the JSON-lines output contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id: a hash of rule, provider, account, principal and first event.
    pub id: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    /// RFC 3339, UTC.
    pub first_seen: String,
    pub last_seen: String,
    pub count: u64,
    pub event_ids: Vec<String>,
    pub provider: Provider,
    pub account: Option<String>,
    pub region: Option<String>,
    pub principal: String,
    pub source_ips: Vec<String>,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub tags: Vec<String>,
    pub description: String,
}

/// A stable alert id from what identifies an alert (rule, provider, account, principal, first
/// event, …): the first 8 bytes of the SHA-256 over the parts, each followed by a NUL byte, in
/// lower-case hex (16 digits). The same parts give the same id in every run and every command
/// (`hunt`, `baseline`, `watch`), which is what the outbox's de-duplication relies on.
pub fn alert_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    crate::hex::encode(&h.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_are_the_hash_of_the_separated_parts() {
        let id = alert_id(&["rule", "aws", "123456789012"]);
        assert_eq!(id.len(), 16);
        assert_eq!(id, alert_id(&["rule", "aws", "123456789012"]));
        // The NUL separators keep the parts apart.
        assert_ne!(alert_id(&["ab", "c"]), alert_id(&["a", "bc"]));
        // SHA-256 of the empty input, first 8 bytes.
        assert_eq!(alert_id(&[]), "e3b0c44298fc1c14");
    }
}
