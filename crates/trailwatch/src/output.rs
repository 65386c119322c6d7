//! Writing results in the format asked for: a table for people, JSON lines / JSON / CSV for
//! tools. Alerts follow the JSON-lines contract field for field.

use crate::table::{self, Column, Paint};
use anyhow::Result;
use clap::ValueEnum;
use std::io::{IsTerminal, Write};
use trailwatch_decode::time::format_ms;
use trailwatch_detect::group::PendingAlert;
use trailwatch_detect::summary::Summary;
use trailwatch_detect::timeline::TimelineRow;
use trailwatch_escape as escape;
use trailwatch_model::{Alert, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Jsonl,
    Json,
    Csv,
}

/// Where output goes, and whether it is a terminal (colour, width).
pub struct Sink {
    out: Box<dyn Write>,
    pub terminal: bool,
}

impl Sink {
    pub fn open(path: Option<&std::path::Path>) -> Result<Sink> {
        Ok(match path {
            Some(p) => {
                let f = std::fs::File::create(p)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                Sink {
                    out: Box::new(std::io::BufWriter::new(f)),
                    terminal: false,
                }
            }
            None => {
                let terminal = std::io::stdout().is_terminal();
                Sink {
                    out: Box::new(std::io::BufWriter::new(std::io::stdout())),
                    terminal,
                }
            }
        })
    }

    fn color(&self) -> bool {
        self.terminal && std::env::var_os("NO_COLOR").is_none()
    }

    fn width(&self) -> Option<usize> {
        if !self.terminal {
            return None;
        }
        terminal_size::terminal_size()
            .map(|(w, _)| w.0 as usize)
            .or(Some(120))
    }

    /// The underlying writer, for serializers that write straight into it.
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    pub fn write_str(&mut self, s: &str) -> Result<()> {
        self.out.write_all(s.as_bytes())?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

fn paint(s: Severity) -> Paint {
    match s {
        Severity::Critical => Paint::BoldRed,
        Severity::High => Paint::Red,
        Severity::Medium => Paint::Yellow,
        Severity::Low => Paint::Cyan,
        Severity::Informational => Paint::Dim,
    }
}

fn csv_row(w: &mut csv::Writer<Vec<u8>>, cells: &[String]) -> Result<()> {
    w.write_record(cells.iter().map(|c| escape::csv_cell(c).into_owned()))?;
    Ok(())
}

/// A CSV document: the header, then each row with every cell passed through the CSV policy.
pub(crate) fn csv_out(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for r in rows {
        csv_row(&mut w, &r)?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?).into_owned())
}

fn list(v: &[String], max: usize) -> String {
    if v.len() <= max {
        v.join(",")
    } else {
        format!("{} (+{})", v[..max].join(","), v.len() - max)
    }
}

const CSV_HEADER: [&str; 16] = [
    "id",
    "rule_id",
    "title",
    "severity",
    "first_seen",
    "last_seen",
    "count",
    "provider",
    "account",
    "region",
    "principal",
    "source_ips",
    "actions",
    "resources",
    "tags",
    "event_ids",
];

fn alert_csv_row(a: &Alert) -> Vec<String> {
    vec![
        a.id.clone(),
        a.rule_id.clone(),
        a.title.clone(),
        a.severity.to_string(),
        a.first_seen.clone(),
        a.last_seen.clone(),
        a.count.to_string(),
        a.provider.to_string(),
        a.account.clone().unwrap_or_default(),
        a.region.clone().unwrap_or_default(),
        a.principal.clone(),
        a.source_ips.join(" "),
        a.actions.join(" "),
        a.resources.join(" "),
        a.tags.join(" "),
        a.event_ids.join(" "),
    ]
}

fn csv_text(rows: &[Vec<String>], header: Option<&[&str]>) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(h) = header {
        w.write_record(h)?;
    }
    for r in rows {
        csv_row(&mut w, r)?;
    }
    Ok(String::from_utf8_lossy(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?).into_owned())
}

