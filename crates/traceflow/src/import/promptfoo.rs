//! promptfoo's results: the `-o out.json` file (`results.version` 3) and
//! the bare results it streams to a `.jsonl` file.
//!
//! A result (one test asked of one prompt and provider) is a
//! [`CaseResult`]: its case is the test's `description` (else `test-N` from
//! `testIdx`, with a note), suffixed ` [provider]`, ` [prompt N]` or
//! ` [provider, prompt N]` when the same test is asked of several providers
//! or prompts in the eval; its pass is promptfoo's `success`; its
//! evaluations are the grading's component results (named by their
//! assertion's `metric`, else its `type`) and the named scores no component
//! carries. `docs/import.md` gives the whole mapping.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use super::{first_object, CaseResult, Evaluation, Invalid, Parsed, Source};

/// Whether the file is in this format: a JSON object with `evalId` and
/// `results` (the `-o` JSON), or a first line that is a result (`testIdx`
/// and `gradingResult`, or `success` and `promptIdx`: the `.jsonl`).
pub(crate) fn sniff(source: Source<'_>) -> bool {
    first_object(source.bytes).is_some_and(|object| is_output(&object) || is_result(&object))
}

/// Reads the file: the `-o` JSON, or the `.jsonl` when its name ends so or
/// its first value is a bare result.
pub(crate) fn parse(source: Source<'_>) -> Result<Parsed, Invalid> {
    let streamed = Path::new(source.name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("jsonl"))
        || first_object(source.bytes).is_some_and(|o| !is_output(&o) && is_result(&o));
    if streamed {
        parse_jsonl(source)
    } else {
        parse_output(source)
    }
}

fn is_output(object: &serde_json::Map<String, Value>) -> bool {
    object.contains_key("evalId") && object.contains_key("results")
}

fn is_result(object: &serde_json::Map<String, Value>) -> bool {
    (object.contains_key("testIdx") && object.contains_key("gradingResult"))
        || (object.contains_key("success") && object.contains_key("promptIdx"))
}

/// The `-o` file's top level (what is read of it).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    eval_id: String,
    results: Value,
    #[serde(default)]
    metadata: Option<Metadata>,
}

/// `results`: kept as values so a bad result is named by its index.
#[derive(Deserialize)]
struct Results {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    timestamp: Option<String>,
    results: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    evaluation_created_at: Option<String>,
}

/// One result: a test asked of one prompt and provider.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PfResult {
    #[serde(default)]
    test_idx: Option<u64>,
    #[serde(default)]
    test_case: Option<TestCase>,
    #[serde(default)]
    prompt_idx: Option<u64>,
    #[serde(default)]
    vars: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    provider: Option<Provider>,
    #[serde(default)]
    prompt: Option<Prompt>,
    #[serde(default)]
    response: Option<Response>,
    success: bool,
    #[serde(default)]
    failure_reason: Option<i64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    grading_result: Option<GradingResult>,
    #[serde(default)]
    named_scores: Option<BTreeMap<String, Option<f64>>>,
    #[serde(default)]
    latency_ms: Option<f64>,
    #[serde(default)]
    cost: Option<f64>,
    #[serde(default)]
    token_usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct TestCase {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    vars: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
}

/// `provider`: an object `{id, label}` (a bare id in some writers).
#[derive(Deserialize)]
#[serde(untagged)]
enum Provider {
    Id(String),
    Object {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        label: Option<String>,
    },
}

impl Provider {
    /// Its id, if not empty.
    fn id(&self) -> Option<&str> {
        match self {
            Provider::Id(id) => Some(id.as_str()),
            Provider::Object { id, .. } => id.as_deref(),
        }
        .filter(|s| !s.trim().is_empty())
    }

    /// Its label, else its id.
    fn name(&self) -> Option<&str> {
        match self {
            Provider::Id(_) => None,
            Provider::Object { label, .. } => label.as_deref().filter(|s| !s.trim().is_empty()),
        }
        .or_else(|| self.id())
    }
}

