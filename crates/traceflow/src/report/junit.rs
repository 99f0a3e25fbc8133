//! The JUnit XML report, for CI test tabs: one test suite, `traceflow
//! trend`, with one test case per metric × segment.
//!
//! A test case is named `<metric> [<segment>]` (`pass-rate [total]`,
//! `cost [gpt-4o]`), with class name `traceflow.<metric>`, so that CI
//! groups the cases of one metric. Its status follows the verdict:
//!
//! - regression: a failure, whose message is the verdict's sentence and
//!   whose text gives the numbers behind it;
//! - insufficient data: skipped, with the reason as the message. The data
//!   could not show a regression, so the gate did not judge it; shown as
//!   passed, a test tab would claim a check that was never made;
//! - stable or improvement: passed, with the sentence as its output.
//!
//! quick-junit escapes the text and drops the control characters XML 1.0
//! cannot carry; the two noncharacters it keeps are replaced here.

use std::io;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::{case_table, change_text, compare_table, p_cell, CaseListing, SuiteExporter};
use crate::cases::{CaseReport, CaseVerdict};
use crate::compare::CompareReport;
use crate::trend::{MetricReport, SuiteReport, Verdict};

/// Writes a suite as JUnit XML.
pub(super) struct JunitExporter;

/// The test suite's name.
const SUITE_NAME: &str = "traceflow trend";

impl SuiteExporter for JunitExporter {
    fn write_suite(&self, suite: &SuiteReport, out: &mut dyn io::Write) -> io::Result<()> {
        let mut test_suite = TestSuite::new(SUITE_NAME);
        // What the cases were judged over, for whoever reads the raw XML.
        let window = suite.requested_window.to_string();
        let properties = [
            ("group_by", suite.group_by.to_string()),
            (
                "segment_by",
                suite
                    .segment_by
                    .as_ref()
                    .map_or_else(String::new, ToString::to_string),
            ),
            ("requested_window", window),
            ("method", suite.method.as_str().to_owned()),
            ("alpha", suite.alpha.to_string()),
            ("runs", suite.runs.to_string()),
            ("traces", suite.traces.to_string()),
            ("tests", suite.tests.to_string()),
        ];
        test_suite.add_properties(
            properties
                .iter()
                .map(|(name, value)| Property::new(*name, xml_text(value))),
        );
        test_suite.add_test_cases(suite.reports.iter().map(test_case));

        let mut report = Report::new("traceflow");
        report.add_test_suite(test_suite);
        report.serialize(out).map_err(io::Error::other)
    }

