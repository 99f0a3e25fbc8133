//! The question an analysis asks of a store, and the answer: per-trace
//! facts, resolved by TraceFlow Lite's reading rules.
//!
//! An analysis asks twice. First for every trace's head ([`HeadsQuery`]:
//! id, instant, status and the labels and config values runs and segments
//! are keyed on), from which it picks its window; then for the facts of the
//! window's traces ([`FactsQuery`]): decision counts, the last decision,
//! score sums, usage, and where the decisions came from. A trace's rows are
//! added up by the store, not by the analysis, so a server database can
//! answer in SQL and send one record per trace; the SQLite store answers
//! with its one-pass parallel scans.

use std::sync::Arc;

use jiff::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::model::{EvalDecision, RunStatus};
use crate::python_json::ScoreSummary;

/// What an analysis needs of every trace's head.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadsQuery<'a> {
    /// Read `mode`, `model` and `provider` (segments); when false they are
    /// empty.
    pub labels: bool,
    /// Also read `user_input`, trimmed, into the labels (a case's
    /// identity); when false it is empty. Traces that ask the same question
    /// share one copy of it.
    pub inputs: bool,
    /// The `config_json` keys to read, in this order.
    pub config_keys: &'a [String],
    /// Only the newest finished heads are wanted (a window of per-trace
    /// runs): a hint a store may take to hold and build fewer heads.
    pub newest: Option<NewestHeads>,
}

/// Which finished heads a windowed analysis needs: the `count` newest by
/// `(created_at, rowid)` of those started in `[since, until)`.
///
/// A store that takes the hint may leave out the other finished heads
/// (older ones, and those outside the range); it returns every head that
/// is not finished (a running trace is counted where the window starts, or
/// failed when stale) and reports every row it cannot read. A store that
/// ignores it returns every head: an analysis picks its window from either
/// answer alike. Asking for one more than the window tells whether any
/// were left out: more than the window come back exactly when there are
/// more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewestHeads {
    /// Finished heads wanted, the newest.
    pub count: usize,
    /// Started at or after this, when given.
    pub since: Option<Timestamp>,
    /// Started before this, when given.
    pub until: Option<Timestamp>,
}

impl NewestHeads {
    /// Whether a head started at `at` is in the range.
    pub fn in_range(&self, at: Timestamp) -> bool {
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at < until)
    }
}

/// A trace's head: what runs and segments are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHead {
    /// The trace's id.
    pub trace_id: String,
    /// Running, done or failed.
    pub status: RunStatus,
    /// When the run started.
    pub created_at: Timestamp,
    /// Insertion order (SQLite's rowid), to break ties between equal
    /// start times.
    pub rowid: i64,
    /// The `mode`, `model` and `provider` columns, when asked for.
    pub labels: Option<Arc<Labels>>,
    /// Each asked-for `config_json` key's value: strings as they are, other
    /// JSON values as JSON text; `None` when absent, null, or when the
    /// config does not parse.
    pub config: Box<[Option<String>]>,
}

impl TraceHead {
    /// Its place in the order of runs: `(created_at, rowid)`, the rowid
    /// breaking ties between equal start times.
    pub fn age(&self) -> (Timestamp, i64) {
        (self.created_at, self.rowid)
    }

    /// The `mode` column, empty unless labels were asked for.
    pub fn mode(&self) -> &str {
        self.labels.as_deref().map_or("", |l| &l.mode)
    }

    /// The `model` column, empty unless labels were asked for.
    pub fn model(&self) -> &str {
        self.labels.as_deref().map_or("", |l| &l.model)
    }

    /// The `provider` column, empty unless labels were asked for.
    pub fn provider(&self) -> &str {
        self.labels.as_deref().map_or("", |l| &l.provider)
    }

    /// The `user_input` column, trimmed; empty unless inputs were asked for.
    pub fn input(&self) -> &str {
        self.labels.as_deref().map_or("", |l| &l.input)
    }
}

