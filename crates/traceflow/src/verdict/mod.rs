//! From a window's counts or values to a verdict a team can act on.
//!
//! [`assess`], [`assess_rate`] and [`means::assess_means`] are pure: the
//! same counts and options give the same [`Statistics`], which is what the
//! gate, the reports and the simulation (`examples/simulate.rs`) all use.
//! The verdict knows numbers only; the window measures its runs
//! ([`crate::window`]) and asks for one.

use std::cell::OnceCell;

use jiff::Timestamp;
use serde::Serialize;

use crate::metric::Worse;
use crate::stats::{
    mann_kendall, min_detectable_drop, ols_test, repeated_level, segment, simulation_rate,
    step_change, trend_test, Level, MannKendall, OlsTest, RepeatedOptions, StepChange, StepOptions,
    TrendTest, Undefined,
};
use crate::text::{count, points, signed_points};

pub mod means;
mod prose;
mod types;

use prose::summary;
pub(crate) use prose::{level_text, p_equals, p_text};
pub use types::*;

/// The rule that turns the series into a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Significance-tested: Cochran–Armitage at α with a minimum drop, a
    /// step test, and "insufficient data" when the data cannot tell.
    Auto,
    /// The proposal's rule: the OLS slope of pass rate on run index against
    /// ±threshold per run.
    Ols,
}

impl std::str::FromStr for Method {
    type Err = crate::error::InvalidValue;

    /// `auto` or `ols`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Method::Auto),
            "ols" => Ok(Method::Ols),
            other => Err(crate::error::InvalidValue::new(format!(
                "unknown method {other:?} (expected \"auto\" or \"ols\")"
            ))),
        }
    }
}

impl Method {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Ols => "ols",
        }
    }
}

/// Successive evaluations a gate's α may cover at most
/// ([`stats::RepeatedOptions::evaluations`](crate::stats::RepeatedOptions)).
pub const MAX_EVALUATIONS: usize = 10_000;
/// Fewest runs `auto` judges.
pub const MIN_RUNS_AUTO: usize = 8;
/// Fewest decisions `auto` judges.
pub const MIN_DECISIONS_AUTO: u64 = 30;
/// The minimum detectable drop may be at most this many times `min_drop`
/// before the data counts as too little: at the defaults, a 15-point
/// decline (the size the statistics were designed around) must be
/// detectable with 80% power.
pub const MDE_FACTOR: f64 = 3.0;
/// Runs above which Mann–Kendall (whose cost grows as n²) is left out.
pub const MANN_KENDALL_MAX_RUNS: usize = 5_000;
/// Changes binary segmentation reports at most.
pub const MAX_CHANGES: usize = 5;
/// Runs above which binary segmentation (a permutation test per segment)
/// is left out; the most likely step is still reported.
pub const SEGMENTATION_MAX_RUNS: usize = 20_000;
/// Work (arrangements × (draws + runs)) the step test's permutations may
/// take before B is lowered from 9,999. Below 199 permutations (which
/// still resolve p = 0.005) the step's p-value is the Bonferroni bound
/// instead: a million runs would take seconds to permute.
const PERMUTATION_BUDGET: f64 = 5e7;

/// The change to state for a rate: the significant step when it fits the
/// runs at least as well as the trend line (weighted by decisions, the
/// residual sum of squares of the two levels against the line's), else the
/// line's change across the window. A step's two levels are its sides'
/// pooled rates, so a step reported as "88.1% → 60.8%" is what the runs
/// did, where a line through a step overstates it (its change across the
/// window runs from before the step's start to after its end).
fn stated_change(
    evidence: &RateEvidence,
    passes: &[u64],
    decisions: &[u64],
) -> Option<StatedChange> {
    let ca = evidence.cochran_armitage.as_ref()?;
    let trend = StatedChange {
        kind: ChangeKind::Trend,
        // No rate moves more than 100 points, whatever a line extrapolates.
        change: ca.predicted_change.clamp(-1.0, 1.0),
        ci: ca.predicted_change_ci,
        before: None,
        after: None,
    };
    let Some(step) = &evidence.change_point else {
        return Some(trend);
    };
    let runs: Vec<(f64, f64, f64)> = passes
        .iter()
        .zip(decisions)
        .enumerate()
        .filter(|(_, (_, &k))| k > 0)
        .map(|(i, (&x, &k))| (i as f64, k as f64, x as f64 / k as f64))
        .collect();
    let weight: f64 = runs.iter().map(|r| r.1).sum();
    let t_bar = runs.iter().map(|r| r.1 * r.0).sum::<f64>() / weight;
    let r_bar = runs.iter().map(|r| r.1 * r.2).sum::<f64>() / weight;
    let s_tt: f64 = runs.iter().map(|r| r.1 * (r.0 - t_bar).powi(2)).sum();
    let s_tr: f64 = runs
        .iter()
        .map(|r| r.1 * (r.0 - t_bar) * (r.2 - r_bar))
        .sum();
    let slope = if s_tt > 0.0 { s_tr / s_tt } else { 0.0 };
    let line: f64 = runs
        .iter()
        .map(|r| r.1 * (r.2 - r_bar - slope * (r.0 - t_bar)).powi(2))
        .sum();
    let split = step.run_index as f64;
    let levels: f64 = runs
        .iter()
        .map(|r| {
            let level = if r.0 < split {
                step.before.rate
            } else {
                step.after.rate
            };
            r.1 * (r.2 - level).powi(2)
        })
        .sum();
    Some(if levels <= line {
        StatedChange {
            kind: ChangeKind::Step,
            change: step.change,
            ci: step.change_ci,
            before: Some(step.before.rate),
            after: Some(step.after.rate),
        }
    } else {
        trend
    })
}

