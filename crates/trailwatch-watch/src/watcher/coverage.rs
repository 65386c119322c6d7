//! Coverage: the watch's own alerts about what it cannot see — accounts and regions silent
//! for longer than their `max_gap` (or never heard from), and sources that cannot be listed.

use super::*;

impl Watcher {
    /// Raises the coverage alert of source `i`, which could not be listed (`reason`, escaped):
    /// nothing below it is read while that lasts. One incident per source, open until resolved.
    pub(super) fn alert_unlistable(
        &mut self,
        i: usize,
        reason: &str,
        report: &mut PollReport,
    ) -> Result<(), WatchError> {
        let name = self.sources[i].source.name.clone();
        report.unlisted.push(name.clone());
        let now = now_ms();
        let alert = coverage_alert(
            alert_id(&["unlistable", &name, &now.to_string()]),
            UNLISTABLE_RULE,
            format!("Audit log source cannot be listed: {name}"),
            self.sources[i].provider,
            (now, now),
            format!(
                "{reason}. Nothing below this source is read while it cannot be listed: a deleted bucket or container, changed permissions or credentials, a wrong endpoint, or a listing broken on purpose."
            ),
        );
        let key = alert_id(&["unlistable", &name]);
        self.enqueue(&key, &alert, SystemTime::now(), report)
    }

    /// Raises a coverage alert for every expected or seen account and region of source `i`
    /// silent for longer than its `max_gap` (on the `last_pass`, also for every one that has
    /// never delivered, unless the source could not be listed).
    pub(super) fn check_coverage(
        &mut self,
        i: usize,
        report: &mut PollReport,
        last_pass: bool,
    ) -> Result<(), WatchError> {
        let name = self.sources[i].source.name.clone();
        let never_counts = last_pass && !report.unlisted.contains(&name);
        let seen = self.state.origins(&name);
        for o in &seen {
            self.metrics.set(
                names::ORIGIN_LAST,
                &[
                    ("source", &name),
                    ("account", &o.account),
                    ("region", &o.region),
                ],
                o.last_modified_ms as f64 / 1000.0,
            );
        }
        let Some(gap) = self.sources[i].coverage.max_gap else {
            return Ok(());
        };
        let gap_ms = i64::try_from(gap.as_millis()).unwrap_or(i64::MAX);
        let now = now_ms();
        let cov = &self.sources[i].coverage;
        let provider = self.sources[i].provider;
        // (account, region) → last delivery; "" region = the account as a whole.
        let mut last: std::collections::BTreeMap<(String, String), Option<i64>> =
            std::collections::BTreeMap::new();
        for o in &seen {
            if o.account.is_empty() {
                continue;
            }
            let e = last
                .entry((o.account.clone(), o.region.clone()))
                .or_insert(None);
            *e = Some(e.map_or(o.last_modified_ms, |t| t.max(o.last_modified_ms)));
            let acct = last
                .entry((o.account.clone(), String::new()))
                .or_insert(None);
            *acct = Some(acct.map_or(o.last_modified_ms, |t| t.max(o.last_modified_ms)));
        }
        let mut accounts: Vec<String> = cov.accounts.clone();
        for (a, _) in last.keys() {
            if !accounts.contains(a) {
                accounts.push(a.clone());
            }
        }
        for a in &accounts {
            last.entry((a.clone(), String::new())).or_insert(None);
            for r in &cov.regions {
                last.entry((a.clone(), r.clone())).or_insert(None);
            }
        }
        let mut gaps = Vec::new();
        for ((account, region), t) in &last {
            // Region-level entries cover the account; the account-level one speaks only when
            // no region is expected.
            if region.is_empty() && !cov.regions.is_empty() {
                continue;
            }
            let since = t.unwrap_or(self.started_ms);
            if now - since > gap_ms || (t.is_none() && never_counts) {
                gaps.push((account.clone(), region.clone(), *t, since));
            }
        }
        for (account, region, t, since) in gaps {
            let where_ = if region.is_empty() {
                account.clone()
            } else {
                format!("{account} {region}")
            };
            let what = gap_description(t.is_some(), now - since, gap_ms);
            let alert = Alert {
                account: Some(account.clone()),
                region: (!region.is_empty()).then(|| region.clone()),
                ..coverage_alert(
                    alert_id(&["coverage", &name, &account, &region, &since.to_string()]),
                    COVERAGE_RULE,
                    format!("Audit log delivery stopped: {where_} ({name})"),
                    provider,
                    (since, now),
                    format!(
                        "Source {name}: {what}. A sign of StopLogging, a deleted or changed trail, or a broken delivery pipeline."
                    ),
                )
            };
            let key = alert_id(&["coverage", &name, &account, &region]);
            self.enqueue(&key, &alert, SystemTime::now(), report)?;
        }
        Ok(())
    }
}

/// What a coverage gap is, `silent_ms` long (`delivered`: something came before it).
fn gap_description(delivered: bool, silent_ms: i64, gap_ms: i64) -> String {
    let silent_for = silent_ms / 60_000;
    match delivered {
        true => format!(
            "no delivery for {silent_for} min (more than the {} min allowed)",
            gap_ms / 60_000
        ),
        false if silent_ms > gap_ms => {
            format!("nothing delivered since the watch started {silent_for} min ago")
        }
        false => "nothing ever delivered (found at the end of a single pass, watch --once)".into(),
    }
}

/// A high alert of trailwatch's own about what it cannot see (no event behind it): `span` is the
/// first and last time in ms; account and region are left for the caller.
fn coverage_alert(
    id: String,
    rule: &str,
    title: String,
    provider: Provider,
    span: (i64, i64),
    description: String,
) -> Alert {
    Alert {
        id,
        rule_id: rule.to_string(),
        title,
        severity: Severity::High,
        first_seen: format_ms(span.0),
        last_seen: format_ms(span.1),
        count: 1,
        event_ids: Vec::new(),
        provider,
        account: None,
        region: None,
        principal: "-".to_string(),
        source_ips: Vec::new(),
        actions: Vec::new(),
        resources: Vec::new(),
        tags: vec!["trailwatch.coverage".to_string()],
        description,
    }
}
