//! The dispatcher: routes new alerts into the outbox and drains due deliveries through sinks.

use crate::error::{OutboxError, SinkError};
use crate::outbox::{DueDelivery, Enqueued, Outbox};
use crate::report::Report;
use crate::route::Route;
use crate::secret::redact;
use crate::sinks::Sink;
use std::collections::HashSet;
use std::time::SystemTime;
use trailwatch_model::Alert;

/// A sink with the alerts it takes.
pub struct RoutedSink {
    pub sink: Box<dyn Sink>,
    pub route: Route,
}

impl RoutedSink {
    pub fn new(sink: impl Sink + 'static, route: Route) -> Self {
        RoutedSink {
            sink: Box::new(sink),
            route,
        }
    }
}

/// What one [`Dispatcher::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Deliveries the receiver took.
    pub sent: u64,
    /// Deliveries that failed and were rescheduled.
    pub failed: u64,
    /// Deliveries left due for the next run because their sink already failed in this one.
    pub deferred: u64,
    /// Deliveries for a sink no longer configured (rescheduled with backoff, kept).
    pub unknown_sink: u64,
}

/// Owns the outbox and the sinks.
pub struct Dispatcher {
    outbox: Outbox,
    sinks: Vec<RoutedSink>,
}

impl Dispatcher {
    /// A dispatcher over `outbox`; sink names must be unique.
    pub fn new(outbox: Outbox, sinks: Vec<RoutedSink>) -> Result<Self, SinkError> {
        let mut names = HashSet::new();
        for s in &sinks {
            if !names.insert(s.sink.name().to_string()) {
                return Err(SinkError::Config(format!(
                    "two sinks are named {:?}",
                    s.sink.name()
                )));
            }
        }
        Ok(Dispatcher { outbox, sinks })
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn outbox_mut(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    /// Sends `report` through the sink called `sink` once, now (reports are not queued in the
    /// outbox: the caller records which sink took one). The error is redacted of secrets.
    pub fn send_report(&self, sink: &str, report: &Report) -> Result<(), String> {
        let Some(routed) = self.sinks.iter().find(|s| s.sink.name() == sink) else {
            return Err(format!("no sink named {sink:?} is configured"));
        };
        routed
            .sink
            .send_report(report)
            .map_err(|e| redact(&e.to_string()).into_owned())
    }

    /// Names of the sinks whose route takes `alert`.
    pub fn routes_for(&self, alert: &Alert) -> Vec<&str> {
        self.sinks
            .iter()
            .filter(|s| s.route.matches(alert))
            .map(|s| s.sink.name())
            .collect()
    }

    /// Stores `alert` in the outbox with a delivery for every matching sink. An alert already
    /// known is not delivered again.
    pub fn enqueue(&mut self, alert: &Alert, now: SystemTime) -> Result<Enqueued, OutboxError> {
        let names: Vec<String> = self
            .routes_for(alert)
            .into_iter()
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            tracing::info!(alert = %alert.id, severity = %alert.severity, "no sink routes this alert");
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        self.outbox.enqueue(alert, &refs, now)
    }

    /// Stores `alert` as part of incident `key` ([`Outbox::enqueue_incident`]), with a delivery
    /// for every matching sink when it starts a new incident.
    pub fn enqueue_incident(
        &mut self,
        key: &str,
        alert: &Alert,
        now: SystemTime,
    ) -> Result<(Enqueued, String), OutboxError> {
        let names: Vec<String> = self
            .routes_for(alert)
            .into_iter()
            .map(str::to_string)
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        self.outbox.enqueue_incident(key, alert, &refs, now)
    }

    /// Tries every delivery due at `now` once and records each result in the outbox.
    pub fn run_once(&mut self, now: SystemTime) -> Result<RunStats, OutboxError> {
        let mut stats = RunStats::default();
        let mut failed_sinks: HashSet<String> = HashSet::new();
        for due in self.outbox.due(now)? {
            if failed_sinks.contains(&due.sink) {
                stats.deferred += 1;
                continue;
            }
            self.deliver(&due, now, &mut stats, &mut failed_sinks)?;
        }
        if stats != RunStats::default() {
            tracing::debug!(?stats, "dispatch run");
        }
        Ok(stats)
    }

    fn deliver(
        &mut self,
        due: &DueDelivery,
        now: SystemTime,
        stats: &mut RunStats,
        failed_sinks: &mut HashSet<String>,
    ) -> Result<(), OutboxError> {
        let id = due.alert.id.as_str();
        let Some(routed) = self.sinks.iter().find(|s| s.sink.name() == due.sink) else {
            stats.unknown_sink += 1;
            let error = format!("no sink named {:?} is configured", due.sink);
            tracing::warn!(alert = id, sink = %due.sink, "{error}");
            self.outbox.mark_failed(id, &due.sink, now, &error)?;
            return Ok(());
        };
        match routed.sink.send(&due.alert) {
            Ok(()) => {
                self.outbox.mark_sent(id, &due.sink, now)?;
                stats.sent += 1;
                tracing::info!(alert = id, sink = %due.sink, "alert delivered");
            }
            Err(e) => {
                // Secrets (a Slack URL a client error quotes) go no further than here.
                let error = redact(&e.to_string()).into_owned();
                let next = self.outbox.mark_failed(id, &due.sink, now, &error)?;
                stats.failed += 1;
                failed_sinks.insert(due.sink.clone());
                tracing::warn!(
                    alert = id, sink = %due.sink, attempts = due.attempts + 1, error = %error,
                    retry_in_ms = next.duration_since(now).map_or(0, |d| d.as_millis()),
                    "delivery failed; will retry"
                );
            }
        }
        Ok(())
    }
}
