//! A Slack incoming webhook: `text` for notifications and `blocks` for the message, every alert
//! field escaped for Slack's mrkdwn so an attacker-chosen value cannot form links or mentions.

use super::http::HttpPoster;
use super::Sink;
use crate::config::{env, BuildSink};
use crate::error::SinkError;
use crate::report::Report;
use crate::secret::Secret;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;
use trailwatch_model::Alert;

/// Posts alerts to a Slack incoming-webhook URL. The URL is a credential: it is held as a
/// [`Secret`] (registered for redaction) and never printed.
pub struct SlackSink {
    name: String,
    url: Secret,
    http: HttpPoster,
}

impl SlackSink {
    pub fn new(name: impl Into<String>, url: impl Into<Secret>) -> Self {
        SlackSink {
            name: name.into(),
            url: url.into(),
            http: HttpPoster::new(Duration::from_secs(10)),
        }
    }
}

/// The keys of a `kind = "slack"` sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSinkConfig {
    /// The environment variable holding the incoming-webhook URL (a secret).
    pub url_env: String,
}

impl BuildSink for SlackSinkConfig {
    fn secret_vars(&self) -> Vec<&str> {
        vec![self.url_env.as_str()]
    }

    fn build(&self, name: &str) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(SlackSink::new(name, env(&self.url_env)?)))
    }

    fn carries_reports(&self) -> bool {
        true
    }
}

/// Text for Slack's mrkdwn: `&`, `<`, `>` as entities, hidden characters shown escaped (the
/// one policy, [`trailwatch_escape::chat`]).
pub fn slack_escape(s: &str) -> String {
    trailwatch_escape::chat(s)
}

fn opt(v: Option<&String>) -> String {
    v.map_or_else(|| "-".to_string(), |s| slack_escape(s))
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        return "-".to_string();
    }
    slack_escape(&v.join(", "))
}

fn field(label: &str, value: String) -> Value {
    json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")})
}

/// The JSON body posted for `alert`.
pub fn slack_payload(alert: &Alert) -> Value {
    let e = slack_escape;
    let headline = format!(
        "[{}] {} ({})",
        alert.severity.as_str().to_uppercase(),
        e(&alert.title),
        e(&alert.rule_id)
    );
    let fields = vec![
        field("Principal", e(&alert.principal)),
        field("Provider", alert.provider.as_str().to_string()),
        field("Account", opt(alert.account.as_ref())),
        field("Region", opt(alert.region.as_ref())),
        field("First seen", e(&alert.first_seen)),
        field("Last seen", e(&alert.last_seen)),
        field("Events", alert.count.to_string()),
        field("Source IPs", list(&alert.source_ips)),
    ];
    let details = format!(
        "{}\n*Actions:* {}\n*Resources:* {}\n*Tags:* {}\n*Alert id:* {}\n*Event ids:* {}",
        alert
            .description
            .split('\n')
            .map(e)
            .collect::<Vec<_>>()
            .join("\n"),
        list(&alert.actions),
        list(&alert.resources),
        list(&alert.tags),
        e(&alert.id),
        list(&alert.event_ids),
    );
    json!({
        "text": headline,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{headline}*")}},
            {"type": "section", "fields": fields},
            {"type": "section", "text": {"type": "mrkdwn", "text": details}},
        ]
    })
}

/// Slack's limit on one section block's text; a longer report is cut (with a note).
const SECTION_MAX: usize = 3000;

/// The JSON body posted for a report: the subject as headline, then the text in sections of
/// at most [`SECTION_MAX`] characters, escaped line by line as alerts are.
pub fn slack_report_payload(report: &Report) -> Value {
    let headline = slack_escape(&report.subject);
    let text = report
        .text
        .split('\n')
        .map(slack_escape)
        .collect::<Vec<_>>()
        .join("\n");
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{headline}*")}}),
    ];
    let mut chunk = String::new();
    for line in text.split_inclusive('\n') {
        if chunk.len() + line.len() > SECTION_MAX && !chunk.is_empty() {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": chunk}}));
            chunk = String::new();
        }
        // A single line longer than a block is cut at a character boundary.
        let end = line
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|&e| e <= SECTION_MAX)
            .last()
            .unwrap_or(0);
        chunk.push_str(&line[..end]);
    }
    if !chunk.trim().is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": chunk}}));
    }
    // Slack takes at most 50 blocks a message.
    if blocks.len() > 50 {
        blocks.truncate(49);
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": "_(cut: the whole review is in the console)_"}}));
    }
    json!({"text": headline, "blocks": blocks})
}

impl Sink for SlackSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        let body = serde_json::to_vec(&slack_payload(alert))?;
        self.http.post_json(self.url.expose(), &[], &body)
    }

    fn send_report(&self, report: &Report) -> Result<(), SinkError> {
        let body = serde_json::to_vec(&slack_report_payload(report))?;
        self.http.post_json(self.url.expose(), &[], &body)
    }
}
