//! Pooling, metrics and segments checked against values computed by hand.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use traceflow::model::{EvalRecord, Mode, RunConfig, StepRecord, TraceRecord};
use traceflow::stats::holm;
use traceflow::store::{MemoryStore, SqliteStore, WriteStore};
use traceflow::trend::{
    GroupBy, Metric, MetricReport, SegmentBy, SuiteAnalyzer, SuiteOptions, SuiteReport,
    TraceTrendAnalyzer, TrendError, VerdictOptions, Window,
};
use traceflow::window::{WindowError, WindowOptions};

/// Runs as records in memory: what the analysis sees, through the facts
/// seam, without SQL. (What the SQLite store makes of text a record cannot
/// hold, such as Python's `NaN` or a config that is not JSON, is
/// `tests/store_text.rs`.)
struct Records(std::cell::RefCell<MemoryStore>);

impl Records {
    fn new() -> Records {
        Records(std::cell::RefCell::new(MemoryStore::new()))
    }

    fn trace(&self, id: &str, status: &str, at: &str, model: &str, config: &str) -> &Self {
        let trace = TraceRecord {
            trace_id: id.to_owned(),
            status: status.parse().unwrap(),
            mode: Mode::GroundedQa,
            user_input: "q".to_owned(),
            config: serde_json::from_str::<RunConfig>(config).unwrap(),
            model: model.to_owned(),
            provider: "openai".to_owned(),
            final_answer: None,
            error: None,
            created_at: traceflow::timestamp::parse(at).unwrap(),
            finished_at: None,
        };
        self.0.borrow_mut().create_trace(&trace).unwrap();
        self
    }

    fn eval(&self, id: &str, seq: i64, decision: &str, scores: &str) -> &Self {
        let eval = EvalRecord {
            trace_id: id.to_owned(),
            step_seq: seq,
            decision: decision.parse().unwrap(),
            reasons: None,
            scores: (!scores.is_empty()).then(|| serde_json::from_str(scores).unwrap()),
            revision_instructions: None,
            created_at: traceflow::timestamp::now(),
        };
        self.0.borrow_mut().insert_eval(&eval).unwrap();
        self
    }

    fn step(&self, id: &str, seq: i64, node: &str, usage: (i64, f64, f64), output: &str) -> &Self {
        let step = StepRecord {
            trace_id: id.to_owned(),
            step_seq: seq,
            node_name: node.to_owned(),
            input: None,
            output: serde_json::from_str(output).ok(),
            tokens: usage.0,
            latency_ms: usage.1,
            cost_usd: usage.2,
            error: None,
            cache_hit: false,
            created_at: traceflow::timestamp::now(),
        };
        self.0.borrow_mut().insert_step(&step).unwrap();
        self
    }

    fn analyze(&self, options: SuiteOptions) -> Result<SuiteReport, TrendError> {
        SuiteAnalyzer::new(&*self.0.borrow(), options).analyze()
    }
}

fn options(group_by: GroupBy, metrics: &[Metric]) -> SuiteOptions {
    SuiteOptions {
        window: WindowOptions {
            runs: Window::All,
            group_by,
            ..WindowOptions::default()
        },
        metrics: metrics.to_vec(),
        ..SuiteOptions::default()
    }
}

/// (run_key, traces, decisions, value) of each run.
fn runs(report: &MetricReport) -> Vec<(String, usize, u64, Option<f64>)> {
    report
        .summaries
        .iter()
        .map(|r| (r.run_key.clone(), r.traces, r.decisions, r.value))
        .collect()
}

fn key(
    text: &str,
    traces: usize,
    decisions: u64,
    value: Option<f64>,
) -> (String, usize, u64, Option<f64>) {
    (text.to_owned(), traces, decisions, value)
}

#[test]
fn days_pool_every_decision_of_their_traces_in_utc() {
    let s = Records::new();
    // 23:30 at -02:00 is 01:30 UTC on the 2nd: it belongs to the 2nd.
    s.trace("a", "done", "2026-03-01T08:00:00Z", "m", "{}")
        .eval("a", 1, "revise", "{}")
        .eval("a", 3, "pass", "{}");
    s.trace("b", "failed", "2026-03-01T23:30:00-02:00", "m", "{}");
    s.trace("c", "done", "2026-03-02 09:00:00", "m", "{}")
        .eval("c", 1, "fallback", "{}");
    s.trace("d", "done", "2026-03-01T12:00:00Z", "m", "{}")
        .eval("d", 1, "pass", "{}");
    // Still running: left out, not a failure.
    s.trace("e", "running", "2026-03-02T10:00:00Z", "m", "{}");
    let report = s
        .analyze(options(
            GroupBy::Day,
            &[Metric::PassRate, Metric::FinalPassRate],
        ))
        .unwrap();
    assert_eq!(report.runs, 2);
    assert_eq!(report.traces, 4);
    assert_eq!(report.left_out.running, 1);
    // Day 1: a (revise, pass) + d (pass): 2 of 3 decisions; day 2: b
    // (failed, its status one decision) + c (fallback): 0 of 2.
    assert_eq!(
        runs(&report.reports[0]),
        [
            key("2026-03-01", 2, 3, Some(2.0 / 3.0)),
            key("2026-03-02", 2, 2, Some(0.0)),
        ]
    );
    // Final decisions: a ends in PASS, d PASS; b failed, c FALLBACK.
    assert_eq!(runs(&report.reports[1])[0].3, Some(1.0));
    assert_eq!(runs(&report.reports[1])[1].3, Some(0.0));
}

