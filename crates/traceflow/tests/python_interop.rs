//! The other direction: stores that traceflow writes, read by Python.
//!
//! Needs python3 (a test fails saying so without it); the Python reader is
//! the repository's reference implementation of the trend rule
//! (`tests/fixtures/reference_trend.py`, stdlib only).

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::{SignedDuration, Timestamp};
use traceflow::model::{
    EvalDecision, EvalRecord, Mode, RunConfig, RunStatus, StepRecord, TraceRecord,
};
use traceflow::store::{SqliteStore, WriteStore};
use traceflow::trend::{Direction, TraceTrendAnalyzer, Window};

/// The reference analyzer, after checking that python3 runs.
fn reference() -> PathBuf {
    traceflow_testkit::fixtures::python3();
    traceflow_testkit::fixtures::fixture("reference_trend.py")
}

/// A declining history written through traceflow's API, with `trace_evals`
/// rows (the proposal reads only those) and Python-spelled timestamps.
fn write_history(path: &Path, runs: usize) {
    let mut store = SqliteStore::open_writable(path).unwrap();
    let start: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
    for i in 0..runs {
        let id = format!("{:032x}", 0x5eed_u128 * (i as u128 + 1));
        let created_at = start + SignedDuration::from_micros(i as i64 * 420_000_123);
        store
            .create_trace(&TraceRecord {
                trace_id: id.clone(),
                status: RunStatus::Done,
                mode: Mode::TriagePlan,
                user_input: format!("question {i} — naïve “quotes”"),
                config: RunConfig::default(),
                model: "gpt-4o-mini".to_owned(),
                provider: "openai".to_owned(),
                final_answer: Some("1. check logs".to_owned()),
                error: None,
                created_at,
                finished_at: Some(created_at + SignedDuration::from_secs(3)),
            })
            .unwrap();
        // Pass rate falls from 1 to 1/3 over the history.
        let fails = (i * 3) / runs;
        for seq in 0..3 {
            let decision = if seq < fails {
                EvalDecision::Revise
            } else {
                EvalDecision::Pass
            };
            store
                .insert_step(&StepRecord {
                    trace_id: id.clone(),
                    step_seq: seq as i64,
                    node_name: "evaluator".to_owned(),
                    input: None,
                    output: Some(serde_json::json!({"decision": decision.as_str()})),
                    tokens: 0,
                    latency_ms: 0.3,
                    cost_usd: 0.0,
                    error: None,
                    cache_hit: false,
                    created_at,
                })
                .unwrap();
            store
                .insert_eval(&EvalRecord {
                    trace_id: id.clone(),
                    step_seq: seq as i64,
                    decision,
                    reasons: Some(vec!["Missing citations".to_owned()]),
                    scores: Some(
                        [(
                            "mode_compliance".to_owned(),
                            Some(if seq < fails { 0.5 } else { 1.0 }),
                        )]
                        .into(),
                    ),
                    revision_instructions: None,
                    created_at,
                })
                .unwrap();
        }
    }
}

#[test]
fn the_python_reference_reads_a_traceflow_store_with_the_same_result() {
    let script = reference();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    write_history(&path, 30);
    let store = SqliteStore::open_read_only(&path).unwrap();
    for window in [5, 20, 30] {
        let ours = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::Last(window))
            .unwrap();
        let out = Command::new("python3")
            .arg(&script)
            .arg(&path)
            .args(["--window", &window.to_string()])
            .output()
            .unwrap();
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let slope = theirs["pass_rate_slope"].as_f64().unwrap();
        assert!(
            (ours.pass_rate_slope - slope).abs() <= 1e-12,
            "window {window}: {} vs {slope}",
            ours.pass_rate_slope
        );
        assert_eq!(
            ours.pass_rate_direction.as_str(),
            theirs["pass_rate_direction"],
            "window {window}"
        );
        assert_eq!(ours.window as u64, theirs["window"].as_u64().unwrap());
        // The slope rule's gate: a regression on worsening.
        assert_eq!(
            ours.pass_rate_direction == Direction::Worsening,
            theirs["any_regression"].as_bool().unwrap(),
            "window {window}"
        );
    }
}

#[test]
fn traceflow_lite_record_readers_accept_what_traceflow_writes() {
    traceflow_testkit::fixtures::python3();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    write_history(&path, 4);
    // TraceFlow Lite's `_row_to_*_record`: RunConfig(**config), enum
    // constructors, datetime.fromisoformat, json.loads.
    let check = r#"
import dataclasses, json, sqlite3, sys
from datetime import datetime
RUN_CONFIG = ["mode", "strictness", "model", "provider", "max_revisions", "max_latency_ms",
              "temperature", "top_k", "enable_cache", "max_tokens", "max_cost_usd", "retriever_fn"]
conn = sqlite3.connect(sys.argv[1]); conn.row_factory = sqlite3.Row
n = 0
for r in conn.execute("SELECT * FROM traces ORDER BY created_at DESC"):
    config = json.loads(r["config_json"])
    assert set(config) <= set(RUN_CONFIG), config
    assert r["mode"] in ("grounded_qa", "triage_plan", "change_safety")
    assert r["status"] in ("running", "done", "failed")
    assert config["strictness"] in ("lenient", "balanced", "strict")
    assert datetime.fromisoformat(r["created_at"]).utcoffset().total_seconds() == 0
    datetime.fromisoformat(r["finished_at"]); datetime.fromisoformat(r["updated_db_at"])
    n += 1
for r in conn.execute("SELECT * FROM trace_evals"):
    assert r["decision"] in ("pass", "revise", "fallback")
    assert isinstance(json.loads(r["scores_json"]), dict)
    assert isinstance(json.loads(r["reasons_json"]), list)
    datetime.fromisoformat(r["created_at"])
for r in conn.execute("SELECT * FROM trace_steps"):
    assert r["input_json"] is None
    json.loads(r["output_json"]); datetime.fromisoformat(r["created_at"])
print(n)
"#;
    let out = Command::new("python3")
        .args(["-c", check])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");
}

#[test]
fn analysis_runs_while_python_holds_a_write_transaction() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    traceflow_testkit::fixtures::python3();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    write_history(&path, 6);
    // As TraceFlow Lite's SQLite layer connects: WAL, then a run being
    // recorded inside an open write transaction.
    let writer = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA journal_mode = WAL")
c.execute("BEGIN IMMEDIATE")
c.execute("INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) "
          "VALUES ('late', 'done', 'grounded_qa', 'q', '{}', 'm', 'p', '2027-01-01T00:00:00+00:00')")
print("writing", flush=True)
sys.stdin.readline()
c.execute("COMMIT")
print("committed", flush=True)
"#;
    let mut child = Command::new("python3")
        .args(["-c", writer])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "writing");

    // The writer holds its transaction until told: a reader that had to
    // wait for it would fail with SQLITE_BUSY after the busy timeout.
    let store = SqliteStore::open_read_only(&path).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 6, "the uncommitted run is not seen");

    writeln!(child.stdin.take().unwrap()).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "committed");
    assert!(child.wait().unwrap().success());
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 7, "the committed run is seen");
}
