//! The window: which runs an analysis judges, and their traces' facts
//! pooled into them.
//!
//! Every analysis starts here. [`WindowOptions`] say what a run is
//! ([`GroupBy`]), how many of the newest runs to take ([`Window`]), the
//! time bounds, and whether crashed traces count as failed ([`Stale`]).
//! The window asks a store for the heads of its traces (one pass), keeps
//! the finished ones in the bounds, pools them into runs, takes the newest
//! runs, and only then asks for the facts of the traces it kept. The
//! trend, the per-case comparison and the candidate-against-baseline
//! comparison each consume the pooled window; none of them pools again.

use jiff::Timestamp;
use rustc_hash::FxHashMap;
use serde::{Serialize, Serializer};
use std::fmt;

use crate::metric::measure::{measure, overflowed, Measured};
use crate::metric::{Metric, PASSED_PREFIX};
use crate::model::RunStatus;
use crate::progress::{Progress, Stage};
use crate::store::{
    FactsQuery, FactsStore, HeadsQuery, NewestHeads, RowIssue, StoreError, TraceFacts, TraceHead,
};
use crate::verdict::Method;

mod assess;
pub mod grouping;
mod left_out;

pub use grouping::{no_value_label, CaseBy, GroupBy, SegmentBy, UnknownGrouping};
pub use left_out::{LeftOut, LeftOutFlaky};

/// Fewest runs a slope can be fitted to.
pub const MIN_RUNS: usize = 2;

/// Which runs to analyze.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The N most recent finished runs.
    Last(usize),
    /// Every finished run.
    All,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Last(n) => write!(f, "{n}"),
            Window::All => f.write_str("all"),
        }
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Window::Last(n) => serializer.serialize_u64(*n as u64),
            Window::All => serializer.serialize_str("all"),
        }
    }
}

impl std::str::FromStr for Window {
    type Err = crate::error::InvalidValue;

    /// A number of runs (at least [`MIN_RUNS`]) or `all`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("all") {
            return Ok(Window::All);
        }
        match text.parse::<usize>() {
            Ok(n) if n >= MIN_RUNS => Ok(Window::Last(n)),
            _ => Err(crate::error::InvalidValue::new(format!(
                "expected a number of runs >= {MIN_RUNS}, or `all`"
            ))),
        }
    }
}

impl Method {
    /// The window a method analyzes unless told otherwise. `ols` keeps the
    /// proposal's 20. `auto` takes 500: TraceFlow Lite records
    /// 1–3 gate decisions per trace, and 500 traces (about 1,000 decisions)
    /// is where a 15-point decline becomes detectable with 80% power at
    /// α = 0.01 (minimum detectable drop ≈ 11·√(p(1 − p)/N): 14 points at
    /// p = 0.8); 20 traces could reveal only a drop of about 70 points.
    pub fn default_window(self) -> Window {
        match self {
            Method::Ols => Window::Last(20),
            Method::Auto => Window::Last(500),
        }
    }
}

/// Traces still `running` that started before `before`: runs that crashed
/// without recording their end (TraceFlow Lite marks a run failed only if
/// it lives to), counted as failed traces are: by their recorded decisions,
/// else as one failing decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stale {
    /// The cutoff: running traces that started before it.
    pub before: Timestamp,
    /// How many were counted as failed.
    pub failed: usize,
}

impl Stale {
    /// Marks `head` failed if it is running and started before the cutoff;
    /// returns whether it did.
    fn fail(before: Option<Timestamp>, head: &mut TraceHead) -> bool {
        let stale =
            before.is_some_and(|b| head.status == RunStatus::Running && head.created_at < b);
        if stale {
            head.status = RunStatus::Failed;
        }
        stale
    }
}

/// Which runs an analysis judges: what every analysis (trend, cases,
/// compare) takes, and nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOptions {
    /// What a run is.
    pub group_by: GroupBy,
    /// The newest runs (after pooling) to judge.
    pub runs: Window,
    /// Only traces started at or after this instant.
    pub since: Option<Timestamp>,
    /// Only traces started before this instant.
    pub until: Option<Timestamp>,
    /// Count traces still `running` that started before this as failed
    /// runs (crashed ones); `None` leaves every running trace out.
    pub stale_before: Option<Timestamp>,
}

