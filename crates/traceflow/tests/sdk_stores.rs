//! Stores written by TraceFlow Lite's own SDK (`tests/fixtures/tfl-sdk/`;
//! see its README): every one reads, in full, with
//! the library calls the trend uses, and reading leaves no file beside it.
//!
//! Needs the `sqlite3` command-line shell for the cross-checks.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use traceflow::model::{EvalDecision, RunStatus};
use traceflow::store::{DecisionSource, FactsQuery, FactsStore, HeadsQuery, SqliteStore};
use traceflow::trend::{TraceTrendAnalyzer, Window};

/// The SDK stores' directory (`tests/fixtures/tfl-sdk/`).
fn sdk_stores() -> PathBuf {
    traceflow_testkit::fixtures::fixture("tfl-sdk")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Rows of `sql` as `value|count` lines, from the `sqlite3` shell. The
/// store is opened `immutable=1`, so the shell creates no file beside it;
/// that reads the `.db` alone, so only for stores without a `-wal`.
fn sqlite3_counts(db: &Path, sql: &str) -> BTreeMap<String, usize> {
    let uri = format!("file:{}?immutable=1", db.display());
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg(&uri)
        .arg(sql)
        .output()
        .expect("this test needs the sqlite3 shell");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (value, count) = line.rsplit_once('|').unwrap();
            (value.to_owned(), count.parse().unwrap())
        })
        .collect()
}

/// Traces by status, as the store's scan reads them.
fn statuses(store: &SqliteStore) -> BTreeMap<String, usize> {
    let scan = store.trace_heads(&HeadsQuery::default()).unwrap();
    assert!(scan.issues.is_empty(), "{:?}", scan.issues);
    let mut counts = BTreeMap::new();
    for head in scan.rows {
        *counts.entry(head.status.to_string()).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|&(k, v)| (k.to_owned(), v)).collect()
}

#[test]
fn wal_store_reads_all_200_runs_and_leaves_no_file() {
    let dir = sdk_stores();
    let wal_dir = dir.join("wal");
    let before = listing(&wal_dir);
    assert!(
        before.contains(&"traceflow.db-wal".to_owned()),
        "{before:?}"
    );
    {
        let store = SqliteStore::open_read_only(wal_dir.join("traceflow.db")).unwrap();
        let scan = store.trace_heads(&HeadsQuery::default()).unwrap();
        assert_eq!(scan.rows.len(), 200, "every run, most only in the -wal");
        let report = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::All)
            .unwrap();
        let finished = scan.rows.iter().filter(|h| h.status.is_finished()).count();
        assert_eq!(report.window, finished);
        assert_eq!(report.window + report.left_out_running, 200);
        // And as parallel readers, each on its own connection.
        let store = store.with_readers(4, 1);
        assert_eq!(
            store
                .trace_heads(&HeadsQuery::default())
                .unwrap()
                .rows
                .len(),
            200
        );
    }
    assert_eq!(listing(&wal_dir), before, "no -shm left in the shared copy");
}

#[test]
fn main_store_counts_match_sqlite3_and_its_readme() {
    let dir = sdk_stores();
    let path = dir.join("main.db");
    let before = listing(&dir);
    {
        let store = SqliteStore::open_read_only(&path).unwrap();
        let by_status = statuses(&store);
        assert_eq!(
            by_status,
            sqlite3_counts(&path, "SELECT status, count(*) FROM traces GROUP BY 1")
        );
        assert_eq!(by_status, counts(&[("done", 473), ("failed", 7)]));

        // Decisions live only in evaluator steps' output_json.
        let heads = store.trace_heads(&HeadsQuery::default()).unwrap().rows;
        let ids: Vec<&str> = heads.iter().map(|h| h.trace_id.as_str()).collect();
        let facts = store
            .trace_facts(&FactsQuery {
                traces: &ids,
                score_names: &[],
                usage: false,
            })
            .unwrap();
        let problems = facts.issues;
        assert!(facts
            .rows
            .iter()
            .all(|f| f.source != DecisionSource::TraceEvals));
        let mut decisions: BTreeMap<String, usize> = BTreeMap::new();
        for f in &facts.rows {
            for (decision, n) in [
                EvalDecision::Pass,
                EvalDecision::Revise,
                EvalDecision::Fallback,
            ]
            .iter()
            .zip(f.counts)
            {
                *decisions.entry(decision.to_string()).or_default() += n as usize;
            }
        }
        decisions.retain(|_, n| *n > 0);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            decisions,
            sqlite3_counts(
                &path,
                "SELECT json_extract(output_json, '$.decision'), count(*) FROM trace_steps \
                 WHERE node_name = 'evaluator' GROUP BY 1"
            )
        );
        assert_eq!(
            decisions,
            counts(&[
                (&EvalDecision::Pass.to_string(), 435),
                (&EvalDecision::Revise.to_string(), 104),
                (&EvalDecision::Fallback.to_string(), 38),
            ])
        );
        assert_eq!(decisions.values().sum::<usize>(), 577);

        // The trend sees every finished run: 473 decided by their steps,
        // the 7 failed ones by their status.
        let report = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::All)
            .unwrap();
        assert_eq!(report.window, 480);
        // The runs add up to the statistics: 577 gate decisions and each
        // failed run's status as one more (the README's 584).
        let decided: usize = report.summaries.iter().map(|s| s.decisions).sum();
        assert_eq!(decided, 584);
        assert_eq!(report.statistics.decisions, 584);
        let failed = report
            .summaries
            .iter()
            .filter(|s| s.status == RunStatus::Failed)
            .count();
        assert_eq!(failed, 7);
    }
    assert_eq!(listing(&dir), before, "no file left beside main.db");
}

#[test]
fn early_store_reads_with_its_january_2026_schema() {
    let dir = sdk_stores();
    let path = dir.join("early.db");
    let before = listing(&dir);
    {
        let store = SqliteStore::open_read_only(&path).unwrap();
        let by_status = statuses(&store);
        assert_eq!(
            by_status,
            sqlite3_counts(&path, "SELECT status, count(*) FROM traces GROUP BY 1")
        );
        assert_eq!(by_status, counts(&[("done", 61), ("failed", 8)]));
        let report = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::All)
            .unwrap();
        assert_eq!(report.window, 69);
        // No steps, no evals: each run's outcome is its status.
        let passed = report
            .summaries
            .iter()
            .filter(|s| s.pass_rate == 1.0)
            .count();
        assert_eq!(passed, 61);
        assert!(report.summaries.iter().all(|s| s.decisions == 1));
    }
    assert_eq!(listing(&dir), before, "no file left beside early.db");
}
