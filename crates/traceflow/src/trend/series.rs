//! A report's runs, measured from the window when they are read.
//!
//! A window of a million runs judged on ten metrics in four segments would
//! hold forty million rows if every report kept its own: several gigabytes.
//! Instead every report of an analysis shares the window (its traces and
//! their facts) and its segment's runs, and keeps only its metric and the
//! coefficients of its fitted line; a run's row is measured when it is
//! read, one at a time, so that writing every run of every report costs
//! the window and one row.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::analyzer::RunValue;
use super::line::Line;
use crate::metric::Metric;
use crate::window::{Pooled, RunTraces};

/// The runs of one report, oldest first.
///
/// Read them with [`iter`](Self::iter) (each [`RunValue`] is made as it is
/// read), [`get`](Self::get), [`first`](Self::first), [`last`](Self::last)
/// or [`to_vec`](Self::to_vec); they serialize as a JSON array of
/// [`RunValue`]s. A series made from rows ([`From<Vec<RunValue>>`]) holds
/// those rows.
#[derive(Clone, Default)]
pub struct RunSeries(Series);

#[derive(Clone)]
enum Series {
    /// Rows made elsewhere (the proposal's per-trace report, tests).
    Listed(Vec<RunValue>),
    /// Measured from a window.
    Measured {
        window: Arc<Pooled>,
        runs: Arc<RunTraces>,
        metric: Metric,
        line: Line,
    },
}

impl Default for Series {
    fn default() -> Self {
        Series::Listed(Vec::new())
    }
}

impl RunSeries {
    /// The runs `runs` of `window` measured by `metric`, with `line` drawn
    /// through them.
    pub(super) fn measured(
        window: Arc<Pooled>,
        runs: Arc<RunTraces>,
        metric: Metric,
        line: Line,
    ) -> Self {
        RunSeries(Series::Measured {
            window,
            runs,
            metric,
            line,
        })
    }

    /// How many runs.
    pub fn len(&self) -> usize {
        match &self.0 {
            Series::Listed(rows) => rows.len(),
            Series::Measured { runs, .. } => runs.len(),
        }
    }

    /// Whether there is no run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The runs in order, each measured as it is reached.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            series: self,
            next: 0,
            finite: 0,
        }
    }

    /// Run `index` (0 the oldest).
    pub fn get(&self, index: usize) -> Option<RunValue> {
        self.iter().nth(index)
    }

    /// The oldest run.
    pub fn first(&self) -> Option<RunValue> {
        self.get(0)
    }

    /// The newest run.
    pub fn last(&self) -> Option<RunValue> {
        self.get(self.len().checked_sub(1)?)
    }

    /// The newest `n` runs (all of them if there are fewer), oldest first.
    pub fn newest(&self, n: usize) -> Vec<RunValue> {
        self.iter().skip(self.len().saturating_sub(n)).collect()
    }

    /// Every run as a row.
    pub fn to_vec(&self) -> Vec<RunValue> {
        self.iter().collect()
    }
}

impl From<Vec<RunValue>> for RunSeries {
    fn from(rows: Vec<RunValue>) -> Self {
        RunSeries(Series::Listed(rows))
    }
}

impl<'a> IntoIterator for &'a RunSeries {
    type Item = RunValue;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for RunSeries {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for RunSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for RunSeries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// The runs of a [`RunSeries`], in order.
pub struct Iter<'a> {
    series: &'a RunSeries,
    /// The index of the next run.
    next: usize,
    /// Runs before `next` with a finite value (a mean's line counts them).
    finite: usize,
}

impl Iterator for Iter<'_> {
    type Item = RunValue;

    fn next(&mut self) -> Option<RunValue> {
        let i = self.next;
        let row = match &self.series.0 {
            Series::Listed(rows) => rows.get(i)?.clone(),
            Series::Measured {
                window,
                runs,
                metric,
                line,
            } => {
                let (run, traces) = runs.get(i)?;
                let value = window.measure(metric, traces).value;
                let (fitted, band) = line.at(i, self.finite, value);
                self.finite += usize::from(value.is_some_and(f64::is_finite));
                RunValue {
                    run_index: i,
                    run_key: window.run_key(run).to_owned(),
                    started_at: window.members[traces[0]].created_at,
                    traces: traces.len(),
                    decisions: traces.iter().map(|&t| window.facts[t].decisions()).sum(),
                    value,
                    fitted,
                    band,
                }
            }
        };
        self.next += 1;
        Some(row)
    }

    fn nth(&mut self, n: usize) -> Option<RunValue> {
        // A rate's points depend on their index alone: jump. A mean's
        // count the finite values before them: measure the way there.
        let jump = match &self.series.0 {
            Series::Listed(_) => true,
            Series::Measured { line, .. } => !line.counts_runs(),
        };
        if jump {
            self.next = self.next.saturating_add(n).min(self.series.len());
        } else {
            for _ in 0..n {
                self.next()?;
            }
        }
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.series.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}
