//! The JSON report against its published schema,
//! `schema/trend-report.schema.json`: every layout the `json` exporter
//! writes, for the committed fixture stores, must validate, and documents
//! that break the contract must not.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use traceflow::cases::{CaseAnalyzer, CaseOptions, SplitAt};
use traceflow::compare::{CompareAnalyzer, CompareOptions, Selector};
use traceflow::report::{render, Format};
use traceflow::store::SqliteStore;
use traceflow::trend::{
    GroupBy, Method, Metric, SegmentBy, SuiteAnalyzer, SuiteOptions, TraceTrendAnalyzer,
    VerdictOptions, Window,
};
use traceflow::window::WindowOptions;

/// The stores the trend can be computed for (see `tests/fixtures/README.md`).
const FIXTURES: &[&str] = &[
    "drift",
    "stable",
    "step",
    "sdk_no_evals",
    "quirks",
    "bad_rows",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema() -> Value {
    let path = root().join("schema/trend-report.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A validator of `schema`, checking `format` (the timestamps) too: draft
/// 2020-12 treats formats as annotations unless told otherwise.
fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap()
}

/// The errors of `doc` against the schema, as lines. A document fails the
/// root's `oneOf` with a single unhelpful error, so a failing document is
/// also checked against each layout alone, which says where it breaks.
fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let mut lines: Vec<String> = validator(schema)
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if !lines.is_empty() {
        for layout in [
            "suite_report",
            "trace_report",
            "cases_report",
            "compare_report",
        ] {
            let mut single = schema.clone();
            let object = single.as_object_mut().unwrap();
            object.remove("oneOf");
            object.insert("$ref".to_owned(), json!(format!("#/$defs/{layout}")));
            for e in validator(&single).iter_errors(doc) {
                lines.push(format!("  as {layout}: {e} at {}", e.instance_path()));
            }
        }
    }
    lines
}

fn assert_valid(schema: &Value, what: &str, text: &str) -> Value {
    let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    let errors = errors(schema, &doc);
    assert!(
        errors.is_empty(),
        "{what} does not match the schema:\n{}",
        errors.join("\n")
    );
    doc
}

fn store(fixture: &str) -> SqliteStore {
    SqliteStore::open_read_only(root().join(format!("tests/fixtures/{fixture}.db"))).unwrap()
}

/// Every JSON document the fixtures give: trace reports by `auto` and
/// `ols`, and suites of every metric segmented by model, pooled by day
/// (the fixtures span one day: one run), by hour and by trace (enough runs
/// for every statistic).
fn documents() -> Vec<(String, String)> {
    let mut docs = Vec::new();
    for fixture in FIXTURES {
        let store = store(fixture);
        for window in [Window::Last(20), Window::All] {
            let auto = TraceTrendAnalyzer::with_options(&store, VerdictOptions::default())
                .analyze(window)
                .unwrap();
            docs.push((
                format!("{fixture} trace auto window {window}"),
                render(&auto, Format::Json),
            ));
            let ols = TraceTrendAnalyzer::new(&store, 0.01)
                .analyze(window)
                .unwrap();
            docs.push((
                format!("{fixture} trace ols window {window}"),
                render(&ols, Format::Json),
            ));
        }
        for group_by in [GroupBy::Day, GroupBy::Hour, GroupBy::Trace] {
            for method in [Method::Auto, Method::Ols] {
                let suite = SuiteAnalyzer::new(
                    &store,
                    SuiteOptions {
                        window: WindowOptions {
                            runs: Window::All,
                            group_by: group_by.clone(),
                            ..WindowOptions::default()
                        },
                        verdict: VerdictOptions {
                            method,
                            ..VerdictOptions::default()
                        },
                        metrics: Metric::ALL.to_vec(),
                        segment_by: Some(SegmentBy::Model),
                        ..SuiteOptions::default()
                    },
                )
                .analyze()
                .unwrap();
                docs.push((
                    format!("{fixture} suite by {group_by} {}", method.as_str()),
                    render(&suite, Format::Json),
                ));
            }
        }
    }
    // The trend within cases, on the suite that asks its cases again.
    let within = SuiteAnalyzer::new(
        &store("cases"),
        SuiteOptions {
            window: WindowOptions {
                runs: Window::All,
                group_by: GroupBy::Hour,
                ..WindowOptions::default()
            },
            case_by: Some(traceflow::trend::CaseBy::Input),
            exclude_flaky: true,
            ..SuiteOptions::default()
        },
    )
    .analyze()
    .unwrap();
    assert!(within.reports[0].statistics.within_cases.is_some());
    docs.push((
        "cases within cases by hour".to_owned(),
        render(&within, Format::Json),
    ));
    // Comparisons: paired (the suite's cases on both sides), unpaired (the
    // fixtures' inputs are each asked once), by default.
    for (fixture, baseline, candidate) in [
        (
            "cases",
            Some("until=2026-01-01T14:35:00Z"),
            Some("since=2026-01-01T14:35:00Z"),
        ),
        ("drift", Some("until=2026-01-01T03:30:00Z"), None),
        ("step", None, None),
    ] {
        let selector = |text: Option<&str>| {
            text.map(|t| {
                Selector::parse(t, |t| {
                    traceflow::timestamp::parse(t)
                        .map_err(|e| traceflow::error::InvalidValue::new(e.to_string()))
                })
                .unwrap()
            })
        };
        let report = CompareAnalyzer::new(
            &store(fixture),
            CompareOptions {
                window: WindowOptions {
                    runs: Window::All,
                    ..WindowOptions::default()
                },
                baseline: selector(baseline),
                candidate: selector(candidate),
                ..CompareOptions::default()
            },
        )
        .analyze()
        .unwrap();
        docs.push((format!("{fixture} compare"), render(&report, Format::Json)));
    }
    // Case comparisons: the fixtures' inputs are each asked once (every
    // case untested), `cases` asks 8 again and again.
    for fixture in FIXTURES.iter().chain(&["cases"]) {
        let store = store(fixture);
        for split_at in [None, Some(SplitAt::Run(3))] {
            let report = CaseAnalyzer::new(
                &store,
                CaseOptions {
                    window: WindowOptions {
                        runs: Window::All,
                        ..WindowOptions::default()
                    },
                    split_at,
                    ..CaseOptions::default()
                },
            )
            .analyze()
            .unwrap();
            docs.push((
                format!("{fixture} cases split {split_at:?}"),
                render(&report, Format::Json),
            ));
        }
    }
    docs
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("the schema is not a valid JSON Schema: {e}");
    }
}

