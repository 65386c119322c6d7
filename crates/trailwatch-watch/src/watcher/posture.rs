//! Running the posture checks, a job of the scheduler ([`crate::schedule`], `[posture]
//! every`), and alerting each check that passed when last known and fails now
//! ([`crate::posture`]).

use super::*;
use crate::posture::{check_key, regressed};
use trailwatch_posture::Status;

impl Watcher {
    /// Runs the posture checks at `now`, and puts an alert in the outbox for each that
    /// regressed. A cloud whose run could not start is a problem of the poll; the statuses it
    /// would have read stay as they were. Always done (the next run is `every` later).
    pub(super) fn run_posture(
        &mut self,
        now: i64,
        report: &mut PollReport,
    ) -> Result<bool, WatchError> {
        let Some(section) = self.posture.clone() else {
            return Ok(true);
        };
        let (checks, problems) = section.run();
        for p in problems {
            let msg = terminal(&p).into_owned();
            tracing::warn!("{msg}");
            report.problems.push(msg);
        }
        let mut statuses: Vec<(String, &str)> = Vec::new();
        for (provider, c) in &checks {
            let key = check_key(c);
            let last = self.state.posture_status(&key)?;
            if regressed(last.as_deref(), c.status) {
                let incident = alert_id(&["posture", &key, &now.to_string()]);
                let alert = crate::posture::alert(incident.clone(), *provider, c, now);
                self.enqueue(&incident, &alert, SystemTime::now(), report)?;
            }
            if c.status != Status::Unknown {
                statuses.push((key, c.status.as_str()));
            }
        }
        tracing::info!(checks = checks.len(), "posture checks ran");
        report.posture_checks = checks.len() as u64;
        self.state.record_posture(&statuses, self.now())?;
        Ok(true)
    }
}
