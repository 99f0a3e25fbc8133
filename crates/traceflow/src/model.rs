//! TraceFlow Lite's records, with the field names and stored spellings of its
//! Python SDK (`tf_types.py`).
//!
//! Enums are stored as their lower-case values. Reading accepts any letter
//! case (`PASS`, `Done`), since other writers use upper case.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A value that is not one of an enum's stored spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected one of: {expected})")]
pub struct UnknownValue {
    /// What was being parsed (`decision`, `status`, ...).
    pub kind: &'static str,
    /// The value as found.
    pub value: String,
    /// The accepted spellings, comma-separated.
    pub expected: &'static str,
}

/// Defines a string-backed enum with its stored spellings, case-insensitive
/// parsing, `Display`, serde and SQLite conversions.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling TraceFlow Lite stores.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim();
                $( if s.eq_ignore_ascii_case($text) { return Ok($name::$variant); } )+
                Err(UnknownValue {
                    kind: $kind,
                    value: s.to_owned(),
                    expected: concat!($($text, " "),+).trim_ascii_end(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum! {
    /// The eval gate's verdict on one attempt.
    EvalDecision, "decision" {
        /// The answer passed every check.
        Pass => "pass",
        /// The answer failed a check and is regenerated.
        Revise => "revise",
        /// The answer failed at the revision limit; a fallback answer is used.
        Fallback => "fallback",
    }
}

stored_enum! {
    /// A run's overall status (not the eval decision).
    RunStatus, "status" {
        /// Still executing: no outcome yet.
        Running => "running",
        /// Finished without an exception.
        Done => "done",
        /// Ended with an exception; `error` says which.
        Failed => "failed",
    }
}

stored_enum! {
    /// The workflow, output contract and eval gate a run uses.
    Mode, "mode" {
        /// Answers grounded in retrieved sources, with citations.
        GroundedQa => "grounded_qa",
        /// A numbered plan or structured triage.
        TriagePlan => "triage_plan",
        /// A change review that flags risky operations.
        ChangeSafety => "change_safety",
        /// Results OpenTelemetry GenAI evaluation events carried
        /// (`traceflow import`; the modes below likewise name the eval tool
        /// whose results were imported).
        Otlp => "otlp",
        /// Results promptfoo wrote.
        Promptfoo => "promptfoo",
        /// Results Inspect AI wrote.
        Inspect => "inspect",
        /// Results DeepEval wrote.
        Deepeval => "deepeval",
        /// Results a JUnit XML report held.
        Junit => "junit",
        /// Results in traceflow's own JSON lines.
        Jsonl => "jsonl",
    }
}

stored_enum! {
    /// How hard the eval gate is.
    Strictness, "strictness" {
        /// Fewest checks.
        Lenient => "lenient",
        /// The default.
        Balanced => "balanced",
        /// Risky changes fail the gate.
        Strict => "strict",
    }
}

impl RunStatus {
    /// Whether the run has an outcome (`done` or `failed`).
    pub fn is_finished(self) -> bool {
        !matches!(self, RunStatus::Running)
    }
}

/// A run's configuration, stored as `traces.config_json`.
///
/// Field order and names follow TraceFlow Lite's `RunConfig` dataclass, whose
/// constructor rejects unknown keys: traceflow writes only these. Keys written
/// by other tools are kept in `extra` when reading, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// The workflow.
    pub mode: Mode,
    /// How hard the eval gate is.
    pub strictness: Strictness,
    /// Model name, e.g. `gpt-4o-mini`.
    pub model: String,
    /// Provider name, e.g. `openai`.
    pub provider: String,
    /// Attempts before the gate falls back.
    pub max_revisions: i64,
    /// Latency budget per attempt, in milliseconds.
    pub max_latency_ms: Option<i64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Retrieved chunks per query.
    pub top_k: Option<i64>,
    /// Whether LLM responses are cached.
    pub enable_cache: bool,
    /// Completion token limit.
    pub max_tokens: i64,
    /// Cost budget per run, in US dollars.
    pub max_cost_usd: Option<f64>,
    /// Keys TraceFlow Lite does not define, kept as found.
    #[serde(flatten, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Default for RunConfig {
    /// TraceFlow Lite's defaults.
    fn default() -> Self {
        RunConfig {
            mode: Mode::GroundedQa,
            strictness: Strictness::Balanced,
            model: "gpt-3.5-turbo".to_owned(),
            provider: "openai".to_owned(),
            max_revisions: 3,
            max_latency_ms: Some(30_000),
            temperature: Some(0.2),
            top_k: Some(5),
            enable_cache: true,
            max_tokens: 1024,
            max_cost_usd: Some(1.5),
            extra: BTreeMap::new(),
        }
    }
}

/// One agent run: a row of `traces`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Unique id (TraceFlow Lite uses a UUID).
    pub trace_id: String,
    /// Running, done or failed.
    pub status: RunStatus,
    /// The workflow.
    pub mode: Mode,
    /// The user's request.
    pub user_input: String,
    /// The run's configuration (`config_json`).
    pub config: RunConfig,
    /// Model name.
    pub model: String,
    /// Provider name.
    pub provider: String,
    /// The answer returned, if any.
    pub final_answer: Option<String>,
    /// The exception text of a failed run.
    pub error: Option<String>,
    /// When the run started.
    pub created_at: Timestamp,
    /// When the run reached `done` or `failed`.
    pub finished_at: Option<Timestamp>,
}

/// A status change of a run, as TraceFlow Lite's `update_trace` applies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceUpdate {
    /// The new status; `done` and `failed` also set `finished_at`.
    pub status: RunStatus,
    /// The answer returned, if any.
    pub final_answer: Option<String>,
    /// The exception text of a failed run.
    pub error: Option<String>,
}

