//! `traceflow gate`: the trend, with an exit code a CI pipeline acts on.

use std::io;

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
    if report.any_regression {
        eprintln!("Eval regression detected: {slope}");
        Ok(exit_codes::REGRESSION)
    } else {
        eprintln!(
            "No eval regression: {slope} over {} runs ({})",
            report.window,
            report.pass_rate_direction.as_str()
        );
        Ok(exit_codes::SUCCESS)
    }
}
