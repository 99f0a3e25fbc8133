//! `traceflow trend`: print the pass-rate trend across runs.

use traceflow::store::SqliteStore;
use traceflow::trend::{TraceTrendAnalyzer, TraceTrendReport, TrendError};

use crate::args::TrendArgs;
use crate::exit_codes;

/// Opens the store read-only and analyzes the window the arguments ask for.
pub(super) fn analyze(args: &TrendArgs) -> anyhow::Result<TraceTrendReport> {
    let store = SqliteStore::open_read_only(&args.store.db)?;
    TraceTrendAnalyzer::with_options(&store, args.verdict_options())
        .analyze(args.window())
        .map_err(|err| match err {
            // Store errors name the file already.
            TrendError::Store(_) => anyhow::Error::new(err),
            _ => anyhow::Error::new(err).context(args.store.db.display().to_string()),
        })
}

pub(super) fn run(args: &TrendArgs) -> anyhow::Result<u8> {
    let report = analyze(args)?;
    super::print_report(&report, args.format.into())?;
    Ok(exit_codes::SUCCESS)
}
