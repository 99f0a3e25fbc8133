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

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::grouping::{no_value_label, GroupBy, SegmentBy};
use super::means::{assess_means, MIN_RUNS_MEANS};
use super::metric::{Metric, MetricKind, Worse};
use super::verdict::{
    assess_rate, Statistics, Subject, Verdict, VerdictOptions, MDE_FACTOR, MIN_DECISIONS_AUTO,
    MIN_RUNS_AUTO,
};
use super::{check_options, decision_slot, Method, Stale, TrendError, Window};
use crate::json::ScoreSummary;
use crate::model::{EvalDecision, RunStatus};
use crate::stats::sum::pooled_mean;
use crate::stats::{holm, Spread};
use crate::store::{
    DecisionRow, DecisionTable, RowIssue, StepDecisions, StoreError, TraceDetail, TraceFilter,
    TraceStore,
};
use crate::text::count;

/// Segments judged at the most: a key with more distinct values (a
/// request id, say) is not a segmentation.
pub const MAX_SEGMENTS: usize = 100;

/// What to analyze and how to judge it.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteOptions {
    /// The verdict rule, shared by every report.
    pub verdict: VerdictOptions,
    /// The newest runs (after pooling) to judge.
    pub window: Window,
    /// What a run is.
    pub group_by: GroupBy,
    /// Only traces started at or after this instant.
    pub since: Option<Timestamp>,
    /// Only traces started before this instant.
    pub until: Option<Timestamp>,
    /// The metrics, in report order (at least one).
    pub metrics: Vec<Metric>,
    /// Judge each segment as well as the total.
    pub segment_by: Option<SegmentBy>,
    /// Count traces still `running` that started before this as failed
    /// runs (crashed ones); `None` leaves every running trace out.
    pub stale_before: Option<Timestamp>,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions {
            verdict: VerdictOptions::default(),
            window: Method::Auto.default_window(),
            group_by: GroupBy::Trace,
            since: None,
            until: None,
            metrics: vec![Metric::PassRate],
            segment_by: None,
            stale_before: None,
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
    /// The runs, oldest first.
    pub summaries: Vec<RunValue>,
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
    /// Still-running traces in the window's span, left out.
    pub left_out_running: usize,
    /// Running traces counted as failed (crashed runs), when asked for;
    /// absent from the JSON when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
    /// Finished traces in the time bounds that belong to no run (no value
    /// for the `config.<key>` runs are keyed on).
    pub left_out_ungrouped: usize,
    /// Rows that could not be used, and why.
    pub skipped_rows: Vec<RowIssue>,
    /// One report per metric × (total, then each segment).
    pub reports: Vec<MetricReport>,
}

/// Computes the reports of [`SuiteOptions`] over a store.
pub struct SuiteAnalyzer<'s, S: TraceStore + ?Sized> {
    store: &'s S,
    options: SuiteOptions,
}

/// Everything one trace contributes.
#[derive(Debug, Clone, Default)]
struct Facts {
    /// PASS, REVISE, FALLBACK decisions.
    counts: [u32; 3],
    /// The decision with the highest (step_seq, rowid).
    last: Option<(i64, i64, EvalDecision)>,
    scores: ScoreSummary,
    /// Per asked-for score: sum and count of finite values.
    named: Box<[(f64, u32)]>,
    source: Option<DecisionTable>,
    /// Summed over its steps: tokens, latency, cost; `None` without steps
    /// (boxed: a million traces hold a pointer, not 24 bytes, when no usage
    /// metric is asked for).
    usage: Option<Box<[f64; 3]>>,
}

impl<'s, S: TraceStore + ?Sized> SuiteAnalyzer<'s, S> {
    /// An analyzer of `store`.
    pub fn new(store: &'s S, options: SuiteOptions) -> Self {
        SuiteAnalyzer { store, options }
    }

