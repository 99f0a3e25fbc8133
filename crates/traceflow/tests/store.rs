//! The SQLite store: TraceFlow Lite's operations, read-only analysis that
//! never writes, errors for files that are not stores, and concurrent use.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rusqlite::Connection;
use traceflow::model::{
    EvalDecision, EvalRecord, Mode, RunConfig, RunStatus, StepRecord, TraceRecord, TraceUpdate,
};
use traceflow::store::{FactsStore, HeadsQuery, RecordStore, SqliteStore, StoreError, WriteStore};
use traceflow::trend::{TraceTrendAnalyzer, Window};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn trace(id: &str, created_at: &str, status: RunStatus) -> TraceRecord {
    TraceRecord {
        trace_id: id.to_owned(),
        status,
        mode: Mode::GroundedQa,
        user_input: "What is the refund window?".to_owned(),
        config: RunConfig::default(),
        model: "gpt-4o-mini".to_owned(),
        provider: "openai".to_owned(),
        final_answer: None,
        error: None,
        created_at: at(created_at),
        finished_at: None,
    }
}

fn eval(id: &str, seq: i64, decision: EvalDecision, scores: &[(&str, f64)]) -> EvalRecord {
    EvalRecord {
        trace_id: id.to_owned(),
        step_seq: seq,
        decision,
        reasons: Some(vec!["Passed all checks".to_owned()]),
        scores: Some(
            scores
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Some(*v)))
                .collect(),
        ),
        revision_instructions: None,
        created_at: at("2026-01-01T00:00:01Z"),
    }
}

/// A new store with three done runs on consecutive days, one PASS each.
fn three_passing_runs(path: &Path) -> SqliteStore {
    let mut store = SqliteStore::open_writable(path).unwrap();
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        let id = format!("t{i}");
        let created_at = format!("2026-01-{day}T00:00:00Z");
        store
            .create_trace(&trace(&id, &created_at, RunStatus::Done))
            .unwrap();
        store
            .insert_eval(&eval(&id, 0, EvalDecision::Pass, &[]))
            .unwrap();
    }
    store
}

fn digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn written_records_read_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open_writable(dir.path().join("traceflow.db")).unwrap();
    let record = trace("t1", "2026-01-01T00:00:00.123456Z", RunStatus::Running);
    store.create_trace(&record).unwrap();
    let step = StepRecord {
        trace_id: "t1".to_owned(),
        step_seq: 0,
        node_name: "evaluator".to_owned(),
        input: None,
        output: Some(serde_json::json!({"decision": "pass", "scores": {"cost": 1.0}})),
        tokens: 12,
        latency_ms: 12.5,
        cost_usd: 0.0004,
        error: None,
        cache_hit: true,
        created_at: at("2026-01-01T00:00:00.5Z"),
    };
    store.insert_step(&step).unwrap();
    let verdict = eval(
        "t1",
        0,
        EvalDecision::Revise,
        &[("cost", f64::NAN), ("latency", 0.5)],
    );
    store.insert_eval(&verdict).unwrap();
    store
        .update_trace(
            "t1",
            &TraceUpdate {
                status: RunStatus::Done,
                final_answer: Some("30 days [1]".to_owned()),
                error: None,
            },
        )
        .unwrap();

    let got = store.get_trace("t1").unwrap().unwrap();
    assert_eq!(got.status, RunStatus::Done);
    assert_eq!(got.final_answer.as_deref(), Some("30 days [1]"));
    assert!(got.finished_at.is_some(), "update to done sets finished_at");
    assert_eq!(got.created_at, record.created_at);
    assert_eq!(got.config, record.config);
    assert_eq!(store.get_steps("t1").unwrap().rows, vec![step]);
    let evals = store.get_evals("t1").unwrap().rows;
    assert_eq!(evals.len(), 1);
    assert!(
        evals[0].scores.as_ref().unwrap()["cost"].unwrap().is_nan(),
        "NaN kept"
    );
    assert_eq!(evals[0].decision, EvalDecision::Revise);
    assert_eq!(store.get_trace("missing").unwrap(), None);
}

