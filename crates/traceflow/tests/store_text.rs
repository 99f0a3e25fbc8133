//! What the SQLite store makes of text a record cannot hold: a config that
//! is not JSON, Python's `NaN` in a gate report, the text `'NaN'` in a REAL
//! column. Each is written as raw SQL, as another tool or a hand would, and
//! read through the store into an analysis. (The analysis itself is tested
//! on records in memory, in `tests/suite.rs`.)

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rusqlite::{params, Connection};
use traceflow::store::SqliteStore;
use traceflow::trend::{
    GroupBy, Metric, SuiteAnalyzer, SuiteOptions, SuiteReport, TrendError, Window,
};
use traceflow::window::{WindowError, WindowOptions};

/// A store built row by row, in SQL.
struct Store {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    conn: Connection,
}

impl Store {
    fn new() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traceflow.db");
        drop(SqliteStore::open_writable(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        Store {
            _dir: dir,
            path,
            conn,
        }
    }

    fn trace(&self, id: &str, at: &str, config: &str) -> &Self {
        self.conn
            .execute(
                "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) \
                 VALUES (?1, 'done', 'grounded_qa', 'q', ?2, 'm', 'openai', ?3)",
                params![id, config, at],
            )
            .unwrap();
        self
    }

    fn sql(&self, statement: &str) -> &Self {
        self.conn.execute(statement, []).unwrap();
        self
    }

    /// The pass rate by `group_by`, or why not.
    fn try_analyze(&self, group_by: GroupBy) -> Result<SuiteReport, TrendError> {
        let store = SqliteStore::open_read_only(&self.path).unwrap();
        SuiteAnalyzer::new(
            &store,
            SuiteOptions {
                window: WindowOptions {
                    group_by,
                    ..WindowOptions::default()
                },
                ..SuiteOptions::default()
            },
        )
        .analyze()
    }

    fn analyze(&self, group_by: GroupBy, metrics: &[Metric]) -> SuiteReport {
        let store = SqliteStore::open_read_only(&self.path).unwrap();
        SuiteAnalyzer::new(
            &store,
            SuiteOptions {
                window: WindowOptions {
                    runs: Window::All,
                    group_by,
                    ..WindowOptions::default()
                },
                metrics: metrics.to_vec(),
                ..SuiteOptions::default()
            },
        )
        .analyze()
        .unwrap()
    }
}

#[test]
fn a_config_that_is_not_json_is_reported_and_its_trace_has_no_key() {
    let s = Store::new();
    s.trace("1", "2026-03-01T08:00:00Z", r#"{"git_sha": "aaa"}"#)
        .trace("2", "2026-03-01T09:00:00Z", "not json")
        .trace("3", "2026-03-01T10:00:00Z", "[1, 2]");
    let report = s.analyze(GroupBy::Config("git_sha".to_owned()), &[Metric::PassRate]);
    assert_eq!(report.reports[0].summaries.len(), 1);
    assert_eq!(report.left_out.ungrouped, Some(2));
    // Reported, not silently keyless.
    let issues: Vec<(Option<&str>, &str)> = report
        .left_out
        .skipped_rows
        .iter()
        .map(|i| (i.trace_id.as_deref(), i.reason.as_str()))
        .collect();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert_eq!(issues[0].0, Some("2"));
    assert!(issues[0].1.starts_with("config_json: "), "{issues:?}");
    assert_eq!(
        issues[1],
        (
            Some("3"),
            "config_json: not an object; its keys read as absent"
        )
    );
}

#[test]
fn a_typo_in_a_config_key_names_the_keys_the_stores_configs_hold() {
    let s = Store::new();
    s.trace("1", "2026-03-01T08:00:00Z", r#"{"git_sha": "abc"}"#)
        .trace("2", "2026-03-02T08:00:00Z", r#"{"strictness": "high"}"#)
        .trace("3", "2026-03-03T08:00:00Z", "not json");
    match s.try_analyze(GroupBy::Config("git_shaa".to_owned())) {
        Err(TrendError::Window(WindowError::UnknownConfigKey { key, known })) => {
            assert_eq!(key, "git_shaa");
            assert_eq!(known, ["git_sha", "strictness"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pythons_nan_in_a_gate_report_is_no_score() {
    let s = Store::new();
    s.trace("b", "2026-03-01T09:00:00Z", "{}").sql(
        r#"INSERT INTO trace_steps (trace_id, step_seq, node_name, output_json)
           VALUES ('b', 2, 'evaluator',
                   '{"decision": "PASS", "scores": {"groundedness": 0.5, "safety": NaN}}')"#,
    );
    let report = s.analyze(
        GroupBy::Day,
        &[
            Metric::PassRate,
            Metric::Score("groundedness".to_owned()),
            Metric::Score("safety".to_owned()),
        ],
    );
    let value = |i: usize| report.reports[i].summaries.get(0).unwrap().value;
    assert_eq!(value(0), Some(1.0));
    assert_eq!(value(1), Some(0.5));
    assert_eq!(value(2), None);
    assert!(
        report.left_out.skipped_rows.is_empty(),
        "{:?}",
        report.left_out.skipped_rows
    );
}

#[test]
fn a_key_beside_pythons_nan_in_a_config_is_known() {
    let s = Store::new();
    s.trace(
        "1",
        "2026-03-01T08:00:00Z",
        r#"{"git_sha": "aaa", "temperature": NaN, "top_p": Infinity}"#,
    );
    let report = s.analyze(GroupBy::Config("git_sha".to_owned()), &[Metric::PassRate]);
    assert_eq!(report.reports[0].summaries.get(0).unwrap().run_key, "aaa");
    // And a typo's error names them.
    match s.try_analyze(GroupBy::Config("git_shaa".to_owned())) {
        Err(TrendError::Window(WindowError::UnknownConfigKey { known, .. })) => {
            assert_eq!(known, ["git_sha", "temperature", "top_p"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_text_nan_in_a_usage_column_is_reported_and_left_out() {
    let s = Store::new();
    s.trace("a", "2026-03-01T08:00:00Z", "{}").sql(
        "INSERT INTO trace_steps (trace_id, step_seq, node_name, tokens, latency_ms, cost_usd) \
         VALUES ('a', 0, 'executor', 10, 250.5, 0.0), ('a', 1, 'executor', 10, 'NaN', 0.0)",
    );
    let report = s.analyze(GroupBy::Day, &[Metric::Latency]);
    assert_eq!(
        report.reports[0].summaries.get(0).unwrap().value,
        Some(250.5)
    );
    assert_eq!(report.left_out.skipped_rows.len(), 1);
    assert_eq!(
        report.left_out.skipped_rows[0].reason,
        "latency_ms: NaN is not a finite number"
    );
}
