//! Trace stores: where runs, their steps and their eval verdicts live.
//!
//! [`TraceStore`] has TraceFlow Lite's operations (`create_trace`,
//! `list_traces`, ...) plus two scans the analysis is built on, each one pass
//! over one table. [`SqliteStore`] reads and writes TraceFlow Lite's own
//! SQLite file; the SQL dialect stays inside `sqlite.rs`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::json::ScoreSummary;
use crate::model::{EvalDecision, EvalRecord, RunStatus, StepRecord, TraceRecord, TraceUpdate};

pub mod sqlite;

pub use sqlite::SqliteStore;

/// Why a store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening for reading never creates a file.
    #[error("{path}: no such file")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The path is a directory, a FIFO, a socket or a device: SQLite would
    /// fail on a directory with a bare I/O error and block on a FIFO.
    #[error("{path}: not a file ({kind})")]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead, e.g. `a directory`.
        kind: &'static str,
    },
    /// The file exists but SQLite could not open it.
    #[error("{path}: cannot open the store")]
    Open {
        /// The path given.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is not a SQLite database at all.
    #[error("{path}: not a SQLite database")]
    NotSqlite {
        /// The path given.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A SQLite database without TraceFlow Lite's tables or columns.
    #[error("{path}: not a TraceFlow store ({reason})")]
    NotTraceflowStore {
        /// The path given.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A query failed part-way (locked, I/O error, corrupt page).
    #[error("{path}: reading {table} failed")]
    Read {
        /// The store's path.
        path: PathBuf,
        /// The table being read.
        table: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A reader thread of a parallel scan panicked (a bug, reported as an
    /// error rather than taking the process down).
    #[error("{path}: a reader of {table} stopped unexpectedly")]
    ReaderPanicked {
        /// The store's path.
        path: PathBuf,
        /// The table being read.
        table: &'static str,
    },
    /// A write failed and its transaction was rolled back.
    #[error("{path}: {operation} failed")]
    Write {
        /// The store's path.
        path: PathBuf,
        /// What was being written, e.g. `create_trace 1f3a…`.
        operation: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A write to a store opened for analysis.
    #[error("{path}: opened read-only; {operation} needs a writable store")]
    ReadOnly {
        /// The store's path.
        path: PathBuf,
        /// The refused operation.
        operation: &'static str,
    },
    /// `update_trace` named a trace that does not exist.
    #[error("{path}: no trace {trace_id:?}")]
    NoSuchTrace {
        /// The store's path.
        path: PathBuf,
        /// The id asked for.
        trace_id: String,
    },
    /// A row asked for by id cannot be read.
    #[error("{path}: {issue}")]
    BadRow {
        /// The store's path.
        path: PathBuf,
        /// Which row and why.
        issue: RowIssue,
    },
}

/// A row that could not be used, and why. Reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowIssue {
    /// The table (`traces`, `trace_steps`, `trace_evals`).
    pub table: &'static str,
    /// The row's SQLite rowid (`eval_id` and `step_id` are rowids).
    pub rowid: i64,
    /// The trace the row belongs to, when it could be read.
    pub trace_id: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} row {}", self.table, self.rowid)?;
        if let Some(id) = &self.trace_id {
            write!(f, " (trace {id})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Rows read, with the rows that could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows<T> {
    /// The rows read.
    pub rows: Vec<T>,
    /// Rows left out, and why.
    pub issues: Vec<RowIssue>,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows {
            rows: Vec::new(),
            issues: Vec::new(),
        }
    }
}

/// Which traces a listing keeps (every one by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only traces with this status.
    pub status: Option<RunStatus>,
    /// Only traces of this model (the `model` column, exactly).
    pub model: Option<String>,
    /// Only traces started at or after this instant.
    pub since: Option<Timestamp>,
}

/// What the analysis needs of a trace: its id, status and start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHead {
    /// The trace's id.
    pub trace_id: String,
    /// Running, done or failed.
    pub status: RunStatus,
    /// When the run started.
    pub created_at: Timestamp,
    /// Insertion order, to break ties between equal start times.
    pub rowid: i64,
}

/// Where gate decisions are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionTable {
    /// `trace_evals` rows (written by `insert_eval_report` or other tools).
    TraceEvals,
    /// `evaluator` steps' `output_json`, where TraceFlow Lite's SDK keeps them.
    EvaluatorSteps,
}

impl DecisionTable {
    /// The SQL table behind the source.
    pub fn table(self) -> &'static str {
        match self {
            DecisionTable::TraceEvals => "trace_evals",
            DecisionTable::EvaluatorSteps => "trace_steps",
        }
    }
}

/// Which traces a scan reads rows of.
#[derive(Debug, Clone, Copy)]
pub enum TraceFilter<'a> {
    /// Every row of the table.
    All,
    /// Only rows of these traces.
    Only(&'a [&'a str]),
}

/// One gate decision found by a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// The row's rowid.
    pub rowid: i64,
    /// The verdict.
    pub decision: EvalDecision,
    /// Its scores' finite values.
    pub scores: ScoreSummary,
    /// Why its scores could not be used, if they could not.
    pub scores_problem: Option<String>,
    /// The evaluator step's position in its trace: the last is the trace's
    /// final decision.
    pub step_seq: i64,
    /// The finite values of the scores the scan was asked for by name, in
    /// that order (`None`: absent or not a finite number).
    pub named_scores: Vec<Option<f64>>,
}

