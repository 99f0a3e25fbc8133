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
use super::grouping::{no_value_label, CaseBy, GroupBy, SegmentBy};
use super::means::assess_means;
use super::measure::{measure, overflowed, Line, Measured};
use super::metric::{Metric, MetricKind, Worse};
use super::series::RunSeries;
use super::verdict::{assess_rate, Statistics, Subject, Verdict, VerdictOptions};
use super::{check_options, Method, Stale, TrendError, Window};
use crate::progress::{Progress, Stage};
use crate::store::{
    FactsQuery, FactsStore, HeadsQuery, NewestHeads, RowIssue, TraceFacts, TraceHead,
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
    /// What makes traces the same case (read only when set: the per-case
    /// analysis, and the trend without flaky cases).
    pub case_by: Option<CaseBy>,
    /// Leave the traces of flaky cases out (by `case_by`, else by input):
    /// cases that pass and fail under one model on one side of the split,
    /// as `traceflow cases` calls them. Regressed cases stay in.
    pub exclude_flaky: bool,
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
    /// Still-running traces in the window's span, left out.
    pub left_out_running: usize,
    /// Running traces counted as failed (crashed runs), when asked for;
    /// absent from the JSON when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
    /// Finished traces in the time bounds that belong to no run (no value
    /// for the `config.<key>` runs are keyed on).
    pub left_out_ungrouped: usize,
    /// The flaky cases left out and their traces, when asked for; absent
    /// from the JSON when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_out_flaky: Option<LeftOutFlaky>,
    /// Rows that could not be used, and why.
    pub skipped_rows: Vec<RowIssue>,
    /// One report per metric × (total, then each segment).
    pub reports: Vec<MetricReport>,
}

/// The flaky cases a trend left out (`SuiteOptions::exclude_flaky`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LeftOutFlaky {
    /// Flaky cases.
    pub cases: usize,
    /// Their traces in the window.
    pub traces: usize,
}

/// Computes the reports of [`SuiteOptions`] over a store.
pub struct SuiteAnalyzer<'s, S: FactsStore + ?Sized> {
    store: &'s S,
    options: SuiteOptions,
    progress: Option<&'s Progress<'s>>,
}

/// The window's traces, pooled into runs: what every report is computed
/// from, and the counts of what was left out.
pub(crate) struct Pooled {
    /// The window's traces, oldest first.
    pub(crate) members: Vec<TraceHead>,
    /// Their facts, in the same order.
    pub(crate) facts: Vec<TraceFacts>,
    /// How the members make runs.
    pub(crate) runs: Runs,
    /// The `config_json` keys read, in the heads' order.
    pub(crate) config_keys: Vec<String>,
    /// The scores asked for by name, in the facts' order.
    pub(crate) score_names: Vec<String>,
    /// What a case is, and where a `config.<key>` case's value is among
    /// the heads' config values.
    pub(crate) cases: Option<(CaseBy, Option<usize>)>,
    /// Still-running traces in the window's span, left out.
    pub(crate) left_out_running: usize,
    /// Running traces counted as failed.
    pub(crate) stale_failed: usize,
    /// Finished traces in the time bounds that belong to no run.
    pub(crate) ungrouped: usize,
    /// Rows that could not be used, and why.
    pub(crate) issues: Vec<RowIssue>,
    /// How many of them are rows of `traces`.
    pub(crate) head_issues: usize,
    /// The flaky cases left out, when asked for.
    pub(crate) left_out_flaky: Option<LeftOutFlaky>,
}

/// Which pooled members to keep, chosen from their heads alone (the facts
/// are read after it).
pub(crate) type Select<'a> = dyn FnMut(&Pooled) -> Vec<bool> + 'a;

/// How a window's members make runs.
pub(crate) enum Runs {
    /// Each member is its own run (run i is member i), keyed by its trace
    /// id: nothing to index or copy.
    PerTrace,
    /// Members pooled by a key.
    Keyed {
        /// Each member's run, 0 the oldest of the window.
        run_of: Vec<usize>,
        /// The runs' keys, oldest first.
        keys: Vec<String>,
    },
}

impl Pooled {
    /// Runs in the window.
    pub(crate) fn runs(&self) -> usize {
        match &self.runs {
            Runs::PerTrace => self.members.len(),
            Runs::Keyed { keys, .. } => keys.len(),
        }
    }