/// Judges runs with `passes[i]` of `decisions[i]` passed, oldest first:
/// [`assess_rate`] for the pass rate.
pub fn assess(passes: &[u64], decisions: &[u64], options: &VerdictOptions) -> Statistics {
    assess_rate(passes, decisions, options, Subject::PASS_RATE)
}

/// Judges a rate: `events[i]` of `trials[i]` in run i, oldest first, where
/// `subject.worse` says whether fewer events (passes) or more (revisions,
/// fallbacks) are a regression.
///
/// A rate that is worse when higher is judged as its complement (trials
/// without the event), whose decline is the rate's rise, with the same
/// tests; the statistics are then mirrored back onto the rate itself
/// (rates r → 1 − r, slopes and z negated, one-sided p → 1 − p), which is
/// exact for every test used.
pub fn assess_rate(
    events: &[u64],
    trials: &[u64],
    options: &VerdictOptions,
    subject: Subject<'_>,
) -> Statistics {
    let n = events.len().min(trials.len());
    if let Some(i) = (0..n).find(|&i| events[i] > trials[i]) {
        // Not counts of anything: judge nothing rather than wrap around
        // (checked here, before a rate worse when higher is complemented).
        let mut stats = assess_lower(&[], &[], options, subject);
        let insufficient = Insufficient {
            reason: Shortfall::NotCounts {
                run: i,
                events: events[i],
                trials: trials[i],
            },
            remedy: Remedy::CountsWithinTrials,
        };
        stats.summary = format!("Nothing judged: {}.", insufficient.reason);
        stats.insufficient = Some(insufficient);
        return stats;
    }
    match subject.worse {
        Worse::Lower => assess_lower(events, trials, options, subject),
        Worse::Higher => {
            let complement: Vec<u64> = events.iter().zip(trials).map(|(&x, &k)| k - x).collect();
            let mut stats = assess_lower(&complement, trials, options, subject);
            stats.mirror();
            stats.summary = summary(&stats, subject);
            stats
        }
    }
}

/// Judges runs where fewer passes are worse.
///
/// `auto`: a regression when Cochran–Armitage's one-sided p for a decline
/// is below α and the decline matters: the predicted drop across the window
/// is at least `min_drop`, or the significant step's drop is. An
/// improvement likewise upward. Too little data — fewer than
/// [`MIN_RUNS_AUTO`] runs or [`MIN_DECISIONS_AUTO`] decisions, or (without
/// a significant decline) a minimum detectable drop above [`MDE_FACTOR`] ×
/// `min_drop` — is `insufficient_data`, never `stable`. A significant
/// decline is reported even when the power was low: the test's level holds
/// either way.
///
/// With `repeated.evaluations` above 1, the trend test is held to the
/// level α′ < α at which that many successive evaluations of a stable
/// history raise a false alarm with probability α ([`repeated_level`]).
///
/// `ols`: the proposal's rule, slope against ±threshold; the other
/// statistics are reported beside it.
fn assess_lower(
    passes: &[u64],
    decisions: &[u64],
    options: &VerdictOptions,
    subject: Subject<'_>,
) -> Statistics {
    let n = passes.len().min(decisions.len());
    let (passes, decisions) = (&passes[..n], &decisions[..n]);
    let total: u64 = decisions.iter().sum();
    let passed: u64 = passes.iter().sum();
    let pass_rate = (total > 0).then(|| passed as f64 / total as f64);
    let evaluations = options.repeated.evaluations.max(1);
    let mut notes = Vec::new();

    let test = trend_test(passes, decisions, options.confidence);
    let level = held_level(&test, pass_rate, decisions, options, &mut notes);
    let cochran_armitage = test.as_ref().ok().map(|t| pooled_test(t, decisions));
    let min_detectable_drop = pass_rate.and_then(|p| {
        let scores: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let dispersion = test.as_ref().map_or(1.0, |t| t.test.dispersion);
        let df = test.as_ref().ok().and_then(|t| t.df);
        min_detectable_drop(decisions, &scores, p, dispersion, level, df).ok()
    });
    let (ols, mann_kendall) = per_run_tests(passes, decisions, options, &mut notes);

    let steps = Steps::new(passes, decisions, level, options);
    let step = || steps.significant();

    let power = Power {
        runs: n,
        decisions: total,
        level,
        min_detectable_drop,
    };
    let judged = match options.method {
        // No line through fewer than two runs: the rule cannot say
        // "stable" about nothing.
        Method::Ols if n < 2 => Judged::insufficient(ols_too_few(n)),
        Method::Ols => Judged::plain(proposal_rule(ols.as_ref(), options.threshold)),
        Method::Auto => match too_few(n, total) {
            Some(short) => Judged::insufficient(short),
            None => judge_auto(&test, &step, &power, options, subject),
        },
    };
    // The step is reported whenever one is significant; with
    // `verdict_only`, only when the verdict needed it.
    let change_point = if options.verdict_only {
        judged.step.as_ref().map(ChangePoint::new)
    } else {
        step().map(|s| ChangePoint::new(&s))
    };
    let change_points = match &change_point {
        Some(_) if !options.verdict_only => steps.segments(&mut notes),
        _ => Vec::new(),
    };
    let evidence = RateEvidence {
        cochran_armitage,
        mann_kendall,
        ols,
        change_point,
        change_points,
    };
    let change = stated_change(&evidence, passes, decisions);
    let mut stats = Statistics {
        method: options.method,
        verdict: judged.verdict,
        alpha: options.alpha,
        evaluations,
        level,
        min_drop: options.min_drop,
        min_detectable_drop,
        runs: n,
        decisions: total,
        pass_rate,
        p_worse: evidence.cochran_armitage.map(|ca| ca.p_decline),
        insufficient: judged.insufficient,
        evidence: Evidence::Rate(Box::new(evidence)),
        change,
        summary: String::new(),
        notes,
        within_cases: None,
    };
    stats.summary = summary(&stats, subject);
    stats
}

