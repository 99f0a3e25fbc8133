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

mod facts;

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
            "0"
        }
    }
}

/// How read-only connections reach the file, chosen once at open from the
/// files beside it, so that reading never creates one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadMode {
    /// SQLite's own locking and, in WAL mode, its shared-memory index in
    /// the `-shm` file: for rollback-journal stores, and for WAL stores
    /// whose `-shm` exists (a writer may be live, and this is how readers
    /// and writers coordinate).
    Shared,
    /// A WAL store with a `-wal` but no `-shm`, as a copy of a store
    /// TraceFlow Lite left behind (its SDK never closes its connections)
    /// or a store in a read-only directory. The normal open would create a
    /// `-shm` beside it, and fails where it cannot (`unable to open database
    /// file` or `attempt to write a readonly database`). Instead: SQLite's
    /// `unix-none` VFS (no file locks, and no `-shm`) with `PRAGMA
    /// locking_mode = EXCLUSIVE` before the first read, which makes SQLite
    /// build the WAL index in heap memory from the `-wal` itself, so every
    /// committed frame in the `-wal` is read and no file is created; the
    /// connection is read-only and `SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE` is
    /// set, so neither the `.db` nor the `-wal` is written, even on close.
    ///
    /// Why this is safe: in WAL mode every connection that has the store
    /// open, writer or reader, holds the `-shm` (SQLite creates it on the
    /// first read and a process that ends without closing leaves it); no
    /// `-shm` means no connection was using the WAL when the store was
    /// opened, so nothing is changing the files the index was built from.
    /// What is not guarded: a writer that opens the store during the
    /// analysis takes no lock this reader could see, and its checkpoint
    /// could rewrite pages under the read (an analysis reads for seconds;
    /// a writer checkpoints every 1000 pages or on its last close).
    PrivateWalIndex,
    /// A WAL store with neither `-wal` nor `-shm` (a cleanly closed store,
    /// or a copy of its `.db`): the `.db` holds every committed row, and
    /// SQLite's `immutable=1` reads it without locks, without creating a
    /// `-wal` or `-shm` (the normal open creates both, and even
    /// `PrivateWalIndex` would create an empty `-wal`). Safe for the same
    /// reason: a live WAL connection would have a `-wal`.
    Immutable,
}

