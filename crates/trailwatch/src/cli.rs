//! The command-line interface: every command and flag.

use crate::output::Format;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use trailwatch_model::Severity;

#[derive(Parser, Debug)]
#[command(
    name = "trailwatch",
    version,
    about = "Hunt AWS CloudTrail and Azure Activity Log audit trails for attacks"
)]
pub struct Cli {
    /// Log more (also: TRAILWATCH_LOG=debug).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// The reference time (RFC 3339 or a date) instead of the system clock: relative
    /// --since/--until spans, retention's cut-off and suppression expiry count from it, so a
    /// finished trail gives the same answer on any day. `watch` and `alerts` refuse it.
    #[arg(long, global = true, value_name = "TIME")]
    pub now: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run Sigma and built-in rules over logs and print grouped alerts.
    Hunt(HuntArgs),
    /// Every event (matching filters) in time order, with the rules that fired on it.
    Timeline(TimelineArgs),
    /// Top actions, principals, source IPs, regions, user agents, error codes, failed sign-ins.
    Summary(SummaryArgs),
    /// List or check rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write synthetic logs of a made-up organisation, with attacks in them.
    Simulate(SimulateArgs),
    /// Simulate a small organisation under attack, hunt it, and print the alerts.
    Demo(DemoArgs),
    /// Validate CloudTrail digest files and the logs they name, offline (like
    /// `aws cloudtrail validate-logs`): signatures, the digest chain, log-file hashes.
    ValidateDigests(ValidateDigestsArgs),
    /// Store logs (exactly once) in the tamper-evident store.
    Ingest(IngestArgs),
    /// What the store holds: events, bytes, time range, per provider/account/region/day.
    Stats(StoreFormatArgs),
    /// Check the store's integrity chain and files; names every modified, missing or inserted
    /// file, and with a pinned public key and anchors a re-signed, truncated, rolled back or
    /// forked store; lists every retention deletion.
    Verify(VerifyArgs),
    /// Delete whole days older than the limit (recorded in the chain).
    Retention(RetentionArgs),
    /// Merge the many small files of each past day into one (recorded in the chain).
    Compact(CompactArgs),
    /// SQL over the store (table `events`; views `aws`, `azure`, `entra`, `failures`, `console_logins`).
    Sql(SqlArgs),
    /// Stored events of a principal, key, IP, action or resource, in time order.
    Search(SearchArgs),
    /// Scope an incident from a principal, key or IP: what it used, did, touched and left behind.
    Investigate(InvestigateArgs),
    /// A recovery plan (contain, eradicate, restore, verify) for an incident, as Markdown,
    /// JSON or a dry-run shell script.
    Recover(RecoverArgs),
    /// Check the cloud side's logging set-up (trails, their buckets) through the cloud's own
    /// APIs: pass, fail or unknown per check, with the CLI command that fixes each failure.
    #[command(subcommand)]
    Posture(PostureCommand),
    /// Follow local folders, S3 buckets and Azure containers: store and detect logs as they
    /// land and deliver each alert once (runs until SIGTERM or ctrl-c; --once for cron).
    Watch(WatchArgs),
    /// The alerts `watch` raised: list, show, acknowledge, resolve.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Check a watch configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The console's users: add, list, remove, change a password.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Serve the console: the alerts in a browser, behind a login (loopback by default).
    Serve(ServeArgs),
    /// The daily review of one day (UTC, yesterday by default): new alerts, new principals,
    /// keys, regions and addresses, failed and root sign-ins, changes to logging and security
    /// services, what the analysts did.
    Review(ReviewArgs),
    /// The store's signing key, which lives outside the store.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Move the signing key a store written by an older trailwatch keeps inside it
    /// (_ledger/signing.key) to where the configuration says (default: your configuration
    /// directory), then remove it from the store.
    Migrate(StoreConfigArgs),
}

