//! TraceFlow Lite's SQLite store, read and written with zero schema changes.
//!
//! Opening for analysis ([`SqliteStore::open_read_only`]) never creates a
//! file and never changes schema, journal mode or rows, and works while
//! TraceFlow Lite writes (WAL readers do not block writers). Opening for
//! writing ([`SqliteStore::open_writable`]) does what TraceFlow Lite's
//! `init_db` does, plus two indexes that TraceFlow Lite does not have and
//! does not mind.

use crate::store::Locator;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, Row};
use rustc_hash::FxHashMap;

use super::tfl::{named_scores, parse_gate_report, scores_of, Verdict};
use super::{
    FactsStore, HeadsQuery, ListFilter, Location, RecordStore, RowIssue, Rows, StoreError,
    TraceBundle, TraceHead, WriteStore, WriteSummary,
};
use crate::model::{
    EvalDecision, EvalRecord, Mode, RunConfig, RunStatus, StepRecord, TraceRecord, TraceUpdate,
};
use crate::python_json::{self, ScoreSummary};
use crate::timestamp;
use facts::{DecisionRow, DecisionSink, DecisionTable, TraceFilter};

mod connection;
mod export;
mod facts;
mod import;
mod values;
mod write;

use connection::*;
use values::*;
use write::*;

pub use export::{ExportEval, ExportStep, ExportTrace, Exported, RowKey};
pub use import::{ImportedTrace, Put};
pub use write::WriteBatch;

/// TraceFlow Lite's DDL, exactly as its `persistence/sqlite.py` creates it.
pub const TRACEFLOW_LITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS traces (
    trace_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    user_input TEXT NOT NULL,
    config_json TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    final_answer TEXT,
    error TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    finished_at TIMESTAMP,
    updated_db_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS trace_steps (
    step_id INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT NOT NULL,
    step_seq INTEGER NOT NULL,
    node_name TEXT NOT NULL,
    input_json TEXT,
    output_json TEXT,
    tokens INTEGER DEFAULT 0,
    latency_ms INTEGER DEFAULT 0,
    cost_usd REAL DEFAULT 0.0,
    error TEXT,
    cache_hit INTEGER DEFAULT 0,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_db_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (trace_id) REFERENCES traces(trace_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS trace_evals (
    eval_id INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT NOT NULL,
    step_seq INTEGER NOT NULL,
    decision TEXT NOT NULL,
    reasons_json TEXT,
    scores_json TEXT,
    revision_instructions TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_db_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (trace_id) REFERENCES traces(trace_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS llm_cache (
    cache_key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response_content TEXT NOT NULL,
    input_tokens INTEGER DEFAULT 0,
    output_tokens INTEGER DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    hit_count INTEGER DEFAULT 0
);
";

/// Additive indexes: without them every per-trace lookup scans a whole table.
const TRACEFLOW_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS idx_trace_evals_trace_id ON trace_evals(trace_id);
CREATE INDEX IF NOT EXISTS idx_trace_steps_trace_id ON trace_steps(trace_id);
";

/// The columns traceflow reads that every version of TraceFlow Lite's
/// schema had, per table. A store missing any of them is not one TraceFlow
/// Lite wrote. Columns added later are optional: see [`Schema`].
const REQUIRED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "traces",
        &[
            "trace_id",
            "status",
            "mode",
            "user_input",
            "config_json",
            "model",
            "provider",
            "final_answer",
            "error",
            "created_at",
            "finished_at",
        ],
    ),
    (
        "trace_steps",
        &[
            "trace_id",
            "step_seq",
            "node_name",
            "input_json",
            "output_json",
            "tokens",
            "latency_ms",
            "cost_usd",
            "error",
            "created_at",
        ],
    ),
    (
        "trace_evals",
        &[
            "trace_id",
            "step_seq",
            "decision",
            "reasons_json",
            "scores_json",
            "revision_instructions",
            "created_at",
        ],
    ),
];

/// How long a read waits for a writer's lock (rollback-journal stores only;
/// in WAL mode readers never wait).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a store's schema has beyond [`REQUIRED_COLUMNS`], read once at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Schema {
    /// `trace_steps.cache_hit`, added in mid-January 2026 (with the
    /// `llm_cache` table, which traceflow does not read). Stores begun
    /// before keep their shape, as TraceFlow Lite never alters a table:
    /// without the column a step reads as not served from the cache.
    step_cache_hit: bool,
    /// Whether `traces.trace_id` is unique (its primary key, or another
    /// unique index). A table created without it may repeat an id, and the
    /// scans then keep each id's first row.
    unique_trace_ids: bool,
}

impl Schema {
    /// The `cache_hit` column, or its default where the store has none.
    fn cache_hit_sql(self) -> &'static str {
        if self.step_cache_hit {
            "cache_hit"
        } else {
            "0 AS cache_hit"
        }
    }
}

/// A TraceFlow Lite store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    writable: bool,
    /// How reader connections open the file.
    read_mode: ReadMode,
    /// Optional columns present, and whether trace ids are unique.
    schema: Schema,
    /// Reader threads a large scan may use.
    readers: usize,
    /// Rows each reader thread gets at the least.
    min_rows_per_reader: u64,
}

