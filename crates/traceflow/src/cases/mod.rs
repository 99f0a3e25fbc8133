//! Which cases broke: the window's decisions per case (the same test input
//! asked again and again), before and after a split, each case tested on
//! its own and the tests held to a false-discovery rate together.
//!
//! [`CaseAnalyzer`] pools the window as the trend does ([`crate::window`],
//! with each trace's case read beside its head), picks
//! the split ([`SplitRule`]: the total's step, else the run or time given,
//! else the window's halves), counts each case's passes and decisions on
//! either side, and tests each case whose both sides hold decisions with
//! Fisher's exact test toward worse. Benjamini–Hochberg's q-values across
//! those cases keep the expected share of false discoveries among the
//! regressed cases at the FDR asked for.

use std::fmt;

use jiff::Timestamp;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::metric::Metric;
use crate::progress::{Progress, Stage};
use crate::stats::{benjamini_hochberg, fisher_worse};
use crate::store::FactsStore;
use crate::verdict::{ChangeKind, Method, OptionsError, Statistics, VerdictOptions};
use crate::window::{
    self, CaseBy, GroupBy, LeftOut, Needs, Pooled, Window, WindowError, WindowOptions,
};

mod identity;

pub use identity::{case_id, short_text};

/// The false-discovery rate regressed cases are held to by default.
pub const DEFAULT_FDR: f64 = 0.05;

/// A case is flaky when the 95% interval of its pass chance under one
/// configuration lies strictly between these: it neither passes reliably
/// (80% or more) nor fails reliably (20% or less).
pub const FLAKY_BOUNDS: [f64; 2] = [0.2, 0.8];

/// The interval's confidence.
const FLAKY_CONFIDENCE: f64 = 0.95;

/// What to compare, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseOptions {
    /// Which runs.
    pub window: WindowOptions,
    /// The rule that judges the total's pass rate (its step is the split)
    /// and whose minimum drop a regressed case must show.
    pub verdict: VerdictOptions,
    /// What makes traces the same case.
    pub case_by: CaseBy,
    /// Where "after" starts, overriding the total's step and the halves.
    pub split_at: Option<SplitAt>,
    /// The expected share of false discoveries among the regressed cases.
    pub fdr: f64,
    /// Judge one evaluation's pass rate (`pass-rate.<name>`: which cases
    /// that evaluation failed) instead of the decisions' pass rate.
    pub evaluation: Option<String>,
}

impl CaseOptions {
    /// The pass rate compared: the decisions', or the evaluation's.
    pub fn metric(&self) -> Metric {
        match &self.evaluation {
            Some(name) => Metric::EvaluationPassRate(name.clone()),
            None => Metric::PassRate,
        }
    }
}

impl Default for CaseOptions {
    fn default() -> Self {
        CaseOptions {
            window: WindowOptions::default(),
            verdict: VerdictOptions::default(),
            case_by: CaseBy::Input,
            split_at: None,
            fdr: DEFAULT_FDR,
            evaluation: None,
        }
    }
}

/// A split asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitAt {
    /// The first run of "after", by its index in the window (0 the oldest).
    Run(usize),
    /// "After" is the runs that started at or after this instant.
    Time(Timestamp),
}

/// How the split was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitRule {
    /// The total's pass rate stepped there (the trend's verdict found a
    /// step).
    ChangePoint,
    /// Asked for ([`CaseOptions::split_at`]).
    Given,
    /// The middle of the window: no step was found and none was given.
    Halves,
}

impl SplitRule {
    /// The words the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitRule::ChangePoint => "the total's step",
            SplitRule::Given => "the split given",
            SplitRule::Halves => "the window's halves",
        }
    }
}

/// Where "before" ends and "after" starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    /// How it was chosen.
    pub rule: SplitRule,
    /// The first run of "after" (0 the oldest of the window).
    pub run_index: usize,
    /// That run's key.
    pub run_key: String,
    /// When that run started.
    pub started_at: Timestamp,
}

