//! Other eval tools' results, read into TraceFlow Lite's layout
//! (`traceflow import`).
//!
//! Each format's reader turns a file into [`CaseResult`]s — one per case
//! asked once in a run — and [`write()`] stores them as traces: a trace per
//! case execution, its pass or fail as one gate decision, every
//! evaluation's score in that decision's scores, the source's run, case and
//! repeat in its `config_json` (so `--group-by run` and `--case-by case`
//! read them, and every command, `push` and the Python package work
//! unchanged). `docs/import.md` gives each format's mapping.
//!
//! A result's source identity (format, run, case, repeat) is its trace id:
//! importing a file again changes nothing, and a file that grew adds only
//! what is new.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

mod batch;
mod deepeval;
#[cfg(test)]
mod fixtures;
mod inspect;
mod jsonl;
mod judging;
mod junit;
mod otlp;
mod promptfoo;
mod write;

pub use batch::{
    import, parse_label, read, read_with, Content, FileError, FileReport, ImportError,
    ImportOptions, ImportReport, Input, Known, ReadFiles,
};
pub use judging::Judging;
pub use write::{identity, write, Written, RESERVED_KEYS};

/// A format `import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OTLP/JSON (the Collector's file exporter): `gen_ai.evaluation.result`
    /// events.
    Otlp,
    /// promptfoo's `-o` JSON (and the `.jsonl` it streams).
    Promptfoo,
    /// Inspect AI's `.eval` (zip) and `.json` logs.
    Inspect,
    /// DeepEval's `test_run_*.json`.
    Deepeval,
    /// JUnit XML from any runner.
    Junit,
    /// traceflow's own record format: one result per line
    /// (`schema/import-record.schema.json`).
    Jsonl,
}

impl Format {
    /// Every format, in the order detection tries them.
    pub const ALL: [Format; 6] = [
        Format::Inspect,
        Format::Junit,
        Format::Otlp,
        Format::Promptfoo,
        Format::Deepeval,
        Format::Jsonl,
    ];

    /// The name `--format` takes and traces record (`mode`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Otlp => "otlp",
            Format::Promptfoo => "promptfoo",
            Format::Inspect => "inspect",
            Format::Deepeval => "deepeval",
            Format::Junit => "junit",
            Format::Jsonl => "jsonl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = crate::error::InvalidValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                crate::error::InvalidValue::new(format!(
                    "unknown import format {text:?} (expected one of: otlp, promptfoo, inspect, deepeval, junit, jsonl)"
                ))
            })
    }
}

/// One case asked once in a run, with what its evaluations found.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The source's run (an eval id, a run id, a suite's timestamp).
    pub run: String,
    /// The source's case (a test's id or name).
    pub case: String,
    /// Which asking of the case in the run (Inspect's epoch; 0 when the
    /// source has one).
    pub repeat: u32,
    /// When the case was asked (else its run started).
    pub at: Timestamp,
    /// Whether the case execution passed. See each format for its rule;
    /// without one, every evaluation that says pass or fail passed.
    pub passed: bool,
    /// The error that stopped it, if any (the trace is then `failed`).
    pub error: Option<String>,
    /// Every evaluation of the execution, by name, in the source's order.
    pub evaluations: Vec<Evaluation>,
    /// The model evaluated.
    pub model: Option<String>,
    /// The case's input, as text.
    pub input: Option<String>,
    /// The answer evaluated, as text.
    pub output: Option<String>,
    /// Cost in US dollars.
    pub cost_usd: Option<f64>,
    /// Wall time in milliseconds.
    pub latency_ms: Option<f64>,
    /// Tokens used.
    pub tokens: Option<i64>,
    /// Values the source attaches (JUnit properties, a promptfoo test's
    /// metadata), kept in `config_json`.
    pub labels: BTreeMap<String, String>,
}

impl CaseResult {
    /// A result that passed, with nothing else known.
    pub fn new(run: impl Into<String>, case: impl Into<String>, at: Timestamp) -> CaseResult {
        CaseResult {
            run: run.into(),
            case: case.into(),
            repeat: 0,
            at,
            passed: true,
            error: None,
            evaluations: Vec::new(),
            model: None,
            input: None,
            output: None,
            cost_usd: None,
            latency_ms: None,
            tokens: None,
            labels: BTreeMap::new(),
        }
    }

