//! traceflow for Python: the extension module `traceflow._traceflow`
//! behind the `traceflow` package (`python/traceflow`). A thin binding:
//! conversions at the edge, analyses on a thread of their own with the GIL
//! released ([`worker`]), the library's errors as the package's
//! exceptions ([`errors`]), and the command itself for `python -m
//! traceflow` ([`cli_main`]).

mod errors;
mod report;
mod suite;
mod worker;

use std::ffi::OsString;

use pyo3::prelude::*;
use traceflow::store::{ReadStore, StoreSpec};
use traceflow::trend::{
    Method, SuiteAnalyzer, TraceTrendAnalyzer, TrendError, VerdictOptions, Window,
};

use crate::errors::{Error, Kind};

/// The verdict's options from the package's keywords.
fn verdict_options(
    method: &str,
    threshold: f64,
    alpha: f64,
    min_drop: f64,
    evaluations: usize,
) -> Result<VerdictOptions, Error> {
    let method = match method {
        "auto" => Method::Auto,
        "ols" => Method::Ols,
        other => {
            return Err(Error::new(
                Kind::InvalidArgument,
                format!("unknown method {other:?} (expected \"auto\" or \"ols\")"),
            ))
        }
    };
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

/// Opens `store` read-only for `analysis`, on the worker thread.
fn with_store<T>(
    store: &OsString,
    analysis: impl FnOnce(&dyn ReadStore) -> Result<T, TrendError>,
) -> Result<T, Error> {
    let spec = StoreSpec::parse(store).map_err(Error::spec)?;
    let opened = spec.open_read_only().map_err(Error::store)?;
    analysis(&*opened).map_err(|err| Error::trend(&spec, err))
}

/// The pass-rate trend over the store's most recent `window` finished runs
/// (``None``: all of them), one run per trace. `store` is a path or a
/// PostgreSQL URL or conninfo; the package's ``TraceTrendAnalyzer``
/// resolves TraceFlow Lite's ``TraceStore`` objects to their path first.
#[pyfunction]
#[pyo3(signature = (store, *, window, method, threshold, alpha, min_drop, evaluations))]
#[allow(clippy::too_many_arguments)] // Python's keywords, one each.
fn trace_trend(
    py: Python<'_>,
    store: OsString,
    window: Option<usize>,
    method: &str,
    threshold: f64,
    alpha: f64,
    min_drop: f64,
    evaluations: usize,
) -> PyResult<report::TraceTrendReport> {
    let options = verdict_options(method, threshold, alpha, min_drop, evaluations)
        .map_err(|err| err.into_py(py))?;
    let window = window.map_or(Window::All, Window::Last);
    let found = worker::run(py, move || {
        with_store(&store, |opened| {
            TraceTrendAnalyzer::with_options(opened, options)
                .refuse_too_few(true)
                .analyze(window)
        })
    })?;
    Ok(report::TraceTrendReport::new(found))
}

/// Every metric and segment over pooled runs: ``traceflow trend`` with
/// suite options. `window` ``None`` with `all` false is the method's
/// default (500 runs for auto, 20 for ols); `since` and `until` are RFC
/// 3339 instants.
#[pyfunction]
#[pyo3(signature = (store, *, window, all, method, alpha, min_drop, evaluations, group_by, metrics, segment_by, since, until, case_by, exclude_flaky))]
#[allow(clippy::too_many_arguments)] // Python's keywords, one each.
fn suite_trend(
    py: Python<'_>,
    store: OsString,
    window: Option<usize>,
    all: bool,
    method: &str,
    alpha: f64,
    min_drop: f64,
    evaluations: usize,
    group_by: String,
    metrics: Vec<String>,
    segment_by: Option<String>,
    since: Option<String>,
    until: Option<String>,
    case_by: Option<String>,
    exclude_flaky: bool,
) -> PyResult<suite::SuiteReport> {
    let verdict = verdict_options(
        method,
        VerdictOptions::default().threshold,
        alpha,
        min_drop,
        evaluations,
    )
    .map_err(|err| err.into_py(py))?;
    let options = suite::Keywords {
        window,
        all,
        verdict,
        group_by,
        metrics,
        segment_by,
        since,
        until,
        case_by,
        exclude_flaky,
    }
    .options()
    .map_err(|message| Error::new(Kind::InvalidArgument, message).into_py(py))?;
    let found = worker::run(py, move || {
        with_store(&store, |opened| {
            SuiteAnalyzer::new(opened, options).analyze()
        })
    })?;
    Ok(suite::SuiteReport::new(found))
}

/// The gate's decision on a suite report.
#[pyfunction]
#[pyo3(signature = (report, *, require_data))]
fn gate_of(
    py: Python<'_>,
    report: &Bound<'_, suite::SuiteReport>,
    require_data: bool,
) -> PyResult<suite::GateResult> {
    suite::GateResult::new(py, report, require_data)
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
    module.add_function(wrap_pyfunction!(cli_main, module)?)?;
    module.add_class::<report::TraceTrendReport>()?;
    module.add_class::<report::TraceRunSummary>()?;
    module.add_class::<suite::SuiteReport>()?;
    module.add_class::<suite::GateResult>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