impl Default for WindowOptions {
    /// A run per trace, the newest 500 (`auto`'s window), no bounds.
    fn default() -> Self {
        WindowOptions {
            group_by: GroupBy::Trace,
            runs: Method::Auto.default_window(),
            since: None,
            until: None,
            stale_before: None,
        }
    }
}

impl WindowOptions {
    /// Checks what can be checked without a store: a window of at least
    /// [`MIN_RUNS`] runs and time bounds in order.
    pub fn validate(&self) -> Result<(), WindowError> {
        if let Window::Last(n) = self.runs {
            if n < MIN_RUNS {
                return Err(WindowError::TooSmall(n));
            }
        }
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since >= until {
                return Err(WindowError::EmptyTimeRange { since, until });
            }
        }
        Ok(())
    }
}

/// Why a window could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A window too small to fit a slope.
    #[error("window must be at least {MIN_RUNS} runs, got {0}")]
    TooSmall(usize),
    /// `since` is not before `until`.
    #[error("since {since} is not before until {until}: no trace can match")]
    EmptyTimeRange {
        /// The lower bound.
        since: Timestamp,
        /// The upper bound.
        until: Timestamp,
    },
    /// No metric was asked for.
    #[error("no metric to analyze")]
    NoMetric,
    /// A run or segment key that no trace's config has (a typo, most
    /// often).
    #[error(
        "no trace has config key {key:?}; {}",
        names("the traces' config keys are", known)
    )]
    UnknownConfigKey {
        /// The key asked for.
        key: String,
        /// The keys the store's traces have.
        known: Vec<String>,
    },
    /// A score that no decision in the store has.
    #[error(
        "no decision has a score {name:?}; {}",
        names("the store's scores are", known)
    )]
    UnknownScore {
        /// The score asked for.
        name: String,
        /// The scores the store's decisions have.
        known: Vec<String>,
    },
    /// An evaluation whose pass or fail no decision in the store records.
    #[error(
        "no decision records whether evaluation {name:?} passed; {}",
        names("the store's evaluations are", known)
    )]
    UnknownEvaluation {
        /// The evaluation asked for.
        name: String,
        /// The evaluations whose pass or fail the store records.
        known: Vec<String>,
    },
}

impl WindowError {
    /// What kind of failure this is.
    pub fn kind(&self) -> crate::error::ErrorKind {
        match self {
            WindowError::Store(err) => err.kind(),
            WindowError::TooSmall(_)
            | WindowError::EmptyTimeRange { .. }
            | WindowError::NoMetric
            | WindowError::UnknownConfigKey { .. }
            | WindowError::UnknownScore { .. }
            | WindowError::UnknownEvaluation { .. } => crate::error::ErrorKind::InvalidInput,
        }
    }
}

/// "`what` a, b, c", or that there are none.
fn names(what: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!("{} none", what.trim_end_matches(" are").to_owned() + ":");
    }
    let quoted: Vec<String> = known.iter().map(|k| format!("{k:?}")).collect();
    format!("{what} {}", quoted.join(", "))
}

/// What an analysis needs read beside the window's runs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Needs<'a> {
    /// The metrics it measures: their facts are read (usage only when one
    /// needs steps), a score no decision has is an error.
    pub(crate) metrics: &'a [Metric],
    /// Each trace's model, mode and provider.
    pub(crate) labels: bool,
    /// The config key traces are segmented by.
    pub(crate) segment_key: Option<&'a str>,
    /// What makes traces the same case.
    pub(crate) cases: Option<&'a CaseBy>,
    /// More config keys (a comparison's selectors).
    pub(crate) more_keys: &'a [String],
}

/// The window's traces, pooled into runs: what every report is computed
/// from, and the counts of what was left out.
pub(crate) struct Pooled {
    /// The window's traces, oldest first.
    pub(crate) members: Vec<TraceHead>,
    /// Their facts, in the same order.
    pub(crate) facts: Vec<TraceFacts>,
    /// How the members make runs.
    pub(crate) runs: Runs,
    /// The `config_json` keys read, in the heads' order.
    pub(crate) config_keys: Vec<String>,
    /// The scores asked for by name, in the facts' order.
    pub(crate) score_names: Vec<String>,
    /// What a case is, and where a `config.<key>` case's value is among
    /// the heads' config values.
    pub(crate) cases: Option<(CaseBy, Option<usize>)>,
    /// Still-running traces in the window's span, left out.
    pub(crate) left_out_running: usize,
    /// Running traces counted as failed, when asked for.
    pub(crate) stale: Option<Stale>,
    /// Finished traces in the time bounds that belong to no run.
    pub(crate) ungrouped: usize,
    /// Rows that could not be used, and why.
    pub(crate) issues: Vec<RowIssue>,
    /// How many of them are rows of `traces`.
    pub(crate) head_issues: usize,
}

