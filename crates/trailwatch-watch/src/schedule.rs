//! The watch's one scheduler of periodic jobs: the posture checks (`[posture] every`) and the
//! daily review (`[review] at`). A job's last run is kept in the state database
//! ([`crate::state::State::job_last`]); each poll asks [`Schedule::due`] of every job, runs
//! those due, and records a run only once the job says it is done (a job that could not finish
//! is due again at the next poll).

use std::time::Duration;

const DAY_MS: i64 = 86_400_000;

/// When a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// `every` after the end of its last run (and at once when it never ran).
    Every(Duration),
    /// Each day at this many minutes after midnight UTC. A run missed (the watch was down)
    /// happens at the next poll; after several missed, only the latest is owed.
    DailyAt(u32),
}

impl Schedule {
    /// The run due at `now_ms` given the last one recorded (`last_ms`), as the instant it is
    /// for (the slot of a daily job, `now_ms` for the others); `None` when nothing is due.
    pub fn due(&self, last_ms: Option<i64>, now_ms: i64) -> Option<i64> {
        match *self {
            Schedule::Every(every) => {
                let every = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
                match last_ms {
                    Some(last) if now_ms.saturating_sub(last) < every => None,
                    _ => Some(now_ms),
                }
            }
            Schedule::DailyAt(minute) => {
                let slot = latest_slot(minute, now_ms);
                last_ms.is_none_or(|last| last < slot).then_some(slot)
            }
        }
    }

    /// What is recorded once a run for `slot` is done, at `end_ms`: a daily job its slot, an
    /// `Every` job the end of the run (so a slow run is not started again straight away).
    pub fn mark(&self, slot: i64, end_ms: i64) -> i64 {
        match self {
            Schedule::Every(_) => end_ms,
            Schedule::DailyAt(_) => slot,
        }
    }
}

/// The latest instant at or before `now_ms` that is `minute` minutes after a UTC midnight.
fn latest_slot(minute: u32, now_ms: i64) -> i64 {
    let today = now_ms.div_euclid(DAY_MS) * DAY_MS + i64::from(minute) * 60_000;
    if now_ms >= today {
        today
    } else {
        today - DAY_MS
    }
}

/// The UTC day (`YYYY-MM-DD`) before the one `slot_ms` falls in: the day a daily review sent
/// at `slot_ms` is about.
pub fn day_before(slot_ms: i64) -> String {
    let t = trailwatch_model::time::format_ms(slot_ms - DAY_MS);
    t.get(..10).unwrap_or(&t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        trailwatch_decode::time::parse_ms(s).expect("time")
    }

    #[test]
    fn a_daily_job_is_due_once_per_slot_and_a_missed_one_once() {
        let s = Schedule::DailyAt(7 * 60);
        let slot = at("2026-11-21T07:00:00Z");
        assert_eq!(s.due(None, at("2026-11-21T08:00:00Z")), Some(slot));
        assert_eq!(s.due(Some(slot), at("2026-11-21T23:59:00Z")), None);
        assert_eq!(s.due(Some(slot), at("2026-11-22T06:59:59Z")), None);
        let next = at("2026-11-22T07:00:00Z");
        assert_eq!(s.due(Some(slot), next), Some(next));
        // Down for three days: one run, for the latest slot.
        let later = at("2026-11-25T09:00:00Z");
        assert_eq!(s.due(Some(slot), later), Some(at("2026-11-25T07:00:00Z")));
        // Before today's time: yesterday's slot is the latest.
        assert_eq!(
            s.due(Some(slot - 2 * DAY_MS), at("2026-11-21T06:00:00Z")),
            Some(at("2026-11-20T07:00:00Z"))
        );
        assert_eq!(s.mark(slot, slot + 5), slot);
        assert_eq!(day_before(slot), "2026-11-20");
    }

    #[test]
    fn an_every_job_counts_from_the_end_of_its_last_run() {
        let s = Schedule::Every(Duration::from_secs(3600));
        assert_eq!(s.due(None, 10), Some(10));
        assert_eq!(s.due(Some(0), 3_599_999), None);
        assert_eq!(s.due(Some(0), 3_600_000), Some(3_600_000));
        assert_eq!(s.mark(100, 250), 250);
    }
}
