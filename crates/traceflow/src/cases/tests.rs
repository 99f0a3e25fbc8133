//! The per-case comparison on records in memory, checked against counts
//! made by hand.

use super::*;
use crate::model::{EvalDecision, RunStatus};
use crate::store::memory::testing::{eval, trace};
use crate::store::{MemoryStore, WriteStore};

/// A store of 81 traces, one a minute: cases `a`, `b`, `c` in turn (the
/// first 40 traces before run 40, the rest after), and one trace of case
/// `d` at the end.
/// - `a` passes before and fails after: regressed.
/// - `b` passes throughout but for its first trace after: newly failing.
/// - `c` alternates between pass and revise throughout: flaky.
/// - `d` has no decisions before: untested.
fn store() -> MemoryStore {
    let mut store = MemoryStore::new();
    let mut b_after = 0;
    let mut c_seen = 0;
    for k in 0..81 {
        let case = if k == 80 { "d" } else { ["a", "b", "c"][k % 3] };
        let after = k >= 40;
        let pass = match case {
            "a" => !after,
            "b" if after => {
                b_after += 1;
                b_after > 1
            }
            "c" => {
                c_seen += 1;
                c_seen % 2 == 0
            }
            _ => true,
        };
        let id = format!("t{k:02}");
        let at = format!("2026-03-01T{:02}:{:02}:00Z", k / 60, k % 60);
        let mut record = trace(&id, RunStatus::Done, &at, "m");
        // Surrounding whitespace is not part of the case.
        record.user_input = format!("  question {case}\n");
        store.create_trace(&record).unwrap();
        let decision = if pass {
            EvalDecision::Pass
        } else {
            EvalDecision::Revise
        };
        store.insert_eval(&eval(&id, 1, decision)).unwrap();
    }
    store
}

fn options(split_at: Option<SplitAt>) -> CaseOptions {
    CaseOptions {
        window: WindowOptions {
            runs: Window::All,
            ..WindowOptions::default()
        },
        split_at,
        ..CaseOptions::default()
    }
}

fn row<'r>(report: &'r CaseReport, case: &str) -> &'r CaseRow {
    report
        .cases
        .iter()
        .find(|c| c.case == case)
        .unwrap_or_else(|| panic!("no case {case:?} in {:?}", report.cases))
}

#[test]
fn each_case_is_counted_on_either_side_and_judged() {
    let store = store();
    let report = CaseAnalyzer::new(&store, options(Some(SplitAt::Run(40))))
        .analyze()
        .unwrap();
    let split = report.split.as_ref().unwrap();
    assert_eq!((split.rule, split.run_index), (SplitRule::Given, 40));
    assert_eq!(split.run_key, "t40");
    assert_eq!((report.runs, report.traces), (81, 81));

    // a: traces 0, 3, …, 39 before (14), 42, …, 78 after (13).
    let a = row(&report, "question a");
    assert_eq!(a.mode.as_deref(), Some("grounded_qa"));
    assert_eq!((a.before.passes, a.before.decisions), (14, 14));
    assert_eq!((a.after.passes, a.after.decisions), (0, 13));
    assert_eq!(a.change, Some(-1.0));
    assert_eq!(a.verdict, CaseVerdict::Regressed);
    // Fisher: all 14 passes fall before, P = C(14,14) C(13,0) / C(27,13).
    let exact = 1.0 / 20_058_300.0;
    assert!((a.p.unwrap() - exact).abs() < 1e-15, "{:?}", a.p);

    let b = row(&report, "question b");
    assert_eq!((b.before.passes, b.before.decisions), (13, 13));
    assert_eq!((b.after.passes, b.after.decisions), (13, 14));
    assert_eq!(b.verdict, CaseVerdict::NewlyFailing);

    // c: 6 of 13 before, 7 of 13 after, under one model: flaky where it
    // has the most decisions (the later of equals).
    let c = row(&report, "question c");
    assert_eq!(c.verdict, CaseVerdict::Flaky);
    assert_eq!((c.before.passes, c.after.passes), (6, 7));
    let f = c.flakiness.as_ref().unwrap();
    assert_eq!(
        (f.side, f.model.as_str(), f.passes, f.decisions),
        ("after", "m", 7, 13)
    );
    let (lo, hi) = crate::stats::wilson(7, 13, 0.95).unwrap();
    assert_eq!(f.ci, [lo, hi]);
    assert!(lo > FLAKY_BOUNDS[0] && hi < FLAKY_BOUNDS[1]);
    assert!((report.flaky_share - 26.0 / 81.0).abs() < 1e-12);

    let d = row(&report, "question d");
    assert_eq!((d.before.decisions, d.after.decisions), (0, 1));
    assert_eq!(
        (d.verdict, d.p, d.q, d.change),
        (CaseVerdict::Untested, None, None, None)
    );

    // Three tested cases, each verdict counted, in report order.
    assert_eq!(report.tested, 3);
    let verdicts: Vec<CaseVerdict> = report.cases.iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [
            CaseVerdict::Regressed,
            CaseVerdict::NewlyFailing,
            CaseVerdict::Flaky,
            CaseVerdict::Untested
        ]
    );
    assert_eq!(
        (
            report.counts.regressed,
            report.counts.newly_failing,
            report.counts.flaky,
            report.counts.stable
        ),
        (1, 1, 1, 0)
    );
    // q of the smallest of 3 p-values: at most 3 p.
    assert!(a.q.unwrap() <= 3.0 * a.p.unwrap() + 1e-18);
}

