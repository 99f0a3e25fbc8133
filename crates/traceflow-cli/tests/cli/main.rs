//! The `traceflow` command as a user runs it: output, exit codes, errors.
//!
//! Each test works in a temp dir holding copies of the fixtures it needs, so
//! paths in output are short and stable. Snapshots record the exit code,
//! stdout and stderr together.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new(fixtures: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for name in fixtures {
            std::fs::copy(fixtures_dir().join(name), dir.path().join(name)).unwrap();
        }
        Sandbox { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("traceflow").unwrap();
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("TRACEFLOW_DB")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs and renders exit code, stdout and stderr for a snapshot.
    fn run(&self, args: &[&str]) -> Outcome {
        let out = self.command(args).output().unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn trend_table_is_the_proposals_with_oldest_run_first() {
    let sandbox = Sandbox::new(&["drift.db"]);
    insta::assert_snapshot!(sandbox.run(&["trend", "--db", "drift.db", "--method", "ols"]));
}

#[test]
fn trend_table_names_left_out_and_skipped_rows() {
    let sandbox = Sandbox::new(&["quirks.db", "bad_rows.db"]);
    insta::assert_snapshot!(
        "quirks_table",
        sandbox.run(&["trend", "--db", "quirks.db", "--method", "ols"])
    );
    insta::assert_snapshot!(
        "bad_rows_table",
        sandbox.run(&[
            "trend",
            "--db",
            "bad_rows.db",
            "--window",
            "all",
            "--method",
            "ols"
        ])
    );
}

#[test]
fn the_run_table_lists_the_newest_runs_and_ends_with_the_verdict() {
    let sandbox = Sandbox::new(&["bad_rows.db"]);
    let rows = |out: &Outcome| -> Vec<String> {
        out.stdout
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("Run "))
            .skip(1)
            .take_while(|l| !l.is_empty() && !l.starts_with("Showing"))
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
            .collect()
    };
    let base = ["trend", "--db", "bad_rows.db", "--window", "all"];
    let three = sandbox.run(&[&base[..], &["--runs", "3"]].concat());
    assert_eq!(three.code, 0, "{three}");
    assert_eq!(rows(&three), ["18", "19", "20"], "{three}");
    assert!(
        three.stdout.contains(
            "Showing the newest 3 of 21 runs (--runs all lists every run). Verdict: insufficient data\n"
        ),
        "{three}"
    );
    let all = sandbox.run(&[&base[..], &["--runs", "all"]].concat());
    assert_eq!(rows(&all).len(), 21, "{all}");
    assert!(!all.stdout.contains("Showing the newest"), "{all}");
    // Where no table of runs is written, --runs is an error, not ignored.
    for extra in [&["--format", "json"][..], &["--group-by", "day"][..]] {
        let refused = sandbox.run(&[&base[..], extra, &["--runs", "5"]].concat());
        assert_eq!(refused.code, 2, "{refused}");
        assert!(
            refused.stderr.starts_with("error: --runs picks the rows"),
            "{refused}"
        );
    }
    let cases = sandbox.run(&["cases", "--db", "bad_rows.db", "--runs", "5"]);
    assert_eq!(cases.code, 2, "{cases}");
}

#[test]
fn trend_json_keeps_the_proposals_fields() {
    let sandbox = Sandbox::new(&["quirks.db"]);
    let outcome = sandbox.run(&[
        "trend",
        "--db",
        "quirks.db",
        "--window",
        "5",
        "--method",
        "ols",
        "--format",
        "json",
    ]);
    insta::assert_snapshot!(outcome);
    let doc = json(&outcome.stdout);
    for field in [
        "window",
        "pass_rate_slope",
        "pass_rate_direction",
        "any_regression",
        "summaries",
    ] {
        assert!(doc.get(field).is_some(), "{field}");
    }
    for field in [
        "run_index",
        "trace_id",
        "pass_rate",
        "revise_rate",
        "fallback_rate",
        "avg_score",
    ] {
        assert!(doc["summaries"][0].get(field).is_some(), "{field}");
    }
}

#[test]
fn gate_exits_1_with_the_proposals_message_on_a_regression() {
    let sandbox = Sandbox::new(&["quirks.db"]);
    let outcome = sandbox.run(&["gate", "--db", "quirks.db", "--method", "ols"]);
    assert_eq!(outcome.code, 1, "{outcome}");
    assert_eq!(outcome.stderr, "Eval regression detected: -0.022/run\n");
}

#[test]
fn gate_exits_0_without_a_regression() {
    let sandbox = Sandbox::new(&["stable.db"]);
    let outcome = sandbox.run(&[
        "gate",
        "--db",
        "stable.db",
        "--method",
        "ols",
        "--format",
        "json",
    ]);
    assert_eq!(outcome.code, 0, "{outcome}");
    assert_eq!(json(&outcome.stdout)["any_regression"], false);
    assert_eq!(
        outcome.stderr,
        "No eval regression: -0.002/run over 20 runs (stable)\n"
    );
}

#[test]
fn gate_threshold_decides_the_exit_code() {
    let sandbox = Sandbox::new(&["quirks.db"]);
    let strict = sandbox.run(&[
        "gate",
        "--db",
        "quirks.db",
        "--method",
        "ols",
        "--threshold",
        "0.05",
    ]);
    assert_eq!(strict.code, 0, "{strict}");
}

#[test]
fn errors_exit_2_with_a_one_line_cause() {
    let sandbox = Sandbox::new(&["not_sqlite.db", "not_a_store.db", "one_trace.db"]);
    std::fs::write(sandbox.path("empty.db"), b"").unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("missing", &["gate", "--db", "missing.db"]),
        ("not_sqlite", &["gate", "--db", "not_sqlite.db"]),
        ("not_a_store", &["gate", "--db", "not_a_store.db"]),
        ("empty_file", &["trend", "--db", "empty.db"]),
        (
            "too_few",
            &["gate", "--db", "one_trace.db", "--method", "ols"],
        ),
        (
            "window_too_small",
            &["gate", "--db", "one_trace.db", "--window", "1"],
        ),
        (
            "negative_threshold",
            &["gate", "--db", "one_trace.db", "--threshold", "-1"],
        ),
        (
            "alpha_out_of_range",
            &["gate", "--db", "one_trace.db", "--alpha", "0.5"],
        ),
        (
            "unknown_method",
            &["gate", "--db", "one_trace.db", "--method", "magic"],
        ),
    ];
    for (name, args) in cases {
        let outcome = sandbox.run(args);
        assert_eq!(outcome.code, 2, "{name}: {outcome}");
        assert!(outcome.stdout.is_empty(), "{name}: {outcome}");
        if !name.contains('_')
            || ["not_sqlite", "not_a_store", "empty_file", "too_few"].contains(name)
        {
            assert_eq!(outcome.stderr.lines().count(), 1, "{name}: {outcome}");
        }
        insta::assert_snapshot!(format!("error_{name}"), outcome);
    }
    assert!(
        !sandbox.path("missing.db").exists(),
        "reading never creates a file"
    );
}

