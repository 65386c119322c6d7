//! Test helpers: moto's S3 server on loopback (PyPI `moto[server]`), started by the tests and
//! killed on drop, and boto3 to fill it; Azurite likewise; and what a batch hunt of the same
//! files finds, for comparison. Missing moto fails the test: it is not skipped.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            // Not piped: moto logs every request, and an unread pipe would stall it.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server (pip install 'moto[server]==5.2.1')");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto server exited ({status}); pip install 'moto[server]==5.2.1'");
            }
            assert!(
                Instant::now() < deadline,
                "moto server did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Runs boto3 code with `s3` bound to a client of this server.
    pub fn boto(&self, code: &str) {
        self.boto_output(code);
    }

    /// Runs boto3 code with `s3` and `sqs` bound to clients of this server; its standard
    /// output.
    pub fn boto_output(&self, code: &str) -> String {
        let script = format!(
            "import boto3, os, sys\nkw = dict(endpoint_url={url:?}, region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\ns3 = boto3.client('s3', **kw)\nsqs = boto3.client('sqs', **kw)\n{code}\n",
            url = self.url
        );
        // The script goes on standard input: an upload list can outgrow the argument limit.
        let mut child = Command::new("python3")
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, script.as_bytes()).expect("script to python3");
        }
        let out = child.wait_with_output().expect("python3");
        assert!(
            out.status.success(),
            "boto3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.boto(&format!("s3.create_bucket(Bucket={bucket:?})"));
    }

    /// Uploads `(local file, key)` pairs.
    pub fn upload(&self, bucket: &str, files: &[(&Path, String)]) {
        let pairs: Vec<String> = files
            .iter()
            .map(|(p, k)| format!("({:?}, {k:?})", p.display().to_string()))
            .collect();
        self.boto(&format!(
            "for p, k in [{}]:\n    s3.upload_file(p, {bucket:?}, k)",
            pairs.join(", ")
        ));
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Azurite's Blob service on loopback (npm `azurite`, installed by `.ci/run` into
/// `~/.cache/trailwatch/azurite`, or named by `$TRAILWATCH_AZURITE`), killed on drop; blobs are
/// written with the Azure SDK for Python (PyPI `azure-storage-blob`). Missing either fails.
pub struct Azurite {
    child: Child,
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

/// Azurite's well-known development account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

impl Azurite {
    pub fn start() -> Azurite {
        let bin = std::env::var_os("TRAILWATCH_AZURITE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/trailwatch/azurite/node_modules/.bin/azurite-blob")
            });
        assert!(
            bin.is_file(),
            "{}: azurite not installed (npm install --prefix ~/.cache/trailwatch/azurite azurite@3.37.0, or set TRAILWATCH_AZURITE)",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(&bin)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--silent",
                "--skipApiVersionCheck",
                "--loose",
                "--location",
            ])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("azurite-blob");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("azurite exited ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "azurite did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Azurite {
            child,
            endpoint: format!("http://127.0.0.1:{port}/devstoreaccount1"),
            _dir: dir,
        }
    }

    /// Runs Python with `svc` bound to a BlobServiceClient of this server.
    pub fn python(&self, code: &str) {
        let script = format!(
            "from azure.storage.blob import BlobServiceClient\nsvc = BlobServiceClient.from_connection_string('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint={}')\n{code}\n",
            self.endpoint
        );
        let mut child = Command::new("python3")
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, script.as_bytes()).expect("script");
        }
        let out = child.wait_with_output().expect("python3");
        assert!(
            out.status.success(),
            "azure-storage-blob (pip install 'azure-storage-blob==12.27.1'): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Appends `data` to the append blob `name` of `container`, creating it if needed.
    pub fn append(&self, container: &str, name: &str, data: &[u8]) {
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        self.python(&format!(
            "b = svc.get_blob_client({container:?}, {name:?})\nif not b.exists():\n    b.create_append_blob()\nb.append_block(bytes.fromhex({hex:?}))"
        ));
    }
}

impl Azurite {
    /// Uploads every file below `root` into `container` as an append blob named by its path
    /// below `root`, in one Python process (blocks of at most 4 MiB, as the API allows).
    pub fn upload_tree(&self, container: &str, root: &Path) {
        let root = root.display().to_string();
        self.python(&format!(
            "import os\nroot = {root:?}\nfor d, _, names in os.walk(root):\n    for n in names:\n        p = os.path.join(d, n)\n        b = svc.get_blob_client({container:?}, os.path.relpath(p, root))\n        b.create_append_blob()\n        data = open(p, 'rb').read()\n        for i in range(0, len(data), 4 << 20):\n            b.append_block(data[i:i + (4 << 20)])"
        ));
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a batch hunt with the built-in rules at `low` finds in `files`.
/// The `.json.gz` files below `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    out.sort();
    out
}

pub fn batch_alerts(files: &[PathBuf]) -> Vec<trailwatch_model::Alert> {
    let pack = trailwatch_detect::RulePack::load(true, &[], trailwatch_model::Severity::Low)
        .expect("rules");
    let inputs: Vec<_> = files
        .iter()
        .map(|p| trailwatch_decode::Input::File {
            path: p.clone(),
            size: std::fs::metadata(p).expect("meta").len(),
        })
        .collect();
    // What a default hunt and a watch without detection sections run: the rules, their
    // correlations and the attack chains.
    let engine = trailwatch_detect::EngineOptions::resolve(Default::default(), false, false, false);
    let opts = trailwatch_detect::PipelineOptions::new(
        trailwatch_detect::HuntOptions::default(),
        engine,
        trailwatch_model::Severity::Low,
        0,
    );
    let mut pipeline = trailwatch_detect::Pipeline::new(&pack, opts);
    pipeline.feed(&inputs, &|_| {}, &|_| {});
    let done = pipeline.finish(0).expect("finish");
    done.alerts.iter().map(|p| p.to_alert()).collect()
}

/// The incidents (`incident_key`) of [`batch_alerts`].
pub fn expected_incidents(files: &[PathBuf]) -> BTreeSet<String> {
    batch_alerts(files)
        .iter()
        .map(trailwatch_watch::incident_key)
        .collect()
}
