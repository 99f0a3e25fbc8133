//! A realistic demo store: weeks of agent runs as TraceFlow Lite's SDK
//! records them, with a quality drop after a model change.
//!
//! Every run goes intake → planner → (retriever for grounded_qa) →
//! executor/evaluator attempts while the gate says REVISE → router on
//! FALLBACK, and the gate's report lives in the evaluator step's
//! `output_json` (the SDK writes no `trace_evals` rows). A few runs fail
//! with a provider error, and the newest runs are still `running`.

use jiff::{SignedDuration, Timestamp};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::json;

use crate::model::{Mode, RunConfig, RunStatus, StepRecord, Strictness, TraceRecord};
use crate::store::sqlite::{SqliteStore, WriteBatch};
use crate::store::StoreError;

/// The demo's default end, 2026-11-30T00:00:00Z: a fixed instant, so the
/// demo store (and every sample the README shows of it) is the same on
/// any day.
pub const DEFAULT_END: Timestamp = Timestamp::constant(1_795_996_800, 0);

/// Days of history by default.
pub const DEFAULT_DAYS: u32 = 42;

/// What the demo writes.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// Days of history.
    pub days: u32,
    /// Runs per day, on average.
    pub runs_per_day: u32,
    /// The day the model changes and quality drops.
    pub model_change_day: u32,
    /// Seed of the random history; the same seed writes the same store.
    pub seed: u64,
    /// Midnight (UTC) of the first day.
    pub start: Timestamp,
}

impl Default for DemoOptions {
    /// [`DemoOptions::ending_at`] [`DEFAULT_END`], [`DEFAULT_DAYS`] days.
    fn default() -> Self {
        DemoOptions::ending_at(DEFAULT_END, DEFAULT_DAYS)
    }
}

