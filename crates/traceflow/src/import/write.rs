//! Results into a store: a trace per case execution, in one transaction
//! per file.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{CaseResult, Format, Judging};
use crate::model::PASSED_PREFIX;
use crate::model::{EvalDecision, EvalRecord, RunStatus, StepRecord};
use crate::store::sqlite::{ImportedTrace, Put, SqliteStore};
use crate::store::StoreError;

/// Config keys an import sets on every trace; a label may not take them.
pub const RESERVED_KEYS: [&str; 4] = ["source", "run", "case", "repeat"];

/// What writing a file's results did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Results new to the store.
    pub created: usize,
    /// Results the store had with other content (a log that was still
    /// running), now replaced.
    pub replaced: usize,
    /// Results the store had as they are.
    pub unchanged: usize,
}

impl Written {
    /// Adds another file's counts.
    pub fn add(&mut self, other: Written) {
        self.created += other.created;
        self.replaced += other.replaced;
        self.unchanged += other.unchanged;
    }
}

/// A result's trace id: its source identity, `FORMAT:RUN:CASE:REPEAT`, with
/// `%` and `:` in the parts written `%25` and `%3A` so that two identities
/// never share an id.
pub fn identity(format: Format, result: &CaseResult) -> String {
    let part = |text: &str| text.replace('%', "%25").replace(':', "%3A");
    format!(
        "{}:{}:{}:{}",
        format,
        part(&result.run),
        part(&result.case),
        result.repeat
    )
}

/// Writes a file's results in one transaction: all of them or, on an error,
/// none. `labels` (`import --label KEY=VALUE`) go into every trace's config
/// and win over the source's own labels of the same name.
pub fn write(
    store: &mut SqliteStore,
    format: Format,
    results: &[CaseResult],
    labels: &BTreeMap<String, String>,
) -> Result<Written, StoreError> {
    write_file(store, format, results, labels, &Judging::default(), &[])
}

/// [`write()`], and for the files imported whole their digests, recorded
/// in the same transaction: importing them again as they were reads
/// nothing.
pub(crate) fn write_file(
    store: &mut SqliteStore,
    format: Format,
    results: &[CaseResult],
    labels: &BTreeMap<String, String>,
    judging: &Judging,
    digests: &[String],
) -> Result<Written, StoreError> {
    let batch = store.import_batch()?;
    let mut written = Written::default();
    for result in results {
        match batch.put_imported(&trace_of(format, result, labels, judging))? {
            Put::Created => written.created += 1,
            Put::Replaced => written.replaced += 1,
            Put::Unchanged => written.unchanged += 1,
        }
    }
    for digest in digests {
        batch.put_imported_file(digest, format.as_str(), results.len() as u64)?;
    }
    batch.commit()?;
    Ok(written)
}

/// The key of an evaluation's score: its name, except that a name that
/// would read as a pass-or-fail indicator (`passed:x`) has its first `:`
/// written `%3A` (`passed%3Ax`), so that it neither overwrites evaluation
/// `x`'s verdict nor reads as one.
fn score_key(name: &str) -> String {
    match name.strip_prefix(PASSED_PREFIX) {
        Some(rest) => format!("{}%3A{rest}", &PASSED_PREFIX[..PASSED_PREFIX.len() - 1]),
        None => name.to_owned(),
    }
}

