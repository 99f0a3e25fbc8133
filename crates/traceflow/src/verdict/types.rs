//! The verdict's contract: its options, the verdict, the statistics behind
//! it and why data can be too little. Plain data, serialized as the JSON
//! report's `statistics`.

// The verdict's parts share its imports and helpers.
use super::*;

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
    /// The 95% interval of the pass rate's change within the same cases
    /// reaches too far toward worse (in rate units, not relative).
    WideWithinCases {
        /// How far toward worse (a share, 1 = 100 points).
        reach: f64,
        /// Runs in the window.
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
    pub(crate) fn new(step: &StepChange) -> Self {
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
    pub(crate) fn mirror(&mut self) {
        self.change = -self.change;
        self.ci = [-self.ci[1], -self.ci[0]];
        self.before = self.before.map(|r| 1.0 - r);
        self.after = self.after.map(|r| 1.0 - r);
    }
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
    /// What the trend tests found: a rate's or a mean's evidence. In the
    /// JSON its fields sit here, each test's object or null.
    #[serde(flatten)]
    pub evidence: Evidence,
    /// The change the report states (a rate's step or trend, a mean's
    /// trend); null when no trend test could be made.
    pub change: Option<StatedChange>,
    /// What the verdict means, in a sentence or two.
    pub summary: String,
    /// Statistics left out, and why.
    pub notes: Vec<String>,
    /// The pass rate's trend within the same cases (`--case-by`); absent
    /// from the JSON otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_cases: Option<WithinCases>,
}

/// What the trend tests found, by the kind of metric judged. Every test
/// that can be made is reported, whichever rule (`auto` or `ols`) gave the
/// verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// A rate of counts (the pass rate, a decision's rate).
    Rate(Box<RateEvidence>),
    /// A per-run mean (scores, cost, latency, tokens).
    Mean(Box<MeanEvidence>),
}

/// A rate's evidence: the trend test on pooled counts, the per-run tests,
/// the steps.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateEvidence {
    /// The trend test on pooled counts; `None` when it is undefined (no
    /// variation, fewer than two runs with decisions).
    pub cochran_armitage: Option<CochranArmitageStats>,
    /// The rank test on per-run rates; `None` when left out or undefined.
    pub mann_kendall: Option<MannKendall>,
    /// The proposal's slope, with its t-test.
    pub ols: Option<OlsTest>,
    /// The most likely step down, if significant at the level.
    pub change_point: Option<ChangePoint>,
    /// Every significant step down by binary segmentation, in run order.
    pub change_points: Vec<ChangePoint>,
}

/// A mean's evidence: the rank test, the least-squares line, the shift.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanEvidence {
    /// Mann–Kendall on the per-run means, with Sen's slope.
    pub mann_kendall: Option<MannKendall>,
    /// The least-squares line through the per-run means.
    pub ols: Option<OlsTest>,
    /// The run where the level shifted toward worse, if significant at the
    /// level (Pettitt's test).
    pub shift: Option<MeanShift>,
}

/// The JSON's contract: every test's field, null where the metric's kind
/// has no such test (a rate has no shift; a mean no Cochran–Armitage or
/// steps).
#[derive(Serialize)]
struct EvidenceFields<'a> {
    cochran_armitage: Option<&'a CochranArmitageStats>,
    mann_kendall: Option<&'a MannKendall>,
    ols: Option<&'a OlsTest>,
    change_point: Option<&'a ChangePoint>,
    change_points: &'a [ChangePoint],
    shift: Option<&'a MeanShift>,
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = match self {
            Evidence::Rate(rate) => EvidenceFields {
                cochran_armitage: rate.cochran_armitage.as_ref(),
                mann_kendall: rate.mann_kendall.as_ref(),
                ols: rate.ols.as_ref(),
                change_point: rate.change_point.as_ref(),
                change_points: &rate.change_points,
                shift: None,
            },
            Evidence::Mean(mean) => EvidenceFields {
                cochran_armitage: None,
                mann_kendall: mean.mann_kendall.as_ref(),
                ols: mean.ols.as_ref(),
                change_point: None,
                change_points: &[],
                shift: mean.shift.as_ref(),
            },
        };
        fields.serialize(serializer)
    }
}

impl Evidence {
    /// The trend test on pooled counts (a rate's).
    pub fn cochran_armitage(&self) -> Option<&CochranArmitageStats> {
        match self {
            Evidence::Rate(rate) => rate.cochran_armitage.as_ref(),
            Evidence::Mean(_) => None,
        }
    }

    /// The rank test on the per-run values.
    pub fn mann_kendall(&self) -> Option<&MannKendall> {
        match self {
            Evidence::Rate(rate) => rate.mann_kendall.as_ref(),
            Evidence::Mean(mean) => mean.mann_kendall.as_ref(),
        }
    }

