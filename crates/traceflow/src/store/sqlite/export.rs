//! Reading a store's rows in insertion order, for a push into a team
//! database: each table in one pass from a rowid on, each row read by the
//! rules the analysis reads it by, so what arrives on the server is what
//! the analysis of the file would have used.

// The backend's parts share its private helpers and imports.
use super::*;

/// A `traces` row as a push moves it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportTrace {
    /// Its rowid in the file.
    pub rowid: i64,
    /// The trace's id.
    pub trace_id: String,
    /// Running, done or failed.
    pub status: RunStatus,
    /// The `mode` column as text (any value: segments show it).
    pub mode: String,
    /// The question asked.
    pub user_input: String,
    /// `config_json` parsed; `None` when it does not parse (its keys then
    /// read as absent, as in the analysis, and the row is reported).
    pub config: Option<serde_json::Value>,
    /// The model.
    pub model: String,
    /// The provider.
    pub provider: String,
    /// The answer.
    pub final_answer: Option<String>,
    /// The error.
    pub error: Option<String>,
    /// When the run started.
    pub created_at: jiff::Timestamp,
    /// When it finished; `None` also when it does not parse (reported).
    pub finished_at: Option<jiff::Timestamp>,
}

/// A `trace_steps` row as a push moves it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportStep {
    /// Its rowid in the file.
    pub rowid: i64,
    /// The step.
    pub step: StepRecord,
}

/// A `trace_evals` row as a push moves it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportEval {
    /// Its rowid in the file.
    pub rowid: i64,
    /// The verdict.
    pub eval: EvalRecord,
}

/// A row read for export: the row, or why it is kept out; either may come
/// with a note (a column left out).
pub type Exported<T> = (Result<T, RowIssue>, Option<RowIssue>);

/// The key of a row at a rowid, for a push to check that a store it has
/// seen is the same store: the trace id, and for steps and verdicts the
/// step position.
pub type RowKey = String;

impl SqliteStore {
    /// Whether `traces.trace_id` is unique in this file (a push dedupes
    /// ids only where it is not).
    pub fn unique_trace_ids(&self) -> bool {
        self.schema.unique_trace_ids
    }

    /// Every trace id of `traces`, `trace_steps` and `trace_evals` (as the
    /// rows are read: bytes that are not UTF-8 replaced) that holds a NUL
    /// or U+FFFD character, each once: where PostgreSQL's form of an id
    /// (NUL replaced by U+FFFD) can be another id's. One pass over each
    /// table, reading the ids alone.
    pub fn ids_with_nul_or_replacement(&self) -> Result<rustc_hash::FxHashSet<String>, StoreError> {
        let mut found = rustc_hash::FxHashSet::default();
        for table in ["traces", "trace_steps", "trace_evals"] {
            let read_error = self.read_error(table);
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT trace_id FROM {table}"))
                .map_err(&read_error)?;
            let mut rows = stmt.query([]).map_err(&read_error)?;
            while let Some(row) = rows.next().map_err(&read_error)? {
                let Ok(ValueRef::Text(bytes)) = row.get_ref(0) else {
                    continue;
                };
                // Plain ASCII without NUL, the ids of nearly every store:
                // nothing to convert.
                if bytes.is_ascii() && !bytes.contains(&0) {
                    continue;
                }
                let id = String::from_utf8_lossy(bytes);
                if id.contains(['\0', '\u{FFFD}']) && !found.contains(id.as_ref()) {
                    found.insert(id.into_owned());
                }
            }
        }
        Ok(found)
    }

    /// A table's highest rowid, 0 when it is empty.
    pub fn last_rowid(&self, table: &'static str) -> Result<i64, StoreError> {
        Ok(self.rowid_bounds(table)?.map_or(0, |(_, high)| high))
    }

