//! From a window's pass counts to a verdict a team can act on.
//!
//! [`assess`] is pure: the same counts and options give the same
//! [`Statistics`], which is what the gate, the reports and the simulation
//! (`examples/simulate.rs`) all use.

use std::cell::OnceCell;

use jiff::Timestamp;
use serde::Serialize;

use super::metric::Worse;
use super::Method;
use crate::stats::{
    mann_kendall, min_detectable_drop, ols_test, repeated_level, segment, simulation_rate,
    step_change, trend_test, Level, MannKendall, OlsTest, RepeatedOptions, StepChange, StepOptions,
    TrendTest, Undefined,
};
use crate::text::{count, points, signed_points};

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

/// The options of a verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictOptions {
    /// The rule.
    pub method: Method,
    /// `auto`: the chance of a false alarm, one-sided, over
    /// `repeated.evaluations` successive evaluations (1: a single one).
    pub alpha: f64,
    /// The smallest decline across the window that matters.
    pub min_drop: f64,
    /// `ols`: the per-run slope beyond which a direction is called.
    pub threshold: f64,
    /// Level of the reported intervals.
    pub confidence: f64,
    /// The step test's permutations.
    pub step: StepOptions,
    /// For a gate run after every run: the evaluations α covers, and the
    /// simulation of the level that bounds them.
    pub repeated: RepeatedOptions,
    /// Compute only what the verdict needs (the simulation's setting):
    /// Mann–Kendall, segmentation and a step the verdict does not use are
    /// skipped.
    pub verdict_only: bool,
}

impl Default for VerdictOptions {
    fn default() -> Self {
        VerdictOptions {
            method: Method::Auto,
            alpha: 0.01,
            min_drop: 0.05,
            threshold: 0.01,
            confidence: 0.95,
            step: StepOptions::default(),
            repeated: RepeatedOptions {
                evaluations: 1,
                ..RepeatedOptions::default()
            },
            verdict_only: false,
        }
    }
}

/// What the data says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A significant decline large enough to matter.
    Regression,
    /// A significant rise large enough to matter.
    Improvement,
    /// No significant change of that size, with data that could show one.
    Stable,
    /// Too little data to tell: not "stable".
    InsufficientData,
    /// A decline large enough to matter whose test was significant alone
    /// but not after Holm's correction across the suite's reports, in data
    /// that cannot rule out such a decline: neither a regression nor
    /// "stable", and not for want of data.
    NotSignificant,
}

impl Verdict {
    /// The name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Stable => "stable",
            Verdict::InsufficientData => "insufficient data",
            Verdict::NotSignificant => "not significant",
        }
    }
}

/// Why the data is too little, and what would fix it: typed, with the
/// numbers behind them. A front end words them (the exporters and the CLI
/// through [`crate::report::wording`], which names the CLI's flags); the
/// JSON holds that wording as `{"reason", "remedy"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insufficient {
    /// The cause.
    pub reason: Shortfall,
    /// What would make the data enough.
    pub remedy: Remedy,
}