impl DemoOptions {
    /// `days` of about 30 runs a day, the last day being the one before
    /// `end`'s (UTC), so nothing lies in the future. The model changes 8
    /// days before the end (or two thirds of the way in, if later), so the
    /// change falls inside the 500 runs `auto` analyzes by default.
    pub fn ending_at(end: Timestamp, days: u32) -> Self {
        let midnight = end.as_second() - end.as_second().rem_euclid(86_400);
        DemoOptions {
            days,
            runs_per_day: 30,
            model_change_day: (days * 2 / 3).max(days.saturating_sub(8)),
            seed: 7,
            start: Timestamp::from_second(midnight - i64::from(days) * 86_400)
                .unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSummary {
    /// Traces written.
    pub traces: usize,
    /// Steps written.
    pub steps: usize,
    /// When the model changed.
    pub model_change_at: Timestamp,
    /// The model before the change.
    pub model_before: &'static str,
    /// The model after the change.
    pub model_after: &'static str,
}

const MODEL_BEFORE: &str = "gpt-4o-mini";
const MODEL_AFTER: &str = "gpt-4.1-nano";
const MAX_REVISIONS: i64 = 3;
/// Runs at the end still in flight.
const RUNNING_AT_END: usize = 2;

/// Writes the demo history into `store` in one transaction, calling
/// `progress(done, total)` as it goes.
pub fn write_demo(
    store: &mut SqliteStore,
    options: &DemoOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<DemoSummary, StoreError> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut starts = Vec::new();
    for day in 0..options.days {
        let runs = rng.random_range(options.runs_per_day / 2..=options.runs_per_day * 3 / 2);
        let mut seconds: Vec<i64> = (0..runs)
            .map(|_| rng.random_range(6 * 3600..23 * 3600))
            .collect();
        seconds.sort_unstable();
        for s in seconds {
            let micros = rng.random_range(0..1_000_000);
            let at = options
                .start
                .checked_add(SignedDuration::new(
                    i64::from(day) * 86_400 + s,
                    micros * 1000,
                ))
                .unwrap_or(options.start);
            starts.push((day, at));
        }
    }
    let model_change_at = options
        .start
        .checked_add(SignedDuration::from_hours(
            i64::from(options.model_change_day) * 24,
        ))
        .unwrap_or(options.start);

    let total = starts.len();
    let batch = store.batch("writing the demo store")?;
    let mut steps = 0;
    for (i, &(day, created_at)) in starts.iter().enumerate() {
        let running = i + RUNNING_AT_END >= total;
        let after_change = day >= options.model_change_day;
        steps += write_run(&batch, &mut rng, created_at, after_change, running)?;
        if i % 256 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
    }
    batch.commit()?;
    Ok(DemoSummary {
        traces: total,
        steps,
        model_change_at,
        model_before: MODEL_BEFORE,
        model_after: MODEL_AFTER,
    })
}

/// Chance that one attempt passes the gate, by mode, before and after the
/// model change (grounded answers lose their citations most).
fn pass_probability(mode: Mode, after_change: bool) -> f64 {
    match (mode, after_change) {
        (Mode::GroundedQa, false) => 0.93,
        (Mode::GroundedQa, true) => 0.70,
        (Mode::TriagePlan, false) => 0.96,
        (Mode::TriagePlan, true) => 0.90,
        (Mode::ChangeSafety, false) => 0.90,
        (Mode::ChangeSafety, true) => 0.84,
        // The demo writes TraceFlow Lite's own modes only; an imported
        // tool's results pass as grounded answers would.
        (_, false) => 0.93,
        (_, true) => 0.70,
    }
}

fn uuid4(rng: &mut ChaCha8Rng) -> String {
    let bits: u128 = rng.random();
    // Version 4, variant 1, as Python's uuid.uuid4() sets them.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

const QUESTIONS: &[(Mode, &str)] = &[
    (
        Mode::GroundedQa,
        "What is our refund window for annual plans?",
    ),
    (
        Mode::GroundedQa,
        "Which regions does the EU data residency option cover?",
    ),
    (
        Mode::GroundedQa,
        "How do I rotate an API key without downtime?",
    ),
    (
        Mode::TriagePlan,
        "Checkout latency doubled after the last deploy; triage it.",
    ),
    (
        Mode::TriagePlan,
        "Plan the migration of nightly jobs to the new scheduler.",
    ),
    (
        Mode::ChangeSafety,
        "Review: drop the legacy_sessions table in staging.",
    ),
    (
        Mode::ChangeSafety,
        "Review: raise the connection pool size from 20 to 50.",
    ),
];

/// Writes one run: its trace and the steps of its graph, as the SDK would
/// record them; returns how many steps.
fn write_run(
    batch: &WriteBatch<'_>,
    rng: &mut ChaCha8Rng,
    created_at: Timestamp,
    after_change: bool,
    running: bool,
) -> Result<usize, StoreError> {
    let trace_id = uuid4(rng);
    let (mode, question) = QUESTIONS[rng.random_range(0..QUESTIONS.len())];
    let model = if after_change {
        MODEL_AFTER
    } else {
        MODEL_BEFORE
    };
    let failed = !running && rng.random_bool(0.01);
    let mut run = Recording {
        trace_id,
        mode,
        after_change,
        clock: created_at,
        steps: Vec::new(),
    };
    run.prepare(rng);
    // A failed run stops at the provider's error; a running one has not
    // reached the executor yet.
    let answer = (!failed && !running).then(|| run.attempt(rng));
    let status = if running {
        RunStatus::Running
    } else if failed {
        RunStatus::Failed
    } else {
        RunStatus::Done
    };
    let trace = TraceRecord {
        trace_id: run.trace_id.clone(),
        status,
        mode,
        user_input: question.to_owned(),
        config: RunConfig {
            mode,
            strictness: Strictness::Balanced,
            model: model.to_owned(),
            provider: "openai".to_owned(),
            max_revisions: MAX_REVISIONS,
            ..RunConfig::default()
        },
        model: model.to_owned(),
        provider: "openai".to_owned(),
        final_answer: answer,
        error: failed.then(|| "provider timeout after 3 retries".to_owned()),
        created_at,
        finished_at: status.is_finished().then_some(run.clock),
    };
    batch.create_trace(&trace)?;
    for s in &run.steps {
        batch.insert_step(s)?;
    }
    Ok(run.steps.len())
}

/// A run being recorded: its steps so far, each one moving its clock on
/// by the step's latency.
struct Recording {
    trace_id: String,
    mode: Mode,
    after_change: bool,
    /// When the last step finished.
    clock: Timestamp,
    steps: Vec<StepRecord>,
}

impl Recording {
    /// Records the next step.
    fn step(
        &mut self,
        rng: &mut ChaCha8Rng,
        node: &str,
        tokens: i64,
        latency_ms: f64,
        output: serde_json::Value,
    ) {
        self.clock = self
            .clock
            .checked_add(SignedDuration::from_secs_f64(latency_ms / 1000.0))
            .unwrap_or(self.clock);
        let cost_usd = tokens as f64 * if self.after_change { 0.4e-6 } else { 0.6e-6 };
        self.steps.push(StepRecord {
            trace_id: self.trace_id.clone(),
            step_seq: i64::try_from(self.steps.len()).unwrap_or(i64::MAX),
            node_name: node.to_owned(),
            input: Some(json!({"mode": self.mode.as_str()})),
            output: Some(output),
            tokens,
            latency_ms,
            cost_usd,
            error: None,
            cache_hit: rng.random_bool(0.05),
            created_at: self.clock,
        });
    }

    /// The steps before the first draft: intake, the planner, and the
    /// retriever for a grounded question.
    fn prepare(&mut self, rng: &mut ChaCha8Rng) {
        let latency = rng.random_range(0.2..1.0);
        self.step(rng, "intake", 0, latency, json!({"normalized": true}));
        let (tokens, latency) = (rng.random_range(60..200), rng.random_range(200.0..900.0));
        let needs_context = self.mode == Mode::GroundedQa;
        self.step(
            rng,
            "planner",
            tokens,
            latency,
            json!({ "needs_context": needs_context }),
        );
        if needs_context {
            let (latency, chunks) = (rng.random_range(40.0..160.0), rng.random_range(3..6));
            self.step(rng, "retriever", 0, latency, json!({ "chunks": chunks }));
        }
    }

    /// Drafts and evaluates until the gate passes a draft or falls back
    /// (through the router) at the revision limit; returns the answer.
    fn attempt(&mut self, rng: &mut ChaCha8Rng) -> String {
        let p = pass_probability(self.mode, self.after_change);
        let mut revisions = 0;
        loop {
            let latency = rng.random_range(400.0..3200.0);
            let tokens = rng.random_range(250..1100);
            self.step(
                rng,
                "executor",
                tokens,
                latency,
                json!({"draft_chars": tokens * 3}),
            );
            let (decision, report) = gate_report(rng, p, revisions);
            let latency = rng.random_range(0.2..0.6);
            self.step(rng, "evaluator", 0, latency, report);
            match decision {
                "pass" => return "Annual plans can be refunded within 30 days [1].".to_owned(),
                "fallback" => {
                    let fallback = "I'm sorry, I couldn't generate a reliable response.";
                    self.step(rng, "router", 0, 0.3, json!({"fallback_msg": fallback}));
                    return fallback.to_owned();
                }
                _ => revisions += 1,
            }
        }
    }
}

/// The gate's decision on a draft (it passes with chance `p`; a failure
/// is a revision, or a fallback at the revision limit) and its report as
/// the SDK writes it into the evaluator step.
fn gate_report(rng: &mut ChaCha8Rng, p: f64, revisions: i64) -> (&'static str, serde_json::Value) {
    let (decision, reasons, scores) = if rng.random_bool(p) {
        (
            "pass",
            vec!["Passed all checks"],
            json!({"cost": 1.0, "latency": 1.0, "mode_compliance": 1.0}),
        )
    } else if revisions + 1 >= MAX_REVISIONS {
        (
            "fallback",
            vec![
                "Missing citations for grounded answer",
                "Revision limit reached",
            ],
            json!({"mode_compliance": 0.0}),
        )
    } else {
        (
            "revise",
            vec!["Missing citations for grounded answer"],
            json!({"mode_compliance": 0.5}),
        )
    };
    let report = json!({
        "decision": decision,
        "reasons": reasons,
        "scores": scores,
        "revision_instructions": (decision == "revise").then_some("Cite the sources you used as [1], [2]."),
        "citation_coverage_ok": decision == "pass",
        "schema_valid": true,
    });
    (decision, report)
}