    /// Passed unless an evaluation that says pass or fail failed, or an
    /// error stopped it.
    pub fn passed_by_evaluations(&self) -> bool {
        self.error.is_none() && self.evaluations.iter().all(|e| e.passed != Some(false))
    }
}

/// One evaluation of a case execution: an assertion, a metric, a scorer.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Its name (`score.<name>` trends its score).
    pub name: String,
    /// Its score, if numeric and finite.
    pub score: Option<f64>,
    /// Whether it passed, where it says.
    pub passed: Option<bool>,
    /// Why, in the evaluator's words.
    pub explanation: Option<String>,
    /// The evaluator's word for its verdict, as given (`relevant`, `C`),
    /// if any: `import --pass-label`/`--fail-label` rules read it.
    pub label: Option<String>,
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// Its results, in the file's order.
    pub results: Vec<CaseResult>,
    /// What the reader noticed and the user should know (a log that did
    /// not finish, a time taken from the file's name).
    pub notes: Vec<String>,
}

/// A file as a reader sees it.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Its name, for messages and formats that keep facts in it (DeepEval's
    /// `test_run_YYYYMMDD_HHMMSS.json`).
    pub name: &'a str,
    /// When it was last modified, if known (a time of last resort).
    pub modified: Option<Timestamp>,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// Why a file's content cannot be imported: the record and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", record.as_ref().map(|r| format!("{r}: ")).unwrap_or_default())]
pub struct Invalid {
    /// The record (`line 3`, `results[4]`, `testcase 2`), if one is at
    /// fault.
    pub record: Option<String>,
    /// What is wrong with it.
    pub message: String,
}

impl Invalid {
    /// A fault of the whole file.
    pub fn file(message: impl Into<String>) -> Invalid {
        Invalid {
            record: None,
            message: message.into(),
        }
    }

    /// A fault of one record.
    pub fn at(record: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            record: Some(record.into()),
            message: message.into(),
        }
    }
}

/// Reads a file in a given format.
pub fn parse(format: Format, source: Source<'_>) -> Result<Parsed, Invalid> {
    match format {
        Format::Otlp => otlp::parse(source),
        Format::Promptfoo => promptfoo::parse(source),
        Format::Inspect => inspect::parse(source),
        Format::Deepeval => deepeval::parse(source),
        Format::Junit => junit::parse(source),
        Format::Jsonl => jsonl::parse(source),
    }
}

/// The format of a file, from its content (and, for DeepEval's and
/// promptfoo's JSON, which share JSON's shape, their keys); `None` when it
/// is in no format `import` reads.
pub fn detect(source: Source<'_>) -> Option<Format> {
    Format::ALL.into_iter().find(|&format| match format {
        Format::Otlp => otlp::sniff(source),
        Format::Promptfoo => promptfoo::sniff(source),
        Format::Inspect => inspect::sniff(source),
        Format::Deepeval => deepeval::sniff(source),
        Format::Junit => junit::sniff(source),
        Format::Jsonl => jsonl::sniff(source),
    })
}

/// The file's first JSON value, if it is an object: the whole object of a
/// JSON file, the first line of a JSON-lines file. What the JSON formats'
/// sniffers look at: its keys, and two levels deep only the shape —
/// an object's values below the top level are `null`, an array is empty
/// (the whole value is still read and checked, but not kept: building it
/// cost a file's own parse again, for every format tried).
///
/// An object that does not read as values (a number out of range, a string
/// not UTF-8 inside it) still gives its keys, each mapped to `null`: the
/// format its keys say is then read, and its reader names the record at
/// fault, rather than the file being in no format.
pub(crate) fn first_object(bytes: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<Shallow<2>>();
    match values.next()? {
        Ok(Shallow(serde_json::Value::Object(object))) => Some(object),
        Ok(_) => None,
        Err(_) => {
            let mut keys = serde_json::Deserializer::from_slice(bytes)
                .into_iter::<BTreeMap<String, serde::de::IgnoredAny>>();
            let keys = keys.next()?.ok()?;
            Some(
                keys.into_keys()
                    .map(|key| (key, serde_json::Value::Null))
                    .collect(),
            )
        }
    }
}

