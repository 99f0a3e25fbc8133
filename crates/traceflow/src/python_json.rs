//! JSON as Python's `json` module reads and writes it.
//!
//! `json.dumps` writes `{"a": 1, "b": [1, 2]}` (a space after `:` and `,`)
//! and the bare tokens `NaN`, `Infinity` and `-Infinity` for non-finite
//! floats, which are not JSON. Reading tries strict JSON first (fast, and what
//! almost every row holds) and falls back to JSON5, which has those tokens.

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// A JSON column value that neither JSON nor Python's extensions can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON: {message}")]
pub struct JsonError {
    /// The parser's message, with its line and column.
    pub message: String,
}

/// Parses a JSON column, accepting Python's `NaN`, `Infinity`, `-Infinity`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(strict) => {
            if text.contains("NaN") || text.contains("Infinity") {
                if let Ok(value) = json5::from_str(text) {
                    return Ok(value);
                }
            }
            Err(JsonError {
                message: strict.to_string(),
            })
        }
    }
}

/// Serializes as Python's `json.dumps` with default arguments does, except
/// that non-ASCII text is written as UTF-8 rather than `\u` escapes (Python
/// reads both).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    match value.serialize(&mut serializer) {
        // serde_json writes valid UTF-8 by construction.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        // Only a map with non-string keys fails, and the model has none.
        Err(_) => String::from("null"),
    }
}

/// `json.dumps` separators.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Serializes named scores as `json.dumps` does, non-finite values
/// included: Python writes them as `NaN`, `Infinity` and `-Infinity`, which
/// serde_json would turn into `null` and so lose. `None` is `null`.
pub fn scores_to_string(scores: &BTreeMap<String, Option<f64>>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in scores.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&to_string(name));
        out.push_str(": ");
        let Some(value) = value else {
            out.push_str("null");
            continue;
        };
        if value.is_nan() {
            out.push_str("NaN");
        } else if value.is_infinite() {
            out.push_str(if *value > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            });
        } else {
            out.push_str(&to_string(value));
        }
    }
    out.push('}');
    out
}

/// What a `scores` object contributes to an average: the sum and count of
/// its finite values.
///
/// Deserializing never fails on content: a value that is not a number or
/// `null` marks the object [`invalid`](Self::invalid) and is skipped, so the
/// row's decision can still be used. Only a syntax error fails.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScoreSummary {
    /// Sum of the finite values.
    pub sum: f64,
    /// How many finite values there were.
    pub finite: u32,
    /// Whether the value was not an object of numbers (the sum then is 0).
    pub invalid: bool,
}

impl ScoreSummary {
    /// Adds another object's values.
    pub fn absorb(&mut self, other: ScoreSummary) {
        self.sum += other.sum;
        self.finite += other.finite;
        self.invalid |= other.invalid;
    }

    /// The mean of the finite values, `None` when there are none.
    pub fn mean(&self) -> Option<f64> {
        (self.finite > 0).then(|| self.sum / f64::from(self.finite))
    }
}

impl<'de> Deserialize<'de> for ScoreSummary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScoresVisitor)
    }
}

struct ScoresVisitor;

impl ScoresVisitor {
    fn not_an_object<E>() -> Result<ScoreSummary, E> {
        Ok(ScoreSummary {
            invalid: true,
            ..ScoreSummary::default()
        })
    }
}

