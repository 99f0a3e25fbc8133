//! Trace stores: where runs, their steps and their eval verdicts live.
//!
//! Two traits, by role. [`FactsStore`] answers the question an analysis
//! asks: every trace's head, then per-trace facts for the traces it judges
//! (see [`facts`]); a store adds each trace's rows up itself, so a server
//! database can answer in SQL. [`TraceStore`] has TraceFlow Lite's own
//! operations (`create_trace`, `list_traces`, ...), for `list`, `show` and
//! writers. [`SqliteStore`] reads and writes TraceFlow Lite's own SQLite
//! file; the SQL dialect stays inside `sqlite/`.

use std::fmt;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::Serialize;

use crate::model::{EvalRecord, RunStatus, StepRecord, TraceRecord, TraceUpdate};

pub mod facts;
pub mod sqlite;

pub use facts::{
    DecisionSource, FactsQuery, HeadsQuery, Labels, LastDecision, TraceFacts, TraceHead, Usage,
};
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
}

/// A store an analysis can ask: heads, then facts.
pub trait FactsStore {
    /// Every trace's head, with the labels and config values asked for:
    /// one pass over the traces. A trace id seen twice counts once (the
    /// first written); the others are reported.
    fn trace_heads(&self, query: &HeadsQuery<'_>) -> Result<Rows<TraceHead>, StoreError>;
    /// The facts of `query.traces`, in that order, by TraceFlow Lite's
    /// reading rules (decisions from `trace_evals`, else the evaluator
    /// steps, else none: the status stands in). Rows that cannot be used
    /// are reported; a row of a trace not asked for is ignored unless its
    /// trace id cannot be read (it may belong to any trace).
    fn trace_facts(&self, query: &FactsQuery<'_>) -> Result<Rows<TraceFacts>, StoreError>;
    /// The top-level keys of the traces' `config_json`, sorted, for a
    /// message naming what the store has (read on an error path only).
    fn config_keys(&self) -> Result<Vec<String>, StoreError>;
    /// The score names of the gate's decisions (`trace_evals.scores_json`
    /// and the evaluator steps' `scores`), sorted, for a message naming
    /// what the store has (read on an error path only).
    fn score_names(&self) -> Result<Vec<String>, StoreError>;
}
