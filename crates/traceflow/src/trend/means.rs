//! Verdicts on metrics that are per-run means (scores, cost, latency,
//! tokens, revisions) rather than counts.
//!
//! Such values have no binomial variance to pool, and their spread is
//! unknown and often heavy-tailed (one slow provider call dominates a
//! latency mean). The trend is judged by Mann–Kendall on the per-run means,
//! which assumes nothing of their distribution, with Sen's slope for its
//! size (the statistics doc's method for continuous metrics).

use super::metric::Worse;
use super::verdict::{p_text, Insufficient, Statistics, Subject, Verdict, VerdictOptions};
use super::Method;
use crate::stats::{mann_kendall, ols_test};
use crate::text::{count, significant};

/// Fewest runs with a value judged. Mann–Kendall on 10 runs reaches
/// one-sided p ≈ 1.5e-4 for a perfectly monotone series, so α = 0.01 can be
/// met with room; fewer runs could only ever call a trend "stable".
pub const MIN_RUNS_MEANS: usize = 10;

/// Judges a per-run mean, oldest first; `None` for runs without a value
/// (no steps, no scores), which are left out of the series.
///
/// A regression when Mann–Kendall's one-sided p toward worse is below the
/// level and Sen's slope across the judged runs, relative to the median of
/// the per-run values, is at least `min_drop` (0.05: a 5% rise in cost). An
/// improvement likewise the other way. Fewer than [`MIN_RUNS_MEANS`] runs
/// with a value is `insufficient_data`. With `repeated.evaluations` above 1
/// the level is Bonferroni's α/N (no simulation exists for this test).
pub fn assess_means(
    values: &[Option<f64>],
    observations: u64,
    options: &VerdictOptions,
    subject: Subject<'_>,
) -> Statistics {
    let (xs, ys): (Vec<f64>, Vec<f64>) = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i as f64, v)))
        .unzip();
    let evaluations = options.repeated.evaluations.max(1);
    let level = options.alpha / evaluations as f64;
    let mut stats = Statistics {
        method: options.method,
        verdict: Verdict::Stable,
        alpha: options.alpha,
        evaluations,
        level,
        min_drop: options.min_drop,
        min_detectable_drop: None,
        runs: ys.len(),
        decisions: observations,
        pass_rate: None,
        p_worse: None,
        insufficient: None,
        cochran_armitage: None,
        mann_kendall: None,
        ols: ols_test(&xs, &ys).ok(),
        change_point: None,
        change_points: Vec::new(),
        summary: String::new(),
        notes: vec!["a metric of means: Mann–Kendall and Sen's slope judge it; no step test or minimum detectable change".to_owned()],
    };
    if evaluations > 1 {
        stats.notes.push(format!(
            "level for {evaluations} evaluations by Bonferroni (α/{evaluations})"
        ));
    }
    let mk = mann_kendall(&ys, options.confidence).ok();
    stats.mann_kendall = mk;
    stats.p_worse = mk.map(|mk| match subject.worse {
        Worse::Lower => mk.p_decline,
        Worse::Higher => 1.0 - mk.p_decline,
    });
    let median = median(&ys);
    // Sen's slope per judged run, across the judged runs.
    let change = mk.map(|mk| mk.sen_slope * (ys.len().saturating_sub(1)) as f64);
    let relative = match (change, median) {
        (Some(change), Some(median)) if median != 0.0 => Some(change / median.abs()),
        _ => None,
    };

    match options.method {
        Method::Ols => {
            let slope = stats.ols.map_or(0.0, |o| o.slope);
            let worse = match subject.worse {
                Worse::Lower => -slope,
                Worse::Higher => slope,
            };
            stats.verdict = if worse > options.threshold {
                Verdict::Regression
            } else if -worse > options.threshold {
                Verdict::Improvement
            } else {
                Verdict::Stable
            };
        }
        Method::Auto if ys.len() < MIN_RUNS_MEANS => {
            stats.verdict = Verdict::InsufficientData;
            stats.insufficient = Some(Insufficient {
                reason: format!(
                    "{} with a value (at least {MIN_RUNS_MEANS} are needed)",
                    count(ys.len(), "run")
                ),
                remedy: "widen the window (--window) or wait for more runs".to_owned(),
            });
        }
        Method::Auto => {
            let toward_worse = |r: f64| match subject.worse {
                Worse::Lower => -r,
                Worse::Higher => r,
            };
            let p_better = stats.p_worse.map(|p| 1.0 - p);
            stats.verdict = match (stats.p_worse, p_better, relative) {
                (Some(p), _, Some(r)) if p < level && toward_worse(r) >= options.min_drop => {
                    Verdict::Regression
                }
                (_, Some(p), Some(r)) if p < level && -toward_worse(r) >= options.min_drop => {
                    Verdict::Improvement
                }
                _ => Verdict::Stable,
            };
        }
    }
    stats.summary = summary(&stats, subject, change, relative, median);
    stats
}