#[derive(Deserialize)]
struct Prompt {
    #[serde(default)]
    raw: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    output: Option<Value>,
    #[serde(default)]
    token_usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct TokenUsage {
    #[serde(default)]
    total: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GradingResult {
    #[serde(default)]
    component_results: Option<Vec<ComponentResult>>,
}

#[derive(Deserialize)]
struct ComponentResult {
    #[serde(default)]
    pass: Option<bool>,
    #[serde(default)]
    score: Option<f64>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    assertion: Option<Assertion>,
}

#[derive(Deserialize)]
struct Assertion {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    metric: Option<String>,
}

/// promptfoo's `failureReason` for an error (1 is a failed assertion).
const FAILURE_ERROR: i64 = 2;

fn parse_output(source: Source<'_>) -> Result<Parsed, Invalid> {
    let output: Output = serde_json::from_slice(source.bytes)
        .map_err(|e| Invalid::file(format!("not promptfoo's JSON output: {e}")))?;
    let results: Results = serde_json::from_value(output.results).map_err(|e| {
        Invalid::at(
            "results",
            format!("not an object with a `results` array: {e}"),
        )
    })?;
    let Value::Array(records) = results.results else {
        return Err(Invalid::at("results.results", "not an array"));
    };
    let mut notes = Vec::new();
    if let Some(version) = results.version.filter(|&v| v != 3) {
        notes.push(format!(
            "results version {version}: read as version 3 (the version this reader knows)"
        ));
    }
    let time = results
        .timestamp
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .or_else(|| {
            output
                .metadata
                .and_then(|m| m.evaluation_created_at)
                .and_then(|t| t.parse::<Timestamp>().ok())
        });
    let at = match (time, source.modified) {
        (Some(at), _) => at,
        (None, Some(modified)) => {
            notes.push(format!(
                "no time in {}: the run's time is the file's modified time",
                source.name
            ));
            modified
        }
        (None, None) => {
            return Err(Invalid::file(
                "no time (`results.timestamp`, `metadata.evaluationCreatedAt`) and no modified time for the file",
            ))
        }
    };
    let records = records
        .into_iter()
        .enumerate()
        .map(|(i, value)| (format!("results[{i}]"), value))
        .collect();
    let mut parsed = read(&output.eval_id, at, records)?;
    notes.append(&mut parsed.notes);
    parsed.notes = notes;
    Ok(parsed)
}

fn parse_jsonl(source: Source<'_>) -> Result<Parsed, Invalid> {
    let run = Path::new(source.name)
        .file_stem()
        .and_then(|stem| stem.to_str())
        .filter(|stem| !stem.trim().is_empty())
        .ok_or_else(|| {
            Invalid::file(
                "promptfoo's .jsonl holds no run id: the run is the file's name, and this file has none",
            )
        })?;
    let at = source.modified.ok_or_else(|| {
        Invalid::file(
            "promptfoo's .jsonl holds no time: the run's time is the file's modified time, and it is not known",
        )
    })?;
    let text = std::str::from_utf8(source.bytes)
        .map_err(|e| Invalid::file(format!("not UTF-8 text: {e}")))?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record = format!("line {}", i + 1);
        let value: Value = serde_json::from_str(line)
            .map_err(|e| Invalid::at(record.clone(), format!("not JSON: {e}")))?;
        records.push((record, value));
    }
    let mut parsed = read(run, at, records)?;
    parsed.notes.insert(
        0,
        format!(
            "promptfoo's .jsonl holds no run id or time: the run is the file's name ({run}) and its time the file's modified time ({at})"
        ),
    );
    Ok(parsed)
}

/// A result read, before its case is made unique.
struct Read {
    record: String,
    test: String,
    provider: Option<String>,
    prompt: Option<u64>,
    result: CaseResult,
}

/// How a test was asked in one eval: how often, of which providers and
/// prompts.
#[derive(Default)]
struct Asked<'a> {
    times: usize,
    providers: Vec<Option<&'a str>>,
    prompts: Vec<Option<u64>>,
}

