//! The watch configuration: a TOML file (see `trailwatch.example.toml` at the repository root).
//!
//! This module owns `[store]`, `[state]`, `[watch]`, `[[sources]]`, `[[sinks]]` and `[metrics]`
//! (`[posture]` and `[review]` are read by their modules, [`crate::posture`] and
//! [`crate::review`]). The
//! sections `[organization]`, `[detection]`, `[baselines]`, `[[suppressions]]` and `[severity]` belong to
//! trailwatch-baseline:
//! they are kept here as TOML and checked and applied by it (`hygiene`). Any other key, at the
//! top level or inside the sections owned here, is an error naming it.

use crate::error::WatchError;
/// `[[sources]]` entries: each kind's keys, checks and building belong to [`crate::source`].
pub use crate::source::SourceKind;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;
use trailwatch_model::duration::parse_duration;
use trailwatch_model::Severity;
/// `[[sinks]]` entries: each kind's keys, checks and building belong to trailwatch-sink.
pub use trailwatch_sink::config::{SinkConfig, SinkKind};

/// The folder `trailwatch watch` follows when run without a configuration.
pub const DEFAULT_INBOX: &str = "./trailwatch-inbox";

/// A whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub watch: WatchSection,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
    #[serde(default)]
    pub metrics: MetricsSection,
    /// `[state]`: local state of a store on object storage (its working copy).
    #[serde(default)]
    pub state: StateSection,
    /// `[posture]`: the cloud side's logging set-up checked on a schedule.
    #[serde(default)]
    pub posture: Option<crate::posture::PostureSection>,
    /// `[review]`: the daily review sent through the sinks each morning.
    #[serde(default)]
    pub review: Option<crate::review::ReviewSection>,
    /// Checked and applied by trailwatch-baseline (the organisation's accounts).
    #[serde(default)]
    pub organization: Option<toml::Value>,
    /// Checked and applied by trailwatch-baseline (who counts as a suspect).
    #[serde(default)]
    pub detection: Option<toml::Value>,
    /// Checked and applied by trailwatch-baseline (learned baselines and chains).
    #[serde(default)]
    pub baselines: Option<toml::Value>,
    /// Checked and applied by trailwatch-baseline (alerts dropped with a reason).
    #[serde(default)]
    pub suppressions: Option<toml::Value>,
    /// Checked and applied by trailwatch-baseline (severity raised by context).
    #[serde(default)]
    pub severity: Option<toml::Value>,
}