/// Which pooled members to keep, chosen from their heads alone (the facts
/// are read after it).
pub(crate) type Select<'a> = dyn FnMut(&Pooled) -> Vec<bool> + 'a;

/// How a window's members make runs.
pub(crate) enum Runs {
    /// Each member is its own run (run i is member i), keyed by its trace
    /// id: nothing to index or copy.
    PerTrace,
    /// Members pooled by a key.
    Keyed {
        /// Each member's run, 0 the oldest of the window.
        run_of: Vec<usize>,
        /// The runs' keys, oldest first.
        keys: Vec<String>,
    },
}

impl Pooled {
    /// Runs in the window.
    pub(crate) fn runs(&self) -> usize {
        match &self.runs {
            Runs::PerTrace => self.members.len(),
            Runs::Keyed { keys, .. } => keys.len(),
        }
    }

    /// Keeps the members `keep` keeps (and their facts); runs left without
    /// a member are dropped and the rest renumbered in order.
    pub(crate) fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        let kept: Vec<bool> = (0..self.members.len()).map(keep).collect();
        retain_kept(&mut self.members, &kept);
        retain_kept(&mut self.facts, &kept);
        if let Runs::Keyed { run_of, keys } = &mut self.runs {
            retain_kept(run_of, &kept);
            // Runs keep their order: a run's new index is the number of
            // runs before it that still have a member.
            let mut present = vec![false; keys.len()];
            for &run in run_of.iter() {
                present[run] = true;
            }
            let mut new_index = vec![0; keys.len()];
            let mut next = 0;
            for (run, index) in new_index.iter_mut().enumerate() {
                *index = next;
                next += usize::from(present[run]);
            }
            for run in run_of.iter_mut() {
                *run = new_index[*run];
            }
            retain_kept(keys, &present);
        }
    }

    /// `metric` over the traces `traces` (indices into `members`), as a
    /// run of them would have it.
    pub(crate) fn value_of(&self, metric: &Metric, traces: &[usize]) -> Option<f64> {
        self.measure(metric, traces).value
    }

    /// The measurement of `metric` over the traces `traces` (indices into
    /// `members`): a run's events and trials, or its mean.
    pub(crate) fn measure(&self, metric: &Metric, traces: &[usize]) -> Measured {
        measure(
            metric,
            traces,
            &self.facts,
            &self.members,
            &self.score_names,
        )
    }

    /// Where the config key `key`'s values are among the heads', if it
    /// was read.
    pub(crate) fn config_slot(&self, key: &str) -> Option<usize> {
        self.config_keys.iter().position(|k| k == key)
    }

    /// Member `i`'s run, 0 the oldest of the window.
    pub(crate) fn run_of(&self, i: usize) -> usize {
        match &self.runs {
            Runs::PerTrace => i,
            Runs::Keyed { run_of, .. } => run_of[i],
        }
    }

    /// Member `i`'s case, when cases were asked for: its mode and trimmed
    /// input, or its value of the case's config key; `None` for a trace
    /// without that key (or when no case was asked for).
    pub(crate) fn case_of(&self, i: usize) -> Option<(&str, &str)> {
        let head = &self.members[i];
        match self.cases.as_ref()? {
            (CaseBy::Input, _) => Some((head.mode(), head.input())),
            (CaseBy::Config(_), slot) => Some(("", head.config.get((*slot)?)?.as_deref()?)),
        }
    }

    /// A run's key: a trace id, `2026-11-27`, a git sha.
    pub(crate) fn run_key(&self, run: usize) -> &str {
        match &self.runs {
            Runs::PerTrace => self.members.get(run).map_or("", |t| t.trace_id.as_str()),
            Runs::Keyed { keys, .. } => keys.get(run).map_or("", String::as_str),
        }
    }

    /// Each run's traces (indices into `members`), runs in order, for the
    /// traces `keep` keeps: one sort, no allocation per run.
    pub(crate) fn runs_where(&self, keep: impl Fn(usize) -> bool) -> RunTraces {
        let run_of = match &self.runs {
            // No pairs to sort.
            Runs::PerTrace => {
                return RunTraces {
                    each: true,
                    traces: (0..self.members.len()).filter(|&i| keep(i)).collect(),
                    ..RunTraces::default()
                }
            }
            Runs::Keyed { run_of, .. } => run_of,
        };
        let mut pairs: Vec<(usize, usize)> = (0..self.members.len())
            .filter(|&i| keep(i))
            .map(|i| (run_of[i], i))
            .collect();
        // Members are in time order, and so (mostly) are their runs.
        if !pairs.is_sorted() {
            pairs.sort_unstable();
        }
        let mut runs = RunTraces {
            traces: Vec::with_capacity(pairs.len()),
            ..RunTraces::default()
        };
        for (run, i) in pairs {
            if runs.runs.last() != Some(&run) {
                runs.runs.push(run);
                runs.starts.push(runs.traces.len());
            }
            runs.traces.push(i);
        }
        runs
    }
}

