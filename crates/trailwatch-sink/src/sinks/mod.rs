//! The sinks: where an alert goes.
//!
//! One module a kind: the [`Sink`] itself and its configuration (`<Kind>SinkConfig`, the keys
//! of its `[[sinks]]` table, implementing [`crate::config::BuildSink`]).

mod cef;
mod http;
mod jsonl;
mod slack;
mod smtp;
mod syslog;
mod webhook;

pub use cef::cef_line;
pub use jsonl::{JsonlSink, JsonlSinkConfig};
pub use slack::{slack_escape, slack_payload, slack_report_payload, SlackSink, SlackSinkConfig};
pub use smtp::{SmtpConfig, SmtpSecurity, SmtpSink, SmtpSinkConfig};
pub use syslog::{SyslogBody, SyslogConfig, SyslogSink, SyslogSinkConfig, SyslogTls};
pub use webhook::{sign, WebhookSink, WebhookSinkConfig, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};

use crate::error::SinkError;
use crate::report::Report;
use trailwatch_model::Alert;

/// A receiver of alerts. `send` returns only once the receiver has taken the alert: `Ok` is
/// what marks the delivery done in the outbox.
pub trait Sink: Send + Sync {
    /// The sink's name, unique in a dispatcher: deliveries are stored under it.
    fn name(&self) -> &str;
    /// Delivers one alert.
    fn send(&self, alert: &Alert) -> Result<(), SinkError>;
    /// Delivers one [`Report`] (the daily review); like `send`, `Ok` only once the receiver
    /// took it. Kinds that cannot carry a report keep this default (their configuration says
    /// so: [`crate::BuildSink::carries_reports`]).
    fn send_report(&self, report: &Report) -> Result<(), SinkError> {
        let _ = report;
        Err(SinkError::Unsupported(self.name().to_string()))
    }
}
