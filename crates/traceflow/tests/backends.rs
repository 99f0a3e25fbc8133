//! Every backend answers the facts seam alike: the same runs written to the
//! SQLite store and to the in-memory one give the same analysis.

// Tests fail by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use traceflow::model::{
    EvalDecision, EvalRecord, Mode, RunConfig, RunStatus, StepRecord, TraceRecord,
};
use traceflow::store::{
    FactsStore, HeadsQuery, MemoryStore, NewestHeads, RecordStore, SqliteStore, TraceBundle,
    WriteStore, WriteSummary,
};
use traceflow::trend::{
    GroupBy, Metric, SegmentBy, SuiteAnalyzer, SuiteOptions, TraceTrendAnalyzer, Window,
};
use traceflow::window::WindowOptions;

/// Sixty traces over 30 days on two models: half decided by trace_evals
/// rows (with scores), half only by evaluator steps (as TraceFlow Lite's
/// SDK writes them), a few failed without any decision, every one with
/// usage; model b gets worse after day 15.
fn write_history(store: &mut dyn WriteStore) {
    let start: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
    let decisions = [
        EvalDecision::Pass,
        EvalDecision::Revise,
        EvalDecision::Fallback,
    ];
    for k in 0..60_i64 {
        let model = if k % 2 == 0 { "a" } else { "b" };
        let id = format!("trace-{k:02}");
        let at = start + SignedDuration::from_hours(12 * k);
        let failed = k % 13 == 5;
        store
            .create_trace(&TraceRecord {
                trace_id: id.clone(),
                status: if failed {
                    RunStatus::Failed
                } else {
                    RunStatus::Done
                },
                mode: Mode::GroundedQa,
                user_input: format!("question {}", k % 7),
                config: RunConfig {
                    model: model.to_owned(),
                    ..RunConfig::default()
                },
                model: model.to_owned(),
                provider: "openai".to_owned(),
                final_answer: None,
                error: None,
                created_at: at,
                finished_at: Some(at + SignedDuration::from_secs(30)),
            })
            .unwrap();
        for seq in 0..3 {
            let worse = model == "b" && k > 30;
            let decision = decisions[usize::from(worse) * ((k + seq) as usize % 3)];
            let evaluator = seq == 2 && !failed;
            store
                .insert_step(&StepRecord {
                    trace_id: id.clone(),
                    step_seq: seq,
                    node_name: if evaluator { "evaluator" } else { "answer" }.to_owned(),
                    input: None,
                    output: (evaluator && k % 4 < 2).then(|| {
                        serde_json::json!({
                            "decision": decision.as_str().to_ascii_lowercase(),
                            "scores": {"groundedness": 0.5 + (k % 5) as f64 / 10.0},
                        })
                    }),
                    tokens: 100 + 10 * k,
                    latency_ms: 250.0 + k as f64,
                    cost_usd: 0.001 * (1 + seq) as f64,
                    error: None,
                    cache_hit: false,
                    created_at: at,
                })
                .unwrap();
            if failed || k % 4 < 2 {
                continue;
            }
            store
                .insert_eval(&EvalRecord {
                    trace_id: id.clone(),
                    step_seq: seq,
                    decision,
                    reasons: None,
                    scores: Some(BTreeMap::from([(
                        "groundedness".to_owned(),
                        Some(0.9 - (k % 3) as f64 / 10.0),
                    )])),
                    revision_instructions: None,
                    created_at: at,
                })
                .unwrap();
        }
    }
}

