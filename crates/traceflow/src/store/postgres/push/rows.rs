//! The rows a push stages: how each table's rows are written to its
//! staging table with binary COPY, and made fit for PostgreSQL's text
//! first (a NUL character, which SQLite's text holds and PostgreSQL's does
//! not, is replaced and noted).

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{Json, Type};

use super::super::PgTime;
use crate::store::sqlite::{ExportEval, ExportStep, ExportTrace, Exported};
use crate::store::{RowIssue, SqliteStore, StoreError};

/// A row's text made fit for PostgreSQL: NUL characters replaced.
pub(super) trait Scrub {
    /// Replaces NUL characters in every text and JSON string; whether any
    /// was.
    fn scrub(&mut self) -> bool;
    /// An issue naming the row.
    fn issue(&self, reason: &str) -> RowIssue;
    /// The row's trace, as the file has it.
    fn trace_id(&self) -> &str;
    /// Whether PostgreSQL can hold the row: `Err` with why when it cannot
    /// (a key its index cannot hold, a required time out of its range); a
    /// note when an optional value out of range is sent as NULL.
    fn fit(&mut self) -> Result<Option<String>, String>;
}

/// The longest trace id kept, in bytes: a b-tree entry holds at most 2,704
/// bytes, and a step's key adds its `step_seq`.
pub(super) const MAX_TRACE_ID_BYTES: usize = 2048;

/// PostgreSQL's earliest `timestamptz`, 4714-11-24 BC (Julian day 0), in
/// microseconds from its epoch (2000-01-01 UTC).
const PG_MIN_MICROS: i64 = -211_813_488_000_000_000;

/// Whether PostgreSQL's `timestamptz` holds `at` (its latest, in year
/// 294276, lies past any time this build reads).
fn in_pg_range(at: jiff::Timestamp) -> bool {
    let micros = at.as_microsecond() - 946_684_800_000_000;
    micros >= PG_MIN_MICROS
}

/// Why a trace id cannot be kept, if it cannot.
fn id_unfit(trace_id: &str) -> Result<(), String> {
    if trace_id.len() > MAX_TRACE_ID_BYTES {
        return Err(format!(
            "the trace id is {} bytes long, over the {MAX_TRACE_ID_BYTES} PostgreSQL's index can hold",
            trace_id.len()
        ));
    }
    Ok(())
}

/// Why a required time cannot be kept, if it cannot.
fn time_unfit(column: &str, at: jiff::Timestamp) -> Result<(), String> {
    if in_pg_range(at) {
        Ok(())
    } else {
        Err(format!(
            "{column}: {at} is before PostgreSQL's earliest time (4714-11-24 BC)"
        ))
    }
}

/// Replaces NUL characters in `text`; whether there were any.
pub(super) fn scrub_text(text: &mut String) -> bool {
    if text.contains('\0') {
        *text = text.replace('\0', "\u{FFFD}");
        true
    } else {
        false
    }
}

fn scrub_optional(text: &mut Option<String>) -> bool {
    text.as_mut().is_some_and(scrub_text)
}

/// Replaces NUL characters in a JSON value's strings and keys.
fn scrub_json(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => scrub_text(text),
        serde_json::Value::Array(items) => {
            items.iter_mut().fold(false, |any, v| scrub_json(v) | any)
        }
        serde_json::Value::Object(map) => {
            let mut any = false;
            if map.keys().any(|k| k.contains('\0')) {
                let entries = std::mem::take(map);
                for (mut key, v) in entries {
                    any |= scrub_text(&mut key);
                    map.insert(key, v);
                }
            }
            map.values_mut().fold(any, |any, v| scrub_json(v) | any)
        }
        _ => false,
    }
}

fn issue_at(table: &'static str, rowid: i64, trace_id: &str, reason: &str) -> RowIssue {
    RowIssue {
        at: crate::store::Locator::Row { table, rowid },
        trace_id: Some(trace_id.to_owned()),
        reason: reason.to_owned(),
    }
}

impl Scrub for ExportTrace {
    fn scrub(&mut self) -> bool {
        let texts = [
            &mut self.trace_id,
            &mut self.mode,
            &mut self.user_input,
            &mut self.model,
            &mut self.provider,
        ]
        .into_iter()
        .fold(false, |any, t| scrub_text(t) | any);
        let optional = scrub_optional(&mut self.final_answer) | scrub_optional(&mut self.error);
        texts | optional | self.config.as_mut().is_some_and(scrub_json)
    }

    fn issue(&self, reason: &str) -> RowIssue {
        issue_at("traces", self.rowid, &self.trace_id, reason)
    }

    fn trace_id(&self) -> &str {
        &self.trace_id
    }

    fn fit(&mut self) -> Result<Option<String>, String> {
        id_unfit(&self.trace_id)?;
        time_unfit("created_at", self.created_at)?;
        match self.finished_at {
            Some(at) if !in_pg_range(at) => {
                self.finished_at = None;
                Ok(Some(format!(
                    "finished_at: {at} is before PostgreSQL's earliest time; pushed as NULL"
                )))
            }
            _ => Ok(None),
        }
    }
}

