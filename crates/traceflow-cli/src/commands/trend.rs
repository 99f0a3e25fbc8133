//! `traceflow trend`: print the trend across runs.

use traceflow::progress::Progress;
use traceflow::report::{Document, RunListing};
use traceflow::trend::{
    SuiteAnalyzer, SuiteReport, TraceTrendAnalyzer, TraceTrendReport, TrendError,
};

use super::Out;
use crate::args::TrendArgs;
use crate::exit_codes;

/// What was analyzed: the pass rate over traces, or a suite of metrics,
/// segments and pooled runs.
pub(crate) enum Analysis {
    /// The pass rate over traces (no suite flag given).
    Trace(Box<TraceTrendReport>),
    /// `--group-by`, `--metric`, `--all-metrics`, `--segment-by`,
    /// `--since` or `--until`.
    Suite(Box<SuiteReport>),
}

impl Analysis {
    /// The report to write; `runs`: the rows of a trace report's table.
    pub(crate) fn document(&self, runs: RunListing) -> Document<'_> {
        match self {
            Analysis::Trace(report) => Document::Trace { report, runs },
            Analysis::Suite(suite) => Document::Suite(suite),
        }
    }
}

/// Opens the store read-only and analyzes what the arguments ask for.
pub(crate) fn analyze(args: &TrendArgs, out: &Out<'_>) -> anyhow::Result<Analysis> {
    let (db, store) = args.store.open()?;
    let store = &*store;
    let spinner = out.spinner(&db.to_string());
    let hook = spinner.as_ref().map(crate::progress::Spinner::hook);
    let progress = hook.as_ref().map(|h| h as &Progress);
    let context = |err: TrendError| match err {
        // Store errors name the file already.
        err if err.kind().names_the_store() => anyhow::Error::new(err),
        err => anyhow::Error::new(err).context(db.to_string()),
    };
    if args.is_suite() {
        let options = args
            .suite_options(jiff::Timestamp::now())
            .map_err(anyhow::Error::msg)?;
        return SuiteAnalyzer::new(store, options)
            .on_progress(progress)
            .analyze()
            .map(|suite| Analysis::Suite(Box::new(suite)))
            .map_err(context);
    }
    let window = args
        .window
        .options(args.method(), jiff::Timestamp::now())
        .map_err(anyhow::Error::msg)?;
    TraceTrendAnalyzer::with_options(store, args.verdict_options())
        .stale_before(window.stale_before)
        .between(window.since, window.until)
        .on_progress(progress)
        .analyze(args.window())
        .map(|report| Analysis::Trace(Box::new(report)))
        .map_err(context)
}

pub(crate) fn run(args: &TrendArgs, out: &mut Out<'_>) -> anyhow::Result<u8> {
    let runs = args.run_listing().map_err(anyhow::Error::msg)?;
    let analysis = analyze(args, out)?;
    out.write_report(analysis.document(runs), &args.report, &args.store)?;
    Ok(exit_codes::SUCCESS)
}
