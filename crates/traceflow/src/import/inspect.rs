//! Inspect AI's logs: the `.eval` zip and the `.json` of
//! `inspect log convert --to json`.
//!
//! A result per sample and epoch: run = `eval.run_id`, case = the sample's
//! `id` (text or an integer, as text), repeat = its `epoch` (1-based, as
//! Inspect numbers it), time = the sample's `started_at` (else the eval's
//! `created`), model = `eval.model`, tokens = the sum of the sample's
//! `model_usage[*].total_tokens`, latency = its `total_time`. Each scorer in
//! `scores` is an evaluation (see [`evaluation`] for values); a sample
//! passes when every scorer that says pass or fail passed and it has no
//! `error` (whose message is then the result's error).
//!
//! An `.eval` is a zip of JSON members (zstd- or deflate-compressed):
//! `header.json` (the eval, its status, results and error), and a member
//! `samples/ID_epoch_N.json` per sample; the summaries, reductions and
//! `_journal/` are not read, except `_journal/start.json` when a log that
//! never finished has no `header.json`. Every member is read to at most
//! [`MAX_MEMBER`] bytes decompressed (a zip bomb is refused, not
//! inflated). A log whose `status` is not `success` is imported with the
//! samples it holds, and a note says so.

use std::fmt;
use std::io::{Cursor, Read};
use std::marker::PhantomData;

use jiff::Timestamp;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::{label_passes, CaseResult, Evaluation, Invalid, Parsed, Source};

/// The most a member of an `.eval` may decompress to (1 GiB).
const MAX_MEMBER: u64 = 1 << 30;

/// A zip's local file header signature.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Whether the file is in this format: a zip with `header.json` (or, for a
/// log still being written, `_journal/start.json`), or a JSON object whose
/// `eval` has `run_id` and `task`.
pub(crate) fn sniff(source: Source<'_>) -> bool {
    if source.bytes.starts_with(ZIP_MAGIC) {
        return zip::ZipArchive::new(Cursor::new(source.bytes)).is_ok_and(|archive| {
            archive.index_for_name(HEADER).is_some() || archive.index_for_name(START).is_some()
        });
    }
    super::first_object(source.bytes).is_some_and(|object| {
        object
            .get("eval")
            .and_then(Value::as_object)
            .is_some_and(|eval| eval.contains_key("run_id") && eval.contains_key("task"))
    })
}

/// Reads the file: an `.eval` zip or a `.json` log.
pub(crate) fn parse(source: Source<'_>) -> Result<Parsed, Invalid> {
    if source.bytes.starts_with(ZIP_MAGIC) {
        parse_zip(source.bytes)
    } else {
        parse_json(source.bytes)
    }
}

const HEADER: &str = "header.json";
const START: &str = "_journal/start.json";