#[test]
fn writes_use_python_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    let mut store = SqliteStore::open_writable(&path).unwrap();
    store
        .create_trace(&trace("t1", "2026-01-01T00:00:00.5Z", RunStatus::Done))
        .unwrap();
    store
        .insert_eval(&eval(
            "t1",
            1,
            EvalDecision::Pass,
            &[("cost", 1.0), ("x", f64::INFINITY)],
        ))
        .unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let (created, config, status, mode): (String, String, String, String) = conn
        .query_row(
            "SELECT created_at, config_json, status, mode FROM traces",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(created, "2026-01-01T00:00:00.500000+00:00");
    assert_eq!((status.as_str(), mode.as_str()), ("done", "grounded_qa"));
    assert_eq!(
        config,
        r#"{"mode": "grounded_qa", "strictness": "balanced", "model": "gpt-3.5-turbo", "provider": "openai", "max_revisions": 3, "max_latency_ms": 30000, "temperature": 0.2, "top_k": 5, "enable_cache": true, "max_tokens": 1024, "max_cost_usd": 1.5}"#
    );
    let (decision, scores, reasons): (String, String, String) = conn
        .query_row(
            "SELECT decision, scores_json, reasons_json FROM trace_evals",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(decision, "pass");
    assert_eq!(scores, r#"{"cost": 1.0, "x": Infinity}"#);
    assert_eq!(reasons, r#"["Passed all checks"]"#);
}

#[test]
fn created_store_has_traceflow_lite_schema_in_wal_mode_plus_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    drop(SqliteStore::open_writable(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Same tables as a store TraceFlow Lite created.
    let reference = Connection::open_in_memory().unwrap();
    reference
        .execute_batch(traceflow::store::sqlite::TRACEFLOW_LITE_SCHEMA)
        .unwrap();
    let tables = |c: &Connection| -> BTreeMap<String, String> {
        let mut stmt = c
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(tables(&conn), tables(&reference));
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        indexes,
        ["idx_trace_evals_trace_id", "idx_trace_steps_trace_id"]
    );
}

#[test]
fn list_orders_by_instant_not_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open_writable(dir.path().join("traceflow.db")).unwrap();
    store
        .create_trace(&trace("old", "2026-01-01T00:00:00Z", RunStatus::Done))
        .unwrap();
    store
        .create_trace(&trace("new", "2026-01-02T00:00:00Z", RunStatus::Done))
        .unwrap();
    store
        .create_trace(&trace("mid", "2026-01-01T12:00:00Z", RunStatus::Done))
        .unwrap();
    // Rewrite "new" in an offset spelling that sorts first as text.
    let conn = Connection::open(store.path()).unwrap();
    conn.execute(
        "UPDATE traces SET created_at = '2026-01-01T19:00:00-05:00' WHERE trace_id = 'new'",
        [],
    )
    .unwrap();
    let ids: Vec<String> = store
        .list_traces(2)
        .unwrap()
        .rows
        .into_iter()
        .map(|t| t.trace_id)
        .collect();
    assert_eq!(ids, ["new", "mid"]);
}

#[test]
fn reading_never_writes_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    for fixture in ["quirks.db", "bad_rows.db", "sdk_no_evals.db"] {
        let path = dir.path().join(fixture);
        std::fs::copy(fixtures().join(fixture), &path).unwrap();
        let before = digest(&path);
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        {
            let store = SqliteStore::open_read_only(&path).unwrap();
            TraceTrendAnalyzer::new(&store, 0.01)
                .analyze(Window::All)
                .unwrap();
            let listed = store.list_traces(5).unwrap();
            let id = &listed.rows[0].trace_id;
            store.get_steps(id).unwrap();
            store.get_evals(id).unwrap();
        }
        assert_eq!(digest(&path), before, "{fixture} changed");
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
        let mut siblings: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(fixture) && n != fixture)
            .collect();
        siblings.sort();
        assert!(siblings.is_empty(), "{fixture}: left {siblings:?}");
    }
}

#[test]
fn read_only_store_refuses_writes() {
    let store_path = fixtures().join("drift.db");
    let mut store = SqliteStore::open_read_only(&store_path).unwrap();
    let err = store
        .create_trace(&trace("x", "2026-01-01T00:00:00Z", RunStatus::Done))
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
}

#[test]
fn missing_file_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    let err = SqliteStore::open_read_only(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(err.to_string().ends_with("nope.db: no such file"), "{err}");
    assert!(!path.exists());
}

#[test]
fn files_that_are_not_stores_are_named_as_such() {
    let err = SqliteStore::open_read_only(fixtures().join("not_sqlite.db")).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    let err = SqliteStore::open_read_only(fixtures().join("not_a_store.db")).unwrap_err();
    assert!(matches!(err, StoreError::NotTraceflowStore { .. }), "{err}");
    assert!(err.to_string().contains("no table traces"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let err = SqliteStore::open_read_only(&empty).unwrap_err();
    assert!(matches!(err, StoreError::NotTraceflowStore { .. }), "{err}");
    assert_eq!(
        std::fs::read(&empty).unwrap(),
        b"",
        "empty file left as it was"
    );

    let partial = dir.path().join("partial.db");
    Connection::open(&partial)
        .unwrap()
        .execute_batch(
            "CREATE TABLE traces (trace_id TEXT); CREATE TABLE trace_steps (x); CREATE TABLE trace_evals (y);",
        )
        .unwrap();
    let err = SqliteStore::open_read_only(&partial).unwrap_err();
    assert!(
        err.to_string()
            .contains("table traces has no column status"),
        "{err}"
    );
}

#[test]
fn too_few_finished_traces_says_how_many() {
    let store = SqliteStore::open_read_only(fixtures().join("one_trace.db")).unwrap();
    let err = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::Last(20))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "need at least 2 finished traces, found 1 (1 still running left out)"
    );
}

#[test]
fn analysis_works_while_a_writer_holds_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    drop(three_passing_runs(&path));
    // A second process mid-run: an open write transaction, as TraceFlow
    // Lite's SDK holds while it records a run.
    let writer = Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    writer
        .execute(
            "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) \
             VALUES ('t9', 'done', 'grounded_qa', 'q', '{}', 'm', 'p', '2026-01-09T00:00:00+00:00')",
            [],
        )
        .unwrap();

    let reader = SqliteStore::open_read_only(&path).unwrap();
    let report = TraceTrendAnalyzer::new(&reader, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 3, "uncommitted run not seen");
    writer.execute_batch("COMMIT").unwrap();
    let report = TraceTrendAnalyzer::new(&reader, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 4, "committed run seen");
}

