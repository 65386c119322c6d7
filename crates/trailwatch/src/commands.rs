//! What each command does: wiring decode, detect and output, and the run report on stderr.

use crate::cli::{
    Cli, Command, DemoArgs, HuntArgs, InputArgs, ProviderArg, RuleArgs, RulesCommand, SimulateArgs,
    SummaryArgs, TimelineArgs, ValidateDigestsArgs,
};
use crate::output::{self, Format, Sink};
use crate::progress;
use crate::when::Clock;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use trailwatch_baseline::DetectionConfig;
use trailwatch_decode::{expand_inputs, expand_inputs_counted, DecodeError, FileStats, Input};
use trailwatch_detect::group::{GroupOptions, PendingAlert};
use trailwatch_detect::timeline::TimelineFilter;
use trailwatch_detect::{HuntOptions, Pipeline, PipelineOptions, RulePack, TimeRange};
use trailwatch_escape as escape;
use trailwatch_model::Severity;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let clock = Clock::resolve(cli.now.as_deref())?;
    match cli.command {
        Command::Hunt(a) => hunt(a, clock),
        Command::Timeline(a) => timeline(a, clock),
        Command::Summary(a) => summary(a, clock),
        Command::Rules(RulesCommand::List { rules, format }) => rules_list(&rules, format),
        Command::Rules(RulesCommand::Check { rules }) => rules_check(&rules),
        Command::Rules(RulesCommand::Test { rules }) => rules_test(&rules),
        Command::Rules(RulesCommand::Explain { rule, event, rules }) => {
            crate::explain_cmd::explain(&rules, &rule, &event)
        }
        Command::Simulate(a) => simulate(a),
        Command::Demo(a) => demo(a),
        Command::ValidateDigests(a) => validate_digests(a, clock),
        Command::Ingest(a) => crate::store_cmd::ingest(a),
        Command::Stats(a) => crate::store_cmd::stats(a),
        Command::Verify(a) => crate::store_cmd::verify(a),
        Command::Retention(a) => crate::store_cmd::retention(a, clock),
        Command::Compact(a) => crate::store_cmd::compact(a, clock),
        Command::Sql(a) => crate::sql_cmd::sql(a),
        Command::Search(a) => crate::store_cmd::search(a, clock),
        Command::Investigate(a) => crate::investigate_cmd::investigate(a, clock),
        Command::Recover(a) => crate::investigate_cmd::recover(a, clock),
        Command::Posture(crate::cli::PostureCommand::Aws(a)) => {
            clock.require_real("posture")?;
            crate::posture_cmd::aws(a)
        }
        Command::Posture(crate::cli::PostureCommand::Azure(a)) => {
            clock.require_real("posture")?;
            crate::posture_cmd::azure(a)
        }
        Command::Watch(a) => {
            clock.require_real("watch")?;
            crate::watch_cmd::watch(a)
        }
        Command::Alerts(a) => {
            clock.require_real("alerts")?;
            crate::watch_cmd::alerts(a)
        }
        Command::Config(a) => crate::watch_cmd::config(a),
        Command::Users(a) => {
            clock.require_real("users")?;
            crate::console_cmd::users(a)
        }
        Command::Review(a) => crate::console_cmd::review(a, clock.now_ms()),
        Command::Serve(a) => {
            clock.require_real("serve")?;
            crate::console_cmd::serve(a)
        }
        Command::Key(crate::cli::KeyCommand::Migrate(a)) => crate::store_cmd::migrate_key(a),
    }
}

fn load_pack(r: &RuleArgs, min_level: Severity) -> Result<RulePack> {
    load_tuned_pack(r, min_level, &DetectionConfig::default())
}

/// [`load_pack`] with the configuration's changes to the built-in pack (`[detection]`).
fn load_tuned_pack(
    r: &RuleArgs,
    min_level: Severity,
    detection: &DetectionConfig,
) -> Result<RulePack> {
    let pack = RulePack::load_configured(!r.no_builtin, &r.rules, min_level, detection)?;
    let failed = pack.failures().len();
    if failed > 0 {
        eprintln!("trailwatch: {failed} rules did not compile and are not used (details: trailwatch rules check)");
    }
    if pack.aws.is_empty() && pack.azure.is_empty() && pack.entra.is_empty() {
        bail!("no rules to run (give --rules DIR, or drop --no-builtin)");
    }
    Ok(pack)
}