/// A case's verdict. The JSON spells them in snake case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseVerdict {
    /// Passes less often after the split: q ≤ the FDR and a drop of at
    /// least min-drop.
    Regressed,
    /// Never failed before the split, failed after (not significant on
    /// its own, or it would be `Regressed`).
    NewlyFailing,
    /// Passes and fails under an unchanged configuration: the 95% interval
    /// of its pass chance under one model, on one side of the split, lies
    /// inside [`FLAKY_BOUNDS`] (and it neither regressed nor newly failed).
    Flaky,
    /// Tested, and neither of the above.
    Stable,
    /// No decisions before or after the split: nothing to compare.
    Untested,
}

impl CaseVerdict {
    /// Every verdict, in report order.
    pub const ALL: [CaseVerdict; 5] = [
        CaseVerdict::Regressed,
        CaseVerdict::NewlyFailing,
        CaseVerdict::Flaky,
        CaseVerdict::Stable,
        CaseVerdict::Untested,
    ];

    /// The JSON's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseVerdict::Regressed => "regressed",
            CaseVerdict::NewlyFailing => "newly_failing",
            CaseVerdict::Flaky => "flaky",
            CaseVerdict::Stable => "stable",
            CaseVerdict::Untested => "untested",
        }
    }

    /// Whether a report lists the case without being asked for every case.
    pub fn is_news(self) -> bool {
        matches!(self, CaseVerdict::Regressed | CaseVerdict::NewlyFailing)
    }
}

impl fmt::Display for CaseVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case's decisions on one side of the split; the JSON adds its `rate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Side {
    /// PASS decisions (a trace without recorded decisions: 1 if `done`).
    pub passes: u64,
    /// All decisions (a trace without recorded decisions counts as one).
    pub decisions: u64,
}

impl Side {
    /// passes / decisions; `None` without decisions.
    pub fn rate(&self) -> Option<f64> {
        (self.decisions > 0).then(|| self.passes as f64 / self.decisions as f64)
    }

    /// Decisions that did not pass.
    pub fn fails(&self) -> u64 {
        self.decisions - self.passes
    }
}

impl Serialize for Side {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Side", 3)?;
        out.serialize_field("passes", &self.passes)?;
        out.serialize_field("decisions", &self.decisions)?;
        out.serialize_field("rate", &self.rate())?;
        out.end()
    }
}

/// Where a case was flaky: its pass chance under one configuration (one
/// model, on one side of the split, with no change between its decisions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flakiness {
    /// `before` or `after` the split.
    pub side: &'static str,
    /// The traces' model.
    pub model: String,
    /// PASS decisions there.
    pub passes: u64,
    /// Decisions there.
    pub decisions: u64,
    /// passes / decisions.
    pub pass_rate: f64,
    /// Its 95% Wilson interval, inside [`FLAKY_BOUNDS`].
    pub ci: [f64; 2],
}

/// One case's comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRow {
    /// The case's key, in full: the trimmed input, or the config value.
    pub case: String,
    /// The input's mode (`--case-by input`); `None` for a config key.
    pub mode: Option<String>,
    /// A short id that stays the same for the same case across stores and
    /// versions ([`case_id`]).
    pub id: String,
    /// The verdict.
    pub verdict: CaseVerdict,
    /// Traces of the case in the window.
    pub traces: usize,
    /// Its decisions before the split.
    pub before: Side,
    /// Its decisions from the split on.
    pub after: Side,
    /// The pass rate's change, after − before; `None` when untested.
    pub change: Option<f64>,
    /// Fisher's one-sided p toward worse; `None` when untested.
    pub p: Option<f64>,
    /// Benjamini–Hochberg's q across the tested cases.
    pub q: Option<f64>,
    /// Where it was flaky (the configuration with the most decisions of
    /// those where it was); `None` when it was nowhere. Boxed: a window of
    /// a million cases, most never flaky, holds a pointer each.
    pub flakiness: Option<Box<Flakiness>>,
}

/// How many cases have each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerdictCounts {
    /// Regressed cases.
    pub regressed: usize,
    /// Newly failing cases.
    pub newly_failing: usize,
    /// Flaky cases.
    pub flaky: usize,
    /// Stable cases.
    pub stable: usize,
    /// Untested cases.
    pub untested: usize,
}

impl VerdictCounts {
    /// The count of one verdict.
    pub fn of(&self, verdict: CaseVerdict) -> usize {
        match verdict {
            CaseVerdict::Regressed => self.regressed,
            CaseVerdict::NewlyFailing => self.newly_failing,
            CaseVerdict::Flaky => self.flaky,
            CaseVerdict::Stable => self.stable,
            CaseVerdict::Untested => self.untested,
        }
    }

