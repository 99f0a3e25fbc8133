//! A run's measurement of a metric from its traces' facts, and the traces
//! whose sums overflowed.

use super::Metric;
use crate::model::EvalDecision;
use crate::stats::sum::pooled_mean;
use crate::store::facts::decision_slot;
use crate::store::{Locator, RowIssue, TraceFacts, TraceHead};

/// The traces whose sum over their steps (usage) or decisions (scores) of
/// an asked-for metric is past the largest float (two steps of 1e308 ms):
/// left out of that metric, each reported as an issue of its trace's row.
pub(crate) fn overflowed(
    metrics: &[Metric],
    members: &[TraceHead],
    facts: &[TraceFacts],
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
            Metric::Score(_) => Some(slot_of(metric, score_names)),
            _ => None,
        };
        for (trace, f) in members.iter().zip(facts) {
            let sum = match (summed, slot) {
                (3, Some(slot)) => f.named_scores.get(slot).map(|&(sum, _)| sum),
                (3, None) => Some(f.scores.sum),
                _ => f.usage.as_deref().map(|usage| match summed {
                    0 => usage.tokens,
                    1 => usage.latency_ms,
                    _ => usage.cost_usd,
                }),
            };
            if sum.is_some_and(|s| !s.is_finite()) {
                issues.push(RowIssue {
                    at: Locator::Row {
                        table: "traces",
                        rowid: trace.rowid,
                    },
                    trace_id: Some(trace.trace_id.clone()),
                    reason: format!(
                        "its {column} sum past the largest float; the trace is left out of {metric}"
                    ),
                });
            }
        }
    }
    issues
}

/// Where a metric's scores-object key is among the asked-for score names
/// (the window asks for every metric's key).
fn slot_of(metric: &Metric, score_names: &[String]) -> usize {
    score_names
        .iter()
        .position(|n| metric.reads_score(n))
        .unwrap_or(0)
}

/// A run's measurement: events of trials for rates, a mean of `trials`
/// observations for means.
pub(crate) struct Measured {
    pub(crate) events: u64,
    pub(crate) trials: u64,
    pub(crate) value: Option<f64>,
}

/// The mean of a run's (sum, observations) items: walked, not collected
/// (a report's runs are measured each time they are read). A trace whose
/// sum overflowed is left out (and reported: `overflowed`); the run's mean
/// cannot overflow.
fn mean(values: impl Iterator<Item = (f64, u64)> + Clone) -> Measured {
    let finite = values.filter(|(v, _)| v.is_finite());
    Measured {
        events: 0,
        trials: finite.clone().map(|(_, k)| k).sum(),
        value: pooled_mean(finite),
    }
}

/// `metric` over the traces `traces` (indices into `members` and
/// `facts`), as a run of them has it.
pub(crate) fn measure(
    metric: &Metric,
    traces: &[usize],
    facts: &[TraceFacts],
    members: &[TraceHead],
    score_names: &[String],
) -> Measured {
    let rate = |events: u64, trials: u64| Measured {
        events,
        trials,
        value: (trials > 0).then(|| events as f64 / trials as f64),
    };
    // A trace without recorded decisions: its status is one decision.
    let counts = |i: usize| facts[i].outcomes(members[i].status);
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
                .filter(|&&i| facts[i].final_pass(members[i].status))
                .count() as u64;
            rate(passed, traces.len() as u64)
        }
        Metric::AvgScore => mean(traces.iter().map(|&i| {
            let s = facts[i].scores;
            (s.sum, u64::from(s.finite))
        })),
        Metric::Score(_) => {
            let slot = slot_of(metric, score_names);
            mean(traces.iter().filter_map(|&i| {
                facts[i]
                    .named_scores
                    .get(slot)
                    .map(|&(sum, n)| (sum, u64::from(n)))
            }))
        }
        Metric::EvaluationPassRate(_) => {
            // Each of a trace's indicators is one judgement: 1 passed, 0
            // failed (a value between counts as its rounding, within the
            // trace's judgements).
            let slot = slot_of(metric, score_names);
            let (events, trials) = traces
                .iter()
                .filter_map(|&i| facts[i].named_scores.get(slot))
                .fold((0, 0), |(events, trials), &(sum, n)| {
                    let passed = if sum.is_finite() {
                        sum.round().clamp(0.0, f64::from(n)) as u64
                    } else {
                        0
                    };
                    (events + passed, trials + u64::from(n))
                });
            rate(events, trials)
        }
        Metric::Cost | Metric::Latency | Metric::Tokens => mean(traces.iter().filter_map(|&i| {
            facts[i].usage.as_deref().map(|usage| {
                let v = match metric {
                    Metric::Cost => usage.cost_usd,
                    Metric::Latency => usage.latency_ms,
                    _ => usage.tokens,
                };
                (v, 1)
            })
        })),
        Metric::Revisions => mean(
            traces
                .iter()
                .filter(|&&i| facts[i].decided())
                .map(|&i| (f64::from(facts[i].counts[1]), 1)),
        ),
    }
}
