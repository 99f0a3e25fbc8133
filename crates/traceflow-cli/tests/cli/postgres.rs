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
            .contains("created traceflow's schema, version 1"),
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
