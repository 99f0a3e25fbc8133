//! The team database against a real PostgreSQL server: a pushed store
//! gives the reports its file gives, pushes are idempotent and incremental,
//! a source's bad rows are kept out and listed, and a push that dies leaves
//! the database as it was.

// Tests fail by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use traceflow::cases::{CaseAnalyzer, CaseOptions};
use traceflow::compare::{CompareAnalyzer, CompareOptions, Selector};
use traceflow::model::{RunStatus, StepRecord, TraceRecord, TraceUpdate};
use traceflow::report::{self, Document, Format};
use traceflow::store::postgres::push::{push, PushOptions, PushReport};
use traceflow::store::postgres::{self as team, PgTarget};
use traceflow::store::{FactsStore, PostgresStore, RecordStore, SqliteStore, WriteStore};
use traceflow::trend::{
    CaseBy, GroupBy, Metric, SegmentBy, SuiteAnalyzer, SuiteOptions, TraceTrendAnalyzer, Window,
};
use traceflow::window::WindowOptions;
use traceflow_testkit::pg::{self, TestDb};

use traceflow_testkit::fixtures::{fixture, sdk_store};

fn target(db: &TestDb) -> PgTarget {
    PgTarget::parse(&db.url).unwrap()
}

/// A fresh database with traceflow's schema.
fn initialised(tag: &str) -> TestDb {
    let db = TestDb::create(tag);
    team::init(&target(&db)).unwrap();
    db
}

fn push_file(file: &Path, db: &TestDb) -> PushReport {
    let source = SqliteStore::open_read_only(file).unwrap();
    push(&source, &target(db), PushOptions::default()).unwrap()
}

fn json(doc: Document<'_>) -> Value {
    serde_json::from_str(&report::render(doc, Format::Json)).unwrap()
}

