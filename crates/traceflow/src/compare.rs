//! Baseline against candidate: the pull-request check. Two selections of
//! the window's traces (main's recent runs, the PR's), their pass rates'
//! difference with its interval and a one-sided test toward worse, every
//! other metric's difference, and the per-case table of the two.
//!
//! When the cases repeat (the same questions asked of both), the
//! difference is paired through them: the Mantel–Haenszel risk difference
//! over the cases both asked, with Sato's variance, and the
//! Cochran–Mantel–Haenszel test; otherwise unpaired: Newcombe's interval
//! and Fisher's exact test on the counts each side's traces are worth (a
//! trace's decisions are a cluster: Rao and Scott's design effect).

use std::fmt;

use jiff::Timestamp;
use serde::{Serialize, Serializer};

use crate::cases::{judged, CaseOptions, CaseRow, CaseVerdict, VerdictCounts, DEFAULT_FDR};
use crate::error::InvalidValue;
use crate::metric::Metric;
use crate::progress::{Progress, Stage};
use crate::stats::{
    design_effect, effective_counts, fisher_worse, newcombe, stratified_cochran_armitage,
};
use crate::store::FactsStore;
use crate::verdict::{Method, OptionsError, VerdictOptions, MDE_FACTOR};
use crate::window::{
    self, CaseBy, GroupBy, LeftOut, Needs, Pooled, Runs, Window, WindowError, WindowOptions,
};

/// One condition of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `config.KEY=VALUE`: the trace's config has this value for the key.
    Config {
        /// The key.
        key: String,
        /// The value, as text (strings as they are, other JSON as JSON).
        value: String,
    },
    /// `model=NAME`.
    Model(String),
    /// `mode=NAME`.
    Mode(String),
    /// `provider=NAME`.
    Provider(String),
    /// `since=TIME`: started at or after.
    Since(Timestamp),
    /// `until=TIME`: started before.
    Until(Timestamp),
    /// `last=N`: the newest N runs of the traces the other conditions keep
    /// (the side's own window).
    Last(usize),
}

/// Which traces of the window one side of a comparison takes: every
/// condition must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The conditions, as given.
    pub conditions: Vec<Condition>,
    /// The selector as written, for reports.
    pub text: String,
}

