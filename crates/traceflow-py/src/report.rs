//! The proposal's report as frozen Python objects: [`TraceTrendReport`]
//! holds the library's report and converts at the edge, lazily (a
//! million-run window builds its million summaries only when they are
//! read). Every rendering is the library's exporter.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyList, PyString};
use traceflow::report::terminal::printable;
use traceflow::report::{CaseListing, Document, Format};
use traceflow::trend::{self, Window};

use crate::errors::{Error, Kind};
use crate::worker;

/// The command's renderings as methods of a report class whose `shared()`
/// is the library's report (as [`Shared`]) and `store_file` the store it
/// read: one block for every
/// class. Each renders with the GIL released, and returns the text or,
/// given a path, writes it there as `--output` does.
macro_rules! exporters {
    ($class:ty) => {
        $crate::report::exporters!(@methods $class;
            /// The report as JSON text: exactly ``--format json``. Given a
            /// path, writes it there instead (as ``--output`` does: never
            /// over the store, never half a report) and returns ``None``.
            to_json Json,
            /// The report as Markdown (a pull-request comment): ``--format
            /// markdown``. Given a path, writes it there and returns ``None``.
            to_markdown Markdown,
            /// The report as a self-contained HTML page with charts:
            /// ``--format html``. Given a path, writes it there and returns
            /// ``None``.
            to_html Html,
            /// The report as JUnit XML: ``--format junit``. Given a path,
            /// writes it there and returns ``None``.
            to_junit Junit,
        );
    };
    (@methods $class:ty; $($(#[$doc:meta])* $name:ident $format:ident,)*) => {
        #[pymethods]
        impl $class {
            /// The report as a ``dict``: exactly ``--format json``.
            fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                let report = self.shared();
                let text = py.detach(|| {
                    traceflow::report::render(report.document(), traceflow::report::Format::Json)
                });
                $crate::report::parse_json(py, &text)
            }

            $(
                $(#[$doc])*
                #[pyo3(signature = (path=None))]
                fn $name(
                    &self,
                    py: Python<'_>,
                    path: Option<&Bound<'_, PyAny>>,
                ) -> PyResult<Option<String>> {
                    $crate::report::export(
                        py,
                        self.shared(),
                        traceflow::report::Format::$format,
                        path,
                        self.store_file.as_deref(),
                    )
                }
            )*

            /// The table the command prints, store text made printable as
            /// the command's stdout makes it.
            fn __str__(&self, py: Python<'_>) -> String {
                let report = self.shared();
                py.detach(|| {
                    let table = traceflow::report::render(
                        report.document(),
                        traceflow::report::Format::Table,
                    );
                    traceflow::report::terminal::printable_lines(&table).into_owned()
                })
            }
        }
    };
}
pub(crate) use exporters;

/// A report's library value, to be read on another thread.
#[derive(Clone)]
pub(crate) enum Shared {
    Trace(Arc<trend::TraceTrendReport>),
    Suite(Arc<trend::SuiteReport>),
    Cases(Arc<traceflow::cases::CaseReport>, CaseListing),
    Compare(Arc<traceflow::compare::CompareReport>, CaseListing),
}

impl Shared {
    /// The report as the exporters take it.
    pub(crate) fn document(&self) -> Document<'_> {
        match self {
            Shared::Trace(report) => Document::from(&**report),
            Shared::Suite(report) => Document::Suite(report),
            Shared::Cases(report, listing) => Document::Cases {
                report,
                listing: *listing,
            },
            Shared::Compare(report, listing) => Document::Compare {
                report,
                listing: *listing,
            },
        }
    }
}

/// A rendering of `report`: returned as text, made with the GIL released;
/// or written to `path` (a `str`, `bytes` or path-like) as the command's
/// `--output` writes it, never over `store_file` or the files beside it,
/// on a thread of its own that Ctrl-C leaves (the write is then abandoned
/// and the file left as it was).
pub(crate) fn export(
    py: Python<'_>,
    report: Shared,
    format: Format,
    path: Option<&Bound<'_, PyAny>>,
    store_file: Option<&Path>,
) -> PyResult<Option<String>> {
    let Some(path) = path else {
        return Ok(Some(
            py.detach(|| traceflow::report::render(report.document(), format)),
        ));
    };
    let path: String = py
        .import("os")?
        .call_method1("fsdecode", (path,))?
        .extract()?;
    if path.contains('\0') {
        return Err(Error::new(Kind::InvalidArgument, "path: embedded null byte").into_py(py));
    }
    let path = PathBuf::from(path);
    let store_file = store_file.map(Path::to_path_buf);
    worker::run_stoppable(py, move |stop| {
        traceflow::report::file::write_file(
            report.document(),
            format,
            &path,
            store_file.as_deref(),
            stop,
        )
        .map_err(|err| Error::output(&err, &path))
    })?;
    Ok(None)
}

/// The statistics, rows and reports as Python values by way of their JSON:
/// one encoding for the CLI's `--format json`, `to_dict()` and these. The
/// JSON is written with the GIL released.
pub(crate) fn json_value<T: serde::Serialize + Sync + ?Sized>(
    py: Python<'_>,
    value: &T,
) -> PyResult<Py<PyAny>> {
    let text = py
        .detach(|| serde_json::to_string(value))
        .map_err(|err| pyo3::exceptions::PyValueError::new_err(err.to_string()))?;
    parse_json(py, &text)
}

/// How many Python objects a conversion makes between two chances for
/// other threads (and Ctrl-C): a few milliseconds' work.
const OBJECTS_PER_TURN: usize = 4096;

/// A function of Python's own that returns its argument: `json.loads`
/// calls it for every object it decodes, and running Python code is where
/// the interpreter lets other threads have the GIL and runs signal
/// handlers. Without it a long report (a million runs: 5 s) is decoded in
/// one C call that holds the GIL throughout.
static EACH_OBJECT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(crate) fn parse_json(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    let hook = EACH_OBJECT.get_or_try_init(py, || {
        py.eval(c"lambda value: value", None, None)
            .map(Bound::unbind)
    })?;
    let options = pyo3::types::PyDict::new(py);
    options.set_item("object_hook", hook.bind(py))?;
    Ok(py
        .import("json")?
        .call_method("loads", (text,), Some(&options))?
        .unbind())
}

/// Lets other threads run and Ctrl-C in, between two parts of a long
/// conversion: a release of the GIL that a thread waiting for it takes.
fn turn(py: Python<'_>) -> PyResult<()> {
    py.detach(|| ());
    py.check_signals()
}

/// A unit variant's name as the JSON spells it (`insufficient_data`).
pub(crate) fn json_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        // Unit variants serialize as strings; anything else is a bug.
        other => format!("{other:?}"),
    }
}