/// One executed graph node: a row of `trace_steps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The run this step belongs to.
    pub trace_id: String,
    /// Position in the run, consecutive from 0.
    pub step_seq: i64,
    /// `intake`, `planner`, `retriever`, `executor`, `evaluator` or `router`.
    pub node_name: String,
    /// The node's input (`input_json`); `None` when empty.
    pub input: Option<serde_json::Value>,
    /// The node's output (`output_json`); for `evaluator` the gate's report.
    pub output: Option<serde_json::Value>,
    /// Tokens used.
    pub tokens: i64,
    /// Wall time, in milliseconds (fractional in practice).
    pub latency_ms: f64,
    /// Cost, in US dollars.
    pub cost_usd: f64,
    /// Error text, if the node failed.
    pub error: Option<String>,
    /// Whether the LLM response came from the cache.
    pub cache_hit: bool,
    /// When the step was recorded.
    pub created_at: Timestamp,
}

/// One eval gate verdict: a row of `trace_evals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// The run this verdict belongs to.
    pub trace_id: String,
    /// The evaluator step's `step_seq`.
    pub step_seq: i64,
    /// Pass, revise or fallback.
    pub decision: EvalDecision,
    /// Why (`reasons_json`).
    pub reasons: Option<Vec<String>>,
    /// Named scores (`scores_json`); `None` values are JSON `null`, and
    /// non-finite values (Python's `NaN`, `Infinity`) are kept as found.
    pub scores: Option<BTreeMap<String, Option<f64>>>,
    /// What the executor is told to change on REVISE.
    pub revision_instructions: Option<String>,
    /// When the verdict was recorded.
    pub created_at: Timestamp,
}

/// The prefix of the scores-object keys that record whether one evaluation
/// passed (1) or failed (0): `passed:<name>`, which `traceflow import`
/// writes beside each evaluation's score. They are indicators, not scores:
/// `avg-score` leaves them out, and `pass-rate.<name>` trends them.
pub const PASSED_PREFIX: &str = "passed:";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_any_case_and_store_lower_case() {
        assert_eq!("PASS".parse::<EvalDecision>(), Ok(EvalDecision::Pass));
        assert_eq!(" Revise ".parse::<EvalDecision>(), Ok(EvalDecision::Revise));
        assert_eq!("Done".parse::<RunStatus>(), Ok(RunStatus::Done));
        assert_eq!(EvalDecision::Fallback.to_string(), "fallback");
        assert_eq!(Mode::ChangeSafety.as_str(), "change_safety");
    }

    #[test]
    fn unknown_spelling_names_what_was_expected() {
        let err = "maybe".parse::<EvalDecision>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown decision "maybe" (expected one of: pass revise fallback)"#
        );
        assert!("success".parse::<RunStatus>().is_err());
    }

    #[test]
    fn run_config_round_trips_python_json_and_keeps_unknown_keys() {
        let text = r#"{"mode": "triage_plan", "strictness": "strict", "model": "m", "provider": "p", "max_revisions": 2, "max_latency_ms": null, "temperature": 0.5, "top_k": 5, "enable_cache": false, "max_tokens": 10, "max_cost_usd": 1.5, "git_sha": "abc"}"#;
        let config: RunConfig = serde_json::from_str(text).unwrap();
        assert_eq!(config.mode, Mode::TriagePlan);
        assert_eq!(config.max_latency_ms, None);
        assert_eq!(config.extra["git_sha"], "abc");
        let back: RunConfig =
            serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn run_config_fills_missing_keys_with_defaults() {
        let config: RunConfig = serde_json::from_str(r#"{"model": "x"}"#).unwrap();
        assert_eq!(config.model, "x");
        assert_eq!(config.max_revisions, 3);
    }
}
