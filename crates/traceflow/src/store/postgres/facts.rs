//! The facts seam answered by the server from the facts `push` wrote:
//! heads in one pass over `traces` joined to `trace_facts`, and each
//! trace's decisions, scores and usage as one `trace_facts` row.
//!
//! A push computes a trace's facts from the file with the file's own
//! reading rules (the SQLite store's facts query), so the server's answer
//! is the file's by construction: no second copy of the rules in SQL to
//! drift from the first. The start time is the `timestamptz` column plus
//! the nanoseconds below its microsecond that the facts keep. A trace that
//! has no facts (written into the raw tables past `push`) is left out of
//! the analysis and named. The version-1 rules in SQL remain only to give
//! facts to the traces a database held when it moved to version 2.

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use rustc_hash::FxHashMap;

use super::{server_error, PgTime, PostgresStore};
use crate::model::PASSED_PREFIX;
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
        let first_config = 6 + if labelled { 3 } else { 0 } + usize::from(query.inputs);
        while let Some(row) = rows.next().map_err(&read_error)? {
            let trace_id: String = row.try_get(0).map_err(&read_error)?;
            let status: &str = row.try_get(1).map_err(&read_error)?;
            let created_at: PgTime = row.try_get(2).map_err(&read_error)?;
            let seq: i64 = row.try_get(3).map_err(&read_error)?;
            let has_facts: bool = row.try_get(4).map_err(&read_error)?;
            let nanos: i32 = row.try_get(5).map_err(&read_error)?;
            let at = |reason: String| RowIssue {
                at: crate::store::Locator::Row {
                    table: "traces",
                    rowid: seq,
                },
                trace_id: Some(trace_id.clone()),
                reason,
            };
            if !has_facts {
                // Written past `push` (by hand, or another program): its
                // facts were never computed by the file's rules.
                out.issues.push(at(
                    "no facts: not written by traceflow push; push its store again".to_owned(),
                ));
                continue;
            }
            let Ok(status) = status.parse::<RunStatus>() else {
                // The schema's CHECK and type make this unreachable but for
                // a row written by hand past them.
                out.issues.push(at(format!(
                    "status: {status:?} is not running, done or failed"
                )));
                continue;
            };
            let created_at = created_at
                .0
                .checked_add(jiff::SignedDuration::from_nanos(i64::from(nanos)))
                .unwrap_or(created_at.0);
            let labels = if labelled {
                let text = |i: usize| row.try_get::<_, &str>(i).map_err(&read_error);
                let input = if query.inputs {
                    row.try_get::<_, Option<&str>>(9)
                        .map_err(&read_error)?
                        .unwrap_or("")
                } else {
                    ""
                };
                Some(labels.set(text(6)?, text(7)?, text(8)?, input))
            } else {
                None
            };
            let config = (0..query.config_keys.len())
                .map(|i| row.try_get::<_, Option<String>>(first_config + i))
                .collect::<Result<Box<[_]>, _>>()
                .map_err(&read_error)?;
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
        let sql = facts_sql(named);
        let id_list: Vec<&str> = if named { ids.to_vec() } else { Vec::new() };
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if named {
            params.push(&id_list);
        }
        let read_error = server_error(&self.location, "trace_facts");
        let mut client = self.client.borrow_mut();
        let mut rows = client
            .query_raw(sql.as_str(), params.iter().copied())
            .map_err(&read_error)?;
        while let Some(row) = rows.next().map_err(&read_error)? {
            let trace_id: &str = row.try_get(0).map_err(&read_error)?;
            let Some(&i) = slot.get(trace_id) else {
                continue;
            };
            let facts = &mut out.rows[i];
            let get = |c: usize| row.try_get::<_, i32>(c).map_err(&read_error);
            let source: i16 = row.try_get(1).map_err(&read_error)?;
            facts.source = match source {
                0 => DecisionSource::TraceEvals,
                1 => DecisionSource::EvaluatorSteps,
                _ => DecisionSource::Status,
            };
            for (k, count) in facts.counts.iter_mut().enumerate() {
                *count = count_of(get(2 + k)?);
            }
            let last_seq: Option<i64> = row.try_get(5).map_err(&read_error)?;
            let last_order: Option<i64> = row.try_get(6).map_err(&read_error)?;
            let last_decision: Option<i16> = row.try_get(7).map_err(&read_error)?;
            facts.last = match (last_seq, last_decision) {
                (Some(step_seq), Some(code)) => Some(LastDecision {
                    step_seq,
                    order: last_order.unwrap_or(0),
                    decision: decision_of(i64::from(code)),
                }),
                _ => None,
            };
            let score_n: i64 = row.try_get(9).map_err(&read_error)?;
            facts.scores = ScoreSummary {
                sum: row.try_get(8).map_err(&read_error)?,
                finite: u32::try_from(score_n.max(0)).unwrap_or(u32::MAX),
                invalid: false,
            };
            if !names.is_empty() {
                let stored: Vec<&str> = row.try_get(10).map_err(&read_error)?;
                let sums: Vec<f64> = row.try_get(11).map_err(&read_error)?;
                let counts: Vec<i32> = row.try_get(12).map_err(&read_error)?;
                for (slot, name) in facts.named_scores.iter_mut().zip(names) {
                    if let Some(k) = stored.iter().position(|s| s == name) {
                        *slot = (
                            sums.get(k).copied().unwrap_or(0.0),
                            count_of(counts.get(k).copied().unwrap_or(0)),
                        );
                    }
                }
            }
            if query.usage {
                let steps: Option<i32> = row.try_get(13).map_err(&read_error)?;
                if let Some(steps) = steps.filter(|&n| n > 0) {
                    let value = |c: usize| row.try_get::<_, Option<f64>>(c).map_err(&read_error);
                    facts.usage = Some(Box::new(Usage {
                        tokens: value(14)?.unwrap_or(0.0),
                        latency_ms: value(15)?.unwrap_or(0.0),
                        cost_usd: value(16)?.unwrap_or(0.0),
                        steps: count_of(steps),
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
        self.names("trace_evals", SCORE_NAMES_SQL)
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

/// The score names the raw rows hold (keys of `trace_evals.scores_json` and
/// of the evaluator steps' `scores`), at most 200.
const SCORE_NAMES_SQL: &str = "SELECT k FROM (\
    SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(scores_json) = 'object' \
    THEN scores_json ELSE '{}' END) AS k FROM trace_evals \
    UNION \
    SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(output_json -> 'scores') = 'object' \
    THEN output_json -> 'scores' ELSE '{}' END) FROM trace_steps \
    WHERE lower(node_name) = 'evaluator'\
    ) AS names ORDER BY 1 LIMIT 200";

/// The SQL that answers a heads query: `$1..$n` are the config keys. Its
/// columns: trace id, status, start time (to the microsecond), `seq`,
/// whether the trace has facts, the start's nanoseconds below the
/// microsecond; with labels or inputs `mode`, `model`, `provider`; with
/// inputs the input as a case's identity; then each config key's value as
/// runs are keyed on it (text, NULL when absent).
pub fn heads_sql(query: &HeadsQuery<'_>) -> String {
    let mut columns = String::from(
        "t.trace_id, t.status, t.created_at, t.seq, f.trace_id IS NOT NULL, \
         coalesce(f.created_nsec, 0)",
    );
    if query.labels || query.inputs {
        columns.push_str(", t.mode, t.model, t.provider");
    }
    if query.inputs {
        columns.push_str(", f.input");
    }
    for k in 1..=query.config_keys.len() {
        columns.push_str(&format!(", f.config ->> ${k}"));
    }
    format!("SELECT {columns} FROM traces t LEFT JOIN trace_facts f ON f.trace_id = t.trace_id")
}

/// The SQL that reads traces' facts as push wrote them: `$1` the trace
/// ids when `named`, else every trace's. Columns: trace id, decision
/// source (0 trace_evals, 1 evaluator steps, 2 status), PASS, REVISE and
/// FALLBACK counts, the last decision's step, row order and code, score
/// sum and count, the named scores' names, sums and counts, then steps,
/// tokens, latency and cost.
pub fn facts_sql(named: bool) -> String {
    let filter = if named {
        " WHERE trace_id = ANY($1::text[])"
    } else {
        ""
    };
    format!(
        "SELECT trace_id, source, passes, revises, fallbacks, last_seq, last_order, \
         last_decision, score_sum, score_n, score_names, score_sums, score_counts, steps, \
         tokens, latency_ms, cost_usd FROM trace_facts{filter}"
    )
}

/// A count from SQL as the facts hold it.
fn count_of(value: i32) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(0)
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

/// The version-1 rules in SQL, which answered a facts query from the raw
/// rows before push wrote facts; now only [`fill_facts`] uses them, for
/// the traces a database held when it moved to version 2. `$1..$n` are the
/// score names, `$n+1` the trace ids when `named`. Its columns: trace id, decision
/// source (0 trace_evals, 1 evaluator steps, 2 status), PASS, REVISE and
/// FALLBACK counts, the last decision as `step_seq * 4 + code` (a step
/// position is unique within a trace), score
/// sum and count, each named score's sum and count, then with `usage` the
/// steps counted and their tokens, latency and cost.
fn v1_facts_sql(names: usize, usage: bool, named: bool) -> String {
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
    // null (else none of them counts, as ScoreSummary reads it); an
    // evaluation's pass or fail (`passed:<name>`) is not a score.
    let sums = |sc: &str| {
        let score = format!(
            "jsonb_typeof(value) = 'number' AND left(key, {}) <> '{PASSED_PREFIX}'",
            PASSED_PREFIX.len()
        );
        format!(
            "LEFT JOIN LATERAL (SELECT \
               CASE WHEN bool_and(jsonb_typeof(value) IN ('number', 'null')) IS NOT FALSE \
               THEN sum(value::text::float8) FILTER (WHERE {score}) END AS total, \
               CASE WHEN bool_and(jsonb_typeof(value) IN ('number', 'null')) IS NOT FALSE \
               THEN count(*) FILTER (WHERE {score}) ELSE 0 END AS n \
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

/// Computes `trace_facts` for every trace a database holds as it moves to
/// version 2, by the version-1 rules in SQL (the file's rules need the
/// file): counts, the last decision, scores (every score name the database
/// has), usage, the trimmed input and each config key's value. A
/// `push --full` of the trace's store replaces them with the file's.
pub(super) fn fill_facts(tx: &mut postgres::Transaction<'_>) -> Result<(), postgres::Error> {
    let names: Vec<String> = tx
        .query(SCORE_NAMES_SQL, &[])?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let k = names.len();
    let mut columns = vec![
        "trace_id",
        "source",
        "pass",
        "revise",
        "fallback",
        "last",
        "score_sum",
        "score_n",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    for i in 1..=k {
        columns.push(format!("s{i}"));
        columns.push(format!("n{i}"));
    }
    columns.extend(["steps", "tokens", "latency_ms", "cost_usd"].map(str::to_owned));
    let array = |prefix: &str, cast: &str| {
        if k == 0 {
            format!("'{{}}'::{cast}[]")
        } else {
            let items: Vec<String> = (1..=k)
                .map(|i| format!("coalesce(f.{prefix}{i}, 0)"))
                .collect();
            format!("ARRAY[{}]::{cast}[]", items.join(", "))
        }
    };
    let name_array = if k == 0 {
        "'{}'::text[]".to_owned()
    } else {
        let items: Vec<String> = (1..=k).map(|i| format!("${i}::text")).collect();
        format!("ARRAY[{}]", items.join(", "))
    };
    let sql = format!(
        "INSERT INTO trace_facts (trace_id, created_nsec, input, config, source, passes, revises, \
         fallbacks, last_seq, last_order, last_decision, score_sum, score_n, score_names, \
         score_sums, score_counts, steps, tokens, latency_ms, cost_usd) \
         SELECT t.trace_id, 0, btrim(t.user_input), \
         (SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) = 'string' THEN value \
            ELSE to_jsonb(value::text) END) \
          FROM jsonb_each(CASE WHEN jsonb_typeof(t.config_json) = 'object' THEN t.config_json \
            ELSE '{{}}' END) WHERE jsonb_typeof(value) <> 'null'), \
         coalesce(f.source, 2), coalesce(f.pass, 0), coalesce(f.revise, 0), \
         coalesce(f.fallback, 0), (f.last - ((f.last % 4) + 4) % 4) / 4, 0, \
         ((f.last % 4) + 4) % 4, coalesce(f.score_sum, 0), coalesce(f.score_n, 0), {name_array}, \
         {}, {}, f.steps, f.tokens, f.latency_ms, f.cost_usd \
         FROM traces t LEFT JOIN ({}) AS f ({}) ON f.trace_id = t.trace_id",
        array("s", "float8"),
        array("n", "integer"),
        v1_facts_sql(k, true, false),
        columns.join(", "),
    );
    let params: Vec<&(dyn ToSql + Sync)> = names.iter().map(|n| n as _).collect();
    tx.execute(sql.as_str(), &params)?;
    Ok(())
}
