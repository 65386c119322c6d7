//! Helpers for the end-to-end tests: run the real binary with a time limit, parse its output,
//! and build synthetic audit records.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest any single command may take before the test fails (a hang is a bug, not a wait).
pub const TIME_LIMIT: Duration = Duration::from_secs(240);

pub fn shared() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../../../shared")
}

pub fn datasets() -> PathBuf {
    shared().join("datasets")
}

pub fn sigma() -> PathBuf {
    shared().join("sigma")
}

pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code; fails the test if the process died from a signal.
    pub fn code(&self) -> i32 {
        self.code.unwrap_or_else(|| {
            panic!(
                "trailwatch {:?} was killed by a signal\nstderr:\n{}",
                self.args, self.stderr
            )
        })
    }

    pub fn context(&self) -> String {
        format!(
            "trailwatch {:?}\nexit: {:?}\nstderr:\n{}\nstdout (first 4000 bytes):\n{}",
            self.args,
            self.code,
            self.stderr,
            &self.stdout[..floor_char(&self.stdout, 4000)]
        )
    }

    pub fn assert_code(&self, want: i32) -> &Self {
        assert_eq!(
            self.code(),
            want,
            "unexpected exit code\n{}",
            self.context()
        );
        self
    }

    /// The alerts of a `--format jsonl` run, each line checked to be a JSON object.
    pub fn alerts(&self) -> Vec<Value> {
        jsonl(&self.stdout, &self.context())
    }

    /// The run-summary line on stderr (`trailwatch: read A of B files, N records ...`).
    pub fn summary_line(&self) -> &str {
        self.stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("trailwatch: read ") && l.contains(" records"))
            .unwrap_or_else(|| panic!("no run summary line on stderr\n{}", self.context()))
    }

    /// Records read, from the run summary.
    pub fn records_read(&self) -> u64 {
        let line = self.summary_line();
        let after = line
            .split(" files, ")
            .nth(1)
            .unwrap_or_else(|| panic!("summary line: {line}"));
        after
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("summary line: {line}"))
    }
}

fn floor_char(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub fn jsonl(text: &str, ctx: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {l}\n{ctx}", i + 1));
            assert!(
                v.is_object(),
                "line {} is not a JSON object: {l}\n{ctx}",
                i + 1
            );
            v
        })
        .collect()
}

/// Runs trailwatch with `args`, feeding `stdin` if given, killing it after [`TIME_LIMIT`].
pub fn run_with_stdin<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: Option<Vec<u8>>) -> Run {
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailwatch"))
        .env(
            "XDG_CONFIG_HOME",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/xdg-config"),
        )
        .args(args)
        .env_remove("TRAILWATCH_LOG")
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start trailwatch");
    let feeder = stdin.map(|data| {
        let mut w = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        })
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for trailwatch") {
            break s;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = String::from_utf8_lossy(&err_t.join().unwrap()).into_owned();
            panic!("trailwatch {shown:?} did not finish within {TIME_LIMIT:?} (hang?)\nstderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let stdout = out_t.join().unwrap();
    let stderr = err_t.join().unwrap();
    Run {
        args: shown,
        code: status.code(),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_with_stdin(args, None)
}

/// Alert field `key` as a list of strings.
pub fn strs(a: &Value, key: &str) -> Vec<String> {
    a[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array in {a}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{key} has a non-string in {a}"))
                .to_string()
        })
        .collect()
}

pub fn s<'a>(a: &'a Value, key: &str) -> &'a str {
    a[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {a}"))
}

pub fn has_action(a: &Value, action: &str) -> bool {
    strs(a, "actions").iter().any(|x| x == action)
}

/// One CloudTrail record by an IAM user.
pub fn ct_record(event_id: &str, time: &str, user: &str, event_name: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": format!("AIDA{}", user.to_uppercase()),
            "arn": format!("arn:aws:iam::111122223333:user/{user}"),
            "accountId": "111122223333",
            "accessKeyId": format!("AKIA{}", user.to_uppercase()),
            "userName": user
        },
        "eventTime": time,
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64",
        "requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail"},
        "responseElements": null,
        "requestID": format!("req-{event_id}"),
        "eventID": event_id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

pub fn write_jsonl(path: &Path, records: &[Value]) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Every `.parquet` file under `dir` (a store's data files), sorted.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(parquet_files(&p));
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// `trailwatch sql QUERY --store STORE` as CSV, every row (past the default cap on printed
/// rows); the run must succeed.
pub fn store_sql_csv(store: &Path, query: &str) -> String {
    let args: [&std::ffi::OsStr; 8] = [
        "sql".as_ref(),
        query.as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
        "--limit".as_ref(),
        "100000000".as_ref(),
    ];
    run(&args).assert_code(0).stdout.clone()
}
