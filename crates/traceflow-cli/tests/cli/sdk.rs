//! The command on stores TraceFlow Lite's own SDK wrote
//! (`tests/fixtures/tfl-sdk/`; read in place, never copied).

use traceflow_testkit::fixtures::sdk_store;

use super::Sandbox;

/// Runs `sql` with the sqlite3 command, opened immutable: a WAL store
/// opened even read-only would get `-wal` and `-shm` files beside it.
fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(format!("file:{}?immutable=1", db.display()))
        .arg(sql)
        .output()
        .expect("the tests need the sqlite3 command");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn show_prints_the_gates_reports_from_evaluator_steps_and_takes_an_upper_case_id() {
    let db = sdk_store("main.db");
    let id = sqlite3(
        &db,
        "SELECT trace_id FROM trace_steps WHERE node_name = 'evaluator' \
         AND json_extract(output_json, '$.decision') = 'revise' ORDER BY rowid LIMIT 1",
    );
    let instructions = sqlite3(
        &db,
        &format!(
            "SELECT json_extract(output_json, '$.revision_instructions') FROM trace_steps \
             WHERE trace_id = '{id}' AND node_name = 'evaluator' ORDER BY step_seq LIMIT 1"
        ),
    );
    let sandbox = Sandbox::new(&[]);
    let prefix = id[..10].to_ascii_uppercase();
    let db = db.to_str().unwrap();
    let outcome = sandbox.run(&["show", "--db", db, &prefix]);
    assert_eq!(outcome.code, 0, "{outcome}");
    assert!(
        outcome.stdout.starts_with(&format!("Trace {id}\n")),
        "{outcome}"
    );
    assert!(
        outcome.stdout.contains("Gate reports:\n  step "),
        "{outcome}"
    );
    assert!(outcome.stdout.contains("    reasons:  "), "{outcome}");
    assert!(
        outcome
            .stdout
            .contains(&format!("    revision: {instructions}")),
        "{outcome}"
    );
}

#[test]
fn cost_says_how_many_runs_had_no_steps() {
    let db = sdk_store("main.db");
    let without = sqlite3(
        &db,
        "SELECT count(*) FROM traces WHERE status != 'running' \
         AND trace_id NOT IN (SELECT trace_id FROM trace_steps)",
    );
    let finished = sqlite3(&db, "SELECT count(*) FROM traces WHERE status != 'running'");
    let sandbox = Sandbox::new(&[]);
    let outcome = sandbox.run(&[
        "trend",
        "--db",
        db.to_str().unwrap(),
        "--window",
        "all",
        "--metric",
        "cost",
    ]);
    assert_eq!(outcome.code, 0, "{outcome}");
    assert!(
        outcome.stdout.contains(&format!(
            "{without} of {finished} runs have no steps recorded and are left out."
        )),
        "{without} of {finished}: {outcome}"
    );
}

#[test]
fn list_filters_by_status_model_and_time_and_shows_each_outcome() {
    let db = sdk_store("main.db");
    let sandbox = Sandbox::new(&[]);
    let path = db.to_str().unwrap();
    let listed = |extra: &[&str]| -> Vec<serde_json::Value> {
        let args = [
            &["list", "--db", path, "--limit", "1000", "--format", "json"][..],
            extra,
        ]
        .concat();
        let outcome = sandbox.run(&args);
        assert_eq!(outcome.code, 0, "{outcome}");
        super::json(&outcome.stdout)["traces"]
            .as_array()
            .unwrap()
            .clone()
    };
    let count = |sql: &str| sqlite3(&db, sql).parse::<usize>().unwrap();
    assert_eq!(
        listed(&["--status", "failed"]).len(),
        count("SELECT count(*) FROM traces WHERE status = 'failed'")
    );
    assert_eq!(
        listed(&["--model", "gpt-4o"]).len(),
        count("SELECT count(*) FROM traces WHERE model = 'gpt-4o'")
    );
    let since = listed(&["--model", "gpt-4o-mini", "--since", "2026-11-25T00:00:00Z"]);
    assert_eq!(
        since.len(),
        count("SELECT count(*) FROM traces WHERE model = 'gpt-4o-mini' AND created_at >= '2026-11-25'")
    );
    // Each outcome is the trace's last evaluator decision, as sqlite3 finds it.
    let all = listed(&[]);
    assert_eq!(all.len(), 480);
    let last: std::collections::HashMap<String, String> = sqlite3(
        &db,
        "SELECT trace_id, json_extract(output_json, '$.decision') FROM trace_steps AS s \
         WHERE node_name = 'evaluator' AND step_seq = (SELECT max(step_seq) FROM trace_steps \
         WHERE trace_id = s.trace_id AND node_name = 'evaluator')",
    )
    .lines()
    .map(|line| {
        let (id, decision) = line.split_once('|').unwrap();
        (id.to_owned(), decision.to_ascii_lowercase())
    })
    .collect();
    for trace in &all {
        let id = trace["trace_id"].as_str().unwrap();
        assert_eq!(
            trace["outcome"].as_str(),
            last.get(id).map(String::as_str),
            "{id}"
        );
    }
    let passes = all.iter().filter(|t| t["outcome"] == "pass").count();
    assert_eq!(passes, 435, "the SDK README's 435 traces ending in PASS");
}
