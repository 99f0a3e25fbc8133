//! The proposal's report: [`TraceTrendAnalyzer`] is the one analysis
//! ([`super::SuiteAnalyzer`]'s window and verdict) with a run per trace and
//! the pass rate, projected onto
//! the proposal's `TraceTrendReport` and `TraceRunSummary` rows, whose JSON
//! fields and table it keeps exactly.

use jiff::Timestamp;
use serde::Serialize;

use super::{check_options, DecisionSource, TrendError};
use crate::metric::Metric;
use crate::model::RunStatus;
use crate::progress::{Progress, Stage};
use crate::stats::ols;
use crate::store::{FactsStore, RowIssue, TraceFacts, TraceHead};
use crate::verdict::{Method, Statistics, Verdict, VerdictOptions};
use crate::window::{self, GroupBy, LeftOut, Needs, Stale, Window, WindowOptions, MIN_RUNS};

/// Which way the pass rate is going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `ols`: slope above +threshold; `auto`: a significant rise.
    Improving,
    /// `ols`: slope below −threshold; `auto`: a regression.
    Worsening,
    /// Neither.
    Stable,
    /// Too little data to tell (`auto`).
    InsufficientData,
}

impl Direction {
    /// The lower-case name the proposal prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Improving => "improving",
            Direction::Worsening => "worsening",
            Direction::Stable => "stable",
            Direction::InsufficientData => "insufficient data",
        }
    }
}

/// One run of the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceRunSummary {
    /// 0 is the oldest run of the window.
    pub run_index: usize,
    /// The trace's id.
    pub trace_id: String,
    /// When the run started.
    pub created_at: Timestamp,
    /// `done` or `failed`.
    pub status: RunStatus,
    /// PASS / all decisions.
    pub pass_rate: f64,
    /// PASS decisions (with no decisions recorded: 1 if `done`, else 0).
    pub passes: usize,
    /// REVISE / all decisions.
    pub revise_rate: f64,
    /// FALLBACK / all decisions.
    pub fallback_rate: f64,
    /// Mean of the run's finite score values; `None` if there are none.
    pub avg_score: Option<f64>,
    /// Gate decisions counted; 1 when the status stood in for them (it
    /// counts as one decision in the statistics too).
    pub decisions: usize,
    /// Where the decisions came from.
    pub source: DecisionSource,
}

/// The trend over a window of runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceTrendReport {
    /// Runs analyzed.
    pub window: usize,
    /// The window asked for.
    pub requested_window: Window,
    /// OLS slope of pass rate on run index, per run (positive = improving).
    pub pass_rate_slope: f64,
    /// The verdict as a direction.
    pub pass_rate_direction: Direction,
    /// Whether the verdict is a regression.
    pub any_regression: bool,
    /// The rule used.
    pub method: Method,
    /// The per-run slope beyond which `ols` calls a direction.
    pub threshold: f64,
    /// The verdict and the statistics behind it.
    pub statistics: Statistics,
    /// Only traces started at or after this, when asked for
    /// ([`TraceTrendAnalyzer::between`]).
    pub since: Option<Timestamp>,
    /// Only traces started before this, when asked for.
    pub until: Option<Timestamp>,
    /// Runs still `running` within the window's time span, left out.
    pub left_out_running: usize,
    /// Running traces taken for crashed runs and counted as failed, when
    /// asked for ([`TraceTrendAnalyzer::stale_before`]).
    pub stale: Option<Stale>,
    /// Rows that could not be used, and why.
    pub skipped_rows: Vec<RowIssue>,
    /// The runs, oldest first.
    pub summaries: Vec<TraceRunSummary>,
}

impl TraceTrendReport {
    /// How many runs took their decisions from each source.
    pub fn source_counts(&self) -> [(DecisionSource, usize); 3] {
        let count = |source| self.summaries.iter().filter(|s| s.source == source).count();
        [
            (
                DecisionSource::TraceEvals,
                count(DecisionSource::TraceEvals),
            ),
            (
                DecisionSource::EvaluatorSteps,
                count(DecisionSource::EvaluatorSteps),
            ),
            (DecisionSource::Status, count(DecisionSource::Status)),
        ]
    }
}