#[test]
fn every_report_of_the_fixtures_matches_the_schema() {
    let schema = schema();
    let mut layouts = [0usize; 4];
    let mut seen_change_point = false;
    let mut seen_insufficient = false;
    let mut seen_tested_case = false;
    for (what, text) in documents() {
        let doc = assert_valid(&schema, &what, &text);
        if doc.get("difference").is_some() {
            layouts[3] += 1;
            continue;
        }
        let statistics: Vec<&Value> = match (doc["reports"].as_array(), doc["cases"].as_array()) {
            (Some(reports), _) => {
                layouts[0] += 1;
                reports.iter().map(|r| &r["statistics"]).collect()
            }
            (None, Some(cases)) => {
                layouts[2] += 1;
                seen_tested_case |= cases.iter().any(|c| !c["q"].is_null());
                vec![&doc["total"]]
            }
            (None, None) => {
                layouts[1] += 1;
                vec![&doc["statistics"]]
            }
        };
        for s in statistics {
            seen_change_point |= !s["change_point"].is_null();
            seen_insufficient |= !s["insufficient"].is_null();
        }
    }
    assert_eq!(
        layouts,
        [
            6 * FIXTURES.len() + 1,
            4 * FIXTURES.len(),
            2 * (FIXTURES.len() + 1),
            3
        ]
    );
    // The optional objects' schemas were exercised, not only their nulls.
    assert!(seen_change_point && seen_insufficient && seen_tested_case);
}

