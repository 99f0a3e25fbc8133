//! Trace stores: where runs, their steps and their eval verdicts live.
//!
//! Two traits, by role. [`FactsStore`] answers the question an analysis
//! asks: every trace's head, then per-trace facts for the traces it judges
//! (see [`facts`]); a store adds each trace's rows up itself, so a server
//! database can answer in SQL. [`RecordStore, WriteStore`] has TraceFlow Lite's own
//! operations (`create_trace`, `list_traces`, ...), for `list`, `show` and
//! writers. [`SqliteStore`] reads and writes TraceFlow Lite's own SQLite
//! file; the SQL dialect stays inside `sqlite/`.

use std::fmt;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::Serialize;

use crate::model::{EvalRecord, RunStatus, StepRecord, TraceRecord, TraceUpdate};

pub mod facts;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod tfl;

pub use facts::{
    DecisionSource, FactsQuery, HeadsQuery, Labels, LastDecision, NewestHeads, TraceFacts,
    TraceHead, Usage,
};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{ConnectError, PgTarget, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// A backend's own error (SQLite's, a server's), kept as the cause.
pub type BoxedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where a store lives, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A store file, by the path given.
    File(PathBuf),
    /// A [`MemoryStore`].
    Memory,
    /// A database on a server, shown without its password.
    Server(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Memory => f.write_str("in-memory store"),
            Location::Server(shown) => f.write_str(shown),
        }
    }
}

/// Why a store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening for reading never creates a file.
    #[error("{location}: no such file")]
    NotFound {
        /// The store given.
        location: Location,
    },
    /// The path is a directory, a FIFO, a socket or a device: SQLite would
    /// fail on a directory with a bare I/O error and block on a FIFO.
    #[error("{location}: not a file ({kind})")]
    NotAFile {
        /// The store given.
        location: Location,
        /// What it is instead, e.g. `a directory`.
        kind: &'static str,
    },
    /// The store exists but its backend could not open it.
    #[error("{location}: cannot open the store")]
    Open {
        /// The store given.
        location: Location,
        /// The backend's error.
        #[source]
        source: BoxedError,
    },
    /// The store is not a database of its backend's kind at all (a text
    /// file given as a SQLite store).
    #[error("{location}: not a {format} database")]
    NotADatabase {
        /// The store given.
        location: Location,
        /// The kind of database expected, as messages name it (`SQLite`).
        format: &'static str,
        /// The backend's error.
        #[source]
        source: BoxedError,
    },
    /// A database without TraceFlow Lite's tables or columns.
    #[error("{location}: not a TraceFlow store ({reason})")]
    NotTraceflowStore {
        /// The store given.
        location: Location,
        /// What is missing.
        reason: String,
    },
    /// The server could not be reached or refused the connection. The
    /// source's message names the database (without its password) and
    /// says why, so it is the message.
    #[error("{source}")]
    Connect {
        /// The database given.
        location: Location,
        /// Why, in the backend's terms.
        #[source]
        source: BoxedError,
    },
    /// The database has no traceflow schema, or one of another version,
    /// or the server refused a change to it.
    #[error("{location}: {source}")]
    Schema {
        /// The database.
        location: Location,
        /// What is wrong, and the command that mends it.
        #[source]
        source: BoxedError,
    },
    /// A query failed part-way (locked, I/O error, corrupt page).
    #[error("{location}: reading {table} failed")]
    Read {
        /// The store.
        location: Location,
        /// The table being read.
        table: &'static str,
        /// The backend's error.
        #[source]
        source: BoxedError,
    },
    /// A reader thread of a parallel scan panicked (a bug, reported as an
    /// error rather than taking the process down).
    #[error("{location}: a reader of {table} stopped unexpectedly")]
    ReaderPanicked {
        /// The store.
        location: Location,
        /// The table being read.
        table: &'static str,
    },
    /// A write failed and its transaction was rolled back.
    #[error("{location}: {operation} failed")]
    Write {
        /// The store.
        location: Location,
        /// What was being written, e.g. `create_trace 1f3a…`.
        operation: String,
        /// The backend's error.
        #[source]
        source: BoxedError,
    },
    /// A write to a store opened for analysis.
    #[error("{location}: opened read-only; {operation} needs a writable store")]
    ReadOnly {
        /// The store.
        location: Location,
        /// The refused operation.
        operation: &'static str,
    },
    /// `update_trace` named a trace that does not exist.
    #[error("{location}: no trace {trace_id:?}")]
    NoSuchTrace {
        /// The store.
        location: Location,
        /// The id asked for.
        trace_id: String,
    },
    /// A row asked for by id cannot be read.
    #[error("{location}: {issue}")]
    BadRow {
        /// The store.
        location: Location,
        /// Which row and why.
        issue: RowIssue,
    },
}

impl StoreError {
    /// What kind of failure this is, for a front end's exit code,
    /// exception or status.
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            StoreError::NotFound { .. } => ErrorKind::NotFound,
            StoreError::Connect { .. } => ErrorKind::Connection,
            StoreError::NotAFile { .. }
            | StoreError::Open { .. }
            | StoreError::NotADatabase { .. }
            | StoreError::NotTraceflowStore { .. }
            | StoreError::Schema { .. }
            | StoreError::Read { .. }
            | StoreError::ReaderPanicked { .. }
            | StoreError::Write { .. }
            | StoreError::ReadOnly { .. }
            | StoreError::NoSuchTrace { .. }
            | StoreError::BadRow { .. } => ErrorKind::Store,
        }
    }
}

