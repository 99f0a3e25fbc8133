//! The trend of every metric and segment across the window's runs.
//!
//! One analyzer, [`SuiteAnalyzer`]: it takes the window's runs
//! ([`crate::window`]), splits them into segments, and judges every metric
//! of every segment ([`crate::verdict`]), held to Holm's correction
//! together. [`TraceTrendAnalyzer`] is the proposal's analyzer, a
//! projection of it (a run is a trace, the metric is the pass rate) with
//! the proposal's defects fixed: run 0 is the oldest run of the window
//! (ordered by instant, not text); runs still `running` are left out rather
//! than counted as failures; decisions come from `trace_evals`, else from
//! `evaluator` steps (where TraceFlow Lite's SDK keeps them), else from the
//! final status; and each table is read in one pass instead of one query
//! per trace.

use crate::error::ErrorKind;
use crate::model::EvalDecision;
pub use crate::store::DecisionSource;
use crate::store::{FactsQuery, FactsStore, StoreError};

pub mod analyzer;
pub(crate) mod family;
pub mod gate;
pub(crate) mod line;
pub mod proposal;
pub mod series;

pub use analyzer::{
    MetricReport, RunValue, SuiteAnalyzer, SuiteOptions, SuiteReport, MAX_SEGMENTS,
};
pub use gate::GateOutcome;
pub use proposal::{Direction, TraceRunSummary, TraceTrendAnalyzer, TraceTrendReport};
pub use series::RunSeries;

// What a trend is made of, where front ends have always found it.
pub use crate::metric::{Metric, MetricKind, UnknownMetric, Worse};
pub use crate::verdict::{
    assess, assess_rate, ChangeKind, Insufficient, Method, OptionsError, Remedy, Shortfall,
    StatedChange, Statistics, Subject, Verdict, VerdictOptions,
};
pub use crate::window::{
    CaseBy, GroupBy, LeftOut, LeftOutFlaky, SegmentBy, Stale, Window, WindowError, WindowOptions,
    MIN_RUNS,
};

/// Each listed trace's final gate decision (the one with the highest
/// `(step_seq, rowid)`) and where it was read, by the rule the analysis
/// uses, in the order of `ids`: `None` for a trace without recorded
/// decisions (its status is its outcome).
pub fn final_decisions<S: FactsStore + ?Sized>(
    store: &S,
    ids: &[&str],
) -> Result<Vec<Option<(EvalDecision, DecisionSource)>>, StoreError> {
    let facts = store.trace_facts(&FactsQuery {
        traces: ids,
        score_names: &[],
        usage: false,
    })?;
    Ok(facts
        .rows
        .iter()
        .map(|f| f.last.map(|last| (last.decision, f.source)))
        .collect())
}

/// Why a trend could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum TrendError {
    /// The window could not be read: the store, a key or score no trace
    /// has, bounds that match nothing.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// Too few finished runs for a slope.
    #[error("need at least {needed} finished traces, found {found}{}", left_out_note(*.left_out_running, *.skipped))]
    TooFewTraces {
        /// Finished, usable traces found.
        found: usize,
        /// Traces needed.
        needed: usize,
        /// Traces left out as still running.
        left_out_running: usize,
        /// Trace rows that could not be read.
        skipped: usize,
    },
    /// Verdict options out of range.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// A segmentation with more values than segments can be judged.
    #[error("segmenting by {segment_by} splits the window into {found} segments; at most {max} can be judged (segment by a key with few values: a model, a mode, a suite)", max = MAX_SEGMENTS)]
    TooManySegments {
        /// The segmentation.
        segment_by: String,
        /// Distinct values found.
        found: usize,
    },
}

impl TrendError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TrendError::Window(err) => err.kind(),
            TrendError::TooFewTraces { .. } => ErrorKind::NotEnoughData,
            TrendError::Options(err) => err.kind(),
            TrendError::TooManySegments { .. } => ErrorKind::InvalidInput,
        }
    }
}

fn left_out_note(running: usize, skipped: usize) -> String {
    match (running, skipped) {
        (0, 0) => String::new(),
        (r, 0) => format!(" ({r} still running left out)"),
        (0, s) => format!(" ({s} unreadable trace rows skipped)"),
        (r, s) => format!(" ({r} still running left out, {s} unreadable trace rows skipped)"),
    }
}

/// Checks a verdict's options and a window, for either analyzer (and for
/// front ends that check arguments before opening a store).
pub fn check_options(options: &VerdictOptions, window: Window) -> Result<(), TrendError> {
    options.validate()?;
    WindowOptions {
        runs: window,
        ..WindowOptions::default()
    }
    .validate()?;
    Ok(())
}