impl SqliteStore {
    /// Opens an existing store for analysis: read-only, never creating a
    /// file (no `-wal` or `-shm` either, even where the directory is
    /// writable), and checking that it has the tables and
    /// columns every version of TraceFlow Lite's schema had.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    location: Location::File(path),
                })
            }
            // Unreadable metadata: SQLite's open says why.
            Err(_) => return Self::open_reader_store(path, ReadMode::Shared),
        };
        if let Some(kind) = not_a_file(&metadata.file_type()) {
            return Err(StoreError::NotAFile {
                location: Location::File(path),
                kind,
            });
        }
        let mode = ReadMode::for_file(&path);
        Self::open_reader_store(path, mode)
    }

    fn open_reader_store(path: PathBuf, read_mode: ReadMode) -> Result<Self, StoreError> {
        let mut store = SqliteStore {
            conn: open_reader(&path, read_mode)?,
            path,
            writable: false,
            read_mode,
            schema: Schema {
                step_cache_hit: true,
                unique_trace_ids: true,
            },
            readers: default_readers(),
            min_rows_per_reader: PARALLEL_MIN_ROWS,
        };
        store.schema = store.check_schema()?;
        Ok(store)
    }

    /// Opens a store for writing, creating the file and TraceFlow Lite's
    /// tables if it has none (as its `init_db` does), in WAL mode, plus
    /// indexes on `trace_evals(trace_id)` and `trace_steps(trace_id)`. An
    /// existing store keeps its tables as they are (an early store gets no
    /// `cache_hit` column and no `llm_cache`): writes fill the columns it
    /// has.
    pub fn open_writable(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Ok(metadata) = std::fs::metadata(&path) {
            if let Some(kind) = not_a_file(&metadata.file_type()) {
                return Err(StoreError::NotAFile {
                    location: Location::File(path),
                    kind,
                });
            }
        }
        let conn = Connection::open(&path).map_err(|source| StoreError::Open {
            location: Location::File(path.clone()),
            source: source.into(),
        })?;
        let mut store = SqliteStore {
            conn,
            path,
            writable: true,
            read_mode: ReadMode::Shared,
            schema: Schema {
                step_cache_hit: true,
                unique_trace_ids: true,
            },
            readers: default_readers(),
            min_rows_per_reader: PARALLEL_MIN_ROWS,
        };
        store
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| {
                store.conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
            })
            .and_then(|()| {
                let tables: i64 = store.conn.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
                     AND name IN ('traces', 'trace_steps', 'trace_evals')",
                    [],
                    |row| row.get(0),
                )?;
                if tables == 0 {
                    store.conn.execute_batch(TRACEFLOW_LITE_SCHEMA)?;
                }
                Ok(())
            })
            .and_then(|()| store.conn.execute_batch(TRACEFLOW_INDEXES))
            .and_then(|()| rusqlite::vtab::array::load_module(&store.conn))
            .map_err(|source| store.classify_open_error(source))?;
        store.schema = store.check_schema()?;
        Ok(store)
    }

    /// Sets how many reader threads a scan of a large table may use
    /// (default: one per core, at most 4) and how many rows each must get at
    /// the least (default 200,000). `with_readers(1, 0)` reads on the
    /// calling thread only.
    pub fn with_readers(mut self, readers: usize, min_rows_per_reader: u64) -> Self {
        self.readers = readers.max(1);
        self.min_rows_per_reader = min_rows_per_reader.max(1);
        self
    }

    /// The file this store reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a batch of writes that commits as one transaction, for bulk
    /// loads; dropping the batch without [`WriteBatch::commit`] rolls back.
    pub fn batch(&mut self, operation: &'static str) -> Result<WriteBatch<'_>, StoreError> {
        self.ensure_writable(operation)?;
        let path = self.path.clone();
        let schema = self.schema;
        let tx = self
            .conn
            .transaction()
            .map_err(|source| write_error(&path, operation, source))?;
        Ok(WriteBatch { tx, path, schema })
    }

    /// SQLite reports a non-database only on first read.
    fn classify_open_error(&self, source: rusqlite::Error) -> StoreError {
        let path = self.path.clone();
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => StoreError::NotADatabase {
                location: Location::File(path),
                format: "SQLite",
                source: source.into(),
            },
            _ => StoreError::Open {
                location: Location::File(path),
                source: source.into(),
            },
        }
    }

    /// Checks the tables and columns every schema version had, and finds
    /// which later ones the store has.
    fn check_schema(&self) -> Result<Schema, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p WHERE m.type = 'table'")
            .map_err(|source| self.classify_open_error(source))?;
        let mut columns: HashMap<String, Vec<String>> = HashMap::new();
        let rows = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(|source| self.classify_open_error(source))?;
        for row in rows {
            let (table, column) = row.map_err(|source| self.classify_open_error(source))?;
            columns.entry(table).or_default().push(column);
        }
        for (table, required) in REQUIRED_COLUMNS {
            let Some(present) = columns.get(*table) else {
                return Err(StoreError::NotTraceflowStore {
                    location: Location::File(self.path.clone()),
                    reason: format!("no table {table}"),
                });
            };
            let missing: Vec<&str> = required
                .iter()
                .copied()
                .filter(|c| !present.iter().any(|p| p.eq_ignore_ascii_case(c)))
                .collect();
            if !missing.is_empty() {
                return Err(StoreError::NotTraceflowStore {
                    location: Location::File(self.path.clone()),
                    reason: format!("table {table} has no column {}", missing.join(", ")),
                });
            }
        }
        let has = |table: &str, column: &str| {
            columns
                .get(table)
                .is_some_and(|present| present.iter().any(|p| p.eq_ignore_ascii_case(column)))
        };
        // A unique index on trace_id alone (the primary key's is one),
        // covering every row.
        let unique_trace_ids = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_index_list('traces') AS l \
                 WHERE l.\"unique\" AND NOT l.partial \
                 AND (SELECT count(*) FROM pragma_index_info(l.name)) = 1 \
                 AND (SELECT name FROM pragma_index_info(l.name)) = 'trace_id' COLLATE NOCASE)",
                [],
                |row| row.get::<_, bool>(0),
            )
            .map_err(|source| self.classify_open_error(source))?;
        Ok(Schema {
            step_cache_hit: has("trace_steps", "cache_hit"),
            unique_trace_ids,
        })
    }

    fn ensure_writable(&self, operation: &'static str) -> Result<(), StoreError> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::ReadOnly {
                location: Location::File(self.path.clone()),
                operation,
            })
        }
    }

    fn read_error(&self, table: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Read {
            location: Location::File(self.path.clone()),
            table,
            source: source.into(),
        }
    }

    /// Runs one write in its own transaction.
    fn write_one(
        &mut self,
        operation: &'static str,
        write: impl FnOnce(&Connection) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let batch = self.batch(operation)?;
        write(&batch.tx)?;
        batch.commit()
    }

    /// Reads `traces` rows (all columns) matching `filter_sql`, with their
    /// rowids.
    fn query_traces(
        &self,
        filter_sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Rows<(i64, TraceRecord)>, StoreError> {
        let sql = format!(
            "SELECT rowid, trace_id, status, mode, user_input, config_json, model, provider, \
             final_answer, error, created_at, finished_at FROM traces {filter_sql}"
        );
        self.read_rows("traces", &sql, params, trace_from_row)
    }

    /// Keeps each trace id's first row, when the table does not make ids
    /// unique, and reports the others.
    fn dedupe<T>(&self, rows: &mut Rows<T>, key: impl Fn(&T) -> (&str, i64)) {
        if !self.schema.unique_trace_ids {
            keep_first_of_each_id(rows, key);
        }
    }

    /// Runs a query and maps each row to a record, or to an issue when it
    /// cannot be read; a record may bring an issue of its own (a column
    /// left out).
    fn read_rows<T>(
        &self,
        table: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl Fn(&Row<'_>) -> Result<(T, Option<RowIssue>), RowIssue>,
    ) -> Result<Rows<T>, StoreError> {
        let read_error = self.read_error(table);
        let mut stmt = self.conn.prepare(sql).map_err(&read_error)?;
        let mut rows = stmt.query(params).map_err(&read_error)?;
        let mut out = Rows::default();
        while let Some(row) = rows.next().map_err(&read_error)? {
            match map(row) {
                Ok((record, problem)) => {
                    out.rows.push(record);
                    out.issues.extend(problem);
                }
                Err(issue) => out.issues.push(issue),
            }
        }
        Ok(out)
    }
}

impl RecordStore for SqliteStore {
    fn get_trace(&self, trace_id: &str) -> Result<Option<TraceRecord>, StoreError> {
        // The first row of an id, as the scans count it.
        let mut found =
            self.query_traces("WHERE trace_id = ?1 ORDER BY rowid LIMIT 1", [trace_id])?;
        if let Some(issue) = found.issues.pop() {
            return Err(StoreError::BadRow {
                location: Location::File(self.path.clone()),
                issue,
            });
        }
        Ok(found.rows.pop().map(|(_, trace)| trace))
    }

    fn find_trace_ids(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let read_error = self.read_error("traces");
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT trace_id FROM traces WHERE substr(trace_id, 1, ?2) = ?1 LIMIT ?3",
            )
            .map_err(&read_error)?;
        let length = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids = stmt
            .query_map(params![prefix, length, limit], |row| {
                row.get::<_, String>(0)
            })
            .map_err(&read_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&read_error)?;
        Ok(ids)
    }

    fn list_traces_where(
        &self,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<Rows<TraceRecord>, StoreError> {
        // Order by instant, not text: the start times of every run, the
        // newest picked, then only those rows read in full.
        let keep = |head: &TraceHead| {
            filter.status.is_none_or(|s| head.status == s)
                && filter.since.is_none_or(|since| head.created_at >= since)
        };
        let (mut order, issues): (Vec<(jiff::Timestamp, i64)>, Vec<RowIssue>) = match &filter.model
        {
            Some(model) => {
                let scan = self.trace_heads(&HeadsQuery {
                    labels: true,
                    ..HeadsQuery::default()
                })?;
                let order = scan
                    .rows
                    .iter()
                    .filter(|h| keep(h) && h.model() == model.as_str())
                    .map(TraceHead::age)
                    .collect();
                (order, scan.issues)
            }
            None => {
                let scan = self.trace_heads(&HeadsQuery::default())?;
                let order = scan
                    .rows
                    .iter()
                    .filter(|h| keep(h))
                    .map(TraceHead::age)
                    .collect();
                (order, scan.issues)
            }
        };
        if limit == 0 {
            order.clear();
        } else if limit < order.len() {
            // The newest `limit` in linear time; only they are sorted.
            let cut = order.len() - limit;
            order.select_nth_unstable(cut);
            order.drain(..cut);
        }
        order.sort_unstable_by(|a, b| b.cmp(a));
        let rank: HashMap<i64, usize> = order
            .iter()
            .enumerate()
            .map(|(i, &(_, rowid))| (rowid, i))
            .collect();
        let rowids = Rc::new(
            order
                .iter()
                .map(|&(_, rowid)| Value::Integer(rowid))
                .collect::<Vec<_>>(),
        );
        let mut listed = self.query_traces("WHERE rowid IN rarray(?1)", [rowids])?;
        listed
            .rows
            .sort_by_key(|(rowid, _)| rank.get(rowid).copied().unwrap_or(usize::MAX));
        listed.issues.extend(issues);
        Ok(Rows {
            rows: listed.rows.into_iter().map(|(_, trace)| trace).collect(),
            issues: listed.issues,
        })
    }

    fn get_steps(&self, trace_id: &str) -> Result<Rows<StepRecord>, StoreError> {
        let sql = format!(
            "SELECT rowid, trace_id, step_seq, node_name, input_json, output_json, tokens, \
             latency_ms, cost_usd, error, {}, created_at FROM trace_steps \
             WHERE trace_id = ?1 ORDER BY step_seq, rowid",
            self.schema.cache_hit_sql()
        );
        self.read_rows("trace_steps", &sql, [trace_id], step_from_row)
    }

    fn get_evals(&self, trace_id: &str) -> Result<Rows<EvalRecord>, StoreError> {
        self.read_rows(
            "trace_evals",
            "SELECT rowid, trace_id, step_seq, decision, reasons_json, scores_json, \
             revision_instructions, created_at FROM trace_evals \
             WHERE trace_id = ?1 ORDER BY step_seq, rowid",
            [trace_id],
            eval_from_row,
        )
    }
}

/// Names of JSON objects' keys, at most this many (a message lists them).
const MAX_NAMES: i64 = 200;

impl SqliteStore {
    /// The distinct values of the first column of `sql` (which takes the
    /// limit as `?1`), read as text.
    fn names(&self, table: &'static str, sql: &str) -> Result<Vec<String>, StoreError> {
        let read_error = self.read_error(table);
        let mut stmt = self.conn.prepare(sql).map_err(&read_error)?;
        let names = stmt
            .query_map([MAX_NAMES], |row| row.get::<_, String>(0))
            .map_err(&read_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&read_error);
        names
    }

    /// A table's lowest and highest rowid, `None` when it is empty.
    fn rowid_bounds(&self, table: &'static str) -> Result<Option<(i64, i64)>, StoreError> {
        // Two queries: SQLite answers a lone min() or max() of the rowid
        // from the b-tree's edge, but both in one query scan the table.
        let edge = |sql: &str| -> Result<Option<i64>, StoreError> {
            self.conn
                .query_row(&format!("{sql} FROM {table}"), [], |row| row.get(0))
                .map_err(self.read_error(table))
        };
        let (low, high) = (edge("SELECT min(rowid)")?, edge("SELECT max(rowid)")?);
        Ok(low.zip(high))
    }

    /// Splits a table's rowids into one range per core, for tables large
    /// enough to be worth it.
    fn rowid_ranges(&self, table: &'static str) -> Result<Vec<(i64, i64)>, StoreError> {
        let Some((low, high)) = self.rowid_bounds(table)? else {
            return Ok(vec![FULL_RANGE]);
        };
        let span = i128::from(high) - i128::from(low) + 1;
        let readers = i128::try_from(self.readers).unwrap_or(1);
        let parts = (span / i128::from(self.min_rows_per_reader)).clamp(1, readers);
        if parts == 1 {
            return Ok(vec![FULL_RANGE]);
        }
        let step = span / parts;
        let bounds: Vec<i64> = (1..parts)
            .map(|k| i64::try_from(i128::from(low) + k * step).unwrap_or(i64::MAX))
            .collect();
        let mut ranges = Vec::with_capacity(bounds.len() + 1);
        let mut start = i64::MIN;
        for bound in bounds {
            ranges.push((start, bound - 1));
            start = bound;
        }
        ranges.push((start, i64::MAX));
        Ok(ranges)
    }

    /// `read` of each rowid range, in range order, each on its own
    /// connection on rayon's pool (one per core). A reader that panics (a
    /// bug) is an error, not the end of the process.
    fn read_ranges<T: Send>(
        &self,
        table: &'static str,
        ranges: &[(i64, i64)],
        read: impl Fn(&Connection, (i64, i64)) -> Result<T, StoreError> + Sync,
    ) -> Vec<Result<T, StoreError>> {
        use rayon::prelude::*;
        let (path, mode) = (&self.path, self.read_mode);
        ranges
            .par_iter()
            .map(|&range| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    read(&open_reader(path, mode)?, range)
                }))
                .unwrap_or_else(|_| Err(reader_died(path, table)))
            })
            .collect()
    }
}

