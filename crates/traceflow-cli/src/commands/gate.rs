//! `traceflow gate`: the trend, with an exit code a CI pipeline acts on.

use traceflow::trend::{ChangeKind, Method, SuiteReport, Verdict};

use super::trend::Analysis;
use crate::args::TrendArgs;
use crate::exit_codes;

pub(super) fn run(args: &TrendArgs) -> anyhow::Result<u8> {
    let analysis = super::trend::analyze(args)?;
    // The verdict is the exit code: a reader that stops reading the report
    // (`| head`) must not turn a regression into a pass.
    match super::write_report(analysis.document(), args) {
        Err(err) if super::is_broken_pipe(&err) => {}
        other => other?,
    }
    let report = match analysis {
        Analysis::Suite(suite) => return Ok(judge_suite(&suite, args)),
        Analysis::Trace(report) => *report,
    };
    let slope = super::per_run(report.pass_rate_slope);
    let stats = &report.statistics;
    if report.method == Method::Ols {
        // The proposal's lines, word for word.
        return Ok(if report.any_regression {
            super::say(&format!("Eval regression detected: {slope}"));
            exit_codes::REGRESSION
        } else {
            super::say(&format!(
                "No eval regression: {slope} over {} runs ({})",
                report.window,
                report.pass_rate_direction.as_str()
            ));
            exit_codes::SUCCESS
        });
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
    Ok(match stats.verdict {
        Verdict::Regression => {
            super::say(&format!("Eval regression detected: {change}"));
            exit_codes::REGRESSION
        }
        Verdict::InsufficientData => {
            let why = stats
                .insufficient
                .as_ref()
                .map_or_else(String::new, |i| format!(": {}; {}", i.reason, i.remedy));
            super::say(&format!("Too little data to judge{why}"));
            if args.require_data {
                exit_codes::INSUFFICIENT_DATA
            } else {
                exit_codes::SUCCESS
            }
        }
        Verdict::Stable | Verdict::Improvement | Verdict::NotSignificant => {
            super::say(&format!(
                "No eval regression: {change} ({})",
                stats.verdict.as_str()
            ));
            exit_codes::SUCCESS
        }
    })
}

/// A suite fails the gate when any report (any metric of the total or of
/// a segment) is a regression after Holm's correction. `--require-data`
/// exits 3 when a report of the total has too little data (segments may
/// well be small; the total is what the team gates on).
fn judge_suite(suite: &SuiteReport, args: &TrendArgs) -> u8 {
    let label = |r: &traceflow::trend::MetricReport| {
        format!(
            "{} ({}) {}",
            r.metric,
            traceflow::report::segment_name(r.segment.as_deref()),
            traceflow::report::change_text(r)
        )
    };
    let regressions: Vec<String> = suite
        .reports
        .iter()
        .filter(|r| r.statistics.verdict == Verdict::Regression)
        .map(label)
        .collect();
    if !regressions.is_empty() {
        super::say(&format!(
            "Eval regression detected: {}",
            regressions.join("; ")
        ));
        return exit_codes::REGRESSION;
    }
    let short: Vec<&traceflow::trend::MetricReport> = suite
        .reports
        .iter()
        .filter(|r| r.segment.is_none() && r.statistics.verdict == Verdict::InsufficientData)
        .collect();
    if let Some(first) = short.first() {
        // One line: the metrics, then the first one's reason.
        let metrics: Vec<String> = short.iter().map(|r| r.metric.to_string()).collect();
        let why = first
            .statistics
            .insufficient
            .as_ref()
            .map_or_else(String::new, |i| format!("; {}: {}", first.metric, i.reason));
        super::say(&format!(
            "Too little data to judge: {}{why}",
            metrics.join(", ")
        ));
        if args.require_data {
            return exit_codes::INSUFFICIENT_DATA;
        }
        return exit_codes::SUCCESS;
    }
    super::say(&format!(
        "No eval regression: {} reports over {} runs",
        suite.reports.len(),
        suite.runs
    ));
    exit_codes::SUCCESS
}
