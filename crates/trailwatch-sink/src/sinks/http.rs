//! The blocking HTTP POST shared by the webhook and Slack sinks.

use crate::error::SinkError;
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
            Err(ureq::Error::Transport(t)) => Err(SinkError::HttpTransport(t.to_string())),
        }
    }
}