#[test]
fn parallel_readers_give_the_same_report_as_one() {
    // Running and failed runs, runs whose verdicts are only in evaluator
    // steps, a bad row, and late rows for early traces (out of order for the
    // sequential run lookup).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    drop(SqliteStore::open_writable(&path).unwrap());
    let n: i64 = 3_000;
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n} - 1)
             INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at)
             SELECT printf('t%06d', i),
                    CASE i % 97 WHEN 0 THEN 'running' WHEN 1 THEN 'failed' ELSE 'done' END,
                    'grounded_qa', 'q', '{{}}', 'm', 'p',
                    strftime('%Y-%m-%dT%H:%M:%S+00:00', 1767225600 + i, 'unixepoch')
             FROM n;
             INSERT INTO trace_evals (trace_id, step_seq, decision, scores_json)
             SELECT trace_id, 0,
                    CASE CAST(substr(trace_id, 2) AS INTEGER) % 3 WHEN 0 THEN 'revise' ELSE 'pass' END,
                    '{{\"s\": 0.5}}'
             FROM traces WHERE CAST(substr(trace_id, 2) AS INTEGER) % 5 NOT IN (1, 4) ORDER BY rowid;
             INSERT INTO trace_steps (trace_id, step_seq, node_name, output_json)
             SELECT trace_id, 3, 'evaluator', '{{\"decision\": \"fallback\", \"scores\": {{\"s\": 0.0}}}}'
             FROM traces WHERE CAST(substr(trace_id, 2) AS INTEGER) % 5 = 4;
             INSERT INTO trace_evals (trace_id, step_seq, decision)
             SELECT trace_id, 9, 'fallback' FROM traces
             WHERE CAST(substr(trace_id, 2) AS INTEGER) % 700 = 2;
             INSERT INTO trace_evals (trace_id, step_seq, decision) VALUES ('t000007', 1, 'maybe');"
        ))
        .unwrap();

    let analyze = |readers, min_rows, window| {
        let store = SqliteStore::open_read_only(&path)
            .unwrap()
            .with_readers(readers, min_rows);
        let mut report = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(window)
            .unwrap();
        // Readers report bad rows in the order they meet them.
        report.skipped_rows.sort_by_key(|i| i.at.clone());
        report
    };
    for window in [Window::All, Window::Last(50)] {
        let one = analyze(1, 1, window);
        for (readers, min_rows) in [(2, 1), (3, 100), (4, 1)] {
            assert_eq!(
                analyze(readers, min_rows, window),
                one,
                "{readers} readers, {window}"
            );
        }
    }

    let report = analyze(4, 1, Window::All);
    let running = (0..n).filter(|i| i % 97 == 0).count();
    assert_eq!(report.window, n as usize - running);
    assert_eq!(report.left_out_running, running);
    assert_eq!(report.skipped_rows.len(), 1, "{:?}", report.skipped_rows);
    let by_id: BTreeMap<&str, _> = report
        .summaries
        .iter()
        .map(|s| (s.trace_id.as_str(), s))
        .collect();
    let t2 = by_id["t000002"];
    assert_eq!(
        (t2.decisions, t2.fallback_rate),
        (2, 0.5),
        "late row counted"
    );
    assert_eq!(by_id["t000003"].revise_rate, 1.0);
    let t1 = by_id["t000001"];
    assert_eq!(
        (t1.decisions, t1.pass_rate),
        (1, 0.0),
        "failed, no verdicts: the status is its one decision"
    );
    let t6 = by_id["t000006"];
    assert_eq!((t6.decisions, t6.pass_rate), (1, 1.0), "done, no verdicts");
    let t4 = by_id["t000004"];
    assert_eq!(
        (t4.source, t4.fallback_rate, t4.avg_score),
        (
            traceflow::trend::DecisionSource::EvaluatorSteps,
            1.0,
            Some(0.0)
        )
    );
    assert_eq!(by_id["t000005"].avg_score, Some(0.5));
    assert!(report
        .summaries
        .windows(2)
        .all(|w| w[0].created_at < w[1].created_at));
}

