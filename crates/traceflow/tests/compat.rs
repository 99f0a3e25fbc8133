//! traceflow against the independent Python reference
//! (`tests/fixtures/reference_trend.py`) on every compatibility fixture: the
//! quirks real stores hold, rows that cannot be used, and the SDK's real
//! shape. The expected reports are committed JSON; no Python runs here.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use traceflow::store::SqliteStore;
use traceflow::timestamp;
use traceflow::trend::{TraceTrendAnalyzer, Window};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12
}

fn check(fixture: &str, window: &str) {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join(format!("expected/{fixture}.w{window}.json")))
            .unwrap(),
    )
    .unwrap();
    let store = SqliteStore::open_read_only(fixtures().join(format!("{fixture}.db"))).unwrap();
    let window_arg = match window {
        "all" => Window::All,
        n => Window::Last(n.parse().unwrap()),
    };
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(window_arg)
        .unwrap();
    let ctx = format!("{fixture} window {window}");

    assert!(
        close(
            report.pass_rate_slope,
            expected["pass_rate_slope"].as_f64().unwrap()
        ),
        "{ctx}: slope {} vs {}",
        report.pass_rate_slope,
        expected["pass_rate_slope"]
    );
    assert_eq!(
        report.pass_rate_direction.as_str(),
        expected["pass_rate_direction"],
        "{ctx}"
    );
    assert_eq!(report.any_regression, expected["any_regression"], "{ctx}");
    assert_eq!(
        report.left_out_running as u64,
        expected["left_out_running"].as_u64().unwrap(),
        "{ctx}"
    );
    let runs = expected["summaries"].as_array().unwrap();
    assert_eq!(report.summaries.len(), runs.len(), "{ctx}: runs");
    assert_eq!(report.window, runs.len(), "{ctx}");
    for (got, want) in report.summaries.iter().zip(runs) {
        let ctx = format!("{ctx}, run {}", got.run_index);
        assert_eq!(
            got.run_index as u64,
            want["run_index"].as_u64().unwrap(),
            "{ctx}"
        );
        assert_eq!(got.trace_id, want["trace_id"], "{ctx}");
        let stored = &want["created_at"];
        let instant = match stored {
            Value::String(text) => timestamp::parse(text).unwrap(),
            Value::Number(n) => jiff::Timestamp::from_second(n.as_i64().unwrap()).unwrap(),
            other => panic!("{ctx}: created_at {other}"),
        };
        assert_eq!(got.created_at, instant, "{ctx}: created_at {stored}");
        for (name, value) in [
            ("pass_rate", got.pass_rate),
            ("revise_rate", got.revise_rate),
            ("fallback_rate", got.fallback_rate),
        ] {
            assert!(
                close(value, want[name].as_f64().unwrap()),
                "{ctx}: {name} {value} vs {}",
                want[name]
            );
        }
        match (got.avg_score, want["avg_score"].as_f64()) {
            (None, None) => {}
            (Some(a), Some(b)) => assert!(close(a, b), "{ctx}: avg_score {a} vs {b}"),
            (a, b) => panic!("{ctx}: avg_score {a:?} vs {b:?}"),
        }
        assert_eq!(
            got.decisions as u64,
            want["decisions"].as_u64().unwrap(),
            "{ctx}"
        );
        assert_eq!(got.source.as_str(), want["source"], "{ctx}");
    }
}

macro_rules! fixture_tests {
    ($($name:ident: $fixture:literal, $window:literal;)+) => {
        $(#[test] fn $name() { check($fixture, $window); })+
    };
}

fixture_tests! {
    drift_window_20: "drift", "20";
    drift_all: "drift", "all";
    stable_window_20: "stable", "20";
    stable_all: "stable", "all";
    step_window_20: "step", "20";
    step_all: "step", "all";
    sdk_shape_window_20: "sdk_no_evals", "20";
    sdk_shape_all: "sdk_no_evals", "all";
    quirks_window_20: "quirks", "20";
    quirks_all: "quirks", "all";
    bad_rows_window_20: "bad_rows", "20";
    bad_rows_all: "bad_rows", "all";
}

#[test]
fn bad_rows_are_reported_with_table_row_and_reason() {
    let store = SqliteStore::open_read_only(fixtures().join("bad_rows.db")).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    let issues: Vec<String> = report
        .skipped_rows
        .iter()
        .map(ToString::to_string)
        .collect();
    let has = |needle: &str| issues.iter().any(|i| i.contains(needle));
    assert!(has("traces row") && has("\"yesterday\""), "{issues:#?}");
    assert!(has("unknown status \"paused\""), "{issues:#?}");
    assert!(has("2026-02-30"), "{issues:#?}");
    assert!(
        has("trace_evals row") && has("unknown decision \"maybe\""),
        "{issues:#?}"
    );
    assert!(has("scores_json: malformed JSON"), "{issues:#?}");
    assert!(has("scores_json: not an object of numbers"), "{issues:#?}");
    assert!(
        has("trace_steps row") && has("output_json: malformed JSON"),
        "{issues:#?}"
    );
    for issue in &report.skipped_rows {
        assert!(
            matches!(issue.at, traceflow::store::Locator::Row { rowid, .. } if rowid > 0),
            "{issue}"
        );
    }
}

#[test]
fn quirks_use_every_decision_source() {
    let store = SqliteStore::open_read_only(fixtures().join("quirks.db")).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    let counts = report.source_counts();
    assert!(counts.iter().all(|(_, n)| *n > 0), "{counts:?}");
    // Oldest first, by instant.
    assert!(report
        .summaries
        .windows(2)
        .all(|w| w[0].created_at <= w[1].created_at));
}
