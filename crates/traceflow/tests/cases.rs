//! The per-case comparison on stores whose truth is known: written by
//! `../shared/tools/gen_tfl_db.py --cases N`, which also writes which cases
//! regress and which are flaky (`OUT.db.truth.json`).
//!
//! Needs python3 and the generator (beside the repository). Without them
//! the tests say so and pass locally; under CI (`CI` set) they fail instead
//! of being skipped silently.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use traceflow::cases::{CaseAnalyzer, CaseOptions, CaseReport, CaseVerdict, SplitRule};
use traceflow::report::{render, CaseListing, Document, Format};
use traceflow::store::SqliteStore;
use traceflow::trend::{SuiteOptions, Window};

mod support;

fn generator() -> Option<PathBuf> {
    support::shared_script("gen_tfl_db.py")
}

/// A store the generator wrote with `args`, and the inputs its truth file
/// says regress and are flaky.
struct Generated {
    _dir: tempfile::TempDir,
    path: PathBuf,
    regressed: BTreeSet<String>,
    flaky: BTreeSet<String>,
}

fn generate(script: &Path, args: &[&str]) -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.db");
    let out = Command::new("python3")
        .arg(script)
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("cases.db.truth.json")).unwrap(),
    )
    .unwrap();
    let set = |key: &str| -> BTreeSet<String> {
        truth[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    Generated {
        regressed: set("regressed"),
        flaky: set("flaky"),
        _dir: dir,
        path,
    }
}

fn analyze(store: &Generated) -> CaseReport {
    let sqlite = SqliteStore::open_read_only(&store.path).unwrap();
    CaseAnalyzer::new(
        &sqlite,
        CaseOptions {
            suite: SuiteOptions {
                window: Window::All,
                ..SuiteOptions::default()
            },
            ..CaseOptions::default()
        },
    )
    .analyze()
    .unwrap()
}

fn with_verdict(report: &CaseReport, verdict: CaseVerdict) -> BTreeSet<String> {
    report
        .cases
        .iter()
        .filter(|c| c.verdict == verdict)
        .map(|c| c.case.clone())
        .collect()
}

#[test]
fn the_cases_that_broke_are_found_at_the_totals_step_and_no_other_is() {
    let Some(script) = generator() else { return };
    // 60 cases over 6000 traces, a quarter of them falling from 0.9 to
    // 0.3 per decision at trace 3000 (each case's own difficulty on top),
    // 6 flaky ones (coin flips throughout).
    let store = generate(
        &script,
        &[
            "--traces",
            "6000",
            "--cases",
            "60",
            "--step-at",
            "3000",
            "--p-start",
            "0.9",
            "--p-step",
            "0.3",
            "--regress-share",
            "0.25",
            "--flaky-share",
            "0.1",
            "--seed",
            "12",
        ],
    );
    let report = analyze(&store);
    assert_eq!(report.cases.len(), 60);
    assert_eq!(report.tested, 60);
    let split = report.split.as_ref().unwrap();
    assert_eq!(
        split.rule,
        SplitRule::ChangePoint,
        "{}",
        report.total.summary
    );
    assert!(
        (2900..=3100).contains(&split.run_index),
        "the step is at trace 3000: {split:?}"
    );

    // Every case that fell is found; at FDR 0.05, false ones are rare (one
    // of 15 here: a hard case whose decisions drifted down by chance).
    let found = with_verdict(&report, CaseVerdict::Regressed);
    let missed: Vec<&String> = store.regressed.difference(&found).collect();
    assert!(missed.is_empty(), "regressed, but not found: {missed:?}");
    let false_found: Vec<&String> = found.difference(&store.regressed).collect();
    assert!(
        false_found.len() * 10 <= found.len(),
        "{} of {} found are false: {false_found:?}",
        false_found.len(),
        found.len()
    );
    // Flaky cases fail before and after: never "newly failing".
    let newly = with_verdict(&report, CaseVerdict::NewlyFailing);
    assert!(newly.is_disjoint(&store.flaky), "{newly:?}");

    // Every format renders the report; the JSON lists every case.
    let json: serde_json::Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
    assert_eq!(json["cases"].as_array().unwrap().len(), 60);
    assert_eq!(json["cases"][0]["verdict"], "regressed");
    let all = Document::Cases {
        report: &report,
        listing: CaseListing::All,
    };
    let table = render(all, Format::Table);
    assert_eq!(
        table.lines().filter(|l| l.contains(": case ")).count(),
        60,
        "{table}"
    );
}

#[test]
fn a_stable_suite_has_no_regressed_case() {
    let Some(script) = generator() else { return };
    let store = generate(
        &script,
        &[
            "--traces",
            "3000",
            "--cases",
            "60",
            "--p-start",
            "0.85",
            "--p-end",
            "0.85",
            "--seed",
            "5",
        ],
    );
    let report = analyze(&store);
    // (Without --regress-share the truth file lists every case as one the
    // decline would apply to; there is no decline.)
    assert_ne!(report.total.verdict, traceflow::trend::Verdict::Regression);
    assert_eq!(
        report.counts.regressed,
        0,
        "{:?}",
        with_verdict(&report, CaseVerdict::Regressed)
    );
    assert_eq!(report.split.as_ref().unwrap().rule, SplitRule::Halves);
}