/// The step test over a rate's runs, run at most once: the most likely
/// step, whether significant at the level, and the steps by binary
/// segmentation.
struct Steps<'a> {
    passes: &'a [u64],
    decisions: &'a [u64],
    level: f64,
    options: StepOptions,
    whole: OnceCell<Option<StepChange>>,
}

impl<'a> Steps<'a> {
    fn new(passes: &'a [u64], decisions: &'a [u64], level: f64, verdict: &VerdictOptions) -> Self {
        let options = StepOptions {
            permutations: permutations(passes, decisions, verdict.step.permutations, level),
            confidence: verdict.confidence,
            // A step is reported only below α, so its p-value above α is
            // never shown: stop permuting once it is certain to be there.
            stop_at: Some(level),
            ..verdict.step
        };
        Steps {
            passes,
            decisions,
            level,
            options,
            whole: OnceCell::new(),
        }
    }

    /// The most likely step, computed once, and only if needed.
    fn any(&self) -> Option<StepChange> {
        *self
            .whole
            .get_or_init(|| step_change(self.passes, self.decisions, &self.options).ok())
    }

    /// The most likely step, if significant at the level.
    fn significant(&self) -> Option<StepChange> {
        self.any().filter(|s| s.p_value < self.level)
    }

    /// Every significant step by binary segmentation, in run order (left
    /// out, with a note, past [`SEGMENTATION_MAX_RUNS`] runs).
    fn segments(&self, notes: &mut Vec<String>) -> Vec<ChangePoint> {
        let n = self.passes.len();
        if n > SEGMENTATION_MAX_RUNS {
            notes.push(format!(
                "binary segmentation left out: {n} runs (a permutation test per segment; at most {SEGMENTATION_MAX_RUNS})"
            ));
            return Vec::new();
        }
        segment(
            self.passes,
            self.decisions,
            self.level,
            MAX_CHANGES,
            &self.options,
            self.any(),
        )
        .iter()
        .map(ChangePoint::new)
        .collect()
    }
}

/// The level each evaluation's trend test is held to: α for one
/// evaluation, the simulated level for more (`auto` only), or Bonferroni's
/// α/N where the window is too long to simulate (said in `notes`).
fn held_level(
    test: &Result<TrendTest, Undefined>,
    pass_rate: Option<f64>,
    decisions: &[u64],
    options: &VerdictOptions,
    notes: &mut Vec<String>,
) -> f64 {
    let evaluations = options.repeated.evaluations.max(1);
    let (Ok(_), Some(rate), Method::Auto) = (test, pass_rate, options.method) else {
        return options.alpha;
    };
    if evaluations <= 1 {
        return options.alpha;
    }
    repeated_level(
        decisions,
        simulation_rate(rate),
        options.alpha,
        &options.repeated,
    )
    .unwrap_or_else(|why| {
        // Too long a window to simulate (or too short to judge):
        // Bonferroni's α/N bounds N evaluations too, less tightly.
        notes.push(format!(
            "level for {evaluations} evaluations by Bonferroni, not simulated: {why}"
        ));
        options.alpha / evaluations as f64
    })
}

/// The report's form of the trend test on pooled counts, its change
/// across the runs with decisions.
fn pooled_test(trend: &TrendTest, decisions: &[u64]) -> CochranArmitageStats {
    let TrendTest {
        test: ca,
        dispersion,
        df,
    } = trend;
    // The span the predicted change covers: runs with decisions.
    let first = decisions.iter().position(|&k| k > 0);
    let last = decisions.iter().rposition(|&k| k > 0);
    let span = match (first, last) {
        (Some(first), Some(last)) => (last - first) as f64,
        _ => 0.0,
    };
    CochranArmitageStats {
        z: ca.z,
        p_decline: ca.p_decline,
        slope: ca.slope,
        slope_ci: [ca.slope_ci.0, ca.slope_ci.1],
        dispersion: ca.dispersion,
        intra_run_correlation: dispersion.map(|d| d.rho),
        dispersion_p: dispersion.map(|d| d.p_value),
        df: *df,
        predicted_change: ca.predicted_change,
        predicted_change_ci: [
            (ca.slope_ci.0 * span).clamp(-1.0, 1.0),
            (ca.slope_ci.1 * span).clamp(-1.0, 1.0),
        ],
    }
}

