//! A run's measurement of a metric from its traces' facts, the fitted line
//! drawn through the runs, and the traces whose sums overflowed.

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
        Metric::Score(name) => {
            let slot = score_names.iter().position(|n| n == name).unwrap_or(0);
            mean(traces.iter().filter_map(|&i| {
                facts[i]
                    .named_scores
                    .get(slot)
                    .map(|&(sum, n)| (sum, u64::from(n)))
            }))
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

/// The fitted line drawn through a report's runs, kept as its
/// coefficients: a report of a million runs holds these numbers, not a
/// million points, and [`Line::at`] gives each run's point when it is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Line {
    /// No line: no trend test, or no run with a value.
    None,
    /// Cochran–Armitage's line p̄ + b(t − t̄) with its band: the half-width
    /// q·SE(b)·√(Sₜₜ/N + (t − t̄)²) covers the level's uncertainty as well
    /// as the slope's (SE(level)² = SE(b)²·Sₜₜ/N). q·SE(b) is half the
    /// slope's interval, so the band uses the test's own variance,
    /// dispersion and reference distribution.
    Rate {
        rate: f64,
        slope: f64,
        half_slope: f64,
        t_bar: f64,
        /// Sₜₜ/N.
        level: f64,
    },
    /// Sen's line (Sen's slope, the median intercept) with the range of
    /// the lines whose slopes lie in Sen's 95% interval, pivoting about the
    /// middle run. That range is the slope's uncertainty only: unlike a
    /// rate's band, it has no width at the middle run (the HTML labels it
    /// so). Its abscissa is a run's place among the runs with a finite
    /// value, the series Mann–Kendall saw.
    Mean {
        intercept: f64,
        slope: f64,
        slope_ci: (f64, f64),
        centre: f64,
    },
}

impl Line {
    /// A rate's line, from the runs' trials.
    pub(super) fn rate(stats: &Statistics, trials: &[u64]) -> Line {
        let (Some(ca), Some(rate)) = (stats.cochran_armitage, stats.pass_rate) else {
            return Line::None;
        };
        let spread = Spread::by_index(trials);
        if spread.total <= 0.0 {
            return Line::None;
        }
        Line::Rate {
            rate,
            slope: ca.slope,
            half_slope: (ca.slope_ci[1] - ca.slope_ci[0]) / 2.0,
            t_bar: spread.t_bar,
            level: spread.s_tt / spread.total,
        }
    }

    /// A mean's line, from the runs' values.
    pub(super) fn mean(stats: &Statistics, values: &[Option<f64>]) -> Line {
        let Some(mk) = stats.mann_kendall else {
            return Line::None;
        };
        // Sen's intercept: the median of yₖ − b·k over the judged runs, k
        // their position in the series Mann–Kendall saw.
        let mut residuals: Vec<f64> = values
            .iter()
            .filter_map(|v| v.filter(|v| v.is_finite()))
            .enumerate()
            .map(|(k, y)| y - mk.sen_slope * k as f64)
            .collect();
        let points = residuals.len();
        let Some(intercept) = crate::stats::median(&mut residuals) else {
            return Line::None;
        };
        Line::Mean {
            intercept,
            slope: mk.sen_slope,
            slope_ci: mk.sen_ci,
            centre: (points - 1) as f64 / 2.0,
        }
    }

    /// The fitted value and band at run `i`, whose value is `value` and
    /// before which `finite` runs have a finite value.
    pub(crate) fn at(
        &self,
        i: usize,
        finite: usize,
        value: Option<f64>,
    ) -> (Option<f64>, Option<[f64; 2]>) {
        match *self {
            Line::None => (None, None),
            Line::Rate {
                rate,
                slope,
                half_slope,
                t_bar,
                level,
            } => {
                let dt = i as f64 - t_bar;
                let fitted = (rate + slope * dt).clamp(0.0, 1.0);
                let half = half_slope * (level + dt * dt).sqrt();
                (
                    Some(fitted),
                    Some([(fitted - half).max(0.0), (fitted + half).min(1.0)]),
                )
            }
            Line::Mean {
                intercept,
                slope,
                slope_ci,
                centre,
            } => {
                if !value.is_some_and(f64::is_finite) {
                    return (None, None);
                }
                let k = finite as f64;
                let at_centre = intercept + slope * centre;
                let dk = k - centre;
                let (a, b) = (at_centre + slope_ci.0 * dk, at_centre + slope_ci.1 * dk);
                (Some(intercept + slope * k), Some([a.min(b), a.max(b)]))
            }
        }
    }

    /// Whether a run's point depends on the runs before it (a mean's
    /// abscissa counts them).
    pub(crate) fn counts_runs(&self) -> bool {
        matches!(self, Line::Mean { .. })
    }
}
