//! `traceflow import` on the histories the eval tools wrote themselves
//! (`tests/fixtures/import/`: 10 runs of 12 cases; cases 03, 07 and 11
//! fail from run 7 on, case 05 fails in runs 2, 5 and 9 only).

use super::{fixtures_dir, json, Sandbox};

/// The history files of a tool, in run order, as paths the command takes.
fn history(tool: &str, pattern: fn(&str) -> bool) -> Vec<String> {
    let dir = fixtures_dir().join("import").join(tool);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && pattern(&p.file_name().unwrap().to_string_lossy()))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

/// Imports `files` into a fresh store and checks what every tool's
/// history must show: 120 case executions, a regression that starts at
/// the seventh run, in the pass rate and in `evaluation`'s own, and the
/// three cases that broke named (the flaky one not among them).
fn imports_the_history_and_finds_the_drop(files: &[String], evaluation: &str) {
    let sandbox = Sandbox::new(&[]);
    let mut args = vec!["import", "--db", "imported.db"];
    args.extend(files.iter().map(String::as_str));
    let out = sandbox.run(&args);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("120 results in ")
            && out.stdout.contains(": 120 new, 0 changed, 0 unchanged"),
        "{out}"
    );

    // Importing the same files again changes nothing.
    let again = sandbox.run(&args);
    assert_eq!(again.code, 0, "{again}");
    assert!(
        again.stdout.contains(": 0 new, 0 changed, 120 unchanged"),
        "{again}"
    );

    let trend = sandbox.run(&[
        "trend",
        "--db",
        "imported.db",
        "--group-by",
        "run",
        "--window",
        "all",
        "--format",
        "json",
    ]);
    assert_eq!(trend.code, 0, "{trend}");
    let doc = json(&trend.stdout);
    let stats = &doc["reports"][0]["statistics"];
    assert_eq!(stats["verdict"], "regression", "{}", trend.stdout);
    assert_eq!(stats["runs"], 10, "{}", trend.stdout);
    assert_eq!(stats["change_point"]["run_index"], 6, "{}", trend.stdout);

    let gate = sandbox.run(&[
        "gate",
        "--db",
        "imported.db",
        "--group-by",
        "run",
        "--window",
        "all",
    ]);
    assert_eq!(gate.code, 1, "{gate}");

    evaluations_pass_rates_trend_and_gate(&sandbox, evaluation);

    // The cases that broke, by the pass rate and by the evaluation's own.
    for evaluation_args in [&[][..], &["--evaluation", evaluation][..]] {
        let mut args = vec![
            "cases",
            "--db",
            "imported.db",
            "--group-by",
            "run",
            "--case-by",
            "case",
            "--window",
            "all",
            "--format",
            "json",
        ];
        args.extend(evaluation_args);
        let cases = sandbox.run(&args);
        assert_eq!(cases.code, 0, "{cases}");
        let doc = json(&cases.stdout);
        // The tools name a case in their own way (pytest's
        // `junit_suite::test_agent[case-03]`): its design id is inside.
        let mut regressed: Vec<&str> = doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"] == "regressed")
            .map(|c| {
                let name = c["case"].as_str().unwrap();
                let at = name.find("case-").unwrap_or_else(|| panic!("{name}"));
                &name[at..at + 7]
            })
            .collect();
        regressed.sort_unstable();
        assert_eq!(
            regressed,
            ["case-03", "case-07", "case-11"],
            "{}",
            cases.stdout
        );
        let named = evaluation_args.get(1).copied();
        assert_eq!(doc["evaluation"].as_str(), named, "{}", cases.stdout);
    }
}

