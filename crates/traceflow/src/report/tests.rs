//! Every exporter on one shared report (hyperfine's `export/tests.rs`).

use crate::store::Locator;
use crate::window::WindowOptions;
use jiff::Timestamp;

use super::{render, Format};
use crate::model::RunStatus;
use crate::store::RowIssue;
use crate::trend::{
    assess, DecisionSource, Direction, Method, TraceRunSummary, TraceTrendReport, VerdictOptions,
    Window,
};

/// Three runs: decisions from each source, a missing score, a skipped row,
/// and a run left out as still running.
fn shared_report() -> TraceTrendReport {
    let run = |run_index: usize, id: &str, at: &str, pass_rate: f64, source, decisions: usize| {
        TraceRunSummary {
            run_index,
            trace_id: id.to_owned(),
            created_at: at.parse::<Timestamp>().unwrap(),
            status: if pass_rate > 0.0 {
                RunStatus::Done
            } else {
                RunStatus::Failed
            },
            pass_rate,
            passes: (pass_rate * decisions.max(1) as f64) as usize,
            revise_rate: if decisions > 0 { 1.0 - pass_rate } else { 0.0 },
            fallback_rate: 0.0,
            avg_score: (decisions > 0).then_some(0.75),
            decisions,
            source,
        }
    };
    TraceTrendReport {
        window: 3,
        requested_window: Window::Last(20),
        pass_rate_slope: -0.5,
        pass_rate_direction: Direction::Worsening,
        any_regression: true,
        method: Method::Ols,
        threshold: 0.01,
        statistics: assess(
            &[2, 1, 0],
            &[2, 2, 1],
            &VerdictOptions {
                method: Method::Ols,
                ..VerdictOptions::default()
            },
        ),
        left_out_running: 1,
        since: None,
        until: None,
        stale: None,
        skipped_rows: vec![RowIssue {
            at: Locator::Row {
                table: "trace_evals",
                rowid: 7,
            },
            trace_id: Some("b2".to_owned()),
            reason: "unknown decision \"maybe\"".to_owned(),
        }],
        summaries: vec![
            run(
                0,
                "a1b2c3d4e5f6",
                "2026-01-01T00:00:00Z",
                1.0,
                DecisionSource::TraceEvals,
                2,
            ),
            run(
                1,
                "b2",
                "2026-01-01T00:07:00.5+00:00",
                0.5,
                DecisionSource::EvaluatorSteps,
                2,
            ),
            run(
                2,
                "c3c3c3c3c3c3c3",
                "2026-01-01T00:14:00Z",
                0.0,
                DecisionSource::Status,
                0,
            ),
        ],
    }
}

#[test]
fn table() {
    insta::assert_snapshot!(render(&shared_report(), Format::Table));
}

#[test]
fn json() {
    let text = render(&shared_report(), Format::Json);
    insta::assert_snapshot!(text);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["summaries"][2]["avg_score"], serde_json::Value::Null);
}

/// Twelve runs of 20 decisions whose pass rate steps from 90% to 60% at
/// run 6, judged by `auto`: every statistic defined.
fn auto_report() -> TraceTrendReport {
    let mut report = shared_report();
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let passes: Vec<u64> = (0..12).map(|i| if i < 6 { 18 } else { 12 }).collect();
    report.summaries = passes
        .iter()
        .enumerate()
        .map(|(i, &x)| TraceRunSummary {
            run_index: i,
            trace_id: format!("run-{i:02}"),
            created_at: start + jiff::SignedDuration::from_hours(i as i64),
            status: RunStatus::Done,
            pass_rate: x as f64 / 20.0,
            passes: x as usize,
            revise_rate: (20 - x) as f64 / 20.0,
            fallback_rate: 0.0,
            avg_score: Some(0.8),
            decisions: 20,
            source: DecisionSource::TraceEvals,
        })
        .collect();
    report.window = 12;
    report.method = Method::Auto;
    report.statistics = assess(&passes, &[20; 12], &VerdictOptions::default());
    report.pass_rate_slope = report.statistics.evidence.ols().unwrap().slope;
    report.statistics.label_runs(|i| {
        let run = &report.summaries[i];
        (run.trace_id.clone(), Some(run.created_at))
    });
    report
}

