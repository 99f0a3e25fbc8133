//! Cross-run trend of the eval gate's pass rate.
//!
//! One analyzer, [`SuiteAnalyzer`]: it asks a store for the heads of its
//! traces, pools the window's traces into runs, asks for their facts and
//! judges every metric of every segment. [`TraceTrendAnalyzer`] is the
//! proposal's analyzer, a projection of it (a run is a trace, the metric is
//! the pass rate) with the proposal's defects fixed: run 0 is the oldest run
//! of the window (ordered by instant, not text); runs still `running` are
//! left out rather than counted as failures; decisions come from
//! `trace_evals`, else from `evaluator` steps (where TraceFlow Lite's SDK
//! keeps them), else from the final status; and each table is read in one
//! pass instead of one query per trace.

use std::fmt;

use jiff::Timestamp;
use serde::{Serialize, Serializer};

use crate::model::{EvalDecision, RunStatus};
pub use crate::store::DecisionSource;
use crate::store::{FactsQuery, FactsStore, StoreError, TraceHead};

pub mod analyzer;
pub(crate) mod family;
pub mod gate;
pub mod grouping;
pub mod means;
mod measure;
pub mod metric;
pub mod proposal;
pub mod series;
pub mod verdict;

pub use analyzer::{
    LeftOutFlaky, MetricReport, RunValue, SuiteAnalyzer, SuiteOptions, SuiteReport,
};
pub use gate::GateOutcome;
pub use grouping::{CaseBy, GroupBy, SegmentBy};
pub use metric::{Metric, MetricKind, Worse};
pub use proposal::{Direction, TraceRunSummary, TraceTrendAnalyzer, TraceTrendReport};
pub use series::RunSeries;

pub use verdict::{
    assess, assess_rate, ChangeKind, Insufficient, OptionsError, Remedy, Shortfall, StatedChange,
    Statistics, Subject, Verdict, VerdictOptions,
};

/// Fewest runs a slope can be fitted to.
pub const MIN_RUNS: usize = 2;

/// Which runs to analyze.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The N most recent finished runs.
    Last(usize),
    /// Every finished run.
    All,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Last(n) => write!(f, "{n}"),
            Window::All => f.write_str("all"),
        }
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Window::Last(n) => serializer.serialize_u64(*n as u64),
            Window::All => serializer.serialize_str("all"),
        }
    }
}

/// The rule that turns the series into a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Significance-tested: Cochran–Armitage at α with a minimum drop, a
    /// step test, and "insufficient data" when the data cannot tell.
    Auto,
    /// The proposal's rule: the OLS slope of pass rate on run index against
    /// ±threshold per run.
    Ols,
}

impl Method {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Ols => "ols",
        }
    }

    /// The window a method analyzes unless told otherwise. `ols` keeps the
    /// proposal's 20. `auto` takes 500: TraceFlow Lite records
    /// 1–3 gate decisions per trace, and 500 traces (about 1,000 decisions)
    /// is where a 15-point decline becomes detectable with 80% power at
    /// α = 0.01 (minimum detectable drop ≈ 11·√(p(1 − p)/N): 14 points at
    /// p = 0.8); 20 traces could reveal only a drop of about 70 points.
    pub fn default_window(self) -> Window {
        match self {
            Method::Ols => Window::Last(20),
            Method::Auto => Window::Last(500),
        }
    }
}

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

/// Traces still `running` that started before `before`: runs that crashed
/// without recording their end (TraceFlow Lite marks a run failed only if
/// it lives to), counted as failed traces are: by their recorded decisions,
/// else as one failing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stale {
    /// The cutoff: running traces that started before it.
    pub before: Timestamp,
    /// How many were counted as failed.
    pub failed: usize,
}

impl Stale {
    /// Marks `head` failed if it is running and started before the cutoff;
    /// returns whether it did.
    fn fail(before: Option<Timestamp>, head: &mut TraceHead) -> bool {
        let stale =
            before.is_some_and(|b| head.status == RunStatus::Running && head.created_at < b);
        if stale {
            head.status = RunStatus::Failed;
        }
        stale
    }
}

/// Why a trend could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum TrendError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
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
    /// A window too small to fit a slope.
    #[error("window must be at least {MIN_RUNS} runs, got {0}")]
    WindowTooSmall(usize),
    /// A threshold that is negative or not a number.
    #[error("threshold must be a finite number >= 0, got {0}")]
    InvalidThreshold(f64),
    /// Verdict options out of range.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// `since` is not before `until`.
    #[error("--since {since} is not before --until {until}: no trace can match")]
    EmptyTimeRange {
        /// The lower bound.
        since: Timestamp,
        /// The upper bound.
        until: Timestamp,
    },
    /// No metric was asked for.
    #[error("no metric to analyze")]
    NoMetric,
    /// A segmentation with more values than segments can be judged.
    #[error("--segment-by {segment_by} splits the window into {found} segments; at most {max} can be judged (segment by a key with few values: a model, a mode, a suite)", max = analyzer::MAX_SEGMENTS)]
    TooManySegments {
        /// The segmentation.
        segment_by: String,
        /// Distinct values found.
        found: usize,
    },
    /// A run or segment key that no trace's config has (a typo, most
    /// often).
    #[error(
        "no trace has config key {key:?}; {}",
        names("the traces' config keys are", known)
    )]
    UnknownConfigKey {
        /// The key asked for.
        key: String,
        /// The keys the store's traces have.
        known: Vec<String>,
    },
    /// A score that no decision in the store has.
    #[error(
        "no decision has a score {name:?}; {}",
        names("the store's scores are", known)
    )]
    UnknownScore {
        /// The score asked for.
        name: String,
        /// The scores the store's decisions have.
        known: Vec<String>,
    },
}

/// "`what` a, b, c", or that there are none.
fn names(what: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!("{} none", what.trim_end_matches(" are").to_owned() + ":");
    }
    let quoted: Vec<String> = known.iter().map(|k| format!("{k:?}")).collect();
    format!("{what} {}", quoted.join(", "))
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
    let threshold = options.threshold;
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(TrendError::InvalidThreshold(threshold));
    }
    options.validate()?;
    match window {
        Window::Last(n) if n < MIN_RUNS => Err(TrendError::WindowTooSmall(n)),
        _ => Ok(()),
    }
}
