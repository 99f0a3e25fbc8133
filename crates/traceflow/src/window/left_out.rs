//! What a report's window left out, one type for every report.

use serde::Serialize;

use super::{Pooled, Stale};
use crate::store::RowIssue;

/// What an analysis left out of its window, and the rows it could not
/// read: the trend, the per-case comparison and the comparison each carry
/// one, flattened into their JSON as `left_out_*`, `stale` and
/// `skipped_rows` fields in this order.
///
/// A member a report does not have is `None` and absent from its JSON:
/// the comparison has neither `stale` nor `left_out_ungrouped`, only the
/// case reports count traces without the case's key, and only the trend
/// leaves flaky cases out. The pooled window fills in what it knows (its
/// running, stale and ungrouped traces, its unreadable rows), once for
/// every report; the analysis adds the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// Traces of the window without the case's key (no value for the
    /// `config.<key>` cases are keyed on); `None` where a report has no
    /// cases.
    #[serde(rename = "left_out_uncased", skip_serializing_if = "Option::is_none")]
    pub uncased: Option<usize>,
    /// Still-running traces in the window's span, left out.
    #[serde(rename = "left_out_running")]
    pub running: usize,
    /// Running traces counted as failed (crashed runs), when asked for;
    /// absent from the JSON when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
    /// Finished traces in the time bounds that belong to no run (no value
    /// for the `config.<key>` runs are keyed on); `None` where a report
    /// does not say.
    #[serde(rename = "left_out_ungrouped", skip_serializing_if = "Option::is_none")]
    pub ungrouped: Option<usize>,
    /// The flaky cases left out and their traces, when asked for; absent
    /// from the JSON when not.
    #[serde(rename = "left_out_flaky", skip_serializing_if = "Option::is_none")]
    pub flaky: Option<LeftOutFlaky>,
    /// Rows that could not be used, and why.
    pub skipped_rows: Vec<RowIssue>,
}

/// The flaky cases a trend left out (`SuiteOptions::exclude_flaky`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LeftOutFlaky {
    /// Flaky cases.
    pub cases: usize,
    /// Their traces in the window.
    pub traces: usize,
}

impl Pooled {
    /// What the window left out: its still-running traces, the stale ones
    /// counted as failed (when asked for), the traces of no run, and the
    /// unreadable rows, which are moved out of the pool (a store can have
    /// many). The traces without a case's key and the flaky cases are the
    /// analysis's to add.
    pub(crate) fn take_left_out(&mut self) -> LeftOut {
        LeftOut {
            uncased: None,
            running: self.left_out_running,
            stale: self.stale,
            ungrouped: Some(self.ungrouped),
            flaky: None,
            skipped_rows: std::mem::take(&mut self.issues),
        }
    }
}