impl ReadMode {
    /// The mode for the regular file at `path`: its header says whether it
    /// is in WAL mode, the files beside it which way to read it.
    fn for_file(path: &Path) -> ReadMode {
        use std::io::Read;
        let mut header = [0u8; 20];
        let wal_mode = std::fs::File::open(path)
            .and_then(|mut file| file.read_exact(&mut header))
            .is_ok()
            && header.starts_with(b"SQLite format 3\0")
            // File format write and read versions: 2 is WAL.
            && header[18] == 2
            && header[19] == 2;
        if !wal_mode || !cfg!(unix) {
            return ReadMode::Shared;
        }
        let beside = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            // A link, a directory or anything unreadable there: let SQLite
            // decide, as it would anyway.
            std::fs::symlink_metadata(PathBuf::from(name)).is_ok()
        };
        match (beside("-wal"), beside("-shm")) {
            (_, true) => ReadMode::Shared,
            (true, false) => ReadMode::PrivateWalIndex,
            (false, false) => ReadMode::Immutable,
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
            Some(ErrorCode::NotADatabase) => StoreError::NotSqlite {
                location: Location::File(path),
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

/// Writes that commit together.
pub struct WriteBatch<'c> {
    tx: rusqlite::Transaction<'c>,
    path: PathBuf,
    schema: Schema,
}

impl WriteBatch<'_> {
    /// Inserts a run.
    pub fn create_trace(&self, trace: &TraceRecord) -> Result<(), StoreError> {
        insert_trace(&self.tx, &self.path, trace)
    }

    /// Changes a run's status.
    pub fn update_trace(&self, trace_id: &str, update: &TraceUpdate) -> Result<(), StoreError> {
        update_trace(&self.tx, &self.path, trace_id, update)
    }

    /// Inserts a step.
    pub fn insert_step(&self, step: &StepRecord) -> Result<(), StoreError> {
        insert_step(&self.tx, &self.path, self.schema, step)
    }

    /// Inserts a verdict.
    pub fn insert_eval(&self, eval: &EvalRecord) -> Result<(), StoreError> {
        insert_eval(&self.tx, &self.path, eval)
    }

    /// Commits every write of the batch.
    pub fn commit(self) -> Result<(), StoreError> {
        self.tx
            .commit()
            .map_err(|source| write_error(&self.path, "commit", source))
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
                    config_keys: &[],
                })?;
                let order = scan
                    .rows
                    .iter()
                    .filter(|h| keep(h) && h.model() == model.as_str())
                    .map(|h| (h.created_at, h.rowid))
                    .collect();
                (order, scan.issues)
            }
            None => {
                let scan = self.trace_heads(&HeadsQuery::default())?;
                let order = scan
                    .rows
                    .iter()
                    .filter(|h| keep(h))
                    .map(|h| (h.created_at, h.rowid))
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

impl WriteStore for SqliteStore {
    fn create_trace(&mut self, trace: &TraceRecord) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.write_one("create_trace", |conn| insert_trace(conn, &path, trace))
    }

    fn update_trace(&mut self, trace_id: &str, update: &TraceUpdate) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.write_one("update_trace", |conn| {
            update_trace(conn, &path, trace_id, update)
        })
    }

    fn insert_step(&mut self, step: &StepRecord) -> Result<(), StoreError> {
        let path = self.path.clone();
        let schema = self.schema;
        self.write_one("insert_step", |conn| insert_step(conn, &path, schema, step))
    }

    fn insert_eval(&mut self, eval: &EvalRecord) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.write_one("insert_eval", |conn| insert_eval(conn, &path, eval))
    }

    fn write_traces(&mut self, bundles: &[TraceBundle]) -> Result<WriteSummary, StoreError> {
        let batch = self.batch("write_traces")?;
        let mut summary = WriteSummary::default();
        for bundle in bundles {
            if replace_trace(&batch.tx, &batch.path, &bundle.trace)? {
                summary.replaced += 1;
            } else {
                insert_trace(&batch.tx, &batch.path, &bundle.trace)?;
                summary.created += 1;
            }
            for step in &bundle.steps {
                batch.insert_step(step)?;
            }
            for eval in &bundle.evals {
                batch.insert_eval(eval)?;
            }
        }
        batch.commit()?;
        Ok(summary)
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

/// What a path is when it is not a regular file (symlinks followed).
fn not_a_file(file_type: &std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// `file:` URI of a path with `immutable=1`: every byte but unreserved
/// ones and `/` percent-encoded, so `?`, `#` and `%` in names stay names.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Opens a read-only connection: never creates a file, waits for a
/// writer's lock, and can take lists of ids (`rarray(?)`).
fn open_reader(path: &Path, mode: ReadMode) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open_error = |source: rusqlite::Error| StoreError::Open {
        location: Location::File(path.to_path_buf()),
        source: source.into(),
    };
    let conn = match mode {
        ReadMode::Shared => Connection::open_with_flags(path, flags),
        ReadMode::PrivateWalIndex => Connection::open_with_flags_and_vfs(path, flags, "unix-none"),
        ReadMode::Immutable => {
            Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)
        }
    }
    .map_err(open_error)?;
    // A read-only connection cannot checkpoint; this says so to SQLite too.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(open_error)?;
    if mode == ReadMode::PrivateWalIndex {
        // Before the first read: the WAL index then lives in heap memory.
        conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE")
            .map_err(open_error)?;
    }
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    rusqlite::vtab::array::load_module(&conn).map_err(open_error)?;
    Ok(conn)
}

/// Reads a timestamp column: text in any of TraceFlow Lite's spellings; an
/// INTEGER or REAL as seconds since the Unix epoch (the column's NUMERIC
/// affinity turns numeric text into numbers).
fn timestamp_of(value: ValueRef<'_>) -> Result<jiff::Timestamp, timestamp::TimestampError> {
    match value {
        ValueRef::Text(bytes) => timestamp::parse_bytes(bytes),
        ValueRef::Integer(secs) => timestamp::from_unix_seconds(secs),
        ValueRef::Real(secs) => timestamp::from_unix_seconds_f64(secs),
        ValueRef::Null => Err(timestamp::not_a_timestamp("NULL")),
        ValueRef::Blob(_) => Err(timestamp::not_a_timestamp("a BLOB")),
    }
}

