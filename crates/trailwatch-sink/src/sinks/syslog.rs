//! Syslog, RFC 5424 over TCP with octet-counting framing (RFC 6587), carrying a CEF line or
//! the alert's JSON.

use super::cef::cef_line;
use super::Sink;
use crate::error::SinkError;
use chrono::{SecondsFormat, Utc};
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;
use trailwatch_model::{Alert, Severity};

/// What the syslog message carries after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogBody {
    Cef,
    Json,
}

/// Where and how to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogConfig {
    /// `host:port` of the collector.
    pub address: String,
    /// Syslog facility, 0–23; 10 (security/authorization) by default.
    pub facility: u8,
    /// HOSTNAME field; `-` when empty.
    pub hostname: String,
    pub app_name: String,
    pub body: SyslogBody,
    pub timeout: Duration,
}

impl SyslogConfig {
    pub fn new(address: impl Into<String>, body: SyslogBody) -> Self {
        SyslogConfig {
            address: address.into(),
            facility: 10,
            hostname: String::new(),
            app_name: "trailwatch".to_string(),
            body,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Sends each alert as one framed syslog message on a fresh TCP connection.
pub struct SyslogSink {
    name: String,
    config: SyslogConfig,
}

impl SyslogSink {
    pub fn new(name: impl Into<String>, config: SyslogConfig) -> Result<Self, SinkError> {
        if config.facility > 23 {
            return Err(SinkError::Config(format!(
                "syslog facility {} is not 0-23",
                config.facility
            )));
        }
        Ok(SyslogSink {
            name: name.into(),
            config,
        })
    }

    /// The RFC 5424 message (without framing) for `alert`.
    pub fn message(&self, alert: &Alert) -> Result<String, SinkError> {
        let c = &self.config;
        let pri = u16::from(c.facility) * 8 + u16::from(syslog_severity(alert.severity));
        let msg = match c.body {
            SyslogBody::Cef => cef_line(alert),
            SyslogBody::Json => serde_json::to_string(alert)?,
        };
        Ok(format!(
            "<{pri}>1 {} {} {} {} {} - {msg}",
            Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            header_field(&c.hostname, 255),
            header_field(&c.app_name, 48),
            std::process::id(),
            match c.body {
                SyslogBody::Cef => "cef",
                SyslogBody::Json => "alert",
            },
        ))
    }

    fn connect(&self) -> Result<TcpStream, SinkError> {
        let addrs: Vec<SocketAddr> = self.config.address.to_socket_addrs()?.collect();
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.config.timeout) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => SinkError::Io(e),
            None => SinkError::Config(format!(
                "syslog address {} resolves to nothing",
                self.config.address
            )),
        })
    }
}

/// RFC 5424 severity: critical → 2 (crit) … informational → 6 (info).
fn syslog_severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Informational => 6,
    }
}

/// A header field as RFC 5424 allows it: printable US-ASCII without spaces, at most `max`
/// characters, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(max)
        .collect();
    if cleaned.is_empty() {
        "-".to_string()
    } else {
        cleaned
    }
}

/// Octet-counting framing: `<length in bytes> <message>`.
pub(crate) fn frame(message: &str) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

impl Sink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        let framed = frame(&self.message(alert)?);
        let mut stream = self.connect()?;
        stream.set_write_timeout(Some(self.config.timeout))?;
        stream.write_all(&framed)?;
        stream.flush()?;
        stream.shutdown(std::net::Shutdown::Write)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{frame, header_field};

    #[test]
    fn framing_counts_bytes_not_chars() {
        assert_eq!(frame("é"), "2 é".as_bytes());
    }

    #[test]
    fn header_fields_are_printable() {
        assert_eq!(header_field("", 10), "-");
        assert_eq!(header_field("a b\nc", 10), "a_b_c");
        assert_eq!(header_field("abcdef", 3), "abc");
    }
}
