//! The sinks: where an alert goes.

mod cef;
mod http;
mod jsonl;
mod slack;
mod smtp;
mod syslog;
mod webhook;

pub use cef::cef_line;
pub use jsonl::JsonlSink;
pub use slack::{slack_escape, slack_payload, SlackSink};
pub use smtp::{SmtpConfig, SmtpSecurity, SmtpSink};
pub use syslog::{SyslogBody, SyslogConfig, SyslogSink, SyslogTls};
pub use webhook::{sign, WebhookSink, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};

use crate::error::SinkError;
use trailwatch_model::Alert;

/// A receiver of alerts. `send` returns only once the receiver has taken the alert: `Ok` is
/// what marks the delivery done in the outbox.
pub trait Sink: Send + Sync {
    /// The sink's name, unique in a dispatcher: deliveries are stored under it.
    fn name(&self) -> &str;
    /// Delivers one alert.
    fn send(&self, alert: &Alert) -> Result<(), SinkError>;
}