/// Why the data is too little to judge.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Shortfall {
    /// Run `run` has more events than trials: not counts of anything.
    NotCounts {
        /// The run, 0 the oldest.
        run: usize,
        /// Its events (passes).
        events: u64,
        /// Its trials (decisions).
        trials: u64,
    },
    /// The proposal's rule fits a line through at least 2 runs with a value.
    TooFewForALine {
        /// Runs with a value.
        runs: usize,
    },
    /// Fewer runs or decisions than `auto` judges.
    TooFewRuns {
        /// Runs in the window.
        runs: usize,
        /// Their decisions.
        decisions: u64,
        /// Runs needed.
        min_runs: usize,
        /// Decisions needed.
        min_decisions: u64,
    },
    /// The trend test is undefined for these runs.
    NoTrendTest {
        /// Why, as the statistics say it.
        why: String,
    },
    /// The runs can only reveal a change larger than matters (80% power).
    Underpowered {
        /// Runs in the window.
        runs: usize,
        /// The smallest change toward worse they reveal (a share, 1 = all).
        detectable: f64,
        /// "decline" or "rise".
        worsening: &'static str,
        /// The level tested at.
        level: f64,
        /// The change that matters.
        min_drop: f64,
    },
    /// Fewer runs with a value than a mean's test needs.
    TooFewValues {
        /// Runs with a value.
        runs: usize,
        /// Runs needed.
        needed: usize,
    },
    /// The 95% interval of a mean's change reaches too far toward worse.
    WideInterval {
        /// How far, relative to the level.
        reach: f64,
        /// Runs with a value.
        runs: usize,
        /// 3 × min-drop.
        limit: f64,
    },
    /// Every run's value is 0: no relative change can be measured.
    AllZero,
    /// Sen's slope is undefined (the values differ past the largest float).
    SlopeUndefined,
    /// The change relative to the level is past the largest float.
    RelativeOverflow,
}

/// What would make the data enough.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Remedy {
    /// Give counts of at most each run's trials.
    CountsWithinTrials,
    /// Widen the window or wait for more runs.
    MoreRuns,
    /// Widen the window so that several runs hold decisions.
    RunsWithDecisions,
    /// About this many decisions, in about this many runs (or pool traces
    /// into larger runs).
    MoreDecisions {
        /// Decisions needed.
        decisions: u64,
        /// Runs of today's size needed.
        runs: u64,
    },
    /// No realistic amount of data: raise the level or the change that
    /// matters.
    RaiseLevelOrMinDrop,
    /// Pool traces into larger runs or widen the window.
    LargerRuns,
}

/// Cochran–Armitage on the runs' pooled counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CochranArmitageStats {
    /// Dispersion-corrected z; negative for a decline.
    pub z: f64,
    /// One-sided p-value for a decline.
    pub p_decline: f64,
    /// Pass rate change per run.
    pub slope: f64,
    /// Its confidence interval.
    pub slope_ci: [f64; 2],
    /// φ ≥ 1 used: 1 + ρ̂R if the test of ρ = 0 rejects at 5%, else 1.
    pub dispersion: f64,
    /// The estimated correlation of decisions within a run (from
    /// neighbouring runs' differences); null if undefined (e.g. runs of one
    /// decision).
    pub intra_run_correlation: Option<f64>,
    /// The p-value of "no overdispersion" (ρ = 0).
    pub dispersion_p: Option<f64>,
    /// Degrees of freedom of the t reference when φ was estimated; null
    /// when the normal was used.
    pub df: Option<f64>,
    /// slope × the span from the first run with decisions to the last: the
    /// fitted change across the window.
    pub predicted_change: f64,
    /// Its confidence interval, within [−1, 1] (no rate changes more).
    pub predicted_change_ci: [f64; 2],
}

/// The run where the pass rate stepped down.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangePoint {
    /// First run of the new level.
    pub run_index: usize,
    /// That run's trace (or run key).
    pub trace_id: String,
    /// When that run started.
    pub created_at: Option<Timestamp>,
    /// The level before.
    pub before: Level,
    /// The level from the change on.
    pub after: Level,
    /// after − before.
    pub change: f64,
    /// Newcombe interval of the change.
    pub change_ci: [f64; 2],
    /// after / before − 1; null when before is 0.
    pub relative_change: Option<f64>,
    /// Permutation p-value of the split scan.
    pub p_value: f64,
    /// The split's z, positive toward worse (a drop of the pass rate, a
    /// rise of the revise rate).
    pub z: f64,
    /// Arrangements the p-value counted.
    pub permutations: u64,
    /// Whether every arrangement was enumerated.
    pub exact: bool,
    /// `decisions` or `runs`: what was permuted; `none` for a series too
    /// long to permute or a level too low for 9,999 permutations (under
    /// `--evaluations`), whose p-value is the Bonferroni bound over splits.
    pub permuted: &'static str,
}