impl Selector {
    /// Parses comma-joined conditions; `time` reads a `since=`/`until=`
    /// value (an age or a time, as `--since` takes them).
    pub fn parse(
        text: &str,
        time: impl Fn(&str) -> Result<Timestamp, InvalidValue>,
    ) -> Result<Selector, InvalidValue> {
        let invalid = |text: String| Err(InvalidValue::new(text));
        let mut conditions = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, value)) = part.split_once('=') else {
                return invalid(format!(
                    "{part:?} is not NAME=VALUE (expected config.KEY=VALUE, model=, mode=, provider=, since=, until= or last=)"
                ));
            };
            let (name, value) = (name.trim(), value.trim());
            let condition = match name {
                "model" => Condition::Model(value.to_owned()),
                "mode" => Condition::Mode(value.to_owned()),
                "provider" => Condition::Provider(value.to_owned()),
                "since" => Condition::Since(time(value)?),
                "until" => Condition::Until(time(value)?),
                "last" => match value.parse::<usize>() {
                    Ok(n) if n > 0 => Condition::Last(n),
                    _ => return invalid(format!("last={value}: expected a number of runs above 0")),
                },
                _ => match name.strip_prefix("config.").filter(|k| !k.is_empty()) {
                    Some(key) => Condition::Config {
                        key: key.to_owned(),
                        value: value.to_owned(),
                    },
                    None => {
                        return invalid(format!(
                            "unknown condition {name:?} (expected config.KEY, model, mode, provider, since, until or last)"
                        ))
                    }
                },
            };
            conditions.push(condition);
        }
        if conditions.is_empty() {
            return invalid(
                "an empty selector (expected conditions such as config.branch=main)".to_owned(),
            );
        }
        Ok(Selector {
            conditions,
            text: text.trim().to_owned(),
        })
    }

    /// [`Selector::parse`], ages in `since=` and `until=` taken back from
    /// `now`.
    pub fn parse_at(text: &str, now: Timestamp) -> Result<Selector, InvalidValue> {
        Selector::parse(text, |at| crate::timestamp::TimeBound::instant(at, now))
    }

    /// The config keys its conditions read.
    fn config_keys(&self) -> impl Iterator<Item = &String> {
        self.conditions.iter().filter_map(|c| match c {
            Condition::Config { key, .. } => Some(key),
            _ => None,
        })
    }

    /// Which members its conditions other than `last=` take.
    fn matches(&self, pooled: &Pooled) -> Vec<bool> {
        // Each config condition's place among the heads' values, found once.
        let slots: Vec<Option<usize>> = self
            .conditions
            .iter()
            .map(|c| match c {
                Condition::Config { key, .. } => pooled.config_slot(key),
                _ => None,
            })
            .collect();
        let head_matches = |i: usize| {
            let head = &pooled.members[i];
            self.conditions.iter().zip(&slots).all(|(c, slot)| match c {
                Condition::Config { value, .. } => {
                    slot.and_then(|slot| head.config.get(slot)?.as_deref()) == Some(value.as_str())
                }
                Condition::Model(m) => head.model() == m,
                Condition::Mode(m) => head.mode() == m,
                Condition::Provider(p) => head.provider() == p,
                Condition::Since(t) => head.created_at >= *t,
                Condition::Until(t) => head.created_at < *t,
                Condition::Last(_) => true,
            })
        };
        (0..pooled.members.len()).map(head_matches).collect()
    }

    /// Its `last=N`, if it has one.
    fn last(&self) -> Option<usize> {
        self.conditions.iter().find_map(|c| match c {
            Condition::Last(n) => Some(*n),
            _ => None,
        })
    }

    /// Which members it selects: those it matches, of their newest
    /// `last=N` runs if it says so.
    fn selected(&self, pooled: &Pooled) -> Vec<bool> {
        let mut taken = self.matches(pooled);
        if let Some(n) = self.last() {
            keep_newest(pooled, &mut taken, Window::Last(n));
        }
        taken
    }

    /// Which members it takes: those it selects, of their newest `window`
    /// runs unless it has a `last=N` of its own.
    fn members(&self, pooled: &Pooled, window: Window) -> Vec<bool> {
        let mut taken = self.selected(pooled);
        if self.last().is_none() {
            keep_newest(pooled, &mut taken, window);
        }
        taken
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Keeps the taken members of the newest `window` runs that have one.
fn keep_newest(pooled: &Pooled, taken: &mut [bool], window: Window) {
    let Window::Last(n) = window else {
        return;
    };
    let mut runs: Vec<usize> = (0..taken.len())
        .filter(|&i| taken[i])
        .map(|i| pooled.run_of(i))
        .collect();
    runs.sort_unstable();
    runs.dedup();
    let first = runs.len().saturating_sub(n);
    let Some(&oldest) = runs.get(first) else {
        return;
    };
    for (i, t) in taken.iter_mut().enumerate() {
        *t = *t && pooled.run_of(i) >= oldest;
    }
}

/// Which members each side takes, `(baseline, candidate)`.
///
/// A selector chooses among every trace in the time bounds, the window
/// bounding each side on its own (its newest runs, or its `last=N`): a
/// window of the store's newest runs would cut the traces `until=` names
/// away. A side without a selector takes the newest runs of the traces the
/// other's selector does not select (the window is a bound, not a choice:
/// with `--candidate since=T` the baseline is before T). Without selectors the window is the
/// store's newest runs, as the trend's: with runs of one trace the
/// candidate is its newer half and the baseline its older half (one trace
/// can never show a change), with pooled runs the candidate is the newest
/// run and the baseline the runs before it.
fn sides(pooled: &Pooled, options: &CompareOptions) -> (Vec<bool>, Vec<bool>) {
    let window = options.window.runs;
    let others = |selector: &Selector| {
        let mut taken: Vec<bool> = selector.selected(pooled).iter().map(|m| !m).collect();
        keep_newest(pooled, &mut taken, window);
        taken
    };
    match (&options.baseline, &options.candidate) {
        (Some(b), Some(c)) => (b.members(pooled, window), c.members(pooled, window)),
        (Some(b), None) => (b.members(pooled, window), others(b)),
        (None, Some(c)) => (others(c), c.members(pooled, window)),
        (None, None) => {
            let runs = pooled.runs();
            let first = match pooled.runs {
                Runs::PerTrace => runs - runs / 2,
                Runs::Keyed { .. } => runs.saturating_sub(1),
            };
            let candidate: Vec<bool> = (0..pooled.members.len())
                .map(|i| pooled.run_of(i) >= first)
                .collect();
            (candidate.iter().map(|c| !c).collect(), candidate)
        }
    }
}

/// What to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Which runs: with a selector, each side's newest runs; without,
    /// the window that is split.
    pub window: WindowOptions,
    /// The rule (α, the minimum drop) the comparison is judged by.
    pub verdict: VerdictOptions,
    /// The baseline; `None`: see the candidate.
    pub baseline: Option<Selector>,
    /// The candidate; `None` with a baseline: the traces the baseline does
    /// not select (their newest window of runs). Both `None`:
    /// the window's newer half against its older half with runs of one
    /// trace, its newest run against the runs before it with pooled runs.
    pub candidate: Option<Selector>,
    /// What makes traces the same case.
    pub case_by: CaseBy,
    /// The false-discovery rate of the per-case table.
    pub fdr: f64,
    /// Compare the pooled rates even when the cases could pair them.
    pub unpaired: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            window: WindowOptions::default(),
            verdict: VerdictOptions::default(),
            baseline: None,
            candidate: None,
            case_by: CaseBy::Input,
            fdr: DEFAULT_FDR,
            unpaired: false,
        }
    }
}

