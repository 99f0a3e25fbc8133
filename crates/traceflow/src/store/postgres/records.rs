//! TraceFlow Lite's record reads (`list`, `show`) against the server: the
//! same records as from a file, each a row read by index.

use postgres::Row;

use super::{server_error, PgTime, PostgresStore};
use crate::model::{EvalRecord, Mode, RunConfig, RunStatus, StepRecord, TraceRecord};
use crate::store::{ListFilter, Locator, RecordStore, RowIssue, Rows, StoreError};

/// The columns of a trace record, its `seq` first, read from `TRACES`;
/// the start's nanoseconds below the microsecond come from its facts.
const TRACE_COLUMNS: &str = "t.seq, t.trace_id, t.status, t.mode, t.user_input, t.config_json, \
    t.model, t.provider, t.final_answer, t.error, t.created_at, t.finished_at, \
    coalesce(f.created_nsec, 0)";

/// A trace with its facts.
const TRACES: &str = "traces t LEFT JOIN trace_facts f ON f.trace_id = t.trace_id";

impl RecordStore for PostgresStore {
    fn get_trace(&self, trace_id: &str) -> Result<Option<TraceRecord>, StoreError> {
        let sql = format!("SELECT {TRACE_COLUMNS} FROM {TRACES} WHERE t.trace_id = $1");
        let mut found = self.read("traces", &sql, &[&trace_id], trace_of)?;
        if let Some(issue) = found.issues.pop() {
            return Err(StoreError::BadRow {
                location: self.location.clone(),
                issue,
            });
        }
        Ok(found.rows.pop())
    }

    fn find_trace_ids(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT trace_id FROM traces WHERE starts_with(trace_id, $1) ORDER BY trace_id LIMIT $2",
                &[&prefix, &limit],
            )
            .map_err(server_error(&self.location, "traces"))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn list_traces_where(
        &self,
        limit: usize,
        filter: &ListFilter,
    ) -> Result<Rows<TraceRecord>, StoreError> {
        let sql = format!(
            "SELECT {TRACE_COLUMNS} FROM {TRACES} WHERE ($1::text IS NULL OR t.status = $1) \
             AND ($2::text IS NULL OR t.model = $2) AND ($3::timestamptz IS NULL OR t.created_at >= $3) \
             ORDER BY t.created_at DESC, coalesce(f.created_nsec, 0) DESC, t.seq DESC LIMIT $4"
        );
        let status = filter.status.map(|s| s.to_string());
        let since = filter.since.map(PgTime);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(
            "traces",
            &sql,
            &[&status, &filter.model, &since, &limit],
            trace_of,
        )
    }

    fn get_steps(&self, trace_id: &str) -> Result<Rows<StepRecord>, StoreError> {
        self.read(
            "trace_steps",
            "SELECT step_id, trace_id, step_seq, node_name, input_json, output_json, tokens, \
             latency_ms, cost_usd, error, cache_hit, created_at FROM trace_steps \
             WHERE trace_id = $1 ORDER BY step_seq, step_id",
            &[&trace_id],
            |row| {
                Ok(StepRecord {
                    trace_id: row.try_get(1)?,
                    step_seq: row.try_get(2)?,
                    node_name: row.try_get(3)?,
                    input: row.try_get(4)?,
                    output: row.try_get(5)?,
                    tokens: row.try_get(6)?,
                    latency_ms: row.try_get(7)?,
                    cost_usd: row.try_get(8)?,
                    error: row.try_get(9)?,
                    cache_hit: row.try_get(10)?,
                    created_at: instant(row.try_get(11)?, 0)?,
                })
            },
        )
    }

    fn get_evals(&self, trace_id: &str) -> Result<Rows<EvalRecord>, StoreError> {
        self.read(
            "trace_evals",
            "SELECT eval_id, trace_id, step_seq, decision, reasons_json, scores_json, \
             revision_instructions, created_at FROM trace_evals \
             WHERE trace_id = $1 ORDER BY step_seq, eval_id",
            &[&trace_id],
            |row| {
                let json = |i: usize| -> Result<Option<serde_json::Value>, ReadError> {
                    Ok(row.try_get(i)?)
                };
                Ok(EvalRecord {
                    trace_id: row.try_get(1)?,
                    step_seq: row.try_get(2)?,
                    decision: parse(row.try_get(3)?, "decision")?,
                    reasons: json(4)?.map(serde_json::from_value).transpose()?,
                    scores: json(5)?.map(serde_json::from_value).transpose()?,
                    revision_instructions: row.try_get(6)?,
                    created_at: instant(row.try_get(7)?, 0)?,
                })
            },
        )
    }
}

impl PostgresStore {
    /// Runs a query and maps each row to a record, or to an issue (by its
    /// first column, the row's id) when it cannot be read.
    fn read<T>(
        &self,
        table: &'static str,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        map: impl Fn(&Row) -> Result<T, ReadError>,
    ) -> Result<Rows<T>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(sql, params)
            .map_err(server_error(&self.location, table))?;
        let mut out = Rows::default();
        for row in &rows {
            match map(row) {
                Ok(record) => out.rows.push(record),
                Err(err) => out.issues.push(RowIssue {
                    at: Locator::Row {
                        table,
                        rowid: row.try_get(0).unwrap_or_default(),
                    },
                    trace_id: row.try_get(1).ok(),
                    reason: err.0,
                }),
            }
        }
        Ok(out)
    }
}

/// Why a row could not be made a record.
struct ReadError(String);

impl<E: std::fmt::Display> From<E> for ReadError {
    fn from(err: E) -> Self {
        ReadError(err.to_string())
    }
}

fn trace_of(row: &Row) -> Result<TraceRecord, ReadError> {
    let config: Option<serde_json::Value> = row.try_get(5)?;
    let config: RunConfig = match config {
        Some(config) => serde_json::from_value(config).map_err(|e| format!("config_json: {e}"))?,
        None => {
            return Err(ReadError(
                "config_json: NULL (it did not parse where it was pushed from)".to_owned(),
            ))
        }
    };
    Ok(TraceRecord {
        trace_id: row.try_get(1)?,
        status: parse::<RunStatus>(row.try_get(2)?, "status")?,
        mode: parse::<Mode>(row.try_get(3)?, "mode")?,
        user_input: row.try_get(4)?,
        config,
        model: row.try_get(6)?,
        provider: row.try_get(7)?,
        final_answer: row.try_get(8)?,
        error: row.try_get(9)?,
        created_at: instant(row.try_get(10)?, row.try_get(12)?)?,
        finished_at: row.try_get::<_, Option<PgTime>>(11)?.map(|t| t.0),
    })
}

fn parse<T: std::str::FromStr<Err = crate::model::UnknownValue>>(
    text: &str,
    column: &str,
) -> Result<T, ReadError> {
    text.parse()
        .map_err(|e| ReadError(format!("{column}: {e}")))
}

/// A start time: the column's microseconds and the facts' nanoseconds.
fn instant(time: PgTime, nanos: i32) -> Result<jiff::Timestamp, ReadError> {
    Ok(time
        .0
        .checked_add(jiff::SignedDuration::from_nanos(i64::from(nanos)))
        .unwrap_or(time.0))
}
