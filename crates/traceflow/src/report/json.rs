//! The JSON report: a contract for scripts.
//!
//! Layout (`schema_version` 1):
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "window": 20,                      // runs analyzed
//!   "requested_window": 20 | "all",
//!   "pass_rate_slope": -0.023,         // OLS, per run
//!   "pass_rate_direction": "improving" | "worsening" | "stable",
//!   "any_regression": true,
//!   "method": "ols",
//!   "threshold": 0.01,
//!   "left_out_running": 1,             // still-running traces left out
//!   "decision_sources": {"trace_evals": 0, "evaluator_steps": 19, "status": 1},
//!   "skipped_rows": [{"table", "rowid", "trace_id", "reason"}],
//!   "summaries": [{
//!     "run_index", "trace_id", "created_at" (RFC 3339, UTC), "status",
//!     "pass_rate", "revise_rate", "fallback_rate", "avg_score" (null if none),
//!     "decisions", "source": "trace_evals" | "evaluator_steps" | "status"
//!   }]
//! }
//! ```
//!
//! The proposal's fields keep their names and meaning; fields are only added.

use std::io;

use serde::Serialize;

use super::Exporter;
use crate::trend::TraceTrendReport;

/// The version of the layout above.
pub const SCHEMA_VERSION: u32 = 1;

pub(super) struct JsonExporter;

#[derive(Serialize)]
struct Document<'r> {
    schema_version: u32,
    #[serde(flatten)]
    report: &'r TraceTrendReport,
    decision_sources: serde_json::Map<String, serde_json::Value>,
}

impl Exporter for JsonExporter {
    fn write(&self, report: &TraceTrendReport, out: &mut dyn io::Write) -> io::Result<()> {
        let decision_sources = report
            .source_counts()
            .iter()
            .map(|(source, n)| (source.as_str().to_owned(), (*n).into()))
            .collect();
        let document = Document {
            schema_version: SCHEMA_VERSION,
            report,
            decision_sources,
        };
        // serde_json writes a non-finite float as null rather than failing;
        // every float of a report is finite anyway (rates, a defined slope).
        // serde_json writes a few bytes at a time: buffer them here, where the
        // writer's type is known, instead of a virtual call per write.
        let mut out = io::BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer_pretty(&mut out, &document)?;
        io::Write::write_all(&mut out, b"\n")?;
        io::Write::flush(&mut out)
    }
}
