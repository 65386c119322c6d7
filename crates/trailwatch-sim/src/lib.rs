//! Synthetic audit-log corpora for trailwatch.
//!
//! This crate owns `trailwatch simulate`: it invents an organisation (AWS accounts, Azure
//! subscriptions, people, CI pipelines, Lambda and EC2 workloads, AWS services), generates
//! realistic background activity for it and injects labelled attack scenarios, then writes
//! the result in the providers' real delivery layouts:
//!
//! * AWS: `AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/…json.gz`, one gzip
//!   `{"Records":[…]}` file per account, region and 5-minute slot;
//! * Azure: `insights-activity-logs/resourceId=/SUBSCRIPTIONS/<SUB>/y=…/m=…/d=…/h=…/m=00/PT1H.json`
//!   (resource-log schema, one JSON object per line) and `azure-activity-rest.json`
//!   (`{"value":[…]}`, REST shape);
//! * with [`SimOptions::entra`], Microsoft Entra ID logs in the tenant diagnostic setting's
//!   storage layout: `insights-logs-signinlogs`, `insights-logs-noninteractiveusersigninlogs`,
//!   `insights-logs-serviceprincipalsigninlogs` and `insights-logs-auditlogs`, each
//!   `tenantId=<tid>/y=…/m=…/d=…/h=…/m=00/PT1H.json`, one JSON object per line;
//! * `scenarios.manifest`: the ground truth of every injected attack;
//! * `benign-twins.manifest`: the ground truth of every benign twin (written when
//!   [`SimOptions::azure_families`] or [`SimOptions::entra`] is on): an administrator's routine
//!   operation of the same kind as an attack scenario, which detections should leave below medium.
//!
//! Output is a pure function of [`SimOptions`]: the same seed and options give byte-identical
//! files whatever the thread scheduling (every file has its own seeded generator), and no
//! wall-clock time is used. Background never contains the attack markers (AdministratorAccess
//! attachments, `StopLogging`, ingress from `0.0.0.0/0`, root activity, logins without MFA),
//! so detections can be tested for silence on it.

mod aws;
mod aws_attacks;
mod azure;
mod azure_families;
mod calls;
mod entra;
mod entra_scenarios;
mod org;
mod record;
mod util;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::str::FromStr;
pub use trailwatch_model::Provider;

/// Which clouds to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Providers {
    Aws,
    Azure,
    #[default]
    Both,
}

impl Providers {
    pub fn aws(self) -> bool {
        matches!(self, Providers::Aws | Providers::Both)
    }
    pub fn azure(self) -> bool {
        matches!(self, Providers::Azure | Providers::Both)
    }
}

impl FromStr for Providers {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, SimError> {
        match s.to_ascii_lowercase().as_str() {
            "aws" => Ok(Providers::Aws),
            "azure" => Ok(Providers::Azure),
            "both" | "all" => Ok(Providers::Both),
            other => Err(SimError::InvalidOptions(format!(
                "unknown provider {other:?} (expected aws, azure or both)"
            ))),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Output directory (created if missing).
    pub out: PathBuf,
    pub providers: Providers,
    /// Length of the window in days (≥ 1).
    pub days: u32,
    /// AWS background records per weekday for the whole organisation (weekends ≈ 45 %).
    /// Azure produces about a tenth of this in operations (each logged as start + end).
    pub events_per_day: u64,
    pub seed: u64,
    /// First day of the window (00:00 UTC). Default 2026-10-01.
    pub start: NaiveDate,
    /// AWS accounts (and Azure subscriptions), default 2.
    pub accounts: usize,
    /// People and workloads spread over the accounts, default 50.
    pub principals: usize,
    /// Inject the attack scenarios, default true.
    pub attacks: bool,
    /// Inject the scenarios for learned baselines and attack chains (placed from day 8, after
    /// the learning period), default false.
    pub detections: bool,
    /// Worker threads for AWS files, default 2.
    pub threads: usize,
    /// Azure: also inject one Activity Log scenario per detection family of issue 17 (Key
    /// Vault purges, public storage, Run Command, …) and a benign twin for every Azure scenario
    /// (the seven original ones included). Twins are written even without attacks. Default
    /// false, so that the default corpus keeps its seven Azure scenarios.
    pub azure_families: bool,
    /// Azure: also write Microsoft Entra ID sign-in and audit logs for the tenant (background of
    /// the organisation's people and service principals), with the Entra attack scenarios (when
    /// attacks are on) and their benign twins (always). Default false.
    pub entra: bool,
}

impl SimOptions {
    pub fn new(out: impl Into<PathBuf>) -> Self {
        SimOptions {
            out: out.into(),
            providers: Providers::Both,
            days: 7,
            events_per_day: 100_000,
            seed: 1,
            start: default_start(),
            accounts: 2,
            principals: 50,
            attacks: true,
            detections: false,
            threads: 2,
            azure_families: false,
            entra: false,
        }
    }
}

/// The start date used when none is given: fixed, so output is reproducible.
pub fn default_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default()
}

/// Volume written for one provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStats {
    pub records: u64,
    pub files: u64,
    /// Bytes of JSON before compression.
    pub bytes_uncompressed: u64,
    /// Bytes on disk (gzip for AWS; Azure blobs are plain JSON lines).
    pub bytes_written: u64,
}