/// `pass-rate.<evaluation>` on the imported history: the evaluation's own
/// pass rate falls at the seventh run, judged within the same cases, and
/// gates; an evaluation the store does not record is a one-line error.
fn evaluations_pass_rates_trend_and_gate(sandbox: &Sandbox, evaluation: &str) {
    let metric = format!("pass-rate.{evaluation}");
    let trend = sandbox.run(&[
        "trend",
        "--db",
        "imported.db",
        "--group-by",
        "run",
        "--case-by",
        "case",
        "--window",
        "all",
        "--metric",
        &metric,
        "--format",
        "json",
    ]);
    assert_eq!(trend.code, 0, "{trend}");
    let doc = json(&trend.stdout);
    let report = &doc["reports"][0];
    assert_eq!(report["metric"], metric.as_str(), "{}", trend.stdout);
    let stats = &report["statistics"];
    assert_eq!(stats["verdict"], "regression", "{}", trend.stdout);
    assert_eq!(stats["change_point"]["run_index"], 6, "{}", trend.stdout);
    assert!(stats["within_cases"].is_object(), "{}", trend.stdout);
    // 105 of 120 executions passed (15 failed: three cases in four runs,
    // the flaky one in three).
    assert_eq!(report["value"], 105.0 / 120.0, "{}", trend.stdout);

    let gate = sandbox.run(&[
        "gate",
        "--db",
        "imported.db",
        "--group-by",
        "run",
        "--window",
        "all",
        "--metric",
        &metric,
    ]);
    assert_eq!(gate.code, 1, "{gate}");

    let unknown = sandbox.run(&[
        "trend",
        "--db",
        "imported.db",
        "--group-by",
        "run",
        "--metric",
        "pass-rate.no-such-evaluation",
    ]);
    assert_eq!(unknown.code, 2, "{unknown}");
    assert!(
        unknown.stderr.contains(
            "no decision records whether evaluation \"no-such-evaluation\" passed; the store's evaluations are"
        ) && unknown.stderr.contains(&format!("\"{evaluation}\"")),
        "{unknown}"
    );
}

#[test]
fn junit_from_pytest() {
    // A testcase is its one evaluation.
    imports_the_history_and_finds_the_drop(&history("junit", |n| n.ends_with(".xml")), "junit");
}

#[test]
fn deepeval_test_runs() {
    imports_the_history_and_finds_the_drop(
        &history("deepeval", |n| n.starts_with("test_run_")),
        "quality",
    );
}

#[test]
fn promptfoo_output_json() {
    let files = history("promptfoo", |n| {
        n.starts_with("run-") && n.ends_with(".json")
    });
    imports_the_history_and_finds_the_drop(&files, "quality");
}

#[test]
fn promptfoo_evaluations_are_not_averaged_with_their_pass_or_fail() {
    let sandbox = Sandbox::new(&[]);
    let files = history("promptfoo", |n| {
        n.starts_with("run-") && n.ends_with(".json")
    });
    let mut args = vec!["import", "--db", "imported.db"];
    args.extend(files.iter().map(String::as_str));
    assert_eq!(sandbox.run(&args).code, 0);
    let trend = sandbox.run(&[
        "trend",
        "--db",
        "imported.db",
        "--group-by",
        "run",
        "--window",
        "all",
        "--metric",
        "avg-score",
        "--format",
        "json",
    ]);
    assert_eq!(trend.code, 0, "{trend}");
    // `correct` (1 or 0) and `quality` (0.9 or 0.2) of 105 passes and 15
    // fails: (105 × 1.9 + 15 × 0.2) / 240. With the `passed:` indicators
    // averaged in it would be 0.859375.
    let doc = json(&trend.stdout);
    assert_eq!(doc["reports"][0]["value"], 0.84375, "{}", trend.stdout);
}

#[test]
fn inspect_eval_logs() {
    imports_the_history_and_finds_the_drop(
        &history("inspect", |n| n.ends_with(".eval")),
        "correct",
    );
}

#[test]
fn opentelemetry_evaluation_events() {
    imports_the_history_and_finds_the_drop(&history("otlp", |n| n.ends_with(".jsonl")), "correct");
}

