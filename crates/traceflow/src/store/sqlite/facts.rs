//! The facts seam over SQLite: heads in one parallel pass over `traces`;
//! facts in one pass over `trace_evals`, then at most one over
//! `trace_steps` (for usage, for the evaluator steps of traces without
//! `trace_evals` rows, or both). Rows are decoded on every core and added
//! up per trace on the calling thread.

use crate::store::Locator;
use std::borrow::Cow;
use std::path::Path;
use std::rc::Rc;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection};
use rustc_hash::FxHashMap;

use super::HeadKey;
use super::{
    get, head_key, lenient_real, open_reader, optional_text, reader_died, scan_decision_range,
    DecisionBatch, DecisionDecoder, Memo, SqliteStore,
};
use crate::model::EvalDecision;
use crate::python_json::ScoreSummary;
use crate::store::facts::LabelSets;
use crate::store::tfl::{self, config_values};
use crate::store::{
    DecisionSource, FactsQuery, FactsStore, HeadsQuery, Location, NewestHeads, RowIssue, Rows,
    StoreError, TraceFacts, TraceHead,
};
use std::collections::BinaryHeap;

/// Where gate decisions are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum DecisionTable {
    /// `trace_evals` rows (written by `insert_eval_report` or other tools).
    TraceEvals,
    /// `evaluator` steps' `output_json`, where TraceFlow Lite's SDK keeps them.
    EvaluatorSteps,
}

impl DecisionTable {
    /// The SQL table behind the source.
    pub(super) fn table(self) -> &'static str {
        match self {
            DecisionTable::TraceEvals => "trace_evals",
            DecisionTable::EvaluatorSteps => "trace_steps",
        }
    }

    fn source(self) -> DecisionSource {
        match self {
            DecisionTable::TraceEvals => DecisionSource::TraceEvals,
            DecisionTable::EvaluatorSteps => DecisionSource::EvaluatorSteps,
        }
    }
}

/// Which traces a scan reads rows of.
#[derive(Debug, Clone, Copy)]
pub(super) enum TraceFilter<'a> {
    /// Every row of the table.
    All,
    /// Only rows of these traces.
    Only(&'a [&'a str]),
}

impl<'a> TraceFilter<'a> {
    /// Names the traces when they are few, letting SQLite use an index;
    /// reads everything when they are more than [`FILTER_MAX_IDS`] or
    /// half the store's traces (one sequential pass is then cheaper than a
    /// lookup per trace), which also sees the rows whose trace id cannot be
    /// read.
    fn for_traces(ids: &'a [&'a str], store_traces: u64) -> Self {
        let n = ids.len() as u64;
        if n <= FILTER_MAX_IDS && n.saturating_mul(2) <= store_traces {
            TraceFilter::Only(ids)
        } else {
            TraceFilter::All
        }
    }
}

/// Traces a scan names at most before it reads the whole table.
const FILTER_MAX_IDS: u64 = 50_000;

/// One gate decision found by a scan.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DecisionRow {
    /// The row's rowid.
    pub(super) rowid: i64,
    /// The verdict.
    pub(super) decision: EvalDecision,
    /// Its scores' finite values.
    pub(super) scores: ScoreSummary,
    /// Why its scores could not be used, if they could not.
    pub(super) scores_problem: Option<String>,
    /// The evaluator step's position in its trace: the last is the trace's
    /// final decision.
    pub(super) step_seq: i64,
    /// The finite values of the scores the scan was asked for by name, in
    /// that order (`None`: absent or not a finite number).
    pub(super) named_scores: Vec<Option<f64>>,
}

/// One step's usage, found by a scan of `trace_steps`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StepUsage {
    tokens: i64,
    latency_ms: f64,
    cost_usd: f64,
}

/// Which evaluator steps a usage scan also decodes the decision of.
#[derive(Clone, Copy)]
struct StepDecisions<'a> {
    /// The scores to report by name.
    score_names: &'a [String],
    /// Whether a trace (by id) wants its decisions: decoding a gate report
    /// costs a JSON parse, so traces decided elsewhere are skipped.
    wanted: &'a (dyn Fn(&str) -> bool + 'a),
}

