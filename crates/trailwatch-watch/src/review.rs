//! The daily review sent each morning (`[review]`): when it goes out and through which sinks.
//!
//! The review itself is made by the console (crate trailwatch-console, which depends on this
//! one), so the watch takes it as a [`ReviewBuilder`] the binary supplies
//! ([`crate::Watcher::set_review`]). It runs as a job of the watch's one scheduler
//! ([`crate::schedule`]), beside the posture checks: at `at` (UTC) each day, for the previous
//! UTC day. A day's review is recorded as sent to a sink in the state database only once that
//! sink took it; a sink that failed is tried again at the next poll, the others are not sent
//! it twice. A watch that was down at `at` sends the review at its next poll; after several
//! missed days, only the latest day's review is sent (once), not one for each missed day.
//! As for alerts, this is at least once: a crash after a sink took the review and before it
//! was recorded sends it to that sink again; its id (`review-YYYY-MM-DD`, the mail's
//! Message-ID and the webhook's `Idempotency-Key`) lets a receiver drop the repeat.

use serde::{Deserialize, Deserializer};
use trailwatch_sink::config::SinkConfig;
use trailwatch_sink::Report;

/// Makes the review of one day (`YYYY-MM-DD`, UTC) as a [`Report`]; the error says why not.
pub type ReviewBuilder = Box<dyn FnMut(&str) -> Result<Report, String> + Send>;

/// `[review]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSection {
    /// The UTC time of day (`"HH:MM"`) the previous day's review is sent, as minutes after
    /// midnight; default 07:00.
    #[serde(default = "default_at", deserialize_with = "de_time_of_day")]
    pub at: u32,
    /// The `[[sinks]]` (by name) it is sent through; default: every sink that can carry a
    /// report (smtp, slack, webhook, jsonl; not syslog).
    #[serde(default)]
    pub sinks: Option<Vec<String>>,
}

fn default_at() -> u32 {
    7 * 60
}

/// `"HH:MM"`, 24-hour, as minutes after midnight.
pub fn parse_time_of_day(s: &str) -> Result<u32, String> {
    let bad = || format!("[review] at {s:?}: expected HH:MM (UTC, 00:00 to 23:59)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let two = |p: &str| {
        (p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    match (two(h), two(m)) {
        (Some(h), Some(m)) if h < 24 && m < 60 => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

fn de_time_of_day<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let s = String::deserialize(d)?;
    parse_time_of_day(&s).map_err(serde::de::Error::custom)
}

impl ReviewSection {
    /// The sinks the review goes to, checked against the `[[sinks]]` configured: each named
    /// sink must exist and be able to carry a report, and there must be at least one.
    pub fn sinks_for(&self, sinks: &[SinkConfig]) -> Result<Vec<String>, String> {
        let Some(names) = &self.sinks else {
            let all: Vec<String> = sinks
                .iter()
                .filter(|s| s.kind.carries_reports())
                .map(|s| s.name.clone())
                .collect();
            if all.is_empty() {
                return Err("[review]: no [[sinks]] can carry the review (smtp, slack, webhook or jsonl; syslog cannot)".into());
            }
            return Ok(all);
        };
        if names.is_empty() {
            return Err("[review] sinks is empty: name at least one [[sinks]]".into());
        }
        for n in names {
            match sinks.iter().find(|s| &s.name == n) {
                None => return Err(format!("[review] sinks names {n:?}, which no [[sinks]] is")),
                Some(s) if !s.kind.carries_reports() => {
                    return Err(format!(
                        "[review] sinks names {n:?}, a sink that cannot carry a report (smtp, slack, webhook or jsonl can; syslog cannot)"
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(names.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    const SINKS: &str = "[[sinks]]\nname = \"mail\"\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\n\
        [[sinks]]\nname = \"siem\"\nkind = \"syslog\"\naddress = \"127.0.0.1:514\"\n\
        [[sinks]]\nname = \"file\"\nkind = \"jsonl\"\npath = \"/tmp/r.jsonl\"\n";

    fn parse(review: &str) -> Result<Config, String> {
        Config::parse(&format!("{SINKS}[review]\n{review}"))
    }

    #[test]
    fn times_of_day_are_hh_mm_utc() {
        assert_eq!(parse_time_of_day("07:00"), Ok(420));
        assert_eq!(parse_time_of_day("23:59"), Ok(1439));
        assert_eq!(parse_time_of_day("00:00"), Ok(0));
        for bad in [
            "24:00", "7:00", "07:60", "0700", "07:00:00", "", "aa:bb", "+7:00",
        ] {
            assert!(parse_time_of_day(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sinks_default_to_those_that_carry_a_report() {
        let c = parse("").expect("valid");
        let r = c.review.as_ref().expect("[review]");
        assert_eq!(r.at, 420);
        assert_eq!(
            r.sinks_for(&c.sinks),
            Ok(vec!["mail".into(), "file".into()])
        );
        let c = parse("at = \"06:30\"\nsinks = [\"file\"]\n").expect("valid");
        let r = c.review.as_ref().expect("[review]");
        assert_eq!(
            (r.at, r.sinks_for(&c.sinks)),
            (390, Ok(vec!["file".into()]))
        );
    }

    #[test]
    fn bad_sections_are_refused_with_the_reason() {
        let cases = [
            ("sinks = [\"slack\"]\n", "which no [[sinks]] is"),
            ("sinks = [\"siem\"]\n", "cannot carry a report"),
            ("sinks = []\n", "is empty"),
            ("at = \"7am\"\n", "expected HH:MM"),
            ("every = \"1d\"\n", "every"),
        ];
        for (text, why) in cases {
            let e = parse(text).expect_err(text);
            assert!(e.contains(why), "{text}: {e}");
        }
        let only_syslog = "[[sinks]]\nname = \"siem\"\nkind = \"syslog\"\naddress = \"127.0.0.1:514\"\n[review]\n";
        let e = Config::parse(only_syslog).expect_err("nothing carries it");
        assert!(e.contains("no [[sinks]] can carry"), "{e}");
        assert!(Config::parse("[review]\n").is_err(), "no sinks at all");
    }
}