#[test]
fn the_split_is_the_totals_step_else_the_halves() {
    // 400 traces of one case, passing until trace 200, then every other
    // one failing: a step of 50 points.
    let mut stepped = MemoryStore::new();
    for k in 0..400 {
        let id = format!("t{k:03}");
        let at = format!("2026-03-01T{:02}:{:02}:00Z", k / 60, k % 60);
        stepped
            .create_trace(&trace(&id, RunStatus::Done, &at, "m"))
            .unwrap();
        let decision = if k >= 200 && k % 2 == 0 {
            EvalDecision::Fallback
        } else {
            EvalDecision::Pass
        };
        stepped.insert_eval(&eval(&id, 1, decision)).unwrap();
    }
    let report = CaseAnalyzer::new(&stepped, options(None))
        .analyze()
        .unwrap();
    let split = report.split.unwrap();
    assert_eq!(
        split.rule,
        SplitRule::ChangePoint,
        "{}",
        report.total.summary
    );
    assert_eq!(split.run_index, 200, "{split:?}");
    assert_eq!(report.cases[0].verdict, CaseVerdict::Regressed);

    // Without a step: the middle run.
    let mut flat = MemoryStore::new();
    for k in 0..10 {
        let id = format!("t{k}");
        let at = format!("2026-03-01T00:{k:02}:00Z");
        flat.create_trace(&trace(&id, RunStatus::Done, &at, "m"))
            .unwrap();
        flat.insert_eval(&eval(&id, 1, EvalDecision::Pass)).unwrap();
    }
    let report = CaseAnalyzer::new(&flat, options(None)).analyze().unwrap();
    let split = report.split.unwrap();
    assert_eq!((split.rule, split.run_index), (SplitRule::Halves, 5));
    // One case, passing throughout: tested and stable.
    assert_eq!(report.cases.len(), 1);
    assert_eq!(report.cases[0].verdict, CaseVerdict::Stable);
    assert_eq!(report.cases[0].p, Some(1.0));
}

#[test]
fn a_split_in_time_takes_the_first_run_from_then_and_one_outside_is_an_error() {
    let store = store();
    let at: Timestamp = "2026-03-01T00:40:00Z".parse().unwrap();
    let report = CaseAnalyzer::new(&store, options(Some(SplitAt::Time(at))))
        .analyze()
        .unwrap();
    assert_eq!(report.split.unwrap().run_index, 40);

    let late: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    for (split, side) in [
        (SplitAt::Time(late), "after"),
        (SplitAt::Run(0), "before"),
        (SplitAt::Run(81), "after"),
    ] {
        match CaseAnalyzer::new(&store, options(Some(split))).analyze() {
            Err(err @ CaseError::SplitOutside { .. }) => {
                assert!(
                    err.to_string()
                        .contains(&format!("leaves {side} without runs")),
                    "{err}"
                );
            }
            other => panic!("{split:?}: {other:?}"),
        }
    }
    let bad_fdr = CaseOptions {
        fdr: 1.0,
        ..options(None)
    };
    assert!(matches!(
        CaseAnalyzer::new(&store, bad_fdr).analyze(),
        Err(CaseError::InvalidFdr(_))
    ));
}

#[test]
fn a_config_key_makes_the_cases_and_traces_without_it_are_counted() {
    let mut store = MemoryStore::new();
    for k in 0..12 {
        let id = format!("t{k:02}");
        let at = format!("2026-03-01T00:{k:02}:00Z");
        let mut record = trace(&id, RunStatus::Done, &at, "m");
        if k != 5 {
            record.config.extra.insert(
                "case_id".to_owned(),
                serde_json::json!(format!("c{}", k % 2)),
            );
        }
        store.create_trace(&record).unwrap();
        store
            .insert_eval(&eval(&id, 1, EvalDecision::Pass))
            .unwrap();
    }
    let report = CaseAnalyzer::new(
        &store,
        CaseOptions {
            case_by: CaseBy::Config("case_id".to_owned()),
            ..options(Some(SplitAt::Run(6)))
        },
    )
    .analyze()
    .unwrap();
    assert_eq!(report.left_out.uncased, Some(1));
    let mut keys: Vec<(&str, Option<&str>)> = report
        .cases
        .iter()
        .map(|c| (c.case.as_str(), c.mode.as_deref()))
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, [("c0", None), ("c1", None)]);
    assert_eq!(report.cases[0].traces + report.cases[1].traces, 11);
}

