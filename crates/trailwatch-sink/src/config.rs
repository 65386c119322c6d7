//! The configuration of sinks: one `[[sinks]]` table of the watch configuration file.
//!
//! A table is `name`, the route (`min_severity`, `tags`), `kind` and the kind's own keys. Each
//! kind's keys are a struct beside its sink (`sinks/<kind>.rs`) implementing [`BuildSink`]:
//! checks, the environment variables holding its secrets, and the building of the sink.
//! [`SinkKind`] holds one of them, chosen by `kind`. Unknown keys are errors naming the key.

use crate::dispatch::RoutedSink;
use crate::error::SinkError;
use crate::route::Route;
use crate::sinks::{
    JsonlSinkConfig, Sink, SlackSinkConfig, SmtpSinkConfig, SyslogSinkConfig, WebhookSinkConfig,
};
use serde::{Deserialize, Deserializer};
use std::time::Duration;
use trailwatch_model::duration::parse_duration;
use trailwatch_model::Severity;

/// What the configuration of each sink kind does; [`SinkKind`] dispatches to it.
pub trait BuildSink {
    /// Checks what the types cannot (run when the configuration is read, and before
    /// building).
    fn validate(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// The names of the environment variables holding the sink's secrets, for redaction.
    fn secret_vars(&self) -> Vec<&str> {
        Vec::new()
    }

    /// The sink called `name`, its secrets read from the environment variables configured.
    fn build(&self, name: &str) -> Result<Box<dyn Sink>, SinkError>;

    /// Whether the sink built takes a report ([`Sink::send_report`]) as well as alerts.
    fn carries_reports(&self) -> bool {
        false
    }
}

/// Where alerts go: `kind` and that kind's keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SinkKind {
    /// POST of the alert JSON, signed with HMAC-SHA256 of a secret read from `secret_env`.
    Webhook(WebhookSinkConfig),
    /// A Slack incoming webhook; the URL is a secret, so it is read from `url_env`.
    Slack(SlackSinkConfig),
    /// Mail through an SMTP relay.
    Smtp(SmtpSinkConfig),
    /// RFC 5424 syslog over TCP, with a CEF or JSON body.
    Syslog(SyslogSinkConfig),
    /// One JSON line per alert appended to a file.
    Jsonl(JsonlSinkConfig),
}

impl SinkKind {
    /// The kind's own configuration.
    pub fn config(&self) -> &dyn BuildSink {
        match self {
            SinkKind::Webhook(c) => c,
            SinkKind::Slack(c) => c,
            SinkKind::Smtp(c) => c,
            SinkKind::Syslog(c) => c,
            SinkKind::Jsonl(c) => c,
        }
    }

    /// Checks what the types cannot (see [`BuildSink::validate`]).
    pub fn validate(&self) -> Result<(), SinkError> {
        self.config().validate()
    }

    /// The environment variables holding the sink's secrets.
    pub fn secret_vars(&self) -> Vec<&str> {
        self.config().secret_vars()
    }

    /// Whether the sink takes reports (see [`BuildSink::carries_reports`]).
    pub fn carries_reports(&self) -> bool {
        self.config().carries_reports()
    }

    /// Checks the configuration, then builds the sink called `name`.
    pub fn build(&self, name: &str) -> Result<Box<dyn Sink>, SinkError> {
        let config = self.config();
        config.validate()?;
        config.build(name)
    }
}

/// One `[[sinks]]` entry: `name`, the route (`min_severity`, `tags`), `kind` and the kind's
/// keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct SinkConfig {
    /// Unique; deliveries are kept under it.
    pub name: String,
    /// Alerts below this severity are not sent here (default: every alert).
    pub min_severity: Severity,
    /// Every one of these tags must be on an alert sent here.
    pub tags: Vec<String>,
    /// What the sink is, with its own keys.
    pub kind: SinkKind,
}

