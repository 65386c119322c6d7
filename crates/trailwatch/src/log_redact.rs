//! Keeping secrets out of the log, whatever the level.
//!
//! Two guards: the HTTP clients' own events (they print request URLs, and a Slack webhook's
//! URL is its credential) are never shown below `info`, however verbose the filter; and every
//! line is passed through the process's redactor (`trailwatch_sink::secret`, which knows every
//! secret the configuration named) on its way to stderr.

use std::io::{self, Write};
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Log targets of the HTTP clients (through the `log` bridge for ureq), which print request
/// URLs at debug and trace.
const HTTP_CLIENT_TARGETS: &[&str] = &["ureq", "reqwest", "hyper", "hyper_util", "h2"];

fn is_http_client(target: &str) -> bool {
    HTTP_CLIENT_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Whether an event may be logged at all: the HTTP clients' only at `info` and above.
pub fn allowed(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || !is_http_client(meta.target())
}

/// Writers whose every event is redacted before it reaches `M`'s writer.
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// Collects one event (the formatter writes it, then drops the writer) and writes it
/// redacted, in one piece.
pub struct RedactingWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn emit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf);
        let clean = trailwatch_sink::secret::redact(&text);
        let result = self.inner.write_all(clean.as_bytes());
        self.buf.clear();
        result
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // Nowhere to report a failed write to the log.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
            v.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_secret_written_in_pieces_is_redacted_in_the_line() {
        trailwatch_sink::secret::register("https://hooks.example/T0LOG/B0LOG/l0gT0kenValue");
        let out = Sink::default();
        let shared = out.clone();
        let make = Redacting(move || shared.clone());
        {
            let mut w = make.make_writer();
            // The formatter may write a field in several pieces.
            w.write_all(b"WARN sending to https://hooks.exa").ok();
            w.write_all(b"mple/T0LOG/B0LOG/l0gT0kenValue failed\n").ok();
        }
        let text = String::from_utf8(out.0.lock().map(|v| v.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(text, "WARN sending to [redacted] failed\n");
    }

    #[test]
    fn http_client_targets_are_capped_at_info() {
        for (target, expected) in [
            ("ureq", true),
            ("ureq::unit", true),
            ("hyper_util::client", true),
            ("ureqx", false),
            ("trailwatch_sink", false),
        ] {
            assert_eq!(is_http_client(target), expected, "{target}");
        }
    }
}
