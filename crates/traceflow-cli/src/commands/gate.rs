//! `traceflow gate`: the trend, with an exit code a CI pipeline acts on.

use std::io;

use traceflow::trend::{Method, Verdict};

use crate::args::TrendArgs;
use crate::exit_codes;

pub(super) fn run(args: &TrendArgs) -> anyhow::Result<u8> {
    let report = super::trend::analyze(args)?;
    // The verdict is the exit code: a reader that stops reading the report
    // (`| head`) must not turn a regression into a pass.
    match super::print_report(&report, args.format.into()) {
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    let slope = super::per_run(report.pass_rate_slope);
    let stats = &report.statistics;
    if report.method == Method::Ols {
        // The proposal's lines, word for word.
        return Ok(if report.any_regression {
            eprintln!("Eval regression detected: {slope}");
            exit_codes::REGRESSION
        } else {
            eprintln!(
                "No eval regression: {slope} over {} runs ({})",
                report.window,
                report.pass_rate_direction.as_str()
            );
            exit_codes::SUCCESS
        });
    }
    let change = stats
        .cochran_armitage
        .map(|ca| {
            format!(
                "{:+.1} points across {} runs",
                100.0 * ca.predicted_change,
                report.window
            )
        })
        .unwrap_or_else(|| format!("{} runs", report.window));
    Ok(match stats.verdict {
        Verdict::Regression => {
            eprintln!("Eval regression detected: {change}");
            exit_codes::REGRESSION
        }
        Verdict::InsufficientData => {
            let why = stats
                .insufficient
                .as_ref()
                .map_or_else(String::new, |i| format!(": {}; {}", i.reason, i.remedy));
            eprintln!("Too little data to judge{why}");
            if args.require_data {
                exit_codes::INSUFFICIENT_DATA
            } else {
                exit_codes::SUCCESS
            }
        }
        Verdict::Stable | Verdict::Improvement => {
            eprintln!("No eval regression: {change} ({})", stats.verdict.as_str());
            exit_codes::SUCCESS
        }
    })
}