impl ChangePoint {
    fn new(step: &StepChange) -> Self {
        ChangePoint {
            run_index: step.run_index,
            trace_id: String::new(),
            created_at: None,
            before: step.before,
            after: step.after,
            change: step.change,
            change_ci: [step.change_ci.0, step.change_ci.1],
            relative_change: step.relative_change,
            p_value: step.p_value,
            z: step.z,
            permutations: step.arrangements,
            exact: step.exact,
            permuted: match step.permuted {
                crate::stats::Permuted::Decisions => "decisions",
                crate::stats::Permuted::Runs => "runs",
                crate::stats::Permuted::Nothing => "none",
            },
        }
    }
}

/// Where a metric of means shifted toward worse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeanShift {
    /// First run of the new level.
    pub run_index: usize,
    /// That run's key (a trace id, a day, a config value).
    pub trace_id: String,
    /// When that run started.
    pub created_at: Option<Timestamp>,
    /// The mean of the runs' values before.
    pub before: f64,
    /// The mean from the shift on.
    pub after: f64,
    /// after − before.
    pub change: f64,
    /// after / before − 1; null when before is 0.
    pub relative_change: Option<f64>,
    /// Pettitt's K (the rank statistic of the split).
    pub k: f64,
    /// Pettitt's one-sided p-value, exp(−6K² / (n³ + n²)).
    pub p_value: f64,
}

/// Which change a report states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The level stepped: a significant step fits the runs at least as
    /// well as a line, so the change is the step's after − before.
    Step,
    /// A gradual trend: the fitted line's change across the window.
    Trend,
}

/// The one change a report states, in its sentence, its table's Change
/// column and the gate's line alike.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StatedChange {
    /// A step or a trend.
    pub kind: ChangeKind,
    /// The change: after − before for a step, the fitted change across
    /// the window for a trend (a rate's in rate units, 0.1 = 10 points; a
    /// mean's in the metric's units, by Sen's slope or, where ties make
    /// that 0, least squares).
    pub change: f64,
    /// Its 95% interval (Newcombe's for a step; the slope's, times the
    /// span, for a trend).
    pub ci: [f64; 2],
    /// The level before (a step only).
    pub before: Option<f64>,
    /// The level after (a step only).
    pub after: Option<f64>,
}

impl StatedChange {
    /// The same change of the complement, on the rate itself.
    fn mirror(&mut self) {
        self.change = -self.change;
        self.ci = [-self.ci[1], -self.ci[0]];
        self.before = self.before.map(|r| 1.0 - r);
        self.after = self.after.map(|r| 1.0 - r);
    }
}