/// A UTC instant as an aware `datetime`.
fn datetime(py: Python<'_>, at: jiff::Timestamp) -> PyResult<Py<PyAny>> {
    let iso = at.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
    Ok(py
        .import("datetime")?
        .getattr("datetime")?
        .call_method1("fromisoformat", (iso,))?
        .unbind())
}

/// A bool as Python's `repr` writes it.
pub(crate) fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A float as Python's `repr` writes it (`1.0`, `nan`, `inf`).
fn py_float(x: f64) -> String {
    if x.is_nan() {
        "nan".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{x:?}")
    }
}

/// One run of the window (a trace): the proposal's `TraceRunSummary`.
#[pyclass(frozen, module = "traceflow", name = "TraceRunSummary")]
pub(crate) struct TraceRunSummary {
    inner: trend::TraceRunSummary,
}

#[pymethods]
impl TraceRunSummary {
    /// 0 is the oldest run of the window.
    #[getter]
    fn run_index(&self) -> usize {
        self.inner.run_index
    }

    /// The trace's id.
    #[getter]
    fn trace_id(&self) -> &str {
        &self.inner.trace_id
    }

    /// PASS / all decisions (with none recorded: 1.0 if the trace is
    /// ``done``, else 0.0).
    #[getter]
    fn pass_rate(&self) -> f64 {
        self.inner.pass_rate
    }

