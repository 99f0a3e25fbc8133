//! Verdicts on metrics that are per-run means (scores, cost, latency,
//! tokens, revisions) rather than counts.
//!
//! Such values have no binomial variance to pool, and their spread is
//! unknown and often heavy-tailed (one slow provider call dominates a
//! latency mean). The trend is judged by Mann–Kendall on the per-run means,
//! which assumes nothing of their distribution, with Sen's slope for its
//! size (the statistics doc's method for continuous metrics).

use super::Method;
use super::{
    p_text, ChangeKind, Evidence, Insufficient, MeanEvidence, MeanShift, Remedy, Shortfall,
    StatedChange, Statistics, Subject, Verdict, VerdictOptions, MDE_FACTOR,
};
use crate::metric::Worse;
use crate::stats::{mann_kendall, ols_test, pettitt};
use crate::text::{count, significant};

/// Fewest runs with a value judged. Mann–Kendall on 10 runs reaches
/// one-sided p ≈ 4e-5 for a perfectly monotone series, so α = 0.01 can be
/// met with room even under a few evaluations' correction.
pub const MIN_RUNS_MEANS: usize = 10;

/// Judges a per-run mean, oldest first; `None` for runs without a value
/// (no steps, no scores), which are left out of the series.
///
/// - A regression when Mann–Kendall's one-sided p toward worse is below the
///   level and Sen's slope across the judged runs, relative to the level
///   (the median of the per-run values, or their mean where the median is
///   0), is at least `min_drop` (0.05: a 5% rise in cost). Where ties make
///   Sen's slope 0, the least-squares slope gives the size. An improvement
///   likewise the other way.
/// - Stable only when Sen's 95% interval rules out a change toward worse
///   of more than [`MDE_FACTOR`] × `min_drop`; otherwise, like fewer than
///   [`MIN_RUNS_MEANS`] runs with a value, `insufficient_data`.
/// - With `repeated.evaluations` above 1 the level is Bonferroni's α/N (no
///   simulation exists for this test).
/// - `ols`: the proposal's rule, its threshold read per run relative to
///   the level.
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
    let evidence = MeanEvidence {
        mann_kendall: mann_kendall(&ys, options.confidence).ok(),
        ols: ols_test(&xs, &ys).ok(),
        shift: shift_toward_worse(&xs, &ys, subject.worse, level),
    };
    let p_worse = evidence.mann_kendall.map(|mk| match subject.worse {
        Worse::Lower => mk.p_decline,
        Worse::Higher => 1.0 - mk.p_decline,
    });
    let (base, base_name) = base_level(&ys);
    let trend = Trend::of(&evidence, &ys, base, subject.worse);
    let (verdict, insufficient) = judge(
        &evidence,
        p_worse,
        level,
        ys.len(),
        &trend,
        options,
        subject.worse,
    );
    // A shift that explains the runs at least as well as the line is the
    // change stated, as a rate's step is: a line through a shift
    // overstates it.
    let stepped = evidence
        .shift
        .clone()
        .filter(|s| shift_fits_better(&xs, &ys, s, evidence.ols.as_ref()));
    let mut notes = vec!["a metric of means: Mann–Kendall and Sen's slope judge it, Pettitt's test places its shift; no minimum detectable change".to_owned()];
    if evaluations > 1 {
        notes.push(format!(
            "level for {evaluations} evaluations by Bonferroni (α/{evaluations})"
        ));
    }
    let mut stats = Statistics {
        method: options.method,
        verdict,
        alpha: options.alpha,
        evaluations,
        level,
        min_drop: options.min_drop,
        min_detectable_drop: None,
        runs: ys.len(),
        decisions: observations,
        pass_rate: None,
        p_worse,
        insufficient,
        change: trend.stated_change(&evidence),
        evidence: Evidence::Mean(Box::new(evidence)),
        summary: String::new(),
        notes,
        within_cases: None,
    };
    let stated = match &stepped {
        Some(s) => {
            let split = xs.partition_point(|&x| (x as usize) < s.run_index);
            stats.change = Some(StatedChange {
                kind: ChangeKind::Step,
                change: s.change,
                ci: welch_ci(&ys[..split], &ys[split..]).unwrap_or([s.change, s.change]),
                before: Some(s.before),
                after: Some(s.after),
            });
            Stated {
                change: Some(s.change),
                relative: base.map(|m| s.change / m),
                base,
                base_name,
                method: "the shift's two levels",
                stepped: true,
            }
        }
        None => Stated {
            change: trend.change,
            relative: trend.relative,
            base,
            base_name,
            method: if trend.by_sen {
                "Sen's slope"
            } else {
                "least squares: Sen's slope is 0 through ties"
            },
            stepped: false,
        },
    };
    stats.summary = summary(&stats, subject, &stated);
    stats
}