/// Runs and their traces, flat: run `runs[k]` has the traces
/// `traces[starts[k]..starts[k + 1]]`; or, when `each`, run `traces[k]` has
/// that one trace (a million runs of one trace need no index of runs).
#[derive(Debug, Clone, Default)]
pub(crate) struct RunTraces {
    each: bool,
    runs: Vec<usize>,
    starts: Vec<usize>,
    traces: Vec<usize>,
}

impl RunTraces {
    /// How many runs.
    pub(crate) fn len(&self) -> usize {
        if self.each {
            self.traces.len()
        } else {
            self.runs.len()
        }
    }

    /// The `k`th run and its traces.
    pub(crate) fn get(&self, k: usize) -> Option<(usize, &[usize])> {
        if self.each {
            let one = self.traces.get(k..=k)?;
            return Some((one[0], one));
        }
        let start = *self.starts.get(k)?;
        let end = self.starts.get(k + 1).copied().unwrap_or(self.traces.len());
        Some((self.runs[k], &self.traces[start..end]))
    }

    /// (run, its traces) in run order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &[usize])> + '_ {
        (0..self.len()).filter_map(|k| self.get(k))
    }
}

/// Reads `store`'s window: the heads (one pass), then the facts of the
/// window's traces only, pooled into runs. `select`, if given, sees the
/// pooled heads before any facts are read and keeps the members it
/// returns true for, so the facts of traces it leaves out are never read.
pub(crate) fn pool<S: FactsStore + ?Sized>(
    store: &S,
    options: &WindowOptions,
    needs: &Needs<'_>,
    select: Option<&mut Select<'_>>,
    progress: Option<&Progress<'_>>,
) -> Result<Pooled, WindowError> {
    let stage = |stage: Stage| {
        if let Some(hook) = progress {
            hook(stage);
        }
    };
    options.validate()?;
    if needs.metrics.is_empty() {
        return Err(WindowError::NoMetric);
    }
    let keys = config_keys(options, needs);
    stage(Stage::ReadingTraces);
    let (mut members, issues) = read_heads(store, options, needs, &keys)?;
    let head_issues = issues.len();
    let (running, stale_failed) = keep_finished_in_range(&mut members, options);
    let group_slot = options
        .group_by
        .config_key()
        .and_then(|key| keys.iter().position(|k| k == key));
    let (runs, ungrouped, cut) = newest_runs(&mut members, options, group_slot);
    // Running traces are left out of the window's span: all of them
    // when the window takes every run.
    let left_out_running = match members.first() {
        Some(oldest) if cut => running.iter().filter(|&&t| t >= oldest.created_at).count(),
        _ => running.len(),
    };
    let score_names: Vec<String> = needs.metrics.iter().filter_map(Metric::score_key).collect();
    let cases = needs.cases.cloned().map(|by| {
        let slot = by
            .config_key()
            .and_then(|key| keys.iter().position(|k| k == key));
        (by, slot)
    });
    let mut pooled = Pooled {
        members,
        facts: Vec::new(),
        runs,
        config_keys: keys,
        score_names,
        cases,
        left_out_running,
        stale: options.stale_before.map(|before| Stale {
            before,
            failed: stale_failed,
        }),
        ungrouped,
        issues,
        head_issues,
    };
    if let Some(select) = select {
        let keep = select(&pooled);
        pooled.retain(|i| keep.get(i).copied().unwrap_or(false));
    }
    stage(Stage::ReadingFacts {
        traces: pooled.members.len(),
    });
    read_facts(store, &mut pooled, needs.metrics)?;
    Ok(pooled)
}