impl<'de> Visitor<'de> for ScoresVisitor {
    type Value = ScoreSummary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of named scores")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScoreSummary, A::Error> {
        let mut summary = ScoreSummary::default();
        while let Some(ScoreKey { indicator }) = map.next_key::<ScoreKey>()? {
            match map.next_value::<ScoreValue>()? {
                // An evaluation's pass (1) or fail (0) is not a score.
                ScoreValue::Number(_) if indicator => {}
                ScoreValue::Number(v) if v.is_finite() => {
                    summary.sum += v;
                    summary.finite += 1;
                }
                ScoreValue::Number(_) | ScoreValue::Null => {}
                ScoreValue::Other => summary.invalid = true,
            }
        }
        if summary.invalid {
            return Self::not_an_object();
        }
        Ok(summary)
    }

    // `null` means no scores, as Python's `None` does.
    fn visit_unit<E: de::Error>(self) -> Result<ScoreSummary, E> {
        Ok(ScoreSummary::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<ScoreSummary, E> {
        Ok(ScoreSummary::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<ScoreSummary, E> {
        Self::not_an_object()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<ScoreSummary, E> {
        Self::not_an_object()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<ScoreSummary, E> {
        Self::not_an_object()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<ScoreSummary, E> {
        Self::not_an_object()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<ScoreSummary, E> {
        Self::not_an_object()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScoreSummary, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_an_object()
    }
}

/// A scores object's key: whether it records an evaluation's pass or fail
/// (`passed:<name>`, [`crate::model::PASSED_PREFIX`]) rather than a score.
struct ScoreKey {
    indicator: bool,
}

impl<'de> Deserialize<'de> for ScoreKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ScoreKeyVisitor)
    }
}

struct ScoreKeyVisitor;

impl<'de> Visitor<'de> for ScoreKeyVisitor {
    type Value = ScoreKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a score's name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<ScoreKey, E> {
        Ok(ScoreKey {
            indicator: key.starts_with(crate::model::PASSED_PREFIX),
        })
    }
}

/// One score value: a number, `null`, or anything else (not a score).
enum ScoreValue {
    Number(f64),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for ScoreValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScoreValueVisitor)
    }
}

struct ScoreValueVisitor;

impl<'de> Visitor<'de> for ScoreValueVisitor {
    type Value = ScoreValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a score")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ScoreValue, E> {
        Ok(ScoreValue::Number(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ScoreValue, E> {
        Ok(ScoreValue::Number(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ScoreValue, E> {
        Ok(ScoreValue::Number(v as f64))
    }

    fn visit_unit<E: de::Error>(self) -> Result<ScoreValue, E> {
        Ok(ScoreValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<ScoreValue, E> {
        Ok(ScoreValue::Null)
    }

    // Python's bool is an int, but `True` is not a score.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<ScoreValue, E> {
        Ok(ScoreValue::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<ScoreValue, E> {
        Ok(ScoreValue::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ScoreValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ScoreValue::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ScoreValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ScoreValue::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluations_pass_or_fail_is_not_a_score() {
        let scores: ScoreSummary =
            from_str(r#"{"accuracy": 0.5, "passed:accuracy": 1, "passed:tone": 0, "b": 0.25}"#)
                .unwrap();
        assert_eq!(
            (scores.sum, scores.finite, scores.invalid),
            (0.75, 2, false)
        );
        // With Python's tokens too (the JSON5 reader).
        let scores: ScoreSummary = from_str(r#"{"a": NaN, "passed:a": 1, "b": 0.5}"#).unwrap();
        assert_eq!((scores.sum, scores.finite), (0.5, 1));
    }

    #[test]
    fn reads_python_non_finite_tokens() {
        let scores: BTreeMap<String, f64> =
            from_str(r#"{"a": NaN, "b": Infinity, "c": -Infinity, "d": 0.5}"#).unwrap();
        assert!(scores["a"].is_nan());
        assert_eq!(scores["b"], f64::INFINITY);
        assert_eq!(scores["c"], f64::NEG_INFINITY);
        assert_eq!(scores["d"], 0.5);
    }

    #[test]
    fn malformed_json_reports_the_strict_parser_message() {
        let err = from_str::<serde_json::Value>(r#"{"cost": 1.0,"#).unwrap_err();
        assert!(err.to_string().starts_with("malformed JSON: "), "{err}");
        assert!(err.to_string().contains("column"), "{err}");
    }

    #[test]
    fn writes_like_python_json_dumps() {
        assert_eq!(
            to_string(&serde_json::json!({"a": [1, "x"], "b": 0.5})),
            r#"{"a": [1, "x"], "b": 0.5}"#
        );
    }

    #[test]
    fn scores_keep_non_finite_values_as_python_writes_them() {
        let scores: BTreeMap<String, Option<f64>> = [
            ("cost".to_owned(), Some(1.0)),
            ("gone".to_owned(), None),
            ("latency".to_owned(), Some(f64::NAN)),
            ("x\"y".to_owned(), Some(f64::NEG_INFINITY)),
        ]
        .into();
        let text = scores_to_string(&scores);
        assert_eq!(
            text,
            r#"{"cost": 1.0, "gone": null, "latency": NaN, "x\"y": -Infinity}"#
        );
        let back: BTreeMap<String, Option<f64>> = from_str(&text).unwrap();
        assert_eq!(back["cost"], Some(1.0));
        assert_eq!(back["gone"], None);
        assert!(back["latency"].unwrap().is_nan());
        assert_eq!(back["x\"y"], Some(f64::NEG_INFINITY));
    }

    #[test]
    fn score_summary_counts_finite_numbers_only() {
        let s: ScoreSummary = from_str(r#"{"a": 1, "b": 0.5, "c": NaN, "d": null}"#).unwrap();
        assert_eq!(s.finite, 2);
        assert_eq!(s.mean(), Some(0.75));
        assert!(!s.invalid);
        let none: ScoreSummary = from_str("null").unwrap();
        assert_eq!(none.mean(), None);
        assert!(!none.invalid);
    }

    #[test]
    fn score_summary_marks_non_numbers_invalid_without_failing() {
        for text in [
            r#"{"cost": "high"}"#,
            r#"{"ok": true}"#,
            "[1, 2]",
            "3",
            r#"{"a": {"b": 1}}"#,
        ] {
            let s: ScoreSummary = from_str(text).unwrap();
            assert!(s.invalid, "{text}");
            assert_eq!(s.finite, 0, "{text}");
        }
    }
}