/// Computes the pass-rate trend over the most recent runs of a store.
pub struct TraceTrendAnalyzer<'s, S: FactsStore + ?Sized> {
    store: &'s S,
    options: VerdictOptions,
    stale_before: Option<Timestamp>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    refuse_too_few: bool,
    progress: Option<&'s Progress<'s>>,
}

impl<'s, S: FactsStore + ?Sized> TraceTrendAnalyzer<'s, S> {
    /// The proposal's analyzer: calls a direction when |slope| exceeds
    /// `regression_threshold` per run (the proposal's default is 0.01),
    /// with no significance test ([`Method::Ols`]).
    pub fn new(store: &'s S, regression_threshold: f64) -> Self {
        Self::with_options(
            store,
            VerdictOptions {
                method: Method::Ols,
                threshold: regression_threshold,
                ..VerdictOptions::default()
            },
        )
    }

    /// An analyzer judging by `options` ([`VerdictOptions::default`] is
    /// `auto` at α = 0.01 with a 5-point minimum drop).
    pub fn with_options(store: &'s S, options: VerdictOptions) -> Self {
        TraceTrendAnalyzer {
            store,
            options,
            stale_before: None,
            since: None,
            until: None,
            refuse_too_few: false,
            progress: None,
        }
    }

    /// Calls `hook` with each stage of the analysis as it begins.
    pub fn on_progress(mut self, hook: Option<&'s Progress<'s>>) -> Self {
        self.progress = hook;
        self
    }

    /// Refuses a window of fewer than two runs with
    /// [`TrendError::TooFewTraces`] whatever the method, as the proposal's
    /// `analyze` raises `ValueError` (the Python package's rule). By
    /// default only `ols`, which needs a slope, refuses; `auto` reports
    /// "insufficient data".
    pub fn refuse_too_few(mut self, refuse: bool) -> Self {
        self.refuse_too_few = refuse;
        self
    }

    /// Counts traces still `running` that started before `before` as
    /// failed runs (crashed ones), reported in [`TraceTrendReport::stale`];
    /// `None` (the default) leaves every running trace out.
    pub fn stale_before(mut self, before: Option<Timestamp>) -> Self {
        self.stale_before = before;
        self
    }

    /// Only traces started at or after `since` and before `until` (either
    /// bound `None`: unbounded), reported in [`TraceTrendReport::since`]
    /// and [`TraceTrendReport::until`]: the window is the newest runs
    /// within the bounds.
    pub fn between(mut self, since: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.since = since;
        self.until = until;
        self
    }

    /// Analyzes the window: [`super::SuiteAnalyzer`]'s with a run per trace and the
    /// pass rate, projected onto the proposal's report. One pass over
    /// `traces`, one over `trace_evals`, and one over `trace_steps` only if
    /// some run has no `trace_evals` rows.
    pub fn analyze(&self, window: Window) -> Result<TraceTrendReport, TrendError> {
        check_options(&self.options, window)?;
        let options = WindowOptions {
            group_by: GroupBy::Trace,
            runs: window,
            stale_before: self.stale_before,
            since: self.since,
            until: self.until,
        };
        let needs = Needs {
            metrics: &[Metric::PassRate],
            ..Needs::default()
        };
        let mut pooled = window::pool(self.store, &options, &needs, None, self.progress)?;
        if let Some(hook) = self.progress {
            hook(Stage::Judging {
                runs: pooled.runs(),
            });
        }
        // `auto` judges any number of runs (too few is its verdict); the
        // proposal's rule needs a slope.
        if pooled.members.len() < MIN_RUNS
            && (self.options.method == Method::Ols || self.refuse_too_few)
        {
            return Err(TrendError::TooFewTraces {
                found: pooled.members.len(),
                needed: MIN_RUNS,
                left_out_running: pooled.left_out_running,
                skipped: pooled.head_issues,
            });
        }
        let statistics = pooled.total_statistics(&Metric::PassRate, &self.options);
        // The proposal's layout keeps its own fields (its `stale` is null
        // when not asked for), filled from the window's `LeftOut` as every
        // other report's are.
        let LeftOut {
            running,
            stale,
            skipped_rows,
            ..
        } = pooled.take_left_out();
        let summaries = summarize(pooled.members, pooled.facts);

        let xs: Vec<f64> = (0..summaries.len()).map(|i| i as f64).collect();
        let ys: Vec<f64> = summaries.iter().map(|s| s.pass_rate).collect();
        // Defined: at least two runs, distinct x, finite rates.
        let slope = ols(&xs, &ys).map_or(0.0, |fit| fit.slope);
        let direction = match statistics.verdict {
            Verdict::Regression => Direction::Worsening,
            Verdict::Improvement => Direction::Improving,
            Verdict::Stable | Verdict::NotSignificant => Direction::Stable,
            Verdict::InsufficientData => Direction::InsufficientData,
        };
        Ok(TraceTrendReport {
            window: summaries.len(),
            requested_window: window,
            pass_rate_slope: slope,
            pass_rate_direction: direction,
            any_regression: statistics.verdict == Verdict::Regression,
            method: self.options.method,
            threshold: self.options.threshold,
            statistics,
            since: self.since,
            until: self.until,
            left_out_running: running,
            stale,
            skipped_rows,
            summaries,
        })
    }
}