/// The config keys to read, each once: the grouping's, the
/// segmentation's, the cases', then the rest.
fn config_keys(options: &WindowOptions, needs: &Needs<'_>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for key in [
        options.group_by.config_key(),
        needs.segment_key,
        needs.cases.and_then(CaseBy::config_key),
    ]
    .into_iter()
    .flatten()
    .chain(needs.more_keys.iter().map(String::as_str))
    {
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    }
    keys
}

/// Every trace's head with the labels and `keys` the window needs (only
/// the newest when the window is a number of per-trace runs), and the
/// rows that could not be read; a key no trace has is an error.
fn read_heads<S: FactsStore + ?Sized>(
    store: &S,
    options: &WindowOptions,
    needs: &Needs<'_>,
    keys: &[String],
) -> Result<(Vec<TraceHead>, Vec<RowIssue>), WindowError> {
    // A window of per-trace runs needs only the newest heads, and one
    // more says whether the window cut any (see NewestHeads). Not when
    // config keys are read: a key is known by any trace having it.
    let newest = match (&options.group_by, options.runs) {
        (GroupBy::Trace, Window::Last(n)) if keys.is_empty() => Some(NewestHeads {
            count: n.saturating_add(1),
            since: options.since,
            until: options.until,
        }),
        _ => None,
    };
    let case_by = needs.cases;
    let scan = store.trace_heads(&HeadsQuery {
        // Cases are judged per model too (a flaky case's configuration).
        labels: needs.labels || case_by.is_some(),
        inputs: case_by == Some(&CaseBy::Input),
        config_keys: keys,
        newest,
    })?;
    // A key that no trace has is a typo, not a run of nothing.
    for (slot, key) in keys.iter().enumerate() {
        if !scan
            .rows
            .iter()
            .any(|t| t.config.get(slot).is_some_and(Option::is_some))
        {
            return Err(WindowError::UnknownConfigKey {
                key: key.clone(),
                known: store.config_keys()?,
            });
        }
    }
    Ok((scan.rows, scan.issues))
}

/// Keeps the finished traces in the time bounds (in place: a million
/// traces are never held twice), stale running ones counted as failed:
/// returns the instants of the running traces left out and how many
/// were counted as failed.
fn keep_finished_in_range(
    members: &mut Vec<TraceHead>,
    options: &WindowOptions,
) -> (Vec<Timestamp>, usize) {
    let in_range = |t: Timestamp| {
        options.since.is_none_or(|since| t >= since) && options.until.is_none_or(|until| t < until)
    };
    let mut running: Vec<Timestamp> = Vec::new();
    let mut stale_failed = 0;
    members.retain_mut(|head| {
        let at = head.created_at;
        if !in_range(at) {
            return false;
        }
        stale_failed += usize::from(Stale::fail(options.stale_before, head));
        if !head.status.is_finished() {
            running.push(at);
            return false;
        }
        true
    });
    (running, stale_failed)
}

/// Orders the members by age and keeps the window's newest runs: how they
/// make runs, the traces that belong to none, and whether the window cut
/// any run off.
fn newest_runs(
    members: &mut Vec<TraceHead>,
    options: &WindowOptions,
    group_slot: Option<usize>,
) -> (Runs, usize, bool) {
    let mut cut = false;
    if let (GroupBy::Trace, Window::Last(n)) = (&options.group_by, options.runs) {
        // A run is a trace: the newest `n` in linear time, and only
        // they are sorted.
        let start = members.len().saturating_sub(n);
        if start > 0 {
            members.select_nth_unstable_by_key(start, TraceHead::age);
            members.drain(..start);
            cut = true;
        }
    }
    members.sort_unstable_by_key(TraceHead::age);
    if matches!(options.group_by, GroupBy::Trace) {
        // Each trace is its own run (ids are unique), and the window is
        // taken already.
        return (Runs::PerTrace, 0, cut);
    }
    let (run_of, keys, ungrouped, first_run) =
        group(members, &options.group_by, group_slot, options.runs);
    (
        Runs::Keyed { run_of, keys },
        ungrouped,
        cut || first_run > 0,
    )
}