/// The log's header: `header.json` of an `.eval`, the top of a `.json`.
#[derive(Debug, Deserialize)]
struct Log {
    /// `success`, `error`, `cancelled`, `started`; absent in
    /// `_journal/start.json`.
    #[serde(default)]
    status: Option<String>,
    eval: Eval,
    #[serde(default)]
    error: Option<Failure>,
    /// Only in a `.json` log; each is read on its own, to name the one at
    /// fault.
    #[serde(default)]
    samples: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Eval {
    run_id: String,
    created: Timestamp,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    model: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Failure {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Sample {
    id: Value,
    #[serde(default = "first_epoch")]
    epoch: u32,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    output: Option<Output>,
    #[serde(default)]
    scores: Option<Ordered<Score>>,
    #[serde(default)]
    model_usage: Option<Ordered<Usage>>,
    #[serde(default)]
    started_at: Option<Timestamp>,
    #[serde(default)]
    total_time: Option<f64>,
    #[serde(default)]
    error: Option<Failure>,
}

fn first_epoch() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
struct Output {
    #[serde(default)]
    completion: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Score {
    #[serde(default)]
    value: Value,
    #[serde(default)]
    explanation: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: Option<i64>,
    #[serde(default)]
    output_tokens: Option<i64>,
    #[serde(default)]
    total_tokens: Option<i64>,
}

/// A JSON object's entries in the file's order (scorers keep theirs).
#[derive(Debug)]
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

fn parse_json(bytes: &[u8]) -> Result<Parsed, Invalid> {
    let mut log: Log = serde_json::from_slice(bytes)
        .map_err(|e| Invalid::file(format!("not an Inspect log: {e}")))?;
    let samples = log.samples.take().unwrap_or_default();
    let mut parsed = Parsed::default();
    for (index, sample) in samples.into_iter().enumerate() {
        let record = format!("samples[{index}]");
        let sample: Sample =
            serde_json::from_value(sample).map_err(|e| Invalid::at(&record, e.to_string()))?;
        parsed.results.push(result(&log, sample, &record)?);
    }
    note_status(&log, &mut parsed);
    Ok(parsed)
}

fn parse_zip(bytes: &[u8]) -> Result<Parsed, Invalid> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Invalid::file(format!("not a readable zip: {e}")))?;
    let mut parsed = Parsed::default();
    let header = if archive.index_for_name(HEADER).is_some() {
        HEADER
    } else if archive.index_for_name(START).is_some() {
        parsed.notes.push(format!(
            "no {HEADER}: the log never finished; read its eval from {START}"
        ));
        START
    } else {
        return Err(Invalid::file(
            "a zip without header.json: not an Inspect log",
        ));
    };
    let log: Log = serde_json::from_slice(&member(&mut archive, header)?)
        .map_err(|e| Invalid::at(header, e.to_string()))?;
    // In the archive's order (the order Inspect wrote the samples).
    let mut names = Vec::new();
    for index in 0..archive.len() {
        if let Some(Ok(name)) = archive.name_for_index(index) {
            if name.starts_with("samples/") && name.ends_with(".json") {
                names.push(name.into_owned());
            }
        }
    }
    for name in names {
        let sample: Sample = serde_json::from_slice(&member(&mut archive, &name)?)
            .map_err(|e| Invalid::at(&name, e.to_string()))?;
        parsed.results.push(result(&log, sample, &name)?);
    }
    note_status(&log, &mut parsed);
    Ok(parsed)
}

/// A member's bytes, decompressed, refusing one larger than [`MAX_MEMBER`]
/// whatever its header claims.
fn member(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Vec<u8>, Invalid> {
    let file = archive
        .by_name(name)
        .map_err(|e| Invalid::at(name, format!("cannot read this member: {e}")))?;
    let too_large = || {
        Invalid::at(
            name,
            format!("decompresses to more than {MAX_MEMBER} bytes: refused"),
        )
    };
    if file.size() > MAX_MEMBER {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_MEMBER + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Invalid::at(name, format!("cannot decompress this member: {e}")))?;
    if bytes.len() as u64 > MAX_MEMBER {
        return Err(too_large());
    }
    Ok(bytes)
}

fn note_status(log: &Log, parsed: &mut Parsed) {
    let status = log.status.as_deref().unwrap_or("started");
    if status != "success" {
        let why = log
            .error
            .as_ref()
            .and_then(|e| e.message.as_deref())
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        parsed.notes.push(format!(
            "the log's status is {status}{why}, not success: imported the {} samples it holds",
            parsed.results.len()
        ));
    }
}

fn result(log: &Log, sample: Sample, record: &str) -> Result<CaseResult, Invalid> {
    let case = match &sample.id {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => {
            return Err(Invalid::at(
                record,
                format!("id must be text or an integer, not {other}"),
            ))
        }
    };
    let mut result = CaseResult::new(
        log.eval.run_id.clone(),
        case,
        sample.started_at.unwrap_or(log.eval.created),
    );
    result.repeat = sample.epoch;
    result.model = log.eval.model.clone();
    if let Some(task) = &log.eval.task {
        result.labels.insert("task".to_owned(), task.clone());
    }
    result.input = sample.input.as_ref().and_then(input_text);
    result.output = sample.output.and_then(|o| o.completion);
    result.latency_ms = sample
        .total_time
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map(|t| t * 1000.0);
    // Counts saturate rather than overflow; a negative one is no count, and
    // the sample's tokens are left out.
    result.tokens = sample.model_usage.and_then(|usage| {
        usage.0.iter().try_fold(0_i64, |sum, (_, u)| {
            let count = match u.total_tokens {
                Some(total) => total,
                None => {
                    let (input, output) =
                        (u.input_tokens.unwrap_or(0), u.output_tokens.unwrap_or(0));
                    if input < 0 || output < 0 {
                        return None;
                    }
                    input.saturating_add(output)
                }
            };
            (count >= 0).then(|| sum.saturating_add(count))
        })
    });
    result.error = sample
        .error
        .map(|e| e.message.unwrap_or_else(|| "error".to_owned()));
    result.evaluations = sample
        .scores
        .map(|scores| {
            scores
                .0
                .into_iter()
                .map(|(name, score)| evaluation(name, score))
                .collect()
        })
        .unwrap_or_default();
    result.passed = result.passed_by_evaluations();
    Ok(result)
}

/// A scorer's value as an evaluation, as Inspect's `value_to_float` reads
/// it: `C` 1, `P` 0.5, `I` and `N` 0 (passed when 1, so a partial or no
/// answer fails); `yes`/`true` 1 and `no`/`false` 0; other text a number
/// if it is one, else no score, passed by [`label_passes`]; a number as is,
/// passed unsaid; a bool 1 or 0, passed as it says; a list or an object
/// (Inspect allows both) neither score nor pass.
fn evaluation(name: String, score: Score) -> Evaluation {
    let label = match &score.value {
        Value::String(text) => Some(text.trim().to_owned()),
        _ => None,
    };
    let (value, passed) = match &score.value {
        Value::Bool(b) => (Some(if *b { 1.0 } else { 0.0 }), Some(*b)),
        Value::Number(n) => (n.as_f64().filter(|v| v.is_finite()), None),
        Value::String(text) => {
            let letter = match text.trim() {
                "C" => Some(1.0),
                "P" => Some(0.5),
                "I" | "N" => Some(0.0),
                _ => None,
            };
            match letter {
                Some(v) => (Some(v), Some(v >= 1.0)),
                None => {
                    let lower = text.trim().to_ascii_lowercase();
                    match lower.as_str() {
                        "yes" | "true" => (Some(1.0), Some(true)),
                        "no" | "false" => (Some(0.0), Some(false)),
                        _ => (
                            lower.parse::<f64>().ok().filter(|v| v.is_finite()),
                            label_passes(text),
                        ),
                    }
                }
            }
        }
        _ => (None, None),
    };
    Evaluation {
        name,
        score: value,
        passed,
        explanation: score.explanation,
        label,
    }
}

/// The input as text: a string as is, a list of chat messages their text
/// contents, one a line.
fn input_text(input: &Value) -> Option<String> {
    match input {
        Value::String(text) => Some(text.clone()),
        Value::Array(messages) => {
            let texts: Vec<&str> = messages
                .iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::fixtures::failing;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/import/inspect"
    );

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}/{path}")).unwrap()
    }

    fn source<'a>(name: &'a str, bytes: &'a [u8]) -> Source<'a> {
        Source {
            name,
            modified: None,
            bytes,
        }
    }

    fn expected() -> Value {
        serde_json::from_slice(&read("expected.json")).unwrap()
    }

    #[test]
    fn every_run_reads_as_the_tool_summarized_it() {
        let expected = expected();
        let runs = expected["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 10);
        let mut run_ids = std::collections::BTreeSet::new();
        for (n, run) in runs.iter().enumerate() {
            let n = n + 1;
            let file = run["file"].as_str().unwrap();
            let bytes = read(file);
            let source = source(file, &bytes);
            assert!(sniff(source), "{file}");
            let parsed = parse(source).unwrap();
            assert!(parsed.notes.is_empty(), "{file}: {:?}", parsed.notes);
            assert_eq!(
                parsed.results.len() as u64,
                run["samples_in_log"].as_u64().unwrap(),
                "{file}"
            );
            // Accuracy of `correct` = the share of samples whose `correct` passed.
            let correct = parsed
                .results
                .iter()
                .filter(|r| {
                    r.evaluations
                        .iter()
                        .any(|e| e.name == "correct" && e.passed == Some(true))
                })
                .count() as f64
                / parsed.results.len() as f64;
            let accuracy = run["scores"]["correct"]["accuracy"].as_f64().unwrap();
            assert!((correct - accuracy).abs() < 1e-9, "{file}");
            let quality: f64 = parsed
                .results
                .iter()
                .map(|r| {
                    r.evaluations
                        .iter()
                        .find(|e| e.name == "quality")
                        .and_then(|e| e.score)
                        .unwrap()
                })
                .sum::<f64>()
                / parsed.results.len() as f64;
            let mean = run["scores"]["quality"]["mean"].as_f64().unwrap();
            assert!((quality - mean).abs() < 1e-9, "{file}");

            let failed: Vec<String> = parsed
                .results
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.case.clone())
                .collect();
            assert_eq!(failed, failing(n).into_iter().collect::<Vec<_>>(), "{file}");
            for r in &parsed.results {
                assert_eq!(r.repeat, 1);
                assert_eq!(r.model.as_deref(), Some("mockllm/model"));
                assert!(r.tokens.unwrap() > 0);
                assert!(r.latency_ms.is_some());
                assert!(r.error.is_none());
                let names: Vec<&str> = r.evaluations.iter().map(|e| e.name.as_str()).collect();
                assert_eq!(names, ["correct", "quality"]);
                // A number says neither pass nor fail.
                assert_eq!(r.evaluations[1].passed, None);
            }
            let cases: Vec<String> = parsed.results.iter().map(|r| r.case.clone()).collect();
            let design: Vec<String> = (1..=12).map(|i| format!("case-{i:02}")).collect();
            assert_eq!(cases, design);
            run_ids.insert(parsed.results[0].run.clone());
        }
        assert_eq!(run_ids.len(), 10, "each run its own run_id");
    }

    #[test]
    fn the_json_log_reads_as_its_eval() {
        let json = read("json/run-09.json");
        let eval = read("run-09.eval");
        assert!(sniff(source("run-09.json", &json)));
        let from_json = parse(source("run-09.json", &json)).unwrap();
        let from_eval = parse(source("run-09.eval", &eval)).unwrap();
        assert_eq!(from_json, from_eval);
        assert_eq!(from_json.results.len(), 12);
    }

    #[test]
    fn a_log_that_did_not_succeed_reads_with_a_note() {
        let bytes = read("extra/error-sample.eval");
        let source = source("error-sample.eval", &bytes);
        assert!(sniff(source));
        let parsed = parse(source).unwrap();
        assert_eq!(parsed.results.len(), 12);
        assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
        assert!(
            parsed.notes[0].contains("status is error"),
            "{:?}",
            parsed.notes
        );
        let errored: Vec<&CaseResult> = parsed
            .results
            .iter()
            .filter(|r| r.error.is_some())
            .collect();
        assert_eq!(errored.len(), 1);
        assert_eq!(errored[0].case, "case-12");
        assert!(!errored[0].passed);
        assert!(errored[0]
            .error
            .as_deref()
            .unwrap()
            .contains("scripted failure"));
    }

    #[test]
    fn values_read_as_value_to_float_reads_them() {
        let eval = |value: Value| {
            let e = evaluation(
                "s".into(),
                Score {
                    value,
                    explanation: None,
                },
            );
            (e.score, e.passed)
        };
        assert_eq!(eval("C".into()), (Some(1.0), Some(true)));
        assert_eq!(eval("P".into()), (Some(0.5), Some(false)));
        assert_eq!(eval("I".into()), (Some(0.0), Some(false)));
        assert_eq!(eval("N".into()), (Some(0.0), Some(false)));
        assert_eq!(eval("yes".into()), (Some(1.0), Some(true)));
        assert_eq!(eval("0.25".into()), (Some(0.25), None));
        assert_eq!(eval("pass".into()), (None, Some(true)));
        assert_eq!(eval(0.7.into()), (Some(0.7), None));
        assert_eq!(eval(false.into()), (Some(0.0), Some(false)));
        assert_eq!(eval(serde_json::json!({"a": 1})), (None, None));
    }

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        // A stored (uncompressed) zip, written by hand: the crate is read-only here.
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in members {
            let offset = out.len() as u32;
            let crc = crc32(data);
            let mut local = Vec::new();
            local.extend_from_slice(b"PK\x03\x04");
            local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            local.extend_from_slice(&crc.to_le_bytes());
            local.extend_from_slice(&(data.len() as u32).to_le_bytes());
            local.extend_from_slice(&(data.len() as u32).to_le_bytes());
            local.extend_from_slice(&(name.len() as u16).to_le_bytes());
            local.extend_from_slice(&[0, 0]);
            local.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&local);
            out.extend_from_slice(data);
            central.extend_from_slice(b"PK\x01\x02");
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let start = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06");
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_zip_that_is_not_inspect_is_invalid() {
        let bytes = zip_of(&[("readme.txt", b"hello")]);
        let source = source("other.zip", &bytes);
        assert!(!sniff(source));
        assert_eq!(
            parse(source).unwrap_err(),
            Invalid::file("a zip without header.json: not an Inspect log")
        );
        let truncated = &bytes[..bytes.len() - 10];
        assert!(parse(self::source("cut.zip", truncated)).is_err());
    }

    #[test]
    fn a_bad_sample_names_its_member() {
        let header = br#"{"status":"success","eval":{"run_id":"r","created":"2026-01-01T00:00:00+00:00","task":"t"}}"#;
        let good = br#"{"id":7,"epoch":2,"scores":{"s":{"value":"C"}}}"#;
        let bytes = zip_of(&[("header.json", header), ("samples/7_epoch_2.json", good)]);
        let parsed = parse(source("a.eval", &bytes)).unwrap();
        assert_eq!(parsed.results[0].case, "7");
        assert_eq!(parsed.results[0].repeat, 2);
        assert!(parsed.results[0].passed);

        let bad = br#"{"id":{"x":1},"epoch":1}"#;
        let bytes = zip_of(&[("header.json", header), ("samples/x_epoch_1.json", bad)]);
        let err = parse(source("b.eval", &bytes)).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("samples/x_epoch_1.json"));

        let bad = br#"{"id":"a","epoch":"one"}"#;
        let bytes = zip_of(&[("header.json", header), ("samples/a_epoch_1.json", bad)]);
        let err = parse(source("c.eval", &bytes)).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("samples/a_epoch_1.json"));

        let json = br#"{"status":"success","eval":{"run_id":"r","created":"2026-01-01T00:00:00+00:00","task":"t"},"samples":[{"id":"a","scores":{"s":{"value":"C"}}},{"id":"b","total_time":"slow"}]}"#;
        let err = parse(source("d.json", json)).unwrap_err();
        assert_eq!(err.record.as_deref(), Some("samples[1]"));
        assert!(parse(source("e.json", &json[..40])).is_err());
    }

    #[test]
    fn token_counts_that_overflow_or_are_negative_do_not_panic_or_import() {
        let tokens = |usage: &str| {
            let json = format!(
                r#"{{"status":"success","eval":{{"run_id":"r","created":"2026-01-01T00:00:00+00:00","task":"t"}},"samples":[{{"id":"a","model_usage":{usage}}}]}}"#
            );
            parse(source("t.json", json.as_bytes())).unwrap().results[0].tokens
        };
        let max = i64::MAX;
        assert_eq!(
            tokens(&format!(
                r#"{{"m1":{{"total_tokens":{max}}},"m2":{{"total_tokens":{max}}}}}"#
            )),
            Some(max)
        );
        assert_eq!(
            tokens(&format!(
                r#"{{"m1":{{"input_tokens":{max},"output_tokens":{max}}}}}"#
            )),
            Some(max)
        );
        assert_eq!(tokens(r#"{"m1":{"total_tokens":-5}}"#), None);
        assert_eq!(
            tokens(r#"{"m1":{"total_tokens":5},"m2":{"total_tokens":2}}"#),
            Some(7)
        );
    }
}