impl ProviderStats {
    fn add(&mut self, o: &ProviderStats) {
        self.records += o.records;
        self.files += o.files;
        self.bytes_uncompressed += o.bytes_uncompressed;
        self.bytes_written += o.bytes_written;
    }
}

/// Ground truth for one injected attack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// Stable id, e.g. `aws-03-cloudtrail-defense-evasion`.
    pub id: String,
    pub name: String,
    pub provider: Provider,
    /// MITRE ATT&CK technique.
    pub technique: String,
    pub description: String,
    /// AWS account id or Azure subscription id.
    pub account: String,
    /// Main AWS region or Azure location.
    pub region: String,
    /// ARN (AWS) or UPN (Azure) of the compromised identity.
    pub principal: String,
    /// Compromised access key (AWS key-based scenarios).
    pub access_key: Option<String>,
    pub source_ip: String,
    pub user_agent: String,
    /// First and last event time (`YYYY-MM-DDTHH:MM:SSZ`).
    pub start: String,
    pub end: String,
    /// AWS: every attack record's `eventID`. Azure: the `correlationId` of each operation
    /// (shared by its start and end records in both the PT1H blobs and the REST export).
    pub event_ids: Vec<String>,
    /// Distinct `eventName`s (AWS) or operation names (Azure), in order of first use.
    pub api_calls: Vec<String>,
    /// Records written for this scenario.
    pub event_count: usize,
    /// Azure: the log the scenario's records are in (absent for AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<AzureLog>,
    /// The detection families (see [`AZURE_FAMILIES`] and [`ENTRA_FAMILIES`]) this scenario
    /// exercises; empty for the scenarios that predate them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<String>,
    /// Id of this scenario's benign twin, when twins were generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twin: Option<String>,
    /// Other identities the operations were aimed at or created (the users a spray tried, an
    /// account promoted to Global Administrator, an invited guest, an application given
    /// credentials or consent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// Which Azure log a scenario or twin is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AzureLog {
    /// Azure Activity Log: `insights-activity-logs` PT1H blobs and `azure-activity-rest.json`;
    /// event ids are the operations' `correlationId`s (start and end record of each).
    Activity,
    /// Entra ID sign-in logs (`insights-logs-signinlogs`, interactive); event ids are
    /// `properties.id`.
    Signin,
    /// Entra ID audit logs (`insights-logs-auditlogs`); event ids are `properties.id`.
    Audit,
}

