//! The team database as a user drives it: `db init`, `push` in each job,
//! `gate --db postgres://…`; every reading command against the server; and
//! the errors, each one line with exit 2 and never a password.

use super::Sandbox;
use traceflow_testkit::pg::{self, TestDb};

/// The URL's password, to check that no output holds it.
fn password_of(url: &str) -> String {
    let userinfo = url.split_once("://").unwrap().1.split_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_owned()
}

#[test]
fn from_nothing_to_a_gate_against_the_shared_history_in_three_commands() {
    let db = TestDb::create("cli_gate");
    let sandbox = Sandbox::new(&["drift.db", "step.db"]);
    let init = sandbox.run(&["db", "init", "--db", &db.url]);
    assert_eq!(init.code, 0, "{init}");
    assert!(
        init.stdout
            .contains("created traceflow's schema, version 2"),
        "{init}"
    );
    let push = sandbox.run(&["push", "--from", "drift.db", "--to", &db.url]);
    assert_eq!(push.code, 0, "{push}");
    assert!(push.stdout.contains("every row compared"), "{push}");
    // The gate on the server says what the gate on the file says.
    let on_file = sandbox.run(&["gate", "--db", "drift.db", "--window", "all"]);
    let on_server = sandbox.run(&["gate", "--db", &db.url, "--window", "all"]);
    assert_eq!(on_server.code, on_file.code, "{on_server}");
    assert_eq!(on_server.stdout, on_file.stdout);
    // $TRACEFLOW_DB names it as well as --db.
    let by_env = sandbox
        .command(&["trend", "--window", "all", "--format", "json"])
        .env("TRACEFLOW_DB", &db.url)
        .output()
        .unwrap();
    let on_file = sandbox.run(&[
        "trend", "--db", "drift.db", "--window", "all", "--format", "json",
    ]);
    assert_eq!(String::from_utf8(by_env.stdout).unwrap(), on_file.stdout);
    // A second job's store joins the history; a re-push moves nothing.
    let again = sandbox.run(&["push", "--from", "drift.db", "--to", &db.url]);
    assert!(again.stdout.contains("incremental"), "{again}");
    assert!(again.stdout.contains(" traces    0 "), "{again}");
    let second = sandbox.run(&[
        "push", "--from", "step.db", "--to", &db.url, "--format", "json",
    ]);
    let second = super::json(&second.stdout);
    assert_eq!(second["traces"]["created"], 50);
    assert_eq!(db.count("SELECT count(*) FROM traces"), 110);
    for output in [&init, &push, &again] {
        assert!(!output.to_string().contains(&password_of(&db.url)));
    }
}

#[test]
fn list_and_show_read_the_server_as_they_read_the_file() {
    let db = TestDb::create("cli_list");
    let sandbox = Sandbox::new(&["drift.db"]);
    assert_eq!(sandbox.run(&["db", "init", "--db", &db.url]).code, 0);
    assert_eq!(
        sandbox
            .run(&["push", "--from", "drift.db", "--to", &db.url])
            .code,
        0
    );
    let on_file = sandbox.run(&["list", "--db", "drift.db", "--limit", "5"]);
    let on_server = sandbox.run(&["list", "--db", &db.url, "--limit", "5"]);
    assert_eq!((on_server.code, &on_server.stdout), (0, &on_file.stdout));
    let id = on_file
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let id = id.trim_end_matches("...");
    let on_file = sandbox.run(&["show", "--db", "drift.db", id]);
    let on_server = sandbox.run(&["show", "--db", &db.url, id]);
    assert_eq!(on_file.code, 0, "{on_file}");
    assert_eq!((on_server.code, &on_server.stdout), (0, &on_file.stdout));
}

/// Exit 2, one line on stderr that says `expect`, nothing on stdout, and
/// the password nowhere.
fn assert_fails(sandbox: &Sandbox, args: &[&str], expect: &str, password: &str) {
    let out = sandbox.run(args);
    assert_eq!(out.code, 2, "{args:?}: {out}");
    assert_eq!(out.stdout, "", "{args:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out}");
    assert!(out.stderr.contains(expect), "{args:?}: {out}");
    assert!(!out.stderr.contains(password), "{args:?}: {out}");
}

#[test]
fn each_error_is_one_line_with_exit_2_and_no_password() {
    let db = TestDb::create("cli_errors");
    let sandbox = Sandbox::new(&["drift.db"]);
    let password = password_of(&db.url);
    // No tables yet: reading says what to run, and creates nothing.
    assert_fails(
        &sandbox,
        &["trend", "--db", &db.url],
        "traceflow db init",
        &password,
    );
    assert_fails(
        &sandbox,
        &["push", "--from", "drift.db", "--to", &db.url],
        "traceflow db init",
        &password,
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        0
    );
    // A wrong password, a database that does not exist, a server that is
    // not there.
    let wrong = db.url.replace(&password, "not-the-password-42");
    assert_fails(
        &sandbox,
        &["trend", "--db", &wrong],
        "password",
        "not-the-password-42",
    );
    let missing = pg::with_database(&db.url, "tf_no_such_database");
    assert_fails(
        &sandbox,
        &["list", "--db", &missing],
        "tf_no_such_database",
        &password,
    );
    assert_fails(
        &sandbox,
        &[
            "gate",
            "--db",
            "postgres://someone:hunter2-secret@127.0.0.1:1/traceflow",
        ],
        "127.0.0.1",
        "hunter2-secret",
    );
    // A push or init needs a server, not a file.
    assert_fails(
        &sandbox,
        &["push", "--from", "drift.db", "--to", "shared.db"],
        "not a PostgreSQL database",
        &password,
    );
    assert_fails(
        &sandbox,
        &["db", "init", "--db", "drift.db"],
        "not a PostgreSQL database",
        &password,
    );
    assert!(!sandbox.path("shared.db").exists());
}

