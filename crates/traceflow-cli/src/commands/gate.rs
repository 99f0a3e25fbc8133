//! `traceflow gate`: the trend, with an exit code a CI pipeline acts on.

use traceflow::trend::{ChangeKind, GateOutcome, Method, SuiteReport, Verdict};

use super::trend::Analysis;
use super::Out;
use crate::args::GateArgs;

pub(super) fn run(gate: &GateArgs, out: &mut Out<'_>) -> anyhow::Result<u8> {
    let args = &gate.trend;
    let runs = args.run_listing().map_err(anyhow::Error::msg)?;
    let analysis = super::trend::analyze(args, out)?;
    // The verdict is the exit code: a reader that stops reading the report
    // (`| head`) must not turn a regression into a pass.
    match out.write_report(analysis.document(runs), &args.report, &args.store) {
        Err(err) if super::is_broken_pipe(&err) => {}
        other => other?,
    }
    let report = match analysis {
        Analysis::Suite(suite) => {
            let outcome = GateOutcome::of_suite(&suite);
            say_suite(&suite, &outcome);
            return Ok(exit_code(&outcome, gate.require_data));
        }
        Analysis::Trace(report) => *report,
    };
    let outcome = GateOutcome::of_trace(&report);
    say_trace(&report);
    Ok(exit_code(&outcome, gate.require_data))
}

/// The library's decision as an exit code: `--require-data` turns too
/// little data into a failure of its own.
fn exit_code(outcome: &GateOutcome, require_data: bool) -> u8 {
    outcome.exit_code(require_data)
}

/// The gate's line for the proposal's report.
fn say_trace(report: &traceflow::trend::TraceTrendReport) {
    let slope = super::per_run(report.pass_rate_slope);
    let stats = &report.statistics;
    if report.method == Method::Ols {
        // The proposal's lines, word for word.
        if report.any_regression {
            super::say(&format!("Eval regression detected: {slope}"));
        } else {
            super::say(&format!(
                "No eval regression: {slope} over {} runs ({})",
                report.window,
                report.pass_rate_direction.as_str()
            ));
        }
        return;
    }
    let change = stats
        .change
        .map(|c| match c.kind {
            ChangeKind::Step => format!(
                "{:+.1} points, a step from {:.1}% to {:.1}% in {} runs",
                100.0 * c.change,
                100.0 * c.before.unwrap_or_default(),
                100.0 * c.after.unwrap_or_default(),
                report.window
            ),
            ChangeKind::Trend => format!(
                "{:+.1} points across {} runs",
                100.0 * c.change,
                report.window
            ),
        })
        .unwrap_or_else(|| format!("{} runs", report.window));
    match stats.verdict {
        Verdict::Regression => super::say(&format!("Eval regression detected: {change}")),
        Verdict::InsufficientData => {
            let why = stats
                .insufficient
                .as_ref()
                .map_or_else(String::new, |i| format!(": {}; {}", i.reason, i.remedy));
            super::say(&format!("Too little data to judge{why}"));
        }
        Verdict::Stable | Verdict::Improvement | Verdict::NotSignificant => {
            super::say(&format!(
                "No eval regression: {change} ({})",
                stats.verdict.as_str()
            ));
        }
    }
}

/// The gate's line for a suite: the reports that are regressions, else the
/// metrics of the total with too little data (and the first one's reason).
fn say_suite(suite: &SuiteReport, outcome: &GateOutcome) {
    match outcome {
        GateOutcome::Regression { reports } => {
            let regressions: Vec<String> = reports
                .iter()
                .filter_map(|&k| suite.reports.get(k))
                .map(|r| {
                    format!(
                        "{} ({}) {}",
                        r.metric,
                        traceflow::report::segment_name(r.segment.as_deref()),
                        traceflow::report::change_text(r)
                    )
                })
                .collect();
            super::say(&format!(
                "Eval regression detected: {}",
                regressions.join("; ")
            ));
        }
        GateOutcome::TooLittleData { reports } => {
            let short: Vec<&traceflow::trend::MetricReport> = reports
                .iter()
                .filter_map(|&k| suite.reports.get(k))
                .collect();
            let names: Vec<String> = short.iter().map(|r| r.metric.to_string()).collect();
            // The first one's reason after its name: named once when it is
            // the only one.
            let why = short
                .first()
                .and_then(|first| first.statistics.insufficient.as_ref())
                .map(|i| i.reason.to_string());
            let line = match (names.as_slice(), why) {
                ([one], Some(why)) => format!(" {one}: {why}"),
                ([first, ..], Some(why)) => format!(": {}; {first}: {why}", names.join(", ")),
                ([], _) | (_, None) => format!(": {}", names.join(", ")),
            };
            super::say(&format!("Too little data to judge{line}"));
        }
        GateOutcome::NoRegression => super::say(&format!(
            "No eval regression: {} reports over {} runs",
            suite.reports.len(),
            suite.runs
        )),
    }
}
