//! `traceflow compare` on the committed suite of 8 cases: the exit codes
//! a pull-request check acts on.

use super::{json, Sandbox};

const BEFORE: &str = "until=2026-01-01T14:35:00Z";
const AFTER: &str = "since=2026-01-01T14:35:00Z";

#[test]
fn a_worse_candidate_exits_1_naming_the_broken_case() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let args = [
        "compare",
        "--db",
        "cases.db",
        "--window",
        "all",
        "--baseline",
        BEFORE,
        "--candidate",
        AFTER,
    ];
    let out = sandbox.run(&args);
    insta::assert_snapshot!(out.to_string());
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.starts_with("Eval regression detected: "),
        "{out}"
    );
    let doc = json(
        &sandbox
            .run(&[&args[..], &["--format", "json"]].concat())
            .stdout,
    );
    assert_eq!(
        (doc["verdict"].as_str(), doc["paired"].as_bool()),
        (Some("regression"), Some(true))
    );
    assert!(doc["difference"]["ci"][1].as_f64().unwrap() < 0.0);
    // The one case the truth says regressed and the data can show.
    assert_eq!(doc["cases"][0]["id"], "30240e45ec61");
    // Every format keeps the exit code.
    for format in ["markdown", "junit", "html"] {
        let out = sandbox.run(&[&args[..], &["--format", format]].concat());
        assert_eq!(out.code, 1, "{format}: {out}");
    }
}

/// The command on a store with more runs than the window: the 75
/// newest traces are all the candidate's, and the window used to cut the
/// baseline's away ("selects no trace of the window").
#[test]
fn time_selectors_choose_among_every_trace_and_the_defaults_can_judge() {
    let sandbox = Sandbox::new(&["cases.db"]);
    let out = sandbox.run(&[
        "compare",
        "--db",
        "cases.db",
        "--window",
        "75",
        "--baseline",
        BEFORE,
        "--candidate",
        AFTER,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{out}");
    let doc = json(&out.stdout);
    assert_eq!(doc["verdict"], "regression");
    // The window bounds each side: the newest 75 runs of each.
    assert_eq!(
        (
            doc["baseline"]["traces"].as_u64(),
            doc["candidate"]["traces"].as_u64()
        ),
        (Some(75), Some(75))
    );
    // Without selectors, runs of one trace: the window's halves, which
    // find the regression the newest trace alone never could.
    let out = sandbox.run(&["compare", "--db", "cases.db"]);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stdout.starts_with(
            "Candidate the newer half of the window (100 traces in 100 runs) against baseline the older half (100 traces in 100 runs)\n"
        ),
        "{out}"
    );
}

#[test]
fn too_little_data_exits_0_or_3_with_require_data_and_bad_selectors_exit_2() {
    let sandbox = Sandbox::new(&["cases.db", "bad_rows.db"]);
    // Rows the store could not read are said, in every format.
    for format in ["table", "markdown", "html"] {
        let out = sandbox.run(&["compare", "--db", "bad_rows.db", "--format", format]);
        assert_eq!(out.code, 0, "{format}: {out}");
        assert!(
            out.stdout.contains("11 unreadable rows skipped"),
            "{format}: {out}"
        );
    }
    // The newest run (one trace) against the rest cannot tell.
    let newest = ["compare", "--db", "cases.db", "--candidate", "last=1"];
    let out = sandbox.run(&[&newest[..], &["--format", "json"]].concat());
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(json(&out.stdout)["verdict"], "insufficient_data");
    assert_eq!(json(&out.stdout)["candidate"]["traces"], 1);
    let out = sandbox.run(&[&newest[..], &["--require-data"]].concat());
    assert_eq!(out.code, 3, "{out}");
    for (args, cause) in [
        (
            &["--baseline", "model=gpt-4o-mini", "--candidate", AFTER][..],
            "error: cases.db: 60 traces match both the baseline and the candidate",
        ),
        (
            &["--baseline", "branch=main"][..],
            "error: --baseline: unknown condition \"branch\" (expected config.KEY, model, mode, provider, since, until or last)",
        ),
        (
            &["--baseline", "config.brnch=main"][..],
            "error: cases.db: no trace has config key \"brnch\"",
        ),
        (
            &["--candidate", "model=nope"][..],
            "error: cases.db: the candidate selects no finished trace (model=nope)",
        ),
        // Trend's flags are not compare's (it reports every metric of
        // both sides, by auto's rule).
        (
            &["--segment-by", "model"][..],
            "error: unexpected argument '--segment-by' found",
        ),
        (
            &["--method", "ols"][..],
            "error: unexpected argument '--method' found",
        ),
    ] {
        let out = sandbox.run(
            &[
                &["compare", "--db", "cases.db", "--window", "all"][..],
                args,
            ]
            .concat(),
        );
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(out.stderr.starts_with(cause), "{args:?}: {out}");
        if !cause.contains("unexpected argument") {
            // clap adds a hint line to its own errors; ours are one line.
            assert_eq!(out.stderr.lines().count(), 1, "{out}");
        }
    }
}