impl Scrub for ExportStep {
    fn scrub(&mut self) -> bool {
        let s = &mut self.step;
        (scrub_text(&mut s.trace_id) | scrub_text(&mut s.node_name) | scrub_optional(&mut s.error))
            | s.input.as_mut().is_some_and(scrub_json)
            | s.output.as_mut().is_some_and(scrub_json)
    }

    fn issue(&self, reason: &str) -> RowIssue {
        issue_at("trace_steps", self.rowid, &self.step.trace_id, reason)
    }

    fn trace_id(&self) -> &str {
        &self.step.trace_id
    }

    fn fit(&mut self) -> Result<Option<String>, String> {
        id_unfit(&self.step.trace_id)?;
        time_unfit("created_at", self.step.created_at)?;
        Ok(None)
    }
}

impl Scrub for ExportEval {
    fn scrub(&mut self) -> bool {
        let e = &mut self.eval;
        let reasons = e
            .reasons
            .as_mut()
            .is_some_and(|r| r.iter_mut().fold(false, |any, t| scrub_text(t) | any));
        let scores = match e.scores.as_mut() {
            Some(scores) if scores.keys().any(|k| k.contains('\0')) => {
                *scores = std::mem::take(scores)
                    .into_iter()
                    .map(|(mut k, v)| {
                        scrub_text(&mut k);
                        (k, v)
                    })
                    .collect();
                true
            }
            _ => false,
        };
        scrub_text(&mut e.trace_id)
            | reasons
            | scores
            | scrub_optional(&mut e.revision_instructions)
    }

    fn issue(&self, reason: &str) -> RowIssue {
        issue_at("trace_evals", self.rowid, &self.eval.trace_id, reason)
    }

    fn trace_id(&self) -> &str {
        &self.eval.trace_id
    }

    fn fit(&mut self) -> Result<Option<String>, String> {
        id_unfit(&self.eval.trace_id)?;
        time_unfit("created_at", self.eval.created_at)?;
        Ok(None)
    }
}

/// Reads a file's rows of one table, giving each to the sink; the sink's
/// `Err(())` stops the read (the cause is kept by the sink's owner).
pub(super) type StagedRead<'r, T> = dyn FnMut(
        &SqliteStore,
        &mut dyn FnMut(Exported<T>) -> Result<(), ()>,
    ) -> Result<Result<(), ()>, StoreError>
    + 'r;

/// A row a push stages: its table, its staging table's column types, and
/// how it is written there.
pub(super) trait Staged: Scrub {
    /// The shared table.
    const TABLE: &'static str;
    /// Its staging table.
    const STAGING: &'static str;
    /// The staging table's column types, in order.
    const TYPES: &'static [Type];
    /// What sending it is called in an error.
    const DOING: &'static str;
    /// Writes the row (its rowid first) to a COPY.
    fn write(&self, writer: &mut BinaryCopyInWriter<'_>) -> Result<(), postgres::Error>;
}

impl Staged for ExportTrace {
    const TABLE: &'static str = "traces";
    const STAGING: &'static str = "push_traces";
    const TYPES: &'static [Type] = TRACE_TYPES;
    const DOING: &'static str = "sending traces";

    fn write(&self, writer: &mut BinaryCopyInWriter<'_>) -> Result<(), postgres::Error> {
        let t = self;
        writer.write(&[
            &t.rowid,
            &t.trace_id,
            &t.status.to_string(),
            &t.mode,
            &t.user_input,
            &t.config,
            &t.model,
            &t.provider,
            &t.final_answer,
            &t.error,
            &PgTime(t.created_at),
            &t.finished_at.map(PgTime),
            // The head's facts: what the raw columns cannot say exactly.
            &sub_micro_nanos(t.created_at),
            &t.user_input.trim(),
            &config_facts(t.config.as_ref()),
        ])
    }
}

/// The nanoseconds of `at` below its microsecond, which PostgreSQL's
/// `timestamptz` drops.
pub(in crate::store::postgres) fn sub_micro_nanos(at: jiff::Timestamp) -> i32 {
    i32::try_from(at.as_nanosecond().rem_euclid(1000)).unwrap_or(0)
}

/// A config's top-level keys, each with its value as runs and segments
/// are keyed on it (`tfl::config_value`: a string as it is, other JSON as
/// its compact text); keys whose value is null are left out, as they read
/// as absent. `None` when the config is not an object.
fn config_facts(config: Option<&serde_json::Value>) -> Option<serde_json::Value> {
    let serde_json::Value::Object(map) = config? else {
        return None;
    };
    Some(serde_json::Value::Object(
        map.iter()
            .filter_map(|(key, value)| {
                crate::store::tfl::config_value(Some(value.clone()))
                    .map(|text| (key.clone(), serde_json::Value::String(text)))
            })
            .collect(),
    ))
}

impl Staged for ExportStep {
    const TABLE: &'static str = "trace_steps";
    const STAGING: &'static str = "push_steps";
    const TYPES: &'static [Type] = STEP_TYPES;
    const DOING: &'static str = "sending steps";

