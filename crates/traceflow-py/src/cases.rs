//! Which cases broke (`traceflow.cases`) and a candidate against a
//! baseline (`traceflow.compare`): the command's `cases` and `compare`.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use traceflow::cases::{self, CaseReport as Cases};
use traceflow::compare::{CompareReport as Comparison, CompareVerdict};
use traceflow::report::CaseListing;

use crate::report::{exporters, json_name, json_value, py_bool, Shared};

/// Which cases the renderings list: ``"news"`` (regressed and newly
/// failing), ``"flaky"`` (those and the flaky) or ``"all"``. The JSON
/// always lists every case.
pub(crate) fn listing(name: &str) -> Result<CaseListing, String> {
    match name {
        "news" => Ok(CaseListing::News),
        "flaky" => Ok(CaseListing::Flaky),
        "all" => Ok(CaseListing::All),
        other => Err(format!(
            "show must be \"news\", \"flaky\" or \"all\", got {other:?}"
        )),
    }
}

/// Each case's pass rate before and after a split, tested per case
/// (``traceflow cases``).
#[pyclass(frozen, module = "traceflow", name = "CaseReport")]
pub(crate) struct CaseReport {
    inner: Arc<Cases>,
    listing: CaseListing,
    store_file: Option<PathBuf>,
}

impl CaseReport {
    pub(crate) fn new(inner: Cases, listing: CaseListing, store_file: Option<PathBuf>) -> Self {
        CaseReport {
            inner: Arc::new(inner),
            listing,
            store_file,
        }
    }

    fn shared(&self) -> Shared {
        Shared::Cases(Arc::clone(&self.inner), self.listing)
    }
}

exporters!(CaseReport);

#[pymethods]
impl CaseReport {
    /// Cases per verdict: ``{"regressed": …, "newly_failing": …,
    /// "flaky": …, "stable": …, "untested": …}``.
    #[getter]
    fn counts(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_value(py, &self.inner.counts)
    }

    /// The cases, each a ``dict`` as in ``--format json``'s ``cases``.
    #[getter]
    fn cases(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.to_dict(py)?
            .bind(py)
            .get_item("cases")
            .map(Bound::unbind)
    }

    /// The ids of the cases judged regressed (at the false-discovery rate
    /// asked for).
    #[getter]
    fn regressed(&self) -> Vec<String> {
        self.inner
            .cases
            .iter()
            .filter(|c| c.verdict == cases::CaseVerdict::Regressed)
            .map(|c| c.case.clone())
            .collect()
    }

    /// Runs in the window.
    #[getter]
    fn runs(&self) -> usize {
        self.inner.runs
    }

    fn __repr__(&self) -> String {
        let c = &self.inner.counts;
        format!(
            "CaseReport(runs={}, regressed={}, newly_failing={}, flaky={}, stable={}, untested={})",
            self.inner.runs, c.regressed, c.newly_failing, c.flaky, c.stable, c.untested
        )
    }
}

/// A candidate's pass rate against a baseline's, paired through the cases
/// they share (``traceflow compare``).
#[pyclass(frozen, module = "traceflow", name = "CompareReport")]
pub(crate) struct CompareReport {
    inner: Arc<Comparison>,
    listing: CaseListing,
    store_file: Option<PathBuf>,
}

impl CompareReport {
    pub(crate) fn new(
        inner: Comparison,
        listing: CaseListing,
        store_file: Option<PathBuf>,
    ) -> Self {
        CompareReport {
            inner: Arc::new(inner),
            listing,
            store_file,
        }
    }

    fn shared(&self) -> Shared {
        Shared::Compare(Arc::clone(&self.inner), self.listing)
    }
}

exporters!(CompareReport);

#[pymethods]
impl CompareReport {
    /// ``"regression"``, ``"improvement"``, ``"stable"`` or
    /// ``"insufficient_data"``, as in the JSON.
    #[getter]
    fn verdict(&self) -> String {
        json_name(&self.inner.verdict)
    }

    /// Whether the candidate is a regression: ``compare`` exits 1.
    #[getter]
    fn any_regression(&self) -> bool {
        self.inner.verdict == CompareVerdict::Regression
    }

    /// One sentence: what changed and how sure the test is.
    #[getter]
    fn summary(&self) -> &str {
        &self.inner.summary
    }

    /// Whether the verdict is too little data to judge
    /// (``"insufficient_data"``): the comparison warned
    /// (``TraceflowWarning``), and ``any_regression`` is False for want of
    /// data.
    #[getter]
    fn insufficient_data(&self) -> bool {
        self.inner.verdict == CompareVerdict::InsufficientData
    }

    /// Whether the cases paired the comparison.
    #[getter]
    fn paired(&self) -> bool {
        self.inner.paired
    }

    /// The pass rate's difference (candidate − baseline) with its interval,
    /// as a ``dict``.
    #[getter]
    fn difference(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_value(py, &self.inner.difference)
    }

    /// The command's exit code: 1 a regression, 3 too little data under
    /// ``require_data``, else 0.
    #[pyo3(signature = (*, require_data = false))]
    fn exit_code(&self, require_data: bool) -> u8 {
        self.inner.verdict.exit_code(require_data)
    }

    fn __repr__(&self) -> String {
        format!(
            "CompareReport(verdict='{}', paired={}, insufficient_data={})",
            json_name(&self.inner.verdict),
            py_bool(self.inner.paired),
            py_bool(self.insufficient_data())
        )
    }
}
