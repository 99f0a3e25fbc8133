//! traceflow's own record format: one JSON object per line, one result per
//! object, for results no other reader knows (a ten-line script writes it).
//! `schema/import-record.schema.json` is its JSON Schema; this reader
//! accepts exactly what it accepts, and checks two things a schema cannot
//! say: evaluation names are unique within a record (across `evaluations`
//! and `scores`), and no two records share their `run`, `case` and
//! `repeat`.
//!
//! Required: `run`, `case` (strings), `time` (RFC 3339 with an offset:
//! `2026-12-07T23:44:19Z`, `...+01:00`) and `passed` (a boolean). Optional
//! (`null` is the same as absent): `repeat` (a non-negative integer, 0 by
//! default), `scores` (name → number: an evaluation with only a score),
//! `evaluations` (`{name, score?, passed?, label?, explanation?}`; a
//! `label` says pass or fail through [`super::label_passes`] when `passed`
//! is absent), `model`, `input`, `output`, `error` (strings; a record with
//! an `error` must not have passed), `cost_usd`, `latency_ms` (numbers ≥
//! 0), `tokens` (a non-negative integer), `labels` (string → string).
//! `run`, `case` and an evaluation's `name` are not empty. Any other key makes the line invalid: a typo must not pass silently.
//! Blank lines are skipped; errors name the line (`line 3: ...`).

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::Deserialize;

use super::{CaseResult, Evaluation, Invalid, Parsed, Source};

/// One line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    run: String,
    case: String,
    time: String,
    passed: bool,
    #[serde(default)]
    repeat: Option<serde_json::Number>,
    #[serde(default)]
    scores: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    evaluations: Option<Vec<RecordEvaluation>>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    cost_usd: Option<f64>,
    #[serde(default)]
    latency_ms: Option<f64>,
    #[serde(default)]
    tokens: Option<serde_json::Number>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// One of a line's `evaluations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordEvaluation {
    name: String,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    passed: Option<bool>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    explanation: Option<String>,
}

/// The file's lines: number (from 1) and bytes, without the line break (and
/// a `\r` before it) or, on the first line, a UTF-8 byte order mark.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix(b"\r").unwrap_or(line)))
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Whether the file is in this format: its first non-blank line is a JSON
/// object with `run`, `case` and `passed` keys.
///
/// A first line that is not JSON at all (Python's `json.dumps` writes `NaN`
/// and `Infinity` by default) is still this format when it is an object
/// naming the three keys: the reader then names the line and what is wrong.
pub(crate) fn sniff(source: Source<'_>) -> bool {
    let Some((_, line)) = lines(source.bytes).find(|(_, line)| !is_blank(line)) else {
        return false;
    };
    let keys = ["run", "case", "passed"];
    match super::first_object(line) {
        Some(object) => keys.iter().all(|k| object.contains_key(*k)),
        None => {
            line.trim_ascii_start().starts_with(b"{")
                && serde_json::from_slice::<serde_json::Value>(line).is_err()
                && keys.iter().all(|k| {
                    let quoted = format!("\"{k}\"");
                    line.windows(quoted.len()).any(|w| w == quoted.as_bytes())
                })
        }
    }
}

/// Reads the file.
pub(crate) fn parse(source: Source<'_>) -> Result<Parsed, Invalid> {
    let mut parsed = Parsed::default();
    let mut seen: HashMap<(String, String, u32), usize> = HashMap::new();
    for (number, line) in lines(source.bytes) {
        if is_blank(line) {
            continue;
        }
        let at = |message: String| Invalid::at(format!("line {number}"), message);
        let text = std::str::from_utf8(line).map_err(|e| {
            at(format!(
                "not UTF-8 (column {})",
                e.valid_up_to().saturating_add(1)
            ))
        })?;
        // serde reads a struct from an array too (`["r", "c", ...]`): only
        // an object is a record.
        if !text.trim_start().starts_with('{') {
            return Err(at("not a JSON object".to_owned()));
        }
        let record: Record = serde_json::from_str(text).map_err(|e| at(json_error(&e)))?;
        let result = result_of(record).map_err(at)?;
        let key = (result.run.clone(), result.case.clone(), result.repeat);
        if let Some(first) = seen.insert(key, number) {
            return Err(at(format!(
                "run {:?}, case {:?}, repeat {} again (first on line {first}): give each asking of a case its own repeat",
                result.run, result.case, result.repeat
            )));
        }
        parsed.results.push(result);
    }
    if parsed.results.is_empty() {
        parsed.notes.push("no records".to_owned());
    }
    Ok(parsed)
}

