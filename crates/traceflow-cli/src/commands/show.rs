//! `traceflow show`: one trace with its steps and eval verdicts.
//!
//! JSON layout (`schema_version` 1): `{"schema_version": 1, "trace": {...},
//! "steps": [...], "evals": [...], "skipped_rows": [...]}`, with the fields
//! of `TraceRecord`, `StepRecord` and `EvalRecord`.

use std::fmt::Write as _;

use anyhow::bail;
use comfy_table::CellAlignment;
use traceflow::model::{EvalRecord, StepRecord, TraceRecord};
use traceflow::store::{ReadStore, StoreSpec};

use crate::args::{FormatArg, ShowArgs};
use crate::exit_codes;

pub(crate) fn run(args: &ShowArgs, out: &mut super::Out<'_>) -> anyhow::Result<u8> {
    let (db, store) = args.store.open()?;
    let store = &*store;
    let trace = find(store, &db, &args.trace_id)?.ok_or_else(|| NoSuchTrace {
        store: db.to_string(),
        id: args.trace_id.clone(),
    })?;
    let steps = store.get_steps(&trace.trace_id)?;
    let evals = store.get_evals(&trace.trace_id)?;
    let skipped: Vec<_> = steps.issues.iter().chain(&evals.issues).collect();
    let text = match args.format {
        FormatArg::Json => {
            let doc = serde_json::json!({
                "schema_version": 1,
                "trace": trace,
                "steps": steps.rows,
                "evals": evals.rows,
                "skipped_rows": skipped,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        FormatArg::Table => {
            let mut text = header(&trace);
            text.push_str(&steps_text(&steps.rows));
            text.push_str(&evals_text(&evals.rows));
            for issue in skipped {
                let _ = writeln!(text, "skipped {issue}");
            }
            text
        }
    };
    out.print(&text)?;
    Ok(exit_codes::SUCCESS)
}

/// A trace id the store does not have.
#[derive(Debug, thiserror::Error)]
#[error("{store}: no trace {id:?} (see `traceflow list`)")]
pub(crate) struct NoSuchTrace {
    store: String,
    id: String,
}

/// The steps' table, then the gate's report in each evaluator step
/// (TraceFlow Lite's SDK records its decisions there, not in
/// trace_evals).
fn steps_text(steps: &[StepRecord]) -> String {
    let mut table = super::plain_table(&[
        "seq",
        "node",
        "tokens",
        "latency_ms",
        "cost_usd",
        "cache",
        "decision",
    ]);
    let mut gates = String::new();
    for step in steps {
        let output = step.output.as_ref();
        let field = |name: &str| output.and_then(|o| o.get(name));
        let decision = field("decision").and_then(|d| d.as_str()).unwrap_or("");
        table.add_row(vec![
            step.step_seq.to_string(),
            super::cell(&step.node_name),
            step.tokens.to_string(),
            format!("{:.1}", step.latency_ms),
            format!("{:.6}", step.cost_usd),
            if step.cache_hit { "hit" } else { "" }.to_owned(),
            super::cell(decision),
        ]);
        if !decision.is_empty() {
            gate_lines(&mut gates, step.step_seq, decision, field);
        }
    }
    for column in 2..5 {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut text = format!("\nSteps ({}):\n{}", steps.len(), super::table_text(&table));
    if !gates.is_empty() {
        let _ = write!(text, "\nGate reports:\n{gates}");
    }
    text
}

/// The eval verdicts' table, or nothing when the trace has none.
fn evals_text(evals: &[EvalRecord]) -> String {
    if evals.is_empty() {
        return String::new();
    }
    let mut table = super::plain_table(&[
        "step_seq",
        "decision",
        "scores",
        "reasons",
        "revision_instructions",
    ]);
    for eval in evals {
        table.add_row(vec![
            eval.step_seq.to_string(),
            eval.decision.to_string(),
            eval.scores
                .as_ref()
                .map(traceflow::python_json::scores_to_string)
                .unwrap_or_default(),
            super::cell(
                &eval
                    .reasons
                    .as_ref()
                    .map(|r| r.join("; "))
                    .unwrap_or_default(),
            ),
            super::cell(eval.revision_instructions.as_deref().unwrap_or_default()),
        ]);
    }
    format!("\nEvals ({}):\n{}", evals.len(), super::table_text(&table))
}

/// A trace by its id, or by the start of it as the trend table shows it
/// (`1fdd2dd8...`), when only one trace starts so.
fn find(store: &dyn ReadStore, db: &StoreSpec, id: &str) -> anyhow::Result<Option<TraceRecord>> {
    if let Some(trace) = store.get_trace(id)? {
        return Ok(Some(trace));
    }
    let prefix = id.trim_end_matches("...").trim_end_matches('…');
    if prefix.is_empty() {
        return Ok(None);
    }
    let mut found = store.find_trace_ids(prefix, 2)?;
    // TraceFlow Lite's ids are lower-case hex; a pasted upper-case id is
    // the same id.
    let lower = prefix.to_ascii_lowercase();
    if found.is_empty() && lower != prefix {
        if let Some(trace) = store.get_trace(&lower)? {
            return Ok(Some(trace));
        }
        found = store.find_trace_ids(&lower, 2)?;
    }
    match found.as_slice() {
        [one] => Ok(store.get_trace(one)?),
        [] => Ok(None),
        _ => bail!("{db}: more than one trace starts with {prefix:?}; give more of the id"),
    }
}

/// An evaluator step's gate report, one indented line per part present.
fn gate_lines<'a>(
    out: &mut String,
    step_seq: i64,
    decision: &str,
    field: impl Fn(&str) -> Option<&'a serde_json::Value>,
) {
    let _ = writeln!(out, "  step {step_seq}: {}", super::cell(decision));
    if let Some(reasons) = field("reasons").and_then(|r| r.as_array()) {
        let reasons: Vec<&str> = reasons.iter().filter_map(|r| r.as_str()).collect();
        if !reasons.is_empty() {
            let _ = writeln!(out, "    reasons:  {}", super::cell(&reasons.join("; ")));
        }
    }
    if let Some(scores) = field("scores").and_then(|s| s.as_object()) {
        let scores: Vec<String> = scores.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !scores.is_empty() {
            let _ = writeln!(out, "    scores:   {}", super::cell(&scores.join(", ")));
        }
    }
    if let Some(text) = field("revision_instructions").and_then(|r| r.as_str()) {
        let _ = writeln!(out, "    revision: {}", super::cell(text));
    }
}

fn header(trace: &TraceRecord) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "Trace {}", trace.trace_id);
    let _ = writeln!(text, "Status:   {}", trace.status);
    let _ = writeln!(
        text,
        "Mode:     {} ({})",
        trace.mode, trace.config.strictness
    );
    let _ = writeln!(text, "Model:    {} / {}", trace.model, trace.provider);
    let _ = writeln!(text, "Started:  {}", trace.created_at);
    if let Some(finished) = trace.finished_at {
        let _ = writeln!(text, "Finished: {finished}");
    }
    let _ = writeln!(text, "Input:    {}", trace.user_input);
    if let Some(answer) = &trace.final_answer {
        let _ = writeln!(text, "Answer:   {answer}");
    }
    if let Some(error) = &trace.error {
        let _ = writeln!(text, "Error:    {error}");
    }
    text
}