/// A JSON value kept `DEPTH` levels deep: below, objects and arrays are
/// read through, and kept as `null`.
struct Shallow<const DEPTH: u8>(serde_json::Value);

impl<'de, const DEPTH: u8> serde::Deserialize<'de> for Shallow<DEPTH> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        use serde_json::Value;

        struct V<const DEPTH: u8>;
        impl<'de, const DEPTH: u8> Visitor<'de> for V<DEPTH> {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(v.into())
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(v.into())
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::String(v.to_owned()))
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Value::Array(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
                let mut object = serde_json::Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = match DEPTH {
                        0 => {
                            map.next_value::<IgnoredAny>()?;
                            Value::Null
                        }
                        1 => map.next_value::<Shallow<0>>()?.0,
                        _ => map.next_value::<Shallow<1>>()?.0,
                    };
                    object.insert(key, value);
                }
                Ok(Value::Object(object))
            }
        }
        deserializer.deserialize_any(V::<DEPTH>).map(Shallow)
    }
}

/// Whether a label says pass (`pass`, `passed`, `correct`, `relevant`,
/// `true`, `yes`, `success`), fail (`fail`, `failed`, `incorrect`,
/// `not_relevant`, `irrelevant`, `false`, `no`, `failure`, `error`), or
/// neither (`None`), in any letter case.
pub fn label_passes(label: &str) -> Option<bool> {
    const PASS: &[&str] = &[
        "pass", "passed", "correct", "relevant", "true", "yes", "success", "ok",
    ];
    const FAIL: &[&str] = &[
        "fail",
        "failed",
        "incorrect",
        "not_relevant",
        "irrelevant",
        "false",
        "no",
        "failure",
        "error",
    ];
    let label = label.trim();
    if PASS.iter().any(|p| p.eq_ignore_ascii_case(label)) {
        Some(true)
    } else if FAIL.iter().any(|f| f.eq_ignore_ascii_case(label)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: &[u8]) -> Source<'_> {
        Source {
            name: "x.jsonl",
            modified: None,
            bytes,
        }
    }

    #[test]
    fn a_bad_value_in_the_first_record_does_not_hide_the_format() {
        let lines: [&[u8]; 3] = [
            br#"{"run":"r","case":"c","time":"2026-12-07T23:44:19Z","passed":true,"latency_ms":1e400}"#,
            b"{\"run\":\"r\",\"case\":\"\xff\",\"time\":\"2026-12-07T23:44:19Z\",\"passed\":true}",
            br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":1e400}]}]}]}"#,
        ];
        let formats = [Format::Jsonl, Format::Jsonl, Format::Otlp];
        for (bytes, format) in lines.into_iter().zip(formats) {
            assert_eq!(detect(source(bytes)), Some(format));
            let err = parse(format, source(bytes)).unwrap_err();
            assert_eq!(err.record.as_deref(), Some("line 1"), "{err}");
        }
        assert_eq!(detect(source(b"[1e400]")), None);
        assert_eq!(detect(source(b"{\"run\": NaN")), None);
    }

    #[test]
    fn keeps_the_keys_and_the_shape_the_sniffers_read() {
        let text = br#"{"eval": {"run_id": "r", "task": {"deep": [1, {"x": 2}]}},
            "testCases": [{"name": "a"}], "version": 3, "evalId": "e"}
            {"second": true}"#;
        let object = first_object(text).unwrap();
        assert!(object["testCases"].is_array());
        let eval = object["eval"].as_object().unwrap();
        assert!(eval.contains_key("run_id") && eval.contains_key("task"));
        assert_eq!(object["version"], 3);
        assert!(!object.contains_key("second"));
        assert!(first_object(br#"{"a": [1, 2"#).is_none(), "truncated");
        assert!(first_object(b"[1, 2]").is_none(), "not an object");
    }
}