/// Receives each row of a usage scan: the trace id, the usage (or why the
/// row cannot be used) and, for evaluator steps when asked, the decision.
type UsageSink<'s> =
    dyn FnMut(&str, Result<StepUsage, RowIssue>, Option<Result<DecisionRow, RowIssue>>) + 's;

/// Receives each row of a decision scan: the row's trace id (borrowed, so a
/// scan allocates nothing per row) and the decision, or why the row cannot be
/// used.
pub(super) type DecisionSink<'s> = dyn FnMut(&str, Result<DecisionRow, RowIssue>) + 's;

impl FactsStore for SqliteStore {
    fn trace_heads(&self, query: &HeadsQuery<'_>) -> Result<Rows<TraceHead>, StoreError> {
        // Keeping each id's first row needs every row.
        let query = &HeadsQuery {
            newest: query.newest.filter(|_| self.schema.unique_trace_ids),
            ..*query
        };
        let ranges = self.rowid_ranges("traces")?;
        let mut out = if let [range] = ranges[..] {
            scan_head_range(&self.conn, &self.path, range, query)?
        } else {
            let path = &self.path;
            let parts = self.read_ranges("traces", &ranges, |conn, range| {
                scan_head_range(conn, path, range, query)
            });
            let mut out = Rows::default();
            for part in parts {
                let part = part?;
                out.rows.extend(part.rows);
                out.issues.extend(part.issues);
            }
            out
        };
        self.dedupe(&mut out, |h| (h.trace_id.as_str(), h.rowid));
        Ok(out)
    }

    fn trace_facts(&self, query: &FactsQuery<'_>) -> Result<Rows<TraceFacts>, StoreError> {
        let ids = query.traces;
        let mut out = Rows {
            rows: vec![TraceFacts::empty(query.score_names.len()); ids.len()],
            issues: Vec::new(),
        };
        if ids.is_empty() {
            return Ok(out);
        }
        // The store's traces, from the rowid span (the table is not counted).
        let store_traces = self
            .rowid_bounds("traces")?
            .map_or(0, |(low, high)| high.abs_diff(low).saturating_add(1));
        let filter = |ids| TraceFilter::for_traces(ids, store_traces);
        let mut index = None;
        let mut sink = Tally {
            slots: Slots::new(ids, &mut index),
            open: vec![true; ids.len()],
            facts: &mut out.rows,
            issues: &mut out.issues,
        };
        self.scan_decisions(
            DecisionTable::TraceEvals,
            filter(ids),
            query.score_names,
            &mut |trace_id, row| sink.decision(DecisionTable::TraceEvals, trace_id, row),
        )?;
        // Traces decided by trace_evals keep that record.
        sink.open = sink.facts.iter().map(|f| !f.decided()).collect();
        let undecided: Vec<&str> = ids
            .iter()
            .zip(&sink.open)
            .filter(|(_, &open)| open)
            .map(|(&id, _)| id)
            .collect();
        if query.usage {
            // Which traces want their evaluator steps decoded: all of them
            // (no trace_evals at all, TraceFlow Lite's SDK) without a lookup.
            let lookup: FxHashMap<&str, bool> = if undecided.len() == ids.len() {
                FxHashMap::default()
            } else {
                ids.iter().copied().zip(sink.open.iter().copied()).collect()
            };
            let all = undecided.len() == ids.len();
            let wanted = |trace_id: &str| all || lookup.get(trace_id).copied().unwrap_or(false);
            let decisions = (!undecided.is_empty()).then_some(StepDecisions {
                score_names: query.score_names,
                wanted: &wanted,
            });
            self.scan_step_usage(filter(ids), decisions, &mut |trace_id, row, decision| {
                if let Some(decision) = decision {
                    sink.decision(DecisionTable::EvaluatorSteps, trace_id, decision);
                }
                sink.usage(trace_id, row);
            })?;
        } else if !undecided.is_empty() {
            self.scan_decisions(
                DecisionTable::EvaluatorSteps,
                filter(&undecided),
                query.score_names,
                &mut |trace_id, row| sink.decision(DecisionTable::EvaluatorSteps, trace_id, row),
            )?;
        }
        Ok(out)
    }

