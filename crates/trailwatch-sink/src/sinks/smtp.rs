//! Mail through an SMTP relay, with `lettre`'s blocking transport: an alert as a plain-text
//! mail, a report as a text and HTML one.

use super::Sink;
use crate::config::{env, BuildSink};
use crate::error::SinkError;
use crate::report::Report;
use crate::secret::Secret;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::SmtpTransportBuilder;
use lettre::{Message, SmtpTransport, Transport};
use serde::Deserialize;
use std::time::Duration;
use trailwatch_escape::{multi_line, one_line};
use trailwatch_model::Alert;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS: only for a relay on loopback or a trusted link.
    Plain,
    /// STARTTLS, required (needs the crate's `tls` feature).
    StartTls,
}

/// The relay and the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, when the relay asks for them.
    pub credentials: Option<(String, Secret)>,
    pub from: String,
    pub to: Vec<String>,
    pub timeout: Duration,
}

/// The keys of a `kind = "smtp"` sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSinkConfig {
    /// The relay's host name or address.
    pub host: String,
    /// The relay's port (25 when absent).
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// STARTTLS, required (needs the crate's `tls` feature).
    #[serde(default)]
    pub starttls: bool,
    /// The user name, when the relay asks for one; goes with `password_env`.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the password; goes with `username`.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The sender's address.
    pub from: String,
    /// The recipients' addresses; at least one.
    pub to: Vec<String>,
}

fn default_smtp_port() -> u16 {
    25
}

impl BuildSink for SmtpSinkConfig {
    fn validate(&self) -> Result<(), SinkError> {
        if self.to.is_empty() {
            return Err(SinkError::Config("no recipient in `to`".to_string()));
        }
        Ok(())
    }

    fn secret_vars(&self) -> Vec<&str> {
        self.password_env.iter().map(String::as_str).collect()
    }

    fn build(&self, name: &str) -> Result<Box<dyn Sink>, SinkError> {
        let credentials = match (&self.username, &self.password_env) {
            (Some(user), Some(var)) => Some((user.clone(), Secret::new(env(var)?))),
            (None, None) => None,
            _ => {
                return Err(SinkError::Config(
                    "username and password_env go together".to_string(),
                ))
            }
        };
        let config = SmtpConfig {
            host: self.host.clone(),
            port: self.port,
            security: if self.starttls {
                SmtpSecurity::StartTls
            } else {
                SmtpSecurity::Plain
            },
            credentials,
            from: self.from.clone(),
            to: self.to.clone(),
            timeout: Duration::from_secs(10),
        };
        Ok(Box::new(SmtpSink::new(name, &config)?))
    }

    fn carries_reports(&self) -> bool {
        true
    }
}

/// Sends each alert as one plain-text mail.
pub struct SmtpSink {
    name: String,
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
}

fn mailbox(s: &str) -> Result<Mailbox, SinkError> {
    s.parse()
        .map_err(|e| SinkError::Config(format!("mail address {s:?}: {e}")))
}

/// Applies `config.security` to the transport.
#[cfg(feature = "tls")]
fn secure(
    builder: SmtpTransportBuilder,
    config: &SmtpConfig,
) -> Result<SmtpTransportBuilder, SinkError> {
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    let tls = match config.security {
        SmtpSecurity::Plain => Tls::None,
        SmtpSecurity::StartTls => Tls::Required(
            TlsParameters::new(config.host.clone())
                .map_err(|e| SinkError::Config(format!("SMTP TLS: {e}")))?,
        ),
    };
    Ok(builder.tls(tls))
}

/// Applies `config.security` to the transport: without TLS support only `Plain` is possible.
#[cfg(not(feature = "tls"))]
fn secure(
    builder: SmtpTransportBuilder,
    config: &SmtpConfig,
) -> Result<SmtpTransportBuilder, SinkError> {
    match config.security {
        SmtpSecurity::Plain => Ok(builder),
        SmtpSecurity::StartTls => Err(SinkError::Config(
            "SMTP STARTTLS needs trailwatch-sink built with the `tls` feature".to_string(),
        )),
    }
}

