//! Coverage: which accounts and regions (subscriptions and locations on Azure, tenants on
//! Entra ID) delivered records in a period, when each last did, and where a regular delivery
//! fell silent. One query ([`sql`]) counts per provider, account, region and hour and finds
//! each cell's longest silence; [`cells`] turns its rows into [`Cell`]s; the overview draws
//! them as a map ([`map`]) and the daily review lists the gaps ([`gaps`]).

use crate::html::{e, href};
use crate::query::Rows;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const HOUR_MS: i64 = 3_600_000;

/// A silence this long (hours) in a regular delivery is a gap.
pub const GAP_HOURS: i64 = 3;

/// One account × region of one provider over the period.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Cell {
    pub provider: String,
    pub account: String,
    pub region: String,
    pub events: u64,
    /// Hours of the period with at least one event.
    pub active_hours: i64,
    /// The last event's time (RFC 3339, UTC).
    pub last_event: String,
    /// The longest run of hours without an event between the cell's first event and the end
    /// of the period (the silence since the last event included).
    pub longest_silence_hours: i64,
    /// Hours since the last event, to the end of the period.
    pub silent_for_hours: i64,
    /// Whether a regular delivery (events in at least half the hours from the first one to
    /// the end of the period) has a silence of [`GAP_HOURS`] or more.
    pub gap: bool,
}