#[test]
fn show_and_trend_read_the_same_verdicts() {
    // Rows with null, string or malformed scores keep their verdict in both.
    for fixture in ["quirks.db", "bad_rows.db"] {
        let store = SqliteStore::open_read_only(fixtures().join(fixture)).unwrap();
        let report = TraceTrendAnalyzer::new(&store, 0.01)
            .analyze(Window::All)
            .unwrap();
        for run in &report.summaries {
            if run.source != traceflow::trend::DecisionSource::TraceEvals {
                continue;
            }
            let evals = store.get_evals(&run.trace_id).unwrap();
            assert_eq!(
                evals.rows.len(),
                run.decisions,
                "{fixture} {}: {:?}",
                run.trace_id,
                evals.issues
            );
            let passes = evals
                .rows
                .iter()
                .filter(|e| e.decision == EvalDecision::Pass)
                .count();
            assert_eq!(passes as f64 / run.decisions as f64, run.pass_rate);
        }
    }
    // The row with `{"cost": "high"}`: kept, scores left out, reported.
    let store = SqliteStore::open_read_only(fixtures().join("bad_rows.db")).unwrap();
    let evals = store.get_evals("727b510972346c38e3b71827ded773c7").unwrap();
    assert_eq!(evals.rows.len(), 1);
    assert_eq!(evals.rows[0].scores, None);
    assert!(
        evals.issues[0].reason.contains("scores_json left out"),
        "{:?}",
        evals.issues
    );
}

#[test]
fn reading_a_wal_store_leaves_its_file_unchanged() {
    // TraceFlow Lite's stores are in WAL mode; SQLite keeps its `-wal` and
    // `-shm` beside such a file for any reader, but the database itself is
    // never written.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    drop(three_passing_runs(&path));
    let before = digest(&path);
    let reader = SqliteStore::open_read_only(&path).unwrap();
    TraceTrendAnalyzer::new(&reader, 0.01)
        .analyze(Window::All)
        .unwrap();
    reader.list_traces(10).unwrap();
    drop(reader);
    assert_eq!(digest(&path), before);
    let mode: String = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "journal mode unchanged");
}

