//! `traceflow gate`: the trend, with an exit code a CI pipeline acts on.

use crate::args::TrendArgs;
use crate::exit_codes;

pub(super) fn run(args: &TrendArgs) -> anyhow::Result<u8> {
    let report = super::trend::analyze(args)?;
    super::print_report(&report, args.format.into())?;
    if report.any_regression {
        eprintln!(
            "Eval regression detected: {:.3}/run",
            report.pass_rate_slope
        );
        Ok(exit_codes::REGRESSION)
    } else {
        eprintln!(
            "No eval regression: {:.3}/run over {} runs ({})",
            report.pass_rate_slope,
            report.window,
            report.pass_rate_direction.as_str()
        );
        Ok(exit_codes::SUCCESS)
    }
}
