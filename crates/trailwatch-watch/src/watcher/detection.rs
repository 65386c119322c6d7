//! Detection in the watch: the pipeline fed each step, its alerts put in the outbox one
//! incident each, and its state saved with the checkpoints (and restored after a restart or
//! a failed step).

use super::*;

/// The pipeline saved by the last step, or a new one.
pub(super) fn restore_pipeline(
    state: &State,
    pack: Arc<RulePack>,
    opts: PipelineOptions,
) -> Result<Pipeline<Arc<RulePack>>, WatchError> {
    let Some(bytes) = state.pipeline()? else {
        return Ok(Pipeline::new(pack, opts));
    };
    let snap = serde_json::from_slice(&bytes).map_err(|e| WatchError::Io {
        what: "detection state in the checkpoint database".into(),
        source: std::io::Error::other(e),
    })?;
    let (pipeline, dropped) = Pipeline::restore(pack, opts, snap)?;
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "correlation observations of rules no longer loaded were dropped"
        );
    }
    Ok(pipeline)
}

/// The key that makes re-detections of one incident one alert: rule, cloud, account and
/// principal (the first event is left out, so the incident survives restarts and growth).
pub fn incident_key(a: &Alert) -> String {
    alert_id(&[
        "incident",
        &a.rule_id,
        a.provider.as_str(),
        a.account.as_deref().unwrap_or(""),
        &a.principal,
    ])
}

impl Watcher {
    /// Puts a commit's alerts in the outbox, one incident each.
    pub(super) fn hand_out(
        &mut self,
        done: trailwatch_detect::Committed,
        report: &mut PollReport,
    ) -> Result<(), WatchError> {
        let now = SystemTime::now();
        for pending in &done.alerts {
            let alert = pending.to_alert();
            self.enqueue(&incident_key(&alert), &alert, now, report)?;
        }
        let late = self.pipeline.late();
        self.metrics.set(names::LATE_EVENTS, &[], late.late as f64);
        self.metrics
            .set(names::TOO_LATE_EVENTS, &[], late.too_late as f64);
        Ok(())
    }

    /// The pipeline's state as saved with the checkpoints.
    pub(super) fn snapshot(&self) -> Result<Vec<u8>, WatchError> {
        let snap = self.pipeline.snapshot()?;
        serde_json::to_vec(&snap).map_err(|e| WatchError::Io {
            what: "detection state".into(),
            source: std::io::Error::other(e),
        })
    }

    /// Decides everything still waiting for the reorder window (`watch --once --drain`: no
    /// older event is to come) and saves the state.
    pub fn drain(&mut self, report: &mut PollReport) -> Result<(), WatchError> {
        let done = self.pipeline.finish(now_ms())?;
        self.hand_out(done, report)?;
        let snapshot = self.snapshot()?;
        self.state.commit(&[], Some(&snapshot))?;
        report.delivery.add(self.dispatch()?);
        Ok(())
    }

    /// After a failed step, goes back to the state saved with the last checkpoints, so that
    /// the step's objects, read again, are not counted twice.
    pub(super) fn rewind(&mut self) -> Result<(), WatchError> {
        let pack = Arc::clone(self.pipeline.pack());
        let opts = self.pipeline.options().clone();
        self.pipeline = restore_pipeline(&self.state, pack, opts)?;
        Ok(())
    }

    pub(super) fn enqueue(
        &mut self,
        key: &str,
        alert: &Alert,
        now: SystemTime,
        report: &mut PollReport,
    ) -> Result<(), WatchError> {
        let (what, id) = self.dispatcher.enqueue_incident(key, alert, now)?;
        match what {
            Enqueued::New => {
                report.alerts_new += 1;
                self.metrics.add(
                    names::ALERTS,
                    &[("severity", &alert.severity.to_string())],
                    1.0,
                );
                tracing::info!(
                    alert = %id, rule = %terminal(&alert.rule_id), severity = %alert.severity,
                    principal = %terminal(&alert.principal), "new alert"
                );
            }
            Enqueued::Known(state) => {
                report.alerts_merged += 1;
                tracing::debug!(alert = %id, %state, "detection folded into a known incident");
            }
        }
        Ok(())
    }
}