    /// REVISE / all decisions.
    #[getter]
    fn revise_rate(&self) -> f64 {
        self.inner.revise_rate
    }

    /// FALLBACK / all decisions.
    #[getter]
    fn fallback_rate(&self) -> f64 {
        self.inner.fallback_rate
    }

    /// Mean of the run's finite score values; ``None`` if there are none.
    #[getter]
    fn avg_score(&self) -> Option<f64> {
        self.inner.avg_score
    }

    /// When the run started (an aware ``datetime`` in UTC).
    #[getter]
    fn created_at(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        datetime(py, self.inner.created_at)
    }

    /// ``"done"`` or ``"failed"``.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }

    /// PASS decisions.
    #[getter]
    fn passes(&self) -> usize {
        self.inner.passes
    }

    /// Gate decisions counted (1 when the status stood in for them).
    #[getter]
    fn decisions(&self) -> usize {
        self.inner.decisions
    }

    /// Where the decisions came from: ``"trace_evals"``,
    /// ``"evaluator_steps"`` or ``"status"``.
    #[getter]
    fn source(&self) -> &'static str {
        self.inner.source.as_str()
    }

    /// The run as a ``dict``, the fields of ``--format json``'s
    /// ``summaries``.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_value(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = PyString::new(py, &printable(&self.inner.trace_id)).repr()?;
        let score = self
            .inner
            .avg_score
            .map_or_else(|| "None".to_owned(), py_float);
        Ok(format!(
            "TraceRunSummary(run_index={}, trace_id={id}, pass_rate={}, revise_rate={}, fallback_rate={}, avg_score={score})",
            self.inner.run_index,
            py_float(self.inner.pass_rate),
            py_float(self.inner.revise_rate),
            py_float(self.inner.fallback_rate),
        ))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Py<PyAny> {
        match other.cast::<TraceRunSummary>() {
            Ok(other) => PyBool::new(py, other.get().inner == self.inner)
                .to_owned()
                .into_any()
                .unbind(),
            // Let the other side decide (`unittest.mock.ANY`, say).
            Err(_) => py.NotImplemented(),
        }
    }
}

/// The pass-rate trend over a window of runs: the proposal's
/// `TraceTrendReport`, with the statistics behind its verdict.
#[pyclass(frozen, module = "traceflow", name = "TraceTrendReport")]
pub(crate) struct TraceTrendReport {
    inner: Arc<trend::TraceTrendReport>,
    summaries: PyOnceLock<Py<PyList>>,
    store_file: Option<PathBuf>,
}

impl TraceTrendReport {
    pub(crate) fn new(inner: trend::TraceTrendReport, store_file: Option<PathBuf>) -> Self {
        TraceTrendReport {
            inner: Arc::new(inner),
            summaries: PyOnceLock::new(),
            store_file,
        }
    }

    fn shared(&self) -> Shared {
        Shared::Trace(Arc::clone(&self.inner))
    }
}

exporters!(TraceTrendReport);

#[pymethods]
impl TraceTrendReport {
    /// Runs analyzed.
    #[getter]
    fn window(&self) -> usize {
        self.inner.window
    }