/// Every rowid.
const FULL_RANGE: (i64, i64) = (i64::MIN, i64::MAX);

/// Rows a reader thread is given at the least.
const PARALLEL_MIN_ROWS: u64 = 200_000;

/// Reader threads at the most, by default.
const MAX_READERS: usize = 4;

/// One reader thread per core, up to [`MAX_READERS`].
fn default_readers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_READERS)
}

/// The error of a reader that panicked.
fn reader_died(path: &Path, table: &'static str) -> StoreError {
    StoreError::ReaderPanicked {
        location: Location::File(path.to_path_buf()),
        table,
    }
}

/// Rows a reader sends at a time.
const BATCH_ROWS: usize = 4096;

/// The head of a `traces` row whose first columns are rowid, trace_id,
/// status and created_at, or why the row cannot be used.
/// It has no labels and no config values.
fn head_of(row: &Row<'_>) -> rusqlite::Result<Result<TraceHead, RowIssue>> {
    Ok(head_key(row)?.map(HeadKey::into_head))
}

/// What a `traces` row's head is ordered and filtered by, its id borrowed
/// from the row: whether a head is kept can be decided before it is built.
pub(super) struct HeadKey<'r> {
    pub(super) rowid: i64,
    pub(super) trace_id: &'r str,
    pub(super) status: RunStatus,
    pub(super) created_at: jiff::Timestamp,
}