/// A trace's segment columns as stored (bytes that are not UTF-8
/// replaced), and its input when asked for. Traces with the same ones share
/// one copy: a million traces hold a pointer each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels {
    /// The `mode` column.
    pub mode: Arc<str>,
    /// The `model` column.
    pub model: Arc<str>,
    /// The `provider` column.
    pub provider: Arc<str>,
    /// The `user_input` column, surrounding whitespace trimmed (empty
    /// unless asked for).
    pub input: Arc<str>,
}

/// Interns a scan's labels: each distinct text once, each distinct set of
/// them once, so a million traces of a few models and modes hold a pointer
/// each. Only a text not seen before is copied.
#[derive(Debug, Default)]
pub struct LabelSets {
    texts: FxHashSet<Arc<str>>,
    // Keyed by the interned texts' addresses.
    sets: FxHashMap<[usize; 4], Arc<Labels>>,
}

impl LabelSets {
    /// The shared copy of `text`.
    pub fn text(&mut self, text: &str) -> Arc<str> {
        match self.texts.get(text) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared: Arc<str> = Arc::from(text);
                self.texts.insert(Arc::clone(&shared));
                shared
            }
        }
    }

    /// The shared set of these labels (`input` already trimmed, or empty).
    pub fn set(&mut self, mode: &str, model: &str, provider: &str, input: &str) -> Arc<Labels> {
        let [mode, model, provider, input] = [mode, model, provider, input].map(|t| self.text(t));
        let key = [&mode, &model, &provider, &input].map(|text| text.as_ptr() as usize);
        Arc::clone(self.sets.entry(key).or_insert_with(|| {
            Arc::new(Labels {
                mode,
                model,
                provider,
                input,
            })
        }))
    }
}

/// What an analysis needs to know of the traces it judges.
#[derive(Debug, Clone, Copy)]
pub struct FactsQuery<'a> {
    /// The traces, each once. The answer's facts are in this order; how
    /// to read them (by name or the whole table) is the store's choice.
    pub traces: &'a [&'a str],
    /// The scores to sum by name (usually none).
    pub score_names: &'a [String],
    /// Sum each trace's steps' usage (tokens, latency, cost).
    pub usage: bool,
}

/// Where a trace's decisions came from, by TraceFlow Lite's rule:
/// `trace_evals` rows, else the `evaluator` steps' gate reports, else the
/// trace's status stands in for one decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    /// Rows of `trace_evals`.
    TraceEvals,
    /// `evaluator` steps' `output_json` (TraceFlow Lite's SDK).
    EvaluatorSteps,
    /// No decisions recorded: `done` counts as a pass, `failed` as a fail.
    #[default]
    Status,
}

impl DecisionSource {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionSource::TraceEvals => "trace_evals",
            DecisionSource::EvaluatorSteps => "evaluator_steps",
            DecisionSource::Status => "status",
        }
    }
}

/// A trace's last gate decision: the one with the highest step position
/// (and, among equal ones, the latest written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastDecision {
    /// Its step's position in the trace.
    pub step_seq: i64,
    /// Its row's insertion order, breaking ties.
    pub order: i64,
    /// The verdict.
    pub decision: EvalDecision,
}

/// A trace's steps, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Tokens used.
    pub tokens: f64,
    /// Wall time, in milliseconds.
    pub latency_ms: f64,
    /// Cost, in US dollars.
    pub cost_usd: f64,
    /// Steps counted.
    pub steps: u32,
}

/// Everything one trace contributes to an analysis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFacts {
    /// PASS, REVISE and FALLBACK decisions recorded.
    pub counts: [u32; 3],
    /// The last decision recorded, if any.
    pub last: Option<LastDecision>,
    /// The decisions' scores: sum and count of the finite values.
    pub scores: ScoreSummary,
    /// Per asked-for score name: sum and count of its finite values.
    pub named_scores: Box<[(f64, u32)]>,
    /// Where the decisions came from.
    pub source: DecisionSource,
    /// The steps' usage, when asked for and the trace has steps (boxed: a
    /// million traces hold a pointer, not 32 bytes, when it is not).
    pub usage: Option<Box<Usage>>,
}