/// The head of a `traces` row whose first columns are rowid, trace_id,
/// status and created_at, or why the row cannot be used.
/// It has no labels and no config values.
fn head_of(row: &Row<'_>) -> rusqlite::Result<Result<TraceHead, RowIssue>> {
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
    Ok(Ok(TraceHead {
        trace_id: id.to_owned(),
        status,
        created_at,
        rowid,
        labels: None,
        config: Box::default(),
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

fn write_error(path: &Path, operation: &str, source: rusqlite::Error) -> StoreError {
    StoreError::Write {
        location: Location::File(path.to_path_buf()),
        operation: operation.to_owned(),
        source: source.into(),
    }
}

fn insert_trace(conn: &Connection, path: &Path, trace: &TraceRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, \
         final_answer, error, created_at, finished_at, updated_db_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            trace.trace_id,
            trace.status.as_str(),
            trace.mode.as_str(),
            trace.user_input,
            python_json::to_string(&trace.config),
            trace.model,
            trace.provider,
            trace.final_answer,
            trace.error,
            timestamp::format_python(trace.created_at),
            trace.finished_at.map(timestamp::format_python),
            timestamp::format_python(timestamp::now()),
        ],
    )
    .map_err(|source| write_error(path, &format!("create_trace {}", trace.trace_id), source))?;
    Ok(())
}

/// Overwrites a trace's row (in place, keeping its rowid) and deletes its
/// steps and verdicts, for a bulk write to put the bundle's back; returns
/// whether the trace was there.
fn replace_trace(conn: &Connection, path: &Path, trace: &TraceRecord) -> Result<bool, StoreError> {
    let operation = || format!("write_traces {}", trace.trace_id);
    let changed = conn
        .execute(
            "UPDATE traces SET status = ?2, mode = ?3, user_input = ?4, config_json = ?5, \
             model = ?6, provider = ?7, final_answer = ?8, error = ?9, created_at = ?10, \
             finished_at = ?11, updated_db_at = ?12 WHERE trace_id = ?1",
            params![
                trace.trace_id,
                trace.status.as_str(),
                trace.mode.as_str(),
                trace.user_input,
                python_json::to_string(&trace.config),
                trace.model,
                trace.provider,
                trace.final_answer,
                trace.error,
                timestamp::format_python(trace.created_at),
                trace.finished_at.map(timestamp::format_python),
                timestamp::format_python(timestamp::now()),
            ],
        )
        .map_err(|source| write_error(path, &operation(), source))?;
    if changed == 0 {
        return Ok(false);
    }
    for table in ["trace_steps", "trace_evals"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE trace_id = ?1"),
            [&trace.trace_id],
        )
        .map_err(|source| write_error(path, &operation(), source))?;
    }
    Ok(true)
}

fn update_trace(
    conn: &Connection,
    path: &Path,
    trace_id: &str,
    update: &TraceUpdate,
) -> Result<(), StoreError> {
    let now = timestamp::format_python(timestamp::now());
    let finished = update.status.is_finished().then(|| now.clone());
    let changed = conn
        .execute(
            "UPDATE traces SET status = ?1, final_answer = ?2, error = ?3, finished_at = ?4, \
             updated_db_at = ?5 WHERE trace_id = ?6",
            params![
                update.status.as_str(),
                update.final_answer,
                update.error,
                finished,
                now,
                trace_id
            ],
        )
        .map_err(|source| write_error(path, &format!("update_trace {trace_id}"), source))?;
    if changed == 0 {
        return Err(StoreError::NoSuchTrace {
            location: Location::File(path.to_path_buf()),
            trace_id: trace_id.to_owned(),
        });
    }
    Ok(())
}

/// Python writes `None` for an empty dict or list (`if data else None`).
fn json_or_null(value: Option<&serde_json::Value>) -> Option<String> {
    value
        .filter(|v| match v {
            serde_json::Value::Null => false,
            serde_json::Value::Object(map) => !map.is_empty(),
            serde_json::Value::Array(items) => !items.is_empty(),
            _ => true,
        })
        .map(python_json::to_string)
}

/// Inserts a step. A store without `cache_hit` gets the columns it has
/// (`?10` left unused), never a new column.
fn insert_step(
    conn: &Connection,
    path: &Path,
    schema: Schema,
    step: &StepRecord,
) -> Result<(), StoreError> {
    let now = timestamp::format_python(timestamp::now());
    let sql = if schema.step_cache_hit {
        "INSERT INTO trace_steps (trace_id, step_seq, node_name, input_json, output_json, tokens, \
         latency_ms, cost_usd, error, cache_hit, created_at, updated_db_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    } else {
        "INSERT INTO trace_steps (trace_id, step_seq, node_name, input_json, output_json, tokens, \
         latency_ms, cost_usd, error, created_at, updated_db_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12)"
    };
    conn.execute(
        sql,
        params![
            step.trace_id,
            step.step_seq,
            step.node_name,
            json_or_null(step.input.as_ref()),
            json_or_null(step.output.as_ref()),
            step.tokens,
            step.latency_ms,
            step.cost_usd,
            step.error,
            step.cache_hit,
            timestamp::format_python(step.created_at),
            now,
        ],
    )
    .map_err(|source| {
        write_error(
            path,
            &format!("insert_step {} #{}", step.trace_id, step.step_seq),
            source,
        )
    })?;
    Ok(())
}

fn insert_eval(conn: &Connection, path: &Path, eval: &EvalRecord) -> Result<(), StoreError> {
    let now = timestamp::format_python(timestamp::now());
    let reasons = eval
        .reasons
        .as_ref()
        .filter(|r| !r.is_empty())
        .map(python_json::to_string);
    let scores = eval
        .scores
        .as_ref()
        .filter(|s| !s.is_empty())
        .map(python_json::scores_to_string);
    conn.execute(
        "INSERT INTO trace_evals (trace_id, step_seq, decision, reasons_json, scores_json, \
         revision_instructions, created_at, updated_db_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            eval.trace_id,
            eval.step_seq,
            eval.decision.as_str(),
            reasons,
            scores,
            eval.revision_instructions,
            timestamp::format_python(eval.created_at),
            now,
        ],
    )
    .map_err(|source| {
        write_error(
            path,
            &format!("insert_eval {} #{}", eval.trace_id, eval.step_seq),
            source,
        )
    })?;
    Ok(())
}

