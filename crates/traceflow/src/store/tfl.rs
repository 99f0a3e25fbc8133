//! TraceFlow Lite's reading rules, on text: how its JSON columns hold a
//! run's config, a verdict's scores and an evaluator step's gate report.
//! Every backend reads them alike (the SQLite store and the in-memory one
//! here; a server store may answer the same in SQL). The decision-source
//! rule (trace_evals, else evaluator steps, else the status) is
//! [`TraceFacts`](super::TraceFacts)'s; decisions are read in any letter
//! case, timestamps by [`crate::timestamp`], Python's JSON by [`crate::python_json`].

use serde::Deserialize;

use crate::model::EvalDecision;
use crate::python_json::{self, ScoreSummary};

/// Whether a step's `node_name` is the evaluator's (in any letter case):
/// its `output_json` is the gate report.
pub fn is_evaluator(node_name: &str) -> bool {
    node_name.eq_ignore_ascii_case("evaluator")
}

/// A step's usage value (`tokens`, `latency_ms`, `cost_usd`), which must be
/// finite: a NaN or an infinity would poison its trace's sum and the run's
/// mean, so its row is reported instead.
pub fn finite(number: f64, column: &str) -> Result<f64, String> {
    if number.is_finite() {
        Ok(number)
    } else {
        Err(format!("{column}: {number} is not a finite number"))
    }
}

/// The values of `keys` in a `config_json` text: strings as they are, other
/// JSON as its text, `None` for absent keys, nulls and unparsable configs.
/// Also says why, when the config is not a JSON object (the trace is kept,
/// its keys read as absent).
pub fn config_values(text: &str, keys: &[String]) -> (Vec<Option<String>>, Option<String>) {
    let (config, problem) = match python_json::from_str::<serde_json::Value>(text) {
        Ok(config @ serde_json::Value::Object(_)) => (config, None),
        Ok(_) => (
            serde_json::Value::Null,
            Some("config_json: not an object; its keys read as absent".to_owned()),
        ),
        Err(err) => (
            serde_json::Value::Null,
            Some(format!("config_json: {err}; its keys read as absent")),
        ),
    };
    let values = keys
        .iter()
        .map(|key| config_value(config.get(key).cloned()))
        .collect();
    (values, problem)
}

/// A config key's value as runs and segments are keyed on it: a string as
/// it is, other JSON as its compact text, `None` when absent or null.
pub fn config_value(value: Option<serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

/// The finite values of `names` in a JSON object's text (or in its member
/// `inside`), `None` for each one absent or not a finite number.
pub fn named_scores(text: &str, inside: Option<&str>, names: &[String]) -> Vec<Option<f64>> {
    let value = python_json::from_str::<serde_json::Value>(text).unwrap_or_default();
    let scores = match inside {
        Some(key) => value.get(key).cloned().unwrap_or_default(),
        None => value,
    };
    names
        .iter()
        .map(|name| {
            scores
                .get(name)
                .and_then(serde_json::Value::as_f64)
                .filter(|v| v.is_finite())
        })
        .collect()
}

/// Scores of a row, or why they cannot be used (the decision still counts).
pub fn scores_of(text: Option<&str>, column: &str) -> (ScoreSummary, Option<String>) {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return (ScoreSummary::default(), None);
    };
    match python_json::from_str::<ScoreSummary>(text) {
        Ok(scores) if scores.invalid => (
            ScoreSummary::default(),
            Some(format!("{column}: not an object of numbers")),
        ),
        Ok(scores) => (scores, None),
        Err(err) => (ScoreSummary::default(), Some(format!("{column}: {err}"))),
    }
}

/// A gate report's verdict: decision, scores, why the scores are unusable.
pub type Verdict = (EvalDecision, ScoreSummary, Option<String>);

/// The part of an evaluator step's `output_json` that holds the verdict.
#[derive(Deserialize)]
struct EvaluatorOutput {
    decision: Option<String>,
    #[serde(default)]
    scores: ScoreSummary,
}

/// Reads the verdict from an evaluator step's `output_json`.
pub fn parse_gate_report(text: &str) -> Result<Verdict, String> {
    let output: EvaluatorOutput =
        python_json::from_str(text).map_err(|e| format!("output_json: {e}"))?;
    let decision = output
        .decision
        .ok_or_else(|| "output_json: no \"decision\" field".to_owned())?
        .parse::<EvalDecision>()
        .map_err(|e| format!("output_json: {e}"))?;
    if output.scores.invalid {
        Ok((
            decision,
            ScoreSummary::default(),
            Some("output_json: scores is not an object of numbers".to_owned()),
        ))
    } else {
        Ok((decision, output.scores, None))
    }
}
