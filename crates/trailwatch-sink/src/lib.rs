//! Alert delivery for trailwatch: getting every alert to a person or a SIEM, once.
//!
//! # Adding a sink
//! A new kind of sink is one module under `sinks/` holding the sink and its configuration
//! (the keys of its `[[sinks]]` table, with `build()` reading its secrets and making the sink),
//! plus one variant of [`SinkKind`] (and its arm in [`SinkKind::config`]). Nothing outside
//! this crate changes: the watch reads, checks and builds sinks through [`SinkConfig`].
//!
//! This crate owns:
//! - the durable [`Outbox`] (SQLite): each alert with its handling state (open, acked,
//!   resolved, with who and when) and one delivery row per sink, with attempts, the next try
//!   (exponential [`Backoff`]) and the last error;
//! - the [`Sink`] trait and its receivers: a signed generic [`WebhookSink`], a [`SlackSink`],
//!   mail through [`SmtpSink`], RFC 5424 syslog over TCP with a CEF or JSON body
//!   ([`SyslogSink`]) and a JSON-lines file ([`JsonlSink`]);
//! - [`config`]: each `[[sinks]]` table of the watch configuration ([`SinkConfig`]: name,
//!   route, [`SinkKind`]), checked when read and built into a [`RoutedSink`];
//! - routing by minimum severity and required tags ([`Route`]) and the [`Dispatcher`] that
//!   drains due deliveries;
//! - [`Report`]: a scheduled document (the daily review) sent through the sinks that can carry
//!   one (SMTP as a text and HTML mail, Slack, webhook, JSON lines; not syslog), with
//!   [`Sink::send_report`]; the caller records which sink took it;
//! - [`secret`]: credentials as [`Secret`]s, and the redaction that keeps them out of delivery
//!   errors, the outbox and logs.
//!
//! # Delivery guarantee
//! An alert is committed to the outbox, with its deliveries, before any sink is tried, and a
//! delivery is marked sent only after the sink returned success. A receiver that is down keeps
//! its deliveries pending and retried, with backoff, however long it stays down: nothing is
//! lost. The guarantee is at-least-once, not exactly-once: if the process dies after a sink
//! accepted an alert and before `mark_sent` committed, that one delivery is sent again after
//! restart (at most one per sink per crash, since deliveries are sent one at a time). An alert
//! id already in the outbox, in any state, is never enqueued or sent again. Receivers that must
//! not see that rare repeat can de-duplicate on the alert `id`.
//!
//! Syslog over TCP has no acknowledgement: a completed write counts as delivered.

pub mod config;
mod dispatch;
mod error;
mod outbox;
mod report;
mod route;
pub mod secret;
pub mod sinks;

pub use config::{BuildSink, SinkConfig, SinkKind};
pub use dispatch::{Dispatcher, RoutedSink, RunStats};
pub use error::{OutboxError, SinkError};
pub use outbox::{
    fmt_time, merge_alert, AlertNote, AlertRecord, AlertState, Backoff, Delivery, DueDelivery,
    Enqueued, NoteKind, Outbox,
};
pub use report::Report;
pub use route::Route;
pub use secret::{Redactor, Secret};
pub use sinks::{
    JsonlSink, JsonlSinkConfig, Sink, SlackSink, SlackSinkConfig, SmtpConfig, SmtpSecurity,
    SmtpSink, SmtpSinkConfig, SyslogBody, SyslogConfig, SyslogSink, SyslogSinkConfig, SyslogTls,
    WebhookSink, WebhookSinkConfig,
};