    /// Keeps the members `keep` keeps (and their facts); runs left without
    /// a member are dropped and the rest renumbered in order.
    pub(crate) fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        let kept: Vec<bool> = (0..self.members.len()).map(keep).collect();
        retain_kept(&mut self.members, &kept);
        retain_kept(&mut self.facts, &kept);
        if let Runs::Keyed { run_of, keys } = &mut self.runs {
            retain_kept(run_of, &kept);
            // Runs keep their order: a run's new index is the number of
            // runs before it that still have a member.
            let mut present = vec![false; keys.len()];
            for &run in run_of.iter() {
                present[run] = true;
            }
            let mut new_index = vec![0; keys.len()];
            let mut next = 0;
            for (run, index) in new_index.iter_mut().enumerate() {
                *index = next;
                next += usize::from(present[run]);
            }
            for run in run_of.iter_mut() {
                *run = new_index[*run];
            }
            retain_kept(keys, &present);
        }
    }

    /// `metric` over the traces `traces` (indices into `members`), as a
    /// run of them would have it.
    pub(crate) fn value_of(&self, metric: &Metric, traces: &[usize]) -> Option<f64> {
        measure(
            metric,
            traces,
            &self.facts,
            &self.members,
            &self.score_names,
        )
        .value
    }

    /// Where the config key `key`'s values are among the heads', if it
    /// was read.
    pub(crate) fn config_slot(&self, key: &str) -> Option<usize> {
        self.config_keys.iter().position(|k| k == key)
    }

    /// Member `i`'s run, 0 the oldest of the window.
    pub(crate) fn run_of(&self, i: usize) -> usize {
        match &self.runs {
            Runs::PerTrace => i,
            Runs::Keyed { run_of, .. } => run_of[i],
        }
    }

    /// Member `i`'s case, when cases were asked for: its mode and trimmed
    /// input, or its value of the case's config key; `None` for a trace
    /// without that key (or when no case was asked for).
    pub(crate) fn case_of(&self, i: usize) -> Option<(&str, &str)> {
        let head = &self.members[i];
        match self.cases.as_ref()? {
            (CaseBy::Input, _) => Some((head.mode(), head.input())),
            (CaseBy::Config(_), slot) => Some(("", head.config.get((*slot)?)?.as_deref()?)),
        }
    }

    /// A run's key: a trace id, `2026-11-27`, a git sha.
    pub(crate) fn run_key(&self, run: usize) -> &str {
        match &self.runs {
            Runs::PerTrace => self.members.get(run).map_or("", |t| t.trace_id.as_str()),
            Runs::Keyed { keys, .. } => keys.get(run).map_or("", String::as_str),
        }
    }

    /// The statistics of `metric` over every run (the total, unsegmented),
    /// across all decisions (a case comparison's split and the flaky cases
    /// are found by it), without Holm's correction (a family of one
    /// changes nothing).
    pub(crate) fn total_statistics(&self, metric: &Metric, options: &VerdictOptions) -> Statistics {
        let runs = self.runs_where(|_| true);
        Inputs {
            pooled: self,
            options,
            within_cases: false,
        }
        .assess(metric, &runs)
        .0
    }

    /// Each run's traces (indices into `members`), runs in order, for the
    /// traces `keep` keeps: one sort, no allocation per run.
    fn runs_where(&self, keep: impl Fn(usize) -> bool) -> RunTraces {
        let run_of = match &self.runs {
            // No pairs to sort.
            Runs::PerTrace => {
                return RunTraces {
                    each: true,
                    traces: (0..self.members.len()).filter(|&i| keep(i)).collect(),
                    ..RunTraces::default()
                }
            }
            Runs::Keyed { run_of, .. } => run_of,
        };
        let mut pairs: Vec<(usize, usize)> = (0..self.members.len())
            .filter(|&i| keep(i))
            .map(|i| (run_of[i], i))
            .collect();
        // Members are in time order, and so (mostly) are their runs.
        if !pairs.is_sorted() {
            pairs.sort_unstable();
        }
        let mut runs = RunTraces {
            traces: Vec::with_capacity(pairs.len()),
            ..RunTraces::default()
        };
        for (run, i) in pairs {
            if runs.runs.last() != Some(&run) {
                runs.runs.push(run);
                runs.starts.push(runs.traces.len());
            }
            runs.traces.push(i);
        }
        runs
    }
}

/// Runs and their traces, flat: run `runs[k]` has the traces
/// `traces[starts[k]..starts[k + 1]]`; or, when `each`, run `traces[k]` has
/// that one trace (a million runs of one trace need no index of runs).
#[derive(Debug, Clone, Default)]
pub(crate) struct RunTraces {
    each: bool,
    runs: Vec<usize>,
    starts: Vec<usize>,
    traces: Vec<usize>,
}

