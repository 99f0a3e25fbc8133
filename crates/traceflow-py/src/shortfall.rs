//! A verdict of too little data, said out loud: a
//! `traceflow.errors.TraceflowWarning` through `warnings`, with the numbers
//! and what would fix it, the options named as Python's keywords (the
//! library's own words name the command's flags).

use std::ffi::CString;

use pyo3::prelude::*;
use traceflow::compare::{CompareReport, CompareVerdict};
use traceflow::report::terminal::printable;
use traceflow::report::wording::OptionNames;
use traceflow::trend::{Insufficient, SuiteReport, TraceTrendReport, Verdict};

/// The options as the package's keywords spell them.
const KEYWORDS: OptionNames<'static> = OptionNames {
    window: "window=...",
    alpha: "alpha=...",
    min_drop: "min_drop=...",
    group_by: "group_by=...",
};

/// Why and what would fix it, in Python's words.
fn words(insufficient: &Insufficient) -> String {
    format!(
        "{}; to fix: {}",
        insufficient.reason,
        insufficient.remedy.words(&KEYWORDS)
    )
}

/// What a caller reading only `any_regression` would miss.
const NOT_A_PASS: &str =
    "any_regression is False for want of data, not because nothing regressed (insufficient_data is True)";

/// The warning for the proposal's report, if its verdict is too little data.
pub(crate) fn of_trace(report: &TraceTrendReport) -> Option<String> {
    if report.statistics.verdict != Verdict::InsufficientData {
        return None;
    }
    let why = report
        .statistics
        .insufficient
        .as_ref()
        .map_or_else(String::new, |i| format!(": {}", words(i)));
    Some(format!("Too little data to judge{why}. {NOT_A_PASS}."))
}

/// The warning for a comparison whose verdict is too little data: its
/// summary says what the interval could not rule out.
pub(crate) fn of_comparison(report: &CompareReport) -> Option<String> {
    (report.verdict == CompareVerdict::InsufficientData).then(|| {
        format!(
            "Too little data to compare: {} {NOT_A_PASS}.",
            report.summary.trim_end()
        )
    })
}

/// Whether a report of the suite's total has too little data (segments may
/// well be small; the total is what the gate judges).
pub(crate) fn suite_is_short(report: &SuiteReport) -> bool {
    short_totals(report).next().is_some()
}

fn short_totals(report: &SuiteReport) -> impl Iterator<Item = &traceflow::trend::MetricReport> {
    report
        .reports
        .iter()
        .filter(|r| r.segment.is_none() && r.statistics.verdict == Verdict::InsufficientData)
}

/// The warning for a suite, if a report of its total has too little data:
/// each such metric with its numbers.
pub(crate) fn of_suite(report: &SuiteReport) -> Option<String> {
    let metrics: Vec<String> = short_totals(report)
        .map(|r| {
            let why = r
                .statistics
                .insufficient
                .as_ref()
                .map_or_else(String::new, |i| format!(" ({})", words(i)));
            format!("{}{why}", r.metric)
        })
        .collect();
    if metrics.is_empty() {
        return None;
    }
    let mut message = format!("Too little data to judge {}.", metrics.join("; "));
    if !report.any_regression {
        message.push(' ');
        message.push_str(NOT_A_PASS);
        message.push('.');
    }
    Some(message)
}

/// Issues `message` as a `TraceflowWarning` attributed `stacklevel` frames
/// up (1: the Python function that called the extension). Under
/// `warnings.simplefilter("error")` this is the exception to raise.
pub(crate) fn warn(py: Python<'_>, message: &str, stacklevel: i32) -> PyResult<()> {
    let category = py.import("traceflow.errors")?.getattr("TraceflowWarning")?;
    // Store text made printable, as in every other output; no NUL survives.
    let text = CString::new(printable(message).replace('\0', "\u{fffd}"))
        .map_err(|err| pyo3::exceptions::PyValueError::new_err(err.to_string()))?;
    PyErr::warn(py, &category, &text, stacklevel)
}
