//! traceflow for Python: the extension module `traceflow._traceflow`
//! behind the `traceflow` package (`python/traceflow`). A thin binding:
//! conversions at the edge, analyses on a thread of their own with the GIL
//! released (`worker`), the library's errors as the package's exceptions
//! (`errors`), and the command itself for `python -m traceflow`
//! (`cli_main`).

mod cases;
mod errors;
mod reading;
mod report;
mod shortfall;
mod suite;
mod worker;

use std::ffi::OsString;
use std::path::PathBuf;

use pyo3::prelude::*;
use traceflow::cases::{CaseAnalyzer, CaseOptions, SplitAt};
use traceflow::compare::{CompareAnalyzer, CompareOptions, Selector};
use traceflow::error::InvalidValue;
use traceflow::store::{ReadStore, StoreSpec};
use traceflow::timestamp::TimeBound;
use traceflow::trend::{
    check_options, CaseBy, Method, SuiteAnalyzer, TraceTrendAnalyzer, VerdictOptions, Window,
};

use crate::errors::{Error, Kind};

/// The verdict's options from the package's keywords.
pub(crate) fn verdict_options(
    method: &str,
    threshold: f64,
    alpha: f64,
    min_drop: f64,
    evaluations: usize,
) -> Result<VerdictOptions, Error> {
    let method: Method = method
        .parse()
        .map_err(|err: InvalidValue| Error::new(Kind::InvalidArgument, err.to_string()))?;
    // The ranges are checked with the rest of the options
    // (VerdictOptions::validate).
    let defaults = VerdictOptions::default();
    Ok(VerdictOptions {
        method,
        threshold,
        alpha,
        min_drop,
        repeated: traceflow::stats::RepeatedOptions {
            evaluations,
            ..defaults.repeated
        },
        ..defaults
    })
}

/// Opens `store` read-only and runs `analysis` on it, on the worker
/// thread with the GIL released ([`worker::run`]); `error` words the
/// analysis's error as the command does. Returns what it found and the
/// store's file, which no report may be written over: `origin` when the
/// package read a copy of it, else `store`'s.
fn analyze<T: Send + 'static, E: 'static>(
    py: Python<'_>,
    store: OsString,
    origin: Option<PathBuf>,
    analysis: impl FnOnce(&dyn ReadStore) -> Result<T, E> + Send + 'static,
    error: fn(&StoreSpec, E) -> Error,
) -> PyResult<(T, Option<PathBuf>)> {
    worker::run(py, move || {
        let spec = StoreSpec::parse(&store).map_err(Error::spec)?;
        // Made before the store is opened and dropped after it is closed.
        let _reading = reading::Reading::start(spec.file());
        let opened = spec.open_read_only().map_err(Error::store)?;
        let found = analysis(&*opened).map_err(|err| error(&spec, err))?;
        // Absolute now: the process may change directory before a report
        // is written.
        let store_file = origin
            .or_else(|| spec.file().map(PathBuf::from))
            .map(|file| std::path::absolute(&file).unwrap_or(file));
        Ok((found, store_file))
    })
}

/// The pass-rate trend over the store's most recent `window` finished runs
/// (``None``: the method's default, as the command's; `all`: every run),
/// one run per trace. `store` is a path or a PostgreSQL URL or conninfo;
/// the package's ``TraceTrendAnalyzer`` resolves TraceFlow Lite's
/// ``TraceStore`` objects to their path first (`origin`: the store's own
/// file, when `store` is a copy of it). A verdict of too little data is a
/// `TraceflowWarning`, attributed `stacklevel` frames up.
#[pyfunction]
#[pyo3(signature = (store, *, window, all, method, threshold, alpha, min_drop, evaluations, stacklevel, origin=None))]
#[allow(clippy::too_many_arguments)] // Python's keywords, one each.
fn trace_trend(
    py: Python<'_>,
    store: OsString,
    window: Option<usize>,
    all: bool,
    method: &str,
    threshold: f64,
    alpha: f64,
    min_drop: f64,
    evaluations: usize,
    stacklevel: i32,
    origin: Option<PathBuf>,
) -> PyResult<report::TraceTrendReport> {
    let options = verdict_options(method, threshold, alpha, min_drop, evaluations)
        .map_err(|err| err.into_py(py))?;
    let window = match (all, window) {
        (true, _) => Window::All,
        (false, Some(n)) => Window::Last(n),
        (false, None) => options.method.default_window(),
    };
    // Arguments are checked before the store is opened, as the command does.
    check_options(&options, window).map_err(|err| Error::argument(err).into_py(py))?;
    let (found, store_file) = analyze(
        py,
        store,
        origin,
        move |opened| {
            TraceTrendAnalyzer::with_options(opened, options)
                .refuse_too_few(true)
                .analyze(window)
        },
        Error::trend,
    )?;
    if let Some(message) = shortfall::of_trace(&found) {
        shortfall::warn(py, &message, stacklevel)?;
    }
    Ok(report::TraceTrendReport::new(found, store_file))
}

/// Every metric and segment over pooled runs: ``traceflow trend`` with
/// suite options (see [`suite::Keywords`]). A report of the total with too
/// little data is a `TraceflowWarning`, attributed `stacklevel` frames up.
#[pyfunction]
#[pyo3(signature = (store, options, *, stacklevel, origin=None))]
fn suite_trend(
    py: Python<'_>,
    store: OsString,
    options: suite::Keywords,
    stacklevel: i32,
    origin: Option<PathBuf>,
) -> PyResult<suite::SuiteReport> {
    let options = options
        .options(jiff::Timestamp::now())
        .map_err(|err| err.into_py(py))?;
    let (found, store_file) = analyze(
        py,
        store,
        origin,
        |opened| SuiteAnalyzer::new(opened, options).analyze(),
        Error::trend,
    )?;
    if let Some(message) = shortfall::of_suite(&found) {
        shortfall::warn(py, &message, stacklevel)?;
    }
    Ok(suite::SuiteReport::new(found, store_file))
}