/// The tests on the per-run rates of the runs with decisions: the
/// proposal's line and (unless `verdict_only`, and at most
/// [`MANN_KENDALL_MAX_RUNS`] runs) Mann–Kendall.
fn per_run_tests(
    passes: &[u64],
    decisions: &[u64],
    options: &VerdictOptions,
    notes: &mut Vec<String>,
) -> (Option<OlsTest>, Option<MannKendall>) {
    let (run_scores, rates): (Vec<f64>, Vec<f64>) = passes
        .iter()
        .zip(decisions)
        .enumerate()
        .filter(|(_, (_, &k))| k > 0)
        .map(|(i, (&x, &k))| (i as f64, x as f64 / k as f64))
        .unzip();
    let ols = ols_test(&run_scores, &rates).ok();
    if options.verdict_only {
        return (ols, None);
    }
    if rates.len() > MANN_KENDALL_MAX_RUNS {
        notes.push(format!(
            "Mann–Kendall left out: {} runs (its cost grows as n²; at most {MANN_KENDALL_MAX_RUNS})",
            rates.len()
        ));
        return (ols, None);
    }
    (ols, mann_kendall(&rates, options.confidence).ok())
}

/// The proposal's rule: the slope against ±threshold per run.
fn proposal_rule(ols: Option<&OlsTest>, threshold: f64) -> Verdict {
    let slope = ols.map_or(0.0, |o| o.slope);
    if slope < -threshold {
        Verdict::Regression
    } else if slope > threshold {
        Verdict::Improvement
    } else {
        Verdict::Stable
    }
}

/// B for the step test: 9,999 unless the data is so large that would take
/// long, then fewer; 0 (the Bonferroni bound) rather than below 199, or
/// when B + 1 < 10/level (a level lowered by `--evaluations`).
fn permutations(passes: &[u64], decisions: &[u64], wanted: usize, level: f64) -> usize {
    let total: u64 = decisions.iter().sum();
    let passed: u64 = passes.iter().sum();
    // A draw places the rarer outcome's decisions, or (when those are many)
    // draws each run's count, costing about as much as placing 50.
    let runs = passes.len() as f64;
    let per_draw = (passed.min(total.saturating_sub(passed)) as f64).min(50.0 * runs) + runs;
    let affordable = (PERMUTATION_BUDGET / per_draw.max(1.0)) as usize;
    let b = wanted.min(affordable);
    // Fewer than 10/level arrangements cannot show p below the level with
    // any margin (at level 1e-4, not even 9,999): the bound does better.
    if b < 199 || ((b + 1) as f64) * level < 10.0 {
        0
    } else {
        b
    }
}

/// Why the proposal's rule could not fit its line.
pub(crate) fn ols_too_few(runs: usize) -> Insufficient {
    Insufficient {
        reason: Shortfall::TooFewForALine { runs },
        remedy: Remedy::MoreRuns,
    }
}

fn too_few(runs: usize, decisions: u64) -> Option<Insufficient> {
    if runs < MIN_RUNS_AUTO || decisions < MIN_DECISIONS_AUTO {
        return Some(Insufficient {
            reason: Shortfall::TooFewRuns {
                runs,
                decisions,
                min_runs: MIN_RUNS_AUTO,
                min_decisions: MIN_DECISIONS_AUTO,
            },
            remedy: Remedy::MoreRuns,
        });
    }
    None
}

/// A rule's verdict, what is missing when it is too little data, and the
/// step it rested on, if any.
struct Judged {
    verdict: Verdict,
    insufficient: Option<Insufficient>,
    step: Option<StepChange>,
}

impl Judged {
    fn plain(verdict: Verdict) -> Judged {
        Judged {
            verdict,
            insufficient: None,
            step: None,
        }
    }

    fn insufficient(why: Insufficient) -> Judged {
        Judged {
            verdict: Verdict::InsufficientData,
            insufficient: Some(why),
            step: None,
        }
    }
}

/// What the window could reveal: its size, the level, the minimum
/// detectable drop.
struct Power {
    runs: usize,
    decisions: u64,
    level: f64,
    min_detectable_drop: Option<f64>,
}

fn judge_auto(
    test: &Result<TrendTest, Undefined>,
    step: &dyn Fn() -> Option<StepChange>,
    power: &Power,
    options: &VerdictOptions,
    subject: Subject<'_>,
) -> Judged {
    let level = power.level;
    let ca = match test {
        Ok(test) => &test.test,
        // Every decision alike: nothing moved, if the data could have shown
        // a move.
        Err(Undefined::NoVariation) => return stable_if_powered(power, options, subject),
        Err(why) => {
            return Judged::insufficient(Insufficient {
                reason: Shortfall::NoTrendTest {
                    why: why.to_string(),
                },
                remedy: Remedy::RunsWithDecisions,
            })
        }
    };
    if ca.p_decline < level {
        if -ca.predicted_change >= options.min_drop {
            return Judged::plain(Verdict::Regression);
        }
        // A decline too small across the window may be a step that
        // matters.
        return match step() {
            Some(s) if -s.change >= options.min_drop => Judged {
                step: Some(s),
                ..Judged::plain(Verdict::Regression)
            },
            found => Judged {
                step: found,
                ..stable_if_powered(power, options, subject)
            },
        };
    }
    if 1.0 - ca.p_decline < level && ca.predicted_change >= options.min_drop {
        return Judged::plain(Verdict::Improvement);
    }
    stable_if_powered(power, options, subject)
}