/// The comparison's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareVerdict {
    /// The candidate passes less often, by at least min-drop, significantly.
    Regression,
    /// The candidate passes more often, by at least min-drop, significantly.
    Improvement,
    /// Neither, and the interval rules out a drop of 3 × min-drop.
    Stable,
    /// Neither, and the interval cannot rule out a drop of 3 × min-drop.
    InsufficientData,
}

impl CompareVerdict {
    /// The comparison's exit code as a gate's
    /// ([`crate::trend::gate::exit_code`]): `require_data` turns too little
    /// data into a failure of its own.
    pub fn exit_code(self, require_data: bool) -> u8 {
        use crate::trend::gate::exit_code;
        match self {
            CompareVerdict::Regression => exit_code::REGRESSION,
            CompareVerdict::InsufficientData if require_data => exit_code::INSUFFICIENT_DATA,
            CompareVerdict::InsufficientData
            | CompareVerdict::Improvement
            | CompareVerdict::Stable => exit_code::PASS,
        }
    }

    /// The JSON's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareVerdict::Regression => "regression",
            CompareVerdict::Improvement => "improvement",
            CompareVerdict::Stable => "stable",
            CompareVerdict::InsufficientData => "insufficient_data",
        }
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arm {
    /// The selector, as written; `None` for the default.
    pub selector: Option<String>,
    /// Runs with a trace of it.
    pub runs: usize,
    /// Its traces.
    pub traces: usize,
    /// PASS decisions.
    pub passes: u64,
    /// Decisions (a trace without recorded decisions counts as one).
    pub decisions: u64,
    /// passes / decisions.
    pub rate: Option<f64>,
    /// How many times the variance of its pass rate exceeds the binomial
    /// one, its traces' decisions being clusters (Rao and Scott); the
    /// unpaired comparison divides its counts by it.
    pub design_effect: f64,
}

/// The pass rate's difference, candidate − baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Difference {
    /// The estimate (paired: Mantel–Haenszel's over the shared cases).
    pub estimate: f64,
    /// Its 95% interval (paired: Sato's variance; unpaired: Newcombe's).
    pub ci: [f64; 2],
}

