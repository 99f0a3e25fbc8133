//! Hostile input as a red team tried it: the report never replaces the
//! store, a broken stderr never changes the verdict, store text never
//! reaches the terminal raw, and no input panics.

use super::{json, Sandbox};

/// A store whose text is an attack on the terminal: escape sequences, a
/// carriage return and a right-to-left override in ids, model names and
/// the gate's reasons. Made with the `sqlite3` command (the tests need it,
/// as CI's machine has it).
fn hostile_store(sandbox: &Sandbox) -> &'static str {
    let db = sandbox.path("hostile.db");
    drop(traceflow::store::SqliteStore::open_writable(&db).unwrap());
    let mut sql = String::from("BEGIN;");
    for i in 0..40 {
        let model = if i % 2 == 0 {
            "gpt\u{1b}[2J\u{1b}]0;PWNED\u{7}"
        } else {
            "gpt\r\u{202e}4o"
        };
        let decision = if i < 20 || i % 3 != 0 {
            "PASS"
        } else {
            "FALLBACK"
        };
        sql.push_str(&format!(
            "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) \
             VALUES ('t{i:02}\u{1b}[31m', 'done', 'grounded_qa', 'q', '{{}}', '{model}', 'openai', '2026-01-{:02}T00:00:00Z');\
             INSERT INTO trace_evals (trace_id, step_seq, decision, reasons_json, scores_json) \
             VALUES ('t{i:02}\u{1b}[31m', 0, '{decision}', '[\"bad\u{1b}[2J\"]', '{{}}');",
            1 + i % 28
        ));
    }
    sql.push_str("COMMIT;");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(sql)
        .status()
        .expect("the tests need the sqlite3 command");
    assert!(status.success());
    "hostile.db"
}

fn assert_clean(what: &str, text: &str) {
    for bad in ['\u{1b}', '\r', '\u{7}', '\u{202e}'] {
        assert!(!text.contains(bad), "{what} has {bad:?}: {text:?}");
    }
}

#[test]
fn store_text_never_reaches_the_terminal_raw() {
    let sandbox = Sandbox::new(&[]);
    let db = hostile_store(&sandbox);
    let runs: &[&[&str]] = &[
        &["trend", "--db", db],
        &["trend", "--db", db, "--method", "ols", "--window", "all"],
        &["trend", "--db", db, "--segment-by", "model"],
        &[
            "gate",
            "--db",
            db,
            "--segment-by",
            "model",
            "--group-by",
            "day",
        ],
        &["list", "--db", db],
        &["show", "--db", db, "t00"],
    ];
    for args in runs {
        let outcome = sandbox.run(args);
        assert!(
            outcome.code == 0 || outcome.code == 1 || outcome.code == 2,
            "{outcome}"
        );
        assert_clean(&format!("{args:?} stdout"), &outcome.stdout);
        assert_clean(&format!("{args:?} stderr"), &outcome.stderr);
        assert!(
            outcome.stdout.contains('\u{fffd}') || outcome.stderr.contains('\u{fffd}'),
            "{args:?}: the replaced characters stay visible: {outcome}"
        );
    }
    // A trace id the user typed is quoted with its escapes spelled out.
    let missing = sandbox.run(&["show", "--db", db, "nothing\u{1b}[2J"]);
    assert_eq!(missing.code, 2, "{missing}");
    assert_clean("show's error", &missing.stderr);
    // JSON is data, not terminal text: its escapes keep the bytes.
    let doc = sandbox.run(&["list", "--db", db, "--format", "json"]);
    assert!(json(&doc.stdout)["traces"][0]["model"]
        .as_str()
        .unwrap()
        .starts_with("gpt"));
}

