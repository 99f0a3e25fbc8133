//! A metric's statistics over the window's runs: each run measured from
//! its traces' facts, then judged by the verdict's rules.

use rustc_hash::FxHashMap;

use super::{Pooled, RunTraces};
use crate::metric::measure::Measured;
use crate::metric::{Metric, MetricKind};
use crate::stats::stratified::Cell;
use crate::text::count;
use crate::verdict::{
    assess_rate, judge_within_cases, means::assess_means, Statistics, Subject, VerdictOptions,
};

impl Pooled {
    /// The statistics of `metric` over every run (the total, unsegmented),
    /// across all decisions (a case comparison's split and the flaky cases
    /// are found by it), without Holm's correction (a family of one
    /// changes nothing).
    pub(crate) fn total_statistics(&self, metric: &Metric, options: &VerdictOptions) -> Statistics {
        let runs = self.runs_where(|_| true);
        self.assess(metric, &runs, options, false).0
    }

    /// The statistics of one metric over `runs` (a segment's runs, in
    /// order, with their traces), and each run's measurement; with
    /// `within_cases`, the pass rate is judged within the same cases too.
    pub(crate) fn assess(
        &self,
        metric: &Metric,
        runs: &RunTraces,
        options: &VerdictOptions,
        within_cases: bool,
    ) -> (Statistics, Vec<Measured>) {
        let noun = metric.noun();
        let subject = Subject {
            noun: &noun,
            worse: metric.worse(),
        };
        let measured: Vec<Measured> = runs
            .iter()
            .map(|(_, traces)| self.measure(metric, traces))
            .collect();
        let mut statistics = match metric.kind() {
            MetricKind::Rate => {
                let events: Vec<u64> = measured.iter().map(|m| m.events).collect();
                let trials: Vec<u64> = measured.iter().map(|m| m.trials).collect();
                let mut stats = assess_rate(&events, &trials, options, subject);
                if within_cases && metric.is_pass_rate() {
                    let strata = self.case_strata(metric, runs);
                    judge_within_cases(&mut stats, &strata, options);
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
                        self.run_key(run).to_owned(),
                        Some(self.members[traces[0]].created_at),
                    )
                },
            )
        });
        (statistics, measured)
    }

    /// Each case's passes and judgements per run (the runs at their
    /// positions among `runs`): the strata of a pass rate's trend within
    /// the same cases.
    fn case_strata(&self, metric: &Metric, runs: &RunTraces) -> Vec<Vec<Cell>> {
        let mut index: FxHashMap<(&str, &str), usize> = FxHashMap::default();
        let mut strata: Vec<Vec<Cell>> = Vec::new();
        for (k, (_, traces)) in runs.iter().enumerate() {
            let x = k as f64;
            for &i in traces {
                let Some(key) = self.case_of(i) else {
                    continue;
                };
                let Measured {
                    events: passes,
                    trials: decisions,
                    ..
                } = self.measure(metric, &[i]);
                if decisions == 0 {
                    // Not judged by this evaluation: no cell.
                    continue;
                }
                let next = strata.len();
                let h = *index.entry(key).or_insert(next);
                if h == next {
                    strata.push(Vec::new());
                }
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
        strata
    }
}