/// `[store]`: where events, checkpoints and the alert outbox live, and what about the store
/// must live outside it (its signing key, the public key an auditor pinned).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The store directory; default `$TRAILWATCH_STORE` or `./trailwatch-data`.
    pub dir: Option<PathBuf>,
    /// The signing key file, created with the store when missing (mode 0600); default
    /// `$XDG_CONFIG_HOME/trailwatch/keys/<store-id>.key` (`~/.config/…`). Never in the store.
    pub signing_key: Option<PathBuf>,
    /// The environment variable holding the signing key (hex of its seed) instead of a file.
    pub signing_key_env: Option<String>,
    /// The store's public key, pinned: hex, or a file holding it. `verify` fails on any other.
    pub public_key: Option<String>,
    /// The append-only file outside the store where the writer publishes each operation's
    /// signed head, and that `verify` checks the store against; default next to the key
    /// (`<key file>.anchors.jsonl`, `…/keys/<store-id>.anchors.jsonl`), not read by verify
    /// unless given.
    pub anchors: Option<PathBuf>,
    /// `[[sinks]]` (by name) each published head is also sent through, as an informational
    /// alert `trailwatch-store-anchor` whose description is the signed anchor line (recorded
    /// resolved: a record, not an incident).
    #[serde(default)]
    pub anchor_sinks: Vec<String>,
    /// `s3://bucket/prefix`: each published head is also written there as its own object,
    /// created only if absent and under Object Lock ([`crate::anchor_bucket`]). A failure
    /// is reported; the head stays in the anchor file and `watch` retries on its next poll.
    pub anchor_bucket: Option<String>,
    /// Another S3 endpoint for the anchor bucket (an S3-compatible service, a test server).
    pub anchor_endpoint: Option<String>,
    /// The anchor bucket's region (default `AWS_REGION`, else `us-east-1`).
    pub anchor_region: Option<String>,
    #[serde(default)]
    pub anchor_allow_http: bool,
    /// `GOVERNANCE` (default) or `COMPLIANCE`.
    pub anchor_lock_mode: Option<String>,
    /// Days each head object is locked (default 365).
    pub anchor_lock_days: Option<u32>,
    /// A store on object storage (`dir = "s3://bucket/prefix"` or `"az://container/prefix"`):
    /// another endpoint (an S3-compatible service, Azurite, a test server); default the
    /// environment's (`AWS_ENDPOINT_URL`, `AZURE_STORAGE_ENDPOINT`), else the cloud's.
    pub endpoint: Option<String>,
    /// The store's S3 region (default `AWS_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Plain http to `endpoint` (tests, emulators).
    #[serde(default)]
    pub allow_http: bool,
    /// S3: write every object of the store (data files, ledger and sources segments, the
    /// public key; not the lease) under Object Lock in this mode (`GOVERNANCE` or
    /// `COMPLIANCE`); the bucket must have Object Lock enabled.
    pub object_lock_mode: Option<String>,
    /// S3: days each object is locked from its writing (default 365 with `object_lock_mode`).
    pub object_lock_days: Option<u32>,
    /// S3: encrypt every object written with this KMS key (SSE-KMS).
    pub kms_key_id: Option<String>,
    /// Minutes a writer's lease on a remote store lasts (default 60).
    pub lease_minutes: Option<u32>,
}

impl StoreSection {
    /// The anchor bucket's configuration, when `anchor_bucket` is set.
    pub fn anchor_bucket(
        &self,
    ) -> Result<Option<crate::anchor_bucket::AnchorBucketConfig>, String> {
        use crate::anchor_bucket::{parse_s3_url, LockMode, DEFAULT_LOCK_DAYS};
        let Some(url) = &self.anchor_bucket else {
            return Ok(None);
        };
        parse_s3_url(url).map_err(|e| format!("[store] anchor_bucket {e}"))?;
        let lock_mode = match &self.anchor_lock_mode {
            Some(m) => LockMode::parse(m).map_err(|e| format!("[store] anchor_lock_mode {e}"))?,
            None => LockMode::Governance,
        };
        let lock_days = self.anchor_lock_days.unwrap_or(DEFAULT_LOCK_DAYS);
        if lock_days == 0 {
            return Err("[store] anchor_lock_days must be at least 1".into());
        }
        Ok(Some(crate::anchor_bucket::AnchorBucketConfig {
            url: url.clone(),
            endpoint: self.anchor_endpoint.clone(),
            region: self.anchor_region.clone(),
            allow_http: self.anchor_allow_http,
            lock_mode,
            lock_days,
        }))
    }

    /// How the store at `url` is reached and written: the keys above. `object_lock_days`
    /// without `object_lock_mode`, or of 0, is an error.
    pub fn remote(
        &self,
        url: trailwatch_remote::StoreUrl,
    ) -> Result<trailwatch_remote::RemoteConfig, String> {
        use trailwatch_remote::{LockMode, Retention};
        let retention = match (&self.object_lock_mode, self.object_lock_days) {
            (Some(m), days) => Some(Retention {
                mode: LockMode::parse(m).map_err(|e| format!("[store] object_lock_mode {e}"))?,
                days: days.unwrap_or(crate::anchor_bucket::DEFAULT_LOCK_DAYS),
            }),
            (None, Some(_)) => {
                return Err("[store] object_lock_days needs object_lock_mode".into());
            }
            (None, None) => None,
        };
        if retention.is_some_and(|r| r.days == 0) {
            return Err("[store] object_lock_days must be at least 1".into());
        }
        Ok(trailwatch_remote::RemoteConfig {
            url,
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            allow_http: self.allow_http,
            retention,
            kms_key_id: self.kms_key_id.clone(),
            lease_minutes: self
                .lease_minutes
                .unwrap_or(trailwatch_remote::DEFAULT_LEASE_MINUTES),
        })
    }

