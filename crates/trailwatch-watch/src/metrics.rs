//! Prometheus metrics: counters and gauges kept in memory, served as text on an optional port
//! (`GET /metrics`).
//!
//! The endpoint answers each connection on a thread of its own (at most
//! [`MAX_CONNECTIONS`] at once, more get `503`), and a client has [`REQUEST_TIMEOUT`] to send
//! its request and take the answer, so a slow or silent client neither stalls the others nor
//! holds a thread for long. Beyond loopback it needs a bearer token (`[metrics] token_env`
//! names the variable holding it); with a token every request must carry it, or gets `401`.
//! The token is never logged.
//!
//! Label values come from object keys and alerts (attacker-influenced): they are escaped as the
//! exposition format requires (backslash, double quote, newline), so no value can end a label or
//! start a forged sample.

use crate::config::MetricsSection;
use crate::error::WatchError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Families {
    /// name → (help, type, samples)
    map: BTreeMap<&'static str, (&'static str, &'static str, BTreeMap<Labels, f64>)>,
}

/// The watcher's metrics; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Families>>,
}

/// The metric names.
pub mod names {
    pub const EVENTS_IN: &str = "trailwatch_events_ingested_total";
    pub const OBJECTS_IN: &str = "trailwatch_objects_read_total";
    pub const OBJECT_ERRORS: &str = "trailwatch_object_errors_total";
    pub const LAG: &str = "trailwatch_source_lag_seconds";
    pub const LAST_POLL: &str = "trailwatch_source_last_poll_timestamp_seconds";
    pub const ALERTS: &str = "trailwatch_alerts_total";
    pub const SINK_SENT: &str = "trailwatch_sink_deliveries_total";
    pub const SINK_FAILURES: &str = "trailwatch_sink_failures_total";
    pub const PENDING: &str = "trailwatch_outbox_pending_deliveries";
    pub const ORIGIN_LAST: &str = "trailwatch_origin_last_object_timestamp_seconds";
    pub const LATE_EVENTS: &str = "trailwatch_late_events_total";
    pub const TOO_LATE_EVENTS: &str = "trailwatch_too_late_events_total";
}