    /// One test suite, `traceflow cases`: a failed test case per regressed
    /// case (named by its id and text, the numbers in its text), a skipped
    /// one per flaky case; with neither, one passed test case saying what
    /// was compared, so that the tab shows the check was made.
    fn write_cases(
        &self,
        cases: &CaseReport,
        _listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()> {
        let mut test_suite = TestSuite::new(CASES_SUITE_NAME);
        let properties = [
            ("case_by", cases.case_by.to_string()),
            ("group_by", cases.group_by.to_string()),
            ("requested_window", cases.requested_window.to_string()),
            ("fdr", cases.fdr.to_string()),
            ("runs", cases.runs.to_string()),
            ("traces", cases.traces.to_string()),
            ("tested", cases.tested.to_string()),
        ];
        test_suite.add_properties(
            properties
                .iter()
                .map(|(name, value)| Property::new(*name, xml_text(value))),
        );
        let summary = format!(
            "{}; {}",
            case_table::headline(cases),
            case_table::tally(cases)
        );
        let mut any = false;
        for case in cases
            .cases
            .iter()
            .filter(|c| matches!(c.verdict, CaseVerdict::Regressed | CaseVerdict::Flaky))
        {
            any = true;
            let [verdict, id, before, after, change, p, q, _] = case_table::cells(case);
            let mut status = if case.verdict == CaseVerdict::Regressed {
                TestCaseStatus::non_success(NonSuccessKind::Failure)
            } else {
                TestCaseStatus::skipped()
            };
            let message = match &case.flakiness {
                Some(f) if case.verdict == CaseVerdict::Flaky => format!(
                    "flaky: passes {:.1}% (95% CI {:.1}–{:.1}%) of {} decisions under {}, {} the split",
                    100.0 * f.pass_rate,
                    100.0 * f.ci[0],
                    100.0 * f.ci[1],
                    f.decisions,
                    f.model,
                    f.side
                ),
                _ => format!("{verdict}: {before} before, {after} after"),
            };
            status
                .set_message(xml_text(&message))
                .set_type(case.verdict.as_str())
                .set_description(xml_text(&format!(
                    "case: {}\nid: {id}\nbefore: {before}\nafter: {after}\nchange: {change}\np: {p}\nq: {q}",
                    case.case
                )));
            let name = format!("{id} {}", case_table::case_text(case));
            let mut test_case = TestCase::new(xml_text(&name), status);
            test_case.set_classname("traceflow.cases");
            test_suite.add_test_case(test_case);
        }
        if !any {
            let mut test_case = TestCase::new("cases", TestCaseStatus::success());
            test_case.set_classname("traceflow.cases");
            test_case.set_system_out(xml_text(&summary));
            test_suite.add_test_case(test_case);
        }
        let mut report = Report::new("traceflow");
        report.add_test_suite(test_suite);
        report.serialize(out).map_err(io::Error::other)
    }

    /// One test suite, `traceflow compare`: a test case for the pass rate
    /// (failed on a regression, skipped on too little data), then a failed
    /// test case per regressed case.
    fn write_compare(
        &self,
        report: &CompareReport,
        _listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()> {
        use crate::compare::CompareVerdict;
        let mut test_suite = TestSuite::new(COMPARE_SUITE_NAME);
        let properties = [
            ("case_by", report.case_by.to_string()),
            ("group_by", report.group_by.to_string()),
            (
                "baseline",
                report.baseline.selector.clone().unwrap_or_default(),
            ),
            (
                "candidate",
                report.candidate.selector.clone().unwrap_or_default(),
            ),
            ("paired", report.paired.to_string()),
            ("alpha", report.alpha.to_string()),
        ];
        test_suite.add_properties(
            properties
                .iter()
                .map(|(name, value)| Property::new(*name, xml_text(value))),
        );
        let summary = xml_text(&report.summary);
        let status = match report.verdict {
            CompareVerdict::Regression => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(summary.as_str())
                    .set_type("regression")
                    .set_description(xml_text(&compare_table::headline(report)));
                status
            }
            CompareVerdict::InsufficientData => {
                let mut status = TestCaseStatus::skipped();
                status
                    .set_message(summary.as_str())
                    .set_type("insufficient_data");
                status
            }
            CompareVerdict::Stable | CompareVerdict::Improvement => TestCaseStatus::success(),
        };
        let mut total = TestCase::new("pass-rate [candidate vs baseline]", status);
        total.set_classname("traceflow.compare");
        if matches!(
            report.verdict,
            CompareVerdict::Stable | CompareVerdict::Improvement
        ) {
            total.set_system_out(summary);
        }
        test_suite.add_test_case(total);
        for case in report.cases_with(CaseVerdict::Regressed) {
            let [_, id, before, after, change, p, q, _] = case_table::cells(case);
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(xml_text(&format!(
                    "regressed: {before} on the baseline, {after} on the candidate"
                )))
                .set_type("regressed")
                .set_description(xml_text(&format!(
                    "case: {}\nid: {id}\nchange: {change}\np: {p}\nq: {q}",
                    case.case
                )));
            let mut test_case = TestCase::new(
                xml_text(&format!("{id} {}", case_table::case_text(case))),
                status,
            );
            test_case.set_classname("traceflow.compare.cases");
            test_suite.add_test_case(test_case);
        }
        let mut junit = Report::new("traceflow");
        junit.add_test_suite(test_suite);
        junit.serialize(out).map_err(io::Error::other)
    }
}

/// The case comparison's test suite.
const CASES_SUITE_NAME: &str = "traceflow cases";

/// A candidate-against-baseline comparison's test suite.
const COMPARE_SUITE_NAME: &str = "traceflow compare";

/// The test case of one report.
fn test_case(r: &MetricReport) -> TestCase {
    let s = &r.statistics;
    let summary = xml_text(&s.summary);
    let status = match s.verdict {
        Verdict::Regression => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(summary.as_str())
                .set_type("regression")
                .set_description(xml_text(&details(r)));
            status
        }
        Verdict::InsufficientData => {
            let mut status = TestCaseStatus::skipped();
            let reason = s
                .insufficient
                .as_ref()
                .map_or_else(|| summary.clone(), |i| i.reason.to_string());
            status
                .set_message(xml_text(&reason))
                .set_type("insufficient_data")
                .set_description(summary.as_str());
            status
        }
        Verdict::Stable | Verdict::Improvement | Verdict::NotSignificant => {
            TestCaseStatus::success()
        }
    };
    let metric = r.metric.to_string();
    let segment = super::segment_name(r.segment.as_deref());
    let mut case = TestCase::new(xml_text(&format!("{metric} [{segment}]")), status);
    case.set_classname(xml_text(&format!("traceflow.{metric}")));
    if matches!(s.verdict, Verdict::Stable | Verdict::Improvement) {
        // A passed case has no message; its output carries the sentence.
        case.set_system_out(summary);
    }
    case
}