impl TraceFacts {
    /// Facts with room for `scores` named scores and nothing recorded.
    pub fn empty(scores: usize) -> Self {
        TraceFacts {
            named_scores: vec![(0.0, 0); scores].into_boxed_slice(),
            ..TraceFacts::default()
        }
    }

    /// Adds one recorded decision from `source`.
    pub fn record(
        &mut self,
        source: DecisionSource,
        decision: EvalDecision,
        (step_seq, order): (i64, i64),
        scores: ScoreSummary,
        named: &[Option<f64>],
    ) {
        self.counts[decision_slot(decision)] += 1;
        if self
            .last
            .is_none_or(|last| (step_seq, order) > (last.step_seq, last.order))
        {
            self.last = Some(LastDecision {
                step_seq,
                order,
                decision,
            });
        }
        self.scores.absorb(scores);
        for (slot, value) in self.named_scores.iter_mut().zip(named) {
            if let Some(v) = value {
                slot.0 += v;
                slot.1 += 1;
            }
        }
        self.source = source;
    }

    /// Adds one step's usage.
    pub fn add_usage(&mut self, tokens: f64, latency_ms: f64, cost_usd: f64) {
        let usage = self.usage.get_or_insert_default();
        usage.tokens += tokens;
        usage.latency_ms += latency_ms;
        usage.cost_usd += cost_usd;
        usage.steps += 1;
    }

    /// Whether any decision was recorded.
    pub fn decided(&self) -> bool {
        self.source != DecisionSource::Status
    }

    /// PASS, REVISE and FALLBACK counts, the status standing in for one
    /// decision when none was recorded (`done` a pass, else a fail).
    pub fn outcomes(&self, status: RunStatus) -> [u64; 3] {
        if self.decided() {
            self.counts.map(u64::from)
        } else if status == RunStatus::Done {
            [1, 0, 0]
        } else {
            [0, 0, 0]
        }
    }

    /// Decisions counted: those recorded, or 1 for the status.
    pub fn decisions(&self) -> u64 {
        u64::from(self.counts.iter().sum::<u32>()).max(1)
    }

    /// Whether the trace's final outcome is a pass: its last decision, or
    /// its status.
    pub fn final_pass(&self, status: RunStatus) -> bool {
        match self.last {
            Some(last) => last.decision == EvalDecision::Pass,
            None => status == RunStatus::Done,
        }
    }
}

/// A decision's position in a `[PASS, REVISE, FALLBACK]` count.
pub fn decision_slot(decision: EvalDecision) -> usize {
    match decision {
        EvalDecision::Pass => 0,
        EvalDecision::Revise => 1,
        EvalDecision::Fallback => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_stands_in_for_one_decision_only_when_none_is_recorded() {
        let mut facts = TraceFacts::empty(0);
        assert_eq!(facts.outcomes(RunStatus::Done), [1, 0, 0]);
        assert_eq!(facts.outcomes(RunStatus::Failed), [0, 0, 0]);
        assert_eq!(facts.decisions(), 1);
        assert!(facts.final_pass(RunStatus::Done));
        let none = ScoreSummary::default();
        facts.record(
            DecisionSource::TraceEvals,
            EvalDecision::Revise,
            (2, 9),
            none,
            &[],
        );
        facts.record(
            DecisionSource::TraceEvals,
            EvalDecision::Pass,
            (1, 10),
            none,
            &[],
        );
        assert_eq!(facts.outcomes(RunStatus::Done), [1, 1, 0]);
        assert_eq!(facts.decisions(), 2);
        // The last decision is the highest step, not the latest row.
        assert!(!facts.final_pass(RunStatus::Done));
    }
}