    /// The key of the row at `rowid` of `table` (`traces`, `trace_steps`,
    /// `trace_evals`), if there is one.
    pub fn row_key(&self, table: &'static str, rowid: i64) -> Result<Option<RowKey>, StoreError> {
        let sql = match table {
            "traces" => "SELECT CAST(trace_id AS TEXT) FROM traces WHERE rowid = ?1",
            "trace_steps" => {
                "SELECT CAST(trace_id AS TEXT) || '/' || CAST(step_seq AS TEXT) FROM trace_steps WHERE rowid = ?1"
            }
            _ => {
                "SELECT CAST(trace_id AS TEXT) || '/' || CAST(step_seq AS TEXT) FROM trace_evals WHERE rowid = ?1"
            }
        };
        use rusqlite::OptionalExtension as _;
        self.conn
            .query_row(sql, [rowid], |row| row.get::<_, Option<String>>(0))
            .optional()
            .map(Option::flatten)
            .map_err(self.read_error(table))
    }

    /// The first row of `traces` by rowid, as a key that identifies the
    /// store among the many a team database takes pushes from.
    pub fn first_trace_key(&self) -> Result<Option<RowKey>, StoreError> {
        use rusqlite::OptionalExtension as _;
        self.conn
            .query_row(
                "SELECT CAST(trace_id AS TEXT) || '@' || CAST(created_at AS TEXT) FROM traces \
                 ORDER BY rowid LIMIT 1",
                [],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.read_error("traces"))
    }

    /// Each `traces` row in `rows` (rowids after the first, up to and
    /// including the second), in rowid order.
    pub fn export_traces<E>(
        &self,
        rows: (i64, i64),
        each: &mut dyn FnMut(Exported<ExportTrace>) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        self.export(
            "traces",
            &format!("{TRACE_EXPORT_SQL} WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid"),
            rows,
            trace_export,
            each,
        )
    }

    /// The `traces` rows of these ids (the first of each), for a push to
    /// look again at the runs it saw running.
    pub fn export_traces_by_id<E>(
        &self,
        ids: &[String],
        each: &mut dyn FnMut(Exported<ExportTrace>) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let read_error = self.read_error("traces");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{TRACE_EXPORT_SQL} WHERE trace_id = ?1 ORDER BY rowid LIMIT 1"
            ))
            .map_err(&read_error)?;
        for id in ids {
            let mut rows = stmt.query([id]).map_err(&read_error)?;
            if let Some(row) = rows.next().map_err(&read_error)? {
                if let Err(err) = each(trace_export(row)) {
                    return Ok(Err(err));
                }
            }
        }
        Ok(Ok(()))
    }

    /// Each `trace_steps` row in `rows` (as [`Self::export_traces`]).
    pub fn export_steps<E>(
        &self,
        rows: (i64, i64),
        each: &mut dyn FnMut(Exported<ExportStep>) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let sql = format!(
            "SELECT rowid, trace_id, step_seq, node_name, input_json, output_json, tokens, \
             latency_ms, cost_usd, error, {}, created_at FROM trace_steps WHERE rowid > ?1 AND rowid <= ?2 \
             ORDER BY rowid",
            self.schema.cache_hit_sql()
        );
        self.export("trace_steps", &sql, rows, step_export, each)
    }

    /// Each `trace_evals` row in `rows` (as [`Self::export_traces`]).
    pub fn export_evals<E>(
        &self,
        rows: (i64, i64),
        each: &mut dyn FnMut(Exported<ExportEval>) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        self.export(
            "trace_evals",
            "SELECT rowid, trace_id, step_seq, decision, reasons_json, scores_json, \
             revision_instructions, created_at FROM trace_evals WHERE rowid > ?1 AND rowid <= ?2 \
             ORDER BY rowid",
            rows,
            eval_export,
            each,
        )
    }

    fn export<T, E>(
        &self,
        table: &'static str,
        sql: &str,
        (after, upto): (i64, i64),
        map: fn(&Row<'_>) -> Exported<T>,
        each: &mut dyn FnMut(Exported<T>) -> Result<(), E>,
    ) -> Result<Result<(), E>, StoreError> {
        let read_error = self.read_error(table);
        let mut stmt = self.conn.prepare(sql).map_err(&read_error)?;
        let mut rows = stmt.query([after, upto]).map_err(&read_error)?;
        while let Some(row) = rows.next().map_err(&read_error)? {
            if let Err(err) = each(map(row)) {
                return Ok(Err(err));
            }
        }
        Ok(Ok(()))
    }
}

