//! One investigation from logs and a starting point: the path `trailwatch investigate`,
//! `trailwatch recover` and the console's incident page all take (read the events once,
//! start from a selector or from an alert's event, scope, report), so the three agree.

use crate::{incident, load, scope, Incident, RecoverError, Selector};
use std::collections::HashMap;
use trailwatch_decode::{DecodeError, Input};
use trailwatch_model::Event;

/// Where an investigation starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// A principal, access key or IP given by the analyst.
    Selector(Selector),
    /// An alert's first event (by id): the selector is the one that event gives
    /// ([`Selector::from_event`]).
    Event(String),
}

/// The events read and the incident scoped from them: the report, and what a plan is made of
/// ([`Case::plan`]).
#[derive(Debug, Clone)]
pub struct Case {
    /// Every event read in the time range, oldest first.
    pub events: Vec<Event>,
    pub incident: Incident,
}

/// Reads `inputs` in `[since_ms, until_ms]` once, scopes the incident from `start` and builds
/// its report; `alerts` gives the titles of the rules that fired on each event id. Unreadable
/// records go to `on_error` and the rest is read.
pub fn investigate(
    inputs: &[Input],
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    start: &Start,
    alerts: &HashMap<String, Vec<String>>,
    on_error: &mut dyn FnMut(DecodeError),
) -> Result<Case, RecoverError> {
    let events = load(inputs, since_ms, until_ms, on_error);
    let selector = match start {
        Start::Selector(s) if s.is_empty() => return Err(RecoverError::NoSelector),
        Start::Selector(s) => s.clone(),
        Start::Event(id) => events
            .iter()
            .find(|e| &e.event_id == id)
            .map(Selector::from_event)
            .ok_or_else(|| RecoverError::EventNotRead(id.clone()))?,
    };
    let sc = scope(&events, &selector);
    if sc.events.is_empty() {
        return Err(RecoverError::NothingMatched(selector.to_string()));
    }
    let incident = incident(&events, sc, alerts);
    Ok(Case { events, incident })
}

impl Case {
    /// The recovery plan of the incident.
    pub fn plan(&self, opts: &crate::PlanOptions) -> crate::Plan {
        crate::plan(&self.events, &self.incident, opts)
    }
}