/// Stable, unless the minimum detectable drop is more than
/// [`MDE_FACTOR`] × `min_drop`: then `insufficient_data`, with what would
/// make it enough.
fn stable_if_powered(power: &Power, options: &VerdictOptions, subject: Subject<'_>) -> Judged {
    let limit = MDE_FACTOR * options.min_drop;
    let Some(mde) = power.min_detectable_drop.filter(|&mde| mde > limit) else {
        return Judged::plain(Verdict::Stable);
    };
    let grow = (mde / limit).powi(2);
    let needed = power.decisions as f64 * grow;
    // The count needed grows as the level shrinks; past any realistic
    // store (or infinite, at a level near 0) a number would say nothing.
    let remedy = if mde < 1.0 && needed.is_finite() && needed <= MAX_NEEDED_DECISIONS {
        Remedy::MoreDecisions {
            decisions: needed.ceil() as u64,
            runs: (power.runs as f64 * grow).ceil() as u64,
        }
    } else {
        Remedy::RaiseLevelOrMinDrop
    };
    Judged::insufficient(Insufficient {
        reason: Shortfall::Underpowered {
            runs: power.runs,
            detectable: mde,
            worsening: subject.worsening(),
            level: power.level,
            min_drop: options.min_drop,
        },
        remedy,
    })
}

/// The share of a window's decisions that must be in cases asked in two
/// or more runs for the verdict to rest on the trend within cases.
pub const MIN_REPEATED_SHARE: f64 = 0.5;

/// Informing cases needed for the verdict to rest on the trend within
/// cases (with one, it is the plain test on fewer decisions).
pub const MIN_REPEATED_CASES: usize = 2;

/// Adds to `stats` (the pass rate's, over the same runs) the trend within
/// the cases `strata` (each case's (run, passes, decisions) cells), and
/// rests the verdict on it when the cases repeat enough
/// ([`rest_on_cases`]). Nothing when no case informs a within-case test.
pub(crate) fn judge_within_cases(
    stats: &mut Statistics,
    strata: &[Vec<crate::stats::stratified::Cell>],
    options: &VerdictOptions,
) {
    let Ok(within) = crate::stats::stratified_cochran_armitage(strata, options.confidence) else {
        return;
    };
    let share = if stats.decisions > 0 {
        within.decisions as f64 / stats.decisions as f64
    } else {
        0.0
    };
    rest_on_cases(stats, &within, share, options);
}

/// Judges a pass rate by its trend within the same cases when the cases
/// repeat enough (`auto` only): a fall across all decisions that the cases
/// do not show is the mix of cases moving toward harder ones, and a fall
/// within the cases that the mix hides is a regression. The verdict's p
/// is then the within-case test's, and a changed verdict states the
/// within-case change. `within` is the stratified test over `runs` runs;
/// `share` the share of decisions in the cases that inform it.
fn rest_on_cases(
    stats: &mut Statistics,
    within: &crate::stats::StratifiedTrend,
    share: f64,
    options: &VerdictOptions,
) {
    let span = stats.runs.saturating_sub(1) as f64;
    let across = stats
        .evidence
        .cochran_armitage()
        .map(|ca| ca.predicted_change);
    let change = within.slope * span;
    let change_ci = [within.slope_ci.0 * span, within.slope_ci.1 * span];
    // Too few runs or decisions for any trend is too few within cases
    // too; too little power across all decisions is not: the cases take
    // the variance of which question a run drew out of the test.
    let enough = !matches!(
        stats.insufficient.as_ref().map(|i| &i.reason),
        Some(
            Shortfall::TooFewRuns { .. }
                | Shortfall::NotCounts { .. }
                | Shortfall::TooFewForALine { .. }
        )
    );
    let used = options.method == Method::Auto
        && share >= MIN_REPEATED_SHARE
        && within.strata >= MIN_REPEATED_CASES
        && enough;
    stats.within_cases = Some(WithinCases {
        cases: within.strata,
        share,
        used,
        z: within.z,
        p_decline: within.p_decline,
        change,
        change_ci,
        mix: across.map(|a| a - change),
    });
    let within_text = format!(
        "{} points (95% CI {:+.1} to {:+.1}; p(decline) {})",
        format_args!("{:+.1}", 100.0 * change),
        100.0 * change_ci[0],
        100.0 * change_ci[1],
        p_equals(within.p_decline)
    );
    if !used {
        if options.method == Method::Auto && enough {
            let note = format!(
                "the cases repeat too little to judge within them ({:.0}% of the decisions in {} asked in two or more runs)",
                100.0 * share,
                crate::text::count(within.strata, "case")
            );
            stats
                .summary
                .push_str(&format!(" Within the same cases: {within_text}; {note}."));
            stats.notes.push(note);
        }
        return;
    }
    stats.p_worse = Some(within.p_decline);
    let falls = within.p_decline < stats.level && -change >= options.min_drop;
    let across_text = across.map_or_else(String::new, |a| {
        let how = if a < 0.0 { "fell" } else { "rose" };
        format!(" {how} by {:.1} points", 100.0 * a.abs())
    });
    let moved = Moved {
        change,
        change_ci,
        across,
        within_text,
        across_text,
    };
    rejudge_within(stats, &moved, falls, options);
}