#[test]
fn a_statement_timeout_and_a_lost_connection_are_one_line_each() {
    let db = TestDb::create("cli_timeout");
    let sandbox = Sandbox::new(&["drift.db"]);
    assert_eq!(sandbox.run(&["db", "init", "--db", &db.url]).code, 0);
    assert_eq!(
        sandbox
            .run(&["push", "--from", "drift.db", "--to", &db.url])
            .code,
        0
    );
    let password = password_of(&db.url);
    // A writer holds the table: the reader's query waits, and its timeout
    // (libpq's options, in the URL) ends it.
    let mut holder = db.client();
    let mut lock = holder.transaction().unwrap();
    lock.batch_execute("LOCK TABLE traces IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let timed = format!("{}?options=-c%20statement_timeout%3D300", db.url);
    assert_fails(
        &sandbox,
        &["trend", "--db", &timed],
        "statement timeout",
        &password,
    );
    // The server ends the waiting reader's session.
    let admin = pg::server().url.clone();
    let name = db.name.clone();
    let killer = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        for _ in 0..100 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let ended = client
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 \
                     AND application_name = 'traceflow' AND wait_event_type = 'Lock'",
                    &[&name],
                )
                .unwrap();
            if !ended.is_empty() {
                return;
            }
        }
    });
    assert_fails(
        &sandbox,
        &["trend", "--db", &db.url],
        "connection",
        &password,
    );
    killer.join().unwrap();
    lock.rollback().unwrap();
}

/// A hostile variant of a fixture store: what TraceFlow Lite's stores (or
/// the programs beside it) hold that strict readers disagree on.
struct Hostile {
    name: &'static str,
    base: &'static str,
    sql: String,
}

/// `json` without its `skipped_rows` (the file's analysis lists the rows it
/// skips; the database's were listed by the push that kept them out).
fn without_skipped(mut json: serde_json::Value) -> serde_json::Value {
    match &mut json {
        serde_json::Value::Object(map) => {
            map.remove("skipped_rows");
            for value in map.values_mut() {
                *value = without_skipped(value.take());
            }
        }
        serde_json::Value::Array(items) => {
            for value in items.iter_mut() {
                *value = without_skipped(value.take());
            }
        }
        _ => {}
    }
    json
}

/// Where two JSON documents first differ, and how.
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if v == w => {}
                    Some(w) => return first_difference(v, w, &format!("{at}.{k}")),
                    None => return format!("{at}.{k}: only in the file's"),
                }
            }
            format!("{at}: the server's has other fields")
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (v, w))| v != w)
            .map(|(i, (v, w))| first_difference(v, w, &format!("{at}[{i}]")))
            .unwrap_or_default(),
        _ => format!("{at}: {a} from the file, {b} from the server"),
    }
}