    fn config_keys(&self) -> Result<Vec<String>, StoreError> {
        // `json_valid(X, 2)` accepts JSON5, which holds Python's NaN and
        // Infinity; text that is not even JSON5 is left out of the listing
        // (json_each would fail on it).
        self.names(
            "traces",
            "SELECT DISTINCT j.key FROM traces, json_each(CASE WHEN json_valid(config_json, 2) \
             AND json_type(config_json) = 'object' THEN config_json ELSE '{}' END) AS j \
             ORDER BY 1 LIMIT ?1",
        )
    }

    fn score_names(&self) -> Result<Vec<String>, StoreError> {
        self.names(
            "trace_evals",
            "SELECT key FROM (\
               SELECT j.key AS key FROM trace_evals, json_each(CASE WHEN json_valid(scores_json, 2) \
               AND json_type(scores_json) = 'object' THEN scores_json ELSE '{}' END) AS j \
               UNION \
               SELECT j.key FROM trace_steps, json_each(CASE WHEN node_name = 'evaluator' COLLATE NOCASE \
               AND json_valid(output_json, 2) AND json_type(output_json, '$.scores') = 'object' \
               THEN json_extract(output_json, '$.scores') ELSE '{}' END) AS j\
             ) ORDER BY 1 LIMIT ?1",
        )
    }
}

impl SqliteStore {
    pub(super) fn scan_decisions(
        &self,
        table: DecisionTable,
        filter: TraceFilter<'_>,
        score_names: &[String],
        sink: &mut DecisionSink<'_>,
    ) -> Result<(), StoreError> {
        let ranges = self.rowid_ranges(table.table())?;
        if let [range] = ranges[..] {
            return scan_decision_range(
                &self.conn,
                &self.path,
                (table, score_names),
                filter,
                range,
                &mut |batch| {
                    batch.feed(sink);
                    Ok(())
                },
            );
        }
        // Readers decode rows on rayon's pool and send them in batches; the
        // sink runs here, on the calling thread (which is not one of the
        // pool's: the analysis is not called from inside a rayon job).
        let failed: std::sync::Mutex<Option<StoreError>> = std::sync::Mutex::new(None);
        rayon::in_place_scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<DecisionBatch>(8);
            for &range in &ranges {
                let sender = sender.clone();
                let (path, mode, failed) = (&self.path, self.read_mode, &failed);
                scope.spawn(move |_| {
                    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let conn = open_reader(path, mode)?;
                        let what = (table, score_names);
                        scan_decision_range(&conn, path, what, filter, range, &mut |batch| {
                            // The receiver lives until every sender is gone.
                            let _ = sender.send(batch);
                            Ok(())
                        })
                    }))
                    .unwrap_or_else(|_| Err(reader_died(path, table.table())));
                    if let Err(err) = read {
                        if let Ok(mut first) = failed.lock() {
                            first.get_or_insert(err);
                        }
                    }
                });
            }
            drop(sender);
            for batch in receiver {
                batch.feed(sink);
            }
        });
        match failed.into_inner() {
            Ok(None) => Ok(()),
            Ok(Some(err)) => Err(err),
            Err(_) => Err(reader_died(&self.path, table.table())),
        }
    }

    fn scan_step_usage(
        &self,
        filter: TraceFilter<'_>,
        decisions: Option<StepDecisions<'_>>,
        sink: &mut UsageSink<'_>,
    ) -> Result<(), StoreError> {
        let read_error = self.read_error("trace_steps");
        // The gate report is only read from evaluator rows: other steps'
        // outputs (answers, plans) are most of the table's bytes.
        let report = if decisions.is_some() {
            "CASE WHEN node_name = 'evaluator' COLLATE NOCASE THEN output_json END"
        } else {
            "NULL"
        };
        let columns = format!(
            "rowid, trace_id, tokens, latency_ms, cost_usd, \
             node_name = 'evaluator' COLLATE NOCASE, {report}, step_seq"
        );
        let mut stmt;
        let mut rows = match filter {
            TraceFilter::All => {
                stmt = self
                    .conn
                    .prepare(&format!("SELECT {columns} FROM trace_steps"))
                    .map_err(&read_error)?;
                stmt.query([])
            }
            TraceFilter::Only(ids) => {
                stmt = self
                    .conn
                    .prepare(&format!(
                        "SELECT {columns} FROM trace_steps \
                         WHERE trace_id IN (SELECT value FROM rarray(?1))"
                    ))
                    .map_err(&read_error)?;
                let ids = Rc::new(
                    ids.iter()
                        .map(|id| Value::Text((*id).to_owned()))
                        .collect::<Vec<_>>(),
                );
                stmt.query(params![ids])
            }
        }
        .map_err(&read_error)?;
        let mut decoder = DecisionDecoder::new(decisions.map_or(&[], |d| d.score_names));
        while let Some(row) = rows.next().map_err(&read_error)? {
            let rowid: i64 = row.get(0).map_err(&read_error)?;
            let Ok(trace_id) = row.get_ref(1).map_err(&read_error)?.as_str() else {
                let issue = RowIssue {
                    at: Locator::Row {
                        table: "trace_steps",
                        rowid,
                    },
                    trace_id: None,
                    reason: "trace_id is not text".to_owned(),
                };
                sink("", Err(issue), None);
                continue;
            };
            let issue = |reason: String| RowIssue {
                at: Locator::Row {
                    table: "trace_steps",
                    rowid,
                },
                trace_id: Some(trace_id.to_owned()),
                reason,
            };
            let finite = |value: ValueRef<'_>, column: &str| -> Result<f64, String> {
                tfl::finite(lenient_real(value, column)?, column)
            };
            let usage = (|| {
                Ok(StepUsage {
                    tokens: finite(get(row, 2)?, "tokens")?.round() as i64,
                    latency_ms: finite(get(row, 3)?, "latency_ms")?,
                    cost_usd: finite(get(row, 4)?, "cost_usd")?,
                })
            })()
            .map_err(issue);
            let evaluator = matches!(get(row, 5), Ok(ValueRef::Integer(1)));
            let decision = decisions
                .filter(|d| evaluator && (d.wanted)(trace_id))
                .map(|_| decoder.gate_report(row, rowid, (6, 7)).map_err(issue));
            sink(trace_id, usage, decision);
        }
        Ok(())
    }
}