    /// Where the store's signing key is ([`trailwatch_store::KeySource::resolve`]).
    pub fn keys(&self) -> Result<trailwatch_store::KeySource, trailwatch_store::StoreError> {
        trailwatch_store::KeySource::resolve(
            self.signing_key.as_deref(),
            self.signing_key_env.as_deref(),
        )
    }
}

/// `[state]`: what stays on this machine when the store is on object storage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSection {
    /// The folder of the working copies (`<dir>/stores/<sanitised url>`); default
    /// `$XDG_CACHE_HOME/trailwatch` (`~/.cache/trailwatch`).
    pub dir: Option<PathBuf>,
}

/// `[watch]`: the loop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchSection {
    /// Time between two looks at every source.
    #[serde(deserialize_with = "de_duration")]
    pub poll_interval: Duration,
    /// Objects read, stored and hunted together in one step (a commit per step).
    pub batch_objects: usize,
    /// Objects larger than this (decompressed bytes are not limited by it) are reported and
    /// skipped.
    pub max_object_bytes: u64,
    /// Run the built-in rule pack.
    pub builtin_rules: bool,
    /// Extra Sigma rule directories.
    pub rules: Vec<PathBuf>,
    /// Rules below this level are not evaluated.
    #[serde(deserialize_with = "de_severity")]
    pub min_level: Severity,
    /// First retry delay of a failed delivery; doubles up to `retry_max`.
    #[serde(deserialize_with = "de_duration")]
    pub retry_base: Duration,
    #[serde(deserialize_with = "de_duration")]
    pub retry_max: Duration,
    /// How late an event may be delivered and still be put in time order for the stateful
    /// detectors (correlations, chains, bursts, baselines): they decide about an event once
    /// events this much newer have been read. CloudTrail delivers within about 15 minutes.
    #[serde(deserialize_with = "de_duration")]
    pub reorder_window: Duration,
    /// Threads reading and hunting each step (default: every core).
    pub threads: usize,
}