/// The level changes are measured against, and its name: the median of
/// the runs' values, or their mean where the median is 0 (revisions per
/// trace, mostly none); `None` when both are 0.
fn base_level(ys: &[f64]) -> (Option<f64>, &'static str) {
    let median_base = median(ys).filter(|m| *m != 0.0);
    let base_name = if median_base.is_some() {
        "median"
    } else {
        "mean"
    };
    let base = median_base
        .or_else(|| mean(ys).filter(|m| *m != 0.0))
        .map(f64::abs);
    (base, base_name)
}

/// The trend across the judged runs.
struct Trend {
    /// The level changes are measured against ([`base_level`]).
    base: Option<f64>,
    /// Runs spanned, less one.
    span: f64,
    /// Whether Sen's slope measures the change (else the least-squares
    /// slope does, where ties make Sen's 0).
    by_sen: bool,
    /// The change across the window; `None` past the largest float.
    change: Option<f64>,
    /// The change relative to the level.
    relative: Option<f64>,
    /// How far toward worse the slope's interval reaches, relative.
    reach: Option<f64>,
}

impl Trend {
    fn of(evidence: &MeanEvidence, ys: &[f64], base: Option<f64>, worse: Worse) -> Trend {
        let mk = evidence.mann_kendall;
        let span = ys.len().saturating_sub(1) as f64;
        // Sen's slope, or the least-squares slope where ties make Sen's 0
        // (a metric that is mostly one value), so that a significant move
        // is not read as no move.
        let slope = mk.map(|mk| {
            if mk.sen_slope == 0.0 {
                evidence.ols.map_or(0.0, |o| o.slope)
            } else {
                mk.sen_slope
            }
        });
        let reach = mk.zip(base).and_then(|(mk, m)| {
            let (lo, hi) = mk.sen_ci;
            Some(toward(worse, across(lo, span, m)?).max(toward(worse, across(hi, span, m)?)))
        });
        Trend {
            base,
            span,
            by_sen: mk.is_some_and(|mk| mk.sen_slope != 0.0),
            change: slope.map(|b| b * span).filter(|c| c.is_finite()),
            relative: slope.zip(base).and_then(|(b, m)| across(b, span, m)),
            reach,
        }
    }

    /// The one change the report states, with the interval of the slope
    /// that made it.
    fn stated_change(&self, evidence: &MeanEvidence) -> Option<StatedChange> {
        let span = self.span;
        self.change.map(|change| {
            let ci = match (evidence.mann_kendall, evidence.ols) {
                (Some(mk), _) if self.by_sen => [mk.sen_ci.0 * span, mk.sen_ci.1 * span],
                (_, Some(ols)) => ols.stderr.map_or([change, change], |se| {
                    let z = 1.959_963_984_540_054 * se * span;
                    [change - z, change + z]
                }),
                _ => [change, change],
            };
            StatedChange {
                kind: ChangeKind::Trend,
                change,
                ci,
                before: None,
                after: None,
            }
        })
    }
}

