//! A run's measurement of a metric from its traces' facts, the fitted line
//! drawn through the runs, and the traces whose sums overflowed.

use super::analyzer::RunValue;
use super::{Metric, Statistics};
use crate::model::EvalDecision;
use crate::stats::sum::pooled_mean;
use crate::stats::Spread;
use crate::store::facts::decision_slot;
use crate::store::{Locator, RowIssue, TraceFacts, TraceHead};

/// The traces whose sum over their steps (usage) or decisions (scores) of
/// an asked-for metric is past the largest float (two steps of 1e308 ms):
/// left out of that metric, each reported as an issue of its trace's row.
pub(super) fn overflowed(
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
            Metric::Score(name) => score_names.iter().position(|n| n == name),
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

/// A run's measurement: events of trials for rates, a mean of `trials`
/// observations for means.
pub(super) struct Measured {
    pub(super) events: u64,
    pub(super) trials: u64,
    pub(super) value: Option<f64>,
}

pub(super) fn measure(
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
        Metric::AvgScore => mean(&mut traces.iter().map(|&i| {
            let s = facts[i].scores;
            (s.sum, u64::from(s.finite))
        })),
        Metric::Score(name) => {
            let slot = score_names.iter().position(|n| n == name).unwrap_or(0);
            mean(&mut traces.iter().filter_map(|&i| {
                facts[i]
                    .named_scores
                    .get(slot)
                    .map(|&(sum, n)| (sum, u64::from(n)))
            }))
        }
        Metric::Cost | Metric::Latency | Metric::Tokens => {
            mean(&mut traces.iter().filter_map(|&i| {
                facts[i].usage.as_deref().map(|usage| {
                    let v = match metric {
                        Metric::Cost => usage.cost_usd,
                        Metric::Latency => usage.latency_ms,
                        _ => usage.tokens,
                    };
                    (v, 1)
                })
            }))
        }
        Metric::Revisions => mean(
            &mut traces
                .iter()
                .filter(|&&i| facts[i].decided())
                .map(|&i| (f64::from(facts[i].counts[1]), 1)),
        ),
    }
}

/// Cochran–Armitage's line p̄ + b(t − t̄) with its band: the half-width
/// q·SE(b)·√(Sₜₜ/N + (t − t̄)²) covers the level's uncertainty as well as
/// the slope's (SE(level)² = SE(b)²·Sₜₜ/N). q·SE(b) is half the slope's
/// interval, so the band uses the test's own variance, dispersion and
/// reference distribution.
pub(super) fn fit_rate(summaries: &mut [RunValue], stats: &Statistics, trials: &[u64]) {
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
pub(super) fn fit_mean(summaries: &mut [RunValue], stats: &Statistics) {
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