/// What each result's case adds to its test's name: nothing for a test
/// asked once; for a test asked of several providers or prompts, the
/// provider, the prompt, or both, whichever tell its results apart.
fn suffixes(read: &[Read]) -> Vec<Option<String>> {
    let mut askings: HashMap<&str, Asked<'_>> = HashMap::new();
    for r in read {
        let asked = askings.entry(r.test.as_str()).or_default();
        asked.times += 1;
        if !asked.providers.contains(&r.provider.as_deref()) {
            asked.providers.push(r.provider.as_deref());
        }
        if !asked.prompts.contains(&r.prompt) {
            asked.prompts.push(r.prompt);
        }
    }
    read.iter()
        .map(|r| {
            let asked = askings.get(r.test.as_str()).filter(|a| a.times > 1)?;
            let provider = r.provider.as_deref();
            let prompt = r.prompt.map(|p| format!("prompt {p}"));
            // The fewest words that tell the askings apart.
            if asked.providers.len() == asked.times {
                provider.map(str::to_owned)
            } else if asked.prompts.len() == asked.times {
                prompt
            } else {
                match (provider, prompt) {
                    (Some(provider), Some(prompt)) => Some(format!("{provider}, {prompt}")),
                    (provider, prompt) => provider.map(str::to_owned).or(prompt),
                }
            }
        })
        .collect()
}

/// The results of one run, each `(record name, value)`.
fn read(run: &str, at: Timestamp, records: Vec<(String, Value)>) -> Result<Parsed, Invalid> {
    let mut notes = Vec::new();
    let mut by_index = 0usize;
    let mut read = Vec::with_capacity(records.len());
    for (record, value) in records {
        if !value.is_object() {
            return Err(Invalid::at(record, "not a JSON object"));
        }
        let raw: PfResult = serde_json::from_value(value)
            .map_err(|e| Invalid::at(record.clone(), format!("not a promptfoo result: {e}")))?;
        let described = raw
            .test_case
            .as_ref()
            .and_then(|t| t.description.as_deref())
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        let test = match (described, raw.test_idx) {
            (Some(description), _) => description,
            (None, Some(index)) => {
                by_index += 1;
                format!("test-{index}")
            }
            (None, None) => {
                return Err(Invalid::at(
                    record,
                    "neither `testCase.description` nor `testIdx`: no case to name",
                ))
            }
        };
        let provider = raw
            .provider
            .as_ref()
            .and_then(Provider::name)
            .map(str::to_owned);
        let prompt = raw.prompt_idx;
        let result = case_result(run, &test, at, raw);
        read.push(Read {
            record,
            test,
            provider,
            prompt,
            result,
        });
    }
    if by_index > 0 {
        notes.push(format!(
            "{by_index} result(s) have no test description: their case is `test-N` from `testIdx` (the test's place in the config, which moves when tests are added or removed)"
        ));
    }

    let suffixes = suffixes(&read);
    let mut results = Vec::with_capacity(read.len());
    let mut seen: HashMap<String, String> = HashMap::new();
    for (r, suffix) in read.into_iter().zip(suffixes) {
        let mut result = r.result;
        if let Some(suffix) = suffix {
            result.case = format!("{} [{suffix}]", r.test);
        }
        if let Some(first) = seen.get(&result.case) {
            return Err(Invalid::at(
                r.record,
                format!(
                    "case {:?} is already {first} (the same test, provider and repeat): its results cannot be told apart",
                    result.case
                ),
            ));
        }
        seen.insert(result.case.clone(), r.record);
        results.push(result);
    }
    Ok(Parsed { results, notes })
}

fn case_result(run: &str, test: &str, at: Timestamp, raw: PfResult) -> CaseResult {
    let mut result = CaseResult::new(run, test, at);
    result.passed = raw.success;
    if raw.failure_reason == Some(FAILURE_ERROR) {
        result.error = Some(
            raw.error
                .clone()
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| "promptfoo reported an error".to_owned()),
        );
    }
    result.evaluations = evaluations(raw.grading_result.as_ref(), raw.named_scores.as_ref());
    result.model = raw
        .provider
        .as_ref()
        .and_then(|p| p.id().or_else(|| p.name()))
        .map(str::to_owned);
    // A negative time, cost or count is none (as the other readers leave it).
    result.latency_ms = raw.latency_ms.filter(|v| v.is_finite() && *v >= 0.0);
    result.cost_usd = raw.cost.filter(|v| v.is_finite() && *v >= 0.0);
    result.tokens = raw
        .token_usage
        .as_ref()
        .and_then(|t| t.total)
        .or_else(|| {
            raw.response
                .as_ref()
                .and_then(|r| r.token_usage.as_ref())
                .and_then(|t| t.total)
        })
        .filter(|t| *t >= 0);
    let vars = raw
        .vars
        .as_ref()
        .or_else(|| raw.test_case.as_ref().and_then(|t| t.vars.as_ref()));
    result.input = raw
        .prompt
        .as_ref()
        .and_then(|p| p.raw.clone())
        .or_else(|| vars.map(|v| Value::Object(v.clone()).to_string()));
    result.output = raw
        .response
        .as_ref()
        .and_then(|r| r.output.as_ref())
        .and_then(|output| match output {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        });
    if let Some(metadata) = raw.test_case.as_ref().and_then(|t| t.metadata.as_ref()) {
        for (key, value) in metadata {
            if let Value::String(text) = value {
                result.labels.insert(key.clone(), text.clone());
            }
        }
    }
    result
}

