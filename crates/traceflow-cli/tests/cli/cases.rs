//! `traceflow cases` on the committed suite of 8 cases (`cases.db`, whose
//! truth is `cases.db.truth.json`).

use super::{json, Sandbox};

#[test]
fn cases_lists_the_regressed_case_first_and_exits_0() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let out = sandbox.run(&["cases", "--db", "cases.db", "--window", "all"]);
    insta::assert_snapshot!(out.to_string());
    assert_eq!(out.code, 0, "{out}");

    // JSON lists every case; the regressed one is a case the truth says
    // regressed.
    let out = sandbox.run(&[
        "cases", "--db", "cases.db", "--window", "all", "--format", "json",
    ]);
    assert_eq!(out.code, 0, "{out}");
    let doc = json(&out.stdout);
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    assert_eq!(cases[0]["verdict"], "regressed");
    let truth =
        json(&std::fs::read_to_string(super::fixtures_dir().join("cases.db.truth.json")).unwrap());
    let regressed: Vec<&str> = truth["regressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        regressed.contains(&cases[0]["case"].as_str().unwrap()),
        "{}",
        cases[0]
    );
    assert_eq!(doc["split"]["rule"], "change_point");

    // --all lists the stable ones too; every format renders.
    let all = sandbox.run(&["cases", "--db", "cases.db", "--window", "all", "--all"]);
    let listed = |verdict: &str| {
        all.stdout
            .lines()
            .filter(|l| l.starts_with(verdict))
            .count()
    };
    assert_eq!((listed("stable "), listed("flaky ")), (6, 1), "{all}");
    // --flaky lists the flaky one with its pass chance.
    let flaky = sandbox.run(&["cases", "--db", "cases.db", "--flaky"]);
    assert!(flaky.stdout.contains("Pass rate  95% CI"), "{flaky}");
    assert!(
        flaky.stdout.contains("dfa6fa8760da  42.9%      21.4–67.4%"),
        "{flaky}"
    );
    for format in ["markdown", "junit", "html"] {
        let out = sandbox.run(&["cases", "--db", "cases.db", "--format", format]);
        assert_eq!(out.code, 0, "{format}: {out}");
        assert!(out.stdout.contains("30240e45ec61"), "{format}: {out}");
    }
}

#[test]
fn a_split_given_or_a_case_key_is_used_and_bad_ones_exit_2() {
    let sandbox = Sandbox::new(&["cases.db", "drift.db"]);
    let out = sandbox.run(&[
        "cases",
        "--db",
        "cases.db",
        "--window",
        "all",
        "--split-at",
        "100",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{out}");
    let doc = json(&out.stdout);
    assert_eq!(
        (
            doc["split"]["rule"].as_str(),
            doc["split"]["run_index"].as_u64()
        ),
        (Some("given"), Some(100))
    );

    // The generator's config has no case key: a typo's error names the keys.
    for (args, cause) in [
        (
            &["--split-at", "200"][..],
            "error: cases.db: the split at run 200 leaves after without runs (the window has 200 runs)",
        ),
        (
            &["--split-at", "soon"][..],
            "error: invalid value 'soon' for '--split-at <RUN|TIME>': expected a run index (40) or a time or age as --since takes (2026-11-01, 3d), got \"soon\"",
        ),
        (
            &["--fdr", "1.5"][..],
            "error: invalid value '1.5' for '--fdr <FDR>': expected a rate above 0 and below 1, e.g. 0.05",
        ),
        (
            &["--case-by", "question"][..],
            "error: invalid value 'question' for '--case-by <CASE_BY>': unknown case identity \"question\" (expected one of: input, case, config.<key>)",
        ),
        (
            &["--case-by", "config.case_idd"][..],
            "error: cases.db: no trace has config key \"case_idd\"; the traces' config keys are",
        ),
        // Trend's flags are not cases' (it judges each case's pass rate).
        (
            &["--metric", "cost"][..],
            "error: unexpected argument '--metric' found",
        ),
        (
            &["--require-data"][..],
            "error: unexpected argument '--require-data' found",
        ),
    ] {
        let out = sandbox.run(&[&["cases", "--db", "cases.db", "--window", "all"][..], args].concat());
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(out.stderr.starts_with(cause), "{args:?}: {out}");
        if !cause.starts_with("error: invalid value") && !cause.contains("unexpected argument") {
            // clap adds a hint line to its own errors; ours are one line.
            assert_eq!(out.stderr.lines().count(), 1, "{out}");
        }
    }

    // A store whose every input is asked once: nothing to compare, said.
    let out = sandbox.run(&["cases", "--db", "drift.db"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.contains("0 cases tested"), "{out}");
    assert!(
        out.stdout
            .contains("no case has decisions on both sides of the split"),
        "{out}"
    );
}

#[test]
fn trend_and_gate_can_leave_flaky_cases_out_and_say_so() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let out = sandbox.run(&[
        "trend",
        "--db",
        "cases.db",
        "--exclude-flaky",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{out}");
    let doc = json(&out.stdout);
    // cases.db's one flaky case (its fall too small to call) is left out,
    // and its traces counted.
    assert_eq!(doc["left_out_flaky"]["cases"], 1, "{doc}");
    let left_out = doc["left_out_flaky"]["traces"].as_u64().unwrap();
    assert_eq!(doc["traces"].as_u64().unwrap() + left_out, 200);
    let gate = sandbox.run(&["gate", "--db", "cases.db", "--exclude-flaky"]);
    assert!(gate.stdout.contains("flaky case left out"), "{gate}");
    // Without the flag, nothing is left out and the field is absent.
    let plain = json(
        &sandbox
            .run(&[
                "trend",
                "--db",
                "cases.db",
                "--group-by",
                "day",
                "--format",
                "json",
            ])
            .stdout,
    );
    assert!(plain.get("left_out_flaky").is_none());
}