/// What every command that reads logs sets up: where output goes, the time range, the inputs,
/// the problem counter, the progress bar and the stopwatch.
struct Run {
    sink: Sink,
    range: TimeRange,
    problems: Problems,
    inputs: Vec<Input>,
    /// A remote store's working copy the inputs are files of, held while they are read.
    _copy: Option<crate::store_at::Opened>,
    bar: indicatif::ProgressBar,
    started: Instant,
}

impl Run {
    fn start(a: &InputArgs, clock: Clock, output: Option<&std::path::Path>) -> Result<Run> {
        let range = clock.range(a.since.as_deref(), a.until.as_deref())?;
        let sink = Sink::open(output)?;
        let problems = Problems(AtomicU64::new(0));
        let (inputs, copy) = inputs(a, range, &|e| problems.report(e))?;
        let bar = progress::bar(inputs.iter().map(Input::size).sum());
        Ok(Run {
            sink,
            range,
            problems,
            inputs,
            _copy: copy,
            bar,
            started: Instant::now(),
        })
    }

    fn on_error(&self) -> impl Fn(DecodeError) + Sync + '_ {
        let problems = &self.problems;
        move |e| problems.report(e)
    }

    fn on_progress(&self) -> impl Fn(u64) + Sync + '_ {
        let bar = &self.bar;
        move |n| bar.inc(n)
    }

    /// Closes the output and reports the run; the exit code follows from what was read.
    fn finish(self, a: &InputArgs, stats: &FileStats, extra: &str) -> Result<ExitCode> {
        let Run {
            sink,
            problems,
            bar,
            started,
            ..
        } = self;
        bar.finish_and_clear();
        sink.finish()?;
        Ok(finish_run(a, stats, &problems, started, extra))
    }
}

/// Counts problems as they are reported on stderr.
struct Problems(AtomicU64);

impl Problems {
    fn report(&self, e: DecodeError) {
        self.0.fetch_add(1, Ordering::Relaxed);
        eprintln!("trailwatch: {}", escape::terminal(&e.to_string()));
    }
}

/// The inputs of a command that reads logs: the files and directories given, or the days of
/// the store (`--store`) that `range` touches. Paths that cannot be read go to `report`.
pub(crate) fn inputs(
    a: &InputArgs,
    range: TimeRange,
    report: &dyn Fn(DecodeError),
) -> Result<(Vec<Input>, Option<crate::store_at::Opened>)> {
    if let Some(dir) = &a.store {
        let (store, copy) = crate::store_cmd::open(&crate::cli::StoreArgs {
            store: Some(dir.clone()),
        })?;
        let inputs = store.replay_inputs(range.since_ms, range.until_ms);
        if inputs.is_empty() {
            bail!("{}: no stored events in the time range", dir.display());
        }
        // The inputs are files of the store: a remote store's working copy goes with them.
        return Ok((inputs, Some(copy)));
    }
    let (inputs, errors, skipped) = expand_inputs_counted(&a.paths);
    if skipped > 0 {
        eprintln!(
            "trailwatch: {skipped} files in the directories were passed over by name (only *.json, *.jsonl, *.ndjson, *.log and *.gz are walked); name a file to read it"
        );
    }
    for e in errors {
        report(DecodeError {
            file: e.path,
            reason: e.reason,
        });
    }
    if inputs.is_empty() {
        bail!("no input to read");
    }
    Ok((inputs, None))
}

