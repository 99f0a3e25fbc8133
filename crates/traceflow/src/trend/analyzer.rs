//! Trends of several metrics and segments over runs that pool traces.
//!
//! [`SuiteAnalyzer`] reads each table once: `traces` with the columns runs
//! and segments are keyed on, then the gate's decisions (from
//! `trace_evals`, else `evaluator` steps, else the status, per trace, as
//! the trace analyzer does), then `trace_steps`' usage if a metric needs
//! it. It pools the window's traces into runs ([`GroupBy`]), splits them
//! into segments ([`SegmentBy`]), judges every metric of every segment and
//! of the total, and holds the regressions to Holm's correction across all
//! of them, so that more segments and metrics do not mean more false
//! alarms.

use std::sync::Arc;

use jiff::Timestamp;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::family::hold_to_holm;
use super::line::Line;
use super::series::RunSeries;
use super::{check_options, TrendError};
use crate::metric::{Metric, MetricKind, Worse};
use crate::progress::{Progress, Stage};
use crate::store::{FactsStore, TraceHead};
use crate::verdict::{Method, Statistics, Verdict, VerdictOptions};
use crate::window::{
    self, no_value_label, CaseBy, GroupBy, LeftOut, LeftOutFlaky, Needs, Pooled, RunTraces,
    SegmentBy, Window, WindowOptions,
};

/// Segments judged at the most: a key with more distinct values (a
/// request id, say) is not a segmentation.
pub const MAX_SEGMENTS: usize = 100;

/// What a trend analyzes and how it judges it.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteOptions {
    /// Which runs.
    pub window: WindowOptions,
    /// The verdict rule, shared by every report.
    pub verdict: VerdictOptions,
    /// The metrics, in report order (at least one).
    pub metrics: Vec<Metric>,
    /// Judge each segment as well as the total.
    pub segment_by: Option<SegmentBy>,
    /// Judge the pass rate within the same cases as well (what makes
    /// traces the same case); flaky cases are found by it too.
    pub case_by: Option<CaseBy>,
    /// Leave the traces of flaky cases out (by `case_by`, else by input):
    /// cases that pass and fail under one model on one side of the split,
    /// as `traceflow cases` calls them. Regressed cases stay in.
    pub exclude_flaky: bool,
}

impl Default for SuiteOptions {
    /// The pass rate over the default window, judged by `auto`.
    fn default() -> Self {
        SuiteOptions {
            window: WindowOptions::default(),
            verdict: VerdictOptions::default(),
            metrics: vec![Metric::PassRate],
            segment_by: None,
            case_by: None,
            exclude_flaky: false,
        }
    }
}

/// One run of a report: the traces of one group (and segment).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunValue {
    /// 0 is the oldest run of the report.
    pub run_index: usize,
    /// The group's key: a trace id, `2026-11-27`, `2026-W48`, a git sha.
    pub run_key: String,
    /// When its first trace started.
    pub started_at: Timestamp,
    /// Its traces.
    pub traces: usize,
    /// Its gate decisions (a trace without recorded decisions counts its
    /// status as one).
    pub decisions: u64,
    /// The metric's value for the run; null when it has none (no steps,
    /// no scores).
    pub value: Option<f64>,
    /// The fitted trend at this run (Cochran–Armitage's line for rates,
    /// Sen's line for means); null when there is none.
    pub fitted: Option<f64>,
    /// The confidence band of the fitted trend at this run.
    pub band: Option<[f64; 2]>,
}

/// The trend of one metric in one segment (or the total).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricReport {
    /// The metric.
    pub metric: Metric,
    /// The segment's value; `None` for the total.
    pub segment: Option<String>,
    /// Which way is a regression.
    pub worse: Worse,
    /// The unit of `value`s.
    pub unit: &'static str,
    /// The metric over the whole window (pooled rate, or mean of the runs'
    /// values).
    pub value: Option<f64>,
    /// Holm-adjusted `statistics.p_worse` across every report that could be
    /// judged, on α's scale (compared with `alpha`; under `--evaluations`
    /// each p is first scaled by α / level); null when not in the family.
    pub p_adjusted: Option<f64>,
    /// The verdict and everything behind it.
    pub statistics: Statistics,
    /// The runs, oldest first, measured as they are read.
    pub summaries: RunSeries,
}