/// Equal JSON, numbers to 1e-9 relative: the server adds a trace's floats
/// in its own order, so sums agree to the last bits, not in them.
fn assert_same(file: &Value, server: &Value, at: &str) {
    match (file, server) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300),
                "{at}: {a} from the file, {b} from the server"
            );
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}: lengths differ");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b), "{at}: fields differ");
            for (k, x) in a {
                assert_same(x, &b[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(file, server, "{at}"),
    }
}

/// The same report from both, or the same error.
fn assert_agree<T, E: std::fmt::Display>(
    file: Result<T, E>,
    server: Result<T, E>,
    render: impl Fn(&T) -> Value,
    what: &str,
) {
    match (file, server) {
        (Ok(a), Ok(b)) => assert_same(&render(&a), &render(&b), what),
        (a, b) => assert_eq!(
            a.map(|_| ()).map_err(|e| e.to_string()),
            b.map(|_| ()).map_err(|e| e.to_string()),
            "{what}"
        ),
    }
}

fn suite(window: Window) -> SuiteOptions {
    SuiteOptions {
        window: WindowOptions {
            runs: window,
            ..WindowOptions::default()
        },
        ..SuiteOptions::default()
    }
}

/// Every report kind, on the file and on the database it was pushed into.
fn assert_reports_agree(file: &SqliteStore, server: &PostgresStore, what: &str) {
    for window in [Window::Last(20), Window::All] {
        assert_agree(
            TraceTrendAnalyzer::new(file, 0.01).analyze(window),
            TraceTrendAnalyzer::new(server, 0.01).analyze(window),
            |r| json(Document::from(r)),
            &format!("{what} trace trend {window:?}"),
        );
    }
    let variants = [
        suite(Window::All),
        SuiteOptions {
            metrics: Metric::ALL.to_vec(),
            segment_by: Some(SegmentBy::Model),
            ..suite(Window::All)
        },
        SuiteOptions {
            window: WindowOptions {
                group_by: GroupBy::Day,
                ..suite(Window::All).window
            },
            metrics: Metric::ALL.to_vec(),
            ..suite(Window::All)
        },
        SuiteOptions {
            segment_by: Some(SegmentBy::Config("temperature".to_owned())),
            ..suite(Window::Last(30))
        },
        SuiteOptions {
            case_by: Some(CaseBy::Input),
            ..suite(Window::All)
        },
    ];
    for (k, options) in variants.into_iter().enumerate() {
        assert_agree(
            SuiteAnalyzer::new(file, options.clone()).analyze(),
            SuiteAnalyzer::new(server, options).analyze(),
            |r| json(Document::Suite(r)),
            &format!("{what} suite {k}"),
        );
    }
}

#[test]
fn a_pushed_store_gives_every_report_its_file_gives() {
    let mut files: Vec<PathBuf> = [
        "drift.db",
        "stable.db",
        "step.db",
        "sdk_no_evals.db",
        "early_schema.db",
        "cases.db",
    ]
    .iter()
    .map(|name| fixture(name))
    .collect();
    files.push(sdk_store("main.db"));
    files.push(sdk_store("early.db"));
    files.push(sdk_store("wal/traceflow.db"));
    for file in files {
        let db = initialised("parity");
        let pushed = push_file(&file, &db);
        assert!(
            pushed.left_out.is_empty(),
            "{}: {:?}",
            file.display(),
            pushed.left_out
        );
        let source = SqliteStore::open_read_only(&file).unwrap();
        let server = PostgresStore::open_read_only(&target(&db)).unwrap();
        assert_reports_agree(&source, &server, &file.display().to_string());
        // The records too: list and show.
        let a = source.list_traces(15).unwrap();
        let b = server.list_traces(15).unwrap();
        assert_eq!(a.rows, b.rows, "{}", file.display());
        for trace in &a.rows {
            assert_eq!(
                source.get_steps(&trace.trace_id).unwrap(),
                server.get_steps(&trace.trace_id).unwrap()
            );
            assert_eq!(
                source.get_evals(&trace.trace_id).unwrap().rows,
                server.get_evals(&trace.trace_id).unwrap().rows
            );
        }
        assert_eq!(source.config_keys().unwrap(), server.config_keys().unwrap());
        assert_eq!(source.score_names().unwrap(), server.score_names().unwrap());
    }
}

#[test]
fn cases_and_comparisons_agree_too() {
    let db = initialised("cases");
    let file = fixture("cases.db");
    push_file(&file, &db);
    let source = SqliteStore::open_read_only(&file).unwrap();
    let server = PostgresStore::open_read_only(&target(&db)).unwrap();
    let options = CaseOptions {
        window: suite(Window::All).window,
        ..CaseOptions::default()
    };
    let a = CaseAnalyzer::new(&source, options.clone())
        .analyze()
        .unwrap();
    let b = CaseAnalyzer::new(&server, options).analyze().unwrap();
    assert_same(
        &json(Document::Cases {
            report: &a,
            listing: report::CaseListing::All,
        }),
        &json(Document::Cases {
            report: &b,
            listing: report::CaseListing::All,
        }),
        "cases",
    );
    let options = CompareOptions {
        window: suite(Window::All).window,
        baseline: Some(Selector::parse("until=2026-01-01T14:35:00Z", time).unwrap()),
        candidate: Some(Selector::parse("since=2026-01-01T14:35:00Z", time).unwrap()),
        ..CompareOptions::default()
    };
    let compared = |store: &dyn FactsStore| {
        CompareAnalyzer::new(store, options.clone())
            .analyze()
            .map(|r| {
                json(Document::Compare {
                    report: &r,
                    listing: report::CaseListing::All,
                })
            })
            .map_err(|e| e.to_string())
    };
    // Both compare (the split is inside the fixture's history).
    assert_same(
        &compared(&source).unwrap(),
        &compared(&server).unwrap(),
        "compare",
    );
}

fn time(text: &str) -> Result<Timestamp, traceflow::error::InvalidValue> {
    text.parse()
        .map_err(|e: jiff::Error| traceflow::error::InvalidValue::new(e.to_string()))
}

#[test]
fn rows_the_analysis_cannot_use_are_kept_out_and_listed() {
    for name in ["bad_rows.db", "quirks.db"] {
        let db = initialised("hostile");
        let file = fixture(name);
        let pushed = push_file(&file, &db);
        let source = SqliteStore::open_read_only(&file).unwrap();
        let server = PostgresStore::open_read_only(&target(&db)).unwrap();
        let a = TraceTrendAnalyzer::new(&source, 0.01)
            .analyze(Window::All)
            .unwrap();
        let b = TraceTrendAnalyzer::new(&server, 0.01)
            .analyze(Window::All)
            .unwrap();
        // Every row the file's analysis skipped, the push listed.
        for skipped in &a.skipped_rows {
            assert!(
                pushed.left_out.iter().any(|issue| issue.at == skipped.at),
                "{name}: {skipped} was not listed by the push"
            );
        }
        // Past those, the same report, times to the nanosecond (the
        // facts keep what PostgreSQL's timestamptz drops).
        let mut a = json(Document::from(&a));
        let mut b = json(Document::from(&b));
        for doc in [&mut a, &mut b] {
            doc.as_object_mut().unwrap().remove("skipped_rows");
        }
        assert_same(&a, &b, name);
    }
}

#[test]
fn a_second_push_of_an_unchanged_store_sends_nothing_and_changes_nothing() {
    let db = initialised("again");
    let file = fixture("drift.db");
    let first = push_file(&file, &db);
    assert!(!first.incremental);
    assert_eq!(first.traces.created, 60);
    let counts = |db: &TestDb| {
        (
            db.count("SELECT count(*) FROM traces"),
            db.count("SELECT count(*) FROM trace_steps"),
            db.count("SELECT count(*) FROM trace_evals"),
            db.count(
                "SELECT (extract(epoch FROM max(updated_db_at)) * 1000000)::bigint FROM traces",
            ),
        )
    };
    let before = counts(&db);
    let second = push_file(&file, &db);
    assert!(second.incremental);
    assert_eq!(
        (second.traces.sent, second.steps.sent, second.evals.sent),
        (0, 0, 0)
    );
    assert_eq!(counts(&db), before);
    // Compared in full, every row is sent and none changes.
    let source = SqliteStore::open_read_only(&file).unwrap();
    let full = push(
        &source,
        &target(&db),
        PushOptions {
            full: true,
            ..PushOptions::default()
        },
    )
    .unwrap();
    assert_eq!(full.traces.sent, 60);
    assert_eq!(
        (
            full.traces.created,
            full.traces.updated,
            full.steps.updated,
            full.evals.updated
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(counts(&db), before);
}

/// A writable copy of a fixture.
fn copy_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::copy(fixture(name), &path).unwrap();
    (dir, path)
}

fn new_trace(id: &str, at: Timestamp, status: RunStatus) -> TraceRecord {
    TraceRecord {
        trace_id: id.to_owned(),
        status,
        mode: traceflow::model::Mode::GroundedQa,
        user_input: "a new question".to_owned(),
        config: traceflow::model::RunConfig::default(),
        model: "gpt-4o-mini".to_owned(),
        provider: "openai".to_owned(),
        final_answer: None,
        error: None,
        created_at: at,
        finished_at: None,
    }
}

fn evaluator_step(id: &str, seq: i64, decision: &str, at: Timestamp) -> StepRecord {
    StepRecord {
        trace_id: id.to_owned(),
        step_seq: seq,
        node_name: "evaluator".to_owned(),
        input: None,
        output: Some(serde_json::json!({"decision": decision, "scores": {"cost": 1.0}})),
        tokens: 10,
        latency_ms: 5.5,
        cost_usd: 0.001,
        error: None,
        cache_hit: false,
        created_at: at,
    }
}

#[test]
fn a_push_after_new_runs_moves_only_them_and_finishes_the_runs_it_saw_running() {
    let db = initialised("incremental");
    let (_dir, path) = copy_of("drift.db");
    let at: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    {
        let mut store = SqliteStore::open_writable(&path).unwrap();
        store
            .create_trace(&new_trace("still-running", at, RunStatus::Running))
            .unwrap();
    }
    push_file(&path, &db);
    assert_eq!(
        db.count("SELECT count(*) FROM traces WHERE status = 'running'"),
        1
    );
    {
        let mut store = SqliteStore::open_writable(&path).unwrap();
        for k in 0..25 {
            let id = format!("new-{k}");
            let t = at + SignedDuration::from_mins(k + 1);
            store
                .create_trace(&new_trace(&id, t, RunStatus::Running))
                .unwrap();
            store
                .insert_step(&evaluator_step(
                    &id,
                    0,
                    if k % 3 == 0 { "FALLBACK" } else { "pass" },
                    t,
                ))
                .unwrap();
            store
                .update_trace(
                    &id,
                    &TraceUpdate {
                        status: RunStatus::Done,
                        final_answer: Some("ok".to_owned()),
                        error: None,
                    },
                )
                .unwrap();
        }
        // The run seen running finishes, with its step.
        store
            .insert_step(&evaluator_step("still-running", 0, "revise", at))
            .unwrap();
        store
            .update_trace(
                "still-running",
                &TraceUpdate {
                    status: RunStatus::Done,
                    final_answer: None,
                    error: None,
                },
            )
            .unwrap();
    }
    let pushed = push_file(&path, &db);
    assert!(pushed.incremental);
    assert_eq!(
        pushed.traces.sent, 26,
        "25 new and the one that was running"
    );
    assert_eq!((pushed.traces.created, pushed.traces.updated), (25, 1));
    assert_eq!((pushed.steps.sent, pushed.steps.created), (26, 26));
    assert_eq!(
        db.count("SELECT count(*) FROM traces WHERE status = 'running'"),
        0
    );
    let source = SqliteStore::open_read_only(&path).unwrap();
    let server = PostgresStore::open_read_only(&target(&db)).unwrap();
    assert_reports_agree(&source, &server, "after an incremental push");
}

fn sqlite3(db: &Path, sql: &str) {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_store_that_is_not_the_one_seen_is_compared_in_full() {
    let db = initialised("rebuilt");
    let (_dir, path) = copy_of("drift.db");
    push_file(&path, &db);
    // The row the database marked is gone and another took its rowid.
    sqlite3(
        &path,
        "UPDATE traces SET trace_id = 'replaced' WHERE rowid = (SELECT max(rowid) FROM traces)",
    );
    let pushed = push_file(&path, &db);
    assert!(!pushed.incremental);
    assert_eq!(pushed.traces.sent, 60);
    assert_eq!(pushed.traces.created, 1, "the renamed trace is a new one");
}

#[test]
fn a_repeated_step_key_keeps_the_later_row_and_lists_the_others() {
    let db = initialised("repeats");
    let (_dir, path) = copy_of("sdk_no_evals.db");
    sqlite3(
        &path,
        "INSERT INTO trace_steps (trace_id, step_seq, node_name, input_json, output_json, tokens, \
         latency_ms, cost_usd, created_at) SELECT trace_id, step_seq, node_name, input_json, \
         '{\"decision\": \"fallback\"}', 1, 1.0, 0.0, created_at FROM trace_steps \
         WHERE node_name = 'evaluator' ORDER BY rowid LIMIT 1",
    );
    let pushed = push_file(&path, &db);
    assert_eq!(pushed.left_out.len(), 1, "{:?}", pushed.left_out);
    let issue = &pushed.left_out[0];
    assert!(issue.reason.contains("same step_seq"), "{issue}");
    let trace = issue.trace_id.clone().unwrap();
    let kept: String = db
        .client()
        .query_one(
            "SELECT output_json ->> 'decision' FROM trace_steps WHERE trace_id = $1 \
             AND node_name = 'evaluator' ORDER BY step_seq LIMIT 1",
            &[&trace],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, "fallback", "the later-written row is kept");
}

#[test]
fn a_dry_run_says_what_would_move_and_writes_nothing() {
    let db = initialised("dry");
    let source = SqliteStore::open_read_only(fixture("step.db")).unwrap();
    let report = push(
        &source,
        &target(&db),
        PushOptions {
            dry_run: true,
            ..PushOptions::default()
        },
    )
    .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.traces.created, 50);
    assert_eq!(db.count("SELECT count(*) FROM traces"), 0);
    assert_eq!(db.count("SELECT count(*) FROM traceflow_push_sources"), 0);
}

#[test]
fn a_database_without_the_schema_says_what_to_run_and_is_left_alone() {
    let db = TestDb::create("bare");
    let err = PostgresStore::open_read_only(&target(&db)).unwrap_err();
    assert!(err.to_string().contains("traceflow db init"), "{err}");
    let source = SqliteStore::open_read_only(fixture("step.db")).unwrap();
    let err = push(&source, &target(&db), PushOptions::default()).unwrap_err();
    assert!(err.to_string().contains("traceflow db init"), "{err}");
    assert_eq!(
        db.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        0
    );
    // init twice: the second finds it done.
    let first = team::init(&target(&db)).unwrap();
    let second = team::init(&target(&db)).unwrap();
    assert_eq!((first.from, first.to, second.from), (0, 2, 2));
}

#[test]
fn a_role_with_select_only_runs_every_reading_command() {
    let db = initialised("readonly");
    push_file(&fixture("drift.db"), &db);
    let role = format!("tf_reader_{}", std::process::id());
    let password = format!("made-up-{}", std::process::id());
    let mut admin = db.client();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD '{password}'; \
             GRANT CONNECT ON DATABASE {} TO {role}; GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};",
            db.name
        ))
        .unwrap();
    let url = {
        let rest = db.url.split_once('@').unwrap().1;
        format!("postgres://{role}:{password}@{rest}")
    };
    let reader = PgTarget::parse(&url).unwrap();
    let server = PostgresStore::open_read_only(&reader).unwrap();
    let report = TraceTrendAnalyzer::new(&server, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 60);
    SuiteAnalyzer::new(
        &server,
        SuiteOptions {
            metrics: Metric::ALL.to_vec(),
            ..suite(Window::All)
        },
    )
    .analyze()
    .unwrap();
    let listed = server.list_traces(3).unwrap();
    assert_eq!(listed.rows.len(), 3);
    server.get_steps(&listed.rows[0].trace_id).unwrap();
    // It cannot push: one line, the cause, nothing written.
    let source = SqliteStore::open_read_only(fixture("step.db")).unwrap();
    let err = push(&source, &reader, PushOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("permission denied"), "{text}");
    assert!(!text.contains(&password), "{text}");
    assert!(!text.contains('\n'), "{text}");
    assert_eq!(db.count("SELECT count(*) FROM traces"), 60);
    drop(server);
    let _ = admin.batch_execute(&format!(
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}; \
         REVOKE ALL ON SCHEMA public FROM {role}; REVOKE ALL ON DATABASE {} FROM {role}; DROP ROLE {role};",
        db.name
    ));
}

