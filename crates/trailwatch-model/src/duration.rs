//! Durations as people write them in flags and in the configuration file: `500ms`, `90s`,
//! `30m`, `24h`, `7d`, `2w`.
//!
//! One grammar for every such value (`--since 7d`, `--group-window 1h`, `--timeout 30s`,
//! `poll_interval = "5s"`, …): a whole number, optionally a space, then a unit: `ms`, `s`, `m`,
//! `h`, `d` (24 hours) or `w` (7 days). A number without a unit is seconds. Zero is a
//! duration; a caller that needs more says so itself. Sigma rules' `timespan` is not parsed
//! here: it follows the Sigma specification's own grammar (in `trailwatch-sigma`).

use std::time::Duration;

/// What the units are, for messages.
pub const UNITS: &str = "ms, s, m, h, d or w";

/// Why a text is not a duration; each message names the text and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No whole number at the start.
    #[error("duration {value:?}: expected a number and a unit (500ms, 30s, 5m, 24h, 7d, 2w)")]
    NoNumber { value: String },
    /// A unit other than those of [`UNITS`].
    #[error("duration {value:?}: unknown unit {unit:?} (use {UNITS})")]
    UnknownUnit { value: String, unit: String },
    /// More milliseconds than an `i64` holds.
    #[error("duration {value:?} is too long")]
    TooLong { value: String },
}

/// Milliseconds of a duration such as `500ms`, `30s`, `5m`, `24h`, `7d` or `2w` (a bare number
/// is seconds); never negative, at most `i64::MAX`, so that it can be counted back from a time.
pub fn parse_duration_ms(s: &str) -> Result<i64, DurationError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| {
        if num.is_empty() {
            DurationError::NoNumber {
                value: s.to_string(),
            }
        } else {
            // Digits only: the number itself is too large.
            DurationError::TooLong {
                value: s.to_string(),
            }
        }
    })?;
    let unit_ms: i64 = match unit.trim_start() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        other => {
            return Err(DurationError::UnknownUnit {
                value: s.to_string(),
                unit: other.to_string(),
            })
        }
    };
    n.checked_mul(unit_ms)
        .ok_or_else(|| DurationError::TooLong {
            value: s.to_string(),
        })
}

/// [`parse_duration_ms`] as a [`Duration`].
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let ms = parse_duration_ms(s)?;
    // `parse_duration_ms` never gives a negative count.
    Ok(Duration::from_millis(ms.unsigned_abs()))
}

/// Whether `s` is a bare number (no unit), which [`parse_duration_ms`] reads as seconds: a
/// caller where a bare number could mean something else (a year, say) refuses it first.
pub fn is_bare_number(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_a_bare_number() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("30m"), Ok(1_800_000));
        assert_eq!(parse_duration_ms("24h"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("7d"), Ok(7 * 86_400_000));
        assert_eq!(parse_duration_ms("2w"), Ok(14 * 86_400_000));
        assert_eq!(parse_duration_ms("7"), Ok(7_000));
        assert_eq!(parse_duration_ms("0s"), Ok(0));
        assert_eq!(parse_duration_ms(" 5 m "), Ok(300_000));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn garbage_is_refused_with_a_message_naming_it() {
        for (bad, want) in [
            ("", "expected a number"),
            ("m", "expected a number"),
            ("soon", "expected a number"),
            ("-5s", "expected a number"),
            ("5y", "unknown unit \"y\" (use ms, s, m, h, d or w)"),
            ("5 fortnights", "unknown unit \"fortnights\""),
            ("5M", "unknown unit \"M\""),
            ("99999999999999999w", "is too long"),
            ("99999999999999999999d", "is too long"),
        ] {
            let e = parse_duration_ms(bad).expect_err(bad).to_string();
            assert!(
                e.contains(&format!("{bad:?}")) && e.contains(want),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            parse_duration_ms(&i64::MAX.to_string()),
            Err(DurationError::TooLong {
                value: i64::MAX.to_string()
            })
        );
        assert_eq!(parse_duration_ms(&format!("{}ms", i64::MAX)), Ok(i64::MAX));
    }

    #[test]
    fn bare_numbers_are_told_apart() {
        assert!(is_bare_number("2023"));
        assert!(is_bare_number(" 7 "));
        assert!(!is_bare_number("7d"));
        assert!(!is_bare_number(""));
    }
}