/// What the analysis needs of a trace to pool and segment it: its head,
/// the columns it can be segmented by, and the asked-for `config_json`
/// keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDetail {
    /// Id, status, start, rowid.
    pub head: TraceHead,
    /// The `mode` column as stored (bytes that are not UTF-8 replaced);
    /// traces with the same value share one copy.
    pub mode: Arc<str>,
    /// The `model` column, likewise.
    pub model: Arc<str>,
    /// The `provider` column, likewise.
    pub provider: Arc<str>,
    /// Each asked-for `config_json` key's value: strings as they are, other
    /// JSON values as JSON text; `None` when absent, null, or when the
    /// config does not parse.
    pub config: Vec<Option<String>>,
}

/// One step's usage, found by a scan of `trace_steps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepUsage {
    /// Tokens used.
    pub tokens: i64,
    /// Wall time, in milliseconds.
    pub latency_ms: f64,
    /// Cost, in US dollars.
    pub cost_usd: f64,
}

/// Which evaluator steps a usage scan also decodes the decision of.
#[derive(Clone, Copy)]
pub struct StepDecisions<'a> {
    /// The scores to report by name.
    pub score_names: &'a [String],
    /// Whether a trace (by id) wants its decisions: decoding a gate report
    /// costs a JSON parse, so traces decided elsewhere are skipped.
    pub wanted: &'a (dyn Fn(&str) -> bool + 'a),
}

/// Receives each row of a usage scan: the trace id, the usage (or why the
/// row cannot be used) and, for evaluator steps when asked, the decision.
pub type UsageSink<'s> =
    dyn FnMut(&str, Result<StepUsage, RowIssue>, Option<Result<DecisionRow, RowIssue>>) + 's;

/// Receives each row of a decision scan: the row's trace id (borrowed, so a
/// scan allocates nothing per row) and the decision, or why the row cannot be
/// used.
pub type DecisionSink<'s> = dyn FnMut(&str, Result<DecisionRow, RowIssue>) + 's;

/// A store of TraceFlow Lite runs.
pub trait TraceStore {
    /// Inserts a run (TraceFlow Lite's `create_trace`).
    fn create_trace(&mut self, trace: &TraceRecord) -> Result<(), StoreError>;
    /// Sets a run's status, answer and error; `done` and `failed` set
    /// `finished_at` (TraceFlow Lite's `update_trace`).
    fn update_trace(&mut self, trace_id: &str, update: &TraceUpdate) -> Result<(), StoreError>;
    /// One run by id.
    fn get_trace(&self, trace_id: &str) -> Result<Option<TraceRecord>, StoreError>;
    /// Ids of runs that start with `prefix`, at most `limit` of them (for
    /// ids shortened in reports).
    fn find_trace_ids(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError>;
    /// The `limit` newest runs, newest first, ordered by instant.
    fn list_traces(&self, limit: usize) -> Result<Rows<TraceRecord>, StoreError> {
        self.list_traces_where(limit, &ListFilter::default())
    }
    /// The `limit` newest runs that `filter` keeps, newest first.
    fn list_traces_where(
        &self,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<Rows<TraceRecord>, StoreError>;
    /// Inserts a step (TraceFlow Lite's `insert_step`).
    fn insert_step(&mut self, step: &StepRecord) -> Result<(), StoreError>;
    /// A run's steps by `step_seq`.
    fn get_steps(&self, trace_id: &str) -> Result<Rows<StepRecord>, StoreError>;
    /// Inserts a verdict (TraceFlow Lite's `insert_eval_report`).
    fn insert_eval(&mut self, eval: &EvalRecord) -> Result<(), StoreError>;
    /// A run's verdicts by `step_seq`.
    fn get_evals(&self, trace_id: &str) -> Result<Rows<EvalRecord>, StoreError>;

    /// Every run's id, status and start time: one pass over `traces`.
    fn scan_traces(&self) -> Result<Rows<TraceHead>, StoreError>;
    /// Every gate decision in `table` for the filtered traces: one pass.
    /// `score_names` are the scores to report by name (usually none).
    fn scan_decisions(
        &self,
        table: DecisionTable,
        filter: TraceFilter<'_>,
        score_names: &[String],
        sink: &mut DecisionSink<'_>,
    ) -> Result<(), StoreError>;
    /// Every run with its segment columns and the values of `config_keys`
    /// in its `config_json`: one pass over `traces`.
    fn scan_trace_details(&self, config_keys: &[String]) -> Result<Rows<TraceDetail>, StoreError>;
    /// Every step's tokens, latency and cost for the filtered traces: one
    /// pass over `trace_steps`. With `decisions`, the evaluator steps of the
    /// traces it wants also bring their gate decision, so that the table is
    /// read once for both.
    fn scan_step_usage(
        &self,
        filter: TraceFilter<'_>,
        decisions: Option<StepDecisions<'_>>,
        sink: &mut UsageSink<'_>,
    ) -> Result<(), StoreError>;
    /// The top-level keys of the traces' `config_json`, sorted, for a
    /// message naming what the store has (read on an error path only).
    fn config_keys(&self) -> Result<Vec<String>, StoreError>;
    /// The score names of the gate's decisions (`trace_evals.scores_json`
    /// and the evaluator steps' `scores`), sorted, for a message naming
    /// what the store has (read on an error path only).
    fn score_names(&self) -> Result<Vec<String>, StoreError>;
}