#[test]
fn the_report_never_replaces_the_store() {
    let sandbox = Sandbox::new(&["drift.db"]);
    std::fs::create_dir(sandbox.path("sub")).unwrap();
    std::fs::write(sandbox.path("drift.db-wal"), b"").unwrap();
    let before = std::fs::read(sandbox.path("drift.db")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("drift.db", sandbox.path("link.html")).unwrap();
    let outputs = [
        "drift.db",
        "./drift.db",
        "sub/../drift.db",
        "drift.db-wal",
        "drift.db-shm",
        "drift.db-journal",
        "link.html",
    ];
    for output in outputs {
        for format in ["table", "html"] {
            let outcome = sandbox.run(&[
                "trend", "--db", "drift.db", "--format", format, "--output", output,
            ]);
            assert_eq!(outcome.code, 2, "{output}: {outcome}");
            assert_eq!(outcome.stderr.lines().count(), 1, "{outcome}");
            assert!(outcome.stderr.contains("is the store's file"), "{outcome}");
        }
    }
    assert_eq!(std::fs::read(sandbox.path("drift.db")).unwrap(), before);
    assert!(std::fs::read(sandbox.path("drift.db-wal"))
        .unwrap()
        .is_empty());
    assert!(!sandbox.path("drift.db-shm").exists());
    assert!(!sandbox.path("drift.db-journal").exists());
}

#[cfg(unix)]
#[test]
fn a_replaced_report_keeps_its_mode_and_a_link_is_written_through() {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new(&["drift.db"]);
    let report = sandbox.path("report.md");
    std::fs::write(&report, "old").unwrap();
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("report.md", sandbox.path("latest.md")).unwrap();
    for output in ["report.md", "latest.md"] {
        let outcome = sandbox.run(&[
            "trend", "--db", "drift.db", "--format", "markdown", "--output", output,
        ]);
        assert_eq!(outcome.code, 0, "{outcome}");
        let mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{output}");
        assert!(std::fs::read_to_string(&report).unwrap().starts_with("## "));
    }
    let link = std::fs::symlink_metadata(sandbox.path("latest.md")).unwrap();
    assert!(link.file_type().is_symlink(), "the link stays a link");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stderr_keeps_the_gates_exit_code() {
    let sandbox = Sandbox::new(&["quirks.db", "stable.db"]);
    for (db, expected) in [("quirks.db", 1), ("stable.db", 0)] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let status = sandbox
            .command(&["gate", "--db", db, "--method", "ols"])
            .stdout(std::process::Stdio::null())
            .stderr(full)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(expected), "{db}");
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = sandbox
        .command(&["trend", "--db", "missing.db"])
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

#[test]
fn list_limit_zero_lists_nothing() {
    let sandbox = Sandbox::new(&["drift.db"]);
    let outcome = sandbox.run(&[
        "list", "--db", "drift.db", "--limit", "0", "--format", "json",
    ]);
    assert_eq!(outcome.code, 0, "{outcome}");
    assert_eq!(json(&outcome.stdout)["traces"], serde_json::json!([]));
}

#[test]
fn the_proposals_rule_on_no_runs_is_too_little_data() {
    let sandbox = Sandbox::new(&["drift.db"]);
    let args = [
        "gate",
        "--db",
        "drift.db",
        "--method",
        "ols",
        "--group-by",
        "day",
        "--since",
        "2099-01-01T00:00:00Z",
    ];
    let outcome = sandbox.run(&args);
    assert_eq!(outcome.code, 0, "{outcome}");
    assert!(
        outcome.stderr.starts_with("Too little data to judge"),
        "{outcome}"
    );
    let strict = sandbox.run(&[&args[..], &["--require-data"]].concat());
    assert_eq!(strict.code, 3, "{strict}");
}

#[test]
fn a_config_key_no_trace_has_is_an_error_not_too_little_data() {
    let sandbox = Sandbox::new(&["drift.db"]);
    let outcome = sandbox.run(&["gate", "--db", "drift.db", "--group-by", "config.git_sha"]);
    assert_eq!(outcome.code, 2, "{outcome}");
    assert_eq!(outcome.stderr.lines().count(), 1, "{outcome}");
    assert!(
        outcome
            .stderr
            .contains("no trace has config key \"git_sha\"; the traces' config keys are"),
        "{outcome}"
    );
}

#[test]
fn sentences_keep_their_numbers_bounded() {
    let sandbox = Sandbox::new(&["drift.db"]);
    for alpha in ["5e-324", "1e-300", "1e-12"] {
        let outcome = sandbox.run(&["trend", "--db", "drift.db", "--alpha", alpha]);
        assert_eq!(outcome.code, 0, "{outcome}");
        assert!(
            !outcome.stdout.contains("18446744073709551615"),
            "{outcome}"
        );
        assert!(
            !outcome.stdout.contains("below 0.0001)"),
            "{alpha}: the level is named: {outcome}"
        );
        assert!(!outcome.stdout.contains("inf"), "{outcome}");
    }
}

#[cfg(unix)]
#[test]
fn a_directory_or_a_fifo_as_the_store_is_refused_at_once() {
    let sandbox = Sandbox::new(&[]);
    std::fs::create_dir(sandbox.path("dir.db")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(sandbox.path("pipe.db"))
        .status()
        .expect("the test needs mkfifo");
    assert!(made.success());
    for (db, kind) in [("dir.db", "a directory"), ("pipe.db", "a FIFO")] {
        // A FIFO opened for reading would block until a writer came.
        let outcome = sandbox.run(&["trend", "--db", db]);
        assert_eq!(outcome.code, 2, "{outcome}");
        assert_eq!(
            outcome.stderr,
            format!("error: {db}: not a file ({kind})\n"),
            "{outcome}"
        );
    }
}

#[test]
fn a_store_of_traceflow_lites_january_2026_schema_reads() {
    let sandbox = Sandbox::new(&["early_schema.db"]);
    let outcome = sandbox.run(&["trend", "--db", "early_schema.db", "--window", "all"]);
    assert_eq!(outcome.code, 0, "{outcome}");
    assert!(
        outcome.stdout.contains("TraceTrend (all 12 runs)"),
        "{outcome}"
    );
    let show = sandbox.run(&["list", "--db", "early_schema.db", "--limit", "1"]);
    assert_eq!(show.code, 0, "{show}");
}