impl HeadKey<'_> {
    pub(super) fn into_head(self) -> TraceHead {
        TraceHead {
            trace_id: self.trace_id.to_owned(),
            status: self.status,
            created_at: self.created_at,
            rowid: self.rowid,
            labels: None,
            config: Box::default(),
        }
    }
}

/// Reads the first four columns of a `traces` scan (`rowid, trace_id,
/// status, created_at`), or why the row cannot be used.
pub(super) fn head_key<'r>(row: &'r Row<'_>) -> rusqlite::Result<Result<HeadKey<'r>, RowIssue>> {
    let rowid: i64 = row.get(0)?;
    let trace_id = row.get_ref(1)?;
    let issue = |reason: String| RowIssue {
        at: Locator::Row {
            table: "traces",
            rowid,
        },
        trace_id: text_of(trace_id),
        reason,
    };
    let Ok(id) = trace_id.as_str() else {
        return Ok(Err(issue("trace_id is not text".to_owned())));
    };
    let status = match parse_enum::<RunStatus>(row.get_ref(2)?) {
        Ok(status) => status,
        Err(reason) => return Ok(Err(issue(format!("status: {reason}")))),
    };
    let created_at = match timestamp_of(row.get_ref(3)?) {
        Ok(ts) => ts,
        Err(err) => return Ok(Err(issue(format!("created_at: {err}")))),
    };
    Ok(Ok(HeadKey {
        rowid,
        trace_id: id,
        status,
        created_at,
    }))
}