    fn write(&self, writer: &mut BinaryCopyInWriter<'_>) -> Result<(), postgres::Error> {
        let s = &self.step;
        writer.write(&[
            &self.rowid,
            &s.trace_id,
            &s.step_seq,
            &s.node_name,
            &s.input,
            &s.output,
            &s.tokens,
            &s.latency_ms,
            &s.cost_usd,
            &s.error,
            &s.cache_hit,
            &PgTime(s.created_at),
        ])
    }
}

impl Staged for ExportEval {
    const TABLE: &'static str = "trace_evals";
    const STAGING: &'static str = "push_evals";
    const TYPES: &'static [Type] = EVAL_TYPES;
    const DOING: &'static str = "sending verdicts";

    fn write(&self, writer: &mut BinaryCopyInWriter<'_>) -> Result<(), postgres::Error> {
        let e = &self.eval;
        writer.write(&[
            &self.rowid,
            &e.trace_id,
            &e.step_seq,
            &e.decision.to_string(),
            &e.reasons.as_ref().map(Json),
            &e.scores.as_ref().map(Json),
            &e.revision_instructions,
            &PgTime(e.created_at),
        ])
    }
}

const TRACE_TYPES: &[Type] = &[
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::JSONB,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMPTZ,
    Type::INT4,
    Type::TEXT,
    Type::JSONB,
];

const STEP_TYPES: &[Type] = &[
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::JSONB,
    Type::JSONB,
    Type::INT8,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::TEXT,
    Type::BOOL,
    Type::TIMESTAMPTZ,
];

const EVAL_TYPES: &[Type] = &[
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::JSONB,
    Type::JSONB,
    Type::TEXT,
    Type::TIMESTAMPTZ,
];

/// The push's temporary tables, dropped at its end.
pub(super) const STAGING_DDL: &str = "
CREATE TEMP TABLE push_traces (src_rowid bigint, trace_id text, status text, mode text,
    user_input text, config_json jsonb, model text, provider text, final_answer text, error text,
    created_at timestamptz, finished_at timestamptz, created_nsec integer, input text,
    config_facts jsonb) ON COMMIT DROP;
CREATE TEMP TABLE push_steps (src_rowid bigint, trace_id text, step_seq bigint, node_name text,
    input_json jsonb, output_json jsonb, tokens bigint, latency_ms double precision,
    cost_usd double precision, error text, cache_hit boolean, created_at timestamptz) ON COMMIT DROP;
CREATE TEMP TABLE push_evals (src_rowid bigint, trace_id text, step_seq bigint, decision text,
    reasons_json jsonb, scores_json jsonb, revision_instructions text, created_at timestamptz)
    ON COMMIT DROP;
CREATE TEMP TABLE push_facts (trace_id text, source smallint, passes integer, revises integer,
    fallbacks integer, last_seq bigint, last_order bigint, last_decision smallint,
    score_sum double precision, score_n bigint, score_names text[], score_sums double precision[],
    score_counts integer[], steps integer, tokens double precision, latency_ms double precision,
    cost_usd double precision) ON COMMIT DROP;
";

/// `push_facts`'s column types, in order.
pub(super) const FACT_TYPES: &[Type] = &[
    Type::TEXT,
    Type::INT2,
    Type::INT4,
    Type::INT4,
    Type::INT4,
    Type::INT8,
    Type::INT8,
    Type::INT2,
    Type::FLOAT8,
    Type::INT8,
    Type::TEXT_ARRAY,
    Type::FLOAT8_ARRAY,
    Type::INT4_ARRAY,
    Type::INT4,
    Type::FLOAT8,
    Type::FLOAT8,
    Type::FLOAT8,
];

/// Writes one trace's facts (`trace_id` as the database keys it) to a
/// `push_facts` COPY: the named scores that have a finite value only.
pub(super) fn write_facts(
    writer: &mut BinaryCopyInWriter<'_>,
    trace_id: &str,
    facts: &crate::store::TraceFacts,
    names: &[String],
) -> Result<(), postgres::Error> {
    use crate::store::facts::decision_slot;
    use crate::store::DecisionSource;
    let source: i16 = match facts.source {
        DecisionSource::TraceEvals => 0,
        DecisionSource::EvaluatorSteps => 1,
        DecisionSource::Status => 2,
    };
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let [passes, revises, fallbacks] = facts.counts.map(count);
    let (mut score_names, mut sums, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    for (name, &(sum, n)) in names.iter().zip(facts.named_scores.iter()) {
        if n > 0 {
            score_names.push(name.as_str());
            sums.push(sum);
            counts.push(count(n));
        }
    }
    let usage = facts.usage.as_deref();
    writer.write(&[
        &trace_id,
        &source,
        &passes,
        &revises,
        &fallbacks,
        &facts.last.map(|l| l.step_seq),
        &facts.last.map(|l| l.order),
        &facts.last.map(|l| decision_slot(l.decision) as i16),
        &facts.scores.sum,
        &i64::from(facts.scores.finite),
        &score_names,
        &sums,
        &counts,
        &usage.map(|u| count(u.steps)),
        &usage.map(|u| u.tokens),
        &usage.map(|u| u.latency_ms),
        &usage.map(|u| u.cost_usd),
    ])
}
