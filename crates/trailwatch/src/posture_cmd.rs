//! `posture aws` and `posture azure`: the cloud side's logging set-up, checked through its
//! APIs (trailwatch-posture) or, with `posture aws --logs`, read from the trail's records of
//! the calls that set it, written in the format asked for.

use crate::cli::{InputArgs, PostureAwsArgs, PostureAzureArgs, PostureFormat};
use crate::output::Sink;
use crate::table::{self, Column, Paint};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use trailwatch_decode::DecodeError;
use trailwatch_detect::TimeRange;
use trailwatch_posture::azure::AzureOptions;
use trailwatch_posture::{render, AwsOptions, Check, Status};

pub fn aws(a: PostureAwsArgs) -> Result<ExitCode> {
    if !a.logs.is_empty() {
        let checks = from_logs(&a.logs).context("posture aws --logs")?;
        return write(&checks, a.format, a.output.as_deref(), "aws");
    }
    let options = AwsOptions {
        regions: a.regions.clone(),
        profile: a.profile.clone(),
        endpoint: a.endpoint.clone(),
        organization: a.organization,
    };
    let checks = options.run().context("posture aws")?;
    write(&checks, a.format, a.output.as_deref(), "aws")
}

/// The checks the CloudTrail records under `paths` answer, the inputs resolved as `hunt`
/// resolves them; a file or record that cannot be read is reported and the rest is read.
fn from_logs(paths: &[std::path::PathBuf]) -> Result<Vec<Check>> {
    let input = InputArgs {
        paths: paths.to_vec(),
        store: None,
        since: None,
        until: None,
        strict: false,
        threads: None,
    };
    let report = |e: DecodeError| {
        eprintln!(
            "trailwatch: {}",
            trailwatch_escape::terminal(&e.to_string())
        );
    };
    let (inputs, _copy) = crate::commands::inputs(&input, TimeRange::default(), &report)?;
    let events = trailwatch_recover::load(&inputs, None, None, &mut |e| report(e));
    eprintln!("trailwatch: posture aws: {} events read", events.len());
    Ok(trailwatch_posture::fromlogs::checks(&events))
}

pub fn azure(a: PostureAzureArgs) -> Result<ExitCode> {
    let options = AzureOptions {
        subscriptions: a.subscriptions.clone(),
        endpoint: a.endpoint.clone(),
    };
    let checks = options.run().context("posture azure")?;
    write(&checks, a.format, a.output.as_deref(), "azure")
}

/// Writes the checks; exit 0 when every one passed.
fn write(
    checks: &[Check],
    format: PostureFormat,
    output: Option<&Path>,
    cloud: &str,
) -> Result<ExitCode> {
    let mut sink = Sink::open(output)?;
    let text = match format {
        PostureFormat::Table => table_of(checks, &sink),
        PostureFormat::Jsonl => render::jsonl(checks)?,
        PostureFormat::Json => render::json(checks)?,
        PostureFormat::Markdown => render::markdown(checks),
        PostureFormat::Script => render::script(checks),
    };
    sink.write_str(&text)?;
    sink.finish()?;
    let (pass, fail, unknown) = render::counts(checks);
    eprintln!("trailwatch: posture {cloud}: {pass} passed, {fail} failed, {unknown} unknown");
    Ok(if fail == 0 && unknown == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// For people: one row per check, failures red, unknowns yellow, then each failure's fix.
fn table_of(checks: &[Check], sink: &Sink) -> String {
    let col = |header, min, flexible| Column {
        header,
        min,
        flexible,
    };
    let columns = [
        col("STATUS", 7, false),
        col("SEVERITY", 8, false),
        col("CHECK", 20, true),
        col("REGION", 9, false),
        col("RESOURCE", 16, true),
        col("EVIDENCE", 20, true),
    ];
    let rows: Vec<(Paint, Vec<String>)> = checks
        .iter()
        .map(|c| {
            let paint = match c.status {
                Status::Pass => Paint::None,
                Status::Fail => Paint::Red,
                Status::Unknown => Paint::Yellow,
            };
            let cells = vec![
                c.status.as_str().to_string(),
                c.severity.to_string(),
                c.id.to_string(),
                c.region.clone(),
                c.resource.clone(),
                c.evidence.clone(),
            ];
            (paint, cells)
        })
        .collect();
    let color = sink.terminal && std::env::var_os("NO_COLOR").is_none();
    let width = sink
        .terminal
        .then(|| terminal_size::terminal_size().map_or(120, |(w, _)| w.0 as usize));
    let mut out = table::render(&columns, &rows, width, color);
    let fixes: Vec<&Check> = checks.iter().filter(|c| c.fix.is_some()).collect();
    if !fixes.is_empty() {
        out.push_str(
            "\nFixes (review before running; `--format script` writes them as a dry-run script):\n",
        );
        for c in fixes {
            let fix = c.fix.as_deref().unwrap_or_default();
            out.push_str(&format!(
                "  {} {}\n    {}\n",
                c.id,
                trailwatch_escape::terminal(&c.resource),
                trailwatch_escape::terminal(fix)
            ));
        }
    }
    out
}
