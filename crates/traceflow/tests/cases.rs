//! The per-case comparison on stores whose truth is known: written by the
//! testkit's suite generator, which says which cases regress and which are
//! flaky.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use traceflow::cases::{CaseAnalyzer, CaseOptions, CaseReport, CaseVerdict, SplitRule};
use traceflow::report::{render, CaseListing, Document, Format};
use traceflow::store::SqliteStore;
use traceflow::trend::Window;
use traceflow::window::WindowOptions;

use traceflow_testkit::suite::{write_suite, SuiteSpec};

/// A store written by the testkit's suite generator, and its truth.
struct Generated {
    _dir: tempfile::TempDir,
    path: PathBuf,
    regressed: BTreeSet<String>,
    flaky: BTreeSet<String>,
}

fn generate(spec: &SuiteSpec) -> Generated {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.db");
    let truth = write_suite(&path, spec);
    Generated {
        regressed: truth.regressed,
        flaky: truth.flaky,
        _dir: dir,
        path,
    }
}

fn analyze(store: &Generated) -> CaseReport {
    let sqlite = SqliteStore::open_read_only(&store.path).unwrap();
    CaseAnalyzer::new(
        &sqlite,
        CaseOptions {
            window: WindowOptions {
                runs: Window::All,
                ..WindowOptions::default()
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
    // 60 cases over 6000 traces, a quarter of them falling from 0.9 to
    // 0.3 per decision at trace 3000 (each case's own difficulty on top),
    // 6 flaky ones (coin flips throughout).
    let store = generate(&SuiteSpec {
        traces: 6000,
        cases: 60,
        step_at: Some(3000),
        p_start: 0.9,
        p_end: 0.9,
        p_step: 0.3,
        regress_share: 0.25,
        flaky_share: 0.1,
        seed: 12,
        ..SuiteSpec::default()
    });
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
    let store = generate(&SuiteSpec {
        traces: 3000,
        cases: 60,
        p_start: 0.85,
        p_end: 0.85,
        seed: 5,
        ..SuiteSpec::default()
    });
    let report = analyze(&store);
    assert_ne!(report.total.verdict, traceflow::trend::Verdict::Regression);
    assert_eq!(
        report.counts.regressed,
        0,
        "{:?}",
        with_verdict(&report, CaseVerdict::Regressed)
    );
    assert_eq!(report.split.as_ref().unwrap().rule, SplitRule::Halves);
}
