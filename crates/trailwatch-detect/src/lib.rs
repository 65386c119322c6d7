//! Detect: rules over decoded events, and what comes out of them.
//!
//! This crate owns the detect stage of the data path: the built-in rule pack (Sigma YAML
//! under `rules/`, embedded in the binary, as the site's `[detection]` tunes it: [`PackTuning`],
//! [`EntraTuning`]) and user rule directories, routed by log source ([`RulePack`]); the parallel [`hunt`] that streams inputs through both clouds' rule sets on
//! every core; grouping of rule firings into alerts, one per rule, principal and burst of
//! activity ([`group`]), raised to the severity a call's content deserves ([`content`]: policy
//! documents decoded, networks opened, images shared); and the event-level views built on the same pass — [`timeline`] and
//! [`summary`].

pub mod builtin;
pub mod content;
pub mod entra_tuning;
pub mod environment;
pub mod group;
mod hunt;
mod intern;
mod observe;
mod pack;
pub mod pipeline;
pub mod ruletest;
mod scan;
pub mod summary;
pub mod timeline;

pub use entra_tuning::EntraTuning;
pub use environment::Environments;
pub use hunt::{hunt, HuntOptions, HuntReport, TimeRange, SERVICE_PRINCIPALS_TAG};
pub use pack::{PackError, PackTuning, RulePack};
pub use pipeline::{
    Committed, EngineOptions, Fed, LateCounts, Pipeline, PipelineError, PipelineOptions,
    PipelineSnapshot,
};