/// The changes within the same cases and across all decisions, and their
/// words.
struct Moved {
    /// Within the cases, across the window.
    change: f64,
    /// Its 95% interval.
    change_ci: [f64; 2],
    /// Across all decisions (Cochran–Armitage's fitted change).
    across: Option<f64>,
    /// The change within, its interval and p, in words.
    within_text: String,
    /// " fell by N points" (empty without a change across).
    across_text: String,
}

/// The verdict on the trend within the same cases, where it rests there:
/// a fall across all decisions the cases do not show is the mix of cases
/// (stable, or too little data if the cases' interval is wide), a fall
/// within the cases that the mix hides is a regression.
fn rejudge_within(stats: &mut Statistics, moved: &Moved, falls: bool, options: &VerdictOptions) {
    let Moved {
        change,
        change_ci,
        across,
        within_text,
        across_text,
    } = moved;
    let (change, change_ci, across) = (*change, *change_ci, *across);
    let state_within = |stats: &mut Statistics| {
        stats.change = Some(StatedChange {
            kind: ChangeKind::Trend,
            change,
            ci: change_ci,
            before: None,
            after: None,
        });
    };
    // The mix is the difference of the two changes; it explains a change
    // across all decisions only when the cases' interval rules that change
    // out (the change across lies beyond it), not when the cases merely
    // fail to confirm it.
    let mix_text = |a: f64| format!("{:+.1} points", 100.0 * (a - change));
    match (stats.verdict == Verdict::Regression, falls) {
        (true, false) => {
            let limit = MDE_FACTOR * options.min_drop;
            if -change_ci[0] > limit {
                stats.verdict = Verdict::InsufficientData;
                stats.insufficient = Some(Insufficient {
                    reason: Shortfall::WideWithinCases {
                        reach: -change_ci[0],
                        runs: stats.runs,
                        limit,
                    },
                    remedy: Remedy::MoreRuns,
                });
            } else {
                stats.verdict = Verdict::Stable;
            }
            stats.summary = match across {
                Some(a) if a < change_ci[0] => format!(
                    "Across all decisions the pass rate{across_text}, but within the same cases it changed by {within_text}: the fall is the mix of cases ({}) moving toward ones that pass less, not the agent doing worse on them.",
                    mix_text(a)
                ),
                _ => format!(
                    "Across all decisions the pass rate{across_text}; within the same cases it changed by {within_text}, not a significant fall at level {}. The mix of cases ({}) does not explain the fall; the cases do not confirm it.",
                    level_text(stats.level),
                    across.map_or_else(|| "unknown".to_owned(), mix_text)
                ),
            };
            state_within(stats);
        }
        (false, true) => {
            stats.verdict = Verdict::Regression;
            stats.insufficient = None;
            stats.summary = match across {
                Some(a) if a > change_ci[1] => format!(
                    "Within the same cases the pass rate fell by {within_text}; across all decisions it{across_text}: the mix of cases ({}) moved toward ones that pass more, which hid the fall.",
                    mix_text(a)
                ),
                _ => format!(
                    "Within the same cases the pass rate fell by {within_text}; across all decisions it{across_text}, not significant there: each case against its own level leaves out which cases a run drew."
                ),
            };
            state_within(stats);
        }
        (true, true) | (false, false) => {
            stats
                .summary
                .push_str(&format!(" Within the same cases: {within_text}."));
        }
    }
}

