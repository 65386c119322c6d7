//! A generic webhook: the alert's (or report's) JSON, POSTed and signed with HMAC-SHA256.

use super::http::HttpPoster;
use super::Sink;
use crate::config::{de_opt_duration, env, BuildSink};
use crate::error::SinkError;
use crate::report::Report;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::time::Duration;
use trailwatch_model::Alert;

/// The header carrying `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Trailwatch-Signature";

/// The header carrying the alert's id: the same on every retry of a delivery, so that a
/// receiver that got a delivery whose success the sender never recorded (a crash between the
/// 200 and the outbox commit) can drop the repeat.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// POSTs each alert as JSON (the `Alert` serialization) with a signature header a receiver
/// verifies with the shared secret.
pub struct WebhookSink {
    name: String,
    url: String,
    secret: Vec<u8>,
    http: HttpPoster,
}

impl WebhookSink {
    pub fn new(
        name: impl Into<String>,
        url: impl Into<String>,
        secret: impl Into<Vec<u8>>,
    ) -> Self {
        let secret = secret.into();
        // Never printed; registered all the same, so that no message can carry it.
        if let Ok(text) = std::str::from_utf8(&secret) {
            crate::secret::register(text);
        }
        WebhookSink {
            name: name.into(),
            url: url.into(),
            secret,
            http: HttpPoster::new(Duration::from_secs(10)),
        }
    }

    /// The same sink with another request timeout (10 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = HttpPoster::new(timeout);
        self
    }
}

/// The keys of a `kind = "webhook"` sink.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// Where alerts are POSTed.
    pub url: String,
    /// The environment variable holding the signing secret; without it the signature is made
    /// with an empty key (and a warning is logged).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The whole-request timeout (10 s when absent).
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub timeout: Option<Duration>,
}

impl BuildSink for WebhookSinkConfig {
    fn secret_vars(&self) -> Vec<&str> {
        self.secret_env.iter().map(String::as_str).collect()
    }

    fn build(&self, name: &str) -> Result<Box<dyn Sink>, SinkError> {
        let secret = match &self.secret_env {
            Some(var) => env(var)?,
            None => {
                tracing::warn!(sink = %name, "webhook without secret_env: signed with an empty key");
                String::new()
            }
        };
        let mut sink = WebhookSink::new(name, &self.url, secret.into_bytes());
        if let Some(t) = self.timeout {
            sink = sink.with_timeout(t);
        }
        Ok(Box::new(sink))
    }

    fn carries_reports(&self) -> bool {
        true
    }
}

/// `sha256=<lowercase hex HMAC-SHA256 of body under secret>`: the signature header's value.
pub fn sign(secret: &[u8], body: &[u8]) -> Result<String, SinkError> {
    // HMAC takes a key of any length; the error exists only in the generic key API.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .map_err(|e| SinkError::Config(format!("webhook secret: {e}")))?;
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::from("sha256=");
    trailwatch_model::hex::encode_into(&mut out, &digest);
    Ok(out)
}

impl WebhookSink {
    /// POSTs `body` with its signature and `key` as the idempotency key.
    fn post_signed(&self, body: &[u8], key: &str) -> Result<(), SinkError> {
        let signature = sign(&self.secret, body)?;
        self.http.post_json(
            &self.url,
            &[(SIGNATURE_HEADER, &signature), (IDEMPOTENCY_HEADER, key)],
            body,
        )
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send(&self, alert: &Alert) -> Result<(), SinkError> {
        self.post_signed(&serde_json::to_vec(alert)?, &alert.id)
    }

    /// The report's JSON (`{"kind":"report",…}`, [`Report::to_json`]), signed as alerts are.
    fn send_report(&self, report: &Report) -> Result<(), SinkError> {
        self.post_signed(&report.to_json()?, &report.safe_id())
    }
}

#[cfg(test)]
mod tests {
    use super::sign;

    #[test]
    fn signature_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?")
                .ok()
                .as_deref(),
            Some("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }
}
