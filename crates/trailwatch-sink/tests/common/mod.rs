//! Test helpers: sample alerts and real receivers on loopback, each serving on its own thread
//! until dropped (and for at most 60 s).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use trailwatch_model::{Alert, Provider, Severity};

pub fn alert(id: &str, severity: Severity, title: &str) -> Alert {
    Alert {
        id: id.to_string(),
        rule_id: "aws_cloudtrail_stop_logging".to_string(),
        title: title.to_string(),
        severity,
        first_seen: "2026-11-20T10:00:00Z".to_string(),
        last_seen: "2026-11-20T10:05:00Z".to_string(),
        count: 3,
        event_ids: vec!["e1".to_string(), "e2".to_string(), "e3".to_string()],
        provider: Provider::Aws,
        account: Some("123456789012".to_string()),
        region: Some("eu-west-1".to_string()),
        principal: "arn:aws:iam::123456789012:user/mallory".to_string(),
        source_ips: vec!["198.51.100.7".to_string()],
        actions: vec!["StopLogging".to_string()],
        resources: vec!["arn:aws:cloudtrail:eu-west-1:123456789012:trail/main".to_string()],
        tags: vec!["attack.defense_evasion".to_string()],
        description: "CloudTrail logging was stopped.".to_string(),
    }
}

/// Locks, recovering the data if a receiver thread panicked (the test then fails on it).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A loopback listener served by `handle` per connection on a thread, stopped on drop.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handle: impl Fn(TcpStream) + Send + 'static) -> Server {
        Server::start_on(0, handle)
    }

    /// A server on a chosen loopback port (0: any free one).
    pub fn start_on(port: u16, handle: impl Fn(TcpStream) + Send + 'static) -> Server {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !flag.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).expect("blocking");
                        stream
                            .set_read_timeout(Some(Duration::from_secs(5)))
                            .expect("timeout");
                        handle(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct HttpLog {
    /// Requests seen, failed ones included.
    pub requests: usize,
    /// Requests answered 200.
    pub accepted: Vec<HttpRequest>,
}

/// An HTTP receiver that fails its first `fail_first` requests — odd ones with HTTP 500, even
/// ones by closing the connection without an answer — and then answers 200.
pub fn http_receiver(fail_first: usize) -> (Server, Arc<Mutex<HttpLog>>) {
    http_receiver_on(0, fail_first)
}

/// [`http_receiver`] on a chosen port (a receiver coming back where it was).
pub fn http_receiver_on(port: u16, fail_first: usize) -> (Server, Arc<Mutex<HttpLog>>) {
    let log = Arc::new(Mutex::new(HttpLog::default()));
    let shared = Arc::clone(&log);
    let server = Server::start_on(port, move |stream| serve_http(stream, fail_first, &shared));
    (server, log)
}

fn serve_http(mut stream: TcpStream, fail_first: usize, log: &Mutex<HttpLog>) {
    let Some(request) = read_http(&stream) else {
        return;
    };
    let n = {
        let mut log = lock(log);
        log.requests += 1;
        log.requests
    };
    if n <= fail_first {
        if n % 2 == 1 {
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        return; // dropping the stream closes it
    }
    lock(log).accepted.push(request);
    let _ =
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

fn read_http(stream: &TcpStream) -> Option<HttpRequest> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':')?;
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest {
        path,
        headers,
        body,
    })
}

#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
pub struct SmtpLog {
    pub connections: usize,
    pub mails: Vec<Mail>,
}

/// A minimal SMTP server: the first `fail_first` connections get `421` and are closed; later
/// ones take mail (EHLO, MAIL, RCPT, DATA, QUIT).
pub fn smtp_receiver(fail_first: usize) -> (Server, Arc<Mutex<SmtpLog>>) {
    let log = Arc::new(Mutex::new(SmtpLog::default()));
    let shared = Arc::clone(&log);
    let server = Server::start(move |stream| {
        let n = {
            let mut log = lock(&shared);
            log.connections += 1;
            log.connections
        };
        if n <= fail_first {
            let mut s = stream;
            let _ = s.write_all(b"421 test.local service not available\r\n");
            return;
        }
        // The mail is logged before `250 queued` goes out, so a client that got its 250 finds
        // it in the log.
        serve_smtp(stream, |mail| lock(&shared).mails.push(mail));
    });
    (server, log)
}

fn serve_smtp(stream: TcpStream, mut on_mail: impl FnMut(Mail)) -> Option<()> {
    let mut out = stream.try_clone().ok()?;
    let mut reader = BufReader::new(stream);
    out.write_all(b"220 test.local ESMTP\r\n").ok()?;
    let mut mail = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 test.local\r\n"
        } else if let Some(rest) = upper.strip_prefix("MAIL FROM:") {
            mail.from = cmd[cmd.len() - rest.len()..].to_string();
            b"250 ok\r\n"
        } else if let Some(rest) = upper.strip_prefix("RCPT TO:") {
            mail.to.push(cmd[cmd.len() - rest.len()..].to_string());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            out.write_all(b"354 go ahead\r\n").ok()?;
            mail.data = read_data(&mut reader)?;
            on_mail(std::mem::take(&mut mail));
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = out.write_all(b"221 bye\r\n");
            break;
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        out.write_all(reply).ok()?;
    }
    Some(())
}

fn read_data(reader: &mut impl BufRead) -> Option<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == ".\r\n" {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

/// A TCP syslog collector parsing octet-counted frames; one connection per entry of the log.
pub fn syslog_receiver() -> (Server, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&log);
    let server = Server::start(move |mut stream| {
        let mut bytes = Vec::new();
        if stream.read_to_end(&mut bytes).is_err() {
            return;
        }
        let frames = parse_frames(&bytes).expect("well-formed octet-counted frames");
        lock(&shared).extend(frames);
    });
    (server, log)
}

/// Splits `LEN SP MSG` frames; `None` when a frame is malformed or truncated.
pub fn parse_frames(mut bytes: &[u8]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let space = bytes.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&bytes[..space]).ok()?.parse().ok()?;
        let rest = &bytes[space + 1..];
        if rest.len() < len {
            return None;
        }
        out.push(String::from_utf8(rest[..len].to_vec()).ok()?);
        bytes = &rest[len..];
    }
    Some(out)
}
