//! The JSON report: a contract for scripts.
//!
//! Layout (`schema_version` 1), written compact on one line:
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "window": 20,                      // runs analyzed
//!   "requested_window": 20 | "all",
//!   "since": "2026-11-01T00:00:00Z",   // only when bounded (--since, --until)
//!   "until": "2026-11-08T00:00:00Z",
//!   "pass_rate_slope": -0.023,         // OLS, per run
//!   "pass_rate_direction": "improving" | "worsening" | "stable" | "insufficient_data",
//!   "any_regression": true,            // the verdict is a regression
//!   "method": "auto" | "ols",
//!   "threshold": 0.01,                 // ols only
//!   // ... decision_sources, skipped_rows as below, then:
//!   "statistics": {
//!     "method", "verdict": "regression" | "improvement" | "stable" | "insufficient_data",
//!     "alpha",                         // false-alarm chance over `evaluations`
//!     "evaluations", "level",          // level: what each evaluation's test is held to
//!     "min_drop", "min_detectable_drop", "runs", "decisions", "pass_rate",
//!     "insufficient": null | {"reason", "remedy"},
//!     "cochran_armitage": null | {"z", "p_decline", "slope", "slope_ci": [lo, hi],
//!                                 "dispersion", "intra_run_correlation", "dispersion_p", "df",
//!                                 "predicted_change", "predicted_change_ci"},
//!     "mann_kendall": null | {"s", "var_s", "z", "p_decline", "sen_slope", "sen_slope_ci"},
//!     "ols": null | {"slope", "intercept", "stderr", "r_squared", "p_decline"},
//!     "change_point": null | {"run_index", "trace_id", "created_at",
//!                             "before": {"rate", "ci", "passes", "decisions"}, "after": {...},
//!                             "change", "change_ci", "relative_change", "p_value", "z",
//!                             "permutations", "exact", "permuted": "decisions" | "runs" | "none"},
//!     "change_points": [...],          // every step by binary segmentation
//!     "shift": null | {"run_index", "trace_id", "created_at", "before", "after", "change",
//!                      "relative_change", "k", "p_value"},  // means: Pettitt's shift
//!     "summary": "a sentence", "notes": ["statistics left out, and why"]
//!   },
//!   "left_out_running": 1,             // still-running traces left out
//!   "decision_sources": {"trace_evals": 0, "evaluator_steps": 19, "status": 1},
//!   "skipped_rows": [{"table", "rowid", "trace_id", "reason"}],
//!   // last, so that a million runs can be streamed:
//!   "summaries": [{
//!     "run_index", "trace_id", "created_at" (RFC 3339, UTC), "status",
//!     "pass_rate", "passes", "revise_rate", "fallback_rate", "avg_score" (null if none),
//!     "decisions", "source": "trace_evals" | "evaluator_steps" | "status"
//!   }]
//! }
//! ```
//!
//! The proposal's fields keep their names and meaning; fields are only added.
//! Every `p_decline` is the one-sided p-value for a decline; a statistic
//! undefined for the data is null, never NaN.

use std::io;

use jiff::Timestamp;
use serde::Serialize;

use super::{Document, Exporter};
use crate::store::RowIssue;
use crate::trend::{Direction, Method, Stale, Statistics, SuiteReport, TraceTrendReport, Window};

/// The version of the layout above.
pub const SCHEMA_VERSION: u32 = 1;

pub(super) struct JsonExporter;

/// Everything but the runs, in the documented order; the runs follow.
#[derive(Serialize)]
struct Header<'r> {
    schema_version: u32,
    window: usize,
    requested_window: Window,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<Timestamp>,
    pass_rate_slope: f64,
    pass_rate_direction: Direction,
    any_regression: bool,
    method: Method,
    threshold: f64,
    left_out_running: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    stale: Option<Stale>,
    decision_sources: DecisionSources,
    skipped_rows: &'r [RowIssue],
    statistics: &'r Statistics,
}

/// Runs per source of their decisions, in the documented order.
#[derive(Serialize)]
struct DecisionSources {
    trace_evals: usize,
    evaluator_steps: usize,
    status: usize,
}

impl Exporter for JsonExporter {
    fn write(&self, doc: Document<'_>, out: &mut dyn io::Write) -> io::Result<()> {
        match doc {
            Document::Trace { report, .. } => write_trace(report, out),
            Document::Suite(suite) => write_suite(suite, out),
            Document::Cases { report, .. } => write_versioned(report, out),
            Document::Compare { report, .. } => write_versioned(report, out),
        }
    }
}

/// `{"schema_version": 1, ...the report's fields}`: the suite's layout
/// (`schema/trend-report.schema.json`), and the case comparison's (every
/// case listed).
fn write_versioned<T: Serialize>(report: &T, out: &mut dyn io::Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Versioned<'r, T> {
        schema_version: u32,
        #[serde(flatten)]
        report: &'r T,
    }
    let doc = Versioned {
        schema_version: SCHEMA_VERSION,
        report,
    };
    serde_json::to_writer(&mut *out, &doc)?;
    out.write_all(b"\n")
}

/// The suite layout: `{"schema_version": 1, ...the suite's fields, "reports": [...]}`,
/// streamed (a report over traces can hold a million runs).
fn write_suite(suite: &SuiteReport, out: &mut dyn io::Write) -> io::Result<()> {
    write_versioned(suite, out)
}

fn write_trace(report: &TraceTrendReport, out: &mut dyn io::Write) -> io::Result<()> {
    let header = Header {
        schema_version: SCHEMA_VERSION,
        window: report.window,
        requested_window: report.requested_window,
        since: report.since,
        until: report.until,
        pass_rate_slope: report.pass_rate_slope,
        pass_rate_direction: report.pass_rate_direction,
        any_regression: report.any_regression,
        method: report.method,
        threshold: report.threshold,
        left_out_running: report.left_out_running,
        stale: report.stale,
        decision_sources: {
            let [(_, trace_evals), (_, evaluator_steps), (_, status)] = report.source_counts();
            DecisionSources {
                trace_evals,
                evaluator_steps,
                status,
            }
        },
        skipped_rows: &report.skipped_rows,
        statistics: &report.statistics,
    };
    // serde_json writes a non-finite float as null rather than failing;
    // every float of a report is finite anyway (rates, a defined slope).
    let mut head = serde_json::to_vec(&header)?;
    // An object's text ends with its closing brace: reopen it for the
    // runs, which are rendered in parallel chunks.
    if head.pop() != Some(b'}') {
        return Err(io::Error::other("report header is not a JSON object"));
    }
    head.extend_from_slice(br#","summaries":["#);
    out.write_all(&head)?;
    super::write_chunked(out, &report.summaries, &|runs, range, buffer| {
        for i in range {
            if i > 0 {
                buffer.push(b',');
            }
            // Serializing plain fields into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *buffer, &runs[i]);
        }
    })?;
    out.write_all(b"]}\n")
}