fn help(name: &str) -> (&'static str, &'static str) {
    use names::*;
    match name {
        EVENTS_IN => ("Events newly stored, per source.", "counter"),
        OBJECTS_IN => ("Objects (or appended parts of objects) read, per source.", "counter"),
        OBJECT_ERRORS => ("Objects that could not be read or decoded, per source.", "counter"),
        LAG => ("Seconds from an object's last-modified time to its events being stored and hunted, for the last object of a source.", "gauge"),
        LAST_POLL => ("When a source was last listed, Unix seconds.", "gauge"),
        ALERTS => ("New alerts (incidents) put in the outbox, by severity.", "counter"),
        SINK_SENT => ("Alert deliveries a sink took.", "counter"),
        SINK_FAILURES => ("Alert deliveries that failed (and will be retried).", "counter"),
        PENDING => ("Deliveries in the outbox not yet made.", "gauge"),
        ORIGIN_LAST => ("Last-modified time of the newest object per source, account and region, Unix seconds.", "gauge"),
        LATE_EVENTS => ("Events read after the reorder window had passed their time: they got every signature detection and joined the windows still open.", "counter"),
        TOO_LATE_EVENTS => ("Late events that came too late for the attack chains, bursts and baselines.", "counter"),
        _ => ("", "untyped"),
    }
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Families) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut g)
    }

    fn entry<'a>(fam: &'a mut Families, name: &'static str, labels: Labels) -> &'a mut f64 {
        let (h, t) = help(name);
        fam.map
            .entry(name)
            .or_insert_with(|| (h, t, BTreeMap::new()))
            .2
            .entry(labels)
            .or_insert(0.0)
    }

    /// Adds `by` to a counter.
    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], by: f64) {
        let labels = owned(labels);
        self.with(|f| *Self::entry(f, name, labels) += by);
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        let labels = owned(labels);
        self.with(|f| *Self::entry(f, name, labels) = value);
    }

    /// A value, for tests and summaries (0 when never set).
    pub fn get(&self, name: &'static str, labels: &[(&'static str, &str)]) -> f64 {
        let labels = owned(labels);
        self.with(|f| {
            f.map
                .get(name)
                .and_then(|(_, _, s)| s.get(&labels))
                .copied()
                .unwrap_or(0.0)
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        self.with(|f| {
            let mut out = String::new();
            for (name, (help, kind, samples)) in &f.map {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for (labels, v) in samples {
                    out.push_str(name);
                    if !labels.is_empty() {
                        out.push('{');
                        for (i, (k, val)) in labels.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            let _ = write!(out, "{k}=\"{}\"", escape_label(val));
                        }
                        out.push('}');
                    }
                    let _ = writeln!(out, " {v}");
                }
            }
            out
        })
    }

    /// Serves `/metrics` on `addr` from a background thread, a thread per connection (at most
    /// [`ServeOptions::max_connections`] at once); returns the bound address. An address
    /// beyond loopback is refused without a token.
    pub fn serve(&self, addr: &str, options: ServeOptions) -> Result<SocketAddr, WatchError> {
        let err = |source| WatchError::Metrics {
            addr: addr.to_string(),
            source,
        };
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs().map_err(err)?.collect();
        let beyond_loopback = addrs.iter().any(|a| !a.ip().to_canonical().is_loopback());
        if beyond_loopback && options.token.is_none() {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "refusing to serve metrics beyond loopback without authentication: set [metrics] \
                 token_env to the name of an environment variable holding a bearer token, or \
                 listen on 127.0.0.1",
            )));
        }
        let listener = TcpListener::bind(&addrs[..]).map_err(err)?;
        let bound = listener.local_addr().map_err(err)?;
        let metrics = self.clone();
        let authenticated = options.token.is_some();
        let options = Arc::new(options);
        std::thread::Builder::new()
            .name("trailwatch-metrics".into())
            .spawn(move || accept_loop(&listener, &metrics, &options))
            .map_err(err)?;
        tracing::info!(%bound, authenticated, "metrics on http://{bound}/metrics");
        Ok(bound)
    }
}

/// The bearer token the endpoint requires. Never shown: its `Debug` is redacted.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A token; `None` when `value` is empty or only whitespace.
    pub fn new(value: &str) -> Option<Token> {
        let value = value.trim();
        (!value.is_empty()).then(|| Token(value.to_string()))
    }

    /// Whether `offered` is this token, in time independent of where they differ (both are
    /// hashed, and the digests compared in full).
    fn matches(&self, offered: &str) -> bool {
        let (a, b) = (
            Sha256::digest(self.0.as_bytes()),
            Sha256::digest(offered.as_bytes()),
        );
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// How the endpoint serves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Required as `Authorization: Bearer <token>` on every request when set; must be set to
    /// serve beyond loopback.
    pub token: Option<Token>,
    /// Reading a request and writing its answer, together; a client slower than this is cut.
    pub request_timeout: Duration,
    /// Connections served at once; more are answered `503` and closed.
    pub max_connections: usize,
}

/// Reading and writing one request, by default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once, by default.
pub const MAX_CONNECTIONS: usize = 32;
/// The longest request head (request line and headers) read.
const MAX_HEAD: usize = 16 * 1024;

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            token: None,
            request_timeout: REQUEST_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

impl ServeOptions {
    /// The options of a `[metrics]` section: the token is read from the variable `token_env`
    /// names, which must then be set and not empty.
    pub fn from_config(section: &MetricsSection) -> Result<ServeOptions, WatchError> {
        let token = match &section.token_env {
            None => None,
            Some(var) => {
                let value = std::env::var(var).unwrap_or_default();
                Some(Token::new(&value).ok_or_else(|| WatchError::Metrics {
                    addr: section.listen.clone().unwrap_or_default(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("[metrics] token_env names {var}, which is not set or is empty"),
                    ),
                })?)
            }
        };
        Ok(ServeOptions {
            token,
            ..ServeOptions::default()
        })
    }
}

