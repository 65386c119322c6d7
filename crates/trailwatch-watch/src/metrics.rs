//! Prometheus metrics: counters and gauges kept in memory and rendered in the text exposition
//! format ([`Metrics::render`]). They are served by the console's HTTP stack (crate
//! trailwatch-console, route `/metrics`), which `watch` starts on `[metrics] listen`: one
//! server, one authentication rule (a console session or API token) for every route.
//!
//! Label values come from object keys and alerts (attacker-influenced): they are escaped as the
//! exposition format requires (backslash, double quote, newline), so no value can end a label or
//! start a forged sample.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Families {
    /// name → (help, type, samples)
    map: BTreeMap<&'static str, (&'static str, &'static str, BTreeMap<Labels, f64>)>,
}

/// The watcher's metrics; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Families>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// The metric names.
pub mod names {
    pub const EVENTS_IN: &str = "trailwatch_events_ingested_total";
    pub const OBJECTS_IN: &str = "trailwatch_objects_read_total";
    pub const OBJECT_ERRORS: &str = "trailwatch_object_errors_total";
    pub const LAG: &str = "trailwatch_source_lag_seconds";
    pub const LAST_POLL: &str = "trailwatch_source_last_poll_timestamp_seconds";
    pub const ALERTS: &str = "trailwatch_alerts_total";
    pub const SINK_SENT: &str = "trailwatch_sink_deliveries_total";
    pub const SINK_FAILURES: &str = "trailwatch_sink_failures_total";
    pub const PENDING: &str = "trailwatch_outbox_pending_deliveries";
    pub const ORIGIN_LAST: &str = "trailwatch_origin_last_object_timestamp_seconds";
    pub const LATE_EVENTS: &str = "trailwatch_late_events_total";
    pub const TOO_LATE_EVENTS: &str = "trailwatch_too_late_events_total";
    pub const CONSOLE_REQUESTS: &str = "trailwatch_console_requests_total";
}

fn help(name: &str) -> (&'static str, &'static str) {
    use names::*;
    match name {
        EVENTS_IN => ("Events newly stored, per source.", "counter"),
        OBJECTS_IN => ("Objects (or appended parts of objects) read, per source.", "counter"),
        OBJECT_ERRORS => ("Objects that could not be read or decoded, per source.", "counter"),
        LAG => ("Seconds from an object's last-modified time to its events being stored and hunted, for the last object of a source.", "gauge"),
        LAST_POLL => ("When a source was last listed, Unix seconds.", "gauge"),
        ALERTS => ("New alerts (incidents) put in the outbox, by severity.", "counter"),
        SINK_SENT => ("Alert deliveries a sink took.", "counter"),
        SINK_FAILURES => ("Alert deliveries that failed (and will be retried).", "counter"),
        PENDING => ("Deliveries in the outbox not yet made.", "gauge"),
        ORIGIN_LAST => ("Last-modified time of the newest object per source, account and region, Unix seconds.", "gauge"),
        LATE_EVENTS => ("Events read after the reorder window had passed their time: they got every signature detection and joined the windows still open.", "counter"),
        TOO_LATE_EVENTS => ("Late events that came too late for the attack chains, bursts and baselines.", "counter"),
        CONSOLE_REQUESTS => ("Requests the console answered, by route and status.", "counter"),
        _ => ("", "untyped"),
    }
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Families) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut g)
    }

    fn entry<'a>(fam: &'a mut Families, name: &'static str, labels: Labels) -> &'a mut f64 {
        let (h, t) = help(name);
        fam.map
            .entry(name)
            .or_insert_with(|| (h, t, BTreeMap::new()))
            .2
            .entry(labels)
            .or_insert(0.0)
    }

    /// Adds `by` to a counter.
    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], by: f64) {
        let labels = owned(labels);
        self.with(|f| *Self::entry(f, name, labels) += by);
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        let labels = owned(labels);
        self.with(|f| *Self::entry(f, name, labels) = value);
    }

    /// A value, for tests and summaries (0 when never set).
    pub fn get(&self, name: &'static str, labels: &[(&'static str, &str)]) -> f64 {
        let labels = owned(labels);
        self.with(|f| {
            f.map
                .get(name)
                .and_then(|(_, _, s)| s.get(&labels))
                .copied()
                .unwrap_or(0.0)
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        self.with(|f| {
            let mut out = String::new();
            for (name, (help, kind, samples)) in &f.map {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for (labels, v) in samples {
                    out.push_str(name);
                    if !labels.is_empty() {
                        out.push('{');
                        for (i, (k, val)) in labels.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            let _ = write!(out, "{k}=\"{}\"", escape_label(val));
                        }
                        out.push('}');
                    }
                    let _ = writeln!(out, " {v}");
                }
            }
            out
        })
    }
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
}

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_label_values_cannot_forge_samples() {
        let m = Metrics::default();
        m.add(names::EVENTS_IN, &[("source", "a\"} 1e9\nforged 1")], 3.0);
        let text = m.render();
        assert!(
            text.contains(r#"trailwatch_events_ingested_total{source="a\"} 1e9\nforged 1"} 3"#),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.starts_with("forged")), "{text}");
    }

    #[test]
    fn counters_add_and_gauges_set() {
        let m = Metrics::default();
        m.add(names::ALERTS, &[("severity", "high")], 1.0);
        m.add(names::ALERTS, &[("severity", "high")], 2.0);
        m.set(names::LAG, &[("source", "s")], 4.5);
        m.set(names::LAG, &[("source", "s")], 1.5);
        assert_eq!(m.get(names::ALERTS, &[("severity", "high")]), 3.0);
        assert_eq!(m.get(names::LAG, &[("source", "s")]), 1.5);
        let text = m.render();
        assert!(
            text.contains("# TYPE trailwatch_alerts_total counter"),
            "{text}"
        );
        assert!(
            text.contains("trailwatch_alerts_total{severity=\"high\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("trailwatch_source_lag_seconds{source=\"s\"} 1.5"),
            "{text}"
        );
    }
}