impl RunTraces {
    /// How many runs.
    pub(crate) fn len(&self) -> usize {
        if self.each {
            self.traces.len()
        } else {
            self.runs.len()
        }
    }

    /// The `k`th run and its traces.
    pub(crate) fn get(&self, k: usize) -> Option<(usize, &[usize])> {
        if self.each {
            let one = self.traces.get(k..=k)?;
            return Some((one[0], one));
        }
        let start = *self.starts.get(k)?;
        let end = self.starts.get(k + 1).copied().unwrap_or(self.traces.len());
        Some((self.runs[k], &self.traces[start..end]))
    }

    /// (run, its traces) in run order.
    fn iter(&self) -> impl Iterator<Item = (usize, &[usize])> + '_ {
        (0..self.len()).filter_map(|k| self.get(k))
    }
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
        let pooled = self.pool()?;
        self.judge(pooled)
    }

    /// Reads the window's traces and their facts, pooled into runs: the
    /// heads (one pass), then the facts of the window's traces only.
    pub(crate) fn pool(&self) -> Result<Pooled, TrendError> {
        self.pool_with(&[], None)
    }

    /// [`Self::pool`], reading `extra_keys` of the traces' configs as well
    /// (a comparison's selectors; a key no trace has is an error here too),
    /// and keeping only the members `select` keeps, if given: it sees the
    /// pooled heads before any facts are read, so the facts of traces it
    /// leaves out are never read.
    pub(crate) fn pool_with(
        &self,
        extra_keys: &[String],
        select: Option<&mut Select<'_>>,
    ) -> Result<Pooled, TrendError> {
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

        // Leaving flaky cases out needs cases: by input unless asked.
        let case_by = match (&options.case_by, options.exclude_flaky) {
            (None, true) => Some(CaseBy::Input),
            (by, _) => by.clone(),
        };
        // Config keys to read: the grouping's, the segmentation's, the
        // cases'.
        let mut keys: Vec<String> = Vec::new();
        for key in [
            options.group_by.config_key(),
            options.segment_by.as_ref().and_then(SegmentBy::config_key),
            case_by.as_ref().and_then(CaseBy::config_key),
        ]
        .into_iter()
        .flatten()
        .chain(extra_keys.iter().map(String::as_str))
        {
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
        let group_slot = options
            .group_by
            .config_key()
            .and_then(|key| keys.iter().position(|k| k == key));

        // A window of per-trace runs needs only the newest heads, and one
        // more says whether the window cut any (see NewestHeads). Not when
        // config keys are read: a key is known by any trace having it.
        let newest = match (&options.group_by, options.window) {
            (GroupBy::Trace, Window::Last(n)) if keys.is_empty() => Some(NewestHeads {
                count: n.saturating_add(1),
                since: options.since,
                until: options.until,
            }),
            _ => None,
        };
        self.stage(Stage::ReadingTraces);
        let scan = self.store.trace_heads(&HeadsQuery {
            // Cases are judged per model too (a flaky case's configuration).
            labels: options.segment_by.is_some() || case_by.is_some(),
            inputs: case_by == Some(CaseBy::Input),
            config_keys: &keys,
            newest,
        })?;
        let issues = scan.issues;
        let head_issues = issues.len();
        // Filtered, ordered and windowed in place: a million traces are
        // never held twice.
        let mut members: Vec<TraceHead> = scan.rows;
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
        let in_range = |t: Timestamp| {
            options.since.is_none_or(|since| t >= since)
                && options.until.is_none_or(|until| t < until)
        };
        let mut running: Vec<Timestamp> = Vec::new();
        let mut stale_failed = 0;
        members.retain_mut(|head| {
            let at = head.created_at;
            if !in_range(at) {
                return false;
            }
            stale_failed += usize::from(Stale::fail(options.stale_before, head));
            if !head.status.is_finished() {
                running.push(at);
                return false;
            }
            true
        });
        let mut cut = false;
        if let (GroupBy::Trace, Window::Last(n)) = (&options.group_by, options.window) {
            // A run is a trace: the newest `n` in linear time, and only
            // they are sorted.
            let start = members.len().saturating_sub(n);
            if start > 0 {
                members.select_nth_unstable_by_key(start, TraceHead::age);
                members.drain(..start);
                cut = true;
            }
        }
        members.sort_unstable_by_key(TraceHead::age);

        let (runs, ungrouped) = if matches!(options.group_by, GroupBy::Trace) {
            // Each trace is its own run (ids are unique), and the window is
            // taken already.
            (Runs::PerTrace, 0)
        } else {
            let (run_of, keys, ungrouped, first_run) =
                group(&mut members, &options.group_by, group_slot, options.window);
            cut |= first_run > 0;
            (Runs::Keyed { run_of, keys }, ungrouped)
        };
        // Running traces are left out of the window's span: all of them
        // when the window takes every run.
        let left_out_running = match members.first() {
            Some(oldest) if cut => running.iter().filter(|&&t| t >= oldest.created_at).count(),
            _ => running.len(),
        };

        let score_names: Vec<String> = options
            .metrics
            .iter()
            .filter_map(|m| match m {
                Metric::Score(name) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let cases = case_by.clone().map(|by| {
            let slot = by
                .config_key()
                .and_then(|key| keys.iter().position(|k| k == key));
            (by, slot)
        });
        let mut pooled = Pooled {
            members,
            facts: Vec::new(),
            runs,
            config_keys: keys,
            score_names,
            cases,
            left_out_running,
            stale_failed,
            ungrouped,
            issues,
            head_issues,
            left_out_flaky: None,
        };
        if let Some(select) = select {
            let keep = select(&pooled);
            pooled.retain(|i| keep.get(i).copied().unwrap_or(false));
        }
        let ids: Vec<&str> = pooled.members.iter().map(|t| t.trace_id.as_str()).collect();
        self.stage(Stage::ReadingFacts { traces: ids.len() });
        let read = self.store.trace_facts(&FactsQuery {
            traces: &ids,
            score_names: &pooled.score_names,
            usage: options.metrics.iter().any(Metric::needs_steps),
        })?;
        drop(ids);
        pooled.issues.extend(read.issues);
        pooled.facts = read.rows;
        let (members, facts, score_names) = (&pooled.members, &pooled.facts, &pooled.score_names);
        for (slot, name) in score_names.iter().enumerate() {
            if !facts.iter().any(|f| f.named_scores[slot].1 > 0) {
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
        let overflow = overflowed(&options.metrics, members, facts, score_names);
        pooled.issues.extend(overflow);
        if options.exclude_flaky {
            let (flaky, cases) = crate::cases::flaky_members(&pooled, options);
            let traces = flaky.iter().filter(|&&f| f).count();
            pooled.retain(|i| !flaky[i]);
            pooled.left_out_flaky = Some(LeftOutFlaky { cases, traces });
        }
        self.stage(Stage::Judging {
            runs: pooled.runs(),
        });
        Ok(pooled)
    }

    /// Splits the pooled runs into segments and judges every metric of
    /// every segment, held to Holm's correction together.
    fn judge(&self, mut pooled: Pooled) -> Result<SuiteReport, TrendError> {
        let options = &self.options;
        let skipped_rows = std::mem::take(&mut pooled.issues);
        let left_out_flaky = pooled.left_out_flaky.take();
        let members = &pooled.members;
        // Segments: the total (None), then each value in order.
        // Each trace's segment, as an index into `segments` (the total is
        // 0); labels are shared, so this is one lookup per trace.
        // Traces without the key: the segment "(no KEY)", one label for all.
        let segment_key = options.segment_by.as_ref().and_then(SegmentBy::config_key);
        let segment_slot = segment_key.and_then(|key| pooled.config_slot(key));
        let no_value: String = segment_key.map_or_else(String::new, no_value_label);
        fn label<'t>(
            segment_by: Option<&SegmentBy>,
            slot: Option<usize>,
            no_value: &'t str,
            trace: &'t TraceHead,
        ) -> Option<&'t str> {
            match segment_by {
                None => None,
                Some(SegmentBy::Model) => Some(trace.model()),
                Some(SegmentBy::Mode) => Some(trace.mode()),
                Some(SegmentBy::Provider) => Some(trace.provider()),
                Some(SegmentBy::Config(_)) => Some(
                    slot.and_then(|slot| trace.config.get(slot)?.as_deref())
                        .unwrap_or(no_value),
                ),
            }
        }
        let segment_of = |trace| label(options.segment_by.as_ref(), segment_slot, &no_value, trace);
        let mut segments: Vec<Option<String>> = vec![None];
        let mut trace_segment: Vec<usize> = vec![0; members.len()];
        if let Some(by) = &options.segment_by {
            let mut slot_of: FxHashMap<&str, usize> = FxHashMap::default();
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
        }

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
            runs: pooled.runs(),
            traces: pooled.facts.len(),
            left_out_running: pooled.left_out_running,
            stale: options.stale_before.map(|before| Stale {
                before,
                failed: pooled.stale_failed,
            }),
            left_out_ungrouped: pooled.ungrouped,
            left_out_flaky,
            skipped_rows,
            reports,
        })
    }
}

