//! Results of other eval tools, written as TraceFlow Lite's rows
//! (`traceflow import`): a trace per case execution with a free-text
//! `mode` (the format) and a `config_json` of the source's keys.
//!
//! Which traces an import wrote, and a digest of what it wrote, are kept in
//! a table of traceflow's own beside TraceFlow Lite's
//! (`traceflow_imported`), so an unchanged result is skipped and a changed
//! one (a log that was still running) is replaced.

// The backend's parts share its private helpers and imports.
use super::*;
use jiff::Timestamp;
use rusqlite::OptionalExtension;

/// The table of imported traces' digests.
const IMPORTED_TABLE: &str = "CREATE TABLE IF NOT EXISTS traceflow_imported (\
     trace_id TEXT PRIMARY KEY, digest TEXT NOT NULL)";

/// A trace another tool's result becomes: TraceFlow Lite's rows, with the
/// `mode` and `config_json` as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTrace {
    /// The trace: its `mode` is given apart, its `config` is not used.
    pub trace_id: String,
    /// `done`, or `failed` when an error stopped the case.
    pub status: RunStatus,
    /// The format the result came from.
    pub mode: String,
    /// The case's input.
    pub user_input: String,
    /// The source's run, case, repeat and labels, as a JSON object's text.
    pub config_json: String,
    /// The model evaluated.
    pub model: String,
    /// The tool that evaluated it.
    pub provider: String,
    /// The answer evaluated.
    pub final_answer: Option<String>,
    /// The error that stopped the case.
    pub error: Option<String>,
    /// When the case was asked.
    pub created_at: Timestamp,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// Its steps (one evaluator step with the usage).
    pub steps: Vec<StepRecord>,
    /// Its gate decisions (one: the case passed or failed).
    pub evals: Vec<EvalRecord>,
    /// A digest of all of the above: equal digests, nothing to write.
    pub digest: String,
}

/// What writing one imported trace did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Not in the store before.
    Created,
    /// In the store with other content, now replaced.
    Replaced,
    /// In the store already, as it is.
    Unchanged,
}

/// The table of the files imported whole: a digest of each (its name,
/// modification time, the import's options and its bytes) and its results.
const FILES_TABLE: &str = "CREATE TABLE IF NOT EXISTS traceflow_imported_files (\
     digest TEXT PRIMARY KEY, format TEXT NOT NULL, results INTEGER NOT NULL)";

impl SqliteStore {
    /// The files imported before, by digest, with their format and their
    /// results' count:
    /// a file imported again as it was is not read again. Empty for a
    /// store no import wrote.
    pub fn imported_files(&self) -> Result<HashMap<String, (String, u64)>, StoreError> {
        let fail = |source: rusqlite::Error| StoreError::Read {
            location: Location::File(self.path.clone()),
            table: "traceflow_imported_files",
            source: source.into(),
        };
        let exists: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
                 AND name = 'traceflow_imported_files'",
                [],
                |row| row.get(0),
            )
            .map_err(fail)?;
        if exists == 0 {
            return Ok(HashMap::new());
        }
        let mut statement = self
            .conn
            .prepare("SELECT digest, format, results FROM traceflow_imported_files")
            .map_err(fail)?;
        let rows = statement
            .query_map([], |row| {
                let results = u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0);
                Ok((
                    row.get::<_, String>(0)?,
                    (row.get::<_, String>(1)?, results),
                ))
            })
            .map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    /// Starts an import's batch: like [`SqliteStore::batch`], but it takes
    /// the write lock at once (`BEGIN IMMEDIATE`), waiting the busy timeout
    /// for another writer. A deferred transaction reads the digests first,
    /// and a writer that committed meanwhile then fails it at once with
    /// "database is locked": two imports racing on one store both land.
    pub fn import_batch(&mut self) -> Result<WriteBatch<'_>, StoreError> {
        let operation = "import";
        self.ensure_writable(operation)?;
        let path = self.path.clone();
        let schema = self.schema;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|source| write_error(&path, operation, source))?;
        // Once a batch, not once a trace.
        tx.execute_batch(IMPORTED_TABLE)
            .map_err(|source| write_error(&path, operation, source))?;
        Ok(WriteBatch { tx, path, schema })
    }
}

