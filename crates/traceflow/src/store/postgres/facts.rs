//! The facts seam answered by the server: heads in one pass over `traces`,
//! and each trace's verdicts, scores and usage added up in SQL by
//! TraceFlow Lite's reading rules, one row per trace.
//!
//! The rules, as the SQLite store applies them to text: a trace's
//! decisions are its `trace_evals` rows when it has any, else its
//! `evaluator` steps' `output_json ->> 'decision'` (node name and decision
//! in any letter case, surrounding white space ignored), else its status
//! stands in; the last decision is the one at the highest `step_seq`
//! (ties: the later row); scores are the finite numbers of an object whose
//! values are all numbers or null; usage is the sum over the trace's
//! steps. A push has already kept out what the rules would refuse (an
//! unknown status or decision, a timestamp that does not parse, a usage
//! value that is not finite), so every row here is usable.

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use rustc_hash::FxHashMap;

use super::{server_error, PgTime, PostgresStore};
use crate::model::{EvalDecision, RunStatus};
use crate::python_json::ScoreSummary;
use crate::store::facts::LabelSets;
use crate::store::{
    DecisionSource, FactsQuery, FactsStore, HeadsQuery, LastDecision, RowIssue, Rows, StoreError,
    TraceFacts, TraceHead, Usage,
};

/// The step positions the last decision is told apart within: 2^60, so
/// that `step_seq * 4 + code` never leaves a bigint (a hostile store's
/// `step_seq` may be anything an INTEGER holds).
const SEQ_LIMIT: i64 = 1 << 60;

/// Traces named in a facts query at most; more are read as the whole
/// table and picked out here (a long `ANY` list costs more than a scan).
const MAX_NAMED_TRACES: usize = 100_000;

impl FactsStore for PostgresStore {
    fn trace_heads(&self, query: &HeadsQuery<'_>) -> Result<Rows<TraceHead>, StoreError> {
        let labelled = query.labels || query.inputs;
        let sql = heads_sql(query);
        let params: Vec<&(dyn ToSql + Sync)> = query
            .config_keys
            .iter()
            .map(|k| k as &(dyn ToSql + Sync))
            .collect();
        let read_error = server_error(&self.location, "traces");
        let mut client = self.client.borrow_mut();
        let mut rows = client
            .query_raw(sql.as_str(), params.iter().copied())
            .map_err(&read_error)?;
        let mut out = Rows::default();
        let mut labels = LabelSets::default();
        let first_config = 4 + if labelled { 3 } else { 0 } + usize::from(query.inputs);
        while let Some(row) = rows.next().map_err(&read_error)? {
            let trace_id: String = row.try_get(0).map_err(&read_error)?;
            let status: &str = row.try_get(1).map_err(&read_error)?;
            let created_at: PgTime = row.try_get(2).map_err(&read_error)?;
            let seq: i64 = row.try_get(3).map_err(&read_error)?;
            let created_at = created_at.0;
            let Ok(status) = status.parse::<RunStatus>() else {
                // The schema's CHECK and type make this unreachable but for
                // a row written by hand past them.
                out.issues.push(RowIssue {
                    at: crate::store::Locator::Row {
                        table: "traces",
                        rowid: seq,
                    },
                    trace_id: Some(trace_id),
                    reason: format!("status: {status:?} is not running, done or failed"),
                });
                continue;
            };
            let labels = if labelled {
                let text = |i: usize| row.try_get::<_, &str>(i).map_err(&read_error);
                let input = if query.inputs { text(7)?.trim() } else { "" };
                Some(labels.set(text(4)?, text(5)?, text(6)?, input))
            } else {
                None
            };
            let config = (0..query.config_keys.len())
                .map(|i| {
                    let value: Option<serde_json::Value> =
                        row.try_get(first_config + i).map_err(&read_error)?;
                    Ok(crate::store::tfl::config_value(value))
                })
                .collect::<Result<Box<[_]>, StoreError>>()?;
            out.rows.push(TraceHead {
                trace_id,
                status,
                created_at,
                rowid: seq,
                labels,
                config,
            });
        }
        Ok(out)
    }

