//! `traceflow compare`: a candidate against a baseline, with the exit code
//! a pull-request check acts on.

use traceflow::compare::{CompareAnalyzer, CompareVerdict};
use traceflow::progress::Progress;
use traceflow::report::{CaseListing, Document};

use super::Out;
use crate::args::CompareArgs;

pub(crate) fn run(args: &CompareArgs, out: &mut Out<'_>) -> anyhow::Result<u8> {
    let (db, store) = args.store.open()?;
    let options = args
        .compare_options(jiff::Timestamp::now())
        .map_err(anyhow::Error::msg)?;
    let spinner = out.spinner(&db.to_string());
    let hook = spinner.as_ref().map(crate::progress::Spinner::hook);
    let report = CompareAnalyzer::new(&*store, options)
        .on_progress(hook.as_ref().map(|h| h as &Progress))
        .analyze()
        .map_err(|err| match err {
            // Store errors name the file already.
            err if err.kind().names_the_store() => anyhow::Error::new(err),
            err => anyhow::Error::new(err).context(db.to_string()),
        })?;
    // Its line cleared before the report is written.
    drop(spinner);
    let listing = if args.all {
        CaseListing::All
    } else {
        CaseListing::News
    };
    // The verdict is the exit code: a reader that stops reading the report
    // (`| head`) must not turn a regression into a pass.
    match out.write_report(
        Document::Compare {
            report: &report,
            listing,
        },
        &args.report,
        &args.store,
    ) {
        Err(err) if super::is_broken_pipe(&err) => {}
        other => other?,
    }
    // The gate's line: the summary says which way it went.
    if report.verdict == CompareVerdict::Regression {
        out.say(&format!("Eval regression detected: {}", report.summary));
    } else {
        out.say(&report.summary);
    }
    Ok(exit_code(report.verdict, args.require_data))
}

/// The verdict as an exit code: `--require-data` turns too little data
/// into a failure of its own.
fn exit_code(verdict: CompareVerdict, require_data: bool) -> u8 {
    verdict.exit_code(require_data)
}