/// Reads the facts of the pooled members (usage only when a metric needs
/// it): a score no decision in the store has is an error, and a trace
/// whose sums overflowed is reported.
fn read_facts<S: FactsStore + ?Sized>(
    store: &S,
    pooled: &mut Pooled,
    metrics: &[Metric],
) -> Result<(), WindowError> {
    let ids: Vec<&str> = pooled.members.iter().map(|t| t.trace_id.as_str()).collect();
    let read = store.trace_facts(&FactsQuery {
        traces: &ids,
        score_names: &pooled.score_names,
        usage: metrics.iter().any(Metric::needs_steps),
    })?;
    drop(ids);
    pooled.issues.extend(read.issues);
    pooled.facts = read.rows;
    let (members, facts, score_names) = (&pooled.members, &pooled.facts, &pooled.score_names);
    for (slot, name) in score_names.iter().enumerate() {
        if !facts.iter().any(|f| f.named_scores[slot].1 > 0) {
            // None in the window: an error only if none in the store.
            let known = store.score_names()?;
            if !known.contains(name) {
                let (evaluations, scores): (Vec<String>, Vec<String>) = known
                    .into_iter()
                    .partition(|k| k.starts_with(PASSED_PREFIX));
                return Err(match name.strip_prefix(PASSED_PREFIX) {
                    Some(evaluation) => WindowError::UnknownEvaluation {
                        name: evaluation.to_owned(),
                        known: evaluations
                            .iter()
                            .map(|k| k[PASSED_PREFIX.len()..].to_owned())
                            .collect(),
                    },
                    None => WindowError::UnknownScore {
                        name: name.clone(),
                        known: scores,
                    },
                });
            }
        }
    }
    let overflow = overflowed(metrics, members, facts, score_names);
    pooled.issues.extend(overflow);
    Ok(())
}

/// Pools `members` (in time order) into runs, in the order of their first
/// trace, and keeps the window's: the members of its runs, each one's run
/// (renumbered from 0), the runs' keys, the traces that belong to no run,
/// and how many runs were cut off.
fn group(
    members: &mut Vec<TraceHead>,
    group_by: &GroupBy,
    group_slot: Option<usize>,
    window: Window,
) -> (Vec<usize>, Vec<String>, usize, usize) {
    let mut run_of_key: FxHashMap<String, usize> = FxHashMap::default();
    let mut run_keys: Vec<String> = Vec::new();
    let mut run_of_trace: Vec<Option<usize>> = Vec::with_capacity(members.len());
    let mut ungrouped = 0;
    for trace in members.iter() {
        let config = group_slot.and_then(|slot| trace.config.get(slot)?.as_deref());
        let run =
            group_by
                .key(&trace.trace_id, trace.created_at, config)
                .map(|key| match run_of_key.get(&key) {
                    Some(&run) => run,
                    None => {
                        let run = run_keys.len();
                        run_of_key.insert(key.clone(), run);
                        run_keys.push(key);
                        run
                    }
                });
        if run.is_none() {
            ungrouped += 1;
        }
        run_of_trace.push(run);
    }
    drop(run_of_key);
    let first_run = match window {
        Window::Last(n) => run_keys.len().saturating_sub(n),
        Window::All => 0,
    };
    let mut position = 0;
    members.retain(|_| {
        let keep = run_of_trace[position].is_some_and(|r| r >= first_run);
        position += 1;
        keep
    });
    let run_of: Vec<usize> = run_of_trace
        .into_iter()
        .flatten()
        .filter(|&r| r >= first_run)
        .map(|r| r - first_run)
        .collect();
    let run_keys = run_keys.split_off(first_run);
    (run_of, run_keys, ungrouped, first_run)
}

/// Keeps the items of `items` whose `kept` entry is true, in order.
fn retain_kept<T>(items: &mut Vec<T>, kept: &[bool]) {
    let mut k = kept.iter();
    items.retain(|_| k.next().copied().unwrap_or(false));
}
