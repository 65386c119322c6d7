//! Alert hygiene: severity raised by context, and suppressions from the configuration.

use crate::config::{SeverityConfig, Suppression};
use crate::engine::Engine;
use crate::obs::{field, Observations};
use rustc_hash::{FxHashMap, FxHashSet};
use trailwatch_model::Alert;

fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Raises each alert's severity by what the engine learned about its principal: the root
/// user, a console sign-in without MFA in the 12 hours before, a source network new to the
/// principal within the day before, activity beginning off-hours. Each reason raises one level
/// (at most `max_raise`), and the description says which applied. Returns how many alerts were
/// raised.
pub fn raise_by_context(alerts: &mut [Alert], engine: &Engine, cfg: &SeverityConfig) -> u64 {
    if !cfg.context || cfg.max_raise == 0 {
        return 0;
    }
    let mut raised = 0;
    for a in alerts.iter_mut() {
        if a.severity < cfg.min_level {
            continue;
        }
        let Some(first) = parse_time(&a.first_seen) else {
            continue;
        };
        let last = parse_time(&a.last_seen).unwrap_or(first);
        let principal = a.principal.split(',').next().unwrap_or("").to_string();
        let account = a.account.clone().unwrap_or_default();
        let p = engine.profile_index(&account, &principal);
        let mut reasons: Vec<String> = Vec::new();
        if cfg.root && (principal.ends_with(":root") || principal.eq_ignore_ascii_case("root")) {
            reasons.push("the account's root user".into());
        }
        if let Some(p) = p {
            if cfg.no_mfa && engine.no_mfa_before(p, first) {
                reasons.push("console sign-in without MFA in the 12 h before".into());
            }
            if cfg.new_ip && a.rule_id != crate::rules::NEW_NETWORK.id {
                if let Some(ip) = a
                    .source_ips
                    .iter()
                    .find(|ip| engine.new_network_near(p, ip, first, last))
                {
                    let net = engine.network_label(ip).unwrap_or_default();
                    reasons.push(format!("source network {net} new for the principal"));
                }
            }
            if cfg.off_hours
                && a.rule_id != crate::rules::OFF_HOURS.id
                && engine.is_learned(p, first)
                && engine.off_hours(p, first).is_some()
            {
                reasons.push("began outside the principal's usual hours".into());
            }
        }
        if reasons.is_empty() {
            continue;
        }
        let before = a.severity;
        for _ in 0..reasons.len().min(usize::from(cfg.max_raise)) {
            a.severity = a.severity.raised();
        }
        if a.severity != before {
            raised += 1;
            a.description.push_str(&format!(
                " [severity raised from {before} to {}: {}]",
                a.severity,
                reasons.join("; ")
            ));
        }
    }
    raised
}

/// A `*` glob, case-insensitive.
fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.to_lowercase();
    let t = text.to_lowercase();
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == t;
    }
    let mut rest = t.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(k) => rest = &rest[k + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The user agents of the events alerts name, when some suppression needs them.
pub fn user_agents(alerts: &[Alert], obs: &Observations) -> FxHashMap<String, String> {
    let wanted: FxHashSet<&str> = alerts
        .iter()
        .flat_map(|a| a.event_ids.iter().map(String::as_str))
        .collect();
    let mut out = FxHashMap::default();
    for o in &obs.obs {
        let id = o.event_id(&obs.syms);
        if wanted.contains(id.as_str()) {
            if let Some(ua) = obs.syms.get(o.f[field::UA]) {
                out.insert(id, ua.to_string());
            }
        }
    }
    out
}

/// Whether a suppression matches an alert (`agents`: event id → user agent).
pub fn matches(s: &Suppression, a: &Alert, agents: &FxHashMap<String, String>) -> bool {
    if let Some(r) = &s.rule {
        if !(a.rule_id.eq_ignore_ascii_case(r) || a.title.eq_ignore_ascii_case(r)) {
            return false;
        }
    }
    if let Some(p) = &s.principal {
        if a.principal.split(',').all(|x| !glob(p, x)) {
            return false;
        }
    }
    if let Some(acct) = &s.account {
        if a.account.as_deref() != Some(acct.as_str()) {
            return false;
        }
    }
    if s.cidr.is_some() {
        let Some(net) = s.net() else { return false };
        let ips: Vec<std::net::IpAddr> =
            a.source_ips.iter().filter_map(|i| i.parse().ok()).collect();
        if ips.is_empty() || ips.iter().any(|ip| !net.contains(ip)) {
            return false;
        }
    }
    if let Some(ua) = &s.user_agent {
        let needle = ua.to_lowercase();
        let known: Vec<&String> = a.event_ids.iter().filter_map(|id| agents.get(id)).collect();
        if known.is_empty() || known.iter().any(|x| !x.to_lowercase().contains(&needle)) {
            return false;
        }
    }
    true
}

/// Drops the alerts a live suppression matches; returns how many each suppression dropped.
pub fn suppress(
    alerts: &mut Vec<(Alert, i64)>,
    live: &[Suppression],
    obs: Option<&Observations>,
) -> Vec<u64> {
    let mut counts = vec![0u64; live.len()];
    if live.is_empty() {
        return counts;
    }
    let agents = match obs {
        Some(o) if live.iter().any(|s| s.user_agent.is_some()) => {
            let only: Vec<Alert> = alerts.iter().map(|(a, _)| a.clone()).collect();
            user_agents(&only, o)
        }
        _ => FxHashMap::default(),
    };
    alerts.retain(
        |(a, _)| match live.iter().position(|s| matches(s, a, &agents)) {
            Some(i) => {
                counts[i] += 1;
                false
            }
            None => true,
        },
    );
    counts
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob(
            "arn:aws:iam::*:role/ci-*",
            "arn:aws:iam::1:role/ci-deploy"
        ));
        assert!(!glob(
            "arn:aws:iam::*:role/ci-*",
            "arn:aws:iam::1:user/ci-deploy"
        ));
        assert!(glob("*deploy", "CI-Deploy"));
        assert!(glob("exact", "EXACT"));
        assert!(!glob("exact", "exactly"));
        assert!(glob("a*b*c", "a-x-b-y-c"));
        assert!(!glob("a*b*c", "a-x-c-y-b"));
    }
}