#[test]
fn a_window_of_one_run_has_no_split_and_tests_nothing() {
    let mut store = MemoryStore::new();
    store
        .create_trace(&trace("only", RunStatus::Done, "2026-03-01T00:00:00Z", "m"))
        .unwrap();
    let report = CaseAnalyzer::new(&store, options(None)).analyze().unwrap();
    assert_eq!(report.split, None);
    assert_eq!(report.tested, 0);
    assert_eq!(report.cases[0].verdict, CaseVerdict::Untested);
}

#[test]
fn the_trend_without_flaky_cases_leaves_out_their_traces_and_keeps_regressed_ones() {
    use crate::trend::{SuiteAnalyzer, SuiteOptions, SuiteReport};
    let store = store();
    let trend = |exclude_flaky: bool| -> SuiteReport {
        SuiteAnalyzer::new(
            &store,
            SuiteOptions {
                window: WindowOptions {
                    runs: Window::All,
                    ..WindowOptions::default()
                },
                exclude_flaky,
                ..SuiteOptions::default()
            },
        )
        .analyze()
        .unwrap()
    };
    let all = trend(false);
    assert_eq!((all.traces, all.left_out.flaky), (81, None));
    // c (alternating, 26 traces) is flaky; a regressed, and stays.
    let without = trend(true);
    assert_eq!(
        without.left_out.flaky,
        Some(crate::trend::LeftOutFlaky {
            cases: 1,
            traces: 26
        })
    );
    assert_eq!((without.traces, without.runs), (55, 55));
    let runs: Vec<usize> = without.reports[0]
        .summaries
        .iter()
        .map(|r| r.run_index)
        .collect();
    assert_eq!(runs, (0..55).collect::<Vec<_>>());
    assert!(
        crate::report::render(&without, crate::report::Format::Table)
            .contains("26 traces of 1 flaky case left out")
    );
}

#[test]
fn pooled_runs_left_without_traces_are_dropped_and_the_rest_keep_their_order() {
    use crate::trend::{GroupBy, SuiteAnalyzer, SuiteOptions};
    // Hour 0: only a flaky case, passing every other time; hours 1 and 2:
    // a case that passes. The halves split at run 1.
    let mut store = MemoryStore::new();
    for k in 0..30 {
        let id = format!("t{k:02}");
        let at = format!("2026-03-01T{:02}:{:02}:00Z", k / 10, 5 * (k % 10));
        let mut record = trace(&id, RunStatus::Done, &at, "m");
        record.user_input = if k < 10 { "coin" } else { "sure" }.to_owned();
        store.create_trace(&record).unwrap();
        let decision = if k < 10 && k % 2 == 0 {
            EvalDecision::Fallback
        } else {
            EvalDecision::Pass
        };
        store.insert_eval(&eval(&id, 1, decision)).unwrap();
    }
    let report = SuiteAnalyzer::new(
        &store,
        SuiteOptions {
            window: WindowOptions {
                runs: Window::All,
                group_by: GroupBy::Hour,
                ..WindowOptions::default()
            },
            exclude_flaky: true,
            ..SuiteOptions::default()
        },
    )
    .analyze()
    .unwrap();
    let runs: Vec<(usize, String, usize)> = report.reports[0]
        .summaries
        .iter()
        .map(|r| (r.run_index, r.run_key, r.traces))
        .collect();
    assert_eq!(
        runs,
        [
            (0, "2026-03-01T01:00Z".to_owned(), 10),
            (1, "2026-03-01T02:00Z".to_owned(), 10)
        ]
    );
    assert_eq!(report.left_out.flaky.map(|f| f.traces), Some(10));
}

#[test]
fn the_progress_hook_hears_each_stage_in_order() {
    use crate::progress::Stage;
    use std::sync::Mutex;
    let store = store();
    let heard = Mutex::new(Vec::new());
    let hook = |stage: Stage| heard.lock().unwrap().push(stage);
    CaseAnalyzer::new(&store, options(None))
        .on_progress(Some(&hook))
        .analyze()
        .unwrap();
    let expected = [
        Stage::ReadingTraces,
        Stage::ReadingFacts { traces: 81 },
        Stage::Judging { runs: 81 },
    ];
    assert_eq!(std::mem::take(&mut *heard.lock().unwrap()), expected);
    // The trend's window reads the facts of its own runs only.
    crate::trend::TraceTrendAnalyzer::with_options(&store, crate::trend::VerdictOptions::default())
        .on_progress(Some(&hook))
        .analyze(Window::Last(20))
        .unwrap();
    assert_eq!(
        *heard.lock().unwrap(),
        [
            Stage::ReadingTraces,
            Stage::ReadingFacts { traces: 20 },
            Stage::Judging { runs: 20 },
        ]
    );
}
