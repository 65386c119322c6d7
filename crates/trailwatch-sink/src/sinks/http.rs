//! The blocking HTTP POST shared by the webhook and Slack sinks.

use crate::error::SinkError;
use crate::secret::redact;
use std::time::Duration;

/// A POST client with a whole-request timeout.
pub(crate) struct HttpPoster {
    agent: ureq::Agent,
}

impl HttpPoster {
    pub(crate) fn new(timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .user_agent(concat!("trailwatch/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpPoster { agent }
    }

    /// POSTs `body` as JSON with extra `headers`; a 2xx answer is success, anything else an
    /// error.
    pub(crate) fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), SinkError> {
        let mut request = self.agent.post(url).set("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.set(name, value);
        }
        match request.send_bytes(body) {
            Ok(response) if (200..300).contains(&response.status()) => Ok(()),
            Ok(response) => Err(SinkError::HttpStatus {
                status: response.status(),
            }),
            Err(ureq::Error::Status(status, _)) => Err(SinkError::HttpStatus { status }),
            Err(ureq::Error::Transport(t)) => Err(SinkError::HttpTransport(transport_error(&t))),
        }
    }
}

/// A transport failure described without its URL (whose path or query may be a secret, as a
/// Slack webhook's is): the receiver's host and port, what failed and the causes.
fn transport_error(t: &ureq::Transport) -> String {
    let mut out = String::new();
    if let Some(url) = t.url() {
        let host = url.host_str().unwrap_or("?");
        match url.port_or_known_default() {
            Some(port) => out.push_str(&format!("{host}:{port}: ")),
            None => out.push_str(&format!("{host}: ")),
        }
    }
    out.push_str(&t.kind().to_string());
    if let Some(message) = t.message() {
        out.push_str(": ");
        out.push_str(message);
    }
    let mut cause = std::error::Error::source(t);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    // Whatever a message or a cause still quotes of a secret.
    redact(&out).into_owned()
}