/// The grading's component results (named by their assertion's metric, else
/// its type; `#2`, `#3` … on a name's repeats), then the named scores none of
/// them carries (score only).
fn evaluations(
    grading: Option<&GradingResult>,
    named_scores: Option<&BTreeMap<String, Option<f64>>>,
) -> Vec<Evaluation> {
    let mut evaluations = Vec::new();
    let mut counts: HashMap<String, u32> = HashMap::new();
    for component in grading
        .and_then(|g| g.component_results.as_deref())
        .unwrap_or_default()
    {
        let assertion = component.assertion.as_ref();
        let base = assertion
            .and_then(|a| a.metric.as_deref())
            .filter(|m| !m.trim().is_empty())
            .or_else(|| assertion.and_then(|a| a.kind.as_deref()))
            .filter(|n| !n.trim().is_empty())
            .unwrap_or("assertion")
            .to_owned();
        let count = counts.entry(base.clone()).or_default();
        *count += 1;
        let name = if *count == 1 {
            base
        } else {
            format!("{base}#{count}")
        };
        evaluations.push(Evaluation {
            name,
            score: component.score.filter(|s| s.is_finite()),
            passed: component.pass,
            explanation: component.reason.clone().filter(|r| !r.is_empty()),
        });
    }
    for (name, &score) in named_scores.into_iter().flatten() {
        if counts.contains_key(name) {
            continue;
        }
        evaluations.push(Evaluation {
            name: name.clone(),
            score: score.filter(|s| s.is_finite()),
            passed: None,
            explanation: None,
        });
    }
    evaluations
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

    fn expected() -> Value {
        serde_json::from_slice(&fixture("promptfoo/expected.json")).unwrap()
    }

    #[test]
    fn every_run_matches_promptfoos_totals_and_the_design() {
        let expected = expected();
        let runs = expected["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 10);
        let mut eval_ids = BTreeSet::new();
        for (i, run) in runs.iter().enumerate() {
            let file = run["file"].as_str().unwrap();
            let bytes = fixture(&format!("promptfoo/{file}"));
            let source = source(file, &bytes);
            assert!(sniff(source), "{file}");
            let parsed = parse(source).unwrap();
            assert!(parsed.notes.is_empty(), "{file}: {:?}", parsed.notes);
            let passed = parsed.results.iter().filter(|r| r.passed).count() as u64;
            let failed = parsed.results.len() as u64 - passed;
            assert_eq!(passed, run["successes"].as_u64().unwrap(), "{file}");
            assert_eq!(
                failed,
                run["failures"].as_u64().unwrap() + run["errors"].as_u64().unwrap(),
                "{file}"
            );
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
            let first = &parsed.results[0];
            assert!(parsed
                .results
                .iter()
                .all(|r| r.run == first.run && r.at == first.at));
            assert!(first.run.starts_with("eval-"), "{}", first.run);
            eval_ids.insert(first.run.clone());
            for result in &parsed.results {
                assert_eq!(result.error, None, "an assertion failure is no error");
                assert_eq!(result.model.as_deref(), Some("echo"));
                let names: Vec<&str> = result.evaluations.iter().map(|e| e.name.as_str()).collect();
                assert_eq!(names, ["correct", "quality"], "{file} {}", result.case);
                assert_eq!(result.passed, result.passed_by_evaluations());
            }
        }
        assert_eq!(eval_ids.len(), 10, "one run per eval");
    }

    #[test]
    fn evaluations_carry_the_named_scores_of_the_raw_json() {
        let bytes = fixture("promptfoo/run-09.json");
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let record = &raw["results"]["results"][4];
        assert_eq!(record["testCase"]["description"], "case-05");
        let quality = record["namedScores"]["quality"].as_f64().unwrap();

        let parsed = parse(source("run-09.json", &bytes)).unwrap();
        let result = parsed.results.iter().find(|r| r.case == "case-05").unwrap();
        assert!(!result.passed);
        let evaluation = result
            .evaluations
            .iter()
            .find(|e| e.name == "quality")
            .unwrap();
        assert_eq!(evaluation.score, Some(quality));
        assert_eq!(evaluation.score, Some(0.2));
        assert_eq!(evaluation.passed, Some(false));
        let correct = &result.evaluations[0];
        assert_eq!((correct.score, correct.passed), (Some(0.0), Some(false)));
        assert_eq!(
            correct.explanation.as_deref(),
            Some("Expected output to contain \"answer-05\"")
        );
        assert_eq!(result.input.as_deref(), Some("wrong-05 quality=0.2"));
        assert_eq!(result.output.as_deref(), Some("wrong-05 quality=0.2"));
        assert_eq!(result.latency_ms, Some(7.0));
        assert_eq!(result.cost_usd, Some(0.0));
        assert_eq!(result.tokens, Some(0));
        assert_eq!(
            result.at,
            "2026-12-07T23:57:22.115Z".parse::<Timestamp>().unwrap()
        );
    }

    #[test]
    fn the_jsonl_reads_with_a_note_its_run_from_the_name() {
        let bytes = fixture("promptfoo/jsonl/run-07.jsonl");
        let source = source("run-07.jsonl", &bytes);
        assert!(sniff(source));
        let parsed = parse(source).unwrap();
        assert_eq!(parsed.results.len(), 12);
        assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
        assert!(parsed.notes[0].contains("run-07"), "{:?}", parsed.notes);
        assert!(parsed.results.iter().all(|r| r.run == "run-07"));
        assert!(parsed.results.iter().all(|r| Some(r.at) == source.modified));
        let failing_cases: BTreeSet<String> = parsed
            .results
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.case.clone())
            .collect();
        assert_eq!(failing_cases, failing(7));

        let nameless = Source { name: "", ..source };
        assert!(parse(nameless).unwrap_err().message.contains("run"));
        let timeless = Source {
            modified: None,
            ..source
        };
        assert!(parse(timeless).unwrap_err().message.contains("time"));
    }

    #[test]
    fn sniff_is_false_for_the_other_tools_files() {
        let files = other_tools_files("promptfoo");
        assert!(files.len() > 20);
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let name = path.to_string_lossy();
            assert!(!sniff(source(&name, &bytes)), "{name}");
        }
    }

    #[test]
    fn bad_input_is_invalid_naming_the_record() {
        let bytes = fixture("promptfoo/run-03.json");
        let truncated = &bytes[..bytes.len() / 2];
        let error = parse(source("run-03.json", truncated)).unwrap_err();
        assert_eq!(error.record, None);

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["results"]["results"] = Value::from("none");
        let text = raw.to_string();
        let error = parse(source("run-03.json", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("results.results"));

        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        raw["results"]["results"][3]["success"] = Value::from("yes");
        let text = raw.to_string();
        let error = parse(source("run-03.json", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("results[3]"), "{error}");

        let lines = String::from_utf8(fixture("promptfoo/jsonl/run-07.jsonl")).unwrap();
        let mut lines: Vec<String> = lines.lines().map(str::to_owned).collect();
        let mut third: Value = serde_json::from_str(&lines[2]).unwrap();
        third["success"] = Value::from("no");
        lines[2] = third.to_string();
        let text = lines.join("\n");
        let error = parse(source("run-07.jsonl", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("line 3"), "{error}");
    }

    #[test]
    fn a_test_asked_of_two_providers_names_the_provider() {
        let bytes = fixture("promptfoo/run-01.json");
        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        let mut second = raw["results"]["results"][0].clone();
        second["provider"] = serde_json::json!({"id": "openai:gpt-4o", "label": "gpt"});
        second["promptIdx"] = Value::from(1);
        raw["results"]["results"]
            .as_array_mut()
            .unwrap()
            .push(second.clone());
        let text = raw.to_string();
        let parsed = parse(source("run-01.json", text.as_bytes())).unwrap();
        let cases: Vec<&str> = parsed.results.iter().map(|r| r.case.as_str()).collect();
        assert!(cases.contains(&"case-01 [echo]"), "{cases:?}");
        assert!(cases.contains(&"case-01 [gpt]"), "{cases:?}");
        assert_eq!(
            parsed.results.last().unwrap().model.as_deref(),
            Some("openai:gpt-4o")
        );

        // The same test and provider twice: cannot be told apart.
        raw["results"]["results"]
            .as_array_mut()
            .unwrap()
            .push(second);
        let text = raw.to_string();
        let error = parse(source("run-01.json", text.as_bytes())).unwrap_err();
        assert_eq!(error.record.as_deref(), Some("results[13]"), "{error}");
    }

    #[test]
    fn a_test_asked_of_two_prompts_of_one_provider_names_the_prompt() {
        let bytes = fixture("promptfoo/run-01.json");
        let mut raw: Value = serde_json::from_slice(&bytes).unwrap();
        let mut second = raw["results"]["results"][0].clone();
        second["promptIdx"] = Value::from(1);
        raw["results"]["results"]
            .as_array_mut()
            .unwrap()
            .push(second);
        let text = raw.to_string();
        let parsed = parse(source("run-01.json", text.as_bytes())).unwrap();
        let cases: Vec<&str> = parsed.results.iter().map(|r| r.case.as_str()).collect();
        assert!(cases.contains(&"case-01 [prompt 0]"), "{cases:?}");
        assert!(cases.contains(&"case-01 [prompt 1]"), "{cases:?}");
        assert!(cases.contains(&"case-02"), "{cases:?}");
    }

    #[test]
    fn errors_repeated_assertions_and_nameless_tests() {
        let text = r#"{"testIdx": 2, "promptIdx": 0, "success": false, "failureReason": 2,
            "error": "timeout", "provider": {"id": "p"},
            "gradingResult": {"componentResults": [
                {"pass": true, "score": 1, "assertion": {"type": "contains"}},
                {"pass": false, "score": 0, "assertion": {"type": "contains"}}]},
            "namedScores": {"contains": 1, "extra": 0.5},
            "testCase": {"metadata": {"team": "a", "n": 1}, "vars": {"q": "x"}}}"#
            .replace('\n', " ");
        let parsed = parse(source("stream.jsonl", text.as_bytes())).unwrap();
        let result = &parsed.results[0];
        assert_eq!(result.case, "test-2");
        assert_eq!(result.error.as_deref(), Some("timeout"));
        let names: Vec<&str> = result.evaluations.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["contains", "contains#2", "extra"]);
        assert_eq!(result.evaluations[2].score, Some(0.5));
        assert_eq!(result.labels.get("team").map(String::as_str), Some("a"));
        assert!(!result.labels.contains_key("n"));
        assert_eq!(result.input.as_deref(), Some(r#"{"q":"x"}"#));
        assert!(parsed.notes.iter().any(|n| n.contains("testIdx")));
    }

    #[test]
    fn never_panics_on_cut_or_odd_input() {
        let bytes = fixture("promptfoo/run-02.json");
        for end in (0..bytes.len()).step_by(997) {
            let _ = parse(source("run-02.json", &bytes[..end]));
            let _ = sniff(source("run-02.json", &bytes[..end]));
        }
        for text in [
            "",
            "null",
            "[]",
            "{}",
            "{\"evalId\": 1, \"results\": {}}",
            "\u{feff}x",
            "{\"testIdx\":1,\"success\":true}\n[",
        ] {
            let _ = parse(source("x.json", text.as_bytes()));
            let _ = parse(source("x.jsonl", text.as_bytes()));
        }
    }

    #[test]
    fn negative_latency_cost_and_tokens_are_left_out() {
        let mut doc: Value = serde_json::from_slice(&fixture("promptfoo/run-01.json")).unwrap();
        let first = &mut doc["results"]["results"][0];
        first["latencyMs"] = serde_json::json!(-6);
        first["cost"] = serde_json::json!(-0.5);
        first["tokenUsage"]["total"] = serde_json::json!(-3);
        let bytes = serde_json::to_vec(&doc).unwrap();
        let parsed = parse(source("run-01.json", &bytes)).unwrap();
        let result = &parsed.results[0];
        assert_eq!(
            (result.latency_ms, result.cost_usd, result.tokens),
            (None, None, None)
        );
    }
}