/// The rows a result becomes.
pub(crate) fn trace_of(
    format: Format,
    result: &CaseResult,
    labels: &BTreeMap<String, String>,
    judging: &Judging,
) -> ImportedTrace {
    let judged;
    let result = if judging.is_empty() {
        result
    } else {
        let mut copy = result.clone();
        judging.apply(format, &mut copy);
        judged = copy;
        &judged
    };
    let trace_id = identity(format, result);
    let mut config = serde_json::Map::new();
    for (key, value) in result.labels.iter().chain(labels) {
        if !RESERVED_KEYS.contains(&key.as_str()) {
            config.insert(key.clone(), value.clone().into());
        }
    }
    config.insert("source".into(), format.as_str().into());
    config.insert("run".into(), result.run.clone().into());
    config.insert("case".into(), result.case.clone().into());
    config.insert("repeat".into(), result.repeat.into());
    let finished_at = result
        .latency_ms
        .filter(|ms| ms.is_finite() && *ms >= 0.0 && *ms < 1e12)
        .and_then(|ms| {
            result
                .at
                .checked_add(jiff::SignedDuration::from_micros((ms * 1e3) as i64))
                .ok()
        })
        .or(Some(result.at));
    let step = StepRecord {
        trace_id: trace_id.clone(),
        step_seq: 0,
        node_name: "executor".to_owned(),
        input: None,
        output: None,
        tokens: result.tokens.unwrap_or(0),
        latency_ms: result.latency_ms.filter(|v| v.is_finite()).unwrap_or(0.0),
        cost_usd: result.cost_usd.filter(|v| v.is_finite()).unwrap_or(0.0),
        error: result.error.clone(),
        cache_hit: false,
        created_at: result.at,
    };
    // Every evaluation's score by its name, and whether it passed (1) or
    // failed (0) as `passed:<name>`, which `pass-rate.<name>` trends.
    let scores: BTreeMap<String, Option<f64>> = result
        .evaluations
        .iter()
        .flat_map(|e| {
            let score = e
                .score
                .filter(|s| s.is_finite())
                .map(|s| (score_key(&e.name), Some(s)));
            let passed = e.passed.map(|passed| {
                (
                    format!("{PASSED_PREFIX}{}", e.name),
                    Some(if passed { 1.0 } else { 0.0 }),
                )
            });
            score.into_iter().chain(passed)
        })
        .collect();
    let reasons: Vec<String> = result
        .evaluations
        .iter()
        .filter(|e| e.passed == Some(false))
        .map(|e| match &e.explanation {
            Some(why) => format!("{}: {why}", e.name),
            None => e.name.clone(),
        })
        .chain(result.error.iter().map(|e| format!("error: {e}")))
        .collect();
    let eval = EvalRecord {
        trace_id: trace_id.clone(),
        step_seq: 0,
        // A case that failed has no second attempt: TraceFlow Lite's word
        // for a final failure is `fallback`.
        decision: if result.passed {
            EvalDecision::Pass
        } else {
            EvalDecision::Fallback
        },
        reasons: (!reasons.is_empty()).then_some(reasons),
        scores: (!scores.is_empty()).then_some(scores),
        revision_instructions: None,
        created_at: result.at,
    };
    let mut trace = ImportedTrace {
        trace_id,
        status: if result.error.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Done
        },
        mode: format.as_str().to_owned(),
        user_input: result.input.clone().unwrap_or_else(|| result.case.clone()),
        config_json: crate::python_json::to_string(&serde_json::Value::Object(config)),
        model: result.model.clone().unwrap_or_default(),
        provider: format.as_str().to_owned(),
        final_answer: result.output.clone(),
        error: result.error.clone(),
        created_at: result.at,
        finished_at,
        steps: vec![step],
        evals: vec![eval],
        digest: String::new(),
    };
    trace.digest = digest(&trace);
    trace
}