    pub(crate) fn add(&mut self, verdict: CaseVerdict) {
        *match verdict {
            CaseVerdict::Regressed => &mut self.regressed,
            CaseVerdict::NewlyFailing => &mut self.newly_failing,
            CaseVerdict::Flaky => &mut self.flaky,
            CaseVerdict::Stable => &mut self.stable,
            CaseVerdict::Untested => &mut self.untested,
        } += 1;
    }
}

/// The per-case comparison of a window. Field names are a contract of the
/// JSON report (`cases --format json`: this type's serde form, with
/// `schema_version`, written by the `json` exporter).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseReport {
    /// What makes traces the same case.
    pub case_by: CaseBy,
    /// The evaluation whose pass rate is compared, when one was asked for
    /// (absent from the JSON when the decisions' pass rate is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<String>,
    /// What a run is.
    pub group_by: GroupBy,
    /// The window asked for, in runs.
    pub requested_window: Window,
    /// The time bounds asked for.
    pub since: Option<Timestamp>,
    /// The time bounds asked for.
    pub until: Option<Timestamp>,
    /// The rule of the total's verdict.
    pub method: Method,
    /// The FDR regressed cases are held to.
    pub fdr: f64,
    /// The smallest drop of a case's pass rate that matters.
    pub min_drop: f64,
    /// Runs in the window.
    pub runs: usize,
    /// Traces in the window.
    pub traces: usize,
    /// The split; `None` when the window has fewer than two runs.
    pub split: Option<Split>,
    /// The total pass rate's trend over the window, as `trend` judges it.
    pub total: Statistics,
    /// Cases tested (both sides hold decisions).
    pub tested: usize,
    /// Cases per verdict.
    pub counts: VerdictCounts,
    /// The share of the window's decisions that flaky cases account for.
    pub flaky_share: f64,
    /// What the window left out: uncased, running, stale and ungrouped
    /// traces, unreadable rows (`flaky` is `None`).
    #[serde(flatten)]
    pub left_out: LeftOut,
    /// Every case: regressed (lowest q first), newly failing (most fails
    /// after first), flaky (most decisions first), stable (lowest p
    /// first), untested.
    pub cases: Vec<CaseRow>,
}

/// Why a case comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The window could not be read or pooled.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// Verdict options out of range.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// An FDR outside (0, 1).
    #[error("the false-discovery rate must be above 0 and below 1, got {0}")]
    InvalidFdr(f64),
    /// A split that leaves one side without runs.
    #[error("the split at {at} leaves {side} without runs (the window has {runs} runs)")]
    SplitOutside {
        /// The split as given.
        at: String,
        /// `before` or `after`.
        side: &'static str,
        /// Runs in the window.
        runs: usize,
    },
}

impl CaseError {
    /// What kind of failure this is.
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            CaseError::Window(err) => err.kind(),
            CaseError::Options(err) => err.kind(),
            CaseError::InvalidFdr(_) | CaseError::SplitOutside { .. } => {
                crate::error::ErrorKind::InvalidInput
            }
        }
    }
}

/// Compares each case before and after a split.
pub struct CaseAnalyzer<'s, S: FactsStore + ?Sized> {
    store: &'s S,
    options: CaseOptions,
    progress: Option<&'s Progress<'s>>,
}