const TRACE_EXPORT_SQL: &str =
    "SELECT rowid, trace_id, status, created_at, mode, model, provider, \
    user_input, config_json, final_answer, error, finished_at FROM traces";

/// A trace row as the heads read it (id, status and start time required,
/// labels as lossy text), with the rest of its columns.
fn trace_export(row: &Row<'_>) -> Exported<ExportTrace> {
    let head = match head_of(row) {
        Ok(Ok(head)) => head,
        Ok(Err(issue)) => return (Err(issue), None),
        Err(err) => return (Err(issue_for("traces", row, err.to_string())), None),
    };
    let text = |i: usize| -> String {
        match row.get_ref(i) {
            Ok(ValueRef::Text(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            Ok(other) => optional_text(other, "").ok().flatten().unwrap_or_default(),
            Err(_) => String::new(),
        }
    };
    let optional = |i: usize| -> Option<String> {
        row.get_ref(i)
            .ok()
            .and_then(|v| optional_text(v, "").ok().flatten())
    };
    let mut problems = Vec::new();
    let config = match row.get_ref(8) {
        Ok(ValueRef::Text(bytes)) => {
            match python_json::from_str::<serde_json::Value>(&String::from_utf8_lossy(bytes)) {
                Ok(config @ serde_json::Value::Object(_)) => Some(config),
                Ok(_) => {
                    problems.push("config_json: not an object; pushed as NULL".to_owned());
                    None
                }
                Err(err) => {
                    problems.push(format!("config_json: {err}; pushed as NULL"));
                    None
                }
            }
        }
        _ => {
            problems.push("config_json: not text; pushed as NULL".to_owned());
            None
        }
    };
    let finished_at = match row.get_ref(11) {
        Ok(ValueRef::Null) | Err(_) => None,
        Ok(value) => match timestamp_of(value) {
            Ok(ts) => Some(ts),
            Err(err) => {
                problems.push(format!("finished_at: {err}; pushed as NULL"));
                None
            }
        },
    };
    let note = (!problems.is_empty()).then(|| issue_for("traces", row, problems.join("; ")));
    let trace = ExportTrace {
        rowid: head.rowid,
        trace_id: head.trace_id,
        status: head.status,
        mode: text(4),
        model: text(5),
        provider: text(6),
        user_input: text(7),
        config,
        final_answer: optional(9),
        error: optional(10),
        created_at: head.created_at,
        finished_at,
    };
    (Ok(trace), note)
}

/// A step as `show` reads it, kept out when its usage is not finite (the
/// analysis leaves such a row out of every sum).
fn step_export(row: &Row<'_>) -> Exported<ExportStep> {
    let rowid = row.get::<_, i64>(0).unwrap_or(-1);
    match step_from_row(row) {
        Ok((step, note)) => {
            let usage = super::super::tfl::finite(step.latency_ms, "latency_ms")
                .and_then(|_| super::super::tfl::finite(step.cost_usd, "cost_usd"));
            match usage {
                Ok(_) => (Ok(ExportStep { rowid, step }), note),
                Err(reason) => (Err(issue_for("trace_steps", row, reason)), note),
            }
        }
        Err(issue) => (Err(issue), None),
    }
}

/// A verdict as `show` reads it.
fn eval_export(row: &Row<'_>) -> Exported<ExportEval> {
    let rowid = row.get::<_, i64>(0).unwrap_or(-1);
    match eval_from_row(row) {
        Ok((eval, note)) => (Ok(ExportEval { rowid, eval }), note),
        Err(issue) => (Err(issue), None),
    }
}
