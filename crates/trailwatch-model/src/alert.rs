//! The alert contract: what `hunt` prints and what later stages store, send and act on.

use crate::{Provider, Severity};
use serde::{Deserialize, Serialize};

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
