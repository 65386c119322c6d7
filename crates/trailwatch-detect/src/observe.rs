//! What the baselines keep of each record during a hunt (see `trailwatch_baseline::obs`):
//! a few borrowed fields of a CloudTrail record, read in place; Azure and Entra ID records are
//! normalized (they are a small share of any corpus).

use std::borrow::Cow;
use trailwatch_baseline::engine::is_chain_step;
use trailwatch_baseline::obs::{chain_fields, observation_of, Collector, Observation};
use trailwatch_decode::Record;
use trailwatch_json::Raw;

fn text<'a>(v: Option<Raw<'a>>) -> Option<Cow<'a, str>> {
    v.and_then(|v| v.as_str()).filter(|s| !s.is_empty())
}

/// Actions whose chain step needs a request parameter even outside data events.
const CHAIN_ACTIONS: &[&str] = &[
    "CreateAccessKey",
    "UpdateAssumeRolePolicy",
    "CreateRole",
    "AssumeRole",
];

/// Adds one record to a collector (the hunt leaves out service principals before, unless asked
/// to include them).
///
/// With `chain_steps_only` (the chains run, the learned baselines do not), only the events that
/// can be a step of a chain are kept ([`is_chain_step`]).
pub(crate) fn observe(rec: &Record<'_>, out: &mut Collector, chain_steps_only: bool) {
    let keep = |o: &Observation<'_>| !chain_steps_only || is_chain_step(o);
    let r = match rec {
        Record::Aws(r) => r,
        Record::Azure(_) | Record::Entra(_) => {
            let e = rec.normalize();
            let x = observation_of(&e);
            let o = x.as_observation(&e);
            if keep(&o) {
                out.push(&o);
            }
            return;
        }
    };
    let id = |k: &str| text(r.ident(k));
    let ptype = id("type");
    let f = r.facts();
    let action: &str = &f.action;
    let console = action == "ConsoleLogin";
    let mfa = if console {
        text(r.get2("additionalEventData", "MFAUsed")).map(|v| v.eq_ignore_ascii_case("yes"))
    } else {
        r.ident("sessionContext")
            .and_then(|s| s.get("attributes"))
            .and_then(|a| a.get("mfaAuthenticated"))
            .and_then(|v| v.as_bool().or_else(|| v.as_str().map(|s| s == "true")))
    };
    let mut error = r.str("errorCode").filter(|s| !s.is_empty());
    if console && error.is_none() {
        let result = text(r.get2("responseElements", "ConsoleLogin"));
        if result.as_deref() == Some("Failure") {
            error = Some(Cow::Borrowed("Failure"));
        }
    }
    let read_only = r.get("readOnly").and_then(|v| {
        v.as_bool()
            .or_else(|| v.as_str().map(|s| s.eq_ignore_ascii_case("true")))
    });
    let data_event = r.str("eventCategory").as_deref() == Some("Data")
        || r.get("managementEvent").and_then(|v| v.as_bool()) == Some(false);
    let (resource, detail) = if data_event || CHAIN_ACTIONS.contains(&action) {
        let param = |k: &str| text(r.get2("requestParameters", k)).map(Cow::into_owned);
        let new_key = || {
            text(
                r.get2("responseElements", "accessKey")
                    .and_then(|k| k.get("accessKeyId")),
            )
            .map(Cow::into_owned)
        };
        let policy = param("policyDocument");
        let c = chain_fields(action, &param, &new_key, policy.as_deref());
        (c.resource, c.detail)
    } else {
        (None, None)
    };
    let caller_account = if ptype.as_deref() == Some("AWSAccount") {
        id("accountId")
    } else {
        None
    };
    let key = id("accessKeyId");
    let ua = r.str("userAgent");
    let service = r.str("eventSource");
    let o = Observation {
        time_ms: f.time_ms,
        provider: Some(trailwatch_model::Provider::Aws),
        event_id: &f.event_id,
        account: f.account.as_deref(),
        principal: &f.principal,
        principal_type: ptype.as_deref(),
        caller_account: caller_account.as_deref(),
        access_key: key.as_deref(),
        mfa,
        source_ip: f.source_ip.as_deref(),
        user_agent: ua.as_deref(),
        service: service.as_deref(),
        action,
        region: f.region.as_deref(),
        read_only,
        error_code: error.as_deref(),
        data_event,
        resource: resource.as_deref(),
        detail: detail.as_deref(),
    };
    if keep(&o) {
        out.push(&o);
    }
}
