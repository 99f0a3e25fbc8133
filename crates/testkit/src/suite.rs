//! Eval-suite stores of known truth: traces asking a fixed set of cases,
//! some of which get worse at a chosen trace and some of which are coin
//! flips throughout, written as TraceFlow Lite's SDK writes a run (an
//! evaluator step per gate decision, a `trace_evals` row beside it).
//!
//! Each case has a difficulty: its chance to pass one attempt is the
//! history's chance shifted on the logit scale by a normal offset (standard
//! deviation [`SuiteSpec::case_sd`]). After [`SuiteSpec::step_at`] the
//! regressing cases take [`SuiteSpec::p_step`] as the history's chance, the
//! others keep [`SuiteSpec::p_start`]; flaky cases pass half their attempts.
//! An attempt that fails is revised, up to three attempts, the last failure
//! a fallback.

use std::collections::BTreeSet;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::json;
use traceflow::model::{
    EvalDecision, EvalRecord, Mode, RunConfig, RunStatus, StepRecord, TraceRecord,
};
use traceflow::store::SqliteStore;

/// The history to write.
#[derive(Debug, Clone)]
pub struct SuiteSpec {
    /// Traces, 7 minutes apart from 2026-01-01T00:00:00Z.
    pub traces: usize,
    /// Distinct cases; each trace asks one, drawn at random.
    pub cases: usize,
    /// Chance to pass one attempt at the start.
    pub p_start: f64,
    /// Chance at the end, reached linearly (the regressing cases only).
    pub p_end: f64,
    /// The trace from which the regressing cases take [`Self::p_step`].
    pub step_at: Option<usize>,
    /// Chance after the step.
    pub p_step: f64,
    /// Share of the (not flaky) cases that regress.
    pub regress_share: f64,
    /// Share of the cases that are flaky.
    pub flaky_share: f64,
    /// Spread of the cases' difficulty on the logit scale.
    pub case_sd: f64,
    /// The seed: the same spec writes the same store.
    pub seed: u64,
}

impl Default for SuiteSpec {
    fn default() -> Self {
        SuiteSpec {
            traces: 1000,
            cases: 20,
            p_start: 0.9,
            p_end: 0.9,
            step_at: None,
            p_step: 0.9,
            regress_share: 0.0,
            flaky_share: 0.0,
            case_sd: 1.0,
            seed: 1,
        }
    }
}

/// Which cases (by `user_input`) the history made regress or flaky.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Cases whose chance fell at the step.
    pub regressed: BTreeSet<String>,
    /// Cases that pass half their attempts throughout.
    pub flaky: BTreeSet<String>,
}

struct Case {
    input: String,
    mode: Mode,
    offset: f64,
    regresses: bool,
    flaky: bool,
}

const MODES: [Mode; 3] = [Mode::GroundedQa, Mode::TriagePlan, Mode::ChangeSafety];

fn cases(spec: &SuiteSpec, rng: &mut ChaCha8Rng) -> Vec<Case> {
    let mut order: Vec<usize> = (0..spec.cases).collect();
    order.shuffle(rng);
    let n_flaky = (spec.flaky_share * spec.cases as f64).round() as usize;
    let n_regress = (spec.regress_share * (spec.cases - n_flaky) as f64).round() as usize;
    let flaky: BTreeSet<usize> = order[..n_flaky].iter().copied().collect();
    let regress: BTreeSet<usize> = order[n_flaky..n_flaky + n_regress]
        .iter()
        .copied()
        .collect();
    (0..spec.cases)
        .map(|k| {
            let mode = MODES[k % 3];
            // A normal offset by the Box–Muller transform.
            let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            Case {
                input: format!(
                    "case {k:03}: {} question {k}",
                    mode.as_str().replace('_', " ")
                ),
                mode,
                offset: spec.case_sd * normal,
                regresses: regress.contains(&k),
                flaky: flaky.contains(&k),
            }
        })
        .collect()
}

/// The chance that `case` passes one attempt when the history's is `p`.
fn case_p(case: &Case, p: f64, p_start: f64) -> f64 {
    if case.flaky {
        return 0.5;
    }
    let base = if case.regresses { p } else { p_start }.clamp(1e-6, 1.0 - 1e-6);
    let z = (base / (1.0 - base)).ln() + case.offset;
    1.0 / (1.0 + (-z).exp())
}

/// Writes the history to a new store at `path` and says which cases it
/// made regress and flaky.
pub fn write_suite(path: &Path, spec: &SuiteSpec) -> Truth {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let cases = cases(spec, &mut rng);
    let mut store = SqliteStore::open_writable(path).expect("a new store");
    let batch = store.batch("writing a suite").expect("a write batch");
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a time");
    for i in 0..spec.traces {
        let frac = i as f64 / (spec.traces.max(2) - 1) as f64;
        let p = match spec.step_at {
            Some(at) if i >= at => spec.p_step,
            _ => spec.p_start + (spec.p_end - spec.p_start) * frac,
        };
        let case = &cases[rng.random_range(0..cases.len())];
        let p = case_p(case, p, spec.p_start);
        let trace_id = format!("{:032x}", rng.random::<u128>());
        let created_at = start
            + SignedDuration::from_mins(7 * i as i64)
            + SignedDuration::from_micros(rng.random_range(0..1_000_000));
        let mut clock = created_at;
        let mut decisions = Vec::new();
        for attempt in 0..3 {
            let decision = if rng.random_bool(p) {
                EvalDecision::Pass
            } else if attempt == 2 {
                EvalDecision::Fallback
            } else {
                EvalDecision::Revise
            };
            decisions.push(decision);
            if decision != EvalDecision::Revise {
                break;
            }
        }
        batch
            .create_trace(&TraceRecord {
                trace_id: trace_id.clone(),
                status: RunStatus::Done,
                mode: case.mode,
                user_input: case.input.clone(),
                config: RunConfig {
                    mode: case.mode,
                    model: "gpt-4o-mini".to_owned(),
                    provider: "openai".to_owned(),
                    ..RunConfig::default()
                },
                model: "gpt-4o-mini".to_owned(),
                provider: "openai".to_owned(),
                final_answer: Some("answer [1]".to_owned()),
                error: None,
                created_at,
                finished_at: Some(created_at + SignedDuration::from_secs(decisions.len() as i64)),
            })
            .expect("a trace");
        for (seq, decision) in decisions.into_iter().enumerate() {
            clock += SignedDuration::from_secs(1);
            let step_seq = seq as i64;
            batch
                .insert_step(&StepRecord {
                    trace_id: trace_id.clone(),
                    step_seq,
                    node_name: "evaluator".to_owned(),
                    input: None,
                    output: Some(json!({"decision": decision.as_str()})),
                    tokens: 0,
                    latency_ms: 0.3,
                    cost_usd: 0.0,
                    error: None,
                    cache_hit: false,
                    created_at: clock,
                })
                .expect("a step");
            batch
                .insert_eval(&EvalRecord {
                    trace_id: trace_id.clone(),
                    step_seq,
                    decision,
                    reasons: None,
                    scores: None,
                    revision_instructions: None,
                    created_at: clock,
                })
                .expect("a verdict");
        }
    }
    batch.commit().expect("the suite's commit");
    Truth {
        regressed: cases
            .iter()
            .filter(|c| c.regresses)
            .map(|c| c.input.clone())
            .collect(),
        flaky: cases
            .iter()
            .filter(|c| c.flaky)
            .map(|c| c.input.clone())
            .collect(),
    }
}
