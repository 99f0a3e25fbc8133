//! The comparison on records in memory.

use super::*;
use crate::model::{EvalDecision, RunStatus};
use crate::store::memory::testing::{eval, trace};
use crate::store::{MemoryStore, WriteStore};

#[test]
fn one_stratum_of_equal_sides_has_the_wald_variance() {
    // 30 of 40 against 20 of 40.
    let (d, ci) = mantel_haenszel_difference(&[[30, 40, 20, 40]], 0.95);
    assert!((d - 0.25).abs() < 1e-15);
    let var: f64 = 0.75 * 0.25 / 40.0 + 0.5 * 0.5 / 40.0;
    let z = crate::stats::intervals::two_sided_z(0.95);
    assert!((ci[0] - (0.25 - z * var.sqrt())).abs() < 1e-12, "{ci:?}");
    assert!((ci[1] - (0.25 + z * var.sqrt())).abs() < 1e-12, "{ci:?}");
}

#[test]
fn the_estimate_weighs_each_case_by_its_decisions_on_both_sides() {
    // Two cases, each 10 points worse on the candidate; their mix differs
    // between the sides, which an unpaired difference would mistake.
    let tables = [[8, 10, 90, 100], [50, 100, 6, 10]];
    let (d, _) = mantel_haenszel_difference(&tables, 0.95);
    assert!((d - -0.1).abs() < 1e-12, "{d}");
}

/// 60 traces on `main` then 60 on `pr`, asking 6 questions in turn; on
/// `pr`, question 0 fails every time.
fn store(pr_breaks: bool) -> MemoryStore {
    let mut store = MemoryStore::new();
    for k in 0..120 {
        let id = format!("t{k:03}");
        let at = format!("2026-03-01T{:02}:{:02}:00Z", k / 60, k % 60);
        let mut record = trace(&id, RunStatus::Done, &at, "m");
        let branch = if k < 60 { "main" } else { "pr" };
        record
            .config
            .extra
            .insert("branch".to_owned(), serde_json::json!(branch));
        record.user_input = format!("question {}", k % 6);
        store.create_trace(&record).unwrap();
        let fail = pr_breaks && k >= 60 && k % 6 == 0;
        let decision = if fail {
            EvalDecision::Fallback
        } else {
            EvalDecision::Pass
        };
        store.insert_eval(&eval(&id, 1, decision)).unwrap();
    }
    store
}

fn selector(text: &str) -> Selector {
    Selector::parse(text, |t| {
        crate::timestamp::parse(t).map_err(|e| InvalidValue::new(e.to_string()))
    })
    .unwrap()
}

fn compare(
    store: &MemoryStore,
    baseline: &str,
    candidate: &str,
) -> Result<CompareReport, CompareError> {
    CompareAnalyzer::new(
        store,
        CompareOptions {
            window: WindowOptions {
                runs: Window::All,
                ..WindowOptions::default()
            },
            baseline: Some(selector(baseline)),
            candidate: Some(selector(candidate)),
            ..CompareOptions::default()
        },
    )
    .analyze()
}

#[test]
fn a_pr_that_breaks_a_case_is_a_paired_regression_naming_the_case() {
    let store = store(true);
    let report = compare(&store, "config.branch=main", "config.branch=pr").unwrap();
    assert!(report.paired && report.shared_cases == 6, "{report:?}");
    assert_eq!((report.baseline.traces, report.candidate.traces), (60, 60));
    assert_eq!(report.candidate.passes, 50);
    // One case of six falls by 100 points: the difference is -1/6.
    assert!((report.difference.estimate - -1.0 / 6.0).abs() < 1e-12);
    assert_eq!(
        report.verdict,
        CompareVerdict::Regression,
        "{}",
        report.summary
    );
    assert!(report.is_regression());
    let broken: Vec<&str> = report
        .cases_with(CaseVerdict::Regressed)
        .map(|c| c.case.as_str())
        .collect();
    assert_eq!(broken, ["question 0"]);
}

#[test]
fn the_same_agent_on_both_sides_is_stable() {
    let store = store(false);
    let report = compare(&store, "config.branch=main", "config.branch=pr").unwrap();
    assert_eq!(report.difference.estimate, 0.0);
    assert_ne!(report.verdict, CompareVerdict::Regression);
}

fn compare_in(
    store: &MemoryStore,
    window: Window,
    group_by: GroupBy,
    sides: [Option<&str>; 2],
) -> Result<CompareReport, CompareError> {
    CompareAnalyzer::new(
        store,
        CompareOptions {
            window: WindowOptions {
                runs: window,
                group_by,
                ..WindowOptions::default()
            },
            baseline: sides[0].map(selector),
            candidate: sides[1].map(selector),
            ..CompareOptions::default()
        },
    )
    .analyze()
}

#[test]
fn by_default_runs_of_one_trace_compare_the_windows_halves() {
    // One trace can never show a change: the newer half of the window
    // against the older one can, and here finds what the PR broke.
    let report = compare_in(&store(true), Window::All, GroupBy::Trace, [None, None]).unwrap();
    assert_eq!((report.baseline.traces, report.candidate.traces), (60, 60));
    assert_eq!(
        report.verdict,
        CompareVerdict::Regression,
        "{}",
        report.summary
    );
    assert_eq!(
        report.sides_described(),
        ("the newer half of the window", "the older half")
    );
    // An odd window leaves the extra run to the baseline.
    let report = compare_in(
        &store(false),
        Window::Last(21),
        GroupBy::Trace,
        [None, None],
    )
    .unwrap();
    assert_eq!((report.baseline.traces, report.candidate.traces), (11, 10));
    assert_eq!(report.verdict, CompareVerdict::Stable, "{}", report.summary);
}