impl<'s, S: FactsStore + ?Sized> CaseAnalyzer<'s, S> {
    /// An analyzer of `store`.
    pub fn new(store: &'s S, options: CaseOptions) -> Self {
        CaseAnalyzer {
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

    /// Reads the window (one pass over each table, as the trend) and
    /// compares its cases.
    pub fn analyze(&self) -> Result<CaseReport, CaseError> {
        let options = &self.options;
        if !(options.fdr > 0.0 && options.fdr < 1.0) {
            return Err(CaseError::InvalidFdr(options.fdr));
        }
        options.verdict.validate()?;
        let metric = [options.metric()];
        let needs = Needs {
            metrics: &metric,
            cases: Some(&options.case_by),
            ..Needs::default()
        };
        let pooled = window::pool(self.store, &options.window, &needs, None, self.progress)?;
        if let Some(hook) = self.progress {
            hook(Stage::Judging {
                runs: pooled.runs(),
            });
        }
        compare(pooled, options)
    }
}

/// The comparison of a pooled window's cases (pooled by `options`).
pub(crate) fn compare(mut pooled: Pooled, options: &CaseOptions) -> Result<CaseReport, CaseError> {
    let verdict = options.verdict;
    let metric = options.metric();
    let total = pooled.total_statistics(&metric, &verdict);
    let split = choose_split(&pooled, &total, options.split_at)?;
    let first_after = split.as_ref().map_or(usize::MAX, |s| s.run_index);

    let after = |i: usize| Some(pooled.run_of(i) >= first_after);
    let (mut cases, uncased) = judged(&pooled, after, options, verdict.min_drop);
    let mut counts = VerdictCounts::default();
    let (mut decisions, mut flaky_decisions) = (0, 0);
    for case in &cases {
        counts.add(case.verdict);
        let total = case.before.decisions + case.after.decisions;
        decisions += total;
        if case.verdict == CaseVerdict::Flaky {
            flaky_decisions += total;
        }
    }
    cases.sort_by(report_order);
    Ok(CaseReport {
        case_by: options.case_by.clone(),
        evaluation: options.evaluation.clone(),
        group_by: options.window.group_by.clone(),
        requested_window: options.window.runs,
        since: options.window.since,
        until: options.window.until,
        method: verdict.method,
        fdr: options.fdr,
        min_drop: verdict.min_drop,
        runs: pooled.runs(),
        traces: pooled.members.len(),
        split,
        total,
        tested: cases.iter().filter(|c| c.p.is_some()).count(),
        counts,
        flaky_share: if decisions > 0 {
            flaky_decisions as f64 / decisions as f64
        } else {
            0.0
        },
        left_out: LeftOut {
            uncased: Some(uncased),
            ..pooled.take_left_out()
        },
        cases,
    })
}

/// Which members of a pooled window belong to flaky cases, by the
/// comparison's rule with its defaults (the trend's `--exclude-flaky`).
pub(crate) fn flaky_members(pooled: &Pooled, verdict: &VerdictOptions) -> (Vec<bool>, usize) {
    let Some((case_by, _)) = pooled.cases.clone() else {
        return (vec![false; pooled.members.len()], 0);
    };
    let options = CaseOptions {
        case_by,
        ..CaseOptions::default()
    };
    let total = pooled.total_statistics(&Metric::PassRate, verdict);
    // The default split cannot fall outside the window.
    let first_after = match choose_split(pooled, &total, None) {
        Ok(Some(split)) => split.run_index,
        _ => usize::MAX,
    };
    let after = |i: usize| Some(pooled.run_of(i) >= first_after);
    let (cases, _) = judged(pooled, after, &options, verdict.min_drop);
    let flaky: rustc_hash::FxHashSet<(&str, &str)> = cases
        .iter()
        .filter(|c| c.verdict == CaseVerdict::Flaky)
        .map(|c| (c.mode.as_deref().unwrap_or(""), c.case.as_str()))
        .collect();
    let count = flaky.len();
    let members = (0..pooled.members.len())
        .map(|i| pooled.case_of(i).is_some_and(|key| flaky.contains(&key)))
        .collect();
    (members, count)
}

fn pair(side: Side) -> (u64, u64) {
    (side.passes, side.decisions)
}

/// When each run of the window started: its oldest trace's instant
/// (members are in time order).
fn run_starts(pooled: &Pooled) -> Vec<Option<Timestamp>> {
    let mut starts = vec![None; pooled.runs()];
    for (i, head) in pooled.members.iter().enumerate() {
        let start = &mut starts[pooled.run_of(i)];
        if start.is_none() {
            *start = Some(head.created_at);
        }
    }
    starts
}

/// The split: the one given, else the total's step, else the halves;
/// `None` for a window of fewer than two runs.
fn choose_split(
    pooled: &Pooled,
    total: &Statistics,
    given: Option<SplitAt>,
) -> Result<Option<Split>, CaseError> {
    let starts = run_starts(pooled);
    let runs = pooled.runs();
    let (rule, run_index) = match given {
        Some(at) => {
            let (text, index) = match at {
                SplitAt::Run(run) => (format!("run {run}"), run),
                SplitAt::Time(time) => (
                    time.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    starts
                        .iter()
                        .position(|s| s.is_some_and(|s| s >= time))
                        .unwrap_or(runs),
                ),
            };
            if index == 0 || index >= runs {
                return Err(CaseError::SplitOutside {
                    at: text,
                    side: if index == 0 { "before" } else { "after" },
                    runs,
                });
            }
            (SplitRule::Given, index)
        }
        None if runs < 2 => return Ok(None),
        None => match (&total.change, total.evidence.change_point()) {
            (Some(change), Some(step)) if change.kind == ChangeKind::Step => {
                (SplitRule::ChangePoint, step.run_index)
            }
            _ => (SplitRule::Halves, runs / 2),
        },
    };
    Ok(Some(Split {
        rule,
        run_index,
        run_key: pooled.run_key(run_index).to_owned(),
        started_at: starts.get(run_index).copied().flatten().unwrap_or_default(),
    }))
}

/// Every case of the window counted, tested and judged (in the order of
/// its first trace), and how many traces had no case key.
pub(crate) fn judged(
    pooled: &Pooled,
    side: impl Fn(usize) -> Option<bool>,
    options: &CaseOptions,
    min_drop: f64,
) -> (Vec<CaseRow>, usize) {
    let (mut cases, strata, uncased) = tally(pooled, side, &options.case_by, &options.metric());
    let p: Vec<Option<f64>> = cases
        .iter()
        .map(|c| fisher_worse(pair(c.before), pair(c.after)))
        .collect();
    let q = benjamini_hochberg(&p);
    for (((case, p), q), strata) in cases.iter_mut().zip(p).zip(q).zip(&strata) {
        case.p = p;
        case.q = q;
        case.change = p.and_then(|_| Some(case.after.rate()? - case.before.rate()?));
        case.flakiness = flakiness(strata.as_slice()).map(Box::new);
        case.verdict = judge(case, options.fdr, min_drop);
    }
    (cases, uncased)
}

/// A case's decisions under one configuration: (after the split, model,
/// passes, decisions).
type Stratum<'p> = (bool, &'p str, u64, u64);

/// A case's strata. Most cases meet one configuration: it is held in
/// place (a vector of one would take a 160-byte allocation, 160 MB for a
/// million cases of one trace each).
enum Strata<'p> {
    One(Stratum<'p>),
    Many(Vec<Stratum<'p>>),
}

impl<'p> Strata<'p> {
    fn as_slice(&self) -> &[Stratum<'p>] {
        match self {
            Strata::One(one) => std::slice::from_ref(one),
            Strata::Many(many) => many,
        }
    }

    /// Adds a trace's decisions to its configuration's stratum.
    fn add(&mut self, after: bool, model: &'p str, passes: u64, decisions: u64) {
        let found = match self {
            Strata::One(one) => (one.0 == after && one.1 == model).then_some(one),
            // A case meets few models: a linear search.
            Strata::Many(many) => many.iter_mut().find(|s| s.0 == after && s.1 == model),
        };
        if let Some(stratum) = found {
            stratum.2 += passes;
            stratum.3 += decisions;
            return;
        }
        let new = (after, model, passes, decisions);
        match self {
            Strata::One(one) => *self = Strata::Many(vec![*one, new]),
            Strata::Many(many) if many.is_empty() => *self = Strata::One(new),
            Strata::Many(many) => many.push(new),
        }
    }
}

/// Each case's decisions on either side (`side(member)`: `Some(true)`
/// after, `Some(false)` before, `None` neither), cases in the order of
/// their first trace, with their decisions per configuration; and how many
/// traces had no case key. `metric` is a pass rate: the decisions', or one
/// evaluation's (a trace it did not judge is left out).
fn tally<'p>(
    pooled: &'p Pooled,
    side: impl Fn(usize) -> Option<bool>,
    case_by: &CaseBy,
    metric: &Metric,
) -> (Vec<CaseRow>, Vec<Strata<'p>>, usize) {
    let mut index: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    let mut cases: Vec<CaseRow> = Vec::new();
    let mut strata: Vec<Strata<'p>> = Vec::new();
    let mut uncased = 0;
    for (i, head) in pooled.members.iter().enumerate() {
        let Some(after) = side(i) else {
            continue;
        };
        let Some(key) = pooled.case_of(i) else {
            uncased += 1;
            continue;
        };
        let (passes, decisions) = match metric {
            Metric::PassRate => {
                let facts = &pooled.facts[i];
                (facts.outcomes(head.status)[0], facts.decisions())
            }
            _ => {
                let judged = pooled.measure(metric, &[i]);
                (judged.events, judged.trials)
            }
        };
        if decisions == 0 {
            continue;
        }
        let k = *index.entry(key).or_insert_with(|| {
            let (mode, text) = key;
            cases.push(CaseRow {
                case: text.to_owned(),
                mode: matches!(case_by, CaseBy::Input).then(|| mode.to_owned()),
                id: case_id(case_by, mode, text),
                verdict: CaseVerdict::Untested,
                traces: 0,
                before: Side::default(),
                after: Side::default(),
                change: None,
                p: None,
                q: None,
                flakiness: None,
            });
            // No allocation until its first trace is added.
            strata.push(Strata::Many(Vec::new()));
            cases.len() - 1
        });
        let case = &mut cases[k];
        case.traces += 1;
        let side = if after {
            &mut case.after
        } else {
            &mut case.before
        };
        side.passes += passes;
        side.decisions += decisions;
        strata[k].add(after, head.model(), passes, decisions);
    }
    (cases, strata, uncased)
}

/// Where a case is flaky: of its configurations whose 95% interval of the
/// pass chance lies inside [`FLAKY_BOUNDS`], the one with the most
/// decisions.
fn flakiness(strata: &[Stratum<'_>]) -> Option<Flakiness> {
    let [low, high] = FLAKY_BOUNDS;
    strata
        .iter()
        .filter_map(|&(after, model, passes, decisions)| {
            let (lo, hi) = crate::stats::wilson(passes, decisions, FLAKY_CONFIDENCE)?;
            (lo > low && hi < high).then(|| Flakiness {
                side: if after { "after" } else { "before" },
                model: model.to_owned(),
                passes,
                decisions,
                pass_rate: passes as f64 / decisions as f64,
                ci: [lo, hi],
            })
        })
        .max_by_key(|f| f.decisions)
}

/// A tested case's verdict by its q, its drop and its history.
fn judge(case: &CaseRow, fdr: f64, min_drop: f64) -> CaseVerdict {
    let flaky = case.flakiness.is_some();
    let (Some(q), Some(change)) = (case.q, case.change) else {
        return if flaky {
            CaseVerdict::Flaky
        } else {
            CaseVerdict::Untested
        };
    };
    if q <= fdr && -change >= min_drop {
        CaseVerdict::Regressed
    } else if case.before.fails() == 0 && case.after.fails() > 0 {
        CaseVerdict::NewlyFailing
    } else if flaky {
        CaseVerdict::Flaky
    } else {
        CaseVerdict::Stable
    }
}

/// Report order: by verdict, then the strongest evidence first, then by
/// the case's text (so that equal cases keep one order).
pub(crate) fn report_order(a: &CaseRow, b: &CaseRow) -> std::cmp::Ordering {
    let p = |c: &CaseRow| c.p.unwrap_or(1.0);
    let q = |c: &CaseRow| c.q.unwrap_or(1.0);
    a.verdict
        .cmp(&b.verdict)
        .then_with(|| match a.verdict {
            CaseVerdict::Regressed => q(a).total_cmp(&q(b)).then(p(a).total_cmp(&p(b))),
            CaseVerdict::NewlyFailing => b.after.fails().cmp(&a.after.fails()),
            CaseVerdict::Untested => b.traces.cmp(&a.traces),
            CaseVerdict::Flaky => {
                let decisions = |c: &CaseRow| c.before.decisions + c.after.decisions;
                decisions(b).cmp(&decisions(a))
            }
            CaseVerdict::Stable => p(a).total_cmp(&p(b)),
        })
        .then_with(|| a.case.cmp(&b.case))
        .then_with(|| a.mode.cmp(&b.mode))
}

#[cfg(test)]
mod tests;