    /// Reads the store and judges every metric and segment.
    pub fn analyze(&self) -> Result<SuiteReport, TrendError> {
        let options = &self.options;
        check_options(&options.verdict, options.window)?;
        if let (Some(since), Some(until)) = (options.since, options.until) {
            if since >= until {
                return Err(TrendError::EmptyTimeRange { since, until });
            }
        }
        if options.metrics.is_empty() {
            return Err(TrendError::NoMetric);
        }

        // Config keys to read: the grouping's, then the segmentation's.
        let mut keys: Vec<String> = Vec::new();
        for key in [
            options.group_by.config_key(),
            options.segment_by.as_ref().and_then(SegmentBy::config_key),
        ]
        .into_iter()
        .flatten()
        {
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
        let key_slot = |key: Option<&str>| key.and_then(|key| keys.iter().position(|k| k == key));
        let group_slot = key_slot(options.group_by.config_key());
        let segment_slot = key_slot(options.segment_by.as_ref().and_then(SegmentBy::config_key));

        let scan = self.store.scan_trace_details(&keys)?;
        let mut issues = scan.issues;
        let in_range = |t: Timestamp| {
            options.since.is_none_or(|since| t >= since)
                && options.until.is_none_or(|until| t < until)
        };
        // Filtered, ordered and windowed in place: a million traces are
        // never held twice.
        let mut members: Vec<TraceDetail> = scan.rows;
        // A key that no trace has is a typo, not a run of nothing.
        for (slot, key) in keys.iter().enumerate() {
            if !members
                .iter()
                .any(|t| t.config.get(slot).is_some_and(Option::is_some))
            {
                return Err(TrendError::UnknownConfigKey {
                    key: key.clone(),
                    known: self.store.config_keys()?,
                });
            }
        }
        let mut running: Vec<Timestamp> = Vec::new();
        let mut stale_failed = 0;
        members.retain_mut(|detail| {
            let at = detail.head.created_at;
            if !in_range(at) {
                return false;
            }
            stale_failed += usize::from(Stale::fail(options.stale_before, &mut detail.head));
            if !detail.head.status.is_finished() {
                running.push(at);
                return false;
            }
            true
        });
        members.sort_unstable_by_key(|t| (t.head.created_at, t.head.rowid));

        // Runs in the order of their first trace.
        let mut run_of_key: FxHashMap<String, usize> = FxHashMap::default();
        let mut run_keys: Vec<String> = Vec::new();
        let mut run_of_trace: Vec<Option<usize>> = Vec::with_capacity(members.len());
        let mut ungrouped = 0;
        for trace in &members {
            let config = group_slot.and_then(|slot| trace.config.get(slot)?.as_deref());
            let run = options
                .group_by
                .key(&trace.head.trace_id, trace.head.created_at, config)
                .map(|key| match run_of_key.get(&key) {
                    Some(&run) => run,
                    None => {
                        let run = run_keys.len();
                        run_of_key.insert(key.clone(), run);
                        run_keys.push(key);
                        run
                    }
                });
            if run.is_none() {
                ungrouped += 1;
            }
            run_of_trace.push(run);
        }
        drop(run_of_key);
        let first_run = match options.window {
            Window::Last(n) => run_keys.len().saturating_sub(n),
            Window::All => 0,
        };
        // The window's traces, and each one's run (renumbered from 0).
        let mut position = 0;
        members.retain(|_| {
            let keep = run_of_trace[position].is_some_and(|r| r >= first_run);
            position += 1;
            keep
        });
        let run_of: Vec<usize> = run_of_trace
            .into_iter()
            .flatten()
            .filter(|&r| r >= first_run)
            .map(|r| r - first_run)
            .collect();
        let run_keys: Vec<String> = run_keys.split_off(first_run);
        let left_out_running = match members.first() {
            Some(oldest) => running
                .iter()
                .filter(|&&t| t >= oldest.head.created_at)
                .count(),
            None => running.len(),
        };

        let score_names: Vec<String> = options
            .metrics
            .iter()
            .filter_map(|m| match m {
                Metric::Score(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let facts = self.read_facts(
            &members,
            &score_names,
            options.metrics.iter().any(Metric::needs_steps),
            &mut issues,
        )?;
        for (slot, name) in score_names.iter().enumerate() {
            if !facts.iter().any(|f| f.named[slot].1 > 0) {
                // None in the window: an error only if none in the store.
                let known = self.store.score_names()?;
                if !known.contains(name) {
                    return Err(TrendError::UnknownScore {
                        name: name.clone(),
                        known,
                    });
                }
            }
        }
        issues.extend(overflowed(&options.metrics, &members, &facts, &score_names));

        // Segments: the total (None), then each value in order.
        // Each trace's segment, as an index into `segments` (the total is
        // 0); labels are shared, so this is one lookup per trace.
        // Traces without the key: the segment "(no KEY)", one label for all.
        let no_value: Arc<str> = options
            .segment_by
            .as_ref()
            .and_then(SegmentBy::config_key)
            .map_or_else(|| "".into(), |key| no_value_label(key).into());
        let segment_of = |trace: &TraceDetail| -> Option<Arc<str>> {
            match &options.segment_by {
                None => None,
                Some(SegmentBy::Model) => Some(Arc::clone(&trace.model)),
                Some(SegmentBy::Mode) => Some(Arc::clone(&trace.mode)),
                Some(SegmentBy::Provider) => Some(Arc::clone(&trace.provider)),
                Some(SegmentBy::Config(_)) => Some(
                    segment_slot
                        .and_then(|slot| trace.config.get(slot).cloned().flatten())
                        .map_or_else(|| Arc::clone(&no_value), Into::into),
                ),
            }
        };
        let mut segments: Vec<Option<String>> = vec![None];
        let mut trace_segment: Vec<usize> = vec![0; members.len()];
        if let Some(by) = &options.segment_by {
            let mut slot_of: FxHashMap<Arc<str>, usize> = FxHashMap::default();
            for (i, trace) in members.iter().enumerate() {
                if let Some(label) = segment_of(trace) {
                    let next = slot_of.len();
                    trace_segment[i] = *slot_of.entry(label).or_insert(next);
                }
            }
            if slot_of.len() > MAX_SEGMENTS {
                return Err(TrendError::TooManySegments {
                    segment_by: by.to_string(),
                    found: slot_of.len(),
                });
            }
            // Segments in the order of their names.
            let mut named: Vec<(Arc<str>, usize)> = slot_of.into_iter().collect();
            named.sort_unstable();
            let mut rank = vec![0; named.len()];
            for (k, (label, slot)) in named.into_iter().enumerate() {
                rank[slot] = k + 1;
                segments.push(Some(label.to_string()));
            }
            for segment in &mut trace_segment {
                *segment = rank[*segment];
            }
        }

        // The traces of each segment (the total first), then one report per
        // metric × segment, computed on every core: a rate's step test
        // permutes thousands of times, and a suite holds dozens of reports.
        // Each segment's runs (its traces, grouped), once for every metric.
        let mut segment_runs: Vec<BTreeMap<usize, Vec<usize>>> =
            vec![BTreeMap::new(); segments.len()];
        for (i, &segment) in trace_segment.iter().enumerate() {
            segment_runs[0].entry(run_of[i]).or_default().push(i);
            if segment > 0 {
                segment_runs[segment].entry(run_of[i]).or_default().push(i);
            }
        }
        let jobs: Vec<(&Metric, usize)> = options
            .metrics
            .iter()
            .flat_map(|metric| (0..segments.len()).map(move |k| (metric, k)))
            .collect();
        let inputs = Inputs {
            members: &members,
            facts: &facts,
            run_keys: &run_keys,
            score_names: &score_names,
            options: &options.verdict,
        };
        let mut reports = parallel_map(&jobs, |&(metric, k)| {
            inputs.report(metric, segments[k].clone(), &segment_runs[k])
        });
        let tests = hold_to_holm(&mut reports, &options.verdict);

        Ok(SuiteReport {
            group_by: options.group_by.clone(),
            segment_by: options.segment_by.clone(),
            requested_window: options.window,
            since: options.since,
            until: options.until,
            method: options.verdict.method,
            alpha: options.verdict.alpha,
            tests,
            any_regression: reports
                .iter()
                .any(|r| r.statistics.verdict == Verdict::Regression),
            runs: run_keys.len(),
            traces: facts.len(),
            left_out_running,
            stale: options.stale_before.map(|before| Stale {
                before,
                failed: stale_failed,
            }),
            left_out_ungrouped: ungrouped,
            skipped_rows: issues,
            reports,
        })
    }

    /// Reads the window's decisions and (if asked) usage: one pass over
    /// `trace_evals`, then at most one over `trace_steps`, for usage, for
    /// the evaluator steps of traces without `trace_evals` rows, or both.
    fn read_facts(
        &self,
        members: &[TraceDetail],
        score_names: &[String],
        usage: bool,
        issues: &mut Vec<RowIssue>,
    ) -> Result<Vec<Facts>, StoreError> {
        let index: FxHashMap<&str, usize> = members
            .iter()
            .enumerate()
            .map(|(i, t)| (t.head.trace_id.as_str(), i))
            .collect();
        let mut facts = vec![
            Facts {
                named: vec![(0.0, 0); score_names.len()].into_boxed_slice(),
                ..Facts::default()
            };
            members.len()
        ];
        let all: Vec<&str> = members.iter().map(|t| t.head.trace_id.as_str()).collect();
        let mut sink = Decisions {
            index: &index,
            open: vec![true; members.len()],
            facts: &mut facts,
            issues,
        };
        if !all.is_empty() {
            self.store.scan_decisions(
                DecisionTable::TraceEvals,
                filter_for(&all),
                score_names,
                &mut |trace_id, row| sink.take(DecisionTable::TraceEvals, trace_id, row),
            )?;
        }
        // Traces decided by trace_evals keep that record.
        sink.open = sink.facts.iter().map(|f| f.source.is_none()).collect();
        let undecided: Vec<&str> = all
            .iter()
            .zip(&sink.open)
            .filter(|(_, &open)| open)
            .map(|(&id, _)| id)
            .collect();
        if usage && !all.is_empty() {
            let open = sink.open.clone();
            let wanted = |trace_id: &str| index.get(trace_id).is_some_and(|&i| open[i]);
            let decisions = (!undecided.is_empty()).then_some(StepDecisions {
                score_names,
                wanted: &wanted,
            });
            self.store.scan_step_usage(
                filter_for(&all),
                decisions,
                &mut |trace_id, row, decision| {
                    if let Some(decision) = decision {
                        sink.take(DecisionTable::EvaluatorSteps, trace_id, decision);
                    }
                    let Some(&i) = sink.index.get(trace_id) else {
                        // A row whose trace id cannot be read may belong
                        // to any run.
                        if let Err(issue) = row {
                            if issue.trace_id.is_none() {
                                sink.issues.push(issue);
                            }
                        }
                        return;
                    };
                    match row {
                        Ok(step) => {
                            let sums = sink.facts[i].usage.get_or_insert_default();
                            sums[0] += step.tokens as f64;
                            sums[1] += step.latency_ms;
                            sums[2] += step.cost_usd;
                        }
                        Err(issue) => sink.issues.push(issue),
                    }
                },
            )?;
        } else if !undecided.is_empty() {
            self.store.scan_decisions(
                DecisionTable::EvaluatorSteps,
                filter_for(&undecided),
                score_names,
                &mut |trace_id, row| sink.take(DecisionTable::EvaluatorSteps, trace_id, row),
            )?;
        }
        Ok(facts)
    }
}

/// What every report is computed from, shared by the worker threads.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    members: &'a [TraceDetail],
    facts: &'a [Facts],
    run_keys: &'a [String],
    score_names: &'a [String],
    options: &'a VerdictOptions,
}

impl Inputs<'_> {
    /// The report of one metric over the selected traces.
    /// `runs` maps the segment's runs, in order, to their traces.
    fn report(
        &self,
        metric: &Metric,
        segment: Option<String>,
        runs: &BTreeMap<usize, Vec<usize>>,
    ) -> MetricReport {
        let Inputs {
            members,
            facts,
            run_keys,
            score_names,
            options,
        } = *self;
        let noun = metric.noun();
        let subject = Subject {
            noun: &noun,
            worse: metric.worse(),
        };
        let measured: Vec<Measured> = runs
            .values()
            .map(|traces| measure(metric, traces, facts, members, score_names))
            .collect();
        let mut summaries: Vec<RunValue> = runs
            .iter()
            .zip(&measured)
            .enumerate()
            .map(|(run_index, ((&run, traces), m))| RunValue {
                run_index,
                run_key: run_keys.get(run).cloned().unwrap_or_default(),
                started_at: members[traces[0]].head.created_at,
                traces: traces.len(),
                decisions: traces.iter().map(|&i| facts[i].decisions()).sum(),
                value: m.value,
                fitted: None,
                band: None,
            })
            .collect();
        let (mut statistics, value) = match metric.kind() {
            MetricKind::Rate => {
                let events: Vec<u64> = measured.iter().map(|m| m.events).collect();
                let trials: Vec<u64> = measured.iter().map(|m| m.trials).collect();
                let stats = assess_rate(&events, &trials, options, subject);
                fit_rate(&mut summaries, &stats, &trials);
                let value = stats.pass_rate;
                (stats, value)
            }
            MetricKind::Mean => {
                let values: Vec<Option<f64>> = measured.iter().map(|m| m.value).collect();
                let observations = measured.iter().map(|m| m.trials).sum();
                let mut stats = assess_means(&values, observations, options, subject);
                // Say what the mean covers: TraceFlow Lite records no steps
                // (so no cost, latency or tokens) for a failed run.
                let empty = values.iter().filter(|v| v.is_none()).count();
                if empty > 0 {
                    let what = if metric.needs_steps() {
                        "no steps recorded"
                    } else {
                        "no value recorded"
                    };
                    let note = format!(
                        "{empty} of {} have {what} and are left out",
                        count(values.len(), "run")
                    );
                    stats.summary.push_str(&format!(" {note}."));
                    stats.notes.push(note);
                }
                fit_mean(&mut summaries, &stats);
                let run_values: Vec<f64> = values.iter().flatten().copied().collect();
                (stats, crate::stats::sum::mean(&run_values))
            }
        };
        statistics.label_runs(|i| {
            summaries.get(i).map_or_else(
                || (String::new(), None),
                |s| (s.run_key.clone(), Some(s.started_at)),
            )
        });
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

/// `f` of every job, in order, on every core.
fn parallel_map<J: Sync, R: Send>(jobs: &[J], f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    if threads <= 1 {
        return jobs.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        out.push((i, f(job)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                // A panic in a worker is a bug in the statistics: raise it
                // here rather than return a suite with a report missing.
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Names the traces when there are few of them, letting SQLite use an
/// index; reads everything otherwise (one sequential pass is cheaper than
/// a lookup per trace).
fn filter_for<'a>(ids: &'a [&'a str]) -> TraceFilter<'a> {
    if ids.len() <= FILTER_MAX_IDS {
        TraceFilter::Only(ids)
    } else {
        TraceFilter::All
    }
}

/// Traces a scan names at most before it reads the whole table.
const FILTER_MAX_IDS: usize = 50_000;

/// Where decision rows go: the facts of the traces still open to them.
struct Decisions<'a, 'i> {
    index: &'a FxHashMap<&'i str, usize>,
    /// Traces this table may still decide.
    open: Vec<bool>,
    facts: &'a mut [Facts],
    issues: &'a mut Vec<RowIssue>,
}

impl Decisions<'_, '_> {
    fn take(&mut self, table: DecisionTable, trace_id: &str, row: Result<DecisionRow, RowIssue>) {
        let Some(&i) = self.index.get(trace_id) else {
            // A row whose trace id cannot be read may belong to any run.
            if let Err(issue) = row {
                if issue.trace_id.is_none() {
                    self.issues.push(issue);
                }
            }
            return;
        };
        if !self.open[i] {
            return;
        }
        match row {
            Ok(row) => {
                if let Some(reason) = &row.scores_problem {
                    self.issues.push(RowIssue {
                        table: table.table(),
                        rowid: row.rowid,
                        trace_id: Some(trace_id.to_owned()),
                        reason: format!("{reason}; scores ignored, decision counted"),
                    });
                }
                self.facts[i].absorb(table, row);
            }
            Err(issue) => self.issues.push(issue),
        }
    }
}

impl Facts {
    fn absorb(&mut self, table: DecisionTable, row: DecisionRow) {
        self.counts[decision_slot(row.decision)] += 1;
        let key = (row.step_seq, row.rowid);
        if self.last.is_none_or(|(seq, rowid, _)| key > (seq, rowid)) {
            self.last = Some((row.step_seq, row.rowid, row.decision));
        }
        self.scores.absorb(row.scores);
        for (slot, value) in self.named.iter_mut().zip(row.named_scores) {
            if let Some(v) = value {
                slot.0 += v;
                slot.1 += 1;
            }
        }
        self.source = Some(table);
    }

    /// Decisions recorded, or 1 when the status stands in for them.
    fn decisions(&self) -> u64 {
        u64::from(self.counts.iter().sum::<u32>()).max(1)
    }
}

/// The traces whose sum over their steps (usage) or decisions (scores) of
/// an asked-for metric is past the largest float (two steps of 1e308 ms):
/// left out of that metric, each reported as an issue of its trace's row.
fn overflowed(
    metrics: &[Metric],
    members: &[TraceDetail],
    facts: &[Facts],
    score_names: &[String],
) -> Vec<RowIssue> {
    let mut issues = Vec::new();
    for metric in metrics {
        let (summed, column) = match metric {
            Metric::Tokens => (0, "tokens"),
            Metric::Latency => (1, "latency_ms"),
            Metric::Cost => (2, "cost_usd"),
            Metric::AvgScore | Metric::Score(_) => (3, "scores"),
            _ => continue,
        };
        let slot = match metric {
            Metric::Score(name) => score_names.iter().position(|n| n == name),
            _ => None,
        };
        for (trace, f) in members.iter().zip(facts) {
            let sum = match (summed, slot) {
                (3, Some(slot)) => f.named.get(slot).map(|&(sum, _)| sum),
                (3, None) => Some(f.scores.sum),
                _ => f.usage.as_deref().map(|usage| usage[summed]),
            };
            if sum.is_some_and(|s| !s.is_finite()) {
                issues.push(RowIssue {
                    table: "traces",
                    rowid: trace.head.rowid,
                    trace_id: Some(trace.head.trace_id.clone()),
                    reason: format!(
                        "its {column} sum past the largest float; the trace is left out of {metric}"
                    ),
                });
            }
        }
    }
    issues
}

/// A run's measurement: events of trials for rates, a mean of `trials`
/// observations for means.
struct Measured {
    events: u64,
    trials: u64,
    value: Option<f64>,
}

fn measure(
    metric: &Metric,
    traces: &[usize],
    facts: &[Facts],
    members: &[TraceDetail],
    score_names: &[String],
) -> Measured {
    let rate = |events: u64, trials: u64| Measured {
        events,
        trials,
        value: (trials > 0).then(|| events as f64 / trials as f64),
    };
    // A trace whose sum overflowed is left out (and reported: `overflowed`);
    // the run's mean cannot overflow.
    let mean = |values: &mut dyn Iterator<Item = (f64, u64)>| {
        let items: Vec<(f64, u64)> = values.filter(|(v, _)| v.is_finite()).collect();
        Measured {
            events: 0,
            trials: items.iter().map(|&(_, k)| k).sum(),
            value: pooled_mean(&items),
        }
    };
    // A trace without recorded decisions: its status is one decision.
    let counts = |i: usize| -> [u64; 3] {
        let f = &facts[i];
        if f.source.is_some() {
            f.counts.map(u64::from)
        } else if members[i].head.status == RunStatus::Done {
            [1, 0, 0]
        } else {
            [0, 0, 0]
        }
    };
    let decided = |i: usize| facts[i].decisions();
    match metric {
        Metric::PassRate | Metric::ReviseRate | Metric::FallbackRate => {
            let slot = decision_slot(match metric {
                Metric::PassRate => EvalDecision::Pass,
                Metric::ReviseRate => EvalDecision::Revise,
                _ => EvalDecision::Fallback,
            });
            let events = traces.iter().map(|&i| counts(i)[slot]).sum();
            let trials = traces.iter().map(|&i| decided(i)).sum();
            rate(events, trials)
        }
        Metric::FinalPassRate => {
            let passed = traces
                .iter()
                .filter(|&&i| match facts[i].last {
                    Some((_, _, decision)) => decision == EvalDecision::Pass,
                    None => members[i].head.status == RunStatus::Done,
                })
                .count() as u64;
            rate(passed, traces.len() as u64)
        }
        Metric::AvgScore => mean(&mut traces.iter().map(|&i| {
            let s = facts[i].scores;
            (s.sum, u64::from(s.finite))
        })),
        Metric::Score(name) => {
            let slot = score_names.iter().position(|n| n == name).unwrap_or(0);
            mean(&mut traces.iter().filter_map(|&i| {
                facts[i]
                    .named
                    .get(slot)
                    .map(|&(sum, n)| (sum, u64::from(n)))
            }))
        }
        Metric::Cost | Metric::Latency | Metric::Tokens => {
            mean(&mut traces.iter().filter_map(|&i| {
                facts[i].usage.as_deref().map(|&[tokens, latency, cost]| {
                    let v = match metric {
                        Metric::Cost => cost,
                        Metric::Latency => latency,
                        _ => tokens,
                    };
                    (v, 1)
                })
            }))
        }
        Metric::Revisions => mean(
            &mut traces
                .iter()
                .filter_map(|&i| facts[i].source.map(|_| (f64::from(facts[i].counts[1]), 1))),
        ),
    }
}

/// Cochran–Armitage's line p̄ + b(t − t̄) with its band: the half-width
/// q·SE(b)·√(Sₜₜ/N + (t − t̄)²) covers the level's uncertainty as well as
/// the slope's (SE(level)² = SE(b)²·Sₜₜ/N). q·SE(b) is half the slope's
/// interval, so the band uses the test's own variance, dispersion and
/// reference distribution.
fn fit_rate(summaries: &mut [RunValue], stats: &Statistics, trials: &[u64]) {
    let (Some(ca), Some(rate)) = (stats.cochran_armitage, stats.pass_rate) else {
        return;
    };
    let spread = Spread::by_index(trials);
    if spread.total <= 0.0 {
        return;
    }
    let half_slope = (ca.slope_ci[1] - ca.slope_ci[0]) / 2.0;
    for (i, run) in summaries.iter_mut().enumerate() {
        let dt = i as f64 - spread.t_bar;
        let fitted = (rate + ca.slope * dt).clamp(0.0, 1.0);
        let half = half_slope * (spread.s_tt / spread.total + dt * dt).sqrt();
        run.fitted = Some(fitted);
        run.band = Some([(fitted - half).max(0.0), (fitted + half).min(1.0)]);
    }
}

/// Sen's line (Sen's slope, the median intercept) with the range of the
/// lines whose slopes lie in Sen's 95% interval, pivoting about the middle
/// run. That range is the slope's uncertainty only: unlike a rate's band,
/// it has no width at the middle run (the HTML labels it so).
fn fit_mean(summaries: &mut [RunValue], stats: &Statistics) {
    let Some(mk) = stats.mann_kendall else {
        return;
    };
    let points: Vec<(f64, f64)> = summaries
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.value.filter(|v| v.is_finite()).map(|v| (i as f64, v)))
        .collect();
    if points.is_empty() {
        return;
    }
    // Sen's intercept: the median of yᵢ − b·k over the judged runs, k
    // their position in the series Mann–Kendall saw.
    let mut residuals: Vec<f64> = points
        .iter()
        .enumerate()
        .map(|(k, &(_, y))| y - mk.sen_slope * k as f64)
        .collect();
    // Not empty: `points` has a value.
    let intercept = crate::stats::median(&mut residuals).unwrap_or(0.0);
    let centre = (points.len() - 1) as f64 / 2.0;
    let at_centre = intercept + mk.sen_slope * centre;
    for (k, &(i, _)) in points.iter().enumerate() {
        let dk = k as f64 - centre;
        let (a, b) = (at_centre + mk.sen_ci.0 * dk, at_centre + mk.sen_ci.1 * dk);
        let run = &mut summaries[i as usize];
        run.fitted = Some(intercept + mk.sen_slope * k as f64);
        run.band = Some([a.min(b), a.max(b)]);
    }
}

/// Applies Holm's correction to every report's regression: a report stays
/// a regression only if its Holm-adjusted p is below α. Returns the tests
/// counted.
///
/// - Each p is first put on α's scale (p · α / level), so that under
///   `--evaluations` a report's own simulated level maps to α; `p_adjusted`
///   is Holm's value on that scale, compared with α.
/// - The family is every report with a p-value that could be judged at all:
///   a report with too few runs or decisions can never be a regression, and
///   counting it would only cost the others power.
/// - `--method ols` has no p-value in its rule, so nothing is adjusted.
pub(crate) fn hold_to_holm(reports: &mut [MetricReport], options: &VerdictOptions) -> usize {
    if options.method == Method::Ols {
        return 0;
    }
    let scaled: Vec<Option<f64>> = reports
        .iter()
        .map(|r| {
            let s = &r.statistics;
            let judged = match r.metric.kind() {
                MetricKind::Rate => s.runs >= MIN_RUNS_AUTO && s.decisions >= MIN_DECISIONS_AUTO,
                MetricKind::Mean => s.runs >= MIN_RUNS_MEANS,
            };
            s.p_worse
                .filter(|_| judged)
                .map(|p| p * options.alpha / s.level)
        })
        .collect();
    let adjusted = holm(&scaled);
    let tests = scaled.iter().flatten().count();
    for (report, adjusted) in reports.iter_mut().zip(adjusted) {
        let s = &mut report.statistics;
        report.p_adjusted = adjusted;
        let Some(q) = adjusted else { continue };
        if tests <= 1 || s.verdict != Verdict::Regression || q < options.alpha {
            continue;
        }
        // A rate's data could show a decline of the size that matters when
        // its minimum detectable drop is small enough: then "stable" holds.
        // A mean has no such measure, and its move was as large as matters
        // (that made it a regression), so it stays unresolved.
        let underpowered = match report.metric.kind() {
            MetricKind::Rate => s
                .min_detectable_drop
                .is_some_and(|mde| mde > MDE_FACTOR * s.min_drop),
            MetricKind::Mean => true,
        };
        s.verdict = if underpowered {
            Verdict::NotSignificant
        } else {
            Verdict::Stable
        };
        s.notes.push(format!(
            "not a regression after Holm's correction for {tests} tests (adjusted p = {q:.4})"
        ));
        s.summary = format!(
            "Not significant after Holm's correction for {tests} tests (adjusted p = {q:.4}): {}",
            s.summary
        );
    }
    tests
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
        fit_rate(&mut summaries, &report.statistics, &trials);
        let mut suite = SuiteReport {
            group_by: GroupBy::Trace,
            segment_by: None,
            requested_window: report.requested_window,
            since: None,
            until: None,
            method: report.method,
            alpha: report.statistics.alpha,
            tests: 0,
            any_regression: report.any_regression,
            runs: report.window,
            traces: report.window,
            left_out_running: report.left_out_running,
            stale: report.stale,
            left_out_ungrouped: 0,
            skipped_rows: report.skipped_rows.clone(),
            reports: vec![MetricReport {
                metric: Metric::PassRate,
                segment: None,
                worse: Worse::Lower,
                unit: Metric::PassRate.unit(),
                value: report.statistics.pass_rate,
                p_adjusted: None,
                statistics: report.statistics.clone(),
                summaries,
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
    use crate::trend::means::assess_means;

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
            summaries: Vec::new(),
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
