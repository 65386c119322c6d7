//! A report: a document sent through the sinks on a schedule (the daily review), beside the
//! alerts. It is not an alert: it has no severity or route and is not kept in the outbox; the
//! caller (the watch's scheduler) records which sink took it.

use serde::Serialize;

/// One report, in the forms the sinks need. Its values come from the logs: a sink escapes
/// `subject` and `text` for its surface; `html` is a fragment whose every value is already
/// escaped for HTML by whoever made it (a sink wraps it, never escapes it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Stable for one report (`review-2026-11-20`): the same on every retry, so receivers can
    /// drop a repeat (idempotency key, Message-ID).
    pub id: String,
    /// One line: a mail subject, a chat headline.
    pub subject: String,
    /// Plain text, several lines.
    pub text: String,
    /// An HTML fragment (body content), values already escaped.
    pub html: String,
}

impl Report {
    /// The report as one JSON object (`kind: "report"`), as the webhook posts it and the
    /// JSON-lines file keeps it.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        #[derive(Serialize)]
        struct Tagged<'a> {
            kind: &'static str,
            #[serde(flatten)]
            report: &'a Report,
        }
        serde_json::to_vec(&Tagged {
            kind: "report",
            report: self,
        })
    }

    /// `id` with only the characters a Message-ID or a header may carry.
    pub(crate) fn safe_id(&self) -> String {
        self.id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    }
}