/// The numbers behind a regression, one per line.
fn details(r: &MetricReport) -> String {
    let s = &r.statistics;
    let value = r
        .value
        .map_or_else(|| "-".to_owned(), |v| r.metric.format_value(v));
    format!(
        "value: {value} over {} runs ({} decisions)\nchange: {}\np(worse): {}\nHolm-adjusted p: {}\nverdict: {}",
        s.runs,
        s.decisions,
        change_text(r),
        p_cell(s.p_worse),
        p_cell(r.p_adjusted),
        s.verdict.as_str()
    )
}

/// Text XML 1.0 can carry: quick-junit drops the C0 controls but keeps
/// U+FFFE and U+FFFF, which are not XML characters either (a store's
/// model name can hold anything); they become U+FFFD, as undecodable bytes
/// already are.
fn xml_text(text: &str) -> String {
    // Bidirectional overrides would reorder a test tab's text around them.
    text.chars()
        .map(|c| match c {
            '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c if !c.is_control() && super::terminal::is_unsafe(c) => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::suite_report;
    use super::super::{render, Format};
    use super::*;

    #[test]
    fn suite_junit() {
        let text = render(&suite_report(), Format::Junit);
        assert!(text.ends_with("</testsuites>\n"), "{text}");
        insta::assert_snapshot!(text);
    }

    /// The XML parses, and each report is one case whose status follows
    /// its verdict, hostile names included.
    #[test]
    fn cases_follow_the_verdicts() {
        let suite = suite_report();
        let text = render(&suite, Format::Junit);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let suites: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect();
        assert_eq!(suites.len(), 1);
        assert_eq!(suites[0].attribute("name"), Some(SUITE_NAME));
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), suite.reports.len());
        for (case, r) in cases.iter().zip(&suite.reports) {
            let segment = crate::report::segment_name(r.segment.as_deref());
            assert_eq!(
                case.attribute("name").unwrap(),
                format!("{} [{segment}]", r.metric)
            );
            assert_eq!(
                case.attribute("classname").unwrap(),
                format!("traceflow.{}", r.metric)
            );
            let child = |tag: &str| case.children().find(|n| n.has_tag_name(tag));
            match r.statistics.verdict {
                Verdict::Regression => {
                    let failure = child("failure").unwrap();
                    assert_eq!(
                        failure.attribute("message"),
                        Some(r.statistics.summary.as_str())
                    );
                }
                Verdict::InsufficientData => {
                    let skipped = child("skipped").unwrap();
                    let reason = &r.statistics.insufficient.as_ref().unwrap().reason;
                    assert_eq!(
                        skipped.attribute("message"),
                        Some(reason.to_string().as_str())
                    );
                }
                Verdict::Stable | Verdict::Improvement | Verdict::NotSignificant => {
                    assert!(child("failure").is_none() && child("skipped").is_none());
                }
            }
        }
        let count = |attr: &str| suites[0].attribute(attr).unwrap().parse::<usize>().unwrap();
        assert_eq!(count("tests"), 12);
        assert_eq!(count("failures"), 5);
        assert_eq!(count("skipped"), 5);
        assert!(text.contains("&lt;script&gt;"));
        assert!(!text.contains("<script>"));
        assert!(text.contains("pass-rate [mo\u{fffd}del]"));
    }

    /// Characters XML 1.0 cannot carry never reach the output.
    #[test]
    fn text_is_valid_xml() {
        let mut suite = suite_report();
        suite.reports[0].segment = Some("a\u{1}b\u{1b}[31mc\u{ffff}d\u{fffe}".to_owned());
        suite.reports[0].statistics.summary = "bell\u{7} and nul\u{0}".to_owned();
        let text = render(&suite, Format::Junit);
        let valid = |c: char| {
            matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{d7ff}').contains(&c)
                || ('\u{e000}'..='\u{fffd}').contains(&c)
                || c >= '\u{10000}'
        };
        assert!(text.chars().all(valid), "{text:?}");
        let doc = roxmltree::Document::parse(&text).unwrap();
        assert!(doc
            .descendants()
            .any(|n| n.attribute("name") == Some("pass-rate [abc\u{fffd}d\u{fffd}]")));
    }
}
