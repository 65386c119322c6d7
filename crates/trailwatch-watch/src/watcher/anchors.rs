//! Sending the store's published heads (anchors) through the alert sinks `[store]
//! anchor_sinks` names: the outbox and its delivery, as for any alert, so that a head reaches
//! a SIEM or a webhook the store's writer cannot take it back from; and writing them to the
//! `[store] anchor_bucket` S3 prefix ([`crate::anchor_bucket`]), retried every poll until
//! written.

use std::time::SystemTime;

use trailwatch_ledger::Anchor;
use trailwatch_model::{alert_id, Alert, Provider, Severity};
use trailwatch_sink::Enqueued;

use super::Watcher;
use crate::error::WatchError;

/// The rule id of an anchor's alert.
pub const ANCHOR_RULE: &str = "trailwatch-store-anchor";

/// The informational alert carrying `anchor` (its JSON line is the description) of the store
/// whose key has the fingerprint `fingerprint`.
pub(crate) fn anchor_alert(anchor: &Anchor, fingerprint: &str) -> Alert {
    Alert {
        id: alert_id(&[
            ANCHOR_RULE,
            fingerprint,
            &anchor.seq.to_string(),
            &anchor.hash,
        ]),
        rule_id: ANCHOR_RULE.to_string(),
        title: format!("store head {} published", anchor.seq),
        severity: Severity::Informational,
        first_seen: anchor.at.clone(),
        last_seen: anchor.at.clone(),
        count: 1,
        event_ids: Vec::new(),
        provider: Provider::Aws,
        account: None,
        region: None,
        principal: fingerprint.to_string(),
        source_ips: Vec::new(),
        actions: Vec::new(),
        resources: Vec::new(),
        tags: vec!["trailwatch.anchor".to_string()],
        description: anchor.to_line(),
    }
}

impl Watcher {
    /// Sends the head the store published last through the anchor sinks, once per head. It is
    /// stored resolved: a record for the receivers, not an incident for `alerts list`.
    pub(super) fn send_anchor(&mut self) -> Result<(), WatchError> {
        if self.anchor_sinks.is_empty() {
            return Ok(());
        }
        let Some(anchor) = self.store.last_anchor() else {
            return Ok(());
        };
        if self.anchor_sent == Some(anchor.seq) {
            return Ok(());
        }
        let fingerprint = trailwatch_ledger::fingerprint(&self.store.ledger().public_key());
        let alert = anchor_alert(anchor, &fingerprint);
        let sinks: Vec<&str> = self.anchor_sinks.iter().map(String::as_str).collect();
        let now = SystemTime::now();
        let outbox = self.dispatcher.outbox_mut();
        if let Enqueued::New = outbox.enqueue(&alert, &sinks, now)? {
            outbox.resolve(&alert.id, "trailwatch", now)?;
        }
        self.anchor_sent = Some(anchor.seq);
        Ok(())
    }

    /// Writes the head the store published last to the anchor bucket, once per head. A
    /// failure is logged and retried on the next poll (the head is in the anchor file
    /// already); a newer head published meanwhile is written instead, and proves as much.
    pub(super) fn publish_to_bucket(&mut self) {
        let (Some(bucket), Some(anchor)) = (&self.anchor_bucket, self.store.last_anchor()) else {
            return;
        };
        if self.bucket_sent == Some(anchor.seq) {
            return;
        }
        let id = trailwatch_ledger::store_id(&self.store.ledger().public_key());
        match bucket.publish(&id, anchor) {
            Ok(_) => self.bucket_sent = Some(anchor.seq),
            Err(e) => tracing::warn!(
                error = %trailwatch_escape::terminal(&e.to_string()),
                "store head not written to the anchor bucket; retried next poll"
            ),
        }
    }
}