/// Where ``cases`` splits the window: a run's index, or an age or a time.
#[derive(FromPyObject)]
enum SplitArg {
    Run(usize),
    Time(String),
}

/// Which cases broke: ``traceflow cases``.
#[pyfunction]
#[pyo3(signature = (store, options, *, split_at, fdr, show, evaluation=None, origin=None))]
#[allow(clippy::too_many_arguments)] // Python's keywords, one each.
fn case_analysis(
    py: Python<'_>,
    store: OsString,
    options: suite::Keywords,
    split_at: Option<SplitArg>,
    fdr: f64,
    show: &str,
    evaluation: Option<String>,
    origin: Option<PathBuf>,
) -> PyResult<cases::CaseReport> {
    let now = jiff::Timestamp::now();
    let invalid = |message: String| Error::new(Kind::InvalidArgument, message).into_py(py);
    let listing = cases::listing(show).map_err(invalid)?;
    let suite = options.options(now).map_err(|err| err.into_py(py))?;
    // Cases are inputs unless asked, as the command has it.
    let case_by = suite.case_by.clone().unwrap_or(CaseBy::Input);
    let split_at = match split_at {
        None => None,
        Some(SplitArg::Run(run)) => Some(SplitAt::Run(run)),
        Some(SplitArg::Time(text)) => Some(SplitAt::Time(
            TimeBound::instant(&text, now).map_err(|e| invalid(format!("split_at: {e}")))?,
        )),
    };
    let options = CaseOptions {
        window: suite.window,
        verdict: suite.verdict,
        case_by,
        split_at,
        fdr,
        evaluation,
    };
    let (found, store_file) = analyze(
        py,
        store,
        origin,
        |opened| CaseAnalyzer::new(opened, options).analyze(),
        Error::cases,
    )?;
    Ok(cases::CaseReport::new(found, listing, store_file))
}

/// A candidate against a baseline: ``traceflow compare``.
#[pyfunction]
#[pyo3(signature = (store, options, *, baseline, candidate, fdr, unpaired, show, stacklevel, origin=None))]
#[allow(clippy::too_many_arguments)] // Python's keywords, one each.
fn comparison(
    py: Python<'_>,
    store: OsString,
    options: suite::Keywords,
    baseline: Option<String>,
    candidate: Option<String>,
    fdr: f64,
    unpaired: bool,
    show: &str,
    stacklevel: i32,
    origin: Option<PathBuf>,
) -> PyResult<cases::CompareReport> {
    let now = jiff::Timestamp::now();
    let invalid = |message: String| Error::new(Kind::InvalidArgument, message).into_py(py);
    let listing = cases::listing(show).map_err(invalid)?;
    let suite = options.options(now).map_err(|err| err.into_py(py))?;
    // Cases are inputs unless asked, as the command has it.
    let case_by = suite.case_by.clone().unwrap_or(CaseBy::Input);
    let selector = |what: &str, text: Option<String>| {
        text.map(|t| Selector::parse_at(&t, now).map_err(|e| invalid(format!("{what}: {e}"))))
            .transpose()
    };
    let options = CompareOptions {
        window: suite.window,
        verdict: suite.verdict,
        baseline: selector("baseline", baseline)?,
        candidate: selector("candidate", candidate)?,
        case_by,
        fdr,
        unpaired,
    };
    let (found, store_file) = analyze(
        py,
        store,
        origin,
        |opened| CompareAnalyzer::new(opened, options).analyze(),
        Error::compare,
    )?;
    if let Some(message) = shortfall::of_comparison(&found) {
        shortfall::warn(py, &message, stacklevel)?;
    }
    Ok(cases::CompareReport::new(found, listing, store_file))
}

/// The gate's decision on a suite report.
#[pyfunction]
#[pyo3(signature = (report, *, require_data))]
fn gate_of(report: &Bound<'_, suite::SuiteReport>, require_data: bool) -> suite::GateResult {
    suite::GateResult::new(report, require_data)
}

/// Runs the `traceflow` command with `argv` (the program's name first) and
/// returns its exit code: `python -m traceflow` and the `traceflow` script.
/// It prints to the process's stdout and stderr, as the binary does.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| traceflow_cli::run(argv))
}

#[pymodule]
fn _traceflow(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(trace_trend, module)?)?;
    module.add_function(wrap_pyfunction!(suite_trend, module)?)?;
    module.add_function(wrap_pyfunction!(gate_of, module)?)?;
    module.add_function(wrap_pyfunction!(case_analysis, module)?)?;
    module.add_function(wrap_pyfunction!(comparison, module)?)?;
    module.add_function(wrap_pyfunction!(cli_main, module)?)?;
    module.add_function(wrap_pyfunction!(reading::open_in_python, module)?)?;
    module.add_class::<report::TraceTrendReport>()?;
    module.add_class::<report::TraceRunSummary>()?;
    module.add_class::<suite::SuiteReport>()?;
    module.add_class::<suite::GateResult>()?;
    module.add_class::<cases::CaseReport>()?;
    module.add_class::<cases::CompareReport>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
