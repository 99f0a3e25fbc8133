//! Every metric and segment over pooled runs (`traceflow.trend`) and the
//! gate's decision on it (`traceflow.gate`): the command's `trend` and
//! `gate` with their options as keywords.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use pyo3::prelude::*;
use traceflow::timestamp::TimeBound;
use traceflow::trend::{
    self, GateOutcome, Metric, SuiteOptions, VerdictOptions, Window, WindowOptions,
};

use crate::errors::{Error, Kind};

use crate::report::{exporters, json_name, py_bool, Shared};

/// The reports of an analysis: one per metric for the total, then per
/// segment, held to Holm's correction together (``traceflow trend`` with
/// suite options).
#[pyclass(frozen, module = "traceflow", name = "SuiteReport")]
pub(crate) struct SuiteReport {
    inner: Arc<trend::SuiteReport>,
    store_file: Option<PathBuf>,
}

impl SuiteReport {
    pub(crate) fn new(inner: trend::SuiteReport, store_file: Option<PathBuf>) -> Self {
        SuiteReport {
            inner: Arc::new(inner),
            store_file,
        }
    }

    fn shared(&self) -> Shared {
        Shared::Suite(Arc::clone(&self.inner))
    }
}

exporters!(SuiteReport);

#[pymethods]
impl SuiteReport {
    /// Whether any report is a regression (after Holm's correction).
    #[getter]
    fn any_regression(&self) -> bool {
        self.inner.any_regression
    }

    /// Whether a report of the total (any metric, no segment) has too
    /// little data to judge: the analysis warned (``TraceflowWarning``),
    /// and without a regression ``any_regression`` is False for want of
    /// data.
    #[getter]
    fn insufficient_data(&self) -> bool {
        crate::shortfall::suite_is_short(&self.inner)
    }

    /// Runs in the window (of the total).
    #[getter]
    fn runs(&self) -> usize {
        self.inner.runs
    }

    /// Traces in the window.
    #[getter]
    fn traces(&self) -> usize {
        self.inner.traces
    }

    /// The rule used: ``"auto"`` or ``"ols"``.
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.method.as_str()
    }

    /// What a run is: ``"trace"``, ``"hour"``, ``"day"``, ``"week"`` or
    /// ``"config.<key>"``.
    #[getter]
    fn group_by(&self) -> String {
        self.inner.group_by.to_string()
    }

    /// Each report's verdict, in the reports' order: ``(metric, segment,
    /// verdict)`` with ``segment`` ``None`` for the total.
    #[getter]
    fn verdicts(&self) -> Vec<(String, Option<String>, String)> {
        self.inner
            .reports
            .iter()
            .map(|r| {
                (
                    r.metric.to_string(),
                    r.segment.clone(),
                    json_name(&r.statistics.verdict),
                )
            })
            .collect()
    }

    /// The reports, each a ``dict`` as in ``--format json``'s
    /// ``reports`` (its statistics and runs included).
    #[getter]
    fn reports(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.to_dict(py)?
            .bind(py)
            .get_item("reports")
            .map(Bound::unbind)
    }

    fn __repr__(&self) -> String {
        format!(
            "SuiteReport(runs={}, reports={}, any_regression={}, insufficient_data={}, method='{}')",
            self.inner.runs,
            self.inner.reports.len(),
            py_bool(self.inner.any_regression),
            py_bool(self.insufficient_data()),
            self.inner.method.as_str(),
        )
    }
}

/// What the gate decided (``traceflow gate``): its exit code and the
/// report behind it.
#[pyclass(frozen, module = "traceflow", name = "GateResult")]
pub(crate) struct GateResult {
    outcome: GateOutcome,
    require_data: bool,
    report: Py<SuiteReport>,
}

impl GateResult {
    /// The library's decision on `report`.
    pub(crate) fn new(report: &Bound<'_, SuiteReport>, require_data: bool) -> Self {
        GateResult {
            outcome: GateOutcome::of_suite(&report.get().inner),
            require_data,
            report: report.clone().unbind(),
        }
    }
}