/// Alerts in `format`, rendered one at a time (an alert may list millions of event ids).
pub fn alerts(sink: &mut Sink, pending: &[PendingAlert], format: Format) -> Result<()> {
    match format {
        Format::Jsonl => jsonl_parallel(sink, pending),
        Format::Json => {
            sink.write_str("[")?;
            for (i, p) in pending.iter().enumerate() {
                sink.write_str(if i == 0 { "\n" } else { ",\n" })?;
                serde_json::to_writer_pretty(sink.writer(), &p.to_alert())?;
            }
            sink.write_str("\n]\n")
        }
        Format::Csv => {
            sink.write_str(&csv_text(&[], Some(&CSV_HEADER))?)?;
            for p in pending {
                sink.write_str(&csv_text(&[alert_csv_row(&p.to_alert())], None)?)?;
            }
            Ok(())
        }
        Format::Table => {
            // The table shows no ids: drop them as each alert is rendered.
            let alerts: Vec<Alert> = pending
                .iter()
                .map(|p| Alert {
                    event_ids: Vec::new(),
                    ..p.to_alert()
                })
                .collect();
            let text = alert_table(sink, &alerts);
            sink.write_str(&text)
        }
    }
}

/// JSON lines rendered on every core, in order: batches of alerts (bounded by their event ids,
/// so memory stays bounded) are split between threads, then written one after the other.
fn jsonl_parallel(sink: &mut Sink, pending: &[PendingAlert]) -> Result<()> {
    const BATCH_IDS: usize = 50_000;
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1);
    let mut start = 0;
    while start < pending.len() {
        let mut end = start;
        let mut ids = 0;
        while end < pending.len() && (end == start || ids < BATCH_IDS) {
            ids += pending[end].event_id_count() + 1;
            end += 1;
        }
        let batch = &pending[start..end];
        let per = batch.len().div_ceil(threads);
        let rendered: Vec<Result<Vec<u8>>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .chunks(per.max(1))
                .map(|chunk| {
                    s.spawn(move || -> Result<Vec<u8>> {
                        let mut out = Vec::new();
                        for p in chunk {
                            serde_json::to_writer(&mut out, &p.to_alert())?;
                            out.push(b'\n');
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a rendering thread panicked")))
                })
                .collect()
        });
        for part in rendered {
            sink.writer().write_all(&part?)?;
        }
        start = end;
    }
    Ok(())
}

fn alert_table(sink: &Sink, alerts: &[Alert]) -> String {
    {
        {
            if alerts.is_empty() {
                "no alerts\n".to_string()
            } else {
                let cols = [
                    Column::fixed("SEVERITY", 8),
                    Column::fixed("FIRST SEEN", 20),
                    Column::fixed("COUNT", 5),
                    Column::flex("TITLE", 20),
                    Column::flex("PRINCIPAL", 16),
                    Column::flex("SOURCE IP", 9),
                    Column::flex("ACTIONS", 10),
                    Column::flex("ACCOUNT/REGION", 10),
                ];
                let rows: Vec<(Paint, Vec<String>)> = alerts
                    .iter()
                    .map(|a| {
                        (
                            paint(a.severity),
                            vec![
                                a.severity.to_string(),
                                a.first_seen.clone(),
                                a.count.to_string(),
                                a.title.clone(),
                                a.principal.clone(),
                                list(&a.source_ips, 2),
                                list(&a.actions, 3),
                                format!(
                                    "{}/{}",
                                    a.account.as_deref().unwrap_or("-"),
                                    a.region.as_deref().unwrap_or("-")
                                ),
                            ],
                        )
                    })
                    .collect();
                table::render(&cols, &rows, sink.width(), sink.color())
            }
        }
    }
}

fn worst(rules: &[trailwatch_detect::timeline::Firing]) -> Option<Severity> {
    rules.iter().map(|f| f.severity).max()
}