#[test]
fn by_default_pooled_runs_compare_the_newest_run_with_the_ones_before() {
    let by_branch: GroupBy = "config.branch".parse().unwrap();
    let report = compare_in(&store(true), Window::All, by_branch, [None, None]).unwrap();
    assert_eq!((report.baseline.runs, report.candidate.runs), (1, 1));
    assert_eq!(report.candidate.traces, 60);
    assert_eq!(
        report.verdict,
        CompareVerdict::Regression,
        "{}",
        report.summary
    );
    assert_eq!(
        report.sides_described(),
        ("the newest run", "the runs before it")
    );
}

#[test]
fn the_window_bounds_each_selected_side_not_the_store() {
    // The window's 20 newest runs are all on pr; before the fix the
    // baseline selected nothing of them.
    let store = store(true);
    let (before, after) = ("until=2026-03-01T01:00:00Z", "since=2026-03-01T01:00:00Z");
    let report = compare_in(
        &store,
        Window::Last(20),
        GroupBy::Trace,
        [Some(before), Some(after)],
    )
    .unwrap();
    assert_eq!((report.baseline.traces, report.candidate.traces), (20, 20));
    assert_eq!(report.baseline.rate, Some(1.0));
    // last=N is a side's own window, wider or narrower.
    let report = compare_in(
        &store,
        Window::Last(20),
        GroupBy::Trace,
        [
            Some("config.branch=main,last=45"),
            Some("config.branch=pr,last=5"),
        ],
    )
    .unwrap();
    assert_eq!((report.baseline.traces, report.candidate.traces), (45, 5));
    // A side left out takes the newest runs the other's conditions do not
    // match: main's, though pr's are newer.
    let report = compare_in(
        &store,
        Window::Last(20),
        GroupBy::Trace,
        [None, Some(after)],
    )
    .unwrap();
    assert_eq!((report.baseline.traces, report.candidate.traces), (20, 20));
    assert_eq!(report.baseline.rate, Some(1.0));
    assert_eq!(report.sides_described(), (after, "the other traces"));
    let report = compare_in(
        &store,
        Window::Last(20),
        GroupBy::Trace,
        [Some(before), None],
    )
    .unwrap();
    assert_eq!(report.candidate.traces, 20);
    assert_eq!(report.candidate.passes, 17);
    // The newest run against the rest, as a selector.
    let report = compare_in(&store, Window::All, GroupBy::Trace, [None, Some("last=1")]).unwrap();
    assert_eq!((report.baseline.traces, report.candidate.traces), (119, 1));
}

#[test]
fn selectors_that_overlap_or_select_nothing_are_errors() {
    let store = store(false);
    match compare(&store, "config.branch=main", "model=m") {
        Err(CompareError::Overlap { traces }) => assert_eq!(traces, 60),
        other => panic!("{other:?}"),
    }
    match compare(&store, "config.branch=main", "config.branch=feature") {
        Err(err @ CompareError::Empty { .. }) => {
            assert_eq!(
                err.to_string(),
                "the candidate selects no finished trace (config.branch=feature)"
            );
        }
        other => panic!("{other:?}"),
    }
    // A config key no trace has is a typo.
    assert!(matches!(
        compare(&store, "config.brnch=main", "config.branch=pr"),
        Err(CompareError::Window(WindowError::UnknownConfigKey { .. }))
    ));
    // last=N takes the newest runs of what the other conditions keep.
    let report = compare(&store, "config.branch=main,last=10", "config.branch=pr").unwrap();
    assert_eq!(report.baseline.traces, 10);
    for bad in ["branch=main", "last=0", "", "config.=x"] {
        assert!(
            Selector::parse(bad, |_| Err(InvalidValue::new(""))).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn unpaired_decisions_of_one_trace_count_as_the_trials_they_are_worth() {
    // Every trace asks a question of its own and records three decisions
    // of one outcome: 40 traces of 120 decisions a side, worth 40 trials.
    let mut store = MemoryStore::new();
    for k in 0..80 {
        let id = format!("t{k:02}");
        let at = format!("2026-03-01T{:02}:{:02}:00Z", k / 60, k % 60);
        let mut record = trace(&id, RunStatus::Done, &at, "m");
        record.user_input = id.clone();
        store.create_trace(&record).unwrap();
        // Baseline 30 of 40 traces pass, candidate 22 of 40.
        let pass = if k < 40 { k % 4 != 0 } else { k % 20 < 11 };
        for seq in 0..3 {
            let decision = if pass {
                EvalDecision::Pass
            } else {
                EvalDecision::Revise
            };
            store.insert_eval(&eval(&id, seq, decision)).unwrap();
        }
    }
    let report = compare(
        &store,
        "until=2026-03-01T00:40:00Z",
        "since=2026-03-01T00:40:00Z",
    )
    .unwrap();
    assert!(!report.paired);
    // Three identical decisions a trace: a design effect of about 3.
    assert!(
        (report.baseline.design_effect - 3.0 * 40.0 / 39.0).abs() < 1e-9,
        "{:?}",
        report.baseline
    );
    // Fisher on the 40 traces a side, not on the 120 decisions.
    let per_trace = crate::stats::fisher_worse((30, 40), (22, 40)).unwrap();
    let per_decision = crate::stats::fisher_worse((90, 120), (66, 120)).unwrap();
    let p = report.p_worse.unwrap();
    assert!(
        per_decision < p && (p - per_trace).abs() < 0.02,
        "{p} {per_trace} {per_decision}"
    );
}