/// Accepts connections for ever, each answered on a thread of its own.
fn accept_loop(listener: &TcpListener, metrics: &Metrics, options: &Arc<ServeOptions>) {
    let active = Arc::new(AtomicUsize::new(0));
    let busy = refuser();
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and the like: do not spin.
                tracing::debug!(error = %e, "metrics accept");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if active.load(Ordering::Acquire) >= options.max_connections.max(1) {
            // Refused on a thread of its own; when even that is behind, just closed.
            if let Some(busy) = &busy {
                let _ = busy.try_send(conn);
            }
            continue;
        }
        let slot = Slot::take(&active);
        let (metrics, options) = (metrics.clone(), Arc::clone(options));
        let spawned = std::thread::Builder::new()
            .name("trailwatch-metrics-conn".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let _slot = slot;
                if let Err(e) = answer(&metrics, conn, &options) {
                    tracing::debug!(error = %e, "metrics request");
                }
            });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "metrics connection thread");
        }
    }
}

/// One of the connections being served; given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>) -> Slot {
        active.fetch_add(1, Ordering::AcqRel);
        Slot(Arc::clone(active))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A thread answering `503` to the connections handed to it (a few at most wait), so that
/// refusing never holds up accepting.
fn refuser() -> Option<std::sync::mpsc::SyncSender<TcpStream>> {
    let (send, receive) = std::sync::mpsc::sync_channel::<TcpStream>(16);
    let spawned = std::thread::Builder::new()
        .name("trailwatch-metrics-busy".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            for conn in receive {
                refuse_busy(conn);
            }
        });
    match spawned {
        Ok(_) => Some(send),
        Err(e) => {
            tracing::debug!(error = %e, "metrics refusal thread");
            None
        }
    }
}

/// Answers `503` and closes, after reading (briefly) what the client sent: closing a socket
/// with unread data resets the connection, and the client would lose the answer.
fn refuse_busy(mut conn: TcpStream) {
    let _ = conn.set_write_timeout(Some(Duration::from_millis(500)));
    let _ = conn.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(250)));
    let _ = std::io::copy(&mut (&conn).take(MAX_HEAD as u64), &mut std::io::sink());
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
}

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Reads one request and answers it, all within `options.request_timeout`.
fn answer(metrics: &Metrics, mut conn: TcpStream, options: &ServeOptions) -> std::io::Result<()> {
    let deadline = Instant::now() + options.request_timeout;
    let head = read_head(&mut conn, deadline)?;
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let mut parts = lines.next().unwrap_or("").split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let authorized = match &options.token {
        None => true,
        Some(token) => bearer(lines).is_some_and(|offered| token.matches(offered)),
    };
    let response = if !authorized {
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"trailwatch\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    } else if method == "GET" && (path == "/metrics" || path.starts_with("/metrics?")) {
        let body = metrics.render();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    };
    write_by(&mut conn, response.as_bytes(), deadline)
}

/// The token of an `Authorization: Bearer <token>` header among `headers`.
fn bearer<'a>(headers: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    headers.into_iter().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("authorization") {
            return None;
        }
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    })
}

/// The time left until `deadline`, or a timeout error when none is.
fn left(deadline: Instant) -> std::io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "request timed out",
        ));
    }
    Ok(left)
}

/// The request line and headers (through the empty line), read by `deadline`; at most
/// [`MAX_HEAD`] bytes.
fn read_head(conn: &mut TcpStream, deadline: Instant) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        conn.set_read_timeout(Some(left(deadline)?))?;
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(head);
        }
        head.extend_from_slice(&buf[..n]);
        let window = &head[head.len().saturating_sub(n + 3)..];
        if window.windows(4).any(|w| w == b"\r\n\r\n") || window.windows(2).any(|w| w == b"\n\n") {
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
    }
}