#[test]
fn auto_table() {
    insta::assert_snapshot!(render(&auto_report(), Format::Table));
}

#[test]
fn auto_json() {
    let text = render(&auto_report(), Format::Json);
    insta::assert_snapshot!(text);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let stats = &doc["statistics"];
    assert_eq!(stats["verdict"], "regression");
    assert_eq!(stats["change_point"]["run_index"], 6);
    assert_eq!(stats["change_point"]["trace_id"], "run-06");
    for test in ["cochran_armitage", "mann_kendall", "ols"] {
        assert!(stats[test]["p_decline"].as_f64().unwrap() < 0.01, "{test}");
    }
}

#[test]
fn formats_parse_from_their_names() {
    for format in Format::ALL {
        assert_eq!(format.as_str().parse::<Format>(), Ok(*format));
    }
    assert!("xml".parse::<Format>().is_err());
}

#[test]
fn a_format_left_out_of_the_build_names_its_feature() {
    let unknown = "xml".parse::<Format>().unwrap_err().to_string();
    assert!(
        unknown.starts_with("unknown format \"xml\" (expected table, json"),
        "{unknown}"
    );
    #[cfg(all(feature = "html", feature = "junit"))]
    assert_eq!(
        unknown,
        "unknown format \"xml\" (expected table, json, markdown, junit or html)"
    );
    #[cfg(not(feature = "html"))]
    {
        assert!(!unknown.contains("html"), "{unknown}");
        assert_eq!(
            "HTML".parse::<Format>().unwrap_err().to_string(),
            "format html is not in this build (traceflow's `html` feature)"
        );
    }
    #[cfg(not(feature = "junit"))]
    assert_eq!(
        "junit".parse::<Format>().unwrap_err().to_string(),
        "format junit is not in this build (traceflow's `junit` feature)"
    );
}

/// More runs than one rendering chunk, so rows cross chunk boundaries.
fn long_report() -> TraceTrendReport {
    let mut report = shared_report();
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    report.summaries = (0..3 * super::CHUNK_ITEMS + 5)
        .map(|i| TraceRunSummary {
            run_index: i,
            trace_id: format!("r{i:05}"),
            created_at: start + jiff::SignedDuration::from_secs(i as i64),
            status: RunStatus::Done,
            // Alternates, so every row's arrow depends on the row before.
            pass_rate: if i % 2 == 0 { 1.0 } else { 0.5 },
            passes: if i % 2 == 0 { 2 } else { 1 },
            revise_rate: 0.0,
            fallback_rate: 0.0,
            avg_score: None,
            decisions: 2,
            source: DecisionSource::TraceEvals,
        })
        .collect();
    report.window = report.summaries.len();
    report
}

#[test]
fn long_reports_render_every_run_in_order() {
    let report = long_report();
    let doc: serde_json::Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
    let runs = doc["summaries"].as_array().unwrap();
    assert_eq!(runs.len(), report.summaries.len());
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run["run_index"], i, "{run}");
    }

    let table = render(&report, Format::Table);
    let rows: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Run"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), report.summaries.len());
    for (i, row) in rows.iter().enumerate() {
        let expected = match i {
            0 => "-",
            _ if i % 2 == 0 => "↑",
            _ => "↓",
        };
        assert!(row.starts_with(&format!(" {i:>5}  r{i:05}  ")), "{row}");
        assert!(row.ends_with(expected), "row {i}: {row}");
    }
}

