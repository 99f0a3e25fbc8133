//! Results into a store: a trace per case execution, in one transaction
//! per file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::{CaseResult, Format};
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
    write_file(store, format, results, labels, &[])
}

/// [`write()`], and for the files imported whole their digests, recorded
/// in the same transaction: importing them again as they were reads
/// nothing.
pub(crate) fn write_file(
    store: &mut SqliteStore,
    format: Format,
    results: &[CaseResult],
    labels: &BTreeMap<String, String>,
    digests: &[String],
) -> Result<Written, StoreError> {
    let batch = store.import_batch()?;
    let mut written = Written::default();
    for result in results {
        match batch.put_imported(&trace_of(format, result, labels))? {
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

/// The rows a result becomes.
pub(crate) fn trace_of(
    format: Format,
    result: &CaseResult,
    labels: &BTreeMap<String, String>,
) -> ImportedTrace {
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
                .map(|s| (e.name.clone(), Some(s)));
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

/// A digest of everything written for a trace (its `Debug` form, which
/// prints every field and float exactly).
fn digest(trace: &ImportedTrace) -> String {
    sha256_hex(&[format!("{trace:?}").as_bytes()])
}

/// The SHA-256 of the parts, one after another, in hex.
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