/// The change to state for a rate: the significant step when it fits the
/// runs at least as well as the trend line (weighted by decisions, the
/// residual sum of squares of the two levels against the line's), else the
/// line's change across the window. A step's two levels are its sides'
/// pooled rates, so a step reported as "88.1% → 60.8%" is what the runs
/// did, where a line through a step overstates it (its change across the
/// window runs from before the step's start to after its end).
fn stated_change(stats: &Statistics, passes: &[u64], decisions: &[u64]) -> Option<StatedChange> {
    let ca = stats.cochran_armitage.as_ref()?;
    let trend = StatedChange {
        kind: ChangeKind::Trend,
        // No rate moves more than 100 points, whatever a line extrapolates.
        change: ca.predicted_change.clamp(-1.0, 1.0),
        ci: ca.predicted_change_ci,
        before: None,
        after: None,
    };
    let Some(step) = &stats.change_point else {
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

/// Everything the verdict rests on. Field names are a contract of the JSON
/// report; a statistic undefined for the data is `None` (null), never NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    /// The rule used.
    pub method: Method,
    /// The verdict.
    pub verdict: Verdict,
    /// The chance of a false alarm (one-sided) over `evaluations`.
    pub alpha: f64,
    /// Successive evaluations (one per new run) `alpha` covers.
    pub evaluations: usize,
    /// The level each evaluation's trend test is held to: `alpha` for one
    /// evaluation, smaller (simulated) for more.
    pub level: f64,
    /// The smallest decline across the window that matters.
    pub min_drop: f64,
    /// The smallest decline across the window the trend test would detect
    /// with 80% power at `level`. Above 1 (100 points) no decline could be.
    pub min_detectable_drop: Option<f64>,
    /// Runs judged.
    pub runs: usize,
    /// Decisions judged (a run without recorded decisions counts its
    /// status as one).
    pub decisions: u64,
    /// Pooled pass rate (in a report of another rate metric: that rate;
    /// null for a metric of means).
    pub pass_rate: Option<f64>,
    /// One-sided p-value of the trend test toward worse (a decline of the
    /// pass rate, a rise of cost): the p the verdict and Holm's
    /// correction use.
    pub p_worse: Option<f64>,
    /// Set when the verdict is `insufficient_data`.
    pub insufficient: Option<Insufficient>,
    /// The trend test on pooled counts.
    pub cochran_armitage: Option<CochranArmitageStats>,
    /// The rank test on per-run rates.
    pub mann_kendall: Option<MannKendall>,
    /// The proposal's slope, with its t-test.
    pub ols: Option<OlsTest>,
    /// The most likely step down, if significant at `level`.
    pub change_point: Option<ChangePoint>,
    /// Every significant step down by binary segmentation, in run order.
    pub change_points: Vec<ChangePoint>,
    /// A metric of means: the run where its level shifted toward worse, if
    /// significant at `level` (Pettitt's test); null for rates, whose step
    /// is `change_point`.
    pub shift: Option<MeanShift>,
    /// The change the report states (a rate's step or trend, a mean's
    /// trend); null when no trend test could be made.
    pub change: Option<StatedChange>,
    /// What the verdict means, in a sentence or two.
    pub summary: String,
    /// Statistics left out, and why.
    pub notes: Vec<String>,
}

impl Statistics {
    /// Names the change points' runs: `label(run_index)` gives the run's
    /// trace id (or key) and start.
    pub fn label_runs(&mut self, label: impl Fn(usize) -> (String, Option<Timestamp>)) {
        for point in self.change_point.iter_mut().chain(&mut self.change_points) {
            (point.trace_id, point.created_at) = label(point.run_index);
        }
        if let Some(shift) = &mut self.shift {
            (shift.trace_id, shift.created_at) = label(shift.run_index);
        }
    }
}

impl Statistics {
    /// Re-expresses statistics computed on a rate's complement (1 − r) on
    /// the rate itself. The verdict and `p_worse` are kept: they already
    /// speak of the direction that is worse.
    fn mirror(&mut self) {
        let flip = |[lo, hi]: [f64; 2]| [-hi, -lo];
        self.pass_rate = self.pass_rate.map(|p| 1.0 - p);
        if let Some(ca) = &mut self.cochran_armitage {
            ca.z = -ca.z;
            ca.p_decline = 1.0 - ca.p_decline;
            ca.slope = -ca.slope;
            ca.slope_ci = flip(ca.slope_ci);
            ca.predicted_change = -ca.predicted_change;
            ca.predicted_change_ci = flip(ca.predicted_change_ci);
        }
        if let Some(mk) = &mut self.mann_kendall {
            mk.s = -mk.s;
            mk.z = -mk.z;
            mk.p_decline = 1.0 - mk.p_decline;
            mk.sen_slope = -mk.sen_slope;
            mk.sen_ci = (-mk.sen_ci.1, -mk.sen_ci.0);
        }
        if let Some(ols) = &mut self.ols {
            ols.slope = -ols.slope;
            ols.intercept = 1.0 - ols.intercept;
            ols.p_decline = ols.p_decline.map(|p| 1.0 - p);
        }
        for point in self.change_point.iter_mut().chain(&mut self.change_points) {
            point.mirror();
        }
        if let Some(change) = &mut self.change {
            change.mirror();
        }
    }
}

impl ChangePoint {
    /// The same step of the complement, on the rate itself.
    fn mirror(&mut self) {
        for level in [&mut self.before, &mut self.after] {
            level.rate = 1.0 - level.rate;
            level.ci = (1.0 - level.ci.1, 1.0 - level.ci.0);
            level.passes = level.decisions - level.passes;
        }
        self.change = -self.change;
        self.change_ci = [-self.change_ci[1], -self.change_ci[0]];
        self.relative_change =
            (self.before.rate > 0.0).then(|| self.after.rate / self.before.rate - 1.0);
    }
}

/// Why a verdict's options cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum OptionsError {
    /// α outside (0, 0.5).
    #[error("alpha must be between 0 and 0.5, got {0}")]
    Alpha(f64),
    /// min_drop outside (0, 1).
    #[error("min-drop must be above 0 and below 1, got {0}")]
    MinDrop(f64),
    /// A confidence level outside (0, 1).
    #[error("confidence must be between 0 and 1, got {0}")]
    Confidence(f64),
}