/// A relative change toward worse (positive) or better (negative).
fn toward(worse: Worse, r: f64) -> f64 {
    match worse {
        Worse::Lower => -r,
        Worse::Higher => r,
    }
}

/// The verdict by the method's rule, and what is missing when there is
/// too little data.
fn judge(
    evidence: &MeanEvidence,
    p_worse: Option<f64>,
    level: f64,
    runs: usize,
    trend: &Trend,
    options: &VerdictOptions,
    worse: Worse,
) -> (Verdict, Option<Insufficient>) {
    let base = trend.base;
    let insufficient = |reason| {
        let why = Insufficient {
            reason,
            remedy: Remedy::LargerRuns,
        };
        (Verdict::InsufficientData, Some(why))
    };
    match options.method {
        Method::Ols if runs < 2 || base.is_none() => {
            (Verdict::InsufficientData, Some(super::ols_too_few(runs)))
        }
        Method::Ols => {
            // The proposal's rule, with its threshold per run read relative
            // to the level (a latency's slope in ms is not a rate's).
            let slope = evidence.ols.map_or(0.0, |o| o.slope);
            let worse = base.map_or(0.0, |m| toward(worse, slope / m));
            let verdict = if worse > options.threshold {
                Verdict::Regression
            } else if -worse > options.threshold {
                Verdict::Improvement
            } else {
                Verdict::Stable
            };
            (verdict, None)
        }
        Method::Auto if runs < MIN_RUNS_MEANS => {
            let why = Insufficient {
                reason: Shortfall::TooFewValues {
                    runs,
                    needed: MIN_RUNS_MEANS,
                },
                remedy: Remedy::MoreRuns,
            };
            (Verdict::InsufficientData, Some(why))
        }
        Method::Auto => {
            let p_better = p_worse.map(|p| 1.0 - p);
            let limit = MDE_FACTOR * options.min_drop;
            match (p_worse, p_better, trend.relative) {
                (Some(p), _, Some(r)) if p < level && toward(worse, r) >= options.min_drop => {
                    (Verdict::Regression, None)
                }
                (_, Some(p), Some(r)) if p < level && -toward(worse, r) >= options.min_drop => {
                    (Verdict::Improvement, None)
                }
                // Stable only if the data rules out a change of the size
                // the rate metrics must be able to see (3 × min-drop).
                _ => match (trend.reach, evidence.mann_kendall, base) {
                    (Some(reach), _, _) if reach <= limit => (Verdict::Stable, None),
                    (Some(reach), _, _) => {
                        insufficient(Shortfall::WideInterval { reach, runs, limit })
                    }
                    (None, _, None) => insufficient(Shortfall::AllZero),
                    (None, None, _) => insufficient(Shortfall::SlopeUndefined),
                    (None, Some(_), Some(_)) => insufficient(Shortfall::RelativeOverflow),
                },
            }
        }
    }
}

/// Whether the shift's two levels leave less squared error than the
/// least-squares line through the same runs.
fn shift_fits_better(
    xs: &[f64],
    ys: &[f64],
    shift: &MeanShift,
    line: Option<&crate::stats::OlsTest>,
) -> bool {
    let Some(line) = line else { return true };
    let mut levels = 0.0;
    let mut fitted = 0.0;
    for (&x, &y) in xs.iter().zip(ys) {
        let level = if (x as usize) < shift.run_index {
            shift.before
        } else {
            shift.after
        };
        levels += (y - level).powi(2);
        fitted += (y - line.intercept - line.slope * x).powi(2);
    }
    levels <= fitted
}

