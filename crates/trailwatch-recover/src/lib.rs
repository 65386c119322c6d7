//! Investigate and recover: from an audit trail to a reviewed recovery plan.
//!
//! This crate owns what happens after detection:
//! - [`investigate`] ([`case`]): the one path from logs and a starting point (a selector or an
//!   alert's event) to a [`Case`]: the events read, the incident and its plan;
//! - [`load`]: reading the events (with their raw records) once into memory;
//! - [`scope`]: pivoting from a selector (principal, access key, IP) to everything the intruder
//!   used — keys, the user behind a key, role sessions opened, keys created, IPs and user agents,
//!   other principals seen from the same IPs, the one person behind an Azure / Entra ID object
//!   id or UPN ([`identity`]), the directory objects they created — each expansion with the
//!   event that justifies it;
//! - [`incident`]: what the scoped events did — first/last activity, regions and accounts,
//!   denied attempts, every resource with what was done to it, persistence created, and for
//!   each bucket and table touched whether data events were recorded ([`coverage`]);
//! - [`plan`]: a four-phase recovery plan (contain, eradicate, restore, verify) where every
//!   step names its evidence event, the exact AWS CLI or Azure CLI command, its risk and a
//!   check (Azure's operations are read in `azure`, Entra ID's directory audits in `entra`);
//! - [`render`]: Markdown, JSON, HTML and a dry-run-by-default shell script in which every value
//!   taken from the log is single-quoted (log fields are attacker-controlled).
//!
//! It never reads or writes the cloud: commands are produced for a person to review and run.

pub(crate) mod azure;
pub mod case;
pub mod cmd;
pub mod coverage;
pub(crate) mod data;
pub(crate) mod entra;
pub mod ident;
pub mod identity;
pub mod incident;
pub mod load;
pub mod plan;
pub mod render;
pub mod scope;

pub use case::{investigate, Case, Start};
pub use incident::{incident, Incident};
pub use load::load;
pub use plan::{plan, Phase, Plan, PlanOptions, Step};
pub use scope::{scope, Expansion, Scope, Selector};

/// A time in reports and in the plan's commands: RFC 3339 UTC to the second (milliseconds are
/// dropped: the CLIs the plan calls and the people who read it want whole seconds); empty for a
/// time outside chrono's range.
pub(crate) fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// What can go wrong investigating.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("give at least one selector: a principal, an access key or an IP")]
    NoSelector,
    #[error("no event matches the selector {0}")]
    NothingMatched(String),
    #[error("event {0} of the alert is not in the time range read")]
    EventNotRead(String),
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
}