    /// The least-squares line through the per-run values.
    pub fn ols(&self) -> Option<&OlsTest> {
        match self {
            Evidence::Rate(rate) => rate.ols.as_ref(),
            Evidence::Mean(mean) => mean.ols.as_ref(),
        }
    }

    /// A rate's most likely significant step.
    pub fn change_point(&self) -> Option<&ChangePoint> {
        match self {
            Evidence::Rate(rate) => rate.change_point.as_ref(),
            Evidence::Mean(_) => None,
        }
    }

    /// A rate's significant steps, in run order.
    pub fn change_points(&self) -> &[ChangePoint] {
        match self {
            Evidence::Rate(rate) => &rate.change_points,
            Evidence::Mean(_) => &[],
        }
    }

    /// A mean's significant shift.
    pub fn shift(&self) -> Option<&MeanShift> {
        match self {
            Evidence::Rate(_) => None,
            Evidence::Mean(mean) => mean.shift.as_ref(),
        }
    }
}

/// The pass rate's trend within the same cases: each case against its own
/// level (the Cochran–Armitage test summed within cases), beside the trend
/// across all decisions; their difference is the change in the mix of
/// cases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WithinCases {
    /// Cases that inform it: asked in two or more runs, and not all one
    /// outcome.
    pub cases: usize,
    /// The share of the decisions in cases asked in two or more runs.
    pub share: f64,
    /// Whether the verdict rests on it: the cases repeat enough (at least
    /// [`MIN_REPEATED_SHARE`](super::MIN_REPEATED_SHARE) of the decisions
    /// in at least 2 informing cases), the rule is `auto`, and the window
    /// has the runs and decisions any trend needs.
    pub used: bool,
    /// The test statistic: negative for a decline.
    pub z: f64,
    /// One-sided p-value for a decline.
    pub p_decline: f64,
    /// The change within cases across the window (the within-case slope
    /// times the runs' span), in rate units.
    pub change: f64,
    /// Its 95% interval.
    pub change_ci: [f64; 2],
    /// The change across all decisions (Cochran–Armitage's fitted change)
    /// minus the change within cases: what the mix of cases moved; null
    /// without a trend test across all decisions.
    pub mix: Option<f64>,
}

impl Statistics {
    /// Names the change points' runs: `label(run_index)` gives the run's
    /// trace id (or key) and start.
    pub fn label_runs(&mut self, label: impl Fn(usize) -> (String, Option<Timestamp>)) {
        match &mut self.evidence {
            Evidence::Rate(rate) => {
                for point in rate.change_point.iter_mut().chain(&mut rate.change_points) {
                    (point.trace_id, point.created_at) = label(point.run_index);
                }
            }
            Evidence::Mean(mean) => {
                if let Some(shift) = &mut mean.shift {
                    (shift.trace_id, shift.created_at) = label(shift.run_index);
                }
            }
        }
    }
}

impl Statistics {
    /// Re-expresses statistics computed on a rate's complement (1 − r) on
    /// the rate itself. The verdict and `p_worse` are kept: they already
    /// speak of the direction that is worse.
    pub(crate) fn mirror(&mut self) {
        self.pass_rate = self.pass_rate.map(|p| 1.0 - p);
        if let Evidence::Rate(rate) = &mut self.evidence {
            rate.mirror();
        }
        if let Some(change) = &mut self.change {
            change.mirror();
        }
    }
}

impl RateEvidence {
    /// Re-expresses a complement's tests on the rate itself.
    fn mirror(&mut self) {
        let flip = |[lo, hi]: [f64; 2]| [-hi, -lo];
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
    }
}

impl ChangePoint {
    /// The same step of the complement, on the rate itself.
    pub(crate) fn mirror(&mut self) {
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
    /// A threshold that is negative or not a number.
    #[error("threshold must be a finite number >= 0, got {0}")]
    Threshold(f64),
    /// Evaluations outside 1..=[`MAX_EVALUATIONS`].
    #[error("evaluations must be between 1 and {MAX_EVALUATIONS}, got {0}")]
    Evaluations(usize),
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

impl OptionsError {
    /// What kind of failure this is: the caller's to fix.
    pub fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::InvalidInput
    }
}

impl VerdictOptions {
    /// Checks the threshold, α, min_drop and the confidence level.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(OptionsError::Threshold(self.threshold));
        }
        if !(self.alpha > 0.0 && self.alpha < 0.5) {
            return Err(OptionsError::Alpha(self.alpha));
        }
        if !(self.min_drop > 0.0 && self.min_drop < 1.0) {
            return Err(OptionsError::MinDrop(self.min_drop));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(OptionsError::Confidence(self.confidence));
        }
        let evaluations = self.repeated.evaluations;
        if !(1..=MAX_EVALUATIONS).contains(&evaluations) {
            return Err(OptionsError::Evaluations(evaluations));
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
