//! Syslog, RFC 5424 over TCP with octet-counting framing (RFC 6587), or over TLS (RFC 5425,
//! with the `tls` feature), carrying a CEF line or the alert's JSON.

use super::cef::cef_line;
use super::Sink;
use crate::config::BuildSink;
use crate::error::SinkError;
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
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
    /// TLS (RFC 5425); plain TCP when `None`.
    pub tls: Option<SyslogTls>,
}

/// How the collector's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyslogTls {
    /// PEM file of the CA certificates to trust (a private PKI); the public web roots when
    /// `None`.
    pub ca_file: Option<std::path::PathBuf>,
    /// The name the certificate must carry; the host of `address` when `None`.
    pub server_name: Option<String>,
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
            tls: None,
        }
    }
}

/// The keys of a `kind = "syslog"` sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSinkConfig {
    /// `host:port` of the collector.
    pub address: String,
    /// The body: `cef` (the default) or `json`.
    #[serde(default = "default_syslog_format")]
    pub format: String,
    /// Syslog facility, 0–23 (10, security/authorization, when absent).
    #[serde(default)]
    pub facility: Option<u8>,
    /// TLS (RFC 5425, usually port 6514); implied by `ca_file` or `server_name`.
    #[serde(default)]
    pub tls: bool,
    /// PEM CA certificates to trust instead of the public roots (a private PKI).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The name the collector's certificate must carry (default: the host of `address`).
    #[serde(default)]
    pub server_name: Option<String>,
}

fn default_syslog_format() -> String {
    "cef".to_string()
}

impl SyslogSinkConfig {
    /// The body `format` names.
    fn body(&self) -> Result<SyslogBody, SinkError> {
        match self.format.as_str() {
            "cef" => Ok(SyslogBody::Cef),
            "json" => Ok(SyslogBody::Json),
            other => Err(SinkError::Config(format!(
                "syslog format {other:?} (expected cef or json)"
            ))),
        }
    }
}

impl BuildSink for SyslogSinkConfig {
    fn validate(&self) -> Result<(), SinkError> {
        self.body().map(|_| ())
    }

    fn build(&self, name: &str) -> Result<Box<dyn Sink>, SinkError> {
        let mut config = SyslogConfig::new(&self.address, self.body()?);
        if let Some(f) = self.facility {
            config.facility = f;
        }
        if self.tls || self.ca_file.is_some() || self.server_name.is_some() {
            config.tls = Some(SyslogTls {
                ca_file: self.ca_file.clone(),
                server_name: self.server_name.clone(),
            });
        }
        Ok(Box::new(SyslogSink::new(name, config)?))
    }
}

/// Sends each alert as one framed syslog message on a fresh TCP connection.
pub struct SyslogSink {
    name: String,
    config: SyslogConfig,
    #[cfg(feature = "tls")]
    tls: Option<tls::Client>,
}

impl SyslogSink {
    pub fn new(name: impl Into<String>, config: SyslogConfig) -> Result<Self, SinkError> {
        if config.facility > 23 {
            return Err(SinkError::Config(format!(
                "syslog facility {} is not 0-23",
                config.facility
            )));
        }
        #[cfg(feature = "tls")]
        let tls = match &config.tls {
            Some(t) => Some(tls::Client::new(t, &config.address)?),
            None => None,
        };
        #[cfg(not(feature = "tls"))]
        if config.tls.is_some() {
            return Err(SinkError::Config(
                "syslog over TLS needs trailwatch built with the `tls` feature".into(),
            ));
        }
        Ok(SyslogSink {
            name: name.into(),
            config,
            #[cfg(feature = "tls")]
            tls,
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
        stream.set_read_timeout(Some(self.config.timeout))?;
        #[cfg(feature = "tls")]
        if let Some(client) = &self.tls {
            return client.send(stream, &framed);
        }
        stream.write_all(&framed)?;
        stream.flush()?;
        stream.shutdown(std::net::Shutdown::Write)?;
        Ok(())
    }
}

/// The TLS side: one rustls client configuration per sink, a session per message.
#[cfg(feature = "tls")]
mod tls {
    use super::SyslogTls;
    use crate::error::SinkError;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpStream};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    pub(super) struct Client {
        config: Arc<rustls::ClientConfig>,
        server_name: ServerName<'static>,
    }

    impl Client {
        pub(super) fn new(t: &SyslogTls, address: &str) -> Result<Client, SinkError> {
            let fail = |why: String| SinkError::Config(format!("syslog TLS: {why}"));
            let mut roots = rustls::RootCertStore::empty();
            match &t.ca_file {
                Some(path) => {
                    let certs = CertificateDer::pem_file_iter(path)
                        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
                    let (added, _) = roots.add_parsable_certificates(certs);
                    if added == 0 {
                        return Err(fail(format!("{}: no CA certificate", path.display())));
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| fail(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = match &t.server_name {
                Some(n) => n.clone(),
                None => host_of(address).to_string(),
            };
            let server_name = ServerName::try_from(name.clone())
                .map_err(|e| fail(format!("server name {name:?}: {e}")))?;
            Ok(Client {
                config: Arc::new(config),
                server_name,
            })
        }

        /// Handshake, the framed message, then close_notify so that the collector knows the
        /// message ended where we meant it to.
        pub(super) fn send(&self, tcp: TcpStream, framed: &[u8]) -> Result<(), SinkError> {
            let conn =
                rustls::ClientConnection::new(Arc::clone(&self.config), self.server_name.clone())
                    .map_err(|e| SinkError::Config(format!("syslog TLS: {e}")))?;
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            tls.write_all(framed)?;
            tls.flush()?;
            tls.conn.send_close_notify();
            while tls.conn.wants_write() {
                tls.conn.write_tls(&mut tls.sock)?;
            }
            tls.sock.shutdown(Shutdown::Write)?;
            drain(&mut tls.sock);
            Ok(())
        }
    }

    /// Reads what the collector still sends (TLS 1.3 session tickets, its close_notify) until
    /// it closes, for at most a second. Closing a socket with unread bytes makes the kernel
    /// answer with a reset, and a reset can discard our message on the collector's side before
    /// it was read (seen in the TLS test: "connection reset by peer" instead of the message).
    fn drain(sock: &mut TcpStream) {
        let _ = sock.set_read_timeout(Some(Duration::from_secs(1)));
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// `host` of `host:port`, `[v6]:port` or a bare host.
    fn host_of(address: &str) -> &str {
        if let Some(rest) = address.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        match address.rsplit_once(':') {
            Some((host, _)) => host,
            None => address,
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn host_is_taken_from_the_address() {
            assert_eq!(super::host_of("siem.example.org:6514"), "siem.example.org");
            assert_eq!(super::host_of("[::1]:6514"), "::1");
            assert_eq!(super::host_of("siem"), "siem");
        }
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