/// The run report on stderr, and the exit code it implies.
fn finish_run(
    a: &InputArgs,
    stats: &FileStats,
    problems: &Problems,
    started: Instant,
    extra: &str,
) -> ExitCode {
    let secs = started.elapsed().as_secs_f64();
    let n = problems.0.load(Ordering::Relaxed);
    let rate = if secs > 0.0 {
        stats.records() as f64 / secs
    } else {
        0.0
    };
    eprintln!(
        "trailwatch: read {} of {} files, {} records (aws {}, azure {}, entra {}), {} digest files, {:.1} MB in {:.2}s ({:.0} records/s); {} problems{}",
        stats.files_read,
        stats.files,
        stats.records(),
        stats.aws_records,
        stats.azure_records,
        stats.entra_records,
        stats.digests,
        stats.bytes as f64 / 1e6,
        secs,
        rate,
        n,
        extra
    );
    if stats.files_read == 0 {
        eprintln!("trailwatch: no input could be read");
        return ExitCode::from(1);
    }
    if a.strict && n > 0 {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn severity_counts(alerts: &[PendingAlert]) -> String {
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|s| {
            let n = alerts.iter().filter(|a| a.severity() == *s).count();
            (n > 0).then(|| format!("{s} {n}"))
        })
        .collect();
    format!("; {} alerts ({})", alerts.len(), parts.join(", "))
}

fn hunt(a: HuntArgs, clock: Clock) -> Result<ExitCode> {
    let window_ms = trailwatch_model::duration::parse_duration_ms(&a.group_window)
        .with_context(|| format!("--group-window {:?}", a.group_window))?;
    let plan = crate::baseline_cmd::Plan::new(&a, clock)?;
    let min_level: Severity = a.min_level.into();
    let rule_level = plan
        .engine
        .as_ref()
        .map_or(min_level, |e| e.rule_level(min_level));
    let pack = load_tuned_pack(&a.rules, rule_level, &plan.cfg.detection)?;
    let mut run = Run::start(&a.input, clock, a.output.output.as_deref())?;
    let range = run.range;
    let hunt_opts = HuntOptions {
        range,
        group: GroupOptions {
            window_ms,
            max_event_ids: a.max_event_ids,
            ..GroupOptions::default()
        },
        threads: a.input.threads(),
        ..HuntOptions::default()
    };
    let opts = PipelineOptions::new(hunt_opts, plan.engine.clone(), min_level, 0);
    let mut pipeline = Pipeline::new(&pack, opts).with_learned(plan.learned()?);
    let fed = pipeline.feed(&run.inputs, &run.on_error(), &run.on_progress());
    let done = pipeline.finish(plan.clock.now_ms())?;
    plan.keep(pipeline.learned())?;
    output::alerts(&mut run.sink, &done.alerts, a.output.format)?;
    let mut extra = severity_counts(&done.alerts);
    extra.push_str(&plan.note(&done));
    if range != TimeRange::default() {
        extra.push_str(&format!("; {} events in the time range", fed.examined));
    }
    let code = run.finish(&a.input, &fed.stats, &extra);
    // The process is about to exit, which returns the memory at once; walking millions of
    // small allocations to free them one by one would only add time.
    std::mem::forget(done);
    std::mem::forget(pipeline);
    std::mem::forget(pack);
    code
}

fn timeline(a: TimelineArgs, clock: Clock) -> Result<ExitCode> {
    let pack = load_pack(&a.rules, a.min_level.into())?;
    let mut run = Run::start(&a.input, clock, a.output.output.as_deref())?;
    let range = run.range;
    let filter = TimelineFilter {
        principal: a.filter.principal,
        access_key: a.filter.access_key,
        ip: a.filter.ip,
        action: a.filter.action,
        range,
        only_alerts: a.only_alerts,
    };
    let threads = a.input.threads();
    let (rows, stats) = trailwatch_detect::timeline::timeline(
        &run.inputs,
        &pack,
        &filter,
        threads,
        &run.on_error(),
        &run.on_progress(),
    )
    .context("--action")?;
    output::timeline(&mut run.sink, &rows, a.output.format)?;
    run.finish(&a.input, &stats, &format!("; {} events shown", rows.len()))
}

fn summary(a: SummaryArgs, clock: Clock) -> Result<ExitCode> {
    let mut run = Run::start(&a.input, clock, a.output.output.as_deref())?;
    let range = run.range;
    let threads = a.input.threads();
    let s = trailwatch_detect::summary::summarize(
        &run.inputs,
        range,
        a.top,
        threads,
        &run.on_error(),
        &run.on_progress(),
    );
    output::summary(&mut run.sink, &s, a.output.format)?;
    run.finish(&a.input, &s.stats, "")
}

fn rules_list(r: &RuleArgs, format: Format) -> Result<ExitCode> {
    let pack = load_pack(r, Severity::Informational)?;
    let mut rows = Vec::new();
    for rule in &pack.report.rules {
        let routed = if rule.logsource.applies_to("aws", "cloudtrail") {
            "aws"
        } else if rule.logsource.applies_to("azure", "activitylogs") {
            "azure"
        } else if trailwatch_sigma::ENTRA_SERVICES
            .iter()
            .any(|s| rule.logsource.applies_to("azure", s))
        {
            "entra"
        } else {
            "-"
        };
        let kind = if rule.is_correlation() {
            "correlation"
        } else {
            "detection"
        };
        rows.push((rule.clone(), routed, kind));
    }
    rows.sort_by(|a, b| (b.0.level, &a.0.title).cmp(&(a.0.level, &b.0.title)));
    let mut sink = Sink::open(None)?;
    let text = match format {
        Format::Json | Format::Jsonl => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|(rule, routed, kind)| {
                    serde_json::json!({
                        "id": rule.id, "title": rule.title, "level": rule.level, "kind": kind,
                        "routed_to": routed, "tags": rule.tags, "file": rule.path.display().to_string(),
                    })
                })
                .collect();
            if format == Format::Json {
                serde_json::to_string_pretty(&items)? + "\n"
            } else {
                items.iter().map(|v| v.to_string() + "\n").collect()
            }
        }
        Format::Csv => crate::output::csv_out(
            &["id", "level", "routed_to", "kind", "title", "tags", "file"],
            rows.iter().map(|(rule, routed, kind)| {
                vec![
                    rule.id.clone().unwrap_or_default(),
                    rule.level.to_string(),
                    routed.to_string(),
                    kind.to_string(),
                    rule.title.clone(),
                    rule.tags.join(" "),
                    rule.path.display().to_string(),
                ]
            }),
        )?,
        Format::Table => {
            let mut out = String::new();
            for (rule, routed, kind) in &rows {
                out.push_str(&format!(
                    "{:<13} {:<6} {:<11} {}  [{}]\n",
                    rule.level.to_string(),
                    routed,
                    kind,
                    escape::terminal(&rule.title),
                    escape::terminal(&rule.tags.join(" "))
                ));
            }
            out.push_str(&format!(
                "{} rules: aws {} ({} indexed by eventName), azure {}, entra {}\n",
                rows.len(),
                pack.aws.len(),
                pack.aws.indexed_count(),
                pack.azure.len(),
                pack.entra.len()
            ));
            out
        }
    };
    sink.write_str(&text)?;
    sink.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn rules_check(r: &RuleArgs) -> Result<ExitCode> {
    let pack = RulePack::load(!r.no_builtin, &r.rules, Severity::Informational)?;
    for f in pack.failures() {
        println!("{}", escape::terminal(&f.to_string()));
    }
    let ok = pack.report.rules.len();
    let total = ok + pack.failures().len();
    println!("compiled {ok} of {total} rules");
    Ok(if pack.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn rules_test(r: &RuleArgs) -> Result<ExitCode> {
    let pack = RulePack::load(!r.no_builtin, &r.rules, Severity::Informational)?;
    let results = trailwatch_detect::ruletest::run(&pack.report.rules);
    let untested = pack
        .report
        .rules
        .iter()
        .filter(|r| {
            !r.is_correlation() && r.tests.positive.is_empty() && r.tests.negative.is_empty()
        })
        .count();
    let mut failed = 0;
    for res in results.iter().filter(|r| !r.passed) {
        failed += 1;
        println!(
            "FAIL {} ({}): {} example #{}: {}",
            escape::terminal(&res.rule.title),
            res.rule.path.display(),
            if res.expect == trailwatch_detect::ruletest::Expect::Match {
                "positive"
            } else {
                "negative"
            },
            res.index + 1,
            res.detail
        );
    }
    println!(
        "{} examples: {} passed, {} failed; {} rules without examples",
        results.len(),
        results.len() - failed,
        failed,
        untested
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn sim_options(out: PathBuf, a: &SimulateArgs) -> Result<trailwatch_sim::SimOptions> {
    let mut o = trailwatch_sim::SimOptions::new(out);
    o.providers = match a.provider {
        ProviderArg::Aws => trailwatch_sim::Providers::Aws,
        ProviderArg::Azure => trailwatch_sim::Providers::Azure,
        ProviderArg::Both => trailwatch_sim::Providers::Both,
    };
    o.days = a.days;
    o.events_per_day = a.events_per_day;
    o.seed = a.seed;
    o.attacks = !a.no_attacks;
    o.detections = a.detections;
    o.principals = a.principals;
    o.azure_families = a.azure_families;
    o.entra = a.entra;
    if let Some(s) = &a.start {
        o.start = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .with_context(|| format!("--start {s:?}: expected YYYY-MM-DD"))?;
    }
    Ok(o)
}

fn simulate(a: SimulateArgs) -> Result<ExitCode> {
    let opts = sim_options(a.out.clone(), &a)?;
    let started = Instant::now();
    let report = trailwatch_sim::simulate(&opts)
        .with_context(|| format!("simulate into {}", a.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let records = report.total_records();
    let twins = if report.benign_twins.is_empty() {
        String::new()
    } else {
        format!(
            ", {} benign twins (see benign-twins.manifest)",
            report.benign_twins.len()
        )
    };
    println!(
        "wrote {} records in {} files ({:.1} MB gzip, {:.1} MB raw) to {} in {:.1}s ({:.0} records/s); {} attack scenarios (see scenarios.manifest){twins}",
        records,
        report.aws.files + report.azure.files + report.entra.files,
        (report.aws.bytes_written + report.azure.bytes_written + report.entra.bytes_written) as f64
            / 1e6,
        (report.aws.bytes_uncompressed
            + report.azure.bytes_uncompressed
            + report.entra.bytes_uncompressed) as f64
            / 1e6,
        a.out.display(),
        secs,
        records as f64 / secs.max(1e-9),
        report.scenarios.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn demo(a: DemoArgs) -> Result<ExitCode> {
    let tmp;
    let dir = match &a.keep {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().context("temporary directory")?;
            tmp.path().to_path_buf()
        }
    };
    let sim = SimulateArgs {
        out: dir.clone(),
        provider: ProviderArg::Both,
        days: 3,
        events_per_day: 20_000,
        seed: a.seed,
        start: None,
        no_attacks: false,
        detections: false,
        principals: 50,
        azure_families: false,
        entra: false,
    };
    let opts = sim_options(dir.clone(), &sim)?;
    let report = trailwatch_sim::simulate(&opts).context("simulate the demo organisation")?;
    eprintln!(
        "trailwatch demo: simulated {} AWS and {} Azure records of a {}-principal organisation over {} days, with {} attacks, in {}",
        report.aws.records,
        report.azure.records,
        opts.principals,
        opts.days,
        report.scenarios.len(),
        dir.display()
    );
    for s in &report.scenarios {
        eprintln!(
            "  attack: {} ({}) by {} from {}",
            s.name,
            s.provider,
            escape::terminal(&s.principal),
            s.source_ip
        );
    }
    let pack = load_pack(
        &RuleArgs {
            rules: Vec::new(),
            no_builtin: false,
        },
        a.min_level.into(),
    )?;
    let problems = Problems(AtomicU64::new(0));
    let (inputs, _) = expand_inputs(&[dir]);
    let started = Instant::now();
    // What a default `hunt` runs: the rules, their correlations and the attack chains.
    let engine = trailwatch_detect::EngineOptions::resolve(Default::default(), false, false, false);
    let opts = PipelineOptions::new(HuntOptions::default(), engine, a.min_level.into(), 0);
    let mut pipeline = Pipeline::new(&pack, opts);
    let fed = pipeline.feed(&inputs, &|e| problems.report(e), &|_| {});
    let done = pipeline.finish(0)?;
    let mut sink = Sink::open(None)?;
    output::alerts(&mut sink, &done.alerts, Format::Table)?;
    sink.finish()?;
    let args = InputArgs {
        paths: Vec::new(),
        store: None,
        since: None,
        until: None,
        strict: false,
        threads: None,
    };
    Ok(finish_run(
        &args,
        &fed.stats,
        &problems,
        started,
        &severity_counts(&done.alerts),
    ))
}

fn validate_digests(a: ValidateDigestsArgs, clock: Clock) -> Result<ExitCode> {
    let keys_text = std::fs::read_to_string(&a.public_keys)
        .with_context(|| format!("{}", a.public_keys.display()))?;
    let keys = trailwatch_digest::PublicKeys::from_list_public_keys_json(&keys_text).with_context(
        || {
            format!(
                "{}: not a list-public-keys document",
                a.public_keys.display()
            )
        },
    )?;
    if !a.path.is_dir() {
        bail!("{}: not a directory", a.path.display());
    }
    let range = clock.range(a.since.as_deref(), a.until.as_deref())?;
    let mut opts = trailwatch_digest::ValidateOptions::new(&a.path, &keys);
    opts.range = trailwatch_digest::TimeRange {
        start: range
            .since_ms
            .and_then(chrono::DateTime::from_timestamp_millis),
        end: range
            .until_ms
            .and_then(chrono::DateTime::from_timestamp_millis),
    };
    let report = trailwatch_digest::validate(&opts);
    let mut text = escape::terminal(&report.to_string()).replace("\\n", "\n");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    crate::store_cmd::emit(&text)?;
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