/// The median of finite values; `None` for none.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn summary(
    stats: &Statistics,
    subject: Subject<'_>,
    change: Option<f64>,
    relative: Option<f64>,
    median: Option<f64>,
) -> String {
    let runs = count(stats.runs, "run");
    let noun = subject.noun;
    // Signed in the stable sentence ("moved"), unsigned after "rose"/"fell".
    let size = |signed: bool| match (relative, change, median) {
        (Some(r), Some(c), Some(m)) if signed => format!(
            "{:+.1}% ({}{} on a median of {}) across {runs}",
            100.0 * r,
            if c < 0.0 { "-" } else { "+" },
            significant(c.abs(), 3),
            significant(m, 3)
        ),
        (Some(r), Some(c), Some(m)) => format!(
            "by {:.1}% ({} on a median of {}) across {runs}",
            100.0 * r.abs(),
            significant(c.abs(), 3),
            significant(m, 3)
        ),
        _ => format!("across {runs}"),
    };
    let p = |p: Option<f64>| p.map_or_else(|| "undefined".to_owned(), p_text);
    let worsening = subject.worsening();
    let bettering = match subject.worse {
        Worse::Lower => "rise",
        Worse::Higher => "fall",
    };
    match stats.verdict {
        Verdict::InsufficientData => match &stats.insufficient {
            Some(i) => format!("Too little data to judge: {}. To fix: {}.", i.reason, i.remedy),
            None => "Too little data to judge.".to_owned(),
        },
        Verdict::Regression => format!(
            "The {noun} {} {} (Sen's slope); Mann–Kendall p({worsening}) = {}.",
            subject.moved(false),
            size(false),
            p(stats.p_worse)
        ),
        Verdict::Improvement => format!(
            "The {noun} {} {} (Sen's slope); Mann–Kendall p({bettering}) = {}.",
            subject.moved(true),
            size(false),
            p(stats.p_worse.map(|p| 1.0 - p))
        ),
        Verdict::Stable => format!(
            "No {worsening} that matters: the {noun} moved {} (Sen's slope), Mann–Kendall p({worsening}) = {}.",
            size(true),
            p(stats.p_worse)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COST: Subject<'static> = Subject {
        noun: "cost per trace",
        worse: Worse::Higher,
    };

    fn judge(values: &[f64]) -> Statistics {
        let values: Vec<Option<f64>> = values.iter().map(|&v| Some(v)).collect();
        assess_means(&values, 100, &VerdictOptions::default(), COST)
    }

    #[test]
    fn a_steady_rise_in_cost_is_a_regression_and_a_fall_an_improvement() {
        let rising: Vec<f64> = (0..20).map(|i| 0.010 + 0.0005 * i as f64).collect();
        let stats = judge(&rising);
        assert_eq!(stats.verdict, Verdict::Regression, "{}", stats.summary);
        assert!(stats.summary.starts_with("The cost per trace rose by "));
        // Sen's slope 0.0005 × 19 runs on a median of 0.01475.
        let mk = stats.mann_kendall.unwrap();
        assert!((mk.sen_slope - 0.0005).abs() < 1e-12);
        let falling: Vec<f64> = rising.iter().rev().copied().collect();
        assert_eq!(judge(&falling).verdict, Verdict::Improvement);
    }

    #[test]
    fn a_tiny_significant_move_is_stable_and_few_runs_are_insufficient() {
        // Monotone, so p is tiny, but 1.9e-4 relative across the window.
        let creeping: Vec<f64> = (0..20).map(|i| 1.0 + 1e-5 * i as f64).collect();
        assert_eq!(judge(&creeping).verdict, Verdict::Stable);
        let stats = judge(&[1.0, 2.0, 3.0]);
        assert_eq!(stats.verdict, Verdict::InsufficientData);
        assert!(stats.insufficient.unwrap().reason.starts_with("3 runs"));
    }

    #[test]
    fn runs_without_a_value_are_left_out() {
        let mut values: Vec<Option<f64>> = (0..12).map(|i| Some(i as f64)).collect();
        values.insert(3, None);
        values.push(Some(f64::NAN));
        let stats = assess_means(&values, 12, &VerdictOptions::default(), COST);
        assert_eq!(stats.runs, 12);
        assert_eq!(stats.mann_kendall.unwrap().s, 66);
    }
}