/// The 95% interval of mean(b) − mean(a) by Welch's normal approximation;
/// `None` with fewer than 2 values on a side.
fn welch_ci(a: &[f64], b: &[f64]) -> Option<[f64; 2]> {
    let moments = |v: &[f64]| -> Option<(f64, f64, f64)> {
        let n = v.len() as f64;
        (v.len() >= 2).then(|| {
            let m = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
            (m, var, n)
        })
    };
    let ((ma, va, na), (mb, vb, nb)) = (moments(a)?, moments(b)?);
    let half = 1.959_963_984_540_054 * (va / na + vb / nb).sqrt();
    let d = mb - ma;
    (half.is_finite() && d.is_finite()).then_some([d - half, d + half])
}

/// What a mean's sentence states: its change, relative to which baseline,
/// measured by which method.
struct Stated {
    change: Option<f64>,
    relative: Option<f64>,
    base: Option<f64>,
    base_name: &'static str,
    method: &'static str,
    /// The change is the shift's, stated as its levels.
    stepped: bool,
}

/// Pettitt's shift toward worse, if significant at `level`; `xs` are the
/// values' run indices.
fn shift_toward_worse(xs: &[f64], ys: &[f64], worse: Worse, level: f64) -> Option<MeanShift> {
    let test = pettitt(ys).ok()?;
    let shift = match worse {
        Worse::Lower => test.fall,
        Worse::Higher => test.rise,
    };
    if shift.p_value >= level || shift.k == 0.0 {
        return None;
    }
    // Levels as the report's value is, a mean of the runs: a median of a
    // metric that is mostly one value (scores of 1, no revisions) is that
    // value on both sides of any shift.
    let before = mean(&ys[..shift.index])?;
    let after = mean(&ys[shift.index..])?;
    // A shift from −1e308 to 1e308 has no size a float can hold.
    if !(after - before).is_finite() {
        return None;
    }
    Some(MeanShift {
        run_index: *xs.get(shift.index)? as usize,
        trace_id: String::new(),
        created_at: None,
        before,
        after,
        change: after - before,
        relative_change: (before != 0.0).then(|| after / before - 1.0),
        k: shift.k,
        p_value: shift.p_value,
    })
}

/// Two levels with the fewest significant digits (3 at the least) that
/// tell them apart: "0.9412 to 0.9388", not "0.941 to 0.939" twice over.
fn distinct(a: f64, b: f64) -> (String, String) {
    for digits in 3..=8 {
        let (x, y) = (significant(a, digits), significant(b, digits));
        if x != y || digits == 8 {
            return (x, y);
        }
    }
    (significant(a, 3), significant(b, 3))
}

/// slope × span / level, the change across the window relative to the
/// level; `None` where it is past the largest float. Computed as written
/// unless slope × span overflows (a slope near 1e308), then as
/// (slope / level) × span.
fn across(slope: f64, span: f64, level: f64) -> Option<f64> {
    let change = slope * span;
    let relative = if change.is_finite() {
        change / level
    } else {
        slope / level * span
    };
    relative.is_finite().then_some(relative)
}

/// The mean of values, without overflowing; `None` for none.
fn mean(values: &[f64]) -> Option<f64> {
    crate::stats::sum::mean(values)
}

/// The median of values, without reordering them.
fn median(values: &[f64]) -> Option<f64> {
    crate::stats::median(&mut values.to_vec())
}