/// A store command that reads the `[store]` section of a configuration: where the store, its
/// signing key and the pinned public key are.
#[derive(Args, Debug, Clone)]
pub struct StoreConfigArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The configuration (TOML) whose [store] section to use: dir, signing_key,
    /// signing_key_env, public_key, anchors. Without one: the signing key is
    /// $XDG_CONFIG_HOME/trailwatch/keys/<store-id>.key (~/.config/…), the anchors beside it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub at: StoreConfigArgs,
    /// The store's public key as pinned elsewhere (hex, or a file holding it; default the
    /// configuration's [store] public_key): verify fails on any other key.
    #[arg(long, value_name = "HEX|FILE")]
    pub public_key: Option<String>,
    /// The anchor file (the signed heads the writer published outside the store; default the
    /// configuration's [store] anchors), or the s3://bucket/prefix of [store] anchor_bucket
    /// (read with its anchor_endpoint, anchor_region, anchor_allow_http): verify fails unless
    /// the store continues every one (truncation, rollback to an older copy and forks are
    /// named; for a bucket, "anchors line N" is the Nth head object in key order).
    #[arg(long, value_name = "FILE|S3_URL")]
    pub anchors: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The query, e.g. "SELECT action, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC".
    pub query: String,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print at most N rows: the query stops there, and stderr says that rows were cut.
    #[arg(long, default_value = "10000", value_name = "N", value_parser = crate::sql_cmd::parse_row_limit)]
    pub limit: usize,
    /// Cancel the query after this long (500ms, 30s, 5m, 2h).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = crate::sql_cmd::parse_timeout)]
    pub timeout: std::time::Duration,
    /// Memory the query may hold (512MiB, 2GiB, 4GB): sorts, joins and aggregations spill to
    /// disk past it (up to 4 times as much), other queries stop with an error.
    #[arg(long, default_value = "2GiB", value_name = "SIZE", value_parser = crate::sql_cmd::parse_memory_limit)]
    pub memory_limit: usize,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub filter: EventFilterArgs,
    /// A resource the event names (ARN or resource id).
    #[arg(long)]
    pub resource: Option<String>,
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub until: Option<String>,
    /// At most this many events.
    #[arg(long, default_value_t = 10_000)]
    pub limit: usize,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The store: a directory, s3://bucket/prefix or az://container/prefix (default:
    /// $TRAILWATCH_STORE, else ./trailwatch-data).
    #[arg(long, value_name = "DIR|URL")]
    pub store: Option<PathBuf>,
}

impl StoreArgs {
    /// Where the store is: `--store`, else as [`trailwatch_store::resolve_dir`] says; a URL
    /// with the default `[store]` keys (the endpoint and credentials from the environment).
    pub fn at(&self) -> anyhow::Result<crate::store_at::StoreAt> {
        crate::store_at::StoreAt::resolve(
            self.store.as_deref(),
            &trailwatch_watch::config::StoreSection::default(),
            None,
        )
    }
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Files or directories (recursive), or - for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreConfigArgs,
    /// Also compare content hashes before skipping a file seen before (slower, stricter).
    #[arg(long)]
    pub check_hashes: bool,
    /// Commit whenever this many new events are held (smaller: more, smaller files and less
    /// work redone after an interruption).
    #[arg(long, default_value_t = trailwatch_store::IngestOptions::DEFAULT_BATCH_EVENTS, value_name = "N")]
    pub batch_events: usize,
}

#[derive(Args, Debug)]
pub struct StoreFormatArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct RetentionArgs {
    /// Keep this much: a whole number of days (400d) or weeks (60w); never less than the
    /// store's retention floor (default 365 days).
    #[arg(long, required_unless_present = "set_floor")]
    pub keep: Option<String>,
    /// Set the store's retention floor (lowering it too) instead: a signed ledger link, which
    /// needs the signing key and which verify lists.
    #[arg(long, value_name = "DAYS", conflicts_with_all = ["keep", "dry_run"])]
    pub set_floor: Option<String>,
    /// Why the floor changes (recorded in the signed link).
    #[arg(long, requires = "set_floor")]
    pub reason: Option<String>,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub store: StoreConfigArgs,
}

