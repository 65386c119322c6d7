//! A JSON-lines file: one alert (or report) per line, appended and synced to disk before `send` returns.

use super::Sink;
use crate::config::BuildSink;
use crate::error::SinkError;
use crate::report::Report;
use serde::Deserialize;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use trailwatch_model::Alert;

/// Appends alerts to a file. The file is opened for each alert, so it can be rotated (renamed)
/// between sends.
pub struct JsonlSink {
    name: String,
    path: PathBuf,
}

impl JsonlSink {
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        JsonlSink {
            name: name.into(),
            path: path.into(),
        }
    }
}

/// The keys of a `kind = "jsonl"` sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonlSinkConfig {
    /// The file alerts are appended to (created if missing).
    pub path: PathBuf,
}

impl BuildSink for JsonlSinkConfig {
    fn build(&self, name: &str) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(JsonlSink::new(name, &self.path)))
    }

    fn carries_reports(&self) -> bool {
        true
    }
}

impl JsonlSink {
    /// Appends `line` and a line feed in one write, synced before it returns.
    fn append(&self, mut line: Vec<u8>) -> Result<(), SinkError> {
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        // One write of the whole line: with O_APPEND, lines from two writers do not interleave.
        file.write_all(&line)?;
        file.sync_data()?;
        Ok(())
    }
}

impl Sink for JsonlSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        self.append(serde_json::to_vec(alert)?)
    }

    /// One line `{"kind":"report",…}` ([`Report::to_json`]).
    fn send_report(&self, report: &Report) -> Result<(), SinkError> {
        self.append(report.to_json()?)
    }
}