    fn trace_facts(&self, query: &FactsQuery<'_>) -> Result<Rows<TraceFacts>, StoreError> {
        let ids = query.traces;
        let names = query.score_names;
        let mut out = Rows {
            rows: vec![TraceFacts::empty(names.len()); ids.len()],
            issues: Vec::new(),
        };
        if ids.is_empty() {
            return Ok(out);
        }
        let slot: FxHashMap<&str, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let named = ids.len() <= MAX_NAMED_TRACES;
        let sql = facts_sql(names.len(), query.usage, named);
        let id_list: Vec<&str> = if named { ids.to_vec() } else { Vec::new() };
        let mut params: Vec<&(dyn ToSql + Sync)> = names.iter().map(|n| n as _).collect();
        if named {
            params.push(&id_list);
        }
        let read_error = server_error(&self.location, "trace_evals and trace_steps");
        let mut client = self.client.borrow_mut();
        let mut rows = client
            .query_raw(sql.as_str(), params.iter().copied())
            .map_err(&read_error)?;
        while let Some(row) = rows.next().map_err(&read_error)? {
            let trace_id: &str = row.try_get(0).map_err(&read_error)?;
            let Some(&i) = slot.get(trace_id) else {
                continue;
            };
            let get_i64 = |c: usize| row.try_get::<_, Option<i64>>(c).map_err(&read_error);
            let get_f64 = |c: usize| row.try_get::<_, Option<f64>>(c).map_err(&read_error);
            let facts = &mut out.rows[i];
            let source: i32 = row.try_get(1).map_err(&read_error)?;
            facts.source = match source {
                0 => DecisionSource::TraceEvals,
                1 => DecisionSource::EvaluatorSteps,
                _ => DecisionSource::Status,
            };
            for (k, count) in facts.counts.iter_mut().enumerate() {
                *count = count_of(get_i64(2 + k)?);
            }
            // `step_seq * 4 + code`: a trace's steps (and verdicts) are
            // keyed by step_seq here, so the highest is the last, no tie
            // to break.
            let last: Option<i64> = row.try_get(5).map_err(&read_error)?;
            facts.last = last.map(|packed| LastDecision {
                step_seq: packed.div_euclid(4),
                order: 0,
                decision: decision_of(packed.rem_euclid(4)),
            });
            facts.scores = ScoreSummary {
                sum: get_f64(6)?.unwrap_or(0.0),
                finite: count_of(get_i64(7)?),
                invalid: false,
            };
            for (k, slot) in facts.named_scores.iter_mut().enumerate() {
                *slot = (
                    get_f64(8 + 2 * k)?.unwrap_or(0.0),
                    count_of(get_i64(9 + 2 * k)?),
                );
            }
            if query.usage {
                let first = 8 + 2 * names.len();
                let steps = count_of(get_i64(first)?);
                if steps > 0 {
                    facts.usage = Some(Box::new(Usage {
                        tokens: get_f64(first + 1)?.unwrap_or(0.0),
                        latency_ms: get_f64(first + 2)?.unwrap_or(0.0),
                        cost_usd: get_f64(first + 3)?.unwrap_or(0.0),
                        steps,
                    }));
                }
            }
        }
        Ok(out)
    }

    fn config_keys(&self) -> Result<Vec<String>, StoreError> {
        self.names(
            "traces",
            "SELECT DISTINCT k FROM traces, jsonb_object_keys(CASE WHEN jsonb_typeof(config_json) \
             = 'object' THEN config_json ELSE '{}' END) AS k ORDER BY 1 LIMIT 200",
        )
    }

    fn score_names(&self) -> Result<Vec<String>, StoreError> {
        self.names(
            "trace_evals",
            "SELECT k FROM (\
               SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(scores_json) = 'object' \
               THEN scores_json ELSE '{}' END) AS k FROM trace_evals \
               UNION \
               SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(output_json -> 'scores') = 'object' \
               THEN output_json -> 'scores' ELSE '{}' END) FROM trace_steps \
               WHERE lower(node_name) = 'evaluator'\
             ) AS names ORDER BY 1 LIMIT 200",
        )
    }
}