/// The columns a scan of heads reads, and where the optional ones are.
struct HeadColumns {
    /// The select list.
    columns: String,
    /// Whether `mode`, `model` and `provider` are read (columns 4–6):
    /// inputs are a case's identity with its mode, so asking for them
    /// reads the labels too.
    labelled: bool,
    /// The `user_input` column, when asked for.
    input_column: Option<usize>,
    /// The `config_json` column, when config keys are asked for.
    config_column: Option<usize>,
}

impl HeadColumns {
    fn of(query: &HeadsQuery<'_>) -> HeadColumns {
        let labelled = query.labels || query.inputs;
        let mut columns = String::from("rowid, trace_id, status, created_at");
        let mut next = 4;
        if labelled {
            columns.push_str(", mode, model, provider");
            next += 3;
        }
        let input_column = query.inputs.then(|| {
            columns.push_str(", user_input");
            next += 1;
            next - 1
        });
        let config_column = if query.config_keys.is_empty() {
            None
        } else {
            columns.push_str(", config_json");
            Some(next)
        };
        HeadColumns {
            columns,
            labelled,
            input_column,
            config_column,
        }
    }
}

/// A head's values of the config keys asked for, from its `config_json`
/// (parsed once per distinct text), and why they read as absent, if they
/// do.
fn config_of(
    value: ValueRef<'_>,
    configs: &mut Memo<(Vec<Option<String>>, Option<String>)>,
    keys: &[String],
) -> (Box<[Option<String>]>, Option<String>) {
    match value {
        ValueRef::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let (values, problem) = configs.get(&text, |text| config_values(text, keys));
            (values.into_boxed_slice(), problem)
        }
        _ => (
            vec![None; keys.len()].into_boxed_slice(),
            Some("config_json: not text; its keys read as absent".to_owned()),
        ),
    }
}