/// Timeline rows in `format`.
pub fn timeline(sink: &mut Sink, rows: &[TimelineRow], format: Format) -> Result<()> {
    let json_row = |r: &TimelineRow| {
        let mut v = serde_json::to_value(&r.event).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("raw");
            o.insert("time".into(), format_ms(r.event.time_ms).into());
            o.insert(
                "alerts".into(),
                r.rules
                    .iter()
                    .map(|f| serde_json::json!({"title": f.title, "severity": f.severity}))
                    .collect(),
            );
        }
        v
    };
    let text = match format {
        Format::Jsonl => rows
            .iter()
            .map(|r| json_row(r).to_string() + "\n")
            .collect(),
        Format::Json => {
            serde_json::to_string_pretty(&rows.iter().map(json_row).collect::<Vec<_>>())? + "\n"
        }
        Format::Csv => csv_out(
            &[
                "time",
                "provider",
                "account",
                "region",
                "principal",
                "access_key",
                "source_ip",
                "user_agent",
                "action",
                "outcome",
                "error_code",
                "resources",
                "alerts",
                "event_id",
            ],
            rows.iter().map(|r| {
                let e = &r.event;
                vec![
                    format_ms(e.time_ms),
                    e.provider.to_string(),
                    e.account.clone().unwrap_or_default(),
                    e.region.clone().unwrap_or_default(),
                    e.principal.label().to_string(),
                    e.principal.access_key.clone().unwrap_or_default(),
                    e.source_ip.clone().unwrap_or_default(),
                    e.user_agent.clone().unwrap_or_default(),
                    e.action.clone(),
                    format!("{:?}", e.outcome).to_lowercase(),
                    e.error_code.clone().unwrap_or_default(),
                    e.resources.join(" "),
                    r.rules
                        .iter()
                        .map(|f| f.title.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    e.event_id.clone(),
                ]
            }),
        )?,
        Format::Table => {
            let cols = [
                Column::fixed("TIME", 20),
                Column::flex("PRINCIPAL", 16),
                Column::flex("SOURCE IP", 9),
                Column::flex("ACTION", 12),
                Column::flex("RESULT", 6),
                Column::flex("RESOURCES", 10),
                Column::flex("ALERTS", 10),
            ];
            let table_rows: Vec<(Paint, Vec<String>)> = rows
                .iter()
                .map(|r| {
                    let e = &r.event;
                    let result = match &e.error_code {
                        Some(c) => c.clone(),
                        None => format!("{:?}", e.outcome).to_lowercase(),
                    };
                    (
                        worst(&r.rules).map_or(Paint::None, paint),
                        vec![
                            format_ms(e.time_ms),
                            e.principal.label().to_string(),
                            e.source_ip.clone().unwrap_or_default(),
                            e.action.clone(),
                            result,
                            list(&e.resources, 2),
                            r.rules
                                .iter()
                                .map(|f| f.title.clone())
                                .collect::<Vec<_>>()
                                .join("; "),
                        ],
                    )
                })
                .collect();
            table::render(&cols, &table_rows, sink.width(), sink.color())
        }
    };
    sink.write_str(&text)
}

/// A summary in `format`.
pub fn summary(sink: &mut Sink, s: &Summary, format: Format) -> Result<()> {
    let as_json = || {
        let top: serde_json::Map<String, serde_json::Value> = s
            .top
            .iter()
            .map(|(k, v)| {
                let items: Vec<_> = v
                    .iter()
                    .map(|(name, n)| serde_json::json!({"value": name, "count": n}))
                    .collect();
                (k.to_string(), items.into())
            })
            .collect();
        serde_json::json!({
            "events": s.events, "aws_events": s.aws_events, "azure_events": s.azure_events,
            "entra_events": s.entra_events,
            "failures": s.failures,
            "first_seen": s.first_ms.map(format_ms), "last_seen": s.last_ms.map(format_ms),
            "distinct": s.distinct.iter().map(|(k, n)| (k.to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "top": top,
        })
    };
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&as_json())? + "\n",
        Format::Jsonl => as_json().to_string() + "\n",
        Format::Csv => csv_out(
            &["category", "value", "count"],
            s.top.iter().flat_map(|(k, v)| {
                v.iter()
                    .map(move |(name, n)| vec![k.to_string(), name.clone(), n.to_string()])
            }),
        )?,
        Format::Table => {
            let mut out = format!(
                "{} events (aws {}, azure {}, entra {}), {} failed, from {} to {}\n",
                s.events,
                s.aws_events,
                s.azure_events,
                s.entra_events,
                s.failures,
                s.first_ms.map(format_ms).unwrap_or_else(|| "-".into()),
                s.last_ms.map(format_ms).unwrap_or_else(|| "-".into()),
            );
            for ((name, v), (_, distinct)) in s.top.iter().zip(&s.distinct) {
                out.push_str(&format!(
                    "\n{} ({distinct} distinct)\n",
                    name.to_uppercase()
                ));
                if v.is_empty() {
                    out.push_str("  (none)\n");
                }
                for (value, n) in v {
                    out.push_str(&format!("  {n:>9}  {}\n", escape::terminal(value)));
                }
            }
            out
        }
    };
    sink.write_str(&text)
}