/// The proposal's rows: each trace of the window with its rates, moving
/// the ids. A trace without recorded decisions has its status as its one
/// decision, here as in the statistics, so the runs add up.
fn summarize(window: Vec<TraceHead>, facts: Vec<TraceFacts>) -> Vec<TraceRunSummary> {
    window
        .into_iter()
        .zip(facts)
        .enumerate()
        .map(|(run_index, (head, facts))| {
            let [passes, revisions, fallbacks] = facts.outcomes(head.status);
            let decisions = facts.decisions();
            let rate = |k: u64| k as f64 / decisions as f64;
            TraceRunSummary {
                run_index,
                trace_id: head.trace_id,
                created_at: head.created_at,
                status: head.status,
                pass_rate: rate(passes),
                passes: passes as usize,
                revise_rate: rate(revisions),
                fallback_rate: rate(fallbacks),
                avg_score: facts.scores.mean(),
                decisions: decisions as usize,
                source: facts.source,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EvalDecision;
    use crate::store::memory::testing::{eval, trace};
    use crate::store::{MemoryStore, WriteStore};

    /// A store holding `rows` of (trace_id, status, created_at), each trace
    /// with one PASS verdict.
    fn store_with(rows: &[(&str, &str, &str)]) -> ((), MemoryStore) {
        let mut store = MemoryStore::new();
        for &(id, status, created_at) in rows {
            let status: RunStatus = status.parse().unwrap();
            store
                .create_trace(&trace(id, status, created_at, "m"))
                .unwrap();
            store.insert_eval(&eval(id, 0, EvalDecision::Pass)).unwrap();
        }
        ((), store)
    }

    fn too_few(result: Result<TraceTrendReport, TrendError>) -> (usize, usize) {
        match result {
            Err(TrendError::TooFewTraces {
                found,
                left_out_running,
                ..
            }) => (found, left_out_running),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_empty_store_has_too_few_traces() {
        let (_dir, store) = store_with(&[]);
        let analyzer = TraceTrendAnalyzer::new(&store, 0.01);
        assert_eq!(too_few(analyzer.analyze(Window::All)), (0, 0));
    }

    #[test]
    fn running_traces_are_no_runs() {
        let (_dir, store) = store_with(&[
            ("a", "running", "2026-01-01T00:00:00Z"),
            ("b", "RUNNING", "2026-01-02T00:00:00Z"),
            ("c", "done", "2026-01-03T00:00:00Z"),
        ]);
        let analyzer = TraceTrendAnalyzer::new(&store, 0.01);
        assert_eq!(too_few(analyzer.analyze(Window::Last(5))), (1, 2));
    }

    #[test]
    fn auto_judges_one_run_unless_told_to_refuse_it() {
        let (_dir, store) = store_with(&[("only", "done", "2026-01-01T00:00:00Z")]);
        let auto = || TraceTrendAnalyzer::with_options(&store, VerdictOptions::default());
        let report = auto().analyze(Window::All).unwrap();
        assert_eq!(report.pass_rate_direction, Direction::InsufficientData);
        assert_eq!(
            too_few(auto().refuse_too_few(true).analyze(Window::All)),
            (1, 0)
        );
    }

    #[test]
    fn equal_instants_keep_insertion_order_and_a_large_window_takes_all() {
        let (_dir, store) = store_with(&[
            ("first", "done", "2026-01-01T05:30:00+05:30"),
            ("second", "done", "2026-01-01 00:00:00"),
            ("third", "failed", "2026-01-01T00:00:00.000001Z"),
        ]);
        let report = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::Last(50))
            .unwrap();
        let ids: Vec<&str> = report
            .summaries
            .iter()
            .map(|s| s.trace_id.as_str())
            .collect();
        assert_eq!(ids, ["first", "second", "third"]);
        assert_eq!(report.window, 3);
        assert_eq!(report.requested_window, Window::Last(50));
    }

    #[test]
    fn running_traces_older_than_the_window_are_not_counted_as_left_out() {
        let (_dir, store) = store_with(&[
            ("old-running", "running", "2026-01-01T00:00:00Z"),
            ("a", "done", "2026-01-02T00:00:00Z"),
            ("b", "done", "2026-01-03T00:00:00Z"),
            ("c", "done", "2026-01-04T00:00:00Z"),
            ("new-running", "running", "2026-01-05T00:00:00Z"),
        ]);
        let analyzer = TraceTrendAnalyzer::new(&store, 0.01);
        assert_eq!(
            analyzer.analyze(Window::Last(2)).unwrap().left_out_running,
            1
        );
        assert_eq!(analyzer.analyze(Window::All).unwrap().left_out_running, 2);
    }

    #[test]
    fn running_traces_older_than_the_stale_cutoff_count_as_failed() {
        let (_dir, store) = store_with(&[
            ("crashed", "running", "2026-01-01T00:00:00Z"),
            ("a", "done", "2026-01-02T00:00:00Z"),
            ("b", "done", "2026-01-03T00:00:00Z"),
            ("live", "running", "2026-01-05T00:00:00Z"),
        ]);
        let cutoff: Timestamp = "2026-01-04T00:00:00Z".parse().unwrap();
        let report = TraceTrendAnalyzer::new(&store, 0.01)
            .stale_before(Some(cutoff))
            .analyze(Window::All)
            .unwrap();
        assert_eq!(
            report.stale,
            Some(Stale {
                before: cutoff,
                failed: 1
            })
        );
        assert_eq!(report.left_out_running, 1, "the live one is still left out");
        let crashed = &report.summaries[0];
        assert_eq!(
            (crashed.trace_id.as_str(), crashed.status),
            ("crashed", RunStatus::Failed)
        );
        // As any failed trace: its recorded decisions count (this one's
        // gate passed before it crashed).
        assert_eq!(
            (crashed.pass_rate, crashed.source),
            (1.0, DecisionSource::TraceEvals)
        );
        assert_eq!(report.window, 3);
        // Off by default: nothing is counted, nothing reported.
        let plain = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::All)
            .unwrap();
        assert_eq!(
            (plain.stale, plain.window, plain.left_out_running),
            (None, 2, 2)
        );
    }

    #[test]
    fn the_runs_decisions_add_up_to_the_statistics() {
        let (_dir, store) = store_with(&[
            ("a", "done", "2026-01-01T00:00:00Z"),
            ("b", "failed", "2026-01-02T00:00:00Z"),
            ("c", "done", "2026-01-03T00:00:00Z"),
        ]);
        let report = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::All)
            .unwrap();
        let per_run: Vec<usize> = report.summaries.iter().map(|s| s.decisions).collect();
        assert_eq!(per_run, [1, 1, 1], "the status is each run's one decision");
        assert_eq!(report.statistics.decisions, 3);
    }

    #[test]
    fn direction_is_called_beyond_the_threshold_only() {
        let (_dir, store) = store_with(&[
            ("a", "done", "2026-01-01T00:00:00Z"),
            ("b", "done", "2026-01-02T00:00:00Z"),
        ]);
        let report = TraceTrendAnalyzer::new(&store, 0.0)
            .analyze(Window::All)
            .unwrap();
        assert_eq!(report.pass_rate_slope, 0.0);
        assert_eq!(report.pass_rate_direction, Direction::Stable);
        let bad = TraceTrendAnalyzer::new(&store, f64::NAN).analyze(Window::All);
        assert!(matches!(
            bad,
            Err(TrendError::Options(
                crate::verdict::OptionsError::Threshold(_)
            ))
        ));
        let small = TraceTrendAnalyzer::new(&store, 0.01).analyze(Window::Last(1));
        assert!(matches!(
            small,
            Err(TrendError::Window(crate::window::WindowError::TooSmall(1)))
        ));
    }
}