impl VerdictOptions {
    /// Checks α, min_drop and the confidence level.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if !(self.alpha > 0.0 && self.alpha < 0.5) {
            return Err(OptionsError::Alpha(self.alpha));
        }
        if !(self.min_drop > 0.0 && self.min_drop < 1.0) {
            return Err(OptionsError::MinDrop(self.min_drop));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(OptionsError::Confidence(self.confidence));
        }
        Ok(())
    }
}

/// What a verdict is about: its name in sentences and which way is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// "pass rate", "revise rate", "cost per trace".
    pub noun: &'a str,
    /// Which way is a regression.
    pub worse: Worse,
}

impl Subject<'_> {
    /// The gate's pass rate, the default subject.
    pub const PASS_RATE: Subject<'static> = Subject {
        noun: "pass rate",
        worse: Worse::Lower,
    };

    /// "decline" or "rise": a move toward worse.
    pub(crate) fn worsening(&self) -> &'static str {
        self.worse.worsening()
    }

    /// "fell" or "rose": the verb of a move toward worse, or (`better`)
    /// toward better.
    pub(crate) fn moved(&self, better: bool) -> &'static str {
        match (self.worse, better) {
            (Worse::Lower, false) | (Worse::Higher, true) => "fell",
            _ => "rose",
        }
    }
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
    let scores: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let mut stats = Statistics {
        method: options.method,
        verdict: Verdict::Stable,
        alpha: options.alpha,
        evaluations: options.repeated.evaluations.max(1),
        level: options.alpha,
        min_drop: options.min_drop,
        min_detectable_drop: None,
        runs: n,
        decisions: total,
        pass_rate: (total > 0).then(|| passed as f64 / total as f64),
        p_worse: None,
        insufficient: None,
        cochran_armitage: None,
        mann_kendall: None,
        ols: None,
        change_point: None,
        change_points: Vec::new(),
        shift: None,
        change: None,
        summary: String::new(),
        notes: Vec::new(),
    };

    let test = trend_test(passes, decisions, options.confidence);
    if let (Ok(_), Some(rate), Method::Auto) = (&test, stats.pass_rate, options.method) {
        if stats.evaluations > 1 {
            let simulated = repeated_level(
                decisions,
                simulation_rate(rate),
                options.alpha,
                &options.repeated,
            );
            stats.level = simulated.unwrap_or_else(|why| {
                // Too long a window to simulate (or too short to judge):
                // Bonferroni's α/N bounds N evaluations too, less tightly.
                stats.notes.push(format!(
                    "level for {} evaluations by Bonferroni, not simulated: {why}",
                    stats.evaluations
                ));
                options.alpha / stats.evaluations as f64
            });
        }
    }
    if let Ok(TrendTest {
        test: ca,
        dispersion,
        df,
    }) = &test
    {
        // The span the predicted change covers: runs with decisions.
        let first = decisions.iter().position(|&k| k > 0);
        let last = decisions.iter().rposition(|&k| k > 0);
        let span = match (first, last) {
            (Some(first), Some(last)) => (last - first) as f64,
            _ => 0.0,
        };
        stats.p_worse = Some(ca.p_decline);
        stats.cochran_armitage = Some(CochranArmitageStats {
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
        });
    }
    let dispersion = test.as_ref().map_or(1.0, |t| t.test.dispersion);
    let df = test.as_ref().ok().and_then(|t| t.df);
    let level = stats.level;
    stats.min_detectable_drop = stats
        .pass_rate
        .and_then(|p| min_detectable_drop(decisions, &scores, p, dispersion, level, df).ok());

    let rates: Vec<f64> = passes
        .iter()
        .zip(decisions)
        .filter(|(_, &k)| k > 0)
        .map(|(&x, &k)| x as f64 / k as f64)
        .collect();
    let run_scores: Vec<f64> = decisions
        .iter()
        .enumerate()
        .filter(|(_, &k)| k > 0)
        .map(|(i, _)| i as f64)
        .collect();
    stats.ols = ols_test(&run_scores, &rates).ok();
    if !options.verdict_only {
        if rates.len() <= MANN_KENDALL_MAX_RUNS {
            stats.mann_kendall = mann_kendall(&rates, options.confidence).ok();
        } else {
            stats.notes.push(format!(
                "Mann–Kendall left out: {} runs (its cost grows as n²; at most {MANN_KENDALL_MAX_RUNS})",
                rates.len()
            ));
        }
    }

    let step_options = StepOptions {
        permutations: permutations(passes, decisions, options.step.permutations, level),
        confidence: options.confidence,
        // A step is reported only below α, so its p-value above α is never
        // shown: stop permuting once it is certain to be there.
        stop_at: Some(level),
        ..options.step
    };
    // Computed at most once, and only if needed.
    let whole_step = OnceCell::new();
    let any_step =
        || *whole_step.get_or_init(|| step_change(passes, decisions, &step_options).ok());
    let step = || any_step().filter(|s| s.p_value < level);

    match options.method {
        Method::Ols if n < 2 => {
            // No line through fewer than two runs: the rule cannot say
            // "stable" about nothing.
            stats.verdict = Verdict::InsufficientData;
            stats.insufficient = Some(ols_too_few(n));
        }
        Method::Ols => {
            let slope = stats.ols.map_or(0.0, |o| o.slope);
            stats.verdict = if slope < -options.threshold {
                Verdict::Regression
            } else if slope > options.threshold {
                Verdict::Improvement
            } else {
                Verdict::Stable
            };
        }
        Method::Auto => {
            if let Some(short) = too_few(n, total) {
                stats.verdict = Verdict::InsufficientData;
                stats.insufficient = Some(short);
            } else {
                judge_auto(&mut stats, &test, &step, options, subject);
            }
        }
    }
    if stats.change_point.is_none() && !options.verdict_only {
        stats.change_point = step().map(|s| ChangePoint::new(&s));
    }
    if !options.verdict_only && stats.change_point.is_some() && n > SEGMENTATION_MAX_RUNS {
        stats.notes.push(format!(
            "binary segmentation left out: {n} runs (a permutation test per segment; at most {SEGMENTATION_MAX_RUNS})"
        ));
    } else if !options.verdict_only && stats.change_point.is_some() {
        stats.change_points = segment(
            passes,
            decisions,
            level,
            MAX_CHANGES,
            &step_options,
            any_step(),
        )
        .iter()
        .map(ChangePoint::new)
        .collect();
    }
    stats.change = stated_change(&stats, passes, decisions);
    stats.summary = summary(&stats, subject);
    stats
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