/// A digest of everything written for a trace: the SHA-256 of every
/// field in a fixed order, each in a stable encoding — a string as its
/// length (u64, little-endian) then its bytes; an absent value as the byte
/// 0, a present one as 1 then the value; an integer or a float as its 8
/// little-endian bytes (a float's bits: every float told apart exactly); a
/// time as its nanoseconds since 1970 (i128, little-endian); a list or a
/// map as its length then its items; a JSON value as its text. Before, the
/// SHA-256 of the trace's `Debug` text, whose formatting cost more than
/// the hashing: a store imported into before counts a result read again as
/// changed once, and rewrites its rows in place.
fn digest(trace: &ImportedTrace) -> String {
    // Every field named, so that a field added is a compile error here
    // until it is hashed.
    let ImportedTrace {
        trace_id,
        status,
        mode,
        user_input,
        config_json,
        model,
        provider,
        final_answer,
        error,
        created_at,
        finished_at,
        steps,
        evals,
        digest: _,
    } = trace;
    let mut fields = Fields(Sha256::new());
    for text in [
        trace_id,
        status.as_str(),
        mode,
        user_input,
        config_json,
        model,
        provider,
    ] {
        fields.text(text);
    }
    fields.optional_text(final_answer.as_deref());
    fields.optional_text(error.as_deref());
    fields.time(*created_at);
    fields.present(finished_at.is_some());
    if let Some(at) = finished_at {
        fields.time(*at);
    }
    fields.count(steps.len());
    for step in steps {
        let StepRecord {
            trace_id,
            step_seq,
            node_name,
            input,
            output,
            tokens,
            latency_ms,
            cost_usd,
            error,
            cache_hit,
            created_at,
        } = step;
        fields.text(trace_id);
        fields.number(step_seq.to_le_bytes());
        fields.text(node_name);
        for json in [input, output] {
            fields.optional_text(json.as_ref().map(ToString::to_string).as_deref());
        }
        fields.number(tokens.to_le_bytes());
        fields.number(latency_ms.to_bits().to_le_bytes());
        fields.number(cost_usd.to_bits().to_le_bytes());
        fields.optional_text(error.as_deref());
        fields.present(*cache_hit);
        fields.time(*created_at);
    }
    fields.count(evals.len());
    for eval in evals {
        let EvalRecord {
            trace_id,
            step_seq,
            decision,
            reasons,
            scores,
            revision_instructions,
            created_at,
        } = eval;
        fields.text(trace_id);
        fields.number(step_seq.to_le_bytes());
        fields.text(decision.as_str());
        fields.present(reasons.is_some());
        if let Some(reasons) = reasons {
            fields.count(reasons.len());
            for reason in reasons {
                fields.text(reason);
            }
        }
        fields.present(scores.is_some());
        if let Some(scores) = scores {
            fields.count(scores.len());
            for (name, score) in scores {
                fields.text(name);
                fields.present(score.is_some());
                if let Some(score) = score {
                    fields.number(score.to_bits().to_le_bytes());
                }
            }
        }
        fields.optional_text(revision_instructions.as_deref());
        fields.time(*created_at);
    }
    hex(&fields.0.finalize())
}

/// A hasher fed field by field, in [`digest`]'s encoding.
struct Fields(Sha256);

impl Fields {
    fn count(&mut self, count: usize) {
        self.0.update((count as u64).to_le_bytes());
    }

    fn text(&mut self, text: &str) {
        self.count(text.len());
        self.0.update(text.as_bytes());
    }

    fn present(&mut self, present: bool) {
        self.0.update([u8::from(present)]);
    }

    fn optional_text(&mut self, text: Option<&str>) {
        self.present(text.is_some());
        if let Some(text) = text {
            self.text(text);
        }
    }

    fn number(&mut self, bytes: [u8; 8]) {
        self.0.update(bytes);
    }

    fn time(&mut self, at: jiff::Timestamp) {
        self.0.update(at.as_nanosecond().to_le_bytes());
    }
}

/// The SHA-256 of the parts, one after another, in hex.
#[cfg(test)]
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

