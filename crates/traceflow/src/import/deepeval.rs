//! DeepEval's test runs: `test_run_YYYYMMDD_HHMMSS.json` (what
//! `DEEPEVAL_RESULTS_FOLDER` collects) and `.deepeval/.latest_run_full.json`
//! (the same shape).
//!
//! A test case is a [`CaseResult`]: its case is the test's `name`, its pass
//! DeepEval's `success`, its evaluations the `metricsData` (name, score,
//! `success`, `reason`); a metric's `error` is the case's error. The file
//! holds no run id or time: the run is the file's name without `.json`, and
//! the time is read from that name.
//!
//! DeepEval writes the name's time with the writer's local clock and no
//! offset; it is read as UTC (the committed fixtures were written with
//! `TZ=UTC`), so a run written on a machine with another offset is off by
//! that offset. Runs from one machine keep their order either way.
//! Without such a name, the time is the file's modified time, with a note.

use std::collections::HashMap;
use std::path::Path;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::{first_object, CaseResult, Evaluation, Invalid, Parsed, Source};

/// Whether the file is in this format: a JSON object with a `testCases`
/// array and `testPassed`, `testFile` or `metricsScores`.
pub(crate) fn sniff(source: Source<'_>) -> bool {
    first_object(source.bytes).is_some_and(|object| {
        object.get("testCases").is_some_and(Value::is_array)
            && ["testPassed", "testFile", "metricsScores"]
                .iter()
                .any(|key| object.contains_key(*key))
    })
}

/// The file's top level (what is read of it): cases kept as values so a bad
/// one is named by its index.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestRun {
    test_cases: Value,
    #[serde(default)]
    conversational_test_cases: Option<Value>,
}

/// One test case.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestCase {
    name: String,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    actual_output: Option<String>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    run_duration: Option<f64>,
    #[serde(default)]
    metrics_data: Option<Vec<Value>>,
}

/// One metric's verdict on a test case.
#[derive(Deserialize)]
struct MetricData {
    name: String,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Reads the file.
pub(crate) fn parse(source: Source<'_>) -> Result<Parsed, Invalid> {
    let run: TestRun = serde_json::from_slice(source.bytes)
        .map_err(|e| Invalid::file(format!("not a DeepEval test run: {e}")))?;
    let Value::Array(cases) = run.test_cases else {
        return Err(Invalid::at("testCases", "not an array"));
    };
    let stem = Path::new(source.name)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .filter(|stem| !stem.trim().is_empty())
        .ok_or_else(|| {
            Invalid::file(
                "a DeepEval test run holds no run id: the run is the file's name, and this file has none",
            )
        })?;
    let mut notes = Vec::new();
    let at = match (time_from_name(stem), source.modified) {
        (Some(at), _) => at,
        (None, Some(modified)) => {
            notes.push(format!(
                "{stem}: no time in the name (test_run_YYYYMMDD_HHMMSS): the run's time is the file's modified time ({modified})"
            ));
            modified
        }
        (None, None) => {
            return Err(Invalid::file(
                "no time: the name is not test_run_YYYYMMDD_HHMMSS and the file's modified time is not known",
            ))
        }
    };
    if let Some(Value::Array(conversational)) = &run.conversational_test_cases {
        if !conversational.is_empty() {
            notes.push(format!(
                "{} conversational test case(s) ignored: only single-turn test cases are read",
                conversational.len()
            ));
        }
    }

    let mut results = Vec::with_capacity(cases.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, value) in cases.into_iter().enumerate() {
        let record = format!("testCases[{i}]");
        if !value.is_object() {
            return Err(Invalid::at(record, "not a JSON object"));
        }
        let case: TestCase = serde_json::from_value(value)
            .map_err(|e| Invalid::at(record.clone(), format!("not a DeepEval test case: {e}")))?;
        if case.name.trim().is_empty() {
            return Err(Invalid::at(record, "empty `name`: no case to name"));
        }
        if let Some(first) = seen.get(&case.name) {
            return Err(Invalid::at(
                record,
                format!(
                    "case {:?} is already testCases[{first}]: its results cannot be told apart",
                    case.name
                ),
            ));
        }
        seen.insert(case.name.clone(), i);
        results.push(case_result(stem, at, &record, case)?);
    }
    Ok(Parsed { results, notes })
}

fn case_result(
    run: &str,
    at: Timestamp,
    record: &str,
    case: TestCase,
) -> Result<CaseResult, Invalid> {
    let mut result = CaseResult::new(run, case.name, at);
    let mut errors = Vec::new();
    for (j, value) in case.metrics_data.into_iter().flatten().enumerate() {
        let metric: MetricData = serde_json::from_value(value).map_err(|e| {
            Invalid::at(
                format!("{record}.metricsData[{j}]"),
                format!("not a DeepEval metric: {e}"),
            )
        })?;
        if let Some(error) = metric.error.filter(|e| !e.trim().is_empty()) {
            errors.push(format!("{}: {error}", metric.name));
        }
        result.evaluations.push(Evaluation {
            name: metric.name,
            score: metric.score.filter(|s| s.is_finite()),
            passed: metric.success,
            explanation: metric.reason.filter(|r| !r.is_empty()),
            label: None,
        });
    }
    if !errors.is_empty() {
        result.error = Some(errors.join("; "));
    }
    result.passed = case
        .success
        .unwrap_or_else(|| result.passed_by_evaluations());
    result.input = case.input;
    result.output = case.actual_output;
    result.latency_ms = case
        .run_duration
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|seconds| seconds * 1000.0);
    Ok(result)
}