/// Decoded decision rows with their trace ids in one buffer.
pub(super) struct DecisionBatch {
    ids: String,
    rows: Vec<(usize, usize, Result<DecisionRow, RowIssue>)>,
}

impl DecisionBatch {
    fn new() -> Self {
        DecisionBatch {
            ids: String::with_capacity(BATCH_ROWS * 36),
            rows: Vec::with_capacity(BATCH_ROWS),
        }
    }

    fn push(&mut self, trace_id: &str, row: Result<DecisionRow, RowIssue>) {
        let start = self.ids.len();
        self.ids.push_str(trace_id);
        self.rows.push((start, self.ids.len(), row));
    }

    fn feed(self, sink: &mut DecisionSink<'_>) {
        for (start, end, row) in self.rows {
            sink(self.ids.get(start..end).unwrap_or_default(), row);
        }
    }
}

/// Reads one rowid range of a decision table, handing over full batches.
fn scan_decision_range(
    conn: &Connection,
    path: &Path,
    (table, score_names): (DecisionTable, &[String]),
    filter: TraceFilter<'_>,
    (first, last): (i64, i64),
    deliver: &mut dyn FnMut(DecisionBatch) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let (columns, where_sql) = match table {
        DecisionTable::TraceEvals => ("rowid, trace_id, decision, scores_json, step_seq", "1"),
        DecisionTable::EvaluatorSteps => (
            "rowid, trace_id, output_json, step_seq",
            "node_name = 'evaluator' COLLATE NOCASE",
        ),
    };
    let table_name = table.table();
    let read_error = |source: rusqlite::Error| StoreError::Read {
        location: Location::File(path.to_path_buf()),
        table: table_name,
        source: source.into(),
    };
    let range_sql = "rowid BETWEEN ?1 AND ?2";
    // `IN (SELECT ...)` is materialized once, so the table is still read
    // in one pass (or through an index where the store has one).
    let (sql, ids) = match filter {
        TraceFilter::All => (
            format!("SELECT {columns} FROM {table_name} WHERE {where_sql} AND {range_sql}"),
            None,
        ),
        TraceFilter::Only(ids) => (
            format!(
                "SELECT {columns} FROM {table_name} WHERE {where_sql} AND {range_sql} \
                 AND trace_id IN (SELECT value FROM rarray(?3))"
            ),
            Some(Rc::new(
                ids.iter()
                    .map(|id| Value::Text((*id).to_owned()))
                    .collect::<Vec<_>>(),
            )),
        ),
    };
    let mut stmt = conn.prepare(&sql).map_err(read_error)?;
    let mut rows = match ids {
        Some(ids) => stmt.query(params![first, last, ids]),
        None => stmt.query(params![first, last]),
    }
    .map_err(read_error)?;
    let mut batch = DecisionBatch::new();
    let mut decoder = DecisionDecoder::new(score_names);
    while let Some(row) = rows.next().map_err(read_error)? {
        let rowid: i64 = row.get(0).map_err(read_error)?;
        let Ok(trace_id) = row.get_ref(1).map_err(read_error)?.as_str() else {
            batch.push(
                "",
                Err(RowIssue {
                    at: Locator::Row {
                        table: table_name,
                        rowid,
                    },
                    trace_id: None,
                    reason: "trace_id is not text".to_owned(),
                }),
            );
            continue;
        };
        let decision = decoder
            .decode(table, row, rowid)
            .map_err(|reason| RowIssue {
                at: Locator::Row {
                    table: table_name,
                    rowid,
                },
                trace_id: Some(trace_id.to_owned()),
                reason,
            });
        batch.push(trace_id, decision);
        if batch.rows.len() == BATCH_ROWS {
            deliver(std::mem::replace(&mut batch, DecisionBatch::new()))?;
        }
    }
    deliver(batch)
}