#[test]
fn a_push_killed_mid_way_leaves_the_database_as_it_was_and_the_next_completes_it() {
    let db = initialised("killed");
    let admin = pg::server().url.clone();
    let file = fixture("drift.db");
    let source = SqliteStore::open_read_only(&file).unwrap();
    let mut killed = false;
    let mut kill = |p: traceflow::store::postgres::push::Progress| {
        // Once the traces are sent, the server ends the push's session.
        if p.table == "traces" && p.rows == p.total && !killed {
            killed = true;
            let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
            client
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = $1 AND pid <> pg_backend_pid()",
                    &[&db.name],
                )
                .unwrap();
        }
    };
    let err = push(
        &source,
        &target(&db),
        PushOptions {
            progress: Some(&mut kill),
            ..PushOptions::default()
        },
    )
    .unwrap_err();
    assert!(killed);
    let text = err.to_string();
    assert!(text.contains("nothing was written"), "{text}");
    assert!(!text.contains('\n'), "{text}");
    for table in [
        "traces",
        "trace_steps",
        "trace_evals",
        "traceflow_push_sources",
    ] {
        assert_eq!(
            db.count(&format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    let again = push_file(&file, &db);
    assert!(!again.incremental);
    assert_eq!(again.traces.created, 60);
    let server = PostgresStore::open_read_only(&target(&db)).unwrap();
    assert_reports_agree(&source, &server, "after a killed push");
}

/// A copy of `cases.db` whose ids all start with `prefix`: another host's
/// store.
fn host_store(dir: &Path, prefix: &str) -> PathBuf {
    let path = dir.join(format!("{prefix}.db"));
    std::fs::copy(fixture("cases.db"), &path).unwrap();
    sqlite3(
        &path,
        &format!(
            "UPDATE traces SET trace_id = '{prefix}-' || trace_id; \
             UPDATE trace_steps SET trace_id = '{prefix}-' || trace_id; \
             UPDATE trace_evals SET trace_id = '{prefix}-' || trace_id;"
        ),
    );
    path
}

#[test]
fn eight_pushes_at_once_with_readers_lose_nothing_repeat_nothing_and_readers_see_whole_pushes() {
    let db = initialised("writers");
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<PathBuf> = (0..8)
        .map(|k| host_store(dir.path(), &format!("h{k}")))
        .collect();
    let per_store = SqliteStore::open_read_only(&stores[0])
        .unwrap()
        .list_traces(usize::MAX)
        .unwrap()
        .rows
        .len();
    let target = target(&db);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen = Vec::new();
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let server = PostgresStore::open_read_only(&target).unwrap();
                        let heads = server
                            .trace_heads(&traceflow::store::HeadsQuery::default())
                            .unwrap();
                        let n = heads.rows.len();
                        // A snapshot holds whole pushes only.
                        assert_eq!(n % per_store, 0, "a reader saw {n} traces");
                        if n > 0 {
                            TraceTrendAnalyzer::new(&server, 0.01)
                                .analyze(Window::All)
                                .unwrap();
                        }
                        seen.push(n);
                    }
                    seen
                })
            })
            .collect();
        // Eight hosts, and one of them twice at once.
        let writers: Vec<_> = stores
            .iter()
            .chain(std::iter::once(&stores[3]))
            .map(|path| {
                let target = &target;
                scope.spawn(move || {
                    let source = SqliteStore::open_read_only(path).unwrap();
                    push(&source, target, PushOptions::default()).unwrap()
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            let seen = reader.join().unwrap();
            assert!(!seen.is_empty());
        }
    });
    let expected = i64::try_from(8 * per_store).unwrap();
    assert_eq!(db.count("SELECT count(*) FROM traces"), expected);
    assert_eq!(
        db.count("SELECT count(DISTINCT trace_id) FROM traces"),
        expected
    );
    let steps: i64 = stores
        .iter()
        .map(|p| {
            let out = Command::new("sqlite3")
                .arg(p)
                .arg("SELECT count(*) FROM trace_steps")
                .output()
                .unwrap();
            String::from_utf8(out.stdout)
                .unwrap()
                .trim()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(db.count("SELECT count(*) FROM trace_steps"), steps);
    assert_eq!(db.count("SELECT count(*) FROM traceflow_push_sources"), 8);
}

#[test]
fn the_readmes_push_role_can_push_and_nothing_more_is_needed() {
    let db = initialised("pushrole");
    let role = format!("tf_pusher_{}", std::process::id());
    let password = format!("made-up-{}", std::process::id());
    let mut admin = db.client();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD '{password}'; \
             GRANT CONNECT ON DATABASE {db} TO {role}; GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT, INSERT, UPDATE ON traces, trace_steps, trace_evals, trace_facts, traceflow_push_sources TO {role}; \
             GRANT SELECT ON traceflow_schema TO {role}; \
             GRANT TEMPORARY ON DATABASE {db} TO {role};",
            db = db.name
        ))
        .unwrap();
    let rest = db.url.split_once('@').unwrap().1;
    let pusher = PgTarget::parse(&format!("postgres://{role}:{password}@{rest}")).unwrap();
    let source = SqliteStore::open_read_only(fixture("drift.db")).unwrap();
    let first = push(&source, &pusher, PushOptions::default()).unwrap();
    assert_eq!(first.traces.created, 60);
    let second = push(&source, &pusher, PushOptions::default()).unwrap();
    assert!(second.incremental);
    let _ = admin.batch_execute(&format!(
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}; REVOKE ALL ON SCHEMA public FROM {role}; \
         REVOKE ALL ON DATABASE {db} FROM {role}; DROP ROLE {role};",
        db = db.name
    ));
}