/// The time in a `test_run_YYYYMMDD_HHMMSS` name, read as UTC.
fn time_from_name(stem: &str) -> Option<Timestamp> {
    let digits = stem.strip_prefix("test_run_")?;
    if digits.len() != 15 || !digits.is_ascii() {
        return None;
    }
    let civil = DateTime::strptime("%Y%m%d_%H%M%S", digits).ok()?;
    TimeZone::UTC.to_timestamp(civil).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    use crate::import::fixtures::{failing, fixture, other_tools_files};

    fn source<'a>(name: &'a str, bytes: &'a [u8]) -> Source<'a> {
        Source {
            name,
            modified: Some("2026-12-08T10:00:00Z".parse().unwrap()),
            bytes,
        }
    }

    #[test]
    fn every_run_matches_deepevals_totals_and_the_design() {
        let expected: Value = serde_json::from_slice(&fixture("deepeval/expected.json")).unwrap();
        let runs = expected["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 10);
        let mut previous: Option<Timestamp> = None;
        for (i, run) in runs.iter().enumerate() {
            let file = run["file"].as_str().unwrap();
            let bytes = fixture(&format!("deepeval/{file}"));
            let source = source(file, &bytes);
            assert!(sniff(source), "{file}");
            let parsed = parse(source).unwrap();
            assert!(parsed.notes.is_empty(), "{file}: {:?}", parsed.notes);
            let passed = parsed.results.iter().filter(|r| r.passed).count() as u64;
            let failed = parsed.results.len() as u64 - passed;
            assert_eq!(passed, run["testPassed"].as_u64().unwrap(), "{file}");
            assert_eq!(failed, run["testFailed"].as_u64().unwrap(), "{file}");
            let cases: BTreeSet<String> = parsed.results.iter().map(|r| r.case.clone()).collect();
            let all: BTreeSet<String> = (1..=12).map(|n| format!("case-{n:02}")).collect();
            assert_eq!(cases, all, "{file}");
            let failing_cases: BTreeSet<String> = parsed
                .results
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.case.clone())
                .collect();
            assert_eq!(failing_cases, failing(i + 1), "{file}");
            let stem = file.trim_end_matches(".json");
            let at = parsed.results[0].at;
            assert!(previous.is_none_or(|p| p < at), "runs in time order");
            previous = Some(at);
            for result in &parsed.results {
                assert_eq!(result.run, stem);
                assert_eq!(result.at, at);
                assert_eq!(result.error, None);
                assert_eq!(result.passed, result.passed_by_evaluations());
                let names: Vec<&str> = result.evaluations.iter().map(|e| e.name.as_str()).collect();
                assert_eq!(names, ["correct", "quality"], "{file} {}", result.case);
                let quality = result.evaluations[1].score;
                assert_eq!(quality, Some(if result.passed { 0.9 } else { 0.2 }));
            }
            // Per metric, DeepEval's own passes and fails.
            for (m, metric) in ["correct", "quality"].iter().enumerate() {
                let passes = parsed
                    .results
                    .iter()
                    .filter(|r| r.evaluations[m].passed == Some(true))
                    .count() as u64;
                assert_eq!(
                    passes,
                    run["metrics"][metric]["passes"].as_u64().unwrap(),
                    "{file} {metric}"
                );
            }
        }
    }

    #[test]
    fn the_time_is_the_names_read_as_utc() {
        let bytes = fixture("deepeval/test_run_20261207_235609.json");
        let parsed = parse(source("test_run_20261207_235609.json", &bytes)).unwrap();
        let case = &parsed.results[2];
        assert_eq!(case.run, "test_run_20261207_235609");
        assert_eq!(
            case.at,
            "2026-12-07T23:56:09Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(case.case, "case-03");
        assert_eq!(case.input.as_deref(), Some("Question of case-03"));
        assert_eq!(case.output.as_deref(), Some("wrong-03 quality=0.2"));
        assert_eq!(case.latency_ms, None, "a runDuration of 0 is no latency");
        assert_eq!(
            case.evaluations[0].explanation.as_deref(),
            Some("expected answer-03, got wrong-03")
        );
        assert_eq!(
            time_from_name("test_run_20261207_235609"),
            Some("2026-12-07T23:56:09Z".parse().unwrap())
        );
        assert_eq!(time_from_name("test_run_20261399_235609"), None);
        assert_eq!(time_from_name("test_run_2026120_235609"), None);
    }

    #[test]
    fn the_latest_run_file_reads_with_its_modified_time_and_a_note() {
        let bytes = fixture("deepeval/test_run_20261207_235614.json");
        let source = source(".deepeval/.latest_run_full.json", &bytes);
        assert!(sniff(source));
        let parsed = parse(source).unwrap();
        assert_eq!(parsed.results.len(), 12);
        assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
        assert!(parsed.results.iter().all(|r| r.run == ".latest_run_full"));
        assert!(parsed.results.iter().all(|r| Some(r.at) == source.modified));
        let timeless = Source {
            modified: None,
            ..source
        };
        assert!(parse(timeless).unwrap_err().message.contains("time"));
    }

    #[test]
    fn metric_errors_missing_keys_and_conversational_cases() {
        let text = r#"{"testFile": "t.py", "conversationalTestCases": [{}],
            "testCases": [
              {"name": "a", "runDuration": 1.5, "metricsData": [
                {"name": "faith", "error": "judge timed out"},
                {"name": "rel", "score": 0.7, "success": true}]},
              {"name": "b"}]}"#;
        let parsed = parse(source("test_run_20260101_000000.json", text.as_bytes())).unwrap();
        assert_eq!(parsed.notes.len(), 1);
        assert!(parsed.notes[0].contains("conversational"));
        let a = &parsed.results[0];
        assert_eq!(a.error.as_deref(), Some("faith: judge timed out"));
        assert!(
            !a.passed,
            "no success: passed by its evaluations, and an error fails"
        );
        assert_eq!(a.latency_ms, Some(1500.0));
        assert_eq!(a.evaluations[0].score, None);
        assert_eq!(a.evaluations[1].passed, Some(true));
        let b = &parsed.results[1];
        assert!(b.passed && b.evaluations.is_empty() && b.input.is_none());
    }

    #[test]
    fn sniff_is_false_for_the_other_tools_files() {
        let files = other_tools_files("deepeval");
        assert!(files.len() > 20);
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let name = path.to_string_lossy();
            assert!(!sniff(source(&name, &bytes)), "{name}");
        }
    }

    #[test]
    fn bad_input_is_invalid_naming_the_record() {
        let name = "test_run_20261207_235529.json";
        let bytes = fixture(&format!("deepeval/{name}"));
        let error = parse(source(name, &bytes[..bytes.len() / 2])).unwrap_err();
        assert_eq!(error.record, None);

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["testCases"] = Value::from(3);
        let text = raw.to_string();
        let error = parse(source(name, text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("testCases"));

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["testCases"][2]["success"] = Value::from("yes");
        let text = raw.to_string();
        let error = parse(source(name, text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("testCases[2]"), "{error}");

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["testCases"][4]["metricsData"][1]["score"] = Value::from("high");
        let text = raw.to_string();
        let error = parse(source(name, text.as_bytes())).unwrap_err();
        assert_eq!(
            error.record.as_deref(),
            Some("testCases[4].metricsData[1]"),
            "{error}"
        );

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["testCases"][5]["name"] = Value::from("case-01");
        let text = raw.to_string();
        let error = parse(source(name, text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("testCases[5]"), "{error}");
    }

    #[test]
    fn never_panics_on_cut_or_odd_input() {
        let name = "test_run_20261207_235549.json";
        let bytes = fixture(&format!("deepeval/{name}"));
        for end in (0..bytes.len()).step_by(499) {
            let _ = parse(source(name, &bytes[..end]));
            let _ = sniff(source(name, &bytes[..end]));
        }
        for text in [
            "",
            "null",
            "[]",
            "{}",
            "{\"testCases\": [null]}",
            "{\"testCases\": [{\"name\": 1}]}",
        ] {
            let _ = parse(source(name, text.as_bytes()));
            let _ = parse(source("", text.as_bytes()));
        }
    }
}