#[test]
fn db_defaults_to_env_then_traceflow_db() {
    let sandbox = Sandbox::new(&["stable.db"]);
    let from_env = sandbox
        .command(&["trend", "--format", "json"])
        .env("TRACEFLOW_DB", "stable.db")
        .output()
        .unwrap();
    assert!(from_env.status.success());
    let missing = sandbox.run(&["trend"]);
    assert_eq!(missing.code, 2);
    assert_eq!(missing.stderr, "error: traceflow.db: no such file\n");
    std::fs::copy(sandbox.path("stable.db"), sandbox.path("traceflow.db")).unwrap();
    let default = sandbox.run(&["trend", "--format", "json"]);
    assert_eq!(default.code, 0, "{default}");
    assert_eq!(default.stdout, String::from_utf8(from_env.stdout).unwrap());
}

#[test]
fn an_error_says_the_store_came_from_traceflow_db_and_keeps_a_path_whole() {
    let sandbox = Sandbox::new(&[]);
    let stderr = |args: &[&str], env: Option<&str>| {
        let mut command = sandbox.command(args);
        if let Some(value) = env {
            command.env("TRACEFLOW_DB", value);
        }
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8(out.stderr).unwrap()
    };
    assert_eq!(
        stderr(&["trend"], Some("gone.db")),
        "error: $TRACEFLOW_DB: gone.db: no such file\n"
    );
    assert_eq!(
        stderr(&["list"], Some("gone.db")),
        "error: $TRACEFLOW_DB: gone.db: no such file\n"
    );
    assert_eq!(
        stderr(&["db", "init"], Some("gone.db")),
        "error: $TRACEFLOW_DB: gone.db: not a PostgreSQL database; a schema needs a \
         postgres:// URL or a key=value string such as \"host=... dbname=...\"\n"
    );
    // Given as --db, it is the user's own: nothing to explain.
    assert_eq!(
        stderr(&["trend", "--db", "gone.db"], Some("other.db")),
        "error: gone.db: no such file\n"
    );
    // A line break in the path was the end of the message.
    assert_eq!(
        stderr(&["trend", "--db", "a\nb.db"], None),
        "error: a\\nb.db: no such file\n"
    );
}

#[test]
fn an_empty_listing_says_so_and_names_what_the_store_has() {
    let sandbox = Sandbox::new(&["sdk_no_evals.db"]);
    let none = sandbox.run(&["list", "--db", "sdk_no_evals.db", "--model", "gpt-4o"]);
    assert_eq!(none.code, 0, "{none}");
    assert_eq!(
        none.stdout,
        "No traces with model \"gpt-4o\". The store has 40 traces: models gpt-3.5-turbo (8), gpt-4o-mini (32).\n"
    );
    let late = sandbox.run(&[
        "list",
        "--db",
        "sdk_no_evals.db",
        "--status",
        "running",
        "--since",
        "2030-01-01",
    ]);
    assert_eq!(
        late.stdout,
        "No traces with status running, since 2030-01-01 00:00:00 UTC. The store has 40 traces: \
         statuses done (35), failed (5); its newest trace started 2026-01-01 04:33:00 UTC.\n",
        "{late}"
    );
}