#[test]
fn rows_whose_trace_id_is_not_text_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    drop(three_passing_runs(&path));
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO trace_evals (trace_id, step_seq, decision) VALUES (X'FF00', 0, 'pass');
             INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at)
             VALUES (X'FE', 'done', 'grounded_qa', 'q', '{}', 'm', 'p', '2026-01-04T00:00:00Z');",
        )
        .unwrap();
    let store = SqliteStore::open_read_only(&path).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 3);
    let reasons: Vec<String> = report
        .skipped_rows
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        reasons,
        [
            "traces row 4: trace_id is not text",
            "trace_evals row 4: trace_id is not text"
        ]
    );
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Three runs in the `.db`, three more only in its `-wal`, and no `-shm`:
/// what a copy of a store TraceFlow Lite left open looks like.
fn store_with_runs_only_in_wal(path: &Path) {
    drop(three_passing_runs(path));
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")
        .unwrap();
    for i in 3..6 {
        conn.execute(
            "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) \
             VALUES (?1, 'done', 'grounded_qa', 'q', '{}', 'm', 'p', ?2)",
            (format!("t{i}"), format!("2026-01-0{}T00:00:00Z", i + 1)),
        )
        .unwrap();
        conn.execute(
            "INSERT INTO trace_evals (trace_id, step_seq, decision, created_at) VALUES (?1, 0, 'fallback', '2026-01-09')",
            [format!("t{i}")],
        )
        .unwrap();
    }
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .unwrap();
    drop(conn);
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    std::fs::remove_file(PathBuf::from(shm)).unwrap();
}

/// Reads the store at `path` as the trend does and checks it saw the three
/// runs of the `.db` and the three of the `-wal`.
fn assert_reads_all_six_runs(path: &Path) {
    let store = SqliteStore::open_read_only(path).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    let passes: Vec<f64> = report.summaries.iter().map(|s| s.pass_rate).collect();
    assert_eq!(passes, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(store.list_traces(10).unwrap().rows.len(), 6);
    // Parallel readers open their own connections the same way.
    let store = store.with_readers(3, 1);
    assert_eq!(
        store
            .trace_heads(&HeadsQuery::default())
            .unwrap()
            .rows
            .len(),
        6
    );
}

#[test]
fn wal_store_without_shm_reads_every_row_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    store_with_runs_only_in_wal(&path);
    let before = listing(dir.path());
    assert_eq!(before, ["traceflow.db", "traceflow.db-wal"]);
    let wal = dir.path().join("traceflow.db-wal");
    let (db_bytes, wal_bytes) = (digest(&path), digest(&wal));
    assert_reads_all_six_runs(&path);
    assert_eq!(listing(dir.path()), before, "no -shm left beside the store");
    assert_eq!(digest(&path), db_bytes);
    assert_eq!(digest(&wal), wal_bytes);
}

/// A directory this process cannot create files in, even as root: write
/// bits off, and where they do not stop root, the immutable attribute.
/// `None` when neither works here (no `chattr`, or no permission for it).
struct ReadOnlyDir<'d>(&'d Path, bool);

impl<'d> ReadOnlyDir<'d> {
    fn new(dir: &'d Path) -> Option<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.join("probe");
        if std::fs::write(&probe, b"").is_err() {
            return Some(ReadOnlyDir(dir, false));
        }
        std::fs::remove_file(&probe).unwrap();
        let immutable = std::process::Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        let guard = ReadOnlyDir(dir, immutable);
        (immutable && std::fs::write(&probe, b"").is_err()).then_some(guard)
    }
}