impl SmtpSink {
    pub fn new(name: impl Into<String>, config: &SmtpConfig) -> Result<Self, SinkError> {
        if config.to.is_empty() {
            return Err(SinkError::Config("SMTP sink has no recipient".to_string()));
        }
        let to = config
            .to
            .iter()
            .map(|s| mailbox(s))
            .collect::<Result<_, _>>()?;
        let builder = SmtpTransport::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(config.timeout));
        let mut builder = secure(builder, config)?;
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(SmtpSink {
            name: name.into(),
            transport: builder.build(),
            from: mailbox(&config.from)?,
            to,
        })
    }

    fn deliver(&self, message: &Message) -> Result<(), SinkError> {
        self.transport
            .send(message)
            .map(|_| ())
            .map_err(|e| SinkError::Smtp(e.to_string()))
    }

    fn message(&self, alert: &Alert) -> Result<Message, SinkError> {
        // A Message-ID made of the alert id: a repeat after a crash between the relay's
        // acceptance and the outbox commit is the same message to mail systems that dedupe.
        let id: String = alert
            .id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let mut builder = Message::builder()
            .message_id(Some(format!("<{id}@trailwatch>")))
            .from(self.from.clone())
            .subject(subject(alert))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .body(body(alert))
            .map_err(|e| SinkError::Smtp(format!("building the mail: {e}")))
    }
}

impl SmtpSink {
    /// A report as one `multipart/alternative` mail: the text, and the HTML fragment (values
    /// already escaped) wrapped in a minimal document. Both parts quoted-printable, so no
    /// line is too long for SMTP whatever the report holds.
    fn report_message(&self, report: &Report) -> Result<Message, SinkError> {
        let subject = format!("[trailwatch] {}", one_line(&report.subject));
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{}\n</body></html>\n",
            trailwatch_escape::html(&report.subject),
            report.html
        );
        let parts = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, multi_line(&report.text))?)
            .singlepart(part(ContentType::TEXT_HTML, html)?);
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}@trailwatch>", report.safe_id())))
            .from(self.from.clone())
            .subject(subject);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(parts)
            .map_err(|e| SinkError::Smtp(format!("building the mail: {e}")))
    }
}

/// One quoted-printable part of type `kind`.
fn part(kind: ContentType, text: String) -> Result<SinglePart, SinkError> {
    let body = Body::new_with_encoding(text, ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| SinkError::Smtp("building the mail: body not encodable".to_string()))?;
    Ok(SinglePart::builder().header(kind).body(body))
}

/// `[trailwatch] HIGH: <title>`, hidden characters shown escaped so a title cannot add headers.
fn subject(alert: &Alert) -> String {
    format!(
        "[trailwatch] {}: {}",
        alert.severity.as_str().to_uppercase(),
        one_line(&alert.title)
    )
}

/// The plain-text mail: every log value on its line with hidden characters shown escaped, so
/// none can forge a line or drive the reader's terminal.
fn body(alert: &Alert) -> String {
    let opt = |v: &Option<String>| one_line(v.as_deref().unwrap_or("-")).into_owned();
    let list = |v: &[String]| one_line(&v.join(", ")).into_owned();
    format!(
        "{title}\n\nRule:        {rule}\nSeverity:    {sev}\nAlert id:    {id}\nProvider:    {prov}\n\
         Account:     {acct}\nRegion:      {region}\nPrincipal:   {principal}\n\
         First seen:  {first}\nLast seen:   {last}\nEvents:      {count}\n\
         Source IPs:  {ips}\nActions:     {actions}\nResources:   {resources}\nTags:        {tags}\n\
         Event ids:   {events}\n\n{description}\n",
        title = one_line(&alert.title),
        rule = one_line(&alert.rule_id),
        sev = alert.severity,
        id = one_line(&alert.id),
        prov = alert.provider,
        acct = opt(&alert.account),
        region = opt(&alert.region),
        principal = one_line(&alert.principal),
        first = one_line(&alert.first_seen),
        last = one_line(&alert.last_seen),
        count = alert.count,
        ips = list(&alert.source_ips),
        actions = list(&alert.actions),
        resources = list(&alert.resources),
        tags = list(&alert.tags),
        events = list(&alert.event_ids),
        description = multi_line(&alert.description),
    )
}

impl Sink for SmtpSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        self.deliver(&self.message(alert)?)
    }

    fn send_report(&self, report: &Report) -> Result<(), SinkError> {
        self.deliver(&self.report_message(report)?)
    }
}