#[test]
fn the_final_decision_is_the_last_by_step_seq_not_by_insertion() {
    let s = Records::new();
    // Inserted out of order: the PASS at step 5 is the final one.
    s.trace("a", "done", "2026-03-01T08:00:00Z", "m", "{}")
        .eval("a", 5, "pass", "{}")
        .eval("a", 2, "revise", "{}");
    s.trace("b", "done", "2026-03-01T09:00:00Z", "m", "{}")
        .eval("b", 2, "pass", "{}")
        .eval("b", 7, "fallback", "{}");
    let report = s
        .analyze(options(
            GroupBy::Day,
            &[
                Metric::FinalPassRate,
                Metric::Revisions,
                Metric::FallbackRate,
            ],
        ))
        .unwrap();
    assert_eq!(
        runs(&report.reports[0]),
        [key("2026-03-01", 2, 4, Some(0.5))]
    );
    // One REVISE over two traces.
    assert_eq!(runs(&report.reports[1])[0].3, Some(0.5));
    // One FALLBACK of four decisions.
    assert_eq!(runs(&report.reports[2])[0].3, Some(0.25));
}

#[test]
fn config_runs_follow_their_first_trace_and_traces_without_the_key_are_counted() {
    let s = Records::new();
    s.trace(
        "1",
        "done",
        "2026-03-01T08:00:00Z",
        "m",
        r#"{"git_sha": "bbb"}"#,
    );
    s.trace(
        "2",
        "done",
        "2026-03-01T09:00:00Z",
        "m",
        r#"{"git_sha": "aaa"}"#,
    );
    s.trace(
        "3",
        "failed",
        "2026-03-01T10:00:00Z",
        "m",
        r#"{"git_sha": "bbb"}"#,
    );
    s.trace(
        "4",
        "done",
        "2026-03-01T11:00:00Z",
        "m",
        r#"{"model": "x"}"#,
    );
    s.trace(
        "5",
        "done",
        "2026-03-01T12:00:00Z",
        "m",
        r#"{"git_sha": 42}"#,
    );
    s.trace(
        "6",
        "done",
        "2026-03-01T13:00:00Z",
        "m",
        r#"{"git_sha": null}"#,
    );
    let report = s
        .analyze(options(
            GroupBy::Config("git_sha".to_owned()),
            &[Metric::PassRate],
        ))
        .unwrap();
    assert_eq!(
        runs(&report.reports[0]),
        [
            key("bbb", 2, 2, Some(0.5)),
            key("aaa", 1, 1, Some(1.0)),
            key("42", 1, 1, Some(1.0)),
        ]
    );
    // Without the key, or with it null: counted, in no run.
    assert_eq!(report.left_out.ungrouped, Some(2));
    assert!(
        report.left_out.skipped_rows.is_empty(),
        "{:?}",
        report.left_out.skipped_rows
    );
}

#[test]
fn weeks_are_iso_and_the_window_counts_runs_not_traces() {
    let s = Records::new();
    // Sunday 2026-03-01 is in ISO week 9; Monday the 2nd starts week 10.
    for (id, at) in [
        ("a", "2026-03-01T23:00:00Z"),
        ("b", "2026-03-02T00:00:00Z"),
        ("c", "2026-03-08T23:59:59Z"),
        ("d", "2026-03-09T00:00:00Z"),
    ] {
        s.trace(id, "done", at, "m", "{}");
    }
    let mut opts = options(GroupBy::Week, &[Metric::PassRate]);
    let report = s.analyze(opts.clone()).unwrap();
    let keys: Vec<(String, usize)> = report.reports[0]
        .summaries
        .iter()
        .map(|r| (r.run_key.clone(), r.traces))
        .collect();
    assert_eq!(
        keys,
        [
            ("2026-W09".to_owned(), 1),
            ("2026-W10".to_owned(), 2),
            ("2026-W11".to_owned(), 1)
        ]
    );
    opts.window.runs = Window::Last(2);
    let report = s.analyze(opts).unwrap();
    assert_eq!(report.runs, 2);
    assert_eq!(report.traces, 3);
    assert_eq!(
        report.reports[0].summaries.get(0).unwrap().run_key,
        "2026-W10"
    );
}