/// Every report of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteReport {
    /// What a run is.
    pub group_by: GroupBy,
    /// How traces were segmented, if they were.
    pub segment_by: Option<SegmentBy>,
    /// The window asked for, in runs.
    pub requested_window: Window,
    /// The time bounds asked for.
    pub since: Option<Timestamp>,
    /// The time bounds asked for.
    pub until: Option<Timestamp>,
    /// The rule used.
    pub method: Method,
    /// The false-alarm chance the whole set of reports is held to.
    pub alpha: f64,
    /// Tests in Holm's family (reports with a defined p-value).
    pub tests: usize,
    /// Whether any report is a regression.
    pub any_regression: bool,
    /// Runs in the window (of the total).
    pub runs: usize,
    /// Traces in the window.
    pub traces: usize,
    /// What the window left out: running, stale and ungrouped traces,
    /// flaky cases when asked for, unreadable rows (`uncased` is `None`).
    #[serde(flatten)]
    pub left_out: LeftOut,
    /// One report per metric × (total, then each segment).
    pub reports: Vec<MetricReport>,
}

/// Computes the reports of [`SuiteOptions`] over a store.
pub struct SuiteAnalyzer<'s, S: FactsStore + ?Sized> {
    store: &'s S,
    options: SuiteOptions,
    progress: Option<&'s Progress<'s>>,
}

impl<'s, S: FactsStore + ?Sized> SuiteAnalyzer<'s, S> {
    /// An analyzer of `store`.
    pub fn new(store: &'s S, options: SuiteOptions) -> Self {
        SuiteAnalyzer {
            store,
            options,
            progress: None,
        }
    }

    /// Calls `hook` with each stage of the analysis as it begins.
    pub fn on_progress(mut self, hook: Option<&'s Progress<'s>>) -> Self {
        self.progress = hook;
        self
    }

    fn stage(&self, stage: Stage) {
        if let Some(hook) = self.progress {
            hook(stage);
        }
    }

    /// Reads the store and judges every metric and segment.
    pub fn analyze(&self) -> Result<SuiteReport, TrendError> {
        let options = &self.options;
        check_options(&options.verdict, options.window.runs)?;
        // Leaving flaky cases out needs cases: by input unless asked.
        let case_by = match (&options.case_by, options.exclude_flaky) {
            (None, true) => Some(CaseBy::Input),
            (by, _) => by.clone(),
        };
        let needs = Needs {
            metrics: &options.metrics,
            labels: options.segment_by.is_some(),
            segment_key: options.segment_by.as_ref().and_then(SegmentBy::config_key),
            cases: case_by.as_ref(),
            more_keys: &[],
        };
        let mut pooled = window::pool(self.store, &options.window, &needs, None, self.progress)?;
        let flaky = options.exclude_flaky.then(|| {
            let (flaky, cases) = crate::cases::flaky_members(&pooled, &options.verdict);
            let traces = flaky.iter().filter(|&&f| f).count();
            pooled.retain(|i| !flaky[i]);
            LeftOutFlaky { cases, traces }
        });
        self.stage(Stage::Judging {
            runs: pooled.runs(),
        });
        let left_out = LeftOut {
            flaky,
            ..pooled.take_left_out()
        };
        self.judge(pooled, left_out)
    }

    /// Splits the pooled runs into segments and judges every metric of
    /// every segment, held to Holm's correction together.
    fn judge(&self, pooled: Pooled, left_out: LeftOut) -> Result<SuiteReport, TrendError> {
        let options = &self.options;
        let (segments, trace_segment) = segments(&pooled, options.segment_by.as_ref())?;

        // Each segment's runs (its traces, grouped), once for every metric;
        // then one report per metric × segment, computed on every core: a
        // rate's step test permutes thousands of times, and a suite holds
        // dozens of reports.
        let segment_runs: Vec<Arc<RunTraces>> = (0..segments.len())
            .map(|k| Arc::new(pooled.runs_where(|i| k == 0 || trace_segment[i] == k)))
            .collect();
        drop(trace_segment);
        // Every report reads its runs from the window when they are read.
        let pooled = Arc::new(pooled);
        let jobs: Vec<(&Metric, usize)> = options
            .metrics
            .iter()
            .flat_map(|metric| (0..segments.len()).map(move |k| (metric, k)))
            .collect();
        let inputs = Inputs {
            pooled: &pooled,
            options: &options.verdict,
            within_cases: options.case_by.is_some(),
        };
        let mut reports = parallel_map(&jobs, |&(metric, k)| {
            inputs.report(metric, segments[k].clone(), &segment_runs[k], &pooled)
        });
        let tests = hold_to_holm(&mut reports, &options.verdict);

        Ok(SuiteReport {
            group_by: options.window.group_by.clone(),
            segment_by: options.segment_by.clone(),
            requested_window: options.window.runs,
            since: options.window.since,
            until: options.window.until,
            method: options.verdict.method,
            alpha: options.verdict.alpha,
            tests,
            any_regression: reports
                .iter()
                .any(|r| r.statistics.verdict == Verdict::Regression),
            runs: pooled.runs(),
            traces: pooled.facts.len(),
            left_out,
            reports,
        })
    }
}

