//! `--since` / `--until` values: RFC 3339, a date, or a span back from now (`90m`, `24h`, `7d`).

use anyhow::{bail, Context, Result};
use trailwatch_decode::time::parse_ms;

/// Milliseconds since the epoch for a time argument, relative spans counted back from `now_ms`.
pub fn parse_when(s: &str, now_ms: i64) -> Result<i64> {
    let s = s.trim();
    if let Some(ms) = parse_ms(s) {
        return Ok(ms);
    }
    if s.len() == 10 {
        if let Some(ms) = parse_ms(&format!("{s}T00:00:00Z")) {
            return Ok(ms);
        }
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .with_context(|| format!("{s:?} is not a time (use RFC 3339 or a span like 24h, 7d)"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => bail!("{s:?}: unknown unit {unit:?} (use s, m, h, d or w)"),
    };
    Ok(now_ms - n * unit_ms)
}

/// `--since` / `--until` as milliseconds, each optional, spans counted back from now.
pub fn parse_range(since: Option<&str>, until: Option<&str>) -> Result<(Option<i64>, Option<i64>)> {
    let now = chrono::Utc::now().timestamp_millis();
    let since_ms = since
        .map(|s| parse_when(s, now))
        .transpose()
        .context("--since")?;
    let until_ms = until
        .map(|s| parse_when(s, now))
        .transpose()
        .context("--until")?;
    Ok((since_ms, until_ms))
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
    }
}