#[test]
fn since_and_until_bound_the_traces_before_pooling() {
    let s = Records::new();
    for (id, at) in [
        ("a", "2026-03-01T08:00:00Z"),
        ("b", "2026-03-02T08:00:00Z"),
        ("c", "2026-03-03T08:00:00Z"),
    ] {
        s.trace(id, "done", at, "m", "{}");
    }
    let mut opts = options(GroupBy::Day, &[Metric::PassRate]);
    opts.window.since = Some("2026-03-02T08:00:00Z".parse().unwrap());
    opts.window.until = Some("2026-03-03T08:00:00Z".parse().unwrap());
    let report = s.analyze(opts.clone()).unwrap();
    // since is inclusive, until exclusive.
    assert_eq!(
        runs(&report.reports[0]),
        [key("2026-03-02", 1, 1, Some(1.0))]
    );
    opts.window.until = opts.window.since;
    assert!(matches!(
        s.analyze(opts),
        Err(TrendError::Window(WindowError::EmptyTimeRange { .. }))
    ));
}

#[test]
fn usage_metrics_are_per_trace_sums_averaged_over_the_run() {
    let s = Records::new();
    s.trace("a", "done", "2026-03-01T08:00:00Z", "m", "{}")
        .step("a", 0, "planner", (100, 200.0, 0.001), "{}")
        .step("a", 1, "executor", (300, 600.5, 0.003), "{}");
    s.trace("b", "done", "2026-03-01T09:00:00Z", "m", "{}")
        .step("b", 0, "executor", (1000, 100.0, 0.010), "{}");
    // No steps: no value, not a zero.
    s.trace("c", "done", "2026-03-01T10:00:00Z", "m", "{}");
    let report = s
        .analyze(options(
            GroupBy::Day,
            &[Metric::Tokens, Metric::Latency, Metric::Cost],
        ))
        .unwrap();
    let value = |i: usize| report.reports[i].summaries.get(0).unwrap().value.unwrap();
    // a: 400 tokens, 800.5 ms, $0.004; b: 1000, 100, $0.010.
    assert_eq!(value(0), 700.0);
    assert_eq!(value(1), 450.25);
    assert!((value(2) - 0.007).abs() < 1e-15);

    // A step whose latency is NaN is reported and left out, not a NaN mean.
    s.step("c", 0, "executor", (10, f64::NAN, 0.0), "{}");
    let report = s
        .analyze(options(GroupBy::Day, &[Metric::Latency]))
        .unwrap();
    assert_eq!(
        report.reports[0].summaries.get(0).unwrap().value,
        Some(450.25)
    );
    assert_eq!(report.left_out.skipped_rows.len(), 1);
    assert_eq!(
        report.left_out.skipped_rows[0].reason,
        "latency_ms: NaN is not a finite number"
    );
}

#[test]
fn huge_values_are_judged_or_reported_never_a_panic_an_infinity_or_a_silent_loss() {
    // A red team's store: one step costing $1e250, a score of 1e250, and a
    // trace whose two steps of 1e308 ms sum past the largest float. Before,
    // the first two panicked in statrs' Student t (exit 101 from the CLI)
    // and the third showed `inf ms` and dropped the run without a word.
    let s = Records::new();
    for day in 1..=12 {
        let id = format!("d{day:02}");
        let at = format!("2026-03-{day:02}T08:00:00Z");
        let cost = if day == 3 {
            1e250
        } else {
            0.01 + 0.001 * f64::from(day)
        };
        // Every trace but d05 has ordinary latency; d05's sums to ∞.
        let latency = if day == 5 { 1e308 } else { 250.0 };
        let score = if day == 7 {
            1e250
        } else {
            0.9 - 0.01 * f64::from(day)
        };
        s.trace(&id, "done", &at, "m", "{}")
            .eval(&id, 1, "pass", &format!("{{\"groundedness\": {score:e}}}"))
            .step(&id, 0, "executor", (100, latency, cost), "{}");
        if day == 5 {
            s.step(&id, 1, "executor", (100, 1e308, 0.0), "{}");
        }
    }
    let metrics = [
        Metric::Cost,
        Metric::Latency,
        Metric::AvgScore,
        Metric::Score("groundedness".to_owned()),
    ];
    let report = s.analyze(options(GroupBy::Day, &metrics)).unwrap();
    for r in &report.reports {
        let stats = &r.statistics;
        assert!(r
            .summaries
            .iter()
            .all(|run| run.value.is_none_or(f64::is_finite)));
        assert!(
            r.value.is_none_or(f64::is_finite),
            "{}: {:?}",
            r.metric,
            r.value
        );
        assert!(
            stats.p_worse.is_none_or(|p| (0.0..=1.0).contains(&p)),
            "{stats:?}"
        );
        let ols = stats.evidence.ols().unwrap();
        assert!(ols.slope.is_finite() && ols.p_decline.is_none_or(|p| !p.is_nan()));
        assert!(!stats.summary.contains("inf") && !stats.summary.contains("NaN"));
    }
    // d05's latency is left out and said to be, not silently dropped.
    let latency = &report.reports[1];
    assert_eq!(latency.summaries.get(4).unwrap().value, None);
    assert_eq!(latency.statistics.runs, 11);
    assert_eq!(
        report.left_out.skipped_rows.len(),
        1,
        "{:?}",
        report.left_out.skipped_rows
    );
    let issue = &report.left_out.skipped_rows[0];
    assert!(
        matches!(
            issue.at,
            traceflow::store::Locator::Row {
                table: "traces",
                ..
            }
        ),
        "{issue}"
    );
    assert_eq!(issue.trace_id.as_deref(), Some("d05"));
    assert_eq!(
        issue.reason,
        "its latency_ms sum past the largest float; the trace is left out of latency"
    );
    // No format shows an infinity or a NaN.
    for format in traceflow::report::Format::ALL {
        let text = traceflow::report::render(&report, *format);
        for bad in ["inf ", "inf%", "NaN", "Infinity"] {
            assert!(!text.contains(bad), "{format}: {bad}");
        }
    }
}