fn judge_auto(
    stats: &mut Statistics,
    test: &Result<TrendTest, Undefined>,
    step: &dyn Fn() -> Option<StepChange>,
    options: &VerdictOptions,
    subject: Subject<'_>,
) {
    let level = stats.level;
    let ca = match test {
        Ok(test) => &test.test,
        // Every decision alike: nothing moved, if the data could have shown
        // a move.
        Err(Undefined::NoVariation) => {
            if !underpowered(stats, options, subject) {
                stats.verdict = Verdict::Stable;
            }
            return;
        }
        Err(why) => {
            stats.verdict = Verdict::InsufficientData;
            stats.insufficient = Some(Insufficient {
                reason: Shortfall::NoTrendTest {
                    why: why.to_string(),
                },
                remedy: Remedy::RunsWithDecisions,
            });
            return;
        }
    };
    let drop_matters = -ca.predicted_change >= options.min_drop;
    if ca.p_decline < level {
        if drop_matters {
            stats.verdict = Verdict::Regression;
            return;
        }
        if let Some(s) = step() {
            let matters = -s.change >= options.min_drop;
            stats.change_point = Some(ChangePoint::new(&s));
            if matters {
                stats.verdict = Verdict::Regression;
                return;
            }
        }
    } else if 1.0 - ca.p_decline < level && ca.predicted_change >= options.min_drop {
        stats.verdict = Verdict::Improvement;
        return;
    }
    if !underpowered(stats, options, subject) {
        stats.verdict = Verdict::Stable;
    }
}

