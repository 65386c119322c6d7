//! The scheduler's jobs run from the poll loop ([`crate::schedule`]): the posture checks and
//! the daily review, each when due, each run recorded in the state database once done.

use super::*;
use crate::review::ReviewBuilder;
use crate::schedule::{day_before, Schedule};
use trailwatch_sink::Report;

/// The periodic jobs, in the order a poll runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Job {
    Posture,
    Review,
}

impl Job {
    const ALL: [Job; 2] = [Job::Posture, Job::Review];

    /// The name its runs are recorded under.
    fn name(self) -> &'static str {
        match self {
            Job::Posture => "posture",
            Job::Review => "review",
        }
    }
}

/// The daily review as configured (`[review]`), with what makes it once the binary set it.
pub(super) struct ReviewJob {
    pub(super) at: u32,
    /// The sinks it goes to, checked against `[[sinks]]` when the configuration was read.
    pub(super) sinks: Vec<String>,
    pub(super) build: Option<ReviewBuilder>,
    /// The last review made, kept while a sink has still to take it.
    pub(super) made: Option<Report>,
}

impl Watcher {
    /// Sets what makes the daily review (`[review]`): without it the review job does not run.
    pub fn set_review(&mut self, build: ReviewBuilder) {
        if let Some(job) = self.review.as_mut() {
            job.build = Some(build);
        }
    }

    /// Replaces the clock the scheduler reads (ms since the epoch): for tests, which run a
    /// morning's poll without waiting for the morning.
    pub fn set_clock(&mut self, clock: Box<dyn Fn() -> i64 + Send>) {
        self.clock = clock;
    }

    pub(super) fn now(&self) -> i64 {
        (self.clock)()
    }

    fn schedule_of(&self, job: Job) -> Option<Schedule> {
        match job {
            Job::Posture => self.posture.as_ref().map(|p| Schedule::Every(p.every)),
            Job::Review => self
                .review
                .as_ref()
                .filter(|r| r.build.is_some())
                .map(|r| Schedule::DailyAt(r.at)),
        }
    }

    /// Runs every job that is due, recording each run the job finished.
    pub(super) fn run_due_jobs(&mut self, report: &mut PollReport) -> Result<(), WatchError> {
        for job in Job::ALL {
            let Some(schedule) = self.schedule_of(job) else {
                continue;
            };
            let last = self.state.job_last(job.name())?;
            let Some(slot) = schedule.due(last, self.now()) else {
                continue;
            };
            let done = match job {
                Job::Posture => self.run_posture(slot, report)?,
                Job::Review => self.send_review(slot, report)?,
            };
            if done {
                let mark = schedule.mark(slot, self.now());
                self.state.record_job(job.name(), mark)?;
            }
        }
        Ok(())
    }

    /// Sends the review due at `slot` (of the day before) to every sink that has not taken
    /// it; done once all have. A sink that fails is a problem of the poll, tried again at the
    /// next one.
    fn send_review(&mut self, slot: i64, report: &mut PollReport) -> Result<bool, WatchError> {
        let day = day_before(slot);
        let id = format!("review-{day}");
        let sent = self.state.report_sent_to(&id)?;
        let Some(job) = self.review.as_mut() else {
            return Ok(true);
        };
        let pending: Vec<String> = job
            .sinks
            .iter()
            .filter(|s| !sent.contains(s))
            .cloned()
            .collect();
        if pending.is_empty() {
            return Ok(true);
        }
        let Some(review) = make_review(job, &id, &day, report) else {
            return Ok(false);
        };
        let mut all = true;
        for sink in &pending {
            match self.dispatcher.send_report(sink, &review) {
                Ok(()) => {
                    self.state.record_report_sent(&id, sink, self.now())?;
                    report.reports_sent += 1;
                    tracing::info!(day = %day, sink = %terminal(sink), "daily review sent");
                }
                Err(e) => {
                    all = false;
                    let msg = format!(
                        "daily review of {day} to sink {}: {} (tried again at the next poll)",
                        terminal(sink),
                        terminal(&e)
                    );
                    tracing::warn!("{msg}");
                    report.problems.push(msg);
                }
            }
        }
        if let Some(job) = self.review.as_mut() {
            job.made = (!all).then_some(review);
        }
        Ok(all)
    }
}

/// The review `id` of `day`: the one kept from an earlier poll, else made now. `None` (a
/// problem of the poll) when it cannot be made.
fn make_review(
    job: &mut ReviewJob,
    id: &str,
    day: &str,
    report: &mut PollReport,
) -> Option<Report> {
    if let Some(kept) = job.made.take() {
        if kept.id == id {
            return Some(kept);
        }
        tracing::warn!(review = %kept.id, "a sink never took this review; the next day's replaces it");
    }
    let build = job.build.as_mut()?;
    match build(day) {
        Ok(mut r) => {
            r.id = id.to_string();
            Some(r)
        }
        Err(e) => {
            let msg = format!(
                "daily review of {day}: {} (tried again at the next poll)",
                terminal(&e)
            );
            tracing::warn!("{msg}");
            report.problems.push(msg);
            None
        }
    }
}
