//! traceflow for Python: the extension module `traceflow._traceflow`
//! behind the `traceflow` package (`python/traceflow`). A thin binding:
//! conversions at the edge, analyses on a thread of their own with the GIL
//! released ([`worker`]), the library's errors as the package's
//! exceptions ([`errors`]), and the command itself for `python -m
//! traceflow` ([`cli_main`]).

mod errors;
mod report;
mod worker;

use std::ffi::OsString;

use pyo3::prelude::*;
use traceflow::store::StoreSpec;
use traceflow::trend::{Method, TraceTrendAnalyzer, VerdictOptions, Window};

use crate::errors::{Error, Kind};

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
    let method = match method {
        "auto" => Method::Auto,
        "ols" => Method::Ols,
        other => {
            return Err(Error::new(
                Kind::InvalidArgument,
                format!("unknown method {other:?} (expected \"auto\" or \"ols\")"),
            )
            .into_py(py))
        }
    };
    let defaults = VerdictOptions::default();
    let options = VerdictOptions {
        method,
        threshold,
        alpha,
        min_drop,
        repeated: traceflow::stats::RepeatedOptions {
            evaluations,
            ..defaults.repeated
        },
        ..defaults
    };
    let window = window.map_or(Window::All, Window::Last);
    let found = worker::run(py, move || {
        let spec = StoreSpec::parse(&store).map_err(Error::spec)?;
        let opened = spec.open_read_only().map_err(Error::store)?;
        TraceTrendAnalyzer::with_options(&*opened, options)
            .refuse_too_few(true)
            .analyze(window)
            .map_err(|err| Error::trend(&spec, err))
    })?;
    Ok(report::TraceTrendReport::new(found))
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
    module.add_function(wrap_pyfunction!(cli_main, module)?)?;
    module.add_class::<report::TraceTrendReport>()?;
    module.add_class::<report::TraceRunSummary>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