/// The shared suite: 12 days of three models, one of them regressing from
/// day 6 on, with store text that must be escaped (`<script>`, quotes,
/// `&`, a byte that is not UTF-8), a still-running trace and an unreadable
/// row; pooled by day, segmented by model, three metrics.
pub(crate) fn suite_report() -> crate::trend::SuiteReport {
    use crate::store::SqliteStore;
    use crate::trend::{GroupBy, Metric, SegmentBy, SuiteAnalyzer, SuiteOptions};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traceflow.db");
    drop(SqliteStore::open_writable(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let hostile = r#"<script>alert("x")</script> & 'm'"#;
    let trace = |id: &str, model: &[u8], at: &str, status: &str| {
        conn.execute(
            "INSERT INTO traces (trace_id, status, mode, user_input, config_json, model, provider, created_at) \
             VALUES (?1, ?2, 'grounded_qa', '<img src=x onerror=alert(1)> \"q\"', \
             '{\"suite\": \"nightly <&>\"}', CAST(?3 AS TEXT), 'openai', ?4)",
            rusqlite::params![id, status, model, at],
        )
        .unwrap();
    };
    let eval = |id: &str, seq: i64, decision: &str| {
        let score = if decision == "pass" { 0.9 } else { 0.4 };
        conn.execute(
            "INSERT INTO trace_evals (trace_id, step_seq, decision, scores_json) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, seq, decision, format!("{{\"groundedness\": {score}}}")],
        )
        .unwrap();
    };
    let step = |id: &str, cost: f64| {
        conn.execute(
            "INSERT INTO trace_steps (trace_id, step_seq, node_name, tokens, latency_ms, cost_usd) \
             VALUES (?1, 0, 'executor', 500, 800, ?2)",
            rusqlite::params![id, cost],
        )
        .unwrap();
    };
    let start: Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
    for day in 0..12i64 {
        for (m, model) in ["gpt-4o", hostile].iter().enumerate() {
            let declined = m == 1 && day >= 6;
            for j in 0..30i64 {
                let id = format!("d{day:02}-m{m}-t{j}");
                let at = start + jiff::SignedDuration::from_mins(day * 24 * 60 + j * 7 + m as i64);
                trace(&id, model.as_bytes(), &at.to_string(), "done");
                let (pass_only, revised) = if declined { (12, 24) } else { (21, 27) };
                let decisions: &[&str] = if j < pass_only {
                    &["pass"]
                } else if j < revised {
                    &["revise", "pass"]
                } else {
                    &["revise", "fallback"]
                };
                for (k, decision) in decisions.iter().enumerate() {
                    eval(&id, 3 + 2 * k as i64, decision);
                }
                let cost = if m == 1 {
                    0.01 + 0.001 * day as f64
                } else {
                    0.01
                };
                step(&id, cost);
            }
        }
        let id = format!("d{day:02}-m2");
        let at = start + jiff::SignedDuration::from_mins(day * 24 * 60 + 90);
        trace(&id, b"mo\xffdel", &at.to_string(), "done");
        eval(&id, 3, "pass");
    }
    trace(
        "still-running",
        b"gpt-4o",
        "2026-03-13T23:00:00Z",
        "running",
    );
    conn.execute(
        "INSERT INTO trace_evals (trace_id, step_seq, decision) VALUES ('d03-m0-t1', 9, 'maybe')",
        [],
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open_read_only(&path).unwrap();
    SuiteAnalyzer::new(
        &store,
        SuiteOptions {
            window: WindowOptions {
                runs: Window::All,
                group_by: GroupBy::Day,
                ..WindowOptions::default()
            },
            metrics: vec![Metric::PassRate, Metric::ReviseRate, Metric::Cost],
            segment_by: Some(SegmentBy::Model),
            ..SuiteOptions::default()
        },
    )
    .analyze()
    .unwrap()
}

#[test]
fn suite_table() {
    insta::assert_snapshot!(render(&suite_report(), Format::Table));
}

#[test]
fn suite_json() {
    let text = render(&suite_report(), Format::Json);
    insta::assert_snapshot!(text);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let reports = doc["reports"].as_array().unwrap();
    // 3 metrics × (total + 3 models).
    assert_eq!(reports.len(), 12);
    assert_eq!(reports[0]["segment"], serde_json::Value::Null);
    assert_eq!(reports[0]["summaries"].as_array().unwrap().len(), 12);
    assert_eq!(reports[0]["summaries"][0]["run_key"], "2026-03-02");
}

#[test]
fn a_trace_report_is_the_suite_of_one_with_the_suites_holm_rule() {
    use crate::trend::SuiteReport;
    // ols has no p-value in its rule: nothing in Holm's family.
    let ols = SuiteReport::from_trace_report(&shared_report());
    assert_eq!((ols.tests, ols.reports[0].p_adjusted), (0, None));
    // auto: a family of one, whose adjusted p is its own.
    let report = auto_report();
    let auto = SuiteReport::from_trace_report(&report);
    assert_eq!(auto.tests, 1);
    assert_eq!(auto.reports[0].p_adjusted, report.statistics.p_worse);
    // Markdown, and JUnit and HTML where the build has them.
    let suite_formats = Format::ALL
        .iter()
        .copied()
        .filter(|f| !matches!(f, Format::Table | Format::Json));
    for format in suite_formats {
        let text = render(&report, format);
        assert!(text.contains("pass-rate"), "{format}: {text}");
    }
}

/// A case comparison over records in memory: 4 cases of 20 traces before
/// run 40 and 20 after, with input text that must be escaped (`<script>`,
/// `|`, a terminal escape, a line break) and a trace without decisions.
/// One case regressed, one newly failing, one flaky, one untested.
pub(crate) fn case_report() -> crate::cases::CaseReport {
    use crate::cases::{CaseAnalyzer, CaseOptions, SplitAt};
    use crate::model::EvalDecision;
    use crate::store::memory::testing::{eval, trace};
    use crate::store::{MemoryStore, WriteStore};

    let inputs = [
        "What is <script>alert(1)</script> | a \u{1b}[31mred\u{1b}[0m question?",
        "Summarize the incident\nreport in *two* lines",
        "Plan the rollback of `deploy` #42",
    ];
    let mut store = MemoryStore::new();
    let start: Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
    for k in 0..81i64 {
        let case = (k % 3) as usize;
        let after = k >= 40;
        let id = format!("t{k:02}");
        let at = start + jiff::SignedDuration::from_mins(7 * k);
        let mut record = trace(&id, RunStatus::Done, &at.to_string(), "m");
        record.user_input = if k == 80 {
            "A question asked once, at the end".to_owned()
        } else {
            inputs[case].to_owned()
        };
        store.create_trace(&record).unwrap();
        let decision = match case {
            0 if after => EvalDecision::Fallback,
            1 if k == 43 => EvalDecision::Revise,
            2 if k % 2 == 0 => EvalDecision::Revise,
            _ => EvalDecision::Pass,
        };
        if k != 80 {
            store.insert_eval(&eval(&id, 1, decision)).unwrap();
        }
    }
    CaseAnalyzer::new(
        &store,
        CaseOptions {
            window: WindowOptions {
                runs: Window::All,
                ..WindowOptions::default()
            },
            split_at: Some(SplitAt::Run(40)),
            ..CaseOptions::default()
        },
    )
    .analyze()
    .unwrap()
}

#[test]
fn cases_table() {
    let report = case_report();
    insta::assert_snapshot!(render(&report, Format::Table));
    // The escape reaches no terminal raw; the line break does not split a row.
    let all = render(
        super::Document::Cases {
            report: &report,
            listing: crate::report::CaseListing::All,
        },
        Format::Table,
    );
    assert!(!all.contains('\u{1b}'), "{all}");
    assert_eq!(
        all.lines().filter(|l| l.contains("grounded_qa: ")).count(),
        4,
        "{all}"
    );
}

#[test]
fn cases_json() {
    let text = render(&case_report(), Format::Json);
    insta::assert_snapshot!(text);
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    let verdicts: Vec<&str> = cases
        .iter()
        .map(|c| c["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["regressed", "newly_failing", "flaky", "untested"]
    );
    // The key in full, as stored (trimmed): scripts match on it.
    assert_eq!(
        cases[1]["case"],
        "Summarize the incident\nreport in *two* lines"
    );
    assert_eq!(cases[0]["before"]["rate"], 1.0);
    assert_eq!(cases[3]["p"], serde_json::Value::Null);
}

#[test]
fn cases_markdown_html_and_junit() {
    let report = case_report();
    let markdown = render(&report, Format::Markdown);
    insta::assert_snapshot!("cases_markdown", markdown);
    assert!(!markdown.contains("<script>") && !markdown.contains('\u{1b}'));
    assert!(markdown.contains("<details>"), "{markdown}");

    #[cfg(feature = "html")]
    {
        let html = render(&report, Format::Html);
        insta::assert_snapshot!("cases_html", html);
        assert!(!html.contains("<script>"));
        well_formed(&html);
    }

    #[cfg(feature = "junit")]
    {
        let junit = render(&report, Format::Junit);
        insta::assert_snapshot!("cases_junit", junit);
        let doc = roxmltree::Document::parse(&junit).unwrap();
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        // One test case per regressed case, failed; one per flaky case, skipped.
        assert_eq!(cases.len(), 2);
        assert!(cases[0].children().any(|n| n.has_tag_name("failure")));
        assert!(cases[1].children().any(|n| n.has_tag_name("skipped")));
    }
}

/// A comparison over records in memory: 48 traces on `main` then 48 on
/// `pr <&>`, asking four questions in turn (one with `<script>` and a
/// terminal escape in it); on the PR one question fails every time.
pub(crate) fn compare_report() -> crate::compare::CompareReport {
    use crate::compare::{CompareAnalyzer, CompareOptions, Selector};
    use crate::model::EvalDecision;
    use crate::store::memory::testing::{eval, trace};
    use crate::store::{MemoryStore, WriteStore};

    let inputs = [
        "What is <script>alert(1)</script> \u{1b}[31mred\u{1b}[0m?",
        "Summarize the incident",
        "Plan the rollback",
        "Review the migration",
    ];
    let mut store = MemoryStore::new();
    let start: Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
    for k in 0..96i64 {
        let id = format!("t{k:02}");
        let at = start + jiff::SignedDuration::from_mins(7 * k);
        let mut record = trace(&id, RunStatus::Done, &at.to_string(), "m");
        let branch = if k < 48 { "main" } else { "pr <&>" };
        record
            .config
            .extra
            .insert("branch".to_owned(), serde_json::json!(branch));
        record.user_input = inputs[(k % 4) as usize].to_owned();
        store.create_trace(&record).unwrap();
        let decision = if k >= 48 && k % 4 == 0 {
            EvalDecision::Fallback
        } else {
            EvalDecision::Pass
        };
        store.insert_eval(&eval(&id, 1, decision)).unwrap();
    }
    let selector =
        |text: &str| Selector::parse(text, |_| Err(crate::error::InvalidValue::new(""))).unwrap();
    CompareAnalyzer::new(
        &store,
        CompareOptions {
            window: WindowOptions {
                runs: Window::All,
                ..WindowOptions::default()
            },
            baseline: Some(selector("config.branch=main")),
            candidate: Some(selector("config.branch=pr <&>")),
            ..CompareOptions::default()
        },
    )
    .analyze()
    .unwrap()
}

#[test]
fn compare_in_every_format() {
    let report = compare_report();
    assert_eq!(report.verdict, crate::compare::CompareVerdict::Regression);
    let table = render(&report, Format::Table);
    insta::assert_snapshot!("compare_table", table);
    assert!(!table.contains('\u{1b}'));
    let json = render(&report, Format::Json);
    insta::assert_snapshot!("compare_json", json);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["verdict"], "regression");
    assert_eq!(doc["paired"], true);
    assert_eq!(doc["cases"].as_array().unwrap().len(), 4);
    let markdown = render(&report, Format::Markdown);
    insta::assert_snapshot!("compare_markdown", markdown);
    assert!(!markdown.contains("<script>") && !markdown.contains("pr <&>"));
    #[cfg(feature = "html")]
    {
        let html = render(&report, Format::Html);
        insta::assert_snapshot!("compare_html", html);
        assert!(!html.contains("<script>"));
        well_formed(&html);
    }
    #[cfg(feature = "junit")]
    {
        let junit = render(&report, Format::Junit);
        insta::assert_snapshot!("compare_junit", junit);
        let doc = roxmltree::Document::parse(&junit).unwrap();
        let failures = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count();
        // The pass rate, and the one case that broke.
        assert_eq!(failures, 2);
    }
}

/// Parses a page as XML (its doctype allowed): it must be well formed.
#[cfg(feature = "html")]
fn well_formed(html: &str) {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(html, options).unwrap();
}
