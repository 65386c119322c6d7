//! Timestamps: a fast path for the ISO 8601 forms audit logs use, and formatting back.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let s = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as i64;
    }
    Some(v)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (also with a space for `T`, and without
/// a zone, read as UTC) into milliseconds since the epoch.
pub fn parse_ms(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ' | b't') {
        return None;
    }
    let (y, mo, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    let (h, mi, se) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                ms = ms * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        for _ in (i - start).min(3)..3 {
            ms *= 10;
        }
    }
    let offset_min = match b.get(i) {
        None | Some(b'Z' | b'z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(
                b,
                if b.get(i + 3) == Some(&b':') {
                    i + 4
                } else {
                    i + 3
                },
                2,
            )?;
            let v = oh * 60 + om;
            if sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// RFC 3339 in UTC with whole seconds when the time has no milliseconds: the one formatter,
/// [`trailwatch_model::time::format_ms`], here beside the parser that reads it back.
pub use trailwatch_model::time::format_ms;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn parses_the_forms_logs_use() {
        let base = parse_ms("2023-07-10T11:45:03Z").unwrap();
        assert_eq!(base, 1_688_989_503_000);
        assert_eq!(parse_ms("2023-07-10T11:45:03.250Z"), Some(base + 250));
        assert_eq!(parse_ms("2023-07-10T11:45:03.9792776Z"), Some(base + 979));
        assert_eq!(parse_ms("2023-07-10T13:45:03+02:00"), Some(base));
        assert_eq!(parse_ms("2023-07-10 11:45:03"), Some(base));
        assert_eq!(parse_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_ms("1969-12-31T23:59:59Z"), Some(-1000));
        for bad in [
            "",
            "2023-13-10T11:45:03Z",
            "yesterday",
            "2023-07-10T11:45:03Q",
        ] {
            assert_eq!(parse_ms(bad), None, "{bad}");
        }
        assert_eq!(format_ms(base), "2023-07-10T11:45:03Z");
        assert_eq!(format_ms(base + 5), "2023-07-10T11:45:03.005Z");
    }

    #[test]
    fn agrees_with_chrono_over_many_dates() {
        let mut t = -2_000_000_000i64;
        while t < 4_000_000_000 {
            let s = DateTime::<Utc>::from_timestamp(t, 0).unwrap().to_rfc3339();
            assert_eq!(parse_ms(&s), Some(t * 1000), "{s}");
            t += 12_345_677;
        }
    }
}