impl WriteBatch<'_> {
    /// Records a file imported whole, by its digest, with its results'
    /// count, in the file's transaction.
    pub fn put_imported_file(
        &self,
        digest: &str,
        format: &str,
        results: u64,
    ) -> Result<(), StoreError> {
        let fail = |source| write_error(&self.path, "import", source);
        self.tx.execute_batch(FILES_TABLE).map_err(fail)?;
        self.tx
            .execute(
                "INSERT INTO traceflow_imported_files (digest, format, results) \
                 VALUES (?1, ?2, ?3) ON CONFLICT (digest) DO UPDATE SET \
                 format = excluded.format, results = excluded.results",
                params![digest, format, i64::try_from(results).unwrap_or(i64::MAX)],
            )
            .map_err(fail)?;
        Ok(())
    }

    /// Writes an imported trace unless the store has it as it is, in a
    /// batch from [`SqliteStore::import_batch`] (which makes the table of
    /// digests).
    pub fn put_imported(&self, trace: &ImportedTrace) -> Result<Put, StoreError> {
        let operation = || format!("import {}", trace.trace_id);
        let fail = |source| write_error(&self.path, &operation(), source);
        // Cached statements: an import writes a trace at a time, and parsing
        // each statement again for every trace took a quarter of the time.
        // (The table is made by `import_batch`.)
        let known: Option<String> = self
            .tx
            .prepare_cached("SELECT digest FROM traceflow_imported WHERE trace_id = ?1")
            .and_then(|mut select| {
                select
                    .query_row([&trace.trace_id], |row| row.get(0))
                    .optional()
            })
            .map_err(fail)?;
        if known.as_deref() == Some(trace.digest.as_str()) {
            return Ok(Put::Unchanged);
        }
        let columns = params![
            trace.trace_id,
            trace.status.as_str(),
            trace.mode,
            trace.user_input,
            trace.config_json,
            trace.model,
            trace.provider,
            trace.final_answer,
            trace.error,
            timestamp::format_python(trace.created_at),
            trace.finished_at.map(timestamp::format_python),
            timestamp::format_python(timestamp::now()),
        ];
        let replaced = self
            .tx
            .prepare_cached(UPDATE_TRACE)
            .and_then(|mut update| update.execute(columns))
            .map_err(fail)?
            > 0;
        if replaced {
            for table in ["trace_steps", "trace_evals"] {
                self.tx
                    .prepare_cached(&format!("DELETE FROM {table} WHERE trace_id = ?1"))
                    .and_then(|mut delete| delete.execute([&trace.trace_id]))
                    .map_err(fail)?;
            }
        } else {
            self.tx
                .prepare_cached(INSERT_TRACE)
                .and_then(|mut insert| insert.execute(columns))
                .map_err(fail)?;
        }
        for step in &trace.steps {
            self.insert_step(step)?;
        }
        for eval in &trace.evals {
            self.insert_eval(eval)?;
        }
        self.tx
            .prepare_cached(
                "INSERT INTO traceflow_imported (trace_id, digest) VALUES (?1, ?2) \
                 ON CONFLICT (trace_id) DO UPDATE SET digest = excluded.digest",
            )
            .and_then(|mut upsert| upsert.execute([&trace.trace_id, &trace.digest]))
            .map_err(fail)?;
        Ok(if replaced {
            Put::Replaced
        } else {
            Put::Created
        })
    }
}

#[cfg(feature = "import")]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::import::{write, CaseResult, Format, Written};
    use crate::store::sqlite::SqliteStore;

    fn rows(path: &std::path::Path) -> [i64; 4] {
        let conn = rusqlite::Connection::open(path).unwrap();
        ["traces", "trace_steps", "trace_evals", "traceflow_imported"].map(|table| {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        })
    }

    /// The statements are cached across a file's traces: each trace of a
    /// batch (new, the same again, changed) still gets its own rows.
    #[test]
    fn one_batch_creates_skips_and_replaces_trace_by_trace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imported.db");
        let mut store = SqliteStore::open_writable(&path).unwrap();
        let at = "2026-12-07T23:44:19Z".parse().unwrap();
        let results: Vec<CaseResult> = (0..5)
            .map(|i| CaseResult::new("run-1", format!("case-{i}"), at))
            .collect();
        let none = BTreeMap::new();
        let first = write(&mut store, Format::Jsonl, &results, &none).unwrap();
        assert_eq!(
            first,
            Written {
                created: 5,
                replaced: 0,
                unchanged: 0
            }
        );
        assert_eq!(rows(&path), [5, 5, 5, 5]);

        // One file holding case-1 twice unchanged, case-3 changed and a new
        // case-5.
        let mut again = results.clone();
        again.push(results[1].clone());
        again[3].passed = false;
        again.push(CaseResult::new("run-1", "case-5", at));
        let second = write(&mut store, Format::Jsonl, &again, &none).unwrap();
        assert_eq!(
            second,
            Written {
                created: 1,
                replaced: 1,
                unchanged: 5
            }
        );
        assert_eq!(rows(&path), [6, 6, 6, 6]);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let decision: String = conn
            .query_row(
                "SELECT decision FROM trace_evals WHERE trace_id = 'jsonl:run-1:case-3:0'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(decision, "fallback");
    }
}