/// Keeps the first row (by rowid) of each trace id and reports the others:
/// counting a repeated id twice would let one copy count its decisions
/// while the other falls back to its status.
fn keep_first_of_each_id<T>(rows: &mut Rows<T>, key: impl Fn(&T) -> (&str, i64)) {
    let mut first: FxHashMap<&str, (usize, i64)> = FxHashMap::default();
    first.reserve(rows.rows.len());
    let mut dropped = vec![false; rows.rows.len()];
    let mut any = false;
    for (index, row) in rows.rows.iter().enumerate() {
        let (id, rowid) = key(row);
        let Some(kept) = first.get_mut(id) else {
            first.insert(id, (index, rowid));
            continue;
        };
        any = true;
        let (drop_index, drop_rowid, kept_rowid) = if rowid < kept.1 {
            let earlier = std::mem::replace(kept, (index, rowid));
            (earlier.0, earlier.1, rowid)
        } else {
            (index, rowid, kept.1)
        };
        dropped[drop_index] = true;
        rows.issues.push(RowIssue {
            at: Locator::Row {
                table: "traces",
                rowid: drop_rowid,
            },
            trace_id: Some(id.to_owned()),
            reason: format!(
                "trace_id repeats that of row {kept_rowid} (the table has no primary key); \
                 the trace is counted once, from that row"
            ),
        });
    }
    drop(first);
    if any {
        let mut index = 0;
        rows.rows.retain(|_| {
            let keep = !dropped[index];
            index += 1;
            keep
        });
    }
}
