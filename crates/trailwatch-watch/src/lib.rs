//! Watch: follow audit logs as they land, store and detect them, and hand every alert to the
//! outbox once.
//!
//! This crate owns the continuous half of trailwatch (`trailwatch watch`):
//! - [`config`]: the TOML configuration (`[store]`, `[watch]`, `[[sources]]`, `[[sinks]]`,
//!   `[metrics]`; the `[baselines]`, `[[suppressions]]` and `[severity]` sections are checked
//!   and applied to each step's alerts by trailwatch-baseline, as `hunt --config` does);
//!   [`rule_pack`] is the one resolution of the rules a configuration runs (the console's rules
//!   page shows them), [`suppressions`] its checked `[[suppressions]]`; [`managed`] the
//!   suppressions admins add from the console, applied with those and re-read when they change;
//! - [`source`]: local folders (new, grown and rotated files), S3 buckets by prefix (every
//!   `AWSLogs/<account>/CloudTrail/<region>/…` and organization layout) and Azure Blob
//!   containers (appended hourly `PT1H.json` blobs read incrementally), the last two listed
//!   with plain REST requests (`rest`: every key under its exact name, `..` segments and
//!   control characters included) and read through the `object_store` crate, optionally
//!   driven by S3 event notifications on an SQS queue ([`source::sqs`]); [`layout`] reads account and
//!   region from object keys; a source that cannot be listed raises a coverage alert;
//! - a store on object storage (`[store] dir = "s3://…"`/`"az://…"`, trailwatch-remote): the
//!   watch writes its working copy below `[state] dir` under the store's lease, renewed every
//!   poll, and pushes each step before checkpointing it;
//! - [`state`]: checkpoints in SQLite in the store directory, committed only after the events
//!   are in the store and their alerts in the outbox, so that after `kill -9` nothing is
//!   skipped and (the store and outbox being idempotent) nothing is stored or alerted twice;
//! - [`Watcher`]: the loop — new bytes → decode → store ingest → hunt over them → one alert
//!   per incident into the outbox (a stable [`incident_key`] folds re-detections and a growing
//!   incident into the open alert) → the `trailwatch-sink` dispatcher delivers, with retries;
//!   coverage gaps (an expected account or region silent longer than allowed) are alerts too;
//! - [`anchor_bucket`]: the store's signed heads published as Object-Locked objects in an S3
//!   bucket (`[store] anchor_bucket`), and read back for `verify --anchors s3://…`;
//! - [`metrics`]: the Prometheus registry; the console serves it (`[metrics] listen`);
//! - [`schedule`]: the one scheduler of periodic jobs run from the poll loop — the posture
//!   checks ([`posture`], `[posture] every`) and the daily review ([`review`], `[review] at`,
//!   made by a [`review::ReviewBuilder`] the binary supplies and sent through the sinks that
//!   can carry a [`trailwatch_sink::Report`]); each job's last run is kept in the state
//!   database.
//!
//! # Limits
//! - Without a queue, every poll lists every key below a source's prefix: cost and latency
//!   grow with the bucket. With S3 event notifications on an SQS queue ([`source::sqs`]), polls read
//!   the queue and the bucket is listed in full only at start and every `full_list_interval`.
//! - Stateful detection (correlations, chains, bursts, baselines) decides about an event once
//!   events `reorder_window` newer have been read; an event later than that still gets every
//!   signature rule and joins any window still open, and what it could not join is counted
//!   (`trailwatch_late_events_total`).
//! - An appended object is read from where the last step stopped, as lines: a growing
//!   `{"Records":[…]}` document (not a CloudTrail delivery, which never grows) is not supported.

pub mod anchor_bucket;
pub mod config;
mod delivery;
mod error;
mod hygiene;
pub mod layout;
pub mod managed;
pub mod metrics;
mod objects;
pub mod posture;
pub mod review;
pub mod schedule;
mod secrets;
mod signals;
pub mod source;
pub mod state;
mod watcher;

pub use config::{Config, DEFAULT_INBOX};
pub use error::WatchError;
pub use hygiene::{rule_pack, suppressions};
pub use metrics::Metrics;
pub use secrets::{register_secrets, secret_vars};
pub use signals::stop_on_signals;
pub use trailwatch_baseline::Suppression;
pub use trailwatch_detect::RulePack;
pub use watcher::{
    build_sinks, incident_key, open_outbox, outbox_path, store_dir, PollReport, RunStatsSum,
    Watcher, COVERAGE_RULE, UNLISTABLE_RULE,
};
