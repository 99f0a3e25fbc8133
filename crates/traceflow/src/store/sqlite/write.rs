//! Writes: TraceFlow Lite's operations, in the spellings its SDK writes, and
//! the bulk write of whole traces; each in a transaction.

// The backend's parts share its private helpers and imports.
use super::*;

/// Writes that commit together.
pub struct WriteBatch<'c> {
    pub(super) tx: rusqlite::Transaction<'c>,
    pub(super) path: PathBuf,
    pub(super) schema: Schema,
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

pub(super) fn write_error(path: &Path, operation: &str, source: rusqlite::Error) -> StoreError {
    StoreError::Write {
        location: Location::File(path.to_path_buf()),
        operation: operation.to_owned(),
        source: source.into(),
    }
}

/// A trace's columns as TraceFlow Lite writes them, in the order of the
/// statements' `?1`…`?12`: trace_id, status, mode, user_input, config_json,
/// model, provider, final_answer, error, created_at, finished_at,
/// updated_db_at (now).
fn trace_columns(trace: &TraceRecord) -> [Value; 12] {
    let text = |s: &str| Value::Text(s.to_owned());
    let optional = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    [
        text(&trace.trace_id),
        text(trace.status.as_str()),
        text(trace.mode.as_str()),
        text(&trace.user_input),
        Value::Text(python_json::to_string(&trace.config)),
        text(&trace.model),
        text(&trace.provider),
        optional(trace.final_answer.clone()),
        optional(trace.error.clone()),
        Value::Text(timestamp::format_python(trace.created_at)),
        optional(trace.finished_at.map(timestamp::format_python)),
        Value::Text(timestamp::format_python(timestamp::now())),
    ]
}

/// A `traces` row's insert, its columns as [`trace_columns`] orders them.
pub(super) const INSERT_TRACE: &str =
    "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, \
     final_answer, error, created_at, finished_at, updated_db_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

/// A `traces` row overwritten in place (keeping its rowid), the same
/// columns.
pub(super) const UPDATE_TRACE: &str =
    "UPDATE traces SET status = ?2, mode = ?3, user_input = ?4, config_json = ?5, \
     model = ?6, provider = ?7, final_answer = ?8, error = ?9, created_at = ?10, \
     finished_at = ?11, updated_db_at = ?12 WHERE trace_id = ?1";

pub(super) fn insert_trace(
    conn: &Connection,
    path: &Path,
    trace: &TraceRecord,
) -> Result<(), StoreError> {
    conn.execute(INSERT_TRACE, trace_columns(trace))
        .map_err(|source| write_error(path, &format!("create_trace {}", trace.trace_id), source))?;
    Ok(())
}

/// Overwrites a trace's row (in place, keeping its rowid) and deletes its
/// steps and verdicts, for a bulk write to put the bundle's back; returns
/// whether the trace was there.
pub(super) fn replace_trace(
    conn: &Connection,
    path: &Path,
    trace: &TraceRecord,
) -> Result<bool, StoreError> {
    let operation = || format!("write_traces {}", trace.trace_id);
    let changed = conn
        .execute(UPDATE_TRACE, trace_columns(trace))
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

pub(super) fn update_trace(
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
pub(super) fn json_or_null(value: Option<&serde_json::Value>) -> Option<String> {
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
pub(super) fn insert_step(
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
    // Cached: a bulk write inserts a step per trace with one statement.
    conn.prepare_cached(sql)
        .and_then(|mut statement| {
            statement.execute(params![
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
            ])
        })
        .map_err(|source| {
            write_error(
                path,
                &format!("insert_step {} #{}", step.trace_id, step.step_seq),
                source,
            )
        })?;
    Ok(())
}

pub(super) fn insert_eval(
    conn: &Connection,
    path: &Path,
    eval: &EvalRecord,
) -> Result<(), StoreError> {
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
    conn.prepare_cached(
        "INSERT INTO trace_evals (trace_id, step_seq, decision, reasons_json, scores_json, \
         revision_instructions, created_at, updated_db_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            eval.trace_id,
            eval.step_seq,
            eval.decision.as_str(),
            reasons,
            scores,
            eval.revision_instructions,
            timestamp::format_python(eval.created_at),
            now,
        ])
    })
    .map_err(|source| {
        write_error(
            path,
            &format!("insert_eval {} #{}", eval.trace_id, eval.step_seq),
            source,
        )
    })?;
    Ok(())
}