/// Pools `members` (in time order) into runs, in the order of their first
/// trace, and keeps the window's: the members of its runs, each one's run
/// (renumbered from 0), the runs' keys, the traces that belong to no run,
/// and how many runs were cut off.
fn group(
    members: &mut Vec<TraceHead>,
    group_by: &GroupBy,
    group_slot: Option<usize>,
    window: Window,
) -> (Vec<usize>, Vec<String>, usize, usize) {
    let mut run_of_key: FxHashMap<String, usize> = FxHashMap::default();
    let mut run_keys: Vec<String> = Vec::new();
    let mut run_of_trace: Vec<Option<usize>> = Vec::with_capacity(members.len());
    let mut ungrouped = 0;
    for trace in members.iter() {
        let config = group_slot.and_then(|slot| trace.config.get(slot)?.as_deref());
        let run =
            group_by
                .key(&trace.trace_id, trace.created_at, config)
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
    let first_run = match window {
        Window::Last(n) => run_keys.len().saturating_sub(n),
        Window::All => 0,
    };
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
    let run_keys = run_keys.split_off(first_run);
    (run_of, run_keys, ungrouped, first_run)
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
    /// The statistics of one metric over `runs` (a segment's runs, in
    /// order, with their traces), and each run's measurement.
    fn assess(&self, metric: &Metric, runs: &RunTraces) -> (Statistics, Vec<Measured>) {
        let Inputs {
            pooled,
            options,
            within_cases: stratify,
        } = *self;
        let Pooled {
            members,
            facts,
            score_names,
            ..
        } = pooled;
        let noun = metric.noun();
        let subject = Subject {
            noun: &noun,
            worse: metric.worse(),
        };
        let measured: Vec<Measured> = runs
            .iter()
            .map(|(_, traces)| measure(metric, traces, facts, members, score_names))
            .collect();
        let mut statistics = match metric.kind() {
            MetricKind::Rate => {
                let events: Vec<u64> = measured.iter().map(|m| m.events).collect();
                let trials: Vec<u64> = measured.iter().map(|m| m.trials).collect();
                let mut stats = assess_rate(&events, &trials, options, subject);
                if stratify && *metric == Metric::PassRate {
                    within_cases(pooled, runs, &mut stats, options);
                }
                stats
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
                stats
            }
        };
        statistics.label_runs(|i| {
            runs.get(i).map_or_else(
                || (String::new(), None),
                |(run, traces)| {
                    (
                        pooled.run_key(run).to_owned(),
                        Some(members[traces[0]].created_at),
                    )
                },
            )
        });
        (statistics, measured)
    }

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
        let (statistics, measured) = self.assess(metric, runs);
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

/// Adds the pass rate's trend within the same cases to `stats` (and rests
/// the verdict on it when the cases repeat enough): each case's passes and
/// decisions per run, the runs at their positions in the report.
fn within_cases(
    pooled: &Pooled,
    runs: &RunTraces,
    stats: &mut Statistics,
    options: &VerdictOptions,
) {
    let mut index: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    let mut strata: Vec<Vec<crate::stats::stratified::Cell>> = Vec::new();
    for (k, (_, traces)) in runs.iter().enumerate() {
        let x = k as f64;
        for &i in traces {
            let Some(key) = pooled.case_of(i) else {
                continue;
            };
            let next = strata.len();
            let h = *index.entry(key).or_insert(next);
            if h == next {
                strata.push(Vec::new());
            }
            let facts = &pooled.facts[i];
            let (passes, decisions) = (
                facts.outcomes(pooled.members[i].status)[0],
                facts.decisions(),
            );
            // Runs come in order: a case's cell of this run is its last.
            match strata[h].last_mut() {
                Some(cell) if cell.0 == x => {
                    cell.1 += passes;
                    cell.2 += decisions;
                }
                _ => strata[h].push((x, passes, decisions)),
            }
        }
    }
    super::verdict::judge_within_cases(stats, &strata, options);
}

/// Keeps the items of `items` whose `kept` entry is true, in order.
fn retain_kept<T>(items: &mut Vec<T>, kept: &[bool]) {
    let mut k = kept.iter();
    items.retain(|_| k.next().copied().unwrap_or(false));
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
            left_out_flaky: None,
            skipped_rows: report.skipped_rows.clone(),
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