/// serde_json's message without its position in the line (always line 1),
/// with the column.
fn json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(message, _)| message);
    match error.column() {
        0 => message.to_owned(),
        column => format!("{message} (column {column})"),
    }
}

/// A record's result, or what is wrong with it.
fn result_of(record: Record) -> Result<CaseResult, String> {
    for (key, value) in [("run", &record.run), ("case", &record.case)] {
        if value.is_empty() {
            return Err(format!("{key} is empty"));
        }
    }
    let at = timestamp(&record.time)?;
    let mut result = CaseResult::new(record.run, record.case, at);
    result.passed = record.passed;
    if let Some(repeat) = record.repeat {
        result.repeat = integer(&repeat)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("repeat: {repeat} is not an integer in 0..=4294967295"))?;
    }
    if let Some(tokens) = record.tokens {
        result.tokens = Some(
            integer(&tokens)
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| format!("tokens: {tokens} is not a non-negative integer"))?,
        );
    }
    result.cost_usd = non_negative("cost_usd", record.cost_usd)?;
    result.latency_ms = non_negative("latency_ms", record.latency_ms)?;
    if record.error.is_some() && record.passed {
        return Err("passed is true but there is an error: a record with an error failed".into());
    }
    result.error = record.error;
    result.model = record.model;
    result.input = record.input;
    result.output = record.output;
    result.labels = record.labels.unwrap_or_default();

    for e in record.evaluations.unwrap_or_default() {
        if e.name.is_empty() {
            return Err("an evaluation's name is empty".into());
        }
        let passed = e
            .passed
            .or_else(|| e.label.as_deref().and_then(super::label_passes));
        result.evaluations.push(Evaluation {
            name: e.name,
            score: e.score,
            passed,
            explanation: e.explanation,
            label: e.label,
        });
    }
    for (name, score) in record.scores.unwrap_or_default() {
        if name.is_empty() {
            return Err("an evaluation's name is empty (a key of scores)".into());
        }
        result.evaluations.push(Evaluation {
            name,
            score: Some(score),
            passed: None,
            explanation: None,
            label: None,
        });
    }
    let mut names: Vec<&str> = result.evaluations.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    if let Some(twice) = names.windows(2).find(|w| w.first() == w.last()) {
        return Err(format!(
            "evaluation {:?} twice (in evaluations or scores): names are unique",
            twice.first().copied().unwrap_or_default()
        ));
    }
    Ok(result)
}

/// A JSON number that is a whole non-negative number (`3` or `3.0`, as JSON
/// Schema's `integer` counts them).
fn integer(number: &serde_json::Number) -> Option<u64> {
    if let Some(n) = number.as_u64() {
        return Some(n);
    }
    let f = number.as_f64()?;
    // 2^64 as f64; below it every whole f64 fits a u64.
    (f >= 0.0 && f.fract() == 0.0 && f < 18_446_744_073_709_551_616.0).then_some(f as u64)
}

fn non_negative(key: &str, value: Option<f64>) -> Result<Option<f64>, String> {
    match value {
        Some(v) if v < 0.0 => Err(format!("{key}: {v} is negative")),
        other => Ok(other),
    }
}