#[test]
fn sqlite_and_memory_stores_give_the_same_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    let mut sqlite = SqliteStore::open_writable(&path).unwrap();
    write_history(&mut sqlite);
    drop(sqlite);
    let sqlite = SqliteStore::open_read_only(&path).unwrap();
    let mut memory = MemoryStore::new();
    write_history(&mut memory);

    for (group_by, segment_by) in [
        (GroupBy::Trace, None),
        (GroupBy::Day, Some(SegmentBy::Model)),
        (GroupBy::Config("model".to_owned()), None),
    ] {
        let options = SuiteOptions {
            window: WindowOptions {
                group_by,
                runs: Window::All,
                ..WindowOptions::default()
            },
            segment_by,
            metrics: Metric::ALL
                .iter()
                .cloned()
                .chain([Metric::Score("groundedness".to_owned())])
                .collect(),
            ..SuiteOptions::default()
        };
        let from_sqlite = SuiteAnalyzer::new(&sqlite, options.clone())
            .analyze()
            .unwrap();
        let from_memory = SuiteAnalyzer::new(&memory, options).analyze().unwrap();
        assert!(
            from_sqlite.left_out.skipped_rows.is_empty(),
            "{:?}",
            from_sqlite.left_out.skipped_rows
        );
        assert_eq!(
            serde_json::to_value(&from_sqlite).unwrap(),
            serde_json::to_value(&from_memory).unwrap()
        );
        assert!(from_sqlite.reports.iter().all(|r| r.statistics.runs > 0));
    }
    let a = TraceTrendAnalyzer::new(&sqlite, 0.01)
        .analyze(Window::All)
        .unwrap();
    let b = TraceTrendAnalyzer::new(&memory, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(a, b);
    // Both sources are in play, and the status for the failed ones.
    let sources = a.source_counts();
    assert!(sources.iter().all(|&(_, n)| n > 0), "{sources:?}");
}

/// The bundles of every trace a store holds, by the records' reads.
fn bundles(store: &dyn RecordStore) -> Vec<TraceBundle> {
    let mut traces = store.list_traces(usize::MAX).unwrap().rows;
    traces.reverse();
    traces
        .into_iter()
        .map(|trace| TraceBundle {
            steps: store.get_steps(&trace.trace_id).unwrap().rows,
            evals: store.get_evals(&trace.trace_id).unwrap().rows,
            trace,
        })
        .collect()
}

#[test]
fn a_bulk_write_of_whole_traces_is_idempotent_and_replaces_by_trace_id() {
    let mut source = MemoryStore::new();
    write_history(&mut source);
    let mut sent = bundles(&source);
    assert_eq!(sent.len(), 60);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    let mut sqlite = SqliteStore::open_writable(&path).unwrap();
    let mut memory = MemoryStore::new();
    let stores: [&mut dyn WriteStore; 2] = [&mut sqlite, &mut memory];
    for store in stores {
        assert_eq!(
            store.write_traces(&sent).unwrap(),
            WriteSummary {
                created: 60,
                replaced: 0
            }
        );
        // Again: the same content, every trace replaced by itself.
        assert_eq!(
            store.write_traces(&sent).unwrap(),
            WriteSummary {
                created: 0,
                replaced: 60
            }
        );
    }
    let written = [bundles(&sqlite), bundles(&memory)];
    for got in &written {
        assert_eq!(got.len(), 60);
        for (got, want) in got.iter().zip(&sent) {
            assert_eq!(got.trace.trace_id, want.trace.trace_id);
            assert_eq!(got.steps.len(), want.steps.len(), "{}", want.trace.trace_id);
            assert_eq!(got.evals.len(), want.evals.len(), "{}", want.trace.trace_id);
        }
    }

    // A trace that changed (a rerun's status and one step fewer) replaces
    // the stored one; the rest stay.
    sent[3].trace.status = RunStatus::Failed;
    sent[3].steps.pop();
    let changed = sent[3].clone();
    for store in [&mut sqlite as &mut dyn WriteStore, &mut memory] {
        assert_eq!(
            store.write_traces(std::slice::from_ref(&changed)).unwrap(),
            WriteSummary {
                created: 0,
                replaced: 1
            }
        );
    }
    for store in [&sqlite as &dyn RecordStore, &memory] {
        let id = &changed.trace.trace_id;
        assert_eq!(
            store.get_trace(id).unwrap().unwrap().status,
            RunStatus::Failed
        );
        assert_eq!(store.get_steps(id).unwrap().rows.len(), changed.steps.len());
        assert_eq!(store.list_traces(usize::MAX).unwrap().rows.len(), 60);
    }
    drop(sqlite);
    let sqlite = SqliteStore::open_read_only(&path).unwrap();
    let options = SuiteOptions {
        window: WindowOptions {
            group_by: GroupBy::Day,
            runs: Window::All,
            ..WindowOptions::default()
        },
        metrics: Metric::ALL.to_vec(),
        ..SuiteOptions::default()
    };
    assert_eq!(
        serde_json::to_value(
            SuiteAnalyzer::new(&sqlite, options.clone())
                .analyze()
                .unwrap()
        )
        .unwrap(),
        serde_json::to_value(SuiteAnalyzer::new(&memory, options).analyze().unwrap()).unwrap()
    );
}