/// The segments, the total (`None`) first and then each value in the
/// order of their names, and each member's segment as an index into them
/// (the total is 0). Labels are shared, so this is one lookup per trace;
/// traces without a segmenting key are the segment "(no KEY)".
fn segments(
    pooled: &Pooled,
    segment_by: Option<&SegmentBy>,
) -> Result<(Vec<Option<String>>, Vec<usize>), TrendError> {
    let members = &pooled.members;
    let mut segments: Vec<Option<String>> = vec![None];
    let mut trace_segment: Vec<usize> = vec![0; members.len()];
    let Some(by) = segment_by else {
        return Ok((segments, trace_segment));
    };
    let segment_key = by.config_key();
    let slot = segment_key.and_then(|key| pooled.config_slot(key));
    let no_value: String = segment_key.map_or_else(String::new, no_value_label);
    fn label<'t>(
        by: &SegmentBy,
        slot: Option<usize>,
        no_value: &'t str,
        trace: &'t TraceHead,
    ) -> &'t str {
        match by {
            SegmentBy::Model => trace.model(),
            SegmentBy::Mode => trace.mode(),
            SegmentBy::Provider => trace.provider(),
            SegmentBy::Config(_) => slot
                .and_then(|slot| trace.config.get(slot)?.as_deref())
                .unwrap_or(no_value),
        }
    }
    let mut slot_of: FxHashMap<&str, usize> = FxHashMap::default();
    for (i, trace) in members.iter().enumerate() {
        let next = slot_of.len();
        trace_segment[i] = *slot_of
            .entry(label(by, slot, &no_value, trace))
            .or_insert(next);
    }
    if slot_of.len() > MAX_SEGMENTS {
        return Err(TrendError::TooManySegments {
            segment_by: by.to_string(),
            found: slot_of.len(),
        });
    }
    // Segments in the order of their names.
    let mut named: Vec<(&str, usize)> = slot_of.into_iter().collect();
    named.sort_unstable();
    let mut rank = vec![0; named.len()];
    for (k, (label, slot)) in named.into_iter().enumerate() {
        rank[slot] = k + 1;
        segments.push(Some(label.to_string()));
    }
    for segment in &mut trace_segment {
        *segment = rank[*segment];
    }
    Ok((segments, trace_segment))
}

/// What every report is computed from, shared by the worker threads.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    pooled: &'a Pooled,
    options: &'a VerdictOptions,
    /// Judge the pass rate within the same cases too (`case_by` given).
    within_cases: bool,
}

impl Inputs<'_> {
    /// The report of one metric over the selected traces.
    /// `runs` maps the segment's runs, in order, to their traces.
    /// Its runs are measured again when they are read: a report keeps
    /// the window (shared), not a row per run.
    fn report(
        &self,
        metric: &Metric,
        segment: Option<String>,
        runs: &Arc<RunTraces>,
        window: &Arc<Pooled>,
    ) -> MetricReport {
        let (statistics, measured) =
            self.pooled
                .assess(metric, runs, self.options, self.within_cases);
        let (value, line) = match metric.kind() {
            MetricKind::Rate => {
                let trials: Vec<u64> = measured.iter().map(|m| m.trials).collect();
                (statistics.pass_rate, Line::rate(&statistics, &trials))
            }
            MetricKind::Mean => {
                let values: Vec<Option<f64>> = measured.iter().map(|m| m.value).collect();
                let run_values: Vec<f64> = values.iter().copied().flatten().collect();
                (
                    crate::stats::sum::mean(&run_values),
                    Line::mean(&statistics, &values),
                )
            }
        };
        drop(measured);
        let summaries =
            RunSeries::measured(Arc::clone(window), Arc::clone(runs), metric.clone(), line);
        MetricReport {
            metric: metric.clone(),
            segment,
            worse: metric.worse(),
            unit: metric.unit(),
            value,
            p_adjusted: None,
            statistics,
            summaries,
        }
    }
}