/// The JSON exporter's snapshots (hand-built reports: hostile segment
/// names, a skipped row, an `ols` fit with zero standard error) match too.
#[test]
fn the_json_snapshots_match_the_schema() {
    let schema = schema();
    let dir = root().join("crates/traceflow/src/report/snapshots");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with("json.snap") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // insta's header is a front matter block between `---` lines.
        let body = text.splitn(3, "---\n").nth(2).unwrap();
        assert_valid(&schema, &name, body);
        checked += 1;
    }
    assert!(checked >= 2, "no JSON snapshots in {}", dir.display());
}

/// The schema rejects what breaks the contract, so the test above can fail.
#[test]
fn documents_that_break_the_contract_do_not_match() {
    let schema = schema();
    let store = store("step");
    let trace: Value = serde_json::from_str(&render(
        &TraceTrendAnalyzer::with_options(&store, VerdictOptions::default())
            .analyze(Window::All)
            .unwrap(),
        Format::Json,
    ))
    .unwrap();
    let suite: Value = serde_json::from_str(&render(
        &SuiteAnalyzer::new(
            &store,
            SuiteOptions {
                window: WindowOptions {
                    runs: Window::All,
                    group_by: GroupBy::Trace,
                    ..WindowOptions::default()
                },
                metrics: vec![Metric::PassRate, Metric::Cost],
                segment_by: Some(SegmentBy::Model),
                ..SuiteOptions::default()
            },
        )
        .analyze()
        .unwrap(),
        Format::Json,
    ))
    .unwrap();
    let case_doc: Value = serde_json::from_str(&render(
        &CaseAnalyzer::new(&self::store("cases"), CaseOptions::default())
            .analyze()
            .unwrap(),
        Format::Json,
    ))
    .unwrap();
    assert!(errors(&schema, &trace).is_empty());
    assert!(errors(&schema, &suite).is_empty());
    assert!(errors(&schema, &case_doc).is_empty());

    let broken = |doc: &Value, edit: &dyn Fn(&mut Value)| {
        let mut doc = doc.clone();
        edit(&mut doc);
        doc
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "suite with schema_version 2",
            broken(&suite, &|d| d["schema_version"] = json!(2)),
        ),
        (
            "trace with schema_version 2",
            broken(&trace, &|d| d["schema_version"] = json!(2)),
        ),
        (
            "suite report without statistics",
            broken(&suite, &|d| {
                d["reports"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("statistics");
            }),
        ),
        (
            "trace without statistics",
            broken(&trace, &|d| {
                d.as_object_mut().unwrap().remove("statistics");
            }),
        ),
        (
            "a statistic that is null where it cannot be (NaN written as null)",
            broken(&suite, &|d| {
                d["reports"][0]["statistics"]["alpha"] = Value::Null
            }),
        ),
        (
            "an unknown field in a run",
            broken(&suite, &|d| {
                d["reports"][0]["summaries"][0]["extra"] = json!(1);
            }),
        ),
        (
            "an unknown verdict",
            broken(&trace, &|d| d["statistics"]["verdict"] = json!("worse")),
        ),
        (
            "a case with an unknown verdict",
            broken(&case_doc, &|d| d["cases"][0]["verdict"] = json!("broken")),
        ),
        (
            "a case without its id",
            broken(&case_doc, &|d| {
                d["cases"][0].as_object_mut().unwrap().remove("id");
            }),
        ),
        (
            "a case report without its split",
            broken(&case_doc, &|d| {
                d.as_object_mut().unwrap().remove("split");
            }),
        ),
        (
            "a timestamp that is not RFC 3339",
            broken(&suite, &|d| {
                d["reports"][0]["summaries"][0]["started_at"] = json!("yesterday");
            }),
        ),
        (
            "insufficient data without a reason",
            broken(&trace, &|d| {
                d["statistics"]["verdict"] = json!("insufficient_data");
                d["statistics"]["insufficient"] = Value::Null;
            }),
        ),
        (
            "a mix of both layouts",
            broken(&trace, &|d| d["reports"] = suite["reports"].clone()),
        ),
    ];
    for (what, doc) in cases {
        assert!(
            !errors(&schema, &doc).is_empty(),
            "{what} matches the schema"
        );
    }
}