/// Another metric on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDifference {
    /// The metric.
    pub metric: Metric,
    /// Its value over the baseline's traces.
    pub baseline: Option<f64>,
    /// Its value over the candidate's traces.
    pub candidate: Option<f64>,
    /// candidate − baseline.
    pub difference: Option<f64>,
}

/// A comparison of candidate with baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareReport {
    /// What makes traces the same case.
    pub case_by: CaseBy,
    /// What a run is.
    pub group_by: GroupBy,
    /// The window asked for, in runs: with selectors, each side's bound
    /// (its newest runs); without, the store's newest runs the two sides
    /// share.
    pub requested_window: Window,
    /// The rule (`ols` is judged as `auto` here: a comparison has no slope).
    pub method: Method,
    /// The one-sided significance level.
    pub alpha: f64,
    /// The smallest drop that matters.
    pub min_drop: f64,
    /// The verdict.
    pub verdict: CompareVerdict,
    /// The pass rate's difference.
    pub difference: Difference,
    /// Whether the cases paired it.
    pub paired: bool,
    /// Cases asked on both sides (the paired estimate's strata).
    pub shared_cases: usize,
    /// Their share of both sides' decisions.
    pub shared_share: f64,
    /// One-sided p toward worse (paired: Cochran–Mantel–Haenszel; unpaired:
    /// Fisher's exact test).
    pub p_worse: Option<f64>,
    /// One-sided p toward better.
    pub p_better: Option<f64>,
    /// What the verdict means, in a sentence.
    pub summary: String,
    /// The baseline.
    pub baseline: Arm,
    /// The candidate.
    pub candidate: Arm,
    /// Every other metric's difference.
    pub metrics: Vec<MetricDifference>,
    /// The per-case table's false-discovery rate.
    pub fdr: f64,
    /// Cases per verdict (before = baseline, after = candidate).
    pub counts: VerdictCounts,
    /// What the window left out: uncased and running traces, unreadable
    /// rows (`stale`, `ungrouped` and `flaky` are `None`: the comparison's
    /// layout has never had them).
    #[serde(flatten)]
    pub left_out: LeftOut,
    /// Every case: `before` is the baseline, `after` the candidate.
    pub cases: Vec<CaseRow>,
}

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The window could not be read or pooled.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// Verdict options out of range.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// A side selected no trace.
    #[error("the {side} selects no finished trace{}", selector.as_ref().map_or_else(String::new, |s| format!(" ({s})")))]
    Empty {
        /// `baseline` or `candidate`.
        side: &'static str,
        /// Its selector.
        selector: Option<String>,
    },
    /// Traces selected by both sides.
    #[error(
        "{traces} traces match both the baseline and the candidate: make the selectors exclusive"
    )]
    Overlap {
        /// How many.
        traces: usize,
    },
}

impl CompareError {
    /// What kind of failure this is.
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            CompareError::Window(err) => err.kind(),
            CompareError::Options(err) => err.kind(),
            CompareError::Empty { .. } | CompareError::Overlap { .. } => {
                crate::error::ErrorKind::InvalidInput
            }
        }
    }
}

/// A side's traces (indices into the pooled members); an error when it
/// takes none.
fn arm_traces(
    taken: &[bool],
    selector: &Option<Selector>,
    side: &'static str,
) -> Result<Vec<usize>, CompareError> {
    let traces: Vec<usize> = (0..taken.len()).filter(|&i| taken[i]).collect();
    if traces.is_empty() {
        return Err(CompareError::Empty {
            side,
            selector: selector.as_ref().map(ToString::to_string),
        });
    }
    Ok(traces)
}

/// The passes and decisions of `traces`.
fn count(pooled: &Pooled, traces: &[usize]) -> (u64, u64) {
    traces.iter().fold((0, 0), |(p, n), &i| {
        let facts = &pooled.facts[i];
        (
            p + facts.outcomes(pooled.members[i].status)[0],
            n + facts.decisions(),
        )
    })
}

