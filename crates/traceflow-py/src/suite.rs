//! Every metric and segment over pooled runs (`traceflow.trend`) and the
//! gate's decision on it (`traceflow.gate`): the command's `trend` and
//! `gate` with their options as keywords.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use traceflow::report::{render, Format};
use traceflow::trend::{self, GateOutcome, SuiteOptions};

use crate::report::{json_name, parse_json};

/// The reports of an analysis: one per metric for the total, then per
/// segment, held to Holm's correction together (``traceflow trend`` with
/// suite options).
#[pyclass(frozen, module = "traceflow", name = "SuiteReport")]
pub(crate) struct SuiteReport {
    inner: trend::SuiteReport,
    dict: PyOnceLock<Py<PyAny>>,
}

impl SuiteReport {
    pub(crate) fn new(inner: trend::SuiteReport) -> Self {
        SuiteReport {
            inner,
            dict: PyOnceLock::new(),
        }
    }

    fn render(&self, format: Format) -> String {
        render(&self.inner, format)
    }
}

#[pymethods]
impl SuiteReport {
    /// Whether any report is a regression (after Holm's correction).
    #[getter]
    fn any_regression(&self) -> bool {
        self.inner.any_regression
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

    /// The report as a ``dict``: exactly ``--format json``.
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let dict = self
            .dict
            .get_or_try_init(py, || parse_json(py, &self.to_json()))?;
        // A fresh copy each time: the report stays frozen.
        Ok(py
            .import("copy")?
            .call_method1("deepcopy", (dict.bind(py),))?
            .unbind())
    }

    /// The report as JSON text: exactly ``--format json``.
    fn to_json(&self) -> String {
        self.render(Format::Json)
    }

    /// The report as Markdown: ``--format markdown``.
    fn to_markdown(&self) -> String {
        self.render(Format::Markdown)
    }

    /// The report as a self-contained HTML page with charts: ``--format
    /// html``.
    fn to_html(&self) -> String {
        self.render(Format::Html)
    }

    /// The report as JUnit XML: ``--format junit``.
    fn to_junit(&self) -> String {
        self.render(Format::Junit)
    }

    /// The table ``traceflow trend`` prints.
    fn __str__(&self) -> String {
        self.render(Format::Table)
    }

    fn __repr__(&self) -> String {
        format!(
            "SuiteReport(runs={}, reports={}, any_regression={}, method='{}')",
            self.inner.runs,
            self.inner.reports.len(),
            if self.inner.any_regression {
                "True"
            } else {
                "False"
            },
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
    pub(crate) fn new(
        _py: Python<'_>,
        report: &Bound<'_, SuiteReport>,
        require_data: bool,
    ) -> PyResult<Self> {
        Ok(GateResult {
            outcome: GateOutcome::of_suite(&report.get().inner),
            require_data,
            report: report.clone().unbind(),
        })
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
        match self.outcome {
            GateOutcome::Regression { .. } => 1,
            GateOutcome::TooLittleData { .. } if self.require_data => 3,
            GateOutcome::TooLittleData { .. } | GateOutcome::NoRegression => 0,
        }
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
            if self.passed() { "True" } else { "False" },
            self.outcome(),
            self.exit_code()
        )
    }
}

/// Options as the package's keywords give them, parsed by the library's
/// own parsers (the command's spellings).
pub(crate) struct Keywords {
    pub(crate) window: Option<usize>,
    pub(crate) all: bool,
    pub(crate) verdict: trend::VerdictOptions,
    pub(crate) group_by: String,
    pub(crate) metrics: Vec<String>,
    pub(crate) segment_by: Option<String>,
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
    pub(crate) case_by: Option<String>,
    pub(crate) exclude_flaky: bool,
}

impl Keywords {
    /// The library's options, or what is wrong with the keywords.
    pub(crate) fn options(self) -> Result<SuiteOptions, String> {
        let window = match (self.all, self.window) {
            (true, _) => trend::Window::All,
            (false, Some(n)) => trend::Window::Last(n),
            (false, None) => self.verdict.method.default_window(),
        };
        let mut metrics: Vec<trend::Metric> = Vec::new();
        for name in &self.metrics {
            if name == "all" {
                for metric in trend::Metric::ALL {
                    if !metrics.contains(metric) {
                        metrics.push(metric.clone());
                    }
                }
                continue;
            }
            let metric: trend::Metric = name.parse().map_err(|e| format!("metrics: {e}"))?;
            if !metrics.contains(&metric) {
                metrics.push(metric);
            }
        }
        if metrics.is_empty() {
            metrics.push(trend::Metric::PassRate);
        }
        let instant = |what: &str, text: Option<String>| {
            text.map(|t| {
                t.parse::<jiff::Timestamp>()
                    .map_err(|e| format!("{what}: {t:?} is not an instant with an offset: {e}"))
            })
            .transpose()
        };
        Ok(SuiteOptions {
            verdict: self.verdict,
            window,
            group_by: self
                .group_by
                .parse()
                .map_err(|e| format!("group_by: {e}"))?,
            since: instant("since", self.since)?,
            until: instant("until", self.until)?,
            metrics,
            segment_by: self
                .segment_by
                .map(|s| s.parse().map_err(|e| format!("segment_by: {e}")))
                .transpose()?,
            stale_before: None,
            case_by: self
                .case_by
                .map(|s| s.parse().map_err(|e| format!("case_by: {e}")))
                .transpose()?,
            exclude_flaky: self.exclude_flaky,
        })
    }
}