#[test]
fn text_postgresql_cannot_hold_and_extreme_step_positions_do_not_fail_a_push_or_a_report() {
    let db = initialised("nul");
    let (_dir, path) = copy_of("drift.db");
    // SQLite's text holds NUL characters, PostgreSQL's text and jsonb do
    // not; an INTEGER step_seq may be as large as a bigint.
    sqlite3(
        &path,
        "UPDATE traces SET user_input = 'before' || char(0) || 'after' WHERE rowid = 1; \
         UPDATE trace_evals SET reasons_json = '[\"a\\u0000b\"]' WHERE rowid = 1; \
         UPDATE trace_steps SET input_json = '{\"q\\u0000\": \"x\\u0000y\"}' WHERE rowid = 1; \
         UPDATE trace_evals SET step_seq = 9223372036854775807 WHERE rowid = 2;",
    );
    let pushed = push_file(&path, &db);
    let replaced: Vec<_> = pushed
        .left_out
        .iter()
        .filter(|issue| issue.reason.contains("NUL characters replaced"))
        .collect();
    assert_eq!(replaced.len(), 3, "{:?}", pushed.left_out);
    assert_eq!(pushed.traces.created, 60);
    let input: String = db
        .client()
        .query_one("SELECT user_input FROM traces ORDER BY seq LIMIT 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(input, "before\u{FFFD}after");
    let source = SqliteStore::open_read_only(&path).unwrap();
    let server = PostgresStore::open_read_only(&target(&db)).unwrap();
    let a = TraceTrendAnalyzer::new(&source, 0.01)
        .analyze(Window::All)
        .unwrap();
    let b = TraceTrendAnalyzer::new(&server, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_same(
        &json(Document::from(&a)),
        &json(Document::from(&b)),
        "extreme step_seq",
    );
}

/// Counts `table`'s rows in a file, without locks or writes.
fn file_count(path: &Path, table: &str) -> i64 {
    let store = SqliteStore::open_read_only(path).unwrap();
    drop(store);
    let out = Command::new("sqlite3")
        .arg(path)
        .arg(format!("SELECT count(*) FROM {table}"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn rows_a_live_writer_commits_during_a_push_are_sent_by_the_next_one() {
    let db = initialised("livewriter");
    let (_dir, path) = copy_of("drift.db");
    // TraceFlow Lite keeps its store in WAL mode: a writer commits while a
    // push reads.
    sqlite3(&path, "PRAGMA journal_mode = WAL;");
    // The SDK's connection, open for as long as its process runs.
    let mut writer = SqliteStore::open_writable(&path).unwrap();
    let at: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    let mut written = 0;
    let mut progress = |p: traceflow::store::postgres::push::Progress| {
        // Once the push has read every trace, the SDK records a whole run:
        // its trace, then its steps and verdict.
        if p.table == "traces" && p.rows == p.total && written == 0 {
            written += 1;
            let id = "written-during-the-push";
            writer
                .create_trace(&new_trace(id, at, RunStatus::Running))
                .unwrap();
            writer
                .insert_step(&evaluator_step(id, 0, "fallback", at))
                .unwrap();
            writer
                .update_trace(
                    id,
                    &TraceUpdate {
                        status: RunStatus::Done,
                        final_answer: None,
                        error: None,
                    },
                )
                .unwrap();
        }
    };
    let source = SqliteStore::open_read_only(&path).unwrap();
    push(
        &source,
        &target(&db),
        PushOptions {
            progress: Some(&mut progress),
            ..PushOptions::default()
        },
    )
    .unwrap();
    assert_eq!(written, 1, "the writer ran during the push");
    let next = push(&source, &target(&db), PushOptions::default()).unwrap();
    assert!(next.incremental);
    // Nothing is lost: every row of the file is in the database.
    assert_eq!(file_count(&path, "traces"), 61);
    for table in ["traces", "trace_steps", "trace_evals"] {
        assert_eq!(
            db.count(&format!("SELECT count(*) FROM {table}")),
            file_count(&path, table),
            "{table}"
        );
    }
    let server = PostgresStore::open_read_only(&target(&db)).unwrap();
    assert_reports_agree(&source, &server, "after a live writer");
}

#[test]
fn rows_postgresql_cannot_hold_are_kept_out_and_listed_and_every_push_goes_on() {
    let db = initialised("unfit");
    let (_dir, path) = copy_of("drift.db");
    // A trace id over the b-tree's 2,704 bytes, and a start before 4713 BC
    // (Unix seconds, which the file reads).
    sqlite3(
        &path,
        "UPDATE traces SET trace_id = 'x' || printf('%.3000c', 'y') WHERE rowid = 1; \
         UPDATE trace_steps SET trace_id = 'x' || printf('%.3000c', 'y') \
           WHERE trace_id = (SELECT trace_id FROM traces WHERE rowid = 2); \
         UPDATE traces SET created_at = -220000000000 WHERE rowid = 3;",
    );
    for round in 0..2 {
        let report = push(
            &SqliteStore::open_read_only(&path).unwrap(),
            &target(&db),
            PushOptions {
                full: true,
                ..PushOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let why: Vec<&str> = report.left_out.iter().map(|i| i.reason.as_str()).collect();
        assert!(why.iter().any(|w| w.contains("3001 bytes long")), "{why:?}");
        assert!(
            why.iter()
                .any(|w| w.contains("before PostgreSQL's earliest time")),
            "{why:?}"
        );
    }
    assert_eq!(db.count("SELECT count(*) FROM traces"), 58);
    assert_eq!(
        db.count("SELECT count(*) FROM trace_steps WHERE length(trace_id) > 2048"),
        0
    );
}

#[test]
fn an_id_whose_nul_would_become_another_traces_id_is_kept_out_not_merged() {
    let db = initialised("nul_ids");
    let (_dir, path) = copy_of("drift.db");
    // PostgreSQL's text holds no NUL: a push writes U+FFFD for it. Trace 1
    // holds a NUL where trace 2 holds U+FFFD; otherwise the same id.
    sqlite3(
        &path,
        "CREATE TABLE ids AS SELECT trace_id AS old, 'a' || char(0) || 'b' AS new            FROM traces WHERE rowid = 1          UNION ALL SELECT trace_id, 'a' || char(65533) || 'b' FROM traces WHERE rowid = 2;          UPDATE trace_steps SET trace_id = (SELECT new FROM ids WHERE old = trace_id)            WHERE trace_id IN (SELECT old FROM ids);          UPDATE trace_evals SET trace_id = (SELECT new FROM ids WHERE old = trace_id)            WHERE trace_id IN (SELECT old FROM ids);          UPDATE traces SET trace_id = (SELECT new FROM ids WHERE old = trace_id)            WHERE trace_id IN (SELECT old FROM ids);          DROP TABLE ids;",
    );
    let steps_of = |id: &str| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row(
            "SELECT count(*) FROM trace_steps WHERE trace_id = ?1",
            [id],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
    };
    let replaced = "a\u{FFFD}b";
    assert!(steps_of("a\0b") > 0 && steps_of(replaced) > 0);
    for round in 0..2 {
        let report = push(
            &SqliteStore::open_read_only(&path).unwrap(),
            &target(&db),
            PushOptions {
                full: round == 1,
                ..PushOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let why: Vec<&str> = report.left_out.iter().map(|i| i.reason.as_str()).collect();
        assert!(
            why.iter().any(|w| w.contains("another trace's id")),
            "round {round}: {why:?}"
        );
    }
    // The trace with U+FFFD keeps its own rows, and only those.
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) FROM trace_steps WHERE trace_id = '{replaced}'"
        )),
        steps_of(replaced)
    );
    assert_eq!(
        db.count("SELECT count(*) FROM traces"),
        file_count(&path, "traces") - 1
    );
}

#[test]
fn pushes_of_stores_sharing_traces_in_other_orders_all_succeed() {
    let db = initialised("overlap");
    let dir = tempfile::tempdir().unwrap();
    // The same runs, written in opposite orders (and one more each): two
    // pushes lock the shared keys in opposite orders.
    let stores: Vec<PathBuf> = (0..4)
        .map(|k| {
            let path = dir.path().join(format!("h{k}.db"));
            std::fs::copy(fixture("cases.db"), &path).unwrap();
            if k % 2 == 1 {
                for table in ["traces", "trace_steps", "trace_evals"] {
                    sqlite3(
                        &path,
                        &format!(
                            "CREATE TABLE r AS SELECT * FROM {table} ORDER BY rowid DESC; \
                             DELETE FROM {table}; INSERT INTO {table} SELECT * FROM r; DROP TABLE r;"
                        ),
                    );
                }
            }
            path
        })
        .collect();
    let target = target(&db);
    for round in 0..3 {
        std::thread::scope(|scope| {
            let pushes: Vec<_> = stores
                .iter()
                .map(|path| {
                    let target = &target;
                    scope.spawn(move || {
                        let source = SqliteStore::open_read_only(path).unwrap();
                        push(
                            &source,
                            target,
                            PushOptions {
                                full: true,
                                ..PushOptions::default()
                            },
                        )
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                    })
                })
                .collect();
            for (k, p) in pushes.into_iter().enumerate() {
                let result = p.join().unwrap();
                assert!(result.is_ok(), "round {round}, store {k}: {result:?}");
            }
        });
    }
    assert_eq!(
        db.count("SELECT count(*) FROM traces"),
        file_count(&stores[0], "traces")
    );
}

#[test]
fn a_version_1_database_migrates_to_facts_and_reads_as_before() {
    let db = initialised("v1");
    let file = fixture("sdk_no_evals.db");
    push_file(&file, &db);
    // Back to version 1 as it was: the raw rows, no facts.
    db.client()
        .batch_execute("DROP TABLE trace_facts; DELETE FROM traceflow_schema WHERE version = 2;")
        .unwrap();
    let err = PostgresStore::open_read_only(&target(&db)).unwrap_err();
    assert!(err.to_string().contains("traceflow db migrate"), "{err}");
    let moved = team::migrate(&target(&db)).unwrap();
    assert_eq!((moved.from, moved.to), (1, 2));
    assert_eq!(
        db.count("SELECT count(*) FROM trace_facts"),
        db.count("SELECT count(*) FROM traces")
    );
    // The version-1 rules in SQL agree with the file on a store they read
    // alike (the SDK's shape).
    let source = SqliteStore::open_read_only(&file).unwrap();
    let server = PostgresStore::open_read_only(&target(&db)).unwrap();
    assert_reports_agree(&source, &server, "after the migration");
}

#[test]
fn a_trace_written_past_push_is_left_out_and_named() {
    let db = initialised("pastpush");
    push_file(&fixture("drift.db"), &db);
    db.client()
        .batch_execute(
            "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, \
             created_at) VALUES ('by-hand', 'done', 'grounded_qa', 'q', '{}', 'm', 'p', now())",
        )
        .unwrap();
    let server = PostgresStore::open_read_only(&target(&db)).unwrap();
    let report = TraceTrendAnalyzer::new(&server, 0.01)
        .analyze(Window::All)
        .unwrap();
    assert_eq!(report.window, 60);
    assert!(
        report
            .skipped_rows
            .iter()
            .any(|i| i.trace_id.as_deref() == Some("by-hand") && i.reason.contains("push")),
        "{:?}",
        report.skipped_rows
    );
}
