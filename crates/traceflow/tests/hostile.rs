//! Hostile input, generated: whatever a store holds and however its text
//! is spelled, reading and analyzing it never panics.
//!
//! A proptest-driven corpus run, bounded for CI: `PROPTEST_CASES` (default
//! below) sets how many stores and strings each property tries. Each store
//! is written by the test itself into tables shaped like TraceFlow Lite's
//! but without its types or constraints, so that any value can sit in any
//! column, as in a store another tool or a bug wrote.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use rusqlite::types::Value;
use rusqlite::Connection;
use traceflow::report::{render, Format};
use traceflow::store::{RecordStore, SqliteStore};
use traceflow::trend::{
    GroupBy, Metric, SegmentBy, SuiteAnalyzer, SuiteOptions, TraceTrendAnalyzer, VerdictOptions,
    Window,
};
use traceflow::window::WindowOptions;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        // Shrinking reruns whole analyses; the first failure says enough.
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    }
}

/// Text a store might hold: timestamps in every spelling and broken ones,
/// Python's JSON dialect, decisions in any case, control characters,
/// numbers of every size, and anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("2026-01-01T00:00:00Z".to_owned()),
        Just("2026-01-01 10:00:00".to_owned()),
        Just("2026-01-01T10:00:00.123456+05:30".to_owned()),
        Just("1767225600".to_owned()),
        Just("9999-12-31T23:59:59Z".to_owned()),
        Just("-271821-04-20T00:00:00Z".to_owned()),
        Just("2026-02-30T00:00:00Z".to_owned()),
        Just("pass".to_owned()),
        Just("REVISE".to_owned()),
        Just("Fallback".to_owned()),
        Just("done".to_owned()),
        Just("failed".to_owned()),
        Just("running".to_owned()),
        Just("evaluator".to_owned()),
        Just(r#"{"decision": "pass", "scores": {"a": NaN, "b": Infinity}}"#.to_owned()),
        Just(r#"{"decision": "REVISE", "scores": {"a": 1e308, "b": -1e308}}"#.to_owned()),
        Just(r#"{"decision": "fallback", "scores": [1, 2]}"#.to_owned()),
        Just(r#"{"a": 1e400, "git_sha": {"nested": [1, {"x": null}]}}"#.to_owned()),
        Just(r#"{"strictness": "high", "max_revisions": 1e999}"#.to_owned()),
        Just("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]".to_owned()),
        Just("\u{1b}[2J\u{1b}]0;x\u{7}\r\u{202e}".to_owned()),
        Just("1e250".to_owned()),
        Just("NaN".to_owned()),
        "\\PC{0,40}",
        any::<String>(),
    ]
}

/// Any SQLite value, hostile numbers included.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => text().prop_map(Value::Text),
        1 => Just(Value::Null),
        1 => prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            Just(1),
            any::<i64>()
        ]
        .prop_map(Value::Integer),
        1 => prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(1e308),
            Just(1e250),
            Just(-0.0),
            Just(5e-324),
            any::<f64>()
        ]
        .prop_map(Value::Real),
        1 => proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Blob),
    ]
}