fn hostile_corpus() -> Vec<Hostile> {
    // The evaluator steps that did not pass, in the SDK's store.
    let failing = "node_name = 'evaluator' AND output_json NOT LIKE '%\"pass\"%'";
    let decision = |to: &str| {
        format!(
            "UPDATE trace_steps SET output_json = replace(replace(output_json, \
             '\"decision\": \"revise\"', '\"decision\": \"{to}\"'), \
             '\"decision\": \"fallback\"', '\"decision\": \"{to}\"') WHERE {failing};"
        )
    };
    let inside = |member: &str| {
        format!(
            "UPDATE trace_steps SET output_json = replace(output_json, '\"reasons\": [', \
             '{member}, \"reasons\": [') WHERE {failing};"
        )
    };
    let deep = format!("\"deep\": {}1{}", "[".repeat(130), "]".repeat(130));
    let sdk = |name, sql: String| Hostile {
        name,
        base: "sdk_no_evals.db",
        sql,
    };
    vec![
        sdk(
            "infinite latency",
            format!("UPDATE trace_steps SET latency_ms = 9e999 WHERE {failing};"),
        ),
        sdk(
            "cost n/a",
            format!("UPDATE trace_steps SET cost_usd = 'n/a' WHERE {failing};"),
        ),
        sdk("lone surrogate", inside("\"note\": \"\\udcff\"")),
        sdk("1e400 beside", inside("\"x\": 1e400")),
        sdk("nesting past 128", inside(&deep)),
        sdk(
            "vertical tab and no-break space",
            decision("\\u000brevise\\u00a0"),
        ),
        sdk("form feed and em space", decision("\\f\\u2003fallback")),
        sdk("Kelvin sign", decision("FALLBAC\\u212a")),
        sdk("dotted capital I", decision("REV\\u0130SE")),
        sdk(
            "duplicate keys",
            format!(
                "UPDATE trace_steps SET output_json = replace(output_json, '{{\"decision\"', \
                 '{{\"decision\": \"pass\", \"decision\"') WHERE {failing};"
            ),
        ),
        sdk(
            "bytes that are not UTF-8",
            format!(
                "UPDATE trace_steps SET output_json = CAST(replace(output_json, '\"revise\"', \
                 '\"revise' || CAST(X'FF' AS TEXT) || '\"') AS TEXT) WHERE {failing};"
            ),
        ),
        sdk(
            "fractional step_seq",
            format!("UPDATE trace_steps SET step_seq = step_seq + 0.5 WHERE {failing};"),
        ),
        sdk(
            "step_seq past 2^60",
            "UPDATE trace_steps SET step_seq = step_seq + 1152921504606846976 \
             WHERE node_name = 'evaluator';"
                .to_owned(),
        ),
        sdk(
            "nanosecond-apart times",
            "UPDATE traces SET created_at = '2026-01-01T03:00:00.000000' || \
             printf('%03d', rowid) || '+00:00' WHERE rowid > 20;"
                .to_owned(),
        ),
        sdk(
            "unreadable finished_at",
            "UPDATE traces SET finished_at = 'soon' WHERE rowid % 3 = 0;".to_owned(),
        ),
        sdk(
            "year 9999",
            "UPDATE traces SET created_at = '9999-12-30T12:00:00+00:00' WHERE rowid = 40; \
             UPDATE traces SET created_at = '9999-12-31T23:59:59+00:00' WHERE rowid = 39;"
                .to_owned(),
        ),
        Hostile {
            name: "a score that is not a number",
            base: "drift.db",
            sql: "UPDATE trace_evals SET scores_json = '{\"cost\": 0.25, \"grader\": \"gpt-4o\"}' \
                  WHERE rowid % 2 = 0;"
                .to_owned(),
        },
        Hostile {
            name: "sums past the largest double",
            base: "drift.db",
            sql: "UPDATE trace_evals SET scores_json = '{\"cost\": 1e308, \"latency\": 1e308}' \
                  WHERE rowid = 5; \
                  UPDATE trace_steps SET latency_ms = 1e308 WHERE rowid IN (1, 2);"
                .to_owned(),
        },
        Hostile {
            name: "repeated verdict keys",
            base: "drift.db",
            sql:
                "INSERT INTO trace_evals (trace_id, step_seq, decision, reasons_json, scores_json, \
                  revision_instructions, created_at) SELECT trace_id, step_seq, 'fallback', \
                  reasons_json, scores_json, revision_instructions, created_at FROM trace_evals \
                  WHERE rowid % 4 = 0;"
                    .to_owned(),
        },
    ]
}

#[test]
fn hostile_stores_give_the_files_answers_from_the_team_database() {
    let commands: [&[&str]; 4] = [
        &["gate", "--window", "all"],
        &[
            "trend",
            "--all-metrics",
            "--window",
            "all",
            "--format",
            "json",
        ],
        &["cases", "--window", "all", "--format", "json"],
        &["list", "--limit", "100", "--format", "json"],
    ];
    let mut differ = Vec::new();
    for hostile in hostile_corpus() {
        let sandbox = Sandbox::new(&[hostile.base]);
        let file = sandbox.path(hostile.base);
        let out = std::process::Command::new("sqlite3")
            .arg(&file)
            .arg(&hostile.sql)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}: {out:?}", hostile.name);
        let db = TestDb::create("cli_hostile");
        assert_eq!(sandbox.run(&["db", "init", "--db", &db.url]).code, 0);
        let push = sandbox.run(&["push", "--from", hostile.base, "--to", &db.url]);
        assert_eq!(push.code, 0, "{}: {push}", hostile.name);
        for args in commands {
            let on_file = sandbox.run(&[args, &["--db", hostile.base]].concat());
            let on_server = sandbox.run(&[args, &["--db", &db.url]].concat());
            let what = format!("{}: {}", hostile.name, args.join(" "));
            if on_file.code != on_server.code {
                differ.push(format!(
                    "{what}: exit {} on the file, {} on the server",
                    on_file.code, on_server.code
                ));
            } else if args.contains(&"json") {
                let (a, b) = (
                    without_skipped(super::json(&on_file.stdout)),
                    without_skipped(super::json(&on_server.stdout)),
                );
                if a != b {
                    differ.push(format!("{what}: {}", first_difference(&a, &b, "")));
                }
            } else {
                // The report, up to the rows the file's analysis skipped.
                let report = |text: &str| text.split("\nSkipped ").next().unwrap_or("").to_owned();
                if report(&on_file.stdout) != report(&on_server.stdout) {
                    differ.push(format!("{what}: the reports differ"));
                }
            }
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