impl SinkConfig {
    /// Which alerts the sink takes.
    pub fn route(&self) -> Route {
        Route::at_least(self.min_severity).with_tags(self.tags.iter().cloned())
    }

    /// The sink with its route; secrets are read from the environment variables named.
    pub fn build(&self) -> Result<RoutedSink, SinkError> {
        Ok(RoutedSink {
            sink: self.kind.build(&self.name)?,
            route: self.route(),
        })
    }
}

impl TryFrom<toml::Table> for SinkConfig {
    type Error = String;

    /// Takes `name` and the route keys out of the table; the rest is the kind's.
    fn try_from(mut t: toml::Table) -> Result<Self, String> {
        let name = match t.remove("name") {
            Some(toml::Value::String(s)) => s,
            Some(other) => return Err(format!("[[sinks]]: name must be a string, not {other}")),
            None => return Err("[[sinks]]: an entry has no name".to_string()),
        };
        let min_severity = match t.remove("min_severity") {
            None => Severity::Informational,
            Some(toml::Value::String(s)) => s.parse().map_err(|_| {
                format!("sink {name:?}: min_severity {s:?} (expected informational, low, medium, high or critical)")
            })?,
            Some(other) => {
                return Err(format!(
                    "sink {name:?}: min_severity must be a string, not {other}"
                ))
            }
        };
        let tags = match t.remove("tags") {
            None => Vec::new(),
            Some(v) => v
                .try_into::<Vec<String>>()
                .map_err(|_| format!("sink {name:?}: tags must be a list of strings"))?,
        };
        let kind = toml::Value::Table(t)
            .try_into::<SinkKind>()
            .map_err(|e| format!("sink {name:?}: {}", e.message()))?;
        kind.validate().map_err(|e| format!("sink {name:?}: {e}"))?;
        Ok(SinkConfig {
            name,
            min_severity,
            tags,
            kind,
        })
    }
}

/// The value of the environment variable `var`, which holds a secret.
pub(crate) fn env(var: &str) -> Result<String, SinkError> {
    std::env::var(var)
        .map_err(|_| SinkError::Config(format!("environment variable {var} is not set")))
}