/// Bytes in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace with every field set (none from [`trace_of`], which may
    /// change what it writes).
    fn trace() -> ImportedTrace {
        let at: jiff::Timestamp = "2026-12-07T23:44:19.5Z".parse().unwrap();
        let id = "promptfoo:run-1:case-1:0".to_owned();
        let mut trace = ImportedTrace {
            trace_id: id.clone(),
            status: RunStatus::Done,
            mode: "promptfoo".to_owned(),
            user_input: "question".to_owned(),
            config_json:
                r#"{"case": "case-1", "repeat": 0, "run": "run-1", "source": "promptfoo"}"#
                    .to_owned(),
            model: "echo".to_owned(),
            provider: "promptfoo".to_owned(),
            final_answer: Some("answer".to_owned()),
            error: None,
            created_at: at,
            finished_at: Some(at + jiff::SignedDuration::from_micros(12_500)),
            steps: vec![StepRecord {
                trace_id: id.clone(),
                step_seq: 0,
                node_name: "executor".to_owned(),
                input: None,
                output: None,
                tokens: 7,
                latency_ms: 12.5,
                cost_usd: 0.25,
                error: None,
                cache_hit: false,
                created_at: at,
            }],
            evals: vec![EvalRecord {
                trace_id: id,
                step_seq: 0,
                decision: EvalDecision::Fallback,
                reasons: Some(vec!["correct: wrong".to_owned()]),
                scores: Some(BTreeMap::from([("correct".to_owned(), Some(0.0))])),
                revision_instructions: None,
                created_at: at,
            }],
            digest: String::new(),
        };
        trace.digest = digest(&trace);
        trace
    }

    /// The encoding is stable: the same trace has this digest in every
    /// build (a change would count every result read again as changed).
    /// The value is the documented encoding's, computed apart from this
    /// code (Python's `hashlib` and `struct`, field by field).
    #[test]
    fn a_traces_digest_is_stable() {
        assert_eq!(
            trace().digest,
            "58c05c19d399c9d7eeb70baf557857bc9a5e37923ca5d0746ce0ead412bef71a"
        );
    }

    /// SHA-256's test vector ("abc"), in lowercase hex, in parts.
    #[test]
    fn sha256_hex_is_the_lowercase_hex_of_the_parts_sha256() {
        assert_eq!(
            sha256_hex(&[b"a", b"", b"bc"]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// Every field counts, and where one ends and the next begins does too.
    #[test]
    fn every_field_changes_the_digest() {
        let base = trace();
        type Change = Box<dyn Fn(&mut ImportedTrace)>;
        let changes: Vec<Change> = vec![
            Box::new(|t| t.trace_id.push('x')),
            Box::new(|t| t.status = RunStatus::Failed),
            Box::new(|t| t.mode.push('x')),
            Box::new(|t| t.user_input.push('x')),
            Box::new(|t| t.config_json.push('x')),
            Box::new(|t| t.model.push('x')),
            Box::new(|t| t.provider.push('x')),
            Box::new(|t| t.final_answer = None),
            Box::new(|t| t.error = Some(String::new())),
            Box::new(|t| t.created_at += jiff::SignedDuration::from_nanos(1)),
            Box::new(|t| t.finished_at = None),
            Box::new(|t| t.steps.clear()),
            Box::new(|t| t.steps[0].trace_id.push('x')),
            Box::new(|t| t.steps[0].step_seq = 1),
            Box::new(|t| t.steps[0].node_name.push('x')),
            Box::new(|t| t.steps[0].input = Some(serde_json::json!({}))),
            Box::new(|t| t.steps[0].output = Some(serde_json::json!(null))),
            Box::new(|t| t.steps[0].tokens = 8),
            Box::new(|t| t.steps[0].latency_ms = -0.0),
            Box::new(|t| t.steps[0].cost_usd = 0.250_000_000_000_000_1),
            Box::new(|t| t.steps[0].error = Some("e".to_owned())),
            Box::new(|t| t.steps[0].cache_hit = true),
            Box::new(|t| {
                t.steps[0].created_at = t.created_at + jiff::SignedDuration::from_nanos(1)
            }),
            Box::new(|t| t.evals.push(t.evals[0].clone())),
            Box::new(|t| t.evals[0].trace_id.push('x')),
            Box::new(|t| t.evals[0].step_seq = 1),
            Box::new(|t| t.evals[0].decision = EvalDecision::Pass),
            Box::new(|t| t.evals[0].reasons = None),
            Box::new(|t| t.evals[0].reasons = Some(Vec::new())),
            Box::new(|t| t.evals[0].scores = None),
            Box::new(|t| {
                t.evals[0].scores = Some(BTreeMap::from([("correct".to_owned(), None)]));
            }),
            Box::new(|t| t.evals[0].revision_instructions = Some(String::new())),
            Box::new(|t| {
                t.evals[0].created_at = t.created_at + jiff::SignedDuration::from_nanos(1)
            }),
            // The same bytes, split at another place.
            Box::new(|t| {
                t.model = "ab".to_owned();
                t.provider = "c".to_owned();
            }),
        ];
        let mut seen = std::collections::BTreeSet::from([base.digest.clone()]);
        let split = {
            let mut t = base.clone();
            t.model = "a".to_owned();
            t.provider = "bc".to_owned();
            digest(&t)
        };
        seen.insert(split);
        for (i, change) in changes.iter().enumerate() {
            let mut changed = base.clone();
            change(&mut changed);
            assert!(
                seen.insert(digest(&changed)),
                "change {i} left the digest as it was"
            );
        }
        assert_eq!(
            digest(&base),
            base.digest,
            "the digest is of the trace alone"
        );
    }
}