#[test]
fn list_writes_markdown() {
    let sandbox = Sandbox::new(&["sdk_no_evals.db"]);
    let md = sandbox.run(&[
        "list",
        "--db",
        "sdk_no_evals.db",
        "--limit",
        "2",
        "--format",
        "markdown",
    ]);
    assert_eq!(md.code, 0, "{md}");
    assert_eq!(
        md.stdout,
        "| trace_id | created_at (UTC) | status | outcome | mode | model | provider |\n\
         |---|---|---|---|---|---|---|\n\
         | 399986ccb9cd52cbda217886d1d68ccd | 2026-01-01 04:33:00 | done | PASS | grounded&#95;qa | gpt-4o-mini | openai |\n\
         | a5dea412b4949aea69825e3fefc9998b | 2026-01-01 04:26:00 | done | PASS | change&#95;safety | gpt-4o-mini | openai |\n"
    );
}

#[test]
fn the_demos_hints_run_before_the_command_is_installed() {
    let sandbox = Sandbox::new(&[]);
    // Nothing named traceflow on PATH, as after `cargo run -- demo`.
    let empty = tempfile::tempdir().unwrap();
    let out = sandbox
        .command(&["demo"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let hints: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "Look closer:")
        .skip(1)
        .collect();
    assert_eq!(hints.len(), 5, "{stdout}");
    for hint in hints {
        let command = hint.split('#').next().unwrap();
        let words: Vec<&str> = command.split_whitespace().collect();
        let ran = Command::new(words[0])
            .args(&words[1..])
            .current_dir(sandbox.dir.path())
            .env("PATH", empty.path())
            .output()
            .unwrap_or_else(|e| panic!("{hint}: {e}"));
        // gate exits 1: the demo regresses.
        let expected = if words[1] == "gate" { 1 } else { 0 };
        assert_eq!(ran.status.code(), Some(expected), "{hint}");
        let text = String::from_utf8(ran.stdout).unwrap();
        if hint.contains("--runs all") {
            // "every run of the window": 500 rows.
            assert!(
                text.contains("\n 499  ") && text.contains("\n   0  "),
                "{hint}"
            );
        }
    }
}

#[test]
fn list_and_show_print_what_is_stored() {
    let sandbox = Sandbox::new(&["sdk_no_evals.db", "quirks.db"]);
    insta::assert_snapshot!(
        "list",
        sandbox.run(&["list", "--db", "sdk_no_evals.db", "--limit", "3"])
    );
    let listed = json(
        &sandbox
            .run(&["list", "--db", "quirks.db", "--format", "json"])
            .stdout,
    );
    let newest = listed["traces"][0]["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(listed["traces"][0]["status"], "running", "newest first");
    let running = sandbox.run(&["show", "--db", "quirks.db", &newest, "--format", "json"]);
    assert_eq!(running.code, 0, "{running}");
    let shown = json(&running.stdout);
    assert_eq!(shown["schema_version"], 1);
    assert_eq!(shown["trace"]["trace_id"], newest.as_str());
    assert_eq!(shown["trace"]["finished_at"], serde_json::Value::Null);

    let id = "f129c8c6d1ca4dc4edfde4163eff8b3f";
    insta::assert_snapshot!("show", sandbox.run(&["show", "--db", "quirks.db", id]));
    // The shortened id the trend table prints finds the same trace.
    assert_eq!(
        sandbox
            .run(&["show", "--db", "quirks.db", "f129c8c6..."])
            .stdout,
        sandbox.run(&["show", "--db", "quirks.db", id]).stdout
    );
    // A start that two ids share is refused, not guessed.
    let ids: Vec<&str> = listed["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    let shared = ids
        .iter()
        .find_map(|a| {
            ids.iter()
                .find(|b| *b != a && b[..1] == a[..1])
                .map(|_| &a[..1])
        })
        .unwrap();
    let ambiguous = sandbox.run(&["show", "--db", "quirks.db", shared]);
    assert_eq!(ambiguous.code, 2, "{ambiguous}");
    assert!(
        ambiguous.stderr.contains("more than one trace starts with"),
        "{ambiguous}"
    );
    let missing = sandbox.run(&["show", "--db", "quirks.db", "nope"]);
    assert_eq!(missing.code, 2);
    assert_eq!(
        missing.stderr,
        "error: quirks.db: no trace \"nope\" (see `traceflow list`)\n"
    );
}

#[test]
fn demo_writes_a_store_and_prints_its_trend() {
    let sandbox = Sandbox::new(&[]);
    let args = [
        "demo",
        "--db",
        "demo.db",
        "--end",
        "2026-11-27",
        "--days",
        "14",
    ];
    let first = sandbox.run(&args);
    assert_eq!(first.code, 0, "{first}");
    assert!(first.stdout.starts_with("Wrote demo.db: "), "{first}");
    assert!(first.stdout.contains("Verdict: "), "{first}");
    assert!(
        first.stdout.contains("Method: auto (Cochran–Armitage"),
        "{first}"
    );

    let again = sandbox.run(&args);
    assert_eq!(again.code, 2, "an existing file is kept: {again}");
    assert_eq!(
        again.stderr,
        "error: demo.db: already exists; pass --force to replace it with the demo store\n"
    );
    let forced = sandbox.run(&[&args[..], &["--force"]].concat());
    assert_eq!(forced.code, 0, "{forced}");
    assert_eq!(forced.stdout, first.stdout, "same seed, same store");

    let report = json(
        &sandbox
            .run(&[
                "trend", "--db", "demo.db", "--window", "all", "--format", "json",
            ])
            .stdout,
    );
    assert_eq!(report["left_out_running"], 2);
    assert_eq!(
        report["decision_sources"]["trace_evals"], 0,
        "the SDK's shape"
    );
    assert!(
        report["decision_sources"]["evaluator_steps"]
            .as_u64()
            .unwrap()
            > 100
    );
    // The quality drop after the model change is in the data.
    let runs = report["summaries"].as_array().unwrap();
    let mean = |part: &[serde_json::Value]| {
        part.iter()
            .map(|r| r["pass_rate"].as_f64().unwrap())
            .sum::<f64>()
            / part.len() as f64
    };
    let third = runs.len() / 3;
    assert!(mean(&runs[..third]) > mean(&runs[runs.len() - third..]) + 0.05);
}

#[test]
fn demo_is_the_same_every_day_and_end_moves_it() {
    let sandbox = Sandbox::new(&[]);
    let default = sandbox.run(&["demo", "--db", "a.db"]);
    assert_eq!(default.code, 0, "{default}");
    assert!(
        default.stdout.starts_with(
            "Wrote a.db: 1258 traces, 5880 steps over 42 days; model gpt-4o-mini → gpt-4.1-nano on 2026-11-22.\n"
        ),
        "{default}"
    );
    let pinned = sandbox.run(&["demo", "--db", "b.db", "--end", "2026-11-30T00:00:00Z"]);
    assert_eq!(pinned.stdout, default.stdout.replace("a.db", "b.db"));
    let moved = sandbox.run(&["demo", "--db", "c.db", "--end", "2026-12-07"]);
    assert!(
        moved.stdout.contains(" on 2026-11-29.\n"),
        "a week later: {moved}"
    );
}

#[test]
fn demo_default_file_is_replaced_on_every_run() {
    let sandbox = Sandbox::new(&[]);
    for _ in 0..2 {
        let outcome = sandbox.run(&["demo", "--days", "3"]);
        assert_eq!(outcome.code, 0, "{outcome}");
    }
    assert!(sandbox.path("traceflow-demo.db").is_file());
    assert!(!sandbox.path("traceflow-demo.db.partial").exists());
}

/// Runs a command whose output is far larger than a pipe's buffer, reads
/// one byte of it, as `| head -c1` would, then hangs up.
fn run_hung_up(sandbox: &Sandbox, args: &[&str]) -> Outcome {
    let mut child = sandbox
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let sandbox = Sandbox::new(&[]);
    assert_eq!(
        sandbox
            .run(&[
                "demo",
                "--db",
                "d.db",
                "--days",
                "20",
                "--runs-per-day",
                "100"
            ])
            .code,
        0
    );
    let args = [
        "trend", "--db", "d.db", "--window", "all", "--format", "json",
    ];
    assert!(
        sandbox.run(&args).stdout.len() > 1 << 18,
        "more than a pipe holds"
    );
    let outcome = run_hung_up(&sandbox, &args);
    assert_eq!(outcome.code, 0, "{outcome}");
    assert_eq!(outcome.stderr, "");
}

#[test]
fn a_closed_pipe_does_not_change_the_gates_verdict() {
    let sandbox = Sandbox::new(&[]);
    assert_eq!(
        sandbox
            .run(&[
                "demo",
                "--db",
                "d.db",
                "--days",
                "20",
                "--runs-per-day",
                "100"
            ])
            .code,
        0
    );
    let mut codes = Vec::new();
    for threshold in ["0", "1"] {
        let args = [
            "gate",
            "--db",
            "d.db",
            "--window",
            "all",
            "--format",
            "json",
            "--method",
            "ols",
            "--threshold",
            threshold,
        ];
        let whole = sandbox.run(&args);
        let hung_up = run_hung_up(&sandbox, &args);
        assert_eq!(hung_up.code, whole.code, "threshold {threshold}: {hung_up}");
        assert_eq!(hung_up.stderr, whole.stderr);
        codes.push(whole.code);
    }
    // The demo's quality falls: any negative slope is a regression at 0.
    assert_eq!(codes, [1, 0]);
}

#[test]
fn auto_is_the_default_and_finds_the_step() {
    let sandbox = Sandbox::new(&["step.db"]);
    let gate = sandbox.run(&["gate", "--db", "step.db"]);
    assert_eq!(gate.code, 1, "{gate}");
    assert!(
        gate.stderr.starts_with("Eval regression detected: -"),
        "{gate}"
    );
    let trend = sandbox.run(&["trend", "--db", "step.db", "--format", "json"]);
    assert_eq!(trend.code, 0, "{trend}");
    assert!(!trend.stdout.contains("NaN"), "{trend}");
    let doc = json(&trend.stdout);
    assert_eq!(doc["method"], "auto");
    assert_eq!(doc["requested_window"], 500);
    let stats = &doc["statistics"];
    assert_eq!(stats["verdict"], "regression");
    assert_eq!(stats["alpha"], 0.01);
    assert_eq!(stats["min_drop"], 0.05);
    // The fixture's gate pass probability drops at its 31st trace.
    let step = &stats["change_point"];
    assert_eq!(step["run_index"], 30, "{step}");
    assert_eq!(step["trace_id"], doc["summaries"][30]["trace_id"]);
    assert!(step["p_value"].as_f64().unwrap() < 0.01);
    assert!(step["after"]["rate"].as_f64().unwrap() < step["before"]["rate"].as_f64().unwrap());
    for test in ["cochran_armitage", "mann_kendall", "ols"] {
        assert!(stats[test]["p_decline"].is_f64(), "{test}: {stats}");
    }
}

#[test]
fn too_little_data_is_said_and_fails_only_when_required() {
    let sandbox = Sandbox::new(&["stable.db", "one_trace.db"]);
    for db in ["stable.db", "one_trace.db"] {
        let gate = sandbox.run(&["gate", "--db", db]);
        assert_eq!(gate.code, 0, "{gate}");
        assert!(gate.stdout.contains("Verdict: insufficient data"), "{gate}");
        assert!(
            gate.stderr.starts_with("Too little data to judge: "),
            "{gate}"
        );
        assert_eq!(gate.stderr.lines().count(), 1, "{gate}");
        let strict = sandbox.run(&["gate", "--db", db, "--require-data"]);
        assert_eq!(strict.code, 3, "{strict}");
        assert_eq!(strict.stderr, gate.stderr);
    }
    let trend = sandbox.run(&["trend", "--db", "stable.db", "--format", "json"]);
    let stats = &json(&trend.stdout)["statistics"];
    assert_eq!(stats["verdict"], "insufficient_data");
    assert!(
        stats["insufficient"]["remedy"]
            .as_str()
            .unwrap()
            .contains("widen the window"),
        "{stats}"
    );
    assert!(stats["min_detectable_drop"].as_f64().unwrap() > 0.15);
}

#[test]
fn ols_keeps_the_proposals_window_and_rule() {
    let sandbox = Sandbox::new(&["drift.db"]);
    let ols = json(
        &sandbox
            .run(&[
                "trend", "--db", "drift.db", "--method", "ols", "--format", "json",
            ])
            .stdout,
    );
    assert_eq!(ols["requested_window"], 20);
    assert_eq!(ols["window"], 20);
    assert_eq!(ols["statistics"]["method"], "ols");
    let worsening = ols["pass_rate_slope"].as_f64().unwrap() < -0.01;
    assert_eq!(ols["any_regression"], worsening);
}

#[test]
fn evaluations_hold_each_gate_run_to_a_smaller_level() {
    let sandbox = Sandbox::new(&["step.db"]);
    let once = json(
        &sandbox
            .run(&["trend", "--db", "step.db", "--format", "json"])
            .stdout,
    );
    assert_eq!(once["statistics"]["evaluations"], 1);
    assert_eq!(once["statistics"]["level"], 0.01);
    let args = [
        "gate",
        "--db",
        "step.db",
        "--format",
        "json",
        "--evaluations",
        "100",
    ];
    let bounded = sandbox.run(&args);
    let stats = &json(&bounded.stdout)["statistics"];
    assert_eq!(stats["evaluations"], 100);
    let level = stats["level"].as_f64().unwrap();
    assert!(level > 0.0 && level < 0.002, "{stats}");
    // Seeded: the same store gives the same level and verdict.
    let again = sandbox.run(&args);
    assert_eq!(again.stdout, bounded.stdout);
    assert_eq!(again.code, bounded.code);
    let p = stats["cochran_armitage"]["p_decline"].as_f64().unwrap();
    assert_eq!(bounded.code, if p < level { 1 } else { 0 }, "{bounded}");
}

/// The demo store of 42 days, fixed by its end and seed.
fn demo_sandbox() -> Sandbox {
    let sandbox = Sandbox::new(&[]);
    let made = sandbox.run(&["demo", "--db", "demo.db", "--end", "2026-11-27"]);
    assert_eq!(made.code, 0, "{made}");
    sandbox
}

#[test]
fn the_demos_fall_is_a_regression_within_the_same_cases_too() {
    // The plain gate finds the demo's fall; the cases fall as much, so
    // judging each against itself finds it as well, and the mix of cases
    // (which did not move) is not blamed.
    let sandbox = demo_sandbox();
    let plain = sandbox.run(&["gate", "--db", "demo.db"]);
    assert_eq!(plain.code, 1, "{plain}");
    let cased = sandbox.run(&["gate", "--db", "demo.db", "--case-by", "input"]);
    assert_eq!(cased.code, 1, "{cased}");
    assert!(cased.stdout.contains("Within the same cases: -"), "{cased}");
    assert!(!cased.stdout.contains("the mix of cases"), "{cased}");
}

#[test]
fn days_segments_and_every_metric_find_the_demos_model_change() {
    let sandbox = demo_sandbox();
    let args = [
        "trend",
        "--db",
        "demo.db",
        "--group-by",
        "day",
        "--all-metrics",
        "--segment-by",
        "model",
    ];
    insta::assert_snapshot!("demo_days_by_model", sandbox.run(&args));

    let doc = json(
        &sandbox
            .run(&[&args[..], &["--format", "json"]].concat())
            .stdout,
    );
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["group_by"], "day");
    let reports = doc["reports"].as_array().unwrap();
    // 9 metrics × (total + 2 models).
    assert_eq!(reports.len(), 27);
    let total = &reports[0];
    assert_eq!(total["metric"], "pass-rate");
    assert_eq!(total["segment"], serde_json::Value::Null);
    assert_eq!(total["statistics"]["verdict"], "regression");
    let runs = total["summaries"].as_array().unwrap();
    assert_eq!(runs.len(), 42);
    // The days follow one another, and together hold every finished trace.
    let days: Vec<&str> = runs
        .iter()
        .map(|r| r["run_key"].as_str().unwrap())
        .collect();
    assert!(days.windows(2).all(|w| w[0] < w[1]), "{days:?}");
    let traces: u64 = runs.iter().map(|r| r["traces"].as_u64().unwrap()).sum();
    assert_eq!(traces, doc["traces"].as_u64().unwrap());
    // The step is on the day the model changed (8 days before the end).
    let step = &total["statistics"]["change_point"];
    assert_eq!(step["trace_id"], "2026-11-19");
    assert_eq!(
        runs[step["run_index"].as_u64().unwrap() as usize]["run_key"],
        "2026-11-19"
    );
}

#[test]
fn the_gate_fails_when_any_report_regresses_and_names_it() {
    let sandbox = demo_sandbox();
    let out = sandbox.run(&[
        "gate",
        "--db",
        "demo.db",
        "--group-by",
        "day",
        "--metric",
        "pass-rate",
        "--metric",
        "cost",
        "--segment-by",
        "model",
        "--output",
        "report.json",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(out.stdout, "", "the report went to --output");
    assert!(
        out.stderr
            .starts_with("Eval regression detected: pass-rate (total) -16.0 pts"),
        "{out}"
    );
    let written = std::fs::read_to_string(sandbox.path("report.json")).unwrap();
    assert_eq!(json(&written)["reports"].as_array().unwrap().len(), 6);
    // Only the report is left: no scratch file beside it.
    let names: Vec<String> = std::fs::read_dir(sandbox.path("."))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("report") || n.starts_with(".tmp"))
        .collect();
    assert_eq!(names, ["report.json"]);

    // Six days hold too few runs for any metric: exit 0, or 3 when data is
    // required.
    let short = [
        "gate",
        "--db",
        "demo.db",
        "--group-by",
        "day",
        "--window",
        "6",
    ];
    let lax = sandbox.run(&short);
    assert_eq!(lax.code, 0, "{lax}");
    assert!(
        lax.stderr
            .starts_with("Too little data to judge pass-rate: 6 runs with "),
        "{lax}"
    );
    let strict = sandbox.run(&[&short[..], &["--require-data"]].concat());
    assert_eq!(strict.code, 3, "{strict}");
}

#[test]
fn tracefow_lite_shaped_stores_pool_by_hour_and_config_and_segment_by_mode() {
    let sandbox = Sandbox::new(&["drift.db", "sdk_no_evals.db"]);
    let doc = json(
        &sandbox
            .run(&[
                "trend",
                "--db",
                "sdk_no_evals.db",
                "--group-by",
                "hour",
                "--all-metrics",
                "--format",
                "json",
            ])
            .stdout,
    );
    // 40 traces 7 minutes apart from midnight: hours 00 to 04.
    let runs = doc["reports"][0]["summaries"].as_array().unwrap();
    let keys: Vec<&str> = runs
        .iter()
        .map(|r| r["run_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "2026-01-01T00:00Z",
            "2026-01-01T01:00Z",
            "2026-01-01T02:00Z",
            "2026-01-01T03:00Z",
            "2026-01-01T04:00Z"
        ]
    );
    let traces: u64 = runs.iter().map(|r| r["traces"].as_u64().unwrap()).sum();
    assert_eq!(traces, 40);
    // Decisions come from the SDK's evaluator steps, and usage from its steps.
    let cost = doc["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "cost")
        .unwrap();
    assert!(cost["value"].as_f64().unwrap() > 0.0);

    let by_config = sandbox.run(&[
        "trend",
        "--db",
        "drift.db",
        "--group-by",
        "config.mode",
        "--segment-by",
        "provider",
    ]);
    insta::assert_snapshot!("drift_by_config_mode", by_config);
}

#[test]
fn grouping_and_time_errors_exit_2_with_a_one_line_cause() {
    let sandbox = Sandbox::new(&["drift.db"]);
    for (args, cause) in [
        (
            &["--group-by", "month"][..],
            "error: invalid value 'month' for '--group-by <GROUP_BY>': unknown grouping \"month\" (expected one of: trace, hour, day, week, run, config.<key>)",
        ),
        (
            &["--metric", "pass_rate"][..],
            "error: invalid value 'pass_rate' for '--metric <METRIC>': unknown metric \"pass_rate\"",
        ),
        (
            &["--since", "soon"][..],
            "error: invalid value 'soon' for '--since <SINCE>': expected an age (14d, 36h, 2w) or a time (2026-11-01, RFC 3339), got \"soon\"",
        ),
        (
            &["--since", "2026-02-01", "--until", "2026-01-01"][..],
            "error: drift.db: --since 2026-02-01T00:00:00Z is not before --until 2026-01-01T00:00:00Z: no trace can match",
        ),
    ] {
        let out = sandbox.run(&[&["trend", "--db", "drift.db"][..], args].concat());
        assert_eq!(out.code, 2, "{out}");
        assert!(out.stderr.starts_with(cause), "{out}");
    }
    let unwritable = sandbox.run(&["trend", "--db", "drift.db", "-o", "missing/report.txt"]);
    assert_eq!(unwritable.code, 2, "{unwritable}");
    assert_eq!(
        unwritable.stderr,
        "error: writing missing/report.txt: cannot create a file in missing: entity not found\n"
    );
    // A far-away bound is no error: it selects nothing, and says so (in
    // the trend's own report: a bound does not make it a suite).
    let none = sandbox.run(&["trend", "--db", "drift.db", "--since", "1h"]);
    assert_eq!(none.code, 0, "{none}");
    assert!(
        none.stdout.starts_with("TraceTrend (last 0 runs)"),
        "{none}"
    );
    assert!(none.stdout.contains("0 runs with 0 decisions"), "{none}");
}

mod cases;
mod compare;
mod hostile;
mod import;
mod postgres;
mod readme;
mod sdk;
mod serve;
mod stale;
mod watch;

#[test]
fn running_out_of_memory_is_one_line_and_exit_2_not_an_abort() {
    let sandbox = Sandbox::new(&["drift.db"]);
    traceflow_testkit::suite::write_suite(
        &sandbox.path("big.db"),
        &traceflow_testkit::suite::SuiteSpec {
            traces: 150_000,
            cases: 2_000,
            seed: 3,
            ..traceflow_testkit::suite::SuiteSpec::default()
        },
    );
    // The address space a small store's analysis fits in, and a large
    // one's does not.
    let limited = |db: &str| {
        let out = under_ulimit(
            &sandbox,
            40_000,
            &format!("cases --db {db} --window all --all"),
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = limited("drift.db");
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = limited("big.db");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with("error: out of memory"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_long_listing_as_json_is_written_a_trace_at_a_time() {
    let sandbox = Sandbox::new(&[]);
    traceflow_testkit::suite::write_suite(
        &sandbox.path("long.db"),
        &traceflow_testkit::suite::SuiteSpec {
            traces: 60_000,
            seed: 5,
            ..traceflow_testkit::suite::SuiteSpec::default()
        },
    );
    // The whole document built in memory (a JSON tree of it, then its
    // text) took about ten times the address space this allows.
    let out = under_ulimit(
        &sandbox,
        300_000,
        "list --db long.db --limit 100000 --format json",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(doc["traces"].as_array().unwrap().len(), 60_000);
    assert_eq!(doc["schema_version"], 1);
}

/// The command with `args` (split at spaces) in the sandbox, its address
/// space limited to `kib` KiB (`ulimit -v`).
fn under_ulimit(sandbox: &Sandbox, kib: u32, args: &str) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" {args}"))
        .arg(assert_cmd::cargo::cargo_bin("traceflow"))
        .current_dir(sandbox.path(""))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn a_long_dated_charts_labels_do_not_overlap_and_it_fills_its_card() {
    let sandbox = Sandbox::new(&[]);
    assert_eq!(sandbox.run(&["demo", "--db", "demo.db"]).code, 0);
    let out = sandbox.run(&[
        "trend",
        "--db",
        "demo.db",
        "--group-by",
        "hour",
        "--window",
        "120",
        "--format",
        "html",
    ]);
    assert_eq!(out.code, 0, "{out}");
    let html = out.stdout;
    assert!(html.contains("figure svg { display: block; width: 100%;"));
    // The x axis's labels of the first chart: hours (`2026-11-21T14:00Z`),
    // each at its x.
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()];
    let mut labels: Vec<(f64, usize)> = Vec::new();
    for text in svg.split("<text").skip(1) {
        let Some(end) = text.find("</text>") else {
            continue;
        };
        let (attrs, content) = text[..end].split_once('>').unwrap();
        let content = content.trim();
        let is_date =
            content.len() >= 10 && content.starts_with("20") && content.as_bytes()[4] == b'-';
        let x = attrs
            .split_whitespace()
            .find_map(|a| a.strip_prefix("x=\""))
            .map(|v| v.trim_end_matches('"').parse::<f64>().unwrap());
        if let (true, Some(x)) = (is_date, x) {
            labels.push((x, content.len()));
        }
    }
    assert!(labels.len() >= 2, "{labels:?}");
    labels.sort_by(|a, b| a.0.total_cmp(&b.0));
    // At the labels' 11.3 px, a sans-serif character is about 6.5 px
    // wide: a label's centre is at least its width from the next one's
    // (12 hour labels stood 46 px apart, each about 110 px wide).
    for pair in labels.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= pair[0].1 as f64 * 6.5,
            "labels {gap} px apart: {labels:?}"
        );
    }
}

/// The long flags a command's `--help` lists.
fn flags_in_help(sandbox: &Sandbox, command: &str) -> Vec<String> {
    let out = sandbox.run(&[command, "--help"]);
    assert_eq!(out.code, 0, "{out}");
    let mut flags: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("-o, ").unwrap_or(line);
            let flag = line.strip_prefix("--")?;
            Some(flag.split([' ', '=', '<']).next()?.to_owned())
        })
        .filter(|flag| flag != "help")
        .collect();
    flags.sort();
    flags
}

#[test]
fn each_commands_help_lists_only_the_flags_it_uses() {
    let sandbox = Sandbox::new(&[]);
    let window = ["window", "group-by", "since", "until", "stale-after"];
    let rule = ["alpha", "min-drop"];
    let output = ["format", "output"];
    let expected = |own: &[&str]| {
        let mut all: Vec<String> = ["db"]
            .iter()
            .chain(&window)
            .chain(&rule)
            .chain(&output)
            .chain(own)
            .map(|f| (*f).to_owned())
            .collect();
        all.sort();
        all
    };
    let trend = [
        "method",
        "evaluations",
        "threshold",
        "metric",
        "all-metrics",
        "segment-by",
        "case-by",
        "exclude-flaky",
        "runs",
    ];
    assert_eq!(flags_in_help(&sandbox, "trend"), expected(&trend));
    let gate: Vec<&str> = trend.iter().copied().chain(["require-data"]).collect();
    assert_eq!(flags_in_help(&sandbox, "gate"), expected(&gate));
    assert_eq!(
        flags_in_help(&sandbox, "cases"),
        expected(&["case-by", "split-at", "fdr", "evaluation", "all", "flaky"])
    );
    assert_eq!(
        flags_in_help(&sandbox, "compare"),
        expected(&[
            "require-data",
            "baseline",
            "candidate",
            "case-by",
            "fdr",
            "unpaired",
            "all"
        ])
    );
}

#[test]
fn a_flag_a_command_does_not_use_is_refused_before_any_store_is_read() {
    let sandbox = Sandbox::new(&[]);
    for args in [
        &["trend", "--require-data"][..],
        &["cases", "--method", "ols"][..],
        &["cases", "--evaluations", "100"][..],
        &["compare", "--threshold", "0.02"][..],
        &["compare", "--exclude-flaky"][..],
    ] {
        let out = sandbox.run(&[args, &["--db", "missing.db"][..]].concat());
        assert_eq!(out.code, 2, "{args:?}: {out}");
        let flag = args[1];
        assert!(
            out.stderr
                .starts_with(&format!("error: unexpected argument '{flag}' found")),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn time_bounds_keep_the_trends_layout_and_say_what_they_were() {
    let sandbox = Sandbox::new(&["quirks.db"]);
    let args = [
        "trend",
        "--db",
        "quirks.db",
        "--window",
        "all",
        "--format",
        "json",
    ];
    let plain = sandbox.run(&args);
    assert_eq!(plain.code, 0, "{plain}");
    let plain = json(&plain.stdout);
    assert!(plain.get("pass_rate_slope").is_some(), "{plain}");
    assert!(plain.get("since").is_none(), "{plain}");
    // A bound that leaves every trace in: the same report, saying so.
    let bounded = sandbox.run(&[&args[..], &["--since", "2000-01-01"]].concat());
    assert_eq!(bounded.code, 0, "{bounded}");
    let mut bounded = json(&bounded.stdout);
    assert_eq!(bounded["since"], "2000-01-01T00:00:00Z");
    bounded.as_object_mut().unwrap().remove("since");
    assert_eq!(bounded, plain);
    // One that leaves every trace out: the same layout, no runs.
    let none = sandbox.run(&[&args[..], &["--until", "2000-01-01"]].concat());
    assert_eq!(none.code, 0, "{none}");
    let none = json(&none.stdout);
    assert_eq!(none["until"], "2000-01-01T00:00:00Z");
    assert_eq!(none["window"], 0, "{none}");
    assert!(none.get("reports").is_none(), "{none}");
}

#[test]
fn too_many_segments_is_worded_with_the_commands_flag() {
    let sandbox = Sandbox::new(&["cases.db"]);
    // A key with a value per trace (a request id) is no segmentation.
    let status = Command::new("sqlite3")
        .arg(sandbox.path("cases.db"))
        .arg("UPDATE traces SET config_json = json_set(config_json, '$.request', rowid)")
        .status()
        .unwrap();
    assert!(status.success());
    let out = sandbox.run(&[
        "trend",
        "--db",
        "cases.db",
        "--window",
        "all",
        "--segment-by",
        "config.request",
    ]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        out.stderr,
        "error: cases.db: --segment-by config.request splits the window into 200 segments; at most 100 can be judged (segment by a key with few values: a model, a mode, a suite)\n"
    );
}