impl PostgresStore {
    /// The first column of `sql`'s rows, as text.
    fn names(&self, table: &'static str, sql: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(sql, &[])
            .map_err(server_error(&self.location, table))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

/// The SQL that answers a heads query: `$1..$n` are the config keys. Its
/// columns: trace id, status, start time, `seq`; with labels or inputs
/// `mode`, `model`, `provider`; with inputs `user_input`; then each
/// config key's value (`jsonb`).
pub fn heads_sql(query: &HeadsQuery<'_>) -> String {
    let mut columns = String::from("trace_id, status, created_at, seq");
    if query.labels || query.inputs {
        columns.push_str(", mode, model, provider");
    }
    if query.inputs {
        columns.push_str(", user_input");
    }
    for k in 1..=query.config_keys.len() {
        columns.push_str(&format!(", config_json -> ${k}"));
    }
    format!("SELECT {columns} FROM traces")
}

/// A count from SQL (`bigint`, NULL for none) as the facts hold it.
fn count_of(value: Option<i64>) -> u32 {
    u32::try_from(value.unwrap_or(0).max(0)).unwrap_or(u32::MAX)
}

/// A decision's code in the facts query: its slot in `[PASS, REVISE,
/// FALLBACK]`.
fn decision_of(code: i64) -> EvalDecision {
    match code {
        0 => EvalDecision::Pass,
        1 => EvalDecision::Revise,
        _ => EvalDecision::Fallback,
    }
}

/// The SQL that answers a facts query: `$1..$n` are the score names,
/// `$n+1` the trace ids when `named`. Its columns: trace id, decision
/// source (0 trace_evals, 1 evaluator steps, 2 status), PASS, REVISE and
/// FALLBACK counts, the last decision as `step_seq * 4 + code` (a step
/// position is unique within a trace), score
/// sum and count, each named score's sum and count, then with `usage` the
/// steps counted and their tokens, latency and cost.
pub fn facts_sql(names: usize, usage: bool, named: bool) -> String {
    let ids = format!("${}", names + 1);
    let only = |column: &str| {
        if named {
            format!("{column} = ANY({ids}::text[])")
        } else {
            "true".to_owned()
        }
    };
    // The decisions of one source, added up: `d` the decision's code, `sc`
    // its scores object.
    let tally = |seq: &str, d: &str, sc: &str| {
        let mut sql = format!(
            "count(*) FILTER (WHERE {d} = 0) AS pass, \
             count(*) FILTER (WHERE {d} = 1) AS revise, \
             count(*) FILTER (WHERE {d} = 2) AS fallback, \
             max(least(greatest({seq}, -{SEQ_LIMIT}), {SEQ_LIMIT}) * 4 + {d}) \
             FILTER (WHERE {d} IS NOT NULL) AS last, \
             sum(sums.total) FILTER (WHERE {d} IS NOT NULL) AS score_sum, \
             sum(sums.n) FILTER (WHERE {d} IS NOT NULL)::bigint AS score_n"
        );
        for k in 1..=names {
            let value = format!("({sc} -> ${k})");
            sql.push_str(&format!(
                ", sum(({value})::text::float8) FILTER (WHERE {d} IS NOT NULL \
                 AND jsonb_typeof({value}) = 'number') AS s{k}, \
                 count(*) FILTER (WHERE {d} IS NOT NULL \
                 AND jsonb_typeof({value}) = 'number') AS n{k}"
            ));
        }
        sql
    };
    // A scores object's finite values, all of the object's values numbers or
    // null (else none of them counts, as ScoreSummary reads it).
    let sums = |sc: &str| {
        format!(
            "LEFT JOIN LATERAL (SELECT \
               CASE WHEN bool_and(jsonb_typeof(value) IN ('number', 'null')) IS NOT FALSE \
               THEN sum(value::text::float8) FILTER (WHERE jsonb_typeof(value) = 'number') END AS total, \
               CASE WHEN bool_and(jsonb_typeof(value) IN ('number', 'null')) IS NOT FALSE \
               THEN count(*) FILTER (WHERE jsonb_typeof(value) = 'number') ELSE 0 END AS n \
             FROM jsonb_each(CASE WHEN jsonb_typeof({sc}) = 'object' THEN {sc} ELSE '{{}}' END)) AS sums ON true"
        )
    };
    let code = |text: &str| {
        format!(
            "CASE lower(btrim({text}, E' \\t\\n\\r')) WHEN 'pass' THEN 0::bigint \
             WHEN 'revise' THEN 1::bigint WHEN 'fallback' THEN 2::bigint END"
        )
    };
    let evals = format!(
        "SELECT trace_id, {} FROM (SELECT *, {} AS d FROM trace_evals WHERE {}) AS e {} GROUP BY trace_id",
        tally("step_seq", "d", "scores_json"),
        code("decision"),
        only("trace_id"),
        sums("e.scores_json"),
    );
    let step_filter = if usage {
        only("trace_id")
    } else {
        format!("{} AND lower(node_name) = 'evaluator'", only("trace_id"))
    };
    let usage_columns = if usage {
        ", count(*) AS steps, sum(tokens)::float8 AS tokens, sum(latency_ms) AS latency_ms, \
         sum(cost_usd) AS cost_usd"
    } else {
        ""
    };
    let steps = format!(
        "SELECT trace_id, {}{usage_columns} FROM (SELECT *, CASE WHEN lower(node_name) = 'evaluator' \
         THEN {} END AS d, CASE WHEN lower(node_name) = 'evaluator' THEN output_json -> 'scores' END AS sc \
         FROM trace_steps WHERE {step_filter}) AS st {} GROUP BY trace_id",
        tally("step_seq", "d", "sc"),
        code("output_json ->> 'decision'"),
        sums("st.sc"),
    );
    // trace_evals decide a trace that has rows there; else its evaluator
    // steps, when any decision among them reads; else its status.
    let pick = |column: &str| {
        format!("CASE WHEN e.trace_id IS NOT NULL THEN e.{column} WHEN s.last IS NOT NULL THEN s.{column} END")
    };
    let mut select = format!(
        "SELECT coalesce(e.trace_id, s.trace_id), \
         CASE WHEN e.trace_id IS NOT NULL THEN 0 WHEN s.last IS NOT NULL THEN 1 ELSE 2 END, \
         {}, {}, {}, {}, {}, {}",
        pick("pass"),
        pick("revise"),
        pick("fallback"),
        pick("last"),
        pick("score_sum"),
        pick("score_n"),
    );
    for k in 1..=names {
        select.push_str(&format!(
            ", {}, {}",
            pick(&format!("s{k}")),
            pick(&format!("n{k}"))
        ));
    }
    if usage {
        select.push_str(", s.steps, s.tokens, s.latency_ms, s.cost_usd");
    }
    format!("WITH e AS ({evals}), s AS ({steps}) {select} FROM e FULL JOIN s USING (trace_id)")
}