/// Reads one rowid range of `traces`: the heads, with what `query` asks.
fn scan_head_range(
    conn: &Connection,
    path: &Path,
    (first, last): (i64, i64),
    query: &HeadsQuery<'_>,
) -> Result<Rows<TraceHead>, StoreError> {
    let read_error = |source: rusqlite::Error| StoreError::Read {
        location: Location::File(path.to_path_buf()),
        table: "traces",
        source: source.into(),
    };
    let HeadColumns {
        columns,
        labelled,
        input_column,
        config_column,
    } = HeadColumns::of(query);
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {columns} FROM traces WHERE rowid BETWEEN ?1 AND ?2"
        ))
        .map_err(read_error)?;
    let mut rows = stmt.query([first, last]).map_err(read_error)?;
    let mut out = Rows::default();
    let mut configs: Memo<(Vec<Option<String>>, Option<String>)> = Memo::new();
    let mut labels = LabelSets::default();
    let mut newest = query.newest.map(Newest::new);
    while let Some(row) = rows.next().map_err(read_error)? {
        let key = match head_key(row).map_err(read_error)? {
            Ok(key) => key,
            Err(issue) => {
                out.issues.push(issue);
                continue;
            }
        };
        // Most heads of a long history are older than the window: they
        // are passed over before their id is copied or labels are read.
        if newest.as_ref().is_some_and(|n| !n.admits(&key)) {
            continue;
        }
        let mut head = key.into_head();
        let issue = |reason: String| RowIssue {
            at: Locator::Row {
                table: "traces",
                rowid: head.rowid,
            },
            trace_id: Some(head.trace_id.clone()),
            reason,
        };
        // Segment labels are shown, not parsed: a byte that is not UTF-8
        // becomes U+FFFD rather than losing the trace.
        let text = |index: usize| -> Result<Cow<'_, str>, StoreError> {
            Ok(match row.get_ref(index).map_err(read_error)? {
                ValueRef::Text(bytes) => String::from_utf8_lossy(bytes),
                other => optional_text(other, "")
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .into(),
            })
        };
        let set = if labelled {
            let input = match input_column {
                Some(column) => text(column)?,
                None => Cow::Borrowed(""),
            };
            Some(labels.set(&text(4)?, &text(5)?, &text(6)?, input.trim()))
        } else {
            None
        };
        let config = match config_column {
            None => Box::default(),
            Some(column) => {
                let value = row.get_ref(column).map_err(read_error)?;
                let (values, problem) = config_of(value, &mut configs, query.config_keys);
                if let Some(reason) = problem {
                    out.issues.push(issue(reason));
                }
                values
            }
        };
        head.labels = set;
        head.config = config;
        match &mut newest {
            Some(newest) if head.status.is_finished() => newest.keep(head),
            _ => out.rows.push(head),
        }
    }
    if let Some(newest) = newest {
        out.rows
            .extend(newest.heap.into_iter().map(|ByAge(head)| head));
    }
    Ok(out)
}

/// The newest finished heads of a scan so far, as [`NewestHeads`] asks.
struct Newest {
    wanted: NewestHeads,
    /// The oldest kept on top.
    heap: BinaryHeap<ByAge>,
}

impl Newest {
    fn new(wanted: NewestHeads) -> Self {
        Newest {
            wanted,
            heap: BinaryHeap::with_capacity(wanted.count.saturating_add(1).min(1 << 16)),
        }
    }

    /// Whether a head is kept if read: every head not finished; a finished
    /// one in the range while fewer than wanted are kept, or when newer
    /// than the oldest kept.
    fn admits(&self, key: &HeadKey<'_>) -> bool {
        if !key.status.is_finished() {
            return true;
        }
        if !self.wanted.in_range(key.created_at) {
            return false;
        }
        self.heap.len() < self.wanted.count
            || self
                .heap
                .peek()
                .is_some_and(|ByAge(oldest)| (key.created_at, key.rowid) > oldest.age())
    }

    /// Keeps an admitted finished head, dropping the oldest if one too many.
    fn keep(&mut self, head: TraceHead) {
        self.heap.push(ByAge(head));
        if self.heap.len() > self.wanted.count {
            self.heap.pop();
        }
    }
}

/// A head ordered oldest-greatest, so that a max-heap keeps the oldest on
/// top.
struct ByAge(TraceHead);

impl PartialEq for ByAge {
    fn eq(&self, other: &Self) -> bool {
        self.0.age() == other.0.age()
    }
}

impl Eq for ByAge {}