    /// The window asked for: a number of runs, or ``"all"``.
    #[getter]
    fn requested_window(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match self.inner.requested_window {
            Window::Last(n) => n.into_pyobject(py)?.into_any().unbind(),
            Window::All => PyString::new(py, "all").into_any().unbind(),
        })
    }

    /// OLS slope of pass rate on run index, per run (positive = improving).
    #[getter]
    fn pass_rate_slope(&self) -> f64 {
        self.inner.pass_rate_slope
    }

    /// ``"improving"``, ``"worsening"``, ``"stable"`` or
    /// ``"insufficient_data"`` (``method="auto"`` only), as in the JSON.
    #[getter]
    fn pass_rate_direction(&self) -> String {
        json_name(&self.inner.pass_rate_direction)
    }

    /// Whether the verdict is a regression.
    #[getter]
    fn any_regression(&self) -> bool {
        self.inner.any_regression
    }

    /// Whether the verdict is too little data to judge (``"insufficient_data"``):
    /// then ``any_regression`` is False for want of data, and the analysis
    /// warned (``TraceflowWarning``) saying what would fix it.
    #[getter]
    fn insufficient_data(&self) -> bool {
        self.inner.statistics.verdict == trend::Verdict::InsufficientData
    }

    /// The verdict: ``"regression"``, ``"improvement"``, ``"stable"``,
    /// ``"not_significant"`` or ``"insufficient_data"``, as in the JSON.
    #[getter]
    fn verdict(&self) -> String {
        json_name(&self.inner.statistics.verdict)
    }

    /// The rule used: ``"auto"`` or ``"ols"``.
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.method.as_str()
    }

    /// The per-run slope beyond which ``ols`` calls a direction.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.threshold
    }

    /// The verdict's statistics as a ``dict`` (``--format json``'s
    /// ``statistics``): the tests, their p-values, the step, the minimum
    /// detectable drop.
    #[getter]
    fn statistics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_value(py, &self.inner.statistics)
    }

    /// One sentence saying what changed and how sure the test is.
    #[getter]
    fn summary(&self) -> &str {
        &self.inner.statistics.summary
    }

    /// Traces still running within the window's span, left out.
    #[getter]
    fn left_out_running(&self) -> usize {
        self.inner.left_out_running
    }

    /// Rows that could not be used, each a ``dict`` saying where and why.
    #[getter]
    fn skipped_rows(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_value(py, &self.inner.skipped_rows)
    }

    /// The runs, oldest first (a ``list`` of :class:`TraceRunSummary`).
    #[getter]
    fn summaries(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        let list = self.summaries.get_or_try_init(py, || {
            let list = PyList::empty(py);
            for chunk in self.inner.summaries.chunks(OBJECTS_PER_TURN) {
                for row in chunk {
                    list.append(Py::new(py, TraceRunSummary { inner: row.clone() })?)?;
                }
                turn(py)?;
            }
            PyResult::Ok(list.unbind())
        })?;
        // A copy: the report stays frozen whatever the caller does to it.
        Ok(PyList::new(py, list.bind(py).iter())?.unbind())
    }

    /// The per-run rows as a ``pandas.DataFrame`` (pandas is not a
    /// dependency: this needs it installed).
    fn to_pandas(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let pandas = py.import("pandas").map_err(|_| {
            pyo3::exceptions::PyImportError::new_err("to_pandas() needs pandas: pip install pandas")
        })?;
        let rows = json_value(py, &self.inner.summaries[..])?;
        let frame = pandas.getattr("DataFrame")?.call1((rows,))?;
        // Instants as datetimes, from the instants themselves: their text
        // has a fraction of a second only where there is one, which
        // pandas' parsing by the first row's format refuses.
        let nanoseconds = PyList::empty(py);
        for chunk in self.inner.summaries.chunks(OBJECTS_PER_TURN) {
            for row in chunk {
                nanoseconds.append(row.created_at.as_nanosecond())?;
            }
            turn(py)?;
        }
        let options = pyo3::types::PyDict::new(py);
        options.set_item("unit", "ns")?;
        options.set_item("utc", true)?;
        let created = pandas
            .getattr("to_datetime")?
            .call((nanoseconds,), Some(&options))?;
        frame.set_item("created_at", created)?;
        Ok(frame.unbind())
    }

    fn __repr__(&self) -> String {
        format!(
            "TraceTrendReport(window={}, pass_rate_slope={}, pass_rate_direction='{}', any_regression={}, insufficient_data={}, method='{}')",
            self.inner.window,
            py_float(self.inner.pass_rate_slope),
            json_name(&self.inner.pass_rate_direction),
            py_bool(self.inner.any_regression),
            py_bool(self.insufficient_data()),
            self.inner.method.as_str(),
        )
    }
}
