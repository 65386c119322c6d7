//! Instants as alerts, outputs and reports print them.

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 in UTC (`2023-07-10T11:45:03Z`), with milliseconds only when the time has some
/// (`2023-07-10T11:45:03.005Z`): the form of every alert's `first_seen` / `last_seen` and of
/// event times in outputs. A time outside chrono's range is written as the number of
/// milliseconds itself.
pub fn format_ms(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) if ms % 1000 == 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_unless_the_time_has_milliseconds() {
        let base = 1_688_989_503_000;
        assert_eq!(format_ms(base), "2023-07-10T11:45:03Z");
        assert_eq!(format_ms(base + 5), "2023-07-10T11:45:03.005Z");
        assert_eq!(format_ms(base + 250), "2023-07-10T11:45:03.250Z");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_ms(i64::MAX), i64::MAX.to_string());
    }
}