#[derive(Args, Debug)]
pub struct CompactArgs {
    /// Compact a day once it has this many small files (at least 2).
    #[arg(long, default_value_t = trailwatch_store::DEFAULT_MIN_FILES, value_name = "N")]
    pub min_files: usize,
    /// Rows per file written at most (a bigger day is split); a file with half as many or more
    /// is left as it is.
    #[arg(long, default_value_t = trailwatch_store::DEFAULT_MAX_ROWS, value_name = "N")]
    pub max_rows: u64,
    #[command(flatten)]
    pub store: StoreConfigArgs,
}

#[derive(Args, Debug)]
pub struct ValidateDigestsArgs {
    /// Directory holding the digest files and log files in the S3 layout (AWSLogs/…); digest
    /// signatures come from `<digest>.signature` sidecars or a `digest-signatures.json` manifest.
    pub path: PathBuf,
    /// The output of `aws cloudtrail list-public-keys` (JSON).
    #[arg(long, value_name = "FILE")]
    pub public_keys: PathBuf,
    /// Only digests covering time at or after this (RFC 3339, a date, or a span like 7d).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl From<Level> for Severity {
    fn from(l: Level) -> Severity {
        match l {
            Level::Informational => Severity::Informational,
            Level::Low => Severity::Low,
            Level::Medium => Severity::Medium,
            Level::High => Severity::High,
            Level::Critical => Severity::Critical,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct RuleArgs {
    /// Extra Sigma rule directory (recursive); repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Use only the rules given with --rules.
    #[arg(long)]
    pub no_builtin: bool,
}

#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Files or directories (recursive), or - for standard input.
    #[arg(required_unless_present = "store", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Read the events kept in this audit store (see `ingest`) instead of files; --since and
    /// --until then skip whole days of it.
    #[arg(long, value_name = "DIR", conflicts_with = "paths")]
    pub store: Option<PathBuf>,
    /// Only events at or after this time (RFC 3339, a date, or a span back from now: 24h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// Only events at or before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Exit non-zero when any input had a problem.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl InputArgs {
    /// The threads every command reading these inputs runs on: `--threads`, else one per
    /// core.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct HuntArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Lowest level to alert on.
    #[arg(long, value_enum, default_value = "low")]
    pub min_level: Level,
    /// Firings of one rule for one principal further apart than this start a new alert.
    #[arg(long, default_value = "1h")]
    pub group_window: String,
    /// Event ids listed per alert (the earliest); the count stays exact.
    #[arg(long, default_value_t = 1_000)]
    pub max_event_ids: usize,
    /// Baselines, suppressions and severity context from this TOML file (its [baselines],
    /// [[suppressions]] and [severity] sections; see trailwatch.example.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Learn each principal's usual activity and raise learned-baseline alerts.
    #[arg(long)]
    pub baselines: bool,
    /// Leave out the attack chains (recon → privilege change → new key used, logging off →
    /// changes, trust opened → assumed, new key → mass object access), which run by default.
    #[arg(long)]
    pub no_chains: bool,
    /// Where learned baselines are kept between runs (default: _baselines.json in --store,
    /// else baselines.json beside -o FILE).
    #[arg(long, value_name = "FILE")]
    pub baseline_state: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub filter: EventFilterArgs,
    /// Only events a rule fired on.
    #[arg(long)]
    pub only_alerts: bool,
    /// Lowest rule level shown as an alert.
    #[arg(long, value_enum, default_value = "low")]
    pub min_level: Level,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Values shown per category.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules with their level, log source and tags.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Compile every rule and report each failure; the last line says how many compiled.
    Check {
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Run every rule's example events (its `tests:` key); fails on any mismatch.
    Test {
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Show which selections of a rule matched each event of a file and which field tests
    /// failed (exit 0 when an event matched, 1 when none did).
    Explain {
        /// The rule's id, name, title or file.
        rule: String,
        /// A file of events in any shape `hunt` reads.
        event: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Aws,
    Azure,
    Both,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Directory to write into (created).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "aws")]
    pub provider: ProviderArg,
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    #[arg(long, default_value_t = 20_000)]
    pub events_per_day: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    pub start: Option<String>,
    /// Background activity only, no attacks.
    #[arg(long)]
    pub no_attacks: bool,
    /// Also inject the scenarios for learned baselines and attack chains (from day 8 on;
    /// needs --days 10 or more).
    #[arg(long)]
    pub detections: bool,
    /// People and workloads spread over the accounts.
    #[arg(long, default_value_t = 50)]
    pub principals: usize,
    /// Azure: also one Activity Log scenario per detection family (Key Vault purges, public
    /// storage, Run Command, …) and a benign twin for every Azure scenario
    /// (benign-twins.manifest; twins are written with --no-attacks too).
    #[arg(long)]
    pub azure_families: bool,
    /// Azure: also Microsoft Entra ID sign-in and audit logs (insights-logs-signinlogs, …),
    /// with the Entra attack scenarios and their benign twins.
    #[arg(long)]
    pub entra: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Keep the simulated logs in this directory instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "medium")]
    pub min_level: Level,
}

/// Who, from where and what: the event filters `timeline` and `search` share.
#[derive(Args, Debug, Clone)]
pub struct EventFilterArgs {
    /// Principal: a substring of its ARN, UPN, user name or id (timeline), or the exact value (search).
    #[arg(long)]
    pub principal: Option<String>,
    #[arg(long)]
    pub access_key: Option<String>,
    /// Source IP address.
    #[arg(long)]
    pub ip: Option<String>,
    /// Action glob, e.g. 'Create*' or '*SecurityGroup*'.
    #[arg(long)]
    pub action: Option<String>,
}

/// Where an investigation starts (at least one).
#[derive(Args, Debug, Clone)]
pub struct SelectorArgs {
    /// Principal: ARN, principal id or user name (exact); in Azure and Entra ID a user
    /// principal name or object id (case-insensitive), which follows the person across the
    /// Activity Log, sign-ins and directory audits.
    #[arg(long)]
    pub principal: Option<String>,
    #[arg(long)]
    pub access_key: Option<String>,
    /// Source IP address (with --principal or --access-key: only their activity from it).
    #[arg(long)]
    pub ip: Option<String>,
    /// An alert id from `trailwatch hunt` (default grouping): starts from its first event's key
    /// (or principal) and source IP.
    #[arg(long, conflicts_with_all = ["principal", "access_key", "ip"])]
    pub alert: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InvestigateFormat {
    Markdown,
    Html,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecoverFormat {
    Markdown,
    Script,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudArg {
    Aws,
    Azure,
}

/// What `investigate` and `recover` read and where they start.
#[derive(Args, Debug)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub selector: SelectorArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InvestigateArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: InvestigateFormat,
}

#[derive(Args, Debug)]
pub struct RecoverArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: RecoverFormat,
    /// Only this cloud's steps (default: every cloud the incident touched); `azure` includes
    /// Entra ID, its directory.
    #[arg(long, value_enum)]
    pub cloud: Option<CloudArg>,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The configuration (TOML; see trailwatch.example.toml). Without one: watch
    /// ./trailwatch-inbox into the default store.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Look at every source once, deliver what is due, and exit (for cron).
    #[arg(long)]
    pub once: bool,
    /// With --once: nothing older is to come, so decide now what the correlations, chains
    /// and baselines were holding for the reorder window (the last run over a finished
    /// trail).
    #[arg(long, requires = "once")]
    pub drain: bool,
    /// Overrides the configuration's [store] dir.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where the alerts are: the store of a configuration, or --store.
#[derive(Args, Debug, Clone)]
pub struct AlertsAt {
    /// The watch configuration whose store holds the alerts.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// Alerts, oldest first.
    List {
        /// Only alerts in this state: open, acked or resolved.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        #[command(flatten)]
        at: AlertsAt,
    },
    /// One alert with its state and deliveries, as JSON.
    Show {
        id: String,
        #[command(flatten)]
        at: AlertsAt,
    },
    /// Acknowledge an open alert.
    Ack {
        id: String,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: AlertsAt,
    },
    /// Resolve an open or acknowledged alert; new activity after this is a new alert.
    Resolve {
        id: String,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: AlertsAt,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user; the password is read from stdin (one line, 12 characters or more).
    Add {
        name: String,
        /// viewer (reads), responder (also triages) or admin (also manages users, reads the
        /// audit log).
        #[arg(long)]
        role: String,
        /// Read the password from stdin (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        at: AlertsAt,
    },
    /// The users and their roles.
    List {
        #[command(flatten)]
        at: AlertsAt,
    },
    /// Remove a user and end their sessions.
    Remove {
        name: String,
        #[command(flatten)]
        at: AlertsAt,
    },
    /// Set a user's password (read from stdin) and end their sessions.
    Passwd {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        at: AlertsAt,
    },
    /// Make an API token acting as NAME (with NAME's role), for a Prometheus scraper of
    /// /metrics or a script of /api/v1/: sent as `Authorization: Bearer TOKEN`. Printed once
    /// on stdout; only its hash is kept.
    Token {
        name: String,
        /// What the token is for (shown in the audit log).
        #[arg(long, default_value = "api")]
        label: String,
        #[command(flatten)]
        at: AlertsAt,
    },
    /// Revoke every API token of a user.
    RevokeTokens {
        name: String,
        #[command(flatten)]
        at: AlertsAt,
    },
}

#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// The day, YYYY-MM-DD (UTC); default yesterday.
    #[arg(long)]
    pub day: Option<String>,
    /// text, or json (the console's /api/v1/review).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    #[command(flatten)]
    pub at: AlertsAt,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback should come with --tls-cert.
    #[arg(long, default_value = trailwatch_console::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub at: AlertsAt,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Parse the file and check sources, sinks (their *_env variables) and rule folders,
    /// without connecting to anything.
    Check { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum PostureCommand {
    /// AWS: every trail of the regions given (multi-region, logging, global services,
    /// validation, KMS, event selectors, delivery, CloudWatch Logs) and every bucket they
    /// deliver to (not public, versioned, Object Lock or MFA delete, access-logged, kept a
    /// year, writable only by CloudTrail). Exit 0 when every check passed, 1 otherwise.
    Aws(PostureAwsArgs),
    /// Azure: each subscription's Activity Log export (every category, to storage or Log
    /// Analytics), kept a year, its storage account immutable (locked) and not public; Entra
    /// ID's sign-in and audit log export; Defender for Cloud plans; the CIS activity-log
    /// alerts. Token: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a service
    /// principal; AZURE_AUTHORITY_HOST overrides the authority), else `az account
    /// get-access-token`. Exit 0 when every check passed, 1 otherwise.
    Azure(PostureAzureArgs),
}

#[derive(Args, Debug)]
pub struct PostureAzureArgs {
    /// The subscription ids (GUIDs) to check.
    #[arg(long = "subscription", value_name = "ID", required = true, num_args = 1..)]
    pub subscriptions: Vec<String>,
    /// Send every Resource Manager call to this URL instead of https://management.azure.com.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: PostureFormat,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PostureAwsArgs {
    /// A region to check (repeatable); default: AWS_REGION, AWS_DEFAULT_REGION or the
    /// profile's region, else us-east-1.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// A profile of ~/.aws/credentials and ~/.aws/config (default: the environment's keys,
    /// then AWS_PROFILE or `default`, then the instance or container role).
    #[arg(long)]
    pub profile: Option<String>,
    /// Send every call to this URL (an emulator, a VPC endpoint).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Also check that an organization trail, multi-region and logging, records every
    /// account (run from the management account or a delegated administrator).
    #[arg(long)]
    pub organization: bool,
    /// Read the checks from CloudTrail logs (files or directories, as `hunt` reads them)
    /// instead of the APIs: the latest successful CreateTrail, UpdateTrail, StopLogging,
    /// PutEventSelectors, PutBucketPolicy, … of each trail and its bucket; what the logs never
    /// touched is unknown.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 1..,
        conflicts_with_all = ["regions", "profile", "endpoint", "organization"]
    )]
    pub logs: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: PostureFormat,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PostureFormat {
    Table,
    Jsonl,
    Json,
    Markdown,
    /// A dry-run bash script of the fixes (runs them only with --execute).
    Script,
}