/// The design effect of `traces`' decisions: a trace's decisions are one
/// cluster (a retry follows a failure).
fn design(pooled: &Pooled, traces: &[usize]) -> f64 {
    let clusters: Vec<(u64, u64)> = traces.iter().map(|&i| count(pooled, &[i])).collect();
    design_effect(&clusters)
}

/// A side as the report has it.
fn make_arm(
    pooled: &Pooled,
    traces: &[usize],
    (passes, decisions): (u64, u64),
    design_effect: f64,
    selector: &Option<Selector>,
) -> Arm {
    let mut runs: Vec<usize> = traces.iter().map(|&i| pooled.run_of(i)).collect();
    runs.sort_unstable();
    runs.dedup();
    Arm {
        selector: selector.as_ref().map(ToString::to_string),
        runs: runs.len(),
        traces: traces.len(),
        passes,
        decisions,
        rate: (decisions > 0).then(|| passes as f64 / decisions as f64),
        design_effect,
    }
}

/// The verdict on the pass rate's difference: significant at α and at
/// least min-drop either way, else stable if the interval rules out a
/// drop of 3 × min-drop.
fn judge(
    difference: &Difference,
    p_worse: Option<f64>,
    p_better: Option<f64>,
    verdict: &VerdictOptions,
) -> CompareVerdict {
    let (alpha, min_drop) = (verdict.alpha, verdict.min_drop);
    if p_worse.is_some_and(|p| p < alpha) && -difference.estimate >= min_drop {
        CompareVerdict::Regression
    } else if p_better.is_some_and(|p| p < alpha) && difference.estimate >= min_drop {
        CompareVerdict::Improvement
    } else if difference.ci[0] < -MDE_FACTOR * min_drop {
        CompareVerdict::InsufficientData
    } else {
        CompareVerdict::Stable
    }
}

/// Every other metric on either side, and the candidate's difference.
fn metric_differences(pooled: &Pooled, base: &[usize], cand: &[usize]) -> Vec<MetricDifference> {
    OTHER_METRICS
        .iter()
        .map(|metric| {
            let (b, c) = (pooled.value_of(metric, base), pooled.value_of(metric, cand));
            MetricDifference {
                metric: metric.clone(),
                baseline: b,
                candidate: c,
                difference: b.zip(c).map(|(b, c)| c - b),
            }
        })
        .collect()
}

/// The metrics compared beside the pass rate.
const OTHER_METRICS: [Metric; 5] = [
    Metric::ReviseRate,
    Metric::FallbackRate,
    Metric::Cost,
    Metric::Latency,
    Metric::Tokens,
];

/// Compares candidate with baseline over a store's window.
pub struct CompareAnalyzer<'s, S: FactsStore + ?Sized> {
    store: &'s S,
    options: CompareOptions,
    progress: Option<&'s Progress<'s>>,
}