/// Writes all of `bytes` by `deadline`, in pieces so that a client reading slowly is cut.
fn write_by(conn: &mut TcpStream, bytes: &[u8], deadline: Instant) -> std::io::Result<()> {
    for piece in bytes.chunks(16 * 1024) {
        conn.set_write_timeout(Some(left(deadline)?))?;
        conn.write_all(piece)?;
    }
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_label_values_cannot_forge_samples() {
        let m = Metrics::default();
        m.add(names::EVENTS_IN, &[("source", "a\"} 1e9\nforged 1")], 3.0);
        let text = m.render();
        assert!(
            text.contains(r#"trailwatch_events_ingested_total{source="a\"} 1e9\nforged 1"} 3"#),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.starts_with("forged")), "{text}");
    }

    #[test]
    fn counters_add_gauges_set_and_the_endpoint_serves_them() {
        let m = Metrics::default();
        m.add(names::ALERTS, &[("severity", "high")], 1.0);
        m.add(names::ALERTS, &[("severity", "high")], 2.0);
        m.set(names::LAG, &[("source", "s")], 4.5);
        m.set(names::LAG, &[("source", "s")], 1.5);
        assert_eq!(m.get(names::ALERTS, &[("severity", "high")]), 3.0);
        assert_eq!(m.get(names::LAG, &[("source", "s")]), 1.5);
        let addr = m
            .serve("127.0.0.1:0", ServeOptions::default())
            .expect("serve");
        let mut c = TcpStream::connect(addr).expect("connect");
        c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut resp = String::new();
        c.read_to_string(&mut resp).expect("read");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(
            resp.contains("# TYPE trailwatch_alerts_total counter"),
            "{resp}"
        );
        assert!(
            resp.contains("trailwatch_alerts_total{severity=\"high\"} 3"),
            "{resp}"
        );
        let mut c = TcpStream::connect(addr).expect("connect");
        c.write_all(b"GET /other HTTP/1.1\r\n\r\n").expect("write");
        let mut resp = String::new();
        c.read_to_string(&mut resp).expect("read");
        assert!(resp.starts_with("HTTP/1.1 404"), "{resp}");
    }

    /// Sends `request` to `addr` and reads the whole answer (the server closes).
    fn exchange(addr: SocketAddr, request: &str) -> String {
        let mut c = TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        c.write_all(request.as_bytes()).expect("write");
        let mut resp = String::new();
        c.read_to_string(&mut resp).expect("read");
        resp
    }

    fn loopback(addr: SocketAddr) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    }

    /// Reads from a client that sent a partial request until the server closes it; how long
    /// that took.
    fn time_to_close(mut c: TcpStream, since: Instant) -> Duration {
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut resp = Vec::new();
        match c.read_to_end(&mut resp) {
            Ok(_) => assert!(resp.is_empty(), "{}", String::from_utf8_lossy(&resp)),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
        since.elapsed()
    }

    #[test]
    fn a_slow_client_neither_stalls_another_nor_outlives_the_timeout() {
        let m = Metrics::default();
        m.add(names::ALERTS, &[("severity", "low")], 1.0);
        let options = ServeOptions {
            request_timeout: Duration::from_secs(1),
            ..ServeOptions::default()
        };
        let addr = m.serve("127.0.0.1:0", options).expect("serve");
        let opened = Instant::now();
        let silent = TcpStream::connect(addr).expect("connect");
        let mut half = TcpStream::connect(addr).expect("connect");
        half.write_all(b"GET /metr").expect("write");
        std::thread::sleep(Duration::from_millis(100));

        let asked = Instant::now();
        let resp = exchange(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let took = asked.elapsed();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(
            resp.contains("trailwatch_alerts_total{severity=\"low\"} 1"),
            "{resp}"
        );
        assert!(took < Duration::from_millis(500), "answered after {took:?}");

        for slow in [silent, half] {
            let cut = time_to_close(slow, opened);
            assert!(
                cut >= Duration::from_millis(900) && cut < Duration::from_secs(4),
                "cut after {cut:?}"
            );
        }
    }

    #[test]
    fn connections_past_the_cap_get_503_at_once() {
        let m = Metrics::default();
        let options = ServeOptions {
            request_timeout: Duration::from_secs(2),
            max_connections: 1,
            ..ServeOptions::default()
        };
        let addr = m.serve("127.0.0.1:0", options).expect("serve");
        let holder = TcpStream::connect(addr).expect("connect");
        std::thread::sleep(Duration::from_millis(100));
        let asked = Instant::now();
        let resp = exchange(addr, "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
        assert!(asked.elapsed() < Duration::from_millis(500));
        // Once the holder is cut, the slot is free again.
        let _ = time_to_close(holder, asked);
        std::thread::sleep(Duration::from_millis(100));
        let resp = exchange(addr, "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    }

    #[test]
    fn beyond_loopback_the_endpoint_refuses_to_start_without_a_token() {
        let m = Metrics::default();
        let err = m
            .serve("0.0.0.0:0", ServeOptions::default())
            .expect_err("an open endpoint without a token");
        let text = err.to_string();
        assert!(
            text.contains("0.0.0.0:0") && text.contains("token_env"),
            "{text}"
        );
        // Loopback, IPv4 or IPv6, needs none.
        m.serve("127.0.0.1:0", ServeOptions::default())
            .expect("loopback");
        if std::net::TcpListener::bind("[::1]:0").is_ok() {
            m.serve("[::1]:0", ServeOptions::default())
                .expect("IPv6 loopback");
        }
    }

    #[test]
    fn with_a_token_only_requests_carrying_it_are_answered() {
        let m = Metrics::default();
        m.set(names::PENDING, &[], 4.0);
        let options = ServeOptions {
            token: Token::new("s3cret-Token.42"),
            ..ServeOptions::default()
        };
        assert!(!format!("{options:?}").contains("s3cret"), "{options:?}");
        let addr = loopback(m.serve("0.0.0.0:0", options).expect("serve with a token"));
        let get = |auth: &str| {
            exchange(
                addr,
                &format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}\r\n"),
            )
        };
        for refused in [
            "",
            "Authorization: Bearer wrong\r\n",
            "Authorization: Bearer s3cret-Token.4\r\n",
            "Authorization: Bearer s3cret-Token.42x\r\n",
            "Authorization: Basic czNjcmV0LVRva2VuLjQy\r\n",
            "X-Authorization: Bearer s3cret-Token.42\r\n",
        ] {
            let resp = get(refused);
            assert!(resp.starts_with("HTTP/1.1 401"), "{refused:?}: {resp}");
            assert!(resp.contains("WWW-Authenticate: Bearer"), "{resp}");
            assert!(!resp.contains("trailwatch_outbox"), "{resp}");
        }
        for accepted in [
            "Authorization: Bearer s3cret-Token.42\r\n",
            "authorization:   bearer s3cret-Token.42  \r\n",
        ] {
            let resp = get(accepted);
            assert!(resp.starts_with("HTTP/1.1 200"), "{accepted:?}: {resp}");
            assert!(
                resp.contains("trailwatch_outbox_pending_deliveries 4"),
                "{resp}"
            );
        }
    }

    #[test]
    fn the_token_comes_from_the_variable_token_env_names() {
        let var = format!("TRAILWATCH_TEST_METRICS_TOKEN_{}", std::process::id());
        let section = MetricsSection {
            listen: Some("0.0.0.0:9464".into()),
            token_env: Some(var.clone()),
        };
        let err = ServeOptions::from_config(&section).expect_err("the variable is not set");
        assert!(err.to_string().contains(&var), "{err}");
        std::env::set_var(&var, "  ");
        assert!(
            ServeOptions::from_config(&section).is_err(),
            "an empty token"
        );
        std::env::set_var(&var, "tok");
        let options = ServeOptions::from_config(&section).expect("set");
        assert!(options
            .token
            .is_some_and(|t| t.matches("tok") && !t.matches("to")));
        std::env::remove_var(&var);
        let none = MetricsSection {
            listen: Some("127.0.0.1:9464".into()),
            token_env: None,
        };
        assert!(ServeOptions::from_config(&none)
            .expect("no token")
            .token
            .is_none());
    }
}