#[test]
fn named_scores_come_from_evals_or_from_the_gate_report() {
    let s = Records::new();
    s.trace("a", "done", "2026-03-01T08:00:00Z", "m", "{}")
        .eval("a", 1, "revise", r#"{"groundedness": 0.2, "safety": 1.0}"#)
        .eval("a", 3, "pass", r#"{"groundedness": 0.8}"#);
    // No trace_evals rows: the SDK's evaluator step holds the verdict.
    s.trace("b", "done", "2026-03-01T09:00:00Z", "m", "{}")
        .step(
            "b",
            2,
            "evaluator",
            (0, 0.0, 0.0),
            r#"{"decision": "PASS", "scores": {"groundedness": 0.5, "safety": null}}"#,
        );
    let report = s
        .analyze(options(
            GroupBy::Day,
            &[
                Metric::Score("groundedness".to_owned()),
                Metric::Score("safety".to_owned()),
                Metric::AvgScore,
            ],
        ))
        .unwrap();
    let value = |i: usize| report.reports[i].summaries.get(0).unwrap().value;
    assert_eq!(value(0), Some(0.5));
    // null is no value.
    assert_eq!(value(1), Some(1.0));
    // 0.2, 1.0, 0.8, 0.5.
    assert_eq!(value(2), Some(0.625));
}

#[test]
fn segments_hold_their_own_runs_and_holm_adjusts_across_every_report() {
    let s = Records::new();
    for day in 1..=20 {
        for (m, model) in ["steady", "sliding"].iter().enumerate() {
            for j in 0..20 {
                let id = format!("{day}-{m}-{j}");
                let at = format!("2026-03-{day:02}T{:02}:00:00Z", j);
                s.trace(&id, "done", &at, model, "{}");
                let passes = if m == 1 && day > 10 { 10 } else { 18 };
                let decision = if j < passes { "pass" } else { "revise" };
                s.eval(&id, 1, decision, "{}");
            }
        }
    }
    // A third model on three days only: a p-value, but never judged.
    for (day, first) in [(5, "pass"), (6, "revise"), (7, "pass")] {
        for (k, decision) in [first, "revise"].iter().enumerate() {
            let id = format!("rare-{day}-{k}");
            let at = format!("2026-03-{day:02}T23:0{k}:00Z");
            s.trace(&id, "done", &at, "rare\u{1F600}", "{}")
                .eval(&id, 1, decision, "{}");
        }
    }
    let mut opts = options(GroupBy::Day, &[Metric::PassRate, Metric::ReviseRate]);
    opts.segment_by = Some(SegmentBy::Model);
    let report = s.analyze(opts).unwrap();
    let labels: Vec<(String, Option<&str>)> = report
        .reports
        .iter()
        .map(|r| (r.metric.to_string(), r.segment.as_deref()))
        .collect();
    assert_eq!(
        labels,
        [
            ("pass-rate".to_owned(), None),
            ("pass-rate".to_owned(), Some("rare\u{1F600}")),
            ("pass-rate".to_owned(), Some("sliding")),
            ("pass-rate".to_owned(), Some("steady")),
            ("revise-rate".to_owned(), None),
            ("revise-rate".to_owned(), Some("rare\u{1F600}")),
            ("revise-rate".to_owned(), Some("sliding")),
            ("revise-rate".to_owned(), Some("steady")),
        ]
    );
    // The rare model's three runs: its own series, numbered from 0.
    assert_eq!(
        runs(&report.reports[1]),
        [
            key("2026-03-05", 2, 2, Some(0.5)),
            key("2026-03-06", 2, 2, Some(0.0)),
            key("2026-03-07", 2, 2, Some(0.5)),
        ]
    );
    let sliding = &report.reports[2];
    assert_eq!(sliding.summaries.len(), 20);
    assert_eq!(sliding.summaries.get(10).unwrap().value, Some(0.5));
    assert_eq!(
        sliding.statistics.verdict,
        traceflow::trend::Verdict::Regression
    );
    // The revise rate of the sliding model rises: a regression too, its
    // numbers mirrored onto the revise rate.
    let revise = &report.reports[6];
    assert_eq!(
        revise.statistics.verdict,
        traceflow::trend::Verdict::Regression
    );
    assert!(
        revise
            .statistics
            .evidence
            .cochran_armitage()
            .unwrap()
            .predicted_change
            > 0.3
    );
    assert_eq!(
        revise.statistics.evidence.change_point().unwrap().trace_id,
        "2026-03-11"
    );
    // Holm over the reports with a p-value, in order.
    let p: Vec<Option<f64>> = report
        .reports
        .iter()
        .map(|r| r.statistics.p_worse)
        .collect();
    let adjusted: Vec<Option<f64>> = report.reports.iter().map(|r| r.p_adjusted).collect();
    // The rare model has three runs: never judged, so not in the family.
    let judged: Vec<Option<f64>> = report
        .reports
        .iter()
        .map(|r| r.statistics.p_worse.filter(|_| r.statistics.runs >= 8))
        .collect();
    assert_eq!(adjusted, holm(&judged));
    assert_eq!(report.tests, 6);
    assert!(p[1].is_some() && adjusted[1].is_none());
    assert!(report.any_regression);
}

#[test]
fn under_repeated_evaluations_holm_works_on_alphas_scale() {
    let s = Records::new();
    for day in 1..=20 {
        for (m, model) in ["a", "b"].iter().enumerate() {
            for j in 0..30 {
                let id = format!("{day}-{m}-{j}");
                let at = format!("2026-03-{day:02}T{:02}:{:02}:00Z", j % 24, j);
                s.trace(&id, "done", &at, model, "{}");
                let passes = if m == 1 && day > 10 { 18 } else { 26 };
                s.eval(&id, 1, if j < passes { "pass" } else { "revise" }, "{}");
            }
        }
    }
    let mut opts = options(GroupBy::Day, &[Metric::PassRate]);
    opts.segment_by = Some(SegmentBy::Model);
    opts.verdict.repeated.evaluations = 50;
    let report = s.analyze(opts).unwrap();
    for r in &report.reports {
        let st = &r.statistics;
        assert!(st.level < st.alpha, "{}", st.level);
        let (Some(p), Some(q)) = (st.p_worse, r.p_adjusted) else {
            continue;
        };
        // Holm never lowers a p; on α's scale it is at least p · α / level.
        assert!(q >= (p * st.alpha / st.level).min(1.0) - 1e-12, "{p} {q}");
        assert!(q <= 1.0);
        assert_eq!(
            st.verdict == traceflow::trend::Verdict::Regression,
            q < st.alpha && st.verdict == traceflow::trend::Verdict::Regression
        );
    }
    assert_eq!(
        report.reports[2].statistics.verdict,
        traceflow::trend::Verdict::Regression
    );
}

#[test]
fn holm_demotes_a_regression_that_one_test_alone_would_call() {
    // Two segments; the total's decline has α/3 < p < α (checked below): below α
    // alone, not after the correction for the segments' tests.
    let s = Records::new();
    for day in 1..=24 {
        for (m, model) in ["a", "b"].iter().enumerate() {
            for j in 0..25 {
                let id = format!("{day}-{m}-{j}");
                let at = format!("2026-03-{day:02}T{:02}:{:02}:00Z", j % 24, j);
                s.trace(&id, "done", &at, model, "{}");
                // 22 of 25 pass, then 20 (model a) and 21 (model b).
                let passes = if day > 12 { [20, 21][m] } else { 22 };
                s.eval(&id, 1, if j < passes { "pass" } else { "revise" }, "{}");
            }
        }
    }
    let mut opts = options(GroupBy::Day, &[Metric::PassRate]);
    let alone = s.analyze(opts.clone()).unwrap();
    opts.segment_by = Some(SegmentBy::Model);
    let segmented = s.analyze(opts).unwrap();
    let p = alone.reports[0].statistics.p_worse.unwrap();
    let total = &segmented.reports[0];
    assert_eq!(total.statistics.p_worse, Some(p));
    let adjusted = total.p_adjusted.unwrap();
    if p < 0.01 && adjusted >= 0.01 {
        assert_eq!(
            alone.reports[0].statistics.verdict,
            traceflow::trend::Verdict::Regression
        );
        assert_ne!(
            total.statistics.verdict,
            traceflow::trend::Verdict::Regression
        );
        assert!(total.statistics.notes.iter().any(|n| n.contains("Holm")));
    } else {
        panic!("the fixture should give 0.01/3 < p < 0.01, got p = {p}, adjusted {adjusted}");
    }
}

#[test]
fn a_key_with_too_many_values_is_no_segmentation() {
    let s = Records::new();
    for i in 0..=traceflow::trend::analyzer::MAX_SEGMENTS {
        s.trace(
            &i.to_string(),
            "done",
            "2026-03-01T08:00:00Z",
            &format!("m{i}"),
            "{}",
        );
    }
    let mut opts = options(GroupBy::Trace, &[Metric::PassRate]);
    opts.segment_by = Some(SegmentBy::Model);
    let err = s.analyze(opts).unwrap_err();
    assert!(
        matches!(err, TrendError::TooManySegments { found: 101, .. }),
        "{err}"
    );
}

#[test]
fn over_traces_the_suite_judges_the_pass_rate_as_the_trace_analyzer_does() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
    for name in ["drift.db", "step.db", "sdk_no_evals.db", "quirks.db"] {
        let store = SqliteStore::open_read_only(format!("{fixtures}/{name}")).unwrap();
        for window in [Window::Last(20), Window::Last(500), Window::All] {
            let trace = TraceTrendAnalyzer::with_options(&store, VerdictOptions::default())
                .analyze(window)
                .unwrap();
            let suite = SuiteAnalyzer::new(
                &store,
                SuiteOptions {
                    window: WindowOptions {
                        runs: window,
                        ..WindowOptions::default()
                    },
                    ..SuiteOptions::default()
                },
            )
            .analyze()
            .unwrap();
            let report = &suite.reports[0];
            assert_eq!(report.statistics, trace.statistics, "{name} {window}");
            assert_eq!(report.summaries.len(), trace.summaries.len());
            for (run, summary) in report.summaries.iter().zip(&trace.summaries) {
                assert_eq!(run.run_key, summary.trace_id);
                assert_eq!(run.value, Some(summary.pass_rate));
            }
            assert_eq!(suite.left_out.running, trace.left_out_running, "{name}");
        }
    }
}

#[test]
fn one_pass_over_steps_gives_the_same_decisions_as_the_evaluator_scan() {
    // The SDK's shape: decisions only in evaluator steps. With a usage
    // metric, trace_steps is read once for both.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
    let store = SqliteStore::open_read_only(format!("{fixtures}/sdk_no_evals.db")).unwrap();
    let analyze = |metrics: &[Metric]| {
        SuiteAnalyzer::new(&store, options(GroupBy::Trace, metrics))
            .analyze()
            .unwrap()
    };
    let alone = analyze(&[
        Metric::PassRate,
        Metric::Score("mode_compliance".to_owned()),
    ]);
    let with_usage = analyze(&[
        Metric::PassRate,
        Metric::Score("mode_compliance".to_owned()),
        Metric::Cost,
    ]);
    for i in 0..2 {
        assert_eq!(alone.reports[i].summaries, with_usage.reports[i].summaries);
    }
    assert_eq!(
        alone.left_out.skipped_rows,
        with_usage.left_out.skipped_rows
    );
    assert!(alone.reports[1].value.is_some());
    assert!(with_usage.reports[2].value.unwrap() > 0.0);
}

#[test]
fn a_config_key_or_score_no_trace_has_is_an_error_naming_what_there_is() {
    let s = Records::new();
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        let id = format!("t{i}");
        s.trace(
            &id,
            "done",
            &format!("2026-03-{day}T08:00:00Z"),
            "m",
            r#"{"git_sha": "abc", "strictness": "strict"}"#,
        )
        .eval(&id, 1, "pass", r#"{"groundedness": 0.9}"#);
    }
    s.step(
        "t0",
        1,
        "evaluator",
        (0, 0.0, 0.0),
        r#"{"decision": "pass", "scores": {"citations": 1}}"#,
    );

    let typo = s.analyze(options(
        GroupBy::Config("git_shaa".to_owned()),
        &[Metric::PassRate],
    ));
    match typo {
        Err(TrendError::Window(WindowError::UnknownConfigKey { key, known })) => {
            assert_eq!(key, "git_shaa");
            // A record's config has every field of a RunConfig (the keys as
            // a file holds them: tests/store_text.rs), in order.
            assert!(known.is_sorted(), "{known:?}");
            for k in ["git_sha", "strictness", "temperature"] {
                assert!(known.iter().any(|name| name == k), "{k}: {known:?}");
            }
        }
        other => panic!("{other:?}"),
    }
    let by_segment = SuiteOptions {
        segment_by: Some(SegmentBy::Config("nope".to_owned())),
        ..options(GroupBy::Day, &[Metric::PassRate])
    };
    assert!(matches!(
        s.analyze(by_segment),
        Err(TrendError::Window(WindowError::UnknownConfigKey { .. }))
    ));
    let score = s.analyze(options(
        GroupBy::Day,
        &[Metric::Score("grounded".to_owned())],
    ));
    match score {
        Err(err @ TrendError::Window(WindowError::UnknownScore { .. })) => {
            let text = err.to_string();
            assert!(text.contains("\"citations\", \"groundedness\""), "{text}");
        }
        other => panic!("{other:?}"),
    }
    // A score the store has, though not in this window, is no error.
    let window = SuiteOptions {
        window: WindowOptions {
            since: Some("2026-03-02T00:00:00Z".parse().unwrap()),
            ..options(GroupBy::Day, &[]).window
        },
        ..options(GroupBy::Day, &[Metric::Score("citations".to_owned())])
    };
    assert!(s.analyze(window).is_ok());
}

#[test]
fn traces_without_the_segment_key_are_the_segment_no_key() {
    let s = Records::new();
    for (i, day) in ["01", "02", "03"].iter().enumerate() {
        let config = if i == 0 {
            "{}"
        } else {
            r#"{"suite": "nightly"}"#
        };
        s.trace(
            &format!("t{i}"),
            "done",
            &format!("2026-03-{day}T08:00:00Z"),
            "m",
            config,
        );
    }
    let report = s
        .analyze(SuiteOptions {
            segment_by: Some(SegmentBy::Config("suite".to_owned())),
            ..options(GroupBy::Day, &[Metric::PassRate])
        })
        .unwrap();
    let segments: Vec<Option<&str>> = report
        .reports
        .iter()
        .map(|r| r.segment.as_deref())
        .collect();
    assert_eq!(segments, [None, Some("(no suite)"), Some("nightly")]);
}

#[test]
fn a_mean_says_how_many_runs_had_no_steps() {
    let s = Records::new();
    for i in 0..12 {
        let id = format!("t{i:02}");
        let failed = i % 4 == 3;
        s.trace(
            &id,
            if failed { "failed" } else { "done" },
            &format!("2026-03-{:02}T08:00:00Z", i + 1),
            "m",
            "{}",
        );
        // As the SDK: a failed run has no steps.
        if !failed {
            s.step(&id, 1, "executor", (100, 10.0, 0.001), "{}");
        }
    }
    let report = s.analyze(options(GroupBy::Trace, &[Metric::Cost])).unwrap();
    let stats = &report.reports[0].statistics;
    assert!(
        stats
            .summary
            .ends_with("3 of 12 runs have no steps recorded and are left out."),
        "{}",
        stats.summary
    );
    assert!(stats.notes.iter().any(|n| n.starts_with("3 of 12 runs")));
}

#[test]
fn stale_running_traces_count_as_failed_runs_in_a_suite() {
    let s = Records::new();
    s.trace("crashed", "running", "2026-03-01T08:00:00Z", "m", "{}");
    s.trace("ok", "done", "2026-03-02T08:00:00Z", "m", "{}")
        .eval("ok", 1, "pass", "{}");
    s.trace("live", "running", "2026-03-03T08:00:00Z", "m", "{}");
    let cutoff: jiff::Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    let report = s
        .analyze(SuiteOptions {
            window: WindowOptions {
                stale_before: Some(cutoff),
                ..options(GroupBy::Day, &[]).window
            },
            ..options(GroupBy::Day, &[Metric::PassRate])
        })
        .unwrap();
    assert_eq!(report.left_out.stale.map(|s| s.failed), Some(1));
    assert_eq!(report.left_out.running, 1);
    assert_eq!(
        runs(&report.reports[0]),
        [
            key("2026-03-01", 1, 1, Some(0.0)),
            key("2026-03-02", 1, 1, Some(1.0))
        ]
    );
}

impl Records {
    /// A done trace asking `input`, with one decision.
    fn asked(&self, id: &str, at: &str, input: &str, pass: bool) -> &Self {
        self.asked_with(id, at, input, RunConfig::default(), pass)
    }

    fn asked_with(&self, id: &str, at: &str, input: &str, config: RunConfig, pass: bool) -> &Self {
        let trace = TraceRecord {
            trace_id: id.to_owned(),
            status: "done".parse().unwrap(),
            mode: Mode::GroundedQa,
            user_input: input.to_owned(),
            config,
            model: "m".to_owned(),
            provider: "openai".to_owned(),
            final_answer: None,
            error: None,
            created_at: traceflow::timestamp::parse(at).unwrap(),
            finished_at: None,
        };
        self.0.borrow_mut().create_trace(&trace).unwrap();
        self.eval(id, 1, if pass { "pass" } else { "revise" }, "")
    }
}

/// 40 days of 20 traces asking an easy question (19 in 20 pass) and a hard
/// one (1 in 2 pass), the hard one's share of a day going from `from` to
/// `to` twentieths; each question's own pass rate falls by `fall` (in
/// twentieths of the easy one's passes, halves of the hard one's) over
/// the 40 days.
fn mixed(from: u32, to: u32, fall: u32) -> Records {
    let s = Records::new();
    let (mut easy_seen, mut hard_seen) = (0u32, 0u32);
    for day in 0..40u32 {
        let hard =
            (i64::from(from) + (i64::from(to) - i64::from(from)) * i64::from(day) / 39) as u32;
        let late = day >= 20;
        for j in 0..20u32 {
            let id = format!("d{day:02}-{j:02}");
            let start = traceflow::timestamp::parse("2026-03-01T00:00:00Z").unwrap();
            let at = start + jiff::SignedDuration::from_mins(i64::from(day * 24 * 60 + j * 10));
            let at = at.to_string();
            if j < hard {
                hard_seen += 1;
                // Passes every other time; late, `fall` in 20 more fail.
                let pass = hard_seen % 2 == 0 && !(late && hard_seen % 20 < 2 * fall);
                s.asked(&id, &at, "a hard question", pass);
            } else {
                easy_seen += 1;
                let pass = easy_seen % 20 != 0 && !(late && easy_seen % 20 <= fall);
                s.asked(&id, &at, "an easy question", pass);
            }
        }
    }
    s
}

fn by_day(case_by: Option<traceflow::trend::CaseBy>) -> SuiteOptions {
    SuiteOptions {
        case_by,
        ..options(GroupBy::Day, &[Metric::PassRate])
    }
}

#[test]
fn a_shift_toward_harder_cases_is_a_mix_change_within_the_same_cases_not_a_regression() {
    use traceflow::trend::{CaseBy, Verdict};
    // The hard question's share grows from 2 to 18 of 20 a day; neither
    // question changes.
    let s = mixed(2, 18, 0);
    let across = s.analyze(by_day(None)).unwrap();
    assert_eq!(across.reports[0].statistics.verdict, Verdict::Regression);
    let report = s.analyze(by_day(Some(CaseBy::Input))).unwrap();
    let stats = &report.reports[0].statistics;
    let within = stats.within_cases.unwrap();
    assert!(within.used && within.cases == 2, "{within:?}");
    assert!(within.change.abs() < 0.02, "{within:?}");
    // The mix is the whole fall.
    let mix = within.mix.unwrap();
    assert!(mix < -0.25, "{within:?}");
    assert_eq!(stats.verdict, Verdict::Stable, "{}", stats.summary);
    assert_eq!(stats.p_worse, Some(within.p_decline));
    assert!(
        stats.summary.contains("the mix of cases"),
        "{}",
        stats.summary
    );
    assert!(!report.any_regression);
}

#[test]
fn a_fall_within_the_cases_that_easier_traffic_hides_is_a_regression() {
    use traceflow::trend::{CaseBy, Verdict};
    // Traffic moves to the easy question while both fall in the second
    // half: 4 more in 20 of the easy one's, 8 more in 20 of the hard
    // one's decisions fail.
    let s = mixed(18, 2, 4);
    let report = s.analyze(by_day(Some(CaseBy::Input))).unwrap();
    let stats = &report.reports[0].statistics;
    let within = stats.within_cases.unwrap();
    assert!(within.used, "{within:?}");
    assert!(within.change < -0.1, "{within:?}");
    assert_eq!(stats.verdict, Verdict::Regression, "{}", stats.summary);
    assert!(
        stats
            .summary
            .starts_with("Within the same cases the pass rate fell"),
        "{}",
        stats.summary
    );
    // The change the report states is the one within cases.
    assert_eq!(stats.change.unwrap().change, within.change);
}

#[test]
fn cases_that_never_repeat_leave_the_verdict_to_the_trend_across_decisions() {
    use traceflow::trend::CaseBy;
    let s = Records::new();
    for day in 0..20u32 {
        for j in 0..10u32 {
            let id = format!("d{day:02}-{j}");
            let at = format!("2026-03-{:02}T{:02}:00:00Z", day + 1, j);
            s.asked(&id, &at, &id, j % 4 != 0);
        }
    }
    let across = s.analyze(by_day(None)).unwrap();
    let report = s.analyze(by_day(Some(CaseBy::Input))).unwrap();
    let stats = &report.reports[0].statistics;
    // Each input once: no case informs a within-case test.
    assert_eq!(stats.within_cases, None);
    assert_eq!(stats.verdict, across.reports[0].statistics.verdict);
    assert_eq!(stats.p_worse, across.reports[0].statistics.p_worse);
}

#[test]
fn a_suite_whose_cases_break_is_a_regression_within_the_same_cases_too() {
    use rand::{RngExt, SeedableRng};
    use traceflow::trend::{CaseBy, Verdict};
    // An eval suite: 40 cases asked once in each of 24 runs (config
    // `run`), passing 9 times in 10; from run 16 on, a quarter of them
    // pass once in 10. The mix of cases cannot change.
    let s = Records::new();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(24);
    let start = traceflow::timestamp::parse("2026-03-01T00:00:00Z").unwrap();
    for run in 0..24i64 {
        let config: RunConfig =
            serde_json::from_str(&format!(r#"{{"run": "r{run:02}"}}"#)).unwrap();
        for case in 0..40i64 {
            let at = (start + jiff::SignedDuration::from_mins(run * 60 + case)).to_string();
            let p = if case < 10 && run >= 16 { 0.1 } else { 0.9 };
            let pass = rng.random_bool(p);
            let id = format!("r{run:02}-c{case:02}");
            s.asked_with(&id, &at, &format!("case {case}"), config.clone(), pass);
        }
    }
    let by_run = |case_by| SuiteOptions {
        case_by,
        ..options(GroupBy::Config("run".to_owned()), &[Metric::PassRate])
    };
    let across = s.analyze(by_run(None)).unwrap();
    let plain = &across.reports[0].statistics;
    assert_eq!(plain.verdict, Verdict::Regression, "{}", plain.summary);
    let report = s.analyze(by_run(Some(CaseBy::Input))).unwrap();
    let stats = &report.reports[0].statistics;
    let within = stats.within_cases.unwrap();
    assert!(within.used, "{within:?}");
    assert_eq!(stats.verdict, Verdict::Regression, "{}", stats.summary);
    assert!(report.any_regression);
    // At least as sure as the test across all decisions, and no mix blamed.
    assert!(
        within.p_decline <= plain.p_worse.unwrap(),
        "{within:?} {:?}",
        plain.p_worse
    );
    let across_ci = plain
        .evidence
        .cochran_armitage()
        .unwrap()
        .predicted_change_ci;
    assert!(
        within.change_ci[1] - within.change_ci[0] <= across_ci[1] - across_ci[0],
        "{within:?} {across_ci:?}"
    );
    assert!(!stats.summary.contains("mix"), "{}", stats.summary);
}