/// Text of a value for an issue message, if it is text.
fn text_of(value: ValueRef<'_>) -> Option<String> {
    value.as_str().ok().map(str::to_owned)
}

fn parse_enum<T: std::str::FromStr<Err = crate::model::UnknownValue>>(
    value: ValueRef<'_>,
) -> Result<T, String> {
    match value {
        ValueRef::Text(_) => value
            .as_str()
            .map_err(|_| "not UTF-8 text".to_owned())?
            .parse()
            .map_err(|e: crate::model::UnknownValue| e.to_string()),
        ValueRef::Null => Err("NULL".to_owned()),
        _ => Err("not text".to_owned()),
    }
}

fn optional_text(value: ValueRef<'_>, column: &str) -> Result<Option<String>, String> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(bytes) => Ok(Some(String::from_utf8_lossy(bytes).into_owned())),
        ValueRef::Integer(i) => Ok(Some(i.to_string())),
        ValueRef::Real(r) => Ok(Some(r.to_string())),
        ValueRef::Blob(_) => Err(format!("{column}: a BLOB where text belongs")),
    }
}

fn required_text(value: ValueRef<'_>, column: &str) -> Result<String, String> {
    optional_text(value, column)?.ok_or_else(|| format!("{column}: NULL"))
}

/// An INTEGER column, accepting what real stores hold there: REAL values
/// with no fraction (`30.0`), numeric text, and NULL as the default 0.
fn lenient_int(value: ValueRef<'_>, column: &str) -> Result<i64, String> {
    let real = match value {
        ValueRef::Null => return Ok(0),
        ValueRef::Integer(i) => return Ok(i),
        ValueRef::Real(r) => r,
        ValueRef::Text(_) => {
            let text = value.as_str().unwrap_or("").trim();
            if let Ok(i) = text.parse::<i64>() {
                return Ok(i);
            }
            text.parse::<f64>()
                .map_err(|_| format!("{column}: {text:?} is not a number"))?
        }
        ValueRef::Blob(_) => return Err(format!("{column}: a BLOB where a number belongs")),
    };
    if real.fract() == 0.0 && real.abs() < 9.0e15 {
        Ok(real as i64)
    } else {
        Err(format!("{column}: {real} is not a whole number"))
    }
}