/// An RFC 3339 date and time with an offset, the shape the schema's pattern
/// gives (`T` or `t`, `Z`, `z` or `±HH:MM`), its fields in range.
fn timestamp(text: &str) -> Result<Timestamp, String> {
    let bad = |why: &str| {
        format!("time {text:?} {why}: write RFC 3339 with an offset, like 2026-12-07T23:44:19Z or 2026-12-07T23:44:19+01:00")
    };
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let shape = digits(0..4)
        && at(4, b"-")
        && digits(5..7)
        && at(7, b"-")
        && digits(8..10)
        && at(10, b"Tt")
        && digits(11..13)
        && at(13, b":")
        && digits(14..16)
        && at(16, b":")
        && digits(17..19);
    if !shape {
        return Err(bad("is not a date and time"));
    }
    let mut rest = b.get(19..).unwrap_or_default();
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(bad("has an empty fraction of a second"));
        }
        rest = fraction.get(n..).unwrap_or_default();
    }
    let offset = match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    if !offset {
        return Err(bad(if rest.is_empty() {
            "has no offset"
        } else {
            "has no valid offset"
        }));
    }
    text.to_ascii_uppercase()
        .parse::<Timestamp>()
        .map_err(|e| bad(&format!("is out of range ({e})")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    const SCHEMA: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/import-record.schema.json"
    );

    /// A well-formed file: every optional key, nulls, a blank line, CRLF.
    const EXAMPLE: &str = concat!(
        r#"{"run": "nightly-41", "case": "refund-policy", "time": "2026-12-07T23:44:19Z", "passed": true}"#,
        "\n",
        r#"{"run": "nightly-41", "case": "refund-policy", "repeat": 1, "time": "2026-12-07T23:44:21.5+01:00", "passed": false, "scores": {"quality": 0.2, "faithfulness": 1}, "evaluations": [{"name": "correct", "label": "incorrect", "explanation": "said 30 days"}, {"name": "tone", "passed": true, "score": 0.8}, {"name": "style", "label": "meh"}], "model": "gpt-x", "input": "How long?", "output": "30 days", "cost_usd": 0.0012, "latency_ms": 840, "tokens": 312, "labels": {"git_sha": "abc123"}}"#,
        "\r\n",
        "\n",
        "   \n",
        r#"{"run": "nightly-41", "case": "escalation", "time": "2026-12-07t23:44:22z", "passed": false, "error": "timeout", "model": null, "repeat": 2.0}"#,
        "\n",
    );

    fn src(bytes: &[u8]) -> Source<'_> {
        Source {
            name: "x.jsonl",
            modified: None,
            bytes,
        }
    }

    fn validator() -> jsonschema::Validator {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap();
        jsonschema::meta::validate(&schema).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    }

    #[test]
    fn a_well_formed_file_reads() {
        assert!(sniff(src(EXAMPLE.as_bytes())));
        let parsed = parse(src(EXAMPLE.as_bytes())).unwrap();
        assert!(parsed.notes.is_empty());
        let r = &parsed.results;
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].run.as_str(), r[0].case.as_str(), r[0].repeat),
            ("nightly-41", "refund-policy", 0)
        );
        assert!(r[0].passed && r[0].evaluations.is_empty());
        assert_eq!(r[0].at.to_string(), "2026-12-07T23:44:19Z");

        let second = &r[1];
        assert_eq!(second.repeat, 1);
        assert_eq!(second.at.to_string(), "2026-12-07T22:44:21.5Z");
        assert!(!second.passed);
        let names: Vec<_> = second.evaluations.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["correct", "tone", "style", "faithfulness", "quality"]
        );
        assert_eq!(second.evaluations[0].passed, Some(false));
        assert_eq!(
            second.evaluations[0].explanation.as_deref(),
            Some("said 30 days")
        );
        assert_eq!(second.evaluations[1].passed, Some(true));
        assert_eq!(second.evaluations[1].score, Some(0.8));
        assert_eq!(second.evaluations[2].passed, None);
        assert_eq!(second.evaluations[3].score, Some(1.0));
        assert_eq!(second.evaluations[4].passed, None);
        assert_eq!(second.model.as_deref(), Some("gpt-x"));
        assert_eq!(second.input.as_deref(), Some("How long?"));
        assert_eq!(second.output.as_deref(), Some("30 days"));
        assert_eq!(second.cost_usd, Some(0.0012));
        assert_eq!(second.latency_ms, Some(840.0));
        assert_eq!(second.tokens, Some(312));
        assert_eq!(
            second.labels.get("git_sha").map(String::as_str),
            Some("abc123")
        );

        assert_eq!(r[2].error.as_deref(), Some("timeout"));
        assert_eq!(r[2].repeat, 2);
        assert_eq!(r[2].model, None);
    }

    #[test]
    fn every_example_line_matches_the_schema() {
        let validator = validator();
        for (number, line) in lines(EXAMPLE.as_bytes()).filter(|(_, l)| !is_blank(l)) {
            let doc: Value = serde_json::from_slice(line).unwrap();
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "line {number}: {errors:?}");
        }
    }

    /// Each bad line with what the error says; the schema rejects the
    /// line too, except where it cannot say (`schema: false`).
    const BAD: &[(&str, &str, bool)] = &[
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": tr"#,
            "EOF while parsing",
            false,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": "yes"}"#,
            "invalid type: string \"yes\", expected a boolean",
            true,
        ),
        (
            r#"{"run": 7, "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true}"#,
            "invalid type: integer `7`, expected a string",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "score": 1}"#,
            "unknown field `score`",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "evaluations": [{"name": "e", "pass": true}]}"#,
            "unknown field `pass`",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "passed": true}"#,
            "missing field `time`",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "scores": {"": 1}}"#,
            "an evaluation's name is empty",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19", "passed": true}"#,
            "has no offset",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07 23:44:19Z", "passed": true}"#,
            "is not a date and time",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-02-30T23:44:19Z", "passed": true}"#,
            "out of range",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "repeat": -1}"#,
            "repeat: -1",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "repeat": 1.5}"#,
            "repeat: 1.5",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "tokens": 1e300}"#,
            "tokens:",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "cost_usd": -0.5}"#,
            "cost_usd: -0.5 is negative",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "scores": {"q": "high"}}"#,
            "invalid type: string \"high\", expected f64",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "labels": {"k": 1}}"#,
            "invalid type: integer `1`",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "error": "boom"}"#,
            "passed is true but there is an error",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "evaluations": [{"name": "q"}], "scores": {"q": 1}}"#,
            "evaluation \"q\" twice",
            false,
        ),
        (
            r#"{"run": "", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true}"#,
            "run is empty",
            true,
        ),
        (
            r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true, "evaluations": [{"name": ""}]}"#,
            "name is empty",
            true,
        ),
        (r#"[1, 2]"#, "not a JSON object", true),
        (
            r#"["r", "c", "2026-12-07T23:44:19Z", true]"#,
            "not a JSON object",
            true,
        ),
    ];

    #[test]
    fn bad_lines_are_invalid_naming_the_line() {
        let validator = validator();
        let good = r#"{"run": "r", "case": "ok", "time": "2026-12-07T23:44:19Z", "passed": true}"#;
        for (line, says, schema_rejects) in BAD {
            let file = format!("{good}\n\n{line}\n");
            let err = parse(src(file.as_bytes())).unwrap_err();
            assert_eq!(err.record.as_deref(), Some("line 3"), "{line}");
            assert!(err.to_string().contains(says), "{err} lacks {says}");
            if let Ok(doc) = serde_json::from_str::<Value>(line) {
                assert_eq!(
                    !validator.is_valid(&doc),
                    *schema_rejects,
                    "schema on {line}"
                );
            }
        }
    }

    #[test]
    fn invalid_utf8_and_a_repeated_identity_name_the_line() {
        let bytes = b"\n{\"run\": \"r\", \"case\": \"c\xFF\", \"time\": \"2026-12-07T23:44:19Z\", \"passed\": true}\n";
        let err = parse(src(bytes)).unwrap_err();
        assert_eq!(err.to_string(), "line 2: not UTF-8 (column 24)");

        let line = r#"{"run": "r", "case": "c", "time": "2026-12-07T23:44:19Z", "passed": true}"#;
        let err = parse(src(format!("{line}\n{line}").as_bytes())).unwrap_err();
        assert!(err.to_string().starts_with("line 2: "), "{err}");
        assert!(err.to_string().contains("first on line 1"), "{err}");
    }

    #[test]
    fn sniff_wants_run_case_and_passed_on_the_first_line() {
        assert!(sniff(src(
            b"\n{\"run\": \"r\", \"case\": \"c\", \"passed\": true}\n{"
        )));
        assert!(!sniff(src(b"{\"run\": \"r\", \"case\": \"c\"}")));
        assert!(!sniff(src(
            b"{\"run\": \"r\",\n \"case\": \"c\", \"passed\": true}"
        )));
        assert!(!sniff(src(b"<testsuites/>")));
        // Not JSON (Python writes NaN), but plainly a record: read, and
        // refused naming the line.
        let nan = b"{\"run\": \"r\", \"case\": \"c\", \"time\": \"2026-12-07T23:44:19Z\", \"passed\": true, \"cost_usd\": NaN}\n";
        assert!(sniff(src(nan)));
        let err = parse(src(nan)).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("line 1"), "{err}");
        assert!(!sniff(src(b"[\"run\", \"case\", \"passed\"]")));
        assert!(!sniff(src(b"")));
        let parsed = parse(src(b"\n \n")).unwrap();
        assert!(parsed.results.is_empty());
        assert_eq!(parsed.notes, ["no records"]);
    }
}