impl Default for WatchSection {
    fn default() -> Self {
        WatchSection {
            poll_interval: Duration::from_secs(5),
            batch_objects: 64,
            max_object_bytes: 1 << 30,
            builtin_rules: true,
            rules: Vec::new(),
            min_level: Severity::Low,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            reorder_window: Duration::from_secs(15 * 60),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// `[metrics]`: where the watch serves the console, whose `/metrics` route shows the watch's
/// metrics (the binary starts it; trailwatch-console). Every route needs a console session or
/// an API token (`trailwatch users token NAME`), on loopback too.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// `host:port` to serve on; nothing is served when absent.
    pub listen: Option<String>,
    /// A PEM certificate chain and its key: serve HTTPS (rustls).
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    /// No longer read: named only to say so (the endpoint takes console API tokens).
    pub token_env: Option<String>,
}

/// What to expect of a source: silence longer than `max_gap` from an expected account or
/// region raises a coverage alert.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub max_gap: Option<Duration>,
    /// Accounts (AWS) or subscriptions (Azure) that must keep delivering. Every account seen
    /// is watched as well once `max_gap` is set.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Regions that must keep delivering (AWS), for each expected or seen account.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// One `[[sources]]` entry: `name`, `kind` and the kind's keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct SourceConfig {
    /// Unique; checkpoints are kept under it.
    pub name: String,
    pub kind: SourceKind,
}

impl TryFrom<toml::Table> for SourceConfig {
    type Error = String;
    fn try_from(mut t: toml::Table) -> Result<Self, String> {
        let name = take_name(&mut t, "[[sources]]")?;
        let kind = toml::Value::Table(t)
            .try_into::<SourceKind>()
            .map_err(|e| format!("source {name:?}: {}", e.message()))?;
        Ok(SourceConfig { name, kind })
    }
}

/// Removes and returns the `name` of a `[[…]]` entry.
fn take_name(t: &mut toml::Table, what: &str) -> Result<String, String> {
    match t.remove("name") {
        Some(toml::Value::String(s)) => Ok(s),
        Some(other) => Err(format!("{what}: name must be a string, not {other}")),
        None => Err(format!("{what}: an entry has no name")),
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, WatchError> {
        let text = std::fs::read_to_string(path).map_err(|e| WatchError::Config {
            file: path.display().to_string(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::parse(&text).map_err(|reason| WatchError::Config {
            file: path.display().to_string(),
            reason,
        })
    }

    /// Parses and checks configuration text; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// The configuration used when none is given: the local inbox folder into the default
    /// store, alerts kept in the outbox (listed by `trailwatch alerts`), no sink.
    pub fn builtin() -> Config {
        Config {
            sources: vec![SourceConfig {
                name: "inbox".to_string(),
                kind: SourceKind::Local(crate::source::LocalSourceConfig {
                    path: PathBuf::from(DEFAULT_INBOX),
                    coverage: Coverage::default(),
                }),
            }],
            ..Config::default()
        }
    }

    /// Checks what the types cannot: unique names, sensible numbers.
    fn check(&self) -> Result<(), String> {
        if let Some(p) = &self.posture {
            p.validate()?;
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.sources {
            if s.name.trim().is_empty() {
                return Err("a [[sources]] entry has an empty name".to_string());
            }
            if !names.insert(s.name.as_str()) {
                return Err(format!("two [[sources]] are named {:?}", s.name));
            }
            s.kind
                .config()
                .validate()
                .map_err(|reason| format!("source {:?}: {reason}", s.name))?;
            let cov = s.kind.coverage();
            if cov.max_gap.is_none() && !(cov.accounts.is_empty() && cov.regions.is_empty()) {
                return Err(format!(
                    "source {:?}: coverage lists accounts or regions but no max_gap",
                    s.name
                ));
            }
        }
        let mut sinks = std::collections::HashSet::new();
        for s in &self.sinks {
            if s.name.trim().is_empty() {
                return Err("a [[sinks]] entry has an empty name".to_string());
            }
            if !sinks.insert(s.name.as_str()) {
                return Err(format!("two [[sinks]] are named {:?}", s.name));
            }
            // Each kind's own checks ran when the entry was read (trailwatch-sink).
        }
        if let Some(r) = &self.review {
            r.sinks_for(&self.sinks)?;
        }
        for a in &self.store.anchor_sinks {
            if !sinks.contains(a.as_str()) {
                return Err(format!(
                    "[store] anchor_sinks names {a:?}, which no [[sinks]] is"
                ));
            }
        }
        self.store.anchor_bucket()?;
        if let Some(a) = &self.store.anchors {
            if a.to_string_lossy().starts_with("s3://") {
                return Err(format!(
                    "[store] anchors {a:?} is a file: an S3 prefix goes in anchor_bucket"
                ));
            }
        }
        if let Some(k) = self.store.public_key.as_deref() {
            // A file is read where verify runs; a key written here is checked now.
            if trailwatch_ledger::looks_like_public_key(k) {
                trailwatch_ledger::parse_public_key(k.trim())
                    .map_err(|e| format!("[store] public_key {k:?}: {e}"))?;
            }
        }
        if self.store.signing_key.is_some() && self.store.signing_key_env.is_some() {
            return Err("[store] gives both signing_key and signing_key_env: one key".to_string());
        }
        if self.watch.batch_objects == 0 {
            return Err("[watch] batch_objects must be at least 1".to_string());
        }
        if self.watch.poll_interval.is_zero() {
            return Err("[watch] poll_interval must be more than 0".to_string());
        }
        if let Some(l) = &self.metrics.listen {
            l.parse::<std::net::SocketAddr>()
                .map_err(|e| format!("[metrics] listen {l:?}: {e} (expected host:port)"))?;
        }
        if self.metrics.token_env.is_some() {
            return Err(
                "[metrics] token_env is no longer read: the endpoint is the console's \
                 /metrics, which takes a console API token (trailwatch users token NAME)"
                    .to_string(),
            );
        }
        if self.metrics.tls_cert.is_some() != self.metrics.tls_key.is_some() {
            return Err("[metrics] tls_cert and tls_key go together".to_string());
        }
        Ok(())
    }
}

/// A duration in the shared grammar ([`trailwatch_model::duration`]): `500ms`, `30s`, `5m`, …
pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

pub(crate) fn de_opt_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

fn de_severity<'de, D: Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "severity {s:?} (expected informational, low, medium, high or critical)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_in_the_shared_grammar() {
        let c = Config::parse("[watch]\npoll_interval = \"500ms\"\nretry_max = \"2w\"\n")
            .expect("valid");
        assert_eq!(c.watch.poll_interval, Duration::from_millis(500));
        assert_eq!(c.watch.retry_max, Duration::from_secs(14 * 86_400));
        let e = Config::parse("[watch]\npoll_interval = \"5 fortnights\"\n")
            .expect_err("not a duration")
            .to_string();
        assert!(e.contains("unknown unit \"fortnights\""), "{e}");
    }

    #[test]
    fn foreign_sections_are_carried_and_unknown_keys_rejected() {
        let ok = r#"
[baselines]
window = "30d"
anything = { nested = true }
[[suppressions]]
rule = "x"
[severity]
"some-rule" = "low"
[[sources]]
name = "a"
kind = "local"
path = "/tmp/x"
"#;
        let c = Config::parse(ok).expect("valid");
        assert!(c.baselines.is_some() && c.suppressions.is_some() && c.severity.is_some());
        assert_eq!(c.sources.len(), 1);

        let top = "[bogus]\nx = 1\n";
        let e = Config::parse(top).expect_err("unknown section");
        assert!(e.contains("bogus"), "{e}");

        let in_source = "[[sources]]\nname = \"a\"\nkind = \"local\"\npath = \"/x\"\npaht = 1\n";
        let e = Config::parse(in_source).expect_err("unknown key in a source");
        assert!(e.contains("paht"), "{e}");

        let in_watch = "[watch]\npoll_intervall = \"1s\"\n";
        let e = Config::parse(in_watch).expect_err("unknown key in [watch]");
        assert!(e.contains("poll_intervall"), "{e}");

        let in_sink = "[[sinks]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"http://x\"\nsecret = \"inline\"\n";
        let e = Config::parse(in_sink).expect_err("secrets are not written inline");
        assert!(e.contains("secret"), "{e}");
    }

    #[test]
    fn the_store_section_keeps_its_key_and_pins_outside_the_store() {
        let ok = "[store]\ndir = \"/srv/audit\"\nsigning_key = \"/etc/tw/audit.key\"\npublic_key = \"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c\"\nanchors = \"/var/log/tw/anchors.jsonl\"\n";
        let c = Config::parse(ok).expect("valid");
        assert_eq!(
            c.store.signing_key.as_deref(),
            Some(Path::new("/etc/tw/audit.key"))
        );
        assert!(matches!(
            c.store.keys().expect("keys"),
            trailwatch_store::KeySource::File(p) if p == Path::new("/etc/tw/audit.key")
        ));
        let both = "[store]\nsigning_key = \"/k\"\nsigning_key_env = \"K\"\n";
        assert!(Config::parse(both)
            .expect_err("two keys")
            .contains("one key"));
        // 64 hex digits that are no Ed25519 point (y = 2 is not on the curve).
        let bad = format!("[store]\npublic_key = \"02{}\"\n", "0".repeat(62));
        let e = Config::parse(&bad).expect_err("not a key");
        assert!(e.contains("public_key"), "{e}");
        let file = "[store]\npublic_key = \"/etc/tw/pinned.pub\"\n";
        assert!(
            Config::parse(file).is_ok(),
            "a file is read where verify runs"
        );
    }

    #[test]
    fn names_must_be_unique_and_values_sensible() {
        let dup = "[[sources]]\nname = \"a\"\nkind = \"local\"\npath = \"/x\"\n[[sources]]\nname = \"a\"\nkind = \"local\"\npath = \"/y\"\n";
        assert!(Config::parse(dup)
            .expect_err("dup")
            .contains("two [[sources]]"));
        let sev =
            "[[sinks]]\nname = \"j\"\nkind = \"jsonl\"\npath = \"/x\"\nmin_severity = \"urgent\"\n";
        assert!(Config::parse(sev).expect_err("sev").contains("urgent"));
        let fmt = "[[sinks]]\nname = \"s\"\nkind = \"syslog\"\naddress = \"127.0.0.1:514\"\nformat = \"xml\"\n";
        assert!(Config::parse(fmt).expect_err("fmt").contains("xml"));
        let gap = "[[sources]]\nname = \"a\"\nkind = \"local\"\npath = \"/x\"\ncoverage = { regions = [\"us-east-1\"] }\n";
        assert!(Config::parse(gap).expect_err("gap").contains("max_gap"));
        let listen = "[metrics]\nlisten = \"localhost\"\n";
        assert!(Config::parse(listen)
            .expect_err("listen")
            .contains("host:port"));
        let open = "[metrics]\nlisten = \"0.0.0.0:9464\"\n";
        Config::parse(open).expect("every route is authenticated, on any address");
        let tokened = "[metrics]\nlisten = \"0.0.0.0:9464\"\ntoken_env = \"TW_METRICS_TOKEN\"\n";
        assert!(Config::parse(tokened)
            .expect_err("token_env")
            .contains("users token"));
        let half = "[metrics]\nlisten = \"127.0.0.1:9464\"\ntls_cert = \"/c.pem\"\n";
        assert!(Config::parse(half).expect_err("tls").contains("tls_key"));
    }

    #[test]
    fn every_source_kind_parses_and_sinks_are_carried() {
        let text = r#"
[store]
dir = "/var/lib/trailwatch"
[watch]
poll_interval = "1s"
min_level = "medium"
[metrics]
listen = "127.0.0.1:9464"
[[sources]]
name = "org"
kind = "s3"
bucket = "trail"
prefix = "AWSLogs/"
region = "us-east-1"
endpoint = "http://127.0.0.1:5000"
allow_http = true
coverage = { max_gap = "30m", accounts = ["111122223333"], regions = ["us-east-1"] }
[[sources]]
name = "activity"
kind = "azure"
account = "devstoreaccount1"
container = "insights-activity-logs"
[[sinks]]
name = "f"
kind = "jsonl"
path = "/tmp/alerts.jsonl"
min_severity = "high"
"#;
        let c = Config::parse(text).expect("valid");
        assert_eq!(c.watch.poll_interval, Duration::from_secs(1));
        assert_eq!(c.watch.min_level, Severity::Medium);
        assert_eq!(c.sources.len(), 2);
        // Each sink kind's keys are tested in trailwatch-sink.
        assert_eq!(c.sinks.len(), 1);
        assert_eq!(c.sinks[0].min_severity, Severity::High);
        match &c.sources[0].kind {
            SourceKind::S3(s3) => {
                let coverage = &s3.coverage;
                assert_eq!(coverage.max_gap, Some(Duration::from_secs(1800)));
                assert_eq!(coverage.regions, ["us-east-1"]);
            }
            other => panic!("expected s3, got {other:?}"),
        }
    }
}
