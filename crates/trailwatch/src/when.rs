//! Time arguments and the run's reference time.
//!
//! This module owns "now" for every command that reads a finished trail: the [`Clock`] is
//! resolved once per run (from the system clock, or from `--now`) and every relative span
//! (`--since 7d`), the retention cut-off and suppression expiry are counted from it. A run that
//! crosses midnight therefore uses one instant throughout, and a test (or an analyst replaying
//! an old incident) gets the same answer on any day.

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use trailwatch_decode::time::parse_ms;
use trailwatch_detect::TimeRange;
use trailwatch_model::duration::{is_bare_number, parse_duration_ms};

/// The reference time of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    now_ms: i64,
    fixed: bool,
}

impl Clock {
    /// The system clock, read once; or the time given with `--now` (RFC 3339 or a date).
    pub fn resolve(now: Option<&str>) -> Result<Clock> {
        match now {
            None => Ok(Clock {
                now_ms: chrono::Utc::now().timestamp_millis(),
                fixed: false,
            }),
            Some(s) => {
                let now_ms = parse_instant(s).with_context(|| {
                    format!("--now {s:?}: expected RFC 3339 (2030-01-01T00:00:00Z) or a date")
                })?;
                Ok(Clock {
                    now_ms,
                    fixed: true,
                })
            }
        }
    }

    /// A clock stopped at `now_ms` (what `--now` gives).
    #[cfg(test)]
    pub fn fixed(now_ms: i64) -> Clock {
        Clock {
            now_ms,
            fixed: true,
        }
    }

    /// Milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// The UTC day of the reference time.
    pub fn today(&self) -> NaiveDate {
        chrono::DateTime::from_timestamp_millis(self.now_ms)
            .map_or(NaiveDate::MIN, |t| t.date_naive())
    }

    /// `--since` / `--until` as milliseconds, each optional, spans counted back from this clock.
    pub fn range(&self, since: Option<&str>, until: Option<&str>) -> Result<TimeRange> {
        let since_ms = since
            .map(|s| parse_when(s, self.now_ms))
            .transpose()
            .context("--since")?;
        let until_ms = until
            .map(|s| parse_when(s, self.now_ms))
            .transpose()
            .context("--until")?;
        if let (Some(a), Some(b)) = (since_ms, until_ms) {
            if a > b {
                bail!("--since is after --until: nothing can match");
            }
        }
        Ok(TimeRange { since_ms, until_ms })
    }

    /// Refuses `--now` for a command that follows real time (`watch`, acknowledgements).
    pub fn require_real(&self, command: &str) -> Result<()> {
        if self.fixed {
            bail!("{command} follows the system clock; --now is for commands that read a finished trail");
        }
        Ok(())
    }
}

/// An absolute time: RFC 3339, or a date (its midnight UTC).
fn parse_instant(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(ms) = parse_ms(s) {
        return Some(ms);
    }
    if s.len() == 10 {
        return parse_ms(&format!("{s}T00:00:00Z"));
    }
    None
}

/// Milliseconds since the epoch for a time argument: RFC 3339, a date, or a span in the shared
/// grammar ([`trailwatch_model::duration`]: `90s`, `24h`, `7d`, `2w`, …) counted back from
/// `now_ms`. A bare number is refused here (is `2023` a year or seconds?): a span needs its unit.
pub fn parse_when(s: &str, now_ms: i64) -> Result<i64> {
    if let Some(ms) = parse_instant(s) {
        return Ok(ms);
    }
    if is_bare_number(s) {
        bail!(
            "{s:?} is not a time: give a span with its unit (90s, 24h, 7d) or a date (2023-07-10)"
        );
    }
    let span = parse_duration_ms(s).with_context(|| {
        format!("{s:?} is not a time (use RFC 3339, a date or a span like 24h, 7d)")
    })?;
    now_ms
        .checked_sub(span)
        .with_context(|| format!("{s:?}: too long a span"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_relative_times() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_when("24h", now).unwrap(), now - 86_400_000);
        assert_eq!(parse_when("7d", now).unwrap(), now - 7 * 86_400_000);
        assert_eq!(
            parse_when("2023-07-10T11:45:03Z", now).unwrap(),
            1_688_989_503_000
        );
        assert_eq!(parse_when("2023-07-10", now).unwrap(), 1_688_947_200_000);
        assert!(parse_when("soon", now).is_err());
        assert!(parse_when("5y", now).is_err());
        assert!(parse_when("99999999999999999w", now).is_err());
        assert_eq!(parse_when("2w", now).unwrap(), now - 14 * 86_400_000);
        assert_eq!(parse_when("500ms", now).unwrap(), now - 500);
        let bare = parse_when("2023", now).unwrap_err().to_string();
        assert!(bare.contains("\"2023\"") && bare.contains("unit"), "{bare}");
        let unit = format!("{:#}", parse_when("5y", now).unwrap_err());
        assert!(unit.contains("unknown unit \"y\""), "{unit}");
        assert!(parse_when(&format!("{}ms", i64::MAX), -2).is_err());
    }

    #[test]
    fn the_reference_time_comes_from_now_and_spans_count_back_from_it() {
        let c = Clock::resolve(Some("2030-12-31T12:00:00Z")).unwrap();
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2030, 12, 31).unwrap());
        let b = c.range(Some("7d"), Some("2030-12-31")).unwrap();
        assert_eq!(b.since_ms, Some(c.now_ms() - 7 * 86_400_000));
        assert_eq!(
            b.until_ms,
            Some(Clock::resolve(Some("2030-12-31")).unwrap().now_ms())
        );
        assert_eq!(
            Clock::fixed(0).today(),
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
        );
        assert!(Clock::resolve(Some("tomorrow")).is_err());
        assert!(Clock::resolve(Some("7d")).is_err(), "--now is absolute");
        assert!(c.range(Some("2031-01-01"), Some("2030-01-01")).is_err());
        assert!(c.require_real("watch").is_err());
        assert!(Clock::resolve(None).unwrap().require_real("watch").is_ok());
    }
}