/// Marks the verdict `insufficient_data` if the minimum detectable drop is
/// more than [`MDE_FACTOR`] × `min_drop`; returns whether it did.
fn underpowered(stats: &mut Statistics, options: &VerdictOptions, subject: Subject<'_>) -> bool {
    if let Some(mde) = stats.min_detectable_drop {
        let limit = MDE_FACTOR * options.min_drop;
        if mde > limit {
            stats.verdict = Verdict::InsufficientData;
            let grow = (mde / limit).powi(2);
            let needed = stats.decisions as f64 * grow;
            // The count needed grows as the level shrinks; past any
            // realistic store (or infinite, at a level near 0) a number
            // would say nothing.
            let remedy = if mde < 1.0 && needed.is_finite() && needed <= MAX_NEEDED_DECISIONS {
                Remedy::MoreDecisions {
                    decisions: needed.ceil() as u64,
                    runs: (stats.runs as f64 * grow).ceil() as u64,
                }
            } else {
                Remedy::RaiseLevelOrMinDrop
            };
            stats.insufficient = Some(Insufficient {
                reason: Shortfall::Underpowered {
                    runs: stats.runs,
                    detectable: mde,
                    worsening: subject.worsening(),
                    level: stats.level,
                    min_drop: options.min_drop,
                },
                remedy,
            });
            return true;
        }
    }
    false
}