/// A plausible value for `column` most of the time (so that traces pool
/// into runs and reach the statistics), any value otherwise.
fn column(column: &'static str) -> BoxedStrategy<Value> {
    let plausible: BoxedStrategy<Value> = match column {
        "trace_id" => (0u8..30).prop_map(|i| Value::Text(format!("t{i}"))).boxed(),
        "status" => prop_oneof![Just("done"), Just("failed"), Just("running"), Just("DONE")]
            .prop_map(|s| Value::Text(s.to_owned()))
            .boxed(),
        "created_at" => (0i64..40, 0i64..86_400)
            .prop_map(|(day, s)| Value::Integer(1_767_225_600 + day * 86_400 + s))
            .boxed(),
        "decision" => prop_oneof![Just("pass"), Just("revise"), Just("FALLBACK")]
            .prop_map(|s| Value::Text(s.to_owned()))
            .boxed(),
        "node_name" => prop_oneof![Just("evaluator"), Just("executor")]
            .prop_map(|s| Value::Text(s.to_owned()))
            .boxed(),
        "model" => prop_oneof![Just("m1"), Just("m2")]
            .prop_map(|s| Value::Text(s.to_owned()))
            .boxed(),
        "tokens" | "latency_ms" | "cost_usd" => prop_oneof![
            4 => (0.0f64..1000.0).prop_map(Value::Real),
            1 => prop_oneof![Just(1e308), Just(1e250), Just(f64::NAN), Just(-1e308)]
                .prop_map(Value::Real),
        ]
        .boxed(),
        "output_json" => prop_oneof![
            Just(r#"{"decision": "pass", "scores": {"a": 0.9}}"#),
            Just(r#"{"decision": "revise", "scores": {"a": 1e250}}"#),
            Just(r#"{"decision": "fallback", "scores": {"a": NaN}}"#),
        ]
        .prop_map(|s| Value::Text(s.to_owned()))
        .boxed(),
        "scores_json" => prop_oneof![
            Just(r#"{"a": 0.5}"#),
            Just(r#"{"a": 1e250}"#),
            Just(r#"{"a": -Infinity}"#)
        ]
        .prop_map(|s| Value::Text(s.to_owned()))
        .boxed(),
        "config_json" => prop_oneof![
            Just(r#"{"git_sha": "a", "strictness": "high"}"#),
            Just(r#"{"git_sha": "b", "strictness": "low"}"#),
            Just(r#"{"git_sha": 3}"#),
        ]
        .prop_map(|s| Value::Text(s.to_owned()))
        .boxed(),
        "step_seq" => (0i64..4).prop_map(Value::Integer).boxed(),
        _ => text().prop_map(Value::Text).boxed(),
    };
    prop_oneof![4 => plausible, 1 => value()].boxed()
}

/// Up to `max` rows of a table with these columns.
fn rows(columns: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<Vec<Value>>> {
    let row: Vec<BoxedStrategy<Value>> = columns.iter().map(|c| column(c)).collect();
    proptest::collection::vec(row, 0..max)
}

const TRACES: &[&str] = &[
    "trace_id",
    "status",
    "mode",
    "user_input",
    "config_json",
    "model",
    "provider",
    "final_answer",
    "error",
    "created_at",
    "finished_at",
    "updated_db_at",
];
const STEPS: &[&str] = &[
    "trace_id",
    "step_seq",
    "node_name",
    "input_json",
    "output_json",
    "tokens",
    "latency_ms",
    "cost_usd",
    "error",
    "cache_hit",
    "created_at",
    "updated_db_at",
];
const EVALS: &[&str] = &[
    "trace_id",
    "step_seq",
    "decision",
    "reasons_json",
    "scores_json",
    "revision_instructions",
    "created_at",
    "updated_db_at",
];

fn write_store(
    path: &std::path::Path,
    traces: &[Vec<Value>],
    steps: &[Vec<Value>],
    evals: &[Vec<Value>],
) {
    let conn = Connection::open(path).unwrap();
    for (table, columns, rows) in [
        ("traces", TRACES, traces),
        ("trace_steps", STEPS, steps),
        ("trace_evals", EVALS, evals),
    ] {
        conn.execute(
            &format!("CREATE TABLE {table} ({})", columns.join(", ")),
            [],
        )
        .unwrap();
        let marks = vec!["?"; columns.len()].join(", ");
        let mut insert = conn
            .prepare(&format!("INSERT INTO {table} VALUES ({marks})"))
            .unwrap();
        for row in rows {
            insert
                .execute(rusqlite::params_from_iter(row.iter()))
                .unwrap();
        }
    }
}

/// Everything a user can ask of a store, rendered in every format.
fn exercise(path: &std::path::Path) {
    let Ok(store) = SqliteStore::open_read_only(path) else {
        return;
    };
    let _ = store.list_traces(5);
    let _ = store.find_trace_ids("t", 3);
    for id in ["t0", "t1"] {
        let _ = store.get_trace(id);
        let _ = store.get_steps(id);
        let _ = store.get_evals(id);
    }
    let _ = traceflow::trend::final_decisions(&store, &["t0", "t1", "t2"]);
    for options in [
        VerdictOptions::default(),
        VerdictOptions {
            method: traceflow::trend::Method::Ols,
            ..VerdictOptions::default()
        },
    ] {
        if let Ok(report) = TraceTrendAnalyzer::with_options(&store, options).analyze(Window::All) {
            for format in Format::ALL {
                let _ = render(&report, *format);
            }
        }
        for (group_by, segment_by) in [
            (GroupBy::Trace, None),
            (GroupBy::Day, Some(SegmentBy::Model)),
            (
                GroupBy::Config("git_sha".to_owned()),
                Some(SegmentBy::Config("strictness".to_owned())),
            ),
        ] {
            let mut metrics = Metric::ALL.to_vec();
            metrics.push(Metric::Score("a".to_owned()));
            let suite = SuiteAnalyzer::new(
                &store,
                SuiteOptions {
                    window: WindowOptions {
                        runs: Window::All,
                        group_by,
                        ..WindowOptions::default()
                    },
                    verdict: options,
                    segment_by,
                    metrics,
                    ..SuiteOptions::default()
                },
            )
            .analyze();
            if let Ok(suite) = suite {
                for format in Format::ALL {
                    let _ = render(&suite, *format);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn timestamps_and_json_of_any_spelling_never_panic(text in text()) {
        let _ = traceflow::timestamp::parse(&text);
        let _ = traceflow::python_json::from_str::<serde_json::Value>(&text);
        let _ = traceflow::python_json::from_str::<std::collections::BTreeMap<String, Option<f64>>>(&text);
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn any_store_reads_and_analyzes_without_a_panic(
        traces in rows(TRACES, 40),
        steps in rows(STEPS, 60),
        evals in rows(EVALS, 60),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traceflow.db");
        write_store(&path, &traces, &steps, &evals);
        exercise(&path);
    }
}