/// A REAL column, accepting INTEGER values and numeric text.
fn lenient_real(value: ValueRef<'_>, column: &str) -> Result<f64, String> {
    match value {
        ValueRef::Null => Ok(0.0),
        ValueRef::Integer(i) => Ok(i as f64),
        ValueRef::Real(r) => Ok(r),
        ValueRef::Text(_) => {
            let text = value.as_str().unwrap_or("").trim();
            text.parse::<f64>()
                .map_err(|_| format!("{column}: {text:?} is not a number"))
        }
        ValueRef::Blob(_) => Err(format!("{column}: a BLOB where a number belongs")),
    }
}

fn optional_json<T: serde::de::DeserializeOwned>(
    value: ValueRef<'_>,
    column: &str,
) -> Result<Option<T>, String> {
    match optional_text(value, column)? {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => python_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{column}: {e}")),
    }
}

fn timestamp_column(value: ValueRef<'_>, column: &str) -> Result<jiff::Timestamp, String> {
    timestamp_of(value).map_err(|e| format!("{column}: {e}"))
}

/// An issue naming the row being mapped (rowid in column 0, trace_id in 1).
fn issue_for(table: &'static str, row: &Row<'_>, reason: String) -> RowIssue {
    RowIssue {
        at: Locator::Row {
            table,
            rowid: row.get::<_, i64>(0).unwrap_or(-1),
        },
        trace_id: row.get_ref(1).ok().and_then(text_of),
        reason,
    }
}

fn get<'r>(row: &'r Row<'_>, index: usize) -> Result<ValueRef<'r>, String> {
    row.get_ref(index).map_err(|e| e.to_string())
}

/// A `traces` row, with its rowid.
fn trace_from_row(row: &Row<'_>) -> Result<((i64, TraceRecord), Option<RowIssue>), RowIssue> {
    with_problems("traces", row, |_| {
        let config_text = required_text(get(row, 5)?, "config_json")?;
        let config: RunConfig =
            python_json::from_str(&config_text).map_err(|e| format!("config_json: {e}"))?;
        let rowid = row.get::<_, i64>(0).map_err(|e| e.to_string())?;
        let record = TraceRecord {
            trace_id: required_text(get(row, 1)?, "trace_id")?,
            status: parse_enum::<RunStatus>(get(row, 2)?).map_err(|e| format!("status: {e}"))?,
            mode: parse_enum::<Mode>(get(row, 3)?).map_err(|e| format!("mode: {e}"))?,
            user_input: required_text(get(row, 4)?, "user_input")?,
            config,
            model: required_text(get(row, 6)?, "model")?,
            provider: required_text(get(row, 7)?, "provider")?,
            final_answer: optional_text(get(row, 8)?, "final_answer")?,
            error: optional_text(get(row, 9)?, "error")?,
            created_at: timestamp_column(get(row, 10)?, "created_at")?,
            finished_at: match get(row, 11)? {
                ValueRef::Null => None,
                value => Some(timestamp_column(value, "finished_at")?),
            },
        };
        Ok((rowid, record))
    })
}

/// An INTEGER column holding a REAL with a fraction (`2.5`): rounded, and
/// the rounding noted, rather than costing the row.
fn rounded_int(
    value: ValueRef<'_>,
    column: &str,
    problems: &mut Vec<String>,
) -> Result<i64, String> {
    match value {
        ValueRef::Real(real) if real.is_finite() && real.fract() != 0.0 && real.abs() < 9.0e15 => {
            let rounded = real.round() as i64;
            problems.push(format!("{column}: {real} rounded to {rounded}"));
            Ok(rounded)
        }
        _ => lenient_int(value, column),
    }
}