#[pymethods]
impl GateResult {
    /// Whether the gate passes: no regression (and, with
    /// ``require_data=True``, enough data to judge).
    #[getter]
    fn passed(&self) -> bool {
        !self.outcome.fails(self.require_data)
    }

    /// ``"regression"``, ``"too_little_data"`` or ``"no_regression"``.
    #[getter]
    fn outcome(&self) -> &'static str {
        match self.outcome {
            GateOutcome::Regression { .. } => "regression",
            GateOutcome::TooLittleData { .. } => "too_little_data",
            GateOutcome::NoRegression => "no_regression",
        }
    }

    /// The command's exit code for this decision: 0 passes, 1 a
    /// regression, 3 too little data under ``require_data=True``.
    #[getter]
    fn exit_code(&self) -> u8 {
        self.outcome.exit_code(self.require_data)
    }

    /// Whether a report of the total has too little data to judge (its
    /// report's ``insufficient_data``): the gate passed on it unless
    /// ``require_data=True``.
    #[getter]
    fn insufficient_data(&self, py: Python<'_>) -> bool {
        crate::shortfall::suite_is_short(&self.report.bind(py).get().inner)
    }

    /// The reports the decision rests on (indices into
    /// ``report.reports``): the regressions, or the total's reports with
    /// too little data.
    #[getter]
    fn failing(&self) -> Vec<usize> {
        match &self.outcome {
            GateOutcome::Regression { reports } | GateOutcome::TooLittleData { reports } => {
                reports.clone()
            }
            GateOutcome::NoRegression => Vec::new(),
        }
    }

    /// The analysis.
    #[getter]
    fn report(&self, py: Python<'_>) -> Py<SuiteReport> {
        self.report.clone_ref(py)
    }

    fn __bool__(&self) -> bool {
        self.passed()
    }

    fn __repr__(&self) -> String {
        format!(
            "GateResult(passed={}, outcome='{}', exit_code={})",
            py_bool(self.passed()),
            self.outcome(),
            self.exit_code()
        )
    }
}

/// The analysis options as the package's keywords give them (a ``dict``
/// the Python layer makes), parsed by the library's own parsers: the
/// command's spellings, ages and times as `--since` takes them.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Keywords {
    window: Option<usize>,
    all: bool,
    method: String,
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
}

impl Keywords {
    /// The library's options, or what is wrong with the keywords; ages are
    /// taken back from `now`.
    pub(crate) fn options(self, now: Timestamp) -> Result<SuiteOptions, Error> {
        let verdict = crate::verdict_options(
            &self.method,
            VerdictOptions::default().threshold,
            self.alpha,
            self.min_drop,
            self.evaluations,
        )?;
        let invalid = |message: String| Error::new(Kind::InvalidArgument, message);
        let window = match (self.all, self.window) {
            (true, _) => Window::All,
            (false, Some(n)) => Window::Last(n),
            (false, None) => verdict.method.default_window(),
        };
        // Checked before the store is opened, as the command does.
        trend::check_options(&verdict, window).map_err(Error::argument)?;
        let mut named: Vec<Metric> = Vec::new();
        for name in &self.metrics {
            if name == "all" {
                named.extend_from_slice(Metric::ALL);
            } else {
                named.push(name.parse().map_err(|e| invalid(format!("metrics: {e}")))?);
            }
        }
        let metrics = Metric::asked(named);
        let instant = |what: &str, text: Option<String>| {
            text.map(|t| TimeBound::instant(&t, now).map_err(|e| invalid(format!("{what}: {e}"))))
                .transpose()
        };
        Ok(SuiteOptions {
            window: WindowOptions {
                runs: window,
                group_by: self
                    .group_by
                    .parse()
                    .map_err(|e| invalid(format!("group_by: {e}")))?,
                since: instant("since", self.since)?,
                until: instant("until", self.until)?,
                stale_before: None,
            },
            verdict,
            metrics,
            segment_by: self
                .segment_by
                .map(|s| s.parse().map_err(|e| invalid(format!("segment_by: {e}"))))
                .transpose()?,
            case_by: self
                .case_by
                .map(|s| s.parse().map_err(|e| invalid(format!("case_by: {e}"))))
                .transpose()?,
            exclude_flaky: self.exclude_flaky,
        })
    }
}