/// Ground truth for one benign twin: an administrator's routine operation of the same kind as
/// the attack scenario `twin_of`, done the usual way (usual principal, network and hours, safe
/// parameters). Detections should raise nothing at medium or above for `principal` between
/// `start` and `end`. Twins are generated with and without attacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenignTwin {
    /// Stable id: the scenario's id followed by `-benign`.
    pub id: String,
    pub name: String,
    /// Id of the attack scenario this is the twin of.
    pub twin_of: String,
    pub provider: Provider,
    pub log: AzureLog,
    /// The detection families the operations belong to (those of `twin_of`).
    pub families: Vec<String>,
    pub description: String,
    /// Azure subscription id (Activity Log) or tenant id (Entra).
    pub account: String,
    pub region: String,
    /// UPN of the user, or object id of the service principal (Activity Log) / its display
    /// name (Entra), who performed the routine operations.
    pub principal: String,
    pub source_ip: String,
    pub start: String,
    pub end: String,
    /// Same meaning as [`Scenario::event_ids`] for the twin's log.
    pub event_ids: Vec<String>,
    pub api_calls: Vec<String>,
    pub event_count: usize,
    /// Same meaning as [`Scenario::targets`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// The Azure Activity Log detection families the simulator has a scenario for (with
/// [`SimOptions::azure_families`]); every one appears in some [`Scenario::families`].
pub const AZURE_FAMILIES: &[&str] = azure_families::FAMILIES;

/// The Entra ID detection families the simulator has a scenario for (with
/// [`SimOptions::entra`]).
pub const ENTRA_FAMILIES: &[&str] = entra_scenarios::FAMILIES;

/// Facts about the simulated Entra tenant a detection needs to be configured with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntraTenant {
    pub tenant_id: String,
    /// The organisation's own domain (`acmeflux.com`).
    pub domain: String,
    /// Emergency-access (break-glass) accounts: never used in the background.
    pub break_glass_accounts: Vec<String>,
    /// People in the directory (members).
    pub users: usize,
}

/// What [`simulate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimReport {
    pub aws: ProviderStats,
    /// PT1H.json blobs.
    pub azure: ProviderStats,
    /// Records in `azure-activity-rest.json` (0 without Azure).
    pub azure_rest_records: u64,
    pub scenarios: Vec<Scenario>,
    /// Entra ID PT1H blobs, all four containers together (zero without [`SimOptions::entra`]).
    pub entra: ProviderStats,
    /// Entra ID records per container (`insights-logs-signinlogs` → count).
    pub entra_records: std::collections::BTreeMap<String, u64>,
    /// The Entra tenant, with [`SimOptions::entra`].
    pub entra_tenant: Option<EntraTenant>,
    pub benign_twins: Vec<BenignTwin>,
}