/// `write_history`, plus three running traces (one of them stale by a
/// cutoff at day 20) and two traces started at the same instant as others.
fn write_history_with_running(store: &mut dyn WriteStore) {
    write_history(store);
    let start: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
    for (id, hours, status) in [
        ("running-old", 24 * 3, RunStatus::Running),
        ("running-mid", 24 * 25, RunStatus::Running),
        ("running-new", 24 * 29 + 13, RunStatus::Running),
        ("tied-a", 12 * 50, RunStatus::Done),
        ("tied-b", 12 * 57, RunStatus::Failed),
    ] {
        let at = start + SignedDuration::from_hours(hours);
        store
            .create_trace(&TraceRecord {
                trace_id: id.to_owned(),
                status,
                mode: Mode::GroundedQa,
                user_input: "question 0".to_owned(),
                config: RunConfig::default(),
                model: "a".to_owned(),
                provider: "openai".to_owned(),
                final_answer: None,
                error: None,
                created_at: at,
                finished_at: None,
            })
            .unwrap();
    }
}

#[test]
fn a_window_of_traces_reads_only_the_newest_heads_and_judges_as_reading_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    let mut sqlite = SqliteStore::open_writable(&path).unwrap();
    write_history_with_running(&mut sqlite);
    drop(sqlite);
    let sqlite = SqliteStore::open_read_only(&path).unwrap();
    // The in-memory store returns every head whatever the hint says.
    let mut memory = MemoryStore::new();
    write_history_with_running(&mut memory);

    // The store keeps the newest finished heads and every running one.
    let heads = sqlite
        .trace_heads(&HeadsQuery {
            newest: Some(NewestHeads {
                count: 5,
                since: None,
                until: None,
            }),
            ..HeadsQuery::default()
        })
        .unwrap();
    let mut ids: Vec<&str> = heads.rows.iter().map(|h| h.trace_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "running-mid",
            "running-new",
            "running-old",
            // Started with trace-57, written after it: newer.
            "tied-b",
            "trace-56",
            "trace-57",
            "trace-58",
            "trace-59",
        ]
    );

    let at = |hours: i64| {
        "2026-03-01T08:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
    };
    // Windows that cut, that take one fewer than there are, all there are
    // and more; with and without a time range and a stale cutoff.
    for window in [2, 8, 20, 61, 62, 63, 100] {
        for (since, until, stale_before) in [
            (None, None, None),
            (None, None, Some(at(24 * 20))),
            (Some(at(24 * 10)), Some(at(12 * 57)), None),
            (Some(at(24 * 2)), None, Some(at(24 * 26))),
        ] {
            let options = SuiteOptions {
                window: WindowOptions {
                    runs: Window::Last(window),
                    since,
                    until,
                    stale_before,
                    ..WindowOptions::default()
                },
                metrics: Metric::ALL.to_vec(),
                segment_by: Some(SegmentBy::Model),
                ..SuiteOptions::default()
            };
            let from_sqlite = SuiteAnalyzer::new(&sqlite, options.clone())
                .analyze()
                .unwrap();
            let from_memory = SuiteAnalyzer::new(&memory, options).analyze().unwrap();
            assert_eq!(
                serde_json::to_value(&from_sqlite).unwrap(),
                serde_json::to_value(&from_memory).unwrap(),
                "window {window}, since {since:?}, until {until:?}, stale {stale_before:?}"
            );
        }
    }
}