fn summary(stats: &Statistics, subject: Subject<'_>, stated: &Stated) -> String {
    let runs = count(stats.runs, "run");
    let noun = subject.noun;
    let base_name = stated.base_name;
    // A shift names its test in its own words.
    let by = if stated.stepped {
        String::new()
    } else {
        format!(" ({})", stated.method)
    };
    // A shift: its levels, its run and its size against the baseline.
    let shifted = stats.evidence.shift().filter(|_| stated.stepped).map(|s| {
        let (before, after) = distinct(s.before, s.after);
        format!(
            "from {before} to {after} at run {} ({}{}, {:+.1}% of the runs' {base_name} of {}; Pettitt's test p = {})",
            s.run_index,
            if s.change < 0.0 { "-" } else { "+" },
            significant(s.change.abs(), 3),
            100.0 * stated.relative.unwrap_or(0.0),
            stated.base.map_or_else(|| "0".to_owned(), |m| significant(m, 3)),
            p_text(s.p_value)
        )
    });
    // Signed in the stable sentence ("moved"), unsigned after "rose"/"fell".
    let size = |signed: bool| match (stated.relative, stated.change, stated.base) {
        _ if shifted.is_some() => shifted.clone().unwrap_or_default(),
        (Some(r), Some(c), Some(m)) if signed => format!(
            "{:+.1}% ({}{} on the runs' {base_name} of {}) across {runs}",
            100.0 * r,
            if c < 0.0 { "-" } else { "+" },
            significant(c.abs(), 3),
            significant(m, 3)
        ),
        (Some(r), Some(c), Some(m)) => format!(
            "by {:.1}% ({} on the runs' {base_name} of {}) across {runs}",
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
        // Not significant after Holm: the move is described as found, and
        // the correction says why it is not a regression.
        Verdict::Regression | Verdict::NotSignificant => format!(
            "The {noun} {} {}{by}; Mann–Kendall p({worsening}) = {}.{}",
            subject.moved(false),
            size(false),
            p(stats.p_worse),
            stats.evidence.shift().filter(|_| !stated.stepped).map_or_else(String::new, |s| {
                let (before, after) = distinct(s.before, s.after);
                format!(
                    " Its mean shifted from {before} to {after} at run {} (Pettitt's test p = {}).",
                    s.run_index,
                    p_text(s.p_value)
                )
            })
        ),
        Verdict::Improvement => format!(
            "The {noun} {} {}{by}; Mann–Kendall p({bettering}) = {}.",
            subject.moved(true),
            size(false),
            p(stats.p_worse.map(|p| 1.0 - p))
        ),
        Verdict::Stable => format!(
            "No {worsening} that matters: the {noun} moved {}{by}, Mann–Kendall p({worsening}) = {}.",
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
    fn a_shift_in_a_metric_of_ties_states_its_levels_with_digits_that_differ() {
        // Scores of 1 until run 60, then two in five at 0.5: medians are 1
        // on both sides, and Sen's slope is 0 through the ties.
        let values: Vec<f64> = (0..120)
            .map(|i| if i < 60 || i % 5 > 1 { 1.0 } else { 0.5 })
            .collect();
        let values: Vec<Option<f64>> = values.into_iter().map(Some).collect();
        let subject = Subject {
            noun: "average score",
            worse: Worse::Lower,
        };
        let stats = assess_means(&values, 120, &VerdictOptions::default(), subject);
        let change = stats.change.unwrap();
        assert_eq!(
            change.kind,
            ChangeKind::Step,
            "{:?} {}",
            stats.evidence.shift(),
            stats.summary
        );
        assert_eq!(change.before, Some(1.0));
        assert!((change.after.unwrap() - 0.8).abs() < 1e-12, "{change:?}");
        assert!((change.change + 0.2).abs() < 1e-12);
        assert!(
            stats.summary.contains(
                "fell from 1.00 to 0.800 at run 60 (-0.200, -20.0% of the runs' median of 1.00"
            ),
            "{}",
            stats.summary
        );
    }

    #[test]
    fn a_gradual_rise_is_stated_by_the_slope_that_measured_it() {
        let rising: Vec<f64> = (0..20).map(|i| 0.010 + 0.0005 * i as f64).collect();
        let stats = judge(&rising);
        let change = stats.change.unwrap();
        assert_eq!(change.kind, ChangeKind::Trend);
        let mk = stats.evidence.mann_kendall().unwrap();
        assert!((change.change - mk.sen_slope * 19.0).abs() < 1e-12);
        assert!(stats.summary.contains("(Sen's slope)"), "{}", stats.summary);
        assert!(
            stats.summary.contains("on the runs' median of"),
            "{}",
            stats.summary
        );
        // Mostly zeros: least squares measures it, and says so.
        let mut sparse = vec![0.0; 30];
        for i in (15..30).step_by(2) {
            sparse[i] = 1.0;
        }
        sparse[3] = 1.0;
        let stats = judge(&sparse);
        assert!(
            stats
                .summary
                .contains("least squares: Sen's slope is 0 through ties")
                || stats.change.unwrap().kind == ChangeKind::Step,
            "{}",
            stats.summary
        );
    }

    #[test]
    fn a_steady_rise_in_cost_is_a_regression_and_a_fall_an_improvement() {
        let rising: Vec<f64> = (0..20).map(|i| 0.010 + 0.0005 * i as f64).collect();
        let stats = judge(&rising);
        assert_eq!(stats.verdict, Verdict::Regression, "{}", stats.summary);
        // A steady ramp shifts most clearly in its middle.
        let shift = stats.evidence.shift().unwrap();
        assert_eq!(shift.run_index, 10);
        assert!(shift.after > shift.before && shift.p_value < 0.01);
        assert!(stats.summary.starts_with("The cost per trace rose by "));
        // Sen's slope 0.0005 × 19 runs on a median of 0.01475.
        let mk = stats.evidence.mann_kendall().unwrap();
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
        assert_eq!(
            stats.insufficient.unwrap().reason,
            Shortfall::TooFewValues {
                runs: 3,
                needed: MIN_RUNS_MEANS
            }
        );
    }

    #[test]
    fn a_metric_that_is_mostly_zero_can_still_regress() {
        // Revisions per trace: none for 14 runs, then one each. Sen's slope
        // is 0 (most pairs tie) and so is the median; the least-squares
        // slope against the mean (0.3) gives the size.
        let mut values = vec![0.0; 14];
        values.extend([1.0; 6]);
        let stats = judge(&values);
        assert_eq!(stats.evidence.mann_kendall().unwrap().sen_slope, 0.0);
        assert_eq!(stats.verdict, Verdict::Regression, "{}", stats.summary);
    }

    #[test]
    fn noise_that_could_hide_a_change_is_not_called_stable() {
        let noisy: Vec<f64> = (0..12).map(|i| [1.0, 2.0, 0.5][i % 3]).collect();
        let stats = judge(&noisy);
        assert_eq!(
            stats.verdict,
            Verdict::InsufficientData,
            "{}",
            stats.summary
        );
        let reason = stats.insufficient.unwrap().reason;
        assert!(
            matches!(reason, Shortfall::WideInterval { .. }),
            "{reason:?}"
        );
        assert!(reason.to_string().contains("toward worse"), "{reason}");
        let steady: Vec<f64> = (0..12).map(|i| 1.0 + 0.001 * (i % 2) as f64).collect();
        assert_eq!(judge(&steady).verdict, Verdict::Stable);
    }

    #[test]
    fn the_proposals_rule_reads_its_threshold_relative_to_the_level() {
        let options = VerdictOptions {
            method: Method::Ols,
            ..VerdictOptions::default()
        };
        let at = |per_run: f64| {
            let values: Vec<Option<f64>> = (0..20)
                .map(|i| Some(1000.0 * (1.0 + per_run * i as f64)))
                .collect();
            assess_means(&values, 20, &options, COST).verdict
        };
        // 0.5% of the level per run is inside ±0.01; 2% is not.
        assert_eq!(at(0.005), Verdict::Stable);
        assert_eq!(at(0.02), Verdict::Regression);
    }

    #[test]
    fn runs_without_a_value_are_left_out() {
        let mut values: Vec<Option<f64>> = (0..12).map(|i| Some(i as f64)).collect();
        values.insert(3, None);
        values.push(Some(f64::NAN));
        let stats = assess_means(&values, 12, &VerdictOptions::default(), COST);
        assert_eq!(stats.runs, 12);
        assert_eq!(stats.evidence.mann_kendall().unwrap().s, 66);
    }
}