/// Counts per provider, account, region: events, active hours, first and last hour, last
/// event and the longest silence between two active hours.
pub fn sql(since_ms: i64, until_ms: i64) -> String {
    let tf = trailwatch_query::Query::time_filter_sql(since_ms, until_ms);
    format!(
        "SELECT provider, coalesce(account, '') AS account, coalesce(region, '') AS region, \
         sum(n) AS events, count(*) AS active_hours, min(hour) AS first_hour, \
         max(hour) AS last_hour, CAST(max(last_ms) AS BIGINT) AS last_ms, \
         coalesce(max(hour - prev), 1) - 1 AS inner_silence \
         FROM (SELECT provider, account, region, hour, n, last_ms, \
               lag(hour) OVER (PARTITION BY provider, account, region ORDER BY hour) AS prev \
               FROM (SELECT provider, account, region, CAST(time AS BIGINT) / {HOUR_MS} AS hour, \
                     count(*) AS n, max(CAST(time AS BIGINT)) AS last_ms \
                     FROM events WHERE {tf} GROUP BY 1, 2, 3, 4)) \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
}

fn int(row: &[serde_json::Value], i: usize) -> i64 {
    row.get(i).and_then(serde_json::Value::as_i64).unwrap_or(0)
}

fn text(row: &[serde_json::Value], i: usize) -> String {
    row.get(i)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

/// The cells of [`sql`]'s rows for a period ending at `until_ms`.
pub fn cells(rows: &Rows, until_ms: i64) -> Vec<Cell> {
    let end_hour = until_ms / HOUR_MS;
    rows.rows
        .iter()
        .map(|row| {
            let (first_hour, last_hour) = (int(row, 5), int(row, 6));
            let active_hours = int(row, 4);
            let silent_for_hours = (end_hour - last_hour).max(0);
            let longest_silence_hours = int(row, 8).max(silent_for_hours);
            let span = end_hour - first_hour + 1;
            let regular = active_hours >= GAP_HOURS && 2 * active_hours >= span;
            Cell {
                provider: text(row, 0),
                account: text(row, 1),
                region: text(row, 2),
                events: u64::try_from(int(row, 3)).unwrap_or(0),
                active_hours,
                last_event: trailwatch_model::time::format_ms(int(row, 7)),
                longest_silence_hours,
                silent_for_hours,
                gap: regular && longest_silence_hours >= GAP_HOURS,
            }
        })
        .collect()
}

/// The cells with a gap, as rows for the review.
pub fn gaps(cells: &[Cell]) -> Rows {
    Rows {
        columns: [
            "provider",
            "account",
            "region",
            "last_event",
            "silent_for_hours",
            "longest_silence_hours",
        ]
        .map(String::from)
        .to_vec(),
        rows: cells
            .iter()
            .filter(|c| c.gap)
            .map(|c| {
                vec![
                    c.provider.clone().into(),
                    c.account.clone().into(),
                    c.region.clone().into(),
                    c.last_event.clone().into(),
                    c.silent_for_hours.into(),
                    c.longest_silence_hours.into(),
                ]
            })
            .collect(),
        truncated: false,
    }
}

fn shown(s: &str) -> &str {
    if s.is_empty() {
        "(none)"
    } else {
        s
    }
}

/// The map: per provider, a table of accounts (rows) × regions (columns); each cell gives its
/// events (a link to the overview narrowed to it), its last event and, in words, a gap.
pub fn map(cells: &[Cell], hours: i64) -> String {
    if cells.is_empty() {
        return "<p>No events in the period.</p>".into();
    }
    let mut by_provider: BTreeMap<&str, Vec<&Cell>> = BTreeMap::new();
    for c in cells {
        by_provider.entry(c.provider.as_str()).or_default().push(c);
    }
    let hours = hours.to_string();
    let mut o = String::new();
    for (provider, cells) in by_provider {
        let regions: BTreeSet<&str> = cells.iter().map(|c| c.region.as_str()).collect();
        let accounts: BTreeSet<&str> = cells.iter().map(|c| c.account.as_str()).collect();
        let _ = write!(
            o,
            r#"<div class="scroll"><table class="coverage"><caption>{}: accounts × regions</caption><thead><tr><th scope="col">Account</th>"#,
            e(provider)
        );
        for r in &regions {
            let _ = write!(o, r#"<th scope="col">{}</th>"#, e(shown(r)));
        }
        o.push_str("</tr></thead><tbody>");
        for a in &accounts {
            let _ = write!(o, r#"<tr><th scope="row">{}</th>"#, e(shown(a)));
            for r in &regions {
                let cell = cells.iter().find(|c| c.account == *a && c.region == *r);
                let _ = write!(o, "{}", map_cell(cell, &hours));
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody></table></div>");
    }
    let _ = write!(
        o,
        "<p>A gap: a delivery with events in at least half its hours, silent for {GAP_HOURS} hours or more.</p>"
    );
    o
}

fn map_cell(cell: Option<&&Cell>, hours: &str) -> String {
    let Some(c) = cell else {
        return "<td>·</td>".into();
    };
    let link = href(
        "/",
        &[
            ("hours", hours),
            ("provider", &c.provider),
            ("account", &c.account),
            ("region", &c.region),
        ],
    );
    let gap = if c.gap {
        format!(
            r#"<br><strong class="gap">gap: {} h silent</strong>"#,
            c.longest_silence_hours
        )
    } else {
        String::new()
    };
    format!(
        r#"<td{}><a href="{link}">{} events</a><br><small>last {}</small>{gap}</td>"#,
        if c.gap { r#" class="gap""# } else { "" },
        c.events,
        e(&c.last_event)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: Vec<Vec<serde_json::Value>>) -> Rows {
        Rows {
            columns: vec![],
            rows: r,
            truncated: false,
        }
    }

    #[test]
    fn a_regular_delivery_that_stops_is_a_gap_and_a_sparse_one_is_not() {
        let until = 100 * HOUR_MS + 10;
        let r = rows(vec![
            // Every hour from 76 to 95, then nothing for 5 hours.
            vec![
                "aws".into(),
                "111".into(),
                "eu-west-1".into(),
                500.into(),
                20.into(),
                76.into(),
                95.into(),
                (95 * HOUR_MS + 5).into(),
                0.into(),
            ],
            // Two events 18 hours apart: sparse, no gap.
            vec![
                "aws".into(),
                "111".into(),
                "ap-south-1".into(),
                2.into(),
                2.into(),
                80.into(),
                99.into(),
                (99 * HOUR_MS).into(),
                18.into(),
            ],
            // Every hour but a 4-hour hole in the middle.
            vec![
                "azure".into(),
                "sub".into(),
                "".into(),
                90.into(),
                21.into(),
                76.into(),
                100.into(),
                (100 * HOUR_MS).into(),
                4.into(),
            ],
        ]);
        let c = cells(&r, until);
        assert_eq!(c[0].silent_for_hours, 5);
        assert!(c[0].gap);
        assert!(!c[1].gap);
        assert!(c[2].gap);
        assert_eq!(c[2].longest_silence_hours, 4);
        let g = gaps(&c);
        assert_eq!(g.rows.len(), 2);
        let html = map(&c, 24);
        assert!(html.contains("gap: 5 h silent"), "{html}");
        assert!(html.contains("(none)"), "{html}");
    }
}