/// `f` of every job, in order, on rayon's pool (a panic in `f`, a bug in
/// the statistics, is raised here rather than leaving a report out).
fn parallel_map<J: Sync, R: Send>(jobs: &[J], f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    use rayon::prelude::*;
    jobs.par_iter().map(&f).collect()
}

impl SuiteReport {
    /// How many reports have this verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.reports
            .iter()
            .filter(|r| r.statistics.verdict == verdict)
            .count()
    }

    /// The suite of one report that a trace report is: the pass rate over
    /// traces, with the same statistics.
    pub fn from_trace_report(report: &super::TraceTrendReport) -> SuiteReport {
        let mut summaries: Vec<RunValue> = report
            .summaries
            .iter()
            .map(|s| RunValue {
                run_index: s.run_index,
                run_key: s.trace_id.clone(),
                started_at: s.created_at,
                traces: 1,
                decisions: s.decisions.max(1) as u64,
                value: Some(s.pass_rate),
                fitted: None,
                band: None,
            })
            .collect();
        let trials: Vec<u64> = summaries.iter().map(|s| s.decisions).collect();
        let line = Line::rate(&report.statistics, &trials);
        for (i, run) in summaries.iter_mut().enumerate() {
            (run.fitted, run.band) = line.at(i, 0, run.value);
        }
        let mut suite = SuiteReport {
            group_by: GroupBy::Trace,
            segment_by: None,
            requested_window: report.requested_window,
            since: report.since,
            until: report.until,
            method: report.method,
            alpha: report.statistics.alpha,
            tests: 0,
            any_regression: report.any_regression,
            runs: report.window,
            traces: report.window,
            left_out: LeftOut {
                uncased: None,
                running: report.left_out_running,
                stale: report.stale,
                ungrouped: Some(0),
                flaky: None,
                skipped_rows: report.skipped_rows.clone(),
            },
            reports: vec![MetricReport {
                metric: Metric::PassRate,
                segment: None,
                worse: Worse::Lower,
                unit: Metric::PassRate.unit(),
                value: report.statistics.pass_rate,
                p_adjusted: None,
                statistics: report.statistics.clone(),
                summaries: summaries.into(),
            }],
        };
        // The same rule as the suite's own reports: a family of one, or none
        // under `ols` or with too few runs.
        let options = VerdictOptions {
            method: report.method,
            alpha: report.statistics.alpha,
            ..VerdictOptions::default()
        };
        suite.tests = hold_to_holm(&mut suite.reports, &options);
        suite
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::means::assess_means;
    use crate::verdict::Subject;

    /// A report of cost per run rising steadily: a regression on its own.
    fn rising_cost(p_worse: f64) -> MetricReport {
        let values: Vec<Option<f64>> = (0..30).map(|i| Some(1.0 + 0.01 * f64::from(i))).collect();
        let subject = Subject {
            noun: "cost per trace",
            worse: Worse::Higher,
        };
        let mut statistics = assess_means(&values, 30, &VerdictOptions::default(), subject);
        assert_eq!(statistics.verdict, Verdict::Regression);
        statistics.p_worse = Some(p_worse);
        MetricReport {
            metric: Metric::Cost,
            segment: None,
            worse: Worse::Higher,
            unit: Metric::Cost.unit(),
            value: Some(1.0),
            p_adjusted: None,
            statistics,
            summaries: RunSeries::default(),
        }
    }

    #[test]
    fn a_mean_holms_correction_overrules_is_not_significant_not_too_little_data() {
        // 0.006 alone is below α = 0.01; across two tests Holm's 0.012 is not.
        let mut reports = vec![rising_cost(0.006), rising_cost(0.5)];
        reports[1].statistics.verdict = Verdict::Stable;
        let tests = hold_to_holm(&mut reports, &VerdictOptions::default());
        assert_eq!(tests, 2);
        let s = &reports[0].statistics;
        assert_eq!(s.verdict, Verdict::NotSignificant);
        assert!(s.insufficient.is_none(), "{:?}", s.insufficient);
        assert!(
            s.summary.starts_with(
                "Not significant after Holm's correction for 2 tests (adjusted p = 0.0120): "
            ),
            "{}",
            s.summary
        );
    }
}