impl PartialOrd for ByAge {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByAge {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.age().cmp(&self.0.age())
    }
}

/// Adds the rows of a facts query up per trace.
struct Tally<'a, 'i> {
    slots: Slots<'a, 'i>,
    /// Traces the table being read may still decide.
    open: Vec<bool>,
    facts: &'a mut [TraceFacts],
    issues: &'a mut Vec<RowIssue>,
}

impl Tally<'_, '_> {
    /// The trace a row belongs to; a row whose trace id cannot be read may
    /// belong to any trace, so its issue is reported.
    fn trace<T>(&mut self, trace_id: &str, row: &Result<T, RowIssue>) -> Option<usize> {
        let found = self.slots.find(trace_id);
        if found.is_none() {
            if let Err(issue) = row {
                if issue.trace_id.is_none() {
                    self.issues.push(issue.clone());
                }
            }
        }
        found
    }

    fn decision(
        &mut self,
        table: DecisionTable,
        trace_id: &str,
        row: Result<DecisionRow, RowIssue>,
    ) {
        let Some(i) = self.trace(trace_id, &row) else {
            return;
        };
        if !self.open[i] {
            return;
        }
        match row {
            Ok(row) => {
                if let Some(reason) = &row.scores_problem {
                    self.issues.push(RowIssue {
                        at: Locator::Row {
                            table: table.table(),
                            rowid: row.rowid,
                        },
                        trace_id: Some(trace_id.to_owned()),
                        reason: format!("{reason}; scores ignored, decision counted"),
                    });
                }
                self.facts[i].record(
                    table.source(),
                    row.decision,
                    (row.step_seq, row.rowid),
                    row.scores,
                    &row.named_scores,
                );
            }
            Err(issue) => self.issues.push(issue),
        }
    }

    fn usage(&mut self, trace_id: &str, row: Result<StepUsage, RowIssue>) {
        let Some(i) = self.trace(trace_id, &row) else {
            return;
        };
        match row {
            Ok(step) => self.facts[i].add_usage(step.tokens as f64, step.latency_ms, step.cost_usd),
            Err(issue) => self.issues.push(issue),
        }
    }
}

/// Positions remembered by [`Slots`]: one per concurrent reader and more.
const RECENT: usize = 8;

/// Linear searches [`Slots`] makes before it builds its hash table.
const LINEAR_MISSES: usize = 8;

/// Finds a trace's position among the asked-for ids. Stores append a
/// trace's rows together and traces in time order, so each row's trace is
/// usually the one of an earlier row or the next one. Parallel readers
/// interleave a few such sequences, so several recent positions are tried
/// before the hash table (built on the first miss): a few comparisons
/// instead of a cache miss per row.
struct Slots<'t, 'i> {
    ids: &'t [&'i str],
    index: &'t mut Option<FxHashMap<&'i str, usize>>,
    recent: [usize; RECENT],
    /// Where the next new position is remembered.
    next: usize,
    /// Linear searches so far.
    misses: usize,
}

impl<'t, 'i> Slots<'t, 'i> {
    fn new(ids: &'t [&'i str], index: &'t mut Option<FxHashMap<&'i str, usize>>) -> Self {
        Slots {
            ids,
            index,
            recent: [0; RECENT],
            next: 0,
            misses: 0,
        }
    }

    fn find(&mut self, trace_id: &str) -> Option<usize> {
        for k in 0..RECENT {
            let last = self.recent[k];
            for guess in [last, last + 1] {
                if self.ids.get(guess) == Some(&trace_id) {
                    self.recent[k] = guess;
                    return Some(guess);
                }
            }
        }
        // A few misses (where a parallel reader's range starts) are cheaper
        // to find by a linear search than by hashing a million ids.
        let found = if self.index.is_none() && self.misses < LINEAR_MISSES {
            self.misses += 1;
            self.ids.iter().position(|&id| id == trace_id)
        } else {
            let ids = self.ids;
            let index = self
                .index
                .get_or_insert_with(|| ids.iter().enumerate().map(|(i, &id)| (id, i)).collect());
            index.get(trace_id).copied()
        }?;
        self.recent[self.next] = found;
        self.next = (self.next + 1) % RECENT;
        Some(found)
    }
}