/// Where a row that could not be used is, in its source's terms. The JSON
/// holds its fields in the issue's object (`"table"`, `"rowid"` for a table
/// row), so a new kind of source adds fields without moving these.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Locator {
    /// A row of a table.
    Row {
        /// The table (`traces`, `trace_steps`, `trace_evals`).
        table: &'static str,
        /// The row's rowid (SQLite's; `eval_id` and `step_id` are rowids),
        /// or its position in insertion order.
        rowid: i64,
    },
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Row { table, rowid } => write!(f, "{table} row {rowid}"),
        }
    }
}

/// A row that could not be used, and why. Reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowIssue {
    /// Where the row is.
    #[serde(flatten)]
    pub at: Locator,
    /// The trace the row belongs to, when it could be read.
    pub trace_id: Option<String>,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.at)?;
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

/// A whole trace: its row with its steps and verdicts, the unit a bulk write
/// (and a push into a team database) moves.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceBundle {
    /// The run.
    pub trace: TraceRecord,
    /// Its steps.
    pub steps: Vec<StepRecord>,
    /// Its verdicts.
    pub evals: Vec<EvalRecord>,
}

/// What a bulk write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Traces that were not in the store.
    pub created: usize,
    /// Traces that were, now replaced by the bundle's content.
    pub replaced: usize,
}

/// A store's records, for `list` and `show`.
pub trait RecordStore {
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
    /// A run's steps by `step_seq`.
    fn get_steps(&self, trace_id: &str) -> Result<Rows<StepRecord>, StoreError>;
    /// A run's verdicts by `step_seq`.
    fn get_evals(&self, trace_id: &str) -> Result<Rows<EvalRecord>, StoreError>;
}

/// A store's writes: TraceFlow Lite's operations, and a bulk write of whole
/// traces.
pub trait WriteStore {
    /// Inserts a run (TraceFlow Lite's `create_trace`).
    fn create_trace(&mut self, trace: &TraceRecord) -> Result<(), StoreError>;
    /// Sets a run's status, answer and error; `done` and `failed` set
    /// `finished_at` (TraceFlow Lite's `update_trace`).
    fn update_trace(&mut self, trace_id: &str, update: &TraceUpdate) -> Result<(), StoreError>;
    /// Inserts a step (TraceFlow Lite's `insert_step`).
    fn insert_step(&mut self, step: &StepRecord) -> Result<(), StoreError>;
    /// Inserts a verdict (TraceFlow Lite's `insert_eval_report`).
    fn insert_eval(&mut self, eval: &EvalRecord) -> Result<(), StoreError>;
    /// Writes whole traces, keyed by trace id, all or none: a trace not in
    /// the store is created; one that is has its row, steps and verdicts
    /// replaced by the bundle's (its place in insertion order kept). Writing
    /// the same bundles again leaves the same content.
    fn write_traces(&mut self, bundles: &[TraceBundle]) -> Result<WriteSummary, StoreError>;
}

/// A store every reading command can use: facts for the analyses,
/// records for `list` and `show`.
pub trait ReadStore: FactsStore + RecordStore {}

impl<T: FactsStore + RecordStore + ?Sized> ReadStore for T {}

/// A store as `--db` names it: a TraceFlow Lite file, or a PostgreSQL
/// database by URL or key=value conninfo (see [`PgTarget::is_postgres_spec`]).
///
/// With the `sqlite` and `postgres` features: it chooses between the two.
/// A program built for one backend opens that backend's store directly.
#[cfg(all(feature = "sqlite", feature = "postgres"))]
#[derive(Debug)]
pub enum StoreSpec {
    /// A SQLite file.
    File(PathBuf),
    /// A team database (boxed: its settings are large beside a path).
    Postgres(Box<PgTarget>),
}

#[cfg(all(feature = "sqlite", feature = "postgres"))]
impl StoreSpec {
    /// Reads `--db`: a PostgreSQL spec is parsed (with libpq's environment
    /// and password file) now, so a typo fails before anything is opened.
    pub fn parse(spec: &std::ffi::OsStr) -> Result<Self, ConnectError> {
        match spec.to_str() {
            Some(text) if PgTarget::is_postgres_spec(text) => {
                PgTarget::parse(text).map(|t| StoreSpec::Postgres(Box::new(t)))
            }
            _ => Ok(StoreSpec::File(PathBuf::from(spec))),
        }
    }

    /// The store file, when it is one (a report must not replace it).
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            StoreSpec::File(path) => Some(path),
            StoreSpec::Postgres(_) => None,
        }
    }

    /// Opens the store for reading: never creating or changing anything.
    pub fn open_read_only(&self) -> Result<Box<dyn ReadStore>, StoreError> {
        Ok(match self {
            StoreSpec::File(path) => Box::new(SqliteStore::open_read_only(path)?),
            StoreSpec::Postgres(target) => Box::new(PostgresStore::open_read_only(target)?),
        })
    }
}

#[cfg(all(feature = "sqlite", feature = "postgres"))]
impl fmt::Display for StoreSpec {
    /// The path, or the database without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::File(path) => write!(f, "{}", path.display()),
            StoreSpec::Postgres(target) => write!(f, "{target}"),
        }
    }
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