/// Decisions beyond which a remedy's count is no help to anyone.
const MAX_NEEDED_DECISIONS: f64 = 1e9;

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(passes: &[u64], decisions: &[u64]) -> Statistics {
        assess(passes, decisions, &VerdictOptions::default())
    }

    #[test]
    fn a_clear_decline_is_a_regression_with_its_step() {
        let mut passes = vec![19u64; 20];
        passes.extend([14u64; 20]);
        let stats = judge(&passes, &[20; 40]);
        assert_eq!(stats.verdict, Verdict::Regression);
        let step = stats.evidence.change_point().unwrap();
        assert_eq!(step.run_index, 20);
        assert!(
            stats.summary.starts_with("The pass rate fell"),
            "{}",
            stats.summary
        );
    }

    #[test]
    fn a_step_is_stated_as_its_levels_not_as_the_lines_change() {
        // 95% for 20 runs, then 70%: a line through the step would claim
        // more than the 25 points the runs fell.
        let mut passes = vec![19u64; 20];
        passes.extend([14u64; 20]);
        let stats = judge(&passes, &[20; 40]);
        let ca = stats.evidence.cochran_armitage().unwrap();
        let change = stats.change.unwrap();
        assert_eq!(change.kind, ChangeKind::Step);
        assert!((change.change - (-0.25)).abs() < 1e-12, "{change:?}");
        assert_eq!((change.before, change.after), (Some(0.95), Some(0.70)));
        assert!(ca.predicted_change < -0.35, "the line overstates: {ca:?}");
        assert!(
            stats
                .summary
                .contains("from 95.0% to 70.0% at run 20 (-25.0 points"),
            "{}",
            stats.summary
        );
        assert!(!stats.summary.contains("by 3"), "{}", stats.summary);
    }

    #[test]
    fn a_gradual_decline_is_stated_as_the_lines_change() {
        // 200 decisions a run falling half a point a run, without a step.
        let passes: Vec<u64> = (0..40).map(|i| 190 - i).collect();
        let stats = judge(&passes, &[200; 40]);
        assert_eq!(stats.verdict, Verdict::Regression);
        let change = stats.change.unwrap();
        assert_eq!(
            change.kind,
            ChangeKind::Trend,
            "{:?}",
            stats.evidence.change_point()
        );
        let ca = stats.evidence.cochran_armitage().unwrap();
        assert_eq!(change.change, ca.predicted_change.clamp(-1.0, 1.0));
        assert_eq!((change.before, change.after), (None, None));
        assert!(
            stats.summary.contains("fell by 19.5 points"),
            "{}",
            stats.summary
        );
    }

    #[test]
    fn a_rising_revise_rate_states_its_step_on_the_rate_itself() {
        let mut events = vec![1u64; 20];
        events.extend([6u64; 20]);
        let subject = Subject {
            noun: "revise rate",
            worse: Worse::Higher,
        };
        let stats = assess_rate(&events, &[20; 40], &VerdictOptions::default(), subject);
        let change = stats.change.unwrap();
        assert_eq!(change.kind, ChangeKind::Step);
        let (before, after) = (change.before.unwrap(), change.after.unwrap());
        assert!((before - 0.05).abs() < 1e-12 && (after - 0.30).abs() < 1e-12);
        assert!(
            (change.change - 0.25).abs() < 1e-12 && change.ci[0] > 0.0,
            "{change:?}"
        );
    }

    #[test]
    fn few_runs_or_decisions_are_insufficient_never_stable() {
        let stats = judge(&[1; 7], &[5; 7]);
        assert_eq!(stats.verdict, Verdict::InsufficientData);
        let stats = judge(&[1; 20], &[1; 20]);
        assert_eq!(stats.verdict, Verdict::InsufficientData);
        let reason = stats.insufficient.unwrap().reason;
        assert!(
            matches!(
                reason,
                Shortfall::TooFewRuns {
                    runs: 20,
                    decisions: 20,
                    ..
                }
            ),
            "{reason:?}"
        );
        assert!(reason.to_string().contains("20 decisions"), "{reason}");
    }

    #[test]
    fn low_power_is_insufficient_unless_a_decline_is_shown() {
        // 40 runs of 2 decisions: the MDE is far above 15 points.
        let passes: Vec<u64> = (0..40).map(|i| [2, 1][i % 2]).collect();
        let stats = judge(&passes, &[2; 40]);
        assert_eq!(
            stats.verdict,
            Verdict::InsufficientData,
            "{}",
            stats.summary
        );
        assert!(stats.min_detectable_drop.unwrap() > 0.15);
        let remedy = stats.insufficient.unwrap().remedy;
        let Remedy::MoreDecisions { decisions, runs } = remedy else {
            panic!("{remedy:?}");
        };
        assert!(decisions > 80 && runs > 40, "{remedy:?}");
        assert!(remedy.to_string().contains("runs"), "{remedy}");
        // The same design with a collapse is a regression all the same.
        let passes: Vec<u64> = (0..40).map(|i| if i < 20 { 2 } else { 0 }).collect();
        assert_eq!(judge(&passes, &[2; 40]).verdict, Verdict::Regression);
    }

    #[test]
    fn a_flat_history_with_enough_data_is_stable() {
        let passes: Vec<u64> = (0..50).map(|i| [40, 41, 39, 40, 42][i % 5]).collect();
        let stats = judge(&passes, &[50; 50]);
        assert_eq!(stats.verdict, Verdict::Stable, "{}", stats.summary);
        assert!(stats.evidence.change_point().is_none());
        assert!(stats.evidence.mann_kendall().is_some() && stats.evidence.ols().is_some());
    }

    #[test]
    fn a_significant_but_tiny_decline_is_not_a_regression() {
        // 0.2 points across the window on a huge sample.
        let passes: Vec<u64> = (0..40).map(|i| 90_000 - i * 5).collect();
        let stats = judge(&passes, &[100_000; 40]);
        assert!(stats.evidence.cochran_armitage().unwrap().p_decline < 0.01);
        assert_eq!(stats.verdict, Verdict::Stable);
    }

    #[test]
    fn the_proposal_rule_is_kept_under_ols() {
        let options = VerdictOptions {
            method: Method::Ols,
            ..VerdictOptions::default()
        };
        let stats = assess(&[1, 1, 0], &[1, 1, 1], &options);
        assert_eq!(stats.verdict, Verdict::Regression);
    }

    #[test]
    fn a_window_too_long_to_simulate_is_bounded_by_bonferroni() {
        let n = crate::stats::repeated::MAX_RUNS + 1;
        let options = VerdictOptions {
            repeated: RepeatedOptions {
                evaluations: 100,
                ..RepeatedOptions::default()
            },
            verdict_only: true,
            ..VerdictOptions::default()
        };
        let stats = assess(&vec![8; n], &vec![10; n], &options);
        assert!((stats.level - 0.0001).abs() < 1e-15, "{}", stats.level);
        assert!(
            stats.notes.iter().any(|n| n.contains("Bonferroni")),
            "{:?}",
            stats.notes
        );
    }

    #[test]
    fn a_perfect_record_is_stable_only_with_enough_data() {
        // 8 runs of 4, all passing: a 15-point drop could not have shown.
        let small = judge(&[4; 8], &[4; 8]);
        assert_eq!(
            small.verdict,
            Verdict::InsufficientData,
            "{}",
            small.summary
        );
        let large = judge(&[50; 40], &[50; 40]);
        assert_eq!(large.verdict, Verdict::Stable, "{}", large.summary);
    }

    #[test]
    fn counts_that_are_not_counts_judge_nothing() {
        let stats = judge(&[5, 9], &[5, 3]);
        assert_eq!(stats.verdict, Verdict::InsufficientData);
        assert_eq!(stats.runs, 0);
        assert!(
            stats.summary.contains("run 1 has 9 passes of 3"),
            "{}",
            stats.summary
        );
        // Also for a rate worse when higher, before its complement.
        let revise = Subject {
            noun: "revise rate",
            worse: Worse::Higher,
        };
        let stats = assess_rate(&[5, 9], &[5, 3], &VerdictOptions::default(), revise);
        assert_eq!(stats.runs, 0);
        assert!(
            stats.summary.starts_with("Nothing judged"),
            "{}",
            stats.summary
        );
    }

    #[test]
    fn a_level_too_small_for_the_permutations_uses_the_bound() {
        // 9,999 permutations cannot show p < 1e-4.
        assert_eq!(permutations(&[5; 40], &[10; 40], 9_999, 1e-4), 0);
        assert_eq!(permutations(&[5; 40], &[10; 40], 9_999, 0.01), 9_999);
    }

    #[test]
    fn options_are_checked() {
        let bad = VerdictOptions {
            alpha: 0.7,
            ..VerdictOptions::default()
        };
        assert_eq!(bad.validate(), Err(OptionsError::Alpha(0.7)));
        for min_drop in [f64::NAN, 0.0, 1.0] {
            let bad = VerdictOptions {
                min_drop,
                ..VerdictOptions::default()
            };
            assert!(matches!(bad.validate(), Err(OptionsError::MinDrop(_))));
        }
        let bad = VerdictOptions {
            confidence: 1.0,
            ..VerdictOptions::default()
        };
        assert_eq!(bad.validate(), Err(OptionsError::Confidence(1.0)));
    }

    /// A regression across 24 runs of 40 decisions (95% → 75% at run 16)
    /// and a within-case test of the given change across the window, its
    /// 95% interval ± `half`, and p.
    fn within_after_a_fall(change: f64, half: f64, p: f64) -> Statistics {
        let mut passes = vec![38u64; 16];
        passes.extend([30u64; 8]);
        let mut stats = judge(&passes, &[40; 24]);
        assert_eq!(stats.verdict, Verdict::Regression);
        let slope = change / 23.0;
        let within = crate::stats::StratifiedTrend {
            strata: 30,
            decisions: 960,
            z: -1.7,
            p_decline: p,
            slope,
            slope_ci: (slope - half / 23.0, slope + half / 23.0),
            dispersion: 1.0,
            df: None,
            p_decline_binomial: p,
        };
        rest_on_cases(&mut stats, &within, 1.0, &VerdictOptions::default());
        stats
    }

    #[test]
    fn cases_that_fall_as_much_as_all_decisions_do_not_blame_the_mix() {
        // Within cases about the same fall as across them, too uncertain
        // to confirm: the mix explains none of it.
        let across = within_after_a_fall(0.0, 0.01, 0.5)
            .evidence
            .cochran_armitage()
            .unwrap()
            .predicted_change;
        let stats = within_after_a_fall(across + 0.01, 0.22, 0.04);
        assert_eq!(stats.verdict, Verdict::InsufficientData);
        assert!(
            !stats.summary.contains("moving toward"),
            "{}",
            stats.summary
        );
        assert!(
            stats.summary.contains("does not explain the fall"),
            "{}",
            stats.summary
        );
        // The interval is in points, as the change is.
        let reason = stats.insufficient.unwrap().reason.to_string();
        assert!(
            reason.contains("points toward worse") && reason.ends_with("(15.0 points)"),
            "{reason}"
        );
    }

    #[test]
    fn cases_that_rule_out_the_fall_across_all_decisions_blame_the_mix() {
        // No change within cases, ±3 points: the fall is the mix's.
        let stats = within_after_a_fall(0.0, 0.03, 0.5);
        assert_eq!(stats.verdict, Verdict::Stable);
        assert!(
            stats.summary.contains("the fall is the mix of cases (-"),
            "{}",
            stats.summary
        );
    }
}