impl<'s, S: FactsStore + ?Sized> CompareAnalyzer<'s, S> {
    /// An analyzer of `store`.
    pub fn new(store: &'s S, options: CompareOptions) -> Self {
        CompareAnalyzer {
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

    /// Reads the window (one pass over each table) and compares.
    pub fn analyze(&self) -> Result<CompareReport, CompareError> {
        let options = &self.options;
        options.verdict.validate()?;
        let (mut pooled, baseline, candidate) = self.pool_sides()?;
        let base = arm_traces(&baseline, &options.baseline, "baseline")?;
        let cand = arm_traces(&candidate, &options.candidate, "candidate")?;
        let verdict = options.verdict;
        let (arm_b, arm_c) = (count(&pooled, &base), count(&pooled, &cand));
        let (design_b, design_c) = (design(&pooled, &base), design(&pooled, &cand));

        // The cases both sides asked, with each side's passes and decisions.
        let side = |i: usize| match (baseline[i], candidate[i]) {
            (true, _) => Some(false),
            (_, true) => Some(true),
            _ => None,
        };
        let case_options = CaseOptions {
            case_by: options.case_by.clone(),
            fdr: options.fdr,
            ..CaseOptions::default()
        };
        let (mut cases, uncased) = judged(&pooled, side, &case_options, verdict.min_drop);
        let shared: Vec<&CaseRow> = cases
            .iter()
            .filter(|c| c.before.decisions > 0 && c.after.decisions > 0)
            .collect();
        let shared_decisions: u64 = shared
            .iter()
            .map(|c| c.before.decisions + c.after.decisions)
            .sum();
        let all_decisions = arm_b.1 + arm_c.1;
        let shared_share = if all_decisions > 0 {
            shared_decisions as f64 / all_decisions as f64
        } else {
            0.0
        };
        let paired = !options.unpaired
            && shared.len() >= crate::verdict::MIN_REPEATED_CASES
            && shared_share >= crate::verdict::MIN_REPEATED_SHARE;
        let (difference, p_worse, p_better) = if paired {
            paired_difference(&shared, verdict.confidence)
        } else {
            unpaired_difference((arm_b, design_b), (arm_c, design_c), verdict.confidence)
        };
        let judged_verdict = judge(&difference, p_worse, p_better, &verdict);
        let shared_cases = shared.len();
        drop(shared);
        let summary = sentence(
            judged_verdict,
            difference,
            paired,
            shared_cases,
            p_worse,
            verdict.min_drop,
        );
        cases.sort_by(crate::cases::report_order);
        let mut counts = VerdictCounts::default();
        for case in &cases {
            counts.add(case.verdict);
        }
        // The comparison's layout says nothing of stale or ungrouped
        // traces (its JSON has never had them).
        let left_out = LeftOut {
            uncased: Some(uncased),
            stale: None,
            ungrouped: None,
            ..pooled.take_left_out()
        };
        Ok(CompareReport {
            case_by: options.case_by.clone(),
            group_by: options.window.group_by.clone(),
            requested_window: options.window.runs,
            method: verdict.method,
            alpha: verdict.alpha,
            min_drop: verdict.min_drop,
            verdict: judged_verdict,
            difference,
            paired,
            shared_cases,
            shared_share,
            p_worse,
            p_better,
            summary,
            baseline: make_arm(&pooled, &base, arm_b, design_b, &options.baseline),
            candidate: make_arm(&pooled, &cand, arm_c, design_c, &options.candidate),
            metrics: metric_differences(&pooled, &base, &cand),
            fdr: options.fdr,
            counts,
            left_out,
            cases,
        })
    }

    /// The window's traces either side takes (selectors choose among every
    /// run, each side windowed on its own), and which side each one is on;
    /// an error when a trace is on both.
    fn pool_sides(&self) -> Result<(Pooled, Vec<bool>, Vec<bool>), CompareError> {
        let options = &self.options;
        let metrics: Vec<Metric> = [Metric::PassRate]
            .into_iter()
            .chain(OTHER_METRICS)
            .collect();
        let mut keys: Vec<String> = Vec::new();
        for key in options
            .baseline
            .iter()
            .chain(&options.candidate)
            .flat_map(Selector::config_keys)
        {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        let selecting = options.baseline.is_some() || options.candidate.is_some();
        let pooling = WindowOptions {
            runs: if selecting {
                Window::All
            } else {
                options.window.runs
            },
            ..options.window.clone()
        };
        let needs = Needs {
            metrics: &metrics,
            cases: Some(&options.case_by),
            more_keys: &keys,
            ..Needs::default()
        };
        let (mut baseline, mut candidate) = (Vec::new(), Vec::new());
        let mut select = |pooled: &Pooled| {
            (baseline, candidate) = sides(pooled, options);
            baseline
                .iter()
                .zip(&candidate)
                .map(|(b, c)| *b || *c)
                .collect()
        };
        let pooled = window::pool(
            self.store,
            &pooling,
            &needs,
            Some(&mut select),
            self.progress,
        )?;
        if let Some(hook) = self.progress {
            hook(Stage::Judging {
                runs: pooled.runs(),
            });
        }
        // The pool kept the members either side takes, in order.
        let (baseline, candidate): (Vec<bool>, Vec<bool>) = baseline
            .into_iter()
            .zip(candidate)
            .filter(|(b, c)| *b || *c)
            .unzip();
        let overlap = baseline
            .iter()
            .zip(&candidate)
            .filter(|(b, c)| **b && **c)
            .count();
        if overlap > 0 {
            return Err(CompareError::Overlap { traces: overlap });
        }
        Ok((pooled, baseline, candidate))
    }
}

/// The paired difference over the cases both sides asked (`before` the
/// baseline, `after` the candidate): Mantel–Haenszel's estimate with
/// Sato's interval, and the one-sided Cochran–Mantel–Haenszel p toward
/// worse and toward better.
fn paired_difference(
    shared: &[&CaseRow],
    confidence: f64,
) -> (Difference, Option<f64>, Option<f64>) {
    let tables: Vec<[u64; 4]> = shared
        .iter()
        .map(|c| {
            [
                c.after.passes,
                c.after.decisions,
                c.before.passes,
                c.before.decisions,
            ]
        })
        .collect();
    let (estimate, ci) = mantel_haenszel_difference(&tables, confidence);
    let strata: Vec<Vec<crate::stats::stratified::Cell>> = shared
        .iter()
        .map(|c| {
            vec![
                (0.0, c.before.passes, c.before.decisions),
                (1.0, c.after.passes, c.after.decisions),
            ]
        })
        .collect();
    // The Cochran–Mantel–Haenszel test (φ = 1), as Sato's interval takes
    // the cases to share one difference.
    let (p_worse, p_better) = match stratified_cochran_armitage(&strata, confidence) {
        Ok(test) => (
            Some(test.p_decline_binomial),
            Some(1.0 - test.p_decline_binomial),
        ),
        // Every shared case one outcome on both sides: no evidence.
        Err(_) => (Some(1.0), Some(1.0)),
    };
    (Difference { estimate, ci }, p_worse, p_better)
}

/// The unpaired difference of the pooled rates, each side `((passes,
/// decisions), design effect)`: Newcombe's interval and Fisher's exact
/// test on the counts the sides' traces are worth (Rao and Scott).
fn unpaired_difference(
    (base, design_b): ((u64, u64), f64),
    (cand, design_c): ((u64, u64), f64),
    confidence: f64,
) -> (Difference, Option<f64>, Option<f64>) {
    let rate = |(p, n): (u64, u64)| p as f64 / n as f64;
    let estimate = rate(cand) - rate(base);
    let (eff_b, eff_c) = (
        effective_counts(base, design_b),
        effective_counts(cand, design_c),
    );
    let ci = newcombe(eff_c, eff_b, confidence).map_or([-1.0, 1.0], |(lo, hi)| {
        // Centred on the estimate from the counts themselves.
        let shift = estimate - (rate(eff_c) - rate(eff_b));
        [(lo + shift).max(-1.0), (hi + shift).min(1.0)]
    });
    (
        Difference { estimate, ci },
        fisher_worse(eff_b, eff_c),
        fisher_worse(eff_c, eff_b),
    )
}

/// The verdict in a sentence.
fn sentence(
    verdict: CompareVerdict,
    d: Difference,
    paired: bool,
    shared: usize,
    p_worse: Option<f64>,
    min_drop: f64,
) -> String {
    let how = if paired {
        format!("paired through the {shared} cases both asked")
    } else {
        "unpaired".to_owned()
    };
    let change = format!(
        "{:+.1} points (95% CI {:+.1} to {:+.1}; {how}; p(worse) {})",
        100.0 * d.estimate,
        100.0 * d.ci[0],
        100.0 * d.ci[1],
        p_worse.map_or_else(|| "-".to_owned(), crate::verdict::p_equals)
    );
    match verdict {
        CompareVerdict::Regression => {
            format!("The candidate passes less often than the baseline: {change}.")
        }
        CompareVerdict::Improvement => {
            format!("The candidate passes more often than the baseline: {change}.")
        }
        CompareVerdict::Stable => format!(
            "No regression: {change}; a drop of {:.1} points or more is ruled out.",
            100.0 * MDE_FACTOR * min_drop
        ),
        CompareVerdict::InsufficientData => format!(
            "Too little data to judge: {change}; the interval reaches past a drop of {:.1} points.",
            100.0 * MDE_FACTOR * min_drop
        ),
    }
}

/// The Mantel–Haenszel risk difference over 2×2 tables `[x₁, n₁, x₀, n₀]`
/// (group 1 − group 0) and its interval by Sato's variance.
///
/// With Nₕ = n₁ₕ + n₀ₕ and wₕ = n₁ₕn₀ₕ/Nₕ: δ = Σ(x₁ₕn₀ₕ − x₀ₕn₁ₕ)/Nₕ / Σwₕ;
/// Pₕ = (n₁ₕ²x₀ₕ − n₀ₕ²x₁ₕ + n₁ₕn₀ₕ(n₀ₕ − n₁ₕ)/2)/Nₕ²,
/// Qₕ = (x₁ₕ(n₀ₕ − x₀ₕ) + x₀ₕ(n₁ₕ − x₁ₕ))/(2Nₕ), Var(δ) = (δΣPₕ + ΣQₕ)/(Σwₕ)².
/// Sato (1989), "On the variance estimator for the Mantel–Haenszel risk
/// difference", Biometrics 45:1323–1324: consistent both for many small
/// strata (the cases of a suite) and for few large ones. With one stratum
/// of equal sides it is the Wald variance p₁(1 − p₁)/n + p₀(1 − p₀)/n
/// (checked in the tests).
pub fn mantel_haenszel_difference(tables: &[[u64; 4]], confidence: f64) -> (f64, [f64; 2]) {
    let (mut num, mut w, mut p, mut q) = (0.0, 0.0, 0.0, 0.0);
    for &[x1, n1, x0, n0] in tables {
        let (x1, n1, x0, n0) = (x1 as f64, n1 as f64, x0 as f64, n0 as f64);
        let n = n1 + n0;
        if n1 == 0.0 || n0 == 0.0 {
            continue;
        }
        num += (x1 * n0 - x0 * n1) / n;
        w += n1 * n0 / n;
        p += (n1 * n1 * x0 - n0 * n0 * x1 + n1 * n0 * (n0 - n1) / 2.0) / (n * n);
        q += (x1 * (n0 - x0) + x0 * (n1 - x1)) / (2.0 * n);
    }
    if w == 0.0 {
        return (0.0, [-1.0, 1.0]);
    }
    let d = num / w;
    let var = ((d * p + q) / (w * w)).max(0.0);
    let z = crate::stats::intervals::two_sided_z(confidence);
    let half = z * var.sqrt();
    (d, [(d - half).max(-1.0), (d + half).min(1.0)])
}

impl CompareReport {
    /// How the candidate and the baseline were chosen, in words: each
    /// selector as written, or what its default took.
    pub fn sides_described(&self) -> (&str, &str) {
        let (candidate, baseline) = match (&self.candidate.selector, &self.baseline.selector) {
            (Some(c), Some(b)) => return (c, b),
            (Some(c), None) => return (c, "the other traces"),
            (None, Some(b)) => return ("the other traces", b),
            (None, None) if self.group_by.is_trace() => {
                ("the newer half of the window", "the older half")
            }
            (None, None) => ("the newest run", "the runs before it"),
        };
        (candidate, baseline)
    }

    /// Whether the candidate is worse (the gate's failure).
    pub fn is_regression(&self) -> bool {
        self.verdict == CompareVerdict::Regression
    }

    /// Cases whose verdict is `verdict`.
    pub fn cases_with(&self, verdict: CaseVerdict) -> impl Iterator<Item = &CaseRow> {
        self.cases.iter().filter(move |c| c.verdict == verdict)
    }
}

#[cfg(test)]
mod tests;