/// An optional duration in the shared grammar ([`trailwatch_model::duration`]): `500ms`,
/// `30s`, `5m`, …
pub(crate) fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The `[[sinks]]` entries of `text`.
    fn sinks(text: &str) -> Result<Vec<SinkConfig>, String> {
        #[derive(Deserialize)]
        struct File {
            sinks: Vec<SinkConfig>,
        }
        toml::from_str::<File>(text)
            .map(|f| f.sinks)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_parses_with_its_defaults_and_route() {
        let text = r#"
[[sinks]]
name = "w"
kind = "webhook"
url = "http://127.0.0.1:8080/hook"
secret_env = "HOOK_SECRET"
timeout = "1500ms"
min_severity = "high"
tags = ["attack.persistence"]
[[sinks]]
name = "m"
kind = "smtp"
host = "127.0.0.1"
from = "trailwatch@example.com"
to = ["soc@example.com"]
[[sinks]]
name = "s"
kind = "syslog"
address = "127.0.0.1:6514"
[[sinks]]
name = "sl"
kind = "slack"
url_env = "SLACK_URL"
[[sinks]]
name = "f"
kind = "jsonl"
path = "/tmp/alerts.jsonl"
"#;
        let s = sinks(text).expect("valid");
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].name, "w");
        assert_eq!(s[0].min_severity, Severity::High);
        assert_eq!(
            s[0].route(),
            Route::at_least(Severity::High).with_tags(["attack.persistence"])
        );
        assert_eq!(s[1].route(), Route::default());
        let SinkKind::Webhook(w) = &s[0].kind else {
            panic!("expected a webhook, got {:?}", s[0].kind);
        };
        assert_eq!(w.timeout, Some(Duration::from_millis(1500)));
        let SinkKind::Smtp(m) = &s[1].kind else {
            panic!("expected smtp, got {:?}", s[1].kind);
        };
        assert_eq!((m.port, m.starttls), (25, false));
        let SinkKind::Syslog(l) = &s[2].kind else {
            panic!("expected syslog, got {:?}", s[2].kind);
        };
        assert_eq!((l.format.as_str(), l.tls), ("cef", false));
        assert_eq!(s[3].kind.secret_vars(), ["SLACK_URL"]);
        let SinkKind::Jsonl(j) = &s[4].kind else {
            panic!("expected jsonl, got {:?}", s[4].kind);
        };
        assert_eq!(j.path, PathBuf::from("/tmp/alerts.jsonl"));
    }

    #[test]
    fn an_unknown_key_is_refused_naming_it() {
        let text = "[[sinks]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"http://x\"\nsecret = \"inline\"\n";
        let e = sinks(text).expect_err("secrets are not written inline");
        assert!(e.contains("sink \"w\": unknown field `secret`"), "{e}");
        let text = "[[sinks]]\nname = \"f\"\nkind = \"jsonl\"\npath = \"/x\"\npaht = \"/y\"\n";
        let e = sinks(text).expect_err("a typo");
        assert!(e.contains("unknown field `paht`"), "{e}");
        let text = "[[sinks]]\nname = \"f\"\nkind = \"pigeon\"\n";
        let e = sinks(text).expect_err("no such kind");
        assert!(e.contains("pigeon"), "{e}");
    }

    #[test]
    fn route_keys_and_kind_checks_are_errors_naming_the_sink() {
        let sev =
            "[[sinks]]\nname = \"j\"\nkind = \"jsonl\"\npath = \"/x\"\nmin_severity = \"urgent\"\n";
        let e = sinks(sev).expect_err("severity");
        assert!(e.contains("sink \"j\": min_severity \"urgent\""), "{e}");
        let fmt = "[[sinks]]\nname = \"s\"\nkind = \"syslog\"\naddress = \"127.0.0.1:514\"\nformat = \"xml\"\n";
        let e = sinks(fmt).expect_err("format");
        assert!(
            e.contains("syslog format \"xml\" (expected cef or json)"),
            "{e}"
        );
        let to = "[[sinks]]\nname = \"m\"\nkind = \"smtp\"\nhost = \"h\"\nfrom = \"a@example.com\"\nto = []\n";
        let e = sinks(to).expect_err("no recipient");
        assert!(
            e.contains("sink \"m\"") && e.contains("no recipient in `to`"),
            "{e}"
        );
        let nameless = "[[sinks]]\nkind = \"jsonl\"\npath = \"/x\"\n";
        let e = sinks(nameless).expect_err("no name");
        assert!(e.contains("an entry has no name"), "{e}");
    }

    #[test]
    fn building_reads_secrets_from_the_environment_and_names_a_missing_one() {
        let var = "TRAILWATCH_SINK_TEST_SLACK_URL_NEVER_SET";
        let text = format!("[[sinks]]\nname = \"sl\"\nkind = \"slack\"\nurl_env = \"{var}\"\n");
        let s = sinks(&text).expect("valid");
        let e = s[0].build().err().expect("the variable is not set");
        assert_eq!(
            e.to_string(),
            format!("sink configuration: environment variable {var} is not set")
        );
        let text = "[[sinks]]\nname = \"m\"\nkind = \"smtp\"\nhost = \"h\"\nusername = \"u\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\n";
        let e = sinks(text).expect("valid")[0]
            .build()
            .err()
            .expect("no password_env");
        assert!(
            e.to_string()
                .contains("username and password_env go together"),
            "{e}"
        );
        let text = "[[sinks]]\nname = \"f\"\nkind = \"jsonl\"\npath = \"/tmp/alerts.jsonl\"\nmin_severity = \"low\"\n";
        let routed = sinks(text).expect("valid")[0]
            .build()
            .expect("no secret to read");
        assert_eq!(routed.sink.name(), "f");
        assert_eq!(routed.route, Route::at_least(Severity::Low));
    }
}
