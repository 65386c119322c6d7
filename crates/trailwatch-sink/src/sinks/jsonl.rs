//! A JSON-lines file: one alert per line, appended and synced to disk before `send` returns.

use super::Sink;
use crate::config::BuildSink;
use crate::error::SinkError;
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
}

impl Sink for JsonlSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        let mut line = serde_json::to_vec(alert)?;
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