/// A JSON column that does not parse costs only itself: `None`, and the
/// problem noted for the row's issue.
fn lenient_json<T: serde::de::DeserializeOwned>(
    value: ValueRef<'_>,
    column: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    optional_json(value, column).unwrap_or_else(|problem| {
        problems.push(format!("{problem}; {column} left out"));
        None
    })
}

/// A row read with some JSON columns left out, as one issue.
fn with_problems<T>(
    table: &'static str,
    row: &Row<'_>,
    read: impl FnOnce(&mut Vec<String>) -> Result<T, String>,
) -> Result<(T, Option<RowIssue>), RowIssue> {
    let mut problems = Vec::new();
    match read(&mut problems) {
        Ok(record) => {
            let issue = (!problems.is_empty()).then(|| issue_for(table, row, problems.join("; ")));
            Ok((record, issue))
        }
        Err(reason) => Err(issue_for(table, row, reason)),
    }
}

/// A `trace_steps` row; unparseable `input_json`/`output_json` are left out
/// and reported rather than costing the step.
fn step_from_row(row: &Row<'_>) -> Result<(StepRecord, Option<RowIssue>), RowIssue> {
    with_problems("trace_steps", row, |problems| {
        Ok(StepRecord {
            trace_id: required_text(get(row, 1)?, "trace_id")?,
            step_seq: rounded_int(get(row, 2)?, "step_seq", problems)?,
            node_name: required_text(get(row, 3)?, "node_name")?,
            input: lenient_json(get(row, 4)?, "input_json", problems),
            output: lenient_json(get(row, 5)?, "output_json", problems),
            tokens: rounded_int(get(row, 6)?, "tokens", problems)?,
            latency_ms: lenient_real(get(row, 7)?, "latency_ms")?,
            cost_usd: lenient_real(get(row, 8)?, "cost_usd")?,
            error: optional_text(get(row, 9)?, "error")?,
            cache_hit: lenient_int(get(row, 10)?, "cache_hit")? != 0,
            created_at: timestamp_column(get(row, 11)?, "created_at")?,
        })
    })
}

/// A `trace_evals` row. As in the analysis, scores that are not an object of
/// numbers do not cost the verdict: they are left out and reported.
fn eval_from_row(row: &Row<'_>) -> Result<(EvalRecord, Option<RowIssue>), RowIssue> {
    with_problems("trace_evals", row, |problems| {
        Ok(EvalRecord {
            trace_id: required_text(get(row, 1)?, "trace_id")?,
            step_seq: rounded_int(get(row, 2)?, "step_seq", problems)?,
            decision: parse_enum::<EvalDecision>(get(row, 3)?)
                .map_err(|e| format!("decision: {e}"))?,
            reasons: lenient_json(get(row, 4)?, "reasons_json", problems),
            scores: lenient_json(get(row, 5)?, "scores_json", problems),
            revision_instructions: optional_text(get(row, 6)?, "revision_instructions")?,
            created_at: timestamp_column(get(row, 7)?, "created_at")?,
        })
    })
}

/// Parsed JSON column values of one scan, by their text. A store holds few
/// distinct `scores_json` and gate reports (TraceFlow Lite's gate writes a
/// handful of score sets), so most rows are a lookup instead of a parse.
struct Memo<V> {
    parsed: FxHashMap<Box<str>, V>,
}

impl<V: Clone> Memo<V> {
    /// Distinct texts kept; past that, rows are parsed as they come.
    const ENTRIES: usize = 1024;
    /// Longer texts are not kept (they are unlikely to repeat).
    const TEXT_BYTES: usize = 1024;

    fn new() -> Self {
        Memo {
            parsed: FxHashMap::default(),
        }
    }

    fn get(&mut self, text: &str, parse: impl FnOnce(&str) -> V) -> V {
        if let Some(value) = self.parsed.get(text) {
            return value.clone();
        }
        let value = parse(text);
        if self.parsed.len() < Self::ENTRIES && text.len() <= Self::TEXT_BYTES {
            self.parsed.insert(text.into(), value.clone());
        }
        value
    }
}

