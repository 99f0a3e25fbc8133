//! `traceflow cases`: which cases broke, each before and after a split.

use traceflow::cases::CaseAnalyzer;
use traceflow::progress::Progress;
use traceflow::report::{CaseListing, Document};

use super::Out;
use crate::args::CasesArgs;
use crate::exit_codes;

pub(crate) fn run(args: &CasesArgs, out: &mut Out<'_>) -> anyhow::Result<u8> {
    let (db, store) = args.store.open()?;
    let options = args
        .case_options(jiff::Timestamp::now())
        .map_err(anyhow::Error::msg)?;
    let spinner = out.spinner(&db.to_string());
    let hook = spinner.as_ref().map(crate::progress::Spinner::hook);
    let report = CaseAnalyzer::new(&*store, options)
        .on_progress(hook.as_ref().map(|h| h as &Progress))
        .analyze()
        .map_err(|err| match err {
            // Store errors name the file already.
            err if err.kind().names_the_store() => anyhow::Error::new(err),
            err => anyhow::Error::new(err).context(db.to_string()),
        })?;
    // Its line cleared before the report is written.
    drop(spinner);
    let listing = match (args.all, args.flaky) {
        (true, _) => CaseListing::All,
        (_, true) => CaseListing::Flaky,
        _ => CaseListing::News,
    };
    let doc = Document::Cases {
        report: &report,
        listing,
    };
    out.write_report(doc, &args.report, &args.store)?;
    Ok(exit_codes::SUCCESS)
}