impl Drop for ReadOnlyDir<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        }
        let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn wal_store_in_a_read_only_directory_reads_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    store_with_runs_only_in_wal(&path);
    let before = listing(dir.path());
    let Some(read_only) = ReadOnlyDir::new(dir.path()) else {
        // The writable-directory test above takes the same path.
        eprintln!("note: cannot make a read-only directory here; skipped");
        return;
    };
    assert_reads_all_six_runs(&path);
    drop(read_only);
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn cleanly_closed_wal_store_gets_no_wal_or_shm() {
    // A WAL store with neither file beside it (the SDK-written stores as
    // shipped, or a store whose writer closed): SQLite's normal read-only
    // open would create both.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    drop(three_passing_runs(&path));
    assert_eq!(listing(dir.path()), ["traceflow.db"]);
    let store = SqliteStore::open_read_only(&path).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 3);
    drop(store);
    assert_eq!(listing(dir.path()), ["traceflow.db"]);
}

#[test]
fn refused_files_get_no_wal_or_shm_beside_them() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.db");
    {
        let conn = Connection::open(&notes).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('hello');",
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("text.db"), b"this is not a database\n").unwrap();
    let before = listing(dir.path());
    assert_eq!(before, ["notes.db", "text.db"]);
    let err = SqliteStore::open_read_only(&notes).unwrap_err();
    assert!(err.to_string().contains("not a TraceFlow store"), "{err}");
    let err = SqliteStore::open_read_only(dir.path().join("text.db")).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn early_schema_store_reads_with_cache_hit_as_false() {
    // TraceFlow Lite before mid-January 2026: no trace_steps.cache_hit, no
    // llm_cache (made with gen_tfl_db.py --early-schema).
    let store = SqliteStore::open_read_only(fixtures().join("early_schema.db")).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 12);
    assert!(report.skipped_rows.is_empty(), "{:?}", report.skipped_rows);
    let failed = report
        .summaries
        .iter()
        .filter(|s| s.source == traceflow::trend::DecisionSource::Status)
        .count();
    assert_eq!(failed, 2, "the failed runs count by status");
    let id = &report.summaries[0].trace_id;
    let steps = store.get_steps(id).unwrap();
    assert!(!steps.rows.is_empty() && steps.issues.is_empty());
    assert!(steps.rows.iter().all(|s| !s.cache_hit));
}

#[test]
fn writing_to_an_early_schema_store_never_alters_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("early.db");
    std::fs::copy(fixtures().join("early_schema.db"), &path).unwrap();
    let schema = |path: &Path| -> Vec<String> {
        Connection::open(path)
            .unwrap()
            .prepare("SELECT name || ': ' || ifnull(sql, '') FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let tables_before = schema(&path);
    let mut store = SqliteStore::open_writable(&path).unwrap();
    store
        .create_trace(&trace("new", "2026-02-01T00:00:00Z", RunStatus::Done))
        .unwrap();
    let step = StepRecord {
        trace_id: "new".to_owned(),
        step_seq: 0,
        node_name: "intake".to_owned(),
        input: None,
        output: Some(serde_json::json!({"ok": true})),
        tokens: 3,
        latency_ms: 1.5,
        cost_usd: 0.25,
        error: None,
        cache_hit: true,
        created_at: at("2026-02-01T00:00:01Z"),
    };
    store.insert_step(&step).unwrap();
    let read = store.get_steps("new").unwrap();
    assert_eq!(read.rows.len(), 1);
    assert_eq!(read.rows[0].tokens, 3);
    assert!(!read.rows[0].cache_hit, "the store cannot hold a cache hit");
    drop(store);
    assert_eq!(schema(&path), tables_before, "no column or table added");
}

#[test]
fn duplicate_trace_ids_count_once_and_are_reported() {
    // A `traces` table created without its primary key: the second copy of
    // `t1` (failed) would count as a failed run beside the first (passed).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    {
        let conn = Connection::open(&path).unwrap();
        let ddl = traceflow::store::sqlite::TRACEFLOW_LITE_SCHEMA
            .replace("trace_id TEXT PRIMARY KEY,", "trace_id TEXT NOT NULL,");
        conn.execute_batch(&ddl).unwrap();
        // Foreign keys need a unique parent key, which this table lacks.
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) VALUES
               ('t0', 'done', 'grounded_qa', 'q', '{}', 'm', 'p', '2026-01-01T00:00:00Z'),
               ('t1', 'done', 'grounded_qa', 'q', '{}', 'm', 'p', '2026-01-02T00:00:00Z'),
               ('t2', 'done', 'grounded_qa', 'q', '{}', 'm', 'p', '2026-01-03T00:00:00Z'),
               ('t1', 'failed', 'grounded_qa', 'q', '{}', 'm', 'p', '2026-01-04T00:00:00Z');
             INSERT INTO trace_evals (trace_id, step_seq, decision, created_at) VALUES
               ('t0', 0, 'pass', '2026-01-01'), ('t1', 0, 'pass', '2026-01-02'),
               ('t2', 0, 'pass', '2026-01-03');",
        )
        .unwrap();
    }
    let store = SqliteStore::open_read_only(&path).unwrap();
    let report = TraceTrendAnalyzer::new(&store, 0.01)
        .analyze(Window::All)
        .unwrap();
    let runs: Vec<(&str, f64)> = report
        .summaries
        .iter()
        .map(|s| (s.trace_id.as_str(), s.pass_rate))
        .collect();
    assert_eq!(runs, [("t0", 1.0), ("t1", 1.0), ("t2", 1.0)]);
    let skipped: Vec<String> = report
        .skipped_rows
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].starts_with("traces row 4 (trace t1): trace_id repeats that of row 2"),
        "{skipped:?}"
    );
    let details = store
        .trace_heads(&HeadsQuery {
            labels: true,
            ..HeadsQuery::default()
        })
        .unwrap();
    assert_eq!(details.rows.len(), 3);
    assert_eq!(details.issues.len(), 1);
    assert_eq!(
        store.get_trace("t1").unwrap().unwrap().status,
        RunStatus::Done
    );
    assert_eq!(store.find_trace_ids("t1", 10).unwrap(), ["t1"]);
}