/// Turns decision rows into [`DecisionRow`]s, remembering parsed JSON.
struct DecisionDecoder<'n> {
    scores: Memo<(ScoreSummary, Option<String>)>,
    reports: Memo<Result<Verdict, String>>,
    score_names: &'n [String],
    named: Memo<Vec<Option<f64>>>,
}

impl<'n> DecisionDecoder<'n> {
    fn new(score_names: &'n [String]) -> Self {
        DecisionDecoder {
            scores: Memo::new(),
            reports: Memo::new(),
            score_names,
            named: Memo::new(),
        }
    }

    fn decode(
        &mut self,
        table: DecisionTable,
        row: &Row<'_>,
        rowid: i64,
    ) -> Result<DecisionRow, String> {
        match table {
            DecisionTable::TraceEvals => self.eval_row(row, rowid),
            DecisionTable::EvaluatorSteps => self.step_row(row, rowid),
        }
    }

    /// The asked-for scores of a JSON text, found at `path` (`[]` for the
    /// text itself, `["scores"]` inside a gate report).
    fn named_scores(&mut self, text: Option<&str>, inside: Option<&str>) -> Vec<Option<f64>> {
        let names = self.score_names;
        match text {
            Some(text) if !names.is_empty() => self
                .named
                .get(text, |text| named_scores(text, inside, names)),
            _ => vec![None; names.len()],
        }
    }

    fn eval_row(&mut self, row: &Row<'_>, rowid: i64) -> Result<DecisionRow, String> {
        let decision =
            parse_enum::<EvalDecision>(get(row, 2)?).map_err(|e| format!("decision: {e}"))?;
        let step_seq = rounded_step_seq(get(row, 4)?);
        let (scores, scores_problem, named_scores) = match get(row, 3)? {
            ValueRef::Null => (ScoreSummary::default(), None, self.named_scores(None, None)),
            value => {
                let text = value
                    .as_str()
                    .map_err(|_| "scores_json: not UTF-8 text".to_owned())?;
                let (scores, problem) = self
                    .scores
                    .get(text, |text| scores_of(Some(text), "scores_json"));
                (scores, problem, self.named_scores(Some(text), None))
            }
        };
        Ok(DecisionRow {
            rowid,
            decision,
            scores,
            scores_problem,
            step_seq,
            named_scores,
        })
    }

    fn step_row(&mut self, row: &Row<'_>, rowid: i64) -> Result<DecisionRow, String> {
        self.gate_report(row, rowid, (2, 3))
    }

    /// The verdict of an evaluator step whose `output_json` and `step_seq`
    /// are at these columns.
    fn gate_report(
        &mut self,
        row: &Row<'_>,
        rowid: i64,
        (output, seq): (usize, usize),
    ) -> Result<DecisionRow, String> {
        let text = match get(row, output)? {
            ValueRef::Null => return Err("output_json: NULL (no gate report)".to_owned()),
            value => value
                .as_str()
                .map_err(|_| "output_json: not UTF-8 text".to_owned())?,
        };
        let step_seq = rounded_step_seq(get(row, seq)?);
        let (decision, scores, scores_problem) = self.reports.get(text, parse_gate_report)?;
        let named_scores = self.named_scores(Some(text), Some("scores"));
        Ok(DecisionRow {
            rowid,
            decision,
            scores,
            scores_problem,
            step_seq,
            named_scores,
        })
    }
}

/// A `step_seq` for ordering a trace's decisions: whole numbers as they
/// are, fractions rounded, anything else first (it orders, never rejects:
/// the decision still counts).
fn rounded_step_seq(value: ValueRef<'_>) -> i64 {
    match value {
        ValueRef::Integer(i) => i,
        ValueRef::Real(r) if r.is_finite() => r.round() as i64,
        ValueRef::Text(_) => value
            .as_str()
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|r| r.is_finite())
            .map_or(i64::MIN, |r| r.round() as i64),
        _ => i64::MIN,
    }
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
