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
    // By default the newest run (one trace) against the rest.
    let out = sandbox.run(&["compare", "--db", "cases.db", "--format", "json"]);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(json(&out.stdout)["verdict"], "insufficient_data");
    assert_eq!(json(&out.stdout)["candidate"]["traces"], 1);
    let out = sandbox.run(&["compare", "--db", "cases.db", "--require-data"]);
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
            "error: cases.db: the candidate selects no trace of the window (model=nope)",
        ),
        (
            &["--segment-by", "model"][..],
            "error: compare reports every metric of both sides",
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
        assert_eq!(out.stderr.lines().count(), 1, "{out}");
    }
}