impl SimReport {
    pub fn total_records(&self) -> u64 {
        self.aws.records + self.azure.records + self.entra.records
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulation options: {0}")]
    InvalidOptions(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("JSON serialisation failed: {0}")]
    Json(#[source] serde_json::Error),
    #[error("a generator thread panicked")]
    WorkerPanicked,
}

impl SimError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SimError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Place `n` scenarios across the window, each with background around it.
fn scenario_times(seed: u64, salt: u64, n: usize, start: i64, window: i64) -> Vec<i64> {
    let mut rng = util::rng_for(seed, &[30, salt]);
    (0..n)
        .map(|k| {
            let frac = (k as f64 + 0.25 + 0.5 * rng.f64()) / n as f64;
            let t = start + (frac * window as f64) as i64;
            t.clamp(start + 600, start + window - 3600)
        })
        .collect()
}

/// Place `n` benign twins on weekdays of the window (spread over them), each at a start of day
/// plus up to 7 hours; callers add the business-hours offset of the actor's office.
fn twin_days(seed: u64, salt: u64, n: usize, start: i64, days: u32) -> Vec<i64> {
    let mut rng = util::rng_for(seed, &[31, salt]);
    let all: Vec<i64> = (0..days as i64).collect();
    let weekdays: Vec<i64> = all
        .iter()
        .copied()
        .filter(|d| util::weekday(start + d * 86_400) < 5)
        .collect();
    let pool = if weekdays.is_empty() { all } else { weekdays };
    (0..n)
        .map(|k| {
            let day = pool[(k * pool.len()) / n.max(1)];
            start + day * 86_400 + rng.i64(0..7 * 3600)
        })
        .collect()
}

/// Azure Activity Log and (optionally) Entra ID output, scenarios and twins.
fn simulate_azure(
    opts: &SimOptions,
    org: &org::Org,
    start: i64,
    report: &mut SimReport,
) -> Result<(), SimError> {
    let window = opts.days as i64 * 86_400;
    let times = scenario_times(opts.seed, 2, azure::AZURE_SCENARIOS.len(), start, window);
    let injected = if opts.azure_families {
        let attack_times = scenario_times(opts.seed, 3, azure_families::count(), start, window);
        let n_twins = azure::AZURE_SCENARIOS.len() + azure_families::count();
        let days = twin_days(opts.seed, 3, n_twins, start, opts.days);
        azure_families::inject(
            org,
            opts.seed,
            opts.attacks.then_some(&attack_times[..]),
            &days,
            start + window - 3600,
        )
    } else {
        azure_families::Injected {
            ops: Vec::new(),
            scenarios: Vec::new(),
            twins: Vec::new(),
        }
    };
    let az = azure::run(
        org,
        opts.seed,
        start,
        opts.days,
        (opts.events_per_day / 10).max(100),
        opts.attacks.then_some(&times[..]),
        injected.ops,
        &opts.out,
    )?;
    report.azure = az.stats;
    report.azure_rest_records = az.rest_records;
    for (k, mut s) in az.scenarios.into_iter().enumerate() {
        s.families = azure_families::ORIGINAL_FAMILIES[k]
            .iter()
            .map(|f| f.to_string())
            .collect();
        if opts.azure_families {
            s.twin = Some(format!("{}-benign", s.id));
        }
        report.scenarios.push(s);
    }
    report.scenarios.extend(injected.scenarios);
    report.benign_twins.extend(injected.twins);
    if opts.entra {
        let out = entra::run(org, opts, start)?;
        report.entra = out.stats;
        report.entra_records = out.records;
        report.entra_tenant = Some(out.tenant);
        report.scenarios.extend(out.scenarios);
        report.benign_twins.extend(out.twins);
    }
    Ok(())
}

/// Generate the corpus described by `opts`.
pub fn simulate(opts: &SimOptions) -> Result<SimReport, SimError> {
    if opts.days == 0 {
        return Err(SimError::InvalidOptions("days must be at least 1".into()));
    }
    if opts.detections && opts.days < 10 {
        return Err(SimError::InvalidOptions(
            "the baseline and chain scenarios need at least 10 days (7 of learning first)".into(),
        ));
    }
    if opts.accounts == 0 || opts.accounts > 6 {
        return Err(SimError::InvalidOptions(
            "accounts must be between 1 and 6".into(),
        ));
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| SimError::io(&opts.out, e))?;
    let org = org::Org::new(opts.seed, opts.accounts, opts.principals);
    let start = opts
        .start
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp())
        .unwrap_or_default();
    let window = opts.days as i64 * 86_400;
    let mut report = SimReport::default();

    if opts.providers.aws() {
        let mut attack_map = aws::AttackMap::new();
        if opts.attacks {
            let times = scenario_times(
                opts.seed,
                1,
                aws_attacks::AWS_SCENARIOS.len(),
                start,
                window,
            );
            report.scenarios.extend(aws_attacks::build_all(
                &org,
                opts.seed,
                &times,
                &mut attack_map,
            ));
        }
        if opts.detections {
            let times = aws_attacks::detection_times(opts.seed, start, opts.days);
            report.scenarios.extend(aws_attacks::build_detections(
                &org,
                opts.seed,
                &times,
                &mut attack_map,
            ));
        }
        let gen = aws::AwsGen {
            org: &org,
            seed: opts.seed,
            events_per_day: opts.events_per_day,
            start,
            days: opts.days,
            out: &opts.out,
            attacks: &attack_map,
        };
        report.aws = gen.run(opts.threads)?;
    }
    if opts.providers.azure() {
        simulate_azure(opts, &org, start, &mut report)?;
    }
    let path = opts.out.join("scenarios.manifest");
    let json = serde_json::to_vec_pretty(&report.scenarios).map_err(SimError::Json)?;
    std::fs::write(&path, json).map_err(|e| SimError::io(&path, e))?;
    if opts.providers.azure() && (opts.azure_families || opts.entra) {
        let path = opts.out.join("benign-twins.manifest");
        let json = serde_json::to_vec_pretty(&report.benign_twins).map_err(SimError::Json)?;
        std::fs::write(&path, json).map_err(|e| SimError::io(&path, e))?;
    }
    Ok(report)
}