#[test]
fn a_file_in_no_known_format_refuses_the_import_and_writes_nothing() {
    let sandbox = Sandbox::new(&[]);
    std::fs::write(sandbox.path("notes.txt"), "not an eval result\n").unwrap();
    let good = history("junit", |n| n == "run-01.xml");
    let out = sandbox.run(&["import", "--db", "imported.db", &good[0], "notes.txt"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        out.stderr,
        "error: notes.txt: in no format import reads (otlp, promptfoo, inspect, deepeval, junit, jsonl)\n"
    );
    assert!(!sandbox.path("imported.db").exists(), "{out}");

    // --keep-going imports the good file and lists the bad one.
    let out = sandbox.run(&[
        "import",
        "--db",
        "imported.db",
        "--keep-going",
        &good[0],
        "notes.txt",
    ]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stdout.contains("12 results: 12 new"), "{out}");
    assert!(
        out.stdout
            .contains("Refused (1 files, nothing of them written):\n  notes.txt: in no format"),
        "{out}"
    );
}

#[test]
fn labels_become_config_keys_and_reserved_ones_are_refused() {
    let sandbox = Sandbox::new(&[]);
    let runs = history("junit", |n| n.ends_with(".xml"));
    let mut args = vec!["import", "--db", "imported.db", "--label", "branch=main"];
    args.extend(runs.iter().map(String::as_str));
    let out = sandbox.run(&args);
    assert_eq!(out.code, 0, "{out}");
    let list = sandbox.run(&[
        "trend",
        "--db",
        "imported.db",
        "--group-by",
        "config.branch",
        "--window",
        "all",
        "--format",
        "json",
    ]);
    assert_eq!(list.code, 0, "{list}");
    let doc = json(&list.stdout);
    assert_eq!(
        doc["reports"][0]["statistics"]["runs"], 1,
        "{}",
        list.stdout
    );

    let out = sandbox.run(&["import", "--db", "other.db", "--label", "run=x", &runs[0]]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("\"run\" is the import's own"), "{out}");
    let out = sandbox.run(&["import", "--db", "other.db", "--label", "nokey", &runs[0]]);
    assert_eq!(out.code, 2, "{out}");
    assert!(!sandbox.path("other.db").exists());
}

#[test]
fn a_dry_run_reads_and_writes_nothing() {
    let sandbox = Sandbox::new(&[]);
    let runs = history("junit", |n| n.ends_with(".xml"));
    let out = sandbox.run(&["import", "--db", "imported.db", "--dry-run", &runs[0]]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.starts_with("Dry run: nothing written.\n"),
        "{out}"
    );
    assert!(out.stdout.contains("(junit): 12 results\n"), "{out}");
    assert!(!sandbox.path("imported.db").exists());
}

#[test]
fn imported_results_pushed_to_the_team_database_give_the_files_answer() {
    let db = traceflow_testkit::pg::TestDb::create("cli_import_push");
    let sandbox = Sandbox::new(&[]);
    let mut args = vec!["import", "--db", "imported.db", "--label", "branch=main"];
    let runs = history("junit", |n| n.ends_with(".xml"));
    args.extend(runs.iter().map(String::as_str));
    assert_eq!(sandbox.run(&args).code, 0);
    let init = sandbox.run(&["db", "init", "--db", &db.url]);
    assert_eq!(init.code, 0, "{init}");
    let push = sandbox.run(&["push", "--from", "imported.db", "--to", &db.url]);
    assert_eq!(push.code, 0, "{push}");
    assert_eq!(db.count("SELECT count(*) FROM traces"), 120);
    for command in [
        vec!["gate", "--group-by", "run", "--window", "all"],
        vec![
            "cases",
            "--group-by",
            "run",
            "--case-by",
            "case",
            "--window",
            "all",
        ],
        vec![
            "trend",
            "--group-by",
            "config.branch",
            "--all-metrics",
            "--window",
            "all",
        ],
        // An evaluation's own pass rate, and the average score that
        // leaves its pass-or-fail indicators out, on both backends.
        vec![
            "trend",
            "--group-by",
            "run",
            "--case-by",
            "case",
            "--metric",
            "pass-rate.junit",
            "--metric",
            "avg-score",
            "--window",
            "all",
        ],
    ] {
        let mut on_file = command.clone();
        on_file.extend(["--db", "imported.db", "--format", "json"]);
        let mut on_server = command.clone();
        on_server.extend(["--db", db.url.as_str(), "--format", "json"]);
        let (file, server) = (sandbox.run(&on_file), sandbox.run(&on_server));
        assert_eq!(server.code, file.code, "{command:?}: {server}");
        assert_eq!(server.stdout, file.stdout, "{command:?}");
    }
}

/// Runs the command, killing it if it has not ended within `seconds`.
fn run_within(sandbox: &Sandbox, args: &[&str], seconds: u64) -> super::Outcome {
    let mut child = sandbox
        .command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("traceflow {args:?} still running after {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    super::Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_is_refused_not_read_forever() {
    let sandbox = Sandbox::new(&[]);
    let fifo = sandbox.path("results.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a FIFO nobody writes blocks; /dev/zero never ends.
    for (path, kind) in [("results.fifo", "a FIFO"), ("/dev/zero", "a device")] {
        let out = run_within(&sandbox, &["import", "--db", "imported.db", path], 30);
        assert_eq!(out.code, 2, "{out}");
        assert_eq!(
            out.stderr,
            format!("error: {path}: not a file or a folder ({kind}): to import what it streams, pipe it to `-`\n"),
            "{out}"
        );
        assert!(!sandbox.path("imported.db").exists(), "{out}");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_in_a_folder_is_read_once() {
    let sandbox = Sandbox::new(&[]);
    std::fs::create_dir_all(sandbox.path("runs/nested")).unwrap();
    std::os::unix::fs::symlink("..", sandbox.path("runs/nested/up")).unwrap();
    let run = history("junit", |n| n == "run-01.xml");
    std::fs::copy(&run[0], sandbox.path("runs/nested/run-01.xml")).unwrap();
    let out = run_within(&sandbox, &["import", "--db", "imported.db", "runs"], 60);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout
            .contains("runs/nested/run-01.xml (junit): 12 results")
            && out.stdout.contains("Total: 12 results in 1 files"),
        "{out}"
    );
}

#[test]
fn a_byte_order_mark_does_not_hide_the_format() {
    let sandbox = Sandbox::new(&[]);
    let run = history("promptfoo", |n| n == "run-01.json");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&run[0]).unwrap());
    std::fs::write(sandbox.path("bom.json"), bytes).unwrap();
    let out = sandbox.run(&["import", "--db", "imported.db", "bom.json"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("bom.json (promptfoo): 12 results"),
        "{out}"
    );
}

#[test]
fn a_bad_number_in_the_first_line_names_the_line_not_no_format() {
    let sandbox = Sandbox::new(&[]);
    std::fs::write(
        sandbox.path("results.jsonl"),
        "{\"run\":\"r\",\"case\":\"c\",\"time\":\"2026-12-07T23:44:19Z\",\"passed\":true,\"latency_ms\":1e400}\n",
    )
    .unwrap();
    let out = sandbox.run(&["import", "--db", "imported.db", "results.jsonl"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr.starts_with("error: results.jsonl: line 1: ") && out.stderr.lines().count() == 1,
        "{out}"
    );
    assert!(!sandbox.path("imported.db").exists(), "{out}");
}

#[test]
fn imports_racing_on_one_store_all_land() {
    let sandbox = Sandbox::new(&[]);
    let runs = history("promptfoo", |n| {
        n.starts_with("run-") && n.ends_with(".json")
    });
    // Create the store first: the race is between writers, not creators.
    let first = sandbox.run(&["import", "--db", "imported.db", &runs[0]]);
    assert_eq!(first.code, 0, "{first}");
    let children: Vec<_> = (0..4)
        .map(|k| {
            let mut args = vec!["import", "--db", "imported.db"];
            args.extend(
                runs.iter()
                    .skip(k % 2)
                    .step_by(1 + k % 2)
                    .map(String::as_str),
            );
            sandbox
                .command(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let all: Vec<&str> = runs.iter().map(String::as_str).collect();
    let mut args = vec!["import", "--db", "imported.db"];
    args.extend(all);
    let out = sandbox.run(&args);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains(": 0 new, 0 changed, 120 unchanged"),
        "{out}"
    );
}

#[test]
fn list_and_show_read_imported_results() {
    let sandbox = Sandbox::new(&[]);
    let run = &history("promptfoo", |n| n == "run-07.json")[0];
    assert_eq!(sandbox.run(&["import", "--db", "imported.db", run]).code, 0);
    let list = sandbox.run(&["list", "--db", "imported.db", "--limit", "20"]);
    assert_eq!(list.code, 0, "{list}");
    // Twelve results, each listed with the tool as its mode; the broken
    // cases fell back.
    let rows: Vec<&str> = list.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 12, "{list}");
    assert!(rows.iter().all(|r| r.contains(" promptfoo ")), "{list}");
    let id = rows
        .iter()
        .find(|r| r.contains(":case-03:"))
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    assert!(
        rows.iter()
            .any(|r| r.starts_with(&format!(" {id}")) && r.contains("FALLBACK")),
        "{list}"
    );
    let show = sandbox.run(&["show", "--db", "imported.db", id]);
    assert_eq!(show.code, 0, "{show}");
    assert!(show.stdout.contains("Mode:     promptfoo"), "{show}");
    assert!(show.stdout.contains("fallback"), "{show}");
}

#[test]
fn another_programs_database_is_refused_and_left_as_it_was() {
    let sandbox = Sandbox::new(&[]);
    let other = sandbox.path("notes.db");
    let made = std::process::Command::new("sqlite3")
        .arg(&other)
        .arg("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .status()
        .unwrap();
    assert!(made.success());
    let before = std::fs::read(&other).unwrap();
    let run = &history("junit", |n| n == "run-01.xml")[0];
    let out = sandbox.run(&["import", "--db", "notes.db", run]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("not a TraceFlow store"), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

#[test]
fn a_file_imported_again_is_not_read_and_a_grown_one_adds_what_is_new() {
    let sandbox = Sandbox::new(&[]);
    let line = |case: &str, passed: bool| {
        format!(
            "{{\"run\": \"nightly-1\", \"case\": \"{case}\", \"time\": \"2026-12-07T02:00:00Z\", \"passed\": {passed}}}\n"
        )
    };
    let path = sandbox.path("results.jsonl");
    std::fs::write(&path, line("a", true) + &line("b", false)).unwrap();
    let first = sandbox.run(&["import", "--db", "imported.db", "results.jsonl"]);
    assert!(
        first
            .stdout
            .contains("2 results: 2 new, 0 changed, 0 unchanged"),
        "{first}"
    );

    let again = sandbox.run(&["import", "--db", "imported.db", "results.jsonl"]);
    assert_eq!(again.code, 0, "{again}");
    assert!(
        again
            .stdout
            .contains("2 results: 0 new, 0 changed, 2 unchanged"),
        "{again}"
    );
    assert!(
        again
            .stdout
            .contains("note: imported before as it is: not read again"),
        "{again}"
    );

    // The same file with a label is another import of it: read, and
    // each result changed.
    let labelled = sandbox.run(&[
        "import",
        "--db",
        "imported.db",
        "--label",
        "k=v",
        "results.jsonl",
    ]);
    assert!(
        labelled
            .stdout
            .contains("2 results: 0 new, 2 changed, 0 unchanged"),
        "{labelled}"
    );

    let mut grown = std::fs::read_to_string(&path).unwrap();
    grown.push_str(&line("c", true));
    std::fs::write(&path, grown).unwrap();
    let grew = sandbox.run(&[
        "import",
        "--db",
        "imported.db",
        "--label",
        "k=v",
        "results.jsonl",
    ]);
    assert_eq!(grew.code, 0, "{grew}");
    assert!(
        grew.stdout
            .contains("3 results: 1 new, 0 changed, 2 unchanged"),
        "{grew}"
    );
    assert!(!grew.stdout.contains("not read again"), "{grew}");
}

#[test]
fn cases_by_evaluation_name_the_cases_that_evaluation_failed() {
    // 12 runs of 8 cases, each judged by `correct` and `tone`. From run 7
    // on, case-2's and case-5's tone fails, but tone does not decide the
    // case (the record says it passed): the pass rate holds, the tone's
    // pass rate falls, and `cases --evaluation tone` names the two.
    let sandbox = Sandbox::new(&[]);
    let mut lines = String::new();
    for run in 1..=12 {
        for case in 1..=8 {
            let tone = !(run >= 7 && (case == 2 || case == 5));
            lines.push_str(
                &serde_json::json!({
                    "run": format!("run-{run:02}"),
                    "case": format!("case-{case}"),
                    "time": format!("2026-12-{run:02}T10:00:0{}Z", case % 10),
                    "passed": true,
                    "evaluations": [
                        {"name": "correct", "passed": true},
                        {"name": "tone", "passed": tone, "score": if tone { 0.9 } else { 0.1 }},
                    ],
                })
                .to_string(),
            );
            lines.push('\n');
        }
    }
    std::fs::write(sandbox.path("results.jsonl"), lines).unwrap();
    let import = sandbox.run(&["import", "--db", "imported.db", "results.jsonl"]);
    assert_eq!(import.code, 0, "{import}");

    let cases = |extra: &[&str]| {
        let mut args = vec![
            "cases",
            "--db",
            "imported.db",
            "--group-by",
            "run",
            "--case-by",
            "case",
            "--window",
            "all",
        ];
        args.extend(extra);
        sandbox.run(&args)
    };
    let all = cases(&["--format", "json"]);
    assert_eq!(all.code, 0, "{all}");
    assert_eq!(
        json(&all.stdout)["counts"]["regressed"],
        0,
        "{}",
        all.stdout
    );

    let tone = cases(&["--evaluation", "tone", "--format", "json"]);
    assert_eq!(tone.code, 0, "{tone}");
    let doc = json(&tone.stdout);
    let regressed: Vec<&str> = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["verdict"] == "regressed")
        .map(|c| c["case"].as_str().unwrap())
        .collect();
    assert_eq!(regressed, ["case-2", "case-5"], "{}", tone.stdout);
    assert_eq!(doc["split"]["run_index"], 6, "{}", tone.stdout);

    let table = cases(&["--evaluation", "tone"]);
    assert!(
        table
            .stdout
            .starts_with("Cases by config.case on evaluation \"tone\": 8 cases in 12 runs"),
        "{table}"
    );
    let unknown = cases(&["--evaluation", "style"]);
    assert_eq!(unknown.code, 2, "{unknown}");
    assert!(
        unknown.stderr.contains(
            "no decision records whether evaluation \"style\" passed; the store's evaluations are \"correct\", \"tone\""
        ),
        "{unknown}"
    );
}

#[test]
fn rules_of_ones_own_judge_evaluations_by_score_and_by_word() {
    // 10 runs of 6 cases; `relevance` says "relevant" or, from run 6 on
    // for cases 1-3, "partly" (no verdict by default); `quality` is a
    // score only, 0.9 then 0.6 for the same cases.
    let sandbox = Sandbox::new(&[]);
    let mut lines = String::new();
    for run in 1..=10 {
        for case in 1..=6 {
            let worse = run >= 6 && case <= 3;
            lines.push_str(
                &serde_json::json!({
                    "run": format!("run-{run:02}"),
                    "case": format!("case-{case}"),
                    "time": format!("2026-12-{run:02}T10:00:0{case}Z"),
                    "passed": true,
                    "evaluations": [
                        {"name": "relevance", "label": if worse { "partly" } else { "relevant" }},
                        {"name": "quality", "score": if worse { 0.6 } else { 0.9 }},
                    ],
                })
                .to_string(),
            );
            lines.push('\n');
        }
    }
    std::fs::write(sandbox.path("results.jsonl"), lines).unwrap();
    let trend = |metric: &str| {
        sandbox.run(&[
            "trend",
            "--db",
            "evals.db",
            "--group-by",
            "run",
            "--window",
            "all",
            "--metric",
            metric,
            "--format",
            "json",
        ])
    };
    let value = |out: &super::Outcome| json(&out.stdout)["reports"][0]["value"].clone();

    // Without rules: "partly" says nothing, and quality has no verdict.
    let plain = sandbox.run(&["import", "--db", "evals.db", "results.jsonl"]);
    assert_eq!(plain.code, 0, "{plain}");
    let relevance = trend("pass-rate.relevance");
    assert_eq!(value(&relevance), 1.0, "{relevance}");
    assert_eq!(trend("pass-rate.quality").code, 2);

    // With rules, the same file is read again and judged by them.
    let judged = sandbox.run(&[
        "import",
        "--db",
        "evals.db",
        "--fail-label",
        "relevance=PARTLY",
        "--pass-at",
        "quality=0.7",
        "results.jsonl",
    ]);
    assert_eq!(judged.code, 0, "{judged}");
    assert!(
        judged.stdout.contains(": 0 new, 60 changed, 0 unchanged"),
        "{judged}"
    );
    // 15 of 60 judgements failed: cases 1-3 in runs 6-10.
    for metric in ["pass-rate.relevance", "pass-rate.quality"] {
        let out = trend(metric);
        assert_eq!(out.code, 0, "{out}");
        assert_eq!(value(&out), 45.0 / 60.0, "{metric}: {out}");
    }
    // The record said each case passed: its verdict stands.
    assert_eq!(value(&trend("pass-rate")), 1.0);

    for (args, says) in [
        (
            ["--pass-at", "quality"],
            "--pass-at: \"quality\" is not NAME=SCORE",
        ),
        (
            ["--pass-at", "quality=high"],
            "--pass-at: \"quality=high\": the score \"high\" is not a finite number",
        ),
        (
            ["--fail-label", "=partly"],
            "--fail-label: \"=partly\" is not NAME=WORD",
        ),
    ] {
        let mut line = vec!["import", "--db", "evals.db"];
        line.extend(args);
        line.push("results.jsonl");
        let out = sandbox.run(&line);
        assert_eq!(out.code, 2, "{out}");
        assert!(out.stderr.contains(says), "{out}");
    }
}

#[test]
fn an_evaluation_named_like_an_indicator_neither_overwrites_nor_reads_as_one() {
    // Evaluation `x` failed; another is named `passed:x` with a score of 1.
    let sandbox = Sandbox::new(&[]);
    let mut lines = String::new();
    for run in 1..=3 {
        lines.push_str(
            &serde_json::json!({
                "run": format!("run-{run}"),
                "case": "c1",
                "time": format!("2026-11-0{run}T00:00:00Z"),
                "passed": true,
                "evaluations": [
                    {"name": "x", "passed": false},
                    {"name": "passed:x", "score": 1},
                ],
            })
            .to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(sandbox.path("clash.jsonl"), lines).unwrap();
    let out = sandbox.run(&["import", "--db", "clash.db", "clash.jsonl"]);
    assert_eq!(out.code, 0, "{out}");
    let show = sandbox.run(&[
        "show",
        "--db",
        "clash.db",
        "--format",
        "json",
        "jsonl:run-1:c1:0",
    ]);
    let scores = &json(&show.stdout)["evals"][0]["scores"];
    assert_eq!(scores["passed:x"], 0.0, "{}", show.stdout);
    assert_eq!(scores["passed%3Ax"], 1.0, "{}", show.stdout);
    let trend = sandbox.run(&[
        "trend",
        "--db",
        "clash.db",
        "--group-by",
        "run",
        "--window",
        "all",
        "--metric",
        "pass-rate.x",
        "--format",
        "json",
    ]);
    assert_eq!(json(&trend.stdout)["reports"][0]["value"], 0.0, "{trend}");
}