#[test]
fn inputs_are_read_trimmed_only_when_asked_and_shared_by_their_traces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    drop(SqliteStore::open_writable(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) VALUES
               ('a', 'done', 'grounded_qa', '  What is RAG?\n', '{}', 'm', 'p', '2026-01-01T00:00:00Z'),
               ('b', 'done', 'grounded_qa', 'What is RAG?', '{}', 'm', 'p', '2026-01-02T00:00:00Z'),
               ('c', 'done', 'direct', CAST(X'71ff' AS TEXT), '{}', 'm', 'p', '2026-01-03T00:00:00Z');",
        )
        .unwrap();
    let store = SqliteStore::open_read_only(&path).unwrap();
    let read = |inputs: bool| {
        store
            .trace_heads(&HeadsQuery {
                labels: false,
                inputs,
                ..HeadsQuery::default()
            })
            .unwrap()
            .rows
    };
    assert!(read(false).iter().all(|h| h.labels.is_none()));
    let heads = read(true);
    let inputs: Vec<(&str, &str)> = heads.iter().map(|h| (h.mode(), h.input())).collect();
    // Trimmed; a byte that is not UTF-8 shown as U+FFFD, the trace kept.
    assert_eq!(
        inputs,
        [
            ("grounded_qa", "What is RAG?"),
            ("grounded_qa", "What is RAG?"),
            ("direct", "q\u{fffd}")
        ]
    );
    // The same question, one copy.
    let (a, b) = (
        heads[0].labels.as_ref().unwrap(),
        heads[1].labels.as_ref().unwrap(),
    );
    assert!(std::sync::Arc::ptr_eq(a, b));
}

#[test]
fn directories_and_fifos_are_refused_before_sqlite_opens_them() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open_read_only(dir.path()).unwrap_err();
    assert!(
        err.to_string().ends_with(": not a file (a directory)"),
        "{err}"
    );

    let fifo = dir.path().join("fifo.db");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("this test needs mkfifo");
    assert!(made.success());
    // Opening a FIFO for reading blocks until a writer comes: run it on a
    // thread, so that a regression fails instead of hanging the suite.
    let (sender, receiver) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = sender.send(SqliteStore::open_read_only(&path).map(|_| ()));
    });
    let outcome = receiver
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("opening a FIFO blocked");
    let err = outcome.unwrap_err();
    assert!(
        err.to_string().ends_with("fifo.db: not a file (a FIFO)"),
        "{err}"
    );
}