/// The plain sentence of the report.
fn summary(stats: &Statistics, subject: Subject<'_>) -> String {
    let runs = count(stats.runs, "run");
    let ci = |ca: &CochranArmitageStats| {
        format!(
            "across {runs} (95% CI {:+.1} to {:+.1})",
            100.0 * ca.predicted_change_ci[0],
            100.0 * ca.predicted_change_ci[1],
        )
    };
    // A step that explains the runs is the change stated; the fitted
    // line's only for a gradual trend (then the step, if any, follows).
    let stepped = stats
        .change_point
        .as_ref()
        .filter(|_| stats.change.is_some_and(|c| c.kind == ChangeKind::Step));
    let step_size = |c: &ChangePoint| {
        format!(
            "from {:.1}% to {:.1}% at run {} ({}, 95% CI {:+.1} to {:+.1}; step test p = {})",
            100.0 * c.before.rate,
            100.0 * c.after.rate,
            c.run_index,
            signed_points(c.change),
            100.0 * c.change_ci[0],
            100.0 * c.change_ci[1],
            p_text(c.p_value)
        )
    };
    let change = match stepped {
        Some(c) => Some(step_size(c)),
        None => stats
            .cochran_armitage
            .map(|ca| format!("{} {}", signed_points(ca.predicted_change), ci(&ca))),
    };
    let size = match stepped {
        Some(c) => Some(step_size(c)),
        None => stats
            .cochran_armitage
            .map(|ca| format!("by {} {}", points(ca.predicted_change.abs()), ci(&ca))),
    };
    let step = stats
        .change_point
        .as_ref()
        .filter(|_| stepped.is_none())
        .map(|c| {
            format!(
                " It stepped from {:.1}% to {:.1}% at run {} (step test p = {}).",
                100.0 * c.before.rate,
                100.0 * c.after.rate,
                c.run_index,
                p_text(c.p_value)
            )
        });
    let worsening = subject.worsening();
    let detectable = stats
        .min_detectable_drop
        .filter(|&m| m < 1.0)
        .map(|m| {
            format!(
                " These runs could reveal a {worsening} of {} or more.",
                points(m)
            )
        })
        .unwrap_or_default();
    let p = stats.p_worse;
    let noun = subject.noun;
    let sentence = |text: String| {
        let mut chars = text.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    };
    match (stats.method, stats.verdict) {
        (_, Verdict::InsufficientData) => match &stats.insufficient {
            Some(i) => format!("Too little data to judge: {}. To fix: {}.", i.reason, i.remedy),
            None => "Too little data to judge.".to_owned(),
        },
        (Method::Ols, verdict) => {
            let slope = stats.ols.map_or(0.0, |o| o.slope);
            format!(
                "The proposal's rule: an OLS slope of {slope:+.4}/run is {} (no significance test).",
                match verdict {
                    Verdict::Regression => "worsening",
                    Verdict::Improvement => "improving",
                    _ => "stable",
                }
            )
        }
        (Method::Auto, Verdict::Regression | Verdict::NotSignificant) => sentence(format!(
            "the {noun} {} {}; a {worsening} like this arises by chance with probability {}.{}",
            subject.moved(false),
            size.unwrap_or_default(),
            p.map_or_else(String::new, p_text),
            step.unwrap_or_default()
        )),
        (Method::Auto, Verdict::Improvement) => sentence(format!(
            "the {noun} {} {}; by chance with probability {}.",
            subject.moved(true),
            size.unwrap_or_default(),
            p.map_or_else(String::new, |p| p_text(1.0 - p))
        )),
        (Method::Auto, Verdict::Stable) => match change {
            Some(change) => format!(
                "No {worsening} that matters: the {noun} moved {change}, p({worsening}) = {}.{detectable}",
                p.map_or_else(String::new, p_text)
            ),
            None => format!("Every decision of the {runs} had the same outcome: nothing moved."),
        },
    }
}

/// Decisions beyond which a remedy's count is no help to anyone.
const MAX_NEEDED_DECISIONS: f64 = 1e9;

/// A test's level: 4 decimals, or 2 significant digits below 0.0001 (a
/// level is chosen, and `--alpha 1e-6` must not read as "below 0.0001").
pub(crate) fn level_text(level: f64) -> String {
    if level < 1e-4 {
        format!("{level:.1e}")
    } else {
        format!("{level:.4}")
    }
}

/// A p-value with 4 decimals, or "below 0.0001".
pub(crate) fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "below 0.0001".to_owned()
    } else {
        format!("{p:.4}")
    }
}

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
        let step = stats.change_point.unwrap();
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
        let ca = stats.cochran_armitage.unwrap();
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
        assert_eq!(change.kind, ChangeKind::Trend, "{:?}", stats.change_point);
        let ca = stats.cochran_armitage.unwrap();
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
        assert!(stats.change_point.is_none());
        assert!(stats.mann_kendall.is_some() && stats.ols.is_some());
    }

    #[test]
    fn a_significant_but_tiny_decline_is_not_a_regression() {
        // 0.2 points across the window on a huge sample.
        let passes: Vec<u64> = (0..40).map(|i| 90_000 - i * 5).collect();
        let stats = judge(&passes, &[100_000; 40]);
        assert!(stats.cochran_armitage.unwrap().p_decline < 0.01);
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
}
